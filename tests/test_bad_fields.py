"""Mail with fields one database would take and the other refuse, on SQLite and PostgreSQL:
a NUL in the subject and body, a Message-ID longer than its column, a From over 320
characters, a Content-Type over 255, a stray 8-bit byte in a Content-Type header. Each is
cleaned and bounded the same way on both, becomes a ticket like any mail, and never fails
the batch it came in (nothing is quarantined, nothing redone one by one)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.channels.email.act.intake import MailIntake
from bot.channels.email.receive import raw
from bot.runtime import App
from engine.store.queries import export_all
from tests.fakes import FixedClock
from tests.support_email import SUPPORT, make_runtime, settings_for

LONG_ID = "<" + "a" * 1200 + "@acme.example>"


def _mail(headers: str, body: bytes = b"Please help.\r\n") -> bytes:
    return headers.replace("\n", "\r\n").encode("latin-1") + b"\r\n" + body


def _with_file(n: int, content_type: bytes) -> bytes:
    head = (f"From: Dora <dora{n}@acme.example>\nTo: {SUPPORT}\nSubject: File {n}\n"
            f"Message-ID: <file{n}@acme.example>\nMIME-Version: 1.0\n"
            'Content-Type: multipart/mixed; boundary="b"\n')
    body = (b"--b\r\nContent-Type: text/plain\r\n\r\nSee the file.\r\n--b\r\n"
            b"Content-Type: " + content_type + b'; name="scan.pdf"\r\n'
            b"Content-Disposition: attachment; filename=\"scan.pdf\"\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n")
    return _mail(head, body)


MAILS = {
    "nul": _mail(f"From: Nina <nina@acme.example>\nTo: {SUPPORT}\nSubject: Printer\x00 jams\n"
                 "Message-ID: <nul@acme.example>\n", b"It jams\x00 on page 2.\r\n"),
    "long id": _mail(f"From: Lev <lev@acme.example>\nTo: {SUPPORT}\nSubject: Long id\n"
                     f"Message-ID: {LONG_ID}\n"),
    "long from": _mail(f"From: {'x' * 400}@acme.example\nTo: {SUPPORT}\nSubject: Long from\n"
                       "Message-ID: <longfrom@acme.example>\n"),
    "long type": _with_file(1, b"application/" + b"x" * 300),
    "8-bit type": _with_file(2, b"application/pd\xe9f"),
    "plain": _mail(f"From: Carl <carl@acme.example>\nTo: {SUPPORT}\nSubject: Plain\n"
                   "Message-ID: <plain@acme.example>\n"),
}


@pytest.fixture
async def app(db_url: str) -> AsyncIterator[App]:
    rt = await make_runtime(settings_for(db_url), FixedClock())
    yield rt
    await rt.close()


async def _store(rt: App, data: bytes) -> int | None:
    return await raw.keep(rt.inbound, data, rt.bus.clock.now(), envelope=[SUPPORT])


def _by_subject(tickets: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {t["subject"]: t for t in tickets}


async def test_fields_one_database_would_refuse_are_cleaned_alike_and_fail_no_batch(
        app: App, caplog: pytest.LogCaptureFixture) -> None:
    for data in MAILS.values():
        assert await _store(app, data) is not None
    caplog.set_level(logging.INFO, "ticketbot.email.intake")
    assert await MailIntake(app).drain() == len(MAILS)
    assert "rolled back" not in caplog.text  # one batch, no mail redone one by one

    export = await export_all(app.db)
    assert {r["status"] for r in export["inbound"]} == {"done"}
    tickets = _by_subject(export["tickets"])
    assert sorted(tickets) == ["File 1", "File 2", "Long from", "Long id", "Plain",
                               "Printer jams"]
    assert tickets["Printer jams"]["description"] == "It jams on page 2."
    # The long "address" names nobody: a ticket without requester, and no ack to it.
    assert tickets["Long from"]["requester_id"] is None
    for n in (1, 2):
        [file] = tickets[f"File {n}"]["comments"][0]["attachments"]
        # The declared type is unusable and cleaned; the type shown is read from the bytes.
        assert (file["filename"], file["content_type"], file["declared_type"],
                file["size"]) == ("scan.pdf", "application/pdf", "application/octet-stream", 9)
    acks = sorted(r["recipient"] for r in export["outbound"] if r["kind"] == "ack")
    assert acks == ["carl@acme.example", "dora1@acme.example", "dora2@acme.example",
                    "lev@acme.example", "nina@acme.example"]


async def test_a_message_id_longer_than_its_column_still_threads_and_deduplicates(
        app: App) -> None:
    assert await _store(app, MAILS["long id"]) is not None
    assert await _store(app, MAILS["long id"]) is None  # the same mail again
    await MailIntake(app).drain()
    reply = _mail(f"From: Lev <lev@acme.example>\nTo: {SUPPORT}\nSubject: Re: Long id\n"
                  f"Message-ID: <reply@acme.example>\nIn-Reply-To: {LONG_ID}\n",
                  b"Any news?\r\n")
    await _store(app, reply)
    await MailIntake(app).drain()
    [ticket] = (await export_all(app.db))["tickets"]
    assert [c["body"] for c in ticket["comments"]] == ["Please help.", "Any news?"]
