"""Snapshots of the main screens at fixed sizes (pytest-textual-snapshot).

Update after a deliberate change with ``pytest tests/test_snapshots.py --snapshot-update`` and
look at the SVGs (or the report pytest writes on failure) before committing them. The theme is
pinned and the editor's cursor does not blink, so the frames are stable.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_app import toy_app

BIG = (120, 36)
SMALL = (60, 20)


SCENES: dict[str, list[str]] = {
    "start": [],
    "shared_node": ["right"] * 4,  # x*x fires: x gets its 2nd contribution
    "pass_done": ["end"],
    "accumulated": ["end", "b", "end"],  # pass 2 without zero_grad: every grad doubled
    "zero_grad": ["end", "z"],  # the panel settles its height after a frame (see _settled)
    "help": ["question_mark"],
    "edit_error": ["e", "backspace"],  # the last ")" deleted: a caret under the error
}


async def _settled(pilot: Any) -> None:
    """Wait until the step panel has the height its lines need and no layout is pending.

    After ``z`` or a second pass the panel fits its new lines a frame later; under load a
    fixed number of frames was sometimes too few (the same picture, with three blank rows
    drawn by the pane behind the panel instead of the panel: other rectangles in the SVG)."""
    from stepgrad.widgets import StepPanel

    app = pilot.app
    for _ in range(40):
        await pilot.pause()
        panel = app.main.query_one(StepPanel)
        width = panel.content_size.width
        height = panel.styles.height
        settled = (
            width > 0
            and height is not None
            and height.value == panel.region.height
            and not app.screen._layout_required
            and not app.screen._dirty_widgets
        )
        if settled:
            break
    await pilot.pause()


@pytest.mark.parametrize("scene", list(SCENES))
def test_main_screens_120x36(snap_compare: Any, scene: str) -> None:
    keys = [key for key in SCENES[scene] if key != "_"]

    async def press_and_settle(pilot: Any) -> None:
        await pilot.press(*keys)
        await _settled(pilot)

    assert snap_compare(toy_app(), run_before=press_and_settle, terminal_size=BIG)


@pytest.mark.parametrize("scene", ["start", "shared_node"])
def test_main_screens_60x20(snap_compare: Any, scene: str) -> None:
    assert snap_compare(toy_app(), press=SCENES[scene], terminal_size=SMALL)


def example_app(name: str, **options: Any) -> Any:
    from stepgrad.app import create_app
    from stepgrad.examples import EXAMPLES

    example = EXAMPLES[name]
    return create_app(example.program, example=example, steady=True, **options)


def test_the_neuron_in_lecture_mode_fits_120x36(snap_compare: Any) -> None:
    app = example_app("neuron", lecture=True)
    assert snap_compare(app, press=["right"] * 3, terminal_size=BIG)


def test_the_neuron_fits_100x30(snap_compare: Any) -> None:
    assert snap_compare(example_app("neuron"), press=["end"], terminal_size=(100, 30))


@pytest.mark.parametrize("expanded", [False, True])
def test_the_mlp_collapsed_and_expanded(snap_compare: Any, expanded: bool) -> None:
    keys = ["right"] * 12 + (["X"] if expanded else [])

    async def press_and_settle(pilot: Any) -> None:
        # X says how many sums it expanded in a notice, and whether the notice was drawn by
        # the time of the snapshot depended on the machine's load (it showed once in CI): the
        # notice is taken away (test_scale checks its text): the graph is what is compared
        await pilot.press(*keys)
        await pilot.pause()
        pilot.app.clear_notifications()
        for _ in range(4):
            await pilot.pause()

    assert snap_compare(example_app("mlp"), run_before=press_and_settle, terminal_size=(200, 60))
