"""``--html FILE`` and ``stepgrad.html()``: one self-contained page of the whole walkthrough.

The page's drawing is checked against the terminal app's own drawing at every state (the app,
run headless, is the reference), its numbers against ``--json`` and hand-derived values, and
the file itself in a real headless Chromium: stepping with keys and buttons, ``b`` doubling
every grad, ``z`` zeroing them, and no request leaving the page.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Route, sync_playwright

import stepgrad
from engine import Value
from engine.numbers import format_number
from engine.parse import parse
from stepgrad.cli import main
from stepgrad.examples import EXAMPLES, mlp_program
from stepgrad.sources.html import STYLE_CLASSES, document, unpack, walkthrough

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# as in tests/test_serve.py: a fresh profile that does not reach out on its own
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL_CHROMIUM = (
    f"Chromium is needed at {CHROMIUM} for the browser tests: install Debian's package with "
    "`apt-get install -y chromium` (.ci/run does this when it is missing)"
)
LOCAL = ("file:", "data:", "blob:", "about:")

TOY = "(x*x + 1)/(y*y - 1)"
TOY_VALUES = {"x": 8.0, "y": 3.0}


# --- helpers ----------------------------------------------------------------------------------


def model_of(source: str, values: dict[str, float] | None = None, **kw: Any) -> dict[str, Any]:
    return walkthrough(parse(source, values), **kw)


def packed(page: str) -> dict[str, Any]:
    """The data a page carries, inflated as the browser inflates it."""
    found = re.search(r'<script type="text/plain" class="sg-data">([^<]*)</script>', page)
    assert found is not None
    return unpack(found.group(1))


class Canvas:
    """The page's drawing rebuilt from its data the way the script does: the first state, then
    each step's cells. Compared with the app's own drawing."""

    def __init__(self, model: dict[str, Any]) -> None:
        self.model = model
        self.start()

    def start(self) -> None:
        width = self.model["width"]
        self.chars: list[list[str]] = []
        self.styles: list[list[str]] = []
        for text, runs in self.model["base"]:
            self.chars.append(list(text) + [" "] * (width - len(text)))
            row: list[str] = []
            for i in range(0, len(runs), 2):
                row += [self.model["styles"][runs[i]]] * runs[i + 1]
            self.styles.append(row + [""] * (width - len(row)))

    def apply(self, delta: list[list[Any]]) -> None:
        for segment in delta:
            y, x, text = segment[0], segment[1], segment[2]
            ids: list[int] = []
            k = 3
            while len(ids) < len(text):
                n = segment[k + 1] if k + 1 < len(segment) else len(text) - len(ids)
                ids += [segment[k]] * n
                k += 2
            for i, char in enumerate(text):
                self.chars[y][x + i] = char
                self.styles[y][x + i] = self.model["styles"][ids[i]]

    def show(self, scene: str, step: int) -> list[str]:
        self.start()
        for delta in self.model["scenes"][scene]["deltas"][: step + 1]:
            self.apply(delta)
        return ["".join(row) for row in self.chars]


def classes(style: str | None) -> str:
    parts = (STYLE_CLASSES.get(part) for part in (style or "").split())
    return " ".join(p for p in parts if p)


def app_lines(screen: Any) -> tuple[list[str], list[list[str]]]:
    """The app's graph, whole, as it draws it now: text and the CSS classes of its styles."""
    rendered = screen.drawing().render(screen.view())
    styles = [
        [classes(rendered.style_at(x, y)) for x in range(len(line))]
        for y, line in enumerate(rendered.lines)
    ]
    return rendered.lines, styles


@contextmanager
def chromium() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(INSTALL_CHROMIUM)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def offline(page: Page) -> list[str]:
    """Fail every request that would leave the page (anything but file:, data:, blob:) and
    record it; also fail the test on any script error or dialog."""
    left: list[str] = []

    def route(route: Route) -> None:
        url = route.request.url
        if url.startswith(LOCAL):
            route.continue_()
        else:
            left.append(url)
            route.abort()

    page.route("**/*", route)
    page.on("request", lambda r: None if r.url.startswith(LOCAL) else left.append(r.url))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: errors.append(f"a dialog opened: {dialog.message}"))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    left_errors = left
    page.set_default_timeout(15_000)
    setattr(page, "_sg_errors", errors)  # noqa: B010
    return left_errors


def open_page(browser: Any, path: Path, width: int = 1280, height: int = 900) -> tuple[Any, Any]:
    """A page opened from ``path`` as a double-click would, offline (see :func:`offline`),
    once its stepper has started; and the stepper."""
    page = browser.new_page(viewport={"width": width, "height": height})
    offline(page)
    page.goto(path.as_uri())
    page.wait_for_selector(".stepgrad[data-sg-state]")
    return page, page.locator(".stepgrad")


def state(root: Any) -> str:
    return str(root.get_attribute("data-sg-state"))


def canvas_text(root: Any) -> list[str]:
    rows = root.locator(".sg-canvas > div").all_inner_texts()
    return [row.rstrip() for row in rows]


# --- the data: the same drawing as the app, the same numbers as --json ---------------------


@pytest.mark.parametrize(
    ("source", "values"),
    [
        (TOY, TOY_VALUES),
        (EXAMPLES["neuron"].program, None),
        (EXAMPLES["shared"].program, None),
        (EXAMPLES["merge"].program, None),
        ("u = 5\nc = 2*pi\na = x*c\nunused = a*3\nb = a + 1", {"x": 2.0}),  # dead + constant
        (mlp_program((2, 3, 1), samples=2), None),  # shared weights: long lanes, crossings
    ],
)
async def test_every_state_draws_what_the_app_draws(source: str, values: Any) -> None:
    """Step through the app (the reference) and the page's data side by side: the first pass,
    another pass (b), zero_grad (z) and the clean pass after it; at every state the page's
    drawing has the app's characters and the app's styles, cell for cell."""
    from stepgrad.app import create_app

    model = model_of(source, values)
    canvas = Canvas(model)
    app = create_app(source, values, steady=True)
    seen = 0

    async def same(scene: str, step: int) -> None:
        nonlocal seen
        lines, styles = app_lines(app.screen)
        canvas.show(scene, step)
        assert ["".join(r) for r in canvas.chars] == lines, (scene, step)
        assert canvas.styles == styles, (scene, step)
        seen += 1

    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        app.main.mode = model["mode"]  # the page draws every node at one level
        app.main.scene.set_all(False)
        app.main.scene.room = None  # the page draws the graph unspread, at its own width
        app.main.sync()
        await pilot.pause()
        total = app.walk.total
        assert model["total"] == total
        for k in range(total + 1):
            await same("fresh", k)
            await pilot.press("right")
        await pilot.press("b")
        for k in range(total + 1):
            await same("again", k)
            await pilot.press("right")
        await pilot.press("left", "z")  # mid-pass (or at its end, for a one-step pass)
        assert app.walk.cleared
        await same("zeroed", 0)
        await pilot.press("b")
        for k in range(total + 1):
            await same("clean", k)
            await pilot.press("right")
    assert seen == 3 * (total + 1) + 1


def test_the_numbers_are_those_of_json_and_of_the_hand() -> None:
    """Each step's local derivative, contribution and grads are ``--json``'s numbers; the
    toy's first two steps are worked by hand: r = a/b with a = 65, b = 8."""
    out = io.StringIO()
    assert main(["--example", "toy", "--json"], out=out, err=io.StringIO()) == 0
    doc = json.loads(out.getvalue())
    model = model_of(EXAMPLES["toy"].program)
    fresh, again = model["scenes"]["fresh"], model["scenes"]["again"]
    assert len(model["steps"]) == len(doc["steps"]) == 5
    for k, (step, theirs) in enumerate(zip(model["steps"], doc["steps"], strict=True)):
        assert step[3] == format_number(theirs["upstream"])
        for e, (edge, their) in enumerate(zip(step[4], theirs["edges"], strict=True)):
            assert edge[2] == format_number(their["local"])
            assert edge[3] == format_number(their["contribution"])
            # the formula over names, over numbers, then the number where that is not it
            written = edge[1]
            if not written.endswith(f"= {their['formula_values']}"):
                written = written.removesuffix(f" = {format_number(their['local'])}")
            assert written.endswith(f"= {their['formula_values']}") or written.endswith(
                f"= {their['formula']}"
            )
            before, after, *added = fresh["grads"][k][e]
            assert after == format_number(their["grad_after"])
            if before is not None:  # written with the digits it takes to add up: same number
                assert format_number(float(before)) == format_number(their["grad_before"])
                assert format_number(float(before) + float(added[0])) == after
    # by hand: ∂r/∂a = 1/b = 1/8, ∂r/∂b = -a/b² = -65/64; x.grad = 2x/b = 2, y.grad = -6.09375
    first = model["steps"][0]
    assert first[1] == "r = a / b" and first[3] == "1"
    assert [edge[2] for edge in first[4]] == [format_number(1 / 8), format_number(-65 / 64)]
    final = {doc["nodes"][i]["name"]: doc["nodes"][i]["grad"] for i in range(len(doc["nodes"]))}
    assert final["x"] == 2.0 and final["y"] == -6.09375
    # another pass without zero_grad: every += of pass 2 adds to what pass 1 left
    for k, theirs in enumerate(doc["steps"]):
        for e, their in enumerate(theirs["edges"]):
            left = doc["nodes"][their["parent"]]["grad"]
            before, after, added = again["grads"][k][e]
            assert format_number(float(before)) == format_number(left + their["grad_before"])
            assert after == format_number(left + their["grad_after"])
            assert format_number(float(before) + float(added)) == after  # the sum adds up
    assert again["notes"][0], "pass 2 says why its first += adds to a grad already there"


def test_stepgrad_html_writes_the_page_and_leaves_the_value_alone(tmp_path: Path) -> None:
    x, w, b = Value(2.0, label="x"), Value(-3.0, label="w"), Value(6.88, label="b")
    o = (x * w + b).tanh()
    o.label = "o"
    path = tmp_path / "o.html"
    text = stepgrad.html(o, path)
    assert path.read_text(encoding="utf-8") == text
    assert text.startswith("<!DOCTYPE html>") and "<title>stepgrad · o</title>" in text
    assert [v.grad for v in (x, w, b, o)] == [0.0, 0.0, 0.0, 0.0]
    data = packed(text)
    assert data["title"] == "o" and data["total"] == 3  # o, then x*w + b, then x*w fire
    assert data["steps"][0][1] == "o = tanh(x*w + b)"


def test_the_page_returned_is_the_text_and_prints_as_one_line(tmp_path: Path) -> None:
    """``stepgrad.html(o, path)`` returned the page as a plain str, so a notebook cell or a
    prompt ending with it echoed all of it (30 kB to 540 kB of markup). It is still the text,
    for every use of a str, and its repr is one line: its size in kB (of the file written) and
    where it went."""
    from IPython.lib.pretty import pretty

    x = Value(2.0, label="x")
    o = (x * x).tanh()
    o.label = "o"
    path = tmp_path / "neuron.html"
    page = stepgrad.html(o, path)
    text = path.read_text(encoding="utf-8")
    assert isinstance(page, str) and page == text and text == page and not page != text
    assert hash(page) == hash(text) and {text: 1}[page] == 1
    assert "<title>stepgrad · o</title>" in page and page[:15] == "<!DOCTYPE html>"
    assert page.startswith("<!DOCTYPE") and page.count("<html") == 1 and len(page) == len(text)
    assert type(page[:5]) is str and type(str(page)) is str and str(page) == text
    (tmp_path / "copy.html").write_text(page, encoding="utf-8")
    assert (tmp_path / "copy.html").read_bytes() == path.read_bytes()
    assert json.loads(json.dumps({"page": page}))["page"] == text
    kb = round(path.stat().st_size / 1000)
    assert 20 <= kb <= 60  # the neuron's page: some 30 kB
    assert repr(page) == f"<stepgrad page: {kb} kB, written to {path}>"
    assert pretty(page) == repr(page)  # IPython's display of a cell's value
    assert repr(stepgrad.html(o)) == f"<stepgrad page: {kb} kB>"
    assert stepgrad.html(o) == text


def test_a_graph_changed_after_its_forward_pass_says_so_on_the_page() -> None:
    """A page is read far from the terminal that printed the warning: it carries the line, and
    the numbers the graph stores (o = tanh(2*-3 + 6.88) is held, though w changed since)."""
    from stepgrad.sources import StaleGraphWarning

    x, w, b = Value(2.0, label="x"), Value(-3.0, label="w"), Value(6.88, label="b")
    o = (x * w + b).tanh()
    o.label = "o"
    assert 'class="sg-warning"' not in stepgrad.html(o)
    o.backward()
    w.data -= 0.1 * w.grad
    with pytest.warns(StaleGraphWarning):
        page = stepgrad.html(o)
    assert page.count('class="sg-warning"') == 1
    assert "an input changed after the forward pass" in page
    assert packed(page)["output"] == format_number(math.tanh(2 * -3 + 6.88))


def test_user_text_is_escaped_and_control_characters_shown() -> None:
    title = '</script><script>alert("x")</script><img src=x onerror=alert(1)> \x1b[2J'
    source = "# </script><script>alert(2)</script> \x1b]52;c;AAAA\x07\nx = 2\ny = x*x"
    page = document(model_of(source, title=title))
    assert "<script>alert" not in page and "<img" not in page
    assert "\x1b" not in page and "\x07" not in page
    assert "&lt;/script&gt;&lt;script&gt;alert" in page  # shown as text
    assert "␛[2J" in page  # the control character made visible
    # the one <script> element that runs is ours, and the data is one base64 run
    assert page.count("<script>") == 1
    assert re.search(r'class="sg-data">[A-Za-z0-9+/=]+</script>', page)


def test_cli_html(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    path = tmp_path / "toy.html"
    assert main(["--example", "toy", "--html", str(path)], out=out, err=err) == 0
    assert err.getvalue() == ""
    assert f"wrote {path}" in out.getvalue()
    page = path.read_text(encoding="utf-8")
    assert packed(page)["title"] == "toy"
    out = io.StringIO()
    assert main([TOY, "x=8", "y=3", "--html", "-"], out=out, err=io.StringIO()) == 0
    assert out.getvalue().startswith("<!DOCTYPE html>")

    def numbers(page: str) -> list[Any]:  # the example names a and b, the expression does not
        return [[edge[2:4] for edge in step[4]] for step in packed(page)["steps"]]

    assert numbers(out.getvalue()) == numbers(page)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--html", "/nonexistent-dir/x.html"], "cannot write the HTML file"),
        (["--html", "."], "cannot write the HTML file '.': Is a directory"),
        (["--html", "a.html", "--json"], "not allowed with argument --html"),
        (["--html", "a.html", "--serve"], "cannot be combined with --json, --print, --graph"),
        (["--html"], "expected one argument"),
    ],
)
def test_cli_html_errors_are_one_line(args: list[str], message: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert main(["--example", "toy", *args], out=out, err=err) == 2
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("stepgrad: error: ") and message in lines[0]
    assert out.getvalue() == ""


def test_the_mlp_page_stays_under_a_megabyte() -> None:
    """The 320-node example with all it holds (three passes' steps and zero_grad) in < 1 MB;
    its second pass ends at exactly twice the first pass's grads."""
    model = model_of(EXAMPLES["mlp"].program, title="mlp")
    page = document(model)
    assert len(page.encode("utf-8")) < 1_000_000
    assert len(model["steps"]) > 250
    fresh, again = model["scenes"]["fresh"], model["scenes"]["again"]
    program = parse(EXAMPLES["mlp"].program)
    trace = program.backward(trace=True)
    assert trace is not None
    for k in (0, len(model["steps"]) // 2, len(model["steps"]) - 1):
        for e, edge in enumerate(trace.steps[k].edges):
            assert fresh["grads"][k][e][1] == format_number(edge.grad_after)
    for k, step in enumerate(trace.steps):  # pass 2 adds to pass 1's grads: at the end, twice
        for e, edge in enumerate(step.edges):
            expected = edge.parent.grad + edge.grad_after
            assert again["grads"][k][e][1] == format_number(expected)
            if edge.pending == 0:
                assert expected == 2 * edge.parent.grad


# --- the file in a browser ------------------------------------------------------------------


def test_the_file_in_chromium(tmp_path: Path) -> None:
    """Open the file as a double-click would (file://), press → four times and read step 4;
    then the buttons: End, another pass (every grad doubles), zero_grad, a clean pass. No
    request may leave the page, and the drawing is the app's drawing at that step."""
    path = tmp_path / "toy.html"
    assert main(["--example", "toy", "--html", str(path)], out=io.StringIO()) == 0
    model = model_of(EXAMPLES["toy"].program)
    canvas = Canvas(model)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        left = offline(page)
        page.goto(path.as_uri())
        root = page.locator(".stepgrad")
        page.wait_for_selector(".stepgrad[data-sg-state]")
        assert state(root) == "fresh:0:1"
        assert page.locator(".sg-noscript").count() == 0  # the script runs: no hint left
        root.focus()
        for _ in range(4):
            page.keyboard.press("ArrowRight")
        assert state(root) == "fresh:4:1"
        assert root.locator(".sg-status").inner_text() == "pass 1 · step 4 of 5 · in progress"
        title = root.locator(".sg-title-line").inner_text()
        assert title == "step 4 of 5 · x * x fires · upstream ∂r/∂(x*x) = 0.125"
        panel = root.locator(".sg-panel").inner_text()
        # by hand: x*x sends 0.125 × x = 0.125 × 8 = 1 along each of its two edges to x
        assert "∂(x*x)/∂x = x = 8" in panel and "0.125 × 8 = 1" in panel
        assert "— → 1" in panel and "1 + 1 → 2" in panel
        assert canvas_text(root) == [line.rstrip() for line in canvas.show("fresh", 4)]
        # back and forth: the exact earlier state
        page.keyboard.press("ArrowLeft")
        assert canvas_text(root) == [line.rstrip() for line in canvas.show("fresh", 3)]
        page.keyboard.press("l")
        root.get_by_role("button", name="End ⇥").click()
        assert state(root) == "fresh:5:1"
        assert "pass 1 done" in root.locator(".sg-panel").inner_text()
        assert "grad 2" in "\n".join(canvas_text(root))  # x.grad = 2x/b = 2
        root.get_by_role("button", name="b another pass").click()
        assert state(root) == "again:0:2"
        status = root.locator(".sg-status").inner_text()
        assert status == "pass 2 · step 0 of 5 · ready · grads accumulate (no zero_grad)"
        page.keyboard.press("End")
        panel = root.locator(".sg-panel").inner_text()
        assert "pass 2 done: every grad is final (2x one pass: grads accumulated)" in panel
        drawing = "\n".join(canvas_text(root))
        assert "grad 4" in drawing and "grad -12.1875" in drawing  # 2 × 2, 2 × -6.09375
        page.keyboard.press("z")
        assert state(root) == "zeroed:0:2"
        assert root.locator(".sg-status").inner_text() == "pass 2 · grads zeroed"
        drawing = "\n".join(canvas_text(root))
        assert "grad 4" not in drawing
        assert drawing.count("grad 0") == 7  # x, y, x*x, y*y, a, b, r: every box but constants
        page.keyboard.press("b")
        page.keyboard.press("End")
        assert state(root) == "clean:5:3"
        assert "grad 2" in "\n".join(canvas_text(root))
        page.keyboard.press("Home")
        assert state(root) == "clean:0:3"
        assert getattr(page, "_sg_errors") == []  # noqa: B009
        assert left == [], f"requests left the page: {left}"


def test_the_drawing_lines_up_in_chromium(tmp_path: Path) -> None:
    """Box-drawing characters, arrows, ∇ and ✓ take exactly one column in the page's font:
    every row of the drawing is as wide as its number of characters says."""
    path = tmp_path / "neuron.html"
    assert main(["--example", "neuron", "--html", str(path)], out=io.StringIO()) == 0
    with chromium() as browser:
        page = browser.new_page()
        offline(page)
        page.goto(path.as_uri())
        page.wait_for_selector(".stepgrad[data-sg-state]")
        page.keyboard.press("Tab")
        widths = page.evaluate(
            """() => Array.from(document.querySelectorAll('.sg-canvas > div')).map(div => {
                const range = document.createRange();
                range.selectNodeContents(div);
                return [Array.from(div.textContent).length, range.getBoundingClientRect().width];
            })"""
        )
    per_char = {round(width / count, 2) for count, width in widths if count}
    assert len(per_char) == 1, per_char


def test_the_mlp_file_in_chromium(tmp_path: Path) -> None:
    """The large example: the page follows the firing node (scrolls to it), and the last
    step of the second pass shows twice the first pass's grad."""
    path = tmp_path / "mlp.html"
    assert main(["--example", "mlp", "--html", str(path)], out=io.StringIO()) == 0
    assert path.stat().st_size < 1_000_000
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        left = offline(page)
        page.goto(path.as_uri())
        page.wait_for_selector(".stepgrad[data-sg-state]")
        root = page.locator(".stepgrad")
        root.focus()
        page.keyboard.press("End")
        first = root.locator(".sg-panel").inner_text()
        page.keyboard.press("b")
        page.keyboard.press("End")
        second = root.locator(".sg-panel").inner_text()
        assert "pass 2 done" in second and "2x one pass" in second
        graph = root.locator(".sg-graph")
        scrolled = graph.evaluate("g => [g.scrollLeft, g.scrollTop]")
        page.keyboard.press("Home")
        page.keyboard.press("ArrowRight")  # the loss fires first: it sits at the far right
        assert graph.evaluate("g => g.scrollLeft") > 0 or scrolled != [0, 0]
        assert getattr(page, "_sg_errors") == []  # noqa: B009
        assert left == []
    assert "pass 1 done" in first


def test_the_page_is_made_without_textual() -> None:
    """The HTML renderer is UI-free: writing a page loads neither Textual nor rich."""
    code = (
        "import sys, stepgrad\n"
        "from engine import Value\n"
        "x = Value(3.0, label='x'); y = x * x; y.label = 'y'\n"
        "assert stepgrad.html(y).startswith('<!DOCTYPE html>')\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=120)


def test_the_file_takes_keys_as_it_opens(tmp_path: Path) -> None:
    """Opened with a double-click, then →: the page ignored the keys until clicked (the test
    above focuses the stepper first). The page holds one stepper: its keys work at once, and
    after a click elsewhere on the page."""
    path = tmp_path / "toy.html"
    assert main(["--example", "toy", "--html", str(path)], out=io.StringIO()) == 0
    with chromium() as browser:
        page, root = open_page(browser, path)
        for _ in range(4):
            page.keyboard.press("ArrowRight")
        assert state(root) == "fresh:4:1"
        page.mouse.click(5, 880)  # the page's margin, outside the stepper
        page.keyboard.press("ArrowLeft")
        assert state(root) == "fresh:3:1"
        assert "click here first" not in root.locator(".sg-keys").inner_text()


@pytest.mark.parametrize(
    ("program", "values"),
    [
        ("+".join(["x"] * 250), ["x=1.5"]),  # one input used 250 times: 950,000 cells of edges
        ("*".join(f"a{i % 20}" for i in range(120)), [f"a{i}=1.01" for i in range(20)]),
    ],
    ids=["x used 250 times", "20 inputs used 6 times each"],
)
def test_a_page_whose_edges_cover_too_much_is_refused_at_once(
    program: str, values: list[str]
) -> None:
    """Every step redraws the edges it changes: a value used by hundreds of nodes far apart
    took a minute (48 s for 499 uses of x). Such a graph is refused with one line naming the
    limit, before any step is drawn; the MLP example (30,000 cells) is not."""
    from stepgrad.sources.html import MAX_EDGE_CELLS

    out, err = io.StringIO(), io.StringIO()
    assert main([program, *values, "--html", "-"], out=out, err=err) == 2
    (line,) = err.getvalue().splitlines()
    assert line.startswith("stepgrad: error: ") and f"more than {MAX_EDGE_CELLS:,} cells" in line
    assert "step through it in the app" in line and out.getvalue() == ""


@pytest.mark.parametrize("viewport", [(1280, 800), (390, 844)])
def test_the_page_keeps_the_firing_node_in_view(tmp_path: Path, viewport: tuple[int, int]) -> None:
    """The pane follows each step. It measured the drawing from the page's corner, not the
    pane's, and centred the firing node with its inputs even where they did not fit together:
    on the MLP at 1280x800 the firing box was less than half in view on 69 of 271 steps."""
    path = tmp_path / "mlp.html"
    assert main(["--example", "mlp", "--html", str(path)], out=io.StringIO()) == 0
    model = model_of(EXAMPLES["mlp"].program)
    width, height = model["width"], model["height"]
    with chromium() as browser:
        page, root = open_page(browser, path, *viewport)
        root.focus()
        hidden = []
        for k in range(1, 121):
            page.keyboard.press("ArrowRight")
            x, y, w, h = model["boxes"][str(model["steps"][k - 1][0])]
            seen = page.evaluate(
                """([x, y, w, h, W, H]) => {
                    const pane = document.querySelector('.sg-graph').getBoundingClientRect();
                    const c = document.querySelector('.sg-canvas').getBoundingClientRect();
                    const cw = c.width / W, ch = c.height / H;
                    const bx0 = c.left + x * cw, bx1 = c.left + (x + w) * cw;
                    const by0 = c.top + y * ch, by1 = c.top + (y + h) * ch;
                    const ix = Math.max(0, Math.min(bx1, pane.right) - Math.max(bx0, pane.left));
                    const iy = Math.max(0, Math.min(by1, pane.bottom) - Math.max(by0, pane.top));
                    const fits = (bx1 - bx0) <= pane.width && (by1 - by0) <= pane.height;
                    return fits ? (ix * iy) / ((bx1 - bx0) * (by1 - by0)) : 1;
                }""",
                [x, y, w, h, width, height],
            )
            if seen < 0.99:
                hidden.append((k, round(seen, 2)))
        assert hidden == [], f"the firing box not wholly in view at steps {hidden[:10]}"
        assert getattr(page, "_sg_errors") == []  # noqa: B009


def test_zero_grad_on_a_graph_without_steps(tmp_path: Path) -> None:
    """``x = 3; x`` has no step: the pass is over at step 0. z said 'all grads set to 0' with
    x.grad still 1, and the b after it claimed an accumulated pass (grad 2, 'no zero_grad')."""
    from stepgrad.state import Walkthrough

    walk = Walkthrough(parse("x = 3; x"))
    x = walk.program.inputs["x"]
    assert walk.total == 0 and walk.grad(x) == 1.0
    walk.zero_grad()
    assert walk.grad(x) == 0.0
    walk.backward_again()
    assert walk.grad(x) == 1.0 and walk.pass_.zeroed and not walk.pass_.accumulates
    path = tmp_path / "leaf.html"
    assert main(["x = 3; x", "--html", str(path)], out=io.StringIO()) == 0
    with chromium() as browser:
        page, root = open_page(browser, path)
        root.focus()
        page.keyboard.press("z")
        assert "grad 0" in "\n".join(canvas_text(root))
        page.keyboard.press("b")
        status = root.locator(".sg-status").inner_text()
        assert "accumulate" not in status
        assert "grad 1" in "\n".join(canvas_text(root))
        assert getattr(page, "_sg_errors") == []  # noqa: B009


@pytest.mark.parametrize(("example", "steps", "says"), [("toy", 4, "0.125 × 8 = 1"),
                                                         ("neuron", 3, "0.5 × 1 = 0.5"),
                                                         ("mlp", 10, "")])  # fmt: skip
def test_the_step_table_fits_a_small_screen(
    tmp_path: Path, example: str, steps: int, says: str
) -> None:
    """The step table's cells never wrapped: 1,235 px wide in a 344 px panel on a phone, 754 at
    800 px, its numbers off to the right with no cue; then with wrapping the neuron's was still
    538 px in 344 (the MLP's 577). A narrow panel shows each edge as labelled lines."""
    path = tmp_path / f"{example}.html"
    assert main(["--example", example, "--html", str(path)], out=io.StringIO()) == 0
    with chromium() as browser:
        for width in (390, 800, 1280):
            page, root = open_page(browser, path, width, 844)
            root.focus()
            for _ in range(steps):
                page.keyboard.press("ArrowRight")
            table, panel = page.evaluate(
                "() => [document.querySelector('.sg-panel table').scrollWidth,"
                " document.querySelector('.sg-panel').clientWidth]"
            )
            assert table <= panel, (width, table, panel)
            text = page.locator(".sg-panel").inner_text()
            assert says in text
            if width == 390:  # the labels say what each number is
                label = page.evaluate(
                    "() => getComputedStyle(document.querySelector("
                    "'.sg-panel tr:not(.sg-head) td:nth-child(4)'), '::before').content"
                )
                assert "upstream × local = contribution: " in label


def test_space_on_a_focused_button_presses_it(tmp_path: Path) -> None:
    """Space on a button reached with Tab stepped once (the stepper's key for →) instead of
    pressing the button: Tab to End, Space went to step 1, not to the end."""
    path = tmp_path / "toy.html"
    assert main(["--example", "toy", "--html", str(path)], out=io.StringIO()) == 0
    from stepgrad.state import Walkthrough

    total = Walkthrough(parse(EXAMPLES["toy"].program)).total
    with chromium() as browser:
        page, root = open_page(browser, path)
        root.locator('button[data-act="end"]').focus()
        page.keyboard.press(" ")
        assert state(root) == f"fresh:{total}:1"
        page.keyboard.press("Home")
        for _ in range(3):
            page.keyboard.press("ArrowRight")
        root.locator('button[data-act="prev"]').focus()
        page.keyboard.press(" ")
        assert state(root) == "fresh:2:1"
        page.keyboard.press(" ")  # the button keeps the focus: Space presses it again
        assert state(root) == "fresh:1:1"
        page.keyboard.press("Enter")
        assert state(root) == "fresh:0:1"
        page.mouse.click(5, 880)  # the page's margin: the stepper's keys again
        page.keyboard.press(" ")
        assert state(root) == "fresh:1:1"
        assert getattr(page, "_sg_errors") == []  # noqa: B009


def test_keys_and_clicks_while_the_page_unpacks_are_not_lost(tmp_path: Path) -> None:
    """The page unpacks its data before it takes keys (0.3 s for a large one): a quick → and
    a click on Next right after it opened were lost. They are kept and done once it is ready."""
    path = tmp_path / "toy.html"
    assert main(["--example", "toy", "--html", str(path)], out=io.StringIO()) == 0
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        offline(page)
        # unpacking made slow, as on a large page on a slow machine
        page.add_init_script(
            "const text = Response.prototype.text; Response.prototype.text = function () {"
            " return text.call(this).then(t => new Promise(r => setTimeout(() => r(t), 800)));"
            " };"
        )
        page.goto(path.as_uri())
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        page.locator('button[data-act="next"]').click()
        page.locator('button[data-act="prev"]').focus()
        page.keyboard.press(" ")  # Space on a focused button presses it, even now
        root = page.locator(".stepgrad")
        assert root.get_attribute("data-sg-state") is None  # not ready yet: held
        page.wait_for_selector(".stepgrad[data-sg-state]")
        assert state(root) == "fresh:2:1"
        assert getattr(page, "_sg_errors") == []  # noqa: B009


def test_the_program_line_splits_at_line_breaks_only() -> None:
    """A comment holding U+0085 (NEL) or a form feed: ``splitlines`` split there too, and the
    rest of the comment showed as a statement in the page's one-line program."""
    from engine.parse import parse
    from stepgrad.sources.html import _program_line

    program = parse("x = 2  # a\x85b = 1\fc\ny = x*x  # \x1cz\ny")
    assert _program_line(program) == "x = 2; y = x*x; y"
