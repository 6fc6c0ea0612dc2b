"""The graph view's edges, from a tester's findings on issue 11.

- Find centres the node it finds (``/ h1_1_1`` at 200x60 drew it at the top-left corner, the
  view led off toward the output, and more graph lay to its left and above), also when it first
  expands the collapsed neuron the node is in.
- When the graph does not fit, the view the app places itself (on opening, on a resize, at each
  step, on find) cuts no box: a box is in view whole or not at all (the neuron at 80x24 showed
  ``x1w1`` and ``x2w2`` without their left borders, at 60x20 only ``b``'s top border). A pan by
  the user may cut boxes: that is the user's choice.
- At the tiny level (one-line boxes) the view the app places keeps each box's text whole: the
  MLP at 120x36 opened with two names cut to ``… ∇ —`` at the left edge, and at 60x20 (resized
  from 200x60) with ``…   ∇ —`` and `` … —``.
- The arrows that say more lies off screen are there from the first frame of a graph laid out
  late: forward mode on a large program opened with none (its view opens where it was, at the
  top left, and no scroll said it had moved).
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stepgrad.app import StepgradApp, create_app
from stepgrad.examples import EXAMPLES
from stepgrad.layout import Box
from stepgrad.screens.find import FindScreen
from stepgrad.widgets import GraphView, Inspector, StepTitle
from stepgrad.widgets.graph_view import (
    _cuts,
    _leave_out_cut_boxes,
    _tiny_text,
    _uncut_position,
)

SIZES = [(200, 60), (120, 36), (100, 30), (80, 24), (60, 20), (40, 12)]


def example_app(name: str) -> StepgradApp:
    example = EXAMPLES[name]
    return create_app(example.program, example=example, steady=True)


def check_no_box_is_cut(app: StepgradApp, where: object) -> None:
    """Every box with a border the view shows part of, it shows whole (a one-line box: its
    text); a box left out is blank on screen; a box is cut only if it is the node the view must
    show and larger than the view. The corner's arrows say on which sides the drawing goes on."""
    graph = app.main.query_one(GraphView)
    drawing = graph.drawing
    assert drawing is not None, where
    x0, y0, x1, y1 = graph.shown()
    x, y = round(graph.scroll_x), round(graph.scroll_y)
    width, height = graph.scrollable_content_region.size
    assert x <= x0 <= x1 <= x + width and y <= y0 <= y1 <= y + height, where
    lines = [graph.render_line(row).text for row in range(height)]
    from stepgrad.layout import METRICS

    # one-line boxes (the tiny level): their text (the name's line and the op form under it)
    # is in view whole or not at all, but a neuron's bracket runs on past the edge as a wire
    # does, and so may the blank column before a box's wire
    bordered = METRICS[drawing.layout.mode].border
    for node, box in drawing.boxes.items():
        box = box if bordered else _tiny_text(box)
        right, bottom = box.x + box.w, box.y + box.h
        if box.x >= x1 or right <= x0 or box.y >= y1 or bottom <= y0:
            continue  # wholly outside
        if x0 <= box.x and right <= x1 and y0 <= box.y and bottom <= y1:
            continue  # wholly inside
        if box.w > width or box.h > height:
            continue  # no view can show it whole
        assert node in graph._left_out, (where, node, box, (x0, y0, x1, y1))
        for row in range(max(box.y, y0), min(bottom, y1)):
            cells = lines[row - y][max(box.x, x0) - x : min(right, x1) - x]
            assert not cells.strip(), (where, node, cells)
    arrows = graph.more().split()
    beyond = {"◀": x0 > 0, "▲": y0 > 0, "▼": y1 < drawing.height, "▶": x1 < drawing.width}
    assert arrows == [arrow for arrow, more in beyond.items() if more], (where, arrows)


# --- find centres the node ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "name"),
    [
        ((200, 60), "h1_1_1"),
        ((200, 60), "h2_2_3"),
        ((200, 60), "b2_3"),
        ((200, 60), "y3"),
        ((120, 36), "h2_2_3"),
        ((120, 36), "w1_2_2"),
    ],
)
async def test_find_centres_the_node(size: tuple[int, int], name: str) -> None:
    """The node's box is in the middle of the view, within a couple of cells, on each axis
    where the drawing's edge does not stop the view; and the view cuts no box."""
    app = example_app("mlp")
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await pilot.press("slash")
        await pilot.pause()
        assert isinstance(app.screen, FindScreen)
        await pilot.press(*name, "enter")
        await pilot.pause()
        await pilot.pause()
        screen = app.main
        assert screen.scene is not None
        value = screen.selected
        assert value is not None and screen.scene.names[value] == name
        assert screen.query_one(Inspector).display
        graph = screen.query_one(GraphView)
        drawing = graph.drawing
        assert drawing is not None
        box = drawing.boxes[screen.scene.shown_ids([value])[0]]
        width, height = graph.scrollable_content_region.size
        x, y = round(graph.scroll_x), round(graph.scroll_y)
        for start, length, at, size_, top in (
            (box.x, box.w, x, width, graph.max_scroll_x),
            (box.y, box.h, y, height, graph.max_scroll_y),
        ):
            assert at <= start and start + length <= at + size_, (name, box, x, y)
            off = (start + length / 2) - (at + size_ / 2)
            assert abs(off) <= 3 or (at == 0 and off < 0) or (at == top and off > 0), (
                name,
                box,
                (x, y),
                off,
            )
        check_no_box_is_cut(app, name)


# --- no cut box --------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "steps"), [("neuron", 6), ("toy", 10), ("mlp", 16)])
@pytest.mark.parametrize("size", SIZES)
async def test_stepping_never_cuts_a_box(name: str, steps: int, size: tuple[int, int]) -> None:
    app = example_app(name)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await pilot.pause()
        check_no_box_is_cut(app, (size, 0))
        for _ in range(steps):
            await pilot.press("right")
            await pilot.pause()
            check_no_box_is_cut(app, (size, app.walk.step))


@pytest.mark.parametrize("name", ["neuron", "toy", "mlp"])
async def test_resizing_down_and_back_never_cuts_a_box(name: str) -> None:
    """Issue 11's done-when: 200x60 down to 60x20 and back, with no cut box; here at a step
    in the middle of the pass too."""
    app = example_app(name)
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.pause()
        for step in (0, 3):
            await pilot.press(*["right"] * step)
            for size in [*SIZES, *SIZES[-2::-1]]:
                await pilot.resize_terminal(*size)
                await pilot.pause()
                await pilot.pause()
                check_no_box_is_cut(app, (size, app.walk.step))


async def test_the_neuron_at_80x24_shows_its_boxes_whole() -> None:
    """The tester's screen: ``x1w1 = ·*· ───┐`` without its left border, inputs off screen."""
    app = example_app("neuron")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        graph = app.main.query_one(GraphView)
        text = "\n".join(graph.render_line(y).text for y in range(graph.size.height))
        assert "┌ x1w1 = ·*·" in text and "┌ x2w2 = ·*·" in text, text
        assert "┌ o = tanh" in text
        check_no_box_is_cut(app, "80x24")


def _screen(graph: GraphView) -> list[str]:
    return [graph.render_line(y).text for y in range(graph.size.height)]


async def test_the_mlps_tiny_view_keeps_every_name_whole() -> None:
    """The tester's screens: on opening at 120x36 and after a resize from 200x60 to 60x20, a
    name cut at the left edge showed as ``…`` before its grad; no row shows one now."""
    app = example_app("mlp")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        graph = app.main.query_one(GraphView)
        for size in [(120, 36), (200, 60), (60, 20)]:
            await pilot.resize_terminal(*size)
            await pilot.pause()
            await pilot.pause()
            assert graph.drawing is not None and graph.drawing.layout.mode == "tiny"
            lines = _screen(graph)
            assert not [line for line in lines if line.lstrip().startswith("…")], lines
            assert "○ loss ∇ —" in "\n".join(lines), lines
            check_no_box_is_cut(app, size)


def _sum_of_neurons(count: int) -> str:
    """``Σ tanh(wᵢ*x + bᵢ)*vᵢ``: every neuron shares ``x``."""
    names = "\n".join(f"w{i} = 0.1\nb{i} = 0.1\nv{i} = 0.2" for i in range(count))
    terms = " + ".join(f"tanh(w{i}*x + b{i})*v{i}" for i in range(count))
    return f"x = 0.3\n{names}\n{terms}"


@pytest.mark.parametrize("size", [(120, 36), (80, 24)])
async def test_forward_mode_on_a_large_graph_says_from_step_0_that_more_lies_off_screen(
    size: tuple[int, int],
) -> None:
    """The graph is laid out on a worker (as when the app is run), in forward mode: at step 0
    the view shows where the pass starts (``w0*x`` and ``w0``), and the arrows say that the
    rest of the graph lies below and to the right."""
    import asyncio

    app = create_app(_sum_of_neurons(60), forward=True)
    async with app.run_test(size=size) as pilot:
        for _ in range(1000):
            if app.main.scene is not None:
                break
            await asyncio.sleep(0.02)
            await pilot.pause()
        await pilot.pause()
        await pilot.pause()
        graph = app.main.query_one(GraphView)
        assert app.main.fwd is not None and app.main.fwd.step == 0
        assert graph.more() == "▼ ▶"
        assert app.main.query_one(StepTitle).more == graph.more()
        text = "\n".join(_screen(graph))
        assert "w0*x = —" in text and "w0 = 0.1" in text, text
        await pilot.press("right", "left")  # a step there and back says the same
        await pilot.pause()
        assert app.main.query_one(StepTitle).more == graph.more() == "▼ ▶"


async def test_panning_is_the_users_choice_and_a_step_places_the_view_again() -> None:
    """A pan moves the whole window, cut boxes and all (the arrows in the corner follow it);
    the next step places the view again, with no cut box."""
    app = example_app("neuron")
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        graph = app.main.query_one(GraphView)
        before = (graph.scroll_x, graph.scroll_y)
        await pilot.press("shift+left", "up")
        await pilot.pause()
        assert before[0] >= 8  # the view opens at the output, on the right
        assert (graph.scroll_x, graph.scroll_y) == (before[0] - 8, max(0, before[1] - 3))
        x, y = round(graph.scroll_x), round(graph.scroll_y)
        width, height = graph.scrollable_content_region.size
        assert graph.shown() == (x, y, x + width, y + height)  # the whole window
        assert graph.more() and app.main.query_one(StepTitle).more == graph.more()
        graph.pan(-6, 0)  # what the mouse wheel does (shift+wheel)
        await pilot.pause()
        assert round(graph.scroll_x) == max(0, x - 6)
        await pilot.press("right")
        await pilot.pause()
        check_no_box_is_cut(app, "after a pan and a step")


# --- the placement, on random boxes ------------------------------------------------------------


def random_boxes(seed: int) -> list[Box]:
    """Boxes in layers, as the layout makes them: columns apart, rows apart within a column."""
    rng = random.Random(seed)
    boxes: list[Box] = []
    x = 0
    for layer in range(rng.randint(1, 6)):
        w = rng.randint(3, 12)
        y = rng.randint(0, 4)
        for _ in range(rng.randint(1, 5)):
            h = rng.randint(1, 6)
            boxes.append(Box(len(boxes), layer, x, y, w, h, (), ()))
            y += h + rng.randint(1, 3)
        x += w + rng.randint(2, 6)
    return boxes


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**6), st.integers(4, 30), st.integers(2, 15), st.integers(0, 20))
def test_an_uncut_position_is_uncut_and_nearest(seed: int, w: int, h: int, spread: int) -> None:
    boxes = random_boxes(seed)
    rng = random.Random(seed + 1)
    xs = range(rng.randint(0, 10), rng.randint(0, 10) + spread + 1)
    ys = range(rng.randint(0, 5), rng.randint(0, 5) + spread // 2 + 1)
    at = (rng.choice(xs), rng.choice(ys)) if xs and ys else (0, 0)
    found = _uncut_position(boxes, at, (w, h), xs, ys)
    good = [
        (x, y) for x in xs for y in ys if not any(_cuts(box, x, y, x + w, y + h) for box in boxes)
    ]
    if found is None:
        assert not good
    else:
        assert found in good
        cost = abs(found[0] - at[0]) + abs(found[1] - at[1])
        assert cost == min(abs(x - at[0]) + abs(y - at[1]) for x, y in good)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**6), st.integers(4, 30), st.integers(2, 15))
def test_leaving_out_keeps_the_kept_box_and_reports_every_cut(seed: int, w: int, h: int) -> None:
    boxes = random_boxes(seed)
    rng = random.Random(seed + 2)
    keep = rng.choice(boxes)
    x = rng.randint(max(0, keep.x + keep.w - w), max(0, keep.x + keep.w - w, keep.x))
    y = rng.randint(max(0, keep.y + keep.h - h), max(0, keep.y + keep.h - h, keep.y))
    window = (x, y, x + w, y + h)
    hold = (keep.x, keep.y, keep.x + keep.w, keep.y + keep.h)
    clip, cut = _leave_out_cut_boxes(boxes, window, [keep], hold)
    x0, y0, x1, y1 = clip
    assert x <= x0 < x1 <= x + w and y <= y0 < y1 <= y + h
    if keep.w <= w and keep.h <= h:  # it fits: it stays whole in view
        assert x0 <= keep.x and keep.x + keep.w <= x1 and y0 <= keep.y and keep.y + keep.h <= y1
    assert sorted(cut) == sorted(box for box in boxes if _cuts(box, *clip))
