"""Gradient checking: every input's backprop grad against finite differences of the forward pass.

A finite difference never looks at a derivative, so it is an independent witness for backprop.
But one difference quotient with one fixed step ``h`` is a poor witness: too large an ``h``
blurs a function that changes fast (``tanh(x*1e7)``, ``sin(x)`` at ``x = 1e8``), too small an
``h`` drowns in rounding, and at a kink (``relu`` at 0) the central quotient is the average of
the two one-sided slopes, which no backprop convention gives. So, for each input ``x``:

- The steps are scaled to the input: ``h0 = eps**(1/3) * max(1, |x|)`` (the step that balances
  the truncation and the rounding error of a central difference), then ``h0/c, h0/c**2, ...``
  down to about ``1e-10 h0`` (``c`` = :data:`RATIO`), so a function far steeper than ``x`` is
  still followed.
- The quotients at successive steps are extrapolated (Ridders' method: a Richardson tableau),
  which gives a sharper estimate *and* an estimate of its own error; the estimate with the
  smallest error relative to its size is kept. The error is never taken below the rounding
  error of f itself, sized from the values in the graph (``(x + 1e8) - 1e8`` moves in steps of
  1.5e-8, whatever h is). An estimate is trusted only where its error is small next to the
  derivative (or, for a derivative of about 0, as small as f's own rounding allows).
- The one-sided quotients ``(f(x+h) - f(x))/h`` and ``(f(x) - f(x-h))/h`` are extrapolated the
  same way. Where both are trusted, they differ, and their average is the central estimate,
  ``f`` has a kink at ``x``: the verdict is ``"kink"``, with both slopes, whatever the op that
  made it; relu and abs at exactly 0 on the input's path are named, with their convention.
- Only the nodes that depend on ``x`` are recomputed; a budget of node evaluations bounds the
  whole check on a program with thousands of inputs.

Verdicts: ``agree``, ``differ`` (a trusted estimate that backprop misses), ``kink``,
``inconclusive`` (no step gave a trusted estimate: the reason says why), ``undefined`` (``f``
cannot be evaluated on both sides of ``x``), ``unchecked`` (the program has too many inputs
to check them all within the evaluation budget).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Literal

from .backward import nodes
from .numbers import format_number
from .ops import OPS, Forward
from .value import Value

__all__ = [
    "BUDGET",
    "Check",
    "Estimate",
    "Verdict",
    "agree",
    "check_gradients",
    "estimate",
    "evaluate",
    "finite_difference",
    "judge",
]

Verdict = Literal["agree", "differ", "kink", "inconclusive", "undefined", "unchecked"]

EPS = sys.float_info.epsilon
TINY = sys.float_info.min
REL = 1e-4
"""Backprop and the finite difference agree when they differ by at most this, relatively."""
BUDGET = 1_000_000
"""Node evaluations :func:`check_gradients` may spend in all (about half a second on a slow
machine; the 320-node MLP example spends 28,000): a program with thousands of inputs would
otherwise need millions, as each input needs its own evaluations."""
RATIO = 1 + math.sqrt(2)
"""Each step is the previous one over this: not a power of two, so the steps never line up with
the binary grid of floats (whose rounding would then repeat from step to step and look like
agreement), nor stay in step with a period of the function."""
_LEVELS = 26  # h0 ... h0 / RATIO**25 (about 1e-10 h0): enough for tanh(1e7*x) and sin(1e8)
_SETTLED_ROWS = 3  # stop early only once three successive steps agree tightly
_KINK_OPS = {"relu": "relu'(0) = 0", "abs": "abs'(0) = 0"}


@dataclass(frozen=True)
class Estimate:
    """What finite differences of the forward pass say about d(output)/dx at one input ``x``.

    Attributes:
        status: ``"ok"``, ``"undefined"`` (f not finite on some side of x at every step) or
            ``"unchecked"`` (the evaluation budget ran out before this input).
        derivative: the best central estimate (the average of the slopes at a kink).
        error: its estimated error (``inf`` when no estimate could be trusted).
        left, right: the one-sided slopes (extrapolated) and their estimated errors.
        h: the step of the best central estimate.
        scale: how fast f moves over the first step (the larger one-sided quotient there): the
            size a derivative is measured against where the estimate itself is about 0.
        kinks: relu/abs nodes on the input's path whose input is exactly 0, as ``(op, name)``.
        note: why the status is not ``ok`` (``{x}`` stands for the input's name).
        rounding: how far f itself may be off from rounding (see ``_Graph.rounding``).
        size: ``|f(x)| / max(1, |x|)``: the smallest derivative f's own rounding can tell
            from 0 is about ``eps`` of it.
        floor: the rounding error of the best central estimate (its error cannot be smaller).
        times: the estimate is of this many times the function (accumulated passes, see
            :meth:`scaled`); 1 for the function itself.
    """

    status: Literal["ok", "undefined", "unchecked"]
    derivative: float | None = None
    error: float = math.inf
    left: float | None = None
    right: float | None = None
    left_error: float = math.inf
    right_error: float = math.inf
    h: float | None = None
    scale: float = 0.0
    kinks: tuple[tuple[str, str], ...] = ()
    note: str | None = None
    rounding: float = 0.0
    size: float = 0.0
    floor: float = 0.0
    times: float = 1.0

    def scaled(self, k: float) -> Estimate:
        """The estimate of ``k`` times the function (``k`` accumulated passes)."""

        def times(v: float | None) -> float | None:
            return None if v is None else k * v

        return replace(
            self,
            derivative=times(self.derivative),
            error=abs(k) * self.error,
            left=times(self.left),
            right=times(self.right),
            left_error=abs(k) * self.left_error,
            right_error=abs(k) * self.right_error,
            scale=abs(k) * self.scale,
            rounding=abs(k) * self.rounding,
            size=abs(k) * self.size,
            floor=abs(k) * self.floor,
            times=k * self.times,
        )


@dataclass(frozen=True)
class Check:
    """One input's grad from backprop beside what finite differences say, with a verdict.

    ``numeric`` is the finite-difference estimate (None where undefined or unchecked);
    ``reason`` says in one line why the verdict is not a plain agreement (None for ``agree``);
    ``left`` and ``right`` are the one-sided slopes (given for every verdict but ``undefined``
    and ``unchecked``; they differ at a kink); ``error`` is the estimate's own error.
    """

    name: str
    grad: float
    numeric: float | None
    verdict: Verdict
    reason: str | None = None
    left: float | None = None
    right: float | None = None
    error: float | None = None

    @property
    def agree(self) -> bool | None:
        """True for ``agree``, False for ``differ``, None for every verdict that is neither."""
        return {"agree": True, "differ": False}.get(self.verdict)


def evaluate(root: Value, overrides: dict[Value, float]) -> float:
    """``root``'s value with some leaves set to other numbers, following the graph's ops.

    Raises ArithmeticError or ValueError where an op leaves its domain.
    """
    values: dict[Value, float] = {}
    for node in nodes(root):
        if node.parents:
            values[node] = OPS[node.op].forward(*(values[p] for p in node.parents))
        else:
            values[node] = overrides.get(node, node.data)
    return values[root]


def finite_difference(root: Value, leaf: Value, *, h: float = 1e-6) -> float | None:
    """One plain ``(f(x+h) - f(x-h)) / 2h`` for the leaf ``x``, or None where f is undefined or
    not finite there. :func:`estimate` is the careful version."""
    try:
        up = evaluate(root, {leaf: leaf.data + h})
        down = evaluate(root, {leaf: leaf.data - h})
        numeric = (up - down) / (2 * h)
    except (ArithmeticError, ValueError):
        return None
    return numeric if math.isfinite(numeric) else None


def agree(grad: float, numeric: float, *, rel: float = REL) -> bool:
    """Whether two derivatives differ by at most ``rel`` relative to the larger (or to 1)."""
    scale = max(1.0, abs(grad), abs(numeric))
    return abs(grad - numeric) <= rel * scale


# --- evaluating the graph again, for one input at a time -----------------------------------


_Cone = list[tuple[Value, Forward, Value, "Value | None"]]
"""The nodes that depend on a leaf, in order, each with its forward function and parents."""


class _Graph:
    """``root``'s graph, indexed once, to evaluate it again with one leaf changed.

    Only the leaf's *cone* (the nodes that depend on it) is recomputed; every other node keeps
    its forward value. ``spent`` counts the node evaluations, for the budget.
    """

    def __init__(self, root: Value) -> None:
        self.root = root
        self.order = nodes(root)
        self.position = {node: i for i, node in enumerate(self.order)}
        self.consumers: dict[Value, list[Value]] = {}
        self.base: dict[Value, float] = {}
        for node in self.order:
            if node.parents:
                self.base[node] = OPS[node.op].forward(*(self.base[p] for p in node.parents))
                for parent in set(node.parents):
                    self.consumers.setdefault(parent, []).append(node)
            else:
                self.base[node] = node.data
        self.values = dict(self.base)
        self.reach = self._reach()
        self.spent = 0

    def _reach(self) -> dict[Value, float]:
        """How strongly f depends on each node: the magnitudes of the local derivatives,
        summed back along every path (a bound on |df/dnode|, for sizing rounding errors only:
        the estimate itself never uses a derivative)."""
        reach: dict[Value, float] = {self.root: 1.0}
        for node in reversed(self.order):
            weight = reach.get(node, 0.0)
            if not node.parents or weight == 0.0:
                continue
            op = OPS[node.op]
            args = [self.base[p] for p in node.parents]
            for parent, derivative in zip(node.parents, op.derivatives, strict=False):
                try:
                    local = abs(derivative(*args, self.base[node]))
                except (ArithmeticError, ValueError):
                    continue
                reach[parent] = reach.get(parent, 0.0) + weight * local
        return reach

    def rounding(self, cone: _Cone) -> float:
        """How far f may be off from rounding when ``cone`` is recomputed: each op's result is
        rounded to about an ulp (``eps`` of its size, or more for the tiny subnormal numbers
        near underflow), and that error reaches f scaled by how strongly f
        depends on it. Only the cone counts: every other node keeps its value, so its rounding
        is the same on both sides of x and cancels in a difference. The errors are independent,
        so they add as a root of a sum of squares, not as a worst case.

        Without this, a quotient over cancelling intermediates (``(x + 1e8) - 1e8``, whose
        values move in steps of 1.5e-8) agrees with itself from step to step while being
        wrong."""
        total = 0.0
        reach, base = self.reach, self.base
        for node, _, _, _ in cone:
            total = math.hypot(total, reach.get(node, 0.0) * math.ulp(base[node]))  # no overflow
        noise = total
        return noise if math.isfinite(noise) else math.inf

    def cone(self, leaf: Value) -> _Cone:
        """The nodes that depend on ``leaf``, parents before children, each with its forward
        function and its one or two parents."""
        seen = {leaf}
        stack = [leaf]
        found: list[Value] = []
        while stack:
            for child in self.consumers.get(stack.pop(), ()):
                if child not in seen:
                    seen.add(child)
                    found.append(child)
                    stack.append(child)
        found.sort(key=self.position.__getitem__)
        return [
            (
                node,
                OPS[node.op].forward,
                node.parents[0],
                node.parents[1] if len(node.parents) > 1 else None,
            )
            for node in found
        ]

    def at(self, leaf: Value, x: float, cone: _Cone) -> float | None:
        """f with ``leaf`` set to ``x``, or None where an op leaves its domain or f is not
        finite. (The cone is recomputed in a working copy of the forward values, which is
        put back afterwards: plain lookups are the fastest way to read the parents.)"""
        if leaf is self.root:
            return x
        values = self.values
        values[leaf] = x
        self.spent += len(cone)
        try:
            for node, forward, a, b in cone:
                values[node] = forward(values[a]) if b is None else forward(values[a], values[b])
            y = values[self.root]
        except (ArithmeticError, ValueError):
            return None
        finally:
            base = self.base
            values[leaf] = base[leaf]
            for node, _, _, _ in cone:
                values[node] = base[node]
        return y if math.isfinite(y) else None


class _Tableau:
    """Ridders' extrapolation of quotients at steps h, h/c, h/c**2, ... (c = :data:`RATIO`)
    whose error is a series in powers of h: ``h**2, h**4, ...`` for a central quotient
    (``power`` 2), ``h, h**2, ...`` for a one-sided one (``power`` 1). Each new column cancels
    one more term; the error of an entry is estimated by how far it moved from its neighbours
    (never below the rounding error), and the entry with the smallest error is kept
    (Numerical Recipes, ``dfridr``) -- smallest *relative* to the entry (or to ``scale``, the
    size of a derivative of f): with a step far larger than the scale on which f changes, the
    quotients are small and steady and wrong, and small in absolute terms is not better there.
    ``rows`` keeps each step's own best entry, to see whether successive steps agree."""

    def __init__(self, power: int, scale: float) -> None:
        self.power = power
        self.scale = scale
        self.row: list[float] = []
        self.best: float | None = None
        self.error = math.inf
        self.level = -1
        self.floor = 0.0  # the rounding error of the best entry
        self.rows: list[tuple[float, float]] = []

    def _rank(self, value: float, error: float) -> tuple[float, float]:
        """How good an entry is: its error relative to its size, then (where nothing has a
        size: f flat around x) its error itself."""
        size = max(abs(value), self.scale)
        return (error / size if size > 0 else math.inf, error)

    def add(self, value: float, level: int, floor: float) -> None:
        """Add the quotient at the next step; ``floor`` is its rounding error."""
        previous, row = self.row, [value]
        row_best, row_error, row_rank = value, math.inf, (math.inf, math.inf)
        best_rank = self._rank(self.best or 0.0, self.error)
        for j in range(1, len(previous) + 1):
            factor = RATIO ** (self.power * j)
            # (r*factor - p)/(factor - 1) written as r + (r - p)/(factor - 1): the same
            # number, without the product that overflows for a derivative near 1e308
            extrapolated = row[j - 1] + (row[j - 1] - previous[j - 1]) / (factor - 1.0)
            error = max(abs(extrapolated - row[j - 1]), abs(extrapolated - previous[j - 1]), floor)
            if not (math.isfinite(extrapolated) and math.isfinite(error)):
                row.append(extrapolated)
                continue
            rank = self._rank(extrapolated, error)
            if rank <= row_rank:
                row_best, row_error, row_rank = extrapolated, error, rank
            if rank <= best_rank:
                self.best, self.error, self.level = extrapolated, error, level
                self.floor = floor
                best_rank = rank
            row.append(extrapolated)
        self.row = row
        if row_error < math.inf:
            self.rows.append((row_best, row_error))

    def restart(self) -> None:
        """A step could not be evaluated: the next one starts a new tableau."""
        self.row = []
        self.rows.append((math.nan, math.inf))

    def steady(self, tolerance: float) -> bool:
        """Whether the last :data:`_SETTLED_ROWS` steps each found an estimate within
        ``tolerance`` of its error, and the estimates lie within ``tolerance`` of each other."""
        last = self.rows[-_SETTLED_ROWS:]
        if len(last) < _SETTLED_ROWS:
            return False
        values = [v for v, _ in last]
        return all(e <= tolerance for _, e in last) and max(values) - min(values) <= tolerance


def _describe(node: Value, name: Callable[[Value], str] | None) -> str:
    if name is not None:
        return name(node)
    if node.label is not None:
        return node.label
    return f"{node.op}(…)"


def estimate(
    root: Value,
    leaf: Value,
    *,
    name: Callable[[Value], str] | None = None,
    rel: float = REL,
    _graph: _Graph | None = None,
) -> Estimate:
    """What finite differences say about d(root)/d(leaf): see the module's docstring.

    ``name`` describes a node in the explanation of a kink (default: its label, or its op).
    """
    graph = _graph or _Graph(root)
    if leaf not in graph.position:  # root does not depend on leaf at all
        return Estimate("ok", 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, None, 0.0)
    cone = graph.cone(leaf)
    x = graph.base[leaf]
    f0 = graph.base[root]
    kinks = tuple(
        (node.op, _describe(node, name))
        for node, _, a, _ in cone
        if node.op in _KINK_OPS and graph.base[a] == 0.0
    )
    h0 = EPS ** (1 / 3) * max(1.0, abs(x))
    rounding = graph.rounding(cone)
    scale: float | None = None
    central = right = left = _Tableau(2, 0.0)  # made at the first step f can be evaluated
    overflowed = False  # f could be evaluated, but its differences were not finite
    for level in range(_LEVELS):
        h = h0 / RATIO**level
        xp, xm = x + h, x - h
        if xp == x or xm == x:  # the step is below the spacing of floats at x
            break
        up, down = graph.at(leaf, xp, cone), graph.at(leaf, xm, cone)
        if up is None or down is None:
            central.restart()
            right.restart()
            left.restart()
            continue
        quotients = ((up - down) / (xp - xm), (up - f0) / (xp - x), (f0 - down) / (x - xm))
        if not all(map(math.isfinite, quotients)):  # f near overflow: inf - inf
            overflowed = True
            central.restart()
            right.restart()
            left.restart()
            continue
        if scale is None:
            # how fast f moves near x over the first step: the size a derivative is measured
            # against where the estimate itself is about 0 (f's own size would not do: a large
            # term that does not depend on x would make any error look small)
            scale = max(abs(quotients[1]), abs(quotients[2]))
            central, right, left = _Tableau(2, scale), _Tableau(1, scale), _Tableau(1, scale)
        # the rounding error of a quotient: that of f on both sides, and a few ulps of the
        # values themselves, over the step
        noise = 2 * rounding + 4 * math.ulp(max(abs(up), abs(down), abs(f0)))
        central.add(quotients[0], level, noise / (xp - xm))
        right.add(quotients[1], level, noise / (xp - x))
        left.add(quotients[2], level, noise / (x - xm))
        if _settled(central, right, left, scale, rel):
            break
    if central.best is None or right.best is None or left.best is None:
        why = (
            "its differences are too large for a float"
            if overflowed
            else "f cannot be evaluated on both sides of {x}"
        )
        edge = "" if overflowed else " (a domain edge)"
        return Estimate(
            "undefined",
            kinks=kinks,
            note=f"{why} at any step from h = {format_number(h0, 2)} down{edge}",
        )
    return Estimate(
        "ok",
        central.best,
        central.error,
        left.best,
        right.best,
        left.error,
        right.error,
        h0 / RATIO**central.level,
        scale or 0.0,
        kinks,
        rounding=rounding,
        size=abs(f0) / max(1.0, abs(x)),
        floor=central.floor,
    )


def _settled(central: _Tableau, right: _Tableau, left: _Tableau, scale: float, rel: float) -> bool:
    """Whether smaller steps cannot change the verdict: the last few steps agree on every
    estimate, far inside the tolerance. (A single tight step is not enough: with a step much
    larger than the scale on which f changes, a quotient can look settled and be wrong.)"""
    if central.best is None or right.best is None or left.best is None:
        return False
    size = max(scale, abs(central.best), abs(right.best), abs(left.best))
    return (
        central.steady(0.01 * rel * size)
        and right.steady(0.1 * rel * size)
        and left.steady(0.1 * rel * size)
    )


# --- the verdict -------------------------------------------------------------------------------


def _kink_note(kinks: tuple[tuple[str, str], ...]) -> str:
    """``relu(x - 2) is at its kink: backprop uses relu'(0) = 0 (as PyTorch does)``."""
    names = [text for _, text in kinks[:2]] + (["…"] if len(kinks) > 2 else [])
    conventions = " and ".join(dict.fromkeys(_KINK_OPS[op] for op, _ in kinks))
    its = "its kink" if len(kinks) == 1 else "their kinks"
    return (
        f"{' and '.join(names)} {'is' if len(kinks) == 1 else 'are'} at {its}, where backprop "
        f"takes {conventions} (as PyTorch does)"
    )


def judge(name: str, grad: float, est: Estimate, *, rel: float = REL) -> Check:
    """The verdict on backprop's ``grad`` for the input ``name``, given the finite differences.

    They agree within ``rel`` (relative to the larger of the two, or to how fast f moves over
    the first step) plus the estimate's own error. The estimate is trusted only where its error
    is within ``rel`` of that size (or, for a derivative of about 0, is all rounding and small
    next to f), and where the one-sided slopes tell the same story: equal to it (smooth), or
    differing and averaging to it (a kink).
    """
    n = format_number
    if est.status == "unchecked":
        return Check(name, grad, None, "unchecked", est.note)
    if est.status == "undefined" or est.derivative is None:
        note = (est.note or "f cannot be evaluated on both sides of {x}").format(x=name)
        return Check(name, grad, None, "undefined", note)
    c, ec = est.derivative, est.error
    left, right = est.left, est.right
    assert left is not None and right is not None
    el, er = est.left_error, est.right_error
    # below the smallest normal float a derivative is 0 at double precision (f is 0 around x)
    tolerance = max(rel * max(abs(c), est.scale), TINY)
    sides = max(rel * max(abs(c), abs(left), abs(right), est.scale), TINY)
    sides_trusted = max(el, er) <= sides
    if sides_trusted:  # slopes that can be trusted set the size too (at a kink c may be 0)
        tolerance = sides
    if sides_trusted and ec <= tolerance and abs(right - left) > tolerance + el + er:
        if abs(c - (left + right) / 2) <= tolerance + ec + (el + er) / 2:
            k = est.times
            slopes = (
                f"the slopes left and right of {name} are {n(left / k)} and {n(right / k)}, "
                f"and a central difference gives their average, {n(c / k)}"
            )
            if k != 1:  # what the grad is compared with: the slopes of k passes
                slopes += f" ({n(k)} passes: {n(left)}, {n(right)} and {n(c)})"
            if est.kinks:
                reason = f"{_kink_note(est.kinks)}; {slopes}"
            else:  # the kink may be anywhere the differences reach (abs(x) at x = 1e-300)
                h = n(est.h or 0.0, 2)
                reason = (
                    f"the output has a kink at this value of {name} or within h = {h} of it: "
                    f"{slopes}"
                )
            return Check(name, grad, c, "kink", reason, left, right, ec)
    consistent = not sides_trusted or (
        abs(right - c) <= tolerance + er + ec and abs(left - c) <= tolerance + el + ec
    )
    # trusted: accurate relative to the derivative, or as accurate as f's rounding allows and
    # that is fine next to f's own size (a derivative of 0 can only be resolved that way)
    resolved = ec <= tolerance or (ec <= 2 * est.floor and ec <= rel * est.size)
    if not resolved or not consistent:
        if not consistent:
            why = (
                f"the difference quotients disagree (central {n(c)}, one-sided {n(left)} and "
                f"{n(right)}): near this {name}, f changes too fast or too unevenly for a "
                "finite difference to be trusted"
            )
        elif ec <= 2 * est.floor:
            why = (
                f"rounding limits it: f itself is accurate only to about "
                f"± {n(est.rounding, 2)} here, so the quotients agree no closer than "
                f"± {n(ec, 2)} around {n(c)}"
            )
        else:
            why = (
                f"the difference quotients did not settle as h shrank (the best is {n(c)} ± "
                f"{n(ec, 2)} at h = {n(est.h or 0.0, 2)}): near this {name}, f changes too fast "
                "or too unevenly for a finite difference to be trusted"
            )
        return Check(name, grad, c, "inconclusive", why, left, right, ec)
    if grad and abs(grad) <= ec and abs(c) <= ec:
        # nothing was measured: a grad of 0 would agree as well (x*1e-12 + 1 at x = 2: the
        # change x*1e-12 makes is below what f = 1.000... can hold)
        why = (
            f"the slope is too small for a finite difference to see here: it gives {n(c)} "
            f"± {n(ec, 2)}, and backprop's grad {n(grad)} lies within that (f is accurate "
            f"only to about ± {n(est.rounding, 2)}, more than the change grad × h would make)"
        )
        return Check(name, grad, c, "inconclusive", why, left, right, ec)
    if abs(grad - c) <= max(rel * max(abs(grad), abs(c), est.scale), TINY) + ec:
        return Check(name, grad, c, "agree", None, left, right, ec)
    reason = (
        f"the finite difference is {n(c)} (± {n(ec, 2)}, h = {n(est.h or 0.0, 2)}) "
        f"and backprop's grad is {n(grad)}"
    )
    if est.kinks:
        reason += f"; {_kink_note(est.kinks)}, although the output is smooth here"
    return Check(name, grad, c, "differ", reason, left, right, ec)


def check_gradients(
    root: Value,
    inputs: Mapping[str, Value],
    *,
    rel: float = REL,
    name: Callable[[Value], str] | None = None,
    budget: int = BUDGET,
) -> list[Check]:
    """Each input's ``.grad`` (of one pass) against finite differences: see :func:`judge`."""
    estimates = estimate_all(root, inputs, rel=rel, name=name, budget=budget)
    return [
        judge(input_name, value.grad, estimates[input_name], rel=rel)
        for input_name, value in inputs.items()
    ]


def estimate_all(
    root: Value,
    inputs: Mapping[str, Value],
    *,
    rel: float = REL,
    name: Callable[[Value], str] | None = None,
    budget: int = BUDGET,
) -> dict[str, Estimate]:
    """:func:`estimate` for each input, in order, until ``budget`` node evaluations are spent;
    the inputs left over are ``unchecked``."""
    graph = _Graph(root)
    result: dict[str, Estimate] = {}
    for input_name, value in inputs.items():
        if graph.spent >= budget:
            result[input_name] = Estimate(
                "unchecked",
                note=f"not checked: a finite difference evaluates the graph again for every "
                f"input, and this program has too many to check all quickly "
                f"({len(result)} of {len(inputs)} checked)",
            )
        else:
            result[input_name] = estimate(root, value, name=name, rel=rel, _graph=graph)
    return result
