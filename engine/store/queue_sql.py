"""`/queue` views (F17) over SQL: unfinished tickets, oldest first, filtered by view."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.finding import QUEUE_LIMIT, Queue, QueueView
from engine.model import FINISHED
from engine.store.tables import tickets
from engine.store.uow import SqlTickets


def _overdue(now: dt.datetime) -> ColumnElement[bool]:
    """A target's due time has passed and the target is not met (first response answered;
    next response and resolution due times stand only while they are open)."""
    tk = tickets.c
    return or_(and_(tk.first_response_at.is_(None), tk.first_response_due < now),
                tk.next_response_due < now, tk.resolution_due < now)


def _where(view: QueueView, person: int | None, now: dt.datetime) -> ColumnElement[bool]:
    tk = tickets.c
    if view is QueueView.UNASSIGNED:
        return tk.responsible_id.is_(None)
    if view is QueueView.OVERDUE:
        return _overdue(now)
    if view in (QueueView.MINE, QueueView.PERSON):
        return tk.responsible_id == person
    return true()


async def queue(conn: AsyncConnection, view: QueueView, person: int | None,
                now: dt.datetime, limit: int = QUEUE_LIMIT) -> Queue:
    """`person`: whose tickets for MINE and PERSON."""
    where = and_(tickets.c.status.not_in([s.value for s in FINISHED]),
                 _where(view, person, now))
    total = (await conn.execute(select(func.count()).select_from(tickets).where(where)))\
        .scalar_one()
    numbers = (await conn.scalars(select(tickets.c.number).where(where)
                                  .order_by(tickets.c.created_at, tickets.c.number)
                                  .limit(limit))).all()
    store = SqlTickets(conn)
    found = [await store.get(n) for n in numbers]
    return Queue(tuple(t for t in found if t is not None), total)
