"""The app never dies, hangs or loses the user's work: the tester's crashes, and containment.

Each crash is reproduced as the user met it (keys sent together the way a terminal delivers
them, a bracketed paste), then checked against the app; the upstream bugs behind them are
checked to still exist on a plain Textual widget, so we notice when a Textual release fixes them
and the workarounds can go.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import pytest
from test_app import SIZE, TOY, VALUES, text_of, toy_app
from textual import events
from textual.app import App, ComposeResult
from textual.command import CommandList, CommandPalette
from textual.css.query import NoMatches
from textual.widgets import TextArea
from textual.worker import WorkerFailed

from stepgrad.app import StepgradApp, create_app
from stepgrad.examples import EXAMPLES
from stepgrad.screens.help import HelpScreen
from stepgrad.screens.main import MainScreen
from stepgrad.widgets import StepPanel, TopBar
from stepgrad.widgets.editor import ProgramEditor
from stepgrad.widgets.lines import LineWidget
from stepgrad.widgets.safe_palette import SafePalette
from stepgrad.widgets.safe_text_area import SafeTextArea

PASTE = "\n".join(f"a{i} = {i}" for i in range(12))


def burst(app: App[object], *keys: str) -> None:
    """Queue ``keys`` as one terminal read delivers them: all before the first is handled
    (``pilot.press`` waits for the app to be idle after each key, which hides these races)."""
    assert app._driver is not None
    for key in keys:
        char = {"enter": "\r", "escape": "\x1b", "space": " ", "tab": "\t"}.get(key)
        if char is None and len(key) == 1:
            char = key
        event = events.Key(key, char)
        event.set_sender(app)
        app._driver.send_message(event)


async def settle(pilot: object, frames: int = 4) -> None:
    for _ in range(frames):
        await pilot.pause()  # type: ignore[attr-defined]


def notices(app: App[object]) -> list[str]:
    return [notification.message for notification in app._notifications]


def alive(app: StepgradApp) -> None:
    """The app is running, nothing was contained, no exit pending."""
    assert app.is_running and app.return_code is None
    assert app.contained == [], app.contained
    assert not any("went wrong" in line for line in notices(app))


async def open_editor(app: StepgradApp, pilot: object) -> SafeTextArea:
    await pilot.press("e")  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]
    area = app.screen.query_one("#editor-input", TextArea)
    assert isinstance(area, SafeTextArea)
    return area


def cursor_shown(area: TextArea) -> bool:
    """Whether the cursor's line is inside the visible part of the text area."""
    row = area.wrapped_document.location_to_offset(area.cursor_location).y
    top = area.scroll_offset.y
    return top <= row < top + area.scrollable_content_region.height


# --- 1. undo after a multi-line paste ----------------------------------------------------------


@pytest.mark.parametrize("lines", [6, 10, 12, 30])
async def test_undo_after_a_multi_line_paste_restores_the_text(lines: int) -> None:
    app = toy_app()
    async with app.run_test(size=SIZE) as pilot:
        area = await open_editor(app, pilot)
        before, cursor = area.text, area.cursor_location
        pasted = "\n".join(f"a{i} = {i}" for i in range(lines))
        app.post_message(events.Paste(pasted))  # as the terminal's bracketed paste arrives
        await settle(pilot)
        assert area.text == before + pasted
        assert cursor_shown(area)  # also once the error area below has taken its rows
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert area.text == before and area.cursor_location == cursor
        assert cursor_shown(area)
        await pilot.press("ctrl+y")  # redo brings the paste back, the cursor after it
        await settle(pilot)
        assert area.text == before + pasted
        assert cursor_shown(area)
        await pilot.press("ctrl+z", "ctrl+z", "ctrl+z")  # nothing more to undo: no change
        await settle(pilot)
        assert area.text == before
        alive(app)


async def test_redo_of_a_multi_line_deletion_keeps_the_text() -> None:
    """The same upstream bug on redo: the document shrinks under a cursor at its old end."""
    app = toy_app()
    async with app.run_test(size=SIZE) as pilot:
        area = await open_editor(app, pilot)
        app.post_message(events.Paste("\n" + PASTE + "\n" + PASTE))  # taller than the area
        await pilot.pause()
        full = area.text
        area.select_all()
        await pilot.press("backspace")
        await pilot.pause()
        assert area.text == ""
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert area.text == full
        await pilot.press("ctrl+y")
        await settle(pilot)
        assert area.text == ""
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert area.text == full
        alive(app)


async def test_a_failing_undo_leaves_the_text_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any other failure inside undo (a bug we do not know yet): the text, the cursor and the
    history are as before the keystroke, and the user is told in one line."""
    app = toy_app()
    async with app.run_test(size=SIZE) as pilot:
        area = await open_editor(app, pilot)
        app.post_message(events.Paste(PASTE))
        await pilot.pause()
        pasted, cursor = area.text, area.cursor_location

        def broken(self: TextArea, edits: object) -> None:
            self.document.replace_range((0, 0), self.document.end, "half")
            raise RuntimeError("undo broke halfway")

        monkeypatch.setattr(TextArea, "_undo_batch", broken)
        await pilot.press("ctrl+z")
        await settle(pilot)
        assert area.text == pasted and area.cursor_location == cursor
        assert app.is_running and app.return_code is None
        assert notices(app) == [
            "something went wrong: RuntimeError: undo broke halfway; your program is unchanged"
        ]
        monkeypatch.undo()
        await pilot.press("ctrl+z")  # the history still holds the paste: undo works now
        await settle(pilot)
        assert area.text == pasted[: -len(PASTE)]


async def test_upstream_text_area_still_crashes_on_undo() -> None:
    """Canary: Textual's own TextArea still has the bug SafeTextArea works around. When this
    fails, a Textual release fixed it: drop SafeTextArea's scroll guard."""

    class Plain(App[None]):
        CSS = "TextArea { height: 8; }"

        def compose(self) -> ComposeResult:
            yield TextArea("a = 1\nb = 2\na*b")

    app = Plain()
    with pytest.raises(ValueError, match="line index 3 is out of bounds"):
        async with app.run_test(size=(80, 24)) as pilot:
            area = app.query_one(TextArea)
            area.focus()
            area.move_cursor((2, 3))
            app.post_message(events.Paste(PASTE))
            await pilot.pause()
            await pilot.press("ctrl+z")
            await pilot.pause()


async def test_a_focus_asked_for_before_the_editor_closed_does_not_land_on_it() -> None:
    """Found by the monkey test: Textual gives focus later than it is asked for, so a focus on
    the editor's text area asked for just before the editor closed (keys typed ahead, a screen
    on top meanwhile) landed on the hidden text area, which then took every key: the main
    screen seemed dead. The race is reproduced by delivering that late focus by hand."""
    app = toy_app()
    async with app.run_test(size=SIZE) as pilot:
        area = await open_editor(app, pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert not app.main.editing and app.focused is None
        app.main.set_focus(area)  # what a focus asked for earlier does when it arrives now
        await settle(pilot)
        assert app.focused is not area
        await pilot.press("right")
        await pilot.pause()
        assert app.walk.step == 1
        alive(app)


# --- 2. the command palette with keys that arrive together ------------------------------------


@pytest.mark.parametrize("key", ["pagedown", "pageup"])
async def test_palette_page_key_in_the_same_read(key: str) -> None:
    app = toy_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        burst(app, "ctrl+p", key)
        await settle(pilot)
        assert isinstance(app.screen, SafePalette)
        await pilot.press(key, "escape")  # once laid out, the page keys work as usual
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        alive(app)


@pytest.mark.parametrize("extra", [1, 2, 3])
async def test_palette_enter_typed_ahead_runs_the_command_once(extra: int) -> None:
    app = toy_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        burst(app, "ctrl+p", "enter", *["enter"] * extra)
        await settle(pilot, 6)
        assert app.screen_stack == [app.main]
        example = app.main.example  # the palette's first command: one of the examples
        assert example is not None and example in EXAMPLES.values()
        assert app.walk.program.source == example.program
        titles = [n.title for n in app._notifications if n.title.startswith("example")]
        assert titles == [f"example {example.name}"]  # it ran once
        alive(app)


async def test_palette_enter_typed_ahead_over_the_help_screen() -> None:
    """Without the fix the second dismiss pops the screen below the palette: the help screen
    would vanish without an error."""
    app = toy_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        burst(app, "ctrl+p", "enter", "enter")
        await settle(pilot, 6)
        assert [type(s) for s in app.screen_stack] == [MainScreen, HelpScreen]
        alive(app)


async def test_every_palette_we_open_is_the_safe_one() -> None:
    app = toy_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.search_themes()
        await pilot.pause()
        assert type(app.screen) is SafePalette
        await pilot.press("escape")
        await pilot.pause()
        app.search_commands([("hello", lambda: None)])
        await pilot.pause()
        assert type(app.screen) is SafePalette
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert type(app.screen) is SafePalette and CommandPalette.is_open(app)
        alive(app)


async def test_the_palette_reopens_before_the_closed_one_is_removed() -> None:
    """Found by the monkey test: ``escape`` then ``ctrl+p`` in one read opened a palette while
    the one just closed was still registered, under the same fixed id: ``DuplicateIds``.
    Here the two happen with no await in between, so the first is certainly still there."""
    app = toy_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.action_command_palette()
        first = app.screen
        app.pop_screen()
        app.action_command_palette()
        assert isinstance(app.screen, SafePalette) and app.screen is not first
        await settle(pilot)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.main
        alive(app)


async def test_a_search_that_ends_after_the_palette_closed_is_dropped() -> None:
    """Found by the monkey test: a key typed just before ``escape`` starts a search that ends
    after the palette has closed, and fills the list of a palette whose widgets are gone
    (``NoMatches: CommandList``). The race itself depends on task scheduling, so the late
    result is delivered by hand, as the search worker delivers it."""
    app = toy_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        palette = app.screen
        assert isinstance(palette, SafePalette)
        commands = palette.query_one(CommandList)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.main
        with pytest.raises(NoMatches):  # what Textual's palette does with it
            CommandPalette._refresh_command_list(palette, commands, [], True)
        palette._refresh_command_list(commands, [], True)  # ours: nothing to show it in
        alive(app)


async def test_a_search_that_loses_its_list_is_quiet_only_when_closing() -> None:
    """The search's first step looks up the palette's list. Gone because the app is quitting
    (found by the monkey test: a quit with a palette open ended in an internal error and exit
    status 1), the search ends quietly; gone while the palette is open (a real bug), it is
    reported in one line, and the app goes on."""
    app = toy_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await settle(pilot)
        palette = app.screen
        assert isinstance(palette, SafePalette)
        await palette.query_one(CommandList).remove()
        with pytest.raises(WorkerFailed):
            await palette._gather_commands("a").wait()
        await settle(pilot)
        assert [type(e) for e in app.contained] == [NoMatches]
        [notice] = notices(app)  # the widget's classes come in any order: cut at 90 characters
        assert notice.startswith("something went wrong: NoMatches: No nodes match 'CommandList'")
        assert notice.endswith("…; your program is unchanged")
        app.contained.clear()
        app._exit = True  # what App.exit does first
        await palette._gather_commands("b").wait()
        app._exit = False
        await settle(pilot)
        assert app.contained == [] and app.is_running and app.return_code is None


async def test_upstream_palette_still_crashes_on_page_down() -> None:
    """Canary: Textual's own palette still has the bug SafePalette works around."""

    class Plain(App[None]):
        pass

    app = Plain()
    with pytest.raises(KeyError):
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            burst(app, "ctrl+p", "pagedown")
            await settle(pilot)


# --- 3. containment: an exception in a handler is one line, not a crash -----------------------


def boom(*args: object, **kwargs: object) -> None:
    raise RuntimeError("boom")


async def test_a_failing_action_is_one_line_and_the_app_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(MainScreen, "action_next", boom)
    app = toy_app()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("right")
        await pilot.pause()
        assert app.is_running and app.return_code is None
        assert notices(app) == [
            "something went wrong: RuntimeError: boom; your program is unchanged"
        ]
        await settle(pilot)
        assert "something went wrong: RuntimeError: boom" in text_of(app)
        assert app.walk.step == 0
        await pilot.press("right", "right")  # the same failure again: still one line
        await pilot.pause()
        assert len(notices(app)) == 1 and len(app.contained) == 3
        await pilot.press("end", "left")  # every other key still works
        await pilot.pause()
        assert app.walk.step == app.walk.total - 1


async def test_a_failing_message_handler_leaves_its_widget_working(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Textual ends the message loop of a widget whose handler raised; contained, the widget
    goes on handling its messages (the editor still validates what is typed next)."""
    calls = 0
    real = ProgramEditor.on_text_area_changed

    def flaky(self: ProgramEditor, event: TextArea.Changed) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("changed broke")
        real(self, event)

    monkeypatch.setattr(ProgramEditor, "on_text_area_changed", flaky)
    app = toy_app()
    async with app.run_test(size=SIZE) as pilot:
        area = await open_editor(app, pilot)
        await pilot.press("space")  # calls == 2 (1 was the editor opening)
        await pilot.pause()
        assert notices(app) == [
            "something went wrong: RuntimeError: changed broke; your program is unchanged"
        ]
        await pilot.press("plus")  # 'x*x + 1)/(y*y - 1) +' does not parse: the error shows
        await pilot.pause()
        assert area.text.endswith(" +")
        assert "✗" in text_of(app)
        assert app.is_running and app.return_code is None


async def test_a_failing_textual_widget_handler_is_contained(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(TextArea, "_on_paste", boom)
    app = toy_app()
    async with app.run_test(size=SIZE) as pilot:
        area = await open_editor(app, pilot)
        before = area.text
        app.post_message(events.Paste("z = 1"))
        await pilot.pause()
        assert area.text == before
        assert len(app.contained) == 1 and app.is_running
        await pilot.press("ctrl+s")  # the editor and the screen still work: apply, close
        await settle(pilot)
        assert not app.main.editing


async def test_failing_callbacks_and_timers_are_contained() -> None:
    app = toy_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.call_later(boom)
        await settle(pilot)
        app.main.set_timer(0.01, boom)
        await pilot.pause(0.1)
        await settle(pilot)
        assert len(app.contained) == 2 and app.is_running and app.return_code is None
        await pilot.press("right")
        await pilot.pause()
        assert app.walk.step == 1


async def test_the_line_says_when_the_program_was_replaced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A failure after the new program was loaded must not claim the program is unchanged."""
    app = toy_app()
    async with app.run_test(size=SIZE) as pilot:
        area = await open_editor(app, pilot)
        area.load_text("a = 2\na*a")
        await pilot.pause()
        monkeypatch.setattr(MainScreen, "_prepare_graph", boom)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.walk.program.source == "a = 2\na*a"
        assert notices(app) == [
            "something went wrong: RuntimeError: boom; the program was replaced: check it"
        ]
        assert app.is_running and app.return_code is None


async def test_an_error_while_drawing_stays_fatal(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Containment does not leave a frozen screen behind a notification: a widget that cannot
    be drawn fails on every frame, so it ends the app (through the screen's own refresh timer,
    as in a terminal, not through Pilot). The terminal gets one line, not a traceback; the
    traceback and the user's work (the program, the editor's unapplied text) go to a file."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    app = toy_app()
    with pytest.raises(RuntimeError, match="boom"):
        async with app.run_test(size=SIZE) as pilot:
            area = await open_editor(app, pilot)
            area.insert("\n# my unsaved work")
            await pilot.pause()
            monkeypatch.setattr(LineWidget, "render_line", boom)
            app.main.query_one(TopBar).refresh()
            await asyncio.sleep(0.5)
            assert not app.is_running  # raises on the way out
    assert app.return_code == 1 and app.contained == []
    [report] = tmp_path.glob("stepgrad-crash-*.txt")
    text = report.read_text()
    assert "RuntimeError: boom" in text and 'raise RuntimeError("boom")' in text
    assert "(x*x + 1)/(y*y - 1)" in text and "# my unsaved work" in text
    shown = " ".join(capsys.readouterr().err.split())  # the line, wrapped at the width
    assert shown.startswith("stepgrad: internal error (RuntimeError: boom); your program")
    assert str(report) in shown.replace(" ", "") and "Traceback" not in shown


async def test_a_failing_mount_after_startup_is_contained(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A screen opened later whose ``on_mount`` fails is shown as composed; the app goes on
    (the monkey test met a predict screen closed by keys typed ahead while it mounted)."""
    monkeypatch.setattr(HelpScreen, "on_mount", boom, raising=False)
    app = toy_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        assert len(app.contained) == 1 and app.is_running and app.return_code is None
        await pilot.press("escape", "right")
        await pilot.pause()
        assert app.screen is app.main and app.walk.step == 1


async def test_an_error_while_starting_stays_fatal(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the crash report goes here
    monkeypatch.setattr(StepPanel, "on_mount", boom, raising=False)
    app = toy_app()
    with pytest.raises(RuntimeError, match="boom"):
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
    assert app.return_code == 1 and app.contained == []


async def test_containment_can_be_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(MainScreen, "action_next", boom)
    app = toy_app()
    app.contain_errors = False
    with pytest.raises(RuntimeError, match="boom"):
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("right")
            await pilot.pause()
    assert app.return_code == 1


async def test_a_plain_textual_app_is_not_affected() -> None:
    """Containment is scoped to StepgradApp: other apps in the process fail as Textual does."""

    class Plain(App[None]):
        def on_key(self, event: events.Key) -> None:
            raise RuntimeError("plain")

    app = Plain()
    with pytest.raises(RuntimeError, match="plain"):
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("x")
            await pilot.pause()


def test_no_widget_overwrites_an_attribute_of_textual() -> None:
    """A screen that set ``self._closed`` (its own flag) made Textual think its message pump
    was closed: leaving it hung the app. Our Textual classes must not assign any attribute a
    Textual base class already uses."""
    import re

    from textual.app import App
    from textual.screen import ModalScreen, Screen
    from textual.widget import Widget

    import stepgrad

    used = set(vars(Widget())) | set(vars(Screen())) | set(vars(App()))
    for base in (Widget, Screen, ModalScreen, App):
        used |= set(dir(base))
    root = Path(stepgrad.__file__).parent
    clashes = []
    for path in sorted(root.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in re.finditer(r"self\.(_\w+)\s*(?::[^=]*)?=(?!=)", line):
                if match.group(1) in used:
                    clashes.append(f"{path.relative_to(root)}:{number}: {match.group(1)}")
    assert clashes == []


@pytest.mark.parametrize("breaks", ["\r\n", "\r"])
async def test_a_paste_with_windows_line_breaks_is_lines(breaks: str) -> None:
    """A Windows clipboard pastes ``\\r\\n``: the editor showed ``a = 1␍`` and refused it ('the
    character ␍ is not allowed'); the file and stdin read the same text as lines."""
    app = toy_app()
    async with app.run_test(size=SIZE) as pilot:
        area = await open_editor(app, pilot)
        area.text = ""
        await settle(pilot)
        app.post_message(events.Paste(breaks.join(["a = 2", "b = 3", "a*b"])))
        await settle(pilot)
        assert area.text == "a = 2\nb = 3\na*b"
        assert "␍" not in text_of(app)
        await pilot.press("ctrl+s")  # applied: 2 * 3
        await settle(pilot)
        assert app.walk.program.output.data == 6


async def test_keys_typed_with_e_go_to_the_editor_not_the_main_screen() -> None:
    """`e q` in one burst (a lecturer typing fast) quit the app: the q reached the main screen
    before the editor had the focus. The keys typed with e are the editor's text."""
    app = create_app(TOY, VALUES, steady=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        burst(app, "e", "q", "a", "b")
        await settle(pilot, 6)
        alive(app)
        assert app.main.editing
        assert app.main.editor is not None and app.main.editor.text.endswith("qab")
