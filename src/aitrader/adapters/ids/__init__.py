"""Identifier sources for runs and orders."""

from aitrader.adapters.ids.ids import RunScopedIds

__all__ = ["RunScopedIds"]
