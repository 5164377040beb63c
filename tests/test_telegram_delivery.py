"""Delivery through the outbox: 429, 5xx and dropped connections delay a message, never lose
or duplicate it, and keep each chat's order; 403 falls back to a group once; a restart
picks up what was left, on both sides (outbox rows and journaled updates)."""

from __future__ import annotations

import base64
import json

from sqlalchemy import func, select

from bot.storage.telegram_sql import TelegramSqlStore
from engine.notify.kinds import NoticeKind
from engine.ports import OutboxItem
from engine.store import tables
from engine.store.db import reading
from tests.fakebotapi import FakeBotAPI
from tests.support_telegram import ANNA, BORIS, LENA, OLGA, SAM, STAFF, SUPPORT, Harness
from tests.support_telegram import sqlite_harness as sqlite_harness

HELP, NOTHING_MINE = "Commands:", "You have no open tickets."


def _private(f: FakeBotAPI, user_id: int) -> list[str]:
    return [m["text"] for m in f.bot_messages(user_id)]


def _attempts(f: FakeBotAPI, chat: int) -> int:
    return len(f.sent("sendmessage", chat))


async def test_a_429_is_retried_in_place_and_sent_once(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    await h.start()
    h.fake.fail("sendmessage", "429", retry_after=1)  # PTB's AIORateLimiter waits it out
    await h.say(ANNA, "/help", chat=ANNA.id)
    texts = await h.sent(lambda f: _private(f, ANNA.id))
    assert len(texts) == 1 and texts[0].startswith(HELP)
    assert _attempts(h.fake, ANNA.id) == 2


async def test_a_429_storm_waits_in_the_outbox_and_keeps_the_chats_order(
        sqlite_harness: Harness) -> None:
    h = sqlite_harness
    await h.start()
    # More 429s than the limiter retries: the outbox takes over, for retry_after seconds.
    h.fake.fail("sendmessage", "429", count=2, retry_after=1)
    await h.say(ANNA, "/help", chat=ANNA.id)
    await h.drained()
    await h.say(ANNA, "/my", chat=ANNA.id)  # must not overtake the first answer
    await h.drained()
    assert _private(h.fake, ANNA.id) == []
    h.clock.advance(seconds=2)
    texts = await h.sent(lambda f: len(_private(f, ANNA.id)) == 2 and _private(f, ANNA.id))
    assert texts[0].startswith(HELP) and texts[1] == NOTHING_MINE
    assert _attempts(h.fake, ANNA.id) == 4  # two refused, then each answer once


async def test_dropped_connections_and_5xx_on_send_delay_without_duplicates(
        sqlite_harness: Harness) -> None:
    h = sqlite_harness
    await h.start()
    h.fake.fail("sendmessage", "drop")
    await h.say(ANNA, "/help", chat=ANNA.id)
    await h.drained()
    h.fake.fail("sendmessage", "502")
    h.clock.advance(seconds=31)  # the outbox's first retry comes 30 s later
    await h.drained()
    assert _private(h.fake, ANNA.id) == []
    h.clock.advance(seconds=61)
    texts = await h.sent(lambda f: _private(f, ANNA.id))
    assert len(texts) == 1 and _attempts(h.fake, ANNA.id) == 3


async def test_a_502_on_get_updates_loses_nothing(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    h.fake.fail("getupdates", "502", count=3)
    h.fake.fail("getupdates", "drop")
    await h.start()
    await h.say(ANNA, "Scanner is offline")
    await h.say(BORIS, "Принтер не печатает", minutes=1)
    assert [d["text"] for d in await h.dialogs()] == ["Scanner is offline",
                                                      "Принтер не печатает"]
    assert len(h.fake.sent("getupdates")) >= 5


async def test_a_restart_sends_what_was_left_in_the_outbox_once(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    await h.start()
    h.fake.fail("sendmessage", "502")
    await h.say(ANNA, "/help", chat=ANNA.id)
    await h.drained()
    await h.stop()
    # While the bot is down, the group goes on; Telegram keeps the updates.
    update, _ = await h.fake.say(BORIS, SUPPORT, "Is the mail server down?")
    h.clock.advance(minutes=2)
    await h.start()
    texts = await h.sent(lambda f: _private(f, ANNA.id))
    assert len(texts) == 1 and texts[0].startswith(HELP)
    await h.processed(update)
    assert [d["text"] for d in await h.dialogs()] == ["Is the mail server down?"]


async def test_an_update_journaled_before_a_crash_is_handled_once_at_start(
        sqlite_harness: Harness) -> None:
    h = sqlite_harness
    update = {"update_id": 77, "message": {
        "message_id": 5000, "date": int(h.clock.now().timestamp()), "text": "Keyboard broken",
        "chat": {"id": SUPPORT, "type": "supergroup", "title": "Support"},
        "from": {"id": ANNA.id, "is_bot": False, "first_name": "Anna"}}}
    # The crash came after the journal write and before the first line's.
    await TelegramSqlStore(h.db).journal([(77, json.dumps(update).encode())], h.clock.now())
    await h.start()
    assert [d["text"] for d in await h.dialogs()] == ["Keyboard broken"]
    # Telegram had not seen the confirmation and sends the update again.
    await h.fake.push({k: v for k, v in update.items() if k != "update_id"})
    h.fake.updates[-1]["update_id"] = 77
    await h.say(BORIS, "unrelated", chat=BORIS.id)
    assert [d["text"] for d in await h.dialogs()] == ["Keyboard broken"]
    async with reading(h.db) as conn:
        count = (await conn.execute(select(func.count()).select_from(tables.inbound).where(
            tables.inbound.c.external_id == "77"))).scalar_one()
    assert count == 1


async def test_403_on_a_private_notice_falls_back_to_the_staff_chat_once(
        sqlite_harness: Harness) -> None:
    h = sqlite_harness
    await h.start()
    q = await h.say(ANNA, "Need a new monitor")
    await h.say(SAM, "/ticket", reply_to=q)
    await h.say(LENA, "/assign 1 @olga_spec", chat=STAFF)
    note = await h.sent(lambda f: next((m for m in f.bot_messages(STAFF)
                                        if m["text"].startswith("Olga Spec, ")), None))
    assert "не могу написать вам в личные сообщения" in note["text"]
    assert "Теперь вы отвечаете за заявку #1" in note["text"]  # Olga reads Russian
    assert _attempts(h.fake, OLGA.id) == 1
    # Telegram is not asked again: the next notice goes straight to the fallback.
    await h.say(LENA, "/note 1 please hurry", chat=STAFF)
    await h.sent(lambda f: sum(m["text"].startswith("Olga Spec, ")
                               for m in f.bot_messages(STAFF)) == 2)
    assert _attempts(h.fake, OLGA.id) == 1
    # Once Olga starts the bot, notices reach her privately again.
    await h.say(OLGA, "/start", chat=OLGA.id)
    await h.say(LENA, "/note 1 thanks", chat=STAFF)
    assert await h.sent(lambda f: any("thanks" in t for t in _private(f, OLGA.id)))


async def test_the_author_who_started_the_bot_hears_privately(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    await h.start()
    await h.say(ANNA, "/start", chat=ANNA.id)
    q = await h.say(ANNA, "Phone has no dial tone")
    await h.say(SAM, "/ticket", reply_to=q)
    await h.say(SAM, "/reply 1 A technician is on the way", chat=STAFF, minutes=1)
    h.clock.advance(seconds=30)  # the answer's grace period
    texts = await h.sent(lambda f: len(_private(f, ANNA.id)) >= 3 and _private(f, ANNA.id))
    assert "ticket #1" in texts[1]
    assert "A technician is on the way" in texts[2]
    # ... and the answer is posted in the group under her question, not under the card.
    post = await h.sent(lambda f: next((m for m in f.bot_messages(SUPPORT)
                                        if "technician" in m["text"]), None))
    assert post["reply_to_message"]["message_id"] == q


async def test_a_command_replayed_after_a_crash_is_not_carried_out_twice(
        sqlite_harness: Harness) -> None:
    h = sqlite_harness
    await h.start()
    q = await h.say(ANNA, "Projector is dead")
    await h.say(SAM, "/ticket", reply_to=q)
    await h.say(SAM, "/take 1", chat=SAM.id, minutes=1)
    await h.say(SAM, "/status 1 resolved fixed the lamp", chat=SAM.id, minutes=1)
    await h.sent(lambda f: len(f.bot_messages(SAM.id)) == 2)
    await h.stop()
    # As if the process died before the journal rows were marked done.
    async with h.db.begin() as conn:
        await conn.execute(tables.inbound.update().values(status="pending"))
    await h.start()
    await h.drained()
    async with h.rt.uow() as uow:
        kinds = [e.kind for e in await uow.events.for_ticket(1)]
    # /take found Sam responsible already (from /ticket): only the status moved.
    assert kinds == ["opened", "status", "status", "comment"]
    assert len(h.fake.bot_messages(SAM.id)) == 2  # no second answer either
    assert len([m for m in h.fake.bot_messages(SUPPORT) if m["text"].startswith("🎫")]) == 1
    async with reading(h.db) as conn:
        pending = (await conn.execute(select(func.count()).select_from(tables.inbound).where(
            tables.inbound.c.status == "pending"))).scalar_one()
    assert pending == 0


async def test_rows_other_parts_queue_are_rendered(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    await h.start()
    q = await h.say(ANNA, "Disk is full")
    await h.say(SAM, "/ticket", reply_to=q)
    png = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
    async with h.rt.uow() as uow:
        await uow.outbox.enqueue(OutboxItem(
            key="sla:1:telegram:staff", channel="telegram", recipient=str(STAFF),
            kind=NoticeKind.SLA_WARNING, ticket=1, payload={
                "number": 1, "subject": "Disk is full", "target": "First response",
                "due": "2026-11-23 12:00", "time": "45 min", "responsible": "Sam Spec",
                "responsible_telegram_id": SAM.id}))
        await uow.outbox.enqueue(OutboxItem(
            key="digest:2026-W48", channel="telegram", recipient=str(STAFF),
            kind=NoticeKind.DIGEST,
            payload={"text": "Weekly support digest\n\n3 dialogs <all answered>",
                     "chart_png": png, "caption": "1: dialogs"}))
        await uow.commit()
    async with h.db.begin() as conn:  # a kind no NoticeKind names: a newer version's row
        await conn.execute(tables.outbox.insert().values(
            key="odd:1", channel="telegram", recipient=str(STAFF), kind="something_new",
            language="en", payload={}, created_at=h.clock.now()))
    texts = await h.sent(lambda f: len(f.bot_messages(STAFF)) >= 4 and
                         [m["text"] for m in f.bot_messages(STAFF)])
    assert any(t.startswith("Ticket #1 (Disk is full): First response is due 2026-11-23 12:00")
               for t in texts)
    assert "Weekly support digest\n\n3 dialogs <all answered>" in texts
    [warning] = [m for m in h.fake.bot_messages(STAFF) if m["text"].startswith("Ticket #1 (")]
    assert warning["html"].endswith(  # a real mention: Telegram notifies Sam
        f'Responsible: <a href="tg://user?id={SAM.id}">Sam Spec</a>.')
    assert [m["caption"] for m in h.fake.bot_messages(STAFF) if "photo" in m] == ["1: dialogs"]
    async with reading(h.db) as conn:
        odd = (await conn.execute(select(tables.outbox.c.last_error).where(
            tables.outbox.c.key == "odd:1"))).scalar_one()
    assert odd == "unknown kind something_new"  # given up, not retried for ever


async def test_a_row_our_code_fails_on_is_set_aside_and_its_chat_goes_on(
        sqlite_harness: Harness) -> None:
    """A post whose payload breaks the renderer (no `html`) is retried with the backoff, then
    given up with the reason; the staff chat's next message waits behind it only that long."""
    h = sqlite_harness
    await h.start()
    async with h.rt.uow() as uow:
        for key, payload in (("bad", {}), ("good", {"html": "after the bad one"})):
            await uow.outbox.enqueue(OutboxItem(key=key, channel="telegram",
                                                recipient=str(STAFF), kind=NoticeKind.POST,
                                                ticket=None, payload=payload))
        await uow.commit()
    assert h.service is not None
    for _ in range(6):  # five attempts, 30 s doubling, then the good row's turn
        h.service.kick()
        await h.drained()
        h.clock.advance(minutes=10)
    texts = await h.sent(lambda f: [m["text"] for m in f.bot_messages(STAFF)] or None)
    assert texts == ["after the bad one"]
    async with reading(h.db) as conn:
        bad = (await conn.execute(select(tables.outbox.c.failed_at, tables.outbox.c.last_error,
                                         tables.outbox.c.attempts)
                                  .where(tables.outbox.c.key == "bad"))).one()
    assert bad.failed_at is not None and bad.last_error.startswith("crashed: KeyError")
    assert bad.attempts == 5
