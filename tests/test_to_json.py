"""stepgrad.to_json(value): the ``--json`` document for a graph built in Python.

The reference is the CLI itself: ``stepgrad PROGRAM --json`` run on the program stepgrad writes
for the graph must print exactly the document ``to_json`` returns. The numbers in it are checked
against the lecture's published ones.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import warnings
from typing import Any

import pytest
from micrograd.engine import Value as MicroValue

import stepgrad
from engine import Value
from engine.source import to_source
from stepgrad.cli import main
from stepgrad.sources import NotAGraph, SourceError, program_source


def cli_json(source: str) -> dict[str, Any]:
    out, err = io.StringIO(), io.StringIO()
    assert main([source, "--json"], out=out, err=err) == 0, err.getvalue()
    document: dict[str, Any] = json.loads(out.getvalue())
    return document


def engine_l() -> Value:
    a, b, c, f = Value(2.0, "a"), Value(-3.0, "b"), Value(10.0, "c"), Value(-2.0, "f")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    L = d * f
    L.label = "L"
    return L


def micrograd_l() -> tuple[MicroValue, dict[str, MicroValue]]:
    a, b, c, f = MicroValue(2.0), MicroValue(-3.0), MicroValue(10.0), MicroValue(-2.0)
    return (a * b + c) * f, dict(a=a, b=b, c=c, f=f)


def test_an_engine_graph_gives_the_clis_document() -> None:
    L = engine_l()
    document = stepgrad.to_json(L)
    assert document == cli_json(to_source(L))
    assert json.loads(json.dumps(document)) == document  # plain JSON: dicts, lists, numbers
    grads = {name: node["grad"] for name, node in document["inputs"].items()}
    assert grads == {"a": 6.0, "b": -4.0, "c": -2.0, "f": 4.0}  # the lecture's numbers
    assert document["output"]["data"] == -8.0 and document["output"]["name"] == "L"
    assert L.grad == 0.0  # the Value passed in is untouched


def test_a_micrograd_graph_gives_the_clis_document() -> None:
    L, leaves = micrograd_l()
    document = stepgrad.to_json(L, names=leaves)
    source, _ = program_source(L, names=leaves)
    assert document == cli_json(source)
    assert document["program"] == "a = 2\nb = -3\nc = 10\nf = -2\n(a*b + c)*f"
    grads = {name: node["grad"] for name, node in document["inputs"].items()}
    assert grads == {"a": 6.0, "b": -4.0, "c": -2.0, "f": 4.0}
    assert [node.grad for node in leaves.values()] == [0, 0, 0, 0]


def test_a_pytorch_graph_gives_the_clis_document() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    a, b, c, f = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (2, -3, 10, -2))
    L = (a * b + c) * f
    names = dict(a=a, b=b, c=c, f=f)
    document = stepgrad.to_json(L, names=names)
    assert document == cli_json(program_source(L, names=names)[0])
    grads = {name: node["grad"] for name, node in document["inputs"].items()}
    assert grads == {"a": 6.0, "b": -4.0, "c": -2.0, "f": 4.0}
    assert a.grad is None


def test_the_steps_are_those_of_one_backward_pass() -> None:
    document = stepgrad.to_json(engine_l())
    ids = {node["name"]: node["id"] for node in document["nodes"]}
    fired = [step["node"] for step in document["steps"]]
    assert fired == [ids["L"], ids["d"], ids["e"]]  # ops fire from the output down
    first = document["steps"][0]
    assert first["upstream"] == 1.0
    by_parent = {edge["parent"]: edge for edge in first["edges"]}
    assert by_parent[ids["f"]]["local"] == 4.0  # dL/df = d = a*b + c = 4


def test_errors() -> None:
    with pytest.raises(NotAGraph, match=r"stepgrad.to_json\(\) takes an engine Value"):
        stepgrad.to_json(3.0)
    x = Value(0.0, "x")
    with pytest.raises(SourceError, match="not finite") as info:
        stepgrad.to_json(x.sqrt())  # d sqrt(x)/dx at 0
    assert not str(info.value).startswith("2:")  # no line:col of a program the user never saw
    assert "\n" not in str(info.value)


def test_import_stepgrad_and_to_json_load_no_ui_and_no_torch() -> None:
    code = (
        "import sys, stepgrad\n"
        "from engine import Value\n"
        "from micrograd.engine import Value as M\n"
        "x = Value(2.0, 'x'); stepgrad.to_json(x * x)\n"
        "stepgrad.to_json(M(2.0) * 3)\n"
        "loaded = [m for m in ('textual', 'rich', 'torch') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_names_relabel_an_engine_graph_on_a_copy() -> None:
    x, y = Value(2.0), Value(3.0, "y")
    out = (x * y).tanh()
    document = stepgrad.to_json(out, names={"x": x, "weight": y, "o": out})
    assert document["program"] == "x = 2\nweight = 3\no = tanh(x*weight)"
    assert (x.label, y.label, out.label) == (None, "y", None)  # the Values passed in keep theirs
