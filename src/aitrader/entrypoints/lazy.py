"""A command group whose sub-commands are defined only when one of them is used.

Click's LazyGroup recipe, for Typer: the group knows each lazy sub-command's name and one-line
help, and a function that attaches it (importing its module) to a parent Typer. `aitrader
--help` lists them from that help alone; running one imports its module and nothing else's, so
`aitrader runs list` never loads the signal kernels, the model fits or the exchange calendar.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from difflib import get_close_matches
from typing import ClassVar, NamedTuple

import typer
from typer._click import Command, Context, HelpFormatter
from typer._click.exceptions import UsageError
from typer.core import TyperCommand, TyperGroup


class LazyCommand(NamedTuple):
    """A sub-command defined elsewhere: its help for the listing, and how to attach it."""

    help: str
    attach: Callable[[typer.Typer], None]  # defines the command on the given parent Typer


class LazyGroup(TyperGroup):
    """A TyperGroup that attaches its `lazy` sub-commands on first use, listed in `order`."""

    lazy: ClassVar[Mapping[str, LazyCommand]] = {}
    order: ClassVar[Sequence[str]] = ()

    def list_commands(self, ctx: Context) -> list[str]:
        names = [*super().list_commands(ctx), *(n for n in self.lazy if n not in self.commands)]
        return sorted(names, key=lambda n: self.order.index(n) if n in self.order else len(names))

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is not None or cmd_name not in self.lazy:
            return found
        parent = typer.Typer(rich_markup_mode=self.rich_markup_mode)
        self.lazy[cmd_name].attach(parent)
        command = typer.main.get_group(parent).get_command(ctx, cmd_name)
        if command is not None:
            self.add_command(command, cmd_name)
        return command

    def format_commands(self, ctx: Context, formatter: HelpFormatter) -> None:
        """List every sub-command as TyperGroup does, the lazy ones by their declared help
        (without importing them)."""
        rows: list[tuple[str, Command]] = []
        for name in self.list_commands(ctx):
            if name in self.lazy and name not in self.commands:
                rows.append((name, TyperCommand(name, help=self.lazy[name].help)))
                continue
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command))
        if not rows:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in rows)
        shown = [(name, command.get_short_help_str(limit)) for name, command in rows]
        with formatter.section("Commands"):
            formatter.write_dl(shown)

    def resolve_command(self, ctx: Context,
                        args: list[str]) -> tuple[str | None, Command | None, list[str]]:
        # TyperGroup suggests close names among the commands it holds: suggest among all
        suggest, self.suggest_commands = self.suggest_commands, False
        try:
            return super().resolve_command(ctx, args)
        except UsageError as error:
            matches = get_close_matches(args[0], self.list_commands(ctx)) if args else []
            if suggest and matches:
                suggestions = ", ".join(f"{m!r}" for m in matches)
                error.message = f"{error.message.rstrip('.')}. Did you mean {suggestions}?"
            raise
        finally:
            self.suggest_commands = suggest
