"""The training window (``t``): any program's training loop, with and without ``zero_grad``.

At the top, what to run: the learning rate, the number of steps and the parameters (the
program's inputs, each checked or not: space checks or unchecks one); enter in any field, or a
change of parameters, runs it again. Under it the loss curves of both runs, drawn by plotext in
textual-plotext's widget (imported when the window opens, never at startup), with ``▲`` where a
loss went up.

Then the numbers. With a few parameters and steps, each iteration shows the loss and every
parameter's update ``data → after`` with the grad that made it; without ``zero_grad`` the grad
is written as the sum it is (``last p.grad + this iteration's``). Wide enough, the two runs
stand side by side; narrower, they are stacked, so 60 columns need only vertical scrolling.
With many (the MLP's 37 weights and biases), the losses of both runs side by side and where
each parameter started and ended. A loss that went up is marked ``▲ loss went up`` (a marker,
not colour alone).

Closing the window hands the settings back, so that ``u`` steps with the same parameters and
lr. A long run goes on in a worker thread; closing the window or starting another run stops it
(a flag checked before every step). Settings over
:data:`~stepgrad.training.MAX_NODE_STEPS` (steps x the graph's nodes) are refused in the
window's note line, as ``--train`` refuses them.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import NamedTuple

from rich.cells import cell_len
from rich.segment import Segment as RichSegment
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.events import Resize
from textual.message import Message
from textual.screen import ModalScreen
from textual.strip import Strip
from textual.widgets import Input, Label, SelectionList, Static
from textual.widgets._toggle_button import ToggleButton
from textual.widgets.option_list import OptionDoesNotExist

from engine.numbers import format_number, significant_digits, worked
from engine.parse import ProgramError, clip, parse
from engine.text import statements, visible
from stepgrad.examples import Example
from stepgrad.state import editable_source
from stepgrad.training import (
    DETAILED,
    EXPLANATION,
    WENT_UP,
    Cancelled,
    Comparison,
    Run,
    TooMuchWork,
    Training,
    check_work,
    compare,
    heading,
    lr_text,
    read_lr,
    read_steps,
    training_for,
)

__all__ = ["TrainingScreen", "compact_lines", "training_lines"]

WENT_DOWN = "▼"
_SEPARATOR = " │ "
_TITLES = {
    True: ("with zero_grad", "p.grad = this iteration's gradient"),
    False: ("without zero_grad", "p.grad = last p.grad + this iteration's"),
}

Segment = tuple[str, str]
"""A piece of a line: (text, style)."""

PROGRAM_CHARS = 240
"""The program line's most characters: about three lines of the window at 80 columns."""


def _n(x: float) -> str:
    return format_number(x, 4)


def _width(line: list[Segment]) -> int:
    return sum(cell_len(text) for text, _ in line)


def _pad(line: list[Segment], width: int) -> list[Segment]:
    return [*line, (" " * (width - _width(line)), "")]


class _Update(NamedTuple):
    """One parameter's update as written, its numbers working out by hand: ``data - lr ×
    grad`` gives ``after``, and without ``zero_grad`` ``before + own`` gives ``grad``."""

    data: str
    after: str
    grad: str
    before: str = ""
    own: str = ""


def _written(run: Run, p: str, i: int, lr: str) -> _Update:
    """Iteration ``i``'s update of ``p`` in the window's digits (:func:`_n`), or as many more
    as it takes for the written numbers to work out (see :func:`engine.numbers.worked`);
    ``lr`` as the heading writes it."""
    it = run.iterations[i]
    data, grad, after = worked(it.data[p], "−", it.grad[p], it.after[p], _n, factor=lr)
    if run.zero_grad:
        return _Update(data, after, grad)
    # p.grad after backward = what the last iteration left + this iteration's own (the engine
    # adds them: exactly the float sum), written so that they add up to the grad written above
    digits = max(4, significant_digits(grad))
    before, own, _ = worked(
        run.iterations[i - 1].grad[p] if i else 0.0,
        "+",
        it.own[p],
        it.grad[p],
        lambda x: format_number(x, digits),
    )
    return _Update(data, after, grad, before, own)


def _run_cells(
    run: Run, params: tuple[str, ...], lr: str, *, narrow: bool, spaced: bool = False
) -> list[list[list[Segment]]]:
    """Per row (each iteration, then the final one), the run's lines for that row; ``narrow``:
    each sum on a line of its own under its update, ``spaced``: with zero_grad (no sums), a
    blank line there instead, so that the runs' updates stand side by side."""
    its = run.iterations
    went_up = run.went_up()
    written = [{p: _written(run, p, i, lr) for p in params} for i in range(len(its))]
    updates = [u for row in written for u in row.values()]
    name_w = max(cell_len(p) for p in params)
    data_w = max(cell_len(u.data) for u in updates)
    after_w = max(cell_len(u.after) for u in updates)
    grad_w = max(cell_len(u.grad) for u in updates)
    before_w = max(cell_len(u.before) for u in updates)
    rows: list[list[list[Segment]]] = []
    losses = run.losses
    for i, loss in enumerate(losses):
        lines: list[list[Segment]] = []
        loss_line: list[Segment] = [("loss ", "$text-muted"), (_n(loss), "bold")]
        if went_up[i]:
            loss_line += [("  ", ""), (WENT_UP, "bold $text-error")]
        elif i > 0 and loss < losses[i - 1]:
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
        for p in params:
            u = written[i][p]
            update: list[Segment] = [
                (p.ljust(name_w) + " ", "bold"),
                (u.data.rjust(data_w), ""),
                (" → ", "$text-muted"),
                (u.after.ljust(after_w), ""),
                ("  grad ", "$text-muted"),
                (u.grad.rjust(grad_w), "bold"),
            ]
            if run.zero_grad:
                lines += [update, []] if narrow and spaced else [update]
                continue
            total: list[Segment] = [
                (" = ", "$text-muted"),
                (u.before.rjust(before_w), ""),
                (" + ", "$text-muted"),
                (u.own, ""),
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


def _side_by_side(comparison: Comparison, *, narrow: bool = False) -> list[list[Segment]]:
    """The two runs side by side; ``narrow``: each sum on a line of its own, under its update
    (as stacked runs show it), which the numbers' extra digits may need."""
    params = comparison.spec.params
    lr = lr_text(comparison.spec.lr)
    runs = [_run_cells(run, params, lr, narrow=narrow, spaced=True) for run in comparison.runs]
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
        cells = _run_cells(run, params, lr_text(comparison.spec.lr), narrow=True)
        for i, lines in enumerate(cells):
            for j, piece in enumerate(lines):
                label = _left(i, len(cells)) if j == 0 else ""
                out.append([(label.rjust(left_w), "bold"), ("  ", ""), *piece])
    return out


COMPACT_STEPS = 30
"""Past this many steps (or :data:`~stepgrad.training.DETAILED` parameters) the window shows
the losses and each parameter's start and end rather than every update."""
COMPACT_ROWS = 25
"""The most rows of losses the compact table shows (the plot has every step)."""


def detailed(comparison: Comparison) -> bool:
    """Whether every update of every parameter is shown (few parameters and steps)."""
    spec = comparison.spec
    return len(spec.params) <= DETAILED and spec.steps <= COMPACT_STEPS


def _rows_shown(count: int) -> list[int]:
    """Which of ``count`` rows the compact table shows: all, or about :data:`COMPACT_ROWS`
    evenly spread, always the first and the last."""
    if count <= COMPACT_ROWS:
        return list(range(count))
    every = -(-(count - 1) // (COMPACT_ROWS - 1))
    return sorted({*range(0, count - 1, every), count - 1})


def compact_lines(comparison: Comparison, width: int) -> list[Content]:
    """The losses of both runs side by side (▲ where one went up), then each parameter's start
    and its end in both runs (the first few)."""
    runs = comparison.runs
    count = comparison.spec.steps + 1
    rows = _rows_shown(count)
    losses = [[_n(loss) for loss in run.losses] for run in runs]
    head = ("iteration", "with zero_grad", "without zero_grad")  # numbered as the lesson
    widths = [max(len("after"), len(head[0]))]
    widths += [max(len(head[r + 1]), *(len(x) for x in losses[r])) for r in range(2)]
    mark = len(WENT_UP)
    out: list[Content] = [
        Content.styled(
            f"{head[0].rjust(widths[0])}  {head[1].rjust(widths[1])} {' ' * mark}  "
            f"{head[2].rjust(widths[2])}",
            "bold",
        )
    ]
    if len(rows) < count:
        every = rows[1] - rows[0]
        out.append(
            Content.styled(f"(one iteration in {every} shown; the plot has every step)", "dim")
        )
    went_up = [run.went_up() for run in runs]
    for i in rows:
        label = _left(i, count)  # iteration i + 1 starts from the loss after i steps
        parts: list[tuple[str, str] | str] = [(label.rjust(widths[0]), "bold")]
        for r in range(len(runs)):
            up = went_up[r][i]
            parts += ["  " if r == 0 else "", losses[r][i].rjust(widths[r + 1]), " "]
            parts.append((WENT_UP if up else " " * mark, "bold $text-error" if up else ""))
            if r == 0:
                parts.append("  ")
        out.append(Content.assemble(*parts))
    spec = comparison.spec
    first = comparison.with_zero_grad.iterations[0].data
    out.append(Content(""))
    which = "the parameter" if len(spec.params) == 1 else f"the {len(spec.params)} parameters"
    out.append(
        Content.styled(
            f"{which}: start → after the last step, with | without zero_grad",
            "bold",
        )
    )
    shown = spec.params[:8]
    name_w = max(cell_len(p) for p in shown)
    for name in shown:
        ends = [_n(run.final[name]) for run in runs]
        out.append(
            Content.assemble(
                (name.ljust(name_w), "bold"),
                f"  {_n(first[name])} → {ends[0]}",
                (" | ", "$text-muted"),
                ends[1],
            )
        )
    if len(spec.params) > len(shown):
        out.append(Content.styled(f"… and {len(spec.params) - len(shown)} more", "dim"))
    return out


def training_lines(comparison: Comparison, width: int) -> tuple[list[Content], bool]:
    """The comparison as lines for a box ``width`` cells wide, and whether they are side by side.

    Side by side if that fits in ``width`` (each sum under its update, if only that fits),
    stacked otherwise; with many parameters or steps, the compact table
    (:func:`compact_lines`, side by side by nature).
    """
    if not detailed(comparison):
        return compact_lines(comparison, width), True
    lines = _side_by_side(comparison)
    if max(_width(line) for line in lines) > width:  # the sums under their updates, else stacked
        lines = _side_by_side(comparison, narrow=True)
    side = max(_width(line) for line in lines) <= width
    if not side:
        lines = _stacked(comparison)
    return [Content.assemble(*line) for line in lines], side


class ParamList(SelectionList[str]):
    """The parameters to train, each checked or not: checked ones show ``X``, the others a
    blank (Textual's list shows ``X`` either way, told apart by colour alone).

    Space checks or unchecks; enter runs again, as in the other fields (Textual's list toggles
    on enter too, which silently trained what was marked fixed)."""

    BINDINGS = [Binding("enter", "run", "Run", show=False)]

    class RunAgain(Message):
        """Enter in the list: run the loop with the settings as they are."""

    def action_run(self) -> None:
        self.post_message(self.RunAgain())

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        try:
            selection = self.get_option_at_index(round(self.scroll_offset.y) + y)
        except OptionDoesNotExist:
            return strip
        if selection.value in self._selected:
            return strip
        segments = list(strip)
        for i, segment in enumerate(segments):
            if segment.text == ToggleButton.BUTTON_INNER:
                segments[i] = RichSegment(" " * len(segment.text), segment.style, segment.control)
                break
        return Strip(segments, strip.cell_length)


NARROW = 100
"""Below this width the form's two parts (numbers, parameters) are stacked."""
TINY = 50
"""Below this width the lr and steps fields are narrower, so both fit beside their names
(at 40 columns the steps field ran past the window's border)."""
SYNC_WORK = 200_000
"""Node-steps (graph size x steps x 2 runs) run at once; more run in a worker thread, with a
note meanwhile, so the window answers keys during a long run."""


class TrainingScreen(ModalScreen[Training | None]):
    """Any program's training loop, run with and without ``zero_grad``; its settings.

    ``TrainingScreen(program_text, values, spec)``: the program (its output is the loss) with
    ``values`` overriding its inputs, trained as ``spec`` says (default: see
    :func:`~stepgrad.training.training_for`). ``TrainingScreen(example, values)`` uses the
    example's own settings; ``TrainingScreen(comparison)`` shows a loop already run. Dismissed
    with the settings last run (for ``u``), or None if none could run.
    """

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
    #training-form { height: auto; width: 100%; }
    #training-numbers { height: auto; width: auto; }
    #training-choice { height: auto; width: 1fr; }
    TrainingScreen.-narrow #training-form { layout: vertical; }
    TrainingScreen.-narrow #training-choice { width: 100%; }
    #training-form Label { padding: 1 1 0 0; color: $text-muted; }
    #training-form Input { width: 14; }
    #training-form #training-steps { width: 12; }  /* 10000, the most steps, and the cursor */
    /* at 40 columns lr, steps and their fields fit in the 31 cells the box has */
    TrainingScreen.-tiny #training-form #training-lr { width: 10; }
    #training-form SelectionList { width: 1fr; min-width: 20; height: auto; max-height: 6; }
    #training-form-error { color: $text-error; }
    #training-results { height: auto; }
    #training-plot { height: 14; width: 100%; min-width: 40; margin-top: 1; }
    #training-legend { color: $text-muted; }
    #training-table { margin-top: 1; }
    #training-lesson { margin-top: 1; text-style: bold; }
    #training-explanation { margin-top: 1; color: $text-muted; }
    """

    BINDINGS = [
        Binding("escape,q,t", "close", "Close", key_display="esc"),
    ]

    def __init__(
        self,
        program: Comparison | Example | str,
        values: Mapping[str, float] | None = None,
        spec: Training | None = None,
    ) -> None:
        """See the class; a program that cannot run shows why, in one line, instead."""
        super().__init__()
        self.error: ProgramError | None = None
        """Why the loop could not run, or None."""
        self.side_by_side = True
        """Whether the two runs are shown side by side (else stacked), for the tests."""
        self.comparison: Comparison | None = None
        self.values = dict(values or {})
        self.inputs: list[str] = []
        self.running = False
        """Whether a long run is on its way in a worker thread."""
        self._cancel: threading.Event | None = None
        """Set to stop the run in the worker thread (closing, or a newer run)."""
        example: Example | None = None
        if isinstance(program, Comparison):
            self.comparison = program
            self.source = program.source
            self.values = dict(program.values)
            spec = program.spec
        elif isinstance(program, Example):
            example = program
            self.source = program.program
        else:
            self.source = program
        self.shown_source = self.source
        """The program as the window's head shows it: the values it starts from written in."""
        try:
            parsed = parse(self.source, self.values)
        except ProgramError as err:
            self.error = err
            self.spec = spec or Training((), 0.0, 0)
            return
        # as the main screen's header: w = -0.5 reads w = -0.2369 after a gradient step
        self.shown_source = editable_source(parsed, self.values, free=False, number=format_number)
        self.inputs = list(parsed.inputs)
        self.size_of_graph = len(parsed.nodes())
        self.spec = spec if spec is not None else training_for(parsed, example)
        if self.comparison is None and self._work(self.spec) <= SYNC_WORK:
            self._run_now()  # else on_mount runs it in a worker (or refuses it)

    # --- running ----------------------------------------------------------------------------------

    def _work(self, spec: Training) -> int:
        """Node-steps of both runs of ``spec`` (0 if the program could not be read)."""
        return getattr(self, "size_of_graph", 0) * spec.steps * 2

    def _run_now(self) -> None:
        try:
            self.comparison = compare(self.source, self.values, self.spec)
            self.error = None
        except ProgramError as err:
            self.comparison = None
            self.error = err

    def run(self, spec: Training) -> None:
        """Run ``spec`` and show it: at once, or in a worker for a long run; a run still on its
        way is stopped first. Over the budget, the note says so and nothing runs."""
        try:
            check_work(spec.steps, self.size_of_graph)
        except TooMuchWork as err:
            self._note(err.message)
            return
        self._stop()
        self.spec = spec
        if self._work(spec) <= SYNC_WORK:
            self._run_now()
            self._show()
            return
        self.running = True
        self._note(f"training: {spec.steps:,} step{'' if spec.steps == 1 else 's'} of both runs…")
        self._cancel = threading.Event()
        self._run_in_thread(spec, self._cancel)

    def _stop(self) -> None:
        """Stop the run in the worker thread, if one is on its way (it stops before its next
        step and reports nothing)."""
        if self._cancel is not None:
            self._cancel.set()
            self._cancel = None
        self.running = False
        self.workers.cancel_group(self, "training")

    @work(thread=True, exclusive=True, group="training", exit_on_error=False)
    def _run_in_thread(self, spec: Training, cancel: threading.Event) -> None:
        try:
            result: Comparison | ProgramError = compare(
                self.source, self.values, spec, cancelled=cancel
            )
        except Cancelled:
            return
        except ProgramError as err:
            result = err
        if not cancel.is_set():
            self.app.call_from_thread(self._finished, spec, result)

    def _finished(self, spec: Training, result: Comparison | ProgramError) -> None:
        if spec is not self.spec or not self.is_attached:
            return  # settings changed meanwhile: a newer run is on its way
        self.running = False
        if isinstance(result, ProgramError):
            self.comparison, self.error = None, result
        else:
            self.comparison, self.error = result, None
        self._show()

    # --- layout -----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        from stepgrad.widgets.loss_plot import LossPlot  # plotext loads with this window only

        with VerticalScroll(id="training-box") as box:
            box.border_title = "training: p.data -= lr * p.grad, with and without zero_grad"
            box.border_subtitle = "esc closes · enter runs · tab: lr, steps, parameters"
            yield Static(
                Content.assemble(("program  ", "bold"), self._program_text()), id="training-head"
            )
            if self.inputs:
                with Horizontal(id="training-form"):
                    with Horizontal(id="training-numbers"):
                        yield Label("lr")
                        yield Input(
                            format_number(self.spec.lr, 12) if self.spec.lr else "",
                            id="training-lr",
                        )
                        yield Label("steps")
                        yield Input(str(self.spec.steps or ""), id="training-steps")
                    with Horizontal(id="training-choice"):
                        yield Label("parameters")
                        yield ParamList(
                            *[(name, name, name in self.spec.params) for name in self.inputs],
                            id="training-params",
                        )
            yield Static("", id="training-form-error")
            with Vertical(id="training-results"):
                yield LossPlot(id="training-plot")
                yield Static(id="training-legend")
                yield Static(id="training-table")
                yield Static(id="training-lesson")
                yield Static(EXPLANATION, id="training-explanation")

    def _program_text(self) -> str:
        """The program on one line, at the values the loop starts from; past 6 statements,
        their count and the last one (which says what the loss is); past
        :data:`PROGRAM_CHARS` characters its start and end (a 20,000-character sum wrapped to
        180 lines and pushed the form off the screen)."""
        written = [visible(code) for code in statements(self.shown_source)]
        if len(written) > 6:
            return clip(f"({len(written)} statements) … {written[-1]}", PROGRAM_CHARS)
        return clip("; ".join(written), PROGRAM_CHARS)

    def on_mount(self) -> None:
        if self.comparison is None and self.error is None and self.inputs:
            self.run(self.spec)  # too long to run in __init__: in a worker, or refused
            if self.comparison is None and not self.running:  # refused: the note says why
                self.query_one("#training-results").display = False
            return
        self._show()

    def on_unmount(self) -> None:
        self._stop()

    def on_resize(self, event: Resize) -> None:
        self._layout(event.size.width)

    def _note(self, text: str) -> None:
        note = self.query_one("#training-form-error", Static)
        note.update(text)
        note.display = bool(text)

    def _show(self) -> None:
        """Show the comparison (or why there is none) under the form."""
        from stepgrad.plot import legend_content
        from stepgrad.widgets.loss_plot import LossPlot

        comparison = self.comparison
        results = self.query_one("#training-results")
        if comparison is None:
            results.display = False
            error = self.error
            text = error.format() if error is not None else ""
            self._note(f"The training loop could not run: {text}" if text else "")
            return
        self._note("")
        results.display = True
        head = self.query_one("#training-head", Static)
        head.update(
            Content.assemble(
                ("program  ", "bold"),
                self._program_text(),
                "\n",
                ("training ", "bold"),
                visible(heading(comparison)),
            )
        )
        self.query_one(LossPlot).show(comparison)
        self.query_one("#training-legend", Static).update("  " + legend_content())
        self.query_one("#training-lesson", Static).update(comparison.lesson())
        self._layout(self.size.width)

    def _layout(self, screen_width: int) -> None:
        self.set_class(screen_width < NARROW, "-narrow")
        self.set_class(screen_width < TINY, "-tiny")
        if self.comparison is None:
            return
        # the box is at most 96% of the screen, less its border, padding and scrollbar
        width = max(int(screen_width * 0.96) - 2 - 4 - 1, 20)
        lines, self.side_by_side = training_lines(self.comparison, width)
        self.query_one("#training-table", Static).update(Content("\n").join(lines))
        self.query_one("#training-plot").styles.width = min(width, 100)

    # --- the settings -----------------------------------------------------------------------------

    def settings(self) -> Training | ProgramError:
        """The form's settings, or why they are not valid (one line)."""
        lr_text = self.query_one("#training-lr", Input).value.strip()
        steps_text = self.query_one("#training-steps", Input).value.strip()
        params = tuple(self.query_one("#training-params", ParamList).selected)
        try:  # the same words as --lr and --steps, with the field's name
            lr = read_lr(lr_text, "lr")
            steps = read_steps(steps_text, "steps")
        except ProgramError as err:
            return err
        if not params:
            return ProgramError("nothing to train: check at least one parameter")
        order = [name for name in self.inputs if name in params]
        return Training(tuple(order), lr, steps)

    def _apply(self) -> None:
        settings = self.settings()
        if isinstance(settings, ProgramError):
            self._note(settings.headline())
            return
        if settings != self.spec or self.comparison is None:
            self.run(settings)
        elif not self.running:  # the settings of the run shown: what the note said is past
            self._show()

    @on(Input.Submitted)
    @on(ParamList.RunAgain)
    def _submitted(self) -> None:
        self._apply()

    @on(SelectionList.SelectedChanged)
    def _params_changed(self) -> None:
        self._apply()

    def action_close(self) -> None:
        """Close, handing back the settings last run (even if the loop failed with them: one
        step may still work), or None if the program could not be read. A run still on its way
        is stopped."""
        self._stop()
        self.dismiss(self.spec if self.spec.params else None)
