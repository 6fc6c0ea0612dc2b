"""A :class:`~textual.widgets.TextArea` whose undo and redo cannot take the app down.

Textual 8.2.8 (the newest release) crashes on undo after a multi-line paste, and on redo after a
multi-line deletion, whenever the change makes the vertical scrollbar appear or disappear::

    ValueError: The document line index 3 is out of bounds. The document contains 3 lines.

Two things meet there. ``TextArea._undo_batch`` / ``_redo_batch`` put the old text back, then
refresh the virtual size (which shows or hides the scrollbar) and only *then* restore the
selection (``Edit.after``); in between, the cursor still points past the end of the shortened
document. The scrollbar's watcher scrolls to that cursor, and
``WrappedDocument.location_to_offset`` clamps its row to ``len(lines)`` instead of
``len(lines) - 1``, so the lookup fails. (``TextArea.edit`` restores the selection before it
refreshes the size, which is why typing and pasting never hit it.)

:class:`SafeTextArea` does not scroll to a cursor that is outside the document: that only happens
in that moment inside undo / redo, and the selection restored right after scrolls to the right
place. Should undo or redo fail anyway (another upstream bug), the text and the cursor are put
back as they were before the keystroke and the error goes on to the app, which says so in one
line (see :meth:`stepgrad.app.StepgradApp.run_action`): the user's program is never lost.

After an undo or redo it wraps the whole document again (:meth:`SafeTextArea._rewrap`: another
upstream bug left the wrapped copy a line longer than the text, and the next frame crashed). It
also takes no focus while hidden (see :meth:`SafeTextArea.allow_focus`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.geometry import Offset
from textual.widget import Widget
from textual.widgets import TextArea
from textual.widgets.text_area import Selection

from engine.text import visible

__all__ = ["SafeTextArea"]


def shown(text: str) -> str:
    """``text`` with every control character but line breaks and tabs replaced by its visible
    stand-in (``␛``): a text area would send them to the terminal as they are, so a pasted or
    loaded ``ESC]52;...`` would set the clipboard. In a comment the stand-in changes nothing.
    Windows and old Mac line breaks (``\r\n``, ``\r``: a paste from a Windows clipboard) are
    line breaks, as when the program is read from a file."""
    return visible(text.replace("\r\n", "\n").replace("\r", "\n"), keep="\n\t")


class SafeTextArea(TextArea):
    """A text area whose undo / redo keep the text whole and that takes no focus while hidden
    (see the module's docstring)."""

    def cursor_in_document(self) -> bool:
        """Whether the cursor is at a place that exists in the document now."""
        row, column = self.selection.end
        document = self.document
        return 0 <= row < document.line_count and 0 <= column <= len(document[row])

    def scroll_cursor_visible(self, center: bool = False, animate: bool = False) -> Offset:
        if not self.cursor_in_document():
            return Offset(0, 0)  # mid undo / redo: the restored selection scrolls right after
        return super().scroll_cursor_visible(center=center, animate=animate)

    def allow_focus(self) -> bool:
        """Not while hidden: ``focus()`` takes effect later (Textual defers it), so a focus
        asked for just before the editor closed, or given back when a screen on top closes,
        would land on a text area that is not shown, and every key after it would be typed into
        it unseen instead of reaching the main screen."""
        shown = all(node.display for node in self.ancestors_with_self if isinstance(node, Widget))
        return shown and super().allow_focus()

    def load_text(self, text: str) -> None:
        super().load_text(shown(text))

    def _replace_via_keyboard(self, insert: str, start: Any, end: Any) -> Any:
        """Typing and pasting go through here: control characters arrive as stand-ins."""
        return super()._replace_via_keyboard(shown(insert), start, end)

    def undo(self) -> None:
        self._guarded(super().undo)
        self._rewrap()

    def redo(self) -> None:
        self._guarded(super().redo)
        self._rewrap()

    def _rewrap(self) -> None:
        """Wrap the whole document again after an undo or redo.

        Textual 8.2.8 re-wraps only the range a batch of edits touched, and gets the range
        wrong for some batches with a line break: on ``x\ny``, ``end enter b ctrl+z c ctrl+z``
        leaves the document 2 lines long but its wrapped copy 3, and the next frame draws a
        line that is not there (``IndexError``, fatal: it happens while drawing). A program is
        small; wrapping all of it costs nothing noticeable.
        """
        self.wrapped_document.wrap(self.wrap_width, self.indent_width)
        self._refresh_size()
        self.scroll_cursor_visible()
        self.refresh()

    def _guarded(self, change: Callable[[], None]) -> None:
        """Run ``change`` (undo or redo); if it raises, put everything back as it was before
        the keystroke (text, cursor, both stacks of the history), then let the error go on."""
        history = self.history
        text, selection = self.text, self.selection
        undo_stack, redo_stack = list(history._undo_stack), list(history._redo_stack)
        try:
            change()
        except Exception:
            if self.text != text:
                self.load_text(text)  # clears the history: put back just below
            history._undo_stack.clear()
            history._undo_stack.extend(undo_stack)
            history._redo_stack.clear()
            history._redo_stack.extend(redo_stack)
            history.checkpoint()
            end = self.document.end
            self.selection = Selection(min(selection.start, end), min(selection.end, end))
            raise
