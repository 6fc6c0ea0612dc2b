"""A widget drawn line by line from :class:`~textual.content.Content` (Textual's line API).

A step changes the top bar, the step title and the step panel; drawing their lines straight to
strips skips the general renderable pipeline, which costs about a millisecond per widget.
"""

from __future__ import annotations

from textual.content import Content
from textual.strip import Strip
from textual.widget import Widget

__all__ = ["LineWidget", "content_key"]


def content_key(content: Content) -> tuple[object, ...]:
    """What a drawn line depends on: its text *and* its styles (two Contents of the same text
    are equal whatever their styles, so a Content alone is no key for a cache of strips)."""
    return (content.plain, tuple(content.spans))


class LineWidget(Widget, can_focus=False):
    """Subclasses return their lines, already fitted to ``width``, from :meth:`lines`."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._strips: dict[tuple[object, ...], Strip] = {}

    def lines(self, width: int) -> list[Content]:  # pragma: no cover - overridden
        return []

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        """``height: auto`` before a subclass fits its height: the lines at this width."""
        return len(self.lines(width))

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        lines = self.lines(width)
        return self._strip(lines[y] if y < len(lines) else Content(""), width)

    def prepare(self, width: int) -> None:
        """Build the strips of :meth:`lines` ahead of drawing them (see the screen's prefetch)."""
        for line in self.lines(width):
            self._strip(line, width)

    def _strip(self, content: Content, width: int) -> Strip:
        key = (content_key(content), width)
        strip = self._strips.get(key)
        if strip is None:
            if content.cell_length > width:
                content = content.truncate(width, ellipsis=True)
            segments = content.render_segments(self.visual_style)
            strip = Strip(segments, content.cell_length).extend_cell_length(width, self.rich_style)
            if len(self._strips) > 256:
                self._strips.clear()
            self._strips[key] = strip
        return strip
