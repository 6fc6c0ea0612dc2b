"""Every size from 40x12 to 200x60: the top bar keeps the output value and the step, the help
screen cuts no word, the footer keeps ``?`` and ``q``.

Expected values are computed here by hand or with :mod:`math`, not read from the app.
"""

from __future__ import annotations

import math
import re

import pytest
from test_app import TOY, VALUES, text_of
from textual.content import Content
from textual.widgets import Footer

from stepgrad.app import StepgradApp, create_app
from stepgrad.examples import EXAMPLES
from stepgrad.screens.help import LEGEND, RULE, HelpScreen, HelpText, key_rows
from stepgrad.screens.main import MainScreen
from stepgrad.widgets import TopBar
from stepgrad.widgets.editor import ProgramEditor
from stepgrad.widgets.topbar import MIN_PROGRAM, Extra, Header

SIZES = [(40, 12), (60, 20), (80, 24), (120, 36), (200, 60)]

# Outputs, by hand: (8*8 + 1)/(3*3 - 1) = 65/8; the neuron's n = 2*-3 + 0*1 + 6.8813735870195432;
# the zero_grad example's loss = (tanh(-0.5*1.5 + 0) - 0.1)**2; the edited one tanh(2*-3 + 6.88).
TOY_OUT = f"{65 / 8:.6g}"
NEURON_OUT = f"{math.tanh(2 * -3 + 6.8813735870195432):.6g}"
LOSS_OUT = f"{(math.tanh(-0.5 * 1.5) - 0.1) ** 2:.6g}"
EDITED = "x = 2\nw = -3\no = tanh(x*w + 6.88)"
EDITED_OUT = f"{math.tanh(2 * -3 + 6.88):.6g}"


def top_bar(app: StepgradApp) -> str:
    bar = app.main.query_one(TopBar)
    lines = text_of(app).splitlines()
    return "\n".join(lines[bar.region.y : bar.region.bottom])


def make(example: str | None) -> StepgradApp:
    if example is None:
        return create_app(TOY, VALUES, steady=True)
    return create_app(EXAMPLES[example].program, steady=True, example=EXAMPLES[example])


# (example, keys, output value, the status that must stay whole, the words about the pass's
# state (issue 4: not started / in progress / done, and whether grads were zeroed) that must
# stay from 60 columns on, in a long or a short form: "grads accumulate (no zero_grad)" or
# "accumulating"); the neuron fires 5 nodes: x1*w1, x2*w2, their sum, + b, tanh
SCENES = [
    (None, [], TOY_OUT, "pass 1 · step 0 of 5", ["not started"]),
    (None, ["end"], TOY_OUT, "pass 1 · step 5 of 5", ["✓ done"]),
    (None, ["end", "b", "right"], TOY_OUT, "pass 2 · step 1 of 5", ["accumulat"]),
    (None, ["end", "b", "end"], TOY_OUT, "pass 2 · step 5 of 5", ["✓ done", "accumulat"]),
    (None, ["end", "z"], TOY_OUT, "pass 1 · grads zeroed", []),
    (None, ["end", "z", "b"], TOY_OUT, "pass 2 · step 0 of 5", ["zeroed"]),
    ("neuron", ["right"], NEURON_OUT, "pass 1 · step 1 of 5", ["in progress"]),
    ("zero_grad", [], LOSS_OUT, "pass 1 · step 0 of 5", ["not started"]),
    ("zero_grad", ["end", "b"], LOSS_OUT, "pass 2 · step 0 of 5", ["accumulat"]),
    ("zero_grad", ["right", "z", "b", "g", "p"], LOSS_OUT, "pass 2 · step 0 of 5", []),
    ("zero_grad", ["right", "f", "p"], LOSS_OUT, "pass 1 · step ", []),
]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("example", "keys", "value", "status", "words"), SCENES)
async def test_the_top_bar_keeps_the_value_and_the_step(
    size: tuple[int, int],
    example: str | None,
    keys: list[str],
    value: str,
    status: str,
    words: list[str],
) -> None:
    app = make(example)
    async with app.run_test(size=size) as pilot:
        await pilot.press(*keys)
        await pilot.pause()
        bar = top_bar(app)
        assert f"= {value}" in bar and f"= {value}…" not in bar, bar
        assert status in bar, bar
        assert bar.count("\n") == 0  # one line is enough for these
        if size[0] >= 60:  # the pass's state outlasts the title and the program
            for word in words:
                assert re.search(rf" · \S*\s?{re.escape(word)}", bar), (word, bar)
        if size[0] >= 200:
            assert "stepgrad" in bar, bar  # the title stays from 200 columns on
        if " … " in bar and "stepgrad" in bar:  # the title never stays to cut the program
            assert bar.split("stepgrad", 1)[1].split(" = ")[0].count("…") <= 1, bar


@pytest.mark.parametrize("size", SIZES)
async def test_an_edited_program_keeps_its_value_in_the_top_bar(size: tuple[int, int]) -> None:
    app = make(None)
    async with app.run_test(size=size) as pilot:
        await pilot.press("e")
        app.main.query_one(ProgramEditor).input.load_text(EDITED)
        await pilot.press("ctrl+s")
        await pilot.pause()
        bar = top_bar(app)
        assert f"= {EDITED_OUT}" in bar, bar
        assert "pass 1 · step 0 of 3" in bar, bar
        if size[0] >= 80:
            assert "o = tanh(x*w + 6.88)" in bar, bar  # the program fits whole from 80 on
        elif size[0] >= 60:  # the pass's state before the program (the graph shows it)
            assert "not started" in bar and "o = " in bar, bar


def header(**kwargs: object) -> Header:
    parts: dict[str, object] = {
        "title": Content("stepgrad"),
        "programs": ("x = 1.5; w = -0.5; loss = (o - 0.1)**2", "… loss = (o - 0.1)**2"),
        "name": "loss",
        "value": Content("0.540444"),
        "status": Content("pass 12 · step 3 of 50"),
        "extras": (
            Extra((Content("in progress"),), (4,)),
            Extra((Content("grads accumulate (no zero_grad)"), Content("accumulating")), (3, 7)),
            Extra((Content("focus"),), (1,)),
        ),
        "title_rank": 8,
        "name_rank": 9,
    }
    parts.update(kwargs)
    return Header(**parts)  # type: ignore[arg-type]


def stage_of(bar: Header, text: str) -> int:
    """The first stage whose status and title are what ``text`` shows."""
    for stage in range(bar.stages):
        right = bar.right(stage).plain
        # the title shows only before its rank, and not even then if it would cut the program
        if text.endswith(right) and (stage < bar.title_rank or not text.startswith("stepgrad ")):
            return stage
    raise AssertionError(f"no stage shows {text!r}")


def test_the_header_gives_way_in_the_planned_order() -> None:
    """Narrowing the bar one cell at a time: the value and the status never change; the program
    is shortened first (a status part gives way only when not even a MIN_PROGRAM cut of the
    program fits beside the whole status), never below MIN_PROGRAM unless it becomes the name;
    and the other parts give way stage by stage, never coming back."""
    bar = header()
    full, short = bar.programs
    previous = 0
    for width in range(160, 38, -1):  # from 38 on the value and the status need two lines
        (line,) = bar.fit(width)
        text = line.plain
        assert len(text) == width
        assert "= 0.540444" in text and "pass 12 · step 3 of 50" in text
        stage = stage_of(bar, text)
        assert stage >= previous, (width, text)
        previous = stage
        left = text.removeprefix("stepgrad ").split(" = 0.540444")[0]
        assert left in (full, short, "loss") or (
            left.endswith("…") and len(left) >= MIN_PROGRAM and short.startswith(left[:-1])
        ), text
        if stage > 0:  # the program was shortened as far as it goes before anything else
            least = len("stepgrad ") + MIN_PROGRAM + len(" = 0.540444")
            assert least + 2 + bar.right(0).cell_length > width, text
    assert not bar.fit(39)[0].plain.startswith("stepgrad")  # the title has given way too
    assert len(bar.fit(38)) == 2


def test_the_header_takes_two_lines_rather_than_cut_the_value() -> None:
    bar = header(value=Content("-1.23457e+308"), status=Content("pass 1000 · step 10000 of 10000"))
    for width in range(32, 60):  # the status alone takes 31
        lines = [line.plain for line in bar.fit(width)]
        assert all(len(line) <= width for line in lines)
        joined = "\n".join(lines)
        assert "= -1.23457e+308" in joined and "pass 1000 · step 10000 of 10000" in joined
    assert len(bar.fit(32)) == 2 and len(bar.fit(80)) == 1


# --- help -----------------------------------------------------------------------------------------


def help_words() -> set[str]:
    palette = ("^p", "Palette", "Command palette: open another example, change the theme, …")
    words = {"Keys", "The", "drawing"}
    for row in [*key_rows(MainScreen.BINDINGS), palette]:
        for part in row:
            words.update(part.split())
    for mark, meaning in LEGEND:
        words.update(mark.split() + meaning.split())
    words.update(RULE.split())
    return words


@pytest.mark.parametrize("size", SIZES)
async def test_help_cuts_no_word_and_shows_every_word(size: tuple[int, int]) -> None:
    app = make(None)
    words = help_words()
    async with app.run_test(size=size) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        box = app.screen.query_one("#help-box")
        text = app.screen.query_one(HelpText)
        assert box.region.right <= size[0] and box.region.bottom <= size[1]
        region = text.region.intersection(box.scrollable_content_region)
        seen: set[str] = set()
        while True:
            lines = text_of(app).splitlines()[region.y : region.bottom]
            for line in lines:
                row = line[region.x : region.right]
                for word in row.split():
                    assert word in words, f"{word!r} is cut or unknown in {row!r}"
                    seen.add(word)
                assert not re.search(r"\S…$", row.rstrip()) or row.rstrip().endswith(", …")
            if box.scroll_y >= box.max_scroll_y:
                break
            box.scroll_to(y=box.scroll_y + region.height, animate=False, immediate=True)
            await pilot.pause()
        assert seen >= words - {"^p", "Palette", "Command", "palette:", "open", "another"}
        assert seen >= {"Next", "zero_grad", "Quit", "Training", "waiting:", "fires", "+="}


@pytest.mark.parametrize("width", range(20, 130, 7))
def test_help_lines_fit_their_width(width: int) -> None:
    from stepgrad.screens.help import help_lines

    rows = tuple(key_rows(MainScreen.BINDINGS))
    for line in help_lines(rows, width):
        assert line.cell_length <= width, line.plain


# --- the footer -----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("example", [None, "zero_grad"])
async def test_the_footer_keeps_help_and_quit(size: tuple[int, int], example: str | None) -> None:
    app = make(example)
    async with app.run_test(size=size) as pilot:
        for keys in ([], ["right"], ["end"], ["z"], ["b", "g"]):
            await pilot.press(*keys)
            for _ in range(20):  # the footer is recomposed a frame or two after the keys
                await pilot.pause()
                footer = app.main.query_one(Footer)
                line = text_of(app).splitlines()[footer.region.y]
                if re.search(r"\? Help\b", line) and re.search(r"\bq Quit\b", line):
                    break
            assert re.search(r"\? Help\b", line) and re.search(r"\bq Quit\b", line), (keys, line)
            for key in footer.children:
                assert key.region.right <= size[0], (keys, line)  # no key cut at the edge


@pytest.mark.parametrize("size", SIZES)
async def test_editing_keeps_the_top_bar_and_says_the_editors_keys(size: tuple[int, int]) -> None:
    app = make(None)
    async with app.run_test(size=size) as pilot:
        await pilot.press("e", "backspace")  # an error: its line must not push the screen
        await pilot.pause()
        lines = text_of(app).splitlines()
        assert f"= {TOY_OUT}" in lines[0]  # the top bar did not scroll away
        footer = lines[app.main.query_one(Footer).region.y]
        assert "Apply" in footer and "esc Cancel edit" in footer and "f1 Help" in footer
        assert "? Help" not in footer  # ? would be typed into the program
        editor = app.main.query_one(ProgramEditor)
        assert editor.input.region.height >= 3  # at least one line of the program shows
        assert "✗" in text_of(app)


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
async def test_stepping_back_on_a_short_screen_gives_the_narration_its_room(
    size: tuple[int, int],
) -> None:
    """end then ←: step 4 is shorter than step 5; the panel kept step 5's height, and the blank
    lines pushed step 4's narration off an 80x24 screen."""
    from stepgrad.widgets import StepPanel

    app = create_app(TOY, VALUES, steady=True)
    async with app.run_test(size=size) as pilot:
        await pilot.press("end", "left")
        await pilot.pause()
        panel = app.screen.query_one(StepPanel)
        needed = len(panel.lines(panel.content_size.width))
        assert panel.size.height == needed
        if size[1] >= 24:  # at 60x20 the step itself takes the room
            assert "x is an input and has every contribution" in text_of(app)


async def test_a_wrapped_kink_reason_stays_under_its_start() -> None:
    """The gradient check's kink reason is indented under its row; its wrapped lines started at
    column 0, under the rows' names."""
    from stepgrad.widgets import StepPanel

    app = create_app("relu(x)*3 + abs(y)", {"x": 0, "y": 0}, steady=True)
    async with app.run_test(size=(80, 40)) as pilot:
        await pilot.press("end")
        await pilot.pause()
        panel = app.screen.query_one(StepPanel)
        lines = [line.plain for line in panel.lines(panel.content_size.width)]
        start = next(i for i, line in enumerate(lines) if "relu(x) is at its kink" in line)
        indent = len(lines[start]) - len(lines[start].lstrip())
        assert indent >= 2 and lines[start].strip().startswith("relu(x) is at its kink")
        after = lines[start + 1]
        assert len(after) - len(after.lstrip()) == indent and after.strip(), after


def test_a_narrow_step_title_keeps_the_upstream_number() -> None:
    """Issue 4: the panel says which node fires *and its upstream grad*. Where the title is too
    narrow for ``upstream ∂r/∂b = -1.01562`` it keeps ``upstream -1.01562`` before dropping
    it (∂r/∂b = -a/b**2 = -65/64 by hand); no width breaks it."""
    from stepgrad.widgets import StepTitle

    upstream = f"{-65 / 64:.6g}"
    title = StepTitle()
    title.show(f"step 3 of 5 · b = y*y - 1 fires · upstream ∂r/∂b = {upstream}")
    for width in range(1, 121):
        (line,) = title.lines(width)
        assert line.cell_length == width
        if width >= 60:
            assert f"· upstream ∂r/∂b = {upstream} " in line.plain or (
                f"· upstream {upstream} " in line.plain
            ), (width, line.plain)
    assert f"· upstream {upstream} " in title.lines(56)[0].plain


def test_the_title_gives_way_before_the_program_is_cut() -> None:
    """``stepgrad … OUT = (B + 1)*(B… = 56`` kept the title and cut the program mid-expression
    (the merge example at 80 columns, its last step, in a bug mode): the title is the least of
    it, so the whole last statement is shown without it wherever that fits."""
    bar = header(extras=(Extra((Content("✓ done"),), (8,)), Extra((Content("bug: early"),), (13,))))
    value, short = " = 0.540444", "… loss = (o - 0.1)**2"
    for width in range(30, 120):
        text = bar.fit(width)[0].plain
        room = width - len(value) - 2 - len(bar.right(0).plain)
        if len(short) <= room < len("stepgrad ") + len(short):  # whole only without the title
            assert text.startswith(short + value), (width, text)
