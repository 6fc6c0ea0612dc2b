"""How micrograd 0.1.0 would compute the same grads: its graph shape and its ``backward()``.

micrograd builds ``a - b`` as ``a + b*-1``, ``-a`` as ``a*-1`` and ``a / b`` as ``a * b**-1``,
and its ``backward()`` sets only the output's grad to 1: every other ``.grad`` keeps what earlier
calls left, and each node sends ``local * its .grad`` in reverse topological order. From all
zeros that is one correct pass. A second call without ``zero_grad`` is not twice the first:
every inner node's old grad flows down again (stepgrad, like PyTorch, adds exactly each pass's
own gradient). This module answers "what would micrograd say?" without importing micrograd.
"""

from __future__ import annotations

from collections.abc import Mapping

from .backward import nodes
from .ops import OPS
from .value import Value

__all__ = ["micrograd_backward", "micrograd_grads", "micrograd_shape"]


def micrograd_backward(root: Value, grads: Mapping[Value, float]) -> dict[Value, float]:
    """The grads micrograd's ``backward()`` leaves on ``root``'s graph when every node starts at
    ``grads`` (missing nodes at 0). Changes no ``.grad``."""
    order = nodes(root)
    grad = {node: grads.get(node, 0.0) for node in order}
    grad[root] = 1.0
    for node in reversed(order):
        if not node.parents:
            continue
        op = OPS[node.op]
        args = [p.data for p in node.parents] + [node.data]
        upstream = grad[node]
        for index, parent in enumerate(node.parents):
            if parent.requires_grad:
                grad[parent] += op.derivatives[index](*args) * upstream
    return grad


def micrograd_shape(root: Value) -> tuple[Value, dict[Value, Value]]:
    """``root``'s graph rebuilt as micrograd builds it, and each original node's counterpart.

    Leaves are new leaves with the same data; ``-``, ``neg`` and ``/`` become micrograd's
    compositions; every other op (including a power with a variable exponent, which micrograd
    cannot build) is kept as one node.
    """
    made: dict[Value, Value] = {}
    for node in nodes(root):
        if not node.parents:
            copy = Value(node.data, node.label, requires_grad=node.requires_grad)
        else:
            args = [made[p] for p in node.parents]
            if node.op == "-":
                copy = args[0] + args[1] * -1.0
            elif node.op == "neg":
                copy = args[0] * -1.0
            elif node.op == "/":
                copy = args[0] * args[1] ** -1.0
            else:
                copy = args[0]._apply(OPS[node.op], *args)
        made[node] = copy
    return made[root], made


def micrograd_grads(root: Value, calls: int) -> dict[Value, float]:
    """Each node's grad after ``calls`` calls of micrograd's ``backward()`` from zero grads, for
    the nodes of ``root``'s own graph (computed on micrograd's shape of it)."""
    shaped, made = micrograd_shape(root)
    grad: dict[Value, float] = {}
    for _ in range(calls):
        grad = micrograd_backward(shaped, grad)
    return {node: grad.get(copy, 0.0) for node, copy in made.items()}
