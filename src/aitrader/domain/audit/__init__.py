"""Run manifests, decisions and their verdicts: the audit trail's records."""

from aitrader.domain.audit.records import (
    Decision,
    GateVerdict,
    RunInfo,
    RunManifest,
    RunSummary,
)

__all__ = ["Decision", "GateVerdict", "RunInfo", "RunManifest", "RunSummary"]
