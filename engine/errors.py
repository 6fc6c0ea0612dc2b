"""The engine's own exceptions: what went wrong, on which op, with which numbers."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .ops import Op
    from .value import Value

__all__ = ["DomainError", "EngineError", "GradientError"]


class EngineError(ArithmeticError):
    """Base class of the errors the engine raises on bad numbers."""


class DomainError(EngineError):
    """A forward computation left the real numbers: log(0), 1/0, overflow, a non-finite input.

    Attributes:
        op: the op that failed, or None for a bad leaf value.
        inputs: the input numbers the op was given.
        reason: a plain sentence: ``"division by zero"``, ``"the result overflows"``...
    """

    def __init__(self, op: Op | None, inputs: tuple[float, ...], reason: str) -> None:
        self.op = op
        self.inputs = inputs
        self.reason = reason
        super().__init__(reason)


class GradientError(EngineError):
    """The backward pass produced an infinite or NaN gradient along one edge.

    Attributes:
        node: the node that was firing.
        index: which of its inputs the bad edge leads to.
        parent: that input.
        local: the local derivative, or None when computing it failed outright.
        upstream: the gradient arriving at ``node`` in this pass.
    """

    def __init__(
        self, node: Value, index: int, local: float | None, upstream: float, reason: str
    ) -> None:
        self.node = node
        self.index = index
        self.parent = node.parents[index]
        self.local = local
        self.upstream = upstream
        self.reason = reason
        super().__init__(reason)
