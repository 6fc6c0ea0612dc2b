"""The forward pass's written-out operators (``engine.value._WRITTEN_OUT``) against the op table.

``+``, ``-`` and ``*`` are written out in the engine (one bytecode instruction each instead of a
call to the table's function). Here the table's own function is the reference: every result must
have the same bits, every overflow must be refused with the same error, and the node made must be
the one the general path makes.
"""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine.value as value_module
from engine import OPS, DomainError, Value
from engine.value import _WRITTEN_OUT, _binary_method

FLOATS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.sampled_from([0.0, -0.0, 5e-324, -5e-324, 1e-308, 1.0, -1.0, 1e308, -1e308, 1.7e308]),
)
DUNDERS = {"+": "__add__", "-": "__sub__", "*": "__mul__"}


def bits(x: float) -> int:
    return int.from_bytes(struct.pack("<d", x), "little")


def test_the_written_out_operators_are_the_ones_values_use() -> None:
    # if the table's forward were another function, the operator would fall back to the general
    # path (it reads the table); today it is the operator each one writes out
    assert set(_WRITTEN_OUT) == set(DUNDERS)
    for name, (forward, method) in _WRITTEN_OUT.items():
        assert OPS[name].forward is forward
        assert getattr(Value, DUNDERS[name]) is method


def _outcome(make: object, a: float, b: float) -> tuple[str, object]:
    x, y = Value(a, "a"), Value(b, "b")
    try:
        out = make(x, y)  # type: ignore[operator]
    except DomainError as error:
        return "refused", (str(error), error.inputs)
    assert out.parents == (x, y)
    assert (x._uses, y._uses) == (1, 1)
    return "made", (bits(out.data), out.op, out.label, out.grad, out.requires_grad)


@pytest.mark.parametrize("name", sorted(DUNDERS))
@settings(max_examples=500, deadline=None)
@given(a=FLOATS, b=FLOATS)
def test_written_out_operators_equal_the_table_bit_for_bit(name: str, a: float, b: float) -> None:
    op = OPS[name]
    written = _outcome(getattr(Value, DUNDERS[name]), a, b)
    general = _outcome(_binary_method(op), a, b)  # the path every other op takes
    assert written == general
    want = op.forward(a, b)  # the table's function itself
    if math.isfinite(want):
        assert written[0] == "made" and written[1][0] == bits(want)  # type: ignore[index]
    else:
        assert written == ("refused", ("the result is too large (overflow)", (a, b)))


@pytest.mark.parametrize("name", sorted(DUNDERS))
def test_written_out_operators_with_numbers_and_constants(name: str) -> None:
    method = getattr(Value, DUNDERS[name])
    x = Value(3.0, "x")
    for other, grad_needed in ((2.5, True), (2, True), (Value.constant(2.5), True)):
        out = method(x, other)
        assert out.data == OPS[name].forward(3.0, 2.5 if other != 2 else 2.0)
        assert out.requires_grad is grad_needed
        assert out.parents[1].requires_grad is False  # a number becomes a constant
    both_constant = method(Value.constant(1.0), Value.constant(2.0))
    assert both_constant.requires_grad is False
    with pytest.raises(TypeError):
        method(x, "2")
    assert value_module._overflow(OPS[name], 1.0, 2.0).inputs == (1.0, 2.0)
