"""Worst-shape benchmark: the largest programs the parser accepts, through the text outputs.

Every program the parser accepts (up to ``MAX_SOURCE`` = 20,000 characters) must answer each
mode within 5 s and 1 GB. The shapes below are the ones that made ``--print`` quadratic
(issue: a sum of 4,000 copies of ``x`` took 53 s):

  one input       x + x + ... + x                one input used n times
  distinct        a1 + a2 + ... + an             n distinct inputs summed (values given as a1=1)
  nesting         ((((x+1)+1)+1)...) + ...        the deepest nesting accepted, summed
  negations       ------...x                     the longest chain of unary minuses accepted
  chain           a1 = x*1.01; a2 = a1*1.01 ...  a long chain of named statements

Each run is a fresh ``python -m stepgrad PROGRAM ... MODE`` in a subprocess with its output
going to a file (not a terminal), timed by the wall clock; its peak memory is the child's
maximum resident set size from ``os.wait4``. Add a mode by adding an entry to ``MODES``.

Run: python tests/benchmarks/bench_worst.py [--shapes one,distinct] [--modes print]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from engine.parse import MAX_SOURCE  # noqa: E402

TARGET_SECONDS = 5.0
TARGET_MB = 1024.0
TIMEOUT = 120.0  # a run this slow has failed anyway; stop it rather than wait minutes

MODES: dict[str, list[str]] = {
    "print": ["--print"],
    "json": ["--json"],
    "graph": ["--graph", "--backward"],
    "html": ["--html", "-"],
    "paths": ["--paths", "--print"],
    "app": ["(app)"],
}
"""Mode name -> the options that select it. ``app`` opens the app headless (Textual's test
driver) and waits until its graph is laid out (in a worker: the app answers keys meanwhile) and
on screen."""
REFUSE_SECONDS = 1.0
"""A refusal ("too large to draw: ... the limit is ...") must come this quickly."""


def _most_steps(nodes: int) -> str:
    from stepgrad.training import most_steps

    return str(most_steps(nodes))


def _most_passes(nodes: int) -> str:
    from stepgrad.lesson.report import most_passes

    return str(most_passes(nodes))


SIZED: dict[str, Callable[[int], list[str]]] = {
    "train-print": lambda n: ["--train", "--print", "--steps", _most_steps(n)],
    "train-json": lambda n: ["--train", "--json", "--steps", _most_steps(n)],
    "passes-print": lambda n: ["--print", "--passes", _most_passes(n)],
    "passes-json": lambda n: ["--json", "--passes", _most_passes(n)],
    "over-limits": lambda n: ["--train", "--json", "--steps", "10000"],
}
"""Modes whose options depend on the program's node count: ``--train`` and ``--passes`` at the
most steps and passes the limits allow on it (steps x nodes, passes x nodes), and 10,000 steps
(refused on every shape here, at once)."""

_APP = """
import asyncio, sys, time
from stepgrad.app import create_app
from engine.parse import parse_assignment

async def main():
    program = open(sys.argv[1], encoding="utf-8").read()
    values = dict(parse_assignment(a) for a in sys.argv[2:])
    app = create_app(program, values)
    async with app.run_test(size=(160, 48)) as pilot:
        start = time.perf_counter()
        while app.main.scene is None:
            await pilot.pause(0.05)
            if time.perf_counter() - start > 60:
                raise SystemExit("the graph was not laid out within 60 s")
        await pilot.pause()
        screen = "\\n".join(s.text for s in app.screen._compositor.render_strips())
        assert "step 0 of" in screen, screen  # the graph is on screen, the app answers keys

asyncio.run(main())
"""

Shape = Callable[[int], tuple[str, list[str]]]
"""Program length limit -> (program, extra command-line arguments)."""


def one_input(limit: int) -> tuple[str, list[str]]:
    n = (limit - 1) // 4 + 1  # "x" + " + x" * (n - 1)
    return " + ".join(["x"] * n), ["x=1"]


def fill(term: Callable[[int], str], sep: str, limit: int) -> list[str]:
    """``term(0), term(1), ...``: as many as ``sep.join`` fits in ``limit`` characters."""
    terms: list[str] = []
    length = -len(sep)
    while True:
        text = term(len(terms))
        if length + len(sep) + len(text) > limit:
            return terms
        length += len(sep) + len(text)
        terms.append(text)


def distinct(limit: int) -> tuple[str, list[str]]:
    names = fill(lambda i: f"a{i + 1}", " + ", limit)
    return " + ".join(names), [f"{name}=1" for name in names]


def deepest(make: Callable[[int], str], low: int, high: int) -> int:
    """The largest n in [low, high] for which the parser accepts ``make(n)`` (Python's own
    parser caps nesting: 200 parentheses, a few thousand unary minuses)."""
    from engine.parse import ProgramError, parse

    def accepted(n: int) -> bool:
        try:
            parse(make(n), {"x": 1.0})
        except ProgramError:
            return False
        return True

    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if accepted(middle) else (low, middle - 1)
    return low


def nesting(limit: int) -> tuple[str, list[str]]:
    """The deepest ((x+1)+1)... the parser accepts, summed with itself up to the limit."""

    def nest(n: int) -> str:
        return "(" * n + "x" + "+1)" * n

    block = nest(deepest(nest, 1, limit // 4))
    count = (limit + 3) // (len(block) + 3)
    return " + ".join([block] * count), ["x=1"]


def negations(limit: int) -> tuple[str, list[str]]:
    """The longest chain of unary minuses the parser accepts: one node per character, each
    unnamed, so each is called by its own source text."""

    def minus(n: int) -> str:
        return "-" * n + "x"

    return minus(deepest(minus, 1, limit - 1)), ["x=1"]


def chain(limit: int) -> tuple[str, list[str]]:
    lines = ["x = 1"]
    length = len(lines[0])
    previous = "x"
    while True:
        line = f"a{len(lines)} = {previous}*1.01"
        if length + 1 + len(line) > limit:
            break
        lines.append(line)
        length += 1 + len(line)
        previous = f"a{len(lines) - 1}"
    return "\n".join(lines), []


def shared(limit: int) -> tuple[str, list[str]]:
    """100 inputs, each used again every 100 terms of a sum: every input's value crosses the
    whole drawing to its last consumer (a lane per column), the shape that made ``--graph``
    work 22 s before refusing."""
    terms = fill(lambda i: f"a{i % 100}", "+", limit)
    return "+".join(terms), [f"a{i}=1" for i in range(min(100, len(terms)))]


SHAPES: dict[str, Shape] = {
    "one input": one_input,
    "distinct": distinct,
    "shared": shared,
    "nesting": nesting,
    "negations": negations,
    "chain": chain,
}


def run(program: str, args: list[str], mode: list[str]) -> tuple[float, float, int, int, str]:
    """(seconds, peak MB, exit code, bytes written, first line of stderr) of one CLI run."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("COLUMNS", None)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        if mode == ["(app)"]:
            source = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False)
            source.write(program)
            source.close()
            command = [sys.executable, "-c", _APP, source.name, *args]
        else:
            command = [sys.executable, "-m", "stepgrad", *mode, "--", program, *args]
        child = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            cwd=ROOT,
            env=env,
        )
        # os.wait4 reaps the child and gives its own peak memory (Popen.wait would reap it first)
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - start > TIMEOUT:
                child.kill()
            time.sleep(0.01)
        seconds = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        child.returncode = code  # reaped here: keep Popen from waiting again
        size = out.seek(0, os.SEEK_END)
        err.seek(0)
        first = err.read(300).decode("utf-8", "replace").splitlines()
    megabytes = usage.ru_maxrss / 1024  # kilobytes on Linux
    return seconds, megabytes, code, size, first[0] if first else ""


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--modes", default=",".join([*MODES, *SIZED]))
    parser.add_argument("--limit", type=int, default=MAX_SOURCE, help="program length")
    options = parser.parse_args(argv)
    ok = True
    for shape_name in options.shapes.split(","):
        program, args = SHAPES[shape_name](options.limit)
        assert len(program) <= options.limit, (shape_name, len(program))
        from engine.parse import parse, parse_assignment

        nodes = len(parse(program, dict(parse_assignment(a) for a in args)).nodes())
        for mode_name in options.modes.split(","):
            mode = SIZED[mode_name](nodes) if mode_name in SIZED else MODES[mode_name]
            seconds, mb, code, size, err = run(program, args, mode)
            answered = code == 0 and seconds < TARGET_SECONDS
            refused = code == 2 and "limit" in err and seconds < REFUSE_SECONDS
            passed = (answered or refused) and mb < TARGET_MB
            ok &= passed
            note = "" if code == 0 else f"  exit {code}: {err}"
            print(
                f"{'PASS' if passed else 'FAIL'}  {mode_name:<6} {shape_name:<9} "
                f"({len(program):,} chars): {seconds:6.2f} s, {mb:7.1f} MB peak, "
                f"{size / 1e6:6.1f} MB out  (targets < {TARGET_SECONDS:g} s, "
                f"< {TARGET_MB:g} MB){note}",
                flush=True,
            )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
