"""Orders keep their exit-leg fields: a trailing stop's distance and the OCO group of its legs.

Revision ID: 0003_exit_legs
Revises: 0002_issue5
Create Date: 2026-11-21

Before this revision a journaled trailing stop lost its trail amount and the exit legs of one
position lost the group that cancels the others when one fills. Rows written before it read
back with neither (NULL), as they were written.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_exit_legs"
down_revision: str | None = "0002_issue5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        # decimals are NUMERIC (TEXT on SQLite, which has no exact decimal), as in 0001
        batch.add_column(sa.Column("trail_amount", sa.Numeric().with_variant(sa.Text(), "sqlite"),
                                   nullable=True))
        batch.add_column(sa.Column("oco_group", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("oco_group")
        batch.drop_column("trail_amount")
