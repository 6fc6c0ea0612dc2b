"""The backward pass: iterative, ordered by pending counts, optionally recorded step by step.

A node *fires* once every edge that leads from it to a consumer has delivered its contribution
(Kahn's algorithm on the reversed graph, the "counting pass" of dbking77/autograd). Each pass
sums its own gradients apart from ``.grad``, as HIPS autograd does, and only adds them to
``.grad`` once the whole pass has succeeded: a failed pass changes nothing, and two passes
without ``zero_grad`` give exactly twice the grads of one, as in PyTorch.

Kahn's algorithm needs, for every node, the number of edges it waits for. Counting them is a
walk over the whole graph before the first node fires, which took 40% of a pass. Instead every
node keeps the number of edges to it from its consumers as the graph is built (``_uses``: the
ops add one for each input they take, and ``Value.parents`` keeps it right when a node's inputs
are reassigned). That is the count the pass needs unless the node is also an input of a node
outside the graph being differentiated: then the count is too high, the node never fires, the
pass sees it and counts afresh (:func:`_count`). A count is never too low, so a node never
fires early. Per-pass state lives on the nodes (``_g``, ``_pending``) and is marked with a
fresh object per pass (``_pass``): nothing needs resetting, and a pass stopped halfway leaves
nothing behind.

Why the loops look the way they do. CPython 3.11 specialises a function's bytecode (the
"adaptive interpreter") once the function has been called 8 times or has jumped back to the top
of a loop 8 times. ``while ready:`` compiles to a *conditional* jump back, which is not counted,
so a pass written that way runs unspecialised, about 2x slower, for its first 8 calls: all that
a one-shot ``stepgrad --json`` ever makes. Every loop here is therefore a ``for`` loop. The
firing loop runs ``for node in order:`` over a list that grows as nodes become ready: the list
is the FIFO queue, and once the loop ends it is the firing order, which a recorded pass keeps at
no cost. (Python 3.12 counts per instruction and has no such delay.)

The commonest ops (sum, difference, product, relu, tanh) have their local derivatives written
out in the firing loop instead of being called. Which op takes which written-out path is read
off the op table's *formulas* (the op whose derivatives read ``("b", "a")`` is the product,
whatever its name), so the table stays the one place that says what a derivative is; tests
check the written-out arithmetic against the table's functions bit for bit.

A recorded pass (``trace=True``) runs the same loop and only keeps copies of the numbers a
caller could change afterwards (``.grad`` before the pass and ``.data``: a training step changes
both). The edge records and the pass's own grads are rebuilt from them, with the op table's
functions, when a step or a grad is first looked at: the same float operations in the same
order, so the same numbers to the last bit.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple, overload

from .errors import GradientError
from .ops import OPS
from .value import Value

__all__ = [
    "Edge",
    "PassGrads",
    "Step",
    "Steps",
    "Trace",
    "backward",
    "nodes",
    "zero_grad",
]


class Edge(NamedTuple):
    """What one edge of a firing node sends to one of its inputs.

    ``grad_before`` and ``grad_after`` are the parent's ``.grad`` as the app shows it: its value
    at the start of the pass plus this pass's contributions so far.
    """

    parent: Value
    index: int  # type: ignore[assignment]  # which input of the op: 0 for a, 1 for b
    local: float  # d node / d parent
    formula: str  # the same derivative, as written in the op table
    contribution: float  # upstream * local
    grad_before: float
    grad_after: float
    pending: int  # contributions the parent still waits for in this pass before it fires


class Step(NamedTuple):
    """One node firing: it sends ``upstream * local`` along every edge to an input."""

    node: Value
    upstream: float  # d output / d node, summed in this pass
    edges: tuple[Edge, ...]


class Steps(Sequence[Step]):
    """The steps of one pass; a :class:`Step` is made when it is looked at.

    The pass itself keeps only its firing order and copies of the numbers it read that a caller
    can change later: each reached node's ``.grad`` before the pass and ``.data``, and the
    ``.data`` of the constants it met. The first look at a step (or at the pass's grads)
    replays the pass from those copies into flat lists, which every later look reads.
    """

    __slots__ = ("_constants", "_grads", "_order", "_reached", "_record", "_snapshot")

    def __init__(
        self,
        order: list[Value],
        reached: list[Value],
        snapshot: tuple[list[float], list[float], list[float]],
        constants: list[Value],
    ) -> None:
        self._order = order  # the nodes in firing order
        self._reached = reached  # every node that took a gradient, the output first
        # per reached node: .grad before the pass, .data; then the constants' .data, in the
        # order of ``constants``
        self._snapshot = snapshot
        self._constants = constants  # the inputs that take no gradient, as the pass met them
        self._record: tuple[list[Any], list[Any]] | None = None  # made by _replay
        self._grads: list[float] = []  # this pass's grad of each reached node, by _replay

    def __len__(self) -> int:
        return len(self._order)

    @overload
    def __getitem__(self, i: int) -> Step: ...

    @overload
    def __getitem__(self, i: slice) -> list[Step]: ...

    def __getitem__(self, i: int | slice) -> Step | list[Step]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        steps, flat = self._record if self._record is not None else self._replay()
        count = len(self._order)
        if i < 0:
            i += count
        if not 0 <= i < count:
            raise IndexError("step index out of range")
        node = self._order[i]
        upstream = steps[2 * i]
        end = steps[2 * i + 3] if i + 1 < count else len(flat)
        formulas = OPS[node.op].formulas
        edges = []
        for k in range(steps[2 * i + 1], end, _EDGE):
            parent, index, local, before, base, pending = flat[k : k + _EDGE]
            # the same float operations as the pass: the same numbers to the last bit
            contribution = upstream * local
            edges.append(
                Edge(
                    parent,
                    index,
                    local,
                    formulas[index],
                    contribution,
                    base + before,
                    base + (before + contribution),
                    pending,
                )
            )
        return Step(node, upstream, tuple(edges))

    def __iter__(self) -> Iterator[Step]:
        for i in range(len(self._order)):
            yield self[i]

    def _own(self) -> list[float]:
        """This pass's grad of every reached node, in the order of ``reached``."""
        if self._record is None:
            self._replay()
        return self._grads

    def _replay(self) -> tuple[list[Any], list[Any]]:
        """Run the pass again over its own firing order and copied numbers, recording it.

        This is the plain reference loop: every local derivative is the op table's function
        (or constant), every sum the same ``before + upstream * local`` as the pass, so each
        number equals the pass's own to the last bit (the tests check this on random graphs).
        Its state is its own (lists indexed by each node's place in ``reached``), not the
        nodes' ``_g``: a pass may run meanwhile on another thread, and two threads may replay
        at once. The record is flat lists (no tuple per edge), which spares the garbage
        collector 50,000 new objects on a big graph. A graph reshaped after the pass (a node's
        ``parents``, ``op`` or ``requires_grad`` reassigned) is refused where it shows: a node
        would fire before all its consumers had sent, or an input was never seen by the pass.
        """
        order, reached = self._order, self._reached
        base, data, constant_data = self._snapshot
        # a constant has no place, nor has None (the second input of a unary op)
        place: dict[Value | None, int] = {node: i for i, node in enumerate(reached)}
        constant = dict(zip(self._constants, constant_data, strict=True))
        grads = [0.0] * len(reached)
        pending = [0] * len(reached)
        for node in order:
            for parent in (node._a, node._b):
                j = place.get(parent)  # None (a leaf has no first input) has no place either
                if j is not None:
                    pending[j] += 1
        steps: list[Any] = []  # per step: upstream, where its edges start in ``flat``
        flat: list[Any] = []  # per edge: parent, index, local, grad before, base, pending
        table = _TABLE
        grads[0] = 1.0  # the output's seed: the output is reached first
        try:
            for node in order:
                i = place[node]
                if pending[i]:
                    raise KeyError(node)  # it would fire before all its consumers sent
                upstream = grads[i]
                steps += upstream, len(flat)
                out = data[i]
                a, b = node._a, node._b
                if a is None:
                    raise KeyError(node)  # a leaf does not fire: the graph was reshaped
                if b is not None:
                    c0, c1, d0, d1 = table[node.op]
                    ja, jb = place.get(a), place.get(b)
                    x = constant[a] if ja is None else data[ja]
                    y = constant[b] if jb is None else data[jb]
                    if ja is not None:
                        local = d0(x, y, out) if c0 is None else c0
                        before = grads[ja]
                        grads[ja] = before + upstream * local
                        count = pending[ja] - 1
                        pending[ja] = count
                        flat += a, 0, local, before, base[ja], count
                    if jb is not None:
                        local = d1(x, y, out) if c1 is None else c1
                        before = grads[jb]
                        grads[jb] = before + upstream * local
                        count = pending[jb] - 1
                        pending[jb] = count
                        flat += b, 1, local, before, base[jb], count
                else:
                    c0, d0 = table[node.op]
                    ja = place.get(a)
                    if ja is not None:
                        local = d0(data[ja], out) if c0 is None else c0
                        before = grads[ja]
                        grads[ja] = before + upstream * local
                        count = pending[ja] - 1
                        pending[ja] = count
                        flat += a, 0, local, before, base[ja], count
            if any(pending):
                raise KeyError("an edge the pass did not deliver")
        except (KeyError, ValueError, ArithmeticError):
            raise RuntimeError(
                "the graph was changed after its backward pass was recorded (a node's "
                "parents, op or requires_grad): its steps cannot be rebuilt"
            ) from None
        self._grads = grads
        self._record = (steps, flat)
        return steps, flat


_EDGE = 6
"""Entries per edge in a :class:`Steps` record."""


class PassGrads(Mapping[Value, float]):
    """This pass's own gradient of every node it reached, as a read-only mapping.

    The pass keeps no copy of these numbers (that is a walk over every node, a tenth of a
    plain pass): the first read takes them from the steps' replay, which gives them to the
    last bit, and builds the dict.
    """

    __slots__ = ("_dict", "_steps")

    def __init__(self, steps: Steps) -> None:
        self._steps = steps
        self._dict: dict[Value, float] | None = None

    def _built(self) -> dict[Value, float]:
        if self._dict is None:
            self._dict = dict(zip(self._steps._reached, self._steps._own(), strict=True))
        return self._dict

    def __getitem__(self, node: Value) -> float:
        return self._built()[node]

    def __iter__(self) -> Iterator[Value]:
        return iter(self._built())

    def __len__(self) -> int:
        return len(self._steps._reached)


class Trace(NamedTuple):
    """A whole backward pass, in firing order."""

    root: Value
    steps: Steps
    grads: Mapping[Value, float]  # this pass's own gradient of every node it reached

    def __len__(self) -> int:
        return len(self.steps)


def nodes(root: Value) -> list[Value]:
    """Every node of ``root``'s graph once, parents before children (iterative DFS post-order)."""
    seen = {root}
    order: list[Value] = []
    stack: list[tuple[Value, int]] = [(root, 0)]
    for _ in iter(stack.__len__, 0):  # ``while stack:`` as a for loop: see the module's doc
        node, i = stack[-1]
        parent = node._a if i == 0 else node._b if i == 1 else None
        if parent is not None:
            stack[-1] = (node, i + 1)
            if parent not in seen:
                seen.add(parent)
                stack.append((parent, 0))
        else:
            stack.pop()
            order.append(node)
    return order


def zero_grad(root: Value) -> None:
    """Set the grad of every node in ``root``'s graph to 0."""
    seen = {root}
    todo = [root]
    for node in todo:
        node.grad = 0.0
        for parent in (node._a, node._b):
            if parent is not None and parent not in seen:
                seen.add(parent)
                todo.append(parent)


def backward(root: Value, *, trace: bool = False) -> Trace | None:
    """One backward pass from ``root``; see :meth:`Value.backward`.

    The pass fires with the counts the nodes keep of their consumers (:func:`_fire`). Where a
    node is also an input of nodes outside this graph those counts are too high, and so is a
    number not finite: then it counts this graph's edges (:func:`_count`) and fires again,
    checking every edge (:func:`_fire_checked`), which names the edge that failed.
    """
    stamp = object()
    root._pass, root._g, root._pending = stamp, 1.0, 0
    constants: list[Value] = []  # the inputs that take no gradient, once per edge
    if root.requires_grad and root._a is not None:
        order = [root]
        leaves: list[Value] = []
        # The output is seeded and fires first: it waits for nothing. In a graph made cyclic by
        # hand an edge could lead back to it, and with one consumer counted it would be ready
        # again, and again; with none it only collects (as with counted edges).
        uses, root._uses = root._uses, 0
        try:
            status = _fire(order, leaves, stamp, constants.append if trace else _IGNORE)
        finally:
            root._uses = uses
    else:  # a leaf, or an output computed from constants only (sqrt(0)...): it sends nothing
        order = [root] if root._a is not None else []
        leaves = [root] if root._a is None else []
        if trace:
            constants += root.parents
        status = _FINE
    reached = None
    if status != _FINE:
        reached = [root]
        constants = []
        leaves = _count(reached, object(), constants if trace else None)
        order = _fire_checked(root)
    if trace:  # what a caller could change later: .grad before the pass, and .data
        everyone = order + leaves if reached is None else reached  # the output comes first
        snapshot = (
            [node.grad for node in everyone],
            [node.data for node in everyone],
            [c.data for c in constants],
        )
    # the pass succeeded: add its gradients to .grad (or refuse, changing none, if a sum
    # overflows)
    _add_grads((order, leaves) if reached is None else (reached,))
    if not trace:
        return None
    steps = Steps(order, everyone, snapshot, constants)
    return Trace(root, steps, PassGrads(steps))


def _add_grads(groups: tuple[list[Value], ...]) -> None:
    """Add each node's gradient in this pass (``_g``) to its ``.grad``, all or none.

    A grad of 0 (zero_grad, a new graph) takes the pass's own as it is, which is what the sum
    gives (``_g`` is never -0.0, see _fire), without making a float: this loop runs over the
    whole graph, cold in the cache, and a pass from zero grads (every training step with
    zero_grad) pays nothing more. A grad from earlier passes is summed and checked: if the sum
    is not finite, the grads already summed are put back and a GradientError (kind
    ``"accumulated"``) names the node. To put them back exactly, a node whose grad was summed
    keeps its grad from before in ``_g``, which the pass no longer needs.
    """
    summed: list[Value] = []  # the nodes whose grad was not 0, in the order they were summed
    for group in groups:
        for node in group:
            grad = node.grad
            if not grad:
                node.grad = node._g
                continue
            total = grad + node._g
            if total - total != 0.0:  # inf or nan: the pass would leave a grad not finite
                error = GradientError.accumulated(node, node._g, grad)
                _put_back(groups, node, summed)
                raise error
            node.grad, node._g = total, grad
            summed.append(node)


def _put_back(groups: tuple[list[Value], ...], stop: Value, summed: list[Value]) -> None:
    """Undo :func:`_add_grads` up to the node ``stop``, which it did not change."""
    for group in groups:
        for node in group:
            if node is stop:
                for back in summed:
                    back.grad = back._g
                return
            node.grad = 0.0  # (a grad that was -0.0 comes back as 0.0, equal to it)


_FINE, _MISCOUNTED, _NOT_FINITE = 0, 1, 2
"""How :func:`_fire` ended."""

_IGNORE: Any = id
"""Where a pass that records nothing sends the constants it meets: a C call that keeps nothing
(it was once ``[].append``, a list no one read that kept every constant of every pass alive)."""


def _count(reached: list[Value], stamp: object, constants: list[Value] | None) -> list[Value]:
    """Count every edge of the graph on the nodes, marked ``stamp``; return the leaves.

    ``reached`` holds the output alone; every node that needs a gradient is appended to it,
    breadth first. ``_pending`` counts the edges to the node from its consumers in this graph,
    ``_g`` starts at 0 (1 for the output). If ``constants`` is a list, every input that takes
    no gradient is appended to it, once per edge (a recorded pass copies their data).
    """
    root = reached[0]
    root._pass, root._g, root._pending = stamp, 1.0, 0
    leaves: list[Value] = [] if root._a is not None else [root]
    keep = reached.append
    keep_leaf = leaves.append
    for node in reached:  # breadth first; the list grows as the loop goes
        for parent in (node._a, node._b):
            if parent is None:
                break
            if parent.requires_grad:
                if parent._pass is stamp:
                    parent._pending += 1
                else:
                    parent._pass = stamp
                    parent._pending = 1
                    parent._g = 0.0
                    keep(parent)
                    if parent._a is None:
                        keep_leaf(parent)
            elif constants is not None:
                constants.append(parent)
    return leaves


def _op_named_by(formulas: tuple[str, ...]) -> str:
    """The name of the op whose derivatives the table writes as ``formulas``.

    If no op has them, a name no node carries, so the firing loop's written-out path for them
    is never taken.
    """
    for name, op in OPS.items():
        if op.formulas == formulas:
            return name
    return "\0no such op"


INLINED: dict[tuple[str, ...], str] = {
    formulas: _op_named_by(formulas)
    for formulas in (("b", "a"), ("1", "1"), ("1", "-1"), ("1 if a > 0 else 0",), ("1 - out**2",))
}
"""The derivative formulas the firing loop writes out, and the op each belongs to."""

_PRODUCT = INLINED["b", "a"]
_SUM = INLINED["1", "1"]
_DIFFERENCE = INLINED["1", "-1"]
_RELU = INLINED[("1 if a > 0 else 0",)]
_TANH = INLINED[("1 - out**2",)]

_TABLE: dict[str, tuple[Any, ...]] = {
    name: (*op.constants, *op.derivatives) for name, op in OPS.items()
}
"""What the firing loop's general path needs of each op in one lookup: its constant derivatives
(or None), then its derivative functions."""


def _fire(order: list[Value], leaves: list[Value], stamp: object, constant: Any) -> int:
    """Fire every node of ``order``, appending each input once all its consumers have sent.

    ``order`` holds the output, marked ``stamp`` and with its ``_g`` at 1. A node is appended
    to ``order`` once its gradient in this pass (``_g``) is complete. The nodes fire as Kahn's
    algorithm fires them with this graph's edges counted, in the same order and with the same
    sums, bit for bit, but without counting first: a node waits for as many contributions as
    it has consumers (``_uses``). A node with one consumer, most of a graph, is ready as soon
    as it is reached and needs no count. If a node's count is above this graph's own (it is
    also an input of a node outside the graph) it never fires; the pass then returns
    ``_MISCOUNTED``, having changed no ``.grad``, and the caller counts.

    Leaves met are appended to ``leaves``, with their gradient in ``_g``; inputs that take no
    gradient are passed to ``constant``. Each edge adds ``upstream * local`` to the input's
    gradient exactly as the op table's function would give it (``upstream * 1.0`` is
    ``upstream``, bit for bit; see ``INLINED``); the first edge to reach an input gives it
    ``upstream * local`` as it is, or 0.0 if that is -0.0: the number that adding it to a 0
    gives, without making a new float.
    Returns ``_NOT_FINITE`` if a number was not finite (the grads of this pass are then
    unusable).

    Ops are told apart with ``is``: a node made by the ops holds the op table's own name
    string; one whose op was set from another string equal to it takes the general path,
    which gives the same numbers.
    """
    push = order.append
    keep_leaf = leaves.append
    table = _TABLE
    product, total, difference, relu, tanh = _PRODUCT, _SUM, _DIFFERENCE, _RELU, _TANH
    waiting = 0  # nodes that some, not all, of their consumers have sent to
    try:
        for node in order:
            upstream = node._g
            op = node.op
            a: Any = node._a
            b: Any = node._b
            if op is product:
                to_a = upstream * b.data
                to_b = upstream * a.data
            elif op is total:
                to_a = to_b = upstream
            elif op is relu:
                to_a = upstream if a.data > 0 else upstream * 0.0
            elif op is tanh:
                out = node.data
                to_a = upstream * (1.0 - out * out)
            elif op is difference:
                to_a = upstream
                to_b = upstream * -1.0
            elif b is not None:  # the general path: the table's functions
                c0, c1, d0, d1 = table[op]
                if a.requires_grad:
                    to_a = upstream * (d0(a.data, b.data, node.data) if c0 is None else c0)
                if b.requires_grad:
                    to_b = upstream * (d1(a.data, b.data, node.data) if c1 is None else c1)
            else:
                c0, d0 = table[op]
                if a.requires_grad:
                    to_a = upstream * (d0(a.data, node.data) if c0 is None else c0)
            if a.requires_grad:
                if a._uses == 1:
                    a._g = to_a if to_a else 0.0
                    if a._a is None:
                        keep_leaf(a)
                    else:
                        push(a)
                elif a._pass is stamp:
                    a._g += to_a
                    if a._a is not None:
                        count = a._pending - 1
                        a._pending = count
                        if not count:
                            push(a)
                            waiting -= 1
                else:
                    a._pass = stamp
                    a._g = to_a if to_a else 0.0
                    if a._a is None:
                        keep_leaf(a)
                    else:
                        a._pending = a._uses - 1
                        waiting += 1
            else:
                constant(a)
            if b is None:
                continue
            # the same for the second input, written out again: a function called per edge
            # would cost more than half of the pass
            if b.requires_grad:
                if b._uses == 1:
                    b._g = to_b if to_b else 0.0
                    if b._a is None:
                        keep_leaf(b)
                    else:
                        push(b)
                elif b._pass is stamp:
                    b._g += to_b
                    if b._a is not None:
                        count = b._pending - 1
                        b._pending = count
                        if not count:
                            push(b)
                            waiting -= 1
                else:
                    b._pass = stamp
                    b._g = to_b if to_b else 0.0
                    if b._a is None:
                        keep_leaf(b)
                    else:
                        b._pending = b._uses - 1
                        waiting += 1
            else:
                constant(b)
    except (ArithmeticError, ValueError):
        return _NOT_FINITE
    if waiting:
        return _MISCOUNTED
    for leaf in leaves:  # every reached node passes its gradient on to a reached leaf
        g = leaf._g
        if g - g != 0.0:  # inf or nan, which + and * carry along: somewhere a number was
            return _NOT_FINITE
    return _FINE


def _fire_checked(root: Value) -> list[Value]:
    """Fire every node by the counts :func:`_count` left, checking every edge; the order.

    The reference pass: Kahn's algorithm over counted edges, every local derivative the op
    table's function (or constant). Raises a GradientError naming the first edge whose local
    derivative, product with the upstream gradient, or sum is not finite (its ``kind`` says
    which).
    """
    order = [root]
    for node in order:
        op = OPS[node.op]
        parents = node.parents
        args = [p.data for p in parents] + [node.data]
        upstream = node._g  # finite: every contribution to it was checked
        for index, parent in enumerate(parents):
            if not parent.requires_grad:
                continue
            local = op.constants[index]
            try:
                if local is None:
                    local = op.derivatives[index](*args)
            except (ArithmeticError, ValueError):
                local = None
            if local is None or local - local != 0.0:  # undefined, inf or nan
                raise GradientError(
                    node, index, local, upstream, "the local derivative is not finite"
                )
            contribution = upstream * local
            if contribution - contribution != 0.0:
                raise GradientError(
                    node,
                    index,
                    local,
                    upstream,
                    "upstream * local is not finite",
                    kind="product",
                )
            before = parent._g
            after = before + contribution
            if after - after != 0.0:
                raise GradientError(
                    node,
                    index,
                    local,
                    upstream,
                    "the contributions to a gradient add up to a number that is not finite",
                    kind="sum",
                    contribution=contribution,
                    before=before,
                )
            parent._g = after
            parent._pending -= 1
            if parent._pending == 0 and parent._a is not None:
                order.append(parent)
    return order
