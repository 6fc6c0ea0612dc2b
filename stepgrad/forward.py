"""The forward pass, one node at a time, as plain Python (no Textual).

Backprop is the middle of a loop: forward pass, backward pass, update, repeat. This module is
the first part and the glue of the third:

- :func:`forward_order`: every node of a program in the order a forward pass computes it, a
  topological order of the graph from networkx (each node after all of its inputs; among the
  nodes ready at the same time, the one written first in the program).
- :class:`ForwardWalk`: the app's forward mode, stepping through that order. Inputs and
  constants are given; an op node's value is not shown until its step (the graph shows ``—``).
  Stepping back is an index move, as in :class:`~stepgrad.state.Walkthrough`.
- :func:`forward_sentences`: the narration, which says once, at the end of the forward pass,
  why the backward pass then runs the other way.
- :func:`recompute`: the forward pass run again in place on the same graph, after a gradient
  step changed the parameters' ``data`` (the training loop's "re-run the forward pass").

networkx is imported only when an order is asked for, so importing this module stays cheap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

from engine import OPS, Value
from engine.numbers import format_number
from engine.parse import Program, ProgramError
from stepgrad.state import StepCursor

__all__ = [
    "ForwardStep",
    "ForwardWalk",
    "expression_with_numbers",
    "forward_order",
    "forward_sentences",
    "recompute",
    "REVERSE_WHY",
]


def forward_order(program: Program) -> list[Value]:
    """Every node of ``program`` (unused values too) in a forward pass's order.

    A topological order of the graph, computed by networkx
    (:func:`networkx.lexicographical_topological_sort`): a node comes after every one of its
    inputs. Among the nodes ready at once, the one written first in the program comes first
    (by the line and column where it is written), so the order reads like the program; leaves
    with no place in it (an unused input given on the command line) come first.
    """
    import networkx as nx

    order = program.nodes()
    index = {node: i for i, node in enumerate(order)}
    graph = nx.DiGraph()
    graph.add_nodes_from(range(len(order)))
    graph.add_edges_from((index[p], i) for i, node in enumerate(order) for p in node.parents)
    spans = program.spans
    keys: list[tuple[float, float, int]] = []
    for i, node in enumerate(order):
        span = spans.get(node)
        if span is not None:
            keys.append((span.line, span.col, i))
        elif node.parents:  # never for a parsed program; keep such a node after the written ones
            keys.append((math.inf, 0, i))
        else:
            keys.append((0, 0, i))
    return [order[i] for i in nx.lexicographical_topological_sort(graph, key=keys.__getitem__)]


class ForwardStep(NamedTuple):
    """One node computed by the forward pass.

    Attributes:
        number: 1 for the first node computed.
        node: the node computed now (an op node; inputs and constants are given, not computed).
        values: its inputs' values, in operand order (``node.parents[i].data``).
        data: the value it produces.
    """

    number: int
    node: Value
    values: tuple[float, ...]
    data: float

    @property
    def inputs(self) -> tuple[Value, ...]:
        return self.node.parents


def _operand(x: float) -> str:
    text = format_number(x)
    return f"({text})" if text.startswith("-") else text


def expression_with_numbers(node: Value) -> str:
    """``node``'s op over its inputs' values: ``64 + 1``, ``tanh(0.881374)``, ``8 * (-3)``."""
    op = OPS[node.op]
    values = [p.data for p in node.parents]
    if op.name == "neg":
        return f"-{_operand(values[0])}"
    if op.arity == 1:
        return f"{op.symbol}({format_number(values[0])})"
    left = _operand(values[0]) if op.name == "**" else format_number(values[0])
    return f"{left} {op.symbol} {_operand(values[1])}"


class ForwardWalk(StepCursor):
    """Where the forward pass stands: step ``k`` of ``N`` (0: nothing computed yet).

    The program's values are already computed (the parser runs the forward pass); the walk only
    decides which of them are *shown*, so stepping back is an index move.
    """

    def __init__(self, program: Program) -> None:
        self.program = program
        self.order: list[Value] = forward_order(program)
        ops = [node for node in self.order if node.parents]
        self.steps: list[ForwardStep] = [
            ForwardStep(k, node, tuple(p.data for p in node.parents), node.data)
            for k, node in enumerate(ops, start=1)
        ]
        self.step_of: dict[Value, int] = {s.node: s.number for s in self.steps}
        """The step at which each op node is computed."""
        self.step = 0

    @property
    def total(self) -> int:
        return len(self.steps)

    @property
    def current(self) -> ForwardStep | None:
        """The step computed last, or None at step 0."""
        return self.steps[self.step - 1] if self.step else None

    @property
    def finished(self) -> bool:
        return self.step >= self.total

    def computed(self, node: Value) -> bool:
        """Whether ``node``'s value is known now: a leaf always, an op node once its step ran."""
        at = self.step_of.get(node)
        return at is None or at <= self.step

    def hidden(self) -> list[Value]:
        """The op nodes not computed yet, in forward order."""
        return [s.node for s in self.steps[self.step :]]

    def go(self, step: int) -> bool:
        step = max(0, min(step, self.total))
        changed = step != self.step
        self.step = step
        return changed


REVERSE_WHY = (
    "Why the backward pass runs the other way: a node's grad is the sum of what every node that "
    "uses it sends back, and each of those was computed after it. So the backward pass starts "
    "at the output, computed last, and fires a node only after every node that uses it: this "
    "order read backwards (nodes that do not depend on each other may swap places)."
)
"""Said once, when the forward pass is done."""


def _given(program: Program, limit: int = 6) -> str:
    shown = [f"{name} = {format_number(node.data)}" for name, node in program.inputs.items()]
    if len(shown) > limit:
        shown = [*shown[:limit], f"… {len(shown) - limit} more"]
    return ", ".join(shown)


def _input_clause(walk: ForwardWalk, parent: Value) -> str:
    """``x*x was computed at step 1``, ``x is an input``, ``1 is a constant``."""
    program = walk.program
    name = program.name(parent)
    at = walk.step_of.get(parent)
    if at is not None:
        return f"{name} was computed at step {at}"
    if not parent.requires_grad:
        return f"{name} is a constant"
    return f"{name} is an input"


def forward_sentences(walk: ForwardWalk) -> list[str]:
    """The narration of the forward pass at the step ``walk`` is at: what was computed, from
    which inputs (and when each of them was computed: before now, always), and at the end why
    the backward pass runs the other way."""
    program = walk.program
    out = program.name(program.output)
    if walk.total == 0:
        return [
            f"The output {out} is an input itself: the forward pass has nothing to compute.",
        ]
    step = walk.current
    if step is None:
        first = walk.steps[0].node
        if walk.total == 1:
            order = "The forward pass computes its one op node once its inputs are known."
        else:
            order = (
                f"The forward pass computes the {walk.total} op nodes one at a time, in a "
                "topological order of the graph: a node only once all of its inputs are known."
            )
        given = _given(program)
        known = (
            f"The inputs and constants are given ({given})"
            if given
            else "The program has no inputs: its constants are given"
        )
        return [
            order,
            f"{known}; every other value shows — until it is computed. Press → to compute "
            f"{program.describe(first)}.",
        ]
    node = step.node
    sentences = [
        f"{program.describe(node)} = {expression_with_numbers(node)} = {format_number(node.data)}.",
    ]
    clauses = list(dict.fromkeys(_input_clause(walk, p) for p in node.parents))
    ready = "Its input is" if len(clauses) == 1 else "Its inputs are"
    sentences.append(f"{ready} ready: {' and '.join(clauses)}.")
    if walk.finished:
        sentences.append(
            f"Forward pass done: {out} = {format_number(program.output.data)}, and every value "
            "is known."
        )
        sentences.append(REVERSE_WHY)
        sentences.append("Press → to start the backward pass.")
    return sentences


def recompute(program: Program, order: Sequence[Value] | None = None) -> None:
    """Run the forward pass again in place: every op node's ``data`` from its inputs' current
    ``data``, in ``order`` (a topological order; default :meth:`Program.nodes`).

    Each op goes through the op table exactly as :class:`engine.Value`'s operators do, so the
    numbers are those a fresh parse at the new inputs would give, to the last digit. Raises
    :class:`ProgramError` (naming the subexpression and its operands, as the parser does) where a
    value leaves an op's domain or is not finite; nodes after it keep their old data.
    """
    for node in order if order is not None else program.nodes():
        parents = node.parents
        if not parents:
            continue
        op = OPS[node.op]
        args = [p.data for p in parents]
        reason = op.check(*args)
        if reason is None:
            try:
                data = op.forward(*args)
            except (ArithmeticError, ValueError):
                data = math.inf
            if math.isfinite(data):
                node.data = data
                continue
            reason = "the result is too large (overflow)"
        shown = []
        for parent in parents:
            name, value = program.name(parent), format_number(parent.data)
            if name != value:
                shown.append(f"{name} = {value}")
        where = f" ({', '.join(dict.fromkeys(shown))})" if shown else ""
        text = program.texts.get(node) or program.name(node)
        raise ProgramError(
            f"{text}: {reason}{where}", program.spans.get(node), None, program.source
        )


def forward_report(program: Program) -> list[str]:
    """The forward pass as plain text lines, for ``--print --forward``: one row per op node in
    :func:`forward_order`, with the values it was computed from and the value it produced."""
    from engine.text import visible

    walk = ForwardWalk(program)
    given = _given(program)
    head = (
        f"forward pass: {walk.total} op node{'s' if walk.total != 1 else ''} in a topological "
        "order, each after all of its inputs"
    )
    lines = [visible(head + (f" (given: {given})" if given else ""))]
    rows = [("step", "computes", "from", "value")]
    for step in walk.steps:
        rows.append(
            (
                str(step.number),
                visible(program.describe(step.node)),
                expression_with_numbers(step.node),
                format_number(step.data),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        cells = [
            row[0].rjust(widths[0]),
            *(c.ljust(w) for c, w in zip(row[1:], widths[1:], strict=True)),
        ]
        lines.append("  ".join(cells).rstrip())
    lines.append(
        "The backward pass then goes the other way: a node's grad sums what its users send "
        "back, and they were all computed after it."
    )
    return lines
