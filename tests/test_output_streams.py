"""The text outputs on broken or narrow streams: the real CLI (``python -m stepgrad``) in
subprocesses, run from this checkout.

A closed stdout or stderr, a full disk and an encoding without box drawing or ``∂`` must each end
with one clear line (or, with stderr closed, just the exit code), never a traceback; a reader
that stops early (``| head``) is a success.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
MODES = ["--print", "--graph", "--json"]


def env(**extra: str) -> dict[str, str]:
    values = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "PYTHONIOENCODING")}
    values.update(PYTHONPATH=str(ROOT), **extra)
    return values


def shell(command: str, **extra: str) -> subprocess.CompletedProcess[bytes]:
    """``command`` in bash (for ``>&-`` and friends), with stepgrad as ``$STEPGRAD``."""
    return subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        cwd=ROOT,
        env=env(STEPGRAD=f"{PYTHON} -m stepgrad", **extra),
        timeout=120,
    )


def one_line(stderr: bytes) -> str:
    text = stderr.decode()
    assert "Traceback" not in text
    lines = text.splitlines()
    assert len(lines) == 1, text
    return lines[0]


@pytest.mark.parametrize("mode", MODES)
def test_a_closed_stdout_is_one_line_and_exit_1(mode: str) -> None:
    result = shell(f"$STEPGRAD --example mlp {mode} >&-")
    assert result.returncode == 1
    assert one_line(result.stderr).startswith("stepgrad: error: standard output is closed")


@pytest.mark.parametrize("mode", MODES)
def test_a_full_disk_is_one_line_and_exit_1(mode: str) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    result = shell(f"$STEPGRAD --example mlp {mode} >/dev/full")
    assert result.returncode == 1
    assert one_line(result.stderr) == (
        "stepgrad: error: cannot write the output: No space left on device"
    )


def test_a_short_output_to_a_full_disk_fails_too() -> None:
    # a few hundred bytes stay in the buffer until exit: they must fail here, not at shutdown
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    result = shell("$STEPGRAD 'x*2' x=1 --print >/dev/full")
    assert result.returncode == 1
    assert "No space left on device" in one_line(result.stderr)


@pytest.mark.parametrize("mode", MODES)
def test_a_closed_stderr_changes_nothing_when_all_goes_well(mode: str) -> None:
    result = shell(f"$STEPGRAD --example toy {mode} 2>&-")
    assert result.returncode == 0
    assert b"8.125" in result.stdout


def test_a_closed_stderr_still_gives_the_exit_code_of_an_error() -> None:
    result = shell("$STEPGRAD 'x^2' x=1 --print 2>&-")
    assert result.returncode == 2 and result.stdout == b""


@pytest.mark.parametrize("mode", MODES)
def test_closed_stdout_and_stderr_give_a_nonzero_code_and_nothing_else(mode: str) -> None:
    for redirect in (">&- 2>&-", ">/dev/full 2>&-"):
        result = shell(f"$STEPGRAD --example toy {mode} {redirect}")
        assert result.returncode != 0
        assert b"Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize("mode", MODES)
def test_a_reader_that_stops_early_is_a_success(mode: str) -> None:
    result = shell(f"$STEPGRAD --example mlp {mode} | head -1 >/dev/null; exit ${{PIPESTATUS[0]}}")
    assert result.returncode == 0
    assert b"Traceback" not in result.stderr


@pytest.mark.parametrize("encoding", ["ascii", "latin-1", "cp1252"])
def test_a_narrow_encoding_gets_ascii_symbols_in_print(encoding: str) -> None:
    result = shell("$STEPGRAD --example toy --print", PYTHONIOENCODING=encoding)
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    out = result.stdout.decode("ascii")  # pure ASCII, whatever the encoding allowed
    # dr/db = -a/b**2 = -65/64 = -1.015625 and dr/dy = -6.09375, by hand
    assert "dr/db = -a/b**2 = -65/8**2" in out
    assert "1 x -1.01562 = -1.01562" in out  # × as x
    assert "-3.046875 + -3.046875 -> -6.09375" in out  # → as ->; -65/64 * 3 = -3.046875
    assert "- -> 0.125" in out  # — (not computed yet) as -
    assert "ok agree" in out


@pytest.mark.parametrize("encoding", ["ascii", "latin-1", "cp1252"])
def test_a_narrow_encoding_spells_the_nudge_and_the_training_in_ascii(encoding: str) -> None:
    """Δout, the minus sign and the dash of a range (iterations 5–7) were backslash-u escapes."""
    for options in ("--print --nudge x", "--print --train --steps 8"):
        result = shell(f"$STEPGRAD 'x*x + y' x=3 y=1 {options}", PYTHONIOENCODING=encoding)
        assert result.returncode == 0, result.stderr
        out = result.stdout.decode("ascii")
        assert "\\u" not in out, [line for line in out.splitlines() if "\\u" in line]
    nudged = shell("$STEPGRAD 'x*x + y' x=3 y=1 --print --nudge x", PYTHONIOENCODING=encoding)
    assert "dout = out(x+h) - out(x)" in nudged.stdout.decode("ascii")


@pytest.mark.parametrize("encoding", ["ascii", "latin-1", "cp1252"])
def test_a_narrow_encoding_gets_an_ascii_drawing_in_graph(encoding: str) -> None:
    result = shell("$STEPGRAD --example toy --graph --backward", PYTHONIOENCODING=encoding)
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode("ascii")
    lines = out.splitlines()
    assert any(line.startswith("+ x ---") for line in lines)  # ┌ x ─── as + x ---
    assert "---->|" in out  # an edge entering a box: ─▶│ as -->|
    assert "data 8.125" in out and "grad 2" in out


def test_a_name_the_encoding_cannot_show_is_escaped_not_an_error() -> None:
    for mode in ("--print", "--graph"):
        result = shell(f"$STEPGRAD 'λ = 2; y = λ*λ' {mode}", PYTHONIOENCODING="ascii")
        assert result.returncode == 0, result.stderr
        assert "\\u03bb" in result.stdout.decode("ascii")


def app_in_a_terminal(
    args: list[str],
    stderr: str | None = None,
    stdin: str | None = None,
    size: tuple[int, int] | None = None,
    **extra: str,
) -> tuple[bytes, int | None]:
    """Run the app in a pseudo-terminal until its first step line shows, press q; return what
    the terminal received and the exit code (None if it never ended). ``stderr``: a file to
    send the child's stderr to instead of the terminal; ``stdin``: a file to read stdin from
    (the keys then come from the terminal itself)."""
    pty = pytest.importorskip("pty")
    import select
    import time

    pid, master = pty.fork()
    if pid == 0:  # the child: its terminal is the pty
        if size is not None:  # the terminal's own size (columns, rows)
            import fcntl
            import struct
            import termios

            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        os.environ.clear()
        os.environ.update(env(TERM="xterm-256color", COLUMNS="100", LINES="30") | extra)
        os.chdir(ROOT)
        if stderr is not None:
            os.dup2(os.open(stderr, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 2)
        if stdin is not None:
            os.dup2(os.open(stdin, os.O_RDONLY), 0)
        os.execv(PYTHON, [PYTHON, "-m", "stepgrad", *args])
    seen = b""
    deadline = time.monotonic() + 30
    quit_sent = False
    status = None
    while time.monotonic() < deadline and status is None:
        if select.select([master], [], [], 0.2)[0]:
            try:
                seen += os.read(master, 65536)
            except OSError:
                pass
        if not quit_sent and b"step 0 of" in seen:
            os.write(master, b"q")
            quit_sent = True
        done, code = os.waitpid(pid, os.WNOHANG)
        if done:
            status = code
    if status is None:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    os.close(master)
    return seen, None if status is None else os.waitstatus_to_exitcode(status)


def test_the_app_draws_in_utf8_even_when_python_is_told_ascii() -> None:
    """PYTHONIOENCODING=ascii once turned every box character of the app into a ``\\u2501``
    escape on screen: the app's screen is UTF-8 whatever Python's streams were told."""
    seen, code = app_in_a_terminal(["x*x + 1", "x=3"], PYTHONIOENCODING="ascii")
    assert code == 0, seen[-2000:]
    assert b"\\u25" not in seen and b"\\u2" not in seen
    assert "─".encode() in seen or "━".encode() in seen  # box drawing arrived as UTF-8
    assert "∂".encode() in seen or "×".encode() in seen or "→".encode() in seen


def test_the_app_draws_on_the_terminal_when_stderr_goes_elsewhere(tmp_path: Path) -> None:
    """``stepgrad ... 2>log`` on a terminal: Textual draws through stderr, so the whole screen
    once went into the file and the terminal stayed blank (q still quit, unseen)."""
    log = tmp_path / "stderr.log"
    seen, code = app_in_a_terminal(["x*x + 1", "x=3"], stderr=str(log))
    assert code == 0, seen[-2000:]
    assert b"step 0 of" in seen
    assert "─".encode() in seen or "━".encode() in seen
    assert b"step 0 of" not in log.read_bytes()
    seen, code = app_in_a_terminal(["x*x + 1", "x=3"], stderr=os.devnull)
    assert code == 0 and b"step 0 of" in seen, seen[-2000:]


@pytest.mark.parametrize("to", ["| cat >", ">"])
def test_a_long_output_arrives_whole_through_a_pipe_or_into_a_file(to: str, tmp_path: Path) -> None:
    """The console script leaves with ``os._exit`` (Python's teardown took about 90 ms after
    the app closed): everything written must still arrive, to the last byte."""
    path = tmp_path / "out.json"
    result = shell(f"$STEPGRAD --example mlp --json {to} {path}; exit ${{PIPESTATUS[0]}}")
    assert result.returncode == 0, result.stderr
    data = json.loads(path.read_text(encoding="utf-8"))
    assert len(data["nodes"]) > 300 and data["output"]["grad"] == 1.0
    printed = tmp_path / "out.txt"
    result = shell(f"$STEPGRAD --example mlp --print {to} {printed}; exit ${{PIPESTATUS[0]}}")
    assert result.returncode == 0, result.stderr
    assert printed.read_text(encoding="utf-8").rstrip().endswith("agree")


def test_the_app_takes_the_terminals_size_not_an_exported_one() -> None:
    """``COLUMNS=5 LINES=3`` exported in a 120x36 terminal drew a 5x3 app in its corner, and
    resizing the window changed nothing (``--print`` reads them; the app must not)."""
    seen, code = app_in_a_terminal(["x*x + 1", "x=3"], size=(120, 36), COLUMNS="5", LINES="3")
    assert code == 0, seen[-2000:]
    assert b"step 0 of" in seen  # a 5x3 app has no room for its status
    assert b"\x1b[36;1H" in seen  # the 36th row was drawn


def test_quitting_the_app_gives_the_terminal_back() -> None:
    """After q the screen leaves the alternate screen and shows the cursor again, exit 0."""
    seen, code = app_in_a_terminal(["x*x + 1", "x=3"])
    assert code == 0, seen[-2000:]
    tail = seen[seen.rindex(b"step 0 of") :]
    assert b"\x1b[?1049l" in tail and b"\x1b[?25h" in tail
