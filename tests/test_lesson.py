"""Lesson and lecture features of the app: narration, the gradient check, predict mode driven
through the main screen, example switching from the command palette, the lecture layout and
themes. Expected numbers are derived by hand in the comments (or by finite differences)."""

from __future__ import annotations

import io

import pytest

from engine.parse import parse
from stepgrad.app import LECTURE_THEME, StepgradApp, create_app
from stepgrad.cli import main
from stepgrad.examples import EXAMPLES
from stepgrad.explain import gradient_check, narrate
from stepgrad.state import Walkthrough
from stepgrad.widgets import Narration, StepPanel

SIZE = (120, 36)
TOY = EXAMPLES["toy"].program  # x = 8; y = 3; a = x*x + 1; b = y*y - 1; r = a / b
PATHS = EXAMPLES["paths"].program  # a = 2; b = -3; c = a + b; d = b + 1; e = c * d


def fire_until(walk: Walkthrough, name: str) -> None:
    """Step until the node called ``name`` has just fired."""
    while walk.current is None or walk.program.name(walk.current.node) != name:
        assert walk.next(), f"{name} never fired"


def panel_text(app: StepgradApp) -> str:
    return app.screen.query_one(StepPanel).render().plain


# --- narration ---------------------------------------------------------------------------------


def test_narration_of_a_sum_passes_the_grad_straight_back() -> None:
    # paths: c = a + b = -1, d = b + 1 = -2, e = c*d. de/dd = c = -1, and d = b + 1 has local
    # derivative 1 toward b, so d passes -1 straight back to b.
    walk = Walkthrough(parse(PATHS))
    fire_until(walk, "d")
    text = " ".join(narrate(walk))
    assert "d = b + 1: the local derivative of a sum is 1 toward each input" in text
    assert "d passes its grad -1 straight back to b" in text
    # the constant 1 takes part in the sum but is never said to receive a grad
    assert "the constant 1 gets nothing" in text


def test_narration_of_a_product_and_of_a_shared_node() -> None:
    # e = c*d fires first: c gets 1 * d = -2, d gets 1 * c = -1 (hand-derived).
    walk = Walkthrough(parse(PATHS))
    walk.next()
    first = " ".join(narrate(walk))
    assert "e = c * d: the local derivative of a product toward each input is the other" in first
    assert "c gets 1 × -2 = -2" in first and "d gets 1 × -1 = -1" in first
    # b is reached through c and through d: the second contribution is explained as a sum.
    texts = []
    walk.home()
    while walk.next():
        texts.append(" ".join(narrate(walk)))
    shared = [t for t in texts if "more than one path" in t]
    assert len(shared) == 1 and "b already had 1 contribution in this pass" in shared[0]
    waits = [t for t in texts if "b still waits for 1 more contribution" in t]
    assert len(waits) == 1


def test_narration_at_the_start_end_after_zero_grad_and_accumulation() -> None:
    walk = Walkthrough(parse(TOY))
    assert "starts at the output r: its grad is ∂r/∂r = 1" in " ".join(narrate(walk))
    walk.end()
    done = " ".join(narrate(walk))
    # dr/dx = 2x/(y*y - 1) = 16/8 = 2
    assert "x.grad = 2 says: nudge x by a small h and r moves by about 2·h" in done
    assert "true gradient" not in done
    walk.backward_again()
    assert "starts from the grads pass 1 left" in " ".join(narrate(walk))
    walk.end()
    # one pass gives dr/dx = 2; two accumulated passes 4, which is not the sensitivity
    assert "x.grad = 4 is 2 × 2: the passes accumulated" in " ".join(narrate(walk))
    assert "r moves by about 2·h, not 4·h" in " ".join(narrate(walk))
    walk.zero_grad()
    assert "zero_grad() set every grad to 0" in " ".join(narrate(walk))


def test_example_notes_join_the_narration() -> None:
    walk = Walkthrough(parse(TOY))
    notes = {"start": "Watch a and b.", "r": "r fires first.", "done": "All done."}
    assert narrate(walk, notes)[-1] == "Watch a and b."
    walk.next()
    assert "r fires first." in narrate(walk, notes)
    walk.end()
    assert narrate(walk, notes)[-1] == "All done."


# --- gradient check ----------------------------------------------------------------------------


def test_gradient_check_agrees_and_scales_with_accumulated_passes() -> None:
    walk = Walkthrough(parse(TOY))
    walk.end()
    checks = {c.name: c for c in gradient_check(walk)}
    # dr/dx = 2, dr/dy = -2y(x*x + 1)/(y*y - 1)**2 = -6*65/64 = -6.09375, by hand
    assert checks["x"].numeric == pytest.approx(2, rel=1e-7)
    assert checks["y"].numeric == pytest.approx(-6.09375, rel=1e-7)
    assert all(c.agree for c in checks.values())
    walk.backward_again()
    walk.end()
    checks = {c.name: c for c in gradient_check(walk)}
    assert checks["x"].grad == 4 and checks["x"].numeric == pytest.approx(4, rel=1e-7)
    assert all(c.agree for c in checks.values())


def test_gradient_check_says_undefined_at_a_domain_edge() -> None:
    # x**1.5 at x = 0: x - h is negative for every h, so no central difference exists.
    walk = Walkthrough(parse("x = 0\ny = x**1.5"))
    walk.end()
    (check,) = gradient_check(walk)
    assert check.numeric is None and check.agree is None and check.verdict == "undefined"
    assert check.reason and "domain edge" in check.reason


async def test_gradient_check_is_shown_at_the_end_of_a_pass() -> None:
    app = create_app(TOY, steady=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("end")
        text = panel_text(app)
        assert "gradient check" in text
        assert "x  2  vs  2  ✓ agree" in text
        assert "y  -6.09375  vs  -6.09375  ✓ agree" in text
        await pilot.press("b", "end")
        text = panel_text(app)
        assert "2 × (r(x+h) - r(x-h))/2h" in text and "x  4  vs  4  ✓ agree" in text


# --- the narration pane, lecture, themes -------------------------------------------------------


async def test_narration_toggle() -> None:
    app = create_app(TOY, steady=True)
    async with app.run_test(size=SIZE) as pilot:
        narration = app.screen.query_one(Narration)
        assert narration.display and narration.sentences
        await pilot.press("n")
        assert not narration.display
        await pilot.press("right")
        assert narration.sentences == []  # hidden: not even computed
        await pilot.press("n")
        assert narration.display and "r = a / b" in " ".join(narration.sentences)


async def test_lecture_layout() -> None:
    app = create_app(TOY, lecture=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.theme == LECTURE_THEME
        assert app.screen.has_class("-lecture")
        assert not app.screen.query_one(Narration).display  # the lecturer talks over it
        panel = app.screen.query_one(StepPanel)
        assert panel.roomy
        await pilot.press("right")
        lines = [line.plain for line in panel.lines(100)]
        assert "" in lines  # edges spaced out by an empty line
        await pilot.press("n")
        assert app.screen.query_one(Narration).display


async def test_theme_is_applied() -> None:
    app = create_app(TOY, theme="nord")
    async with app.run_test(size=SIZE):
        assert app.theme == "nord"


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_cli_theme_and_serve_errors() -> None:
    code, out, err = run_cli("--theme", "no-such-theme", "--example", "toy")
    assert code == 2 and "unknown theme 'no-such-theme'" in err and "nord" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    code, out, _ = run_cli("--list-themes")
    assert code == 0 and "nord" in out.split() and LECTURE_THEME in out.split()
    code, _, err = run_cli("--serve", "--json", "--example", "toy")
    assert code == 2 and "--serve" in err and err.count("\n") == 1
    code, _, err = run_cli("--serve", "--port", "70000", "--example", "toy")
    assert code == 2 and "between 1 and 65535" in err
    code, _, err = run_cli("--port", "abc")
    assert code == 2 and "--port" in err and "Traceback" not in err


# --- examples from the command palette ---------------------------------------------------------


async def test_palette_switches_example() -> None:
    app = create_app(TOY, steady=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right")
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Example: neuron")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        walk = app.walk
        assert walk.program.source == EXAMPLES["neuron"].program
        assert walk.key == (1, 0, False)
        # micrograd's published neuron: o = tanh(n) = 0.7071
        assert walk.program.output.data == pytest.approx(0.7071067811865476)
        assert app.main.example is EXAMPLES["neuron"]


# --- predict mode through the main screen ------------------------------------------------------


async def test_predict_mode_scores_right_and_wrong_answers() -> None:
    from stepgrad.screens.predict import PredictScreen

    app = create_app(TOY, steady=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("g")
        assert app.main.predicting
        assert app.screen.check_action("play", ()) is None  # play would skip the questions
        await pilot.press("right")
        await pilot.pause()
        assert isinstance(app.screen, PredictScreen)
        assert app.walk.step == 0  # not revealed yet
        # step 1: r = a/b fires; a gets 1/b = 0.125 (right), b gets -a/b**2 = -1.015625; -1 is
        # wrong at 3 significant digits
        await pilot.press(*"1/8", "enter", "-", "1", "enter")
        await pilot.pause()
        await pilot.press("enter")  # reveal
        await pilot.pause()
        assert app.screen is app.main
        assert app.walk.step == 1
        assert app.main.score.right == 1 and app.main.score.asked == 2
        assert "predict score 1/2" in app.main._status_line().plain
        await pilot.press("right")
        await pilot.pause()
        await pilot.press("escape")  # skip: revealed, not scored
        await pilot.pause()
        assert app.walk.step == 2 and app.main.score.asked == 2
        await pilot.press("g")
        await pilot.press("right")
        assert app.walk.step == 3 and app.screen is app.main  # predict off: steps at once


# --- example notes and the zero_grad example's training loop -----------------------------------


async def test_example_notes_appear_when_their_node_fires() -> None:
    example = EXAMPLES["neuron"]
    app = create_app(example.program, example=example, steady=True)
    async with app.run_test(size=SIZE) as pilot:
        narration = app.screen.query_one(Narration)
        assert "micrograd's lecture" in " ".join(narration.sentences)
        await pilot.press("right")  # o = tanh(n) fires first
        assert "1 - o**2 = 1 - 0.5 = 0.5" in " ".join(narration.sentences)
        await pilot.press("end")
        assert "x1.grad = -1.5" in " ".join(narration.sentences)
        # the published values the note quotes (micrograd's lecture)
        names = app.walk.program.names
        assert app.walk.grad(names["x1"]) == pytest.approx(-1.5)
        assert app.walk.grad(names["w1"]) == pytest.approx(1.0)


def test_every_note_names_a_node_of_its_example() -> None:
    for example in EXAMPLES.values():
        program = parse(example.program)
        names = {program.name(node) for node in program.nodes()}
        for key in example.notes:
            assert key in names | {"start", "done"}, (example.name, key)


async def test_training_screen_opens_for_any_program_with_parameters() -> None:
    from stepgrad.screens.training import TrainingScreen

    app = create_app("2*3", steady=True)  # no input: nothing to train
    async with app.run_test(size=SIZE) as pilot:
        assert app.screen.check_action("training", ()) is None  # greyed in the footer
        await pilot.press("t")
        await pilot.pause()
        assert app.screen is app.main
        assert [n.message for n in app._notifications][-1].startswith(
            "t trains the program's parameters, and it has none"
        )
    app = create_app(TOY, example=EXAMPLES["toy"], steady=True)  # no loop of its own
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, TrainingScreen)
    example = EXAMPLES["zero_grad"]
    app = create_app(example.program, example=example, steady=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, TrainingScreen)
        await pilot.press("escape")
        assert app.screen is app.main


def test_cli_zero_grad_example_prints_and_exports_the_training_loop() -> None:
    import json

    code, out, err = run_cli("--example", "zero_grad", "--print")
    assert code == 0 and err == ""
    assert "loss with zero_grad" in out and "▲ loss went up" in out
    code, out, _ = run_cli("--example", "zero_grad", "--json")
    document = json.loads(out)
    assert code == 0 and document["training"]["params"] == ["w", "b"]
    code, out, _ = run_cli("--example", "toy", "--json")
    assert "training" not in json.loads(out)
