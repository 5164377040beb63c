"""tickets.desk: the desk a ticket belongs to (several desks, F17)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04

NULL is the default desk of an installation that declares none (and of tickets opened
before desks existed).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: str | Sequence[str] | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN, not batch mode: on SQLite batch mode copies the table, and
    # dropping the old `tickets` fails while comments and events point at it.
    op.add_column('tickets', sa.Column('desk', sa.String(length=64), nullable=True))
    op.create_index('ix_tickets_desk', 'tickets', ['desk'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_tickets_desk', table_name='tickets')
    op.drop_column('tickets', 'desk')  # SQLite has DROP COLUMN since 3.35
