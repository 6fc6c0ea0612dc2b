"""The graph, drawn by :mod:`stepgrad.draw`, in a scrollable, pannable Textual view.

The widget never lays anything out itself: the screen hands it a ``Drawing`` and, every step, a
``View`` (attributes down); it renders only the visible window of the canvas, mapping the
drawing's style names to component classes styled in ``stepgrad.tcss``. A click on a box posts
:class:`GraphView.NodeClicked` (messages up).

Panning: the mouse wheel (shift+wheel sideways), ``up`` / ``down`` / ``shift+left`` /
``shift+right``, ``pageup`` / ``pagedown``. After each step the screen asks the view to follow
the node that fired.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

if TYPE_CHECKING:
    from stepgrad.draw import Drawing, Rendered, View

__all__ = ["GraphView"]

_TOKEN_CLASSES = {
    "node.current": "graph--current",
    "node.done": "graph--done",
    "node.waiting": "graph--waiting",
    "node.idle": "graph--idle",
    "edge.active": "graph--edge-active",
    "edge.done": "graph--edge-done",
    "edge.idle": "graph--edge-idle",
    "edge.hidden": "graph--edge-hidden",
    "label": "graph--label",
    "grad": "graph--grad",
    "data": "graph--data",
    "mark": "graph--mark",
    "constant": "graph--constant",
    "selected": "graph--selected",
}


def _follow_axis(at: float, start: int, end: int, size: int, margin: int = 2) -> float:
    """The scroll position nearest ``at`` that shows ``start..end`` (with a margin if it fits)."""
    for pad in (margin, 0):
        low, high = end + pad - size, start - pad  # the range of positions that show it
        if low <= high:
            return max(0.0, min(max(at, low), high))
    return max(0.0, start)


class GraphView(ScrollView, can_focus=False):
    """The computation graph: a window onto a :class:`stepgrad.draw.Drawing`."""

    COMPONENT_CLASSES: ClassVar[set[str]] = set(_TOKEN_CLASSES.values())

    class NodeClicked(Message):
        """A box was clicked: ``node`` is its key in the drawing's graph."""

        def __init__(self, node: int) -> None:
            self.node = node
            super().__init__()

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.drawing: Drawing | None = None
        self.view: View | None = None
        self.selected: int | None = None
        self.placeholder = "laying out the graph…"
        self._rendered: tuple[tuple[object, ...], Rendered] | None = None
        self._styles: dict[str, Style] = {}
        self._version = 0

    # --- attributes down ------------------------------------------------------------------------

    def show(self, drawing: Drawing | None, view: View | None, selected: int | None) -> None:
        """Show ``drawing`` styled by ``view``, with ``selected`` (a node key) marked."""
        if drawing is not self.drawing:
            self.drawing = drawing
            size = Size(drawing.width + 1, drawing.height) if drawing else Size(0, 0)
            self.virtual_size = size
        self.view = view
        self.selected = selected
        self._version += 1
        self.refresh()

    def follow(self, nodes: list[int]) -> None:
        """Scroll so that the first node's box, and as many of the others as fit, are visible."""
        drawing = self.drawing
        if drawing is None:
            return
        boxes = [drawing.boxes[n] for n in nodes if n in drawing.boxes]
        if not boxes:
            return
        first = boxes[0]
        region = Region(first.x, first.y, first.w, first.h)
        viewport = self.scrollable_content_region.size
        for box in boxes[1:]:
            grown = region.union(Region(box.x, box.y, box.w, box.h))
            if grown.width <= viewport.width and grown.height <= viewport.height:
                region = grown
        self.scroll_to(
            _follow_axis(self.scroll_x, region.x, region.right, viewport.width),
            _follow_axis(self.scroll_y, region.y, region.bottom, viewport.height),
            animate=False,
            immediate=True,
        )

    # --- rendering ------------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._rendered = None

    def _style(self, name: str | None) -> Style:
        key = name or ""
        style = self._styles.get(key)
        if style is None:
            style = self.rich_style
            for token in key.split():
                component = _TOKEN_CLASSES.get(token)
                if component is not None:
                    style += self.get_component_rich_style(component, partial=True)
            self._styles[key] = style
        return style

    def _window(self) -> Rendered | None:
        drawing = self.drawing
        if drawing is None:
            return None
        x, y = round(self.scroll_x), round(self.scroll_y)
        width, height = self.scrollable_content_region.size
        key = (x, y, width, height, self._version, id(drawing))
        if self._rendered is None or self._rendered[0] != key:
            self._rendered = (key, drawing.window(x, y, width, height, self.view))
        return self._rendered[1]

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        rendered = self._window()
        if rendered is None:
            text = self.placeholder if y == 0 else ""
            return Strip([Segment(text.ljust(width)[:width], self._style("graph--idle"))], width)
        line = rendered.lines[y] if y < len(rendered.lines) else " " * width
        spans = rendered.spans[y] if y < len(rendered.spans) else []
        selected = self._selected_columns(y)
        if selected:
            styles: list[str | None] = [None] * len(line)
            for start, end, name in spans:
                styles[start:end] = [name] * (end - start)
            for x in selected:
                if 0 <= x < len(styles):
                    styles[x] = f"{styles[x] or ''} selected"
            spans = []
            at = 0
            while at < len(styles):
                end = at
                while end < len(styles) and styles[end] == styles[at]:
                    end += 1
                if styles[at] is not None:
                    spans.append((at, end, styles[at]))
                at = end
        segments: list[Segment] = []
        at = 0
        for start, end, name in spans:
            if start > at:
                segments.append(Segment(line[at:start], self._style(None)))
            segments.append(Segment(line[start:end], self._style(name)))
            at = end
        if at < len(line):
            segments.append(Segment(line[at:], self._style(None)))
        return Strip(segments, width)

    def _selected_columns(self, row: int) -> list[int]:
        """The columns of window row ``row`` on the selected box's border (it is outlined)."""
        drawing = self.drawing
        if drawing is None or self.selected is None or self.selected not in drawing.boxes:
            return []
        box = drawing.boxes[self.selected]
        x0, y = round(self.scroll_x), row + round(self.scroll_y)
        if not box.y <= y < box.y + box.h:
            return []
        if box.constant or y in (box.y, box.y + box.h - 1):
            return [x - x0 for x in range(box.x, box.x + box.w)]
        return [box.x - x0, box.x + box.w - 1 - x0]

    # --- input ----------------------------------------------------------------------------------

    def node_at_offset(self, x: int, y: int) -> int | None:
        """The node under widget-relative cell ``(x, y)``, if any."""
        if self.drawing is None:
            return None
        return self.drawing.node_at(x + round(self.scroll_x), y + round(self.scroll_y))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        node = self.node_at_offset(offset.x, offset.y)
        if node is not None:
            event.stop()
            self.post_message(self.NodeClicked(node))

    def pan(self, dx: int, dy: int) -> None:
        """Scroll by ``(dx, dy)`` cells."""
        self.scroll_to(self.scroll_x + dx, self.scroll_y + dy, animate=False, immediate=True)
