"""IMAP intake under faults, against real servers: thousands of unread mails in one pass
with the event loop kept busy, a server that stops answering or floods one read, a kill
between storing and flagging, an outage of the server (a Dovecot of our own, stopped and
started again), and a pass that fails on the same mail after every login."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence

import pytest

from bot.channels.email.receive.imap import ImapError
from bot.channels.email.receive.mailbox import ImapService, MailboxSync, fetch_once
from bot.runtime import App
from bot.thread_handoff import SWITCH_INTERVAL
from config.settings import ImapConfig
from engine.backoff import Backoff
from engine.inbox import RawMail
from engine.store.inbound import InboundStore
from engine.store.queries import export_all
from tests.fakes import FixedClock
from tests.support_email import (
    Dovecot,
    _cannot,
    _wait_gone,
    clock,
    db_file,
    dovecot,
    mail,
    running_dovecot,
    runtime,
)

__all__ = ["clock", "db_file", "dovecot", "runtime"]  # fixtures

WAIT = 15  # seconds; a safety net for awaited events, never a sleep


@pytest.fixture
def user(dovecot: Dovecot) -> str:
    return dovecot.new_user()


def sync_for(rt: App, dv: Dovecot, user: str, clock: FixedClock,
             inbox: InboundStore | None = None, **kw: object) -> MailboxSync:
    return MailboxSync(dv.imap(user, **kw), inbox or rt.inbound, rt.settings.email.max_size,
                       clock)


async def unseen(dv: Dovecot, user: str, mailbox: str = "INBOX") -> list[str]:
    """The UIDs (doveadm prints `mailbox-guid uid` per mail)."""
    out = await dv.doveadm("search", "-u", user, "mailbox", mailbox, "UNSEEN")
    return [line.split()[1] for line in out.splitlines() if line.strip()]


async def stored_ids(rt: App) -> list[str]:
    return [str(r["external_id"]) for r in (await export_all(rt.db))["inbound"]]


# ------------------------------------------------------------------ thousands of mails

def tiny(n: int) -> bytes:
    return (f"From: Client {n} <c{n}@acme.example>\r\nTo: support@help.example.com\r\n"
            f"Subject: Mail {n}\r\nMessage-ID: <bulk{n}@acme.example>\r\n\r\nHello {n}.\r\n"
            ).encode()


async def _keep_the_loop_busy(stop: asyncio.Event) -> None:
    """CPU work in slices, so the server's answers pile up between reads (as on a busy
    service): the way the IMAP library's one-frame-per-line recursion used to overflow."""
    while not stop.is_set():
        sum(range(300_000))
        await asyncio.sleep(0)


async def test_thousands_of_unread_mails_are_imported_in_one_pass_with_the_loop_busy(
        runtime: App, dovecot: Dovecot, user: str, clock: FixedClock) -> None:
    # With the loop this busy, SQLite's worker thread used to wait seconds for the GIL now
    # and then (1,200 mails once took 175 s here); bootstrap's short switch interval ends
    # that (bot/thread_handoff.py), and the time is linear in the count (bench/imap_busy.py).
    assert sys.getswitchinterval() <= SWITCH_INTERVAL
    count = 2500
    await asyncio.to_thread(dovecot.deliver_lmtp, user, [tiny(n) for n in range(count)])
    stop = asyncio.Event()
    hog = asyncio.create_task(_keep_the_loop_busy(stop))
    started = time.perf_counter()
    try:
        stored = await asyncio.wait_for(fetch_once(sync_for(runtime, dovecot, user, clock)),
                                        240)
    finally:
        stop.set()
        await hog
    logging.getLogger(__name__).info("%s unread mails stored in %.1f s", count,
                                     time.perf_counter() - started)
    assert stored == count
    assert sorted(await stored_ids(runtime)) == sorted(f"<bulk{n}@acme.example>"
                                                       for n in range(count))
    assert await unseen(dovecot, user) == []


# ------------------------------------------------------------------ servers that misbehave

class FakeImap:
    """A scripted IMAP server: greets, logs in, selects; `answer_search` decides what the
    UID SEARCH gets (nothing at all: a server that hangs)."""

    def __init__(self, answer_search: bytes) -> None:
        self.answer_search = answer_search
        self.server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def __aenter__(self) -> FakeImap:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"* OK ready\r\n")
        while line := await reader.readline():
            tag, _, rest = line.decode().partition(" ")
            name = rest.split(" ", 1)[0].strip().upper()
            if name == "CAPABILITY":
                writer.write(f"* CAPABILITY IMAP4rev1 IDLE\r\n{tag} OK done\r\n".encode())
            elif name in ("LOGIN", "LOGOUT"):
                writer.write(f"{tag} OK done\r\n".encode())
            elif name == "SELECT":
                writer.write(f"* 3 EXISTS\r\n* OK [UIDVALIDITY 7] v\r\n* OK [UIDNEXT 4] n\r\n"
                             f"{tag} OK [READ-WRITE] done\r\n".encode())
            elif name == "UID":
                writer.write(self.answer_search.replace(b"TAG", tag.encode()))
            await writer.drain()
        writer.close()


def fake_sync(rt: App, server: FakeImap, clock: FixedClock) -> MailboxSync:
    cfg = ImapConfig(host="127.0.0.1", port=server.port, user="x", password="y", tls="none")
    return MailboxSync(cfg, rt.inbound, 1 << 20, clock)


async def test_a_server_that_stops_answering_ends_the_pass_with_an_error(
        runtime: App, clock: FixedClock) -> None:
    async with FakeImap(answer_search=b"") as server:
        sync = fake_sync(runtime, server, clock)
        started = time.perf_counter()
        with pytest.raises(ImapError, match="UID SEARCH: no answer within"):
            await asyncio.wait_for(fetch_once(sync, timeout=0.5), WAIT)
    assert time.perf_counter() - started < 5
    assert await stored_ids(runtime) == []


async def test_a_flood_of_lines_in_one_read_drops_the_connection_and_the_pass_ends(
        runtime: App, clock: FixedClock) -> None:
    """3,000 untagged lines at once overflow the library's recursion: the connection is
    lost, which the pass notices at once instead of waiting for ever."""
    flood = b"".join(b"* %d EXISTS\r\n" % n for n in range(3000)) + b"TAG OK done\r\n"
    async with FakeImap(answer_search=b"* SEARCH 1 2 3\r\n" + flood) as server:
        sync = fake_sync(runtime, server, clock)
        with pytest.raises(ImapError):
            await asyncio.wait_for(fetch_once(sync, timeout=10), WAIT)


# ------------------------------------------------------------------ a kill mid-pass

class KickedAfterCommit(InboundStore):
    """Stores the batch, then the connection dies (as a kill -9 would end the process)
    before the mails are flagged or moved."""

    def __init__(self, rt: App, dv: Dovecot, user: str) -> None:
        super().__init__(rt.db)
        self.dv, self.user = dv, user

    async def store_mails(self, channel: str, mails: Sequence[RawMail], now: object,
                          state: tuple[str, int, int] | None = None) -> list[int | None]:
        ids = await super().store_mails(channel, mails, now, state)  # type: ignore[arg-type]
        await self.dv.kick(self.user)
        return ids


@pytest.mark.parametrize("move_to", [None, "Processed"])
async def test_a_kill_between_storing_and_flagging_is_finished_by_the_next_pass(
        runtime: App, dovecot: Dovecot, user: str, clock: FixedClock,
        move_to: str | None) -> None:
    if move_to:
        await dovecot.doveadm("mailbox", "create", "-u", user, move_to)
    for n in range(3):
        await dovecot.deliver(user, mail(message_id=f"<k{n}@acme.example>"))
    kicked = sync_for(runtime, dovecot, user, clock, KickedAfterCommit(runtime, dovecot, user),
                      move_to=move_to)
    with pytest.raises(ImapError):
        await fetch_once(kicked)
    assert len(await unseen(dovecot, user)) == 3  # stored, but neither flagged nor moved

    assert await fetch_once(sync_for(runtime, dovecot, user, clock, move_to=move_to)) == 0
    assert await stored_ids(runtime) == [f"<k{n}@acme.example>" for n in range(3)]
    assert await unseen(dovecot, user) == []
    if move_to:
        assert (await dovecot.status(user, "messages"))["messages"] == "0"
        assert (await dovecot.status(user, "messages", move_to))["messages"] == "3"


# ------------------------------------------------------------------ outages and backoff

@pytest.fixture(scope="module")
def own_dovecot() -> Iterator[Dovecot]:
    """A Dovecot of this module's own, so stopping it harms no other test."""
    if os.geteuid() != 0 or shutil.which("dovecot") is None:
        _cannot("a Dovecot of our own needs root and Dovecot (scripts/install-dovecot.sh)")
    with running_dovecot(2) as server:
        yield server


def stop_server(dv: Dovecot) -> None:
    pid = int((dv.dir / "run/master.pid").read_text())
    os.kill(pid, signal.SIGTERM)
    _wait_gone(pid)


def start_server(dv: Dovecot) -> None:
    subprocess.run(["dovecot", "-c", dv.conf], check=True)


class Watched:
    def __init__(self) -> None:
        self.waits: asyncio.Queue[None] = asyncio.Queue()
        self.wakes: asyncio.Queue[None] = asyncio.Queue()
        self.pauses: asyncio.Queue[float] = asyncio.Queue()
        self.probes: asyncio.Queue[bool] = asyncio.Queue()

    def service(self, sync: MailboxSync, backoff: Backoff) -> ImapService:
        return ImapService(sync, lambda: self.wakes.put_nowait(None), backoff=backoff,
                           on_wait=lambda: self.waits.put_nowait(None),
                           on_pause=self.pauses.put_nowait, on_probe=self.probes.put_nowait)

    async def probe_says(self, up: bool) -> None:
        while await asyncio.wait_for(self.probes.get(), WAIT) is not up:
            pass


async def test_after_an_outage_idle_mail_is_seen_within_seconds_of_the_servers_return(
        runtime: App, own_dovecot: Dovecot, clock: FixedClock) -> None:
    """The backoff here waits 30 s; the probe of the port ends it when the server is back."""
    user = own_dovecot.new_user()
    watched = Watched()
    service = watched.service(sync_for(runtime, own_dovecot, user, clock),
                              Backoff(first=30, cap=30))
    await service.start()
    try:
        await asyncio.wait_for(watched.waits.get(), WAIT)
        stop_server(own_dovecot)
        await watched.probe_says(up=False)  # the outage, seen by the probe
        start_server(own_dovecot)
        back = time.perf_counter()
        await asyncio.wait_for(watched.waits.get(), WAIT)  # idling again
        await own_dovecot.deliver(user, mail(message_id="<after-outage@acme.example>"))
        await asyncio.wait_for(watched.wakes.get(), WAIT)
        seen = time.perf_counter() - back
    finally:
        await service.stop()
    logging.getLogger(__name__).info("stored %.2f s after the server's return", seen)
    assert await stored_ids(runtime) == ["<after-outage@acme.example>"]
    assert seen < 5
    assert service.connections == 2


class FailsOnStore(InboundStore):
    """A mail the store refuses every time (a database fault), after a good login."""

    async def store_mails(self, channel: str, mails: Sequence[RawMail], now: object,
                          state: tuple[str, int, int] | None = None) -> list[int | None]:
        raise RuntimeError("the database refuses this mail")


async def test_a_pass_failing_on_the_same_mail_after_each_login_still_backs_off(
        runtime: App, dovecot: Dovecot, user: str, clock: FixedClock) -> None:
    await dovecot.deliver(user, mail(message_id="<stuck@acme.example>"))
    watched = Watched()
    service = watched.service(sync_for(runtime, dovecot, user, clock,
                                       FailsOnStore(runtime.db)),
                              Backoff(first=0.05, cap=0.4))
    await service.start()
    try:
        pauses = [await asyncio.wait_for(watched.pauses.get(), WAIT) for _ in range(5)]
    finally:
        await service.stop()
    assert pauses == [0.05, 0.1, 0.2, 0.4, 0.4]  # never 0, never reset by the logins
    assert service.connections >= 5
    assert len(await unseen(dovecot, user)) == 1  # left for a later pass, not lost


async def test_mail_fetch_once_exits_with_an_error_when_the_connection_drops(
        runtime: App, capsys: pytest.CaptureFixture[str]) -> None:
    import argparse
    from dataclasses import replace

    from bot.channels.email import cli

    flood = b"".join(b"* %d EXISTS\r\n" % n for n in range(3000)) + b"TAG OK done\r\n"
    async with FakeImap(answer_search=b"* SEARCH 1\r\n" + flood) as server:
        cfg = ImapConfig(host="127.0.0.1", port=server.port, user="x", password="y", tls="none")
        settings = replace(runtime.settings, email=replace(runtime.settings.email, imap=cfg))
        parser = argparse.ArgumentParser()
        cli.register(parser.add_subparsers())
        args = parser.parse_args(["mail", "fetch", "--once"])
        assert await asyncio.wait_for(args.func(args, settings), WAIT) == 1
    assert "ticketbot: IMAP 127.0.0.1: connection lost during UID SEARCH" in \
        capsys.readouterr().err
