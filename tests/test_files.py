"""Files stored once, read back exactly, listed, exported, cleaned and limited (issue 12's
storage, CLI and limits half), on SQLite and PostgreSQL: mails in over real SMTP, the
`ticketbot` command in a subprocess, the sender's mail caught by a real SMTP relay."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import aiosmtplib
import pytest
from sqlalchemy import func, select

from bot.channels.email.service import EmailChannel
from bot.runtime import App
from bot.ticket_view import render_ticket
from engine.files import MESSAGE_TOO_BIG, TOO_BIG, FileLimits, admit, clean_filename, sniff
from engine.model import Attachment
from engine.store.db import reading
from engine.store.queries import export_all, ticket_detail
from engine.store.tables import attachments, blobs
from tests.fakes import FixedClock
from tests.support_cli import clean_env, ticketbot
from tests.support_email import (
    SECRET,
    SUPPORT,
    Sink,
    clock,
    plain_text,
    running_channel,
    settings_for,
    smtp_sink,
)

__all__ = ["clock", "smtp_sink"]  # fixtures

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + bytes(200)
DOCX = b"PK\x03\x04\x14\x00\x06\x00" + bytes(22) + b"word/document.xml" + bytes(100)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
RU_NAME = "отчёт за ноябрь.pdf"
LONG = "a" * 300 + ".pdf"


# ---------------------------------------------------------------- types and names

@pytest.mark.parametrize(("data", "declared", "detected"), [
    (PDF, "application/octet-stream", "application/pdf"),
    (PDF, "image/png", "application/pdf"),
    (PNG, "application/pdf", "image/png"),
    (EXE, "application/pdf", "application/x-msdownload"),
    (DOCX, "application/octet-stream",
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (b"\xff\xd8\xff\xe0" + bytes(20), "image/png", "image/jpeg"),
    (b"GIF89a" + bytes(20), "application/octet-stream", "image/gif"),
    (b"PK\x03\x04" + bytes(40), "application/pdf", "application/zip"),
    ("строка, цифры 1;2;3\n".encode(), "application/octet-stream", "text/plain"),
    (b"a;b\n1;2\n", "text/csv", "text/csv"),
    (bytes(range(256)), "application/pdf", "application/octet-stream"),  # claims PDF, is not
    (b"OggS\x00\x02" + bytes(20), "application/octet-stream", "audio/ogg"),
    (bytes(4) + b"ftypisom" + bytes(20), "application/octet-stream", "video/mp4"),
    (bytes(range(256)), "audio/x-wav", "audio/x-wav"),  # unknown to us: the declaration stands
])
def test_detected_type_beats_the_declared_one(data: bytes, declared: str,
                                              detected: str) -> None:
    assert sniff(data, declared) == detected


@pytest.mark.parametrize(("name", "clean"), [
    ("../../etc/passwd", "passwd"),
    ("..\\..\\Windows\\evil.bat", "evil.bat"),
    ("evil\x00name\x01.txt", "evilname.txt"),
    ("..", "file-1.bin"),
    ("   ", "file-1.bin"),
    ("CON.txt", "_CON.txt"),
    ("invoice\u202egpj.exe", "invoice_gpj.exe"),
    (RU_NAME, RU_NAME),
    ('a<b>:c"d|e?f*.txt', "a_b__c_d_e_f_.txt"),
])
def test_names_are_cleaned(name: str, clean: str) -> None:
    assert clean_filename(name) == clean
    assert clean_filename(clean) == clean  # idempotent


def test_a_very_long_name_is_cut_keeping_its_extension() -> None:
    for name in (LONG, "я" * 300 + ".pdf"):
        cut = clean_filename(name)
        assert len(cut.encode()) <= 200 and cut.endswith(".pdf") and cut[0] == name[0]


def test_limits_refuse_per_file_and_per_message() -> None:
    limits = FileLimits(max_file_size=100, max_message_size=150)
    files = (Attachment("a.bin", "application/octet-stream", bytes(120)),
             Attachment("b.txt", "text/plain", b"b" * 90),
             Attachment("c.txt", "text/plain", b"c" * 70),
             Attachment("d.txt", "text/plain", b"d" * 60))
    got = admit(files, limits)
    assert [(f.filename, f.size, f.refused) for f in got] == [
        ("a.bin", 120, TOO_BIG), ("b.txt", 90, None), ("c.txt", 70, MESSAGE_TOO_BIG),
        ("d.txt", 60, None)]
    assert [len(f.data) for f in got] == [0, 90, 0, 60]  # refused bytes are not kept


# ---------------------------------------------------------------- mail with files

def _part(disposition: str, declared: str, data: bytes) -> str:
    b64 = base64.encodebytes(data).decode()
    return (f"--XYZ\r\nContent-Type: {declared}\r\nContent-Disposition: attachment; "
            f"{disposition}\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}")


def mail_with(files: list[tuple[str, str, bytes]], *, message_id: str, subject: str,
              sender: str = "Carl Client <carl@acme.example>", body: str = "See attached.",
              headers: str = "") -> bytes:
    parts = "".join(_part(d, t, b) for d, t, b in files)
    return (f"From: {sender}\r\nTo: {SUPPORT}\r\nSubject: {subject}\r\n"
            f"Message-ID: {message_id}\r\nDate: Mon, 23 Nov 2026 09:00:00 +0000\r\n{headers}"
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XYZ\"\r\n\r\n"
            "--XYZ\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n"
            f"{parts}--XYZ--\r\n").encode()


def rfc2231(name: str) -> str:
    return f"filename*=UTF-8''{quote(name.encode('utf-8'), safe='')}"


HOSTILE = [
    (rfc2231(RU_NAME), "application/octet-stream", PDF),  # declared wrong, RFC 2231 Russian
    ('filename="../../etc/passwd"', "text/plain", b"root:x:0:0:root:/root:/bin/sh\n"),
    (rfc2231("evil\x00name\x01.txt"), "text/plain", b"nul\n"),
    (f'filename="{LONG}"', "application/pdf", b"%PDF-1.4 long\n"),
    ('filename="invoice.pdf"', "application/pdf", EXE),  # an executable calling itself PDF
]

CONFIG = """
[service]
database_url = "{url}"
timezone = "UTC"

[email]
address = "{support}"
listen_port = 0

[[companies]]
name = "Acme"
domains = ["acme.example"]

[[people]]
name = "Lena Lead"
role = "lead"
emails = ["lena@staff.example.com"]
username = "lena"

[[people]]
name = "Sam Spec"
role = "specialist"
emails = ["sam@staff.example.com"]
username = "sam"

[[people]]
name = "Olga Spec"
role = "specialist"
emails = ["olga@staff.example.com"]
username = "olga"
language = "ru"

[[people]]
name = "Carl Client"
emails = ["carl@acme.example"]
company = "Acme"
"""


@pytest.fixture
async def channel(db_url: str, clock: FixedClock,
                  smtp_sink: Sink) -> AsyncIterator[EmailChannel]:
    settings = settings_for(db_url, listen_port=0, smtp=smtp_sink.smtp)
    limits = FileLimits(max_file_size=64 * 1024, max_message_size=64 * 1024)
    settings = replace(settings, engine=replace(settings.engine, files=limits))
    async with running_channel(settings, clock) as mail_channel:
        yield mail_channel


async def send(channel: EmailChannel, raw: bytes) -> None:
    assert channel.ingress is not None
    await aiosmtplib.send(raw, hostname="127.0.0.1", port=channel.ingress.port,
                          sender="carl@acme.example", recipients=[SUPPORT])


def _config(tmp_path: Path, db_url: str) -> Path:
    path = tmp_path / "ticketbot.toml"
    path.write_text(CONFIG.format(url=db_url, support=SUPPORT), encoding="utf-8")
    return path


async def cli(config: Path, *args: str | Path) -> tuple[int, str, str]:
    found = await ticketbot("--config", config, *args,
                            env=clean_env(TICKETBOT_SECRET=SECRET.decode()))
    return found.code, found.out, found.err


async def _acked(sink: Sink, subject: str) -> None:
    """The ack of a mail is queued in its own transaction: once it arrives, the mail is in."""
    await sink.first(lambda m: subject in str(m["Subject"]))


async def test_files_round_trip_exactly_from_smtp_to_the_cli(
        channel: EmailChannel, smtp_sink: Sink, db_url: str, tmp_path: Path) -> None:
    rt = channel.rt
    assert isinstance(rt, App)
    await send(channel, mail_with(HOSTILE, message_id="<f1@acme.example>", subject="Files"))
    await _acked(smtp_sink, "[#1] Files")
    again = [(rfc2231("копия.pdf"), "application/pdf", PDF)]
    await send(channel, mail_with(again, message_id="<f2@acme.example>", subject="Again"))
    await _acked(smtp_sink, "[#2] Again")

    # The same bytes are stored once, and not beside the raw mail that holds them.
    sha = hashlib.sha256(PDF).hexdigest()
    async with reading(rt.db) as conn:
        rows = (await conn.execute(select(blobs.c.data.is_(None), blobs.c.inbound_id)
                                   .where(blobs.c.sha256 == sha))).all()
        uses = (await conn.execute(select(func.count()).select_from(attachments)
                                   .where(attachments.c.sha256 == sha))).scalar_one()
    assert [tuple(r) for r in rows] == [(True, 1)] and uses == 2

    config = _config(tmp_path, db_url)
    code, out, err = await cli(config, "ticket", "show", "1")
    assert code == 0, err
    files = out.split("Files:")[1].split("History:")[0]
    assert f"{RU_NAME} · " in files and "application/pdf · Carl Client · 2026-" in files
    assert "passwd · 30 B · text/plain" in files and "evilname.txt" in files
    assert "invoice.pdf · 208 B · application/x-msdownload" in files
    assert "\x00" not in out and "../" not in out and "a" * 197 not in out

    got = tmp_path / "got.pdf"
    assert (await cli(config, "attachment", "get", "1", RU_NAME, "--out", got))[0] == 0
    assert got.read_bytes() == PDF
    folder = tmp_path / "into"
    folder.mkdir()
    assert (await cli(config, "attachment", "get", "2", "копия.pdf", "--out", folder))[0] == 0
    assert (folder / "копия.pdf").read_bytes() == PDF
    code, out, _ = await cli(config, "attachment", "get", "1", "passwd")  # to a pipe
    assert (code, out) == (0, "root:x:0:0:root:/root:/bin/sh\n")
    code, _, err = await cli(config, "attachment", "get", "1", "nothing.pdf")
    assert code == 1 and "no file 'nothing.pdf' on this ticket" in err
    code, _, err = await cli(config, "attachment", "get", "1", RU_NAME, "--out", got)
    assert code == 1 and "exists (--force overwrites it)" in err and got.read_bytes() == PDF


async def test_export_writes_every_file_beside_the_json(
        channel: EmailChannel, smtp_sink: Sink, db_url: str, tmp_path: Path) -> None:
    files = [*HOSTILE, ('filename="отчёт за ноябрь.pdf"', "application/pdf", b"%PDF-1.4 2\n")]
    await send(channel, mail_with(files, message_id="<x1@acme.example>", subject="Export"))
    await _acked(smtp_sink, "[#1] Export")
    out, folder = tmp_path / "export.json", tmp_path / "files"
    code, _, err = await cli(_config(tmp_path, db_url), "export", "--out", out,
                             "--files", folder)
    assert code == 0, err
    data = json.loads(out.read_text(encoding="utf-8"))
    listed = [a for c in data["tickets"][0]["comments"] for a in c["attachments"]]
    assert [a["file"] for a in listed][:2] == [f"1/{RU_NAME}", "1/passwd"]
    assert listed[-1]["file"] == "1/отчёт за ноябрь (2).pdf"  # unique within the folder
    expected = [PDF, HOSTILE[1][2], b"nul\n", b"%PDF-1.4 long\n", EXE, b"%PDF-1.4 2\n"]
    assert [(folder / a["file"]).read_bytes() for a in listed] == expected
    written = sorted(p for p in folder.rglob("*") if p.is_file())
    assert len(written) == 6 and all(folder in p.parents for p in written)
    assert listed[0]["content_type"] == "application/pdf"
    assert listed[0]["declared_type"] == "application/octet-stream"


async def test_a_file_over_the_limit_is_refused_with_a_note_and_one_mail(
        channel: EmailChannel, smtp_sink: Sink) -> None:
    rt = channel.rt
    assert isinstance(rt, App)
    big = bytes(70 * 1024)
    files = [('filename="huge.iso"', "application/octet-stream", big),
             ('filename="a.pdf"', "application/pdf", PDF),
             ('filename="b.bin"', "application/octet-stream", bytes(60 * 1024))]
    # Machine mail with the same files first: ignored, so nobody is told anything.
    await send(channel, mail_with(files, message_id="<auto@acme.example>",
                                  subject="Automatic reply: Files",
                                  sender="Carl Client <carl@acme.example>",
                                  headers="Auto-Submitted: auto-replied\r\n"))
    raw = mail_with(files, message_id="<big@acme.example>", subject="Большие файлы",
                    sender="Иван <ivan@acme.example>",
                    body="Добрый день, прикладываю файлы, посмотрите, пожалуйста.")
    await send(channel, raw)
    told = await smtp_sink.first(lambda m: "не приняты" in plain_text(m))
    await send(channel, raw)  # the same mail again: nothing new
    await send(channel, mail_with([], message_id="<later@acme.example>", subject="Later"))
    await _acked(smtp_sink, "Later")

    assert told["To"] == "ivan@acme.example" and told["Auto-Submitted"] == "auto-replied"
    assert told["In-Reply-To"] == "<big@acme.example>"
    text = plain_text(told)
    assert "#1" in text and "huge.iso (70.0 KB): больше предела 64.0 KB на файл" in text
    assert "b.bin (60.0 KB): файлы одного сообщения вместе ограничены 64.0 KB" in text
    assert "a.pdf" not in text
    to_ivan = [m for m in smtp_sink.messages() if m["To"] == "ivan@acme.example"]
    assert len(to_ivan) == 2  # the acknowledgement and this one, once
    assert not [m for m in smtp_sink.messages() if m["To"] == "carl@acme.example"
                and "Automatic reply" in str(m["Subject"])]
    ticket = (await export_all(rt.db))["tickets"][0]
    first, note = ticket["comments"][:2]
    assert [(a["filename"], a["size"], a["refused"]) for a in first["attachments"]] == [
        ("huge.iso", len(big), TOO_BIG), ("a.pdf", len(PDF), None),
        ("b.bin", 60 * 1024, MESSAGE_TOO_BIG)]
    assert note["public"] is False and "huge.iso (70.0 KB)" in note["body"]
    assert [e["kind"] for e in ticket["events"]].count("files_refused") == 1
    assert await rt.views.attachment_bytes(first["attachments"][0]["id"]) is None
    assert await rt.views.attachment_bytes(first["attachments"][1]["id"]) == PDF
    async with reading(rt.db) as conn:
        kept = (await conn.execute(select(func.count()).select_from(blobs))).scalar_one()
    assert kept == 1  # the refused bytes are nowhere
    detail = await ticket_detail(rt.db, 1)
    assert detail is not None
    shown = render_ticket(detail, {}, "en", ZoneInfo("UTC"))
    assert "huge.iso · 70.0 KB · refused: over the size limit per file" in shown
    assert "files refused: huge.iso (70.0 KB), b.bin (60.0 KB)" in shown


def test_no_bytes_to_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main

    db = tmp_path / "never.db"
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    assert main(["--config", str(_config(tmp_path, f"sqlite+aiosqlite:///{db}")),
                 "attachment", "get", "1", "a.pdf"]) == 2
    assert "stdout is a terminal: give --out PATH, or pipe the output" in capsys.readouterr().err
    assert not db.exists()  # refused before anything was opened


async def test_migration_moves_stored_bytes_into_blobs_once(db_url: str) -> None:
    """A database from before 0008 keeps its files: their bytes move to `blobs`, one row
    for equal bytes, and read back exactly by id."""
    import datetime as dt

    import sqlalchemy as sa

    from engine.store import tables
    from engine.store.db import make_engine
    from engine.store.migrate import schema_diff, upgrade
    from engine.store.views import SqlViews

    at = dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC)
    await upgrade(db_url, "0003")
    db = make_engine(db_url)
    old = sa.table("attachments", *(sa.column(n) for n in (
        "comment_id", "ticket", "filename", "content_type", "size", "sha256", "data")))
    try:
        async with db.begin() as conn:
            await conn.execute(tables.tickets.insert().values(
                number=1, subject="Printer", description="jams", status="open",
                created_at=at, updated_at=at, channel="email", type="question",
                priority="normal"))
            await conn.execute(tables.comments.insert().values(
                ticket=1, body="jams", public=True, channel="email", created_at=at))
            sha = hashlib.sha256(PDF).hexdigest()
            await conn.execute(old.insert(), [
                {"comment_id": 1, "ticket": 1, "filename": name, "content_type":
                 "application/pdf", "size": len(PDF), "sha256": sha, "data": PDF}
                for name in ("a.pdf", "b.pdf")])
        await upgrade(db_url)
        assert await schema_diff(db_url) == []
        views = SqlViews(db)
        assert [await views.attachment_bytes(i) for i in (1, 2)] == [PDF, PDF]
        async with reading(db) as conn:
            assert (await conn.execute(select(func.count()).select_from(blobs))).scalar_one() == 1
    finally:
        await db.dispose()
