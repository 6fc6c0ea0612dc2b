"""Bug modes: the backward pass with one of its rules broken, beside the correct pass.

The rules of the backward pass exist because breaking them gives wrong grads; a bug mode lets a
learner watch that happen, one step at a time, with the same records the correct pass makes
(:class:`engine.Trace` of :class:`engine.Step` of :class:`engine.Edge`), so the walkthrough, the
step panel, the narration, ``--print`` and ``--json`` show a buggy pass as they show a correct
one. Each buggy pass is its own plain loop here; the engine's backward pass is never touched.

- ``overwrite``: each edge *sets* ``parent.grad = contribution`` instead of adding it, so a value
  used more than once keeps only its last contribution (the lecture's bug: on the toy, ``x.grad``
  ends at 1 instead of 2). The nodes still fire in the right order.
- ``early``: a node fires the moment its first contribution arrives instead of waiting for every
  consumer. The firing is depth-first (the sender's remaining edges wait until that firing is
  done) and each node fires once: a contribution that arrives later is added to the node's grad
  but never travels further. A firing that is interrupted this way is recorded as several steps
  of the same node, one per run of edges it sends.
- ``micrograd``: every pass runs the way micrograd 0.1.0's ``backward()`` runs: the output's grad
  is *set* to 1, every other grad keeps its old value, and in reverse topological order each node
  adds ``local * its accumulated grad`` to its inputs. From zero grads that is one correct pass;
  a second call without ``zero_grad`` sends every old grad down again. micrograd builds ``a - b``
  as ``a + b*-1`` and ``a / b`` as ``a * b**-1``, and those hidden nodes keep old grads too, so
  this mode runs on the graph as micrograd builds it (:func:`micrograd_program`), numbers
  included: Python turns ``a - 1`` into ``a + -1`` and ``a / 4`` into ``a * 0.25`` before
  micrograd sees them. Its numbers are micrograd's up to the last bit or two: micrograd keeps a
  node's inputs in a ``set``, so the order in which it adds a grad's terms varies.

:class:`BugWalkthrough` is a :class:`~stepgrad.state.Walkthrough` whose passes are buggy; it
also keeps, for every pass, the grads the correct pass would have at its end, so every display
can mark what differs and show the correct value beside it.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Mapping
from typing import Any, NamedTuple, cast

from engine import OPS, Edge, Step, Trace, Value, nodes
from engine.numbers import format_number
from engine.parse import Program, ProgramError, parse
from stepgrad.explain import called, partial, wrapped
from stepgrad.state import Pass, Walkthrough

__all__ = [
    "BUGS",
    "Bug",
    "BugWalkthrough",
    "bug_for",
    "buggy_pass",
    "differs",
    "early_ready",
    "edge_note",
    "grad_text",
    "micrograd_program",
    "micrograd_rule",
    "narrate_bug",
    "passes",
    "reshaped",
    "resumed",
    "settled",
    "step_lines",
    "wrong",
]


class Bug(NamedTuple):
    """One broken rule.

    Attributes:
        name: ``overwrite``, ``early`` or ``micrograd``.
        summary: a few words for the palette, the top bar and ``--help``.
        rule: one sentence: which rule is broken and what it costs.
    """

    name: str
    summary: str
    rule: str


BUGS: dict[str, Bug] = {
    bug.name: bug
    for bug in (
        Bug(
            "overwrite",
            "each edge sets parent.grad = contribution instead of adding (+=)",
            "Rule broken: an edge must add its contribution to the parent's grad (+=); "
            "setting it (=) keeps only the last contribution, so a value used more than once "
            "loses every other path's share.",
        ),
        Bug(
            "early",
            "a node fires on its first contribution instead of waiting for every consumer",
            "Rule broken: a node may fire only after every node that uses it has sent its part; "
            "firing on the first one passes an incomplete grad on, and what arrives later "
            "never travels further.",
        ),
        Bug(
            "micrograd",
            "every backward() runs as micrograd 0.1.0's: the output's grad set to 1, old grads "
            "flow down again",
            "Rule broken: each pass must propagate only its own gradient and add it (as "
            "PyTorch does); micrograd 0.1.0's backward() sets only the output's grad to 1 and "
            "sends every other node's accumulated grad down again, so a second call without "
            "zero_grad can give grads that are not 2x one call's.",
        ),
    )
}
"""The bug modes, by name."""

CLOSE = 1e-9
"""Two grads differ when they differ relatively by more than this (and absolutely by more than
1e-12): beyond float rounding, which alone can tell two correct sums apart in the last bits."""


def differs(shown: float, correct: float) -> bool:
    """Whether ``shown`` differs from ``correct`` by more than float rounding."""
    return not math.isclose(shown, correct, rel_tol=CLOSE, abs_tol=1e-12)


# --- the buggy passes -------------------------------------------------------------------------


def _local(node: Value, index: int) -> float:
    """d node / d (its input ``index``), from the op table: the same float operations as the
    engine's pass, so the same number to the last bit."""
    op = OPS[node.op]
    constant = op.constants[index]
    if constant is not None:
        return constant
    return cast("float", op.derivatives[index](*(p.data for p in node.parents), node.data))


def _counts(root: Value) -> dict[Value, int]:
    """Each node's number of edges from consumers that send it a gradient (the counting pass)."""
    counts: dict[Value, int] = {}
    seen = {root}
    stack = [root]
    while stack:
        node = stack.pop()
        for parent in node.parents:
            if not parent.requires_grad:
                continue
            counts[parent] = counts.get(parent, 0) + 1
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return counts


def _edge(
    node: Value, index: int, local: float, upstream: float, before: float, after: float, left: int
) -> Edge:
    parent = node.parents[index]
    formula = OPS[node.op].formulas[index]
    return Edge(parent, index, local, formula, upstream * local, before, after, left)


def _overwrite(root: Value, base: Mapping[Value, float]) -> tuple[list[Step], dict[Value, float]]:
    """Kahn order, as the correct pass, but every edge sets ``parent.grad = contribution``."""
    pending = _counts(root)
    grad: dict[Value, float] = {root: 1.0}  # .grad as the buggy loop leaves it
    steps: list[Step] = []
    ready: deque[Value] = deque((root,) if root.parents else ())
    while ready:
        node = ready.popleft()
        upstream = grad[node]
        edges = []
        for index, parent in enumerate(node.parents):
            if not parent.requires_grad:
                continue
            local = _local(node, index)
            before = grad.get(parent, base.get(parent, 0.0))
            grad[parent] = upstream * local
            pending[parent] -= 1
            edges.append(_edge(node, index, local, upstream, before, grad[parent], pending[parent]))
            if pending[parent] == 0 and parent.parents:
                ready.append(parent)
        steps.append(Step(node, upstream, tuple(edges)))
    return steps, grad


def _early(root: Value, base: Mapping[Value, float]) -> tuple[list[Step], dict[Value, float]]:
    """Depth-first, each node firing once, on its first contribution (iterative: no recursion
    limit). A node whose firing is interrupted by a parent's firing goes on in a new step."""
    pending = _counts(root)
    own: dict[Value, float] = {root: 1.0}  # this pass's own gradient so far
    fired = {root}
    steps: list[Step] = []
    if not root.parents:
        return steps, own
    stack: list[list[Any]] = [[root, 0]]  # (node, next input to send to)
    segment: list[Edge] = []
    owner: Value | None = root  # the node whose run of edges ``segment`` records

    def close() -> None:
        nonlocal segment, owner
        if owner is not None:
            steps.append(Step(owner, own[owner], tuple(segment)))
        segment, owner = [], None

    while stack:
        frame = stack[-1]
        node, index = frame
        if index >= len(node.parents):
            stack.pop()
            if owner is node:
                close()
            continue
        frame[1] = index + 1
        parent = node.parents[index]
        if not parent.requires_grad:
            continue
        if owner is not node:  # back from a parent's firing: the rest is a new step
            close()
            owner = node
        local = _local(node, index)
        upstream = own[node]
        before = own.get(parent, 0.0)
        own[parent] = before + upstream * local
        pending[parent] -= 1
        start = base.get(parent, 0.0)
        segment.append(
            _edge(
                node, index, local, upstream, start + before, start + own[parent], pending[parent]
            )
        )
        if parent.parents and parent not in fired:  # fires at once, before node's next edge
            fired.add(parent)
            close()
            owner = parent
            stack.append([parent, 0])
    close()
    return steps, own


def _micrograd(root: Value, base: Mapping[Value, float]) -> tuple[list[Step], dict[Value, float]]:
    """micrograd 0.1.0's ``backward()`` from the grads ``base``: the output's grad set to 1, each
    node in reverse topological order adding ``local * its grad`` to its inputs' grads (the
    order and arithmetic of :func:`engine.micrograd.micrograd_backward`)."""
    pending = _counts(root)
    grad: dict[Value, float] = {root: 1.0}
    steps: list[Step] = []
    for node in reversed(nodes(root)):
        if not node.parents or (node is not root and node not in pending):
            continue  # a leaf, or a node no gradient reaches (computed from constants only)
        upstream = grad.get(node, base.get(node, 0.0))
        edges = []
        for index, parent in enumerate(node.parents):
            if not parent.requires_grad:
                continue
            local = _local(node, index)
            before = grad.get(parent, base.get(parent, 0.0))
            grad[parent] = before + local * upstream
            pending[parent] -= 1
            edges.append(_edge(node, index, local, upstream, before, grad[parent], pending[parent]))
        steps.append(Step(node, upstream, tuple(edges)))
    return steps, grad


_PASSES = {"overwrite": _overwrite, "early": _early, "micrograd": _micrograd}


def buggy_pass(root: Value, bug: str, base: Mapping[Value, float] | None = None) -> Trace:
    """One pass of the bug ``bug`` from ``root``, starting from the grads ``base`` (missing
    nodes: 0), recorded step by step. Changes no ``.grad``.

    Each edge's ``grad_before`` and ``grad_after`` are the parent's grad as the buggy code
    leaves it (``overwrite``: the contribution itself; ``early``: ``base`` plus this pass's
    contributions; ``micrograd``: the accumulated grad). ``grads`` holds the pass's own numbers
    for the output (1) and every node it reached, as the buggy code keeps them (only the
    output's is read: the grads shown come from the edges). Raises ProgramError if a grad is
    not finite.
    """
    steps, own = _PASSES[bug](root, base or {})
    if not all(math.isfinite(g) for g in own.values()):
        raise ProgramError(
            f"the grads of bug mode {bug} are not finite (they grew too large): "
            "zero_grad (z) or fewer passes"
        )
    grads = dict(own)
    grads[root] = 1.0
    return Trace(root, steps, grads)  # type: ignore[arg-type]  # a list of steps serves as Steps


def passes(program: Program, bug: str, count: int) -> list[Trace]:
    """``count`` buggy passes in a row without ``zero_grad``; sets every ``.grad`` of the program
    to what the buggy code leaves after the last one (nodes it never reached keep 0)."""
    traces: list[Trace] = []
    grads: dict[Value, float] = {}
    root = program.output
    for _ in range(count):
        trace = buggy_pass(root, bug, grads)
        traces.append(trace)
        grads = _ends(trace, grads, bug)
    program.zero_grad()
    for node, grad in grads.items():
        node.grad = grad
    return traces


def _ends(trace: Trace, base: Mapping[Value, float], bug: str) -> dict[Value, float]:
    """The grads after ``trace`` ran from ``base``: the same rule as the walkthrough's."""
    grads = dict(base)
    root = trace.root
    grads[root] = 1.0 if bug == "micrograd" else base.get(root, 0.0) + 1.0
    for step in trace.steps:
        for edge in step.edges:
            grads[edge.parent] = edge.grad_after
    return grads


# --- micrograd's graph --------------------------------------------------------------------------


def _number(node: Value) -> bool:
    """Whether ``node`` is a number in the program (a constant, or an op on constants only):
    Python computes it before micrograd sees it, so micrograd's graph has it as one number."""
    return not node.requires_grad


def _form(node: Value) -> str | None:
    """How micrograd builds ``node`` where that is not stepgrad's graph, in words (None: the
    same node)."""
    if _number(node):
        return None
    if node.op == "neg":
        return "-a as a*-1"
    if node.op == "-":
        a, b = node.parents
        if _number(b):  # Value.__sub__: a + (-2), and -2 is a number
            return "a - 2 as a + -2"
        return "2 - b as 2 + b*-1" if _number(a) else "a - b as a + b*-1"
    if node.op == "/":
        a, b = node.parents
        if _number(b):  # Value.__truediv__: a * 4**-1, and 4**-1 is a number
            return "a / 4 as a * 0.25"
        return "a / b as a * b**-1"
    if any(_number(p) and p.parents for p in node.parents):
        return "2*3 as 6 (numbers computed from numbers are numbers)"
    return None


HIDDEN = frozenset({"2 - b as 2 + b*-1", "a - b as a + b*-1", "a / b as a * b**-1"})
"""The forms of :func:`reshaped` that add a node stepgrad's graph does not have (``b*-1``,
``b**-1``): such hidden nodes keep old grads too."""


def reshaped(program: Program) -> list[str]:
    """How micrograd builds the ops of ``program`` it has no op for (``a - b as a + b*-1``...),
    and numbers it never sees as ops, for the forms the program uses; empty when micrograd
    builds the same graph. A form with a number says it with the program's own number (``a - 1
    as a + -1`` for ``y*y - 1``; a template's ``a - 2`` sent readers looking for a 2)."""
    first: dict[str, Value] = {}
    for node in nodes(program.output):
        form = _form(node)
        if form is not None:
            first.setdefault(form, node)
    return [_instance(form, first[form]) for form in _FORMS if form in first]


def _instance(form: str, node: Value) -> str:
    """``form`` with the number ``node`` has where the template writes 2 or 4."""
    a, b = (node.parents + (node, node))[:2]
    if form == "a - 2 as a + -2":
        return f"a - {format_number(b.data)} as a + {format_number(-b.data)}"
    if form == "2 - b as 2 + b*-1":
        number = format_number(a.data)
        return f"{number} - b as {number} + b*-1"
    if form == "a / 4 as a * 0.25":
        return f"a / {format_number(b.data)} as a * {format_number(b.data**-1)}"
    return form


def hides_nodes(form: str) -> bool:
    """Whether a form of :func:`reshaped` adds a node stepgrad's graph does not have (``b*-1``,
    ``b**-1``), which keeps old grads too (see :data:`HIDDEN`)."""
    return "b*-1" in form or "b**-1" in form


_FORMS = (
    "a - b as a + b*-1",
    "a - 2 as a + -2",
    "2 - b as 2 + b*-1",
    "-a as a*-1",
    "a / b as a * b**-1",
    "a / 4 as a * 0.25",
    "2*3 as 6 (numbers computed from numbers are numbers)",
)


def micrograd_program(program: Program) -> Program:
    """``program`` as micrograd 0.1.0 builds its graph (see :func:`reshaped`), parsed again: the
    same names, inputs and data, with micrograd's nodes. micrograd has no op for ``-``, ``neg``
    and ``/``: ``a - b`` is ``a + b*-1``, ``-a`` is ``a*-1``, ``a / b`` is ``a * b**-1``; where an
    operand is a number Python does that part itself (``a - 1`` is ``a + -1``, ``a / 4`` is
    ``a * 0.25``: no node for ``1*-1`` or ``4**-1``). The program itself when micrograd builds
    the same graph."""
    if not reshaped(program):
        return program
    from engine.source import to_source

    made: dict[Value, Value] = {}
    for node in nodes(program.output):
        if _number(node):
            copy = Value.constant(node.data, None if node.parents else node.label)
        elif not node.parents:
            copy = Value(node.data, node.label)
        else:
            args = [made[p] for p in node.parents]
            if node.op == "neg":
                copy = args[0] * Value.constant(-1.0)
            elif node.op == "-" and _number(node.parents[1]):
                copy = args[0] + Value.constant(-node.parents[1].data)
            elif node.op == "-":
                copy = args[0] + args[1] * Value.constant(-1.0)
            elif node.op == "/" and _number(node.parents[1]):
                copy = args[0] * Value.constant(node.parents[1].data ** -1)
            elif node.op == "/":
                copy = args[0] * args[1] ** Value.constant(-1.0)
            else:
                copy = args[0]._apply(OPS[node.op], *args)
            if node.label is not None:
                copy.label = node.label  # the composite's last node carries the name
        made[node] = copy
    return parse(to_source(made[program.output]))


def micrograd_rule(program: Program, calls: int = 2) -> str:
    """The ``micrograd`` rule, made true for ``program`` (in micrograd's shape): whether
    ``calls`` calls without ``zero_grad`` leave ``calls`` x one call's grads here, and where not,
    which (micrograd's output grad is set to 1 by every call: it is left out)."""
    root = program.output
    head = BUGS["micrograd"].rule.removesuffix(".")
    grads: dict[Value, float] = {}
    try:
        one = _ends(buggy_pass(root, "micrograd"), {}, "micrograd")  # from zeros: correct
        for _ in range(calls):
            grads = _ends(buggy_pass(root, "micrograd", grads), grads, "micrograd")
    except ProgramError:  # a grad past what a float holds: the pass itself will say so
        return f"{head}: here, after {calls} calls, the grads grow past what a float holds."
    name = program.name
    inner = [v for v in program.nodes() if v.parents and v is not root and v.requires_grad]
    inner.sort(key=lambda v: v.label is None)  # named values first, then the rest
    off = [
        v
        for v in [*program.inputs.values(), *inner]
        if v in one and differs(grads.get(v, 0.0), calls * one[v])
    ]
    if not off:
        return (
            f"{head}. Not here, as it happens: after {calls} calls every grad but "
            f"{name(root)}'s is exactly {calls}x one call's."
        )
    parts = [
        f"{wrapped(program, v)}.grad is {n(grads.get(v, 0.0))}, not {calls} × {n(one[v])}"
        for v in off[:2]
    ]
    more = f", and {len(off) - 2:,} more" if len(off) > 2 else ""
    return f"{head}: here, after {calls} calls, {'; '.join(parts)}{more}."


def bug_for(name: str, program: Program, calls: int = 2) -> Bug:
    """The bug ``name`` with its rule made true for ``program`` (see :func:`micrograd_rule`;
    ``calls``: the passes run, at least 2 are told)."""
    bug = BUGS[name]
    if name == "micrograd":
        bug = bug._replace(rule=micrograd_rule(program, max(2, calls)))
    return bug


# --- the walkthrough of buggy passes -----------------------------------------------------------


class BugWalkthrough(Walkthrough):
    """A :class:`~stepgrad.state.Walkthrough` whose passes run with the rule ``bug`` broken.

    Everything reads it as a walkthrough; :meth:`correct` gives, for the current pass, the
    grads the correct pass would have at its end (same passes, same ``zero_grad`` calls).
    ``program`` must already be in micrograd's shape for the ``micrograd`` bug (see
    :func:`micrograd_program`).
    """

    exact_multiples = False  # a broken rule: a second pass need not double the grads

    def __init__(self, program: Program, bug: str) -> None:
        self.bug = bug_for(bug, program)
        self._correct: dict[int, dict[Value, float]] = {}
        self._own: dict[int, Mapping[Value, float]] = {}
        super().__init__(program)

    def _begin(
        self, number: int, base: dict[Value, float], *, accumulates: bool, zeroed: bool, stack: int
    ) -> Pass:
        reference = self.program.backward(trace=True)  # the correct pass, for comparison
        assert reference is not None
        if accumulates:
            start = dict(self._correct.get(self.pass_.serial, {}))
        else:
            start = dict(base)
        trace = buggy_pass(self.program.output, self.bug.name, base)
        made = Pass(number, trace, base, accumulates, zeroed, stack)
        end = {node: 0.0 for node in self.dead}
        end.update(start)
        for node, grad in reference.grads.items():
            end[node] = start.get(node, 0.0) + grad
        self._correct[made.serial] = end
        self._own[made.serial] = reference.grads
        return made

    def grads(self) -> dict[Value, float]:
        grads = super().grads()
        if self.bug.name == "micrograd" and not self.cleared and (self.step or not self.total):
            grads[self.trace.root] = 1.0  # set, not added: micrograd's self.grad = 1
        return grads

    def correct(self) -> dict[Value, float]:
        """Each node's grad at the end of the correct version of this pass."""
        if self.cleared:
            return {node: 0.0 for node in self.nodes}
        return self._correct[self.pass_.serial]

    def ends(self) -> dict[Value, float]:
        """Every grad as the buggy code leaves it at the end of the current pass: what the
        screen shows once the pass is done (a nudge tests it at any step, as ``--nudge`` after
        ``--passes`` does)."""
        return _ends(self.trace, self.pass_.base, self.bug.name)

    def fresh_grads(self) -> dict[Value, float]:
        """The grads one buggy pass leaves from zero grads (the next pass after ``zero_grad``)."""
        return _ends(buggy_pass(self.trace.root, self.bug.name), {}, self.bug.name)

    def correct_own(self) -> Mapping[Value, float]:
        """The correct pass's own gradient of every node (one pass, what a nudge measures)."""
        return self._own[self.pass_.serial]


def settled(walk: Walkthrough) -> set[Value]:
    """The nodes whose grad is final for this pass at the current step: all at the end; before,
    the output, the nodes that fired, and inputs that have every contribution of the pass."""
    if walk.cleared:
        return set()
    if walk.finished:
        return set(walk.grads())
    done = {walk.trace.root} if walk.step else set()
    for step in walk.trace.steps[: walk.step]:
        done.add(step.node)
        for edge in step.edges:
            if not edge.parent.parents and edge.pending == 0:
                done.add(edge.parent)
    return done


def wrong(walk: Walkthrough) -> dict[Value, float]:
    """Every node whose grad shown now is final and differs from the correct pass: its correct
    value (empty outside a bug mode)."""
    if not isinstance(walk, BugWalkthrough):
        return {}
    key = ("wrong", walk.pass_.serial, walk.step, walk.cleared)
    cached = walk.memo.get(key)
    if cached is not None:
        return cast("dict[Value, float]", cached)
    shown = walk.grads()
    correct = walk.correct()
    final = settled(walk)
    out: dict[Value, float] = {}
    for node in walk.nodes:
        if node not in final:
            continue
        grad = shown.get(node)
        right = correct.get(node)
        if grad is not None and right is not None and differs(grad, right):
            out[node] = right
    walk.memo = {k: v for k, v in walk.memo.items() if k[0] != "wrong"}
    walk.memo[key] = out
    return out


# --- what each step did wrong, in words ---------------------------------------------------------


def n(x: float) -> str:
    return format_number(x)


def upstream(program: Program, step: Step, own: Mapping[Value, float] | None) -> tuple[str, str]:
    """How a step's heading names what the node sends down: ``(label, aside)``, the heading
    reading ``upstream {label} = {number}{aside}``.

    In a correct pass that is ``∂out/∂node``. In a bug mode it is the node's grad as the buggy
    code holds it; where that is not ``∂out/∂node`` (``own``: the correct pass's own grads),
    calling it so would be false: it is then ``node.grad``, with the true derivative beside it
    (``upstream B.grad = 8 (∂OUT/∂B is 15)``).
    """
    label = partial(program, program.output, step.node)
    correct = None if own is None else own.get(step.node)
    if correct is None or not differs(step.upstream, correct):
        return label, ""
    return f"{wrapped(program, step.node)}.grad", f" ({label} is {n(correct)})"


def _first_firing(walk: Walkthrough) -> dict[Value, int]:
    """Each node's first step (0-based) in this pass."""
    key = ("first firing", walk.pass_.serial)
    cached = walk.memo.get(key)
    if cached is None:
        first: dict[Value, int] = {}
        for k, step in enumerate(walk.trace.steps):
            first.setdefault(step.node, k)
        walk.memo[key] = cached = first
    return cast("dict[Value, int]", cached)


def resumed(walk: Walkthrough, k: int) -> bool:
    """Whether step ``k`` (0-based) is a node going on with its edges after an earlier step."""
    return _first_firing(walk).get(walk.trace.steps[k].node, k) < k


def early_ready(walk: Walkthrough) -> set[Value]:
    """In bug mode ``early``, the boxes that must read ``ready`` after the current step where the
    correct pass's marks would be false: a node that has its first contribution fires at once
    (not ``waits N``: the panel says "fires at once, N more to come"), and a node whose firing
    was interrupted goes on later (not ``✓``: its remaining edges are still to come). Empty
    outside bug mode ``early`` and at step 0."""
    if not isinstance(walk, BugWalkthrough) or walk.bug.name != "early" or walk.current is None:
        return set()
    steps = walk.trace.steps
    now = walk.step  # steps[:now] have fired; steps[now] is next
    first = _first_firing(walk)
    ready = {s.node for s in steps[:now] if s.node is not walk.current.node}
    ready &= {s.node for s in steps[now:]}  # fired, and goes on in a later step
    for step in steps[:now]:
        for edge in step.edges:
            parent = edge.parent
            if parent.parents and first.get(parent, -1) >= now:  # has a part, fires later
                ready.add(parent)
    return ready


def edge_note(walk: Walkthrough, k: int, e: int) -> str | None:
    """The step panel's "then" for edge ``e`` of step ``k`` (0-based) in bug mode, where it is
    not the correct pass's (None: the usual note is true)."""
    if not isinstance(walk, BugWalkthrough) or walk.bug.name != "early":
        return None
    edge = walk.trace.steps[k].edges[e]
    parent = edge.parent
    if not parent.parents:
        return None
    first = _first_firing(walk).get(parent)
    if first is not None and first > k:
        return f"fires at once, {edge.pending} more to come" if edge.pending else None
    return "fired already: not passed on"


def grad_text(walk: Walkthrough, edge: Edge, fresh: bool) -> tuple[str, str] | None:
    """The grad cell for ``edge`` in bug mode ``overwrite``: ``before → after`` and what ``+=``
    would have made (None where the usual cell is true)."""
    if not isinstance(walk, BugWalkthrough) or walk.bug.name != "overwrite" or fresh:
        return None
    return (
        f"{n(edge.grad_before)} → {n(edge.grad_after)}",
        f"= overwrote (+= gives {n(edge.grad_before + edge.contribution)})",
    )


def step_lines(walk: Walkthrough) -> list[str]:
    """What the step that just fired did wrong (or what it sets up), one short line each, for
    the step panel; empty outside a bug mode or where the step is as the correct pass's."""
    if not isinstance(walk, BugWalkthrough) or walk.current is None:
        return []
    k = walk.step - 1
    step = walk.trace.steps[k]
    program = walk.program

    def name(node: Value) -> str:
        return called(program, node)  # tanh(b) #2 where two nodes share a name

    lines: list[str] = []
    if walk.bug.name == "overwrite":
        seen: dict[Value, list[Edge]] = {}
        for edge in step.edges:
            seen.setdefault(edge.parent, []).append(edge)
        fresh = _fresh(walk, k)
        kept: list[tuple[Value, float, float]] = []  # (parent, its grad now, += would give)
        for parent, edges in seen.items():
            start = None if parent in fresh else edges[0].grad_before
            total = (start or 0.0) + sum(e.contribution for e in edges)
            if start is None and len(edges) == 1:
                continue
            if differs(edges[-1].grad_after, total):
                kept.append((parent, edges[-1].grad_after, total))
        if kept:  # said once for every parent it happened to
            grads = " and ".join(f"{name(p)}.grad = {n(now)}" for p, now, _ in kept)
            would = " and ".join(n(total) for _, _, total in kept)
            lines.append(
                f"✗ {grads}: = kept only the last contribution; += would make "
                f"{'it' if len(kept) == 1 else 'them'} {would}."
            )
    elif walk.bug.name == "early":
        if resumed(walk, k):
            lines.append(
                f"{name(step.node)} goes on with its remaining edges: the firing its earlier "
                "edge started is done (depth first)."
            )
        correct = walk.correct_own()
        lost: dict[Value, list[Edge]] = {}  # parents that fired already: said once each
        for edge in step.edges:
            parent = edge.parent
            if not parent.parents:
                continue
            first = _first_firing(walk).get(parent)
            if first is not None and first < k:
                lost.setdefault(parent, []).append(edge)
            elif first is not None and first > k and edge.pending:
                right = correct.get(parent, 0.0)
                now = edge.grad_after - _base(walk, parent)
                lines.append(
                    f"✗ {name(parent)} fires at once with {n(now)}"
                    f", though {edge.pending} more contribution"
                    f"{'s are' if edge.pending > 1 else ' is'} still to come: its complete grad "
                    f"in this pass is {n(right)}."
                )
        for parent, edges in lost.items():
            sent = sum(e.contribution for e in edges)
            what = (
                f"this {n(sent)} never travels"
                if len(edges) == 1
                else f"these {len(edges)} contributions ({n(sent)} in all) never travel"
            )
            lines.append(
                f"✗ {name(parent)} fired already: its grad becomes {n(edges[-1].grad_after)}, "
                f"but {what} further."
            )
    else:
        root = walk.trace.root
        if step.node is root and walk.pass_.base.get(root):
            lines.append(
                f"micrograd sets {name(root)}.grad = 1: it does not add this call's 1 to the "
                f"{n(walk.pass_.base[root])} the last call left."
            )
        old = walk.pass_.base.get(step.node, 0.0)
        if step.node is not root and old:
            lines.append(
                f"✗ {name(step.node)} sends its whole grad {n(step.upstream)}: {n(old)} of it "
                "was left by the last call and flows down a second time."
            )
    return lines


def _base(walk: Walkthrough, node: Value) -> float:
    return walk.pass_.base.get(node, 0.0)


def _fresh(walk: Walkthrough, k: int) -> set[Value]:
    """The parents of step ``k`` that had no grad before it (``—``): not in the pass's base and
    sent nothing in an earlier step of this pass."""
    step = walk.trace.steps[k]
    before = {e.parent for s in walk.trace.steps[:k] for e in s.edges}
    return {
        e.parent for e in step.edges if e.parent not in walk.pass_.base and e.parent not in before
    }


# --- narration ----------------------------------------------------------------------------------


def narrate_bug(walk: BugWalkthrough, notes: Mapping[str, str] | None = None) -> list[str]:
    """Lesson mode's narration of a buggy pass: what each step sends (as in the correct pass),
    what the broken rule does with it, and at the end which grads came out wrong.

    Example notes are not used: they describe the correct pass.
    """
    from stepgrad.explain import all_sends

    program = walk.program
    out = program.name(program.output)
    bug = walk.bug
    if walk.cleared:
        return [
            "zero_grad() set every grad to 0: the next pass starts clean (in this bug mode too)."
        ]
    step = walk.current
    if step is None:
        return _start(walk, out)
    k = walk.step - 1
    lines: list[str] = []
    if step.edges:
        groups: dict[Value, list[int]] = {}
        for position, edge in enumerate(step.edges):
            groups.setdefault(edge.parent, []).append(position)
        sends = all_sends(program, step, groups)
        head = program.describe(step.node)
        verb = "goes on" if bug.name == "early" and resumed(walk, k) else "fires"
        lines.append(f"{head} {verb} with grad {n(step.upstream)}: " + "; ".join(sends) + ".")
    else:
        lines.append(f"{program.describe(step.node)} fires, but its inputs are constants.")
    lines += [line.removeprefix("✗ ") for line in step_lines(walk)]
    if bug.name == "overwrite":
        if any(line.startswith("✗") for line in step_lines(walk)):
            lines.append(
                "The chain rule sums over every path, so each contribution must be added; "
                "overwriting drops all but the last."
            )
    if walk.step >= walk.total:
        lines += _done(walk, out)
    return lines


def _start(walk: BugWalkthrough, out: str) -> list[str]:
    bug = walk.bug
    program = walk.program
    lines: list[str] = []  # the rule itself is the step panel's first line at step 0
    counts = Counter(e.parent for s in walk.trace.steps for e in s.edges)
    shared = [v for v, c in counts.items() if c > 1 and v.requires_grad]

    def some(values: list[Value]) -> str:  # a few names, and how many more
        listed = ", ".join(program.name(v) for v in values[:3])
        return listed + (f" and {len(values) - 3:,} more" if len(values) > 3 else "")

    names = some(shared)
    if bug.name == "overwrite" and shared:
        lines.append(
            f"{names} {'gets' if len(shared) == 1 else 'each get'} more than one contribution "
            "in a pass: watch each new one replace the last instead of adding to it."
        )
    elif bug.name == "early":
        inner = [v for v in shared if v.parents]
        if inner:
            lines.append(
                f"{some(inner)} "
                f"{'is' if len(inner) == 1 else 'are'} used by more than one node: watch "
                f"{'it' if len(inner) == 1 else 'them'} fire on the first contribution, "
                "before the others have arrived."
            )
        else:
            lines.append(
                "No node here that fires is used twice, so firing early changes nothing: "
                "try --example merge."
            )
    elif walk.pass_.accumulates:
        lines.append(
            f"micrograd's backward() now sets only {out}.grad to 1; every other grad keeps what "
            "the last call left, and each node sends its whole accumulated grad down again."
        )
    else:
        lines.append(
            "From zero grads one call of micrograd's backward() is a correct pass: press end, "
            "then b for a second call without zero_grad."
        )
    return lines


def _done(walk: BugWalkthrough, out: str) -> list[str]:
    program = walk.program
    bad = wrong(walk)
    if not bad:
        return [
            f"Pass {walk.pass_.number} is done, and here every grad matches the correct pass: "
            "this graph does not trip this bug."
        ]
    shown = walk.grads()
    named = [v for v in bad if v.label is not None] or list(bad)
    parts = [
        f"{program.name(v)}.grad = {n(shown.get(v, 0.0))} (correct: {n(bad[v])})" for v in named[:3]
    ]
    more = f" and {len(named) - 3} more" if len(named) > 3 else ""
    stack = walk.pass_.stack
    if stack > 1:
        then = (
            f"The correct passes, like PyTorch's, would end at exactly {stack}x one pass's grads."
        )
    else:
        then = f"Nudge an input and {out} moves by the correct grad × h, not by this one."
    return [f"Pass {walk.pass_.number} is done with wrong grads: {', '.join(parts)}{more}. {then}"]
