"""Mail a person can trust (issue 10): replies threaded whoever of the requester's side
writes, Message-IDs and subjects kept exactly, acks never lost to a bounce that passes or to
the loop brake, "you are in copy" only where it is wanted.

Each case is a named fixture under tests/mail/trust/*.eml (`%ACK_ID%` stands for the
Message-ID of the ack the test received from the sink); the service runs as in production
(bootstrap, intake, the sender against aiosmtpd), on SQLite and PostgreSQL where the stored
data matters. Every test asserts the ticket, the mail that went out (or that none did) and
what is stored."""

from __future__ import annotations

import datetime as dt
import email
from collections.abc import AsyncIterator
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest

from bot.channels.email.act.cc_notice import cc_to_notify, looks_machine_made
from bot.channels.email.act.intake import MailIntake
from bot.channels.email.deliver.sender import MailSender
from bot.channels.email.receive import raw
from bot.channels.email.understand.freemail import is_free_mail, organisation_domain
from bot.channels.email.understand.identity import MailIdentity
from bot.channels.email.understand.parse import parse_mail
from bot.runtime import App
from engine import commands as c
from engine.store.queries import export_all, ticket_detail
from tests.fakes import FixedClock
from tests.support_email import (
    MAIL_DIR,
    SUPPORT,
    Sink,
    clock,
    mail,
    make_runtime,
    person_id,
    settings_for,
    smtp_sink,
)

__all__ = ["clock", "smtp_sink"]  # fixtures

UTC = dt.UTC
T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
IRINA = "irina@kontora-plus.ru"
SUBJECT_RU = ("Не работает принтер на третьем этаже в бухгалтерии, срочно нужна помощь "
              "специалиста по оборудованию")


@pytest.fixture
async def app(db_url: str, clock: FixedClock) -> AsyncIterator[App]:
    """The whole service on SQLite and on PostgreSQL (db_url is parametrised)."""
    rt = await make_runtime(settings_for(db_url), clock)
    yield rt
    await rt.close()


@pytest.fixture
async def lite(tmp_path: Any, clock: FixedClock) -> AsyncIterator[App]:
    """SQLite only, for behaviour that does not depend on the database."""
    rt = await make_runtime(settings_for(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"), clock)
    yield rt
    await rt.close()


def case(name: str, **fill: str) -> bytes:
    data = (MAIL_DIR / "trust" / f"{name}.eml").read_bytes()
    for key, value in fill.items():
        data = data.replace(f"%{key}%".encode(), value.encode())
    return data


async def receive(rt: App, clock: FixedClock, data: bytes, minutes: float = 1) -> None:
    clock.advance(minutes=minutes)
    await raw.keep(rt.inbound, data, clock.now())
    await MailIntake(rt).drain()


async def send(rt: App, sink: Sink, clock: FixedClock) -> list[EmailMessage]:
    """Run the sender as a fresh process would; the mails that went out this time."""
    before = len(sink.received)
    clock.advance(seconds=30)
    sender = MailSender(rt, sink.smtp)
    while await sender.run_once():
        pass
    return sink.messages()[before:]


def to(mails: list[EmailMessage], address: str) -> list[EmailMessage]:
    return [m for m in mails if m["To"] == address]


async def export(rt: App) -> dict[str, Any]:
    data: dict[str, Any] = await export_all(rt.db)
    return data


async def opened_by_irina(rt: App, sink: Sink, clock: FixedClock) -> EmailMessage:
    await receive(rt, clock, case("request_long_cyrillic_subject"))
    [ack] = to(await send(rt, sink, clock), IRINA)
    return ack


# ------------------------------------------------------------------ threading

async def test_a_colleague_answering_our_ack_joins_the_ticket(
        app: App, smtp_sink: Sink, clock: FixedClock) -> None:
    """Issue 10: 1 of 36 such replies reached the right ticket; the rest were split off."""
    ack = await opened_by_irina(app, smtp_sink, clock)
    await receive(app, clock, case("colleague_reply_to_ack", ACK_ID=str(ack["Message-ID"])))
    data = await export(app)
    [ticket] = data["tickets"]
    petr = await person_id(app, "petr@kontora-plus.ru")
    assert petr in ticket["observers"]
    assert ticket["comments"][-1]["body"].startswith("Добавлю: это модель HP LaserJet 400")
    assert data["inbound"][-1]["rule"] == "own_message_id"
    mails = await send(app, smtp_sink, clock)
    # Irina hears of her colleague's comment; Petr is told he now follows the ticket.
    assert [m["Subject"] for m in to(mails, IRINA)] == [f"[#1] {SUBJECT_RU}"]
    assert len(to(mails, "petr@kontora-plus.ru")) == 1


async def test_a_colleagues_tag_only_reply_joins_but_a_strangers_opens_a_linked_ticket(
        app: App, smtp_sink: Sink, clock: FixedClock) -> None:
    await opened_by_irina(app, smtp_sink, clock)
    await receive(app, clock, case("colleague_tag_only"))
    await receive(app, clock, case("stranger_tag_only"))
    data = await export(app)
    first, split = data["tickets"]
    assert first["comments"][-1]["body"] == "It now jams on every page, not only the second."
    assert await person_id(app, "olga.b@kontora-plus.ru") in first["observers"]
    assert (split["number"], split["linked_to"]) == (2, 1)
    assert split["requester_id"] == await person_id(app, "mallory@elsewhere.example")
    assert [r["rule"] for r in data["inbound"][-2:]] == ["subject_tag", "subject_tag_stranger"]
    mails = await send(app, smtp_sink, clock)
    # Mallory gets the ack of her own new ticket, never a word of ticket 1.
    [to_mallory] = to(mails, "mallory@elsewhere.example")
    assert to_mallory["Subject"].startswith("[#2]")
    assert "зажёвывает" not in to_mallory.get_content()


async def test_a_shared_free_mail_provider_is_no_organisation(
        lite: App, smtp_sink: Sink, clock: FixedClock) -> None:
    await receive(lite, clock, case("freemail_request"))
    await receive(lite, clock, case("freemail_neighbour_tag_only"))
    tickets = (await export(lite))["tickets"]
    assert [(t["number"], t["linked_to"]) for t in tickets] == [(1, None), (2, 1)]
    assert tickets[0]["observers"] == []
    mails = await send(lite, smtp_sink, clock)
    assert [m["Subject"] for m in to(mails, "boris.z@gmail.com")] == \
        ["[#2] Cannot log in to the portal"]
    assert all("[#1]" not in m["Subject"] for m in to(mails, "boris.z@gmail.com"))


async def test_an_outsider_answering_our_own_message_id_threads(
        lite: App, smtp_sink: Sink, clock: FixedClock) -> None:
    """Our Message-IDs are signed: a reply naming one proves its sender saw our mail."""
    ack = await opened_by_irina(lite, smtp_sink, clock)
    await receive(lite, clock, case("outsider_reply_to_ack", ACK_ID=str(ack["Message-ID"])))
    [ticket] = (await export(lite))["tickets"]
    assert ticket["comments"][-1]["body"].startswith("Irina forwarded me your answer")


async def test_a_forged_message_id_of_ours_is_a_stranger(
        lite: App, smtp_sink: Sink, clock: FixedClock) -> None:
    ack = await opened_by_irina(lite, smtp_sink, clock)
    real = str(ack["Message-ID"])
    forged = real[:-30] + ("0" if real[-30] != "0" else "1") + real[-29:]
    await receive(lite, clock, case("outsider_reply_to_ack", ACK_ID=forged))
    data = await export(lite)
    # Only its [#1] tag is left, from an outsider: a new ticket linking #1.
    assert [(t["number"], t["linked_to"]) for t in data["tickets"]] == [(1, None), (2, 1)]
    assert data["inbound"][-1]["rule"] == "subject_tag_stranger"


def test_our_message_ids_are_signed_and_unguessable() -> None:
    me = MailIdentity(SUPPORT, b"k" * 32)
    other = MailIdentity(SUPPORT, b"j" * 32)
    ours = me.message_id(7, 1, 2)
    assert me.ref_ticket(ours) == 1
    assert other.ref_ticket(ours) is None  # another key: not ours
    sig = ours.split("-")[-1].split("@")[0]
    assert len(sig) == 20 and int(sig, 16) >= 0  # 80 bits of HMAC-SHA256


def test_the_free_mail_list_covers_global_and_russian_providers() -> None:
    for domain in ("gmail.com", "mail.ru", "yandex.ru", "bk.ru", "list.ru", "inbox.ru",
                   "ya.ru", "outlook.com", "hotmail.com", "yahoo.com", "icloud.com",
                   "gmx.de", "gmx.net", "web.de", "proton.me"):
        assert is_free_mail(domain), domain
    assert organisation_domain("Irina@Kontora-Plus.RU") == "kontora-plus.ru"
    assert organisation_domain("anna@gmail.com") is None


# ------------------------------------------------------------------ ids and subjects as written

async def test_ids_and_a_long_cyrillic_subject_round_trip_exactly(
        app: App, smtp_sink: Sink, clock: FixedClock) -> None:
    ack = await opened_by_irina(app, smtp_sink, clock)
    data = await export(app)
    [ticket] = data["tickets"]
    assert ticket["subject"] == SUBJECT_RU
    assert ticket["source_ref"] == "<CAF7x.Mixed.Case-ID@Mail.Kontora-Plus.RU>"
    assert data["inbound"][0]["external_id"] == "<CAF7x.Mixed.Case-ID@Mail.Kontora-Plus.RU>"
    # The ack, parsed from the bytes aiosmtpd received.
    assert ack["Subject"] == f"[#1] {SUBJECT_RU}"
    assert ack["In-Reply-To"] == "<CAF7x.Mixed.Case-ID@Mail.Kontora-Plus.RU>"
    assert ack["References"] == "<CAF7x.Mixed.Case-ID@Mail.Kontora-Plus.RU>"
    assert ack["Content-Language"] == "ru"
    assert ack["Auto-Submitted"] == "auto-replied"
    [row] = [o for o in data["outbound"] if o["kind"] == "ack"]
    assert row["meta"]["in-reply-to"] == "<CAF7x.Mixed.Case-ID@Mail.Kontora-Plus.RU>"
    # A lookup still finds the id whatever its case.
    assert await app.views.ticket_of(["<caf7x.mixed.case-id@mail.kontora-plus.ru>"]) == 1


async def test_every_line_of_the_sent_subject_is_short_and_no_space_is_lost(
        lite: App, smtp_sink: Sink, clock: FixedClock) -> None:
    await opened_by_irina(lite, smtp_sink, clock)
    [envelope] = [e for e in smtp_sink.received if e.rcpt_tos == [IRINA]]
    raw_bytes = envelope.original_content or b""
    head = raw_bytes.split(b"\r\n\r\n", 1)[0]
    assert max(len(line) for line in head.split(b"\r\n")) <= 78
    parsed = email.message_from_bytes(raw_bytes, policy=default)
    assert parsed["Subject"].split() == f"[#1] {SUBJECT_RU}".split()
    assert parsed["Subject"] == f"[#1] {SUBJECT_RU}"


async def test_a_specialists_answer_is_not_automatic_mail(
        lite: App, smtp_sink: Sink, clock: FixedClock) -> None:
    await opened_by_irina(lite, smtp_sink, clock)
    olga = await person_id(lite, "olga@staff.example.com")
    await lite.bus.handle(c.AddComment(actor=olga, channel="telegram", ticket=1, public=True,
                                       body="Замените картридж, пожалуйста."))
    [answer] = to(await send(lite, smtp_sink, clock), IRINA)
    assert answer["Auto-Submitted"] is None
    assert answer["Content-Language"] == "ru"
    assert answer["Subject"] == f"[#1] {SUBJECT_RU}"
    assert "Замените картридж" in answer.get_content()


# ------------------------------------------------------------------ bounces

@pytest.mark.parametrize(("name", "suppressed"), [
    ("bounce_user_unknown_511", True),
    ("bounce_ndr_no_such_user_ru", True),
    ("bounce_mailbox_full_522", False),
    ("bounce_policy_571", False),
    ("bounce_delayed_441", False),
])
async def test_only_a_permanent_address_failure_suppresses(
        lite: App, smtp_sink: Sink, clock: FixedClock, name: str, suppressed: bool) -> None:
    ack = await opened_by_irina(lite, smtp_sink, clock)
    await receive(lite, clock, case(name, ACK_ID=str(ack["Message-ID"])))
    data = await export(lite)
    assert data["inbound"][-1]["status"] == "ignored"
    assert len(data["tickets"]) == 1
    assert await lite.inbound.is_suppressed(IRINA) is suppressed
    kinds = [e["kind"] for e in data["desk_events"]]
    assert ("address_suppressed" in kinds) is suppressed
    note = data["tickets"][0]["comments"][-1]
    assert note["public"] is False and IRINA in note["body"]
    # The next answer reaches Irina unless her address does not exist.
    olga = await person_id(lite, "olga@staff.example.com")
    await lite.bus.handle(c.AddComment(actor=olga, channel="email", ticket=1, public=True,
                                       body="Мы проверим."))
    assert len(to(await send(lite, smtp_sink, clock), IRINA)) == (0 if suppressed else 1)


async def test_a_suppressed_address_that_writes_again_is_mailed_again(
        app: App, smtp_sink: Sink, clock: FixedClock) -> None:
    ack = await opened_by_irina(app, smtp_sink, clock)
    await receive(app, clock, case("bounce_user_unknown_511", ACK_ID=str(ack["Message-ID"])))
    assert await app.inbound.is_suppressed(IRINA)
    await receive(app, clock, mail(sender=IRINA, subject="Новый вопрос",
                                   body="Мой ящик снова работает, а сканер нет."))
    assert not await app.inbound.is_suppressed(IRINA)
    data = await export(app)
    lifted = [e for e in data["desk_events"] if e["kind"] == "address_unsuppressed"]
    assert [e["payload"]["address"] for e in lifted] == [IRINA]
    assert lifted[0]["payload"]["suppressed_for"].startswith("bounce")
    [ack2] = to(await send(app, smtp_sink, clock), IRINA)
    assert ack2["Subject"] == "[#2] Новый вопрос"


# ------------------------------------------------------------------ the automatic-mail cap

def _numbered(n: int, sender: str, subject: str) -> bytes:
    return mail(sender=sender, subject=f"{subject} {n}", body=f"Request number {n}.",
                message_id=f"<Req.{n}@{sender.split('@')[1]}>")


async def test_a_backlog_of_eight_requests_gets_every_ack(
        app: App, smtp_sink: Sink, clock: FixedClock) -> None:
    """41 acks were lost this way: the cap dropped every ack after the fifth."""
    for n in range(1, 9):
        clock.advance(minutes=2)
        await raw.keep(app.inbound, _numbered(n, "busy@bulk-orders.example", "Order problem"),
                       clock.now())
    await MailIntake(app).drain()
    mails = to(await send(app, smtp_sink, clock), "busy@bulk-orders.example")
    told = " ".join(f"{m['Subject']}\n{m.get_content()}" for m in mails)
    assert all(f"[#{n}]" in told for n in range(1, 9))
    assert len(mails) <= 6
    [grouped] = [m for m in mails if m["Subject"].startswith("Requests received")]
    assert grouped["Subject"] == "Requests received: #6, #7, #8"
    assert grouped["Auto-Submitted"] == "auto-replied"
    rows = [o for o in (await export(app))["outbound"] if o["kind"] == "ack"]
    assert all(o["sent_at"] is not None and o["failed_at"] is None for o in rows)


async def test_an_auto_responder_loop_still_stops(
        app: App, smtp_sink: Sink, clock: FixedClock) -> None:
    """A robot that answers every ack with a new mail of its own, without any header that
    says so: each answer would open a ticket and get an ack, for ever."""
    robot = "desk@robot-helpdesk.example"
    acks = 0
    for n in range(1, 11):
        await receive(app, clock, _numbered(n, robot, "Ticket received: ref"), minutes=2)
        acks += len(to(await send(app, smtp_sink, clock), robot))
    limit = app.settings.email.auto_reply_limit
    assert acks == limit
    rows = [o for o in (await export(app))["outbound"] if o["recipient"] == robot]
    stopped = [o for o in rows if o["failed_at"] is not None]
    assert len(stopped) == 10 - limit and all("loop brake" in o["last_error"] for o in stopped)
    # An hour later the robot is answered again: the brake is not a ban.
    await receive(app, clock, _numbered(99, robot, "Ticket received: ref"), minutes=61)
    assert len(to(await send(app, smtp_sink, clock), robot)) == 1


# ------------------------------------------------------------------ "you are in copy"

async def test_a_strangers_fifty_cc_are_not_mailed(
        lite: App, smtp_sink: Sink, clock: FixedClock) -> None:
    cc = ", ".join(f"person{i}@many-{i}.example" for i in range(50))
    await receive(lite, clock, mail(sender="new.face@unknown-co.example", cc=cc,
                                    subject="Look at this"))
    [ticket] = (await export(lite))["tickets"]
    assert len(ticket["cc"]) == 20  # kept (their replies take part), capped
    mails = await send(lite, smtp_sink, clock)
    outside = [m["To"] for m in mails if not m["To"].endswith("@staff.example.com")]
    assert outside == ["new.face@unknown-co.example"]


async def test_a_known_requesters_cc_hear_of_the_ticket_at_most_five(
        lite: App, smtp_sink: Sink, clock: FixedClock) -> None:
    cc = ", ".join(f"colleague{i}@acme.example" for i in range(7))
    await receive(lite, clock, mail(sender="carl@acme.example", cc=cc, subject="Printer"))
    mails = await send(lite, smtp_sink, clock)
    copied = [m for m in mails if m["To"].startswith("colleague")]
    assert [m["To"] for m in copied] == [f"colleague{i}@acme.example" for i in range(5)]
    assert all(m["Subject"] == "[#1] Printer" for m in copied)


def test_no_cc_notice_for_mail_that_looks_machine_made() -> None:
    from engine.model import Person, Role

    me = MailIdentity(SUPPORT, b"k" * 32)
    carl = Person(id=4, name="Carl", role=Role.CLIENT, emails=("carl@acme.example",),
                  company_id=1)
    cc = ("a@acme.example",)
    person = parse_mail(mail(cc=cc[0]))
    robot = parse_mail(mail(cc=cc[0], headers={"X-Autoreply": "yes"}))
    no_reply = parse_mail(mail(sender="no-reply@acme.example", cc=cc[0]))
    assert cc_to_notify(person, me, carl, True, cc) == cc
    assert looks_machine_made(robot, me) and cc_to_notify(robot, me, carl, True, cc) == ()
    assert cc_to_notify(no_reply, me, carl, True, cc) == ()


async def test_the_ticket_detail_shows_ids_as_written(
        lite: App, smtp_sink: Sink, clock: FixedClock) -> None:
    await opened_by_irina(lite, smtp_sink, clock)
    detail = await ticket_detail(lite.db, 1)
    assert detail is not None
    assert detail["comments"][0]["source_ref"] == "<CAF7x.Mixed.Case-ID@Mail.Kontora-Plus.RU>"
