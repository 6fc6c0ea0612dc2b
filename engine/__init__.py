"""stepgrad's scalar autograd engine and expression language. Standard library only.

>>> from engine import Value
>>> x = Value(8.0, "x")
>>> r = (x * x + 1) / 8
>>> r.backward()
>>> x.grad
2.0
"""

from .backward import Edge, Step, Trace, backward, nodes, zero_grad
from .errors import DomainError, EngineError, GradientError
from .ops import FUNCTIONS, OPS, Op, render_formula
from .value import Value

__all__ = [
    "FUNCTIONS",
    "OPS",
    "DomainError",
    "Edge",
    "EngineError",
    "GradientError",
    "Op",
    "Step",
    "Trace",
    "Value",
    "backward",
    "nodes",
    "render_formula",
    "zero_grad",
]
