"""`engine.directory_store.DirectoryStore` over SQL. Lookups that compare names read the
directory and compare in Python: SQLite's lower() knows only ASCII, and a Cyrillic
company name must match the same way on both backends. A directory of a few thousand
rows is read in milliseconds."""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, bindparam, delete, func, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.directory import Card
from engine.directory_store import Checked, Lookups, Stored, TicketFilter
from engine.model import FINISHED, Role
from engine.store.tables import (
    companies,
    contracts,
    equipment,
    people,
    person_emails,
    service_objects,
    tickets,
)

TABLES: dict[str, Table] = {"companies": companies, "contacts": people,
                            "contracts": contracts, "objects": service_objects,
                            "equipment": equipment}
# The ticket column that links to each directory.
TICKET_LINK = {"companies": tickets.c.company_id, "contacts": tickets.c.requester_id,
               "contracts": tickets.c.contract_id, "objects": tickets.c.object_id,
               "equipment": tickets.c.equipment_id}
# The column that names an entry (its natural key, but for contacts).
_TITLE = {"companies": "name", "contacts": "name", "contracts": "number",
          "objects": "name", "equipment": "serial"}
_VALUES = {
    "companies": ("name", "domains", "manager_id"),
    "contacts": ("name", "company_id", "telegram_id", "phone", "language", "manager_id"),
    "contracts": ("number", "company_id", "starts", "ends", "sla_policy", "manager_id"),
    "objects": ("name", "company_id", "address", "manager_id"),
    "equipment": ("serial", "model", "company_id", "object_id", "manager_id"),
}
_ID = re.compile(r"#?(\d{1,18})")
_OPEN = tickets.c.status.not_in([s.value for s in FINISHED])


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


class SqlDirectory:
    def __init__(self, conn: AsyncConnection,
                 on_write: Callable[[], None] | None = None) -> None:
        """`on_write`: told before the import writes, so the people repository on the same
        transaction forgets what it read (engine/store/uow.py)."""
        self._conn = conn
        self._on_write = on_write

    # --- the import -------------------------------------------------------------------

    async def lookups(self) -> Lookups:
        c = self._conn
        company_rows = (await c.execute(select(companies.c.id, companies.c.name,
                                               companies.c.domains))).all()
        staff = await c.execute(
            select(person_emails.c.address, people.c.id)
            .join(people, people.c.id == person_emails.c.person_id)
            .where(people.c.role != Role.CLIENT.value))
        objects = await c.execute(select(service_objects.c.id, service_objects.c.company_id,
                                         service_objects.c.name))
        return Lookups(
            companies={r.name.casefold(): r.id for r in company_rows},
            staff={r.address: r.id for r in staff},
            objects={(r.company_id, r.name.casefold()): r.id for r in objects},
            domains={d: r.id for r in company_rows for d in r.domains.split()})

    async def existing(self, kind: str) -> dict[Hashable, Stored]:
        if kind == "contacts":
            return await self._contacts()
        table = TABLES[kind]
        rows = await self._conn.execute(select(table.c.id, *(table.c[v] for v in _VALUES[kind])))
        found: dict[Hashable, Stored] = {}
        for row in rows:
            values = {v: getattr(row, v) for v in _VALUES[kind]}
            title = str(values[_TITLE[kind]]).casefold()
            key: Hashable = (values["company_id"], title) if kind == "objects" else title
            found[key] = Stored(row.id, values)
        return found

    async def _contacts(self) -> dict[Hashable, Stored]:
        emails: dict[int, list[str]] = {}
        for address, person_id in await self._conn.execute(
                select(person_emails.c.address, person_emails.c.person_id)
                .order_by(person_emails.c.person_id, person_emails.c.position)):
            emails.setdefault(person_id, []).append(address)
        found: dict[Hashable, Stored] = {}
        rows = await self._conn.execute(select(people.c.id, people.c.role,
                                               *(people.c[v] for v in _VALUES["contacts"])))
        for row in rows:
            stored = Stored(row.id, {v: getattr(row, v) for v in _VALUES["contacts"]},
                            tuple(emails.get(row.id, ())), row.role)
            for address in stored.emails:
                found[("email", address)] = stored
            if row.telegram_id is not None:
                found[("telegram", row.telegram_id)] = stored
        return found

    async def write(self, kind: str, inserts: Sequence[Checked],
                    updates: Sequence[tuple[int, Checked]]) -> list[int]:
        if self._on_write is not None:
            self._on_write()
        table = TABLES[kind]
        extra = {"role": Role.CLIENT.value} if kind == "contacts" else {}
        ids: list[int] = []
        if inserts:
            stmt = table.insert().returning(table.c.id, sort_by_parameter_order=True)
            result = await self._conn.execute(stmt, [{**c.values, **extra} for c in inserts])
            ids = [row[0] for row in result]
        # One executemany per set of columns (a row may change fewer than its file has).
        by_columns: dict[tuple[str, ...], list[tuple[int, Checked]]] = {}
        for entry_id, checked in updates:
            by_columns.setdefault(tuple(checked.values), []).append((entry_id, checked))
        for columns, group in by_columns.items():
            if columns:
                await self._conn.execute(
                    update(table).where(table.c.id == bindparam("_id"))
                    .values({k: bindparam(k) for k in columns}),
                    [{**c.values, "_id": entry_id} for entry_id, c in group])
        if kind == "contacts":
            await self._set_emails([*zip(ids, inserts, strict=True),
                                    *((i, c) for i, c in updates if c.emails)])
        return ids

    async def _set_emails(self, contacts: Sequence[tuple[int, Checked]]) -> None:
        """Exactly the row's addresses, in its order (`_match` made sure no other person
        holds one of them)."""
        if not contacts:
            return
        await self._conn.execute(delete(person_emails).where(
            person_emails.c.person_id.in_([i for i, _ in contacts])))
        rows = [{"address": a, "person_id": i, "position": n}
                for i, c in contacts for n, a in enumerate(c.emails)]
        if rows:
            await self._conn.execute(person_emails.insert(), rows)

    # --- reading ----------------------------------------------------------------------

    async def resolve(self, kind: str, text: str) -> list[int]:
        text = " ".join(text.split())
        match = _ID.fullmatch(text)
        if match is not None:
            table = TABLES[kind]
            found = (await self._conn.execute(
                select(table.c.id).where(table.c.id == int(match.group(1))))).scalar()
            if found is not None or text.startswith("#"):
                return [] if found is None else [int(found)]
        return [entry_id for entry_id, names in await self._names(kind)
                if text.casefold() in names]

    async def search(self, kind: str, text: str, limit: int) -> list[int]:
        exact = await self.resolve(kind, text)
        if exact:
            return exact[:limit]
        needle = " ".join(text.split()).casefold()
        digits = _digits(needle) if kind == "contacts" and len(_digits(needle)) >= 4 else ""
        found = [entry_id for entry_id, names in await self._names(kind)
                 if any(needle in n or (digits and digits in _digits(n)) for n in names)]
        return found[:limit]

    async def _names(self, kind: str) -> list[tuple[int, tuple[str, ...]]]:
        """Each entry with the words it is known by, case-folded: its title, and a
        company's domains, a contact's addresses and phone, an object's address."""
        if kind == "contacts":
            contacts = await self._contacts()
            unique = {s.id: s for s in contacts.values()}
            rows = await self._conn.execute(
                select(people.c.id, people.c.name, people.c.phone)
                .where(people.c.role == Role.CLIENT.value).order_by(people.c.id))
            return [(r.id, (r.name.casefold(), *(unique[r.id].emails if r.id in unique else ()),
                            *((r.phone,) if r.phone else ()))) for r in rows]
        table = TABLES[kind]
        title = table.c[_TITLE[kind]]
        more = {"companies": companies.c.domains, "objects": service_objects.c.address}
        second = more.get(kind, title)
        rows = await self._conn.execute(select(table.c.id, title, second).order_by(table.c.id))
        return [(r[0], (r[1].casefold(), *(r[2].casefold().split() if kind == "companies"
                                           else [r[2].casefold()]))) for r in rows]

    async def cards(self, kind: str, ids: Sequence[int]) -> list[Card]:
        if not ids:
            return []
        table = TABLES[kind]
        rows = (await self._conn.execute(select(table).where(table.c.id.in_(ids))
                                         .order_by(table.c.id))).all()
        names = await self._names_of(
            [r.company_id for r in rows if getattr(r, "company_id", None)],
            [r.manager_id for r in rows if r.manager_id])
        open_counts: dict[int, int] = dict((await self._conn.execute(
            select(TICKET_LINK[kind], func.count()).where(TICKET_LINK[kind].in_(ids), _OPEN)
            .group_by(TICKET_LINK[kind]))).all())
        facts = await _FACTS[kind](self, rows)
        return [Card(kind=kind, id=r.id, title=getattr(r, _TITLE[kind]),
                     company_id=getattr(r, "company_id", None),
                     company=names[0].get(getattr(r, "company_id", None) or 0),
                     manager_id=r.manager_id, manager=names[1].get(r.manager_id or 0),
                     facts=facts.get(r.id, ()), open_tickets=open_counts.get(r.id, 0))
                for r in rows]

    async def _names_of(self, company_ids: Iterable[int],
                        person_ids: Iterable[int]) -> tuple[dict[int, str], dict[int, str]]:
        found_companies = dict((await self._conn.execute(
            select(companies.c.id, companies.c.name)
            .where(companies.c.id.in_(set(company_ids))))).all())
        found_people = dict((await self._conn.execute(
            select(people.c.id, people.c.name)
            .where(people.c.id.in_(set(person_ids))))).all())
        return found_companies, found_people

    async def company_of(self, kind: str, entry_id: int) -> int | None:
        table = TABLES[kind]
        column = table.c.id if kind == "companies" else table.c.company_id
        found = (await self._conn.execute(select(column).where(table.c.id == entry_id))).scalar()
        return None if found is None else int(found)

    async def manager_of(self, kind: str, entry_id: int) -> int | None:
        table = TABLES[kind]
        found = (await self._conn.execute(
            select(table.c.manager_id).where(table.c.id == entry_id))).scalar()
        return None if found is None else int(found)

    async def ticket_numbers(self, where: TicketFilter) -> list[int]:
        t = tickets.c
        wanted: list[ColumnElement[bool]] = [
            column == value for column, value in (
                (t.company_id, where.company_id), (t.requester_id, where.contact_id),
                (t.responsible_id, where.responsible_id), (t.contract_id, where.contract_id),
                (t.object_id, where.object_id), (t.equipment_id, where.equipment_id),
                (t.status, where.status)) if value is not None]
        stmt = select(t.number).where(true(), *wanted).order_by(t.number.desc()).limit(where.limit)
        return [int(n) for n in (await self._conn.execute(stmt)).scalars()]

    async def rows(self, kind: str) -> list[dict[str, str]]:
        return await _ROWS[kind](self)


# --- facts on cards, per directory ---------------------------------------------------------

Facts = dict[int, tuple[tuple[str, str], ...]]


async def _company_facts(d: SqlDirectory, rows: Sequence[Any]) -> Facts:
    ids = [r.id for r in rows]
    counted: dict[str, dict[int, int]] = {}
    for name, table in (("contacts", people), ("contracts", contracts),
                        ("objects", service_objects), ("equipment", equipment)):
        counted[name] = dict((await d._conn.execute(
            select(table.c.company_id, func.count()).where(table.c.company_id.in_(ids))
            .group_by(table.c.company_id))).all())
    return {r.id: (("domains", r.domains),
                   *((name, str(n[r.id])) for name, n in counted.items() if n.get(r.id)))
            for r in rows}


async def _contact_facts(d: SqlDirectory, rows: Sequence[Any]) -> Facts:
    emails: dict[int, list[str]] = {}
    for address, person_id in await d._conn.execute(
            select(person_emails.c.address, person_emails.c.person_id)
            .where(person_emails.c.person_id.in_([r.id for r in rows]))
            .order_by(person_emails.c.position)):
        emails.setdefault(person_id, []).append(address)
    return {r.id: tuple((k, v) for k, v in (
        ("emails", " ".join(emails.get(r.id, ()))), ("phone", r.phone or ""),
        ("telegram_id", "" if r.telegram_id is None else str(r.telegram_id)),
        ("language", r.language)) if v) for r in rows}


async def _contract_facts(d: SqlDirectory, rows: Sequence[Any]) -> Facts:
    return {r.id: tuple((k, v) for k, v in (
        ("starts", r.starts.isoformat() if r.starts else ""),
        ("ends", r.ends.isoformat() if r.ends else ""), ("sla_policy", r.sla_policy or ""))
        if v) for r in rows}


async def _object_facts(d: SqlDirectory, rows: Sequence[Any]) -> Facts:
    counted: dict[int, int] = dict((await d._conn.execute(
        select(equipment.c.object_id, func.count())
        .where(equipment.c.object_id.in_([r.id for r in rows]))
        .group_by(equipment.c.object_id))).all())
    return {r.id: tuple((k, v) for k, v in (("address", r.address),
                                            ("equipment", str(counted.get(r.id, "")))) if v)
            for r in rows}


async def _equipment_facts(d: SqlDirectory, rows: Sequence[Any]) -> Facts:
    places = dict((await d._conn.execute(
        select(service_objects.c.id, service_objects.c.name)
        .where(service_objects.c.id.in_([r.object_id for r in rows if r.object_id])))
    ).all())
    return {r.id: tuple((k, v) for k, v in (("model", r.model),
                                            ("object", places.get(r.object_id or 0, "")))
                        if v) for r in rows}


_FACTS = {"companies": _company_facts, "contacts": _contact_facts,
          "contracts": _contract_facts, "objects": _object_facts,
          "equipment": _equipment_facts}


# --- export: the import's columns, names instead of ids ------------------------------------


async def _references(d: SqlDirectory) -> tuple[dict[int, str], dict[int, str]]:
    """Company names by id, and each staff person's first address by id (managers)."""
    names = dict((await d._conn.execute(select(companies.c.id, companies.c.name))).all())
    first: dict[int, str] = {}
    for person_id, address in await d._conn.execute(
            select(person_emails.c.person_id, person_emails.c.address)
            .join(people, people.c.id == person_emails.c.person_id)
            .where(people.c.role != Role.CLIENT.value)
            .order_by(person_emails.c.person_id, person_emails.c.position)):
        first.setdefault(person_id, address)
    return names, first


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


async def _export(d: SqlDirectory, kind: str, columns: dict[str, str]) -> list[dict[str, str]]:
    """`columns`: CSV column -> table column; company_id, manager_id and object_id are
    written as what the import reads (a name, an address)."""
    names, managers = await _references(d)
    places = dict((await d._conn.execute(
        select(service_objects.c.id, service_objects.c.name))).all())
    refs = {"company_id": names, "manager_id": managers, "object_id": places}
    table = TABLES[kind]
    rows = await d._conn.execute(select(table).order_by(table.c.id))
    return [{csv: (refs[col].get(getattr(r, col), "") if col in refs and getattr(r, col)
                   else _text(getattr(r, col))) for csv, col in columns.items()} for r in rows]


async def _company_rows(d: SqlDirectory) -> list[dict[str, str]]:
    return await _export(d, "companies", {"name": "name", "domains": "domains",
                                          "manager": "manager_id"})


async def _contact_rows(d: SqlDirectory) -> list[dict[str, str]]:
    names, managers = await _references(d)
    emails: dict[int, list[str]] = {}
    for address, person_id in await d._conn.execute(
            select(person_emails.c.address, person_emails.c.person_id)
            .order_by(person_emails.c.person_id, person_emails.c.position)):
        emails.setdefault(person_id, []).append(address)
    rows = await d._conn.execute(select(people).where(people.c.role == Role.CLIENT.value)
                                 .order_by(people.c.id))
    return [{"name": r.name, "emails": " ".join(emails.get(r.id, ())),
             "company": names.get(r.company_id or 0, ""), "telegram_id": _text(r.telegram_id),
             "phone": r.phone or "", "language": r.language,
             "manager": managers.get(r.manager_id or 0, "")} for r in rows]


async def _contract_rows(d: SqlDirectory) -> list[dict[str, str]]:
    return await _export(d, "contracts", {
        "number": "number", "company": "company_id", "starts": "starts", "ends": "ends",
        "sla_policy": "sla_policy", "manager": "manager_id"})


async def _object_rows(d: SqlDirectory) -> list[dict[str, str]]:
    return await _export(d, "objects", {"name": "name", "company": "company_id",
                                        "address": "address", "manager": "manager_id"})


async def _equipment_rows(d: SqlDirectory) -> list[dict[str, str]]:
    return await _export(d, "equipment", {"serial": "serial", "model": "model",
                                          "company": "company_id", "object": "object_id",
                                          "manager": "manager_id"})


_ROWS = {"companies": _company_rows, "contacts": _contact_rows, "contracts": _contract_rows,
         "objects": _object_rows, "equipment": _equipment_rows}
