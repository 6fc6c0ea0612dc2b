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

from .contrast import readable

if TYPE_CHECKING:
    from stepgrad.draw import Drawing, Rendered, View
    from stepgrad.layout import Box

_WIDE_FILL = "\u200b"
"""``stepgrad.layout._WIDE_FILL``, the drawing grid's column after a wide character (not imported
from there: that module brings networkx, which the first frame does without)."""

__all__ = ["GraphView"]

_TOKEN_CLASSES = {
    "node.current": "graph--active",
    "edge.active": "graph--active",
    "node.done": "graph--done",
    "edge.done": "graph--done",
    "node.waiting": "graph--muted",
    "node.partial": "graph--muted",
    "edge.hidden": "graph--muted",
    "constant": "graph--muted",
    "node.idle": "graph--idle",
    "edge.idle": "graph--edge-idle",
    "node.dead": "graph--dead",
    "edge.dead": "graph--dead",
    "label": "graph--bold",
    "grad": "graph--bold",
    "mark": "graph--mark",
    "selected": "graph--mark",
}
"""The drawing's style tokens and the component class (``stepgrad.tcss``) that styles each.
Tokens that look alike share a class: Textual styles every component class of a widget each
time the widget is styled (twice before the first frame), so each one costs the start."""


def _follow_axis(
    at: float, start: int, end: int, size: int, margin: int = 2, toward: int | None = None
) -> float:
    """A scroll position that shows ``start..end`` (with a margin if it fits): ``at`` if it
    already does, else one that centres it, so the next few steps nearby need no scroll (a
    view that jumps once is easier to follow than one that creeps every step). ``toward``: a
    position that cannot be shown with it (a node receiving a grad, too far away): the view
    then goes as far toward it as still shows ``start..end``, so the edge that leads there is
    in view, and the rest of the way is the shortest pan."""
    for pad in (margin, 0):
        low, high = end + pad - size, start - pad  # the range of positions that show it
        if low <= high:
            if low <= at <= high:
                return max(0.0, at)
            if toward is not None:
                return max(0.0, float(low if toward < start else high))
            return max(0.0, float((low + high) // 2))
    return max(0.0, start)


class GraphView(ScrollView, can_focus=False):
    """The computation graph: a window onto a :class:`stepgrad.draw.Drawing`."""

    COMPONENT_CLASSES: ClassVar[set[str]] = set(_TOKEN_CLASSES.values())

    class Scrolled(Message):
        """The view moved (a pan, the mouse wheel, following a step): what lies beyond it may
        have changed (see :meth:`GraphView.more`)."""

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
        self._strips: dict[tuple[object, ...], Strip] = {}
        self._version = 0
        self._state: object = ("version", 0)
        self._windows: dict[tuple[object, ...], Rendered] = {}

    # --- attributes down ------------------------------------------------------------------------

    def show(
        self,
        drawing: Drawing | None,
        view: View | None,
        selected: int | None,
        follow: list[int] | None = None,
        state: object = None,
    ) -> None:
        """Show ``drawing`` styled by ``view``, with ``selected`` (a node key) marked, scrolled
        to show the boxes ``follow`` (see :meth:`follow`).

        ``state`` names what ``view`` shows (the same state always gives the same view), so a
        window drawn ahead by :meth:`prefetch` can be used; None means "new, draw it".
        A new view of the same drawing that needs no scroll repaints only the window rows whose
        text or styles changed (a step touches a few boxes and edges), not the whole graph.
        """
        same = drawing is self.drawing and selected == self.selected
        if drawing is not self.drawing:
            self.drawing = drawing
            size = Size(drawing.width + 1, drawing.height) if drawing else Size(0, 0)
            self.virtual_size = size
            self._windows.clear()
        old = self._rendered
        self.view = view
        self.selected = selected
        self._version += 1
        self._state = ("version", self._version) if state is None else state
        if follow:
            self.follow(follow)
        if not same or old is None or not self.is_mounted:
            self.refresh()
            return
        new = self._window()
        if new is None or self._rendered is None or self._rendered[0][:4] != old[0][:4]:
            self.refresh()
            return
        before = old[1]
        width = self.size.width
        changed = [
            y
            for y, line in enumerate(new.lines)
            if y >= len(before.lines) or line != before.lines[y] or new.spans[y] != before.spans[y]
        ]
        at = 0
        while at < len(changed):  # one region per run of consecutive rows
            end = at
            while end + 1 < len(changed) and changed[end + 1] == changed[end] + 1:
                end += 1
            self.refresh(Region(0, changed[at], width, changed[end] - changed[at] + 1))
            at = end + 1

    def follow(self, nodes: list[int]) -> None:
        """Scroll so that the first node's box, and as many of the others as fit, are visible
        (see :meth:`_follow_target`)."""
        target = self._follow_target(nodes)
        if target is not None:
            self.scroll_to(
                *target,
                animate=False,
                immediate=True,
                force=True,  # no scrollbars (overflow hidden), but the view does scroll
            )

    def _follow_target(self, nodes: list[int]) -> tuple[int, int] | None:
        """Where :meth:`follow` would scroll to, without scrolling.

        The first node (the one firing, or the selection) is always shown; then every other
        node whose box fits in view with it and those before. A node that does not fit still
        counts on each axis on its own: its columns (or rows) are shown if they fit with the
        others', and otherwise the view leans toward it on that axis (see
        :func:`_follow_axis`)."""
        drawing = self.drawing
        if drawing is None:
            return None
        boxes = [drawing.boxes[n] for n in nodes if n in drawing.boxes]
        if not boxes:
            return None
        first = boxes[0]
        region = Region(first.x, first.y, first.w, first.h)
        viewport = self.scrollable_content_region.size
        apart: list[Box] = []
        for box in boxes[1:]:
            grown = region.union(Region(box.x, box.y, box.w, box.h))
            if grown.width <= viewport.width and grown.height <= viewport.height:
                region = grown
            else:
                apart.append(box)
        spans = [[region.x, region.right], [region.y, region.bottom]]
        toward: list[int | None] = [None, None]
        for box in apart:
            for axis, (start, length, size) in enumerate(
                ((box.x, box.w, viewport.width), (box.y, box.h, viewport.height))
            ):
                span = spans[axis]
                low, high = min(span[0], start), max(span[1], start + length)
                if high - low <= size:
                    span[:] = [low, high]
                elif toward[axis] is None:
                    toward[axis] = start
        (x0, x1), (y0, y1) = spans
        x = _follow_axis(self.scroll_x, x0, x1, viewport.width, toward=toward[0])
        y = _follow_axis(self.scroll_y, y0, y1, viewport.height, toward=toward[1])
        return (round(min(x, self.max_scroll_x)), round(min(y, self.max_scroll_y)))

    def prefetch(self, view: View, follow: list[int], state: object) -> None:
        """Draw ahead the window that showing ``view`` (named ``state``) would need, and its
        rows' strips, so that the step the user most likely takes next costs less."""
        drawing = self.drawing
        if drawing is None or self.selected is not None or not self.is_mounted:
            return
        target = self._follow_target(follow) if follow else None
        x, y = target if target is not None else (round(self.scroll_x), round(self.scroll_y))
        width, height = self.scrollable_content_region.size
        key = (x, y, width, height, state, id(drawing))
        if key in self._windows:
            return
        rendered = drawing.view_window(x, y, width, height, view)
        self._remember(key, rendered)
        for line, spans in zip(rendered.lines, rendered.spans, strict=False):
            strip_key = (line, tuple(spans), (), width)
            if strip_key not in self._strips:
                self._strips[strip_key] = self._strip(line, spans, [], width)

    def _remember(self, key: tuple[object, ...], rendered: Rendered) -> None:
        if len(self._windows) >= 8:
            self._windows.pop(next(iter(self._windows)))
        self._windows[key] = rendered

    # --- rendering ------------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._strips.clear()
        self._windows.clear()
        self._rendered = None

    def _style(self, name: str | None) -> Style:
        key = name or ""
        style = self._styles.get(key)
        if style is None:
            style = self.rich_style
            for token in key.split():
                component = _TOKEN_CLASSES.get(token)
                if component is not None:
                    style += self._component_style(component)
            self._styles[key] = style
        return style

    def _component_style(self, component: str) -> Style:
        """A component class's style, its colour worked out against the view's background:
        Textual leaves an ``auto`` colour (``$text-muted`` is ``auto 60%``) and a colour's
        transparency to be resolved at render time, and a rich style made from them alone
        drew waiting boxes white, on white in every light theme."""
        style = self.get_component_rich_style(component, partial=True)
        styles = self.get_component_styles(component)
        if styles.has_rule("color"):
            background = self.background_colors[1]
            color = styles.color
            if styles.auto_color:
                color = background.get_contrast_text(color.a)
            if color.a < 1:
                color = background + color
            style += Style(color=readable(color, background).rich_color)
        return style

    def _window(self) -> Rendered | None:
        drawing = self.drawing
        if drawing is None:
            return None
        x, y = round(self.scroll_x), round(self.scroll_y)
        width, height = self.scrollable_content_region.size
        key = (x, y, width, height, self._state, id(drawing))
        if self._rendered is None or self._rendered[0] != key:
            rendered = self._windows.get(key)
            if rendered is None:
                rendered = drawing.view_window(x, y, width, height, self.view)
                self._remember(key, rendered)
            self._rendered = (key, rendered)
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
        # a scroll or a step leaves most rows as they were: reuse their strips
        key = (line, tuple(spans), tuple(selected), width)
        strip = self._strips.get(key)
        if strip is None:
            strip = self._strip(line, spans, selected, width)
            if len(self._strips) > 4096:
                self._strips.clear()
            self._strips[key] = strip
        return strip

    def watch_scroll_x(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_x(old_value, new_value)
        if round(old_value) != round(new_value):
            self.post_message(self.Scrolled())

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if round(old_value) != round(new_value):
            self.post_message(self.Scrolled())

    def more(self) -> str:
        """``◀ ▲ ▼ ▶`` for the sides where the drawing goes on beyond the view, ``""`` when all
        of it is in view (the line under the graph says so)."""
        drawing = self.drawing
        if drawing is None:
            return ""
        x, y = round(self.scroll_x), round(self.scroll_y)
        width, height = self.scrollable_content_region.size
        sides = [
            ("◀", x > 0),
            ("▲", y > 0),
            ("▼", y + height < drawing.height),
            ("▶", x + width < drawing.width),
        ]
        return " ".join(arrow for arrow, beyond in sides if beyond)

    def _strip(
        self, line: str, spans: list[tuple[int, int, str]], selected: list[int], width: int
    ) -> Strip:
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
        if _WIDE_FILL in line:  # the grid's fill after a wide character: not for the terminal
            segments = [Segment(t.replace(_WIDE_FILL, ""), style) for t, style, _ in segments]
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

    def _on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        self.pan(*((6, 0) if event.shift else (0, 3)))

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self.pan(*((-6, 0) if event.shift else (0, -3)))

    def _on_mouse_scroll_right(self, event: events.MouseScrollRight) -> None:
        event.stop()
        self.pan(6, 0)

    def _on_mouse_scroll_left(self, event: events.MouseScrollLeft) -> None:
        event.stop()
        self.pan(-6, 0)

    def pan(self, dx: int, dy: int) -> None:
        """Scroll by ``(dx, dy)`` cells."""
        x = max(0.0, min(self.scroll_x + dx, self.max_scroll_x))
        y = max(0.0, min(self.scroll_y + dy, self.max_scroll_y))
        self.scroll_to(x, y, animate=False, immediate=True, force=True)
