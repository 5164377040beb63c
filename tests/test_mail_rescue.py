"""Nothing dropped silently: staff list what the intake ignored and why, and turn a mail into
a ticket (engine `RescueMail`: staff or the service only, no automatic ack); the digest says
how many mails were ignored. SQLite and PostgreSQL; SMTP on aiosmtpd; the CLI in a
subprocess; `/rescue` through the real Telegram application against the fake Bot API."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot import digest
from bot.channels.email.act.ignored import counts, describe
from bot.channels.email.act.intake import MailIntake
from bot.channels.email.act.rescue import Rescuer
from bot.channels.email.deliver.sender import MailSender
from bot.runtime import App
from config.metrics import MetricsSettings
from config.settings import TelegramConfig
from engine.errors import MailNotFound, NotAllowed
from engine.store.queries import export_all, ticket_detail
from tests.fakebotapi import FakeBotAPI
from tests.fakes import FixedClock
from tests.support_email import (
    Sink,
    clock,
    corpus,
    make_runtime,
    person_id,
    settings_for,
    smtp_sink,
)
from tests.support_telegram import ANNA, SAM, STAFF, Harness, harness

__all__ = ["clock", "harness", "smtp_sink"]  # fixtures

ROOT = Path(__file__).resolve().parent.parent
OOO = "noise_notes_out_of_office.eml"  # Hanna's Notes out-of-office: ignored as auto_reply
NDR = "noise_ndr_japanese_mixed.eml"
HANNA = "hanna.lind@corp.example.se"


@pytest.fixture
async def desk(db_url: str, clock: FixedClock, smtp_sink: Sink) -> AsyncIterator[App]:
    rt = await make_runtime(settings_for(db_url, smtp=smtp_sink.smtp), clock)
    yield rt
    await rt.close()


async def take_in(rt: App, *names: str) -> list[int]:
    """Store the corpus mails and process them; their inbound ids."""
    ids = []
    for name in names:
        new = await rt.inbound.store("email", f"<{name}>", corpus(name), rt.bus.clock.now())
        assert new is not None
        ids.append(new)
    await MailIntake(rt).drain()
    return ids


async def send_all(rt: App) -> None:
    assert rt.settings.email.smtp is not None
    sender = MailSender(rt, rt.settings.email.smtp)
    while await sender.run_once() > 0:
        pass


def rescuer(rt: App) -> Rescuer:
    return Rescuer(rt.settings, rt.bus, rt.views, rt.inbound)


async def test_ignored_mail_is_listed_with_its_kind_and_reason(desk: App) -> None:
    ooo, ndr = await take_in(desk, OOO, NDR)
    since = desk.bus.clock.now() - dt.timedelta(hours=1)

    rows = await desk.inbound.ignored("email", since)
    listed = [describe(r) for r in rows]
    assert [(m.id, m.kind, m.sender) for m in listed] == [
        (ooo, "auto_reply", HANNA), (ndr, "bounce", "mail-admin@carrier.example.jp")]
    assert "out-of-office text" in listed[0].reason
    assert counts(rows) == {"bounce": 1, "auto_reply": 1}
    later = desk.bus.clock.now() + dt.timedelta(minutes=1)
    assert await desk.inbound.ignored("email", later) == []
    assert await desk.inbound.ignored("email", since, until=since) == []


async def test_staff_rescue_opens_a_ticket_and_mails_nobody_outside(desk: App,
                                                                   smtp_sink: Sink) -> None:
    [ooo] = await take_in(desk, OOO)
    lead = await person_id(desk, "lena@staff.example.com")

    number = await rescuer(desk).rescue(ooo, actor=lead, channel="telegram",
                                        at=desk.bus.clock.now())
    await send_all(desk)

    assert number == 1
    detail = await ticket_detail(desk.db, 1)
    assert detail is not None
    assert detail["subject"].startswith("AUTO: Hanna Lind is out of the office")
    assert "I am out of the office" in detail["comments"][0]["body"]
    assert detail["requester_id"] == await person_id(desk, HANNA)
    # No ack to the sender the intake judged machine-made; staff hear of the ticket.
    assert HANNA not in [m["To"] for m in smtp_sink.messages()]
    assert all(m["To"].endswith("@staff.example.com") for m in smtp_sink.messages())
    dump = await export_all(desk.db)
    assert [(r["status"], r["ticket"], r["rule"]) for r in dump["inbound"]] == [
        ("done", 1, "rescue")]
    rescued = [d for d in dump["desk_events"] if d["kind"] == "mail_rescued"]
    assert [(d["actor"], d["payload"]["inbound_id"], d["payload"]["became"])
            for d in rescued] == [(lead, ooo, 1)]
    assert await desk.inbound.ignored("email", desk.bus.clock.now() - dt.timedelta(days=1)) == []

    with pytest.raises(MailNotFound):  # rescued once: not an ignored mail any more
        await rescuer(desk).rescue(ooo, actor=lead, channel="telegram", at=desk.bus.clock.now())
    assert len((await export_all(desk.db))["tickets"]) == 1


async def test_a_client_may_not_rescue_and_learns_nothing(desk: App) -> None:
    [ooo] = await take_in(desk, OOO)
    carl = await person_id(desk, "carl@acme.example")
    for inbound_id in (ooo, 999):  # an ignored mail, and a number that names none
        with pytest.raises(NotAllowed):
            await rescuer(desk).rescue(inbound_id, actor=carl, channel="email",
                                       at=desk.bus.clock.now())
    dump = await export_all(desk.db)
    assert dump["tickets"] == [] and dump["inbound"][0]["status"] == "ignored"


async def test_rescue_of_a_mail_that_was_not_ignored_is_refused(desk: App) -> None:
    lead = await person_id(desk, "lena@staff.example.com")
    [person] = await take_in(desk, "clean_postmaster_person.eml")  # ticket #1 already
    with pytest.raises(MailNotFound):
        await rescuer(desk).rescue(person, actor=lead, channel="cli", at=desk.bus.clock.now())
    assert len((await export_all(desk.db))["tickets"]) == 1


# ------------------------------------------------------------------ the digest

@pytest.mark.parametrize(("lang", "line"), [
    ("en", "2 mails ignored today: bounces 1, auto-replies 1."),
    ("ru", "Сегодня проигнорировано писем: 2 — недоставки 1, автоответы 1."),
])
async def test_the_daily_digest_counts_ignored_mail(desk: App, lang: str, line: str) -> None:
    await take_in(desk, OOO, NDR)
    config = MetricsSettings(digest="daily", chat_id=-100500, language=lang)
    rt = replace(desk, settings=replace(desk.settings, telegram=TelegramConfig(
        token="1:x", staff_chat_id=-100500)))
    assert await digest.post_digest(rt, config, desk.bus.clock.now() + dt.timedelta(hours=2))
    [row] = [o for o in (await export_all(desk.db))["outbound"] if o["kind"] == "digest"]
    text = str(row["payload"]["text"])
    assert line in text
    assert "ticketbot mail ignored" in text and "/rescue" in text


async def test_no_line_when_nothing_was_ignored(desk: App) -> None:
    config = MetricsSettings(digest="daily", chat_id=-100500, language="en")
    assert await digest.post_digest(desk, config, desk.bus.clock.now())
    [row] = [o for o in (await export_all(desk.db))["outbound"] if o["kind"] == "digest"]
    assert "ignored" not in str(row["payload"]["text"])


# ------------------------------------------------------------------ the CLI, as a process

CONFIG = """
[service]
database_url = "sqlite+aiosqlite:///{db}"
timezone = "UTC"

[email]
address = "support@help.example.com"
"""


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TICKETBOT_SECRET": "cli-test"}
    return subprocess.run([sys.executable, "-m", "bot", "--config", str(config), *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


async def test_cli_lists_and_rescues(tmp_path: Path) -> None:
    config = tmp_path / "ticketbot.toml"
    config.write_text(CONFIG.format(db=tmp_path / "tb.db"))
    from bot.bootstrap import bootstrap
    from config.settings import load_settings

    rt = await bootstrap(load_settings(config, {}), clock=FixedClock(dt.datetime.now(dt.UTC)))
    try:
        [ooo] = await take_in(rt, OOO)
    finally:
        await rt.close()

    listed = _cli(config, "mail", "ignored", "--since", "2d")
    assert listed.returncode == 0, listed.stderr
    line = next(ln for ln in listed.stdout.splitlines() if ln.split()[:1] == [str(ooo)])
    assert "auto_reply" in line and HANNA in line and "out-of-office text" in line
    assert "1 mail(s) ignored since" in listed.stdout

    rescued = _cli(config, "mail", "rescue", str(ooo))
    assert rescued.returncode == 0, rescued.stderr
    assert f"mail {ooo} is now ticket #1" in rescued.stdout
    assert "0 mail(s) ignored" in _cli(config, "mail", "ignored").stdout

    again = _cli(config, "mail", "rescue", str(ooo))
    assert again.returncode == 1 and f"There is no ignored mail {ooo}" in again.stderr
    bad = _cli(config, "mail", "ignored", "--since", "last tuesday")
    assert bad.returncode == 2 and "--since" in bad.stderr


# ------------------------------------------------------------------ /rescue in Telegram

def _answer(chat: int, message_id: int) -> object:
    def check(f: FakeBotAPI) -> str | None:
        return next((m["text"] for m in f.bot_messages(chat)
                     if m.get("reply_to_message", {}).get("message_id") == message_id), None)
    return check


async def test_rescue_in_the_staff_chat(harness: Harness) -> None:
    h = harness
    [ooo] = await take_in(h.rt, OOO)

    asked = await h.say(SAM, f"/rescue {ooo}", chat=STAFF)
    answer = await h.sent(_answer(STAFF, asked))  # type: ignore[arg-type]
    assert answer == (f"Mail {ooo} is now ticket #1. No acknowledgement was sent: "
                      "answer with /reply 1.")
    ticket = await h.ticket(1)
    assert ticket.subject.startswith("AUTO: Hanna Lind")
    dump = await export_all(h.db)
    assert not [o for o in dump["outbound"] if o["recipient"] == HANNA]

    again = await h.say(SAM, f"/rescue {ooo}", chat=STAFF)
    assert await h.sent(_answer(STAFF, again)) == (  # type: ignore[arg-type]
        f"There is no ignored mail {ooo} (see `ticketbot mail ignored`).")
    missing = await h.say(SAM, "/rescue", chat=STAFF)
    assert str(await h.sent(_answer(STAFF, missing))).startswith(  # type: ignore[arg-type]
        "Which mail? Write /rescue 123")


async def test_rescue_is_refused_to_a_client(harness: Harness) -> None:
    h = harness
    [ooo] = await take_in(h.rt, OOO)
    asked = await h.say(ANNA, f"/rescue {ooo}", chat=ANNA.id)
    assert await h.sent(_answer(ANNA.id, asked)) == (  # type: ignore[arg-type]
        "This command is for specialists.")
    assert (await export_all(h.db))["tickets"] == []
