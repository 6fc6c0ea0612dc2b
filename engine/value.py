"""``Value``: one scalar node of a computation graph (micrograd's surface, our op table)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import DomainError
from .ops import OPS, Op

if TYPE_CHECKING:
    from .backward import Trace

__all__ = ["Value"]

Number = int | float


def _finite(x: float) -> bool:
    return x - x == 0.0  # False for inf and nan, and cheaper than math.isfinite


class Value:
    """A scalar in a computation graph.

    Attributes:
        data: the number computed in the forward pass.
        grad: d(output)/d(this), summed over every backward pass since the last ``zero_grad``.
        op: the name of the op that made this value (a key of :data:`engine.ops.OPS`), or ``""``
            for a leaf.
        parents: the op's inputs, in order; ``a*a`` has ``(a, a)``: two edges.
        label: a name for display, or None.
        requires_grad: False for constants (numbers written into an expression) and for values
            computed only from constants; backward sends no gradient to them.
    """

    __slots__ = ("data", "grad", "op", "parents", "label", "requires_grad")

    data: float
    grad: float
    op: str
    parents: tuple[Value, ...]
    label: str | None
    requires_grad: bool

    def __init__(self, data: Number, label: str | None = None, *, requires_grad: bool = True):
        try:
            number = float(data)
        except (TypeError, ValueError, OverflowError):
            raise DomainError(None, (), f"{data!r} is not a finite number") from None
        if not _finite(number):
            raise DomainError(None, (number,), f"{number} is not a finite number")
        self.data = number
        self.grad = 0.0
        self.op = ""
        self.parents = ()
        self.label = label
        self.requires_grad = requires_grad

    @classmethod
    def constant(cls, data: Number, label: str | None = None) -> Value:
        """A value that takes part in the forward pass but receives no gradient."""
        return cls(data, label, requires_grad=False)

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label is not None else ""
        return f"Value(data={self.data}, grad={self.grad}{label})"

    # --- building the graph: every op goes through the table --------------------------------

    def _apply(self, op: Op, *parents: Value) -> Value:
        args = tuple(p.data for p in parents)
        reason = op.check(*args) if op.domain is not None else None
        if reason is None:
            try:
                data = op.forward(*args)
            except (ArithmeticError, ValueError):
                data = float("inf")
            if not _finite(data):
                reason = "the result is too large (overflow)"
        if reason is not None:
            raise DomainError(op, args, reason)
        out = Value.__new__(Value)
        out.data = data
        out.grad = 0.0
        out.op = op.name
        out.parents = parents
        out.label = None
        requires = False
        for p in parents:
            requires = requires or p.requires_grad
        out.requires_grad = requires
        return out

    def _binary(self, name: str, other: object, reflected: bool = False) -> Value:
        if not isinstance(other, Value):
            if not isinstance(other, (int, float)):
                return NotImplemented  # type: ignore[no-any-return]
            other = Value.constant(other)
        if reflected:
            return self._apply(OPS[name], other, self)
        return self._apply(OPS[name], self, other)

    def __add__(self, other: Value | Number) -> Value:
        return self._binary("+", other)

    def __radd__(self, other: Number) -> Value:
        return self._binary("+", other, reflected=True)

    def __sub__(self, other: Value | Number) -> Value:
        return self._binary("-", other)

    def __rsub__(self, other: Number) -> Value:
        return self._binary("-", other, reflected=True)

    def __mul__(self, other: Value | Number) -> Value:
        return self._binary("*", other)

    def __rmul__(self, other: Number) -> Value:
        return self._binary("*", other, reflected=True)

    def __truediv__(self, other: Value | Number) -> Value:
        return self._binary("/", other)

    def __rtruediv__(self, other: Number) -> Value:
        return self._binary("/", other, reflected=True)

    def __pow__(self, other: Value | Number) -> Value:
        return self._binary("**", other)

    def __rpow__(self, other: Number) -> Value:
        return self._binary("**", other, reflected=True)

    def __neg__(self) -> Value:
        return self._apply(OPS["neg"], self)

    def __pos__(self) -> Value:
        return self

    def __abs__(self) -> Value:
        return self._apply(OPS["abs"], self)

    def exp(self) -> Value:
        return self._apply(OPS["exp"], self)

    def log(self) -> Value:
        return self._apply(OPS["log"], self)

    def sin(self) -> Value:
        return self._apply(OPS["sin"], self)

    def cos(self) -> Value:
        return self._apply(OPS["cos"], self)

    def tanh(self) -> Value:
        return self._apply(OPS["tanh"], self)

    def relu(self) -> Value:
        return self._apply(OPS["relu"], self)

    def sigmoid(self) -> Value:
        return self._apply(OPS["sigmoid"], self)

    def sqrt(self) -> Value:
        return self._apply(OPS["sqrt"], self)

    # --- gradients -----------------------------------------------------------------------------

    def backward(self, *, trace: bool = False) -> Trace | None:
        """Run one backward pass from this value and add its gradients to every ``.grad``.

        With ``trace=True`` also return the pass as a :class:`engine.backward.Trace`, one
        :class:`engine.backward.Step` per node that fires. Raises
        :class:`engine.errors.GradientError` (changing no grad) if a gradient is not finite.
        """
        from .backward import backward

        return backward(self, trace=trace)

    def zero_grad(self) -> None:
        """Set the grad of every node in this value's graph to 0."""
        from .backward import zero_grad

        zero_grad(self)
