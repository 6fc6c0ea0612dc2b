"""Every key of the main screen, in every state: it acts, or it says in one line why not.

For each state (start, mid-pass, done, zeroed mid-pass / at the end / at step 0, pass 2, predict
mode, editing) one app is brought to that state; then each key is pressed in turn, and between
two keys the app is brought back to exactly the same screen (checked). A key must change what is
on screen, open another screen, or show a notice; a key the footer greys out must do nothing but
show the notice that says why (:meth:`MainScreen.why_not`).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_app import TOY, VALUES, text_of

from stepgrad.app import StepgradApp, create_app
from stepgrad.examples import EXAMPLES
from stepgrad.screens.main import _KEY_ACTIONS, DEFAULT_SPEED, MainScreen
from stepgrad.widgets import Narration
from stepgrad.widgets.editor import ProgramEditor

SIZE = (80, 24)
STATES: dict[str, list[str]] = {
    "start": [],
    "mid-pass": ["right", "right"],
    "done": ["end"],
    "zeroed mid-pass": ["right", "right", "z"],
    "zeroed at the end": ["end", "z"],
    "zeroed at step 0": ["z"],
    "pass 2": ["end", "b", "right"],
    "predict mode": ["g"],
    "editing": ["e"],
    "forward mode": ["F"],
    "forward mode, mid-pass": ["F", "right", "right"],
    "forward pass done": ["F", "end"],
    "after a gradient step": ["end", "u"],
}
KEYS = sorted(key for key in _KEY_ACTIONS if key != "q")  # q quits: see test_q_quits_in_every_state
ONE_KEY_PER_ACTION = sorted(
    {action: key for key, action in reversed(_KEY_ACTIONS.items())}.values()
)
"""The first key of each binding (``right`` for ``right,l,space``): the other keys of a binding
run the same action, so outside the editor (where l and space are letters) one of them is enough;
test_the_other_keys_of_a_binding_run_its_action checks that."""


def notices(app: StepgradApp) -> list[str]:
    return [notification.message for notification in app._notifications]


async def reset(app: StepgradApp, pilot: object, state: list[str], example: object) -> None:
    """Back to a fresh app's screen, then into ``state`` (every toggle off, the program
    reloaded, no notice)."""
    while app.screen is not app.main:
        app.pop_screen()
    screen: MainScreen = app.main
    screen._stop()
    if screen.editing:
        screen._close_editor()
    screen.focus_mode = False
    screen.mode = None
    screen.side_shown = None
    screen.selected = None
    screen.predicting = False
    screen.score.reset()
    screen.speed = DEFAULT_SPEED
    screen.narrating = True
    screen.query_one(Narration).display = True
    screen.load(EXAMPLES["zero_grad"].program if example else TOY, None if example else VALUES)
    screen.example = example  # type: ignore[assignment]
    screen._arrange(*SIZE)
    screen.sync()
    for key in state:  # the keys' actions (the keys themselves are tested below)
        await app.run_action(_KEY_ACTIONS[key], screen)
    await pilot.wait_for_scheduled_animations()  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]  # frames queued after the refresh
    app.clear_notifications()
    screen._told = ("", 0.0)


def frame(app: StepgradApp) -> tuple[object, ...]:
    """What a reset must restore: the walkthrough, the top line, the footer, the screen."""
    lines = text_of(app).splitlines()
    return (app.walk.key, lines[0], lines[-1], app.screen, app.main.editing)


def editor_state(app: StepgradApp) -> tuple[object, ...]:
    editor = app.main.query_one(ProgramEditor)
    area = editor.input
    return (editor.display, area.text, area.selection, app.focused)


@pytest.mark.parametrize(
    ("state", "example"),
    [(state, None) for state in STATES]
    + [(state, "zero_grad") for state in ("start", "done", "zeroed at the end")],
)
async def test_every_key_acts_or_says_why(state: str, example: str | None, tmp_path: Path) -> None:
    """(The zero_grad example has a training loop: there t opens it.)"""
    the_example = EXAMPLES[example] if example else None
    app = create_app(
        EXAMPLES["zero_grad"].program if example else TOY,
        None if example else VALUES,
        steady=True,
        example=the_example,
    )
    async with app.run_test(size=SIZE) as pilot:
        app.main.screenshot_dir = str(tmp_path)
        await reset(app, pilot, STATES[state], the_example)
        fresh = frame(app)
        silent = []
        for key in KEYS if state == "editing" else ONE_KEY_PER_ACTION:
            if key == "q":
                continue
            await reset(app, pilot, STATES[state], the_example)
            assert frame(app) == fresh, f"reset before {key!r} did not restore the state"
            screen = app.main
            action = _KEY_ACTIONS[key]
            name = action.partition("(")[0]
            enabled = screen.check_action(name, ())
            why = screen.why_not(name)
            before = text_of(app)
            editing = screen.editing
            edited = editor_state(app) if editing else None
            if editing:  # the cursor mid-text: arrows and home / end can move it
                screen.query_one(ProgramEditor).input.move_cursor((1, 2))
                await pilot.pause()
                before = text_of(app)
                edited = editor_state(app)
            assert app.screen is screen and not notices(app)
            await pilot.press(key)
            told = notices(app)
            changed = (
                app.screen is not screen
                or text_of(app) != before
                or bool(told)
                or (editing and editor_state(app) != edited)
            )
            if not changed:
                silent.append(key)
            if enabled is not True and not editing:
                # greyed or hidden: nothing happens but the notice that says why
                assert why is not None and told == [why], (state, key, told)
                assert text_of(app) == before, (state, key)
        assert silent == [], f"{state}: keys that did nothing and said nothing: {silent}"


@pytest.mark.parametrize("state", list(STATES))
async def test_q_quits_in_every_state(state: str) -> None:
    app = create_app(TOY, VALUES, steady=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*STATES[state])
        await pilot.pause()
        if app.main.editing:
            await pilot.press("escape")  # in the editor q is a letter
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


@pytest.mark.parametrize(
    ("keys", "key", "says"),
    [
        (["right", "z"], "left", "grads were zeroed: press b to start the next pass"),
        (["end", "z"], "home", "grads were zeroed: press b to start the next pass"),
        (["end", "z"], "right", "grads were zeroed: press b to start the next pass"),
        (["end", "z"], "end", "grads were zeroed: press b to start the next pass"),
        (["right"], "b", "b starts another pass once this one is done: press end first, "
                         "or z then b"),
        (["right"], "u", "u steps with the grads of a whole backward pass: press end first"),
        (["end", "z"], "u", "every grad is 0 after zero_grad: press b for a backward pass first"),
        (["F"], "left", "already at the start of the forward pass: press → to compute a node"),
        (["F", "end"], "end", "the forward pass is done: press → to start the backward pass"),
        (["F"], "b", "grads come from the backward pass, after the forward pass: press → to its "
                     "end and on (F leaves forward mode)"),
    ],
)  # fmt: skip
async def test_the_testers_keys_say_what_to_press(keys: list[str], key: str, says: str) -> None:
    app = create_app(TOY, VALUES, steady=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*keys)
        await pilot.pause()
        walk = app.walk.key
        await pilot.press(key)
        await pilot.pause()
        assert notices(app)[-1] == says
        assert app.walk.key == walk


async def test_a_notice_is_not_stacked_when_the_key_is_held() -> None:
    app = create_app(TOY, VALUES, steady=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("end", "right", "right", "right")
        await pilot.pause()
        assert len(notices(app)) == 1


async def test_notices_in_a_burst_replace_each_other() -> None:
    """Five quick gradient steps stacked five notices over half the step panel (each a new
    text, so not the held key above): the newest replaces the last, and the newest is what
    the last key did."""
    app = create_app(EXAMPLES["zero_grad"].program, steady=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press(*["end", "u"] * 4, "right")
        await pilot.pause()
        assert len(app.main.updates) == 4
        assert notices(app) == [next(n for n in notices(app) if n.startswith("gradient step 4"))]
        await pilot.press("end", "end")  # a refusal: it replaces the step's notice
        await pilot.pause()
        assert len(notices(app)) == 1 and notices(app)[0].startswith("pass 1 is done")


async def test_the_footer_greys_what_a_press_would_refuse() -> None:
    """The footer shows a key greyed exactly when pressing it would only explain why not."""
    app = create_app(TOY, VALUES, steady=True)
    async with app.run_test(size=(200, 60)) as pilot:
        for keys in ([], ["right"], ["end"], ["z"]):
            await pilot.press(*keys)
            await pilot.pause()
            screen = app.main
            for active in screen.active_bindings.values():
                name = active.binding.action.partition("(")[0]
                assert active.enabled == (screen.why_not(name) is None), (keys, name)


@pytest.mark.parametrize("key", sorted(set(KEYS) - set(ONE_KEY_PER_ACTION)))
async def test_the_other_keys_of_a_binding_run_its_action(key: str) -> None:
    app = create_app(TOY, VALUES, steady=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right", "right", "minus")
        await pilot.pause()
        state = (app.walk.key, app.main.speed, type(app.screen))
        await pilot.press(key)
        await pilot.pause()
        assert (app.walk.key, app.main.speed, type(app.screen)) != state
