"""outbox.cause: the event whose withdrawal (`/undo`) cancels a waiting row

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04

A specialist's public answer waits a grace period in the outbox; its rows name the comment
event they carry, so withdrawing the answer gives up exactly those rows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: str | Sequence[str] | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cause', sa.Integer(), nullable=True))
        batch_op.create_index('ix_outbox_cause', ['cause'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_cause')
        batch_op.drop_column('cause')
