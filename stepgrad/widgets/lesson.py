"""The lesson note above the step panel: the bug mode's broken rule and the grads it got wrong
(each with the correct value beside it), and the last nudge's measured against predicted.

Hidden when there is nothing to say (no bug mode, no nudge). Marks are text (``✗``, ``bug
mode``), never colour alone.
"""

from __future__ import annotations

from textual.content import Content

from engine.numbers import format_number
from stepgrad.lesson.bugs import BugWalkthrough, wrong
from stepgrad.lesson.nudge import Nudge
from stepgrad.state import Walkthrough

from .lines import LineWidget

__all__ = ["LessonNote", "note_lines", "nudge_text"]

SHOWN_WRONG = 6
"""Wrong grads named at most; the rest are counted."""


def note_lines(walk: Walkthrough, nudged: Nudge | None) -> list[Content]:
    """The note's lines before wrapping (empty: nothing to say)."""
    lines: list[Content] = []
    fresh = walk.step == 0 and walk.pass_.number == 1 and not walk.cleared
    if nudged is not None:  # first: the answer to the key just pressed (at 60x20 it was
        # below the bug mode's rule, out of view)
        lines += nudge_text(nudged) if fresh else [nudge_summary(nudged)]
    if isinstance(walk, BugWalkthrough):  # the rule in full at the start, then in a few words
        lines.append(
            Content.assemble(
                (f" bug mode: {walk.bug.name} ", "bold reverse $error"),
                " ",
                walk.bug.rule if fresh and nudged is None else walk.bug.summary,
            )
        )
        bad = wrong(walk)
        if bad:
            shown = walk.grads()
            name = walk.program.name
            named = sorted(bad, key=lambda v: v.label is None)  # named values first
            parts = [
                f"{name(v)} {format_number(shown.get(v, 0.0))} (correct {format_number(bad[v])})"
                for v in named[:SHOWN_WRONG]
            ]
            more = f", and {len(bad) - SHOWN_WRONG} more" if len(bad) > SHOWN_WRONG else ""
            lines.append(
                Content.assemble(
                    ("✗ differs from the correct pass: ", "bold $text-error"),
                    ", ".join(parts) + more,
                )
            )
    return lines


def nudge_summary(result: Nudge) -> Content:
    """The nudge in one line, once the pass it reset has begun: the step panel comes first."""
    n = format_number
    ratio = "—" if result.ratio is None else n(result.ratio)
    return Content.assemble(
        ("nudge ", "dim"),
        f"{result.input} by h = {n(result.h)}: Δ{result.name} {n(result.delta_out)} measured, "
        f"grad × h {n(result.predicted)} predicted, ratio {ratio}",
        (" (in full at step 0)", "dim"),
    )


LABEL = 10
"""The width of the nudge's labels (``measured``...): wrapped text hangs under its own."""


def nudge_text(result: Nudge) -> list[Content]:
    """The nudge's comparison: a row per label (measured, predicted, ratio), then the verdict."""
    lines = []
    for label, text in result.lines(" (H)"):
        if label:
            lines.append(Content.assemble((f"{label:<{LABEL}}", "dim"), text))
        else:
            lines.append(Content(text))
    return lines


def _hanging(line: Content, width: int) -> list[Content]:
    """``line`` wrapped at ``width``; a line that starts with a nudge label continues under the
    text after the label, not under the label."""
    if line.cell_length <= width:
        return [line]
    labeled = any(span.start == 0 and span.end == LABEL for span in line.spans)
    if labeled and width > LABEL + 20:
        head, body = line[:LABEL], line[LABEL:]
        parts = body.wrap(width - LABEL)
        return [head + parts[0], *(Content(" " * LABEL) + part for part in parts[1:])]
    return line.wrap(width)


class LessonNote(LineWidget):
    """See the module docstring; the screen gives it :func:`note_lines` (attributes down)."""

    DEFAULT_CSS = """
    LessonNote { height: auto; margin-bottom: 1; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.content: list[Content] = []
        self.display = False

    def show(self, content: list[Content]) -> None:
        """Show ``content`` (:func:`note_lines`); hidden when it is empty."""
        if content == self.content:
            return
        self.content = content
        self.display = bool(content)
        self._fit()
        self.refresh()

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        height = max(1, len(self.lines(max(10, self.content_size.width))))
        if self.styles.height is None or self.styles.height.value != height:
            self.styles.height = height

    def lines(self, width: int) -> list[Content]:
        width = max(10, width)
        out: list[Content] = []
        for line in self.content:
            out += _hanging(line, width)
        return out

    def text(self) -> str:
        """The note as plain text (the tests read it)."""
        return "\n".join(line.plain for line in self.content)
