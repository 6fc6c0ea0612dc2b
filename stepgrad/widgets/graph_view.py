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

from collections.abc import Iterable
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


Window = tuple[int, int, int, int]
"""A rectangle of the drawing, ``(x0, y0, x1, y1)``: columns ``x0..x1 - 1``, rows ``y0..y1 - 1``."""

_CENTRE_SLACK = 2
"""How far (cells, each way) a centred node may move off the centre so that the view's edges
cut no box; beyond that the view leaves the boxes its edges would cut out."""


def _cuts(box: Box, x0: int, y0: int, x1: int, y1: int) -> bool:
    """Whether the window ``x0..x1`` x ``y0..y1`` shows part of ``box`` but not all of it."""
    right, bottom = box.x + box.w, box.y + box.h
    if box.x >= x1 or right <= x0 or box.y >= y1 or bottom <= y0:
        return False
    return box.x < x0 or right > x1 or box.y < y0 or bottom > y1


def _uncut_position(
    boxes: Iterable[Box], at: tuple[int, int], size: tuple[int, int], xs: range, ys: range
) -> tuple[int, int] | None:
    """The position in ``xs`` x ``ys`` nearest ``at`` (in steps along both axes) at which a
    window of ``size`` cuts no box: every box it touches it shows whole. None if there is none.

    For each candidate top row, the columns at which the window would cut a box it reaches
    are marked off (a box the rows show whole may be whole inside or wholly outside; one the
    rows cut must be wholly outside), and the nearest unmarked column is taken."""
    (x, y), (w, h) = at, size
    reach = [
        box
        for box in boxes
        if box.x < xs.stop - 1 + w
        and box.x + box.w > xs.start
        and box.y < ys.stop - 1 + h
        and box.y + box.h > ys.start
    ]
    if x in xs and y in ys and not any(_cuts(box, x, y, x + w, y + h) for box in reach):
        return (x, y)
    best: tuple[int, int, int] | None = None
    for top in sorted(ys, key=lambda row: (abs(row - y), row)):
        if best is not None and abs(top - y) >= best[0]:
            break
        bottom = top + h
        cut: list[tuple[int, int]] = []  # runs of columns (inclusive) that cut a box
        for box in reach:
            if box.y >= bottom or box.y + box.h <= top:
                continue
            right = box.x + box.w
            meets_first, meets_last = box.x - w + 1, right - 1  # windows that reach the box
            whole_first, whole_last = right - w, box.x  # windows that show it whole
            if top <= box.y and box.y + box.h <= bottom and whole_first <= whole_last:
                cut += [(meets_first, whole_first - 1), (whole_last + 1, meets_last)]
            else:
                cut.append((meets_first, meets_last))
        marks = [0] * (len(xs) + 1)  # a difference array over xs
        for first, last in cut:
            first, last = max(first, xs.start), min(last, xs.stop - 1)
            if first <= last:
                marks[first - xs.start] += 1
                marks[last + 1 - xs.start] -= 1
        free: list[int] = []
        count = 0
        for i in range(len(xs)):
            count += marks[i]
            if count == 0:
                free.append(xs.start + i)
        if free:
            left = min(free, key=lambda column: (abs(column - x), column))
            cost = abs(top - y) + abs(left - x)
            if best is None or cost < best[0]:
                best = (cost, left, top)
    return None if best is None else (best[1], best[2])


def _tiny_text(box: Box) -> Box:
    """The part of a tiny (one-line) box that shows text: its first two rows (the name, and
    the op form or the note under it), less the blank column before its wire (none on a sink)."""
    return box._replace(w=box.w - 1 if box.out_ports else box.w, h=min(box.h, 2))


def _free(spans: list[tuple[int, int]], at: int, stop: int) -> int | None:
    """The first line from ``at`` toward ``stop`` (either way, both included) that passes
    through none of ``spans`` (``start, end``: a line ``start < x < end`` cuts the span)."""
    low, high = min(at, stop), max(at, stop)
    cut = [False] * (high - low + 1)
    for start, end in spans:
        for line in range(max(start + 1, low), min(end, high + 1)):
            cut[line - low] = True
    step = 1 if stop >= at else -1
    for line in range(at, stop + step, step):
        if not cut[line - low]:
            return line
    return None


def _some(positions: range, most: int = 9) -> list[int]:
    """At most ``most`` of ``positions``, evenly spread, both ends included."""
    if len(positions) <= most:
        return list(positions)
    return [positions[round(i * (len(positions) - 1) / (most - 1))] for i in range(most)]


def _leave_out_cut_boxes(
    boxes: Iterable[Box], window: Window, keep: list[Box], hold: Window
) -> tuple[Window, list[Box]]:
    """``window`` with its edges moved in to lines between boxes, so that the boxes they would
    cut are left out whole, but no further than keeps the boxes of ``keep`` and the rectangle
    ``hold`` in view (as far as they are); and the boxes its edges cut all the same (an edge
    with no such line stays where it was).

    The left and right edges go to lines that cut no box in the window's rows, the top and
    bottom ones to lines that cut no box in its columns; each move narrows what the others
    must miss, so both orders are tried, and the one that cuts fewer boxes (then leaves out
    fewer cells) is taken."""
    x0, y0, x1, y1 = window
    reach = [
        box
        for box in boxes
        if box.x < x1 and box.x + box.w > x0 and box.y < y1 and box.y + box.h > y0
    ]
    kept = [  # the part in view of each rectangle to keep
        (max(a0, x0), max(b0, y0), min(a1, x1), min(b1, y1))
        for a0, b0, a1, b1 in [*((b.x, b.y, b.x + b.w, b.y + b.h) for b in keep), hold]
        if a0 < x1 and a1 > x0 and b0 < y1 and b1 > y0
    ]
    left, top = min((k[0] for k in kept), default=x1), min((k[1] for k in kept), default=y1)
    right = max((k[2] for k in kept), default=x0)
    bottom = max((k[3] for k in kept), default=y0)

    def snap(rect: Window, axis: int) -> Window:
        a0, b0, a1, b1 = rect
        if axis == 0:
            spans = [(b.x, b.x + b.w) for b in reach if b.y < b1 and b.y + b.h > b0]
            first, last = _free(spans, a0, left), _free(spans, a1, right)
            return (a0 if first is None else first, b0, a1 if last is None else last, b1)
        spans = [(b.y, b.y + b.h) for b in reach if b.x < a1 and b.x + b.w > a0]
        first, last = _free(spans, b0, top), _free(spans, b1, bottom)
        return (a0, b0 if first is None else first, a1, b1 if last is None else last)

    best: tuple[int, int, Window, list[Box]] | None = None
    for order in ((0, 1), (1, 0)):
        rect = window
        for _ in range(4):
            before = rect
            for axis in order:
                rect = snap(rect, axis)
            if rect == before:
                break
        cut = [box for box in reach if _cuts(box, *rect)]
        score = (len(cut), -(rect[2] - rect[0]) * (rect[3] - rect[1]))
        if best is None or score < best[:2]:
            best = (*score, rect, cut)
    assert best is not None
    return best[2], best[3]


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
        self._frame: tuple[int, Rendered | None] | None = None  # while a frame is drawn
        self._version = 0
        self._state: object = ("version", 0)
        self._windows: dict[tuple[object, ...], Rendered] = {}
        self._clip: Window | None = None
        """The part of the window that is drawn (drawing cells), when the view was placed so as
        to leave out boxes its edges would cut; None: all of it (after a pan by the user)."""
        self._left_out: frozenset[int] = frozenset()
        """Boxes that the view's edges cut all the same (see :func:`_leave_out_cut_boxes`):
        left blank, whole."""
        self._placed: tuple[bool, list[int]] | None = None
        """The last placement the view made itself (centred?, nodes): made again on a resize."""

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
            if not follow:  # the old drawing's placement, made again for this one
                self._clip, self._left_out = None, frozenset()
                if self._placed is not None:
                    self._place(*self._placed)
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
        if new is None or self._rendered is None or self._rendered[0][:5] != old[0][:5]:
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
        (see :meth:`_follow_target`), and no box is cut by the view's edges."""
        self._place(False, nodes)

    def centre(self, node: int) -> None:
        """Scroll so that ``node``'s box is in the middle of the view, as far as the drawing's
        edges allow, and no box is cut by the view's edges."""
        self._place(True, [node])

    def _place(self, centred: bool, nodes: list[int]) -> None:
        placement = self._placement(centred, nodes)
        if placement is None:
            return
        self._placed = (centred, list(nodes))
        x, y, clip, left_out = placement
        self.scroll_to(
            x,
            y,
            animate=False,
            immediate=True,
            force=True,  # no scrollbars (overflow hidden), but the view does scroll
        )
        if (clip, left_out) != (self._clip, self._left_out):
            self._clip, self._left_out = clip, left_out
            self.refresh()
            self.post_message(self.Scrolled())

    def on_resize(self, event: events.Resize) -> None:
        """The view's own placement is made again for its new size (a pan by the user is
        left as it is)."""
        if self._placed is not None:
            self._place(*self._placed)

    def _placement(
        self, centred: bool, nodes: list[int]
    ) -> tuple[int, int, Window | None, frozenset[int]] | None:
        """Where :meth:`follow` (or :meth:`centre`) would scroll to, the part of the window to
        draw (None: all of it) and the boxes to leave blank, without scrolling.

        The position is the one :meth:`_follow_target` picks (or the one that centres the
        node), moved as little as keeps the nodes in view (a centred node: a cell or two) to
        where the view's edges cut no box. Where there is no such position, the edges move
        in past the boxes they would cut: those boxes are left out, whole; and a box that no
        such move can leave out (it lies between two boxes kept in view) is left blank."""
        drawing = self.drawing
        if drawing is None:
            return None
        viewport = self.scrollable_content_region.size
        width, height = viewport
        max_x, max_y = self.max_scroll_x, self.max_scroll_y
        if centred:
            box = drawing.boxes.get(nodes[0]) if nodes else None
            if box is None:
                return None
            ideal = (box.x + (box.w - width) // 2, box.y + (box.h - height) // 2)
            at = (max(0, min(ideal[0], max_x)), max(0, min(ideal[1], max_y)))
            keep = [box]
            hold = (box.x, box.y, box.x + box.w, box.y + box.h)
            # a view the drawing's edge stops stays there: a step away is a step off centre
            xs, ys = (
                range(max(0, c - _CENTRE_SLACK), min(c + _CENTRE_SLACK, top) + 1)
                if c == clamped
                else range(clamped, clamped + 1)
                for c, clamped, top in zip(ideal, at, (max_x, max_y), strict=True)
            )
        else:
            target = self._follow_target(nodes)
            if target is None:
                return None
            x, y, hold, keep = target
            at = (x, y)
            xs, ys = (
                range(max(0, min(end - size, c)), max(c, min(start, top)) + 1)
                for c, start, end, size, top in (
                    (x, hold[0], hold[2], width, max_x),
                    (y, hold[1], hold[3], height, max_y),
                )
            )
        if width <= 0 or height <= 0:
            return (*at, None, frozenset())
        from stepgrad.layout import METRICS  # loaded with the drawing already

        boxes: Iterable[Box] = drawing.boxes.values()
        if not METRICS[drawing.layout.mode].border:
            # one-line boxes: the edges keep whole the text that names one (its line and the
            # op form under it; a name cut at an edge is marked … and tells nothing), but a
            # neuron's bracket below runs on past them, as wires do (a collapsed neuron's
            # bracket is taller than a small view: leaving out every box the edges cross
            # would empty most of it), and so may the blank column before a box's wire
            right, bottom = xs.stop - 1 + width, ys.stop - 1 + height  # what any window reaches
            boxes = [
                _tiny_text(box)
                for box in boxes
                if box.x < right
                and box.x + box.w > xs.start
                and box.y < bottom
                and box.y + box.h > ys.start
            ]
            keep = [_tiny_text(box) for box in keep]
        found = _uncut_position(boxes, at, (width, height), xs, ys)
        if found is not None:
            return (*found, None, frozenset())
        # no position cuts nothing: the one, of a few near, where leaving out whole the
        # boxes the edges would cut leaves out fewest (the first: where it would have been)
        best: tuple[tuple[int, int, int], int, int, Window | None, list[Box]] | None = None
        candidates = dict.fromkeys(
            [at, *((at[0], row) for row in _some(ys)), *((column, at[1]) for column in _some(xs))]
        )
        for x, y in candidates:
            window = (x, y, x + width, y + height)
            clip, cut = _leave_out_cut_boxes(boxes, window, keep, hold)
            left = sum(1 for box in cut if box not in keep)
            area = (clip[2] - clip[0]) * (clip[3] - clip[1])
            score = (left, -area, abs(x - at[0]) + abs(y - at[1]))
            if best is None or score < best[0]:
                best = (score, x, y, None if clip == window else clip, cut)
            if left == 0 and clip == window:
                break
        assert best is not None
        _, x, y, shown, cut = best
        return (x, y, shown, frozenset(box.node for box in cut if box not in keep))

    def _follow_target(self, nodes: list[int]) -> tuple[int, int, Window, list[Box]] | None:
        """Where :meth:`follow` would scroll to, before it avoids cutting boxes; the rectangle
        it keeps in view; and the boxes it shows whole in it.

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
        if first.h > viewport.height and len(boxes) > 1:
            # a box taller than the view (a collapsed sum's column, its inputs beside it): the
            # part of it beside the others, so that the values it sends to come into view (its
            # top, with the member firing, is on the step's title line too)
            low = min(box.y for box in boxes[1:])
            top = max(first.y, min(low, first.y + first.h - viewport.height))
            region = Region(first.x, top, first.w, viewport.height)
        apart: list[Box] = []
        whole = [first]
        for box in boxes[1:]:
            grown = region.union(Region(box.x, box.y, box.w, box.h))
            if grown.width <= viewport.width and grown.height <= viewport.height:
                region = grown
                whole.append(box)
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
        at = (round(min(x, self.max_scroll_x)), round(min(y, self.max_scroll_y)))
        return (*at, (x0, y0, x1, y1), whole)

    def prefetch(self, view: View, follow: list[int], state: object) -> None:
        """Draw ahead the window that showing ``view`` (named ``state``) would need, and its
        rows' strips, so that the step the user most likely takes next costs less."""
        drawing = self.drawing
        if drawing is None or self.selected is not None or not self.is_mounted:
            return
        placement = self._placement(False, follow) if follow else None
        if placement is None:
            x, y = round(self.scroll_x), round(self.scroll_y)
            clip, left_out = self._clip, self._left_out
        else:
            x, y, clip, left_out = placement
        key = self._key(x, y, clip, left_out, state)
        if key in self._windows:
            return
        width = self.scrollable_content_region.width
        rendered = self._draw(x, y, clip, left_out, view)
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

    def shown(self) -> Window:
        """The rectangle of the drawing the view shows now (drawing cells): its window, less
        what is left out so that no box is cut (see :meth:`follow`)."""
        x, y = round(self.scroll_x), round(self.scroll_y)
        width, height = self.scrollable_content_region.size
        return self._shown(x, y, width, height, self._clip)

    @staticmethod
    def _shown(x: int, y: int, width: int, height: int, clip: Window | None) -> Window:
        if clip is None:
            return (x, y, x + width, y + height)
        x0, y0 = max(x, clip[0]), max(y, clip[1])
        return (x0, y0, max(x0, min(x + width, clip[2])), max(y0, min(y + height, clip[3])))

    def _key(
        self, x: int, y: int, clip: Window | None, left_out: frozenset[int], state: object
    ) -> tuple[object, ...]:
        """What a window's rendering depends on (its first five items: what it shows)."""
        width, height = self.scrollable_content_region.size
        shown = self._shown(x, y, width, height, clip)
        return (x, y, width, height, (shown, left_out), state, id(self.drawing))

    def _draw(
        self, x: int, y: int, clip: Window | None, left_out: frozenset[int], view: View | None
    ) -> Rendered:
        """The window at ``(x, y)``, drawn: only its part in ``clip``, if given, and without
        the boxes ``left_out``."""
        drawing = self.drawing
        assert drawing is not None
        width, height = self.scrollable_content_region.size
        x0, y0, x1, y1 = self._shown(x, y, width, height, clip)
        if (x0, y0, x1, y1) == (x, y, x + width, y + height):
            rendered = drawing.view_window(x, y, width, height, view)
        else:
            part = drawing.view_window(x0, y0, x1 - x0, y1 - y0, view)
            rendered = part.placed(x0 - x, y0 - y, width, height)
        if left_out:
            boxes = [drawing.boxes[n] for n in left_out if n in drawing.boxes]
            rendered = rendered.blanked([(b.x - x, b.y - y, b.w, b.h) for b in boxes])
        return rendered

    def _window(self) -> Rendered | None:
        if self.drawing is None:
            return None
        x, y = round(self.scroll_x), round(self.scroll_y)
        key = self._key(x, y, self._clip, self._left_out, self._state)
        if self._rendered is None or self._rendered[0] != key:
            rendered = self._windows.get(key)
            if rendered is None:
                rendered = self._draw(x, y, self._clip, self._left_out, self.view)
                self._remember(key, rendered)
            self._rendered = (key, rendered)
        return self._rendered[1]

    def render_lines(self, crop: Region) -> list[Strip]:
        # the width and the window are the same for every line of a frame: worked out once
        # (each asks the DOM for the scrollbars' sizes)
        self._frame = (self.scrollable_content_region.width, self._window())
        try:
            return super().render_lines(crop)
        finally:
            self._frame = None

    def render_line(self, y: int) -> Strip:
        width, rendered = self._frame or (self.scrollable_content_region.width, self._window())
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
        x0, y0, x1, y1 = self.shown()
        sides = [
            ("◀", x0 > 0),
            ("▲", y0 > 0),
            ("▼", y1 < drawing.height),
            ("▶", x1 < drawing.width),
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
        left, top, right, bottom = self.shown()
        if not box.y <= y < box.y + box.h or not top <= y < bottom:
            return []
        if box.x >= right or box.x + box.w <= left or self.selected in self._left_out:
            return []  # left out of the view
        if box.constant or y in (box.y, box.y + box.h - 1):
            return [x - x0 for x in range(box.x, box.x + box.w)]
        return [box.x - x0, box.x + box.w - 1 - x0]

    # --- input ----------------------------------------------------------------------------------

    def node_at_offset(self, x: int, y: int) -> int | None:
        """The node under widget-relative cell ``(x, y)``, if any."""
        if self.drawing is None:
            return None
        x, y = x + round(self.scroll_x), y + round(self.scroll_y)
        x0, y0, x1, y1 = self.shown()
        if not (x0 <= x < x1 and y0 <= y < y1):
            return None  # a cell left blank
        node = self.drawing.node_at(x, y)
        return None if node in self._left_out else node

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
        """Scroll by ``(dx, dy)`` cells: the user's choice, so the whole window is drawn, cut
        boxes and all, and a resize leaves it where it is."""
        self._placed = None
        if self._clip is not None or self._left_out:
            self._clip, self._left_out = None, frozenset()
            self.refresh()
        x = max(0.0, min(self.scroll_x + dx, self.max_scroll_x))
        y = max(0.0, min(self.scroll_y + dy, self.max_scroll_y))
        self.scroll_to(x, y, animate=False, immediate=True, force=True)
