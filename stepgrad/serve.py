"""``stepgrad --serve``: the same app in a web browser, through textual-serve.

For rooms where a terminal's font is too small to read from the back: the browser's font can be
zoomed. Each browser tab that connects runs its own ``python -m stepgrad ARGS`` under Textual's
web driver (textual-serve sets ``TEXTUAL_DRIVER`` and talks to it over pipes), so every tab is a
fresh walkthrough. The page needs no internet: its one outside reference (a web font from a
CDN) is swapped for the same font that textual-serve ships.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import re
import shlex
import socket
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from aiohttp import web
from textual_serve.server import Server

__all__ = ["app_command", "serve"]

EXIT_USAGE = 2

_CDN_FONT = re.compile(
    r"<link\b[^>]*href=\"https://fonts\.googleapis\.com/[^\"]*\"[^>]*>", re.IGNORECASE | re.DOTALL
)
_LOCAL_FONT = """<link rel="preload" as="font" type="font/ttf" crossorigin
      href="{{ config.static.url }}fonts/RobotoMono-VariableFont_wght.ttf" />
    <style>
      @font-face {
        font-family: "Roboto Mono";
        font-style: normal;
        font-weight: 100 700;
        src: url("{{ config.static.url }}fonts/RobotoMono-VariableFont_wght.ttf")
          format("truetype");
      }
      @font-face {
        font-family: "Roboto Mono";
        font-style: italic;
        font-weight: 100 700;
        src: url("{{ config.static.url }}fonts/RobotoMono-Italic-VariableFont_wght.ttf")
          format("truetype");
      }
    </style>"""


class _Server(Server):
    """textual-serve's server, quiet (our one line instead of its logo, warnings only) and
    quick to stop: ctrl+c ends the open tabs' apps instead of waiting for the tabs to close.
    """

    def __init__(self, command: str, *, err: TextIO, **options: Any) -> None:
        super().__init__(command, **options)
        self.err = err
        self.sessions: set[asyncio.Task[Any]] = set()  # one per open browser tab
        self.stopping = False

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        task = asyncio.current_task()
        assert task is not None
        self.sessions.add(task)
        try:
            return await super().handle_websocket(request)
        finally:
            self.sessions.discard(task)

    async def on_shutdown(self, app: web.Application) -> None:
        """End every tab's app and wait (briefly) until each is reaped, so that no subprocess
        transport is left to be finalized after the event loop has closed."""
        self.stopping = True
        tasks = list(self.sessions)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=3)

    def initialize_logging(self) -> None:
        handler = logging.StreamHandler(self.err)
        handler.setFormatter(logging.Formatter("stepgrad: serve: %(message)s"))
        logger = logging.getLogger("textual-serve")
        handler.addFilter(lambda record: not self.stopping)  # ctrl+c: apps ending are no news
        logger.addHandler(handler)
        logger.setLevel(logging.WARNING)
        logger.propagate = False

    async def on_startup(self, app: web.Application) -> None:
        pass


def app_command(app_args: Sequence[str]) -> str:
    """The shell command textual-serve runs for each browser tab: this Python, this package."""
    return shlex.join([sys.executable, "-m", "stepgrad", *app_args])


def page_title(app_args: Sequence[str]) -> str:
    """The browser tab's title: the command line, its control characters shown, not obeyed."""
    from engine.text import visible

    return visible(" ".join(["stepgrad", *(arg for arg in app_args if arg != "--")]))


def _quiet_closed_loop(hook: Any) -> Any:
    """``sys.unraisablehook`` without asyncio's "Event loop is closed" from a subprocess
    transport finalized after ctrl+c stopped the loop (the process is gone; nothing is lost)."""

    def quiet(unraisable: Any) -> None:
        error = unraisable.exc_value
        if isinstance(error, RuntimeError) and str(error) == "Event loop is closed":
            return
        hook(unraisable)

    return quiet


def _url(host: str, port: int) -> str:
    """``http://host:port``, an IPv6 address in brackets (``http://[::1]:8000``)."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve(
    app_args: Sequence[str],
    *,
    host: str = "localhost",
    port: int = 8000,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Serve ``stepgrad APP_ARGS`` at ``http://HOST:PORT`` until ctrl+c.

    ``app_args`` is an already validated command line without ``--serve``, ``--port`` and
    ``--host``. Prints one line to ``out`` when serving; returns 0 after ctrl+c (or SIGTERM),
    or 2 with one line on ``err`` when the port is out of range, already in use, or the host
    cannot be served on.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    problem = _listen_problem(host, port)
    if problem is not None:
        print(f"stepgrad: error: {problem}", file=err)
        return EXIT_USAGE

    title = page_title(app_args)
    sys.unraisablehook = _quiet_closed_loop(sys.unraisablehook)
    with tempfile.TemporaryDirectory(prefix="stepgrad-serve-") as templates:
        server = _Server(
            app_command(app_args),
            err=err,
            host=host,
            port=port,
            public_url=_url(host, port),  # the page's links and websocket: [::1] bracketed
            title=title,
            templates_path=templates,
        )
        _write_page(server.statics_path, Path(templates))
        print(f"stepgrad: serving on {_url(host, port)} (ctrl+c to stop)", file=out, flush=True)
        try:
            server.serve()
        except KeyboardInterrupt:  # before textual-serve's own SIGINT handler is in place
            pass
        except OSError as exc:  # lost a race for the port since the check
            print(f"stepgrad: error: cannot serve on {host}:{port}: {_reason(exc)}", file=err)
            return EXIT_USAGE
    return 0


def _listen_problem(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on, or None. Binds (and releases) every address the
    host resolves to, with the options asyncio's server uses, so a taken port is one clear line
    instead of a traceback from deep inside the web server."""
    if not 1 <= port <= 65535:
        return f"--port must be between 1 and 65535, not {port}"
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError) as exc:
        return f"cannot serve on host {host!r}: {_reason(exc)}"
    for family, kind, proto, _, address in dict.fromkeys(addresses):
        try:
            sock = socket.socket(family, kind, proto)
        except OSError:  # an address family this machine lacks; asyncio skips it too
            continue
        with sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    return (
                        f"port {port} is already in use on {host} "
                        f"(is another server running? pick another with --port)"
                    )
                if exc.errno == errno.EADDRNOTAVAIL and family == socket.AF_INET6:
                    continue  # IPv6 switched off: asyncio skips this address as well
                return f"cannot serve on {host}:{port}: {_reason(exc)}"
    return None


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _write_page(statics: Path, templates: Path) -> None:
    """textual-serve's page template, its web font served locally instead of from a CDN."""
    import textual_serve

    source = Path(textual_serve.__file__).parent / "templates" / "app_index.html"
    page = source.read_text(encoding="utf-8")
    local = _LOCAL_FONT if (statics / "fonts").is_dir() else ""
    page = _CDN_FONT.sub(lambda _: local, page)
    (templates / "app_index.html").write_text(page, encoding="utf-8")
