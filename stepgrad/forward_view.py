"""What the graph view shows in forward mode (no Textual): the values computed so far.

The node computed now is drawn as the backward pass draws the node firing now (heavy box,
``now``) and its input edges are lit; nodes computed before are done (``✓``); op nodes not
reached yet show ``—`` for their data (:attr:`stepgrad.draw.View.hidden`). Every grad shows
``—``: the backward pass has not run. A collapsed weighted sum is current while one of its
nodes is computed, and shows its root's value once the root is computed.
"""

from __future__ import annotations

from .draw import EdgeKind, NodeKind, NodeState, View
from .forward import ForwardWalk
from .groups import collapse_view
from .scene import Scene

__all__ = ["forward_view"]


def forward_view(scene: Scene, walk: ForwardWalk) -> View:
    """``walk``'s state on the graph ``scene`` shows (its collapsed groups collapsed)."""
    ids = scene.ids
    nodes: dict[int, NodeState | NodeKind] = {}
    edges: dict[tuple[int, int, int], EdgeKind] = {}
    hidden: set[int] = set()
    current = walk.current.node if walk.current is not None else None
    for step in walk.steps:
        node = ids.get(step.node)
        if node is None:
            continue
        if step.number > walk.step:
            hidden.add(node)
            continue
        kind: EdgeKind = "active" if step.node is current else "done"
        nodes[node] = "current" if step.node is current else "done"
        for index, parent in enumerate(step.node.parents):
            at = ids.get(parent)
            if at is not None:
                edges[(at, node, index)] = kind
    for value in walk.program.dead():  # computed like any other, but the output never uses it
        node = ids.get(value)
        if node is not None and node not in hidden and value is not current:
            nodes[node] = NodeState("dead")
    whole = View({}, nodes, edges, {}, frozenset(hidden), forward=True)
    groups = scene.active_groups
    if not groups:
        return whole
    computed = {ids[s.node] for s in walk.steps[: walk.step] if s.node in ids}
    names = {n: scene.names[v] for n, v in scene.by_id.items()}
    view = collapse_view(whole, groups, computed, names)
    # "partial" counts nodes still to *fire* (a backward word): a half-computed sum is shown
    # as not computed yet instead (its root's data is hidden until the root is computed)
    states = {
        n: (NodeState("idle") if view.node_state(n).kind == "partial" else s)
        for n, s in view.nodes.items()
    }
    return View(view.grads, states, view.edges, view.notes, view.hidden, forward=True)
