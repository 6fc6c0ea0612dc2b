"""The op table: the one place where every operation is declared.

Each :class:`Op` carries its forward function, and for every input the local derivative twice:
as a function (used by the engine's backward pass) and as a readable formula (used by every
explanation the app, the CLI and the JSON output give). Nothing else in stepgrad writes a
derivative down.

Formulas name the inputs ``a`` (first) and ``b`` (second) and the op's result ``out``; the
functions take the same arguments in the same order: ``(a, out)`` for a unary op,
``(a, b, out)`` for a binary one. Formulas use the expression language's own syntax, so a
student can read ``-a/b**2`` exactly as they would type it.

The kinks follow PyTorch: relu'(0) = 0 and abs'(0) = 0.
"""

from __future__ import annotations

import ast
import functools
import math
import operator
import re
from collections.abc import Callable, Mapping

__all__ = ["OPS", "Op", "evaluate_formula", "is_name", "render_formula", "sign"]

Forward = Callable[..., float]
Derivative = Callable[..., float]
Domain = Callable[..., "str | None"]


class Op:
    """One operation of the engine (read-only once made).

    Attributes:
        name: the key in :data:`OPS` and the value of ``Value.op`` (``"*"``, ``"tanh"``...).
        symbol: how the op is written between or before its operands (``"*"``, ``"tanh"``).
        arity: 1 or 2.
        forward: computes the result from the inputs' data.
        derivatives: one function per input: the local derivative d out / d input.
        formulas: the same derivatives as readable text over ``a``, ``b`` and ``out``.
        summary: one plain sentence on what the local derivative means, for narration.
        domain: returns why the inputs are outside the op's domain, or None when they are fine.
        conventions: per input, None or a function of the inputs' data that says why the
            formula does not give the derivative there (``0**x``: ``log(0)`` is undefined) and
            what is used instead, or None where the formula holds.
    """

    # A plain class rather than a dataclass: making a dataclass runs generated code through
    # exec, a third of a millisecond each, and the app's start pays for every one it imports.
    __slots__ = (
        "arity",
        "constants",
        "conventions",
        "derivatives",
        "domain",
        "formulas",
        "forward",
        "name",
        "summary",
        "symbol",
    )

    name: str
    symbol: str
    arity: int
    forward: Forward
    derivatives: tuple[Derivative, ...]
    formulas: tuple[str, ...]
    summary: str
    domain: Domain | None
    conventions: tuple[Callable[..., str | None] | None, ...]
    constants: tuple[float | None, ...]
    """Each derivative's value where its formula is a plain number (``"1"``, ``"-1"``), else
    None: derived from ``formulas`` so the backward pass can skip calling a constant."""

    def __init__(
        self,
        name: str,
        symbol: str,
        arity: int,
        forward: Forward,
        *,
        derivatives: tuple[Derivative, ...],
        formulas: tuple[str, ...],
        summary: str,
        domain: Domain | None = None,
        conventions: tuple[Callable[..., str | None] | None, ...] | None = None,
    ) -> None:
        constants = tuple(float(f) if re.fullmatch(r"-?[0-9.]+", f) else None for f in formulas)
        fields = {
            "name": name,
            "symbol": symbol,
            "arity": arity,
            "forward": forward,
            "derivatives": derivatives,
            "formulas": formulas,
            "summary": summary,
            "domain": domain,
            "conventions": conventions or (None,) * arity,
            "constants": constants,
        }
        for key, value in fields.items():
            object.__setattr__(self, key, value)

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError(f"an Op is read-only (cannot set {key})")

    def __repr__(self) -> str:
        return f"Op({self.name!r}, arity={self.arity}, formulas={self.formulas!r})"

    @property
    def infix(self) -> bool:
        """Whether the op is written between its two operands (``a * b``)."""
        return self.arity == 2

    def check(self, *args: float) -> str | None:
        """Why ``args`` are outside the op's domain, or None."""
        return None if self.domain is None else self.domain(*args)


def sign(a: float) -> float:
    """-1, 0 or 1: the derivative of abs, with abs'(0) = 0 as in PyTorch."""
    return 1.0 if a > 0 else -1.0 if a < 0 else 0.0


def _sigmoid(a: float) -> float:
    # Two branches so that neither exp() can overflow, at +-1000 or anywhere else.
    if a >= 0:
        return 1.0 / (1.0 + math.exp(-a))
    z = math.exp(a)
    return z / (1.0 + z)


def _pow_base_derivative(a: float, b: float, out: float) -> float:
    # d/da a**b = b * a**(b-1); for b == 0 the result is the constant 1, whose derivative is 0
    # even at a == 0 (where a**(b-1) would be 0**-1).
    return 0.0 if b == 0 else b * math.pow(a, b - 1)


def _pow_exponent_derivative(a: float, b: float, out: float) -> float:
    # d/db a**b = a**b * log(a); PyTorch takes it as 0 at a == 0, b >= 0 (out is 0 or 1 there).
    if a == 0 and b >= 0:
        return 0.0
    return out * math.log(a)


def _pow_base_convention(a: float, b: float) -> str | None:
    if a == 0 and b == 0:
        return "0**(0-1) is undefined; a**0 is the constant 1, whose derivative is 0"
    return None


def _pow_exponent_convention(a: float, b: float) -> str | None:
    if a == 0 and b >= 0:
        return "log(0) is undefined; 0 by convention, as in PyTorch"
    return None


def _div_domain(a: float, b: float) -> str | None:
    return "division by zero" if b == 0 else None


def _pow_domain(a: float, b: float) -> str | None:
    if a == 0 and b < 0:
        return "0 to a negative power is undefined"
    if a < 0 and b != math.floor(b):
        return "a negative number to a non-integer power is not a real number"
    return None


def _log_domain(a: float) -> str | None:
    return "log is defined only for positive numbers" if a <= 0 else None


def _sqrt_domain(a: float) -> str | None:
    return "sqrt is defined only for numbers >= 0" if a < 0 else None


# fmt: off
_OPS: tuple[Op, ...] = (
    Op("+", "+", 2, operator.add,
       derivatives=(lambda a, b, out: 1.0, lambda a, b, out: 1.0),
       formulas=("1", "1"),
       summary="the local derivative of a sum is 1 toward each input"),
    Op("-", "-", 2, operator.sub,
       derivatives=(lambda a, b, out: 1.0, lambda a, b, out: -1.0),
       formulas=("1", "-1"),
       summary="the local derivative of a difference is 1 toward the first input and -1 "
               "toward the second"),
    Op("*", "*", 2, operator.mul,
       derivatives=(lambda a, b, out: b, lambda a, b, out: a),
       formulas=("b", "a"),
       summary="the local derivative of a product toward each input is the other input"),
    Op("/", "/", 2, operator.truediv,
       # -out/b is -a/b**2 without squaring b: b*b overflows to inf (and the derivative to 0)
       # once |b| passes about 1.3e154, though the derivative itself is finite
       derivatives=(lambda a, b, out: 1.0 / b, lambda a, b, out: -out / b),
       formulas=("1/b", "-a/b**2"),
       summary="the local derivatives of a/b are 1/b toward a and -a/b**2 toward b",
       domain=_div_domain),
    Op("**", "**", 2, math.pow,
       derivatives=(_pow_base_derivative, _pow_exponent_derivative),
       formulas=("b*a**(b-1)", "out*log(a)"),
       summary="the local derivatives of a**b are b*a**(b-1) toward a and a**b*log(a) toward b",
       domain=_pow_domain,
       conventions=(_pow_base_convention, _pow_exponent_convention)),
    Op("neg", "-", 1, operator.neg,
       derivatives=(lambda a, out: -1.0,),
       formulas=("-1",),
       summary="a negation passes the grad back with its sign flipped"),
    Op("exp", "exp", 1, math.exp,
       derivatives=(lambda a, out: out,),
       formulas=("out",),
       summary="exp is its own derivative, so the local derivative is the output itself"),
    Op("log", "log", 1, math.log,
       derivatives=(lambda a, out: 1.0 / a,),
       formulas=("1/a",),
       summary="the derivative of log(a) is 1/a",
       domain=_log_domain),
    Op("sin", "sin", 1, math.sin,
       derivatives=(lambda a, out: math.cos(a),),
       formulas=("cos(a)",),
       summary="the derivative of sin is cos"),
    Op("cos", "cos", 1, math.cos,
       derivatives=(lambda a, out: -math.sin(a),),
       formulas=("-sin(a)",),
       summary="the derivative of cos is -sin"),
    Op("tanh", "tanh", 1, math.tanh,
       derivatives=(lambda a, out: 1.0 - out * out,),
       formulas=("1 - out**2",),
       summary="the derivative of tanh is 1 - tanh**2, read off the output"),
    Op("relu", "relu", 1, lambda a: a if a > 0 else 0.0,
       derivatives=(lambda a, out: 1.0 if a > 0 else 0.0,),
       formulas=("1 if a > 0 else 0",),
       summary="relu passes the grad through where its input is positive, blocks it elsewhere"),
    Op("sigmoid", "sigmoid", 1, _sigmoid,
       derivatives=(lambda a, out: out * (1.0 - out),),
       formulas=("out*(1 - out)",),
       summary="the derivative of the sigmoid is out*(1 - out), read off the output"),
    Op("sqrt", "sqrt", 1, math.sqrt,
       derivatives=(lambda a, out: 0.5 / out,),
       formulas=("1/(2*out)",),
       summary="the derivative of sqrt(a) is 1/(2*sqrt(a))",
       domain=_sqrt_domain),
    Op("abs", "abs", 1, abs,
       derivatives=(lambda a, out: sign(a),),
       formulas=("sign(a)",),
       summary="abs passes the grad through with the sign of its input (0 at 0)"),
)
# fmt: on

OPS: dict[str, Op] = {op.name: op for op in _OPS}
"""Every op, by name. ``Value.op`` is one of these keys, or ``""`` for a leaf."""

FUNCTIONS: tuple[str, ...] = tuple(op.name for op in _OPS if op.arity == 1 and op.name != "neg")
"""The ops a program calls by name: ``exp(x)``, ``tanh(x)``..."""

_OPERAND = re.compile(r"\b(a|b|out)\b")
_WORD = re.compile(r"[^\W\d]\w*")


def is_name(text: str) -> bool:
    """Whether ``text`` reads as one name, which a formula writes without brackets: ``x``,
    ``x₁`` (a subscript digit is a word character), ``変数``, ``x́`` (an accent is not, but the
    name is an identifier)."""
    return _WORD.fullmatch(text) is not None or text.isidentifier()


def render_formula(formula: str, operands: dict[str, str]) -> str:
    """Replace the operand names ``a``, ``b``, ``out`` in ``formula`` with the given texts.

    ``render_formula("-a/b**2", {"a": "65", "b": "8"})`` is ``"-65/8**2"``. Texts that are not a
    bare name or a non-negative number are parenthesized so the result still reads right.
    """

    def sub(match: re.Match[str]) -> str:
        text = operands.get(match.group(1), match.group(1))
        if match.group(0) == formula:  # the formula is the operand alone (``b``): as it is
            return text
        simple = is_name(text) or re.fullmatch(r"[0-9.]+(e[+-]?[0-9]+)?", text)  # x, 2.5
        enclosed = formula[match.start() - 1 : match.start()] == "(" and (
            formula[match.end() : match.end() + 1] == ")"
        )
        return text if simple or enclosed else f"({text})"

    return _OPERAND.sub(sub, formula)


_FORMULA_OPS: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_FORMULA_CALLS: dict[str, Callable[[float], float]] = {
    "log": math.log,
    "cos": math.cos,
    "sin": math.sin,
    "sign": sign,
}


def evaluate_formula(formula: str, operands: Mapping[str, float]) -> float:
    """A formula of the table (never user text) worked out as a reader would, over the given
    numbers for ``a``, ``b`` and ``out``: ``evaluate_formula("-a/b**2", {"a": 65, "b": 8})``.

    The app writes a formula over numbers rounded for display; this says what those rounded
    numbers give, which the function in the table (``-out/b`` for ``-a/b**2``) need not.
    """

    def walk(node: ast.AST) -> float:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return float(node.value)
        if isinstance(node, ast.Name) and node.id in operands:
            return operands[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        if isinstance(node, ast.BinOp) and type(node.op) in _FORMULA_OPS:
            return _FORMULA_OPS[type(node.op)](walk(node.left), walk(node.right))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _FORMULA_CALLS
            and len(node.args) == 1
        ):
            return _FORMULA_CALLS[node.func.id](walk(node.args[0]))
        if isinstance(node, ast.IfExp) and isinstance(node.test, ast.Compare):
            (op,), (right,) = node.test.ops, node.test.comparators
            if isinstance(op, ast.Gt):
                test = walk(node.test.left) > walk(right)
                return walk(node.body) if test else walk(node.orelse)
        raise ValueError(f"not a formula of the op table: {formula!r}")

    return walk(_parsed(formula))


@functools.lru_cache(maxsize=128)
def _parsed(formula: str) -> ast.expr:
    """A formula of the table, parsed once (``--print`` works one out for every edge)."""
    return ast.parse(formula, mode="eval").body
