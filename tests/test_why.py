"""--passes and the counting pass from step 0 (issue 12, parts 3 and 5).

Expected numbers are by hand: on the toy (x*x + 1)/(y*y - 1) at x = 8, y = 3, one pass gives
x.grad = 2x/(y*y - 1) = 2 and y.grad = -2y(x*x + 1)/(y*y - 1)**2 = -6.09375; N passes without
zero_grad add them N times. On ``merge`` (A = 2; B = A*3; OUT = (B + 1)*(B + 2)) B is used by
two nodes, A, B + 1 and B + 2 by one each.
"""

from __future__ import annotations

import io
import json
import re

import pytest
from test_app import TOY, text_of

from stepgrad.app import create_app
from stepgrad.cli import main
from stepgrad.examples import EXAMPLES


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_passes_json_adds_the_grads_count_times(count: int) -> None:
    code, out, _ = run_cli(TOY, "x=8", "y=3", "--json", "--passes", str(count))
    assert code == 0
    doc = json.loads(out)
    grads = {node["name"]: node["grad"] for node in doc["nodes"] if node["name"] in ("x", "y")}
    assert grads == {"x": 2.0 * count, "y": -6.09375 * count}  # exact: sums of dyadic numbers
    if count == 1:
        assert "passes" not in doc
    else:
        passes = doc["passes"]
        assert [p["number"] for p in passes] == list(range(1, count + 1))
        assert all(len(p["steps"]) == 5 for p in passes)  # the toy's 5 op nodes fire each pass
        assert passes[-1]["steps"] == doc["steps"]


def test_passes_print_shows_every_pass_and_the_accumulated_grads() -> None:
    code, out, _ = run_cli(TOY, "x=8", "y=3", "--print", "--passes", "2")
    assert code == 0
    assert "pass 1 of 2" in out and "pass 2 of 2" in out
    assert "no zero_grad" in out
    # the second pass adds to what the first left: x gets 1 twice more, 2 -> 3 -> 4
    second = out[out.index("pass 2 of 2") :]
    assert re.search(r"\b2 \+ 1 → 3\b", second) and re.search(r"\b3 \+ 1 → 4\b", second)


def test_passes_with_graph_backward_draws_the_accumulated_grads() -> None:
    code, out, _ = run_cli(TOY, "x=8", "y=3", "--graph", "--backward", "--passes", "2")
    assert code == 0
    assert "grad 4 " in out and "grad -12.1875" in out  # 2 × 2 and 2 × -6.09375


@pytest.mark.parametrize("argv", [["--passes", "0", "--json"], ["--passes", "1001", "--print"]])
def test_passes_out_of_range_is_one_line(argv: list[str]) -> None:
    code, out, err = run_cli(TOY, "x=8", "y=3", *argv)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "--passes must be between 1 and" in err


async def test_every_box_shows_its_count_before_the_first_step() -> None:
    example = EXAMPLES["merge"]
    app = create_app(example.program, steady=True, example=example)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert app.walk.step == 0
        graph = text_of(app).split("━ pass 1")[0]  # the graph, above the step title
        assert graph.count("waits 2") == 1  # B: used by B + 1 and B + 2
        assert graph.count("waits 1") == 3  # A, B + 1, B + 2
        assert graph.count("ready") == 1  # OUT fires first
        narration = text_of(app).split("━ pass 1")[1]
        assert "B waits for 2" in narration
        assert "may fire only" in narration and "every node that uses it" in narration


def test_kink_slopes_after_passes_are_the_functions_own() -> None:
    """relu(x) + 2|x| at x = 0: slopes -2 on the left, 3 on the right (by hand). After two
    passes the check compares with twice the function: it said the slopes were -4 and 6."""
    out, err = io.StringIO(), io.StringIO()
    assert main(["x = 0; relu(x) + abs(x)*2", "--passes", "2", "--print"], out=out, err=err) == 0
    text = out.getvalue()
    assert "the slopes left and right of x are -2 and 3" in text
    assert "average, 0.5 (2 passes: -4, 6 and 1)" in text


@pytest.mark.parametrize("extra", [[], ["--passes", "2"], ["--bug", "overwrite"]])
def test_a_node_with_two_names_is_one_row(extra: list[str]) -> None:
    """``b = a`` binds a second name to a's node: the grads table listed that node twice."""
    out = io.StringIO()
    assert main(["a = x*2; b = a; b + 1", "x=3", "--print", *extra], out=out) == 0
    text = out.getvalue()
    table = text[text.index("grads after") :].split("\n\n")[0]
    rows = [line.split("  ")[0] for line in table.splitlines()[3:] if line.strip()]
    assert rows == ["x", "a, b", "out"], table  # one row, under both its names


def test_the_text_around_the_numbers_says_what_they_show() -> None:
    """The nudge line showed x = 1234.5 → 1234.5 for h = 0.001; three rises in a row were
    'iteration 3–5'; micrograd 'builds a - b is a + b*-1'."""
    out = io.StringIO()
    assert main(["x**2", "x=1234.5", "--nudge", "x", "--print"], out=out) == 0
    assert "x = 1234.5 → 1234.501" in out.getvalue()
    out = io.StringIO()
    assert main(["--example", "zero_grad", "--train", "--print"], out=out) == 0
    assert "iterations 3–5" in " ".join(out.getvalue().split())  # by hand: 0.077 → 0.28 → …
    out = io.StringIO()
    assert main(["--example", "toy", "--bug", "micrograd", "--print"], out=out) == 0
    # micrograd 0.1.0: v - 1 is v + (-1), the -1 a Value of its own; v / w is v * w**-1 (the
    # toy's y*y - 1: its own number, not a template's 2)
    assert "micrograd builds a - 1 as a + -1, a / b as a * b**-1" in out.getvalue()
    out = io.StringIO()
    assert main(["2 - x/4", "x=3", "--bug", "micrograd", "--print"], out=out) == 0
    assert "micrograd builds 2 - b as 2 + b*-1, a / 4 as a * 0.25" in out.getvalue()
