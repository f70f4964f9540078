"""The journal: runs, decisions, orders, order events, fills, equity, quarantine, risk state.

Revision ID: 0001
Revises:
Create Date: 2025-11-21

Types are spelled out here rather than imported from the adapter, so this revision keeps
creating the same schema whatever later code does: decimals are NUMERIC (TEXT on SQLite, which
has no exact decimal) and timestamps are TIMESTAMP WITH TIME ZONE.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _decimal() -> sa.types.TypeEngine[object]:
    return sa.Numeric().with_variant(sa.Text(), "sqlite")


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _run_fk(table: str, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(
        "run_id", sa.String(),
        sa.ForeignKey("runs.run_id", name=f"fk_{table}_run_id_runs", ondelete="CASCADE"),
        nullable=nullable,
    )


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("mode", sa.String(), nullable=False),
        sa.Column("strategy", sa.String(), nullable=False),
        sa.Column("symbols", sa.Text(), nullable=False),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column("data_digest", sa.String(), nullable=False),
        sa.Column("code_version", sa.String(), nullable=False),
        sa.Column("started_at", _ts(), nullable=False),
        sa.Column("finished_at", _ts(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("bars", sa.BigInteger(), nullable=True),
        sa.Column("digest", sa.String(), nullable=True),
        sa.Column("decisions_digest", sa.String(), nullable=True),
        sa.Column("metrics", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", name="pk_runs"),
    )
    op.create_index("ix_runs_started_at", "runs", ["started_at"])
    op.create_table(
        "decisions",
        _run_fk("decisions"),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("ts", _ts(), nullable=False),
        sa.Column("symbol", sa.String(), nullable=False),
        sa.Column("close", _decimal(), nullable=False),
        sa.Column("signals", sa.Text(), nullable=False),
        sa.Column("target_exposure", sa.Double(), nullable=False),
        sa.Column("previous_exposure", sa.Double(), nullable=False),
        sa.Column("current_qty", _decimal(), nullable=False),
        sa.Column("target_qty", _decimal(), nullable=False),
        sa.Column("sizing", sa.Text(), nullable=False),
        sa.Column("verdicts", sa.Text(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("client_order_id", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "seq", name="pk_decisions"),
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _run_fk("orders"),
        sa.Column("client_order_id", sa.String(), nullable=False),
        sa.Column("symbol", sa.String(), nullable=False),
        sa.Column("side", sa.String(), nullable=False),
        sa.Column("order_type", sa.String(), nullable=False),
        sa.Column("time_in_force", sa.String(), nullable=False),
        sa.Column("quantity", _decimal(), nullable=False),
        sa.Column("limit_price", _decimal(), nullable=True),
        sa.Column("stop_price", _decimal(), nullable=True),
        sa.Column("extended_hours", sa.Boolean(), nullable=False),
        sa.Column("reference_price", _decimal(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("filled_qty", _decimal(), nullable=False),
        sa.Column("avg_px", _decimal(), nullable=True),
        sa.Column("broker_order_id", sa.String(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_orders"),
        sa.UniqueConstraint(
            "run_id", "client_order_id", name="uq_orders_run_id_client_order_id"
        ),
    )
    op.create_table(
        "order_events",
        _run_fk("order_events"),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("client_order_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("ts_event", _ts(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("broker_order_id", sa.String(), nullable=True),
        sa.Column("trade_id", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "seq", name="pk_order_events"),
    )
    op.create_table(
        "fills",
        _run_fk("fills"),
        sa.Column("trade_id", sa.String(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("client_order_id", sa.String(), nullable=False),
        sa.Column("symbol", sa.String(), nullable=False),
        sa.Column("side", sa.String(), nullable=False),
        sa.Column("last_qty", _decimal(), nullable=False),
        sa.Column("last_px", _decimal(), nullable=False),
        sa.Column("commission", _decimal(), nullable=False),
        sa.Column("ts_event", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "trade_id", name="pk_fills"),
    )
    op.create_index("ix_fills_run_id", "fills", ["run_id", "seq"])
    op.create_table(
        "equity",
        _run_fk("equity"),
        sa.Column("chunk", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("first_ts_ns", sa.BigInteger(), nullable=False),
        sa.Column("last_ts_ns", sa.BigInteger(), nullable=False),
        sa.Column("ts_ns", sa.LargeBinary(), nullable=False),
        sa.Column("equity", sa.LargeBinary(), nullable=False),
        sa.Column("cash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "chunk", name="pk_equity"),
    )
    op.create_table(
        "quarantined_bars",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _run_fk("quarantined_bars", nullable=True),
        sa.Column("symbol", sa.String(), nullable=False),
        sa.Column("ts_close", _ts(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_quarantined_bars"),
    )
    op.create_index("ix_quarantined_bars_run_id", "quarantined_bars", ["run_id"])
    op.create_index("ix_quarantined_bars_symbol", "quarantined_bars", ["symbol", "ts_close"])
    op.create_table(
        "risk_state",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_risk_state"),
    )


def downgrade() -> None:
    op.drop_table("risk_state")
    op.drop_index("ix_quarantined_bars_symbol", table_name="quarantined_bars")
    op.drop_index("ix_quarantined_bars_run_id", table_name="quarantined_bars")
    op.drop_table("quarantined_bars")
    op.drop_table("equity")
    op.drop_index("ix_fills_run_id", table_name="fills")
    op.drop_table("fills")
    op.drop_table("order_events")
    op.drop_table("orders")
    op.drop_table("decisions")
    op.drop_index("ix_runs_started_at", table_name="runs")
    op.drop_table("runs")
