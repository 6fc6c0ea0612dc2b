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
    "accumulated": ["end", "b", "end", "_"],  # pass 2 without zero_grad: every grad doubled
    "zero_grad": ["end", "z", "_", "_"],  # the panel settles its height after a frame
    "help": ["question_mark"],
    "edit_error": ["e", "backspace"],  # the last ")" deleted: a caret under the error
}


@pytest.mark.parametrize("scene", list(SCENES))
def test_main_screens_120x36(snap_compare: Any, scene: str) -> None:
    assert snap_compare(toy_app(), press=SCENES[scene], terminal_size=BIG)


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
