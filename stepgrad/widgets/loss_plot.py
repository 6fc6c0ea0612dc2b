"""The loss curves widget: textual-plotext's ``PlotextPlot``, drawn by ``plot.draw_losses``.

Imported by the training window only, so that neither ``import stepgrad`` nor the app's startup
loads plotext. A plot that plotext cannot draw (a size it refuses, a bug of its own) says so in
one line instead of ending the app: an error while drawing a frame would be fatal.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import RenderResult
from textual_plotext import PlotextPlot

from stepgrad.plot import draw_losses
from stepgrad.training import Comparison

__all__ = ["LossPlot"]


class LossPlot(PlotextPlot):
    """Both runs' losses, step by step, with ``▲`` where one went up."""

    def show(self, comparison: Comparison) -> None:
        draw_losses(self.plt, comparison)
        self.refresh()

    def render(self) -> RenderResult:
        try:
            return super().render()
        except Exception as error:  # plotext's own trouble: one line, not a crash
            return Text(f"the loss plot could not be drawn ({type(error).__name__}: {error})")
