"""Benchmarks of the graph layout and drawing (issue 3).

Run: ``/work/venv/bin/python tests/benchmarks/bench_graph.py``. Prints each figure with its
target and PASS/FAIL; exits 1 if any target is missed.

- layout + full drawing of the 2-4-4-1 tanh MLP on 4 samples with summed squared loss (~320
  nodes): < 150 ms
- layout of a 10,000-node graph (a wide, deterministic random layered DAG): < 2 s
- restyle one backward step (current node + its edges) and redraw a 120x40 window: < 10 ms
- ``stepgrad PROGRAM --graph`` (a fresh process, as a user runs it) on programs of about 20,
  200, 2,000 and 8,000 nodes, ``Σ tanh(x*wᵢ + bᵢ)*vᵢ``: a shared input read by every term, the
  shape that needed a lane per edge before values fanned out from one trunk. Reported: time and
  peak memory. Targets: 2,000 nodes within 3x the time of a 5-node program, under 300 MB.
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine import Value, nodes
from stepgrad.draw import draw, step_view
from stepgrad.layout import layout, to_networkx


def build_mlp(sizes: tuple[int, ...] = (2, 4, 4, 1), samples: int = 4, seed: int = 0) -> Value:
    """Summed squared loss of a tanh MLP over ``samples`` inputs, weights from ``Random(seed)``."""
    rng = random.Random(seed)
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:], strict=False)):
        neurons = []
        for j in range(n_out):
            w = [Value(rng.uniform(-1, 1), f"w{i + 1}.{j + 1}.{k + 1}") for k in range(n_in)]
            b = Value(rng.uniform(-1, 1), f"b{i + 1}.{j + 1}")
            neurons.append((w, b))
        layers.append(neurons)
    losses = []
    for s in range(samples):
        x: list[Value] = [
            Value.constant(round(rng.uniform(-2, 2), 2), f"x{s + 1}.{k + 1}")
            for k in range(sizes[0])
        ]
        target = round(rng.choice((-1.0, 1.0)), 1)
        for neurons in layers:
            x = [
                sum((wi * xi for wi, xi in zip(w, x, strict=False)), b).tanh()  # type: ignore[misc]
                for w, b in neurons
            ]
        losses.append((x[0] - target) ** 2)
    loss = losses[0]
    for term in losses[1:]:
        loss = loss + term
    loss.label = "loss"
    return loss


def build_wide_dag(n: int = 10_000, width: int = 100, seed: int = 0) -> Value:
    """A layered random DAG of about ``n`` nodes, ``width`` per layer, summed into one root."""
    rng = random.Random(seed)
    prev = [Value(rng.uniform(-1, 1), f"l{k}") for k in range(width)]
    made = width
    while made < n - width:
        layer = []
        for i in range(width):
            a, b = prev[i], rng.choice(prev)  # every node is used, so all reach the root
            op = rng.randrange(3)  # ops that keep every value in [-1, 1]
            layer.append(a * b if op == 0 else a.tanh() if op == 1 else a.sin())
        made += width
        prev = layer
    while len(prev) > 1:  # a balanced sum tree down to one root
        prev = [
            prev[i] + prev[i + 1] if i + 1 < len(prev) else prev[i] for i in range(0, len(prev), 2)
        ]
    return prev[0]


ROOT = Path(__file__).resolve().parents[2]


def sigma(terms: int) -> str:
    """``x = 0.5`` then ``tanh(x*w + b)*v + ...`` with numbers for w, b and v: about 8 nodes a
    term (3 ops, a sum, 3 constants... and the shared x)."""

    def short(x: float) -> str:  # .13, not 0.13: 8,000 nodes fit in the length limit
        return f"{x:.2f}".removeprefix("0")

    parts = []
    for i in range(terms):
        w, b, v = short(0.1 + 0.01 * (i % 7)), short(0.05 * (i % 5)), short(0.2 + 0.1 * (i % 3))
        parts.append(f"tanh(x*{w}+{b})*{v}")
    return "x = 0.5\n" + "+".join(parts)


def cli_run(program: str, *options: str, values: tuple[str, ...] = ()) -> tuple[float, float]:
    """(seconds, peak MB) of ``python -m stepgrad PROGRAM OPTIONS`` with output to a file."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "stepgrad", *options, "--", program, *values],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.DEVNULL, cwd=ROOT, env=env,
        )  # fmt: skip
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - start
    assert child.returncode == 0, (child.returncode, program[:80])
    return seconds, usage.ru_maxrss / 1024


def best_run(
    program: str, *options: str, values: tuple[str, ...] = (), runs: int = 3
) -> tuple[float, float]:
    results = [cli_run(program, *options, values=values) for _ in range(runs)]
    return min(r[0] for r in results), max(r[1] for r in results)


def timed(fn: Callable[[], object], runs: int) -> float:
    """Median wall time of ``fn`` in milliseconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> int:
    results: list[tuple[str, float, float, str]] = []

    mlp = build_mlp()
    count = len(nodes(mlp))
    graph = to_networkx(mlp)
    ms = timed(lambda: draw(layout(to_networkx(mlp))).render(), runs=7)
    results.append((f"MLP 2-4-4-1 x4 ({count} nodes): layout + full drawing", ms, 150.0, "ms"))

    big = build_wide_dag()
    big_count = len(nodes(big))
    big_graph = to_networkx(big)
    ms = timed(lambda: layout(big_graph), runs=3)
    results.append((f"random layered DAG ({big_count} nodes): layout", ms, 2000.0, "ms"))

    drawing = draw(layout(graph))
    trace = mlp.backward(trace=True)
    assert trace is not None
    step = len(trace.steps) // 2
    box = drawing.boxes[
        next(n for n, a in graph.nodes(data=True) if a["value"] is trace.steps[step].node)
    ]
    x0 = max(0, box.x - 60)
    y0 = max(0, box.y - 20)

    def restyle() -> None:
        view = step_view(graph, trace, step)
        drawing.window(x0, y0, 120, 40, view)

    # different steps each run, so no cache hides the cost of a new step
    steps = iter(range(len(trace.steps)))

    def restyle_next() -> None:
        k = next(steps, step)
        node = next(n for n, a in graph.nodes(data=True) if a["value"] is trace.steps[k].node)
        b = drawing.boxes[node]
        drawing.window(max(0, b.x - 60), max(0, b.y - 20), 120, 40, step_view(graph, trace, k))

    ms = timed(restyle_next, runs=min(25, len(trace.steps)))
    results.append(("restyle one step + redraw a 120x40 window", ms, 10.0, "ms"))

    # --graph in a fresh process, by size (the interpreter's start-up is part of what users wait)
    from engine.parse import parse

    base_s, base_mb = best_run("(x*x + 1)/(y*y - 1)", "--graph", values=("x=8", "y=3"))
    print(f"      --graph, 5 nodes (the toy): {base_s * 1000:7.0f} ms, {base_mb:6.1f} MB peak")
    at_2000 = (0.0, 0.0)
    for want, terms in ((20, 2), (200, 25), (2000, 250), (8000, 990)):
        program = sigma(terms)
        size = len(parse(program).nodes())
        seconds, mb = best_run(program, "--graph")
        print(
            f"      --graph, {size:,} nodes ({len(program):,} characters): "
            f"{seconds * 1000:7.0f} ms ({seconds / base_s:4.1f}x the toy), {mb:6.1f} MB peak"
        )
        if want == 2000:
            at_2000 = (seconds, mb)
    # --json grows by a fixed amount per node (names are short, the source text is given once)
    sizes = {}
    for terms in (100, 990):
        program = sigma(terms)
        done = subprocess.run(
            [sys.executable, "-m", "stepgrad", "--json", "--", program],
            capture_output=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), check=True,
        )  # fmt: skip
        count = len(parse(program).nodes())
        sizes[count] = len(done.stdout) / count
        print(
            f"      --json, {count:,} nodes: {len(done.stdout):,} bytes, {sizes[count]:.0f} a node"
        )
    small, big = sorted(sizes)
    results.append((f"--json at {big:,} nodes", sizes[big], 600.0, "bytes a node"))
    growth = abs(sizes[big] / sizes[small] - 1) * 100
    results.append(("--json bytes a node, from 10x fewer nodes", growth, 15.0, "% change"))
    results.append(("--graph on 2,000 nodes / on 5 nodes", at_2000[0] / base_s, 3.0, "x"))
    results.append(("--graph on 2,000 nodes: peak memory", at_2000[1], 300.0, "MB"))

    failed = False
    for name, value, target, unit in results:
        ok = value < target
        failed = failed or not ok
        print(
            f"{'PASS' if ok else 'FAIL'}  {name}: {value:8.1f} {unit}  (target < {target:g} {unit})"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
