"""The help screen: every key of the main screen (read from its bindings) and the legend.

The text is laid out for the width it gets (:func:`help_lines`), so no size cuts a word: three
columns (key, name, explanation wrapped in its column) when there is room, else the key and its
name on one line with the explanation wrapped under it. The box scrolls when it is too tall.
"""

from __future__ import annotations

import textwrap
from functools import lru_cache
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.geometry import Size
from textual.screen import ModalScreen
from textual.widget import Widget

__all__ = ["HelpScreen", "HelpText", "help_lines", "key_rows"]

LEGEND = [
    ("┏━ now ━┓", "the node firing now: heavy box, marked 'now'"),
    ("━━━▶", "heavy edges: where it sends gradient in this step"),
    ("─ ✓ ─┘", "done: fired (or an input that has all its contributions)"),
    ("─ waits 1 ┘", "waiting: N more contributions to come before it fires"),
    ("─ ready ┘", "has every contribution: fires when its turn comes"),
    ("◌ ○ ● ✓ ◐", "one-line boxes: waiting, ready, firing now, done; a neuron partly fired"),
    ("─◆─  ─┼─", "a value's wire branches at ◆ (and at ├ ┬ ┴ ┤); at ┼ two wires only cross"),
    ("grad —", "not computed yet (never confused with 0)"),
    ("+=", "a contribution adds to a grad that is already there"),
]
RULE = (
    "A node fires once every consumer has sent it its grad; it sends upstream × local along "
    "each edge, and each parent's grad += that."
)
GAP = "  "
MIN_COLUMN = 24
"""The narrowest explanation column worth a table; below it the explanation goes under the key."""
NARROW = 60
"""Below this width the help box takes the whole screen, with less padding."""
INDENT = "    "
"""How far an explanation under its key is indented."""


def key_rows(bindings: list[BindingType]) -> list[tuple[str, str, str]]:
    """(keys, description, longer explanation) for every binding that has a description.

    Bindings of one group share a row (``home end  Start/End``), with the first one's tooltip.
    """
    rows: list[tuple[str, str, str]] = []
    groups: dict[int, int] = {}
    for binding in bindings:
        if not isinstance(binding, Binding) or not binding.description:
            continue
        keys = binding.key_display or binding.key
        group = binding.group
        if group is not None and id(group) in groups:
            at = groups[id(group)]
            shown, description, tooltip = rows[at]
            rows[at] = (f"{shown} {keys}", description, tooltip)
            continue
        if group is not None:
            groups[id(group)] = len(rows)
            rows.append((keys, group.description, binding.tooltip))
        else:
            rows.append((keys, binding.description, binding.tooltip))
    return rows


def _wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` cells, broken between words only (a word longer
    than the line keeps its own line whole)."""
    return textwrap.wrap(text, max(1, width), break_long_words=False, break_on_hyphens=False) or [
        ""
    ]


def help_lines(rows: tuple[tuple[str, str, str], ...], width: int | None) -> list[Content]:
    """The help text in lines of at most ``width`` cells (None: as wide as it likes)."""
    key_width = max(len(keys) for keys, _, _ in rows)
    name_width = max(len(name) for _, name, _ in rows)
    lines = [Content.styled("Keys", "bold $accent")]
    lead = key_width + len(GAP) + name_width + len(GAP)
    table = width is None or width - lead >= MIN_COLUMN
    for keys, name, tooltip in rows:
        head = Content.assemble((keys.ljust(key_width), "bold"), GAP, (name, "bold"))
        if table:
            room = None if width is None else width - lead
            parts = [tooltip] if room is None or not tooltip else _wrap(tooltip, room)
            first = Content.assemble(head, " " * (name_width - len(name)), GAP, parts[0])
            lines.append(first if tooltip else head)
            lines += [Content(" " * lead + part) for part in parts[1:]]
        else:
            assert width is not None
            if head.cell_length <= width:
                lines.append(head)
            else:  # not even the key and its name on one line: each wrapped on its own
                lines += [Content.styled(part, "bold") for part in _wrap(keys, width)]
                lines += [Content.styled(INDENT[:2] + p, "bold") for p in _wrap(name, width - 2)]
            if tooltip:
                indent = INDENT if width - len(INDENT) >= MIN_COLUMN // 2 else INDENT[:2]
                wrapped = _wrap(tooltip, width - len(indent))
                lines += [Content.styled(indent + part, "$text-muted") for part in wrapped]
    lines += [Content(""), Content.styled("The drawing", "bold $accent")]
    mark_width = max(len(mark) for mark, _ in LEGEND)
    lead = mark_width + len(GAP)
    for mark, meaning in LEGEND:
        if width is None or width - lead >= MIN_COLUMN:
            parts = [meaning] if width is None else _wrap(meaning, width - lead)
            lines.append(Content.assemble((mark.ljust(mark_width), "bold"), GAP, parts[0]))
            lines += [Content(" " * lead + part) for part in parts[1:]]
        else:
            lines.append(Content.styled(mark, "bold"))
            lines += [Content(INDENT[:2] + part) for part in _wrap(meaning, width - 2)]
    lines.append(Content(""))
    rule = [RULE] if width is None else _wrap(RULE, width)
    lines += [Content.styled(part, "$text-muted") for part in rule]
    return lines


@lru_cache(maxsize=32)
def _cached_lines(rows: tuple[tuple[str, str, str], ...], width: int | None) -> list[Content]:
    return help_lines(rows, width)


class HelpText(Widget):
    """The help text, laid out for the width the widget gets (see :func:`help_lines`)."""

    DEFAULT_CSS = """
    HelpText { width: 1fr; height: auto; }
    """

    def __init__(self, rows: list[tuple[str, str, str]], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows = tuple(rows)

    def lines(self, width: int | None) -> list[Content]:
        return _cached_lines(self.rows, width)

    @property
    def natural_width(self) -> int:
        """The width of the text when nothing needs wrapping."""
        return max(line.cell_length for line in self.lines(None))

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return self.natural_width

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.lines(width))

    def render(self) -> Content:
        return Content("\n").join(self.lines(self.content_size.width))


class HelpScreen(ModalScreen[None]):
    """Every key, generated from the main screen's bindings, so it can never go stale."""

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
        background: $background 60%;
    }
    #help-box {  /* its width: HelpScreen._fit */
        height: auto;
        max-height: 90%;
        border: round $accent;
        border-title-style: bold;
        background: $surface;
        padding: 0 2;
        scrollbar-size-vertical: 1;
    }
    HelpScreen.-narrow #help-box { max-height: 100%; padding: 0 1; }
    """

    BINDINGS = [
        Binding("escape,question_mark,q,f1", "dismiss", "Close help", key_display="esc"),
    ]

    def __init__(self, bindings: list[BindingType]) -> None:
        super().__init__()
        self.rows = key_rows(bindings)

    def on_mount(self) -> None:
        self._fit(self.app.size.width)

    def on_resize(self, event: Any) -> None:
        self._fit(event.size.width)

    def _fit(self, width: int) -> None:
        """The box as wide as the text wants, up to the screen's width (less a margin): the text
        is then laid out for the width it gets."""
        narrow = width < NARROW
        self.set_class(narrow, "-narrow")
        box = self.query_one("#help-box", VerticalScroll)
        chrome = 2 + (2 if narrow else 4) + 1  # border, padding, scrollbar
        most = width if narrow else int(width * 0.96)
        box.styles.width = min(self.query_one(HelpText).natural_width + chrome, most)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = "stepgrad help"
            box.border_subtitle = "esc / ? to close"
            yield HelpText(self.rows, id="help-text")
