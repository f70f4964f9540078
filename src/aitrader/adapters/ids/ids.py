"""Run ids from the OS's randomness; order ids derived from the run id and a sequence."""

from __future__ import annotations

import uuid

from aitrader.ports.clock import IdSource


class RunScopedIds(IdSource):
    """A fresh random run id; client_order_id = '<run_id>-<seq>' so no id repeats across runs."""

    def __init__(self, run_id: str | None = None) -> None:
        self._run_id = run_id or uuid.uuid4().hex[:16]

    def run_id(self) -> str:
        return self._run_id

    def client_order_id(self, seq: int) -> str:
        if seq < 1:
            raise ValueError(f"order sequence numbers start at 1, was {seq}")
        return f"{self._run_id}-{seq:06d}"
