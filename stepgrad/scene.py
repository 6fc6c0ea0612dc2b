"""What the graph view shows, without any UI: the graph with its groups collapsed or expanded,
laid out at a zoom level that fits, and a view of any walkthrough state mapped onto it.

The main screen keeps one :class:`Scene` per program. Everything slow here (layouts) is cached
by what it depends on and can run in a worker thread: nothing touches Textual.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import networkx as nx

from engine import Value
from engine.parse import Program

from .draw import Drawing, NodeState, View, draw, step_view
from .groups import Group, collapse, collapse_view, weighted_sums
from .layout import (
    COMPACT_NAME_WIDTH,
    LEVELS,
    MAX_LANES,
    NAME_WIDTH,
    Mode,
    fit,
    focus,
    lanes,
    layout,
    spread,
    to_networkx,
)
from .state import Walkthrough

__all__ = ["Scene", "TITLE_WIDTH", "titles"]


def _counted(walk: Walkthrough, ids: dict[Value, int]) -> dict[int, NodeState]:
    """Every node the pass reaches, waiting for all its contributions: how many edges from its
    consumers will send it a grad (the counting pass, done before step 1). Kept per pass."""
    key = ("counted", walk.pass_.serial)
    cached = walk.memo.get(key)
    if cached is None:
        counts: dict[Value, int] = {}
        for step in walk.trace.steps:
            for edge in step.edges:
                counts[edge.parent] = counts.get(edge.parent, 0) + 1
        cached = {ids[v]: NodeState("waiting", c) for v, c in counts.items() if v in ids}
        walk.memo = {k: v for k, v in walk.memo.items() if k[0] != "counted"}
        walk.memo[key] = cached
    return cached  # type: ignore[return-value]


def _wrong_notes(walk: Walkthrough, ids: dict[Value, int]) -> dict[int, str]:
    """A bug mode: ``✗ correct 2`` (``✗ 2`` on a narrow box) on each box whose grad differs
    from the correct pass's, but the one firing now (its box says ``now``, the panel why)."""
    from engine.numbers import format_number

    from .lesson.bugs import wrong

    now = walk.current.node if walk.current is not None else None  # its box says "now"
    return {
        ids[v]: f"✗ correct {format_number(g)}"
        for v, g in wrong(walk).items()
        if v in ids and v is not now
    }


COLLAPSE_FROM = 60
"""Graphs with more nodes than this open with their weighted sums collapsed."""
TITLE_WIDTH = NAME_WIDTH
"""Longest title a full box shows (the full name is in the inspector, --print and --json);
compact and tiny nodes show titles of at most :data:`~stepgrad.layout.COMPACT_NAME_WIDTH`."""


def titles(program: Program, nodes: Sequence[Value], width: int = TITLE_WIDTH) -> dict[Value, str]:
    """A title for every node that no other node shares, at most ``width`` characters.

    A name longer than ``width`` keeps its start and its end (which tell partial sums of one
    neuron apart) around ``…``; two nodes that would still read the same (``x*x`` written
    twice) are numbered in reading order: ``x*x #1``, ``x*x #2``.
    """
    out: dict[Value, str] = {node: _cut(program.title(node), width) for node in nodes}
    seen: dict[str, list[Value]] = {}
    for node, title in out.items():
        if node.parents or node.requires_grad:  # bare numbers may repeat: they are numbers
            seen.setdefault(title, []).append(node)
    for same in seen.values():
        if len(same) > 1:
            for node, title in _telling(program, same, width).items():
                out[node] = title
    again: dict[str, list[Value]] = {}
    for same in seen.values():
        for node in same:
            again.setdefault(out[node], []).append(node)
    for title, same in again.items():
        if len(same) > 1:  # the last resort: numbered in reading order
            for k, node in enumerate(same, start=1):
                mark = f" #{k}"
                room = width - len(mark)
                out[node] = (title if len(title) <= room else title[: room - 1] + "…") + mark
    return out


def _telling(program: Program, same: list[Value], width: int) -> dict[Value, str]:
    """Titles for nodes whose titles read the same once cut (``w2_1*h1_1 … + b2`` and
    ``w2_1*h4_1 … + b2``), each showing where its name differs from the others: past the
    longest start it shares with any of them (its neighbours in sorted order)."""
    full = sorted((program.title(node), i) for i, node in enumerate(same))
    out: dict[Value, str] = {}
    for at, (name, i) in enumerate(full):
        shared = max(
            (_first_difference(name, full[j][0]) for j in (at - 1, at + 1) if 0 <= j < len(full)),
            default=0,
        )
        if len(name) <= width:
            title = name
        elif shared < width - 1:
            title = name[: width - 1].rstrip() + "…"
        else:
            start = min(shared - (width - 2) // 2, len(name) - (width - 2))
            title = "…" + name[start : start + width - 2].strip() + "…"
        out[same[i]] = title
    return out


def _first_difference(a: str, b: str) -> int:
    if a == b:  # the partial sums of a long sum, cut alike
        return len(a)
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return min(len(a), len(b))


def _cut(title: str, width: int) -> str:
    """``title`` in at most ``width`` characters: its start and its end around one ``…`` (the
    end of a partial sum is its latest term, which tells it from the others)."""
    if len(title) <= width:
        return title
    head, mark, tail = title.partition("…")
    if mark:  # already shortened around an ellipsis: keep as much of the end as fits
        head, tail = head.rstrip(), tail.strip()
        # whole terms where they fit: the one ``…`` left always covers the one there was
        # (cut as one text, ``t6_1 + t6_2 … + t6_7`` gave ``…+ t6_2 + t6_7``: a sum that
        # ends in t6_2 + t6_7)
        whole = _whole_terms_around(_terms(head), _terms(tail), width)
        if whole:
            return whole
        if len(tail) <= width - 2:
            return f"{head[: width - 1 - len(tail)].rstrip()}…{tail}"
        return _between_names(head, tail, width) or (
            f"{head[:2].rstrip()}…{tail[-(width - 3) :].lstrip()}"
        )
    whole = _whole_terms(title, width)
    if whole:
        return whole
    keep = (width - 1) * 2 // 3
    return _between_names(title, title, width) or (
        f"{title[:keep].rstrip()}…{title[-(width - 1 - keep) :].lstrip()}"
    )


_OPERATOR_AT = re.compile(r"[-+*/]")
_NAME_END = re.compile(r"\w(?=\W|$)")


def _between_names(head: str, tail: str, width: int) -> str:
    """``title`` cut where even its last term does not fit, at names, not in them: the longest
    end of ``tail`` from an operator on (``*h4_2_4``) that leaves room for a start of ``head``
    that ends a name (``w3_1_1``): ``w3_1_1…*h4_2_4``. Cut anywhere, it read
    ``w3…_1_4*h4_2_4``, a product of names that are not there. ``""`` if no such end fits."""
    alone = ""  # the longest end that fits, with no start: if no end leaves room for one
    for at in (m.start() for m in _OPERATOR_AT.finditer(tail)):
        end = tail[at:].strip()
        if len(end) + 1 > width:
            continue
        start = ""
        for m in _NAME_END.finditer(head):
            candidate = head[: m.end()].rstrip()
            if len(candidate) + 1 + len(end) > width or (head is tail and m.end() > at):
                break
            start = candidate
        if start:
            return f"{start}…{end}"
        alone = alone or f"…{end}"
    return alone if len(alone) > width // 2 else ""  # ``…*b`` alone tells too little


_OPERATORS = frozenset(("+", "-", "*", "/", "**"))


def _terms(title: str) -> list[str]:
    """``title`` split at the spaces outside brackets: ``(y1 + 1)**2 + b`` gives
    ``(y1 + 1)**2``, ``+``, ``b``."""
    terms: list[str] = []
    depth = start = 0
    for i, c in enumerate(title):
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == " " and depth == 0:
            if i > start:
                terms.append(title[start:i])
            start = i + 1
    if start < len(title):
        terms.append(title[start:])
    return terms


def _whole_terms(title: str, width: int) -> str:
    """``title`` cut to at most ``width`` characters between whole terms: the latest terms
    (which tell partial sums apart) and as many of the first as fit, around ``…``
    (``(y1 + 1)**2 … + (y3 + 1)**2``, ``…(y3 + 1)**2``); ``""`` if not even the last term
    fits. A term is never cut in two: ``(y…(y3 + 1)**2`` said nothing."""
    terms = _terms(title)
    best, kept = "", 0
    for j in range(len(terms) - 1, 0, -1):  # the tail: terms[j:], longer each time
        tail = " ".join(terms[j:])
        if len(tail) + 1 > width:
            break
        for i in range(j - 1, -1, -1):  # the head: terms[:i], longest first
            if i and terms[i - 1] in _OPERATORS:
                continue  # a head does not end on an operator
            head = " ".join(terms[:i])
            if not head and terms[j - 1] in _OPERATORS:
                continue  # alone, a tail starts at its operator: "… hidden_value" read as
                # the node hidden_value, not as hidden_value * hidden_value
            forms = (f"{head} … {tail}", f"{head}…{tail}") if head else (f"… {tail}", f"…{tail}")
            fits = [text for text in forms if len(text) <= width]
            if fits:
                if len(head) + len(tail) > kept:
                    best, kept = fits[0], len(head) + len(tail)
                break  # shorter heads keep less
    return best


def _whole_terms_around(head: list[str], tail: list[str], width: int) -> str:
    """:func:`_whole_terms` for a title already cut between the terms ``head`` and ``tail``:
    a start of ``head`` and an end of ``tail`` around ``…``, so that the new ``…`` covers what
    the old one did; ``""`` if not even the last term fits."""
    best, kept = "", 0
    for j in range(len(tail) - 1, -1, -1):  # the tail: tail[j:], longer each time
        end = " ".join(tail[j:])
        if len(end) + 1 > width:
            break
        for i in range(len(head), -1, -1):  # the head: head[:i], longest first
            if i and head[i - 1] in _OPERATORS:
                continue  # a head does not end on an operator
            start = " ".join(head[:i])
            if not start and j and tail[j - 1] in _OPERATORS:
                continue  # alone, a tail starts at its operator (see _whole_terms)
            forms = (f"{start} … {end}", f"{start}…{end}") if start else (f"… {end}", f"…{end}")
            fits = [text for text in forms if len(text) <= width]
            if fits:
                if len(start) + len(end) > kept:
                    best, kept = fits[0], len(start) + len(end)
                break  # shorter heads keep less
    return best


class Scene:
    """The graph of one program as the graph view shows it.

    Attributes:
        graph: the whole graph (:func:`~stepgrad.layout.to_networkx` of every node).
        groups: its weighted sums (see :mod:`stepgrad.groups`).
        collapsed: the roots of the groups drawn as one node.
        ids: engine value -> node key; ``by_id`` the other way.
    """

    def __init__(self, walk: Walkthrough) -> None:
        program = walk.program
        order = walk.nodes
        self.names = titles(program, order)
        self.graph = to_networkx(program.output, self.names, order)
        short = titles(program, order, COMPACT_NAME_WIDTH)
        for _, attrs in self.graph.nodes(data=True):
            attrs["short"] = short[attrs["value"]]
        self.by_id: dict[int, Value] = {n: a["value"] for n, a in self.graph.nodes(data=True)}
        self.ids: dict[Value, int] = {v: n for n, v in self.by_id.items()}
        self.groups: list[Group] = weighted_sums(self.graph)
        self.group_of: dict[int, Group] = {m: g for g in self.groups for m in g.members}
        big = self.graph.number_of_nodes() > COLLAPSE_FROM
        self.collapsed: frozenset[int] = (
            frozenset(g.root for g in self.groups) if big else frozenset()
        )
        self._shown: dict[frozenset[int], nx.MultiDiGraph] = {}
        self._layouts: dict[tuple[frozenset[int], Mode], Any] = {}
        self._drawings: dict[tuple[object, ...], Drawing] = {}
        self._focused: dict[tuple[object, ...], Any] = {}
        self._lanes: dict[frozenset[int], int] = {}
        self.room: int | None = None
        """The width the last :meth:`fit` was for: a drawing that fits it with room to spare
        is spread to it (see :func:`~stepgrad.layout.spread`); None: drawn as laid out."""

    # --- the shown graph ------------------------------------------------------------------------

    @property
    def active_groups(self) -> list[Group]:
        return [g for g in self.groups if g.root in self.collapsed]

    def shown(self) -> nx.MultiDiGraph:
        """The graph with the collapsed groups as one node each."""
        graph = self._shown.get(self.collapsed)
        if graph is None:
            groups = self.active_groups
            graph = collapse(self.graph, groups) if groups else self.graph
            self._shown[self.collapsed] = graph
        return graph

    def rep(self, node: int) -> int:
        """The shown node standing for ``node``: its group's when the group is collapsed."""
        group = self.group_of.get(node)
        return group.root if group is not None and group.root in self.collapsed else node

    def toggle(self, node: int) -> bool:
        """Collapse or expand the group ``node`` belongs to; False if it belongs to none."""
        group = self.group_of.get(node)
        if group is None:
            return False
        self.collapsed = self.collapsed ^ {group.root}
        return True

    def set_all(self, collapsed: bool) -> None:
        self.collapsed = frozenset(g.root for g in self.groups) if collapsed else frozenset()

    def too_large(self) -> int | None:
        """The lanes the shown graph would need, when that is over the limit (else None)."""
        count = self._lanes.get(self.collapsed)
        if count is None:
            count = self._lanes[self.collapsed] = lanes(self.shown())
        return count if count > MAX_LANES else None

    # --- layouts and drawings ----------------------------------------------------------------

    def layouts(self) -> dict[Mode, Any]:
        """The layouts made so far for the shown graph, by mode (for :func:`layout.fit`)."""
        made: dict[Mode, Any] = {}
        for (collapsed, mode), lay in self._layouts.items():
            if collapsed == self.collapsed:
                made[mode] = lay
        return made

    def fit(self, width: int, height: int, levels: Sequence[Mode] = LEVELS) -> Mode | None:
        """The largest level at which the whole shown graph fits ``width`` x ``height``.
        Drawings made from now on use the room to spare in ``width`` (see :attr:`room`)."""
        self.room = width
        made = self.layouts()
        chosen = fit(self.shown(), width, height, levels, made)
        for mode, lay in made.items():
            self._layouts[(self.collapsed, mode)] = lay
        return chosen

    def drawing(self, mode: Mode, center: int | None = None) -> Drawing:
        """The drawing of the shown graph at ``mode``, or of the neighbourhood of ``center``,
        spread to :attr:`room` when it fits with room to spare."""
        lay = self._laid(mode, center)
        room = self.room if self.room is not None and self.room > lay.width else None
        key = (self.collapsed, mode, center, room)  # a new room redraws only what it spreads
        cached = self._drawings.get(key)
        if cached is None:
            cached = draw(lay if room is None else spread(lay, room))
            if len(self._drawings) > 64:
                self._drawings.clear()
            self._drawings[key] = cached
        return cached

    def _laid(self, mode: Mode, center: int | None) -> Any:
        """The layout of the shown graph at ``mode``, or of the neighbourhood of ``center``."""
        if center is None:
            lay = self._layouts.get((self.collapsed, mode))
            if lay is None:
                lay = self._layouts[(self.collapsed, mode)] = layout(self.shown(), mode=mode)
            return lay
        key = (self.collapsed, mode, center)
        lay = self._focused.get(key)
        if lay is None:
            lay = layout(focus(self.shown(), self.rep(center)), mode=mode)
            if len(self._focused) > 64:
                self._focused.clear()
            self._focused[key] = lay
        return lay

    # --- views ----------------------------------------------------------------------------------

    def view(self, walk: Walkthrough) -> View:
        """The walkthrough's state now, on the shown graph."""
        whole = self.whole_view(walk)
        groups = self.active_groups
        if not groups:
            return whole
        fired = {self.ids[s.node] for s in walk.trace.steps[: walk.step] if s.node in self.ids}
        if walk.cleared:
            fired = set()
        names = {n: self.names[v] for n, v in self.by_id.items()}
        return collapse_view(whole, groups, fired, names)

    def whole_view(self, walk: Walkthrough) -> View:
        """The walkthrough's state now, on the whole graph (every node)."""
        ids = self.ids
        grads = {ids[v]: g for v, g in walk.grads().items() if v in ids}
        dead = {ids[v]: NodeState("dead") for v in walk.dead if v in ids}
        dead_edges = {(u, v, k): "dead" for u, v, k in self.graph.in_edges(list(dead), keys=True)}
        notes = _wrong_notes(walk, ids)
        if walk.cleared or walk.step == 0:
            nodes: dict[int, Any] = dict(dead)
            root = ids.get(walk.trace.root)
            if not walk.cleared and walk.total and root is not None:
                nodes.update(_counted(walk, ids))  # the counting pass: "waits N" from the start
                nodes[root] = NodeState("waiting", 0)  # "ready": it fires first
            return View(grads, nodes, dead_edges, notes)  # type: ignore[arg-type]
        base = {ids[v]: g for v, g in walk.pass_.base.items() if v in ids}
        styled = step_view(self.graph, walk.trace, walk.step - 1, base)
        nodes = {**_counted(walk, ids), **styled.nodes, **dead}  # not reached yet: waits for all
        from .lesson.bugs import early_ready

        for value in early_ready(walk):  # bug mode early: fires at once, or goes on later
            if value in ids:
                nodes[ids[value]] = NodeState("waiting", 0)  # drawn "ready"
        return View(grads, nodes, {**styled.edges, **dead_edges}, notes)  # type: ignore[arg-type]

    def path_view(
        self,
        walk: Walkthrough,
        path: Sequence[Value],
        indices: Sequence[int],
        labels: Sequence[str],
        grads: Mapping[Value, float],
    ) -> View:
        """The graph with one path from a node to the output drawn heavy, each of its boxes
        saying ``labels`` (the factor its edge contributes), on the shown graph, with the grads
        ``grads`` (those of one pass: what the paths add up to)."""
        ids = self.ids
        shown = {ids[v]: g for v, g in grads.items() if v in ids}
        shown.update({ids[v]: 0.0 for v in walk.dead if v in ids})
        nodes: dict[int, Any] = {ids[v]: NodeState("dead") for v in walk.dead if v in ids}
        edges: dict[Any, Any] = {}
        notes: dict[int, str] = {}
        for node, label in zip(path, labels, strict=False):
            if node in ids:
                nodes[ids[node]] = "done"
                notes[ids[node]] = label
        for parent, child, index in zip(path, path[1:], indices, strict=False):
            if parent in ids and child in ids:
                edges[(ids[parent], ids[child], index)] = "active"
        whole = View(shown, nodes, edges, notes)  # type: ignore[arg-type]
        groups = self.active_groups
        if not groups:
            return whole
        return collapse_view(whole, groups)  # a sum on the path shows its last node's note

    def shown_ids(self, values: Iterable[Value]) -> list[int]:
        """The shown nodes standing for ``values`` (each once, in order)."""
        out: dict[int, None] = {}
        for value in values:
            node = self.ids.get(value)
            if node is not None:
                out.setdefault(self.rep(node), None)
        return list(out)

    def find(self, text: str) -> list[Value]:
        """The values whose title or full name contains ``text`` (titles that start with it
        first), for the find box and the command palette."""
        text = text.strip().lower()
        if not text:
            return []
        starts, contains = [], []
        for value in self.by_id.values():
            title = self.names[value].lower()
            if title.startswith(text):
                starts.append(value)
            elif text in title:
                contains.append(value)
        return starts + contains
