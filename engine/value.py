"""``Value``: one scalar node of a computation graph (micrograd's surface, our op table)."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

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

    __slots__ = (
        "_a",
        "_b",
        "_g",
        "_label",
        "_pass",
        "_pending",
        "_uses",
        "data",
        "grad",
        "op",
        "requires_grad",
    )

    data: float
    grad: float
    op: str
    requires_grad: bool
    # ``label`` is a property over ``_label``, which only a named node has: an op node is made
    # without it, one store fewer per node, and the collector has one field fewer to visit
    _label: str | None
    # The inputs are kept in two slots rather than a tuple: a tuple per node is a second object
    # for the garbage collector to track (it visits every young object, so the forward pass took
    # a third longer) and 56 more bytes.
    _a: Value | None  # the first input, or None for a leaf
    _b: Value | None  # the second input of a binary op, or None
    _uses: int  # edges to this node from consumers: see ``parents``
    # set by a backward pass, for the pass whose mark ``_pass`` holds (unset before the first):
    _pass: object  # the mark of the last pass that reached this node, or None
    _g: float  # that pass's own gradient
    _pending: int  # edges from consumers that pass had still to deliver

    def __init__(self, data: Number, label: str | None = None, *, requires_grad: bool = True):
        if isinstance(data, (str, bytes, bytearray)):  # float("3") would read it: refuse
            raise DomainError(None, (), f"{data!r} is text, not a number")
        try:
            number = float(data)
        except (TypeError, ValueError, OverflowError):
            raise DomainError(None, (), f"{data!r} is not a finite number") from None
        if not _finite(number):
            raise DomainError(None, (number,), f"{number} is not a finite number")
        _leaf(self, number, label, requires_grad)

    @classmethod
    def constant(cls, data: Number, label: str | None = None) -> Value:
        """A value that takes part in the forward pass but receives no gradient."""
        return cls(data, label, requires_grad=False)

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label is not None else ""
        return f"Value(data={self.data}, grad={self.grad}{label})"

    # --- building the graph: every op goes through the table --------------------------------

    def _apply(self, op: Op, *parents: Value) -> Value:
        """Apply ``op`` (unary or binary) to ``parents``; used by the parser."""
        if len(parents) == 1:
            return _UNARY[op.name](parents[0])
        return _BINARY[op.name](parents[0], parents[1])

    # Every operator is made from its op table entry by the factories below the class.
    __add__: Callable[[Value, Value | Number], Value]
    __radd__: Callable[[Value, Number], Value]
    __sub__: Callable[[Value, Value | Number], Value]
    __rsub__: Callable[[Value, Number], Value]
    __mul__: Callable[[Value, Value | Number], Value]
    __rmul__: Callable[[Value, Number], Value]
    __truediv__: Callable[[Value, Value | Number], Value]
    __rtruediv__: Callable[[Value, Number], Value]
    __pow__: Callable[[Value, Value | Number], Value]
    __rpow__: Callable[[Value, Number], Value]
    __neg__: Callable[[Value], Value]
    __abs__: Callable[[Value], Value]
    exp: Callable[[Value], Value]
    log: Callable[[Value], Value]
    sin: Callable[[Value], Value]
    cos: Callable[[Value], Value]
    tanh: Callable[[Value], Value]
    relu: Callable[[Value], Value]
    sigmoid: Callable[[Value], Value]
    sqrt: Callable[[Value], Value]

    def __pos__(self) -> Value:
        return self

    @property
    def label(self) -> str | None:
        """A name for display, or None."""
        return getattr(self, "_label", None)

    @label.setter
    def label(self, label: str | None) -> None:
        self._label = label

    @property
    def parents(self) -> tuple[Value, ...]:
        """The op's inputs, in order; ``a*a`` has ``(a, a)``: two edges."""
        a = self._a
        if a is None:
            return ()
        b = self._b
        return (a,) if b is None else (a, b)

    @parents.setter
    def parents(self, parents: tuple[Value, ...]) -> None:
        # Every node counts the edges to it from its consumers (``_uses``): a backward pass
        # takes them as its first guess at how many contributions each node waits for. It
        # checks a guess that is too high (a consumer outside the graph), not one too low, so
        # the count must follow every change of the inputs.
        parents = tuple(parents)
        if len(parents) > 2 or not all(isinstance(p, Value) for p in parents):
            raise TypeError("parents must be a tuple of at most two Values")
        for parent in self.parents:
            parent._uses -= 1
        for parent in parents:
            parent._uses += 1
        self._a = parents[0] if parents else None
        self._b = parents[1] if len(parents) == 2 else None

    def __copy__(self) -> Value:
        """A new node with the same inputs: one more consumer of each (see ``parents``)."""
        out = _new(Value)
        for name in Value.__slots__:
            if hasattr(self, name):
                setattr(out, name, getattr(self, name))
        out._uses = 0
        out._pass = None
        for parent in out.parents:
            parent._uses += 1
        return out

    # --- gradients -----------------------------------------------------------------------------

    def backward(self, *, trace: bool = False) -> Trace | None:
        """Run one backward pass from this value and add its gradients to every ``.grad``.

        With ``trace=True`` also return the pass as a :class:`engine.backward.Trace`, one
        :class:`engine.backward.Step` per node that fires. Raises
        :class:`engine.errors.GradientError` (changing no grad) if a gradient is not finite:
        in this pass, or once added to the grads earlier passes left (``.grad`` overflows).
        """
        from .backward import backward

        return backward(self, trace=trace)

    def zero_grad(self) -> None:
        """Set the grad of every node in this value's graph to 0."""
        from .backward import zero_grad

        zero_grad(self)


# --- the operators, made from the op table (module level: the forward's hot path) -------------

_new = object.__new__
_INF = float("inf")


def _leaf(out: Value, data: float, label: str | None, requires_grad: bool) -> Value:
    """Fill ``out`` as a leaf holding ``data`` (a finite float, checked by the caller)."""
    out.data = data
    out.grad = 0.0
    out.op = ""
    out._a = out._b = None
    if label is not None:
        out._label = label
    out.requires_grad = requires_grad
    out._uses = 0
    out._pass = None
    return out


def _lift(other: object) -> Value:
    """A plain number as a constant Value; anything else is a TypeError, as in Python."""
    if other.__class__ is float and other - other == 0.0:
        # a finite float, the commonest case (``w * 0.5``): what Value.__init__ makes of it,
        # without its checks, in half the time
        return _leaf(_new(Value), other, None, False)
    if isinstance(other, Value):
        return other
    if not isinstance(other, (int, float)):
        raise TypeError(f"unsupported operand for Value: {type(other).__name__}")
    return Value(other, requires_grad=False)


def _binary_method(op: Op, reflected: bool = False) -> Callable[[Value, object], Value]:
    """``a <op> b`` as a method; ``reflected`` makes ``__radd__`` and friends (``2 * x``)."""
    forward = op.forward
    domain = op.domain
    name = op.name

    def method(self: Value, other: Any) -> Value:
        if other.__class__ is not Value:
            other = _lift(other)
        if reflected:
            a, b = other, self
        else:
            a, b = self, other
        x = a.data
        y = b.data
        if domain is not None:
            reason = domain(x, y)
            if reason is not None:
                raise DomainError(op, (x, y), reason)
        try:
            data = forward(x, y)
        except (ArithmeticError, ValueError):
            data = _INF
        if data - data:  # inf or nan (x - x is 0.0 for every finite x)
            raise _overflow(op, x, y)
        out = _new(Value)
        out.data = data
        out.grad = 0.0
        out.op = name
        out._a = a
        out._b = b
        out.requires_grad = a.requires_grad or b.requires_grad
        out._uses = 0
        out._pass = None
        a._uses += 1
        b._uses += 1
        return out

    method.__name__ = f"__{'r' if reflected else ''}{name}__"
    return method


def _overflow(op: Op, *inputs: float) -> DomainError:
    return DomainError(op, inputs, "the result is too large (overflow)")


# The three commonest operators written out: a sum, difference or product of two finite floats
# is computed in one bytecode instruction and cannot raise (it overflows to inf), so these skip
# the table's function call, the domain check and the try block (about 4% of a forward pass on
# the benchmark's MLP). Each is used only while the op table's forward is the operator it
# writes out (see ``_WRITTEN_OUT``), and tests check them against the table bit for bit. The
# three bodies differ in one operator and the op's name: a shared helper would cost a call per
# node.


def _add(self: Value, other: Any) -> Value:
    if other.__class__ is not Value:
        other = _lift(other)
    data = self.data + other.data
    if data - data:  # inf or nan: the sum overflowed
        raise _overflow(OPS["+"], self.data, other.data)
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out.op = "+"
    out._a = self
    out._b = other
    out.requires_grad = self.requires_grad or other.requires_grad
    out._uses = 0
    out._pass = None
    self._uses += 1
    other._uses += 1
    return out


def _sub(self: Value, other: Any) -> Value:
    if other.__class__ is not Value:
        other = _lift(other)
    data = self.data - other.data
    if data - data:
        raise _overflow(OPS["-"], self.data, other.data)
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out.op = "-"
    out._a = self
    out._b = other
    out.requires_grad = self.requires_grad or other.requires_grad
    out._uses = 0
    out._pass = None
    self._uses += 1
    other._uses += 1
    return out


def _mul(self: Value, other: Any) -> Value:
    if other.__class__ is not Value:
        other = _lift(other)
    data = self.data * other.data
    if data - data:
        raise _overflow(OPS["*"], self.data, other.data)
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out.op = "*"
    out._a = self
    out._b = other
    out.requires_grad = self.requires_grad or other.requires_grad
    out._uses = 0
    out._pass = None
    self._uses += 1
    other._uses += 1
    return out


_WRITTEN_OUT: dict[str, tuple[Callable[[float, float], float], Callable[..., Value]]] = {
    "+": (operator.add, _add),
    "-": (operator.sub, _sub),
    "*": (operator.mul, _mul),
}
"""The written-out operators, by op name, with the table forward each one writes out."""


def _unary_method(op: Op) -> Callable[[Value], Value]:
    """``op(a)`` as a method: ``x.tanh()``, ``-x``, ``abs(x)``."""
    forward = op.forward
    domain = op.domain
    name = op.name

    def method(self: Value) -> Value:
        x = self.data
        if domain is not None:
            reason = domain(x)
            if reason is not None:
                raise DomainError(op, (x,), reason)
        try:
            data = forward(x)
        except (ArithmeticError, ValueError):
            data = _INF
        if data - data:  # inf or nan
            raise _overflow(op, x)
        out = _new(Value)
        out.data = data
        out.grad = 0.0
        out.op = name
        out._a = self
        out._b = None
        out.requires_grad = self.requires_grad
        out._uses = 0
        out._pass = None
        self._uses += 1
        return out

    method.__name__ = name
    return method


_BINARY = {
    name: written[1]
    if (written := _WRITTEN_OUT.get(name)) and op.forward is written[0]
    else _binary_method(op)
    for name, op in OPS.items()
    if op.arity == 2
}
_UNARY = {name: _unary_method(op) for name, op in OPS.items() if op.arity == 1}
for _dunder, _name in (("add", "+"), ("sub", "-"), ("mul", "*"), ("truediv", "/"), ("pow", "**")):
    setattr(Value, f"__{_dunder}__", _BINARY[_name])
    setattr(Value, f"__r{_dunder}__", _binary_method(OPS[_name], reflected=True))
Value.__neg__ = _UNARY["neg"]
Value.__abs__ = _UNARY["abs"]
for _name in ("exp", "log", "sin", "cos", "tanh", "relu", "sigmoid", "sqrt"):
    setattr(Value, _name, _UNARY[_name])
