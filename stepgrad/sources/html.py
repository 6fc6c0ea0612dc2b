"""The walkthrough as one self-contained HTML page: ``--html FILE``, ``stepgrad.html()`` and the
inline stepper ``stepgrad.show()`` displays in a Jupyter kernel.

One renderer for the file and the notebook, and the terminal's own drawing inside both: the
graph is :func:`stepgrad.draw.draw`'s canvas, rendered by :meth:`~stepgrad.draw.Drawing.window`
exactly as the app renders it, so the browser shows the same characters (box borders, ``now``,
``waits 1``, ``✓``) in the same places; only the colours become CSS classes.

Why self-contained HTML and not an anywidget: an HTML output needs nothing installed beside
the kernel (no ipywidgets, no widget manager, no front-end extension), the same bytes are the
``--html`` file that opens with a double-click and survives being e-mailed, and a notebook
saved with its outputs keeps a working stepper (a widget shows only "model not found" once its
kernel is gone). Nothing talks back to the kernel, so the stepper keeps working after the
kernel stops. The price: a front end must run the output's script. VS Code does, and so do
JupyterLab and Notebook 7 for a trusted notebook (one you executed yourself); an untrusted one
(opened from elsewhere, not yet run) shows the start of the walkthrough (the drawing, for
graphs up to :data:`PREVIEW_CELLS` characters, and the first panel) with a line saying to run
the cell or trust the notebook.

Size: the page does not hold a drawing per step. It holds the drawing once (the start of the
first pass) and per step only the cells that change (the boxes whose state or grad changes,
the edges that light up or go out), as runs of text and style; the script applies them
forward and undoes them backward. The step panel is data too: a step's edges (formula, local,
upstream × local) once, and per pass only the grads before and after. All of it is JSON,
deflated and in base64 (see :func:`pack`): the browser inflates it with its own
``DecompressionStream`` (Chrome 80, Firefox 113, Safari 16.4 and later), which is what keeps
the 320-node MLP example, with its passes, near 550 kB instead of 3 MB.

The states: the first pass; another pass on top of it (``b``: every grad doubles); ``z``
(``zero_grad``: every grad 0, then ``b`` starts a clean pass). Pass numbers count on as in the
app; a third accumulated pass (3x) is not stored, so after the second ``b`` the page says to
press ``z`` first.

Everything from the user (names, the program, the title) is shown with control characters made
:func:`~engine.text.visible`, escaped in the markup, and set as text (never as HTML) by the
script. The page loads nothing: no script, font or style comes from anywhere else.

UI-free: no Textual here.
"""

from __future__ import annotations

import base64
import json
import secrets
import zlib
from collections.abc import Mapping, Sequence
from html import escape
from typing import TYPE_CHECKING, Any

from engine import Value
from engine.numbers import format_number, worked
from engine.text import statements, visible

from ..explain import (
    UNUSED_AT_START,
    check_numbers,
    contribution_ordinals,
    difference_quotient,
    edge_note,
    gradient_check,
    local_formula,
    ordinal,
    partial,
    plural,
    worked_product,
)
from ..state import Walkthrough
from .html_assets import CSS, SCRIPT

if TYPE_CHECKING:
    from engine.parse import Program

    from ..draw import Drawing, View
    from ..layout import Mode

__all__ = [
    "STYLE_CLASSES",
    "Notebook",
    "Page",
    "TooLarge",
    "document",
    "fragment",
    "pack",
    "unpack",
    "walkthrough",
]

FULL_MODE_MAX_NODES = 60
"""As in the app: graphs up to this size get full boxes, larger ones compact boxes."""
MAX_NODES = 500
"""The largest graph a page holds (the 320-node MLP example takes about 5 s and 550 kB)."""
MAX_CELLS = 4_000_000
"""The largest drawing a page holds, in characters (a file of about 10 MB)."""
MAX_EDGE_CELLS = 60_000
"""The most cells the edges of a page's drawing may cover together. Every step redraws the
edges it changes, cell by cell, so a value used by hundreds of nodes far apart (a sum of one
input 250 times: 950,000 cells) took a minute to write; the MLP example's edges cover 30,000
and take about 3 s, the slowest shapes under this limit about 4 s."""

STYLE_CLASSES = {
    "node.idle": "ni",
    "node.current": "nc",
    "node.done": "nd",
    "node.waiting": "nw",
    "node.dead": "nx",
    "edge.idle": "ei",
    "edge.active": "ea",
    "edge.done": "ed",
    "edge.dead": "ex",
    "edge.hidden": "eh",
    "label": "l",
    "grad": "g",
    "data": "d",
    "mark": "m",
    "constant": "k",
}
"""The drawing's style names (see :class:`stepgrad.draw.Rendered`) -> short CSS class names; the
stylesheet gives each a dark and a light look. A name not listed here gets no class."""

_GAP = 3
"""Unchanged cells between two changed ones that a delta still carries, to save a segment."""


class TooLarge(Exception):
    """A graph too large for one page (one line, like every error)."""


class _Styles:
    """Style names -> small ids, and each id's CSS classes (id 0: no style)."""

    def __init__(self) -> None:
        self.ids: dict[str | None, int] = {None: 0}
        self.classes: list[str] = [""]

    def id(self, style: str | None) -> int:
        found = self.ids.get(style)
        if found is None:
            parts = (STYLE_CLASSES.get(part) for part in (style or "").split())
            found = self.ids[style] = len(self.classes)
            self.classes.append(" ".join(p for p in parts if p))
        return found


# --- the model --------------------------------------------------------------------------------


def walkthrough(
    program: Program, *, title: str | None = None, holder: str = "one HTML file"
) -> dict[str, Any]:
    """Everything the page shows, as JSON-ready data: the drawing's first state, the cells each
    step changes, and the step panel's text, for every pass the page can show.

    ``program`` is parsed and may hold grads from earlier passes: they are set to 0 first (the
    walkthrough starts at a fresh pass, as the app does). Raises :class:`TooLarge` for a graph
    whose drawing would exceed :data:`MAX_CELLS`.
    """
    from ..draw import draw
    from ..layout import MAX_LANES, lanes, layout
    from ..scene import Scene

    size = len(program.nodes())
    if size > MAX_NODES:
        raise TooLarge(
            f"the graph has {size:,} nodes; {holder} holds a walkthrough of at most "
            f"{MAX_NODES:,} (the limit is there to keep it quick to write and small to send)"
        )
    walks = _scene_walks(program)
    first = walks["fresh"]
    scene = Scene(first)  # the app's own graph: the same titles, every node shown
    scene.set_all(False)
    graph = scene.graph
    for _, attrs in graph.nodes(data=True):
        attrs["label"], attrs["short"] = visible(attrs["label"]), visible(attrs["short"])
    count = lanes(graph)
    if count > MAX_LANES:
        raise TooLarge(
            f"the graph is too large to draw: its values would cross {count:,} columns on the "
            f"way to their consumers (the limit is {MAX_LANES:,})"
        )
    mode: Mode = "compact" if graph.number_of_nodes() > FULL_MODE_MAX_NODES else "full"
    laid = layout(graph, mode=mode)
    if laid.width * laid.height > MAX_CELLS:  # refused before indexing every cell
        raise TooLarge(
            f"the drawing would be {laid.width:,} × {laid.height:,} characters, more than "
            f"{holder} holds ({MAX_CELLS:,})"
        )
    drawing = draw(laid)
    covered = 0
    for edge in graph.edges(keys=True):
        if edge[0] in drawing.boxes and edge[1] in drawing.boxes:
            covered += len(drawing.edge_cells(edge))
            if covered > MAX_EDGE_CELLS:  # no need to count the rest
                raise TooLarge(
                    f"the drawing's edges cover more than {MAX_EDGE_CELLS:,} cells, the limit of "
                    f"what {holder} redraws step by step (values used by many nodes far apart)"
                )
    ids = scene.ids
    styles = _Styles()
    base_view = scene.whole_view(first)
    painter = _Painter(drawing, styles, base_view)
    base = painter.snapshot()
    scenes: dict[str, Any] = {}
    estimates: Any = None
    for name, walk in walks.items():
        painter.restore(base)
        previous = base_view
        deltas: list[list[Any]] = []
        for k in range(walk.total + 1) if not walk.cleared else range(1):
            if not walk.cleared:
                walk.go(k)
            view = scene.whole_view(walk)
            deltas.append(painter.delta(previous, view))
            previous = view
        if estimates is not None:  # finite differences depend on the program only: once
            walk.memo[_ESTIMATES] = estimates
        scenes[name] = {"deltas": deltas, **_panel(walk)}
        estimates = walk.memo.get(_ESTIMATES, estimates)

    output = program.output
    return {
        "title": visible(title or "stepgrad"),
        "mode": mode,
        "program": _program_line(program),
        "warnings": [visible(warning) for warning in program.warnings],
        "output": format_number(output.data),
        "out": visible(program.name(output)),
        "total": len(first.trace.steps),
        "width": drawing.width,
        "height": drawing.height,
        "styles": styles.classes,
        "base": [_row_runs(chars, ids_) for chars, ids_ in zip(*base, strict=True)],
        "boxes": {str(n): [b.x, b.y, b.w, b.h] for n, b in drawing.boxes.items()},
        "steps": _steps(first, ids),
        "scenes": scenes,
    }


_ESTIMATES = ("finite differences",)
"""The key under which :func:`stepgrad.explain.gradient_check` keeps its estimates."""


def _row_runs(chars: list[str], ids: list[int]) -> list[Any]:
    """One row of the drawing: its text without trailing blanks, then its style runs ``[style,
    n, style, n, ...]``."""
    end = len(chars)
    while end and chars[end - 1] == " " and not ids[end - 1]:
        end -= 1
    runs: list[int] = []
    x = 0
    while x < end:
        y = x
        while y < end and ids[y] == ids[x]:
            y += 1
        runs += [ids[x], y - x]
        x = y
    return ["".join(chars[:end]), runs]


def _scene_walks(program: Program) -> dict[str, Walkthrough]:
    """The walkthroughs of each state the page can show, each on grads set to 0 first (the
    engine's trace starts from the grads the values hold): the first pass, another pass on top
    of it, a pass after ``zero_grad``, and the ``zero_grad`` state itself."""
    program.zero_grad()
    fresh = Walkthrough(program)
    program.zero_grad()
    again = Walkthrough(program)
    again.end()
    again.backward_again()
    program.zero_grad()
    clean = Walkthrough(program)
    clean.zero_grad()  # at step 0: the pass starts from 0 instead of "not computed"
    if clean.cleared:  # a pass of no steps was over at once: the clean pass is the next one
        clean.backward_again()
    program.zero_grad()
    zeroed = Walkthrough(program)
    zeroed.end()
    zeroed.zero_grad()
    program.zero_grad()
    return {"fresh": fresh, "again": again, "clean": clean, "zeroed": zeroed}


class _Painter:
    """Renders only what changes between two views, and keeps the canvas the page shows.

    The drawing is rendered by :meth:`~stepgrad.draw.Drawing.window`, the app's own renderer,
    over the rectangle that holds what changed: the boxes whose state or grad changes and the
    paths of the edges whose state changes (each found when it changes: a value used many
    times shares one trunk, so storing every edge's path up front would cost its square). The
    window paints only the wires inside it; only the cells of the changed boxes and paths are
    read from it.
    """

    def __init__(self, drawing: Drawing, styles: _Styles, base: View) -> None:
        self.drawing = drawing
        self.styles = styles
        rendered = drawing.render(base)
        self.chars = [list(line) for line in rendered.lines]
        self.ids = [
            [styles.id(rendered.style_at(x, y)) for x in range(drawing.width)]
            for y in range(drawing.height)
        ]

    def snapshot(self) -> tuple[list[list[str]], list[list[int]]]:
        return [row[:] for row in self.chars], [row[:] for row in self.ids]

    def restore(self, saved: tuple[list[list[str]], list[list[int]]]) -> None:
        self.chars, self.ids = [row[:] for row in saved[0]], [row[:] for row in saved[1]]

    def delta(self, old: View, new: View) -> list[list[Any]]:
        """The cells that change from ``old`` to ``new``, as segments ``[y, x, text, style, n,
        style, n, ..., style]`` (runs of one style id; the last run takes the rest); the
        canvas is updated to ``new``."""

        drawing = self.drawing
        nodes: set[int] = set()
        for node in set(old.nodes) | set(new.nodes):
            if old.node_state(node) != new.node_state(node):
                nodes.add(node)
        old_grads, new_grads = old.grads or {}, new.grads or {}
        for node in set(old_grads) | set(new_grads):
            if old_grads.get(node) != new_grads.get(node):
                nodes.add(node)
        cells: set[tuple[int, int]] = set()
        boxes = drawing.boxes
        for edge in set(old.edges) | set(new.edges):
            if old.edges.get(edge, "idle") == new.edges.get(edge, "idle"):
                continue
            if edge[0] not in boxes or edge[1] not in boxes:
                continue
            nodes.add(edge[0])  # its out port
            cells.update(drawing.edge_cells(edge))
        for node in nodes:
            box = boxes.get(node)
            if box is not None:
                cells.update(
                    (x, y) for y in range(box.y, box.y + box.h) for x in range(box.x, box.x + box.w)
                )
        if not cells:
            return []
        x0 = min(x for x, _ in cells)
        x1 = max(x for x, _ in cells) + 1
        y0 = min(y for _, y in cells)
        y1 = max(y for _, y in cells) + 1
        rendered = drawing.window(x0, y0, x1 - x0, y1 - y0, new, drawing.wires_at(cells))
        changed: dict[int, list[int]] = {}
        for x, y in cells:
            char = rendered.lines[y - y0][x - x0]
            style = self.styles.id(rendered.style_at(x - x0, y - y0))
            if self.chars[y][x] != char or self.ids[y][x] != style:
                self.chars[y][x] = char
                self.ids[y][x] = style
                changed.setdefault(y, []).append(x)
        segments: list[list[Any]] = []
        for y in sorted(changed):
            xs = sorted(changed[y])
            start = prev = xs[0]
            for x in [*xs[1:], -1]:
                if x >= 0 and x - prev <= _GAP + 1:
                    prev = x
                    continue
                segments.append(self._segment(y, start, prev + 1))
                start = prev = x
        return segments

    def _segment(self, y: int, x0: int, x1: int) -> list[Any]:
        text = "".join(self.chars[y][x0:x1])
        ids = self.ids[y][x0:x1]
        segment: list[Any] = [y, x0, text]
        run_style, run = ids[0], 0
        for style in ids:
            if style == run_style:
                run += 1
                continue
            segment += [run_style, run]
            run_style, run = style, 1
        segment.append(run_style)
        return segment


# --- the step panel ---------------------------------------------------------------------------


def _n(x: float) -> str:
    return format_number(x)


def _steps(walk: Walkthrough, ids: Mapping[Value, int]) -> list[list[Any]]:
    """What every step of a pass is, the same in every pass: ``[node id, describe, ∂out/∂node,
    upstream, [edge, ...], [parent id, ...]]``, each edge ``[who, formula, local, contribution,
    then]`` and, where the rounded upstream × local would not give the rounded contribution,
    ``upstream × local = contribution`` with the digits that do."""
    program = walk.program
    ordinals = contribution_ordinals(walk)
    steps = []
    for index, step in enumerate(walk.trace.steps):
        edges = []
        for e, edge in enumerate(step.edges):
            k, total = ordinals[(index, e)]
            name = program.name(edge.parent)
            formula = local_formula(program, step, edge)
            who = name if total == 1 else f"{name} ({ordinal(k)} of {total})"
            fields = [visible(who), visible(formula), _n(edge.local), _n(edge.contribution)]
            fields.append(edge_note(edge))
            product = worked_product(step.upstream, edge.local, edge.contribution)
            if product != f"{_n(step.upstream)} × {fields[2]} = {fields[3]}":  # more digits
                fields.append(product)
            edges.append(fields)
        steps.append(
            [
                ids.get(step.node, -1),
                visible(program.describe(step.node)),
                visible(partial(program, program.output, step.node)),
                _n(step.upstream),
                edges,
                [ids.get(edge.parent, -1) for edge in step.edges],
            ]
        )
    return steps


Segments = list[list[str]]
"""A line of the panel: ``[text, class]`` pieces (class ``b`` bold, ``dim``, ``ok``, ``warn``,
``acc``, ``err``, or ``""``). ``{p}`` in a text is the pass number, ``{q}`` the one before."""


def _panel(walk: Walkthrough) -> dict[str, Any]:
    """What the panel says in one state: per step the grads before and after each edge (and
    the note when ``+=`` adds to a grad already there), at step 0 the start lines, at the end
    the done line and the gradient check; for the ``zero_grad`` state its one line."""
    program = walk.program
    out = visible(program.name(program.output))
    if walk.cleared:
        line = [
            ["zero_grad", "acc"],
            [": all grads set to 0; the next pass starts clean. Press ", ""],
            ["b", "b"],
            [" to run backward again.", ""],
        ]
        return {"start": [line], "grads": [], "notes": [], "done": []}
    pass_ = walk.pass_
    ordinals = contribution_ordinals(walk)
    grads: list[list[Any]] = []
    notes: list[list[Segments]] = []
    for index, step in enumerate(walk.trace.steps):
        row: list[Any] = []
        said: list[Segments] = []
        for e, edge in enumerate(step.edges):
            k, _total = ordinals[(index, e)]
            fresh = k == 1 and edge.parent not in pass_.base
            if fresh:
                row.append([None, _n(edge.grad_after)])
            else:  # before + contribution, with numbers that add up to after
                before, contribution, after = worked(
                    edge.grad_before, "+", edge.contribution, edge.grad_after
                )
                row.append([before, after, contribution])
            if not fresh:
                said.append(_accumulation_note(walk, edge.parent, edge, k))
        grads.append(row)
        notes.append(said)
    return {
        "start": _start_lines(walk, out),
        "grads": grads,
        "notes": notes,
        "done": _done_lines(walk) if walk.total else [],
    }


def _accumulation_note(walk: Walkthrough, parent: Value, edge: Any, k: int) -> Segments:
    name = visible(walk.program.name(parent))
    before, contribution, after = worked(edge.grad_before, "+", edge.contribution, edge.grad_after)
    if k > 1:
        why = f"{name} is shared: this {ordinal(k)} contribution adds to the {before} it has"
    elif walk.pass_.accumulates:
        why = f"{name} already holds {before} from pass {{q}} (no zero_grad), and += adds to it"
    else:
        why = f"{name} already holds {before}, and += adds to it"
    return [
        ["+= ", "warn"],
        [why, ""],
        [": ", ""],
        [f"{before} + {contribution} = {after}", "b"],
    ]


def _start_lines(walk: Walkthrough, out: str) -> list[Segments]:
    pass_ = walk.pass_
    if walk.total == 0:
        return [
            [[f"The output {out} is a leaf: its grad is 1 and there is nothing to propagate.", ""]]
        ]
    if pass_.accumulates:
        first = [
            ["pass {p} · grads accumulate (no zero_grad)", "warn"],
            [
                ": each grad starts from what pass {q} left, and += adds this pass on top. At "
                f"the end every grad is exactly {pass_.stack}x one pass's grad.",
                "",
            ],
        ]
    elif pass_.zeroed:
        first = [["zero_grad", "acc"], [": every grad is 0, so this pass starts clean.", ""]]
    else:
        first = [
            ["Nothing has fired yet: every grad is ", ""],
            ["—", "b"],
            [" (not computed)" + (UNUSED_AT_START.rstrip() if walk.dead else "."), ""],
        ]
    press = [
        ["Press ", ""],
        ["→", "b"],
        [f": the output {out} gets ", ""],
        [f"∂{out}/∂{out} = 1", "b"],
        [
            " and fires first, sending upstream × local along each edge "
            f"({plural(walk.total, 'step')} in this pass).",
            "",
        ],
    ]
    return [first, press]


_VERDICTS = {
    "agree": ("✓", "agree", "ok"),
    "differ": ("✗", "DIFFER", "err"),
    "kink": ("⚠", "kink", "warn"),
    "inconclusive": ("?", "inconclusive", "warn"),
    "undefined": ("?", "undefined", "dim"),
    "unchecked": ("…", "not checked", "dim"),
}
_SHOWN_CHECKS = 6


def _done_lines(walk: Walkthrough) -> list[Segments]:
    """The end of a pass: done, then each input's grad against finite differences (as the
    app's step panel says it)."""
    walk.end()
    pass_ = walk.pass_
    times = f" ({pass_.stack}x one pass: grads accumulated)" if pass_.stack > 1 else ""
    lines: list[Segments] = [
        [
            ["✓ ", "ok"],
            ["pass {p} done", "b"],
            [f": every grad is final{times}.", ""],
        ]
    ]
    checks = gradient_check(walk)
    if not checks:
        return lines
    program = walk.program
    scaled = f"{pass_.stack} × " if pass_.stack > 1 else ""
    out = visible(program.name(program.output))
    head = [
        ["gradient check", "b"],
        [f": grad vs {scaled}{difference_quotient(program, out)}", ""],
    ]
    agreeing = [c for c in checks if c.verdict == "agree"]
    unchecked = [c for c in checks if c.verdict == "unchecked"]
    if len(checks) > _SHOWN_CHECKS:
        head += [[": ", ""], [f"✓ {len(agreeing)} of {len(checks)} inputs agree", "ok"]]
        for verdict in ("differ", "kink", "inconclusive", "undefined", "unchecked"):
            count = sum(c.verdict == verdict for c in checks)
            if count:
                mark, word, cls = _VERDICTS[verdict]
                head += [[", ", ""], [f"{mark} {count} {word}", cls]]
        shown = [c for c in checks if c.verdict not in ("agree", "unchecked")]
    else:
        shown = [c for c in checks if c.verdict != "unchecked"]
    lines.append(head)
    for check in shown[:_SHOWN_CHECKS]:
        mark, word, cls = _VERDICTS[check.verdict]
        grad, numeric = check_numbers(check)
        lines.append(
            [
                ["  ", ""],
                [visible(check.name), "b"],
                [f"  {grad}  vs  {numeric}  ", ""],
                [f"{mark} {word}", cls],
            ]
        )
        if check.reason:
            lines.append([[f"    {visible(check.reason)}", "dim"]])
    if len(shown) > _SHOWN_CHECKS:
        lines.append([[f"  … and {len(shown) - _SHOWN_CHECKS} more", ""]])
    if unchecked and unchecked[0].reason:
        lines.append([[f"  {visible(unchecked[0].reason)}", "dim"]])
    return lines


def _program_line(program: Program) -> str:
    """The program on one line, as the app's top bar shows it (comments left out)."""
    written = statements(program.source)
    if len(written) > 6:
        return visible(f"({len(written)} statements) … {written[-1]}")
    return visible("; ".join(written))


# --- the page ---------------------------------------------------------------------------------


PREVIEW_CELLS = 40_000
"""Drawings up to this many characters are also written as markup: a front end that runs no
script (an untrusted notebook, a notebook viewer) still shows the graph at the start."""


def pack(model: Mapping[str, Any]) -> str:
    """The model as the page carries it: JSON, deflated (raw, as zlib level 9), in base64.

    Deflate is what keeps large graphs small: a drawing repeats itself (box borders, wires)
    and so do its steps (the same edges light up in every pass); the browser inflates it with
    its own ``DecompressionStream``, so the page loads no library. A few hundred bytes of the
    page are lost to base64, and the file's data cannot be read without inflating it: the
    numbers are there for a script (see :func:`unpack`), the page shows them."""
    text = json.dumps(model, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    raw = packer.compress(text.encode("utf-8")) + packer.flush()
    return base64.b64encode(raw).decode("ascii")


def unpack(packed: str) -> dict[str, Any]:
    """The model back from :func:`pack` (for tests, and for anyone who wants the numbers)."""
    raw = zlib.decompress(base64.b64decode(packed), -15)
    data: dict[str, Any] = json.loads(raw.decode("utf-8"))
    return data


def _preview(model: Mapping[str, Any]) -> str:
    """The drawing's first state as markup, one ``<div>`` per row and a ``<span>`` per style
    run, for front ends that run no script (the script draws from the data and replaces it)."""
    if model["width"] * model["height"] > PREVIEW_CELLS:
        return ""
    classes = model["styles"]
    out = []
    for text, runs in model["base"]:
        parts = []
        x = 0
        for i in range(0, len(runs), 2):
            style, n = runs[i], runs[i + 1]
            piece = escape(text[x : x + n], quote=False)
            x += n
            if style and classes[style]:
                parts.append(f'<span class="{classes[style]}">{piece}</span>')
            else:
                parts.append(piece)
        out.append("<div>" + "".join(parts) + "</div>")
    return "".join(out)


def _segments_markup(line: Sequence[Sequence[str]]) -> str:
    out = []
    for text, cls in line:
        text = escape(text.replace("{p}", "1").replace("{q}", "0"), quote=False)
        out.append(f'<span class="sg-{cls}">{text}</span>' if cls else text)
    return "".join(out)


_NO_SCRIPT = (
    "Stepping needs the page's script: in a notebook, run the cell again or trust the notebook "
    "(JupyterLab: File ▸ Trust Notebook); a browser needs DecompressionStream (2023 or later)."
)


def fragment(model: Mapping[str, Any], *, uid: str | None = None) -> str:
    """The stepper as an HTML fragment (style, markup, data, script) for a notebook output or a
    page's body. ``uid`` makes its element id unique (random by default): several steppers on
    one page, or in one notebook, never share state; the script keeps everything in its own
    closure and defines no global."""
    keys = "keys" if uid == "page" else "keys (click here first)"  # see SCRIPT: the page
    uid = uid or secrets.token_hex(6)
    root = f"sg-{uid}"
    start = model["scenes"]["fresh"]["start"]
    panel = "".join(f"<div>{_segments_markup(line)}</div>" for line in start)
    total = model["total"]
    title = escape(model["title"])
    program = escape(model["program"], quote=False)
    warnings = "".join(  # a page is read far from the terminal that printed them
        f'<div class="sg-warning">warning: {escape(line, quote=False)}</div>'
        for line in model.get("warnings", ())
    )
    buttons = "".join(
        f'<button type="button" data-act="{act}" title="{tip}">{label}</button>'
        for act, label, tip in (
            ("home", "⇤ Home", "Start of this pass (Home)"),
            ("prev", "← Back", "Previous step (← or h)"),
            ("next", "Next →", "Next step (→, l or space)"),
            ("end", "End ⇥", "End of this pass (End)"),
            ("zero", "z zero_grad", "zero_grad(): every grad becomes 0 (z)"),
            ("again", "b another pass", "After a pass: backward again, on top of the grads (b)"),
            ("look", "◐", "Dark or light look"),
        )
    )
    return (
        f'<div class="stepgrad" id="{root}" tabindex="0" data-lm-suppress-shortcuts="true" '
        f'data-p-suppress-shortcuts="true" aria-label="stepgrad: {title}">'
        f"<style>{CSS}</style>"
        f'<div class="sg-top"><span class="sg-acc">stepgrad</span> '
        f'<span class="sg-b">{title}</span> <span class="sg-dim">·</span> '
        f'<span class="sg-program">{program}</span>'
        f' <span class="sg-dim">=</span> <span class="sg-b">{escape(model["output"])}</span></div>'
        f"{warnings}"
        f'<div class="sg-status" aria-live="polite">pass 1 · step 0 of {total} · not started</div>'
        f'<div class="sg-bar" role="toolbar">{buttons}'
        f'<span class="sg-keys">{keys}: ← → Home End z b</span></div>'
        f'<div class="sg-noscript">{escape(_NO_SCRIPT, quote=False)}</div>'
        f'<div class="sg-graph"><div class="sg-canvas">{_preview(model)}</div></div>'
        f'<div class="sg-title-line">pass 1 · step 0 of {total} · nothing fired yet</div>'
        f'<div class="sg-panel">{panel}</div>'
        f'<script type="text/plain" class="sg-data">{pack(model)}</script>'
        "<script>" + SCRIPT.replace("__ROOT__", root) + "</script>"
        "</div>"
    )


def document(model: Mapping[str, Any]) -> str:
    """The whole page for ``--html FILE``: opens with a double-click, needs no network."""
    title = escape(model["title"], quote=False)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="generator" content="stepgrad">'
        f"<title>stepgrad · {title}</title>"
        "<style>html,body{margin:0;padding:0}body{padding:12px}"
        "@media (prefers-color-scheme: dark){html{background:#101216}}</style>"
        f"</head><body>{fragment(model, uid='page')}</body></html>\n"
    )


class Page(str):
    """The page :func:`stepgrad.html` returns: the HTML text itself (compare it, search it,
    slice it, write it), whose ``repr`` is one short line, ``<stepgrad page: 31 kB, written to
    neuron.html>``. A notebook cell ending in ``stepgrad.html(o, "neuron.html")`` shows that
    line, not half a megabyte of markup (IPython prints a str subclass by its own ``repr``).

    Attributes:
        path: the file it was written to, as given, or None.
    """

    path: str | None

    def __new__(cls, text: str, path: str | None = None) -> Page:
        page = super().__new__(cls, text)
        page.path = path
        return page

    def __repr__(self) -> str:
        size = f"{len(self.encode()) / 1000:,.0f} kB"
        where = f", written to {self.path}" if self.path is not None else ""
        return f"<stepgrad page: {size}{where}>"


class Notebook:
    """The inline stepper, displayed by Jupyter from its mime bundle: ``text/html`` is the
    stepper, ``text/plain`` one line for front ends that show no HTML (and for a terminal)."""

    def __init__(self, model: Mapping[str, Any]) -> None:
        self.model = model

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        model = self.model
        steps = "1 step" if model["total"] == 1 else f"{model['total']} steps"
        plain = (
            f"stepgrad: {model['title']} = {model['output']}, {steps} "
            "(an HTML stepper: shown by Jupyter, VS Code or a browser)"
        )
        return {"text/html": fragment(model), "text/plain": plain}
