"""Textual's command palette, safe against keys that arrive together.

A terminal delivers what the user typed quickly (or a key held down, or a macro) in one read, so
the palette gets keys before it has drawn itself or after it has closed. Three of Textual 8.2.8's
palette paths crash the app then:

``ctrl+p`` then ``pagedown`` / ``pageup`` in one write: ``KeyError: 0``
    The binding calls ``OptionList.action_page_down``, which looks up the highlighted option's
    line in ``_index_to_line``. That table is filled when the list is laid out, and the list has
    no size yet (it is shown a frame later), so it is empty.

typing, then ``escape``, in one write: ``NoMatches: No nodes match 'CommandList'``
    Each key typed starts a search (a worker), and so does the palette when it is mounted; a
    search started after ``escape`` cancelled the others runs on after the palette has
    closed, and looks up or fills the list of a palette whose widgets are gone. The same when
    the app quits with the palette open. (Found by the monkey test.)

``ctrl+p``, ``enter``, ``enter`` in one write: ``ScreenStackError``
    Each ``enter`` makes the palette's input post ``Input.Submitted`` before either is handled.
    The first runs the command and dismisses the palette; the second dismisses it again, which
    pops the screen below it (the app's only screen: ``ScreenStackError``; over the help screen
    it would silently close that one too), and would run the command a second time.

:class:`SafePalette` ignores a page move while the list has no size (nothing is shown to move
through yet), a search that starts or ends after it has closed, and any submission that
reaches it after it has closed. (The app also gives it no fixed id: see
:meth:`stepgrad.app.StepgradApp.action_command_palette`.)
"""

from __future__ import annotations

from textual import on, work
from textual.command import Command, CommandList, CommandPalette
from textual.css.query import NoMatches
from textual.widgets import Button, Input, OptionList

__all__ = ["SafePalette"]


class SafePalette(CommandPalette):
    """The command palette, with keys that arrive together handled (see the module)."""

    def _action_command_list(self, action: str) -> None:
        if action in ("page_up", "page_down"):
            commands = self.query_one(CommandList)
            if not commands.scrollable_content_region:  # not laid out yet: no pages to move by
                return
        super()._action_command_list(action)

    def closing(self) -> bool:
        """Whether this palette is on its way out: closed, or the app is quitting (then its
        widgets are removed while it is still the screen on top)."""
        return not self.is_active or self.app._exit

    @work(exclusive=True, group=CommandPalette._GATHER_COMMANDS_GROUP)
    async def _gather_commands(self, search_value: str) -> None:
        """Textual's search, not started for a palette that is closing, and quiet if the
        palette closes while it runs (its first step looks up the list, which is gone)."""
        if self.closing():
            return
        search = CommandPalette._gather_commands.__wrapped__  # type: ignore[attr-defined]
        try:
            await search(self, search_value)
        except NoMatches:
            if not self.closing():
                raise  # not the closing race: a real bug, for the app to report

    def _refresh_command_list(
        self, command_list: CommandList, commands: list[Command], clear_current: bool
    ) -> None:
        if self.closing():  # closed while the search ran: nothing left to show it in
            return
        super()._refresh_command_list(command_list, commands, clear_current)

    @on(Input.Submitted)
    @on(Button.Pressed)
    @on(OptionList.OptionSelected)
    def _drop_when_closed(
        self, event: Input.Submitted | Button.Pressed | OptionList.OptionSelected
    ) -> None:
        """A selection that was typed ahead and arrives after the palette closed does nothing
        (runs before :class:`CommandPalette`'s own handlers, which then do not run)."""
        if not self.is_active:
            event.stop()
            event.prevent_default()
