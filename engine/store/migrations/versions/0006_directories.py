"""directories (F11): contracts, service objects, equipment; a contact's phone and manager;
the ticket's links to a contract, an object and a piece of equipment

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04

Companies and contacts (clients are `people` rows) existed; the other directories are new.
Each entry may name a responsible manager, a staff person.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: str | Sequence[str] | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _manager() -> sa.Column[int]:
    return sa.Column('manager_id', sa.Integer(), sa.ForeignKey('people.id'), nullable=True)


def upgrade() -> None:
    op.create_table(
        'contracts',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('number', sa.String(100), nullable=False),
        sa.Column('company_id', sa.Integer(), sa.ForeignKey('companies.id'), nullable=False),
        sa.Column('starts', sa.Date(), nullable=True),
        sa.Column('ends', sa.Date(), nullable=True),
        sa.Column('sla_policy', sa.String(64), nullable=True),
        _manager(),
        sa.PrimaryKeyConstraint('id', name='pk_contracts'),
        sa.UniqueConstraint('number', name='uq_contracts_number'),
    )
    op.create_index('ix_contracts_company_id', 'contracts', ['company_id'])
    op.create_table(
        'service_objects',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('company_id', sa.Integer(), sa.ForeignKey('companies.id'), nullable=False),
        sa.Column('name', sa.String(200), nullable=False),
        sa.Column('address', sa.Text(), nullable=False, server_default=''),
        _manager(),
        sa.PrimaryKeyConstraint('id', name='pk_service_objects'),
        sa.UniqueConstraint('company_id', 'name', name='uq_service_objects_company_id_name'),
    )
    op.create_table(
        'equipment',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('serial', sa.String(200), nullable=False),
        sa.Column('model', sa.String(200), nullable=False, server_default=''),
        sa.Column('company_id', sa.Integer(), sa.ForeignKey('companies.id'), nullable=False),
        sa.Column('object_id', sa.Integer(), sa.ForeignKey('service_objects.id'),
                  nullable=True),
        _manager(),
        sa.PrimaryKeyConstraint('id', name='pk_equipment'),
        sa.UniqueConstraint('serial', name='uq_equipment_serial'),
    )
    op.create_index('ix_equipment_company_id', 'equipment', ['company_id'])
    op.create_index('ix_equipment_object_id', 'equipment', ['object_id'])
    _add_column('people', 'phone', sa.String(64), 'VARCHAR(64)')
    _add_column('people', 'manager_id', sa.Integer(), 'INTEGER', 'people')
    op.create_index('ix_people_phone', 'people', ['phone'], unique=False)
    for column, table in (('contract_id', 'contracts'), ('object_id', 'service_objects'),
                          ('equipment_id', 'equipment')):
        _add_column('tickets', column, sa.Integer(), 'INTEGER', table)
        op.create_index(f'ix_tickets_{column}', 'tickets', [column], unique=False)


def _add_column(table: str, column: str, type_: sa.types.TypeEngine[Any], sqlite_type: str,
                references: str | None = None) -> None:
    """A nullable column, with its foreign key. Not in batch mode on SQLite: that copies the
    table and drops the old one, which SQLite refuses while other rows reference it
    (`people`, `tickets`); SQLite adds a column with a REFERENCES clause in place."""
    if op.get_bind().dialect.name == 'sqlite':
        clause = f' REFERENCES {references} (id)' if references else ''
        op.execute(f'ALTER TABLE {table} ADD COLUMN {column} {sqlite_type}{clause}')
        return
    op.add_column(table, sa.Column(column, type_, nullable=True))
    if references is not None:
        op.create_foreign_key(f'fk_{table}_{column}_{references}', table, references,
                              [column], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        for column, table in (('equipment_id', 'equipment'), ('object_id', 'service_objects'),
                              ('contract_id', 'contracts')):
            batch_op.drop_index(f'ix_tickets_{column}')
            batch_op.drop_constraint(f'fk_tickets_{column}_{table}', type_='foreignkey')
            batch_op.drop_column(column)
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_index('ix_people_phone')
        batch_op.drop_constraint('fk_people_manager_id_people', type_='foreignkey')
        batch_op.drop_column('manager_id')
        batch_op.drop_column('phone')
    op.drop_table('equipment')
    op.drop_table('service_objects')
    op.drop_table('contracts')
