"""Drawings: golden files for the classic graphs (each checked by eye before it was frozen),
plus independent facts, styles, cell ownership and windows on random graphs.

To regenerate the golden files after a deliberate change, run with STEPGRAD_UPDATE_GOLDEN=1 and
read every changed file before committing it.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_layout import random_graph, toy

from engine import Value, nodes
from stepgrad.draw import (
    JUNCTION,
    LEGEND,
    NOT_COMPUTED,
    Drawing,
    NodeState,
    View,
    draw,
    render_text,
    step_view,
    to_ansi,
)
from stepgrad.layout import METRICS, Mode, focus, layout, to_networkx

GOLDEN = Path(__file__).parent / "golden"
HEAVY = set("━┃┏┓┗┛┣┫┳┻╋┿╂┝┥┠┨┯┷┰┸")


def classic() -> Value:
    """e = (a + b) * (b + 1) at a = 2, b = -3."""
    a = Value(2.0, "a")
    b = Value(-3.0, "b")
    c = a + b
    c.label = "c"
    d = b + 1
    d.label = "d"
    e = c * d
    e.label = "e"
    return e


def neuron() -> Value:
    """micrograd's neuron: o = tanh(x1*w1 + x2*w2 + b)."""
    x1, x2 = Value(2.0, "x1"), Value(0.0, "x2")
    w1, w2 = Value(-3.0, "w1"), Value(1.0, "w2")
    b = Value(6.8813735870195432, "b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    x1w1x2w2 = x1w1 + x2w2
    x1w1x2w2.label = "x1*w1 + x2*w2"
    n = x1w1x2w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o


CLASSICS: dict[str, Callable[[], Value]] = {"classic": classic, "toy": toy, "neuron": neuron}


# --- golden drawings ------------------------------------------------------------------------


@pytest.mark.parametrize("backward", [False, True], ids=["forward", "backward"])
@pytest.mark.parametrize("name", sorted(CLASSICS))
def test_golden(name: str, backward: bool) -> None:
    text = render_text(CLASSICS[name](), backward=backward) + "\n"
    path = GOLDEN / f"{name}{'_backward' if backward else ''}.txt"
    if os.environ.get("STEPGRAD_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_golden_lecture() -> None:
    """The toy graph in the lecture mode: padded boxes, longer wires, more rows between boxes."""
    for backward in (False, True):
        text = render_text(toy(), backward=backward, mode="lecture") + "\n"
        path = GOLDEN / f"toy_lecture{'_backward' if backward else ''}.txt"
        if os.environ.get("STEPGRAD_UPDATE_GOLDEN"):
            path.write_text(text, encoding="utf-8")
        assert text == path.read_text(encoding="utf-8")


def test_lecture_drawing_is_larger_with_the_same_facts() -> None:
    full = render_text(toy(), backward=True).splitlines()
    lecture = render_text(toy(), backward=True, mode="lecture").splitlines()
    assert len(lecture) > len(full) and max(map(len, lecture)) > max(map(len, full))
    text = "\n".join(lecture)
    for fact in ("┌─ r = ·/· ─", "│  data 8.125 ", "│  grad -6.09375 ", "│  grad 2 "):
        assert fact in text
    assert "┬─────▶│  data 64 " in text  # longer wires, and the arrow on the data row
    assert NOT_COMPUTED not in text


def boxes_text(text: str) -> list[str]:
    return text.splitlines()


@pytest.mark.parametrize("name", sorted(CLASSICS))
def test_every_label_appears_once(name: str) -> None:
    root = CLASSICS[name]()
    text = render_text(root)
    for value in nodes(root):
        if value.label:
            assert len(re.findall(rf"┌ {re.escape(value.label)}(?: = | ─)", text)) == 1, value.label


def test_toy_numbers() -> None:
    text = render_text(toy(), backward=True)
    for number in ("data 8 ", "data 3 ", "data 64 ", "data 9 ", "data 65 ", "data 8.125 "):
        assert number in text
    assert "grad 2 " in text and "grad -6.09375 " in text and "grad 0.125 " in text
    assert NOT_COMPUTED not in text  # every node that takes a grad has one
    forward = render_text(toy())
    assert forward.count(f"grad {NOT_COMPUTED}") == 7  # x, y, x*x, y*y, a, b, r
    assert "grad 0 " not in forward  # "not computed" never looks like zero


def test_neuron_numbers() -> None:
    text = render_text(neuron(), backward=True)
    for fact in ("data 0.707107", "data 0.881374", "data 6.88137", "grad -1.5 ", "grad 0.5 "):
        assert fact in text
    assert "o = tanh·" in text


def test_classic_numbers() -> None:
    text = render_text(classic(), backward=True)
    for fact in ("data -1 ", "data -2 ", "data 2 ", "grad -3 ", "grad -2 ", "grad 1 "):
        assert fact in text
    assert "e = ·*·" in text and "c = ·+·" in text


def test_render_text_leaves_grads_alone() -> None:
    root = toy()
    render_text(root, backward=True)
    assert all(v.grad == 0.0 for v in nodes(root))
    root.backward()
    before = [v.grad for v in nodes(root)]
    assert "grad 2 " in render_text(root, backward=True)  # one pass, not two
    assert [v.grad for v in nodes(root)] == before


def test_colour_only_when_asked() -> None:
    assert "\x1b[" not in render_text(neuron(), backward=True)
    coloured = render_text(neuron(), backward=True, color=True)
    assert "\x1b[" in coloured
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == render_text(neuron(), backward=True)


def test_legend_only_when_asked() -> None:
    plain = render_text(toy())
    assert render_text(toy(), legend=True) == plain + "\n\n" + LEGEND
    assert "first operand at the top" in LEGEND


def test_narrow_width_uses_compact_boxes() -> None:
    wide = render_text(neuron())
    narrow = render_text(neuron(), width=120)
    assert max(map(len, narrow.splitlines())) <= 120 < max(map(len, wide.splitlines()))
    assert "data " not in narrow and "∇ —" in narrow


# --- styles ---------------------------------------------------------------------------------


def toy_drawing() -> tuple[Value, Drawing]:
    root = toy()
    return root, draw(layout(to_networkx(root)))


def test_step_styles_do_not_rely_on_colour() -> None:
    root, drawing = toy_drawing()
    trace = root.backward(trace=True)
    assert trace is not None
    graph = drawing.graph
    view = step_view(graph, trace, 0)  # r fires: a and b receive
    text = drawing.render(view).text
    r = next(n for n in graph if graph.nodes[n]["label"] == "r")
    box = drawing.boxes[r]
    lines = text.splitlines()
    assert lines[box.y][box.x] == "┏" and "now" in lines[box.y + box.h - 1]
    assert text.count("┏ ") == 1  # only the current node has a heavy box
    assert text.count(" ready ") == 2  # a and b will fire next
    # every cell of the two active edges is drawn heavy
    active = [k for k, kind in view.edges.items() if kind == "active"]
    assert len(active) == 2
    for key in active:
        for x, y in drawing.edge_cells(key)[:-1]:
            assert lines[y][x] in HEAVY, (key, x, y, lines[y][x])
        x, y = drawing.edge_cells(key)[-1]
        assert lines[y][x] == "▶"
    # the edge's style name says active, for the colour layer
    x, y = drawing.edge_cells(active[0])[1]
    assert drawing.render(view).style_at(x, y) == "edge.active"


def test_waiting_nodes_show_their_pending_count() -> None:
    x = Value(2.0, "x")
    y = x * 3
    y.label = "y"
    z = x + y
    z.label = "z"
    graph = to_networkx(z)
    drawing = draw(layout(graph))
    trace = z.backward(trace=True)
    assert trace is not None
    text = drawing.render(step_view(graph, trace, 0)).text  # z fires: x still waits for y
    assert "waits 1" in text
    later = drawing.render(step_view(graph, trace, 1)).text  # y fires: x is complete
    assert "waits" not in later and "✓" in later


def test_view_grads_are_what_is_shown() -> None:
    root, drawing = toy_drawing()
    ids = {drawing.graph.nodes[n]["label"]: n for n in drawing.graph}
    text = drawing.render(View(grads={ids["r"]: 1.0, ids["a"]: 0.0})).text
    assert "grad 1 " in text and "grad 0 " in text
    assert text.count(f"grad {NOT_COMPUTED}") == 5


def test_long_grads_are_shortened_to_fit() -> None:
    root, drawing = toy_drawing()
    ids = {drawing.graph.nodes[n]["label"]: n for n in drawing.graph}
    text = drawing.render(View(grads={ids["x"]: -1.234567891e-7})).text
    assert "grad -1.23e-7 " in text


def test_ownership_and_hit_testing() -> None:
    root, drawing = toy_drawing()
    for node, box in drawing.boxes.items():
        assert drawing.node_at(box.x, box.y) == node
        assert drawing.node_at(box.x + box.w - 1, box.y + box.h - 1) == node
    for key in drawing.routes:
        for x, y in drawing.edge_cells(key):
            assert key in drawing.owners(x, y)
    assert drawing.owners(drawing.width + 5, 0) == ()


# --- random graphs --------------------------------------------------------------------------

graphs = st.builds(random_graph, st.integers(0, 10**6), st.integers(1, 35))
modes: st.SearchStrategy[Mode] = st.sampled_from(("full", "compact", "lecture", "tiny"))


@settings(max_examples=60, deadline=None)
@given(graphs, modes)
def test_every_node_drawn_once_and_edges_end_in_arrows(root: Value, mode: Mode) -> None:
    graph = to_networkx(root)
    drawing = draw(layout(graph, mode=mode))
    text = drawing.render().text
    lines = text.splitlines()
    corner = "┌" + "─" * METRICS[mode].pad_x + " " if METRICS[mode].border else "  "
    after = "(?: = | ─)" if METRICS[mode].border else " ∇"
    for _n, attrs in graph.nodes(data=True):
        label = attrs["label"]
        if label.startswith("q") or label == "root":
            assert len(re.findall(rf"{corner}{label}{after}", text)) == 1, label
    for key in drawing.routes:
        x, y = drawing.edge_cells(key)[-1]
        assert lines[y][x] == "▶"
    assert "\x1b" not in text
    assert text == draw(layout(to_networkx(root), mode=mode)).render().text  # deterministic


@settings(max_examples=40, deadline=None)
@given(graphs, modes, st.data())
def test_window_is_a_crop_of_the_whole(root: Value, mode: Mode, data: st.DataObject) -> None:
    graph = to_networkx(root)
    drawing = draw(layout(graph, mode=mode))
    trace = root.backward(trace=True)
    assert trace is not None
    view = None
    if trace.steps:
        view = step_view(graph, trace, data.draw(st.integers(0, len(trace.steps) - 1)))
    whole = drawing.render(view)
    x = data.draw(st.integers(-3, drawing.width))
    y = data.draw(st.integers(-3, drawing.height))
    w = data.draw(st.integers(1, 60))
    h = data.draw(st.integers(1, 30))
    part = drawing.window(x, y, w, h, view)
    padded = [" " * (w + 3) + line.ljust(drawing.width) + " " * (w + 3) for line in whole.lines]
    blank = " " * len(padded[0]) if padded else ""
    rows = [blank] * 3 + padded + [blank] * (h + 3)
    expected = [rows[y + 3 + i][x + w + 3 : x + 2 * w + 3] for i in range(h)]
    assert part.lines == expected


@settings(max_examples=30, deadline=None)
@given(graphs, st.sampled_from(("compact", "lecture", "tiny")))
def test_all_states_render(root: Value, mode: Mode) -> None:
    graph = to_networkx(root)
    drawing = draw(layout(graph, mode=mode))
    kinds = ("idle", "current", "done", "waiting")
    states = {n: NodeState(kinds[n % 4], n % 3) for n in graph}  # type: ignore[arg-type]
    edges = {k: ("active", "done", "idle")[i % 3] for i, k in enumerate(drawing.routes)}
    view = View({n: float(n) for n in graph}, states, edges)  # type: ignore[arg-type]
    rendered = drawing.render(view)
    assert all(len(line) == drawing.width for line in rendered.lines)
    assert "\x1b" in to_ansi(rendered) or not graph.number_of_edges()


def wire_arms(char: str) -> tuple[bool, bool, bool, bool]:
    """Which sides (up, down, left, right) a box-drawing character reaches; ``▶`` reaches left."""
    if char == "▶":
        return False, False, True, False
    if char == JUNCTION:  # one wire branching four ways
        return True, True, True, True
    name = unicodedata.name(char, "")
    if not name.startswith("BOX DRAWINGS"):
        return False, False, False, False
    words = name.split()
    vertical, horizontal = "VERTICAL" in words, "HORIZONTAL" in words
    return (
        vertical or "UP" in words,
        vertical or "DOWN" in words,
        horizontal or "LEFT" in words,
        horizontal or "RIGHT" in words,
    )


def check_wires_connect(drawing: Drawing, lines: list[str]) -> None:
    """Every wire character reaches only characters that reach back: no stray ``│`` or ``─``.

    A wire's first cell reaches left into its source (a box's port, or a bare number's cell)
    and its arrow head touches the target box; every other arm meets a wire or a port.
    """

    def at(x: int, y: int) -> str:
        return lines[y][x] if 0 <= y < len(lines) and 0 <= x < len(lines[y]) else " "

    def is_box(x: int, y: int) -> bool:
        owners = drawing.owners(x, y)
        return bool(owners) and isinstance(owners[0], int)

    for y, line in enumerate(lines):
        for x, char in enumerate(line):
            if is_box(x, y):
                continue
            if not drawing.owners(x, y):
                assert char in " ⋯▶", (x, y, char)  # blank, or a focus view's stub
                continue
            assert char != " ", (x, y)
            up, down, left, right = wire_arms(char)
            where = (x, y, char)
            assert up <= wire_arms(at(x, y - 1))[1], where
            assert down <= wire_arms(at(x, y + 1))[0], where
            if char == "▶":
                assert is_box(x + 1, y), where
                continue
            assert right <= wire_arms(at(x + 1, y))[2], where
            source = is_box(x - 1, y) and (
                drawing.boxes[drawing.owners(x - 1, y)[0]].constant  # type: ignore[index]
                or wire_arms(at(x - 1, y))[3]
                or not METRICS[drawing.layout.mode].border  # a tiny node: its text, no port
            )
            assert left <= (wire_arms(at(x - 1, y))[3] or source), where
            # a wire cell with nowhere to go is a stray piece
            assert sum(wire_arms(char)) >= 2 or (char == "▶" or source), where


@pytest.mark.parametrize(
    ("program", "values"),
    [
        ("a = x*x + 1; b = (a - 2)*(a + 3)", {"x": 2.0}),
        ("a = 2*x + 3; b = 1 - a; c = (a + 4)*(b - 5)*(x + 6)", {"x": 1.0}),
    ],
)
@pytest.mark.parametrize("mode", ["full", "compact", "lecture", "tiny"])
def test_constant_wires_have_no_stray_pieces(
    program: str, values: dict[str, float], mode: Mode
) -> None:
    from engine.parse import parse

    parsed = parse(program, values)
    graph = to_networkx(parsed.output, {v: parsed.name(v) for v in parsed.nodes()})
    drawing = draw(layout(graph, mode=mode))
    trace = parsed.output.backward(trace=True)
    assert trace is not None
    for step in range(-1, len(trace.steps)):
        view = step_view(graph, trace, step) if step >= 0 else None
        check_wires_connect(drawing, drawing.render(view).lines)


@settings(max_examples=40, deadline=None)
@given(graphs, modes, st.data())
def test_wires_have_no_stray_pieces(root: Value, mode: Mode, data: st.DataObject) -> None:
    """... and a reader can follow every wire (see :func:`check_traceable`)."""
    graph = to_networkx(root)
    drawing = draw(layout(graph, mode=mode))
    trace = root.backward(trace=True)
    assert trace is not None
    view = None
    if trace.steps:
        view = step_view(graph, trace, data.draw(st.integers(0, len(trace.steps) - 1)))
    lines = drawing.render(view).lines
    check_wires_connect(drawing, lines)
    check_traceable(drawing, lines)


def trace_sources(drawing: Drawing, lines: list[str], x: int, y: int) -> set[int]:
    """The boxes a reader reaches by following the wire back from the arrow head at ``(x, y)``
    with nothing but the characters: a ``┼`` (``╂`` where one wire is lit) is a crossing (go
    straight on), a tee, corner or ``◆`` a branch (try every arm). A source is a box entered
    going left."""
    steps = {"up": (0, -1), "down": (0, 1), "left": (-1, 0), "right": (1, 0)}
    back = {"up": "down", "down": "up", "left": "right", "right": "left"}
    sources: set[int] = set()
    todo = [(x - 1, y, "left")]  # the arrow's own cell reaches left only
    seen: set[tuple[int, int, str]] = set()
    while todo:
        cx, cy, going = todo.pop()
        if (cx, cy, going) in seen or not (0 <= cy < len(lines) and 0 <= cx < len(lines[cy])):
            continue
        seen.add((cx, cy, going))
        owners = drawing.owners(cx, cy)
        if owners and isinstance(owners[0], int):  # a box
            if going == "left":
                sources.add(owners[0])
            continue
        char = lines[cy][cx]
        if char == "▶":
            continue  # another consumer's arrow: not the way back to a source
        if char != JUNCTION and all(wire_arms(char)):  # ┼, or ╂ ┿ ╋ where one is lit
            ways = [going]
        else:
            arms = dict(zip(("up", "down", "left", "right"), wire_arms(char), strict=True))
            came = back[going]
            if not arms[came]:
                continue  # this character does not join the cell we came from
            ways = [way for way, has in arms.items() if has and way != came]
        for way in ways:
            dx, dy = steps[way]
            todo.append((cx + dx, cy + dy, way))
    return sources


def check_traceable(drawing: Drawing, lines: list[str]) -> int:
    """Every arrow head leads a reader back to its own source box and to no other; returns
    how many arrows were followed."""
    arrows = 0
    for y, line in enumerate(lines):
        for x, char in enumerate(line):
            if char != "▶" or drawing.owners(x, y)[:1] and isinstance(drawing.owners(x, y)[0], int):
                continue
            edges = drawing.owners(x, y)
            if not edges:
                continue  # a focus view's stub
            arrows += 1
            assert trace_sources(drawing, lines, x, y) == {edges[0][0]}, (x, y, edges)  # type: ignore[index]
    return arrows


@pytest.mark.parametrize("mode", ["full", "tiny"])
def test_a_reader_can_follow_every_wire_of_the_mlp(mode: Mode) -> None:
    """Where a value fans out its wire branches; where two wires cross they do not meet. The
    MLP has over a thousand crossings: a branch point drawn like a crossing (``┼``) left
    16 of its wire groups with no source a reader could find."""
    from engine.parse import parse
    from stepgrad.examples import EXAMPLES

    program = parse(EXAMPLES["mlp"].program)
    graph = to_networkx(program.output)
    drawing = draw(layout(graph, mode=mode))
    lines = drawing.render().lines
    assert sum(line.count("┼") for line in lines) > 1000
    assert any(JUNCTION in line for line in lines)  # spines that go on past their tracks
    assert check_traceable(drawing, lines) == graph.number_of_edges()  # an arrow per edge


def test_focus_view_draws_the_neighbourhood() -> None:
    root = neuron()
    graph = to_networkx(root)
    n = next(k for k in graph if graph.nodes[k]["label"] == "n")
    sub = focus(graph, n, 1)
    labels = sorted(sub.nodes[k]["label"] for k in sub)
    assert labels == ["b", "n", "o", "x1*w1 + x2*w2"]
    text = draw(layout(sub)).render().text
    assert "┌ n = ·+·" in text and "x1 " not in text
    assert text.count("⋯▶") == 2  # the two operands of x1*w1 + x2*w2 lie outside the view


def test_core_modules_load_no_ui() -> None:
    import subprocess
    import sys

    code = (
        "import sys, stepgrad.layout, stepgrad.draw; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_drawing_wider_than_the_terminal_is_cut_not_wrapped() -> None:
    from engine.parse import parse
    from stepgrad.examples import EXAMPLES

    program = parse(EXAMPLES["mlp"].program)
    names = {node: program.name(node) for node in program.nodes()}
    text = render_text(program.output, names, width=80)
    *drawing, note = text.split("\n")
    assert all(len(line) <= 80 for line in drawing)
    assert note.startswith("(cut at 80 of ") and "less -S" in note
    assert "cut at" not in render_text(program.output, names)  # no width: the whole drawing


@pytest.mark.parametrize(
    "name",
    [
        "x\u0301",  # an accent with no precomposed letter: it takes no column of its own
        "e\u0301",  # NFC joins it into é
        "y\u0302\u0323",  # two accents
        "\u53d8\u0301",  # a wide character with an accent
    ],
)
def test_a_name_with_accents_keeps_its_box_square(name: str) -> None:
    """A character that takes no terminal column (a combining accent) made the top border one
    column shorter than the box's sides. Checked in terminal columns, as Rich measures them."""
    from rich.cells import cell_len

    from engine import Value
    from stepgrad.draw import render_text

    x = Value(2.0, name)
    y = x * Value(3.0, "w")
    lines = render_text(y).split("\n")
    shown = unicodedata.normalize("NFC", name)  # é typed as e and an accent is shown as é
    top = next(i for i, line in enumerate(lines) if shown in line)
    corner = lines[top].rindex("┐")
    bottom = next(i for i in range(top + 1, len(lines)) if "┘" in lines[i])
    width = cell_len(lines[top][: corner + 1])
    assert cell_len(lines[bottom][: lines[bottom].rindex("┘") + 1]) == width
    assert cell_len(lines[top + 1][: lines[top + 1].index("├") + 1]) == width


def test_a_wide_name_keeps_its_box_square() -> None:
    """変数 takes four terminal columns in two characters: the box's top border was two
    columns wider than its sides, and the wire beside it shifted. Checked in terminal columns
    (Rich's measure: CJK two, the zero-width space zero)."""
    from rich.cells import cell_len

    from engine.parse import parse
    from stepgrad.draw import render_text

    program = parse("変数 = 3; x = 2; y = x*変数")
    lines = render_text(program.output).split("\n")
    top = next(i for i, line in enumerate(lines) if "変" in line)
    corner = lines[top].index("┐")
    side = lines[top + 1].index("├")
    assert cell_len(lines[top][: corner + 1]) == cell_len(lines[top + 1][: side + 1])
    assert cell_len(lines[top + 3][: lines[top + 3].index("┘") + 1]) == cell_len(
        lines[top][: corner + 1]
    )


@pytest.mark.parametrize("mode", ["full", "compact", "tiny"])
def test_plain_text_windows_show_what_styled_ones_show(mode: Mode) -> None:
    """``--graph`` without colour works out the characters only (``styled=False``): every
    window must hold exactly the characters of the styled one, in every state a step puts
    boxes and wires in."""
    from engine.parse import parse
    from stepgrad.examples import mlp_program

    program = parse(mlp_program())
    graph = to_networkx(program.output)
    drawing = draw(layout(graph, mode=mode))
    trace = program.output.backward(trace=True)
    assert trace is not None
    for step in (0, len(trace.steps) // 3, len(trace.steps) - 1):
        view = step_view(graph, trace, step)
        for x0, y0, w, h in ((0, 0, drawing.width, drawing.height), (-3, 5, 50, 17)):
            styled = drawing.window(x0, y0, w, h, view)
            plain = drawing.window(x0, y0, w, h, view, styled=False)
            assert plain.lines == styled.lines
    assert (
        render_text(program.output, mode=mode)
        == drawing.window(0, 0, drawing.width, drawing.height, View()).text
    )


def test_a_wide_name_sends_no_zero_width_space_to_the_terminal() -> None:
    """The drawing's grid follows a wide character with a zero-width space to keep one
    character per column; the space is the grid's, not for the terminal (some draw it, or give
    it a column): neither ``--graph`` (plain and coloured) nor the app's strips contain it, and
    every strip is still exactly as wide as the view."""
    import asyncio

    from engine.parse import parse
    from stepgrad import layout as layout_module
    from stepgrad.app import create_app
    from stepgrad.draw import render_text
    from stepgrad.widgets import GraphView, graph_view

    # the view keeps its own copy of the fill (the layout module brings networkx)
    assert graph_view._WIDE_FILL == layout_module._WIDE_FILL == "\u200b"
    source = "变量 = 2; 权 = 3; 结果 = 变量*权 + 变量"
    program = parse(source)
    for color in (False, True):
        text = render_text(program.output, color=color)
        assert "变量" in text and "\u200b" not in text

    async def strips() -> None:
        app = create_app(source, {}, steady=True)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            view = app.screen.query_one(GraphView)
            width = view.scrollable_content_region.width
            lines = [view.render_line(y) for y in range(view.scrollable_content_region.height)]
            assert any("变量" in line.text for line in lines)
            for line in lines:
                assert "\u200b" not in line.text
                assert line.cell_length == width

    asyncio.run(strips())


def test_a_one_line_box_shows_a_wrong_grad_whole() -> None:
    """A bug mode in one-line boxes: the note ``✗ correct -2.03125`` under a box was cut to
    ``✗ correct -2.`` (a different number); it drops the word, then digits, never the number's
    end. An input's box has no row for a note: its mark becomes ✗."""
    from stepgrad.draw import View

    x, y = Value(8.0, "x"), Value(3.0, "y")
    r = x * y
    graph = to_networkx(r)
    drawing = draw(layout(graph, mode="tiny"))
    ids = {drawing.graph.nodes[n]["label"]: n for n in drawing.graph}
    product = next(n for n in drawing.graph if drawing.graph.nodes[n]["op"] == "*")
    grads = {ids["x"]: 3.0, ids["y"]: 8.0, product: 1.0}
    notes = {ids["x"]: "✗ correct 1.5", product: "✗ correct -2.03125456"}
    lines = drawing.render(View(grads=grads, notes=notes)).text.splitlines()
    text = "\n".join(lines)
    assert "✗ x ∇ 3" in text
    assert "y ∇ 8" in text and "✗ y" not in text  # y has no note: its mark stays
    box = drawing.boxes[product]
    under = lines[box.y + 1][box.x : box.x + box.w].strip()
    assert under.startswith("└▸ ✗ -2.03"), under  # └: an unnamed op's two ports, bracketed
    assert float(under.split()[-1]) == pytest.approx(-2.03125456, rel=1e-3)


def test_a_window_never_shows_part_of_a_number_as_a_number() -> None:
    """A window whose left edge fell between the minus and the digits of -0.735149 showed
    0.735149, a number the graph does not hold (found at 40x12 in lecture mode). The cut word
    shows as …; a number the edge does not cut shows whole; the plain window is unchanged."""
    from engine.parse import parse

    program = parse("o = 0 - 0.735149*x; o*3", {"x": 1.0})
    drawing = draw(layout(to_networkx(program.output)))
    whole = drawing.render().text.splitlines()
    y = next(i for i, line in enumerate(whole) if "-0.735149" in line)
    x = whole[y].index("-0.735149")
    for cut in (x + 1, x + 3):  # after the minus, inside the digits
        shown = drawing.view_window(cut, 0, 30, drawing.height).lines
        assert shown[y].startswith("…") and "735149" not in shown[y], shown[y]
        assert len(shown[y]) == 30
        plain = drawing.window(cut, 0, 30, drawing.height).lines
        assert plain[y][0] in "07"  # what the plain window holds: the cut digits
    fits = drawing.view_window(x, 0, 30, drawing.height).lines  # the edge at the minus: whole
    assert fits[y].startswith("-0.735149")


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("-0.735149 │", "…        "),  # cut through a number
        ("o - 0.1 = ·-· ─", " … 0.1 = ·-· "),  # cut before a minus, across one space
        (" │ 0.73 ", "│ 0.73"),  # nothing cut
        ("│ -0.7351│", " -0.7351"),  # nothing cut: borders at both edges
        ("x ──── y", " ──── "),  # wires are not words
        ("│ 12345.6", "      …"),  # cut by the right edge: no 12345. shown
    ],
)
def test_cut_words_are_marked(line: str, shown: str) -> None:
    from stepgrad.draw import _mark_cuts

    assert _mark_cuts(line)[1:-1] == shown


def test_a_cut_waits_count_does_not_read_as_a_constant() -> None:
    """The MLP at 140x40 cut `waits 1 ─┘` inside "waits": the window showed `…   1 ─┘`, just
    as a constant 1 is drawn before its edge a few rows lower. The count goes with its word;
    a data row's number is kept."""
    from engine.parse import parse
    from stepgrad.scene import Scene
    from stepgrad.state import Walkthrough

    walk = Walkthrough(parse("x = 2; y = x*3; y*y"))
    scene = Scene(walk)
    drawing, view = scene.drawing("full"), scene.whole_view(walk)
    whole = drawing.render(view).text.splitlines()
    y = next(i for i, line in enumerate(whole) if "waits 1" in line)
    x = whole[y].index("waits 1")
    shown = drawing.view_window(x + 3, 0, 30, drawing.height, view).lines[y]
    assert shown.startswith("…") and "1" not in shown.split("─")[0], shown
    # cut on the space after the word: the count alone showed as `1 ─┘`
    alone = drawing.view_window(x + 6, 0, 30, drawing.height, view).lines[y]
    assert alone.startswith("… ─") and "1" not in alone.split("─")[0], alone
    row = next(i for i, line in enumerate(whole) if "data 2" in line)
    at = whole[row].index("data 2") + 2
    kept = drawing.view_window(at, 0, 30, drawing.height, view).lines[row]
    assert kept.startswith("…") and "2" in kept, kept  # the data, not a count: shown
