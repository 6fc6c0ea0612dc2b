"""Plain-language explanations of the backward pass, shared by the app and ``--print``.

Everything here is text built from the op table (``Op.summary``, the derivative formulas) and
the trace; nothing imports Textual or rich, so the app can use it before its first frame.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, cast

from engine import OPS, Edge, Step, Value
from engine.numbers import format_number, worked
from engine.ops import is_name
from engine.parse import CONSTANTS, spare_name

if TYPE_CHECKING:
    from engine.check import Check
    from engine.parse import Program

    from .state import Walkthrough

__all__ = [
    "called",
    "contribution_ordinals",
    "described",
    "edge_note",
    "gradient_check",
    "narrate",
    "partial",
    "difference_quotient",
    "placeholders",
    "plural",
    "titled",
    "twins",
]

_NUMBER = re.compile(r"-?[0-9.]+(e-?[0-9]+)?")


_TWINS: weakref.WeakKeyDictionary[Program, dict[int, dict[Value, int]]] = (
    weakref.WeakKeyDictionary()
)


def twins(program: Program) -> dict[Value, int]:
    """Each node whose name (:meth:`~engine.parse.Program.name`) another node of the program
    shares, with its number among them in reading order (the order of
    :meth:`~engine.parse.Program.nodes`): ``tanh(b) + tanh(b)`` numbers its two ``tanh(b)``
    1 and 2. Bare numbers may repeat (they are numbers), and so are left out.

    This is the rule the graph's titles number nodes by (:func:`stepgrad.scene.titles`:
    ``tanh(b) #1``, ``tanh(b) #2``), so that the step panel, the narration and ``--print``
    call each node what its box is called. Computed once per program and name limit
    (``--print`` names values by more of their text than the app does).
    """
    limit = program.name_limit
    by_limit = _TWINS.get(program)
    if by_limit is None:
        by_limit = _TWINS[program] = {}
    numbers = by_limit.get(limit)
    if numbers is None:
        named: dict[str, list[Value]] = {}
        for node in program.nodes():
            if node.parents or node.requires_grad:
                named.setdefault(program.name(node), []).append(node)
        numbers = {
            node: k
            for same in named.values()
            if len(same) > 1
            for k, node in enumerate(same, start=1)
        }
        by_limit[limit] = numbers
    return numbers


def called(program: Program, node: Value) -> str:
    """How the step panel, the narration and ``--print`` call ``node``: its name, and where
    another node has the same name, its number as the graph shows it (``tanh(b) #2``)."""
    name = program.name(node)
    k = twins(program).get(node)
    return name if k is None else f"{name} #{k}"


def described(program: Program, node: Value) -> str:
    """``r = a / b`` for a named node, the expression alone otherwise (as
    :meth:`~engine.parse.Program.describe`); a node whose name another node shares is called
    by its numbered name instead (``tanh(b) #1``, ``w #2 = a * b``)."""
    if node not in twins(program):
        return program.describe(node)
    if node.label is not None and node.parents:
        return f"{called(program, node)} = {program.expression(node)}"
    return called(program, node)


def titled(program: Program, node: Value) -> str:
    """``node``'s name with every alias (:meth:`~engine.parse.Program.title`: ``a, b`` after
    ``b = a``), numbered as :func:`called` numbers it where its name is shared."""
    k = twins(program).get(node)
    title = program.title(node)
    return title if k is None else f"{title} #{k}"


def wrapped(program: Program, node: Value) -> str:
    """``node``'s name, in parentheses if it is compound: ``x``, ``(x*x + 1)``,
    ``(tanh(b) #2)``."""
    name = called(program, node)
    return name if is_name(name) or _NUMBER.fullmatch(name) else f"({name})"


def partial(program: Program, of: Value, by: Value) -> str:
    """``∂r/∂a``, with compound names in parentheses: ``∂(x*x + 1)/∂(x*x)``."""
    return f"∂{wrapped(program, of)}/∂{wrapped(program, by)}"


def local_formula(program: Program, step: Step, edge: Edge) -> str:
    """An edge's local derivative as the step panel, ``--print`` and the HTML page write it:
    over names, over numbers, then the number itself where the formula over numbers is not
    already that number: ``∂(x*x)/∂x = x = 8``, ``∂out/∂b = -a/b**2 = -65/8**2 = -1.01562``,
    ``∂(abs(y))/∂y = sign(y) = sign(0) = 0``."""
    symbolic = program.formula(step, edge)
    numeric = program.formula(step, edge, numbers=True)
    text = f"{partial(program, step.node, edge.parent)} = {symbolic}"
    if numeric != symbolic:
        text += f" = {numeric}"
    value = format_number(edge.local)
    if numeric != value and not numeric.startswith(f"{value} ("):  # a convention says it
        text += f" = {value}"
    return text


def worked_product(upstream: float, local: float, contribution: float) -> str:
    """``upstream × local = contribution`` with numbers that work out: ``-1.015625 × 3 =
    -3.04688``, where ``-1.01562 × 3`` would give ``-3.04686`` (see
    :func:`engine.numbers.worked`)."""
    return "{} × {} = {}".format(*worked(upstream, "×", local, contribution))


def worked_sum(before: float, contribution: float, after: float) -> str:
    """``before + contribution → after``, a grad added to, with numbers that add up as written
    (see :func:`engine.numbers.worked`)."""
    return "{} + {} → {}".format(*worked(before, "+", contribution, after))


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
    out = called(program, program.output)
    if getattr(walk, "bug", None) is not None:  # a bug mode: see stepgrad.lesson.bugs
        from .lesson.bugs import narrate_bug

        return narrate_bug(walk, notes)  # type: ignore[arg-type]
    if walk.cleared:
        return [
            "zero_grad() set every grad to 0. A training loop calls it before each backward "
            "pass; without it the next pass adds its grads on top of these.",
        ]
    pass_ = walk.pass_
    step = walk.current
    if step is None:
        lines = _nudged(walk) + _start(walk, out)
        if "start" in notes and pass_.number == 1:
            lines.append(notes["start"])
        return lines
    lines = _step(program, step, walk)
    name = program.name(step.node)
    if name in notes and not pass_.accumulates:  # a note's numbers are one pass's
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
        if pass_.stack == 2:
            lines += _micrograd_differs(walk)
    elif pass_.zeroed:
        lines.append("zero_grad() was called: every grad is 0, so this pass starts clean.")
    upstream = (
        "the grad it got in this pass (the upstream; its grad also holds what the passes "
        "before left)"
        if pass_.accumulates
        else "its grad (the upstream)"
    )
    lines.append(
        f"Backpropagation starts at the output {out}: its grad is ∂{out}/∂{out} = 1. "
        "Then, one at a time, a node whose consumers have all sent their share fires: it "
        f"multiplies {upstream} by the local derivative toward each input and adds "
        "the product to that input's grad. That is the chain rule, applied once per edge."
    )
    lines += _counting(walk)
    program = walk.program
    if pass_.number == 1:
        lines += _unused(walk)
        constants = program.constants_used
        if constants:
            values = " and ".join(f"{c} = {n(CONSTANTS[c])}" for c in constants)
            verb = "are the constants" if len(constants) > 1 else "is the constant"
            lines.append(
                f"{' and '.join(constants)} {verb} {values} here (the program does not assign "
                f"{'them' if len(constants) > 1 else 'it'}): constants take no grad."
            )
    return lines


def _counting(walk: Walkthrough) -> list[str]:
    """Step 0: why each box already says how many contributions it waits for."""
    counts: dict[Value, int] = {}
    for step in walk.trace.steps:
        for edge in step.edges:
            counts[edge.parent] = counts.get(edge.parent, 0) + 1
    shared = [v for v, c in counts.items() if c > 1 and v.parents]  # nodes that will fire
    example = ""
    if shared:
        node = max(shared, key=lambda v: counts[v])
        example = f" ({called(walk.program, node)} waits for {counts[node]})"
    return [
        "Every node already knows how many contributions it will receive (the engine counted "
        f"each node's consumers as the graph was built): the waits N on each box{example}. A "
        "node may fire only after every node that uses it has sent its part; firing earlier "
        "would pass on an incomplete grad."
    ]


def _nudged(walk: Walkthrough) -> list[str]:
    """Right after a nudge (``>`` / ``<``): what the output did, against what the grad said."""
    nudged = getattr(walk, "nudged", None)
    if nudged is None or walk.pass_.number != 1:
        return []
    passes = f"(after {nudged.passes} passes) " if nudged.passes > 1 else ""
    predicted = "{} × {} = {}".format(  # numbers whose product is the one written after =
        *worked(nudged.grad, "×", nudged.h, nudged.predicted, lambda x: format_number(x, 10))
    )
    return [
        f"You nudged {nudged.input} by h = {n(nudged.h)} and ran the forward pass again: "
        f"{nudged.name} moved by {format_number(nudged.delta_out, 10)}, and {nudged.input}.grad "
        f"{passes}× h predicted {predicted}. " + nudged.verdict(" (H)")
    ]


def _unused(walk: Walkthrough) -> list[str]:
    """A sentence on the values the output does not use: their grad stays 0."""
    program = walk.program
    named = [v for v in walk.dead if v.label is not None]
    if not named:
        return []
    names = [called(program, v) for v in named]
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    verb = "is" if len(names) == 1 else "are"
    return [
        f"{shown} {verb} not used by the output {called(program, program.output)}: no path leads "
        f"from {'it' if len(names) == 1 else 'them'} to the output, so no gradient ever arrives "
        "and the grad stays 0."
    ]


def _micrograd_differs(walk: Walkthrough) -> list[str]:
    """At the start of a second pass without zero_grad: what micrograd's backward() would give.

    micrograd 0.1.0 sets only the output's grad to 1 and lets every inner node keep the grad of
    the first call, which then flows down again; stepgrad, like PyTorch, runs each pass on its
    own and adds the result, so every grad is exactly doubled.
    """
    from engine.micrograd import micrograd_grads

    program = walk.program
    theirs = micrograd_grads(program.output, calls=2)
    for name, value in program.inputs.items():
        if not program.reaches_output(value):
            continue
        ours = 2 * walk.trace.grads.get(value, 0.0)
        if value in theirs and abs(theirs[value] - ours) > 1e-9 * max(1.0, abs(ours)):
            return [
                f"micrograd's backward() gives other numbers on a second call ({name}.grad "
                f"would be {n(theirs[value])}, here it ends at {n(ours)}): it resets only the "
                "output's grad to 1, so every inner node's old grad flows down a second time. "
                "stepgrad, like PyTorch, runs each pass on its own and adds it: exactly twice."
            ]
    return []


_POSITIONS = ("as the first input", "as the second input")


def _step(program: Program, step: Step, walk: Walkthrough) -> list[str]:
    """The sentences for one firing: what each parent gets, then what that means for it.

    Edges are told per parent, not per edge: ``x*x`` sends x two contributions in one step, and
    what x does next (wait, fire, finish) depends on where its count stands after both. What is
    true of both parents is said once for the two (``c and a each already had 1 contribution
    in this pass: both reach the output along more than one path, ...``): no clause is said
    twice in one step.
    """
    node = step.node
    op = OPS[node.op] if node.op else None
    head = described(program, node)
    if op is None:
        return [f"{head} fires with grad {n(step.upstream)}."]
    if not step.edges:
        return [f"{head} fires, but its inputs are constants: no grad flows back."]
    groups: dict[Value, list[int]] = {}  # parent -> the positions of its edges in this step
    for position, edge in enumerate(step.edges):
        groups.setdefault(edge.parent, []).append(position)
    sends = all_sends(program, step, groups, walk)
    for constant in dict.fromkeys(p for p in node.parents if not p.requires_grad):
        sends.append(
            f"the constant {called(program, constant)} gets nothing (a number takes no grad)"
        )
    lines = [f"{head}: {op.summary}, so " + "; ".join(sends) + "."]
    ordinals = contribution_ordinals(walk)
    at = walk.step - 1
    following = walk.trace.steps[at + 1].node if at + 1 < walk.total else None
    # each parent's sentences by kind, in the order the parents come: a kind both parents
    # share becomes one sentence for the two, where the first parent's would stand
    order: list[str] = []
    shared: list[tuple[str, int]] = []  # (name, contributions it had before this step)
    both: list[str] = []
    held: list[tuple[str, list[Edge]]] = []  # (name, its edges: grad before, contribution...)
    waits: list[tuple[str, int]] = []  # (name, contributions still to come)
    final: list[str] = []
    complete: list[tuple[str, bool]] = []  # (name, whether it fires next)
    for parent, positions in groups.items():
        name = called(program, parent)
        ordinal, total = ordinals.get((at, positions[0]), (1, 1))
        last = step.edges[positions[-1]]
        kinds = []
        if ordinal > 1:
            shared.append((name, ordinal - 1))
            kinds.append("shared")
        elif len(positions) > 1:
            both.append(name)
            kinds.append("both")
        if ordinal == 1 and walk.pass_.accumulates:
            held.append((name, [step.edges[i] for i in positions]))
            kinds.append("held")
        if last.pending > 0:
            waits.append((name, last.pending))
            kinds.append("waits")
        elif parent.parents or total > 1:  # an input's one and only contribution: nothing to add
            if not parent.parents:
                final.append(name)
                kinds.append("final")
            else:
                complete.append((name, following is parent))
                kinds.append("complete")
        order += [kind for kind in kinds if kind not in order]
    inputs = (
        f"{final[0]} is an input and has every contribution: its grad is final."
        if len(final) == 1
        else f"{' and '.join(final)} are inputs and have every contribution: their grads are final."
    )
    said = {
        "shared": _had(shared) if shared else "",
        "both": f"{both[0]} is both inputs of {called(program, node)}: two edges, two "
        "contributions, and += adds them up."
        if both
        else "",
        "held": _held(held, walk.pass_.number - 1) if held else "",
        "waits": _waits(waits) if waits else "",
        "final": inputs if final else "",
        "complete": _complete(complete) if complete else "",
    }
    return lines + [said[kind] for kind in order]


def _had(shared: list[tuple[str, int]]) -> str:
    """``c already had 1 contribution in this pass: it reaches the output along more than one
    path, ...``; for two parents, once: ``c and a each already had 1 contribution ...``."""
    why = (
        "reach{} the output along more than one path, and the chain rule sums over every path, "
        "which is why backward adds with += instead of overwriting."
    )
    if len(shared) == 1:
        ((name, had),) = shared
        return (
            f"{name} already had {plural(had, 'contribution')} in this pass: it {why.format('es')}"
        )
    (a, had_a), (b, had_b) = shared
    if had_a == had_b:
        had = f"{a} and {b} each already had {plural(had_a, 'contribution')} in this pass"
    else:
        had = f"{a} already had {plural(had_a, 'contribution')} and {b} {had_b} in this pass"
    return f"{had}: both {why.format('')}"


def _held(held: list[tuple[str, list[Edge]]], earlier: int) -> str:
    """What each parent held from the passes before (no zero_grad), and what += makes it: in
    words (``held 3, so += makes it 6``) where the contribution written before, added to that
    by hand, gives it; else as sums whose numbers add up as written (``held 0.4385794, so +=
    makes it 0.4385794 + 0.4385794 = 0.877159``: 0.438579 held and 0.438579 sent make
    0.877158)."""
    source = f"from pass {earlier} (no zero_grad)"
    sums = [
        [worked(e.grad_before, "+", e.contribution, e.grad_after) for e in edges]
        for _, edges in held
    ]
    short = all(
        len(edges) == 1
        and said[0] == (n(edges[0].grad_before), n(edges[0].contribution), n(edges[0].grad_after))
        for (_, edges), said in zip(held, sums, strict=True)
    )
    befores = [said[0][0] for said in sums]
    afters = [
        said[-1][2] if short else ", then ".join("{} + {} = {}".format(*s) for s in said)
        for said in sums
    ]
    if len(held) == 1:
        return f"{held[0][0]} already held {befores[0]} {source}, so += makes it {afters[0]}."
    (a, _), (b, _) = held
    if (befores[0], afters[0]) == (befores[1], afters[1]):
        return f"{a} and {b} each already held {befores[0]} {source}, so += makes each {afters[0]}."
    return (
        f"{a} already held {befores[0]} and {b} {befores[1]} {source}, so += makes them "
        f"{afters[0]} and {afters[1]}."
    )


def _waits(waits: list[tuple[str, int]]) -> str:
    """``x still waits for 1 more contribution before its grad is complete``, once for both."""
    if len(waits) == 1:
        ((name, pending),) = waits
        return (
            f"{name} still waits for {plural(pending, 'more contribution')} before its grad is "
            "complete."
        )
    (a, pending_a), (b, pending_b) = waits
    if pending_a == pending_b:
        return (
            f"{a} and {b} each still wait for {plural(pending_a, 'more contribution')} before "
            "their grads are complete."
        )
    return (
        f"{a} still waits for {plural(pending_a, 'more contribution')} and {b} for "
        f"{pending_b} more before their grads are complete."
    )


def _complete(complete: list[tuple[str, bool]]) -> str:
    """``t now has every contribution: it fires next`` (or when its turn comes)."""
    if len(complete) == 1:
        ((name, next_),) = complete
        when = "next" if next_ else "when its turn comes"
        return f"{name} now has every contribution: it fires {when}."
    (a, next_a), (b, next_b) = complete
    if next_a or next_b:
        first, later = (a, b) if next_a else (b, a)
        when = f"{first} fires next, {later} when its turn comes."
    else:
        when = "each fires when its turn comes."
    return f"{a} and {b} now have every contribution: {when}"


def all_sends(
    program: Program,
    step: Step,
    groups: Mapping[Value, list[int]],
    walk: Walkthrough | None = None,
) -> list[str]:
    """What the firing node sends each parent (``groups``: parent -> its edges' positions), a
    clause per parent; a sum's ``passes its grad 1 straight back to`` is said once for both the
    parents it goes to (``... straight back to both a*b and c``), not once per parent."""
    formulas = OPS[step.node.op].formulas
    edges = [step.edges[positions[0]] for positions in groups.values() if len(positions) == 1]
    if len(edges) == 2 and all(formulas[edge.index] == "1" for edge in edges):
        a, b = (called(program, edge.parent) for edge in edges)  # an op has two inputs at most
        name, up = called(program, step.node), _its_grad(step, walk)
        return [f"{name} passes {up} straight back to both {a} and {b}"]
    return [_sends(program, step, positions, walk) for positions in groups.values()]


def _on_top(step: Step, walk: Walkthrough | None) -> bool:
    """Whether the firing node's grad on screen also holds what earlier passes left (no
    zero_grad in between), so that it is not the upstream this step multiplies."""
    return walk is not None and walk.pass_.base.get(step.node, 0.0) != 0.0


def _its_grad(step: Step, walk: Walkthrough | None) -> str:
    """``its grad 0.125``; in a pass on top of another, where the node's grad also holds what
    the earlier passes left (0.25 on screen), ``its grad from this pass, 0.125,``."""
    up = n(step.upstream)
    return f"its grad from this pass, {up}," if _on_top(step, walk) else f"its grad {up}"


def _sends(program: Program, step: Step, positions: list[int], walk: Walkthrough | None) -> str:
    """What the firing node sends one parent: ``x gets 1 × 8 = 8`` (per edge, once if alike)."""
    node = step.node
    formulas = OPS[node.op].formulas
    name = called(program, node)
    edges = [step.edges[i] for i in positions]
    parent = called(program, edges[0].parent)
    parts = []
    for edge in edges:
        formula = formulas[edge.index]  # a constant 1 or -1: say it in words
        if formula == "1":
            parts.append(f"{name} passes {_its_grad(step, walk)} straight back to {parent}")
        elif formula == "-1":
            grad = "grad from this pass" if _on_top(step, walk) else "grad"
            parts.append(f"{parent} gets minus {name}'s {grad}: {n(edge.contribution)}")
        else:
            product = worked_product(step.upstream, edge.local, edge.contribution)
            parts.append(f"{parent} gets {product}")
    if len(parts) == 1:
        return parts[0]
    if len({(e.local, e.contribution) for e in edges}) == 1:
        return f"{parts[0]}, once along each of its {len(parts)} edges"
    return " and ".join(
        f"{part} {_POSITIONS[edge.index]}" for part, edge in zip(parts, edges, strict=True)
    )


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


def _done(walk: Walkthrough, out: str) -> list[str]:
    pass_ = walk.pass_
    program = walk.program
    lines = []
    inputs = [
        (name, v)
        for name, v in program.inputs.items()
        if v.requires_grad and program.reaches_output(v)
    ]
    if inputs:
        name, value = inputs[0]
        grad = walk.grad(value)
        one = walk.trace.grads.get(value)  # this pass's own gradient: the true one
        if grad is not None and one is not None:
            if pass_.stack > 1:
                stack, times, total = worked(pass_.stack, "×", one, grad)  # 2 × 0.4385794
                lines.append(
                    f"{name}.grad = {total} is {stack} × {times}: the passes "
                    f"accumulated. Nudge {name} by a small h and {out} moves by about "
                    f"{n(one)}·h, not {n(grad)}·h. That is why a training loop calls zero_grad() "
                    "before every backward pass."
                )
            else:
                lines.append(_sensitivity(walk, name, value, one, out))
    return lines


def _sensitivity(walk: Walkthrough, name: str, value: Value, grad: float, out: str) -> str:
    """``x.grad = 2 says: nudge x by a small h and out moves by about 2·h``, where the finite
    differences confirm it; at a kink (relu or abs at 0) the convention and the two one-sided
    slopes instead; where they cannot tell, no claim about nudging at all."""
    check = _one_check(walk, name, value)
    verdict = check.verdict if check is not None else "agree"
    if verdict == "agree" or check is None:
        return (
            f"{name}.grad = {n(grad)} says: nudge {name} by a small h and {out} moves by about "
            f"{n(grad)}·h."
        )
    if verdict == "kink" and check.left is not None and check.right is not None:
        return (
            f"{name}.grad = {n(grad)} is a convention here, not a slope: {check.reason}. Nudge "
            f"{name} up by a small h and {out} changes by about {n(check.right)}·h; nudge it "
            f"down and {out} changes by about {n(-check.left)}·h."
        )
    why = f" ({check.reason})" if check.reason else ""
    return (
        f"{name}.grad = {n(grad)} is what the chain rule gives; finite differences could not "
        f"confirm how {out} moves when {name} is nudged{why}."
    )


def _one_check(walk: Walkthrough, name: str, value: Value) -> Check | None:
    """The gradient check of one input (the narration's example), without checking them all:
    on a large program that would take a while, and the narration needs just this one."""
    from engine.check import estimate, judge

    key = ("one check", name)
    est = walk.memo.get(key)
    if est is None:
        est = walk.memo[key] = estimate(walk.program.output, value, name=walk.program.describe)
    grad = walk.grad(value)
    scaled = est if walk.pass_.stack == 1 else est.scaled(walk.pass_.stack)  # type: ignore[attr-defined]
    return judge(name, 0.0 if grad is None else grad, scaled)  # type: ignore[arg-type]


def ordinal(k: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``4th``, ``11th``, ``21st``, ``112th``."""
    if k % 100 in (11, 12, 13):
        return f"{k}th"
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


UNUSED_AT_START = ", except for values the output does not use (grad 0). "
"""How step 0's "every grad is — (not computed)" ends where some values do not reach the
output (their boxes show grad 0 from the start)."""


def placeholders(program: Program) -> tuple[str, str]:
    """The names in ``L(x+h)``: one for "an input" and one for the step, each a name the
    program does not use for anything else (``h = x*3`` read ``(h(x+h) - h(x-h))/2h``, and an
    input called h sat in the table under that formula). ``x`` may be an input's own name: the
    formula then reads as that input's row, an example of every row."""
    leaves = set(program.inputs.values())
    taken = set(program.names) | set(program.inputs) | {program.name(program.output)}
    others = {name for name, node in program.names.items() if node not in leaves}
    others.add(program.name(program.output))
    x = "x" if "x" not in others else spare_name(("v", "u", "s", "ξ"), taken, "x")
    h = spare_name(("h", "δ", "ε", "Δ"), taken, "h")
    return x, h


def difference_quotient(program: Program, out: str | None = None, divide: str = "/") -> str:
    """``(r(x+h) - r(x-h))/2h as h shrinks``, the gradient check's formula, in the names of
    :func:`placeholders` (``out``: how to write the output's name, by default its name;
    ``divide``: `` / `` in the printed reports)."""
    x, h = placeholders(program)
    out = program.name(program.output) if out is None else out
    return f"({out}({x}+{h}) - {out}({x}-{h})){divide}2{h} as {h} shrinks"


def check_numbers(check: Check) -> tuple[str, str]:
    """A gradient check's two numbers, backprop's and finite differences', written alike
    (the app showed ``3.14159 vs 3.141593 ✓ agree``: two numbers that read as different).
    Where the verdict is not "agree" and they would read the same, more digits show where
    they part."""
    if check.numeric is None:
        return format_number(check.grad), "—"
    digits = 6
    grad, numeric = format_number(check.grad), format_number(check.numeric)
    while check.verdict != "agree" and grad == numeric and digits < 17:
        digits += 1
        grad, numeric = format_number(check.grad, digits), format_number(check.numeric, digits)
    return grad, numeric


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
