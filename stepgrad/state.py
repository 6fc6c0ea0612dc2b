"""Where the walkthrough of the backward pass stands, as plain Python (no Textual).

The trace of a pass is computed once, when the pass begins; after that the state is just
``(pass number, step index, cleared?)`` plus the grads the pass started from. Every widget renders
from :class:`Walkthrough`, and so do the tests, which check it against the engine.

The single rule: the grads shown at step ``k`` of pass ``n`` are the grads the pass started from
(those at the end of pass ``n - 1``, or 0 after ``zero_grad``, or "not computed" before any pass)
plus the contributions of steps ``1..k`` of pass ``n``. Step 0 is "nothing fired yet", step ``N``
is "pass done". Stepping back moves the index; no arithmetic is ever undone.

Engine detail: ``program.backward(trace=True)`` adds the whole pass to every ``.grad`` at once,
so the display never reads ``.grad`` mid-pass; it reads the trace, whose edges carry the parent's
grad before and after each ``+=`` (including the grads the pass started from).
"""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Callable
from typing import Literal

from engine import Step, Trace, Value
from engine.parse import Program, ProgramError, read_name

__all__ = ["Pass", "Status", "Walkthrough", "editable_source"]

Status = Literal["not started", "ready", "in progress", "done", "zeroed"]


class Pass:
    """One backward pass, recorded up front.

    Attributes:
        number: 1 for the first pass since the program was loaded.
        trace: every step of the pass.
        base: each node's grad when the pass began; a node missing here had no grad yet (``—``).
        accumulates: the pass adds to a previous pass's grads (no ``zero_grad`` in between).
        zeroed: ``zero_grad`` was called right before this pass.
        stack: how many passes' grads the grads hold at the end of this one (2 after ``b``).
        serial: unique to this pass object, for caches keyed by state.
    """

    # a plain class, not a dataclass: making one runs generated code through exec, a third of
    # a millisecond of the app's start each
    __slots__ = ("accumulates", "base", "number", "serial", "stack", "trace", "zeroed")

    def __init__(
        self,
        number: int,
        trace: Trace,
        base: dict[Value, float],
        accumulates: bool,
        zeroed: bool,
        stack: int,
    ) -> None:
        self.number = number
        self.trace = trace
        self.base = base
        self.accumulates = accumulates
        self.zeroed = zeroed
        self.stack = stack
        self.serial = next(_SERIALS)

    def __repr__(self) -> str:
        return f"Pass(number={self.number}, stack={self.stack}, serial={self.serial})"


_SERIALS = itertools.count()


class StepCursor:
    """Moving through steps 0 to ``total`` one at a time or to either end, each move done by
    ``go`` (which clamps and says whether anything changed); shared by the backward pass's
    :class:`Walkthrough` and the forward pass's :class:`~stepgrad.forward.ForwardWalk`."""

    step: int

    @property
    def total(self) -> int:  # pragma: no cover - overridden
        raise NotImplementedError

    def go(self, step: int) -> bool:  # pragma: no cover - overridden
        raise NotImplementedError

    def next(self) -> bool:
        return self.go(self.step + 1)

    def prev(self) -> bool:
        return self.go(self.step - 1)

    def home(self) -> bool:
        return self.go(0)

    def end(self) -> bool:
        return self.go(self.total)


class Walkthrough(StepCursor):
    """The walkthrough of a program's backward passes: the app's single source of truth.

    Actions (:meth:`next`, :meth:`prev`, :meth:`home`, :meth:`end`, :meth:`zero_grad`,
    :meth:`backward_again`) return True if they changed something; :meth:`can` says whether an
    action is possible now, for greying out keys.
    """

    exact_multiples = True
    """Every pass adds the same grads, so N passes without ``zero_grad`` end at exactly N times
    one pass's grads (not so in a bug mode: see :class:`stepgrad.lesson.bugs.BugWalkthrough`)."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self.nodes: list[Value] = program.nodes()
        self.dead: list[Value] = [v for v in self.nodes if not program.reaches_output(v)]
        """Values the output does not use (a named value left over, an unused input): no grad
        ever reaches them, so they show 0 from the start."""
        self.step = 0
        self.cleared = False  # zero_grad after the pass began: every grad 0, the pass is over
        self.note = ""  # one line about the last thing that happened, for the panel
        self.pass_ = self._begin(1, {}, accumulates=False, zeroed=False, stack=1)
        self._cache: tuple[tuple[Pass, int, bool], dict[Value, float]] | None = None
        self.memo: dict[tuple[object, ...], object] = {}  # facts derived on demand, by key

    # --- reading ---------------------------------------------------------------------------------

    @property
    def trace(self) -> Trace:
        return self.pass_.trace

    @property
    def total(self) -> int:
        """N: the number of steps of the current pass."""
        return len(self.pass_.trace.steps)

    @property
    def key(self) -> tuple[int, int, bool]:
        """What the screen depends on: (pass number, step, cleared)."""
        return (self.pass_.number, self.step, self.cleared)

    @property
    def status(self) -> Status:
        if self.cleared:
            return "zeroed"
        if self.step >= self.total:
            return "done"
        if self.step == 0:
            return "not started" if self.pass_.number == 1 and not self.pass_.zeroed else "ready"
        return "in progress"

    @property
    def current(self) -> Step | None:
        """The step that fired last (step ``k`` fires ``trace.steps[k - 1]``), or None."""
        if self.cleared or self.step == 0:
            return None
        return self.trace.steps[self.step - 1]

    @property
    def finished(self) -> bool:
        """No step left in this pass (done, or abandoned by ``zero_grad``)."""
        return self.cleared or self.step >= self.total

    def grads(self) -> dict[Value, float]:
        """Every grad shown now; a node missing from the dict shows ``—`` (not computed)."""
        key = (self.pass_, self.step, self.cleared)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        if self.cleared:
            grads = {node: 0.0 for node in self.nodes}
        else:
            grads = dict(self.pass_.base)
            root = self.trace.root
            if self.step >= 1 or self.total == 0:  # the output's seed, d out/d out = 1
                grads[root] = grads.get(root, 0.0) + self.trace.grads.get(root, 1.0)
            for step in self.trace.steps[: self.step]:
                for edge in step.edges:
                    grads[edge.parent] = edge.grad_after
            for node in self.dead:
                grads[node] = 0.0
        self._cache = (key, grads)
        return grads

    def grad(self, node: Value) -> float | None:
        """The grad shown for ``node`` now, or None for ``—``."""
        return self.grads().get(node)

    def fired(self) -> set[Value]:
        """The nodes that have fired so far in this pass."""
        if self.cleared:
            return set()
        return {step.node for step in self.trace.steps[: self.step]}

    def can(self, action: str) -> bool:
        """Whether ``action`` (``next``, ``prev``, ``home``, ``end``, ``backward``, ``zero``,
        ``play``) would do something now."""
        if action in ("next", "end", "play"):
            return not self.finished
        if action in ("prev", "home"):
            return not self.cleared and self.step > 0
        if action == "backward":
            return self.finished
        if action == "zero":
            return True
        return False

    # --- moving ----------------------------------------------------------------------------------

    def go(self, step: int) -> bool:
        """Jump to step ``step`` (clamped to 0..N) of this pass."""
        if self.cleared:
            return False
        step = max(0, min(step, self.total))
        changed = step != self.step
        self.step = step
        if changed:
            self.note = ""
        return changed

    def zero_grad(self) -> bool:
        """``program.zero_grad()``: every grad becomes 0.

        At step 0 the pass is simply rebased on zeros; once it has begun, it is over: the grads
        show 0 and ``b`` starts the next pass from them.
        """
        self.program.zero_grad()
        zeros = {node: 0.0 for node in self.nodes}
        if self.step == 0 and self.total and not self.cleared:  # a pass of no steps is over
            try:
                self.pass_ = self._begin(
                    self.pass_.number, zeros, accumulates=False, zeroed=True, stack=1
                )
            except ProgramError:  # cannot happen for a pass that ran once; stay consistent
                self.program.zero_grad()
                self.cleared = True
        else:
            self.cleared = True
        self.note = "zero_grad: all grads set to 0; the next pass starts clean."
        return True

    def backward_again(self) -> bool:
        """``b``: start another pass on top of the current grads (or on zeros after zero_grad).

        Raises ProgramError (and changes nothing) if the new grads would not be finite.
        """
        if not self.finished:
            return False
        if self.cleared:
            base = {node: 0.0 for node in self.nodes}
            new = self._begin(self.pass_.number + 1, base, accumulates=False, zeroed=True, stack=1)
            self.note = "zero_grad was called: this pass starts from 0."
        else:
            base = dict(self.grads())
            new = self._begin(
                self.pass_.number + 1,
                base,
                accumulates=True,
                zeroed=False,
                stack=self.pass_.stack + 1,
            )
            end = (
                f"so at its end every grad is exactly {new.stack}x one pass's grad."
                if self.exact_multiples
                else f"(correct passes would end at exactly {new.stack}x one pass's grads)."
            )
            self.note = (
                f"No zero_grad: pass {new.number} adds to the grads of pass {new.number - 1}, "
                + end
            )
        self.pass_ = new
        self.step = 0
        self.cleared = False
        return True

    def _begin(
        self, number: int, base: dict[Value, float], *, accumulates: bool, zeroed: bool, stack: int
    ) -> Pass:
        trace = self.program.backward(trace=True)  # adds the whole pass to every .grad now
        assert trace is not None
        return Pass(number, trace, base, accumulates, zeroed, stack)


# --- helpers for the editor, the tests, benchmarks and screenshots ------------------------

_STATEMENT = re.compile(r"\s*([^\W\d][^\s=]*)\s*=(?!=)")
"""The start of an assignment ``name =``; the name is checked with
:func:`engine.parse.read_name` (a name in any script: ``変数 = 3``, ``x́ = 2``)."""


_MARKED = re.compile(r"\s*(param|fixed)\s*\((.*)\)\s*\Z", re.S)
"""``param(0.5)`` / ``fixed(1.5)``: an input marked for training (see engine.parse.MARKS)."""


def _number(x: float) -> str:
    """The shortest text that reads back as exactly ``x``: ``8``, ``0.1``, ``1e-08``."""
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text


def _constant(text: str) -> bool:
    """Whether ``text`` is an expression of numbers only (what the parser treats as an input)."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        return False
    allowed = (ast.Expression, ast.Constant, ast.UnaryOp, ast.BinOp, ast.operator, ast.unaryop)
    return all(isinstance(node, allowed) for node in ast.walk(tree))


def editable_source(
    program: Program,
    values: dict[str, float] | None = None,
    *,
    free: bool = True,
    number: Callable[[float], str] | None = None,
) -> str:
    """The program's own lines for the editor, with the command-line values written in.

    ``stepgrad "(x*x + 1)/(y*y - 1)" x=8 y=3`` edits as ``x = 8``, ``y = 3``, then the program:
    a value for a name the program assigns a number to rewrites that statement (the rest of the
    line, comments included, stays), a value for a free name becomes a ``name = value`` line in
    front (unless ``free`` is False: the header shows the program as typed, with the values
    it assigns kept current). Nothing else is touched, so line numbers in errors match what the
    user sees. Numbers are written exactly (``number``: how to write them instead; the header
    rounds them as every value on screen is).
    """
    write = number or _number
    remaining = dict(values or {})
    # a reassigned name's inputs go by their display names (a = 1; a = 2: a₁ and a₂): the
    # k-th assignment to a name is its k-th binding
    displays: dict[str, list[str]] = {}
    for binding in program.bindings:
        displays.setdefault(binding.name, []).append(binding.display)
    seen: dict[str, int] = {}
    lines = program.source.split("\n")
    for i, line in enumerate(lines):
        if not remaining:
            break
        code, hash_, comment = line.partition("#")
        statements = code.split(";")
        changed = False
        for j, statement in enumerate(statements):
            match = _STATEMENT.match(statement)
            key = read_name(match.group(1)) if match else None
            if key is None:
                continue
            k = seen[key] = seen.get(key, -1) + 1
            bound = displays.get(key, [])
            display = bound[k] if k < len(bound) else key
            set_by = program.assignment_keys.get((key, k))
            if display in remaining:  # x₁, x₂: a value by the name shown (after u, a nudge)
                key = display
            elif set_by in remaining:  # the value the parser gave this statement (x=5)
                key = set_by
            elif display != key or key not in remaining:
                continue  # q = 3 after a q the program reads first: q=1.5 set that one
            written = statement[match.end() :]
            marked = _MARKED.match(written)  # w = param(0.5) keeps its mark: w = param(0.7)
            if not _constant(marked.group(2) if marked else written):
                continue
            name = match.group(1)
            indent = statement[: len(statement) - len(statement.lstrip())]
            trailing = statement[len(statement.rstrip()) :] if j < len(statements) - 1 else ""
            number = write(remaining.pop(key))
            value = f"{marked.group(1)}({number})" if marked else number
            statements[j] = f"{indent}{name} = {value}{trailing}"
            changed = True
        if changed:
            code = ";".join(statements)
            lines[i] = f"{code.rstrip()}  {hash_}{comment}" if hash_ else code
    front = [f"{name} = {write(value)}" for name, value in remaining.items()] if free else []
    return "\n".join(front + lines)
