"""Options given twice: Typer keeps the last value of a single-valued option without a word, so
`--config a.yaml --config b.yaml` ran on b.yaml alone. Such a line is refused instead; options
meant to repeat (`--param`) repeat as before."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any


def repeated_option(command: Any, args: Sequence[str]) -> str | None:
    """The first single-valued option given more than once on `args` for the (click) command
    they name, or None; None too when the line cannot be parsed (the command itself then says
    what is wrong with it)."""
    try:
        ctx = command.context_class(command, info_name="aitrader")
        rest = list(args)
        while hasattr(command, "get_command"):  # a group: its subcommand names the next
            names = [a for a in rest if not a.startswith("-")]
            if not names:
                return None
            found = command.get_command(ctx, names[0])
            if found is None:
                return None
            rest = rest[rest.index(names[0]) + 1:]
            command = found
            ctx = command.context_class(command, info_name=names[0], parent=ctx)
        _opts, _args, order = command.make_parser(ctx).parse_args(args=rest)
    except Exception:  # a usage error: the real parse reports it
        return None
    # a value, or one side of an on/off pair (--allow-short --long-only: the last won); a plain
    # flag given twice (--json --json) loses nothing
    counts = Counter(p for p in order if getattr(p, "param_type_name", "") == "option"
                     and not p.multiple and not p.count
                     and (not p.is_flag or p.secondary_opts))
    twice = [p for p, n in counts.items() if n > 1]
    if not twice:
        return None
    if twice[0].secondary_opts:
        return "/".join((max(twice[0].opts, key=len), max(twice[0].secondary_opts, key=len)))
    return str(max(twice[0].opts, key=len))
