"""The fast firing loop against a plain reference pass, and its written-out derivatives against
the op table, bit for bit.

The reference below is written from the definition (Kahn's algorithm with a FIFO queue, each
local derivative from the op table's *functions*, sums in a dict) and shares no code with
``engine/backward.py``. Every float is compared by its bits, not with ``==`` or approx.
"""

from __future__ import annotations

import math
import os
import struct
import subprocess
import sys
import textwrap
from collections import deque
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine import OPS, DomainError, GradientError, Value, nodes
from engine.backward import INLINED


def bits(x: float) -> int:
    return int(struct.unpack("<q", struct.pack("<d", x))[0])


def reference_pass(root: Value, base: dict[Value, float]) -> tuple[list[Value], dict, list]:
    """(firing order, this pass's grads, per step the edges as tuples of plain numbers)."""
    consumers: dict[Value, int] = {}
    seen = {root}
    stack = [root]
    while stack:
        node = stack.pop()
        for parent in node.parents:
            if parent.requires_grad:
                consumers[parent] = consumers.get(parent, 0) + 1
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
    grads = {root: 1.0}
    order: list[Value] = []
    steps = []
    ready = deque([root] if root.parents else [])
    while ready:
        node = ready.popleft()
        order.append(node)
        op = OPS[node.op]
        args = [p.data for p in node.parents] + [node.data]
        edges = []
        for index, parent in enumerate(node.parents):
            if not parent.requires_grad:
                continue
            try:
                local = op.derivatives[index](*args)
            except (ArithmeticError, ValueError):  # e.g. sqrt'(0): no finite derivative
                local = math.nan
            contribution = grads[node] * local
            before = grads.get(parent, 0.0)
            grads[parent] = before + contribution
            consumers[parent] -= 1
            edges.append(
                (
                    parent,
                    index,
                    local,
                    op.formulas[index],
                    contribution,
                    base[parent] + before,
                    base[parent] + grads[parent],
                    consumers[parent],
                )
            )
            if consumers[parent] == 0 and parent.parents:
                ready.append(parent)
        steps.append((node, grads[node], edges))
    return order, grads, steps


# --- random graphs ----------------------------------------------------------------------------

NUMBERS = st.one_of(
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 3.0, -2.5, 1e-300, 5e-324]),
    st.floats(min_value=-4.0, max_value=4.0, allow_nan=False, allow_infinity=False),
)
OP_NAMES = sorted(OPS)


def _pool(draw: st.DrawFn) -> tuple[list[Value], list[Value]]:
    """Random nodes over every op, with shared nodes, repeated inputs (``a*a``), constants, and
    unary and binary ops reading the same node; ops outside their domain are skipped. Returns
    the nodes in the order made, and the inputs."""
    inputs = [Value(draw(NUMBERS), f"x{i}") for i in range(draw(st.integers(1, 4)))]
    pool: list[Value] = list(inputs)
    for _ in range(draw(st.integers(1, 30))):
        name = draw(st.sampled_from(OP_NAMES))
        op = OPS[name]

        def operand() -> Value:
            if draw(st.integers(0, 5)) == 0:
                return Value.constant(draw(NUMBERS))
            # favour recent nodes, so graphs grow deep as well as wide
            return pool[-1 - draw(st.integers(0, min(len(pool) - 1, 6)))]

        operands = [operand() for _ in range(op.arity)]
        try:
            pool.append(operands[0]._apply(op, *operands))
        except DomainError:
            continue
    return pool, inputs


@st.composite
def graphs(draw: st.DrawFn) -> tuple[Value, list[Value]]:
    """A random DAG (see :func:`_pool`) whose output is the last node made. Nodes made before it
    that it does not use are inputs of nodes outside its graph."""
    pool, inputs = _pool(draw)
    root = pool[-1]
    for extra in pool[-4:-1]:  # earlier nodes feed the output too, so nodes have many consumers
        if draw(st.booleans()):
            try:
                root = root + extra * draw(NUMBERS)
            except DomainError:
                pass
    return root, inputs


def _check_against_reference(root: Value, trace_it: bool) -> None:
    everything = nodes(root)
    base = {node: node.grad for node in everything}
    order, grads, steps = reference_pass(root, base)
    finite = all(math.isfinite(g) for g in grads.values())
    if not finite:
        with pytest.raises(GradientError):
            root.backward(trace=trace_it)
        assert all(bits(node.grad) == bits(base[node]) for node in everything)  # atomic
        return
    trace = root.backward(trace=trace_it)
    for node in everything:
        expected = base[node] + grads[node] if node in grads else base[node]
        assert bits(node.grad) == bits(expected), node
    if not trace_it:
        assert trace is None
        return
    assert trace is not None
    assert [step.node for step in trace.steps] == order  # the same nodes, the same order
    assert len(trace.steps) == len(order)
    for step, (node, upstream, edges) in zip(trace.steps, steps, strict=True):
        assert step.node is node
        assert bits(step.upstream) == bits(upstream)
        assert len(step.edges) == len(edges)
        for edge, want in zip(step.edges, edges, strict=True):
            assert edge.parent is want[0]
            assert (edge.index, edge.formula, edge.pending) == (want[1], want[3], want[7])
            got = (edge.local, edge.contribution, edge.grad_before, edge.grad_after)
            assert [bits(x) for x in got] == [bits(x) for x in (want[2], *want[4:7])]
    assert set(trace.grads) == set(grads)
    assert all(bits(trace.grads[node]) == bits(g) for node, g in grads.items())


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs(), st.booleans())
def test_the_fast_loop_matches_the_reference_pass(graph: tuple[Value, list[Value]], trace: bool):
    root, _ = graph
    _check_against_reference(root, trace)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_a_second_pass_matches_the_reference_from_the_first_passs_grads(graph):
    root, _ = graph
    try:
        root.backward()
    except GradientError:
        assume(False)
    first = {node: node.grad for node in nodes(root)}
    _check_against_reference(root, trace_it=True)  # the edges' grad_before start from pass 1
    for node, grad in first.items():
        assert node.grad == 2 * grad  # exactly: no zero_grad, the same pass again


# --- the written-out derivatives against the table ----------------------------------------------

FLOATS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.sampled_from([0.0, -0.0, 5e-324, -5e-324, 1e-308, 1.0, -1.0, 1e308, -1e308]),
)


def test_every_written_out_formula_belongs_to_an_op_of_the_table() -> None:
    # the loop's fast paths are taken by the op whose table entry has these formulas; if none
    # had them the path would silently never run, so check they all do today
    assert set(INLINED) == {
        ("b", "a"),
        ("1", "1"),
        ("1", "-1"),
        ("1 if a > 0 else 0",),
        ("1 - out**2",),
    }
    for formulas, name in INLINED.items():
        assert name in OPS, formulas
        assert OPS[name].formulas == formulas


def _contributions(op_name: str, a: float, b: float, upstream: float) -> tuple[list, list]:
    """What the engine's pass sends along each edge of one ``op_name`` node whose upstream is
    ``upstream``, and what the table's functions give (``upstream * d(a, b, out)``)."""
    op = OPS[op_name]
    args = (a, b)[: op.arity]
    try:
        inputs = [Value(x) for x in args]
        node = inputs[0]._apply(op, *inputs)
        out = node * Value.constant(upstream)  # the product sends upstream * 1.0: upstream
        out.backward()
    except (DomainError, GradientError):
        return [], []
    got = [x.grad for x in inputs]
    sent = 0.0 + 1.0 * upstream  # what the product hands the node: -0.0 arrives as 0.0
    want = [0.0 + sent * d(*args, node.data) for d in op.derivatives]
    return [bits(x) for x in got], [bits(x) for x in want]


@pytest.mark.parametrize("formulas", sorted(INLINED))
@settings(max_examples=600, deadline=None)
@given(a=FLOATS, b=FLOATS, upstream=FLOATS)
def test_written_out_arithmetic_equals_the_table_bit_for_bit(
    formulas: tuple[str, ...], a: float, b: float, upstream: float
) -> None:
    got, want = _contributions(INLINED[formulas], a, b, upstream)
    assert got == want


@pytest.mark.parametrize("formulas", sorted(INLINED))
def test_written_out_arithmetic_at_kinks_and_signed_zeros(formulas: tuple[str, ...]) -> None:
    special = [0.0, -0.0, 5e-324, -5e-324, 1.0, -1.0, 0.5, 20.0, -20.0, 1e300, -1e300]
    checked = 0
    for a in special:
        for b in special:
            for upstream in special:
                got, want = _contributions(INLINED[formulas], a, b, upstream)
                assert got == want, (a, b, upstream)
                checked += bool(got)
    assert checked > 100


# --- the recorded pass keeps its numbers ------------------------------------------------------


def test_steps_keep_the_numbers_of_the_pass_after_data_and_grads_change() -> None:
    # L = relu(w*x) * c with x a constant: every local reads a value that changes afterwards
    w, x, c = Value(1.5, "w"), Value.constant(-2.0), Value(3.0, "c")
    h = w * x
    L = (h + w).relu() * c
    trace = L.backward(trace=True)
    assert trace is not None
    w.data, c.data, x.data, h.data = 100.0, -7.0, 5.0, 1.0  # a training step would do this
    L.zero_grad()
    steps = list(trace.steps)  # the first look rebuilds the edges: from the pass's numbers
    # by hand: h = -3, h + w = -1.5, relu(-1.5) = 0, L = 0; dL/d(relu) = c = 3, relu' = 0
    assert [s.node for s in steps] == [L, L.parents[0], L.parents[0].parents[0], h]
    assert [(e.local, e.grad_after) for e in steps[0].edges] == [(3.0, 3.0), (0.0, 0.0)]
    assert steps[1].edges[0].local == 0.0
    assert [e.local for e in steps[3].edges] == [-2.0]  # d(w*x)/dw = x as it was: -2
    assert trace.grads[c] == 0.0 and trace.grads[w] == 0.0


def test_a_graph_reshaped_after_the_pass_is_refused_not_misreported() -> None:
    x = Value(2.0, "x")
    y = x * x + x
    trace = y.backward(trace=True)
    assert trace is not None
    y.parents[0].parents = (x, Value.constant(5.0))  # x*x becomes x*5 behind the trace's back
    with pytest.raises(RuntimeError, match="changed after its backward pass"):
        trace.steps[0]
    # y = a * b, b = a * 3, a = x + 1 fire as y, b, a; then a is made to read b, so b would
    # fire before its new consumer a had sent anything
    x = Value(2.0, "x")
    a = x + 1
    b = a * 3
    y = a * b
    trace = y.backward(trace=True)
    assert trace is not None  # (looking at its steps now would rebuild them before the change)
    a.parents = (b, x)
    with pytest.raises(RuntimeError, match="changed after its backward pass"):
        trace.grads[x]


def test_a_failed_pass_leaves_the_graph_ready_for_the_next() -> None:
    x = Value(0.0, "x")
    y = x.sqrt() + x * x
    with pytest.raises(GradientError):
        y.backward()
    assert x.grad == 0.0
    z = x * 3.0 + x  # the same input in a new graph: its counts were left at zero
    z.backward()
    assert x.grad == 4.0


# --- warm from the first call -------------------------------------------------------------------

HOT = ("engine.backward._fire", "engine.backward._count", "engine.backward.nodes")


@pytest.mark.skipif(sys.implementation.name != "cpython", reason="CPython's bytecode")
def test_the_hot_loops_are_specialised_during_their_first_call() -> None:
    # CPython 3.11 specialises a function after 8 calls or 8 unconditional jumps back to a
    # loop's top; a ``while cond:`` loop makes none, so its first calls ran unspecialised. One
    # pass over a graph of some size must leave specialised instructions behind.
    code = textwrap.dedent(
        """
        import dis, sys
        from engine import Value
        b = sys.modules["engine.backward"]  # engine.backward is also the function's name
        x = Value(0.5)
        v = x
        for _ in range(50):
            v = (v * 1.01 + x).tanh()
        v.backward()
        b.nodes(v)
        side = v.parents[0] * 2  # an input with a consumer outside v's graph: v's pass counts
        v.backward()
        for f in (b._fire, b._count, b._fire_checked, b.nodes):
            plain = [i.opname for i in dis.get_instructions(f)]
            adaptive = [i.opname for i in dis.get_instructions(f, adaptive=True)]
            print(f.__name__, sum(p != q for p, q in zip(plain, adaptive)))
        """
    )
    root = str(Path(__file__).resolve().parents[1])  # this checkout's engine, not an install
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, cwd=root
    ).stdout
    specialised = dict(line.split() for line in out.splitlines())
    assert all(int(n) > 0 for n in specialised.values()), specialised


@pytest.mark.parametrize(
    "name",
    [
        *HOT,
        "engine.backward.zero_grad",
        "engine.backward._fire_checked",
        "engine.parse:_Parser._check_expression",  # a program's one big expression: one call
        "engine.parse:_Parser.expression",
    ],
)
def test_the_hot_loops_have_no_conditional_backward_jump(name: str) -> None:
    import dis
    import importlib

    module, function = name.split(":") if ":" in name else name.rsplit(".", 1)
    f = importlib.import_module(module)
    for attribute in function.split("."):
        f = getattr(f, attribute)
    names = {i.opname for i in dis.get_instructions(f)}
    assert not {n for n in names if n.startswith("POP_JUMP_BACKWARD")}, names


def test_a_leaf_outputs_trace_has_no_step_to_look_at() -> None:
    x = Value(2.0, "x")
    trace = x.backward(trace=True)
    assert trace is not None and len(trace.steps) == 0 and trace.grads[x] == 1.0
    with pytest.raises(IndexError):
        trace.steps[0]
    assert trace.steps[0:5] == []


# --- counts kept as the graph grows ---------------------------------------------------------------


@st.composite
def reshaped_graphs(draw: st.DrawFn) -> Value:
    """A random DAG built by the ops, then changed by hand the ways a user can: a node's inputs
    reassigned (to earlier nodes, so it stays a DAG), nodes copied with ``copy.copy`` and used,
    inputs turned into constants, and consumers built outside the output's graph."""
    import copy

    inputs = [Value(draw(NUMBERS), f"x{i}") for i in range(draw(st.integers(1, 4)))]
    pool: list[Value] = list(inputs)
    for _ in range(draw(st.integers(1, 25))):
        op = OPS[draw(st.sampled_from(OP_NAMES))]
        operands = [pool[-1 - draw(st.integers(0, min(len(pool) - 1, 6)))] for _ in range(op.arity)]
        try:
            pool.append(operands[0]._apply(op, *operands))
        except DomainError:
            continue
    for _ in range(draw(st.integers(0, 4))):
        i = draw(st.integers(0, len(pool) - 1))
        node = pool[i]
        change = draw(st.sampled_from(["parents", "copy", "constant", "outside"]))
        if change == "parents" and node.parents and i > 0:
            earlier = [pool[draw(st.integers(0, i - 1))] for _ in node.parents]
            node.parents = tuple(earlier)
        elif change == "copy":
            twin = copy.copy(node)
            if twin.parents:
                try:
                    pool.append(twin + pool[-1])  # the copy is an input of the output too
                except DomainError:
                    pass
        elif change == "constant" and 0 < i < len(pool) - 1:  # the output keeps its own
            node.requires_grad = False
        elif change == "outside":
            node * 2.0  # a consumer the output never sees: node's count is too high for it
    return pool[-1]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reshaped_graphs(), st.booleans())
def test_graphs_changed_by_hand_still_match_the_reference_pass(root: Value, trace: bool) -> None:
    _check_against_reference(root, trace)


def test_a_graph_used_only_by_its_output_is_not_counted_first(monkeypatch) -> None:
    # the counting walk is the fallback for a node that also feeds nodes outside the graph
    b = sys.modules["engine.backward"]
    counted = []
    monkeypatch.setattr(b, "_count", lambda *args: counted.append(args) or [])
    x, y = Value(2.0, "x"), Value(-3.0, "y")
    h = x * y
    loss = (h + x).tanh() * h  # h has two consumers, x two, y one: all inside the graph
    loss.backward()
    assert counted == []
    t = math.tanh(-4.0)  # d/dx of tanh(xy + x) * xy at x=2, y=-3, by hand
    assert x.grad == pytest.approx((1 - t * t) * (y.data + 1) * h.data + t * y.data, rel=1e-12)


def test_a_node_feeding_a_graph_outside_is_counted_and_fires_once() -> None:
    x = Value(3.0, "x")
    h = x * x
    elsewhere = h + 1  # built, never differentiated: h's count of consumers is one too high
    loss = h * 2.0
    trace = loss.backward(trace=True)
    assert trace is not None
    assert [step.node for step in trace.steps] == [loss, h]
    assert (h.grad, x.grad) == (2.0, 12.0)  # d(2x^2)/dx = 4x
    assert elsewhere.grad == 0.0


def test_reassigning_parents_keeps_the_consumer_counts() -> None:
    x, y = Value(1.0), Value(2.0)
    a = x * y
    assert (x._uses, y._uses) == (1, 1)
    a.parents = (y, y)
    assert (x._uses, y._uses) == (0, 2)
    a.parents = (x,)
    assert (x._uses, y._uses, a.parents) == (1, 0, (x,))
    with pytest.raises(TypeError):
        a.parents = (x, y, x)
    with pytest.raises(TypeError):
        a.parents = (1.0,)  # type: ignore[assignment]


def test_a_node_given_a_second_consumer_by_hand_waits_for_both() -> None:
    x, y = Value(2.0, "x"), Value(3.0, "y")
    a = x * y
    b = a + 1.0
    c = y * 2.0
    c.parents = (a, y)  # c is a product of a and y now (its data stays 6): a feeds b and c
    loss = b * c
    trace = loss.backward(trace=True)
    assert trace is not None
    fired = [step.node for step in trace.steps]
    assert fired.count(a) == 1 and fired.index(a) > max(fired.index(b), fired.index(c))
    # by hand, from the data as it stands (a = 6, b = 7, c = 6): dloss/da = c * 1 + b * y =
    # 6 + 21 = 27, dloss/dx = 27 * y = 81, dloss/dy = 27 * x + b * a (c's edge to y) = 54 + 42
    assert (a.grad, x.grad, y.grad) == (27.0, 81.0, 96.0)


@pytest.mark.parametrize(
    "make_cycle",
    [
        "a.parents = (y, x)",  # y -> a -> y: through the output, each node with one consumer
        "a.parents = (b, x)",  # a -> b -> a below the output
        "y.parents = (y, a)",  # the output its own input
    ],
)
def test_a_graph_made_cyclic_by_hand_ends_its_pass(make_cycle: str) -> None:
    # nonsense in, but never a hang: run apart, so a loop that never ends fails the test
    code = textwrap.dedent(
        f"""
        from engine import Value
        x = Value(2.0)
        a = x + 1
        b = a * 3
        y = b * 2
        {make_cycle}
        y.backward()
        y.backward(trace=True)
        print("ended")
        """
    )
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=root, timeout=60
    )
    assert out.stdout.strip() == "ended", out.stderr


@st.composite
def closed_graphs(draw: st.DrawFn) -> Value:
    """A random DAG in which every node made is in the output's graph: the nodes no op took as
    an input are added up into the output. Every count of consumers kept as the graph was built
    is then this graph's own, and the pass never counts."""
    pool, _ = _pool(draw)
    root = pool[-1]
    for node in pool[:-1]:
        if node._uses == 0:
            root = root + node  # a sum never leaves its domain
    return root


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(closed_graphs(), st.booleans())
def test_the_uncounted_pass_matches_the_reference(root: Value, trace: bool) -> None:
    b = sys.modules["engine.backward"]
    counted: list[object] = []
    real = b._count
    b._count = lambda *args: counted.append(args) or real(*args)
    try:
        _check_against_reference(root, trace)
    finally:
        b._count = real
    _, grads, _ = reference_pass(root, {node: 0.0 for node in nodes(root)})
    if all(math.isfinite(g) for g in grads.values()):
        assert counted == []  # (a gradient that is not finite is looked for by counting)
