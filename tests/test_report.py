"""``--print`` (stepgrad/report.py) and ``--graph``: true, complete and safe text.

- On a terminal of any width, every number and formula is shown whole (stacked and wrapped,
  never cut to ``…``); piped, tables stay tables.
- The program is echoed as written; ``1 step``; pi and e are said to be constants.
- The gradient check names the output (``L(x+h)``) and says kink (not DIFFER) at relu(0).
- No control character from the user's text reaches the output raw.

Expected texts are the toy example's numbers worked out by hand: r = (x*x + 1)/(y*y - 1) at
x = 8, y = 3: a = 65, b = 8, dr/da = 1/b = 1/8 = 0.125, dr/db = -a/b**2 = -65/64 = -1.015625,
dr/dx = 2*8*0.125 = 2, dr/dy = 2*3*-1.015625 = -6.09375 (shown to 6 digits: -1.01562,
-3.04688).
"""

from __future__ import annotations

import io
import math
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from stepgrad.cli import main

ROOT = Path(__file__).resolve().parents[1]
TOY = ("--example", "toy")  # x = 8; y = 3; a = x*x + 1; b = y*y - 1; r = a / b
TOY_FIELDS = [  # every field of every edge, by hand
    "∂r/∂a = 1/b = 1/8",
    "∂r/∂b = -a/b**2 = -65/8**2",
    "1 × 0.125 = 0.125",
    "1 × -1.01562 = -1.01562",
    "— → 0.125",
    "— → -1.01562",
    "∂(x*x)/∂x = x = 8",
    "0.125 × 8 = 1",
    "1 + 1 → 2",
    "∂(y*y)/∂y = y = 3",
    "-1.015625 × 3 = -3.04688",  # -65/64 × 3 = -3.046875: the rounded -1.01562 gives -3.04686
    "-3.046875 + -3.046875 → -6.09375",  # by hand, as the sum is written
    "complete: will fire",
    "waits for 1 more",
    "complete (input)",
]


class Terminal(io.StringIO):
    """A stream that says it is a terminal (its width comes from $COLUMNS)."""

    encoding = "utf-8"

    def isatty(self) -> bool:
        return True


def run(*argv: str, out: io.StringIO | None = None) -> tuple[int, str, str]:
    out = out if out is not None else io.StringIO()
    err = io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def cells(line: str) -> int:
    """The columns a line takes on a terminal (styles take none)."""
    line = re.sub(r"\x1b\[[0-9;]*m", "", line)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def flat(text: str) -> str:
    """The text with every run of whitespace (line breaks and indents of wrapping) as one space."""
    return " ".join(text.split())


# --- A: whole on a terminal of any width --------------------------------------------------------


@pytest.mark.parametrize("columns", [60, 72, 80, 100, 120])
def test_a_terminal_of_any_width_shows_every_field_whole(
    columns: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.setenv("NO_COLOR", "1")
    code, out, _ = run(*TOY, "--print", out=Terminal())
    assert code == 0
    assert "…" not in out  # nothing cut
    assert max(cells(line) for line in out.splitlines()) <= columns  # nothing wider
    text = flat(out)
    for field in TOY_FIELDS:
        assert field in text, (columns, field)
    assert "x 2 2 ✓ agree" in text and "y -6.09375 -6.09375 ✓ agree" in text


def test_a_real_terminal_of_80_columns_shows_every_field_whole() -> None:
    """The CLI on a pseudo-terminal, as a user runs it (colours included)."""
    pty = pytest.importorskip("pty")
    import fcntl
    import struct
    import termios

    main_fd, child_fd = pty.openpty()
    fcntl.ioctl(child_fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 80, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR")}
    env.update(PYTHONPATH=str(ROOT), TERM="xterm-256color")
    child = subprocess.Popen(
        [sys.executable, "-m", "stepgrad", *TOY, "--print"],
        stdin=subprocess.DEVNULL,
        stdout=child_fd,
        stderr=child_fd,
        cwd=ROOT,
        env=env,
    )
    os.close(child_fd)
    chunks = []
    while True:
        try:
            chunk = os.read(main_fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert child.wait(30) == 0
    os.close(main_fd)
    raw = b"".join(chunks).decode()
    assert "\x1b[" in raw  # a terminal gets styles
    out = re.sub(r"\x1b\[[0-9;]*m", "", raw).replace("\r\n", "\n")
    assert "…" not in out
    assert max(cells(line) for line in out.splitlines()) <= 80
    for field in TOY_FIELDS:
        assert field in flat(out), field


def test_a_very_long_name_wraps_inside_a_narrow_terminal_but_is_all_there(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    name = "a_very_long_input_name_" * 4  # 92 characters: longer than a line
    code, out, _ = run(f"{name} = 2; y = {name}*{name}", "--print", out=Terminal())
    assert code == 0
    assert max(cells(line) for line in out.splitlines()) <= 60
    joined = "".join(re.sub(r"\x1b\[[0-9;]*m", "", out).split())
    assert f"∂y/∂{name}={name}=2" in joined  # the formula, whole, only broken across lines
    assert f"{name}=2" in joined and "…" not in out


def test_piped_output_keeps_the_tables_and_never_wraps() -> None:
    code, out, _ = run(*TOY, "--print")
    assert code == 0
    lines = out.splitlines()
    # one row per edge, all fields on the row of their edge
    row = next(line for line in lines if "∂r/∂b" in line)
    for field in ("∂r/∂b = -a/b**2 = -65/8**2", "-1.01562", "1 × -1.01562 = -1.01562"):
        assert field in row
    assert "\x1b[" not in out


# --- D: small items -------------------------------------------------------------------------------


def test_one_step_is_singular() -> None:
    _, out, _ = run("x*2", "x=1", "--print")
    assert "1 step." in out and "1 steps" not in out and "step 1 of 1" in out
    _, out, _ = run(*TOY, "--print")
    assert "5 steps." in out


def test_the_program_is_echoed_line_by_line_as_written() -> None:
    _, out, _ = run("x = 3  # input\ny = (x *\n     x)", "--print")
    lines = out.splitlines()
    start = lines.index("program")
    assert lines[start + 1 : start + 4] == ["  x = 3  # input", "  y = (x *", "       x)"]
    assert ";" not in "\n".join(lines[: start + 4])


def test_a_one_line_program_stays_on_the_heading_line() -> None:
    _, out, _ = run("x*x + 1", "x=2", "--print")
    assert out.splitlines()[0] == "program  x*x + 1"


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ("x*e", "e is the constant 2.71828…"),
        ("pi*x + e", "pi and e are the constants 3.14159… and 2.71828…"),
        ("e*x + pi", "e and pi are the constants 2.71828… and 3.14159…"),
    ],
)
def test_pi_and_e_read_as_constants_are_said_once(source: str, line: str) -> None:
    assert f"{math.pi:.5f}" == "3.14159" and f"{math.e:.5f}" == "2.71828"
    _, out, _ = run(source, "x=1", "--print")
    assert out.count(line) == 1


def test_an_assigned_e_is_no_constant() -> None:
    _, out, _ = run("e = 2\ny = e*e", "--print")
    assert "constant" not in out


# --- C: the gradient check in --print -----------------------------------------------------------


def test_the_check_heading_names_the_output_not_f() -> None:
    # L = (a*b + c)*f: dL/df = a*b + c = 7, dL/da = b*f = 12
    _, out, _ = run("L = (a*b + c)*f", "a=2", "b=3", "c=1", "f=4", "--print")
    head = next(line for line in out.splitlines() if line.startswith("gradient check"))
    assert "(L(x+h) - L(x-h)) / 2h" in head and "f(x" not in head
    assert re.search(r"^f\s+7\s+7\s+✓ agree$", out, re.M)
    assert re.search(r"^a\s+12\s+12\s+✓ agree$", out, re.M)


def test_relu_at_zero_is_a_kink_with_its_reason_not_a_differ() -> None:
    _, out, _ = run("relu(x)", "x=0", "--print")
    assert "DIFFER" not in out
    assert re.search(r"^x\s+0\s+0\.5\s+⚠ kink$", out, re.M)
    reason = next(line for line in out.splitlines() if line.startswith("  x: "))
    for words in ("relu'(0) = 0", "PyTorch", "0 and 1", "average, 0.5"):
        assert words in reason


# --- E: no control character reaches the output -------------------------------------------------

CONTROLS = [chr(c) for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))]
RAW = set(CONTROLS) - {"\n"}
OSC52 = "\x1b]52;c;aGVsbG8=\x07\x1b\\"
CSI = "\x1b[2J\x1b[H"


@pytest.mark.parametrize(
    "char", [c for c in CONTROLS if c not in "\n\r"], ids=lambda c: f"{ord(c):#04x}"
)
@pytest.mark.parametrize("mode", ["--print", "--graph"])
def test_no_control_character_reaches_the_output(char: str, mode: str) -> None:
    # in a comment (echoed by --print) and inside an unnamed node's source text (its name in
    # both outputs), with an OSC 52 clipboard write and a clear-screen after it
    source = f"y = (x *  #{char}{OSC52}{CSI}\n     x) + 1  # {char}"
    code, out, err = run(source, "x=2", mode)
    assert not RAW & set(out), [hex(ord(c)) for c in RAW & set(out)]
    assert not RAW & set(err)
    if code == 0 and mode == "--print":
        assert "␛]52;c;aGVsbG8=␇␛\\␛[2J␛[H" in out  # shown, visibly


def test_controls_in_a_program_from_stdin_never_reach_the_terminal_raw() -> None:
    """The real CLI, every control character at once, the program on stdin."""
    source = "y = (x *  # " + "".join(c for c in CONTROLS if c not in "\n\r\x00") + OSC52 + CSI
    source += "\n     x) + 1\n"
    for mode in ("--print", "--graph"):
        for text in (source, "x*x  # \x00 NUL\n"):
            result = subprocess.run(
                [sys.executable, "-m", "stepgrad", "-", "x=2", mode],
                input=text.encode(),
                capture_output=True,
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                timeout=60,
            )
            out = result.stdout.decode() + result.stderr.decode()
            assert "Traceback" not in out
            assert not RAW & set(out), (mode, [hex(ord(c)) for c in RAW & set(out)])


def test_print_names_unnamed_values_by_their_whole_text() -> None:
    """Issue 11: a shortened name in the app, the full text in --print. The app calls
    ``sigmoid(x)*cos(y) + log(x)*exp(y) + tanh(x*y)`` (44 characters) by a shortened name; --print
    writes it whole, in the heading of the step where it fires and in the edge that feeds it."""
    program = "sigmoid(x)*cos(y) + log(x)*exp(y) + tanh(x*y) - sqrt(x)/sin(y)"
    out = io.StringIO()
    assert main([program, "x=2", "y=1", "--print"], out=out) == 0
    text = out.getvalue()
    assert "…" not in text
    assert "∂out/∂(sigmoid(x)*cos(y) + log(x)*exp(y) + tanh(x*y)) = 1" in text
    # the app's name for it is shortened (its boxes and panels are narrow); --print restores it
    from engine.parse import parse

    parsed = parse(program, {"x": 2, "y": 1})
    first = parsed.output.parents[0]
    assert "…" in parsed.name(first)
    # the same with --bug (micrograd's own graph) and --passes
    for extra in (["--passes", "2"], ["--bug", "overwrite"]):
        out = io.StringIO()
        assert main([program, "x=2", "y=1", "--print", *extra], out=out) == 0
        assert "…" not in out.getvalue(), extra


@pytest.mark.parametrize(
    "args",
    [
        ["--example", "toy", "--print"],
        ["--example", "toy", "--print", "--passes", "2"],
        ["--example", "mlp", "--print"],
        ["--example", "zero_grad", "--print", "--passes", "3"],
    ],
)
def test_every_grad_sum_in_print_adds_up_as_written(args: list[str]) -> None:
    """``grad before + contribution → after``, as --print writes it, adds up in decimal to the
    number after the arrow once rounded to the digits it is written with (issue 9: a reader
    who checks it by hand gets what is written; -3.04688 → -6.09375 beside a contribution of
    -3.04688 did not). Ties round to even, as the README says."""
    from decimal import ROUND_HALF_EVEN, Decimal

    from stepgrad.cli import main

    out = io.StringIO()
    assert main(args, out=out) == 0
    sums = re.findall(r"(-?[\d.e+-]+) \+ (-?[\d.e+-]+) → (-?[\d.e+-]+)", out.getvalue())
    assert sums
    for before, contribution, after in sums:
        total = Decimal(before) + Decimal(contribution)
        shown = Decimal(after)
        exponent = shown.as_tuple().exponent
        assert isinstance(exponent, int)
        assert total.quantize(Decimal(1).scaleb(exponent), ROUND_HALF_EVEN) == shown, (
            before,
            contribution,
            after,
        )
