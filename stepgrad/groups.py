"""Structure for networks: a weighted sum (and the activation it feeds) as one collapsible box.

A neuron ``h = tanh(w1*x1 + w2*x2 + b)`` is six op nodes in the engine's graph: two products,
two sums and the activation. :func:`weighted_sums` finds such groups in any graph (named or not,
from a program or from Python); :func:`collapse` draws each as one node whose inputs are the
group's inputs (``w1, x1, w2, x2, b``); :func:`collapse_view` maps a view of the whole graph onto
the collapsed one, so stepping still goes one node at a time: a collapsed group is "current"
while any of its nodes fires, and says which one in its box.

Plain functions over networkx graphs, no UI.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

import networkx as nx

from .draw import EdgeKind, NodeState, View
from .layout import EdgeKey, op_form

__all__ = ["Group", "collapse", "collapse_view", "weighted_sums"]

_SUMS = ("+", "-")
_ACTIVATIONS = ("tanh", "relu", "sigmoid", "exp", "log", "sin", "cos", "sqrt", "abs")
_RANK = {"idle": 0, "dead": 1, "done": 2, "active": 3}


class Group(NamedTuple):
    """Nodes drawn as one box.

    Attributes:
        root: the node whose value leaves the group (the activation, or the top sum); the
            collapsed node keeps its key.
        members: every node of the group, the root included.
        inputs: the values the group reads from outside, one port each, in operand order.
        products: how many products the sum adds up (``Σ3``).
        form: how the collapsed box shows its op: ``tanh(Σ3)``, ``Σ3``.
    """

    root: int
    members: frozenset[int]
    inputs: tuple[int, ...]
    products: int
    form: str


def weighted_sums(graph: nx.MultiDiGraph, *, least: int = 2) -> list[Group]:
    """Every weighted sum of at least ``least`` products in ``graph``, with the activation it
    feeds when the sum feeds nothing else.

    A member other than the root has exactly one consumer, inside the group: collapsing never
    hides a value something else reads.
    """
    groups: list[Group] = []
    taken: set[int] = set()
    degree = dict(graph.out_degree())  # once: networkx counts a node's edges on every call
    for node in sorted(graph.nodes, reverse=True):  # consumers before what they read
        if node in taken:
            continue
        op = graph.nodes[node]["op"]
        top, root = None, node
        if op in _ACTIVATIONS:
            (parent,) = {u for u, _ in graph.in_edges(node)} or {None}
            if parent is not None and graph.nodes[parent]["op"] in _SUMS and degree[parent] == 1:
                top = parent
        elif op in _SUMS and not _inside_a_sum(graph, node, degree):
            top = node
        if top is None:
            continue
        members, products = _sum_tree(graph, top, degree)
        if products < least:
            continue
        members.add(root)
        inputs = _inputs(graph, root, members)
        form = f"Σ{products}" if root == top else f"{op_form(op).rstrip('·')}(Σ{products})"
        groups.append(Group(root, frozenset(members), inputs, products, form))
        taken |= members
    return sorted(groups, key=lambda g: g.root)


def _inside_a_sum(graph: nx.MultiDiGraph, node: int, degree: Mapping[int, int]) -> bool:
    """Whether ``node`` is read only by a sum (so it is part of that sum's tree, not its top)."""
    consumers = {v for _, v in graph.out_edges(node)}
    return (
        degree[node] == 1
        and len(consumers) == 1
        and graph.nodes[next(iter(consumers))]["op"] in _SUMS
    )


def _sum_tree(graph: nx.MultiDiGraph, top: int, degree: Mapping[int, int]) -> tuple[set[int], int]:
    """The sums under ``top`` and the products they add, each read by nothing else."""
    members = {top}
    products = 0
    stack = [top]
    while stack:
        node = stack.pop()
        for parent, _ in graph.in_edges(node):
            if parent in members or degree[parent] != 1:
                continue
            op = graph.nodes[parent]["op"]
            if op in _SUMS:
                members.add(parent)
                stack.append(parent)
            elif op == "*":
                members.add(parent)
                products += 1
    return members, products


def _inputs(graph: nx.MultiDiGraph, root: int, members: set[int]) -> tuple[int, ...]:
    """The outside values the group reads, once each, in the order its expression reads them
    (operand 0 before operand 1, depth first from the root)."""
    seen: dict[int, None] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        parents = sorted(graph.in_edges(node, keys=True), key=lambda e: e[2], reverse=True)
        for parent, _, _ in parents:
            if parent in members:
                stack.append(parent)
            else:
                seen.setdefault(parent, None)
    return tuple(seen)


def collapse(graph: nx.MultiDiGraph, groups: Iterable[Group]) -> nx.MultiDiGraph:
    """``graph`` with each group drawn as one node (its root's key): the group's inputs enter
    it, one port each; its root's consumers read it as before."""
    groups = list(groups)
    member_of = {m: g for g in groups for m in g.members}
    out = nx.MultiDiGraph()
    for node, attrs in graph.nodes(data=True):
        group = member_of.get(node)
        if group is None:
            out.add_node(node, **attrs)
        elif node == group.root:
            out.add_node(
                node,
                **{
                    **attrs,
                    "op": "",
                    "form": group.form,
                    "arity": len(group.inputs),
                    "group": len(group.members),
                    # room in the box to say which member fires ("now: x2w2")
                    "note": max(len(str(graph.nodes[m]["label"])) for m in group.members),
                },
            )
    for u, v, k in graph.edges(keys=True):
        if u in member_of or v in member_of:
            continue
        out.add_edge(u, v, k, index=k)
    for group in groups:
        for port, parent in enumerate(group.inputs):
            out.add_edge(parent, group.root, port, index=port)
        for _, v, k in graph.out_edges(group.root, keys=True):
            if v not in member_of:
                out.add_edge(group.root, v, k, index=k)
            else:  # the root read by another group: enters that group by its port
                other = member_of[v]
                port = other.inputs.index(group.root)
                out.add_edge(group.root, other.root, port, index=port)
    return out


def collapse_view(
    view: View,
    groups: Iterable[Group],
    fired: Iterable[int] = (),
    names: Mapping[int, str] | None = None,
) -> View:
    """A view of the whole graph as the collapsed graph shows it.

    A group is current while any of its nodes fires (its box then says which, from ``names``),
    done once every op in it has fired, ``partial`` (how many still to fire) in between, and
    otherwise shows its root's state; its grad is its root's. An edge into a group takes the
    highest state of the edges it stands for.
    """
    groups = list(groups)
    member_of = {m: g for g in groups for m in g.members}
    fired = set(fired)
    nodes: dict[int, NodeState | str] = {}
    for node, state in view.nodes.items():
        if node not in member_of:
            nodes[node] = state
    notes: dict[int, str] = dict(view.notes)
    for group in groups:
        states = {m: view.node_state(m) for m in group.members}
        current = [m for m, s in states.items() if s.kind == "current"]
        left = sum(1 for m in group.members if m not in fired)
        if current:
            nodes[group.root] = "current"
            if names is not None and current[0] in names:
                notes[group.root] = names[current[0]]
        elif group.root in fired and left == 0:
            nodes[group.root] = "done"
        elif group.root in fired:
            nodes[group.root] = NodeState("partial", left)
        elif group.root in view.nodes:
            nodes[group.root] = view.nodes[group.root]
    edges: dict[EdgeKey, EdgeKind] = {}
    for (u, v, k), kind in view.edges.items():
        if u in member_of and u != member_of[u].root:
            continue  # inside a group
        target = member_of.get(v)
        if target is None:
            key = (u, v, k)
        elif u in target.members:
            continue
        else:
            key = (u, target.root, target.inputs.index(u))
        if _RANK.get(kind, 0) > _RANK.get(edges.get(key, "idle"), 0):
            edges[key] = kind
    grads = view.grads
    if grads is not None:
        grads = {n: g for n, g in grads.items() if n not in member_of or n == member_of[n].root}
    hidden = frozenset(n for n in view.hidden if n not in member_of or n == member_of[n].root)
    return View(grads, nodes, edges, notes, hidden, view.forward)  # type: ignore[arg-type]
