"""The step panel: what the step that just fired did, edge by edge, and why.

The screen sets :attr:`StepPanel.walk` and calls :meth:`StepPanel.update_from` (attributes
down). The panel renders a table when it is wide enough and stacks each edge on two lines when it
is not. Styles are theme variables (``$accent``...) or text styles, never literal colours.
"""

from __future__ import annotations

from textual.content import Content

from engine import Edge, Step, Value
from engine.numbers import format_number, worked
from stepgrad.explain import (
    UNUSED_AT_START,
    called,
    check_numbers,
    contribution_ordinals,
    described,
    difference_quotient,
    edge_note,
    gradient_check,
    local_formula,
    ordinal,
    plural,
    worked_product,
)
from stepgrad.lesson import bugs
from stepgrad.state import Walkthrough

from .lines import LineWidget

__all__ = ["StepPanel", "StepTitle", "node_status"]

NOT_COMPUTED = "—"
_SHOWN_CHECKS = 6  # rows of the gradient check that need a look, at most
_VERDICTS = {  # verdict -> mark, words, style: never colour alone
    "agree": ("✓", "agree", "$success"),
    "differ": ("✗", "DIFFER", "bold $error"),
    "kink": ("⚠", "kink", "bold $warning"),
    "inconclusive": ("?", "inconclusive", "$warning"),
    "undefined": ("?", "undefined", "dim"),
    "unchecked": ("…", "not checked", "dim"),
}


def n(x: float) -> str:
    return format_number(x)


def node_status(walk: Walkthrough, node: Value) -> str:
    """``fired at step 3``, ``waits for 1 more contribution``, ``not reached yet``..."""
    if walk.cleared:
        return "grad zeroed"
    for k, step in enumerate(walk.trace.steps[: walk.step], start=1):
        if step.node is node:
            return "firing now" if k == walk.step else f"fired at step {k}"
    pending = None
    for step in walk.trace.steps[: walk.step]:
        for edge in step.edges:
            if edge.parent is node:
                pending = edge.pending
    if pending is None:
        if node is walk.trace.root and walk.trace.steps:
            return "fires first (step 1)"
        if not node.requires_grad:
            return "a constant: no grad"
        if node in walk.dead:
            return "unused: no path leads to the output, so its grad stays 0"
        return "no contribution yet in this pass"
    if pending:
        s = "" if pending == 1 else "s"
        return f"waits for {pending} more contribution{s}"
    return "complete (input)" if not node.parents else "complete: fires when its turn comes"


class StepTitle(LineWidget):
    """The step panel's heading: ``━ step 4 of 5 · x * x fires · … ━━━━``, one line."""

    DEFAULT_CSS = """
    StepTitle { height: 1; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.text = ""
        self.more = ""  # where the graph above goes on beyond its view: "◀ ▼"

    def show(self, text: str, more: str = "") -> None:
        if (text, more) != (self.text, self.more):
            self.text, self.more = text, more
            self.refresh()

    def lines(self, width: int) -> list[Content]:
        more = Content.styled(f" more {self.more} ", "bold $text-muted") if self.more else None
        room = width - 2 - (more.cell_length + 1 if more is not None else 0)
        text = self.text
        while len(text) + 2 > room and " · " in text:  # drop whole parts from the end
            head, last = text.rsplit(" · ", 1)
            # ... but the upstream grad, the number the panel's products start from, first
            # loses its name: "upstream ∂r/∂b = -1.01562" -> "upstream -1.01562"
            if last.startswith("upstream ") and " = " in last:
                text = f"{head} · upstream {last.rsplit(' = ', 1)[1]}"
            else:
                text = head
        title = Content.styled(f" {text} ", "bold $foreground")
        if title.cell_length > room:
            title = title.truncate(max(0, room), ellipsis=True)
        if more is not None and more.cell_length + 4 > width:
            more = None
        parts: list[Content | tuple[str, str]] = [("━", "$accent"), title]
        used = 1 + title.cell_length + (more.cell_length + 1 if more is not None else 0)
        parts.append(("━" * max(0, width - used), "$accent"))
        if more is not None:
            parts += [more, ("━", "$accent")]
        return [Content.assemble(*parts)]


STEADY_ROWS = 40
"""From this many terminal rows on, the step panel keeps the height of the longest step of the
pass so far (see :meth:`StepPanel._fit`)."""


class StepPanel(LineWidget):
    """Step k of N: the firing node, its upstream grad, and each parent edge's arithmetic."""

    DEFAULT_CSS = """
    StepPanel { height: auto; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.walk: Walkthrough | None = None
        self._last_height = -1
        self._height_of: object = None  # the trace the height was grown for
        self._width = 0
        self._lines: dict[tuple[object, ...], list[Content]] = {}
        self.roomy = False  # the lecture layout: edges stacked, spaced out, in bold

    def update_from(self, walk: Walkthrough) -> None:
        self.walk = walk
        self._fit()
        self.refresh()

    def _fit(self) -> None:
        """Grow the height to the lines this step needs (wrapped at the width); on a tall
        screen it only grows within a pass, so the screen is laid out again a few times per
        pass, not every step. Below :data:`STEADY_ROWS` rows it fits every step: blank lines
        kept from a longer step would push the narration under it off the screen."""
        walk = self.walk
        if walk is None or not self.content_size.width:
            return  # not laid out yet: ``height: auto`` asks get_content_height at the width
        width = max(20, self.content_size.width)
        needed = len(self.lines(width))
        if (
            self._height_of != (walk.trace, walk.cleared)
            or self._width != width
            or self.app.size.height < STEADY_ROWS
        ):
            self._height_of, self._width = (walk.trace, walk.cleared), width
            floor = 1
        else:
            floor = self._last_height
        height = max(floor, needed)
        if height != self._last_height:
            self._last_height = height
            self.styles.height = height

    def on_resize(self) -> None:
        self._fit()

    # --- text -----------------------------------------------------------------------------------

    def title(self) -> str:
        walk = self.walk
        if walk is None:
            return "step"
        if walk.cleared:
            return f"pass {walk.pass_.number} · zero_grad"
        step = walk.current
        if step is None:
            return f"pass {walk.pass_.number} · step 0 of {walk.total} · nothing fired yet"
        program = walk.program
        own = walk.correct_own() if isinstance(walk, bugs.BugWalkthrough) else None
        label, aside = bugs.upstream(program, step, own)
        return (
            f"step {walk.step} of {walk.total} · {described(program, step.node)} fires · upstream "
            f"{label} = {n(step.upstream)}{aside}"
        )

    def render(self) -> Content:
        """All the text as one Content, before wrapping (the tests read it)."""
        walk = self.walk
        if walk is None:
            return Content("")
        return self._compose_content(walk, max(20, self.content_size.width))

    def lines(self, width: int) -> list[Content]:
        """The panel's lines, wrapped at ``width`` (cached per state and width)."""
        walk = self.walk
        if walk is None:
            return []
        width = max(10, width)
        key = (walk.pass_.serial, walk.step, walk.cleared, width)
        cached = self._lines.get(key)
        if cached is not None:
            return cached
        lines: list[Content] = []
        for line in self._compose_content(walk, width).split("\n"):
            if line.cell_length <= width:
                lines.append(line)
                continue
            plain = line.plain
            indent = len(plain) - len(plain.lstrip(" "))
            if indent and width - indent >= 20:  # wrapped under its own start, not at column 0
                pad = Content(" " * indent)
                lines += [pad + part for part in line[indent:].wrap(width - indent)]
            else:
                lines += line.wrap(width) or [Content("")]
        if len(self._lines) >= 4:  # this state, the one before, the one prefetched
            self._lines.pop(next(iter(self._lines)))
        self._lines[key] = lines
        return lines

    def _compose_content(self, walk: Walkthrough, width: int) -> Content:
        lines: list[Content] = []
        program = walk.program
        out = called(program, program.output)
        if walk.cleared:
            lines.append(
                Content.assemble(
                    ("zero_grad", "bold $accent"),
                    ": all grads set to 0; the next pass starts clean. Press ",
                    ("b", "bold"),
                    " to run backward again.",
                )
            )
            return Content("\n").join(lines)
        step = walk.current
        if step is None:
            lines += self._start_lines(walk, out)
        else:
            lines += self._edge_lines(walk, step, width)
            for line in bugs.step_lines(walk):  # a bug mode: what this step did wrong
                style = "bold $text-error" if line.startswith("✗") else "bold"
                lines.append(Content.styled(line, style))
        if walk.step >= walk.total and walk.total:
            lines.append(self._done_line(walk))
            lines += self._check_lines(walk)
        return Content("\n").join(lines)

    def _check_lines(self, walk: Walkthrough) -> list[Content]:
        """The gradient check: each input's grad against finite differences (x the passes),
        with the verdict and, for any verdict but agree, the reason on the next line."""
        checks = gradient_check(walk)
        if not checks:
            return []
        stack = walk.pass_.stack
        scaled = f"{stack} × " if stack > 1 else ""
        head = Content.assemble(
            ("gradient check", "bold"), f": grad vs {scaled}{difference_quotient(walk.program)}"
        )
        agreeing = [c for c in checks if c.verdict == "agree"]
        unchecked = [c for c in checks if c.verdict == "unchecked"]
        if len(checks) > 6:  # a big program: the counts, then only what needs a look
            parts: list[Content | str | tuple[str, str]] = [
                head,
                ": ",
                (f"✓ {len(agreeing)} of {len(checks)} inputs agree", "bold $success"),
            ]
            for verdict in ("differ", "kink", "inconclusive", "undefined", "unchecked"):
                count = sum(c.verdict == verdict for c in checks)
                if count:
                    mark, word, style = _VERDICTS[verdict]
                    parts += [", ", (f"{mark} {count} {word}", style)]
            lines = [Content.assemble(*parts)]
            shown = [c for c in checks if c.verdict not in ("agree", "unchecked")]
        else:
            lines = [head]
            shown = [c for c in checks if c.verdict != "unchecked"]
        for check in shown[:_SHOWN_CHECKS]:
            mark, word, style = _VERDICTS[check.verdict]
            grad, numeric = check_numbers(check)
            lines.append(
                Content.assemble(
                    "  ",
                    (check.name, "bold"),
                    f"  {grad}  vs  {numeric}  ",
                    (f"{mark} {word}", style),
                )
            )
            if check.reason:
                lines.append(Content.styled(f"    {check.reason}", "dim"))
        if len(shown) > _SHOWN_CHECKS:
            lines.append(Content(f"  … and {len(shown) - _SHOWN_CHECKS} more"))
        if unchecked and unchecked[0].reason:
            lines.append(Content.styled(f"  {unchecked[0].reason}", "dim"))
        return lines

    def _start_lines(self, walk: Walkthrough, out: str) -> list[Content]:
        lines = []
        pass_ = walk.pass_
        if walk.total == 0:
            lines.append(
                Content(
                    f"The output {out} is a leaf: its grad is 1 and there is nothing to propagate."
                )
            )
            return lines
        if pass_.number == 1 and not pass_.zeroed:
            lines.append(
                Content.assemble(
                    "Nothing has fired yet: every grad is ",
                    (NOT_COMPUTED, "bold"),
                    " (not computed)",
                    UNUSED_AT_START if walk.dead else ". ",
                )
            )
        elif pass_.accumulates:
            if walk.exact_multiples:
                end = f"At the end every grad is exactly {pass_.stack}x one pass's grad."
            else:  # a bug mode
                end = (
                    f"Correct passes would end at exactly {pass_.stack}x one pass's grads; "
                    "with this rule broken they need not."
                )
            lines.append(
                Content.assemble(
                    (f"pass {pass_.number} · grads accumulate (no zero_grad)", "bold $warning"),
                    f": each grad starts from what pass {pass_.number - 1} left, and += adds "
                    f"this pass on top. {end}",
                )
            )
        else:
            lines.append(
                Content.assemble(
                    ("zero_grad", "bold $accent"),
                    ": every grad is 0, so this pass starts clean.",
                )
            )
        lines.append(
            Content.assemble(
                "Press ",
                ("→", "bold"),
                f": the output {out} gets ",
                (f"∂{out}/∂{out} = 1", "bold"),
                f" and fires first, sending upstream × local along each edge "
                f"({plural(walk.total, 'step')} in this pass).",
            )
        )
        return lines

    def _done_line(self, walk: Walkthrough) -> Content:
        pass_ = walk.pass_
        times = ""
        if pass_.stack > 1:
            times = (
                f" ({pass_.stack}x one pass: grads accumulated)"
                if walk.exact_multiples
                else f" (grads accumulated over {pass_.stack} passes)"
            )
        return Content.assemble(
            ("✓ ", "bold $success"),
            (f"pass {pass_.number} done", "bold"),
            f": every grad is final{times}.  ",
            ("b", "bold"),
            " backward again · ",
            ("z", "bold"),
            " zero_grad",
        )

    def _edge_lines(self, walk: Walkthrough, step: Step, width: int) -> list[Content]:
        program = walk.program
        index = walk.step - 1
        ordinals = contribution_ordinals(walk)
        rows: list[list[Content]] = []
        notes: list[Content] = []
        for e, edge in enumerate(step.edges):
            k, total = ordinals[(index, e)]
            name = called(program, edge.parent)
            fresh = k == 1 and edge.parent not in walk.pass_.base
            formula = local_formula(program, step, edge)
            who = name if total == 1 else f"{name} ({ordinal(k)} of {total})"
            grad = self._grad_cell(edge, fresh)
            overwritten = bugs.grad_text(walk, edge, fresh)  # bug mode overwrite: = not +=
            if overwritten is not None:
                grad = Content.assemble(overwritten[0], ("  " + overwritten[1], "bold $error"))
            note = bugs.edge_note(walk, index, e) or edge_note(edge)
            rows.append(
                [
                    Content.styled(who, "bold"),
                    Content(formula),
                    Content(n(edge.local)),
                    Content(worked_product(step.upstream, edge.local, edge.contribution)),
                    grad,
                    Content.styled(note, "dim"),
                ]
            )
            if not fresh and overwritten is None:
                notes.append(self._accumulation_note(walk, edge, name, k))
        if not rows:
            rows.append(
                [Content.styled("(no edge needs a gradient: its inputs are constants)", "dim")]
            )
        headers = [
            "edge",
            "local derivative",
            "local",
            "upstream × local = contribution",
            "grad before → after",
            "then",
        ]
        table = _table(headers, rows, width, roomy=self.roomy)
        return table + notes

    def _grad_cell(self, edge: Edge, fresh: bool) -> Content:
        after = (n(edge.grad_after), "bold")
        if fresh:
            return Content.assemble(NOT_COMPUTED, " → ", after)
        # numbers that add up as written (see engine.numbers.worked)
        before, contribution, total = worked(
            edge.grad_before, "+", edge.contribution, edge.grad_after
        )
        return Content.assemble(
            before, " + ", contribution, " → ", (total, "bold"), ("  +=", "bold $warning")
        )

    def _accumulation_note(self, walk: Walkthrough, edge: Edge, name: str, k: int) -> Content:
        before, contribution, after = worked(
            edge.grad_before, "+", edge.contribution, edge.grad_after
        )
        if k > 1:
            why = f"{name} is shared: this {ordinal(k)} contribution adds to the {before} it has"
        elif walk.pass_.accumulates:
            why = (
                f"{name} already holds {before} from pass {walk.pass_.number - 1} "
                "(no zero_grad), and += adds to it"
            )
        else:
            why = f"{name} already holds {before}, and += adds to it"
        return Content.assemble(
            ("+= ", "bold $warning"),
            why,
            ": ",
            (f"{before} + {contribution} = {after}", "bold"),
        )


def _formula_lines(who: Content, formula: Content, width: int) -> list[Content]:
    """``x  ∂r/∂x = 2*x = 2*8 = 16`` on one line where it fits; else the formula under the
    name, broken only before its ``=`` signs. A break at any space made
    ``∂h/∂(…) = 1 - h**2 = 1`` end a line, with ``- (-0.48)**2 = 0.77`` on the next: a
    derivative that read as 1."""
    line = Content.assemble(who, "  ", formula)
    if line.cell_length <= width:
        return [line]
    pieces = formula.plain.split(" = ")
    lines = [who]
    current = "   " + pieces[0]
    for piece in pieces[1:]:
        if len(current) + 3 + len(piece) <= width:
            current += " = " + piece
        else:
            lines.append(Content(current))
            current = "     = " + piece
    lines.append(Content(current))
    return lines


def _table(
    headers: list[str], rows: list[list[Content]], width: int, *, roomy: bool = False
) -> list[Content]:
    """Rows as aligned columns if they fit in ``width``, else each edge stacked on two lines.

    ``roomy`` (the lecture layout) always stacks, with the arithmetic in bold and an empty line
    between edges, so each edge reads as one short paragraph from the back of a room.
    """
    if len(rows[0]) == 1:
        return [rows[0][0]]
    columns = len(headers)
    widths = [max(len(headers[c]), *(row[c].cell_length for row in rows)) for c in range(columns)]
    gap = 2
    if not roomy and sum(widths) + gap * (columns - 1) <= width:
        lines = []
        header = Content.assemble(
            *(
                (headers[c].ljust(widths[c]) + (" " * gap if c < columns - 1 else ""), "dim")
                for c in range(columns)
            )
        )
        lines.append(header)
        for row in rows:
            parts: list[Content | str] = []
            for c, cell in enumerate(row):
                if c == 2:  # numbers right-aligned
                    parts.append(" " * (widths[c] - cell.cell_length) + cell.plain)
                else:
                    parts.append(cell.pad_right(widths[c] - cell.cell_length))
                if c < columns - 1:
                    parts.append(" " * gap)
            lines.append(Content.assemble(*parts))
        return lines
    lines = []
    for i, row in enumerate(rows):
        who, formula, _local, contribution, grad, note = row
        if roomy:
            contribution = contribution.stylize("bold")
            if i:
                lines.append(Content(""))
        lines += _formula_lines(who, formula, width)
        second = Content.assemble(
            ("   upstream × local ", "dim"), contribution, ("   grad ", "dim"), grad
        )
        if second.cell_length > width:  # narrow: drop the label before the arithmetic
            second = Content.assemble("   ", contribution, ("   grad ", "dim"), grad)
        if second.cell_length > width:  # narrower: the grad on a line of its own
            lines.append(Content.assemble("   ", contribution))
            second = Content.assemble(("   grad ", "dim"), grad)
        if second.cell_length + 3 + note.cell_length <= width:
            lines.append(Content.assemble(second, "   ", note))
        else:
            lines += [second, Content.assemble("   ", note)]
    return lines
