"""F13 ratings through the real bus and store (SQLite and PostgreSQL): a survey per
resolution, routed to the requester's channel, cancelled by an early reopen, held back by
the cooldown; `record_rating` accepts the requester once and refuses everyone else."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import unquote

import pytest
from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from engine import commands as c
from engine import metrics as m
from engine.bus import MessageBus
from engine.model import Status
from engine.notify.kinds import NoticeKind
from engine.outbox import OutboxRow
from engine.ratings import (
    RatingBadScore,
    RatingNoSurvey,
    RatingNotRequester,
    RatingSettings,
    RatingTwice,
    read_vote,
)
from engine.settings import EngineSettings
from engine.store import tables as t
from engine.store.metrics_sql import monthly_report
from engine.store.outbox import OutboxStore
from engine.store.ratings_sql import record_rating, sql_rating_reactors
from engine.store.uow import sql_uow_factory
from tests.fakes import FixedClock
from tests.support_metrics import TZ_NAME, metrics_calendar

UTC = dt.UTC
SECRET = b"test-secret"
SPECIALIST, LEAD, CHAT_CLIENT, MAIL_CLIENT, OTHER = 1, 2, 10, 11, 12
T0 = dt.datetime(2026, 2, 2, 7, 0, tzinfo=UTC)  # Monday 10:00 in Moscow
SETTINGS = RatingSettings(delay_minutes=30, cooldown_days=3, reply_address="help@example.com")


@dataclass
class Desk:
    engine: AsyncEngine
    bus: MessageBus
    clock: FixedClock
    outbox: OutboxStore

    async def open(self, requester: int, at: dt.datetime, channel: str = "telegram") -> int:
        outcome = await self.bus.handle(c.OpenTicket(
            actor=requester, channel=channel, at=at, subject="Printer", description="Jammed"))
        assert outcome.ticket is not None
        return outcome.ticket

    async def status(self, number: int, status: Status, at: dt.datetime,
                     actor: int = LEAD) -> None:
        await self.bus.handle(c.SetStatus(actor=actor, channel="telegram", at=at,
                                          ticket=number, status=status))

    async def surveys(self) -> list[OutboxRow]:
        rows = await self.outbox.claim("telegram", dt.datetime(2100, 1, 1, tzinfo=UTC), 100,
                                       dt.timedelta(seconds=1))
        rows += await self.outbox.claim("email", dt.datetime(2100, 1, 1, tzinfo=UTC), 100,
                                        dt.timedelta(seconds=1))
        return [r for r in rows if r.kind == NoticeKind.RATING_REQUEST]


async def _people(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(t.people), [
            {"id": SPECIALIST, "name": "Sam", "role": "specialist", "telegram_id": 501,
             "language": "en"},
            {"id": LEAD, "name": "Lena", "role": "lead", "telegram_id": 502, "language": "en"},
            {"id": CHAT_CLIENT, "name": "Kate", "role": "client", "telegram_id": 510,
             "language": "ru"},
            {"id": MAIL_CLIENT, "name": "Mark", "role": "client", "telegram_id": None,
             "language": "en"},
            {"id": OTHER, "name": "Olga", "role": "client", "telegram_id": 512,
             "language": "en"}])
        await conn.execute(insert(t.person_emails), [
            {"address": "mark@client.example", "person_id": MAIL_CLIENT, "position": 0}])


@pytest.fixture
async def desk(engine: AsyncEngine) -> Desk:
    await _people(engine)
    clock = FixedClock(T0)
    bus = MessageBus(sql_uow_factory(engine, clock), clock, EngineSettings(),
                     sql_rating_reactors(SETTINGS, SECRET))
    return Desk(engine, bus, clock, OutboxStore(engine))


async def _rows(engine: AsyncEngine, table: Table) -> list[dict[str, object]]:
    async with engine.connect() as conn:
        return [dict(r._mapping) for r in await conn.execute(select(table))]


async def test_resolve_asks_a_telegram_requester_with_buttons_for_them_alone(desk: Desk) -> None:
    number = await desk.open(CHAT_CLIENT, T0)
    await desk.status(number, Status.RESOLVED, T0 + dt.timedelta(hours=2))
    [row] = await desk.surveys()
    assert (row.channel, row.recipient, row.person_id, row.language) == (
        "telegram", "510", CHAT_CLIENT, "ru")
    assert row.not_before == T0 + dt.timedelta(hours=2, minutes=30)
    assert row.payload["only_user"] == 510
    votes = [read_vote(SECRET, choice["token"]) for choice in row.payload["choices"]]
    assert [(v.ticket, v.score, v.resolution_at) for v in votes if v] == [
        (number, s, T0 + dt.timedelta(hours=2)) for s in range(1, 6)]
    assert all(len(choice["token"]) <= 64 for choice in row.payload["choices"])


async def test_mail_requester_gets_one_click_links_carrying_a_signed_vote(desk: Desk) -> None:
    number = await desk.open(MAIL_CLIENT, T0, channel="email")
    await desk.status(number, Status.RESOLVED, T0 + dt.timedelta(hours=1))
    [row] = await desk.surveys()
    assert (row.channel, row.recipient) == ("email", "mark@client.example")
    link = row.payload["links"][3]
    assert link["href"].startswith("mailto:help@example.com?subject=")
    vote = read_vote(SECRET, unquote(link["href"]))
    assert vote is not None and (vote.ticket, vote.score) == (number, 4)


async def test_a_reopen_before_the_survey_goes_out_cancels_it(desk: Desk) -> None:
    number = await desk.open(CHAT_CLIENT, T0)
    await desk.status(number, Status.RESOLVED, T0 + dt.timedelta(hours=1))
    await desk.bus.handle(c.AddComment(actor=CHAT_CLIENT, channel="telegram",
                                       at=T0 + dt.timedelta(hours=1, minutes=10),
                                       ticket=number, body="Still jammed", public=True))
    assert await desk.surveys() == []  # the outbox row is failed, never claimed
    [survey] = await _rows(desk.engine, t.rating_surveys)
    assert survey["status"] == "cancelled"
    with pytest.raises(RatingNoSurvey):
        await record_rating(desk.engine, number, CHAT_CLIENT, 5, T0 + dt.timedelta(hours=2))


async def test_a_reopen_after_the_survey_went_out_keeps_it(desk: Desk) -> None:
    number = await desk.open(CHAT_CLIENT, T0)
    await desk.status(number, Status.RESOLVED, T0 + dt.timedelta(hours=1))
    [row] = await desk.surveys()
    await desk.outbox.mark_sent(row.id, T0 + dt.timedelta(hours=2), {})
    await desk.status(number, Status.OPEN, T0 + dt.timedelta(hours=3))
    stored = await record_rating(desk.engine, number, CHAT_CLIENT, 2,
                                 T0 + dt.timedelta(hours=4))
    assert stored.resolution_at == T0 + dt.timedelta(hours=1)


async def test_cooldown_keeps_a_person_from_being_asked_too_often(desk: Desk) -> None:
    first, second, third = [await desk.open(CHAT_CLIENT, T0) for _ in range(3)]
    await desk.status(first, Status.RESOLVED, T0 + dt.timedelta(hours=1))
    await desk.status(second, Status.RESOLVED, T0 + dt.timedelta(days=2))  # within 3 days
    await desk.status(third, Status.RESOLVED, T0 + dt.timedelta(days=3, hours=1))
    assert sorted(r.ticket for r in await desk.surveys() if r.ticket) == [first, third]


async def test_staff_resolving_their_own_request_is_not_surveyed(desk: Desk) -> None:
    number = await desk.open(SPECIALIST, T0)
    await desk.status(number, Status.RESOLVED, T0 + dt.timedelta(hours=1))
    assert await desk.surveys() == []


async def test_record_rating_takes_the_requester_once_and_refuses_the_rest(desk: Desk) -> None:
    number = await desk.open(CHAT_CLIENT, T0)
    await desk.status(number, Status.RESOLVED, T0 + dt.timedelta(hours=1))
    at = T0 + dt.timedelta(hours=5)
    with pytest.raises(RatingNotRequester):
        await record_rating(desk.engine, number, OTHER, 5, at)
    for bad in (0, 6):
        with pytest.raises(RatingBadScore):
            await record_rating(desk.engine, number, CHAT_CLIENT, bad, at)
    stored = await record_rating(desk.engine, number, CHAT_CLIENT, 4, at)
    with pytest.raises(RatingTwice):
        await record_rating(desk.engine, number, CHAT_CLIENT, 5, at)
    assert stored.score == 4
    assert [(r["person_id"], r["score"]) for r in await _rows(desk.engine, t.ratings)] == [
        (CHAT_CLIENT, 4)]


async def test_a_signed_vote_finds_a_resolution_stamped_with_microseconds(desk: Desk) -> None:
    number = await desk.open(CHAT_CLIENT, T0)
    resolved = T0 + dt.timedelta(hours=1, microseconds=654321)
    await desk.status(number, Status.RESOLVED, resolved)
    [row] = await desk.surveys()
    vote = read_vote(SECRET, row.payload["choices"][4]["token"])
    assert vote is not None and vote.resolution_at == resolved.replace(microsecond=0)
    stored = await record_rating(desk.engine, number, CHAT_CLIENT, vote.score,
                                 T0 + dt.timedelta(hours=2), resolution_at=vote.resolution_at)
    assert (stored.resolution_at, stored.score) == (resolved, 5)


async def test_a_ticket_never_surveyed_cannot_be_rated(desk: Desk) -> None:
    number = await desk.open(CHAT_CLIENT, T0)
    with pytest.raises(RatingNoSurvey):
        await record_rating(desk.engine, number, CHAT_CLIENT, 5, T0 + dt.timedelta(hours=1))


async def test_each_resolution_is_rated_once(engine: AsyncEngine) -> None:
    await _people(engine)
    clock = FixedClock(T0)
    no_cooldown = RatingSettings(delay_minutes=0, cooldown_days=0)
    bus = MessageBus(sql_uow_factory(engine, clock), clock, EngineSettings(),
                     sql_rating_reactors(no_cooldown, SECRET))
    desk = Desk(engine, bus, clock, OutboxStore(engine))
    number = await desk.open(CHAT_CLIENT, T0)
    first, second = T0 + dt.timedelta(hours=1), T0 + dt.timedelta(hours=3)
    await desk.status(number, Status.RESOLVED, first)
    await record_rating(engine, number, CHAT_CLIENT, 2, first + dt.timedelta(minutes=5))
    await desk.status(number, Status.OPEN, T0 + dt.timedelta(hours=2))
    await desk.status(number, Status.RESOLVED, second)
    await record_rating(engine, number, CHAT_CLIENT, 5, second + dt.timedelta(minutes=5))
    with pytest.raises(RatingTwice):
        await record_rating(engine, number, CHAT_CLIENT, 5, second, resolution_at=first)
    rows = await _rows(engine, t.ratings)
    assert sorted((r["resolution_at"], r["score"]) for r in rows) == [(first, 2), (second, 5)]


async def test_record_rating_inside_a_unit_of_work_commits_with_it(desk: Desk) -> None:
    number = await desk.open(CHAT_CLIENT, T0)
    await desk.status(number, Status.RESOLVED, T0 + dt.timedelta(hours=1))
    uow_factory = sql_uow_factory(desk.engine, desk.clock)
    async with uow_factory() as uow:
        await record_rating(uow, number, CHAT_CLIENT, 3, T0 + dt.timedelta(hours=2))
    assert await _rows(desk.engine, t.ratings) == []  # left without commit: rolled back
    async with uow_factory() as uow:
        await record_rating(uow, number, CHAT_CLIENT, 3, T0 + dt.timedelta(hours=2))
        await uow.commit()
    assert len(await _rows(desk.engine, t.ratings)) == 1


async def test_flow_through_the_bus_shows_in_the_report(desk: Desk) -> None:
    """Monday 10:00 MSK open, 12:00-15:00 waiting on the client, resolved Tuesday 10:00,
    rated 4: one day of calendar time, 9 business hours, 3 of them on the client."""
    number = await desk.open(CHAT_CLIENT, T0)
    await desk.bus.handle(c.Take(actor=SPECIALIST, channel="telegram",
                                 at=T0 + dt.timedelta(hours=1), ticket=number))
    await desk.bus.handle(c.SetStatus(actor=SPECIALIST, channel="telegram",
                                      at=T0 + dt.timedelta(hours=2), ticket=number,
                                      status=Status.WAITING,
                                      until=T0 + dt.timedelta(days=2)))
    await desk.bus.handle(c.AddComment(actor=CHAT_CLIENT, channel="telegram",
                                       at=T0 + dt.timedelta(hours=5), ticket=number,
                                       body="Here it is", public=True))
    await desk.status(number, Status.RESOLVED, T0 + dt.timedelta(days=1))
    await record_rating(desk.engine, number, CHAT_CLIENT, 4, T0 + dt.timedelta(days=1, hours=1))
    report = await monthly_report(desk.engine, m.Period(2026, 2), timezone=TZ_NAME,
                                  calendar=metrics_calendar(), now=T0 + dt.timedelta(days=3))
    line = report.total.second_line
    assert (line.opened, line.closed, line.open_at_end) == (1, 1, 0)
    assert (line.resolution.calendar.mean, line.resolution.business.mean) == (86400, 9 * 3600)
    assert (line.on_client.calendar.mean, line.on_client.business.mean) == (3 * 3600, 3 * 3600)
    assert line.on_specialist.calendar.mean == 21 * 3600
    assert line.on_specialist.business.mean == 6 * 3600
    assert (line.rating.count, line.rating.mean) == (1, 4.0)
    [sam] = report.specialists
    assert (sam.name, sam.figures.second_line.rating.mean) == ("Sam", 4.0)
