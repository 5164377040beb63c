"""bench/cron_loop.py's corpus is the mix issue 15 describes, so its figure means what the
README says: a third Russian (KOI8-R and UTF-8), PDF-like attachments of 50-300 KB, and
replies that quote an acknowledgement and name its Message-ID."""

from __future__ import annotations

import random
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

from bench.cron_loop import new_mail, reply_to_ack, round_mails
from tests.support_email import mail


def _parse(raw: bytes) -> EmailMessage:
    msg = message_from_bytes(raw, policy=default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_the_mix_has_russian_in_both_charsets_and_pdf_attachments() -> None:
    rng = random.Random(1)
    mails = [_parse(new_mail(rng, i, "t")) for i in range(420)]
    charsets = [m.get_body(("plain",)).get_content_charset() for m in mails]  # type: ignore[union-attr]
    assert charsets.count("koi8-r") == 70
    russian = [m for m in mails if any("а" <= c <= "я" for c in
                                       m.get_body(("plain",)).get_content().lower())]  # type: ignore[union-attr]
    assert len(russian) == 140
    pdfs = [a for m in mails for a in m.iter_attachments()]
    assert len(pdfs) == 30
    assert all(a.get_content_type() == "application/pdf" for a in pdfs)
    assert all(50_000 <= len(a.get_content()) <= 300_000 for a in pdfs)


def test_a_reply_quotes_the_ack_and_names_its_message_id() -> None:
    ack = mail(sender="support@help.example.com", to="carl@acme.example",
               subject="[#7] Принтер зажёвывает бумагу", body="We have your request #7.")
    ack_msg = _parse(ack)
    reply = _parse(reply_to_ack(random.Random(2), ack, 1, "t"))
    assert reply["In-Reply-To"] == ack_msg["Message-ID"]
    assert reply["From"] == "carl@acme.example"
    assert reply["Subject"] == "Re: [#7] Принтер зажёвывает бумагу"
    assert "> We have your request #7." in reply.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_a_later_round_answers_a_fifth_of_its_mails_from_real_acks() -> None:
    rng = random.Random(3)
    acks = [mail(sender="support@help.example.com", subject=f"[#{i}] VPN down",
                 message_id=f"<ack{i}@help.example.com>") for i in range(50)]
    mails = [_parse(m) for m in round_mails(rng, 100, 0, acks, "t")]
    assert len(mails) == 100
    assert sum(1 for m in mails if m["In-Reply-To"]) == 20
    assert len({m["Message-ID"] for m in mails}) == 100
