"""Generate screenshots/13-notebook.png from a real notebook run.

Run: ``/work/venv/bin/python scripts/notebook_screenshot.py [OUT.png]`` (default:
``screenshots/13-notebook.png``). Needs the test extras (nbclient, ipykernel, playwright) and
Debian's Chromium.

It executes ``tests/notebooks/neuron.ipynb`` with nbclient on ipykernel (the notebook the tests
run), lays the cell that calls ``stepgrad.show(o)`` out as a notebook shows it (the code, then
its output, inserted the way JupyterLab inserts a trusted HTML output), opens that in headless
Chromium, clicks "Next →" three times and takes the picture. Nothing on the page is drawn by
this script but the code cell around the output.
"""

from __future__ import annotations

import shutil
import sys
from html import escape
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "tests" / "notebooks" / "neuron.ipynb"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
CLICKS = 3

PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><style>
body {{ margin: 0; padding: 16px 20px; background: #fff; color: #1f2328;
        font: 13px/1.4 system-ui, sans-serif; width: 1160px; }}
.bar {{ color: #57606a; margin-bottom: 10px; }}
.cell {{ display: grid; grid-template-columns: 64px 1fr; column-gap: 8px; }}
.prompt {{ color: #57606a; font: 12px/1.6 "DejaVu Sans Mono", monospace; text-align: right;
           padding-top: 6px; }}
.code {{ background: #f5f5f5; border: 1px solid #e0e0e0; border-radius: 2px; padding: 6px 8px;
         font: 12px/1.4 "DejaVu Sans Mono", monospace; white-space: pre; }}
.out {{ grid-column: 2; }}
</style></head><body>
<div class="bar">neuron.ipynb · executed by nbclient on ipykernel ({kernel})</div>
<div class="cell"><div class="prompt">[{count}]:</div><div class="code">{code}</div>
<div class="out" id="out"></div></div>
</body></html>"""

INSERT = """([html]) => {
  const host = document.getElementById("out");
  host.innerHTML = html;
  for (const old of Array.from(host.querySelectorAll("script"))) {
    const script = document.createElement("script");
    for (const attr of Array.from(old.attributes)) script.setAttribute(attr.name, attr.value);
    script.textContent = old.textContent;
    old.parentNode.replaceChild(script, old);
  }
}"""


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "screenshots" / "13-notebook.png"
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    )
    client.execute()
    cell = next(c for c in notebook.cells if c.cell_type == "code" and "show(o)" in c.source)
    (output,) = cell.outputs
    page_html = PAGE.format(
        kernel=escape(notebook.metadata.get("kernelspec", {}).get("display_name", "python3")),
        count=cell.execution_count,
        code=escape(cell.source),
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 800}, device_scale_factor=1)
        page.route(
            "**/*",
            lambda route: (
                route.continue_()
                if route.request.url.startswith(("file:", "data:", "about:"))
                else route.abort()
            ),
        )
        page.set_content(page_html)
        page.evaluate(INSERT, [output["data"]["text/html"]])
        page.wait_for_selector(".stepgrad[data-sg-state]")
        for _ in range(CLICKS):
            page.get_by_role("button", name="Next →").click()
        page.locator("body").screenshot(path=str(out))
        browser.close()
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
