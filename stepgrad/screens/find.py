"""Find a node by name (``/``): type part of a name, pick a match, and the main screen centres,
selects and inspects it.

- **Keys typed right after ``/``** reach the box: its input has the focus from the moment the
  screen is pushed, before it is even composed, so the keys of one burst (``/ y 2 enter``, a
  fast typist) queue on the input, in order, instead of on a screen that has nothing focused.
- **Names are matched as they are typed**: ``x2`` (or ``x_2``) finds ``x₂``, the second binding
  of a reassigned ``x``, when no node is literally called that; literal matches come first.
- **Enter goes where the box says**: to the highlighted match, which is the grey completion
  when its name goes on from what was typed, and is named under the list.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from textual import on
from textual._context import active_app
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestionReady
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from engine import Value
from engine.parse import SUBSCRIPT_DIGITS

if TYPE_CHECKING:
    from stepgrad.scene import Scene

__all__ = ["FindScreen", "MAX_SHOWN", "fold"]

MAX_SHOWN = 50
"""Matches listed at once; the rest are counted."""

_DIGITS = str.maketrans(SUBSCRIPT_DIGITS, "0123456789")  # the names' subscripts, typed
_UNDERSCORE_DIGIT = re.compile(r"_(?=\d)")


def fold(text: str) -> str:
    """``text`` as it can be typed on any keyboard: subscript digits as digits, lower case
    (``x₂`` is ``x2``)."""
    return text.translate(_DIGITS).lower()


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
        self._text = ""  # what the matches are for
        self._answered = False
        self._folded: dict[Value, str] | None = None
        self.input = Input(placeholder="part of a name, e.g. the first letters", id="find-input")
        # Focused now, before the screen is pushed: the app sends each key to the focused
        # widget, and until the screen had composed its input (in the screen's own task, after
        # the app had handled the keys typed with the /) nothing was focused, so those keys
        # went to the screen, which has no use for them, and were lost. Queued on the input,
        # they are typed in order once it is mounted. (Made outside an app, in a test, it is
        # focused when mounted instead.)
        if active_app.get(None) is not None:
            self.set_focus(self.input, scroll_visible=False)

    def compose(self) -> ComposeResult:
        with Vertical(id="find-box") as box:
            box.border_title = "find a node"
            box.border_subtitle = "enter: go · esc: close"
            yield self.input
            yield OptionList(id="find-matches")
            yield Static("", id="find-count")

    def on_mount(self) -> None:
        if self.input.value == self._text:  # nothing typed yet (typed keys update it)
            self._update(self.input.value)
        if self.focused is None:  # the early focus did not take
            self.input.focus()

    def find(self, text: str) -> list[Value]:
        """The nodes whose name contains ``text``: the graph's own matches (names that start
        with it first), then names that contain it as it is typed (``x2``, ``x_2`` for
        ``x₂``), the same order again."""
        literal = self.scene.find(text)
        keys = {fold(text.strip())}
        keys.add(_UNDERSCORE_DIGIT.sub("", next(iter(keys))))
        keys.discard("")
        if not keys:
            return literal
        if self._folded is None:
            names = self.scene.names
            self._folded = {v: fold(names[v]) for v in self.scene.by_id.values()}
        seen = set(literal)
        starts, contains = [], []
        for value, name in self._folded.items():
            if value in seen:
                continue
            if any(name.startswith(key) for key in keys):
                starts.append(value)
            elif any(key in name for key in keys):
                contains.append(value)
        return literal + starts + contains

    @on(Input.Changed, "#find-input")
    def _typed(self, event: Input.Changed) -> None:
        self._update(event.value)

    def _update(self, text: str) -> None:
        self._text = text
        names = self.scene.names
        self.matches = self.find(text) if text.strip() else []
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options(Option(names[v]) for v in self.matches[:MAX_SHOWN])
        if self.matches:
            options.highlighted = 0
        self._show_pick()

    def _show_pick(self) -> None:
        """Say where Enter goes: the highlighted match, as the grey completion when its name
        goes on from what was typed (else none: a completion Enter would not follow is
        worse than none), and under the list."""
        text = self._text
        picked = self._picked_value()
        name = self.scene.names[picked] if picked is not None else ""
        extends = len(name) > len(text) and name.lower().startswith(text.lower())
        self.input.post_message(SuggestionReady(text, name if extends else ""))
        count = len(self.matches)
        if not text.strip():
            note = f"{len(self.scene.by_id):,} nodes: type part of a name"
        elif not count:
            note = f"no node is called anything like {text.strip()!r}"
        elif count > MAX_SHOWN:
            note = f"{count:,} matches, the first {MAX_SHOWN} shown: type more to narrow them"
        else:
            note = f"{count} match{'es' if count > 1 else ''} · enter: {name}"
        self.query_one("#find-count", Static).update(note)

    def _picked_value(self) -> Value | None:
        at = self.query_one(OptionList).highlighted
        if at is None or not 0 <= at < min(len(self.matches), MAX_SHOWN):
            return None
        return self.matches[at]

    def action_move(self, step: int) -> None:
        options = self.query_one(OptionList)
        if options.option_count:
            at = options.highlighted if options.highlighted is not None else -step
            options.highlighted = max(0, min(options.option_count - 1, at + step))
            self._show_pick()

    @on(Input.Submitted, "#find-input")
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value != self._text:  # keys typed ahead: match what the box holds now
            self._update(event.value)
        picked = self._picked_value()
        if picked is None:
            text = event.value.strip()
            note = (
                f"no node is called anything like {text!r}: try fewer letters"
                if text
                else "type part of a name first"
            )
            self.query_one("#find-count", Static).update(note)
            return
        self._close(picked)

    @on(OptionList.OptionSelected, "#find-matches")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self._close(self.matches[event.option_index])

    def action_cancel(self) -> None:
        self._close(None)

    def _close(self, value: Value | None) -> None:
        if not self._answered:  # Enter and Escape together must not dismiss twice
            self._answered = True
            self.dismiss(value)
