"""Is the database already at the newest migration? Answered with one SELECT, without
Alembic: each CLI process (a cron `mail fetch --once` every minute) checks the schema at
start, and importing Alembic and reading its scripts costs ~0.15 s while the answer is
nearly always "yes". Anything unexpected (no version table, an older revision, scripts this
reader does not understand) answers "no", and the caller runs Alembic as before."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

VERSIONS = Path(__file__).resolve().with_name("migrations") / "versions"
_REVISION = re.compile(r"^revision(?:\s*:[^=]+)?\s*=\s*['\"]([^'\"]+)['\"]", re.M)
_DOWN = re.compile(r"^down_revision(?:\s*:[^=]+)?\s*=\s*(None|['\"]([^'\"]+)['\"])\s*$", re.M)


@cache
def head_revision(folder: Path = VERSIONS) -> str | None:
    """The one revision no script revises; None for a merge, a branch or a script whose
    header is not the plain `revision = "x"` / `down_revision = "y"` form."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for script in folder.glob("*.py"):
        source = script.read_text(encoding="utf-8")
        found, down = _REVISION.search(source), _DOWN.search(source)
        if found is None and down is None:
            continue  # not a migration (__init__.py)
        if found is None or down is None:
            return None
        revisions.add(found.group(1))
        if down.group(2):
            revised.add(down.group(2))
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 else None


async def at_head(engine: AsyncEngine) -> bool:
    """True when the database's Alembic version is the scripts' single head."""
    head = head_revision()
    if head is None:
        return False
    try:
        async with engine.connect() as conn:
            versions = (await conn.execute(
                text("SELECT version_num FROM alembic_version"))).scalars().all()
    except SQLAlchemyError:  # a fresh database has no version table yet
        return False
    return list(versions) == [head]
