"""The top line: the program (cut with … if long) on the left, the pass status on the right."""

from __future__ import annotations

from textual.content import Content

from .lines import LineWidget

__all__ = ["TopBar"]


class TopBar(LineWidget):
    """One line; re-rendered each step without a relayout (its size never changes)."""

    DEFAULT_CSS = """
    TopBar { height: 1; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.left = Content("")
        self.right = Content("")

    def show(self, left: Content, right: Content) -> None:
        self.left, self.right = left, right
        self.refresh()

    def lines(self, width: int) -> list[Content]:
        return [self._line(width)]

    def _line(self, width: int) -> Content:
        right = self.right
        room = width - right.cell_length - 2
        left = self.left
        if room < 8:  # too narrow for both: the status matters more
            return right.truncate(width, ellipsis=True)
        if left.cell_length > room:
            left = left.truncate(room, ellipsis=True)
        return Content.assemble(left, " " * (width - left.cell_length - right.cell_length), right)
