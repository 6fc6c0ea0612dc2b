"""Generate screenshots/NN-scenario.svg by driving the real app headless.

Run: ``/work/venv/bin/python scripts/screenshots.py [OUTDIR]`` (default: ``screenshots/``).

Each scenario is a fresh app at a fixed size, fed real key presses through Pilot; the theme is
pinned and the editor's cursor does not blink, and each shot is taken after a pause so that the
footer and any layout change are on screen.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stepgrad.app import StepgradApp, create_app  # noqa: E402
from stepgrad.examples import EXAMPLES  # noqa: E402

TOY = "(x*x + 1)/(y*y - 1)"
VALUES = {"x": 8.0, "y": 3.0}
SIZE = (120, 36)


@dataclass(frozen=True)
class Scene:
    name: str
    keys: tuple[str, ...]
    source: str = TOY
    values: dict[str, float] | None = None
    size: tuple[int, int] = SIZE
    typed: str = ""  # typed (into the editor or predict mode's inputs) after the keys
    options: dict[str, Any] = field(default_factory=dict)  # for create_app: lecture=True...
    after: tuple[str, ...] = ()  # keys pressed after typing


SCENES = [
    Scene("01-start", (), values=VALUES),
    Scene("02-shared-node", ("right",) * 4, values=VALUES),  # x*x fires: x's 2nd contribution
    Scene("03-pass-done", ("end",), values=VALUES),
    Scene("04-accumulated", ("end", "b", "end"), values=VALUES),  # pass 2: every grad doubled
    Scene("05-zero-grad", ("end", "z"), values=VALUES),
    Scene("06-large-graph", ("right",) * 40, source=EXAMPLES["mlp"].program),
    Scene("07-input-error", ("e", "backspace"), values=VALUES, typed=" +* 2"),
    Scene("08-help", ("question_mark",), values=VALUES),
    # lesson mode: the narration says what d = b + 1 does and why b's grads add up
    Scene("09-lesson", ("right",) * 3, source=EXAMPLES["paths"].program),
    # predict mode: the student typed 1/8 (right) and -1 (wrong) for step 1
    Scene("10-predict", ("right",), values=VALUES, typed="1/8\n-1\n", options={"predict": True}),
    Scene(
        "11-lecture", ("right",) * 2, source=EXAMPLES["paths"].program, options={"lecture": True}
    ),
    # the zero_grad example's training loop, with and without zero_grad (t)
    Scene(
        "12-training",
        ("t",),
        source=EXAMPLES["zero_grad"].program,
        options={"example": EXAMPLES["zero_grad"]},
    ),
    # lecture scale: the neuron whole in lecture mode at 120x36 (names, data and grads)
    Scene(
        "14-lecture-neuron",
        ("right",) * 3,
        source=EXAMPLES["neuron"].program,
        options={"lecture": True, "example": EXAMPLES["neuron"]},
    ),
    # the MLP with its weighted sums collapsed into neurons, tiny one-line boxes, on a big screen
    Scene(
        "15-mlp-collapsed",
        ("right",) * 12,
        source=EXAMPLES["mlp"].program,
        size=(200, 60),
        options={"example": EXAMPLES["mlp"]},
    ),
    # find a node by name: / and a few letters
    Scene(
        "16-find",
        ("slash",),
        source=EXAMPLES["mlp"].program,
        typed="w2_3",
        options={"example": EXAMPLES["mlp"]},
    ),
    # the whole loop: the forward pass, one node at a time (F, --forward): y*y computed now
    Scene("17-forward", ("right",) * 3, values=VALUES, options={"forward": True}),
    # the lecture's finale: the MLP trains (t), its loss curves with and without zero_grad
    Scene(
        "18-mlp-training",
        ("t",),
        source=EXAMPLES["mlp"].program,
        options={"example": EXAMPLES["mlp"]},
    ),
    # why the rules exist: x nudged up by h = 0.1 (tab selects x; H twice: 0.001 -> 0.01 -> 0.1)
    Scene(
        "19-nudge",
        ("tab", "H", "H", "greater_than_sign"),
        values=VALUES,
    ),
    # the lecture's bug: grads overwritten instead of added; x.grad ends at 1, not 2
    Scene("20-bug-overwrite", ("end",), values=VALUES, options={"bug": "overwrite"}),
    # the chain rule as a sum over paths: every path from x to the output (tab, P)
    Scene("21-paths", ("tab", "P"), values=VALUES),
]


def make_app(scene: Scene) -> StepgradApp:
    app = create_app(scene.source, scene.values, steady=True, **scene.options)
    return app


async def shoot(scene: Scene, outdir: Path) -> Path:
    app = make_app(scene)
    async with app.run_test(size=scene.size) as pilot:
        await pilot.pause()
        for key in scene.keys:
            await pilot.press(key)
        for char in scene.typed:
            key = {" ": "space", "*": "asterisk", "+": "plus", "\n": "enter"}.get(char, char)
            await pilot.press(key)
        for key in scene.after:
            await pilot.press(key)
        await pilot.pause()
        await pilot.pause(0.2)
        path = app.save_screenshot(filename=f"{scene.name}.svg", path=str(outdir))
    return Path(path)


async def main(outdir: Path) -> None:
    outdir.mkdir(parents=True, exist_ok=True)
    for scene in SCENES:
        path = await shoot(scene, outdir)
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "screenshots"))
