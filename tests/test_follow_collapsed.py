"""Stepping a big collapsed sum keeps in view the values the firing node sends to.

``s = a1*b1 + … + a200*b200`` opens with its 200 products collapsed into one tall box; its
inputs stand in a column beside it. At step 3, ``a200*b200`` fires and sends to a200 and b200,
at the bottom of the column: the view stayed at the top (the first node to follow, the tall
group box, was kept whole from its top), so the boxes that receive were never on screen.
"""

from __future__ import annotations

from test_robust import settle

from stepgrad.app import create_app
from stepgrad.widgets import GraphView

TERMS = 200


def _program() -> str:
    lines = []
    for i in range(1, TERMS + 1):
        lines += [f"a{i} = {i / 100}", f"b{i} = {0.5 if i % 2 == 0 else -0.5}"]
    lines.append("s = " + " + ".join(f"a{i}*b{i}" for i in range(1, TERMS + 1)))
    return "\n".join(lines)


async def test_the_receivers_of_a_collapsed_sums_member_are_in_view() -> None:
    app = create_app(_program(), lazy_graph=False, steady=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = app.main
        scene = screen.scene
        assert scene is not None and scene.collapsed  # the sum opened collapsed
        for _ in range(3):
            await pilot.press("right")
            await settle(pilot)
        step = app.walk.current
        assert step is not None
        receivers = [edge.parent for edge in step.edges]
        names = {app.walk.program.name(r) for r in receivers}
        assert names == {f"a{TERMS}", f"b{TERMS}"}  # the last product fires first
        graph = screen.query_one(GraphView)
        drawing = graph.drawing
        assert drawing is not None
        x0, y0, x1, y1 = graph.shown()
        for node in receivers:
            box = drawing.boxes[scene.ids[node]]
            assert x0 <= box.x and box.x + box.w <= x1, (box, (x0, y0, x1, y1))
            assert y0 <= box.y and box.y + box.h <= y1, (box, (x0, y0, x1, y1))
