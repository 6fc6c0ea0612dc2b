"""``stepgrad --print``: the backward pass as step-by-step tables, for handouts and terminals.

Plain text, laid out here: each table's columns are measured once from its cells (Rich's tables
measured and re-rendered every cell per table, which made a 5,000-step pass take minutes).

- Piped or redirected, nothing is ever wrapped or cut: each line is as long as it needs.
- On a terminal, every table is shown as a table only where it fits the width; otherwise each
  row's fields are stacked on lines of their own, and any line still too long wraps at a space
  (or inside a word) with a hanging indent. Nothing is ever cut to ``…``.
- Everything that comes from the user (program lines, names, formulas over names, reasons) goes
  through :func:`engine.text.visible`: no control character reaches the terminal.
- Where the output's encoding cannot show ``∂ × → — ✓``, they become ``d x -> - ok`` (and any
  other character a ``\\u`` escape), so a narrow encoding never fails.
"""

from __future__ import annotations

import contextlib
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import TextIO

from engine import Step, Trace, Value
from engine.check import Check, check_gradients
from engine.numbers import format_number
from engine.parse import PRINT_NAME, Program
from engine.text import to_ascii, visible

from .explain import (
    called,
    check_numbers,
    described,
    difference_quotient,
    edge_note,
    local_formula,
    ordinal,
    partial,
    placeholders,
    plural,
    titled,
    worked_product,
    worked_sum,
)

__all__ = ["edge_note", "partial", "print_trace", "terminal_width", "wants_ascii"]

Segment = tuple[str, str]
"""A piece of a line and its style (``""``, ``"bold"``, ``"dim"``, ``"reverse"``...)."""

_SGR = {"bold": "1", "dim": "2", "reverse": "7", "green": "32", "red": "31", "yellow": "33"}
_SEPARATOR = "   "  # between table columns
_SAMPLE = "∂×→—…✓✗⚠±·─␛"  # what a UTF-8 terminal shows and a narrow encoding may not


def wants_ascii(out: TextIO) -> bool:
    """Whether ``out``'s encoding cannot show stepgrad's symbols (``PYTHONIOENCODING=ascii``,
    ``latin-1``, ``cp1252``...): then they are written in ASCII instead."""
    encoding = getattr(out, "encoding", None) or "utf-8"
    try:
        _SAMPLE.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return True
    return False


def terminal_width(out: TextIO) -> int | None:
    """The width to fit lines to: ``$COLUMNS`` or the terminal's, or None when ``out`` is not a
    terminal (a file or a pipe takes lines of any length, and a reader of a file wants them
    whole)."""
    try:
        if not out.isatty():
            return None
    except (AttributeError, ValueError, OSError):
        return None
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        return os.get_terminal_size(out.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


_WIDER = re.compile(f"[^\x00-\x7f{re.escape(_SAMPLE)}␇]")
"""A character other than ASCII and our own symbols, which take one column each."""


def _cells(text: str) -> int:
    """How many terminal columns ``text`` takes (CJK characters take two)."""
    if text.isascii() or not _WIDER.search(text):  # our own symbols: the common case
        return len(text)
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1
        for c in text
    )


def _take(text: str, cells: int) -> tuple[str, str]:
    """``text`` split after at most ``cells`` columns (at least one character)."""
    if text.isascii():
        cut = max(1, cells)
        return text[:cut], text[cut:]
    used = 0
    for i, c in enumerate(text):
        used += _cells(c)
        if used > cells and i:
            return text[:i], text[i:]
    return text, ""


_TOKEN = re.compile(r"\S+|\s+")


def _wrap(parts: Sequence[Segment], width: int | None, indent: int) -> list[list[Segment]]:
    """``parts`` as lines no wider than ``width``: broken at spaces, a word longer than a line
    broken inside, continuation lines indented by ``indent``. Nothing is dropped but the spaces
    at a break."""
    if width is None or sum(_cells(text) for text, _ in parts) <= width:
        return [list(parts)]
    indent = min(indent, width // 2)
    lines: list[list[Segment]] = []
    line: list[Segment] = []
    used = 0
    pending: Segment = ("", "")  # the spaces before the next word, in their own style
    for text, style in parts:
        for match in _TOKEN.finditer(text):
            token = match.group()
            if token.isspace():
                pending = (pending[0] + token, style)
                continue
            size = _cells(token)
            if not lines and not line and pending[0]:  # the first line keeps its indentation
                line.append(pending)
                used = _cells(pending[0])
            elif line and used + len(pending[0]) + size <= width:
                line.append(pending)
                used += len(pending[0])
            elif line:
                lines.append(line)
                line, used = [(" " * indent, "")], indent
            pending = ("", "")
            while used + size > width:
                piece, token = _take(token, width - used)
                line.append((piece, style))
                lines.append(line)
                line, used = [(" " * indent, "")], indent
                size = _cells(token)
            if token:
                line.append((token, style))
                used += size
    if line:
        lines.append(line)
    return lines


class _Writer:
    """Writes lines of styled segments to ``out``: wrapped at ``width`` (None: never), with SGR
    styles when ``color``, in ASCII when ``ascii``. Every text goes through :meth:`fix`."""

    def __init__(self, out: TextIO, width: int | None, color: bool, ascii: bool) -> None:
        self.out = out
        self.width = width
        self.color = color
        self.ascii = ascii

    def fix(self, text: str) -> str:
        """``text`` made safe and showable here: controls visible, ASCII where needed."""
        text = visible(text)
        return to_ascii(text) if self.ascii else text

    def seg(self, text: str, style: str = "") -> Segment:
        return (self.fix(text), style)

    def line(self, *parts: Segment | str, indent: int = 2) -> None:
        """One logical line (already fixed segments, or plain strings to fix)."""
        segments = [part if isinstance(part, tuple) else self.seg(part) for part in parts]
        for wrapped in _wrap(segments, self.width, indent):
            self.write(wrapped)

    def write(self, segments: Sequence[Segment]) -> None:
        parts = list(segments)
        while parts and not parts[-1][0].strip():  # no trailing spaces, styled or not
            parts.pop()
        if parts:
            parts[-1] = (parts[-1][0].rstrip(), parts[-1][1])
        if self.color:
            runs: list[Segment] = []
            for text, style in parts:  # one escape sequence per run of a style, not per word
                if runs and runs[-1][1] == style:
                    runs[-1] = (runs[-1][0] + text, style)
                elif text:
                    runs.append((text, style))
            text = "".join(
                f"\x1b[{';'.join(_SGR[s] for s in style.split())}m{t}\x1b[0m" if style else t
                for t, style in runs
            )
        else:
            text = "".join(t for t, _ in parts)
        self.out.write(text + "\n")

    def blank(self) -> None:
        self.out.write("\n")

    def table(
        self,
        headers: Sequence[str],
        rows: Sequence[Sequence[Segment]],
        right: frozenset[int] = frozenset(),
        indent: int = 0,
    ) -> bool:
        """Print the rows as a table if it fits the width; False (printing nothing) if not."""
        heads = [self.fix(h) for h in headers]
        widths = [_cells(h) for h in heads]
        for row in rows:
            for i, (text, _) in enumerate(row):
                size = _cells(text)
                if size > widths[i]:
                    widths[i] = size
        total = indent + sum(widths) + len(_SEPARATOR) * (len(widths) - 1)
        if self.width is not None and total > self.width:
            return False

        def cells(row: Sequence[Segment]) -> list[Segment]:
            out: list[Segment] = [(" " * indent, "")] if indent else []
            for i, (text, style) in enumerate(row):
                pad = " " * (widths[i] - _cells(text))
                if i:
                    out.append((_SEPARATOR, ""))
                out += [(pad, ""), (text, style)] if i in right else [(text, style), (pad, "")]
            return out

        self.write(cells([(h, "bold") for h in heads]))
        self.write([(" " * indent + self.fix("─") * (total - indent), "")])
        for row in rows:
            self.write(cells(row))
        return True


def _constants_line(program: Program) -> str | None:
    """``pi and e are the constants 3.14159… and 2.71828…`` for the ones the program reads
    without assigning them, or None."""
    used = program.constants_used
    if not used:
        return None
    values = {"pi": "3.14159…", "e": "2.71828…"}
    shown = [name for name in used if name in values]
    if not shown:
        return None
    if len(shown) == 1:
        return f"{shown[0]} is the constant {values[shown[0]]}"
    return f"{' and '.join(shown)} are the constants {' and '.join(values[n] for n in shown)}"


def _program_lines(source: str) -> list[str]:
    """The program's lines as written (tabs expanded, blank lines at either end dropped).

    Split at line breaks only: ``str.splitlines`` would also split at form feeds and other
    controls, which must be shown (see :func:`engine.text.visible`), not obeyed."""
    lines = [
        line.rstrip().expandtabs(4)
        for line in source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    ]
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _print_step(
    program: Program,
    w: _Writer,
    step: Step,
    title: str,
    verb: str,
    rows: list[list[tuple[str, str]]],
    stacked: bool,
    upstream: tuple[str, str] | None = None,
) -> None:
    """One step of a pass: its heading (``title``, the node, ``verb``, its upstream), then its
    edges as a table, or stacked when the table would not fit (``stacked``). ``upstream``:
    how to name the upstream, ``(label, aside)`` (a bug mode's, see
    :func:`stepgrad.lesson.bugs.upstream`); by default ``∂out/∂node``."""
    label, aside = upstream or (partial(program, program.output, step.node), "")
    w.blank()
    w.line(
        w.seg(title, "bold reverse"),
        ("  ", ""),
        w.seg(described(program, step.node), "bold"),
        w.seg(f"{verb}, upstream "),
        w.seg(f"{label} = "),
        w.seg(format_number(step.upstream), "bold"),
        w.seg(aside),
    )
    if not rows:
        w.line("  its inputs are constants: no grad flows back")
    elif stacked:
        _stacked_edges(w, rows)
    else:
        w.table(_EDGE_HEADERS, rows, right=frozenset({2}))


@contextlib.contextmanager
def whole_names(*programs: Program) -> Iterator[None]:
    """While printing: unnamed values are called by their whole source text up to
    :data:`~engine.parse.PRINT_NAME` characters (the app shortens them beyond
    :data:`~engine.parse.LONG_NAME`, to fit its boxes and panels)."""
    before = [program.name_limit for program in programs]
    for program in programs:
        program.name_limit = max(program.name_limit, PRINT_NAME)
    try:
        yield
    finally:
        for program, limit in zip(programs, before, strict=True):
            program.name_limit = limit


def shown_nodes(program: Program) -> list[Value]:
    """The nodes a grads table lists, each once: the inputs, the named values (``b = a`` names
    ``a``'s node twice: one row, under its name), then the output."""
    named = [*program.inputs.values(), *program.names.values(), program.output]
    return list(dict.fromkeys(named))


def print_trace(program: Program, trace: Trace, out: TextIO) -> None:
    """Print the program, its forward values, every step of ``trace`` and the final grads."""
    width = terminal_width(out)
    writer = _Writer(
        out,
        width,
        color=width is not None and not os.environ.get("NO_COLOR"),
        ascii=wants_ascii(out),
    )
    _print(program, trace, writer)


def _print_header(program: Program, w: _Writer) -> None:
    """The program, its inputs and its forward value (also the head of the report of
    :mod:`stepgrad.lesson.report`)."""
    output = program.output
    lines = _program_lines(program.source)
    if len(lines) == 1:
        w.line(("program  ", "bold"), w.seg(lines[0]), indent=9)
    else:
        w.line(("program", "bold"))
        for text in lines:
            w.line(w.seg("  " + text), indent=6)
    if program.inputs:
        inputs = ", ".join(f"{n} = {format_number(v.data)}" for n, v in program.inputs.items())
        w.line(("inputs   ", "bold"), w.seg(inputs), indent=9)
    constants = _constants_line(program)
    if constants:
        w.line(("         ", ""), w.seg(constants), indent=9)
    w.line(
        ("forward  ", "bold"),
        w.seg(f"{called(program, output)} = "),
        w.seg(format_number(output.data), "bold"),
        indent=9,
    )
    w.blank()


def _print(program: Program, trace: Trace, w: _Writer) -> None:
    output = program.output
    _print_header(program, w)
    steps = trace.steps
    if not steps:
        w.line("The output is a leaf: its grad is 1 and there is nothing to propagate.")
    else:
        w.line(
            ("backward pass", "bold"),
            w.seg(
                f": {plural(len(steps), 'step')}. A node fires once every consumer has sent it "
                "its grad; it then sends upstream × local along each edge, and each input's "
                "grad += that."
            ),
        )
    fresh = {node for node in program.nodes() if node.grad == trace.grads.get(node, 0.0)}
    fresh.discard(output)
    names = edge_names(program, steps)
    rows = [
        _edge_rows(program, step, fresh, w, who) for step, who in zip(steps, names, strict=True)
    ]
    stacked = w.width is not None and not all(_fits(w, row) for row in rows)
    for number, (step, step_rows) in enumerate(zip(steps, rows, strict=True), start=1):
        _print_step(
            program, w, step, f"step {number} of {len(steps)}", " fires", step_rows, stacked
        )
    w.blank()
    w.line(("grads after the pass", "bold"))
    shown = shown_nodes(program)
    grads = [
        [
            w.seg(titled(program, node), "bold"),  # a, b after b = a: as the app's values pane
            w.seg(format_number(node.data)),
            w.seg(format_number(node.grad)),
        ]
        for node in shown
    ]
    if not w.table(["name", "data", "grad"], grads, right=frozenset({1, 2})):
        for node_name, data, grad in grads:
            w.line(node_name, ("  data ", ""), data, (", grad ", ""), grad, indent=4)
    _print_gradient_check(program, w)


_EDGE_HEADERS = (
    "edge",
    "local derivative",
    "local",
    "upstream × local = contribution",
    "grad before → after",
    "then",
)


def edge_names(program: Program, steps: Sequence[Step]) -> list[list[str]]:
    """Per step, the name its table gives each edge's input: a value reached along several
    edges in the pass is named with which contribution this is (``x (1st of 2)``, as the app
    does): ``∂out/∂x = 1`` then ``∂out/∂x = -1`` for ``x - x`` read as two values of one
    partial derivative, whose value is their sum."""
    totals = Counter(edge.parent for step in steps for edge in step.edges)
    counted: Counter[Value] = Counter()
    names = []
    for step in steps:
        row = []
        for edge in step.edges:
            name = called(program, edge.parent)
            counted[edge.parent] += 1
            if totals[edge.parent] > 1:
                name = f"{name} ({ordinal(counted[edge.parent])} of {totals[edge.parent]})"
            row.append(name)
        names.append(row)
    return names


def _edge_rows(
    program: Program, step: Step, fresh: set[Value], w: _Writer, names: list[str]
) -> list[list[Segment]]:
    """Each edge of ``step`` as the cells of a table row (already fixed for the output), its
    input named as :func:`edge_names` says."""
    rows = []
    for edge, name in zip(step.edges, names, strict=True):
        if edge.parent in fresh:
            grads = f"— → {format_number(edge.grad_after)}"
        else:  # a sum, as the app writes it, in numbers that add up (engine.numbers.worked)
            grads = worked_sum(edge.grad_before, edge.contribution, edge.grad_after)
        fresh.discard(edge.parent)
        formula = local_formula(program, step, edge)
        local = format_number(edge.local)
        rows.append(
            [
                w.seg(name, "bold"),
                w.seg(formula),
                w.seg(local),
                w.seg(worked_product(step.upstream, edge.local, edge.contribution)),
                w.seg(grads),
                w.seg(edge_note(edge), "dim"),
            ]
        )
    return rows


def _fits(w: _Writer, rows: list[list[Segment]]) -> bool:
    assert w.width is not None
    widths = [_cells(w.fix(h)) for h in _EDGE_HEADERS]
    for row in rows:
        for i, (text, _) in enumerate(row):
            widths[i] = max(widths[i], _cells(text))
    return sum(widths) + len(_SEPARATOR) * (len(widths) - 1) <= w.width


def _stacked_edges(w: _Writer, rows: list[list[Segment]]) -> None:
    """Each edge's fields on lines of their own, for a terminal too narrow for the table:
    ``local derivative  ∂r/∂a = 1/b = 1/8 = 0.125`` and so on, wrapped, never cut."""
    assert w.width is not None
    labels = [w.fix(t) for t in ("local derivative", "upstream × local", "grad before → after")]
    column = max(_cells(label) for label in labels) + 2
    beside = w.width >= 4 + column + 24  # else each label on its own line, the value under it
    for edge, formula, local, contribution, grads, then in rows:
        w.line(("  ", ""), w.seg("edge to "), edge, indent=4)
        derivative = formula[0]
        if not derivative.endswith(f"= {local[0]}"):
            derivative += f" = {local[0]}"
        values = [
            (derivative, ""),
            contribution,
            (f"{grads[0]}; {then[0]}", ""),
        ]
        for label, value in zip(labels, values, strict=True):
            if beside:
                pad = " " * (column - _cells(label))
                w.line(("    " + label + pad, ""), value, indent=4 + column)
            else:
                w.line(("    " + label, ""))
                w.line(("      ", ""), value, indent=6)


_VERDICTS = {  # verdict -> the words shown, their style: never colour alone
    "agree": ("✓ agree", "green"),
    "differ": ("✗ DIFFER", "bold red"),
    "kink": ("⚠ kink", "bold yellow"),
    "inconclusive": ("? inconclusive", "yellow"),
    "undefined": ("? undefined", "dim"),
    "unchecked": ("… not checked", "dim"),
}


def _print_gradient_check(program: Program, w: _Writer) -> None:
    """Each input's grad beside finite differences, so the numbers can be trusted, with the
    reason for every verdict that is not a plain agreement."""
    checks = check_gradients(program.output, program.inputs, name=program.describe)
    if not checks:
        return
    x, _ = placeholders(program)
    w.blank()
    w.line(
        ("gradient check", "bold"),
        w.seg(
            f": each input's grad against {difference_quotient(program, divide=' / ')} from "
            f"6e-6·max(1, |{x}|), extrapolated (Ridders' method) to tell how far the difference "
            "itself can be trusted"
        ),
    )
    checked = [c for c in checks if c.verdict != "unchecked"]
    rows = [_check_row(w, c) for c in checked]
    headers = ["input", "backprop", "finite difference", ""]
    if not w.table(headers, rows, right=frozenset({1, 2})):
        for cells in rows:
            name, grad, numeric, verdict = cells
            w.line(name, ("  backprop ", ""), grad, (", finite difference ", ""), numeric,
                   ("  ", ""), verdict)  # fmt: skip
    for check in checked:
        if check.reason:
            w.line(w.seg(f"  {check.name}: ", "bold"), w.seg(check.reason), indent=4)
    unchecked = [c for c in checks if c.verdict == "unchecked"]
    if unchecked:
        w.line(
            w.seg(f"  {plural(len(unchecked), 'more input')}: ", "bold"),
            w.seg(unchecked[0].reason or "not checked"),
            indent=4,
        )


def _check_row(w: _Writer, check: Check) -> list[Segment]:
    words, style = _VERDICTS[check.verdict]
    grad, numeric = check_numbers(check)
    return [
        w.seg(check.name, "bold"),
        w.seg(grad),
        w.seg(numeric),
        w.seg(words, style),
    ]
