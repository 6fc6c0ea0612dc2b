"""Bug modes: the lecture's ``=`` for ``+=`` on the toy, firing early on ``merge``, micrograd's
second ``backward()`` against micrograd 0.1.0 itself, and every display of a buggy pass: the
step panel, the values pane, the graph, the narration, ``--print`` and ``--json``.

Expected numbers are derived by hand or come from micrograd; none is copied from stepgrad.
"""

from __future__ import annotations

import io
import json
import random
import re

import pytest
from micrograd.engine import Value as M
from test_app import TOY, VALUES, panel_text, values_text

from engine.numbers import format_number
from engine.parse import Program, parse
from stepgrad.app import create_app
from stepgrad.cli import BUG_NAMES, main
from stepgrad.examples import EXAMPLES
from stepgrad.lesson.bugs import (
    BUGS,
    BugWalkthrough,
    micrograd_program,
    narrate_bug,
    passes,
    step_lines,
    wrong,
)
from stepgrad.screens.main import MainScreen
from stepgrad.widgets.lesson import LessonNote

SIZE = (120, 36)
MERGE = EXAMPLES["merge"].program


def called(program: Program, calls: int) -> BugWalkthrough:
    """micrograd mode after ``calls`` calls of backward(), each pass run to its end."""
    walk = BugWalkthrough(program, "micrograd")
    walk.end()
    for _ in range(calls - 1):
        walk.backward_again()
        walk.end()
    return walk


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def names(walk: BugWalkthrough, grads: dict) -> dict[str, float]:
    program = walk.program
    return {program.name(v): g for v, g in grads.items() if v.label is not None}


def test_the_cli_names_every_bug() -> None:
    assert set(BUG_NAMES) == set(BUGS)


# --- overwrite ------------------------------------------------------------------------------------


def test_overwrite_on_the_toy() -> None:
    # r = (x*x + 1)/(y*y - 1) at 8, 3: x*x gets 1/8 and sends 1/8 * 8 = 1 along each edge; with
    # = the second replaces the first: x.grad = 1, not 2. y*y gets -65/64, y -65/64*3, not twice.
    walk = BugWalkthrough(parse(TOY, VALUES), "overwrite")
    walk.end()
    x, y = walk.program.inputs["x"], walk.program.inputs["y"]
    assert walk.grad(x) == 1 and walk.grad(y) == -65 / 64 * 3
    assert wrong(walk) == {x: 2, y: -65 / 64 * 3 * 2}
    assert walk.correct()[x] == 2
    # x's second edge shows the overwrite: before 1, after 1
    last = [e for s in walk.trace.steps for e in s.edges if e.parent is x][-1]
    assert (last.grad_before, last.grad_after, last.contribution) == (1, 1, 1)


def test_overwrite_again_without_zero_grad_still_overwrites() -> None:
    walk = BugWalkthrough(parse(TOY, VALUES), "overwrite")
    walk.end()
    walk.backward_again()
    walk.end()
    x = walk.program.inputs["x"]
    assert walk.grad(x) == 1 and walk.correct()[x] == 4  # two correct passes: 2 + 2


def test_overwrite_on_merge() -> None:
    # B gets 8 from B + 1, then 7 from B + 2 replaces it: B fires with 7, A = 21 (not 45)
    walk = BugWalkthrough(parse(MERGE), "overwrite")
    walk.end()
    grads = names(walk, walk.grads())
    assert grads["B"] == 7 and grads["A"] == 21
    assert names(walk, wrong(walk)) == {"A": 45, "B": 15}


# --- early ----------------------------------------------------------------------------------------


def test_early_on_merge() -> None:
    # OUT = (B+1)*(B+2), B = 6: OUT sends B + 2 = 8 to B + 1, which fires at once and sends 8
    # to B; B fires on that alone, A.grad = 3 * 8 = 3(B + 2) = 24 instead of 3(2B + 3) = 45.
    # Then OUT goes on: B + 2 gets 7 and sends it to B, which has fired: B.grad = 15, A keeps 24.
    walk = BugWalkthrough(parse(MERGE), "early")
    program = walk.program
    order = [program.describe(s.node) for s in walk.trace.steps]
    assert order == [
        "OUT = (B + 1) * (B + 2)",
        "B + 1",
        "B = A * 3",
        "OUT = (B + 1) * (B + 2)",  # its second edge waited for B + 1's firing (depth first)
        "B + 2",
    ]
    assert [len(s.edges) for s in walk.trace.steps] == [1, 1, 1, 1, 1]
    b_step = walk.trace.steps[2]
    assert b_step.upstream == 8  # B fired with B + 2 = 8 only
    walk.end()
    grads = names(walk, walk.grads())
    assert grads["A"] == 3 * (6 + 2) and grads["B"] == 15
    assert names(walk, wrong(walk)) == {"A": 3 * (2 * 6 + 3)}


def test_early_marks_b_wrong_while_it_fires_with_half_its_grad() -> None:
    walk = BugWalkthrough(parse(MERGE), "early")
    walk.go(3)  # B has fired with 8
    assert names(walk, wrong(walk)) == {"A": 45, "B": 15}
    lines = step_lines(walk)
    assert lines == []  # B's firing sends A 24: the sentence came with the step before
    walk.go(2)
    assert any("B fires at once with 8" in line and "15" in line for line in step_lines(walk))
    walk.go(5)
    assert any("fired already" in line and "never travels" in line for line in step_lines(walk))


def test_early_changes_nothing_where_no_firing_node_is_shared() -> None:
    walk = BugWalkthrough(parse(TOY, VALUES), "early")
    walk.end()
    assert wrong(walk) == {}
    assert "does not trip this bug" in " ".join(narrate_bug(walk))


def test_early_on_a_deep_chain_does_not_recurse() -> None:
    from engine import Value
    from stepgrad.lesson.bugs import buggy_pass

    x = Value(0.5, "x")
    out = x
    for _ in range(20_000):  # far past Python's recursion limit
        out = out * 1.0 + 0.0
    trace = buggy_pass(out, "early")
    assert len(trace.steps) == 40_000
    assert trace.steps[-1].edges[-1].grad_after == 1.0  # d out/dx = 1 along the one path


# --- micrograd ----------------------------------------------------------------------------------


def _mg_graphs() -> list[tuple[str, dict[str, float], object]]:
    """Programs and the same graph built with micrograd 0.1.0."""

    def toy(v: dict[str, M]) -> M:
        return (v["x"] * v["x"] + 1) / (v["y"] * v["y"] - 1)

    def lecture(v: dict[str, M]) -> M:
        return (v["a"] * v["b"] + v["c"]) * v["f"]

    def relu_net(v: dict[str, M]) -> M:
        h = (v["w"] * v["x"] + v["b"]).relu()
        k = (v["w"] * h - v["x"]).relu() + h * h
        return (k - v["b"] / (v["x"] * v["x"] + 1)) ** 2

    def shared(v: dict[str, M]) -> M:
        a = v["p"] * v["q"]
        b = a + v["p"]
        c = -a * b + b * b * v["q"]
        return c * a - b / 3

    return [
        ("(x*x + 1)/(y*y - 1)", {"x": 8.0, "y": 3.0}, toy),
        ("(a*b + c)*f", {"a": 2.0, "b": -3.0, "c": 10.0, "f": -2.0}, lecture),
        (
            "h = relu(w*x + b)\nk = relu(w*h - x) + h*h\n(k - b/(x*x + 1))**2",
            {"w": 0.7, "x": 1.3, "b": -0.2},
            relu_net,
        ),
        (
            "a = p*q\nb = a + p\nc = -a*b + b*b*q\nc*a - b/3",
            {"p": 0.9, "q": -1.7},
            shared,
        ),
    ]


@pytest.mark.parametrize("calls", [1, 2, 3])
@pytest.mark.parametrize("case", range(4))
def test_micrograd_mode_matches_micrograd(case: int, calls: int) -> None:
    """micrograd's _prev is a set: it may add the same terms in another order than ours, so
    the last bits may differ; the tolerance is float rounding (1e-12 relative), far below any
    difference a bug makes (tens of percent)."""
    source, values, build = _mg_graphs()[case]
    theirs = {name: M(value) for name, value in values.items()}
    root = build(theirs)  # type: ignore[operator]
    for _ in range(calls):
        root.backward()
    walk = called(micrograd_program(parse(source, values)), calls)
    for name, value in theirs.items():
        ours = walk.grad(walk.program.inputs[name])
        assert ours == pytest.approx(value.grad, rel=1e-12, abs=1e-12), (name, calls)


def test_micrograd_mode_on_a_chain_is_exact() -> None:
    # one path: no two terms are ever added, so there is no order to differ in
    x = M(0.5)
    root = ((x * 3 + 1) ** 2 * -2).relu() + x
    root.backward()
    root.backward()
    walk = BugWalkthrough(
        micrograd_program(parse("relu((x*3 + 1)**2 * -2) + x", {"x": 0.5})), "micrograd"
    )
    walk.end()
    walk.backward_again()
    walk.end()
    assert walk.grad(walk.program.inputs["x"]) == x.grad


@pytest.mark.parametrize("seed", range(6))
def test_micrograd_mode_matches_micrograd_on_random_graphs(seed: int) -> None:
    rng = random.Random(seed)
    values = {f"v{i}": rng.choice([-1.5, -0.5, 0.5, 1.25, 2.0]) for i in range(3)}
    lines, exprs = [], list(values)
    for i in range(rng.randint(3, 8)):
        a, b = rng.choice(exprs), rng.choice(exprs)
        op = rng.choice(["+", "-", "*", "/"])
        rhs = f"{a} / ({b}*{b} + 1)" if op == "/" else f"{a} {op} {b}"
        if rng.random() < 0.2:
            rhs = f"relu({rhs})"
        lines.append(f"t{i} = {rhs}")
        exprs.append(f"t{i}")
    source = "\n".join(lines)
    env: dict[str, M] = {name: M(value) for name, value in values.items()}
    for line in lines:  # the same program, evaluated with micrograd Values
        target, rhs = line.split(" = ", 1)
        rhs = re.sub(r"relu\((.*)\)", r"(\1).relu()", rhs)
        env[target] = eval(rhs, {}, dict(env))
    root = env[exprs[-1]]
    root.backward()
    root.backward()
    program = micrograd_program(parse(source, values))
    walk = BugWalkthrough(program, "micrograd")
    walk.end()
    walk.backward_again()
    walk.end()
    for name in values:
        leaf = program.inputs.get(name)
        if leaf is None or not program.reaches_output(leaf):
            continue
        assert walk.grad(leaf) == pytest.approx(env[name].grad, rel=1e-12, abs=1e-12)


def test_micrograd_output_grad_is_set_not_added() -> None:
    walk = BugWalkthrough(parse("(a*b + c)*f", {"a": 2, "b": -3, "c": 10, "f": -2}), "micrograd")
    walk.end()
    walk.backward_again()
    walk.next()
    assert walk.grad(walk.trace.root) == 1
    assert wrong(walk)[walk.trace.root] == 2
    assert any("micrograd sets" in line for line in step_lines(walk))


def test_micrograd_shape_keeps_names() -> None:
    program = micrograd_program(parse(EXAMPLES["toy"].program))
    assert set(program.inputs) == {"x", "y"}
    assert {"a", "b", "r"} <= set(program.names)
    assert program.output.data == pytest.approx(8.125)
    same = parse(EXAMPLES["merge"].program)
    assert micrograd_program(same) is same  # micrograd builds the same graph: nothing to do


def test_cli_micrograd_passes_match_micrograd() -> None:
    x, y = M(8.0), M(3.0)
    r = (x * x + 1) / (y * y - 1)
    for _ in range(3):
        r.backward()
    code, out, err = run_cli(TOY, "x=8", "y=3", "--json", "--bug", "micrograd", "--passes", "3")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["bug"]["inputs"]["x"]["grad"] == pytest.approx(x.grad, rel=1e-12)
    assert doc["bug"]["inputs"]["y"]["grad"] == pytest.approx(y.grad, rel=1e-12)
    assert doc["inputs"]["x"]["grad"] == doc["bug"]["inputs"]["x"]["grad"]
    assert doc["bug"]["inputs"]["x"]["correct"] == 6  # three correct passes: 3 × 2
    assert "a / b as a * b**-1" in doc["bug"]["micrograd_builds"]
    assert len(doc["passes"]) == 3


# --- the same numbers everywhere ------------------------------------------------------------------


@pytest.mark.parametrize("bug", sorted(BUGS))
@pytest.mark.parametrize("example", ["toy", "merge", "paths", "neuron", "shared"])
def test_cli_and_walkthrough_agree(bug: str, example: str) -> None:
    program = parse(EXAMPLES[example].program)
    if bug == "micrograd":
        program = micrograd_program(program)
    walk = BugWalkthrough(program, bug)
    walk.end()
    walk.backward_again()
    walk.end()
    shown = walk.grads()
    fresh = parse(program.source)
    passes(fresh, bug, 2)
    for node, again in zip(program.nodes(), fresh.nodes(), strict=True):
        if node in shown:
            assert shown[node] == again.grad


@pytest.mark.parametrize("bug", sorted(BUGS))
@pytest.mark.parametrize("example", ["toy", "merge", "paths", "shared"])
def test_narration_agrees_with_the_trace(bug: str, example: str) -> None:
    """Every number the narration sends is the step's: the upstream, each contribution, and the
    grads it lists at the end (and their correct values)."""
    program = parse(EXAMPLES[example].program)
    if bug == "micrograd":
        program = micrograd_program(program)
    walk = BugWalkthrough(program, bug)
    for _ in range(2):
        while walk.next():
            step = walk.current
            assert step is not None
            first = narrate_bug(walk)[0]
            assert f"with grad {format_number(step.upstream)}:" in first
            sent = re.findall(r"gets \S+ × \S+ = (\S+?)(?=[.;,]?(?: |$))", first)
            contributions = {format_number(e.contribution) for e in step.edges}
            assert set(sent) <= contributions, (first, contributions)
        done = narrate_bug(walk)[-1]
        for name, grad, right in re.findall(r"(\S+)\.grad = (\S+) \(correct: (\S+)\)", done):
            node = program.names[name]
            assert format_number(walk.grad(node)) == grad  # type: ignore[arg-type]
            assert format_number(walk.correct()[node]) == right
        walk.backward_again()


# --- the app --------------------------------------------------------------------------------------


async def test_bug_mode_in_the_app() -> None:
    app = create_app(TOY, VALUES, steady=True, bug="overwrite")
    async with app.run_test(size=SIZE) as pilot:
        screen: MainScreen = app.main
        assert "bug mode: overwrite" in screen._status_line().plain
        note = screen.query_one(LessonNote)
        assert BUGS["overwrite"].rule in note.text()
        await pilot.press("right", "right", "right", "right")
        await pilot.pause()
        # step 4: x*x fires, its second edge overwrites
        assert "= overwrote (+= gives 2)" in panel_text(app)
        assert "x.grad = 1: = kept only the last contribution; += would make it 2" in (
            panel_text(app)
        )
        assert "✗ correct 2" in values_text(app)
        assert "x 1 (correct 2)" in note.text()
        view = screen.view()
        x = screen.scene.ids[app.walk.program.inputs["x"]]  # type: ignore[union-attr]
        assert view.notes[x] == "✗ correct 2"
        await pilot.press("end")
        await pilot.pause()
        assert "DIFFER" in panel_text(app)  # the gradient check sees it too
        screen.set_bug(None)  # the palette's "Why: bug mode off"
        await pilot.pause()
        assert not isinstance(app.walk, BugWalkthrough) and app.walk.key == (1, 0, False)
        assert "bug mode" not in screen._status_line().plain
        assert not note.display
        screen.set_bug("early")
        await pilot.pause()
        assert isinstance(app.walk, BugWalkthrough) and app.walk.bug.name == "early"
        assert app.contained == []


async def test_the_palette_lists_the_bug_modes() -> None:
    app = create_app(TOY, VALUES, steady=True)
    async with app.run_test(size=SIZE) as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for name in BUGS:
            assert f"Why: bug mode {name}" in titles
        assert "Why: bug mode off" in titles
        await pilot.pause()


async def test_micrograd_mode_in_the_app_shows_micrograds_graph() -> None:
    app = create_app(TOY, VALUES, steady=True, bug="micrograd")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("end", "b", "end")
        await pilot.pause()
        walk = app.walk
        x = walk.program.inputs["x"]
        mx, my = M(8.0), M(3.0)
        r = (mx * mx + 1) / (my * my - 1)
        r.backward()
        r.backward()
        assert walk.grad(x) == pytest.approx(mx.grad, rel=1e-12)
        assert "**" in walk.program.source  # a / b is a * b**-1
        assert app.contained == []


async def test_predict_mode_is_off_in_a_bug_mode() -> None:
    app = create_app(TOY, VALUES, steady=True, bug="early")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("g")
        await pilot.pause()
        assert not app.main.predicting
        assert any("turn the bug mode off" in str(n.message) for n in app._notifications)


# --- the command line ----------------------------------------------------------------------------


def test_cli_bug_json_carries_both_grads() -> None:
    code, out, err = run_cli(TOY, "x=8", "y=3", "--json", "--bug", "overwrite")
    assert code == 0, err
    doc = json.loads(out)
    bug = doc["bug"]
    assert bug["name"] == "overwrite" and bug["rule"] == BUGS["overwrite"].rule
    assert bug["inputs"]["x"] == {"grad": 1.0, "correct": 2.0, "differs": True}
    assert doc["inputs"]["x"]["grad"] == 1.0  # the document's grads are the buggy ones
    ids = {n["id"]: n for n in doc["nodes"]}
    for entry in bug["nodes"]:
        assert ids[entry["id"]]["grad"] == entry["grad"]
    # the buggy steps: x's second edge sets 1, it does not add to 1
    x = doc["inputs"]["x"]["id"]
    edges = [e for s in doc["steps"] for e in s["edges"] if e["parent"] == x]
    assert [(e["grad_before"], e["grad_after"]) for e in edges] == [(0.0, 1.0), (1.0, 1.0)]


def test_cli_bug_print() -> None:
    code, out, err = run_cli("--example", "merge", "--print", "--bug", "early")
    assert code == 0, err
    assert "bug mode early" in out and "fires at once, 1 more to come" in out
    assert "fired already: not passed on" in out
    assert "goes on" in out  # OUT's second edge, after B + 1's firing
    table = out.split("grads after the pass")[1]
    a_row = next(line for line in table.splitlines() if line.startswith("A "))
    assert a_row.split()[:5] == ["A", "2", "24", "45", "✗"]
    assert "DIFFER" in out


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--bug", "nope", "--print"], "invalid choice"),
        (["--bug", "early", "--graph"], "--bug goes with the app, --print or --json"),
        (["--bug", "early", "--predict"], "cannot be combined with --bug"),
    ],
)
def test_cli_bug_errors(argv: list[str], says: str) -> None:
    code, out, err = run_cli(TOY, "x=8", "y=3", *argv)
    assert code == 2 and out == "" and says in err and "Traceback" not in err


# --- bug modes beside the whole loop (forward mode, u, t) ----------------------------------------


@pytest.mark.parametrize("other", ["--forward", "--train"])
def test_cli_bug_refuses_the_loop_options(other: str) -> None:
    code, out, err = run_cli(TOY, "x=8", "y=3", "--print", "--bug", "overwrite", other)
    assert code == 2 and out == ""
    assert "--bug" in err and other in err and len(err.strip().splitlines()) == 1


def test_cli_forward_is_printed_with_passes() -> None:
    code, out, _ = run_cli(TOY, "x=8", "y=3", "--print", "--forward", "--passes", "2")
    assert code == 0
    assert out.index("forward") < out.index("pass 2")
    # two passes without zero_grad: every grad doubled, x.grad = 2 * (2x/8) = 4 (by hand)
    assert re.search(r"\bx\b.*\b4\b", out)


async def test_loop_keys_say_why_in_a_bug_mode() -> None:
    app = create_app(TOY, VALUES, steady=True, bug="overwrite")
    async with app.run_test(size=SIZE) as pilot:
        for key in ("F", "u", "t"):
            await pilot.press(key)
            await pilot.pause()
            messages = [str(n.message) for n in app._notifications]
            assert sum("bug mode overwrite" in m for m in messages) == 1, key
        assert app.main.fwd is None and app.contained == []


# --- a buggy upstream is a grad, not a derivative ------------------------------------------------


def test_print_calls_a_wrong_upstream_a_grad_and_gives_the_derivative() -> None:
    """merge: OUT = (B + 1)(B + 2), so ∂OUT/∂B = 2B + 3 = 15 at B = 6 (by hand). Overwrite keeps
    only B + 2's contribution, 7 = B + 1: that is B.grad, not ∂OUT/∂B."""
    code, out, _ = run_cli("--example", "merge", "--bug", "overwrite", "--print")
    assert code == 0
    assert "B = A * 3 fires, upstream B.grad = 7 (∂OUT/∂B is 15)" in out
    assert "∂OUT/∂B = 7" not in out
    # a right upstream keeps its name: B + 1 sends ∂OUT/∂(B + 1) = B + 2 = 8
    assert "upstream ∂OUT/∂(B + 1) = 8" in out
    code, out, _ = run_cli("--example", "merge", "--print")
    assert "upstream ∂OUT/∂B = 15" in out and ".grad =" not in out


async def test_the_app_heading_calls_a_wrong_upstream_a_grad() -> None:
    from stepgrad.widgets import StepPanel

    app = create_app(EXAMPLES["merge"].program, steady=True, bug="early")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("right", "right", "right")
        await pilot.pause()
        title = app.screen.query_one(StepPanel).title()
        # early: B fires on B + 1's contribution alone, 8 = B + 2 (by hand); ∂OUT/∂B is 15
        assert "B = A * 3 fires · upstream B.grad = 8 (∂OUT/∂B is 15)" in title, title
    # micrograd's second backward(): y*y sends its accumulated grad, -4.0625 (micrograd 0.1.0's
    # own y*y.grad after two calls on this graph); one pass's ∂out/∂(y*y) is -65/64 = -1.015625
    app = create_app(TOY, VALUES, steady=True, bug="micrograd")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("end", "b", "right", "right", "right", "right")
        await pilot.pause()
        title = app.screen.query_one(StepPanel).title()
        assert "upstream (y*y).grad = -4.0625 (∂out/∂(y*y) is -1.01562)" in title, title


async def test_the_rule_is_said_once_at_step_0() -> None:
    """The step panel opens a bug mode with its rule; the narration said it again under it."""
    from test_app import text_of

    app = create_app(EXAMPLES["merge"].program, steady=True, bug="early")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        text = " ".join(text_of(app).split())
        assert text.count("a node may fire only after every node that uses") == 1, text


async def test_a_bug_mode_never_claims_a_second_pass_doubles_the_grads() -> None:
    """micrograd's backward() called twice: x.grad = 8 on the toy, 4x one pass (2x/8 = 2 at
    x = 8, by hand; micrograd's own in test_micrograd_mode_matches_micrograd). The panel said
    every grad ends at exactly 2x one pass's, and 'pass 2 done (2x one pass)'."""
    app = create_app(TOY, VALUES, steady=True, bug="micrograd")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("end", "b")
        await pilot.pause()
        text = panel_text(app)
        assert "exactly 2x one pass's grad." not in text
        assert "Correct passes would end at exactly 2x one pass's grads" in text
        await pilot.press("end")
        await pilot.pause()
        x = app.walk.program.inputs["x"]
        assert app.walk.grad(x) == 8.0
        text = panel_text(app)
        assert "(2x one pass" not in text and "grads accumulated over 2 passes" in text
    app = create_app(TOY, VALUES, steady=True)  # the correct passes still say it
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("end", "b")
        await pilot.pause()
        assert "At the end every grad is exactly 2x one pass's grad." in panel_text(app)


def test_overwrite_says_how_many_values_it_does_not_name() -> None:
    """x (also called h0) feeds h1 twice and each h feeds the next twice (by construction):
    x and h1..h4 each get two contributions, five values; the narration named three and
    stopped."""
    from stepgrad.lesson.bugs import BugWalkthrough, narrate_bug

    lines = ["h0 = x"] + [f"h{i} = h{i - 1}*h{i - 1}" for i in range(1, 6)] + ["h5"]
    walk = BugWalkthrough(parse("\n".join(lines), {"x": 1.01}), "overwrite")
    text = " ".join(narrate_bug(walk))
    assert "and 2 more each get more than one contribution" in text, text


# --- micrograd's graph and its rule, against micrograd 0.1.0 itself --------------------------


def _mg_graph(root: M) -> list[M]:
    """micrograd's nodes, each once, inputs before the node they feed."""
    seen: set[M] = set()
    order: list[M] = []
    stack: list[tuple[M, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))
            stack += [(child, False) for child in node._prev]
    return order


def _shared(a: M, y: M) -> M:
    b = a / y - 3 / a
    return b * b - (2 * 3) * a


_NUMBERS = [
    # the programs of the findings, and numbers on either side of -, / and a function
    ("x/3 - 1 + 2/x", {"x": 2.0}, lambda v: v["x"] / 3 - 1 + 2 / v["x"]),
    ("(x*x + 1)/(y*y - 1)", {"x": 8.0, "y": 3.0},
     lambda v: (v["x"] * v["x"] + 1) / (v["y"] * v["y"] - 1)),
    ("5 - x*y - -x + relu(y - 0.5)/4", {"x": 1.5, "y": -0.25},
     lambda v: 5 - v["x"] * v["y"] - -v["x"] + (v["y"] - 0.5).relu() / 4),
    ("a = x - y; b = a/y - 3/a; b*b - (2*3)*a", {"x": 0.7, "y": 1.9},
     lambda v: _shared(v["x"] - v["y"], v["y"])),
]  # fmt: skip


@pytest.mark.parametrize("calls", [2, 3])
@pytest.mark.parametrize("case", range(len(_NUMBERS)))
def test_micrograd_mode_builds_the_graph_micrograd_builds(case: int, calls: int) -> None:
    """Where an operand is a number, Python does micrograd's part itself: ``v - 1`` is
    ``v + (-1)`` and ``v / 3`` is ``v * 3**-1``, each with one number, and no node multiplies 1
    by -1 or raises 3 to -1. The same ops, as many times, as micrograd 0.1.0's own graph (a
    power's exponent is a number there, an input of its node here).

    And after 2 and 3 calls without zero_grad, every input's grad as micrograd leaves it.
    micrograd adds the terms of a grad in the order its set of children gives, which may not
    be ours, so the last bit may differ: 1e-15 relative is a few bits of float rounding."""
    source, values, build = _NUMBERS[case]
    env = {name: M(value) for name, value in values.items()}
    theirs = build(env)
    program = micrograd_program(parse(source, values))
    names = {"+": "+", "*": "*", "relu": "ReLU"}
    ours: list[str] = []
    leaves = 0
    for node in program.nodes():
        if node.op == "**":
            ours.append(f"**{node.parents[1].data:g}")
        elif node.op:
            ours.append(names[node.op])
        elif not any(c.op == "**" and c.parents[1] is node for c in program.nodes()):
            leaves += 1
    mg = _mg_graph(theirs)
    assert sorted(ours) == sorted(str(v._op).replace("-1.0", "-1") for v in mg if v._op)
    assert leaves == sum(1 for v in mg if not v._op)
    assert program.output.data == theirs.data  # the same float operations
    for _ in range(calls):
        theirs.backward()
    walk = called(program, calls)
    for name, value in env.items():
        ours_grad = walk.grad(walk.program.inputs[name])
        assert ours_grad == pytest.approx(value.grad, rel=1e-15, abs=1e-300), (name, calls)


@pytest.mark.parametrize(
    ("source", "values", "calls"),
    [
        ("x*w", {"x": 2.0, "w": 5.0}, 2),  # the output alone keeps an old grad: exactly 2x
        ("-x", {"x": 3.0}, 3),  # x*-1: exactly 3x
        ("(x*x + 1)/(y*y - 1)", {"x": 8.0, "y": 3.0}, 2),  # the toy: not 2x
        ("(x*x + 1)/(y*y - 1)", {"x": 8.0, "y": 3.0}, 3),
    ],
)
def test_the_micrograd_rule_is_true_for_the_graph(
    source: str, values: dict[str, float], calls: int
) -> None:
    """The rule said a second call "gives neither 1x nor 2x the grads", which is false for
    ``x*w`` (micrograd gives x 10 and w 4 after two calls: 2x). Which grads are not ``calls`` x
    one call's comes from micrograd itself here."""
    env = {name: M(value) for name, value in values.items()}
    root = eval(source, {}, dict(env))  # a fixed expression over micrograd Values
    root.backward()
    one = {name: v.grad for name, v in env.items()}
    for _ in range(calls - 1):
        root.backward()
    off = [name for name, v in env.items() if v.grad != pytest.approx(calls * one[name])]
    code, out, _ = run_cli(source, *(f"{k}={v}" for k, v in values.items()), "--json", "--bug",
                           "micrograd", "--passes", str(calls))  # fmt: skip
    rule = json.loads(out)["bug"]["rule"]
    assert code == 0 and "neither" not in rule
    if not off:
        assert f"every grad but out's is exactly {calls}x one call's" in rule
    for name in off:
        grad = format_number(env[name].grad)
        assert f"{name}.grad is {grad}, not {calls} × {format_number(one[name])}" in rule


def test_early_boxes_read_ready_where_waiting_or_done_would_be_false() -> None:
    """On merge, by hand: OUT's first edge makes B + 1 fire (step 2), which makes B fire at once
    (step 3) though B + 2's part is still to come; OUT goes on at step 4. So after step 2 B is
    about to fire (not "waits 1"), and after steps 2 and 3 OUT has an edge left (not done)."""
    from stepgrad.lesson.bugs import early_ready

    program = parse(MERGE)
    walk = BugWalkthrough(program, "early")
    name = program.name
    seen = []
    for step in range(walk.total + 1):
        walk.go(step)
        seen.append(sorted(name(v) for v in early_ready(walk)))
    assert seen[2] == ["B", "OUT"] and seen[3] == ["OUT"]
    assert seen[0] == [] and seen[5] == []
    assert early_ready(BugWalkthrough(parse(MERGE), "overwrite")) == set()


async def test_early_boxes_on_screen_read_ready() -> None:
    """Bug mode early on merge, step 2: the panel said "B fires at once, 1 more to come" while
    B's box read `waits 1`, and OUT's box read ✓ though its B + 2 edge was still to come."""
    from stepgrad.draw import NodeState

    app = create_app(EXAMPLES["merge"].program, steady=True, bug="early")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("right", "right")
        await pilot.pause()
        scene, walk = app.main.scene, app.walk
        view = scene.whole_view(walk)
        for name in ("B", "OUT"):
            node = walk.program.names[name]
            assert view.nodes[scene.ids[node]] == NodeState("waiting", 0), name  # "ready"
