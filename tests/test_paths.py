"""Paths: the chain rule as a sum over paths. On random DAGs the products of every path add up
to the engine's grad, and the count is the number of paths a plain enumeration finds; astronomic
counts are exact and fast; the app's ``P`` and the CLI's ``--paths``."""

from __future__ import annotations

import io
import json
import math
import re
import time
from decimal import ROUND_HALF_EVEN, Context, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_app import TOY
from test_truth import NUMBER

from engine import Value, nodes
from engine.parse import parse
from stepgrad.app import create_app
from stepgrad.cli import main
from stepgrad.examples import EXAMPLES
from stepgrad.lesson.paths import SHOWN, describe_path, paths
from stepgrad.screens.paths import PathsScreen

SIZE = (120, 36)


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def enumerate_paths(root: Value, start: Value) -> int:
    """The number of paths from ``start`` to ``root``, one per edge, by listing them all."""
    consumers: dict[Value, list[Value]] = {}
    for node in nodes(root):
        for parent in node.parents:
            if parent.requires_grad:
                consumers.setdefault(parent, []).append(node)

    def walk(node: Value) -> int:
        if node is root:
            return 1
        return sum(walk(c) for c in consumers.get(node, []))

    return walk(start)


_UNARY = ("tanh", "sin", "neg")
_BINARY = ("+", "-", "*")


@st.composite
def dags(draw: st.DrawFn) -> tuple[Value, list[Value]]:
    """A random DAG of smooth ops over 1-3 inputs, with shared nodes and squares."""
    inputs = [
        Value(draw(st.floats(-1.5, 1.5, allow_nan=False)), f"x{i}")
        for i in range(draw(st.integers(1, 3)))
    ]
    made: list[Value] = list(inputs)
    for _ in range(draw(st.integers(1, 9))):
        a = draw(st.sampled_from(made))
        if draw(st.booleans()):
            op = draw(st.sampled_from(_UNARY))
            node = -a if op == "neg" else getattr(a, op)()
        else:
            b = draw(st.sampled_from([*made, a]))
            op = draw(st.sampled_from(_BINARY))
            node = a + b if op == "+" else a - b if op == "-" else a * b
        made.append(node)
    return made[-1], inputs


@settings(max_examples=150, deadline=None)
@given(dags())
def test_path_products_add_up_to_the_grad(graph: tuple[Value, list[Value]]) -> None:
    root, inputs = graph
    root.backward()
    for leaf in inputs:
        found = paths(root, leaf, shown=10_000)
        assert found.count == enumerate_paths(root, leaf)
        assert len(found.shown) == found.count and not found.truncated
        products = [p.product for p in found.shown]
        scale = math.fsum(abs(p) for p in products) + 1.0
        assert math.fsum(products) == pytest.approx(leaf.grad, abs=1e-9 * scale)
        assert found.total == pytest.approx(leaf.grad, abs=1e-9 * scale)
        sizes = [abs(p) for p in products]
        assert sizes == sorted(sizes, reverse=True)  # the largest first
        for path in found.shown:
            assert path.nodes[0] is leaf and path.nodes[-1] is root
            assert math.prod(path.locals) == pytest.approx(path.product, rel=1e-12, abs=1e-300)


@settings(max_examples=60, deadline=None)
@given(dags(), st.integers(1, 4))
def test_the_listed_paths_are_the_largest(graph: tuple[Value, list[Value]], shown: int) -> None:
    root, inputs = graph
    for leaf in inputs:
        every = sorted(
            (abs(p.product) for p in paths(root, leaf, shown=10_000).shown), reverse=True
        )
        top = paths(root, leaf, shown=shown)
        assert [abs(p.product) for p in top.shown] == pytest.approx(every[:shown])
        assert top.truncated == (len(every) > shown)


def test_the_toy_by_hand() -> None:
    # r = a / b, a = x*x + 1: x reaches r along two edges of x*x, each 8 × 1 × 1/8 = 1
    program = parse(EXAMPLES["toy"].program)
    found = paths(program.output, program.inputs["x"])
    assert found.count == 2
    assert [p.locals for p in found.shown] == [(8, 1, 0.125), (8, 1, 0.125)]
    assert [p.indices[0] for p in found.shown] == [0, 1]
    assert describe_path(found.shown[0], program.name) == "x → x*x (1st input) → a → r"
    assert math.fsum(p.product for p in found.shown) == 2


def test_astronomic_counts_are_exact_and_fast() -> None:
    x = Value(0.3, "x")
    out = x
    for _ in range(200):  # each t + t doubles the paths: 2**200 of them
        out = out + out
    start = time.perf_counter()
    found = paths(out, x)
    assert found.count == 2**200
    assert len(found.shown) == SHOWN and found.truncated
    assert time.perf_counter() - start < 5  # not a benchmark: a guard against enumerating


def test_the_mlp_says_how_many_and_shows_the_largest() -> None:
    program = parse(EXAMPLES["mlp"].program)
    program.backward()
    leaf = program.inputs["w1_1_1"]
    found = paths(program.output, leaf)
    assert found.count == enumerate_paths(program.output, leaf) > SHOWN
    assert found.truncated and len(found.shown) == SHOWN
    every = paths(program.output, leaf, shown=10_000)
    assert max(abs(p.product) for p in every.shown) == abs(found.shown[0].product)
    assert found.total == pytest.approx(leaf.grad, rel=1e-9)


# --- the command line -------------------------------------------------------------------------


def test_cli_paths_json() -> None:
    code, out, err = run_cli(TOY, "x=8", "y=3", "--json", "--paths")
    assert code == 0, err
    doc = json.loads(out)
    x = doc["paths"]["x"]
    assert x["count"] == 2 and x["truncated"] is False
    ids = [n["id"] for n in doc["nodes"]]
    assert all(i in ids for p in x["shown"] for i in p["nodes"])
    assert x["shown"][0]["nodes"][0] == doc["inputs"]["x"]["id"]
    assert x["shown"][0]["nodes"][-1] == doc["output"]["id"]
    assert sum(p["product"] for p in x["shown"]) == doc["inputs"]["x"]["grad"] == 2
    code, out, _ = run_cli("--example", "mlp", "--json", "--paths")
    doc = json.loads(out)
    first = doc["paths"]["w1_1_1"]
    assert first["count"] == 16 and first["truncated"] and len(first["shown"]) == SHOWN


def test_cli_paths_print() -> None:
    code, out, err = run_cli("--example", "toy", "--print", "--paths")
    assert code == 0, err
    text = out.split("paths:")[1]
    assert "x: 2 paths; their products add up to 2" in text
    assert "x → x*x (2nd input) → a → r:  8 × 1 × 0.125 = 1" in text
    code, out, _ = run_cli("--example", "mlp", "--print", "--paths")
    assert "16 paths; the 10 largest listed, 6 not; all 16 products add up to" in out


def test_cli_paths_goes_with_print_or_json() -> None:
    code, out, err = run_cli(TOY, "x=8", "y=3", "--paths", "--graph")
    assert code == 2 and "--paths goes with --print or --json" in err


# --- the app -------------------------------------------------------------------------------------


async def test_paths_screen() -> None:
    app = create_app(EXAMPLES["toy"].program, steady=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("P")  # nothing selected: it says why
        await pilot.pause()
        assert any("P lists its paths" in str(n.message) for n in app._notifications)
        x = app.walk.program.inputs["x"]
        app.main.select(x)
        await pilot.press("P")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PathsScreen)
        assert screen.found.count == 2
        summary = str(screen.query_one("#paths-summary").render())
        assert "2 paths from x to r; their products add up to 2 = x's grad from one pass" in summary
        scene = app.main.scene
        assert scene is not None
        graph = screen.query_one("#paths-graph")
        first = dict(graph.view.edges)  # type: ignore[attr-defined]
        ids = scene.ids
        square = next(v for v in app.walk.nodes if v.op == "*" and x in v.parents)
        assert first[(ids[x], ids[square], 0)] == "active"
        assert (ids[x], ids[square], 1) not in first
        assert graph.view.notes[ids[x]] == "× 8"  # type: ignore[attr-defined]
        assert graph.view.notes[ids[app.walk.program.output]] == "= 1"  # type: ignore[attr-defined]
        await pilot.press("down")
        await pilot.pause()
        second = dict(graph.view.edges)  # type: ignore[attr-defined]
        assert second[(ids[x], ids[square], 1)] == "active"
        assert (ids[x], ids[square], 0) not in second
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.main
        assert app.contained == []


async def test_paths_of_a_constant_say_why() -> None:
    app = create_app("x*2 + 1", {"x": 3}, steady=True)
    async with app.run_test(size=SIZE) as pilot:
        two = next(v for v in app.walk.nodes if not v.requires_grad)
        app.main.select(two)
        await pilot.press("P")
        await pilot.pause()
        assert app.screen is app.main
        assert any("is a constant" in str(n.message) for n in app._notifications)


async def test_paths_on_the_collapsed_mlp() -> None:
    app = create_app(EXAMPLES["mlp"].program, steady=True)
    async with app.run_test(size=SIZE) as pilot:
        app.main.select(app.walk.program.inputs["w1_1_1"])
        await pilot.press("P")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PathsScreen)
        summary = str(screen.query_one("#paths-summary").render())
        assert "16 paths from w1_1_1 to loss: the 10 with the largest |product| are listed" in (
            summary
        )
        await pilot.press("down", "down")
        await pilot.pause()
        assert app.contained == []


async def test_the_paths_window_shortens_a_long_path_as_print_does() -> None:
    """A 400-term sum: each option listed all 399 factors (``1 × 1 × …``, 40 kB for the
    10,000-term sum the limits allow), with the path's description out of reach after them."""
    program = "+".join(f"a{i}" for i in range(400))
    app = create_app(program, {f"a{i}": 1 for i in range(400)}, steady=True)
    async with app.run_test(size=SIZE) as pilot:
        app.main.select(app.walk.program.inputs["a0"])
        await pilot.press("P")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PathsScreen)
        (option,) = [str(o.prompt) for o in screen.query_one("#paths-list")._options]
        # by hand: a0's one path runs through 399 partial sums, each local derivative 1
        assert option.startswith("1  = " + " × ".join(["1"] * 5) + " × … 389 more … × ")
        assert len(option) < 300, option
        assert option.endswith("→ out")


def test_a_long_path_is_described_by_its_ends() -> None:
    """A sum of 30 terms: a3's one path passes 26 partial sums (28 nodes, 27 edges, each local
    derivative 1, by hand). It shows its first and last nodes around the count left out."""
    from engine.numbers import format_number
    from stepgrad.lesson.paths import product_text

    program = parse("+".join(f"a{i}" for i in range(30)), {f"a{i}": 1 for i in range(30)})
    (path,) = paths(program.output, program.inputs["a3"]).shown
    assert len(path.nodes) == 28
    text = describe_path(path, program.name)
    assert text.startswith("a3 → ") and text.endswith(" → out")
    assert "… 18 more …" in text and text.count(" → ") == 10  # 10 nodes shown, 18 not
    assert (
        product_text(path, format_number)
        == " × ".join(["1"] * 5 + ["… 17 more …"] + ["1"] * 5) + " = 1"
    )


def test_cli_paths_on_thousands_of_inputs_stops_listing_and_keeps_the_sums() -> None:
    """1,000 inputs summed: input i's one path has 1,000 - i edges, half a million in all.
    The listing stops at its budget and says so; every count (1) and sum (1, by hand: d sum /
    d a_i) is still there, and the output stays small (it was quadratic: 123 MB for 2,600)."""
    from stepgrad.lesson.report import PATHS_BUDGET

    n = 1000
    program = "+".join(f"a{i}" for i in range(n))
    values = [f"a{i}=1" for i in range(n)]
    code, out, _ = run_cli(program, *values, "--paths", "--json")
    assert code == 0 and len(out) < 20_000_000
    doc = json.loads(out)
    assert "stopped" in doc["paths_listing_stopped"]
    found = doc["paths"]
    assert len(found) == n
    assert all(p["count"] == 1 and p["sum"] == 1.0 for p in found.values())
    listed = [name for name, p in found.items() if p["shown"]]
    assert 0 < len(listed) < n
    assert sum(len(found[name]["shown"][0]["nodes"]) - 1 for name in listed) <= PATHS_BUDGET
    code, out, _ = run_cli(program, *values, "--paths", "--print")
    assert code == 0 and "The listing stopped after 200,000 search steps" in out
    assert f"a{n - 1}: 1 path, not listed (the listing stopped: see above)" in out


def test_the_print_header_names_the_programs_own_input() -> None:
    """merge has no x, and a chain of reassigned x starts at x₁: the header's ∂OUT/∂x read as a
    name the program does not have."""
    code, out, _ = run_cli("--example", "merge", "--print", "--paths")
    header = next(line for line in out.splitlines() if line.startswith("paths:"))
    assert code == 0 and "∂OUT/∂A is the sum, over every path from A to OUT" in header
    assert "∂x" not in header and "from x " not in header
    code, out, _ = run_cli("x = 2; x = x*x; x = x*x", "--print", "--paths")
    header = next(line for line in out.splitlines() if line.startswith("paths:"))
    assert "∂x₃/∂x₁ is the sum, over every path from x₁ to x₃" in header


def test_products_below_the_smallest_float_are_not_shown_as_0() -> None:
    """1,100 stages of x = (x + x)*0.5: 2**1100 paths, each a product of 1,100 factors 0.5 and
    1,100 factors 1, 2**-1100 = 7.4e-332 (Fraction below: exact), below the smallest float
    (about 4.9e-324). Listed as 0 they read 0 + 0 + … = 1; the size is shown instead."""
    from fractions import Fraction

    from engine.numbers import format_number
    from stepgrad.lesson.paths import product_number, product_text

    exact = Fraction(1, 2**1100)
    digits = len(str(exact.denominator))  # 10**(digits - 1) <= 2**1100 < 10**digits
    lead = exact * 10**digits  # in [1, 10)
    expected = f"{float(round(lead, 1)):g}e-{digits}"
    assert expected == "7.4e-332"  # by hand: 1100 log10(2) = 331.13, 10**0.87 = 7.4
    source = "x = 1\n" + "x = (x + x)*0.5\n" * 1100
    program = parse(source)
    found = paths(program.output, program.inputs["x₁"])
    assert found.count == 2**1100 and found.total == 1.0  # one pass's grad: (2 × 0.5)**1100
    for path in found.shown:
        assert path.product == 0  # the float product does underflow
        assert product_number(path, format_number) == f"≈ {expected} (below what a float holds)"
        assert product_text(path, format_number).endswith(
            f"≈ {expected} (below what a float holds)"
        )
    code, out, _ = run_cli(source, "--print", "--paths")
    listed = [line for line in out.splitlines() if line.startswith("  x₁ → ")]
    assert code == 0 and len(listed) == SHOWN
    assert not any(line.endswith("= 0") for line in listed)
    code, out, _ = run_cli(source, "--json", "--paths")
    shown = json.loads(out)["paths"]["x₁"]["shown"]
    assert shown[0]["log10_abs_product"] == pytest.approx(-1100 * math.log10(2), rel=1e-12)


def test_tiny_products_are_still_listed_largest_first() -> None:
    """Two ways from x to the output: through 600 factors of 0.5 (2**-600, a float) and through
    1,200 (2**-1200, below any float). Each product as a float would be 2**-600 and 0; sized
    exactly, the first is the larger by 2**600, and a path of 1,100 factors (2**-1100) lies
    between them: ranked by size, not by a product that underflowed to 0."""
    a = "a = x" + "*0.5" * 600
    b = "b = x" + "*0.5" * 1200
    c = "c = x" + "*0.5" * 1100
    program = parse(f"x = 1\n{a}\n{b}\n{c}\nb + c + a")
    found = paths(program.output, program.inputs["x"], shown=3)
    edges = [len(p.locals) for p in found.shown]
    # (b + c) + a, by hand: a's 600 factors and one sum, c's 1,100 and two sums, b's 1,200 and two
    assert edges == [601, 1102, 1202]


@pytest.mark.parametrize("factor", ["0.3", "1.1", "1e-10"])
def test_a_plateau_of_equal_products_is_followed_path_by_path(factor: str) -> None:
    """40 stages of x = (x + x)*factor: 2**40 paths whose products are all factor**40 in exact
    arithmetic, but a partial path's priority rounds differently at each node. Ranked to the
    last bit, the search fanned out along that noise (49,286 steps for 0.3; for 1.1 the budget
    ran out with no path listed). Ties within rounding are followed to the end, one by one: a
    path takes 81 steps (40 × 2 edges and the output), 10 paths about as many again."""
    program = parse("x = 1\n" + f"x = (x + x)*{factor}\n" * 40)
    found = paths(program.output, program.inputs["x₁"])
    assert len(found.shown) == SHOWN and found.steps < 1_000
    for path in found.shown:  # factor**40: 1e-400 is below any float, its log is not
        assert path.log10 == pytest.approx(40 * math.log10(float(factor)), rel=1e-12)


def test_a_single_path_below_a_float_is_not_said_to_be_0() -> None:
    """`its product is 0` sat above the path's `≈ 7.4e-332`: 1e-170 × 7.4e-162 is 7.4e-332
    (by hand), which only rounds to 0 as a float."""
    out = io.StringIO()
    assert main(["x = 2; a = 1e-170; b = 7.4e-162; (x*a)*b", "--print", "--paths"], out=out) == 0
    head = next(line for line in out.getvalue().splitlines() if line.startswith("x: "))
    assert "its product is ≈ 7.4e-332, below what a float holds" in head
    assert "its product is 0" not in head


def test_in_a_bug_mode_the_paths_add_up_to_the_correct_grad_and_say_so() -> None:
    """--bug overwrite: the paths of x in x*x + x add up to 5 (2x + 1 at 2, by hand), but one
    overwrite pass leaves x.grad 2; "(one pass's grad)" read as the buggy one."""
    out = io.StringIO()
    args = ["x = 2; z = x*x + x", "--print", "--paths", "--bug", "overwrite"]
    assert main(args, out=out) == 0
    head = next(line for line in out.getvalue().splitlines() if line.startswith("x: "))
    assert head.endswith("add up to 5 (one correct pass's grad)")


def _hand(numbers: list[str], sign: str) -> Decimal:
    """The written numbers combined by hand, exactly (in decimal)."""
    exact = Context(prec=5000)
    total = Decimal(numbers[0])
    for text in numbers[1:]:
        total = (
            exact.multiply(total, Decimal(text)) if sign == "×" else exact.add(total, Decimal(text))
        )
    return total


def _reads(value: Decimal, written: str) -> bool:
    """``value`` rounded to the digits ``written`` shows (6 at least), half to even."""
    digits = max(6, len(written.lstrip("-").split("e")[0].replace(".", "").lstrip("0")))
    return Context(prec=digits, rounding=ROUND_HALF_EVEN).plus(value) == Decimal(written)


@pytest.mark.parametrize(
    "argv",
    [
        [TOY, "x=8", "y=3"],
        [TOY, "x=8.001", "y=3"],  # after one nudge: 1.00012 = 8.001 × 1 × 0.125 did not
        ["tanh(w*x + b)*v + w*w", "w=0.7", "x=1.3", "b=-0.2", "v=1.7"],
    ],
)
def test_the_printed_paths_work_out_by_hand(argv: list[str]) -> None:
    """Every listed path's factors multiply, by hand, to its product as written, and the
    products add up to the total as written (``3 × 1 × -1.01562 = -3.04688`` read -3.04686;
    ``-3.04688`` twice read -6.09376 against ``add up to -6.09375``)."""
    code, out, _ = run_cli(*argv, "--print", "--paths")
    assert code == 0
    section = out[out.index("paths: the chain rule") :]
    checked = 0
    for block in section.split("\n\n")[1:]:
        head = re.search(rf"add up to ({NUMBER}) \(", block)
        rows = re.findall(rf":  ((?:{NUMBER} × )+{NUMBER}) = ({NUMBER})$", block, re.M)
        for factors, product in rows:
            assert _reads(_hand(factors.split(" × "), "×"), product), (factors, product)
            checked += 1
        if head and rows and "not listed" not in block and "largest listed" not in block:
            products = [product for _, product in rows]
            assert _reads(_hand(products, "+"), head.group(1)), (products, head.group(1))
    assert checked >= 4


async def test_bug_mode_paths_name_the_buggy_grad_beside_the_correct_one() -> None:
    """In bug mode overwrite x ends the pass with grad 1 (✗, correct 2); the paths screen
    said "= x's grad from one pass" beside 2, as if 2 were what the student just saw."""
    app = create_app(TOY, {"x": 8, "y": 3}, bug="overwrite", steady=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("end", "tab")
        await pilot.pause()
        await pilot.press("P")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PathsScreen)
        text = str(screen._summary().plain)
        assert "add up to 2 = x's grad from one correct pass (the buggy pass gives 1 ✗)" in text
