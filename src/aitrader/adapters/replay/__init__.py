"""Replay of stored history as a live bar stream."""

from aitrader.adapters.replay.stream import ReplayBarStream

__all__ = ["ReplayBarStream"]
