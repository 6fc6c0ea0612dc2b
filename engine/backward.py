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


def _pending_counts(root: Value) -> dict[Value, int]:
    """For every node that needs a gradient: how many edges lead from it to a consumer."""
    pending = {root: 0}
    stack = [root]
    while stack:
        for parent in stack.pop().parents:
            if parent.requires_grad:
                count = pending.get(parent)
                if count is None:
                    pending[parent] = 1
                    stack.append(parent)
                else:
                    pending[parent] = count + 1
    return pending


def backward(root: Value, *, trace: bool = False) -> Trace | None:
    """One backward pass from ``root``; see :meth:`Value.backward`."""
    pending = _pending_counts(root)
    grads: dict[Value, float] = {root: 1.0}
    steps: list[Step] = []
    ready: deque[Value] = deque([root] if root.parents else ())
    while ready:
        node = ready.popleft()
        parents = node.parents
        derivatives = OPS[node.op].derivatives
        upstream = grads[node]
        out = node.data
        a = parents[0].data
        b = parents[1].data if len(parents) == 2 else None
        edges: list[Edge] = []
        for index, parent in enumerate(parents):
            if not parent.requires_grad:
                continue
            local: float | None = None
            try:
                if b is None:
                    local = derivatives[index](a, out)
                else:
                    local = derivatives[index](a, b, out)
                contribution = upstream * local
                before = grads.get(parent, 0.0)
                after = before + contribution
            except (ArithmeticError, ValueError):
                after = float("nan")
            if after - after != 0.0:  # inf or nan, here or in the sum
                raise GradientError(
                    node, index, local, upstream, "the gradient is not a finite number"
                )
            grads[parent] = after
            count = pending[parent] - 1
            pending[parent] = count
            if count == 0 and parent.parents:
                ready.append(parent)
            if trace:
                assert local is not None
                base = parent.grad
                edges.append(
                    Edge(
                        parent,
                        index,
                        local,
                        OPS[node.op].formulas[index],
                        contribution,
                        base + before,
                        base + after,
                        count,
                    )
                )
        if trace:
            steps.append(Step(node, upstream, tuple(edges)))
    for node, grad in grads.items():
        node.grad += grad
    return Trace(root, tuple(steps), grads) if trace else None
