"""stepgrad: step through backpropagation one node at a time, in your terminal.

For graphs built in Python (as in micrograd's lecture), :func:`show` opens the app on any
engine Value::

    from engine import Value
    import stepgrad
    x = Value(2.0, label="x")
    y = (x * x + 1).tanh(); y.label = "y"
    stepgrad.show(y)

``import stepgrad`` loads neither Textual nor the engine; :func:`show` does, when called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine import Value

    from .app import StepgradApp

__version__ = "0.1.0"
__all__ = ["__version__", "app_for", "show"]


def app_for(value: Value, *, title: str | None = None, **options: Any) -> StepgradApp:
    """The stepgrad app on ``value``'s graph, not yet running (``show`` runs it).

    The graph is written as a program (:func:`engine.source.to_source`: labels become the
    names) and parsed again, so the app steps through a copy: the Values passed in, their data
    and their ``.grad`` are never changed, and grads a ``backward()`` already left on them play
    no part (the app starts at the beginning of a fresh pass). ``title`` defaults to ``value``'s
    label, else ``"stepgrad.show"``; ``options`` go to :func:`stepgrad.app.create_app`
    (e.g. ``steady=True``).

    Raises TypeError if ``value`` is not an engine Value, and
    :class:`engine.parse.ProgramError` (one line) if the graph is too large to show or its
    gradient is not finite.
    """
    from engine import Value
    from engine.source import to_source

    if not isinstance(value, Value):
        kind = type(value).__qualname__
        raise TypeError(
            f"stepgrad.show() takes the engine Value to show (from engine import Value), not {kind}"
        )
    from .app import create_app

    return create_app(to_source(value), title=title or value.label or "stepgrad.show", **options)


def show(value: Value, *, title: str | None = None, **options: Any) -> None:
    """Open the stepping app on ``value``'s graph; return when the app quits.

    Node labels are the names in the app (made into valid names where they are not: ``x1*w1``
    shows as ``x1_w1``); unlabeled inputs are ``v1``, ``v2``... See :func:`app_for`.
    """
    app_for(value, title=title, **options).run()
