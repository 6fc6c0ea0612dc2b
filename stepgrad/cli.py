"""The command line: ``stepgrad [PROGRAM] [name=value ...] [--json | --print | --graph]``."""

from __future__ import annotations

import argparse
import errno
import io
import json
import os
import re
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from engine import Trace, Value
from engine.parse import Program, ProgramError, parse, parse_assignment
from engine.text import visible

from .examples import DEFAULT, EXAMPLES, Example

__all__ = ["main", "run", "to_json"]

EXIT_USAGE = 2
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

a program is one or more statements separated by newlines or ';':
  name = number        an input with a default value (override it with name=value)
  name = expression    a named intermediate value
  the last statement is the output.
  operators: + - * / ** (and unary -); functions: exp log sin cos tanh relu sigmoid sqrt abs;
  constants: pi e.  Use '-' as PROGRAM to read it from standard input.
"""


class _UsageError(Exception):
    pass


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
        "--serve", action="store_true", help="serve the app in a web browser (textual-serve)"
    )
    app.add_argument("--port", type=int, default=8000, help="with --serve: the port (8000)")
    app.add_argument(
        "--host",
        default="localhost",
        help="with --serve: the address to serve on (localhost); to reach it from other machines "
        "give this machine's own address, not 0.0.0.0",
    )
    return parser


def _split_argv(argv: Sequence[str], parser: argparse.ArgumentParser) -> list[str]:
    """Put options first and everything else after ``--``, so a program may start with ``-``.

    ``stepgrad "-x**2" x=3`` must read ``-x**2`` as the program, not as an option.
    """
    options: list[str] = []
    positionals: list[str] = []
    takes_value = {"--example", "--theme", "--port", "--host"}
    known = set(parser._option_string_actions)
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            positionals += args[i + 1 :]
            break
        name = arg.split("=", 1)[0]
        if name in known or _LONG_OPTION.fullmatch(name):  # unknown --words: argparse says so
            options.append(arg)
            if name in takes_value and "=" not in arg and i + 1 < len(args):
                options.append(args[i + 1])
                i += 1
        else:
            positionals.append(arg)
        i += 1
    return [*options, "--", *positionals]


def _fail(message: str, err: TextIO) -> int:
    _tell(err, f"stepgrad: error: {message}")
    return EXIT_USAGE


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
    if any(a in ("-h", "--help") for a in args_list if a.startswith("-")):
        out.write(parser.format_help())
        return 0
    try:
        args = parser.parse_args(_split_argv(args_list, parser))
    except _UsageError as exc:
        return _fail(f"{exc} (see stepgrad --help)", err)

    if args.list_themes:
        for name in _themes():
            print(name, file=out)
        return 0

    if args.list_examples:
        width = max(len(name) for name in EXAMPLES)
        for listed in EXAMPLES.values():
            print(f"{listed.name:<{width}}  {listed.description}", file=out)
        return 0

    if args.theme is not None and args.theme not in _themes():
        names = ", ".join(_themes())
        return _fail(f"unknown theme {args.theme!r} (themes: {names})", err)
    if args.serve and (args.json or args.print or args.graph):
        return _fail(
            "--serve opens the app in a browser; it cannot be combined with "
            "--json, --print or --graph",
            err,
        )
    if not 1 <= args.port <= 65535:
        return _fail(f"--port must be between 1 and 65535, not {args.port}", err)
    example: Example | None = None
    values_args = list(args.values)
    if args.example is not None:
        if args.example not in EXAMPLES:
            names = ", ".join(EXAMPLES)
            return _fail(f"unknown example {args.example!r} (examples: {names})", err)
        if args.program is not None:  # with --example every positional is a value
            values_args.insert(0, args.program)
        example = EXAMPLES[args.example]
        source = example.program
    elif args.program is None:
        example = EXAMPLES[DEFAULT]
        source = example.program
    elif args.program == "-":
        source = sys.stdin.read()
    else:
        source = args.program

    try:
        values: dict[str, float] = {}
        for text in values_args:
            name, value = parse_assignment(text)
            values[name] = value
        program = parse(source, values)
        for warning in program.warnings:
            _tell(err, f"stepgrad: warning: {warning}")
        if args.graph:
            return _graph(program, args.backward, out)
        trace = program.backward(trace=True)
        assert trace is not None
        if args.serve:
            from .serve import serve

            # each browser tab runs its own stepgrad: a program read from stdin goes in as text
            app_args = [source if arg == "-" else arg for arg in _app_args(args_list)]
            return serve(app_args, host=args.host, port=args.port, out=out, err=err)
        if not (args.json or args.print) and _interactive(out):
            from .app import create_app

            app = create_app(
                source,
                values,
                example=example,
                theme=args.theme,
                lecture=args.lecture,
                narration=False if args.no_narration else None,
                predict=args.predict,
            )
            app.run()
            return app.return_code or 0
    except ProgramError as exc:
        return _fail(exc.format(), err)

    try:  # an example's training loop, with and without zero_grad (the zero_grad example)
        comparison = _training(example, source, values)
    except ProgramError as exc:
        return _fail(exc.format(), err)
    if args.json:
        document = to_json(program, trace)
        if comparison is not None:
            from .training import comparison_json

            document["training"] = comparison_json(comparison)
        json.dump(document, out, indent=2)
        out.write("\n")
        return 0
    from .report import print_trace

    print_trace(program, trace, out)
    if comparison is not None:
        from .training import format_comparison

        out.write("\n" + "\n".join(format_comparison(comparison)) + "\n")
    return 0


def _training(example: Example | None, source: str, values: dict[str, float]) -> Any:
    """The example's training loop run both ways, or None if it has none."""
    spec = getattr(example, "training", None)
    if example is None or spec is None:
        return None
    from .training import compare

    return compare(source, values, spec)


def _interactive(out: TextIO) -> bool:
    """Whether to open the app: both ends are a terminal (else print, for pipes and CI), or a
    web driver is set (``--serve`` runs us per browser tab with pipes for stdin and stdout)."""
    if out is not sys.stdout:
        return False
    if os.environ.get("TEXTUAL_DRIVER"):
        return True
    return sys.stdout.isatty() and sys.stdin.isatty()


def _app_args(argv: Sequence[str]) -> list[str]:
    """The command line without ``--serve``, ``--port`` and ``--host``: what each browser tab
    runs."""
    kept: list[str] = []
    skip = False
    for arg in argv:
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
    return kept


def _themes() -> list[str]:
    """The names ``--theme`` accepts: Textual's themes and ours."""
    from textual.theme import BUILTIN_THEMES

    from .app import THEMES

    return sorted({*BUILTIN_THEMES, *THEMES})


def _graph(program: Program, backward: bool, out: TextIO) -> int:
    from .draw import render_text
    from .report import cached_names, terminal_width, wants_ascii

    if backward:
        program.backward(trace=False)  # a non-finite gradient is reported like any error
    width = terminal_width(out)
    color = width is not None and not os.environ.get("NO_COLOR")
    with cached_names(program):
        names = {node: visible(name) for node, name in _names(program).items()}
    text = render_text(
        program.output,
        names,
        backward=backward,
        color=color,
        width=width,
        ascii=wants_ascii(out),
    )
    out.write(text + "\n")
    return 0


def _names(program: Program) -> dict[Value, str]:
    return {node: program.name(node) for node in program.nodes()}


def to_json(program: Program, trace: Trace) -> dict[str, Any]:
    """The document ``--json`` prints: output, inputs, nodes and the steps of one pass."""
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
            "label": program.output.label,
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
                "label": node.label,
                "name": program.name(node, full=True),
                "kind": kind(node),
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
        "warnings": program.warnings,
    }


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
    sys.exit(code)


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
