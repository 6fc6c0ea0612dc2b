"""Keys typed ahead: each key is judged when its turn comes, after the keys before it acted.

A terminal delivers fast typing in one read (tmux ``send-keys End z b End``, a fast typist, a
lecturer's clicker macro): every key is queued before the first one acts. Whether a key can act
depends on what the keys before it did, so it must be judged at its turn, never when it is
first seen. Here keys are sent with :func:`test_robust.burst` (all queued before the app handles
any), and the expected states are derived by hand from the toy program
``(x*x + 1)/(y*y - 1)`` at x=8, y=3, whose backward pass has 5 steps (x*x, x*x + 1, y*y,
y*y - 1, the division).
"""

from __future__ import annotations

from typing import Any

import pytest
from test_app import TOY, VALUES
from test_robust import burst, notices, settle
from textual.widgets import Button

from stepgrad.app import StepgradApp, create_app
from stepgrad.screens.predict import PredictScreen

SIZE = (120, 36)


def toy() -> StepgradApp:
    return create_app(TOY, VALUES, steady=True)


async def test_b_after_end_in_the_same_burst_starts_pass_2() -> None:
    """``end z b end``: end reaches the last step, z zeroes, b starts pass 2 and end ends it.
    Judged when first seen, b was refused ("press end first") and the run stopped in pass 1."""
    app = toy()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        burst(app, "right", "end", "z", "b", "end")
        await settle(pilot)
        walk = app.walk
        assert (walk.pass_.number, walk.step, walk.finished) == (2, walk.total, True)
        assert walk.total == 5
        # pass 2 after zero_grad: the same grads as one pass (dx = 2x/(y*y-1) = 2, x = 8, y = 3)
        x = next(node for node in walk.nodes if node.label == "x")
        assert walk.grads()[x] == 2.0
        assert notices(app) == []
        assert app.contained == []


async def test_a_key_refused_at_its_turn_says_why() -> None:
    """``home left``: at its turn, ← finds step 0 and says so; judged when first seen (at step
    5) it was let through, and then did nothing at all, silently."""
    app = toy()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("end")
        await settle(pilot)
        burst(app, "home", "left")
        await settle(pilot)
        assert app.walk.step == 0
        assert notices(app) == ["already at step 0: press → to fire the first node"]


async def test_b_without_z_in_the_same_burst_accumulates() -> None:
    """``end b end``: without z the second pass adds to the first, every grad doubles."""
    app = toy()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        burst(app, "end", "b", "end")
        await settle(pilot)
        walk = app.walk
        assert (walk.pass_.number, walk.finished) == (2, True)
        x = next(node for node in walk.nodes if node.label == "x")
        assert walk.grads()[x] == 4.0  # 2 + 2
        assert notices(app) == []


async def test_a_key_the_editor_does_not_take_says_so() -> None:
    """``e tab``: tab arrives while the editor opens; at its turn the editor is open, and tab
    (a key of the main screen the editor does not use) says so instead of doing nothing."""
    app = toy()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        burst(app, "e", "tab")
        await settle(pilot)
        assert app.main.editing
        assert app.main.selected is None
        assert notices(app) == ["tab does nothing in the editor: ctrl+s applies, esc cancels"]


async def test_predict_right_escape_in_one_burst_reveals_the_step() -> None:
    """Predict mode, ``right escape``: → asks, esc skips the question: step 1 revealed, not
    scored, and the dialog is gone."""
    app = toy()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("g")
        await settle(pilot)
        burst(app, "right", "escape")
        await settle(pilot)
        assert app.screen is app.main
        assert app.walk.step == 1
        assert app.main.score.asked == 0


# --- the predict dialog under a screen opened over it -------------------------------------------


async def predict_open(pilot: Any, app: StepgradApp) -> PredictScreen:
    """Predict mode on, → pressed: the dialog for step 1 is open and idle."""
    await pilot.press("g", "right")
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, PredictScreen)
    return screen


async def test_a_skip_that_lands_under_the_palette_closes_the_dialog_after_it() -> None:
    """A press of Skip is handled by the dialog in its own time: a ``ctrl+p`` typed right after
    can open the palette over the dialog first (the monkey test met it). Dismissing then popped
    the palette instead (Textual's ``dismiss`` pops the top screen) and left the dialog marked
    as closing, so no key closed it again. Now it closes once it is on top. The state the race
    leaves is made by hand here."""
    app = toy()
    async with app.run_test(size=SIZE) as pilot:
        dialog = await predict_open(pilot, app)
        app.action_command_palette()  # what ctrl+p does, before the press is handled
        dialog.query_one("#predict-skip", Button).press()
        await settle(pilot)
        assert app.walk.step == 0  # not yet: the palette is still open over the dialog
        await pilot.press("escape")  # closes the palette; the skip takes effect
        await settle(pilot)
        assert app.screen is app.main
        assert app.walk.step == 1
        assert app.main.score.asked == 0  # skipped: not scored
        assert app.contained == []


async def test_a_checked_dialog_under_the_palette_still_closes_with_its_answers() -> None:
    """The same race on the Reveal button of a checked dialog: the answers count once."""
    app = toy()
    async with app.run_test(size=SIZE) as pilot:
        dialog = await predict_open(pilot, app)
        for _ in dialog.questions:
            await pilot.press("0", "enter")
            await settle(pilot)
        assert dialog.checked
        app.action_command_palette()
        dialog.query_one("#predict-check", Button).press()
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is app.main
        assert app.walk.step == 1
        assert app.main.score.asked == len(dialog.questions)
        await pilot.press("escape")  # nothing left to close: esc is the main screen's again
        await settle(pilot)
        assert app.screen is app.main and app.walk.step == 1


@pytest.mark.parametrize(
    "keys",
    [
        ("tab", "P", "pagedown"),  # the paths list, focused as it opens
        ("tab", "P", "pageup"),
        ("slash", "x", "shift+tab", "pageup"),  # the find screen's matches, shown by the x
        ("slash", "x", "shift+tab", "pagedown"),
    ],
)
async def test_a_page_key_typed_right_after_a_list_appears(keys: tuple[str, ...]) -> None:
    """Typed in one burst, a page key can reach a list before it is laid out: Textual's
    OptionList then fails (``KeyError: 0``, its lines are counted once it has a size). The
    page move is skipped instead (nothing is shown yet to page through)."""
    app = toy()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        burst(app, *keys)
        await settle(pilot)
        assert app.contained == []
        assert app.screen is not app.main  # the list's screen is open
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is app.main
        assert app.contained == []


async def test_a_page_move_on_a_list_not_laid_out_yet_is_skipped() -> None:
    """The case the burst above can reach, made certain: ``page_down`` run on an OptionList
    mounted this very moment (no size yet). Textual 8.2.8 fails with ``KeyError: 0`` there;
    the app skips the move, and the same key once the list is laid out does move."""
    from textual.widgets import OptionList

    app = toy()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        options = OptionList(*(f"option {n}" for n in range(100)))
        await app.main.mount(options)
        options.highlighted = 0
        assert not options.scrollable_content_region
        await app.run_action("page_down", options)
        assert app.contained == []
        assert options.highlighted == 0
        await settle(pilot)
        await app.run_action("page_down", options)
        assert options.highlighted and options.highlighted > 0


@pytest.mark.parametrize(
    ("keys", "says"),
    [
        (("end", "b"), "their grads are where this one starts"),
        (("end", "z", "b"), "zero_grad set every grad to 0 for this one"),
    ],
)
async def test_step_back_at_the_start_of_a_later_pass_says_why_it_stops(
    keys: tuple[str, ...], says: str
) -> None:
    """← at step 0 of pass 2 cannot go back into pass 1: the line says so, and whether pass 2
    starts from pass 1's grads or from zeros."""
    app = toy()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*keys)
        await settle(pilot)
        assert (app.walk.pass_.number, app.walk.step) == (2, 0)
        await pilot.press("left")
        await settle(pilot)
        (line,) = notices(app)
        assert line.startswith("already at step 0 of pass 2: the passes before it are over")
        assert says in line
