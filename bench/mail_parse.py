"""Mail parsing throughput on one core: parse_mail, strip_quotes and classify.

Run from the project root: .venv/bin/python -m bench.mail_parse [--mails N] [--profile]
Generates N mails (seeded): EN/RU replies with Gmail, Outlook and Thunderbird quotes, KOI8-R
8bit, CP1251 quoted-printable with an HTML alternative, HTML-only Mail.ru replies, bounces and
auto-replies; every 50th mail carries a 200 KB attachment. Prints messages/s (best of three
passes) for:

* parse_mail (compat32 + explicit decoding, the module's choice);
* the same fields extracted with policy.default (`addresses`, `get_body`, `iter_attachments`);
* end to end: parse_mail + strip_quotes + classify.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import pstats
import quopri
import random
import time
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from bot.channels.email.understand.noise import classify
from bot.channels.email.understand.parse import parse_mail
from bot.channels.email.understand.quotes import strip_quotes

OWN = ("help.example.com",)
LOOP = "help.example.com-7f3a"
NAMES = [("Иван Петров", "ivan"), ("Anna Sidorova", "anna"), ("John Smith", "john"),
         ("Ольга Кузнецова", "olga"), ("Maria Lopez", "maria")]
RU_LINES = ["Принтер в бухгалтерии снова не печатает.", "Не открывается 1С после обновления.",
            "Пропал доступ к общей папке отдела.", "Перестал работать VPN из дома."]
EN_LINES = ["The VPN drops every ten minutes.", "Outlook asks for the password again.",
            "The shared drive is read-only since Monday.", "Our printer shows error 41."]


def _ew(text: str, charset: str = "utf-8") -> str:
    return f"=?{charset}?B?{base64.b64encode(text.encode(charset)).decode()}?="


def _headers(i: int, subject: str, extra: str = "") -> bytes:
    name, local = NAMES[i % len(NAMES)]
    return (f"From: {_ew(name)} <{local}@client{i % 17}.example.ru>\n"
            f"To: Support <support@help.example.com>\nSubject: {subject}\n"
            f"Date: Mon, 16 Nov 2026 10:{i % 60:02d}:00 +0300\n"
            f"Message-ID: <m{i}.{random.getrandbits(32)}@client.example.ru>\n"
            f"In-Reply-To: <tb.{1000 + i}.1-1-aa@help.example.com>\n"
            f"References: <c{i}@client.example.ru> <tb.{1000 + i}.1-1-aa@help.example.com>\n"
            f"MIME-Version: 1.0\n{extra}").encode()


def _quote(lines: list[str]) -> str:
    return "\n".join("> " + line for line in lines * 3)


def gmail_en(i: int) -> bytes:
    body = (f"{random.choice(EN_LINES)}\nThanks!\n\nOn Mon, Nov 16, 2026 at 10:00 AM Support "
            f"<support@help.example.com> wrote:\n\n{_quote(EN_LINES)}\n")
    return _headers(i, f"Re: [#{1000 + i}] Help", "Content-Type: text/plain; charset=UTF-8\n"
                    ) + b"\n" + body.encode()


def thunderbird_ru(i: int) -> bytes:
    body = (f"16.11.2026 10:00, Служба поддержки пишет:\n{_quote(RU_LINES)}\n\n"
            f"{random.choice(RU_LINES)}\n\n-- \nОльга\n")
    return _headers(i, _ew(f"Re: [#{1000 + i}] Проблема"), "Content-Type: text/plain; "
                    "charset=UTF-8; format=flowed\nContent-Transfer-Encoding: 8bit\n"
                    ) + b"\n" + body.encode()


def koi8r_8bit(i: int) -> bytes:
    body = f"Здравствуйте!\n\n{random.choice(RU_LINES)}\n\n-- \nИван\n"
    return _headers(i, _ew("Не печатает принтер", "koi8-r"), "Content-Type: text/plain; "
                    "charset=koi8-r\nContent-Transfer-Encoding: 8bit\n") + b"\n" + body.encode("koi8-r")


def outlook_ru_cp1251(i: int) -> bytes:
    text = (f"{random.choice(RU_LINES)}\n\nС уважением,\nАнна\n\nОт: Служба поддержки "
            "<support@help.example.com>\nОтправлено: 16 ноября 2026 г. 10:00\nКому: Анна\n"
            f"Тема: RE: заявка\n\n{chr(10).join(RU_LINES * 3)}\n")
    html = "".join(f"<p class=MsoNormal>{line}<o:p></o:p></p>" for line in text.split("\n"))
    parts = (b"--b\nContent-Type: text/plain; charset=windows-1251\nContent-Transfer-Encoding: "
             b"quoted-printable\n\n" + quopri.encodestring(text.encode("cp1251")) +
             b"\n--b\nContent-Type: text/html; charset=windows-1251\nContent-Transfer-Encoding: "
             b"quoted-printable\n\n" + quopri.encodestring(html.encode("cp1251")) + b"\n--b--\n")
    return _headers(i, _ew("RE: заявка", "windows-1251"), "Content-Type: multipart/alternative; "
                    "boundary=\"b\"\n") + b"\n" + parts


def mailru_html(i: int) -> bytes:
    html = (f"<div>{random.choice(RU_LINES)}</div><div>&nbsp;</div><div>Понедельник, 16 ноября "
            "2026, 10:00 +03:00 от Служба поддержки &lt;support@help.example.com&gt;:<br>"
            f"<blockquote>{'<br>'.join(RU_LINES * 3)}</blockquote></div>")
    return _headers(i, _ew("Re: выезд"), "Content-Type: text/html; charset=utf-8\n"
                    "Content-Transfer-Encoding: base64\n") + b"\n" + base64.encodebytes(html.encode())


def bounce(i: int) -> bytes:
    return (b"Return-Path: <>\nFrom: MAILER-DAEMON@mx.example.org\nTo: support@help.example.com\n"
            b"Subject: Undelivered Mail Returned to Sender\nMessage-ID: <b%d@mx.example.org>\n"
            b"Auto-Submitted: auto-replied\nContent-Type: multipart/report; report-type="
            b"delivery-status; boundary=r\n\n--r\nContent-Type: text/plain\n\nI'm sorry.\n--r\n"
            b"Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\nFinal-Recipient: "
            b"rfc822; gone@example.org\nAction: failed\n\n--r\nContent-Type: text/rfc822-headers"
            b"\n\nMessage-ID: <tb.%d.1-1-aa@help.example.com>\n\n--r--\n" % (i, i))


def auto_reply(i: int) -> bytes:
    return _headers(i, "Automatic reply: [#1] Help", "Auto-Submitted: auto-replied\n"
                    "Content-Type: text/plain\n") + b"\nI am out of the office.\n"


def with_attachment(i: int) -> bytes:
    blob = base64.encodebytes(random.randbytes(200_000))
    return _headers(i, "Logs", "Content-Type: multipart/mixed; boundary=m\n") + (
        b"\n--m\nContent-Type: text/plain; charset=utf-8\n\nLogs attached.\n--m\n"
        b"Content-Type: application/zip\nContent-Disposition: attachment; filename=\"logs.zip\"\n"
        b"Content-Transfer-Encoding: base64\n\n" + blob + b"--m--\n")


KINDS: list[Callable[[int], bytes]] = [gmail_en, gmail_en, thunderbird_ru, thunderbird_ru,
                                       koi8r_8bit, outlook_ru_cp1251, outlook_ru_cp1251,
                                       mailru_html, bounce, auto_reply]


def corpus(n: int) -> list[bytes]:
    random.seed(2026)
    return [with_attachment(i) if i % 50 == 49 else KINDS[i % len(KINDS)](i) for i in range(n)]


# ---------------------------------------------------------------- the policy.default variant

_DEFAULT = BytesParser(policy=policy.default)


def parse_default(raw: bytes) -> dict[str, Any]:
    """The same fields as ParsedMail, the policy.default way (for comparison only)."""
    msg = _DEFAULT.parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    sender = msg["From"].addresses if msg["From"] else ()
    body = msg.get_body(preferencelist=("plain", "html"))
    return {
        "message_id": str(msg["Message-ID"]), "in_reply_to": str(msg["In-Reply-To"]),
        "references": str(msg["References"] or "").split(), "subject": str(msg["Subject"]),
        "from": [(a.display_name, a.addr_spec.lower()) for a in sender],
        "to": [a.addr_spec for a in msg["To"].addresses] if msg["To"] else [],
        "date": msg["Date"].datetime if msg["Date"] else None,
        "text": body.get_content().replace("\r\n", "\n") if body else "",
        "attachments": [(a.get_filename(), a.get_content()) for a in msg.iter_attachments()],
        "headers": {k.lower(): str(v) for k, v in msg.items() if k.lower().startswith("auto")},
    }


# ---------------------------------------------------------------- timing


def end_to_end(raw: bytes) -> object:
    mail = parse_mail(raw)
    return strip_quotes(mail.text, mail.html), classify(mail, own_domains=OWN,
                                                        loop_header_value=LOOP)


def rate(fn: Callable[[bytes], object], mails: list[bytes]) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for raw in mails:
            fn(raw)
        best = min(best, time.perf_counter() - start)
    return len(mails) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=2000)
    parser.add_argument("--profile", action="store_true", help="cProfile the end-to-end pass")
    args = parser.parse_args()
    mails = corpus(args.mails)
    size = sum(map(len, mails))
    print(f"{len(mails)} mails, {size / 1e6:.1f} MB, {size / len(mails) / 1e3:.1f} KB average")
    for label, fn in [("parse_mail (compat32 + explicit decoding)", parse_mail),
                      ("policy.default, same fields", parse_default),
                      ("end to end: parse_mail + strip_quotes + classify", end_to_end)]:
        per_s = rate(fn, mails)
        print(f"{label:52} {per_s:8,.0f} mails/s  {1e6 / per_s:7,.0f} µs/mail")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(lambda: [end_to_end(raw) for raw in mails])
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
