"""files stored once: blobs by sha256; attachments keep the detected and declared type
and why a file was refused

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

The bytes leave `attachments` for `blobs`, one row per sha256: a file that arrives
again (a forwarded thread, a signature logo) is not stored again. A blob whose bytes lie
in a stored raw mail keeps only a reference to it (`inbound_id`, `data` NULL). Existing
attachments move their bytes into `blobs` (the old rows knew no raw mail).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0008'
down_revision: str | Sequence[str] | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'blobs',
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=True),
        sa.Column('inbound_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['inbound_id'], ['inbound.id'],
                                name=op.f('fk_blobs_inbound_id_inbound')),
        sa.PrimaryKeyConstraint('sha256', name=op.f('pk_blobs')),
    )
    conn = op.get_bind()
    old = sa.table('attachments', sa.column('id', sa.Integer()),
                   sa.column('sha256', sa.String()), sa.column('size', sa.Integer()),
                   sa.column('data', sa.LargeBinary()))
    blobs = sa.table('blobs', sa.column('sha256', sa.String()),
                     sa.column('size', sa.BigInteger()), sa.column('data', sa.LargeBinary()))
    seen: set[str] = set()
    last = 0
    while True:  # in slices, so a large table is not read into memory at once
        rows = conn.execute(sa.select(old.c.id, old.c.sha256, old.c.size, old.c.data)
                            .where(old.c.id > last).order_by(old.c.id).limit(200)).all()
        if not rows:
            break
        last = rows[-1].id
        fresh = [r for r in rows if r.sha256 not in seen]
        seen.update(r.sha256 for r in fresh)
        unique = {r.sha256: {'sha256': r.sha256, 'size': r.size, 'data': r.data} for r in fresh}
        if unique:
            conn.execute(blobs.insert(), list(unique.values()))
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_column('data')
        batch_op.add_column(sa.Column('declared_type', sa.String(length=255), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('refused', sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f('ix_attachments_sha256'), ['sha256'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachments_sha256'))
        batch_op.drop_column('refused')
        batch_op.drop_column('declared_type')
        batch_op.add_column(sa.Column('data', sa.LargeBinary(), nullable=False,
                                      server_default=sa.text("''")))
    op.drop_table('blobs')
