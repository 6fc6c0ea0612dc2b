"""The panels of the whole loop: the forward pass step by step, and the last gradient step.

:class:`ForwardPanel` takes the step panel's place in forward mode: what the node computed now
is made of (its inputs, each with the step that computed it, so the order is seen to be
topological), and the order itself around it. :class:`UpdatePanel` shows, above the step panel,
what the last gradient step (``u``) did: each parameter before → after, and the output before,
after, and as the first-order prediction expected it.

The screen pushes the state down (attributes down); both are line widgets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.content import Content

from engine.numbers import format_number, worked
from engine.parse import Program
from stepgrad.forward import ForwardWalk, expression_with_numbers, forward_sentences

from .lines import LineWidget

if TYPE_CHECKING:
    from stepgrad.training import GradientStep  # (not imported at startup: a training is rare)

__all__ = ["ForwardPanel", "UpdatePanel", "forward_title"]

NOT_COMPUTED = "—"
_ORDER_AROUND = 3  # op nodes shown before and after the current one in the order line
_PARAMS_SHOWN = 6


def n(x: float) -> str:
    return format_number(x)


def forward_title(walk: ForwardWalk) -> str:
    """``forward step 2 of 5 · x*x + 1 = 65`` (the step panel's heading in forward mode)."""
    step = walk.current
    if step is None:
        return f"forward pass · step 0 of {walk.total} · nothing computed yet"
    program = walk.program
    return (
        f"forward step {step.number} of {walk.total} · {program.describe(step.node)} = "
        f"{n(step.data)}"
    )


def _wrap(lines: list[Content], width: int) -> list[Content]:
    out: list[Content] = []
    for line in lines:
        if line.cell_length <= width:
            out.append(line)
        else:
            out += line.wrap(width) or [Content("")]
    return out


def _sentences(sentences: list[str], width: int) -> list[Content]:
    lines: list[Content] = []
    for sentence in sentences:
        for j, line in enumerate(Content(sentence).wrap(max(10, width - 2)) or [Content("")]):
            lines.append(Content.assemble(("▌ " if j == 0 else "  ", "$accent"), line))
    return lines


class _GrowingPanel(LineWidget):
    """A panel whose height grows to its lines (and shrinks only when :meth:`reset` says)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._height = -1
        self._cache: dict[tuple[object, ...], list[Content]] = {}

    def reset(self) -> None:
        self._height = -1

    def _fit(self) -> None:
        height = max(1, len(self.lines(max(20, self.content_size.width))))
        if height > self._height:
            self._height = height
            self.styles.height = height

    def on_resize(self) -> None:
        self._height = -1
        self._fit()


class ForwardPanel(_GrowingPanel):
    """Forward mode's step panel: the node computed now, its inputs, the order; narration."""

    DEFAULT_CSS = """
    ForwardPanel { height: auto; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.walk: ForwardWalk | None = None
        self.narrating = True

    def update_from(self, walk: ForwardWalk, narrating: bool) -> None:
        if walk is not self.walk:
            self.reset()
        self.walk = walk
        self.narrating = narrating
        self._fit()
        self.refresh()

    def lines(self, width: int) -> list[Content]:
        walk = self.walk
        if walk is None:
            return []
        width = max(10, width)
        key = (id(walk), walk.step, self.narrating, width)
        cached = self._cache.get(key)
        if cached is None:
            cached = _wrap(self._table(walk), width)
            if self.narrating:
                cached += [Content("")] + _sentences(forward_sentences(walk), width)
            if len(self._cache) > 8:
                self._cache.clear()
            self._cache[key] = cached
        return cached

    def _table(self, walk: ForwardWalk) -> list[Content]:
        program = walk.program
        step = walk.current
        lines: list[Content] = []
        if step is None:
            lines.append(
                Content.assemble(
                    "Nothing computed yet: every value but the inputs' and the constants' is ",
                    (NOT_COMPUTED, "bold"),
                    ". Press ",
                    ("→", "bold"),
                    " to compute the first node.",
                )
            )
        else:
            node = step.node
            lines.append(Content.assemble(("computes ", "dim"), (program.describe(node), "bold")))
            parts: list[Content | str | tuple[str, str]] = [("from     ", "dim")]
            seen = []
            for parent in node.parents:
                if parent in seen:
                    continue
                seen.append(parent)
                if len(seen) > 1:
                    parts.append(" · ")
                at = walk.step_of.get(parent)
                where = (
                    f"step {at}"
                    if at is not None
                    else "input"
                    if parent.requires_grad
                    else "constant"
                )
                name = program.name(parent)
                value = n(parent.data)
                parts += [(name, "bold")]
                if name != value:
                    parts.append(f" = {value}")
                parts.append((f" ({where})", "dim"))
            lines.append(Content.assemble(*parts))
            lines.append(
                Content.assemble(
                    ("gives    ", "dim"),
                    f"{expression_with_numbers(node)} = ",
                    (n(step.data), "bold"),
                )
            )
        lines.append(self._order(walk))
        return lines

    def _order(self, walk: ForwardWalk) -> Content:
        """The op nodes in forward order around the current one: done ✓, now ◀, next ones."""
        program = walk.program
        at = walk.step  # the current step's index + 1 (0: none yet)
        first = max(0, at - 1 - _ORDER_AROUND)
        last = min(walk.total, max(at, 1) + _ORDER_AROUND)
        parts: list[Content | str | tuple[str, str]] = [("order    ", "dim")]
        if first > 0:
            parts.append(("… ", "dim"))
        for i in range(first, last):
            step = walk.steps[i]
            if i > first:
                parts.append((" → ", "dim"))
            name = program.name(step.node)
            if step.number < at:
                parts += [name, (" ✓", "$success")]
            elif step.number == at:
                parts += [(name, "bold $warning"), (" ◀ now", "bold $warning")]
            else:
                parts.append((name, "dim"))
        if last < walk.total:
            parts.append((" → …", "dim"))
        return Content.assemble(*parts)


class UpdatePanel(_GrowingPanel):
    """What the last gradient step did, shown until the next backward pass starts."""

    DEFAULT_CSS = """
    UpdatePanel { height: auto; margin-bottom: 1; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.step: GradientStep | None = None
        self.program: Program | None = None

    def update_from(self, step: GradientStep | None, program: Program) -> None:
        if step is not self.step:
            self.reset()
        self.step = step
        self.program = program
        self._fit()
        self.refresh()

    def lines(self, width: int) -> list[Content]:
        step, program = self.step, self.program
        if step is None or program is None:
            return []
        width = max(10, width)
        key = (id(step), width)
        cached = self._cache.get(key)
        if cached is None:
            cached = _wrap(update_lines(step, program), width)
            self._cache = {key: cached}
        return cached


def update_lines(step: GradientStep, program: Program) -> list[Content]:
    """The gradient step as lines: the update, each parameter, the output three ways."""
    from stepgrad.training import lr_text  # with the step: not at startup

    out = program.name(program.output)
    lr = lr_text(step.lr)  # the digits the rows below work out from
    lines = [
        Content.assemble(
            (f"gradient step {step.number}", "bold $accent"),
            f": p.data -= {lr} * p.grad on {len(step.params)} parameter"
            f"{'s' if len(step.params) != 1 else ''}, then zero_grad and the forward pass "
            "again (t also runs the loop without zero_grad)",
        )
    ]
    shown = step.params[:_PARAMS_SHOWN]
    # numbers that work out by hand: before - lr × p.grad gives after (see engine.numbers.worked)
    rows = {
        name: worked(step.before[name], "−", step.grad[name], step.after[name], factor=lr)
        for name in shown
    }
    widths = [
        max(len(name) for name in shown),
        max(len(row[0]) for row in rows.values()),
        max(len(row[2]) for row in rows.values()),
    ]
    for name in shown:
        before, grad, after = rows[name]
        lines.append(
            Content.assemble(
                "  ",
                (name.ljust(widths[0]), "bold"),
                f"  {before.rjust(widths[1])} → ",
                (after.ljust(widths[2]), "bold"),
                (f"   p.grad {grad}", "dim"),
            )
        )
    if len(step.params) > _PARAMS_SHOWN:
        lines.append(Content.styled(f"  … and {len(step.params) - _PARAMS_SHOWN} more", "dim"))
    if step.passes > 1:
        prediction = "Σ ∂/∂p·Δp"
        lines.append(
            Content.styled(
                f"  p.grad held {step.passes} backward passes (no zero_grad): the step was "
                f"{step.passes}x what one gradient says",
                "$warning",
            )
        )
    else:
        prediction = f"-{lr}·Σ p.grad²"
    after, before, change = worked(step.loss_after, "−", step.loss_before, step.change)
    start, predicted_change, predicted = worked(
        step.loss_before, "+", step.predicted_change, step.predicted
    )
    if start != before:  # the prediction is before + its change: said as a sum that works out
        predicted = f"{start} + {predicted_change} = {predicted}"
    lines.append(
        Content.assemble(
            (f"{out} ", "bold"),
            f"{before} → ",
            (after, "bold"),
            f" (change {change})",
            ("   first-order prediction ", "dim"),
            predicted,
            (f" ({prediction} = {predicted_change})", "dim"),
        )
    )
    return lines
