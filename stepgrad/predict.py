"""Predict mode, without the UI: read a typed answer, judge it, and explain the step.

Before step ``k + 1`` fires, the student types the grad each parent will hold after it; the app
checks each answer, shows the working and keeps a :class:`Score`. Everything here is plain Python
(no Textual), so :mod:`stepgrad.screens.predict` only shows it and the tests check it alone.

Decisions:

- **Answers** (:func:`read_answer`) are numbers, fractions and small arithmetic (``-65/64``,
  ``2*3``, ``1e-3``, ``-(1/8)``, ``pi/4``), parsed with :mod:`ast` against a whitelist and
  computed in floats by a tiny evaluator: user text is never run. Anything else raises a
  ``ValueError`` whose message is meant to be shown as it is.
- **Right** (:func:`is_right`) means *agrees with the expected value to 3 significant digits*:
  within half a unit of the expected value's 3rd significant digit (so ``-1.02`` and ``-1.016``
  are right for ``-1.015625``, ``-1.01`` and ``-1`` are not), or within ``1e-6`` of it, for
  grads at or near 0 (``0`` is right for a saturated ``1 - tanh(10)**2 ≈ 8e-9``). A plain
  relative 1e-3 would reject ``-1.02`` (off by 0.43%), a fair 3-digit answer, while accepting
  ``-6.09`` for ``-6.09375``: how many digits count should not depend on the leading digit.
- **One question per distinct parent**: for ``x * x`` the step sends two contributions to
  ``x``; the question is ``x``'s grad after *both* (the number the graph shows once the step is
  revealed), and the working shows each edge in turn. Asking per edge would ask twice about one
  grad, once for an intermediate value the graph never shows.
- **Example numbers** in the dialog and its messages (:class:`Hints`) are chosen per step
  (:func:`hints_for`): none of them is right, to the 3 significant digits that score an answer,
  for any answer of the step on screen, nor equal to a number of its working (a local
  derivative, a contribution): a hint never gives an answer away.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from engine import Step, Value
from engine.numbers import format_number, worked
from stepgrad.explain import called, partial
from stepgrad.state import Walkthrough

__all__ = [
    "ABSOLUTE_TOLERANCE",
    "MAX_ANSWER",
    "SIGNIFICANT_DIGITS",
    "Answer",
    "DEFAULT_HINTS",
    "EdgeWork",
    "Hints",
    "PredictResult",
    "Prediction",
    "Question",
    "Score",
    "exact",
    "hints_for",
    "is_right",
    "prediction_for",
    "questions_for",
    "read_answer",
    "tolerance",
]

MAX_ANSWER = 100
"""The longest answer read, in characters (after trimming spaces)."""
SIGNIFICANT_DIGITS = 3
"""An answer is right if it agrees with the expected grad to this many significant digits."""
ABSOLUTE_TOLERANCE = 1e-6
"""...or is this close to it: grads at (or within rounding noise of) 0 need an absolute rule."""

_CONSTANTS: dict[str, float] = {"pi": math.pi, "π": math.pi, "e": math.e}
# symbols a student may paste from a textbook or a phone keyboard
_SYMBOLS = str.maketrans({"−": "-", "–": "-", "×": "*", "·": "*", "÷": "/", "⁄": "/"})


# --- example numbers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Hints:
    """The example answers shown in the dialog and its messages (see :func:`hints_for`).

    Attributes:
        decimal: ``0.375``; fraction: ``3/4``; negative: ``-7/4``; product: ``2*3``;
        power: ``2**3``.
    """

    decimal: str
    fraction: str
    negative: str
    product: str
    power: str

    @property
    def all(self) -> tuple[str, ...]:
        """Every example, as written."""
        return (self.decimal, self.fraction, self.negative, self.product, self.power)

    @property
    def percent(self) -> str:
        """The decimal as a percentage (``37.5%``), for the message about ``%``."""
        return f"{read_answer(self.decimal) * 100:g}%"

    @property
    def forms(self) -> str:
        """``e.g. 0.375, 3/4 or -7/4``."""
        return f"e.g. {self.decimal}, {self.fraction} or {self.negative}"


_CANDIDATES: dict[str, tuple[str, ...]] = {
    # more candidates than a step can rule out: a step asks about at most a few parents, and
    # each number rules out at most one candidate of a kind (they are far apart)
    "decimal": ("0.375", "2.5", "0.75", "4.5", "0.2", "1.25", "3.5", "0.6"),
    "fraction": ("3/4", "2/3", "5/2", "1/3", "7/4", "3/8", "9/4", "5/6"),
    "negative": ("-7/4", "-5/3", "-3/8", "-9/2", "-4/3", "-5/8", "-11/4", "-7/6"),
    "product": ("2*3", "3*5", "4*7", "2*9", "3*11", "5*7", "2*13", "6*7"),
    "power": ("2**3", "3**2", "2**5", "5**2", "3**3", "2**7", "7**2", "4**3"),
}


def hints_for(numbers: Sequence[float]) -> Hints:
    """Example answers none of which is right (:func:`is_right`) for any of ``numbers``: the
    first candidate of each kind that is clear of all of them."""

    def pick(kind: str) -> str:
        candidates = _CANDIDATES[kind]
        for candidate in candidates:
            value = read_answer(candidate)
            if not any(is_right(value, x) for x in numbers):
                return candidate
        return candidates[-1]  # unreachable for a step's few numbers; see _CANDIDATES

    return Hints(
        pick("decimal"), pick("fraction"), pick("negative"), pick("product"), pick("power")
    )


# --- reading an answer --------------------------------------------------------------------------


def read_answer(text: str, hints: Hints | None = None) -> float:
    """The number ``text`` stands for: ``0.125``, ``-65/64``, ``2*3``, ``1e-3``, ``-(1/8)``...

    Accepted: int and float literals, ``pi`` (or ``π``) and ``e``, unary ``+``/``-``, binary
    ``+ - * / **`` and parentheses; ``−``, ``×``, ``·`` and ``÷`` are read as ``- * * /``.
    Raises ValueError with a message fit to show the user for anything else: empty text, names,
    calls, strings, division by zero, a result that is too large (``9**9**9`` fails at once: every
    step is a float operation) or not a real number (``(-8)**(1/3)``). Its example numbers are
    ``hints`` (the step's, so they give no answer away; default :data:`DEFAULT_HINTS`).
    """
    stripped = text.strip()
    if not stripped:
        raise ValueError(f"type a number, {(hints or DEFAULT_HINTS).forms}")
    if len(stripped) > MAX_ANSWER:
        raise ValueError(f"too long: an answer has at most {MAX_ANSWER} characters")
    source = stripped.translate(_SYMBOLS)
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # ValueError: NUL bytes
        raise ValueError(_not_a_number(stripped, hints)) from None
    return _Evaluator(stripped, hints).value(tree.body)


def _quote(text: str) -> str:
    return repr(text if len(text) <= 30 else text[:29] + "…")


def _not_a_number(text: str, hints: Hints | None) -> str:
    hints = hints or DEFAULT_HINTS
    message = f"not a number: {_quote(text)}"
    if "^" in text:
        return f"{message} (use ** for powers: {hints.power})"
    if "," in text:
        return f"{message} (use a point for decimals: {hints.decimal})"
    if "%" in text:
        return f"{message} (no percent: type {hints.percent} as {hints.decimal})"
    return message


class _Evaluator:
    """Computes a parsed answer in floats, one whitelisted node at a time."""

    def __init__(self, text: str, hints: Hints | None) -> None:
        self.text = text
        self.hints = hints

    def value(self, node: ast.expr) -> float:
        result = self._value(node)
        if result == 0:
            result = 0.0  # -0.0 reads as 0
        return result

    def _value(self, node: ast.expr) -> float:
        if isinstance(node, ast.Constant):
            number = node.value
            if isinstance(number, bool) or not isinstance(number, (int, float)):
                raise ValueError(_not_a_number(self.text, self.hints))
            try:
                return self._finite(float(number))
            except OverflowError:
                raise self._too_large() from None
        if isinstance(node, ast.Name):
            if node.id in _CONSTANTS:
                return _CONSTANTS[node.id]
            raise ValueError(
                f"{_not_a_number(self.text, self.hints)} "
                "(type its value; the only names known are pi and e)"
            )
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
            operand = self._value(node.operand)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp) and isinstance(
            node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
        ):
            return self._binop(node.op, self._value(node.left), self._value(node.right))
        raise ValueError(_not_a_number(self.text, self.hints))

    def _binop(self, op: ast.operator, a: float, b: float) -> float:
        try:
            if isinstance(op, ast.Add):
                result = a + b
            elif isinstance(op, ast.Sub):
                result = a - b
            elif isinstance(op, ast.Mult):
                result = a * b
            elif isinstance(op, ast.Div):
                result = a / b
            elif a == 0 and b < 0:
                raise ZeroDivisionError
            else:
                result = math.pow(a, b)  # a float operation: 9**9**9 overflows, never hangs
        except ZeroDivisionError:
            raise ValueError(f"division by zero in {_quote(self.text)}") from None
        except OverflowError:
            raise self._too_large() from None
        except ValueError:  # math.pow of a negative number to a fractional power
            raise ValueError(f"not a real number: {_quote(self.text)}") from None
        return self._finite(result)

    def _finite(self, x: float) -> float:
        if not math.isfinite(x):  # a float product or sum overflows to inf silently
            raise self._too_large()
        return x

    def _too_large(self) -> ValueError:
        return ValueError(f"too large: {_quote(self.text)}")


# --- judging an answer --------------------------------------------------------------------------


def tolerance(expected: float) -> float:
    """How far an answer may be from ``expected`` and still be right.

    Half a unit of the expected value's 3rd significant digit (0.005 for -1.015625, 0.0005 for
    0.125, 50 for 12345), but never less than :data:`ABSOLUTE_TOLERANCE`. A tiny slack keeps an
    answer exactly half a unit away (1.13 for 1.125) right despite binary rounding.
    """
    if expected == 0 or not math.isfinite(expected):
        return ABSOLUTE_TOLERANCE
    exponent = math.floor(math.log10(abs(expected)))
    half_unit = 0.5 * 10.0 ** (exponent - SIGNIFICANT_DIGITS + 1)
    return max(ABSOLUTE_TOLERANCE, half_unit * (1 + 1e-9))


def is_right(answer: float, expected: float) -> bool:
    """Whether ``answer`` agrees with ``expected`` to 3 significant digits (or within 1e-6).

    ``-6.09`` and ``-6.094`` are right for ``-6.09375``, ``-6.1`` is not; ``-1.02`` is right for
    ``-1.015625``, ``-1.01`` is not; ``0`` is right for ``1e-9``.
    """
    if not (math.isfinite(answer) and math.isfinite(expected)):
        return answer == expected
    return abs(answer - expected) <= tolerance(expected)


def exact(x: float) -> str:
    """``x`` for the reveal: exact when it is short (``-1.015625``), else 6 significant digits."""
    text = format_number(x, 10)
    return text if len(text.lstrip("-")) <= 10 else format_number(x)


# --- the questions of a step --------------------------------------------------------------------


@dataclass(frozen=True)
class EdgeWork:
    """The working of one edge of the step: what it sends and how the parent's grad changes.

    Attributes:
        via: which input of the op the parent is, counted from 1 (``x * x`` has inputs 1 and 2).
        local_text: ``∂r/∂b = -a/b**2 = -65/8**2 = -1.015625``: over names, over values, and
            its value (a step that repeats the one before is left out: ``∂a/∂(x*x) = 1``).
        local: the local derivative's value.
        upstream: d output / d firing node.
        contribution: ``upstream * local``.
        before: the parent's grad just before this edge adds to it; None if it had none (``—``).
        after: its grad after.
    """

    via: int
    local_text: str
    local: float
    upstream: float
    contribution: float
    before: float | None
    after: float

    def lines(self) -> list[str]:
        """``local``, ``upstream × local = contribution``, ``before + contribution = after``."""
        n = exact
        if self.before is None:
            grad = f"grad — → {n(self.after)} (its first contribution)"
        else:
            before, contribution, after = worked(self.before, "+", self.contribution, self.after, n)
            grad = f"grad {before} + {contribution} = {after}"
        return [
            self.local_text,
            "upstream × local = {} × {} = {}".format(
                *worked(self.upstream, "×", self.local, self.contribution, n)
            ),
            grad,
        ]


@dataclass(frozen=True)
class Question:
    """ "What is the grad of ``b`` after this step?", with the answer and its working.

    Attributes:
        parent: the node asked about.
        name: how the app calls it (``b``, ``x*x``).
        expected: its grad once the step has fired (after all of this step's edges to it).
        before: its grad shown before the step, or None for ``—``.
        edges: the working, one entry per edge of the step into ``parent`` (two for ``x * x``).
    """

    parent: Value
    name: str
    expected: float
    before: float | None
    edges: tuple[EdgeWork, ...]

    @property
    def prompt(self) -> str:
        """``grad of b after this step`` (the screen adds what the grad is now)."""
        return f"grad of {self.name} after this step"

    @property
    def now(self) -> str:
        """The grad shown before the step: ``—`` or a number."""
        return "—" if self.before is None else format_number(self.before)

    def working(self) -> list[str]:
        """Every edge's working, labelled by input when the parent receives more than once."""
        lines: list[str] = []
        for work in self.edges:
            if len(self.edges) > 1:
                lines.append(f"via input {work.via} of {len(self.edges)}:")
                lines += [f"  {line}" for line in work.lines()]
            else:
                lines += work.lines()
        return lines

    def check(self, text: str, hints: Hints | None = None) -> Answer:
        """Read and judge ``text``; raises ValueError (see :func:`read_answer`, whose messages
        use ``hints``) if unreadable."""
        value = read_answer(text, hints)
        return Answer(self, text.strip(), value, is_right(value, self.expected))


@dataclass(frozen=True)
class Prediction:
    """The step about to fire, and what to ask about it.

    Attributes:
        key: ``walk.key`` when asked (pass, step, cleared): the step asked about is step
            ``key[1] + 1``. The main screen can compare it before it reveals.
        number: that step's number, from 1; ``total``: the pass's number of steps.
        node: the node that fires; ``describe``: it as the app writes it (``r = a / b``).
        upstream: d output / d node; ``upstream_text``: ``∂r/∂a = 0.125``.
        values: the forward values a local derivative may need, by name: the node's inputs,
            then the node (``a = 65``, ``b = 8``, ``r = 8.125``); numbers written as such
            (the ``1`` of ``x*x + 1``) are left out. The graph shows them too, but the predict
            screen may cover it.
        questions: one per distinct parent that receives a gradient, in edge order.
    """

    key: tuple[int, int, bool]
    number: int
    total: int
    node: Value
    describe: str
    upstream: float
    upstream_text: str
    values: tuple[tuple[str, float], ...]
    questions: tuple[Question, ...]

    @property
    def hints(self) -> Hints:
        """Example answers for this step: none is right for any of its answers, nor equal to a
        number of their working (a local derivative, a contribution)."""
        numbers: list[float] = []
        for question in self.questions:
            numbers.append(question.expected)
            for work in question.edges:
                numbers += [work.local, work.contribution, work.after]
        return hints_for(numbers)

    @property
    def values_text(self) -> str:
        """``a = 65 · b = 8 · r = 8.125``."""
        return " · ".join(f"{name} = {format_number(value)}" for name, value in self.values)


def prediction_for(walk: Walkthrough) -> Prediction | None:
    """The step ``walk`` would fire next and its questions; None when no step is left."""
    if walk.finished:
        return None
    program = walk.program
    step: Step = walk.trace.steps[walk.step]
    shown = dict(walk.grads())  # what the screen shows now; a missing node shows —
    works: dict[Value, list[EdgeWork]] = {}
    befores: dict[Value, float | None] = {}
    for edge in step.edges:
        parent = edge.parent
        before = shown.get(parent)
        befores.setdefault(parent, before)
        parts = [
            partial(program, step.node, parent),
            program.derivative(step.node, edge.index),
            program.derivative(step.node, edge.index, numbers=True),
            exact(edge.local),
        ]
        local_text = " = ".join(p for i, p in enumerate(parts) if i == 0 or p != parts[i - 1])
        works.setdefault(parent, []).append(
            EdgeWork(
                edge.index + 1,
                local_text,
                edge.local,
                step.upstream,
                edge.contribution,
                before,
                edge.grad_after,
            )
        )
        shown[parent] = edge.grad_after
    questions = tuple(
        Question(parent, called(program, parent), shown[parent], befores[parent], tuple(work))
        for parent, work in works.items()
    )
    values: dict[str, float] = {}
    for node in (*step.node.parents, step.node):
        name = program.name(node)
        if name != format_number(node.data):
            values.setdefault(name, node.data)
    output = program.output
    return Prediction(
        key=walk.key,
        number=walk.step + 1,
        total=walk.total,
        node=step.node,
        describe=program.describe(step.node),
        upstream=step.upstream,
        upstream_text=f"{partial(program, output, step.node)} = {exact(step.upstream)}",
        values=tuple(values.items()),
        questions=questions,
    )


def questions_for(walk: Walkthrough) -> list[Question] | None:
    """The questions for the step ``walk`` would fire next; None when no step is left.

    An empty list means the step sends nothing (its inputs are constants): reveal it directly.
    """
    prediction = prediction_for(walk)
    return None if prediction is None else list(prediction.questions)


# --- answers and the score ----------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One checked answer: the text typed, the number it reads as, and whether it is right."""

    question: Question
    text: str
    value: float
    right: bool


@dataclass(frozen=True)
class PredictResult:
    """What the predict screen returns once the answers were checked (every answer counts).

    Attributes:
        key: the walkthrough's key when the questions were asked (see :class:`Prediction`).
        answers: one per question, in order.
    """

    key: tuple[int, int, bool]
    answers: tuple[Answer, ...]

    @property
    def right(self) -> int:
        return sum(answer.right for answer in self.answers)

    @property
    def asked(self) -> int:
        return len(self.answers)


@dataclass
class Score:
    """Right answers out of those asked, over a session of predict mode: ``score 3/4``."""

    right: int = 0
    asked: int = 0
    history: list[bool] = field(default_factory=list, repr=False)

    def add(self, right: bool) -> None:
        """Count one answer."""
        self.asked += 1
        self.right += bool(right)
        self.history.append(bool(right))

    def record(self, result: PredictResult | Sequence[Answer] | None) -> None:
        """Count every answer of a checked step; None (a skipped step) counts nothing."""
        if result is None:
            return
        answers = result.answers if isinstance(result, PredictResult) else result
        for answer in answers:
            self.add(answer.right)

    def reset(self) -> None:
        self.right = self.asked = 0
        self.history.clear()

    def after(self, result: PredictResult) -> Score:
        """A copy with ``result`` counted (to preview the score without changing this one)."""
        score = Score(self.right, self.asked, list(self.history))
        score.record(result)
        return score

    @property
    def text(self) -> str:
        """``score 3/4``."""
        return f"score {self.right}/{self.asked}"

    def __str__(self) -> str:
        return self.text


DEFAULT_HINTS = hints_for(())
"""The example answers when no step is asked about (the first candidate of each kind)."""
