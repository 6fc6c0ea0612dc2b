"""The inline program editor: edit, see errors with a caret as you type, apply with enter.

The old graph stays on screen until the new program is valid; the screen does the loading and
hands back any error (attributes down, messages up).
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, Static

from engine.parse import ProgramError, parse

__all__ = ["ProgramEditor"]


class ProgramEditor(Vertical):
    """An :class:`Input` with the program on one line and an error area under it."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel edit", tooltip="Close the editor, keep the graph")
    ]

    class Submitted(Message):
        """The user pressed enter on a program that parses: the screen tries to load it."""

        def __init__(self, text: str) -> None:
            self.text = text
            super().__init__()

    class Cancelled(Message):
        """The user closed the editor without applying."""

    def compose(self) -> ComposeResult:
        yield Static(
            Content.assemble(
                ("edit the program", "bold"),
                "  statements separated by ;  ·  ",
                ("enter", "bold"),
                " apply  ·  ",
                ("esc", "bold"),
                " cancel",
            ),
            id="editor-help",
        )
        yield Input(id="editor-input", placeholder="e.g. x = 8; y = 3; (x*x + 1)/(y*y - 1)")
        yield Static("", id="editor-error")

    @property
    def input(self) -> Input:
        return self.query_one("#editor-input", Input)

    def open(self, text: str) -> None:
        """Show the editor with ``text`` and focus it."""
        self.display = True
        self.input.value = text
        self.input.cursor_position = len(text)
        self.show_error(None)
        self.input.focus()

    def close(self) -> None:
        self.input.blur()
        self.display = False
        self.show_error(None)

    def show_error(self, error: ProgramError | None) -> None:
        """Show ``error`` with its caret under the offending text, or clear the error area."""
        area = self.query_one("#editor-error", Static)
        if error is None:
            area.update("")
            area.display = False
            self.remove_class("-invalid")
            return
        lines = [
            Content.assemble(("✗ ", "bold"), (error.headline(), "bold")),
            *(Content(line) for line in error.caret_lines()),
        ]
        area.update(Content("\n").join(lines))
        area.display = True
        self.add_class("-invalid")

    @on(Input.Changed, "#editor-input")
    def _validate(self, event: Input.Changed) -> None:
        event.stop()
        text = event.value
        if not text.strip():
            self.show_error(None)
            return
        try:
            parse(text)
        except ProgramError as err:
            self.show_error(err)
        else:
            self.show_error(None)

    @on(Input.Submitted, "#editor-input")
    def _submit(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value
        try:
            parse(text)
        except ProgramError as err:
            self.show_error(err)
            if err.span is not None and err.span.line == 1:
                self.input.cursor_position = max(0, err.span.col - 1)
            return
        self.post_message(self.Submitted(text))

    def action_cancel(self) -> None:
        self.post_message(self.Cancelled())
