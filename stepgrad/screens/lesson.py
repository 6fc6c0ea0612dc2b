"""The main screen's part in "why the rules exist": nudging an input, bug modes, paths.

The main screen keeps its state (``bug``, ``h``, ``nudged``) and its keys; what those keys do
is here, so the screen itself only gains a few thin actions. The lessons themselves are in
:mod:`stepgrad.lesson` (no Textual).
"""

from __future__ import annotations

import decimal
import math
from typing import TYPE_CHECKING

from textual.content import Content

from engine import Value
from engine.numbers import format_number
from engine.parse import Program, ProgramError, parse
from stepgrad.lesson.bugs import BUGS, BugWalkthrough, micrograd_program
from stepgrad.lesson.nudge import find_input, next_size, nudge
from stepgrad.state import Walkthrough
from stepgrad.widgets.topbar import Extra

if TYPE_CHECKING:
    from .main import MainScreen

__all__ = [
    "apply_bug",
    "bug_extra",
    "change_h",
    "do_nudge",
    "open_paths",
    "walkthrough",
    "why_not",
]


def walkthrough(program: Program, bug: str | None) -> Walkthrough:
    """The walkthrough of ``program``, with the rule ``bug`` broken (None: correct). The
    ``micrograd`` bug runs on the graph as micrograd builds it."""
    if bug is None:
        return Walkthrough(program)
    if bug == "micrograd":
        program = micrograd_program(program)
    return BugWalkthrough(program, bug)


def why_not(screen: MainScreen, action: str) -> str | None:
    """Why a key of this part cannot act now (one line), or None."""
    node = screen.selected
    walk = screen.walk
    name = walk.program.name
    if action == "nudge":
        if node is None:
            return (
                "select an input first (tab or /): > nudges it up by h, < down "
                f"(h = {format_number(screen.h)}; H changes it)"
            )
        if node.parents or not node.requires_grad or node not in walk.program.inputs.values():
            what = "a constant" if not node.requires_grad else "computed from other values"
            return f"{name(node)} is {what}: select an input to nudge (tab or /)"
        return None
    if action == "paths":
        if node is None:
            return "select a node first (tab or /): P lists its paths to the output"
        if not node.requires_grad:
            return f"{name(node)} is a constant: no grad flows to it, along any path"
        if not walk.program.reaches_output(node):
            out = name(walk.program.output)
            return f"{name(node)} is not used by {out}: no path leads from it to {out}"
        return None
    if action == "predict" and isinstance(walk, BugWalkthrough):
        return (
            "predict mode asks for the correct grads: turn the bug mode off first "
            "(ctrl+p, Why: bug mode off)"
        )
    return None


def change_h(screen: MainScreen) -> None:
    """``H``: the next size of h."""
    screen.h = next_size(screen.h)
    screen.tell(
        f"h = {format_number(screen.h)}: > and < nudge the selected input by it "
        "(H: the next size, up to 1, then 0.001 again)"
    )


def _grad_to_test(walk: Walkthrough, leaf: Value) -> tuple[float, float | None, int]:
    """The grad of ``leaf`` that a nudge tests, one correct pass's grad when that is another
    number, and how many passes the first one sums.

    The grad on screen at the end of the current pass, as ``--nudge`` after ``--passes``
    tests it: after ``b`` without ``zero_grad`` it holds several passes (twice the slope after
    two correct ones); in a bug mode it is what the buggy passes left. After ``zero_grad`` the
    grads are 0 and the next pass starts from them: what that pass gives is tested.
    """
    if isinstance(walk, BugWalkthrough):
        one = walk.correct_own().get(leaf, 0.0)
        if walk.cleared:
            return walk.fresh_grads().get(leaf, 0.0), one, 1
        return walk.ends().get(leaf, 0.0), one, walk.pass_.stack
    own = walk.trace.grads.get(leaf, 0.0)
    stack = walk.pass_.stack
    if walk.cleared or stack == 1:
        return own, None, 1
    # the pass adds its own grads to those it began with, as the engine does
    return walk.pass_.base.get(leaf, 0.0) + own, own, stack


def do_nudge(screen: MainScreen, direction: int) -> None:
    """``>`` / ``<``: nudge the selected input by ``±h``, run the forward pass again (the
    program is loaded again with the new value: every value on screen updates, the pass starts
    over at step 0), and show measured against predicted."""
    walk = screen.walk
    leaf = screen.selected
    if leaf is None:
        return
    program = walk.program
    display = next((n for n, v in program.inputs.items() if v is leaf), None)
    if display is None:
        return
    h = _step(leaf.data, direction * screen.h)
    grad, one_pass, passes = _grad_to_test(walk, leaf)
    try:
        bug = walk.bug.name if isinstance(walk, BugWalkthrough) else None
        result = nudge(program, display, h, grad, one_pass, passes, bug)
        # the source holds every value already (editable_source writes them in); the nudged
        # input goes by the name the program shows (x₁ sets only the first of two x's)
        values = {display: leaf.data + h}
        fresh = parse(screen.source, values)
        if find_input(fresh, display)[1].data != leaf.data + h:
            raise ProgramError(f"{display} cannot be set by name here: edit the program (e)")
    except ProgramError as err:
        screen.tell(f"cannot nudge {display}: {err.headline()}")
        return
    example = screen.example
    screen.load(screen.source, values)
    screen.example = example if example is not None and _same_notes(example) else None
    screen.nudged = result
    screen.walk.nudged = result  # type: ignore[attr-defined]  # for the narration
    screen.select(screen.walk.program.inputs.get(display))


def _step(x: float, h: float) -> float:
    """The step that takes ``x`` to ``x + h`` as a reader adds them (in decimal, the numbers as
    written): nudges that go up and down again come back to the value typed, and ten of 0.001
    from 8 reach 8.01 (in floats, 8.009999999999994; and 8.001 − 0.001 gave
    7.999999999999999). What the nudge then compares is measured over this step."""
    if not (math.isfinite(x) and math.isfinite(h)):
        return h
    target = float(decimal.Decimal(repr(x)) + decimal.Decimal(repr(h)))
    step = target - x
    return step if step and x + step == target else h


def _same_notes(example: object) -> bool:
    """An example's notes quote its numbers: after a nudge they would be wrong, so the example
    is dropped unless it has no notes (its training loop, if any, goes with it)."""
    return not getattr(example, "notes", None)


def apply_bug(screen: MainScreen, bug: str | None) -> None:
    """Turn a bug mode on (``overwrite``, ``early``, ``micrograd``) or off (None): the same
    program starts over at pass 1, step 0."""
    if bug is not None and bug not in BUGS:
        raise ValueError(bug)
    if screen.editing:
        screen._close_editor()
    screen.bug = bug
    screen.predicting = False if bug is not None else screen.predicting
    example = screen.example
    screen.load(screen.source)  # it holds every value (a value given again could be ambiguous)
    screen.example = example
    if bug is None:
        screen.notify("bug mode off: the correct pass", timeout=3)
    else:
        screen.notify(BUGS[bug].summary, title=f"bug mode {bug}", timeout=5)


def bug_extra(screen: MainScreen, ranks: tuple[int, int]) -> Extra | None:
    """The top bar's ``bug mode: overwrite`` (``bug: overwrite`` when narrow)."""
    walk = screen.walk
    if not isinstance(walk, BugWalkthrough):
        return None
    name = walk.bug.name
    return Extra(
        (
            Content.styled(f"bug mode: {name}", "bold reverse $error"),
            Content.styled(f"bug: {name}", "bold reverse $error"),
        ),
        ranks,
    )


def open_paths(screen: MainScreen) -> None:
    """``P``: the paths from the selected node to the output, on a screen of their own."""
    from .paths import PathsScreen

    if screen.selected is None or screen.scene is None:
        return
    screen.app.push_screen(PathsScreen(screen, screen.selected))
