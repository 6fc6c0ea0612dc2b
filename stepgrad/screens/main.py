"""The main screen: the graph, the step panel, the values; every key of the walkthrough.

The screen owns the one source of truth, a :class:`~stepgrad.state.Walkthrough`, and after any
change pushes it down to the widgets (:meth:`MainScreen.sync`). Widgets post messages up (a
click on a node, an edited program); nothing reaches sideways.

The graph modules (networkx, layout, drawing) are imported after the first frame is on screen,
so startup costs no more than Textual itself; the graph appears a moment later.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar, overload

from textual import on
from textual.actions import parse as parse_action
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.notifications import Notification
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer

from engine import Value
from engine.numbers import format_number
from engine.parse import Program, ProgramError, parse
from stepgrad.explain import plural
from stepgrad.lesson.nudge import DEFAULT_H, Nudge
from stepgrad.state import Walkthrough, editable_source
from stepgrad.widgets import (
    GraphView,
    Inspector,
    Narration,
    StepPanel,
    StepTitle,
    TopBar,
    ValuesTable,
)
from stepgrad.widgets.lesson import LessonNote, note_lines
from stepgrad.widgets.topbar import Extra, Header

from . import lesson

_W = TypeVar("_W", bound="Widget")

LEVELS = ("lecture", "full", "compact", "tiny")
"""The zoom levels, largest first (the same as :data:`stepgrad.layout.LEVELS`; kept here so
that startup does not import the layout)."""
ROOMIER = 0.75
"""The share of the rows the graph may take when that lets it show data and grads whole."""
ROOMY_WIDTH = 160
"""From this width on, the roomy lecture boxes are a level the fit may choose too."""

if TYPE_CHECKING:
    import networkx as nx
    from textual.widget import Widget

    from stepgrad.draw import Drawing, View
    from stepgrad.examples import Example
    from stepgrad.forward import ForwardWalk
    from stepgrad.predict import PredictResult, Score
    from stepgrad.scene import Scene
    from stepgrad.training import GradientStep, Training
    from stepgrad.widgets.editor import ProgramEditor

__all__ = ["MainScreen", "SPEEDS"]

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
"""Auto-advance speeds in steps per second; ``+`` / ``-`` move along them."""
DEFAULT_SPEED = 2
FULL_MODE_MAX_NODES = 60
"""Graphs up to this size are drawn with full boxes, larger ones compact (``c`` toggles)."""
WIDE = 100
"""From this width on the values pane is shown beside the step panel; below it folds away."""
SHORT = 30
"""Below this height the step panel takes the bottom half of the screen."""
TINY = 16
"""Below this height the editor makes do with fewer rows, so the screen never scrolls."""


_CHECKED = (
    "next", "prev", "home", "end", "play", "faster", "slower", "zero_grad", "backward", "select",
    "unselect", "focus_mode", "compact", "edit", "training", "update", "forward",
)  # fmt: skip
"""The actions whose availability can change; the footer is refreshed only when it does."""
FOOTER_PRIORITY = (
    "help", "quit", "next", "prev", "backward", "zero_grad", "play", "edit", "select",
    "training", "home", "end", "faster", "slower", "update",
)  # fmt: skip
"""Which keys the footer keeps when it cannot show them all, most important first: ``?`` and
``q`` are never left out (help lists every key; a left-out key still works)."""
PALETTE_ROOM = 14
"""Cells the footer's ``^p Palette`` key takes on the right, when it is shown."""
WHY_TIMEOUT = 4.0
"""Seconds a "this key cannot act now" notice stays; the same notice is not repeated meanwhile."""
NO_WEIGHTED_SUMS = "this graph has no weighted sums to collapse (x and X act on neurons)"
"""What x and X say on a graph with nothing to collapse."""
GIVE_WAY = {
    "focus": 1,  # "focus" (the graph shows it)
    "zeroed wording": 2,  # "grads zeroed before this pass" → "zeroed first"
    "accumulate wording": 3,  # "grads accumulate (no zero_grad)" → "accumulating"
    "speed": 4,  # "▶ 2/s" → "▶"
    "predict wording": 4,  # "predict score 3/4" → "score 3/4"
    "bug wording": 5,  # "bug mode: early" → "bug: early"
    "title": 6,  # "stepgrad"
    "program": 7,  # the program (already cut to its last statement) → the output's name
    # the pass's state (issue 4) outlasts the title and the program: "✓ done" and whether the
    # grads were zeroed are what a narrow screen must still say ("step 1 of 5" says "in
    # progress" already, so that word goes first)
    "status word": 8,  # "not started", "in progress", "✓ done", "ready"
    "zeroed first": 9,
    "accumulating": 9,
    "▶": 11,
    "score": 12,
    "bug": 13,
}
"""The top bar's plan when it is narrow: the program text is shortened first, then at stage
``s`` every part ranked ``s`` or less has given way (see :class:`~stepgrad.widgets.topbar.Header`).
The output value and ``pass N · step k of M`` are never in it: they never give way."""
_JUMP = Binding.Group("Jump")
_SPEED = Binding.Group("Speed")
_PAN = Binding.Group("Pan")
_ZOOM = Binding.Group("Zoom")
_NUDGE = Binding.Group("Nudge")


class _Footer(Footer):
    """Textual's footer, filled once the graph is on screen rather than right after the first
    frame. Filling it takes the main thread about 25 ms, while the graph is being laid out on
    another thread (networkx is imported there): the two share one interpreter lock, so the
    footer would hold the graph back by that much."""

    def __init__(self) -> None:
        super().__init__()
        self._waiting: Screen[Any] | None = None  # the screen whose signal came meanwhile

    def bindings_changed(self, screen: Screen[Any]) -> None:
        if isinstance(screen, MainScreen) and screen.laying_out:
            self._waiting = screen
            return
        super().bindings_changed(screen)

    def graph_shown(self) -> None:
        """Fill the footer now, if a signal came while the graph was laid out."""
        screen, self._waiting = self._waiting, None
        if screen is not None:  # in the footer's own context, as its compose expects
            self.call_later(Footer.bindings_changed, self, screen)

    def compose(self) -> ComposeResult:
        # Each key Textual's footer makes watches the footer's ``compact`` through a data
        # binding, and Textual forgets the watchers of removed keys only when ``compact``
        # changes. The footer is made anew whenever the keys that work change (a step, a
        # pass): at one terminal size every key ever made stayed alive, about 20 widgets
        # for each End then b. The keys removed by now go here.
        watchers: dict[str, list[tuple[Any, Any]]] = getattr(self, "__watchers", {})
        for entries in watchers.values():
            entries[:] = [(node, call) for node, call in entries if not node._closing]
        yield from super().compose()


def _fit_footer(footer: Footer, width: int) -> None:
    footer.compact = width < WIDE
    footer.show_command_palette = width >= 80  # ctrl+p is on the help screen


class MainScreen(Screen[None]):
    """Step through the backward pass of one program."""

    AUTO_FOCUS = ""  # keys go to the screen's bindings; only the editor takes focus
    INHERIT_BINDINGS = False  # our tab / shift+tab replace the screen's focus keys

    BINDINGS = [
        Binding("right,l,space", "next", "Next", key_display="→",
                tooltip="Fire the next node (also l, space)"),
        Binding("left,h", "prev", "Back", key_display="←",
                tooltip="Step back: the exact earlier state (also h)"),
        Binding("home", "home", "Start", tooltip="Go to step 0 / to the end of this pass",
                group=_JUMP),
        Binding("end", "end", "End", tooltip="Go to the end of this pass", group=_JUMP),
        Binding("p", "play", "Play", tooltip="Play / pause: fire one node after another"),
        Binding("plus,equals_sign", "faster", "Faster", key_display="+",
                tooltip="Play faster / slower (+ also =)", group=_SPEED),
        Binding("minus", "slower", "Slower", key_display="-", tooltip="Play slower",
                group=_SPEED),
        Binding("z", "zero_grad", "zero_grad", tooltip="zero_grad(): every grad becomes 0"),
        Binding("b", "backward", "Backward",
                tooltip="After a pass: backward again, adding on top of the grads"),
        Binding("tab", "select(1)", "Inspect", key_display="tab",
                tooltip="Select the next node and inspect it (shift+tab: previous; or click it)"),
        Binding("shift+tab", "select(-1)", "Inspect previous", key_display="⇧tab", show=False,
                tooltip="Select the previous node"),
        Binding("escape", "unselect", "Unselect", key_display="esc", show=False,
                tooltip="Clear the selection"),
        Binding("f", "focus_mode", "Focus", show=False,
                tooltip="Only the current node's neighbourhood / the whole graph"),
        Binding("c", "compact", "Compact", show=False, tooltip="Toggle compact / full boxes"),
        Binding("left_square_bracket", "zoom(1)", "Zoom out", key_display="[", show=False,
                group=_ZOOM, tooltip="Zoom out / in: lecture, full, compact and tiny boxes "
                "(0 fits the screen again)"),
        Binding("right_square_bracket", "zoom(-1)", "Zoom in", key_display="]", show=False,
                group=_ZOOM),
        Binding("0", "fit", "Fit", show=False,
                tooltip="The largest boxes at which the whole graph fits the screen"),
        Binding("x", "collapse", "Collapse", show=False,
                tooltip="Collapse / expand the weighted sum (a neuron) of the current or "
                        "selected node; X: all of them"),
        Binding("X", "collapse_all", "Collapse all", show=False,
                tooltip="Collapse every weighted sum, or expand them all"),
        Binding("slash", "find", "Find", key_display="/",
                tooltip="Find a node by name: it is centred, selected and inspected"),
        Binding("v", "toggle_values", "Values", show=False, tooltip="Show / hide the values pane"),
        Binding("up", "pan(0,-3)", "Pan up", key_display="↑", show=False, group=_PAN,
                tooltip="Pan the graph (also the mouse wheel, shift+wheel sideways)"),
        Binding("down", "pan(0,3)", "Pan down", key_display="↓", show=False, group=_PAN),
        Binding("shift+left", "pan(-8,0)", "Pan left", key_display="⇧←", show=False,
                group=_PAN),
        Binding("shift+right", "pan(8,0)", "Pan right", key_display="⇧→", show=False,
                group=_PAN),
        Binding("g", "predict", "Predict", show=False,
                tooltip="Predict mode: type each grad before the step shows it; keeps score"),
        Binding("n", "narration", "Narrate", show=False,
                tooltip="Show / hide the plain-language narration (lesson mode)"),
        Binding("greater_than_sign", "nudge(1)", "Nudge up", key_display=">", show=False,
                group=_NUDGE, tooltip="Nudge the selected input up / down by h: the forward "
                "pass runs again, and the output's change is shown beside grad × h"),
        Binding("less_than_sign", "nudge(-1)", "Nudge down", key_display="<", show=False,
                group=_NUDGE),
        Binding("H", "nudge_size", "Change h", show=False,
                tooltip="The size of a nudge: h = 0.001, 0.01, 0.1, 1 in turn"),
        Binding("P", "paths", "Paths", show=False,
                tooltip="Every path from the selected node to the output, with the product of "
                "its local derivatives: they add up to the grad"),
        Binding("t", "training", "Training",
                tooltip="Train the program (its output is the loss): lr, steps, parameters, "
                        "with and without zero_grad, the loss curves"),
        Binding("u", "update", "Update",
                tooltip="A gradient step: p.data -= lr * p.grad on the parameters, then the "
                        "forward pass again (lr and parameters: t)"),
        Binding("F", "forward", "Forward", show=False,
                tooltip="Forward mode: compute the values one node at a time, each after its "
                        "inputs, then the backward pass (F again: leave it)"),
        Binding("e", "edit", "Edit", tooltip="Edit the program in place"),
        Binding("question_mark,f1", "help", "Help", key_display="?", tooltip="This screen"),
        Binding("s", "screenshot", "SVG", show=False,
                tooltip="Save an SVG screenshot in this directory"),
        Binding("q", "quit", "Quit", tooltip="Quit stepgrad"),
    ]  # fmt: skip

    def __init__(
        self,
        program: Program,
        values: dict[str, float] | None = None,
        *,
        lazy: bool = True,
        example: Example | None = None,
        lecture: bool = False,
        narration: bool = True,
        predict: bool = False,
        forward: bool = False,
        train: bool = False,
        loop: Mapping[str, Any] | None = None,
        bug: str | None = None,
    ) -> None:
        super().__init__()
        self.bug = bug  # a bug mode (stepgrad.lesson.bugs.BUGS), or None: the correct pass
        self.h = DEFAULT_H  # the size of a nudge (> and <; H changes it)
        self.nudged: Nudge | None = None  # the last nudge, shown until the values or program change
        self.example = example
        self.fwd: ForwardWalk | None = None  # forward mode: where the forward pass stands
        if forward:
            from stepgrad.forward import ForwardWalk

            self.fwd = ForwardWalk(program)
        """The forward pass being stepped through (forward mode), or None."""
        self._fwd_behind = False  # the backward pass began where a forward pass ended
        self.loop_options: dict[str, Any] = dict(loop or {})
        """The user's choices for u and t: ``params``, ``lr``, ``steps`` (see _loop_spec)."""
        self.updates: list[GradientStep] = []
        """The gradient steps taken on this program, oldest first."""
        self._train_at_start = train
        self.lecture = lecture
        self.narrating = narration
        self.predicting = predict
        self._score: Score | None = None  # made when predict mode is first used
        self.values = dict(values or {})
        self.walk = lesson.walkthrough(program, bug)
        self.source = editable_source(program, self.values)
        self._header_source: tuple[object, str] = (None, "")  # (program, values), its text
        self.selected: Value | None = None
        self.playing: Timer | None = None
        self.speed = DEFAULT_SPEED
        self.focus_mode = False
        self.mode: str | None = None  # a zoom level (stepgrad.layout.LEVELS); None: fit by size
        self.side_shown: bool | None = None  # None: by width
        self.screenshot_dir: str | None = None
        self.editor: ProgramEditor | None = None  # mounted on the first ``e``
        self.scene: Scene | None = None  # the graph as shown: made in a worker after start
        self.consumers: dict[Value, list[Value]] = {}
        self.order: list[int] = []  # node keys in reading order (columns, then rows)
        self._fitted: tuple[object, ...] = ()  # (scene, collapsed, width, height) -> mode
        self._fit_mode: str | None = None
        self._fits = True  # whether some level fits the whole graph (see _mode)
        self._share: float | None = None  # the graph's share of the rows, when it needs more
        self._layout_serial = 0
        self._lazy = lazy
        self._footer_width = 0  # the width the footer last chose its keys for
        self.laying_out = lazy  # the graph is (to be) laid out on a worker thread
        # what the footer last showed greyed out: a recomposed footer costs a fiftieth of a
        # second, so it is asked for again only when that changes (see _refresh_footer)
        self._enabled: tuple[bool | None, ...] = ()
        self._views: dict[tuple[object, ...], View] = {}
        self._prefetch_queued = False
        self._direction = 1  # which way the user is stepping, for the prefetch
        self._footer_queued = False
        self._told: tuple[str, float] = ("", 0.0)  # the last notice of tell(), and when
        self._notice: Notification | None = None  # that notice, while it may be shown
        self._example_values: dict[str, dict[str, float]] = {}  # see notes
        # the panels hidden at the start, mounted the first time they show (see _panel)
        self._panels: dict[str, Widget] = {}  # by id

    @property
    def score(self) -> Score:
        """The predict mode's score (predict mode is not imported until it is used)."""
        if self._score is None:
            from stepgrad.predict import Score

            self._score = Score()
        return self._score

    # --- layout ---------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # the size's classes before the widgets mount, so they are styled once, not again in
        # on_mount (every class set on a mounted screen restyles all of them)
        width, height = self.app.size
        self._size_classes(width, height)
        yield TopBar(id="topbar")
        yield GraphView(id="graph")
        with Vertical(id="lower"):
            yield StepTitle(id="step-title")  # one line: a step redraws it, not the panes
            with Horizontal(id="lower-body"):
                # the update, forward and lesson panels go above the step panel and the
                # inspector above the values, each mounted when it first shows (_panel)
                with VerticalScroll(id="steps", can_focus=False):
                    yield StepPanel(id="step-panel")
                    narration = Narration(id="narration")
                    narration.display = self.narrating
                    yield narration
                with Vertical(id="side") as side:
                    side.display = self._side_shown(width)
                    yield ValuesTable(id="values")
        footer = _Footer()
        _fit_footer(footer, width)
        yield footer

    def on_mount(self) -> None:
        self.set_class(self.lecture, "-lecture")
        self.query_one(StepPanel).roomy = self.lecture
        self._arrange(self.size.width, self.size.height)
        self.sync()
        self._footer_width = self.app.size.width
        if not self._lazy:
            self._prepare_graph()
        # else the app calls first_frame_out once the first frame is out: a layout worker
        # started earlier would share the processor with the first frame (one GIL), and
        # call_after_refresh comes a few frames late (the footer fills itself first)
        if self._train_at_start:  # --train: the training window over the graph
            self.call_after_refresh(self.action_training)

    def on_resize(self, event: Any) -> None:
        self._arrange(event.size.width, event.size.height)
        if self.scene is not None:  # the zoom level that fits may be another one now
            self.scene.room = self._graph_room()[0]  # spread to the new width (after [ or ])
            self.sync()
        else:
            self._fit_graph(self.query_one(GraphView), self.drawing())
        if not self._footer_queued:  # the footer's keys depend on the width
            self._footer_queued = True
            self.call_after_refresh(self._refresh_footer)

    @property
    def active_bindings(self) -> dict[str, Any]:
        """The keys for the footer: as many as fit in one line, most important first
        (:data:`FOOTER_PRIORITY`), shown in their usual order. ``?`` and ``q`` always fit; so do
        the open editor's keys, which come first. (Keys are dispatched by the binding chain,
        not by this; a left-out key still works.)"""
        bindings = super().active_bindings
        width = self.app.size.width
        compact = width < WIDE
        used = PALETTE_ROOM if width >= 80 else 0
        by_action: dict[str, list[str]] = {}  # the footer shows one key per action
        keep: set[str] = set()
        for key, active in bindings.items():
            binding = active.binding
            if not binding.show:
                continue
            if active.node is not self:  # the editor's keys: always shown
                if binding.action not in keep:
                    keep.add(binding.action)
                    used += self._footer_cost(binding, compact)
                continue
            by_action.setdefault(binding.action, []).append(key)
        for name in FOOTER_PRIORITY:
            for action, keys in by_action.items():
                if action.partition("(")[0] != name or action in keep:
                    continue
                group = bindings[keys[0]].binding.group  # a group is shown whole or not at all
                members = [
                    other
                    for other, its in by_action.items()
                    if other == action
                    or group is not None
                    and bindings[its[0]].binding.group is group
                ]
                cost = sum(
                    self._footer_cost(bindings[by_action[m][0]].binding, compact) for m in members
                )
                if used + cost <= width or name in ("help", "quit"):
                    keep.update(members)
                    used += cost
        shown = {
            k: b for k, b in bindings.items() if not b.binding.show or b.binding.action in keep
        }
        for key, active in shown.items():  # "? Help" when only f1 of "?,f1" works (editing)
            if active.node is self and key not in _FIRST_KEYS and active.binding.key_display:
                plain = replace(active.binding, key_display=None)
                shown[key] = active._replace(binding=plain)
        return shown

    def _footer_cost(self, binding: Binding, compact: bool) -> int:
        """The footer cells ``binding`` takes (a grouped key counted with its group's label)."""
        shown = self.app.get_key_display(binding)
        if binding.group is not None:
            return len(shown) + 4 + len(binding.group.description) + 1
        return len(shown) + len(binding.description) + (2 if compact else 3)

    def _size_classes(self, width: int, height: int) -> None:
        self.set_class(width < WIDE, "-narrow")
        self.set_class(width >= 160, "-wide")
        self.set_class(height < SHORT, "-short")
        self.set_class(height < TINY, "-tiny")

    def _side_shown(self, width: int) -> bool:
        """Whether the values pane shows beside the step panel: as the user chose, else when
        the screen is wide."""
        return self.side_shown if self.side_shown is not None else width >= WIDE

    def _arrange(self, width: int, height: int) -> None:
        self._size_classes(width, height)
        if self.is_mounted:
            _fit_footer(self.query_one(Footer), width)
        shown = self._side_shown(width)
        side = self.query_one("#side")
        if side.display != shown:
            side.display = shown

    # --- the graph ------------------------------------------------------------------------------

    @property
    def graph(self) -> nx.MultiDiGraph | None:
        """The graph as shown (collapsed groups as one node), or None while it is laid out."""
        return self.scene.shown() if self.scene is not None else None

    @property
    def ids(self) -> dict[Value, int]:
        """Each value's node key in the whole graph (empty while it is laid out)."""
        return self.scene.ids if self.scene is not None else {}

    @property
    def by_id(self) -> dict[int, Value]:
        """Each node key's value (empty while the graph is laid out)."""
        return self.scene.by_id if self.scene is not None else {}

    def first_frame_out(self) -> None:
        """Start laying the graph out, if the first frame was all that it waited for."""
        if self._lazy and self.scene is None and self._layout_serial == 0:
            self._prepare_graph()

    def _prepare_graph(self) -> None:
        """Lay the graph out: in a worker thread, so keys, q and resizing keep working while a
        large graph takes its time (the view says so meanwhile); at once when not lazy (tests,
        screenshots). A result for a program replaced meanwhile is dropped."""
        self._layout_serial += 1
        serial, walk = self._layout_serial, self.walk
        self.scene = None
        graph_view = self.query_one(GraphView)
        count = len(walk.nodes)
        graph_view.placeholder = (
            f"laying out the graph ({count:,} nodes)…" if count > 200 else "laying out the graph…"
        )
        if not self._lazy:
            self._scene_ready(self._make_scene(walk), serial)
            return
        size = self._graph_room()
        self.laying_out = True

        def work() -> None:
            scene = self._make_scene(walk, size)
            self.app.call_from_thread(self._scene_ready, scene, serial)

        self.run_worker(
            work, name="layout", thread=True, exclusive=True, group="layout", exit_on_error=False
        )

    def on_worker_state_changed(self, event: Any) -> None:
        """A layout that failed says so in the graph view, and the rest of the app goes on."""
        from textual.worker import WorkerState

        if event.worker.name == "layout" and event.state == WorkerState.ERROR:
            error = event.worker.error
            graph_view = self.query_one(GraphView)
            graph_view.placeholder = (
                f"the graph could not be drawn ({type(error).__name__}: {error})"
            )
            graph_view.refresh()
            self.laying_out = False
            self._graph_shown()
            self.tell("the graph could not be drawn; stepping, the panels and --print still work")

    def _make_scene(self, walk: Walkthrough, size: tuple[int, int] | None = None) -> Scene:
        """The scene of ``walk``'s program, with the layout for ``size`` already made (this is
        the slow part; it runs in the worker)."""
        from stepgrad.scene import Scene

        scene = Scene(walk)
        if size is not None and scene.too_large() is None:
            mode = scene.fit(*size) or self._fallback(scene)
            scene.drawing(mode)  # type: ignore[arg-type]
        return scene

    def _scene_ready(self, scene: Scene, serial: int) -> None:
        if serial != self._layout_serial or not self.is_attached:
            return  # the program changed meanwhile: a newer layout is on its way
        self.scene = scene
        self.consumers = {
            value: [scene.by_id[c] for c in dict.fromkeys(scene.graph.successors(n))]
            for n, value in scene.by_id.items()
        }
        self.order = []
        self._fitted = ()
        self._views.clear()
        if scene.too_large() is not None:
            self.focus_mode = True
            self.tell(
                f"this graph is too large to draw whole ({scene.too_large():,} lanes): "
                "showing the neighbourhood of the node firing now"
            )
        self.laying_out = False
        self.sync()
        self.call_after_refresh(self._follow_now)  # once the view has its size
        self._graph_shown()

    def _graph_shown(self) -> None:
        """The graph is drawn, or the view says why not: the footer fills in, the start is over."""
        self.query_one(_Footer).graph_shown()
        graph_shown = getattr(self.app, "graph_shown", None)  # StepgradApp's; not a test app's
        if graph_shown is not None:
            graph_shown()

    def _follow_now(self) -> None:
        if self.scene is not None:
            self._follow(self.query_one(GraphView))

    def _graph_room(self, share: float | None = None) -> tuple[int, int]:
        """The cells the graph may take: the screen's width, and the most rows it may have
        (``share`` of the rows between the top bar and the footer; by default 60%, 50% on a
        short screen)."""
        total = max(1, self.size.height - 2)  # the top bar and the footer
        if share is None:
            share = 0.5 if self.size.height < SHORT else 0.6
        return max(1, self.size.width - 1), max(1, int(total * share) - 1)

    def _fallback(self, scene: Scene) -> str:
        """The level for a graph no level fits whole: readable, and it pans."""
        return "tiny" if scene.collapsed else "compact"

    def _mode(self) -> str:
        """The zoom level shown: the one chosen with [ and ], else the largest that fits."""
        if self.mode is not None:
            return self.mode
        scene = self.scene
        if scene is None:
            return "full"
        key = (scene, scene.collapsed, self._graph_room())
        if key != self._fitted:
            levels = LEVELS if self.lecture or self.size.width >= ROOMY_WIDTH else LEVELS[1:]
            self._share = None
            if scene.too_large() is not None:
                self._fit_mode = self._fallback(scene)
                self._fits = False
            else:
                mode = scene.fit(*self._graph_room(), levels)
                if mode in (None, "tiny"):  # boxes with data, given a little more of the screen?
                    roomier = scene.fit(*self._graph_room(ROOMIER), levels[:-1])
                    if roomier is not None:
                        mode, self._share = roomier, ROOMIER
                self._fits = mode is not None
                self._fit_mode = mode or self._fallback(scene)
            self._fitted = key
        return self._fit_mode or "full"

    def drawing(self) -> Drawing | None:
        """The drawing shown now: the whole graph, or the focus view around the current node."""
        scene = self.scene
        if scene is None:
            return None
        mode = self._mode()
        center: int | None = None
        if self.focus_mode:
            node = self._focus_node()
            center = scene.ids.get(node) if node is not None else None
        drawing = scene.drawing(mode, center)  # type: ignore[arg-type]
        if center is None and not self.order:
            self.order = [n for column in drawing.layout.layers for n in column]
        return drawing

    def _focus_node(self) -> Value | None:
        walk = self.walk
        if self.selected is not None:
            return self.selected
        if self.fwd is not None:
            return self._forward_node()
        if walk.current is not None:
            return walk.current.node
        return walk.trace.root

    def _state(self) -> tuple[object, ...]:
        """What the graph shows now; equal states give equal views (see :meth:`view`)."""
        walk = self.walk
        collapsed = self.scene.collapsed if self.scene is not None else None
        forward = self.fwd.step if self.fwd is not None else None
        return (walk.pass_.serial, walk.step, walk.cleared, collapsed, forward)

    def view(self) -> View:
        """The drawing's styles for the current state (cached: a few states, by :meth:`_state`)."""
        state = self._state()
        cached = self._views.get(state)
        if cached is None:
            assert self.scene is not None
            if self.fwd is not None:
                from stepgrad.forward_view import forward_view

                cached = forward_view(self.scene, self.fwd)
            else:
                cached = self.scene.view(self.walk)
            if len(self._views) >= 8:
                self._views.pop(next(iter(self._views)))
            self._views[state] = cached
        return cached

    # --- pushing the state down -----------------------------------------------------------------

    def sync(self, *, follow: bool = True) -> None:
        """Push the walkthrough to every widget and refresh the footer's keys."""
        walk = self.walk
        self._sync_loop()
        self.query_one(TopBar).show(self._header())
        # computed once: the screen needs to know whether there is a note before it mounts one
        note_content = note_lines(walk, self.nudged)
        note = self._panel(LessonNote, "lesson-note", bool(note_content))
        if note is not None:
            note.show(note_content)
        panel = self.query_one(StepPanel)
        panel.update_from(walk)
        self.query_one(Narration).update_from(walk, self.notes)
        values = self.query_one(ValuesTable)
        values.update_from(walk, self.selected)
        inspector = self._panel(Inspector, "inspector", self.selected is not None)
        if inspector is not None:
            inspector.display = self.selected is not None
            inspector.update_from(walk, self.selected, self.consumers.get(self.selected, []))  # type: ignore[arg-type]
        graph_view = self.query_one(GraphView)
        drawing = self.drawing()
        self._fit_graph(graph_view, drawing)
        if drawing is not None and self.scene is not None:
            selected = self.scene.shown_ids([self.selected]) if self.selected is not None else []
            selected = selected[0] if selected else None  # type: ignore[assignment]
            graph_view.show(
                drawing,
                self.view(),
                selected,
                self._targets() if follow else None,
                state=self._state() if not self.focus_mode else None,
            )
        # the arrows are read once the view is placed: a drawing that has just come (a large
        # graph's layout) may open where the view already was, and no scroll says it moved
        if self.fwd is not None:
            from stepgrad.widgets.loop_panel import forward_title

            title = forward_title(self.fwd)
        else:
            title = panel.title()
        self.query_one(StepTitle).show(title, graph_view.more())
        self._scroll_values(values)
        if not self._footer_queued:  # once per frame: keys typed ahead recompose it once
            self._footer_queued = True
            self.call_after_refresh(self._refresh_footer)
        if not self._prefetch_queued:
            self._prefetch_queued = True
            self.call_after_refresh(self._prefetch)

    def _fit_graph(self, graph_view: GraphView, drawing: Drawing | None) -> None:
        """The graph takes the rows it needs, up to 60% of the screen (50% when short); the
        panels below get the rest, so a small graph leaves room for the explanation."""
        total = max(1, self.size.height - 2)  # the top bar and the footer
        share = self._share if self._share is not None and self.mode is None else None
        if share is None:
            share = 0.5 if self.size.height < SHORT else 0.6
        cap = int(total * share)
        want = drawing.height + 1 if drawing is not None else cap
        height = max(min(want, cap), min(6, cap))
        if graph_view.styles.height is None or graph_view.styles.height.value != height:
            graph_view.styles.height = height

    def _sync_loop(self) -> None:
        """The whole loop's part of :meth:`sync`: in forward mode the forward panel takes the
        step panel's place and values not computed yet show ``—``; after a gradient step, its
        panel stays above the step panel until the next pass begins."""
        fwd = self.fwd
        hidden = frozenset(fwd.hidden()) if fwd is not None else frozenset()
        self.query_one(ValuesTable).hidden = hidden
        inspector = self._panels.get("inspector")
        if isinstance(inspector, Inspector):
            inspector.hidden = hidden
        # the loop's panels (and their module) only once the loop is used
        forward_panel = self._panels.get("forward-panel")
        if fwd is not None:
            from stepgrad.widgets.loop_panel import ForwardPanel

            forward_panel = self._panel(ForwardPanel, "forward-panel", True)
            forward_panel.update_from(fwd, self.narrating)
        walk = self.walk
        last = self.updates[-1] if self.updates else None
        after_update = (
            last is not None
            and fwd is None
            and walk.step == 0
            and walk.pass_.number == 1
            and not walk.cleared
        )
        update_panel = self._panels.get("update-panel")
        if after_update:
            from stepgrad.widgets.loop_panel import UpdatePanel

            assert last is not None
            update_panel = self._panel(UpdatePanel, "update-panel", True)
            update_panel.update_from(last, walk.program)
        for widget, shown in (
            (forward_panel, fwd is not None),
            (update_panel, after_update),
            (self.query_one(StepPanel), fwd is None),
            (self.query_one(Narration), fwd is None and self.narrating),
        ):
            if widget is not None and widget.display != shown:
                widget.display = shown

    # Hidden at the start, these are mounted when they first show, in this order above the
    # step panel (the inspector above the values): each widget composed at the start costs the
    # first frame about a millisecond (styled twice, mounted, its CSS parsed).
    _LAZY_PANELS: ClassVar[dict[str, str]] = {
        "update-panel": "#steps",
        "forward-panel": "#steps",
        "lesson-note": "#steps",
        "inspector": "#side",
    }
    """Each lazily mounted panel's id and the container it goes in, in their order there."""

    @overload
    def _panel(self, kind: type[_W], widget_id: str, needed: Literal[True]) -> _W: ...
    @overload
    def _panel(self, kind: type[_W], widget_id: str, needed: bool) -> _W | None: ...
    def _panel(self, kind: type[_W], widget_id: str, needed: bool) -> _W | None:
        """The panel ``widget_id`` (a ``kind``): mounted the first time it is ``needed`` (then
        kept, shown or hidden); None while it never was."""
        widget = self._panels.get(widget_id)
        if widget is None:
            if not needed:
                return None
            parent = self._LAZY_PANELS[widget_id]
            widget = kind(id=widget_id)
            widget.display = False  # the caller shows it once it has its content
            later = [i for i, where in self._LAZY_PANELS.items() if where == parent]
            later = later[later.index(widget_id) + 1 :]
            before = next((self._panels[i] for i in later if i in self._panels), None)
            if before is None:  # the first widget that is always there
                before = self.query_one(StepPanel if parent == "#steps" else ValuesTable)
            self.query_one(parent).mount(widget, before=before)
            self._panels[widget_id] = widget
        assert isinstance(widget, kind)
        return widget

    def _refresh_footer(self) -> None:
        """Grey out in the footer what cannot be done now, and show the keys that fit the
        width (only when either changed)."""
        self._footer_queued = False
        if self.laying_out:
            return  # the footer fills itself from the state as it is when the graph is shown
        enabled = tuple(self.check_action(name, ()) for name in _CHECKED)
        width = self.app.size.width  # how many keys fit (see active_bindings)
        if enabled != self._enabled or width != self._footer_width:
            self._enabled = enabled
            self._footer_width = width
            self.refresh_bindings()

    def _prefetch(self) -> None:
        """Once this frame is out, prepare the step the user most likely wants next (the next
        one, or the previous one after stepping back): its view, the graph window it scrolls
        to, the step panel's lines. Stepping then costs about half."""
        self._prefetch_queued = False
        walk = self.walk
        if self.graph is None or walk.cleared or self.focus_mode or self.selected is not None:
            return
        if self.fwd is not None:
            return
        if not self.is_current or self.editing:
            return
        step, note = walk.step, walk.note
        ahead = step + self._direction
        if not 0 <= ahead <= walk.total:
            return
        walk.step = ahead  # look ahead; restored below, nothing else sees it
        try:
            graph_view = self.query_one(GraphView)
            if self.drawing() is graph_view.drawing:
                graph_view.prefetch(self.view(), self._targets(), self._state())
            panel = self.query_one(StepPanel)
            panel.prepare(panel.content_size.width)
            self.query_one(Narration).prefetch(walk, self.notes)
        finally:
            walk.step, walk.note = step, note

    def _follow(self, graph_view: GraphView) -> None:
        graph_view.follow(self._targets())

    def _targets(self) -> list[int]:
        """The boxes the view should show: the selection, the node firing now, its parents."""
        walk = self.walk
        targets: list[Value] = []
        if self.selected is not None:
            targets.append(self.selected)
        if self.fwd is not None:
            node = self._forward_node()
            targets += [node, *node.parents]
            return self.scene.shown_ids(targets) if self.scene is not None else []
        step = walk.current
        if step is not None:
            targets.append(step.node)
            targets += [edge.parent for edge in step.edges]
        elif not walk.cleared:
            targets.append(walk.trace.root)
        return self.scene.shown_ids(targets) if self.scene is not None else []

    def _scroll_values(self, values: ValuesTable) -> None:
        """Keep in view the rows that change now: the node firing and the values it sends to
        (or the selected node)."""
        if not values.display:
            return
        step = self.walk.current
        nodes = [self.selected] if self.selected is not None else []
        if self.fwd is not None:
            node = self._forward_node()
            nodes += [node, *node.parents]
        elif step is not None:
            nodes += [step.node, *(edge.parent for edge in step.edges)]
        values.show_rows(nodes)  # none: lines pinned for the last step go

    def _program_forms(self) -> tuple[str, ...]:
        """The program on one line, longest first: every statement (or, past 6 of them, their
        count), then ``… `` and the last statement, which says what the output is. A number
        the program assigns shows its current value (a nudge, a gradient step change it)."""
        from engine.text import statements as written
        from engine.text import visible

        key = (self.walk.program, tuple(self.values.items()))
        if self._header_source[0] != key:
            source = editable_source(
                self.walk.program, self.values, free=False, number=format_number
            )
            self._header_source = (key, source)
        source = self._header_source[1]
        statements = [visible(code) for code in written(source)]
        if not statements:
            return (self.walk.program.name(self.walk.program.output),)
        last = statements[-1]
        if len(statements) > 6:  # a long program: its last statement says what the output is
            return (f"({len(statements)} statements) … {last}", f"… {last}")
        if len(statements) > 1:
            return ("; ".join(statements), f"… {last}")
        return (last,)

    def _header(self) -> Header:
        """What the top bar shows, and the order in which its parts give way when it is narrow:
        the program text is shortened first; then, stage by stage (the ``ranks``), the status's
        wording; the output value and ``pass N · step k of M`` never give way (see
        :class:`~stepgrad.widgets.topbar.Header`)."""
        walk = self.walk
        pass_ = walk.pass_
        program = walk.program
        if walk.cleared:
            status = Content.assemble(
                (f"pass {pass_.number}", "bold"), " · ", ("grads zeroed", "bold $accent")
            )
        else:
            status = Content.assemble(
                (f"pass {pass_.number}", "bold"), f" · step {walk.step} of {walk.total}"
            )
        extras: list[Extra] = []
        if not walk.cleared:
            state = walk.status
            style = {"done": "bold $success", "in progress": "bold $warning"}.get(state, "bold")
            word = f"✓ {state}" if state == "done" else state
            extras.append(Extra((Content.styled(word, style),), (GIVE_WAY["status word"],)))
            if pass_.accumulates:
                extras.append(
                    Extra(
                        (
                            Content.styled("grads accumulate (no zero_grad)", "$warning"),
                            Content.styled("accumulating", "$warning"),
                        ),
                        (GIVE_WAY["accumulate wording"], GIVE_WAY["accumulating"]),
                    )
                )
            elif pass_.zeroed and pass_.number > 1 or pass_.zeroed and walk.step == 0:
                extras.append(
                    Extra(
                        (
                            Content.styled("grads zeroed before this pass", "$text-muted"),
                            Content.styled("zeroed first", "$text-muted"),
                        ),
                        (GIVE_WAY["zeroed wording"], GIVE_WAY["zeroed first"]),
                    )
                )
        if self.fwd is not None:  # forward mode: the forward pass's own status
            fwd = self.fwd
            status = Content.assemble(
                ("forward", "bold $accent"), f" · step {fwd.step} of {fwd.total}"
            )
            word = (
                ("✓ done", "bold $success")
                if fwd.finished
                else ("in progress", "bold $warning")
                if fwd.step
                else ("not started", "bold")
            )
            extras = [Extra((Content.styled(*word),), (GIVE_WAY["status word"],))]
        if self.playing is not None:
            speed = Content.styled(f"▶ {SPEEDS[self.speed]:g}/s", "bold")
            extras.append(
                Extra((speed, Content.styled("▶", "bold")), (GIVE_WAY["speed"], GIVE_WAY["▶"]))
            )
        if self.focus_mode:
            extras.append(Extra((Content.styled("focus", "reverse"),), (GIVE_WAY["focus"],)))
        bug = lesson.bug_extra(self, (GIVE_WAY["bug wording"], GIVE_WAY["bug"]))
        if bug is not None:
            extras.append(bug)
        if self.predicting:
            extras.append(
                Extra(
                    (
                        Content.styled(f"predict {self.score.text}", "bold reverse"),
                        Content.styled(self.score.text, "bold reverse"),
                    ),
                    (GIVE_WAY["predict wording"], GIVE_WAY["score"]),
                )
            )
        return Header(
            title=Content.styled("stepgrad", "bold $accent"),
            programs=self._program_forms(),
            name=program.name(program.output),
            value=Content.styled(self._output_text(), "bold"),
            status=status,
            extras=tuple(extras),
            title_rank=GIVE_WAY["title"],
            name_rank=GIVE_WAY["program"],
        )

    def _output_text(self) -> str:
        """The output's value for the top bar: ``—`` while forward mode has not computed it."""
        program = self.walk.program
        if self.fwd is not None and not self.fwd.computed(program.output):
            return "—"
        return format_number(program.output.data)

    def _program_line(self) -> Content:
        """The left of the top bar when there is room for all of it."""
        return self._header().left() or Content("")

    def _status_line(self) -> Content:
        """The right of the top bar when there is room for all of it."""
        return self._header().right()

    # --- keys -----------------------------------------------------------------------------------

    @property
    def notes(self) -> Mapping[str, str]:
        """The example's remarks for the narration (by node name, ``start``, ``done``), while
        its inputs hold the values the remarks' numbers are for (not after u or a nudge)."""
        notes: Mapping[str, str] = getattr(self.example, "notes", None) or {}
        if not notes:
            return notes
        written = self._example_values.get(self.example.name)  # type: ignore[union-attr]
        if written is None:
            program = parse(self.example.program)  # type: ignore[union-attr]
            written = {name: v.data for name, v in program.inputs.items()}
            self._example_values[self.example.name] = written  # type: ignore[union-attr]
        inputs = self.walk.program.inputs
        if any(inputs[name].data != data for name, data in written.items() if name in inputs):
            return {}
        return notes

    @property
    def editing(self) -> bool:
        """Whether the program editor is open."""
        return self.editor is not None and bool(self.editor.display)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """True: the key acts now. None: greyed out in the footer (:meth:`why_not` says why, and
        :meth:`refuse` shows it when the key is pressed). False: hidden."""
        if self.editing and action not in ("quit", "help", "screenshot"):
            return False  # hidden from the footer: the editor's keys are shown instead
        return True if self.why_not(action) is None else None

    def why_not(self, action: str) -> str | None:
        """Why ``action`` cannot act now and what to press instead, in one line; None if it can.

        The one place that decides it: the footer greys out exactly these keys
        (:meth:`check_action`) and a press shows this line (:meth:`refuse`), so a key never
        silently does nothing and the footer never offers what a press would refuse.
        """
        walk = self.walk
        if action == "play" and self.playing is not None:
            return None  # p pauses
        if self.fwd is not None or action in ("update", "training", "forward"):
            return self._why_not_loop(action)
        if action == "prev" and self._forward_behind():
            return None  # ← goes back into the forward pass
        if action in ("next", "prev", "home", "end", "play") and walk.cleared:
            return "grads were zeroed: press b to start the next pass"
        if action in ("next", "end", "play") and walk.finished:
            return (
                f"pass {walk.pass_.number} is done: press b for another pass on top of its grads "
                "(z first to start from 0), ← or home to look back"
            )
        if action in ("prev", "home") and walk.step == 0:
            if walk.pass_.number > 1:  # the passes before are over: no step back into them
                start = (
                    "their grads are where this one starts"
                    if walk.pass_.accumulates
                    else "zero_grad set every grad to 0 for this one"
                )
                return (
                    f"already at step 0 of pass {walk.pass_.number}: the passes before it are "
                    f"over, {start}; press → to fire its first node"
                )
            return "already at step 0: press → to fire the first node"
        if action == "play" and self.predicting:
            return "play is off in predict mode: press → to predict the next step (g: mode off)"
        if action == "faster" and self.speed >= len(SPEEDS) - 1:
            return f"already the fastest speed ({SPEEDS[-1]:g} steps per second): - slows down"
        if action == "slower" and self.speed <= 0:
            return f"already the slowest speed ({SPEEDS[0]:g} steps per second): + speeds up"
        if action == "zero_grad" and (walk.cleared or walk.step == 0 and walk.pass_.zeroed):
            then = "b to start the next pass" if walk.cleared else "→ to step through the pass"
            return f"every grad is already 0: press {then}"
        if action == "backward" and not walk.finished:
            if walk.step == 0:
                return "b starts another pass once this one is done: press → or end first"
            return "b starts another pass once this one is done: press end first, or z then b"
        if (
            action
            in (
                "select",
                "focus_mode",
                "compact",
                "zoom",
                "fit",
                "collapse",
                "collapse_all",
                "find",
                "paths",
            )
            and self.scene is None
        ):
            return "the graph is still being laid out: press the key again in a moment"
        if action == "unselect" and self.selected is None:
            return "nothing is selected: tab or a click on a node selects one"
        return lesson.why_not(self, action)

    def _why_not_loop(self, action: str) -> str | None:
        """:meth:`why_not` in forward mode, and for the whole loop's keys (u, t, F)."""
        fwd, walk = self.fwd, self.walk
        if fwd is not None:
            if action in ("prev", "home") and fwd.step == 0:
                return "already at the start of the forward pass: press → to compute a node"
            if action in ("end", "play") and fwd.finished:
                return "the forward pass is done: press → to start the backward pass"
            if action == "play" and self.predicting:
                return "play is off in predict mode: press → to compute the next node"
            if action in ("zero_grad", "backward", "update"):
                return (
                    "grads come from the backward pass, after the forward pass: press → to "
                    "its end and on (F leaves forward mode)"
                )
            if action == "nudge":
                return "a nudge runs the whole forward pass again: F leaves forward mode first"
            if action in ("next", "prev", "home", "end", "play", "forward", "training"):
                return None
            return self._why_not_walk(action)
        if self.bug is not None:
            key = {"forward": "F", "training": "t", "update": "u"}[action]
            return (
                f"{key} is off in bug mode {self.bug}, whose grads are wrong on purpose: "
                "ctrl+p → Why: bug mode off first"
            )
        if action == "forward":
            return None
        if not self._loop_spec().params:
            key = "t" if action == "training" else "u"
            return (
                f"{key} trains the program's parameters, and it has none: every input is "
                "marked fixed, or there is none (e to edit: w = param(0.5))"
            )
        if action == "update":
            if walk.cleared:
                return "every grad is 0 after zero_grad: press b for a backward pass first"
            if not walk.finished:
                return "u steps with the grads of a whole backward pass: press end first"
        return None

    def _why_not_walk(self, action: str) -> str | None:
        """:meth:`why_not` for the keys forward mode leaves as they are (zoom, select...)."""
        fwd, self.fwd = self.fwd, None
        try:
            return self.why_not(action)
        finally:
            self.fwd = fwd

    def refuse(self, action: str, parameters: tuple[object, ...], key: str | None) -> bool:
        """Whether the binding's ``action`` cannot act now; if so, say why in one line.

        Textual does not run an action whose ``check_action`` is falsy: the key would do nothing
        at all. The app asks this when the binding's turn comes
        (:meth:`stepgrad.app.StepgradApp.run_action`), after the keys typed before it have
        acted: keys that arrive in one burst (``end z b end``) are each judged on the state the
        keys before them left, never on the state when the burst arrived. ``key`` is the key
        pressed (None if the action did not come from a key): it names the key in the editor's
        line. The editor's own keys (typing, arrows, esc...) are its bindings, tried before
        ours; a key of ours that reaches here while it is open does nothing in it.
        """
        if self.check_action(action, parameters) is True:
            return False
        if self.editing:
            if key is None:  # the first key bound to it
                key = next(
                    (
                        k
                        for k, a in _KEY_ACTIONS.items()
                        if parse_action(a)[1:] == (action, parameters)
                    ),
                    action,
                )
            shown = self.app.get_key_display(Binding(key, action))
            self.tell(f"{shown} does nothing in the editor: ctrl+s applies, esc cancels")
            return True
        why = self.why_not(action)
        if why is None:
            return False
        self.tell(why)
        return True

    def tell(self, message: str) -> None:
        """Show a one-line notice (the same notice is not stacked while it is still shown)."""
        now = time.monotonic()
        last, at = self._told
        if message == last and now - at < WHY_TIMEOUT:
            return
        self._told = (message, now)
        # One such notice at a time: the newest replaces the last, which would otherwise stack
        # over the step panel (five quick u's covered half of it). It is added at once, not
        # by a message as notify() does: keys in one burst would each find the last notice
        # not yet shown, and so not yet to be taken away.
        app = self.app
        notice = Notification(message, timeout=WHY_TIMEOUT, markup=False)
        try:
            shown = app._notifications
            if self._notice is not None and self._notice in shown:
                app._unnotify(self._notice, refresh=False)
            shown.add(notice)
            app._refresh_notifications()
        except AttributeError:  # a Textual without these: notices stack, as they did
            self.notify(message, timeout=WHY_TIMEOUT, markup=False)
        self._notice = notice

    def _moved(self, changed: bool) -> None:
        if changed:
            self.sync()

    def action_next(self) -> None:
        self._direction = 1
        if self.fwd is not None:
            self._forward_next()
            return
        if self.predicting and self.walk.can("next"):
            self._ask()
            return
        self._moved(self.walk.next())

    def _ask(self) -> None:
        """Predict mode: ask for the grads the next step will give, then reveal it."""
        from .predict import PredictScreen

        walk, key = self.walk, self.walk.key

        def reveal(result: PredictResult | None) -> None:
            if self.walk is not walk or walk.key != key:  # another program or state meanwhile
                return
            self.score.record(result)
            self._moved(self.walk.next())

        # Notices are about the main screen; over the dialog they would cover its buttons
        # (at 60x20 the "predict mode" one hid Skip). The dialog says what to do itself.
        self.app.clear_notifications()
        self._told = ("", 0.0)
        self.app.push_screen(PredictScreen(self.walk, score=self.score), reveal)

    def action_predict(self) -> None:
        self.predicting = not self.predicting
        self._stop()
        self._enabled = ()
        self.sync(follow=False)
        if self.predicting:
            self.notify(
                "Predict mode: → asks for each grad before showing the step (g turns it off).",
                title="predict mode",
                timeout=5,
            )
        else:
            self.notify(f"predict mode off ({self.score.text})", timeout=2)

    def action_prev(self) -> None:
        self._direction = -1
        if self.fwd is not None:
            self._moved(self.fwd.prev())
        elif self._forward_behind():  # back into the forward pass, at its end
            from stepgrad.forward import ForwardWalk

            self.fwd = ForwardWalk(self.walk.program)
            self.fwd.end()
            self._fwd_behind = False
            self.sync()
        else:
            self._moved(self.walk.prev())

    def action_home(self) -> None:
        self._moved(self.fwd.home() if self.fwd is not None else self.walk.home())

    def action_end(self) -> None:
        self._moved(self.fwd.end() if self.fwd is not None else self.walk.end())

    def action_play(self) -> None:
        if self.playing is not None:
            self._stop()
        elif self.fwd is not None and not self.fwd.finished or self.walk.can("play"):
            self.playing = self.set_interval(1 / SPEEDS[self.speed], self._tick, name="play")
        self.sync(follow=False)

    def _stop(self) -> None:
        if self.playing is not None:
            self.playing.stop()
            self.playing = None

    def _tick(self) -> None:
        if self.fwd is not None:  # forward mode: play computes node after node, to the end
            if not self.fwd.next() or self.fwd.finished:
                self._stop()
            self.sync()
            return
        if not self.walk.next():
            self._stop()
        elif self.walk.finished:
            self._stop()
        self.sync()

    def _set_speed(self, speed: int) -> None:
        self.speed = max(0, min(speed, len(SPEEDS) - 1))
        if self.playing is not None:
            self.playing.stop()
            self.playing = self.set_interval(1 / SPEEDS[self.speed], self._tick, name="play")
        self.notify(f"{SPEEDS[self.speed]:g} steps per second", timeout=1.5)
        self.sync(follow=False)

    def action_faster(self) -> None:
        self._set_speed(self.speed + 1)

    def action_slower(self) -> None:
        self._set_speed(self.speed - 1)

    def action_zero_grad(self) -> None:
        self._stop()
        self.walk.zero_grad()
        self.sync()

    def action_backward(self) -> None:
        self._stop()
        try:
            changed = self.walk.backward_again()
        except ProgramError as err:
            self.notify(err.headline(), title="backward failed", severity="error", timeout=8)
            return
        self._moved(changed)

    def action_select(self, direction: int) -> None:
        scene, graph = self.scene, self.graph
        if scene is None or graph is None:
            return
        order = self.order or sorted(graph.nodes)
        order = [n for n in order if graph.nodes[n]["op"] or self._selectable(n)]
        if not order:
            self.tell("no node to select in this graph")
            return
        shown = scene.shown_ids([self.selected]) if self.selected is not None else []
        current = shown[0] if shown else None
        if current in order:
            i = (order.index(current) + direction) % len(order)
        else:
            i = 0 if direction > 0 else len(order) - 1
        self.select(scene.by_id[order[i]])

    def _selectable(self, n: int) -> bool:
        assert self.scene is not None
        value = self.scene.by_id[n]
        return (
            value.requires_grad
            or value.label is not None
            or bool(self.graph is not None and self.graph.nodes[n].get("group"))
        )

    def select(self, node: Value | None) -> None:
        """Select ``node`` for the inspector (None clears the selection)."""
        self.selected = node
        if node is not None and self.side_shown is None and self.size.width < WIDE:
            self.query_one("#side").display = True
        elif node is None:
            self._arrange(self.size.width, self.size.height)
        self.sync()

    def action_unselect(self) -> None:
        self.select(None)

    @on(GraphView.Scrolled)
    def _scrolled(self) -> None:
        title = self.query_one(StepTitle)
        title.show(title.text, self.query_one(GraphView).more())

    @on(GraphView.NodeClicked)
    def _clicked(self, event: GraphView.NodeClicked) -> None:
        if self.scene is not None:
            self.select(self.scene.by_id.get(event.node))

    def action_focus_mode(self) -> None:
        self.focus_mode = not self.focus_mode
        self.sync()

    def action_compact(self) -> None:
        self.mode = "full" if self._mode() == "compact" else "compact"
        self.sync()

    def action_zoom(self, step: int) -> None:
        """``[`` zooms out (smaller boxes), ``]`` zooms in, along :data:`LEVELS`."""
        levels = list(LEVELS)
        at = levels.index(self._mode()) if self._mode() in levels else 1
        to = max(0, min(len(levels) - 1, at + step))
        if to == at:
            edge = "smallest (tiny)" if step > 0 else "largest (lecture)"
            self.tell(f"already the {edge} boxes: {'] zooms in' if step > 0 else '[ zooms out'}")
            return
        self.mode = levels[to]
        self.tell(f"{levels[to]} boxes (0 fits the screen again)")
        self.sync()

    def action_fit(self) -> None:
        self.mode = None
        self._fitted = ()
        mode = self._mode()
        self.sync()
        if self._fits:
            self.tell(f"{mode} boxes: the largest at which the whole graph fits")
        else:  # said "the largest at which the graph fits" beside "more ◀ ▲ ▼"
            self.tell(
                f"no level fits the whole graph on this screen: {mode} boxes around the node "
                "firing now (the arrows in the corner say where more lies)"
            )

    def action_collapse(self) -> None:
        scene = self.scene
        if scene is None:
            return
        node = self._focus_node()
        at = scene.ids.get(node) if node is not None else None
        if not scene.groups:
            self.tell(NO_WEIGHTED_SUMS)
            return
        if at is None or not scene.toggle(at):
            self.tell(
                "the current node is not part of a weighted sum: select one (tab or /), "
                "or X collapses them all"
            )
            return
        self._after_regroup()

    def action_collapse_all(self) -> None:
        scene = self.scene
        if scene is None:
            return
        if not scene.groups:
            self.tell(NO_WEIGHTED_SUMS)
            return
        collapse = len(scene.collapsed) < len(scene.groups)
        scene.set_all(collapse)
        count = len(scene.groups)
        self.tell(
            f"{plural(count, 'weighted sum')} {'collapsed' if collapse else 'expanded'} "
            f"(x collapses or expands just the one the current node is in)"
        )
        self._after_regroup()

    def _after_regroup(self) -> None:
        self.order = []
        self._fitted = ()
        self.sync()

    def action_find(self) -> None:
        from .find import FindScreen

        scene = self.scene
        if scene is None:
            return

        def found(value: Value | None) -> None:
            if value is not None and self.scene is scene:
                self.go_to(value)

        self.app.push_screen(FindScreen(scene), found)

    def go_to(self, value: Value) -> None:
        """Centre ``value``'s node, select it and inspect it (a node inside a collapsed sum
        opens the sum first)."""
        scene = self.scene
        if scene is None:
            return
        node = scene.ids.get(value)
        group = scene.group_of.get(node) if node is not None else None
        if group is not None and group.root in scene.collapsed and node != group.root:
            scene.toggle(node)
            self._after_regroup()
        self.select(value)
        # centred on the node, not led toward the node firing (as following a step is): the
        # view places it again once its size is settled (see GraphView.centre)
        shown = scene.shown_ids([value])
        if shown and self.scene is scene:
            self.query_one(GraphView).centre(shown[0])

    def action_toggle_values(self) -> None:
        side = self.query_one("#side")
        self.side_shown = not side.display
        side.display = self.side_shown
        self.sync(follow=False)

    def action_pan(self, dx: int, dy: int) -> None:
        graph_view = self.query_one(GraphView)
        before = graph_view.scroll_offset
        graph_view.pan(dx, dy)
        if graph_view.scroll_offset != before:
            return
        if graph_view.max_scroll_x == 0 and graph_view.max_scroll_y == 0:
            self.tell("the whole graph is in view: nothing to pan")
        else:
            side = "left" if dx < 0 else "right" if dx > 0 else "top" if dy < 0 else "bottom"
            self.tell(f"already at the {side} edge of the graph")

    async def action_edit(self) -> None:
        from stepgrad.widgets.editor import ProgramEditor

        self._stop()
        if self.editor is None:  # made on first use: startup does not pay for it
            self.editor = ProgramEditor(id="editor")
            await self.mount(self.editor, before=self.query_one("#lower"))
        self.query_one("#lower").display = False
        await self.editor.open(self.source)
        self._enabled = ()
        self.sync(follow=False)

    def _close_editor(self) -> None:
        if self.editor is not None:
            self.editor.close()
        self.query_one("#lower").display = True
        self._enabled = ()

    def on_program_editor_cancelled(self) -> None:
        self._close_editor()
        self.sync(follow=False)

    def on_program_editor_submitted(self, event: Any) -> None:
        assert self.editor is not None
        try:
            self.load(event.text)
        except ProgramError as err:
            self.editor.show_error(err)
            return
        self._close_editor()
        self.sync()
        self.notify("program loaded: pass 1, step 0", timeout=2)

    def open_example(self, example: Example) -> None:
        """Switch to a built-in example (from the command palette)."""
        if self.editing:
            self._close_editor()
        self.load(example.program)
        self.example = example
        self.sync()
        self.notify(example.description, title=f"example {example.name}", timeout=4)

    def action_narration(self) -> None:
        self.narrating = not self.narrating
        narration = self.query_one(Narration)
        narration.display = self.narrating
        self.sync(follow=False)
        self.notify("narration shown" if self.narrating else "narration hidden", timeout=1.5)

    def action_nudge(self, direction: int) -> None:
        self._stop()
        lesson.do_nudge(self, direction)

    def action_nudge_size(self) -> None:
        lesson.change_h(self)

    def action_paths(self) -> None:
        lesson.open_paths(self)

    def set_bug(self, bug: str | None) -> None:
        """Turn a bug mode on or off (the command palette): the program starts over."""
        self._stop()
        lesson.apply_bug(self, bug)

    # --- the whole loop: forward mode, a gradient step, training -------------------------------

    def _forward_node(self) -> Value:
        """The node forward mode looks at: the one computed now, else the first to compute."""
        fwd = self.fwd
        assert fwd is not None
        if fwd.current is not None:
            return fwd.current.node
        return fwd.steps[0].node if fwd.steps else self.walk.program.output

    def _forward_behind(self) -> bool:
        """Whether ← at this backward step 0 goes back to the end of the forward pass."""
        walk = self.walk
        return (
            self._fwd_behind
            and self.fwd is None
            and walk.step == 0
            and walk.pass_.number == 1
            and not walk.pass_.zeroed
            and not walk.cleared
        )

    def _forward_next(self) -> None:
        """→ in forward mode: compute the next node; past the last, start the backward pass."""
        fwd = self.fwd
        assert fwd is not None
        if fwd.finished:
            self._stop()
            self.fwd = None
            self._fwd_behind = True
            self.sync()
            return
        self._moved(fwd.next())

    def action_forward(self) -> None:
        """F: step through the forward pass first (the backward pass starts over after it);
        F again: back to the backward pass."""
        self._stop()
        if self.fwd is not None:
            self.fwd = None
            self.tell("forward mode off: the backward pass")
            self.sync()
            return
        walk = self.walk
        left = ""
        if walk.step or walk.cleared or walk.pass_.number > 1 or walk.pass_.zeroed:
            if walk.step or walk.pass_.number > 1:  # say what is given up, not only do it
                left = (
                    f"; the backward pass you were in (pass {walk.pass_.number}, step "
                    f"{walk.step} of {walk.total}) starts over after it"
                )
            walk.program.zero_grad()  # the forward pass comes first: a fresh backward pass after
            self.walk = Walkthrough(walk.program)
        from stepgrad.forward import ForwardWalk

        self.fwd = ForwardWalk(self.walk.program)
        self._fwd_behind = False
        self.tell(
            f"forward pass: → computes one node at a time ({plural(self.fwd.total, 'step')}), "
            f"then the backward pass begins (F: leave forward mode){left}"
        )
        self.sync()

    def _loop_spec(self) -> Training:
        """What u and t run: the user's choices (kept while they fit the program), else the
        example's, else the program's marks and the defaults."""
        from stepgrad.training import training_for

        program = self.walk.program
        options = dict(self.loop_options)
        params = options.get("params")
        if params is not None and not all(name in program.inputs for name in params):
            options.pop("params")
        return training_for(program, self.example, **options)

    def action_update(self) -> None:
        """u: ``p.data -= lr * p.grad`` with the grads of the finished pass, then the forward
        pass again; the backward pass starts over at the new values."""
        from stepgrad.forward import recompute
        from stepgrad.training import gradient_step

        self._stop()
        walk = self.walk
        program = walk.program
        spec = self._loop_spec()
        grads = walk.grads()
        grad = {name: grads.get(program.inputs[name], 0.0) for name in spec.params}
        own = {name: walk.trace.grads.get(program.inputs[name], 0.0) for name in spec.params}
        try:
            step = gradient_step(
                program,
                spec.params,
                grad,
                own,
                spec.lr,
                number=len(self.updates) + 1,
                passes=walk.pass_.stack,
            )
        except ProgramError as err:
            self.notify(err.headline(), title="gradient step refused", severity="error", timeout=8)
            return
        program.zero_grad()
        try:
            new = Walkthrough(program)
        except ProgramError as err:  # the new grads are not finite: back to where we were
            for name in step.params:
                program.inputs[name].data = step.before[name]
            recompute(program)
            program.zero_grad()
            self.walk = Walkthrough(program)
            self.notify(err.headline(), title="gradient step undone", severity="error", timeout=8)
            self._prepare_graph()
            return
        self.updates.append(step)
        self.walk = new
        self._fwd_behind = False
        self.nudged = None  # measured at the old values, with the old grad: not true any more
        for name in step.params:  # the editor and t start from the new values (a₂ too)
            self.values[name] = step.after[name]
        self.source = editable_source(program, self.values)
        self._prepare_graph()  # new data: boxes may need other widths
        out = program.name(program.output)
        self.tell(
            f"gradient step {step.number}: {out} {format_number(step.loss_before)} → "
            f"{format_number(step.loss_after)} (first-order prediction "
            f"{format_number(step.predicted)})"
        )

    def action_training(self) -> None:
        from .training import TrainingScreen

        walk = self.walk

        def chosen(spec: Training | None) -> None:
            if spec is not None and self.walk is walk:
                self.loop_options = {"params": spec.params, "lr": spec.lr, "steps": spec.steps}
                self.sync(follow=False)

        screen = TrainingScreen(walk.program.source, self.values, self._loop_spec())
        self.app.push_screen(screen, chosen)

    def load(self, text: str, values: dict[str, float] | None = None) -> None:
        """Replace the program (raises ProgramError and changes nothing if it is invalid)."""
        program = parse(text, values)
        walk = lesson.walkthrough(program, self.bug)
        self._stop()
        self.nudged = None
        self.example = None  # an edited program is the user's own
        self.walk = walk
        self.values = dict(values or {})
        self.source = editable_source(program, self.values)
        self.selected = None
        self.focus_mode = False
        self.fwd = None  # the whole loop starts over with a new program
        self._fwd_behind = False
        self.updates = []
        self._prepare_graph()

    def action_help(self) -> None:
        from .help import HelpScreen

        palette = Binding(
            "ctrl+p", "app.command_palette", "Palette", key_display="^p",
            tooltip="Command palette: open another example, change the theme, …",
        )  # fmt: skip
        self.app.push_screen(HelpScreen([*self.BINDINGS, palette]))

    def action_screenshot(self) -> None:
        path = self.screenshot_dir or os.getcwd()
        walk = self.walk
        name = f"stepgrad-pass{walk.pass_.number}-step{walk.step}.svg"
        try:
            saved = self.app.save_screenshot(filename=name, path=path)
        except OSError as err:
            self.notify(f"could not save the screenshot: {err}", severity="error")
            return
        self.notify(f"saved {saved}", title="screenshot", timeout=4)

    async def action_quit(self) -> None:
        self._stop()
        self.app.exit()


_KEY_ACTIONS: dict[str, str] = {
    binding.key: binding.action for binding in Binding.make_bindings(MainScreen.BINDINGS)
}
"""Each key of the main screen and the action it is bound to (``right`` → ``next``)."""
_FIRST_KEYS = {
    binding.key.split(",")[0].strip()
    for binding in MainScreen.BINDINGS
    if isinstance(binding, Binding)
}
"""The first key of each binding: the one its ``key_display`` shows."""
