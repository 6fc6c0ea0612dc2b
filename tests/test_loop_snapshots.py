"""Snapshots of the whole loop's screens (pytest-textual-snapshot): the training window with
its loss curves (the plot as drawn, markers and all), and forward mode mid-pass.

Update after a deliberate change with ``pytest tests/test_loop_snapshots.py --snapshot-update``
and look at the SVGs before committing them.
"""

from __future__ import annotations

from typing import Any

from test_app import TOY, VALUES

from stepgrad.app import create_app
from stepgrad.examples import EXAMPLES

BIG = (120, 36)


def test_training_window_with_its_loss_plot(snap_compare: Any) -> None:
    example = EXAMPLES["zero_grad"]
    app = create_app(example.program, steady=True, example=example)
    assert snap_compare(app, press=["t"], terminal_size=BIG)


def test_forward_mode_mid_pass(snap_compare: Any) -> None:
    app = create_app(TOY, VALUES, steady=True, forward=True)
    assert snap_compare(app, press=["right", "right", "right"], terminal_size=BIG)
