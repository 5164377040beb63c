"""F13 in SQL: the survey log the rating reactor writes inside the resolving command's
transaction, and the votes `RateTicket` records in its own; `record_rating` stores a vote
directly (store-level tests and tools)."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from engine.bus import Reactor
from engine.handlers import Handler
from engine.ports import UnitOfWork
from engine.ratings import (
    CANCELLED,
    PENDING,
    RatingNoSurvey,
    RatingNotRequester,
    RatingSettings,
    RatingTwice,
    StoredRating,
    Survey,
    check_score,
    rate_handler,
    rating_reactors,
)
from engine.store.db import insert
from engine.store.tables import outbox, rating_surveys, ratings

log = logging.getLogger("ticketbot.ratings")

_CANCEL_REASON = "cancelled: ticket reopened before the rating survey went out"


def uow_connection(uow: UnitOfWork) -> AsyncConnection:
    """The SQL unit of work's connection: the survey log must write in the command's own
    transaction (a second connection would wait on SQLite's write lock for ever)."""
    conn = getattr(uow, "connection", None)
    if not isinstance(conn, AsyncConnection):
        raise TypeError("the rating survey log needs a SQL unit of work inside `async with`")
    return conn


class SqlSurveyLog:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def last_due(self, person_id: int) -> dt.datetime | None:
        s = rating_surveys.c
        stmt = (select(s.due_at).where(s.person_id == person_id, s.status == PENDING)
                .order_by(s.due_at.desc()).limit(1))
        found: dt.datetime | None = (await self._conn.execute(stmt)).scalar_one_or_none()
        return found

    async def add(self, survey: Survey) -> bool:
        """False when this resolution already has a survey (a replayed event)."""
        stmt = (insert(self._conn.dialect, rating_surveys).values(
            ticket=survey.ticket, resolution_at=survey.resolution_at,
            person_id=survey.person_id, outbox_key=survey.outbox_key, due_at=survey.due_at,
            status=PENDING,
        ).on_conflict_do_nothing(index_elements=["ticket", "resolution_at"])
            .returning(rating_surveys.c.id))
        return (await self._conn.execute(stmt)).first() is not None

    async def cancel_pending(self, ticket: int, now: dt.datetime) -> list[str]:
        """Cancel the surveys of `ticket` whose outbox row has not gone out (not sent and
        not held by a delivery worker right now) and that nobody answered yet (a digit
        reply can come before the question). Returns their outbox keys."""
        o, s = outbox.c, rating_surveys.c
        unsent = (select(o.key).where(o.sent_at.is_(None), o.failed_at.is_(None),
                                      (o.lease_until.is_(None)) | (o.lease_until <= now)))
        answered = exists().where(ratings.c.ticket == s.ticket,
                                  ratings.c.resolution_at == s.resolution_at)
        rows = await self._conn.execute(
            update(rating_surveys)
            .where(s.ticket == ticket, s.status == PENDING, s.outbox_key.in_(unsent), ~answered)
            .values(status=CANCELLED).returning(s.outbox_key))
        keys = [key for (key,) in rows]
        await self._fail(keys, now)
        return keys

    async def _fail(self, keys: list[str], now: dt.datetime) -> None:
        """A failed row is never claimed again: the delivery workers skip it."""
        if keys:
            await self._conn.execute(update(outbox).where(outbox.c.key.in_(keys))
                                     .values(failed_at=now, last_error=_CANCEL_REASON))


    async def record(self, ticket: int, person_id: int, score: int, at: dt.datetime,
                     scale: int, resolution_at: dt.datetime | None) -> StoredRating:
        stored = await _record(self._conn, ticket, person_id, score, at, scale, resolution_at)
        log.info("#%s rated %s by person %s", ticket, score, person_id)
        return stored


def survey_log(uow: UnitOfWork) -> SqlSurveyLog:
    return SqlSurveyLog(uow_connection(uow))


def sql_rating_reactors(settings: RatingSettings, secret: bytes) -> list[Reactor]:
    """`engine.ratings.rating_reactors` bound to this store: what the bootstrap wires."""
    return rating_reactors(settings, secret, survey_log)


def sql_rate_handler(settings: RatingSettings) -> Handler:
    """`engine.ratings.rate_handler` bound to this store."""
    return rate_handler(settings, survey_log)


# --- recording a vote ----------------------------------------------------------------------


async def _survey(conn: AsyncConnection, ticket: int,
                  resolution_at: dt.datetime | None) -> tuple[dt.datetime, int | None]:
    s = rating_surveys.c
    stmt = select(s.resolution_at, s.person_id).where(s.ticket == ticket, s.status == PENDING)
    if resolution_at is not None:
        # A token carries whole seconds; the stored resolution may have microseconds.
        second = resolution_at.replace(microsecond=0)
        stmt = stmt.where(s.resolution_at >= second,
                          s.resolution_at < second + dt.timedelta(seconds=1))
    row = (await conn.execute(stmt.order_by(s.resolution_at.desc()).limit(1))).first()
    if row is None:
        raise RatingNoSurvey(number=ticket)
    return row.resolution_at, row.person_id


async def _record(conn: AsyncConnection, ticket: int, person_id: int, score: int,
                  at: dt.datetime, scale: int, resolution_at: dt.datetime | None
                  ) -> StoredRating:
    check_score(score, scale)
    resolution, asked = await _survey(conn, ticket, resolution_at)
    if asked != person_id:
        raise RatingNotRequester(number=ticket)
    stmt = (insert(conn.dialect, ratings).values(
        ticket=ticket, resolution_at=resolution, person_id=person_id, score=score, at=at,
    ).on_conflict_do_nothing(index_elements=["ticket", "resolution_at"])
        .returning(ratings.c.id))
    if (await conn.execute(stmt)).first() is None:
        raise RatingTwice(number=ticket)
    return StoredRating(ticket, resolution, person_id, score, at)


async def record_rating(target: AsyncEngine | UnitOfWork, ticket: int, person_id: int,
                        score: int, at: dt.datetime, *, scale: int = 5,
                        resolution_at: dt.datetime | None = None) -> StoredRating:
    """Store a requester's score for the ticket's latest surveyed resolution (or the one a
    signed token names). Refuses, changing nothing: a score off the scale, a ticket never
    surveyed (or whose survey a reopen cancelled), anyone but the person asked, a second
    vote. With an engine it commits on its own; with a unit of work the caller commits."""
    if isinstance(target, AsyncEngine):
        async with target.begin() as conn:
            stored = await _record(conn, ticket, person_id, score, at, scale, resolution_at)
    else:
        stored = await _record(uow_connection(target), ticket, person_id, score, at, scale,
                               resolution_at)
    log.info("#%s rated %s by person %s", ticket, score, person_id)
    return stored
