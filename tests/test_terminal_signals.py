"""The app in a real terminal: signals, bytes that are not UTF-8, a quit during the layout, and
resize events that arrive late.

The first three run ``python -m stepgrad`` in a pseudo-terminal, as a user runs it:

- ``kill`` (TERM), a closed terminal (HUP), ``kill -QUIT`` and ``kill -INT`` end the app as
  ``q`` does: the terminal's modes as before, the main screen back, mouse reporting off, the
  cursor shown, and the exit code 128 + the signal (``stepgrad.app.TerminalDriver``);
- a byte that is not UTF-8 does not kill the thread that reads the keys: the app keeps
  answering them;
- ``q`` while a graph is being laid out gives the prompt back at once, without waiting for
  the layout thread.

The last one drives the app with Pilot: resize events that reach the screens late, with the
predict dialog open, settle at the terminal's size (they used to chase each other forever).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX terminals only")

ROOT = Path(__file__).resolve().parent.parent
TOY = ["(x*x + 1)/(y*y - 1)", "x=8", "y=3"]

SLOW_LAYOUT = """
import sys, threading, time
from stepgrad.screens.main import MainScreen
make_scene = MainScreen._make_scene
def slow(self, *args, **kwargs):
    if threading.current_thread() is not threading.main_thread():
        time.sleep(30)  # the layout of a graph that takes long
    return make_scene(self, *args, **kwargs)
MainScreen._make_scene = slow
from stepgrad.cli import run
sys.argv = ["stepgrad", *sys.argv[1:]]
run()
"""
"""``python -c`` this: stepgrad, whose layout thread takes 30 s."""


class Terminal:
    """``python -m stepgrad ARGS`` (or ``python -c CODE ARGS``) in a pseudo-terminal of 120x36;
    what it writes is collected as it comes."""

    def __init__(self, *args: str, code: str | None = None) -> None:
        import fcntl
        import pty
        import struct
        import termios

        self.main_fd, self.child_fd = pty.openpty()
        fcntl.ioctl(self.child_fd, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 120, 0, 0))
        self.modes_before = termios.tcgetattr(self.child_fd)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TEXTUAL", "COLUMNS"))}
        env.update(PYTHONPATH=str(ROOT), TERM="xterm-256color")
        command = ["-c", code] if code is not None else ["-m", "stepgrad"]
        self.child = subprocess.Popen(
            [sys.executable, *command, *args],
            stdin=self.child_fd,
            stdout=self.child_fd,
            stderr=self.child_fd,
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )
        self._chunks: list[bytes] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.main_fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            with self._lock:
                self._chunks.append(chunk)

    @property
    def output(self) -> str:
        with self._lock:
            return b"".join(self._chunks).decode("utf-8", "replace")

    def wait_for(self, text: str, timeout: float = 30) -> None:
        """Wait until ``text`` has been written (the app draws it)."""
        end = time.monotonic() + timeout
        while text not in self.output:
            if time.monotonic() > end:
                raise AssertionError(f"{text!r} never appeared:\n{self.output[-2000:]!r}")
            if self.child.poll() is not None:
                raise AssertionError(f"the app ended ({self.child.returncode}) before {text!r}")
            time.sleep(0.05)

    def type(self, data: bytes) -> None:
        os.write(self.main_fd, data)

    def modes(self) -> list[object]:
        import termios

        return termios.tcgetattr(self.child_fd)

    def close(self) -> None:
        if self.child.poll() is None:
            self.child.kill()
            self.child.wait(10)
        os.close(self.child_fd)
        self._reader.join(5)
        os.close(self.main_fd)


@pytest.fixture
def toy() -> object:
    terminal = Terminal(*TOY)
    try:
        terminal.wait_for("pass 1")  # the first frame is out
        time.sleep(0.3)
        yield terminal
    finally:
        terminal.close()


def restored(terminal: Terminal) -> None:
    """The terminal is as ``q`` leaves it."""
    assert terminal.modes() == terminal.modes_before  # canonical, echo, signals...
    out = terminal.output
    for on, off in (("\x1b[?1049h", "\x1b[?1049l"), ("\x1b[?1000h", "\x1b[?1000l")):
        assert out.rfind(off) > out.rfind(on) >= 0, (on, off)  # main screen, mouse off
    assert out.rfind("\x1b[?25h") > out.rfind("\x1b[?25l") >= 0  # the cursor shown


@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP", "SIGQUIT", "SIGINT", "SIGUSR1", "SIGALRM"])
def test_a_terminating_signal_restores_the_terminal(toy: Terminal, name: str) -> None:
    number = getattr(signal, name)
    toy.child.send_signal(number)
    assert toy.child.wait(10) == 128 + number
    time.sleep(0.2)  # the last bytes through the pseudo-terminal
    restored(toy)


def test_q_restores_the_terminal(toy: Terminal) -> None:
    """What the signals are held to: q."""
    toy.type(b"q")
    assert toy.child.wait(10) == 0
    time.sleep(0.2)
    restored(toy)


def test_a_byte_that_is_not_utf8_is_ignored(toy: Terminal) -> None:
    """Textual's key thread died of it (UnicodeDecodeError): every key after it was lost, and the
    app ended later with a traceback."""
    toy.type(b"\xff")
    time.sleep(0.3)
    toy.type(b"a\xe9b")  # a Latin-1 terminal's é between two keys
    time.sleep(0.5)
    assert toy.child.poll() is None, toy.output[-2000:]
    toy.type(b"\x1b[C")  # → still steps
    toy.wait_for("step 1 of 5", timeout=10)
    toy.type(b"q")
    assert toy.child.wait(10) == 0
    assert "UnicodeDecodeError" not in toy.output
    assert "Traceback" not in toy.output


def test_q_while_the_graph_is_laid_out_does_not_wait_for_the_layout() -> None:
    """The layout thread's result is not needed once the app has ended: the prompt comes back
    at once (asyncio.run waited for the thread, seconds for a large graph)."""
    terminal = Terminal(*TOY, code=SLOW_LAYOUT)
    try:
        terminal.wait_for("laying out the graph")
        time.sleep(0.3)
        start = time.monotonic()
        terminal.type(b"q")
        try:
            code = terminal.child.wait(10)
        except subprocess.TimeoutExpired:
            pytest.fail("q waited for the layout thread")
        assert code == 0
        assert time.monotonic() - start < 5
        time.sleep(0.2)
        restored(terminal)
    finally:
        terminal.close()


# --- resize events that arrive late -------------------------------------------------------------


def test_late_resize_events_settle_at_the_terminal_size() -> None:
    """Two resize events of different sizes waiting for a screen at once, with any message
    between them (the terminal resized twice while the predict dialog opened, the mouse
    moving) laid the screens out at each size in turn, forever: each layout at a new size
    sends the screen another resize event. The app drew at 120 and 40 columns in turn, used
    all of a processor and answered no key. It starved its own event loop, so the scenario
    (:func:`late_resizes`) runs in a process of its own, which would never end."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")]))
    code = "import asyncio, test_terminal_signals as t; asyncio.run(t.late_resizes())"
    try:
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=30
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the screens never settled: resize events chase each other")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("settled")


async def late_resizes() -> None:
    """The predict dialog open, the terminal resized, then resize events of sizes the terminal
    had before reach both screens late: everything settles at the terminal's size."""
    from textual import events
    from textual.geometry import Size
    from textual.screen import Screen

    from stepgrad.app import create_app
    from stepgrad.screens.predict import PredictScreen

    handled: list[Size] = []
    on_resize = Screen._on_resize

    async def counted(self: Screen, event: events.Resize) -> None:
        handled.append(event.size)
        await on_resize(self, event)

    Screen._on_resize = counted  # type: ignore[method-assign]
    app = create_app(TOY[0], {"x": 8, "y": 3}, steady=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("g", "right")  # predict mode; the next step asks first
        await pilot.pause()
        predict = app.screen
        assert isinstance(predict, PredictScreen)
        for width in (40, 120, 80, 40):  # the terminal resized, the screens still busy
            await pilot.resize_terminal(width, 36)
        await asyncio.sleep(0.3)
        assert app.size == Size(40, 36)
        for screen in (predict, app.main):  # late: sizes the terminal had before
            for size in (Size(120, 36), Size(40, 36), Size(200, 60)):
                screen.post_message(events.Resize(size, size))
                # a message between two resizes (a mouse move, a callback): without one
                # Textual merges them into the last
                screen.call_later(lambda: None)
        await asyncio.sleep(0.5)
        count = len(handled)
        await asyncio.sleep(0.5)
        assert len(handled) == count, f"still resizing: {handled[-6:]}"
        assert predict.size == app.main.size == app.size == Size(40, 36)
        await pilot.press("escape")  # the dialog answers keys
        await asyncio.sleep(0.3)
        assert app.screen is app.main
        await pilot.resize_terminal(120, 36)
        await asyncio.sleep(0.3)
        assert app.main.size == Size(120, 36)
        assert app.contained == []
    print("settled")
