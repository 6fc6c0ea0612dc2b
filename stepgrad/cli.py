"""The command line: ``stepgrad [PROGRAM] [name=value ...] [--json | --print | --graph]``."""

from __future__ import annotations

import argparse
import codecs
import contextlib
import difflib
import errno
import gc
import io
import json
import os
import re
import sys
from collections.abc import Iterator, Sequence
from typing import Any, TextIO

from engine import Trace, Value
from engine.parse import (
    MAX_SOURCE,
    QUOTE,
    Program,
    ProgramError,
    clip,
    name_list,
    parse,
    parse_assignment,
)
from engine.text import to_ascii, visible

from .examples import DEFAULT, EXAMPLES, Example

__all__ = ["main", "run", "to_json"]

EXIT_USAGE = 2
BUG_NAMES = ("overwrite", "early", "micrograd")
"""The names --bug takes (:data:`stepgrad.lesson.bugs.BUGS`, not imported at startup)."""
_LONG_OPTION = re.compile(r"--[A-Za-z][A-Za-z0-9-]*")

_EPILOG = """\
examples:
  stepgrad                                   open the default example (toy)
  stepgrad "(x*x + 1)/(y*y - 1)" x=8 y=3     step through your own expression
  stepgrad "a = 2; b = -3; e = (a + b)*(b + 1)" --print
  stepgrad "tanh(w*x + b)" w=0.5 x=2 b=0 --json
  stepgrad --example neuron --print
  stepgrad --example mlp --lecture           a projector: big boxes, high contrast
  stepgrad --example paths --serve           the app in a browser at http://localhost:8000
  stepgrad --example neuron --html neuron.html   one HTML file to share (no network needed)
  stepgrad --example mlp --train --print     train the MLP: loss table and loss curve
  stepgrad "w = param(0.5); x = fixed(2); (w*x - 3)**2" --train --lr 0.05 --steps 30

a program is one or more statements separated by newlines or ';':
  name = number        an input with a default value (override it with name=value)
  name = expression    a named intermediate value
  name = param(number) / name = fixed(number)
                       an input a gradient step updates / leaves alone (default: every
                       input not marked fixed is a parameter, unless some are marked param)
  the last statement is the output (the loss, when training).
  operators: + - * / ** (and unary -); functions: exp log sin cos tanh relu sigmoid sqrt abs;
  constants: pi e.  Use '-' as PROGRAM to read it from standard input.
"""


class _UsageError(Exception):
    pass


def _usage_hint(message: str, parser: argparse.ArgumentParser) -> str:
    """What to do about an option argparse refused: for an unknown ``--word``, the option it is
    a typo of (``--jsn``), or else how to give a program that starts with ``-`` (``--x``)."""
    unknown = re.search(r"unrecognized arguments: (--\S+)", message)
    if unknown is not None:
        word, value = unknown.group(1).partition("=")[::2]
        options = [o for action in parser._actions for o in action.option_strings]
        close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
        if close:
            return f"did you mean {close[0]}?"
        if not value:
            return f"a program that starts with - goes after --: stepgrad [options] -- '{word}' ..."
    return "see stepgrad --help"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # never print usage + exit(2) mid-way; we do it
        raise _UsageError(message)


def _argument_parser() -> _Parser:
    parser = _Parser(
        prog="stepgrad",
        description="Step through backpropagation one node at a time.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("program", nargs="?", help="the program (default: the toy example)")
    parser.add_argument("values", nargs="*", metavar="name=value", help="input values")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--json", action="store_true", help="print the graph and trace as JSON")
    mode.add_argument(
        "--print", action="store_true", help="print the backward pass as a step-by-step table"
    )
    mode.add_argument("--graph", action="store_true", help="print the graph drawing")
    mode.add_argument(
        "--html",
        metavar="FILE",
        help="write the whole walkthrough as one self-contained HTML file (- for stdout)",
    )
    parser.add_argument(
        "--backward", action="store_true", help="with --graph: draw it after a backward pass"
    )
    parser.add_argument("--example", metavar="NAME", help="open a built-in example")
    parser.add_argument("--list-examples", action="store_true", help="list the built-in examples")
    app = parser.add_argument_group("the app")
    app.add_argument(
        "--lecture",
        action="store_true",
        help="presentation layout for a projector: larger boxes, high contrast, big step text",
    )
    app.add_argument("--theme", metavar="NAME", help="any Textual theme (see --list-themes)")
    app.add_argument("--list-themes", action="store_true", help="list the themes --theme takes")
    app.add_argument(
        "--no-narration", action="store_true", help="hide the plain-language narration (n shows it)"
    )
    app.add_argument(
        "--predict", action="store_true", help="predict mode: type each grad before it is shown"
    )
    app.add_argument(
        "--forward",
        action="store_true",
        help="step through the forward pass first (with --print: print it before the backward)",
    )
    app.add_argument(
        "--serve", action="store_true", help="serve the app in a web browser (textual-serve)"
    )
    app.add_argument("--port", type=_whole, default=8000, help="with --serve: the port (8000)")
    why = parser.add_argument_group("why the rules exist")
    why.add_argument(
        "--bug",
        metavar="NAME",
        choices=BUG_NAMES,
        help="break one rule of the backward pass, beside the correct grads (the app, --print, "
        "--json): overwrite (grad = instead of +=), early (a node fires on its first "
        "contribution), micrograd (micrograd 0.1.0's backward() on every pass)",
    )
    why.add_argument(
        "--passes",
        metavar="N",
        type=_whole,
        default=1,
        help="with --print, --json or --graph --backward: N backward passes without zero_grad",
    )
    why.add_argument(
        "--nudge",
        metavar="NAME[=h]",
        help="with --print or --json: move the input NAME by h (0.001), run the forward pass "
        "again and compare the output's change with grad × h",
    )
    why.add_argument(
        "--paths",
        action="store_true",
        help="with --print or --json: every path from each input to the output, with the "
        "product of its local derivatives (they add up to the grad)",
    )
    app.add_argument(
        "--host",
        default="localhost",
        help="with --serve: the address to serve on (localhost); to reach it from other machines "
        "give this machine's own address, not 0.0.0.0",
    )
    loop = parser.add_argument_group("training (the whole loop)")
    loop.add_argument(
        "--train",
        action="store_true",
        help="train the program (its output is the loss) with and without zero_grad: with "
        "--print a table and a loss curve, with --json the losses; in the app the t window",
    )
    loop.add_argument("--lr", metavar="X", help="the learning rate of p.data -= lr * p.grad")
    loop.add_argument("--steps", metavar="N", help="how many training steps (--train)")
    loop.add_argument(
        "--params",
        metavar="NAMES",
        help="the inputs to train, comma-separated (default: those written param(...), else "
        "every input not written fixed(...))",
    )
    return parser


def _whole(text: str) -> int:
    """An option's whole number: ASCII digits 0-9 only (``３``, ``1_000`` and ``²`` refused)."""
    from .training import whole_number

    number = whole_number(text)
    if number is None:
        raise argparse.ArgumentTypeError(
            f"must be a whole number written with the digits 0-9, not {text!r}"
        )
    return number


def _given(split: list[str]) -> set[str]:
    """The options written on the command line (``--port``, not its default), from the
    arguments as :func:`_split_argv` ordered them."""
    return {arg.split("=", 1)[0] for arg in split[: split.index("--")] if arg.startswith("--")}


_APP_ONLY = ("--lecture", "--predict", "--theme", "--no-narration")
"""Options of the app (and of --serve, which runs it), that no text output uses."""


def _unused_option(args: argparse.Namespace, given: set[str]) -> str | None:
    """One line for an option that would do nothing with the others given (else None), as
    ``--backward`` without ``--graph``: a user who writes it expects it to do something."""
    for option in ("--port", "--host"):
        if option in given and not args.serve:
            return f"{option} goes with --serve (stepgrad PROGRAM --serve {option} ...)"
    outputs = [
        name
        for name, on in (
            ("--print", args.print),
            ("--json", args.json),
            ("--graph", args.graph),
            ("--html", args.html is not None),
        )
        if on
    ]
    if outputs:
        for option in _APP_ONLY:
            if option in given:
                return f"{option} is for the app (and --serve); {outputs[0]} does not use it"
        if args.forward and outputs[0] in ("--graph", "--html"):
            return f"--forward goes with the app, --print or --json; {outputs[0]} does not use it"
    return None


def _split_argv(argv: Sequence[str], parser: argparse.ArgumentParser) -> list[str]:
    """Put options first and everything else after ``--``, so a program may start with ``-``.

    ``stepgrad "-x**2" x=3`` must read ``-x**2`` as the program, not as an option.
    """
    options: list[str] = []
    positionals: list[str] = []
    takes_value = {"--example", "--theme", "--port", "--host", "--html", "--lr", "--steps"}
    takes_value.add("--params")
    takes_value.update(("--bug", "--passes", "--nudge"))
    known = set(parser._option_string_actions) - {"-h"}  # help is decided before: -h here is
    # the program "minus h" (see _wants_help)
    args = list(argv)
    seen: set[str] = set()
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            positionals += args[i + 1 :]
            break
        name = arg.split("=", 1)[0]
        if name in known or _LONG_OPTION.fullmatch(name):  # unknown --words: argparse says so
            if name in takes_value and name in seen:  # as x=1 x=2: which one was meant?
                raise _UsageError(f"{name} is given twice: give it once")
            seen.add(name)
            options.append(arg)
            if name in takes_value and "=" not in arg and i + 1 < len(args):
                options.append(args[i + 1])
                i += 1
        else:
            positionals.append(arg)
        i += 1
    return [*options, "--", *positionals]


def _fail(message: str, err: TextIO) -> int:
    # the error line stays short: a long run of text without spaces in it is something the
    # user gave (an option's value, a name), quoted at most QUOTE characters long; the source
    # line and the caret under it (the lines after the first) are already cut to a window
    first, newline, rest = message.partition("\n")
    first = _LONG_RUN.sub(lambda m: clip(m.group()), first)
    _tell(err, f"stepgrad: error: {first}{newline}{rest}")
    return EXIT_USAGE


_LONG_RUN = re.compile(rf"\S{{{QUOTE + 20},}}")


def _tell(err: TextIO, message: str) -> None:
    """Print a message that may quote the program (its lines, names): each line made
    :func:`~engine.text.visible`, so no control character in it reaches the terminal."""
    print("\n".join(visible(line) for line in message.split("\n")), file=err)


def main(
    argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run the CLI; returns the exit code (0, or 2 for any bad input)."""
    out = out or sys.stdout
    err = err or sys.stderr
    parser = _argument_parser()
    args_list = list(sys.argv[1:] if argv is None else argv)
    if _wants_help(args_list):
        out.write(parser.format_help())
        return 0
    try:
        split = _split_argv(args_list, parser)
        args = parser.parse_args(split)
    except _UsageError as exc:
        return _fail(f"{exc} ({_usage_hint(str(exc), parser)})", err)

    if args.list_themes:
        if args.program is not None or args.values:
            extra = " ".join([args.program or "", *args.values]).strip()
            return _fail(f"--list-themes takes no argument (got {extra!r})", err)
        for name in _themes():
            print(name, file=out)
        return 0

    if args.list_examples:
        if args.program is not None or args.values:
            extra = " ".join([args.program or "", *args.values]).strip()
            return _fail(f"--list-examples takes no argument (got {extra!r})", err)
        width = max(len(name) for name in EXAMPLES)
        for listed in EXAMPLES.values():
            print(f"{listed.name:<{width}}  {listed.description}", file=out)
        return 0

    if args.theme is not None and args.theme not in _themes():
        names = ", ".join(_themes())
        return _fail(f"unknown theme {args.theme!r} (themes: {names})", err)
    if args.serve and (args.json or args.print or args.graph or args.html is not None):
        return _fail(
            "--serve opens the app in a browser; it cannot be combined with "
            "--json, --print, --graph or --html",
            err,
        )
    if args.backward and not args.graph:
        return _fail("--backward only goes with --graph (stepgrad PROGRAM --graph --backward)", err)
    unused = _unused_option(args, _given(split))
    if unused is not None:
        return _fail(unused, err)
    if not 1 <= args.port <= 65535:
        return _fail(f"--port must be between 1 and 65535, not {args.port}", err)
    try:
        loop = _loop_options(args)
    except _UsageError as exc:
        return _fail(str(exc), err)
    conflict = _why_conflict(args)
    if conflict is not None:
        return _fail(conflict, err)
    warnings = _Warnings(err)
    with _Collector() as collector:
        code = _run(args, split, loop, out, err, collector, warnings)
    if code == 0:
        warnings.flush()
    return code


class _Warnings:
    """The program's warnings (``the output does not depend on any input``), held until the
    run has answered: a run that ends in an error says that one line alone (``3*4 --train``
    printed the warning, then the error that made it moot); one that answers prints them
    after its output (or, for ``--serve``, before it starts serving)."""

    def __init__(self, err: TextIO) -> None:
        self.err = err
        self.pending: list[str] = []

    def flush(self) -> None:
        for warning in self.pending:
            _tell(self.err, f"stepgrad: warning: {warning}")
        self.pending.clear()


class _Collector:
    """Python's garbage collector, paused while a one-shot output is made.

    Nearly every object made while an output (--json, --print, --graph, --html) is worked out
    stays alive until it is written: the program, its graph and trace, networkx's graph, the
    layout. The collector's rounds over them find next to nothing to free, and the full ones
    also walk every module loaded (networkx among them): about a sixth of ``--graph`` on
    2,000 nodes. Garbage made meanwhile (reference cycles, few) goes at the next collection
    after the output. The app and ``--serve`` run long: they get the collector back first
    (:meth:`resume`), and the app's own :class:`~stepgrad.app.StartupCollector` takes over.
    """

    def __enter__(self) -> _Collector:
        self._paused = gc.isenabled()
        gc.disable()
        return self

    def resume(self) -> None:
        if self._paused:
            gc.enable()
            self._paused = False

    def __exit__(self, *exc: object) -> None:
        self.resume()


def _run(
    args: argparse.Namespace,
    split: Sequence[str],
    loop: dict[str, Any],
    out: TextIO,
    err: TextIO,
    collector: _Collector,
    warnings: _Warnings,
) -> int:
    """Read the program and values and make what ``args`` asks for: the rest of :func:`main`
    (the program's warnings go to ``warnings``, printed once the run has answered)."""
    example: Example | None = None
    values_args = list(args.values)
    if args.example is not None:
        if args.example not in EXAMPLES:
            names = ", ".join(EXAMPLES)
            return _fail(f"unknown example {args.example!r} (examples: {names})", err)
        if args.program is not None:  # with --example every positional is a value
            if "=" not in args.program:
                return _fail(
                    f"--example {args.example} is the program, so {args.program!r} cannot be "
                    "one too (give a program or --example, not both; values are name=number)",
                    err,
                )
            values_args.insert(0, args.program)
        example = EXAMPLES[args.example]
        source = example.program
    elif args.program is None:
        example = EXAMPLES[DEFAULT]
        source = example.program
    elif args.program == "-":
        try:
            source = _read_stdin()
        except ProgramError as exc:
            return _fail(exc.format(), err)
    else:
        source = args.program

    try:
        values: dict[str, float] = {}
        given: dict[str, str] = {}
        for text in values_args:
            name, value = parse_assignment(text)
            if name in given:
                raise ProgramError(
                    f"{name} is given twice ({given[name]} and {text})", hint="give each name once"
                )
            given[name] = text
            values[name] = value
        program = parse(source, values)
        warnings.pending += program.warnings
        if "params" in loop:  # a name as shown (x₁), else as the program reads it (ｘ is x)
            from .training import distinct_params

            try:
                distinct_params(loop["params"], program)  # x and ｘ are one input, given twice
            except ProgramError as twice:  # (err is the error stream here)
                raise ProgramError(f"--params: {twice.message}", hint=twice.hint) from None
            loop["params"] = [program.input_named(name) or name for name in loop["params"]]
        for name in loop.get("params", ()):
            if name not in program.inputs:
                raise ProgramError(
                    f"--params: {clip(name)} is not an input of the program, so it cannot be "
                    "trained",
                    hint="inputs: " + name_list(program.inputs),
                )
        too_much = _too_much_work(program, example, args, loop)
        if too_much is not None:
            return _fail(too_much, err)
        if args.graph:
            return _graph(program, args.backward, out, err, passes=args.passes)
        trace = program.backward(trace=True)
        assert trace is not None
        if args.html is not None:
            title = example.name if example is not None else program.name(program.output)
            return _html(program, title, args.html, out, err)
        if args.serve:
            from .serve import serve

            collector.resume()

            # each browser tab runs its own stepgrad: a program read from stdin goes in as text,
            # after "--" so that no program (say "--x") is read as an option
            app_args = _app_args(split, source)
            warnings.flush()
            return serve(app_args, host=args.host, port=args.port, out=out, err=err)
        if not (args.json or args.print) and _interactive(out, args.program == "-"):
            from .app import create_app

            collector.resume()

            app = create_app(
                source,
                values,
                example=example,
                theme=args.theme,
                lecture=args.lecture,
                narration=False if args.no_narration else None,
                predict=args.predict,
                bug=args.bug,
                **_loop_app_options(args, loop),
            )
            with _app_screen():
                app.run()
            return app.return_code or 0
    except ProgramError as exc:
        return _fail(exc.format(), err)

    try:  # an example's training loop, with and without zero_grad (the zero_grad example)
        if args.train:  # ... or any program's, asked for
            comparison = _train(program, example, source, values, loop)
        else:
            comparison = _training(example, source, values)
    except ProgramError as exc:
        return _fail(exc.format(), err)
    if _why_wanted(args):  # --passes, --bug, --nudge, --paths: see stepgrad.lesson.report
        return _why(program, args, comparison, out, err)
    if args.json:
        document = to_json(program, trace)
        if comparison is not None:
            from .training import comparison_json

            document["training"] = comparison_json(comparison)
        out.write(dumps(document) + "\n")
        return 0
    from .report import print_trace, whole_names

    with whole_names(program):
        _print_forward(program, args, out)
        print_trace(program, trace, out)
    _print_comparison(comparison, args, out)
    return 0


def _print_forward(program: Program, args: argparse.Namespace, out: TextIO) -> None:
    """``--forward`` with ``--print``: the forward pass, node by node, before the backward."""
    if args.forward:
        from .forward import forward_report
        from .report import wants_ascii

        ascii = wants_ascii(out)
        lines = forward_report(program)
        out.write("\n".join(to_ascii(line) if ascii else line for line in lines) + "\n\n")


def _print_comparison(comparison: Any, args: argparse.Namespace, out: TextIO) -> None:
    """The training loop's table (and with ``--train`` its plot) after ``--print``'s report."""
    if comparison is None:
        return
    from .report import terminal_width, wants_ascii
    from .training import format_comparison

    ascii = wants_ascii(out)
    width = min(terminal_width(out) or 100, 120)
    plot = (max(40, width - 4), 20) if args.train else None
    lines = format_comparison(comparison, plot=plot, ascii=ascii)
    out.write("\n" + "\n".join(to_ascii(line) if ascii else line for line in lines) + "\n")


def _loop_options(args: argparse.Namespace) -> dict[str, Any]:
    """``--lr``, ``--steps`` and ``--params`` checked: one clear line for a bad one."""
    loop: dict[str, Any] = {}
    try:  # the same words as the training window's fields, with the option's name
        if args.lr is not None:
            from .training import read_lr

            loop["lr"] = read_lr(args.lr, "--lr")
        if args.steps is not None:
            from .training import read_steps

            loop["steps"] = read_steps(args.steps, "--steps")
    except ProgramError as err:
        raise _UsageError(err.headline()) from None
    if args.params is not None:
        from .training import distinct_params

        names = [name.strip() for name in args.params.split(",") if name.strip()]
        if not names:
            raise _UsageError("--params needs at least one input's name (e.g. --params w,b)")
        try:  # w,w: a typo, refused (two spellings of one input, x and ｘ, once it is read)
            distinct_params(names)
        except ProgramError as err:
            raise _UsageError(f"--params: {err.headline()}") from None
        loop["params"] = names
    outputs = args.json or args.print or args.graph or args.html is not None
    if args.steps is not None and not args.train and outputs:
        raise _UsageError("--steps goes with --train (stepgrad PROGRAM --train --steps 50)")
    if (args.lr is not None or args.params is not None) and not args.train and outputs:
        raise _UsageError(
            "--lr and --params go with --train, or with the app (where u takes a gradient step)"
        )
    if args.train and (args.graph or args.html is not None):
        raise _UsageError("--train goes with --print, --json or the app, not --graph or --html")
    return loop


def _loop_app_options(args: argparse.Namespace, loop: dict[str, Any]) -> dict[str, Any]:
    """The app's options for the loop: only those given, so older app factories still work."""
    options: dict[str, Any] = {}
    if loop:
        options["loop"] = loop
    if args.forward:
        options["forward"] = True
    if args.train:
        options["train"] = True
    return options


def _train(
    program: Program,
    example: Example | None,
    source: str,
    values: dict[str, float],
    loop: dict[str, Any],
) -> Any:
    """``--train``: the program's training loop, with the options given, run both ways."""
    from .training import compare, training_for

    spec = training_for(program, example, **loop)
    if not spec.params:
        which = "inputs that are not fixed" if program.inputs else "inputs"
        raise ProgramError(
            f"nothing to train: the program has no {which}",
            hint="give it one, e.g. w = param(0.5)",
        )
    return compare(source, values, spec)


def _too_much_work(
    program: Program, example: Example | None, args: argparse.Namespace, loop: dict[str, Any]
) -> str | None:
    """Why ``--passes`` or ``--train``'s steps are too much work for this program's size, in
    one line (checked before any of it runs); None when they are not."""
    if args.passes > 1:
        from .lesson.report import passes_refused

        refused = passes_refused(args.passes, program, f"--passes {args.passes:,}")
        if refused is not None:
            return refused
    if args.train:
        from .training import TooMuchWork, check_work, training_for

        spec = training_for(program, example, **loop)
        try:
            check_work(spec.steps, len(program.nodes()), "--steps" if "steps" in loop else "steps")
        except TooMuchWork as exc:
            return exc.message
    return None


def _why_conflict(args: argparse.Namespace) -> str | None:
    """Why ``--passes``, ``--bug``, ``--nudge`` or ``--paths`` cannot go with the other options
    given, in one line; None when they can."""
    from .lesson.report import MAX_PASSES

    listing = args.json or args.print
    if not 1 <= args.passes <= MAX_PASSES:
        return f"--passes must be between 1 and {MAX_PASSES}, not {args.passes}"
    if args.passes != 1 and not (listing or args.graph and args.backward):
        return (
            "--passes goes with --print, --json or --graph --backward "
            "(in the app, b runs another pass)"
        )
    if args.nudge is not None and not listing:
        return "--nudge goes with --print or --json (in the app: select an input, then > or <)"
    if args.paths and not listing:
        return "--paths goes with --print or --json (in the app: select a node, then P)"
    if args.bug is not None and (args.graph or args.html is not None):
        return "--bug goes with the app, --print or --json"
    if args.bug is not None and (args.forward or args.train):
        return (
            "--bug goes with the backward pass alone, not --forward or --train "
            "(a bug mode's grads are wrong on purpose)"
        )
    if args.bug is not None and args.predict:
        return "--predict asks for the correct grads: it cannot be combined with --bug"
    return None


def _why_wanted(args: argparse.Namespace) -> bool:
    return args.passes != 1 or args.bug is not None or args.nudge is not None or args.paths


def _why(
    program: Program, args: argparse.Namespace, comparison: Any, out: TextIO, err: TextIO
) -> int:
    """--print or --json with --passes, --bug, --nudge or --paths."""
    from engine.parse import parse_assignment

    from .lesson.nudge import DEFAULT_H
    from .lesson.report import document, print_run, run

    nudge: tuple[str, float] | None = None
    try:
        if args.nudge is not None:
            if "=" in args.nudge:
                try:
                    name, h = parse_assignment(args.nudge)
                except ProgramError as bad:  # the number after = is h, not the input's value
                    raise ProgramError(
                        bad.message.replace("the value in", "h in", 1),
                        hint="e.g. --nudge x=0.01 nudges x by h = 0.01",
                    ) from None
            else:
                name, h = args.nudge.strip(), DEFAULT_H
            nudge = (name, h)
        result = run(
            program, count=args.passes, bug=args.bug, nudge_input=nudge, with_paths=args.paths
        )
    except ProgramError as exc:
        about_nudge = "nudge" in str(exc) or (
            nudge is not None and exc.message.startswith(f"{clip(nudge[0])!r} ")
        )  # the input it names is not there
        return _fail(f"--nudge: {exc.format()}" if about_nudge else exc.format(), err)
    if args.json:
        doc = document(result)
        if comparison is not None:
            from .training import comparison_json

            doc["training"] = comparison_json(comparison)
        out.write(dumps(doc) + "\n")
        return 0
    from .report import whole_names

    with whole_names(program, result.program):
        _print_forward(program, args, out)
        print_run(result, out)
    _print_comparison(comparison, args, out)
    return 0


def _training(example: Example | None, source: str, values: dict[str, float]) -> Any:
    """The example's training loop run both ways, or None if it has none."""
    spec = getattr(example, "training", None)
    if example is None or spec is None:
        return None
    from .training import compare

    return compare(source, values, spec)


def _read_stdin() -> str:
    """The program from standard input: at most one character more than the length limit (the
    parser then refuses it by its length), so ``< /dev/zero`` cannot fill the memory. Bytes that
    are not UTF-8 are kept as surrogates for the parser to point at."""
    if sys.stdin is None:  # stepgrad - <&-
        raise ProgramError("standard input is closed: there is no program to read (stepgrad -)")
    stream = io.TextIOWrapper(
        sys.stdin.buffer, encoding="utf-8", errors="surrogateescape", newline=None
    )
    try:
        return stream.read(MAX_SOURCE + 1)
    finally:
        stream.detach()


def _interactive(out: TextIO, program_from_stdin: bool = False) -> bool:
    """Whether to open the app: both ends are a terminal (else print, for pipes and CI), or a
    web driver is set (``--serve`` runs us per browser tab with pipes for stdin and stdout).

    A program read from standard input (``stepgrad - < file``) still opens the app when the
    output is a terminal: keys are then read from the terminal itself, as ``less`` does."""
    if out is not sys.stdout:
        return False
    if os.environ.get("TEXTUAL_DRIVER"):
        return True
    if not sys.stdout.isatty():
        return False
    if sys.stdin.isatty():
        return True
    return program_from_stdin and _keys_from_terminal()


@contextlib.contextmanager
def _app_screen() -> Iterator[None]:
    """Where the app draws, for the length of its run: the terminal, in UTF-8.

    Textual writes the screen to ``sys.__stderr__``, with box and block characters. Two ways
    that goes wrong from a terminal:

    - stderr sent elsewhere (``2>log``, ``2>/dev/null``): the whole screen went into the file
      and the terminal stayed blank. The app then draws on stdout's terminal instead.
    - Python told a narrower encoding (``PYTHONIOENCODING=ascii``): every box character
      arrived as a ``\\u2501`` escape. Terminals speak UTF-8 (Python itself picks it for a C or
      POSIX locale), so the screen is written in UTF-8.

    The terminal's size is the terminal's: an exported ``COLUMNS``/``LINES`` (which
    ``--print`` reads) fixed the app at that size, and resizing the window changed nothing.
    """
    original = sys.__stderr__
    screen = original
    opened = None
    sizes: dict[str, str] = {}
    if not os.environ.get("TEXTUAL_DRIVER"):  # --serve's children draw through their driver
        sizes = {k: os.environ.pop(k) for k in ("COLUMNS", "LINES") if k in os.environ}
        try:
            if original is None or not original.isatty():
                opened = open(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", errors="replace")
                screen = opened
            elif codecs.lookup(original.encoding).name != "utf-8":
                original.flush()
                original.reconfigure(encoding="utf-8", errors="replace")
        except (AttributeError, LookupError, OSError, ValueError):
            pass
    sys.__stderr__ = screen  # type: ignore[misc]
    try:
        yield
    finally:
        os.environ.update(sizes)
        sys.__stderr__ = original  # type: ignore[misc]
        if opened is not None:
            try:
                opened.close()
            except OSError:
                pass


def _keys_from_terminal() -> bool:
    """Make the controlling terminal standard input (file descriptor 0), where the app reads
    its keys; False if there is none (e.g. run by cron or a CI runner)."""
    try:
        fd = os.open("/dev/tty", os.O_RDONLY)
    except OSError:
        return False
    try:
        os.dup2(fd, 0)
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


def _app_args(split: Sequence[str], source: str) -> list[str]:
    """What each browser tab runs: the options without ``--serve``, ``--port`` and ``--host``,
    then ``--`` and the program and values (``-`` replaced by the program read from stdin).

    ``split`` is the command line as :func:`_split_argv` returns it (options, ``--``, the rest).
    """
    at = list(split).index("--")
    kept: list[str] = []
    skip = False
    for arg in split[:at]:
        if skip:
            skip = False
            continue
        name = arg.split("=", 1)[0]
        if name == "--serve":
            continue
        if name in ("--port", "--host"):
            skip = "=" not in arg
            continue
        kept.append(arg)
    rest = [source if arg == "-" else arg for arg in split[at + 1 :]]
    return [*kept, "--", *rest]


def _wants_help(argv: Sequence[str]) -> bool:
    """``--help``, or ``-h`` as an option: before ``--``, and not the program ``-h`` itself
    (``stepgrad -h h=2`` computes minus h, as its value for h says)."""
    options = list(argv)[: list(argv).index("--")] if "--" in argv else list(argv)
    if "--help" in options:
        return True
    values = [a for a in argv if re.fullmatch(r"[A-Za-z_][A-Za-z_0-9]*=.*", a)]
    return "-h" in options and not values


def _themes() -> list[str]:
    """The names ``--theme`` accepts: Textual's themes and ours."""
    from textual.theme import BUILTIN_THEMES

    from .app import THEMES

    return sorted({*BUILTIN_THEMES, *THEMES})


def _graph(program: Program, backward: bool, out: TextIO, err: TextIO, passes: int = 1) -> int:
    from .draw import TooLarge, render_text
    from .report import terminal_width, wants_ascii

    if backward:
        # the passes asked for, as --print and --json run them: a gradient that is not finite,
        # in a pass or once the passes add up, is reported like any error. The drawing then
        # takes its own pass from zero grads (render_text leaves .grad as it finds it).
        for _ in range(passes):
            program.backward(trace=False)
        program.zero_grad()
    width = terminal_width(out)
    color = width is not None and not os.environ.get("NO_COLOR")
    order = program.nodes()
    names = {node: visible(program.title(node)) for node in order}
    try:
        text = render_text(
            program.output,
            names,
            backward=backward,
            color=color,
            width=width,
            ascii=wants_ascii(out),
            order=order,
            passes=passes,  # --passes N: the grads after N passes without zero_grad
        )
    except TooLarge as exc:
        return _fail(
            f"{exc}; step through it in the app (stepgrad PROGRAM; f shows one node's "
            "neighbourhood) or read it with --json",
            err,
        )
    out.write(text + "\n")
    return 0


def _html(program: Program, title: str, path: str, out: TextIO, err: TextIO) -> int:
    """``--html FILE``: the walkthrough as one self-contained page, written to ``path`` (``-``:
    standard output); a path that cannot be written is one line and exit code 2."""
    from .sources.html import TooLarge, document, walkthrough

    try:
        text = document(walkthrough(program, title=title))
    except TooLarge as exc:
        return _fail(f"{exc}; step through it in the app (stepgrad PROGRAM)", err)
    if path == "-":
        out.write(text)
        return 0
    try:
        with open(path, "w", encoding="utf-8", newline="\n") as file:
            file.write(text)
    except OSError as exc:
        return _fail(f"cannot write the HTML file {path!r}: {exc.strerror or exc}", err)
    size = len(text.encode("utf-8"))
    _tell(out, f"stepgrad: wrote {path} ({size / 1000:,.0f} kB): open it in a web browser")
    return 0


def to_json(program: Program, trace: Trace) -> dict[str, Any]:
    """The document ``--json`` prints: output, inputs, nodes, the steps of one pass, and
    ``forward``: every node id in the order the forward pass computes them (a topological
    order: each node after its inputs; inputs and constants are given, not computed)."""
    order = program.nodes()
    ids = {node: i for i, node in enumerate(order)}

    def kind(node: Value) -> str:
        if node.parents:
            return "op"
        return "input" if node.requires_grad else "constant"

    return {
        "program": program.source,
        "output": {
            "id": ids[program.output],
            "label": (program.names_of(program.output) or [program.output.label])[0],
            "name": program.name(program.output),
            "data": program.output.data,
            "grad": program.output.grad,
        },
        "inputs": {
            name: {"id": ids[node], "data": node.data, "grad": node.grad}
            for name, node in program.inputs.items()
        },
        "nodes": [
            {
                "id": ids[node],
                # an input given on the command line is called by its own name first, as
                # one the program assigns (x = 1; b = x: "x"), whatever names bind it later
                "label": program.given.get(node) or (program.names_of(node) or [node.label])[0],
                "name": program.name(node),
                "span": _span(program, node),
                "names": program.names_of(node),
                "kind": kind(node),
                "reaches_output": program.reaches_output(node),
                "op": node.op,
                "data": node.data,
                "grad": node.grad,
                "parents": [ids[parent] for parent in node.parents],
            }
            for node in order
        ],
        "steps": [
            {
                "node": ids[step.node],
                "upstream": step.upstream,
                "edges": [
                    {
                        "parent": ids[edge.parent],
                        "index": edge.index,
                        "local": edge.local,
                        "formula": program.formula(step, edge),
                        "formula_values": program.formula(step, edge, numbers=True),
                        "contribution": edge.contribution,
                        "grad_before": edge.grad_before,
                        "grad_after": edge.grad_after,
                        "pending": edge.pending,
                    }
                    for edge in step.edges
                ],
            }
            for step in trace.steps
        ],
        "forward": [ids[node] for node in _forward_order(program)],
        "warnings": program.warnings,
    }


def dumps(document: dict[str, Any]) -> str:
    """The --json document as text: indented, with each node and each step on one line, so it
    reads well and grows by a line per node, not by a dozen.

    Likewise anywhere in the document (each pass of ``--passes``, each training iteration): a
    list of dicts or lists has one item per line, written by ``json``'s C encoder. Indenting
    every number of 10,000 training steps took seconds (``indent`` runs the pure-Python
    encoder) and doubled the output."""
    return _dumps(document, "")


def _dumps(value: Any, indent: str) -> str:
    inner = indent + "  "
    if isinstance(value, dict) and value:
        parts = [f"{inner}{json.dumps(key)}: {_dumps(item, inner)}" for key, item in value.items()]
        return "{\n" + ",\n".join(parts) + f"\n{indent}}}"
    if isinstance(value, list) and value:
        if any(isinstance(item, (dict, list)) for item in value):
            parts = [f"{inner}{json.dumps(item)}" for item in value]
        else:
            parts = [f"{inner}{_dumps(item, inner)}" for item in value]
        return "[\n" + ",\n".join(parts) + f"\n{indent}]"
    return json.dumps(value)


def _forward_order(program: Program) -> list[Value]:
    from .forward import forward_order

    return forward_order(program)


def _span(program: Program, node: Value) -> list[int] | None:
    """Where ``node`` is written in ``program`` (``[line, col, end_line, end_col]``, 1-based,
    end exclusive): its full text, kept once in the document's ``program``, not per node."""
    span = program.spans.get(node)
    return None if span is None else [span.line, span.col, span.end_line, span.end_col]


def run() -> None:
    """The console script's entry point: main's exit code, and never a traceback for the
    streams themselves.

    - stdout closed (``>&-``): one line on stderr, exit 1.
    - stderr closed (``2>&-``): messages go nowhere; the exit code still tells.
    - a write that fails (``>/dev/full``): one line, exit 1; stdout is flushed here, so even a
      short output that was still buffered fails here and not in Python's shutdown.
    - the reader closes the pipe (``| head``): it has what it wanted, exit 0.
    - an encoding that cannot show a character (``PYTHONIOENCODING=ascii``): the outputs pick
      ASCII symbols themselves, and anything left is written as a ``\\u`` escape.
    """
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")
    if sys.stdout is None:
        _say("stepgrad: error: standard output is closed: there is nowhere to write to")
        sys.exit(EXIT_OUTPUT)
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="backslashreplace")
    try:
        code = main()
        sys.stdout.flush()
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:  # e.g. `stepgrad --print | head`: the reader has all it wanted
        _drop_stdout()
        code = 0
    except OSError as exc:
        _drop_stdout()
        if exc.errno in _WRITE_ERRORS:
            _say(f"stepgrad: error: cannot write the output: {exc.strerror}")
        else:
            _say(f"stepgrad: error: {exc.strerror or exc}")
        code = EXIT_OUTPUT
    # Leave now, without Python's teardown: with the graph laid out (networkx and the scene
    # loaded) freeing every module and object took about 90 ms after the app had closed,
    # which a user waits through before the prompt comes back. Everything the run wrote has
    # been flushed and closed by here; what is left is memory the system takes back at once.
    for stream in sys.stdout, sys.stderr:
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


EXIT_OUTPUT = 1
"""The exit code when the output cannot be written (bad input is :data:`EXIT_USAGE`)."""
_WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EBADF}


def _say(line: str) -> None:
    """One line on stderr, if stderr can take it."""
    try:
        print(visible(line), file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def _drop_stdout() -> None:
    """Point stdout at /dev/null: Python flushes it again at exit, which would fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
