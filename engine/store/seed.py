"""The directory declared in the config (staff, known clients, companies), written into
the database at start. People are matched by a stable key, their Telegram id or one of
their addresses, so a restart updates them instead of adding them again, and a person
who first wrote in by mail keeps their id (and tickets) once the config names them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from engine.directory import CompanySpec, PersonSpec
from engine.directory_import import Row
from engine.model import Role
from engine.store import tables as t
from engine.store.db import insert
from engine.store.directory_seed import sync_declared
from engine.store.uow import normalise_address


@dataclass(frozen=True)
class SyncReport:
    people_created: int = 0
    people_updated: int = 0
    companies: int = 0


async def sync_directory(engine: AsyncEngine, people: Sequence[PersonSpec],
                         companies: Sequence[CompanySpec],
                         others: Sequence[tuple[str, Sequence[Row]]] = ()) -> SyncReport:
    """Upsert everything in one transaction: companies, then people, then managers
    (a manager is a person, and a person may belong to a company), then F11's other
    directories (`others`: rows by directory, engine/directory_import.declared_rows)."""
    created = 0
    async with engine.begin() as conn:
        ids = {spec.name: await _upsert_company(conn, spec) for spec in companies}
        for spec in people:
            created += await _upsert_person(conn, spec, ids)
        for company in companies:
            await _set_manager(conn, ids[company.name], company.manager_email)
        await sync_declared(conn, people, others)
    return SyncReport(people_created=created, people_updated=len(people) - created,
                      companies=len(ids))


async def _upsert_company(conn: AsyncConnection, spec: CompanySpec) -> int:
    domains = " ".join(dict.fromkeys(d.strip().lower() for d in spec.domains if d.strip()))
    stmt = insert(conn.dialect, t.companies).values(name=spec.name, domains=domains)
    stmt = stmt.on_conflict_do_update(index_elements=["name"],
                                      set_={"domains": stmt.excluded.domains})
    company_id: int = (await conn.execute(stmt.returning(t.companies.c.id))).scalar_one()
    return company_id


async def _upsert_person(conn: AsyncConnection, spec: PersonSpec, ids: dict[str, int]) -> int:
    """1 if the person was created, 0 if updated."""
    emails = tuple(dict.fromkeys(normalise_address(a) for a in spec.emails))
    values = {"name": spec.name, "role": Role(spec.role).value, "telegram_id": spec.telegram_id,
              "company_id": await _company_id(conn, spec.company, ids),
              "language": spec.language, "notify_via": spec.notify_via,
              "username": spec.username}
    if spec.phone is not None:  # else the phone staff keep in the directory stays (F11)
        values["phone"] = spec.phone
    person_id = await _find(conn, spec.telegram_id, emails, spec.name)
    created = person_id is None
    if person_id is None:
        person_id = (await conn.execute(
            t.people.insert().values(values).returning(t.people.c.id))).scalar_one()
    else:
        await conn.execute(update(t.people).where(t.people.c.id == person_id).values(values))
    await _set_emails(conn, person_id, emails)
    return int(created)


async def _find(conn: AsyncConnection, telegram_id: int | None, emails: tuple[str, ...],
                name: str) -> int | None:
    if telegram_id is None and not emails:
        raise ValueError(f"{name!r} has neither an address nor a Telegram id to be known by")
    if telegram_id is not None:
        found = (await conn.execute(select(t.people.c.id)
                                    .where(t.people.c.telegram_id == telegram_id))).scalar()
        if found is not None:
            return int(found)
    if not emails:
        return None
    rows = await conn.execute(select(t.person_emails.c.address, t.person_emails.c.person_id)
                              .where(t.person_emails.c.address.in_(emails)))
    by_address: dict[str, int] = {row.address: row.person_id for row in rows}
    return next((by_address[a] for a in emails if a in by_address), None)


async def _company_id(conn: AsyncConnection, name: str | None, ids: dict[str, int]) -> int | None:
    if name is None:
        return None
    if name in ids:
        return ids[name]
    found = (await conn.execute(select(t.companies.c.id).where(t.companies.c.name == name))).scalar()
    if found is None:
        raise ValueError(f"unknown company {name!r}")
    return int(found)


async def _set_emails(conn: AsyncConnection, person_id: int, emails: tuple[str, ...]) -> None:
    """The config is the truth for the people it names: exactly these addresses, in this
    order; an address another person had moves to this one."""
    await conn.execute(t.person_emails.delete().where(
        t.person_emails.c.person_id == person_id, t.person_emails.c.address.not_in(emails)))
    for position, address in enumerate(emails):
        stmt = insert(conn.dialect, t.person_emails).values(
            address=address, person_id=person_id, position=position)
        await conn.execute(stmt.on_conflict_do_update(
            index_elements=["address"],
            set_={"person_id": stmt.excluded.person_id, "position": stmt.excluded.position}))


async def _set_manager(conn: AsyncConnection, company_id: int, email: str | None) -> None:
    manager = None
    if email is not None:
        manager = (await conn.execute(select(t.person_emails.c.person_id).where(
            t.person_emails.c.address == normalise_address(email)))).scalar()
        if manager is None:
            raise ValueError(f"the manager {email!r} is not a declared person")
    await conn.execute(update(t.companies).where(t.companies.c.id == company_id)
                       .values(manager_id=manager))
