"""aitrader: a risk-first trading platform for US equities."""

__version__ = "0.1.0"
