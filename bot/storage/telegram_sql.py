"""`bot.channels.telegram.ports.ChatStore` on SQL: the Telegram channel's own rows: the update
journal (in `inbound`), first-line dialogs and messages (read here; the engine writes them,
`engine/store/dialogs_sql.py`), status cards and private-chat reachability. Reads take no
write lock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.channels.telegram.ports import (
    CHANNEL,
    FINISHED,
    LIST_LIMIT,
    Card,
    MyTickets,
    PersonRow,
    StoredMessage,
    TicketLine,
)
from bot.channels.telegram.understand.refs import parse_ref, ref
from engine.dialogs import Dialog, Part
from engine.store.db import insert, reading
from engine.store.tables import (
    dialogs,
    inbound,
    message_refs,
    outbox,
    people,
    telegram_cards,
    telegram_messages,
    telegram_users,
    ticket_observers,
    tickets,
)


def _dialog_from(row: Row[Any], parts: Sequence[Part]) -> Dialog:
    first = parse_ref(row.first_ref)
    assert first is not None
    return Dialog(chat_id=row.chat_id, author_id=row.author_id,
                  first_message_id=first.message_id, started_at=row.started_at,
                  last_message_at=row.last_message_at, parts=tuple(parts), status=row.status,
                  answered_at=row.answered_at, answered_by=row.answered_by, ticket=row.ticket,
                  id=row.id)


class TelegramSqlStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    # --- the update journal ---------------------------------------------------------------

    async def journal(self, updates: Sequence[tuple[int, bytes]],
                      at: dt.datetime) -> dict[int, int]:
        """Store a getUpdates batch in one statement before it is confirmed to Telegram;
        returns update id -> journal row id for the updates not seen before."""
        if not updates:
            return {}
        rows = [{"channel": CHANNEL, "external_id": str(u), "raw": raw, "received_at": at,
                 "status": "pending", "created_at": at} for u, raw in updates]
        async with self._engine.begin() as conn:
            stmt = (insert(conn.dialect, inbound)
                    .on_conflict_do_nothing(index_elements=["channel", "external_id"])
                    .returning(inbound.c.id, inbound.c.external_id))
            stored = await conn.execute(stmt, rows)
            return {int(external): row_id for row_id, external in stored}

    async def journal_answered(self, updates: Sequence[tuple[int, bytes]], at: dt.datetime,
                               refs: Sequence[tuple[int, str]]) -> None:
        rows = [{"channel": CHANNEL, "external_id": str(u), "raw": raw, "received_at": at,
                 "status": "done", "created_at": at} for u, raw in updates]
        async with self._engine.begin() as conn:
            if rows:
                await conn.execute(insert(conn.dialect, inbound).on_conflict_do_nothing(
                    index_elements=["channel", "external_id"]), rows)
            for ticket, text in refs:
                await _add_ref(conn, text, ticket, at)

    async def finish(self, ids: Iterable[int], status: str = "done") -> None:
        ids = list(ids)
        if ids:
            async with self._engine.begin() as conn:
                await _finish(conn, ids, status)

    # --- first line -----------------------------------------------------------------------

    async def open_dialogs(self, chat_ids: Sequence[int]) -> list[Dialog]:
        where = (dialogs.c.status == "open", dialogs.c.chat_id.in_(chat_ids))
        return await self._dialogs(select(dialogs).where(*where))

    async def dialog_of_message(self, chat_id: int, message_id: int) -> Dialog | None:
        key = (select(telegram_messages.c.dialog_ref)
               .where(telegram_messages.c.chat_id == chat_id,
                      telegram_messages.c.message_id == message_id).scalar_subquery())
        found = await self._dialogs(select(dialogs).where(dialogs.c.first_ref == key))
        return found[0] if found else None

    async def dialog(self, dialog_id: int) -> Dialog | None:
        found = await self._dialogs(select(dialogs).where(dialogs.c.id == dialog_id))
        return found[0] if found else None

    async def recent_questions(self, chat_id: int, limit: int) -> list[Dialog]:
        """The newest dialogs of a chat that are no ticket yet, newest first."""
        stmt = (select(dialogs).where(dialogs.c.chat_id == chat_id, dialogs.c.ticket.is_(None))
                .order_by(dialogs.c.started_at.desc(), dialogs.c.id.desc()).limit(limit))
        return await self._dialogs(stmt)

    async def message(self, chat_id: int, message_id: int) -> StoredMessage | None:
        stmt = select(telegram_messages).where(telegram_messages.c.chat_id == chat_id,
                                               telegram_messages.c.message_id == message_id)
        async with reading(self._engine) as conn:
            row = (await conn.execute(stmt)).one_or_none()
        return None if row is None else StoredMessage(**row._mapping)

    async def _dialogs(self, stmt: Any) -> list[Dialog]:
        async with reading(self._engine) as conn:
            rows = (await conn.execute(stmt)).all()
            parts = await _parts(conn, [r.first_ref for r in rows])
        return [_dialog_from(r, parts.get(r.first_ref, ())) for r in rows]

    # --- status cards ---------------------------------------------------------------------

    async def card(self, ticket: int, chat_id: int) -> Card | None:
        c = telegram_cards.c
        stmt = select(c.message_id, c.text).where(c.ticket == ticket, c.chat_id == chat_id)
        async with reading(self._engine) as conn:
            row = (await conn.execute(stmt)).one_or_none()
        return None if row is None else Card(row.message_id, row.text)

    async def save_card(self, ticket: int, chat_id: int, message_id: int, text: str,
                        at: dt.datetime) -> None:
        """The card as sent; a reply to it is about the ticket from now on."""
        async with self._engine.begin() as conn:
            stmt = insert(conn.dialect, telegram_cards).values(
                ticket=ticket, chat_id=chat_id, message_id=message_id, text=text, updated_at=at)
            await conn.execute(stmt.on_conflict_do_update(
                index_elements=["ticket", "chat_id"],
                set_={"message_id": stmt.excluded.message_id, "text": stmt.excluded.text,
                      "updated_at": stmt.excluded.updated_at}))
            await _add_ref(conn, ref(chat_id, message_id), ticket, at)

    async def sent_about(self, ticket: int, chat_id: int, message_id: int,
                         at: dt.datetime) -> None:
        """A message the bot sent about a ticket: replying to it addresses that ticket."""
        async with self._engine.begin() as conn:
            await _add_ref(conn, ref(chat_id, message_id), ticket, at)

    # --- private chats --------------------------------------------------------------------

    async def mark_started(self, user_id: int, username: str | None, at: dt.datetime) -> None:
        await self._user(user_id, username=username, started_at=at, blocked_at=None)

    async def mark_blocked(self, user_id: int, at: dt.datetime) -> None:
        await self._user(user_id, blocked_at=at)

    async def is_blocked(self, user_id: int) -> bool:
        stmt = select(telegram_users.c.blocked_at).where(telegram_users.c.user_id == user_id)
        async with reading(self._engine) as conn:
            blocked = (await conn.execute(stmt)).scalar_one_or_none()
        return blocked is not None

    async def reachable(self) -> set[int]:
        u = telegram_users.c
        stmt = select(u.user_id).where(u.started_at.is_not(None), u.blocked_at.is_(None))
        async with reading(self._engine) as conn:
            return set((await conn.execute(stmt)).scalars().all())

    async def _user(self, user_id: int, **values: Any) -> None:
        async with self._engine.begin() as conn:
            stmt = insert(conn.dialect, telegram_users).values(user_id=user_id, **values)
            await conn.execute(stmt.on_conflict_do_update(index_elements=["user_id"],
                                                          set_=values))

    # --- people and the outbox, read for the channel's own decisions ------------------------

    async def people(self) -> list[PersonRow]:
        p = people.c
        stmt = select(p.id, p.name, p.role, p.telegram_id, p.language, p.notify_via,
                      p.username, p.company_id)
        async with reading(self._engine) as conn:
            return [PersonRow(*row) for row in await conn.execute(stmt)]

    async def my_tickets(self, person_id: int) -> MyTickets:
        """Unfinished tickets a person works on, leads (created or asked for) and observes."""
        tk = tickets.c
        watched = select(ticket_observers.c.ticket).where(
            ticket_observers.c.person_id == person_id)
        leads = or_(tk.creator_id == person_id, tk.requester_id == person_id)
        async with reading(self._engine) as conn:
            doing = await _lines(conn, tk.responsible_id == person_id)
            leading = await _lines(conn, leads, _not_mine(person_id))
            observing = await _lines(conn, tk.number.in_(watched), _not_mine(person_id),
                                     ~leads)
        return MyTickets(doing, leading, observing)

    async def queue(self) -> list[TicketLine]:
        """Unassigned unfinished tickets, oldest first."""
        async with reading(self._engine) as conn:
            return await _lines(conn, tickets.c.responsible_id.is_(None))

    async def earlier_unsent(self, recipient: str, before: int,
                             now: dt.datetime) -> tuple[int, dt.datetime | None] | None:
        """The oldest undelivered row for the same chat before `before`: per-chat order
        means nothing may overtake it (a row waiting for a retry included)."""
        o = outbox.c
        stmt = (select(o.id, o.next_try)
                .where(o.channel == CHANNEL, o.recipient == recipient, o.id < before,
                       o.sent_at.is_(None), o.failed_at.is_(None),
                       (o.not_before.is_(None)) | (o.not_before <= now))
                .order_by(o.id).limit(1))
        async with reading(self._engine) as conn:
            row = (await conn.execute(stmt)).one_or_none()
        return None if row is None else (row.id, row.next_try)


async def _add_ref(conn: AsyncConnection, text: str, ticket: int, at: dt.datetime) -> None:
    # The first ticket a ref was seen with keeps it, as in `uow.refs`.
    await conn.execute(insert(conn.dialect, message_refs).values(
        ref=text, ticket=ticket, direction="out", created_at=at,
    ).on_conflict_do_nothing(index_elements=["ref"]))


async def _finish(conn: AsyncConnection, ids: Sequence[int], status: str) -> None:
    if ids:
        await conn.execute(update(inbound).where(inbound.c.id.in_(ids)).values(status=status))


async def _parts(conn: AsyncConnection, keys: Sequence[str]) -> dict[str, list[Part]]:
    if not keys:
        return {}
    m = telegram_messages.c
    rows = await conn.execute(select(m.dialog_ref, m.message_id, m.author_id, m.text)
                              .where(m.dialog_ref.in_(keys)).order_by(m.message_id))
    grouped: dict[str, list[Part]] = {}
    for key, message_id, author_id, text in rows:
        grouped.setdefault(key, []).append(Part(message_id, author_id, text))
    return grouped


def _not_mine(person_id: int) -> ColumnElement[bool]:
    return or_(tickets.c.responsible_id.is_(None), tickets.c.responsible_id != person_id)


async def _lines(conn: AsyncConnection, *where: ColumnElement[bool]) -> list[TicketLine]:
    tk = tickets.c
    stmt = (select(tk.number, tk.subject, tk.status, tk.created_at)
            .where(tk.status.not_in(FINISHED), *where)
            .order_by(tk.created_at, tk.number).limit(LIST_LIMIT))
    return [TicketLine(*row) for row in await conn.execute(stmt)]
