"""micrograd graphs in stepgrad: PyPI micrograd 0.1.0 and the lecture's Value class.

Every grad stepgrad shows is checked against micrograd's own ``backward()`` on a fresh copy of
the same graph (and, for the lecture's graphs, against the lecture's published numbers).
"""

from __future__ import annotations

import itertools
import math
import random
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from micrograd.engine import Value as MicroValue
from micrograd.nn import MLP, Neuron

import stepgrad
from engine.parse import MAX_SOURCE, ProgramError
from stepgrad.sources import (
    NotAGraph,
    SourceError,
    StaleGraphWarning,
    import_graph,
    program_source,
    to_program,
)

SIZE = (120, 36)


class LectureValue:
    """The Value class of Karpathy's lecture "The spelled-out intro to neural networks and
    backpropagation: building micrograd", as the lecture's notebook ends it (not on PyPI)."""

    def __init__(self, data: Any, _children: tuple[Any, ...] = (), _op: str = "", label: str = ""):
        self.data = data
        self.grad = 0.0
        self._backward: Callable[[], None] = lambda: None
        self._prev = set(_children)
        self._op = _op
        self.label = label

    def __repr__(self) -> str:
        return f"Value(data={self.data})"

    def __add__(self, other: Any) -> LectureValue:
        other = other if isinstance(other, LectureValue) else LectureValue(other)
        out = LectureValue(self.data + other.data, (self, other), "+")

        def _backward() -> None:
            self.grad += 1.0 * out.grad
            other.grad += 1.0 * out.grad

        out._backward = _backward
        return out

    def __mul__(self, other: Any) -> LectureValue:
        other = other if isinstance(other, LectureValue) else LectureValue(other)
        out = LectureValue(self.data * other.data, (self, other), "*")

        def _backward() -> None:
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, other: Any) -> LectureValue:
        assert isinstance(other, (int, float)), "only supporting int/float powers for now"
        out = LectureValue(self.data**other, (self,), f"**{other}")

        def _backward() -> None:
            self.grad += other * (self.data ** (other - 1)) * out.grad

        out._backward = _backward
        return out

    def __rmul__(self, other: Any) -> LectureValue:  # other * self
        return self * other

    def __truediv__(self, other: Any) -> LectureValue:  # self / other
        return self * other**-1

    def __neg__(self) -> LectureValue:  # -self
        return self * -1

    def __sub__(self, other: Any) -> LectureValue:  # self - other
        return self + (-other)

    def __radd__(self, other: Any) -> LectureValue:  # other + self
        return self + other

    def tanh(self) -> LectureValue:
        x = self.data
        t = (math.exp(2 * x) - 1) / (math.exp(2 * x) + 1)
        out = LectureValue(t, (self,), "tanh")

        def _backward() -> None:
            self.grad += (1 - t**2) * out.grad

        out._backward = _backward
        return out

    def exp(self) -> LectureValue:
        x = self.data
        out = LectureValue(math.exp(x), (self,), "exp")

        def _backward() -> None:
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def backward(self) -> None:
        topo: list[LectureValue] = []
        visited: set[LectureValue] = set()

        def build_topo(v: LectureValue) -> None:
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build_topo(child)
                topo.append(v)

        build_topo(self)
        self.grad = 1.0
        for node in reversed(topo):
            node._backward()


class DirectValue(LectureValue):
    """A lecture Value whose ``-`` and ``/`` are ops of their own (``_op`` ``'-'``, ``'/'``), as
    the lecture first writes them on the board."""

    def __sub__(self, other: Any) -> LectureValue:
        other = other if isinstance(other, LectureValue) else DirectValue(other)
        out = DirectValue(self.data - other.data, (self, other), "-")

        def _backward() -> None:
            self.grad += out.grad
            other.grad -= out.grad

        out._backward = _backward
        return out

    def __truediv__(self, other: Any) -> LectureValue:
        other = other if isinstance(other, LectureValue) else DirectValue(other)
        out = DirectValue(self.data / other.data, (self, other), "/")

        def _backward() -> None:
            self.grad += out.grad / other.data
            other.grad -= out.grad * self.data / other.data**2

        out._backward = _backward
        return out


def walk(root: Any) -> Iterator[Any]:
    """Every Value of a micrograd graph once."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            yield node
            stack.extend(node._prev)


def state(root: Any) -> list[tuple[int, Any, Any, str]]:
    return [(id(v), v.data, v.grad, v._op) for v in walk(root)]


def stepgrad_grads(root: Any, names: dict[str, Any] | None = None) -> dict[str, float]:
    """The grads stepgrad shows at the end of one pass, by input name (via ``to_json``)."""
    document = stepgrad.to_json(root, names=names)
    return {name: node["grad"] for name, node in document["inputs"].items()}


def approx(expected: dict[str, float]) -> Any:
    return pytest.approx(expected, rel=1e-12, abs=1e-12)


# --- the lecture's L = (a*b + c)*f -------------------------------------------------------------


def lecture_l(cls: type) -> dict[str, Any]:
    a, b, c, f = cls(2.0), cls(-3.0), cls(10.0), cls(-2.0)
    e = a * b
    d = e + c
    L = d * f
    for name, v in dict(a=a, b=b, c=c, f=f, e=e, d=d, L=L).items():
        if hasattr(v, "label"):
            v.label = name
    return dict(a=a, b=b, c=c, f=f, e=e, d=d, L=L)


def test_lecture_l_with_micrograd_0_1_0() -> None:
    v = lecture_l(MicroValue)
    leaves = {name: v[name] for name in "abcf"}
    grads = stepgrad_grads(v["L"], names=leaves)
    # the lecture's published numbers: L = -8, a.grad = 6, b.grad = -4, c.grad = -2, f.grad = 4
    assert grads == approx({"a": 6.0, "b": -4.0, "c": -2.0, "f": 4.0})
    fresh = lecture_l(MicroValue)
    fresh["L"].backward()
    assert grads == approx({name: fresh[name].grad for name in "abcf"})
    assert to_program(v["L"], names=leaves).output.data == -8.0


def test_lecture_l_with_the_lectures_class_keeps_its_labels() -> None:
    v = lecture_l(LectureValue)
    source, title = program_source(v["L"])
    assert title == "L"
    assert source.splitlines()[-3:] == ["e = a*b", "d = e + c", "L = d*f"]
    program = to_program(v["L"])
    program.backward(trace=False)
    fresh = lecture_l(LectureValue)
    fresh["L"].backward()
    for name in "abcfed":
        assert program.names[name].grad == pytest.approx(fresh[name].grad, abs=1e-12), name


# --- the neuron --------------------------------------------------------------------------------


def lecture_neuron(cls: type, *, exp_version: bool = False) -> dict[str, Any]:
    x1, x2 = cls(2.0, label="x1"), cls(0.0, label="x2")
    w1, w2 = cls(-3.0, label="w1"), cls(1.0, label="w2")
    b = cls(6.8813735870195432, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    x1w1x2w2 = x1w1 + x2w2
    x1w1x2w2.label = "x1*w1 + x2*w2"
    n = x1w1x2w2 + b
    n.label = "n"
    if exp_version:  # the lecture's second form: o = (e - 1)/(e + 1), e = exp(2n)
        e = (2 * n).exp()
        e.label = "e"
        o = (e - 1) / (e + 1)
    else:
        o = n.tanh()
    o.label = "o"
    return dict(x1=x1, x2=x2, w1=w1, w2=w2, b=b, n=n, o=o)


@pytest.mark.parametrize("exp_version", [False, True])
def test_the_lectures_neuron(exp_version: bool) -> None:
    v = lecture_neuron(LectureValue, exp_version=exp_version)
    program = to_program(v["o"])
    assert program.output.data == pytest.approx(0.7071067811865476, abs=1e-15)
    grads = stepgrad_grads(v["o"])
    # the lecture's numbers: x1.grad = -1.5, w1.grad = 1, x2.grad = 0.5, w2.grad = 0
    assert {k: grads[k] for k in ("x1", "w1", "x2", "w2")} == pytest.approx(
        {"x1": -1.5, "w1": 1.0, "x2": 0.5, "w2": 0.0}, abs=1e-12
    )
    fresh = lecture_neuron(LectureValue, exp_version=exp_version)
    fresh["o"].backward()
    assert {k: grads[k] for k in ("x1", "w1", "x2", "w2", "b")} == approx(
        {k: fresh[k].grad for k in ("x1", "w1", "x2", "w2", "b")}
    )


def test_the_exp_neuron_is_shown_as_micrograd_built_it() -> None:
    """e - 1 is e + (-1) and a/b is a * b**-1: the numbers micrograd lifted are inputs."""
    v = lecture_neuron(LectureValue, exp_version=True)
    program = to_program(v["o"])
    out = program.output
    assert out.op == "*"  # (e + -1) * (e + 1)**-1
    minus, power = out.parents
    assert minus.op == "+" and minus.parents[1].data == -1.0 and minus.parents[1].requires_grad
    assert power.op == "**" and power.parents[1].data == -1.0
    assert not power.parents[1].requires_grad  # the exponent of **k is part of the op
    two_n = program.names["e"].parents[0]
    assert two_n.op == "*" and two_n.parents[0].label == "n"  # 2*n is n.__rmul__(2): n * 2
    assert two_n.parents[1].data == 2.0


def neuron_0_1_0() -> tuple[Neuron, list[MicroValue], MicroValue]:
    neuron = Neuron(2)
    neuron.w = [MicroValue(-3.0), MicroValue(1.0)]
    neuron.b = MicroValue(6.8813735870195432)
    x = [MicroValue(2.0), MicroValue(0.0)]
    return neuron, x, neuron(x)


def test_a_micrograd_0_1_0_neuron() -> None:
    neuron, x, out = neuron_0_1_0()
    names = {"x1": x[0], "x2": x[1], "w1": neuron.w[0], "w2": neuron.w[1], "b": neuron.b}
    program = to_program(out, names=names)
    assert program.output.op == "relu"
    grads = stepgrad_grads(out, names=names)
    # relu(n) with n = 0.88 > 0: d/dx_i = w_i, d/dw_i = x_i, d/db = 1
    assert grads == approx({"x1": -3.0, "x2": 1.0, "w1": 2.0, "w2": 0.0, "b": 1.0})
    fresh_neuron, fresh_x, fresh_out = neuron_0_1_0()
    fresh_out.backward()
    fresh = {"x1": fresh_x[0], "x2": fresh_x[1], "w1": fresh_neuron.w[0]}
    fresh |= {"w2": fresh_neuron.w[1], "b": fresh_neuron.b}
    assert grads == approx({name: value.grad for name, value in fresh.items()})


# --- an MLP made with micrograd's nn.MLP -------------------------------------------------------

XS = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
YS = [1.0, -1.0, -1.0, 1.0]


def mlp_loss(seed: int) -> tuple[MLP, MicroValue]:
    """The lecture's 3-4-4-1 net and its summed squared loss on its four samples."""
    random.seed(seed)
    model = MLP(3, [4, 4, 1])
    predictions = [model(x) for x in XS]
    loss = sum(((p - y) ** 2 for p, y in zip(predictions, YS, strict=True)), MicroValue(0.0))
    return model, loss


def test_an_mlp_made_with_micrograd_nn() -> None:
    model, loss = mlp_loss(seed=1)
    parameters = model.parameters()
    names = {f"p{i}": p for i, p in enumerate(parameters)}
    program = to_program(loss, names=names)
    assert program.output.data == pytest.approx(loss.data, rel=1e-12)
    grads = stepgrad_grads(loss, names=names)
    fresh_model, fresh_loss = mlp_loss(seed=1)
    fresh_loss.backward()
    expected = {f"p{i}": p.grad for i, p in enumerate(fresh_model.parameters())}
    assert {name: grads[name] for name in expected} == approx(expected)
    assert any(abs(g) > 1e-3 for g in expected.values())  # the check is not all zeros

    # every node, not only the parameters: micrograd's own grads of the lifted inputs too
    imported = import_graph(loss)
    imported.root.backward()
    loss.backward()
    for node in walk(loss):
        assert imported.node(node).grad == pytest.approx(node.grad, rel=1e-12, abs=1e-12)


# --- shapes micrograd builds -------------------------------------------------------------------


def test_a_repeated_input_keeps_both_edges() -> None:
    """micrograd's _prev is a set: a*a keeps a once; the graph still has both edges."""
    a = MicroValue(3.0)
    y = a * a + a
    program = to_program(y, names={"a": a})
    square = program.output.parents[0]
    assert square.op == "*" and square.parents[0] is square.parents[1]
    y.backward()
    assert stepgrad_grads(MicroValue(0) + y, names={"a": a})["a"] == pytest.approx(a.grad)
    assert a.grad == 7.0  # 2a + 1, by hand


def test_operand_order_comes_from_the_closure() -> None:
    """2 + x is x.__radd__(2): x + 2 as micrograd built it; a - b is a + b*-1."""
    x = MicroValue(5.0)
    y = 2 + x
    assert program_source(y, names={"x": x})[0].splitlines()[-1] == "x + v1"
    a, b = MicroValue(5.0), MicroValue(2.0)
    out = to_program(a - b, names={"a": a, "b": b}).output
    assert out.op == "+" and out.parents[0].label == "a"
    assert out.parents[1].op == "*" and out.parents[1].parents[0].label == "b"


@pytest.mark.parametrize("cls", [DirectValue, LectureValue])
def test_direct_minus_and_divide(cls: type) -> None:
    a, b = cls(5.0, label="a"), cls(2.0, label="b")
    y = (a - b) / b
    y.label = "y"
    program = to_program(y)
    if cls is DirectValue:
        assert program.output.op == "/" and program.output.parents[0].op == "-"
        assert program.source.splitlines()[-1] == "y = (a - b)/b"
    program.backward(trace=False)
    fresh_a, fresh_b = cls(5.0), cls(2.0)
    fresh = (fresh_a - fresh_b) / fresh_b
    fresh.backward()
    assert program.names["a"].grad == pytest.approx(fresh_a.grad, abs=1e-12)
    assert program.names["b"].grad == pytest.approx(fresh_b.grad, abs=1e-12)
    assert (fresh_a.grad, fresh_b.grad) == pytest.approx((0.5, -1.25))  # 1/b, -a/b**2


def without_closures(root: Any) -> Any:
    for node in walk(root):
        node._backward = lambda: None  # a class whose _backward closes over other names
    return root


def test_without_a_closure_the_data_tells_the_order() -> None:
    a, b = DirectValue(5.0, label="a"), DirectValue(2.0, label="b")
    y = without_closures(b - a)
    assert program_source(y)[0].splitlines()[-1] == "b - a"
    z = without_closures(a / b)
    assert program_source(z)[0].splitlines()[-1] == "a/b"
    s = without_closures(b * a + a)
    first, second = program_source(s)[0], program_source(s)[0]
    assert first == second  # a fixed order for commutative ops


def test_without_a_closure_an_undecidable_order_is_refused() -> None:
    a, b = DirectValue(2.0, label="a"), DirectValue(2.0, label="b")
    y = without_closures(a - b)  # 0 either way, but the grads of a and b would swap
    with pytest.raises(SourceError, match=r"which input of micrograd's '-' comes first"):
        program_source(y)


class NegValue(DirectValue):
    """A lecture Value whose unary minus is an op of its own: ``_op`` ``'-'`` over one input
    (``_prev`` a set, as ``a - a`` leaves it too)."""

    def __neg__(self) -> LectureValue:
        out = NegValue(-self.data, (self,), "-")

        def _backward() -> None:
            self.grad += -out.grad

        out._backward = _backward
        return out


def negated(at: float) -> tuple[Any, Any]:
    """``(-a)*k`` with ``a`` = ``at`` and ``k`` = 2, and ``a``."""
    a = NegValue(at, label="a")
    return (-a) * NegValue(2.0, label="k"), a


@pytest.mark.parametrize("at", [3.0, 0.0])
@pytest.mark.parametrize("closure", [True, False], ids=["closure", "no closure"])
def test_a_minus_over_one_input_is_a_negation(at: float, closure: bool) -> None:
    """``(-a)*k`` was read as ``k*(a - a)``: output 0, a.grad 0 (the class's own backward gives
    -2) and a stale-graph warning. The closure (over ``self`` alone) or, without one, the data
    (-3, not 0) says it is -a."""
    if at == 0.0 and not closure:
        return  # nothing tells: see the test below
    y, _ = negated(at)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the graph is fresh: no stale warning
        document = stepgrad.to_json(y if closure else without_closures(y))
    assert document["program"].splitlines()[-1] in ("-a*k", "k*-a")  # no closure: k first
    assert document["output"]["data"] == -2 * at
    fresh, a = negated(at)
    fresh.backward()
    assert document["inputs"]["a"]["grad"] == a.grad == -2.0  # the class's own, and -k by hand


def test_a_minus_over_one_input_that_nothing_tells_apart_is_refused() -> None:
    """-a and a - a both hold 0 at a = 0, and their grads differ (-1 and 0)."""
    y, _ = negated(0.0)
    with pytest.raises(SourceError, match=r"micrograd's '-' over one input is -a or a - a"):
        stepgrad.to_json(without_closures(y))


@pytest.mark.parametrize("closure", [True, False], ids=["closure", "no closure"])
def test_a_minus_of_a_value_and_itself_is_still_a_minus_a(closure: bool) -> None:
    a = NegValue(3.0, label="a")
    y = (a - a) * NegValue(2.0, label="k")
    document = stepgrad.to_json(y if closure else without_closures(y))
    assert document["program"].splitlines()[-1] in ("(a - a)*k", "k*(a - a)")
    assert document["output"]["data"] == 0.0
    assert document["inputs"]["a"]["grad"] == 0.0  # k - k, by hand


@pytest.mark.parametrize(("x", "y"), [(0.3, 0.30000000000000004), (0.30000000000000004, 0.3)])
def test_without_a_closure_a_tiny_difference_still_tells_the_order(x: float, y: float) -> None:
    """0.3 - 0.30000000000000004 is -5.6e-17 and the other way round 5.6e-17: an absolute
    tolerance of 1e-12 took both for the data, and the graph was refused ('cannot tell which
    input ... comes first')."""
    a, b = DirectValue(x, label="a"), DirectValue(y, label="b")
    document = stepgrad.to_json(without_closures(a - b))
    assert document["program"].splitlines()[-1] == "a - b"
    assert {n: document["inputs"][n]["grad"] for n in "ab"} == {"a": 1.0, "b": -1.0}


def test_without_a_closure_a_quotient_near_1_still_tells_the_order() -> None:
    """1.0000000001/1 and 1/1.0000000001 are within a relative 1e-9: both were taken for the
    data. The one that gives it exactly is the order."""
    a, b = DirectValue(1.0000000001, label="a"), DirectValue(1.0, label="b")
    for out, text, (u, v) in ((a / b, "a/b", (a, b)), (b / a, "b/a", (b, a))):
        document = stepgrad.to_json(without_closures(out))
        assert document["program"].splitlines()[-1] == text
        grads = {n: document["inputs"][n]["grad"] for n in "ab"}
        by_hand = {u.label: 1 / v.data, v.label: -u.data / v.data**2}  # d(u/v)/du, d(u/v)/dv
        assert grads == pytest.approx(by_hand, rel=1e-12)


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no text here")


def test_a_label_that_cannot_be_text_is_one_line() -> None:
    """A label whose __str__ raises came out as that raw RuntimeError."""
    from engine import Value

    for cls in (LectureValue, Value):
        x = cls(2.0, label=Unprintable())
        out = x * cls(3.0, label="k")
        with pytest.raises(
            SourceError, match=r"label cannot be read as text.*RuntimeError"
        ) as info:
            stepgrad.to_json(out)
        assert "\n" not in str(info.value)
        # a name given wins over the label, which is then not read at all
        assert stepgrad.to_json(out, names={"x": x})["inputs"]["x"]["grad"] == 3.0


def test_a_long_label_is_cut_to_its_first_40_characters() -> None:
    """A 35,000-character label on a 3-node graph was 'too large to show: its 3 nodes make a
    program of more than 20,000 characters', which blamed the graph."""
    from engine import Value

    for cls in (LectureValue, Value):
        x = cls(2.0, label="weight " * 5000)
        document = stepgrad.to_json(x * cls(3.0, label="k"))
        assert set(document["inputs"]) == {"weight_weight_weight_weight_weight_weigh", "k"}
        assert document["inputs"]["weight_weight_weight_weight_weight_weigh"]["grad"] == 3.0
        assert len(x.label) == 35_000  # the value passed in keeps its label


def test_a_name_given_wins_over_another_nodes_label() -> None:
    """names={'a': q} beside a node labelled 'a': the labelled node took the name, and the node
    the user named became a_2. The node named gets the name; the other one gets the suffix."""
    from engine import Value

    for cls in (LectureValue, Value):
        p, q = cls(2.0, label="a"), cls(3.0, label="q")
        r = p * q
        document = stepgrad.to_json(r, names={"a": q})
        assert document["program"] == "a_2 = 2\na = 3\na_2*a"
        assert document["inputs"]["a"]["data"] == 3.0
        assert document["inputs"]["a"]["grad"] == 2.0  # d(p*q)/dq = p, by hand
        assert document["inputs"]["a_2"]["grad"] == 3.0
        assert (p.label, q.label) == ("a", "q")  # the values passed in keep their labels
        r.label = "a"  # the output too: the title follows it
        assert program_source(r, names={"a": q}) == ("a_2 = 2\na = 3\na_3 = a_2*a", "a_3")


# --- errors ------------------------------------------------------------------------------------


class SigmoidValue(MicroValue):  # type: ignore[misc]
    def sigmoid(self) -> MicroValue:
        return MicroValue(1 / (1 + math.exp(-self.data)), (self,), "σ")


def test_an_unknown_op_is_one_clear_error() -> None:
    x = SigmoidValue(0.5)
    y = (x.sigmoid() * 2 + 1).relu()
    before = state(y)
    for call in (stepgrad.to_json, stepgrad.app_for, program_source):
        with pytest.raises(SourceError) as info:
            call(y)
        message = str(info.value)
        assert "'σ'" in message and "micrograd op" in message
        assert "via ReLU → + → *" in message  # where it was met, from the output down
        assert "\n" not in message
        assert "tanh" in message  # what stepgrad does read
    assert info.value._render_traceback_() == [f"stepgrad: error: {message}"]
    assert isinstance(info.value, ProgramError)
    assert state(y) == before


def test_an_unknown_op_at_the_output() -> None:
    y = SigmoidValue(0.5).sigmoid()
    with pytest.raises(SourceError, match=r"'σ' is not one stepgrad knows \(met at the output\)"):
        stepgrad.to_json(y)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: MicroValue(1.0, (MicroValue(1.0), MicroValue(2.0), MicroValue(3.0)), "+"),
         "'\\+' has 3 inputs"),
        (lambda: MicroValue(1.0, (MicroValue(1.0),), "**x"), "no number for its exponent"),
        (lambda: MicroValue("3") * 2, "'3' is text"),
        (lambda: MicroValue(float("nan")) * 2, "not a finite number"),
        (lambda: MicroValue(2.0, (3.0,), "exp"), "not a Value"),
    ],
)  # fmt: skip
def test_malformed_graphs_are_one_clear_error(build: Callable[[], Any], message: str) -> None:
    with pytest.raises(SourceError, match=message) as info:
        stepgrad.to_json(build())
    assert "\n" not in str(info.value)


def test_a_graph_too_big_to_step_through() -> None:
    x = MicroValue(0.5)
    y = x
    for _ in range(MAX_SOURCE + 10):  # more nodes than any program stepgrad reads
        y = y + x
    with pytest.raises(SourceError) as info:
        stepgrad.app_for(y)
    message = str(info.value)
    assert "too large to step through" in message and f"{MAX_SOURCE:,}" in message
    assert "\n" not in message


def test_a_graph_whose_program_is_too_long() -> None:
    xs = [MicroValue(i + 0.123456789) for i in range(1500)]  # under the node limit
    total = sum(xs[1:], xs[0])
    with pytest.raises(SourceError, match="too large") as info:
        stepgrad.to_json(total)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("bad", [3.0, "x*x", None, [MicroValue(1.0)], {"data": 1}])
def test_not_a_graph(bad: Any) -> None:
    for call in (stepgrad.to_json, stepgrad.app_for, stepgrad.show):
        with pytest.raises(NotAGraph, match="a micrograd Value or a PyTorch tensor, not ") as info:
            call(bad)
        assert isinstance(info.value, TypeError)


def test_names_must_be_a_dict_of_strings() -> None:
    x = MicroValue(1.0)
    with pytest.raises(SourceError, match="names must be a dict"):
        stepgrad.to_json(x * 2, names=[x])  # type: ignore[arg-type]
    with pytest.raises(SourceError, match="non-empty string"):
        stepgrad.to_json(x * 2, names={1: x})  # type: ignore[dict-item]


# --- the values passed in ----------------------------------------------------------------------


def test_names_win_over_labels_and_name_the_title() -> None:
    v = lecture_l(LectureValue)
    source, title = program_source(v["L"], names={"alpha": v["a"], "loss": v["L"]})
    assert title == "loss"
    assert "alpha = 2" in source and source.endswith("loss = d*f")
    assert program_source(v["L"], names={"unused": LectureValue(1.0)})[1] == "L"


def test_the_values_passed_in_are_never_changed() -> None:
    model, loss = mlp_loss(seed=2)
    loss.backward()  # grads the learner's own backward left
    before = state(loss)
    stepgrad.to_json(loss)
    stepgrad.app_for(loss, steady=True)
    program = to_program(loss)
    program.backward(trace=False)
    assert state(loss) == before
    v = lecture_l(LectureValue)
    before = state(v["L"])
    stepgrad.to_json(v["L"], names={"x": v["a"]})
    assert state(v["L"]) == before and v["a"].label == "a"


def shown(root: Any) -> tuple[dict[str, Any], dict[int, dict[str, Any]]]:
    """``to_json`` of ``root`` with every Value named, and its node for each Value, by id."""
    names = {f"n{i}": node for i, node in enumerate(walk(root))}
    document = stepgrad.to_json(root, names=names)
    by_name = {node["label"]: node for node in document["nodes"]}
    return document, {id(node): by_name[name] for name, node in names.items()}


def micrograds(root: Any) -> None:
    """micrograd's own ``backward()`` on ``root``'s graph as it stands, from zero grads."""
    for node in walk(root):
        node.grad = 0.0
    root.backward()


def assert_as_stored(root: Any, by_node: dict[int, dict[str, Any]]) -> None:
    """Every node shows the data the graph stores and the grad micrograd's backward() gives."""
    micrograds(root)
    for node in walk(root):
        assert by_node[id(node)]["data"] == node.data
        assert by_node[id(node)]["grad"] == pytest.approx(node.grad, rel=1e-12, abs=1e-12)


STALE = "an input changed after the forward pass"


def test_a_neuron_updated_after_its_backward_pass_is_shown_as_it_stands() -> None:
    """The notebook's usual step: backward(), ``w.data -= 0.1 * w.grad``, then look. stepgrad
    showed values computed again from the leaves (o = 0.5924, for a graph that holds 0.7071)
    without a word in the document, and grads micrograd's backward() does not give."""
    v = lecture_neuron(LectureValue)
    o, w1 = v["o"], v["w1"]
    o.backward()
    assert w1.grad == pytest.approx(1.0)  # the lecture's: x1 * (1 - o**2) = 2 * 0.5
    w1.data -= 0.1 * w1.grad  # -3.1: x1*w1 would be -6.2, the graph holds -6
    with pytest.warns(StaleGraphWarning, match=r"'\*' node holds -6.0 but its inputs give -6.2"):
        document, by_node = shown(o)
    assert document["output"]["data"] == o.data == pytest.approx(2**-0.5)
    (warning,) = document["warnings"]
    assert STALE in warning and "as the graph stores them" in warning and "\n" not in warning
    # by hand, on the stored values: o.grad 1, n.grad 1 - o**2 = 0.5, x1.grad = w1 * 0.5 with
    # the w1 micrograd's * reads now (-3.1), w1.grad = x1 * 0.5 = 1
    assert by_node[id(v["n"])]["grad"] == pytest.approx(0.5)
    assert by_node[id(v["x1"])]["grad"] == pytest.approx(-1.55)
    assert by_node[id(w1)]["grad"] == pytest.approx(1.0)
    assert_as_stored(o, by_node)


def test_an_mlp_after_a_gradient_step_is_shown_as_it_stands() -> None:
    """micrograd 0.1.0's nn.MLP after ``p.data -= 0.05 * p.grad`` on every parameter, without a
    new forward pass: the loss and every node are the graph's, the grads micrograd's own."""
    model, loss = mlp_loss(seed=5)
    loss.backward()
    held = loss.data
    for p in model.parameters():
        p.data -= 0.05 * p.grad
    with pytest.warns(StaleGraphWarning, match=STALE):
        document, by_node = shown(loss)
    assert document["output"]["data"] == held
    assert len(document["warnings"]) == 1
    assert_as_stored(loss, by_node)
    assert any(abs(p.grad) > 1e-3 for p in model.parameters())  # the check is not all zeros


def test_data_set_by_hand_is_shown_as_stored() -> None:
    """``e = a*b`` holds -6; set to 1 by hand, d = e + c still holds 4 (micrograd computes
    nothing again): e shows 1, and the grads are micrograd's on the graph as it stands (by
    hand: a.grad = b * -2 = 6, b.grad = a * -2 = -4, f.grad = d = 4, as for the fresh graph)."""
    v = lecture_l(LectureValue)
    v["e"].data = 1.0
    with pytest.warns(StaleGraphWarning, match=r"'\*' node holds 1.0 but its inputs give -6.0"):
        document, by_node = shown(v["L"])
    assert by_node[id(v["e"])]["data"] == 1.0 and document["output"]["data"] == -8.0
    grads = {name: by_node[id(v[name])]["grad"] for name in "abcf"}
    assert grads == approx({"a": 6.0, "b": -4.0, "c": -2.0, "f": 4.0})
    assert_as_stored(v["L"], by_node)


def test_an_op_that_does_not_match_its_data_is_said() -> None:
    """``_op`` set to ``+`` on ``e = a*b``: its data (-6) is not a + b (-1). The value shown is
    the one stored; the warning says the graph does not hold what its inputs give."""
    v = lecture_l(LectureValue)
    v["e"]._op = "+"
    with pytest.warns(StaleGraphWarning, match=r"'\+' node holds -6.0 but its inputs give -1.0"):
        document, by_node = shown(v["L"])
    assert by_node[id(v["e"])]["data"] == -6.0 and document["output"]["data"] == -8.0
    assert len(document["warnings"]) == 1


def test_the_app_shows_a_stale_graph_as_it_stands() -> None:
    """The app steps through the graph as it stands, as to_json and html show it: ``a.data``
    set to 5 after the forward pass leaves L holding -8 (by hand: (2*-3 + 10) * -2), not the
    10 its inputs give now; the grads are micrograd's own on it; a warning says so."""
    v = lecture_l(MicroValue)
    v["a"].data = 5.0
    with pytest.warns(StaleGraphWarning, match="as the graph stores them") as record:
        app = stepgrad.app_for(v["L"], names={k: v[k] for k in "abf"}, steady=True)
    assert record[0].filename == __file__  # pointed at the caller's line
    program = app.walk.program
    assert program.output.data == -8.0
    program.zero_grad()  # the app ran a pass already
    program.backward(trace=False)
    micrograds(v["L"])
    mine = {name: program.inputs[name].grad for name in "abf"}
    assert mine == {name: v[name].grad for name in "abf"}
    assert mine["a"] == 6.0  # by hand: b * f = -3 * -2, as for the fresh graph


def test_a_fresh_graph_gives_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stepgrad.to_json(lecture_neuron(LectureValue)["o"])  # lecture tanh vs math.tanh: 1 ulp
        stepgrad.to_json(mlp_loss(seed=3)[1])


# --- the app -----------------------------------------------------------------------------------


async def test_the_app_steps_through_a_micrograd_graph() -> None:
    v = lecture_l(LectureValue)
    app = stepgrad.app_for(v["L"], steady=True)
    assert app.title == "L"
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        program = app.walk.program
        await pilot.press("end")
        await pilot.pause()
        grads = {name: app.walk.grad(program.names[name]) for name in "abcf"}
        assert grads == approx({"a": 6.0, "b": -4.0, "c": -2.0, "f": 4.0})
    assert all(node.grad == 0.0 for node in walk(v["L"]))


# --- random graphs ---------------------------------------------------------------------------


def random_graph(cls: type, seed: int) -> tuple[Any, list[Any]]:
    """A random expression over every op ``cls`` has, with numbers mixed in and reused nodes."""
    r = random.Random(seed)
    leaves = [cls(round(r.uniform(-1.5, 1.5), 3)) for _ in range(3)]
    pool = list(leaves)
    for _ in range(10):
        a, b = r.choice(pool), r.choice(pool)
        kind = r.randrange(8)
        if kind == 0:
            pool.append(a + b)
        elif kind == 1:
            pool.append(a * b * r.choice([1, -2, 0.5]))
        elif kind == 2:
            pool.append(a - b + r.choice([1, 2.5]))
        elif kind == 3:
            pool.append(a / (b * b + 1))
        elif kind == 4:
            pool.append((a * a + 0.25) ** r.choice([2, 0.5, -1, 3]))
        elif kind == 5 and hasattr(a, "tanh"):
            pool.append(a.tanh())
        elif kind == 6 and hasattr(a, "exp"):
            pool.append((a * 0.5).exp())
        elif hasattr(a, "relu"):
            pool.append(a.relu() + 2 * a)
        else:
            pool.append(-a + 3)
    return pool[-1] * pool[-2] + pool[-3], leaves


@pytest.mark.parametrize("cls", [MicroValue, LectureValue])
def test_grads_match_micrograd_on_random_graphs(cls: type) -> None:
    """Every node's grad, against micrograd's own backward() run after the import (which
    leaves the graph as it was: the grads start from 0 as on a fresh graph)."""
    for seed in range(100):
        out, _ = random_graph(cls, seed)
        imported = import_graph(out)
        imported.root.backward()
        assert all(node.grad == 0 for node in walk(out))
        out.backward()
        for node in walk(out):
            copy = imported.node(node)
            assert copy.data == pytest.approx(node.data, rel=1e-12, abs=1e-12)
            assert copy.grad == pytest.approx(node.grad, rel=1e-12, abs=1e-12), seed


@pytest.mark.parametrize("how", ["through another node", "itself"])
def test_a_cycle_made_by_hand_is_one_line(how: str) -> None:
    """``_prev`` edited into a cycle: a raw KeyError came out of the import before."""
    a = MicroValue(1.0)
    b = a * 2
    if how == "itself":
        b._prev.add(b)
    else:
        a._prev = {b}
        a._op = "*"
    with pytest.raises(SourceError, match="the graph has a cycle") as info:
        stepgrad.to_json(b)
    assert "\n" not in str(info.value)


def test_names_that_name_nothing_or_twice_are_one_line() -> None:
    """{"a": 5} named nothing and {"x": a, "y": a} dropped y, both silently; a value of another
    graph is still left out (one names dict may serve several outputs)."""
    a, b = MicroValue(2.0), MicroValue(3.0)
    out = a * b
    with pytest.raises(SourceError, match=r"names: 'a' is an int, not a micrograd Value$"):
        stepgrad.to_json(out, names={"a": 5})  # type: ignore[dict-item]
    with pytest.raises(SourceError, match="names: 'x' and 'y' name the same value"):
        stepgrad.to_json(out, names={"x": a, "y": a})
    other = MicroValue(1.0)
    document = stepgrad.to_json(out, names={"a": a, "b": b, "other": other})
    assert set(document["inputs"]) == {"a", "b"}


class ReflectedValue(LectureValue):
    """A lecture Value with ``-`` as an op of its own, made by ``__rsub__`` too: for ``1 - x``
    the closure's ``self`` is x and ``other`` the 1, applied as ``other - self``."""

    def __sub__(self, other: Any) -> LectureValue:
        other = other if isinstance(other, LectureValue) else ReflectedValue(other)
        out = ReflectedValue(self.data - other.data, (self, other), "-")

        def _backward() -> None:
            self.grad += out.grad
            other.grad -= out.grad

        out._backward = _backward
        return out

    def __rsub__(self, other: Any) -> LectureValue:
        other = ReflectedValue(other)
        out = ReflectedValue(other.data - self.data, (self, other), "-")

        def _backward() -> None:
            self.grad -= out.grad
            other.grad += out.grad

        out._backward = _backward
        return out


def test_a_reflected_minus_keeps_its_sign() -> None:
    """``(1 - x) * x`` at x = 0.25 is 0.1875, d/dx = 1 - 2x = 0.5 (by hand). The closure's
    ``self, other`` were taken as ``a - b`` and gave -0.1875 and a false stale warning."""
    x = ReflectedValue(0.25, label="x")
    y = (1 - x) * x
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no stale warning: the graph is fresh
        doc = stepgrad.to_json(y)
    assert math.isclose(doc["output"]["data"], 0.1875)
    grads = {n["name"]: n["grad"] for n in doc["nodes"]}
    assert math.isclose(grads["x"], 0.5)


def _prev_is(value: Any) -> MicroValue:
    node = MicroValue(2.0) * MicroValue(3.0)
    node._prev = value
    return node


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: _prev_is(None), "_prev is None, not a set of Values"),
        (lambda: _prev_is(5), "_prev is an int, not a set of Values"),
        (lambda: _prev_is(itertools.repeat(MicroValue(1.0))), "_prev is a repeat, not a set"),
        (lambda: _prev_is({MicroValue(1.0), 3}), "has an input that is not a Value \\(an int"),
        (lambda: _prev_is({MicroValue(1.0), None}), "has an input that is not a Value"),
        (lambda: _prev_is("ab"), "_prev is a str, not a set of Values"),
    ],
)
def test_a_prev_that_is_not_a_set_of_values_is_one_line(
    build: Callable[[], Any], message: str
) -> None:
    """``_prev`` set by hand to None, a number, text or an endless iterator was a TypeError,
    an AttributeError or a hang that ate gigabytes."""
    with pytest.raises(SourceError, match=message) as info:
        stepgrad.to_json(build())
    assert "\n" not in str(info.value)


def test_an_op_text_of_any_length_is_quoted_short() -> None:
    node = MicroValue(2.0) * MicroValue(3.0)
    node._op = "q" * 10_000
    with pytest.raises(SourceError) as info:
        stepgrad.to_json(node)
    assert len(str(info.value)) < 300


def test_an_engine_value_edited_by_hand_is_one_line() -> None:
    """stepgrad's own Values, edited by hand: data of another type, an op not in the table, an
    input that is itself: each was an AttributeError, KeyError or TypeError from deep inside
    (or, for a wrong op, silently another graph)."""
    from engine import Value

    def edited(change: Callable[[Any, Any], None]) -> Any:
        x = Value(2.0, "x")
        out = x * Value(3.0, "w")
        change(x, out)
        return out

    cases = [
        (lambda x, o: setattr(x, "data", "abc"), "data is 'abc', not a finite number"),
        (lambda x, o: setattr(x, "data", float("nan")), "data is nan, not a finite number"),
        (lambda x, o: setattr(x, "data", 10**400), "not a finite number"),
        (lambda x, o: setattr(o, "op", "foo"), "the op 'foo' over 2 inputs"),
        (lambda x, o: setattr(o, "op", "tanh"), "the op 'tanh' over 2 inputs"),
        (lambda x, o: setattr(o, "_a", o), "the graph has a cycle"),
        (lambda x, o: setattr(o, "_a", 5), "an input that is not a Value"),
    ]
    for change, message in cases:
        for named in (False, True):  # as it is, and copied to be relabeled
            graph = edited(change)
            with pytest.raises(SourceError, match=message) as info:
                stepgrad.to_json(graph, names={"out": graph} if named else None)
            assert "\n" not in str(info.value)


def test_an_engine_value_whose_leaf_changed_is_warned_about() -> None:
    """micrograd and PyTorch graphs warn when a leaf changed after the graph was built; the
    engine's own did not. x*w at x = 5, w = 3 is 15 (by hand), not the 6 it holds; the graph is
    shown as it stands, with the engine's own grads on it: x.grad = w = 3, w.grad = x = 5."""
    from engine import Value

    x, w = Value(2.0, "x"), Value(3.0, "w")
    out = x * w
    x.data = 5  # an int, set by hand: read as the number it is
    for names in (None, {"x": x, "w": w}):  # the graph as it is, and a relabelled copy
        with pytest.warns(StaleGraphWarning, match="holds 6.0 but its inputs give 15.0"):
            doc = stepgrad.to_json(out, names=names)
        assert doc["output"]["data"] == 6.0 and STALE in doc["warnings"][0]
        assert {name: v["grad"] for name, v in doc["inputs"].items()} == {"x": 3.0, "w": 5.0}
    out.backward()
    assert (x.grad, w.grad) == (3.0, 5.0)


def test_html_takes_a_file_name_only(tmp_path: Any) -> None:
    """``html(value, 1)`` opened file descriptor 1: it wrote the page to standard output and
    closed it for the rest of the process."""
    from engine import Value

    for path in (1, True, 2.5):
        with pytest.raises(SourceError, match="path must be a file name"):
            stepgrad.html(Value(2.0, "x") * 2, path)  # type: ignore[arg-type]
    stepgrad.html(Value(2.0, "x") * 2, tmp_path / "ok.html")
    assert (tmp_path / "ok.html").read_text().startswith("<!DOCTYPE html>")
    # a folder, or a file in a folder that does not exist: one line, as --html FILE says it
    for bad, why in ((tmp_path, "Is a directory"), (tmp_path / "no" / "x.html", "No such file")):
        with pytest.raises(SourceError, match=f"cannot write the HTML file '.*': {why}") as info:
            stepgrad.html(Value(2.0, "x") * 2, bad)
        assert "\n" not in str(info.value)


def test_show_without_a_terminal_says_a_gradient_error_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """1/x at 1e-300: the gradient overflows. show() without a terminal raised the parser's
    error about a program the user never saw (``2:1: ...``) and blamed a slope at 0."""
    with pytest.raises(SourceError) as info:
        stepgrad.show(MicroValue(1e-300) ** -1)
    text = str(info.value)
    assert not text[:1].isdigit() and "not finite" in text and "at 0" not in text


def test_a_value_missing_an_attribute_is_named_for_what_it_lacks() -> None:
    """``del b.data`` on the output said the call takes a micrograd Value, 'not
    micrograd.engine.Value'; on a leaf, that an input 'is not a Value (Value; ...)'."""
    out = MicroValue(2.0) * 3
    del out.data
    with pytest.raises(NotAGraph, match="looks like a micrograd Value but has no data"):
        stepgrad.to_json(out)
    leaf = MicroValue(2.0)
    out = leaf * 3
    del leaf._prev
    with pytest.raises(SourceError, match=r"not a Value \(a Value without _prev; met at"):
        stepgrad.to_json(out)


# --- an error left uncaught in a script ------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


def script(code: str) -> subprocess.CompletedProcess[str]:
    """``code`` run by a plain Python, as a learner's script is."""
    head = "import stepgrad\nfrom micrograd.engine import Value\n"
    return subprocess.run(
        [sys.executable, "-c", head + code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("stepgrad.to_json(Value(2.0, (Value(1.0),), 'sinh'))", "'sinh' is not one stepgrad knows"),
        ("stepgrad.html(3.0)", "takes an engine Value"),
        ("stepgrad.html(Value(2.0) * 3, 'no/such/folder/x.html')", "cannot write the HTML"),
        ("stepgrad.show(Value(1e-300) ** -1)", "not finite"),
        ("stepgrad.app_for(Value(2.0) * 3, names=5)", "names must be a dict"),
    ],
)
def test_an_uncaught_stepgrad_error_is_one_line(code: str, message: str) -> None:
    """A script ending in a stepgrad error printed an 18-line traceback through stepgrad's own
    code; it now prints the one line the CLI prints, and the error is raised as before (a
    script or a test can still catch it)."""
    done = script(code)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("stepgrad: error: ") and message in line


def test_other_errors_keep_their_traceback() -> None:
    """Once a stepgrad error was raised (and caught), any other error still prints Python's
    own traceback, and a stepgrad error caught by the script prints nothing."""
    done = script(
        "try:\n    stepgrad.to_json(3.0)\nexcept TypeError:\n    pass\n"
        "def mine():\n    raise ValueError('not stepgrad')\nmine()\n"
    )
    assert done.returncode == 1
    assert done.stderr.startswith("Traceback (most recent call last):")
    assert "in mine" in done.stderr
    assert done.stderr.splitlines()[-1] == "ValueError: not stepgrad"
