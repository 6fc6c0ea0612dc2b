"""Showing user text on a terminal without letting it drive the terminal.

A program's comments, names and the values given on the command line are user text, and
stepgrad echoes them. Written raw, ``x*x  # ESC]52;c;...ESC\\`` would set the clipboard and
``ESC[2J`` would clear the screen: every C0 and C1 control character can start such a
sequence or move the cursor. :func:`visible` shows each of them as a visible stand-in instead,
so the user sees what the text holds and the terminal only ever receives printable characters.
"""

from __future__ import annotations

__all__ = ["statements", "to_ascii", "visible"]


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
    # The line and paragraph separators end a line where a terminal or a browser breaks lines
    # on them: one line of output would show as two.
    for code in (0x2028, 0x2029):
        table[code] = f"\\u{code:04x}"
    return table


_VISIBLE = _table()


def visible(text: str, keep: str = "") -> str:
    """``text`` with every control character shown by a visible stand-in.

    C0 controls become the Unicode control pictures (``␛`` for ESC, ``␉`` for a tab, ``␊`` for a
    newline), DEL becomes ``␡``, C1 controls (U+0080 to U+009F) and the bidirectional controls
    become ``\\x9b``-style escapes, and so do the line and paragraph separators (``\\u2028``).
    Ordinary spaces and every printable character are kept.
    Callers pass one line at a time and decide beforehand what a tab or a line break means
    there (``line.expandtabs()``, ``text.split("\\n")``), or name the characters to ``keep``.
    """
    if text.isprintable():  # holds none of them (each is a control or a separator): as it is
        return text
    if keep:  # e.g. "\n\t" for a text area, which shows line breaks and tabs itself
        return "".join(c if c in keep else c.translate(_VISIBLE) for c in text)
    return text.translate(_VISIBLE)


_ASCII = str.maketrans(
    {
        "∂": "d",
        "Δ": "d",  # Δout
        "−": "-",  # the minus sign
        "–": "-",  # an en dash: iterations 5–7
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
        **{chr(0x2080 + d): f"_{d}" for d in range(10)},  # x₂, the second x: x_2
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


def statements(source: str) -> list[str]:
    """The program's statements as written, each stripped, comments left out: split at line
    breaks (``\\n``; a ``\\r\\n`` or ``\\r`` too) and ``;`` only. ``str.splitlines`` also splits
    at a form feed, U+001C-U+001E and U+0085, which a comment may hold: the rest of that
    comment would read as a statement. Each is shown with :func:`visible` by the caller."""
    lines = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    codes = (code.strip() for line in lines for code in line.partition("#")[0].split(";"))
    return [code for code in codes if code]
