"""The garbage collector while the app starts (``stepgrad.app.StartupCollector``).

The app turns the collector off until its graph is on screen, then sends the objects made
meanwhile to the oldest generation and turns it back on. These tests check that the collector
is always given back as it was found (on, off, or with objects someone else froze) whether the
graph appears, fails, takes too long or never comes (the app quits first); and the panels the
app no longer composes at the start.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator

import pytest
from test_robust import settle

import stepgrad.app
from stepgrad.app import StartupCollector, create_app

TOY = "(x*x + 1)/(y*y - 1)"
VALUES = {"x": 8.0, "y": 3.0}


@pytest.fixture(autouse=True)
def collector_restored() -> Iterator[None]:
    """Every test starts with the collector on and nothing frozen, and leaves it so."""
    gc.unfreeze()
    gc.enable()
    yield
    assert gc.isenabled() and gc.get_freeze_count() == 0
    gc.unfreeze()
    gc.enable()


def _in_generation(obj: object, generation: int) -> bool:
    return any(o is obj for o in gc.get_objects(generation=generation))


def test_the_collector_is_off_until_the_end_then_the_new_objects_are_old() -> None:
    collector = StartupCollector()
    collector.start()
    assert not gc.isenabled()
    made = [[]]  # a tracked object made while the app starts
    assert _in_generation(made, 0)
    collector.finish()
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert _in_generation(made, 2) and not _in_generation(made, 0)
    collector.finish()  # twice is harmless
    collector.start()  # and a start after the end does nothing
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    try:
        collector = StartupCollector()
        collector.start()
        made = [[]]
        collector.finish()
        assert not gc.isenabled() and gc.get_freeze_count() == 0
        assert _in_generation(made, 0)  # not moved either
    finally:
        gc.enable()


def test_objects_frozen_by_someone_else_stay_frozen() -> None:
    gc.freeze()
    theirs = gc.get_freeze_count()
    assert theirs > 0
    collector = StartupCollector()
    collector.start()
    assert not gc.isenabled()
    collector.finish()
    assert gc.isenabled()
    assert gc.get_freeze_count() == theirs  # neither unfrozen nor frozen on top
    gc.unfreeze()


@pytest.mark.parametrize("lazy_graph", [True, False])
async def test_the_app_gives_the_collector_back_once_the_graph_is_shown(lazy_graph: bool) -> None:
    app = create_app(TOY, VALUES, lazy_graph=lazy_graph)
    async with app.run_test(size=(120, 36)) as pilot:
        for _ in range(200):  # the layout runs on a worker thread: wait for it
            await pilot.pause(0.01)
            if app.main.scene is not None:
                break
        assert app.main.scene is not None
        await settle(pilot)
        assert gc.isenabled() and gc.get_freeze_count() == 0


async def test_an_app_that_quits_before_its_graph_gives_the_collector_back() -> None:
    app = create_app(TOY, VALUES)
    async with app.run_test(size=(120, 36)):
        pass  # quits at once, the layout perhaps still running
    assert gc.isenabled() and gc.get_freeze_count() == 0


async def test_a_layout_that_takes_long_gives_the_collector_back_meanwhile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from stepgrad.screens.main import MainScreen

    make_scene = MainScreen._make_scene

    def slow(self: MainScreen, walk: object, size: object = None) -> object:
        time.sleep(1.0)  # on the layout's worker thread
        return make_scene(self, walk, size)  # type: ignore[arg-type]

    monkeypatch.setattr(MainScreen, "_make_scene", slow)
    monkeypatch.setattr(stepgrad.app, "STARTUP_GC_LIMIT", 0.1)
    app = create_app(TOY, VALUES)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.4)
        assert app.main.laying_out  # the graph is still on its way...
        assert gc.isenabled()  # ... and the collector is back on


async def test_a_failed_layout_gives_the_collector_back(monkeypatch: pytest.MonkeyPatch) -> None:
    from stepgrad.screens.main import MainScreen

    def broken(self: MainScreen, walk: object, size: object = None) -> object:
        raise RuntimeError("no layout today")

    monkeypatch.setattr(MainScreen, "_make_scene", broken)
    app = create_app(TOY, VALUES)
    async with app.run_test(size=(120, 36)) as pilot:
        for _ in range(100):
            await pilot.pause(0.01)
            if not app.main.laying_out:
                break
        await settle(pilot)
        assert not app.main.laying_out
        assert gc.isenabled() and gc.get_freeze_count() == 0


async def test_hidden_panels_are_mounted_when_first_needed_in_their_places() -> None:
    """The update, forward and lesson panels and the inspector are not composed at the start
    (each would cost the first frame about a millisecond); mounted in any order later, they
    take their places: above the step panel in that order, the inspector above the values."""
    from stepgrad.widgets import Inspector, StepPanel, ValuesTable
    from stepgrad.widgets.lesson import LessonNote

    app = create_app(TOY, VALUES, steady=True)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.main
        await settle(pilot)
        for kind in (LessonNote, Inspector):
            assert not screen.query(kind)
        from stepgrad.widgets.loop_panel import ForwardPanel, UpdatePanel

        for kind in (ForwardPanel, UpdatePanel):
            assert not screen.query(kind)
        assert screen._panel(ForwardPanel, "forward-panel", False) is None  # not needed: not made
        panels = [
            (LessonNote, "lesson-note"),
            (Inspector, "inspector"),
            (UpdatePanel, "update-panel"),
            (ForwardPanel, "forward-panel"),
        ]
        for kind, widget_id in panels:
            widget = screen._panel(kind, widget_id, True)
            assert isinstance(widget, kind) and widget.id == widget_id
            assert screen._panel(kind, widget_id, False) is widget  # kept once mounted
        await settle(pilot)
        steps = [type(w) for w in screen.query_one("#steps").children]
        assert steps[:4] == [UpdatePanel, ForwardPanel, LessonNote, StepPanel]
        side = [type(w) for w in screen.query_one("#side").children]
        assert side == [Inspector, ValuesTable]
        await pilot.press("tab")  # select a node: the inspector shows it
        await settle(pilot)
        assert screen.query_one(Inspector).display


def test_the_loop_panels_are_not_imported_at_start() -> None:
    """The forward and update panels (and the forward pass's module) are imported when the loop
    is first used: a fresh interpreter that starts the app has not imported them."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from stepgrad.app import create_app\n"
        "create_app('(x*x + 1)/(y*y - 1)', {'x': 8, 'y': 3})\n"
        "print(sorted(m for m in ('stepgrad.forward', 'stepgrad.widgets.loop_panel')"
        " if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
