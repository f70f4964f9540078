"""`aitrader risk status|halt|reduce|resume|kill`: the durable trading state in the journal.

The state belongs to the account the journal records (paper, later live); backtests never read
or change it. A running engine adopts a change within `risk.poll_every` bars; an engine that
starts later restores it before it trades. With the local simulated broker the account lives
inside the paper process, so `kill` records the request and the engine carries it out: cancel
every open order, flatten every position, verify flat (then `status` shows no kill pending).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from returns.result import Failure

from aitrader.domain.risk import RiskState, TradingState
from aitrader.entrypoints.config import load_config
from aitrader.entrypoints.container import JournalUnavailableError, open_journal, redact
from aitrader.entrypoints.inputs import RunFailedError, UserError
from aitrader.entrypoints.options import ConfigFile, JournalUrl
from aitrader.entrypoints.runs_cli import (
    AsJsonObject,
    JournalUrlFn,
    is_text,
    missing_sqlite_file,
)
from aitrader.ports.journal import Journal

ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (journaled).")]
# `risk status` prints the journaled reason: a newline in it would forge a line of its own, a
# terminal escape would act on whoever reads the state
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(reason: str) -> str:
    """The reason without its surrounding blanks; UserError if it holds a control character
    or bytes that are not UTF-8."""
    if _CONTROL.search(reason):
        raise UserError("--reason: say why on one line of plain text (it holds a newline, a tab "
                        "or another control character)")
    if not is_text(reason):
        raise UserError("--reason: say why in plain text (it holds bytes that are not UTF-8)")
    return reason.strip()


def state_dict(state: RiskState) -> dict[str, Any]:
    """The state as JSON-ready values (decimals and dates as strings)."""
    return {
        "state": state.state.value, "reason": state.reason,
        "kill_requested": state.kill_requested, "rejection_streak": state.rejection_streak,
        "equity_peak": None if state.equity_peak is None else str(state.equity_peak),
        "day": None if state.day is None else state.day.isoformat(),
        "day_start_equity": None if state.day_start_equity is None
        else str(state.day_start_equity),
        "day_trades": [d.isoformat() for d in state.day_trades],
    }


def labelled(source: str, why: str) -> str:
    """The journaled reason: who moved the state, and why when told."""
    return f"{source}: {why}" if why else source


def register(risk_app: typer.Typer, journal_url: JournalUrlFn) -> None:
    """Attach the risk commands to the risk group."""

    def opened(journal: str | None, config: Path | None, *, create: bool) -> tuple[Journal, str]:
        url = journal_url(journal, config)
        missing = missing_sqlite_file(url)
        if missing is not None and not create:
            raise UserError(f"no journal at {missing} (nothing has been stored yet; pass "
                            "--journal)")
        try:
            return open_journal(url), url
        except JournalUnavailableError as error:
            raise RunFailedError(str(error)) from None

    def current(store: Journal) -> RiskState:
        found = store.risk_state()
        if isinstance(found, Failure):
            raise RunFailedError(str(found.failure()))
        return found.unwrap() or RiskState()

    def change(journal: str | None, config: Path | None, as_json: bool,
               move: Callable[[RiskState], RiskState], said: Callable[[RiskState], str]) -> None:
        from aitrader.entrypoints.session import build_container  # noqa: PLC0415 - lazy: start-up time

        store, url = opened(journal, config, create=True)
        state = move(current(store))
        now = build_container(load_config(config, overrides={})).wall_clock().now()
        saved = store.save_risk_state(state, now)
        if isinstance(saved, Failure):
            raise RunFailedError(str(saved.failure()))
        show(state, url, as_json, said(state))

    def show(state: RiskState, url: str, as_json: bool, said: str = "") -> None:
        if as_json:
            print(json.dumps(state_dict(state)))
            return
        if said:
            print(said)
        shown = state_dict(state)
        print(f"trading state  {shown['state']}{' - ' + state.reason if state.reason else ''}")
        kill = "pending (cancel, flatten, verify flat)" if state.kill_requested else "none pending"
        print(f"kill           {kill}")
        print(f"equity peak    {shown['equity_peak'] or '-'}")
        print(f"day            {shown['day'] or '-'} "
              f"(started at {shown['day_start_equity'] or '-'})")
        print(f"rejections     {state.rejection_streak} in a row")
        print(f"day trades     {len(state.day_trades)} recorded")
        print(f"journal        {redact(url)}")

    @risk_app.command("status")
    def risk_status(journal: JournalUrl = None, config: ConfigFile = None,
                    as_json: AsJsonObject = False) -> None:
        """Show the durable trading state (ACTIVE, REDUCING or HALTED) and its figures."""
        store, url = opened(journal, config, create=False)
        show(current(store), url, as_json)

    @risk_app.command("halt")
    def risk_halt(reason: ReasonOpt, journal: JournalUrl = None, config: ConfigFile = None,
                  as_json: AsJsonObject = False) -> None:
        """HALTED: only cancels go out until `aitrader risk resume`."""
        why = one_line(reason)
        if not why:
            raise UserError("--reason: say why trading is halted")
        change(journal, config, as_json, lambda s: s.halted(f"manual: {why}"),
               lambda _s: "halted: only cancels until `aitrader risk resume`")

    @risk_app.command("resume")
    def risk_resume(journal: JournalUrl = None, config: ConfigFile = None,
                    as_json: AsJsonObject = False) -> None:
        """ACTIVE again: clears the halt, the rejection streak, a pending kill and the peak."""
        change(journal, config, as_json, lambda s: s.resumed(), lambda _s: "resumed: ACTIVE")

    def with_reason(name: str, help_text: str, move: Callable[[RiskState, str], RiskState],
                    said: Callable[[RiskState], str]) -> None:
        """Register a command that moves the state with an optional --reason."""

        def command(reason: ReasonOpt = "", journal: JournalUrl = None,
                    config: ConfigFile = None, as_json: AsJsonObject = False) -> None:
            why = one_line(reason)
            change(journal, config, as_json, lambda s: move(s, why), said)

        command.__doc__ = help_text
        risk_app.command(name)(command)

    with_reason("reduce", "REDUCING: only orders that shrink exposure (a halt stays a halt).",
                lambda s, why: s.reducing(labelled("manual", why)),
                lambda s: "reducing: only exposure-reducing orders"
                if s.state is TradingState.REDUCING else
                "still HALTED: a halt stays a halt (`aitrader risk resume` lifts it)")
    with_reason("kill", "Kill switch: HALTED, then the engine cancels everything, flattens and "
                "verifies flat.", lambda s, why: s.killed(labelled("kill switch", why)),
                lambda _s: "kill requested: HALTED; the engine cancels every order, flattens "
                "every position and verifies the account flat")
