"""The whole loop's benchmark: training, the forward pass run again, the forward order.

Targets (the whole-loop issue):
  training the mlp example: 1,000 steps, with and without zero_grad    <= 3 s
  the forward pass run again in place (a training step's forward)      >= 5x faster than a parse
  the forward order of a 20,000-character program (networkx)           <= 1 s

Run: python tests/benchmarks/bench_loop.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine.parse import parse
from stepgrad.examples import EXAMPLES, mlp_params
from stepgrad.forward import forward_order, recompute
from stepgrad.training import Training, compare


def best(seconds: list[float]) -> float:
    return min(seconds)


def main() -> int:
    ok = True
    source = EXAMPLES["mlp"].program

    start = time.perf_counter()
    compare(source, None, Training(mlp_params(), 0.05, 1000))
    train = time.perf_counter() - start
    passed = train <= 3.0
    ok &= passed
    print(f"mlp, 1,000 steps both ways: {train:.2f} s  {'PASS' if passed else 'FAIL'} (<= 3 s)")

    program = parse(source)
    order = program.nodes()
    parses, recomputes = [], []
    for _ in range(20):
        t = time.perf_counter()
        parse(source)
        parses.append(time.perf_counter() - t)
        t = time.perf_counter()
        recompute(program, order)
        recomputes.append(time.perf_counter() - t)
    ratio = best(parses) / best(recomputes)
    passed = ratio >= 5
    ok &= passed
    print(
        f"forward again: {best(recomputes) * 1e3:.2f} ms, a parse {best(parses) * 1e3:.2f} ms, "
        f"{ratio:.0f}x  {'PASS' if passed else 'FAIL'} (>= 5x)"
    )

    big = parse("x = 0.5\nloss = " + " + ".join(["x*x"] * 3300))  # ~20,000 characters
    t = time.perf_counter()
    forward_order(big)
    took = time.perf_counter() - t
    passed = took <= 1.0
    ok &= passed
    print(
        f"forward order, {len(big.nodes()):,} nodes: {took:.2f} s  "
        f"{'PASS' if passed else 'FAIL'} (<= 1 s)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
