"""What the relay gets is byte for byte what aiosmtplib's `send_message` would have sent
(issue 15): our flattening (deliver/flatten.py) and our text part (`_set_text`) against the
library's own, over the mails we make and the odd ones."""

from __future__ import annotations

import email
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
from aiosmtplib.email import flatten_message, quote_address

from bot.channels.email.deliver import relay
from bot.channels.email.deliver.flatten import mail_bytes
from bot.channels.email.deliver.sender import MailSender, _put, _set_text
from bot.channels.email.deliver.subject import set_subject
from bot.runtime import App
from engine.notify.kinds import NoticeKind
from engine.ports import OutboxItem
from tests.support_email import Sink, clock, db_file, runtime, smtp_sink

__all__ = ["clock", "db_file", "runtime", "smtp_sink"]  # fixtures

LONG = "The printer on the third floor jams on every second page, and the spare one " * 3
TEXTS = {
    "short ascii": "Thank you, we got it.\n\n-- \nTicket #1",
    "empty": "",
    "long ascii lines (quoted-printable)": f"{LONG}\n\n-- \nTicket #12",
    "russian": "Спасибо, заявка принята.\n\n-- \nЗаявка #3",
    "long russian lines": "Принтер на третьем этаже зажёвывает каждую вторую страницу. " * 4,
    "dots and From": ".\n..\nFrom the desk\n.hidden\r\nwindows line\rold mac line",
    "trailing spaces and tabs": "a  \n\tb\t\n",
    "no final newline": "one line",
}
SUBJECTS = {
    "short": "[#1] Printer jams",
    "long ascii": "[#1] " + "printer " * 12,
    "russian": "[#2] Принтер зажёвывает бумагу на третьем этаже каждую вторую страницу",
    "empty": "",
}
FLATTENINGS = [(False, "8bit"), (True, "8bit"), (False, "7bit"), (True, "7bit")]


def built(subject: str, text: str, *, sender: str = "Support <support@help.example.com>",
          attachment: bytes | None = None) -> EmailMessage:
    """A mail put together as `MailSender._build` does."""
    m = EmailMessage()
    _put(m, "From", sender)
    _put(m, "To", "carl@acme.example")
    if subject:
        set_subject(m, subject)
    _put(m, "Message-ID", "<tb.1.1-1-499009-13f0cebb57ffd9f8b989@help.example.com>")
    _put(m, "Date", "Sat, 05 Dec 2026 01:44:36 +0000")
    _put(m, "References", " ".join(f"<ref{i}.{'x' * 30}@client.example>" for i in range(3)))
    _put(m, "Auto-Submitted", "auto-replied")
    _set_text(m, text)
    if attachment is not None:
        m.add_attachment(attachment, maintype="application", subtype="pdf",
                         filename="счёт.pdf")
    _put(m, "Content-Language", "ru")
    return m


@pytest.mark.parametrize("text", list(TEXTS.values()), ids=list(TEXTS))
@pytest.mark.parametrize("subject", list(SUBJECTS.values()), ids=list(SUBJECTS))
def test_our_mails_flatten_to_the_bytes_the_library_makes(subject: str, text: str) -> None:
    m = built(subject, text)
    for utf8, cte_type in FLATTENINGS:
        assert mail_bytes(m, utf8=utf8, cte_type=cte_type) == \
            flatten_message(m, utf8=utf8, cte_type=cte_type), (utf8, cte_type)


@pytest.mark.parametrize("sender", ["Служба поддержки <support@help.example.com>",
                                    "support@help.example.com",
                                    '"Support, the desk" <support@help.example.com>'])
def test_an_encoded_or_quoted_sender_name_flattens_the_same(sender: str) -> None:
    m = built(SUBJECTS["russian"], TEXTS["russian"], sender=sender)
    for utf8, cte_type in FLATTENINGS:
        assert mail_bytes(m, utf8=utf8, cte_type=cte_type) == \
            flatten_message(m, utf8=utf8, cte_type=cte_type)


def test_what_we_do_not_write_ourselves_is_left_to_the_library() -> None:
    """A mail with a file (multipart), a Bcc header, an 8bit body parsed from bytes."""
    with_file = built(SUBJECTS["short"], TEXTS["russian"], attachment=b"%PDF-1.4\n" * 40)
    with_file.set_boundary("===boundary===")  # else each flattening draws its own
    with_bcc = built(SUBJECTS["short"], TEXTS["short ascii"])
    with_bcc["Bcc"] = "hidden@acme.example"
    parsed = email.message_from_bytes(
        "Subject: x\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit"
        "\n\nПривет\n".encode(), policy=default)
    assert isinstance(parsed, EmailMessage)
    for m in (with_file, with_bcc, parsed):
        for utf8, cte_type in FLATTENINGS:
            assert mail_bytes(m, utf8=utf8, cte_type=cte_type) == \
                flatten_message(m, utf8=utf8, cte_type=cte_type)
    assert b"hidden@acme.example" not in mail_bytes(with_bcc)


@pytest.mark.parametrize("text", list(TEXTS.values()), ids=list(TEXTS))
def test_the_text_part_is_the_one_set_content_makes(text: str) -> None:
    ours, theirs = EmailMessage(), EmailMessage()
    for m in (ours, theirs):
        _put(m, "To", "carl@acme.example")
    _set_text(ours, text)
    theirs.set_content(text)
    assert ours.as_bytes() == theirs.as_bytes()
    assert flatten_message(ours) == flatten_message(theirs)
    assert mail_bytes(ours) == flatten_message(theirs)


async def test_the_relay_gets_what_send_message_would_have_sent(
        runtime: App, smtp_sink: Sink, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[tuple[bytes, bytes]] = []

    def noting(message: EmailMessage, **kw: Any) -> bytes:
        data = mail_bytes(message, **kw)
        made.append((data, flatten_message(message, **kw)))
        return data

    monkeypatch.setattr(relay, "mail_bytes", noting)
    async with runtime.uow() as uow:
        for i, (subject, text) in enumerate(zip(SUBJECTS.values(), TEXTS.values(),
                                                strict=False)):
            await uow.outbox.enqueue(OutboxItem(
                key=f"r{i}", channel="email", recipient=f"carl{i}@acme.example",
                kind=NoticeKind.MAIL_REPLY, payload={"text": text, "subject": subject}))
        await uow.commit()
    assert await MailSender(runtime, smtp_sink.smtp).run_once() == len(SUBJECTS)
    assert len(made) == len(SUBJECTS)
    assert all(ours == theirs for ours, theirs in made)
    # aiosmtpd keeps what came after DATA, the dot-stuffing undone.
    assert sorted(e.original_content or b"" for e in smtp_sink.received) == \
        sorted(ours for ours, _ in made)


@pytest.mark.parametrize("address", [
    "carl@acme.example", "Carl.Berg+desk@mail.acme-corp.example", "a_b-c@x.y.z",
    "Carl <carl@acme.example>", '"carl berg"@acme.example', "carl@[192.0.2.1]",
    "carl.@acme.example", ".carl@acme.example", "carl@acme..example", "carl@acme.example ",
    "Вера <vera@acme.example>", "vera@пример.рф"])
def test_an_address_goes_on_the_command_line_as_aiosmtplib_puts_it(address: str) -> None:
    encoding = "ascii" if address.isascii() else "utf-8"
    try:
        theirs: bytes | type[Exception] = quote_address(address).encode(encoding)
    except ValueError:
        theirs = ValueError
    try:
        ours: bytes | type[Exception] = relay._quoted(address, encoding)
    except ValueError:
        ours = ValueError
    assert ours == theirs
