"""Pilot tests of the stepgrad app: every binding, accumulation, zero_grad, editing, sizes."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from rich.cells import cell_len

from engine.parse import ProgramError
from stepgrad.app import StepgradApp, create_app
from stepgrad.examples import mlp_program
from stepgrad.screens.help import HelpScreen
from stepgrad.widgets import GraphView, Inspector, StepPanel, ValuesTable
from stepgrad.widgets.editor import ProgramEditor

TOY = "(x*x + 1)/(y*y - 1)"
VALUES = {"x": 8.0, "y": 3.0}
SIZE = (120, 36)


def toy_app() -> StepgradApp:
    return create_app(TOY, VALUES, steady=True)


def text_of(app: StepgradApp) -> str:
    """Everything on screen, as plain text."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def panel_text(app: StepgradApp) -> str:
    return app.screen.query_one(StepPanel).render().plain


def values_text(app: StepgradApp) -> str:
    table = app.screen.query_one(ValuesTable)
    return "\n".join(table.line(y).plain for y in range(table.line_count))


def grad_of(app: StepgradApp, name: str) -> float | None:
    walk = app.walk
    return walk.grad(walk.program.names[name])


def test_create_app_rejects_a_bad_program() -> None:
    with pytest.raises(ProgramError):
        create_app("x +* 2", {"x": 1})
    with pytest.raises(ProgramError):
        create_app("sqrt(x)", {"x": 0})  # the gradient is not finite


async def test_start_screen() -> None:
    app = toy_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.walk.key == (1, 0, False)
        graph = app.screen.query_one(GraphView)
        assert graph.drawing is not None
        assert "not started" in app.screen._status_line().plain
        assert "Nothing has fired yet" in panel_text(app)
        assert ["x", "8", "—"] in [line.split() for line in values_text(app).splitlines()]
        assert app.screen.check_action("prev", ()) is None  # greyed: nothing to go back to
        assert app.screen.check_action("backward", ()) is None
        assert app.screen.check_action("next", ()) is True


@pytest.mark.parametrize("key", ["right", "l", "space"])
async def test_next_keys(key: str) -> None:
    app = toy_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(key)
        await pilot.pause()
        assert app.walk.step == 1
        assert "step 1 of 5" in app.screen._status_line().plain
        panel = panel_text(app)
        assert "∂out/∂(x*x + 1) = 1/(y*y - 1) = 1/8" in panel
        assert "— → 0.125" in panel
        assert "◀ fired" in values_text(app)


@pytest.mark.parametrize("key", ["left", "h"])
async def test_back_keys_restore_the_earlier_state(key: str) -> None:
    app = toy_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right", "right", "right")
        await pilot.pause()
        shown = dict(app.walk.grads())
        panel = panel_text(app)
        await pilot.press("right", key)
        await pilot.pause()
        assert app.walk.step == 3
        assert app.walk.grads() == shown
        assert panel_text(app) == panel


async def test_home_and_end() -> None:
    app = toy_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("end")
        await pilot.pause()
        assert app.walk.status == "done"
        assert grad_of(app, "x") == 2.0 and grad_of(app, "y") == -6.09375
        assert "pass 1 done" in panel_text(app)
        assert app.screen.check_action("next", ()) is None
        await pilot.press("home")
        await pilot.pause()
        assert app.walk.step == 0 and grad_of(app, "x") is None


async def test_shared_node_accumulation_is_shown() -> None:
    app = toy_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*["right"] * 4)  # x * x fires: two contributions to x
        await pilot.pause()
        panel = panel_text(app)
        assert "x (1st of 2)" in panel and "x (2nd of 2)" in panel
        assert "1 + 1 → 2" in panel
        assert "x is shared" in panel
        assert "+= 1 += 1" in values_text(app)


async def test_backward_again_doubles_and_explains() -> None:
    app = toy_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("b")  # greyed mid-pass: nothing happens
        await pilot.pause()
        assert app.walk.key == (1, 0, False)
        await pilot.press("end", "b")
        await pilot.pause()
        assert app.walk.key == (2, 0, False)
        assert "grads accumulate (no zero_grad)" in app.screen._status_line().plain
        assert "exactly 2x" in panel_text(app)
        assert grad_of(app, "x") == 2.0
        await pilot.press("right")
        await pilot.pause()
        assert "0.125 + 0.125 → 0.25" in panel_text(app)  # before is pass 1's value
        await pilot.press("end")
        await pilot.pause()
        assert grad_of(app, "x") == 4.0 and grad_of(app, "y") == -12.1875
        assert "2x one pass" in panel_text(app)


async def test_zero_grad_then_backward() -> None:
    app = toy_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("end", "z")
        await pilot.pause()
        assert app.walk.cleared
        assert all(g == 0 for g in app.walk.grads().values())
        assert "zero_grad" in panel_text(app) and "grads zeroed" in text_of(app)
        assert app.screen.check_action("prev", ()) is None
        await pilot.press("b", "end")
        await pilot.pause()
        assert app.walk.key == (2, 5, False)
        assert grad_of(app, "x") == 2.0


async def test_play_pause_and_speed() -> None:
    app = toy_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        speed = screen.speed
        await pilot.press("plus", "plus", "minus")
        assert screen.speed == speed + 1
        await pilot.press("p")
        assert screen.playing is not None
        await pilot.pause(1.2)
        assert app.walk.step >= 1
        await pilot.press("p")
        assert screen.playing is None
        step = app.walk.step
        await pilot.pause(0.6)
        assert app.walk.step == step
        for _ in range(10):
            await pilot.press("plus")
        assert screen.check_action("faster", ()) is None


async def test_tab_and_click_select_a_node() -> None:
    app = toy_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("tab")
        await pilot.pause()
        screen = app.screen
        assert screen.selected is not None
        inspector = screen.query_one(Inspector)
        assert inspector.display
        first = screen.selected
        await pilot.press("tab")
        assert screen.selected is not first
        await pilot.press("shift+tab")
        assert screen.selected is first
        await pilot.press("escape")
        assert screen.selected is None
        graph = screen.query_one(GraphView)
        out = app.walk.program.output
        box = graph.drawing.boxes[screen.ids[out]]
        await pilot.click(
            GraphView, offset=(box.x + 2 - graph.scroll_x, box.y + 1 - graph.scroll_y)
        )
        await pilot.pause()
        assert screen.selected is out
        assert "nothing: it is the output" in inspector.render().plain


async def test_focus_compact_values_and_pan() -> None:
    app = toy_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        graph = screen.query_one(GraphView)
        full = graph.drawing
        await pilot.press("right", "f")
        await pilot.pause()
        assert screen.focus_mode and graph.drawing is not full
        assert len(graph.drawing.boxes) < len(full.boxes)
        await pilot.press("f", "c")
        await pilot.pause()
        assert graph.drawing.layout.mode == "compact"
        side = screen.query_one("#side")
        assert side.display
        await pilot.press("v")
        assert not side.display
        await pilot.press("v")
        assert side.display
        await pilot.press("down", "shift+right", "up", "shift+left")


async def test_edit_error_keeps_the_graph_then_applies() -> None:
    app = toy_app()
    async with app.run_test(size=SIZE) as pilot:
        graph = app.screen.query_one(GraphView)
        old = graph.drawing
        await pilot.press("e")
        await pilot.pause()
        editor = app.screen.query_one(ProgramEditor)
        assert editor.display and editor.text == "x = 8\ny = 3\n(x*x + 1)/(y*y - 1)"
        assert editor.input.has_focus and not app.screen.query_one("#lower").display
        assert app.screen.check_action("next", ()) is False  # keys go to the editor
        await pilot.press("right", "q", "backspace")  # typed into the editor, not the walk
        assert app.walk.step == 0 and app.return_code is None
        await pilot.press("backspace")  # delete the last ")"
        await pilot.pause()
        error = app.screen.query_one("#editor-error").render().plain
        assert "3:" in error and "^" in error and editor.has_class("-invalid")
        await pilot.press("ctrl+s")  # refused: the error stays, the old graph too
        await pilot.pause()
        assert editor.display and editor.input.cursor_location[0] == 2
        assert graph.drawing is old and app.walk.program.output.data == 8.125
        editor.input.load_text("a = 2\nb = -3  # a comment\nc = a + b\nd = b + 1\ne = c * d")
        await pilot.pause()
        assert not editor.has_class("-invalid")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not editor.display and app.screen.query_one("#lower").display
        assert app.walk.key == (1, 0, False) and app.walk.program.output.data == 2
        assert graph.drawing is not old
        await pilot.press("end")
        assert grad_of(app, "b") == -3.0  # d + c: b reached along two paths
        await pilot.press("e", "x", "escape")
        await pilot.pause()
        assert not editor.display and app.walk.program.output.data == 2
        await pilot.press("e")
        assert editor.text.startswith("a = 2\nb = -3  # a comment")  # the lines as written


async def test_edit_keeps_command_line_values() -> None:
    app = create_app("x = 1  # start\ny = x*x + z", {"x": 3, "z": 0.5}, lazy_graph=False)
    app.cursor_blink = False
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e")
        editor = app.screen.query_one(ProgramEditor)
        assert editor.text == "z = 0.5\nx = 3  # start\ny = x*x + z"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not editor.display and app.walk.program.output.data == 9.5


async def test_help_lists_every_key() -> None:
    app = toy_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = app.screen.query_one("#help-text").render().plain
        words = "Next Back Jump Play Speed zero_grad Backward Inspect Focus Values Pan Edit Help"
        for word in [*words.split(), "SVG", "Quit"]:
            assert word in text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_screenshot_and_quit(tmp_path: Path) -> None:
    app = toy_app()
    async with app.run_test(size=SIZE) as pilot:
        app.main.screenshot_dir = str(tmp_path)
        await pilot.press("right", "s")
        await pilot.pause()
        files = list(tmp_path.glob("*.svg"))
        assert len(files) == 1 and "<svg" in files[0].read_text()
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


@pytest.mark.parametrize("size", [(60, 20), (120, 36), (200, 60)])
async def test_sizes_and_resizing(size: tuple[int, int]) -> None:
    app = toy_app()
    async with app.run_test(size=size) as pilot:
        await pilot.press("right", "right", "right", "right")
        await pilot.pause()
        screen = app.screen
        graph = screen.query_one(GraphView)
        assert graph.size.height >= 5 and screen.query_one("#lower").size.height >= 5
        assert screen.query_one("#side").display == (size[0] >= 100)
        current = screen.ids[app.walk.current.node]
        box = graph.drawing.boxes[current]
        assert graph.scroll_x <= box.x and box.x + 3 <= graph.scroll_x + graph.size.width
        await pilot.resize_terminal(*reversed(size)) if hasattr(pilot, "resize_terminal") else None
        await pilot.pause()


async def test_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = toy_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right", "right", "right", "right")
        await pilot.pause()
        text = text_of(app)
        assert "now" in text and "✓" in text and "━" in text  # meaning without colour


def send_keys(app: StepgradApp, keys: list[str]) -> None:
    """Queue real key events as a fast typist would: no waiting for a frame between keys
    (``pilot.press`` waits for the app to go idle after every key, ~60 ms here)."""
    from textual import events

    for key in keys:
        char = {"space": " ", "plus": "+", "minus": "-", "question_mark": "?"}.get(key)
        if char is None and len(key) == 1:
            char = key
        event = events.Key(key, char)
        event.set_sender(app)
        app._driver.send_message(event)  # type: ignore[union-attr]


async def test_monkey_on_the_mlp() -> None:
    """A few thousand random keys on a ~320-node graph leave the app consistent with the
    engine's trace: checked after every batch of 50 keys and at the end."""
    app = create_app(mlp_program(), lazy_graph=False)
    app.theme = "textual-dark"
    keys = ["right", "right", "right", "l", "space", "left", "h", "home", "end", "z", "b",
            "tab", "shift+tab", "escape", "f", "c", "v", "up", "down", "shift+left",
            "shift+right", "plus", "minus", "x", "question_mark", "escape", "7"]  # fmt: skip
    rng = random.Random(4)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for _ in range(50):  # 2500 keys
            batch = [rng.choice(keys) for _ in range(50)]
            send_keys(app, batch)
            await pilot.pause()
            if isinstance(app.screen, HelpScreen):
                await pilot.press("escape")
            check_against_the_trace(app)
        await pilot.press("end")
        check_against_the_trace(app)
        assert app.screen.query_one(GraphView).drawing is not None


def check_against_the_trace(app: StepgradApp) -> None:
    """What the app shows is the rule replayed from the engine's trace: the grads the pass
    started from plus the contributions of steps 1..k; at the end of a pass, the engine's own
    ``.grad``; and the graph, the values table and the step panel show those grads."""
    walk = app.walk
    assert 0 <= walk.step <= walk.total
    shown = walk.grads()
    if walk.cleared:
        expected = {node: 0.0 for node in walk.nodes}
    else:
        expected = dict(walk.pass_.base)
        if walk.step or not walk.trace.steps:
            root = walk.trace.root
            expected[root] = expected.get(root, 0.0) + 1.0
        for step in walk.trace.steps[: walk.step]:
            for edge in step.edges:
                assert expected.get(edge.parent, 0.0) == edge.grad_before  # an unbroken chain
                # += adds the contribution (the engine sums a pass, then adds it to the grads
                # it started from, so an accumulating pass may differ in the last bit)
                total = edge.grad_before + edge.contribution
                assert edge.grad_after == pytest.approx(total, rel=1e-12, abs=1e-300)
                expected[edge.parent] = edge.grad_after
    assert shown == expected
    if walk.finished:
        for node, grad in shown.items():
            assert node.grad == grad
    screen = app.main
    graph = screen.query_one(GraphView)
    if graph.view is not None and graph.view.grads is not None:
        scene = screen.scene
        assert scene is not None
        # a collapsed weighted sum shows its root's grad; its other nodes are inside it
        assert graph.view.grads == {
            scene.ids[v]: g
            for v, g in shown.items()
            if v in scene.ids and scene.rep(scene.ids[v]) == scene.ids[v]
        }
    assert f"step {walk.step} of {walk.total}" in screen._status_line().plain or walk.cleared
    if walk.current is not None:
        assert screen.query_one(StepPanel).title().startswith(f"step {walk.step} of")


# --- the graph laid out after the first frame (as users start the app) -------------------------


async def _until(pilot, condition, seconds: float = 20.0) -> None:
    import asyncio

    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
        await pilot.pause()
    raise AssertionError("the condition never held")


async def test_the_lazily_laid_out_graph_arrives_with_its_footer() -> None:
    from textual.widgets._footer import FooterKey

    app = create_app(TOY, VALUES)  # lazy: the graph is laid out on a worker thread
    async with app.run_test(size=SIZE) as pilot:
        await _until(pilot, lambda: app.main.scene is not None)
        await _until(pilot, lambda: len(app.main.query(FooterKey)) > 5)
        assert not app.main.laying_out
        keys = {key.key for key in app.main.query(FooterKey)}
        assert {"right", "q"} <= keys, keys
        await pilot.press("right")
        assert app.walk.step == 1


async def test_a_layout_that_fails_still_fills_the_footer(monkeypatch) -> None:
    from textual.widgets._footer import FooterKey

    from stepgrad.screens.main import MainScreen

    def broken(self, walk, size=None):
        raise RuntimeError("no room")

    monkeypatch.setattr(MainScreen, "_make_scene", broken)
    app = create_app(TOY, VALUES)
    async with app.run_test(size=SIZE) as pilot:
        await _until(pilot, lambda: not app.main.laying_out and app.main._layout_serial > 0)
        await _until(pilot, lambda: len(app.main.query(FooterKey)) > 5)
        assert "could not be drawn" in app.main.query_one(GraphView).placeholder
        await pilot.press("right")
        assert app.walk.step == 1  # stepping works without the graph


async def test_the_footer_keys_it_replaces_are_freed() -> None:
    """The footer is made anew whenever the keys that work change. Each of Textual's footer
    keys watches the footer's ``compact``, and those watchers kept every key ever made alive
    (about 20 more for each End then b) until the terminal's size changed ``compact``."""
    import gc

    from textual.widgets._footer import FooterKey

    def alive() -> int:
        gc.collect()
        return sum(1 for o in gc.get_objects() if type(o) is FooterKey)

    app = create_app(mlp_program(), steady=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        for _ in range(8):
            await pilot.press("end", "b")
            await pilot.pause()
        await pilot.pause()
        mounted = list(app.screen.query(FooterKey))
        assert mounted and alive() == len(mounted)
        bound = "FooterKey.-command-palette"  # every key but ^p follows the footer's compact
        assert not any(key.compact for key in app.screen.query(FooterKey).exclude(bound))
        await pilot.resize_terminal(70, 30)  # narrow: the footer's keys turn compact
        await pilot.pause()
        await pilot.pause()
        keys = list(app.screen.query(FooterKey).exclude(bound))
        assert keys and all(key.compact for key in keys)


async def test_lines_pinned_for_a_step_go_when_no_step_is_shown() -> None:
    """The MLP's last step sends to values far apart in the table, so some are pinned under
    "also receiving now"; back at step 0 nothing is receiving, and the line must go."""
    app = create_app(mlp_program(), steady=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("end")
        await pilot.pause()
        assert "also receiving now" in text_of(app)  # the case this test is about
        await pilot.press("home")
        await pilot.pause()
        assert app.walk.step == 0
        assert "also receiving now" not in text_of(app)


async def test_the_values_table_aligns_wide_names_in_terminal_columns() -> None:
    """A CJK character takes two terminal columns: names are padded and cut in columns, so
    every row's data and grad end where the header's do (they were one column per character
    off). The long name is cut to the name column, never through a character."""
    long_name = "非常长的变量名字"  # 16 columns: more than the name column holds
    app = create_app(f"变量 = 2; 权 = 3; {long_name} = 1; 结果 = 变量*权 + 变量*{long_name}", {})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("end")
        await pilot.pause()
        table = app.screen.query_one(ValuesTable)
        header = table.line(0).plain
        data_end = cell_len(header[: header.index("data") + 4])
        grad_end = cell_len(header[: header.index("grad") + 4])
        rows = [table.line(y).plain for y in range(1, len(table._rows) + 1)]
        assert len(rows) == 4
        for row in rows:
            data = row.split()[-2] if "+=" not in row else row.split("+=")[0].split()[-2]
            grad = row.split("+=")[0].split()[-1]
            assert cell_len(row[: row.index(data, 1) + len(data)]) == data_end, row
            at = row.index(grad, row.index(data, 1) + len(data))
            assert cell_len(row[: at + len(grad)]) == grad_end, row
        cut = next(row for row in rows if row.startswith("非"))
        assert "…" in cut and cell_len(cut[: cut.index("…") + 1]) <= 12


async def test_contributions_that_do_not_fit_beside_the_grad_go_whole_under_it() -> None:
    """y's two contributions of the last step (y*y sends 3 × -1.015625 = -3.04688 twice: the
    other factor times the upstream, by hand). At 200x60 they fit beside the grad; at 120x36
    they do not, and were cut to ``+= -3.04688 …``: they now stand whole on the line under
    y's row, where nothing is cut."""
    both = "+= -3.04688 += -3.04688"
    for size, beside in (((120, 36), False), ((200, 60), True)):
        app = toy_app()
        async with app.run_test(size=size) as pilot:
            await pilot.press("end")
            await pilot.pause()
            table = app.screen.query_one(ValuesTable)
            width = table.scrollable_content_region.width
            line = table.row_of(app.walk.program.names["y"])
            assert line is not None
            row = table.line(line, width).plain
            under = table.line(line + 1, width).plain
            assert row.split()[0] == "y" and "…" not in row + under, (row, under)
            if beside:
                assert row.endswith(both) and not under.startswith(" "), (row, under)
            else:
                assert "+=" not in row and under.strip() == f"grad {both}", (row, under)
                assert cell_len(under) <= width
            assert line in table.visible_rows() and (beside or line + 1 in table.visible_rows())


@pytest.mark.parametrize(
    ("program", "says", "not_said"),
    [
        ("r = x - 8 + sqrt(x - 8)", "(add a line: x = 1.5)", "x=1.5"),
        ("u*v", "(add a line for each: u = 1.5; v = 1.5)", "v=1.5"),
        ("y = tanx*2\ny", "(did you mean tanh? or add a line: tanx = 1.5)", "tanx=1.5"),
        ("y = x*2\nx = 3\ny", "(move the assignment up)", "x=1.5"),
    ],
)
async def test_the_editor_says_how_to_fix_a_missing_value_in_the_text(
    program: str, says: str, not_said: str
) -> None:
    """The editor has no command line: a name with no value is fixed by a line in the
    program, not by ``x=1.5`` after the command (which the command line's error says)."""
    app = toy_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e")
        await pilot.pause()
        editor = app.screen.query_one(ProgramEditor)
        editor.input.load_text(program)
        await pilot.pause()
        error = app.screen.query_one("#editor-error").render().plain
        assert says in error and not_said not in error, error
    with pytest.raises(ProgramError) as caught:  # the command line's words are unchanged
        from engine.parse import parse

        parse(program)
    assert not_said in caught.value.headline()


def _wcag_contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """WCAG 2's contrast ratio, written out here from its definition."""

    def luminance(rgb: tuple[int, int, int]) -> float:
        def linear(v: int) -> float:
            c = v / 255
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

        r, g, b_ = (linear(v) for v in rgb)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b_

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


async def test_every_state_is_readable_in_every_theme() -> None:
    """Waiting boxes were drawn #ffffff in every theme (``$text-muted`` is an ``auto`` colour,
    resolved only at render time): white on white in the light ones (1.08:1 on
    solarized-light), and brighter than idle text in the dark ones. A light theme's success
    green was 1.4:1. Every state now keeps 3:1 against the view's background, and muted is
    dimmer than idle."""
    from stepgrad.widgets import GraphView

    app = toy_app()
    async with app.run_test(size=SIZE) as pilot:
        themes = sorted(t for t in app.available_themes if not t.startswith("ansi"))
        assert "solarized-light" in themes and "textual-light" in themes
        for theme in themes:
            app.theme = theme
            await pilot.pause()
            view = app.screen.query_one(GraphView)
            background = view.background_colors[1]
            bg = (background.r, background.g, background.b)
            ratios = {}
            for state in ("node.waiting", "node.dead", "edge.idle", "node.done", "node.current"):
                color = view._style(state).color
                assert color is not None and color.triplet is not None, (theme, state)
                ratios[state] = _wcag_contrast(tuple(color.triplet), bg)
                assert ratios[state] >= 3.0, (theme, state, ratios[state])
            idle = view._style("node.idle").color
            assert idle is not None and idle.triplet is not None
            assert ratios["node.waiting"] < _wcag_contrast(tuple(idle.triplet), bg), theme


async def test_the_editor_keeps_the_cursor_row_in_view_when_the_terminal_shrinks() -> None:
    """A 41-line program with the cursor on its last line, the terminal taken from 120x36 to
    40x12: the editor's few rows showed line 25, not the cursor's."""
    app = toy_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e")
        await pilot.pause()
        editor = app.screen.query_one(ProgramEditor)
        editor.input.load_text(
            "x = 1\n" + "\n".join(f"h{i} = x*{i}" for i in range(1, 40)) + "\nh39"
        )
        editor.input.move_cursor((40, 3))
        await pilot.pause()
        await pilot.resize_terminal(40, 12)
        await pilot.pause()
        await pilot.pause()
        assert "41  h39" in text_of(app)
