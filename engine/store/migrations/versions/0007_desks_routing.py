"""tickets.desk: the desk a ticket belongs to (several desks, F17)

Revision ID: 0007
Revises: 0003
Create Date: 2026-12-04

NULL is the default desk of an installation that declares none (and of tickets opened
before desks existed).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0007'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('desk', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_tickets_desk', ['desk'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_desk')
        batch_op.drop_column('desk')
