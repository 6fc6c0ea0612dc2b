"""stepgrad: step through backpropagation one node at a time, in your terminal.

For graphs built in Python, :func:`show` opens the app on an engine Value, a micrograd Value
(PyPI ``micrograd`` or the lecture's version) or a 1-element PyTorch tensor with a graph::

    from micrograd.engine import Value
    import stepgrad
    x, w = Value(2.0), Value(-3.0)
    y = (x * w + 1).relu()
    stepgrad.show(y, names={"x": x, "w": w})

:func:`to_json` gives the same graph as the ``--json`` document, :func:`html` the whole
walkthrough as one self-contained HTML file. In a Jupyter kernel :func:`show` displays an
inline stepper (the same HTML) instead of starting the terminal app. ``import stepgrad`` loads
neither Textual nor the engine nor torch; each function loads what it needs when called.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

if TYPE_CHECKING:
    from types import TracebackType

    from .app import StepgradApp
    from .sources.html import Page

__version__ = "0.1.0"
__all__ = ["__version__", "app_for", "html", "show", "to_json"]

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _uncaught_in_one_line(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """``function``, which raises stepgrad's own errors as ever (callers catch them), but
    first makes sure that one left uncaught in a script or a plain Python prompt is printed as
    the one line the CLI prints, ``stepgrad: error: ...``, not a traceback through stepgrad's
    code (see :func:`_hook_errors`)."""

    @functools.wraps(function)
    def public(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return function(*args, **kwargs)
        except Exception as err:
            if _ours(err):
                _hook_errors()
            raise

    return public


def _ours(error: BaseException) -> bool:
    """Whether ``error`` is one of stepgrad's one-line errors (a SourceError; NotAGraph is one).
    Only an error the sources module raised can be one: nothing is imported to find out."""
    common = sys.modules.get("stepgrad.sources.common")
    return common is not None and isinstance(error, common.SourceError)


def _hook_errors() -> None:
    """Print stepgrad's own uncaught errors as one line, by wrapping ``sys.excepthook``.

    Only Python's own hook is wrapped (a hook someone set is theirs), and only once (the
    wrapped one is no longer Python's); a Jupyter kernel shows the one line already, through
    ``_render_traceback_``. Every other exception goes to the hook that was there."""
    if sys.excepthook is not sys.__excepthook__ or _in_kernel():
        return
    previous = sys.excepthook

    def excepthook(
        kind: type[BaseException], error: BaseException, traceback: TracebackType | None
    ) -> None:
        if not _ours(error):
            previous(kind, error, traceback)
        elif sys.stderr is not None:
            print(*error._render_traceback_(), sep="\n", file=sys.stderr)  # type: ignore[attr-defined]

    sys.excepthook = excepthook


@_uncaught_in_one_line
def app_for(
    value: Any,
    *,
    names: Mapping[str, Any] | None = None,
    title: str | None = None,
    **options: Any,
) -> StepgradApp:
    """The stepgrad app on ``value``'s graph, not yet running (``show`` runs it).

    ``value`` is an engine Value, a micrograd Value or a 1-element PyTorch tensor with a
    ``grad_fn`` (see :mod:`stepgrad.sources`). The graph is written as a program
    (:func:`engine.source.to_source`: labels, or the ``names`` given as ``{"w": w}``, become the
    names; other inputs are ``v1``, ``v2``...) and parsed again, so the app steps through a
    copy: the values passed in, their data and their ``.grad`` are never changed, and grads a
    ``backward()`` already left on them play no part (the app starts at the beginning of a
    fresh pass). ``title`` defaults to the output's name, else ``"stepgrad.show"``; ``options``
    go to :func:`stepgrad.app.create_app` (e.g. ``steady=True``). Each node holds the value
    the graph stores, as in :func:`to_json`: for a graph an input of which changed after its
    forward pass, a :class:`stepgrad.sources.StaleGraphWarning` says so.

    Raises :class:`stepgrad.sources.NotAGraph` (a TypeError) for a value of another kind, and
    :class:`stepgrad.sources.SourceError` (a :class:`engine.parse.ProgramError`, one line)
    for a graph stepgrad cannot show: an op it does not know, a graph too large to step
    through, a gradient that is not finite. Left uncaught, such an error prints as that one
    line, without a traceback, in Jupyter, a script or a Python prompt alike (see
    :func:`_hook_errors`); this holds for every function here.
    """
    return _app_for(value, names, title, "stepgrad.app_for", options)


@_uncaught_in_one_line
def show(
    value: Any,
    *,
    names: Mapping[str, Any] | None = None,
    title: str | None = None,
    **options: Any,
) -> None:
    """Open the stepping app on ``value``'s graph; return when the app quits.

    Node labels are the names in the app (made into valid names where they are not: ``x1*w1``
    shows as ``x1_w1``; a label of more than 40 characters is cut to its first 40);
    ``names={"w": w}`` names nodes that have no label (PyTorch tensors, PyPI micrograd's Values)
    and wins over labels: the node named ``a`` is ``a``, and another labelled ``a`` is ``a_2``.
    Unnamed inputs are ``v1``, ``v2``... See :func:`app_for`.

    In a Jupyter kernel (JupyterLab, Notebook 7, VS Code) it displays an inline stepper
    instead: the graph with data and grad per node, the step panel, and buttons (← → Home End,
    zero_grad, another pass; the same keys once it is clicked). It is the page :func:`html`
    writes, shown as the cell's output; ``options`` (app options) play no part there.

    Without a terminal (a script run by CI, output sent to a file) it prints the backward pass
    step by step instead, as ``stepgrad PROGRAM`` does: the app would wait for keys that never
    come.
    """
    _check_title(title)
    if _in_kernel():
        from IPython.display import display

        from .sources.html import Notebook

        display(Notebook(_model(value, names, title, "stepgrad.show")))
        return
    from .cli import _interactive

    if not _interactive(sys.stdout):
        _print(value, names)
        return
    _app_for(value, names, title, "stepgrad.show", options).run()


def _print(value: Any, names: Mapping[str, Any] | None) -> None:
    """The backward pass of ``value``'s graph as ``--print`` shows it, on standard output."""
    from engine.parse import ProgramError

    from .report import print_trace, whole_names
    from .sources import SourceError, to_program

    program = to_program(value, names=names, caller="stepgrad.show")
    try:
        trace = program.backward(trace=True)
    except ProgramError as err:  # about the program stepgrad wrote: no line and column
        raise SourceError(err.message, hint=err.hint) from None
    assert trace is not None
    with whole_names(program):
        print_trace(program, trace, sys.stdout)


def _check_title(title: object) -> None:
    if title is not None and not isinstance(title, str):
        from .sources import SourceError

        raise SourceError(f"title must be text, not {type(title).__name__}")


@_uncaught_in_one_line
def html(
    value: Any,
    path: str | os.PathLike[str] | None = None,
    *,
    names: Mapping[str, Any] | None = None,
    title: str | None = None,
) -> Page:
    """The whole walkthrough of ``value``'s graph as one self-contained HTML page; written to
    ``path`` (UTF-8) when given, and returned: a :class:`~stepgrad.sources.html.Page`, a str
    whose ``repr`` is one line (``<stepgrad page: 31 kB, written to neuron.html>``), so that a
    notebook cell ending with this call does not echo the whole page.

    The page holds every step of a backward pass, another pass on top of it (every grad
    doubles) and ``zero_grad``, with buttons and the arrow keys; it loads nothing from
    anywhere (no script, font or style), so it opens with a double-click, from an e-mail or a
    course page. ``value``, ``names`` and ``title`` are as for :func:`show`; the numbers are
    those of :func:`to_json`. It is what ``stepgrad PROGRAM --html FILE`` writes; a path that
    cannot be written is a :class:`stepgrad.sources.SourceError` (one line).
    """
    from .sources.html import Page, document

    if path is not None and not isinstance(path, (str, os.PathLike)):
        from .sources import SourceError

        # open(1) would write to file descriptor 1 (standard output) and close it
        raise SourceError(f"path must be a file name, not {type(path).__name__}")
    text = document(_model(value, names, title, "stepgrad.html"))
    if path is not None:
        try:
            with open(path, "w", encoding="utf-8", newline="\n") as file:
                file.write(text)
        except OSError as err:  # a folder, a missing folder, no permission: one line
            from .sources import SourceError

            raise SourceError(
                f"cannot write the HTML file {os.fspath(path)!r}: {err.strerror or err}"
            ) from None
    return Page(text, None if path is None else os.fspath(path))


@_uncaught_in_one_line
def to_json(value: Any, *, names: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The document ``stepgrad PROGRAM --json`` prints, for ``value``'s graph.

    ``value`` and ``names`` are as for :func:`show`; the program is the one ``show`` steps
    through. The document holds the program, the output, the inputs by name, every node (op,
    data, grad after one backward pass, parents) and every step of that pass. Each node's data
    is the one the graph stores, and the grads are those its own ``backward()`` gives on it;
    where an input changed after the forward pass, so that the stored values are not what the
    inputs give now, ``warnings`` says so in one line.
    """
    from .sources import to_json as document

    return document(value, names=names, caller="stepgrad.to_json")


def _app_for(
    value: Any,
    names: Mapping[str, Any] | None,
    title: str | None,
    caller: str,
    options: dict[str, Any],
) -> StepgradApp:
    from engine.parse import ProgramError

    from .sources import SourceError, parsed

    _check_title(title)
    program, name = parsed(value, names=names, caller=caller)
    from .app import create_app

    try:  # the program's text (for the editor), and the program holding the stored values
        return create_app(
            program.source,
            title=title or name or "stepgrad.show",
            program=program,
            **options,
        )
    except SourceError:
        raise
    except ProgramError as err:  # about the program stepgrad wrote: no line and column
        raise SourceError(err.message, hint=err.hint) from None


def _in_kernel() -> bool:
    """Whether we run in a Jupyter kernel (not a plain Python or the IPython terminal): its
    shell has a ``kernel``. IPython is only looked at when something has imported it already,
    as every kernel has."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # an IPython too broken to ask: not a kernel we can display in
        return False
    return shell is not None and getattr(shell, "kernel", None) is not None


def _model(
    value: Any, names: Mapping[str, Any] | None, title: str | None, caller: str
) -> dict[str, Any]:
    """The HTML stepper's data for ``value``'s graph (see :mod:`stepgrad.sources.html`)."""
    from engine.parse import ProgramError

    from .sources import SourceError, parsed
    from .sources.html import TooLarge, walkthrough

    _check_title(title)
    program, name = parsed(value, names=names, caller=caller)
    inline = caller == "stepgrad.show"
    try:
        holder = "the notebook's stepper" if inline else "one HTML file"
        return walkthrough(program, title=title or name or caller, holder=holder)
    except TooLarge as err:
        hint = "outside a notebook, stepgrad.show(value) opens the terminal app" if inline else None
        raise SourceError(str(err), hint=hint) from None
    except SourceError:
        raise
    except ProgramError as err:  # about the program stepgrad wrote: no line and column
        raise SourceError(err.message, hint=err.hint) from None
