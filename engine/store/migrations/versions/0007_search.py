"""search_docs: full-text search over subjects and comments

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

One row per comment and one per ticket subject, holding the text's stems
(engine/stemming.py); SQLite indexes them with an FTS5 table kept in step by triggers,
PostgreSQL with a GIN index over a stored to_tsvector('simple', terms). Existing tickets and
comments are indexed here, in batches, with the stemmer of this release.
"""

from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from alembic import op

from engine.stemming import stemmed
from engine.store.search_sql import native_ddl, native_drop

# revision identifiers, used by Alembic.
revision: str = '0007'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 2000


def upgrade() -> None:
    op.create_table('search_docs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket', sa.Integer(), nullable=False),
    sa.Column('comment_id', sa.Integer(), nullable=True),
    sa.Column('terms', sa.Text(), nullable=False),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['comment_id'], ['comments.id'], name=op.f('fk_search_docs_comment_id_comments')),
    sa.ForeignKeyConstraint(['ticket'], ['tickets.number'], name=op.f('fk_search_docs_ticket_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_docs')),
    sa.UniqueConstraint('comment_id', name=op.f('uq_search_docs_comment_id'))
    )
    with op.batch_alter_table('search_docs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_search_docs_ticket'), ['ticket'], unique=False)
    bind = op.get_bind()
    for statement in native_ddl(bind.dialect.name):
        op.execute(sa.text(statement))
    _index_existing(bind)


def _index_existing(bind: sa.Connection) -> None:
    docs = sa.table('search_docs', sa.column('ticket'), sa.column('comment_id'),
                    sa.column('terms'), sa.column('public'))
    subjects = bind.execute(sa.text("SELECT number, subject FROM tickets ORDER BY number"))
    _insert(bind, docs, ({"ticket": n, "comment_id": None, "terms": stemmed(s), "public": True}
                         for n, s in subjects))
    found = bind.execute(sa.text("SELECT id, ticket, body, public FROM comments ORDER BY id"))
    _insert(bind, docs, ({"ticket": t, "comment_id": i, "terms": stemmed(b),
                          "public": bool(p)} for i, t, b, p in found))


def _insert(bind: sa.Connection, docs: sa.TableClause,
            rows: Iterable[dict[str, object]]) -> None:
    batch: list[dict[str, object]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= _BATCH:
            bind.execute(docs.insert(), batch)
            batch = []
    if batch:
        bind.execute(docs.insert(), batch)


def downgrade() -> None:
    for statement in native_drop(op.get_bind().dialect.name):
        op.execute(sa.text(statement))
    with op.batch_alter_table('search_docs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_search_docs_ticket'))
    op.drop_table('search_docs')
