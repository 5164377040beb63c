"""Fixtures of the Telegram channel: the in-process fake Bot API (`tests/fakebotapi.py`), a
runtime on a real database with a fixed clock, and a harness that runs the real
python-telegram-bot application against the fake.

Import into a test module: `from tests.support_telegram import harness, ...`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.bootstrap import bootstrap
from bot.channels.telegram.receive.transport import FloodLimits
from bot.channels.telegram.service import Options, TelegramService
from bot.runtime import App
from bot.storage.telegram_sql import TelegramSqlStore
from config.answers import CannedAnswer
from config.settings import Settings, TelegramConfig, with_desks, with_sla
from engine import commands as c
from engine.backoff import Backoff
from engine.directory import PersonSpec
from engine.model import Comment, Ticket
from engine.ports import Clock
from engine.settings import EngineSettings
from engine.store import tables
from engine.store.db import reading
from tests.fakebotapi import TOKEN, FakeBotAPI, Running, User, serve
from tests.fakes import FixedClock

SUPPORT = -1001001
STAFF = -1002002
SECRET = b"test-secret-telegram"

LENA = User(101, "Lena", "lena_lead")
SAM = User(102, "Sam", "sam_spec")
OLGA = User(103, "Olga", "olga_spec", language_code="ru")
ANNA = User(201, "Anna", "anna_k")  # employees who ask; not in the config
BORIS = User(202, "Boris", language_code="ru")
OTHER_BOT = User(999, "Other", "other_bot", is_bot=True)

PEOPLE = (
    PersonSpec("Lena Lead", "lead", telegram_id=LENA.id, username="lena_lead"),
    PersonSpec("Sam Spec", "specialist", telegram_id=SAM.id, username="sam_spec"),
    PersonSpec("Olga Spec", "specialist", telegram_id=OLGA.id, username="olga_spec",
                 language="ru"),
    PersonSpec("Carl Client", "client", emails=("carl@acme.example",)),
)
# Tests exercise our own retries; Telegram's flood limits would only slow them down.
TEST_OPTIONS = Options(limits=FloodLimits(0, 0, max_retries=1), poll_timeout=5,
                       backoff=Backoff(first=0.01, cap=0.05), sender_idle_seconds=0.05)
WAIT = 15.0  # an upper bound for anything the tests wait on, never a sleep


def settings_for(db_url: str, api_url: str, **telegram: Any) -> Settings:
    tg = replace(TelegramConfig(token=TOKEN, api_url=api_url, support_chat_id=SUPPORT,
                                staff_chat_id=STAFF), **telegram)
    return with_sla(Settings(database_url=db_url, people=PEOPLE, telegram=tg, timezone="UTC"))


async def runtime(settings: Settings, clock: Clock) -> App:
    """The service's application, with the test clock; Telegram runs with TEST_OPTIONS."""
    return await bootstrap(settings, clock=clock, secret=SECRET, telegram=TEST_OPTIONS)


@dataclass
class Harness:
    fake: FakeBotAPI
    server: Running
    settings: Settings
    clock: FixedClock
    rt: App
    service: TelegramService | None = None

    @property
    def db(self) -> AsyncEngine:
        return self.rt.db

    async def start(self, options: Options = TEST_OPTIONS) -> TelegramService:
        # A fresh service each start: tests restart it, and may pass other options.
        self.service = TelegramService(self.rt, TelegramSqlStore(self.rt.db), options)
        await self.service.start()
        await self.service.settled()  # the checks run beside the first poll; tests read them
        return self.service

    async def stop(self) -> None:
        if self.service is not None:
            await self.service.stop()
            self.service = None

    async def say(self, user: User, text: str, *, chat: int = SUPPORT,
                  reply_to: int | None = None, minutes: float = 0,
                  entities: list[dict[str, Any]] | None = None) -> int:
        """`user` writes `minutes` after the clock's time; returns once the bot has handled
        it. The clock moves to the message's date, as it would in life."""
        self.clock.advance(minutes=minutes)
        update, message = await self.fake.say(user, chat, text, reply_to=reply_to,
                                              entities=entities)
        await self.processed(update)
        return message

    async def edit(self, user: User, message_id: int, text: str, *,
                   chat: int = SUPPORT) -> None:
        await self.processed(await self.fake.edit(user, chat, message_id, text))

    async def press(self, user: User, chat: int, message_id: int, data: str) -> None:
        await self.processed(await self.fake.press(user, chat, message_id, data))

    async def processed(self, update_id: int) -> None:
        assert self.service is not None and self.service.poller is not None
        await asyncio.wait_for(self.service.poller.wait_processed(update_id), WAIT)

    async def sent(self, check: Callable[[FakeBotAPI], Any]) -> Any:
        """What the fake received once `check` holds (the sender runs on its own)."""
        found = await self.fake.wait_for(check, WAIT)
        await self.drained()  # and the sender has recorded what it sent
        return found

    async def drained(self) -> None:
        assert self.service is not None and self.service.sender is not None
        await asyncio.wait_for(self.service.sender.drain(), WAIT)

    async def dialogs(self) -> list[dict[str, Any]]:
        async with reading(self.db) as conn:
            rows = await conn.execute(select(tables.dialogs).order_by(tables.dialogs.c.id))
            return [dict(r._mapping) for r in rows]

    async def ticket(self, number: int) -> Ticket:
        async with self.rt.uow() as uow:
            found = await uow.tickets.get(number)
        assert found is not None, f"no ticket {number}"
        return found

    async def comments(self, number: int) -> list[Comment]:
        """The ticket's comments with their files' bytes (a ticket is read without them;
        each file's bytes are fetched by id, as the channels do)."""
        async with self.rt.uow() as uow:
            found = await uow.comments.for_ticket(number)
        return [replace(x, attachments=tuple([
            replace(a, data=await self.rt.views.attachment_bytes(a.id) or b"")
            for a in x.attachments])) for x in found]

    async def person_id(self, user: User) -> int:
        async with self.rt.uow() as uow:
            found = await uow.people.by_telegram(user.id)
        assert found is not None
        return found.id

    def texts(self, chat: int) -> list[str]:
        """The texts of the bot's messages in a chat as they are now (edits applied)."""
        return [m["text"] for m in self.fake.bot_messages(chat)]


async def make_harness(db_url: str, *, sla: dict[str, Any] | None = None,
                       people: tuple[PersonSpec, ...] | None = None,
                       staff_started: bool = True, engine: EngineSettings | None = None,
                       desks: dict[str, Any] | None = None,
                       answers: tuple[CannedAnswer, ...] = (),
                       **telegram: Any) -> AsyncIterator[Harness]:
    """`desks`: the `[[desks]]` and `[routing]` of a config file, as a mapping;
    `sla`: an `[sla]` section for the settings (as in the config file), read against
    `engine` (the `[tickets]` section) when given; `people`: a
    directory instead of PEOPLE; `staff_started`: Lena, Sam and Olga pressed Start some
    time ago (else the bot says at start, in the staff chat, that it cannot reach them)."""
    clock = FixedClock(dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC))
    fake = FakeBotAPI(now=clock.now)
    fake.add_chat(SUPPORT, "Support")
    fake.add_chat(STAFF, "Specialists")
    fake.admins[SUPPORT] = {LENA.id, 123456}  # the bot is an administrator there
    server = await serve(fake)
    settings = settings_for(db_url, server.url, **telegram)
    if people is not None:
        settings = replace(settings, people=people)
    if engine is not None:
        settings = replace(settings, engine=engine)
    if desks is not None:
        settings = with_desks(settings, desks)
    if sla is not None or desks is not None or engine is not None:
        settings = with_sla(settings, sla)
    if answers:
        settings = replace(settings, answers=answers)
    h = Harness(fake, server, settings, clock, await runtime(settings, clock))
    if staff_started:
        store = TelegramSqlStore(h.rt.db)
        for user in (LENA, SAM, OLGA):
            await store.mark_started(user.id, user.username, clock.now())
    try:
        yield h
    finally:
        await h.stop()
        await h.rt.close()
        await server.close()


@pytest.fixture
async def harness(db_url: str) -> AsyncIterator[Harness]:
    """Started against SQLite and PostgreSQL (the `db_url` fixture of conftest)."""
    async for h in make_harness(db_url):
        await h.start()
        yield h


@pytest.fixture
async def sqlite_harness(tmp_path: Path) -> AsyncIterator[Harness]:
    """Not started: for tests that start (and restart) the service themselves."""
    async for h in make_harness(f"sqlite+aiosqlite:///{tmp_path / 'tg.db'}"):
        yield h


async def mailed_ticket(h: Harness, address: str = "carl@acme.example") -> int:
    """What the email channel does with a new mail from `address`: a ticket opened by that
    client, once its post has reached the staff chat."""
    async with h.rt.uow() as uow:
        client = await uow.people.by_email(address)
    assert client is not None
    outcome = await h.rt.bus.handle(c.OpenTicket(
        actor=client.id, channel="email", at=h.clock.now(), subject="Printer jams",
        description="It jams on page 2", source_ref="<m1@acme.example>"))
    assert outcome.ticket is not None
    await h.sent(lambda f: any("It jams" in m["text"] for m in f.bot_messages(STAFF)))
    return outcome.ticket


def answer_to(message_id: int, chat: int) -> Callable[[FakeBotAPI], str | None]:
    """The text of the bot's message in `chat` that replies to `message_id`, once sent."""
    def check(f: FakeBotAPI) -> str | None:
        return next((m["text"] for m in f.bot_messages(chat)
                     if m.get("reply_to_message", {}).get("message_id") == message_id), None)
    return check


async def ask(h: Harness, user: User, text: str, chat: int = STAFF) -> str:
    """What the bot answered to `text`, as a reply to it."""
    message = await h.say(user, text, chat=chat)
    answer: str = await h.sent(answer_to(message, chat))
    return answer
