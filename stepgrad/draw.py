"""A :class:`~stepgrad.layout.Layout` -> a character canvas with styles and cell ownership.

Plain functions and small classes, no Textual (and no rich: colours are raw SGR codes in
:func:`to_ansi`), so the CLI, the Textual widget and the tests share every character.

- :class:`Drawing` indexes a layout once: which cells every box and every edge covers.
- A :class:`View` says what to show right now: the grads (``—`` for a node not reached), a
  :class:`NodeState` per node (current / done / waiting with its pending count / idle) and a
  state per edge (active / done / idle). Changing the view never re-lays out anything.
- :meth:`Drawing.window` renders any rectangle of the canvas, touching only the cells in it; the
  result is a :class:`Rendered`: text lines plus runs of style names per line.
- Highlighting never relies on colour: the current node's box is heavy (``┏━┓``) and says
  ``now``, active edges are heavy (``━┃``), waiting nodes say ``waits N``, done nodes ``✓``.
- :func:`render_text` is the one call behind ``stepgrad PROGRAM --graph``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from itertools import groupby
from typing import Any, Literal, NamedTuple

import networkx as nx

from engine import Trace, Value
from engine.backward import backward as run_backward
from engine.numbers import format_number
from engine.text import to_ascii

from .layout import (
    _WIDE_FILL,
    MAX_LANES,
    METRICS,
    TINY_GRAD_WIDTH,
    Branch,
    EdgeKey,
    Layout,
    Mode,
    Wire,
    focus,
    header_text,
    lanes,
    layout,
    node_form,
    node_label,
    tiny_bracket,
    to_networkx,
)

__all__ = [
    "Drawing",
    "EdgeKind",
    "LEGEND",
    "NodeKind",
    "NodeState",
    "Owner",
    "MAX_CELLS",
    "Rendered",
    "TooLarge",
    "View",
    "ascii_drawing",
    "draw",
    "fit_number",
    "focus",
    "render_text",
    "step_view",
    "to_ansi",
]

NodeKind = Literal["idle", "current", "done", "waiting", "dead", "partial"]
EdgeKind = Literal["idle", "active", "done", "dead"]
Owner = int | EdgeKey
"""What a cell belongs to: a node key (``int``) or an edge ``(parent, child, index)``."""

NOT_COMPUTED = "—"
"""Shown for a grad that has not been computed yet: never confused with zero."""
ARROW = "▶"
LEGEND = (
    "e = ·*· : e is made by * from the values whose arrows enter its box, the first operand at "
    "the top.  grad — : not computed yet.  A wire branches at ◆ ├ ┬ ┴ ┤; at ┼ two wires cross."
)
"""One line explaining the drawing, for ``render_text(..., legend=True)``."""

# arms of an edge cell, as a bit mask
_UP, _DOWN, _LEFT, _RIGHT = 1, 2, 4, 8
_ARROW_BIT = 16
_ALL_ARMS = _UP | _DOWN | _LEFT | _RIGHT

JUNCTION = "◆"
"""Where one wire branches four ways (its spine goes on past its track). Two wires that only
cross are drawn ``┼`` (the layout lets wires meet only square across), so the two must not
look alike: a reader follows a value to its consumers by its branch points, as the dot on a
circuit diagram marks a connection (a diamond: the tiny boxes' state marks are circles).
Three-way branches are tees (``├ ┬ ┴ ┤``), never a crossing."""


# --- states ---------------------------------------------------------------------------------


class NodeState(NamedTuple):
    """How a node is shown: ``kind`` and, for ``waiting``, how many contributions it awaits."""

    kind: NodeKind = "idle"
    pending: int = 0


IDLE = NodeState()


class View:
    """What the drawing shows at one moment.

    Attributes:
        grads: the grad shown for each node; nodes missing here (or all nodes, when None) show
            ``—``: not computed yet.
        nodes: node -> :class:`NodeState` (or just its kind); missing nodes are idle.
        edges: edge -> ``"active"`` / ``"done"`` / ``"idle"``; missing edges are idle.
        notes: node -> a few words its box shows about it now (a collapsed group: which of
            its nodes fires).
        hidden: nodes whose data is not computed yet (the forward pass has not reached them):
            their box shows ``—`` for the data, as for a grad not computed yet.
        forward: the forward pass is shown: a one-line (tiny) box shows its data, the
            number being computed, where it would show its grad.
    """

    # a plain class, not a dataclass: making a dataclass runs generated code through exec, and
    # the app imports this module on its way to the first graph
    __slots__ = ("edges", "forward", "grads", "hidden", "nodes", "notes")

    def __init__(
        self,
        grads: Mapping[int, float] | None = None,
        nodes: Mapping[int, NodeState | NodeKind] | None = None,
        edges: Mapping[EdgeKey, EdgeKind] | None = None,
        notes: Mapping[int, str] | None = None,
        hidden: frozenset[int] = frozenset(),
        forward: bool = False,
    ) -> None:
        self.grads = grads
        self.forward = forward
        self.nodes: Mapping[int, NodeState | NodeKind] = {} if nodes is None else nodes
        self.edges: Mapping[EdgeKey, EdgeKind] = {} if edges is None else edges
        self.notes: Mapping[int, str] = {} if notes is None else notes
        self.hidden = hidden

    def __repr__(self) -> str:
        return f"View({len(self.nodes)} node states, {len(self.edges)} edge states)"

    def node_state(self, node: int) -> NodeState:
        state = self.nodes.get(node, IDLE)
        return NodeState(state) if isinstance(state, str) else state


def step_view(
    graph: nx.MultiDiGraph, trace: Trace, step: int, base: Mapping[int, float] | None = None
) -> View:
    """The view of a backward pass after step ``step`` (0-based) of ``trace`` has fired.

    ``base`` holds the grads at the start of the pass (None: not computed, so untouched nodes
    show ``—``). The current node is the one firing at ``step``, its edges are active; nodes that
    fired before are done, as are leaves that have received every contribution; nodes that have
    received some contributions wait for the rest.
    """
    ids = {attrs["value"]: n for n, attrs in graph.nodes(data=True)}
    root = ids.get(trace.root)
    grads: dict[int, float] = dict(base or {})
    nodes_state: dict[int, NodeState | NodeKind] = {}
    edges_state: dict[EdgeKey, EdgeKind] = {}
    if root is not None:
        grads[root] = grads.get(root, 0.0) + 1.0
    for k, s in enumerate(trace.steps[: step + 1]):
        child = ids.get(s.node)
        if child is None:
            continue
        nodes_state[child] = "current" if k == step else "done"
        for e in s.edges:
            parent = ids.get(e.parent)
            if parent is None:
                continue
            edges_state[(parent, child, e.index)] = "active" if k == step else "done"
            grads[parent] = e.grad_after
            if e.pending == 0 and not e.parent.parents:
                nodes_state[parent] = "done"
            else:
                nodes_state[parent] = NodeState("waiting", e.pending)
    for k, s in enumerate(trace.steps[: step + 1]):  # a fired node is never "waiting" again
        child = ids.get(s.node)
        if child is not None:
            nodes_state[child] = "current" if k == step else "done"
    return View(grads, nodes_state, edges_state)


# --- glyphs ---------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _glyph_table() -> dict[tuple[int, int, int, int], str]:
    """(up, down, left, right) arm weights (0 none, 1 light, 2 heavy) -> box-drawing char."""
    dirs = {"UP": "u", "DOWN": "d", "LEFT": "l", "RIGHT": "r", "VERTICAL": "ud", "HORIZONTAL": "lr"}
    weight = {"LIGHT": 1, "HEAVY": 2}
    table: dict[tuple[int, int, int, int], str] = {}
    for cp in range(0x2500, 0x254C):
        char = chr(cp)
        name = unicodedata.name(char).removeprefix("BOX DRAWINGS ")
        if "DASH" in name:
            continue
        words = name.split()
        default = 0
        if words[0] in weight:
            default = weight[words.pop(0)]
        arms: dict[str, int] = {}
        for part in " ".join(words).split(" AND "):
            ws = part.split()
            w = default
            if ws[-1] in weight:
                w = weight[ws.pop()]
            for word in ws:
                for d in dirs[word]:
                    arms[d] = w
        table[tuple(arms.get(d, 0) for d in "udlr")] = char  # type: ignore[index]
    return table


_CROSSING = "┼"  # two wires, one across the other: they do not meet (see JUNCTION)


@lru_cache(maxsize=1)
def _idle_glyphs() -> list[str]:
    """Arm bit mask -> the light glyph (the arrow head when the arrow bit is set)."""
    table = []
    for arms in range(32):
        if arms & _ARROW_BIT:
            table.append(ARROW)
        elif arms == _ALL_ARMS:
            table.append(JUNCTION)  # one wire's four arms; a crossing is two wires' (see below)
        else:
            table.append(
                _glyph_table().get(
                    (arms & _UP and 1, arms & _DOWN and 1, arms & _LEFT and 1, arms & _RIGHT and 1),
                    " ",
                )
            )
    return table


def _glyph(up: int, down: int, left: int, right: int) -> str:
    return _glyph_table()[(up, down, left, right)]


@lru_cache(maxsize=1)
def _ascii_glyphs() -> dict[int, str]:
    """The drawing's characters in ASCII, one for one so the canvas stays aligned: a line
    ``-`` (heavy ``=``) or ``|``, a corner, tee or cross ``+``, ``▶`` ``>``, ``—`` ``-``..."""
    table: dict[int, str] = {}
    sides = {"UP": "u", "DOWN": "d", "LEFT": "l", "RIGHT": "r", "VERTICAL": "ud"}
    sides["HORIZONTAL"] = "lr"
    for cp in range(0x2500, 0x2580):  # every box-drawing character, by the arms in its name
        words = unicodedata.name(chr(cp)).split()
        arms = {d for word in words for d in sides.get(word, "")}
        heavy = "HEAVY" in words or "DOUBLE" in words
        if "DIAGONAL" in words:
            table[cp] = {0x2571: "/", 0x2572: "\\"}.get(cp, "X")
        elif arms <= {"l", "r"}:
            table[cp] = "=" if heavy else "-"
        elif arms <= {"u", "d"}:
            table[cp] = "|"
        else:
            table[cp] = "+"
    for char, ascii in {ARROW: ">", "◀": "<", "—": "-", "∇": "g", "·": ".", "…": "~", "⋯": ":",
                        "✓": "*", JUNCTION: "o"}.items():  # fmt: skip
        table[ord(char)] = ascii
    return table


def ascii_drawing(text: str) -> str:
    """A drawing (or any text) in ASCII with its columns unchanged: see :func:`_ascii_glyphs`;
    anything else becomes a ``\\u`` escape."""
    if text.isascii():
        return text
    text = text.translate(_ascii_glyphs())
    return text.encode("ascii", "backslashreplace").decode("ascii")


def fit_number(x: float, width: int) -> str:
    """``x`` formatted by :func:`format_number`, with fewer digits if needed to fit ``width``."""
    for digits in (6, 5, 4, 3, 2, 1):
        text = format_number(x, digits)
        if len(text) <= width:
            return text
    return text


# --- the drawing ----------------------------------------------------------------------------


class Rendered:
    """A rendered rectangle: ``lines`` of equal width and, per line, ``spans``: the
    ``(start, end, style)`` runs naming what the cells show (``node.current``, ``edge.active``,
    ``label``...). Spans are computed on first use, so plain text costs nothing extra."""

    __slots__ = ("lines", "_styles", "_spans")

    def __init__(self, lines: list[str], styles: list[list[str | None]]) -> None:
        self.lines = lines
        self._styles = styles
        self._spans: list[list[tuple[int, int, str]]] | None = None

    @property
    def spans(self) -> list[list[tuple[int, int, str]]]:
        if self._spans is None:
            self._spans = [_runs(row) for row in self._styles]
        return self._spans

    def style_at(self, x: int, y: int) -> str | None:
        """The style name of one cell of the rendered rectangle."""
        return self._styles[y][x]

    @property
    def text(self) -> str:
        """The plain text, trailing spaces removed."""
        return "\n".join(line.rstrip() for line in self.lines)

    def placed(self, left: int, top: int, width: int, height: int) -> Rendered:
        """This rectangle at ``(left, top)`` of a blank ``width`` x ``height`` one (a view
        that leaves out the boxes its edges would cut shows blank cells in their place)."""
        blank: list[str | None] = [None] * width
        lines = [" " * width] * top
        styles = [blank] * top
        for line, row in zip(self.lines, self._styles, strict=False):
            right = width - left - len(line)
            lines.append(" " * left + line + " " * right)
            styles.append([None] * left + row + [None] * right)
        lines += [" " * width] * (height - len(lines))
        styles += [blank] * (height - len(styles))
        return Rendered(lines, styles)

    def blanked(self, rects: Iterable[tuple[int, int, int, int]]) -> Rendered:
        """This rectangle with the cells of ``rects`` (``x, y, w, h``, in its own cells) blank."""
        lines = list(self.lines)
        styles = list(self._styles)
        for x, y, w, h in rects:
            x0, x1 = max(x, 0), max(x + w, 0)
            for row in range(max(y, 0), min(y + h, len(lines))):
                line = lines[row]
                end = min(x1, len(line))
                if x0 < end:
                    lines[row] = line[:x0] + " " * (end - x0) + line[end:]
                    styles[row] = styles[row][:x0] + [None] * (end - x0) + styles[row][end:]
        return Rendered(lines, styles)


def _is_text(c: str) -> bool:
    """A character of a word or number (not a space, a line, a corner or an arrow)."""
    return c != " " and not "\u2500" <= c <= "\u259f" and c not in "▶◀▲▼"


def _mark_cuts(line: str) -> str:
    """``line`` (one column wider than shown on each side) with the shown part of a word or
    number cut by either edge replaced by ``…`` and spaces."""
    if len(line) < 4:
        return line
    # the word the edge cuts, or the one right after it across one space: ``o - 0.1`` cut
    # before the minus reads as ``- 0.1``
    start = 1 if _is_text(line[1]) else 2 if line[1] == " " and _is_text(line[2]) else 0
    if start and _is_text(line[0]):
        end = start
        while end < len(line) - 1 and _is_text(line[end]):
            end += 1
        # and the count in a box's bottom border: ``waits 1 ─┘`` cut inside "waits" read
        # ``…   1 ─┘``, as a constant 1 drawn before its edge
        after = end + 1
        while after < len(line) - 1 and line[after].isdigit():
            after += 1
        if after > end + 1 and line[end] == " " and line[after : after + 2] in (" ─", " ━"):
            end = after
        line = line[:start] + "…" + " " * (end - start - 1) + line[end:]
    if _is_text(line[-1]) and _is_text(line[-2]):
        start = len(line) - 2
        while start > 0 and _is_text(line[start - 1]):
            start -= 1
        start = max(start, 1)
        line = line[:start] + " " * (len(line) - 2 - start) + "…" + line[-1]
    return line


def _mark_count(before: str, line: str) -> str:
    """``line`` as :func:`_mark_cuts` left it, where the left edge hides a word and the space
    after it (``before`` the word's last letter): a count that follows (``waits 1 ─┘`` shown
    as ``1 ─┘``) would read as a constant 1 drawn before its edge, so it becomes ``…``."""
    if not (_is_text(before) and line[:1] == " " and line[1:2].isdigit()):
        return line
    end = 1
    while end < len(line) and line[end].isdigit():
        end += 1
    if line[end : end + 2] not in (" ─", " ━"):
        return line
    return " …" + " " * (end - 2) + line[end:]


_BAND = 16  # rows per bucket of the box index


_RANKS: dict[str, int] = {"idle": 0, "dead": 1, "done": 2, "active": 3}
_RANK_STYLE = ("edge.idle", "edge.dead", "edge.done", "edge.active")
_BITS = (_UP, _DOWN, _LEFT, _RIGHT)


def _wire_arms(wire: Wire) -> dict[tuple[int, int], int]:
    """Every cell of a wire with its arm bits: the spine, the track, the branches."""
    cells: dict[tuple[int, int], int] = {}

    def add(x: int, y: int, bits: int) -> None:
        cells[(x, y)] = cells.get((x, y), 0) | bits

    _walk(wire.spine, add, first=_LEFT)
    sx, sy = wire.split
    rows = [b.row for b in wire.branches]
    top, bottom = min(rows), max(rows)
    for y in range(top, sy):  # up the track
        add(sx, y, _DOWN | (_UP if y > top else 0))
    if top < sy:
        add(sx, sy, _UP)
    for y in range(sy + 1, bottom + 1):  # down the track
        add(sx, y, _UP | (_DOWN if y < bottom else 0))
    if bottom > sy:
        add(sx, sy, _DOWN)
    for branch in wire.branches:
        _branch_arms(sx, branch, add, rank=None)
    return cells


def _walk(points: Sequence[tuple[int, int]], add: Any, *, first: int) -> None:
    """Call ``add(x, y, bits)`` for every cell of a polyline, with the arms it uses there;
    ``first`` is the arm the first cell has towards where the line comes from."""
    px, py = points[0]
    incoming = first
    if len(points) == 1:
        add(px, py, incoming)
        return
    for x, y in points[1:]:
        if y == py:
            step = 1 if x > px else -1
            out, back = (_RIGHT, _LEFT) if step == 1 else (_LEFT, _RIGHT)
            add(px, py, incoming | out)
            for cx in range(px + step, x, step):
                add(cx, y, _LEFT | _RIGHT)
        else:
            step = 1 if y > py else -1
            out, back = (_DOWN, _UP) if step == 1 else (_UP, _DOWN)
            add(px, py, incoming | out)
            for cy in range(py + step, y, step):
                add(x, cy, _UP | _DOWN)
        incoming = back
        px, py = x, y
    add(px, py, incoming)


def _spine_cells(wire: Wire) -> set[tuple[int, int]]:
    cells: set[tuple[int, int]] = set()
    _walk(wire.spine, lambda x, y, bits: cells.add((x, y)), first=_LEFT)
    return cells


def _branch_arms(
    sx: int, branch: Branch, add: Any, rank: int | None, columns: tuple[int, int] | None = None
) -> None:
    """The horizontal of one branch, from the track to its end (an arrow head, or the cell
    before the lane it feeds, which goes on to the right); only in ``columns`` if given."""
    y = branch.row
    end_bits = _ARROW_BIT if branch.arrow else _RIGHT
    if branch.end == sx:
        add(sx, y, end_bits)
        return
    add(sx, y, _RIGHT)
    lo, hi = columns if columns is not None else (sx + 1, branch.end)
    for x in range(max(sx + 1, lo), min(branch.end, hi)):
        add(x, y, _LEFT | _RIGHT)
    add(branch.end, y, _LEFT | end_bits)


def _paint(
    wire: Wire, ranks: Sequence[int], clip: tuple[int, int, int, int] | None = None
) -> dict[tuple[int, int], list[int]]:
    """The rank (see :data:`_RANKS`) of each arm of each cell of ``wire`` that a non-idle
    branch's path uses, given each branch's rank: the spine carries the highest, a cell of the
    track the highest of the branches beyond it, a branch its own. Only cells inside ``clip``
    (``x0, y0, x1, y1``, ends excluded) are given, and the track is walked only there."""
    cells: dict[tuple[int, int], list[int]] = {}
    best = max(ranks, default=0)
    if best == 0:
        return cells
    x0, y0, x1, y1 = clip if clip is not None else (-(10**9), -(10**9), 10**9, 10**9)
    marks: dict[int, Any] = {}

    def mark(rank: int) -> Any:
        add = marks.get(rank)
        if add is None:

            def add(x: int, y: int, bits: int) -> None:
                if not (x0 <= x < x1 and y0 <= y < y1):
                    return
                arms = cells.get((x, y))
                if arms is None:
                    arms = cells[(x, y)] = [0, 0, 0, 0, 0]
                for i, bit in enumerate(_BITS):
                    if bits & bit and arms[i] < rank:
                        arms[i] = rank
                if bits & _ARROW_BIT and arms[4] < rank:
                    arms[4] = rank

            marks[rank] = add
        return add

    _walk(wire.spine, mark(best), first=_LEFT)
    sx, sy = wire.split
    by_row = sorted(zip((b.row for b in wire.branches), ranks, strict=True))
    on_track = x0 <= sx < x1
    # up the track: a cell at row y is on the path of every branch above it
    above = [(r, k) for r, k in by_row if r < sy]
    i, through = 0, 0
    for y in range(above[0][0] if above else sy, sy):
        before = through  # the highest rank of the branches strictly above y
        while i < len(above) and above[i][0] <= y:
            through = max(through, above[i][1])
            i += 1
        if not on_track or not y0 <= y < y1:
            continue
        if through:
            mark(through)(sx, y, _DOWN)
        if before:
            mark(before)(sx, y, _UP)
    if through:
        mark(through)(sx, sy, _UP)
    # down the track, the same from below
    below = [(r, k) for r, k in reversed(by_row) if r > sy]
    i, through = 0, 0
    for y in range(below[0][0] if below else sy, sy, -1):
        before = through
        while i < len(below) and below[i][0] >= y:
            through = max(through, below[i][1])
            i += 1
        if not on_track or not y0 <= y < y1:
            continue
        if through:
            mark(through)(sx, y, _UP)
        if before:
            mark(before)(sx, y, _DOWN)
    if through:
        mark(through)(sx, sy, _DOWN)
    for branch, rank in zip(wire.branches, ranks, strict=True):
        if rank and y0 <= branch.row < y1:
            _branch_arms(sx, branch, mark(rank), rank, (x0, x1))
    return cells


class Drawing:
    """A laid-out graph ready to render: cell ownership plus box and wire geometry.

    Build it once per layout with :func:`draw`; render as often as the view changes. Cells
    belong to wires (see :class:`~stepgrad.layout.Wire`), not to edges: a value used by many
    consumers is one fanned-out wire, so indexing costs the cells drawn, not edges × length.
    """

    def __init__(self, lay: Layout) -> None:
        self.layout = lay
        self.graph = lay.graph
        self.width = lay.width
        self.height = lay.height
        self.boxes = lay.boxes
        self.routes = lay.routes
        self.wires = lay.wires
        # per row: x -> (wire, arms); a crossing's second wire on the side
        cells: dict[int, dict[int, tuple[int, int]]] = {}
        crossings: dict[int, dict[int, tuple[int, int]]] = {}
        bands: dict[int, list[int]] = {}
        for index, wire in enumerate(lay.wires):
            for (x, y), arms in _wire_arms(wire).items():
                row = cells.get(y)
                if row is None:
                    row = cells[y] = {}
                if x in row:
                    crossings.setdefault(y, {})[x] = (index, arms)
                else:
                    row[x] = (index, arms)
            top, bottom = wire.rows
            for band in range(top // _BAND, bottom // _BAND + 1):
                bands.setdefault(band, []).append(index)
        self._cells = cells
        self._crossings = crossings
        self._wire_bands = bands
        self._rows: dict[int, tuple[list[str], list[str | None]]] = {}
        # ports whose operand is not in this graph (a focus view): a "⋯▶" stub, per row
        self._stubs: dict[int, list[int]] = {}
        for node, box in lay.boxes.items():
            if len(box.in_ports) > lay.graph.in_degree(node):
                present = {k for _, _, k in lay.graph.in_edges(node, keys=True)}
                for slot, port in enumerate(box.in_ports):
                    if slot not in present:
                        self._stubs.setdefault(port, []).append(box.x - 1)
        box_bands: dict[int, list[int]] = {}
        for node, box in lay.boxes.items():
            for band in range(box.y // _BAND, (box.y + box.h - 1) // _BAND + 1):
                box_bands.setdefault(band, []).append(node)
        self._bands = box_bands
        self._box_cache: dict[tuple[object, ...], tuple[list[str], list[list[str | None]]]] = {}
        self._ranks: tuple[Mapping[EdgeKey, EdgeKind], dict[int, list[int]]] | None = None

    def _idle_row(self, y: int) -> tuple[list[str], list[str | None]]:
        """Row ``y`` with every wire idle and no boxes (computed once per row)."""
        cached = self._rows.get(y)
        if cached is None:
            chars = [" "] * self.width
            styles: list[str | None] = [None] * self.width
            idle = _idle_glyphs()
            crossing = self._crossings.get(y, {})
            for x, (_, arms) in self._cells.get(y, {}).items():
                chars[x] = _CROSSING if x in crossing else idle[arms]
                styles[x] = "edge.idle"
            for x in self._stubs.get(y, ()):
                chars[x - 1 : x + 1] = ["⋯", ARROW]
                styles[x - 1 : x + 1] = ["edge.hidden", "edge.hidden"]
            cached = self._rows[y] = (chars, styles)
        return cached

    # --- ownership ----------------------------------------------------------------------

    def owners(self, x: int, y: int) -> tuple[Owner, ...]:
        """Who owns cell ``(x, y)``: a node, the edges whose paths run through it (several
        where a value fans out, two sources' edges at a crossing), or nobody."""
        for node in self._bands.get(y // _BAND, ()):
            if self.boxes[node].contains(x, y):
                return (node,)
        found: list[EdgeKey] = []
        for index in self._cell_wires(x, y):
            found += self._edges_through(self.wires[index], x, y)
        return tuple(found)

    def _cell_wires(self, x: int, y: int) -> list[int]:
        first = self._cells.get(y, {}).get(x)
        if first is None:
            return []
        second = self._crossings.get(y, {}).get(x)
        return [first[0]] if second is None else [first[0], second[0]]

    def _edges_through(self, wire: Wire, x: int, y: int) -> list[EdgeKey]:
        """The engine edges whose paths use cell ``(x, y)`` of ``wire``."""
        sx, sy = wire.split
        on_spine = (x, y) in _spine_cells(wire)
        used = []
        for branch in wire.branches:
            vertical = x == sx and (branch.row <= y <= sy or sy <= y <= branch.row)
            horizontal = y == branch.row and sx <= x <= branch.end
            if on_spine or vertical or horizontal:
                used.append(branch)
        edges: list[EdgeKey] = []
        for branch in used:
            if branch.edge is not None:
                edges.append(branch.edge)
            else:
                edges += self._beyond(wire.source, branch.lane or 0)
        return edges

    def _beyond(self, source: int, lane: int) -> list[EdgeKey]:
        """The edges from ``source`` whose target lies right of column ``lane``."""
        boxes = self.boxes
        return [
            (u, v, k)
            for u, v, k in self.graph.out_edges(source, keys=True)
            if boxes[v].layer > lane
        ]

    def edge_cells(self, edge: EdgeKey) -> list[tuple[int, int]]:
        """The cells of one edge, from its source box to its arrow head."""
        return self.layout.cells(edge)

    def node_at(self, x: int, y: int) -> int | None:
        """The node whose box covers ``(x, y)``, for hit-testing."""
        for node in self._bands.get(y // _BAND, ()):
            if self.boxes[node].contains(x, y):
                return node
        return None

    def _boxes_in(self, y0: int, h: int) -> list[int]:
        found: set[int] = set()
        for band in range(y0 // _BAND, (y0 + h - 1) // _BAND + 1):
            found.update(self._bands.get(band, ()))
        return sorted(found)

    def _wires_in(self, y0: int, h: int) -> list[int]:
        found: set[int] = set()
        for band in range(y0 // _BAND, (y0 + h - 1) // _BAND + 1):
            found.update(self._wire_bands.get(band, ()))
        return sorted(found)

    # --- styles -----------------------------------------------------------------------------

    def _branch_ranks(self, view: View) -> dict[int, list[int]]:
        """The rank of every branch of every wire that carries a non-idle edge, by wire."""
        if self._ranks is not None and self._ranks[0] is view.edges:
            return self._ranks[1]
        boxes = self.boxes
        # per source: for each rank, the furthest column an edge of that rank reaches
        reach: dict[int, list[int]] = {}
        ranked: dict[EdgeKey, int] = {}
        for key, kind in view.edges.items():
            rank = _RANKS.get(kind, 0)
            if not rank or key[0] not in boxes or key[1] not in boxes:
                continue  # idle, or an edge a focus view leaves out
            ranked[key] = rank
            far = reach.get(key[0])
            if far is None:
                far = reach[key[0]] = [-1, -1, -1, -1]
            far[rank] = max(far[rank], boxes[key[1]].layer)
        result: dict[int, list[int]] = {}
        wire_of = self.layout.wire_of
        for source, far in reach.items():
            channel = boxes[source].layer
            last = max(far)
            while channel < last:
                index = wire_of.get((source, channel))
                if index is None:
                    break
                wire = self.wires[index]
                ranks = []
                lane = None
                for branch in wire.branches:
                    if branch.edge is not None:
                        ranks.append(ranked.get(branch.edge, 0))
                    else:
                        lane = branch.lane
                        ranks.append(max((r for r in range(4) if far[r] > (lane or 0)), default=0))
                result[index] = ranks
                if lane is None:
                    break
                channel = lane
        self._ranks = (view.edges, result)  # kept: the same mapping is asked again and again
        return result

    # --- rendering ----------------------------------------------------------------------

    def render(self, view: View | None = None) -> Rendered:
        """The whole canvas."""
        return self.window(0, 0, self.width, self.height, view)

    def view_window(self, x0: int, y0: int, w: int, h: int, view: View | None = None) -> Rendered:
        """:meth:`window` as a screen shows it: a word or number that the left or right edge
        cuts through shows as ``…``, not as the part that fits (``-0.735149`` cut to
        ``0.735149`` reads as another number)."""
        wide = self.window(x0 - 2, y0, w + 3, h, view)
        lines = [_mark_count(line[0], _mark_cuts(line[1:]))[1:-1] for line in wide.lines]
        return Rendered(lines, [row[2:-1] for row in wide._styles])

    def wires_at(self, cells: Iterable[tuple[int, int]]) -> set[int]:
        """The wires that own any of ``cells`` (see :meth:`window`'s ``wires``)."""
        return {index for x, y in cells for index in self._cell_wires(x, y)}

    def window(
        self,
        x0: int,
        y0: int,
        w: int,
        h: int,
        view: View | None = None,
        wires: set[int] | None = None,
        *,
        styled: bool = True,
    ) -> Rendered:
        """The ``w`` x ``h`` rectangle at ``(x0, y0)``; costs only the cells inside it.

        ``wires``, if given, limits the styling to those wires (:meth:`wires_at`): the cells
        they own are exact, other wires' cells show idle (for a caller that reads only some
        cells, like the HTML export's deltas). Without ``styled`` only the characters are
        worked out (plain text: ``--graph`` to a file), and the result has no styles."""
        view = view or View()
        x1, y1 = x0 + w, y0 + h
        lead = min(max(-x0, 0), w)  # columns left of the canvas
        start, end = max(x0, 0), max(x1, 0)
        chars: list[list[str]] = []
        styles: list[list[str | None]] = []
        for row in range(y0, y1):
            if 0 <= row < self.height:
                base_chars, base_styles = self._idle_row(row)
                line = [" "] * lead + base_chars[start:end]
                if len(line) < w:  # columns right of the canvas
                    line += [" "] * (w - len(line))
                if styled:
                    sty: list[str | None] = [None] * lead
                    sty += base_styles[start:end]
                    sty += [None] * (w - len(sty))
                    styles.append(sty)
            else:
                line = [" "] * w
                if styled:
                    styles.append([None] * w)
            chars.append(line)
        # wires that carry a non-idle edge: paint the paths of those edges
        ranks = self._branch_ranks(view) if view.edges else {}
        if ranks:
            painted: dict[int, dict[tuple[int, int], list[int]]] = {}
            for index in self._wires_in(y0, h):
                if index in ranks and (wires is None or index in wires):
                    painted[index] = _paint(self.wires[index], ranks[index], (x0, y0, x1, y1))
            lit = {cell for cells in painted.values() for cell in cells}
            for x, y in lit:
                if x0 <= x < x1 and y0 <= y < y1:
                    char, style = self._lit_cell(x, y, painted)
                    chars[y - y0][x - x0] = char
                    if styled:
                        styles[y - y0][x - x0] = style
        for node in self._boxes_in(y0, h):
            box = self.boxes[node]
            if box.x >= x1 or box.x + box.w <= x0 or box.y >= y1 or box.y + box.h <= y0:
                continue
            lines, box_styles = self._box_image(node, view, ranks, styled=styled)
            c0 = max(x0, box.x)
            c1 = min(x1, box.x + box.w)
            for row in range(max(y0, box.y), min(y1, box.y + box.h)):
                src = row - box.y
                chars[row - y0][c0 - x0 : c1 - x0] = lines[src][c0 - box.x : c1 - box.x]
                if styled:
                    styles[row - y0][c0 - x0 : c1 - x0] = box_styles[src][c0 - box.x : c1 - box.x]
        return Rendered(["".join(line) for line in chars], styles)

    def _lit_cell(
        self, x: int, y: int, painted: dict[int, dict[tuple[int, int], list[int]]]
    ) -> tuple[str, str]:
        """The glyph and style of a cell some lit path uses: each arm heavy where an active
        path uses it, the style of the highest rank there."""
        weights = [0, 0, 0, 0]
        arrow = 0
        best = 0
        owners = [self._cells[y][x]]
        cross = self._crossings.get(y, {}).get(x)
        if cross is not None:
            owners.append(cross)
        for index, arms in owners:
            ranks = painted.get(index, {}).get((x, y))
            for i, bit in enumerate(_BITS):
                if arms & bit:
                    rank = ranks[i] if ranks else 0
                    weights[i] = max(weights[i], 2 if rank == 3 else 1)
                    best = max(best, rank)
            if arms & _ARROW_BIT:
                arrow = 1
                if ranks:
                    best = max(best, ranks[4])
        if arrow:
            return ARROW, _RANK_STYLE[best]
        if cross is None and owners[0][1] & _ALL_ARMS == _ALL_ARMS:
            return JUNCTION, _RANK_STYLE[best]
        return _glyph(*weights), _RANK_STYLE[best]

    def _box_image(
        self,
        node: int,
        view: View,
        ranks: Mapping[int, list[int]] | None = None,
        *,
        styled: bool = True,
    ) -> tuple[list[str], list[list[str | None]]]:
        """A box's lines and, if ``styled``, a style per character (else no styles)."""
        box = self.boxes[node]
        state = view.node_state(node)
        attrs = self.graph.nodes[node]
        if box.constant:
            key: tuple[object, ...] = (node,)
        else:
            grads = view.grads
            grad = None if grads is None else grads.get(node)
            index = self.layout.wire_of.get((node, box.layer))
            lit = (ranks or {}).get(index) if index is not None else None  # type: ignore[arg-type]
            ports = (bool(lit) and max(lit or [0]) == 3,) if box.out_ports else ()
            note = view.notes.get(node)
            hidden = node in view.hidden
            key = (node, state, grad, ports, note, hidden, view.forward)
        if not styled:
            key += (False,)
        cached = self._box_cache.get(key)
        if cached is not None:
            return cached
        if box.constant:
            text = str(attrs["label"]).ljust(box.w)
            lines = [text] + [" " * box.w] * (box.h - 1)
            first: list[str | None] = ["constant"] * box.w
            styles: list[list[str | None]] = [first]
            styles += [[None] * box.w for _ in range(box.h - 1)]
        elif not METRICS[self.layout.mode].border:
            shown = (NOT_COMPUTED if hidden else float(attrs["data"])) if view.forward else None  # type: ignore[arg-type]
            lines, styles = _tiny_lines(box.w, box.h, attrs, state, grad, note, shown)
        else:
            lines, styles = _box_lines(
                box.w,
                box.h,
                attrs,
                self.layout.mode,
                state,
                grad,
                box.out_ports,
                box.y,
                ports,
                note,
                hidden,
                styled,
            )
        if len(self._box_cache) > 50_000:
            self._box_cache.clear()
        self._box_cache[key] = (lines, styles)
        return lines, styles


def _runs(styles: list[str | None]) -> list[tuple[int, int, str]]:
    runs: list[tuple[int, int, str]] = []
    at = 0
    for style, group in groupby(styles):
        n = len(list(group))
        if style is not None:
            runs.append((at, at + n, style))
        at += n
    return runs


_MARKS = {"current": (" now ", "now"), "done": (" ✓ ", "✓"), "dead": (" unused ", "∅")}
"""The mark in the bottom border of a box, and a shorter one for narrow boxes. ``dead``: the
output does not use the value, so no grad ever reaches it."""


_TINY_MARKS = {"current": "●", "done": "✓", "dead": "∅", "waiting": "◌", "partial": "◐"}
"""A tiny node's state, in the cell before its name: never by colour alone (waiting is not
``…``, which reads as part of a cut name: ``… hidden_value``)."""


def _tiny_note(note: str, room: int) -> str:
    """A box's note in ``room`` columns: ``✗ correct -2.03125`` becomes ``✗ -2.03125``, then
    its number loses digits as a grad does (``✗ -2.031``); the number is never cut."""
    if len(note) <= room:
        return note
    words = note.split()
    try:
        number = float(words[-1])
    except ValueError:
        return note  # the line is cut at the box's edge
    return f"{words[0]} {fit_number(number, room - len(words[0]) - 1)}"


def _tiny_lines(
    w: int,
    h: int,
    attrs: Mapping[str, object],
    state: NodeState,
    grad: float | None,
    note: str | None = None,
    data: float | str | None = None,
) -> tuple[list[str], list[list[str | None]]]:
    """A node as ``✓ name ∇ grad`` on one line (the op form ``·*·`` under it for a binary
    op, or ``▸ note``: a collapsed group's node firing now): no border, for the smallest zoom
    level. A node with more operands than lines (a collapsed neuron) has a bracket on its left
    as tall as its operands (``┌ │ └``, heavy when it fires), so every arrow meets it. In the
    forward pass ``data`` (a number, or ``—`` not computed yet) is shown instead of the grad:
    ``✓ w*x = -0.75``."""
    base = "node." + state.kind
    if tiny_bracket(attrs):
        inner, inner_styles = _tiny_lines(w - 1, h, {**attrs, "arity": 1}, state, grad, note, data)
        b = 2 if state.kind == "current" else 1
        glyphs = [_glyph(0, b, 0, b)] + [_glyph(b, b, 0, 0)] * (h - 2) + [_glyph(b, 0, 0, b)]
        bracket: list[str | None] = [base]
        return (
            [glyph + line for glyph, line in zip(glyphs, inner, strict=True)],
            [bracket + row for row in inner_styles],
        )
    mark = _TINY_MARKS.get(state.kind, " ")
    if state.kind == "waiting" and state.pending == 0:
        mark = "○"  # ready: it has every contribution
    if note and h == 1 and note.startswith("✗"):
        mark = "✗"  # a bug mode's wrong grad on a box with no row for the note (an input)
    op = node_form(attrs)
    name = header_text(node_label(attrs, "tiny"), "", "tiny") or op
    first = f"{mark} {name}"
    styles_first: list[str | None] = [base + " mark"] + [base] + [base + " label"] * len(name)
    if data is not None:
        value = data if isinstance(data, str) else fit_number(data, TINY_GRAD_WIDTH)
        first += " = " + value
        styles_first += [base] * 3 + [base] * len(value)
    elif attrs["requires_grad"]:
        value = NOT_COMPUTED if grad is None else fit_number(grad, TINY_GRAD_WIDTH)
        first += " ∇ " + value
        styles_first += [base] * 3 + [base + " grad"] * len(value)
    lines = [first.ljust(w)[:w]]
    styles = [(styles_first + [base] * w)[:w]]
    for row in range(1, h):
        text = ("  " + op) if row == 1 and attrs["label"] else ""
        if row == 1 and note:
            text = "▸ " + _tiny_note(note, w - 2)
        lines.append(text.ljust(w)[:w])
        styles.append([base + " mark" if note and row == 1 else base] * w)
    return lines, styles


def _box_lines(
    w: int,
    h: int,
    attrs: Mapping[str, object],
    mode: Mode,
    state: NodeState,
    grad: float | None,
    out_ports: tuple[int, ...],
    top: int,
    heavy_ports: tuple[bool, ...],
    note: str | None = None,
    hidden: bool = False,
    styled: bool = True,
) -> tuple[list[str], list[list[str | None]]]:
    """One box, as ``h`` lines of ``w`` characters, with a style per character (``hidden``:
    its data is not computed yet, shown ``—``; without ``styled``, no styles: plain text)."""
    metrics = METRICS[mode]
    pad = " " * metrics.pad_x
    left = 2 + metrics.pad_x  # where the header and the rows start
    heavy = state.kind == "current"
    b = 2 if heavy else 1
    hz = _glyph(0, 0, b, b)
    vt = _glyph(b, b, 0, 0)
    base = "node." + state.kind
    header = header_text(node_label(attrs, mode), str(attrs["op"]), mode, attrs.get("form"))  # type: ignore[arg-type]
    label = header.split(" = ")[0] if attrs["label"] else ""
    inner = w - 2 * left
    data = NOT_COMPUTED if hidden else format_number(float(attrs["data"]))  # type: ignore[arg-type]
    if not attrs["requires_grad"]:
        rows = [("data " if metrics.words else "", data)]
    elif metrics.words:
        grad_text = NOT_COMPUTED if grad is None else fit_number(grad, inner - 5)
        rows = [("data ", data), ("grad ", grad_text)]
    else:
        grad_text = NOT_COMPUTED if grad is None else fit_number(grad, inner - 2)
        rows = [("", data), ("∇ ", grad_text)]
    # top border with the header
    fill = w - left - 2 - len(header)
    border = _glyph(0, b, 0, b) + hz * metrics.pad_x + " " + header + " " + hz * fill
    lines = [border + _glyph(0, b, b, 0)]
    styles: list[list[str | None]] = []
    if styled:
        first: list[str | None] = [base] * w
        for i in range(left, min(left + len(label), w)):
            first[i] = base + " label"
        styles.append(first)
        styles += ([base] * w for _ in range(metrics.pad_y))
    lines += [vt + " " * (w - 2) + vt] * metrics.pad_y
    for prefix, value in rows:
        text = (prefix + value).ljust(inner)[:inner]
        lines.append(vt + " " + pad + text + pad + " " + vt)
        if styled:
            row_style: list[str | None] = [base] * w
            kind = "grad" if prefix in ("grad ", "∇ ") else "data"
            for i in range(len(prefix), len(prefix) + len(value)):
                if left + i < w - left:
                    row_style[left + i] = base + " " + kind
            styles.append(row_style)
    while len(lines) < h - 1:
        lines.append(vt + " " * (w - 2) + vt)
        if styled:
            styles.append([base] * w)
    # bottom border with the state marker
    if state.kind == "waiting":
        mark = (
            f" waits {state.pending} " if state.pending else " ready ",
            f"…{state.pending}" if state.pending else "ready",
        )
    elif state.kind == "partial":  # a collapsed group: some of its nodes fired, some not yet
        mark = (f" {state.pending} to fire ", f"…{state.pending}")
    elif state.kind == "current" and note:  # a collapsed group: which of its nodes fires
        mark = (f" now: {note} ", " now ")
        if len(mark[0]) + 3 > w - 2:
            cut = max(1, w - 2 - 3 - len(" now:  "))
            mark = (f" now: {note[: cut - 1]}… ", " now ")
    elif note:  # a word on the box: a bug mode's correct value, a path's factor
        words = note.split()
        short = f" {words[0]} {words[-1]} " if len(words) > 2 else f" {words[0]} "
        mark = (f" {note} ", short if len(short) + 3 <= w - 2 else f" {words[0]} ")
    else:
        mark = _MARKS.get(state.kind, ("", ""))
    text = mark[0] if len(mark[0]) + 3 <= w - 2 else mark[1]
    if len(text) + 3 > w - 2:
        text = ""
    bottom = _glyph(b, 0, 0, b) + hz * (w - 3 - len(text)) + text + hz + _glyph(b, 0, b, 0)
    lines.append(bottom)
    if styled:
        bottom_style: list[str | None] = [base] * w
        if text.strip():
            bottom_style[w - 2 - len(text) : w - 2] = [base + " mark"] * len(text)
        styles.append(bottom_style)
    # ports where edges leave
    for row, port_heavy in zip(out_ports, heavy_ports + (False,) * len(out_ports), strict=False):
        r = row - top
        line = lines[r]
        lines[r] = line[:-1] + _glyph(b, b, 0, 2 if port_heavy else 1)
    return lines, styles


def draw(lay: Layout) -> Drawing:
    """Index a layout for rendering (see :class:`Drawing`)."""
    return Drawing(lay)


# --- colour ---------------------------------------------------------------------------------

_SGR = {
    "node.current": "1;33",
    "node.done": "32",
    "node.waiting": "2",
    "node.partial": "2",
    "node.dead": "2",
    "edge.dead": "2",
    "edge.active": "1;33",
    "edge.done": "32",
    "edge.hidden": "2",
    "label": "1",
    "grad": "35",
    "constant": "36",
    "mark": "1",
}


def to_ansi(rendered: Rendered) -> str:
    """The rendered text with SGR colour codes (bold yellow = now, green = done, dim = waiting)."""
    out: list[str] = []
    for line, runs in zip(rendered.lines, rendered.spans, strict=False):
        parts: list[str] = []
        at = 0
        for start, end, style in runs:
            codes = ";".join(c for c in (_SGR.get(s) for s in style.split()) if c)
            if not codes:
                continue
            parts.append(line[at:start])
            parts.append(f"\x1b[{codes}m{line[start:end]}\x1b[0m")
            at = end
        parts.append(line[at:])
        out.append("".join(parts).rstrip())
    return "\n".join(out)


# --- the CLI's entry point --------------------------------------------------------------------


def _pass_grads(root: Value) -> dict[Value, float]:
    """The grads of one backward pass from ``root``, leaving every ``.grad`` as it was."""
    from engine import nodes

    saved = [(v, v.grad) for v in nodes(root)]
    try:
        trace = run_backward(root, trace=True)
        assert trace is not None
        return dict(trace.grads)
    finally:
        for v, g in saved:
            v.grad = g


MAX_CELLS = 10_000_000
"""The largest drawing ``--graph`` prints, in characters: far more than anyone reads, and a
bound on the time and memory printing takes."""


class TooLarge(Exception):
    """A drawing beyond :data:`MAX_CELLS` or :data:`~stepgrad.layout.MAX_LANES`: one line says
    how large and what to use instead."""


def render_text(
    root: Value,
    names: Mapping[Value, str] | None = None,
    *,
    backward: bool = False,
    color: bool = False,
    width: int | None = None,
    legend: bool = False,
    mode: Mode = "full",
    ascii: bool = False,
    order: Sequence[Value] | None = None,
    passes: int = 1,
) -> str:
    """The drawing of ``root``'s graph, for ``stepgrad PROGRAM --graph``.

    Without ``backward`` every grad shows ``—``; with it, the grads of one full backward pass
    from ``root`` (computed here, without changing any ``.grad``). ``color`` adds SGR codes.
    ``mode`` is the box mode (:data:`~stepgrad.layout.Mode`); if ``width`` is given and the
    drawing is wider, the compact mode is used instead, and if that is still wider it is cut at
    ``width`` with a note (a terminal would wrap each line). ``legend`` adds :data:`LEGEND` under
    the drawing. ``ascii`` draws with ``-|+>`` and spells every symbol in ASCII, for an output
    whose encoding has no box drawing (names are converted before the layout measures them).
    ``order`` lists the nodes to draw (see :func:`~stepgrad.layout.to_networkx`): values the
    output does not use are drawn dimmed, marked ``unused``, with grad 0. ``passes`` (with
    ``backward``): the grads after that many passes without ``zero_grad``, each adding its own.

    Raises :class:`TooLarge` for a drawing that would exceed :data:`MAX_CELLS` characters or
    :data:`~stepgrad.layout.MAX_LANES` lanes, before drawing it.
    """
    if ascii and names is not None:
        names = {node: to_ascii(name) for node, name in names.items()}
    graph = to_networkx(root, names, order)
    count = lanes(graph)
    if count > MAX_LANES:
        raise TooLarge(
            f"the graph is too large to draw: its values would cross {count:,} columns on the "
            f"way to their consumers (the limit is {MAX_LANES:,})"
        )
    laid = layout(graph, mode=mode)
    if width is not None and laid.width > width:
        laid = layout(graph, mode="compact")
    cut = width if width is not None and laid.width > width else None
    cells = (cut or laid.width) * laid.height
    if cells > MAX_CELLS:  # known from the layout: refused before indexing every cell
        raise TooLarge(
            f"the drawing would be {laid.width:,} × {laid.height:,} characters, more than "
            f"--graph prints ({MAX_CELLS:,})"
        )
    drawing = draw(laid)
    ids = {attrs["value"]: n for n, attrs in graph.nodes(data=True)}
    live = nx.ancestors(graph, ids[root]) | {ids[root]}
    dead = {n: NodeState("dead") for n in graph if n not in live}
    dead_edges: dict[EdgeKey, EdgeKind] = {
        (u, v, k): "dead" for u, v, k in graph.in_edges(list(dead), keys=True)
    }
    grads: dict[int, float] | None = None
    if backward:
        pass_grads = _pass_grads(root)
        if passes > 1:  # each pass adds its own grads, as .grad += does
            own = dict(pass_grads)
            for _ in range(passes - 1):
                pass_grads = {v: pass_grads[v] + g for v, g in own.items()}
        grads = {
            n: pass_grads[attrs["value"]]
            for n, attrs in graph.nodes(data=True)
            if attrs["value"] in pass_grads
        }
        grads.update((n, 0.0) for n in dead)
    view = View(grads, dead, dead_edges)
    band = 64  # rendered a band of rows at a time: a large drawing never sits in memory twice
    shown = cut if cut is not None else drawing.width
    parts = []
    for y in range(0, drawing.height, band):
        rendered = drawing.window(0, y, shown, min(band, drawing.height - y), view, styled=color)
        parts.append(to_ansi(rendered) if color else rendered.text)
    text = "\n".join(parts).replace(_WIDE_FILL, "")  # a grid's fill: no column of its own
    if cut is not None:
        text += (
            f"\n(cut at {width} of {drawing.width} columns; to see it all: "
            "stepgrad ... --graph | less -S)"
        )
    if legend:
        text = f"{text}\n\n{LEGEND}"
    return ascii_drawing(text) if ascii else text
