"""The help screen: every key of the main screen (read from its bindings) and the legend."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

__all__ = ["HelpScreen", "key_rows"]

LEGEND = [
    ("┏━ now ━┓", "the node firing now: heavy box, marked 'now'"),
    ("━━━▶", "heavy edges: where it sends gradient in this step"),
    ("─ ✓ ─┘", "done: fired (or an input that has all its contributions)"),
    ("─ waits 1 ┘", "waiting: has some contributions, waits for N more"),
    ("─ ready ┘", "has every contribution: fires when its turn comes"),
    ("grad —", "not computed yet (never confused with 0)"),
    ("+=", "a contribution adds to a grad that is already there"),
]


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


class HelpScreen(ModalScreen[None]):
    """Every key, generated from the main screen's bindings, so it can never go stale."""

    BINDINGS = [
        Binding("escape,question_mark,q,f1", "dismiss", "Close help", key_display="esc"),
    ]

    def __init__(self, bindings: list[BindingType]) -> None:
        super().__init__()
        self.rows = key_rows(bindings)

    def compose(self) -> ComposeResult:
        width = max(len(keys) for keys, _, _ in self.rows)
        lines = [Content.styled("Keys", "bold $accent")]
        for keys, description, tooltip in self.rows:
            lines.append(
                Content.assemble(
                    (keys.ljust(width), "bold"),
                    "  ",
                    (description.ljust(16), "bold"),
                    ("  " + tooltip if tooltip else "", ""),
                )
            )
        lines.append(Content(""))
        lines.append(Content.styled("The drawing", "bold $accent"))
        mark_width = max(len(mark) for mark, _ in LEGEND)
        for mark, meaning in LEGEND:
            lines.append(Content.assemble((mark.ljust(mark_width), "bold"), "  ", meaning))
        lines.append(Content(""))
        lines.append(
            Content.styled(
                "A node fires once every consumer has sent it its grad; it sends\n"
                "upstream × local along each edge, and each parent's grad += that.",
                "$text-muted",
            )
        )
        with VerticalScroll(id="help-box") as box:
            box.border_title = "stepgrad help"
            box.border_subtitle = "esc / ? to close"
            yield Static(Content("\n").join(lines), id="help-text")
