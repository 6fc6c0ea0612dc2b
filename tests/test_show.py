"""stepgrad.show(value): a graph built in Python, written as a program, opened in the app.

The round trip is checked against the original graph's own forward and backward pass: the
parsed copy must have the same ops over the same parents in the same order, the same sharing,
bit-identical data and bit-identical grads.
"""

from __future__ import annotations

import math
import operator
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import stepgrad
from engine import OPS, DomainError, GradientError, Value, nodes
from engine.parse import MAX_SOURCE, ProgramError, parse
from engine.source import MAX_DEPTH, make_usable, names, to_source, usable

SIZE = (120, 36)


def lecture_neuron() -> dict[str, Value]:
    """The neuron of Karpathy's micrograd lecture, labels and all."""
    x1 = Value(2.0, label="x1")
    x2 = Value(0.0, label="x2")
    w1 = Value(-3.0, label="w1")
    w2 = Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    x1w1x2w2 = x1w1 + x2w2
    x1w1x2w2.label = "x1*w1 + x2*w2"
    n = x1w1x2w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return {"x1": x1, "x2": x2, "w1": w1, "w2": w2, "b": b, "n": n, "o": o}


def bits(x: float) -> str:
    return x.hex()  # tells -0.0 from 0.0, and every last bit


def match(original: Value, copy: Value) -> dict[Value, Value]:
    """Walk both graphs together; every original node that takes a gradient -> its copy.

    Asserts the same op, parent order, data bits and requires_grad everywhere, and the same
    sharing for every node that takes a gradient (a constant, which never does, may be written
    once per use).
    """
    pairs: dict[Value, Value] = {}
    back: dict[Value, Value] = {}
    stack = [(original, copy)]
    while stack:
        a, b = stack.pop()
        assert (a.op, len(a.parents), a.requires_grad) == (b.op, len(b.parents), b.requires_grad)
        assert bits(a.data) == bits(b.data), (a, b)
        if a.requires_grad:
            if a in pairs:
                assert pairs[a] is b, f"{a} is shared in the original, not in the copy"
                continue
            assert b not in back, f"{b} is shared in the copy, not in the original"
            pairs[a] = b
            back[b] = a
        stack.extend(zip(a.parents, b.parents, strict=True))
    return pairs


def round_trip(root: Value) -> dict[Value, Value]:
    """to_source -> parse -> match; also check the names, and grads against root's own pass."""
    before = [(v.grad, v.label) for v in nodes(root)]
    source = to_source(root)
    named = names(root)
    assert [(v.grad, v.label) for v in nodes(root)] == before  # the original is untouched
    program = parse(source)
    pairs = match(root, program.output)
    for node, name in named.items():
        assert pairs[node].label == name
        assert program.name(pairs[node]) == name
        assert usable(name)
    assert len(set(named.values())) == len(named)
    if not root.requires_grad:  # no gradient flows; and Value.constant(0).sqrt().backward()
        return pairs  # hits an AssertionError in engine/backward.py (reported, not ours)
    try:
        root.backward()
    except GradientError:
        with pytest.raises(ProgramError):
            program.backward(trace=False)
        return pairs
    program.backward(trace=False)
    for node, twin in pairs.items():
        assert bits(node.grad) == bits(twin.grad), (node, twin, source)
    return pairs


# --- the lecture's neuron: published numbers -------------------------------------------------


def test_lecture_neuron_program() -> None:
    v = lecture_neuron()
    assert to_source(v["o"]) == (
        "x1 = 2\nw1 = -3\nx2 = 0\nw2 = 1\nb = 6.881373587019543\n"
        "x1_w1 = x1*w1\nx2_w2 = x2*w2\nx1_w1_x2_w2 = x1_w1 + x2_w2\nn = x1_w1_x2_w2 + b\n"
        "o = tanh(n)"
    )


def test_lecture_neuron_numbers() -> None:
    v = lecture_neuron()
    program = parse(to_source(v["o"]))
    program.backward(trace=False)
    # micrograd's lecture: o = 0.7071, x1.grad = -1.5, w1.grad = 1.0, x2.grad = 0.5, w2.grad = 0
    # (micrograd's tanh is (e**2n - 1)/(e**2n + 1) = 0.7071067811865476; math.tanh is 1 ulp off)
    assert program.output.data == pytest.approx(0.7071067811865476, abs=2e-16)
    grads = {name: program.names[name].grad for name in ("x1", "w1", "x2", "w2")}
    assert grads == pytest.approx({"x1": -1.5, "w1": 1.0, "x2": 0.5, "w2": 0.0}, abs=1e-12)
    round_trip(v["o"])


def test_lecture_exp_version_keeps_e_as_a_name() -> None:
    """The lecture's second neuron labels exp(2n) ``e``; assigning e is allowed, as in Python."""
    v = lecture_neuron()
    n = v["n"]
    e = (2 * n).exp()
    e.label = "e"
    o = (e - 1) / (e + 1)
    o.label = "o"
    source = to_source(o)
    assert source.endswith("\ne = exp(2*n)\no = (e - 1)/(e + 1)")
    assert parse(source).output.data == pytest.approx(0.7071067811865476, abs=2e-16)
    round_trip(o)


# --- what is written where -------------------------------------------------------------------


def test_constants_inline_exact_and_negative() -> None:
    x = Value(0.1, "x")
    y = x * -2 + 0.1 - (-1.5) + 2**x + (x - -0.0) / 3
    assert to_source(y) == "x = 0.1\nx*-2 + 0.1 - (-1.5) + 2**x + (x - (-0))/3"
    copy = parse(to_source(y)).output
    minus_two = copy.parents[0].parents[0].parents[0].parents[0].parents[1]
    assert (minus_two.op, minus_two.data, minus_two.requires_grad) == ("", -2.0, False)
    round_trip(y)


def test_a_negative_literal_is_one_constant_in_programs() -> None:
    """The parser change that makes negative constants round-trip: -2 is one constant leaf."""
    out = parse("y = x * -2", {"x": 3}).output
    assert out.parents[1].op == "" and out.parents[1].data == -2.0
    assert out.data == -6.0
    neg = parse("y = x * -(+2)", {"x": 3}).output.parents[1]  # minus the constant 2
    assert neg.op == "neg" and neg.parents[0].data == 2.0
    assert parse("-2**2").output.data == -4.0  # still -(2**2), as in Python
    assert parse("(-2)**2").output.data == 4.0
    minus_constant = -Value.constant(2.0) * Value(3.0, "x")
    assert to_source(minus_constant) == "x = 3\n-(+2)*x"
    round_trip(minus_constant)


def test_shared_unlabeled_nodes_get_names_single_use_ones_are_written_in() -> None:
    a, b = Value(2.0), Value(3.0)
    s = a * b
    out = (s + 1) * (s - a).tanh()
    assert to_source(out) == "v1 = 2\nv2 = 3\nt1 = v1*v2\n(t1 + 1)*tanh(t1 - v1)"
    assert names(out) == {a: "v1", b: "v2", s: "t1"}
    round_trip(out)


def test_a_repeated_edge_is_kept() -> None:
    x = Value(3.0, "x")
    y = x * x
    y.label = "y"
    assert to_source(y) == "x = 3\ny = x*x"
    assert len(parse(to_source(y)).output.parents) == 2
    round_trip(y)


@pytest.mark.parametrize(
    ("build", "text"),
    [
        (lambda a, b, c: a - (b - c), "a - (b - c)"),
        (lambda a, b, c: a + (b + c), "a + (b + c)"),
        (lambda a, b, c: (a + b) + c, "a + b + c"),
        (lambda a, b, c: a / (b * c), "a/(b*c)"),
        (lambda a, b, c: (a / b) * c, "a/b*c"),
        (lambda a, b, c: (a**b) ** c, "(a**b)**c"),
        (lambda a, b, c: a ** (b**c), "a**(b**c)"),
        (lambda a, b, c: -(a**b), "-(a**b)"),
        (lambda a, b, c: (-a) ** b, "(-a)**b"),
        (lambda a, b, c: a ** (-b), "a**(-b)"),
        (lambda a, b, c: operator.neg(-a), "-(-a)"),
        (lambda a, b, c: -a * b, "-a*b"),
        (lambda a, b, c: -(a * b), "-(a*b)"),
        (lambda a, b, c: a + (-b), "a + (-b)"),
        (lambda a, b, c: (a + b).exp() * c, "exp(a + b)*c"),
        (lambda a, b, c: abs(a - b), "abs(a - b)"),
        (lambda a, b, c: (a * b).relu().sigmoid(), "sigmoid(relu(a*b))"),
    ],
)
def test_parentheses_keep_the_tree(build: Callable[..., Value], text: str) -> None:
    a, b, c = Value(1.5, "a"), Value(2.0, "b"), Value(0.5, "c")
    out = build(a, b, c)
    assert to_source(out).split("\n")[-1] == text
    round_trip(out)


def test_pi_and_e_constants() -> None:
    x = Value(2.0, "x")
    y = x * Value.constant(math.pi, "pi") + Value.constant(math.e, "e")
    assert to_source(y) == "x = 2\nx*pi + e"
    round_trip(y)
    # once a node is named e, the constant e is written as its number
    e = Value(1.0, "e")
    z = e * Value.constant(math.e, "e")
    assert to_source(z) == f"e = 1\ne*{math.e!r}"
    round_trip(z)


def test_labeled_constants_are_numbers() -> None:
    x = Value(2.0, "x")
    c = Value(5.0, "c", requires_grad=False)
    k = c * 2  # an op on constants only: no gradient, so it cannot be an input line
    k.label = "k"
    y = x * k
    assert to_source(y) == "x = 2\nx*(5*2)"
    round_trip(y)


def test_outputs_of_every_kind() -> None:
    assert to_source(Value(3.0, "x")) == "x = 3"
    assert to_source(Value(3.0)) == "v1 = 3"
    assert to_source(Value.constant(3.0)) == "3"
    x = Value(2.0, "x")
    assert to_source(x * 2).split("\n")[-1] == "x*2"  # unlabeled: a bare expression
    for root in (Value(3.0, "x"), Value(3.0), Value.constant(3.0), x * 2):
        round_trip(root)


# --- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "name"),
    [
        ("x1*w1", "x1_w1"),
        ("x1*w1 + x2*w2", "x1_w1_x2_w2"),
        ("f(x)", "f_x"),
        ("2x", "_2x"),
        ("exp", "exp_"),
        ("tanh", "tanh_"),
        ("lambda", "lambda_"),
        ("None", "None_"),
        ("__x", "x"),
        (" y ", "y"),
        ("d/dx", "d_dx"),
        ("ﬁ", "fi"),  # Python reads names in NFKC form
        ("*", ""),
        ("", ""),
    ],
)
def test_make_usable(label: str, name: str) -> None:
    assert not usable(label)
    assert make_usable(label) == name


@pytest.mark.parametrize("label", ["x", "x1", "α", "e", "pi", "out", "_", "v1", "match"])
def test_usable_labels_are_kept(label: str) -> None:
    assert usable(label)
    x = Value(1.0, label)
    y = x * 2
    y.label = "y"
    assert names(y)[x] == label
    round_trip(y)


def test_names_are_unique_and_deterministic() -> None:
    def build() -> tuple[Value, list[Value]]:
        a1, a2, a3 = Value(1.0, "a"), Value(2.0, "a"), Value(3.0, "a_2")
        s = Value(4.0, "x1*w1")
        t = Value(5.0, "x1_w1")
        u, w = Value(6.0), Value(7.0, "v1")
        lam = Value(8.0, "lambda")
        out = a1 * a2 + a3 * s + t * u + w * lam
        return out, [a1, a2, a3, s, t, u, w, lam]

    out, leaves = build()
    given = names(out)
    assert [given[v] for v in leaves] == [
        "a",
        "a_3",
        "a_2",
        "x1_w1_2",
        "x1_w1",
        "v2",
        "v1",
        "lambda_",
    ]
    out2, leaves2 = build()
    assert [names(out2)[v] for v in leaves2] == [given[v] for v in leaves]
    round_trip(out)


# --- limits and errors -----------------------------------------------------------------------


def test_a_long_chain_is_split_into_lines() -> None:
    x = Value(0.5, "x")
    y = x
    for i in range(600):
        y = (y * 0.9 + 0.01).tanh() if i % 2 else y + x
    source = to_source(y)
    assert max(line.count("(") for line in source.split("\n")) <= MAX_DEPTH
    assert "\nt1 = " in source
    round_trip(y)


def test_a_wide_sum_parses() -> None:
    xs = [Value(float(i), f"x{i}") for i in range(400)]
    total = sum((x * x for x in xs), Value.constant(0.0))
    assert isinstance(total, Value)
    round_trip(total)


def test_a_graph_too_large_is_one_clear_error() -> None:
    xs = [Value(i + 0.123456789, f"input_number_{i}") for i in range(1000)]
    total = xs[0]
    for x in xs[1:]:
        total = total + x
    with pytest.raises(ProgramError) as info:
        to_source(total)
    message = str(info.value)
    assert "\n" not in message and "too large" in message and f"{MAX_SOURCE:,}" in message
    with pytest.raises(ProgramError):
        stepgrad.app_for(total)


def test_a_constant_graph_that_explodes_when_written_out_stops_early() -> None:
    c = Value.constant(1.0)
    for _ in range(60):  # 2**60 copies of the 1 if written out
        c = c + c
    with pytest.raises(ProgramError, match="too large"):
        to_source(Value(1.0, "x") * c)


class _OtherValue:
    """Looks like micrograd's Value, but is not ours."""

    def __init__(self, data: float) -> None:
        self.data, self.grad, self.label = data, 0.0, "x"


@pytest.mark.parametrize("bad", [3.0, "x*x", None, [Value(1.0)], _OtherValue(1.0)])
def test_not_a_value_is_a_type_error(bad: Any) -> None:
    with pytest.raises(TypeError, match=r"engine Value .*not "):
        stepgrad.app_for(bad)
    with pytest.raises(TypeError, match="engine Value"):
        stepgrad.show(bad)
    with pytest.raises(TypeError, match="to_source"):
        to_source(bad)


def test_a_gradient_that_is_not_finite_is_a_program_error() -> None:
    x = Value(0.0, "x")
    y = x.sqrt()
    y.label = "y"
    with pytest.raises(ProgramError, match="not finite"):
        stepgrad.app_for(y)


def test_import_stepgrad_loads_no_textual() -> None:
    code = "import sys, stepgrad; assert 'textual' not in sys.modules, sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)


# --- the app ---------------------------------------------------------------------------------


def text_of(app: Any) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def test_app_shows_the_labels_and_steps() -> None:
    v = lecture_neuron()
    app = stepgrad.app_for(v["o"], steady=True)
    assert app.title == "o"
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        program = app.walk.program
        shown = {program.name(node) for node in program.nodes()}
        assert {"x1", "x2", "w1", "w2", "b", "x1_w1", "x2_w2", "n", "o"} <= shown
        screen = text_of(app)
        for name in ("x1_w1", "w2", "n", "o"):
            assert name in screen
        assert app.walk.step == 0
        await pilot.press("right")
        await pilot.pause()
        assert app.walk.step == 1
        assert app.walk.current is not None and program.name(app.walk.current.node) == "o"
        await pilot.press("end")
        await pilot.pause()
        grad = {name: app.walk.grad(program.names[name]) for name in ("x1", "w1", "x2", "w2")}
        assert grad == pytest.approx({"x1": -1.5, "w1": 1.0, "x2": 0.5, "w2": 0.0}, abs=1e-12)
    assert all(v[name].grad == 0.0 for name in v)  # the user's graph is untouched


async def test_app_on_a_graph_after_its_own_backward() -> None:
    v = lecture_neuron()
    v["o"].backward()
    v["o"].backward()  # grads accumulated twice in the user's graph
    app = stepgrad.app_for(v["o"], title="my neuron", steady=True)
    assert app.title == "my neuron"
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.walk.step == 0
        assert app.walk.grad(app.walk.program.names["x1"]) is None  # a fresh pass: not reached
        await pilot.press("end")
        await pilot.pause()
        assert app.walk.grad(app.walk.program.names["x1"]) == pytest.approx(-1.5, abs=1e-12)
    assert v["x1"].grad == pytest.approx(-3.0, abs=1e-12)  # still the user's own two passes


async def test_unlabeled_output_title() -> None:
    x = Value(2.0)
    app = stepgrad.app_for(x * x + 1, steady=True)
    assert app.title == "stepgrad.show"
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        program = app.walk.program
        assert program.name(program.output) == "out"
        assert "v1" in program.names


# --- the round trip on random graphs ---------------------------------------------------------

LABELS = st.sampled_from(
    ["a", "a", "b", "x1*w1", "x1_w1", "e", "pi", "exp", "lambda", "__x", "2x", "", "*", "v1",
     "t1", "a_2", "out", "α", "ﬁ", "_", "x y", "n"]
)  # fmt: skip
NUMBERS = st.one_of(
    st.floats(-4, 4, allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.0, 0.1, 1e-300, 5e-324, 1e300, 6.8813735870195432]),
)
BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
}


def unary(name: str, v: Value) -> Value:
    if name == "neg":
        return -v
    if name == "abs":
        return abs(v)
    method: Callable[[], Value] = getattr(v, name)
    return method()


@st.composite
def graphs(draw: st.DrawFn) -> Value:
    """A random DAG of engine Values, built the way Python code builds one."""
    pool = [Value(draw(NUMBERS), draw(st.none() | LABELS)) for _ in range(draw(st.integers(1, 4)))]
    for _ in range(draw(st.integers(1, 14))):
        op = draw(st.sampled_from(sorted(OPS)))
        # the latest node is likelier, so chains and shared nodes both happen
        pick = st.one_of(st.just(pool[-1]), st.sampled_from(pool))

        def operand(pick: st.SearchStrategy[Value] = pick) -> Value | float:
            kind = draw(st.sampled_from(["node", "node", "node", "number", "constant"]))
            if kind == "number":
                return draw(NUMBERS)
            if kind == "constant":
                labels = st.none() | st.sampled_from(["pi", "e", "c"])
                return Value.constant(draw(NUMBERS), draw(labels))
            return draw(pick)

        try:
            if OPS[op].arity == 1:
                a = operand()
                out = unary(op, a if isinstance(a, Value) else Value.constant(a))
            else:
                a, b = operand(), operand()
                if not isinstance(a, Value) and not isinstance(b, Value):
                    a = draw(pick)
                out = BINARY[op](a, b)
        except DomainError:
            continue
        if draw(st.booleans()):
            out.label = draw(LABELS)
        pool.append(out)
    return draw(st.sampled_from(pool[-3:]))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_round_trip_on_random_graphs(root: Value) -> None:
    round_trip(root)


@settings(max_examples=100, deadline=None)
@given(graphs())
def test_round_trip_is_a_fixed_point(root: Value) -> None:
    """Writing the parsed copy out again gives the same text (names are stable)."""
    source = to_source(root)
    assert to_source(parse(source).output) == source


def test_show_without_a_terminal_prints_the_pass_instead_of_waiting_for_keys() -> None:
    """A script run by CI or with its output sent to a file: show() hung, writing the app's
    escape codes into the file and waiting for keys forever."""
    code = (
        "import stepgrad\nfrom engine import Value\nx = Value(3.0, 'x')\nstepgrad.show(x*x + 1)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "\x1b[?1049h" not in done.stdout  # no app screen
    assert "grads after the pass" in done.stdout
    # d(x*x + 1)/dx = 2x = 6 at x = 3 (by hand)
    grads = done.stdout.split("grads after the pass")[1]
    row = next(line for line in grads.splitlines() if line.startswith("x "))
    assert row.split()[1:] == ["3", "6"], row


@pytest.mark.parametrize("call", ["show", "html", "app_for"])
def test_a_title_that_is_not_text_is_one_line(call: str) -> None:
    from engine import Value
    from stepgrad.sources import SourceError

    with pytest.raises(SourceError, match="title must be text, not int"):
        getattr(stepgrad, call)(Value(2.0) * 3, title=123)


def test_a_graph_too_large_for_the_inline_stepper_says_where_it_fits() -> None:
    """The notebook's stepper (and the HTML file) hold at most 500 nodes: the notebook's message
    talked about a file, and did not say where a larger graph can be stepped through."""
    from engine import Value
    from stepgrad.sources import SourceError

    x = Value(1.0, "x")
    y = x
    for _ in range(300):  # 601 nodes: x, and per step a product and its constant
        y = y * 1.001
    with pytest.raises(SourceError) as inline:
        stepgrad._model(y, None, None, "stepgrad.show")
    message = inline.value.headline()
    assert "the graph has 601 nodes; the notebook's stepper holds a walkthrough of at most 500" in (
        message
    )
    assert "outside a notebook, stepgrad.show(value) opens the terminal app" in message
    with pytest.raises(SourceError, match="one HTML file holds a walkthrough of at most 500"):
        stepgrad.html(y)
