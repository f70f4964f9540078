"""The journal schema: SQLAlchemy Core tables (no ORM), shared by the adapter and Alembic.

Decimals are exact: unconstrained NUMERIC on PostgreSQL (keeps every digit and the scale it was
written with) and canonical text on SQLite, which has no decimal type (its NUMERIC affinity would
round through a float). Timestamps are aware UTC in and out; SQLite stores them naive in UTC.
JSON payloads are TEXT holding canonical JSON. Every child table's key starts with run_id, so
that key's index serves lookups by run; tables without such a key get an explicit index.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class ExactDecimal(TypeDecorator[Decimal]):
    """A Decimal stored without loss: NUMERIC on PostgreSQL, canonical text on SQLite."""

    impl = sa.Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.Text())
        return dialect.type_descriptor(sa.Numeric(asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"expected a Decimal, got {type(value).__name__}")
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None or isinstance(value, Decimal):
            return value
        return Decimal(value)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime; naive values are refused on the way in."""

    impl = sa.DateTime
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=True)

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"refusing a naive datetime: {value!r}")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


def _run_fk(nullable: bool = False) -> sa.Column[str]:
    return sa.Column(
        "run_id", sa.String, sa.ForeignKey("runs.run_id", ondelete="CASCADE"),
        nullable=nullable,
    )


runs = sa.Table(
    "runs", metadata,
    sa.Column("run_id", sa.String, primary_key=True),
    sa.Column("mode", sa.String, nullable=False),
    sa.Column("strategy", sa.String, nullable=False),
    sa.Column("symbols", sa.Text, nullable=False),
    sa.Column("config", sa.Text, nullable=False),
    sa.Column("data_digest", sa.String, nullable=False),
    sa.Column("code_version", sa.String, nullable=False),
    sa.Column("started_at", UtcDateTime(), nullable=False),
    sa.Column("finished_at", UtcDateTime(), nullable=True),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("bars", sa.BigInteger, nullable=True),
    sa.Column("digest", sa.String, nullable=True),
    sa.Column("decisions_digest", sa.String, nullable=True),
    sa.Column("metrics", sa.Text, nullable=True),
    sa.Index(None, "started_at"),
)

decisions = sa.Table(
    "decisions", metadata,
    _run_fk(),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("ts", UtcDateTime(), nullable=False),
    sa.Column("symbol", sa.String, nullable=False),
    sa.Column("close", ExactDecimal(), nullable=False),
    sa.Column("signals", sa.Text, nullable=False),
    sa.Column("target_exposure", sa.Double, nullable=False),
    sa.Column("previous_exposure", sa.Double, nullable=False),
    sa.Column("current_qty", ExactDecimal(), nullable=False),
    sa.Column("target_qty", ExactDecimal(), nullable=False),
    sa.Column("sizing", sa.Text, nullable=False),
    sa.Column("verdicts", sa.Text, nullable=False),
    sa.Column("action", sa.String, nullable=False),
    sa.Column("client_order_id", sa.String, nullable=True),
    sa.PrimaryKeyConstraint("run_id", "seq"),
)

orders = sa.Table(
    "orders", metadata,
    # The surrogate id keeps submission order: an upsert updates the row in place.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    _run_fk(),
    sa.Column("client_order_id", sa.String, nullable=False),
    sa.Column("symbol", sa.String, nullable=False),
    sa.Column("side", sa.String, nullable=False),
    sa.Column("order_type", sa.String, nullable=False),
    sa.Column("time_in_force", sa.String, nullable=False),
    sa.Column("quantity", ExactDecimal(), nullable=False),
    sa.Column("limit_price", ExactDecimal(), nullable=True),
    sa.Column("stop_price", ExactDecimal(), nullable=True),
    sa.Column("extended_hours", sa.Boolean, nullable=False),
    sa.Column("reference_price", ExactDecimal(), nullable=True),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("filled_qty", ExactDecimal(), nullable=False),
    sa.Column("avg_px", ExactDecimal(), nullable=True),
    sa.Column("broker_order_id", sa.String, nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=True),
    sa.Column("trail_amount", ExactDecimal(), nullable=True),  # a trailing stop's distance
    sa.Column("oco_group", sa.String, nullable=True),  # exit legs cancelling one another
    sa.UniqueConstraint("run_id", "client_order_id"),
)

order_events = sa.Table(
    "order_events", metadata,
    _run_fk(),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("client_order_id", sa.String, nullable=False),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("ts_event", UtcDateTime(), nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("broker_order_id", sa.String, nullable=True),
    sa.Column("trade_id", sa.String, nullable=True),
    sa.PrimaryKeyConstraint("run_id", "seq"),
)

fills = sa.Table(
    "fills", metadata,
    _run_fk(),
    sa.Column("trade_id", sa.String, nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("client_order_id", sa.String, nullable=False),
    sa.Column("symbol", sa.String, nullable=False),
    sa.Column("side", sa.String, nullable=False),
    sa.Column("last_qty", ExactDecimal(), nullable=False),
    sa.Column("last_px", ExactDecimal(), nullable=False),
    sa.Column("commission", ExactDecimal(), nullable=False),
    sa.Column("ts_event", UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint("run_id", "trade_id"),
    sa.Index(None, "run_id", "seq"),
)

# The equity curve in chunks of consecutive points, each column packed little-endian:
# ts_ns as zlib'd deltas of int64, equity as raw float64, cash as zlib'd float64.
equity = sa.Table(
    "equity", metadata,
    _run_fk(),
    sa.Column("chunk", sa.Integer, nullable=False),
    sa.Column("points", sa.Integer, nullable=False),
    sa.Column("first_ts_ns", sa.BigInteger, nullable=False),
    sa.Column("last_ts_ns", sa.BigInteger, nullable=False),
    sa.Column("ts_ns", sa.LargeBinary, nullable=False),
    sa.Column("equity", sa.LargeBinary, nullable=False),
    sa.Column("cash", sa.LargeBinary, nullable=False),
    sa.PrimaryKeyConstraint("run_id", "chunk"),
)

quarantined_bars = sa.Table(
    "quarantined_bars", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    _run_fk(nullable=True),
    sa.Column("symbol", sa.String, nullable=False),
    sa.Column("ts_close", UtcDateTime(), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("source", sa.String, nullable=False),
    sa.Index(None, "run_id"),
    sa.Index(None, "symbol", "ts_close"),
)

risk_state = sa.Table(
    "risk_state", metadata,
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

# Bars as fetched and gated (issue 5): float columns hold the BarFrame's float64 values exactly;
# times are UTC epoch nanoseconds, as in the Parquet cache.
bars = sa.Table(
    "bars", metadata,
    sa.Column("source", sa.String, nullable=False),
    sa.Column("symbol", sa.String, nullable=False),
    sa.Column("timeframe", sa.String, nullable=False),
    sa.Column("ts_close_ns", sa.BigInteger, nullable=False),
    sa.Column("ts_open_ns", sa.BigInteger, nullable=False),
    sa.Column("open", sa.Double, nullable=False),
    sa.Column("high", sa.Double, nullable=False),
    sa.Column("low", sa.Double, nullable=False),
    sa.Column("close", sa.Double, nullable=False),
    sa.Column("volume", sa.Double, nullable=False),
    sa.PrimaryKeyConstraint("source", "symbol", "timeframe", "ts_close_ns"),
)
