"""The values table (every named value with data and grad) and the node inspector.

Both render from the :class:`~stepgrad.state.Walkthrough` the screen pushes down. What changed
in this step is marked with text (``◀ fired``, ``+= 0.125``) and weight, never by colour alone.
"""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from textual.content import Content
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from engine import OPS, Value
from engine.numbers import format_number
from stepgrad.explain import partial
from stepgrad.lesson.bugs import wrong
from stepgrad.state import Walkthrough

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


def grad_text(walk: Walkthrough, node: Value) -> str:
    grad = walk.grad(node)
    if not node.requires_grad and node is not walk.trace.root:
        return "·"
    return NOT_COMPUTED if grad is None else format_number(grad)


def _received(received: dict[Value, list[str]], value: Value, room: int) -> str:
    """What ``value`` received in this step, in ``room`` columns: as many contributions as fit
    and `` …`` for the rest (`` += -3.04688 …``), else `` += …``, else `` +=``."""
    parts = received.get(value, [])
    text = ""
    for i, part in enumerate(parts):
        piece = f" += {part}"
        more = 2 if i + 1 < len(parts) else 0  # room for " …" if any are left
        if len(text) + len(piece) + more > room:
            break
        text += piece
    else:
        return text
    if text:
        return text + " …"
    return " += …" if room >= 5 else " +="


class ValuesTable(ScrollView, can_focus=False):
    """One line per named value: ``name  data  grad  what happened now``.

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
        self._program: object = None
        self._widths = (4, 4, 4)
        self._received: dict[Value, list[str]] = {}
        self._fired: Value | None = None
        self._wrong: dict[Value, float] = {}  # a bug mode: grads that differ, and the correct
        self._shown: dict[int, Content] = {}  # the line last drawn at each row
        self._widths_for: tuple[object, tuple[int, int, int]] = (None, (4, 4, 4))
        self._pinned: list[int] = []  # lines receiving now that do not fit the scrolled window
        self.hidden: frozenset[Value] = frozenset()
        """Values not computed yet (forward mode): their data shows ``—``."""

    def update_from(self, walk: Walkthrough, selected: Value | None) -> None:
        if walk.program is not self._program:
            self._program = walk.program
            self._rows = named_values(walk)
            self.virtual_size = Size(1, len(self._rows) + 1)
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
        if widths != self._widths or not self._shown:
            self._widths = widths
            self._shown.clear()
            self.refresh()
            return
        # a step changes a few rows (the node that fired, the ones it sent to): repaint those
        top = round(self.scroll_y)
        for y in range(top, top + self.scrollable_content_region.height):
            shown = self._shown.get(y)
            if shown is None or shown != self.line(y, self.scrollable_content_region.width):
                self.refresh_line(y)

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

    def row_of(self, node: Value) -> int | None:
        """The line (after the header) showing ``node``, if it has a name."""
        for i, (_, value) in enumerate(self._rows):
            if value is node:
                return i + 1
        return None

    def show_row(self, node: Value) -> None:
        """Scroll so that ``node``'s line is visible."""
        self.show_rows([node])

    def show_rows(self, nodes: list[Value]) -> None:
        """Keep the lines of ``nodes`` in view: scroll to show as many as fit, from the first
        (the node firing now, then the values it sends to), and pin the others at the bottom
        of the pane, under a line that says so."""
        rows = list(
            dict.fromkeys(r for r in (self.row_of(node) for node in nodes) if r is not None)
        )
        if not rows:
            if self._pinned:  # lines pinned for a step no longer shown
                self._pinned = []
                self.refresh()
            return
        self._pinned = []
        height = max(1, self.scrollable_content_region.height)
        for _ in range(2):  # pinned lines take room: fit again with what is left
            room = height - (len(self._pinned) + 1 if self._pinned else 0)
            region = Region(0, rows[0], 1, 1)
            pinned = []
            for row in rows[1:]:
                grown = region.union(Region(0, row, 1, 1))
                if grown.height <= max(1, room):
                    region = grown
                else:
                    pinned.append(row)
            if len(pinned) == len(self._pinned):
                break
            self._pinned = pinned
        self._pinned = pinned
        self.scroll_to_region(region, animate=False, immediate=True)
        self.refresh()

    def visible_rows(self) -> set[int]:
        """The table lines on screen now: the scrolled window and the pinned lines."""
        height = self.scrollable_content_region.height
        top = round(self.scroll_y)
        shown = height - (len(self._pinned) + 1 if self._pinned else 0)
        return set(range(top, top + max(0, shown))) | set(self._pinned)

    def line(self, y: int, width: int | None = None) -> Content:
        """Line ``y`` of the table (0 is the header); markers are shortened to fit ``width``."""
        walk = self.walk
        name_w, data_w, grad_w = self._widths
        if walk is None:
            return Content("")
        if y == 0:
            return Content.styled(
                f"{'name'.ljust(name_w)}  {'data'.rjust(data_w)}  {'grad'.rjust(grad_w)}", "dim"
            )
        if y > len(self._rows):
            return Content("")
        name, value = self._rows[y - 1]
        g = grad_text(walk, value)
        # cut and padded in terminal columns (set_cell_size leaves no half of a wide character)
        columns = cell_len(name)
        if columns > name_w:
            shown = set_cell_size(name, name_w - 1) + "…"
        else:
            shown = name + " " * (name_w - columns)
        name_style = "bold reverse" if value is self.selected else "bold"
        grad_style = "$text-muted" if g in (NOT_COMPUTED, "·") else ""
        marker: tuple[str, str] = ("", "")
        if value is self._fired:
            marker, grad_style = (" ◀ fired", "bold $warning"), "bold"
        elif value in self._received:
            marker = (" += " + " += ".join(self._received[value]), "bold $warning")
            grad_style = "bold"
        if value in self._wrong:  # a bug mode: the correct value beside a grad that differs
            grad_style = "bold $text-error"
            marker = (f" ✗ correct {format_number(self._wrong[value])}", "bold $text-error")
        if width is not None and marker[0]:
            room = width - (name_w + data_w + grad_w + 4)
            if len(marker[0]) > room:  # keep a text marker (not colour alone) when narrow
                short = " ◀" if value is self._fired else _received(self._received, value, room)
                if value in self._wrong:
                    short = f" ✗ {format_number(self._wrong[value])}"
                marker = (short if room >= len(short) else marker[0], marker[1])
        data = NOT_COMPUTED if value in self.hidden else format_number(value.data)
        return Content.assemble(
            (shown, name_style),
            "  ",
            data.rjust(data_w),
            "  ",
            (g.rjust(grad_w), grad_style),
            marker,
        )

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        height = self.scrollable_content_region.height
        pinned = self._pinned if len(self._pinned) + 1 < height else []
        first = height - len(pinned) - 1  # the line above the pinned ones
        if pinned and y >= first:
            if y == first:
                content = Content.styled("▼ also receiving now".ljust(width, "─")[:width], "dim")
            else:
                content = self.line(pinned[y - first - 1], width)
            self._shown.pop(y + round(self.scroll_y), None)  # not the scrolled line: redraw
        else:
            row = y + round(self.scroll_y)
            content = self.line(row, width)
            self._shown[row] = content
        if content.cell_length > width:
            content = content.truncate(width, ellipsis=True)
        segments = content.render_segments(self.visual_style)
        return Strip(segments, content.cell_length).extend_cell_length(width, self.rich_style)


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
            self.border_title = f"node {walk.program.name(node)}"
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
        lines.append(Content.assemble(("data   ", "dim"), (data, "bold")))
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
