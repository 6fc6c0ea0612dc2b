"""A tiny training loop, run once with and once without ``zero_grad``, as plain Python.

The loop is the one every course writes::

    for step in range(steps):
        loss = forward()          # the program, at the current parameter values
        zero_grad()               # ... or not
        loss.backward()           # adds this iteration's gradient to every p.grad
        for p in params:
            p.data -= lr * p.grad

The program is parsed once; each iteration's forward pass recomputes its graph in place at
the new parameter values (:func:`stepgrad.forward.recompute`, the same op table and the same
numbers as a fresh parse). Without ``zero_grad`` nobody resets ``.grad``, and the engine's
``backward()`` adds to it, so the grad the update uses at iteration ``k`` is the sum of the
gradients of iterations ``1..k``.

Any program trains: its output is the loss to minimise, and its parameters are the inputs
marked ``param(...)`` in the program, else an example's own choice, else every input not marked
``fixed(...)`` (:func:`training_for`). :func:`gradient_step` is one update, for the app's ``u``.

No Textual here: the CLI (``--train``, ``--print``, ``--json``) and the app's
:class:`~stepgrad.screens.training.TrainingScreen` both read :class:`Comparison`.
"""

from __future__ import annotations

import math
import textwrap
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from engine import Value
from engine.numbers import format_number
from engine.parse import Program, ProgramError, clip, name_list, parse

from .forward import recompute

__all__ = [
    "DEFAULT_LR",
    "DEFAULT_STEPS",
    "EXPLANATION",
    "MAX_NODE_STEPS",
    "MAX_STEPS",
    "WENT_UP",
    "Cancelled",
    "Comparison",
    "TooMuchWork",
    "GradientStep",
    "Iteration",
    "Run",
    "Training",
    "check_work",
    "comparison_json",
    "compare",
    "default_params",
    "distinct_params",
    "format_comparison",
    "gradient_step",
    "heading",
    "lr_text",
    "most_steps",
    "read_lr",
    "read_steps",
    "run_training",
    "training_for",
]

DEFAULT_LR = 0.1
"""The learning rate when neither the user nor the example gives one."""
DEFAULT_STEPS = 20
"""The number of training steps when neither the user nor the example gives one."""
MAX_STEPS = 10_000
"""The most steps one training request runs (on a small program; see :data:`MAX_NODE_STEPS`)."""
MAX_NODE_STEPS = 300_000
"""The most node-steps (steps x the graph's nodes) one training request runs: each step is a
forward and a backward pass over every node, in both runs, and its record goes to the output.
Measured on a slow 2-core machine, the worst programs at this bound (20,000 characters: 2,638
inputs summed, 56 steps) answer ``--train --json`` and ``--print`` in 4.2 s (at 400,000 they took
5.2 s, over the 5 s every mode keeps); the 324-node MLP may take 925 steps. Without it 10,000
steps of the MLP took 17 s and 1.4 GB, and of 1,850 squares over a minute."""

EXPLANATION = (
    "backward() adds each new gradient to p.grad; it never replaces it. With zero_grad each "
    "update uses only this iteration's gradient: where the loss flattens out near a minimum, "
    "that gradient shrinks and the steps shrink with it. Without it, p.grad is the sum of every "
    "gradient so far: the steps stay big, and "
    "once the gradient changes sign (the parameters have passed the best point) the old "
    "gradients in the sum still push the old way, so the parameters can overshoot and the loss "
    "go up instead of down."
)
"""What goes wrong without ``zero_grad``, in plain words."""

RUN_TITLES = {
    True: "with zero_grad: p.grad is reset to 0, so each update uses this iteration's gradient",
    False: "without zero_grad: p.grad = what the last iteration left + this iteration's own",
}
"""A title for each run, by its ``zero_grad``."""

WENT_UP = "▲ loss went up"
"""The marker for a loss higher than the one before it (not colour alone)."""


class Training(NamedTuple):
    """A training loop an example can carry: which inputs to update, how fast, how often.

    Attributes:
        params: the program's inputs that the loop updates; every other input stays fixed.
        lr: the learning rate in ``p.data -= lr * p.grad``.
        steps: how many iterations (forward, backward, update) to run.
    """

    params: tuple[str, ...]
    lr: float
    steps: int


class Iteration(NamedTuple):
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


class Run(NamedTuple):
    """The whole loop, with or without ``zero_grad``.

    Attributes:
        zero_grad: whether every iteration called ``zero_grad`` before ``backward``.
        iterations: one record per iteration.
        final_loss: the loss at the parameters the last update left.
        final: those parameters.
        unused: the parameters the loss does not depend on (their grad is 0 at every step).
    """

    zero_grad: bool
    iterations: tuple[Iteration, ...]
    final_loss: float
    final: Mapping[str, float]
    unused: tuple[str, ...] = ()

    @property
    def losses(self) -> list[float]:
        """The loss before each update, then the loss after the last one (``steps + 1``)."""
        return [it.loss for it in self.iterations] + [self.final_loss]

    def went_up(self) -> list[bool]:
        """For each of :attr:`losses`: is it higher than the one before it?"""
        losses = self.losses
        return [False] + [b > a for a, b in zip(losses, losses[1:], strict=False)]


class Comparison(NamedTuple):
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
        """What happened in the two runs, from their numbers: each run's summary, then, when
        the run without ``zero_grad`` descended further, why (the summed gradients act like
        momentum), and when even the run with it ended higher than it started, that this lr is
        too large for the program."""
        reset, kept = self.with_zero_grad, self.without_zero_grad
        text = f"With zero_grad {_summary(reset)}; without it {_summary(kept)}."
        unused = reset.unused
        if unused:  # trained, and nothing said: a student who marked the wrong variable
            start = reset.iterations[0].data if reset.iterations else {}
            if len(unused) == 1:
                (name,) = unused
                where = f" at {format_number(start[name])}" if name in start else ""
                note = (
                    f"{name} does not reach the loss: its grad is 0 at every step, so training "
                    f"leaves it{where}."
                )
            else:
                note = (
                    f"{names_text(unused)} do not reach the loss: their grads are 0 at every "
                    "step, so training leaves them where they started."
                )
            text = f"{note} {text}"
        if reset.losses[-1] > reset.losses[0]:  # plain gradient descent went uphill: lr too large
            text += (
                " Even the run with zero_grad ended above its start: this lr is too large for "
                "this program, its steps overshoot (try a smaller lr)."
            )
        descended = kept.losses[-1] < kept.losses[0]
        if descended and kept.losses[-1] < reset.losses[-1]:  # the sums can act like momentum
            text += (
                " Here the run without zero_grad ended lower: adding up old gradients can speed "
                "the descent at this lr, as momentum does, but its steps no longer follow this "
                "iteration's gradient"
            )
            if any(kept.went_up()):  # it overshot already, at this lr
                text += ", and at this lr they already overshoot: its loss went up."
            else:
                text += ", and at a larger lr they can overshoot (try it)."
        return text


def _ranges(numbers: list[int]) -> list[str]:
    """Increasing numbers with runs of three or more written as ranges: 2, 4, 13–30."""
    out: list[str] = []
    start = 0
    for i in range(1, len(numbers) + 1):
        if i == len(numbers) or numbers[i] != numbers[i - 1] + 1:
            run = numbers[start:i]
            if len(run) >= 3:
                out.append(f"{run[0]}–{run[-1]}")
            else:
                out += [str(n) for n in run]
            start = i
    return out


MANY_RISES = 12
"""Past this many separate rises (a range of them counts once), the lesson says how many and
where the first and last were, not each one."""


def _summary(run: Run) -> str:
    losses = run.losses
    start, end = format_number(losses[0]), format_number(losses[-1])
    went_up = run.went_up()
    iterations = _ranges([i + 1 for i, up in enumerate(went_up[:-1]) if up])
    if not iterations and not went_up[-1]:
        fell = all(b < a for a, b in zip(losses, losses[1:], strict=False))
        return f"the loss {'fell at every step' if fell else 'never went up'}, {start} → {end}"
    where = []
    if len(iterations) > MANY_RISES:  # a list this long is a wall of numbers: how many, where
        rises = [i + 1 for i, up in enumerate(went_up[:-1]) if up]
        steps = len(losses) - 1
        where.append(
            f"at {len(rises):,} of the {steps:,} iterations (the first {rises[0]}, the last "
            f"{rises[-1]})"
        )
    elif iterations:
        plural = "s" if len(iterations) > 1 or "–" in iterations[0] else ""  # 3–5 is three
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


class TooMuchWork(ProgramError):
    """A training request over :data:`MAX_NODE_STEPS` (one line, naming the limit)."""


class Cancelled(ProgramError):
    """A run stopped because its ``cancelled`` event was set (the app's window closed)."""


def most_within(budget: int, cap: int, nodes: int) -> int:
    """The most repeats (training steps, passes) of work over a graph of ``nodes`` nodes that
    ``budget`` node-repeats allow, at most ``cap`` and at least 1."""
    return max(1, min(cap, budget // max(nodes, 1)))


_ONE = {"passes": "pass", "steps": "step"}


def over_budget(asked: str, count: int, nodes: int, budget: int, cap: int, unit: str) -> str | None:
    """The line that refuses ``count`` ``unit`` (``steps``, ``passes``) over a graph of
    ``nodes`` nodes, asked for as ``asked`` (``--steps 10,000``), when that is over ``budget``
    node-``unit``; None when it is not. One is always allowed: it is no more than one pass."""
    if count <= 1 or count * nodes <= budget:
        return None
    most = most_within(budget, cap, nodes)
    # "1 passes" reads wrong: the singular of steps and passes
    allowed = f"{most:,} {unit}" if most != 1 else f"1 {_ONE.get(unit, unit)}"
    return (
        f"{asked} on {nodes:,} nodes is {count * nodes:,} node-{unit}; the limit is {budget:,}: "
        f"use at most {allowed} on this program"
    )


def most_steps(nodes: int) -> int:
    """The most steps :data:`MAX_NODE_STEPS` allows on a graph of ``nodes`` nodes (at least 1)."""
    return most_within(MAX_NODE_STEPS, MAX_STEPS, nodes)


def check_work(steps: int, nodes: int, what: str = "steps") -> None:
    """Raise :class:`TooMuchWork` if ``steps`` training steps on a graph of ``nodes`` nodes are
    over :data:`MAX_NODE_STEPS` (one step is always allowed); ``what``: how the message names
    the steps (``--steps``)."""
    refused = over_budget(f"{what} {steps:,}", steps, nodes, MAX_NODE_STEPS, MAX_STEPS, "steps")
    if refused is not None:
        raise TooMuchWork(refused)


def run_training(
    source: str,
    values: Mapping[str, float] | None,
    spec: Training,
    *,
    zero_grad: bool,
    cancelled: threading.Event | None = None,
) -> Run:
    """Run ``spec.steps`` iterations of SGD on ``spec.params`` of the program ``source``.

    ``values`` overrides the program's inputs, as on the command line; the parameters start
    there. Raises :class:`ProgramError` for a bad program or spec, :class:`TooMuchWork` for
    more than :data:`MAX_NODE_STEPS`, or if an iteration's backward pass fails or its update
    leaves a loss that is not a finite number (the message says which run and which step);
    :class:`Cancelled` as soon as ``cancelled`` is set (checked before every step).
    """
    _check_spec(spec)
    run_name = f"training {'with' if zero_grad else 'without'} zero_grad"
    program = _parse(source, dict(values or {}), run_name)
    params = _params(program, spec.params)
    order = program.nodes()
    check_work(spec.steps, len(order))
    program.zero_grad()
    iterations: list[Iteration] = []
    for number in range(1, spec.steps + 1):
        if cancelled is not None and cancelled.is_set():
            raise Cancelled(f"{run_name}: cancelled at step {number}")
        if zero_grad:
            program.zero_grad()
        # without zero_grad, .grad still holds what the last iteration left: backward adds to it
        try:
            own, grad = _pass(program, params)
        except ProgramError as err:
            raise _located(err, f"{run_name}, step {number}") from None
        data = {name: param.data for name, param in params.items()}
        after = {name: data[name] - spec.lr * grad[name] for name in spec.params}
        if number == 1:
            _check_moves(spec.lr, data, grad, after)
        iterations.append(Iteration(number, program.output.data, data, own, grad, after))
        _update(program, params, after, order, f"step {number}", f"{run_name}: ")
    final = {name: param.data for name, param in params.items()}
    unused = tuple(name for name, param in params.items() if not program.reaches_output(param))
    return Run(zero_grad, tuple(iterations), program.output.data, final, unused)


def _pass(
    program: Program, params: Mapping[str, Value]
) -> tuple[dict[str, float], dict[str, float]]:
    """One backward pass: each parameter's gradient in this pass, and its ``.grad`` after it
    (the same unless ``.grad`` held something from earlier passes, which the pass adds to).

    The pass records no trace (recording every edge of every step cost more than the pass):
    the parameters' grads are set to 0 for it, so that each then holds this pass's own, and
    are added to what they held afterwards, as the engine adds them (``before + own``, checked
    for overflow as it checks it; the other nodes' grads it adds itself)."""
    from engine import GradientError

    before = {name: param.grad for name, param in params.items()}
    for param in params.values():
        param.grad = 0.0
    try:
        program.backward(trace=False)
    except ProgramError:
        for name, param in params.items():
            param.grad = before[name]
        raise
    own = {name: param.grad for name, param in params.items()}
    for name, param in params.items():
        if not before[name]:
            continue
        total = before[name] + own[name]
        if not math.isfinite(total):
            raise program._gradient_error(  # the engine's own words for it
                GradientError.accumulated(param, own[name], before[name])
            )
        param.grad = total
    return own, {name: param.grad for name, param in params.items()}


def _params(program: Program, names: tuple[str, ...]) -> dict[str, Value]:
    distinct_params(names, program)
    params = {}
    for name in names:
        if name not in program.inputs:
            raise ProgramError(
                f"{clip(name)} is not an input of the program, so it cannot be trained",
                hint="inputs: " + name_list(program.inputs),
            )
        params[name] = program.inputs[name]
    return params


def distinct_params(names: Sequence[str], program: Program | None = None) -> None:
    """Raise one clear :class:`ProgramError` if two of ``names`` are one parameter: the same
    name twice (``--params w,w``) or, given the ``program``, two spellings of one input as
    :meth:`~engine.parse.Program.input_named` reads them (``x`` and ``ｘ``). Trained twice, it
    would be updated twice per step and counted twice in ``Σ p.grad²``."""
    seen: dict[str, str] = {}
    for name in names:
        key = (program.input_named(name) or name) if program is not None else name
        if key not in seen:
            seen[key] = name
            continue
        first = seen[key]
        if first == name:
            message = f"{clip(name)} is given twice as a parameter"
        else:
            message = f"{clip(first)} and {clip(name)} are one input ({clip(key)}), given twice"
        raise ProgramError(message, hint="give each parameter once")


def _check_moves(
    lr: float, before: Mapping[str, float], grad: Mapping[str, float], after: Mapping[str, float]
) -> None:
    """Refuse an lr too small to move any parameter (``p.data - lr * p.grad == p.data`` in
    floating point for every one, though some grad is not 0), in one line: the loop would run
    and show nothing changing. As the nudge refuses an h too small to move ``x``."""
    if all(g == 0 for g in grad.values()) or any(after[n] != before[n] for n in before):
        return
    if len(before) == 1:
        ((name, value),) = before.items()
        what = f"{clip(name)} = {format_number(value)}"
        same = f"{clip(name)} - lr * {clip(name)}.grad is {clip(name)} itself"
    else:
        what, same = "any parameter", "p.data - lr * p.grad is p.data itself for each of them"
    raise ProgramError(
        f"lr = {lr!r} is too small to move {what}: in floating point {same}, so nothing would "
        "change (try lr = 0.1)"
    )


def _update(
    program: Program,
    params: Mapping[str, Value],
    after: Mapping[str, float],
    order: list[Value],
    label: str,
    prefix: str = "",
) -> None:
    """Set the parameters to ``after`` and run the forward pass again; if the loss is then not
    a finite number, raise one clear :class:`ProgramError` saying so (``label``: which step,
    ``prefix``: which run), with the parameters and the graph back as they were."""
    for name, value in after.items():
        if not math.isfinite(value):
            raise ProgramError(
                f"{prefix}{label} made {name} = {value}, so the loss is not a finite number "
                "after it",
                hint="try a smaller lr",
            )
    before = {name: param.data for name, param in params.items()}
    for name, param in params.items():
        param.data = after[name]
    try:
        recompute(program, order)
    except ProgramError as err:
        for name, param in params.items():
            param.data = before[name]
        recompute(program, order)  # it ran at these values before: it cannot fail
        raise ProgramError(  # one line: the message names the subexpression and its values
            f"{prefix}after {label} the loss is not a finite number: {err.message}",
            hint="try a smaller lr",
        ) from None


def compare(
    source: str,
    values: Mapping[str, float] | None,
    spec: Training,
    *,
    cancelled: threading.Event | None = None,
) -> Comparison:
    """The loop of ``spec`` from the same start, once with and once without ``zero_grad``;
    ``cancelled``: stop (raise :class:`Cancelled`) as soon as it is set."""
    return Comparison(
        source,
        dict(values or {}),
        spec,
        run_training(source, values, spec, zero_grad=True, cancelled=cancelled),
        run_training(source, values, spec, zero_grad=False, cancelled=cancelled),
    )


def default_params(program: Program, preferred: Sequence[str] = ()) -> tuple[str, ...]:
    """The inputs a gradient step updates when the user chose none: those the program marks
    ``param(...)``; else ``preferred`` (an example's choice) if they are all inputs; else every
    input not marked ``fixed(...)``, in program order."""
    marks = program.marks
    marked = tuple(name for name, node in program.inputs.items() if marks.get(node) == "param")
    if marked:
        return marked
    if preferred and all(name in program.inputs for name in preferred):
        return tuple(preferred)
    return tuple(name for name, node in program.inputs.items() if marks.get(node) != "fixed")


def training_for(
    program: Program,
    example: object = None,
    *,
    params: Sequence[str] | None = None,
    lr: float | None = None,
    steps: int | None = None,
) -> Training:
    """What ``t``, ``u`` and ``--train`` run on ``program``: each of ``params``, ``lr`` and
    ``steps`` as given, else as the example's ``train`` (or ``training``) loop has it, else
    :func:`default_params`, :data:`DEFAULT_LR` and :data:`DEFAULT_STEPS`. Not checked here:
    :func:`compare` and :func:`gradient_step` refuse a bad one in one line."""
    spec: Training | None = getattr(example, "train", None) or getattr(example, "training", None)
    return Training(
        tuple(params)
        if params is not None
        else default_params(program, spec.params if spec else ()),
        lr if lr is not None else spec.lr if spec else DEFAULT_LR,
        steps if steps is not None else spec.steps if spec else DEFAULT_STEPS,
    )


class GradientStep(NamedTuple):
    """One update ``p.data -= lr * p.grad`` and the forward pass after it (the app's ``u``).

    Attributes:
        number: 1 for the first step since the program was loaded.
        lr: the learning rate.
        params: the parameters updated.
        before, grad, after: each parameter's data before, the ``p.grad`` it used, and after.
        loss_before, loss_after: the output before the step and after it.
        predicted_change: the first-order prediction of the change, ``Σ ∂loss/∂p · Δp``; after
            one backward pass ``p.grad`` is ``∂loss/∂p``, so it is ``-lr · Σ p.grad²``.
        passes: how many backward passes ``p.grad`` holds (2 after ``b`` without ``zero_grad``:
            the step is then twice as long as the gradient says).
    """

    number: int
    lr: float
    params: tuple[str, ...]
    before: Mapping[str, float]
    grad: Mapping[str, float]
    after: Mapping[str, float]
    loss_before: float
    loss_after: float
    predicted_change: float
    passes: int = 1

    @property
    def predicted(self) -> float:
        """The loss the first-order prediction expects after the step."""
        return self.loss_before + self.predicted_change

    @property
    def change(self) -> float:
        return self.loss_after - self.loss_before


def gradient_step(
    program: Program,
    params: Sequence[str],
    grad: Mapping[str, float],
    own: Mapping[str, float],
    lr: float,
    *,
    number: int = 1,
    passes: int = 1,
) -> GradientStep:
    """Apply ``p.data -= lr * p.grad`` to ``params`` of ``program`` (in place) and run its
    forward pass again.

    ``grad`` is each parameter's ``p.grad`` as the update reads it; ``own`` the gradient of one
    backward pass at these values (the same, unless ``grad`` holds ``passes`` > 1 of them), for
    the first-order prediction. Raises :class:`ProgramError`, with nothing changed, for no
    parameters, an lr that is not a positive number, or a loss that is not finite after the step.
    """
    names = tuple(params)
    _check_spec(Training(names, lr, 1))
    nodes = _params(program, names)
    before = {name: node.data for name, node in nodes.items()}
    after = {name: before[name] - lr * grad[name] for name in names}
    _check_moves(lr, before, {name: grad[name] for name in names}, after)
    loss_before = program.output.data
    _update(program, nodes, after, program.nodes(), f"gradient step {number}")
    predicted = sum(-lr * grad[name] * own[name] for name in names)
    return GradientStep(
        number,
        lr,
        names,
        before,
        {name: grad[name] for name in names},
        after,
        loss_before,
        program.output.data,
        predicted,
        passes,
    )


def whole_number(text: str) -> int | None:
    """``text`` (spaces around it allowed) as a whole number written with the ASCII digits 0-9,
    else None: ``３`` and ``²`` are digits to ``str.isdigit`` (and ``int`` reads ``３`` as 3),
    ``1_000`` and ``+3`` are numbers to ``int``; none of them is one here."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return int(text)


def _without_underscores(text: str, read: Callable[[str], object]) -> str | None:
    """For ``1_0``: the hint ``write it without underscores: 10`` if ``read`` takes the text
    without them (the engine's own literals allow ``1_000``; these fields, as ``--passes``, do
    not), else None."""
    if "_" not in text:
        return None
    plain = text.replace("_", "")
    try:
        read(plain)
    except (ProgramError, ValueError):
        return None
    return f"write it without underscores: {plain}"


def read_steps(text: str, name: str = "steps") -> int:
    """``text`` as a number of training steps: a whole number from 1 to :data:`MAX_STEPS`
    written with the digits 0-9 (as :func:`whole_number`); else one :class:`ProgramError` line
    naming the field (``name``: ``steps`` in the window, ``--steps`` on the command line)."""
    steps = whole_number(text)
    if steps is None or not 1 <= steps <= MAX_STEPS:
        hint = _without_underscores(text.strip(), read_steps)
        raise ProgramError(
            f"{name} must be a whole number from 1 to {MAX_STEPS:,}, not {text.strip()!r}"
            + (f" ({hint})" if hint else "")
        )
    return steps


def read_lr(text: str, name: str = "lr") -> float:
    """``text`` as a learning rate: a positive finite number written with ASCII characters and
    no underscores (``３`` and ``1_0`` are refused, as :func:`read_steps` refuses them); else one
    :class:`ProgramError` line naming the field (``name``: ``lr`` in the window, ``--lr`` on
    the command line). The window and the command line both read the lr here, so each problem
    has one wording. An lr too small to move any parameter is refused by the loop itself, at
    its first step (that depends on the grads)."""
    text = text.strip()
    try:
        if not text.isascii() or "_" in text:  # as for name=number: ３ is not a number
            raise ValueError(text)
        lr = float(text)
    except ValueError:
        hint = _without_underscores(text, read_lr)
        raise ProgramError(
            f"{name} must be a number, not {text!r} ({hint or 'e.g. 0.1'})"
        ) from None
    if lr == math.inf:
        raise ProgramError(f"{name} must be a finite number, not {text!r} (it reads as infinity)")
    if lr == 0 and any(c in "123456789" for c in text.partition("e")[0].partition("E")[0]):
        raise ProgramError(f"{name} {text} is too small for a float: it reads as 0 (e.g. 0.1)")
    if not lr > 0:
        raise ProgramError(
            f"{name} must be a positive number, not {text!r} "
            "(p.data -= lr * p.grad goes downhill only for lr > 0; e.g. 0.1)"
        )
    return lr


def _check_spec(spec: Training) -> None:
    if not spec.params:
        raise ProgramError(
            "nothing to train: no parameter is chosen",
            hint="choose one, or mark one in the program: w = param(0.5)",
        )
    distinct_params(spec.params)
    if isinstance(spec.steps, bool) or not 1 <= spec.steps <= MAX_STEPS:
        raise ProgramError(
            f"the number of steps must be a whole number from 1 to {MAX_STEPS:,} "
            f"({spec.steps} given)"
        )
    if not math.isfinite(spec.lr) or spec.lr <= 0:
        raise ProgramError(
            f"the learning rate must be a positive number ({format_number(spec.lr)} given)",
            hint="p.data -= lr * p.grad goes downhill only for lr > 0, e.g. 0.1",
        )


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


def names_text(names: list[str] | tuple[str, ...], limit: int = 6) -> str:
    """``w, b``; past ``limit`` names the first few and how many more: ``w1, w2, … (37)``."""
    if len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[: limit - 1])}, … {names[-1]} ({len(names)})"


def lr_text(lr: float) -> str:
    """The learning rate with the fewest digits that read back as it (``0.123456789`` as typed,
    not ``0.123457``): the updates written beside it work out by hand from this number."""
    for digits in range(6, 17):
        text = format_number(lr, digits)
        if float(text) == lr:
            return text
    return format_number(lr, 17)


def heading(comparison: Comparison) -> str:
    """``5 steps of p.data -= 0.2 * p.grad on w, b; x stays fixed``."""
    spec = comparison.spec
    text = (
        f"{spec.steps} step{'s' if spec.steps != 1 else ''} of "
        f"p.data -= {lr_text(spec.lr)} * p.grad on {names_text(spec.params)}"
    )
    fixed = _fixed_inputs(comparison)
    if fixed:
        text += f"; {names_text(fixed)} {'stays' if len(fixed) == 1 else 'stay'} fixed"
    return text


DETAILED = 4
"""Up to this many parameters, ``--print`` shows every update of every parameter; with more,
each parameter's start and end (the losses, every step, are shown either way)."""


def format_comparison(
    comparison: Comparison,
    width: int = 100,
    *,
    plot: tuple[int, int] | None = None,
    ascii: bool = False,
) -> list[str]:
    """The comparison as plain text lines, for ``--print``: the losses side by side, the loss
    curves (``plot``: their width and height, None: no plot), each run's updates (or, with many
    parameters, where each one started and ended), then the lesson and the explanation wrapped
    to ``width`` columns."""
    spec = comparison.spec
    count = spec.steps + 1
    lines = [f"training loop: {heading(comparison)}", ""]
    rows = [["iteration", "loss with zero_grad", "", "loss without zero_grad", ""]]
    up = "^ loss went up" if ascii else WENT_UP
    # each run's losses and marks computed once (per row they made 10,000 steps quadratic)
    columns = [(run.losses, run.went_up()) for run in comparison.runs]
    for i in range(count):
        cells = ["after" if i == count - 1 else str(i + 1)]
        for losses, went_up in columns:
            cells += [format_number(losses[i]), up if went_up[i] else ""]
        rows.append(cells)
    lines += _columns(rows, right={1, 3})
    if plot is not None:
        from .plot import plot_lines

        lines.append("")
        lines.append("the loss before each step and after the last one:")
        lines += plot_lines(comparison, *plot, ascii=ascii)
    if len(spec.params) > DETAILED:
        lines.append("")
        lines.append(f"the {len(spec.params)} parameters, before the first step and after the last")
        rows = [["parameter", "start", "with zero_grad", "without zero_grad"]]
        first = comparison.with_zero_grad.iterations[0].data
        for name in spec.params:
            rows.append(
                [name, format_number(first[name])]
                + [format_number(run.final[name]) for run in comparison.runs]
            )
        lines += _columns(rows, right={1, 2, 3})
    else:
        lines += _update_tables(comparison)
    lines.append("")
    lines += textwrap.wrap(comparison.lesson(), width)
    lines.append("")
    lines += textwrap.wrap(EXPLANATION, width)
    return lines


def _update_tables(comparison: Comparison) -> list[str]:
    """Each run's updates, every parameter at every iteration (own grad, p.grad, after)."""
    spec = comparison.spec
    lines: list[str] = []
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
    return lines


def _run_json(run: Run) -> dict[str, Any]:
    went_up = run.went_up()
    return {
        "loss": run.losses,
        "params": [dict(it.data) for it in run.iterations] + [dict(run.final)],
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
    """The comparison for ``--json``: the spec, both runs, the lesson and the explanation.

    Each run has ``loss`` (the loss before each step, then after the last: ``steps + 1``
    numbers) and ``params`` (the parameters at the same points, by name), then the same in
    detail per iteration (``iterations``: data, own grad, p.grad, after) and ``final``."""
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
