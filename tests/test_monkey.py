"""A monkey at the keyboard: random keys, resizes and pastes must never crash the app.

Each case drives one example with a seeded random stream of the things users do: every key of
the main screen, letters and digits, keys of the help / predict / training screens and of the
palette, typing, pasting and undoing in the editor, terminal resizes from 40x12 to 200x60. Keys
go out in bursts the way a terminal delivers fast typing (all queued before the first is
handled), with a frame in between. After every burst the walkthrough's invariants hold (as in
``tests/test_state.py``: the grads shown at step k are the pass's base plus the contributions of
steps 1..k, the step is in 0..N) and the app is running with nothing contained: a containment
notification is still a bug, and fails the case with the seed and the last keys to replay it
(except the known bugs of code this test does not own, listed in :data:`KNOWN`, which end the
case as xfail). At the end the app must still answer: back to the main screen, ``end`` works.

The default run sends about 20,000 keys in all. ``STEPGRAD_MONKEY=N`` multiplies that by N (a
soak, e.g. ``STEPGRAD_MONKEY=10``); ``STEPGRAD_MONKEY_SEED`` picks other seeds.
"""

from __future__ import annotations

import os
import random
import traceback
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from test_app import TOY, VALUES
from test_robust import burst
from textual import events
from textual.app import SystemCommand
from textual.pilot import Pilot
from textual.widget import Widget

from engine import Value
from stepgrad.app import StepgradApp, create_app
from stepgrad.examples import EXAMPLES
from stepgrad.lesson.bugs import BugWalkthrough
from stepgrad.screens.predict import PredictScreen
from stepgrad.state import Walkthrough

SCALE = int(os.environ.get("STEPGRAD_MONKEY", "1"))
SEED = int(os.environ.get("STEPGRAD_MONKEY_SEED", "0"))

MAIN_KEYS = (
    "right", "l", "space", "left", "h", "home", "end", "p", "plus", "equals_sign", "minus", "z",
    "b", "tab", "shift+tab", "escape", "f", "c", "v", "up", "down", "shift+left", "shift+right",
    "g", "n", "t", "e", "question_mark", "f1", "left_square_bracket", "right_square_bracket",
    "0", "x", "X", "slash", "F", "u", "greater_than_sign", "less_than_sign", "H", "P",
)  # fmt: skip
"""Every binding of the main screen but ``q`` (quit); ``s`` (screenshot) comes with the letters."""
OTHER_KEYS = (
    "enter", "escape", "tab", "backspace", "delete", "ctrl+z", "ctrl+y", "ctrl+p", "ctrl+s",
    "pageup", "pagedown", "up", "down", "left", "right", "home", "end", "ctrl+a", "ctrl+e",
    "shift+tab", "ctrl+c", "f1",
)  # fmt: skip
TYPED = "abcdefghijklmnoprstuvwxyz0123456789.+-*/()=_ "
"""Letters, digits and program punctuation; not ``q``, which quits (in a burst, the editor may
close before it arrives)."""
ANSWER = "0123456789.-e"
PREDICT_KEYS = (
    "enter", "escape", "tab", "shift+tab", "right", "ctrl+s", "space", "backspace", "up", "down",
)  # fmt: skip
"""On the predict screen: typing answers, moving between them, checking, skipping."""
PASTES = (
    "\n".join(f"a{i} = {i}" for i in range(12)),
    "x = 2\ny = x*x\ny + 1",
    "\n".join(f"v{i} = tanh(v{i - 1})" if i else "v0 = 0.5" for i in range(30)),
    "((((",
    "é ∂ 🙂\t\x1b[31m",
    "\n\n\n",
)


@dataclass(frozen=True)
class Case:
    name: str
    source: str
    values: dict[str, float] | None
    keys: int
    seed: int
    example: str | None = None

    def app(self) -> StepgradApp:
        example = EXAMPLES[self.example] if self.example else None
        return create_app(self.source, self.values, example=example, steady=True)


def cases() -> list[Case]:
    """20,000 keys in all, most on small graphs (fast), some on the 320-node MLP."""
    out = [Case("toy", TOY, VALUES, 3500, 1), Case("toy", TOY, VALUES, 3000, 2)]
    weights = {"mlp": 1000, "zero_grad": 2500}
    for name, example in EXAMPLES.items():
        keys = weights.get(name, 2000)
        out.append(Case(name, example.program, None, keys, 3 + len(out), name))
    return [
        Case(c.name, c.source, c.values, c.keys * SCALE, c.seed + 1000 * SEED, c.example)
        for c in out
    ]


CASES = cases()
assert sum(c.keys for c in CASES) >= 20_000 * SCALE


def keys(rng: random.Random, app: StepgradApp) -> Iterator[str | tuple[str, object]]:
    """One burst: 10 to 40 keys, or a resize, or the palette opened with keys right behind it,
    or a paste and undo / redo in the editor; the keys are chosen by what is on screen now."""
    editing = app.screen is app.main and app.main.editing
    roll = rng.random()
    if roll < 0.02:
        yield ("resize", (rng.randint(40, 200), rng.randint(12, 60)))
        return
    if roll < 0.04:  # the palette with keys that arrive in the same read
        yield from ("ctrl+p", rng.choice(("pagedown", "pageup", "enter", "down", "escape")))
        yield from rng.choices(
            ("enter", "escape", "down", "pagedown", "a", "m"), k=rng.randint(0, 3)
        )
        return
    if editing and roll < 0.09:
        yield ("paste", rng.choice(PASTES))
        yield from rng.choices(("ctrl+z", "ctrl+y", "ctrl+z"), k=rng.randint(1, 4))
        return
    if not editing and app.main.predicting and roll < 0.10 and app.screen is app.main:
        yield "right"  # predict mode: the next step asks first
    predicting = isinstance(app.screen, PredictScreen)
    for _ in range(rng.randint(10, 40)):
        pick = rng.random()
        if predicting:
            yield rng.choice(ANSWER) if pick < 0.5 else rng.choice(PREDICT_KEYS)
        elif editing:
            if pick < 0.7:
                yield rng.choice(TYPED)
            else:
                yield rng.choice(OTHER_KEYS)
        elif pick < 0.65:
            yield rng.choice(MAIN_KEYS)
        elif pick < 0.85:
            yield rng.choice(TYPED)
        else:
            yield rng.choice(OTHER_KEYS)


def replay(walk: Walkthrough) -> dict[Value, float]:
    """The grads the rule says are shown now, replayed from the trace (as
    :func:`test_state.expected_grads` does): the pass's base, the output's seed, then each
    contribution of steps 1..k added in order. Each edge's ``grad_before`` must be exactly the
    parent's grad shown just before it (the base, or the previous edge's ``grad_after``); the sums
    themselves are compared within 1e-12, since the engine adds a pass's own grads to the base
    as PyTorch does (``base + (c1 + c2)``, not ``(base + c1) + c2``: the last bit may differ)."""
    if walk.cleared:
        return {node: 0.0 for node in walk.nodes}
    base = walk.pass_.base
    grads = dict(base)
    shown: dict[Value, float] = {}
    trace = walk.trace
    if walk.step or not trace.steps:
        grads[trace.root] = grads.get(trace.root, 0.0) + 1.0
    for step in trace.steps[: walk.step]:
        for edge in step.edges:
            assert edge.grad_before == shown.get(edge.parent, base.get(edge.parent, 0.0))
            shown[edge.parent] = edge.grad_after
            grads[edge.parent] = grads.get(edge.parent, 0.0) + edge.contribution
    for node in walk.dead:
        grads[node] = 0.0
    return grads


def _through(error: BaseException, path: str, functions: set[str]) -> bool:
    """Whether ``error`` was raised inside one of ``functions`` of the module at ``path``."""
    return any(
        f.filename.endswith(path) and f.name in functions
        for f in traceback.extract_tb(error.__traceback__)
    )


KNOWN: dict[str, object] = {}
"""Known bugs in code this test does not own (stepgrad/screens/predict.py, fixed by its owner):
contained, listed, and the case ends as xfail naming them; any other error still fails it.
Remove an entry once its fix is merged."""


def check(app: StepgradApp, known: set[str]) -> None:
    """The walkthrough's invariants and a live app (see the module's docstring); the known
    bugs met are added to ``known``."""
    assert app.is_running and app.return_code is None, f"exited with {app.return_code}"
    for error in list(app.contained):
        for name, matches in KNOWN.items():
            if matches(error):
                known.add(name)
                app.contained.remove(error)
                break
    if app.contained:
        trace = "".join(traceback.format_exception(app.contained[0]))
        raise AssertionError(f"contained {len(app.contained)} error(s); the first:\n{trace}")
    assert app.screen_stack[0] is app.main
    focused = app.focused  # keys go to it first: a hidden one would swallow them unseen
    assert focused is None or all(
        node.display for node in focused.ancestors_with_self if isinstance(node, Widget)
    ), f"the focus is on a hidden widget: {focused!r}"
    walk = app.walk
    assert 0 <= walk.step <= walk.total
    if isinstance(walk, BugWalkthrough):  # wrong on purpose: tests/test_bugs.py checks them
        assert app.main.bug is not None
        return
    assert app.main.bug is None
    assert walk.grads() == pytest.approx(replay(walk), rel=1e-12, abs=1e-300)


FULL_PAUSE = 40
"""Every this many bursts, wait until the app is idle and draw a frame (``pilot.pause``); in
between, wait only until the screen's message queues are empty (frames are drawn meanwhile by
the screen's own timer, as in a terminal). Keeps 20,000 keys within a couple of minutes."""


async def settle(pilot: Pilot[None], *, full: bool) -> None:
    if full:
        await pilot.pause()
    else:
        await pilot._wait_for_screen()
        await pilot._wait_for_screen()  # keys the app forwarded to a widget meanwhile


async def drive(app: StepgradApp, pilot: Pilot[None], case: Case, known: set[str]) -> None:
    rng = random.Random(case.seed)
    history: deque[object] = deque(maxlen=60)
    bursts = 0
    sent = 0
    while sent < case.keys:
        group = list(keys(rng, app))
        history.append(group)
        bursts += 1
        try:
            for item in group:
                if isinstance(item, tuple):
                    kind, arg = item
                    if kind == "resize":
                        await pilot.resize_terminal(*arg)  # type: ignore[misc]
                    else:
                        app.post_message(events.Paste(str(arg)))
                else:
                    burst(app, item)
                    sent += 1
            await settle(pilot, full=bursts % FULL_PAUSE == 0)
            check(app, known)
        except BaseException as error:
            size = tuple(app.size)
            raise AssertionError(
                f"{case.name} seed {case.seed} after {sent} keys, size {size}; last bursts: "
                f"{list(history)}"
            ) from error


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.name}-{c.keys}-{c.seed}")
async def test_monkey(case: Case, tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the palette's screenshot command writes here

    def commands(self: StepgradApp, screen: object) -> Iterator[SystemCommand]:
        for command in real(self, screen):
            if "quit" not in command.title.lower():  # quitting is not a crash
                yield command

    real = StepgradApp.get_system_commands
    monkeypatch.setattr(StepgradApp, "get_system_commands", commands)
    app = case.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        app.main.screenshot_dir = str(tmp_path)
        known: set[str] = set()
        await drive(app, pilot, case, known)
        try:
            await still_answering(app, pilot, known)
        except AssertionError as error:
            if not known:
                raise
            # a known bug can leave a screen behind that does not close (a predict screen
            # whose dismissal fails each time): not this test's to judge
            pytest.xfail(f"known bugs met ({'; '.join(sorted(known))}), then: {error}"[:400])
    assert app.return_code is None
    if known:
        pytest.xfail("known bugs met: " + "; ".join(sorted(known)))


async def still_answering(app: StepgradApp, pilot: Pilot[None], known: set[str]) -> None:
    """Once the last keys are handled (an edit or a predict screen may still be opening):
    back to the main screen, the editor closed, and ``end`` jumps to the end of the pass."""
    for _ in range(3):
        await pilot.pause()
    for _ in range(6):
        if app.screen is app.main and not app.main.editing:
            break
        await pilot.press("escape")
        for _ in range(3):
            await pilot.pause()
    assert app.screen is app.main and not app.main.editing, (app.screen_stack, app.focused)
    if app.main.fwd is not None:  # forward mode: end is the end of the forward pass; F leaves
        await pilot.press("F")
        await pilot.pause()
        assert app.main.fwd is None
    await pilot.press("end")
    await pilot.pause()
    walk, main = app.walk, app.main
    state = (walk.key, walk.total, app.focused, main.predicting, main.playing, app.screen_stack)
    assert walk.finished, state
    check(app, known)
