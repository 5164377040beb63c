"""F17 in Telegram, against the fake Bot API on SQLite and PostgreSQL: `/find` (word forms,
what clients may find), `/queue` views with SLA time left, `/merge` (what moves, who is told
and how often, what is refused), canned answers through the normal answer path (grace
period, echo, `/undo`)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from config.answers import CannedAnswer
from engine.store.queries import export_all, ticket_detail
from tests.fakebotapi import User
from tests.support_telegram import (
    ANNA,
    BORIS,
    LENA,
    OLGA,
    SAM,
    STAFF,
    SUPPORT,
    Harness,
    answer_to,
    ask,
    harness,
    mailed_ticket,
    make_harness,
)

__all__ = ["harness"]

CARL = "carl@acme.example"
ANSWERS = (CannedAnswer("restart", {
    "en": "Hello {requester}, please restart the printer. Ticket {number}: {subject}; "
          "{responsible} is on it.",
    "ru": "Здравствуйте, {requester}! Перезапустите принтер. Заявка {number}: {subject}."}),)




async def _open(h: Harness, user: User, text: str) -> int:
    """A ticket `user` opens with `/new` in their private chat: its number, from the ack."""
    before = len(h.fake.bot_messages(user.id))
    await h.say(user, f"/new {text}", chat=user.id)
    ack = await h.sent(lambda f: f.bot_messages(user.id)[before:] or None)
    found = re.search(r"#(\d+)", ack[0]["text"])
    assert found is not None, ack
    return int(found.group(1))


async def _outbox(h: Harness, recipient: str) -> list[dict[str, Any]]:
    return [o for o in (await export_all(h.db))["outbound"] if o["recipient"] == recipient]


async def test_find_matches_word_forms_and_clients_find_only_their_own(harness: Harness) -> None:
    h = harness
    anna = await _open(h, ANNA, "Принтер не печатает\nПринтер на втором этаже жуёт бумагу.")
    boris = await _open(h, BORIS, "Printers jam\nBoth printers jam on page 2.")
    await _open(h, BORIS, "VPN is down\nNo VPN since Monday.")
    found = await ask(h, SAM, "/find принтеры бумаги", STAFF)
    assert found.startswith("Found for “принтеры бумаги”:")
    assert f"#{anna} · open · Принтер не печатает" in found and "жуёт бумагу" in found
    assert f"#{boris}" not in found
    assert f"#{boris} · open · Printers jam" in await ask(h, LENA, "/find printer", STAFF)
    # Anna finds her own ticket only; Boris gets his answer in Russian.
    assert await ask(h, ANNA, "/find printers", ANNA.id) == "Nothing found for “printers”."
    assert f"#{anna}" in await ask(h, ANNA, "/find принтер", ANNA.id)
    mine = await ask(h, BORIS, "/find printer", BORIS.id)
    assert mine.startswith("Найдено по запросу «printer»:") and f"#{boris}" in mine
    assert "Что искать?" in await ask(h, BORIS, "/find", BORIS.id)
    # In the support group the list goes to the staff chat, not before the group's eyes.
    asked = await h.say(SAM, "/find vpn", chat=SUPPORT)
    assert "staff chat" in await h.sent(answer_to(asked, SUPPORT))
    assert any("VPN is down" in t for t in h.texts(STAFF))


async def test_queue_views_oldest_first_with_sla_time_left(harness: Harness) -> None:
    h = harness
    first = await _open(h, ANNA, "Printer jams")
    h.clock.advance(minutes=10)
    second = await _open(h, ANNA, "Mouse is broken")
    h.clock.advance(minutes=10)
    third = await _open(h, ANNA, "Monitor flickers")
    await ask(h, SAM, f"/take {second}", STAFF)
    unassigned = await ask(h, LENA, "/queue", STAFF)
    assert unassigned.splitlines()[0] == "Unassigned tickets, oldest first:"
    assert [line.split(" · ")[0] for line in unassigned.splitlines()[1:]] == \
        [f"#{first}", f"#{third}"]
    assert "left (First response)" in unassigned
    every = await ask(h, LENA, "/queue all", STAFF)
    assert [line.split(" · ")[0] for line in every.splitlines()[1:]] == \
        [f"#{first}", f"#{second}", f"#{third}"]
    sams = await ask(h, LENA, "/queue @sam_spec", STAFF)
    assert sams.splitlines()[0] == "Sam Spec: open tickets, oldest first:"
    assert [line.split(" · ")[0] for line in sams.splitlines()[1:]] == [f"#{second}"]
    assert await ask(h, SAM, "/queue mine", STAFF) == sams
    assert (await ask(h, LENA, "/queue overdue", STAFF)).splitlines()[1] == "None."
    h.clock.advance(days=10)  # past every first-response target, in business time too
    await h.say(ANNA, "/help", chat=ANNA.id)  # the clock moves with a message
    overdue = await ask(h, LENA, "/queue overdue", STAFF)
    assert overdue.count("⚠ overdue by") == 3
    russian = await ask(h, OLGA, "/очередь все", STAFF)
    assert russian.startswith("Открытые заявки, старые первыми:") and "просрочено на" in russian
    assert "I don't know the queue “later”" in await ask(h, LENA, "/queue later", STAFF)
    assert await ask(h, ANNA, "/queue", ANNA.id) == "This command is for specialists."


async def test_merge_moves_everything_and_tells_the_client_once(harness: Harness) -> None:
    h = harness
    target = await mailed_ticket(h)
    source = await _open(h, ANNA, "Printer still jams\nSame printer, floor 2.")
    await h.sent(lambda f: any("Printer still jams" in m["text"]
                               for m in f.bot_messages(STAFF)))
    private_before = len(h.fake.bot_messages(ANNA.id))
    said = await ask(h, LENA, f"/merge {target} {source}", STAFF)
    assert said == f"#{source} is merged into #{target} and closed."
    merged, joined = await ticket_detail(h.db, source), await ticket_detail(h.db, target)
    assert merged is not None and joined is not None
    assert merged["status"] == "closed" and merged["comments"] == []
    assert any("Same printer, floor 2." in x["body"] for x in joined["comments"])
    assert await h.person_id(ANNA) in joined["observers"]
    assert [e["kind"] for e in merged["events"]][-2:] == ["merged", "status"]
    assert "merged" in [e["kind"] for e in joined["events"]]
    # Anna hears it once, in one private message: merged, and closed.
    told = await h.sent(lambda f: f.bot_messages(ANNA.id)[private_before:] or None)
    assert len(told) == 1 and f"now part of ticket #{target}" in told[0]["text"]
    assert len(h.fake.bot_messages(ANNA.id)) == private_before + 1
    # Anna's next message about her old ticket joins the new one.
    await h.say(ANNA, f"#{source} it jams again", chat=ANNA.id)
    assert any("it jams again" in x.body for x in await h.comments(target))
    # Refusals: clear, and nothing changes.
    assert await ask(h, LENA, f"/merge {target} {target}", STAFF) == \
        f"#{target} can't be merged into itself."
    assert await ask(h, LENA, f"/merge {source} {target}", STAFF) == \
        f"#{source} is closed: merge into an open ticket."
    assert await ask(h, LENA, f"/merge {target} 999", STAFF) == "Ticket #999 not found."
    assert "Which tickets?" in await ask(h, LENA, "/merge 1", STAFF)
    assert await ask(h, ANNA, f"/merge {target} {source}", ANNA.id) == \
        "This command is for specialists."
    other = await _open(h, BORIS, "Keyboard")
    await ask(h, OLGA, f"/take {other}", STAFF)
    assert await ask(h, SAM, f"/merge {target} {other}", STAFF) == \
        f"#{other} is Olga Spec's; ask the lead or Olga Spec."
    assert (await h.ticket(other)).status.value == "in_progress"


@pytest.fixture
async def answering(db_url: str) -> AsyncIterator[Harness]:
    async for h in make_harness(db_url, answers=ANSWERS):
        await h.start()
        yield h


async def test_canned_answer_goes_the_normal_answer_path(answering: Harness) -> None:
    h = answering
    number = await mailed_ticket(h)
    listed = await ask(h, SAM, "/answers", STAFF)
    assert listed.startswith("Canned answers") and "restart — Hello {requester}" in listed
    await ask(h, SAM, f"/take {number}", STAFF)
    sent = await h.say(SAM, f"/answer {number} restart", chat=STAFF, minutes=1)
    echo = await h.sent(answer_to(sent, STAFF))
    assert echo == "✉ To Carl Client <carl@acme.example> in 30 s — /undo to withdraw"
    [comment] = (await h.comments(number))[1:]
    assert comment.public and comment.body == (
        f"Hello Carl Client, please restart the printer. Ticket {number}: Printer jams; "
        "Sam Spec is on it.")
    assert [o["kind"] for o in await _outbox(h, CARL)].count("comment") == 1
    undo = await h.say(SAM, "/undo", chat=STAFF, minutes=1 / 6)
    assert "Withdrawn" in await h.sent(answer_to(undo, STAFF))
    assert not (await h.comments(number))[1].public
    # The index follows: the withdrawn words are an internal note, which Carl cannot find.
    async with h.rt.uow() as uow:
        carl = await uow.people.by_email(CARL)
    assert carl is not None
    assert [x.number for x in await h.rt.views.search("restart", None)] == [number]
    assert await h.rt.views.search("restart", carl) == []
    assert await ask(h, SAM, f"/answer {number} hello", STAFF) == \
        "There is no canned answer “hello”. Known: restart."
    assert "Which answer?" in await ask(h, SAM, f"/answer {number}", STAFF)
    assert await ask(h, ANNA, f"/answer {number} restart", ANNA.id) == \
        "This command is for specialists."
