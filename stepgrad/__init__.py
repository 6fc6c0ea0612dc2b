"""stepgrad: step through backpropagation one node at a time, in your terminal.

For graphs built in Python, :func:`show` opens the app on an engine Value, a micrograd Value
(PyPI ``micrograd`` or the lecture's version) or a 1-element PyTorch tensor with a graph::

    from micrograd.engine import Value
    import stepgrad
    x, w = Value(2.0), Value(-3.0)
    y = (x * w + 1).relu()
    stepgrad.show(y, names={"x": x, "w": w})

:func:`to_json` gives the same graph as the ``--json`` document. ``import stepgrad`` loads
neither Textual nor the engine nor torch; :func:`show` loads what it needs when called.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import StepgradApp

__version__ = "0.1.0"
__all__ = ["__version__", "app_for", "show", "to_json"]


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
    go to :func:`stepgrad.app.create_app` (e.g. ``steady=True``).

    Raises :class:`stepgrad.sources.NotAGraph` (a TypeError) for a value of another kind, and
    :class:`stepgrad.sources.SourceError` (a :class:`engine.parse.ProgramError`, one line,
    shown without a traceback in Jupyter) for a graph stepgrad cannot show: an op it does not
    know, a graph too large to step through, a gradient that is not finite.
    """
    return _app_for(value, names, title, "stepgrad.app_for", options)


def show(
    value: Any,
    *,
    names: Mapping[str, Any] | None = None,
    title: str | None = None,
    **options: Any,
) -> None:
    """Open the stepping app on ``value``'s graph; return when the app quits.

    Node labels are the names in the app (made into valid names where they are not: ``x1*w1``
    shows as ``x1_w1``); ``names={"w": w}`` names nodes that have no label (PyTorch tensors,
    PyPI micrograd's Values); unnamed inputs are ``v1``, ``v2``... See :func:`app_for`.
    """
    _app_for(value, names, title, "stepgrad.show", options).run()


def to_json(value: Any, *, names: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The document ``stepgrad PROGRAM --json`` prints, for ``value``'s graph.

    ``value`` and ``names`` are as for :func:`show`; the program is the one ``show`` steps
    through. The document holds the program, the output, the inputs by name, every node (op,
    data, grad after one backward pass, parents) and every step of that pass.
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

    from .sources import SourceError, program_source

    source, name = program_source(value, names=names, caller=caller)
    from .app import create_app

    try:
        return create_app(source, title=title or name or "stepgrad.show", **options)
    except SourceError:
        raise
    except ProgramError as err:  # about the program stepgrad wrote: no line and column
        raise SourceError(err.message, hint=err.hint) from None
