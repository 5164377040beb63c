"""The database: reachable, at the migrations' head, and writable (a write rolled back)."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.doctor import FAIL, OK, Finding
from config.settings import Settings

NAME = "database"


async def check(settings: Settings) -> list[Finding]:
    url = make_url(settings.database_url)
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        fresh = _fresh_sqlite(Path(url.database))
        if fresh is not None:
            return [fresh]
    try:
        current, head = await _revisions(settings.database_url)
    except Exception as exc:  # any driver's way of saying it cannot connect
        return [Finding(NAME, FAIL, f"cannot open {shown}: {_first_line(exc)}")]
    if current != head:
        return [Finding(NAME, FAIL, f"{shown} is at schema revision {current or 'none'}, this "
                                    f"version needs {head}: run `ticketbot db upgrade`")]
    try:
        await _write_and_roll_back(settings.database_url)
    except Exception as exc:
        return [Finding(NAME, FAIL, f"{shown} cannot be written: {_first_line(exc)}")]
    return [Finding(NAME, OK, f"{shown}, migrated ({head}), writable")]


def _fresh_sqlite(path: Path) -> Finding | None:
    """A file not made yet is fine if its folder can be: the first start creates it."""
    if path.exists():
        return None
    folder = next((p for p in [path.parent, *path.parent.parents] if p.exists()), Path("/"))
    if not os.access(folder, os.W_OK | os.X_OK):
        return Finding(NAME, FAIL, f"{path} does not exist and {folder} is not writable: "
                                   f"create the data folder for this user")
    return Finding(NAME, OK, f"{path} does not exist yet; `ticketbot run` (or `ticketbot db "
                             f"upgrade`) creates it")


async def _revisions(url: str) -> tuple[str | None, str | None]:
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from engine.store.db import make_engine
    from engine.store.migrate import alembic_config

    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            current = await conn.run_sync(
                lambda c: MigrationContext.configure(c).get_current_revision())
    finally:
        await engine.dispose()
    return current, ScriptDirectory.from_config(alembic_config()).get_current_head()


async def _write_and_roll_back(url: str) -> None:
    from engine.store.db import make_engine

    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            transaction = await conn.begin()
            await conn.execute(text("UPDATE alembic_version SET version_num = version_num"))
            await transaction.rollback()
    finally:
        await engine.dispose()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
