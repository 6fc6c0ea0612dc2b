"""``stepgrad.show()`` in a Jupyter kernel: a real notebook executed by nbclient on ipykernel.

``tests/notebooks/neuron.ipynb`` builds micrograd's tanh neuron with the lecture's Value class
and calls ``stepgrad.show(o)``, then shows a second graph. The test checks each output's mime
bundle, then loads the two outputs into one page in headless Chromium, the first as a page
holds it, the second as JupyterLab inserts an output (``innerHTML``, then each script made
anew), and clicks → in one: step 1's text appears there and the other stepper does not move.
Outside a kernel, ``show()`` still opens the terminal app.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from test_html import chromium, offline, state

import stepgrad
from engine import Value

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "tests" / "notebooks" / "neuron.ipynb"

# JupyterLab's way of showing a trusted HTML output: set innerHTML (scripts do not run), then
# replace each <script> by a new one with the same text (which then runs)
JUPYTERLAB_INSERT = """([html]) => {
  const host = document.createElement("div");
  host.className = "jp-OutputArea-output";
  document.body.appendChild(host);
  host.innerHTML = html;
  for (const old of Array.from(host.querySelectorAll("script"))) {
    const script = document.createElement("script");
    for (const attr of Array.from(old.attributes)) script.setAttribute(attr.name, attr.value);
    script.textContent = old.textContent;
    old.parentNode.replaceChild(script, old);
  }
}"""


@pytest.fixture(scope="module")
def executed() -> Any:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=180,
        kernel_name="python3",
        resources={"metadata": {"path": str(ROOT)}},  # the kernel imports this checkout
    )
    client.execute()
    return notebook


def outputs(notebook: Any) -> list[list[Any]]:
    return [cell.outputs for cell in notebook.cells if cell.cell_type == "code"]


def test_the_mime_bundles(executed: Any) -> None:
    _, neuron, check, second = outputs(executed)
    for cell in (neuron, second):
        assert len(cell) == 1, cell  # the stepper, and nothing on stdout or stderr
        (output,) = cell
        assert output["output_type"] == "display_data"
        assert set(output["data"]) == {"text/html", "text/plain"}
        html = output["data"]["text/html"]
        assert html.startswith('<div class="stepgrad" id="sg-')
        assert 'data-lm-suppress-shortcuts="true"' in html  # JupyterLab leaves its keys to it
        assert "<html" not in html  # a fragment, not a page
    # the lecture's numbers: o = tanh(0.8813...) = 0.7071; five nodes fire (o, n, the sum,
    # and the two products); L = (a*b + c)*f = -8, three fire (L, d, e)
    assert neuron[0]["data"]["text/plain"].startswith("stepgrad: o = 0.707107, 5 steps")
    assert second[0]["data"]["text/plain"].startswith("stepgrad: L = -8, 3 steps")
    ids = {cell[0]["data"]["text/html"].split('"')[3] for cell in (neuron, second)}
    assert len(ids) == 2  # each stepper its own id
    # show() stepped through a copy: the notebook's own values kept their grads (all 0)
    (printed,) = check
    assert printed["text"].strip() == "0.7071067811865476 [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]"


def test_the_outputs_step_in_chromium(executed: Any) -> None:
    _, neuron, _, second = outputs(executed)
    first_html = neuron[0]["data"]["text/html"]
    second_html = second[0]["data"]["text/html"]
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        left = offline(page)
        page.set_content(f"<!DOCTYPE html><html><body>{first_html}</body></html>")
        page.evaluate(JUPYTERLAB_INSERT, [second_html])
        page.wait_for_function("document.querySelectorAll('[data-sg-state]').length === 2")
        one, two = page.locator(".stepgrad").nth(0), page.locator(".stepgrad").nth(1)
        assert state(one) == state(two) == "fresh:0:1"
        one.get_by_role("button", name="Next →").click()
        assert state(one) == "fresh:1:1"
        title = one.locator(".sg-title-line").inner_text()
        assert title == "step 1 of 5 · o = tanh(n) fires · upstream ∂o/∂o = 1"
        panel = one.locator(".sg-panel").inner_text()
        # by hand: ∂o/∂n = 1 - o² = 1 - 0.5 = 0.5 (o = 1/√2), so n gets 1 × 0.5 = 0.5
        assert "∂o/∂n = 1 - o**2 = 1 - 0.707107**2" in panel
        assert "1 × 0.5 = 0.5" in panel and "— → 0.5" in panel
        assert "grad 0.5" in one.locator(".sg-canvas").inner_text()
        assert state(two) == "fresh:0:1"  # the other stepper did not move
        two.focus()
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        assert state(two) == "fresh:2:1" and state(one) == "fresh:1:1"
        assert two.locator(".sg-title-line").inner_text().startswith("step 2 of 3 · d = e + c")
        assert getattr(page, "_sg_errors") == []  # noqa: B009
        assert left == []


def test_a_cell_ending_in_html_shows_one_line(tmp_path: Path) -> None:
    """A cell ending in ``stepgrad.html(o, "neuron.html")`` echoed the whole page as its
    result (about 30 kB of markup for the neuron); its result is now one line, as IPython
    shows the page's repr. A stepgrad error caught in the kernel leaves ``sys.excepthook`` as
    the kernel has it (the kernel shows stepgrad's errors in one line already)."""
    setup = (
        f"import sys\nsys.path.insert(0, {str(ROOT)!r})\nimport stepgrad\n"
        "from engine import Value\nx = Value(2.0, label='x')\no = (x * x).tanh()\no.label = 'o'"
    )
    hook = (
        "before = sys.excepthook\ntry:\n    stepgrad.to_json(3.0)\nexcept TypeError:\n"
        "    pass\nprint(sys.excepthook == before)"
    )
    cells = [setup, "stepgrad.html(o, 'neuron.html')", "stepgrad.html(o)", hook]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()
    _, written, returned, hooked = outputs(notebook)
    kb = round((tmp_path / "neuron.html").stat().st_size / 1000)
    assert 20 <= kb <= 60
    for cell, plain in (
        (written, f"<stepgrad page: {kb} kB, written to neuron.html>"),
        (returned, f"<stepgrad page: {kb} kB>"),
    ):
        (output,) = cell
        assert output["output_type"] == "execute_result"
        assert output["data"] == {"text/plain": plain}
    (printed,) = hooked  # == : IPython sets its bound method anew for each statement it runs
    assert printed["text"] == "True\n"


def test_outside_a_kernel_show_opens_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    from stepgrad.app import StepgradApp

    ran: list[str] = []
    monkeypatch.setattr(StepgradApp, "run", lambda self, *a, **k: ran.append(self.title))
    monkeypatch.setattr("stepgrad.cli._interactive", lambda out: True)  # as on a terminal
    x = Value(3.0, label="x")
    y = x * x
    y.label = "y"
    assert not stepgrad._in_kernel()
    stepgrad.show(y)
    assert ran == ["y"]


def test_a_kernel_is_told_from_plain_ipython() -> None:
    """IPython imported, or its terminal shell running, is not a kernel: the app opens; a
    shell with a kernel displays the stepper."""
    code = """
import IPython, stepgrad
assert not stepgrad._in_kernel()
from IPython.terminal.interactiveshell import TerminalInteractiveShell
shell = TerminalInteractiveShell.instance()
assert IPython.get_ipython() is shell and not stepgrad._in_kernel()
shown = []
import IPython.display
IPython.display.display = lambda obj: shown.append(obj._repr_mimebundle_())
shell.kernel = object()  # what a kernel's shell has
assert stepgrad._in_kernel()
from engine import Value
x = Value(3.0, label="x"); y = x * x; y.label = "y"
assert stepgrad.show(y) is None
assert len(shown) == 1 and shown[0]["text/plain"].startswith("stepgrad: y = 9, 1 step (")
"""
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=120)
