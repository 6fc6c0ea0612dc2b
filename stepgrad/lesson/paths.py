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

A product of a thousand factors of 0.5 is 2**-1000, below the smallest float: multiplied as
floats it would read 0, and the products listed would add up to 0 + 0 + … instead of the grad.
So the search ranks paths by their exact size, a float mantissa and an integer exponent
(:data:`Size`: the float's own arithmetic, without its exponent's limits), and a product too
small (or too large) for a float is shown by that size (``≈ 7.4e-332``).
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

from engine import OPS, Value, nodes
from engine.numbers import format_number, worked_terms

__all__ = [
    "SHOWN",
    "Path",
    "Paths",
    "describe_path",
    "factors_text",
    "paths",
    "prepare",
    "product_number",
    "product_text",
    "writers",
    "Writer",
]

SHOWN = 10
"""Paths listed at most, the largest ``|product|`` first; the rest are counted."""
BUDGET = 200_000
"""Search steps at most per listing: the bound makes a few hundred enough in practice."""

Link = tuple[Value, int]
"""An edge as seen from its parent: (the consumer, which of its inputs the parent is)."""

Size = tuple[int, float]
"""A magnitude as (exponent, mantissa): ``mantissa * 2**exponent``, the mantissa in [0.5, 1)
(:func:`math.frexp`), 0 as (:data:`_NONE`, 0.0). Tuples compare as the sizes do, and a product
of sizes rounds as the product of floats does, but never underflows or overflows."""
_NONE = -(1 << 62)
_ZERO: Size = (_NONE, 0.0)
_ONE: Size = (1, 0.5)


def _size(x: float) -> Size:
    """The size of ``|x|``."""
    mantissa, exponent = math.frexp(abs(x))
    return _ZERO if mantissa == 0 or not math.isfinite(mantissa) else (exponent, mantissa)


def _times(a: Size, b: Size) -> Size:
    """The size of a product (one rounding, as a float product in range has)."""
    if a[1] == 0 or b[1] == 0:
        return _ZERO
    mantissa, exponent = math.frexp(a[1] * b[1])
    return (a[0] + b[0] + exponent, mantissa)


@dataclass(frozen=True)
class Path:
    """One path from a node to the output.

    Attributes:
        nodes: the nodes along it, from the start to the output.
        indices: for each edge, which input of the next node the previous one is (``x*x``'s
            two edges are 0 and 1).
        locals: each edge's local derivative, d next / d previous.
        product: their product, multiplied from the start to the output (0 where it is too
            small for a float: see ``size``).
        size: the product's magnitude as :data:`Size` (exact where ``product`` underflows).
    """

    nodes: tuple[Value, ...]
    indices: tuple[int, ...]
    locals: tuple[float, ...]
    product: float
    size: Size = _ONE

    @property
    def beyond(self) -> bool:
        """Whether the product is too small (or too large) for a float: ``product`` reads 0
        (or inf) though no factor is 0."""
        return self.size[1] != 0 and (self.product == 0 or not math.isfinite(self.product))

    @property
    def log10(self) -> float:
        """log10 of ``|product|``, from its exact size (-inf for a product of 0)."""
        exponent, mantissa = self.size
        if mantissa == 0:
            return -math.inf
        return math.log10(mantissa) + exponent * math.log10(2)


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
    sizes: dict[tuple[Value, int], Size]  # (consumer, index) -> the local derivative's size
    count: dict[Value, int]  # how many paths lead from the node to the output
    best: dict[Value, Size]  # the largest |product| of those paths
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
    best: dict[Value, Size] = {root: _ONE}
    total: dict[Value, float] = {root: 1.0}
    for node in reversed(order):  # children before parents: from the output down
        if node is root:
            continue
        links = consumers[node]
        count[node] = sum(count[c] for c, _ in links)
        best[node] = max(
            (_times(_size(locals[link]), best[link[0]]) for link in links), default=_ZERO
        )
        total[node] = sum(total[c] * locals[(c, i)] for c, i in links)
    sizes = {link: _size(local) for link, local in locals.items()}
    return _Graph(root, consumers, locals, sizes, count, best, total)


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
    to the partial path before it: extending one costs the same however long it is. Sizes are
    :data:`Size` pairs, so products below the smallest float are still ranked.

    Priorities are compared to within :data:`QUANTUM` (relative), not to the last bit: a path's
    priority is the same number at every node along it only in exact arithmetic, and a graph of
    many equal products (``x = (x + x)*0.3``, repeated) would otherwise fan out along its
    rounding noise, tens of thousands of steps, instead of following one path to the end. The
    paths found are then listed by their exact products."""
    g = cast("_Graph", graph)
    best, sizes, frexp = g.best, g.sizes, math.frexp
    found: list[Path] = []
    tie = itertools.count()
    # a partial path: (node, product so far, its size, the edge into it (index, local), the
    # partial path before it)
    Partial = tuple[Value, float, Size, int, float, Any]
    top = best[start]
    heap: list[tuple[int, float, int, int, Partial]] = [
        (-top[0], -round(top[1] * _STEPS), 0, next(tie), (start, 1.0, _ONE, -1, 1.0, None))
    ]
    steps = 0
    while heap and len(found) < shown and steps < budget:
        steps += 1
        _, _, length, _, partial = heapq.heappop(heap)
        node, product, size = partial[0], partial[1], partial[2]
        if node is g.root:
            found.append(_unwind(partial))
            continue
        exponent, mantissa = size
        for consumer, i in g.consumers[node]:
            link = (consumer, i)
            local = g.locals[link]
            # _times, written out: this loop is the search's hot path
            factor_exponent, factor = sizes[link]
            m, e = frexp(mantissa * factor)
            reached = (exponent + factor_exponent + e, m) if m else _ZERO
            best_exponent, best_mantissa = best[consumer]
            pm, pe = frexp(m * best_mantissa)
            # the priority to within rounding (see the docstring): QUANTUM is 2**-36 of it
            level = round(pm * _STEPS)
            power = reached[0] + best_exponent + pe
            if level == _STEPS:  # 0.99999… rounded up to 1: the same as 0.5 one power up
                level, power = _STEPS >> 1, power + 1
            heapq.heappush(
                heap,
                (
                    -power if pm else -_NONE,
                    -level,
                    length - 1,
                    next(tie),
                    (consumer, product * local, reached, i, local, partial),
                ),
            )
    # the search's priorities multiply in another order than the products do, so two paths
    # within a rounding of each other may come out swapped: list them by the products shown
    return tuple(sorted(found, key=lambda path: _negated(path.size))), steps


QUANTUM = 2.0**-36
"""Priorities closer than this (relative) are ties in the search: far above the rounding of a
product of thousands of factors (about 2**-53 each), far below any difference shown."""
_STEPS = 2**37  # a mantissa in [0.5, 1) in steps of QUANTUM: 2**36 .. 2**37


def _negated(size: Size) -> tuple[int, float]:
    return (-size[0], -size[1])


def _unwind(partial: Any) -> Path:
    """The :class:`Path` a chain of partial paths ends in, from its start to the output."""
    product, size = partial[1], partial[2]
    nodes_: list[Value] = []
    indices: list[int] = []
    factors: list[float] = []
    while partial is not None:
        node, _, _, index, local, partial = partial
        nodes_.append(node)
        if partial is not None:
            indices.append(index)
            factors.append(local)
    return Path(
        tuple(reversed(nodes_)), tuple(reversed(indices)), tuple(reversed(factors)), product, size
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


def product_number(path: Path, number: Callable[[float], str], *, why: bool = True) -> str:
    """The path's product as ``number`` shows it, or where it is too small (or too large) for a
    float, its size: ``≈ 7.4e-332 (below what a float holds)``, never a false 0 (``why=False``:
    without the words in brackets, for a box on the graph)."""
    if not path.beyond:
        return number(path.product)
    log = path.log10
    power = math.floor(log)
    lead = round(10 ** (log - power), 1)
    if lead >= 10:  # 9.96 rounds up to the next power
        lead, power = 1.0, power + 1
    sign = "-" if path.product < 0 or math.copysign(1, path.product) < 0 else ""
    where = "below" if path.product == 0 else "above"
    return f"≈ {sign}{lead:g}e{power}" + (f" ({where} what a float holds)" if why else "")


def path_total(found: Paths, number: Callable[[float], str]) -> str:
    """What the paths' products add up to, as ``number`` shows it; where that is 0 only
    because the one path's product is below what a float holds, its size and that the grad is
    0 in floats (``its product is 0`` sat above ``≈ 7.4e-332``)."""
    if found.total == 0 and found.count == 1 and found.shown and found.shown[0].beyond:
        size = product_number(found.shown[0], number, why=False)
        return f"{size}, below what a float holds, so 0 in floats"
    return number(found.total)


def factors_text(path: Path, number: Callable[[float], str]) -> str:
    """``8 × 1 × 0.125``; a long path's first and last :data:`ENDS` factors around
    ``… 2,590 more …`` (a 10,000-term sum's path would be 40 kB of ``1 × 1 × …``)."""
    if len(path.locals) > LONG:
        factors = [number(x) for x in path.locals[:ENDS]]
        factors.append(f"… {len(path.locals) - 2 * ENDS:,} more …")
        factors += (number(x) for x in path.locals[-ENDS:])
    else:
        factors = [number(x) for x in path.locals]
    return " × ".join(factors)


def product_text(
    path: Path, number: Callable[[float], str], product: Callable[[float], str] | None = None
) -> str:
    """``8 × 1 × 0.125 = 1`` (just ``1`` for the empty path of the output itself); a long
    path shortened as :func:`factors_text` says. ``product`` writes the product (default:
    ``number``)."""
    if not path.locals:
        return "1 (the output itself)"
    shown = product_number(path, product or number)
    return factors_text(path, number) + (f" {shown}" if path.beyond else f" = {shown}")


class Writer(NamedTuple):
    """How one listed path's numbers are written: its factors, and its product."""

    factor: Callable[[float], str]
    product: Callable[[float], str]


def writers(found: Paths) -> list[Writer]:
    """For each listed path, how to write its numbers so that they work out by hand: its
    factors multiply to its product as written (``3 × 1 × -1.015625 = -3.04688``: with
    ``-1.01562`` a reader gets ``-3.04686``), and when every path is listed, the products add up
    to the total as written (``-3.046875 + -3.046875`` is ``-6.09375``; ``-3.04688`` twice is
    not). See :func:`engine.numbers.worked_terms`. A path too long to list every factor, or
    whose product is beyond a float, is written as it is."""
    shown = found.shown
    digits: int | None = None
    if not found.truncated and len(shown) > 1 and not any(p.beyond for p in shown):
        digits = worked_terms([p.product for p in shown], "+", found.total)[2]

    def product_shown(x: float) -> str:
        return format_number(x) if digits is None else format_number(x, digits)

    out = []
    for path in shown:
        texts: dict[float, str] = {}
        if len(path.locals) == 1:  # its one factor is its product: written alike
            texts = {path.locals[0]: product_shown(path.locals[0])}
        elif not path.beyond and len(path.locals) <= LONG:
            factors, _, _ = worked_terms(path.locals, "×", path.product, product_shown)
            texts = dict(zip(path.locals, factors, strict=True))
        out.append(Writer(lambda x, t=texts: t.get(x) or format_number(x), product_shown))
    return out


def is_close(a: float, b: float) -> bool:
    """Whether two sums of the same products agree up to float rounding."""
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
