"""No step says a clause twice, and nodes that share a name are told apart as the graph does.

Issue 9: "no clause repeats within a step"; issue 11: "No two boxes on screen may show the same
title". ``tanh(b) + tanh(b)`` has two boxes the graph titles ``tanh(b) #1`` and ``tanh(b) #2``;
the step panel, the narration and ``--print`` call them so too (``--json`` keeps the source
text in ``name``: each node there has its own id and span).
"""

from __future__ import annotations

import json
import random
import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_truth import random_program, run_cli

from engine import Value
from engine.numbers import format_number
from engine.parse import ProgramError, parse
from stepgrad.explain import called, contribution_ordinals, narrate, titled
from stepgrad.scene import TITLE_WIDTH, titles
from stepgrad.state import Walkthrough
from stepgrad.widgets.step_panel import StepPanel

TWINS = "tanh(b) + tanh(b)"
REUSED = "v = c*a; (v*a)*c"


def twin_program(rng: random.Random) -> str:
    """A random program (see :func:`test_truth.random_program`) whose last expression is
    written twice, so that unnamed values of the same text feed one node: ``tanh(t5 + 0.5) +
    tanh(t5 + 0.5)``, ``(t4)*(t4)``..."""
    *lines, last = random_program(rng).split("\n")
    unary = rng.choice(["tanh", "exp", "sigmoid", "relu", ""])
    twice = rng.choice(["{0} + {0}", "{0} * {0}", "{0} - {0}*2", "({0} + 1)*({0} + 1)"])
    return "\n".join([*lines, twice.format(f"{unary}({last})")])


def clauses(sentences: list[str]) -> list[str]:
    """The clauses of some sentences: split at ``. ; : ,``; pieces of three words or more."""
    pieces = []
    for sentence in sentences:
        pieces += [c.strip(" .") for c in re.split(r"[.;:,]\s+", sentence)]
    return [c for c in pieces if len(c.split()) >= 3]


def panel_lines(walk: Walkthrough, width: int = 300) -> list[str]:
    """The step panel's text at the walk's state, one edge per table row."""
    panel = StepPanel()
    return [line for line in panel._compose_content(walk, width).plain.split("\n") if line.strip()]


def said_twice(walk: Walkthrough) -> list[str]:
    """Everything the current step says twice: a clause of its narration, or a line of its
    step panel."""
    wrong = []
    said = clauses(narrate(walk))
    wrong += [f"narration says {c!r} twice" for c in dict.fromkeys(said) if said.count(c) > 1]
    shown = panel_lines(walk)
    wrong += [f"panel shows {c!r} twice" for c in dict.fromkeys(shown) if shown.count(c) > 1]
    return wrong


_NUMBER = r"(-?[\d.]+(?:e[-+]?\d+)?)"


def false_claims(walk: Walkthrough) -> list[str]:
    """The claims about the parents of this step that the trace contradicts, in the forms said
    once for both parents too (``c and a each still wait for 1 more contribution ...``), with
    every node found by the name the narration calls it (``tanh(b) #2``)."""
    step = walk.current
    if step is None or not step.edges:
        return []
    program = walk.program
    by_name: dict[str, Value] = {}
    for node in walk.nodes:
        if node.parents or node.requires_grad:
            assert called(program, node) not in by_name, called(program, node)
            by_name[called(program, node)] = node
    at = walk.step - 1
    ordinals = contribution_ordinals(walk)
    pending: dict[Value, int] = {}
    had: dict[Value, int] = {}
    held: dict[Value, tuple[str, str]] = {}
    for e, edge in enumerate(step.edges):
        pending[edge.parent] = edge.pending
        if edge.parent not in had:
            had[edge.parent] = ordinals[(at, e)][0] - 1
            held[edge.parent] = (format_number(edge.grad_before), "")
        held[edge.parent] = (held[edge.parent][0], format_number(edge.grad_after))
    following = walk.trace.steps[walk.step].node if walk.step < walk.total else None
    wrong = []

    def node(name: str) -> Value:
        assert name in by_name, f"{name!r} names no node of the program"
        return by_name[name]

    def check(ok: bool, sentence: str) -> None:
        if not ok:
            wrong.append(sentence)

    for s in narrate(walk)[1:]:  # after what the step sends: one claim per sentence
        if m := re.fullmatch(r"(.+?) still waits for (\d+) more contributions? before its .*", s):
            check(pending.get(node(m[1])) == int(m[2]), s)
        elif m := re.fullmatch(r"(.+?) and (.+?) each still wait for (\d+) more .*", s):
            check(pending.get(node(m[1])) == pending.get(node(m[2])) == int(m[3]), s)
        elif m := re.fullmatch(
            r"(.+?) still waits for (\d+) more contributions? and (.+?) for (\d+) more .*", s
        ):
            check(pending.get(node(m[1])) == int(m[2]) and pending.get(node(m[3])) == int(m[4]), s)
        elif m := re.fullmatch(
            r"(.+?) (?:is an input and has|now has) every contribution: (.*)", s
        ):
            v = node(m[1])
            check(pending.get(v) == 0, s)
            check(("fires next" in m[2]) == (v is following), s)
            check(("input" in s) == (not v.parents), s)
        elif m := re.fullmatch(
            r"(.+?) and (.+?) (are inputs and have|now have) every contribution: (.*)", s
        ):
            a, b = node(m[1]), node(m[2])
            check(pending.get(a) == pending.get(b) == 0, s)
            if m[3] == "are inputs and have":
                check(not a.parents and not b.parents, s)
            elif m[4].endswith("fires next, " + m[2] + " when its turn comes."):
                check(following is a, s)
            elif m[4].endswith("fires next, " + m[1] + " when its turn comes."):
                check(following is b, s)
            else:
                check(following not in (a, b), s)
        elif m := re.fullmatch(r"(.+?) and (.+?) each already had (\d+) contributions? .*", s):
            check(had.get(node(m[1])) == had.get(node(m[2])) == int(m[3]), s)
        elif m := re.fullmatch(r"(.+?) already had (\d+) contributions? in this pass: .*", s):
            check(had.get(node(m[1])) == int(m[2]), s)
        elif m := re.fullmatch(r"(.+?) already had (\d+) contributions? and (.+?) (\d+) in .*", s):
            check(had.get(node(m[1])) == int(m[2]) and had.get(node(m[3])) == int(m[4]), s)
        elif m := re.fullmatch(
            rf"(.+?) already held {_NUMBER} from .*, so \+= makes it {_NUMBER}\.", s
        ):
            check(held.get(node(m[1])) == (m[2], m[3]), s)
        elif m := re.fullmatch(
            rf"(.+?) and (.+?) each already held {_NUMBER} from .* makes each {_NUMBER}\.", s
        ):
            check(held.get(node(m[1])) == held.get(node(m[2])) == (m[3], m[4]), s)
        elif m := re.fullmatch(
            rf"(.+?) already held {_NUMBER} and (.+?) {_NUMBER} from .* makes them {_NUMBER} "
            rf"and {_NUMBER}\.",
            s,
        ):
            check(held.get(node(m[1])) == (m[2], m[5]) and held.get(node(m[3])) == (m[4], m[6]), s)
    return wrong


def walk_all(source: str, values: dict[str, float] | None = None) -> list[tuple[object, list[str]]]:
    """Every step of two passes (the second without zero_grad): what is said twice or false."""
    walk = Walkthrough(parse(source, values))
    found = []
    for _pass in range(2):
        for k in range(1, walk.total + 1):
            walk.go(k)
            wrong = said_twice(walk) + false_claims(walk)
            if wrong:
                found.append((walk.key, wrong))
        walk.backward_again()
    return found


# --- no clause twice in a step ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "values"),
    [
        (REUSED, {"a": 2, "c": 3}),  # "it reaches the output along more than one path" twice
        (TWINS, {"b": 2}),  # pass 2: "tanh(b) already held 1 from pass 1 ..." twice
        ("x = 2; y = 3; (x*y)*(x*y)", None),  # both x*y fire later; pass 2: held alike
        ("x0 = 0.5; x1 = 2; x2 = -1.5; t3 = x0 + x2; t4 = x0 + t3; x1 + x0", None),
    ],
)
def test_no_step_says_a_clause_twice(source: str, values: dict[str, float] | None) -> None:
    assert walk_all(source, values) == []


def test_what_both_parents_share_is_said_once_for_both() -> None:
    walk = Walkthrough(parse(REUSED, {"a": 2, "c": 3}))
    walk.go(3)
    said = narrate(walk)
    assert sum("more than one path" in s for s in said) == 1
    assert (
        "c and a each already had 1 contribution in this pass: both reach the output along "
        "more than one path" in " ".join(said)
    )
    assert "c and a are inputs and have every contribution: their grads are final." in said
    walk.end()
    walk.backward_again()
    walk.go(1)
    assert "v*a already held 3 and c 24 from pass 1 (no zero_grad), so += makes them 6 and 36." in (
        narrate(walk)
    )


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 10**9), st.booleans())
@example(28, False).via("a seed random_program made into c*a reached twice")
@example(30, False).via("a seed random_program made into two parents held alike")
def test_no_step_of_a_random_program_says_anything_twice_or_false(seed: int, twin: bool) -> None:
    rng = random.Random(seed)
    source = twin_program(rng) if twin else random_program(rng)
    try:
        found = walk_all(source)
    except ProgramError:  # e.g. a reassigned name used before; the generator is loose
        return
    assert found == [], source


def test_the_checks_catch_a_clause_said_twice_and_a_false_claim(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The property must be able to fail: fed what the narration said before the fix."""
    import sys

    walk = Walkthrough(parse(REUSED, {"a": 2, "c": 3}))
    walk.go(3)
    why = (
        "it reaches the output along more than one path, and the chain rule sums over every "
        "path, which is why backward adds with += instead of overwriting."
    )
    old = [
        narrate(walk)[0],
        f"c already had 1 contribution in this pass: {why}",
        f"a already had 1 contribution in this pass: {why}",
    ]
    monkeypatch.setattr(sys.modules[__name__], "narrate", lambda w, notes=None: old)
    assert any("twice" in c for c in said_twice(walk))
    lie = [
        old[0],
        "c and a each still wait for 1 more contribution before their grads are complete.",
    ]
    monkeypatch.setattr(sys.modules[__name__], "narrate", lambda w, notes=None: lie)
    assert false_claims(walk) == [lie[1]]


# --- twins: nodes that share a name ----------------------------------------------------------


def test_twins_are_numbered_as_the_graph_titles_them() -> None:
    walk = Walkthrough(parse(TWINS, {"b": 2}))
    program = walk.program
    graph = titles(program, walk.nodes)
    first, second = (s.node for s in walk.trace.steps[1:])
    assert (called(program, first), called(program, second)) == ("tanh(b) #1", "tanh(b) #2")
    assert (graph[first], graph[second]) == ("tanh(b) #1", "tanh(b) #2")
    assert called(program, program.inputs["b"]) == "b"  # a name of its own: as it was


def test_the_step_panel_and_narration_tell_twins_apart() -> None:
    walk = Walkthrough(parse(TWINS, {"b": 2}))
    walk.go(1)
    rows = panel_lines(walk)
    assert any(row.startswith("tanh(b) #1 ") for row in rows)
    assert any(row.startswith("tanh(b) #2 ") for row in rows)
    said = narrate(walk)
    assert "straight back to both tanh(b) #1 and tanh(b) #2" in said[0]
    assert said[1] == (
        "tanh(b) #1 and tanh(b) #2 now have every contribution: tanh(b) #1 fires next, "
        "tanh(b) #2 when its turn comes."
    )
    for k, twin in ((2, "tanh(b) #1"), (3, "tanh(b) #2")):
        walk.go(k)
        panel = StepPanel()
        panel.walk = walk
        assert f"· {twin} fires · upstream ∂out/∂({twin}) = 1" in panel.title()
        assert narrate(walk)[0].startswith(f"{twin}: ")
    walk.end()
    walk.backward_again()
    walk.go(1)
    assert (
        "tanh(b) #1 and tanh(b) #2 each already held 1 from pass 1 (no zero_grad), so += makes "
        "each 2." in narrate(walk)
    )


def test_print_tells_twins_apart_and_json_keeps_the_source_text() -> None:
    code, out, err = run_cli(TWINS, "b=2", "--print")
    assert code == 0, err
    assert re.search(r"step 2 of 3 +tanh\(b\) #1 fires", out), out
    assert re.search(r"step 3 of 3 +tanh\(b\) #2 fires", out), out
    assert re.search(r"^tanh\(b\) #1 +∂out/∂\(tanh\(b\) #1\) = 1", out, re.M), out
    assert re.search(r"^tanh\(b\) #2 +∂out/∂\(tanh\(b\) #2\) = 1", out, re.M), out
    code, out, err = run_cli(TWINS, "b=2", "--json")
    assert code == 0, err
    names = [node["name"] for node in json.loads(out)["nodes"]]
    assert names.count("tanh(b)") == 2


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10**9))
def test_every_name_the_text_uses_is_one_nodes_and_the_graphs_title(seed: int) -> None:
    try:
        program = parse(twin_program(random.Random(seed)))
    except ProgramError:
        return
    walk = Walkthrough(program)
    graph = titles(program, walk.nodes)
    names: dict[str, Value] = {}
    for node in walk.nodes:
        if not (node.parents or node.requires_grad):
            continue  # a bare number may repeat: it is a number
        name = called(program, node)
        assert names.setdefault(name, node) is node, name
        if len(program.title(node)) + 3 <= TITLE_WIDTH:  # the graph shows it whole
            assert graph[node] == titled(program, node)  # its name and aliases: t2, al3


async def test_the_inspector_and_predict_call_twins_as_their_boxes() -> None:
    """``tanh(b) + tanh(b)``: the inspector's title said ``node tanh(b)`` for either box, and
    predict asked for "tanh(b)'s grad" twice."""
    from stepgrad.app import create_app
    from stepgrad.predict import prediction_for
    from stepgrad.widgets.values import Inspector

    app = create_app("tanh(b) + tanh(b)", {"b": 2}, steady=True)
    async with app.run_test(size=(120, 36)) as pilot:
        program = app.walk.program
        _, second = [v for v in program.nodes() if v.op == "tanh"]
        app.main.select(second)
        await pilot.pause()
        assert app.screen.query_one(Inspector).border_title == "node tanh(b) #2"
        prediction = prediction_for(app.walk)  # step 1: the sum sends to both
        assert prediction is not None
        assert sorted(q.name for q in prediction.questions) == ["tanh(b) #1", "tanh(b) #2"]


@pytest.mark.parametrize("bug", ["overwrite", "early", "micrograd"])
def test_bug_modes_say_nothing_twice_in_a_step(bug: str) -> None:
    """The early bug said "t4 fired already: its grad becomes 0, but this 0 never travels
    further." twice in one step (once per edge into t4); overwrite said "= kept only the last
    contribution" once per parent."""
    from stepgrad.lesson.bugs import BugWalkthrough, step_lines

    rng = random.Random(5)
    programs = [random_program(rng) for _ in range(150)]
    programs.append(
        "x0 = 2\nal1 = x0\nt4 = al1 - 2\nt5 = t4 / (1 + t4*t4)\nt6 = abs(t5)\n"
        "(relu(t6) + 1)*(relu(t6) + 1)"
    )
    programs.append("a = 2; b = 3; (a*b)*(a*b)")
    for source in programs:
        walk = BugWalkthrough(parse(source), bug)
        while walk.step < walk.total:
            walk.next()
            lines = step_lines(walk)
            assert len(lines) == len(set(lines)), (source, walk.step, lines)
            kept = [line for line in lines if "kept only the last" in line]
            assert len(kept) <= 1, (source, walk.step, lines)
