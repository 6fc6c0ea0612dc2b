"""The find box (``/``): keys typed right after it opens reach it, names are matched as they can be
typed (``x2`` for ``x₂``), and Enter goes where the box says it goes.

The program is the one from the report, ``x = 2; x = x*3; y = x*x + x``: its first ``x`` is the
input 2 (``x₁``), its second is ``x₁*3`` = 6 (``x₂``), worked out by hand; each test finds its
node by those values, not by the names the app gives them.
"""

from __future__ import annotations

import pytest
from test_robust import burst, settle
from textual import events
from textual.widgets import Input, Static

from engine import Value
from stepgrad.app import StepgradApp, create_app
from stepgrad.screens.find import FindScreen

REASSIGNED = "x = 2; x = x*3; y = x*x + x"
SIZE = (120, 36)


def first_x(app: StepgradApp) -> Value:
    """``x₁``: the input, 2."""
    (node,) = [v for v in app.walk.nodes if not v.parents and v.requires_grad and v.data == 2.0]
    return node


def second_x(app: StepgradApp) -> Value:
    """``x₂``: x₁*3 = 6."""
    (node,) = [v for v in app.walk.nodes if v.op == "*" and v.data == 6.0]
    return node


def shown(box: FindScreen) -> str:
    """What the input shows: the typed text and, after it, the grey completion."""
    return box.query_one(Input).render_line(0).text.strip()


def note(box: FindScreen) -> str:
    return str(box.query_one("#find-count", Static).render())


async def test_keys_typed_while_the_box_opens_reach_it() -> None:
    """Keys that arrive after the box is pushed but before it has composed its input (it does
    that in its own task, later): the app sends each to the focused widget, and nothing was
    focused, so they went to the box's screen, which has no use for them, and were lost (an
    empty box, "type part of a name first"). They now reach the input, in order.

    The keys go through the app's own routing (``App.on_event``, as a key from the terminal)
    in the same task that pushed the box, so none of them can wait for it to compose."""
    app = create_app(REASSIGNED, steady=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.main.action_find()
        assert isinstance(app.screen, FindScreen) and not app.screen.is_mounted
        for key, character in (("y", "y"), ("enter", "\r")):
            event = events.Key(key, character)
            event.set_sender(app)
            await app.on_event(event)
        await settle(pilot)
        assert app.screen is app.main, "Enter did not close the box"
        assert app.main.selected is app.walk.program.output  # y, the output


async def test_a_burst_that_opens_the_box_and_types_into_it() -> None:
    """``/ x 2 enter`` as one terminal read (tmux send-keys, a lecturer typing fast): the x2 is
    found and Enter goes there."""
    app = create_app(REASSIGNED, steady=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        burst(app, "slash", "x", "2", "enter")
        await settle(pilot, 6)
        assert app.screen is app.main
        assert app.main.selected is second_x(app)


@pytest.mark.parametrize("typed", ["x2", "X2", "x_2", "x₂"])
async def test_digits_find_subscripts(typed: str) -> None:
    """Nobody can type ₂ in front of a class: ``x2`` (and ``x_2``) find ``x₂``."""
    app = create_app(REASSIGNED, steady=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash")
        await pilot.pause()
        box = app.screen
        assert isinstance(box, FindScreen)
        await pilot.press(*typed)
        await pilot.pause()
        assert box.matches[:1] == [second_x(app)], note(box)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is app.main and app.main.selected is second_x(app)


async def test_a_literal_name_wins_over_a_subscript() -> None:
    """A node literally called ``x2`` comes first; the ``x₂`` that ``x2`` also reads as comes
    after it."""
    app = create_app("x2 = 5; x = 2; x = x*3; y = x*x + x2", steady=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"x2")
        await pilot.pause()
        box = app.screen
        assert isinstance(box, FindScreen)
        literal = app.walk.program.inputs["x2"]
        assert literal.data == 5.0
        assert box.matches[0] is literal
        assert second_x(app) in box.matches
        await pilot.press("enter")
        await settle(pilot)
        assert app.main.selected is literal


async def test_enter_goes_where_the_box_says() -> None:
    """After ``x`` the grey completion read ``x*x`` while Enter went to ``x₁``. Whatever is
    highlighted is what Enter picks, and the box shows it: as the completion when its name
    goes on from what was typed, and in the line under the list."""
    for moves, expected in (((), first_x), (("down",), second_x)):
        app = create_app(REASSIGNED, steady=True)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("slash", "x", *moves)
            await pilot.pause()
            box = app.screen
            assert isinstance(box, FindScreen)
            completion = shown(box)
            said = note(box)
            await pilot.press("enter")
            await settle(pilot)
            picked = app.main.selected
            assert picked is expected(app)
            name = box.scene.names[picked]
            assert completion == name, (completion, name)
            assert said.endswith(f"enter: {name}"), said


async def test_no_completion_that_enter_would_not_follow() -> None:
    """``x2`` finds ``x₂``, whose name does not go on from ``x2``: no grey text is shown (it
    would read ``x2`` + the rest of another name), and the line under the list names x₂."""
    app = create_app(REASSIGNED, steady=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", "x", "2")
        await pilot.pause()
        box = app.screen
        assert isinstance(box, FindScreen)
        assert shown(box) == "x2"
        assert note(box).endswith(f"enter: {box.scene.names[second_x(app)]}")
