"""The walkthrough state against the engine: pure Python, no Textual."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.parse import parse
from stepgrad.examples import mlp_program
from stepgrad.state import Walkthrough, editable_source

TOY = "(x*x + 1)/(y*y - 1)"
SHARED = "w = 0.5\nx1 = 1\nx2 = -2\nu1 = tanh(w*x1)\nu2 = tanh(w*x2)\nL = u1*u1 + u2*u2"


def toy() -> Walkthrough:
    return Walkthrough(parse(TOY, {"x": 8, "y": 3}))


def by_name(walk: Walkthrough, name: str):
    return walk.program.names[name]


def test_starts_before_any_grad() -> None:
    walk = toy()
    assert walk.key == (1, 0, False)
    assert walk.status == "not started"
    assert walk.total == 5
    assert walk.grads() == {}  # every grad shows "—", not 0
    assert not walk.can("prev") and walk.can("next") and not walk.can("backward")


def test_published_numbers_at_the_end() -> None:
    walk = toy()
    walk.end()
    x, y = by_name(walk, "x"), by_name(walk, "y")
    assert walk.status == "done"
    assert walk.grad(x) == 2.0
    assert walk.grad(y) == -6.09375
    assert walk.grad(walk.program.output) == 1.0


def test_step_back_restores_the_exact_state() -> None:
    walk = toy()
    seen = []
    for _ in range(walk.total):
        seen.append(dict(walk.grads()))
        walk.next()
    for k in range(walk.total - 1, -1, -1):
        walk.prev()
        assert walk.grads() == seen[k]


def test_shared_node_accumulates_within_a_pass() -> None:
    walk = toy()
    x = by_name(walk, "x")
    walk.go(4)  # x * x fires: two edges into x
    edges = walk.current.edges
    assert [e.parent for e in edges] == [x, x]
    assert (edges[0].grad_before, edges[0].grad_after) == (0.0, 1.0)
    assert (edges[1].grad_before, edges[1].grad_after) == (1.0, 2.0)
    assert walk.grad(x) == 2.0


def test_second_pass_doubles_every_grad_exactly() -> None:
    walk = Walkthrough(parse(SHARED))
    walk.end()
    first = dict(walk.grads())
    assert walk.backward_again()
    assert walk.key == (2, 0, False) and walk.pass_.accumulates
    assert walk.grads() == first  # step 0 of pass 2: what pass 1 left
    walk.end()
    assert walk.grads() == {node: 2 * grad for node, grad in first.items()}
    for node, grad in walk.grads().items():
        assert node.grad == grad  # the engine agrees
    # the step panel's "before" is pass 1's value
    edge = walk.trace.steps[0].edges[0]
    assert edge.grad_before == first[edge.parent]


def test_zero_grad_after_a_pass_then_backward_starts_clean() -> None:
    walk = toy()
    walk.end()
    first = dict(walk.grads())
    walk.zero_grad()
    assert walk.status == "zeroed" and walk.cleared
    assert all(g == 0.0 for g in walk.grads().values())
    assert all(node.grad == 0.0 for node in walk.nodes)
    assert not walk.can("next") and not walk.can("prev") and walk.can("backward")
    walk.backward_again()
    assert walk.key == (2, 0, False) and walk.pass_.zeroed and not walk.pass_.accumulates
    walk.end()
    shown = walk.grads()
    assert {node: shown[node] for node in first} == first
    assert all(shown[node] == 0.0 for node in shown if node not in first)  # constants


def test_zero_grad_at_step_zero_rebases_the_pass() -> None:
    walk = toy()
    walk.zero_grad()
    assert walk.key == (1, 0, False)
    assert all(g == 0.0 for g in walk.grads().values())
    walk.end()
    assert walk.grad(by_name(walk, "x")) == 2.0


def test_backward_needs_a_finished_pass() -> None:
    walk = toy()
    walk.next()
    assert not walk.backward_again()
    assert walk.key == (1, 1, False)


def test_leaf_output_has_no_steps() -> None:
    walk = Walkthrough(parse("x = 3\nx"))
    assert walk.total == 0 and walk.status == "done"
    assert walk.grad(walk.program.output) == 1.0


def test_editable_source_inlines_the_values() -> None:
    assert editable_source(parse(TOY, {"x": 8, "y": 3}), {"x": 8, "y": 3}) == (
        "x = 8\ny = 3\n(x*x + 1)/(y*y - 1)"
    )
    program = parse("x = 8\ny = 3\nr = x*y", {"x": 0.1})
    text = editable_source(program, {"x": 0.1})
    assert text == "x = 0.1\ny = 3\nr = x*y"
    assert parse(text).output.data == program.output.data


def test_editable_source_keeps_lines_and_comments() -> None:
    source = "# a comment\nx = 8  # the input\ny = 3; z = 2\nr = x*y + z  # out\n"
    program = parse(source, {"x": 0.5, "z": -1})
    text = editable_source(program, {"x": 0.5, "z": -1})
    assert text == "# a comment\nx = 0.5  # the input\ny = 3; z = -1\nr = x*y + z  # out\n"
    assert parse(text).output.data == program.output.data
    assert editable_source(parse(source)) == source  # no values: the program as written


def test_mlp_program_is_about_320_nodes() -> None:
    program = parse(mlp_program())
    assert 300 <= len(program.nodes()) <= 340


# --- key sequences against an independent replay of the engine trace ------------------------

ACTIONS = ("next", "prev", "home", "end", "zero_grad", "backward_again")


def expected_grads(walk: Walkthrough) -> dict:
    """The rule, computed independently: base + contributions of steps 1..k (root seeded)."""
    if walk.cleared:
        return {node: 0.0 for node in walk.nodes}
    grads = dict(walk.pass_.base)
    trace = walk.trace
    if walk.step or not trace.steps:
        grads[trace.root] = grads.get(trace.root, 0.0) + 1.0
    for step in trace.steps[: walk.step]:
        for edge in step.edges:
            # grad_before of each edge is what was shown just before it
            assert grads.get(edge.parent, 0.0) == edge.grad_before
            grads[edge.parent] = grads.get(edge.parent, 0.0) + edge.contribution
    return grads


@pytest.mark.parametrize("source", [TOY, SHARED, "a = 2\nb = -3\nc = a + b\nd = b + 1\ne = c * d"])
@settings(max_examples=60, deadline=None)
@given(keys=st.lists(st.sampled_from(ACTIONS), max_size=60))
def test_any_key_sequence_matches_the_engine(source: str, keys: list[str]) -> None:
    walk = Walkthrough(parse(source, {"x": 8, "y": 3} if source == TOY else None))
    passes_since_zero = 1
    for key in keys:
        before = walk.key
        allowed = walk.can({"next": "next", "prev": "prev", "home": "home", "end": "end",
                            "zero_grad": "zero", "backward_again": "backward"}[key])  # fmt: skip
        changed = getattr(walk, key)()
        if not allowed:
            assert not changed and walk.key == before
        if key == "zero_grad":
            passes_since_zero = 1 if walk.step == 0 and not walk.cleared else 0
        elif key == "backward_again" and changed:
            passes_since_zero += 1
        shown = walk.grads()
        expected = expected_grads(walk)
        assert shown == pytest.approx(expected, rel=1e-12, abs=1e-300)
        assert 0 <= walk.step <= walk.total
        if walk.finished:  # at the end of a pass (or after zero_grad) the engine agrees exactly
            for node, grad in shown.items():
                assert node.grad == grad
            if not walk.cleared and passes_since_zero:
                assert walk.pass_.stack == passes_since_zero


@pytest.mark.parametrize(
    ("source", "values", "expected"),
    [
        ("ω = 3; y = ω*2", {"ω": 1.5}, "ω = 1.5; y = ω*2"),
        ("変数 = 3\ny = 変数*2", {"変数": 0.5}, "変数 = 0.5\ny = 変数*2"),
        ("x\u0301 = 3; y = x\u0301*2", {"x\u0301": 2}, "x\u0301 = 2; y = x\u0301*2"),
        # the name as typed stays; Python reads ｘ as x
        ("ｘ = 3; y = ｘ*2", {"x": 2}, "ｘ = 2; y = ｘ*2"),
        ("y = ω*2", {"ω": 2}, "ω = 2\ny = ω*2"),  # a free name: a line in front
    ],
)
def test_editable_source_rewrites_names_in_any_script(
    source: str, values: dict[str, float], expected: str
) -> None:
    assert editable_source(parse(source, values), values) == expected


def test_a_reassigned_inputs_new_value_is_written_into_its_own_statement() -> None:
    """After u on `a = 1; b = 0.5; a = 2; ...` the program text kept `a = 2` for a₂ (its
    name is not an identifier, so it was not written back): t and the editor then started
    from the new b and the old a₂."""
    program = parse("a = 1; b = 0.5; a = 2; (a*b*3 - 1)**2")
    assert set(program.inputs) == {"a₁", "b", "a₂"}
    text = editable_source(program, {"a₂": 1.94, "b": 0.26}, free=False)
    assert text == "a = 1; b = 0.26; a = 1.94; (a*b*3 - 1)**2"
    assert editable_source(program, {"a₁": 3.0}, free=False).startswith("a = 3; b = 0.5; a = 2;")
