"""Engine benchmark: stepgrad's engine against micrograd 0.1.0 from PyPI, in the same run.

The graph: a 4-16-16-1 MLP on 20 samples with a squared loss (about 16,000 nodes). micrograd
0.1.0 has no tanh, so the comparison uses its own ``micrograd.nn.MLP`` (ReLU hidden layers, a
linear output) and the same graph shape built from stepgrad Values; stepgrad's tanh MLP is
reported too. Every repeat builds a fresh graph (as a training loop does), the two engines run
interleaved so that background load hits both alike, and the best of the repeats is compared.
Timings are taken with Python's garbage collector on, as users run; the figures with it off
are printed for reference.

Targets (issue 2):
  forward + backward   >= 3x faster than micrograd
  backward alone       at least as fast as micrograd's
  memory per node      <= 0.4x micrograd's
  recording the trace  <= 2x the cost of a plain backward
  1,000,000-deep chain backward in bounded memory: no recursion, and the memory the pass
  itself takes stays a small constant per node

Run: python tests/benchmarks/bench_engine.py
"""

from __future__ import annotations

import gc
import random
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine import Value

REPEATS = 9
SIZES = (4, 16, 16, 1)
SAMPLES = 20


def dataset(seed: int = 0) -> tuple[list[list[float]], list[float]]:
    rng = random.Random(seed)
    xs = [[rng.uniform(-1, 1) for _ in range(SIZES[0])] for _ in range(SAMPLES)]
    ys = [rng.choice((-1.0, 1.0)) for _ in range(SAMPLES)]
    return xs, ys


def stepgrad_mlp(activation: str, seed: int = 0) -> list[list[tuple[list[Value], Value]]]:
    """Weights in micrograd's layout: per layer, per neuron, (weights, bias)."""
    rng = random.Random(seed)
    return [
        [([Value(rng.uniform(-1, 1)) for _ in range(n_in)], Value(0.0)) for _ in range(n_out)]
        for n_in, n_out in zip(SIZES, SIZES[1:], strict=False)
    ]


def stepgrad_loss(layers: list[list[tuple[list[Value], Value]]], activation: str) -> Value:
    """The forward pass, written as micrograd's Neuron/Layer/MLP compute it."""
    xs, ys = dataset()
    loss: Any = 0.0
    for x, y in zip(xs, ys, strict=True):
        acts: list[Any] = x
        for depth, layer in enumerate(layers):
            last = depth == len(layers) - 1
            out = []
            for weights, bias in layer:
                act = sum((w * a for w, a in zip(weights, acts, strict=True)), bias)
                out.append(act if last else getattr(act, activation)())
            acts = out
        loss = loss + (acts[0] - y) ** 2
    return loss


def micrograd_loss(model: Any) -> Any:
    xs, ys = dataset()
    loss: Any = 0.0
    for x, y in zip(xs, ys, strict=True):
        loss = loss + (model(x) - y) ** 2
    return loss


def count_nodes(root: Any) -> int:
    parents = "parents" if hasattr(root, "parents") else "_prev"
    seen = {id(root)}
    stack = [root]
    while stack:
        for p in getattr(stack.pop(), parents):
            if id(p) not in seen:
                seen.add(id(p))
                stack.append(p)
    return len(seen)


def clock(fn: Callable[[], Any], use_gc: bool) -> tuple[float, Any]:
    gc.collect()
    if not use_gc:
        gc.disable()
    try:
        start = time.perf_counter()
        result = fn()
        return time.perf_counter() - start, result
    finally:
        gc.enable()


def compare(use_gc: bool) -> dict[str, float]:
    """Best-of-REPEATS times (seconds) of each engine's forward and backward, interleaved."""
    from micrograd.nn import MLP

    best: dict[str, float] = {}

    def keep(name: str, seconds: float) -> None:
        best[name] = min(best.get(name, float("inf")), seconds)

    for repeat in range(REPEATS):
        random.seed(repeat)
        model = MLP(SIZES[0], list(SIZES[1:]))
        seconds, loss = clock(lambda model=model: micrograd_loss(model), use_gc)
        keep("micrograd forward", seconds)
        keep("micrograd backward", clock(loss.backward, use_gc)[0])
        best["micrograd nodes"] = count_nodes(loss)
        del loss

        for activation in ("relu", "tanh"):
            layers = stepgrad_mlp(activation, seed=repeat)
            seconds, loss = clock(
                lambda layers=layers, activation=activation: stepgrad_loss(layers, activation),
                use_gc,
            )
            keep(f"{activation} forward", seconds)
            keep(f"{activation} backward", clock(loss.backward, use_gc)[0])
            best[f"{activation} nodes"] = count_nodes(loss)
            if activation == "relu":  # a fresh graph for the recorded pass too
                loss = stepgrad_loss(layers, activation)
                keep("relu traced", clock(lambda loss=loss: loss.backward(trace=True), use_gc)[0])
            del loss
    return best


def memory_per_node() -> tuple[float, float]:
    """Bytes allocated per graph node while building each engine's MLP loss."""
    from micrograd.nn import MLP

    random.seed(0)
    model = MLP(SIZES[0], list(SIZES[1:]))
    layers = stepgrad_mlp("relu")
    results = []
    for build in (lambda: stepgrad_loss(layers, "relu"), lambda: micrograd_loss(model)):
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        loss = build()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        results.append((after - before) / count_nodes(loss))
        del loss
    return results[0], results[1]


def deep_chain(depth: int = 1_000_000) -> tuple[float, float, float]:
    """Backward of a chain ``depth`` deep: seconds, bytes the pass takes per node, x.grad."""
    x = Value(1.0)
    v = x
    for _ in range(depth):
        v = v * 1.0
    gc.collect()
    seconds, _ = clock(v.backward, use_gc=True)
    grad = x.grad
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    v.backward()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, (peak - base) / depth, grad


def main() -> int:
    try:
        import micrograd  # noqa: F401
    except ImportError:
        print("micrograd 0.1.0 is not installed: pip install -e '.[test]'")
        return 1
    sys.setrecursionlimit(10_000)  # micrograd's backward recurses

    def ms(seconds: float) -> str:
        return f"{seconds * 1000:6.1f} ms"

    print(f"4-16-16-1 MLP, {SAMPLES} samples, squared loss; best of {REPEATS} fresh graphs")
    results = {}
    for use_gc in (False, True):
        r = compare(use_gc)
        results[use_gc] = r
        print(f"\n  garbage collector {'on (as users run)' if use_gc else 'off'}")
        print(
            f"    micrograd relu: {r['micrograd nodes']:6.0f} nodes  forward "
            f"{ms(r['micrograd forward'])}  backward {ms(r['micrograd backward'])}"
        )
        print(
            f"    stepgrad  relu: {r['relu nodes']:6.0f} nodes  forward {ms(r['relu forward'])}"
            f"  backward {ms(r['relu backward'])}  recorded backward {ms(r['relu traced'])}"
        )
        print(
            f"    stepgrad  tanh: {r['tanh nodes']:6.0f} nodes  forward {ms(r['tanh forward'])}"
            f"  backward {ms(r['tanh backward'])}"
        )
    mem_ours, mem_theirs = memory_per_node()
    chain_seconds, chain_bytes, chain_grad = deep_chain()
    print(f"\n  memory per node: stepgrad {mem_ours:.0f} B, micrograd {mem_theirs:.0f} B")
    print(
        f"  1,000,000-deep chain: backward {chain_seconds:.2f} s, the pass takes "
        f"{chain_bytes:.0f} B per node, x.grad = {chain_grad}"
    )

    r = results[True]
    ours = r["relu forward"] + r["relu backward"]
    theirs = r["micrograd forward"] + r["micrograd backward"]
    checks = [
        ("forward + backward, micrograd / stepgrad", theirs / ours, ">=", 3.0),
        ("backward, micrograd / stepgrad", r["micrograd backward"] / r["relu backward"], ">=", 1.0),
        ("memory per node, stepgrad / micrograd", mem_ours / mem_theirs, "<=", 0.4),
        ("recorded backward / plain backward", r["relu traced"] / r["relu backward"], "<=", 2.0),
        ("1,000,000-deep chain: bytes the pass takes per node", chain_bytes, "<=", 200.0),
        ("1,000,000-deep chain: x.grad (exactly 1)", chain_grad, "==", 1.0),
    ]
    failed = False
    print()
    for name, value, sense, target in checks:
        ok = {">=": value >= target, "<=": value <= target, "==": value == target}[sense]
        failed |= not ok
        print(f"  {'PASS' if ok else 'FAIL'}  {name}: {value:.2f} (target {sense} {target:g})")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
