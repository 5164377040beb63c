"""F17 by mail, on SQLite and PostgreSQL: `/find`, `/queue`, `/answers`, `/answer` and
`/merge` as the first line of a specialist's reply to a notification; a client's `/find`
among their own tickets, and staff commands refused to a client without a new ticket."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.channels.email.understand.identity import MailIdentity
from bot.runtime import App
from bot.ticket_view import render_ticket
from config.answers import CannedAnswer
from engine.store.queries import list_tickets
from tests.fakes import FixedClock
from tests.support_email import mail, make_runtime, settings_for
from tests.test_email_commands import LENA, outbound, receive, ticket

CARL = "carl@acme.example"
ANSWERS = (CannedAnswer("restart", {
    "en": "Hello {requester}, restart the printer (ticket {number}, {status}).",
    "ru": "Здравствуйте, {requester}! Перезапустите принтер (заявка {number})."}),)


@pytest.fixture
async def rt(db_url: str) -> AsyncIterator[App]:
    app = await make_runtime(replace(settings_for(db_url), answers=ANSWERS), FixedClock())
    yield app
    await app.close()


async def _two_tickets(rt: App) -> str:
    """Carl's #1 and #2, and the id of the "created" notice Lena got for #2."""
    await receive(rt, mail(subject="Printer jams", body="The printer jams on page 2.",
                           message_id="<c1@acme.example>"))
    await receive(rt, mail(subject="Printers again", body="Both printers jam today.",
                           message_id="<c2@acme.example>"))
    rows = [o for o in await outbound(rt) if o["kind"] == "created" and o["ticket"] == 2]
    assert rows
    return _message_id(rt, rows[0])


def _message_id(rt: App, row: dict[str, Any]) -> str:
    """The Message-ID the sender gives that outbox row (deterministic per row)."""
    return MailIdentity.of(rt.settings, rt.secret).message_id(
        row["id"], row["ticket"], row["person_id"], dt.datetime.fromisoformat(row["created_at"]))


async def _replies(rt: App, to: str) -> list[str]:
    return [o["payload"]["text"] for o in await outbound(rt)
            if o["kind"] == "mail_reply" and o["recipient"] == to]


async def test_staff_find_queue_and_answers_by_mail(rt: App) -> None:
    ref = await _two_tickets(rt)
    await receive(rt, mail(sender=LENA, in_reply_to=ref, body="/find printer\n\n> quoted"))
    await receive(rt, mail(sender=LENA, in_reply_to=ref, body="/queue all"))
    await receive(rt, mail(sender=LENA, in_reply_to=ref, body="/answers"))
    found, queued, listed = await _replies(rt, LENA)
    assert found.startswith("Found for “printer”:") and "#2 · open · Printers again" in found
    assert "#1 · open · Printer jams" in found
    assert queued.splitlines()[0] == "Open tickets, oldest first:"
    assert queued.splitlines()[1].startswith("#1 · open · Printer jams · ⏱")
    assert queued.splitlines()[2].startswith("#2 · open · Printers again · ⏱")
    assert listed.startswith("Canned answers") and "restart" in listed


async def test_merge_and_canned_answer_by_mail(rt: App) -> None:
    ref = await _two_tickets(rt)
    await receive(rt, mail(sender=LENA, in_reply_to=ref, body="/merge 1 2"))
    assert (await ticket(rt, 2))["status"] == "closed"
    assert any("Both printers" in c["body"] for c in (await ticket(rt, 1))["comments"])
    told = [o for o in await outbound(rt) if o["recipient"] == CARL and o["ticket"] == 2
            and o["kind"] not in ("ack",)]
    assert [o["kind"] for o in told] == ["merged"]  # once: the closing rides along
    assert (await _replies(rt, LENA))[-1].startswith("Done: /merge.")
    history = render_ticket(await ticket(rt, 2), {}, "en", ZoneInfo("UTC"))
    assert "merged #2 into #1" in history and "status: open → closed" in history
    await receive(rt, mail(sender=LENA, in_reply_to=ref, body="/merge 1 2"))
    assert "#2 is closed already" in (await _replies(rt, LENA))[-1]
    # Carl answers the acknowledgement of #2, or names it in the subject: both reach #1.
    [ack] = [o for o in await outbound(rt) if o["kind"] == "ack" and o["ticket"] == 2]
    await receive(rt, mail(subject="Re: [#2] Printers again", body="Still jams.",
                           in_reply_to=_message_id(rt, ack)))
    await receive(rt, mail(subject="Re: [#2] Printers again", body="And smokes."))
    bodies = [c["body"] for c in (await ticket(rt, 1))["comments"]]
    assert "Still jams." in bodies and "And smokes." in bodies
    assert [t["number"] for t in await list_tickets(rt.db)] == [1, 2]
    await receive(rt, mail(sender=LENA, in_reply_to=ref, body="/answer 1 restart"))
    body = (await ticket(rt, 1))["comments"][-1]
    assert body["public"] and body["body"] == \
        "Hello Carl Client, restart the printer (ticket 1, open)."
    [answer] = [o for o in await outbound(rt) if o["recipient"] == CARL
                and o["kind"] == "comment"]
    assert answer["not_before"] is not None  # held for the grace period, as /reply is


async def test_a_client_finds_by_mail_and_is_refused_staff_commands(rt: App) -> None:
    await _two_tickets(rt)
    await receive(rt, mail(subject="search", body="/find printers"))
    await receive(rt, mail(subject="merge", body="/merge 1 2"))
    found, refused = await _replies(rt, CARL)
    assert "#1 · open · Printer jams" in found and "#2" in found
    assert refused == "This command is for specialists."
    assert (await ticket(rt, 2))["status"] == "open"
    assert [t["number"] for t in await list_tickets(rt.db)] == [1, 2]  # no new ticket

