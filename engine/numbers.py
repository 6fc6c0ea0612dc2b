"""Compact, consistent number formatting for every place stepgrad shows a number."""

from __future__ import annotations

import decimal
import math
from collections.abc import Callable, Sequence

__all__ = ["format_number", "significant_digits", "worked", "worked_terms"]


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


_EXACT = decimal.Context(prec=5000, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)
"""Arithmetic on written numbers with no rounding: a double has at most 767 significant
digits, so a sum or product of two written ones never needs 5000."""
_APPLY = {"×": _EXACT.multiply, "+": _EXACT.add, "−": _EXACT.subtract, "-": _EXACT.subtract}


def significant_digits(text: str) -> int:
    """How many significant digits a written number has: ``-0.0625`` 3, ``3e9`` 1."""
    return len(text.lstrip("-−").split("e")[0].replace(".", "").lstrip("0"))


def worked(
    a: float,
    sign: str,
    b: float,
    result: float,
    shown: Callable[[float], str] = format_number,
    *,
    factor: str | None = None,
) -> tuple[str, str, str]:
    """``a``, ``b`` and ``result`` written for ``a × b = result`` (``sign`` ``"×"``),
    ``a + b = result`` (``"+"``) or ``a − b = result`` (``"−"``) so that the written numbers,
    worked out by hand (in decimal, exactly), give the written result.

    Each is written by ``shown``; where the rounded ``a`` and ``b`` would give another last
    digit (``-1.01562 × 3`` is ``-3.04686``, not ``-3.04688``) they get more digits, one at a
    time (``-1.015625 × 3 = -3.04688``), up to every digit of the float. Two outputs that differ
    in their 17th digit may need more than 17 for their difference to read right
    (``3000000000.0020008087158203 − 3000000000.0019998550415039 = 9.536743164e-7``). Written
    operands whose result is a half (``-0.353392 + 0.303007`` is ``-0.050385``), which readers
    round either way, get more digits too; a half that every digit gives (``-6.09375 +
    -3.046875 = -9.14062``) is rounded to even, as ``shown`` rounds it.

    ``factor``, a number as written elsewhere (the lr of ``p.data -= 0.1 * p.grad``), multiplies
    ``b`` first and keeps its digits: ``a − factor × b = result``.
    """
    want = shown(result)
    apply = _APPLY[sign]
    x, y = shown(a), shown(b)
    rungs = [*range(max(significant_digits(x), significant_digits(y)) + 1, 41), 800]
    for digits in rungs:  # 800: every digit of any float
        try:
            left, right = decimal.Decimal(x), decimal.Decimal(y)
            scaled = _EXACT.multiply(decimal.Decimal(factor), right) if factor else right
            exact = apply(left, scaled)
            if _reads(exact, want, shown):
                break
            if left == decimal.Decimal(a) and right == decimal.Decimal(b):
                break  # every digit is written: a half stays rounded to even, as Python does
        except (ValueError, ArithmeticError):  # a text ``shown`` wrote that is no number (or
            break  # inf - inf): leave it as it is
        x, y = format_number(a, digits), format_number(b, digits)
    return x, y, want


def worked_terms(
    values: Sequence[float],
    sign: str,
    result: float,
    shown: Callable[[float], str] = format_number,
) -> tuple[list[str], str, int | None]:
    """:func:`worked` for any number of terms: ``values`` and ``result`` written for ``v1 × v2
    × … = result`` (``sign`` ``"×"``) or ``v1 + v2 + … = result`` (``"+"``), so that the
    written numbers, worked out by hand in decimal, give the written result (a path's factors
    ``3 × 1 × -1.015625 = -3.04688``, where ``-1.01562`` gives ``-3.04686``).

    Returns the written values, the written result (by ``shown``) and the significant digits
    the values took beyond ``shown``'s (None where ``shown`` wrote them well)."""
    want = shown(result)
    combine = _APPLY[sign]
    texts = [shown(v) for v in values]
    if not texts:
        return texts, want, None
    start = max(significant_digits(t) for t in texts) + 1
    digits: int | None = None
    for rung in [*range(start, 41), 800]:  # 800: every digit of any float
        try:
            exact = decimal.Decimal(texts[0])
            for text in texts[1:]:
                exact = combine(exact, decimal.Decimal(text))
            if _reads(exact, want, shown):
                break
            pairs = zip(texts, values, strict=True)
            if all(decimal.Decimal(t) == decimal.Decimal(v) for t, v in pairs):
                break  # every digit is written
        except (ValueError, ArithmeticError):  # a text that is no number: leave it
            break
        digits = rung
        texts = [format_number(v, rung) for v in values]
    return texts, want, digits


def _reads(exact: decimal.Decimal, want: str, shown: Callable[[float], str]) -> bool:
    """Whether ``exact`` reads as ``want`` when written by ``shown``, whichever way a reader
    rounds a half. ``shown`` rounds a float that is a half to even (``-9.140625`` to
    ``-9.14062``), so the next float away from 0 (as rounding halves up gives ``-9.14063``)
    must read as ``want`` too; a number between two floats (``-1.835045``), as both do."""
    near = float(exact)
    if not exact:
        return shown(near) == want
    if decimal.Decimal(near) == exact:
        other = math.nextafter(near, math.copysign(math.inf, near))
    else:
        other = math.nextafter(near, math.inf if decimal.Decimal(near) < exact else -math.inf)
    return shown(near) == want == shown(other)
