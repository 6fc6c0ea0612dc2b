"""The values pane keeps what changes now in view, once, and whole.

- The rows of the node firing and of the values it sends to stay in view when the pane changes
  size (the graph above it grows on ``x``, the side pane is hidden and shown with ``v``, the
  terminal is resized), not only on a step.
- "also receiving now" pins only rows that are not in view already.
- A contribution (``+= -0.265427``) and ``◀ fired`` are never cut: beside the grad when they fit,
  else whole on the line under the row.

Expected rows come from the trace (the node that fires, the parents of its edges), never from
what the pane draws.
"""

from __future__ import annotations

import pytest
from test_robust import settle

from engine.numbers import format_number
from stepgrad.app import StepgradApp, create_app
from stepgrad.examples import EXAMPLES
from stepgrad.widgets import ValuesTable

PINNED = "also receiving now"


def example_app(name: str, **options: object) -> StepgradApp:
    example = EXAMPLES[name]
    return create_app(example.program, example=example, steady=True, **options)  # type: ignore[arg-type]


def table(app: StepgradApp) -> ValuesTable:
    return app.main.query_one(ValuesTable)


def pane(app: StepgradApp) -> list[str]:
    """The pane's lines as drawn: the scrolled window, then any pinned lines."""
    values = table(app)
    return [values.render_line(y).text.rstrip() for y in range(values.size.height)]


def first(line: str) -> str:
    """The name a row line starts with ("" for a line under a row, which is indented)."""
    return line.split()[0] if line[:1].strip() else ""


def changing(app: StepgradApp) -> list[str]:
    """The names of the rows that change in this step: the node firing, then the values it
    sends to (those that have rows)."""
    step = app.walk.current
    assert step is not None
    program = app.walk.program
    values = table(app)
    nodes = [step.node, *(edge.parent for edge in step.edges)]
    return list(dict.fromkeys(program.name(n) for n in nodes if values.row_of(n) is not None))


def assert_in_view_once(app: StepgradApp) -> None:
    """Every changing row is on screen exactly once, and nothing is pinned that is in view."""
    lines = pane(app)
    names = [first(line) for line in lines if first(line)]
    expected = changing(app)
    assert expected, "this step changes no row: a test of nothing"
    for name in expected:
        assert names.count(name) == 1, (name, lines)
    if any(PINNED in line for line in lines):  # only for rows the window does not show
        at = next(i for i, line in enumerate(lines) if PINNED in line)
        window = {first(line) for line in lines[:at]} - {""}
        pinned = {first(line) for line in lines[at + 1 :]} - {""}
        assert not window & pinned, lines


async def test_the_rows_come_back_into_view_when_the_graph_grows() -> None:
    """The neuron in lecture mode, step 1 (o fires, n receives 0.5), then ``x``: the graph grew
    and the pane shrank to rows x1…x2w2, leaving o and n out of view until the next step."""
    app = example_app("neuron", lecture=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("right")
        await pilot.pause()
        assert changing(app) == ["o", "n"]
        before = table(app).size.height
        await pilot.press("x")
        await settle(pilot)
        assert table(app).size.height < before, "the pane did not shrink: a test of nothing"
        assert_in_view_once(app)
        await pilot.press("x")  # and back: the pane grows again
        await settle(pilot)
        assert table(app).size.height == before
        assert_in_view_once(app)
        assert not any(PINNED in line for line in pane(app))


@pytest.mark.parametrize("keys", [("v", "v"), ("x", "x", "v", "v")])
async def test_a_row_in_view_is_not_pinned_again(keys: tuple[str, ...]) -> None:
    """After ``v v`` the pane showed ``n … += 0.5`` twice: in the table and again under "also
    receiving now", pinned while the pane was small and kept when it grew."""
    app = example_app("neuron", lecture=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("right")
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        assert_in_view_once(app)
        assert not any(PINNED in line for line in pane(app))


async def test_the_rows_stay_in_view_when_the_terminal_is_resized() -> None:
    """The MLP's last step sends to w1_1_1 and x1_1, far apart in the table; from 120x36 down to
    120x24 and 100x30 and back, both stay on screen, each once."""
    app = example_app("mlp")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("end")
        await pilot.pause()
        for size in [(120, 24), (100, 30), (120, 36)]:
            await pilot.resize_terminal(*size)
            await settle(pilot)
            assert_in_view_once(app)


def _contributions(app: StepgradApp) -> dict[str, list[str]]:
    """Each changing row's contributions in this step, as the trace has them."""
    step = app.walk.current
    assert step is not None
    program = app.walk.program
    out: dict[str, list[str]] = {}
    for edge in step.edges:
        if table(app).row_of(edge.parent) is not None:
            out.setdefault(program.name(edge.parent), []).append(format_number(edge.contribution))
    return out


async def test_a_contribution_is_never_cut() -> None:
    """The MLP at 120x36: the contribution was cut to ``-0.956547 += …`` and ``◀ fired`` to
    ``◀``. Every contribution to a row with a name, and every ``◀ fired``, is now drawn whole
    (beside the grad when it fits, else under the row), on the steps that send to rows."""
    app = example_app("mlp")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        walk = app.walk
        values = table(app)
        named = [
            k
            for k in range(1, walk.total + 1)
            if any(values.row_of(e.parent) is not None for e in walk.trace.steps[k - 1].edges)
            or values.row_of(walk.trace.steps[k - 1].node) is not None
        ]
        assert len(named) > 20
        under = 0
        for k in [*named[:: len(named) // 12], named[-1]]:
            walk.go(k)
            app.main.sync()
            await pilot.pause()
            lines = pane(app)
            text = "\n".join(lines)
            for name, parts in _contributions(app).items():
                for part in parts:
                    assert f"+= {part}" in text, (k, name, part, lines)
            step = walk.current
            assert step is not None
            if values.row_of(step.node) is not None:
                assert "◀ fired" in text, (k, lines)
            for line in lines:  # a name may be cut, what happened now never
                for mark in ("+=", "◀"):
                    if mark in line:
                        assert "…" not in line[line.index(mark) :], (k, line)
            under += sum(1 for line in lines if line.lstrip().startswith("grad +="))
        assert under, "no contribution needed the line under its row: a test of nothing"
