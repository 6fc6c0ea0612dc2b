"""The predict screen: before a step is revealed, type the grad each parent will hold after it.

Shown over the main screen in predict mode. It says which node fires next and its upstream grad
(both already visible in the graph), and asks one question per parent that receives a gradient
(see :mod:`stepgrad.predict`: a parent reached twice, as in ``x * x``, is asked once, for its grad
after both edges). Keys:

- ``enter`` in an answer moves to the next one; on the last one (or ``ctrl+s``, or the Check
  button) it checks every answer. An answer that cannot be read (``abc``, ``1/0``) gets its
  message under it and nothing is judged yet: a typo costs nothing, and the expected values stay
  hidden until every answer can be read.
- Once checked, each answer is marked ``✓ right`` or ``✗ wrong`` with the expected value and the
  working; ``enter`` or ``→`` dismisses with a :class:`~stepgrad.predict.PredictResult`, and the
  main screen reveals the step and counts the answers.
- ``esc`` before checking *skips*: it dismisses with None, and the main screen reveals the step
  without scoring it (the step was asked for with ``→``; ``←`` takes it back). After checking,
  ``esc`` dismisses with the result like ``enter``: answers seen to be wrong still count.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Static

from stepgrad.predict import (
    Answer,
    Hints,
    Prediction,
    PredictResult,
    Question,
    Score,
    exact,
    prediction_for,
)
from stepgrad.state import Walkthrough

__all__ = ["PredictScreen"]

SHORT = 30
"""Below this height the dialog's spacing goes and its answers scroll within what it leaves."""
TINY = 16
"""Below this height the line on how to type an answer is left out (the placeholder shows it),
so the answers, the verdict and the buttons keep their rows."""


def _you(answer: Answer) -> str:
    """What was typed, and what it reads as if that is not the same text: ``1/8 = 0.125``."""
    value = exact(answer.value)
    return answer.text if answer.text == value else f"{answer.text} = {value}"


class PredictScreen(ModalScreen[PredictResult | None]):
    """Predict the grads of the next step; dismisses with the checked answers, or None (skip).

    Args:
        walk: the walkthrough (its next step is asked about) or a ready :class:`Prediction`.
        score: the score so far, to show it with this step's answers once checked (not changed:
            the main screen records the result).
    """

    BINDINGS = [
        Binding("ctrl+s", "check", "Check", tooltip="Check every answer (enter on the last one)",
                priority=True),
        Binding("right,enter,escape", "reveal", "Reveal the step", key_display="→",
                tooltip="Reveal the step; its answers count", priority=True),
        Binding("escape", "skip", "Skip", key_display="esc",
                tooltip="Reveal the step without predicting it (not scored)"),
        Binding("down", "scroll(1)", "Scroll", key_display="↑↓",
                tooltip="Scroll the answers and their working"),
        Binding("up", "scroll(-1)", "Scroll up", show=False),
    ]  # fmt: skip

    DEFAULT_CSS = """
    PredictScreen {
        align: center bottom;
        background: $background 40%;
    }
    PredictScreen #predict-box {
        width: 92;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: round $accent;
        border-title-style: bold;
        background: $surface;
        padding: 0 1;
    }
    PredictScreen #predict-head { height: auto; margin-bottom: 1; }
    PredictScreen #predict-questions { height: auto; }
    PredictScreen .predict-row { height: auto; }
    PredictScreen .predict-label { width: auto; max-width: 70%; height: auto; }
    PredictScreen .predict-input {
        width: 1fr;
        min-width: 12;
        max-width: 32;
        margin-left: 1;
        background: $boost;
    }
    PredictScreen .predict-input:focus { background-tint: $accent 25%; }
    PredictScreen .predict-feedback { height: auto; margin-bottom: 1; }
    PredictScreen .predict-feedback.-empty { display: none; }
    PredictScreen #predict-summary { height: auto; }
    PredictScreen #predict-summary.-empty { display: none; }
    PredictScreen #predict-actions { height: 1; margin-top: 1; }
    PredictScreen #predict-actions Button { margin-right: 2; }
    /* short: as tall as what it holds, at most the screen; the answers scroll within the
       rows left over, so a question or two leave the graph in view */
    PredictScreen.-short #predict-head { margin-bottom: 0; }
    PredictScreen.-short #predict-questions { height: auto; max-height: 1fr; }
    /* tiny: every row counts, the dialog takes the screen and the answers what is left */
    PredictScreen.-tiny #predict-box { height: 100%; }
    PredictScreen.-tiny #predict-questions { height: 1fr; }
    PredictScreen.-short .predict-feedback { margin-bottom: 0; }
    PredictScreen.-short #predict-actions { margin-top: 0; }
    PredictScreen #predict-hint { height: auto; }
    PredictScreen.-tiny #predict-hint { display: none; }
    PredictScreen.-checked #predict-hint { display: none; }
    """

    def __init__(self, walk: Walkthrough | Prediction, *, score: Score | None = None) -> None:
        super().__init__()
        prediction = prediction_for(walk) if isinstance(walk, Walkthrough) else walk
        if prediction is None:
            raise ValueError("no step left to predict: the pass is over")
        self.prediction: Prediction = prediction
        self.questions: tuple[Question, ...] = prediction.questions
        self.hints: Hints = prediction.hints
        """Example numbers for the placeholder and messages: none gives an answer away."""
        self.score = score
        self.result: PredictResult | None = None
        """The checked answers, once checked."""
        self.errors: dict[int, str] = {}
        """The message under each answer that could not be read at the last check."""
        self.closing = False
        """Dismissed already (see :meth:`_close`)."""
        self._pending: tuple[PredictResult | None] | None = None
        """A close asked for while another screen was over this one: ``(result,)``."""

    @property
    def checked(self) -> bool:
        return self.result is not None

    # --- layout ---------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        p = self.prediction
        with Vertical(id="predict-box") as box:
            box.border_title = f"predict · step {p.number} of {p.total}"
            box.border_subtitle = self._keys()
            yield Static(self._head(), id="predict-head")
            yield Static(self._hint(), id="predict-hint")
            with VerticalScroll(id="predict-questions", can_focus=False):
                for i, question in enumerate(self.questions):
                    with Horizontal(classes="predict-row"):
                        yield Static(self._label(question), classes="predict-label")
                        yield Input(
                            placeholder=f"e.g. {self.hints.fraction}",
                            id=f"answer-{i}",
                            classes="predict-input",
                            compact=True,
                        )
                    yield Static("", id=f"feedback-{i}", classes="predict-feedback -empty")
            yield Static("", id="predict-summary", classes="-empty")
            with Horizontal(id="predict-actions"):
                yield Button("Check", id="predict-check", variant="primary", compact=True)
                yield Button("Skip", id="predict-skip", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self._fit(self.size.height)
        if self.closing:  # closed (keys typed ahead) before it was even mounted
            return
        target = self.query("#answer-0" if self.questions else "#predict-check")
        if target:
            target.first().focus()

    def on_resize(self, event: Any) -> None:
        self._fit(event.size.height)

    def _fit(self, height: int) -> None:
        self.set_class(height < SHORT, "-short")
        self.set_class(height < TINY, "-tiny")
        self.call_after_refresh(self.refresh_bindings)  # whether the answers scroll: ↑↓

    # --- text -----------------------------------------------------------------------------------

    def _keys(self) -> str:
        if self.checked:
            return "enter / → reveal the step"
        return "enter next / check · esc skip"

    def _head(self) -> Content:
        p = self.prediction
        lines = [
            Content.assemble(
                (p.describe, "bold"),
                " fires next · upstream ",
                (p.upstream_text, "bold"),
            )
        ]
        if p.values:
            lines.append(Content.assemble(("values: ", "$text-muted"), p.values_text))
        if not self.questions:
            lines.append(
                Content("This step sends no gradient (its inputs are constants): nothing to ask.")
            )
        return Content("\n").join(lines)

    def _hint(self) -> Content:
        """How to type an answer (left out when the dialog is tiny, and once checked)."""
        if not self.questions:
            return Content("")
        return Content.styled(
            f"Type each grad after this step: a number, {self.hints.fraction} or "
            f"{self.hints.product}; three significant digits are enough.",
            "$text-muted",
        )

    def _label(self, question: Question) -> Content:
        extra = ""
        if len(question.edges) > 1:
            extra = f", gets {len(question.edges)} contributions"
        return Content.assemble(
            "grad of ",
            (question.name, "bold"),
            " after this step",
            (f" (now {question.now}{extra})", "$text-muted"),
            ":",
        )

    def _feedback(self, answer: Answer) -> Content:
        expected = exact(answer.question.expected)
        if answer.right:
            verdict = Content.assemble(("✓ right", "bold $text-success"), f": {_you(answer)}")
            if exact(answer.value) != expected:
                verdict += Content.styled(f" (exactly {expected})", "$text-muted")
        else:
            verdict = Content.assemble(
                ("✗ wrong", "bold $text-error"),
                f": you typed {_you(answer)}; expected ",
                (expected, "bold"),
            )
        working = [Content.styled(f"  {line}", "$text-muted") for line in answer.question.working()]
        return Content("\n").join([verdict, *working])

    def _summary(self) -> Content:
        if self.result is None:
            count = len(self.errors)
            s = "" if count == 1 else "s"
            return Content.styled(
                f"{count} answer{s} to fix before checking (esc skips this step)", "$text-warning"
            )
        right, asked = self.result.right, self.result.asked
        mark = ("✓ ", "bold $text-success") if right == asked else ("✗ ", "bold $text-error")
        parts: list[Content | str | tuple[str, str]] = [mark, (f"{right} of {asked} right", "bold")]
        if self.score is not None:
            parts.append(f" · {self.score.after(self.result).text}")
        parts.append((" · enter or → reveals the step", "$text-muted"))
        return Content.assemble(*parts)

    # --- actions --------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("check", "skip"):
            return not self.checked  # False: hidden from the footer, and the key falls through
        if action == "reveal":
            return self.checked
        if action == "scroll":  # offered only when the answers do not all fit
            return self.query_one("#predict-questions", VerticalScroll).max_scroll_y > 0
        return True

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        index = int((event.input.id or "answer-0").rsplit("-", 1)[1])
        if index < len(self.questions) - 1:
            self.query_one(f"#answer-{index + 1}", Input).focus()
        else:
            self.action_check()

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        """Editing an answer clears its old message."""
        index = int((event.input.id or "answer-0").rsplit("-", 1)[1])
        if index in self.errors and not self.checked:
            del self.errors[index]
            self._show(index, None)

    @on(Button.Pressed, "#predict-check")
    def _check_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if self.closing:
            return
        if self.checked:
            self.action_reveal()
        else:
            self.action_check()

    @on(Button.Pressed, "#predict-skip")
    def _skip_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_skip()

    def action_check(self) -> None:
        """Read every answer; judge them all only if all can be read."""
        if self.checked:
            return
        answers: list[Answer] = []
        self.errors = {}
        for i, question in enumerate(self.questions):
            text = self.query_one(f"#answer-{i}", Input).value
            try:
                answers.append(question.check(text, self.hints))
            except ValueError as err:
                self.errors[i] = str(err)
        if self.errors:
            for i in range(len(self.questions)):
                self._show(i, self.errors.get(i))
            self.query_one(f"#answer-{min(self.errors)}", Input).focus()
            return
        self.result = PredictResult(self.prediction.key, tuple(answers))
        for i, answer in enumerate(answers):
            box = self.query_one(f"#answer-{i}", Input)
            box.disabled = True
            feedback = self.query_one(f"#feedback-{i}", Static)
            feedback.update(self._feedback(answer))
            feedback.set_class(False, "-empty")
        summary = self.query_one("#predict-summary", Static)
        summary.update(self._summary())
        summary.set_class(False, "-empty")
        self.query_one("#predict-skip", Button).display = False
        self.add_class("-checked")
        button = self.query_one("#predict-check", Button)
        button.label = "Reveal →"
        button.focus()
        self.query_one("#predict-box", Vertical).border_subtitle = self._keys()
        self.query_one("#predict-questions", VerticalScroll).scroll_home(animate=False)
        self.refresh_bindings()
        self.call_after_refresh(self.refresh_bindings)  # the working may not fit: ↑↓

    def _show(self, index: int, error: str | None) -> None:
        feedback = self.query_one(f"#feedback-{index}", Static)
        answer = self.query_one(f"#answer-{index}", Input)
        answer.set_class(error is not None, "-invalid")
        if error is None:
            feedback.update("")
            feedback.set_class(True, "-empty")
        else:
            feedback.update(Content.assemble(("⚠ ", "bold $text-error"), (error, "$text-error")))
            feedback.set_class(False, "-empty")
        summary = self.query_one("#predict-summary", Static)
        if self.errors:
            summary.update(self._summary())
        summary.set_class(not self.errors, "-empty")

    def action_reveal(self) -> None:
        """Dismiss with the checked answers: the main screen reveals the step and scores them."""
        if self.result is not None:
            self._close(self.result)

    def action_skip(self) -> None:
        """Reveal the step without scoring it: dismiss with None (before checking only)."""
        if self.result is None:
            self._close(None)

    def _close(self, result: PredictResult | None) -> None:
        """Dismiss once, and only while this dialog is the top screen.

        Keys that arrive together (enter on Skip, then esc) must not dismiss a screen that is
        already leaving the stack. And a press of Check / Skip is handled in this screen's own
        time, after the key or click that made it: a screen may have opened over the dialog
        meanwhile (the palette of a ``ctrl+p`` typed right after: the monkey test met it).
        Textual's ``dismiss`` pops whatever screen is on top, so it would close that one and
        leave this dialog behind, marked closing, with no key able to close it. Then the close
        waits until the dialog is on top again (:meth:`on_screen_resume`).
        """
        if self.closing:
            return
        if self.app.screen is not self:
            if self._pending is None:  # the first answer given stands
                self._pending = (result,)
            return
        self._pending = None
        self.dismiss(result)
        self.closing = True

    def on_screen_resume(self) -> None:
        """On top again (the screen over it closed): a close that had to wait happens now,
        after Textual has finished resuming this screen."""
        if self._pending is not None:
            self.call_later(self._close_pending)

    def _close_pending(self) -> None:
        if self._pending is not None:
            self._close(self._pending[0])

    def action_scroll(self, direction: int) -> None:
        questions = self.query_one("#predict-questions", VerticalScroll)
        if direction < 0:
            questions.scroll_up(animate=False)
        else:
            questions.scroll_down(animate=False)
