"""``stepgrad --serve``: the app served by textual-serve, driven in a real headless Chromium.

The page draws the terminal on a canvas (xterm.js), so the text is read from xterm.js's own
buffer: an init script catches the ``Terminal`` that textual-serve's page stores as
``this.terminal``, and ``page.evaluate`` reads its rows.
"""

from __future__ import annotations

import io
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from stepgrad.serve import app_command, serve

REQUIRE_BROWSER = "STEPGRAD_REQUIRE_BROWSER"
"""Set to 1 (``.ci/run`` does), a missing Chromium fails the browser test instead of skipping it."""
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Without --disable-background-networking the closed network refuses Chromium's own calls
# loudly; the rest keep a fresh profile from reaching out or setting itself up.
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
    "Chromium (`chromium` on the PATH) is needed for the browser test: install Debian's package "
    "with `apt-get install -y chromium` (.ci/run does this when it is missing)"
)
ROOT = Path(__file__).resolve().parent.parent
STEP = re.compile(r"step (\d+) of (\d+)")

# Runs before the page's scripts: textual.js does `this.terminal = new Terminal(...)`, which
# this setter on Object.prototype sees once, keeps, and then gets out of the way.
CATCH_TERMINAL = """
window.__terminals = [];
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  get() { return undefined; },
  set(value) {
    Object.defineProperty(this, "terminal",
      {value, writable: true, configurable: true, enumerable: true});
    if (value && value.buffer && typeof value.onData === "function") {
      window.__terminals.push(value);
    }
  },
});
"""
READ_SCREEN = """() => {
  const terminal = window.__terminals[0];
  if (!terminal) return null;
  const buffer = terminal.buffer.active;
  const rows = [];
  for (let y = 0; y < terminal.rows; y++) {
    const line = buffer.getLine(buffer.viewportY + y);
    rows.push(line ? line.translateToString(true) : "");
  }
  return rows.join("\\n");
}"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _group(pgid: int) -> list[int]:
    """The processes still in process group ``pgid`` (the server and the apps it started)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(stat.parent.name))
    return members


@contextmanager
def _server(tmp_path: Path, *app_args: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``stepgrad --serve`` on a free port, in its own process group, killed whole at the end."""
    port = _free_port()
    log = (tmp_path / "server.out").open("wb"), (tmp_path / "server.err").open("wb")
    command = [sys.executable, "-m", "stepgrad", "--serve", "--port", str(port), *app_args]
    env = {k: v for k, v in os.environ.items() if k != "TEXTUAL_DRIVER"}
    server = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log[0],
        stderr=log[1],
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            if server.poll() is not None:
                pytest.fail(f"the server exited with {server.returncode}: {_logs(tmp_path)}")
            with suppress(OSError), socket.create_connection(("localhost", port), timeout=1):
                break
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not listen on port {port}: {_logs(tmp_path)}")
            time.sleep(0.1)
        yield server, f"http://localhost:{port}/"
    finally:
        with suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(10)
        for member in _group(server.pid):  # apps that left the server's group: none expected
            with suppress(ProcessLookupError):
                os.kill(member, signal.SIGKILL)
        for file in log:
            file.close()


def _logs(tmp_path: Path) -> str:
    out = (tmp_path / "server.out").read_text(errors="replace")
    err = (tmp_path / "server.err").read_text(errors="replace")
    return f"stdout {out!r}, stderr {err!r}"


def _wait_screen(page: Page, done: Callable[[str], bool], what: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = page.evaluate(READ_SCREEN) or ""
        if done(screen):
            return screen
        page.wait_for_timeout(100)
    if page.evaluate("window.__terminals.length") == 0:
        pytest.fail("textual-serve's page made no xterm.js Terminal as `this.terminal`")
    pytest.fail(f"the browser never showed {what}; its screen was:\n{screen}")


def _step(screen: str) -> int | None:
    match = STEP.search(screen)
    return int(match.group(1)) if match else None


def chromium_or_skip(chromium: str | None) -> str:
    """The Chromium to drive; without one, skip (a laptop) or fail (CI: $STEPGRAD_REQUIRE_BROWSER
    is 1), saying how to install it."""
    if chromium is not None and os.access(chromium, os.X_OK):
        return chromium
    if os.environ.get(REQUIRE_BROWSER) == "1":
        pytest.fail(f"{INSTALL_CHROMIUM}; {REQUIRE_BROWSER}=1 requires it")
    pytest.skip(f"{INSTALL_CHROMIUM}; CI sets {REQUIRE_BROWSER}=1 to fail instead of skipping")


def test_no_chromium_skips_on_a_laptop_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REQUIRE_BROWSER, raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y chromium"):
        chromium_or_skip(None)
    with pytest.raises(pytest.skip.Exception):
        chromium_or_skip("/nonexistent/chromium")
    monkeypatch.setenv(REQUIRE_BROWSER, "1")
    with pytest.raises(pytest.fail.Exception, match="STEPGRAD_REQUIRE_BROWSER=1 requires it"):
        chromium_or_skip(None)
    assert chromium_or_skip(sys.executable) == sys.executable  # an executable that exists


def test_the_app_runs_in_headless_chromium(tmp_path: Path) -> None:
    chromium = chromium_or_skip(CHROMIUM)
    with _server(tmp_path, "--example", "toy") as (server, url), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.add_init_script(CATCH_TERMINAL)
            requests: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            page.goto(url)

            screen = _wait_screen(
                page, lambda s: "r = a / b" in s and _step(s) == 0, "the toy example at step 0"
            )
            assert "pass 1" in screen

            page.focus(".xterm-helper-textarea")  # keys go to the terminal, as after a click
            page.keyboard.press("ArrowRight")
            screen = _wait_screen(page, lambda s: _step(s) == 1, "step 1 after →")
            assert "r = a / b" in screen

            shot = tmp_path / "serve.png"
            page.screenshot(path=str(shot))
            assert shot.stat().st_size > 10_000

            # Everything the page loads comes from the server: nothing from the internet.
            assert [u for u in requests if not u.startswith(url)] == []

            # ctrl+c: the server ends the open tab's app and exits 0, leaving no process.
            server.send_signal(signal.SIGINT)
            assert server.wait(15) == 0
            page.wait_for_selector("body.-closed", timeout=10_000)  # "Session ended."
            deadline = time.monotonic() + 5
            while _group(server.pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert _group(server.pid) == []
            out = (tmp_path / "server.out").read_text()
            assert out.splitlines()[0] == f"stepgrad: serving on {url[:-1]} (ctrl+c to stop)"
        finally:
            browser.close()


def test_a_port_in_use_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "stepgrad", "--serve", "--port", str(port), "--example", "toy"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("stepgrad: error: ")
    assert f"port {port} is already in use" in result.stderr


@pytest.mark.parametrize("port", [0, 65536])
def test_a_port_out_of_range_is_one_line_and_exit_2(port: int) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert serve(["--example", "toy"], port=port, out=out, err=err) == 2
    assert out.getvalue() == ""
    assert err.getvalue() == f"stepgrad: error: --port must be between 1 and 65535, not {port}\n"


def test_each_tab_runs_this_python_on_the_same_arguments() -> None:
    args = ["(x*x+1)/(y*y-1)", "x=8", "--theme", "nord"]
    command = app_command(args)
    assert shlex.split(command) == [sys.executable, "-m", "stepgrad", *args]
    assert command.endswith(" '(x*x+1)/(y*y-1)' x=8 --theme nord")  # one shell word each
