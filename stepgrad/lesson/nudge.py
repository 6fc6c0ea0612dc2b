"""A grad is a sensitivity: nudge an input by h, run the forward pass again, and compare.

``x.grad = 2`` claims that when ``x`` moves by a small ``h`` the output moves by about ``2·h``.
:func:`nudge` tests the claim the way a learner would by hand: it computes the output again at
``x + h`` with a fresh forward pass through the op table (no derivative involved) and puts the
measured change beside the predicted ``grad·h``. For a small ``h`` their ratio is close to 1;
as ``h`` grows they drift apart wherever the output is not a straight line in ``x``, or where
the step from ``x`` to ``x + h`` crosses a kink (a ``relu`` or ``abs`` whose input changes sign
on the way: that is named, not blamed on curvature).

At a kink itself (``relu`` or ``abs`` at exactly 0 on ``x``'s way to the output) the two
one-sided slopes are measured and shown. Whether the grad there is a convention or still the
slope is the gradient check's verdict (:mod:`engine.check`: one-sided slopes extrapolated as
``h`` shrinks): ``relu(x)**3 + 2*x`` at 0 is smooth, with slope 2 on both sides, however
different the slopes measured with one large ``h`` look.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import NamedTuple

from engine import OPS, Value, nodes
from engine.numbers import format_number, worked
from engine.parse import Program, ProgramError, _meant, clip, name_list, read_name

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
        grad: the grad the prediction uses (the one on screen).
        one_pass: one correct pass's gradient (the sensitivity) when ``grad`` is another number
            (a bug mode, passes accumulated without ``zero_grad``), else None.
        kinks: the relu and abs nodes at exactly 0 on ``x``'s way to the output, described,
            each once.
        back: the output at ``x - h`` (measured at a kink, for the slope on the other side).
        name: the output's name.
        passes: how many backward passes ``grad`` sums (without ``zero_grad`` in between).
        check: at a kink, the gradient check's verdict on one pass's grad (``"kink"``: the
            one-sided slopes stay apart as h shrinks, the grad is a convention; ``"agree"`` or
            ``"differ"``: the output is smooth there; ``"inconclusive"``...), else None.
        limits: at a kink, the one-sided slopes (right, left) as h shrinks, extrapolated by
            the gradient check; ``slope`` the check's estimate of the slope where the output
            is smooth there.
        crossed: relu and abs nodes whose input changes sign between ``x`` and ``x + h``
            (the nudge crossed their kink), described, each once; ``across`` the first one's
            input at ``x`` and at ``x + h``.
        bug: the bug mode ``grad`` comes from, or None.
    """

    input: str
    x: float
    h: float
    out: float
    nudged: float
    grad: float
    one_pass: float | None = None
    kinks: tuple[str, ...] = ()
    back: float | None = None
    name: str = "out"
    passes: int = 1
    check: str | None = None
    limits: tuple[float, float] | None = None
    slope: float | None = None
    crossed: tuple[str, ...] = ()
    across: tuple[float, float] | None = None
    bug: str | None = None

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
    def sensitivity(self) -> float:
        """One correct pass's grad: what the output's change follows."""
        return self.grad if self.one_pass is None else self.one_pass

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
        if self.one_pass is not None:
            document["one_pass_grad"] = self.one_pass
            document["one_pass_predicted"] = self.one_pass * self.h
        if self.kinks:
            right, left = self.slopes or (None, None)
            document["kink"] = {
                "at": list(self.kinks),
                "right_slope": right,
                "left_slope": left,
                # the gradient check's verdict: do the one-sided slopes stay apart as h shrinks?
                "slopes_stay_apart": None if self.check not in _KNOWN else self.check == "kink",
            }
        if self.crossed:
            document["crossed_kink"] = list(self.crossed)
        return document

    def lines(self, hint: str = "") -> list[tuple[str, str]]:
        """The comparison as ``(label, text)`` rows, then a closing sentence as ``("", text)``:
        the same words for ``--print`` and the app. ``hint`` says how to try a larger h."""
        n = format_number
        x, out, h = self.input, self.name, self.h
        way = f"up by h = {n(h)}" if h > 0 else f"down by {n(-h)} (h = {n(h)})"
        before, after = _apart(self.x, self.x + h, 6)  # 1234.5 → 1234.501, not 1234.5 → 1234.5
        # numbers whose difference and product, worked out by hand, give the number after =
        # (3e12 − 3e12 would not read; 3000000000.002001 − 3000000000.002 is not 9.54e-7)
        measured = "{} − {} = {}".format(*worked(self.nudged, "−", self.out, self.delta_out, _long))
        predicted = "{} × {} = {}".format(*worked(self.grad, "×", h, self.predicted, _long))
        rows = [
            ("nudge", f"{x} {way}: {x} = {before} → {after}"),
            (
                "measured",
                f"Δ{out} = {out}({x}+h) − {out}({x}) = {measured} (a fresh forward pass)",
            ),
            (
                "predicted",
                f"{x}.grad × h = {predicted} ({x}.grad "
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
        without zero_grad,`` (then it is 2x the slope, and the verdict says so); in a bug mode,
        which one."""
        bug = f" in bug mode {self.bug}" if self.bug is not None else ""
        if self.passes == 1:
            return f"from one backward pass{bug}"
        return f"after {self.passes} backward passes{bug} without zero_grad,"

    @property
    def rounding(self) -> float:
        """About how far rounding alone can move the measured change: both outputs' last
        bits, and the step ``(x + h) - x`` that the forward pass really took (not ``h``)."""
        eps = sys.float_info.epsilon
        step = (self.x + self.h) - self.x
        # each output's part apart: their sum can pass the largest float (1e308 and -1e308)
        bits = 4 * eps * abs(self.out) + 4 * eps * abs(self.nudged)
        return bits + abs(self.grad * (step - self.h))

    def verdict(self, hint: str = "") -> str:
        """One or two sentences on what the numbers say, true for these numbers; ``hint`` says
        how to try a larger h (`` (H)`` in the app)."""
        if self.kinks and self.slopes is not None:
            at_kink, done = self._at_kink()
            if done:
                return at_kink
            return f"{at_kink} {self._measured(hint)}"
        return self._measured(hint)

    def _at_kink(self) -> tuple[str, bool]:
        """What a kink on ``x``'s way means here, and whether that is all there is to say
        (False: the comparison's own verdict follows). The gradient check tells a kink (the
        one-sided slopes stay apart as h shrinks) from a smooth point, whatever one h shows."""
        n = format_number
        x, out = self.input, self.name
        right, left = self.slopes or (0.0, 0.0)
        where = " and ".join(self.kinks[:2]) + (" …" if len(self.kinks) > 2 else "")
        rules = " and ".join(dict.fromkeys(_KINKS[k.split("(")[0]] for k in self.kinks))
        one = len(self.kinks) == 1
        grad = (
            f"the grad {n(self.grad)}"
            if self.one_pass is None
            else f"one pass's grad without the bug, {n(self.one_pass)},"
            if self.bug is not None
            else f"one pass's grad {n(self.one_pass)}"
        )
        measured = (
            f"Measured with h = {n(abs(self.h))}, {out} changes at slope {n(right)} to the right "
            f"of {x} and {n(left)} to the left"
        )
        kink = (
            f"{x} sits at a kink: {where} {'is' if one else 'are'} at 0, where backprop takes "
            f"{rules}."
        )
        if self.check == "kink":
            limits = ""
            if self.limits is not None:
                limits = (
                    f", and as h shrinks they stay apart ({n(self.limits[0])} and "
                    f"{n(self.limits[1])})"
                )
            return f"{kink} {measured}{limits}: {grad} is a convention there, not a slope.", True
        if self.check in ("agree", "differ") and self.slope is not None:
            head = (
                f"{where} {'is' if one else 'are'} at 0 here, at "
                f"{'its kink' if one else 'their kinks'} (where backprop takes {rules}), but "
                f"{out} is smooth at {x}: as h shrinks the one-sided slopes meet"
            )
            if self.check == "agree":  # within the check's tolerance: the grad is the slope
                return f"{head}, and {grad} is the slope there.", False
            return (
                f"{head}, at {n(self.slope)}, which {grad} is not: the conventions do not give "
                "the slope here.",
                True,
            )
        if abs(right - left) <= 1e-9 * max(1.0, abs(right), abs(left)):
            return f"{kink} Here both sides measure the same slope, {n(right)}.", True
        return (
            f"{kink} {measured}; finite differences cannot tell here whether the two meet as h "
            "shrinks.",
            True,
        )

    def _measured(self, hint: str) -> str:
        """The verdict on measured against predicted, away from a kink (or where the output is
        smooth at one)."""
        n = format_number
        x, out = self.input, self.name
        if self.one_pass is not None:
            right = self.one_pass * self.h
            ratio = "—" if right == 0 else _long(self.delta_out / right)
            if self.bug is not None:
                why = f"bug mode {self.bug} broke a rule of the backward pass"
                whose = "one pass's grad without the bug"
            else:
                whose = "one pass's grad"
                if self.passes > 1 and math.isclose(
                    self.grad, self.passes * self.one_pass, rel_tol=1e-9, abs_tol=1e-12
                ):
                    times = "{} × {} = {}".format(
                        *worked(self.passes, "×", self.one_pass, self.grad)
                    )
                    why = f"it adds up {self.passes} passes ({times})"
                elif self.passes > 1:
                    why = f"it sums {self.passes} passes"
                else:
                    why = "it is not what one pass gives"
            predicts = "{} × {} = {}".format(*worked(self.one_pass, "×", self.h, right, _long))
            return (
                f"This {x}.grad is not the sensitivity: {why}. The sensitivity is {whose}, "
                f"{n(self.one_pass)}: it predicts {predicts} (ratio {ratio})."
            )
        crossed = self._crossing()
        ratio = self.ratio
        if ratio is None:
            if self.delta_out == 0:
                return f"{out} did not move: {x}.grad = 0 says just that."
            why = crossed or f"{out} is not a straight line in {x}"
            return (
                f"The grad 0 predicts no change, but {out} moved: {why}, and the grad is only "
                f"the slope at {x} itself."
            )
        if ratio == 1:
            return f"Exactly as predicted: {out} is a straight line in {x} here."
        if abs(self.delta_out - self.predicted) <= self.rounding:
            if self.rounding >= abs(self.predicted):  # "within ±5e-6 it moved 1e-6" says nothing
                band = n(self.rounding, 2)
                return (
                    f"Below what floats resolve at this h: {x}.grad × h predicts a change of "
                    f"{_long(self.predicted)}, but at {out} = {n(self.out)} rounding alone can "
                    f"move {out} by about ±{band}, more than that, so the measured change is "
                    "mostly rounding: it neither confirms nor refutes the grad. Try a larger "
                    f"h{hint}, one whose predicted change is well above ±{band}."
                )
            return (
                f"Equal up to floating-point rounding (about ±{n(self.rounding, 2)}): within "
                f"that, {out} moved just as {x}.grad × h predicts. If {out} curves in {x}, a "
                f"larger h{hint} shows it."
            )
        off = abs(ratio - 1)
        # "1.33e3% off" read badly: far apart, the ratio itself says it
        apart = f"{n(off * 100, 3)}% off" if off < 10 else f"measured / predicted = {n(ratio, 3)}"
        if off < 1e-3:
            if crossed:
                return (
                    f"Close to 1: {x}.grad is the slope of {out} at {x}. Not exactly 1: {crossed}."
                )
            return (
                f"Close to 1: {x}.grad is the slope of {out} at {x}. Not exactly 1, as {out} "
                f"is not a straight line in {x}; a larger h{hint} makes the two drift apart."
            )
        if crossed:
            return (
                f"The two drift apart ({apart}): {crossed}. The grad is the "
                f"slope at {x} only: it predicts well for an h that stays on this side of the "
                "kink."
            )
        return (
            f"The two drift apart ({apart}): {out} is not a straight line in "
            f"{x}, and the grad is its slope at {x} only, so it predicts well only for a "
            "small h."
        )

    def _crossing(self) -> str:
        """``the nudge crossed a kink: …`` when a relu or abs input changed sign between ``x``
        and ``x + h`` (empty otherwise)."""
        if not self.crossed or self.across is None:
            return ""
        n = format_number
        where = " and ".join(self.crossed[:2]) + (" …" if len(self.crossed) > 2 else "")
        before, after = _apart(*self.across, 6)
        return (
            f"the nudge crossed a kink: from {self.input} = {n(self.x)} to "
            f"{n(self.x + self.h)} the input of {where} goes from {before} to {after}, through "
            f"0, so {self.name}'s slope changes inside the step"
        )


_KNOWN = ("kink", "agree", "differ")
"""Gradient check verdicts that say whether the one-sided slopes meet."""


def _long(x: float) -> str:
    """A measured number with enough digits to see it differ from the prediction."""
    return format_number(x, 10)


def _apart(a: float, b: float, digits: int) -> tuple[str, str]:
    """``a`` and ``b`` with ``digits`` significant digits, or as many more (up to 17, which
    tells any two floats apart) as it takes for them to read differently where they differ:
    ``3000000000000.003 − 3000000000000``, not ``3e12 − 3e12``."""
    for more in range(digits, 18):
        left, right = format_number(a, more), format_number(b, more)
        if left != right or a == b:
            return left, right
    return format_number(a, 17), format_number(b, 17)  # pragma: no cover - 17 always do


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
    raise ProgramError(  # a look-alike letter or another case: the parser's own hint
        f"{clip(name)!r} is not an input of the program (its inputs: {name_list(program.inputs)})",
        hint=_meant(name, {}, set(program.inputs)),
    )


def forward(root: Value, overrides: dict[Value, float], name: Callable[[Value], str]) -> float:
    """``root``'s value with some leaves set to other numbers: a fresh forward pass through the
    op table. ProgramError (naming the op) where an op leaves its domain or overflows."""
    return _values(root, overrides, name)[root]


def _values(
    root: Value, overrides: dict[Value, float], name: Callable[[Value], str]
) -> dict[Value, float]:
    """Every node's value in :func:`forward`'s pass."""
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
    return values


def _switches(program: Program, leaf: Value) -> list[Value]:
    """The relu and abs nodes whose input depends on ``leaf``, in the graph's order."""
    depends = {leaf}
    found = []
    for node in nodes(program.output):
        if node.parents and any(p in depends for p in node.parents):
            depends.add(node)
            if node.op in _KINKS:
                found.append(node)
    return found


def _once(program: Program, found: list[Value]) -> tuple[str, ...]:
    """``found`` described, each description once (``relu(x)*relu(x)`` has two relu nodes that
    read the same)."""
    return tuple(dict.fromkeys(program.expression(node) for node in found))


def nudge(
    program: Program,
    name: str,
    h: float,
    grad: float,
    one_pass: float | None = None,
    passes: int = 1,
    bug: str | None = None,
) -> Nudge:
    """Nudge the input ``name`` by ``h`` and compare the output's change with ``grad·h``.

    ``one_pass`` is one correct pass's gradient when ``grad`` is not it; ``passes`` says how
    many backward passes ``grad`` sums, ``bug`` in which bug mode. Raises ProgramError for a
    name that is no input, an ``h`` that is 0 or not finite, or a forward pass that fails at
    ``x + h``.
    """
    # the gradient check is imported here, not at the top: the app starts without it
    from engine.check import estimate, judge

    if not math.isfinite(h) or h == 0:
        raise ProgramError(
            f"a nudge h must be a finite number other than 0, not {format_number(h)}"
        )
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
    here = _values(root, {}, describe)
    there = _values(root, {leaf: x + h}, describe)
    if one_pass is not None and one_pass == grad:
        one_pass = None
    change, predicted = there[root] - here[root], grad * h
    if not (math.isfinite(change) and math.isfinite(predicted)):  # 1e308 − -1e308
        what = "change" if not math.isfinite(change) else f"predicted change ({display}.grad × h)"
        raise ProgramError(
            f"the nudge's {what} in {program.name(root)} is past the largest float "
            f"({program.name(root)} goes from {format_number(here[root])} to "
            f"{format_number(there[root])})",
            hint="try a smaller h",
        )
    result = Nudge(
        display,
        x,
        h,
        here[root],
        there[root],
        grad,
        one_pass,
        name=program.name(root),
        passes=passes,
        bug=bug,
    )
    switches = _switches(program, leaf) if program.reaches_output(leaf) else []
    at = [node for node in switches if here[node.parents[0]] == 0.0]
    crossed = [node for node in switches if here[node.parents[0]] * there[node.parents[0]] < 0]
    if crossed:
        first = crossed[0].parents[0]
        result = result._replace(
            crossed=_once(program, crossed), across=(here[first], there[first])
        )
    if at:
        # one h cannot tell a kink from a smooth point (relu(x)**3 + 2*x at 0 measures 2.01 and
        # 2 with h = 0.1): the gradient check's one-sided slopes, extrapolated as h shrinks, can
        check = judge(display, result.sensitivity, estimate(root, leaf, name=describe))
        smooth = check.verdict in ("agree", "differ")
        limits = None
        if check.right is not None and check.left is not None and check.verdict in _KNOWN:
            limits = (check.right, check.left)
        result = result._replace(
            kinks=_once(program, at),
            back=forward(root, {leaf: x - h}, describe),
            check=check.verdict,
            limits=limits,
            slope=check.numeric if smooth else None,
        )
    return result
