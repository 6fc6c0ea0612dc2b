"""The stepgrad app: step through the backward pass of a program, one node at a time.

``create_app(source, values)`` is the one way to build it, for the CLI and the tests alike::

    from stepgrad.app import create_app
    create_app("(x*x + 1)/(y*y - 1)", {"x": 8, "y": 3}).run()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import App
from textual.theme import Theme

from engine.parse import ProgramError, parse

from .screens.main import MainScreen

if TYPE_CHECKING:
    from engine.parse import Program

    from .examples import Example
    from .state import Walkthrough

__all__ = ["LECTURE_THEME", "THEMES", "StepgradApp", "create_app", "run_app"]

LECTURE_THEME = "stepgrad-lecture"
THEMES: dict[str, Theme] = {
    LECTURE_THEME: Theme(
        name=LECTURE_THEME,
        primary="#ffffff",
        secondary="#bbbbbb",
        accent="#00e5ff",
        warning="#ffd400",
        error="#ff5f5f",
        success="#3dff7a",
        foreground="#ffffff",
        background="#000000",
        surface="#000000",
        panel="#202020",
        dark=True,
        variables={
            "text-muted": "#d0d0d0",
            "foreground-muted": "#d0d0d0",
            "footer-key-foreground": "#00e5ff",
        },
    ),
}
"""Our own themes, beside Textual's: a high-contrast black and white one for projectors."""


class StepgradApp(App[None]):
    """The stepgrad TUI; see :class:`~stepgrad.screens.main.MainScreen` for the keys."""

    CSS_PATH = "stepgrad.tcss"
    TITLE = "stepgrad"
    COMMAND_PALETTE_BINDING = "ctrl+p"

    cursor_blink = True
    """Whether the editor's cursor blinks (tests and screenshots turn it off, for stable frames)."""

    def __init__(
        self,
        program: Program,
        values: dict[str, float] | None = None,
        *,
        title: str | None = None,
        lazy_graph: bool = True,
        example: Example | None = None,
        lecture: bool = False,
        narration: bool | None = None,
        predict: bool = False,
    ) -> None:
        super().__init__()
        for theme in THEMES.values():
            self.register_theme(theme)
        self.main = MainScreen(
            program,
            values,
            lazy=lazy_graph,
            example=example,
            lecture=lecture,
            narration=not lecture if narration is None else narration,
            predict=predict,
        )
        if title:
            self.title = title

    def get_system_commands(self, screen):  # type: ignore[no-untyped-def]
        """The palette (ctrl+p): every built-in example, then Textual's own commands."""
        from textual.app import SystemCommand

        from .examples import EXAMPLES

        for example in EXAMPLES.values():
            yield SystemCommand(
                f"Example: {example.name}",
                example.description,
                lambda example=example: self.main.open_example(example),
            )
        yield from super().get_system_commands(screen)

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
    example: Example | None = None,
    theme: str | None = None,
    lecture: bool = False,
    narration: bool | None = None,
    predict: bool = False,
) -> StepgradApp:
    """Parse ``source`` with ``values`` and build the app on its graph after the forward pass.

    Raises :class:`engine.parse.ProgramError` for a bad program (or one whose gradient is not
    finite), before anything is drawn. ``lazy_graph=False`` lays the graph out before the first
    frame instead of right after it. ``steady=True`` makes every frame reproducible, for tests,
    snapshots and screenshots: a fixed theme, no cursor blink, the graph laid out up front.

    ``example`` adds its notes to the narration (and its training loop, if any); ``theme`` is any
    Textual theme or ours (:data:`THEMES`); ``lecture`` is the presentation layout for projectors
    (large boxes, high contrast unless a theme is given, narration hidden); ``narration`` shows or
    hides the plain-language narration (default: shown, except in lecture mode); ``predict``
    starts in predict mode.
    """
    program = parse(source, values)
    app = StepgradApp(
        program,
        values,
        title=title,
        lazy_graph=lazy_graph and not steady,
        example=example,
        lecture=lecture,
        narration=narration,
        predict=predict,
    )
    if theme is not None:
        app.theme = theme
    elif lecture:
        app.theme = LECTURE_THEME
    elif steady:
        app.theme = "textual-dark"
    if steady:
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
