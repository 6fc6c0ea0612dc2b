"""The paths screen (``P``): every path from the selected node to the output, each with the
local derivatives along it and their product; the products add up to the grad (the chain rule
as a sum over paths). The path highlighted in the list is drawn heavy on the graph, each of its
boxes saying the factor its edge contributes (``× 0.125``) and the output the product.

A graph with many paths lists the largest ones by ``|product|`` and says how many are not
shown (see :mod:`stepgrad.lesson.paths`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from engine import Value
from engine.numbers import format_number
from stepgrad.lesson.bugs import BugWalkthrough
from stepgrad.lesson.paths import (
    Path,
    Paths,
    describe_path,
    factors_text,
    is_close,
    path_total,
    paths,
    product_number,
    writers,
)
from stepgrad.widgets import GraphView

if TYPE_CHECKING:
    from .main import MainScreen

__all__ = ["PathsScreen", "summary"]


def n(x: float) -> str:
    return format_number(x)


def one_pass(main: MainScreen) -> Mapping[Value, float]:
    """The grads of one correct pass (what the paths add up to)."""
    walk = main.walk
    if isinstance(walk, BugWalkthrough):
        return walk.correct_own()
    return walk.trace.grads


def summary(
    found: Paths, name: str, out: str, grad: float | None, buggy: float | None = None
) -> str:
    """``2 paths from x to r; their products add up to 2 = x's grad from one pass``, with the
    count left out when some are not listed. One pass's: after ``b`` without ``zero_grad`` the
    screen shows a multiple of it. In a bug mode the paths give one *correct* pass's grad, and
    ``buggy``, the grad the buggy pass gives, is named beside it (the screen just showed it)."""
    count = found.count
    total = path_total(found, n)
    if count == 0:
        return f"no path leads from {name} to {out}"
    if count == 1 and not found.shown[0].locals:
        return f"{name} is the output: its grad is 1 by definition"
    if buggy is not None and grad is not None and is_close(found.total, grad):
        grads = f" = {name}'s grad from one correct pass"
        if not is_close(buggy, grad):
            grads += f" (the buggy pass gives {n(buggy)} ✗)"
    elif grad is None or is_close(found.total, grad):
        grads = f" = {name}'s grad from one pass" if grad is not None else ""
    else:  # pragma: no cover - the sum over paths is backprop's sum: they agree
        grads = f" (backprop says {n(grad)})"
    paths_word = "path" if count == 1 else "paths"
    if not found.truncated:
        adds = "its product is" if count == 1 else "their products add up to"
        return f"{count:,} {paths_word} from {name} to {out}; {adds} {total}{grads}"
    return (
        f"{count:,} {paths_word} from {name} to {out}: the {len(found.shown)} with the largest "
        f"|product| are listed, {count - len(found.shown):,} are not; all {count:,} products "
        f"add up to {total}{grads}"
    )


class PathsScreen(ModalScreen[None]):
    """The paths from one node to the output, over the graph (see the module docstring)."""

    DEFAULT_CSS = """
    PathsScreen { layout: vertical; background: $background; overflow: hidden; }
    #paths-title { height: auto; padding: 0 1; background: $panel; }
    #paths-graph { height: 60%; min-height: 3; }
    #paths-summary { height: auto; padding: 0 1; border-top: heavy $accent; }
    #paths-list { height: 1fr; min-height: 2; border: none; padding: 0 1; }
    """

    BINDINGS = [
        Binding("escape,P,q", "close", "Back", key_display="esc",
                tooltip="Back to the walkthrough"),
        Binding("down", "move(1)", "Next path", key_display="↓"),
        Binding("up", "move(-1)", "Previous path", key_display="↑"),
    ]  # fmt: skip

    def __init__(self, main: MainScreen, start: Value) -> None:
        super().__init__()
        self.main = main
        self.start = start
        program = main.walk.program
        self.found = paths(program.output, start)
        self.grads = one_pass(main)
        self.grad = self.grads.get(start)
        self.writers = writers(self.found)  # numbers that work out by hand
        self._leaving = False

    def _title(self, small: bool) -> Content:
        program = self.main.walk.program
        name, out = program.name(self.start), program.name(program.output)
        if small:  # a short terminal: the graph and the list need the rows
            return Content.assemble(("paths", "bold $accent"), f"  {name} → {out}")
        return Content.assemble(
            ("paths", "bold $accent"),
            f"  from {name} to {out} · the chain rule: ∂{out}/∂{name} is the sum, over "
            "every path, of the product of the local derivatives along it",
        )

    def compose(self) -> ComposeResult:
        yield Static(self._title(False), id="paths-title")
        yield GraphView(id="paths-graph")
        yield Static(self._summary(), id="paths-summary")
        options = OptionList(*self._options(), id="paths-list")
        yield options
        yield Footer()

    def _summary(self, small: bool = False) -> Content:
        program = self.main.walk.program
        walk = self.main.walk
        buggy = walk.trace.grads.get(self.start) if isinstance(walk, BugWalkthrough) else None
        text = summary(
            self.found, program.name(self.start), program.name(program.output), self.grad, buggy
        )
        if small:
            return Content.assemble((text, "bold"), (" · ↑ ↓ · esc", "$text-muted"))
        return Content.assemble(
            (text, "bold"),
            ("\n↑ ↓ choose a path: it is drawn heavy, each box on it saying the local "
             "derivative of its edge (× …), the output the product (= …) · esc: back",
             "$text-muted"),
        )  # fmt: skip

    def _options(self) -> list[Option]:
        program = self.main.walk.program
        shown = self.found.shown
        products = [product_number(p, w.product) for p, w in zip(shown, self.writers, strict=True)]
        width = max((len(text) for text in products), default=1)
        options = []
        for path, product, writer in zip(shown, products, self.writers, strict=True):
            factors = factors_text(path, writer.factor) or "1"
            text = f"{product.rjust(width)}  = {factors}   {describe_path(path, program.name)}"
            options.append(Option(Content(text)))
        return options

    def _small(self) -> bool:
        return self.size.height < 24

    def on_resize(self) -> None:
        small = self._small()
        self.query_one("#paths-title", Static).update(self._title(small))
        self.query_one("#paths-summary", Static).update(self._summary(small))
        self._show(self.query_one(OptionList).highlighted if self.found.shown else None)

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        if options.option_count:
            options.highlighted = 0
            options.focus()
        self._show(0 if self.found.shown else None)

    @on(OptionList.OptionHighlighted, "#paths-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._show(event.option_index)

    def _show(self, at: int | None) -> None:
        scene = self.main.scene
        if scene is None:
            return
        mode = self.main._mode()
        center = scene.ids.get(self.start) if scene.too_large() is not None else None
        drawing = scene.drawing(mode, center)  # type: ignore[arg-type]
        walk = self.main.walk
        path: Path | None = self.found.shown[at] if at is not None else None
        if path is None:
            view = scene.path_view(walk, [self.start], [], ["start"], self.grads)
            follow = scene.shown_ids([self.start])
        else:
            writer = self.writers[at]  # type: ignore[index]
            product = product_number(path, writer.product, why=False)
            labels = [f"× {writer.factor(x)}" for x in path.locals] + [
                product if path.beyond else f"= {product}"
            ]
            view = scene.path_view(walk, path.nodes, path.indices, labels, self.grads)
            follow = scene.shown_ids(path.nodes)
        selected = scene.shown_ids([self.start])
        graph = self.query_one(GraphView)
        rows = max(3, int((self.size.height - 2) * 0.6))
        if self._small():  # title, summary, two paths and the footer keep their rows
            width = max(1, self.size.width - 2)
            taken = len(self._title(True).wrap(width)) + len(self._summary(True).wrap(width))
            rows = max(3, self.size.height - taken - 4)  # the rule, two paths, the footer
        graph.styles.height = max(3, min(drawing.height + 1, rows))  # the list takes the rest
        graph.show(drawing, view, selected[0] if selected else None, follow)

    def action_move(self, step: int) -> None:
        options = self.query_one(OptionList)
        if not options.option_count:
            self.notify("no path to move along", timeout=2)
            return
        at = options.highlighted if options.highlighted is not None else 0
        to = max(0, min(options.option_count - 1, at + step))
        if to == at:
            edge = "last" if step > 0 else "first"
            more = f" ({self.found.count - len(self.found.shown):,} more are not listed)"
            self.notify(
                f"already the {edge} path listed" + (more if self.found.truncated else ""),
                timeout=2,
            )
            return
        options.highlighted = to

    def action_close(self) -> None:
        if not self._leaving:  # two keys together must not pop twice
            self._leaving = True
            self.dismiss(None)
