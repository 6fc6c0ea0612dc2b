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
        self._said: dict[tuple[object, ...], list[str]] = {}  # by state: this one, prefetched
        self._wrapped: dict[tuple[object, ...], list[Content]] = {}

    def _narrate(self, walk: Walkthrough, notes: Mapping[str, str] | None) -> list[str]:
        key = (walk.pass_.serial, walk.step, walk.cleared, tuple(notes or ()))  # serials: unique
        said = self._said.get(key)
        if said is None:
            said = narrate(walk, notes)
            if len(self._said) >= 4:
                self._said.pop(next(iter(self._said)))
            self._said[key] = said
        return said

    def update_from(self, walk: Walkthrough, notes: Mapping[str, str] | None = None) -> None:
        sentences = self._narrate(walk, notes) if self.display else []
        if walk.pass_ is not self._pass:  # a new pass may shrink it; within one it only grows
            self._pass = walk.pass_
            self._height = -1
        if sentences != self.sentences:
            self.sentences = sentences
            self._fit()
            self.refresh()

    def prefetch(self, walk: Walkthrough, notes: Mapping[str, str] | None = None) -> None:
        """Narrate the state ``walk`` is in now and build its lines, ahead of showing it."""
        if not self.display:
            return
        width = max(20, self.content_size.width)
        for line in self._wrap(self._narrate(walk, notes), width):
            self._strip(line, width)

    def on_resize(self) -> None:
        self._height = -1
        self._fit()

    def _fit(self) -> None:
        """Grow to the lines needed; shrinking would lay the screen out again at every step."""
        if not self.content_size.width:
            return  # not laid out yet: ``height: auto`` asks get_content_height at the width
        height = max(1, len(self.lines(max(20, self.content_size.width))))
        if height > self._height:
            self._height = height
            self.styles.height = height

    def lines(self, width: int) -> list[Content]:
        return self._wrap(self.sentences, max(10, width))

    def _wrap(self, sentences: list[str], width: int) -> list[Content]:
        key = (tuple(sentences), width)
        cached = self._wrapped.get(key)
        if cached is not None:
            return cached
        lines: list[Content] = []
        for sentence in sentences:
            for j, line in enumerate(Content(sentence).wrap(width - 2) or [Content("")]):
                lines.append(Content.assemble(("▌ " if j == 0 else "  ", "$accent"), line))
        if len(self._wrapped) >= 4:
            self._wrapped.pop(next(iter(self._wrapped)))
        self._wrapped[key] = lines
        return lines
