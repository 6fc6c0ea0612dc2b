"""The stepgrad app: step through the backward pass of a program, one node at a time.

``create_app(source, values)`` is the one way to build it, for the CLI and the tests alike::

    from stepgrad.app import create_app
    create_app("(x*x + 1)/(y*y - 1)", {"x": 8, "y": 3}).run()

The app does not die of a bug in a handler, ours or a Textual widget's. Textual ends the app on
any exception that reaches its message loop; :class:`StepgradApp` catches it first, where the
loop can safely go on, and says so in one notification line ("something went wrong: …; your
program is unchanged"):

- every key binding's action, of any widget (:meth:`StepgradApp.run_action`);
- every message and event handler of every widget (Textual's ``MessagePump._on_message``,
  wrapped below for StepgradApp only; Textual would also stop the widget's message loop);
- callbacks (``call_later``, ``call_after_refresh``), timer ticks and failed workers
  (:meth:`StepgradApp._handle_exception`).

What stays fatal: an error while starting (loading, composing), while drawing a frame (it would
come back every frame behind a frozen screen), or anywhere else Textual does not go on after.
Then the terminal gets one line naming a crash report with the traceback and the user's work.
Known upstream bugs are worked around where they start: :mod:`.widgets.safe_text_area` (undo
and redo), :mod:`.widgets.safe_palette` (keys that arrive together).

In a terminal the app runs on :class:`TerminalDriver` (Textual's own, with three repairs): a
terminating signal (``kill``, a closed terminal) ends the app as ``q`` does, the terminal
restored, with the exit code 128 + the signal; a byte that is not UTF-8 is read as ``�``
instead of killing the thread that reads the keys; and the layout thread of a graph nobody
will see is not waited for once the app has ended. A screen always lays itself out at the
terminal's size (:func:`_at_terminal_size`): Textual's stale resize events could chase each
other forever.
"""

from __future__ import annotations

import codecs
import functools
import gc
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from textual import events
from textual._context import active_app
from textual.actions import parse as parse_action
from textual.app import App
from textual.message_pump import MessagePump
from textual.screen import Screen
from textual.theme import Theme
from textual.worker import WorkerFailed

from engine.parse import ProgramError, parse

from .screens.main import MainScreen

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from textual.dom import DOMNode
    from textual.driver import Driver
    from textual.message import Message

    from engine.parse import Program

    from .examples import Example
    from .state import Walkthrough

__all__ = ["LECTURE_THEME", "THEMES", "StepgradApp", "create_app", "run_app"]

PALETTE_NODES = 2000
"""The palette lists the graph's nodes up to this many (``/`` finds among any number)."""
LECTURE_THEME = "stepgrad-lecture"
THEMES: dict[str, Theme] = {
    LECTURE_THEME: Theme(
        name=LECTURE_THEME,
        primary="#ffffff",
        secondary="#bbbbbb",
        accent="#00e5ff",
        warning="#ffd400",
        error="#ff5f5f",
        success="#3dff7a",
        foreground="#ffffff",
        background="#000000",
        surface="#000000",
        panel="#202020",
        dark=True,
        variables={
            "text-muted": "#d0d0d0",
            "foreground-muted": "#d0d0d0",
            "footer-key-foreground": "#00e5ff",
        },
    ),
}
"""Our own themes, beside Textual's: a high-contrast black and white one for projectors."""


_TEXT_FIELDS = frozenset({"Input", "TextArea"})
"""Widgets that take typed keys as text: a key of a burst that reached the screen before one
of them took the focus goes to it (see :meth:`StepgradApp._on_key`)."""


class StepgradApp(App[None]):
    """The stepgrad TUI; see :class:`~stepgrad.screens.main.MainScreen` for the keys."""

    CSS_PATH = "stepgrad.tcss"
    TITLE = "stepgrad"
    COMMAND_PALETTE_BINDING = "ctrl+p"

    cursor_blink = True
    """Whether the editor's cursor blinks (tests and screenshots turn it off, for stable frames)."""
    contain_errors = True
    """Whether an exception raised by a handler, an action or a callback, ours or a Textual
    widget's, is shown in one notification line instead of ending the app (see :meth:`contain`)."""

    def __init__(
        self,
        program: Program,
        values: dict[str, float] | None = None,
        *,
        title: str | None = None,
        lazy_graph: bool = True,
        example: Example | None = None,
        lecture: bool = False,
        narration: bool | None = None,
        predict: bool = False,
        forward: bool = False,
        train: bool = False,
        loop: Mapping[str, Any] | None = None,
        bug: str | None = None,
    ) -> None:
        super().__init__()
        self.collector = StartupCollector()
        self.contained: list[BaseException] = []
        """Every error contained so far, oldest first (tests check it stays empty)."""
        self._settled: tuple[object, str] | None = None
        self._fatal: BaseException | None = None
        self._last_notice: tuple[str, float] = ("", 0.0)
        self._key: str | None = None
        """The key whose bindings are being tried (:meth:`_check_bindings`), else None."""
        for theme in THEMES.values():
            self.register_theme(theme)
        self.main = MainScreen(
            program,
            values,
            lazy=lazy_graph,
            example=example,
            lecture=lecture,
            narration=not lecture if narration is None else narration,
            predict=predict,
            forward=forward,
            train=train,
            loop=loop,
            bug=bug,
        )
        if title:
            self.title = title

    @property
    def current_theme(self) -> Theme:
        """The theme in use: Textual's property, without its copy of every registered theme.

        Textual asks for it several times per line it draws (every widget, every frame) and
        looks the name up in a fresh copy of all themes each time; a step on the MLP drew
        about 80 lines. A name Textual would resolve otherwise (a comma-separated list of
        fallbacks) still goes to Textual's own lookup."""
        theme = getattr(self, "_registered_themes", {}).get(self.theme)
        return theme if theme is not None else super().current_theme

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver for this platform; in a terminal on Linux and macOS, ours
        (:class:`TerminalDriver`: Textual's with the repairs it names)."""
        driver = super().get_driver_class()
        if TerminalDriver is not None and driver is TerminalDriver.__bases__[0]:
            return TerminalDriver
        return driver

    def get_system_commands(self, screen):  # type: ignore[no-untyped-def]
        """The palette (ctrl+p): every built-in example, then Textual's own commands."""
        from textual.app import SystemCommand

        from .examples import EXAMPLES

        for example in EXAMPLES.values():
            yield SystemCommand(
                f"Example: {example.name}",
                example.description,
                lambda example=example: self.guarded(self.main.open_example, example),
            )
        scene = self.main.scene if self.main.is_mounted else None
        if scene is not None:
            yield SystemCommand(
                "Find a node…", "search the graph by name (also /)", self.main.action_find
            )
            named = [v for v in scene.by_id.values() if v.label is not None or v.parents]
            for value in named[:PALETTE_NODES]:
                yield SystemCommand(
                    f"Node: {scene.names[value]}",
                    "centre it, select it and inspect it",
                    lambda value=value: self.guarded(self.main.go_to, value),
                )
        from .lesson.bugs import BUGS

        for bug in BUGS.values():  # why the rules exist: the backward pass with one broken
            yield SystemCommand(
                f"Why: bug mode {bug.name}",
                bug.summary,
                lambda name=bug.name: self.guarded(self.main.set_bug, name),
            )
        yield SystemCommand(
            "Why: bug mode off",
            "the correct backward pass",
            lambda: self.guarded(self.main.set_bug, None),
        )
        yield from super().get_system_commands(screen)

    # --- the command palette: ours, safe against keys that arrive together ------------------
    # Textual opens its palette in these three places; each opens ours instead (same arguments).

    def action_command_palette(self) -> None:
        from textual.command import CommandPalette

        from .widgets.safe_palette import SafePalette

        if self.use_command_palette and not CommandPalette.is_open(self):  # type: ignore[arg-type]
            # No fixed id (Textual gives "--command-palette"): a palette closed just before is
            # still registered until it is removed, and ctrl+p typed right after its escape
            # would open a second one with the same id (DuplicateIds; found by the monkey test).
            self.push_screen(SafePalette())

    def search_themes(self) -> None:
        from textual.theme import ThemeProvider

        from .widgets.safe_palette import SafePalette

        self.push_screen(SafePalette(providers=[ThemeProvider], placeholder="Search for themes…"))

    def search_commands(self, commands: Any, placeholder: str = "Search for commands…") -> Any:
        from textual.command import SimpleProvider

        from .widgets.safe_palette import SafePalette

        provider = SimpleProvider(self.screen, commands)  # an instance, as Textual passes it
        return self.push_screen(
            SafePalette(providers=[provider], placeholder=placeholder)  # type: ignore[list-item]
        )

    # --- containment: an exception in a handler is one notification line, not a crash --------

    def _work(self) -> tuple[object, str] | None:
        """What "the user's program" is now: the loaded program and its source."""
        main = getattr(self, "main", None)
        walk = getattr(main, "walk", None)
        if walk is None:
            return None
        return (walk.program, getattr(main, "source", ""))

    @staticmethod
    def _same(a: tuple[object, str] | None, b: tuple[object, str] | None) -> bool:
        return a is not None and b is not None and a[0] is b[0] and a[1] == b[1]

    def contain(self, error: BaseException, before: tuple[object, str] | None = None) -> None:
        """Say in one notification line that ``error`` happened, and keep running.

        ``before`` is the user's program when the failed handler started (default: as it was
        after the last handler that succeeded); the line says whether it is still the same.
        The traceback goes to Textual's log (``textual console``), never to the screen.
        """
        from rich.markup import escape

        self.contained.append(error)
        self.log.error("contained", repr(error), error.__traceback__)
        before = before if before is not None else self._settled
        detail = describe(error)
        after = self._work()
        if self._same(before, after):
            outcome = "your program is unchanged"
        else:
            outcome = "the program was replaced: check it"
        self._settled = after
        line = f"something went wrong: {detail}; {outcome}"
        now = time.monotonic()
        if self._last_notice[0] == line and now - self._last_notice[1] < 5:
            return  # the same failure again (a timer, a key held down): one line is enough
        self._last_notice = (line, now)
        self.notify(escape(line), severity="error", timeout=8)

    def guarded(self, call: Callable[..., object], *args: object) -> None:
        """Run ``call(*args)`` (a callback of ours), containing what it raises."""
        before = self._work()
        try:
            call(*args)
        except Exception as error:
            if not self.contain_errors or _drawing(error):
                raise
            self.contain(error, before)
        else:
            self._settled = self._work()

    async def run_action(
        self,
        action: Any,
        default_namespace: DOMNode | None = None,
        namespaces: Mapping[str, DOMNode] | None = None,
    ) -> bool:
        """Every key binding's action, of any widget, comes here (in the app's own task, so the
        widget that owns the binding is not harmed when the action raises).

        A binding of the main screen that cannot act now answers with the line that says why
        (:meth:`MainScreen.refuse`) and counts as handled. It is judged here, at its turn, and
        not when the key first reaches the screen: the keys of one burst reach it all before
        the first one acts (Textual forwards each key to the screen, which passes it up to the
        app, where its binding runs), so a key judged there is judged on a stale state."""
        before = self._work()
        try:
            if self._refused(action, default_namespace, namespaces):
                return True
            if _page_before_layout(action, default_namespace):
                return True
            done = await super().run_action(action, default_namespace, namespaces)
        except Exception as error:
            if not self.contain_errors or _drawing(error):
                raise
            self.contain(error, before)
            return True
        self._settled = self._work()
        return done

    def _refused(
        self,
        action: Any,
        default_namespace: DOMNode | None,
        namespaces: Mapping[str, DOMNode] | None,
    ) -> bool:
        """Whether ``action`` is a main-screen binding that cannot act now (its notice shown)."""
        main = getattr(self, "main", None)
        if main is None or default_namespace is not main:
            return False
        destination, name, parameters = (
            action if isinstance(action, tuple) else parse_action(action)
        )
        if destination and (namespaces is None or namespaces.get(destination) is not main):
            return False  # an action of another namespace (``app.…``)
        return main.refuse(name, parameters, self._key)

    async def _check_bindings(self, key: str, priority: bool = False) -> bool:
        """Textual tries the bindings of ``key``, calling :meth:`run_action` for each in turn;
        meanwhile :attr:`_key` is that key (it names the key in a notice)."""
        outer, self._key = self._key, key
        try:
            return await super()._check_bindings(key, priority)
        finally:
            self._key = outer

    async def on_event(self, event: events.Event) -> None:
        """Each key is sent to the screen on top when it arrives, and its bindings run when it
        comes back up unused: so in ``/ y 2 enter`` typed in one burst (a lecturer typing
        fast, tmux send-keys), ``y 2 enter`` had reached the main screen before ``/`` opened
        the find box, and were lost. A key remembers the screen it was sent to (see
        :meth:`_on_key`)."""
        if isinstance(event, events.Key) and not event.is_forwarded:
            event._stepgrad_screen = self.screen  # type: ignore[attr-defined]
            event._stepgrad_focus = self.focused  # type: ignore[attr-defined]
        await super().on_event(event)

    async def _on_key(self, event: events.Key) -> None:
        """A key that came back unused from a screen no longer on top (a box opened by an
        earlier key of the same burst), or from before a text field took the focus (``e``
        opens the editor in the main screen: ``e q`` in one burst quit the app), goes to what
        has the focus now, as if typed there. Textual runs every class's ``_on_key`` in turn:
        this one must not call super (each key would act twice); ``prevent_default`` stops
        App's own bindings for it."""
        routed = getattr(event, "_stepgrad_screen", None)
        if routed is None:
            return
        screen, focus = self.screen, self.focused
        moved = routed is not screen and routed in self.screen_stack
        typing = (
            focus is not None
            and focus is not getattr(event, "_stepgrad_focus", None)
            and any(c.__name__ in _TEXT_FIELDS for c in type(focus).__mro__)
        )
        if moved or typing:
            event.prevent_default()
            again = events.Key(event.key, event.character)
            again._stepgrad_screen = screen  # type: ignore[attr-defined]
            again._stepgrad_focus = focus  # type: ignore[attr-defined]
            (focus or screen)._forward_event(again)

    def _handle_exception(self, error: Exception) -> None:
        """Textual calls this for an exception nothing else caught, and then exits the app.

        Handlers and actions are contained before they get here (:func:`_on_message`,
        :meth:`run_action`). What still arrives is contained only where Textual goes on
        normally after it: a callback (``call_later``, ``call_after_refresh``), a timer's tick,
        a worker that failed. Everything else stays fatal: an error while starting (compose,
        mount, CSS), while drawing a frame, or one that stopped a widget's message loop (a
        widget that no longer handles anything must not be left on screen as if it worked).
        """
        if self.contain_errors and not self._exit and _carries_on(error):
            self.contain(error.error if isinstance(error, WorkerFailed) else error)
            return
        if self._fatal is None:
            self._fatal = error
        super()._handle_exception(error)

    def _fatal_error(self) -> None:
        """The app ends on an error it cannot go on from. Instead of Textual's traceback on the
        terminal, one line says what happened and where the details are: a crash report with
        the traceback and the user's work (the program, and the editor's text if it was open),
        so nothing typed is lost."""
        from rich.text import Text

        error = self._fatal
        if error is None or not self.contain_errors:
            super()._fatal_error()
            return
        self.bell()
        path = self.save_crash_report(error)
        detail = describe(error)
        where = (
            f"your program and the details are in {path}" if path else "no report could be saved"
        )
        self.panic(Text(f"stepgrad: internal error ({detail}); {where}"))

    def save_crash_report(self, error: BaseException) -> str | None:
        """Write the traceback of ``error`` and the user's work to a file in the temporary
        directory; return its path (None if it cannot be written)."""
        import tempfile
        import traceback

        main = getattr(self, "main", None)
        parts = ["stepgrad crash report", "", "".join(traceback.format_exception(error))]
        source = getattr(main, "source", None)
        if source is not None:
            parts += ["--- the program loaded ---", source, ""]
        editor = getattr(main, "editor", None)
        try:
            if editor is not None and editor.display:
                parts += ["--- the editor's text (not applied) ---", editor.text, ""]
        except Exception:  # the editor may be half gone: the program above is still saved
            pass
        try:
            with tempfile.NamedTemporaryFile(
                "w", prefix="stepgrad-crash-", suffix=".txt", delete=False, encoding="utf-8"
            ) as report:
                report.write("\n".join(parts))
        except OSError:
            return None
        return report.name

    def get_default_screen(self) -> MainScreen:
        return self.main

    def on_load(self) -> None:
        """The app starts: the collector waits until the graph is on screen (see
        :class:`StartupCollector`)."""
        self.collector.start()

    def on_ready(self) -> None:
        """The first frame is out: lay the graph out now (see ``MainScreen._prepare_graph``)."""
        self.set_timer(STARTUP_GC_LIMIT, self.collector.finish)
        self.main.first_frame_out()

    def graph_shown(self) -> None:
        """The main screen drew its graph (or said why it cannot): the start is over."""
        self.call_after_refresh(self.collector.finish)  # once that frame is out

    def on_unmount(self) -> None:
        self.collector.finish()

    @property
    def walk(self) -> Walkthrough:
        """Where the walkthrough stands (the main screen's single source of truth)."""
        return self.main.walk


class StartupCollector:
    """Keeps Python's garbage collector out of the app's way while it starts.

    From the start (Textual's Load event) until the graph is on screen nearly every object made
    stays alive: widgets, styles, the program, and the whole of networkx, imported on the way
    to the first graph. The collector's rounds over them then find nearly nothing to free, and
    they cost the first frame about 3 ms and the graph another 10 (one of them walks every
    object in the process). So the collector is off until the graph is shown (or
    :data:`STARTUP_GC_LIMIT` seconds after the first frame, for a graph that takes long to lay
    out), and then the objects made meanwhile go straight to its oldest generation
    (``gc.freeze()`` then ``gc.unfreeze()``, which moves them without looking at them), where
    they would have ended up: nothing is left out of collection, and what is garbage among them
    goes at the next full collection. A collector that was off stays off; one with objects
    frozen already (``stepgrad.show`` in someone's script) is only turned back on.
    """

    def __init__(self) -> None:
        self._paused = self._over = False
        self._promote = False

    def start(self) -> None:
        if gc.isenabled() and not self._over:
            gc.disable()
            self._paused = True
            self._promote = gc.get_freeze_count() == 0

    def finish(self) -> None:
        """The collector as before the start (safe to call more than once)."""
        self._over = True
        if not self._paused:
            return
        if self._promote and gc.get_freeze_count() == 0:
            gc.freeze()  # every tracked object, into the permanent generation...
            gc.unfreeze()  # ... and from there into the oldest one
        gc.enable()
        self._paused = False


STARTUP_GC_LIMIT = 1.0
"""Seconds after the first frame at most that the collector stays off (see StartupCollector)."""


def _page_before_layout(action: Any, target: DOMNode | None) -> bool:
    """Whether ``action`` is a page move on a list that is not laid out yet (then it is skipped:
    nothing is shown to page through).

    Textual 8.2.8's ``OptionList`` counts its lines only once it has a size, and its page keys
    look the highlighted option's line up in that count: ``KeyError: 0`` a moment after the
    list appears (the same upstream bug :mod:`.widgets.safe_palette` works around in the
    palette). Keys typed ahead reach a list in that moment: ``/ x shift+tab pageup`` in one
    burst, the find screen's matches just shown by the x.
    """
    from textual.widgets import OptionList

    if not isinstance(target, OptionList):
        return False
    destination, name, _ = action if isinstance(action, tuple) else parse_action(action)
    return (
        not destination
        and name in ("page_up", "page_down")
        and not target.scrollable_content_region
    )


def describe(error: BaseException) -> str:
    """``Type: first line of the message``, at most 90 characters, for one line on screen."""
    text = str(error).strip()
    detail = f"{type(error).__name__}: {text.splitlines()[0]}" if text else type(error).__name__
    return detail if len(detail) <= 90 else detail[:89] + "…"


_CARRY_ON = {("textual.message_pump", "_flush_next_callbacks"), ("textual.timer", "_tick")}
"""Where Textual catches an exception and then goes on as usual (module, function)."""


def _carries_on(error: BaseException) -> bool:
    """Whether Textual caught ``error`` at a place after which it goes on normally."""
    if isinstance(error, WorkerFailed):
        return True
    tb = error.__traceback__
    if tb is None or _drawing(error):
        return False
    frame = tb.tb_frame  # the first entry is the frame that caught it
    return (frame.f_globals.get("__name__"), frame.f_code.co_name) in _CARRY_ON


def _drawing(error: BaseException) -> bool:
    """Whether ``error`` was raised while laying out or drawing a frame. Such an error comes
    back with every frame, and the screen would stay frozen behind the notification, so it
    stays fatal."""
    tb = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_globals.get("__name__") == "textual._compositor":
            return True
        tb = tb.tb_next
    return False


_STARTING = (events.Load, events.Compose)
"""Loading the app and composing a widget: an error there stays fatal (there is nothing to go
on with). A widget's ``on_mount`` is contained once the app has started (the main screen is
mounted): the widget is composed and shown, only what its mount handler had left to do is not
done (a modal screen closed by a key typed ahead while it was mounting, say)."""
_on_message = MessagePump._on_message


async def _contained_on_message(self: MessagePump, message: Message) -> None:
    """Every message and event handler of every widget runs through here (Textual's
    ``MessagePump._on_message``): in a :class:`StepgradApp` an exception is contained, so the
    widget's message loop goes on (Textual would end it, and the app with it). A screen's
    resize is first brought to the terminal's size (:func:`_at_terminal_size`)."""
    app = active_app.get(None)
    if isinstance(message, events.Resize) and isinstance(self, Screen):
        _at_terminal_size(message, app)
    if (
        not isinstance(app, StepgradApp)
        or not app.contain_errors
        or app._exit
        or isinstance(message, _STARTING)
        or not app.main.is_mounted
    ):
        await _on_message(self, message)
        return
    before = app._work()
    try:
        await _on_message(self, message)
    except Exception as error:
        if _drawing(error):
            raise
        app.contain(error, before)
    else:
        app._settled = app._work()


MessagePump._on_message = _contained_on_message  # type: ignore[method-assign]


def _at_terminal_size(event: events.Resize, app: object) -> None:
    """A screen's resize event says the terminal's size now, not when it was sent.

    A screen is always as large as the terminal. Textual 8.2.8 lays a screen out at the size
    its resize event carries, and a screen whose size changed sends itself a resize event
    (its compositor sees it resized); the screen under a dialog is laid out with the dialog's
    events too. So two resizes sent before the screen handled the first (a terminal resized
    twice within a few milliseconds, while the predict dialog was opening) became two events
    that each laid the screens out at their own size, which sent each of them again: the app
    drew at 120 and 40 columns in turn, forever, used a whole processor and answered no key.
    (Textual merges resize events that wait next to each other; any message between them
    keeps them apart: a mouse move, or the callback the predict dialog asks for on every
    resize.) At the terminal's size a late event changes nothing, sends nothing, and the
    screens settle.
    """
    if isinstance(app, StepgradApp) and not app.is_inline and event.size != app.size:
        event.size = app.size


TERMINATING_SIGNALS = (
    "SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGVTALRM",
    "SIGPROF", "SIGXCPU", "SIGXFSZ",
)  # fmt: skip
"""Signals that end the app as ``q`` does, with the exit code 128 + the signal's number: the
terminal closed, ``kill -INT`` (ctrl+c itself is a key in the app), ``kill -QUIT``, ``kill``,
and every other signal whose default is to end the process (``kill -USR1``, an alarm, a CPU
or file-size limit): each would otherwise leave the terminal raw, on the alternate screen."""


class _Unjoined(ThreadPoolExecutor):
    """The event loop's default executor (where thread workers run) while the app runs in a
    terminal. When the app has ended, ``asyncio.run`` shuts the executor down and waited for
    each of its threads: after ``q`` during a large graph's layout the screen was cleared at
    once and the prompt came back only when the layout was done, seconds later, for a graph
    nobody would see. Its threads are not waited for: the CLI then leaves at once (os._exit);
    in a longer-lived process they finish on their own."""

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        super().shutdown(wait=False, cancel_futures=True)


def _lenient_decoder(encoding: str) -> Callable[..., codecs.IncrementalDecoder]:
    """An incremental decoder for ``encoding`` that reads a byte it cannot decode as ``�``."""
    return functools.partial(codecs.getincrementaldecoder(encoding), errors="replace")


TerminalDriver: type[Driver] | None = None
"""Textual's driver for Linux and macOS with our repairs (None elsewhere): see below."""

if sys.platform != "win32":
    from textual.drivers import linux_driver

    # Textual's thread that reads the keys decodes them with a strict UTF-8 decoder (made by
    # this name, used nowhere else): one byte that is not UTF-8 (a Latin-1 terminal's é, a
    # stray \xff) raised UnicodeDecodeError there, the thread died, every key after it was
    # lost and the app could only be killed. Such a byte is now read as "�".
    setattr(linux_driver, "getincrementaldecoder", _lenient_decoder)  # noqa: B010

    class _TerminalDriver(linux_driver.LinuxDriver):
        """Textual's terminal driver; a terminating signal ends the app cleanly.

        Textual restores the terminal (modes, the main screen, mouse reporting off, the
        cursor shown) only when the app ends by itself: ``kill``, ``kill -HUP`` or
        ``kill -QUIT`` ended the process at once and left the terminal raw, on the alternate
        screen, reporting the mouse. From the moment the terminal is set up until it is given
        back (again after a suspend, SIGTSTP), each of :data:`TERMINATING_SIGNALS` makes the app
        exit as ``q`` does, with the exit code 128 + the signal; the same signal a second
        time, when the app has not ended yet, acts as it would without us.
        """

        _caught: tuple[int, ...] = ()
        _executor_set = False
        _terminating = False

        def start_application_mode(self) -> None:
            loop = self._loop
            if not self._executor_set:  # once: a resume after ctrl+z comes back here
                self._executor_set = True
                loop.set_default_executor(_Unjoined(thread_name_prefix="stepgrad"))
            caught = []
            for name in TERMINATING_SIGNALS:
                number = getattr(signal, name, None)
                if number is None:
                    continue
                try:
                    loop.add_signal_handler(number, self._terminate, number)
                except (NotImplementedError, RuntimeError, ValueError):
                    continue  # not the main thread, or a signal this system cannot catch
                caught.append(number)
            self._caught = tuple(caught)
            super().start_application_mode()  # type: ignore[no-untyped-call]

        def stop_application_mode(self) -> None:
            super().stop_application_mode()
            self._release()

        def _release(self) -> None:
            for number in self._caught:
                self._loop.remove_signal_handler(number)
            self._caught = ()

        def _terminate(self, number: int) -> None:
            if self._terminating:  # asked already: the second one acts as it would without us
                self._release()
                signal.raise_signal(number)
                return
            self._terminating = True
            self._app.exit(return_code=128 + number)

    TerminalDriver = _TerminalDriver


def create_app(
    source: str,
    values: dict[str, float] | None = None,
    *,
    title: str | None = None,
    lazy_graph: bool = True,
    steady: bool = False,
    example: Example | None = None,
    theme: str | None = None,
    lecture: bool = False,
    narration: bool | None = None,
    predict: bool = False,
    forward: bool = False,
    train: bool = False,
    loop: Mapping[str, Any] | None = None,
    bug: str | None = None,
    program: Program | None = None,
) -> StepgradApp:
    """Parse ``source`` with ``values`` and build the app on its graph after the forward pass
    (or on ``program``, that text parsed already: an imported graph holding its stored values).

    Raises :class:`engine.parse.ProgramError` for a bad program (or one whose gradient is not
    finite), before anything is drawn. ``lazy_graph=False`` lays the graph out before the first
    frame instead of right after it. ``steady=True`` makes every frame reproducible, for tests,
    snapshots and screenshots: a fixed theme, no cursor blink, the graph laid out up front.

    ``example`` adds its notes to the narration (and its training loop, if any); ``theme`` is any
    Textual theme or ours (:data:`THEMES`); ``lecture`` is the presentation layout for projectors
    (large boxes, high contrast unless a theme is given, narration hidden); ``narration`` shows or
    hides the plain-language narration (default: shown, except in lecture mode); ``predict``
    starts in predict mode; ``bug`` starts in a bug mode (:data:`stepgrad.lesson.bugs.BUGS`).
    ``forward`` starts by stepping through the forward pass; ``train``
    opens the training window; ``loop`` holds the choices for it and for ``u`` (``params``,
    ``lr``, ``steps``).
    """
    if program is None:
        program = parse(source, values)
    app = StepgradApp(
        program,
        values,
        title=title,
        lazy_graph=lazy_graph and not steady,
        example=example,
        lecture=lecture,
        narration=narration,
        predict=predict,
        forward=forward,
        train=train,
        loop=loop,
        bug=bug,
    )
    if theme is not None:
        app.theme = theme
    elif lecture:
        app.theme = LECTURE_THEME
    elif steady:
        app.theme = "textual-dark"
    if steady:
        app.cursor_blink = False
    return app


def run_app(source: str, values: dict[str, float] | None = None) -> int:
    """Run the app; return the exit status (2 if the program is invalid, printed to stderr)."""
    import sys

    try:
        app = create_app(source, values)
    except ProgramError as err:
        print(f"stepgrad: {err.format()}", file=sys.stderr)
        return 2
    app.run()
    return app.return_code or 0
