"""F11's part of the config's directory sync (engine/store/seed.py): contacts' managers,
then contracts, service objects and equipment, through the same checks as a CSV import.
A refused entry stops the start, naming it: the config is checked when it loads, so only
a reference to something the database lacks can fail here."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.directory import PersonSpec
from engine.directory_import import Row, import_rows
from engine.store import tables as t
from engine.store.directory_sql import SqlDirectory


async def sync_declared(conn: AsyncConnection, people: Sequence[PersonSpec],
                        others: Sequence[tuple[str, Sequence[Row]]]) -> None:
    for person in people:
        if person.manager_email is not None and person.emails:
            await _set_manager(conn, person)
    store = SqlDirectory(conn)
    for kind, rows in others:
        report = await import_rows(store, kind, rows)
        for refusal in report.refused:
            raise ValueError(f"{kind}[{refusal.line}]: {refusal.reason.rpartition('.')[2]} "
                             f"{refusal.value!r}")


async def _set_manager(conn: AsyncConnection, person: PersonSpec) -> None:
    manager = (await conn.execute(select(t.person_emails.c.person_id).where(
        t.person_emails.c.address == (person.manager_email or "").lower()))).scalar()
    if manager is None:
        raise ValueError(f"the manager {person.manager_email!r} is not a declared person")
    owner = select(t.person_emails.c.person_id).where(
        t.person_emails.c.address == person.emails[0].lower()).scalar_subquery()
    await conn.execute(update(t.people).where(t.people.c.id == owner).values(manager_id=manager))
