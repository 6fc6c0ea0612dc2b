"""The engine's own exceptions: what went wrong, on which op, with which numbers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

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


GradientFault = Literal["local", "product", "sum", "accumulated"]
"""Which number of a backward pass is not finite (see :class:`GradientError`)."""


class GradientError(EngineError):
    """The backward pass produced an infinite or NaN gradient.

    ``kind`` says which number failed; every number involved is finite except the last:

    - ``"local"``: the local derivative d node / d parent is undefined or not finite
      (``sqrt`` at 0): the edge itself has no finite gradient.
    - ``"product"``: ``upstream * local`` along the edge overflows.
    - ``"sum"``: the edge's ``contribution`` added to the gradient ``before`` that ``parent``
      already had from its other consumers in this pass overflows.
    - ``"accumulated"``: the pass itself is finite, but its gradient of ``parent``
      (``contribution``) added to ``parent.grad`` from earlier passes (``before``) overflows.
      No edge is at fault: ``node`` and ``index`` are None.

    Attributes:
        kind: one of the above.
        node: the node that was firing (None for ``"accumulated"``).
        index: which of its inputs the bad edge leads to (None for ``"accumulated"``).
        parent: the node whose gradient is not finite: that input, or the accumulating node.
        local: the local derivative, or None when computing it failed outright (or for
            ``"accumulated"``).
        upstream: the gradient arriving at ``node`` in this pass (None for ``"accumulated"``).
        contribution: ``upstream * local`` (``"sum"``), or this pass's gradient of ``parent``
            (``"accumulated"``); None otherwise.
        before: what ``contribution`` was added to (``"sum"``, ``"accumulated"``), else None.
    """

    def __init__(
        self,
        node: Value | None,
        index: int | None,
        local: float | None,
        upstream: float | None,
        reason: str,
        *,
        kind: GradientFault = "local",
        parent: Value | None = None,
        contribution: float | None = None,
        before: float | None = None,
    ) -> None:
        self.kind = kind
        self.node = node
        self.index = index
        if parent is None:
            if node is None or index is None:
                raise TypeError("GradientError needs the edge (node, index) or the parent")
            parent = node.parents[index]
        self.parent = parent
        self.local = local
        self.upstream = upstream
        self.contribution = contribution
        self.before = before
        self.reason = reason
        super().__init__(reason)

    @classmethod
    def accumulated(cls, parent: Value, contribution: float, before: float) -> GradientError:
        """The ``"accumulated"`` error: ``parent``'s gradient in this pass (``contribution``)
        and its ``.grad`` from earlier passes (``before``) add up past the largest float."""
        return cls(
            None,
            None,
            None,
            None,
            "the gradient is not finite once added to the grad from earlier passes",
            kind="accumulated",
            parent=parent,
            contribution=contribution,
            before=before,
        )
