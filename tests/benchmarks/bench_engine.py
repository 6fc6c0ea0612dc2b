"""Engine benchmark: stepgrad's engine against micrograd 0.1.0, in the same run.

The graph: a 4-16-16-1 MLP on 20 samples with a squared loss (about 16,000 nodes), built by the
same Python code for both engines. micrograd 0.1.0 has no tanh, so the comparison uses ReLU
hidden layers in both (the same graph shape); stepgrad's tanh version is reported as well.

Targets (issue 2):
  forward + backward   >= 3x faster than micrograd
  backward alone       at least as fast as micrograd's
  memory per node      <= 0.4x micrograd's
  recording the trace  <= 2x the cost of a plain backward
  1,000,000-deep chain backward with bounded memory (no recursion; transient memory per node
  small and constant)

Run: python tests/benchmarks/bench_engine.py
"""

from __future__ import annotations

import gc
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine import Value

REPEATS = 7
SIZES = (4, 16, 16, 1)
SAMPLES = 20


def build_mlp(value: Callable[[float], Any], activation: str, seed: int = 0) -> tuple[Any, int]:
    """Forward pass of the MLP loss, built with any micrograd-like Value class."""
    rng = random.Random(seed)
    layers = []
    for n_in, n_out in zip(SIZES, SIZES[1:]):
        layers.append(
            [([value(rng.uniform(-1, 1)) for _ in range(n_in)], value(0.0)) for _ in range(n_out)]
        )
    data = [[rng.uniform(-1, 1) for _ in range(SIZES[0])] for _ in range(SAMPLES)]
    targets = [rng.choice((-1.0, 1.0)) for _ in range(SAMPLES)]
    loss = value(0.0)
    for xs, target in zip(data, targets):
        activations: list[Any] = xs
        for depth, layer in enumerate(layers):
            last = depth == len(layers) - 1
            outputs = []
            for weights, bias in layer:
                act = bias
                for w, x in zip(weights, activations):
                    act = act + w * x
                outputs.append(act if last else getattr(act, activation)())
            activations = outputs
        loss = loss + (activations[0] - target) ** 2
    return loss, count_nodes(loss)


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


def timed(fn: Callable[[], Any]) -> float:
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start
    finally:
        gc.enable()


def measure(
    value: Callable[[float], Any], activation: str, trace: bool = False
) -> dict[str, float]:
    forward, backward, traced = [], [], []
    nodes = 0
    for _ in range(REPEATS):
        holder: dict[str, Any] = {}

        def build() -> None:
            holder["loss"], _ = build_mlp(value, activation)

        forward.append(timed(build))
        loss = holder["loss"]
        backward.append(timed(loss.backward))
        if trace:
            traced.append(timed(lambda: loss.backward(trace=True)))
        nodes = count_nodes(loss)
        del holder, loss
    result = {
        "forward": statistics.median(forward),
        "backward": statistics.median(backward),
        "nodes": nodes,
    }
    if trace:
        result["traced"] = statistics.median(traced)
    return result


def memory_per_node(value: Callable[[float], Any], activation: str) -> float:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    loss, nodes = build_mlp(value, activation)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del loss
    return (after - before) / nodes


def deep_chain(depth: int = 1_000_000) -> tuple[float, float, float]:
    """Backward of a chain ``depth`` deep: seconds, transient bytes per node, and x.grad."""
    x = Value(1.0)
    v = x
    for _ in range(depth):
        v = v * 1.0
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    v.backward()
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, (peak - base) / depth, x.grad


def main() -> int:
    try:
        from micrograd.engine import Value as MicroValue
    except ImportError:
        print("micrograd 0.1.0 is not installed: pip install -e '.[test]'")
        return 1

    sys.setrecursionlimit(10_000)  # micrograd's backward recurses
    ours = measure(Value, "relu", trace=True)
    theirs = measure(MicroValue, "relu")
    ours_tanh = measure(Value, "tanh")
    mem_ours = memory_per_node(Value, "relu")
    mem_theirs = memory_per_node(MicroValue, "relu")
    chain_seconds, chain_bytes, chain_grad = deep_chain()

    total_ours = ours["forward"] + ours["backward"]
    total_theirs = theirs["forward"] + theirs["backward"]
    speedup = total_theirs / total_ours
    backward_ratio = theirs["backward"] / ours["backward"]
    memory_ratio = mem_ours / mem_theirs
    trace_ratio = ours["traced"] / ours["backward"]

    def ms(seconds: float) -> str:
        return f"{seconds * 1000:7.2f} ms"

    print(f"4-16-16-1 MLP, {SAMPLES} samples, squared loss; median of {REPEATS} runs")
    print(
        f"  stepgrad  (relu): {ours['nodes']:6d} nodes  forward {ms(ours['forward'])}"
        f"  backward {ms(ours['backward'])}  traced backward {ms(ours['traced'])}"
    )
    print(
        f"  micrograd (relu): {theirs['nodes']:6d} nodes  forward {ms(theirs['forward'])}"
        f"  backward {ms(theirs['backward'])}"
    )
    print(
        f"  stepgrad  (tanh): {ours_tanh['nodes']:6d} nodes  forward {ms(ours_tanh['forward'])}"
        f"  backward {ms(ours_tanh['backward'])}"
    )
    print(f"  memory per node: stepgrad {mem_ours:.0f} B, micrograd {mem_theirs:.0f} B")
    print(
        f"  1,000,000-deep chain backward: {chain_seconds:.2f} s, transient "
        f"{chain_bytes:.0f} B per node, x.grad = {chain_grad}"
    )
    checks = [
        ("forward + backward speedup vs micrograd", speedup, ">=", 3.0),
        ("backward speedup vs micrograd", backward_ratio, ">=", 1.0),
        ("memory per node / micrograd's", memory_ratio, "<=", 0.4),
        ("traced backward / plain backward", trace_ratio, "<=", 2.0),
        ("deep chain transient bytes per node", chain_bytes, "<=", 400.0),
    ]
    failed = False
    print()
    for name, value, sense, target in checks:
        ok = value >= target if sense == ">=" else value <= target
        failed |= not ok
        print(f"  {'PASS' if ok else 'FAIL'}  {name}: {value:.2f} (target {sense} {target})")
    ok = chain_grad == 1.0
    failed |= not ok
    print(f"  {'PASS' if ok else 'FAIL'}  deep chain gradient is exact: {chain_grad}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
