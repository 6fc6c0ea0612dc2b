"""A grad is a sensitivity: nudge an input by h, run the forward pass again, and compare.

``x.grad = 2`` claims that when ``x`` moves by a small ``h`` the output moves by about ``2·h``.
:func:`nudge` tests the claim the way a learner would by hand: it computes the output again at
``x + h`` with a fresh forward pass through the op table (no derivative involved) and puts the
measured change beside the predicted ``grad·h``. For a small ``h`` their ratio is close to 1;
as ``h`` grows they drift apart wherever the output is not a straight line in ``x``. At a kink
(``relu`` or ``abs`` at exactly 0 on ``x``'s way to the output) the grad is a convention, so
the two one-sided slopes are measured and shown instead of a false slope.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import NamedTuple

from engine import OPS, Value, nodes
from engine.numbers import format_number
from engine.parse import Program, ProgramError, clip, name_list, read_name

__all__ = ["DEFAULT_H", "SIZES", "Nudge", "find_input", "forward", "next_size", "nudge"]

DEFAULT_H = 0.001
"""The nudge the app starts with and ``--nudge NAME`` uses."""
SIZES = (0.001, 0.01, 0.1, 1.0)
"""The sizes of h the app's ``H`` goes through, in order (after the last, the first again)."""
_KINKS = {"relu": "relu'(0) = 0", "abs": "abs'(0) = 0"}


def next_size(h: float) -> float:
    """The size after ``|h|`` in :data:`SIZES` (the first one after the last, or for a size
    not in the list)."""
    size = abs(h)
    for candidate in SIZES:
        if candidate > size * (1 + 1e-12):
            return candidate
    return SIZES[0]


class Nudge(NamedTuple):
    """One nudge of an input and what the output did.

    Attributes:
        input: the input's name.
        x: its value before the nudge.
        h: the nudge (negative: down).
        out: the output at ``x``.
        nudged: the output at ``x + h``, from a fresh forward pass.
        grad: the grad the prediction uses.
        correct: the correct one-pass gradient when ``grad`` is not it (a bug mode, passes
            accumulated without ``zero_grad``), else None.
        kinks: the relu and abs nodes at exactly 0 on ``x``'s way to the output, described.
        back: the output at ``x - h`` (measured at a kink, for the slope on the other side).
        name: the output's name.
        passes: how many backward passes ``grad`` sums (without ``zero_grad`` in between).
    """

    input: str
    x: float
    h: float
    out: float
    nudged: float
    grad: float
    correct: float | None = None
    kinks: tuple[str, ...] = ()
    back: float | None = None
    name: str = "out"
    passes: int = 1

    @property
    def delta_out(self) -> float:
        """out(x + h) − out(x), as measured."""
        return self.nudged - self.out

    @property
    def predicted(self) -> float:
        """grad·h: the change the grad predicts."""
        return self.grad * self.h

    @property
    def ratio(self) -> float | None:
        """measured / predicted, or None when the prediction is 0."""
        return None if self.predicted == 0 else self.delta_out / self.predicted

    @property
    def slopes(self) -> tuple[float, float] | None:
        """At a kink: the slopes measured with ``|h|`` right and left of ``x``, else None."""
        if self.back is None:
            return None
        step = abs(self.h)
        up, down = (self.nudged, self.back) if self.h > 0 else (self.back, self.nudged)
        return (up - self.out) / step, (self.out - down) / step

    def to_json(self) -> dict[str, object]:
        """The ``"nudge"`` object of ``--json``."""
        document: dict[str, object] = {
            "input": self.input,
            "h": self.h,
            "delta_out": self.delta_out,
            "predicted": self.predicted,
            "ratio": self.ratio,
            "x": self.x,
            "grad": self.grad,
            "out": self.out,
            "out_nudged": self.nudged,
        }
        if self.correct is not None:
            document["correct_grad"] = self.correct
            document["correct_predicted"] = self.correct * self.h
        if self.kinks:
            right, left = self.slopes or (None, None)
            document["kink"] = {"at": list(self.kinks), "right_slope": right, "left_slope": left}
        return document

    def lines(self, hint: str = "") -> list[tuple[str, str]]:
        """The comparison as ``(label, text)`` rows, then a closing sentence as ``("", text)``:
        the same words for ``--print`` and the app. ``hint`` says how to try a larger h."""
        n = format_number
        x, out, h = self.input, self.name, self.h
        way = f"up by h = {n(h)}" if h > 0 else f"down by {n(-h)} (h = {n(h)})"
        before, after = n(self.x), n(self.x + h)
        if before == after:  # 1234.5 → 1234.501 would read 1234.5 → 1234.5
            before, after = _long(self.x), _long(self.x + h)
        rows = [
            ("nudge", f"{x} {way}: {x} = {before} → {after}"),
            (
                "measured",
                f"Δ{out} = {out}({x}+h) − {out}({x}) = {_long(self.nudged)} − {_long(self.out)}"
                f" = {_long(self.delta_out)} (a fresh forward pass)",
            ),
            (
                "predicted",
                f"{x}.grad × h = {n(self.grad)} × {n(h)} = {_long(self.predicted)} ({x}.grad "
                f"{self.grad_source} at {x} = {n(self.x)}, before the nudge)",
            ),
            (
                "ratio",
                "measured / predicted = "
                + ("— (the prediction is 0)" if self.ratio is None else _long(self.ratio)),
            ),
        ]
        return [*rows, ("", self.verdict(hint))]

    @property
    def grad_source(self) -> str:
        """Where the grad came from: ``from one backward pass``, or ``after 2 backward passes
        without zero_grad,`` (then it is 2x the slope, and the verdict says so)."""
        if self.passes == 1:
            return "from one backward pass"
        return f"after {self.passes} backward passes without zero_grad,"

    @property
    def rounding(self) -> float:
        """About how far rounding alone can move the measured change: both outputs' last
        bits, and the step ``(x + h) - x`` that the forward pass really took (not ``h``)."""
        eps = sys.float_info.epsilon
        step = (self.x + self.h) - self.x
        return 4 * eps * (abs(self.out) + abs(self.nudged)) + abs(self.grad * (step - self.h))

    def verdict(self, hint: str = "") -> str:
        """One or two sentences on what the numbers say, true for these numbers; ``hint`` says
        how to try a larger h (`` (H)`` in the app)."""
        n = format_number
        x, out = self.input, self.name
        slopes = self.slopes
        if self.kinks and slopes is not None:
            right, left = slopes
            where = " and ".join(self.kinks[:2]) + (" …" if len(self.kinks) > 2 else "")
            rules = " and ".join(dict.fromkeys(_KINKS[k.split("(")[0]] for k in self.kinks))
            verb = "is" if len(self.kinks) == 1 else "are"
            head = f"{x} sits at a kink: {where} {verb} at 0, where backprop takes {rules}."
            if abs(right - left) > 1e-9 * max(1.0, abs(right), abs(left)):
                return (
                    f"{head} Measured with h = {n(abs(self.h))}, {out} changes at slope "
                    f"{n(right)} to the right of {x} and {n(left)} to the left: the grad "
                    f"{n(self.grad)} is a convention there, not a slope."
                )
            return f"{head} Here both sides measure the same slope, {n(right)}."
        if self.correct is not None:
            right = self.correct * self.h
            ratio = "—" if right == 0 else _long(self.delta_out / right)
            return (
                f"This {x}.grad is not the sensitivity: the correct grad {n(self.correct)} "
                f"predicts {_long(right)} (ratio {ratio})."
            )
        ratio = self.ratio
        if ratio is None:
            if self.delta_out == 0:
                return f"{out} did not move: {x}.grad = 0 says just that."
            return (
                f"The grad 0 predicts no change, but {out} moved: {out} is not a straight line "
                f"in {x}, and the grad is only the slope at {x} itself."
            )
        if ratio == 1:
            return f"Exactly as predicted: {out} is a straight line in {x} here."
        if abs(self.delta_out - self.predicted) <= self.rounding:
            return (
                f"Equal up to floating-point rounding (about ±{n(self.rounding, 2)}): within "
                f"that, {out} moved just as {x}.grad × h predicts. If {out} curves in {x}, a "
                f"larger h{hint} shows it."
            )
        off = abs(ratio - 1)
        if off < 1e-3:
            return (
                f"Close to 1: {x}.grad is the slope of {out} at {x}. Not exactly 1, as {out} "
                f"is not a straight line in {x}; a larger h{hint} makes the two drift apart."
            )
        return (
            f"The two drift apart ({n(off * 100, 3)}% off): {out} is not a straight line in "
            f"{x}, and the grad is its slope at {x} only, so it predicts well only for a "
            "small h."
        )


def _long(x: float) -> str:
    """A measured number with enough digits to see it differ from the prediction."""
    return format_number(x, 10)


def find_input(program: Program, name: str) -> tuple[str, Value]:
    """The input called ``name`` (its display name, or the name the program assigns it) and
    its display name; ProgramError (one line) if there is none."""
    key = program.input_named(name)
    if key is not None:
        return key, program.inputs[key]
    name = read_name(name) or name  # a name the program assigns, as it reads names
    found = [
        (display, leaf)
        for display, leaf in program.inputs.items()
        if any(b.name == name and b.node is leaf for b in program.bindings)
    ]
    if len(found) == 1:
        return found[0]
    if found:  # x = 1; x = 2; ...: each assignment made its own input
        raise ProgramError(
            f"{clip(name)!r} names {len(found):,} inputs ({name_list(d for d, _ in found)}): "
            "give one of them as shown"
        )
    raise ProgramError(
        f"{clip(name)!r} is not an input of the program (its inputs: {name_list(program.inputs)})"
    )


def forward(root: Value, overrides: dict[Value, float], name: Callable[[Value], str]) -> float:
    """``root``'s value with some leaves set to other numbers: a fresh forward pass through the
    op table. ProgramError (naming the op) where an op leaves its domain or overflows."""
    values: dict[Value, float] = {}
    for node in nodes(root):
        if not node.parents:
            values[node] = overrides.get(node, node.data)
            continue
        op = OPS[node.op]
        args = [values[p] for p in node.parents]
        reason = op.check(*args)
        if reason is None:
            try:
                values[node] = op.forward(*args)
            except (ArithmeticError, ValueError):
                reason = "the result is too large (overflow)"
            else:
                if not math.isfinite(values[node]):
                    reason = "the result is too large (overflow)"
        if reason is not None:
            shown = ", ".join(format_number(a) for a in args)
            raise ProgramError(f"after the nudge, {name(node)} fails: {reason} ({shown})")
    return values[root]


def _kinks(program: Program, leaf: Value) -> tuple[str, ...]:
    """relu and abs nodes that depend on ``leaf`` and whose input is exactly 0."""
    depends = {leaf}
    found = []
    for node in nodes(program.output):
        if node.parents and any(p in depends for p in node.parents):
            depends.add(node)
            if node.op in _KINKS and node.parents[0].data == 0.0:
                found.append(program.expression(node))
    return tuple(found)


def nudge(
    program: Program,
    name: str,
    h: float,
    grad: float,
    correct: float | None = None,
    passes: int = 1,
) -> Nudge:
    """Nudge the input ``name`` by ``h`` and compare the output's change with ``grad·h``.

    ``correct`` is the correct one-pass gradient when ``grad`` is not it; ``passes`` says how
    many backward passes ``grad`` sums. Raises ProgramError
    for a name that is no input, an ``h`` that is 0 or not finite, or a forward pass that
    fails at ``x + h``.
    """
    if not math.isfinite(h) or h == 0:
        raise ProgramError(f"a nudge h must be a finite number other than 0, not {h!r}")
    display, leaf = find_input(program, name)
    if not leaf.requires_grad:  # pragma: no cover - an input always takes a grad
        raise ProgramError(f"{display} is a constant: it has no grad to test")
    root = program.output
    x = leaf.data
    if not math.isfinite(x + h):
        raise ProgramError(f"{display} + h is not a finite number")
    if x + h == x:
        raise ProgramError(
            f"h = {h!r} is too small to move {display} = {format_number(x)}: in floating point "
            f"{display} + h is {display} itself, so nothing would change (try h = 0.001)"
        )
    describe = program.describe
    out = forward(root, {}, describe)
    nudged = forward(root, {leaf: x + h}, describe)
    kinks = _kinks(program, leaf) if program.reaches_output(leaf) else ()
    back = forward(root, {leaf: x - h}, describe) if kinks else None
    if correct is not None and correct == grad:
        correct = None
    return Nudge(
        display,
        x,
        h,
        out,
        nudged,
        grad,
        correct,
        kinks,
        back,
        program.name(program.output),
        passes,
    )
