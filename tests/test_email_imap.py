"""IMAP intake against a real Dovecot: fetch once, \\Seen only after commit, no duplicates
across restarts, IDLE pickup, reconnect after `doveadm kick`, UIDVALIDITY change, move,
over-size mail; plus the FETCH response pairing aioimaplib leaves to us."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
from collections.abc import AsyncIterator
from dataclasses import replace
from email.policy import default
from pathlib import Path

import aioimaplib
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from bot.channels.email.act.intake import MailIntake
from bot.channels.email.receive import raw
from bot.channels.email.receive.imap import (
    FolderError,
    parse_fetch,
    parse_internaldate,
    uid_set,
)
from bot.channels.email.receive.mailbox import ImapService, MailboxSync, fetch_once
from bot.cli import main
from bot.runtime import App
from engine.backoff import Backoff
from engine.store.queries import export_all
from tests.fakes import FixedClock
from tests.support_email import Dovecot, clock, db_file, dovecot, free_port, mail, runtime

__all__ = ["clock", "db_file", "dovecot", "runtime"]  # fixtures

UTC = dt.UTC
WAIT = 15  # seconds; a safety net for awaited events, never a sleep


# ------------------------------------------------------------------ parsing (no server)

def test_fetch_literals_are_paired_with_their_message() -> None:
    lines: list[bytes | bytearray] = [b'1 FETCH (UID 7 RFC822.SIZE 5 INTERNALDATE "23-Nov-2026 01:31:57 +0300" BODY[] {5}',
             bytearray(b"hello"), b")",
             b"2 FETCH (UID 9 BODY[HEADER] {3}", bytearray(b"H\r\n"), b" BODY[TEXT]<0> {2}",
             bytearray(b"ab"), b")", b"Fetch completed."]
    first, second = parse_fetch(lines)
    assert (first.uid, first.size, first.parts) == (7, 5, {"BODY[]": b"hello"})
    assert first.internaldate == dt.datetime(2026, 11, 22, 22, 31, 57, tzinfo=UTC)
    assert (second.uid, second.parts) == (9, {"BODY[HEADER]": b"H\r\n", "BODY[TEXT]<0>": b"ab"})


def test_uid_sets_are_compact() -> None:
    assert uid_set([5, 1, 2, 3, 9, 10]) == "1:3,5,9:10"
    assert uid_set([4]) == "4"


def test_internaldate_with_a_leading_space() -> None:
    assert parse_internaldate(" 3-Nov-2026 10:00:00 +0000") == \
        dt.datetime(2026, 11, 3, 10, tzinfo=UTC)
    assert parse_internaldate("garbage") is None


# ------------------------------------------------------------------ against Dovecot

@pytest.fixture
def user(dovecot: Dovecot) -> str:
    return dovecot.new_user()


def sync_for(rt: App, dv: Dovecot, user: str, clock: FixedClock, **kw: object) -> MailboxSync:
    max_size = kw.pop("max_size", rt.settings.email.max_size)
    assert isinstance(max_size, int)
    return MailboxSync(dv.imap(user, **kw), rt.inbound, max_size, clock)


async def unseen(dv: Dovecot, user: str, mailbox: str = "INBOX") -> str:
    return (await dv.doveadm("search", "-u", user, "mailbox", mailbox, "UNSEEN")).strip()


async def inbound(rt: App) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = (await export_all(rt.db))["inbound"]
    return rows


async def test_fetch_once_stores_then_marks_seen_then_processes(
        runtime: App, dovecot: Dovecot, user: str, clock: FixedClock) -> None:
    for n in range(3):
        await dovecot.deliver(user, mail(message_id=f"<f{n}@acme.example>", subject=f"Q{n}"))
    sync = sync_for(runtime, dovecot, user, clock)
    assert await fetch_once(sync) == 3
    assert await unseen(dovecot, user) == ""
    rows = await inbound(runtime)
    assert [(r["external_id"], r["uid"], r["mailbox"]) for r in rows] == \
        [(f"<f{n}@acme.example>", n + 1, sync.key) for n in range(3)]
    assert await MailIntake(runtime).drain() == 3
    assert [t["subject"] for t in (await export_all(runtime.db))["tickets"]] == ["Q0", "Q1", "Q2"]


async def test_received_time_is_the_internaldate(runtime: App, dovecot: Dovecot, user: str,
                                                 clock: FixedClock) -> None:
    arrived = dt.datetime(2026, 11, 20, 8, 15, tzinfo=UTC)
    client = aioimaplib.IMAP4("127.0.0.1", dovecot.imap_port, timeout=5)
    await client.wait_hello_from_server()
    await client.login(user, "secret")
    await client.append(mail(message_id="<dated@acme.example>"), "INBOX", date=arrived)
    await client.logout()
    await fetch_once(sync_for(runtime, dovecot, user, clock))
    await MailIntake(runtime).drain()
    [ticket] = (await export_all(runtime.db))["tickets"]
    assert ticket["created_at"] == arrived.isoformat()


async def test_first_contact_leaves_already_read_mail_alone(
        runtime: App, dovecot: Dovecot, user: str, clock: FixedClock) -> None:
    await dovecot.deliver(user, mail(message_id="<old@acme.example>"))
    await dovecot.doveadm("flags", "add", "-u", user, "\\Seen", "mailbox", "INBOX", "ALL")
    await dovecot.deliver(user, mail(message_id="<new@acme.example>"))
    assert await fetch_once(sync_for(runtime, dovecot, user, clock)) == 1
    assert [r["external_id"] for r in await inbound(runtime)] == ["<new@acme.example>"]


async def test_a_restart_fetches_only_what_is_new(runtime: App, dovecot: Dovecot, user: str,
                                                  clock: FixedClock) -> None:
    await dovecot.deliver(user, mail(message_id="<r1@acme.example>"))
    assert await fetch_once(sync_for(runtime, dovecot, user, clock)) == 1
    await dovecot.deliver(user, mail(message_id="<r2@acme.example>"))
    assert await fetch_once(sync_for(runtime, dovecot, user, clock)) == 1
    state = await runtime.inbound.mailbox_state(sync_for(runtime, dovecot, user, clock).key)
    assert state is not None and state.last_uid == 2
    assert [r["uid"] for r in await inbound(runtime)] == [1, 2]


async def test_a_crash_before_seen_refetches_without_duplicates(
        runtime: App, dovecot: Dovecot, user: str, clock: FixedClock) -> None:
    """Stored, then the process died before \\Seen and before the state moved on."""
    sync = sync_for(runtime, dovecot, user, clock)
    await dovecot.deliver(user, mail(message_id="<c1@acme.example>"))
    await fetch_once(sync)
    await dovecot.doveadm("flags", "remove", "-u", user, "\\Seen", "mailbox", "INBOX", "ALL")
    state = await runtime.inbound.mailbox_state(sync.key)
    assert state is not None
    await runtime.inbound.set_mailbox_state(sync.key, state.uidvalidity, 0)
    assert await fetch_once(sync) == 0
    assert len(await inbound(runtime)) == 1
    assert await unseen(dovecot, user) == ""


async def test_a_uidvalidity_change_resyncs_without_duplicates(
        runtime: App, dovecot: Dovecot, user: str, clock: FixedClock) -> None:
    sync = sync_for(runtime, dovecot, user, clock)
    await dovecot.deliver(user, mail(message_id="<v1@acme.example>"))
    await fetch_once(sync)
    before = await runtime.inbound.mailbox_state(sync.key)
    assert before is not None
    await dovecot.doveadm("mailbox", "update", "-u", user, "--uid-validity",
                          str(before.uidvalidity + 1000), "INBOX")
    await dovecot.deliver(user, mail(message_id="<v2@acme.example>"))
    assert await fetch_once(sync) == 1
    after = await runtime.inbound.mailbox_state(sync.key)
    assert after is not None and after.uidvalidity == before.uidvalidity + 1000
    assert [r["external_id"] for r in await inbound(runtime)] == \
        ["<v1@acme.example>", "<v2@acme.example>"]


async def test_processed_mail_can_be_moved_away(runtime: App, dovecot: Dovecot, user: str,
                                                clock: FixedClock) -> None:
    await dovecot.deliver(user, mail(message_id="<mv@acme.example>"))
    assert await fetch_once(sync_for(runtime, dovecot, user, clock, move_to="Processed")) == 1
    assert (await dovecot.status(user, "messages"))["messages"] == "0"
    assert (await dovecot.status(user, "messages", "Processed"))["messages"] == "1"


async def test_a_missing_move_to_folder_is_created_before_any_fetch(
        runtime: App, dovecot: Dovecot, user: str, clock: FixedClock) -> None:
    await dovecot.deliver(user, mail(message_id="<mk@acme.example>"))
    sync = sync_for(runtime, dovecot, user, clock, move_to="Done by bot")  # not configured
    assert await fetch_once(sync) == 1
    assert (await dovecot.status(user, "messages"))["messages"] == "0"
    assert (await dovecot.status(user, "messages", "Done by bot"))["messages"] == "1"
    await dovecot.deliver(user, mail(message_id="<mk2@acme.example>"))
    assert await fetch_once(sync) == 1  # there now: found, not created twice
    assert (await dovecot.status(user, "messages", "Done by bot"))["messages"] == "2"


async def test_a_move_to_folder_the_server_refuses_stops_before_storing(
        runtime: App, dovecot: Dovecot, user: str, clock: FixedClock) -> None:
    await dovecot.deliver(user, mail(message_id="<bad@acme.example>"))
    sync = sync_for(runtime, dovecot, user, clock, move_to="Done//Tickets")  # Dovecot: invalid
    with pytest.raises(FolderError, match=r"'Done//Tickets' \(email.imap.move_to\) does not "
                                          r"exist on 127.0.0.1 and could not be created: .*"
                                          r"adjacent hierarchy separators"):
        await fetch_once(sync)
    assert await inbound(runtime) == []  # nothing stored that could not be moved away
    assert (await dovecot.status(user, "messages"))["messages"] == "1"


async def test_oversize_mail_is_kept_without_its_big_parts_and_noted(
        runtime: App, dovecot: Dovecot, user: str, clock: FixedClock) -> None:
    from email.message import EmailMessage
    from email.policy import SMTP

    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "carl@acme.example", "support@help.example.com", "Scan"
    m["Message-ID"] = "<big@acme.example>"
    m.set_content("Scan attached.")
    m.add_attachment(b"\x00" * 60_000, maintype="application", subtype="octet-stream",
                     filename="scan.bin")
    data = m.as_bytes(policy=SMTP)
    await dovecot.deliver(user, data)
    assert await fetch_once(sync_for(runtime, dovecot, user, clock, max_size=4096)) == 1
    [row] = await inbound(runtime)
    stored = await runtime.inbound.get(int(str(row["id"])))
    assert stored is not None and stored.raw is not None and len(stored.raw) < 6000
    assert raw.truncated_size(stored.raw) is not None
    await MailIntake(runtime).drain()
    [ticket] = (await export_all(runtime.db))["tickets"]
    assert ticket["description"].startswith("Scan attached.")
    assert f"was {len(data)} bytes" in ticket["comments"][-1]["body"]


# ------------------------------------------------------------------ the watcher

class Watch:
    """An ImapService with its waits and wakes as queues the test can await."""

    def __init__(self, service: ImapService, waits: asyncio.Queue[None],
                 wakes: asyncio.Queue[None]) -> None:
        self.service, self.waits, self.wakes = service, waits, wakes

    async def waiting(self) -> None:
        await asyncio.wait_for(self.waits.get(), WAIT)

    async def woken(self) -> None:
        await asyncio.wait_for(self.wakes.get(), WAIT)


@pytest.fixture
async def watch(runtime: App, dovecot: Dovecot, user: str,
                clock: FixedClock) -> AsyncIterator[Watch]:
    waits: asyncio.Queue[None] = asyncio.Queue()
    wakes: asyncio.Queue[None] = asyncio.Queue()
    service = ImapService(sync_for(runtime, dovecot, user, clock),
                          lambda: wakes.put_nowait(None), backoff=Backoff(first=0.05, cap=300, at_once=True),
                          on_wait=lambda: waits.put_nowait(None))
    await service.start()
    yield Watch(service, waits, wakes)
    await service.stop()


async def test_idle_picks_up_new_mail(watch: Watch, runtime: App, dovecot: Dovecot,
                                      user: str) -> None:
    await watch.waiting()
    await dovecot.deliver(user, mail(message_id="<idle@acme.example>"))
    await watch.woken()
    assert [r["external_id"] for r in await inbound(runtime)] == ["<idle@acme.example>"]


async def test_a_kicked_connection_is_rebuilt(watch: Watch, runtime: App, dovecot: Dovecot,
                                              user: str) -> None:
    await watch.waiting()
    await dovecot.kick(user)
    await watch.waiting()  # a new session is up and idling again
    assert watch.service.connections == 2
    await dovecot.deliver(user, mail(message_id="<after-kick@acme.example>"))
    await watch.woken()
    assert [r["external_id"] for r in await inbound(runtime)] == ["<after-kick@acme.example>"]


async def test_polling_when_idle_is_off(runtime: App, dovecot: Dovecot, user: str,
                                        clock: FixedClock) -> None:
    wakes: asyncio.Queue[None] = asyncio.Queue()
    sync = replace(sync_for(runtime, dovecot, user, clock),
                   cfg=dovecot.imap(user, idle=False, poll_seconds=1))
    await dovecot.deliver(user, mail(message_id="<poll@acme.example>"))
    service = ImapService(sync, lambda: wakes.put_nowait(None))
    await service.start()
    try:
        await asyncio.wait_for(wakes.get(), WAIT)
    finally:
        await service.stop()
    assert len(await inbound(runtime)) == 1


async def test_the_cli_fetches_once(runtime: App, dovecot: Dovecot, user: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from bot.channels.email import cli

    await dovecot.deliver(user, mail(message_id="<cli@acme.example>"))
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    args = parser.parse_args(["mail", "fetch", "--once"])
    settings = replace(runtime.settings, email=replace(runtime.settings.email,
                                                       imap=dovecot.imap(user)))
    assert await args.func(args, settings) == 0
    assert "fetched 1 new mail(s), processed 1" in capsys.readouterr().out
    assert len((await export_all(runtime.db))["tickets"]) == 1


def test_fetch_once_from_the_shell_names_the_folder_it_cannot_create(
        dovecot: Dovecot, user: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "ticketbot.toml"
    config.write_text(f"""
[service]
database_url = "sqlite+aiosqlite:///{tmp_path / 'tb.db'}"

[email.imap]
host = "127.0.0.1"
port = {dovecot.imap_port}
user = "{user}"
password = "secret"
tls = "none"
move_to = "/Processed"
""")
    assert main(["--config", str(config), "mail", "fetch", "--once"]) == 2
    err = capsys.readouterr().err
    assert "IMAP folder '/Processed' (email.imap.move_to) does not exist" in err
    assert "Traceback" not in err


class _Relay:
    def __init__(self) -> None:
        self.got: list[tuple[str, bytes]] = []

    async def handle_DATA(self, server: object, session: object, envelope: Envelope) -> str:
        self.got.extend((to, envelope.original_content or b"") for to in envelope.rcpt_tos)
        return "250 2.0.0 OK"


def test_one_cron_command_fetches_processes_and_sends_the_acks(
        dovecot: Dovecot, user: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`mail fetch --once --send`: one process per cron round. The client gets one ack for
    their mail, in its thread; a second round sends nothing again; without a relay in the
    config the flag is refused before anything is fetched."""
    relay = _Relay()
    port = free_port()
    controller = Controller(relay, hostname="127.0.0.1", port=port)
    controller.start()
    config = tmp_path / "ticketbot.toml"
    imap = (f'[email.imap]\nhost = "127.0.0.1"\nport = {dovecot.imap_port}\nuser = "{user}"\n'
            f'password = "secret"\ntls = "none"\n')
    head = (f'[service]\ndatabase_url = "sqlite+aiosqlite:///{tmp_path / "tb.db"}"\n[email]\n'
            f'address = "support@help.example.com"\n[email.smtp_intake]\nenabled = false\n'
            f'[telegram]\nenabled = false\n')
    relay_cfg = f'[email.smtp]\nhost = "127.0.0.1"\nport = {port}\ntls = "none"\n'
    cron = ["--config", str(config), "mail", "fetch", "--once", "--send"]
    try:
        config.write_text(head + imap)
        asyncio.run(dovecot.deliver(user, mail(message_id="<cron@acme.example>")))
        assert main(cron) == 2
        assert "no [email.smtp]" in capsys.readouterr().err
        config.write_text(head + imap + relay_cfg)
        assert main(cron) == 0
        out = capsys.readouterr().out
        assert "fetched 1 new mail(s), processed 1" in out
        assert "handled 1 outgoing mail(s)" in out
        assert main(cron) == 0
        assert "handled 0 outgoing mail(s)" in capsys.readouterr().out
    finally:
        controller.stop()
    assert [to for to, _ in relay.got] == ["carl@acme.example"]
    ack = email.message_from_bytes(relay.got[0][1], policy=default)
    assert "<cron@acme.example>" in str(ack["In-Reply-To"])
