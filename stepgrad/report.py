"""``stepgrad --print``: the backward pass as step-by-step tables, for handouts and terminals."""

from __future__ import annotations

from typing import TextIO

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from engine import Step, Trace, Value
from engine.check import check_gradients
from engine.numbers import format_number
from engine.parse import Program

from .explain import edge_note, partial

__all__ = ["edge_note", "partial", "print_trace"]


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """The reader closed the pipe (``| head``): it has what it wanted, so that is success."""
        self.quiet = True
        raise BrokenPipeError  # the CLI's entry point silences stdout and exits 0


def _console(out: TextIO) -> Console:
    terminal = out.isatty()
    return _Console(
        file=out,
        width=None if terminal else 200,
        highlight=False,
        soft_wrap=False,
        force_terminal=terminal,
    )


def _step_table(program: Program, step: Step, fresh: set[Value]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, expand=False)
    table.add_column("edge", style="bold", no_wrap=True)
    table.add_column("local derivative", no_wrap=True)
    table.add_column("local", justify="right", no_wrap=True)
    table.add_column("upstream × local = contribution", no_wrap=True)
    table.add_column("grad before → after", no_wrap=True)
    table.add_column("then", style="dim", no_wrap=True)
    for edge in step.edges:
        before = "—" if edge.parent in fresh else format_number(edge.grad_before)
        fresh.discard(edge.parent)
        symbolic = program.formula(step, edge)
        numeric = program.formula(step, edge, numbers=True)
        formula = f"{partial(program, step.node, edge.parent)} = {symbolic}"
        if numeric != symbolic:
            formula += f" = {numeric}"
        table.add_row(
            program.name(edge.parent),
            formula,
            format_number(edge.local),
            f"{format_number(step.upstream)} × {format_number(edge.local)}"
            f" = {format_number(edge.contribution)}",
            Text.assemble(before, " → ", (format_number(edge.grad_after), "bold")),
            edge_note(edge),
        )
    return table


def print_trace(program: Program, trace: Trace, out: TextIO) -> None:
    """Print the program, its forward values, every step of ``trace`` and the final grads."""
    console = _console(out)
    output = program.output
    one_line = "; ".join(
        line.strip() for line in program.source.strip().splitlines() if line.strip()
    )
    console.print(Text.assemble(("program  ", "bold"), one_line))
    if program.inputs:
        inputs = ", ".join(f"{n} = {format_number(v.data)}" for n, v in program.inputs.items())
        console.print(Text.assemble(("inputs   ", "bold"), inputs))
    console.print(
        Text.assemble(
            ("forward  ", "bold"),
            f"{program.name(output)} = ",
            (format_number(output.data), "bold"),
        )
    )
    console.print()
    steps = trace.steps
    if not steps:
        console.print("The output is a leaf: its grad is 1 and there is nothing to propagate.")
    else:
        console.print(
            Text.assemble(
                ("backward pass", "bold"),
                f": {len(steps)} steps. A node fires once every consumer has sent it its grad;",
                " it then sends upstream × local along each edge, and each input's grad += that.",
            )
        )
    fresh = {node for node in program.nodes() if node.grad == trace.grads.get(node, 0.0)}
    fresh.discard(output)
    for number, step in enumerate(steps, start=1):
        console.print()
        console.print(
            Text.assemble(
                (f"step {number} of {len(steps)}", "bold reverse"),
                "  ",
                (program.describe(step.node), "bold"),
                " fires, upstream ",
                f"{partial(program, output, step.node)} = ",
                (format_number(step.upstream), "bold"),
            )
        )
        console.print(_step_table(program, step, fresh))
    console.print()
    console.print(Text("grads after the pass", style="bold"))
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column("name", style="bold")
    table.add_column("data", justify="right")
    table.add_column("grad", justify="right")
    shown = list(program.inputs.values()) + [
        node for node in program.names.values() if node not in program.inputs.values()
    ]
    if output not in shown:
        shown.append(output)
    for node in shown:
        table.add_row(program.name(node), format_number(node.data), format_number(node.grad))
    console.print(table)
    _print_gradient_check(program, console)


def _print_gradient_check(program: Program, console: Console) -> None:
    """Each input's grad beside a central finite difference, so the numbers can be trusted."""
    checks = check_gradients(program.output, program.inputs)
    if not checks:
        return
    console.print()
    console.print(
        Text.assemble(
            ("gradient check", "bold"),
            ": each input's grad against (f(x+h) - f(x-h)) / 2h with h = 1e-6",
        )
    )
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column("input", style="bold")
    table.add_column("backprop", justify="right")
    table.add_column("finite difference", justify="right")
    table.add_column("")
    for check in checks:
        if check.numeric is None:
            table.add_row(check.name, format_number(check.grad), "undefined", "? at a domain edge")
            continue
        verdict = ("✓ agree", "green") if check.agree else ("✗ DIFFER", "bold red")
        table.add_row(
            check.name,
            format_number(check.grad),
            format_number(check.numeric),
            Text(*verdict),
        )
    console.print(table)
