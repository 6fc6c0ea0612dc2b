"""Find a node by name (``/``): type part of a name, pick a match, and the main screen centres,
selects and inspects it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from engine import Value

if TYPE_CHECKING:
    from stepgrad.scene import Scene

__all__ = ["FindScreen", "MAX_SHOWN"]

MAX_SHOWN = 50
"""Matches listed at once; the rest are counted."""


class FindScreen(ModalScreen[Value | None]):
    """A find box with completion over the graph's node names and a list of matches."""

    DEFAULT_CSS = """
    FindScreen { align: center top; }
    #find-box {
        width: 64; max-width: 100%; height: auto; max-height: 80%;
        margin-top: 2; border: round $accent; background: $surface; padding: 0 1;
    }
    #find-matches { height: auto; max-height: 16; }
    #find-count { color: $text-muted; }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Close", tooltip="Close without finding"),
        Binding("down", "move(1)", "Next match", show=False),
        Binding("up", "move(-1)", "Previous match", show=False),
    ]

    def __init__(self, scene: Scene) -> None:
        super().__init__()
        self.scene = scene
        self.matches: list[Value] = []
        self._answered = False

    def compose(self) -> ComposeResult:
        names = sorted({self.scene.names[v] for v in self.scene.by_id.values()})
        with Vertical(id="find-box") as box:
            box.border_title = "find a node"
            box.border_subtitle = "enter: go · esc: close"
            yield Input(
                placeholder="part of a name, e.g. the first letters",
                suggester=SuggestFromList(names, case_sensitive=False),
                id="find-input",
            )
            yield OptionList(id="find-matches")
            yield Static("", id="find-count")

    def on_mount(self) -> None:
        self._update("")
        self.query_one(Input).focus()

    @on(Input.Changed, "#find-input")
    def _typed(self, event: Input.Changed) -> None:
        self._update(event.value)

    def _update(self, text: str) -> None:
        names = self.scene.names
        self.matches = self.scene.find(text) if text.strip() else []
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options(Option(names[v]) for v in self.matches[:MAX_SHOWN])
        if self.matches:
            options.highlighted = 0
        count = len(self.matches)
        if not text.strip():
            note = f"{len(self.scene.by_id):,} nodes: type part of a name"
        elif not count:
            note = f"no node is called anything like {text.strip()!r}"
        elif count > MAX_SHOWN:
            note = f"{count:,} matches, the first {MAX_SHOWN} shown: type more to narrow them"
        else:
            note = f"{count} match{'es' if count > 1 else ''}"
        self.query_one("#find-count", Static).update(note)

    def action_move(self, step: int) -> None:
        options = self.query_one(OptionList)
        if options.option_count:
            at = options.highlighted if options.highlighted is not None else -step
            options.highlighted = max(0, min(options.option_count - 1, at + step))

    @on(Input.Submitted, "#find-input")
    def _submitted(self) -> None:
        options = self.query_one(OptionList)
        at = options.highlighted
        if at is None or not self.matches:
            text = self.query_one(Input).value.strip()
            note = (
                f"no node is called anything like {text!r}: try fewer letters"
                if text
                else "type part of a name first"
            )
            self.query_one("#find-count", Static).update(note)
            return
        self._close(self.matches[at])

    @on(OptionList.OptionSelected, "#find-matches")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self._close(self.matches[event.option_index])

    def action_cancel(self) -> None:
        self._close(None)

    def _close(self, value: Value | None) -> None:
        if not self._answered:  # Enter and Escape together must not dismiss twice
            self._answered = True
            self.dismiss(value)
