"""The inline program editor: the program's lines in a text area, errors with a caret as you type.

``ctrl+s`` applies, ``esc`` cancels. The old graph stays on screen until the new program is
valid; the screen does the loading and hands back any error (attributes down, messages up).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

if TYPE_CHECKING:
    from textual.widgets import TextArea

from engine.parse import ProgramError, parse

__all__ = ["ProgramEditor", "error_lines"]

APPLY_KEY = "ctrl+s"


def error_lines(error: ProgramError) -> list[Content]:
    """``✗ line:col: message (hint)``, then the offending line and a caret under the problem,
    with the line number in a gutter as in the editor."""
    lines = [Content.assemble(("✗ ", "bold"), (error.headline(editing=True), "bold"))]
    carets = error.caret_lines()
    if error.span is not None and len(carets) == 2:
        gutter = f"{error.span.line} │ "
        lines.append(Content.assemble((gutter, "dim"), carets[0][2:]))
        lines.append(
            Content.assemble((" " * (len(gutter) - 2) + "│ ", "dim"), (carets[1][2:], "bold"))
        )
    return lines


class ProgramEditor(Vertical):
    """A :class:`TextArea` with the program, a title line with the keys, and an error area."""

    # not scoped: the rules that depend on the screen's size classes name MainScreen first
    SCOPED_CSS = False
    DEFAULT_CSS = """
    ProgramEditor {
        height: 1fr;
        min-height: 8;
        padding: 0 1;
        border-top: heavy $accent;
    }
    MainScreen.-short ProgramEditor { min-height: 6; }
    /* Below 16 rows: bar, graph 5, editor 5, footer. The footer shows the editor's keys, so its
       help line goes; an error shows its first line only (line:column and the message). */
    MainScreen.-tiny ProgramEditor { min-height: 5; }
    MainScreen.-tiny ProgramEditor #editor-help { display: none; }
    MainScreen.-tiny ProgramEditor #editor-error { max-height: 1; }
    ProgramEditor #editor-help { color: $text-muted; height: 1; }
    ProgramEditor TextArea { height: 1fr; margin: 0; }
    ProgramEditor.-invalid TextArea { border: tall $error; }
    ProgramEditor #editor-error {
        height: auto;
        color: $text-error;
        padding: 0 1;
    }
    """

    BINDINGS = [
        Binding(APPLY_KEY, "apply", "Apply", tooltip="Load the edited program"),
        Binding("escape", "cancel", "Cancel edit", tooltip="Close the editor, keep the graph"),
    ]

    class Submitted(Message):
        """The user applied a program that parses: the screen tries to load it."""

        def __init__(self, text: str) -> None:
            self.text = text
            super().__init__()

    class Cancelled(Message):
        """The user closed the editor without applying."""

    def compose(self) -> ComposeResult:
        yield Static(
            Content.assemble(
                ("edit the program", "bold"),
                " · ",
                ("ctrl+s", "bold"),
                " apply · ",
                ("esc", "bold"),
                " cancel · # comments",
            ),
            id="editor-help",
        )
        yield Static("", id="editor-error")  # the text area comes on first use (startup)

    @property
    def input(self) -> TextArea:
        from textual.widgets import TextArea

        return self.query_one("#editor-input", TextArea)

    @property
    def text(self) -> str:
        return self.input.text

    async def open(self, text: str) -> None:
        """Show the editor with ``text`` and focus it, the cursor at the end of the last line."""
        from .safe_text_area import SafeTextArea  # undo / redo that cannot crash the app

        if not self.query("#editor-input"):
            await self.mount(
                SafeTextArea(
                    id="editor-input",
                    show_line_numbers=True,
                    soft_wrap=False,
                    tab_behavior="focus",
                    placeholder="x = 8\ny = 3\n(x*x + 1)/(y*y - 1)",
                ),
                before="#editor-error",
            )
        self.display = True
        area = self.input
        area.cursor_blink = getattr(self.app, "cursor_blink", True)
        area.load_text(text)
        last = text.split("\n")
        area.move_cursor((len(last) - 1, len(last[-1])))
        self.show_error(None)
        # focus now, not later as focus() does: keys typed in the burst that opened the
        # editor (e q) come back up to the app before a later focus, and acted as the main
        # screen's keys (q quit); with the focus here they are sent on to the editor
        self.screen.set_focus(area)

    def close(self) -> None:
        if self.query("#editor-input"):
            self.input.blur()
        self.display = False
        self.show_error(None)

    def show_error(self, error: ProgramError | None) -> None:
        """Show ``error`` with its caret under the offending text, or clear the error area."""
        area = self.query_one("#editor-error", Static)
        shown = bool(area.display)
        if error is None:
            area.update("")
            area.display = False
            self.remove_class("-invalid")
        else:
            area.update(Content("\n").join(error_lines(error)))
            area.display = True
            self.add_class("-invalid")
        if area.display or shown:  # the text area changes height: keep the cursor in view
            self.call_after_refresh(self._cursor_into_view)

    def on_resize(self) -> None:
        """A smaller terminal leaves fewer rows: the one with the cursor stays among them."""
        if self.display:
            self.call_after_refresh(self._cursor_into_view)

    def _cursor_into_view(self) -> None:
        if self.display and self.query("#editor-input"):
            self.input.scroll_cursor_visible()

    def validate(self, text: str) -> ProgramError | None:
        """Show the error of ``text`` (or clear it) and return it."""
        if not text.strip():
            self.show_error(None)
            return None
        try:
            parse(text)
        except ProgramError as err:
            self.show_error(err)
            return err
        self.show_error(None)
        return None

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        self.validate(event.text_area.text)

    def action_apply(self) -> None:
        text = self.input.text
        error = self.validate(text)
        if error is None and not text.strip():
            error = ProgramError("the program is empty", hint="write an expression")
            self.show_error(error)
        if error is not None:
            if error.span is not None:
                self.input.move_cursor((error.span.line - 1, max(0, error.span.col - 1)))
            return
        self.post_message(self.Submitted(text))

    def action_cancel(self) -> None:
        self.post_message(self.Cancelled())
