"""Schema migrations, run from code: no alembic.ini is needed at run time, and the scripts
are found inside the installed package."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.store.db import make_engine
from engine.store.schema_head import at_head
from engine.store.search_sql import NATIVE_PREFIX

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().with_name("migrations")
# Any fixed number: two processes starting at once take turns on PostgreSQL (SQLite's
# BEGIN IMMEDIATE already does that).
_MIGRATION_LOCK = 0x7469636B


def alembic_config(url: str | None = None) -> Config:
    # Alembic is imported where it is used: a start on a database already at the head
    # (schema_head.py) never needs it.
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        # ConfigParser would read "%" in a password as interpolation.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade(url: str, revision: str = "head") -> None:
    """`alembic upgrade head`, in one transaction (nothing at all when already there)."""
    engine = make_engine(url)
    try:
        if revision == "head" and await at_head(engine):
            return
        async with engine.begin() as conn:
            await _serialise(conn)
            await conn.run_sync(_upgrade, alembic_config(), revision)
    finally:
        await engine.dispose()


async def ensure_schema(url: str) -> None:
    """At start: a fresh database gets the whole schema, an old one the new revisions."""
    await upgrade(url)


async def schema_diff(url: str) -> list[Any]:
    """What differs between the database and `tables.metadata` (empty when in step)."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_diff)
    finally:
        await engine.dispose()


async def current_revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        from alembic.migration import MigrationContext

        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda c: MigrationContext.configure(c).get_current_revision())
    finally:
        await engine.dispose()


async def _serialise(conn: AsyncConnection) -> None:
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})


def _upgrade(conn: Connection, config: Config, revision: str) -> None:
    from alembic import command

    config.attributes["connection"] = conn
    command.upgrade(config, revision)


def _diff(conn: Connection) -> list[Any]:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from engine.store.tables import metadata

    context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                     "include_name": _ours})
    return list(compare_metadata(context, metadata))


def _ours(name: str | None, type_: str, parent_names: Any) -> bool:
    """Full-text search keeps objects of each backend outside the metadata (an FTS5 table
    and its shadow tables, a GIN expression index): not schema drift."""
    return name is None or not name.startswith(NATIVE_PREFIX)
