"""A graph of engine Values written back as a program: ``to_source(value)``.

Parsing the text gives the same graph again: the same ops over the same parents in the same
order, the same sharing, bit-identical data, and so bit-identical grads. That is how
``stepgrad.show(value)`` opens the app on a graph built in Python: the app works on the parsed
copy exactly as on a typed program (editor, JSON and explanations included), and the user's
Values stay untouched.

What is written where:

- a leaf that takes a gradient is an input line at the top: ``x1 = 2``;
- a labeled node that takes a gradient gets its own line: ``n = x1*w1 + b``;
- an unlabeled node used once is written into its consumer's expression; one used more than
  once gets a line of its own under a made-up name (``t1``), and so does a node that would nest
  :data:`MAX_DEPTH` unlabeled ops in one line (long chains are cut, so every line parses);
- constants (``requires_grad=False``: the numbers Python lifts in ``2*x``, and ops on constants
  only) are written where they are used, exactly (``repr``; ``-2`` is one constant, ``-(+2)``
  minus the constant 2); their labels are dropped, except ``pi`` and ``e`` for the language's
  own constants; a constant used twice is written twice (the language has no shared constants,
  and no gradient ever reaches them);
- an unlabeled output is the last line's bare expression.

Names (see :func:`names`): a label that is already a usable name is kept; every other label is
made into one (``x1*w1`` -> ``x1_w1``, ``exp`` -> ``exp_``, ``lambda`` -> ``lambda_``, ``2x`` ->
``_2x``) and a name taken already gets a number (a second ``a`` -> ``a_2``). Unlabeled inputs are
``v1``, ``v2``... and unlabeled shared nodes ``t1``, ``t2``..., skipping names a label took.
Labels that are usable as they are claim their names first, then the others, in the graph's
order (:func:`engine.nodes`), so the same graph always gets the same names.
"""

from __future__ import annotations

import keyword
import math
import re
import unicodedata

from .backward import nodes
from .ops import FUNCTIONS, OPS
from .parse import _PRECEDENCE, CONSTANTS, MAX_SOURCE, ProgramError, spare_name
from .value import Value

__all__ = ["MAX_DEPTH", "names", "to_source"]

MAX_DEPTH = 32
"""The deepest nesting of unlabeled ops written into one line before a made-up name breaks it."""

_ATOM = 9  # a name, a number >= 0, a call: binds tighter than any operator
_NEG = _PRECEDENCE["neg"]


def to_source(value: Value) -> str:
    """``value``'s graph as a program whose last statement is ``value``; see the module doc.

    Raises TypeError if ``value`` is not an engine Value, and :class:`engine.parse.ProgramError`
    if the program would be longer than the parser accepts (:data:`engine.parse.MAX_SOURCE`).
    """
    return _Writer(_check(value, "to_source")).source()


def names(value: Value) -> dict[Value, str]:
    """The name each node of ``value``'s graph has in :func:`to_source`'s program.

    Only nodes written on a line of their own have one: inputs, labeled nodes, shared unlabeled
    nodes and a labeled output. Constants and nodes written into an expression have none.
    """
    return dict(_Writer(_check(value, "names")).names)


def _check(value: object, caller: str) -> Value:
    if not isinstance(value, Value):
        kind = type(value).__module__ + "." + type(value).__qualname__
        if kind.startswith("builtins."):
            kind = kind.removeprefix("builtins.")
        raise TypeError(f"{caller}() takes an engine Value (from engine import Value), not {kind}")
    return value


def number(x: float) -> str:
    """``x`` as exact program text: ``2``, ``-3``, ``0.1``, ``1e-300`` (``float(text) == x``)."""
    x = float(x)  # data set by hand to an int (x.data = 3) is that number
    sign = "-" if math.copysign(1.0, x) < 0 else ""
    x = abs(x)
    text = str(int(x)) if x.is_integer() and x < 1e16 else repr(x)
    return sign + text


def _label(node: Value) -> str | None:
    """A node's label as text: a label set to something else (``label=1``) is read as its
    ``str``, as a label is only ever shown."""
    label: object = node.label
    if label is None or isinstance(label, str):
        return label
    return str(label)


def usable(label: str) -> bool:
    """Whether ``label`` can be a name in a program as it is (``e`` and ``pi`` can, as in
    Python: assigning them shadows the constants)."""
    return (
        label.isidentifier()
        and unicodedata.normalize("NFKC", label) == label  # Python reads names in NFKC form
        and not keyword.iskeyword(label)
        and not label.startswith("__")
        and label not in FUNCTIONS
    )


def make_usable(label: str) -> str:
    """A usable name made from ``label``, or ``""`` if it has nothing to make one from.

    Runs of other characters become one ``_`` (``x1*w1`` -> ``x1_w1``, ``f(x)`` -> ``f_x``); a
    leading digit gets a ``_`` before it; keywords and function names get one after
    (``lambda_``, ``exp_``).
    """
    text = unicodedata.normalize("NFKC", label)
    text = "".join(c if ("_" + c).isidentifier() else " " for c in text)
    name = re.sub("_{2,}", "_", "_".join(text.split())).strip("_")
    if not name:
        return ""
    if not name[0].isidentifier():
        name = "_" + name
    if keyword.iskeyword(name) or name in FUNCTIONS:
        name += "_"
    return name if usable(name) else ""


class _Writer:
    """Decides which nodes get a line and a name, then writes the lines, parents first."""

    def __init__(self, root: Value) -> None:
        self.root = root
        self.order = nodes(root)
        self.lines = self._lines()
        self.names = self._names(self.lines)

    def _lines(self) -> list[Value]:
        """The nodes that get a line of their own, in the graph's order."""
        uses: dict[Value, int] = {}
        for node in self.order:
            for parent in node.parents:
                uses[parent] = uses.get(parent, 0) + 1
        own: set[Value] = set()
        depth: dict[Value, int] = {}
        for node in self.order:
            if not node.parents:
                if node.requires_grad:
                    own.add(node)
                depth[node] = 0
                continue
            depth[node] = 1 + max(0 if p in own else depth[p] for p in node.parents)
            if node.requires_grad and node is not self.root:
                if node.label is not None or uses[node] > 1 or depth[node] >= MAX_DEPTH:
                    own.add(node)
        if self.root.requires_grad and (self.root.label is not None or not self.root.parents):
            own.add(self.root)
        leaves = [node for node in self.order if node in own and not node.parents]
        return leaves + [node for node in self.order if node in own and node.parents]

    def _names(self, lines: list[Value]) -> dict[Value, str]:
        taken: set[str] = set()
        given: dict[Value, str] = {}
        for node in lines:  # first, labels that are names already
            label = _label(node)
            if label is not None and usable(label) and label not in taken:
                given[node] = label
                taken.add(label)
        for node in lines:  # then the other labels, made usable and unique
            label = _label(node)
            if node not in given and label is not None:
                base = make_usable(label)
                if base:
                    given[node] = _unique(base, taken)
        counters = {"v": 0, "t": 0}
        for node in lines:  # then made-up names for the rest
            if node not in given:
                prefix = "t" if node.parents else "v"
                while True:
                    counters[prefix] += 1
                    name = f"{prefix}{counters[prefix]}"
                    if name not in taken:
                        break
                given[node] = name
                taken.add(name)
        return {node: given[node] for node in lines}

    def source(self) -> str:
        texts = {node: (name, _ATOM) for node, name in self.names.items()}
        taken = set(self.names.values())
        statements: list[str] = []
        length = -1
        for node in self.lines if self.root in self.names else [*self.lines, self.root]:
            if node.parents:
                expression = self._expression(node, texts, taken)
            elif node.requires_grad:
                expression = number(node.data)
            else:
                expression = self._constant(node, taken)[0]
            name = self.names.get(node)
            statements.append(f"{name} = {expression}" if name is not None else expression)
            length += len(statements[-1]) + 1
            if length > MAX_SOURCE:
                raise self._too_long()
        return "\n".join(statements)

    def _constant(self, node: Value, taken: set[str]) -> tuple[str, int]:
        label = node.label
        if label in CONSTANTS and label not in taken and node.data == CONSTANTS[label]:
            return label, _ATOM
        text = number(node.data)
        return text, _NEG if text.startswith("-") else _ATOM

    def _expression(self, node: Value, texts: dict[Value, tuple[str, int]], taken: set[str]) -> str:
        """``node``'s op over its parents, with unnamed parents written in (iteratively)."""
        made: dict[Value, tuple[str, int]] = {}
        stack: list[tuple[Value, bool]] = [(node, False)]
        while stack:
            current, ready = stack.pop()
            if current in made:
                continue
            if ready:
                operands = [made[p] if p in made else texts[p] for p in current.parents]
                made[current] = _write(current.op, operands)
                if len(made[current][0]) > MAX_SOURCE:
                    raise self._too_long()
            elif not current.parents:
                made[current] = self._constant(current, taken)
            else:
                stack.append((current, True))
                stack += [(p, False) for p in reversed(current.parents) if p not in texts]
        return made[node][0]

    def _too_long(self) -> ProgramError:
        return ProgramError(
            f"the graph is too large to show: its {len(self.order):,} nodes make a program of "
            f"more than {MAX_SOURCE:,} characters, the longest stepgrad reads",
            hint="show a part of it, e.g. one neuron or one sample's loss",
        )


def _write(op: str, operands: list[tuple[str, int]]) -> tuple[str, int]:
    """One op over its operands' texts, with the parentheses that keep the same tree.

    ``+`` and ``-`` are spaced, ``*``, ``/`` and ``**`` are not: ``x1*w1 + x2*w2``.
    """
    spec = OPS[op]
    if spec.arity == 1:
        text, strength = operands[0]
        if op != "neg":
            return f"{spec.symbol}({text})", _ATOM
        if text[0].isdigit():  # -2 would be read as the constant -2, not minus the constant 2
            return f"-(+{text})", _NEG
        return (f"-{text}" if strength == _ATOM else f"-({text})"), _NEG
    (left, left_strength), (right, right_strength) = operands
    mine = _PRECEDENCE[op]
    if op == "**":  # anything but a name, a number >= 0 or a call goes in parentheses
        left = left if left_strength == _ATOM else f"({left})"
        right = right if right_strength == _ATOM else f"({right})"
        return f"{left}**{right}", mine
    if left_strength < mine:
        left = f"({left})"
    # Python groups from the left: a - (b - c), a + (b + c), a/(b*c); and x - (-1) reads better
    if right_strength <= mine or (op in ("+", "-") and right_strength == _NEG):
        right = f"({right})"
    if op in ("+", "-"):
        return f"{left} {spec.symbol} {right}", mine
    return f"{left}{spec.symbol}{right}", mine


def _unique(base: str, taken: set[str]) -> str:
    """``base``, or ``base_2``, ``base_3``... whichever is free first; now taken."""
    name = spare_name((base,), taken, base)
    taken.add(name)
    return name
