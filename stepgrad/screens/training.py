"""The training screen: the same few SGD steps with and without ``zero_grad``, side by side.

Each iteration shows the loss and every parameter's update ``data → after`` with the grad that
made it; without ``zero_grad`` the grad is written as the sum it is (``last p.grad + this
iteration's``). A loss that went up is marked ``▲ loss went up`` (a marker, not colour alone).
Wide enough, the two runs stand side by side; narrower, they are stacked and each sum gets a
line of its own, so 60 columns need only vertical scrolling.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.events import Resize
from textual.screen import ModalScreen
from textual.widgets import Static

from engine.numbers import format_number
from engine.parse import ProgramError
from stepgrad.examples import Example
from stepgrad.training import EXPLANATION, WENT_UP, Comparison, Run, compare, heading

__all__ = ["TrainingScreen", "training_lines"]

WENT_DOWN = "▼"
_SEPARATOR = " │ "
_TITLES = {
    True: ("with zero_grad", "p.grad = this iteration's gradient"),
    False: ("without zero_grad", "p.grad = last p.grad + this iteration's"),
}

Segment = tuple[str, str]
"""A piece of a line: (text, style)."""


def _n(x: float) -> str:
    return format_number(x, 4)


def _width(line: list[Segment]) -> int:
    return sum(cell_len(text) for text, _ in line)


def _pad(line: list[Segment], width: int) -> list[Segment]:
    return [*line, (" " * (width - _width(line)), "")]


def _run_cells(run: Run, params: tuple[str, ...], *, narrow: bool) -> list[list[list[Segment]]]:
    """Per row (each iteration, then the final one), the run's lines for that row."""
    its = run.iterations
    went_up = run.went_up()
    name_w = max(cell_len(p) for p in params)
    data_w = max(cell_len(_n(it.data[p])) for it in its for p in params)
    after_w = max(cell_len(_n(it.after[p])) for it in its for p in params)
    grad_w = max(cell_len(_n(it.grad[p])) for it in its for p in params)
    before_w = max(cell_len(_n(it.grad[p] - it.own[p])) for it in its for p in params)
    rows: list[list[list[Segment]]] = []
    for i, loss in enumerate(run.losses):
        lines: list[list[Segment]] = []
        loss_line: list[Segment] = [("loss ", "$text-muted"), (_n(loss), "bold")]
        if went_up[i]:
            loss_line += [("  ", ""), (WENT_UP, "bold $text-error")]
        elif i > 0 and loss < run.losses[i - 1]:
            loss_line += [("  ", ""), (WENT_DOWN, "$text-success")]
        lines.append(loss_line)
        if i == len(its):  # after the last update: where the parameters ended
            ended = ", ".join(f"{p} {_n(run.final[p])}" for p in params)
            if narrow:
                lines.append([(ended, "$text-muted")])
            else:
                loss_line.append((f"  ({ended})", "$text-muted"))
            rows.append(lines)
            continue
        it = its[i]
        for p in params:
            update: list[Segment] = [
                (p.ljust(name_w) + " ", "bold"),
                (_n(it.data[p]).rjust(data_w), ""),
                (" → ", "$text-muted"),
                (_n(it.after[p]).ljust(after_w), ""),
                ("  grad ", "$text-muted"),
                (_n(it.grad[p]).rjust(grad_w), "bold"),
            ]
            if run.zero_grad:
                lines.append(update)
                continue
            # p.grad after backward = what the last iteration left + this iteration's own
            before = _n(it.grad[p] - it.own[p]) if i else "0"
            total: list[Segment] = [
                (" = ", "$text-muted"),
                (before.rjust(before_w), ""),
                (" + ", "$text-muted"),
                (_n(it.own[p]), ""),
            ]
            if narrow:
                indent = _width(update) - grad_w - len("  grad ") + 2
                lines += [update, [(" " * indent, ""), *total]]
            else:
                lines.append(update + total)
        rows.append(lines)
    return rows


def _left(i: int, count: int) -> str:
    return "after" if i == count - 1 else str(i + 1)


def _side_by_side(comparison: Comparison) -> list[list[Segment]]:
    params = comparison.spec.params
    runs = [_run_cells(run, params, narrow=False) for run in comparison.runs]
    widths = [
        max([_width(line) for row in cells for line in row] + [cell_len(t) for t in _TITLES[z]])
        for cells, z in zip(runs, (True, False), strict=True)
    ]
    left_w = len("after")
    out: list[list[Segment]] = []
    for k in range(2):
        line: list[Segment] = [(" " * left_w, "")]
        for run_index, zero in enumerate((True, False)):
            text = _TITLES[zero][k]
            style = "bold $accent" if k == 0 else "$text-muted"
            line += [(_SEPARATOR, "$text-muted"), *_pad([(text, style)], widths[run_index])]
        out.append(line)
    rule = "─" * left_w + "".join("─┼─" + "─" * w for w in widths)
    out.append([(rule, "$text-muted")])
    count = len(runs[0])
    for i in range(count):
        height = max(len(cells[i]) for cells in runs)
        for j in range(height):
            label = _left(i, count) if j == 0 else ""
            line = [(label.rjust(left_w), "bold")]
            for run_index, cells in enumerate(runs):
                part = cells[i]
                piece = part[j] if j < len(part) else []
                line += [(_SEPARATOR, "$text-muted"), *_pad(piece, widths[run_index])]
            out.append(line)
    return out


def _stacked(comparison: Comparison) -> list[list[Segment]]:
    params = comparison.spec.params
    out: list[list[Segment]] = []
    left_w = len("after")
    for run in comparison.runs:
        if out:
            out.append([])
        title, subtitle = _TITLES[run.zero_grad]
        out.append([(title, "bold $accent")])
        out.append([(subtitle, "$text-muted")])
        cells = _run_cells(run, params, narrow=True)
        for i, lines in enumerate(cells):
            for j, piece in enumerate(lines):
                label = _left(i, len(cells)) if j == 0 else ""
                out.append([(label.rjust(left_w), "bold"), ("  ", ""), *piece])
    return out


def training_lines(comparison: Comparison, width: int) -> tuple[list[Content], bool]:
    """The comparison as lines for a box ``width`` cells wide, and whether they are side by side.

    Side by side if that fits in ``width``, stacked otherwise.
    """
    wide = _side_by_side(comparison)
    side = max(_width(line) for line in wide) <= width
    lines = wide if side else _stacked(comparison)
    return [Content.assemble(*line) for line in lines], side


class TrainingScreen(ModalScreen[None]):
    """The training loop of an example, run with and without ``zero_grad``."""

    DEFAULT_CSS = """
    TrainingScreen {
        align: center middle;
        background: $background 60%;
    }
    #training-box {
        width: auto;
        max-width: 96%;
        height: auto;
        max-height: 96%;
        border: round $accent;
        border-title-style: bold;
        background: $surface;
        padding: 0 2;
        scrollbar-size-vertical: 1;
    }
    #training-box > Static { width: auto; max-width: 100%; }
    #training-head { color: $text-muted; margin-bottom: 1; }
    #training-lesson { margin-top: 1; text-style: bold; }
    #training-explanation { margin-top: 1; color: $text-muted; }
    """

    BINDINGS = [
        Binding("escape,q,t", "dismiss", "Close", key_display="esc"),
    ]

    def __init__(
        self, comparison: Comparison | Example, values: Mapping[str, float] | None = None
    ) -> None:
        """Show ``comparison``, or the training loop of an example at ``values`` (its inputs'
        defaults overridden, as on the command line); if that loop fails, show why."""
        super().__init__()
        self.error: ProgramError | None = None
        """Why the example's loop could not run, or None."""
        self.side_by_side = True
        """Whether the two runs are shown side by side (else stacked), for the tests."""
        self.comparison: Comparison | None = None
        if isinstance(comparison, Comparison):
            self.comparison = comparison
        elif comparison.training is None:
            raise ValueError(f"example {comparison.name!r} has no training loop")
        else:
            try:
                self.comparison = compare(comparison.program, values, comparison.training)
            except ProgramError as err:
                self.error = err

    def compose(self) -> ComposeResult:
        comparison = self.comparison
        with VerticalScroll(id="training-box") as box:
            box.border_title = "zero_grad: one training loop, two ways"
            box.border_subtitle = "esc / t to close"
            if comparison is None:
                assert self.error is not None
                yield Static(
                    Content.assemble(
                        ("The training loop could not run:\n", "bold"),
                        (self.error.format(), "$text-error"),
                    ),
                    id="training-error",
                )
                return
            program = "; ".join(
                line.strip() for line in comparison.source.strip().splitlines() if line.strip()
            )
            yield Static(
                Content.assemble(
                    ("program  ", "bold"), program, "\n", ("training ", "bold"), heading(comparison)
                ),
                id="training-head",
            )
            yield Static(id="training-table")
            yield Static(comparison.lesson(), id="training-lesson")
            yield Static(EXPLANATION, id="training-explanation")

    def on_mount(self) -> None:
        self._layout(self.size.width)

    def on_resize(self, event: Resize) -> None:
        self._layout(event.size.width)

    def _layout(self, screen_width: int) -> None:
        if self.comparison is None:
            return
        # the box is at most 96% of the screen, less its border, padding and scrollbar
        width = max(int(screen_width * 0.96) - 2 - 4 - 1, 20)
        lines, self.side_by_side = training_lines(self.comparison, width)
        self.query_one("#training-table", Static).update(Content("\n").join(lines))
