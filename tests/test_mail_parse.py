"""parse_mail on the hand-written corpus in tests/mail: charsets, headers, bodies, attachments,
malformed input (which must never raise)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.channels.email.understand.html import html_to_text
from bot.channels.email.understand.parse import (
    ParsedMail,
    decode_bytes,
    decode_words,
    parse_mail,
)

MAIL_DIR = Path(__file__).parent / "mail"
ALL_FILES = sorted(p.name for p in MAIL_DIR.glob("*.eml"))

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + bytes(range(256)) * 4 + b"\n%%EOF\n"
XLSX = b"PK\x03\x04" + bytes(range(200, 256)) * 8 + b"PK\x05\x06" + b"\x00" * 18


def load(name: str) -> ParsedMail:
    return parse_mail((MAIL_DIR / name).read_bytes())


def test_corpus_is_big_enough() -> None:
    assert len(ALL_FILES) >= 40


# ---------------------------------------------------------------- every file


@pytest.mark.parametrize("name", ALL_FILES)
def test_every_fixture_parses_with_lf_only_text(name: str) -> None:
    mail = load(name)
    assert "\r" not in mail.text
    assert mail.message_id.startswith("<") and mail.message_id.endswith(">")
    assert mail.size == (MAIL_DIR / name).stat().st_size


@pytest.mark.parametrize("name", ALL_FILES)
def test_every_fixture_survives_truncation(name: str) -> None:
    raw = (MAIL_DIR / name).read_bytes()
    for cut in (len(raw) // 3, len(raw) // 2, len(raw) - 7):
        assert isinstance(parse_mail(raw[:cut]), ParsedMail)


# ---------------------------------------------------------------- subjects and senders

SENDERS = [
    # file, subject, from_addr, from_name
    ("charset_koi8r_8bit.eml", "Не печатает принтер в бухгалтерии",
     "ivan.petrov@client.example.ru", "Иван Петров"),
    ("charset_cp1251_qp.eml", "Доступ к 1С для нового сотрудника",
     "m.sokolova@client.example.ru", "Соколова Марина"),
    ("charset_windows1252_qp.eml", "Café printer – “ERROR 41”",
     "renee.dubois@bistro.example.fr", "Renée Dubois"),
    ("subject_encoded_words_mixed.eml", "Не работает принтер — срочно!",
     "buh@romashka.example.ru", "Бухгалтерия ООО «Ромашка»"),
    ("subject_encoded_word_split_utf8.eml", "Сломался ноутбук", "petr@client.example.ru", "Petr"),
    ("charset_utf8_8bit.eml", "Wi‑Fi 3 этаж 👋", "dmitry@client.example.ru", "Дмитрий"),
    ("malformed_raw_8bit_headers.eml", "Счёт на оплату № 15",
     "buh@romashka.example.ru", "Бухгалтерия ООО Ромашка"),
    ("malformed_from_unclosed_angle.eml", "unclosed angle",
     "broken.sender@example.com", "Broken Sender"),
    ("malformed_no_from.eml", "no sender", None, None),
    ("headers_threading.eml", "Re: [#1042] VPN does not connect",
     "maria.lopez@acme.example.com", "Lopez, Maria"),
    ("charset_undeclared_cp1251.eml", "keyboard", "reception@client.example.ru", None),
    ("noise_qmail_bounce.eml", "failure notice", "mailer-daemon@mail.oldhost.example.net", None),
]


@pytest.mark.parametrize(("name", "subject", "addr", "display"), SENDERS)
def test_subject_and_sender(name: str, subject: str, addr: str | None, display: str | None) -> None:
    mail = load(name)
    assert (mail.subject, mail.from_addr, mail.from_name) == (subject, addr, display)


def test_recipients_threading_ids_and_date() -> None:
    mail = load("headers_threading.eml")
    assert mail.message_id == "<CAF+x_9k2=PQ@mail.gmail.com>"
    assert mail.in_reply_to == "<tb.1042.7-3-9af01c@help.example.com>"
    assert mail.references == ("<CAF0orig@mail.gmail.com>", "<tb.1042.1-1-aa01@help.example.com>",
                               "<tb.1042.7-3-9af01c@help.example.com>")
    assert mail.to == ("support@help.example.com", "it@acme.example.com")
    assert mail.cc == ("alice@acme.example.com", "bob@acme.example.com")
    assert mail.reply_to == ("helpdesk-replies@acme.example.com",)
    assert mail.date == datetime(2026, 11, 17, 9, 15, tzinfo=timezone(timedelta(hours=-5)))


def test_encoded_names_with_commas_stay_one_address() -> None:
    mail = load("subject_encoded_words_mixed.eml")
    assert mail.to == ("support@help.example.com", "ivan.petrov@client.example.ru")
    assert mail.cc == ("john.smith@acme.example.com",)


def test_date_without_weekday_and_dates_are_aware() -> None:
    assert load("charset_undeclared_koi8r.eml").date == datetime(
        2026, 11, 16, 6, 20, tzinfo=UTC)
    assert all(d.tzinfo is not None for n in ALL_FILES if (d := load(n).date) is not None)


# ---------------------------------------------------------------- bodies and charsets

BODIES = [
    # file, expected text (exact)
    ("charset_koi8r_8bit.eml",
     "Здравствуйте!\n\nПринтер HP LaserJet в бухгалтерии (каб. 214) перестал печатать с утра.\n"
     "На экране ошибка \"Замятие бумаги\", но бумаги внутри нет.\n\n-- \n"
     "Иван Петров, бухгалтерия\nтел. +7 495 000-00-00"),
    ("charset_cp1251_base64.eml",
     "Здравствуйте.\n\nНе приходят письма от контрагента ООО «Ромашка» с 14 ноября.\n"
     "Проверьте, пожалуйста, спам-фильтр."),
    ("charset_windows1252_qp.eml",
     "Hello,\n\nThe café’s receipt printer prints “ERROR 41” since Monday – could you send "
     "someone?\n\nThanks,\nRenée"),
    ("charset_latin1_declared_cp1252_bytes.eml",
     "Hi,\n\nthe “Save” button in the portal does nothing. I tried Firefox and Edge – same. "
     "Regards, José"),
    ("charset_undeclared_cp1251.eml",
     "Добрый день. Сломалась клавиатура в переговорной, нужна замена до завтра.\nСпасибо!"),
    ("charset_undeclared_koi8r.eml",
     "Здравствуйте, сервер 1С не отвечает с 9 утра. Пользователи не могут войти."),
    ("charset_wrong_declared_utf8_is_cp1251.eml",
     "Коллеги, счёт № 15 от 16.11.2026 не пришёл. Продублируйте, пожалуйста."),
    ("charset_unknown_label.eml", "Сканер МФУ пишет «Ошибка SMTP 535» при отправке на почту."),
    ("charset_utf8_8bit.eml",
     "Привет! 👋\n\nНе работает Wi‑Fi на 3 этаже, сеть «Guest» пропала.\n\n— Дмитрий"),
    ("format_flowed.eml",
     "Hello,\n\nthe backup job on FS01 failed again last night with the same error as last week. "
     "Could you please check the tape drive? It is the third time this month.\n\n"
     "> Quoted line that was wrapped by the client.\n\n-- \nTom"),
    ("html_only.eml",
     "Hello support,\n\nOur CRM export fails & shows «Error 500» — since the update.\nSteps:\n\n"
     "- Open Export\n- Choose \"All deals\"\nBrowser  Chrome 131\nUser  k.ivanova\n\nThanks,\nKate"),
    ("multipart_alternative_empty_plain.eml", "Name: Oleg\nProblem: monitor flickers"),
    ("malformed_broken_mime.eml", "The server room is too hot, 31 degrees."),
    ("malformed_missing_boundary_param.eml", "Disk /dev/sda1 is 97% full."),
    ("malformed_truncated_multipart.eml", "See the screenshot."),
    ("attachment_rfc2231_continuations.eml", "Заявка во вложении."),
]


@pytest.mark.parametrize(("name", "text"), BODIES)
def test_body_text(name: str, text: str) -> None:
    assert load(name).text == text


def test_cp1251_qp_prefers_plain_and_keeps_html() -> None:
    mail = load("charset_cp1251_qp.eml")
    assert mail.text.startswith("Добрый день!\n\nПрошу восстановить доступ к 1С")
    assert "Сидоровой Анны Викторовны" in mail.text
    assert mail.html is not None and "class=MsoNormal" in mail.html
    assert "Прошу восстановить доступ" in mail.html


def test_html_only_keeps_the_html() -> None:
    mail = load("html_only.eml")
    assert mail.html is not None and mail.html.startswith("<!DOCTYPE html>")
    assert "track(" not in mail.text and "margin" not in mail.text


# ---------------------------------------------------------------- attachments

ATTACHMENTS = [
    # file, [(filename, content_type, size)]
    ("attachment_rfc2231_ru_name.eml", [("Счет № 15.pdf", "application/pdf", len(PDF))]),
    ("attachment_rfc2047_name.eml", [
        ("Акт сверки 2026.xlsx",
         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", len(XLSX))]),
    ("attachment_rfc2231_continuations.eml", [
        ("attachment-1.png", "image/png", 66),
        ("Заявка на подключение нового сотрудника к корпоративной сети.docx",
         "application/vnd.openxmlformats-officedocument.wordprocessingml.document", len(XLSX))]),
    ("attachment_unsafe_names.eml", [
        ("passwd", "text/plain", 31), ("evil.bat", "application/octet-stream", 11),
        ("attachment-3.bin", "application/octet-stream", 4)]),
    ("attachment_forwarded_rfc822.eml", [("attachment-1.eml", "message/rfc822", 253)]),
    ("malformed_truncated_multipart.eml", [("screen.png", "image/png", 60)]),
    ("charset_koi8r_8bit.eml", []),
]


@pytest.mark.parametrize(("name", "expected"), ATTACHMENTS)
def test_attachment_names_types_sizes(name: str, expected: list[tuple[str, str, int]]) -> None:
    mail = load(name)
    assert [(a.filename, a.content_type, a.size) for a in mail.attachments] == expected
    assert all(a.size == len(a.data) for a in mail.attachments)


def test_attachment_bytes_are_exact() -> None:
    assert load("attachment_rfc2231_ru_name.eml").attachments[0].data == PDF
    assert load("attachment_rfc2047_name.eml").attachments[0].data == XLSX
    assert load("attachment_unsafe_names.eml").attachments[1].data == b"@echo off\r\n"


def test_forwarded_message_is_kept_as_eml() -> None:
    data = load("attachment_forwarded_rfc822.eml").attachments[0].data
    assert data.startswith(b'From: "Bank" <security@bank-login.example.net>')
    assert b"Message-ID: <phish-77@bank-login.example.net>" in data


# ---------------------------------------------------------------- defects

DEFECTS = [
    # file, defects that must be reported
    ("malformed_no_from.eml", {"MissingFromDefect"}),
    ("malformed_raw_8bit_headers.eml",
     {"RawEightBitHeaderDefect:from", "RawEightBitHeaderDefect:subject"}),
    ("malformed_broken_mime.eml", {"StartBoundaryNotFoundDefect", "RecoveredBoundaryDefect"}),
    ("malformed_missing_boundary_param.eml", {"NoBoundaryInMultipartDefect"}),
    ("malformed_truncated_multipart.eml", {"CloseBoundaryNotFoundDefect"}),
    ("malformed_from_unclosed_angle.eml",
     {"MalformedFromDefect", "MissingMessageIdDefect", "InvalidDateDefect"}),
    ("malformed_garbage_bytes.eml", {"MissingFromDefect", "MissingMessageIdDefect"}),
    ("charset_undeclared_cp1251.eml", {"CharsetFallbackDefect:none"}),
    ("charset_wrong_declared_utf8_is_cp1251.eml", {"CharsetFallbackDefect:utf-8"}),
    ("charset_unknown_label.eml", {"CharsetFallbackDefect:unknown-8bit"}),
]


@pytest.mark.parametrize(("name", "expected"), DEFECTS)
def test_defects_are_flagged(name: str, expected: set[str]) -> None:
    assert expected <= set(load(name).defects)


@pytest.mark.parametrize("name", ["charset_koi8r_8bit.eml", "quote_gmail_ru.eml",
                                  "attachment_rfc2047_name.eml", "headers_threading.eml"])
def test_clean_mail_has_no_defects(name: str) -> None:
    assert load(name).defects == ()


def test_missing_message_id_is_synthesized_stably() -> None:
    raw = (MAIL_DIR / "malformed_from_unclosed_angle.eml").read_bytes()
    digest = hashlib.sha256(raw).hexdigest()[:40]
    assert parse_mail(raw).message_id == f"<{digest}@synthesized.invalid>"
    assert parse_mail(raw).message_id == parse_mail(raw).message_id
    assert parse_mail(raw + b"x").message_id != parse_mail(raw).message_id


def test_garbage_still_yields_a_mail() -> None:
    mail = load("malformed_garbage_bytes.eml")
    assert mail.from_addr is None and mail.subject == "" and mail.attachments == ()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(raw: bytes) -> None:
    assert parse_mail(raw).size == len(raw)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(ALL_FILES), st.integers(0, 5000), st.binary(min_size=1, max_size=40))
def test_corrupted_fixtures_never_raise(name: str, at: int, junk: bytes) -> None:
    raw = (MAIL_DIR / name).read_bytes()
    at = at % len(raw)
    assert isinstance(parse_mail(raw[:at] + junk + raw[at:]), ParsedMail)


def test_noise_headers_are_exposed_lowercased() -> None:
    mail = load("noise_list.eml")
    assert mail.headers["list-id"] == "IT announcements <it-announce.lists.acme.example.com>"
    assert mail.headers["precedence"] == "list"
    assert "subject" not in mail.headers


# ---------------------------------------------------------------- helpers

CHARSETS = [
    # bytes, declared charset, text, fell back
    ("Привет".encode("koi8-r"), "koi8-r", "Привет", False),
    ("Привет, мир".encode("koi8-r"), None, "Привет, мир", True),
    ("Привет, мир".encode("cp1251"), None, "Привет, мир", True),
    ("Привет, мир".encode("cp1251"), "utf-8", "Привет, мир", True),
    ("Привет".encode("cp1251"), "x-cp1251", "Привет", False),
    ("naïve café".encode("latin-1"), None, "naïve café", True),
    (b"\x93quoted\x94", "iso-8859-1", "“quoted”", False),
    ("ёлка".encode() + b"\xff", "utf-8", "ёлка\ufffd", True),
    (b"plain ascii", "no-such-charset", "plain ascii", False),
    ("тест".encode(), "base64", "тест", True),
]


@pytest.mark.parametrize(("data", "charset", "text", "fell_back"), CHARSETS)
def test_decode_bytes(data: bytes, charset: str | None, text: str, fell_back: bool) -> None:
    assert decode_bytes(data, charset) == (text, fell_back)


WORDS = [
    ("=?utf-8?Q?a?= b", "a b"),
    ("a =?utf-8?q?b?= c", "a b c"),
    ("=?utf-8?B?0J/RgNC4?= =?utf-8?B?0LLQtdGC?=", "Привет"),
    ("=?UTF-8?B?0J/RgNC40LLQ?=\n =?UTF-8?B?tdGC?=", "Привет"),
    ("=?koi8-r?B?8NLJ18XU?= =?utf-8?Q?_=E2=80=94_x?=", "Привет — x"),
    ("=?utf-8*ru?Q?=D0=94=D0=B0?=", "Да"),
    ("=?bogus-charset?Q?caf=E9?=", "café"),
    ("=?utf-8?B?not base64!!?=", "=?utf-8?B?not base64!!?="),
    ("no words here", "no words here"),
]


@pytest.mark.parametrize(("value", "expected"), WORDS)
def test_decode_words(value: str, expected: str) -> None:
    assert decode_words(value) == expected


HTML = [
    ("<p>a</p><p>b</p>", "a\n\nb"),
    ("<div>a</div><div><br></div><div>b</div>", "a\n\nb"),
    ("a<br>b<br/>c", "a\nb\nc"),
    ("<ul><li>x</li><li>y</li></ul>", "- x\n- y"),
    ("<style>p{}</style><script>alert(1)</script>text", "text"),
    ("&laquo;&nbsp;&amp;&#8212;&raquo;", "« &—»"),
    ("<p class=MsoNormal>one</p><p class=MsoNormal>&nbsp;</p><p class=MsoNormal>two</p>",
     "one\n\ntwo"),
    ("<div>reply</div><blockquote>q1<blockquote>q2</blockquote></blockquote>",
     "reply\n> q1\n> > q2"),
    ("<pre>  a\n  b</pre>", "  a\n  b"),
    ("<table><tr><td>k</td><td>v</td></tr></table>", "k  v"),
    ("<p>unclosed <b>bold", "unclosed bold"),
]


@pytest.mark.parametrize(("html", "text"), HTML)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text
