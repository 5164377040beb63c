"""desk events: events.ticket may be NULL

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

Desk events (a contact registered, an address suppressed, a mail ignored) concern no
ticket. SQLite cannot alter a column's NULL constraint, so batch mode copies the table
(its rows, keys and indexes kept); PostgreSQL alters the column in place.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0002'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.alter_column('ticket', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    # The desk events have nowhere to go in the old schema.
    op.execute(sa.text("DELETE FROM events WHERE ticket IS NULL"))
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.alter_column('ticket', existing_type=sa.Integer(), nullable=False)
