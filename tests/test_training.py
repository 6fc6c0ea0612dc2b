"""The zero_grad example's training loop, against micrograd, a hand derivation and finite
differences; its text, JSON and screen; and the CLI on the example."""

from __future__ import annotations

import io
import json
import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from micrograd.engine import Value as MG
from test_truth import NUMBER, works_out
from textual.app import App
from textual.content import Content
from textual.widgets import Input, Static

from engine.numbers import format_number
from engine.parse import ProgramError
from stepgrad.cli import main
from stepgrad.examples import EXAMPLES, Example
from stepgrad.screens.training import TrainingScreen
from stepgrad.training import (
    DEFAULT_LR,
    DEFAULT_STEPS,
    EXPLANATION,
    WENT_UP,
    Training,
    compare,
    comparison_json,
    format_comparison,
    run_training,
)

EXAMPLE = EXAMPLES["zero_grad"]
TOL = 1e-12


# --- the same loop, written independently in micrograd --------------------------------------


def mg_tanh(v: MG) -> MG:
    """tanh for micrograd 0.1.0 (which has none), written the way its other ops are."""
    t = math.tanh(v.data)
    out = MG(t, (v,), "tanh")

    def _backward() -> None:
        v.grad += (1 - t**2) * out.grad

    out._backward = _backward
    return out


def neuron_loss(w: MG, b: MG) -> MG:
    """The example's program: x = 1.5; o = tanh(w*x + b); loss = (o - 0.1)**2."""
    return (mg_tanh(w * 1.5 + b) - 0.1) ** 2


def micrograd_loop(loss_of, start: dict[str, float], lr: float, steps: int, *, zero_grad: bool):
    """The textbook loop on micrograd Values: .grad is reset only if zero_grad is True.

    Returns one (loss, data, grad, after) per iteration, then (final loss, final params).
    """
    params = {name: MG(value) for name, value in start.items()}
    records = []
    for _ in range(steps):
        loss = loss_of(**params)
        if zero_grad:
            for p in params.values():
                p.grad = 0
        loss.backward()  # micrograd adds to a leaf's .grad; it never resets it
        data = {name: p.data for name, p in params.items()}
        grad = {name: p.grad for name, p in params.items()}
        for p in params.values():
            p.data -= lr * p.grad
        after = {name: p.data for name, p in params.items()}
        records.append((loss.data, data, grad, after))
    final = loss_of(**params).data
    return records, final, {name: p.data for name, p in params.items()}


def assert_matches_micrograd(run, records, final, final_params) -> None:
    assert len(run.iterations) == len(records)
    for it, (loss, data, grad, after) in zip(run.iterations, records, strict=True):
        assert it.loss == pytest.approx(loss, abs=TOL, rel=TOL)
        for name in data:
            assert it.data[name] == pytest.approx(data[name], abs=TOL, rel=TOL)
            assert it.grad[name] == pytest.approx(grad[name], abs=TOL, rel=TOL)
            assert it.after[name] == pytest.approx(after[name], abs=TOL, rel=TOL)
    assert run.final_loss == pytest.approx(final, abs=TOL, rel=TOL)
    for name, value in final_params.items():
        assert run.final[name] == pytest.approx(value, abs=TOL, rel=TOL)


def test_the_example_is_the_program_the_tests_mirror() -> None:
    assert EXAMPLE.program == "x = 1.5\nw = -0.5\nb = 0\no = tanh(w*x + b)\nloss = (o - 0.1)**2"
    assert EXAMPLE.training == Training(params=("w", "b"), lr=0.2, steps=5)


@pytest.mark.parametrize("zero_grad", [True, False])
def test_example_matches_micrograd(zero_grad: bool) -> None:
    spec = EXAMPLE.training
    assert spec is not None
    run = run_training(EXAMPLE.program, None, spec, zero_grad=zero_grad)
    records, final, final_params = micrograd_loop(
        neuron_loss, {"w": -0.5, "b": 0.0}, 0.2, 5, zero_grad=zero_grad
    )
    assert_matches_micrograd(run, records, final, final_params)


@pytest.mark.parametrize("zero_grad", [True, False])
def test_a_weight_used_twice_matches_micrograd(zero_grad: bool) -> None:
    """Another program: w feeds two edges, relu, a fixed input overridden by values."""
    source = "x = 1\nw = 0.3\nb = 0.1\ny = relu(w*x + b) * w\nloss = (y - 2)**2"
    spec = Training(params=("w", "b"), lr=0.05, steps=4)
    run = run_training(source, {"x": 2.0, "w": 0.7}, spec, zero_grad=zero_grad)

    def loss_of(w: MG, b: MG) -> MG:
        return ((w * 2.0 + b).relu() * w - 2) ** 2

    records, final, final_params = micrograd_loop(
        loss_of, {"w": 0.7, "b": 0.1}, 0.05, 4, zero_grad=zero_grad
    )
    assert_matches_micrograd(run, records, final, final_params)


@settings(max_examples=40, deadline=None)
@given(
    w=st.floats(-2, 2),
    b=st.floats(-2, 2),
    lr=st.floats(0.01, 1),
    steps=st.integers(1, 5),
)
def test_any_start_matches_micrograd(w: float, b: float, lr: float, steps: int) -> None:
    spec = Training(params=("w", "b"), lr=lr, steps=steps)
    for zero_grad in (True, False):
        run = run_training(EXAMPLE.program, {"w": w, "b": b}, spec, zero_grad=zero_grad)
        records, final, final_params = micrograd_loop(
            neuron_loss, {"w": w, "b": b}, lr, steps, zero_grad=zero_grad
        )
        assert_matches_micrograd(run, records, final, final_params)


# --- by hand and by finite differences ----------------------------------------------------


def test_first_iteration_by_hand() -> None:
    # loss = (tanh(w*x + b) - 0.1)**2 at x = 1.5, w = -0.5, b = 0:
    # d loss/d w = 2*(o - 0.1) * (1 - o**2) * x and d loss/d b = 2*(o - 0.1) * (1 - o**2)
    o = math.tanh(-0.5 * 1.5 + 0)
    dloss_db = 2 * (o - 0.1) * (1 - o * o)
    dloss_dw = dloss_db * 1.5
    comparison = compare(EXAMPLE.program, None, EXAMPLE.training)
    for run in comparison.runs:  # nothing has piled up yet: both runs agree on iteration 1
        first = run.iterations[0]
        assert first.number == 1
        assert first.loss == pytest.approx((o - 0.1) ** 2, rel=1e-15)
        assert first.data == {"w": -0.5, "b": 0.0}
        assert first.grad["w"] == pytest.approx(dloss_dw, rel=1e-14)
        assert first.grad["b"] == pytest.approx(dloss_db, rel=1e-14)
        assert first.after["w"] == pytest.approx(-0.5 - 0.2 * dloss_dw, rel=1e-14)
        assert first.after["b"] == pytest.approx(0 - 0.2 * dloss_db, rel=1e-14)
    assert comparison.with_zero_grad.iterations[0] == comparison.without_zero_grad.iterations[0]


def test_own_gradients_against_finite_differences_and_the_running_sum() -> None:
    def loss(w: float, b: float) -> float:
        return (math.tanh(w * 1.5 + b) - 0.1) ** 2

    h = 1e-6
    comparison = compare(EXAMPLE.program, None, EXAMPLE.training)
    for run in comparison.runs:
        total = {"w": 0.0, "b": 0.0}
        for it in run.iterations:
            w, b = it.data["w"], it.data["b"]
            assert it.loss == pytest.approx(loss(w, b), rel=1e-14)
            dw = (loss(w + h, b) - loss(w - h, b)) / (2 * h)
            db = (loss(w, b + h) - loss(w, b - h)) / (2 * h)
            assert it.own["w"] == pytest.approx(dw, abs=1e-8)
            assert it.own["b"] == pytest.approx(db, abs=1e-8)
            for name in total:
                total[name] += it.own[name]
                expected = it.own[name] if run.zero_grad else total[name]
                assert it.grad[name] == pytest.approx(expected, abs=1e-15)
        assert run.final_loss == pytest.approx(loss(run.final["w"], run.final["b"]), rel=1e-14)


def test_fixed_inputs_are_not_updated() -> None:
    spec = Training(params=("w",), lr=0.2, steps=3)
    run = run_training(EXAMPLE.program, None, spec, zero_grad=False)
    for it in run.iterations:
        assert set(it.data) == {"w"}
    assert run.iterations[1].data["w"] == run.iterations[0].after["w"]
    # b stayed 0 and x stayed 1.5: the loss is the loss at w alone
    w = run.final["w"]
    assert run.final_loss == pytest.approx((math.tanh(w * 1.5) - 0.1) ** 2, rel=1e-14)


# --- the lesson ---------------------------------------------------------------------------


def test_the_lesson_holds_for_the_shipped_example() -> None:
    comparison = compare(EXAMPLE.program, None, EXAMPLE.training)
    good = comparison.with_zero_grad.losses
    bad = comparison.without_zero_grad.losses
    assert len(good) == len(bad) == EXAMPLE.training.steps + 1
    assert all(later < earlier for earlier, later in zip(good, good[1:], strict=False))
    assert not any(comparison.with_zero_grad.went_up())
    rises = [later > earlier for earlier, later in zip(bad, bad[1:], strict=False)]
    assert any(rises)
    assert comparison.without_zero_grad.went_up() == [False, *rises]
    assert bad[-1] > bad[0] > 100 * good[-1]  # ends worse than it began; zero_grad ends near 0


def test_the_description_states_the_numbers() -> None:
    records, final_good, _ = micrograd_loop(
        neuron_loss, {"w": -0.5, "b": 0.0}, 0.2, 5, zero_grad=True
    )
    _, final_bad, _ = micrograd_loop(neuron_loss, {"w": -0.5, "b": 0.0}, 0.2, 5, zero_grad=False)
    for value in (records[0][0], final_good, final_bad):
        assert format_number(value, 2) in EXAMPLE.description
    assert "\n" not in EXAMPLE.description and "zero_grad" in EXAMPLE.description


def test_other_examples_carry_no_training_loop() -> None:
    assert [e.name for e in EXAMPLES.values() if e.training is not None] == ["zero_grad"]
    assert Example("n", "d", "x = 1").training is None


# --- errors -------------------------------------------------------------------------------


def test_a_parameter_must_be_an_input() -> None:
    with pytest.raises(ProgramError, match="o is not an input"):
        run_training(EXAMPLE.program, None, Training(("o",), 0.1, 2), zero_grad=True)


@pytest.mark.parametrize(
    "spec", [Training((), 0.1, 2), Training(("w",), 0.1, 0), Training(("w",), math.nan, 2)]
)
def test_a_bad_spec_is_rejected(spec: Training) -> None:
    with pytest.raises(ProgramError):
        compare(EXAMPLE.program, None, spec)


def test_a_failing_iteration_is_named() -> None:
    # d log(w)/dw = 1 at w = 1, so w -= 2 * 1 makes w = -1: log fails after step 1
    match = "training with zero_grad: after step 1 the loss is not a finite number: log"
    with pytest.raises(ProgramError, match=match) as err:
        run_training("w = 1\nloss = log(w)", None, Training(("w",), 2.0, 3), zero_grad=True)
    assert "log(w): log is defined only for positive numbers (w = -1)" in err.value.message
    assert err.value.span is None  # one line: the message names the subexpression


# --- text and JSON ------------------------------------------------------------------------


def rows_of(lines: list[str]) -> dict[str, str]:
    """The side-by-side loss table's rows, by their first word (1, 2, ..., after)."""
    table = lines[lines.index(next(x for x in lines if x.startswith("iteration"))) + 1 :]
    return {line.split()[0]: line for line in table[: table.index("")]}


def test_format_comparison() -> None:
    comparison = compare(EXAMPLE.program, None, EXAMPLE.training)
    lines = format_comparison(comparison)
    text = "\n".join(lines)
    assert lines[0] == "training loop: 5 steps of p.data -= 0.2 * p.grad on w, b; x stays fixed"
    rows = rows_of(lines)
    assert list(rows) == ["1", "2", "3", "4", "5", "after"]
    good, bad = comparison.with_zero_grad, comparison.without_zero_grad
    for i, key in enumerate(rows):
        words = rows[key].split()
        assert words[1] == format_number(good.losses[i])
        assert words[2] == format_number(bad.losses[i])
        assert (WENT_UP in rows[key]) == bad.went_up()[i]
        assert rows[key].count(WENT_UP) <= 1  # never in the zero_grad column
    assert WENT_UP not in rows["1"] and WENT_UP in rows["3"]
    assert "own ∂loss/∂w" in text and "w.grad" in text and "b after" in text
    # the running sum is printed: iteration 2 without zero_grad uses -1.316 + -0.807 = -2.123
    second = bad.iterations[1]
    assert format_number(second.grad["w"]) in text
    assert format_number(second.own["w"]) in text
    assert comparison.lesson().split()[0] in text and "higher than it started" in text
    assert "the loss fell at every step" in text
    start = next(i for i, line in enumerate(lines) if line.startswith("With zero_grad"))
    prose = lines[start:]  # the lesson and the explanation, wrapped
    assert len(prose) > 4
    assert all(len(line) <= 100 for line in prose)
    assert EXPLANATION.split()[0] in text and "sum of every gradient" in text


def test_comparison_json() -> None:
    comparison = compare(EXAMPLE.program, None, EXAMPLE.training)
    doc = json.loads(json.dumps(comparison_json(comparison)))
    assert doc["params"] == ["w", "b"] and doc["lr"] == 0.2 and doc["steps"] == 5
    assert doc["explanation"] == EXPLANATION and doc["lesson"] == comparison.lesson()
    for key, run in (("with_zero_grad", comparison.with_zero_grad),
                     ("without_zero_grad", comparison.without_zero_grad)):  # fmt: skip
        part = doc[key]
        assert part["zero_grad"] == run.zero_grad
        assert [it["iteration"] for it in part["iterations"]] == [1, 2, 3, 4, 5]
        assert [it["loss"] for it in part["iterations"]] == run.losses[:-1]
        assert part["final"]["loss"] == run.final_loss
        assert part["final"]["params"] == dict(run.final)
        went_up = [it["loss_went_up"] for it in part["iterations"]] + [
            part["final"]["loss_went_up"]
        ]
        assert went_up == run.went_up()
        for it, record in zip(part["iterations"], run.iterations, strict=True):
            assert set(it["params"]) == {"w", "b"}
            assert it["params"]["w"] == {
                "data": record.data["w"],
                "own_grad": record.own["w"],
                "grad": record.grad["w"],
                "after": record.after["w"],
            }
    assert not any(doc["with_zero_grad"]["final"]["loss_went_up"] for _ in [0])
    assert doc["without_zero_grad"]["final"]["loss_went_up"] is True


# --- the screen ---------------------------------------------------------------------------


class Host(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.comparison = compare(EXAMPLE.program, None, EXAMPLE.training)

    def on_mount(self) -> None:
        self.theme = "textual-dark"
        self.push_screen(TrainingScreen(self.comparison))


def screen_text(app: App[None]) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def table_text(screen: TrainingScreen) -> str:
    """The numbers under the plot (the window scrolls to them), as plain text."""
    content = screen.query_one("#training-table", Static).content
    return content.plain if isinstance(content, Content) else str(content)


async def test_screen_shows_both_runs_side_by_side() -> None:
    records_good, final_good, _ = micrograd_loop(
        neuron_loss, {"w": -0.5, "b": 0.0}, 0.2, 5, zero_grad=True
    )
    records_bad, final_bad, _ = micrograd_loop(
        neuron_loss, {"w": -0.5, "b": 0.0}, 0.2, 5, zero_grad=False
    )
    app = Host()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TrainingScreen) and screen.side_by_side
        text = table_text(screen)
        assert "with zero_grad" in text and "without zero_grad" in text
        lines = text.splitlines()
        for records, final in ((records_good, final_good), (records_bad, final_bad)):
            for loss, *_ in records:
                assert f"loss {format_number(loss, 4)}" in text
            assert f"loss {format_number(final, 4)}" in text
        # iteration 3's row: zero_grad's loss fell, the other went up, on the same line
        row = next(line for line in lines if f"loss {format_number(records_bad[2][0], 4)}" in line)
        assert f"loss {format_number(records_good[2][0], 4)}" in row and WENT_UP in row
        assert text.count(WENT_UP) == 4  # iterations 3, 4, 5 and after the last step
        # the sum the update used at iteration 2 (micrograd's grads: w -2.123, -1.316 before)
        w2 = records_bad[1][2]["w"]
        own2 = w2 - records_bad[0][2]["w"]
        grad, before, own = re.search(
            rf"grad +({NUMBER})[ │]*\n[ │]*= +({NUMBER}) \+ ({NUMBER})",
            text.split(f"loss {format_number(records_bad[1][0], 4)}", 1)[1],
        ).groups()  # type: ignore[union-attr]
        assert float(grad) == pytest.approx(w2, abs=1e-4)
        assert float(before) == pytest.approx(records_bad[0][2]["w"], abs=1e-4)
        assert float(own) == pytest.approx(own2, abs=1e-4)
        assert works_out(before, "+", own, grad, 4)
        assert "the loss fell at every step" in screen.comparison.lesson()
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, TrainingScreen)


@pytest.mark.parametrize("key", ["q", "t"])
async def test_screen_closes_with(key: str) -> None:
    app = Host()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, TrainingScreen)
        await pilot.press(key)
        await pilot.pause()
        assert not isinstance(app.screen, TrainingScreen)


async def test_screen_at_60x20_stacks_and_scrolls() -> None:
    app = Host()
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TrainingScreen) and not screen.side_by_side
        text = screen_text(app)
        assert "with zero_grad" in table_text(screen)
        assert all(len(line.rstrip()) <= 60 for line in text.splitlines())
        assert all(len(line.rstrip()) <= 60 for line in table_text(screen).splitlines())
        box = screen.query_one("#training-box")
        assert box.max_scroll_x == 0  # stacked: nothing to scroll sideways
        assert box.max_scroll_y > 0
        await pilot.press("end")
        await pilot.pause()
        assert box.scroll_y == box.max_scroll_y
        assert "instead of down." in screen_text(app)
        await pilot.resize_terminal(120, 36)
        await pilot.pause()
        assert screen.side_by_side
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, TrainingScreen)


# --- the CLI on the example ---------------------------------------------------------------


@pytest.mark.parametrize("mode", ["--print", "--json", "--graph"])
def test_cli_runs_the_example(mode: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["--example", "zero_grad", mode], out=out, err=err) == 0, err.getvalue()
    text = out.getvalue()
    assert text and not err.getvalue()
    if mode == "--json":
        doc = json.loads(text)
        assert doc["output"]["data"] == pytest.approx((math.tanh(-0.75) - 0.1) ** 2, rel=1e-15)
        assert set(doc["inputs"]) == {"x", "w", "b"}


def test_cli_lists_the_example() -> None:
    out = io.StringIO()
    assert main(["--list-examples"], out=out, err=io.StringIO()) == 0
    assert any(line.startswith("zero_grad ") for line in out.getvalue().splitlines())


class ExampleHost(App[None]):
    def __init__(self, screen: TrainingScreen) -> None:
        super().__init__()
        self.training_screen = screen

    def on_mount(self) -> None:
        self.push_screen(self.training_screen)


async def test_screen_from_an_example_and_its_values() -> None:
    screen = TrainingScreen(EXAMPLE, {"w": 0.25})
    assert screen.comparison is not None
    assert screen.comparison.with_zero_grad.iterations[0].data["w"] == 0.25
    app = ExampleHost(screen)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        loss = (math.tanh(0.25 * 1.5) - 0.1) ** 2
        assert f"loss {format_number(loss, 4)}" in screen_text(app)


async def test_screen_shows_why_a_loop_could_not_run() -> None:
    broken = Example("broken", "d", "w = 1\nloss = log(w)", Training(("w",), 2.0, 3))
    screen = TrainingScreen(broken)
    assert screen.comparison is None and screen.error is not None
    app = ExampleHost(screen)
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "could not run" in text and "after step 1" in text
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, TrainingScreen)


def test_any_example_trains_in_the_window() -> None:
    """The toy example has no training loop of its own: its inputs are the parameters, with the
    default lr and number of steps."""
    screen = TrainingScreen(EXAMPLES["toy"])
    assert screen.comparison is not None and screen.error is None
    assert screen.comparison.spec == Training(("x", "y"), DEFAULT_LR, DEFAULT_STEPS)


def test_iterations_are_listed_as_ranges() -> None:
    from stepgrad.training import _ranges

    assert _ranges([2, 4, 6, 9, 13, 14, 15, 16, 30]) == ["2", "4", "6", "9", "13–16", "30"]
    assert _ranges([1, 2]) == ["1", "2"] and _ranges([]) == []


@pytest.mark.parametrize("lr", [0.05, 0.1])
def test_the_lesson_says_when_the_run_without_zero_grad_ended_lower(lr: float) -> None:
    """On the MLP at lr 0.05 the summed gradients act like momentum and end lower; at 0.1 they
    overshoot and the loss ends higher than it started. The sentence must match the numbers."""
    from stepgrad.examples import EXAMPLES
    from stepgrad.training import Training, compare

    example = EXAMPLES["mlp"]
    assert example.train is not None
    comparison = compare(example.program, {}, Training(example.train.params, lr, 50))
    lower = comparison.without_zero_grad.losses[-1] < comparison.with_zero_grad.losses[-1]
    assert ("ended lower" in comparison.lesson()) == lower
    higher = comparison.without_zero_grad.losses[-1] > comparison.without_zero_grad.losses[0]
    assert ("higher than it started" in comparison.lesson()) == higher
    assert lower != higher  # the two regimes this test is about


@pytest.mark.parametrize("size", [(120, 36), (60, 20)])
async def test_the_steps_field_shows_the_most_steps_whole(size: tuple[int, int]) -> None:
    """10,000 steps, the most the loop takes, showed as ``000`` in a field too narrow for it."""
    from textual.widgets import Input

    from stepgrad.app import create_app

    app = create_app(EXAMPLES["zero_grad"].program, steady=True)
    async with app.run_test(size=size) as pilot:
        await pilot.press("t")
        await pilot.pause()
        field = app.screen.query_one("#training-steps", Input)
        field.focus()
        field.value = ""
        await pilot.press(*"10000")
        await pilot.press("tab")  # focus moves on: the field scrolls back to its start
        await pilot.pause()
        assert field.value == "10000"
        assert "10000" in "".join(field.render_line(y).text for y in range(field.size.height))


def test_each_grad_is_the_last_plus_this_pass_bit_for_bit_and_an_overflow_is_one_error() -> None:
    """Without zero_grad, w.grad after a step is the grad before it plus this pass's own, as
    float addition gives it (the engine's += on a second pass), and the run whose grads add up
    past the largest float stops with the engine's own words for it (by hand: d exp(x)/dx at
    709 is 8.2e307; three times that is past 1.8e308, twice is not)."""
    run = run_training(EXAMPLE.program, None, EXAMPLE.training, zero_grad=False)
    for earlier, it in zip(run.iterations, run.iterations[1:], strict=False):
        for name in it.grad:
            assert it.grad[name] == earlier.grad[name] + it.own[name]
    spec = Training(params=("x",), lr=1e-318, steps=3)  # x moves by 8e-11 a step
    with pytest.raises(ProgramError) as caught:
        run_training("exp(x)", {"x": 709.0}, spec, zero_grad=False)
    message = caught.value.format()
    assert "step 3" in message and "earlier passes" in message and "zero_grad" in message
    assert run_training("exp(x)", {"x": 709.0}, spec, zero_grad=True).iterations[2].own["x"] > 8e307


# --- the window's written arithmetic works out, in decimal from the written strings ------------


def written_updates(lines: list[str]) -> list[tuple[str, ...]]:
    """Each update the table writes, ``p data → after  grad G = before + own`` (the sum only
    without zero_grad), from each run's cell of each line (side by side: split at │)."""
    found = []
    for line in lines:
        for cell in line.split("│"):
            m = re.search(
                rf"(\S+) +({NUMBER}) → ({NUMBER}) +grad +({NUMBER})"
                rf"(?: = +({NUMBER}) \+ ({NUMBER}))?",
                cell,
            )
            if m:
                found.append(m.groups())
    return found


@pytest.mark.parametrize("lr", [None, 0.123456789])
def test_the_windows_updates_and_sums_work_out(lr: float | None) -> None:
    """The tester's lines: ``-0.776 = -1.415 + 0.6394`` (their sum is -0.7756), ``-0.3534 =
    -0.776 + 0.4227`` (-0.3533), and ``-0.5 → -0.2369  grad -1.316`` (-0.5 - 0.2 × -1.316 is
    -0.2368): every update ``data - lr × grad`` and sum ``before + own`` in the window must
    give, worked out by hand, the number written, to the window's 4 digits, with the lr the
    heading writes (an lr of 0.123456789 as typed, not 0.123457)."""
    from stepgrad.screens.training import training_lines
    from stepgrad.training import heading

    spec = EXAMPLE.training if lr is None else EXAMPLE.training._replace(lr=lr)
    comparison = compare(EXAMPLE.program, None, spec)
    written_lr = re.search(rf"p\.data -= ({NUMBER}) \* p\.grad", heading(comparison))[1]  # type: ignore[index]
    assert float(written_lr) == spec.lr
    lines, side = training_lines(comparison, 400)
    assert side
    found = written_updates([line.plain for line in lines])
    assert len(found) == 2 * spec.steps * len(spec.params)
    sums = 0
    for name, data, after, grad, before, own in found:
        assert works_out(data, "−", grad, after, 4, factor=written_lr), (name, data, grad, after)
        if before is not None:
            sums += 1
            assert works_out(before, "+", own, grad, 4), (name, before, own, grad)
    assert sums == spec.steps * len(spec.params)


async def test_the_windows_fields_fit_at_40x12() -> None:
    """At 40x12 the steps field ran past the window's right border."""
    app = Host()
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TrainingScreen)
        box = screen.query_one("#training-box")
        for field in ("#training-lr", "#training-steps", "#training-params"):
            region = screen.query_one(field).region
            assert box.region.x < region.x and region.right < box.region.right, field
        steps = screen.query_one("#training-steps", Input)
        steps.value = "10000"  # the most steps: shown whole beside the cursor
        await pilot.pause()
        assert steps.content_region.width >= len("10000") + 1


async def test_space_on_a_parameter_reruns_and_clears_the_note() -> None:
    """Untick w and b (space): "nothing to train"; space on b ticks it again: the note must go,
    and the heading say what is shown (b trained, w fixed)."""
    from stepgrad.app import create_app
    from stepgrad.screens.training import ParamList

    app = create_app("w = 0.5; b = 1; (w*3 + b - 2)**2", steady=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("t")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TrainingScreen)
        await pilot.press("tab", "tab", "tab")
        assert isinstance(screen.focused, ParamList)
        await pilot.press("space", "down", "space")
        await pilot.pause()
        note = screen.query_one("#training-form-error", Static)
        assert "nothing to train" in str(note.render()) and note.display
        await pilot.press("space")
        await pilot.pause()
        assert tuple(screen.query_one(ParamList).selected) == ("b",)
        assert not note.display and str(note.render()) == ""
        head = str(screen.query_one("#training-head", Static).render())
        assert "on b; w stays fixed" in head
        assert screen.spec.params == ("b",) and screen.comparison is not None


async def test_enter_on_a_parameter_runs_again_and_changes_no_choice() -> None:
    """The window says "enter runs": enter on a parameter must not tick or untick it (Textual's
    list toggles on enter: a lecturer re-running with enter trained the data marked fixed)."""
    from stepgrad.app import create_app
    from stepgrad.screens.training import ParamList

    app = create_app("w = 0.5; x = fixed(2); (w*x - 3)**2", steady=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("t")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TrainingScreen)
        await pilot.press("tab", "tab", "tab")
        params = screen.query_one(ParamList)
        assert screen.focused is params and tuple(params.selected) == ("w",)
        await pilot.press("down", "enter")  # x highlighted: enter runs, x stays fixed
        await pilot.pause()
        assert tuple(params.selected) == ("w",) and screen.spec.params == ("w",)
        head = str(screen.query_one("#training-head", Static).render())
        assert "on w; x stays fixed" in head
        await pilot.press("enter", "enter")
        await pilot.pause()
        assert tuple(params.selected) == ("w",) and screen.spec.params == ("w",)
        # with nothing checked, enter says so again and checks nothing
        await pilot.press("up", "space")
        await pilot.pause()
        assert tuple(params.selected) == ()
        await pilot.press("enter")
        await pilot.pause()
        note = screen.query_one("#training-form-error", Static)
        assert "nothing to train" in str(note.render()) and note.display
        assert tuple(params.selected) == ()


def test_a_parameter_the_loss_does_not_use_is_named_in_the_lesson() -> None:
    """``w`` trained on ``x*x``: its grad is 0 at every step (nothing depends on it) and the
    lesson said nothing about it; now it says so, in --print, --json and the window alike."""
    spec = Training(("w",), 0.1, 3)
    comparison = compare("w = param(1); x = 2; x*x", None, spec)
    for run in comparison.runs:
        assert [it.own["w"] for it in run.iterations] == [0.0, 0.0, 0.0]
        assert run.unused == ("w",)
    lesson = comparison.lesson()
    assert lesson.startswith("w does not reach the loss: its grad is 0 at every step")
    assert "leaves it at 1." in lesson
    used = compare("w = param(1); x = 2; x*w", None, spec)
    assert used.with_zero_grad.unused == () and "does not reach" not in used.lesson()
    code = main(
        ["w = param(1); x = 2; x*x", "--train", "--steps", "3", "--json"],
        out=(out := io.StringIO()),
    )
    assert (
        code == 0
        and "w does not reach the loss" in json.loads(out.getvalue())["training"]["lesson"]
    )


def test_many_rises_are_counted_not_listed() -> None:
    """lr 0.2 on (2w - 3)**2 without zero_grad: the loss goes up at about every other step of
    2,000. The lesson listed each (about 50 lines); it now counts them and gives the first and
    the last. The count is checked against the losses themselves."""
    spec = Training(("w",), 0.2, 2000)
    comparison = compare("w = param(0.5); x = fixed(2); (w*x - 3)**2", None, spec)
    kept = comparison.without_zero_grad.losses
    # the loss before iteration i + 1 above the one before iteration i: a rise at i + 1
    rises = [i + 1 for i in range(1, 2000) if kept[i] > kept[i - 1]]
    assert len(rises) > 100
    lesson = comparison.lesson()
    assert (
        f"went up at {len(rises):,} of the 2,000 iterations (the first {rises[0]}, the last "
        f"{rises[-1]})" in lesson
    )
    assert len(lesson) < 600
    # a few rises are still listed one by one
    few = compare("w = param(0.5); x = fixed(2); (w*x - 3)**2", None, Training(("w",), 0.2, 12))
    assert "went up at iteration" in few.lesson()


def test_the_plot_marks_at_most_a_few_dozen_rises_per_run() -> None:
    """A solid row of ▲ hid the curve: past 40 rises a run gets one mark per 1/40 of the
    steps (the first rise in it)."""
    from stepgrad.plot import plot_lines

    spec = Training(("w",), 0.2, 2000)
    comparison = compare("w = param(0.5); x = fixed(2); (w*x - 3)**2", None, spec)
    marks = sum(line.count("▲") for line in plot_lines(comparison, 80, 16))
    assert 0 < marks <= 2 * 40


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["3*4", "--train", "--print"], "nothing to train: the program has no inputs"),
        (["3*4", "--train", "--json"], "nothing to train: the program has no inputs"),
        (["w = param(nan); w*2", "--print"], "param(...) takes a finite number: nan is not one"),
        (["w = fixed(inf); w*2", "--train"], "fixed(...) takes a finite number: inf is not one"),
    ],
)
def test_a_refused_request_is_one_line_even_with_a_warning(argv: list[str], says: str) -> None:
    """``3*4`` warns that the output depends on no input; with ``--train`` it is refused too,
    and the warning came first: two lines for one mistake. ``param(nan)`` was called an
    expression of other values."""
    out, err = io.StringIO(), io.StringIO()
    assert main(argv, out=out, err=err) == 2 and not out.getvalue()
    lines = err.getvalue().splitlines()
    assert lines[0].startswith("stepgrad: error: ") and says in lines[0], lines
    assert not any("warning" in line for line in lines)


def test_a_warning_still_comes_with_an_answer() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["3*4", "--print"], out=out, err=err) == 0 and "12" in out.getvalue()
    assert err.getvalue() == (
        "stepgrad: warning: the output does not depend on any input: no gradient flows\n"
    )
