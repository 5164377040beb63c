"""Several desks and routing through the real channels, on SQLite and PostgreSQL: mail over
the real SMTP intake to billing@ and support@ lands on each desk by its mailbox, with the
rule's decision in the history; deadlines by priority in business hours; two desks with
separate staff chats on the fake Bot API (a ticket of desk B never shows in desk A's
chat); `/move` in the staff chat and by mail, refused for clients."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

import aiosmtplib
import pytest

from bot.channels.email.act.intake import MailIntake
from bot.channels.email.receive import raw
from bot.channels.email.service import EmailChannel
from bot.runtime import App
from bot.ticket_view import render_ticket
from config.settings import with_desks, with_sla
from engine import commands as c
from engine.store.queries import export_all, ticket_detail
from tests.fakes import FixedClock
from tests.support_email import (
    SUPPORT,
    Sink,
    mail,
    make_runtime,
    notice_ref,
    person_id,
    running_channel,
    settings_for,
    smtp_sink,
)
from tests.support_telegram import ANNA, SAM, STAFF, Harness, make_harness
from tests.support_telegram import SUPPORT as GROUP

__all__ = ["smtp_sink"]  # fixtures

BILLING = "billing@help.example.com"
BILLING_CHAT = -1003003
LENA, OLGA = "lena@staff.example.com", "olga@staff.example.com"
# Monday 23 November 2026, 10:00 UTC = 13:00 in Moscow, where the default calendar works
# Mon-Fri 09:00-18:00.
MONDAY = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)

MAIL_DESKS: dict[str, Any] = {
    "desks": [{"name": "support", "leads": [LENA]},
              {"name": "billing", "addresses": [BILLING], "leads": [OLGA]}],
    "routing": {"rules": [
        {"name": "billing-mail", "when": {"mailbox": BILLING},
         "then": {"desk": "billing", "responsible": OLGA, "priority": "high"}},
        {"name": "outage", "when": {"subject": ["АВАРИЯ", "outage"]},
         "then": {"priority": "urgent", "tags": ["outage"]}},
    ]},
}


def with_mail_desks(db_url: str, **email: Any) -> Any:
    return with_sla(with_desks(settings_for(db_url, **email), MAIL_DESKS))


async def ticket(rt: App, number: int) -> dict[str, Any]:
    found = await ticket_detail(rt.db, number)
    assert found is not None
    return found


# ---------------------------------------------------------------- mail over SMTP


@pytest.fixture
async def channel(db_url: str, smtp_sink: Sink) -> AsyncIterator[EmailChannel]:
    settings = with_mail_desks(db_url, listen_port=0, smtp=smtp_sink.smtp)
    async with running_channel(settings, FixedClock(MONDAY)) as mail_channel:
        yield mail_channel


async def send(channel: EmailChannel, data: bytes, to: str) -> None:
    assert channel.ingress is not None
    await aiosmtplib.send(data, hostname="127.0.0.1", port=channel.ingress.port,
                          sender="carl@acme.example", recipients=[to])


async def test_the_mailbox_a_mail_came_to_decides_the_desk(channel: EmailChannel,
                                                            smtp_sink: Sink) -> None:
    rt = channel.rt
    assert isinstance(rt, App)
    # The envelope says billing@; the To header says support@ (a forward, an alias).
    await send(channel, mail(subject="Invoice 42 is wrong", to=SUPPORT), to=BILLING)
    billing_ack = await smtp_sink.first(lambda m: m["To"] == "carl@acme.example"
                                        and "Invoice 42" in m["Subject"])
    await send(channel, mail(subject="Printer jams"), to=SUPPORT)
    support_ack = await smtp_sink.first(lambda m: m["To"] == "carl@acme.example"
                                        and "Printer" in m["Subject"])
    # Each desk answers from its own mailbox; replies thread by our Reply-To either way.
    assert BILLING in billing_ack["From"] and SUPPORT in support_ack["From"]
    assert billing_ack["Reply-To"].startswith("support+")
    billing, support = await ticket(rt, 1), await ticket(rt, 2)
    olga = await person_id(rt, OLGA)
    assert (billing["desk"], billing["responsible_id"], billing["priority"]) == \
        ("billing", olga, "high")
    assert (support["desk"], support["responsible_id"], support["priority"]) == \
        ("support", None, "normal")
    assert [e["kind"] for e in billing["events"]] == ["opened", "routed"]
    assert [e["kind"] for e in support["events"]] == ["opened"]
    # The decision is in the history, in the reader's language.
    names = {olga: "Olga Spec"}
    en = render_ticket(billing, names, "en", ZoneInfo("UTC"))
    assert "by rule “billing-mail”: assigned to Olga Spec, desk billing, priority high" in en
    ru = render_ticket(billing, names, "ru", ZoneInfo("UTC"))
    assert "по правилу «billing-mail»: назначен(а) Olga Spec, отдел billing, приоритет " \
        "высокий" in ru
    # Each desk's lead hears of its own new tickets only (Olga, billing's lead and the
    # responsible, once: as the responsible).
    staff = sorted((o["ticket"], o["recipient"], o["kind"])
                   for o in (await export_all(rt.db))["outbound"]
                   if o["recipient"] in (LENA, OLGA))
    assert staff == [(1, OLGA, "assigned"), (2, LENA, "created")]


async def test_mail_to_an_unknown_address_is_still_refused(channel: EmailChannel) -> None:
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
        await send(channel, mail(), to="finance@help.example.com")


# ---------------------------------------------------------------- deadlines by priority


async def test_deadlines_by_priority_in_business_hours(db_url: str) -> None:
    clock = FixedClock(MONDAY)
    rt = await make_runtime(with_mail_desks(db_url), clock)
    try:
        await raw.keep(rt.inbound, mail(subject="АВАРИЯ: сервер лежит"), MONDAY)
        await raw.keep(rt.inbound, mail(subject="Printer jams"), MONDAY)
        await raw.keep(rt.inbound, mail(subject="Invoice", to=BILLING), MONDAY)
        # Both rules hold for this one: the first, billing-mail, decides alone.
        await raw.keep(rt.inbound, mail(subject="Outage of invoices", to=BILLING), MONDAY)
        await MailIntake(rt).drain()
        urgent, normal, high, both = [await ticket(rt, n) for n in (1, 2, 3, 4)]
        assert (both["priority"], both["tags"], both["events"][-1]["payload"]["rule"]) == \
            ("high", [], "billing-mail")
        msk = ZoneInfo("Europe/Moscow")

        def planned(t: dict[str, Any]) -> dt.datetime:
            # The deadline is the SLA's resolution target; the planned resolution stays
            # the staff's own date (/due), unset until someone sets it.
            assert t["planned_resolution"] is None
            return dt.datetime.fromisoformat(t["resolution_due"]).astimezone(msk)

        # urgent: 4 business hours from 13:00 Monday; high: one 9-hour day; normal: three.
        assert (urgent["priority"], urgent["tags"]) == ("urgent", ["outage"])
        assert planned(urgent) == dt.datetime(2026, 11, 23, 17, 0, tzinfo=msk)
        assert planned(high) == dt.datetime(2026, 11, 24, 13, 0, tzinfo=msk)
        assert planned(normal) == dt.datetime(2026, 11, 26, 13, 0, tzinfo=msk)
        # A new priority moves the deadline with it...
        lead = await person_id(rt, LENA)
        await rt.bus.handle(c.SetPriority(actor=lead, channel="telegram", ticket=2,
                                          priority="low"))
        assert planned(await ticket(rt, 2)) == dt.datetime(2026, 11, 30, 13, 0, tzinfo=msk)
        shown = render_ticket(await ticket(rt, 2), {}, "en", msk)
        assert "Desk: support" in shown
    finally:
        await rt.close()


async def test_configured_policies_set_the_deadline(db_url: str) -> None:
    """With [[sla.policies]] the policy's resolution target is the deadline, not the
    deadlines by priority."""
    settings = with_sla(with_desks(settings_for(db_url), MAIL_DESKS), {
        "policies": [{"name": "std", "first_response_minutes": 60,
                      "resolution_minutes": 120}]})
    rt = await make_runtime(settings, FixedClock(MONDAY))
    try:
        await raw.keep(rt.inbound, mail(subject="АВАРИЯ"), MONDAY)
        await MailIntake(rt).drain()
        urgent = await ticket(rt, 1)
        assert (urgent["priority"], urgent["sla_policy"]) == ("urgent", "std")
        assert dt.datetime.fromisoformat(urgent["resolution_due"]) == \
            MONDAY + dt.timedelta(hours=2)
        assert urgent["planned_resolution"] is None
    finally:
        await rt.close()


# ---------------------------------------------------------------- /move by mail


async def test_move_by_mail_and_a_clients_move_changes_nothing(db_url: str) -> None:
    rt = await make_runtime(with_mail_desks(db_url), FixedClock(MONDAY))
    try:
        await raw.keep(rt.inbound, mail(message_id="<c1@acme.example>"), MONDAY)
        await MailIntake(rt).drain()
        assert (await ticket(rt, 1))["desk"] == "support"
        # The client writes the command in a reply: it is only text on their ticket.
        await raw.keep(rt.inbound, mail(subject="Re: [#1] Printer jams",
                                        in_reply_to="<c1@acme.example>",
                                        body="/move 1 billing"), MONDAY)
        await MailIntake(rt).drain()
        assert (await ticket(rt, 1))["desk"] == "support"
        # The lead answers the "new ticket" notice with the command.
        ref = await notice_ref(rt, "created", LENA)
        await raw.keep(rt.inbound, mail(sender=LENA, subject="Re: [#1] New ticket",
                                        in_reply_to=ref, body="/move 1 billing"), MONDAY)
        await MailIntake(rt).drain()
        moved = await ticket(rt, 1)
        assert moved["desk"] == "billing"
        event = moved["events"][-1]
        assert (event["kind"], event["channel"], event["payload"]) == \
            ("moved", "email", {"old": "support", "new": "billing"})
        # Unknown desk: a short answer in the lead's language, nothing changes.
        await raw.keep(rt.inbound, mail(sender=LENA, subject="Re: [#1] New ticket",
                                        in_reply_to=ref, body="/move 1 finance"), MONDAY)
        await MailIntake(rt).drain()
        assert (await ticket(rt, 1))["desk"] == "billing"
        answers = [o for o in (await export_all(rt.db))["outbound"]
                   if o["recipient"] == LENA and o["kind"] == "mail_reply"]
        assert "There is no desk “finance”. Desks: support, billing." in \
            str(answers[-1]["payload"])
    finally:
        await rt.close()


# ---------------------------------------------------------------- two staff chats


CHAT_DESKS: dict[str, Any] = {
    "desks": [{"name": "support"},
              {"name": "billing", "addresses": [BILLING], "staff_chat_id": BILLING_CHAT}],
}


@pytest.fixture
async def desks(db_url: str) -> AsyncIterator[Harness]:
    async for h in make_harness(db_url, desks=CHAT_DESKS):
        h.fake.add_chat(BILLING_CHAT, "Billing specialists")
        await h.start()
        yield h


async def opened(h: Harness, subject: str, mailbox: str) -> int:
    async with h.rt.uow() as uow:
        client = await uow.people.by_email("carl@acme.example")
    assert client is not None
    outcome = await h.rt.bus.handle(c.OpenTicket(
        actor=client.id, channel="email", at=h.clock.now(), subject=subject,
        description=f"{subject}, details", source_ref=f"<{subject.split()[0]}@acme.example>",
        mailbox=mailbox))
    assert outcome.ticket is not None
    return outcome.ticket


async def test_each_desk_has_its_own_staff_chat(desks: Harness) -> None:
    h = desks
    billing = await opened(h, "Invoice wrong", BILLING)
    support = await opened(h, "Printer jams", "support@localhost")
    await h.sent(lambda f: any("Invoice wrong, details" in t for t in h.texts(BILLING_CHAT))
                 and any("Printer jams, details" in t for t in h.texts(STAFF)))
    assert (await h.ticket(billing)).desk == "billing"
    # Desk B's ticket never appears in desk A's chat, and the other way round.
    assert not any("Invoice" in t or f"#{billing}" in t for t in h.texts(STAFF))
    assert not any("Printer" in t or f"#{support}" in t for t in h.texts(BILLING_CHAT))
    assert not h.texts(GROUP)


async def test_move_in_the_staff_chat(desks: Harness) -> None:
    h = desks
    number = await opened(h, "Printer jams", "support@localhost")
    await h.sent(lambda f: any("Printer jams, details" in t for t in h.texts(STAFF)))
    before = len(h.texts(STAFF))
    await h.say(SAM, f"/move {number} billing", chat=STAFF)
    await h.sent(lambda f: any("Printer jams, details" in t for t in h.texts(BILLING_CHAT))
                 and any("moved to desk billing" in t for t in h.texts(STAFF)))
    assert (await h.ticket(number)).desk == "billing"
    # The old chat gets one short line; the new one the card and the ticket's text.
    assert [t for t in h.texts(STAFF)[before:] if "moved" in t] == \
        [f"#{number} moved to desk billing by Sam Spec."]
    assert any(f"#{number}" in t for t in h.texts(BILLING_CHAT))
    # A note in the new desk's chat stays there: the old chat hears nothing more.
    count = len(h.texts(STAFF))
    await h.say(SAM, f"/note {number} called the client", chat=BILLING_CHAT)
    assert any("called the client" in c.body for c in await h.comments(number))
    await h.drained()
    assert len(h.texts(STAFF)) == count


async def test_move_refused_for_a_client_in_the_group(desks: Harness) -> None:
    h = desks
    number = await opened(h, "Printer jams", "support@localhost")
    await h.say(ANNA, f"/move {number} billing", chat=GROUP)
    await h.sent(lambda f: bool(h.texts(GROUP)))
    assert h.texts(GROUP) == ["This command is for specialists."]
    assert (await h.ticket(number)).desk == "support"
    assert not h.texts(BILLING_CHAT)
    assert not any("moved" in t for t in h.texts(STAFF))


async def test_the_doctor_checks_each_desks_staff_chat(desks: Harness) -> None:
    from bot.doctor.telegram import check

    found = {f.check: f for f in await check(desks.settings)}
    billing = found["telegram desks[1].staff_chat_id"]
    assert "Billing specialists" in billing.text and billing.state != "fail"
    assert "telegram desks[0].staff_chat_id" not in found  # the [telegram] staff chat's


# ---------------------------------------------------------------- the migration


async def test_migration_0005_keeps_tickets_that_comments_point_at(db_url: str) -> None:
    """A database with tickets, comments and events gets `tickets.desk` (NULL: the
    default desk) without copying the table, and the schema is the models'."""
    from engine.store import tables
    from engine.store.db import make_engine
    from engine.store.migrate import schema_diff, upgrade

    await upgrade(db_url, "0003")
    db = make_engine(db_url)
    try:
        async with db.begin() as conn:  # as 0003's tables hold them
            await conn.execute(tables.tickets.insert().values(
                number=1, subject="Printer", description="jams", status="open",
                created_at=MONDAY, updated_at=MONDAY, channel="email", type="question",
                priority="normal"))
            await conn.execute(tables.comments.insert().values(
                ticket=1, body="jams", public=True, channel="email", created_at=MONDAY))
            await conn.execute(tables.events.insert().values(
                ticket=1, kind="opened", at=MONDAY, channel="email", payload={}))
        await upgrade(db_url)
        assert await schema_diff(db_url) == []
        detail = await ticket_detail(db, 1)
        assert detail is not None
        assert (detail["desk"], [x["body"] for x in detail["comments"]]) == (None, ["jams"])
    finally:
        await db.dispose()
