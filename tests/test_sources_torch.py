"""PyTorch scalar graphs in stepgrad.

Runs where torch is installed, and is skipped with a reason elsewhere (CI installs
``.[test]``, which does not include torch). Every grad stepgrad shows is checked against
PyTorch's own ``backward()`` on a fresh float64 copy of the same graph.
"""

from __future__ import annotations

import math
import random
import re
import warnings
from collections.abc import Callable
from typing import Any

import pytest

with warnings.catch_warnings():  # a CPU wheel without numpy says so when imported
    warnings.simplefilter("ignore")
    torch = pytest.importorskip(
        "torch", reason="PyTorch is not installed (it is no dependency of stepgrad)"
    )

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
from stepgrad.sources.torch import SPECS

F = torch.nn.functional
Build = Callable[[Callable[..., Any]], tuple[Any, dict[str, Any]]]
"""Builds a graph from a tensor maker ``T(number, requires_grad=True)``: (output, leaves)."""


def maker(dtype: Any, shape: tuple[int, ...]) -> Callable[..., Any]:
    def T(number: float, requires_grad: bool = True) -> Any:
        data = number if shape == () else [number]
        return torch.tensor(data, dtype=dtype, requires_grad=requires_grad)

    return T


def check(build: Build, dtype: Any = torch.float64, shape: tuple[int, ...] = ()) -> dict[str, Any]:
    """stepgrad's grads on ``build``'s graph equal PyTorch's on a fresh float64 copy."""
    out, leaves = build(maker(dtype, shape))
    document = stepgrad.to_json(out, names=leaves)
    reference, fresh = build(maker(torch.float64, shape))
    reference.sum().backward()
    expected = {
        name: (0.0 if t.grad is None else float(t.grad.sum()))
        for name, t in fresh.items()
        if t.requires_grad
    }
    unused = {"grad": 0.0}  # a leaf the output does not use is not in the program
    grads = {name: document["inputs"].get(name, unused)["grad"] for name in expected}
    assert grads == pytest.approx(expected, rel=1e-12, abs=1e-12), document["program"]
    assert document["output"]["data"] == pytest.approx(float(reference.detach().sum()), rel=1e-12)
    return document


def tanh_neuron(T: Callable[..., Any]) -> tuple[Any, dict[str, Any]]:
    x1, x2, w1, w2 = T(2.0), T(0.0), T(-3.0), T(1.0)
    b = T(6.8813735870195432)
    return (x1 * w1 + x2 * w2 + b).tanh(), dict(x1=x1, x2=x2, w1=w1, w2=w2, b=b)


def lecture_l(T: Callable[..., Any]) -> tuple[Any, dict[str, Any]]:
    a, b, c, f = T(2.0), T(-3.0), T(10.0), T(-2.0)
    return (a * b + c) * f, dict(a=a, b=b, c=c, f=f)


def one(function: Callable[[Any], Any], at: float = 0.7) -> Build:
    def build(T: Callable[..., Any]) -> tuple[Any, dict[str, Any]]:
        x = T(at)
        return function(x), {"x": x}

    return build


def two(function: Callable[[Any, Any], Any], at: tuple[float, float] = (1.5, 0.5)) -> Build:
    def build(T: Callable[..., Any]) -> tuple[Any, dict[str, Any]]:
        x, y = T(at[0]), T(at[1])
        return function(x, y), {"x": x, "y": y}

    return build


def with_constant(function: Callable[[Any, Any], Any]) -> Build:
    """``function(x, c)`` with ``c`` a tensor that takes no gradient: a constant."""

    def build(T: Callable[..., Any]) -> tuple[Any, dict[str, Any]]:
        x, c = T(1.5), T(3.0, requires_grad=False)
        return function(x, c), {"x": x, "c": c}

    return build


GRAPHS: dict[str, Build] = {
    # the lecture's graphs
    "L = (a*b + c)*f": lecture_l,
    "tanh neuron": tanh_neuron,
    # every mapped op, on leaves that take a gradient
    "add sub mul div": two(lambda x, y: (x + y) * (x - y) / y),
    "pow": two(lambda x, y: x**y + y**x),
    "neg": one(lambda x: -x * x),
    "unary": one(
        lambda x: (
            x.exp()
            + x.log()
            + x.sin()
            + x.cos()
            + x.sigmoid()
            + x.relu()
            + x.sqrt()
            + x.abs()
            + x.tanh()
        )
    ),  # fmt: skip
    "relu and abs below 0": one(lambda x: F.relu(x) + x.abs() * 2 + torch.sigmoid(x), at=-0.4),
    "alpha": two(lambda x, y: torch.add(x, y, alpha=2) - torch.sub(x, y, alpha=0.5)),
    "rsub alpha": one(lambda x: torch.rsub(x, 2.5, alpha=3)),
    "shared leaf": one(lambda x: x * x + x),
    "shared node": two(lambda x, y: (h := x * y) * h.tanh() + h),
    # Python numbers mixed in
    "x*2": one(lambda x: x * 2),
    "2*x": one(lambda x: 2 * x),
    "x/3": one(lambda x: x / 3),
    "3/x": one(lambda x: 3 / x),
    "x**2": one(lambda x: x**2),
    "x**0.5": one(lambda x: x**0.5),
    "2**x": one(lambda x: 2**x),
    # numbers PyTorch does not keep, worked out from the values it does
    "x + 2": one(lambda x: x + 2),
    "2 - x": one(lambda x: 2 - x),
    "tanh(x - 0.7)": one(lambda x: (x - 0.7).tanh(), at=0.3),
    "exp(x + 0.7)": one(lambda x: (x + 0.7).exp()),
    "sigmoid(x - 1.5)": one(lambda x: (x - 1.5).sigmoid()),
    "relu(x + 1.5)": one(lambda x: (x + 1.5).relu()),
    "sqrt(x + 1.5)": one(lambda x: (x + 1.5).sqrt()),
    "1/(x + 1.5)": one(lambda x: 1 / (x + 1.5)),
    "tanh((x + 0.3)*4)": one(lambda x: ((x + 0.3) * 4).tanh()),
    "tanh(-(x + 1.5))": one(lambda x: (-(x + 1.5)).tanh()),
    "(2 - x)*y": two(lambda x, y: (2 - x) * y),
    "(y - 1)**2 loss": two(lambda x, y: ((x * y + 0.1).tanh() - 1) ** 2),
    "mixed": one(lambda x: x * 2 + (2 - x) + x / 3 + x**2 + 3 / x + 2**x),
    "sum() from 0": two(lambda x, y: sum((x * k - y) ** 2 for k in (1.0, 2.0, 3.0)) / 3),
    "sum() from 2.5": two(lambda x, y: sum([x.tanh(), y * 3], 2.5)),
    # a tensor constant (no requires_grad) on either side
    "x*c": with_constant(lambda x, c: x * c + c * x),
    "x + c": with_constant(lambda x, c: (x + c) * (c - x) * (x - c)),
    "x/c": with_constant(lambda x, c: x / c + c / x),
    "x**c": with_constant(lambda x, c: x**c + c**x),
    # sums, views and dtype changes of one number
    "sum mean view": one(lambda x: (x * 2).sum() + (x + 1).mean() * 3 + x.reshape(1, 1).sum()),
    "float and double": one(lambda x: (x.float() * 3).double() * x.double(), at=1.5),
}


@pytest.mark.parametrize("name", list(GRAPHS))
@pytest.mark.parametrize("shape", [(), (1,)], ids=["shape()", "shape(1,)"])
def test_grads_match_pytorch_float64(name: str, shape: tuple[int, ...]) -> None:
    check(GRAPHS[name], torch.float64, shape)


@pytest.mark.parametrize(
    "name",
    [n for n in GRAPHS if n != "tanh neuron"],  # its b has more digits than float32
)
def test_float32_graphs_read_as_the_numbers_typed(name: str) -> None:
    """A float32 graph's numbers are read back as the shortest decimals they round from, so
    stepgrad's grads are those of the same graph in float64."""
    check(GRAPHS[name], torch.float32)


def test_the_lectures_numbers() -> None:
    document = check(lecture_l)
    assert document["program"] == "a = 2\nb = -3\nc = 10\nf = -2\n(a*b + c)*f"
    assert document["output"]["data"] == -8.0
    grads = {name: node["grad"] for name, node in document["inputs"].items()}
    assert grads == {"a": 6.0, "b": -4.0, "c": -2.0, "f": 4.0}  # published in the lecture
    document = check(tanh_neuron)
    grads = {name: node["grad"] for name, node in document["inputs"].items()}
    assert {k: grads[k] for k in ("x1", "w1", "x2", "w2")} == pytest.approx(
        {"x1": -1.5, "w1": 1.0, "x2": 0.5, "w2": 0.0}, abs=1e-12
    )


def test_shown_as_pytorch_built_it() -> None:
    x = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    c = torch.tensor(3.0, dtype=torch.float64)
    cases = {
        "x*2": x * 2,
        "x*2 ": 2 * x,  # x.__rmul__(2): PyTorch keeps 2 as the second factor
        "2 - x": 2 - x,
        "x + 2": 2 + x,
        "1/x*3": 3 / x,  # x.__rtruediv__(3) is reciprocal(x) * 3
        "2**x": 2**x,
        "x**2": x**2,
        "c - x": c - x,
        "3 - x": c - x,
        "x + 2*v1": torch.add(x, torch.tensor(1.0, requires_grad=True), alpha=2),
        "-x": -x,
        "tanh(x)": x.reshape(1).tanh().sum(),
    }
    for text, out in cases.items():
        source = program_source(out, names={"x": x})[0]
        if text != "c - x":
            assert source.splitlines()[-1] == text.strip(), text
    assert program_source(c - x, names={"x": x, "c": c})[0].splitlines()[-1] == "3 - x"


def test_a_shared_leaf_is_one_input() -> None:
    x = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    program = to_program(x * x + x, names={"x": x})
    assert list(program.inputs) == ["x"]
    square = program.output.parents[0]
    assert square.parents[0] is square.parents[1] is program.output.parents[1]


def test_default_names_and_names_of_intermediates() -> None:
    x = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    y = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    h = x * y
    out = (h + 1).tanh()
    assert program_source(out)[0] == "v1 = 0.5\nv2 = 2\ntanh(v1*v2 + 1)"
    source, title = program_source(out, names={"x": x, "h": h, "out": out, "unused": 2 * y})
    assert source == "x = 0.5\nv1 = 2\nh = x*v1\nout = tanh(h + 1)"
    assert title == "out"
    app = stepgrad.app_for(out, names={"out": out}, steady=True)
    assert app.title == "out"


def test_a_leaf_alone() -> None:
    x = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    assert program_source(x, names={"x": x})[0] == "x = 1.5"
    assert stepgrad.to_json(x, names={"x": x})["inputs"]["x"]["grad"] == 1.0


# --- numbers PyTorch does not keep ----------------------------------------------------------


def test_a_number_only_known_as_part_of_a_sum_is_refused() -> None:
    x = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    for out in (((x + 1) + 2).tanh(), ((x + 1) * 2 + 3).exp(), (x + 2) + (x - 2)):
        with pytest.raises(SourceError, match="PyTorch does not keep the number") as info:
            stepgrad.to_json(out)
        message = str(info.value)
        assert "AddBackward0 (x + number)" in message or "SubBackward0" in message
        assert "requires_grad=True" in message and "\n" not in message
        assert "backward()" not in message  # nothing was freed: no such advice


SAMPLES = [(1.0, 2.0), (2.0, 4.1), (3.0, 5.9)]


def squares(samples: list[tuple[float, float]]) -> Build:
    """The mean squared error of ``w*x + b`` over ``samples``, summed with Python's sum()."""

    def build(T: Callable[..., Any]) -> tuple[Any, dict[str, Any]]:
        w, b = T(0.5), T(-0.2)
        return sum((w * x + b - y) ** 2 for x, y in samples) / len(samples), {"w": w, "b": b}

    return build


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sum_starts_from_a_zero_that_is_left_out(dtype: Any) -> None:
    """Python's sum() starts from the integer 0, which PyTorch does not keep. stepgrad never
    tried 0: it showed ``+ (-7e-07)`` in float32 (``+ (-4e-15)`` in float64), a number the
    roundings of the sum made up, and an output of 11.646666433. 0 is the shortest number that
    gives PyTorch's values, and 0 + t is t: the program is the sum as typed."""
    document = check(squares(SAMPLES), dtype)  # grads and output: PyTorch's, in float64
    assert document["program"] == (
        "w = 0.5\nb = -0.2\n((w*1 + b - 2)**2 + (w*2 + b - 4.1)**2 + (w*3 + b - 5.9)**2)/3"
    )
    by_hand = ((0.5 - 0.2 - 2) ** 2 + (1.0 - 0.2 - 4.1) ** 2 + (1.5 - 0.2 - 5.9) ** 2) / 3
    assert document["output"]["data"] == pytest.approx(by_hand, rel=1e-15)
    xs = [torch.tensor(v, dtype=dtype, requires_grad=True) for v in (0.3, 1.7, -2.2)]
    source = program_source(sum(x * x for x in xs), names=dict(zip("abc", xs, strict=True)))[0]
    assert source.splitlines()[-1] == "a*a + b*b + c*c"
    x = xs[0]
    source = program_source(sum([torch.tanh(x), x * 3]), names={"x": x})[0]
    assert source.splitlines()[-1] == "tanh(x) + x*3"


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_a_long_sum_is_read_as_typed(dtype: Any) -> None:
    """With 100 samples or more, stepgrad refused the graph (it 'cannot work out' sum()'s 0):
    worked back from the output through hundreds of additions whose results PyTorch does not
    keep, the estimate of the 0 was off by far more than the numbers that give PyTorch's
    values, and only those few near the estimate were tried."""
    samples = [(float(i), float(f"{2 * i}.1")) for i in range(300)]  # 0.1, 2.1, 4.1...
    document = check(squares(samples), dtype)
    program = document["program"]
    numbers = set(re.findall(r"(?<![\w.])\d+(?:\.\d+)?(?:e[-+]?\d+)?", program))
    typed = {str(i) for i in range(300)} | {repr(y) for _, y in samples} | {"0.5", "0.2", "300"}
    assert numbers <= typed, numbers - typed
    assert "2.1" in numbers and "598.1" in numbers


def test_a_start_far_from_its_estimate_is_the_shortest_that_gives_pytorchs_sum() -> None:
    """``sum(xs, 0.123456789)`` over 300 float32 numbers: PyTorch keeps only the total, so any
    start that gives the same float32 total is as good, and the estimate (worked back in
    float64) is off by several units of the fourth digit. stepgrad refused; now it searches the
    numbers that give PyTorch's total and takes the one with the fewest digits."""
    r = random.Random(300)
    xs = [torch.tensor(round(r.uniform(0, 100), 2), requires_grad=True) for _ in range(300)]
    total = sum(xs, 0.123456789)
    source = program_source(total)[0]
    start = float(re.findall(r"v1 \+ ([\d.]+) \+ v2", source)[0])

    def gives(c: float) -> bool:  # PyTorch's own float32 sum
        return bool(sum(xs, torch.tensor(c)).item() == total.item())

    assert gives(start)
    digits = len(repr(start)) - 2  # 0.123: 3
    fewer = [k / 10**d for d in range(1, digits) for k in range(10 ** (d - 1), 10**d)]
    assert 0.1 in fewer and 0.19 in fewer and not [c for c in [0.0, *fewer] if gives(c)]
    assert digits <= len("1234568")  # no more than float32's own reading of the start


def test_a_way_down_that_cannot_be_undone_leaves_the_number_to_another() -> None:
    """tanh(x + 20) is 1.0 in float32, which atanh cannot undo; exp((x + 20)/4) keeps the 20."""
    x = torch.tensor(1.5, requires_grad=True)
    h = x + 20
    assert torch.tanh(h).item() == 1.0
    out = torch.exp(h / 4) + torch.tanh(h)  # the tanh is the first way down tried
    assert program_source(out, names={"x": x})[0] == "x = 1.5\nt1 = x + 20\nexp(t1/4) + tanh(t1)"


def test_after_backward() -> None:
    """backward() frees what the nodes saved: graphs that need none still show."""
    x = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    y = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    L = (x * y + x) * y
    L.backward()
    assert stepgrad.to_json(L, names={"x": x})["inputs"]["x"]["grad"] == pytest.approx(0.75)
    o = (x + 2).tanh()  # 2 is worked out from the output itself
    o.backward()
    assert program_source(o, names={"x": x})[0] == "x = 1.5\ntanh(x + 2)"
    o = ((x + 1) * y).tanh()  # 1 is worked out from the output, through tanh and * y
    o.backward()
    assert program_source(o, names={"x": x, "y": y})[0] == "x = 1.5\ny = 0.5\ntanh((x + 1)*y)"
    o = (x + 1).sin()  # 1 was known only from SinBackward0's saved input: sin has no inverse
    o.backward()
    with pytest.raises(SourceError, match=r"before calling backward\(\)"):
        stepgrad.to_json(o)
    o = (x * 2).tanh()  # 2 was kept only in MulBackward0's saved values
    o.backward()
    with pytest.raises(SourceError, match=r"freed .* backward\(\) ran") as info:
        stepgrad.to_json(o)
    assert "retain_graph=True" in str(info.value) and "\n" not in str(info.value)
    o = (x * 2).tanh()
    o.backward(retain_graph=True)
    assert program_source(o, names={"x": x})[0] == "x = 1.5\ntanh(x*2)"


def test_a_constant_changed_in_place() -> None:
    x = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    c = torch.tensor(3.0, dtype=torch.float64)
    out = x * c
    c.add_(1)
    with pytest.raises(SourceError, match="changed in place"):
        stepgrad.to_json(out)


def minus_one(x: Any) -> None:
    with torch.no_grad():
        x -= 1.0  # a gradient step's kind of change: in place, after the forward pass


def three(x: Any) -> None:
    x.data.fill_(3.0)  # .data: no version bump, so PyTorch itself cannot tell


@pytest.mark.parametrize(
    ("build", "change"),
    [
        (lambda x, y: (x * y).tanh(), three),
        (lambda x, y: (x + y).tanh(), minus_one),  # Add saves nothing: backward() runs
        (lambda x, y: ((x + y).tanh() * y).exp(), minus_one),
        (lambda x, y: ((x + y) * 2).sin() * y, minus_one),
    ],
)
def test_a_leaf_changed_after_the_forward_pass_is_shown_as_pytorch_holds_it(
    build: Callable[[Any, Any], Any], change: Callable[[Any], None]
) -> None:
    """PyTorch's backward() on such a graph reads the values its nodes kept (a tanh's result,
    a product's inputs), not what the leaves give now. stepgrad recomputed every value from the
    leaves instead: other numbers and other grads than PyTorch's, on the very same graph."""
    x = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    y = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    out = build(x, y)
    change(x)
    with pytest.warns(StaleGraphWarning, match="holds") as record:
        document = stepgrad.to_json(out, names={"x": x, "y": y})
    assert record[0].filename == __file__
    (warning,) = document["warnings"]
    assert "an input changed after the forward pass" in warning
    assert "as the graph stores them" in warning
    out.backward(retain_graph=True)  # PyTorch's own, on the graph as it stands
    assert document["output"]["data"] == pytest.approx(out.item(), rel=1e-12)
    grads = {name: node["grad"] for name, node in document["inputs"].items()}
    assert grads == pytest.approx({"x": x.grad.item(), "y": y.grad.item()}, rel=1e-12)


def test_a_stale_tanh_by_hand() -> None:
    """tanh(x*y) at x = 1.5, y = 0.5 holds tanh(0.75); x then set to 3. PyTorch's backward
    reads the saved result and the saved x (3 now): by hand, y.grad = x * (1 - tanh(0.75)**2)
    = 3 * (1 - tanh(0.75)**2), x.grad = y * (1 - tanh(0.75)**2)."""
    x = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    y = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    out = (x * y).tanh()
    three(x)
    with pytest.warns(StaleGraphWarning, match="PyTorch's TanhBackward0 holds"):
        program = to_program(out)
    program.backward(trace=False)
    slope = 1 - math.tanh(0.75) ** 2
    assert program.output.data == pytest.approx(math.tanh(0.75))
    grads = {name: v.grad for name, v in program.inputs.items()}
    assert grads == pytest.approx({"v1": 0.5 * slope, "v2": 3 * slope}, rel=1e-12)


# --- errors -----------------------------------------------------------------------------------


def test_an_unknown_op_is_one_clear_error() -> None:
    x = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    y = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    out = (x.sinh() * y).tanh()
    for call in (stepgrad.to_json, stepgrad.app_for, program_source):
        with pytest.raises(SourceError) as info:
            call(out)
        message = str(info.value)
        assert "SinhBackward0" in message
        assert "via TanhBackward0 → MulBackward0" in message
        assert "Tanh" in message and "\n" not in message
    assert info.value._render_traceback_() == [f"stepgrad: error: {message}"]
    assert isinstance(info.value, ProgramError)
    with pytest.raises(
        SourceError, match=r"ClampBackward1 is not an op stepgrad knows \(met at the output\)"
    ):
        stepgrad.to_json(torch.clamp(x, min=0))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: torch.ones(3, requires_grad=True) * 2, r"this tensor has shape \(3,\)"),
        (lambda: (torch.ones(3, requires_grad=True) * 2).sum(),
         r"MulBackward0 makes a tensor of shape \(3,\) \(met below the output, via SumBackward0"),
        (lambda: torch.ones(2, 2, requires_grad=True).sum(), r"a leaf makes a tensor of shape"),
        (lambda: (torch.tensor(1.5, requires_grad=True) * torch.ones(2)).sum(),
         r"MulBackward0 makes a tensor of shape \(2,\)"),
        (lambda: torch.tensor(2.0), "not part of a graph"),
        (lambda: torch.tensor(2.0, requires_grad=True).detach() * 3, "not part of a graph"),
        (lambda: torch.tensor(1j, requires_grad=True) * 2, "real numbers"),
    ],
)  # fmt: skip
def test_tensors_that_are_not_a_scalar_graph(make: Callable[[], Any], message: str) -> None:
    with pytest.raises(SourceError, match=message) as info:
        stepgrad.to_json(make())
    assert "\n" not in str(info.value)


def test_a_graph_too_big_to_step_through() -> None:
    x = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    y = x
    for _ in range(MAX_SOURCE + 10):
        y = y + x
    with pytest.raises(SourceError) as info:
        stepgrad.app_for(y)
    message = str(info.value)
    assert "too large to step through" in message and f"{MAX_SOURCE:,}" in message


def test_names_must_be_tensors() -> None:
    x = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    with pytest.raises(SourceError, match="'x' is a float, not a tensor"):
        stepgrad.to_json(x * 2, names={"x": 0.5})
    with pytest.raises(SourceError, match="'x' is an int, not a tensor"):  # was "a int"
        stepgrad.to_json(x * 2, names={"x": 3})
    with pytest.raises(NotAGraph):
        stepgrad.to_json(x.tolist())


# --- the tensors passed in ------------------------------------------------------------------


def test_the_tensors_passed_in_are_never_changed() -> None:
    x = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    c = torch.tensor(3.0, dtype=torch.float64)
    out = ((x + 2) * c).tanh() + 3 / x
    versions = (x._version, c._version)
    stepgrad.to_json(out, names={"x": x})
    stepgrad.app_for(out, steady=True)
    import_graph(out).root.backward()
    assert x.grad is None and out.grad_fn is not None
    assert (x.item(), c.item(), x._version, c._version) == (1.5, 3.0, *versions)
    out.backward()  # the graph is intact: nothing was freed
    x64 = 1.5
    expected = 3 * (1 - math.tanh((x64 + 2) * 3) ** 2) - 3 / x64**2
    assert x.grad.item() == pytest.approx(expected, rel=1e-12)


def test_grads_match_pytorch_on_random_graphs() -> None:
    """Random expressions over the mapped ops, against PyTorch float64."""
    import random

    rng = random.Random(4)
    refused = 0
    unary = [torch.tanh, torch.exp, torch.sigmoid, torch.sin, torch.cos, torch.neg, torch.abs]
    for _ in range(200):

        def build(T: Callable[..., Any], seed: int = rng.randrange(10**6)) -> Any:
            r = random.Random(seed)
            leaves = {f"x{i}": T(round(r.uniform(-1, 1), 2)) for i in range(3)}
            pool = list(leaves.values())
            for _ in range(8):
                a, b = r.choice(pool), r.choice(pool)
                kind = r.randrange(5)
                if kind == 0:
                    pool.append(r.choice(unary)(a))
                elif kind == 1:
                    pool.append(a * b + r.choice([0.5, 2, -1.25]))
                elif kind == 2:
                    pool.append(a - b * r.choice([3, 0.25]))
                elif kind == 3:
                    pool.append(a / (b * b + 1))
                else:
                    pool.append((a * a + 0.5) ** r.choice([2, 0.5, -1]))
            return pool[-1] * pool[-2], leaves

        try:
            check(build)
        except SourceError as err:  # an undecidable number: said, never guessed
            assert "does not keep the number" in str(err)
            refused += 1
    assert refused < 20  # most graphs are read; few numbers are only known as a sum


def test_every_mapped_node_is_exercised() -> None:
    """SPECS names PyTorch's node classes: each one that plain Python code makes appears in
    the graphs above (the others: Add/Sub with a Scalar overload, Mul/Div Scalar, RsubBackward0,
    views that one-number graphs rarely make)."""
    seen: set[str] = set()
    for build in GRAPHS.values():
        out, _ = build(maker(torch.float64, ()))
        stack, done = [out.grad_fn], set()
        while stack:
            fn = stack.pop()
            if fn is None or id(fn) in done:
                continue
            done.add(id(fn))
            seen.add(type(fn).__name__)
            stack.extend(f for f, _ in fn.next_functions)
    listed = set(SPECS)
    assert listed & seen >= {
        "AddBackward0", "SubBackward0", "RsubBackward1", "MulBackward0", "DivBackward0",
        "PowBackward0", "PowBackward1", "PowBackward2", "NegBackward0", "TanhBackward0",
        "ExpBackward0", "LogBackward0", "SinBackward0", "CosBackward0", "SigmoidBackward0",
        "ReluBackward0", "SqrtBackward0", "AbsBackward0", "ReciprocalBackward0",
        "SumBackward0", "MeanBackward0", "ToCopyBackward0",
    }  # fmt: skip
    assert seen - listed <= {"AccumulateGrad"}


def test_a_leaf_changed_in_place_that_a_node_saved_is_refused() -> None:
    """``y = x*w + 1``, then ``x.add_(1)``: the product saved x, PyTorch's backward() refuses
    the graph, and stepgrad made up the constant 4 from the stale sum (``x*w + 4``) without a
    word. It now refuses too, in one line."""
    x = torch.tensor(2.0, requires_grad=True)
    w = torch.tensor(-3.0, requires_grad=True)
    y = x * w + 1
    with torch.no_grad():
        x.add_(1)
    with pytest.raises(RuntimeError, match="inplace"):  # PyTorch's own word on it
        y.backward(retain_graph=True)
    with pytest.raises(SourceError, match="changed in place after the graph was built") as info:
        stepgrad.to_json(y, names={"x": x, "w": w})
    assert "MulBackward0" in str(info.value) and "\n" not in str(info.value)


def test_a_tensor_on_the_meta_device_is_one_line() -> None:
    a = torch.tensor(2.0, device="meta", requires_grad=True)
    for graph in (a * a, a + 3, a.tanh()):
        with pytest.raises(SourceError, match="meta device"):
            stepgrad.to_json(graph)


def test_a_float32_overflow_is_said_not_hidden() -> None:
    """PyTorch's 3e38 * 10 is inf in float32; stepgrad's float64 copy is 3e39 (by hand). It
    showed 3e39 without a word, and exp(20*20)*0 (nan in PyTorch) warned 'holds nan but its
    inputs give nan now', which contradicts itself."""
    a = torch.tensor(3e38, requires_grad=True)
    with pytest.warns(StaleGraphWarning, match="is inf in torch.float32") as record:
        doc = stepgrad.to_json(a * 10)
    assert doc["output"]["data"] == pytest.approx(3e39, rel=1e-6)
    assert len(record) == 1
    c = torch.tensor(20.0, requires_grad=True)
    with pytest.warns(StaleGraphWarning, match="overflows there") as record:
        stepgrad.to_json(torch.exp(c * c) * 0)
    assert not any("give nan now" in str(w.message) for w in record)
