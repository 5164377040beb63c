"""The first line's dialogs are written by an engine command (`RecordDialogs`), one batch
at a time, with a desk event when a question is asked and when it is first answered, so
staff see the first line in the event log and `ticketbot export`. Engine rules on the
fakes; storage on SQLite and PostgreSQL; a group day through the real python-telegram-bot
application, and the same day with a restart and a crash in the middle."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.telegram.understand.dialogs import Line
from bot.storage.telegram_sql import TelegramSqlStore
from engine import commands as c
from engine import errors
from engine import events as e
from engine.bus import MessageBus
from engine.chatrefs import ref
from engine.dialogs import Dialog, Part, StoredMessage
from engine.model import Person, Role
from engine.settings import EngineSettings
from engine.store import tables
from engine.store.db import reading
from engine.store.queries import export_all
from engine.store.uow import sql_uow_factory
from tests.fakes import FakeUnitOfWork, FixedClock, Store
from tests.support_telegram import ANNA, BORIS, SAM, SUPPORT, Harness, harness, sqlite_harness

__all__ = ["harness", "sqlite_harness"]

UTC = dt.UTC
T0 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
CHAT = -100
ASKER, SPECIALIST, CLIENT = 1, 2, 3


def _question(message_id: int = 7, at: dt.datetime = T0) -> Dialog:
    return Dialog(chat_id=CHAT, author_id=ASKER, first_message_id=message_id, started_at=at,
                  last_message_at=at, parts=(Part(message_id, ASKER, "VPN is down"),))


def _message(dialog: Dialog) -> StoredMessage:
    return StoredMessage(chat_id=CHAT, message_id=dialog.first_message_id, author_id=ASKER,
                         dialog_ref=dialog.key, reply_to=None, text=dialog.text,
                         sent_at=dialog.started_at)


def _batch(*dialogs: Dialog, settles: tuple[int, ...] = (),
           actor: int | None = None) -> c.RecordDialogs:
    return c.RecordDialogs(actor=actor, channel="telegram", dialogs=dialogs,
                           messages=tuple(_message(d) for d in dialogs), settles=settles)


def _asked(dialog: Dialog) -> e.QuestionAsked:
    return e.QuestionAsked(actor=ASKER, at=dialog.started_at, channel="telegram",
                           dialog=dialog.key, chat_id=CHAT)


def _answered(dialog: Dialog, seconds: int, ticket: int | None = None) -> e.QuestionAnswered:
    assert dialog.answered_at is not None
    return e.QuestionAnswered(actor=SPECIALIST, at=dialog.answered_at, channel="telegram",
                              dialog=dialog.key, chat_id=CHAT, asked_by=ASKER,
                              response_seconds=seconds, became=ticket)


# ------------------------------------------------------------------ the engine, on fakes

@pytest.fixture
def store() -> Store:
    return Store(people={p.id: p for p in (
        Person(ASKER, "Anna", Role.CLIENT), Person(SPECIALIST, "Sam", Role.SPECIALIST),
        Person(CLIENT, "Carl", Role.CLIENT))})


@pytest.fixture
def bus(store: Store) -> MessageBus:
    return MessageBus(lambda: FakeUnitOfWork(store), FixedClock(), EngineSettings())


async def test_a_new_question_is_stored_with_one_event(bus: MessageBus, store: Store) -> None:
    question = _question()
    outcome = await bus.handle(_batch(question, settles=(11, 12)))
    assert (outcome.ticket, outcome.events) == (None, ())
    assert outcome.desk_events == (_asked(question),)
    assert store.dialogs == {question.key: question}
    assert list(store.chat_messages) == [(CHAT, 7)] and store.settled == [11, 12]
    assert store.desk_events == [_asked(question)] and store.events == []


async def test_a_follow_up_records_nothing_and_the_answer_records_once(
        bus: MessageBus, store: Store) -> None:
    question = _question()
    await bus.handle(_batch(question))
    follow_up = question.joined(Line(chat_id=CHAT, message_id=8, author_id=ASKER,
                                     text="since 9", date=T0 + dt.timedelta(minutes=2)))
    assert (await bus.handle(_batch(follow_up))).desk_events == ()
    answer = follow_up.answered(SPECIALIST, T0 + dt.timedelta(minutes=5))
    assert (await bus.handle(_batch(answer))).desk_events == (_answered(answer, 300),)
    # The same batch again (a flush repeated), or a later change: nothing more.
    assert (await bus.handle(_batch(answer))).desk_events == ()
    assert (await bus.handle(_batch(replace(answer, status="ticket", ticket=4)))
            ).desk_events == ()
    assert store.desk_events == [_asked(question), _answered(answer, 300)]


async def test_asked_and_answered_in_one_batch_records_both(bus: MessageBus,
                                                            store: Store) -> None:
    answered = _question().answered(SPECIALIST, T0 + dt.timedelta(seconds=90))
    unanswered = _question(9, T0 + dt.timedelta(minutes=1))
    outcome = await bus.handle(_batch(answered, unanswered))
    assert outcome.desk_events == (_asked(answered), _answered(answered, 90),
                                   _asked(unanswered))


async def test_a_ticket_made_of_an_unanswered_question_answers_it(bus: MessageBus,
                                                                  store: Store) -> None:
    question = _question()
    await bus.handle(_batch(question))
    promoted = replace(question.answered(SPECIALIST, T0 + dt.timedelta(minutes=1)),
                       status="ticket", ticket=5)
    outcome = await bus.handle(_batch(promoted))
    assert outcome.desk_events == (_answered(promoted, 60, ticket=5),)


async def test_a_client_cannot_record_dialogs(bus: MessageBus, store: Store) -> None:
    with pytest.raises(errors.NotAllowed):
        await bus.handle(_batch(_question(), actor=CLIENT))
    assert (store.dialogs, store.desk_events) == ({}, [])


# ------------------------------------------------------------------ stored and exported

async def test_a_batch_sent_twice_is_stored_and_exported_once(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(tables.people.insert(), [
            {"id": ASKER, "name": "Anna", "role": "client"},
            {"id": SPECIALIST, "name": "Sam", "role": "specialist"}])
    bus = MessageBus(sql_uow_factory(engine, FixedClock()), FixedClock(), EngineSettings())
    answer = _question().answered(SPECIALIST, T0 + dt.timedelta(minutes=5))
    later = _question(9, T0 + dt.timedelta(minutes=6))
    for _ in range(2):
        await bus.handle(_batch(answer, later))
    data = await export_all(engine)
    assert [(d["kind"], d["actor"], d["at"], d["payload"]) for d in data["desk_events"]] == [
        ("question_asked", ASKER, T0.isoformat(), {"dialog": answer.key, "chat_id": CHAT}),
        ("question_answered", SPECIALIST, (T0 + dt.timedelta(minutes=5)).isoformat(),
         {"dialog": answer.key, "chat_id": CHAT, "asked_by": ASKER, "response_seconds": 300,
          "became": None}),
        ("question_asked", ASKER, later.started_at.isoformat(),
         {"dialog": later.key, "chat_id": CHAT})]
    async with reading(engine) as conn:
        rows = (await conn.execute(select(tables.dialogs.c.first_ref, tables.dialogs.c.status,
                                          tables.dialogs.c.response_seconds)
                                   .order_by(tables.dialogs.c.id))).all()
    assert [tuple(r) for r in rows] == [(answer.key, "answered", 300),
                                        (later.key, "open", None)]


# ------------------------------------------------------------------ a group day, end to end

async def _questions(h: Harness) -> list[tuple[str, int | None, str, dict[str, Any]]]:
    data = await export_all(h.db)
    return [(d["kind"], d["actor"], d["at"], d["payload"]) for d in data["desk_events"]
            if d["kind"].startswith("question_")]


async def _expected_day(h: Harness, question: int, boris: int) -> list[Any]:
    anna, sam = await h.person_id(ANNA), await h.person_id(SAM)
    first = ref(SUPPORT, question)
    return [
        ("question_asked", anna, T0.isoformat(), {"dialog": first, "chat_id": SUPPORT}),
        ("question_answered", sam, (T0 + dt.timedelta(minutes=5)).isoformat(),
         {"dialog": first, "chat_id": SUPPORT, "asked_by": anna, "response_seconds": 300,
          "became": None}),
        ("question_asked", await h.person_id(BORIS), (T0 + dt.timedelta(minutes=6)).isoformat(),
         {"dialog": ref(SUPPORT, boris), "chat_id": SUPPORT}),
    ]


async def _assert_day(h: Harness, question: int, boris: int) -> None:
    dialogs = await h.dialogs()
    assert [(d["text"], d["status"], d["response_seconds"]) for d in dialogs] == [
        ("The printer on floor 3 is jammed\nIt shows error E-42", "answered", 300),
        ("VPN doesn't connect", "open", None)]
    assert dialogs[0]["answered_by"] == await h.person_id(SAM)
    assert await _questions(h) == await _expected_day(h, question, boris)
    async with reading(h.db) as conn:
        statuses = (await conn.execute(select(tables.inbound.c.status).where(
            tables.inbound.c.channel == "telegram"))).scalars().all()
    assert set(statuses) == {"done"}


async def test_a_group_day_records_each_question_and_answer_once(harness: Harness) -> None:
    h = harness
    question = await h.say(ANNA, "The printer on floor 3 is jammed")
    await h.say(ANNA, "It shows error E-42", minutes=2)
    await h.say(SAM, "Open the tray and pull the sheet", reply_to=question, minutes=3)
    boris = await h.say(BORIS, "VPN doesn't connect", minutes=1)
    await _assert_day(h, question, boris)


async def test_a_restart_and_a_crash_mid_day_record_nothing_twice(
        sqlite_harness: Harness) -> None:
    h = sqlite_harness
    await h.start()
    question = await h.say(ANNA, "The printer on floor 3 is jammed")
    await h.say(ANNA, "It shows error E-42", minutes=2)
    await h.stop()  # a clean restart: the open dialog is read back at the next start
    # Then a crash: Sam's answer was journaled, never handled.
    h.clock.advance(minutes=3)
    answer = {"update_id": 500, "message": {
        "message_id": 4000, "date": int(h.clock.now().timestamp()),
        "text": "Open the tray and pull the sheet",
        "chat": {"id": SUPPORT, "type": "supergroup", "title": "Support"},
        "from": {"id": SAM.id, "is_bot": False, "first_name": "Sam", "username": "sam_spec"},
        "reply_to_message": h.fake.messages[(SUPPORT, question)]}}
    await TelegramSqlStore(h.db).journal([(500, json.dumps(answer).encode())], h.clock.now())
    await h.start()
    boris = await h.say(BORIS, "VPN doesn't connect", minutes=1)
    await h.stop()
    await h.start()  # nothing left to replay; the open dialog is read back once more
    await _assert_day(h, question, boris)
