"""The top line: the program and its output value on the left, the pass status on the right.

What may give way when the line is too narrow, and in which order, is decided here once for every
width (:meth:`Header.fit`), so no width can hide the output value or ``pass N · step k of M``:

1. the program text is shortened first: the whole program, then ``… `` and its last statement
   (what the output is), then that statement cut with ``…`` (never shorter than
   :data:`MIN_PROGRAM` cells);
2. then, one at a time in the order the screen planned (each :class:`Extra`'s ``ranks``), the
   less important parts of the status take a shorter form or go, and so does the title;
3. then the program gives way to the output's name (``loss = 0.540444``);
4. the output value and the essential status are never cut: if even they do not fit on one line,
   the bar takes two lines (value, then status).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from textual.content import Content

from .contrast import legible
from .lines import LineWidget, content_key

if TYPE_CHECKING:
    from textual.strip import Strip

__all__ = ["MIN_PROGRAM", "Extra", "Header", "TopBar"]

MIN_PROGRAM = 16
"""A program cut shorter than this (in cells, with its ``…``) says too little: use the name."""
GAP = 2
"""Cells between the left part and the status."""


class Extra(NamedTuple):
    """A part of the status that may be shortened or left out when the line is too narrow.

    Attributes:
        forms: the ways to write it, longest first.
        ranks: for each form, the stage (see :meth:`Header.fit`) from which it gives way to the
            next form, or, for the last one, to nothing. Lower ranks give way first.
    """

    forms: tuple[Content, ...]
    ranks: tuple[int, ...]

    def at(self, stage: int) -> Content | None:
        """The form used at ``stage``, or None once the part is left out."""
        for form, rank in zip(self.forms, self.ranks, strict=True):
            if stage < rank:
                return form
        return None


class Header(NamedTuple):
    """Everything the top bar may show, and what gives way first (see the module docstring).

    Attributes:
        title: ``stepgrad``; left out from stage ``title_rank`` on.
        programs: the program's one-line forms, longest first; the last one may be cut with ``…``.
        name: the output's name (``loss``, ``out``): the program at its shortest, from stage
            ``name_rank`` on (before, a stage where no form of the program fits is skipped).
        value: the output value: never cut.
        status: ``pass 2 · step 3 of 5`` (or ``pass 1 · grads zeroed``): never cut.
        extras: the rest of the status, in the order they are shown after ``status``.
    """

    title: Content
    programs: tuple[str, ...]
    name: str
    value: Content
    status: Content
    extras: tuple[Extra, ...] = ()
    title_rank: int = 0
    name_rank: int = 0

    @property
    def stages(self) -> int:
        """How many stages :meth:`fit` tries: one more than the highest rank."""
        ranks = [self.title_rank, self.name_rank]
        ranks += [rank for extra in self.extras for rank in extra.ranks]
        return max(ranks) + 1

    def left(self, stage: int = 0, room: int | None = None) -> Content | None:
        """The program side at ``stage`` in at most ``room`` cells (None: any), or None if it
        cannot fit there."""
        title = Content.assemble(self.title, " ") if stage < self.title_rank else Content("")
        value = Content.assemble((" = ", "$text-muted"), self.value)
        if room is None:
            return Content.assemble(title, self.programs[0], value)
        space = room - title.cell_length - value.cell_length
        program = _program(self.programs, space)
        if title and program not in self.programs:  # the title goes before the program is cut
            whole = _program(self.programs, space + title.cell_length)
            if whole in self.programs:
                title, program = Content(""), whole
        if program is None and stage >= self.name_rank:
            program = self.name if len(self.name) <= space else None
        if program is None:
            return None
        return Content.assemble(title, program, value)

    def right(self, stage: int = 0) -> Content:
        """The status at ``stage``: the essential part, then the extras still shown."""
        parts = [self.status]
        for extra in self.extras:
            form = extra.at(stage)
            if form is not None:
                parts.append(form)
        return Content(" · ").join(parts)

    def fit(self, width: int) -> list[Content]:
        """The bar's lines for ``width`` cells: one, unless even the value and the essential
        status do not fit on one line (then the value's line, and the status's)."""
        for stage in range(self.stages):
            right = self.right(stage)
            room = width - right.cell_length - GAP
            left = self.left(stage, room) if room > 0 else None
            if left is not None:
                pad = " " * (width - left.cell_length - right.cell_length)
                return [Content.assemble(left, pad, right)]
        last = self.stages  # everything that can give way has
        value_line = self.left(last, width) or Content.assemble((" = ", "$text-muted"), self.value)
        return [value_line, self.right(last)]


def _program(programs: tuple[str, ...], space: int) -> str | None:
    """The longest form of the program that fits in ``space`` cells, the last one cut with ``…``
    if need be (to no less than :data:`MIN_PROGRAM` cells), or None."""
    for program in programs:
        if Content(program).cell_length <= space:
            return program
    if space >= MIN_PROGRAM:  # cut between characters, no space left before the …
        return Content(programs[-1]).truncate(space - 1).plain.rstrip() + "…"
    return None


class TopBar(LineWidget):
    """One line (two at most, see :class:`Header`); re-rendered each step without a relayout
    unless the number of lines changes."""

    DEFAULT_CSS = """
    TopBar { height: 1; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.header: Header | None = None
        self._fitted: tuple[Header | None, int, list[Content]] = (None, -1, [])
        self._legible: dict[tuple[object, ...], Strip] = {}

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._legible.clear()

    def _strip(self, content: Content, width: int) -> Strip:
        """A line drawn with its colours readable on the bar (see :func:`legible`)."""
        key = (content_key(content), width)
        strip = self._legible.get(key)
        if strip is None:
            drawn = super()._strip(content, width)
            segments = legible(drawn, self.background_colors[1])
            strip = type(drawn)(segments, drawn.cell_length)
            if len(self._legible) > 256:
                self._legible.clear()
            self._legible[key] = strip
        return strip

    def show(self, header: Header) -> None:
        if header != self.header:
            self.header = header
            self._fit_height()
            self.refresh()

    def on_resize(self) -> None:
        self._fit_height()

    def _fit_height(self) -> None:
        width = self.content_size.width
        if width <= 0:
            return
        height = len(self.lines(width))
        if self.styles.height is None or self.styles.height.value != height:
            self.styles.height = height

    def lines(self, width: int) -> list[Content]:
        header = self.header
        if header is None:
            return [Content("")]
        fitted_header, fitted_width, lines = self._fitted
        if fitted_header is not header or fitted_width != width:
            lines = header.fit(width)
            self._fitted = (header, width, lines)
        return lines
