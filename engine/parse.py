"""The expression language: program text -> :class:`Program` of engine Values.

A program is one or more statements separated by newlines or ``;``. ``name = number`` (or any
expression of numbers only, like ``2*pi``) defines an input with a default value; ``name =
expression`` defines a named intermediate; the last statement is the output. Python syntax and
precedence, parsed with :mod:`ast` and checked against a whitelist: user text is never run.

Every rejected input raises :class:`ProgramError`, which knows the line, the column and a hint,
and formats itself with a caret under the offending text.
"""

from __future__ import annotations

import ast
import difflib
import functools
import keyword
import math
import re
import sys
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Set
from typing import NamedTuple

from .backward import Edge, Step, Trace, nodes
from .errors import DomainError, GradientError
from .numbers import format_number
from .ops import FUNCTIONS, OPS, Op, evaluate_formula, render_formula
from .value import Value

__all__ = [
    "MAX_SOURCE",
    "QUOTE",
    "Binding",
    "Program",
    "ProgramError",
    "Span",
    "parse",
    "clip",
    "name_list",
    "parse_assignment",
    "read_name",
]

MAX_SOURCE = 20_000
"""The longest program accepted, in characters: far beyond any graph one can step through."""

CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
MARKS = ("param", "fixed")
"""``w = param(0.5)`` marks an input as a parameter (a gradient step updates it), ``x =
fixed(1.5)`` as data that stays; unmarked inputs are parameters unless some input is marked
``param``. Only as the whole value of an assignment: anywhere else they are an error."""

_BINOPS: dict[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.Pow: "**",
}
_UNSUPPORTED_BINOPS: dict[type[ast.operator], tuple[str, str | None]] = {
    ast.BitXor: ("^ is not a power here", "use ** for powers: x**2"),
    ast.FloorDiv: ("// (floor division) is not supported", "use / for division"),
    ast.Mod: ("% (remainder) is not supported", None),
    ast.MatMult: ("@ (matrix product) is not supported", "use * to multiply scalars"),
    ast.LShift: ("<< is not supported", None),
    ast.RShift: (">> is not supported", None),
    ast.BitOr: ("| is not supported", None),
    ast.BitAnd: ("& is not supported", None),
}
_UNSUPPORTED_NODES: dict[type[ast.AST], str] = {
    ast.Attribute: "attributes (a.b) are not supported",
    ast.Subscript: "indexing (a[i]) is not supported",
    ast.Lambda: "lambda is not supported",
    ast.Compare: "comparisons are not supported",
    ast.BoolOp: "and/or are not supported",
    ast.IfExp: "conditional expressions (a if c else b) are not supported",
    ast.NamedExpr: "the := operator is not supported",
    ast.JoinedStr: "strings are not supported",
    ast.List: "lists are not supported",
    ast.Tuple: "tuples are not supported",
    ast.Set: "sets are not supported",
    ast.Dict: "dictionaries are not supported",
    ast.Starred: "*x (unpacking) is not part of the language",
    ast.Await: "await is not supported",
    ast.Yield: "yield is not supported",
    ast.YieldFrom: "yield is not supported",
    ast.ListComp: "comprehensions are not supported",
    ast.SetComp: "comprehensions are not supported",
    ast.DictComp: "comprehensions are not supported",
    ast.GeneratorExp: "generator expressions are not supported",
    ast.Slice: "slices are not supported",
}
_BINARY_SYMBOLS = frozenset(("+", "-", "*", "/", "**"))
"""The binary operators a program may use (a hint offers no other)."""
_LINE_OPERATOR = re.compile(r"\*\*=?|//=?|<<=?|>>=?|[<>=!]=|[-+*/%@&|^]=?|[<>~=]")
"""An operator at the start of a line (the longest one there), as when a line break splits an
expression: ``loss = (w - 1)**2`` then ``       + (b - 2)**2``."""

_CHARACTER_HINTS: dict[str, str] = {
    "\u2212": "use - for minus",
    "\u00d7": "use * for multiplication",
    "\u00b7": "use * for multiplication",
    "\u22c5": "use * for multiplication",
    "\u00f7": "use / for division",
    "\u00b2": "use **2 for a square",
    "\u00b3": "use **3 for a cube",
    "\u221a": "use sqrt(x)",
    "\u03c0": "write pi",
    "\u00a0": "replace it with a plain space",
}
_STATEMENTS = frozenset(
    "if elif else for while try except finally with def class import from return pass break "
    "continue raise global nonlocal del assert async".split()
)
"""Keywords that start a statement that is not an assignment or an expression."""
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "neg": 3, "**": 4}
"""Python's binding strength of each infix op (functions and leaves bind tightest)."""


# The records below are NamedTuples and plain classes, not dataclasses: making a dataclass
# runs generated code through exec (a third of a millisecond each), and the app's start pays
# for every one it imports.


class Span(NamedTuple):
    """Where something is in the program: 1-based line and column, end column exclusive."""

    line: int
    col: int
    end_line: int
    end_col: int


class ProgramError(Exception):
    """A rejected program, with where and why.

    Attributes:
        message: what is wrong, in one sentence.
        span: where, or None when the whole program is at fault.
        hint: how to fix it, or None.
        source: the program text, to quote the offending line.
        editing_hint: how to fix it for someone editing the program's text, where ``hint``
            speaks of the command line (``x=1.5``), or None: then ``hint`` serves both.
    """

    def __init__(
        self,
        message: str,
        span: Span | None = None,
        hint: str | None = None,
        source: str = "",
        editing_hint: str | None = None,
    ) -> None:
        self.message = message
        self.span = span
        self.hint = hint
        self.source = source
        self.editing_hint = editing_hint
        super().__init__(self.headline())

    def headline(self, editing: bool = False) -> str:
        """One line: ``line:col: message (hint)``; ``editing``: the hint for someone editing
        the program's text (the app's editor has no command line to give a value on)."""
        where = f"{self.span.line}:{self.span.col}: " if self.span else ""
        hint = self.editing_hint if editing and self.editing_hint else self.hint
        return f"{where}{self.message}{f' ({hint})' if hint else ''}"

    def caret_lines(self) -> list[str]:
        """The offending source line and a caret line under the offending text."""
        if self.span is None:
            return []
        lines = self.source.split("\n")
        if not 1 <= self.span.line <= len(lines):
            return []
        text = "".join(_shown(c) for c in lines[self.span.line - 1])
        start = max(self.span.col - 1, 0)
        end = self.span.end_col - 1 if self.span.end_line == self.span.line else len(text)
        end = max(end, start + 1)
        if len(text) > 100:  # show a window of a very long line around the error
            lo = max(0, start - 40)
            text = ("..." if lo else "") + text[lo : lo + 90]
            shift = lo - (3 if lo else 0)
            start, end = start - shift, min(end - shift, len(text) + 1)
        # the caret goes under the characters as a terminal shows them: CJK and emoji take two
        # cells, combining marks none
        before, under = _cells(text[:start]), max(1, _cells(text[start:end]))
        return [f"  {text}", "  " + " " * before + "^" * under]

    def format(self) -> str:
        """The full message: the headline, then the line with a caret under the problem."""
        return "\n".join([self.headline(), *self.caret_lines()])


def _shown(c: str) -> str:
    """A character as an error shows it: control characters (ESC of an escape sequence...) as
    their visible symbol (␛), a tab as a space; nothing reaches the terminal raw."""
    if c.isprintable():
        return c
    if c == "\t":
        return " "
    code = ord(c)
    if code < 0x20:
        return chr(0x2400 + code)
    return "␡" if code == 0x7F else "�"


def _cells(text: str) -> int:
    """How many terminal cells ``text`` takes."""
    cells = 0
    for c in text:
        if unicodedata.combining(c):
            continue
        cells += 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1
    return cells


QUOTE = 40
"""The longest user text (a name, a piece of the program) an error message quotes whole."""


def clip(text: str, limit: int = QUOTE) -> str:
    """``text`` as an error message quotes it: whole up to ``limit`` characters, else its start
    and its end around an ellipsis, so that an error stays one short line."""
    if len(text) <= limit:
        return text
    head = (limit - 1) * 2 // 3
    return f"{text[:head]}…{text[len(text) - (limit - 1 - head) :]}"


def name_list(names: Iterable[str], shown: int = 8) -> str:
    """``a, b, c`` for an error message: each name clipped (:func:`clip`), at most ``shown`` of
    them and how many more (``a0, a1, …, a7 and 2,592 more``), ``none`` for none; a program
    may have thousands of inputs, and the message stays one short line."""
    names = list(names)
    if not names:
        return "none"
    listed = ", ".join(clip(name) for name in names[:shown])
    if len(names) > shown:
        return f"{listed} and {len(names) - shown:,} more"
    return listed


def _quote(text: str, limit: int = QUOTE) -> str:
    """``'text'``, shortened like :func:`clip`."""
    return repr(clip(text, limit))


class SourceTexts(Mapping[Value, str]):
    """The source text of each node made by the program, on one line, cut from its span.

    Computed when asked for: storing every nested subexpression's text up front would cost
    time and memory quadratic in the program's length.
    """

    def __init__(self, source: str, spans: dict[Value, Span]) -> None:
        self._lines = source.split("\n")
        self._spans = spans
        self._cache: dict[Value, str] = {}

    def __getitem__(self, node: Value) -> str:
        text = self._cache.get(node)
        if text is None:
            span = self._spans[node]  # KeyError for a node the program did not write
            if span.line == span.end_line:
                text = self._lines[span.line - 1][span.col - 1 : span.end_col - 1]
            else:
                parts = [self._lines[span.line - 1][span.col - 1 :]]
                parts += self._lines[span.line : span.end_line - 1]
                parts.append(self._lines[span.end_line - 1][: span.end_col - 1])
                text = " ".join(parts)
            text = self._cache[node] = " ".join(text.split())
        return text

    def __iter__(self) -> Iterator[Value]:
        return iter(self._spans)

    def __len__(self) -> int:
        return len(self._spans)

    def ends(self, node: Value, n: int = 64) -> tuple[str, str | None]:
        """``node``'s text, or for a long one its first and last ``n`` characters (whitespace
        collapsed), without building the whole text (``(text, None)`` when that is all)."""
        span = self._spans[node]
        lines = self._lines
        if span.line == span.end_line:
            length = span.end_col - span.col
        else:
            length = len(lines[span.line - 1]) - span.col + 1 + span.end_col
            length += sum(len(lines[r]) + 1 for r in range(span.line, span.end_line - 1))
        if length <= 4 * n:
            return self[node], None
        head: list[str] = []
        size, row, col = 0, span.line - 1, span.col - 1
        while size < 4 * n:
            end = span.end_col - 1 if row == span.end_line - 1 else len(lines[row])
            head.append(lines[row][col : min(end, col + 4 * n)])
            size += len(head[-1]) + 1
            row, col = row + 1, 0
            if row > span.end_line - 1:
                break
        tail: list[str] = []
        size, row, end = 0, span.end_line - 1, span.end_col - 1
        while size < 4 * n:
            start = span.col - 1 if row == span.line - 1 else 0
            tail.insert(0, lines[row][max(start, end - 4 * n) : end])
            size += len(tail[0]) + 1
            row -= 1
            if row < span.line - 1:
                break
            end = len(lines[row])
        return " ".join(" ".join(head).split())[:n], " ".join(" ".join(tail).split())[-n:]


class Binding(NamedTuple):
    """One assignment: ``name`` was bound to ``node`` on ``line``; ``display`` is the name as
    shown (``x₂`` for the second node a reassigned ``x`` names)."""

    name: str
    node: Value
    line: int
    display: str


SUBSCRIPT_DIGITS = "₀₁₂₃₄₅₆₇₈₉"
"""The digits of the subscripts that tell a reassigned name's nodes apart (``x₁``, ``x₂``)."""
_SUBSCRIPTS = str.maketrans("0123456789", SUBSCRIPT_DIGITS)


def _tell_apart(bindings: list[tuple[str, Value, int]]) -> list[Binding]:
    """The bindings, each with its display name; relabels the nodes of reassigned names.

    A name bound to several nodes is shown with a subscript per node: ``x = 2; x = x*3``
    labels the input ``x₁`` and the product ``x₂``. A node that took another name first
    (``b = a; b = b*2``: the first ``b`` is ``a``) keeps that label; its binding still displays
    as ``b₁``, and the product is ``b₂``.
    """
    nodes_of: dict[str, list[Value]] = {}
    for name, node, _line in bindings:
        seen = nodes_of.setdefault(name, [])
        if node not in seen:
            seen.append(node)
    result = []
    for name, node, line in bindings:
        bound = nodes_of[name]
        display = name
        if len(bound) > 1:
            display = name + str(bound.index(node) + 1).translate(_SUBSCRIPTS)
            if node.label == name:
                node.label = display
        result.append(Binding(name, node, line, display))
    return result


class Program:
    """A parsed and evaluated program.

    Attributes:
        source: the program text.
        output: the value of the last statement.
        inputs: the leaf values, by display name (defaults overridden by the values given).
        names: every name's final value.
        spans: where each node made by the program was written.
        warnings: things worth telling the user that are not errors.
        bindings: every assignment, in program order: which name was bound to which node.
        constants_used: ``pi`` and ``e`` where the program reads them as the constants (not
            assigned), in order of first use.
        marks: the inputs written ``name = param(number)`` or ``name = fixed(number)``, each
            with ``"param"`` or ``"fixed"``: what a gradient step or a training loop updates
            (see :data:`MARKS`).
        texts: the source text of each node made by the program, on one line.
        name_limit: the longest source text :meth:`name` gives whole (:data:`LONG_NAME` for
            the app's boxes and panels; ``--print`` raises it to :data:`PRINT_NAME`).

    A name assigned more than once (``x = 2; x = x*3``) binds several nodes; each of them is
    labelled with the name and a subscript (``x₁``, ``x₂``) so that every text can tell them
    apart. ``b = a`` binds a second name to ``a``'s node (see :meth:`names_of`).
    """

    def __init__(
        self,
        source: str,
        output: Value,
        inputs: dict[str, Value],
        names: dict[str, Value],
        spans: dict[Value, Span] | None = None,
        warnings: list[str] | None = None,
        bindings: list[Binding] | None = None,
        constants_used: list[str] | None = None,
        marks: dict[Value, str] | None = None,
    ) -> None:
        self.source = source
        self.output = output
        self.inputs = inputs
        self.names = names
        self.spans: dict[Value, Span] = {} if spans is None else spans
        self.warnings: list[str] = [] if warnings is None else warnings
        self.bindings: list[Binding] = [] if bindings is None else bindings
        self.constants_used: list[str] = [] if constants_used is None else constants_used
        self.marks: dict[Value, str] = {} if marks is None else marks
        self.texts = SourceTexts(source.replace("\r\n", "\n").replace("\r", "\n"), self.spans)
        self._live: set[Value] | None = None
        self._nodes: list[Value] | None = None  # the graph does not change once parsed
        self._by_node: dict[Value, list[Binding]] | None = None
        self._short: dict[tuple[Value, int], str] = {}  # name() by node and name_limit
        self.name_limit = LONG_NAME
        self.given: dict[Value, str] = {}  # the inputs given on the command line: their names
        # (name, k) -> the value's name that set the k-th assignment to name (x₁ or x)
        self.assignment_keys: dict[tuple[str, int], str] = {}

    def __repr__(self) -> str:
        return f"Program({self.source!r}, output={self.output!r})"

    def _bound(self, node: Value) -> list[Binding]:
        if self._by_node is None:
            self._by_node = {}
            for binding in self.bindings:
                self._by_node.setdefault(binding.node, []).append(binding)
        return self._by_node.get(node, [])

    def names_of(self, node: Value) -> list[str]:
        """Every name the program binds to ``node``, in order (``["a", "b"]`` after ``b = a``);
        an input given on the command line has its own name first (``["x", "y"]`` for
        ``y = x`` with x=2)."""
        names = list(dict.fromkeys(b.name for b in self._bound(node)))
        given = self.given.get(node)  # x, not x₁ (x = x*2 with x=1)
        if given is not None and given not in names:
            names.insert(0, given)
        elif not names and node.label is not None and node in self.inputs.values():
            names.append(node.label)
        return names

    def title(self, node: Value) -> str:
        """The name with every alias: ``a, b`` after ``b = a`` (else just :meth:`name`)."""
        shown = [self.name(node)]
        for binding in self._bound(node):
            if binding.display not in shown:
                shown.append(binding.display)
        return ", ".join(shown)

    def reaches_output(self, node: Value) -> bool:
        """Whether the output depends on ``node`` (a value the output never uses gets no grad)."""
        if self._live is None:
            self._live = set(nodes(self.output))
        return node in self._live

    def dead(self) -> list[Value]:
        """The named values and inputs the output does not use, in program order."""
        dead = [b.node for b in self.bindings if not self.reaches_output(b.node)]
        dead += [v for v in self.inputs.values() if not self.reaches_output(v)]
        return list(dict.fromkeys(dead))

    def name(self, node: Value, *, full: bool = False) -> str:
        """How to call ``node`` in explanations: its label, its number, or its source text.

        Source text longer than :attr:`name_limit` characters is shortened around an ellipsis
        (``w1*x1 + … + b1``) unless ``full``.
        """
        if node.label is not None:
            return node.label
        if node is self.output and node.parents:
            return self._output_name()
        if not node.parents and not node.requires_grad:
            return self.texts.get(node) or format_number(node.data)
        if node not in self.spans:
            return node.op or format_number(node.data)
        if full:
            return self.texts[node]
        limit = self.name_limit
        short = self._short.get((node, limit))
        if short is None:
            text, tail = self.texts.ends(node, limit) if limit > LONG_NAME else ("", "")
            if tail is None and len(text) <= limit:  # whole, within the raised limit
                short = text
            else:
                short = _shorten(*self.texts.ends(node))
            self._short[(node, limit)] = short
        return short

    def _output_name(self) -> str:
        """The name of an unnamed output: ``out``, else the first of ``output``, ``out_2``,
        ``out_3``... that the program does not use (``out = 2; output = 3; out*output`` called
        its output ``output``, and wrote ``∂output/∂output = out``)."""
        return spare_name(("out", "output"), set(self.names) | set(self.inputs), "out")

    def expression(self, node: Value) -> str:
        """``node``'s op written over its inputs' names: ``a / b``, ``tanh(n)``, ``-x``."""
        if not node.parents:
            return self.name(node)
        op = OPS[node.op]
        if op.arity == 1 and op.name != "neg":
            return f"{op.symbol}({self.name(node.parents[0])})"
        mine = _PRECEDENCE[op.name]
        operands = []
        for position, parent in enumerate(node.parents):
            text = self.name(parent)
            theirs = _PRECEDENCE.get(parent.op, 9) if parent.label is None else 9
            if not parent.parents and text.startswith("-"):
                theirs = _PRECEDENCE["neg"]
            # a - (b - c), a / (b * c), (a ** b) ** c: the side that does not associate
            tight = position == (0 if op.name in ("**", "neg") else 1) and op.name in "-/**neg"
            if theirs < mine or (theirs == mine and tight):
                text = f"({text})"
            operands.append(text)
        if op.name == "neg":
            return f"-{operands[0]}"
        return f"{operands[0]} {op.symbol} {operands[1]}"

    def describe(self, node: Value) -> str:
        """``r = a / b`` for a named node, the expression alone otherwise."""
        expression = self.expression(node)
        if node.label is not None and node.parents:
            return f"{node.label} = {expression}"
        return expression

    def nodes(self) -> list[Value]:
        """Every node of the output's graph, parents first; then the named values and inputs
        the output does not use (see :meth:`dead`), each after its own parents."""
        if self._nodes is None:
            order = nodes(self.output)
            seen = set(order)
            for root in self.dead():
                if root not in seen:
                    extra = [v for v in nodes(root) if v not in seen]
                    seen.update(extra)
                    order += extra
            self._nodes = order
        return list(self._nodes)

    def formula(self, step: Step, edge: Edge, *, numbers: bool = False) -> str:
        """``edge``'s local derivative as a formula over names (or, with numbers=True, values)."""
        return self.derivative(step.node, edge.index, numbers=numbers)

    def derivative(
        self, node: Value, index: int, *, numbers: bool = False, short: bool = False
    ) -> str:
        """d node / d (its input ``index``), from the op table, over names or over values
        (names cut to an error message's length with ``short``)."""
        op = OPS[node.op]
        if op.constants[index] is not None and (not numbers or op.conventions[index] is None):
            return op.formulas[index]  # a number (``1``, ``-1``): nothing to put in it
        show: Callable[[Value], str]
        if numbers:
            convention = op.conventions[index]
            why = None if convention is None else convention(*(p.data for p in node.parents))
            if why is not None:  # the formula does not hold here: say so
                local = op.derivatives[index](*(p.data for p in node.parents), node.data)
                return f"{format_number(local)} ({why})"
            digits = _formula_digits(op, index, node)
            show = lambda v: format_number(v.data, digits)  # noqa: E731
        else:
            show = (lambda v: clip(self.name(v))) if short else self.name
        operands = {"out": show(node)}
        for letter, parent in zip("ab", node.parents, strict=False):
            operands[letter] = show(parent)
        return render_formula(op.formulas[index], operands)

    def backward(self, *, trace: bool = True) -> Trace | None:
        """One backward pass from the output; a non-finite gradient becomes a ProgramError."""
        try:
            return self.output.backward(trace=trace)
        except GradientError as err:
            raise self._gradient_error(err) from None

    def zero_grad(self) -> None:
        """Set every grad in the program to 0, including inputs the output does not use."""
        if self._nodes is None:
            self.nodes()
        for value in self._nodes or ():
            value.grad = 0.0

    def input_named(self, name: str) -> str | None:
        """The key of :attr:`inputs` that ``name`` gives: itself, as shown (``x₁``), else as
        the program reads names (``ｘ`` is ``x``); None if neither is an input."""
        if name in self.inputs:
            return name
        read = read_name(name)
        return read if read in self.inputs else None

    def _gradient_error(self, err: GradientError) -> ProgramError:
        """The one-line error for a gradient that is not finite, naming what made it so: the
        edge's local derivative, upstream × local, the contributions to one grad adding up,
        or a grad from earlier passes plus this pass's (see :class:`GradientError`)."""
        parent = err.parent
        source = clip(self.name(parent))
        if err.kind in ("accumulated", "sum"):  # a grad plus a contribution overflows
            added = (
                f"add up past the largest float ({format_number(err.before or 0.0)} + "
                f"{format_number(err.contribution or 0.0)})"
            )
            if err.kind == "accumulated":
                message = (
                    f"this pass would make {source}'s grad not finite: the grad earlier passes "
                    f"left plus this pass's {added}"
                )
                hint = "call zero_grad between passes"
            else:
                message = f"{source}'s grad is not finite: its contributions {added}"
                hint = "the numbers are too large for a finite gradient"
            return ProgramError(message, self.spans.get(parent), hint, self.source)
        node, index = err.node, err.index
        assert node is not None and index is not None  # an edge is at fault
        op = OPS[node.op]
        child = clip(self.name(node))
        local = "undefined" if err.local is None else format_number(err.local)
        if err.kind == "product":
            message = (
                f"the gradient along the edge {child} -> {source} is not finite: upstream "
                f"{format_number(err.upstream or 0.0)} × local {local} (d({child})/d({source})"
                f" = {self.derivative(node, index, short=True)}) is past the largest float"
            )
            hint = "the numbers are too large for a finite gradient"
            return ProgramError(message, self.spans.get(node), hint, self.source)
        message = (
            f"the gradient along the edge {child} -> {source} is not finite: "
            f"d({child})/d({source}) = {self.derivative(node, index, short=True)}"
            f" = {self.derivative(node, index, numbers=True)} = {local}"
        )
        if (op.name == "sqrt" or (op.name == "**" and index == 0)) and parent.data == 0:
            hint = "the slope is vertical there: no finite derivative at 0"
        elif op.name == "**" and index == 1:
            hint = "the exponent's gradient needs log(base), defined only for a positive base"
        else:
            hint = "the numbers are too large or too small for a finite gradient"
        return ProgramError(message, self.spans.get(node), hint, self.source)


def _formula_digits(op: Op, index: int, node: Value) -> int:
    """How many digits the numbers put into a local derivative's formula need for the formula
    to give the value written after it: 6 as everywhere, more where rounding them would
    change the result. ``1 - out**2`` at ``out = tanh(10) = 0.99999999588`` written with six
    digits reads ``1 - 1**2 = 8.24461e-9``: false as written."""
    data = dict(zip("ab", (p.data for p in node.parents), strict=False), out=node.data)
    formula = op.formulas[index]
    try:
        want = format_number(op.derivatives[index](*data.values()))
    except (ArithmeticError, ValueError):  # no finite derivative here (an error names it)
        return 6
    for digits in (6, 8, 10, 12, 14, 16):
        shown = {k: float(format_number(x, digits)) for k, x in data.items()}
        try:
            got = evaluate_formula(formula, shown)
        except (ArithmeticError, ValueError):
            continue
        if format_number(got) == want:
            return digits
    return 17  # every number as the float it is: the formula gives the value itself


LONG_NAME = 32
"""Unnamed intermediates are called by their source text, shortened beyond this length."""
PRINT_NAME = 160
"""... and in ``--print`` beyond this one: whole, as far as a reader can take in a name (a
bound keeps the output linear in the program: every partial sum of a 20,000-character sum
written whole would make it quadratic)."""


_NOT_FINITE = frozenset({"nan", "inf", "infinity"})
"""What Python's ``float()`` reads as not finite, written as a name in a program."""

_LOOKALIKES = str.maketrans(
    "аеорсхуіјѕԁһԛԝАВЕКМНОРСТХЅІЈοναιΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
    "aeopcxyijsdhqwABEKMHOPCTXSIJovaiABEZHIKMNOPTYX",
)
"""Cyrillic and Greek letters drawn like Latin ones (``х`` U+0445 looks like ``x``), by the
Latin letter they pass for."""

_FUNCTION_ALIASES = {"ln": "log", "logistic": "sigmoid"}
"""Names of a function as other languages and textbooks write them (``ln(x)``), lower-cased."""


def _skeleton(name: str) -> str:
    """``name`` with every look-alike letter (:data:`_LOOKALIKES`) as the Latin one."""
    return name.translate(_LOOKALIKES)


def _meant(name: str, given: Mapping[str, float], assigned: set[str]) -> str | None:
    """A hint for a name with no value that is another one mistyped in a way a reader cannot
    see or easily miss: a look-alike letter from another script (``х``, Cyrillic, for ``x``),
    or another case (``y`` used, ``Y=2`` given; ``PI`` for ``pi``). None if it is neither."""
    skeleton = _skeleton(name)
    if skeleton != name:
        for known in (*given, *sorted(assigned), *CONSTANTS):
            if _skeleton(known) == skeleton:
                letters = ", ".join(
                    f"{c} here is {unicodedata.name(c).lower()}"
                    for c in dict.fromkeys(name)
                    if c.translate(_LOOKALIKES) != c
                )
                return f"did you mean {clip(known)}? {letters}"
    folded = name.casefold()
    for known in given:
        if known.casefold() == folded:
            value = format_number(given[known])
            return f"names are case-sensitive: {clip(known)}={value} was given"
    for known in (*sorted(assigned), *CONSTANTS):
        if known.casefold() == folded:
            return f"did you mean {clip(known)}? names are case-sensitive"
    return None


def _shorten(text: str, tail: str | None = None) -> str:
    """``w2_3_1*h4_1_1 + w2_3_2*h4_1_2 + … + b2_3`` -> ``w2_3_1*h4_1_1 … + b2_3``: cut at
    operators outside parentheses, so what is left still reads as the expression; where there
    is no such cut (one long call, deep nesting) keep the start and the end of the text.

    Only the first and last few dozen characters matter, so a long text may be given as its
    start (``text``) and its end (``tail``): naming every partial sum of a 20,000-character
    program then costs no more than the program. At most about :data:`LONG_NAME` characters.
    """
    if tail is None:
        if len(text) <= LONG_NAME:
            return text
        tail = text
    heads = _top_level(text, False)
    loosest = min((kind for _, kind in heads), default=0)
    # The cut from the end is at most 16 characters back. The rest of the end matters only
    # for the loosest operator, and a + or - (kind 1) in the start is as loose as any: then
    # the end is read no further (every partial sum of a long sum has the same start).
    tails = _top_level(tail, True, 17 if loosest == 1 else None)
    loosest = min((kind for _, kind in heads + tails), default=0)
    head = next((i for i, kind in heads if kind == loosest and i >= 12), None)
    back = next((d for d, kind in tails if kind == loosest and d >= 6), None)
    if head is not None and back is not None and head <= 24 and back <= 16:
        cut = len(tail) - back
        if tail is not text or head < cut:
            return f"{text[:head].rstrip()} … {tail[cut:].lstrip()}"
    return f"{text[:20].rstrip()} … {tail[-8:].lstrip()}"


@functools.lru_cache(maxsize=512)
def _top_level(text: str, backward: bool, within: int | None = None) -> tuple[tuple[int, int], ...]:
    """The binary operators outside parentheses: ``(position, 1 for + -, 2 for * /)`` from the
    start, or ``(distance from the end, kind)`` from the end when ``backward`` (only those at
    most ``within`` characters from the end, if given). Kept for the last texts asked: the
    partial sums of a long sum all start alike."""
    found: list[tuple[int, int]] = []
    depth = 0
    opening, closing = (")", "(") if backward else ("(", ")")
    if backward:
        stop = -1 if within is None else max(-1, len(text) - within - 1)
        indices = range(len(text) - 1, stop, -1)
    else:
        indices = range(len(text))
    for i in indices:
        c = text[i]
        if c == opening:
            depth += 1
        elif c == closing:
            depth -= 1
        elif depth == 0 and c in "+-*/" and _binary_at(text, i, _before(text, i)):
            found.append((len(text) - i if backward else i, 1 if c in "+-" else 2))
    return tuple(found)


def _before(text: str, i: int) -> str:
    """The character before position ``i`` that is not a space (``(`` at the start)."""
    j = i - 1
    while j >= 0 and text[j] == " ":
        j -= 1
    return text[j] if j >= 0 else "("


def _binary_at(text: str, i: int, previous: str) -> bool:
    """Whether ``text[i]`` is a binary ``+ - * /`` (not a sign, a power's ``**``, or the sign of
    an exponent as in ``1e-5``); ``previous`` is the non-space character before it."""
    c = text[i]
    if c not in "+-*/":
        return False
    if c == "*" and ("*" in (text[i - 1 : i], text[i + 1 : i + 2])):
        return False
    if c in "+-":
        if previous in "+-*/(":
            return False  # a sign
        if previous in "eE" and i >= 2 and (text[i - 2].isdigit() or text[i - 2] == "."):
            return False  # 1e-5
    return True


def read_name(text: str) -> str | None:
    """``text`` as Python reads a name in a program (NFKC: ``ｘ`` is ``x``), or None if it is not
    a name (an identifier, in any script)."""
    name = unicodedata.normalize("NFKC", text)
    return name if name.isidentifier() else None


def spare_name(names: Sequence[str], taken: Set[str], stem: str) -> str:
    """The first of ``names`` not in ``taken``, else the first free ``stem_2``, ``stem_3``...
    (a name for something the program did not name: it must not read as one of its own)."""
    for name in names:
        if name not in taken:
            return name
    k = 2
    while f"{stem}_{k}" in taken:
        k += 1
    return f"{stem}_{k}"


def parse_assignment(text: str) -> tuple[str, float]:
    """Parse a command-line ``name=value``; raises ProgramError on anything else."""
    typed, sep, number = text.partition("=")
    typed, number = typed.strip(), number.strip()
    if not sep:
        raise ProgramError(
            f"unexpected argument {_quote(text)}", hint="give values as name=number, e.g. x=1.5"
        )
    name = read_name(typed)  # as the program reads it: ｘ there is x here too
    stem = typed.rstrip(SUBSCRIPT_DIGITS)
    if name is not None and stem != typed and read_name(stem) is not None:
        # x₁ as the program shows it (Python reads it as x1: parse() decides which is meant)
        name = f"{read_name(stem)}{typed[len(stem) :]}"
    if name is None or name.startswith("__"):
        raise ProgramError(
            f"{_quote(typed)} in {_quote(text)} is not a valid name", hint="e.g. x=1.5"
        )
    if keyword.iskeyword(name) or name in FUNCTIONS:
        what = "a function" if name in FUNCTIONS else "a Python keyword"
        raise ProgramError(
            f"{name} is {what}, so it cannot be an input's name", hint="choose another name"
        )
    try:
        if not number.isascii():  # as in Python's own literals: ٣ and ３ are not numbers
            raise ValueError(number)
        value = float(number)
    except ValueError:
        raise ProgramError(
            f"the value in {_quote(text)} is not a number", hint=f"give it as {name}=1.5"
        ) from None
    if not math.isfinite(value):
        raise ProgramError(f"the value in {_quote(text)} is not a finite number")
    return name, value


def parse(source: str, values: Mapping[str, float] | None = None) -> Program:
    """Parse and evaluate ``source`` with ``values`` for (or overriding) its inputs."""
    return _Parser(source, dict(values or {})).run()


def _is_constant_expression(node: ast.expr, assigned: set[str]) -> bool:
    """True if ``node`` uses no names but function names and pi and e (not reassigned)."""
    functions = {id(sub.func) for sub in ast.walk(node) if isinstance(sub, ast.Call)}
    return all(
        not isinstance(sub, ast.Name)
        or id(sub) in functions
        or (sub.id in CONSTANTS and sub.id not in assigned)
        for sub in ast.walk(node)
    )


def _mark_call(node: ast.expr) -> str | None:
    """``"param"`` for ``param(...)``, ``"fixed"`` for ``fixed(...)``, else None."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in MARKS:
        return node.func.id
    return None


class _Parser:
    def __init__(self, source: str, values: dict[str, float]) -> None:
        # a byte-order mark (Windows editors write one) is not part of the program
        self.source = source.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
        self.values = values
        self.lines = self.source.split("\n")
        self.indent: list[int] = []
        self.bodies: list[str] = []  # the lines without their indentation
        self.spans: dict[Value, Span] = {}
        self.warnings: list[str] = []
        self.input_nodes: list[Value] = []  # every input, in the order the program makes them
        # the free names given on the command line, as bindings made before the program's own
        # (``x = x*2`` with x=1 on the command line reassigns x: x₁ then x₂)
        self.given: list[tuple[str, Value, int]] = []
        self.constants: list[str] = []  # pi and e, each time one is read as the constant
        self.marks: dict[Value, str] = {}  # inputs written name = param(...) / fixed(...)
        self.free: dict[str, ast.Name] = {}
        self.used: set[str] = set()
        self.assigned: set[str] = set()  # every name the program assigns, anywhere
        # the values given for inputs the program assigns (x = 1), by statement index, with the
        # name each was given by (x or x₁)
        self.statement_values: dict[int, tuple[str, float]] = {}

    # --- errors and locations ------------------------------------------------------------------

    def error(
        self,
        message: str,
        node: ast.AST | Span | None = None,
        hint: str | None = None,
        editing_hint: str | None = None,
    ) -> ProgramError:
        span = node if isinstance(node, Span) or node is None else self.span(node)
        return ProgramError(message, span, hint, self.source, editing_hint)

    def _char_col(self, line: int, byte_col: int) -> int:
        """ast's UTF-8 byte offset in a (de-indented) line -> a 1-based character column."""
        if line - 1 >= len(self.lines):
            return byte_col + 1
        body = self.bodies[line - 1]
        if body.isascii():
            chars = byte_col
        else:
            chars = len(body.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))
        return chars + self.indent[line - 1] + 1

    def span(self, node: ast.AST) -> Span:
        line = getattr(node, "lineno", 1)
        end_line = getattr(node, "end_lineno", None) or line
        col = self._char_col(line, getattr(node, "col_offset", 0))
        end_byte = getattr(node, "end_col_offset", None)
        end_col = self._char_col(end_line, end_byte) if end_byte is not None else col + 1
        return Span(line, col, end_line, end_col)

    def text(self, node: ast.AST) -> str:
        segment = ast.get_source_segment(self.stripped, node) or ""
        return " ".join(segment.split())

    # --- the three phases ----------------------------------------------------------------------

    def run(self) -> Program:
        module = self.syntax()
        self._continued_lines(module)
        self.validate(module)
        return self.evaluate(module)

    def _continued_lines(self, module: ast.Module) -> None:
        """Refuse a statement that reads as the rest of the line before it: a line indented
        more than the statement line before it that starts with an operator (``loss = a`` then
        ``    + b``: Python reads ``+ b`` as a statement of its own, and it would silently be
        the output), or any line after the first that starts with ``*`` or ``**``.
        Leading indentation alone is forgiven; a bracketed expression continues as in Python.
        """
        previous: int | None = None  # the line the statement before starts on
        for stmt in module.body:
            line = stmt.lineno
            if line == previous:  # a second statement on the line, after a ;
                continue
            if previous is not None and isinstance(stmt, ast.Expr) and stmt.col_offset == 0:
                body = self.bodies[line - 1]
                operator = _LINE_OPERATOR.match(body)
                if operator is not None and (
                    self.indent[line - 1] > self.indent[previous - 1]
                    or operator.group() not in ("+", "-", "~")
                ):
                    raise self._continued(line, operator.group(), valid=True)
            previous = line

    def _continued(self, line: int, operator: str, *, valid: bool) -> ProgramError:
        """The error for a line that starts with ``operator`` as if it continued the line
        before (``valid``: Python reads the line as a statement of its own)."""
        col = self.indent[line - 1] + 1
        what = "is a new statement" if valid else "a new statement cannot start with it"
        return ProgramError(
            f"this line starts with {operator} but {what}: Python does not continue a line "
            "after a line break",
            Span(line, col, line, col + len(operator)),
            "put the whole expression in brackets to continue it over lines",
            self.source,
        )

    def syntax(self) -> ast.Module:
        if len(self.source) > MAX_SOURCE:
            # standard input is read only to one character past the limit: its length is
            # then unknown, and "20,001 characters long" was said of a 44,687-character file
            size = (
                f"{len(self.source):,}"
                if len(self.source) > MAX_SOURCE + 1
                else f"more than {MAX_SOURCE:,}"
            )
            raise self.error(f"the program is {size} characters long; the limit is {MAX_SOURCE:,}")
        bad = re.search("[\ud800-\udfff]", self.source)  # undecodable bytes from the shell
        if bad:
            row = self.source.count("\n", 0, bad.start()) + 1
            col = bad.start() - (self.source.rfind("\n", 0, bad.start()) + 1) + 1
            raise self.error(
                "the program contains bytes that are not valid UTF-8 text",
                Span(row, col, row, col + 1),
            )
        nul = self.source.find("\0")
        if nul >= 0:
            row = self.source.count("\n", 0, nul) + 1
            col = nul - (self.source.rfind("\n", 0, nul) + 1) + 1
            raise self.error("the program contains a NUL character", Span(row, col, row, col + 1))
        stripped = self.bodies
        for line in self.lines:
            body = line.lstrip(" \t")
            self.indent.append(len(line) - len(body))
            stripped.append(body)
        self.stripped = "\n".join(stripped)
        if not self.stripped.strip() or all(not s.strip() or s.startswith("#") for s in stripped):
            raise self.error("the program is empty", hint='e.g. stepgrad "x*x + 1" x=3')
        limit = sys.getrecursionlimit()
        try:
            # ast builds its tree recursively; a long flat sum of MAX_SOURCE characters is about
            # 10,000 levels deep, which 3.11's C parser handles safely at this limit.
            sys.setrecursionlimit(max(limit, 3 * MAX_SOURCE))
            with warnings.catch_warnings():  # e.g. "invalid escape sequence": ours says it better
                warnings.simplefilter("ignore")
                return ast.parse(self.stripped, mode="exec")
        except SyntaxError as err:
            raise self.syntax_error(err) from None
        except (RecursionError, MemoryError):
            raise self.error(
                "the program is nested too deeply to parse: the parser gives up here",
                self._too_deep(),
                "its limit is about 6,000 nested signs or 3,000 nested powers; "
                "split it into named steps",
            ) from None
        except ValueError as err:  # e.g. "source code string cannot contain null bytes"
            raise self.error(f"the program cannot be read: {err}") from None
        finally:
            sys.setrecursionlimit(limit)

    def _too_deep(self) -> Span:
        """Where the nesting passes the parser's limit: the end of the shortest start of the
        program that the parser also gives up on (found by halving; a parse that fails takes
        well under a millisecond). The recursion limit is already raised by the caller."""
        text = self.stripped
        lo, hi = 1, len(text)  # text[:hi] is too deep
        while lo < hi:
            mid = (lo + hi) // 2
            try:
                ast.parse(text[:mid], mode="exec")
                deep = False
            except (RecursionError, MemoryError):
                deep = True
            except (SyntaxError, ValueError):
                deep = False
            if deep:
                hi = mid
            else:
                lo = mid + 1
        at = hi - 1  # the character where the parser gave up
        row = text.count("\n", 0, at) + 1
        col = at - (text.rfind("\n", 0, at) + 1) + 1 + self.indent[row - 1]
        return Span(row, col, row, col + 1)

    def syntax_error(self, err: SyntaxError) -> ProgramError:
        statement = self._statement_keyword(err.lineno or 1)
        if statement is not None:
            return statement
        line = err.lineno or 1
        line = min(max(line, 1), len(self.lines))
        body = self.lines[line - 1].lstrip(" \t")
        operator = _LINE_OPERATOR.match(body)
        if (
            operator is not None
            and (err.offset or 1) == 1  # the parser stops at the line's first character
            and err.lineno == line
            and any(b.strip() and not b.startswith("#") for b in self.bodies[: line - 1])
        ):
            return self._continued(line, operator.group(), valid=False)
        col = min(max((err.offset or 1), 1), len(body) + 1) + self.indent[line - 1]
        end_col = col + 1
        if err.end_lineno == err.lineno and err.end_offset and err.end_offset > (err.offset or 0):
            end_col = min(err.end_offset, len(body) + 1) + self.indent[line - 1]
        span = Span(line, col, line, max(end_col, col + 1))
        raw = (err.msg or "invalid syntax").strip()
        told = self._number_or_semicolon(raw, line, body, col - self.indent[line - 1])
        if told is not None:
            return told
        message, hint = "invalid syntax", None
        at = col - 1 - self.indent[line - 1]  # where in the line's text
        lowered = raw.lower()
        char = re.search(r"invalid (?:non-printable )?character '?(.)'? \(U\+([0-9A-F]+)\)", raw)
        control = re.search(r"invalid non-printable character U\+([0-9A-F]+)", raw)
        if control and not char:
            code = chr(int(control.group(1), 16))
            if unicodedata.category(code) == "Cc":
                message = f"a control character (U+{control.group(1)}) is not allowed"
                hint = f"delete it: it shows as {_shown(code)} here"
            else:  # a format or separator character: invisible, or a line break in disguise
                what = unicodedata.name(code, "").lower() or "an invisible character"
                message = f"an invisible character (U+{control.group(1)}, {what}) is not allowed"
                hint = f"delete it: it shows as {_shown(code)} here"
        elif char:
            symbol = chr(int(char.group(2), 16))
            message = f"the character {symbol!r} (U+{char.group(2)}) is not allowed"
            hint = _CHARACTER_HINTS.get(symbol)
        elif "invalid decimal literal" in lowered:
            start = at
            while start > 0 and (body[start - 1].isdigit() or body[start - 1] in "._"):
                start -= 1
            digits = re.match(r"[0-9][0-9_.]*", body[start:])
            number = digits.group() if digits else ""
            if "__" in number or number.endswith("_") or "_." in number or "._" in number:
                message = "this number is not written correctly"
                hint = "an underscore goes between two digits, as in 1_000"
            else:
                message = "a number runs straight into a name"
                hint = "write 2*x for a product"
        elif "perhaps you forgot a comma" in lowered:
            message = "two values stand next to each other"
            hint = "is an operator missing? e.g. 2*x"
        elif "never closed" in lowered or "was never closed" in lowered:
            message = raw.replace("'(' was never closed", "this ( is never closed")
        elif "unmatched" in lowered or "does not match" in lowered:
            message = raw
        elif "too many nested parentheses" in lowered:
            message = "too many nested parentheses: at most 200"
            hint = "split it into named steps"
        elif "leading zeros" in lowered:
            message = "a number cannot start with 0"
            zeros = re.match(r"0+([1-9][0-9_]*)", body[at:])
            hint = f"write {zeros.group(1)}, not {zeros.group()}" if zeros else "write 9, not 09"
        elif re.search(r"invalid (hexadecimal|octal|binary) literal|invalid digit", lowered):
            message = "this number is not written correctly"
            hint = "e.g. 0x1f (hexadecimal), 0o17 (octal), 0b101 (binary)"
        elif "cannot assign" in lowered or "cannot delete" in lowered:
            message = re.split(r"(?i)[.?]?\s*maybe you meant", raw)[0].strip(" ?.")
            message = message.replace(" here", "")
            hint = "assign to a plain name: x = 1.5"
        elif "unexpected eof" in lowered or "unexpected end" in lowered:
            message = "the program ends in the middle of an expression"
        elif "expected an indented block" in lowered or "unindent" in lowered:
            message = "unexpected indentation"
        elif raw not in ("invalid syntax",):
            message = raw.split(". Perhaps")[0].split(". Did you mean")[0]
        here = body[at:]
        if message == "invalid syntax" and here.startswith(":="):
            message = _UNSUPPORTED_NODES[ast.NamedExpr]  # as for (x := 2), which parses
        if message == "invalid syntax":
            before = body[:at].rstrip()
            dangling = re.search(r"(\*\*|[-+*/=])\s*\Z", before)
            if dangling and not here.partition("#")[0].strip():
                symbol = dangling.group(1)
                start = len(before) - len(symbol) + self.indent[line - 1] + 1
                span = Span(line, start, line, start + len(symbol))
                if symbol == "=":
                    return ProgramError(
                        "= needs a value after it", span, "e.g. y = x*x + 1", self.source
                    )
                return ProgramError(
                    f"{symbol} needs a number or a name after it, but the line ends there",
                    span,
                    f"e.g. x {symbol} 2",
                    self.source,
                )
            stray = _LINE_OPERATOR.match(here)
            if stray is not None and stray.group()[0] in "+-~":
                stray = None  # a sign may begin a value
            if dangling and stray is not None:
                # x +* 2, x */ 2, y = = 2: an operator where a value must come
                symbol, other = dangling.group(1), stray.group()
                start = col
                span = Span(line, start, line, start + len(other))
                what = "a value" if symbol == "=" else "a number or a name"
                return ProgramError(
                    f"{other} cannot come right after {symbol}: {symbol} needs {what} after it",
                    span,
                    "e.g. y = x*x + 1"
                    if symbol == "="
                    else f"e.g. x {symbol} 2 or x {other} 2"
                    if other in _BINARY_SYMBOLS and other != symbol
                    else f"e.g. x {symbol} 2",
                    self.source,
                )
            if stray is not None and (not before or before[-1] in "(,=;"):
                # *x, (/ 2): an operator with nothing before it to work on
                other = stray.group()
                span = Span(line, col, line, col + len(other))
                if other in _BINARY_SYMBOLS:
                    message, hint = "it goes between two values", f"e.g. x {other} 2"
                else:
                    message, hint = "it is not an operator here", "the operators are + - * / **"
                return ProgramError(
                    f"{other} cannot start an expression: {message}", span, hint, self.source
                )
            if here[:1] in ("?", "$", "!", "`", "\\"):
                message = f"the character {here[0]!r} has no meaning in a program"
            elif (
                before
                and here
                and (before[-1].isalnum() or before[-1] in "_).")
                and (here[0].isalnum() or here[0] in "_(")
            ):
                message = "two values stand next to each other"
                hint = "is an operator missing? e.g. 2*x"
            elif "^" in body:
                hint = "use ** for powers"
        text = body.rstrip()
        last = self.indent[line - 1] + len(text)  # the column of the line's last character
        if text and span.col > last:  # the parser's column is past the end of the line
            span = Span(line, last, line, last + 1)
        return ProgramError(message, span, hint, self.source)

    def _number_or_semicolon(self, raw: str, line: int, body: str, at: int) -> ProgramError | None:
        """What the parser words as Python (``invalid syntax``, ``invalid imaginary literal``,
        the integer digit limit) about a number or a ``;``, said in our words with the number
        or the ``;`` under the caret. ``at`` is the parser's 1-based column in ``body`` (the
        line without its indentation); None when it is none of these."""
        indent = self.indent[line - 1]

        def where(start: int, end: int) -> Span:  # 0-based [start, end) in body
            return Span(line, indent + start + 1, line, indent + max(end, start + 1) + 1)

        digits = re.search(r"limit \((\d+) digits\).*?has (\d+) digits", raw)
        if digits:  # a decimal integer longer than Python converts (4,300 digits by default)
            limit, count = int(digits.group(1)), int(digits.group(2))
            runs = [
                m
                for m in re.finditer(r"(?<![\w.])\d[\d_]*", body)
                if sum(c.isdigit() for c in m.group()) > limit
            ]
            exact = [m for m in runs if sum(c.isdigit() for c in m.group()) == count]
            found = exact or runs
            span = where(found[0].start(), found[0].end()) if found else where(0, len(body))
            return ProgramError(
                f"this number is too long: {count:,} digits, and the limit is {limit:,}",
                span,
                "numbers must be finite, below about 1.8e308",
                self.source,
            )
        if raw != "invalid syntax" and not re.search(r"invalid \w+ literal", raw):
            return None
        if raw == "invalid syntax":
            for m in re.finditer(r"(?<![\w.])(?:\d[\d_]*\.[\d_]*|\.\d[\d_]*)\.[\d_.]*", body):
                if m.start() < at <= m.end() + 1:
                    return ProgramError(
                        "this number has two decimal points",
                        where(m.start(), m.end()),
                        "a number has at most one: 1.25",
                        self.source,
                    )
            if body[at - 1 : at] == ";":
                return self._empty_statement(line, body, at - 1, where)
        number = re.compile(
            r"(?<![\w.])(?>0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+"
            r"|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?[jJ]?)([A-Za-z_]\w*)"
        )
        for m in number.finditer(body):
            if not m.start() < at <= m.end() + 1:
                continue
            written, word = m.group()[: m.start(1) - m.start()], m.group(1)
            if written == "0" and word[0] in "xXbBoO":  # 0x with no digits: a bad literal
                return None
            if written[-1] in "jJ":
                return ProgramError(
                    "a j after a number makes it complex, and complex numbers are not supported",
                    where(m.start(), m.end()),
                    f"for a product write {clip(written[:-1])}*{clip(written[-1] + word)}",
                    self.source,
                )
            return ProgramError(
                "a number runs straight into a name",
                where(m.start(), m.end()),
                f"this reads as {clip(written)} then {clip(word)}: is an operator missing?",
                self.source,
            )
        return None

    def _empty_statement(
        self, line: int, body: str, at: int, where: Callable[[int, int], Span]
    ) -> ProgramError:
        """A ``;`` with no statement before it (``x;;x``, ``; x``, a lone ``;``)."""
        code = re.sub(r"#[^\n]*", "", self.stripped)
        if not code.replace(";", "").strip():
            return ProgramError(
                "nothing to compute: the program is only ;",
                where(at, at + 1),
                "a ; separates statements: x = 3; x*x + 1",
                self.source,
            )
        before = body[:at].rstrip()
        if before.endswith(";"):
            return ProgramError(
                "an empty statement between two semicolons",
                where(len(before) - 1, at + 1),
                "remove one ;",
                self.source,
            )
        return ProgramError(
            "nothing before this ;: a ; separates two statements",
            where(at, at + 1),
            "remove it, or write a statement before it: x = 3; x*x + 1",
            self.source,
        )

    def _statement_keyword(self, upto: int) -> ProgramError | None:
        """A block or statement keyword (``try:``, ``for``, ``match x:``) on a line up to the
        failing one: the real reason the program does not parse, said as such (the parser's
        own message would speak of indentation, which a program never has)."""
        for row in range(1, min(upto, len(self.lines)) + 1):
            code = self.bodies[row - 1].partition("#")[0].rstrip()
            word = re.match(r"[A-Za-z_]+", code)
            if word is None:
                continue
            kw = word.group(0)
            soft = kw in ("match", "case") and code.endswith(":")
            if kw in _STATEMENTS or soft:
                col = self.indent[row - 1] + 1
                return ProgramError(
                    f"{kw} statements are not supported",
                    Span(row, col, row, col + len(kw)),
                    "a program is assignments and expressions, one per line: y = x*x + 1",
                    self.source,
                )
        return None

    def validate(self, module: ast.Module) -> None:
        """Check every node against the whitelist, in reading order, before computing anything.

        Also decide which names are inputs, and report missing values all at once.
        """
        assigned: set[str] = set()
        constant_inputs: set[str] = set()
        computed: dict[str, ast.stmt] = {}
        free: dict[str, ast.Name] = {}
        later: dict[str, ast.stmt] = {
            t.id: stmt
            for stmt in module.body
            if isinstance(stmt, (ast.Assign, ast.AugAssign))
            for t in (stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target])
            if isinstance(t, ast.Name)
        }
        for stmt in module.body:
            if isinstance(stmt, ast.Assign):
                if len(stmt.targets) != 1:
                    raise self.error(
                        "assign one name at a time", stmt.targets[1], "write a = 1 and b = 1"
                    )
                target, value = stmt.targets[0], stmt.value
            elif isinstance(stmt, ast.AugAssign):
                target, value = stmt.target, stmt.value
                if type(stmt.op) not in _BINOPS:
                    self._check_binop(stmt.op, stmt)
            elif isinstance(stmt, ast.Expr):
                target, value = None, stmt.value
            elif isinstance(stmt, ast.AnnAssign):
                raise self.error("type annotations are not supported", stmt, "write x = 1.5")
            else:
                kind = type(stmt).__name__.lower()
                raise self.error(
                    f"only assignments and expressions are allowed, not {kind} statements",
                    stmt,
                    "e.g. y = x*x + 1",
                )
            if target is not None and not isinstance(target, ast.Name):
                raise self.error(
                    "only a plain name can be assigned", target, "assign to a name: y = ..."
                )
            if isinstance(stmt, ast.AugAssign) and isinstance(target, ast.Name):
                self._check_load(target, assigned, free)
            mark = _mark_call(value) if isinstance(stmt, ast.Assign) else None
            if mark is not None:
                assert isinstance(value, ast.Call)
                self._check_mark(value, mark, assigned, free)
            else:
                self._check_expression(value, assigned, free)
            if isinstance(target, ast.Name):
                self._check_target(target)
                if isinstance(stmt, ast.Assign) and _is_constant_expression(value, assigned):
                    constant_inputs.add(target.id)
                elif target.id not in constant_inputs and target.id not in free:
                    computed.setdefault(target.id, stmt)
                assigned.add(target.id)

        # pi and e are the constants only in a program that does not assign them: one that
        # does reads them before the assignment as any name used before it is assigned
        self.assigned = set(later)
        self._resolve_values(module, free, later)
        missing = [
            name
            for name in free
            if name not in self.values and (name not in CONSTANTS or name in later)
        ]
        if missing:
            self._missing(missing, free, assigned, later)
        for name in self.values:
            if name in computed and name not in constant_inputs and name not in free:
                stmt = computed[name]
                raise self.error(
                    f"{clip(name)} is computed by the program, so it cannot be given a value",
                    stmt,
                    "only inputs (name = number) and names the program uses freely can be set",
                )
        self.free = free
        self.used = set(free) | constant_inputs

    def _resolve_values(
        self, module: ast.Module, free: dict[str, ast.Name], later: dict[str, ast.stmt]
    ) -> None:
        """Decide which input each given value sets, by the names the program shows.

        A name assigned a number several times makes an input per assignment, shown with a
        subscript (``x = 1; y = x*2; x = 5``: ``x₁`` and ``x₂``). A value given as ``x₁=9``
        (or ``x_1=9`` when the program has no name ``x_1``) sets exactly that input; a plain
        ``x=9`` sets x's one input, and is refused when x names several. A plain name the
        program reads before assigning it (a free name, as ``q`` in ``y = x + q; q = 3``) is
        given its value where it is read first: its later ``q = 3`` keeps its number (``q₂``).

        Leaves the free names' values in :attr:`values` (with any other name, which the
        program does not use) and puts the assignments' values in :attr:`statement_values`,
        by statement index.
        """
        given = dict(self.values)
        if not given:
            return
        # which node each binding makes, as evaluate() will make them: a token per node
        env: dict[str, tuple[str, object]] = {}
        nodes_of: dict[str, list[tuple[str, object]]] = {}
        made_by: dict[tuple[str, object], tuple[str, int, bool]] = {}  # name, stmt, input?
        for name in free:  # bound before every assignment (see evaluate: given first)
            if name not in CONSTANTS or name in later or name in given:
                nodes_of[name] = [("given", name)]
        for index, stmt in enumerate(module.body):
            bound = set(env)  # what evaluate() sees before it reads this statement
            for sub in ast.walk(stmt):  # a free name is bound where it is first read
                if isinstance(sub, ast.Name) and sub.id in nodes_of and sub.id not in env:
                    env[sub.id] = ("given", sub.id)
            if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
                name, value = stmt.targets[0].id, stmt.value
            elif isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
                name, value = stmt.target.id, stmt.value
            else:
                continue
            alias = value
            while isinstance(alias, ast.UnaryOp) and isinstance(alias.op, ast.UAdd):
                alias = alias.operand
            token: tuple[str, object] = ("stmt", index)
            if isinstance(stmt, ast.AugAssign):
                made_by[token] = (name, index, False)
            elif _mark_call(value) is not None or _is_constant_expression(value, bound):
                made_by[token] = (name, index, True)
            elif isinstance(alias, ast.Name) and alias.id in env:
                token = env[alias.id]  # b = a binds a second name to a's node
            else:
                made_by[token] = (name, index, False)
            env[name] = token
            seen = nodes_of.setdefault(name, [])
            if token not in seen:
                seen.append(token)
        # the names the program shows: x₁, x₂ for a name bound to several nodes
        shown: dict[str, tuple[str, tuple[str, object]]] = {}
        for name, tokens in nodes_of.items():
            if len(tokens) > 1:
                for k, token in enumerate(tokens, 1):
                    if token[0] == "given" or made_by[token][0] == name:
                        shown[name + str(k).translate(_SUBSCRIPTS)] = (name, token)
        names = set(later) | set(free)
        for name, token in list(shown.values()):  # x_1 for x₁, unless x_1 is a name
            k = nodes_of[name].index(token) + 1
            ascii_name = f"{name}_{k}"
            if ascii_name not in names and ascii_name not in shown:
                shown[ascii_name] = (name, token)
        self.values = {}
        targets: dict[tuple[str, object], str] = {}  # each input set, by the key that set it
        for key, number in given.items():
            if key not in free and key not in later and key not in shown:
                key = read_name(key) or key  # x₁ for a name assigned once: Python's x1
            if key in free:
                token = ("given", key)
            elif key in shown:
                name, token = shown[key]
                if token[0] != "given" and not made_by[token][2]:
                    stmt = module.body[made_by[token][1]]
                    raise self.error(
                        f"{clip(key)} is computed by the program, so it cannot be given a value",
                        stmt,
                        "only inputs (name = number) and names the program uses freely can be set",
                    )
            elif key in later:
                own = [t for t in nodes_of.get(key, []) if t[0] != "given" and made_by[t][2]]
                own = [t for t in own if made_by[t][0] == key]
                if not own:
                    self.values[key] = number  # computed: validate() says so
                    continue
                if len(own) > 1:
                    raise self._several_inputs(key, own, nodes_of[key], module, made_by)
                token = own[0]
            else:
                self.values[key] = number  # not used: evaluate() warns
                continue
            if token in targets:
                raise ProgramError(
                    f"{clip(targets[token])} and {clip(key)} are one input: give it once",
                    hint="give each input once",
                )
            targets[token] = key
            if token[0] == "given":
                self.values[str(token[1])] = number
            else:
                self.statement_values[made_by[token][1]] = (key, number)

    def _several_inputs(
        self,
        name: str,
        own: list[tuple[str, object]],
        tokens: list[tuple[str, object]],
        module: ast.Module,
        made_by: dict[tuple[str, object], tuple[str, int, bool]],
    ) -> ProgramError:
        """``x names 2 inputs here (x₁ = 1 and x₂ = 5): give x₁=… or x₂=…``."""
        shown, written = [], []
        for token in own:
            display = name + str(tokens.index(token) + 1).translate(_SUBSCRIPTS)
            stmt = module.body[made_by[token][1]]
            assert isinstance(stmt, ast.Assign)
            shown.append(display)
            written.append(f"{display} = {clip(self.text(stmt.value))}")
        given = [f"{d}=…" for d in shown]
        return ProgramError(
            f"{clip(name)} names {len(own)} inputs here ({' and '.join(written)}): "
            f"give {' or '.join(given)}"
            if len(own) == 2
            else f"{clip(name)} names {len(own):,} inputs here ({', '.join(written[:-1])} and "
            f"{written[-1]}): give {', '.join(given[:-1])} or {given[-1]}",
            hint=None,
        )

    def _missing(
        self,
        missing: list[str],
        free: dict[str, ast.Name],
        assigned: set[str],
        later: dict[str, ast.stmt],
    ) -> None:
        first = missing[0]
        node = free[first]
        shown = clip(first)  # a name may be thousands of characters long: quote it short
        if first in later:
            stmt = later[first]
            raise self.error(
                f"{shown} is used before it is assigned (on line {stmt.lineno})",
                node,
                f"move the assignment up, or give it a value: {shown}=1.5",
                "move the assignment up",
            )
        if len(missing) == 1:
            meant = _meant(first, self.values, assigned)
            if meant is not None:
                raise self.error(f"{shown} has no value", node, meant, meant)
        known = sorted(assigned | set(FUNCTIONS) | set(CONSTANTS))
        close = difflib.get_close_matches(first, known, n=1, cutoff=0.75)
        if close and len(missing) == 1:
            raise self.error(
                f"unknown name {_quote(first)}",
                node,
                f"did you mean {clip(close[0])}? or give it a value: {shown}=1.5",
                f"did you mean {clip(close[0])}? or add a line: {shown} = 1.5",
            )
        if len(missing) == 1:
            raise self.error(
                f"{shown} has no value",
                node,
                f"give it as {shown}=1.5",
                f"add a line: {shown} = 1.5",
            )
        if len(missing) > 5:
            named = [*(clip(n) for n in missing[:4]), f"{len(missing) - 4:,} more"]
        else:
            named = [clip(n) for n in missing]
        names = ", ".join(named[:-1]) + " and " + named[-1]
        given = [n for n in named if not n.endswith(" more")]
        raise self.error(
            f"{names} have no values",
            node,
            "give them as " + " ".join(f"{n}=1.5" for n in given),
            "add a line for each: " + "; ".join(f"{n} = 1.5" for n in given),
        )

    def _check_target(self, target: ast.Name) -> None:
        name = target.id
        if name.startswith("__"):
            raise self.error("names with double underscores are not allowed", target)
        if name in FUNCTIONS:
            raise self.error(
                f"{name} is a function and cannot be assigned", target, "choose another name"
            )

    def _check_load(
        self,
        node: ast.Name,
        assigned: set[str],
        free: dict[str, ast.Name],
    ) -> None:
        name = node.id
        if name.startswith("__"):
            raise self.error("names with double underscores are not allowed", node)
        if name in FUNCTIONS:
            raise self.error(f"{name} is a function", node, f"call it: {name}(x)")
        if name not in assigned and name not in free:
            free[name] = node

    def _check_binop(self, op: ast.operator, node: ast.AST) -> None:
        message, hint = _UNSUPPORTED_BINOPS.get(type(op), ("this operator is not supported", None))
        raise self.error(message, self._operator_span(node) or node, hint)

    def _operator_span(self, node: ast.AST) -> Span | None:
        """Where the operator of a binary operation is written (``^`` in ``x^2 + 1``), so the
        caret points at it rather than under the whole expression."""
        left = getattr(node, "left", None) or getattr(node, "target", None)
        right = getattr(node, "right", None) or getattr(node, "value", None)
        if left is None or right is None or not hasattr(left, "end_lineno"):
            return None
        if left.end_lineno != right.lineno:
            return None
        start, end = self.span(left), self.span(right)
        line = self.lines[start.end_line - 1]
        between = line[start.end_col - 1 : end.col - 1]
        symbol = between.strip().strip("()").strip()
        if not symbol:
            return None
        at = start.end_col + between.index(symbol)
        return Span(start.end_line, at, start.end_line, at + len(symbol))

    def _check_expression(
        self,
        expr: ast.expr,
        assigned: set[str],
        free: dict[str, ast.Name],
    ) -> None:
        stack: list[ast.AST] = [expr]
        # pre-order, left to right: the first problem in reading order wins. ``while stack:``
        # written as a for loop, which CPython 3.11 specialises from the first call (see
        # engine/backward.py)
        for _ in iter(stack.__len__, 0):
            node = stack.pop()
            children: list[ast.AST] = []
            if isinstance(node, ast.BinOp):
                if type(node.op) not in _BINOPS:
                    self._check_binop(node.op, node)
                children = [node.left, node.right]
            elif isinstance(node, ast.UnaryOp):
                if isinstance(node.op, ast.Not):
                    raise self.error("not is not supported", node)
                if isinstance(node.op, ast.Invert):
                    raise self.error("~ is not supported", node)
                children = [node.operand]
            elif isinstance(node, ast.Call):
                self._check_call(node)
                children = [node.args[0]]
            elif isinstance(node, ast.Name):
                self._check_load(node, assigned, free)
            elif isinstance(node, ast.Constant):
                self._check_constant(node)
            else:
                message = _UNSUPPORTED_NODES.get(type(node), "this syntax is not supported")
                hint = None
                if isinstance(node, ast.Compare):
                    hint = "a program computes a number; = assigns, == is not needed"
                raise self.error(message, node, hint)
            stack.extend(reversed(children))

    def _check_call(self, node: ast.Call) -> None:
        func = node.func
        if not isinstance(func, ast.Name):
            if isinstance(func, ast.Attribute):
                hint = (
                    f"call it directly: {func.attr}(x)"
                    if func.attr in FUNCTIONS
                    else "functions: " + " ".join(FUNCTIONS)
                )
                raise self.error("attributes (a.b) are not supported", func, hint)
            raise self.error("only the listed functions can be called", func)
        name = func.id
        if name.startswith("__"):
            raise self.error("names with double underscores are not allowed", func)
        if name in MARKS:
            raise self.error(
                f"{name}(...) marks an input: it can only be the whole value of an assignment",
                node,
                f"e.g. w = {name}(0.5)",
            )
        if name not in FUNCTIONS:
            close = [
                meant
                for meant in (_FUNCTION_ALIASES.get(name.lower()), _skeleton(name).lower())
                if meant in FUNCTIONS
            ] or difflib.get_close_matches(name, FUNCTIONS, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}?" if close else "functions: " + " ".join(FUNCTIONS)
            raise self.error(f"unknown function {_quote(name)}", func, hint)
        self._check_unpacking(node, f"{name}(x)")
        if node.keywords:
            raise self.error(
                f"{name} takes its argument by position, not by name",
                node.keywords[0],
                f"e.g. {name}(x)",
            )
        if len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
            count = len(node.args) + len(node.keywords)
            raise self.error(
                f"{name} takes exactly one argument ({count} given)", node, f"e.g. {name}(x)"
            )

    def _check_unpacking(self, node: ast.Call, example: str) -> None:
        """``exp(*x)``, ``exp(**x)``: unpacking is Python, not part of the language."""
        for argument in node.args:
            if isinstance(argument, ast.Starred):
                raise self.error(
                    "*x (unpacking) is not part of the language",
                    argument,
                    f"pass the value itself: {example}",
                )
        for word in node.keywords:
            if word.arg is None:
                raise self.error(
                    "**x (unpacking) is not part of the language",
                    word,
                    f"pass the value itself: {example}",
                )

    def _check_mark(
        self, node: ast.Call, mark: str, assigned: set[str], free: dict[str, ast.Name]
    ) -> None:
        """``w = param(0.5)``: one number (or an expression of numbers, ``param(2*pi)``)."""
        self._check_unpacking(node, f"w = {mark}(0.5)")
        if node.keywords or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
            count = len(node.args) + len(node.keywords)
            raise self.error(
                f"{mark}(...) takes exactly one number ({count} given)",
                node,
                f"e.g. w = {mark}(0.5)",
            )
        argument = node.args[0]
        if (
            isinstance(argument, ast.Name)
            and argument.id.casefold() in _NOT_FINITE
            and argument.id not in assigned
        ):
            raise self.error(  # read as a name, it would be called "an expression of values"
                f"{mark}(...) takes a finite number: {clip(argument.id)} is not one",
                argument,
                f"e.g. w = {mark}(0.5)",
            )
        self._check_expression(argument, assigned, free)
        if not _is_constant_expression(argument, assigned):
            raise self.error(
                f"{mark}(...) takes a number, not an expression of other values",
                argument,
                f"e.g. w = {mark}(0.5)",
            )

    def _check_constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, bool) or value is None or value is Ellipsis:
            raise self.error(f"{value} is not a number", node)
        if isinstance(value, (str, bytes)):
            raise self.error("strings are not supported", node, "a program is arithmetic only")
        if isinstance(value, complex):
            raise self.error("complex numbers are not supported", node)
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise self.error("this number is too large", node, "numbers must be finite")

    # --- evaluation ----------------------------------------------------------------------------

    def evaluate(self, module: ast.Module) -> Program:
        env: dict[str, Value] = {}
        output: Value | None = None
        bindings: list[tuple[str, Value, int]] = []  # (name, node, line) in program order
        for index, stmt in enumerate(module.body):
            if isinstance(stmt, ast.Assign):
                target = stmt.targets[0]
                if not isinstance(target, ast.Name):  # validate() refused it; never trust that
                    raise self.error("only a plain name can be assigned", target)
                name = target.id
                mark = _mark_call(stmt.value)
                if mark is not None or _is_constant_expression(stmt.value, set(env)):
                    set_by = self.statement_values.get(index)
                    value = None if set_by is None else set_by[1]
                    if value is None:
                        written = stmt.value
                        if mark is not None and isinstance(written, ast.Call):
                            written = written.args[0]  # param(0.5): the number inside
                        value = self.expression(written, env).data
                    node = Value(value, name)
                    self.spans[node] = self.span(target)
                    self.input_nodes.append(node)
                    if mark is not None:
                        self.marks[node] = mark
                else:
                    node = self.expression(stmt.value, env)
                    if node.label is None:  # a fresh node; otherwise b = a just aliases a
                        node.label = name
            elif isinstance(stmt, ast.AugAssign):
                target = stmt.target
                if not isinstance(target, ast.Name):
                    raise self.error("only a plain name can be assigned", target)
                name = target.id
                left = self.lookup(target, env)
                right = self.expression(stmt.value, env)
                node = self.apply(stmt, _BINOPS[type(stmt.op)], (left, right), (target, stmt.value))
                node.label = name
            elif isinstance(stmt, ast.Expr):
                name = ""
                node = self.expression(stmt.value, env)
                if index < len(module.body) - 1:
                    self.warnings.append(
                        f"line {stmt.lineno}: the value of {clip(self.text(stmt.value))} "
                        "is not used"
                    )
            else:  # validate() refused it; never trust that
                raise self.error("only assignments and expressions are allowed", stmt)
            if name:
                env[name] = node
                bindings.append((name, node, stmt.lineno))
            output = node
        if output is None:  # e.g. only comments after a line continuation
            raise self.error("the program is empty", hint='e.g. stepgrad "x*x + 1" x=3')
        for name, value in self.values.items():
            if name not in self.used:
                self.warnings.append(
                    f"{clip(name)}={format_number(value)} is not used by the program; "
                    f"{clip(name)} stays an input with grad 0"
                )
                self.input_nodes.append(Value(value, name))
        if not output.requires_grad:
            self.warnings.append("the output does not depend on any input: no gradient flows")
        told = _tell_apart(self.given + bindings)[len(self.given) :]
        inputs = {node.label or "": node for node in self.input_nodes}
        program = Program(self.source, output, inputs, env, self.spans, self.warnings)
        program.bindings = told
        program.given = {node: name for name, node, _line in self.given}
        counts: dict[str, int] = {}  # the k-th assignment to each name, as a reader counts
        for index, stmt in enumerate(module.body):
            if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
                name = stmt.targets[0].id
                k = counts[name] = counts.get(name, -1) + 1
                if index in self.statement_values:
                    program.assignment_keys[(name, k)] = self.statement_values[index][0]
        program.constants_used = list(dict.fromkeys(self.constants))
        program.marks = dict(self.marks)
        return program

    def lookup(self, node: ast.Name, env: dict[str, Value]) -> Value:
        name = node.id
        if name in env:
            return env[name]
        if name in self.values:  # a free name given on the command line: one shared input
            if name in CONSTANTS and name not in self.assigned:  # pi=3: said, unless the
                # program assigns pi: then pi is no constant anywhere in it (as q=3 is read)
                self.warnings.append(
                    f"{name}={format_number(self.values[name])} replaces the constant {name} "
                    f"({format_number(CONSTANTS[name])}): here {name} is an input"
                )
            value = Value(self.values[name], name)
            self.spans[value] = self.span(node)
            env[name] = value
            self.input_nodes.append(value)
            self.given.append((name, value, node.lineno))
            return value
        constant = Value.constant(CONSTANTS[name], name)
        self.spans[constant] = self.span(node)
        self.constants.append(name)
        return constant

    def expression(self, expr: ast.expr, env: dict[str, Value]) -> Value:
        """Evaluate a validated expression without recursion (any depth ast accepts)."""
        results: list[Value] = []
        stack: list[tuple[ast.expr, bool]] = [(expr, False)]
        for _ in iter(stack.__len__, 0):  # ``while stack:``, specialised from the first call
            node, ready = stack.pop()
            if isinstance(node, ast.Name):
                results.append(self.lookup(node, env))
            elif isinstance(node, ast.Constant):
                value = Value.constant(float(node.value))  # type: ignore[arg-type]
                self.spans[value] = self.span(node)
                results.append(value)
            elif (
                isinstance(node, ast.UnaryOp)
                and isinstance(node.op, ast.USub)
                and isinstance(node.operand, ast.Constant)
            ):  # -2 is one constant (as Python folds it), not minus the constant 2
                value = Value.constant(-float(node.operand.value))  # type: ignore[arg-type]
                self.spans[value] = self.span(node)
                results.append(value)
            elif not ready:
                stack.append((node, True))
                if isinstance(node, ast.BinOp):
                    stack += [(node.right, False), (node.left, False)]
                elif isinstance(node, ast.UnaryOp):
                    stack.append((node.operand, False))
                elif isinstance(node, ast.Call) and len(node.args) == 1:
                    stack.append((node.args[0], False))
                else:  # validate() refused anything else; never trust that with user text
                    raise self.error("this syntax is not supported", node)
            elif isinstance(node, ast.BinOp):
                right, left = results.pop(), results.pop()
                operands = (node.left, node.right)
                results.append(self.apply(node, _BINOPS[type(node.op)], (left, right), operands))
            elif isinstance(node, ast.UnaryOp):
                operand = results.pop()
                if isinstance(node.op, ast.USub):
                    operand = self.apply(node, "neg", (operand,), (node.operand,))
                results.append(operand)
            else:
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                    raise self.error("this syntax is not supported", node)
                operand = results.pop()
                results.append(self.apply(node, node.func.id, (operand,), (node.args[0],)))
        return results[0]

    def apply(
        self, node: ast.AST, op: str, operands: tuple[Value, ...], written: tuple[ast.AST, ...]
    ) -> Value:
        """Make one op node; a domain error names the subexpression and its operands' values."""
        try:
            result = operands[0]._apply(OPS[op], *operands)
        except DomainError as err:
            shown = []
            for operand, value in zip(written, operands, strict=True):
                text = self.text(operand)
                if text != format_number(value.data):
                    shown.append(f"{clip(text)} = {format_number(value.data)}")
            where = f" ({', '.join(shown)})" if shown else ""
            raise self.error(f"{clip(self.text(node))}: {err.reason}{where}", node) from None
        self.spans[result] = self.span(node)
        return result
