"""Hostile and careless inputs: every one gets one clear line and exit code 2, never a traceback,
and never a silent wrong reading (the issue's list, one regression test per item)."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from engine import DomainError, Value
from engine.parse import MAX_SOURCE, ProgramError, parse
from stepgrad.cli import _app_args, _argument_parser, _split_argv, main
from stepgrad.serve import _url


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def stepgrad(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "stepgrad", *args],
        capture_output=True,
        input=stdin,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "PYTHONIOENCODING": "utf-8"},
    )


# --- the parser: comments only, asserts ---------------------------------------------------------


@pytest.mark.parametrize("source", ["\f# note", "\\\n# c", "\\\n\\\n#", "\f"])
def test_comments_alone_after_a_form_feed_or_a_continuation(source: str) -> None:
    with pytest.raises(ProgramError) as info:
        parse(source)
    assert "empty" in info.value.message


def test_the_cli_says_empty_without_a_traceback() -> None:
    result = stepgrad("\f# note", "--print")
    assert result.returncode == 2
    assert b"Traceback" not in result.stderr and b"the program is empty" in result.stderr


# --- the command line ----------------------------------------------------------------------------


def test_minus_h_with_a_value_for_h_is_a_program() -> None:
    # -h at h=2 is -2
    for argv in (["-h", "h=2", "--print"], ["--print", "--", "-h", "h=2"]):
        code, out, _ = run_cli(*argv)
        assert code == 0 and "out = -2" in out and "usage" not in out


def test_minus_h_alone_is_help() -> None:
    code, out, _ = run_cli("-h")
    assert code == 0 and out.startswith("usage: stepgrad")


def test_serve_tabs_get_the_program_after_a_double_dash() -> None:
    parser = _argument_parser()
    split = _split_argv(["-", "x=3", "--serve", "--port", "9000", "--lecture"], parser)
    assert _app_args(split, "--x") == ["--lecture", "--", "--x", "x=3"]
    # and the tab's own command line reads "--x" as the program, not as an option
    code, out, _ = run_cli("--print", "--", "--x", "x=3")
    assert code == 0 and "out = 3" in out


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("lambda=1", "lambda is a Python keyword"),
        ("None=1", "None is a Python keyword"),
        ("exp=3", "exp is a function"),
        ("x=٣", "not a number"),  # Arabic-Indic three
        ("x=３", "not a number"),  # fullwidth three
    ],
)
def test_unusable_names_and_non_ascii_digits_are_refused(value: str, message: str) -> None:
    code, out, err = run_cli("x*2", value, "--print")
    assert code == 2 and message in err and not out


def test_a_value_given_twice_is_an_error() -> None:
    code, _, err = run_cli("x*2", "x=1", "x=2", "--print")
    assert code == 2 and "x is given twice (x=1 and x=2)" in err


def test_a_byte_order_mark_is_accepted() -> None:
    result = stepgrad("-", "x=3", "--print", stdin="\ufeffx*2\n".encode())
    assert result.returncode == 0, result.stderr
    assert b"out = 6" in result.stdout
    assert parse("\ufeffx = 2\nx*x").output.data == 4


def test_list_examples_takes_no_argument() -> None:
    code, _, err = run_cli("--list-examples", "junk")
    assert code == 2 and "'junk'" in err


def test_an_ipv6_host_is_bracketed() -> None:
    assert _url("::1", 8765) == "http://[::1]:8765"
    assert _url("localhost", 8000) == "http://localhost:8000"


# --- standard input is read with a bound ---------------------------------------------------------


def test_standard_input_is_bounded() -> None:
    endless = b"x+" * 5_000_000  # 10 MB: far over the limit
    result = stepgrad("-", "x=1", "--print", stdin=endless)
    assert result.returncode == 2
    assert f"the limit is {MAX_SOURCE:,}".encode() in result.stderr
    assert b"Traceback" not in result.stderr
    # only the first 20,001 characters were read: "20,001 characters long" was false
    assert f"is more than {MAX_SOURCE:,} characters long".encode() in result.stderr


# --- messages ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "says", "never"),
    [
        ("exp(x=1)", "exp takes its argument by position", "1 given"),
        ("log(x) = 3", "cannot assign to function call", "=="),
        ("x.__subclasses__(x)", "attributes (a.b) are not supported", "__subclasses__(x)"),
        ("try: x", "try statements are not supported", "indentation"),
        ("match x:\n  case 1: x", "match statements are not supported", "indentation"),
        ("for i in x:\n  y = 2", "for statements are not supported", "indentation"),
    ],
)
def test_messages_say_the_real_reason(source: str, says: str, never: str) -> None:
    with pytest.raises(ProgramError) as info:
        parse(source, {"x": 1})
    assert says in info.value.format() and never not in info.value.headline()


def test_match_as_a_name_still_works() -> None:
    assert parse("match = 3; match*2").output.data == 6


@pytest.mark.parametrize(
    ("source", "caret_col"),
    [
        ("x + 😀", 4),  # the emoji takes two cells: the caret is under both
        ("你好 + x^2", 8),  # under the ^ itself: 你好 takes four cells
        ("y = 你 + 😀", 9),  # "y = " (4 cells) + 你 (2) + " + " (3): the emoji starts at cell 9
    ],
)
def test_carets_line_up_after_wide_characters(source: str, caret_col: int) -> None:
    with pytest.raises(ProgramError) as info:
        parse(source, {"x": 1})
    _line, caret = info.value.caret_lines()
    assert caret.index("^") - 2 == caret_col


def test_a_control_character_is_shown_not_sent() -> None:
    with pytest.raises(ProgramError) as info:
        parse("\x1b[2J x", {"x": 1})
    text = info.value.format()
    assert "\x1b" not in text and "␛" in text and "control character (U+001B)" in text


# --- the Python surface ---------------------------------------------------------------------------


@pytest.mark.parametrize("data", ["3", b"3", None])
def test_a_value_of_text_is_refused(data: object) -> None:
    with pytest.raises(DomainError):
        Value(data)  # type: ignore[arg-type]


def test_show_takes_labels_that_are_not_strings() -> None:
    import stepgrad

    a = Value(1.0, label=1)  # type: ignore[arg-type]
    b = Value(2.0, label=("x",))  # type: ignore[arg-type]
    c = (a * b).tanh()
    c.label = 3.5  # type: ignore[assignment]
    app = stepgrad.app_for(c, steady=True)
    program = app.walk.program
    assert program.output.data == pytest.approx(0.9640275800758169)  # tanh(2)
    assert {v.data for v in program.inputs.values()} == {1.0, 2.0}


def test_closed_standard_input_is_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "stepgrad", "-"],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        preexec_fn=lambda: __import__("os").close(0),
    )
    assert result.returncode == 2
    assert b"standard input is closed" in result.stderr and b"Traceback" not in result.stderr


def test_a_quotient_by_a_huge_number_has_a_finite_derivative() -> None:
    # d(a/b)/db = -a/b**2: at b = 1e160, b*b overflows, but -a/b**2 = -1e-320 is representable
    a, b = Value(1.0, "a"), Value(1e160, "b")
    out = a / b
    out.backward()
    assert b.grad == pytest.approx(-1e-320, rel=1e-3)
    assert b.grad != 0.0


def test_html_refuses_a_graph_too_large_at_once() -> None:
    program = " + ".join(["x"] * 600)  # 600 nodes: over the limit of one page
    code, out, err = run_cli(program, "x=1", "--html", "-")
    assert code == 2 and "at most 500" in err and not out


# --- parse errors in our words, with the caret on the culprit (QA's list) -------------------------

PYTHON_WORDING = (
    "invalid syntax",
    "Maybe you meant",
    "invalid imaginary literal",
    "literal",
    "sys.",
)


def one_error(program: str, *values: str) -> tuple[str, str, str]:
    """The CLI's error for ``program``: (headline, source line, caret line), after checking it is
    exit code 2, three lines, no traceback and none of Python's own wording."""
    code, out, err = run_cli(program, *values, "--print")
    assert code == 2 and not out
    lines = err.splitlines()
    assert len(lines) == 3, err[:500]
    assert lines[0].startswith("stepgrad: error: ")
    assert "Traceback" not in err
    for words in PYTHON_WORDING:
        assert words not in lines[0], lines[0]
    return lines[0], lines[1], lines[2]


def caret_col(caret: str) -> int:
    return caret.index("^") - 1  # the caret line is indented by two, columns count from 1


def test_a_number_past_the_digit_limit_is_pointed_at() -> None:
    head, _, caret = one_error("x + 2*" + "9" * 5000, "x=1")
    assert head.startswith("stepgrad: error: 1:7: this number is too long: 5,000 digits")
    assert caret_col(caret) == 7


def test_a_number_past_the_digit_limit_on_a_later_line() -> None:
    head, line, caret = one_error("x = 1\ny = x + " + "9" * 5000 + " + 1")
    assert head.startswith("stepgrad: error: 2:9: this number is too long")
    assert caret_col(caret) == 9 and line.startswith("  y = x + 999")


@pytest.mark.parametrize(
    ("program", "reads"),
    [("0x1for", "0x1f then or"), ("0b1or", "0b1 then or"), ("1e5for", "1e5 then for")],
)
def test_a_number_running_into_a_keyword_is_under_the_caret(program: str, reads: str) -> None:
    head, line, caret = one_error(program, "x=1")
    assert head.startswith("stepgrad: error: 1:1: a number runs straight into a name")
    assert reads in head
    assert caret == "  " + "^" * len(program)  # on the line, not past its end
    assert len(caret) <= len(line)


def test_a_caret_is_never_past_the_end_of_the_line() -> None:
    for program in ("x = 0x", "x = 1.", "exp(x", "x = (", "x *"):
        code, _, err = run_cli(program, "x=1", "--print")
        lines = err.splitlines()
        if len(lines) == 3:
            assert len(lines[2]) <= len(lines[1]), err


def test_nesting_too_deep_says_where() -> None:
    head, _, caret = one_error("-" * 19990 + "x", "x=1")
    assert head.startswith("stepgrad: error: 1:")
    col = int(head.split(":")[3])
    assert 5000 < col < 7000  # where the parser gave up: about 6,000 signs in
    assert "nested too deeply" in head and "6,000" in head
    assert "^" in caret


def test_nesting_too_deep_in_powers_on_the_second_line() -> None:
    head, _, _ = one_error("x = 1\ny = " + "2**" * 5000 + "x")
    assert head.startswith("stepgrad: error: 2:") and "nested too deeply" in head


@pytest.mark.parametrize("program", ["x = 2Jb", "x = 2jx"])
def test_an_imaginary_literal_is_said_to_be_complex(program: str) -> None:
    head, _, caret = one_error(program, "x=1")
    assert head.startswith("stepgrad: error: 1:5: a j after a number makes it complex")
    assert "complex numbers are not supported" in head
    assert caret == "      ^^^"


@pytest.mark.parametrize(
    ("program", "says", "col", "carets"),
    [
        ("x = 1.2.3", "this number has two decimal points", 5, 5),
        ("x = 1..2", "this number has two decimal points", 5, 4),
        ("x;;x", "an empty statement between two semicolons", 2, 2),
        ("x = 1;;", "an empty statement between two semicolons", 6, 2),
        (";", "nothing to compute", 1, 1),
        (" ; ;", "nothing to compute", 2, 1),
        ("; x", "nothing before this ;", 1, 1),
        ("x\n;", "nothing before this ;", 1, 1),
    ],
)
def test_bare_invalid_syntax_is_said_in_our_words(
    program: str, says: str, col: int, carets: int
) -> None:
    head, _, caret = one_error(program, "x=1")
    assert says in head
    assert f":{col}: " in head and caret_col(caret) == col
    assert caret.count("^") == carets


@pytest.mark.parametrize(
    ("program", "col", "marks"),
    [
        ("exp(*x)", 5, "*x (unpacking) is not part of the language"),
        ("exp(**x)", 5, "**x (unpacking) is not part of the language"),
        ("w = param(*x)", 11, "*x (unpacking) is not part of the language"),
        ("y = *x", 5, "*x (unpacking) is not part of the language"),
    ],
)
def test_unpacking_is_not_part_of_the_language(program: str, col: int, marks: str) -> None:
    head, _, caret = one_error(program, "x=1")
    assert marks in head and "given" not in head and "by name" not in head
    assert f"1:{col}: " in head and caret_col(caret) == col


@pytest.mark.parametrize(
    "program",
    [
        pytest.param("a" * 19990, id="undefined name"),
        pytest.param("y = 3; " + "a" * 19900 + " * 2", id="undefined name in a statement"),
        pytest.param("b = 1\n" + "b" * 19900 + "c", id="undefined name close to a known one"),
        pytest.param("a" * 19900 + "(x)", id="unknown function"),
        pytest.param("log(x - " + " - ".join(["x"] * 3000) + ")", id="domain error"),
        pytest.param("*".join(f"a{i}" for i in range(2000)), id="many names without values"),
    ],
)
def test_error_lines_quote_long_text_short(program: str) -> None:
    head, line, caret = one_error(program, "x=1")
    assert len(head) < 200, head
    assert "…" in head or "1,996 more" in head
    assert len(line) < 100 and len(caret) < 100


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["x", "x=1", "--example", "a" * 19990], id="example"),
        pytest.param(["x", "x=1", "--lr", "a" * 19990, "--train"], id="lr"),
        pytest.param(["x", "x=1", "--" + "a" * 19990], id="option"),
        pytest.param(["x", "x=1", "a" * 19990], id="argument"),
        pytest.param(["x", "x=" + "a" * 19990], id="value"),
    ],
)
def test_command_line_errors_quote_long_text_short(argv: list[str]) -> None:
    code, _, err = run_cli(*argv, "--print")
    assert code == 2 and len(err) < 200 and "…" in err, err[:300]


def test_values_crossing_the_whole_drawing_are_refused_before_a_layout() -> None:
    """100 inputs, each used again every 100 terms of a 2,000-term sum: every value crosses
    the drawing to its last consumer, 190,000 lanes. ``--graph`` laid it out and indexed it
    for 22 s (2 GB at 1,000 terms) before refusing; now one line names the limit at once."""
    from stepgrad.layout import MAX_LANES

    program = "+".join(f"a{i % 100}" for i in range(2000))
    values = [f"a{i}=1" for i in range(100)]
    for mode in (["--graph"], ["--graph", "--backward"]):
        code, out, err = run_cli(program, *values, *mode)
        assert code == 2 and out == ""
        (line,) = err.splitlines()
        assert "would cross 189,999 columns" in line and f"the limit is {MAX_LANES:,}" in line


def test_a_drawing_too_large_is_refused_before_its_cells_are_indexed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The layout knows the drawing's size: a drawing over the limit is refused before
    :class:`Drawing` indexes every cell (the slow, memory-hungry part)."""
    import stepgrad.draw as draw_module

    def no_drawing(*args: object) -> None:
        raise AssertionError("the drawing was built before the size was checked")

    monkeypatch.setattr(draw_module, "MAX_CELLS", 1000)
    monkeypatch.setattr(draw_module.Drawing, "__init__", no_drawing)
    code, out, err = run_cli("(x*x + 1)/(y*y - 1)", "x=8", "y=3", "--graph")
    assert code == 2 and "more than --graph prints (1,000)" in err


@pytest.mark.parametrize(
    ("program", "says"),
    [
        ("1__0*x", "1:2: this number is not written correctly (an underscore goes between two"),
        ("1_*x", "1:2: this number is not written correctly (an underscore goes between two"),
        ("3.5_*x", "this number is not written correctly"),
        ("2x", "a number runs straight into a name"),  # no underscore: what it was
        ("x:=2", "1:2: the := operator is not supported"),  # as (x:=2) is told
        ("y = x:=2", "1:6: the := operator is not supported"),
        ("x\u200b*2", "an invisible character (U+200B, zero width space) is not allowed"),
        ("x\u2028*2", "an invisible character (U+2028, line separator) is not allowed"),
        ("x\x07*2", "a control character (U+0007) is not allowed (delete it: it shows as ␇"),
    ],
)
def test_mistakes_are_named_for_what_they_are(program: str, says: str) -> None:
    code, out, err = run_cli(program, "x=1", "--print")
    assert code == 2 and out == ""
    (line,) = err.splitlines()[:1]
    assert says in line, line


def test_lists_of_inputs_in_errors_stay_short() -> None:
    """2,000 inputs: the line naming them was 13 KB; it names a few and counts the rest. A
    name assigned 40 times is 40 inputs: the line says so instead of 'not an input'."""
    program = "+".join(f"a{i}" for i in range(2000))
    values = [f"a{i}=1" for i in range(2000)]
    for options, says in (
        (["--nudge", "z", "--print"], "'z' is not an input of the program (its inputs: a0, a1"),
        (["--train", "--print", "--params", "z"], "--params: z is not an input of the program"),
    ):
        code, _, err = run_cli(program, *values, *options)
        assert code == 2 and says in err and "and 1,992 more" in err and len(err) < 400, err
    code, _, err = run_cli("x=1;" * 40 + "x", "--nudge", "x", "--print")
    assert code == 2 and "'x' names 40 inputs (x₁, x₂" in err and "and 32 more" in err


def test_names_given_to_flags_are_read_as_the_program_reads_them() -> None:
    """ｘ=2 sets x (NFKC, as Python reads a program): --nudge ｘ and --params ｗ do too, and a
    name shown with a subscript (x₁) is taken as shown."""
    code, out, _ = run_cli("x*x", "x=1", "--nudge", "ｘ", "--print")
    assert code == 0 and "x up by h = 0.001" in out
    code, out, _ = run_cli("w*x", "w=1", "x=2", "--train", "--print", "--params", "ｗ")
    assert code == 0 and "p.grad on w; x stays fixed" in out
    code, out, _ = run_cli("x = 1; x = x*2; x", "--nudge", "x₁", "--print")
    assert code == 0 and "x₁ up by h" in out


def test_a_limit_that_allows_one_says_one_pass() -> None:
    from stepgrad.training import over_budget

    line = over_budget("--passes 3", 3, 10_000, 16_000, 100, "passes")
    assert line is not None and line.endswith("use at most 1 pass on this program")
    line = over_budget("--steps 5", 5, 10_000, 16_000, 100, "steps")
    assert line is not None and line.endswith("use at most 1 step on this program")


def test_an_lr_that_underflows_says_so_and_pi_given_a_value_is_told() -> None:
    code, _, err = run_cli("x*x", "x=1", "--train", "--print", "--lr", "1e-400")
    assert code == 2 and "--lr 1e-400 is too small for a float: it reads as 0" in err
    code, _, err = run_cli("x*x", "x=1", "--train", "--print", "--lr", "0")
    assert code == 2 and "must be a positive number" in err
    code, out, err = run_cli("pi*x", "x=1", "pi=3", "--print")
    assert code == 0 and "pi=3 replaces the constant pi (3.14159): here pi is an input" in err
