"""RunDigest: the equity curve is hashed as its little-endian bytes, whatever the arrays' layout."""

from __future__ import annotations

import hashlib

import numpy as np

from aitrader.application.digest import RunDigest


def test_the_curve_is_hashed_as_little_endian_bytes_whatever_the_layout() -> None:
    ts = np.arange(0, 20, dtype=np.int64) * 60_000_000_000
    equity = np.linspace(100.0, 120.0, 20)
    expected = hashlib.sha256(ts[::2].astype("<i8").tobytes()
                              + equity[::2].astype("<f8").tobytes()).hexdigest()
    for layout in (lambda a: a[::2].copy(), lambda a: a[::2],
                   lambda a: a[::2].astype(a.dtype.newbyteorder(">"))):
        digest = RunDigest()
        digest.equity(layout(ts), layout(equity))
        assert digest.digest == expected
