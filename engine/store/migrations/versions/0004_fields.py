"""tickets.internal: tickets of an internal type, opened by staff, never shown to clients

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04

Seed 003 has public and internal ticket types. Whether a ticket is internal is kept on the
ticket when it is opened, so a later change of the configured types never shows a
client a ticket that was internal.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN, not batch mode: on SQLite batch mode copies the table, and
    # dropping the old `tickets` fails while comments and events point at it.
    op.add_column('tickets', sa.Column('internal', sa.Boolean(), nullable=False,
                                       server_default=sa.text('false')))


def downgrade() -> None:
    op.drop_column('tickets', 'internal')  # SQLite has DROP COLUMN since 3.35
