"""Alembic environment. `engine.store.migrate.upgrade` hands in an open connection (run
inside `AsyncConnection.run_sync`); the `alembic` command line gets an async engine."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeDecorator

from engine.store.db import make_engine
from engine.store.tables import metadata

config = context.config


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    # Migrations name plain column types, never our Python-side decorators, so an old
    # revision keeps working however `tables.py` changes later.
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


def _configure(**options: Any) -> None:
    context.configure(target_metadata=metadata, render_as_batch=True,
                      render_item=_render_item, compare_type=True, **options)


def run_offline() -> None:
    _configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_on(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_async(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(run_on)
    finally:
        await engine.dispose()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no sqlalchemy.url in the Alembic config")
    asyncio.run(run_async(url))


if context.is_offline_mode():
    run_offline()
else:
    run_online()
