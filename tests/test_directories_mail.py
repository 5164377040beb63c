"""F11 by mail (SQLite and PostgreSQL): a specialist's reply to a notification whose first
line is `/link`, `/company N X`, `/requester`, `/company X` or `/tickets ...` acts or
answers as in chat, to that specialist only and in their language; the change is in the
ticket's history. A client's slash line stays text and shows them no directory."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.runtime import App
from engine import commands as c
from engine.store.queries import ticket_detail
from tests.fakes import FixedClock
from tests.support_email import mail, make_runtime, person_id, settings_for
from tests.test_email_commands import LENA, OLGA, notice_id, opened, outbound, receive

ROWS = (
    ("contracts", ({"number": "A-1", "company": "Acme", "sla_policy": "high"},)),
    ("objects", ({"name": "Plant", "company": "Acme", "address": "Ring road 5"},)),
    ("contacts", ({"name": "Dana Acme", "emails": "dana@acme.example", "company": "Acme"},)),
)


@pytest.fixture
async def app(db_url: str) -> AsyncIterator[App]:
    rt = await make_runtime(settings_for(db_url), FixedClock())
    for kind, rows in ROWS:
        await rt.bus.handle(c.ImportDirectory(
            actor=None, channel="cli", kind=kind,
            rows=tuple(c.DirectoryRow(2, tuple(r.items())) for r in rows)))
    yield rt
    await rt.close()


async def _replies(rt: App, start: int) -> list[tuple[str, str]]:
    return [(o["recipient"], o["payload"]["text"]) for o in (await outbound(rt))[start:]
            if o["kind"] == "mail_reply"]


async def test_link_company_and_requester_by_mail(app: App) -> None:
    ref = await opened(app)  # Carl's #1, of Acme; Lena got the "created" notice
    before = len(await outbound(app))
    await receive(app, mail(sender=LENA, in_reply_to=ref,
                            body="/link contract A-1\nUnder the 2026 contract."))
    await receive(app, mail(sender=LENA, in_reply_to=ref, body="/link 1 object #1"))
    await receive(app, mail(sender=LENA, in_reply_to=ref,
                            body="/requester 1 dana@acme.example"))
    ticket = await app.views.ticket(1)
    dana = await person_id(app, "dana@acme.example")
    assert ticket is not None
    assert (ticket.contract_id, ticket.object_id, ticket.requester_id) == (1, 1, dana)
    replies = await _replies(app, before)
    assert [r for r, _ in replies] == [LENA] * 3  # the client hears nothing of it
    assert [text.split("\n")[0] for _, text in replies] == [
        "Done: /link.", "Done: /link.", "Done: /requester."]
    detail = await ticket_detail(app.db, 1)
    assert detail is not None
    lena = await person_id(app, LENA)
    assert [(e["payload"]["field"], e["channel"], e["actor"]) for e in detail["events"]
            if e["kind"] == "directory_link"] == [
        ("contract", "email", lena), ("object", "email", lena), ("requester", "email", lena)]
    # The lines under the command are kept as an internal note, as under /take.
    assert [(x["body"], x["public"]) for x in detail["comments"][1:]] == [
        ("Under the 2026 contract.", False)]


async def test_a_refused_link_is_explained_in_the_specialists_language(app: App) -> None:
    ref = await opened(app)
    before = len(await outbound(app))
    await receive(app, mail(sender=LENA, in_reply_to=ref, body="/company 1 Umbrella"))
    [(to, text)] = await _replies(app, before)
    assert (to, text) == (LENA, "“Umbrella” is not in the directory (company).")
    ticket = await app.views.ticket(1)
    assert ticket is not None and ticket.company_id == 1  # Acme still


async def test_lookups_by_mail_answer_the_specialist(app: App) -> None:
    ref = await opened(app)
    await receive(app, mail(sender=LENA, in_reply_to=ref, body="/link contract A-1"))
    before = len(await outbound(app))
    await receive(app, mail(sender=LENA, in_reply_to=ref, body="/company acme"))
    await receive(app, mail(sender=LENA, in_reply_to=ref, body="/tickets contract A-1"))
    [(to1, card), (to2, listed)] = await _replies(app, before)
    assert to1 == to2 == LENA
    assert card.startswith("Company Acme (#1)\nmail domains: acme.example\ncontacts: 2")
    assert "open tickets: 1" in card
    assert listed == "Tickets of A-1, newest first:\n#1 · open · Printer jams"


async def test_a_russian_specialist_gets_the_card_in_russian(app: App) -> None:
    await receive(app, mail(message_id="<c1@acme.example>"))
    await app.bus.handle(c.Assign(actor=None, channel="cli", ticket=1,
                                  person_id=await person_id(app, OLGA)))
    ref = await notice_id(app, "assigned", OLGA)
    before = len(await outbound(app))
    await receive(app, mail(sender=OLGA, in_reply_to=ref, body="/контакт dana"))
    [(to, card)] = await _replies(app, before)
    assert to == OLGA and card.startswith("Контакт Dana Acme (#")
    assert "компания: Acme" in card and "почта: dana@acme.example" in card


async def test_a_clients_directory_command_shows_them_nothing(app: App) -> None:
    await receive(app, mail(message_id="<c1@acme.example>"))
    ack = await notice_id(app, "ack", "carl@acme.example")
    before = len(await outbound(app))
    await receive(app, mail(in_reply_to=ack, body="/company Acme\n/tickets company Acme"))
    detail = await ticket_detail(app.db, 1)
    assert detail is not None
    assert detail["comments"][-1]["body"].startswith("/company Acme")  # just text
    assert not any("Company Acme (#" in str(o["payload"]) or "Tickets of" in str(o["payload"])
                   for o in (await outbound(app))[before:])
