"""Layout properties: on random graphs, every box is placed once, no boxes overlap, and every
edge is its own path from its source box to its target's arrow head."""

from __future__ import annotations

import random
import re

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import OPS, DomainError, Value
from stepgrad.layout import LEVELS, METRICS, Layout, Mode, fit, focus, layout, to_networkx

UNARY = ("neg", "tanh", "sin", "relu", "sigmoid", "abs")
BINARY = ("+", "-", "*")


def random_graph(seed: int, size: int) -> Value:
    """A random DAG of Values: reused nodes, ``a*a`` double edges, constants, unlabelled nodes."""
    rng = random.Random(seed)
    made: list[Value] = [Value(rng.uniform(-2, 2), "q000")]
    for i in range(1, size):
        label = f"q{i:03d}" if rng.random() < 0.8 else None
        roll = rng.random()
        if roll < 0.15:
            made.append(Value(rng.uniform(-2, 2), label))
            continue
        a = rng.choice(made[-6:]) if rng.random() < 0.7 else rng.choice(made)
        try:
            if roll < 0.35:
                op = rng.choice(UNARY)
                out = -a if op == "neg" else abs(a) if op == "abs" else getattr(a, op)()
            elif roll < 0.45:
                out = a * a  # two edges between the same pair
            elif roll < 0.55:
                out = a + rng.choice((1, 2, 0.5))  # a constant
            else:
                b = rng.choice(made)
                op = rng.choice(BINARY)
                out = a + b if op == "+" else a - b if op == "-" else a * b
        except DomainError:
            out = a + 1
        out.label = label
        made.append(out)
    root = made[-1]
    for value in made[-4:-1]:  # tie a few loose ends in so the graph is not a single chain
        try:
            root = root + value
        except DomainError:
            pass
    root.label = "root"
    return root


graphs = st.builds(random_graph, st.integers(0, 10**6), st.integers(1, 40))
modes: st.SearchStrategy[Mode] = st.sampled_from(("full", "compact", "lecture", "tiny"))


def check_layout(lay: Layout) -> None:
    graph = lay.graph
    boxes = lay.boxes
    # every node is placed exactly once, in exactly one layer
    assert sorted(boxes) == sorted(graph.nodes)
    assert sorted(n for layer in lay.layers for n in layer) == sorted(graph.nodes)
    # boxes never overlap (checked per pair of boxes whose rows meet)
    items = sorted(boxes.values(), key=lambda b: b.x)
    for i, a in enumerate(items):
        for b in items[i + 1 :]:
            if b.x >= a.x + a.w:
                break
            assert a.y + a.h <= b.y or b.y + b.h <= a.y, (a, b)
    # every box is inside the canvas
    for box in boxes.values():
        assert 0 <= box.x and box.x + box.w <= lay.width
        assert 0 <= box.y and box.y + box.h <= lay.height
    occupied: dict[tuple[int, int], list[tuple[tuple[int, int, int], str]]] = {}
    box_cells = {
        (x, y): box.node
        for box in boxes.values()
        for x in range(box.x, box.x + box.w)
        for y in range(box.y, box.y + box.h)
    }
    assert set(lay.routes) == set(graph.edges(keys=True))
    in_ports_used: set[tuple[int, int]] = set()
    for edge in graph.edges(keys=True):
        parent, child, index = edge
        cells = lay.cells(edge)
        src, dst = boxes[parent], boxes[child]
        # starts right next to the source box, on one of its ports
        x0, y0 = cells[0]
        assert x0 == src.x + src.w and y0 in src.out_ports, (edge, cells[0], src)
        # ends at the target box's arrow head: the cell left of its port for this operand
        x1, y1 = cells[-1]
        assert (x1, y1) == (dst.x - 1, dst.in_ports[index]), (edge, cells[-1], dst)
        assert (x1, y1) not in in_ports_used
        in_ports_used.add((x1, y1))
        # a connected path of distinct cells, none inside a box, inside the canvas
        assert len(set(cells)) == len(cells)
        for (ax, ay), (bx, by) in zip(cells, cells[1:], strict=False):
            assert abs(ax - bx) + abs(ay - by) == 1
        for i, cell in enumerate(cells):
            assert cell not in box_cells, (edge, cell, box_cells.get(cell))
            assert 0 <= cell[0] < lay.width and 0 <= cell[1] < lay.height
            prev = cells[i - 1] if i else (cell[0] - 1, cell[1])
            nxt = cells[i + 1] if i + 1 < len(cells) else (cell[0] + 1, cell[1])
            straight = "h" if prev[1] == cell[1] == nxt[1] else "v" if prev[0] == nxt[0] else "c"
            occupied.setdefault(cell, []).append((edge, straight))
    # edges of different values never merge: a cell two values share is one horizontal
    # crossing one vertical; the edges of one value share a trunk and fan out from it
    for cell, users in occupied.items():
        sources: dict[int, set[str]] = {}
        for (parent, _, _), shape in users:
            sources.setdefault(parent, set()).add(shape)
        if len(sources) > 1:
            assert len(sources) == 2, (cell, users)
            shapes = list(sources.values())
            assert {frozenset(shapes[0]), frozenset(shapes[1])} == {
                frozenset("h"),
                frozenset("v"),
            }, (cell, users)
    # one value's edges form a tree: once two of them part, they never meet again
    by_source: dict[int, list[list[tuple[int, int]]]] = {}
    for edge in graph.edges(keys=True):
        by_source.setdefault(edge[0], []).append(lay.cells(edge))
    for paths in by_source.values():
        for i, a in enumerate(paths):
            for b in paths[i + 1 :]:
                common = 0
                while common < min(len(a), len(b)) and a[common] == b[common]:
                    common += 1
                assert common >= 1  # they leave by the same port
                assert not set(a[common:]) & set(b[common:]), (a, b)
    # every value leaves its box by one port; two values never by the same cell
    starts = {lay.cells(e)[0]: e[0] for e in graph.edges(keys=True)}
    assert len(starts) == len({e[0] for e in graph.edges(keys=True)})
    for parent in {e[0] for e in graph.edges(keys=True)}:
        assert len(boxes[parent].out_ports) == 1


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs)
def test_random_graphs_lay_out_cleanly(root: Value) -> None:
    check_layout(layout(to_networkx(root)))


@pytest.mark.parametrize("mode", ["compact", "lecture", "tiny"])
@settings(max_examples=40, deadline=None)
@given(graphs)
def test_other_modes_lay_out_cleanly(mode: Mode, root: Value) -> None:
    check_layout(layout(to_networkx(root), mode=mode))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6), st.integers(2, 40), st.integers(0, 3), modes)
def test_focus_views_lay_out_cleanly(seed: int, size: int, radius: int, mode: Mode) -> None:
    graph = to_networkx(random_graph(seed, size))
    center = random.Random(seed).choice(sorted(graph.nodes))
    sub = focus(graph, center, radius)
    assert center in sub
    assert all(nx.shortest_path_length(graph.to_undirected(), center, n) <= radius for n in sub)
    check_layout(layout(sub, mode=mode))


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 40), modes)
def test_layout_is_deterministic(seed: int, size: int, mode: Mode) -> None:
    first = layout(to_networkx(random_graph(seed, size)), mode=mode)
    second = layout(to_networkx(random_graph(seed, size)), mode=mode)
    assert first.boxes == second.boxes
    assert first.routes == second.routes
    assert (first.width, first.height) == (second.width, second.height)


def test_to_networkx_keeps_every_operand_edge() -> None:
    a = Value(3.0, "a")
    sq = a * a
    sq.label = "sq"
    graph = to_networkx(sq)
    assert isinstance(graph, nx.DiGraph)  # a MultiDiGraph is a DiGraph
    assert list(graph.nodes) == [0, 1]
    assert sorted(graph.edges(keys=True)) == [(0, 1, 0), (0, 1, 1)]
    assert graph.edges[0, 1, 1]["index"] == 1
    attrs = graph.nodes[1]
    assert (attrs["label"], attrs["op"], attrs["data"], attrs["value"]) == ("sq", "*", 9.0, sq)


def test_names_fall_back_to_label_then_number() -> None:
    x = Value(8.0, "x")
    sq = x * x
    out = sq + 1
    graph = to_networkx(out, names={sq: "x*x"})
    labels = [graph.nodes[n]["label"] for n in graph.nodes]
    assert labels == ["x", "x*x", "1", ""]


def test_leaves_sit_next_to_their_first_consumer() -> None:
    # e = (a + b) * c: c is consumed only by the last op, so it is placed just before it
    a, b, c = Value(1.0, "a"), Value(2.0, "b"), Value(3.0, "c")
    s = a + b
    e = s * c
    e.label = "e"
    graph = to_networkx(e)
    lay = layout(graph)
    layer = {n: lay.boxes[n].layer for n in graph.nodes}
    ids = {graph.nodes[n]["label"]: n for n in graph.nodes}
    assert layer[ids["a"]] == layer[ids["b"]] == 0
    assert layer[ids["c"]] == layer[ids[""]] == 1
    assert layer[ids["e"]] == 2


def test_large_graph_lays_out() -> None:
    check_layout(layout(to_networkx(random_graph(7, 400))))


def test_a_chain_with_constants_stays_on_one_row() -> None:
    # v + 0.001, tanh, v + 0.001, ...: the constants bend their own edges; the chain runs straight
    v = Value(0.5, "x")
    for i in range(60):
        v = v.tanh() if i % 2 else v + 0.001
    lay = layout(to_networkx(v))
    assert lay.height <= 8
    check_layout(lay)


def channel_gaps(lay: Layout) -> list[int]:
    """Columns between the widest box of each layer and the next layer's leftmost cell."""
    right = [max(lay.boxes[n].x + lay.boxes[n].w for n in column) for column in lay.layers]
    return [lay.column_x[i + 1] - right[i] for i in range(len(right) - 1)]


def toy() -> Value:
    """r = (x*x + 1) / (y*y - 1) at x = 8, y = 3."""
    x = Value(8.0, "x")
    y = Value(3.0, "y")
    a = x * x + 1
    a.label = "a"
    b = y * y - 1
    b.label = "b"
    r = a / b
    r.label = "r"
    return r


def test_lecture_mode_is_full_mode_made_larger() -> None:
    graph = to_networkx(toy())
    full, lecture = layout(graph), layout(graph, mode="lecture")
    check_layout(lecture)
    assert full.layers == lecture.layers  # the same graph, only bigger
    for n, box in full.boxes.items():
        big = lecture.boxes[n]
        if box.constant:
            assert (big.w, big.h) == (box.w, box.h)  # a bare number stays a bare number
        else:
            assert big.w >= box.w + 2 and big.h >= box.h + 2
            # the ports stay on the rows of the numbers: one row of padding above them
            assert [p - big.y for p in big.in_ports] == [p - box.y + 1 for p in box.in_ports]
            assert [p - big.y for p in big.out_ports] == [p - box.y + 1 for p in box.out_ports]
    # wider channels between layers (longer wires) and more rows between boxes
    for narrow, wide in zip(channel_gaps(full), channel_gaps(lecture), strict=True):
        assert wide >= narrow + 4
    assert lecture.width > full.width and lecture.height > full.height
    for column in lecture.layers:
        boxes = sorted((lecture.boxes[n] for n in column), key=lambda b: b.y)
        for upper, lower in zip(boxes, boxes[1:], strict=False):
            assert lower.y - (upper.y + upper.h) >= METRICS["lecture"].row_gap
    assert METRICS["lecture"].row_gap > METRICS["full"].row_gap


# --- zoom levels --------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**6), st.integers(1, 30), st.integers(20, 220), st.integers(4, 70))
def test_the_chosen_level_fits_whenever_any_level_fits(
    seed: int, size: int, width: int, height: int
) -> None:
    graph = to_networkx(random_graph(seed, size))
    sizes = {mode: layout(graph, mode=mode) for mode in LEVELS}
    fitting = [m for m in LEVELS if sizes[m].width <= width and sizes[m].height <= height]
    chosen = fit(graph, width, height)
    if fitting:
        assert chosen == fitting[0]  # the largest level that fits
    else:
        assert chosen is None


def test_tiny_nodes_are_one_line_each() -> None:
    root = toy()
    lay = layout(to_networkx(root), mode="tiny")
    check_layout(lay)
    for box in lay.boxes.values():
        arity = OPS[lay.graph.nodes[box.node]["op"]].arity if lay.graph.nodes[box.node]["op"] else 0
        assert box.h == max(arity, 1)
    assert lay.height < layout(to_networkx(root), mode="compact").height


def test_a_long_sum_of_terms_is_packed_not_a_staircase() -> None:
    # tanh(x*w + b)*v summed over 60 terms: straight chains would put each term on rows of
    # its own, below the one before (a canvas hundreds of rows tall and mostly blank)
    x = Value(0.5, "x")
    total = None
    for i in range(60):
        term = (x * (0.1 + 0.01 * i) + 0.05 * (i % 5)).tanh() * (0.2 + 0.1 * (i % 3))
        total = term if total is None else total + term
    assert total is not None
    lay = layout(to_networkx(total))
    check_layout(lay)
    tallest = max(sum(lay.boxes[n].h + 1 for n in column) for column in lay.layers)
    assert lay.height <= 3 * tallest + 10


def test_a_chain_that_only_drifts_stops_pulling_with_the_same_drawing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A long sum's rows drift by one row a round and never settle; the rounds after the first
    drift are skipped. The drawing is the one every round gives (the shift to row 0 undoes a
    drift), on chains of both shapes and a graph that does settle."""
    import stepgrad.layout as layout_module
    from engine.parse import parse
    from stepgrad.draw import render_text

    rounds_run = []

    def every_round(layers: list[list[object]], row_gap: int, rounds: int) -> None:
        for _ in range(rounds):  # as before: stop only when nothing moves
            rounds_run.append(1)
            before = [e.top for lay in layers for e in lay]  # type: ignore[attr-defined]
            for lay in layers[1:]:
                layout_module._pull(lay, row_gap, up=False)  # type: ignore[arg-type]
            for lay in reversed(layers[:-1]):
                layout_module._pull(lay, row_gap, up=True)  # type: ignore[arg-type]
            if before == [e.top for lay in layers for e in lay]:  # type: ignore[attr-defined]
                return

    settle, pull = layout_module._settle, layout_module._pull
    pulls = []

    def counted(*args: object, **kwargs: object) -> None:
        pulls.append(1)
        pull(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(layout_module, "_pull", counted)
    render_text(parse("+".join(["x"] * 120), {"x": 1.0}).output)
    assert len(pulls) <= 2 * 2 * 119  # two rounds over its 120 layers, not four
    monkeypatch.setattr(layout_module, "_pull", pull)
    for source in ("+".join(["x"] * 120), " + ".join(f"a{i}" for i in range(40)), "x*x + x*2"):
        program = parse(source, dict.fromkeys(re.findall(r"[a-z]\w*", source), 1.0))
        quick = render_text(program.output, backward=True)
        monkeypatch.setattr(layout_module, "_settle", every_round)
        slow = render_text(program.output, backward=True)
        monkeypatch.setattr(layout_module, "_settle", settle)
        assert quick == slow, source
    assert len(rounds_run) > 3  # the drifting chain ran every round in the reference


def test_fit_lays_out_nothing_for_a_chain_too_long_for_any_level(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 600-term sum has 600 columns: no level fits 160 cells, and fit says so without laying
    out the graph (the app laid out every level of a 20,000-character program to find that
    out); a graph that does fit is still fitted as before."""
    import stepgrad.layout as layout_module
    from engine.parse import parse

    laid: list[str] = []
    real = layout_module.layout

    def counting(graph: object, mode: Mode = "full", **kwargs: object) -> Layout:
        laid.append(mode)
        return real(graph, mode=mode, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(layout_module, "layout", counting)
    chain = to_networkx(parse("+".join(["x"] * 600), {"x": 1.0}).output)
    assert fit(chain, 160, 48) is None
    assert laid == []
    for mode in LEVELS:  # the bound is safe: no level could have fitted
        assert real(chain, mode=mode).width > 1.5 * 160
    terms = [f"x{i}" for i in range(64)]
    while len(terms) > 1:  # a balanced sum: 127 nodes in 7 columns
        terms = [f"({a} + {b})" for a, b in zip(terms[::2], terms[1::2], strict=True)]
    tree = to_networkx(parse(terms[0], {f"x{i}": 1.0 for i in range(64)}).output)
    assert fit(tree, 300, 400) is not None
    assert laid
