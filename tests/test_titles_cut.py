"""A box's title, cut to fit, never states an expression the node is not.

Each piece of a cut title between its ``…`` must be a piece of the node's full expression,
whole names at both ends: ``t6_1 + t6_2 … + t6_7`` cut to 14 columns read ``…+ t6_2 + t6_7``
(a sum ending in t6_2 + t6_7: the … dropped between them), and ``w3_1_1*h4_2_1 … +
w3_1_4*h4_2_4`` read ``w3…_1_4*h4_2_4`` (the product of two names that are not there). The
full expressions come from the parser (``Program.name(full=True)``), not from the titles.
"""

from __future__ import annotations

import re

import pytest

from engine.parse import parse
from stepgrad.examples import mlp_program
from stepgrad.scene import titles


def _deep() -> str:
    lines = [f"x{i} = {i / 10}" for i in range(1, 13)]
    lines += [f"t1_{i} = tanh(x{i})" for i in range(1, 13)]
    lines.append("out = " + " + ".join(f"t1_{i}" for i in range(1, 13)))
    return "\n".join(lines)


def _honest(title: str, full: str) -> bool:
    """Every piece of ``title`` between ``…`` is in ``full``, in order; and where a ``…`` joins
    two pieces, neither is cut inside a name there (``w3…_1_4`` reads as one name). A name cut
    at the title's very start or end (``w2_1_1*h…``) is marked by that ``…`` alone."""
    pieces = [piece.strip() for piece in title.split("…") if piece.strip()]
    at = 0
    for k, piece in enumerate(pieces):
        found = False
        for match in re.finditer(re.escape(piece), full[at:]):
            start, end = at + match.start(), at + match.end()
            inside_start = start > 0 and (full[start - 1].isalnum() or full[start - 1] == "_")
            inside_end = end < len(full) and (full[end].isalnum() or full[end] == "_")
            starts_name = k > 0 and (piece[0].isalnum() or piece[0] == "_")
            ends_name = k < len(pieces) - 1 and (piece[-1].isalnum() or piece[-1] == "_")
            if (inside_start and starts_name) or (inside_end and ends_name):
                continue
            at, found = end, True
            break
        if not found:
            return False
    return True


def test_the_check_itself() -> None:
    full = "t6_1 + t6_2 + t6_3 + t6_4 + t6_5 + t6_6 + t6_7"
    assert not _honest("…+ t6_2 + t6_7", full)
    assert _honest("t6_1 … + t6_7", full)
    full = "w3_1_1*h4_2_1 + w3_1_2*h4_2_2 + w3_1_3*h4_2_3 + w3_1_4*h4_2_4"
    assert not _honest("w3…_1_4*h4_2_4", full)
    assert _honest("w3_1_1…*h4_2_4", full)


@pytest.mark.parametrize("source", [_deep(), mlp_program()], ids=["deep sum", "mlp"])
@pytest.mark.parametrize("width", [12, 14, 16, 18, 20, 24])
def test_cut_titles_are_pieces_of_the_expression(source: str, width: int) -> None:
    program = parse(source)
    nodes = program.nodes()
    shown = titles(program, nodes, width)
    for node in nodes:
        title = re.sub(r" #\d+$", "", shown[node])  # a twin's number is not the expression's
        if not node.parents or node.label is not None:
            continue  # a name, not an expression
        full = program.name(node, full=True)
        assert len(shown[node]) <= width
        assert _honest(title, full), (title, full)
