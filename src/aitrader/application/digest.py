"""Run digests: SHA-256 over every journaled record in order, blind to ids and wall time.

`digest` covers the manifest's deterministic part, decisions, orders, events, fills and the
equity curve; `decisions_digest` covers decisions, orders and fills only, so a backtest and a
paper replay of the same data and configuration can be compared. Ids are replaced by their
sequence numbers: a run id is fresh each run, but the n-th order of a run is the n-th order.

Each record becomes one line of text in one of two streams, hashed each by its own SHA-256:
decisions, orders and fills (in the order produced) in one, order events in the other, each
event line starting with the number of records the first stream held when it came, so the
interleaving is covered. Float fields (exposures, signal values) go, as their IEEE-754 bytes,
to a third stream. The equity curve's timestamps and values are two more. The digests are the
SHA-256 of their streams' digests. A stream's bytes are its records' encodings one after the
other, so how the records are cut into batches (and the curve into chunks) cannot change them.

Free text (sizing values, reasons) is hashed as its repr, so no separator inside it can make
two different records read alike. Moments are microseconds since the epoch: the instant.

Some text is said once and then referred to, which leaves every field of every record covered
(the record's own text or the one it refers to, earlier in the same stream, holds it) and the
encoding a function of the records alone, not of batches or of which objects they share:
- a decision whose shape (signal names, sizing keys, verdicts) equals the previous decision's
  writes "=" for it, any other "+" and its text;
- an order's later states whose start of line (intent, creation time) would read as the
  previous state's start with "o|#<number>|" instead of "O|#<number>|..." (~80 bytes).

Measured on the records of a 200k-bar benchmark run replayed into a RunDigest
(bench/bench_digest.py; callgrind instructions an order, the replay against none; timeit, min
of alternating replays): ~137k -> ~106k -> ~82k instructions, ~12 -> ~10.4 -> ~8.4 µs.
- Each byte is hashed once: the previous version fed decisions, orders and fills to both
  digests; SHA-256 here runs at ~1 ns a byte (SHA extensions; callgrind counts the software
  path's ~28 instructions a byte).
- A float's shortest repr costs ~600 ns (dtoa); its 8 bytes into an array ~30 ns. Floats held
  in a list and made an array once a batch (np.array) measured ~5 % less time in decisions
  alone but ~0.6k more instructions an order and no less time over all records (numpy probes
  each element's type): not kept.
- A moment's microseconds cost ~0.7 µs against ~1.3-2.3 µs for its isoformat, once per
  distinct moment (a step's records share theirs); moments kept as int64 in an array instead
  of text measured 12 % more instructions: a method call costs more than formatting an int.
  Only the last moment is remembered: a memo of the last 64 cost ~7k instructions an order
  more (hashing a new moment, storing it, clearing), and a decision's moment is always new.
- An order's states share their intent and creation time: their text is made once an order.
- A decision's shape: verdicts' text and the sizing mapping's repr were ~1.3 and ~1 µs of its
  ~5.5; a tuple compare (in C, by identity first: the passed verdicts are shared records)
  ~0.3 µs. The sizing values joined by a separator after a check that none holds it (repr as
  the fallback) measured as many instructions as the repr of their tuple: not kept.
- Encoding a batch column by column at hash time (map/attrgetter/zip in C over records held
  back) measured no fewer instructions and more time than these per-record f-strings: the
  per-field conversions dominate, and passes over records held back miss the cache; a record's
  fields through one dotted attrgetter and "|".join(map(str, ...)) cost ~3x its f-string.
- marshal or pickle of a record's mapping would be C all through, but their bytes depend on
  objects' interning and sharing (marshal's interned flag, pickle's memo): not the data alone.
"""

from __future__ import annotations

import hashlib
import json
import math
from array import array
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from aitrader.domain.audit import Decision, GateVerdict
from aitrader.domain.trading import Fill, Order, OrderEvent, OrderIntent

_BATCH = 512  # lines held before they are hashed
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class RunDigest:
    """Accumulates the two digests of one run as records are produced."""

    def __init__(self, batch: int = _BATCH) -> None:
        self._batch = batch
        self._manifest = hashlib.sha256()
        self._decided = hashlib.sha256()  # decisions, orders and fills
        self._events = hashlib.sha256()
        self._floats = hashlib.sha256()
        self._curve_ts = hashlib.sha256()
        self._curve = hashlib.sha256()
        self._refs: dict[str, str] = {}  # client_order_id -> "#<its sequence number>"
        # client_order_id -> (intent, created_at, the start of line they make, its short form),
        # while the order is open: its states share both (frozen) objects, and formatting them
        # was ~8 % of the digest's instructions; the text is built again for any other object.
        # An order's first line starts with the whole text, a later line whose start would
        # read the same with the short form "o|#<number>|" (~80 bytes fewer to hash).
        self._heads: dict[str, tuple[OrderIntent, datetime, str, str]] = {}
        # Not hashed yet, in order: lines of each stream, float fields.
        self._decided_lines: list[str] = []
        self._event_lines: list[str] = []
        self._float_fields = array("d")
        self._decided_hashed = 0  # lines of the first stream hashed so far
        # The last moment as hashed: a step's records share theirs (decision, created_at,
        # fill). Callers test `moment is self._last_moment` first and skip the call.
        self._last_moment: datetime | None = None
        self._last_text = ""
        # the last decision's signal names, sizing keys and verdicts (see decision)
        self._last_shape: tuple[tuple[str, ...], tuple[str, ...], tuple[GateVerdict, ...]] = \
            ((), (), ())

    def _text_of(self, moment: datetime) -> str:
        """Microseconds since the epoch: the instant, whatever zone it is written in."""
        if moment == self._last_moment:  # the same instant, another object
            return self._last_text
        text = str((moment - _EPOCH) // _MICROSECOND)
        self._last_moment, self._last_text = moment, text
        return text

    def _hash_pending(self) -> None:
        if self._decided_lines:
            self._decided.update("".join(self._decided_lines).encode())
            self._decided_hashed += len(self._decided_lines)
            self._decided_lines = []
        if self._event_lines:
            self._events.update("".join(self._event_lines).encode())
            self._event_lines = []
        if self._float_fields:
            values = np.frombuffer(self._float_fields, dtype=np.float64)
            nan = np.isnan(values)
            if nan.any():  # every NaN hashes alike: its sign and payload bits are not data
                values = values.copy()
                values[nan] = math.nan
            self._floats.update(np.ascontiguousarray(values, dtype="<f8").data)
            self._float_fields = array("d")

    def manifest(self, deterministic_config: Mapping[str, object], data_digest: str) -> None:
        text = json.dumps(deterministic_config, sort_keys=True, default=str)
        self._manifest.update(f"{text}|{data_digest}\n".encode())

    def register_order(self, seq: int, client_order_id: str) -> None:
        self._refs[client_order_id] = f"#{seq}"
        self._heads.pop(client_order_id, None)  # its start of line quotes the number

    def decision(self, d: Decision) -> None:
        floats = self._float_fields
        floats.append(d.target_exposure)
        floats.append(d.previous_exposure)
        floats.extend(d.signals.values())  # their names (identifiers) are in the line
        # A decision's shape (signal names, sizing keys, verdicts) is most often its
        # predecessor's: the same names, the sizer's keys, the same shared passed verdicts.
        # Compared as a tuple (equal records compare in C, identical ones by identity), a
        # shape like the last one is hashed as "=", any other as "+" and its text.
        shape = (tuple(d.signals), tuple(d.sizing), d.verdicts)
        if shape == self._last_shape:
            shown = "="
        else:
            # verdicts' `passed` as an int: equal verdicts (True == 1) read alike
            verdicts = ",".join([f"{v.rule}:{v.passed:d}:{v.reason!r}" for v in d.verdicts])
            shown = f"+{','.join(shape[0])}|{shape[1]!r}|{verdicts}"
            self._last_shape = shape
        ref = "-" if d.client_order_id is None else self._refs[d.client_order_id]
        ts = self._last_text if d.ts is self._last_moment else self._text_of(d.ts)
        lines = self._decided_lines
        # `!s` on Decimals: same text as the default format, a fraction of the cost; free
        # text (sizing values, reasons) as its repr: no separator inside it can make two
        # different records read alike
        lines.append(
            f"D|{d.seq}|{ts}|{d.symbol.value}|{d.close!s}|{d.current_qty!s}|"
            f"{d.target_qty!s}|{shown}|{tuple(d.sizing.values())!r}|{d.action}|{ref}\n")
        if len(lines) >= self._batch:
            self._hash_pending()

    def order(self, o: Order) -> None:
        i = o.intent
        cid = o.client_order_id
        at = o.created_at
        known = self._heads.get(cid)
        if known is not None and known[0] is i and known[1] is at:
            head = known[3]
        else:
            ts = self._last_text if at is self._last_moment else self._text_of(at)
            ref = self._refs[cid]
            # enum `_value_` is the member's value without the descriptor lookup of `.value`
            full = (f"O|{ref}|{i.symbol.value}|{i.side._value_}|"
                    f"{i.quantity.value!s}|{i.order_type._value_}|{i.time_in_force._value_}|"
                    f"{i.limit_price!s}|{i.stop_price!s}|{i.extended_hours}|"
                    f"{i.reference_price!s}|{i.trail_amount!s}|{i.oco_group!r}|{ts}|")
            short = f"o|{ref}|"
            head = short if known is not None and known[2] == full else full
            self._heads[cid] = (i, at, full, short)
        status = o.status
        if status.is_terminal:
            del self._heads[cid]
        # a reason may quote the order's id: it is hashed with the id replaced by its number
        reason = "None" if o.reason is None else repr(o.reason.replace(cid, self._refs[cid]))
        lines = self._decided_lines
        lines.append(f"{head}{status._value_}|{o.filled_qty!s}|{o.avg_px!s}|{reason}\n")
        if len(lines) >= self._batch:
            self._hash_pending()

    def event(self, seq: int, e: OrderEvent) -> None:
        cid = e.client_order_id
        ref = self._refs[cid]
        at = e.ts_event
        ts = self._last_text if at is self._last_moment else self._text_of(at)
        reason = "None" if e.reason is None else repr(e.reason.replace(cid, ref))  # as order()
        lines = self._event_lines
        # where it came among decisions, orders and fills: their number so far
        lines.append(f"{self._decided_hashed + len(self._decided_lines)}|{seq}|{ref}|"
                     f"{e.kind._value_}|{ts}|{reason}\n")
        if len(lines) >= self._batch:
            self._hash_pending()

    def fill(self, f: Fill) -> None:
        at = f.ts_event
        ts = self._last_text if at is self._last_moment else self._text_of(at)
        lines = self._decided_lines
        lines.append(
            f"F|{self._refs[f.client_order_id]}|{f.symbol.value}|{f.side._value_}|"
            f"{f.last_qty.value!s}|{f.last_px.value!s}|{f.commission.amount!s}|{ts}\n")
        if len(lines) >= self._batch:
            self._hash_pending()

    def equity(self, ts_ns: npt.NDArray[np.int64], equity: npt.NDArray[np.float64]) -> None:
        # the arrays' own buffers (little-endian, contiguous): no 8 MB bytes copy of each
        self._curve_ts.update(np.ascontiguousarray(ts_ns, dtype="<i8").data)
        self._curve.update(np.ascontiguousarray(equity, dtype="<f8").data)

    def _combined(self, *streams: hashlib._Hash) -> str:
        self._hash_pending()
        return hashlib.sha256(b"".join(s.digest() for s in streams)).hexdigest()

    @property
    def digest(self) -> str:
        return self._combined(self._manifest, self._decided, self._floats, self._events,
                              self._curve_ts, self._curve)

    @property
    def decisions_digest(self) -> str:
        return self._combined(self._decided, self._floats)
