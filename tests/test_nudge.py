"""Nudge: a grad is a sensitivity. The measured change against functions written out by hand in
Python (no engine), a central difference computed here, the ratio's drift derived by hand, a
kink's one-sided slopes, the CLI's ``--nudge`` and the app's ``>`` ``<`` ``H``."""

from __future__ import annotations

import io
import json
import math
import re
from fractions import Fraction

import pytest
from test_app import TOY, VALUES
from test_truth import NUMBER, works_out

from engine.numbers import format_number
from engine.parse import ProgramError, parse
from stepgrad.app import create_app
from stepgrad.cli import main
from stepgrad.lesson.nudge import DEFAULT_H, SIZES, next_size, nudge
from stepgrad.screens.main import MainScreen
from stepgrad.widgets.lesson import LessonNote

SIZE = (120, 36)


def toy(x: float, y: float) -> float:
    """The toy program, by hand."""
    return (x * x + 1) / (y * y - 1)


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("h", [1e-3, -1e-3, 1e-2, 0.1, 1.0])
@pytest.mark.parametrize(("name", "x", "y"), [("x", 8.0, 3.0), ("y", 8.0, 3.0), ("x", -0.5, 2.0)])
def test_nudge_measures_what_the_function_does(name: str, x: float, y: float, h: float) -> None:
    program = parse(TOY, {"x": x, "y": y})
    program.backward()
    grad = program.inputs[name].grad
    result = nudge(program, name, h, grad)
    moved = toy(x + h, y) if name == "x" else toy(x, y + h)
    assert result.delta_out == moved - toy(x, y)  # the same float operations, to the last bit
    assert result.predicted == grad * h
    # the grad is the slope: against a central difference computed here, independently
    eps = 1e-6
    central = (
        (toy(x + eps, y) - toy(x - eps, y)) / (2 * eps)
        if name == "x"
        else (toy(x, y + eps) - toy(x, y - eps)) / (2 * eps)
    )
    assert grad == pytest.approx(central, rel=1e-6)
    assert result.ratio == pytest.approx(result.delta_out / (central * h), rel=1e-5)


@pytest.mark.parametrize("h", [1e-3, 1e-2, 1e-1, 1.0])
def test_the_ratio_drifts_with_h_as_the_curvature_says(h: float) -> None:
    # r = (x² + 1)/8 at y = 3: Δr = (2xh + h²)/8 and grad·h = 2xh/8, so ratio = 1 + h/(2x)
    program = parse(TOY, VALUES)
    program.backward()
    result = nudge(program, "x", h, program.inputs["x"].grad)
    assert result.ratio == pytest.approx(1 + h / 16, rel=1e-9)
    words = result.verdict()
    assert ("Close to 1" in words) == (h / 16 < 1e-3)
    if h / 16 >= 1e-3:
        assert "drift apart" in words


def test_the_drift_grows_with_h() -> None:
    program = parse(TOY, VALUES)
    program.backward()
    offs = [abs(nudge(program, "x", h, 2.0).ratio - 1) for h in SIZES]  # type: ignore[operator]
    assert offs == sorted(offs) and offs[0] < 1e-4 < 0.05 < offs[-1]


def test_at_a_kink_the_one_sided_slopes_are_shown() -> None:
    # relu(x) + 2*abs(x) at x = 0: slope 1 + 2 = 3 on the right, 0 - 2 = -2 on the left (by
    # hand); backprop's grad is the convention relu'(0) + 2 abs'(0) = 0
    program = parse("relu(x) + 2*abs(x)", {"x": 0})
    program.backward()
    assert program.inputs["x"].grad == 0
    for h in (1e-3, -1e-3):
        result = nudge(program, "x", h, 0.0)
        right, left = result.slopes  # type: ignore[misc]
        assert right == pytest.approx(3) and left == pytest.approx(-2)
        assert result.ratio is None
        assert "convention" in result.verdict() and "relu(x)" in result.verdict()
        kink = result.to_json()["kink"]
        assert kink["right_slope"] == pytest.approx(3)  # type: ignore[index]


def test_a_nudge_that_leaves_the_domain_is_one_line() -> None:
    program = parse("log(x)", {"x": 0.0005})
    program.backward()
    with pytest.raises(ProgramError, match="log"):
        nudge(program, "x", -0.001, program.inputs["x"].grad)
    with pytest.raises(ProgramError, match="not an input"):
        nudge(program, "z", 0.001, 1.0)
    with pytest.raises(ProgramError, match="other than 0"):
        nudge(program, "x", 0.0, 1.0)


def test_next_size_cycles() -> None:
    assert next_size(DEFAULT_H) == 0.01
    assert [next_size(h) for h in SIZES] == [*SIZES[1:], SIZES[0]]


# --- the command line ---------------------------------------------------------------------------


def test_cli_nudge_json() -> None:
    code, out, err = run_cli(TOY, "x=8", "y=3", "--json", "--nudge", "x")
    assert code == 0, err
    nudged = json.loads(out)["nudge"]
    assert nudged["input"] == "x" and nudged["h"] == DEFAULT_H
    assert nudged["delta_out"] == toy(8.001, 3) - toy(8, 3)
    assert nudged["predicted"] == 2 * DEFAULT_H
    assert nudged["ratio"] == pytest.approx(1 + DEFAULT_H / 16, rel=1e-9)
    code, out, _ = run_cli(TOY, "x=8", "y=3", "--json", "--nudge=y=0.5")
    nudged = json.loads(out)["nudge"]
    assert nudged["h"] == 0.5 and nudged["delta_out"] == toy(8, 3.5) - toy(8, 3)


def test_cli_nudge_print() -> None:
    code, out, err = run_cli(TOY, "x=8", "y=3", "--print", "--nudge", "x=0.1")
    assert code == 0, err
    text = out.split("nudge:")[1]
    assert "measured" in text and "predicted" in text and "ratio" in text
    assert "1.00625" in text  # 1 + 0.1/16
    assert "drift apart" in text
    code, out, err = run_cli(TOY, "x=8", "y=3", "--print", "--nudge", "x")
    assert "Close to 1" in out and "(try --nudge x=0.1)" in out  # how to see the drift


def test_cli_nudge_after_passes_compares_with_one_pass() -> None:
    # two passes without zero_grad: x.grad = 4, but r still moves by about 2·h
    code, out, _ = run_cli(TOY, "x=8", "y=3", "--json", "--passes", "2", "--nudge", "x")
    nudged = json.loads(out)["nudge"]
    assert nudged["grad"] == 4 and nudged["one_pass_grad"] == 2
    assert nudged["ratio"] == pytest.approx(0.5, rel=1e-3)


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--nudge", "z", "--print"], "'z' is not an input"),
        (["--nudge", "x=0", "--json"], "other than 0"),
        (["--nudge", "x=1e-320", "--print"], "too small to move x = 8"),
        (["--nudge", "x"], "--nudge goes with --print or --json"),
        (["--nudge", "x", "--graph"], "--nudge goes with --print or --json"),
    ],
)
def test_cli_nudge_errors(argv: list[str], says: str) -> None:
    code, out, err = run_cli(TOY, "x=8", "y=3", *argv)
    assert code == 2 and out == ""
    assert err.startswith("stepgrad: error:") and says in err
    assert "Traceback" not in err


def test_cli_nudge_out_of_the_domain() -> None:
    code, _, err = run_cli("log(x)", "x=0.0005", "--print", "--nudge", "x=-0.001")
    assert code == 2 and "log" in err and len(err.strip().splitlines()) == 1


# --- the app ------------------------------------------------------------------------------------


async def test_nudge_keys_in_the_app() -> None:
    app = create_app(TOY, VALUES, steady=True)
    async with app.run_test(size=SIZE) as pilot:
        screen: MainScreen = app.main
        await pilot.press("right", "right")
        await pilot.pause()
        await pilot.press("greater_than_sign")  # nothing selected: it says why
        await pilot.pause()
        assert any("select an input" in str(n.message) for n in app._notifications)
        assert app.walk.program.inputs["x"].data == 8
        screen.select(app.walk.program.inputs["x"])
        await pilot.press("greater_than_sign")
        await pilot.pause()
        walk = app.walk
        assert walk.program.inputs["x"].data == 8 + DEFAULT_H  # the value on screen moved
        assert walk.program.output.data == toy(8 + DEFAULT_H, 3)
        assert walk.key == (1, 0, False)  # the pass starts over
        assert screen.selected is walk.program.inputs["x"]  # still selected: nudge again
        note = screen.query_one(LessonNote).text()
        assert "measured" in note and "1.0000625" in note
        await pilot.press("H")  # h = 0.01
        await pilot.press("less_than_sign")
        await pilot.pause()
        x = app.walk.program.inputs["x"].data
        assert x == 7.991  # 8.001 - 0.01 as written: exactly the float 7.991
        result = screen.nudged
        # the step taken: 7.991 - 8.001 in floats, -0.01 to 13 digits
        assert result is not None and result.h == 7.991 - 8.001 == pytest.approx(-0.01, rel=1e-12)
        assert result.delta_out == toy(x, 3) - toy(8 + DEFAULT_H, 3)
        await pilot.press("end")
        await pilot.pause()
        # the grad at the new point, by hand: 2x/8
        assert app.walk.grad(app.walk.program.inputs["x"]) == pytest.approx(2 * x / 8)
        assert app.contained == []


async def test_nudge_refuses_a_computed_node() -> None:
    app = create_app(TOY, VALUES, steady=True)
    async with app.run_test(size=SIZE) as pilot:
        screen: MainScreen = app.main
        screen.select(app.walk.program.output)
        await pilot.press("greater_than_sign")
        await pilot.pause()
        assert any("select an input to nudge" in str(n.message) for n in app._notifications)
        assert app.walk.program.inputs["x"].data == 8


async def test_a_nudge_out_of_the_domain_says_so_and_changes_nothing() -> None:
    app = create_app("log(x)", {"x": 0.0005}, steady=True)
    async with app.run_test(size=SIZE) as pilot:
        screen: MainScreen = app.main
        screen.select(app.walk.program.inputs["x"])
        await pilot.press("less_than_sign")
        await pilot.pause()
        assert any("cannot nudge x" in str(n.message) for n in app._notifications)
        assert app.walk.program.inputs["x"].data == 0.0005
        assert app.contained == []


def test_the_narration_tells_the_nudge() -> None:
    from stepgrad.explain import narrate
    from stepgrad.state import Walkthrough

    program = parse(TOY, VALUES)
    program.backward()
    result = nudge(program, "x", 0.001, 2.0)
    walk = Walkthrough(parse(TOY, {"x": 8.001, "y": 3}))
    walk.nudged = result  # type: ignore[attr-defined]
    text = narrate(walk)[0]
    assert "You nudged x by h = 0.001" in text
    assert "0.002000125" in text and "predicted 2 × 0.001 = 0.002" in text
    assert math.isclose(result.delta_out, 0.002000125, rel_tol=1e-9)


async def test_the_nudge_folds_to_one_line_once_the_pass_begins() -> None:
    """At step 0 the comparison is shown in full; once → is pressed the step panel comes first
    and the nudge keeps one line (the numbers by hand: toy at x = 8, h = 0.001)."""
    app = create_app(TOY, VALUES, steady=True)
    async with app.run_test(size=(40, 12)) as pilot:
        app.main.select(app.walk.program.inputs["x"])
        await pilot.press("greater_than_sign")
        await pilot.pause()
        note = app.main.query_one(LessonNote)
        assert "measured" in note.text() and len(note.content) > 2
        await pilot.press("right")
        await pilot.pause()
        assert len(note.content) == 1
        text = note.text()
        assert "nudge x by h = 0.001" in text and "grad × h 0.002 predicted" in text
        assert all("…" not in line.plain for line in note.lines(note.content_size.width))
        assert app.contained == []


def test_a_linear_output_is_equal_up_to_rounding() -> None:
    """out = 3x moves by exactly 3h in real numbers; in floats 6.3 - 6 is 0.2999999999999998.
    The verdict must blame rounding, not a curve (there is none)."""
    result = nudge(parse("x*3", {"x": 2.0}), "x", 0.1, 3.0)
    assert result.delta_out != result.predicted  # the floats do differ
    verdict = result.verdict()
    assert "rounding" in verdict and "drift apart" not in verdict
    assert "not a straight line" not in verdict


def test_a_tiny_h_is_rounding_not_curvature() -> None:
    """The toy's out = (x*x + 1)/8 in x: the curvature term of the change is h**2/8 (by hand),
    1.25e-25 at h = 1e-12, far below the rounding of out = 8.125 (about 1e-15); at h = 1e-6 it
    is 1.25e-13, above it, and the verdict speaks of the curve."""
    tiny = nudge(parse(TOY, VALUES), "x", 1e-12, 2.0)
    assert "rounding" in tiny.verdict()
    small = nudge(parse(TOY, VALUES), "x", 1e-6, 2.0)
    assert abs(small.delta_out - small.predicted - 1e-12 / 8) < small.rounding
    assert "rounding" not in small.verdict() and "straight line" in small.verdict()


async def test_a_gradient_step_clears_the_nudge_it_made_stale() -> None:
    """The nudge's note measured the output at the old values and predicted with the old grad;
    after u moves the values, it would still read as the present: it goes."""
    app = create_app(TOY, VALUES, steady=True)
    async with app.run_test(size=SIZE) as pilot:
        screen: MainScreen = app.main
        screen.select(app.walk.program.inputs["x"])
        await pilot.press("greater_than_sign")
        await pilot.pause()
        assert "measured" in screen.query_one(LessonNote).text()
        await pilot.press("escape", "end", "u")
        await pilot.pause()
        assert len(screen.updates) == 1
        assert screen.nudged is None
        note = screen.query_one(LessonNote)
        assert not note.display and note.text() == ""
        assert app.contained == []


async def test_the_header_shows_the_nudged_value() -> None:
    """After > twice the top bar's program said x = 8 + h beside out(8 + 2h): one nudge
    behind. It shows the value the graph was computed at."""
    from stepgrad.app import create_app

    app = create_app("x = 8; y = 3; (x*x + 1)/(y*y - 1)", steady=True)
    async with app.run_test(size=SIZE) as pilot:
        app.main.select(app.walk.program.inputs["x"])
        await pilot.press("greater_than_sign", "greater_than_sign")
        await pilot.pause()
        x = 8.002  # 8 + 0.001 + 0.001 as written (in floats, 8.001999999999999)
        assert app.walk.program.inputs["x"].data == x
        assert app.walk.program.output.data == toy(x, 3)
        forms = app.main._program_forms()
        assert forms[0].startswith(f"x = {format_number(x)}; y = 3;"), forms  # 8.02


def test_the_prediction_says_where_its_grad_comes_from() -> None:
    """After a nudge the app starts the pass over: every grad is — again, so the prediction's
    x.grad must say it is the one from the pass before the nudge, at the old x."""
    from stepgrad.lesson.nudge import nudge

    program = parse("x = 8; y = 3; (x*x + 1)/(y*y - 1)")
    result = nudge(program, "x", 0.1, 2.0, None)  # ∂out/∂x = 2x/8 = 2 at x = 8 (by hand)
    predicted = dict(result.lines()[:4])["predicted"]
    assert "x.grad × h = 2 × 0.1 = 0.2" in predicted
    assert "from one backward pass at x = 8, before the nudge" in predicted


async def test_after_two_passes_the_nudge_tests_the_grad_on_screen() -> None:
    """After ``b`` without zero_grad the screen shows x.grad = 4 (two passes of 2x/8 at x = 8,
    by hand): the nudge must test that grad, say it sums two passes, and give one pass's."""
    app = create_app(TOY, VALUES, steady=True)
    async with app.run_test(size=SIZE) as pilot:
        screen: MainScreen = app.main
        await pilot.press("end", "b", "end")
        await pilot.pause()
        x = app.walk.program.inputs["x"]
        assert app.walk.grad(x) == 4.0
        screen.select(x)
        await pilot.press("greater_than_sign")
        await pilot.pause()
        result = screen.nudged
        assert result is not None
        assert (result.grad, result.one_pass, result.passes) == (4.0, 2.0, 2)
        note = screen.query_one(LessonNote).text()
        assert "4 × 0.001" in note and "after 2 backward passes without zero_grad" in note
        assert "The sensitivity is one pass's grad, 2: it predicts 2 × 0.001 = 0.002" in note
        assert app.contained == []


async def test_after_zero_grad_the_nudge_tests_one_pass() -> None:
    app = create_app(TOY, VALUES, steady=True)
    async with app.run_test(size=SIZE) as pilot:
        screen: MainScreen = app.main
        await pilot.press("end", "b", "end", "z")
        await pilot.pause()
        screen.select(app.walk.program.inputs["x"])
        await pilot.press("greater_than_sign")
        await pilot.pause()
        result = screen.nudged
        assert result is not None
        assert (result.grad, result.one_pass, result.passes) == (2.0, None, 1)


def test_cli_nudge_after_passes_says_how_many() -> None:
    code, out, _ = run_cli(TOY, "x=8", "y=3", "--print", "--passes", "3", "--nudge", "x")
    assert code == 0
    assert "x.grad × h = 6 × 0.001" in out  # three passes of 2 (2x/8 at x = 8, by hand)
    assert "after 3 backward passes without zero_grad, at x = 8, before the nudge" in out


# --- what the verdict may claim -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "h", "slope"),
    [
        # by hand: relu(x)**3 + 2*x is 2x on the left and x**3 + 2x on the right: slope 2 at 0
        ("relu(x)**3 + 2*x", 0.1, 2.0),
        # relu(x)**2 is 0 on the left and x**2 on the right: slope 0 at 0 from both sides
        ("relu(x)**2", 1e-6, 0.0),
        # x*relu(x) is 0 on the left and x**2 on the right: slope 0
        ("x*relu(x)", 0.1, 0.0),
    ],
)
def test_a_kink_the_output_smooths_over_is_no_convention(
    source: str, h: float, slope: float
) -> None:
    """relu at 0 on x's way, but the output is smooth there: the two slopes measured with one h
    differ (2.01 and 2 for the first, with h = 0.1) only by the curve, and meet as h shrinks.
    The grad is then the slope, not a convention."""
    program = parse(source, {"x": 0})
    program.backward()
    grad = program.inputs["x"].grad
    assert grad == slope  # backprop's relu'(0) = 0 happens to give the slope, by hand above
    result = nudge(program, "x", h, grad)
    verdict = result.verdict()
    assert "convention" not in verdict and "smooth" in verdict, verdict
    assert "the one-sided slopes meet" in verdict
    assert result.to_json()["kink"]["slopes_stay_apart"] is False  # type: ignore[index]


def test_a_smooth_output_whose_grad_is_not_its_slope_says_so() -> None:
    """relu(x) - relu(-x) is x itself: slope 1 on both sides (by hand); backprop takes
    relu'(0) = 0 at both relus, so its grad is 0, which is no slope of this output."""
    program = parse("relu(x) - relu(-x)", {"x": 0})
    program.backward()
    assert program.inputs["x"].grad == 0
    verdict = nudge(program, "x", 0.1, 0.0).verdict()
    assert "slopes meet, at 1, which the grad 0 is not" in verdict
    assert "convention there" not in verdict and "not a straight line" not in verdict


def test_a_true_kink_keeps_its_two_slopes() -> None:
    # relu(x) + 2*abs(x) at 0: slopes 3 on the right and -2 on the left, by hand, however small h
    program = parse("relu(x) + 2*abs(x)", {"x": 0})
    program.backward()
    result = nudge(program, "x", 0.1, 0.0)
    assert "stay apart (3 and -2)" in result.verdict()
    assert "is a convention there, not a slope" in result.verdict()
    assert result.to_json()["kink"]["slopes_stay_apart"] is True  # type: ignore[index]


def test_each_kink_is_named_once() -> None:
    program = parse("relu(x)*relu(x) + abs(x)", {"x": 0})
    program.backward()
    result = nudge(program, "x", 0.1, 0.0)
    assert result.kinks == ("relu(x)", "abs(x)")
    assert "relu(x) and relu(x)" not in result.verdict()


def test_a_nudge_across_a_kink_names_it_instead_of_curvature() -> None:
    """y = 3x + |x - 0.55| is a straight line on each side of 0.55 (slope 2 left, 4 right, by
    hand). From x = 0.5 a step of 0.1 crosses 0.55: Δy = 1.85 - 1.55 = 0.3 against 2 × 0.1."""
    program = parse("3*x + abs(x - 0.55)", {"x": 0.5})
    program.backward()
    assert program.inputs["x"].grad == 2
    result = nudge(program, "x", 0.1, 2.0)
    assert result.delta_out == pytest.approx(0.3, rel=1e-12)
    verdict = result.verdict()
    assert "crossed a kink" in verdict and "abs(x - 0.55)" in verdict
    assert "not a straight line" not in verdict
    assert result.to_json()["crossed_kink"] == ["abs(x - 0.55)"]
    # a step that stays on this side: 3h - h = 2h exactly as predicted, up to rounding
    small = nudge(program, "x", 0.01, 2.0)
    assert small.crossed == () and "crossed" not in small.verdict()


def test_one_pass_grad_is_never_called_the_correct_grad() -> None:
    """Three overwrite passes leave x.grad = 1 where three correct passes give 6 (3 × 2, 2x/8 at
    x = 8 by hand); two correct passes leave 4 = 2 × 2. What the output's change follows is one
    pass's 2: the nudge must call it that, not "the correct grad"."""
    code, out, _ = run_cli(TOY, "x=8", "y=3", "--print", "--bug", "overwrite", "--passes", "3",
                           "--nudge", "x")  # fmt: skip
    nudged = out.split("\nnudge:")[1]
    assert code == 0 and "correct" not in nudged
    assert (
        "The sensitivity is one pass's grad without the bug, 2: it predicts 2 × 0.001 = 0.002"
        in nudged
    )
    code, out, _ = run_cli(TOY, "x=8", "y=3", "--print", "--passes", "2", "--nudge", "x")
    nudged = out.split("\nnudge:")[1]
    assert "correct" not in nudged
    assert "it adds up 2 passes (2 × 2 = 4). The sensitivity is one pass's grad, 2" in nudged


def test_operands_that_round_alike_are_shown_with_the_digits_that_differ() -> None:
    """3 × (1e12 + 0.001) is 3000000000000.0029296875 in floats (computed here): with 10
    digits both outputs read 3e12, and 3e12 − 3e12 = 0.0029296875 cannot be read."""
    code, out, _ = run_cli("x = 1e12; y = 3*x", "--print", "--nudge", "x")
    measured = next(line for line in out.splitlines() if "measured" in line)
    operands = measured.split(" = ")[2].split(" − ")
    moved = 3 * (1e12 + 0.001)
    assert operands[0] != operands[1], measured
    assert float(operands[0]) == moved and float(operands[1]) == 3e12
    assert f" = {moved - 3e12:.10g} " in measured


async def test_a_bug_mode_nudge_tests_the_grad_on_screen() -> None:
    """micrograd mode, two calls of backward(): the screen shows x.grad as micrograd 0.1.0
    leaves it (computed here by micrograd itself); the nudge must test that number, as
    ``--passes 2 --nudge x`` does, beside one pass's 2 (2x/8 at x = 8, by hand)."""
    from micrograd.engine import Value as M

    mx, my = M(8.0), M(3.0)
    r = (mx * mx + 1) / (my * my - 1)
    r.backward()
    r.backward()
    app = create_app(TOY, VALUES, steady=True, bug="micrograd")
    async with app.run_test(size=SIZE) as pilot:
        screen: MainScreen = app.main
        await pilot.press("end", "b", "end")
        await pilot.pause()
        x = app.walk.program.inputs["x"]
        assert app.walk.grad(x) == pytest.approx(mx.grad, rel=1e-12)
        screen.select(x)
        await pilot.press("greater_than_sign")
        await pilot.pause()
        result = screen.nudged
        assert result is not None
        assert result.grad == pytest.approx(mx.grad, rel=1e-12)
        assert (result.one_pass, result.passes, result.bug) == (2.0, 2, "micrograd")
        note = screen.query_one(LessonNote).text()
        assert f"x.grad × h = {format_number(mx.grad)} × 0.001" in note
        assert app.contained == []


async def test_in_a_bug_mode_at_60x20_the_nudge_comes_before_the_rule() -> None:
    """At 60x20 in a bug mode, `>` showed only the bug's 4-line rule: the measured and
    predicted lines, the answer to the key just pressed, were below the fold."""
    app = create_app(TOY, VALUES, steady=True, bug="overwrite")
    async with app.run_test(size=(60, 20)) as pilot:
        screen: MainScreen = app.main
        screen.select(app.walk.program.inputs["x"])
        await pilot.press("greater_than_sign")
        await pilot.pause()
        lines = screen.query_one(LessonNote).text().splitlines()
        assert lines[0].lstrip().startswith("nudge"), lines[:3]
        rule = next(line for line in lines if "bug mode: overwrite" in line)
        assert rule.endswith(app.walk.bug.summary)  # in a few words: shown in full before


def test_far_apart_the_ratio_is_said_not_a_percentage_and_h_0_is_echoed_as_typed() -> None:
    """`(1.33e3% off)` read badly: z = x**3 at x = 2 nudged by 10 moves by 1728 - 8 = 1720
    against 12 × 10 = 120 predicted (by hand): 14.3 times. `--nudge x=0` said "not 0.0"."""
    out = io.StringIO()
    assert main(["x=2; z=x*x*x", "--print", "--nudge", "x=10"], out=out) == 0
    assert "(measured / predicted = 14.3)" in out.getvalue() and "e3%" not in out.getvalue()
    out = io.StringIO()
    assert main(["x=2; z=x*x", "--print", "--nudge", "x=1"], out=out) == 0
    assert "(25% off)" in out.getvalue()  # (9 - 4) / (4 × 1) = 1.25, by hand
    err = io.StringIO()
    assert main(["x=2; z=x*x", "--print", "--nudge", "x=0"], out=io.StringIO(), err=err) == 2
    assert err.getvalue().rstrip().endswith("other than 0, not 0")


async def test_a_nudge_moves_only_the_input_it_names() -> None:
    """``x = 1; y = x*2; x = 5; y + x``: x₁ and x₂ are two inputs. Nudging x₁ set both (the
    value went by the source's name x), so the output moved by 3h, not by the 2h its grad
    says; by hand, out = 2*x₁ + x₂ = 2*1.001 + 5 = 7.002."""
    app = create_app("x = 1; y = x*2; x = 5; y + x", steady=True)
    async with app.run_test(size=(120, 36)) as pilot:
        app.main.select(app.walk.program.inputs["x₁"])
        await pilot.press("greater_than_sign")
        await pilot.pause()
        program = app.walk.program
        assert program.inputs["x₁"].data == 1.001 and program.inputs["x₂"].data == 5.0
        assert program.output.data == pytest.approx(7.002, abs=1e-12)


def test_a_value_read_before_its_name_is_assigned_keeps_the_assignment() -> None:
    """``y = x + q; q = 3; y*q`` with q=1.5: the value sets the q read first (q₁); q = 3 stays
    (q₂). The editor's text and the header wrote q = 1.5 over q = 3. By hand: (1 + 1.5)*3."""
    from stepgrad.state import editable_source

    program = parse("y = x + q; q = 3; y*q", {"x": 1, "q": 1.5})
    assert program.output.data == 7.5
    values = {"x": 1.0, "q": 1.5}
    assert editable_source(program, values, free=False) == "y = x + q; q = 3; y*q"
    text = editable_source(program, values)
    assert text == "x = 1\nq = 1.5\ny = x + q; q = 3; y*q"
    again = parse(text)
    assert {k: v.data for k, v in again.inputs.items()} == {"x": 1.0, "q₁": 1.5, "q₂": 3.0}
    assert again.output.data == 7.5


# --- the written arithmetic works out, in decimal from the written strings ----------------------

TINY_X = "x*1e-3 + y*1e9"
"""The tester's program: at x = 2, y = 3 the output is 3e9, where a float's last bit is 2**-21
(about 4.8e-7), and x's grad 1e-3 predicts a change of only 1e-6 for h = 0.001."""


def arithmetic(text: str) -> list[tuple[str, str, str, str]]:
    """Every ``N − N = N`` and ``N × N = N`` in ``text``, as (a, sign, b, c)."""
    found = []
    for sign in ("−", "×"):
        for a, b, c in re.findall(rf"({NUMBER}) {sign} ({NUMBER}) = ({NUMBER})", text):
            found.append((a, sign, b, c))
    return found


async def test_the_nudge_panels_arithmetic_works_out_at_3e9() -> None:
    """``3000000000.002001 − 3000000000.002 = 9.536743164e-7`` was shown (the written operands
    differ by 1e-6); each difference and product on the panel and in the narration must give,
    worked out by hand, the 10 digits written after =. Out's change, in floats computed here,
    is 2 ulps of 3e9: 2**-20 = 9.5367431640625e-7 (by fractions). The rounding band (about
    5.3e-6) is larger than the predicted 1e-6: no "within that, out moved just as predicted"."""
    from stepgrad.explain import narrate

    out, nudged = 2 * 1e-3 + 3 * 1e9, 2.001 * 1e-3 + 3 * 1e9
    assert Fraction(nudged) - Fraction(out) == Fraction(1, 2**20)
    app = create_app(TINY_X, {"x": 2.0, "y": 3.0}, steady=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("home")
        app.main.select(app.walk.program.inputs["x"])
        await pilot.press("greater_than_sign")
        await pilot.pause()
        note = app.main.query_one(LessonNote).text()
        said = " ".join(narrate(app.walk))
    assert "= 9.536743164e-7" in note
    written = arithmetic(note) + arithmetic(said)
    assert len(written) >= 3
    for a, sign, b, c in written:
        assert works_out(a, sign, b, c, 10), (a, sign, b, c)
    for text in (note, said):
        assert "moved just as" not in text
        assert "neither confirms nor refutes" in text


def test_the_printed_nudge_after_two_passes_works_out() -> None:
    """The zero_grad example, two passes: x.grad 0.877159 is 2 × 0.4385794 (2 × 0.438579 is
    0.877158), and one pass's grad predicts its product with h; as --print writes them."""
    code, out, _ = run_cli("--example", "zero_grad", "--print", "--passes", "2", "--nudge", "x")
    nudged = out.split("\nnudge:")[1]
    assert code == 0
    assert re.search(rf"adds up 2 passes \(2 × {NUMBER} = {NUMBER}\)", nudged)
    assert re.search(rf"it predicts {NUMBER} × 0\.001 = {NUMBER}", nudged)
    written = arithmetic(" ".join(nudged.split()))
    assert len(written) >= 4
    for a, sign, b, c in written:
        assert works_out(a, sign, b, c, 10 if sign == "−" else 6), (a, sign, b, c)


def test_a_nudge_past_the_largest_float_is_one_line_and_its_rounding_stays_finite() -> None:
    """1e308*sin(x) from x = -pi/2 by h = pi goes from -1e308 to 1e308: the change is past the
    largest float. --json wrote Infinity (not JSON) with exit 0; it is refused in one line. By
    h = 0.001 the change is finite, and the rounding band was 4·eps·(1e308 + 1e308) = inf."""
    import subprocess
    import sys

    def run(*options: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "stepgrad", "1e308*sin(x)", "x=-1.5707963267948966", *options],
            capture_output=True,
            text=True,
            timeout=60,
        )

    refused = run("--json", "--nudge", "x=3.141592653589793")
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.count("\n") == 1 and "past the largest float" in refused.stderr
    small = run("--print", "--nudge", "x=0.001")
    assert small.returncode == 0, small.stderr
    assert "inf" not in small.stdout.replace("info", "")


async def test_nudges_add_as_a_reader_adds() -> None:
    """Up twice and down twice came back to 7.999999999999999, and ten nudges of 0.001 from 8
    reached 8.009999999999994 (the editor showed it): each nudge now steps as the numbers
    written add up, 8 + 0.001 + 0.001 - 0.001 - 0.001 = 8 and 8 + 10 × 0.001 = 8.01."""
    app = create_app(TOY, dict(VALUES), steady=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("tab")
        await pilot.pause()
        for key in [">", ">", "<", "<"]:
            await pilot.press(key)
            await pilot.pause()
        assert app.walk.program.inputs["x"].data == 8.0
        for _ in range(10):
            await pilot.press(">")
            await pilot.pause()
        assert app.walk.program.inputs["x"].data == 8.01
        screen = app.main
        assert screen.nudged is not None and screen.nudged.x == 8.009


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("X", "did you mean x? names are case-sensitive"),
        ("х", "х here is cyrillic small letter ha"),
    ],
)
def test_a_nudge_of_a_mistyped_name_gets_the_parsers_hint(name: str, hint: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main([TOY, "x=8", "y=3", "--print", "--nudge", name], out=out, err=err) == 2
    line = err.getvalue()
    assert line.count("\n") == 1 and line.startswith("stepgrad: error: --nudge: ")
    assert hint in line and not out.getvalue()
