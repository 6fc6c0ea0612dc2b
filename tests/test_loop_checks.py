"""The whole loop's checks and words: a parameter named twice, the lr read one way in the
training window and on the command line (and refused when too small to move anything), the
lesson's sentences against the runs' numbers, the compact table numbered as the lesson, the
plot's y labels on the plot, and the window's program line after a gradient step.

Independent sources: every loss, parameter and grad expected here is worked out by hand or by
a plain-float loop in this file, never read back from stepgrad.
"""

from __future__ import annotations

import io
import math
import re

import pytest
from test_loop import by_hand_loop

from engine.numbers import format_number
from engine.parse import ProgramError, parse
from stepgrad.app import create_app
from stepgrad.cli import main
from stepgrad.examples import EXAMPLES
from stepgrad.plot import plot_lines
from stepgrad.screens.training import TrainingScreen, compact_lines
from stepgrad.training import Training, compare, gradient_step, run_training

QUAD = "w = param(0.5); x = fixed(2); (w*x - 3)**2"
"""(2w - 3)**2 from w = 0.5: loss 4, d loss/dw = 4(2w - 3) = -8 (:func:`by_hand_loop`)."""


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def error_line(*argv: str) -> str:
    """The one error line of a refused command (exit 2, nothing on stdout), without its prefix."""
    code, out, err = run_cli(*argv)
    assert code == 2 and not out, (code, out, err)
    (line,) = err.splitlines()
    assert line.startswith("stepgrad: error: ")
    return line.removeprefix("stepgrad: error: ")


# --- 1. a parameter named twice ------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["--print", "--json"])
def test_params_given_twice_on_the_command_line_is_refused(mode: str) -> None:
    line = error_line(QUAD, "--train", mode, "--params", "w,w")
    assert line == "--params: w is given twice as a parameter (give each parameter once)"


def test_two_spellings_of_one_input_are_one_parameter() -> None:
    """ｘ (fullwidth) is x as the program reads names: trained twice, it would move twice."""
    program = parse("w = 0.5; x = 2; (w*x - 3)**2")
    before = [node.data for node in program.nodes()]
    grad = {"x": 1.0, "ｘ": 1.0}
    with pytest.raises(ProgramError, match="x and ｘ are one input \\(x\\), given twice"):
        gradient_step(program, ("x", "ｘ"), grad, grad, 0.1)
    assert [node.data for node in program.nodes()] == before
    line = error_line("w = 0.5; x = 2; (w*x - 3)**2", "--train", "--params", "x,ｘ")
    assert line.startswith("--params: x and ｘ are one input (x), given twice"), line


def test_the_loop_and_a_step_refuse_a_repeated_parameter() -> None:
    with pytest.raises(ProgramError, match="w is given twice as a parameter"):
        run_training(QUAD, None, Training(("w", "w"), 0.1, 2), zero_grad=True)
    program = parse(QUAD)
    with pytest.raises(ProgramError, match="w is given twice as a parameter"):
        gradient_step(program, ("w", "w"), {"w": -8.0}, {"w": -8.0}, 0.1)
    assert program.inputs["w"].data == 0.5 and program.output.data == 4


async def test_u_and_t_refuse_a_repeated_parameter_in_the_app() -> None:
    """Before, u updated w "on 2 parameters" and predicted Σ p.grad² = 128, not 8² = 64."""
    app = create_app(QUAD, steady=True, loop={"params": ["w", "w"]})
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("end", "u")
        await pilot.pause()
        assert not app.main.updates and app.walk.program.inputs["w"].data == 0.5
        assert any("w is given twice" in str(n.message) for n in app._notifications)
        await pilot.press("t")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TrainingScreen) and screen.comparison is None
        note = str(screen.query_one("#training-form-error").render())
        assert "w is given twice as a parameter" in note


# --- 5. the lr (and steps), one reading for the window and the command line ----------------------


async def window_notes(lrs: list[str], steps: list[str]) -> list[str]:
    """The training window's note line after each lr typed (steps 5), then each steps typed
    (lr 0.1), each followed by enter."""
    app = create_app(QUAD, steady=True)
    notes = []
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("t")
        await pilot.pause()
        screen = app.screen
        lr, count = screen.query_one("#training-lr"), screen.query_one("#training-steps")
        for field, values, other, fine in ((lr, lrs, count, "5"), (count, steps, lr, "0.1")):
            other.value = fine  # type: ignore[attr-defined]
            field.focus()
            for value in values:
                field.value = value  # type: ignore[attr-defined]
                await pilot.press("enter")
                await pilot.pause()
                notes.append(str(screen.query_one("#training-form-error").render()))
    return notes


LRS = ["inf", "1e400", "1_0", "abc", "-1", "0", "1e-400", "nan", "０.1"]
STEPS = ["1_0", "0", "３", "2.5", "10001"]


async def test_the_window_and_the_command_line_say_the_same_of_an_lr_or_steps() -> None:
    """Before, the window called 1e400 "not a positive number" where --lr said "not finite",
    and both read 1_0 as 10 for the lr while --steps refused it."""
    notes = await window_notes(LRS, STEPS)
    said = [error_line(QUAD, "--train", "--json", "--lr", lr) for lr in LRS]
    said += [error_line(QUAD, "--train", "--json", "--steps", n) for n in STEPS]
    for note, line in zip(notes, said, strict=True):
        assert line.startswith(("--lr", "--steps")) and note == line[2:]
    assert said[0] == "--lr must be a finite number, not 'inf' (it reads as infinity)"
    assert said[1] == "--lr must be a finite number, not '1e400' (it reads as infinity)"
    assert said[2] == "--lr must be a number, not '1_0' (write it without underscores: 10)"
    assert said[len(LRS)] == (
        "--steps must be a whole number from 1 to 10,000, not '1_0' "
        "(write it without underscores: 10)"
    )


def test_an_lr_too_small_to_move_the_parameter_is_refused() -> None:
    """lr 1e-320 "trained" with the loss never moving: 0.5 - 1e-320 * -8 is 0.5 in floats."""
    assert 0.5 - 1e-320 * -8.0 == 0.5 and 0.5 - 1e-16 * -8.0 != 0.5  # the premise, by hand
    line = error_line(QUAD, "--train", "--print", "--lr", "1e-320")
    assert line.startswith("lr = 1e-320 is too small to move w = 0.5: in floating point")
    program = parse(QUAD)
    with pytest.raises(ProgramError, match="too small to move w = 0.5"):
        gradient_step(program, ("w",), {"w": -8.0}, {"w": -8.0}, 1e-320)
    assert program.inputs["w"].data == 0.5
    # the smallest lr that does move it is taken: w = 0.5 + 8e-16
    step = gradient_step(program, ("w",), {"w": -8.0}, {"w": -8.0}, 1e-16)
    assert step.after["w"] == 0.5 + 8e-16 != 0.5
    # at the minimum (w = 1.5: 2w - 3 = 0) nothing moves at any lr: not the lr's fault
    code, _, err = run_cli(QUAD.replace("0.5", "1.5"), "--train", "--json", "--lr", "1e-320")
    assert code == 0, err


async def test_the_window_refuses_an_lr_too_small_to_move_anything() -> None:
    app = create_app(QUAD, steady=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("t")
        await pilot.pause()
        screen = app.screen
        field = screen.query_one("#training-lr")
        field.focus()
        field.value = "1e-320"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await pilot.pause()
        assert screen.comparison is None  # not a table of a loss that never moved
        note = str(screen.query_one("#training-form-error").render())
        assert "lr = 1e-320 is too small to move w = 0.5" in note


# --- 2. the lesson says what the numbers say -----------------------------------------------------


def lesson_for(lr: float, steps: int) -> str:
    return compare(QUAD, None, Training(("w",), lr, steps)).lesson()


def test_no_momentum_when_both_runs_diverge() -> None:
    """lr 0.3 on (2w - 3)**2 (curvature 8: stable only below 2/8): both runs end above 4."""
    reset, _ = by_hand_loop(0.3, 3, zero_grad=True)
    kept, _ = by_hand_loop(0.3, 3, zero_grad=False)
    assert reset == pytest.approx([4, 7.84, 15.3664, 30.118144])
    assert kept == pytest.approx([4, 7.84, 0.7744, 9.935104])
    lesson = lesson_for(0.3, 3)
    assert "momentum" not in lesson and "try it" not in lesson and "ended lower" not in lesson
    assert "this lr is too large for this program" in lesson


def test_momentum_is_told_to_overshoot_at_a_larger_lr_only_if_it_did_not_already() -> None:
    """At lr 0.02 (4 steps) the summed grads end lower but rose once already: "at a larger lr
    they can overshoot (try it)" would be false; at 0.01 (5 steps) they fell every step."""
    for lr, steps, rose in ((0.02, 4, True), (0.01, 5, False)):
        kept, _ = by_hand_loop(lr, steps, zero_grad=False)
        reset, _ = by_hand_loop(lr, steps, zero_grad=True)
        assert kept[-1] < kept[0] and kept[-1] < reset[-1]  # the premise, from the plain loop
        assert any(b > a for a, b in zip(kept, kept[1:], strict=False)) == rose
        lesson = lesson_for(lr, steps)
        assert "as momentum does" in lesson
        assert ("at a larger lr they can overshoot (try it)" in lesson) == (not rose)
        assert ("at this lr they already overshoot" in lesson) == rose


# --- 3. the compact table is numbered as the lesson ----------------------------------------------

FIVE = "a = 0.1; b = 0.2; c = 0.3; d = 0.4; e = 0.5; (a + b + c + d + e - 3)**2"
"""Five parameters (more than the detailed table takes): each grad is 2(s - 3), s their sum."""


def five_by_hand(lr: float, steps: int, zero_grad: bool) -> list[float]:
    """The loss before each step and after the last: each step moves s by -5·lr·p.grad."""
    s, carried, losses = 1.5, 0.0, []
    for _ in range(steps):
        losses.append((s - 3) ** 2)
        carried = 2 * (s - 3) + (0.0 if zero_grad else carried)
        s -= 5 * lr * carried
    return [*losses, (s - 3) ** 2]


def test_the_compact_table_numbers_rows_as_the_lesson() -> None:
    """Row ``k`` is iteration k (its loss is the one before the k-th update), as in the lesson's
    "went up at iteration k" and --print's table; it was numbered by steps done, k - 1."""
    lr, steps = 0.05, 12
    comparison = compare(FIVE, None, Training(tuple("abcde"), lr, steps))
    lines = [line.plain for line in compact_lines(comparison, 100)]
    assert lines[0].split()[0] == "iteration"
    reset, kept = five_by_hand(lr, steps, True), five_by_hand(lr, steps, False)
    rows = {line.split()[0]: line for line in lines[1 : steps + 2]}
    assert list(rows) == [*(str(k) for k in range(1, steps + 1)), "after"]
    ups = []
    for k, (label, line) in enumerate(rows.items()):
        numbers = [float(x) for x in line.replace("▲ loss went up", "").split()[1:]]
        assert numbers == pytest.approx([reset[k], kept[k]], rel=1e-3)
        went_up = k > 0 and kept[k] > kept[k - 1]
        assert ("▲" in line) == went_up
        if went_up and label != "after":
            ups.append(int(label))
    assert ups  # the premise: the run without zero_grad rose on the way
    lesson = comparison.lesson()
    said = re.search(r"without it the loss went up at iterations? ([\d, –]+)", lesson)
    assert said is not None
    numbers = []
    for part in said.group(1).strip(" ,").split(", "):
        first, _, last = part.partition("–")
        numbers += range(int(first), int(last or first) + 1)
    assert numbers == ups


def test_the_compact_table_names_one_parameter_in_the_singular() -> None:
    comparison = compare(QUAD, None, Training(("w",), 0.05, 40))  # past 30 steps: compact
    text = "\n".join(line.plain for line in compact_lines(comparison, 100))
    assert "the parameter: start → after the last step" in text
    assert "1 parameters" not in text


# --- 4. the plot's y labels are on the plot ------------------------------------------------------

NEURON = "x = fixed(2); w = 0.5; b = 0; loss = (tanh(w*x + b) - 0.8)**2"


def neuron_by_hand(zero_grad: bool, lr: float = 0.1, steps: int = 20) -> list[float]:
    w, b, gw_sum, gb_sum, losses = 0.5, 0.0, 0.0, 0.0, []
    for _ in range(steps):
        t = math.tanh(2 * w + b)
        losses.append((t - 0.8) ** 2)
        gb = 2 * (t - 0.8) * (1 - t * t)
        gw = gb * 2
        gw_sum, gb_sum = (gw, gb) if zero_grad else (gw_sum + gw, gb_sum + gb)
        w, b = w - lr * gw_sum, b - lr * gb_sum
    return [*losses, (math.tanh(2 * w + b) - 0.8) ** 2]


def axis_labels(lines: list[str]) -> tuple[list[str], list[str], list[str]]:
    """(the y labels inside the box, top to bottom; every line under the box; the labels on the
    box's last row, empty when there is none)."""
    top = next(i for i, line in enumerate(lines) if "┌" in line)
    bottom = next(i for i, line in enumerate(lines) if "└" in line)
    inside = [line.split("┤")[0].strip() for line in lines[top + 1 : bottom] if "┤" in line]
    last = lines[bottom - 1].split("┤")[0].strip() if "┤" in lines[bottom - 1] else ""
    return inside, lines[bottom + 1 :], [last] if last else []


def test_a_log_scale_labels_only_the_decades_inside_the_data() -> None:
    """The losses run from 3.03e-6 to 1.54e-3: 1e-6 is below the data and was written on the
    x axis's title row."""
    losses = neuron_by_hand(True) + neuron_by_hand(False)
    low, high = min(losses), max(losses)
    assert 3.0e-6 < low < 3.1e-6 and 1.5e-3 < high < 1.6e-3  # the premise, by hand
    decades = [10.0**k for k in range(-12, 3) if low <= 10.0**k <= high]
    comparison = compare(NEURON, None, Training(("w", "b"), 0.1, 20))
    inside, under, _ = axis_labels(plot_lines(comparison, 80, 20))
    assert sorted(float(label) for label in inside) == pytest.approx(decades)
    assert [line.strip() for line in under[:-1]][-1] == "steps done (loss: log scale)"
    assert under[-1].strip().startswith("▀▄ with zero_grad")  # the legend, under the title


def test_a_linear_axis_from_0_reaches_0_on_the_plot() -> None:
    """A falling loss puts the axis at 0, below the data (here above 0.8): the axis spans down to
    it, so the 0 label is the plot's last row, not the x axis's title row."""
    lr, steps = 0.05, 20
    losses = []
    for zero_grad in (True, False):
        w, carried = 1.0, 0.0
        for _ in range(steps + 1):
            losses.append((w - 3) ** 2 + 0.8)
            carried = 2 * (w - 3) + (0.0 if zero_grad else carried)
            w -= lr * carried
    assert 0 < min(losses) < max(losses) / 4  # the premise: a linear axis starting at 0
    comparison = compare("w = 1; loss = (w-3)**2 + 0.8", None, Training(("w",), lr, steps))
    inside, under, last = axis_labels(plot_lines(comparison, 80, 20))
    assert last == ["0"] and "0" in inside
    assert [line.strip() for line in under[:-1]][-1] == "steps done"


# --- 6. the window's program line after a gradient step ------------------------------------------


async def test_the_window_shows_the_program_at_the_values_it_trains_from() -> None:
    """After u the window read ``w = -0.5; b = 0`` while its iteration 1 started elsewhere."""
    example = EXAMPLES["zero_grad"]
    assert example.training is not None and example.training.lr == 0.2
    # by hand: loss = (tanh(w*x + b) - 0.1)**2 at x = 1.5, w = -0.5, b = 0
    t = math.tanh(-0.75)
    gb = 2 * (t - 0.1) * (1 - t * t)
    w_after, b_after = -0.5 - 0.2 * gb * 1.5, 0.0 - 0.2 * gb
    app = create_app(example.program, steady=True, example=example)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("end", "u", "t")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TrainingScreen) and screen.comparison is not None
        start = screen.comparison.with_zero_grad.iterations[0].data
        assert start["w"] == pytest.approx(w_after) and start["b"] == pytest.approx(b_after)
        head = str(screen.query_one("#training-head").render())
        assert f"w = {format_number(w_after)}; b = {format_number(b_after)}" in head
        assert "w = -0.5" not in head
