"""The loss curves of a training loop, drawn by plotext.

One drawing serves both places: the training window shows it in textual-plotext's
``PlotextPlot`` widget (whose ``plt`` has plotext's API), and ``--print`` writes it as plain text
(plotext's own ``build()``, colours removed). Nothing here is imported at startup: plotext is
loaded when a plot is first drawn.

The two runs differ by their marker, not by colour alone: a line of block quarters with
``zero_grad``, dots without it, and a ``▲`` on every point where the loss went up.
"""

from __future__ import annotations

import math
from typing import Any

from engine.numbers import format_number

from .training import Comparison

__all__ = ["COLORS", "LEGEND", "ascii_legend", "draw_losses", "legend_content", "plot_lines"]

MARKERS = {True: "hd", False: "dot"}
"""plotext's marker for the run with and without ``zero_grad``."""
ASCII_MARKERS = {True: "*", False: "o"}
UP = "▲"
ASCII_UP = "^"
LEGEND = "▀▄ with zero_grad   •• without zero_grad   ▲ loss went up"
"""The legend, written under the plot (plotext's own would cover the curves' start)."""
COLORS: dict[bool, tuple[int, int, int]] = {True: (46, 160, 67), False: (137, 87, 229)}
"""Each run's colour (green with ``zero_grad``, violet without), as RGB so that the plot and
the legend under it show the same colour whatever the terminal's palette; the marker tells
them apart without it."""
UP_COLOR = (220, 50, 47)


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def legend_content() -> Any:
    """:data:`LEGEND` with each mark in its curve's colour (a Textual ``Content``)."""
    from textual.content import Content

    return Content.assemble(
        ("▀▄", _hex(COLORS[True])),
        " with zero_grad   ",
        ("••", _hex(COLORS[False])),
        " without zero_grad   ",
        ("▲", _hex(UP_COLOR)),
        " loss went up",
    )


def ascii_legend() -> str:
    return "** with zero_grad   oo without zero_grad   ^ loss went up"


LOG_SPAN = (1e2, 1e8)
"""A log scale is used when the largest loss over the smallest (all positive) is in this range:
below it a linear scale reads as well, above it the decades near 0 (one run at 1e-30, say) would
squeeze the other run's fall into a flat line at the top."""


def _scale(losses: list[float]) -> str:
    """``log`` or ``linear``: see :data:`LOG_SPAN`."""
    low, high = min(losses), max(losses)
    return "log" if low > 0 and LOG_SPAN[0] < high / low <= LOG_SPAN[1] else "linear"


def _nice(step: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10**k that is at least ``step``."""
    magnitude = 10 ** math.floor(math.log10(step))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= step * (1 - 1e-9))


def _y_ticks(losses: list[float], scale: str) -> tuple[list[float], list[str]]:
    """The y ticks and their labels. plotext writes a tick's label on its row even outside the
    plot (a tick below the data landed on the x axis's title): a log scale's ticks are the
    powers of 10 inside the data's range (more than 2 decades: at least two of them), a linear
    scale's may reach past it, and :func:`draw_losses` then widens the axis to them."""
    low, high = min(losses), max(losses)
    if scale == "log":
        # the decades inside [low, high]; a rounding of log10 must not push one out
        first = math.ceil(math.log10(low))
        first += 10.0**first < low
        last = math.floor(math.log10(high))
        last -= 10.0**last > high
        every = max(1, math.ceil((last - first) / 6))
        ticks = [10.0**k for k in range(first, last + 1, every)]
    elif high == low:
        ticks = [low]
    else:
        if 0 <= low < high / 4:
            low = 0.0  # a loss falling towards 0: the axis starts at 0
        step = _nice((high - low) / 4)
        start = math.floor(low / step) * step
        ticks = [start + i * step for i in range(int((high - start) / step + 1e-9) + 1)]
        ticks = [t for t in ticks if low - step / 2 <= t <= high + step / 2]
    return ticks, [format_number(t, 3) for t in ticks]


def _x_ticks(steps: int) -> list[int]:
    if steps <= 10:
        return list(range(steps + 1))
    raw = steps / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return list(range(0, steps + 1, int(step)))


MOST_MARKS = 40
"""The most ``▲`` a run's curve gets: past it, the first rise in each 1/40 of the steps (a loss
that rises at every other step of 2,000 drew a solid row of marks over its curve)."""


def draw_losses(plt: Any, comparison: Comparison, *, ascii: bool = False) -> None:
    """Draw both runs' losses on ``plt`` (plotext's module or textual-plotext's ``Plot``):
    x is the number of updates done (0 to N), y the loss then; ``▲`` where it went up.

    A log scale is drawn as log10 of the losses on a linear axis labelled with the losses
    themselves: plotext's own log scale transforms its stored data in place at every build,
    so a plot drawn twice (a widget on resize) would take the log of the log.
    """
    plt.clear_data()
    runs = comparison.runs
    xs = list(range(comparison.spec.steps + 1))
    everything = [loss for run in runs for loss in run.losses]
    scale = _scale(everything)

    def y(loss: float) -> float:
        return math.log10(loss) if scale == "log" else loss

    markers = ASCII_MARKERS if ascii else MARKERS
    for run in reversed(runs):  # with zero_grad drawn last: on top where the curves meet
        plt.plot(
            xs,
            [y(loss) for loss in run.losses],
            marker=markers[run.zero_grad],
            color=COLORS[run.zero_grad],
        )
    ups = []
    for run in runs:
        rises = [
            (x, loss)
            for x, (loss, up) in enumerate(zip(run.losses, run.went_up(), strict=True))
            if up
        ]
        if len(rises) > MOST_MARKS:  # so many that the marks would hide the curve: one a stretch
            stretch = len(xs) / MOST_MARKS
            kept: dict[int, tuple[int, float]] = {}
            for x, loss in rises:
                kept.setdefault(int(x / stretch), (x, loss))
            rises = list(kept.values())
        ups += rises
    if ups:
        plt.scatter(
            [x for x, _ in ups],
            [y(v) for _, v in ups],
            marker=ASCII_UP if ascii else UP,
            color=UP_COLOR,
        )
    ticks, labels = _y_ticks(everything, scale)
    plt.yticks([y(t) for t in ticks], labels)
    # the axis spans the data and every tick (a linear axis starts at 0 below a falling loss);
    # set every time: plotext keeps a limit through clear_data, and the widget draws again
    low, high = min([*everything, *ticks]), max([*everything, *ticks])
    if high > low:
        plt.ylim(y(low), y(high))
    else:  # one value: plotext centres it
        plt.ylim(None, None)
    plt.xticks(_x_ticks(comparison.spec.steps))
    plt.xlabel("steps done" + (" (loss: log scale)" if scale == "log" else ""))


def plot_lines(
    comparison: Comparison, width: int, height: int, *, ascii: bool = False
) -> list[str]:
    """The plot as plain text lines, ``width`` x ``height`` cells, and its legend (for
    ``--print``)."""
    import plotext

    plotext.clear_figure()
    try:
        draw_losses(plotext, comparison, ascii=ascii)
        plotext.plotsize(width, height)
        plotext.theme("clear")
        text = plotext.uncolorize(plotext.build())
    finally:
        plotext.clear_figure()
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    if ascii:
        from .draw import ascii_drawing

        lines = [ascii_drawing(line) for line in lines]
    return [*lines, "  " + (ascii_legend() if ascii else LEGEND)]
