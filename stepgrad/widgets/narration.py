"""Lesson mode's narration: what the last step did, in plain sentences (``n`` hides it)."""

from __future__ import annotations

from collections.abc import Mapping

from textual.content import Content

from stepgrad.explain import narrate
from stepgrad.state import Walkthrough

from .lines import LineWidget

__all__ = ["Narration"]


class Narration(LineWidget):
    """The sentences of :func:`stepgrad.explain.narrate` for the current step, wrapped."""

    DEFAULT_CSS = """
    Narration { height: auto; margin-top: 1; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.sentences: list[str] = []
        self._height = -1
        self._pass: object = None
        self._cache: tuple[tuple[object, ...], list[Content]] | None = None

    def update_from(self, walk: Walkthrough, notes: Mapping[str, str] | None = None) -> None:
        sentences = narrate(walk, notes) if self.display else []
        if walk.pass_ is not self._pass:  # a new pass may shrink it; within one it only grows
            self._pass = walk.pass_
            self._height = -1
        if sentences != self.sentences:
            self.sentences = sentences
            self._fit()
            self.refresh()

    def on_resize(self) -> None:
        self._height = -1
        self._fit()

    def _fit(self) -> None:
        """Grow to the lines needed; shrinking would lay the screen out again at every step."""
        height = max(1, len(self.lines(max(20, self.content_size.width))))
        if height > self._height:
            self._height = height
            self.styles.height = height

    def lines(self, width: int) -> list[Content]:
        width = max(20, width)
        key = (tuple(self.sentences), width)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        lines: list[Content] = []
        for sentence in self.sentences:
            for j, line in enumerate(Content(sentence).wrap(width - 2) or [Content("")]):
                lines.append(Content.assemble(("▌ " if j == 0 else "  ", "$accent"), line))
        self._cache = (key, lines)
        return lines
