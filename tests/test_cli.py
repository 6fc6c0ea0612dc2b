"""The command line, run as a user runs it: a subprocess, stdout, stderr, the exit code."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys

import pytest

from stepgrad.cli import main
from stepgrad.examples import EXAMPLES


def stepgrad(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stepgrad", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "PYTHONIOENCODING": "utf-8"},
    )


def test_json_document_for_the_toy_example() -> None:
    result = stepgrad("(x*x + 1)/(y*y - 1)", "x=8", "y=3", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["output"]["data"] == 8.125 and doc["output"]["grad"] == 1.0
    assert doc["inputs"]["x"]["grad"] == 2.0
    assert doc["inputs"]["y"]["grad"] == -6.09375
    nodes = {node["id"]: node for node in doc["nodes"]}
    for node in doc["nodes"]:
        assert set(node) >= {"id", "label", "op", "data", "grad", "parents"}
        assert all(parent in nodes for parent in node["parents"])
    assert nodes[doc["inputs"]["x"]["id"]]["label"] == "x"
    assert len(doc["steps"]) == 5  # one per op node: x*x, +1, y*y, -1, /
    for step in doc["steps"]:
        assert step["node"] in nodes
        for edge in step["edges"]:
            assert set(edge) >= {
                "parent",
                "local",
                "formula",
                "contribution",
                "grad_before",
                "grad_after",
            }
            assert edge["contribution"] == pytest.approx(step["upstream"] * edge["local"])
            assert edge["grad_after"] == pytest.approx(edge["grad_before"] + edge["contribution"])
    first = doc["steps"][0]
    assert first["node"] == doc["output"]["id"] and first["upstream"] == 1.0
    assert [edge["formula"] for edge in first["edges"]] == [
        "1/(y*y - 1)",
        "-(x*x + 1)/(y*y - 1)**2",
    ]
    assert [edge["local"] for edge in first["edges"]] == [0.125, -65 / 64]


def test_json_named_intermediates_carry_their_names() -> None:
    result = stepgrad("a = 2; b = -3; c = a + b; d = b + 1; e = c * d", "--json")
    doc = json.loads(result.stdout)
    labels = {node["label"]: node for node in doc["nodes"] if node["label"]}
    assert {"a", "b", "c", "d", "e"} <= set(labels)
    assert labels["c"]["grad"] == -2.0 and labels["d"]["grad"] == -1.0
    assert doc["inputs"]["b"]["grad"] == -3.0
    assert doc["output"]["label"] == "e"
    b_edges = [e for s in doc["steps"] for e in s["edges"] if e["parent"] == labels["b"]["id"]]
    assert len(b_edges) == 2  # b reaches e along two paths
    assert b_edges[1]["grad_before"] == b_edges[0]["grad_after"]  # the second adds to the first
    assert b_edges[1]["grad_after"] == -3.0


def test_print_table_shows_formulas_numbers_and_accumulation() -> None:
    result = stepgrad("(x*x + 1)/(y*y - 1)", "x=8", "y=3", "--print")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "step 1 of 5" in out and "step 5 of 5" in out
    assert "1/(y*y - 1) = 1/8" in out
    assert "-6.09375" in out and "8.125" in out
    assert "1 → 2" in out  # x's second contribution adds to the first
    assert "\x1b[" not in out  # plain text when piped
    assert out.count("✓ agree") == 2 and "DIFFER" not in out  # the gradient check


def test_no_arguments_runs_the_default_example() -> None:
    result = stepgrad()
    assert result.returncode == 0, result.stderr
    assert "8.125" in result.stdout and "-6.09375" in result.stdout


def test_program_starting_with_minus_is_a_program() -> None:
    result = stepgrad("-x**2", "x=3", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["output"]["data"] == -9.0 and doc["inputs"]["x"]["grad"] == -6.0


def test_program_from_stdin() -> None:
    result = stepgrad("-", "--json", stdin="x = 3\ny = x*x\n")
    assert json.loads(result.stdout)["inputs"]["x"]["grad"] == 6.0


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_example_runs_in_every_mode(name: str) -> None:
    for mode in ("--json", "--print", "--graph"):
        result = stepgrad("--example", name, mode)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr


def test_examples_published_numbers() -> None:
    neuron = json.loads(stepgrad("--example", "neuron", "--json").stdout)
    assert neuron["output"]["data"] == pytest.approx(0.7071067811865476, abs=1e-12)
    assert neuron["inputs"]["x1"]["grad"] == pytest.approx(-1.5, abs=1e-12)
    assert neuron["inputs"]["w1"]["grad"] == pytest.approx(1.0, abs=1e-12)
    merge = json.loads(stepgrad("--example", "merge", "--json").stdout)
    assert merge["output"]["data"] == 56.0 and merge["inputs"]["A"]["grad"] == 45.0
    # the toy numbers, and paths by hand: e = (a + b)(b + 1), de/da = b + 1 = -2,
    # de/db = (b + 1) + (a + b) = -2 + -1 = -3
    toy = json.loads(stepgrad("--example", "toy", "--json").stdout)
    assert toy["output"]["data"] == 8.125
    assert toy["inputs"]["x"]["grad"] == 2.0 and toy["inputs"]["y"]["grad"] == -6.09375
    paths = json.loads(stepgrad("--example", "paths", "--json").stdout)
    assert paths["inputs"]["a"]["grad"] == -2.0 and paths["inputs"]["b"]["grad"] == -3.0


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_example_agrees_with_finite_differences(name: str) -> None:
    """Each input's grad against a central difference of the forward pass alone (which never
    looks at a derivative), with h chosen for double precision."""
    from engine.check import evaluate
    from engine.parse import parse

    program = parse(EXAMPLES[name].program)
    program.backward(trace=False)
    for input_name, leaf in program.inputs.items():
        h = 1e-5 * max(1.0, abs(leaf.data))
        up = evaluate(program.output, {leaf: leaf.data + h})
        down = evaluate(program.output, {leaf: leaf.data - h})
        numeric = (up - down) / (2 * h)
        assert leaf.grad == pytest.approx(numeric, rel=1e-5, abs=1e-7), input_name


def test_list_examples() -> None:
    result = stepgrad("--list-examples")
    assert result.returncode == 0
    for name in ("toy", "paths", "merge", "neuron", "shared"):
        assert name in result.stdout


def test_unused_value_warns_on_stderr() -> None:
    result = stepgrad("x*2", "x=1", "q=5", "--json")
    assert result.returncode == 0
    assert "q=5 is not used" in result.stderr
    assert json.loads(result.stdout)["inputs"]["q"]["grad"] == 0.0


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["x^2", "x=1"], "use ** for powers"),
        (["tanhh(x)", "x=1"], "did you mean tanh?"),
        (["x*x + 1"], "give it as x=1.5"),
        (["log(x)", "x=0"], "positive"),
        (["sqrt(x)", "x=0"], "not finite"),
        (["x+1", "x=abc"], "not a number"),
        (["x+1", "x=inf"], "not a finite number"),
        (["x+1", "oops"], "name=number"),
        (["x+1", "--bogus"], "unrecognized arguments: --bogus"),
        (["x+1", "x=1", "--jsn"], "unrecognized arguments: --jsn (did you mean --json?)"),
        (["--x", "x=1", "--json"], "goes after --: stepgrad [options] -- '--x' ..."),
        (["--example", "nope"], "unknown example"),
        (["x+1", "x=1", "--json", "--print"], "not allowed with"),
        (["import os"], "only assignments and expressions"),
        (["x" * 25000], "limit"),
        (["(" * 300 + "x" + ")" * 300, "x=1"], "too many nested parentheses: at most 200"),
        (["x*x", "x=1", "--print", "--nudge", "x=nan"], "--nudge: h in 'x=nan' is not a finite"),
    ],
)
def test_bad_input_is_one_clear_error_with_exit_code_2(args: list[str], expected: str) -> None:
    result = stepgrad(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("stepgrad: error: ")
    assert expected in result.stderr
    assert result.stdout == ""


def test_error_has_line_column_and_caret() -> None:
    result = stepgrad("x = 1\ny = x ^ 2", "--json")
    lines = result.stderr.splitlines()
    assert lines[0].startswith("stepgrad: error: 2:7: ")
    assert lines[1] == "  y = x ^ 2"
    assert lines[2] == "        ^"  # under the operator


def test_help() -> None:
    result = stepgrad("--help")
    assert result.returncode == 0
    assert "--json" in result.stdout and "name=value" in result.stdout


def test_graph_draws_every_named_value_with_its_data() -> None:
    result = stepgrad("a = 2; b = -3; c = a + b; d = b + 1; e = c * d", "--graph")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for label, data in (("a", "2"), ("b", "-3"), ("c", "-1"), ("d", "-2"), ("e", "2")):
        assert len(re.findall(rf"┌ {label}\b", out)) == 1, label
        assert f"data {data} " in out
    assert "grad —" in out and "grad 0" not in out  # not computed yet, never shown as zero
    assert out.count("▶") == 6  # one arrow head per edge: a, b into c; b, 1 into d; c, d into e
    assert "\x1b[" not in out


def test_graph_after_backward_shows_the_hand_derived_grads() -> None:
    # e = (a+b)*(b+1) at a=2, b=-3: de/da = b+1 = -2, de/db = (b+1) + (a+b) = -3
    result = stepgrad("a = 2; b = -3; c = a + b; d = b + 1; e = c * d", "--graph", "--backward")
    assert result.returncode == 0, result.stderr
    for grad in ("grad -2 ", "grad -3 ", "grad -1 ", "grad 1 "):
        assert grad in result.stdout
    assert "—" not in result.stdout


def test_graph_backward_with_a_non_finite_gradient_is_an_error() -> None:
    result = stepgrad("sqrt(x)", "x=0", "--graph", "--backward")
    assert result.returncode == 2 and "not finite" in result.stderr
    assert "Traceback" not in result.stderr


def test_output_cut_short_by_a_pipe_is_not_an_error() -> None:
    result = subprocess.run(
        f"{sys.executable} -m stepgrad --example mlp --print | head -1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.startswith("program")
    assert "Error" not in result.stderr and "Traceback" not in result.stderr
    status = subprocess.run(
        f"{sys.executable} -m stepgrad --example mlp --print | head -1 >/dev/null;"
        " exit ${PIPESTATUS[0]}",
        shell=True,
        executable="/bin/bash",
        timeout=60,
    )
    assert status.returncode == 0


def test_invalid_utf8_in_the_program_is_a_clear_error() -> None:
    result = subprocess.run(
        [sys.executable.encode(), b"-m", b"stepgrad", b"x\xff + 1", b"x=1"],
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert b"not valid UTF-8" in result.stderr and b"Traceback" not in result.stderr


def test_python_warnings_never_reach_the_user() -> None:
    result = stepgrad("'\\_' + x", "x=1")
    assert result.returncode == 2
    assert "Warning" not in result.stderr
    assert result.stderr.startswith("stepgrad: error: 1:1: strings are not supported")


@pytest.mark.parametrize(
    "argv",
    [
        ["--bug", "early", "--bug", "overwrite"],
        ["--passes", "2", "--passes=3"],
        ["--example", "toy", "--example", "neuron"],
        ["x*x", "x=2", "--nudge", "x=20", "--nudge", "x"],
    ],
)
def test_an_option_given_twice_is_one_line(argv: list[str]) -> None:
    """As x=1 x=2: the last one silently won; which one was meant?"""
    out, err = io.StringIO(), io.StringIO()
    assert main([*argv, "--print"], out=out, err=err) == 2
    option = argv[0] if argv[0].startswith("--") else argv[2]
    assert err.getvalue() == (
        f"stepgrad: error: {option} is given twice: give it once (see stepgrad --help)\n"
    )


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--port", "9000"], "--port goes with --serve"),
        (["--host", "::1", "--print"], "--host goes with --serve"),
        (["--lecture", "--print"], "--lecture is for the app (and --serve); --print does not"),
        (["--theme", "nord", "--json"], "--theme is for the app (and --serve); --json does not"),
        (["--no-narration", "--graph"], "--no-narration is for the app (and --serve); --graph"),
        (["--forward", "--graph"], "--forward goes with the app, --print or --json; --graph"),
    ],
)
def test_an_option_that_would_do_nothing_is_one_line(argv: list[str], said: str) -> None:
    """As --backward without --graph: an option the rest of the line never uses was silently
    ignored; the user who wrote it expected something."""
    out, err = io.StringIO(), io.StringIO()
    assert main(["--example", "toy", *argv], out=out, err=err) == 2
    assert err.getvalue().startswith(f"stepgrad: error: {said}"), err.getvalue()
    assert out.getvalue() == ""


def test_options_that_do_something_still_go_together() -> None:
    for argv in (["--forward", "--print"], ["--forward", "--json"], ["--print", "--passes", "2"]):
        out, err = io.StringIO(), io.StringIO()
        assert main(["--example", "toy", *argv], out=out, err=err) == 0, err.getvalue()


@pytest.mark.parametrize(
    ("program", "given", "name"),
    [
        ("変数*変数", "変数=3", "変数"),
        ("x\u0301*x\u0301", "x\u0301=3", "x\u0301"),
        ("x*x", "ｘ=3", "x"),  # read as Python reads the program: ｘ is x
        ("ｘ*ｘ", "x=3", "x"),
    ],
)
def test_a_name_in_any_script_takes_its_value_on_the_command_line(
    program: str, given: str, name: str
) -> None:
    """A name the program may use could not be given a value: the command line took ASCII
    names only. d(v*v)/dv at 3 is 6, by hand."""
    out = io.StringIO()
    assert main([program, given, "--json"], out=out) == 0
    inputs = json.loads(out.getvalue())["inputs"]
    assert inputs[name]["data"] == 3.0 and inputs[name]["grad"] == 6.0


@pytest.mark.parametrize("given", ["x-y=1", "1x=2", "__x=1", "x\u200b=1", "=1"])
def test_a_command_line_name_that_is_no_name_is_refused(given: str) -> None:
    err = io.StringIO()
    assert main(["x*2", "x=1", given, "--json"], out=io.StringIO(), err=err) == 2
    assert "is not a valid name" in err.getvalue() and "Traceback" not in err.getvalue()


def test_an_accented_name_is_not_bracketed_like_an_expression() -> None:
    """``∂out/∂(x́)``: a name with an accent took the brackets of a compound expression."""
    out = io.StringIO()
    assert main(["x\u0301*y + x\u0301", "x\u0301=2", "y=3", "--print"], out=out) == 0
    text = out.getvalue()
    assert "∂out/∂x\u0301 = 1" in text and "(x\u0301)" not in text


def test_the_collector_is_paused_for_an_output_and_back_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A one-shot output is made with the garbage collector paused (its rounds found nothing
    to free and cost a sixth of --graph); afterwards, and after an error, it is on again."""
    import gc

    import stepgrad.cli as cli

    seen: list[bool] = []
    real = cli.to_json

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(gc.isenabled())
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(cli, "to_json", spy)
    assert gc.isenabled()
    assert main(["x*2", "x=1", "--json"], out=io.StringIO()) == 0
    assert seen == [False] and gc.isenabled()
    assert main(["x^2", "x=1", "--json"], out=io.StringIO(), err=io.StringIO()) == 2
    assert gc.isenabled()
    gc.disable()  # a collector the caller turned off stays off
    try:
        assert main(["x*2", "x=1", "--json"], out=io.StringIO()) == 0
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_app_runs_with_the_collector_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app runs long and makes garbage: it gets the collector back before it starts."""
    import gc

    import stepgrad.app
    import stepgrad.cli as cli

    seen: list[bool] = []

    class Stop(Exception):
        pass

    def create_app(*args: object, **kwargs: object) -> object:
        seen.append(gc.isenabled())
        raise Stop

    monkeypatch.setattr(stepgrad.app, "create_app", create_app)
    monkeypatch.setattr(cli, "_interactive", lambda out, from_stdin: True)
    with pytest.raises(Stop):
        main(["x*2", "x=1"], out=io.StringIO())
    assert seen == [True] and gc.isenabled()


def test_a_program_starting_with_dashes_goes_after_the_options_and_double_dash() -> None:
    """The way the error for ``stepgrad --x`` suggests works: --x is -(-x) = x = 1.5."""
    result = stepgrad("--json", "--", "--x", "x=1.5")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["output"]["data"] == 1.5
