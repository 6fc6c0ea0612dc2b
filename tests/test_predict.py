"""Predict mode: reading answers, judging them, the questions of a step, the score, the screen."""

from __future__ import annotations

import math
import subprocess
import sys
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from textual.widgets import Button, Input, Static

from engine.parse import parse
from stepgrad.app import StepgradApp, create_app
from stepgrad.examples import EXAMPLES
from stepgrad.predict import (
    MAX_ANSWER,
    Hints,
    Prediction,
    PredictResult,
    Score,
    exact,
    is_right,
    prediction_for,
    questions_for,
    read_answer,
    tolerance,
)
from stepgrad.screens.predict import PredictScreen
from stepgrad.state import Walkthrough

TOY = EXAMPLES["toy"].program  # x = 8; y = 3; a = x*x + 1; b = y*y - 1; r = a / b


def toy_walk() -> Walkthrough:
    return Walkthrough(parse(TOY))


# --- read_answer --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.125", 0.125),
        ("-6.09375", -6.09375),
        ("1/8", 0.125),
        ("-65/64", -1.015625),
        ("2*3", 6.0),
        ("1e-3", 0.001),
        ("  .5 ", 0.5),
        ("-(1/8)", -0.125),
        ("+2", 2.0),
        ("2**-3", 0.125),
        ("(-2)**2", 4.0),
        ("1 - 0.5**2", 0.75),
        ("pi", math.pi),
        ("e", math.e),
        ("π/4", math.pi / 4),
        ("−1/8", -0.125),  # a typographic minus
        ("2×3", 6.0),
        ("6÷4", 1.5),
        ("-0", 0.0),
        ("1_000", 1000.0),
        ("2**1000", 2.0**1000),
        ("(" * 40 + "1" + ")" * 40, 1.0),
        ("-" * 99 + "1", -1.0),
    ],
)
def test_read_answer_reads_numbers_fractions_and_arithmetic(text: str, value: float) -> None:
    assert read_answer(text) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "type a number"),
        ("   ", "type a number"),
        ("abc", "not a number: 'abc'"),
        ("x", "not a number: 'x'"),
        ("1/b", "not a number: '1/b'"),
        ("__import__('os')", "not a number: \"__import__('os')\""),
        ("__import__('os').system('true')", "not a number"),
        ("'a'", "not a number: \"'a'\""),
        ("1/0", "division by zero in '1/0'"),
        ("0**-1", "division by zero"),
        ("9**9**9", "too large: '9**9**9'"),
        ("10**400", "too large"),
        ("1e999", "too large"),
        ("1e308*10", "too large"),
        ("(-8)**(1/3)", "not a real number"),
        ("2^3", "use ** for powers"),
        ("1,5", "use a point for decimals"),
        ("12.5%", "no percent"),
        ("True", "not a number"),
        ("None", "not a number"),
        ("1j", "not a number"),
        ("[1]", "not a number"),
        ("x.real", "not a number"),
        ("(1).real", "not a number"),
        ("lambda: 1", "not a number"),
        ("1 if 1 else 2", "not a number"),
        ("1 < 2", "not a number"),
        ("abs(-1)", "not a number"),
        ("1 +", "not a number"),
        ("1\x002", "not a number"),
        ("1" * (MAX_ANSWER + 1), "too long"),
        ("1+" * 500 + "1", "too long"),
        ("(" * 5000, "too long"),
    ],
)
def test_read_answer_rejects_everything_else_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(ValueError) as err:
        read_answer(text)
    assert message in str(err.value)
    assert len(str(err.value)) < 120  # fits under an input, even for hostile text


def test_huge_powers_fail_at_once() -> None:
    start = time.perf_counter()
    for text in ("9**9**9", "9**9**9**9", "(10**10)**(10**10)", "2**2**2**2**2**2"):
        with pytest.raises(ValueError, match="too large"):
            read_answer(text)
    assert time.perf_counter() - start < 0.5


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_read_answer_reads_back_any_float(x: float) -> None:
    assert read_answer(repr(x)) == x


@settings(max_examples=300)
@given(st.text(max_size=MAX_ANSWER + 20))
def test_read_answer_raises_only_value_error(text: str) -> None:
    try:
        value = read_answer(text)
    except ValueError:
        return
    assert math.isfinite(value)


# --- is_right -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected", "right"),
    [
        (0.125, 0.125, True),
        (-1.015625, -1.015625, True),
        (-1.02, -1.015625, True),  # 3 significant digits, as the app shows it when narrow
        (-1.016, -1.015625, True),
        (-1.01, -1.015625, False),  # truncated, not rounded: off in the 3rd digit
        (-1.0, -1.015625, False),
        (1.015625, -1.015625, False),  # the sign matters
        (-6.09, -6.09375, True),
        (-6.094, -6.09375, True),
        (-6.1, -6.09375, False),  # 2 significant digits
        (1.12, 1.125, True),  # a tie rounds either way
        (1.13, 1.125, True),
        (1.11, 1.125, False),
        (0.12, 0.125, False),
        (0.707, math.sqrt(0.5), True),
        (0.71, math.sqrt(0.5), False),
        (2.0, 2.0, True),
        (1.99, 2.0, False),
        (12300.0, 12345.0, True),
        (12400.0, 12345.0, False),
        (0.0, 0.0, True),
        (1e-7, 0.0, True),  # absolute 1e-6 near 0
        (2e-6, 0.0, False),
        (0.0, 8.2e-9, True),  # 1 - tanh(10)**2: "0" is a fine hand answer
        (0.0, 3e-5, False),
    ],
)
def test_is_right_means_three_significant_digits(
    answer: float, expected: float, right: bool
) -> None:
    assert is_right(answer, expected) is right


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300))
def test_the_expected_value_rounded_to_three_digits_is_right(x: float) -> None:
    assert is_right(x, x)
    assert is_right(float(f"{x:.3g}"), x)
    assert is_right(float(f"{x:.6g}"), x)  # what the app shows


def test_tolerance() -> None:
    assert tolerance(-1.015625) == pytest.approx(0.005)
    assert tolerance(0.125) == pytest.approx(0.0005)
    assert tolerance(12345) == pytest.approx(50)
    assert tolerance(0.0) == 1e-6
    assert tolerance(1e-9) == 1e-6


def test_exact_shows_short_numbers_in_full() -> None:
    assert exact(-1.015625) == "-1.015625"
    assert exact(-6.09375) == "-6.09375"
    assert exact(2.0) == "2"
    assert exact(math.sqrt(0.5)) == "0.707107"


# --- questions ----------------------------------------------------------------------------------


def test_step_1_of_the_toy_asks_for_a_and_b() -> None:
    walk = toy_walk()
    prediction = prediction_for(walk)
    assert prediction is not None
    assert (prediction.number, prediction.total, prediction.key) == (1, 5, (1, 0, False))
    assert prediction.describe == "r = a / b"
    assert prediction.upstream == 1.0
    assert prediction.upstream_text == "∂r/∂r = 1"
    assert prediction.values_text == "a = 65 · b = 8 · r = 8.125"
    a, b = prediction.questions
    # by hand: dr/da = 1/b = 1/8; dr/db = -a/b**2 = -65/64
    assert (a.name, a.expected, a.before, a.now) == ("a", 0.125, None, "—")
    assert (b.name, b.expected, b.before) == ("b", -65 / 64, None)
    assert a.prompt == "grad of a after this step"
    assert a.working() == [
        "∂r/∂a = 1/b = 1/8 = 0.125",
        "upstream × local = 1 × 0.125 = 0.125",
        "grad — → 0.125 (its first contribution)",
    ]
    assert b.working() == [
        "∂r/∂b = -a/b**2 = -65/8**2 = -1.015625",
        "upstream × local = 1 × -1.015625 = -1.015625",
        "grad — → -1.015625 (its first contribution)",
    ]
    assert questions_for(walk) == [a, b]


def test_the_next_steps_of_the_toy() -> None:
    walk = toy_walk()
    walk.next()
    (q,) = questions_for(walk) or []
    assert (q.name, q.expected) == ("x*x", 0.125)  # a = x*x + 1: da/d(x*x) = 1
    assert q.working()[0] == "∂a/∂(x*x) = 1"  # no "= 1 = 1"
    walk.next()
    (q,) = questions_for(walk) or []
    assert (q.name, q.expected) == ("y*y", -1.015625)


def test_a_parent_reached_twice_is_asked_once_with_both_edges_in_the_working() -> None:
    walk = toy_walk()
    walk.go(3)  # the 4th step fires x*x
    prediction = prediction_for(walk)
    assert prediction is not None and prediction.describe == "x * x"
    (x,) = prediction.questions
    # by hand: dr/dx = 2x * 1/b = 16/8 = 2, one half along each edge
    assert (x.name, x.expected, x.before) == ("x", 2.0, None)
    assert [(e.via, e.contribution, e.before, e.after) for e in x.edges] == [
        (1, 1.0, None, 1.0),
        (2, 1.0, 1.0, 2.0),
    ]
    assert x.working() == [
        "via input 1 of 2:",
        "  ∂(x*x)/∂x = x = 8",
        "  upstream × local = 0.125 × 8 = 1",
        "  grad — → 1 (its first contribution)",
        "via input 2 of 2:",
        "  ∂(x*x)/∂x = x = 8",
        "  upstream × local = 0.125 × 8 = 1",
        "  grad 1 + 1 = 2",
    ]
    walk.next()
    (y,) = questions_for(walk) or []
    assert y.expected == -6.09375  # dr/dy = -a * 2y / b**2 = -65*6/64


def test_a_second_pass_asks_for_the_accumulated_grad() -> None:
    walk = toy_walk()
    walk.end()
    walk.backward_again()
    a, b = questions_for(walk) or []
    assert (a.before, a.now, a.expected) == (0.125, "0.125", 0.25)
    assert a.working()[-1] == "grad 0.125 + 0.125 = 0.25"
    assert b.expected == -2.03125


def test_no_questions_when_no_step_is_left() -> None:
    walk = toy_walk()
    walk.end()
    assert questions_for(walk) is None
    assert prediction_for(walk) is None
    walk = toy_walk()
    walk.next()
    walk.zero_grad()  # abandons the pass
    assert questions_for(walk) is None


def test_a_step_that_sends_nothing_asks_nothing() -> None:
    walk = Walkthrough(parse("2*3"))
    assert questions_for(walk) == []


@pytest.mark.parametrize("name", [name for name in EXAMPLES if name != "mlp"])
def test_every_question_agrees_with_the_walkthrough(name: str) -> None:
    """The expected grad is what the app shows once the step is revealed; before is what it
    shows now."""
    walk = Walkthrough(parse(EXAMPLES[name].program))
    for _ in range(2):  # a clean pass, then one that accumulates
        while (prediction := prediction_for(walk)) is not None:
            for question in prediction.questions:
                assert question.before == walk.grad(question.parent)
            walk.next()
            for question in prediction.questions:
                assert question.expected == walk.grad(question.parent)
                assert question.edges[-1].after == question.expected
        walk.backward_again()


# --- answers and the score ----------------------------------------------------------------------


def test_question_check() -> None:
    a, b = questions_for(toy_walk()) or []
    answer = a.check(" 1/8 ")
    assert (answer.text, answer.value, answer.right) == ("1/8", 0.125, True)
    assert b.check("-1.02").right
    assert not b.check("-1").right
    with pytest.raises(ValueError, match="not a number"):
        a.check("abc")


def test_score() -> None:
    score = Score()
    assert score.text == str(score) == "score 0/0"
    a, b = questions_for(toy_walk()) or []
    result = PredictResult((1, 0, False), (a.check("0.125"), b.check("-1")))
    assert (result.right, result.asked) == (1, 2)
    preview = score.after(result)
    assert preview.text == "score 1/2" and score.text == "score 0/0"
    score.record(result)
    score.record(None)  # a skipped step counts nothing
    score.add(True)
    assert (score.right, score.asked, score.text) == (2, 3, "score 2/3")
    assert score.history == [True, False, True]
    score.reset()
    assert score.text == "score 0/0"


# --- the screen ---------------------------------------------------------------------------------

BIG = (120, 36)
SMALL = (60, 20)


def text_of(app: StepgradApp) -> str:
    """Everything on screen, as plain text."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def open_predict(app: StepgradApp, results: list[PredictResult | None], **kwargs: object):
    screen = PredictScreen(app.walk, **kwargs)  # type: ignore[arg-type]
    app.push_screen(screen, results.append)
    return screen


async def test_right_answers_are_marked_and_counted() -> None:
    app = create_app(TOY, steady=True)
    results: list[PredictResult | None] = []
    score = Score(3, 4)
    async with app.run_test(size=BIG) as pilot:
        await pilot.pause()
        screen = await open_predict(app, results, score=score)
        await pilot.pause()
        assert app.screen is screen
        assert isinstance(app.focused, Input) and app.focused.id == "answer-0"
        text = text_of(app)
        assert "predict · step 1 of 5" in text
        assert "r = a / b fires next · upstream ∂r/∂r = 1" in text
        assert "values: a = 65 · b = 8 · r = 8.125" in text
        assert "grad of a after this step (now —):" in text
        assert "grad of b after this step (now —):" in text
        assert "expected" not in text  # nothing is given away before checking
        await pilot.press(*"1/8", "enter")  # enter moves on to the next answer
        assert app.focused is not None and app.focused.id == "answer-1"
        assert not screen.checked
        await pilot.press(*"-65/64", "enter")  # enter on the last one checks
        await pilot.pause()
        assert screen.checked
        text = text_of(app)
        assert text.count("✓ right") == 2
        assert "✓ right: 1/8 = 0.125" in text
        assert "✓ right: -65/64 = -1.015625" in text
        assert "∂r/∂b = -a/b**2 = -65/8**2 = -1.015625" in text
        assert "2 of 2 right · score 5/6" in text
        assert score.text == "score 3/4"  # the screen does not change it; the callback does
        await pilot.press("right")
        await pilot.pause()
        assert app.screen is app.main
    (result,) = results
    assert result is not None and result.key == (1, 0, False)
    assert [(answer.text, answer.right) for answer in result.answers] == [
        ("1/8", True),
        ("-65/64", True),
    ]
    score.record(result)
    assert score.text == "score 5/6"
    assert app.walk.step == 0  # revealing is the main screen's job


async def test_a_wrong_answer_shows_the_expected_value_and_the_working() -> None:
    app = create_app(TOY, steady=True)
    results: list[PredictResult | None] = []
    async with app.run_test(size=BIG) as pilot:
        await pilot.pause()
        await open_predict(app, results)
        await pilot.pause()
        await pilot.press(*"0.125", "enter", *"-1", "ctrl+s")
        await pilot.pause()
        text = text_of(app)
        assert "✓ right: 0.125" in text
        assert "✗ wrong: you typed -1; expected -1.015625" in text
        assert "∂r/∂b = -a/b**2 = -65/8**2 = -1.015625" in text
        assert "upstream × local = 1 × -1.015625 = -1.015625" in text
        assert "grad — → -1.015625 (its first contribution)" in text
        assert "✗ 1 of 2 right" in text
        assert all(answer.disabled for answer in app.screen.query(Input).results(Input))
        await pilot.press("escape")  # after checking, esc reveals too: the answers count
        await pilot.pause()
        assert app.screen is app.main
    (result,) = results
    assert result is not None
    assert [answer.right for answer in result.answers] == [True, False]


async def test_an_invalid_answer_gets_a_message_and_is_not_judged() -> None:
    app = create_app(TOY, steady=True)
    results: list[PredictResult | None] = []
    async with app.run_test(size=BIG) as pilot:
        await pilot.pause()
        screen = await open_predict(app, results)
        await pilot.pause()
        await pilot.press(*"abc", "enter", *"9**9**9", "enter")
        await pilot.pause()
        assert app.screen is screen and not screen.checked
        text = text_of(app)
        assert "⚠ not a number: 'abc'" in text
        assert "⚠ too large: '9**9**9'" in text
        assert "2 answers to fix" in text
        assert "✓" not in text and "✗" not in text and "expected" not in text
        assert app.focused is not None and app.focused.id == "answer-0"
        assert app.focused.has_class("-invalid")
        await pilot.press("right")  # not checked: → moves the cursor, it does not reveal
        await pilot.pause()
        assert app.screen is screen
        await pilot.press("backspace", "backspace", "backspace", *"1/8")  # clears its message
        await pilot.pause()
        assert "not a number" not in text_of(app)
        assert "1 answer to fix" in text_of(app)
        await pilot.press("enter")  # to the next answer; 9**9**9 is still there
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not screen.checked and "⚠ too large" in text_of(app)
        assert app.focused is not None and app.focused.id == "answer-1"
        await pilot.press(*"-1.02", "enter")  # focus selects the old text: typing replaces it
        await pilot.pause()
        assert screen.checked and text_of(app).count("✓ right") == 2
        await pilot.press("enter")
        await pilot.pause()
    (result,) = results
    assert result is not None and (result.right, result.asked) == (2, 2)


async def test_escape_before_checking_skips_the_step() -> None:
    app = create_app(TOY, steady=True)
    results: list[PredictResult | None] = []
    async with app.run_test(size=BIG) as pilot:
        await pilot.pause()
        await open_predict(app, results)
        await pilot.pause()
        await pilot.press(*"0.5", "escape")
        await pilot.pause()
        assert app.screen is app.main
    assert results == [None]


async def test_the_buttons() -> None:
    app = create_app(TOY, steady=True)
    results: list[PredictResult | None] = []
    async with app.run_test(size=BIG) as pilot:
        await pilot.pause()
        screen = await open_predict(app, results)
        await pilot.pause()
        await pilot.press(*"1/8")
        await pilot.click("#predict-check")
        await pilot.pause()
        assert not screen.checked  # b is empty
        assert "type a number" in text_of(app)
        screen.query_one("#answer-1", Input).value = "-1"
        await pilot.pause(Button().active_effect_duration + 0.1)  # see below
        await pilot.click("#predict-check")
        await pilot.pause()
        assert screen.checked
        # a Button ignores clicks during its 0.2 s "pressed" effect: wait it out, as a hand would
        await pilot.pause(Button().active_effect_duration + 0.1)
        await pilot.click("#predict-check")  # now "Reveal →"
        await pilot.pause()
        assert app.screen is app.main
        await open_predict(app, results)
        await pilot.pause()
        await pilot.click("#predict-skip")
        await pilot.pause()
        assert app.screen is app.main
    assert results[0] is not None and results[1] is None


async def test_a_shared_parent_at_60x20() -> None:
    app = create_app(TOY, steady=True)
    results: list[PredictResult | None] = []
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        app.walk.go(3)
        app.main.sync()
        await pilot.pause()
        screen = await open_predict(app, results, score=Score())
        await pilot.pause()
        box = screen.query_one("#predict-box")
        assert box.region.right <= SMALL[0] and box.region.bottom <= SMALL[1]
        text = text_of(app)
        assert "predict · step 4 of 5" in text
        assert "x * x fires next" in text
        assert "contributions" in text
        await pilot.press("2", "enter")
        await pilot.pause()
        assert screen.checked
        text = text_of(app)
        assert "✓ right: 2" in text  # the first lines of the working are scrolled into view
        assert "via input 1 of 2:" in text
        assert "Reveal →" in text  # the button stays on screen
        await pilot.press("down", "down", "down", "down")
        await pilot.pause()
        assert "grad 1 + 1 = 2" in text_of(app)
        await pilot.press("right")
        await pilot.pause()
        assert app.screen is app.main
    (result,) = results
    assert result is not None and (result.right, result.asked) == (1, 1)


async def test_invalid_input_at_60x20_does_not_crash() -> None:
    app = create_app(TOY, steady=True)
    results: list[PredictResult | None] = []
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        screen = await open_predict(app, results)
        await pilot.pause()
        await pilot.press(*"__import__('os')", "enter")
        screen.query_one("#answer-1", Input).value = "1" * 150  # pasted
        await pilot.press("enter")
        await pilot.pause()
        text = text_of(app)
        assert "not a number" in text and "too long" in text
        assert not screen.checked
        feedback = screen.query_one("#feedback-0", Static)
        assert feedback.region.bottom <= SMALL[1]


async def test_a_prediction_or_nothing() -> None:
    walk = toy_walk()
    prediction = prediction_for(walk)
    assert isinstance(prediction, Prediction)
    assert PredictScreen(prediction).questions == prediction.questions
    walk.end()
    with pytest.raises(ValueError, match="no step left"):
        PredictScreen(walk)


def test_the_predict_logic_never_loads_textual() -> None:
    code = "import sys, stepgrad.predict; print(sorted(m for m in sys.modules if 'textual' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- example numbers never give an answer away --------------------------------------------------


def _three_digits(x: float) -> str:
    """``x`` to 3 significant digits, written independently of :func:`is_right`."""
    return f"{x:.2e}"


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_no_hint_is_an_answer_of_its_step(name: str) -> None:
    """On every step of every example, no example number (placeholder, the line above the
    answers, every message of :func:`read_answer`) is right for an answer of that step."""
    walk = Walkthrough(parse(EXAMPLES[name].program))
    while not walk.finished:
        prediction = prediction_for(walk)
        assert prediction is not None
        hints = prediction.hints
        for hint in hints.all:
            value = read_answer(hint)
            for question in prediction.questions:
                assert not is_right(value, question.expected), (name, walk.step, hint)
                assert _three_digits(value) != _three_digits(question.expected)
        walk.next()


@pytest.mark.parametrize(
    ("text", "kind"), [("", "forms"), ("2^3", "power"), ("1,5", "decimal"), ("5%", "decimal")]
)
def test_messages_use_the_hints_they_are_given(text: str, kind: str) -> None:
    hints = Hints("0.6", "5/6", "-7/6", "6*7", "4**3")
    with pytest.raises(ValueError) as err:
        read_answer(text, hints)
    assert getattr(hints, kind) in str(err.value)
    if text == "5%":
        assert "60%" in str(err.value)


def test_the_toys_first_answers_are_never_hints() -> None:
    """Step 1 of the toy asks for 1/8 and -65/64 (by hand: d(a/b)/da = 1/b = 1/8 and
    d(a/b)/db = -a/b**2 = -65/64): the old hints were exactly these."""
    hints = prediction_for(toy_walk()).hints  # type: ignore[union-attr]
    for hint in hints.all:
        assert _three_digits(read_answer(hint)) not in (
            _three_digits(1 / 8),
            _three_digits(-65 / 64),
        )


NUMBER = r"-?\d+(?:\.\d+)?(?:/\d+)?(?:\*\*?\d+)?"


async def test_the_dialog_shows_no_answer_as_an_example() -> None:
    import re

    app = create_app(TOY, steady=True)
    results: list[PredictResult | None] = []
    async with app.run_test(size=BIG) as pilot:
        await pilot.pause()
        screen = await open_predict(app, results)
        await pilot.pause()
        await pilot.press("ctrl+s")  # both answers empty: each gets "type a number, e.g. ..."
        await pilot.pause()
        text = text_of(app)
        shown = [
            *re.findall(rf"e\.g\. ({NUMBER})", text),
            *re.findall(rf"a number, ({NUMBER}) or ({NUMBER})", text),
        ]
        for placeholder in screen.query(Input).results(Input):
            shown += re.findall(NUMBER, str(placeholder.placeholder))
        examples = [n for item in shown for n in ([item] if isinstance(item, str) else item)]
        assert len(examples) >= 4 and "type a number" in text
        for example in examples:
            value = _three_digits(read_answer(example))
            assert value not in (_three_digits(1 / 8), _three_digits(-65 / 64)), example


async def test_the_predict_notice_does_not_cover_the_dialog_at_60x20() -> None:
    app = create_app(TOY, steady=True)
    async with app.run_test(size=SMALL, notifications=True) as pilot:
        await pilot.press("g")
        await pilot.pause()
        assert "Predict mode" in text_of(app)  # the notice is shown on the main screen
        await pilot.press("right")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PredictScreen)
        skip = screen.query_one("#predict-skip", Button)
        row = text_of(app).splitlines()[skip.region.y]
        assert "Skip" in row and "Check" in row
        assert "Predict mode" not in text_of(app)


async def test_enter_and_escape_together_on_skip_dismiss_once() -> None:
    app = create_app(TOY, steady=True)
    results: list[PredictResult | None] = []
    async with app.run_test(size=BIG) as pilot:
        await pilot.pause()
        await open_predict(app, results)
        await pilot.pause()
        app.screen.query_one("#predict-skip", Button).focus()
        await pilot.pause()
        await pilot.press("enter", "escape")
        await pilot.pause()
        assert app.screen is app.main and app.return_code is None
    assert results == [None]


@pytest.mark.parametrize("check", [False, True])
async def test_a_second_skip_or_reveal_does_not_dismiss_again(check: bool) -> None:
    """Enter on Skip and esc handled in one tick (the esc binding runs while the button's
    Pressed message is still queued) both reach the dialog: it must close once, not pop the
    main screen too (ScreenStackError)."""
    app = create_app(TOY, steady=True)
    results: list[PredictResult | None] = []
    async with app.run_test(size=BIG) as pilot:
        await pilot.pause()
        screen = await open_predict(app, results)
        await pilot.pause()
        if check:
            for i, text in enumerate(("1/8", "-1")):
                screen.query_one(f"#answer-{i}", Input).value = text
            screen.action_check()
            screen.action_reveal()
            screen.action_reveal()
        else:
            screen.action_skip()
            screen.action_skip()
        await pilot.pause()
        assert app.screen is app.main and app.return_code is None
    assert len(results) == 1 and (results[0] is None) is not check


async def test_at_40x12_the_answers_the_verdict_and_the_button_stay_in_view() -> None:
    app = create_app(TOY, steady=True)
    results: list[PredictResult | None] = []
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.pause()
        screen = await open_predict(app, results)
        await pilot.pause()
        box = screen.query_one("#predict-box")
        assert box.region.right <= 40 and box.region.bottom <= 12
        assert "grad of a" in text_of(app) and "Check" in text_of(app)
        await pilot.press(*"1/8", "enter", "0", "enter")
        await pilot.pause()
        assert screen.checked
        text = text_of(app)
        assert "✓ right: 1/8 = 0.125" in text and "Reveal →" in text
        assert "↑↓ Scroll" in text.splitlines()[-1]  # the working does not fit: say so
        for _ in range(12):
            await pilot.press("down")
            if "✗ wrong" in text_of(app):
                break
        assert "✗ wrong: you typed 0; expected" in text_of(app)  # -1.015625 wraps below
        assert "Reveal →" in text_of(app)


async def test_at_80x24_the_dialog_leaves_the_graph_in_view() -> None:
    """Below 30 rows the dialog took the whole screen: at 80x24 two answers stood over 14 empty
    rows and hid the graph the student needs to predict. It is as tall as what it holds."""
    app = create_app(TOY, steady=True)
    results: list[PredictResult | None] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = await open_predict(app, results)
        await pilot.pause()
        box = screen.query_one("#predict-box")
        assert box.region.height <= 12 and box.region.bottom <= 24, box.region
        above = text_of(app).splitlines()[: box.region.y]
        assert any("r = ·/·" in line for line in above), above  # the graph shows
        await pilot.press(*"1/8", "enter", "0", "enter")
        await pilot.pause()
        assert "Reveal →" in text_of(app)  # the working may grow the dialog, never past it
