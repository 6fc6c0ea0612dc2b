"""Gradient checking: every input's backprop grad against a central finite difference."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .backward import nodes
from .ops import OPS
from .value import Value

__all__ = ["Check", "agree", "check_gradients", "evaluate", "finite_difference"]


@dataclass(frozen=True)
class Check:
    """One input's grad from backprop beside the finite difference (None where undefined)."""

    name: str
    grad: float
    numeric: float | None
    agree: bool | None


def evaluate(root: Value, overrides: dict[Value, float]) -> float:
    """``root``'s value with some leaves set to other numbers, following the graph's ops.

    Raises ArithmeticError or ValueError where an op leaves its domain.
    """
    values: dict[Value, float] = {}
    for node in nodes(root):
        if node.parents:
            values[node] = OPS[node.op].forward(*(values[p] for p in node.parents))
        else:
            values[node] = overrides.get(node, node.data)
    return values[root]


def finite_difference(root: Value, leaf: Value, *, h: float = 1e-6) -> float | None:
    """``(f(x+h) - f(x-h)) / 2h`` for the leaf ``x``, or None where f is undefined or not finite
    there (a domain edge)."""
    try:
        up = evaluate(root, {leaf: leaf.data + h})
        down = evaluate(root, {leaf: leaf.data - h})
        numeric = (up - down) / (2 * h)
    except (ArithmeticError, ValueError):
        return None
    return numeric if math.isfinite(numeric) else None


def agree(grad: float, numeric: float, *, rel: float = 1e-4) -> bool:
    """Whether two derivatives differ by at most ``rel`` relative to the larger (or to 1)."""
    scale = max(1.0, abs(grad), abs(numeric))
    return abs(grad - numeric) <= rel * scale


def check_gradients(
    root: Value, inputs: dict[str, Value], *, h: float = 1e-6, rel: float = 1e-4
) -> list[Check]:
    """Compare each input's ``.grad`` (of one pass) with ``(f(x+h) - f(x-h)) / 2h``.

    They agree when they differ by at most ``rel`` relative to the larger of the two (or 1).
    Where f cannot be evaluated at ``x +- h`` (a domain edge) the check says None.
    """
    checks = []
    for name, value in inputs.items():
        numeric = finite_difference(root, value, h=h)
        if numeric is None:
            checks.append(Check(name, value.grad, None, None))
        else:
            checks.append(Check(name, value.grad, numeric, agree(value.grad, numeric, rel=rel)))
    return checks
