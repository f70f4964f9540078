"""What a run journals: its manifest, each decision with its gate verdicts, and its summary."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

import attrs

from aitrader.domain.market import require_utc
from aitrader.domain.slotted import slot_init
from aitrader.domain.values import Symbol


@attrs.frozen
class RunManifest:
    """Everything that determines a run: configuration, data digest and code version."""

    run_id: str
    mode: str
    strategy: str
    symbols: tuple[Symbol, ...]
    config: Mapping[str, object]
    data_digest: str
    code_version: str
    started_at: datetime

    def __attrs_post_init__(self) -> None:
        require_utc(self.started_at, "started_at")


@slot_init
@attrs.frozen
class GateVerdict:
    """One risk gate's verdict on one intent: passed, or refused with a rule code and reason."""

    rule: str
    passed: bool
    reason: str = ""


@slot_init
@attrs.frozen
class Decision:
    """One decision on one symbol at one bar: inputs, signals, target, sizing and verdicts."""

    seq: int
    ts: datetime
    symbol: Symbol
    close: Decimal
    signals: Mapping[str, float]
    target_exposure: float
    previous_exposure: float
    current_qty: Decimal
    target_qty: Decimal
    sizing: Mapping[str, str]
    verdicts: tuple[GateVerdict, ...]
    action: str
    client_order_id: str | None = None


@attrs.frozen
class RunSummary:
    """How a run ended: status, digests and headline metrics."""

    run_id: str
    status: str
    bars: int
    digest: str
    decisions_digest: str
    finished_at: datetime
    metrics: Mapping[str, object] = attrs.field(factory=dict)


@attrs.frozen
class RunInfo:
    """A journaled run as listed: its manifest and, once finished, its summary."""

    manifest: RunManifest
    summary: RunSummary | None
