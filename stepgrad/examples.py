"""Built-in example programs, each with a one-line description and its published numbers."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT", "EXAMPLES", "Example"]


@dataclass(frozen=True)
class Example:
    """A named program to open with ``stepgrad --example NAME``."""

    name: str
    description: str
    program: str


EXAMPLES: dict[str, Example] = {
    example.name: example
    for example in (
        Example(
            "toy",
            "r = (x*x + 1)/(y*y - 1) at x=8, y=3: r = 8.125, x.grad = 2, y.grad = -6.09375",
            "x = 8\ny = 3\na = x*x + 1\nb = y*y - 1\nr = a / b",
        ),
        Example(
            "paths",
            "c = a + b; d = b + 1; e = c * d: b reaches e along two paths, its grad is the sum",
            "a = 2\nb = -3\nc = a + b\nd = b + 1\ne = c * d",
        ),
        Example(
            "merge",
            "B = A*3; OUT = (B+1)*(B+2): B waits for both contributions before passing on",
            "A = 2\nB = A*3\nOUT = (B + 1)*(B + 2)",
        ),
        Example(
            "neuron",
            "micrograd's tanh neuron: o = tanh(x1*w1 + x2*w2 + b) = 0.7071, x1.grad = -1.5",
            "x1 = 2\nx2 = 0\nw1 = -3\nw2 = 1\nb = 6.8813735870195432\n"
            "x1w1 = x1*w1\nx2w2 = x2*w2\nx1w1x2w2 = x1w1 + x2w2\nn = x1w1x2w2 + b\no = tanh(n)",
        ),
        Example(
            "shared",
            "one weight w used by two units: its grad accumulates both contributions",
            "w = 0.5\nx1 = 1\nx2 = -2\nu1 = tanh(w*x1)\nu2 = tanh(w*x2)\nL = u1*u1 + u2*u2",
        ),
    )
}

DEFAULT = "toy"
"""The example ``stepgrad`` opens when given no program."""
