"""Lecture scale: the whole graph fits when it can, networks collapse, any node can be found,
titles tell nodes apart, the values pane follows the firing node, and resizing never cuts a box.
"""

from __future__ import annotations

import pytest

from engine.parse import parse
from stepgrad.app import StepgradApp, create_app
from stepgrad.examples import EXAMPLES
from stepgrad.groups import weighted_sums
from stepgrad.layout import METRICS, to_networkx
from stepgrad.scene import Scene, titles
from stepgrad.screens.find import FindScreen
from stepgrad.state import Walkthrough
from stepgrad.widgets import GraphView, Inspector, ValuesTable


def example_app(name: str, **options: object) -> StepgradApp:
    example = EXAMPLES[name]
    return create_app(example.program, example=example, steady=True, **options)  # type: ignore[arg-type]


def boxes_in_view(app: StepgradApp) -> tuple[int, int]:
    """(boxes wholly inside the graph view's window, all boxes)."""
    graph = app.main.query_one(GraphView)
    drawing = graph.drawing
    assert drawing is not None
    x0, y0 = round(graph.scroll_x), round(graph.scroll_y)
    width, height = graph.scrollable_content_region.size
    inside = sum(
        1
        for box in drawing.boxes.values()
        if x0 <= box.x
        and box.x + box.w <= x0 + width
        and y0 <= box.y
        and box.y + box.h <= y0 + height
    )
    return inside, len(drawing.boxes)


# --- the neuron fits ---------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "lecture"), [((120, 36), True), ((100, 30), False)])
async def test_the_neuron_fits_with_names_data_and_grads(
    size: tuple[int, int], lecture: bool
) -> None:
    app = example_app("neuron", lecture=lecture)
    async with app.run_test(size=size) as pilot:
        await pilot.press("end")
        await pilot.pause()
        screen = app.main
        mode = screen._mode()
        assert mode != "tiny"  # a level that shows data, not just grads
        inside, total = boxes_in_view(app)
        assert inside == total == 10
        graph = screen.query_one(GraphView)
        text = graph.drawing.render(graph.view).text  # type: ignore[union-attr]
        program = app.walk.program
        for name in [*program.inputs, "o"]:
            assert f"┌ {name} " in text or f"┌─ {name} " in text, name
        # the grads of the lecture (micrograd's neuron): x1 -1.5, w1 1, x2 0.5, w2 0
        for grad in ("-1.5", "0.5"):
            assert grad in text
        assert "6.88137" in text  # b's data is shown too


# --- networks collapse -------------------------------------------------------------------------


async def test_the_mlp_opens_collapsed_and_expands() -> None:
    app = example_app("mlp")
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.pause()
        screen = app.main
        scene = screen.scene
        assert scene is not None and scene.groups
        assert scene.collapsed == frozenset(g.root for g in scene.groups)
        collapsed_nodes = screen.graph.number_of_nodes()  # type: ignore[union-attr]
        assert collapsed_nodes < scene.graph.number_of_nodes() / 2
        assert screen._mode() == "tiny"
        await pilot.press("X")  # expand every weighted sum
        await pilot.pause()
        assert scene.collapsed == frozenset()
        assert screen.graph.number_of_nodes() == scene.graph.number_of_nodes()  # type: ignore[union-attr]
        assert [n.message for n in app._notifications][-1] == (
            f"{len(scene.groups)} weighted sums expanded (x collapses or expands just the one "
            "the current node is in)"
        )
        await pilot.press("X")
        await pilot.pause()
        assert len(scene.collapsed) == len(scene.groups)
        assert [n.message for n in app._notifications][-1] == (
            f"{len(scene.groups)} weighted sums collapsed (x collapses or expands just the one "
            "the current node is in)"
        )


async def test_a_collapsed_group_shows_which_node_fires() -> None:
    app = example_app("neuron")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.main
        await pilot.press("right", "right", "right")  # inside the weighted sum by now
        await pilot.pause()
        assert screen.scene is not None and not screen.scene.collapsed  # the neuron opens expanded
        await pilot.press("x")
        await pilot.pause()
        assert screen.scene.collapsed
        graph = screen.query_one(GraphView)
        text = graph.drawing.render(graph.view).text  # type: ignore[union-attr]
        current = app.walk.current
        assert current is not None
        fired = screen.scene.names[current.node]
        assert "tanh(Σ2)" in text and f"now: {fired}" in text
        # stepping still goes one node at a time, and x opens the group again
        before = app.walk.step
        await pilot.press("right")
        assert app.walk.step == before + 1
        await pilot.press("x")
        await pilot.pause()
        assert not screen.scene.collapsed


def test_groups_of_a_graph_from_python() -> None:
    # micrograd-style, no names: tanh(w1*x1 + w2*x2 + b) is found all the same
    from engine import Value

    x1, x2, w1, w2, b = (Value(v) for v in (2.0, 0.0, -3.0, 1.0, 6.8813735870195432))
    o = (x1 * w1 + x2 * w2 + b).tanh()
    (group,) = weighted_sums(to_networkx(o))
    assert group.products == 2 and len(group.members) == 5 and len(group.inputs) == 5


# --- find ----------------------------------------------------------------------------------------


async def test_find_centres_selects_and_inspects() -> None:
    app = example_app("mlp")
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await pilot.press("slash")
        await pilot.pause()
        assert isinstance(app.screen, FindScreen)
        await pilot.press(*"w1_2_2")
        await pilot.press("enter")
        await pilot.pause()
        screen = app.main
        target = app.walk.program.inputs["w1_2_2"]
        assert screen.selected is target
        assert screen.query_one(Inspector).display
        graph = screen.query_one(GraphView)
        node = screen.scene.shown_ids([target])[0]  # type: ignore[union-attr]
        box = graph.drawing.boxes[node]  # type: ignore[union-attr]
        width, height = graph.scrollable_content_region.size
        assert graph.scroll_x <= box.x and box.x + box.w <= graph.scroll_x + width
        assert graph.scroll_y <= box.y and box.y + box.h <= graph.scroll_y + height


async def test_find_says_when_nothing_matches() -> None:
    app = example_app("toy")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("slash", *"zzz", "enter")
        await pilot.pause()
        assert isinstance(app.screen, FindScreen)
        assert "no node is called anything like 'zzz'" in str(
            app.screen.query_one("#find-count").render()
        )
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.main and app.main.selected is None


# --- titles ----------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [24, 14])
@pytest.mark.parametrize("name", ["mlp", "neuron", "zero_grad"])
def test_no_two_nodes_share_a_title(name: str, width: int) -> None:
    program = parse(EXAMPLES[name].program)
    walk = Walkthrough(program)
    shown = titles(program, walk.nodes, width)
    named = [shown[v] for v in walk.nodes if v.parents or v.requires_grad]
    assert len(named) == len(set(named))
    assert all(len(title) <= width for title in named)


def test_titles_that_read_the_same_are_told_apart() -> None:
    program = parse("a = x*x + 1; b = x*x + 2; a*b", {"x": 2})
    walk = Walkthrough(program)
    shown = titles(program, walk.nodes)
    squares = [shown[v] for v in walk.nodes if v.op == "*" and v.parents[0] is v.parents[1]]
    assert len(squares) == 2 and squares[0] != squares[1]


def test_box_titles_are_distinct_in_every_mode() -> None:
    scene = Scene(Walkthrough(parse(EXAMPLES["mlp"].program)))
    scene.set_all(False)
    for mode in ("full", "compact", "tiny"):
        drawing = scene.drawing(mode)  # type: ignore[arg-type]
        graph = drawing.graph
        width = METRICS[mode].name_width  # type: ignore[index]
        key = "label" if width >= 24 else "short"
        labels = [
            graph.nodes[n][key]
            for n in graph
            if graph.nodes[n]["op"] or graph.nodes[n]["requires_grad"]
        ]
        assert len(labels) == len(set(labels)), mode


# --- the values pane follows ---------------------------------------------------------------


async def test_the_values_pane_follows_the_firing_node() -> None:
    app = example_app("mlp")
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.pause()
        walk = app.walk
        values = app.main.query_one(ValuesTable)
        named = [  # steps that send to named values (inputs, weights): they have rows
            k
            for k in range(1, walk.total + 1)
            if any(values.row_of(e.parent) is not None for e in walk.trace.steps[k - 1].edges)
        ]
        assert 271 in named
        for step in (271, named[len(named) // 2], named[0]):
            walk.go(step)
            app.main.sync()
            await pilot.pause()
            current = walk.current
            assert current is not None
            rows = [values.row_of(edge.parent) for edge in current.edges]
            rows = [r for r in rows if r is not None]
            assert rows, step  # the receiving inputs have rows
            shown = values.visible_rows()
            for row in rows:
                assert row in shown, (step, row, sorted(shown))
            # and they are really on screen, with their "+=" marker
            text = "\n".join(values.render_line(y).text for y in range(values.size.height))
            for edge in current.edges:
                if values.row_of(edge.parent) is not None:
                    assert walk.program.name(edge.parent) in text, step


# --- resizing -----------------------------------------------------------------------------------


async def test_resizing_never_cuts_a_box_when_the_graph_fits() -> None:
    app = example_app("toy")
    async with app.run_test(size=(200, 60)) as pilot:
        for size in [(200, 60), (120, 36), (80, 24), (60, 20), (120, 36), (200, 60)]:
            await pilot.resize_terminal(*size)
            await pilot.pause()
            await pilot.pause()
            screen = app.main
            assert screen.scene is not None
            fits = screen.scene.fit(*screen._graph_room())
            if fits is not None:
                inside, total = boxes_in_view(app)
                assert inside == total, (size, screen._mode())
        assert app.main._mode() == "lecture"  # a big terminal: roomy boxes, not empty rows


async def test_the_palette_finds_nodes() -> None:
    from textual.app import SystemCommand

    app = example_app("neuron")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        commands = list(app.get_system_commands(app.screen))
        by_title = {c.title: c for c in commands if isinstance(c, SystemCommand)}
        assert "Find a node…" in by_title
        by_title["Node: x2w2"].callback()
        await pilot.pause()
        assert app.main.selected is app.walk.program.names["x2w2"]


@pytest.mark.parametrize("width", [24, 14])
def test_titles_cut_between_whole_terms(width: int) -> None:
    """The MLP's loss is a sum of squares; its partial sums' titles were cut inside a term
    (``(y1 + 1)…1)**2``, ``(y…(y3 + 1)**2``), which says nothing on a projector. Each side of
    the ``…`` now holds whole terms: its brackets balance."""
    program = parse(EXAMPLES["mlp"].program)
    walk = Walkthrough(program)
    shown = titles(program, walk.nodes, width)
    for title in shown.values():
        for side in title.split("…"):
            assert side.count("(") == side.count(")"), title
    squares = {program.title(v): shown[v] for v in walk.nodes if "**2" in program.title(v)}
    cut = squares["(y1 + 1)**2 … + (y3 + 1)**2"]
    assert cut == {24: "(y1 + 1)**2…(y3 + 1)**2", 14: "…+ (y3 + 1)**2"}[width]


def test_a_cut_title_never_reads_as_another_nodes_name() -> None:
    """`hidden_value * hidden_value` in a one-line box read `… hidden_value`, beside the box of
    hidden_value itself (with another value): the "*" was left out with the first factor."""
    program = parse(
        "weight_alpha = 123456.789; bias_term = -0.000012345\n"
        "hidden_value = weight_alpha * bias_term\n"
        "out = hidden_value * hidden_value + weight_alpha / 7"
    )
    walk = Walkthrough(program)
    shown = titles(program, walk.nodes, 14)
    square = next(v for v in walk.nodes if program.title(v) == "hidden_value * hidden_value")
    names = set(program.names)
    assert shown[square].lstrip("… ") not in names, shown[square]


async def test_one_weighted_sum_is_one() -> None:
    """``X`` on a graph with a single weighted sum said "1 weighted sums collapsed (x: just
    one)": a plural for one, and a cryptic key hint."""
    terms = " + ".join(f"tanh(w{i}*x + c{i})*v{i}" for i in range(30))
    values = [f"w{i} = 0.{i + 1}; c{i} = 0.1; v{i} = 0.5" for i in range(30)]
    app = create_app("x = 0.3; " + "; ".join(values) + "; y = " + terms, steady=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        scene = app.main.scene
        assert scene is not None and len(scene.groups) == 1
        for word in ("expanded", "collapsed"):
            await pilot.press("X")
            await pilot.pause()
            message = [n.message for n in app._notifications][-1]
            assert message.startswith(f"1 weighted sum {word} (x collapses or expands"), message
