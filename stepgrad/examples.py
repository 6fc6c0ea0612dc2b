"""Built-in example programs, each with a one-line description and its published numbers."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from .training import Training

__all__ = ["DEFAULT", "EXAMPLES", "Example", "mlp_params", "mlp_program"]


@dataclass(frozen=True)
class Example:
    """A named program to open with ``stepgrad --example NAME``."""

    name: str
    description: str
    program: str
    training: Training | None = None
    """A training loop to run on the program, shown with and without ``zero_grad``."""
    train: Training | None = None
    """Where ``t``, ``u`` and ``--train`` start for this example (which inputs are parameters,
    the lr, the number of steps); None: its ``training`` loop if any, else the defaults (see
    :func:`stepgrad.training.training_for`)."""
    notes: Mapping[str, str] = field(default_factory=dict)
    """Lesson-mode remarks: by the name of a node (shown when it fires), ``start``, ``done``."""


def mlp_program(sizes: tuple[int, ...] = (2, 4, 4, 1), samples: int = 4, seed: int = 0) -> str:
    """A tanh MLP's summed squared loss over ``samples`` inputs, written as a stepgrad program.

    The default 2-4-4-1 net on 4 samples makes a graph of about 320 nodes. Weights and data come
    from ``random.Random(seed)``, so the program is the same on every machine.
    """
    rng = random.Random(seed)
    lines: list[str] = []
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:], strict=False), start=1):
        neurons = []
        for j in range(1, n_out + 1):
            w = [f"w{i}_{j}_{k}" for k in range(1, n_in + 1)]
            b = f"b{i}_{j}"
            lines += [f"{name} = {rng.uniform(-1, 1):.3f}" for name in w]
            lines.append(f"{b} = {rng.uniform(-1, 1):.3f}")
            neurons.append((w, b))
        layers.append(neurons)
    losses = []
    for s in range(1, samples + 1):
        x = [f"x{s}_{k}" for k in range(1, sizes[0] + 1)]
        lines += [f"{name} = {rng.uniform(-2, 2):.2f}" for name in x]
        target = rng.choice((-1, 1))
        for i, neurons in enumerate(layers, start=1):
            out = []
            for j, (w, b) in enumerate(neurons, start=1):
                last = i == len(layers)
                name = f"y{s}" + (f"_{j}" if len(neurons) > 1 else "") if last else f"h{s}_{i}_{j}"
                terms = " + ".join(f"{wk}*{xk}" for wk, xk in zip(w, x, strict=False))
                lines.append(f"{name} = tanh({terms} + {b})")
                out.append(name)
            x = out
        losses.append(f"({x[0]} - 1)**2" if target > 0 else f"({x[0]} + 1)**2")
    lines.append("loss = " + " + ".join(losses))
    return "\n".join(lines)


def mlp_params(sizes: tuple[int, ...] = (2, 4, 4, 1)) -> tuple[str, ...]:
    """The weights and biases of :func:`mlp_program`'s net (its inputs ``x..`` are the data)."""
    names: list[str] = []
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:], strict=False), start=1):
        for j in range(1, n_out + 1):
            names += [f"w{i}_{j}_{k}" for k in range(1, n_in + 1)] + [f"b{i}_{j}"]
    return tuple(names)


EXAMPLES: dict[str, Example] = {
    example.name: example
    for example in (
        Example(
            "toy",
            "r = (x*x + 1)/(y*y - 1) at x=8, y=3: r = 8.125, x.grad = 2, y.grad = -6.09375",
            "x = 8\ny = 3\na = x*x + 1\nb = y*y - 1\nr = a / b",
            notes={
                "start": "Watch x and y: each is used twice by its own product, so each gets "
                "two contributions.",
                "x*x": "x*x uses x twice, so x gets one contribution per operand: 0.125 × 8 = 1 "
                "each, and x.grad = 1 + 1 = 2 (the product rule, one edge at a time).",
                "done": "By hand: dr/dx = 2x/(y*y - 1) = 16/8 = 2 and dr/dy = "
                "-2y(x*x + 1)/(y*y - 1)**2 = -390/64 = -6.09375, as the graph says.",
            },
        ),
        Example(
            "paths",
            "c = a + b; d = b + 1; e = c * d: b reaches e along two paths, its grad is the sum",
            "a = 2\nb = -3\nc = a + b\nd = b + 1\ne = c * d",
            notes={
                "start": "b is used by c and by d: watch its grad collect one contribution from "
                "each path.",
                "done": "b.grad = ∂e/∂c·∂c/∂b + ∂e/∂d·∂d/∂b = d·1 + c·1 = -2 + -1 = -3: one term "
                "per path from b to e.",
            },
        ),
        Example(
            "merge",
            "B = A*3; OUT = (B+1)*(B+2): B waits for both contributions before passing on",
            "A = 2\nB = A*3\nOUT = (B + 1)*(B + 2)",
            notes={
                "start": "B feeds both B + 1 and B + 2: it waits for both contributions before "
                "it fires and passes its grad on to A.",
                "B": "B fires only now, with both contributions summed (8 + 7 = 15). Firing "
                "after the first one would have sent A an incomplete grad.",
                "done": "A.grad = 3 × 15 = 45: ∂OUT/∂B = (B + 2) + (B + 1) = 8 + 7 = 15.",
            },
        ),
        Example(
            "neuron",
            "micrograd's tanh neuron: o = tanh(x1*w1 + x2*w2 + b) = 0.7071, x1.grad = -1.5",
            "x1 = 2\nx2 = 0\nw1 = -3\nw2 = 1\nb = 6.8813735870195432\n"
            "x1w1 = x1*w1\nx2w2 = x2*w2\nx1w1x2w2 = x1w1 + x2w2\nn = x1w1x2w2 + b\no = tanh(n)",
            train=Training(params=("w1", "w2", "b"), lr=0.05, steps=20),
            notes={
                "start": "The neuron from micrograd's lecture: o = tanh(n) = 0.7071.",
                "o": "tanh's local derivative is 1 - o**2 = 1 - 0.5 = 0.5, so n.grad = 0.5.",
                "done": "As in the lecture: x1.grad = -1.5, w1.grad = 1, x2.grad = 0.5, "
                "w2.grad = 0 (x2 = 0, so w2 cannot change o).",
            },
        ),
        Example(
            "shared",
            "one weight w used by two units: its grad accumulates both contributions",
            "w = 0.5\nx1 = 1\nx2 = -2\nu1 = tanh(w*x1)\nu2 = tanh(w*x2)\nL = u1*u1 + u2*u2",
            notes={
                "start": "One weight w, two units: w's grad is the sum of what u1 and u2 send "
                "back, as for any shared parameter in a network.",
            },
        ),
        Example(
            "mlp",
            "a 2-4-4-1 tanh MLP's squared loss on 4 samples: about 320 nodes, to show scale",
            mlp_program(),
            train=Training(params=mlp_params(), lr=0.05, steps=50),
            notes={
                "done": "Every weight and bias now has its grad. Press t to train the network "
                "and watch its loss curve fall (u takes one gradient step here).",
            },
        ),
        Example(
            "zero_grad",
            "5 SGD steps on a tanh neuron: loss 0.54 → 1.6e-6 with zero_grad, "
            "but → 0.65 without (grads pile up)",
            "x = 1.5\nw = -0.5\nb = 0\no = tanh(w*x + b)\nloss = (o - 0.1)**2",
            Training(params=("w", "b"), lr=0.2, steps=5),
            notes={
                "start": "One neuron and its loss. Step through a backward pass, then press t "
                "for 5 SGD steps run with and without zero_grad.",
                "done": "A training step would now do p.data -= 0.2 * p.grad. Press b without z "
                "to see the grads pile up, or t for the whole training loop.",
            },
        ),
    )
}

DEFAULT = "toy"
"""The example ``stepgrad`` opens when given no program."""
