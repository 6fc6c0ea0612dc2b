"""Every coloured text of the values pane and the top bar can be read in every theme.

With ``--theme textual-light``, ``+= 0.5``, ``◀ fired`` and the top bar's ``in progress`` were
drawn in the theme's orange ``$warning`` (#fea62b) on its grey (#e0e0e0): about 1.5:1. Each is
now moved just far enough to reach 3:1, as the graph's colours are.

The contrast is WCAG 2's ratio, written out here from its definition (not the app's function).
The ANSI themes leave the colours to the terminal's palette: their text colours are checked to
be the terminal's (nothing to measure), not replaced by ones the terminal would not use.
"""

from __future__ import annotations

from rich.color import ColorType
from rich.segment import Segment
from test_app import _wcag_contrast
from textual.color import Color

from stepgrad.app import StepgradApp, create_app
from stepgrad.cli import _themes
from stepgrad.widgets import TopBar, ValuesTable

TOY = "(x*x + 1)/(y*y - 1)"  # x = 8, y = 3: 5 steps; x and y each get two contributions
VALUES = {"x": 8.0, "y": 3.0}
LEAST = 3.0


def wcag(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """WCAG 2's contrast ratio of two sRGB colours (written out from its definition once, in
    test_app, for the graph view's test of the same promise)."""
    return _wcag_contrast(a, b)


def drawn(app: StepgradApp) -> list[tuple[Segment, Color]]:
    """Every segment the values pane and the top bar draw now, with the background of the
    widget that draws it (a segment may set its own)."""
    out = []
    for widget in (app.main.query_one(ValuesTable), app.main.query_one(TopBar)):
        background = widget.background_colors[1]
        for y in range(widget.size.height):
            out += [(segment, background) for segment in widget.render_line(y)]
    return out


def check(app: StepgradApp, theme: str, state: str, shows: tuple[str, ...]) -> list[str]:
    """What is unreadable now (as lines to report); and ``shows``, the coloured words the state
    must show, are asserted to be drawn (in the terminal's own colours in an ANSI theme)."""
    ansi = theme.startswith("ansi")
    bad = []
    text = palette = ""
    for segment, background in drawn(app):
        text += segment.text
        style = segment.style
        if style is None or style.color is None or not segment.text.strip():
            continue
        color = style.color
        if color.type is not ColorType.TRUECOLOR:  # the terminal's palette: nothing to measure
            assert ansi, (theme, state, segment)  # and only an ANSI theme leaves it that
            palette += segment.text
            continue
        under = style.bgcolor
        back = under.get_truecolor() if under is not None else background.rgb
        ratio = wcag(tuple(color.get_truecolor()), tuple(back))  # type: ignore[arg-type]
        if ratio < LEAST:
            bad.append(f"{segment.text.strip()!r} {color.name} on {back}: {ratio:.2f}")
    for words in shows:
        assert words in (palette if ansi else text), (theme, state, words)
    return [f"{theme}, {state}: {line}" for line in bad]


async def test_every_coloured_text_is_readable_in_every_theme() -> None:
    themes = _themes()
    assert {"textual-light", "solarized-light", "ansi-light", "stepgrad-lecture"} <= set(themes)
    app = create_app(TOY, VALUES, steady=True)
    unreadable: list[str] = []
    async with app.run_test(size=(120, 36)) as pilot:
        main = app.main
        for theme in themes:
            app.theme = theme
            main.action_home()
            await pilot.pause()
            # what each state shows in colour: the step's markers and the bar's status words
            for actions, state, shows in (
                ((main.action_next,), "step 1", ("◀ fired", "in progress")),  # out fires
                ((main.action_next,) * 3, "step 4", ("+= 1 += 1",)),  # x*x: 8 × 1/8 to x, twice
                ((main.action_end,), "done", ("✓ done", "+= -3.04688")),
                ((main.action_backward,), "pass 2", ("grads accumulate",)),
                ((main.action_zero_grad,), "zeroed", ("grads zeroed",)),
            ):
                for action in actions:
                    action()
                await pilot.pause()
                unreadable += check(app, theme, state, shows)
            main.set_bug("overwrite")  # a grad that differs, beside the correct one
            main.action_end()
            await pilot.pause()
            unreadable += check(app, theme, "bug mode", ("✗ correct",))
            main.set_bug(None)
    assert not unreadable, "\n".join(unreadable)
