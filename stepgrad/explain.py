"""Plain-language explanations of the backward pass, shared by the app and ``--print``.

Everything here is text built from the op table (``Op.summary``, the derivative formulas) and
the trace; nothing imports Textual or rich, so the app can use it before its first frame.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, cast

from engine import OPS, Edge, Step, Value
from engine.numbers import format_number

if TYPE_CHECKING:
    from engine.check import Check
    from engine.parse import Program

    from .state import Walkthrough

__all__ = [
    "contribution_ordinals",
    "edge_note",
    "gradient_check",
    "narrate",
    "partial",
    "placeholder",
    "plural",
]

_SIMPLE_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*|-?[0-9.]+(e-?[0-9]+)?")


def partial(program: Program, of: Value, by: Value) -> str:
    """``∂r/∂a``, with compound names in parentheses: ``∂(x*x + 1)/∂(x*x)``."""

    def wrap(node: Value) -> str:
        name = program.name(node)
        return name if _SIMPLE_NAME.fullmatch(name) else f"({name})"

    return f"∂{wrap(of)}/∂{wrap(by)}"


def edge_note(edge: Edge) -> str:
    """What the parent does after this contribution: wait, fire, or finish."""
    if edge.pending > 0:
        return f"waits for {edge.pending} more"
    if edge.parent.parents:
        return "complete: will fire"
    return "complete (input)"


def plural(count: int, word: str) -> str:
    """``1 contribution``, ``2 contributions``."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def n(x: float) -> str:
    return format_number(x)


def narrate(walk: Walkthrough, notes: Mapping[str, str] | None = None) -> list[str]:
    """What just happened, in plain sentences, for the narration pane of lesson mode.

    ``notes`` are an example's own remarks: by the name of a node (shown when it fires), or
    ``"start"`` / ``"done"`` (shown before the first step and after the last).
    """
    notes = notes or {}
    program = walk.program
    out = program.name(program.output)
    if walk.cleared:
        return [
            "zero_grad() set every grad to 0. A training loop calls it before each backward "
            "pass; without it the next pass adds its grads on top of these.",
        ]
    pass_ = walk.pass_
    step = walk.current
    if step is None:
        lines = _start(walk, out)
        if "start" in notes and pass_.number == 1:
            lines.append(notes["start"])
        return lines
    lines = _step(program, step, walk)
    name = program.name(step.node)
    if name in notes:
        lines.append(notes[name])
    if walk.step >= walk.total:
        lines += _done(walk, out)
        if "done" in notes and pass_.number == 1:
            lines.append(notes["done"])
    return lines


def _start(walk: Walkthrough, out: str) -> list[str]:
    pass_ = walk.pass_
    if walk.total == 0:
        return [f"The output {out} is a leaf: its grad is 1 and there is nothing to propagate."]
    lines = []
    if pass_.accumulates:
        lines.append(
            f"zero_grad() was not called, so pass {pass_.number} starts from the grads pass "
            f"{pass_.number - 1} left, and every += adds to them."
        )
    elif pass_.zeroed:
        lines.append("zero_grad() was called: every grad is 0, so this pass starts clean.")
    lines.append(
        f"Backpropagation starts at the output {out}: its grad is ∂{out}/∂{out} = 1. "
        "Then, one at a time, a node whose consumers have all sent their share fires: it "
        "multiplies its grad (the upstream) by the local derivative toward each input and adds "
        "the product to that input's grad. That is the chain rule, applied once per edge."
    )
    return lines


def _step(program: Program, step: Step, walk: Walkthrough) -> list[str]:
    node = step.node
    name = program.name(node)
    op = OPS[node.op] if node.op else None
    up = n(step.upstream)
    head = program.describe(node)
    if op is None:
        return [f"{head} fires with grad {up}."]
    if not step.edges:
        return [f"{head} fires, but its inputs are constants: no grad flows back."]
    sends = []
    for edge in step.edges:
        parent = program.name(edge.parent)
        formula = op.formulas[edge.index]  # a constant 1 or -1: say it in words
        if formula == "1":
            sends.append(f"{name} passes its grad {up} straight back to {parent}")
        elif formula == "-1":
            sends.append(f"{parent} gets minus {name}'s grad: {n(edge.contribution)}")
        else:
            sends.append(f"{parent} gets {up} × {n(edge.local)} = {n(edge.contribution)}")
    lines = [f"{head}: {op.summary}, so " + "; ".join(sends) + "."]
    for position, edge in enumerate(step.edges):
        parent = program.name(edge.parent)
        if not _first_in_pass(walk, position):
            lines.append(
                f"{parent} reaches the output along more than one path, and the chain rule sums "
                "over every path: that is why backward adds with += instead of overwriting."
            )
        elif walk.pass_.accumulates:
            lines.append(
                f"{parent} already held {n(edge.grad_before)} from pass {walk.pass_.number - 1} "
                f"(no zero_grad), so += makes it {n(edge.grad_after)}."
            )
        if edge.pending > 0:
            lines.append(
                f"{parent} still waits for {plural(edge.pending, 'more contribution')} before "
                "its grad is complete."
            )
    return lines


def contribution_ordinals(walk: Walkthrough) -> dict[tuple[int, int], tuple[int, int]]:
    """(step index, edge index) -> (which contribution to its parent this is, how many in all),
    for the current pass (computed once per pass)."""
    key = ("ordinals", walk.pass_.serial)
    cached = walk.memo.get(key)
    if cached is not None:
        return cast("dict[tuple[int, int], tuple[int, int]]", cached)
    counts: dict[Value, int] = {}
    ordinals: dict[tuple[int, int], int] = {}
    for s, step in enumerate(walk.trace.steps):
        for e, edge in enumerate(step.edges):
            counts[edge.parent] = counts.get(edge.parent, 0) + 1
            ordinals[(s, e)] = counts[edge.parent]
    steps = walk.trace.steps
    result = {(s, e): (k, counts[steps[s].edges[e].parent]) for (s, e), k in ordinals.items()}
    walk.memo = {k: v for k, v in walk.memo.items() if k[0] != "ordinals"}
    walk.memo[key] = result
    return result


def _first_in_pass(walk: Walkthrough, position: int) -> bool:
    """Whether edge ``position`` of the step that fired last is its parent's first contribution
    in this pass."""
    ordinal = contribution_ordinals(walk).get((walk.step - 1, position))
    return ordinal is None or ordinal[0] == 1


def _done(walk: Walkthrough, out: str) -> list[str]:
    pass_ = walk.pass_
    program = walk.program
    lines = []
    inputs = [(name, v) for name, v in program.inputs.items() if v.requires_grad]
    if inputs:
        name, value = inputs[0]
        grad = walk.grad(value)
        if grad is not None:
            lines.append(
                f"{name}.grad = {n(grad)} says: nudge {name} by a small h and {out} moves by "
                f"about {n(grad)}·h."
            )
    if pass_.stack > 1:
        lines.append(
            f"But these grads are {pass_.stack}× the true gradient: the passes accumulated. "
            "That is why a training loop calls zero_grad() before every backward pass."
        )
    return lines


def placeholder(program: Program) -> str:
    """A name for "the input" in ``L(x+h)``: ``x``, unless the output itself is called so."""
    return "v" if program.name(program.output) == "x" else "x"


def gradient_check(walk: Walkthrough) -> list[Check]:
    """Each input's grad shown now beside ``stack ×`` what finite differences say.

    After ``k`` accumulated passes the grads are ``k`` times one pass's, so the estimate (and
    its error and one-sided slopes) is scaled by ``k``; the finite differences themselves are
    computed once per program. An input that received nothing (``—``) is judged as 0.
    """
    from engine.check import Estimate, estimate_all, judge

    program = walk.program
    estimates = cast("dict[str, Estimate] | None", walk.memo.get(("finite differences",)))
    if estimates is None:
        inputs = {name: v for name, v in program.inputs.items() if v.requires_grad}
        estimates = estimate_all(program.output, inputs, name=program.describe)
        walk.memo[("finite differences",)] = estimates
    stack = walk.pass_.stack
    checks = []
    for name, estimate in estimates.items():
        grad = walk.grad(program.inputs[name])
        scaled = estimate if stack == 1 else estimate.scaled(stack)
        checks.append(judge(name, 0.0 if grad is None else grad, scaled))
    return checks
