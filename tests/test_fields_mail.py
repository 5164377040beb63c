"""Issue 14 by mail: the fields commands as the first line of a specialist's reply to a
notification (the registry the chat uses), answered to that specialist only; the client
never learns the planned date or the time spent, and a client's "/due" line is just text."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from bot.channels.email.act.intake import MailIntake
from bot.channels.email.receive import raw
from bot.channels.email.understand.identity import MailIdentity
from bot.runtime import App
from config.settings import with_sla
from engine import commands as c
from engine.settings import EngineSettings
from engine.store.queries import export_all, ticket_detail
from engine.ticket_types import TicketType
from tests.fakes import FixedClock
from tests.support_email import mail, make_runtime, person_id, settings_for

AT = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.UTC)
LENA, OLGA, CARL = "lena@staff.example.com", "olga@staff.example.com", "carl@acme.example"
TYPES = (TicketType("question"), TicketType("incident", required=("due", "company")),
         TicketType("design", internal=True))
ENGINE = EngineSettings(types=("question", "incident", "design"), type_specs=TYPES)


@pytest.fixture
async def rt(db_url: str) -> AsyncIterator[App]:
    settings = with_sla(replace(settings_for(db_url), engine=ENGINE, timezone="UTC"))
    app = await make_runtime(settings, FixedClock())
    yield app
    await app.close()


async def receive(rt: App, data: bytes) -> None:
    await raw.keep(rt.inbound, data, AT)
    await MailIntake(rt).drain()


async def outbound(rt: App) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (await export_all(rt.db))["outbound"]
    return rows


async def notice_id(rt: App, kind: str, recipient: str) -> str:
    row = next(o for o in await outbound(rt) if o["kind"] == kind and o["recipient"] == recipient)
    return MailIdentity.of(rt.settings, rt.secret).message_id(
        row["id"], row["ticket"], row["person_id"], dt.datetime.fromisoformat(row["created_at"]))


async def command(rt: App, sender: str, ref: str, body: str) -> str:
    """`body` as a reply to the mail `ref`; the text of the answer `sender` got."""
    before = len(await outbound(rt))
    await receive(rt, mail(sender=sender, subject="Re: [#1] Printer jams", in_reply_to=ref,
                           body=body))
    [answer] = [o for o in (await outbound(rt))[before:] if o["recipient"] == sender]
    assert answer["kind"] == "mail_reply"
    text: str = answer["payload"]["text"]
    return text


async def test_fields_by_mail_reach_only_staff(rt: App) -> None:
    await receive(rt, mail(message_id="<c1@acme.example>"))
    ref = await notice_id(rt, "created", LENA)
    assert (await command(rt, LENA, ref, "/type incident")).startswith("Done: /type")
    taken = await command(rt, LENA, ref, "/take")
    # Carl's company is known (Acme): only the planned date is missing.
    assert taken.endswith("Ticket #1 is of type “incident”, which needs more. Please set:\n"
                          "• planned resolution date: /due 1 2026-12-01")
    due = await command(rt, LENA, ref, "/due 2026-12-01 15:00\nthe vendor ships on Monday")
    assert "Planned resolution: 2026-12-01 15:00" in due
    spent = await command(rt, LENA, ref, "/spent 1h30m")
    assert "Type: incident" in spent and "Time spent: 1 h 30 min" in spent
    await command(rt, LENA, ref, "/tag +printer")
    await command(rt, LENA, ref, "/observe @olga")
    detail = await ticket_detail(rt.db, 1)
    assert detail is not None
    assert (detail["type"], detail["tags"], detail["time_spent_minutes"]) == \
        ("incident", ["printer"], 90)
    assert detail["planned_resolution"].startswith("2026-12-01T15:00")
    assert detail["observers"] == [await person_id(rt, OLGA)]
    # The text under the command line stays, as an internal note.
    assert (detail["comments"][-1]["body"], detail["comments"][-1]["public"]) == \
        ("the vendor ships on Monday", False)
    # Olga was told she observes, and may log her time; the type is Lena's ticket's.
    olga_ref = await notice_id(rt, "observing", OLGA)
    assert "Готово: /spent" in await command(rt, OLGA, olga_ref, "/spent 20м")
    assert await command(rt, OLGA, olga_ref, "/type question") == \
        "#1 ведёт Lena Lead; обратитесь к руководителю или к Lena Lead."
    # The client: the acknowledgement, nothing of the fields since.
    carl = [o for o in await outbound(rt) if o["recipient"] == CARL]
    assert [o["kind"] for o in carl] == ["ack"]


async def test_a_clients_command_line_is_only_text(rt: App) -> None:
    await receive(rt, mail(message_id="<c1@acme.example>"))
    ack = await notice_id(rt, "ack", CARL)
    await receive(rt, mail(sender=CARL, subject="Re: [#1] Printer jams", in_reply_to=ack,
                           body="/due 1 2026-12-31\n/spent 1 10h"))
    detail = await ticket_detail(rt.db, 1)
    assert detail is not None
    assert (detail["planned_resolution"], detail["time_spent_minutes"]) == (None, 0)
    assert not [o for o in await outbound(rt) if o["kind"] == "mail_reply"]


async def test_an_internal_ticket_takes_in_no_client_mail(rt: App) -> None:
    """A `[#N]` tag from the ticket's company joins the ticket as an observer, but not an
    internal one: the mail opens a ticket of its own, linked to N, as a stranger's does."""
    lena, carl = await person_id(rt, LENA), await person_id(rt, CARL)
    opened = await rt.bus.handle(c.OpenTicket(
        actor=lena, channel="telegram", at=AT, subject="Rack for Acme",
        description="Two shelves", type="design"))
    assert opened.ticket == 1
    async with rt.uow() as uow:  # as the directory's `/company 1 Acme` would
        person = await uow.people.get(carl)
        ticket = await uow.tickets.get(1)
        assert person is not None and ticket is not None
        ticket.company_id = person.company_id
        await uow.tickets.save(ticket)
        await uow.commit()
    await receive(rt, mail(subject="Re: [#1] Rack for Acme", body="Can I see the plan?"))
    internal = await ticket_detail(rt.db, 1)
    assert internal is not None
    assert (internal["observers"], len(internal["comments"])) == ([], 1)
    linked = await ticket_detail(rt.db, 2)
    assert linked is not None and linked["linked_to"] == 1
    assert linked["requester_id"] == carl
    assert not [o for o in await outbound(rt) if o["ticket"] == 1
                and o["recipient"] not in (LENA, "sam@staff.example.com",
                                           "olga@staff.example.com")]
