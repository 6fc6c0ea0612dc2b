"""Lecture scale, from a tester's findings: every arrow ends at the node it feeds (a collapsed
neuron's one-line box takes 5 to 17 edges), the toy fits whole at 60x20, a big terminal spreads
the columns instead of leaving an empty band, and the view leans toward a parent receiving a
grad that cannot be shown with the node firing.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_draw import check_wires_connect
from test_layout import check_layout, random_graph

from engine.parse import parse
from stepgrad.app import StepgradApp, create_app
from stepgrad.draw import Drawing, View, draw
from stepgrad.examples import EXAMPLES
from stepgrad.layout import LEVELS, Mode, layout, spread, to_networkx
from stepgrad.scene import Scene
from stepgrad.state import Walkthrough
from stepgrad.widgets import GraphView


def example_app(name: str, **options: object) -> StepgradApp:
    example = EXAMPLES[name]
    return create_app(example.program, example=example, steady=True, **options)  # type: ignore[arg-type]


def check_arrows_meet_their_nodes(drawing: Drawing, view: View | None = None) -> None:
    """Every edge ends in ``▶``, the cell right after it belongs to the box of the node the
    edge feeds, and that box shows something on that row (a border, a bracket, a line of
    text): never a blank row under a box's text, which reads as feeding the box below."""
    lines = drawing.render(view).lines
    for edge in drawing.routes:
        x, y = drawing.edge_cells(edge)[-1]
        assert lines[y][x] == "▶", edge
        assert drawing.node_at(x + 1, y) == edge[1], edge
        box = drawing.boxes[edge[1]]
        assert lines[y][box.x : box.x + box.w].strip(), (edge, lines[y])


def grid_arrows(lines: list[str]) -> list[tuple[int, int]]:
    """Where the text shows an arrow head with a blank cell after it."""
    return [
        (x, y)
        for y, line in enumerate(lines)
        for x, char in enumerate(line[:-1])
        if char == "▶" and line[x + 1] == " "
    ]


# --- every arrow ends at its node --------------------------------------------------------------


@pytest.mark.parametrize("name", ["neuron", "mlp"])
@pytest.mark.parametrize("mode", LEVELS)
def test_arrows_into_collapsed_neurons_meet_them(name: str, mode: Mode) -> None:
    walk = Walkthrough(parse(EXAMPLES[name].program))
    scene = Scene(walk)
    scene.set_all(True)
    assert scene.collapsed
    drawing = scene.drawing(mode)
    for step in (0, walk.total // 2, walk.total):
        walk.go(step)
        check_arrows_meet_their_nodes(drawing, scene.view(walk))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 35), st.sampled_from(LEVELS))
def test_arrows_meet_their_nodes_on_random_graphs(seed: int, size: int, mode: Mode) -> None:
    root = random_graph(seed, size)  # unnamed binary ops: one line of text, two ports
    check_arrows_meet_their_nodes(draw(layout(to_networkx(root), mode=mode)))


async def test_the_collapsed_neuron_at_tiny_shows_no_bare_arrow() -> None:
    """The tester's repro: ``--example neuron`` at 100x30, ``x [ [``: four of the five arrows
    into ``o = tanh(Σ2)`` stopped in blank rows under it."""
    app = example_app("neuron")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("x", "left_square_bracket", "left_square_bracket")
        await pilot.pause()
        assert app.main._mode() == "tiny" and app.main.scene.collapsed  # type: ignore[union-attr]
        graph = app.main.query_one(GraphView)
        lines = [graph.render_line(y).text for y in range(graph.size.height)]
        assert sum(line.count("▶") for line in lines) == 5
        assert grid_arrows(lines) == []


# --- the toy fits at 60x20 ----------------------------------------------------------------------


async def test_the_toy_fits_whole_at_60x20_and_back() -> None:
    """Issue 11: the toy at 60x20 opened with its inputs cut to stubs and no level fitted; it
    must fit whole at some level, through a resize down from 200x60 and back."""
    app = example_app("toy")
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        for size in [(60, 20), (200, 60), (60, 20)]:
            await pilot.resize_terminal(*size)
            await pilot.pause()
            await pilot.pause()
            screen = app.main
            assert screen.scene is not None
            assert screen.scene.fit(*screen._graph_room()) is not None, size
            graph = screen.query_one(GraphView)
            drawing = graph.drawing
            assert drawing is not None
            width, height = graph.scrollable_content_region.size
            x0, y0 = round(graph.scroll_x), round(graph.scroll_y)
            for node, box in drawing.boxes.items():
                assert x0 <= box.x and box.x + box.w <= x0 + width, (size, node)
                assert y0 <= box.y and box.y + box.h <= y0 + height, (size, node)
            assert graph.more() == ""
            text = "\n".join(graph.render_line(y).text for y in range(height))
            for name in ("x", "y", "r"):
                assert f" {name} ∇" in text or f"┌ {name} " in text or f"─ {name} " in text, name


# --- a big terminal spreads the columns ---------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 30), st.sampled_from(LEVELS), st.integers(0, 120))
def test_spread_keeps_every_route_and_only_moves_columns(
    seed: int, size: int, mode: Mode, extra: int
) -> None:
    lay = layout(to_networkx(random_graph(seed, size)), mode=mode)
    wide = spread(lay, lay.width + extra)
    check_layout(wide)
    assert lay.width <= wide.width <= lay.width + extra
    channels = len(lay.column_x) - 1
    most = max(box.w for box in lay.boxes.values())
    if channels and extra // channels <= most:  # no channel at its cap: the room is used
        assert wide.width > lay.width + extra - channels
    left = min(box.x for box in wide.boxes.values()) - min(box.x for box in lay.boxes.values())
    assert 0 <= (lay.width + extra - wide.width) - left <= 1  # what is left over centres it
    for node, box in lay.boxes.items():  # rows and column order stay, columns only move right
        moved = wide.boxes[node]
        assert (moved.y, moved.h, moved.w, moved.layer) == (box.y, box.h, box.w, box.layer)
        assert moved.x >= box.x
    for a, b in zip(wide.column_x, wide.column_x[1:], strict=False):
        assert a < b
    check_wires_connect(draw(wide), draw(wide).render().lines)


def test_spread_never_narrows() -> None:
    lay = layout(to_networkx(random_graph(7, 20)))
    assert spread(lay, lay.width) is lay and spread(lay, lay.width - 10) is lay


@pytest.mark.parametrize("size", [(140, 40), (200, 60)])
async def test_a_big_terminal_spreads_the_lecture_neuron(size: tuple[int, int]) -> None:
    """``--example neuron --lecture`` at 140x40 drew the 120x36 drawing with about 20 empty
    columns on the right; at 200x60 the boxes spanned 120 of 200 columns."""
    app = example_app("neuron", lecture=True)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        graph = app.main.query_one(GraphView)
        drawing = graph.drawing
        assert drawing is not None and graph.more() == ""
        width = graph.scrollable_content_region.width
        left = min(box.x for box in drawing.boxes.values())
        right = width - max(box.x + box.w for box in drawing.boxes.values())
        channels = len(drawing.layout.column_x) - 1
        assert left <= channels and right <= channels + 1, (left, right, width)


# --- the view leans toward a parent it cannot show -----------------------------------------------


async def test_the_view_leans_toward_a_receiving_parent_too_far_to_show() -> None:
    """``--example mlp`` at 120x36, → ×12, f, f, c: ``y2 - 1`` fires and sends to ``y2``, 30
    rows above: both cannot be in view, and the view centred ``y2 - 1``, so its heavy edge ran
    off the top and seven pans up did not reach ``y2``. The firing node stays whole in view, at
    the side toward ``y2``, and ``y2``'s columns are in view."""
    app = example_app("mlp")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await pilot.press(*["right"] * 12, "f", "f", "c")
        await pilot.pause()
        screen = app.main
        current = app.walk.current
        assert current is not None and screen.scene is not None
        assert screen.scene.names[current.node] == "y2 - 1" and screen._mode() == "compact"
        (edge,) = current.edges
        graph = screen.query_one(GraphView)
        drawing = graph.drawing
        assert drawing is not None
        fire = drawing.boxes[screen.scene.shown_ids([current.node])[0]]
        parent = drawing.boxes[screen.scene.shown_ids([edge.parent])[0]]
        width, height = graph.scrollable_content_region.size
        x0, y0 = round(graph.scroll_x), round(graph.scroll_y)
        assert parent.y + parent.h <= fire.y and fire.y + fire.h - parent.y > height  # too far
        assert x0 <= fire.x and fire.x + fire.w <= x0 + width
        assert y0 <= fire.y and fire.y + fire.h <= y0 + height
        assert x0 <= parent.x and parent.x + parent.w <= x0 + width
        # as far up as still shows the firing box, but for a margin of at most 2 rows
        assert y0 + height - (fire.y + fire.h) <= 2, (y0, height, fire)


def test_the_neuron_firing_has_a_heavy_bracket_as_tall_as_its_ports() -> None:
    """The MLP at its last step, one-line boxes: ``w1_2_2`` feeds the neuron firing, and its
    heavy edge must end at that neuron (``▶┃``), not in a blank row above the next one."""
    walk = Walkthrough(parse(EXAMPLES["mlp"].program))
    scene = Scene(walk)
    walk.go(walk.total)
    drawing = scene.drawing("tiny")
    lines = drawing.render(scene.view(walk)).lines
    current = walk.current
    assert current is not None
    box = drawing.boxes[scene.shown_ids([current.node])[0]]
    assert box.h == len(box.in_ports) > 2
    assert [lines[y][box.x] for y in range(box.y, box.y + box.h)] == (
        ["┏"] + ["┃"] * (box.h - 2) + ["┗"]
    )
    assert all(lines[y][box.x - 1] == "▶" for y in box.in_ports)


@pytest.mark.parametrize(
    ("example", "size", "says"),
    [
        ("toy", (120, 36), "boxes: the largest at which the whole graph fits"),
        ("mlp", (200, 60), "no level fits the whole graph on this screen"),
    ],
)
async def test_0_says_whether_the_whole_graph_fits(
    example: str, size: tuple[int, int], says: str
) -> None:
    """`0` on the MLP at 200x60 said "tiny boxes: the largest at which the graph fits" beside
    the `more ◀ ▲ ▼` marker: nothing fit."""
    app = create_app(EXAMPLES[example].program, steady=True)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        app.clear_notifications()
        await pilot.press("0")
        await pilot.pause()
        said = [str(n.message) for n in app._notifications]
        assert len(said) == 1 and says in said[0], said
