"""The work limits of --passes and --steps (issue "Impossible to crash, hang or fool").

Every request the limits accept answers within 5 s and 1 GB; one over them is refused at once in
one line that names the limit. --passes and --steps are bounded by the work they make, counted
in nodes: passes x nodes (MAX_NODE_PASSES) and steps x nodes (MAX_NODE_STEPS). The app's
training window refuses the same, and a long run in it stops when the window closes. Numbers
in options are written with the ASCII digits only.
"""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time

import pytest
from textual.widgets import Input

import stepgrad.training as training
from stepgrad.app import create_app
from stepgrad.cli import main
from stepgrad.examples import EXAMPLES, mlp_params
from stepgrad.lesson.report import MAX_NODE_PASSES, most_passes
from stepgrad.screens.training import TrainingScreen, compact_lines
from stepgrad.training import (
    MAX_NODE_STEPS,
    Cancelled,
    Run,
    TooMuchWork,
    Training,
    check_work,
    compare,
    format_comparison,
    most_steps,
)

MLP_NODES = 324


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def refused(argv: list[str], says: str) -> None:
    start = time.perf_counter()
    code, out, err = run_cli(*argv)
    assert time.perf_counter() - start < 1.0
    assert code == 2 and not out
    assert len(err.splitlines()) == 1 and err.startswith("stepgrad: error: "), err
    assert says in err, err


# --- the budgets ----------------------------------------------------------------------------------


def test_the_budgets_on_the_mlp() -> None:
    # 300,000 // 324 and 10,000 // 324
    assert most_steps(MLP_NODES) == 925 and most_passes(MLP_NODES) == 30
    check_work(925, MLP_NODES)
    with pytest.raises(TooMuchWork, match="the limit is 300,000: use at most 925 steps"):
        check_work(926, MLP_NODES)
    check_work(1, 10**9)  # one step is never refused: it is no more than one pass
    assert most_steps(1) == training.MAX_STEPS and most_passes(1) == 1000


@pytest.mark.parametrize(
    "argv",
    [
        ["--example", "mlp", "--train", "--json", "--steps", "10000"],
        ["--example", "mlp", "--train", "--print", "--steps", "10000"],
        ["--example", "mlp", "--train", "--print", "--steps", "926"],
    ],
)
def test_too_many_steps_for_the_size_are_refused_at_once(argv: list[str]) -> None:
    steps = int(argv[-1])
    refused(
        argv,
        f"--steps {steps:,} on 324 nodes is {steps * 324:,} node-steps; the limit is "
        f"{MAX_NODE_STEPS:,}: use at most 925 steps",
    )


@pytest.mark.parametrize(
    "mode", [["--json"], ["--print"], ["--graph", "--backward"], ["--json", "--bug", "early"]]
)
def test_too_many_passes_for_the_size_are_refused_at_once(mode: list[str]) -> None:
    refused(
        ["--example", "mlp", "--passes", "1000", *mode],
        f"--passes 1,000 on 324 nodes is 324,000 node-passes; the limit is {MAX_NODE_PASSES:,}: "
        "use at most 30 passes",
    )
    refused(["--example", "mlp", "--passes", "31", *mode], "use at most 30 passes")


def test_the_most_passes_allowed_still_answer() -> None:
    code, out, _ = run_cli("--example", "mlp", "--passes", "30", "--json")
    assert code == 0 and len(json.loads(out)["passes"]) == 30
    code, out, _ = run_cli("(x*x + 1)/(y*y - 1)", "x=8", "y=3", "--passes", "1000", "--json")
    assert code == 0 and len(json.loads(out)["passes"]) == 1000  # small programs: as before


def test_the_steps_of_an_examples_own_loop_are_checked_too() -> None:
    # no --steps given: the example's own count (50 on the MLP) is well inside the budget
    code, out, _ = run_cli("--example", "mlp", "--train", "--json")
    assert code == 0 and json.loads(out)["training"]["steps"] == 50


# --- 10,000 steps of a small program: the output is linear in the steps -------------------------


def test_the_outputs_read_each_runs_losses_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """--print's table and the window's compact table read each run's losses a fixed number of
    times, not once per row (per row, 10,000 steps of x*x + 1 took 12 s to print)."""
    comparison = compare("x*x + 1", {"x": 2}, Training(("x",), 0.1, 2000))
    calls = {"losses": 0, "went_up": 0}
    losses, went_up = Run.losses, Run.went_up

    def counted_losses(self: Run) -> list[float]:
        calls["losses"] += 1
        return losses.fget(self)  # type: ignore[attr-defined, no-any-return]

    def counted_went_up(self: Run) -> list[bool]:
        calls["went_up"] += 1
        return went_up(self)

    monkeypatch.setattr(Run, "losses", property(counted_losses))
    monkeypatch.setattr(Run, "went_up", counted_went_up)
    format_comparison(comparison, plot=(80, 20))
    compact_lines(comparison, 100)
    assert calls["losses"] < 40 and calls["went_up"] < 40, calls


def test_ten_thousand_steps_of_a_small_program_answer_quickly() -> None:
    for mode in ("--print", "--json"):
        start = time.perf_counter()
        code, out, _ = run_cli("x*x+1", "x=2", "--train", mode, "--steps", "10000")
        assert code == 0 and time.perf_counter() - start < 5.0
    doc = json.loads(out)
    assert len(doc["training"]["with_zero_grad"]["iterations"]) == 10_000
    # each iteration is one line of the document (indenting every number took seconds)
    assert out.count('{"iteration": ') == 20_000


# --- numbers in options: ASCII digits only --------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["x*x", "x=1", "--json", "--passes", "３"], "--passes: must be a whole number"),
        (["x*x", "x=1", "--json", "--passes", "1_0"], "--passes: must be a whole number"),
        (["x*x", "x=1", "--json", "--passes", "²"], "--passes: must be a whole number"),
        (["x*x", "x=1", "--train", "--json", "--steps", "３"], "--steps must be a whole number"),
        (["x*x", "x=1", "--train", "--json", "--steps", "²"], "--steps must be a whole number"),
        (["x*x", "x=1", "--train", "--json", "--steps", "1_0"], "--steps must be a whole number"),
        (["x*x", "x=1", "--train", "--json", "--lr", "０.1"], "--lr must be a number"),
        (["--serve", "--port", "８０００"], "--port: must be a whole number"),
    ],
)
def test_numbers_in_options_are_ascii_digits(argv: list[str], says: str) -> None:
    refused(argv, says)


def test_ascii_numbers_still_work() -> None:
    code, out, _ = run_cli("x*x", "x=1", "--json", "--passes", " 3 ")
    assert code == 0 and len(json.loads(out)["passes"]) == 3
    code, out, _ = run_cli("x*x", "x=1", "--train", "--json", "--steps", "3", "--lr", "0.1")
    assert code == 0 and json.loads(out)["training"]["steps"] == 3


def test_list_themes_takes_no_argument() -> None:
    refused(["--list-themes", "junk"], "--list-themes takes no argument (got 'junk')")


# --- the app's training window ------------------------------------------------------------------


def test_a_set_flag_stops_the_loop_before_its_next_step() -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        compare("x*x", {"x": 1}, Training(("x",), 0.1, 10), cancelled=cancel)


async def test_the_window_refuses_too_many_steps_in_its_note() -> None:
    example = EXAMPLES["mlp"]
    app = create_app(example.program, steady=True, example=example)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("t")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TrainingScreen)
        steps = screen.query_one("#training-steps", Input)
        steps.value = "10000"
        steps.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert not screen.running and screen.spec.steps == 50  # nothing ran
        note = str(screen.query_one("#training-form-error").content)  # type: ignore[attr-defined]
        assert note == (
            "steps 10,000 on 324 nodes is 3,240,000 node-steps; the limit is 300,000: use at "
            "most 925 steps on this program"
        )
        steps.value = "３"
        await pilot.press("enter")
        await pilot.pause()
        note = str(screen.query_one("#training-form-error").content)  # type: ignore[attr-defined]
        assert "steps must be a whole number" in note


_RUNNING: list[int] = []
"""One entry per run_training call on its way (in the worker thread)."""


async def _long_run(app, pilot, monkeypatch) -> TrainingScreen:  # type: ignore[no-untyped-def]
    """The MLP's window running 10,000 steps in a worker (the budget lifted for the test)."""
    monkeypatch.setattr(training, "MAX_NODE_STEPS", 10**9)
    original = training.run_training

    def run_training(*args, **kwargs):  # type: ignore[no-untyped-def]
        _RUNNING.append(1)
        try:
            return original(*args, **kwargs)
        finally:
            _RUNNING.pop()

    monkeypatch.setattr(training, "run_training", run_training)
    await pilot.press("t")
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, TrainingScreen)
    screen.run(Training(mlp_params(), 0.05, 10_000))
    assert screen.running
    await asyncio.sleep(0.5)
    assert _RUNNING  # on its way
    return screen


async def _gone(seconds: float = 2.0) -> bool:
    deadline = time.perf_counter() + seconds
    while _RUNNING and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    return not _RUNNING


async def test_closing_the_window_stops_a_long_run(monkeypatch: pytest.MonkeyPatch) -> None:
    example = EXAMPLES["mlp"]
    app = create_app(example.program, steady=True, example=example)
    async with app.run_test(size=(120, 36)) as pilot:
        await _long_run(app, pilot, monkeypatch)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, TrainingScreen)
        assert await _gone()  # 10,000 steps take about 8 s: it stopped, it did not finish


async def test_a_new_run_stops_the_one_on_its_way(monkeypatch: pytest.MonkeyPatch) -> None:
    example = EXAMPLES["mlp"]
    app = create_app(example.program, steady=True, example=example)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await _long_run(app, pilot, monkeypatch)
        screen.run(Training(mlp_params(), 0.05, 3))  # small: runs at once
        assert not screen.running and screen.comparison is not None
        assert screen.comparison.spec.steps == 3
        assert await _gone()
