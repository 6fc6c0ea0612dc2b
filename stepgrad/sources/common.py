"""What the importers share: the imported graph, the one error they raise, the size limit, and
how an error says where in the graph it happened.

No UI and no library import here: micrograd is read by its attributes and PyTorch only through
the ``torch`` module a tensor's owner already loaded.
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from engine import Value
from engine.parse import MAX_SOURCE, ProgramError, clip

__all__ = [
    "KINDS",
    "MAX_LABEL",
    "MAX_NODES",
    "Imported",
    "NotAGraph",
    "SourceError",
    "StaleGraphWarning",
    "shortest",
    "holds",
    "label_text",
    "out_of_date",
    "stale_warning",
    "too_large",
    "warn",
    "where",
    "with_article",
]

KINDS = "an engine Value (from engine import Value), a micrograd Value or a PyTorch tensor"
"""What stepgrad.show() and friends take, as said in their errors."""

MAX_NODES = MAX_SOURCE
"""The most nodes an imported graph may have. Every node is at least one character of the
program stepgrad writes for it (an operator, a digit, a name), so a graph with more nodes than
:data:`engine.parse.MAX_SOURCE` cannot be shown anyway; stopping the walk there keeps a runaway
graph (say, a whole training run) from being read to its end first."""


MAX_LABEL = 40
"""The most characters of a label that become a name: a longer label is cut to its first 40
(``label=str(some_list)`` would otherwise fill the program and every box it is drawn in)."""


class SourceError(ProgramError):
    """A graph from Python that stepgrad cannot show, said in one line.

    It is a :class:`engine.parse.ProgramError`, so callers handle it like a program stepgrad
    cannot read. IPython and Jupyter show it as that one line, without a traceback
    (``_render_traceback_`` is IPython's hook for exactly this).
    """

    def _render_traceback_(self) -> list[str]:
        return [f"stepgrad: error: {self.headline()}"]


class StaleGraphWarning(UserWarning):
    """A graph's stored values are not what its inputs give now (an input changed after the
    forward pass), or its numbers are not the ones stepgrad computes with (a float32 overflow)."""


class NotAGraph(SourceError, TypeError):
    """A value of a kind stepgrad cannot read as a graph (a float, a list, a numpy array...)."""


@dataclass
class Imported:
    """A graph from Python rebuilt from engine Values: stepgrad's own copy to step through.

    Attributes:
        root: the copy's output.
        kind: ``"engine"``, ``"micrograd"`` or ``"torch"``.
        title: the output's own name (a label or a name given), or None.
        nodes: each source node's counterpart in the copy, by ``id`` of the source node:
            engine and micrograd Values, PyTorch leaf tensors and ``grad_fn`` nodes. Constants
            PyTorch keeps as numbers have none.
    """

    root: Value
    kind: str
    title: str | None = None
    nodes: dict[int, Value] = field(default_factory=dict)
    keep: list[object] = field(default_factory=list, repr=False)
    """The source nodes, kept alive so that the ids in ``nodes`` stay theirs."""
    stale: str | None = None
    """What is out of date (:func:`out_of_date`), when a stored value is not what the node's
    inputs give now; the copy holds the stored values all the same, as the source's own
    ``backward()`` uses them."""
    warnings: list[str] = field(default_factory=list)
    """Other things worth a warning line (a number PyTorch overflowed), without ``stepgrad:``."""

    def node(self, source: object) -> Value:
        """The copy of ``source`` (a Value, a leaf tensor, or a tensor made by an op)."""
        grad_fn = getattr(source, "grad_fn", None)
        key = id(grad_fn) if grad_fn is not None else id(source)
        if key not in self.nodes:
            raise KeyError(f"{source!r} is not a node of this graph")
        return self.nodes[key]


def with_article(word: str) -> str:
    """``word`` after its article: ``an int``, ``a float`` (by its first letter)."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


def label_text(label: object, whose: str, at: object = None) -> str | None:
    """A node's ``label`` as the text its name is made from: None for None, the ``str`` of a
    label that is not text, cut to its first :data:`MAX_LABEL` characters.
    ``whose`` says whose label it is in the error when ``str`` fails (``a micrograd Value's``),
    and ``at`` where in the graph it is (its ``str``, see :func:`where`), if known.
    """
    if label is None:
        return None
    if isinstance(label, str):
        text = label
    else:
        try:
            text = str(label)
        except Exception as err:  # a label's own __str__ may raise anything
            raise SourceError(
                f"{whose} label cannot be read as text: str() of its "
                f"{clip(type(label).__name__)} raised {clip(type(err).__name__)}"
                + (f" ({at})" if at is not None else ""),
                hint="give it a label that is text, or name the node with names={...}",
            ) from None
    return text[:MAX_LABEL]


def warn(message: str) -> None:
    """Warn with a :class:`StaleGraphWarning` pointed at the caller's own line (the first frame
    outside stepgrad), wherever in stepgrad it is raised."""
    level, frame = 2, sys._getframe(1)  # 1 is this function, 2 its caller
    while frame is not None and frame.f_globals.get("__name__", "").startswith("stepgrad"):
        level += 1
        frame = frame.f_back  # type: ignore[assignment]
    warnings.warn(message, StaleGraphWarning, stacklevel=level)


def holds(x: float, data: object) -> bool:
    """Whether a node's stored ``data`` is the number ``x`` its inputs give, up to rounding
    (``data`` may be anything a hand-made class stores: not a number is not it)."""
    try:
        y = float(data)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return False
    return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12)


def out_of_date(what: str, held: object, now: float) -> str:
    """What is out of date in a graph whose node ``what`` holds ``held`` while its inputs give
    ``now``: the part of the warning :func:`stale_warning` completes."""
    return f"{what} holds {held!r} but its inputs give {now!r} now"


def stale_warning(stale: str, *, stored: bool) -> str:
    """The one-line warning for a graph whose stored values are not what its inputs give now
    (``stale``, from :func:`out_of_date`), saying which values stepgrad shows: the ones the graph
    stores (``stored``: to_json, html, the notebook, print) or the ones its program recomputes
    from the inputs (the app, which parses the program's text)."""
    shown = (
        "stepgrad shows the values as the graph stores them, the ones its own backward() uses"
        if stored
        else "the app recomputes every value from the inputs"
    )
    return f"{stale}: an input changed after the forward pass (or a value was set by hand); {shown}"


def too_large(count: int) -> SourceError:
    return SourceError(
        f"the graph is too large to step through: it has more than {count:,} nodes, and "
        f"stepgrad steps through graphs of at most {MAX_NODES:,}",
        hint="show a part of it, e.g. one neuron or one sample's loss",
    )


def where(path: Sequence[str]) -> str:
    """Where a node is, by the ops from the output down to it: ``met below the output, via
    tanh → * → +``; a long path keeps its two first and three last ops."""
    if not path:
        return "met at the output"
    shown = list(path) if len(path) <= 6 else [*path[:2], "…", *path[-3:]]
    return "met below the output, via " + " → ".join(shown)


def shortest(x: float, same: Callable[[float], bool] | None = None) -> float:
    """The number with the fewest significant digits for which ``same`` holds (by default: that
    equals ``x``), else ``x``.

    Reads a float32 ``0.100000001`` back as the ``0.1`` that was typed, when ``same`` compares
    at float32.
    """
    if not math.isfinite(x):
        return x
    test = same or (lambda candidate: candidate == x)
    for digits in range(1, 18):
        candidate = float(f"{x:.{digits - 1}e}")
        if test(candidate):
            return candidate
    return x
