"""The read side for the CLI and the channels: plain, JSON-serialisable dicts (ISO times).

Each call reads in one transaction that takes no write lock, so an export is consistent
and never holds up the service."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, Select, select, true
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from engine.model import Status
from engine.store.db import reading
from engine.store.tables import (
    attachments,
    comments,
    companies,
    contracts,
    dialogs,
    equipment,
    events,
    inbound,
    message_refs,
    outbox,
    people,
    person_emails,
    service_objects,
    telegram_messages,
    ticket_observers,
    ticket_tags,
    tickets,
)

Plain = dict[str, Any]


def _plain(row: Mapping[str, Any]) -> Plain:
    return {k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in row.items()}


async def _all(conn: AsyncConnection, stmt: Select[Any]) -> list[Plain]:
    return [_plain(r) for r in (await conn.execute(stmt)).mappings()]


def _group(rows: Iterable[Plain], key: str) -> dict[Any, list[Plain]]:
    grouped: dict[Any, list[Plain]] = {}
    for row in rows:
        grouped.setdefault(row.pop(key), []).append(row)
    return grouped


async def list_tickets(engine: AsyncEngine, status: Status | str | None = None) -> list[Plain]:
    where = true() if status is None else tickets.c.status == Status(status).value
    async with reading(engine) as conn:
        return await _all(conn, select(tickets).where(where).order_by(tickets.c.number))


async def ticket_detail(engine: AsyncEngine, number: int) -> Plain | None:
    """The ticket with observers, tags, comments (attachments by name, size, sha256;
    not their bytes) and its event trail; None if there is no such ticket."""
    async with reading(engine) as conn:
        found = await _tickets(conn, tickets.c.number == number)
    return found[0] if found else None


async def export_all(engine: AsyncEngine) -> Plain:
    """Everything the service knows, for audits and tests: the directory, every ticket
    with its trail, the desk's own events (no ticket: contacts registered, addresses
    suppressed, mails ignored), every inbound message (without raw bytes) and every
    outbound row."""
    async with reading(engine) as conn:
        found = {
            "people": await _people(conn),
            "companies": await _companies(conn),
            # F11: the other directories, as stored (ids; the CSV export names them).
            **{name: await _all(conn, select(table).order_by(table.c.id)) for name, table in (
                ("contracts", contracts), ("objects", service_objects),
                ("equipment", equipment))},
            "tickets": await _tickets(conn, true()),
            "desk_events": await _desk_events(conn),
            "dialogs": await _all(conn, select(dialogs).order_by(dialogs.c.id)),
            "chat_messages": await _chat_messages(conn),
            "inbound": await _all(conn, select(*[c for c in inbound.c if c.name != "raw"])
                                  .order_by(inbound.c.id)),
            "outbound": await _all(conn, select(outbox).order_by(outbox.c.id)),
        }
    _name_people(found)
    return found


# Fields that hold a person id, by section: each gets a `<field>_name` beside it, so an
# export reads without looking ids up (who asked, who answered, who acted).
_PERSON_FIELDS = {
    "tickets": ("requester_id", "responsible_id", "creator_id"),
    "dialogs": ("author_id", "answered_by"),
    "chat_messages": ("author_id",),
}


def _name_people(found: Plain) -> None:
    names = {p["id"]: p["name"] for p in found["people"]}
    for section, keys in _PERSON_FIELDS.items():
        for row in found[section]:
            for key in keys:
                row[f"{key}_name"] = names.get(row.get(key))
    for ticket in found["tickets"]:
        for item in (*ticket["comments"], *ticket["events"]):
            key = "author_id" if "author_id" in item else "actor"
            item[f"{key}_name"] = names.get(item.get(key))


async def _chat_messages(conn: AsyncConnection) -> list[Plain]:
    """The support group's messages, each with the ticket it belongs to (if any)."""
    found = await _all(conn, select(telegram_messages).order_by(
        telegram_messages.c.chat_id, telegram_messages.c.message_id))
    refs = {r["ref"]: r["ticket"] for r in await _all(
        conn, select(message_refs.c.ref, message_refs.c.ticket)
        .where(message_refs.c.ref.like("tg:%")))}
    for m in found:
        m["ticket"] = refs.get(f"tg:{m['chat_id']}:{m['message_id']}")
    return found


async def _tickets(conn: AsyncConnection, where: ColumnElement[bool]) -> list[Plain]:
    numbers = select(tickets.c.number).where(where)
    found = await _all(conn, select(tickets).where(where).order_by(tickets.c.number))
    observers = await _values(conn, ticket_observers.c.person_id, numbers)
    tags = await _values(conn, ticket_tags.c.tag, numbers)
    trail = await _comments(conn, numbers)
    log = _group(await _all(conn, select(events).where(events.c.ticket.in_(numbers))
                            .order_by(events.c.id)), "ticket")
    for t in found:
        n = t["number"]
        t.update(observers=observers.get(n, []), tags=tags.get(n, []),
                 comments=trail.get(n, []), events=log.get(n, []))
    return found


async def _desk_events(conn: AsyncConnection) -> list[Plain]:
    return await _all(conn, select(*[c for c in events.c if c.name != "ticket"])
                      .where(events.c.ticket.is_(None)).order_by(events.c.id))


async def _values(conn: AsyncConnection, column: Any, numbers: Any) -> dict[int, list[Any]]:
    table = column.table
    rows = await conn.execute(select(table.c.ticket, column)
                              .where(table.c.ticket.in_(numbers)).order_by(column))
    grouped: dict[int, list[Any]] = {}
    for number, value in rows:
        grouped.setdefault(number, []).append(value)
    return grouped


async def _comments(conn: AsyncConnection, numbers: Any) -> dict[int, list[Plain]]:
    files = _group(await _all(conn, select(
        attachments.c.id, attachments.c.comment_id, attachments.c.filename,
        attachments.c.content_type, attachments.c.declared_type, attachments.c.size,
        attachments.c.sha256, attachments.c.refused,
    ).where(attachments.c.ticket.in_(numbers)).order_by(attachments.c.id)), "comment_id")
    rows = await _all(conn, select(comments).where(comments.c.ticket.in_(numbers))
                      .order_by(comments.c.id))
    for c in rows:
        c["attachments"] = files.get(c["id"], [])
    return _group(rows, "ticket")


async def _people(conn: AsyncConnection) -> list[Plain]:
    addresses = _group(await _all(conn, select(person_emails.c.person_id, person_emails.c.address)
                                  .order_by(person_emails.c.position, person_emails.c.address)),
                       "person_id")
    found = await _all(conn, select(people).order_by(people.c.id))
    for p in found:
        p["emails"] = [a["address"] for a in addresses.get(p["id"], [])]
    return found


async def _companies(conn: AsyncConnection) -> list[Plain]:
    found = await _all(conn, select(companies).order_by(companies.c.id))
    for c in found:
        c["domains"] = c["domains"].split()
    return found


async def person_names(engine: AsyncEngine) -> dict[int, str]:
    async with reading(engine) as conn:
        rows = await conn.execute(select(people.c.id, people.c.name))
        return {row.id: row.name for row in rows}


async def company_domains(engine: AsyncEngine) -> dict[str, int]:
    """Company id by each of its mail domains."""
    async with reading(engine) as conn:
        rows = await conn.execute(select(companies.c.id, companies.c.domains))
        return {d: company_id for company_id, domains in rows for d in domains.split()}
