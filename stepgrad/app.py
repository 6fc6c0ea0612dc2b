"""The stepgrad app: step through the backward pass of a program, one node at a time.

``create_app(source, values)`` is the one way to build it, for the CLI and the tests alike::

    from stepgrad.app import create_app
    create_app("(x*x + 1)/(y*y - 1)", {"x": 8, "y": 3}).run()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import App

from engine.parse import ProgramError, parse

from .screens.main import MainScreen

if TYPE_CHECKING:
    from engine.parse import Program

    from .state import Walkthrough

__all__ = ["StepgradApp", "create_app", "run_app"]


class StepgradApp(App[None]):
    """The stepgrad TUI; see :class:`~stepgrad.screens.main.MainScreen` for the keys."""

    CSS_PATH = "stepgrad.tcss"
    TITLE = "stepgrad"
    ENABLE_COMMAND_PALETTE = False

    cursor_blink = True
    """Whether the editor's cursor blinks (tests and screenshots turn it off, for stable frames)."""

    def __init__(
        self,
        program: Program,
        values: dict[str, float] | None = None,
        *,
        title: str | None = None,
        lazy_graph: bool = True,
    ) -> None:
        super().__init__()
        self.main = MainScreen(program, values, lazy=lazy_graph)
        if title:
            self.title = title

    def get_default_screen(self) -> MainScreen:
        return self.main

    @property
    def walk(self) -> Walkthrough:
        """Where the walkthrough stands (the main screen's single source of truth)."""
        return self.main.walk


def create_app(
    source: str,
    values: dict[str, float] | None = None,
    *,
    title: str | None = None,
    lazy_graph: bool = True,
    steady: bool = False,
) -> StepgradApp:
    """Parse ``source`` with ``values`` and build the app on its graph after the forward pass.

    Raises :class:`engine.parse.ProgramError` for a bad program (or one whose gradient is not
    finite), before anything is drawn. ``lazy_graph=False`` lays the graph out before the first
    frame instead of right after it. ``steady=True`` makes every frame reproducible, for tests,
    snapshots and screenshots: a fixed theme, no cursor blink, the graph laid out up front.
    """
    program = parse(source, values)
    app = StepgradApp(program, values, title=title, lazy_graph=lazy_graph and not steady)
    if steady:
        app.theme = "textual-dark"
        app.cursor_blink = False
    return app


def run_app(source: str, values: dict[str, float] | None = None) -> int:
    """Run the app; return the exit status (2 if the program is invalid, printed to stderr)."""
    import sys

    try:
        app = create_app(source, values)
    except ProgramError as err:
        print(f"stepgrad: {err.format()}", file=sys.stderr)
        return 2
    app.run()
    return app.return_code or 0
