"""`aitrader runs list` and `aitrader runs show`: reading the journal."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from returns.result import Failure

from aitrader.domain.audit import RunInfo
from aitrader.entrypoints.container import JournalUnavailableError, open_journal
from aitrader.entrypoints.session import RunFailedError, UserError

JournalUrlFn = Callable[[str | None, Path | None], str]


def _info_dict(info: RunInfo) -> dict[str, Any]:
    m, s = info.manifest, info.summary
    return {
        "run_id": m.run_id, "mode": m.mode, "strategy": m.strategy,
        "symbols": [str(x) for x in m.symbols], "started_at": m.started_at.isoformat(),
        "data_digest": m.data_digest, "code_version": m.code_version, "config": m.config,
        "status": s.status if s else "running",
        "finished_at": s.finished_at.isoformat() if s else None,
        "bars": s.bars if s else None, "digest": s.digest if s else None,
        "decisions_digest": s.decisions_digest if s else None,
        "metrics": dict(s.metrics) if s else {},
    }


def _missing_sqlite_file(url: str) -> Path | None:
    """The path of a SQLite journal URL whose file does not exist, else None."""
    if not url.startswith("sqlite:///") or ":memory:" in url:
        return None
    path = Path(url.removeprefix("sqlite:///").split("?", 1)[0])
    return None if path.exists() else path


def register(runs_app: typer.Typer, journal_url: JournalUrlFn) -> None:
    """Attach the runs commands to the runs group."""

    def journal_for(journal: str | None, config: Path | None) -> Any:
        url = journal_url(journal, config)
        missing = _missing_sqlite_file(url)
        if missing is not None:  # reading never creates a journal where a typo points
            raise UserError(f"no journal at {missing} (run `aitrader backtest` first, or pass "
                            "--journal)")
        try:
            return open_journal(url)
        except JournalUnavailableError as error:
            raise RunFailedError(str(error)) from None

    @runs_app.command("list")
    def runs_list(
        journal: Annotated[str | None, typer.Option("--journal", help="Journal URL.")] = None,
        config: Annotated[Path | None, typer.Option("--config", help="YAML config.")] = None,
        limit: Annotated[int, typer.Option("--limit", min=1, help="How many runs.")] = 20,
        as_json: Annotated[bool, typer.Option("--json", help="JSON list on stdout.")] = False,
    ) -> None:
        """List the most recent runs, newest first."""
        listed = journal_for(journal, config).runs(limit)
        if isinstance(listed, Failure):
            raise RunFailedError(str(listed.failure()))
        infos = [_info_dict(i) for i in listed.unwrap()]
        if as_json:
            print(json.dumps(infos, default=str))
            return
        if not infos:
            print("no runs yet: try `aitrader backtest`")
            return
        print(f"{'run_id':<18} {'started (UTC)':<20} {'mode':<9} {'strategy':<10} "
              f"{'bars':>8} {'return':>9} {'status':<9} symbols")
        for i in infos:
            ret = i["metrics"].get("total_return")
            shown = f"{ret * 100:.2f}%" if isinstance(ret, int | float) else "-"
            print(f"{i['run_id']:<18} {i['started_at'][:19]:<20} {i['mode']:<9} "
                  f"{i['strategy']:<10} {i['bars'] or 0:>8} {shown:>9} {i['status']:<9} "
                  f"{','.join(i['symbols'])}")

    @runs_app.command("show")
    def runs_show(
        run_id: Annotated[str, typer.Argument(help="The run id (from `aitrader runs list`).")],
        journal: Annotated[str | None, typer.Option("--journal", help="Journal URL.")] = None,
        config: Annotated[Path | None, typer.Option("--config", help="YAML config.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="JSON object on stdout.")] = False,
    ) -> None:
        """Show one run: manifest, digests, metrics and counts."""
        store = journal_for(journal, config)
        found = store.run(run_id)
        if isinstance(found, Failure):
            error = found.failure()
            if error.code == "unknown_run":
                raise UserError(f"no run {run_id!r} in the journal (see `aitrader runs list`)")
            raise RunFailedError(str(error))
        info = _info_dict(found.unwrap())
        orders, fills = store.orders(run_id), store.fills(run_id)
        decisions = store.decisions(run_id)
        info["counts"] = {
            "decisions": len(decisions.value_or([])), "orders": len(orders.value_or([])),
            "fills": len(fills.value_or([])),
        }
        if as_json:
            print(json.dumps(info, default=str))
            return
        for key in ("run_id", "status", "mode", "strategy", "symbols", "started_at",
                    "finished_at", "bars", "digest", "decisions_digest", "data_digest",
                    "code_version"):
            value = info[key]
            print(f"{key:<17} {','.join(value) if isinstance(value, list) else value}")
        print(f"{'counts':<17} {info['counts']}")
        for key, value in info["metrics"].items():
            print(f"  {key:<24} {value}")
        print(f"{'config':<17} {json.dumps(info['config'], sort_keys=True, default=str)}")
