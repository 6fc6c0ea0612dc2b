"""Showing user text on a terminal without letting it drive the terminal.

A program's comments, names and the values given on the command line are user text, and
stepgrad echoes them. Written raw, ``x*x  # ESC]52;c;...ESC\\`` would set the clipboard and
``ESC[2J`` would clear the screen: every C0 and C1 control character can start such a
sequence or move the cursor. :func:`visible` shows each of them as a visible stand-in instead,
so the user sees what the text holds and the terminal only ever receives printable characters.
"""

from __future__ import annotations

__all__ = ["elide", "shorten", "to_ascii", "visible"]


def _table() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in range(0x20):  # C0: the Unicode control pictures (ESC shows as ␛, NUL as ␀)
        table[code] = chr(0x2400 + code)
    table[0x7F] = "\u2421"  # DEL: ␡
    for code in range(0x80, 0xA0):  # C1 (CSI 0x9b, OSC 0x9d...): no pictures exist
        table[code] = f"\\x{code:02x}"
    # Bidirectional controls reorder what is shown around them ("Trojan Source"): the text on
    # screen would not be the text the program holds.
    for code in (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)):
        table[code] = f"\\u{code:04x}"
    return table


_VISIBLE = _table()


def visible(text: str) -> str:
    """``text`` with every control character shown by a visible stand-in.

    C0 controls become the Unicode control pictures (``␛`` for ESC, ``␉`` for a tab, ``␊`` for a
    newline), DEL becomes ``␡``, C1 controls (U+0080 to U+009F) and the bidirectional controls
    become ``\\x9b``-style escapes. Ordinary spaces and every printable character are kept.
    Callers pass one line at a time and decide beforehand what a tab or a line break means
    there (``line.expandtabs()``, ``text.split("\\n")``).
    """
    return text.translate(_VISIBLE)


_OPERATORS = frozenset(("+", "-", "*", "/"))


def shorten(text: str, limit: int = 32) -> str:
    """``w2_3_1*h4_1_1 + w2_3_2*h4_1_2 + … + b2_3``: a long source text cut around an ellipsis,
    at operators outside parentheses, so what is left still reads as the expression.

    Keeps the words before the first top-level operator that leaves at least 12 characters in
    front, and the words from the last one that leaves at least 6 behind; text of at most
    ``limit`` characters, or with no such cut, is returned whole. It reads only the words it
    keeps (and counts parentheses once), so naming every node of a long program stays linear;
    ``engine.parse._shorten`` gives the same results by splitting the whole text every time.
    """
    if len(text) <= limit:
        return text
    # the head: walk words from the front, tracking the parenthesis depth before each
    head = -1
    depth = 0
    start = 0
    index = 0
    while True:
        end = text.find(" ", start)
        word = text[start:] if end < 0 else text[start:end]
        if index and depth == 0 and word in _OPERATORS and start - 1 >= 12:
            head = start  # the text before it is text[: start - 1]
            break
        if end < 0:
            return text
        depth += word.count("(") - word.count(")")
        start = end + 1
        index += 1
    # the tail: walk words from the back; the depth before a word is the total minus what
    # follows it
    total = text.count("(") - text.count(")")
    after = 0
    end = len(text)
    while True:
        space = text.rfind(" ", 0, end)
        word = text[space + 1 : end]
        after += word.count("(") - word.count(")")
        if space < 0:
            return text  # reached the first word: no cut behind the head
        begin = space + 1
        if begin <= head:
            return text
        if total - after == 0 and word in _OPERATORS and len(text) - begin >= 6:
            return f"{text[: head - 1]} … {text[begin:]}"
        end = space


def elide(text: str, keep: int = 30) -> str:
    """``text`` with its middle replaced by ``…`` when it is longer than ``2*keep + 1``.

    The last resort for a source text :func:`shorten` cannot cut (``------x``,
    ``((((x+1)+1)+1)+1)``: no operator outside parentheses): printed whole at every mention, a
    6,000-character chain of minuses made 300 MB of ``--print``."""
    if len(text) <= 2 * keep + 1:
        return text
    return f"{text[:keep]}…{text[-keep:]}"


_ASCII = str.maketrans(
    {
        "∂": "d",
        "×": "x",
        "→": "->",
        "←": "<-",
        "—": "-",
        "…": "...",
        "✓": "ok",
        "✗": "X",
        "⚠": "!",
        "±": "+-",
        "·": "*",
        "∇": "grad ",
        "─": "-",
        "━": "=",
        "▶": ">",
        "◀": "<",
        **{chr(0x2400 + code): f"\\x{code:02x}" for code in range(0x20)},  # visible()'s pictures
        "\u2421": "\\x7f",
    }
)


def to_ascii(text: str) -> str:
    """``text`` for an output whose encoding is ASCII (or latin-1, cp1252...): stepgrad's own
    symbols spelled in ASCII (``∂`` as ``d``, ``×`` as ``x``, ``→`` as ``->``, ``—`` as ``-``,
    control pictures as ``\\x1b``), anything else as a ``\\u`` escape. The result is pure ASCII,
    so writing it can never fail."""
    if text.isascii():
        return text
    return text.translate(_ASCII).encode("ascii", "backslashreplace").decode("ascii")
