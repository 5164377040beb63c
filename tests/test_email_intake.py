"""Stored mail -> tickets, comments, acks; noise never opens, comments or answers; failures
are quarantined without blocking; a replay after a crash changes nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from bot.channels.email.act.fate import Fate
from bot.channels.email.act.intake import MailIntake, clean_subject
from bot.channels.email.act.process import IncomingMail, MailContext, MailProcessor
from bot.channels.email.act.session import direct
from bot.channels.email.receive import raw
from bot.runtime import App
from bot.threading.rules import tag_pattern
from engine.inbox import InboundRow
from engine.store.queries import export_all, ticket_detail
from tests.fakes import FixedClock
from tests.support_email import (
    CARL,
    MAIL_DIR,
    SUPPORT,
    clock,
    corpus,
    db_file,
    mail,
    make_runtime,
    notice_ref,
    person_id,
    runtime,
    settings_for,
)

__all__ = ["clock", "db_file", "runtime"]  # fixtures

UTC = dt.UTC


async def receive(rt: App, data: bytes, at: dt.datetime | None = None) -> None:
    await raw.keep(rt.inbound, data, at or dt.datetime(2026, 11, 23, 9, 30, tzinfo=UTC))
    await MailIntake(rt).drain()


async def inbound_rows(rt: App) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (await export_all(rt.db))["inbound"]
    return rows


async def outbound(rt: App) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (await export_all(rt.db))["outbound"]
    return rows


async def tickets(rt: App) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (await export_all(rt.db))["tickets"]
    return rows


# ------------------------------------------------------------------ a person's mail

async def test_new_mail_opens_a_ticket_with_an_ack_for_the_requester(runtime: App) -> None:
    await receive(runtime, mail(message_id="<First@Acme.Example>"))
    [ticket] = await tickets(runtime)
    assert ticket["subject"] == "Printer jams"
    assert ticket["requester_id"] == await person_id(runtime, CARL.emails[0])
    assert ticket["source_ref"] == "<First@Acme.Example>"  # as written
    [row] = await inbound_rows(runtime)
    assert (row["status"], row["ticket"], row["rule"]) == ("done", 1, "new")
    acks = [o for o in await outbound(runtime) if o["kind"] == "ack"]
    assert [(a["recipient"], a["ticket"]) for a in acks] == [("carl@acme.example", 1)]


async def test_received_time_is_the_arrival_not_the_processing(runtime: App,
                                                               clock: FixedClock) -> None:
    arrived = dt.datetime(2026, 11, 20, 8, 15, tzinfo=UTC)
    clock.advance(days=3)
    await receive(runtime, mail(), at=arrived)
    [ticket] = await tickets(runtime)
    assert ticket["created_at"] == arrived.isoformat()


async def test_unknown_sender_becomes_a_client_of_the_company_of_their_domain(
        runtime: App) -> None:
    await receive(runtime, mail(sender="Вера <vera@acme.example>", subject="Не печатает",
                                body="Принтер не печатает, помогите."))
    people = (await export_all(runtime.db))["people"]
    vera = next(p for p in people if p["emails"] == ["vera@acme.example"])
    acme = next(c for c in (await export_all(runtime.db))["companies"] if c["name"] == "Acme")
    assert (vera["role"], vera["name"], vera["company_id"], vera["language"]) == \
        ("client", "Вера", acme["id"], "ru")


async def test_reply_to_our_ack_with_an_edited_subject_threads(runtime: App) -> None:
    """django-helpdesk opened a new ticket here: it knows only inbound Message-IDs."""
    from bot.channels.email.understand.identity import MailIdentity

    await receive(runtime, mail(message_id="<q1@acme.example>"))
    [ack] = [o for o in await outbound(runtime) if o["kind"] == "ack"]
    ack_id = MailIdentity.of(runtime.settings, runtime.secret).message_id(
        ack["id"], ack["ticket"], ack["person_id"])
    async with runtime.uow() as uow:  # what the sender records when it sends the ack
        await uow.refs.add(ack_id, 1, "out")
        await uow.commit()
    await receive(runtime, mail(subject="something else entirely", in_reply_to=ack_id,
                                body="It still jams.\n\n> quoted ack"))
    assert len(await tickets(runtime)) == 1
    detail = await ticket_detail(runtime.db, 1)
    assert detail is not None
    assert [c["body"] for c in detail["comments"]][-1] == "It still jams."
    assert (await inbound_rows(runtime))[-1]["rule"] == "own_message_id"


async def test_reply_threaded_only_by_references_lands_on_the_ticket(runtime: App) -> None:
    await receive(runtime, mail(message_id="<root@acme.example>"))
    await receive(runtime, mail(subject="new words", references="<other@x> <root@acme.example>"))
    assert len(await tickets(runtime)) == 1
    assert (await inbound_rows(runtime))[-1]["ticket"] == 1


async def test_reply_to_a_closed_ticket_opens_a_new_linked_one(runtime: App) -> None:
    from engine import commands as c

    await receive(runtime, mail(message_id="<old@acme.example>"))
    lead = await person_id(runtime, "lena@staff.example.com")
    await runtime.bus.handle(c.Close(actor=lead, channel="email", ticket=1, text="done"))
    await receive(runtime, mail(subject="Re: [#1] Printer jams", in_reply_to="<old@acme.example>",
                                body="It jams again"))
    found = await tickets(runtime)
    assert [(t["number"], t["linked_to"], t["subject"]) for t in found] == \
        [(1, None, "Printer jams"), (2, 1, "Printer jams")]
    assert (await inbound_rows(runtime))[-1]["rule"] == "message_id_closed"


async def _resolved(runtime: App, at: dt.datetime) -> None:
    from engine import commands as c
    from engine.model import Status

    await receive(runtime, mail(message_id="<old@acme.example>"), at=at)
    lead = await person_id(runtime, "lena@staff.example.com")
    await runtime.bus.handle(c.SetStatus(actor=lead, channel="email", at=at, ticket=1,
                                         status=Status.RESOLVED, text="done"))


async def test_a_reply_within_reopen_days_reopens_the_resolved_ticket(runtime: App) -> None:
    sent = dt.datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    await _resolved(runtime, sent - dt.timedelta(days=6))
    await receive(runtime, mail(subject="Re: [#1] Printer jams", in_reply_to="<old@acme.example>",
                                body="It jams again"), at=sent)
    assert [(t["number"], t["status"]) for t in await tickets(runtime)] == [(1, "open")]
    assert (await inbound_rows(runtime))[-1]["rule"] == "message_id"


async def test_a_reply_long_after_the_resolve_opens_a_new_linked_one(runtime: App) -> None:
    """The same rule as chat: an old conversation is not brought back to life."""
    sent = dt.datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    await _resolved(runtime, sent - dt.timedelta(days=8))
    await receive(runtime, mail(subject="Re: [#1] Printer jams", in_reply_to="<old@acme.example>",
                                body="It jams again"), at=sent)
    found = await tickets(runtime)
    assert [(t["number"], t["status"], t["linked_to"]) for t in found] == \
        [(1, "resolved", None), (2, "open", 1)]
    acks = [o for o in await outbound(runtime) if o["kind"] == "ack"]
    assert [(a["recipient"], a["ticket"]) for a in acks] == \
        [("carl@acme.example", 1), ("carl@acme.example", 2)]
    assert (await inbound_rows(runtime))[-1]["rule"] == "message_id_resolved"


async def test_staff_mail_to_a_closed_ticket_stays_on_it_as_a_note(runtime: App) -> None:
    """Staff never open a follow-up: their plain mail (a reply to a notice we sent them) is
    an internal note, as on any ticket."""
    from engine import commands as c

    await receive(runtime, mail(message_id="<old@acme.example>"))
    lead = await person_id(runtime, "lena@staff.example.com")
    notice = await notice_ref(runtime, "created", "lena@staff.example.com")
    await runtime.bus.handle(c.Close(actor=lead, channel="email", ticket=1, text="done"))
    await receive(runtime, mail(sender="lena@staff.example.com", subject="Re: [#1] Printer jams",
                                in_reply_to=notice, body="Replaced the roller"))
    assert [(t["number"], t["status"]) for t in await tickets(runtime)] == [(1, "closed")]
    detail = await ticket_detail(runtime.db, 1)
    assert detail is not None
    assert [(x["body"], x["public"]) for x in detail["comments"]][-1] == \
        ("Replaced the roller", False)


async def test_a_strangers_subject_tag_opens_a_new_ticket_linking_it(runtime: App) -> None:
    """zammad#5064: any sender quoting a ticket number got appended to someone else's ticket."""
    await receive(runtime, mail())
    await receive(runtime, mail(sender="mallory@evil.example", subject="Re: [#1] Printer jams",
                                body="let me in"))
    found = await tickets(runtime)
    assert [(t["number"], t["linked_to"]) for t in found] == [(1, None), (2, 1)]
    detail = await ticket_detail(runtime.db, 1)
    assert detail is not None and len(detail["comments"]) == 1
    assert (await inbound_rows(runtime))[-1]["rule"] == "subject_tag_stranger"


async def test_a_colleagues_subject_tag_threads(runtime: App) -> None:
    await receive(runtime, mail())
    await receive(runtime, mail(sender="dora@acme.example", subject="Re: [#1] Printer jams",
                                body="Same here"))
    assert len(await tickets(runtime)) == 1
    assert (await inbound_rows(runtime))[-1]["rule"] == "subject_tag"


async def test_cc_addresses_become_observers_when_they_reply(runtime: App) -> None:
    await receive(runtime, mail(message_id="<cc1@acme.example>", cc="boss@partner.example"))
    [ticket] = await tickets(runtime)
    assert ticket["cc"] == ["boss@partner.example"]
    await receive(runtime, mail(sender="boss@partner.example", in_reply_to="<cc1@acme.example>",
                                body="Please hurry"))
    detail = await ticket_detail(runtime.db, 1)
    assert detail is not None
    assert detail["observers"] == [await person_id(runtime, "boss@partner.example")]
    assert detail["comments"][-1]["body"] == "Please hurry"


async def test_staff_mail_without_a_command_is_an_internal_note(runtime: App) -> None:
    await receive(runtime, mail(message_id="<s1@acme.example>"))
    notice = await notice_ref(runtime, "created", "lena@staff.example.com")
    await receive(runtime, mail(sender="lena@staff.example.com", in_reply_to=notice,
                                references=f"<s1@acme.example> {notice}",
                                body="Checking the toner."))
    detail = await ticket_detail(runtime.db, 1)
    assert detail is not None
    assert (detail["comments"][-1]["body"], detail["comments"][-1]["public"]) == \
        ("Checking the toner.", False)


async def test_mail_without_from_still_opens_a_ticket_and_answers_nobody(
        runtime: App) -> None:
    await receive(runtime, corpus("malformed_no_from.eml"))
    [ticket] = await tickets(runtime)
    assert ticket["requester_id"] is None
    assert not [o for o in await outbound(runtime) if o["kind"] == "ack"]


@pytest.mark.parametrize("name", sorted(p.name for p in MAIL_DIR.glob("malformed_*.eml")))
async def test_malformed_mail_is_processed_never_stuck(runtime: App, name: str) -> None:
    await receive(runtime, corpus(name))
    [row] = await inbound_rows(runtime)
    assert row["status"] in ("done", "ignored")


def test_clean_subject_drops_reply_prefixes_and_our_tag() -> None:
    tag = tag_pattern("[#{number}]")
    assert clean_subject("Re: AW: [#12] Printer", tag) == "Printer"
    assert clean_subject("RE[2]: Fwd: Ответ: [# 7] Принтер", tag) == "Принтер"
    assert clean_subject("Printer", tag) == "Printer"


# ------------------------------------------------------------------ noise

NOISE = sorted(p.name for p in MAIL_DIR.glob("noise_*.eml"))


@pytest.mark.parametrize("name", NOISE)
async def test_noise_never_opens_comments_or_answers(runtime: App, name: str) -> None:
    await receive(runtime, mail(message_id="<open@acme.example>"))
    before = await outbound(runtime)
    await receive(runtime, corpus(name))
    row = (await inbound_rows(runtime))[-1]
    assert row["status"] == "ignored" and row["rule"] == "noise", row["reason"]
    assert len(await tickets(runtime)) == 1
    detail = await ticket_detail(runtime.db, 1)
    assert detail is not None
    assert all(c["public"] is False for c in detail["comments"][1:])
    assert [o["kind"] for o in await outbound(runtime)][len(before):] in ([], ["note"])


async def test_our_own_mail_coming_back_is_ignored(runtime: App) -> None:
    await receive(runtime, mail(sender=SUPPORT, subject="[#1] Printer"))
    row = (await inbound_rows(runtime))[-1]
    assert (row["status"], row["rule"]) == ("ignored", "noise")
    assert await tickets(runtime) == []


async def test_bounce_of_our_mail_notes_the_ticket_and_suppresses_the_address(
        runtime: App) -> None:
    from bot.channels.email.understand.identity import MailIdentity

    await receive(runtime, mail())
    ack = next(o for o in await outbound(runtime) if o["kind"] == "ack")
    ours = MailIdentity.of(runtime.settings, runtime.secret).message_id(ack["id"], 1,
                                                                         ack["person_id"])
    bounce = dsn(ours, "carl@acme.example")
    await receive(runtime, bounce)
    row = (await inbound_rows(runtime))[-1]
    assert (row["status"], row["ticket"]) == ("ignored", 1)
    assert await runtime.inbound.is_suppressed("carl@acme.example")
    detail = await ticket_detail(runtime.db, 1)
    assert detail is not None
    note = detail["comments"][-1]
    assert note["public"] is False and "carl@acme.example" in note["body"]


async def test_a_forged_bounce_suppresses_nothing(runtime: App) -> None:
    await receive(runtime, mail())
    await receive(runtime, dsn("<tb.1.1-4-00000000000000000000@help.example.com>",
                               "carl@acme.example"))
    assert not await runtime.inbound.is_suppressed("carl@acme.example")
    assert (await inbound_rows(runtime))[-1]["status"] == "ignored"


def dsn(original_id: str, failed: str) -> bytes:
    return (
        "From: MAILER-DAEMON@mx.acme.example\r\nTo: support@help.example.com\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn1@mx.acme.example>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.acme.example\r\n\r\n"
        f"Final-Recipient: rfc822; {failed}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: support@help.example.com\r\nTo: {failed}\r\nMessage-ID: {original_id}\r\n"
        "--b--\r\n").encode()


# ------------------------------------------------------------------ failure and replay

class Flaky(MailProcessor):
    """A processing step that fails for one mail (as a bug or a broken disk would)."""

    async def handle(self, row: InboundRow, inc: IncomingMail | None = None) -> Fate:
        if row.external_id == "<poison@acme.example>":
            raise RuntimeError("cannot process this one")
        return await super().handle(row, inc)


async def test_a_failing_mail_is_quarantined_and_never_blocks_the_rest(
        runtime: App) -> None:
    at = dt.datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    await raw.keep(runtime.inbound, mail(message_id="<poison@acme.example>"), at)
    await raw.keep(runtime.inbound, mail(message_id="<fine@acme.example>"), at)
    intake = MailIntake(runtime, max_attempts=3, processor=Flaky)
    assert await intake.drain() == 1
    assert [r["status"] for r in await inbound_rows(runtime)] == ["pending", "done"]
    for _ in range(2):
        await intake.drain()
    poison = (await inbound_rows(runtime))[0]
    assert (poison["status"], poison["attempts"]) == ("quarantined", 3)
    assert "cannot process this one" in poison["reason"]


async def test_replaying_a_processed_mail_changes_nothing(runtime: App) -> None:
    """A crash after the engine's commit and before `finish`: the row is still pending."""
    await raw.keep(runtime.inbound, mail(message_id="<once@acme.example>"),
                   dt.datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    [row] = await runtime.inbound.pending(raw.CHANNEL, 10)
    processor = MailProcessor(MailContext.of(runtime), direct(runtime))
    first = await processor.handle(row)
    second = await processor.handle(row)
    assert (first.ticket, second.ticket, second.rule) == (1, 1, "replay")
    assert len(await tickets(runtime)) == 1


async def test_the_same_mail_stored_twice_is_kept_once(runtime: App) -> None:
    data = mail(message_id="<dup@acme.example>")
    at = dt.datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert await raw.keep(runtime.inbound, data, at) is not None
    assert await raw.keep(runtime.inbound, data, at) is None


async def test_truncated_imap_mail_is_noted_on_the_ticket(runtime: App) -> None:
    data = raw.prepend_header(mail(), raw.TRUNCATED_HEADER, "99000000")
    await receive(runtime, data)
    detail = await ticket_detail(runtime.db, 1)
    assert detail is not None
    note = detail["comments"][-1]
    assert note["public"] is False and "99000000" in note["body"]


async def test_staff_on_the_support_domain_are_not_mistaken_for_our_own_loop(
        tmp_path: Path, clock: FixedClock) -> None:
    from engine.directory import PersonSpec

    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    staff = PersonSpec("Ivan", "specialist", ("ivan@help.example.com",))
    from dataclasses import replace

    rt = await make_runtime(replace(settings, people=(*settings.people, staff)), clock)
    try:
        await receive(rt, mail(sender="ivan@help.example.com", subject="Laptop"))
        assert (await inbound_rows(rt))[-1]["status"] == "done"
    finally:
        await rt.db.dispose()
