"""tickets.internal: tickets of an internal type, opened by staff, never shown to clients

Revision ID: 0006
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
revision: str = '0006'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('internal', sa.Boolean(), nullable=False,
                                      server_default=sa.text('false')))


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('internal')
