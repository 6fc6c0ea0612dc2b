"""The backward pass: iterative, ordered by pending counts, optionally recorded step by step.

A node *fires* once every edge that leads from it to a consumer has delivered its contribution
(Kahn's algorithm on the reversed graph, the "counting pass" of dbking77/autograd). Each pass
sums its own gradients apart from ``.grad``, as HIPS autograd does, and only adds them to
``.grad`` once the whole pass has succeeded: a failed pass changes nothing, and two passes
without ``zero_grad`` give exactly twice the grads of one, as in PyTorch.

Why the loops look the way they do. CPython 3.11 specialises a function's bytecode (the
"adaptive interpreter") once the function has been called 8 times or has jumped back to the top
of a loop 8 times. ``while ready:`` compiles to a *conditional* jump back, which is not counted,
so a pass written that way runs unspecialised, about 2x slower, for its first 8 calls: all that
a one-shot ``stepgrad --json`` ever makes. Every loop here is therefore a ``for`` loop. The
firing loop runs ``for node in order:`` over a list that grows as nodes become ready: the list
is the FIFO queue, and once the loop ends it is the firing order, which a recorded pass keeps at
no cost. (Python 3.12 counts per instruction and has no such delay.)

The commonest ops (sum, difference, product, relu, tanh) have their local derivatives written
out in the firing loop instead of being called. Which op takes which written-out path is read
off the op table's *formulas* (the op whose derivatives read ``("b", "a")`` is the product,
whatever its name), so the table stays the one place that says what a derivative is; tests
check the written-out arithmetic against the table's functions bit for bit.

A recorded pass (``trace=True``) runs the same loop and only keeps copies of the numbers a
caller could change afterwards (``.grad`` before the pass and ``.data``: a training step changes
both). The edge records and the pass's own grads are rebuilt from them, with the op table's
functions, when a step or a grad is first looked at: the same float operations in the same
order, so the same numbers to the last bit.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple, overload

from .errors import GradientError
from .ops import OPS
from .value import Value

__all__ = [
    "Edge",
    "PassGrads",
    "Step",
    "Steps",
    "Trace",
    "backward",
    "nodes",
    "zero_grad",
]


class Edge(NamedTuple):
    """What one edge of a firing node sends to one of its inputs.

    ``grad_before`` and ``grad_after`` are the parent's ``.grad`` as the app shows it: its value
    at the start of the pass plus this pass's contributions so far.
    """

    parent: Value
    index: int  # type: ignore[assignment]  # which input of the op: 0 for a, 1 for b
    local: float  # d node / d parent
    formula: str  # the same derivative, as written in the op table
    contribution: float  # upstream * local
    grad_before: float
    grad_after: float
    pending: int  # contributions the parent still waits for in this pass before it fires


class Step(NamedTuple):
    """One node firing: it sends ``upstream * local`` along every edge to an input."""

    node: Value
    upstream: float  # d output / d node, summed in this pass
    edges: tuple[Edge, ...]


class Steps(Sequence[Step]):
    """The steps of one pass; a :class:`Step` is made when it is looked at.

    The pass itself keeps only its firing order and copies of the numbers it read that a caller
    can change later: each reached node's ``.grad`` before the pass and ``.data``, and the
    ``.data`` of the constants it met. The first look at a step (or at the pass's grads)
    replays the pass from those copies into flat lists, which every later look reads.
    """

    __slots__ = ("_constants", "_grads", "_order", "_reached", "_record", "_snapshot")

    def __init__(
        self,
        order: list[Value],
        reached: list[Value],
        snapshot: tuple[list[float], list[float], list[float]],
        constants: list[Value],
    ) -> None:
        self._order = order  # the nodes in firing order
        self._reached = reached  # every node that took a gradient, the output first
        # per reached node: .grad before the pass, .data; then the constants' .data, in the
        # order of ``constants``
        self._snapshot = snapshot
        self._constants = constants  # the inputs that take no gradient, as the pass met them
        self._record: tuple[list[Any], list[Any]] | None = None  # made by _replay
        self._grads: list[float] = []  # this pass's grad of each reached node, by _replay

    def __len__(self) -> int:
        return len(self._order)

    @overload
    def __getitem__(self, i: int) -> Step: ...

    @overload
    def __getitem__(self, i: slice) -> list[Step]: ...

    def __getitem__(self, i: int | slice) -> Step | list[Step]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        steps, flat = self._record if self._record is not None else self._replay()
        count = len(self._order)
        if i < 0:
            i += count
        if not 0 <= i < count:
            raise IndexError("step index out of range")
        node = self._order[i]
        upstream = steps[2 * i]
        end = steps[2 * i + 3] if i + 1 < count else len(flat)
        formulas = OPS[node.op].formulas
        edges = []
        for k in range(steps[2 * i + 1], end, _EDGE):
            parent, index, local, before, base, pending = flat[k : k + _EDGE]
            # the same float operations as the pass: the same numbers to the last bit
            contribution = upstream * local
            edges.append(
                Edge(
                    parent,
                    index,
                    local,
                    formulas[index],
                    contribution,
                    base + before,
                    base + (before + contribution),
                    pending,
                )
            )
        return Step(node, upstream, tuple(edges))

    def __iter__(self) -> Iterator[Step]:
        for i in range(len(self._order)):
            yield self[i]

    def _own(self) -> list[float]:
        """This pass's grad of every reached node, in the order of ``reached``."""
        if self._record is None:
            self._replay()
        return self._grads

    def _replay(self) -> tuple[list[Any], list[Any]]:
        """Run the pass again over its own firing order and copied numbers, recording it.

        This is the plain reference loop: every local derivative is the op table's function
        (or constant), every sum the same ``before + upstream * local`` as the pass, so each
        number equals the pass's own to the last bit (the tests check this on random graphs).
        Its state is its own (lists indexed by each node's place in ``reached``), not the
        nodes' ``_g``: a pass may run meanwhile on another thread, and two threads may replay
        at once. The record is flat lists (no tuple per edge), which spares the garbage
        collector 50,000 new objects on a big graph. A graph reshaped after the pass (a node's
        ``parents``, ``op`` or ``requires_grad`` reassigned) is refused where it shows: a node
        would fire before all its consumers had sent, or an input was never seen by the pass.
        """
        order, reached = self._order, self._reached
        base, data, constant_data = self._snapshot
        place = {node: i for i, node in enumerate(reached)}  # a constant has none
        constant = dict(zip(self._constants, constant_data, strict=True))
        grads = [0.0] * len(reached)
        pending = [0] * len(reached)
        for node in order:
            for parent in node.parents:
                j = place.get(parent)
                if j is not None:
                    pending[j] += 1
        steps: list[Any] = []  # per step: upstream, where its edges start in ``flat``
        flat: list[Any] = []  # per edge: parent, index, local, grad before, base, pending
        table = _TABLE
        grads[0] = 1.0  # the output's seed: the output is reached first
        try:
            for node in order:
                i = place[node]
                if pending[i]:
                    raise KeyError(node)  # it would fire before all its consumers sent
                upstream = grads[i]
                steps += upstream, len(flat)
                out = data[i]
                parents = node.parents
                if len(parents) == 2:
                    c0, c1, d0, d1 = table[node.op]
                    a, b = parents
                    ja, jb = place.get(a), place.get(b)
                    x = constant[a] if ja is None else data[ja]
                    y = constant[b] if jb is None else data[jb]
                    if ja is not None:
                        local = d0(x, y, out) if c0 is None else c0
                        before = grads[ja]
                        grads[ja] = before + upstream * local
                        count = pending[ja] - 1
                        pending[ja] = count
                        flat += a, 0, local, before, base[ja], count
                    if jb is not None:
                        local = d1(x, y, out) if c1 is None else c1
                        before = grads[jb]
                        grads[jb] = before + upstream * local
                        count = pending[jb] - 1
                        pending[jb] = count
                        flat += b, 1, local, before, base[jb], count
                else:
                    c0, d0 = table[node.op]
                    (a,) = parents
                    ja = place.get(a)
                    if ja is not None:
                        local = d0(data[ja], out) if c0 is None else c0
                        before = grads[ja]
                        grads[ja] = before + upstream * local
                        count = pending[ja] - 1
                        pending[ja] = count
                        flat += a, 0, local, before, base[ja], count
            if any(pending):
                raise KeyError("an edge the pass did not deliver")
        except (KeyError, ValueError, ArithmeticError):
            raise RuntimeError(
                "the graph was changed after its backward pass was recorded (a node's "
                "parents, op or requires_grad): its steps cannot be rebuilt"
            ) from None
        self._grads = grads
        self._record = (steps, flat)
        return steps, flat


_EDGE = 6
"""Entries per edge in a :class:`Steps` record."""


class PassGrads(Mapping[Value, float]):
    """This pass's own gradient of every node it reached, as a read-only mapping.

    The pass keeps no copy of these numbers (that is a walk over every node, a tenth of a
    plain pass): the first read takes them from the steps' replay, which gives them to the
    last bit, and builds the dict.
    """

    __slots__ = ("_dict", "_steps")

    def __init__(self, steps: Steps) -> None:
        self._steps = steps
        self._dict: dict[Value, float] | None = None

    def _built(self) -> dict[Value, float]:
        if self._dict is None:
            self._dict = dict(zip(self._steps._reached, self._steps._own(), strict=True))
        return self._dict

    def __getitem__(self, node: Value) -> float:
        return self._built()[node]

    def __iter__(self) -> Iterator[Value]:
        return iter(self._built())

    def __len__(self) -> int:
        return len(self._steps._reached)


class Trace(NamedTuple):
    """A whole backward pass, in firing order."""

    root: Value
    steps: Steps
    grads: Mapping[Value, float]  # this pass's own gradient of every node it reached

    def __len__(self) -> int:
        return len(self.steps)


def nodes(root: Value) -> list[Value]:
    """Every node of ``root``'s graph once, parents before children (iterative DFS post-order)."""
    seen = {root}
    order: list[Value] = []
    stack: list[tuple[Value, int]] = [(root, 0)]
    for _ in iter(stack.__len__, 0):  # ``while stack:`` as a for loop: see the module's doc
        node, i = stack[-1]
        parents = node.parents
        if i < len(parents):
            stack[-1] = (node, i + 1)
            parent = parents[i]
            if parent not in seen:
                seen.add(parent)
                stack.append((parent, 0))
        else:
            stack.pop()
            order.append(node)
    return order


def zero_grad(root: Value) -> None:
    """Set the grad of every node in ``root``'s graph to 0."""
    seen = {root}
    todo = [root]
    for node in todo:
        node.grad = 0.0
        for parent in node.parents:
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)


_NAN = float("nan")


def backward(root: Value, *, trace: bool = False) -> Trace | None:
    """One backward pass from ``root``; see :meth:`Value.backward`.

    Per-pass state lives on the nodes (``_pending``: edges still to deliver, ``_g``: this pass's
    gradient) rather than in dicts, as this is the engine's hot path; every ``_pending`` is 0
    between passes. The lean loop does not check each edge: inf and nan are absorbing under +
    and *, so a look at the leaves at the end finds any; then :func:`_locate` runs the pass
    again, checking every edge, and raises a GradientError that names the one that failed.
    """
    constants: list[Value] | None = [] if trace else None
    reached = [root]  # grows in _count: on any exception, what it holds so far is reset
    order = [root] if root.parents else []
    try:
        leaves = _count(reached, constants)
        # an output computed from constants only (e.g. sqrt(0)) fires and sends nothing: a
        # fired node's inputs take grads, so only the output can be such a node
        if root.requires_grad and not _fire(order, leaves):
            _reset(reached)
            del reached[1:]
            _count(reached, None)
            _locate(root)
    except BaseException:
        _reset(reached)
        raise
    if constants is None:
        for node in reached:  # the pass succeeded: add its gradients to .grad
            node.grad += node._g
        return None
    base = [node.grad for node in reached]
    data = [node.data for node in reached]
    for node in reached:
        node.grad += node._g
    steps = Steps(order, reached, (base, data, [c.data for c in constants]), constants)
    return Trace(root, steps, PassGrads(steps))


def _count(reached: list[Value], constants: list[Value] | None) -> list[Value]:
    """Set ``_pending`` and ``_g`` on every node that needs a gradient; return the leaves.

    ``reached`` holds the output alone; every node that needs a gradient is appended to it.
    ``_pending`` counts the edges to the node from its consumers. If ``constants`` is a list,
    every input that takes no gradient is appended to it, once per edge (a recorded pass copies
    their data).
    """
    root = reached[0]
    leaves: list[Value] = [] if root.parents else [root]
    keep = reached.append
    keep_leaf = leaves.append
    for node in reached:  # breadth first; the list grows as the loop goes
        for parent in node.parents:
            if parent.requires_grad:
                count = parent._pending
                if count:
                    parent._pending = count + 1
                else:
                    parent._pending = 1
                    parent._g = 0.0
                    keep(parent)
                    if not parent.parents:
                        keep_leaf(parent)
            elif constants is not None:
                constants.append(parent)
    root._g = 1.0
    return leaves


def _reset(reached: list[Value]) -> None:
    for node in reached:
        node._pending = 0


def _op_named_by(formulas: tuple[str, ...]) -> str:
    """The name of the op whose derivatives the table writes as ``formulas``.

    If no op has them, a name no node carries, so the firing loop's written-out path for them
    is never taken.
    """
    for name, op in OPS.items():
        if op.formulas == formulas:
            return name
    return "\0no such op"


INLINED: dict[tuple[str, ...], str] = {
    formulas: _op_named_by(formulas)
    for formulas in (("b", "a"), ("1", "1"), ("1", "-1"), ("1 if a > 0 else 0",), ("1 - out**2",))
}
"""The derivative formulas the firing loop writes out, and the op each belongs to."""

_PRODUCT = INLINED["b", "a"]
_SUM = INLINED["1", "1"]
_DIFFERENCE = INLINED["1", "-1"]
_RELU = INLINED[("1 if a > 0 else 0",)]
_TANH = INLINED[("1 - out**2",)]

_TABLE: dict[str, tuple[Any, ...]] = {
    name: (*op.constants, *op.derivatives) for name, op in OPS.items()
}
"""What the firing loop's general path needs of each op in one lookup: its constant derivatives
(or None), then its derivative functions."""


def _fire(order: list[Value], leaves: list[Value]) -> bool:
    """Fire every node of ``order``, appending each input whose count reaches zero.

    Returns False if a number was not finite (the grads of this pass are then unusable). Each
    edge adds ``upstream * local`` to the input's ``_g`` exactly as the op table's function
    would give it (``upstream * 1.0`` is ``upstream``, bit for bit); see ``INLINED``.
    """
    push = order.append
    table = _TABLE
    product, total, difference, relu, tanh = _PRODUCT, _SUM, _DIFFERENCE, _RELU, _TANH
    try:
        for node in order:
            upstream = node._g
            op = node.op
            if op == product:
                a, b = node.parents
                if a.requires_grad:
                    a._g += upstream * b.data
                    count = a._pending - 1
                    a._pending = count
                    if not count and a.parents:
                        push(a)
                if b.requires_grad:
                    b._g += upstream * a.data
                    count = b._pending - 1
                    b._pending = count
                    if not count and b.parents:
                        push(b)
            elif op == total:
                a, b = node.parents
                if a.requires_grad:
                    a._g += upstream
                    count = a._pending - 1
                    a._pending = count
                    if not count and a.parents:
                        push(a)
                if b.requires_grad:
                    b._g += upstream
                    count = b._pending - 1
                    b._pending = count
                    if not count and b.parents:
                        push(b)
            elif op == relu:
                (a,) = node.parents
                a._g += upstream if a.data > 0 else upstream * 0.0
                count = a._pending - 1
                a._pending = count
                if not count and a.parents:
                    push(a)
            elif op == tanh:
                (a,) = node.parents
                out = node.data
                a._g += upstream * (1.0 - out * out)
                count = a._pending - 1
                a._pending = count
                if not count and a.parents:
                    push(a)
            elif op == difference:
                a, b = node.parents
                if a.requires_grad:
                    a._g += upstream
                    count = a._pending - 1
                    a._pending = count
                    if not count and a.parents:
                        push(a)
                if b.requires_grad:
                    b._g += upstream * -1.0
                    count = b._pending - 1
                    b._pending = count
                    if not count and b.parents:
                        push(b)
            elif len(node.parents) == 2:  # the general path: the table's functions
                c0, c1, d0, d1 = table[op]
                a, b = node.parents
                if a.requires_grad:
                    a._g += upstream * (d0(a.data, b.data, node.data) if c0 is None else c0)
                    count = a._pending - 1
                    a._pending = count
                    if not count and a.parents:
                        push(a)
                if b.requires_grad:
                    b._g += upstream * (d1(a.data, b.data, node.data) if c1 is None else c1)
                    count = b._pending - 1
                    b._pending = count
                    if not count and b.parents:
                        push(b)
            else:
                c0, d0 = table[op]
                (a,) = node.parents
                a._g += upstream * (d0(a.data, node.data) if c0 is None else c0)
                count = a._pending - 1
                a._pending = count
                if not count and a.parents:
                    push(a)
    except (ArithmeticError, ValueError):
        return False
    for leaf in leaves:  # every reached node passes its gradient on to a reached leaf
        g = leaf._g
        if g - g != 0.0:  # inf or nan, which + and * carry along: somewhere a number was
            return False
    return True


def _locate(root: Value) -> None:
    """Run the pass again checking every edge; raise GradientError at the first bad one."""
    ready = [root] if root.parents else []
    for node in ready:
        op = OPS[node.op]
        parents = node.parents
        args = [p.data for p in parents] + [node.data]
        for index, parent in enumerate(parents):
            if not parent.requires_grad:
                continue
            local = op.constants[index]
            try:
                if local is None:
                    local = op.derivatives[index](*args)
                after = parent._g + node._g * local
            except (ArithmeticError, ValueError):
                after = _NAN
            if after - after != 0.0:  # inf or nan, here or in the sum
                raise GradientError(node, index, local, node._g, "the gradient is not finite")
            parent._g = after
            parent._pending -= 1
            if parent._pending == 0 and parent.parents:
                ready.append(parent)
    raise AssertionError("a non-finite gradient was found but not located")  # pragma: no cover
