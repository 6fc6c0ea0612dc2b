"""Engine graph -> networkx graph -> positions of boxes and routed edges, in character cells.

Plain functions, no UI: the CLI, the Textual widget and the tests all call these.

The graph model
---------------
:func:`to_networkx` returns a :class:`networkx.MultiDiGraph` (a subclass of ``DiGraph``): node
keys are ints in :func:`engine.nodes` order (parents before children), and every operand of an
op is its own edge ``parent -> child`` whose *key* is the operand position, also stored as the
edge attribute ``index``. So ``a*a`` gives two edges ``(a, out, 0)`` and ``(a, out, 1)``, and an
edge is named everywhere by its :data:`EdgeKey` ``(parent, child, index)``.

The op is drawn in the header of the result's box (``e = ·*·``), not as a node of its own, so
every engine edge is exactly one drawn path, and a step of the backward pass lights up exactly
the paths of its trace edges. Operands enter a box in order: operand 0 at the top port.

The layout (a small Sugiyama pipeline)
--------------------------------------
1. Layers from networkx: the topological generations of the *reversed* graph give each node its
   longest distance to a sink, so every node sits as late as possible (a leaf is next to its
   first consumer, the output is on the right).
2. Edges that span several layers get one dummy "lane" per layer they cross.
3. Barycenter sweeps (down and up, keeping the order with the fewest crossings).
4. Rows: alternating sweeps pull each element towards the rows of its neighbours' ports, solved
   exactly per layer with isotonic regression so boxes keep their order and spacing.
5. Channels between columns: every edge segment gets its own vertical track; tracks are ordered
   so that no two edges ever share a cell except where one horizontal crosses one vertical;
   a segment that cannot be ordered (two edges swapping rows) takes a dogleg on a free row.
"""

from __future__ import annotations

# The records here are NamedTuples and plain classes with slots, not dataclasses: making a
# dataclass runs generated code through exec (11 of them took 4.4 ms), and the app imports this
# module on its way to the first graph.
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Mapping, Sequence
from itertools import repeat
from typing import Literal, NamedTuple

import networkx as nx

from engine import OPS, Value, nodes
from engine.numbers import format_number

__all__ = [
    "Box",
    "EdgeKey",
    "Layout",
    "METRICS",
    "Metrics",
    "Mode",
    "arity_of",
    "box_size",
    "focus",
    "LEVELS",
    "MAX_LANES",
    "fit",
    "lanes",
    "layers_of",
    "layout",
    "node_form",
    "node_label",
    "node_name",
    "op_form",
    "spread",
    "tiny_bracket",
    "to_networkx",
]

EdgeKey = tuple[int, int, int]
"""An edge: ``(parent, child, index)``, the index being the operand position in the child's op."""

Mode = Literal["full", "compact", "lecture", "tiny"]
"""Box contents and spacing: ``full`` = name and op / ``data 8.125`` / ``grad 1``; ``compact`` =
a shorter name and op / ``8.125`` / ``∇ 1``, in narrower boxes; ``lecture`` = ``full`` with
padded boxes and wider gaps, to read from the back of a room; ``tiny`` = no box at all, one line
``✓ name ∇ grad`` (and the op on a second line for a binary op), tightly packed, for networks
(see :data:`METRICS`)."""

GRAD_WIDTH = 8
"""Characters reserved for a grad in a box; wider grads are shown with fewer digits."""
NAME_WIDTH = 24
"""Longest name shown in a full (and lecture) box header; longer names are cut with ``…``."""
COMPACT_NAME_WIDTH = 14
"""Longest name shown in a compact box header."""
TINY_GRAD_WIDTH = 6
"""Characters reserved for a grad on a tiny node's line."""
CHANNEL_LEAD = 2
"""Cells between the widest box of a column and the first track of the channel after it
(full and compact modes; each mode's spacing is in :data:`METRICS`)."""
CHANNEL_TAIL = 3
"""Cells between the last track of a channel and the next column (``─▶`` and a space)."""
TRACK_STEP = 2
"""Distance between two vertical tracks of a channel."""


class Metrics(NamedTuple):
    """How a :data:`Mode` sizes and spaces the drawing; every mode is one row of :data:`METRICS`.

    Attributes:
        words: rows say ``data 8.125`` / ``grad 1`` (else ``8.125`` / ``∇ 1``).
        name_width: the longest name shown in a box header; longer names are cut with ``…``.
        pad_x: blank columns inside a box on each side, beyond the one every box has.
        pad_y: blank rows inside a box above and below its rows (ports stay on the rows).
        row_gap: blank rows between two boxes of a column.
        channel_lead: cells between a column's widest box and the first track after it.
        channel_tail: cells between the last track of a channel and the next column.
        track_step: distance between two vertical tracks of a channel.
        border: boxes have a border (every mode but ``tiny``).
    """

    words: bool
    name_width: int
    pad_x: int = 0
    pad_y: int = 0
    row_gap: int = 1
    channel_lead: int = CHANNEL_LEAD
    channel_tail: int = CHANNEL_TAIL
    track_step: int = TRACK_STEP
    border: bool = True


METRICS: dict[Mode, Metrics] = {
    "full": Metrics(words=True, name_width=NAME_WIDTH),
    "compact": Metrics(
        words=False, name_width=COMPACT_NAME_WIDTH, channel_lead=1, channel_tail=2, track_step=1
    ),
    "lecture": Metrics(
        words=True,
        name_width=NAME_WIDTH,
        pad_x=1,
        pad_y=1,
        row_gap=2,
        channel_lead=4,
        channel_tail=6,
        track_step=3,
    ),
    "tiny": Metrics(
        words=False,
        name_width=COMPACT_NAME_WIDTH,
        row_gap=0,
        channel_lead=0,  # a tiny node ends in a blank column of its own: the gap is there
        channel_tail=1,  # the arrow head right after the track: ``└▶``
        track_step=1,
        border=False,
    ),
}
"""The :class:`Metrics` of each :data:`Mode`. The tiny level is packed as tight as it reads (a
straight edge still takes ``─▶``): a drawing that fits with room to spare gets the room back
between its columns (see :func:`spread`)."""


# --- the graph ------------------------------------------------------------------------------


def node_name(value: Value, names: Mapping[Value, str] | None = None) -> str:
    """The name shown for a value: ``names[value]``, else its label, else a constant's number."""
    if names is not None:
        name = names.get(value)
        if name:
            return name
    if value.label:
        return value.label
    if not value.parents and not value.requires_grad:
        return format_number(value.data)
    return ""


def to_networkx(
    root: Value,
    names: Mapping[Value, str] | None = None,
    order: Sequence[Value] | None = None,
) -> nx.MultiDiGraph:
    """The graph of ``root`` as a :class:`networkx.MultiDiGraph`.

    ``order`` lists the nodes to draw, parents first (default: :func:`engine.nodes` of ``root``);
    a program passes its :meth:`~engine.parse.Program.nodes`, which adds the values the output
    does not use. Nodes are ints ``0..n-1`` in that order, with attributes ``label`` (the
    display name, see :func:`node_name`), ``op`` (``""`` for a leaf), ``data``, ``grad``,
    ``requires_grad`` and ``value`` (the :class:`engine.Value`). Edges go parent -> child with
    key and attribute ``index``: the operand position.
    """
    order = nodes(root) if order is None else order
    ids = {value: i for i, value in enumerate(order)}
    graph = nx.MultiDiGraph()
    graph.add_nodes_from(
        (
            i,
            {
                "label": node_name(value, names),
                "op": value.op,
                "data": value.data,
                "grad": value.grad,
                "requires_grad": value.requires_grad,
                "value": value,
            },
        )
        for i, value in enumerate(order)
    )
    graph.add_edges_from(
        (ids[parent], i, index, {"index": index})
        for i, value in enumerate(order)
        for index, parent in enumerate(value.parents)
    )
    return graph


def focus(graph: nx.MultiDiGraph, node: int, radius: int = 1) -> nx.MultiDiGraph:
    """The neighbourhood of ``node``: every node within ``radius`` edges of it, either way.

    Returns an independent copy (node keys and attributes kept) that :func:`layout` can lay out.
    (Walked here rather than with ``nx.ego_graph(undirected=True)``, whose undirected view
    deep-copies every node's attributes: about a second on a 320-node graph.)
    """
    seen = {node}
    frontier = [node]
    for _ in range(radius):
        reached = []
        for n in frontier:
            for m in (*graph.predecessors(n), *graph.successors(n)):
                if m not in seen:
                    seen.add(m)
                    reached.append(m)
        frontier = reached
    return graph.subgraph(seen).copy()


# --- boxes ----------------------------------------------------------------------------------


def op_form(op: str) -> str:
    """How a box header shows its op, with ``·`` for the operands: ``·*·``, ``tanh·``, ``-·``."""
    if not op:
        return ""
    spec = OPS[op]
    if spec.arity == 2:
        return f"·{spec.symbol}·"
    if spec.symbol == "-":
        return "-·"
    return f"{spec.symbol}·"


def node_label(attrs: Mapping[str, object], mode: Mode) -> str:
    """The title a node shows at ``mode``: its ``label``, or its ``short`` title (unique at the
    narrower width) where the mode's names are narrower than full ones."""
    short = attrs.get("short")
    if short is not None and METRICS[mode].name_width < NAME_WIDTH:
        return str(short)
    return str(attrs["label"])


def node_form(attrs: Mapping[str, object]) -> str:
    """How a node shows its op: :func:`op_form`, or a collapsed group's own (``tanh(Σ3)``)."""
    form = attrs.get("form")
    return str(form) if form else op_form(str(attrs["op"]))


_WIDE_FILL = "\u200b"
"""Put after a character that takes two terminal columns (CJK) in a box's header: the drawing
is a grid of one character per column, and this zero-width space takes the second column, so
the border, the wires and the boxes beside it stay where they are."""

_MARK_FILL = "\u3000"
"""Put after a name once for each character in it that takes no column (a combining accent with
no precomposed letter, ``x\u0301``): this ideographic space takes two columns in one character,
so the name and its fills take as many columns as characters."""


def _columns(c: str) -> int:
    """The terminal columns one character takes, as Rich (and so Textual) counts them, told
    from Python's Unicode tables so that drawing needs no Rich: two for a wide character, none
    for a combining mark or a format character (a zero-width space or joiner; not the soft
    hyphen, which shows)."""
    if unicodedata.east_asian_width(c) in ("W", "F"):
        return 2
    category = unicodedata.category(c)
    if category in ("Mn", "Me", "Mc") or category == "Cf" and c != "\xad":
        return 0
    return 1


def _in_columns(text: str) -> list[tuple[str, int]]:
    """``text`` one character at a time, with the accents on it: (the characters, followed by
    :data:`_WIDE_FILL` if it is wide; how many of them take no column)."""
    units: list[tuple[str, int, int]] = []  # (a character and its accents, columns, accents)
    for c in unicodedata.normalize("NFC", text):  # an accent typed apart joins its letter
        columns = _columns(c)
        if columns == 0 and units:
            chars, width, marks = units[-1]
            units[-1] = (chars + c, width, marks + 1)
        else:
            units.append((c, columns, 1 if columns == 0 else 0))
    return [(chars + _WIDE_FILL if width == 2 else chars, marks) for chars, width, marks in units]


def header_text(label: str, op: str, mode: Mode = "full", form: str | None = None) -> str:
    """The text in a box's top border: ``e = ·*·``, ``x``, ``·+·`` (names cut to fit);
    ``form`` replaces the op's form (a collapsed group's ``tanh(Σ3)``). One character per
    terminal column: a wide character is followed by :data:`_WIDE_FILL`, and the name by one
    :data:`_MARK_FILL` for each character in it that takes no column."""
    limit = METRICS[mode].name_width
    if not label.isascii() and not label.replace("…", "").isascii():  # … (a cut name): narrow
        units = _in_columns(label)
        sizes = [len(chars) + marks for chars, marks in units]  # characters with their fills
        if sum(sizes) > limit:
            # cut between characters, never between a character and its accents or fill
            size = kept = 0
            while size + sizes[kept] < limit:  # the ellipsis takes the last column
                size += sizes[kept]
                kept += 1
            units = [*units[:kept], ("…", 0)]
        label = "".join(chars for chars, _ in units) + _MARK_FILL * sum(m for _, m in units)
    elif len(label) > limit:
        label = label[: limit - 1] + "…"
    form = op_form(op) if form is None else form
    if label and form:
        return f"{label} = {form}"
    return label or form


def arity_of(attrs: Mapping[str, object]) -> int:
    """How many operands enter a node: its op's arity, or a collapsed group's input count."""
    if "arity" in attrs:
        return int(attrs["arity"])  # type: ignore[call-overload]
    return OPS[str(attrs["op"])].arity if attrs["op"] else 0


def is_constant(attrs: Mapping[str, object]) -> bool:
    """Unnamed constants (a number written into an expression, like the ``1`` in ``x*x + 1``)
    are drawn as bare numbers, not boxes. A named constant gets a box without a grad row."""
    if attrs["op"] or attrs["requires_grad"]:
        return False
    label = str(attrs["label"])
    if label == format_number(float(attrs["data"])):  # type: ignore[arg-type]
        return True
    try:  # a number as it was written: 0.10, 1e3, -2
        return float(label) == attrs["data"]
    except ValueError:
        return False


def tiny_bracket(attrs: Mapping[str, object]) -> bool:
    """Whether a tiny node takes more operands than it has lines of text (a collapsed neuron
    reads 5 to 17 values on its two lines ``✓ h1 ∇ 0.5`` / ``tanh(Σ4)``): it is then as tall
    as its operands, and a bracket ``┌ │ └`` on its left spans them, so that every arrow ends
    at the node it feeds, none in a blank row under it."""
    lines = 2 if attrs["label"] and node_form(attrs) else 1
    return arity_of(attrs) > lines


def takes_grad(attrs: Mapping[str, object]) -> bool:
    """Whether a grad can ever reach the node (else its box has no grad row)."""
    return bool(attrs["requires_grad"])


def box_size(attrs: Mapping[str, object], mode: Mode = "full") -> tuple[int, int]:
    """Width and minimum height of a node's box (without room for extra ports)."""
    if is_constant(attrs):
        return len(str(attrs["label"])) + 1, 1  # the number and a space before its edge
    metrics = METRICS[mode]
    if not metrics.border:  # "✓ name ∇ grad", and the op form under it for a binary op
        name = header_text(node_label(attrs, mode), "", mode) or node_form(attrs)
        grad = len(" ∇ ") + TINY_GRAD_WIDTH if takes_grad(attrs) else 0
        op = len(node_form(attrs)) + 2
        bracket = 1 if tiny_bracket(attrs) else 0
        return max(2 + len(name) + grad, op) + 1 + bracket, max(arity_of(attrs), 1)
    data = format_number(float(attrs["data"]))  # type: ignore[arg-type]
    header = header_text(node_label(attrs, mode), str(attrs["op"]), mode, attrs.get("form"))  # type: ignore[arg-type]
    if not takes_grad(attrs):
        inner = len("data ") + len(data) if metrics.words else len(data)
        rows = 1
    elif metrics.words:
        inner = max(len("data ") + len(data), len("grad ") + GRAD_WIDTH)
        rows = 2
    else:
        inner = max(len(data), len("∇ ") + GRAD_WIDTH)
        rows = 2
    inner = max(inner, len(header) + 3, 7)
    if attrs.get("note"):  # a collapsed group says in its border which member fires
        inner = max(inner, min(int(attrs["note"]), metrics.name_width) + len(" now:  ") + 1)  # type: ignore[call-overload]
    return inner + 4 + 2 * metrics.pad_x, rows + 2 + 2 * metrics.pad_y


# --- the result -----------------------------------------------------------------------------


class Box(NamedTuple):
    """Where a node is drawn. Coordinates are character cells, ``(x, y)`` = column, row.

    Attributes:
        node: the node key.
        layer: the column index, 0 on the left.
        x, y, w, h: the rectangle (for a constant: its text, ``h`` rows).
        in_ports: the row where each operand's edge arrives, by operand position (a focus
            view may leave some ports without an edge).
        out_ports: rows where outgoing edges leave, top to bottom.
        constant: drawn as a bare number, not a box.
    """

    node: int
    layer: int
    x: int
    y: int
    w: int
    h: int
    in_ports: tuple[int, ...]
    out_ports: tuple[int, ...]
    constant: bool = False

    def contains(self, x: int, y: int) -> bool:
        """Whether cell ``(x, y)`` is inside the box (border included)."""
        return self.x <= x < self.x + self.w and self.y <= y < self.y + self.h


class Branch(NamedTuple):
    """One end of a :class:`Wire`: where a value goes from the wire's track.

    Attributes:
        row: the row it runs along to its end.
        end: the x of its last cell: the arrow head left of a box's in-port, or the cell just
            before the lane it feeds (the lane's own wire starts on the next cell).
        edge: the engine edge it ends, or None for a trunk going on to a lane.
        lane: for a trunk, the column of the lane it feeds.
    """

    row: int
    end: int
    edge: EdgeKey | None = None
    lane: int | None = None

    @property
    def arrow(self) -> bool:
        return self.edge is not None


class Wire(NamedTuple):
    """Everything one value sends across one channel (the gap between two columns), as one
    drawn tree: from its start (right of the source box, or where its lane crosses a column)
    along ``spine`` to the track, then down or up the track to each branch.

    A value used by several consumers leaves its box by one port and fans out; consumers
    further right are reached by one trunk (a lane per column it crosses), not one lane per
    edge, so a value used ``n`` times costs ``n`` branches, not ``n²/2`` lanes.

    Attributes:
        source: the node whose value it carries.
        channel: the column the wire leaves (it ends in the next one).
        spine: waypoints from the first cell to the point where the branches split off
            (consecutive points share a row or a column; one point if it splits at once).
        branches: where the value goes, top to bottom.
    """

    source: int
    channel: int
    spine: tuple[tuple[int, int], ...]
    branches: tuple[Branch, ...]

    @property
    def split(self) -> tuple[int, int]:
        """The point on the track where the branches leave the spine."""
        return self.spine[-1]

    @property
    def rows(self) -> tuple[int, int]:
        """The first and the last row the wire uses."""
        ys = [y for _, y in self.spine]
        ys += [b.row for b in self.branches]
        return min(ys), max(ys)

    def path(self, branch: Branch) -> list[tuple[int, int]]:
        """Waypoints from the wire's first cell to ``branch``'s last cell."""
        sx, sy = self.split
        points = list(self.spine)
        if branch.row != sy:
            points.append((sx, branch.row))
        points.append((branch.end, branch.row))
        return _dedup(points)


def _dedup(points: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = [points[0]]
    for point in points[1:]:
        if point != out[-1]:
            out.append(point)
    return out


class _Routes(Mapping[EdgeKey, list[tuple[int, int]]]):
    """Each edge's full path as waypoints, made from the wires when asked for (a value used
    ``n`` times shares one trunk: storing every edge's path up front would cost ``n²``)."""

    def __init__(self, lay: Layout) -> None:
        self._lay = lay

    def __getitem__(self, edge: EdgeKey) -> list[tuple[int, int]]:
        lay = self._lay
        parent, child, _ = edge
        if edge not in lay.graph.edges:
            raise KeyError(edge)
        target = lay.boxes[child].layer
        channel = lay.boxes[parent].layer
        points: list[tuple[int, int]] = []
        while True:
            wire = lay.wires[lay.wire_of[(parent, channel)]]
            branch = next(
                (b for b in wire.branches if b.edge == edge),
                None,
            )
            if branch is None:
                branch = next(b for b in wire.branches if b.lane is not None)
            points += wire.path(branch)
            if branch.edge is not None:
                return _dedup(points)
            channel = branch.lane  # type: ignore[assignment]
            assert channel is not None and channel < target

    def __iter__(self) -> Iterator[EdgeKey]:
        return iter(self._lay.graph.edges(keys=True))

    def __len__(self) -> int:
        return int(self._lay.graph.number_of_edges())


class Layout:
    """Positions of every box and the wires between them.

    Attributes:
        graph: the laid-out graph.
        mode: the box contents the sizes were made for.
        boxes: node -> :class:`Box`.
        wires: what each value sends across each channel (see :class:`Wire`).
        wire_of: ``(node, channel)`` -> the index in ``wires`` of the wire carrying that node's
            value out of that column.
        layers: node keys per column, top to bottom.
        width, height: the canvas size.
        routes: edge -> its waypoints, from the cell right of the source box through every
            corner to the arrow head left of the target box (computed from the wires on
            demand); :meth:`cells` expands them into every cell of the path.
    """

    __slots__ = (
        "boxes",
        "column_x",
        "graph",
        "height",
        "layers",
        "mode",
        "routes",
        "width",
        "wire_of",
        "wires",
    )

    def __init__(
        self,
        graph: nx.MultiDiGraph,
        mode: Mode,
        boxes: dict[int, Box],
        wires: list[Wire],
        wire_of: dict[tuple[int, int], int],
        layers: list[list[int]],
        width: int,
        height: int,
        column_x: list[int] | None = None,
    ) -> None:
        self.graph = graph
        self.mode = mode
        self.boxes = boxes
        self.wires = wires
        self.wire_of = wire_of
        self.layers = layers
        self.width = width
        self.height = height
        self.column_x: list[int] = [] if column_x is None else column_x
        self.routes: Mapping[EdgeKey, list[tuple[int, int]]] = _Routes(self)

    def __repr__(self) -> str:
        return f"Layout({self.mode!r}, {len(self.boxes)} boxes, {self.width}x{self.height})"

    def cells(self, edge: EdgeKey) -> list[tuple[int, int]]:
        """Every cell of an edge's path in order, source side first, the arrow head last."""
        return _expand(self.routes[edge])


# --- internal elements: real nodes and dummy lanes --------------------------------------------


class _Elem:
    __slots__ = (
        "arity",
        "constant",
        "dummy",
        "h",
        "inputs",
        "key",
        "layer",
        "outputs",
        "port",
        "pos",
        "source",
        "top",
        "w",
    )

    def __init__(
        self,
        key: int,  # node key, or -1 for a dummy
        layer: int,
        w: int,
        h: int,
        *,
        dummy: bool = False,
        constant: bool = False,
        source: int = -1,  # for a dummy: the node whose trunk it is a lane of
        port: int = 0,  # row offset of the first port (0 for dummies and constants)
    ) -> None:
        self.key = key
        self.layer = layer
        self.w = w
        self.h = h
        self.inputs: list[_Seg] = []  # segments arriving, by in-port order
        self.outputs: list[_Seg] = []  # segments leaving
        self.pos = 0  # order in its layer
        self.top = 0.0
        self.dummy = dummy
        self.constant = constant
        self.source = source
        self.arity = 0  # operand ports
        self.port = port


class _Seg:
    __slots__ = ("dst", "edge", "in_slot", "shift", "src")

    def __init__(self, edge: EdgeKey | None, src: _Elem, dst: _Elem, in_slot: int) -> None:
        self.edge = edge  # the engine edge it ends, or None for a trunk into a lane
        self.src = src
        self.dst = dst
        self.in_slot = in_slot  # row offset of the arrival in dst
        self.shift = 0  # dst port offset - src port offset: straight when src.top - dst.top = shift


def _port(elem: _Elem, slot: int) -> int:
    """Row offset of port ``slot`` (an operand arriving, or an edge leaving) in ``elem``."""
    return elem.port + slot


LEVELS: tuple[Mode, ...] = ("lecture", "full", "compact", "tiny")
"""The zoom levels, largest first: the roomy lecture boxes, full boxes, compact boxes, and tiny
one-line nodes."""


def fit(
    graph: nx.MultiDiGraph,
    width: int,
    height: int,
    levels: Sequence[Mode] = LEVELS,
    made: dict[Mode, Layout] | None = None,
) -> Mode | None:
    """The largest of ``levels`` whose layout of ``graph`` fits ``width`` x ``height`` cells,
    or None when none does. ``made`` caches the layouts by mode (they depend on the graph only,
    so a resize reuses them).

    On a large graph the smallest level is laid out first: when it misses by far (half again
    the room), no larger one can fit and none is laid out, which keeps a resize cheap.
    """
    made = {} if made is None else made

    def get(mode: Mode) -> Layout:
        if mode not in made:
            made[mode] = layout(graph, mode=mode)
        return made[mode]

    if not levels:
        return None
    if graph.number_of_nodes() > SMALL_GRAPH:  # lay out the largest levels only if need be
        if levels[-1] not in made:  # a long chain has too many columns for any level
            columns = max(layers_of(graph).values(), default=0) + 1
            if columns * MIN_COLUMN > 1.5 * width:
                return None
        smallest = get(levels[-1])
        if smallest.width > 1.5 * width or smallest.height > 1.5 * height:
            return None
    for mode in levels:
        lay = get(mode)
        if lay.width <= width and lay.height <= height:
            return mode
    return None


SMALL_GRAPH = 100
"""Up to this many nodes a layout costs little: :func:`fit` tries the levels largest first."""
MIN_COLUMN = 4
"""Cells a column of a layout takes at least, at any level (a box's narrowest form and the gap
after it: 14 or more at the tiny level on every example): a graph with more columns than the
room holds this many times over is not laid out to find that it does not fit."""
MAX_LANES = 30_000
"""The most lanes (a value crossing a column on its way to a later consumer) a layout may
have: each costs about as much as a box. Beyond it a drawing is refused, not attempted. At
30,000 lanes (100 inputs each used again every 100 terms of a 400-term sum) ``--graph`` takes
about 2.5 s and the app 3.5 s to show the graph; at 90,000 the app took 11 s and 1.2 GB."""


def layers_of(graph: nx.MultiDiGraph) -> dict[int, int]:
    """Each node's column: as late as possible (its longest distance to a sink, reversed)."""
    generations = list(nx.topological_generations(graph.reverse(copy=False)))
    last = len(generations) - 1
    return {n: last - g for g, members in enumerate(generations) for n in members}


def lanes(graph: nx.MultiDiGraph, layer_of: Mapping[int, int] | None = None) -> int:
    """How many lanes :func:`layout` will make: for each value, the columns its trunk crosses
    between its box and its last consumer. Cheap (no layout), so callers can refuse a graph
    whose drawing would be too large before laying it out (see :data:`MAX_LANES`)."""
    layer_of = layers_of(graph) if layer_of is None else layer_of
    total = 0
    for n in graph.nodes:
        last = max((layer_of[v] for v in graph.successors(n)), default=layer_of[n])
        total += max(0, last - layer_of[n] - 1)
    return total


def layout(graph: nx.MultiDiGraph, *, mode: Mode = "full", sweeps: int = 4) -> Layout:
    """Lay out ``graph`` (from :func:`to_networkx` or :func:`focus`) left to right.

    Deterministic: the same graph (same node keys and edges) always gives the same layout.
    """
    if graph.number_of_nodes() == 0:
        return Layout(graph, mode, {}, [], {}, [], 0, 0)
    metrics = METRICS[mode]
    # a box's border and padding, above its first port and below (none for a tiny node)
    margin = 1 + metrics.pad_y if metrics.border else 0
    # 1. layers: as late as possible (distance to a sink, from networkx)
    layer_of = layers_of(graph)
    # 2. elements and segments, with dummy lanes for long edges
    layers: list[list[_Elem]] = [[] for _ in range(max(layer_of.values()) + 1)]
    elem_of: dict[int, _Elem] = {}
    for n in sorted(graph.nodes):
        attrs = graph.nodes[n]
        w, h = box_size(attrs, mode)
        constant = is_constant(attrs)
        if not metrics.border and not constant and not graph.out_degree(n):
            w -= 1  # a tiny node's last column is the gap before its wire: a sink has none
        e = _Elem(n, layer_of[n], w, h, constant=constant, port=0 if constant else margin)
        elem_of[n] = e
        layers[e.layer].append(e)
    # every value leaves its box by one port and fans out; consumers further right are
    # reached by one trunk of lanes, a lane per column crossed (not one per edge)
    for n in sorted(graph.nodes):
        source = elem_of[n]
        out_edges = sorted(graph.out_edges(n, keys=True), key=lambda e: (layer_of[e[1]], e))
        if not out_edges:
            continue
        last_lane = max(layer_of[v] for _, v, _ in out_edges) - 1
        feeds = {source.layer: source}
        prev = source
        for between in range(source.layer + 1, last_lane + 1):
            lane = _Elem(-1, between, 0, 1, dummy=True, source=n)
            layers[between].append(lane)
            seg = _Seg(None, prev, lane, 0)
            prev.outputs.append(seg)
            lane.inputs.append(seg)
            feeds[between] = prev = lane
        for u, v, k in out_edges:
            target = elem_of[v]
            seg = _Seg((u, v, k), feeds[target.layer - 1], target, k)
            seg.src.outputs.append(seg)
            target.inputs.append(seg)
    for e in elem_of.values():
        e.inputs.sort(key=lambda s: s.in_slot)
    for e in elem_of.values():
        e.arity = arity_of(graph.nodes[e.key])
        e.h = max(e.h, _port(e, max(e.arity, 1)) + (0 if e.constant else margin))
    # 3. order within layers
    _order(layers, sweeps)
    for lay in layers:
        for e in lay:
            e.outputs.sort(key=lambda s: (s.dst.pos, s.in_slot))
            for seg in e.outputs:
                seg.shift = _port(seg.dst, seg.in_slot) - _port(e, 0)
    # 4. rows
    _place_rows(layers, metrics.row_gap)
    # 5. columns, channels and routes
    return _route(graph, mode, layers, elem_of)


def spread(lay: Layout, width: int) -> Layout:
    """``lay`` widened to ``width`` columns when it fits with room to spare: a big terminal
    gets more space between the columns of boxes, not an empty band on the right.

    The spare columns are shared among the channels (each edge's last run into its arrow head
    grows), each channel taking at most as many as the widest box is wide, so that a two-box
    graph does not become one long arrow; what is left over centres the drawing. A layout as
    wide as ``width`` or wider is returned as it is. Only the columns move: rows, routes and
    crossings stay as they were.
    """
    spare = width - lay.width
    if spare <= 0 or not lay.boxes:
        return lay
    channels = len(lay.column_x) - 1
    most = max(box.w for box in lay.boxes.values())
    each = min(spare // channels, most) if channels > 0 else 0
    offset = (spare - each * channels) // 2
    if not each and not offset:
        return lay
    # each channel's last column (its arrow heads): everything from there on moves right
    cuts = [x - 1 for x in lay.column_x[1:]]

    def moved(x: int) -> int:
        return x + offset + each * bisect_right(cuts, x)

    boxes = {node: box._replace(x=moved(box.x)) for node, box in lay.boxes.items()}
    wires = [
        wire._replace(
            spine=tuple((moved(x), y) for x, y in wire.spine),
            branches=tuple(b._replace(end=moved(b.end)) for b in wire.branches),
        )
        for wire in lay.wires
    ]
    return Layout(
        lay.graph,
        lay.mode,
        boxes,
        wires,
        lay.wire_of,
        lay.layers,
        lay.width + offset + each * channels,
        lay.height,
        [moved(x) for x in lay.column_x],
    )


# --- ordering -------------------------------------------------------------------------------


def _crossings(layers: list[list[_Elem]]) -> int:
    """Edge crossings between adjacent layers (counted on element positions and port slots)."""
    total = 0
    for lay in layers[:-1]:
        pairs = sorted(((e.pos, 0), (s.dst.pos, s.in_slot)) for e in lay for s in e.outputs)
        total += _inversions([b for _, b in pairs])
    return total


def _inversions(seq: list[tuple[int, int]]) -> int:
    """Number of pairs i < j with seq[i] > seq[j] (merge sort)."""
    if len(seq) < 2:
        return 0
    work = list(seq)
    count = 0
    width = 1
    n = len(work)
    buf = list(work)
    while width < n:
        for lo in range(0, n, 2 * width):
            mid = min(lo + width, n)
            hi = min(lo + 2 * width, n)
            i, j, k = lo, mid, lo
            while i < mid and j < hi:
                if work[j] < work[i]:
                    buf[k] = work[j]
                    count += mid - i
                    j += 1
                else:
                    buf[k] = work[i]
                    i += 1
                k += 1
            buf[k:hi] = work[i:mid] if i < mid else work[j:hi]
        work, buf = buf, work
        width *= 2
    return count


def _set_positions(lay: list[_Elem]) -> None:
    for i, e in enumerate(lay):
        e.pos = i


def _order(layers: list[list[_Elem]], sweeps: int) -> None:
    """Barycenter sweeps; keeps the ordering with the fewest crossings seen."""
    for lay in layers:
        _set_positions(lay)
    sizes = {i: len(lay) for i, lay in enumerate(layers)}
    # a first useful order: each layer by its consumers (right to left), so leaves follow them
    for lay in reversed(layers[:-1]):
        _sort_by(lay, up=True, sizes=sizes)
    best_count = _crossings(layers)
    best = [list(lay) for lay in layers]
    for _ in range(sweeps):
        for lay in layers[1:]:
            _sort_by(lay, up=False, sizes=sizes)
        for lay in reversed(layers[:-1]):
            _sort_by(lay, up=True, sizes=sizes)
        count = _crossings(layers)
        if count >= best_count:
            break  # converged: a sweep that does not help is not repeated
        best_count = count
        best = [list(lay) for lay in layers]
    for i, lay in enumerate(best):
        layers[i] = lay
        _set_positions(lay)


def _sort_by(lay: list[_Elem], *, up: bool, sizes: dict[int, int]) -> None:
    """Sort one layer by the mean position of its neighbours in the adjacent layer.

    Positions are taken relative to their layer's size, so layers of different sizes compare;
    an element without neighbours on that side keeps its own relative position.
    """
    own = len(lay)
    keys: list[tuple[float, int]] = []
    for e in lay:
        if up:
            ports = [(s.dst.pos + 0.5 + s.in_slot / 4) / sizes[s.dst.layer] for s in e.outputs]
        else:
            ports = [(s.src.pos + 0.5) / sizes[s.src.layer] for s in e.inputs]
        keys.append(((sum(ports) / len(ports)) if ports else (e.pos + 0.5) / own, e.pos))
    order = sorted(range(len(lay)), key=lambda i: keys[i])
    lay[:] = [lay[i] for i in order]
    _set_positions(lay)


# --- rows -----------------------------------------------------------------------------------


def _gap(a: _Elem, b: _Elem, row_gap: int) -> int:
    """Blank rows between two consecutive elements of a layer (lanes may touch)."""
    return 0 if (a.dummy and b.dummy) else row_gap


def _isotonic(values: list[float], weights: list[float]) -> list[float]:
    """Weighted least-squares nondecreasing fit (pool adjacent violators)."""
    blocks: list[list[float]] = []  # [mean, weight, count]
    for v, w in zip(values, weights, strict=False):
        blocks.append([v, w, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, c2 = blocks.pop()
            m1, w1, c1 = blocks[-1]
            total = w1 + w2
            blocks[-1] = [(m1 * w1 + m2 * w2) / total, total, c1 + c2]
    out: list[float] = []
    for mean, _, count in blocks:
        out.extend([mean] * int(count))
    return out


def _fit_layer(lay: list[_Elem], desired: list[float], weights: list[float], row_gap: int) -> None:
    offsets: list[int] = []
    offset = 0
    for i, e in enumerate(lay):
        if i:
            offset += lay[i - 1].h + _gap(lay[i - 1], e, row_gap)
        offsets.append(offset)
    fitted = _isotonic([d - o for d, o in zip(desired, offsets, strict=False)], weights)
    for e, z, o in zip(lay, fitted, offsets, strict=False):
        e.top = float(round(z) + o)


def _place_rows(layers: list[list[_Elem]], row_gap: int, rounds: int = 4) -> None:
    for lay in layers:
        _fit_layer(lay, [0.0] * len(lay), [1.0] * len(lay), row_gap)
    _settle(layers, row_gap, rounds)
    low = min((e.top for lay in layers for e in lay), default=0.0)
    for lay in layers:
        for e in lay:
            e.top -= low
    # Straight edges can cost a staircase: in a long sum of terms, each term's chain runs
    # straight on rows of its own, below the one before, and the canvas is mostly blank. When
    # that makes it far taller than its tallest column, pack every column from the top instead:
    # the edges bend (each on its own track), and the drawing stays as tall as it must be.
    tallest = max(
        (sum(e.h for e in lay) + row_gap * max(0, len(lay) - 1) for lay in layers), default=0
    )
    height = max((e.top + e.h for lay in layers for e in lay), default=0.0)
    if height > max(STAIRCASE * tallest, 60):
        for lay in layers:
            top = 0.0
            for i, e in enumerate(lay):
                if i:
                    top += lay[i - 1].h + _gap(lay[i - 1], e, row_gap)
                e.top = top


def _settle(layers: list[list[_Elem]], row_gap: int, rounds: int) -> None:
    """Pull every layer towards straight edges, down then up, for at most ``rounds`` rounds."""
    for _ in range(rounds):
        before = [e.top for lay in layers for e in lay]
        for lay in layers[1:]:
            _pull(lay, row_gap, up=False)
        for lay in reversed(layers[:-1]):
            _pull(lay, row_gap, up=True)
        after = [e.top for lay in layers for e in lay]
        shift = after[0] - before[0] if after else 0.0
        if all(b - a == shift for a, b in zip(before, after, strict=True)):
            # settled: another round would change nothing, or (a long chain) only move every
            # row by the same number of rows, which the shift to row 0 in _place_rows undoes
            return


STAIRCASE = 3
"""A placement more than this many times as tall as its tallest column is packed instead."""
_LIGHT = 0.1
"""How much a bare constant pulls: its edge bends rather than the main path drifting."""


def _pull(lay: list[_Elem], row_gap: int, *, up: bool) -> None:
    """Move a layer's elements towards the rows that make their edges straight.

    Each element wants the weighted median of the positions its edges ask for; edges to bare
    constants ask softly, so a chain like ``v + 0.001`` stays on one row.
    """
    desired: list[float] = []
    weights: list[float] = []
    for e in lay:
        # where this element's top would have to be for each of its edges to run straight
        if up:
            wants = [(s.dst.top + s.shift, _pull_up(e, s)) for s in e.outputs]
        else:
            wants = [(s.src.top - s.shift, _pull_down(s)) for s in e.inputs]
        if wants:
            desired.append(_weighted_median(wants))
            weight = sum(w for _, w in wants) * (2.0 if e.dummy else 1.0)
            # constants and inputs make room for what is computed, not the other way round
            leaf = e.constant or not (e.dummy or e.inputs)
            weights.append(weight * _LIGHT if leaf else weight)
        else:
            desired.append(e.top)
            weights.append(0.01)
    _fit_layer(lay, desired, weights, row_gap)


def _pull_up(e: _Elem, s: _Seg) -> float:
    """How much a consumer pulls the value it reads: a trunk keeps straight rather than bend
    towards one of its branches, and a bare constant hardly pulls."""
    if s.dst.constant:
        return _LIGHT
    return 0.5 if e.dummy and not s.dst.dummy else 1.0


def _pull_down(s: _Seg) -> float:
    """How much a value pulls a consumer: shared among everything it feeds (one fanned-out
    value cannot run straight into all of them); an input pulls less than a computed value, so
    a long chain stays straight and the inputs that join it bend; a bare constant hardly
    pulls."""
    if s.src.constant:
        return _LIGHT
    leaf = not s.src.dummy and not s.src.inputs  # an input bends to a chain, not the chain to it
    return (0.5 if leaf else 1.0) / len(s.src.outputs)


def _weighted_median(items: list[tuple[float, float]]) -> float:
    """The value where half the weight lies on either side (the mean of two tied middles)."""
    if len(items) == 1:
        return items[0][0]
    items.sort()
    half = sum(w for _, w in items) / 2
    seen = 0.0
    for i, (value, weight) in enumerate(items):
        seen += weight
        if seen > half + 1e-12:
            return value
        if abs(seen - half) <= 1e-12:
            return (value + items[i + 1][0]) / 2
    return items[-1][0]  # pragma: no cover


# --- channels and routes ----------------------------------------------------------------------


class _Piece:
    """A vertical run of one fan in a channel: from row ``a`` to the rows ``bs`` on a track.

    A fan that has to cross another one twice is split on a free row ``m`` (a dogleg): part 0
    runs from ``a`` to ``m``, part 1 from ``m`` to ``bs`` on a track further right.
    """

    __slots__ = ("a", "bs", "elem", "hi", "lo", "part", "track")

    def __init__(self, elem: _Elem, a: int, bs: tuple[int, ...], part: int) -> None:
        self.elem = elem
        self.a = a
        self.bs = bs
        self.part = part  # 0: the whole fan, or the first half of a dogleg; 1: the second half
        self.track = 0
        self.lo = min(a, *bs)
        self.hi = max(a, *bs)


def _channel_tracks(
    elems: list[_Elem], rows: dict[int, tuple[int, int]]
) -> tuple[dict[int, list[_Piece]], int]:
    """Give every bending fan of one channel its own track; returns pieces per element."""
    pieces: list[_Piece] = []
    for e in elems:
        r1 = rows[id(e.outputs[0])][0]
        bs = tuple(rows[id(s)][1] for s in e.outputs)
        if any(b != r1 for b in bs):
            pieces.append(_Piece(e, r1, bs, 0))
    if not pieces:
        return {}, 0
    if len(pieces) == 1:  # the common case in long chains: nothing to order
        return {id(pieces[0].elem): pieces}, 1
    # precedence: a fan leaving on row r must use a track left of the fan arriving on row r
    cgraph = _precedence(pieces, split=set())
    if not nx.is_directed_acyclic_graph(cgraph):
        # two fans that swap rows: split each fan of a cycle on a free row (a dogleg)
        used = {r for e in elems for s in e.outputs for r in rows[id(s)]}
        cyclic = {
            i for comp in nx.strongly_connected_components(cgraph) if len(comp) > 1 for i in comp
        }
        new: list[_Piece] = []
        split: set[int] = set()
        for i, p in enumerate(pieces):
            if i not in cyclic:
                new.append(p)
                continue
            m = _free_row((p.lo + p.hi) // 2, used)
            used.add(m)
            split.add(len(new))
            new.append(_Piece(p.elem, p.a, (m,), 0))
            new.append(_Piece(p.elem, m, p.bs, 1))
        pieces = new
        cgraph = _precedence(pieces, split)
        # a dogleg runs left to right, so it never folds back over itself
        for i in split:
            cgraph.add_edge(i, i + 1)
    # greedy assignment in topological order of the precedence graph
    order = list(nx.lexicographical_topological_sort(cgraph, key=lambda i: (pieces[i].lo, i)))
    # per track: the disjoint runs it already carries, sorted (starts and ends)
    starts: list[list[int]] = []
    ends: list[list[int]] = []
    min_track = [0] * len(pieces)
    for i in order:
        p = pieces[i]
        lo, hi = p.lo, p.hi
        t = min_track[i]
        while True:
            if t == len(starts):
                starts.append([])
                ends.append([])
            at = bisect_left(starts[t], lo)
            # free if the run before ends, and the run after starts, at least one row away
            if (at == 0 or ends[t][at - 1] + 1 < lo) and (
                at == len(starts[t]) or hi + 1 < starts[t][at]
            ):
                break
            t += 1
        starts[t].insert(at, lo)
        ends[t].insert(at, hi)
        p.track = t
        for j in cgraph.successors(i):
            min_track[j] = max(min_track[j], t + 1)
    result: dict[int, list[_Piece]] = {}
    for p in pieces:
        result.setdefault(id(p.elem), []).append(p)
    return result, len(starts)


def _precedence(pieces: list[_Piece], split: set[int]) -> nx.DiGraph:
    """Piece i -> piece j when i leaves on a row where j arrives: i needs a track left of j.

    ``split`` holds the first halves of doglegs: they leave from the fan's port but arrive on a
    free row, where nothing else runs.
    """
    graph = nx.DiGraph()
    graph.add_nodes_from(range(len(pieces)))
    leaving = {p.a: i for i, p in enumerate(pieces) if p.part == 0}
    for j, q in enumerate(pieces):
        if j in split:
            continue
        for row in q.bs:
            i = leaving.get(row)
            if i is not None and pieces[i].elem is not q.elem:
                graph.add_edge(i, j)
    return graph


def _free_row(start: int, used: set[int]) -> int:
    for d in range(0, 10_000_000):
        for r in (start + d, start - d):
            if r >= 0 and r not in used:
                return r
    raise AssertionError("no free row")  # pragma: no cover


def _route(
    graph: nx.MultiDiGraph, mode: Mode, layers: list[list[_Elem]], elem_of: dict[int, _Elem]
) -> Layout:
    metrics = METRICS[mode]
    lead, tail, step = metrics.channel_lead, metrics.channel_tail, metrics.track_step
    # port rows of every segment
    rows: dict[int, tuple[int, int]] = {}
    channel_elems: list[list[_Elem]] = [[] for _ in layers]
    for i, lay in enumerate(layers):
        for e in lay:
            if not e.outputs:
                continue
            channel_elems[i].append(e)
            r1 = int(e.top) + _port(e, 0)
            for s in e.outputs:
                rows[id(s)] = (r1, int(s.dst.top) + _port(s.dst, s.in_slot))
    # tracks per channel; doglegs may use rows outside the boxes
    channel_pieces: list[dict[int, list[_Piece]]] = []
    channel_width: list[int] = []
    for elems in channel_elems[:-1]:
        pieces, tracks = _channel_tracks(elems, rows)
        channel_pieces.append(pieces)
        used = lead + (tracks - 1) * step + 1 + tail if tracks else lead + tail
        channel_width.append(max(used, 2))  # at least ``─▶``: an edge shows a shaft
    column_w = [max((e.w for e in lay if not e.dummy), default=0) for lay in layers]
    column_x: list[int] = []
    # room left of the first column for "⋯▶" stubs, if a focus view cut some operands off
    x = 2 if any(e.arity for e in layers[0]) else 0
    for i, w in enumerate(column_w):
        column_x.append(x)
        x += w
        if i < len(channel_width):
            x += channel_width[i]
    width = x
    # boxes
    boxes: dict[int, Box] = {}
    for lay in layers:
        for e in lay:
            if e.dummy:
                continue
            top = int(e.top)
            # constants sit at the right of their column, next to their consumer
            left = column_x[e.layer] + (column_w[e.layer] - e.w if e.constant else 0)
            boxes[e.key] = Box(
                e.key,
                e.layer,
                left,
                top,
                e.w,
                e.h,
                tuple(top + _port(e, slot) for slot in range(e.arity)),
                (top + _port(e, 0),) if e.outputs else (),
                e.constant,
            )
    # wires: one per element with outputs, per channel
    wires: list[Wire] = []
    wire_of: dict[tuple[int, int], int] = {}
    height = max((int(e.top) + e.h for lay in layers for e in lay if not e.dummy), default=0)
    for i, elems in enumerate(channel_elems[:-1]):
        base = column_x[i] + column_w[i] + lead
        for e in elems:
            r1 = rows[id(e.outputs[0])][0]
            start = boxes[e.key].x + e.w if not e.dummy else column_x[i]
            spine = [(start, r1)]
            for p in channel_pieces[i].get(id(e), []):
                tx = base + p.track * step
                spine.append((tx, p.a))
                if (
                    p.part == 0
                    and len(p.bs) == 1
                    and p.bs[0] not in (rows[id(s)][1] for s in e.outputs)
                ):
                    spine.append((tx, p.bs[0]))  # a dogleg's first half: down to the free row
            branches = []
            for s in e.outputs:
                r2 = rows[id(s)][1]
                end = column_x[s.dst.layer] - 1
                branches.append(Branch(r2, end, s.edge, s.dst.layer if s.dst.dummy else None))
            source = e.source if e.dummy else e.key
            wire_of[(source, i)] = len(wires)
            wire = Wire(source, i, tuple(_dedup(spine)), tuple(branches))
            wires.append(wire)
            height = max(height, wire.rows[1] + 1)
    return Layout(
        graph,
        mode,
        boxes,
        wires,
        wire_of,
        [[e.key for e in lay if not e.dummy] for lay in layers],
        width,
        height,
        column_x,
    )


def _expand(points: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The cells of an orthogonal polyline through ``points`` (each turn is a waypoint)."""
    cells: list[tuple[int, int]] = [points[0]]
    cx, cy = points[0]
    for x, y in points[1:]:
        if y == cy:
            if x != cx:
                step = 1 if x > cx else -1
                cells.extend(zip(range(cx + step, x + step, step), repeat(y)))
        elif x == cx:
            step = 1 if y > cy else -1
            cells.extend(zip(repeat(x), range(cy + step, y + step, step)))
        else:  # pragma: no cover - waypoints are always aligned
            raise AssertionError("diagonal route")
        cx, cy = x, y
    return cells
