"""Issue 12, files both ways, on the real channels: mail through the SMTP intake (aiosmtpd),
Telegram through the fake Bot API (getFile, the file download, sendDocument), mail out into
an SMTP sink. Each test says who receives which file, where, as a reply to what, how many
times, in which language, and who must never receive it."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import AsyncIterator
from dataclasses import replace
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime
from typing import Any

import aiosmtplib
import pytest

from bot.channels.email.act.intake import MailIntake
from bot.channels.email.deliver.sender import MailSender
from bot.channels.email.receive.ingress import IngressHandler, IngressService
from bot.channels.email.understand import tokens
from bot.channels.email.understand.identity import MailIdentity
from bot.channels.telegram.deliver import files as chat_files
from bot.storage.telegram_sql import TelegramSqlStore
from engine.directory import CompanySpec, PersonSpec
from tests.fakebotapi import FakeBotAPI, serve
from tests.fakes import FixedClock
from tests.support_email import Sink, plain_text, smtp_sink
from tests.support_telegram import (
    ANNA,
    LENA,
    OLGA,
    SAM,
    STAFF,
    SUPPORT,
    Harness,
    mailed_ticket,
    runtime,
    settings_for,
)

__all__ = ["smtp_sink"]

DESK = "support@help.example.com"
CARL = "carl@acme.example"
SAM_MAIL, OLGA_MAIL, LENA_MAIL = ("sam@staff.example.com", "olga@staff.example.com",
                                  "lena@staff.example.com")
LIMIT = 100_000  # email.notify_attach_max_bytes in these tests
# Lena (lead) and Sam work in Telegram; Olga, Acme's manager (so the responsible for every
# Acme ticket), reads Russian and works by mail.
PEOPLE = (
    PersonSpec("Lena Lead", "lead", (LENA_MAIL,), telegram_id=LENA.id, username="lena_lead"),
    PersonSpec("Sam Spec", "specialist", (SAM_MAIL,), telegram_id=SAM.id, username="sam_spec"),
    PersonSpec("Olga Spec", "specialist", (OLGA_MAIL,), telegram_id=OLGA.id,
               username="olga_spec", language="ru", notify_via="email"),
    PersonSpec("Carl Client", "client", (CARL,), company="Acme"),
)
COMPANIES = (CompanySpec("Acme", ("acme.example",), manager_email=OLGA_MAIL),)
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"
BIG = bytes(range(256)) * 600  # 153,600 bytes: over LIMIT
PHOTO = b"\xff\xd8\xff\xe0JFIF" + bytes(range(200)) * 5 + b"\xff\xd9"
_ids = itertools.count(1)


@pytest.fixture
async def h(db_url: str) -> AsyncIterator[Harness]:
    """The Telegram channel started on SQLite and PostgreSQL, with staff reachable by mail
    too and Acme's tickets going to Olga."""
    clock = FixedClock(dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC))
    fake = FakeBotAPI(now=clock.now)
    fake.add_chat(SUPPORT, "Support")
    fake.add_chat(STAFF, "Specialists")
    fake.admins[SUPPORT] = {LENA.id, 123456}
    server = await serve(fake)
    settings = settings_for(db_url, server.url)
    settings = replace(settings, people=PEOPLE, companies=COMPANIES,
                       email=replace(settings.email, address=DESK,
                                     notify_attach_max_bytes=LIMIT))
    harness = Harness(fake, server, settings, clock, await runtime(settings, clock))
    store = TelegramSqlStore(harness.rt.db)
    for user in (LENA, SAM, OLGA):  # they pressed Start some time ago
        await store.mark_started(user.id, user.username, clock.now())
        fake.started.add(user.id)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()
        await harness.rt.close()
        await server.close()


def mail_with(files: list[tuple[str, str, bytes]], *, sender: str = CARL,
              subject: str = "Invoice is wrong", body: str = "See the attached invoice.",
              in_reply_to: str | None = None) -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, DESK, subject
    m["Date"] = format_datetime(dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC))
    m["Message-ID"] = f"<files{next(_ids)}@mail.example>"
    if in_reply_to:
        m["In-Reply-To"] = in_reply_to
    m.set_content(body)
    for name, ctype, data in files:
        maintype, _, subtype = ctype.partition("/")
        m.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return m.as_bytes(policy=SMTP_POLICY)


async def smtp_in(h: Harness, data: bytes, sender: str = CARL) -> None:
    """Through the real SMTP intake (aiosmtpd), then the intake makes tickets of it."""
    handler = IngressHandler(h.rt.inbound, MailIdentity.of(h.rt.settings, h.rt.secret),
                             h.clock, max_size=h.rt.settings.email.max_size, lmtp=False)
    service = IngressService(handler, "127.0.0.1", 0)
    await service.start()
    try:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=service.port) as smtp:
            await smtp.sendmail(sender, [DESK], data)
    finally:
        await service.stop()
    await MailIntake(h.rt).drain()


def files_in(m: EmailMessage) -> list[tuple[str, bytes]]:
    found = []
    for part in m.iter_attachments():
        assert isinstance(part, EmailMessage)
        data = part.get_payload(decode=True)
        assert isinstance(data, bytes)
        found.append((str(part.get_filename()), data))
    return found


def to(address: str) -> Any:
    return lambda m: str(m["To"]) == address


def reply_to(params: dict[str, Any]) -> int:
    return int(params["reply_parameters"]["message_id"])


async def mail_out(h: Harness, sink: Sink) -> None:
    """Every mail due now, sent into the sink."""
    sender = MailSender(h.rt, sink.smtp)
    while await sender.run_once():
        pass


# ------------------------------------------------------------------ mail -> staff


async def test_a_clients_pdf_reaches_the_staff_chat_the_lead_and_the_responsible(
        h: Harness, smtp_sink: Sink) -> None:
    await smtp_in(h, mail_with([("invoice.pdf", "application/pdf", PDF),
                                ("scan.bin", "application/octet-stream", BIG)]))
    [request] = await h.comments(1)
    assert [(a.filename, a.data) for a in request.attachments] == [("invoice.pdf", PDF),
                                                                   ("scan.bin", BIG)]

    # The staff chat: the request's post, and under it each file once, named, same bytes.
    uploads = await h.sent(lambda f: len(f.uploads(STAFF)) == 2 and f.uploads(STAFF))
    post = next(m for m in h.fake.bot_messages(STAFF)
                if m["text"].startswith("New ticket from Carl Client (email)"))
    assert [(u.filename, u.data, p["caption"], reply_to(p)) for p, u in uploads] == [
        ("invoice.pdf", PDF, "invoice.pdf", post["message_id"]),
        ("scan.bin", BIG, "scan.bin", post["message_id"])]
    # Lena (lead, in Telegram): under her private "new ticket" notice, once each.
    lena = h.fake.uploads(LENA.id)
    notice = next(m for m in h.fake.bot_messages(LENA.id) if "#1" in m["text"])
    assert [(u.filename, u.data, reply_to(p)) for p, u in lena] == [
        ("invoice.pdf", PDF, notice["message_id"]), ("scan.bin", BIG, notice["message_id"])]
    # Nobody else in Telegram: not the support group, not Sam, not Olga (she works by mail).
    assert h.fake.uploads(SUPPORT) == [] and h.fake.uploads(SAM.id) == []
    assert h.fake.uploads(OLGA.id) == []
    assert len(h.fake.uploads()) == 4

    # Olga, the responsible, by mail in Russian: the PDF attached, the file over the limit
    # named with its size and the command that fetches it.
    await mail_out(h, smtp_sink)
    [olga] = [m for m in smtp_sink.messages() if to(OLGA_MAIL)(m)]
    assert str(olga["Subject"]).startswith("[#1] Вам назначена заявка #1")
    assert files_in(olga) == [("invoice.pdf", PDF)]
    assert ("Не вложен: scan.bin (150 КБ). Получить его: ticketbot attachment get 1 scan.bin"
            in plain_text(olga))
    # Carl's acknowledgement does not send him his own files back.
    [ack] = [m for m in smtp_sink.messages() if to(CARL)(m)]
    assert files_in(ack) == []


async def test_a_clients_later_mail_with_a_file_follows_the_ticket(
        h: Harness, smtp_sink: Sink) -> None:
    number = await mailed_ticket(h, CARL)
    staff_uploads_before = len(h.fake.uploads(STAFF))
    await smtp_in(h, mail_with([("error.png", "image/png", PHOTO)],
                               subject=f"Re: [#{number}] Printer jams",
                               body="The printer shows this."))
    [(params, upload)] = await h.sent(
        lambda f: len(f.uploads(STAFF)) > staff_uploads_before and f.uploads(STAFF))
    post = next(m for m in h.fake.bot_messages(STAFF) if "The printer shows this." in m["text"])
    assert (upload.filename, upload.data, reply_to(params)) == ("error.png", PHOTO,
                                                                post["message_id"])
    await mail_out(h, smtp_sink)
    [olga] = [m for m in smtp_sink.messages() if to(OLGA_MAIL)(m) and "shows this" in
              plain_text(m)]
    assert files_in(olga) == [("error.png", PHOTO)]


# ------------------------------------------------------------------ staff -> client


async def test_a_photo_sent_with_reply_reaches_the_mail_client_attached(
        h: Harness, smtp_sink: Sink) -> None:
    number = await mailed_ticket(h, CARL)
    await mail_out(h, smtp_sink)  # the acknowledgement
    await h.processed((await h.fake.post_file(
        SAM, STAFF, "photo", PHOTO, caption=f"/reply {number} here is the wiring diagram"))[0])
    comments = await h.comments(number)
    answer = comments[-1]
    assert (answer.body, answer.public) == ("here is the wiring diagram", True)
    [(name, data)] = [(a.filename, a.data) for a in answer.attachments]
    assert data == PHOTO and name.startswith("photo_") and name.endswith(".jpg")
    # The echo says where it goes; the staff chat does not get its own photo back.
    await h.sent(lambda f: any(m["text"].startswith("✉") for m in f.bot_messages(STAFF)))
    assert h.fake.uploads(STAFF) == []

    h.clock.advance(seconds=30)  # the grace period in which /undo could withdraw it
    await mail_out(h, smtp_sink)
    answers = [m for m in smtp_sink.messages() if to(CARL)(m) and "wiring diagram" in
               plain_text(m)]
    assert len(answers) == 1
    assert files_in(answers[0]) == [(name, PHOTO)]
    assert f"[#{number}]" in str(answers[0]["Subject"])


async def test_a_specialists_mailed_file_reaches_the_telegram_asker_as_a_document(
        h: Harness, smtp_sink: Sink) -> None:
    # Anna asks in the support group and has started the bot; Sam makes it ticket #1.
    await h.say(ANNA, "/start", chat=ANNA.id)
    question = await h.say(ANNA, "How do I set up the VPN on my laptop?")
    await h.say(SAM, "/ticket", reply_to=question, minutes=1)
    await h.drained()
    # Sam answers by mail, replying to a mail we sent him, with the manual attached.
    ours = tokens.message_id(h.rt.secret, "help.example.com", 1, 1, await h.person_id(SAM),
                             h.clock.now())
    await smtp_in(h, mail_with([("vpn-manual.pdf", "application/pdf", PDF)], sender=SAM_MAIL,
                               subject="Re: [#1] VPN", in_reply_to=ours,
                               body="/reply 1 Here is the manual, page 3."), sender=SAM_MAIL)
    answer = (await h.comments(1))[-1]
    assert (answer.body, answer.public) == ("Here is the manual, page 3.", True)
    assert [(a.filename, a.data) for a in answer.attachments] == [("vpn-manual.pdf", PDF)]

    h.clock.advance(seconds=30)
    await h.sent(lambda f: len(f.uploads(ANNA.id)) >= 1 and len(f.uploads(SUPPORT)) >= 1)
    # In the group: under the answer posted under Anna's question, once.
    group_answer = next(m for m in h.fake.bot_messages(SUPPORT)
                        if "Here is the manual" in m["text"])
    assert group_answer["reply_to_message"]["message_id"] == question
    [(params, upload)] = h.fake.uploads(SUPPORT)
    assert (upload.filename, upload.data, reply_to(params)) == (
        "vpn-manual.pdf", PDF, group_answer["message_id"])
    # Privately: under the answer's notice, once.
    private = next(m for m in h.fake.bot_messages(ANNA.id) if "Here is the manual" in m["text"])
    [(params, upload)] = h.fake.uploads(ANNA.id)
    assert (upload.filename, upload.data, reply_to(params)) == (
        "vpn-manual.pdf", PDF, private["message_id"])
    await mail_out(h, smtp_sink)
    assert not any(files_in(m) for m in smtp_sink.messages() if not to(SAM_MAIL)(m)
                   and not to(OLGA_MAIL)(m) and not to(LENA_MAIL)(m))


# ------------------------------------------------------------------ internal stays internal


async def test_files_of_internal_notes_reach_no_client(h: Harness, smtp_sink: Sink) -> None:
    number = await mailed_ticket(h, CARL)
    post = next(m for m in h.fake.bot_messages(STAFF) if "It jams" in m["text"])
    # A file under the ticket's post in the staff chat, and one sent with /note.
    await h.processed((await h.fake.post_file(
        SAM, STAFF, "document", BIG[:5000], name="printer.log", mime="text/plain",
        caption="log from the printer", reply_to=post["message_id"]))[0])
    await h.processed((await h.fake.post_file(
        SAM, STAFF, "document", PDF, name="contract.pdf", mime="application/pdf",
        caption=f"/note {number} the contract, for us only"))[0])
    notes = [c for c in await h.comments(number) if not c.public]
    assert [(c.body, [a.filename for a in c.attachments]) for c in notes] == [
        ("log from the printer", ["printer.log"]),
        ("the contract, for us only", ["contract.pdf"])]

    h.clock.advance(minutes=5)
    await h.drained()
    await mail_out(h, smtp_sink)
    to_carl = [m for m in smtp_sink.messages() if to(CARL)(m)]
    assert len(to_carl) == 1 and files_in(to_carl[0]) == []  # the acknowledgement alone
    assert h.fake.uploads(SUPPORT) == []
    # Olga (the responsible, staff) reads the notes by mail, with their files.
    olga = [files_in(m) for m in smtp_sink.messages() if to(OLGA_MAIL)(m)
            and "Внутренняя заметка" in str(m["Subject"])]
    assert sorted(olga) == sorted([[("printer.log", BIG[:5000])], [("contract.pdf", PDF)]])


# ------------------------------------------------------------------ chat -> ticket


async def test_an_askers_files_in_a_ticket_thread_are_kept_and_shown_to_staff(
        h: Harness) -> None:
    question = await h.say(ANNA, "The scanner prints black pages")
    await h.say(SAM, "/ticket", reply_to=question, minutes=1)
    await h.drained()
    # A photo (no caption) and a voice note in the ticket's thread, a video too big to fetch.
    await h.processed((await h.fake.post_file(ANNA, SUPPORT, "photo", PHOTO,
                                              reply_to=question))[0])
    await h.processed((await h.fake.post_file(ANNA, SUPPORT, "voice", b"OggS-voice",
                                              caption="#1 listen to the noise"))[0])
    await h.processed((await h.fake.post_file(
        ANNA, SUPPORT, "video", b"", name="noise.mp4", caption="#1 and a video",
        size=35 * 1024 * 1024))[0])
    photo, voice, video = (await h.comments(1))[1:]
    assert photo.body == "[photo]" and [a.data for a in photo.attachments] == [PHOTO]
    assert voice.body == "listen to the noise"
    assert [(a.content_type, a.data) for a in voice.attachments] == [("audio/ogg",
                                                                      b"OggS-voice")]
    file_id = next(f.file_id for f in h.fake.files.values() if f.path.endswith("noise.mp4"))
    assert video.attachments == ()
    assert video.body == (
        f"and a video\n[File not fetched: noise.mp4, 35 MB, Telegram file id {file_id}. It "
        "is larger than the 20 MB a bot may download from Telegram; ask the sender to mail "
        "it.]")
    assert not any(p.endswith("noise.mp4") for p in h.fake.downloads)  # not even tried
    # The staff chat shows each file under its post; Sam, the responsible, privately.
    staff = await h.sent(lambda f: len(f.uploads(STAFF)) == 2 and f.uploads(STAFF))
    assert [u.data for _, u in staff] == [PHOTO, b"OggS-voice"]
    await h.sent(lambda f: len(f.uploads(SAM.id)) == 2)
    assert h.fake.uploads(SUPPORT) == []  # the group has them already


async def test_an_albums_photos_all_go_where_its_caption_says(h: Harness) -> None:
    question = await h.say(ANNA, "The paper tray is cracked")
    await h.say(SAM, "/ticket", reply_to=question, minutes=1)
    for i, caption in enumerate(("#1 two photos of the crack", None)):
        await h.processed((await h.fake.post_file(ANNA, SUPPORT, "photo", PHOTO + bytes([i]),
                                                  caption=caption, album="a1"))[0])
    first, second = (await h.comments(1))[1:]
    assert (first.body, [a.data for a in first.attachments]) == (
        "two photos of the crack", [PHOTO + b"\x00"])
    assert (second.body, [a.data for a in second.attachments]) == ("[photo]",
                                                                    [PHOTO + b"\x01"])
    assert await h.dialogs() and all(d["ticket"] == 1 for d in await h.dialogs())


async def test_an_album_with_reply_answers_once_and_keeps_the_rest_internal(
        h: Harness, smtp_sink: Sink) -> None:
    number = await mailed_ticket(h, CARL)
    for i, caption in enumerate((f"/reply {number} the two sides", None)):
        await h.processed((await h.fake.post_file(SAM, STAFF, "photo", PHOTO + bytes([i]),
                                                  caption=caption, album="a2"))[0])
    answer, rest = (await h.comments(number))[1:]
    assert (answer.body, answer.public, [a.data for a in answer.attachments]) == (
        "the two sides", True, [PHOTO + b"\x00"])
    assert (rest.public, [a.data for a in rest.attachments]) == (False, [PHOTO + b"\x01"])
    h.clock.advance(seconds=30)
    await mail_out(h, smtp_sink)
    mails = [files_in(m) for m in smtp_sink.messages() if to(CARL)(m) and files_in(m)]
    assert [[data for _, data in found] for found in mails] == [[PHOTO + b"\x00"]]


async def test_a_questions_photo_becomes_the_tickets_attachment(h: Harness) -> None:
    await h.say(ANNA, "/start", chat=ANNA.id)
    update, asked = await h.fake.post_file(ANNA, SUPPORT, "photo", PHOTO,
                                           caption="Is this error serious?")
    await h.processed(update)
    await h.say(SAM, "/ticket", reply_to=asked, minutes=1)
    [request] = await h.comments(1)
    assert request.body == "Is this error serious?"
    assert [a.data for a in request.attachments] == [PHOTO]
    # Lena (lead) sees it under her "new ticket" notice; the staff chat under the card's
    # post is not needed (the card answers the question in the group, where the photo is).
    [(params, upload)] = await h.sent(lambda f: f.uploads(LENA.id))
    notice = next(m for m in h.fake.bot_messages(LENA.id) if "#1" in m["text"])
    assert (upload.data, reply_to(params)) == (PHOTO, notice["message_id"])
    # Anna, who asked, is not sent her own photo back; nor is the group.
    assert h.fake.uploads(ANNA.id) == [] and h.fake.uploads(SUPPORT) == []


async def test_an_employees_document_in_a_private_chat_is_their_comment(h: Harness) -> None:
    question = await h.say(ANNA, "My badge does not open the door")
    await h.say(SAM, "/ticket", reply_to=question, minutes=1)
    await h.say(ANNA, "/start", chat=ANNA.id)
    await h.drained()
    notice = next((m for m in h.fake.bot_messages(ANNA.id) if "#1" in m["text"]), None)
    assert notice is not None
    await h.processed((await h.fake.post_file(
        ANNA, ANNA.id, "document", PDF, name="badge.pdf", mime="application/pdf",
        caption="the badge form", reply_to=notice["message_id"]))[0])
    comment = (await h.comments(1))[-1]
    assert (comment.body, comment.public) == ("the badge form", True)
    assert [(a.filename, a.content_type, a.data) for a in comment.attachments] == [
        ("badge.pdf", "application/pdf", PDF)]



async def test_a_withdrawn_answers_file_goes_nowhere(h: Harness, smtp_sink: Sink) -> None:
    question = await h.say(ANNA, "Which printer driver do I need?")
    await h.say(SAM, "/ticket", reply_to=question, minutes=1)
    await h.say(ANNA, "/start", chat=ANNA.id)
    await h.processed((await h.fake.post_file(
        SAM, STAFF, "document", PDF, name="driver.pdf", mime="application/pdf",
        caption="/reply 1 this one"))[0])
    await h.say(SAM, "/undo", chat=STAFF)
    h.clock.advance(minutes=5)
    await h.drained()
    await mail_out(h, smtp_sink)
    answer = (await h.comments(1))[-1]
    assert (answer.public, [a.filename for a in answer.attachments]) == (False, ["driver.pdf"])
    assert h.fake.uploads(SUPPORT) == [] and h.fake.uploads(ANNA.id) == []
    assert not any("this one" in m["text"] for m in h.fake.bot_messages(SUPPORT))


async def test_files_with_a_command_that_stores_no_text_stay_internal(
        h: Harness, smtp_sink: Sink) -> None:
    number = await mailed_ticket(h, CARL)
    await h.processed((await h.fake.post_file(
        LENA, STAFF, "document", PDF, name="report.pdf", mime="application/pdf",
        caption=f"/take {number}"))[0])
    assert (await h.ticket(number)).responsible_id == await h.person_id(LENA)
    kept = (await h.comments(number))[-1]
    assert (kept.body, kept.public) == ("Files sent with /take:", False)
    assert [a.data for a in kept.attachments] == [PDF]
    h.clock.advance(minutes=5)
    await mail_out(h, smtp_sink)
    assert not any(files_in(m) for m in smtp_sink.messages() if to(CARL)(m))


async def test_a_file_too_big_for_telegram_is_named_under_the_post(
        h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """Over the Bot API's upload limit (50 MB; 1 KB here): a line in its place, once."""
    monkeypatch.setattr(chat_files, "SEND_LIMIT", 1024)
    await smtp_in(h, mail_with([("scan.bin", "application/octet-stream", PDF),
                                ("small.txt", "text/plain", b"tiny")]))
    line = await h.sent(lambda f: next((m for m in f.bot_messages(STAFF)
                                        if m["text"].startswith("📎")), None))
    post = next(m for m in h.fake.bot_messages(STAFF) if m["text"].startswith("New ticket"))
    assert line["text"] == ("📎 scan.bin (2 KB) is too large to send here. Fetch it with: "
                            "ticketbot attachment get 1 scan.bin")
    assert line["reply_to_message"]["message_id"] == post["message_id"]
    [(params, upload)] = h.fake.uploads(STAFF)
    assert (upload.filename, upload.data, reply_to(params)) == ("small.txt", b"tiny",
                                                                post["message_id"])
    assert len([m for m in h.fake.bot_messages(STAFF) if m["text"].startswith("📎")]) == 1


async def test_a_specialists_mail_without_reply_keeps_its_file_internal(
        h: Harness, smtp_sink: Sink) -> None:
    number = await mailed_ticket(h, CARL)
    ours = tokens.message_id(h.rt.secret, "help.example.com", 1, number,
                             await h.person_id(SAM), h.clock.now())
    await smtp_in(h, mail_with([("quote.pdf", "application/pdf", PDF)], sender=SAM_MAIL,
                               subject=f"Re: [#{number}] Printer jams", in_reply_to=ours,
                               body="Supplier quote for the new roller."), sender=SAM_MAIL)
    note = (await h.comments(number))[-1]
    assert (note.public, [a.data for a in note.attachments]) == (False, [PDF])
    # Staff see it under the note's post in the staff chat, once; the client never.
    [(params, upload)] = await h.sent(lambda f: f.uploads(STAFF))
    post = next(m for m in h.fake.bot_messages(STAFF) if "Supplier quote" in m["text"])
    assert (upload.data, reply_to(params)) == (PDF, post["message_id"])
    assert post["text"].startswith("Sam Spec, internal note")
    h.clock.advance(minutes=5)
    await mail_out(h, smtp_sink)
    assert [m for m in smtp_sink.messages() if to(CARL)(m) and files_in(m)] == []
    assert not any("Supplier quote" in plain_text(m) for m in smtp_sink.messages()
                   if to(CARL)(m))


async def test_a_file_telegram_will_not_hand_over_is_recorded_not_dropped(h: Harness) -> None:
    question = await h.say(ANNA, "The projector flickers")
    await h.say(SAM, "/ticket", reply_to=question, minutes=1)
    h.fake.fail("getfile", "502")
    await h.processed((await h.fake.post_file(ANNA, SUPPORT, "video", b"mp4", name="a.mp4",
                                              caption="#1 like this"))[0])
    comment = (await h.comments(1))[-1]
    file_id = next(f.file_id for f in h.fake.files.values() if f.path.endswith("a.mp4"))
    assert comment.attachments == ()
    assert comment.body.startswith(f"like this\n[File not fetched: a.mp4, 3 bytes, Telegram "
                                   f"file id {file_id} (")
