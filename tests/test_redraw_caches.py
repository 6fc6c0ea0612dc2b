"""What the step redraw keeps between frames never shows a stale line.

A step redraws most of the screen, so the widgets keep the strips they drew, by what a line
shows, and a frame works out once what its lines share (issue 14: the step redraw on the MLP).
Two Textual ``Content`` objects of the same text are *equal* whatever their styles, so a cache
keyed by a Content alone hands back the strip of the other style: the selected row drawn
without its highlight, a grad drawn muted after it was computed. These tests change only the
style of a line and read the style drawn; and check that the app's quicker theme lookup gives
the theme Textual's own lookup gives.
"""

from __future__ import annotations

from test_robust import settle
from textual.app import App, ComposeResult
from textual.content import Content
from textual.theme import Theme

from engine import Value
from stepgrad.app import create_app
from stepgrad.widgets import ValuesTable
from stepgrad.widgets.lines import LineWidget

TOY = "(x*x + 1)/(y*y - 1)"


class _Styled(LineWidget):
    """One line whose text stays and whose style the test sets."""

    style = "bold"

    def lines(self, width: int) -> list[Content]:
        return [Content.styled("the same text", self.style)]


class _LineApp(App[None]):
    def compose(self) -> ComposeResult:
        yield _Styled()


def _styles(strip: object) -> list[tuple[str, bool, bool]]:
    return [
        (s.text, bool(s.style and s.style.bold), bool(s.style and s.style.italic))
        for s in strip  # type: ignore[attr-defined]
        if s.text.strip()
    ]


async def test_a_line_widget_draws_a_new_style_of_the_same_text() -> None:
    app = _LineApp()
    async with app.run_test(size=(40, 5)) as pilot:
        await settle(pilot)
        widget = app.query_one(_Styled)
        assert _styles(widget.render_line(0)) == [("the same text", True, False)]
        widget.style = "italic"
        assert _styles(widget.render_line(0)) == [("the same text", False, True)]
        widget.style = "bold"
        assert _styles(widget.render_line(0)) == [("the same text", True, False)]


def _row_styles(table: ValuesTable, node: Value) -> tuple[str, bool]:
    """The row of ``node`` as drawn now: its text, and whether its name is reversed."""
    y = table.row_of(node)
    assert y is not None
    strip = table.render_line(y - round(table.scroll_y))
    name = next(s for s in strip if s.text.strip())
    return strip.text.rstrip(), bool(name.style and name.style.reverse)


async def test_the_values_pane_draws_the_selection_on_a_row_it_drew_before() -> None:
    app = create_app(TOY, {"x": 8, "y": 3}, lazy_graph=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        table = app.main.query_one(ValuesTable)
        x = app.walk.program.inputs["x"]
        text, reversed_ = _row_styles(table, x)
        assert text.startswith("x") and not reversed_
        table.update_from(app.walk, x)  # the same row, now selected: same text, another style
        selected_text, reversed_ = _row_styles(table, x)
        assert selected_text == text and reversed_
        table.update_from(app.walk, None)
        assert _row_styles(table, x) == (text, False)


async def test_the_theme_in_use_is_the_one_textual_would_pick() -> None:
    app = create_app(TOY, {"x": 8, "y": 3}, lazy_graph=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for name in ("textual-light", "textual-dark", "nord"):
            app.theme = name
            await settle(pilot)
            assert app.current_theme is app.available_themes[name]
        # a theme registered again under its name replaces the old one
        mine = Theme(name="nord", primary="#ff0000", dark=True)
        app.register_theme(mine)
        assert app.current_theme is mine
        # fallbacks, one name after another: Textual's own lookup takes the first it has
        app.theme = "textual-light"
        await settle(pilot)
        object.__setattr__(app, "_reactive_theme", "no-such-theme, textual-light")
        assert app.current_theme is app.available_themes["textual-light"]
