"""The editor's undo keeps the text area's wrapped copy as long as its text (an upstream bug).

Textual 8.2.8's ``TextArea`` re-wraps only the lines a batch of undone edits touched, and for
some batches with a line break it gets them wrong: the wrapped copy keeps a line the text no
longer has, and the next frame draws it (``IndexError`` while drawing: fatal). The monkey test
met it typing one key at a time; the smallest case is ``end enter b ctrl+z c ctrl+z`` at the
start of a two-line text. :class:`~stepgrad.widgets.safe_text_area.SafeTextArea` wraps the whole
text again after every undo and redo.
"""

from __future__ import annotations

import pytest
from test_app import SIZE, toy_app
from test_robust import open_editor
from textual.app import App, ComposeResult
from textual.widgets import TextArea

KEYS = ("end", "enter", "b", "ctrl+z", "c", "ctrl+z")


async def test_upstream_text_area_still_keeps_a_line_the_text_lost() -> None:
    """Canary: a plain TextArea still has the bug (when this fails, Textual fixed it and
    ``SafeTextArea._rewrap`` can go)."""

    class Plain(App[None]):
        def compose(self) -> ComposeResult:
            yield TextArea("x\ny", soft_wrap=False)

    app = Plain()
    with pytest.raises(IndexError):
        async with app.run_test(size=SIZE) as pilot:
            area = app.query_one(TextArea)
            area.focus()
            area.move_cursor((0, 0))
            for key in KEYS:
                await pilot.press(key)
            await pilot.pause()


@pytest.mark.parametrize("redo", [False, True])
async def test_undo_keeps_the_wrapped_text_as_long_as_the_text(redo: bool) -> None:
    app = toy_app()
    async with app.run_test(size=SIZE) as pilot:
        area = await open_editor(app, pilot)
        text = area.text
        assert text.count("\n") >= 1
        area.move_cursor((0, 0))
        for key in KEYS:
            await pilot.press(key)
            assert area.wrapped_document.height == area.document.line_count, key
        await pilot.pause()
        assert app.is_running and app.contained == []
        assert area.text == text  # both edits undone: the line break and the c
        if redo:
            await pilot.press("ctrl+y", "ctrl+y")
            await pilot.pause()
            assert area.wrapped_document.height == area.document.line_count
            assert app.is_running and app.contained == []
