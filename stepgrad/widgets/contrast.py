"""Colours that can be read on the screen they are drawn on, in every theme.

Textual themes pick their colours for their own widgets; a light theme's orange ``$warning`` is
1.5:1 on its grey, and its success green 1.4:1 on its white: unreadable on a projector. The
graph view, the values pane and the top bar draw their colours through :func:`readable`, which
moves a colour that is too faint just far enough to reach :data:`READABLE`.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from rich.color import Color as RichColor
from rich.color import ColorType
from rich.segment import Segment
from rich.style import Style as RichStyle
from textual.color import Color

__all__ = ["READABLE", "contrast", "legible", "readable"]

READABLE = 3.0
"""The least contrast (WCAG's ratio) a state's colour keeps against the background: a light
theme's own success green is 1.4 on its white, unreadable on a projector."""


def _luminance(color: Color) -> float:
    def channel(value: int) -> float:
        v = value / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(color.r) + 0.7152 * channel(color.g) + 0.0722 * channel(color.b)


def contrast(a: Color, b: Color) -> float:
    """WCAG's contrast ratio of two colours, 1 (none) to 21."""
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def readable(color: Color, background: Color) -> Color:
    """``color``, moved toward the background's contrasting text colour just as far as it
    takes to reach :data:`READABLE` (unchanged where it already does: every dark theme)."""
    if contrast(color, background) >= READABLE:
        return color
    target = background.get_contrast_text(1.0)
    for step in range(1, 11):
        moved = color.blend(target, step / 10)
        if contrast(moved, background) >= READABLE:
            return moved
    return target


def legible(segments: Iterable[Segment], background: Color) -> list[Segment]:
    """``segments`` with every text colour that is too faint on its background (a light
    theme's orange ``$warning`` is 1.5:1 on its grey) moved just far enough to be read, as the
    graph's colours are (:func:`readable`: at least 3:1). ``background`` is under the segments
    that do not set their own. Colours the terminal picks (an ANSI theme's) are left to it."""
    out = []
    for segment in segments:
        style = segment.style
        if style is not None and style.color is not None and segment.text.strip():
            fixed = _fixed(style.color, style.bgcolor, background)
            if fixed is not None:
                segment = Segment(segment.text, style + RichStyle(color=fixed))
        out.append(segment)
    return out


@lru_cache(maxsize=256)
def _fixed(color: RichColor, under: RichColor | None, background: Color) -> RichColor | None:
    """``color`` made readable on ``under`` (else ``background``), or None if it already is
    (or either is a colour the terminal chooses)."""
    if color.type is not ColorType.TRUECOLOR:
        return None
    if under is not None:
        if under.type is not ColorType.TRUECOLOR:
            return None
        back = Color.from_rich_color(under)
    elif background.ansi is None:
        back = background
    else:
        return None
    text = Color.from_rich_color(color)
    moved = readable(text, back)
    return None if moved == text else moved.rich_color
