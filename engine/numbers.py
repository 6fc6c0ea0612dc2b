"""Compact, consistent number formatting for every place stepgrad shows a number."""

from __future__ import annotations

import math

__all__ = ["format_number"]


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
