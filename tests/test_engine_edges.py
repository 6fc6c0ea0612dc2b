"""Edges of the engine and the language a tester found: gradients that overflow only when they
add up (within a pass or over passes), constants a program reassigns, continuation lines,
reassigned inputs given on the command line, and names bound to a command-line input.

Expected numbers come from plain Python floats and hand arithmetic, never from stepgrad.
"""

from __future__ import annotations

import io
import json
import math

import pytest

from engine import GradientError, Value
from engine.parse import ProgramError, parse
from stepgrad.cli import main

BIG = 1e308
assert math.isinf(BIG + BIG) and math.isinf(2.0 * BIG)  # what every case below relies on


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def assert_one_error(err: str, out: str = "") -> str:
    """The CLI's error: one ``stepgrad: error:`` line (then at most the source and a caret)."""
    lines = err.splitlines()
    assert lines and lines[0].startswith("stepgrad: error: "), err
    assert len(lines) in (1, 3), err
    assert "Traceback" not in err and out == ""
    return lines[0]


# --- 1. a second pass whose accumulated grads overflow ------------------------------------------


def test_an_overflowing_accumulation_is_refused_and_changes_no_grad() -> None:
    x = Value(709.5)
    out = x.exp()
    out.backward()
    one = math.exp(709.5)  # d exp(x)/dx, about 1.35e308: twice it is not a float
    assert x.grad == one and math.isinf(one + one)
    with pytest.raises(GradientError) as info:
        out.backward()
    err = info.value
    assert err.kind == "accumulated" and err.parent is x
    assert err.node is None and err.index is None
    assert err.before == one and err.contribution == one
    assert x.grad == one and out.grad == 1.0  # nothing changed


@pytest.mark.parametrize("trace", [False, True])
def test_a_refused_accumulation_puts_every_grad_back_exactly(trace: bool) -> None:
    # out = a*1e308 + b: one pass gives a 1e308, b 1, the product and out 1
    a, b = Value(0.5), Value(3.0)
    product = a * BIG
    out = product + b
    grads = {out: 0.1, product: 0.0, a: BIG, b: 0.0}  # a's grad overflows, the rest does not
    for node, grad in grads.items():
        node.grad = grad
    with pytest.raises(GradientError) as info:
        out.backward(trace=trace)
    assert info.value.kind == "accumulated" and info.value.parent is a
    assert {node: node.grad for node in grads} == grads
    a.grad = 0.0  # then a pass goes through and adds as always
    out.backward(trace=trace)
    assert (out.grad, product.grad, a.grad, b.grad) == (0.1 + 1.0, 1.0, BIG, 1.0)


@pytest.mark.parametrize(
    "argv",
    [
        ["exp(x)", "x=709.5", "--json", "--passes", "2"],
        ["exp(x)", "x=709.5", "--print", "--passes", "2"],
        ["exp(x)", "x=709.5", "--graph", "--backward", "--passes", "2"],
        ["1e308*x", "x=1e-10", "--json", "--passes", "2"],
    ],
)
def test_passes_that_overflow_when_added_are_one_error(argv: list[str]) -> None:
    code, out, err = cli(*argv)
    assert code == 2
    line = assert_one_error(err, out)
    assert "x's grad not finite" in line and "earlier passes" in line
    assert "zero_grad" in line


def test_passes_that_stay_finite_still_add_up() -> None:
    # exp(x) at 708: exp(708) ≈ 3.0234e307, three passes ≈ 9.070e307 < 1.8e308
    one = math.exp(708)
    code, out, _ = cli("exp(x)", "x=708", "--json", "--passes", "3")
    assert code == 0
    doc = json.loads(out)
    assert doc["inputs"]["x"]["grad"] == one + one + one
    code, out, _ = cli("exp(x)", "x=708", "--graph", "--backward", "--passes", "3")
    assert code == 0 and "grad 9.07e307" in out


async def test_the_apps_another_pass_refuses_an_overflow_with_a_notice() -> None:
    from stepgrad.app import create_app

    app = create_app("exp(x)", {"x": 709.5}, steady=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("end")
        await pilot.pause()
        key = app.walk.key
        await pilot.press("b")
        await pilot.pause()
        assert app.walk.key == key  # still the first pass, at its end
        x = app.walk.program.inputs["x"]
        assert x.grad == math.exp(709.5)
        messages = [str(n.message) for n in app._notifications]
        assert any("x's grad not finite" in m for m in messages), messages


# --- 2. the error names the real cause ---------------------------------------------------------


def test_contributions_that_add_up_past_the_largest_float_blame_the_sum() -> None:
    x = Value(0.5)
    out = BIG * x + BIG * (x - 1)  # x gets 1e308 along each path: 2e308 is not a float
    with pytest.raises(GradientError) as info:
        out.backward()
    err = info.value
    assert err.kind == "sum" and err.parent is x
    assert (err.before, err.contribution) == (BIG, BIG)
    assert x.grad == 0.0


def test_upstream_times_local_past_the_largest_float_blames_the_product() -> None:
    x = Value(1e-10)
    y = x * BIG
    out = y + y  # y's grad is 1 + 1 = 2; 2 * 1e308 is not a float
    with pytest.raises(GradientError) as info:
        out.backward()
    err = info.value
    assert err.kind == "product" and err.node is y and err.parent is x
    assert (err.upstream, err.local) == (2.0, BIG)


def test_a_local_derivative_that_is_undefined_still_blames_the_edge() -> None:
    x = Value(0.0)
    with pytest.raises(GradientError) as info:
        x.sqrt().backward()  # d sqrt(x)/dx = 1/(2*sqrt(x)): undefined at 0
    assert info.value.kind == "local" and info.value.parent is x


@pytest.mark.parametrize(
    ("source", "values", "wanted", "unwanted"),
    [
        (
            "1e308*x + 1e308*(x - 1)",
            {"x": 0.5},
            "x's grad is not finite: its contributions add up past the largest float "
            "(1e308 + 1e308)",
            "x - 1 -> x",
        ),
        (
            "y = x*1e308; y + y",
            {"x": 1e-10},
            "the gradient along the edge y -> x is not finite: upstream 2 × local 1e308",
            "= 1e308 = 1e308",
        ),
    ],
)
def test_the_message_names_the_real_cause(
    source: str, values: dict[str, float], wanted: str, unwanted: str
) -> None:
    program = parse(source, values)
    with pytest.raises(ProgramError) as info:
        program.backward()
    assert wanted in info.value.message and unwanted not in info.value.message
    code, out, err = cli(source, *(f"{k}={v}" for k, v in values.items()))
    assert code == 2 and wanted in assert_one_error(err, out)


# --- 3. pi and e in a program that assigns them -------------------------------------------------


@pytest.mark.parametrize("constant", ["e", "pi"])
def test_a_constant_the_program_assigns_is_used_before_it_is_assigned(constant: str) -> None:
    source = f"y = x + {constant}; {constant} = 3; y*{constant}"
    with pytest.raises(ProgramError) as info:
        parse(source, {"x": 1})
    assert info.value.message == f"{constant} is used before it is assigned (on line 1)"
    span = info.value.span
    assert span is not None and (span.line, span.col) == (1, 9)
    code, out, err = cli(source, "x=1", "--print")
    assert code == 2 and f"{constant} is used before it is assigned" in assert_one_error(err, out)


@pytest.mark.parametrize("constant", ["e", "pi"])
def test_a_value_for_an_assigned_constant_works_as_for_any_name(constant: str) -> None:
    # as q=1.5 for y = x + q; q = 3; y*q: the first read is an input 1.5, q = 3 another
    program = parse(f"y = x + {constant}; {constant} = 3; y*{constant}", {"x": 1, constant: 1.5})
    same = parse("y = x + q; q = 3; y*q", {"x": 1, "q": 1.5})
    assert program.output.data == same.output.data == (1 + 1.5) * 3
    assert not program.warnings and not same.warnings  # no "replaces the constant"


def test_constants_the_program_does_not_assign_are_still_constants() -> None:
    program = parse("y = x + e; y*pi", {"x": 1})
    assert program.output.data == (1 + math.e) * math.pi


# --- 4. an indented line that starts with an operator -------------------------------------------


@pytest.mark.parametrize(
    ("source", "where", "operator"),
    [
        ("loss = (w - 1)**2\n       + (b - 2)**2", (2, 8), "+"),
        ("y = x*x\n    + 3*x", (2, 5), "+"),
        ("y = x*x\n    - 3*x", (2, 5), "-"),
        ("y = (x*x\n  + 1)\n      - 3", (3, 7), "-"),  # after a bracketed statement
        ("y = x*x\n    * 3*x", (2, 5), "*"),
        ("y = x*x\n* 3*x", (2, 1), "*"),  # *x is never a statement
        ("y = x*x\n    / 3", (2, 5), "/"),
        ("y = x*x\n    ** 3", (2, 5), "**"),
    ],
)
def test_a_line_that_continues_the_one_before_is_refused(
    source: str, where: tuple[int, int], operator: str
) -> None:
    with pytest.raises(ProgramError) as info:
        parse(source, {"x": 2, "w": 0, "b": 0})
    err = info.value
    assert err.message.startswith(f"this line starts with {operator} but ")
    assert "Python does not continue a line after a line break" in err.message
    assert err.hint == "put the whole expression in brackets to continue it over lines"
    assert err.span is not None and (err.span.line, err.span.col) == where
    assert err.span.end_col - err.span.col == len(operator)
    caret = err.format().splitlines()[2]
    assert caret.strip() == "^" * len(operator) and caret.index("^") == 2 + where[1] - 1
    code, out, error = cli(source, "x=2", "w=0", "b=0", "--json")
    assert code == 2 and f"{where[0]}:{where[1]}: this line starts with" in assert_one_error(
        error, out
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("loss = ((w - 1)**2\n       + (b - 2)**2)", (0 - 1) ** 2 + (0 - 2) ** 2),  # 5
        ("y = (x*x\n    + 3*x)", 2 * 2 + 3 * 2),  # 10
        ("y = x*x\n-y", -(2 * 2)),  # the same indentation: a statement of its own
        ("  x = 2\n    y = x*2\n  y + 1", 2 * 2 + 1),  # indentation alone is forgiven
    ],
)
def test_brackets_and_plain_statements_still_work(source: str, expected: float) -> None:
    values = {"w": 0.0, "b": 0.0} if "w" in source else {} if "  x = 2" in source else {"x": 2}
    assert parse(source, values).output.data == expected


# --- 5. a name that names several inputs --------------------------------------------------------

SEVERAL = "x = 1; y = x*2; x = 5; y + x"  # x₁ = 1 and x₂ = 5


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("x₁=9", 9 * 2 + 5),
        ("x_1=9", 9 * 2 + 5),
        ("x₂=9", 1 * 2 + 9),
        ("x_2=9", 1 * 2 + 9),
        ("ｘ₁=9", 9 * 2 + 5),  # the name as Python reads it, with the subscript as shown
    ],
)
def test_a_shown_name_sets_exactly_that_input(given: str, expected: float) -> None:
    code, out, err = cli(SEVERAL, given, "--json")
    assert code == 0 and err == ""
    doc = json.loads(out)
    assert doc["output"]["data"] == expected
    assert set(doc["inputs"]) == {"x₁", "x₂"}


def test_a_plain_name_for_several_inputs_is_refused() -> None:
    code, out, err = cli(SEVERAL, "x=9", "--print")
    assert code == 2
    line = assert_one_error(err, out)
    assert line == ("stepgrad: error: x names 2 inputs here (x₁ = 1 and x₂ = 5): give x₁=… or x₂=…")


def test_the_same_input_given_twice_by_two_spellings_is_refused() -> None:
    code, out, err = cli(SEVERAL, "x₁=9", "x_1=3", "--json")
    assert code == 2 and "are one input" in assert_one_error(err, out)


def test_the_ascii_spelling_yields_to_a_real_name() -> None:
    # x_1 is the program's own name here: x_1=7 sets it, not x₁
    program = parse("x = 1; x_1 = 2; x = 5; x*x_1", {"x_1": 7})
    assert program.output.data == 5 * 7
    assert program.inputs["x₁"].data == 1


def test_a_shown_name_of_a_computed_value_is_refused() -> None:
    with pytest.raises(ProgramError, match="x₂ is computed by the program"):
        parse("x = 2; x = x*3; x + x", {"x₂": 1})


def test_a_value_for_a_name_used_before_it_is_assigned_is_for_that_use() -> None:
    # the hint says "give it a value: q=1.5": that value is q₁, read before q = 3 (q₂)
    with pytest.raises(ProgramError, match=r"give it a value: q=1\.5"):
        parse("y = x + q; q = 3; y*q", {"x": 1})
    program = parse("y = x + q; q = 3; y*q", {"x": 1, "q": 1.5})
    assert program.output.data == (1 + 1.5) * 3
    assert program.inputs["q₁"].data == 1.5 and program.inputs["q₂"].data == 3
    assert parse("y = x + q; q = 3; y*q", {"x": 1, "q₁": 1.5}).output.data == (1 + 1.5) * 3
    assert parse("y = x + q; q = 3; y*q", {"x": 1, "q": 1, "q₂": 4}).output.data == (1 + 1) * 4


def test_a_name_with_one_input_is_set_as_before() -> None:
    program = parse("x = 2; x = x*3; x + x", {"x": 5})  # x₁ is the one input
    assert program.output.data == 5 * 3 * 2


# --- 6. a name bound to a command-line input ----------------------------------------------------


def test_a_command_line_input_bound_to_another_name_keeps_its_own_label() -> None:
    code, out, _ = cli("b = x; b*2", "x=1", "--json")
    given = json.loads(out)["nodes"][0]
    code, out, _ = cli("x = 1; b = x; b*2", "--json")
    written = json.loads(out)["nodes"][0]
    assert (given["label"], given["name"]) == (written["label"], written["name"]) == ("x", "x")
