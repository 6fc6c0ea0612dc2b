"""A tiny training loop, run once with and once without ``zero_grad``, as plain Python.

The loop is the one every course writes::

    for step in range(steps):
        loss = forward()          # the program, at the current parameter values
        zero_grad()               # ... or not
        loss.backward()           # adds this iteration's gradient to every p.grad
        for p in params:
            p.data -= lr * p.grad

Each iteration parses the program again at the current parameter values (a fresh graph, as a
real forward pass builds one). Without ``zero_grad`` the fresh parameters start from the
``.grad`` the previous iteration left, and the engine's ``backward()`` adds to it, so the grad
the update uses at iteration ``k`` is the sum of the gradients of iterations ``1..k``.

No Textual here: the CLI (``--print``, ``--json``) and the app's
:class:`~stepgrad.screens.training.TrainingScreen` both read :class:`Comparison`.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.numbers import format_number
from engine.parse import Program, ProgramError, parse

__all__ = [
    "EXPLANATION",
    "WENT_UP",
    "Comparison",
    "Iteration",
    "Run",
    "Training",
    "comparison_json",
    "compare",
    "format_comparison",
    "heading",
    "run_training",
]

EXPLANATION = (
    "backward() adds each new gradient to p.grad; it never replaces it. With zero_grad each "
    "update uses only this iteration's gradient, which shrinks as the loss falls, so the steps "
    "shrink too. Without it, p.grad is the sum of every gradient so far: the steps stay big, and "
    "once the gradient changes sign (the parameters have passed the best point) the old "
    "gradients in the sum still push the old way, so the parameters overshoot and the loss goes "
    "up instead of down."
)
"""What goes wrong without ``zero_grad``, in plain words."""

RUN_TITLES = {
    True: "with zero_grad: p.grad is reset to 0, so each update uses this iteration's gradient",
    False: "without zero_grad: p.grad = what the last iteration left + this iteration's own",
}
"""A title for each run, by its ``zero_grad``."""

WENT_UP = "▲ loss went up"
"""The marker for a loss higher than the one before it (not colour alone)."""


@dataclass(frozen=True)
class Training:
    """A training loop an example can carry: which inputs to update, how fast, how often.

    Attributes:
        params: the program's inputs that the loop updates; every other input stays fixed.
        lr: the learning rate in ``p.data -= lr * p.grad``.
        steps: how many iterations (forward, backward, update) to run.
    """

    params: tuple[str, ...]
    lr: float
    steps: int


@dataclass(frozen=True)
class Iteration:
    """One iteration: forward, backward, update.

    Attributes:
        number: 1 for the first iteration.
        loss: the program's output at ``data``, before the update.
        data: each parameter's value in this forward pass.
        own: this iteration's own gradient, d loss / d p at ``data``.
        grad: ``p.grad`` as the update reads it: ``own``, or without ``zero_grad`` the sum of
            every iteration's ``own`` so far.
        after: ``data - lr * grad``, the value the next iteration starts from.
    """

    number: int
    loss: float
    data: Mapping[str, float]
    own: Mapping[str, float]
    grad: Mapping[str, float]
    after: Mapping[str, float]


@dataclass(frozen=True)
class Run:
    """The whole loop, with or without ``zero_grad``.

    Attributes:
        zero_grad: whether every iteration called ``zero_grad`` before ``backward``.
        iterations: one record per iteration.
        final_loss: the loss at the parameters the last update left.
        final: those parameters.
    """

    zero_grad: bool
    iterations: tuple[Iteration, ...]
    final_loss: float
    final: Mapping[str, float]

    @property
    def losses(self) -> list[float]:
        """The loss before each update, then the loss after the last one (``steps + 1``)."""
        return [it.loss for it in self.iterations] + [self.final_loss]

    def went_up(self) -> list[bool]:
        """For each of :attr:`losses`: is it higher than the one before it?"""
        losses = self.losses
        return [False] + [b > a for a, b in zip(losses, losses[1:], strict=False)]


@dataclass(frozen=True)
class Comparison:
    """The same loop from the same start, with and without ``zero_grad``."""

    source: str
    values: Mapping[str, float]
    spec: Training
    with_zero_grad: Run
    without_zero_grad: Run

    @property
    def runs(self) -> tuple[Run, Run]:
        return (self.with_zero_grad, self.without_zero_grad)

    def lesson(self) -> str:
        """One sentence on what happened in the two runs, from their numbers."""
        return (
            f"With zero_grad {_summary(self.with_zero_grad)}; "
            f"without it {_summary(self.without_zero_grad)}."
        )


def _summary(run: Run) -> str:
    losses = run.losses
    start, end = format_number(losses[0]), format_number(losses[-1])
    went_up = run.went_up()
    iterations = [str(i + 1) for i, up in enumerate(went_up[:-1]) if up]
    if not iterations and not went_up[-1]:
        fell = all(b < a for a, b in zip(losses, losses[1:], strict=False))
        return f"the loss {'fell at every step' if fell else 'never went up'}, {start} → {end}"
    where = []
    if iterations:
        plural = "s" if len(iterations) > 1 else ""
        where.append(f"at iteration{plural} {', '.join(iterations)}")
    if went_up[-1]:
        where.append("after the last step")
    if losses[-1] > losses[0]:
        verdict = ", higher than it started"
    elif losses[-1] > min(losses):
        verdict = f", above its best ({format_number(min(losses))})"
    else:
        verdict = ""
    return f"the loss went up {' and '.join(where)} and ended at {end}{verdict}"


# --- running the loop ------------------------------------------------------------------------


def run_training(
    source: str,
    values: Mapping[str, float] | None,
    spec: Training,
    *,
    zero_grad: bool,
) -> Run:
    """Run ``spec.steps`` iterations of SGD on ``spec.params`` of the program ``source``.

    ``values`` overrides the program's inputs, as on the command line; the parameters start
    there. Raises :class:`ProgramError` for a bad program or spec, or if an iteration's forward
    or backward pass fails (the message says which iteration).
    """
    _check_spec(spec)
    current = {name: float(value) for name, value in (values or {}).items()}
    carried = dict.fromkeys(spec.params, 0.0)  # p.grad as the last iteration left it
    iterations: list[Iteration] = []
    for number in range(1, spec.steps + 1):
        where = f"training {'with' if zero_grad else 'without'} zero_grad, iteration {number}"
        program = _parse(source, current, where)
        params = {}
        for name in spec.params:
            if name not in program.inputs:
                raise ProgramError(
                    f"{name} is not an input of the program, so it cannot be trained",
                    hint="inputs: " + ", ".join(program.inputs),
                )
            params[name] = program.inputs[name]
        if not zero_grad:  # nobody reset .grad: the new pass adds to what is there
            for name, param in params.items():
                param.grad = carried[name]
        try:
            trace = program.backward(trace=True)
        except ProgramError as err:
            raise _located(err, where) from None
        assert trace is not None
        data = {name: param.data for name, param in params.items()}
        own = {name: trace.grads.get(param, 0.0) for name, param in params.items()}
        grad = {name: param.grad for name, param in params.items()}
        after = {name: data[name] - spec.lr * grad[name] for name in spec.params}
        for name, value in after.items():
            if not math.isfinite(value):
                raise ProgramError(f"{where}: the update made {name} = {value}")
        iterations.append(Iteration(number, program.output.data, data, own, grad, after))
        carried = grad
        current.update({name: after[name] for name in spec.params})
    final = _parse(source, current, "training, after the last update")
    params_after = {name: current[name] for name in spec.params}
    return Run(zero_grad, tuple(iterations), final.output.data, params_after)


def compare(source: str, values: Mapping[str, float] | None, spec: Training) -> Comparison:
    """The loop of ``spec`` from the same start, once with and once without ``zero_grad``."""
    return Comparison(
        source,
        dict(values or {}),
        spec,
        run_training(source, values, spec, zero_grad=True),
        run_training(source, values, spec, zero_grad=False),
    )


def _check_spec(spec: Training) -> None:
    if not spec.params:
        raise ProgramError("a training loop needs at least one parameter to update")
    if spec.steps < 1:
        raise ProgramError(f"a training loop needs at least one step ({spec.steps} given)")
    if not math.isfinite(spec.lr):
        raise ProgramError(f"the learning rate must be a finite number ({spec.lr} given)")


def _parse(source: str, values: dict[str, float], where: str) -> Program:
    try:
        return parse(source, values)
    except ProgramError as err:
        raise _located(err, where) from None


def _located(err: ProgramError, where: str) -> ProgramError:
    return ProgramError(f"{where}: {err.message}", err.span, err.hint, err.source)


# --- text and JSON ---------------------------------------------------------------------------


def _columns(rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(row[i]) for row in rows if i < len(row)) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


def _fixed_inputs(comparison: Comparison) -> list[str]:
    try:
        program = parse(comparison.source, comparison.values)
    except ProgramError:
        return []
    return [name for name in program.inputs if name not in comparison.spec.params]


def heading(comparison: Comparison) -> str:
    """``5 steps of p.data -= 0.2 * p.grad on w, b; x stays fixed``."""
    spec = comparison.spec
    text = (
        f"{spec.steps} step{'s' if spec.steps != 1 else ''} of "
        f"p.data -= {format_number(spec.lr)} * p.grad on {', '.join(spec.params)}"
    )
    fixed = _fixed_inputs(comparison)
    if fixed:
        text += f"; {', '.join(fixed)} {'stays' if len(fixed) == 1 else 'stay'} fixed"
    return text


def format_comparison(comparison: Comparison, width: int = 100) -> list[str]:
    """The comparison as plain text lines, for ``--print``: the losses side by side, each
    run's updates, then the lesson and the explanation wrapped to ``width`` columns."""
    spec = comparison.spec
    count = spec.steps + 1
    lines = [f"training loop: {heading(comparison)}", ""]
    rows = [["iteration", "loss with zero_grad", "", "loss without zero_grad", ""]]
    for i in range(count):
        cells = ["after" if i == count - 1 else str(i + 1)]
        for run in comparison.runs:
            cells += [format_number(run.losses[i]), WENT_UP if run.went_up()[i] else ""]
        rows.append(cells)
    lines += _columns(rows, right={1, 3})
    for run in comparison.runs:
        lines.append("")
        lines.append(RUN_TITLES[run.zero_grad])
        header = ["iteration", "loss"]
        for name in spec.params:
            own = [] if run.zero_grad else [f"own ∂loss/∂{name}"]
            header += [name, *own, f"{name}.grad", f"{name} after"]
        rows = [header]
        for it in run.iterations:
            row = [str(it.number), format_number(it.loss)]
            for name in spec.params:
                own = [] if run.zero_grad else [format_number(it.own[name])]
                row += [format_number(it.data[name]), *own, format_number(it.grad[name])]
                row.append(format_number(it.after[name]))
            rows.append(row)
        per_param = (len(header) - 2) // len(spec.params)
        final = ["after", format_number(run.final_loss)]
        for name in spec.params:
            final += [format_number(run.final[name])] + [""] * (per_param - 1)
        rows.append(final)
        lines += _columns(rows, right=set(range(1, len(header))))
    lines.append("")
    lines += textwrap.wrap(comparison.lesson(), width)
    lines.append("")
    lines += textwrap.wrap(EXPLANATION, width)
    return lines


def _run_json(run: Run) -> dict[str, Any]:
    went_up = run.went_up()
    return {
        "zero_grad": run.zero_grad,
        "iterations": [
            {
                "iteration": it.number,
                "loss": it.loss,
                "loss_went_up": went_up[i],
                "params": {
                    name: {
                        "data": it.data[name],
                        "own_grad": it.own[name],
                        "grad": it.grad[name],
                        "after": it.after[name],
                    }
                    for name in it.data
                },
            }
            for i, it in enumerate(run.iterations)
        ],
        "final": {
            "loss": run.final_loss,
            "loss_went_up": went_up[-1],
            "params": dict(run.final),
        },
    }


def comparison_json(comparison: Comparison) -> dict[str, Any]:
    """The comparison for ``--json``: the spec, both runs, the lesson and the explanation."""
    spec = comparison.spec
    return {
        "params": list(spec.params),
        "lr": spec.lr,
        "steps": spec.steps,
        "update": "p.data -= lr * p.grad",
        "with_zero_grad": _run_json(comparison.with_zero_grad),
        "without_zero_grad": _run_json(comparison.without_zero_grad),
        "lesson": comparison.lesson(),
        "explanation": EXPLANATION,
    }
