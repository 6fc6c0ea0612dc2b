"""micrograd Values as an engine graph: PyPI ``micrograd`` 0.1.0 and the lecture's version.

A micrograd Value is read by its attributes only (micrograd is never imported): ``data``,
``_prev`` (its inputs, a set), ``_op`` (the op's text) and ``label`` where the class has one.
The graph is rebuilt exactly as micrograd built it, since that is the learner's graph:
``a - b`` is ``a + b*-1`` and ``a/b`` is ``a * b**-1``, and the numbers Python lifted into
Values (the ``-1``, the ``2`` in ``2*x``, a network's inputs) are inputs with a grad of their
own, as micrograd gives them one.

Which input came first is not in ``_prev`` (a set: ``a*a`` even keeps ``a`` once). It is read
from the ``_backward`` closure, whose ``self`` and ``other`` are the op's two operands; a
class without such a closure gets its commutative ops' inputs in a fixed order, and ``-`` and
``/`` the order that gives the node's own ``data`` (the nearer one, if both give it up to
rounding). A ``-`` over one input is ``-a`` (a class whose ``__neg__`` makes a ``'-'`` node),
not ``a - a`` as the set left it, when its closure is over ``self`` alone or, without one, when
its data is minus its input's.

Every node holds the data micrograd stored in it, not a value computed again: that is what
micrograd's own ``backward()`` reads (``*`` its inputs' data, ``tanh``, ``exp`` and ``relu``
their output's), so a graph whose input changed after the forward pass (``w.data -= 0.1 *
w.grad``) is shown as it stands, with micrograd's grads on it, and
:attr:`~stepgrad.sources.common.Imported.stale` says where a stored value is not what its
inputs give now.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from engine import OPS, DomainError, Value
from engine.parse import clip

from .common import (
    MAX_NODES,
    Imported,
    SourceError,
    holds,
    label_text,
    out_of_date,
    too_large,
    where,
    with_article,
)

__all__ = ["KNOWN", "from_micrograd", "is_micrograd"]

_BINARY = ("+", "*", "-", "/")
_UNARY = {name: name for name in ("relu", "tanh", "exp", "log", "sin", "cos", "sigmoid", "sqrt",
                                   "abs", "neg")}  # fmt: skip
"""micrograd's op texts (any case: 0.1.0 writes ``ReLU``) -> the engine's op."""

KNOWN = "+, *, **k, ReLU, tanh, exp, - and /, and log, sin, cos, sigmoid, sqrt, abs"


_ATTRIBUTES = ("data", "_prev", "_op")


def is_micrograd(value: object) -> bool:
    """Whether ``value`` looks like a micrograd Value: ``data``, ``_prev`` and ``_op``."""
    return all(hasattr(value, name) for name in _ATTRIBUTES)


def _kind(value: object) -> str:
    """What ``value`` is, for an error: its type, and the Value attributes it lacks if it has
    some of them (``Value without data``: one deleted by hand)."""
    kind = clip(type(value).__name__)
    missing = [name for name in _ATTRIBUTES if not hasattr(value, name)]
    if len(missing) < len(_ATTRIBUTES):
        return f"{with_article(kind)} without {' or '.join(missing)}"
    return with_article(kind)


class _Node:
    __slots__ = ("exponent", "inputs", "op")

    def __init__(self, op: str, inputs: list[Any], exponent: float = 0.0) -> None:
        self.op = op  # the engine's op, or "" for a leaf
        self.inputs = inputs  # the source Values it was computed from, in order
        self.exponent = exponent  # the number k of micrograd's "**k"


def from_micrograd(root: Any, names: Mapping[int, str] | None = None) -> Imported:
    """``root``'s graph as engine Values (all leaves take a gradient, as in micrograd).

    ``names`` maps ``id`` of a source Value to its name (it wins over a ``label``). Each copy
    holds its source's stored ``data`` (see the module doc). Raises :class:`SourceError` for an
    op stepgrad does not know, a graph larger than :data:`MAX_NODES`, or data that is not a
    finite number.
    """
    names = names or {}
    parsed: dict[int, _Node] = {}
    via: dict[int, tuple[int, str]] = {}  # node -> (its first consumer, the consumer's op text)
    keep: list[object] = [root]
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in parsed:
            continue
        if len(parsed) >= MAX_NODES:
            raise too_large(MAX_NODES)
        parsed[id(node)] = item = _parse(node, _At(via, id(node)))
        for child in item.inputs:  # each a Value: _parse checked
            if id(child) not in parsed:
                via.setdefault(id(child), (id(node), _text(node)))
                keep.append(child)
                stack.append(child)

    made: dict[int, Value] = {}
    stale: str | None = None
    for node in _order(root, parsed, via):
        item = parsed[id(node)]
        label = names[id(node)] if id(node) in names else _label(node, _At(via, id(node)))
        if not item.op:
            made[id(node)] = _leaf(node, label, _At(via, id(node)))
            continue
        try:
            if item.op == "**":
                copy = made[id(item.inputs[0])] ** Value.constant(item.exponent)
            else:
                args = [made[id(child)] for child in item.inputs]
                copy = args[0]._apply(OPS[item.op], *args)
        except DomainError as err:
            raise SourceError(
                f"micrograd's {_text(node)!r} node cannot be computed again: {err.reason} "
                f"({_At(via, id(node))})"
            ) from None
        copy.label = label
        made[id(node)] = copy
        if stale is None and not holds(copy.data, node.data):
            stale = out_of_date(f"the graph's {_text(node)!r} node", node.data, copy.data)
        copy.data = _stored(node, _At(via, id(node)))
    title = names[id(root)] if id(root) in names else _label(root)
    return Imported(made[id(root)], "micrograd", title, made, keep, stale)


def _text(node: Any) -> str:
    return clip(str(node._op))  # an op's text may be anything: errors quote it short


def _label(node: Any, at: _At | None = None) -> str | None:
    """``node``'s label as text (see :func:`label_text`: a long one is cut), None for none."""
    return label_text(getattr(node, "label", None), "a micrograd Value's", at) or None


class _At:
    """Where a node is (see :func:`where`), worked out only when an error says it: the path
    from the output is as long as the graph is deep."""

    def __init__(self, via: dict[int, tuple[int, str]], key: int) -> None:
        self.via = via
        self.key = key

    def __str__(self) -> str:
        return where(_path(self.via, self.key))


def _path(via: dict[int, tuple[int, str]], key: int) -> list[str]:
    ops: list[str] = []
    while key in via and len(ops) <= MAX_NODES:
        key, op = via[key]
        ops.append(op)
    return ops[::-1]


def _parse(node: Any, at: _At) -> _Node:
    """What ``node`` is: a leaf, or an engine op over its inputs in their order."""
    text = node._op
    inputs = node._prev
    if not isinstance(inputs, (set, frozenset, tuple, list)):  # an iterator may never end
        what = "None" if inputs is None else with_article(clip(type(inputs).__name__))
        raise SourceError(f"a micrograd Value's _prev is {what}, not a set of Values ({at})")
    prev = list(inputs)
    for child in prev:
        if not is_micrograd(child):
            raise SourceError(
                f"the micrograd op {_text(node)!r} has an input that is not a Value "
                f"({_kind(child)}; {at})"
            )
    if any(child is node for child in prev):
        raise _cycle(node, at)
    if not isinstance(text, str):
        raise SourceError(
            f"a micrograd Value has the op {clip(str(text))!r}, which is not text ({at})"
        )
    if text == "" and not prev:
        return _Node("", [])
    if text.startswith("**") and len(prev) == 1:
        return _Node("**", prev, _exponent(node, text, at))
    op = _UNARY.get(text.lower())
    if op is not None and len(prev) == 1:
        return _Node(op, prev)
    if text == "-" and len(prev) == 1 and _negation(node, prev[0], at):
        return _Node("neg", prev)
    if text in _BINARY and len(prev) in (1, 2):
        return _Node(text, _operands(node, text, prev, at))
    if text in _BINARY or text.startswith("**") or op is not None or text == "":
        inputs = f"{len(prev)} input{'s' if len(prev) != 1 else ''}"
        raise SourceError(
            f"the micrograd op {clip(str(text))!r} has {inputs}, which stepgrad cannot read ({at})"
        )
    raise SourceError(
        f"the micrograd op {clip(str(text))!r} is not one stepgrad knows ({at})",
        hint=f"it reads {KNOWN}",
    )


def _exponent(node: Any, text: str, at: _At) -> float:
    """The exponent of ``**k``: the closure's number, else read from the op text."""
    other = _closure(node).get("other")
    if isinstance(other, (int, float)) and not isinstance(other, bool):
        return float(other)
    try:
        return float(text[2:])
    except ValueError:
        raise SourceError(
            f"the micrograd op {clip(str(text))!r} has no number for its exponent ({at})"
        ) from None


def _closure(node: Any) -> dict[str, Any]:
    """The variables ``node._backward`` closes over, by name (empty when there are none)."""
    function = getattr(node, "_backward", None)
    code = getattr(function, "__code__", None)
    cells = getattr(function, "__closure__", None)
    if code is None or not cells:
        return {}
    found: dict[str, Any] = {}
    for name, cell in zip(code.co_freevars, cells, strict=False):
        try:
            found[name] = cell.cell_contents
        except ValueError:  # an empty cell
            continue
    return found


def _negation(node: Any, operand: Any, at: _At) -> bool:
    """Whether a ``-`` over one input is ``-a`` (a class whose ``__neg__`` makes a ``'-'`` node of
    its own), not ``a - a`` (``_prev``, a set, keeps ``a`` once).

    The ``_backward`` closure says which: ``a - a`` closes over ``self`` and ``other``, both
    ``a``; ``-a`` over ``self`` alone. Without one, the node's own data: ``-a`` holds minus
    ``a``'s, ``a - a`` holds 0; for ``a`` = 0 both hold 0 (and their grads differ), so stepgrad
    says it cannot tell."""
    closure = _closure(node)
    if closure.get("self") is operand:
        return closure.get("other") is not operand
    try:
        x = float(operand.data)
    except (TypeError, ValueError, OverflowError):
        x = math.nan
    negation, difference = _close(-x, node.data), _close(x - x, node.data)
    if negation != difference:
        return negation
    raise SourceError(
        f"stepgrad cannot tell whether micrograd's '-' over one input is -a or a - a ({at})",
        hint="make -a an op of its own, _op='neg', or give _backward a closure over self",
    )


def _operands(node: Any, op: str, prev: list[Any], at: _At) -> list[Any]:
    """A binary op's two inputs in the order micrograd applied them."""
    if len(prev) == 1:  # a*a: the set kept one
        return [prev[0], prev[0]]
    closure = _closure(node)
    first, second = closure.get("self"), closure.get("other")
    ids = {id(prev[0]), id(prev[1])}
    forward = OPS[op].forward
    if first is not None and second is not None and {id(first), id(second)} == ids:
        # self and other are the operands; an __rsub__ or __rtruediv__ applies them the other
        # way round (other - self): the node's own data says which, where it can
        if op in ("+", "*"):
            return [first, second]
        return list(
            _by_data(forward, [(first, second), (second, first)], node.data) or (first, second)
        )
    if op in ("+", "*"):  # the order does not change a number: keep one that does not vary
        return sorted(prev, key=_order_key)
    a, b = prev
    pair = _by_data(forward, [(a, b), (b, a)], node.data)
    if pair is not None:
        return list(pair)
    raise SourceError(f"stepgrad cannot tell which input of micrograd's {op!r} comes first ({at})")


def _order_key(node: Any) -> tuple[str, float]:
    try:
        data = float(node.data)
    except (TypeError, ValueError):
        data = 0.0
    return (_label(node) or "\uffff", data)


def _by_data(forward: Any, pairs: list[tuple[Any, Any]], data: Any) -> tuple[Any, Any] | None:
    """Of the two orders of an op's inputs, the one whose result is the node's ``data``: the only
    one that gives it up to rounding, else the nearer; None if neither gives it or both are as
    near (``a - b`` with ``a`` = ``b``: 0 either way)."""
    misses = [_miss(forward, pair, data) for pair in pairs]
    fits = [miss for miss in misses if miss is not None]
    if not fits or (len(fits) == 2 and misses[0] == misses[1]):
        return None
    return pairs[misses.index(min(fits))]


def _miss(forward: Any, pair: tuple[Any, Any], data: Any) -> float | None:
    """How far ``forward`` over ``pair`` is from ``data``, if it gives it up to rounding."""
    try:
        x = forward(float(pair[0].data), float(pair[1].data))
    except (TypeError, ValueError, ArithmeticError):
        return None
    return abs(x - float(data)) if _close(x, data) else None


def _close(x: float, data: Any) -> bool:
    """Whether ``data`` is ``x`` up to rounding, relative to their size only: 5.6e-17 is not
    -5.6e-17 (``0.3 - 0.30000000000000004`` and the other way round)."""
    try:
        return math.isclose(x, float(data), rel_tol=1e-9, abs_tol=0.0)
    except (TypeError, ValueError, OverflowError):
        return False


def _leaf(node: Any, label: str | None, at: _At) -> Value:
    return Value(_stored(node, at), label)


def _stored(node: Any, at: _At) -> float:
    """``node.data`` as the engine holds it (an int or a numpy number read as the float it is);
    one line for data that is not a finite number."""
    try:
        return Value(node.data).data
    except DomainError as err:
        raise SourceError(
            f"a micrograd Value's data is not a number stepgrad can use: {err.reason} ({at})"
        ) from None


def _order(root: Any, parsed: dict[int, _Node], via: dict[int, tuple[int, str]]) -> list[Any]:
    """Every node once, inputs before the ops that use them (iterative: no depth limit).

    Raises :class:`SourceError` for a cycle (``_prev`` edited by hand: a node that is, through
    its inputs, an input of itself); backward() would never end on it either."""
    seen = {id(root)}
    open_ = {id(root)}  # on the way from the output to the node being looked at
    order: list[Any] = []
    stack: list[tuple[Any, int]] = [(root, 0)]
    while stack:
        node, i = stack[-1]
        inputs = parsed[id(node)].inputs
        if i < len(inputs):
            stack[-1] = (node, i + 1)
            child = inputs[i]
            if id(child) in open_:
                raise _cycle(child, _At(via, id(child)))
            if id(child) not in seen:
                seen.add(id(child))
                open_.add(id(child))
                stack.append((child, 0))
        else:
            stack.pop()
            open_.discard(id(node))
            order.append(node)
    return order


def _cycle(node: Any, at: _At) -> SourceError:
    return SourceError(
        f"the graph has a cycle: the micrograd op {_text(node)!r} is an input of itself, through "
        f"its own inputs ({at}); a computation graph has none (was _prev changed by hand?)"
    )
