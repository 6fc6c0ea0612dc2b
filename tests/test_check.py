"""The gradient check (engine/check.py) against independent truth: derivatives derived by hand.

Each case states the true derivative in a comment; the check must agree where backprop is right,
say DIFFER where a grad is corrupted, say kink at relu/abs kinks (with both one-sided slopes), and
turn the classic false DIFFERs of a fixed-step finite difference into agree or inconclusive.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import Value
from engine.check import BUDGET, Check, check_gradients, estimate_all, judge
from engine.parse import parse


def checks(source: str, **values: float) -> dict[str, Check]:
    program = parse(source, values)
    program.backward(trace=False)
    found = check_gradients(program.output, program.inputs, name=program.describe)
    return {c.name: c for c in found}


def only(source: str, **values: float) -> Check:
    (check,) = checks(source, **values).values()
    return check


# --- agree, against hand-derived derivatives ----------------------------------------------------


def test_the_toy_example_agrees_with_its_hand_derived_grads() -> None:
    # r = (x*x + 1)/(y*y - 1): dr/dx = 2x/(y*y - 1) = 16/8 = 2,
    # dr/dy = -2y(x*x + 1)/(y*y - 1)**2 = -6*65/64 = -6.09375
    found = checks("(x*x + 1)/(y*y - 1)", x=8, y=3)
    assert found["x"].verdict == "agree" and found["x"].numeric == pytest.approx(2, rel=1e-9)
    assert found["y"].verdict == "agree"
    assert found["y"].numeric == pytest.approx(-6.09375, rel=1e-9)
    assert found["x"].reason is None and found["x"].agree is True


def test_a_corrupted_grad_differs_with_a_reason() -> None:
    x, y = Value(8.0, "x"), Value(3.0, "y")
    r = (x * x + 1) / (y * y - 1)
    r.backward()
    y.grad = -6.0  # the true grad is -6.09375
    found = {c.name: c for c in check_gradients(r, {"x": x, "y": y})}
    assert found["x"].verdict == "agree"
    assert found["y"].verdict == "differ" and found["y"].agree is False
    assert found["y"].reason and "-6.09375" in found["y"].reason and "-6" in found["y"].reason


@pytest.mark.parametrize("wrong", [1.0003, 0.999, 2.0, -1.0])
def test_small_and_large_corruptions_differ(wrong: float) -> None:
    # d/dx sin(x)*exp(x) = (cos x + sin x) e**x; corrupt it by a factor (3e-4 is past the
    # tolerance of 1e-4, chosen so that a DIFFER always shows in the 6 digits printed)
    x = Value(0.7, "x")
    out = x.sin() * x.exp()
    out.backward()
    true = (math.cos(0.7) + math.sin(0.7)) * math.exp(0.7)
    assert x.grad == pytest.approx(true, rel=1e-12)
    x.grad = true * wrong
    (check,) = check_gradients(out, {"x": x})
    assert check.verdict == "differ"


def test_the_heading_example_names_every_input_including_f() -> None:
    # L = (a*b + c)*f: dL/da = b*f = 12, dL/db = a*f = 8, dL/dc = f = 4, dL/df = a*b + c = 7
    found = checks("L = (a*b + c)*f", a=2, b=3, c=1, f=4)
    expected = {"a": 12, "b": 8, "c": 4, "f": 7}
    for name, grad in expected.items():
        assert found[name].verdict == "agree"
        assert found[name].numeric == pytest.approx(grad, rel=1e-8)


def test_an_unused_input_agrees_at_zero() -> None:
    x, y = Value(2.0, "x"), Value(5.0, "y")
    out = x * x
    out.backward()
    found = {c.name: c for c in check_gradients(out, {"x": x, "y": y})}
    assert found["y"].verdict == "agree" and found["y"].numeric == 0


# --- kinks ---------------------------------------------------------------------------------------


def test_relu_at_zero_is_a_kink_with_the_convention_and_both_slopes() -> None:
    # relu(x) at 0: slope 0 on the left, 1 on the right; PyTorch's relu'(0) = 0; a central
    # difference gives (0 + 1)/2 = 0.5
    check = only("relu(x)", x=0)
    assert check.verdict == "kink" and check.agree is None
    assert check.grad == 0
    assert check.left == pytest.approx(0, abs=1e-12)
    assert check.right == pytest.approx(1, rel=1e-12)
    assert check.numeric == pytest.approx(0.5, rel=1e-9)
    assert check.reason is not None and "\n" not in check.reason
    for words in ("relu'(0) = 0", "PyTorch", "left and right", "0 and 1", "average, 0.5"):
        assert words in check.reason


def test_abs_at_zero_is_a_kink_whose_slopes_average_to_zero() -> None:
    # abs(x) at 0: slopes -1 and 1, abs'(0) = 0 by convention, central difference 0
    check = only("abs(x)", x=0)
    assert check.verdict == "kink"
    assert (check.left, check.right) == (pytest.approx(-1), pytest.approx(1))
    assert check.numeric == pytest.approx(0, abs=1e-9)
    assert check.reason and "abs'(0) = 0" in check.reason and "-1 and 1" in check.reason


def test_a_kink_deeper_in_the_graph_is_found_and_named() -> None:
    # relu(x - 2) at x = 2: the kink is at relu's input x - 2 = 0; slopes 0 and 1
    check = only("3*relu(x - 2) + x", x=2)
    # slopes: 0*3 + 1 = 1 on the left, 3 + 1 = 4 on the right; central (1 + 4)/2 = 2.5
    assert check.verdict == "kink"
    assert check.left == pytest.approx(1) and check.right == pytest.approx(4)
    assert check.numeric == pytest.approx(2.5)
    assert check.reason and "relu(x - 2)" in check.reason


def test_a_kink_is_detected_by_its_slopes_whatever_makes_it() -> None:
    # Built by hand with no op names to go by: f = relu(x) + relu(-x) = |x|, slopes -1 and 1
    x = Value(0.0, "x")
    out = x.relu() + (-x).relu()
    out.backward()
    (check,) = check_gradients(out, {"x": x})
    assert check.verdict == "kink"
    assert (check.left, check.right) == (pytest.approx(-1), pytest.approx(1))


def test_relus_at_zero_on_a_smooth_output_differ_and_say_why() -> None:
    # relu(x) - relu(-x) = x: smooth, true derivative 1; backprop's convention gives 0 + 0 = 0
    check = only("relu(x) - relu(-x)", x=0)
    assert check.verdict == "differ"
    assert check.numeric == pytest.approx(1)
    assert check.reason and "relu'(0) = 0" in check.reason and "smooth" in check.reason


def test_near_a_kink_but_not_at_it_the_check_agrees() -> None:
    # relu(x - 2) at x = 2 + 1e-9: the derivative is 1; steps larger than 1e-9 straddle the kink
    check = only("relu(x - 2)", x=2.000000001)
    assert check.verdict == "agree" and check.numeric == pytest.approx(1)


# --- the false DIFFERs of a fixed step ------------------------------------------------------------


def test_a_steep_tanh_agrees() -> None:
    # d/dx tanh(1e7 x) at 0 = 1e7 (h = 1e-6 gave 1e6: a false DIFFER)
    check = only("tanh(x*1e7)", x=0)
    assert check.verdict == "agree"
    assert check.numeric == pytest.approx(1e7, rel=1e-6)


def test_sin_far_from_zero_agrees() -> None:
    # d/dx sin(x) = cos(x) at x = 1e8 (a step of 6e-6 * 1e8 = 600 is many periods)
    check = only("sin(x)", x=1e8)
    assert check.verdict == "agree"
    assert check.numeric == pytest.approx(math.cos(1e8), rel=1e-6)


def test_a_reciprocal_near_zero_agrees() -> None:
    # d/dx 1/x = -1/x**2 = -1e10 at x = 1e-5 (a step of 6e-6 is not small next to x)
    check = only("1/x", x=1e-5)
    assert check.verdict == "agree"
    assert check.numeric == pytest.approx(-1e10, rel=1e-6)


def test_cancelling_large_values_are_inconclusive_not_differ() -> None:
    # (x + 1e8) - 1e8 = x: derivative 1, but f moves in steps of 1.5e-8, so every quotient is off
    check = only("(x + 1e8) - 1e8", x=1)
    assert check.verdict == "inconclusive"
    assert check.reason and "rounding" in check.reason


def test_a_domain_edge_is_undefined_with_a_reason() -> None:
    # x**1.5 at 0: defined only on the right, for every step
    check = only("x**1.5", x=0)
    assert check.verdict == "undefined" and check.numeric is None
    assert check.reason and "domain edge" in check.reason


def test_sqrt_close_to_its_edge_is_checked_with_a_smaller_step() -> None:
    # d/dx sqrt(x) = 1/(2 sqrt(x)) = 15811.39 at 1e-9: the first step crosses 0, later ones not
    check = only("sqrt(x)", x=1e-9)
    assert check.verdict == "agree"
    assert check.numeric == pytest.approx(1 / (2 * math.sqrt(1e-9)), rel=1e-7)


# --- random smooth programs: the extrapolated difference matches the derivative by hand -----------

_FUNCTIONS = {  # f, f' by hand
    "sin": (math.sin, math.cos),
    "cos": (math.cos, lambda v: -math.sin(v)),
    "exp": (math.exp, math.exp),
    "tanh": (math.tanh, lambda v: 1 - math.tanh(v) ** 2),
    "sigmoid": (lambda v: 1 / (1 + math.exp(-v)), lambda v: math.exp(-v) / (1 + math.exp(-v)) ** 2),
}


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(sorted(_FUNCTIONS)),
    st.floats(-3, 3),
    st.floats(0.1, 50),
)
def test_random_compositions_agree_with_the_chain_rule_by_hand(
    function: str, x: float, k: float
) -> None:
    # d/dx f(k*x) = k f'(k*x)
    f, derivative = _FUNCTIONS[function]
    check = only(f"{function}(x*{k!r})", x=x)
    true = k * derivative(k * x)
    if check.verdict == "inconclusive" and check.error is not None:  # cos at x = 1e-179
        assert true and abs(true) <= check.error, check.reason  # no difference can see it
        assert "too small for a finite difference to see" in (check.reason or "")
        return
    assert check.verdict == "agree", check.reason
    assert check.numeric == pytest.approx(true, rel=1e-6, abs=1e-9 * k)


# --- accumulated passes, the budget -------------------------------------------------------------


def test_a_scaled_estimate_judges_accumulated_grads() -> None:
    # after 3 passes the grad is 3 * 2 = 6 for r = x*x at x = 1
    x = Value(1.0, "x")
    out = x * x
    estimates = estimate_all(out, {"x": x})
    assert judge("x", 6.0, estimates["x"].scaled(3)).verdict == "agree"
    assert judge("x", 2.0, estimates["x"].scaled(3)).verdict == "differ"


def test_past_the_budget_inputs_are_unchecked_with_a_reason() -> None:
    leaves = [Value(1.0, f"a{i}") for i in range(50)]
    out = leaves[0]
    for leaf in leaves[1:]:
        out = out + leaf
    out.backward()
    found = check_gradients(out, {v.label or "": v for v in leaves}, budget=200)
    verdicts = [c.verdict for c in found]
    assert verdicts[0] == "agree" and verdicts[-1] == "unchecked"
    assert verdicts == sorted(verdicts, key=lambda v: v == "unchecked")  # checked ones first
    skipped = [c for c in found if c.verdict == "unchecked"]
    assert skipped[0].reason and f"of {len(leaves)} checked" in skipped[0].reason
    assert BUDGET > 200


def test_a_grad_near_the_largest_float_is_checked_not_called_a_domain_edge() -> None:
    """a*b at a = 1e308: d/db = a = 1e308 by hand, and a*b evaluates on both sides of b. The
    extrapolation multiplied a quotient of 1e308 by 5.8 (inf) and gave up, saying f could not
    be evaluated there (a domain edge)."""
    found = checks("a*b", a=1e308, b=1)
    assert found["b"].verdict == "agree", found["b"]
    assert found["b"].numeric == pytest.approx(1e308, rel=1e-6)
    assert found["a"].verdict == "agree" and found["a"].numeric == pytest.approx(1, rel=1e-9)


@pytest.mark.parametrize(
    ("source", "values", "unseen", "seen"),
    [
        ("x*1e-12 + 1", {"x": 2.0}, "x", None),  # 1 + 2e-12: a change of 1e-17 at h = 1.2e-5
        ("x*1e-3 + y*1e9", {"x": 2.0, "y": 3.0}, "x", "y"),  # 3e9: its rounding is 4.8e-7
        ("exp(x)*1e12 + tanh(y*1e-9)", {"x": 3.0, "y": 7.0}, "y", "x"),
        ("x*1e-12", {"x": 2.0}, None, "x"),  # f itself is tiny: the slope is measured
    ],
)
def test_a_slope_below_what_a_finite_difference_can_see_is_not_called_agreement(
    source: str, values: dict[str, float], unseen: str | None, seen: str | None
) -> None:
    """A finite difference of 0 ± its rounding says nothing about a grad inside that rounding:
    a wrong grad there would "agree" too. Issue 9: "✓ agree" only where it was measured."""
    from engine.parse import parse

    program = parse(source, values)
    program.backward(trace=False)
    found = {c.name: c for c in check_gradients(program.output, program.inputs)}
    if unseen is not None:
        check = found[unseen]
        assert check.verdict == "inconclusive", check
        assert check.reason and "too small for a finite difference to see" in check.reason
    if seen is not None:
        assert found[seen].verdict == "agree", found[seen]


def test_a_kink_within_h_is_not_said_to_be_at_the_value() -> None:
    """abs(x) at x = 1e-300: its kink is at 0, within h of x, not at x (where the slope is 1)."""
    from engine.parse import parse

    program = parse("abs(x)", {"x": 1e-300})
    program.backward(trace=False)
    (check,) = check_gradients(program.output, program.inputs)
    assert check.verdict == "kink"
    assert "at this value of x or within h = " in (check.reason or "")
