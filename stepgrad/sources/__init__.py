"""Graphs built in Python, as stepgrad programs: engine Values, micrograd Values, PyTorch tensors.

:func:`import_graph` turns any of them into a graph of engine Values, stepgrad's own copy,
each node holding the value its source stores; :func:`program_source` writes that copy as a
program (:func:`engine.source.to_source`), the text ``stepgrad.show()`` opens the app on;
:func:`to_program` parses it again and gives each node back its stored value (parsing computes
them from the inputs, which differ for a graph an input of which changed after the forward
pass); :func:`to_json` is the ``--json`` document of that program. The values passed in are
never changed.

UI-free: nothing here imports Textual, micrograd or torch (a tensor's ``torch`` module is loaded
already by whoever made the tensor).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .common import (
    KINDS,
    MAX_LABEL,
    Imported,
    NotAGraph,
    SourceError,
    StaleGraphWarning,
    label_text,
    stale_warning,
    warn,
    with_article,
)

if TYPE_CHECKING:
    from engine import Value
    from engine.parse import Program

__all__ = [
    "Imported",
    "NotAGraph",
    "SourceError",
    "StaleGraphWarning",
    "import_graph",
    "parsed",
    "program_source",
    "to_json",
    "to_program",
]

Names = Mapping[str, Any]


def import_graph(
    value: object, *, names: Names | None = None, caller: str = "import_graph"
) -> Imported:
    """``value``'s graph as engine Values.

    ``value`` is an engine Value (used as it is, or copied when ``names`` relabel it), a
    micrograd Value (read by its attributes: see :mod:`stepgrad.sources.micrograd`) or a
    1-element PyTorch tensor with a graph (see :mod:`stepgrad.sources.torch`). ``names`` maps a
    name to a node of the graph (``{"w": w}``); it wins over the node's label, and over other
    nodes' labels too: the node named ``a`` is ``a`` in the program, and another node labelled
    ``a`` becomes ``a_2``. A label is the text of its ``str`` (``label=1`` is ``1``), cut to its
    first 40 characters (:data:`~stepgrad.sources.common.MAX_LABEL`); names given are used
    whole. ``caller`` is the function named in the error for a value of another kind.

    Raises :class:`NotAGraph` (a TypeError) for a value of another kind and
    :class:`SourceError` (one line) for a graph stepgrad cannot read.
    """
    from engine import Value

    from .micrograd import from_micrograd, is_micrograd
    from .torch import from_torch, is_tensor

    _check_names(names)
    if isinstance(value, Value):
        return _named(_from_engine(value, names or {}), names)
    if is_tensor(value):
        return _named(from_torch(value, names), names)
    if is_micrograd(value):
        ids: dict[int, str] = {}
        for name, node in (names or {}).items():
            ids.setdefault(id(node), name)
        return _named(from_micrograd(value, ids), names)
    kind = type(value).__module__ + "." + type(value).__qualname__
    kind = kind.removeprefix("builtins.")
    lacking = [name for name in ("data", "_prev", "_op") if not hasattr(value, name)]
    if len(lacking) == 1:  # a micrograd Value with an attribute deleted by hand
        raise NotAGraph(
            f"{caller}() takes {KINDS}, not {kind}: it looks like a micrograd Value but has "
            f"no {lacking[0]}"
        )
    raise NotAGraph(f"{caller}() takes {KINDS}, not {kind}")


def program_source(
    value: object, *, names: Names | None = None, caller: str = "program_source"
) -> tuple[str, str | None]:
    """``value``'s graph written as a program, and the output's own name (or None).

    The program's text computes every value from the inputs again: for a graph whose stored
    values are out of date (an input changed after the forward pass) that is not the graph as
    it stands, and a :class:`StaleGraphWarning` says so (the app parses this text;
    :func:`to_program` keeps the stored values)."""
    imported = import_graph(value, names=names, caller=caller)
    source = _source(imported)
    _warn(imported, stored=False)
    return source, imported.title


def to_program(value: object, *, names: Names | None = None, caller: str = "to_program") -> Program:
    """``value``'s graph as the parsed program ``stepgrad.show()`` steps through."""
    return parsed(value, names=names, caller=caller)[0]


def parsed(
    value: object, *, names: Names | None = None, caller: str = "parsed"
) -> tuple[Program, str | None]:
    """``value``'s graph as a parsed program holding the values the graph stores, and the
    output's own name (or None).

    Parsing computes every value from the inputs; each node then gets back the value its
    source stores, which the source's own ``backward()`` reads (micrograd's ``*`` its inputs'
    data, ``tanh`` its output's). They differ only for a graph whose input changed after the
    forward pass (or a value set by hand): the program's ``warnings`` then say so in one line,
    as a :class:`StaleGraphWarning` does, and its grads are the source's own on that graph."""
    from engine.parse import ProgramError, parse

    imported = import_graph(value, names=names, caller=caller)
    try:
        program = parse(_source(imported))
    except ProgramError as err:
        raise _one_line(err) from None
    _restore(imported.root, program.output)
    program.warnings.extend(_warn(imported, stored=True))
    return program, imported.title


def _source(imported: Imported) -> str:
    from engine.parse import ProgramError
    from engine.source import to_source

    try:
        return to_source(imported.root)
    except ProgramError as err:
        raise _one_line(err) from None


def _warn(imported: Imported, *, stored: bool) -> list[str]:
    """Warn (:class:`StaleGraphWarning`) about what is worth a word in ``imported``; the lines
    said, without ``stepgrad:``."""
    lines = list(imported.warnings)
    if imported.stale is not None:
        lines.append(stale_warning(imported.stale, stored=stored))
    for line in lines:
        warn(f"stepgrad: {line}")
    return lines


def _restore(copy: Value, output: Value) -> None:
    """Give each node of the parsed program the value its counterpart in the copy holds (the
    graph's stored value; the program computed its own from the inputs). The program has the
    copy's shape (:func:`engine.source.to_source`): the same ops over the same inputs in the
    same order, except that an op over constants only is written as its number (which is the
    copy's value already)."""
    stack = [(copy, output)]
    seen: set[tuple[int, int]] = set()
    while stack:
        mine, theirs = stack.pop()
        if (id(mine), id(theirs)) in seen:
            continue
        seen.add((id(mine), id(theirs)))
        if mine.op != theirs.op or len(mine.parents) != len(theirs.parents):
            continue
        theirs.data = mine.data
        stack.extend(zip(mine.parents, theirs.parents, strict=True))


def to_json(
    value: object, *, names: Names | None = None, caller: str = "to_json"
) -> dict[str, Any]:
    """The document ``stepgrad PROGRAM --json`` prints for ``value``'s graph: its program,
    nodes, inputs and every step of one backward pass (from the CLI's own
    :func:`stepgrad.cli.to_json`)."""
    from engine.parse import ProgramError

    from ..cli import to_json as document

    program = to_program(value, names=names, caller=caller)
    try:
        trace = program.backward(trace=True)
    except ProgramError as err:
        raise _one_line(err) from None
    assert trace is not None
    return document(program, trace)


def _one_line(err: Exception) -> SourceError:
    """A ProgramError about the program stepgrad wrote, said without the program's line and
    column (the user never saw that program)."""
    message = getattr(err, "message", str(err))
    return SourceError(message, hint=getattr(err, "hint", None))


def _named(imported: Imported, names: Names | None) -> Imported:
    """``imported``, once no two names given name one value (the second was silently dropped)
    and each names a value of the graph's kind (``{"a": 5}`` named nothing). A value of another
    graph is left out: one ``names`` dict may serve several outputs."""
    from engine import Value
    from engine.parse import clip

    from .micrograd import is_micrograd
    from .torch import is_tensor

    kind = {"engine": "an engine Value", "micrograd": "a micrograd Value", "torch": "a tensor"}
    fits = {"engine": lambda v: isinstance(v, Value), "micrograd": is_micrograd, "torch": is_tensor}
    seen: dict[int, str] = {}
    for name, source in (names or {}).items():
        if not fits[imported.kind](source):
            raise SourceError(
                f"names: {clip(name)!r} is {with_article(type(source).__name__)}, "
                f"not {kind[imported.kind]}"
            )
        try:
            key = id(imported.node(source))
        except KeyError:
            continue  # a value this output does not use
        if key in seen:
            raise SourceError(
                f"names: {clip(seen[key])!r} and {clip(name)!r} name the same value: give it one "
                "name"
            )
        seen[key] = name
    return _claim(imported, names)


def _claim(imported: Imported, names: Names | None) -> Imported:
    """``imported``, once each node named in ``names`` will have exactly that name in the
    program: another node whose label would take it first (the program claims names in the
    graph's order) is relabelled with the first free ``_2``, ``_3``..., as the program itself
    renames a second ``a``. Only engine and micrograd graphs have labels (and both are copies
    here once ``names`` are given: the values passed in keep theirs)."""
    from engine import nodes
    from engine.parse import spare_name
    from engine.source import make_usable, usable

    if not names or imported.kind == "torch":
        return imported
    named: dict[int, str] = {}
    for name, source in names.items():
        try:
            named.setdefault(id(imported.node(source)), name)
        except KeyError:
            continue

    def as_name(text: str) -> str:
        return text if usable(text) else make_usable(text)

    claimed = {as_name(name) for name in named.values()} - {""}
    others: list[tuple[Value, str]] = []  # the other nodes with a line and a label
    for node in nodes(imported.root):
        if id(node) not in named and node.requires_grad and isinstance(node.label, str):
            others.append((node, node.label))
    taken = claimed | {as_name(label) for _, label in others}
    for node, label in others:
        if label in claimed and usable(label):
            node.label = spare_name((), taken, label)  # label_2, label_3...
            taken.add(node.label)
            if node is imported.root:
                imported.title = node.label
    return imported


def _check_names(names: object) -> None:
    if names is None:
        return
    if not isinstance(names, Mapping):
        raise SourceError(
            f"names must be a dict of name -> value (names={{'w': w}}), not {type(names).__name__}"
        )
    for name in names:
        if not isinstance(name, str) or not name:
            raise SourceError(f"names: each name must be a non-empty string, not {name!r}")


def _from_engine(root: Value, names: Names) -> Imported:
    """An engine graph as it is; relabeled on a copy when ``names`` are given, or a label is
    too long or not text (see :func:`label_text`)."""
    from engine import OPS, Value

    order, stale = _checked(root)
    as_they_are = all(
        node.label is None or isinstance(node.label, str) and len(node.label) <= MAX_LABEL
        for node in order
    )
    if not names and as_they_are:
        return Imported(root, "engine", root.label, {id(n): n for n in order}, [root], stale)
    labels: dict[int, str] = {}
    for name, node in (names or {}).items():
        labels.setdefault(id(node), name)
    made: dict[int, Value] = {}
    for node in order:
        label = (
            labels[id(node)] if id(node) in labels else label_text(node.label, "an engine Value's")
        )
        if not node.parents:
            copy = Value(node.data, label, requires_grad=node.requires_grad)
        else:
            parents = [made[id(p)] for p in node.parents]
            copy = parents[0]._apply(OPS[node.op], *parents)
            copy.label = label
            copy.data = float(node.data)  # the stored value, as the graph's backward() reads it
        made[id(node)] = copy
    title = made[id(root)].label
    return Imported(made[id(root)], "engine", title, made, [root], stale)


def _checked(root: Value) -> tuple[list[Value], str | None]:
    """``root``'s nodes, inputs first, once each is known to be what the engine makes: finite
    data, an op of the table over as many inputs as it takes, no cycle; and what is out of
    date, if a node's stored data is not what its inputs give now (a leaf's data changed after),
    as for micrograd and PyTorch graphs. A Value edited by hand is one :class:`SourceError`
    line, not an error from deep inside."""
    import math

    from engine import OPS, Value, nodes
    from engine.parse import clip

    from .common import holds, out_of_date

    try:
        order = nodes(root)
    except AttributeError:  # an input (``_a``, ``_b``) set to something else
        raise SourceError("an engine Value has an input that is not a Value") from None
    place = {id(node): i for i, node in enumerate(order)}
    stale: str | None = None
    for i, node in enumerate(order):
        data = node.data
        try:
            finite = not isinstance(data, bool) and math.isfinite(data)
        except (TypeError, OverflowError):
            finite = False
        if not finite:
            raise SourceError(
                f"an engine Value's data is {clip(repr(data))}, not a finite number",
                hint="was its data set by hand?",
            )
        op, parents = node.op, node.parents
        known = op in OPS and OPS[op].arity == len(parents) if op else not parents
        if not known:
            count = f"{len(parents)} input{'s' if len(parents) != 1 else ''}"
            raise SourceError(
                f"an engine Value has the op {clip(repr(op))} over {count}, which is not an "
                "op of the engine's table",
                hint="was its op or its inputs set by hand?",
            )
        if any(not isinstance(p, Value) or place.get(id(p), i) >= i for p in parents):
            raise SourceError(
                "the graph has a cycle: an engine Value is an input of itself, through its "
                "own inputs (were its inputs set by hand?)"
            )
        if op and stale is None:
            try:
                now = OPS[op].forward(*(float(p.data) for p in parents))
            except (ArithmeticError, ValueError):
                now = math.nan
            if not holds(now, data):
                stale = out_of_date(f"the graph's {op!r} node", data, now)
    return order, stale
