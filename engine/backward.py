"""The backward pass: iterative, ordered by pending counts, optionally recorded step by step.

A node *fires* once every edge that leads from it to a consumer has delivered its contribution
(Kahn's algorithm on the reversed graph, the "counting pass" of dbking77/autograd). Each pass
sums its own gradients in a dict, as HIPS autograd does, and only adds them to ``.grad`` once the
whole pass has succeeded: a failed pass changes nothing, and two passes without ``zero_grad``
give exactly twice the grads of one, as in PyTorch.
"""

from __future__ import annotations

from collections import deque
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
    """The steps of one pass, stored flat: a :class:`Step` is made when it is looked at.

    Recording keeps one small tuple per step and one per edge, which keeps a recorded pass within
    twice the cost of a plain one and a 10,000-step trace light for the app.
    """

    __slots__ = ("_edges", "_steps")

    def __init__(self, steps: list[tuple[Value, float, int]], edges: list[tuple]) -> None:  # type: ignore[type-arg]
        self._steps = steps  # (node, upstream, index of its first edge in ``edges``)
        self._edges = edges  # (parent, index, local, this pass's grad before, base grad, pending)

    def __len__(self) -> int:
        return len(self._steps)

    @overload
    def __getitem__(self, i: int) -> Step: ...

    @overload
    def __getitem__(self, i: slice) -> list[Step]: ...

    def __getitem__(self, i: int | slice) -> Step | list[Step]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        count = len(self._steps)
        if i < 0:
            i += count
        if not 0 <= i < count:
            raise IndexError("step index out of range")
        node, upstream, start = self._steps[i]
        end = self._steps[i + 1][2] if i + 1 < count else len(self._edges)
        formulas = OPS[node.op].formulas
        # the record keeps what cannot be recomputed; these are the same float operations the
        # pass did, so they give the same numbers to the last bit
        edges = tuple(
            Edge(
                parent,
                index,
                local,
                formulas[index],
                upstream * local,
                base + before,
                base + (before + upstream * local),
                pending,
            )  # fmt: skip
            for parent, index, local, before, base, pending in self._edges[start:end]
        )
        return Step(node, upstream, edges)

    def __iter__(self) -> Iterator[Step]:
        for i in range(len(self._steps)):
            yield self[i]


class PassGrads(Mapping[Value, float]):
    """This pass's own gradient of every node it reached, as a read-only mapping.

    Recording keeps the nodes and their numbers as two lists; the dict is built the first time
    it is read (most passes are never asked), which keeps recording cheap.
    """

    __slots__ = ("_dict", "_nodes", "_values")

    def __init__(self, nodes: list[Value], values: list[float]) -> None:
        self._nodes = nodes
        self._values = values
        self._dict: dict[Value, float] | None = None

    def _built(self) -> dict[Value, float]:
        if self._dict is None:
            self._dict = dict(zip(self._nodes, self._values, strict=True))
        return self._dict

    def __getitem__(self, node: Value) -> float:
        return self._built()[node]

    def __iter__(self) -> Iterator[Value]:
        return iter(self._built())

    def __len__(self) -> int:
        return len(self._nodes)


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
    while stack:
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
    stack = [root]
    while stack:
        node = stack.pop()
        node.grad = 0.0
        for parent in node.parents:
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)


_NAN = float("nan")


def backward(root: Value, *, trace: bool = False) -> Trace | None:
    """One backward pass from ``root``; see :meth:`Value.backward`.

    Per-pass state lives on the nodes (``_pending``: edges still to deliver, ``_g``: this pass's
    gradient) rather than in dicts, as this is the engine's hot path; every ``_pending`` is 0
    between passes. The lean loop does not check each edge: inf and nan are absorbing under +
    and *, so a look at the leaves at the end finds any; then :func:`_locate` runs the pass
    again, checking every edge, and raises a GradientError that names the one that failed.
    """
    steps: list[tuple[Value, float, int]] | None = [] if trace else None
    edges: list[tuple[Any, ...]] = []
    reached, leaves = _count(root, count_leaves=trace)
    try:
        if not _fire(root, leaves, steps, edges):
            _reset(reached)
            reached, leaves = _count(root, count_leaves=True)
            _locate(root)
    except BaseException:
        _reset(reached)
        raise
    for node in reached:  # the pass succeeded: add its gradients to .grad
        node.grad += node._g
    if steps is None:
        return None
    return Trace(root, Steps(steps, edges), PassGrads(reached, [node._g for node in reached]))


def _count(root: Value, *, count_leaves: bool) -> tuple[list[Value], list[Value]]:
    """Set ``_pending`` on every node that needs a gradient; return them all, and the leaves.

    Leaves never fire, so a plain pass does not need their counts: unless ``count_leaves`` is
    set, a leaf's ``_pending`` is only set to 1 as a "reached" mark. :func:`_finish_leaves`
    clears it.
    """
    reached = [root]
    leaves: list[Value] = [] if root.parents else [root]
    stack = [root]
    push = stack.append
    keep = reached.append
    keep_leaf = leaves.append
    while stack:
        for parent in stack.pop().parents:
            if parent.requires_grad:
                count = parent._pending
                if parent.parents:
                    if count == 0:
                        parent._g = 0.0
                        keep(parent)
                        push(parent)
                    parent._pending = count + 1
                elif count == 0:
                    parent._g = 0.0
                    keep(parent)
                    keep_leaf(parent)
                    parent._pending = 1
                elif count_leaves:
                    parent._pending = count + 1
    root._g = 1.0
    return reached, leaves


def _reset(reached: list[Value]) -> None:
    for node in reached:
        node._pending = 0


def _finish_leaves(leaves: list[Value]) -> bool:
    """Clear the leaves' marks; False if any leaf's gradient is not finite.

    Every reached node passes its gradient on to a reached leaf, so the leaves show any
    non-finite number met in the pass.
    """
    finite = True
    for leaf in leaves:
        leaf._pending = 0
        g = leaf._g
        if g - g != 0.0:
            finite = False
    return finite


def _fire(
    root: Value,
    leaves: list[Value],
    steps: list[tuple[Value, float, int]] | None,
    edges: list[tuple[Any, ...]],
) -> bool:
    """Fire every op node once its count reaches zero; record steps and edges if ``steps``.

    Returns False if a number was not finite (the grads of this pass are then unusable).
    """
    if root.parents and not root.requires_grad:  # e.g. sqrt(0): it fires, and sends nothing
        if steps is not None:  # (a fired node's inputs take grads: only the output can be so)
            steps.append((root, root._g, len(edges)))
        return _finish_leaves(leaves)
    ready: deque[Value] = deque((root,) if root.parents else ())
    pop = ready.popleft
    fire = ready.append
    table = _TABLE
    record = steps is not None
    add = edges.append
    count = 0
    try:
        while ready:
            node = pop()
            upstream = node._g
            parents = node.parents
            if record:
                steps.append((node, upstream, len(edges)))  # type: ignore[union-attr]
            if len(parents) == 2:
                # the two edges are written out rather than looped over: this is the hot path
                c0, c1, d0, d1 = table[node.op]
                a, b = parents
                if a.requires_grad:
                    local = d0(a.data, b.data, node.data) if c0 is None else c0
                    contribution = upstream * local
                    before = a._g
                    a._g = before + contribution
                    if a.parents or record:
                        count = a._pending - 1
                        a._pending = count
                        if count == 0 and a.parents:
                            fire(a)
                    if record:
                        add((a, 0, local, before, a.grad, count))
                if b.requires_grad:
                    local = d1(a.data, b.data, node.data) if c1 is None else c1
                    contribution = upstream * local
                    before = b._g
                    b._g = before + contribution
                    if b.parents or record:
                        count = b._pending - 1
                        b._pending = count
                        if count == 0 and b.parents:
                            fire(b)
                    if record:
                        add((b, 1, local, before, b.grad, count))
            else:
                c0, d0 = table[node.op]
                a = parents[0]
                local = d0(a.data, node.data) if c0 is None else c0
                contribution = upstream * local
                before = a._g
                a._g = before + contribution
                if a.parents or record:
                    count = a._pending - 1
                    a._pending = count
                    if count == 0 and a.parents:
                        fire(a)
                if record:
                    add((a, 0, local, before, a.grad, count))
    except (ArithmeticError, ValueError):
        return False
    return _finish_leaves(leaves)


def _locate(root: Value) -> None:
    """Run the pass again checking every edge; raise GradientError at the first bad one."""
    ready: deque[Value] = deque((root,) if root.parents else ())
    while ready:
        node = ready.popleft()
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


_TABLE: dict[str, tuple[Any, ...]] = {
    name: (*op.constants, *op.derivatives) for name, op in OPS.items()
}
"""What the firing loop needs of each op in one lookup: its constant derivatives (or None),
then its derivative functions."""
