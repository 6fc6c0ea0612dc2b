"""The chain rule as a sum over paths: every path from a node to the output, with its product.

``d out / d x`` is the sum, over every path from ``x`` to the output, of the product of the
local derivatives along the path's edges (Olah, "Calculus on Computational Graphs"). Backprop
computes that sum without listing the paths, which is why it is fast; listing them shows *why*
grads from different paths add up.

A graph can have astronomically many paths (an MLP's input reaches the loss along every
neuron of every layer), so nothing here enumerates them all: :func:`paths` counts them by
dynamic programming over the graph, and lists the few with the largest ``|product|`` by a
best-first search whose bound (the largest ``|product|`` from each node on) is exact, so it
finds them in order without exploring the rest. Edges are counted one by one: ``x*x`` reaches
its consumer along two edges, so it makes two paths.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from engine import OPS, Value, nodes

__all__ = ["SHOWN", "Path", "Paths", "describe_path", "paths", "prepare", "product_text"]

SHOWN = 10
"""Paths listed at most, the largest ``|product|`` first; the rest are counted."""
BUDGET = 200_000
"""Search steps at most per listing: the bound makes a few hundred enough in practice."""

Link = tuple[Value, int]
"""An edge as seen from its parent: (the consumer, which of its inputs the parent is)."""


@dataclass(frozen=True)
class Path:
    """One path from a node to the output.

    Attributes:
        nodes: the nodes along it, from the start to the output.
        indices: for each edge, which input of the next node the previous one is (``x*x``'s
            two edges are 0 and 1).
        locals: each edge's local derivative, d next / d previous.
        product: their product, multiplied from the start to the output.
    """

    nodes: tuple[Value, ...]
    indices: tuple[int, ...]
    locals: tuple[float, ...]
    product: float


@dataclass(frozen=True)
class Paths:
    """The paths from ``start`` to the output.

    Attributes:
        start: the node.
        count: how many paths there are (an exact integer, however large).
        shown: the largest ones by ``|product|``, largest first, at most :data:`SHOWN`.
        total: the sum of every path's product, computed edge by edge from the output down
            (what backprop computes): the grad of one pass.
        steps: the search steps listing them took (see :func:`search`).
    """

    start: Value
    count: int
    shown: tuple[Path, ...]
    total: float
    steps: int = 0

    @property
    def truncated(self) -> bool:
        """Whether some paths are not listed."""
        return self.count > len(self.shown)


def _local(node: Value, index: int) -> float:
    op = OPS[node.op]
    constant = op.constants[index]
    if constant is not None:
        return constant
    return cast("float", op.derivatives[index](*(p.data for p in node.parents), node.data))


@dataclass
class _Graph:
    """The output's graph seen from the leaves up: each node's consumers (one link per edge),
    each edge's local derivative, and per node what its paths to the output come to (counted
    once for the graph, however many nodes' paths are asked for); only nodes that take a
    gradient."""

    root: Value
    consumers: dict[Value, list[Link]]
    locals: dict[tuple[Value, int], float]  # (consumer, index) -> local derivative
    count: dict[Value, int]  # how many paths lead from the node to the output
    best: dict[Value, float]  # the largest |product| of those paths
    total: dict[Value, float]  # the sum of their products: one pass's grad


def _graph(root: Value) -> _Graph:
    order = [v for v in nodes(root) if v.requires_grad or v is root]
    consumers: dict[Value, list[Link]] = {v: [] for v in order}
    locals: dict[tuple[Value, int], float] = {}
    for node in order:
        for index, parent in enumerate(node.parents):
            if parent.requires_grad:
                consumers[parent].append((node, index))
                locals[(node, index)] = _local(node, index)
    count: dict[Value, int] = {root: 1}
    best: dict[Value, float] = {root: 1.0}
    total: dict[Value, float] = {root: 1.0}
    for node in reversed(order):  # children before parents: from the output down
        if node is root:
            continue
        links = consumers[node]
        count[node] = sum(count[c] for c, _ in links)
        best[node] = max((abs(locals[link]) * best[link[0]] for link in links), default=0.0)
        total[node] = sum(total[c] * locals[(c, i)] for c, i in links)
    return _Graph(root, consumers, locals, count, best, total)


def paths(
    root: Value, start: Value, shown: int = SHOWN, *, budget: int = BUDGET, graph: object = None
) -> Paths:
    """The paths from ``start`` to ``root``: their count, the ``shown`` largest by
    ``|product|`` and the sum of all products. ``graph`` reuses :func:`prepare` of ``root``;
    ``budget`` bounds the search steps (a step takes one edge), and fewer paths are listed if
    it runs out."""
    g = cast("_Graph", graph) if graph is not None else _graph(root)
    if start not in g.consumers:  # a constant, or a node the output does not use
        return Paths(start, 0, (), 0.0)
    listed, steps = search(g, start, shown, budget)
    return Paths(start, g.count[start], listed, g.total[start], steps)


def prepare(root: Value) -> object:
    """``root``'s graph indexed once, to list the paths of many nodes (pass it as ``graph``)."""
    return _graph(root)


def search(graph: object, start: Value, shown: int, budget: int) -> tuple[tuple[Path, ...], int]:
    """The ``shown`` paths from ``start`` with the largest ``|product|``, largest first (ties:
    in the graph's order of edges), and the search steps it took (at most ``budget``).

    Best-first: a partial path's priority is ``|product so far| × best`` of where it stands,
    which is exactly the largest product it can still reach, so complete paths come out in
    order; among equal priorities the longest goes first, so ties (products of 0) are followed
    to the end one at a time instead of all at once. A partial path is its last edge and a link
    to the partial path before it: extending one costs the same however long it is."""
    g = cast("_Graph", graph)
    best = g.best
    found: list[Path] = []
    tie = itertools.count()
    # a partial path: (node, product so far, the edge into it (index, local), the one before)
    Partial = tuple[Value, float, int, float, Any]
    heap: list[tuple[float, int, int, Partial]] = [
        (-best[start], 0, next(tie), (start, 1.0, -1, 1.0, None))
    ]
    steps = 0
    while heap and len(found) < shown and steps < budget:
        steps += 1
        _, length, _, partial = heapq.heappop(heap)
        node, product = partial[0], partial[1]
        if node is g.root:
            found.append(_unwind(partial))
            continue
        for consumer, i in g.consumers[node]:
            local = g.locals[(consumer, i)]
            value = product * local
            heapq.heappush(
                heap,
                (
                    -abs(value) * best[consumer],
                    length - 1,
                    next(tie),
                    (consumer, value, i, local, partial),
                ),
            )
    # the search's priorities multiply in another order than the products do, so two paths
    # within a rounding of each other may come out swapped: list them by the products shown
    return tuple(sorted(found, key=lambda path: -abs(path.product))), steps


def _unwind(partial: Any) -> Path:
    """The :class:`Path` a chain of partial paths ends in, from its start to the output."""
    product = partial[1]
    nodes_: list[Value] = []
    indices: list[int] = []
    factors: list[float] = []
    while partial is not None:
        node, _, index, local, partial = partial
        nodes_.append(node)
        if partial is not None:
            indices.append(index)
            factors.append(local)
    return Path(
        tuple(reversed(nodes_)), tuple(reversed(indices)), tuple(reversed(factors)), product
    )


LONG = 12
"""A path with more nodes than this is described by its first and last few (:data:`ENDS`)."""
ENDS = 5


def describe_path(path: Path, name: Callable[[Value], str]) -> str:
    """``x → x*x (2nd input) → a → r``: a node reached along one of several edges from the
    same parent says which input it is reached as. A long path shows its first and last
    :data:`ENDS` nodes around ``… 2,590 more …`` (a sum of thousands of terms)."""
    parts = [name(path.nodes[0])]
    steps = list(zip(path.nodes, path.nodes[1:], path.indices, strict=False))
    skipped = 0
    if len(path.nodes) > LONG:
        skipped = len(steps) - 2 * ENDS + 1
        steps = steps[: ENDS - 1] + steps[-ENDS:]
    for k, (previous, node, index) in enumerate(steps):
        if skipped and k == ENDS - 1:
            parts.append(f"… {skipped:,} more …")
        text = name(node)
        if sum(p is previous for p in node.parents) > 1:
            text += f" ({_ORDINALS.get(index, f'input {index + 1}')})"
        parts.append(text)
    return " → ".join(parts)


_ORDINALS = {0: "1st input", 1: "2nd input"}


def product_text(path: Path, number: Callable[[float], str]) -> str:
    """``8 × 1 × 0.125 = 1`` (just ``1`` for the empty path of the output itself); a long
    path's first and last :data:`ENDS` factors around ``… 2,590 more …``."""
    if not path.locals:
        return "1 (the output itself)"
    factors = [number(x) for x in path.locals[:ENDS]] if len(path.locals) > LONG else []
    if factors:
        factors.append(f"… {len(path.locals) - 2 * ENDS:,} more …")
        factors += (number(x) for x in path.locals[-ENDS:])
    else:
        factors = [number(x) for x in path.locals]
    return " × ".join(factors) + f" = {number(path.product)}"


def is_close(a: float, b: float) -> bool:
    """Whether two sums of the same products agree up to float rounding."""
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
