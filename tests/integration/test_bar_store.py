"""SqlBarStore: bars upserted into the `bars` table, quarantined bars into the journal."""

from __future__ import annotations

import numpy as np
import sqlalchemy as sa

from aitrader.adapters.sql import SqlBarStore
from aitrader.domain.market import Timeframe
from aitrader.domain.series import BarFrame, GateRules, RawBars, gatekeep
from aitrader.domain.values import Symbol

MIN = 60 * 10**9
AAPL = Symbol.parse("AAPL")


def frame(n: int, price: float) -> BarFrame:
    ts = np.arange(1, n + 1, dtype=np.int64) * MIN + 1_700_000_000 * 10**9
    close = np.full(n, price) + np.arange(n) * 0.01
    return BarFrame(AAPL, Timeframe.MINUTE_1, ts - MIN, ts, close, close + 0.1, close - 0.1,
                    close, np.full(n, 100.0))


def test_bars_are_written_exactly_and_a_refetch_replaces_them(journal_url: str) -> None:
    store = SqlBarStore.open(journal_url).unwrap()
    assert store.write_bars("yahoo", frame(1500, 100.0)).unwrap() == 1500
    assert store.write_bars("yahoo", frame(10, 200.0)).unwrap() == 10
    engine = sa.create_engine(journal_url)
    with engine.connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT ts_close_ns, close FROM bars WHERE source = 'yahoo' ORDER BY ts_close_ns"
        )).all()
    engine.dispose()
    assert len(rows) == 1500
    assert rows[0][1] == 200.0
    assert rows[10][1] == frame(1500, 100.0).close[10]


def test_a_daily_bar_restamped_to_an_early_close_replaces_the_old_one(journal_url: str) -> None:
    # 2025-12-24 opened at 14:30 UTC; an older release closed it at 21:00, this one at 18:00
    opened = 1_766_586_600 * 10**9
    one = np.ones(1)

    def eve(close_ns: int, close: float) -> BarFrame:
        return BarFrame(AAPL, Timeframe.DAY_1, np.asarray([opened]), np.asarray([close_ns]),
                        one * 272.34, one * 275.43, one * 272.2, one * close, one * 1e6)

    store = SqlBarStore.open(journal_url).unwrap()
    store.write_bars("yahoo", eve(opened + 6 * 3600 * 10**9 + 30 * 60 * 10**9, 273.0))
    store.write_bars("finnhub", eve(opened + 6 * 3600 * 10**9 + 30 * 60 * 10**9, 273.0))
    store.write_bars("yahoo", eve(opened + 3 * 3600 * 10**9 + 30 * 60 * 10**9, 273.81))
    engine = sa.create_engine(journal_url)
    with engine.connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT source, ts_close_ns, close FROM bars ORDER BY source")).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [
        ("finnhub", 1_766_610_000 * 10**9, 273.0),  # another source's bar is left alone
        ("yahoo", 1_766_599_200 * 10**9, 273.81)]


def test_quarantined_bars_are_recorded_with_reason_and_source(journal_url: str) -> None:
    raw = RawBars.from_frame(frame(5, 100.0))
    high = raw.high.copy()
    high[2] = 1.0
    raw = RawBars(AAPL, raw.timeframe, raw.ts_open, raw.ts_close, raw.open, high, raw.low,
                  raw.close, raw.volume)
    _, report = gatekeep(raw, None, GateRules(), "yahoo")
    store = SqlBarStore.open(journal_url).unwrap()
    assert store.record_quarantine(None, [report]).unwrap() == 1
    engine = sa.create_engine(journal_url)
    with engine.connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT symbol, reason, source, run_id FROM quarantined_bars")).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [("AAPL", "high is below low", "yahoo", None)]


def test_recording_the_same_quarantined_bars_again_adds_nothing(journal_url: str) -> None:
    # A validation repeated on the same data finds the same bad bars: the table is the set of
    # bars quarantined per source (and run), not a log with a copy per validation.
    sound = RawBars.from_frame(frame(5, 100.0))
    high = sound.high.copy()
    high[2] = 1.0
    raw = RawBars(AAPL, sound.timeframe, sound.ts_open, sound.ts_close, sound.open, high,
                  sound.low, sound.close, sound.volume)
    _, report = gatekeep(raw, None, GateRules(), "yahoo")
    _, elsewhere = gatekeep(raw, None, GateRules(), "finnhub")
    store = SqlBarStore.open(journal_url).unwrap()
    engine = sa.create_engine(journal_url)
    with engine.begin() as connection:  # the run the last records belong to
        connection.execute(sa.text(
            "INSERT INTO runs (run_id, mode, strategy, symbols, config, data_digest, "
            "code_version, started_at, status) VALUES ('run-1', 'backtest', 's', 'AAPL', "
            "'{}', 'd', 'v', '2024-01-02 00:00:00', 'finished')"))
    assert store.record_quarantine(None, [report]).unwrap() == 1
    assert store.record_quarantine(None, [report, report]).unwrap() == 0
    assert store.record_quarantine(None, [elsewhere]).unwrap() == 1  # another source's bar
    assert store.record_quarantine("run-1", [report]).unwrap() == 1  # a run keeps its own
    assert store.record_quarantine("run-1", [report]).unwrap() == 0
    with engine.connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT run_id, source FROM quarantined_bars ORDER BY id")).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [(None, "yahoo"), (None, "finnhub"), ("run-1", "yahoo")]
