"""Issue 10's machine mail through the real intake and SMTP relay (aiosmtpd): none opens a
ticket, becomes a comment or gets mail back; every person who looks a bit like a machine
gets a ticket and the acknowledgement."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.channels.email.act.intake import MailIntake
from bot.channels.email.deliver.sender import MailSender
from bot.runtime import App
from engine.store.queries import export_all, ticket_detail
from tests.fakes import FixedClock
from tests.support_email import (
    Sink,
    clock,
    corpus,
    db_file,
    mail,
    make_runtime,
    settings_for,
    smtp_sink,
)

__all__ = ["clock", "db_file", "smtp_sink"]  # fixtures

MACHINE = [
    "noise_cloud_sns_json.eml", "noise_cloud_noreply_json.eml", "noise_ndr_japanese_mixed.eml",
    "noise_ndr_could_not_be_delivered.eml", "noise_sms_gateway_post_master.eml",
    "noise_abuse_complaint_mixed.eml", "noise_notes_out_of_office.eml",
    "noise_list_manager_mlserver.eml", "noise_list_manager_admin_sender.eml",
]
PEOPLE = [
    # file, the sender who must get the ack
    ("clean_postmaster_person.eml", "postmaster@berg-family.example"),
    ("clean_undeliverable_subject_person.eml", "peter@novak.example"),
    ("clean_quotes_smtp_error.eml", "maria@garcia.example"),
    ("clean_noreply_looking_person.eml", "alerts@ito.example"),
    ("clean_json_pasted.eml", "luis@dev.example"),
    ("clean_list_admin_person.eml", "it-admin@lind.example"),
    ("clean_abuse_desk_person.eml", "abuse@sato-net.example"),
    ("clean_out_of_office_subject_person.eml", "olga@petrova.example"),
    ("clean_japanese_mail_trouble.eml", "tanaka@tanaka.example.jp"),
    ("clean_forwarded_as_attachment.eml", "yuki@ito-trade.example"),
    ("clean_forwarded_ndr_as_attachment.eml", "yuki@ito-trade.example"),
    ("clean_confirm_email_subject.eml", "aiko@sato-design.example"),
]


@pytest.fixture
async def desk(db_file: str, clock: FixedClock, smtp_sink: Sink) -> AsyncIterator[App]:
    rt = await make_runtime(settings_for(db_file, smtp=smtp_sink.smtp), clock)
    yield rt
    await rt.close()


async def deliver(rt: App, raw: bytes, ref: str) -> None:
    """Store, process and send what the outbox holds, as `ticketbot run` does."""
    await rt.inbound.store("email", ref, raw, rt.bus.clock.now())
    await MailIntake(rt).drain()
    assert rt.settings.email.smtp is not None
    sender = MailSender(rt, rt.settings.email.smtp)
    while await sender.run_once() > 0:
        pass


@pytest.mark.parametrize("name", MACHINE)
async def test_machine_mail_opens_nothing_comments_nothing_mails_nobody(
        desk: App, smtp_sink: Sink, name: str) -> None:
    # A ticket #1 exists, and several of the samples name it ("Re: [#1] Printer jams").
    await deliver(desk, mail(message_id="<first@acme.example>"), "<first@acme.example>")
    before = [m["To"] for m in smtp_sink.messages()]
    assert "carl@acme.example" in before

    await deliver(desk, corpus(name), f"<{name}>")

    dump = await export_all(desk.db)
    assert [t["number"] for t in dump["tickets"]] == [1]
    detail = await ticket_detail(desk.db, 1)
    assert detail is not None and len(detail["comments"]) == 1
    assert [m["To"] for m in smtp_sink.messages()] == before  # nobody was mailed
    row = dump["inbound"][-1]
    assert (row["status"], row["rule"]) == ("ignored", "noise")
    ignored = [d for d in dump["desk_events"] if d["kind"] == "mail_ignored"]
    assert [d["payload"]["inbound_id"] for d in ignored] == [row["id"]]


@pytest.mark.parametrize(("name", "person"), PEOPLE)
async def test_a_person_who_looks_like_a_machine_gets_a_ticket_and_the_ack(
        desk: App, smtp_sink: Sink, name: str, person: str) -> None:
    await deliver(desk, corpus(name), f"<{name}>")

    dump = await export_all(desk.db)
    assert [t["number"] for t in dump["tickets"]] == [1]
    sent = smtp_sink.messages()
    acks = [m for m in sent if m["To"] == person]
    assert len(acks) == 1 and acks[0]["Subject"].startswith("[#1] ")
    assert acks[0]["Auto-Submitted"] == "auto-replied"
    # Everyone else mailed is staff (the lead hears of the new ticket).
    assert all(m["To"].endswith("@staff.example.com") for m in sent if m is not acks[0])
    assert dump["inbound"][-1]["status"] == "done"


async def test_a_person_at_a_no_reply_address_gets_a_ticket_and_the_ack_is_held(
        desk: App, smtp_sink: Sink) -> None:
    """The sender never mails a no-reply address (loop safety): the ticket is there, and
    the held acknowledgement is visible in the outbox with its reason."""
    await deliver(desk, mail(sender="Tom <noreply.tom@ito.example>", subject="Cannot log in",
                             body="I cannot log in since Friday."), "<noreply-tom>")

    dump = await export_all(desk.db)
    assert [t["number"] for t in dump["tickets"]] == [1]
    assert not [m for m in smtp_sink.messages() if m["To"] == "noreply.tom@ito.example"]
    held = [o for o in dump["outbound"] if o["recipient"] == "noreply.tom@ito.example"]
    assert [(o["kind"], o["last_error"]) for o in held] == [("ack", "skipped: a no-reply address")]
