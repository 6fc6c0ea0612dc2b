"""The backward pass: iterative, ordered by pending counts, optionally recorded step by step.

A node *fires* once every edge that leads from it to a consumer has delivered its contribution
(Kahn's algorithm on the reversed graph, the "counting pass" of dbking77/autograd). Each pass
sums its own gradients in a dict, as HIPS autograd does, and only adds them to ``.grad`` once the
whole pass has succeeded: a failed pass changes nothing, and two passes without ``zero_grad``
give exactly twice the grads of one, as in PyTorch.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

from .errors import GradientError
from .ops import OPS
from .value import Value

__all__ = ["Edge", "Step", "Trace", "backward", "nodes", "zero_grad"]


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


class Trace(NamedTuple):
    """A whole backward pass, in firing order."""

    root: Value
    steps: tuple[Step, ...]
    grads: dict[Value, float]  # this pass's own gradient of every node it reached

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


_tuple_new = tuple.__new__  # builds Edge/Step records without NamedTuple's Python __new__
_NAN = float("nan")


def backward(root: Value, *, trace: bool = False) -> Trace | None:
    """One backward pass from ``root``; see :meth:`Value.backward`.

    Per-pass state lives on the nodes (``_pending``: edges still to deliver, ``_g``: this pass's
    gradient) rather than in dicts, as this is the engine's hot path; every ``_pending`` is 0
    between passes. A plain pass runs the lean loop; if that meets a non-finite number it starts
    again with the recording loop, which checks every edge and names the one that failed.
    """
    reached = _count(root)
    try:
        if trace:
            steps = _fire_recorded(root)
        elif not _fire(root, reached):
            _reset(reached)
            reached = _count(root)
            _fire_recorded(root)  # raises GradientError naming the edge
    except BaseException:
        _reset(reached)
        raise
    for node in reached:  # the pass succeeded: add its gradients to .grad
        node.grad += node._g
    if not trace:
        return None
    return Trace(root, tuple(steps), {node: node._g for node in reached})


def _count(root: Value) -> list[Value]:
    """Set ``_pending`` on every node that needs a gradient; return them, root first."""
    reached = [root]
    stack = [root]
    push = stack.append
    keep = reached.append
    while stack:
        for parent in stack.pop().parents:
            if parent.requires_grad:
                count = parent._pending
                if count == 0:
                    parent._g = 0.0
                    keep(parent)
                    if parent.parents:
                        push(parent)
                parent._pending = count + 1
    root._g = 1.0
    return reached


def _reset(reached: list[Value]) -> None:
    for node in reached:
        node._pending = 0


def _fire(root: Value, reached: list[Value]) -> bool:
    """Fire every node once its count reaches zero; False if a number was not finite.

    inf and nan are absorbing under + and *, so one look at the final gradients finds any.
    """
    ready: deque[Value] = deque((root,) if root.parents else ())
    pop = ready.popleft
    fire = ready.append
    ops = OPS
    try:
        while ready:
            node = pop()
            op = ops[node.op]
            upstream = node._g
            parents = node.parents
            constants = op.constants
            derivatives = op.derivatives
            if len(parents) == 2:
                a, b = parents
                x = a.data
                y = b.data
                out = node.data
                if a.requires_grad:
                    local = constants[0]
                    if local is None:
                        local = derivatives[0](x, y, out)
                    a._g += upstream * local
                    count = a._pending - 1
                    a._pending = count
                    if count == 0 and a.parents:
                        fire(a)
                if b.requires_grad:
                    local = constants[1]
                    if local is None:
                        local = derivatives[1](x, y, out)
                    b._g += upstream * local
                    count = b._pending - 1
                    b._pending = count
                    if count == 0 and b.parents:
                        fire(b)
            else:
                a = parents[0]
                local = constants[0]
                if local is None:
                    local = derivatives[0](a.data, node.data)
                a._g += upstream * local
                a._pending = 0  # a unary op's input that needs a grad: its only edge here
                if a.parents:
                    fire(a)
    except (ArithmeticError, ValueError):
        return False
    for node in reached:
        g = node._g
        if g - g != 0.0:
            return False
    return True


def _fire_recorded(root: Value) -> list[Step]:
    """The same firing order as :func:`_fire`, recording each step and checking each edge."""
    steps: list[Step] = []
    ready: deque[Value] = deque((root,) if root.parents else ())
    while ready:
        node = ready.popleft()
        op = OPS[node.op]
        upstream = node._g
        parents = node.parents
        out = node.data
        a = parents[0].data
        binary = len(parents) == 2
        b = parents[1].data if binary else 0.0
        edges = []
        for index, parent in enumerate(parents):
            if not parent.requires_grad:
                continue
            local = op.constants[index]
            try:
                if local is None:
                    derivative = op.derivatives[index]
                    local = derivative(a, b, out) if binary else derivative(a, out)
                contribution = upstream * local
                before = parent._g
                after = before + contribution
            except (ArithmeticError, ValueError):
                after = _NAN
            if after - after != 0.0:  # inf or nan, here or in the sum
                raise GradientError(node, index, local, upstream, "the gradient is not finite")
            parent._g = after
            count = parent._pending - 1
            parent._pending = count
            if count == 0 and parent.parents:
                ready.append(parent)
            base = parent.grad
            edge = (parent, index, local, op.formulas[index], contribution,
                    base + before, base + after, count)  # fmt: skip
            edges.append(_tuple_new(Edge, edge))
        steps.append(_tuple_new(Step, (node, upstream, tuple(edges))))
    return steps
