"""Clocks: wall time, stepped simulated time and accelerated replay time."""

from aitrader.adapters.clocks.clocks import AcceleratedClock, SteppingClock, SystemClock

__all__ = ["AcceleratedClock", "SteppingClock", "SystemClock"]
