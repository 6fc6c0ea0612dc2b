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
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import groupby
from typing import Literal

import networkx as nx

from engine import Trace, Value
from engine.backward import backward as run_backward
from engine.numbers import format_number
from engine.text import to_ascii

from .layout import METRICS, EdgeKey, Layout, Mode, focus, header_text, layout, to_networkx

__all__ = [
    "Drawing",
    "EdgeKind",
    "LEGEND",
    "NodeKind",
    "NodeState",
    "Owner",
    "Rendered",
    "View",
    "ascii_drawing",
    "draw",
    "fit_number",
    "focus",
    "render_text",
    "step_view",
    "to_ansi",
]

NodeKind = Literal["idle", "current", "done", "waiting", "dead"]
EdgeKind = Literal["idle", "active", "done", "dead"]
Owner = int | EdgeKey
"""What a cell belongs to: a node key (``int``) or an edge ``(parent, child, index)``."""

NOT_COMPUTED = "—"
"""Shown for a grad that has not been computed yet: never confused with zero."""
ARROW = "▶"
LEGEND = (
    "e = ·*· : e is made by * from the values whose arrows enter its box, the first operand at "
    "the top.  grad — : not computed yet."
)
"""One line explaining the drawing, for ``render_text(..., legend=True)``."""

# arms of an edge cell, as a bit mask
_UP, _DOWN, _LEFT, _RIGHT = 1, 2, 4, 8
_ARROW_BIT = 16


# --- states ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NodeState:
    """How a node is shown: ``kind`` and, for ``waiting``, how many contributions it awaits."""

    kind: NodeKind = "idle"
    pending: int = 0


IDLE = NodeState()


@dataclass(slots=True)
class View:
    """What the drawing shows at one moment.

    Attributes:
        grads: the grad shown for each node; nodes missing here (or all nodes, when None) show
            ``—``: not computed yet.
        nodes: node -> :class:`NodeState` (or just its kind); missing nodes are idle.
        edges: edge -> ``"active"`` / ``"done"`` / ``"idle"``; missing edges are idle.
    """

    grads: Mapping[int, float] | None = None
    nodes: Mapping[int, NodeState | NodeKind] = field(default_factory=dict)
    edges: Mapping[EdgeKey, EdgeKind] = field(default_factory=dict)

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


@lru_cache(maxsize=1)
def _idle_glyphs() -> list[str]:
    """Arm bit mask -> the light glyph (the arrow head when the arrow bit is set)."""
    table = []
    for arms in range(32):
        if arms & _ARROW_BIT:
            table.append(ARROW)
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
                        "✓": "*"}.items():  # fmt: skip
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


_BAND = 16  # rows per bucket of the box index


class Drawing:
    """A laid-out graph ready to render: cell ownership plus box and edge geometry.

    Build it once per layout with :func:`draw`; render as often as the view changes.
    """

    def __init__(self, lay: Layout) -> None:
        self.layout = lay
        self.graph = lay.graph
        self.width = lay.width
        self.height = lay.height
        self.boxes = lay.boxes
        self.routes = lay.routes
        # edge cells, per row: x -> arm bits and x -> edge; a crossing's second edge on the side
        arms_rows: dict[int, dict[int, int]] = {}
        owner_rows: dict[int, dict[int, EdgeKey]] = {}
        crossings: dict[int, dict[int, tuple[EdgeKey, int]]] = {}

        def put(x: int, y: int, key: EdgeKey, arms: int) -> None:
            row = arms_rows.get(y)
            if row is None:
                row = arms_rows[y] = {}
                owner_rows[y] = {}
            if x in row:
                crossings.setdefault(y, {})[x] = (key, arms)
            else:
                row[x] = arms
                owner_rows[y][x] = key

        for key, points in lay.routes.items():
            incoming = _LEFT  # the first cell joins the port on the source box's border
            px, py = points[0]
            for x, y in points[1:]:
                if y == py:
                    step = 1 if x > px else -1
                    out, back, through = (
                        (_RIGHT, _LEFT, _LEFT | _RIGHT)
                        if step == 1
                        else (_LEFT, _RIGHT, _LEFT | _RIGHT)
                    )
                    put(px, py, key, incoming | out)
                    row = arms_rows.get(y)
                    for cx in range(px + step, x, step):
                        if row is not None and cx in row:
                            crossings.setdefault(y, {})[cx] = (key, through)
                        else:
                            put(cx, y, key, through)
                            row = arms_rows[y]
                else:
                    step = 1 if y > py else -1
                    out, back, through = (
                        (_DOWN, _UP, _UP | _DOWN) if step == 1 else (_UP, _DOWN, _UP | _DOWN)
                    )
                    put(px, py, key, incoming | out)
                    for cy in range(py + step, y, step):
                        put(x, cy, key, through)
                incoming = back
                px, py = x, y
            put(px, py, key, incoming | _ARROW_BIT)
        self._arms = arms_rows
        self._owner = owner_rows
        self._crossings = crossings
        self._edge_count = {y: len(row) for y, row in arms_rows.items()}
        self._length = {
            key: sum(
                abs(x1 - x0) + abs(y1 - y0)
                for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False)
            )
            + 1
            for key, points in lay.routes.items()
        }
        self._rows: dict[int, tuple[list[str], list[str | None]]] = {}
        # ports whose operand is not in this graph (a focus view): a "⋯▶" stub, per row
        self._stubs: dict[int, list[int]] = {}
        for node, box in lay.boxes.items():
            if len(box.in_ports) > lay.graph.in_degree(node):
                present = {k for _, _, k in lay.graph.in_edges(node, keys=True)}
                for slot, port in enumerate(box.in_ports):
                    if slot not in present:
                        self._stubs.setdefault(port, []).append(box.x - 1)
        bands: dict[int, list[int]] = {}
        for node, box in lay.boxes.items():
            for band in range(box.y // _BAND, (box.y + box.h - 1) // _BAND + 1):
                bands.setdefault(band, []).append(node)
        self._bands = bands
        self._out_edges: dict[int, list[EdgeKey]] = {}
        for key in sorted(lay.routes, key=lambda k: lay.routes[k][0][1]):
            self._out_edges.setdefault(key[0], []).append(key)
        self._box_cache: dict[tuple[object, ...], tuple[list[str], list[list[str | None]]]] = {}

    def _idle_row(self, y: int) -> tuple[list[str], list[str | None]]:
        """Row ``y`` with every edge idle and no boxes (computed once per row)."""
        cached = self._rows.get(y)
        if cached is None:
            chars = [" "] * self.width
            styles: list[str | None] = [None] * self.width
            idle = _idle_glyphs()
            for x, arms in self._arms.get(y, {}).items():
                chars[x] = idle[arms]
                styles[x] = "edge.idle"
            for x, (_, arms) in self._crossings.get(y, {}).items():
                chars[x] = idle[self._arms[y][x] | arms]
            for x in self._stubs.get(y, ()):
                chars[x - 1 : x + 1] = ["⋯", ARROW]
                styles[x - 1 : x + 1] = ["edge.hidden", "edge.hidden"]
            cached = self._rows[y] = (chars, styles)
        return cached

    # --- ownership ----------------------------------------------------------------------

    def owners(self, x: int, y: int) -> tuple[Owner, ...]:
        """Who owns cell ``(x, y)``: a node, one edge, two edges at a crossing, or nobody."""
        for node in self._bands.get(y // _BAND, ()):
            if self.boxes[node].contains(x, y):
                return (node,)
        return tuple(key for key, _ in self._cell_owners(x, y))

    def _cell_owners(self, x: int, y: int) -> list[tuple[EdgeKey, int]]:
        """The edges through one cell with their arm bits (two at a crossing)."""
        arms = self._arms.get(y, {}).get(x)
        if arms is None:
            return []
        owners = [(self._owner[y][x], arms)]
        cross = self._crossings.get(y, {}).get(x)
        if cross is not None:
            owners.append(cross)
        return owners

    def edge_cells(self, edge: EdgeKey) -> list[tuple[int, int]]:
        """The cells of one edge, from its source box to its arrow head."""
        return self.layout.cells(edge)

    def node_at(self, x: int, y: int) -> int | None:
        """The node whose box covers ``(x, y)``, for hit-testing."""
        owners = self.owners(x, y)
        return owners[0] if owners and isinstance(owners[0], int) else None

    def _boxes_in(self, y0: int, h: int) -> list[int]:
        found: set[int] = set()
        for band in range(y0 // _BAND, (y0 + h - 1) // _BAND + 1):
            found.update(self._bands.get(band, ()))
        return sorted(found)

    # --- rendering ----------------------------------------------------------------------

    def render(self, view: View | None = None) -> Rendered:
        """The whole canvas."""
        return self.window(0, 0, self.width, self.height, view)

    def window(self, x0: int, y0: int, w: int, h: int, view: View | None = None) -> Rendered:
        """The ``w`` x ``h`` rectangle at ``(x0, y0)``; costs only the cells inside it."""
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
                sty: list[str | None] = [None] * lead
                sty += base_styles[start:end]
                if len(line) < w:  # columns right of the canvas
                    line += [" "] * (w - len(line))
                    sty += [None] * (w - len(sty))
            else:
                line = [" "] * w
                sty = [None] * w
            chars.append(line)
            styles.append(sty)
        # edges that are not idle: walk whichever is shorter, their cells or the window's
        states = {k: v for k, v in view.edges.items() if v != "idle"}
        if states:
            in_window = sum(self._edge_count.get(r, 0) for r in range(y0, y1))
            along = sum(self._length[k] for k in states if k in self._length)
            if along < in_window:
                spots = {
                    (x, y)
                    for k in states
                    if k in self.routes
                    for x, y in self.layout.cells(k)
                    if x0 <= x < x1 and y0 <= y < y1
                }
            else:
                spots = {
                    (x, y) for y in range(y0, y1) for x in self._arms.get(y, ()) if x0 <= x < x1
                }
            for x, y in spots:
                owners = self._cell_owners(x, y)
                if any(key in states for key, _ in owners):
                    chars[y - y0][x - x0], styles[y - y0][x - x0] = _edge_cell(owners, states)
        for node in self._boxes_in(y0, h):
            box = self.boxes[node]
            if box.x >= x1 or box.x + box.w <= x0 or box.y >= y1 or box.y + box.h <= y0:
                continue
            lines, box_styles = self._box_image(node, view)
            c0 = max(x0, box.x)
            c1 = min(x1, box.x + box.w)
            for row in range(max(y0, box.y), min(y1, box.y + box.h)):
                src = row - box.y
                chars[row - y0][c0 - x0 : c1 - x0] = lines[src][c0 - box.x : c1 - box.x]
                styles[row - y0][c0 - x0 : c1 - x0] = box_styles[src][c0 - box.x : c1 - box.x]
        return Rendered(["".join(line) for line in chars], styles)

    def _box_image(self, node: int, view: View) -> tuple[list[str], list[list[str | None]]]:
        box = self.boxes[node]
        state = view.node_state(node)
        attrs = self.graph.nodes[node]
        if box.constant:
            key: tuple[object, ...] = (node,)
        else:
            grads = view.grads
            grad = None if grads is None else grads.get(node)
            ports = tuple(
                view.edges.get(k, "idle") == "active" for k in self._out_edges.get(node, ())
            )
            key = (node, state, grad, ports)
        cached = self._box_cache.get(key)
        if cached is not None:
            return cached
        if box.constant:
            text = str(attrs["label"]).ljust(box.w)
            lines = [text] + [" " * box.w] * (box.h - 1)
            first: list[str | None] = ["constant"] * box.w
            styles: list[list[str | None]] = [first]
            styles += [[None] * box.w for _ in range(box.h - 1)]
        else:
            lines, styles = _box_lines(
                box.w, box.h, attrs, self.layout.mode, state, grad, box.out_ports, box.y, ports
            )
        if len(self._box_cache) > 50_000:
            self._box_cache.clear()
        self._box_cache[key] = (lines, styles)
        return lines, styles


def _edge_cell(
    owners: list[tuple[EdgeKey, int]], states: Mapping[EdgeKey, EdgeKind]
) -> tuple[str, str]:
    """The character and style of one edge cell (two owners at a crossing)."""
    u = d = left = r = 0
    arrow = False
    best = "edge.idle"
    for key, arms in owners:
        kind = states.get(key, "idle")
        weight = 2 if kind == "active" else 1
        if kind == "active" or (kind in ("done", "dead") and best == "edge.idle"):
            best = "edge." + kind
        if arms & _ARROW_BIT:
            arrow = True
        if arms & _UP:
            u = max(u, weight)
        if arms & _DOWN:
            d = max(d, weight)
        if arms & _LEFT:
            left = max(left, weight)
        if arms & _RIGHT:
            r = max(r, weight)
    if arrow:
        return ARROW, best
    return _glyph(u, d, left, r), best


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
) -> tuple[list[str], list[list[str | None]]]:
    """One box, as ``h`` lines of ``w`` characters, with a style per character."""
    metrics = METRICS[mode]
    pad = " " * metrics.pad_x
    left = 2 + metrics.pad_x  # where the header and the rows start
    heavy = state.kind == "current"
    b = 2 if heavy else 1
    hz = _glyph(0, 0, b, b)
    vt = _glyph(b, b, 0, 0)
    base = "node." + state.kind
    header = header_text(str(attrs["label"]), str(attrs["op"]), mode)
    label = header.split(" = ")[0] if attrs["label"] else ""
    inner = w - 2 * left
    data = format_number(float(attrs["data"]))  # type: ignore[arg-type]
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
    styles: list[list[str | None]] = [[base] * w]
    for i in range(len(label)):
        if left + i < w:
            styles[0][left + i] = base + " label"
    for _ in range(metrics.pad_y):
        lines.append(vt + " " * (w - 2) + vt)
        styles.append([base] * w)
    for prefix, value in rows:
        text = (prefix + value).ljust(inner)[:inner]
        lines.append(vt + " " + pad + text + pad + " " + vt)
        row_style: list[str | None] = [base] * w
        kind = "grad" if prefix in ("grad ", "∇ ") else "data"
        for i in range(len(prefix), len(prefix) + len(value)):
            if left + i < w - left:
                row_style[left + i] = base + " " + kind
        styles.append(row_style)
    while len(lines) < h - 1:
        lines.append(vt + " " * (w - 2) + vt)
        styles.append([base] * w)
    # bottom border with the state marker
    if state.kind == "waiting":
        mark = (
            f" waits {state.pending} " if state.pending else " ready ",
            f"…{state.pending}" if state.pending else "ready",
        )
    else:
        mark = _MARKS.get(state.kind, ("", ""))
    text = mark[0] if len(mark[0]) + 3 <= w - 2 else mark[1]
    if len(text) + 3 > w - 2:
        text = ""
    bottom = _glyph(b, 0, 0, b) + hz * (w - 3 - len(text)) + text + hz + _glyph(b, 0, b, 0)
    lines.append(bottom)
    bottom_style: list[str | None] = [base] * w
    for i in range(w - 2 - len(text), w - 2):
        if text.strip():
            bottom_style[i] = base + " mark"
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
) -> str:
    """The drawing of ``root``'s graph, for ``stepgrad PROGRAM --graph``.

    Without ``backward`` every grad shows ``—``; with it, the grads of one full backward pass
    from ``root`` (computed here, without changing any ``.grad``). ``color`` adds SGR codes.
    ``mode`` is the box mode (:data:`~stepgrad.layout.Mode`); if ``width`` is given and the
    drawing is wider, the compact mode is used instead, and if that is still wider it is cut at
    ``width`` with a note (a terminal would wrap each line). ``legend`` adds :data:`LEGEND` under
    the drawing. ``ascii`` draws with ``-|+>`` and spells every symbol in ASCII, for an output
    whose encoding has no box drawing (names are converted before the layout measures them).
    """
    if ascii and names is not None:
        names = {node: to_ascii(name) for node, name in names.items()}
    graph = to_networkx(root, names)
    drawing = draw(layout(graph, mode=mode))
    if width is not None and drawing.width > width:
        drawing = draw(layout(graph, mode="compact"))
    grads: dict[int, float] | None = None
    if backward:
        pass_grads = _pass_grads(root)
        grads = {
            n: pass_grads[attrs["value"]]
            for n, attrs in graph.nodes(data=True)
            if attrs["value"] in pass_grads
        }
    cut = width if width is not None and drawing.width > width else None
    if cut is not None:  # a terminal would wrap every line into loose wire pieces: cut them
        rendered = drawing.window(0, 0, cut, drawing.height, View(grads))
    else:
        rendered = drawing.render(View(grads))
    text = to_ansi(rendered) if color else rendered.text
    if cut is not None:
        text += (
            f"\n(cut at {width} of {drawing.width} columns; to see it all: "
            "stepgrad ... --graph | less -S)"
        )
    if legend:
        text = f"{text}\n\n{LEGEND}"
    return ascii_drawing(text) if ascii else text
