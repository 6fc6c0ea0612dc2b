"""The whole loop: the forward pass step by step, one gradient step, training any program.

Independent sources: topological order checked edge by edge on random graphs; the forward
pass recomputed in place against a fresh parse; a gradient step and the loop's losses derived
by hand; the neuron and the MLP trained by micrograd's textbook loop on micrograd Values.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from micrograd.engine import Value as MG
from test_app import TOY, VALUES, text_of, values_text
from test_training import mg_tanh

from engine.numbers import format_number
from engine.parse import ProgramError, parse
from stepgrad.app import create_app
from stepgrad.cli import main, to_json
from stepgrad.examples import EXAMPLES, mlp_params
from stepgrad.forward import (
    REVERSE_WHY,
    ForwardWalk,
    forward_order,
    forward_report,
    forward_sentences,
    recompute,
)
from stepgrad.plot import LEGEND, plot_lines
from stepgrad.screens.training import TrainingScreen
from stepgrad.state import editable_source
from stepgrad.training import (
    Training,
    compare,
    comparison_json,
    default_params,
    gradient_step,
    run_training,
    training_for,
)
from stepgrad.widgets.loop_panel import UpdatePanel

ROOT = Path(__file__).resolve().parents[1]
NEURON = "x = fixed(1.5)\nw = -0.5\nb = 0\no = tanh(w*x + b)\nloss = (o - 0.1)**2"


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


# --- marking parameters ----------------------------------------------------------------------


def test_param_and_fixed_mark_inputs() -> None:
    program = parse(NEURON.replace("w = -0.5", "w = param(-0.5)"), {"w": 0.25})
    marks = {node.label: mark for node, mark in program.marks.items()}
    assert marks == {"x": "fixed", "w": "param"}
    assert program.inputs["x"].data == 1.5 and program.inputs["w"].data == 0.25  # overridden
    assert default_params(program) == ("w",)  # marked param: only those
    assert default_params(parse(NEURON)) == ("w", "b")  # else every input not fixed
    assert default_params(parse("w = 1; b = 2; w*b")) == ("w", "b")
    assert default_params(parse(NEURON), preferred=("b",)) == ("b",)  # an example's choice
    assert parse("x = fixed(2*pi); x*x").inputs["x"].data == 2 * math.pi


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("y = param(0.5) + 1", "param(...) marks an input: it can only be the whole value"),
        ("w = param(x)", "param(...) takes a number, not an expression of other values"),
        ("w = fixed()", "fixed(...) takes exactly one number (0 given)"),
        ("w = param(1, 2)", "param(...) takes exactly one number (2 given)"),
        ("w = 1\nw += fixed(1)", "fixed(...) marks an input"),
    ],
)
def test_a_mark_anywhere_else_is_one_clear_error(source: str, message: str) -> None:
    with pytest.raises(ProgramError, match=re.escape(message)) as err:
        parse(source, {"x": 1.0})
    assert err.value.span is not None and "\n" not in err.value.headline()


def test_the_editor_keeps_the_marks() -> None:
    source = "x = fixed(1.5)  # data\nw = param(-0.5); b = 0\nloss = (tanh(w*x + b) - 0.1)**2"
    values = {"x": 2.0, "w": 0.3, "b": 1.0}
    edited = editable_source(parse(source, values), values)
    assert edited.split("\n")[:2] == ["x = fixed(2)  # data", "w = param(0.3); b = 1"]
    again = parse(edited)
    assert {n.label: m for n, m in again.marks.items()} == {"x": "fixed", "w": "param"}


# --- the forward order on random graphs --------------------------------------------------------

UNARY = ("tanh", "sigmoid", "-")
BINARY = ("+", "-", "*")


@st.composite
def programs(draw: st.DrawFn) -> tuple[str, dict[str, float]]:
    """A random DAG written as a program: inputs, then ops on earlier names or numbers (some
    statements unused by the output), inputs given on the command line too."""
    count = draw(st.integers(1, 4))
    names = [f"v{i}" for i in range(count)]
    values = {name: draw(st.floats(-2, 2, allow_nan=False)) for name in names}
    lines = [f"{name} = {values[name]!r}" for name in names[: count // 2]]
    given = {name: values[name] for name in names[count // 2 :]}
    for i in range(draw(st.integers(1, 12))):
        operands = st.sampled_from(names) | st.sampled_from(("1", "0.5", "2"))
        if draw(st.booleans()):
            op = draw(st.sampled_from(UNARY))
            a = draw(operands)
            text = f"-{a}" if op == "-" else f"{op}({a})"
        else:
            op = draw(st.sampled_from(BINARY))
            text = f"{draw(operands)} {op} {draw(operands)}"
        name = f"t{i}"
        lines.append(f"{name} = {text}")
        names.append(name)
    return "\n".join(lines), given


@settings(max_examples=150, deadline=None)
@given(programs())
def test_the_forward_order_is_topological(case: tuple[str, dict[str, float]]) -> None:
    source, given_values = case
    program = parse(source, given_values)
    order = forward_order(program)
    assert sorted(map(id, order)) == sorted(map(id, program.nodes()))  # every node, once
    position = {node: i for i, node in enumerate(order)}
    for node in order:
        for parent in node.parents:
            assert position[parent] < position[node]  # each node after all of its inputs
    # --json: the same order, by node id
    doc = to_json(program, program.backward(trace=True))  # type: ignore[arg-type]
    ids = doc["forward"]
    assert sorted(ids) == list(range(len(doc["nodes"])))
    seen: set[int] = set()
    for i in ids:
        assert set(doc["nodes"][i]["parents"]) <= seen
        seen.add(i)


@settings(max_examples=100, deadline=None)
@given(programs(), st.lists(st.floats(-2, 2, allow_nan=False), min_size=4, max_size=4))
def test_recompute_gives_a_fresh_parse_to_the_last_digit(
    case: tuple[str, dict[str, float]], new: list[float]
) -> None:
    source, given_values = case
    program = parse(source, given_values)
    changed = dict(zip(program.inputs, new, strict=False))
    for name, value in changed.items():
        program.inputs[name].data = value
    recompute(program, forward_order(program))
    fresh = parse(source, {**given_values, **changed})
    assert [v.data for v in program.nodes()] == [v.data for v in fresh.nodes()]


def test_the_order_reads_like_the_program() -> None:
    program = parse(EXAMPLES["toy"].program)
    ops = [program.name(node) for node in forward_order(program) if node.parents]
    assert ops == ["x*x", "a", "y*y", "b", "r"]


def test_recompute_names_the_op_that_fails() -> None:
    program = parse("w = 1\nloss = log(w) + 1")
    program.inputs["w"].data = -1.0
    with pytest.raises(ProgramError, match=re.escape("log(w): log is defined only for positive")):
        recompute(program)


# --- the forward walk and its narration ----------------------------------------------------------


def test_the_forward_walk_shows_a_value_only_once_computed() -> None:
    program = parse(TOY, VALUES)
    walk = ForwardWalk(program)
    ops = [node for node in forward_order(program) if node.parents]
    assert [s.node for s in walk.steps] == ops and walk.total == 5
    for k in range(walk.total + 1):
        walk.go(k)
        assert walk.hidden() == ops[k:]
        for node in program.nodes():
            assert walk.computed(node) == (not node.parents or ops.index(node) < k)
        if k:
            step = walk.current
            assert step is not None and step.number == k
            assert step.values == tuple(p.data for p in step.node.parents)
            assert all(walk.computed(p) for p in step.node.parents)
    assert walk.steps[-1].data == 8.125


def test_the_narration_says_why_backward_runs_the_other_way_once() -> None:
    walk = ForwardWalk(parse(EXAMPLES["neuron"].program))
    said = []
    for k in range(walk.total + 1):
        walk.go(k)
        sentences = forward_sentences(walk)
        said += sentences
        for at in re.findall(r"was computed at step (\d+)", " ".join(sentences)):
            assert int(at) < k  # an input was always computed before
        if k:
            step = walk.current
            assert step is not None
            assert sentences[0].endswith(f" = {format_number(step.data)}.")
            assert sentences[0].startswith(walk.program.describe(step.node))
    assert said.count(REVERSE_WHY) == 1
    walk.end()
    assert REVERSE_WHY in forward_sentences(walk)


def test_print_forward_lists_every_op_in_order() -> None:
    code, out, err = run_cli(TOY, "x=8", "y=3", "--print", "--forward")
    assert code == 0, err
    lines = forward_report(parse(TOY, VALUES))
    assert out.startswith("\n".join(lines))
    assert "   1  x * x" in out and "65 / 8  8.125" in out


# --- one gradient step ---------------------------------------------------------------------------


def neuron_by_hand(w: float, b: float) -> tuple[float, float, float]:
    """loss, d loss/d w, d loss/d b of (tanh(w*1.5 + b) - 0.1)**2."""
    o = math.tanh(w * 1.5 + b)
    dn = 2 * (o - 0.1) * (1 - o * o)
    return (o - 0.1) ** 2, dn * 1.5, dn


@pytest.mark.parametrize("passes", [1, 2])
def test_a_gradient_step_by_hand(passes: int) -> None:
    program = parse(NEURON)
    loss, gw, gb = neuron_by_hand(-0.5, 0.0)
    grad = {"w": passes * gw, "b": passes * gb}  # p.grad after `passes` passes, no zero_grad
    step = gradient_step(program, ("w", "b"), grad, {"w": gw, "b": gb}, 0.2, passes=passes)
    w, b = -0.5 - 0.2 * passes * gw, 0.0 - 0.2 * passes * gb
    assert step.before == {"w": -0.5, "b": 0.0}
    assert step.after["w"] == pytest.approx(w, rel=1e-14)
    assert step.after["b"] == pytest.approx(b, abs=1e-15)
    assert step.loss_before == pytest.approx(loss, rel=1e-14)
    assert step.loss_after == pytest.approx(neuron_by_hand(w, b)[0], rel=1e-13)
    assert program.output.data == step.loss_after  # the forward pass ran again, in place
    assert program.inputs["x"].data == 1.5  # fixed
    # first order: d loss ≈ Σ ∂loss/∂p · Δp = -lr · Σ p.grad · ∂loss/∂p (= -lr·Σ grad² at 1)
    assert step.predicted_change == pytest.approx(-0.2 * passes * (gw * gw + gb * gb), rel=1e-14)
    assert step.predicted == pytest.approx(loss + step.predicted_change, rel=1e-14)


def test_a_small_step_is_predicted_to_first_order() -> None:
    program = parse(NEURON)
    _, gw, gb = neuron_by_hand(-0.5, 0.0)
    lr = 1e-4
    step = gradient_step(program, ("w", "b"), {"w": gw, "b": gb}, {"w": gw, "b": gb}, lr)
    error = abs(step.change - step.predicted_change)
    assert error < 1e-3 * abs(step.predicted_change)  # second order in lr


@pytest.mark.parametrize(
    ("params", "lr", "says"),
    [
        ((), 0.1, "nothing to train"),
        (("w",), 0.0, "the learning rate must be a positive number"),
        (("w",), math.nan, "the learning rate must be a positive number"),
        (("o",), 0.1, "o is not an input of the program"),
        (("w",), 1e300, "step 1 made w = inf, so the loss is not a finite number"),
    ],
)
def test_a_bad_gradient_step_changes_nothing(params: tuple[str, ...], lr: float, says: str) -> None:
    program = parse(NEURON.replace("w = -0.5", "w = 1e10"))
    before = [v.data for v in program.nodes()]
    grad = {"w": -1e10, "b": 1.0, "o": 1.0}
    with pytest.raises(ProgramError, match=re.escape(says)):
        gradient_step(program, params, grad, grad, lr)
    assert [v.data for v in program.nodes()] == before


def test_a_step_whose_loss_overflows_is_refused_and_undone() -> None:
    program = parse("w = 1\nloss = exp(w)")
    with pytest.raises(ProgramError, match="after gradient step 1 the loss is not a finite"):
        gradient_step(program, ("w",), {"w": -1000.0}, {"w": -1000.0}, 1.0)
    assert program.inputs["w"].data == 1 and program.output.data == math.e


async def test_u_takes_a_gradient_step_in_the_app() -> None:
    app = create_app(NEURON, steady=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("u")  # mid-pass? not yet: the pass is at step 0
        await pilot.pause()
        assert not app.main.updates
        await pilot.press("end", "u")
        await pilot.pause()
        loss, gw, gb = neuron_by_hand(-0.5, 0.0)
        (step,) = app.main.updates
        assert step.params == ("w", "b") and step.lr == 0.1  # x is fixed; the default lr
        assert step.after["w"] == pytest.approx(-0.5 - 0.1 * gw, rel=1e-14)
        walk = app.walk
        assert walk.key == (1, 0, False)  # a fresh backward pass at the new values
        assert walk.program.inputs["w"].data == step.after["w"]
        panel = app.main.query_one(UpdatePanel)
        assert panel.display
        text = text_of(app)
        assert "gradient step 1" in text and "first-order prediction" in text
        assert f"{step.loss_after:.6g}" in text.replace("e-0", "e-")
        await pilot.press("right")
        await pilot.pause()
        assert not panel.display  # the next pass has begun
        await pilot.press("end", "u")  # and the loop goes on
        await pilot.pause()
        assert [s.number for s in app.main.updates] == [1, 2]
        assert app.main.updates[1].loss_before == step.loss_after


async def test_the_training_window_sets_what_u_uses() -> None:
    app = create_app(NEURON, steady=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("t")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TrainingScreen)
        lr = screen.query_one("#training-lr")
        lr.focus()
        lr.value = "0.5"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await pilot.pause()
        assert screen.spec.lr == 0.5 and screen.comparison is not None
        assert screen.comparison.spec.lr == 0.5
        lr.value = "abc"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await pilot.pause()
        assert "lr must be a number, not 'abc'" in text_of(app)
        assert screen.spec.lr == 0.5  # the last valid run stays
        await pilot.press("escape")
        await pilot.pause()
        assert app.main.loop_options["lr"] == 0.5
        await pilot.press("end", "u")
        await pilot.pause()
        assert app.main.updates[-1].lr == 0.5


async def test_the_training_window_shortens_a_long_program() -> None:
    """A 2,000-character loss took 19 of the window's 36 rows, a 20,000-character one 180:
    the lr, steps and parameters below it were off the screen."""
    terms = " + ".join(f"w{i}*{i}" for i in range(300))
    app = create_app(f"loss = ({terms})**2", {f"w{i}": 0.001 for i in range(300)}, steady=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("t")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TrainingScreen)
        head = str(screen.query_one("#training-head").render()).split("\n")[0]
        assert head.startswith("program  loss = (w0*0 + w1*1") and head.endswith("w299*299)**2")
        assert "…" in head and len(head) <= len("program  ") + 240
        assert screen.query_one("#training-lr").region.y < 36  # the form is on the screen


# --- forward mode in the app ---------------------------------------------------------------------


async def test_forward_mode_steps_then_hands_over_to_the_backward_pass() -> None:
    app = create_app(TOY, VALUES, steady=True, forward=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        main_screen = app.main
        fwd = main_screen.fwd
        assert fwd is not None and fwd.step == 0
        view = main_screen.view()
        assert len(view.hidden) == 5 and not view.grads  # every op value and every grad: —
        top = text_of(app).splitlines()[0]
        assert "forward · step 0 of 5" in top and "(x*x + 1)/(y*y - 1) = —" in top
        assert values_text(app).splitlines()[-1].split()[1] == "—"  # the output: not yet
        await pilot.press("right", "right")
        await pilot.pause()
        assert fwd.step == 2 and len(main_screen.view().hidden) == 3
        text = text_of(app)
        assert "computes x*x + 1" in text and "x*x was computed at step 1" in text
        assert "data 65" in text and "data —" in text  # a + computed; y*y not yet
        await pilot.press("end")
        await pilot.pause()
        assert REVERSE_WHY[:40] in " ".join(text_of(app).split())
        await pilot.press("right")  # past the end: the backward pass
        await pilot.pause()
        assert main_screen.fwd is None and app.walk.key == (1, 0, False)
        assert "8.125" in values_text(app)
        await pilot.press("left")  # back into the forward pass, at its end
        await pilot.pause()
        assert main_screen.fwd is not None and main_screen.fwd.finished
        await pilot.press("F")  # leave forward mode
        await pilot.pause()
        assert main_screen.fwd is None


async def test_F_mid_pass_starts_over_from_the_forward_pass() -> None:
    app = create_app(TOY, VALUES, steady=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("end", "b", "right", "F")
        await pilot.pause()
        assert app.main.fwd is not None and app.walk.key == (1, 0, False)
        assert all(app.walk.grad(v) is None for v in app.walk.program.inputs.values())
        # and it says so: the place given up was pass 2, step 1 of the toy's 5
        said = [str(n.message) for n in app._notifications][-1]
        assert said.endswith(
            "the backward pass you were in (pass 2, step 1 of 5) starts over after it"
        )
        await pilot.press("plus", "plus", "p")  # play (4 a second) computes node after node
        await pilot.pause(3)
        assert app.main.fwd is not None and app.main.fwd.finished and app.main.playing is None


async def test_forward_mode_on_the_collapsed_mlp() -> None:
    app = create_app(EXAMPLES["mlp"].program, steady=True, forward=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press(*["right"] * 30)
        await pilot.pause()
        assert app.main.scene is not None and app.main.scene.collapsed
        view = app.main.view()
        assert view.hidden and "partial" not in {
            view.node_state(n).kind for n in view.nodes
        }  # a half-computed sum is "not computed yet", not "to fire"
        assert not app.contained


async def test_forward_mode_one_line_boxes_show_the_values_computed() -> None:
    """With one-line boxes the forward pass showed `✓ w*x ∇ —` (the grad, not computed) and
    never the value just computed; boxes with borders showed it."""
    from stepgrad.widgets import GraphView

    app = create_app(EXAMPLES["zero_grad"].program, steady=True, forward=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("right", "right")
        await pilot.pause()
        assert app.main._mode() == "tiny"
        graph = app.main.query_one(GraphView)
        text = graph.drawing.render(graph.view).text
        assert "w*x = -0.75" in text  # -0.5 * 1.5, by hand
        assert "w*x + b = -0.75" in text  # + 0
        assert re.search(r"\bo = —", text) and "∇" not in text


# --- training any program ----------------------------------------------------------------------


def micrograd_losses(loss_of, start: dict[str, float], lr: float, steps: int) -> list[float]:
    """micrograd's textbook loop with zero_grad: the loss before each step, then after."""
    params = {name: MG(value) for name, value in start.items()}
    losses = []
    for _ in range(steps):
        loss = loss_of(params)
        for p in params.values():
            p.grad = 0
        loss.backward()
        losses.append(loss.data)
        for p in params.values():
            p.data -= lr * p.grad
    return [*losses, loss_of(params).data]


def test_the_neuron_trains_like_micrograd() -> None:
    example = EXAMPLES["neuron"]
    program = parse(example.program)
    spec = training_for(program, example)
    assert spec.params == ("w1", "w2", "b") and spec.lr < 0.1  # x1, x2 are the data
    run = run_training(example.program, None, spec, zero_grad=True)
    assert all(b < a for a, b in zip(run.losses, run.losses[1:], strict=False))
    inputs = {name: node.data for name, node in program.inputs.items()}

    def neuron(p: dict[str, MG]) -> MG:
        return mg_tanh(p["w1"] * inputs["x1"] + p["w2"] * inputs["x2"] + p["b"])

    start = {name: inputs[name] for name in spec.params}
    expected = micrograd_losses(neuron, start, spec.lr, spec.steps)
    assert run.losses == pytest.approx(expected, rel=1e-12, abs=1e-12)


def mlp_in_micrograd(source: str):  # type: ignore[no-untyped-def]
    """The MLP example's loss, written again on micrograd Values from the program's numbers:
    tanh layers 2-4-4-1, the squared error of each sample's output against its target."""
    program = parse(source)
    data = {name: node.data for name, node in program.inputs.items()}
    targets = [
        -1.0 if sign == "+" else 1.0 for sign in re.findall(r"\(y\d+ ([+-]) 1\)\*\*2", source)
    ]

    def loss_of(p: dict[str, MG]) -> MG:
        total = MG(0.0)
        for s, target in enumerate(targets, start=1):
            x = [MG(data[f"x{s}_1"]), MG(data[f"x{s}_2"])]
            for layer, size in enumerate((4, 4, 1), start=1):
                x = [
                    mg_tanh(
                        sum((p[f"w{layer}_{j}_{k}"] * xk for k, xk in enumerate(x, 1)), MG(0.0))
                        + p[f"b{layer}_{j}"]
                    )
                    for j in range(1, size + 1)
                ]
            total = total + (x[0] - target) ** 2
        return total

    return loss_of, {name: data[name] for name in mlp_params()}


def test_the_mlp_trains_like_micrograd_and_its_loss_falls() -> None:
    source = EXAMPLES["mlp"].program
    spec = Training(mlp_params(), 0.01, 15)
    run = run_training(source, None, spec, zero_grad=True)
    assert all(b < a for a, b in zip(run.losses, run.losses[1:], strict=False))
    loss_of, start = mlp_in_micrograd(source)
    expected = micrograd_losses(loss_of, start, 0.01, 15)
    assert run.losses == pytest.approx(expected, rel=1e-10)
    # the example's own settings: the loss falls with zero_grad at every step
    example = training_for(parse(source), EXAMPLES["mlp"])
    assert example.params == mlp_params()
    good = run_training(source, None, example, zero_grad=True)
    assert all(b < a for a, b in zip(good.losses, good.losses[1:], strict=False))
    assert good.losses[-1] < good.losses[0] / 50


def by_hand_loop(lr: float, steps: int, zero_grad: bool) -> tuple[list[float], list[float]]:
    """(2w - 3)**2 from w = 0.5: loss and w before each step, then after the last."""
    w, carried, losses, ws = 0.5, 0.0, [], []
    for _ in range(steps):
        losses.append((2 * w - 3) ** 2)
        ws.append(w)
        grad = 4 * (2 * w - 3) + (0.0 if zero_grad else carried)
        carried = grad
        w -= lr * grad
    return [*losses, (2 * w - 3) ** 2], [*ws, w]


def test_train_json_by_hand() -> None:
    code, out, err = run_cli(
        "w = param(0.5); x = fixed(2); (w*x - 3)**2", "--train", "--lr", "0.05", "--steps", "7",
        "--json",
    )  # fmt: skip
    assert code == 0, err
    training = json.loads(out)["training"]
    assert training["params"] == ["w"] and training["lr"] == 0.05
    for key, zero_grad in (("with_zero_grad", True), ("without_zero_grad", False)):
        losses, ws = by_hand_loop(0.05, 7, zero_grad)
        assert len(training[key]["loss"]) == 8 and len(training[key]["params"]) == 8
        assert training[key]["loss"] == pytest.approx(losses, rel=1e-12, abs=1e-12)
        assert [p["w"] for p in training[key]["params"]] == pytest.approx(ws, rel=1e-12)
        assert all(set(p) == {"w"} for p in training[key]["params"])


def test_train_print_has_the_table_and_the_curve() -> None:
    code, out, err = run_cli("--example", "zero_grad", "--train", "--print")
    assert code == 0, err
    comparison = compare(EXAMPLES["zero_grad"].program, None, EXAMPLES["zero_grad"].training)
    assert "training loop: 5 steps of p.data -= 0.2 * p.grad on w, b" in out
    start = out.index("the loss before each step and after the last one:")
    plot = out[start : out.index(LEGEND, start)]
    ups = sum(run.went_up().count(True) for run in comparison.runs)
    assert ups == 4 and plot.count("▲") == ups  # each rise marked on the curve
    assert "steps done (loss: log scale)" in plot
    lines = plot_lines(comparison, 80, 20)
    assert lines[-1].strip() == LEGEND and len(lines) == 21


def test_train_print_in_ascii() -> None:
    out, err = io.TextIOWrapper(io.BytesIO(), encoding="ascii"), io.StringIO()
    assert main(["--example", "zero_grad", "--train", "--print"], out=out, err=err) == 0
    out.flush()
    text = out.buffer.getvalue().decode("ascii")  # type: ignore[attr-defined]
    assert "^ loss went up" in text and "oo without zero_grad" in text


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["x*x", "x=3", "--train", "--lr", "abc", "--print"], "--lr must be a number, not 'abc'"),
        (["x*x", "x=3", "--train", "--lr", "-1", "--json"], "--lr must be a positive number"),
        (["x*x", "x=3", "--train", "--lr", "nan", "--json"], "--lr must be a positive number"),
        (["x*x", "x=3", "--train", "--lr", "1e400", "--json"], "--lr must be a finite number"),
        (["x*x", "x=3", "--train", "--steps", "0", "--json"], "--steps must be a whole number"),
        (["x*x", "x=3", "--train", "--steps", "2.5", "--json"], "--steps must be a whole number"),
        (["x*x", "x=3", "--train", "--params", "y", "--json"], "--params: y is not an input"),
        (["x*x", "x=3", "--train", "--params", ",", "--json"], "--params needs at least one"),
        (["x = fixed(2); x*x", "--train", "--json"], "nothing to train: the program has no "
                                                      "inputs that are not fixed"),
        (["2*3", "--train", "--json"], "nothing to train: the program has no inputs"),
        (["w = 1; w**2", "--train", "--lr", "1e200", "--json"],
         "training with zero_grad: after step 1 the loss is not a finite number: w**2: the "
         "result is too large (overflow)"),
        (["w = 1e10; w*w", "--train", "--lr", "1e300", "--print"],
         "training with zero_grad: step 1 made w = -inf, so the loss is not a finite number"),
        (["x*x", "x=3", "--lr", "0.1", "--print"], "--lr and --params go with --train"),
        (["x*x", "x=3", "--steps", "3", "--json"], "--steps goes with --train"),
        (["x*x", "x=3", "--train", "--graph"], "--train goes with --print, --json or the app"),
    ],
)  # fmt: skip
def test_a_bad_training_request_is_one_line(argv: list[str], says: str) -> None:
    code, out, err = run_cli(*argv)
    errors = [line for line in err.splitlines() if not line.startswith("stepgrad: warning:")]
    assert code == 2 and not out
    assert len(errors) == 1 and errors[0].startswith("stepgrad: error: "), err
    assert says in errors[0]


def test_the_json_training_document_keeps_its_details() -> None:
    example = EXAMPLES["zero_grad"]
    doc = comparison_json(compare(example.program, None, example.training))
    for key in ("with_zero_grad", "without_zero_grad"):
        run = doc[key]
        assert run["loss"] == [it["loss"] for it in run["iterations"]] + [run["final"]["loss"]]
        assert run["params"][-1] == run["final"]["params"]
        assert run["params"][:-1] == [
            {name: p["data"] for name, p in it["params"].items()} for it in run["iterations"]
        ]


# --- the window, the plot, startup ------------------------------------------------------------


async def test_the_mlp_trains_in_the_window() -> None:
    example = EXAMPLES["mlp"]
    app = create_app(example.program, steady=True, example=example)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("t")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TrainingScreen) and screen.comparison is not None
        assert screen.comparison.spec.params == mlp_params()
        text = text_of(app)
        assert "(82 statements) … loss =" in text and "steps done" in text
        table = str(screen.query_one("#training-table").content)  # type: ignore[attr-defined]
        assert "one iteration in" in table and "the 37 parameters" in table
        params = screen.query_one("#training-params")
        params.deselect_all()  # type: ignore[attr-defined]
        await pilot.pause()
        assert "nothing to train: check at least one parameter" in text_of(app)
        await pilot.press("escape")
        await pilot.pause()
        assert not app.contained


async def test_a_long_run_goes_to_a_worker() -> None:
    example = EXAMPLES["mlp"]
    screen = TrainingScreen(example)
    app = create_app(example.program, steady=True, example=example)
    async with app.run_test(size=(120, 36)) as pilot:
        app.push_screen(screen)
        await pilot.pause()
        screen.run(Training(mlp_params(), 0.05, 400))
        assert screen.running
        await screen.workers.wait_for_complete()
        await pilot.pause()
        assert not screen.running and screen.comparison is not None
        assert len(screen.comparison.with_zero_grad.losses) == 401


def test_startup_loads_no_plot_library() -> None:
    code = (
        "import asyncio, sys\n"
        "from stepgrad.app import create_app\n"
        "async def run():\n"
        "    app = create_app('w*x', {'w': 1, 'x': 2}, steady=True)\n"
        "    async with app.run_test() as pilot:\n"
        "        await pilot.pause()\n"
        "        print('before', 'plotext' in sys.modules)\n"
        "        await pilot.press('t')\n"
        "        await pilot.pause()\n"
        "        print('after', 'plotext' in sys.modules)\n"
        "asyncio.run(run())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["before", "False", "after", "True"]


async def test_a_gradient_step_rewrites_a_name_in_any_script() -> None:
    """The top bar kept ``ω = 3`` after a gradient step had made ω 1 (only ASCII names were
    rewritten). (2ω - 1)² at ω = 3: the grad is 2·2·5 = 20, so ω - 0.1·20 = 1, by hand."""
    app = create_app("ω = 3; y = (ω*2 - 1)**2", steady=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("end", "u")
        await pilot.pause()
        (step,) = app.main.updates
        assert step.after["ω"] == pytest.approx(1.0, rel=1e-15)
        top = text_of(app).splitlines()[0]
        assert "ω = 1;" in top and "ω = 3" not in top


def test_a_gradient_steps_written_arithmetic_works_out() -> None:
    """``u`` on the zero_grad example, twice at lr 0.2: step 2 wrote ``w -0.236852 → -0.0753725
    p.grad -0.807399`` (-0.236852 - 0.2 × -0.807399 is -0.0753722) and a prediction of
    -0.111078 from 0.0772465 and a change of -0.188325 (their sum -0.1110785 is a half). Each
    update, the loss's change and the prediction (before + its change) must work out by hand
    from the numbers written, with the lr as the panel writes it."""
    from test_truth import NUMBER, works_out

    from stepgrad.widgets.loop_panel import update_lines

    program = parse(EXAMPLES["zero_grad"].program)
    checked = 0
    for number in (1, 2):
        program.zero_grad()
        program.backward()
        grad = {name: program.inputs[name].grad for name in ("w", "b")}
        step = gradient_step(program, ("w", "b"), grad, grad, 0.2, number=number)
        text = "\n".join(line.plain for line in update_lines(step, program))
        lr = re.search(rf"p\.data -= ({NUMBER}) \* p\.grad", text)[1]  # type: ignore[index]
        assert lr == "0.2"
        rows = re.findall(rf"(\w+) +({NUMBER}) → ({NUMBER}) +p\.grad ({NUMBER})", text)
        assert [name for name, *_ in rows] == ["w", "b"]
        for _name, before, after, grad_text in rows:
            assert works_out(before, "−", grad_text, after, factor=lr), (before, grad_text)
        loss = re.search(rf"loss ({NUMBER}) → ({NUMBER}) \(change ({NUMBER})\)", text)
        assert loss is not None
        assert works_out(loss[2], "−", loss[1], loss[3]), loss.groups()
        said = re.search(rf"prediction ({NUMBER}) \+ ({NUMBER}) = ({NUMBER})", text)
        if said is None:  # before + the change in the parentheses
            one = re.search(rf"prediction ({NUMBER}) \(.* = ({NUMBER})\)", text)
            assert one is not None
            said_sum = (loss[1], one[2], one[1])
        else:
            said_sum = said.groups()
        assert works_out(said_sum[0], "+", said_sum[1], said_sum[2]), said_sum
        checked += 1
    assert checked == 2


def test_the_forward_pass_of_a_program_without_inputs_reads_as_english() -> None:
    """``3*4`` has no inputs and one op node: the narration at step 0 said "the 1 op node" and
    "Inputs and constants are given ()"."""
    walk = ForwardWalk(parse("3*4"))
    text = " ".join(forward_sentences(walk))
    assert "()" not in text and "the 1 op node" not in text
    assert "no inputs" in text and "one op node" in text
    walk = ForwardWalk(parse("x*x + 1", {"x": 3}))
    text = " ".join(forward_sentences(walk))
    assert "the 2 op nodes one at a time" in text and "(x = 3)" in text
