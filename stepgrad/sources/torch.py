"""A PyTorch scalar graph as an engine graph: walk ``grad_fn.next_functions`` from a 1-element
tensor down to its leaves.

torch is never imported here: a tensor's module is already loaded by whoever made the tensor,
and everything is read from it (``sys.modules["torch"]``). Nothing the user holds is changed:
the walk reads ``grad_fn`` nodes and their saved values, and numbers are recomputed on detached
copies under ``no_grad``.

What each backward node is, and where its numbers are
------------------------------------------------------
Leaves are ``AccumulateGrad`` nodes (``.variable`` is the leaf tensor). An input that takes no
gradient (a Python number, a tensor without ``requires_grad``) is ``None`` in
``next_functions``: a constant, whose number comes from what the node saved for its backward
(:data:`SPECS`): ``MulBackward0`` keeps both factors (``_saved_self``, ``_saved_other``),
``DivBackward0`` both operands, ``PowBackward0`` its exponent (``_saved_exponent``, a Python
number), ``PowBackward2`` its base (``_saved_self``, a number) and ``Add``/``Sub`` their
``_saved_alpha`` (``torch.add(a, b, alpha=2)`` is ``a + 2*b``).

PyTorch does not keep the number in ``x + 2``, ``x - 2`` or ``2 - x`` (their derivatives do not
need it). stepgrad works it out from values PyTorch does keep: the output tensor itself, the
inputs a consumer saved (``_saved_self`` of ``(x + 2)**2``), or a consumer's result
(``_saved_result`` of ``tanh(x + 2)``, undone with atanh). Of the numbers that give back exactly
PyTorch's own value, it takes the one with the fewest digits (the ``2`` that was typed; see
:func:`_pin`). 0 has the fewest of all: Python's ``sum()`` starts from the integer 0, so
``sum([a, b])`` is PyTorch's ``(a + 0) + b``, and an ``x + 0`` (or ``x - 0``) worked out so is
shown as ``x``: ``a + b``, the sum as typed. The value kept may lie many ops below the number
(the output of a sum over hundreds of samples, whose partial sums PyTorch does not keep): every
op on the way is replayed with PyTorch to check a candidate. Where nothing pins the number down
(``(x + 1) + 2`` under a tanh: only the sum is known) stepgrad says so rather than guess.

A leaf changed in place after the forward pass (``x -= lr * x.grad`` under ``no_grad``): where a
node saved that leaf, PyTorch's ``backward()`` refuses the graph, and so does stepgrad. Where none
did, ``backward()`` runs on the values the nodes kept (a tanh's saved result, the output), which
the leaves no longer give: each node PyTorch kept a value of holds that value in the copy, the
nodes in between are computed from it, and :attr:`~stepgrad.sources.common.Imported.stale` says
so. A number worked out from a kept value (above) is worked out from the leaves as they are now.

``backward()`` frees what the nodes saved (unless ``retain_graph=True``): after it, a graph whose
constants only the saved values knew cannot be read, and stepgrad says so.

Numbers
-------
Leaves and constants of a float64 graph are taken exactly. In a float32 (or half) graph each is
the shortest decimal that rounds to the tensor's number (``torch.tensor(0.1)`` holds
``0.100000001490116``: stepgrad reads ``0.1``), and stepgrad computes in float64, so its grads are
those of the same graph built in float64.
"""

from __future__ import annotations

import math
import struct
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine import OPS, DomainError, Value

from .common import (
    MAX_NODES,
    Imported,
    SourceError,
    out_of_date,
    shortest,
    too_large,
    where,
    with_article,
)

__all__ = ["KNOWN", "SPECS", "from_torch", "is_tensor"]

KNOWN = (
    "Add, Sub, Mul, Div, Pow, Neg, Tanh, Exp, Log, Sin, Cos, Sigmoid, Relu, Sqrt, Abs, "
    "Reciprocal, and sums, means, views, clones and dtype changes of one number"
)


def is_tensor(value: object) -> bool:
    """Whether ``value`` is a torch tensor (without importing torch: if it is one, torch is
    loaded already)."""
    torch = sys.modules.get("torch")
    tensor = getattr(torch, "Tensor", None)
    return isinstance(tensor, type) and isinstance(value, tensor)


# --- the backward nodes stepgrad reads ----------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """One input of a node, in the op's order.

    Attributes:
        next: its index in ``next_functions``, or None when PyTorch keeps it only as a number.
        saved: the attribute where the node saved this input's value (``_saved_self``), or None.
            For a constant input that is where its number is; for an input that is a node, it is
            a value PyTorch kept of that node.
    """

    next: int | None
    saved: str | None = None


Downstream = tuple[float, Callable[[Any], float], float]
"""Where a node's value shows in a value PyTorch kept: an estimate of the node's value (worked
back from the kept value in float64, so without the roundings PyTorch made on the way), PyTorch's
own forward from a value of the node to that kept value, and the kept value."""

Invert = Callable[[float, int, list[float], float], "float | None"]
"""``(out, position, values of every input (the one at position unused), alpha)`` -> the input
at ``position`` that gives ``out``, or None; an estimate only (it is checked afterwards)."""


@dataclass(frozen=True)
class Spec:
    """How stepgrad reads one kind of backward node.

    Attributes:
        op: the engine op it becomes; ``"rsub"`` is ``b - a`` and ``"1/"`` is ``1/a``;
            ``"pass"`` is no op at all (a sum, a view... of one number is that number).
        slots: the op's inputs in order.
        replay: PyTorch's own forward (``torch`` first), over the inputs' values and alpha.
        invert: see :data:`Invert`; None when no input can be worked out from the output.
        result: whether the node saved its own output as ``_saved_result``.
    """

    op: str
    slots: tuple[Slot, ...]
    replay: Callable[..., Any]
    invert: Invert | None = None
    result: bool = False


def _atanh(y: float) -> float | None:
    return math.atanh(y) if -1 < y < 1 else None


def _logit(y: float) -> float | None:
    return math.log(y / (1 - y)) if 0 < y < 1 else None


def _log(y: float) -> float | None:
    return math.log(y) if y > 0 else None


def _exp(y: float) -> float | None:
    return math.exp(y) if y < 709 else None


def _div(a: float, b: float) -> float | None:
    return a / b if b != 0 else None


def _unary(function: Callable[[float], float | None]) -> Invert:
    return lambda out, position, values, alpha: function(out)


_TWO = (Slot(0), Slot(1))
_FACTORS = (Slot(0, "_saved_self"), Slot(1, "_saved_other"))
_ONE = (Slot(0),)
_ONE_SAVED = (Slot(0, "_saved_self"),)


def _add_invert(out: float, p: int, v: list[float], alpha: float) -> float | None:
    return out - alpha * v[1] if p == 0 else _div(out - v[0], alpha)


def _sub_invert(out: float, p: int, v: list[float], alpha: float) -> float | None:
    return out + alpha * v[1] if p == 0 else _div(v[0] - out, alpha)


def _rsub_invert(out: float, p: int, v: list[float], alpha: float) -> float | None:
    return _div(v[1] - out, alpha) if p == 0 else out + alpha * v[0]  # out = b - alpha*a


def _mul_invert(out: float, p: int, v: list[float], alpha: float) -> float | None:
    return _div(out, v[1 - p])


def _div_invert(out: float, p: int, v: list[float], alpha: float) -> float | None:
    return out * v[1] if p == 0 else _div(v[0], out)


# fmt: off
SPECS: dict[str, Spec] = {
    "AddBackward0": Spec("+", _TWO, lambda t, a, b, al: t.add(a, b, alpha=al), _add_invert),
    "AddBackward1": Spec("+", (Slot(0), Slot(None)),
                         lambda t, a, b, al: t.add(a, b, alpha=al), _add_invert),
    "SubBackward0": Spec("-", _TWO, lambda t, a, b, al: t.sub(a, b, alpha=al), _sub_invert),
    "SubBackward1": Spec("-", (Slot(0), Slot(None)),
                         lambda t, a, b, al: t.sub(a, b, alpha=al), _sub_invert),
    "RsubBackward0": Spec("rsub", _TWO, lambda t, a, b, al: t.rsub(a, b, alpha=al), _rsub_invert),
    "RsubBackward1": Spec("rsub", (Slot(0), Slot(None)),
                          lambda t, a, b, al: t.rsub(a, b, alpha=al), _rsub_invert),
    "MulBackward0": Spec("*", _FACTORS, lambda t, a, b, al: t.mul(a, b), _mul_invert),
    "MulBackward1": Spec("*", (Slot(0), Slot(None, "_saved_other")),
                         lambda t, a, b, al: t.mul(a, b), _mul_invert),
    "DivBackward0": Spec("/", _FACTORS, lambda t, a, b, al: t.div(a, b), _div_invert),
    "DivBackward1": Spec("/", (Slot(0), Slot(None, "_saved_other")),
                         lambda t, a, b, al: t.div(a, b), _div_invert),
    "PowBackward0": Spec("**", (Slot(0, "_saved_self"), Slot(None, "_saved_exponent")),
                         lambda t, a, b, al: t.pow(a, b)),
    "PowBackward1": Spec("**", (Slot(0, "_saved_self"), Slot(1, "_saved_exponent")),
                         lambda t, a, b, al: t.pow(a, b), result=True),
    "PowBackward2": Spec("**", (Slot(None, "_saved_self"), Slot(0, "_saved_exponent")),
                         lambda t, a, b, al: t.pow(a, b), result=True),
    "NegBackward0": Spec("neg", _ONE, lambda t, a, al: t.neg(a), _unary(lambda y: -y)),
    "TanhBackward0": Spec("tanh", _ONE, lambda t, a, al: t.tanh(a), _unary(_atanh), True),
    "ExpBackward0": Spec("exp", _ONE, lambda t, a, al: t.exp(a), _unary(_log), True),
    "LogBackward0": Spec("log", _ONE_SAVED, lambda t, a, al: t.log(a), _unary(_exp)),
    "SinBackward0": Spec("sin", _ONE_SAVED, lambda t, a, al: t.sin(a)),
    "CosBackward0": Spec("cos", _ONE_SAVED, lambda t, a, al: t.cos(a)),
    "SigmoidBackward0": Spec("sigmoid", _ONE, lambda t, a, al: t.sigmoid(a), _unary(_logit), True),
    "ReluBackward0": Spec("relu", _ONE, lambda t, a, al: t.relu(a),
                          _unary(lambda y: y if y > 0 else None), True),
    "SqrtBackward0": Spec("sqrt", _ONE, lambda t, a, al: t.sqrt(a),
                          _unary(lambda y: y * y if y >= 0 else None), True),
    "AbsBackward0": Spec("abs", _ONE_SAVED, lambda t, a, al: t.abs(a)),
    "ReciprocalBackward0": Spec("1/", _ONE, lambda t, a, al: t.reciprocal(a),
                                _unary(lambda y: _div(1.0, y)), True),
}
_PASS = Spec("pass", _ONE, lambda t, a, al: a, _unary(lambda y: y))
for _name in ("SumBackward0", "SumBackward1", "MeanBackward0", "MeanBackward1", "ViewBackward0",
              "UnsafeViewBackward0", "ReshapeAliasBackward0", "SqueezeBackward0",
              "SqueezeBackward1", "SqueezeBackward2", "SqueezeBackward3", "SqueezeBackward4",
              "UnsqueezeBackward0", "SelectBackward0", "CloneBackward0", "ExpandBackward0",
              "AliasBackward0", "ToCopyBackward0"):
    SPECS[_name] = _PASS
# fmt: on


# --- the walk -------------------------------------------------------------------------------


@dataclass(eq=False)
class _Const:
    """A number PyTorch keeps (a tensor or a Python number), or None until worked out."""

    value: Any
    number: float | None = None  # the number stepgrad writes (shortest at its precision)
    worked_out: bool = False  # whether stepgrad worked it out (PyTorch did not keep it)


@dataclass(eq=False)
class _Node:
    name: str  # the backward node's class name, "AccumulateGrad" for a leaf
    fn: Any
    spec: Spec | None  # None for a leaf
    dtype: Any = None
    leaf: Any = None  # the leaf tensor
    inputs: list[_Node | _Const] = field(default_factory=list)
    alpha: float = 1.0
    kept: Any = None  # a value PyTorch kept of this node (a tensor), if any
    value: Any = None  # the value recomputed with PyTorch, once known
    stored: float | None = None  # the kept value, where it is not what the leaves give now
    consumers: list[tuple[_Node, int]] = field(default_factory=list)


class _Graph:
    def __init__(self, torch: Any, root: Any) -> None:
        self.torch = torch
        self.root = root
        self.nodes: dict[int, _Node] = {}
        self.via: dict[int, tuple[int, str]] = {}
        self.keep: list[object] = [root]
        self.freed = False  # whether backward() freed values the nodes saved

    def path(self, node: _Node) -> list[str]:
        key = id(node.fn)
        ops: list[str] = []
        while key in self.via and len(ops) <= MAX_NODES:
            key, op = self.via[key]
            ops.append(op)
        return ops[::-1]

    def where(self, node: _Node) -> str:
        return where(self.path(node))

    # the walk: every node, its inputs and the values PyTorch kept

    def walk(self) -> _Node:
        root = self.root
        top = root.grad_fn if root.grad_fn is not None else _LeafFn(root)
        stack = [top]
        while stack:
            fn = stack.pop()
            if id(fn) in self.nodes:
                continue
            if len(self.nodes) >= MAX_NODES:
                raise too_large(MAX_NODES)
            node = self.read(fn)
            self.nodes[id(fn)] = node
            self.keep.append(fn)
            for position, slot in enumerate(node.spec.slots if node.spec else ()):
                child = fn.next_functions[slot.next][0] if slot.next is not None else None
                if child is None:
                    node.inputs.append(_Const(self.saved(node, slot, constant=True)))
                    continue
                self.via.setdefault(id(child), (id(fn), node.name))
                if id(child) not in self.nodes:
                    stack.append(child)
                node.inputs.append(_Ref(id(child), position))  # type: ignore[arg-type]
        for node in self.nodes.values():  # references become nodes, now that all are read
            for position, item in enumerate(node.inputs):
                if isinstance(item, _Ref):
                    child = self.nodes[item.key]
                    node.inputs[position] = child
                    child.consumers.append((node, position))
        top_node = self.nodes[id(top)]
        self.collect_kept(top_node)
        return top_node

    def read(self, fn: Any) -> _Node:
        name = type(fn).__name__
        if isinstance(fn, _LeafFn) or name == "AccumulateGrad":
            leaf = fn.variable
            node = _Node("AccumulateGrad", fn, None, leaf.dtype, leaf)
            self.check_number(node, leaf.dtype, tuple(leaf.shape))
            return node
        spec = SPECS.get(name)
        if spec is None or len(fn.next_functions) != sum(s.next is not None for s in spec.slots):
            raise SourceError(
                f"PyTorch's {name} is not an op stepgrad knows ({where(self.path_of(fn))})",
                hint=f"it reads {KNOWN}",
            )
        node = _Node(name, fn, spec)
        metadata = getattr(fn, "_input_metadata", None)
        if metadata:
            node.dtype = metadata[0].dtype
            self.check_number(node, metadata[0].dtype, tuple(metadata[0].shape))
        alpha = getattr(fn, "_saved_alpha", 1)
        node.alpha = alpha
        if isinstance(alpha, complex) or not isinstance(alpha, (int, float)):
            raise SourceError(f"{name} has alpha {alpha!r}, not a real number")
        return node

    def path_of(self, fn: Any) -> list[str]:
        return self.path(_Node("", fn, None))

    def check_number(self, node: _Node, dtype: Any, shape: tuple[int, ...]) -> None:
        if math.prod(shape) != 1:
            what = "a leaf" if node.spec is None else node.name
            raise SourceError(
                f"stepgrad steps through graphs of single numbers, and {what} makes a tensor of "
                f"shape {_shape(shape)} ({self.where(node)})",
                hint="show the graph of one number, e.g. one sample's loss",
            )
        if not getattr(dtype, "is_floating_point", True):
            raise SourceError(
                f"stepgrad steps through real numbers, and {node.name} makes a {dtype} tensor "
                f"({self.where(node)})"
            )

    def saved(self, node: _Node, slot: Slot, *, constant: bool) -> Any:
        """The value ``node`` saved for ``slot`` (a tensor or a number), or None."""
        if slot.saved is None:
            return None
        try:
            value = getattr(node.fn, slot.saved)
        except RuntimeError as err:
            if "inplace" in str(err):
                # the graph's stored values no longer fit its inputs, and the constants
                # stepgrad works out from them would be made up: PyTorch's own backward()
                # refuses this graph too
                raise SourceError(
                    f"a tensor this graph saved was changed in place after the graph was built "
                    f"(PyTorch's backward() refuses the graph too): the one {node.name} saved "
                    f"({self.where(node)})",
                    hint="build the graph again and show it",
                ) from None
            if not constant:
                self.freed = True
                return None  # a value to check against is lost, not the graph
            raise SourceError(
                f"PyTorch freed the numbers this graph saved when backward() ran, and stepgrad "
                f"needs one: the constant of {node.name} ({self.where(node)})",
                hint="show the graph before calling backward(), or call "
                "backward(retain_graph=True)",
            ) from None
        if constant and value is None:
            raise SourceError(f"PyTorch kept no value for {node.name}'s constant")
        if self.is_tensor(value):
            if constant and value.numel() != 1:
                raise SourceError(
                    f"stepgrad steps through graphs of single numbers, and {node.name} has a "
                    f"constant of shape {_shape(tuple(value.shape))} ({self.where(node)})"
                )
            return value.detach()
        return value

    def is_tensor(self, value: object) -> bool:
        return isinstance(value, self.torch.Tensor)

    def collect_kept(self, top: _Node) -> None:
        """Record each value PyTorch kept: the output, results, and inputs saved by their
        consumers."""
        top.kept = self.root.detach()
        for node in self.nodes.values():
            if node.spec is None:
                continue
            if node.spec.result and node.kept is None:
                node.kept = self.saved(node, Slot(None, "_saved_result"), constant=False)
            for slot, item in zip(node.spec.slots, node.inputs, strict=True):
                if isinstance(item, _Node) and item.kept is None and slot.saved is not None:
                    value = self.saved(node, slot, constant=False)
                    if self.is_tensor(value):
                        item.kept = value


@dataclass(frozen=True)
class _Ref:
    key: int
    position: int


class _LeafFn:
    """Stands for the missing ``grad_fn`` of an output that is itself a leaf."""

    def __init__(self, variable: Any) -> None:
        self.variable = variable
        self.next_functions = ()


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


# --- the numbers ----------------------------------------------------------------------------


class _Numbers:
    """Recompute every node's value with PyTorch, working out the constants it did not keep."""

    def __init__(self, graph: _Graph, order: list[_Node]) -> None:
        self.graph = graph
        self.torch = graph.torch
        self.order = order

    def run(self) -> None:
        with self.torch.no_grad():
            pending = list(self.order)
            while pending:
                left = [node for node in pending if not self.compute(node)]
                if len(left) == len(pending):
                    stuck = [n for n in left if _unknown(n) is not None and self.ready(n)]
                    raise self.not_kept((stuck or left)[0])
                pending = left

    def ready(self, node: _Node) -> bool:
        return all(not isinstance(i, _Node) or i.value is not None for i in node.inputs)

    def compute(self, node: _Node) -> bool:
        """Compute ``node``'s value if its inputs are known; False if not yet."""
        if node.spec is None:
            node.value = node.leaf.detach()
            return True
        if not self.ready(node):
            return False
        position = _unknown(node)
        if position is not None and not self.solve(node, position):
            return False
        node.value = self.replay(node, {})
        return True

    def replay(self, node: _Node, given: dict[int, Any]) -> Any:
        """PyTorch's forward of ``node``, with the inputs in ``given`` put in by position."""
        assert node.spec is not None
        args = [given[p] if p in given else i.value for p, i in enumerate(node.inputs)]
        out = node.spec.replay(self.torch, *args, node.alpha)
        if node.dtype is not None and out.dtype != node.dtype:
            out = out.to(node.dtype)
        return out

    def solve(self, node: _Node, position: int) -> bool:
        """Work out ``node``'s constant at ``position`` from a value PyTorch kept downstream."""
        assert node.spec is not None and node.spec.invert is not None
        found = self.downstream(node)
        if found is None:
            return False
        value, reach, target = found
        values = [0.0 if p == position else _float(i.value) for p, i in enumerate(node.inputs)]
        guess = node.spec.invert(value, position, values, node.alpha)
        if guess is None or not math.isfinite(guess):
            return False
        dtype = node.dtype or self.graph.root.dtype

        def gives(candidate: float) -> float:
            number = self.torch.tensor(candidate, dtype=dtype)
            return reach(self.replay(node, {position: number}))

        number = _pin(gives, target, guess)
        if number is None:
            return False
        const = node.inputs[position]
        assert isinstance(const, _Const)
        const.value = self.torch.tensor(number, dtype=dtype)
        const.number = number
        const.worked_out = True
        return True

    def downstream(self, node: _Node) -> Downstream | None:
        """Where ``node``'s value shows in a value PyTorch kept: its own kept value, else one
        further down, through consumers whose other inputs are known (see :data:`Downstream`).

        Iterative, and linear in the graph: a sum of thousands of terms is a chain of thousands
        of consumers (consumers lead to the output: there are no cycles). A way down through an
        op that cannot be undone at the value kept (atanh of a tanh that rounded to 1) is left
        for another."""
        banned: set[tuple[int, int]] = set()
        while (path := self.route(node, banned)) is not None:
            kept = _float((path[-1][0] if path else node).kept)
            guess = kept
            for consumer, position in reversed(path):  # back up the path, in float64
                assert consumer.spec is not None and consumer.spec.invert is not None
                values = [
                    0.0 if p == position else _float(i.value) for p, i in enumerate(consumer.inputs)
                ]
                above = consumer.spec.invert(guess, position, values, consumer.alpha)
                if above is None or not math.isfinite(above):
                    banned.add((id(consumer), position))
                    break
                guess = above
            else:
                return guess, self.replayer(path), kept
        return None

    def replayer(self, path: list[tuple[_Node, int]]) -> Callable[[Any], float]:
        """PyTorch's forward down ``path``, from a value of its first node's input."""

        def reach(value: Any) -> float:
            for consumer, position in path:
                value = self.replay(consumer, {position: value})
            return _float(value)

        return reach

    def route(self, start: _Node, banned: set[tuple[int, int]]) -> list[tuple[_Node, int]] | None:
        """The consumers (and the position ``start``'s value takes in each) from ``start`` down
        to a node whose value PyTorch kept, or None; depth first, each node tried once, and no
        step in ``banned`` (a consumer's id and the position) taken."""
        if start.kept is not None:
            return []
        dead: set[int] = set()
        stack = [self.hops(start)]
        taken: list[tuple[_Node, int]] = []  # the hop into each node on the stack but the first
        while stack:
            hop = next(stack[-1], None)
            if hop is None:
                stack.pop()
                if taken:
                    dead.add(id(taken.pop()[0]))
                continue
            consumer = hop[0]
            if id(consumer) in dead or (id(consumer), hop[1]) in banned:
                continue
            taken.append(hop)
            if consumer.kept is not None:
                return taken
            stack.append(self.hops(consumer))
        return None

    def hops(self, node: _Node) -> Iterator[tuple[_Node, int]]:
        """The consumers ``node``'s value can be worked back from: an op with an inverse whose
        other inputs are known."""
        for consumer, position in node.consumers:
            spec = consumer.spec
            if spec is None or spec.invert is None or _unknown(consumer) is not None:
                continue
            others = [i for p, i in enumerate(consumer.inputs) if p != position]
            if any(i is node or (isinstance(i, _Node) and i.value is None) for i in others):
                continue
            yield consumer, position

    def check_kept(self) -> tuple[str | None, list[str]]:
        """Compare each value PyTorch kept with what the leaves give now. A node whose kept
        value is out of date (a leaf changed after the forward pass) gets that value as
        ``stored``: PyTorch's own backward() reads it (a tanh's saved result), so the copy holds
        it too. Returns what is out of date (the first such node, or None) and a warning for a
        number that overflowed in the tensor's own type (the copy, in float64, holds it)."""
        stale: str | None = None
        warnings: list[str] = []
        for node in self.order:
            if node.kept is None or node.value is None or node.spec is None:
                continue
            now, kept = _float(node.value), _float(node.kept)
            if not math.isfinite(kept) and (kept == now or math.isnan(kept) and math.isnan(now)):
                # not out of date: the number overflowed in the tensor's own type, and the
                # copy (in float64, finite, or it would have been refused) differs from it
                if not warnings:
                    warnings.append(
                        f"PyTorch's {node.name} is {kept!r} in {node.value.dtype} (the number "
                        "overflows there); stepgrad computes in float64, where it is finite, "
                        "and steps through those values"
                    )
                continue
            eps = self.torch.finfo(node.value.dtype).eps
            if not math.isclose(now, kept, rel_tol=64 * eps, abs_tol=1e-300):
                if math.isfinite(kept):
                    node.stored = kept
                stale = stale or out_of_date(f"PyTorch's {node.name}", kept, now)
        return stale, warnings

    def not_kept(self, node: _Node) -> SourceError:
        return SourceError(
            f"PyTorch does not keep the number in {node.name} ({_what(node)}), and stepgrad "
            f"cannot work it out from the values PyTorch does keep ({self.graph.where(node)})",
            hint="make that number a tensor with requires_grad=True"
            + (", or show the graph before calling backward()" if self.graph.freed else ""),
        )


def _unknown(node: _Node) -> int | None:
    for position, item in enumerate(node.inputs):
        if isinstance(item, _Const) and item.value is None:
            return position
    return None


def _what(node: _Node) -> str:
    """``x + number``, ``number - x``...: where the number PyTorch did not keep stands."""
    op = node.spec.op if node.spec else ""
    first = _unknown(node) == 0
    if op == "+":
        return "number + x" if first else "x + number"
    if op == "-":
        return "number - x" if first else "x - number"
    if op == "rsub":  # b - alpha*a
        return "x - number" if first else "number - x"
    return "its constant"


def _float(value: Any) -> float:
    return float(value.item()) if hasattr(value, "item") else float(value)


def _pin(gives: Callable[[float], float], target: float, guess: float) -> float | None:
    """The number with the fewest digits for which PyTorch's forward ``gives`` exactly the
    value it kept, ``target``; None if no number does. ``guess`` is where to look.

    First 0 (Python's ``sum()`` starts from it, and PyTorch does not keep it), then the short
    numbers nearest the guess: the number typed is one of those as a rule. A guess worked back
    through a long chain of additions whose results PyTorch did not keep (a sum over many
    samples) can be off by much more than its last digits, since the roundings PyTorch made on
    the way are lost. Then every number that gives the target is found by bisection, and the one
    with the fewest digits among them is taken: the ops a number is worked back through (``+ -
    * /`` by known numbers, tanh, exp, sigmoid, relu, sqrt, reciprocal, log) never turn back, so
    the numbers that give the target lie side by side.
    """
    tried: dict[float, bool] = {}

    def fits(candidate: float) -> bool:
        if candidate not in tried:
            tried[candidate] = gives(candidate) == target
        return tried[candidate]

    if fits(0.0):
        return 0.0
    for digits in range(1, 18):
        for candidate in _near(guess, digits):
            if fits(candidate):
                return candidate
    span = _span(lambda candidate: _side(gives(candidate), target), guess)
    if span is None:
        return None
    return _fewest_digits(*span, fits)


def _near(x: float, digits: int) -> list[float]:
    """The numbers of ``digits`` significant digits nearest ``x``: the nearest, then the ones
    either side of it, nearer first."""
    text = f"{x:.{digits - 1}e}"
    nearest = float(text)
    unit = 10.0 ** (int(text.partition("e")[2]) - digits + 1)
    around = [float(f"{c:.{digits - 1}e}") for c in (nearest - unit, nearest + unit)]
    return [nearest, *sorted(around, key=lambda c: abs(c - x))]


def _side(value: float, target: float) -> int | None:
    """-1, 0 or 1 as ``value`` is below, at or above ``target``; None for NaN."""
    if math.isnan(value):
        return None
    return (value > target) - (value < target)


_LAST = 0x7FEF_FFFF_FFFF_FFFF
"""The key (see :func:`_key`) of the largest finite float."""


def _key(x: float) -> int:
    """``x``'s place among the floats: neighbouring floats have neighbouring keys, so a
    bisection over keys ends within 64 halvings whatever the numbers' sizes."""
    bits: int = struct.unpack("<q", struct.pack("<d", x))[0]
    return bits if bits >= 0 else -(bits & 0x7FFF_FFFF_FFFF_FFFF)


def _unkey(key: int) -> float:
    bits = key if key >= 0 else -key | 1 << 63
    number: float = struct.unpack("<d", struct.pack("<Q", bits))[0]
    return number


def _span(side: Callable[[float], int | None], guess: float) -> tuple[float, float] | None:
    """The least and the greatest number whose ``side`` is 0, found from ``guess`` outwards,
    given that ``side`` never turns back; None if no number has it (the target falls between
    the values two neighbouring numbers give)."""

    def at(key: int) -> int | None:
        return side(_unkey(key))

    start = _key(guess)
    first = at(start)
    if first is None:
        return None
    if first != 0:  # step out both ways, twice as far each time, to the target or past it
        found: tuple[int, int] | None = None
        step = 1
        while found is None and step <= 2 * _LAST:
            for key in (start + step, start - step):
                here = at(key) if abs(key) <= _LAST else None
                if here is not None and here != first:
                    found = (key, here)
                    break
            step *= 2
        if found is None:
            return None
        near, (far, there) = start, found
        while there != 0:  # the target is between near and far
            if abs(far - near) <= 1:
                return None
            middle = (near + far) // 2
            here = at(middle)
            if here is None:
                return None
            if here == first:
                near = middle
            else:
                far, there = middle, here
        start = far
    return _unkey(_edge(at, start, -1)), _unkey(_edge(at, start, 1))


def _edge(at: Callable[[int], int | None], start: int, direction: int) -> int:
    """The key furthest from ``start`` in ``direction`` up to which ``at`` stays 0."""
    good, step = start, 1
    while True:
        key = start + direction * step
        if abs(key) >= _LAST:
            key = direction * _LAST
            if at(key) == 0:
                return key
            bad = key
            break
        if at(key) != 0:
            bad = key
            break
        good, step = key, step * 2
    while abs(bad - good) > 1:
        middle = (good + bad) // 2
        if at(middle) == 0:
            good = middle
        else:
            bad = middle
    return good


def _fewest_digits(low: float, high: float, fits: Callable[[float], bool]) -> float | None:
    """The number with the fewest significant digits between ``low`` and ``high`` that
    ``fits``."""
    if low <= 0 <= high and fits(0.0):
        return 0.0
    middle = low / 2 + high / 2
    for digits in range(1, 18):
        for x in (middle, low, high):
            candidate = float(f"{x:.{digits - 1}e}")
            if low <= candidate <= high and fits(candidate):
                return candidate
    return None


# --- the engine graph -----------------------------------------------------------------------


def _number(torch: Any, value: Any) -> float:
    """A kept number as stepgrad writes it: exact for float64 and Python numbers, the shortest
    decimal that rounds to it for float32 and half tensors."""
    if isinstance(value, torch.Tensor):
        if value.is_complex():
            raise SourceError("stepgrad steps through real numbers, not complex tensors")
        x = float(value.item())
        dtype = value.dtype
        if dtype.is_floating_point and dtype != torch.float64:
            return shortest(x, lambda c: float(torch.tensor(c, dtype=dtype).item()) == x)
        return x
    if isinstance(value, complex):
        raise SourceError("stepgrad steps through real numbers, not complex ones")
    return float(value)


def _build(graph: _Graph, order: list[_Node], labels: Mapping[int, str]) -> dict[int, Value]:
    torch = graph.torch
    made: dict[int, Value] = {}
    for node in order:
        label = labels.get(id(node.fn))
        if node.spec is None:
            number = _number(torch, node.leaf)
            if not math.isfinite(number):
                raise SourceError(
                    f"a leaf holds {number}, not a finite number ({graph.where(node)})"
                )
            made[id(node.fn)] = Value(number, label)
            continue
        args = []
        for item in node.inputs:
            if isinstance(item, _Node):
                args.append(made[id(item.fn)])
            else:
                number = item.number if item.number is not None else _number(torch, item.value)
                if not math.isfinite(number):
                    raise SourceError(
                        f"{node.name} has the constant {number}, not a finite number "
                        f"({graph.where(node)})"
                    )
                args.append(Value.constant(number))
        op = node.spec.op
        through = _adds_nothing(node)
        if through is not None:  # 0 + x is x: the 0 sum() starts from is no step to take
            op, args = "pass", [args[through]]
        try:
            copy = _op(op, args, node.alpha)
        except DomainError as err:
            raise SourceError(
                f"stepgrad cannot compute {node.name}: {err.reason} ({graph.where(node)})"
            ) from None
        if label is not None and (op != "pass" or copy.label is None):
            copy.label = label
        if node.stored is not None and copy.parents:  # out of date: what backward() reads
            copy.data = node.stored  # (a sum of one leaf is the leaf, which holds its own)
        made[id(node.fn)] = copy
    return made


def _adds_nothing(node: _Node) -> int | None:
    """The position of the input ``node`` passes on unchanged, when it adds (or subtracts) a
    number stepgrad worked out as 0; else None. Python's ``sum()`` starts from the integer 0,
    which PyTorch does not keep: ``sum([a, b])`` is ``(0 + a) + b``, shown as ``a + b``."""
    assert node.spec is not None
    op = node.spec.op
    for position, item in enumerate(node.inputs):
        if isinstance(item, _Const) and item.worked_out and item.number == 0:
            if op == "+" or (op == "-" and position == 1) or (op == "rsub" and position == 0):
                return 1 - position  # rsub is b - alpha*a: a = 0 leaves b
    return None


def _op(op: str, args: list[Value], alpha: float) -> Value:
    if op == "pass":
        return args[0]
    if op == "1/":
        return Value.constant(1.0) / args[0]
    if op in ("+", "-", "rsub"):
        a, b = (args[1], args[0]) if op == "rsub" else (args[0], args[1])  # rsub: b - alpha*a
        scaled = b if alpha == 1 else Value.constant(float(alpha)) * b
        return a + scaled if op == "+" else a - scaled
    return args[0]._apply(OPS[op], *args)


def _order(top: _Node) -> list[_Node]:
    seen = {id(top)}
    order: list[_Node] = []
    stack: list[tuple[_Node, int]] = [(top, 0)]
    while stack:
        node, i = stack[-1]
        if i < len(node.inputs):
            stack[-1] = (node, i + 1)
            child = node.inputs[i]
            if isinstance(child, _Node) and id(child) not in seen:
                seen.add(id(child))
                stack.append((child, 0))
        else:
            stack.pop()
            order.append(node)
    return order


def from_torch(root: Any, names: Mapping[str, Any] | None = None) -> Imported:
    """``root``'s graph as engine Values: leaves take a gradient, constants do not.

    ``names`` maps a name to a leaf tensor or a tensor an op made; tensors without
    ``requires_grad`` are constants, written as numbers, and their names are not used.
    Raises :class:`SourceError` (one line) for anything stepgrad cannot read.
    """
    torch = sys.modules["torch"]
    if not (root.grad_fn is not None or root.requires_grad):
        raise SourceError(
            "this tensor is not part of a graph: it does not require grad (make its inputs "
            "with requires_grad=True, outside torch.no_grad())"
        )
    if root.numel() != 1:
        raise SourceError(
            f"stepgrad steps through graphs of single numbers, and this tensor has shape "
            f"{_shape(tuple(root.shape))}",
            hint="show the graph of one number, e.g. one sample's loss",
        )
    if root.device.type == "meta":
        raise SourceError(
            "this tensor is on the meta device, which holds shapes but no numbers: there are "
            "no values to step through"
        )
    graph = _Graph(torch, root)
    top = graph.walk()
    order = _order(top)
    numbers = _Numbers(graph, order)
    numbers.run()
    leaves = {id(node.leaf): node for node in order if node.leaf is not None}
    labels: dict[int, str] = {}
    for name, tensor in (names or {}).items():
        if not isinstance(tensor, torch.Tensor):
            raise SourceError(
                f"names: {name!r} is {with_article(type(tensor).__name__)}, not a tensor"
            )
        if tensor.grad_fn is not None:
            key = id(tensor.grad_fn)
        elif id(tensor) in leaves:
            key = id(leaves[id(tensor)].fn)
        else:  # a constant (written as its number), or a tensor this graph does not use
            continue
        if key in graph.nodes:
            labels.setdefault(key, name)
    stale, warnings = numbers.check_kept()
    made = _build(graph, order, labels)
    nodes = dict(made)
    for key, node in leaves.items():  # the user's leaf tensors, beside their AccumulateGrad
        nodes[key] = made[id(node.fn)]
    title = labels.get(id(top.fn))
    keep = [*graph.keep, *order]
    return Imported(made[id(top.fn)], "torch", title, nodes, keep, stale, warnings)
