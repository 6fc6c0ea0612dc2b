"""The values table (every named value with data and grad) and the node inspector.

Both render from the :class:`~stepgrad.state.Walkthrough` the screen pushes down. What changed
in this step is marked with text (``◀ fired``, ``+= 0.125``) and weight, never by colour alone.
"""

from __future__ import annotations

from typing import NamedTuple

from rich.cells import cell_len, set_cell_size
from rich.style import Style
from textual.color import Color
from textual.content import Content
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.style import Style as VisualStyle
from textual.widget import Widget

from engine import OPS, Value
from engine.numbers import format_number
from stepgrad.explain import called, partial
from stepgrad.lesson.bugs import wrong
from stepgrad.state import Walkthrough

from .contrast import legible
from .lines import content_key
from .step_panel import NOT_COMPUTED, node_status

__all__ = ["Inspector", "ValuesTable", "named_values"]

NAME_WIDTH = 12


def named_values(walk: Walkthrough) -> list[tuple[str, Value]]:
    """Every named value: the inputs, then the named intermediates, then the output."""
    program = walk.program
    seen: set[Value] = set()
    out: list[tuple[str, Value]] = []
    named = [*program.inputs.values(), *(b.node for b in program.bindings)]
    for value in named:
        if value not in seen:
            seen.add(value)
            out.append((program.title(value), value))
    if program.output not in seen:
        out.append((program.name(program.output), program.output))
    return out


class _Frame(NamedTuple):
    """What the lines of one frame of the values table share."""

    width: int
    pins: tuple[list[int], int]
    top: int
    visual_style: VisualStyle
    background: Color
    rich_style: Style


def grad_text(walk: Walkthrough, node: Value) -> str:
    grad = walk.grad(node)
    if not node.requires_grad and node is not walk.trace.root:
        return "·"
    return NOT_COMPUTED if grad is None else format_number(grad)


class ValuesTable(ScrollView, can_focus=False):
    """One line per named value: ``name  data  grad  what happened now``.

    What happened now (``◀ fired``, ``+= 0.125``, a bug mode's ``✗ correct 2``) stands beside
    the grad when it fits there, else whole on the lines under the row (a number a learner
    must read is never cut). The rows that change now (the node firing, the values it sends
    to) stay in view: when the pane changes size, they are brought back into view, and those
    that do not fit the window are pinned at its bottom, under "also receiving now".

    A line-API widget: only the visible lines are rendered, so a step on a graph with many
    names costs no more than on a small one.
    """

    DEFAULT_CSS = """
    ValuesTable { height: 1fr; overflow-x: hidden; scrollbar-size-vertical: 1; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.walk: Walkthrough | None = None
        self.selected: Value | None = None
        self._rows: list[tuple[str, Value]] = []
        self._index: dict[Value, int] = {}  # a value's row, from 1
        self._program: object = None
        self._widths = (4, 4, 4)
        self._received: dict[Value, list[str]] = {}
        self._fired: Value | None = None
        self._wrong: dict[Value, float] = {}  # a bug mode: grads that differ, and the correct
        self._under: dict[int, list[tuple[int, str]]] = {}  # row: marker lines (indent, text)
        self._extra: list[tuple[int, int]] = []  # (row, lines under it), in row order
        self._shown: dict[int, tuple[object, ...]] = {}  # the line last drawn at each line
        self._strips: dict[tuple[object, ...], Strip] = {}  # drawn lines, by content
        self._frame: _Frame | None = None  # while a frame is drawn: see render_lines
        self._widths_for: tuple[object, tuple[int, int, int]] = (None, (4, 4, 4))
        self._pinned: list[tuple[int, int]] = []  # (first line, lines) receiving now, not in view
        self._follow: list[Value] = []  # the values whose rows are kept in view
        self.hidden: frozenset[Value] = frozenset()
        """Values not computed yet (forward mode): their data shows ``—``."""

    def update_from(self, walk: Walkthrough, selected: Value | None) -> None:
        if walk.program is not self._program:
            self._program = walk.program
            self._rows = named_values(walk)
            self._index = {value: row for row, (_, value) in enumerate(self._rows, 1)}
            self._pinned = []
            self._shown.clear()
        self.walk = walk
        self.selected = selected
        step = walk.current
        self._fired = step.node if step is not None else None
        self._received = {}
        self._wrong = wrong(walk)
        if step is not None:
            for edge in step.edges:
                self._received.setdefault(edge.parent, []).append(format_number(edge.contribution))
        widths = self._column_widths(walk)
        resized = widths != self._widths
        self._widths = widths
        moved = self._lay_out()
        if resized or moved or not self._shown:
            self._shown.clear()
            self.refresh()
            return
        # a step changes a few rows (the node that fired, the ones it sent to): repaint those
        top = round(self.scroll_y)
        for y in range(top, top + self.scrollable_content_region.height):
            shown = self._shown.get(y)
            if shown is None or shown != content_key(self.line(y)):
                self.refresh_line(y)

    def on_resize(self) -> None:
        """The pane changed size (the graph above grew, the side pane was shown again): the
        markers are fitted to the new width, and the rows that change now come back into
        view (they were placed for the old size)."""
        if self.walk is None:
            return
        self._lay_out()
        self._shown.clear()
        self.show_rows(self._follow)
        self.refresh()

    def _column_widths(self, walk: Walkthrough) -> tuple[int, int, int]:
        """Name, data and grad widths, fixed for a whole pass: the grad column fits every grad
        the pass can show, so stepping never shifts the columns (nor costs a scan of them)."""
        key = (walk.program, walk.pass_, walk.cleared)
        if self._widths_for[0] == key:
            return self._widths_for[1]
        # in terminal columns: a CJK character takes two
        name_w = min(NAME_WIDTH, max((cell_len(name) for name, _ in self._rows), default=4))
        data_w = max([4, *(len(format_number(v.data)) for _, v in self._rows)])
        named = {value for _, value in self._rows}
        grads: set[float] = {0.0, 1.0}
        grads.update(g for v, g in walk.pass_.base.items() if v in named)
        if not walk.cleared:
            root = walk.trace.root
            grads.add(walk.pass_.base.get(root, 0.0) + walk.trace.grads.get(root, 1.0))
            for step in walk.trace.steps:
                grads.update(e.grad_after for e in step.edges if e.parent in named)
        grad_w = max(4, *(len(format_number(g)) for g in grads))
        widths = (max(4, name_w), data_w, grad_w)
        self._widths_for = (key, widths)
        return widths

    # --- what happened now, and where it is shown -------------------------------------------

    def _marker(self, value: Value) -> tuple[str, str] | None:
        """What happened to ``value`` now, and its style: ``◀ fired``, ``+= 0.5 += 0.25``, or
        in a bug mode ``✗ correct 2`` beside a grad that differs from the correct pass's."""
        if value in self._wrong:
            return (f"✗ correct {format_number(self._wrong[value])}", "bold $text-error")
        if value is self._fired:
            return ("◀ fired", "bold $warning")
        parts = self._received.get(value)
        if parts:
            return ("+= " + " += ".join(parts), "bold $warning")
        return None

    def _layout_width(self) -> int:
        """The columns the lines are fitted to: the pane's, less its scrollbar's (whether it
        shows or not, so a scrollbar that comes and goes never moves a marker)."""
        return max(0, self.size.width - self.styles.scrollbar_size_vertical)

    def _lines_under(self, value: Value, width: int) -> list[tuple[int, str]]:
        """``value``'s marker as lines under its row, (indent, text), or [] if it fits beside
        the grad: under the data column (``grad += 0.247805``), else further left, else one
        contribution a line."""
        marker = self._marker(value)
        if marker is None:
            return []
        text = marker[0]
        name_w, data_w, grad_w = self._widths
        if name_w + data_w + grad_w + 4 + 1 + cell_len(text) <= width:
            return []
        if text.startswith("+="):  # away from the grad it adds to: say so
            text = f"grad {text}"
        for indent in (name_w + 2, 2):
            if indent + cell_len(text) <= width:
                return [(indent, text)]
        pieces = [f"+= {part}" for part in self._received.get(value, [])]
        if value in self._wrong or value is self._fired or not pieces:
            pieces = [text]
        return [(min(2, max(0, width - cell_len(piece))), piece) for piece in pieces]

    def _lay_out(self) -> bool:
        """Work out which markers go under their rows at the pane's width; True if that moved
        any line (then the whole table is drawn again)."""
        width = self._layout_width()
        under: dict[int, list[tuple[int, str]]] = {}
        if width > 0:
            marked = {*self._wrong, *self._received}
            if self._fired is not None:
                marked.add(self._fired)
            for value in marked:
                row = self._index.get(value)
                if row is not None:
                    lines = self._lines_under(value, width)
                    if lines:
                        under[row] = lines
        extra = sorted((row, len(lines)) for row, lines in under.items())
        moved = extra != self._extra
        self._under, self._extra = under, extra
        self._size_to_lines()
        return moved

    def _size_to_lines(self) -> None:
        """The scrollable height: every line, and room to scroll the last ones above the
        lines pinned at the bottom."""
        pinned = sum(lines for _, lines in self._pinned)
        height = self.line_count + (pinned + 1 if pinned else 0)
        if self.virtual_size.height != height:
            self.virtual_size = Size(1, height)

    @property
    def line_count(self) -> int:
        """The table's lines: the header, a line per row, and the markers under their rows."""
        return 1 + len(self._rows) + sum(lines for _, lines in self._extra)

    def _line_of(self, row: int) -> int:
        line = row
        for above, lines in self._extra:
            if above >= row:
                break
            line += lines
        return line

    def _at(self, y: int) -> tuple[int, int]:
        """(row, part) on table line ``y`` (from 1): part 0 is the row, k its k-th line under."""
        offset = 0
        for row, lines in self._extra:
            first = row + offset
            if y <= first:
                break
            if y <= first + lines:
                return row, y - first
            offset += lines
        return y - offset, 0

    # --- keeping rows in view -----------------------------------------------------------------

    def row_of(self, node: Value) -> int | None:
        """The table line (after the header) showing ``node``'s row, if it has a name."""
        row = self._index.get(node)
        return None if row is None else self._line_of(row)

    def _block(self, node: Value) -> tuple[int, int] | None:
        """(first line, lines) of ``node``'s row and the marker lines under it."""
        row = self._index.get(node)
        if row is None:
            return None
        under = dict(self._extra).get(row, 0)
        return self._line_of(row), 1 + under

    def show_row(self, node: Value) -> None:
        """Scroll so that ``node``'s line is visible."""
        self.show_rows([node])

    def show_rows(self, nodes: list[Value]) -> None:
        """Keep the lines of ``nodes`` in view: scroll to show as many as fit, from the first
        (the node firing now, then the values it sends to), and pin the others at the bottom
        of the pane, under a line that says so. Done again whenever the pane changes size."""
        self._follow = list(nodes)
        blocks = list(dict.fromkeys(b for b in map(self._block, nodes) if b is not None))
        if not blocks:
            if self._pinned:  # lines pinned for a step no longer shown
                self._pinned = []
                self._size_to_lines()
                self.refresh()
            return
        height = max(1, self.scrollable_content_region.height)
        pinned: list[tuple[int, int]] = []
        while True:  # pinned lines take room: fit again with what is left, until it holds
            lines = sum(n for _, n in pinned)
            room = height - (lines + 1) if pinned and lines + 1 < height else height
            top, bottom = blocks[0][0], blocks[0][0] + blocks[0][1]
            left = []
            for first, n in blocks[1:]:
                low, high = min(top, first), max(bottom, first + n)
                if high - low <= room:
                    top, bottom = low, high
                else:
                    left.append((first, n))
            if len(left) <= len(pinned):
                break
            pinned = left
        self._pinned = left
        lines = sum(n for _, n in left)
        room = height - (lines + 1) if left and lines + 1 < height else height
        y = round(self.scroll_y)
        if top < y or bottom - top > room:
            y = top
        elif bottom > y + room:
            y = bottom - room
        self._size_to_lines()
        self.scroll_to(y=y, animate=False, immediate=True)
        self.refresh()

    def _pins(self) -> tuple[list[int], int]:
        """The pinned lines shown now (those not already in the scrolled window), and the
        height of that window (the pane, less the pinned lines and the line above them)."""
        height = self.scrollable_content_region.height
        top = round(self.scroll_y)
        pinned = self._pinned
        while pinned:
            lines = sum(n for _, n in pinned)
            if lines + 1 >= height:
                break
            shown = height - lines - 1
            left = [(f, n) for f, n in pinned if not (top <= f and f + n <= top + shown)]
            if len(left) == len(pinned):
                return [f + k for f, n in pinned for k in range(n)], shown
            pinned = left
        return [], height

    def visible_rows(self) -> set[int]:
        """The table lines on screen now: the scrolled window and the pinned lines."""
        pinned, shown = self._pins()
        top = round(self.scroll_y)
        return set(range(top, top + max(0, shown))) | set(pinned)

    # --- drawing ------------------------------------------------------------------------------

    def line(self, y: int, width: int | None = None) -> Content:
        """Line ``y`` of the table (0 is the header)."""
        walk = self.walk
        name_w, data_w, grad_w = self._widths
        if walk is None:
            return Content("")
        if y == 0:
            return Content.styled(
                f"{'name'.ljust(name_w)}  {'data'.rjust(data_w)}  {'grad'.rjust(grad_w)}", "dim"
            )
        row, part = self._at(y)
        if row > len(self._rows):
            return Content("")
        name, value = self._rows[row - 1]
        marker = self._marker(value)
        if part:  # a line under the row: (the rest of) its marker
            under = self._under.get(row, [])
            if marker is None or part > len(under):
                return Content("")
            indent, text = under[part - 1]
            return Content.assemble(" " * indent, (text, marker[1]))
        g = grad_text(walk, value)
        # cut and padded in terminal columns (set_cell_size leaves no half of a wide character)
        columns = cell_len(name)
        if columns > name_w:
            shown = set_cell_size(name, name_w - 1) + "…"
        else:
            shown = name + " " * (name_w - columns)
        name_style = "bold reverse" if value is self.selected else "bold"
        grad_style = "$text-muted" if g in (NOT_COMPUTED, "·") else ""
        beside: tuple[str, str] = ("", "")
        if marker is not None:
            grad_style = "bold $text-error" if value in self._wrong else "bold"
            if row not in self._under:
                beside = (" " + marker[0], marker[1])
        data = NOT_COMPUTED if value in self.hidden else format_number(value.data)
        return Content.assemble(
            (shown, name_style),
            "  ",
            data.rjust(data_w),
            "  ",
            (g.rjust(grad_w), grad_style),
            beside,
        )

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def render_lines(self, crop: Region) -> list[Strip]:
        self._frame = self._frame_constants()
        try:
            return super().render_lines(crop)
        finally:
            self._frame = None

    def _frame_constants(self) -> _Frame:
        """What every line of one frame shares, worked out once: each walks the DOM."""
        return _Frame(
            self.scrollable_content_region.width,
            self._pins(),
            round(self.scroll_y),
            self.visual_style,
            self.background_colors[1],
            self.rich_style,
        )

    def render_line(self, y: int) -> Strip:
        frame = self._frame or self._frame_constants()
        width, (pinned, shown), top = frame.width, frame.pins, frame.top
        if pinned and y >= shown:
            if y == shown:
                content = Content.styled("▼ also receiving now".ljust(width, "─")[:width], "dim")
            else:
                at = y - shown - 1
                content = self.line(pinned[at], width) if at < len(pinned) else Content("")
            self._shown.pop(y + top, None)  # not the scrolled line: redraw
        else:
            content = self.line(y + top, width)
            self._shown[y + top] = content_key(content)
        # a step or a scroll leaves most lines as they were: reuse their strips
        key = (content_key(content), width)
        strip = self._strips.get(key)
        if strip is None:
            if content.cell_length > width:
                content = content.truncate(width, ellipsis=True)
            segments = content.render_segments(frame.visual_style)
            strip = Strip(legible(segments, frame.background), content.cell_length)
            strip = strip.extend_cell_length(width, frame.rich_style)
            if len(self._strips) > 1024:
                self._strips.clear()
            self._strips[key] = strip
        return strip


class Inspector(Widget, can_focus=False):
    """Everything about the selected node: value, grad, op, formula, parents, consumers."""

    DEFAULT_CSS = """
    Inspector { height: auto; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.walk: Walkthrough | None = None
        self.node: Value | None = None
        self.consumers: list[Value] = []
        self.hidden: frozenset[Value] = frozenset()
        """Values not computed yet (forward mode): their data shows ``—``."""

    def update_from(self, walk: Walkthrough, node: Value | None, consumers: list[Value]) -> None:
        if node is None and self.node is None:
            return
        self.walk = walk
        self.node = node
        self.consumers = consumers
        if node is not None:
            self.border_title = f"node {called(walk.program, node)}"  # tanh(b) #2, as its box
        self.refresh(layout=True)

    def render(self) -> Content:
        walk, node = self.walk, self.node
        if walk is None or node is None:
            return Content("")
        program = walk.program
        name = program.name
        lines: list[Content] = []
        if node.parents:
            op = OPS[node.op]
            lines.append(
                Content.assemble(("op     ", "dim"), f"{op.name}  ", program.describe(node))
            )
            text = program.texts.get(node)
            if text and text != program.expression(node):
                lines.append(Content.assemble(("source ", "dim"), text))
        else:
            kind = "input" if node.requires_grad else "constant"
            lines.append(Content.assemble(("op     ", "dim"), f"({kind}: a leaf)"))
        data = "— (not computed yet)" if node in self.hidden else format_number(node.data)
        exact = (
            f"  (exactly {node.data!r})"
            if node not in self.hidden and float(data) != node.data
            else ""
        )  # the value typed (123456.789), where six digits round it (123457)
        lines.append(Content.assemble(("data   ", "dim"), (data, "bold"), (exact, "dim")))
        lines.append(Content.assemble(("grad   ", "dim"), (grad_text(walk, node), "bold")))
        correct = wrong(walk).get(node)
        if correct is not None:  # a bug mode: this grad differs from the correct pass's
            lines.append(
                Content.assemble(
                    ("       ", "dim"), (f"✗ correct {format_number(correct)}", "bold")
                )
            )
        lines.append(Content.assemble(("state  ", "dim"), node_status(walk, node)))
        if node.parents:
            lines.append(Content.styled("parents (local derivative)", "dim"))
            for i, parent in enumerate(node.parents):
                formula = program.derivative(node, i)
                value = NOT_COMPUTED if parent in self.hidden else format_number(parent.data)
                if not parent.requires_grad and not parent.parents:  # ∂a/∂2 means nothing
                    shown = name(parent)
                    lines.append(
                        Content.assemble(
                            "  ",
                            (shown, "bold"),
                            "" if shown == value else f" = {value}",
                            ("   a constant: takes no grad", "$text-muted"),
                        )
                    )
                    continue
                lines.append(
                    Content.assemble(
                        "  ",
                        (name(parent), "bold"),
                        f" = {value}",
                        (f"   {partial(program, node, parent)} = {formula}", "$text-muted"),
                    )
                )
        if self.consumers:
            shown = ", ".join(name(c) for c in self.consumers[:6])
            more = f" +{len(self.consumers) - 6}" if len(self.consumers) > 6 else ""
            lines.append(Content.assemble(("used by ", "dim"), shown + more))
        elif node is program.output:
            lines.append(Content.assemble(("used by ", "dim"), "nothing: it is the output"))
        return Content("\n").join(lines)
