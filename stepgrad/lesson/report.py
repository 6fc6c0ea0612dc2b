"""``--passes``, ``--bug``, ``--nudge`` and ``--paths`` for ``--print`` and ``--json``.

:func:`run` does the work once (the passes, correct or buggy, the correct grads beside buggy
ones, the nudge, the paths); :func:`document` adds it to the ``--json`` document of
:func:`stepgrad.cli.to_json`, and :func:`print_run` prints it with the same writer, tables and
words as :func:`stepgrad.report.print_trace`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from engine import Step, Trace, Value
from engine.check import estimate_all, judge
from engine.numbers import format_number
from engine.parse import Program, ProgramError

from ..explain import (
    difference_quotient,
    edge_note,
    local_formula,
    plural,
    worked_product,
    worked_sum,
)
from ..report import (
    _check_row,
    _fits,
    _print_header,
    _print_step,
    _Writer,
    edge_names,
    shown_nodes,
    terminal_width,
    wants_ascii,
)
from ..training import most_within, over_budget
from .bugs import (
    Bug,
    bug_for,
    differs,
    hides_nodes,
    micrograd_program,
    passes,
    reshaped,
    upstream,
)
from .nudge import Nudge, find_input, nudge
from .paths import (
    SHOWN,
    Paths,
    describe_path,
    path_total,
    paths,
    prepare,
    product_text,
    writers,
)

__all__ = ["MAX_NODE_PASSES", "MAX_PASSES", "Run", "document", "most_passes", "print_run", "run"]

MAX_PASSES = 1000
"""The most passes ``--passes`` runs (each is recorded step by step), on a small program."""
MAX_NODE_PASSES = 10_000
"""The most node-passes (passes x the graph's nodes) ``--passes`` runs: every pass is printed
step by step. Measured on a slow 2-core machine, the slowest programs at this bound (20,000
characters, 5,000 to 5,300 nodes, 2 passes) print in at most 3.6 s (at 16,000 they took up to
6.2 s, over the 5 s every mode keeps); the 324-node MLP may take 30 passes. Without it 1,000
passes of the MLP took 28 s and printed 300 MB. (One pass is never refused: it is no more than
``--print`` itself.)"""


def most_passes(nodes: int) -> int:
    """The most passes :data:`MAX_NODE_PASSES` allows on a graph of ``nodes`` nodes."""
    return most_within(MAX_NODE_PASSES, MAX_PASSES, nodes)


def passes_refused(count: int, program: Program, asked: str | None = None) -> str | None:
    """The line that refuses ``count`` passes of ``program`` over :data:`MAX_NODE_PASSES`
    (``asked``: how the request is named, ``--passes 1,000``), or None."""
    if count <= 1:  # one pass is never refused: no need to count the nodes
        return None
    return over_budget(
        asked or f"{count:,} passes",
        count,
        len(program.nodes()),
        MAX_NODE_PASSES,
        MAX_PASSES,
        "passes",
    )


PATHS_BUDGET = 200_000
"""Search steps ``--paths`` takes at most for all inputs together (a step follows one edge):
a sum of thousands of terms has thousands of inputs, each with a path thousands of edges long.
Past it the inputs left show their count and sum of paths, exact, and list none."""
PATHS_STOPPED = (
    f"the listing stopped after {PATHS_BUDGET:,} search steps (one edge each): the inputs after "
    "that list fewer paths or none; every count and sum is exact"
)
"""What ``--print`` and ``--json`` say when the listing stopped at :data:`PATHS_BUDGET`."""


@dataclass
class Run:
    """What ``--passes``, ``--bug``, ``--nudge`` and ``--paths`` computed.

    Attributes:
        program: the program run (micrograd's shape of it for ``--bug micrograd``); every
            ``.grad`` holds what the last pass left (buggy in a bug mode).
        traces: each pass, in order.
        bug: the rule broken, or None.
        correct: in a bug mode, every node's grad after as many correct passes.
        own: every node's gradient of one correct pass (what a nudge measures).
        nudged: the nudge, or None.
        paths: each input's paths to the output, by input name (when asked).
        paths_cut: listing them stopped at :data:`PATHS_BUDGET` search steps, so some inputs
            list fewer paths than they could (their counts and sums are whole).
        reshaped: how micrograd builds ops it has no op for (``--bug micrograd``).
    """

    program: Program
    traces: list[Trace]
    bug: Bug | None = None
    correct: dict[Value, float] = field(default_factory=dict)
    own: Mapping[Value, float] = field(default_factory=dict)
    nudged: Nudge | None = None
    paths: dict[str, Paths] | None = None
    reshaped: list[str] = field(default_factory=list)
    paths_cut: bool = False  # the listing of paths stopped at PATHS_BUDGET search steps


def run(
    program: Program,
    *,
    count: int = 1,
    bug: str | None = None,
    nudge_input: tuple[str, float] | None = None,
    with_paths: bool = False,
) -> Run:
    """``count`` backward passes without ``zero_grad`` (buggy with ``bug``), then the nudge of
    ``nudge_input`` (name, h) against the grads they left, and the paths of every input.

    Raises ProgramError for a nudge that fails (no such input, a domain error at ``x + h``) or
    buggy grads that are not finite.
    """
    refused = passes_refused(count, program)
    if refused is not None:
        raise ProgramError(refused)
    shape: list[str] = []
    if bug == "micrograd":
        shape = reshaped(program)
        program = micrograd_program(program)
    program.zero_grad()
    first = program.backward(trace=True)
    assert first is not None
    own = first.grads
    traces = [first]
    for _ in range(count - 1):
        trace = program.backward(trace=True)
        assert trace is not None
        traces.append(trace)
    correct: dict[Value, float] = {}
    if bug is not None:
        correct = {node: node.grad for node in program.nodes()}
        traces = passes(program, bug, count)  # sets every .grad to the buggy one
    broken = bug_for(bug, program, count) if bug else None
    result = Run(program, traces, broken, correct, own, reshaped=shape)
    if nudge_input is not None:
        name, h = nudge_input
        display, leaf = find_input(program, name)
        one = own.get(leaf, 0.0) if program.reaches_output(leaf) else 0.0
        right = one if bug is not None or count > 1 else None
        result.nudged = nudge(program, display, h, leaf.grad, right, count, bug)
    if with_paths:
        graph = prepare(program.output)
        result.paths = {}
        left = PATHS_BUDGET  # shared by every input: thousands of long paths stay quick
        for name, leaf in program.inputs.items():
            found = paths(program.output, leaf, graph=graph, budget=left)
            left -= found.steps
            result.paths[name] = found
            result.paths_cut = result.paths_cut or (found.count > len(found.shown) and not left)
    return result


# --- --json -------------------------------------------------------------------------------------


def document(result: Run) -> dict[str, Any]:
    """The ``--json`` document: :func:`stepgrad.cli.to_json` of the last pass, with ``passes``
    (each pass's steps, when there are several), ``bug`` (the buggy and the correct grads),
    ``nudge`` and ``paths`` as asked."""
    from ..cli import to_json

    program = result.program
    doc = to_json(program, result.traces[-1])
    ids = {node: i for i, node in enumerate(program.nodes())}
    if len(result.traces) > 1:
        last = len(result.traces)
        doc["passes"] = [
            {"number": k, "steps": doc["steps"] if k == last else to_json(program, trace)["steps"]}
            for k, trace in enumerate(result.traces, start=1)
        ]
    if result.bug is not None:
        bug = result.bug
        correct = result.correct

        def entry(node: Value) -> dict[str, Any]:
            right = correct.get(node, 0.0)
            return {"grad": node.grad, "correct": right, "differs": differs(node.grad, right)}

        doc["bug"] = {
            "name": bug.name,
            "rule": bug.rule,
            "passes": len(result.traces),
            "micrograd_builds": result.reshaped,
            "inputs": {name: entry(leaf) for name, leaf in program.inputs.items()},
            "nodes": [
                {"id": ids[node], **entry(node)} for node in program.nodes() if node.requires_grad
            ],
        }
    if result.nudged is not None:
        doc["nudge"] = result.nudged.to_json()
    if result.paths is not None:
        doc["paths"] = {
            name: {
                "count": found.count,
                "shown": [
                    {
                        "nodes": [ids[node] for node in path.nodes],
                        "indices": list(path.indices),
                        "locals": list(path.locals),
                        "product": path.product,
                        # a product below (above) what a float holds: its size, never a false 0
                        **({"log10_abs_product": path.log10} if path.beyond else {}),
                    }
                    for path in found.shown
                ],
                "truncated": found.truncated,
                "sum": found.total,
            }
            for name, found in result.paths.items()
        }
        if result.paths_cut:
            doc["paths_listing_stopped"] = PATHS_STOPPED
    return doc


# --- --print ------------------------------------------------------------------------------------


def print_run(result: Run, out: TextIO) -> None:
    """Print the program, every pass step by step, the grads (beside the correct ones in a bug
    mode), the gradient check, the nudge and the paths."""
    width = terminal_width(out)
    w = _Writer(
        out,
        width,
        color=width is not None and not os.environ.get("NO_COLOR"),
        ascii=wants_ascii(out),
    )
    program = result.program
    _print_header(program, w)
    bug = result.bug
    if bug is not None:
        w.line(w.seg(f"bug mode {bug.name}", "bold reverse"), ("  ", ""), w.seg(bug.rule))
        if result.reshaped:
            hidden = any(hides_nodes(form) for form in result.reshaped)
            w.line(
                w.seg(
                    f"micrograd builds {', '.join(result.reshaped)}: this is the graph as "
                    "micrograd builds it"
                    + (" (its hidden nodes keep old grads too)." if hidden else ".")
                )
            )
        w.blank()
    count = len(result.traces)
    base: dict[Value, float] = {}
    for number, trace in enumerate(result.traces, start=1):
        if count > 1:
            _pass_heading(w, number, count, bug)
        _print_steps(program, trace, w, base, bug, result.own)
        base = _ends(trace, base, bug)
        w.blank()
    _print_grads(result, w)
    _print_check(result, w)
    if result.nudged is not None:
        _print_nudge(result.nudged, w)
    if result.paths is not None:
        _print_paths(result, w)


def _ends(trace: Trace, base: Mapping[Value, float], bug: Bug | None) -> dict[Value, float]:
    grads = dict(base)
    root = trace.root
    grads[root] = 1.0 if bug is not None and bug.name == "micrograd" else base.get(root, 0.0) + 1
    for step in trace.steps:
        for edge in step.edges:
            grads[edge.parent] = edge.grad_after
    return grads


def _pass_heading(w: _Writer, number: int, count: int, bug: Bug | None) -> None:
    if number == 1:
        why = "from zero grads"
    elif bug is not None and bug.name == "micrograd":
        why = (
            "no zero_grad: micrograd's backward() sets the output's grad to 1 and every other "
            "node sends its whole accumulated grad down again"
        )
    else:
        why = "no zero_grad: this pass adds its grads to those of the passes before"
    w.line(w.seg(f"pass {number} of {count}", "bold reverse"), ("  ", ""), w.seg(why))


_INTRO = {
    None: "A node fires once every consumer has sent it its grad; it then sends upstream × "
    "local along each edge, and each input's grad += that.",
    "overwrite": "A node fires once every consumer has sent it its grad; it then sends "
    "upstream × local along each edge, and each input's grad = that (the bug: not +=).",
    "early": "A node fires the moment its first contribution arrives (the bug), depth first; "
    "it sends upstream × local along each edge, and each input's grad += that.",
    "micrograd": "In reverse topological order each node sends local × its whole grad along "
    "each edge, and each input's grad += that (micrograd 0.1.0's backward()).",
}


def _print_steps(
    program: Program,
    trace: Trace,
    w: _Writer,
    base: Mapping[Value, float],
    bug: Bug | None,
    own: Mapping[Value, float],
) -> None:
    steps = trace.steps
    if not steps:
        w.line("The output is a leaf: its grad is 1 and there is nothing to propagate.")
        return
    intro = _INTRO[bug.name if bug is not None else None]
    w.line(("backward pass", "bold"), w.seg(f": {plural(len(steps), 'step')}. {intro}"))
    seen = set(base)
    fired: set[Value] = set()
    rows = []
    for step, names in zip(steps, edge_names(program, steps), strict=True):
        rows.append(_edge_rows(program, step, seen, fired, w, bug, names))
        fired.add(step.node)
    stacked = w.width is not None and not all(_fits(w, row) for row in rows)
    fired = set()
    for number, (step, step_rows) in enumerate(zip(steps, rows, strict=True), start=1):
        verb = " goes on" if step.node in fired else " fires"
        fired.add(step.node)
        title = f"step {number} of {len(steps)}"
        heading = upstream(program, step, own) if bug is not None else None
        _print_step(program, w, step, title, verb, step_rows, stacked, heading)


def _edge_rows(
    program: Program,
    step: Step,
    seen: set[Value],
    fired: set[Value],
    w: _Writer,
    bug: Bug | None,
    names: list[str],
) -> list[list[tuple[str, str]]]:
    """Each edge of ``step`` as table cells: as :mod:`stepgrad.report` shows them (the inputs
    named by ``names``: ``x (1st of 2)``), with what the bug does instead where it differs
    (``=`` for ``+=``, firing at once)."""
    n = format_number
    rows = []
    for edge, name in zip(step.edges, names, strict=True):
        parent = edge.parent
        overwrote = bug is not None and bug.name == "overwrite" and parent in seen
        if parent not in seen:
            grads = f"— → {n(edge.grad_after)}"
        elif overwrote:  # = for +=: no sum, the note says what += gives
            grads = f"{n(edge.grad_before)} → {n(edge.grad_after)}"
        else:  # a sum, in numbers that add up as written (engine.numbers.worked)
            grads = worked_sum(edge.grad_before, edge.contribution, edge.grad_after)
        formula = local_formula(program, step, edge)
        note = edge_note(edge)
        if overwrote:
            note = f"= overwrote (+= gives {n(edge.grad_before + edge.contribution)}); {note}"
        if bug is not None and bug.name == "early" and parent.parents:
            if parent in fired:
                note = "fired already: not passed on"
            elif parent not in seen and edge.pending:
                note = f"fires at once, {edge.pending} more to come"
        seen.add(parent)
        local = n(edge.local)
        rows.append(
            [
                w.seg(name, "bold"),
                w.seg(formula),
                w.seg(local),
                w.seg(worked_product(step.upstream, edge.local, edge.contribution)),
                w.seg(grads),
                w.seg(note, "dim"),
            ]
        )
    return rows


def _print_grads(result: Run, w: _Writer) -> None:
    program = result.program
    n = format_number
    count = len(result.traces)
    after = f"after {count} passes" if count > 1 else "after the pass"
    if result.bug is None:
        w.line(("grads " + after, "bold"))
    else:
        w.line(
            w.seg(f"grads {after}, bug mode {result.bug.name}", "bold"),
            w.seg(" (✗: differs from the correct grad)"),
        )
    rows = []
    for node in shown_nodes(program):
        row = [w.seg(program.title(node), "bold"), w.seg(n(node.data)), w.seg(n(node.grad))]
        if result.bug is not None:
            right = result.correct.get(node, 0.0)
            bad = differs(node.grad, right)
            row += [w.seg(n(right)), w.seg("✗" if bad else "", "bold red" if bad else "")]
        rows.append(row)
    headers = ["name", "data", "grad"] + (["correct", ""] if result.bug is not None else [])
    if not w.table(headers, rows, right=frozenset({1, 2, 3})):
        for row in rows:
            parts = [row[0], ("  data ", ""), row[1], (", grad ", ""), row[2]]
            if len(row) > 3:
                parts += [(", correct ", ""), row[3], ("  ", ""), row[4]]
            w.line(*parts, indent=4)


def _print_check(result: Run, w: _Writer) -> None:
    """The gradient check of :mod:`stepgrad.report`, against the grads this run left: after
    ``k`` passes (correct or not) a correct grad is ``k`` times one pass's, so the finite
    differences are scaled by ``k``."""
    program = result.program
    inputs = {name: v for name, v in program.inputs.items() if v.requires_grad}
    if not inputs:
        return
    stack = len(result.traces)
    estimates = estimate_all(program.output, inputs, name=program.describe)
    checks = [
        judge(name, inputs[name].grad, est if stack == 1 else est.scaled(stack))
        for name, est in estimates.items()
    ]
    times = f"{stack} × " if stack > 1 else ""
    w.blank()
    w.line(
        ("gradient check", "bold"),
        w.seg(
            f": each input's grad against {times}{difference_quotient(program, divide=' / ')} "
            "(Ridders' method)"
            + (
                f"; after {stack} passes a correct grad is {stack} × one pass's"
                if stack > 1
                else ""
            )
        ),
    )
    checked = [c for c in checks if c.verdict != "unchecked"]
    rows = [_check_row(w, c) for c in checked]
    if not w.table(["input", "backprop", "finite difference", ""], rows, right=frozenset({1, 2})):
        for name, grad, numeric, verdict in rows:
            w.line(name, ("  backprop ", ""), grad, (", finite difference ", ""), numeric,
                   ("  ", ""), verdict)  # fmt: skip
    for check in checked:
        if check.reason:
            w.line(w.seg(f"  {check.name}: ", "bold"), w.seg(check.reason), indent=4)


def _print_nudge(nudged: Nudge, w: _Writer) -> None:
    w.blank()
    w.line(
        ("nudge", "bold"),
        w.seg(
            ": a grad is a sensitivity; move the input by h, run the forward pass again, compare"
        ),
    )
    for label, text in nudged.lines(
        f" (try --nudge {nudged.input}={format_number(nudged.h * 100)})"
    ):
        if label:
            w.line(w.seg(f"  {label:<10}"), w.seg(text), indent=12)
        else:
            w.line(w.seg(f"  {text}"), indent=2)


def _print_paths(result: Run, w: _Writer) -> None:
    program = result.program
    out = program.name(program.output)
    w.blank()
    names = list(result.paths or {})
    x = names[0] if names else "an input"  # the inputs' own names: a program may have no x
    others = ", and so for every input" if len(names) > 1 else ""
    w.line(
        ("paths", "bold"),
        w.seg(
            f": the chain rule as a sum over paths. ∂{out}/∂{x} is the sum, over every path from "
            f"{x} to {out}, of the product of the local derivatives along it{others} (at most "
            f"{SHOWN} listed per input, the largest |product| first)"
        ),
    )
    if result.paths_cut:
        w.line(w.seg(f"{PATHS_STOPPED[0].upper()}{PATHS_STOPPED[1:]}."))
    for name, found in (result.paths or {}).items():
        w.blank()
        listed = len(found.shown)
        count = found.count
        if count == 0:
            w.line(w.seg(name, "bold"), w.seg(f": no path leads to {out}; its grad is 0"))
            continue
        total = path_total(found, format_number)
        whose = "one correct pass's grad" if result.bug is not None else "one pass's grad"
        if found.truncated and not listed:
            head = (
                f": {plural(count, 'path')}, not listed (the listing stopped: see above); "
                f"{'its product is' if count == 1 else 'their products add up to'} {total} "
                f"({whose})"
            )
        elif found.truncated:
            head = (
                f": {count:,} paths; the {listed} largest listed, {count - listed:,} not; all "
                f"{count:,} products add up to {total} ({whose})"
            )
        else:
            adds = "its product is" if count == 1 else "their products add up to"
            head = f": {plural(count, 'path')}; {adds} {total} ({whose})"
        w.line(w.seg(name, "bold"), w.seg(head))
        for path, writer in zip(found.shown, writers(found), strict=True):
            w.line(
                w.seg(f"  {describe_path(path, program.name)}"),
                w.seg(f":  {product_text(path, writer.factor, writer.product)}"),
                indent=6,
            )
