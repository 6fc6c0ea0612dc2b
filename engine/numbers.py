"""Compact, consistent number formatting for every place stepgrad shows a number."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable

__all__ = ["format_number", "worked"]


def format_number(x: float, digits: int = 6) -> str:
    """``x`` in at most ``digits`` significant digits, with no noise.

    Whole numbers lose their ``.0`` (``8``), short decimals stay exact (``8.125``,
    ``-6.09375``), long ones are rounded (``0.707107``), and very large or small magnitudes use
    an exponent (``1.5e-08``). ``-0.0`` shows as ``0``.
    """
    if x == 0:
        return "0"
    if not math.isfinite(x):
        return str(x)
    text = f"{x:.{digits}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        sign = "-" if exponent.startswith("-") else ""
        return f"{mantissa}e{sign}{exponent.lstrip('+-').lstrip('0') or '0'}"
    return text


def worked(
    a: float, sign: str, b: float, result: float, shown: Callable[[float], str] = format_number
) -> tuple[str, str, str]:
    """``a``, ``b`` and ``result`` written for ``a × b = result`` (``sign`` ``"×"``) or
    ``a + b = result`` (``"+"``) so that the written numbers work out to the written result.

    Each is written by ``shown``; where the rounded ``a`` and ``b`` would give another last
    digit (``-1.01562 × 3`` is ``-3.04686``, not ``-3.04688``) they get more digits
    (``-1.015625 × 3 = -3.04688``), up to every digit of the float, which gives the engine's
    own result exactly.
    """
    want = shown(result)
    apply = operator.mul if sign == "×" else operator.add
    x, y = shown(a), shown(b)
    for digits in (7, 8, 10, 12, 14, 16, 17):
        try:
            if shown(apply(float(x), float(y))) == want:
                break
        except ValueError:  # a text ``shown`` wrote that is no number: leave it as it is
            break
        x, y = format_number(a, digits), format_number(b, digits)
    return x, y, want
