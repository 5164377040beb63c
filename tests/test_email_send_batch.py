"""The mail sender works a batch at a time (issue 15): every ack of a backlog goes out
exactly once over the same few relay connections (`[email.smtp] connections`), a batch costs the same few transactions whatever
its size, and one row that cannot go is set aside while the rest of its batch goes. On
SQLite and PostgreSQL, against a real aiosmtpd relay; `ticketbot mail send --once` as cron
runs it."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from sqlalchemy import event, update

from bot.bootstrap import bootstrap
from bot.channels.email.act.intake import MailIntake
from bot.channels.email.deliver.sender import DRAIN_BATCH, MARK_EVERY, MailSender
from bot.channels.email.receive import raw
from bot.cli import main
from bot.runtime import App
from config.reader import ConfigError
from config.settings import SmtpConfig, load_settings
from engine.commands import OpenTicket, RegisterContact
from engine.notify.kinds import NoticeKind
from engine.ports import OutboxItem
from engine.store.queries import export_all
from engine.store.tables import outbox
from tests.fakes import FixedClock
from tests.support_email import Sink, free_port, mail, make_runtime, settings_for, smtp_sink

__all__ = ["smtp_sink"]  # fixtures

CLIENTS = [f"client{i}@org{i}.example" for i in range(12)]
LEAD = "lena@staff.example.com"


@pytest.fixture
async def desk(db_url: str) -> AsyncIterator[App]:
    """Twelve new clients have written: twelve acks and the lead's twelve notices wait."""
    clock = FixedClock()
    rt = await make_runtime(settings_for(db_url), clock)
    for i, sender in enumerate(CLIENTS):
        await raw.keep(rt.inbound, mail(sender=sender, subject=f"Question {i}",
                                        message_id=f"<q{i}@org{i}.example>"), clock.now())
    await MailIntake(rt).drain()
    yield rt
    await rt.close()


def peers_of(sink: Sink) -> list[Any]:
    """Wraps the relay so that it notes the client connection of each mail it takes."""
    peers: list[Any] = []
    take = sink.handle_DATA

    async def noting(server: Any, session: Any, envelope: Any) -> str:
        peers.append(session.peer)
        return await take(server, session, envelope)

    sink.handle_DATA = noting  # type: ignore[method-assign]
    return peers


async def outbound(rt: App) -> list[dict[str, Any]]:
    return [r for r in (await export_all(rt.db))["outbound"] if r["channel"] == "email"]


def ack_to(rows: list[dict[str, Any]], address: str) -> dict[str, Any]:
    [row] = [r for r in rows if r["kind"] == "ack" and r["recipient"] == address]
    return row


async def drain(sender: MailSender) -> int:
    claimed = 0
    async with sender.connection_kept():
        while (n := await sender.run_once()) > 0:
            claimed += n
    return claimed


async def test_a_backlog_goes_out_once_each_over_the_same_connections(
        desk: App, smtp_sink: Sink) -> None:
    peers = peers_of(smtp_sink)
    assert await drain(MailSender(desk, smtp_sink.smtp, batch=5)) == 24  # five batches
    per_recipient = collections.Counter(e.rcpt_tos[0] for e in smtp_sink.received)
    # Each client: their ack, once; the lead: one notice per ticket; nobody else.
    assert per_recipient == {**dict.fromkeys(CLIENTS, 1), LEAD: 12}
    subjects = {m["To"]: m["Subject"] for m in smtp_sink.messages() if m["To"] != LEAD}
    assert subjects == {c: f"[#{i + 1}] Question {i}" for i, c in enumerate(CLIENTS)}
    # The same connections for all five batches: not new ones per batch.
    assert 1 < len(set(peers)) <= smtp_sink.smtp.connections < 5
    rows = await outbound(desk)
    assert len(rows) == 24 and all(r["sent_at"] and r["failed_at"] is None for r in rows)
    # Nothing is claimed or sent again: a second run, and a second sender, find nothing.
    assert await drain(MailSender(desk, smtp_sink.smtp)) == 0
    assert len(smtp_sink.received) == 24
    # Each ack's Message-ID was recorded before it went: a quick reply threads.
    for m in smtp_sink.messages():
        assert await desk.views.ticket_of([m["Message-ID"]]) is not None


async def test_a_batch_costs_a_few_transactions_not_two_per_row(
        desk: App, smtp_sink: Sink) -> None:
    begun: list[int] = []
    event.listen(desk.db.sync_engine, "begin", lambda conn: begun.append(1))
    assert await MailSender(desk, smtp_sink.smtp, batch=4).run_once() == 4
    small, begun[:] = len(begun), []
    assert await MailSender(desk, smtp_sink.smtp, batch=20).run_once() == 20
    # The claim; reads of the suppressed addresses, the cap's history and the batch's
    # tickets; the Message-IDs about to go; the marks, once per MARK_EVERY mails sent.
    assert small <= 6
    assert len(begun) == small - 1 + 20 // MARK_EVERY
    assert len(smtp_sink.received) == 24


async def test_one_bad_row_is_set_aside_and_its_batch_goes(desk: App, smtp_sink: Sink) -> None:
    """A refused recipient (5xx) and a row that cannot be built: each given up alone, with
    its reason; every other mail of the same batch goes, over the same connections."""
    refused = CLIENTS[3]
    take = smtp_sink.handle_DATA

    async def refusing(server: Any, session: Any, envelope: Any) -> str:
        if envelope.rcpt_tos == [refused]:
            return "550 5.7.1 refused by policy"
        return await take(server, session, envelope)

    smtp_sink.handle_DATA = refusing  # type: ignore[method-assign]
    peers = peers_of(smtp_sink)
    broken = ack_to(await outbound(desk), CLIENTS[7])
    async with desk.db.begin() as conn:  # a recipient no mail can be built for
        await conn.execute(update(outbox).where(outbox.c.id == broken["id"]).values(
            recipient=f"{CLIENTS[7]}\r\nBcc: evil@attacker.example"))
    assert await drain(MailSender(desk, smtp_sink.smtp, batch=24)) == 24
    got = collections.Counter(e.rcpt_tos[0] for e in smtp_sink.received)
    assert got == {**{c: 1 for c in CLIENTS if c not in (refused, CLIENTS[7])}, LEAD: 12}
    assert "evil@attacker.example" not in got
    assert len(set(peers)) <= smtp_sink.smtp.connections
    rows = await outbound(desk)
    assert ack_to(rows, refused)["failed_at"] is not None
    assert "550" in ack_to(rows, refused)["last_error"]
    [bad] = [r for r in rows if r["id"] == broken["id"]]
    assert bad["failed_at"] is not None and bad["last_error"].startswith("ValueError")
    assert sum(1 for r in rows if r["sent_at"]) == 22


class _Relay:
    """An aiosmtpd relay in its own thread, for the CLI, which runs its own event loop."""

    def __init__(self) -> None:
        self.got: list[tuple[Any, str]] = []  # (client connection, recipient)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.got.extend((session.peer, to) for to in envelope.rcpt_tos)
        return "250 2.0.0 OK"


QUEUED = DRAIN_BATCH + 10  # two batches


def test_mail_send_once_sends_the_queue_once_over_the_connections_configured(
        db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    relay = _Relay()
    port = free_port()
    controller = Controller(relay, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        config = tmp_path / "ticketbot.toml"
        config.write_text(f'[service]\ndatabase_url = "{db_url}"\n[email]\n'
                          f'address = "support@help.example.com"\n[email.smtp_intake]\n'
                          f'enabled = false\n[email.smtp]\nhost = "127.0.0.1"\nport = {port}\n'
                          f'tls = "none"\nconnections = 2\n[telegram]\nenabled = false\n')
        send = ["--config", str(config), "mail", "send", "--once"]
        assert main(send) == 0  # nothing queued yet: nothing built, nothing sent
        assert capsys.readouterr().out.strip() == "handled 0 outgoing mail(s)"
        asyncio.run(_requests(config, QUEUED))
        assert main(send) == 0
        assert capsys.readouterr().out.strip() == f"handled {QUEUED} outgoing mail(s)"
        assert main(send) == 0
        assert capsys.readouterr().out.strip() == "handled 0 outgoing mail(s)"
    finally:
        controller.stop()
    assert sorted(to for _, to in relay.got) == \
        sorted(f"c{i}@org{i}.example" for i in range(QUEUED))
    # Two batches, over the two connections configured, kept from one batch to the next.
    assert len({peer for peer, _ in relay.got}) == 2


async def _requests(config: Path, n: int) -> None:
    """`n` new clients open a ticket each: `n` acks wait."""
    settings = load_settings(config, {"TICKETBOT_SECRET": "test"})
    rt = await bootstrap(settings, with_services=False)
    try:
        for i in range(n):
            who = await rt.bus.handle(RegisterContact(
                actor=None, channel="email", name=f"C {i}", address=f"c{i}@org{i}.example"))
            await rt.bus.handle(OpenTicket(actor=who.contact, channel="email",
                                           subject=f"Question {i}", description="Help"))
    finally:
        await rt.close()


# ------------------------------------------------------------------ several connections

def lanes(sink: Sink, n: int) -> SmtpConfig:
    return replace(sink.smtp, connections=n)


async def test_one_connection_is_one_connection(desk: App, smtp_sink: Sink) -> None:
    peers = peers_of(smtp_sink)
    assert await drain(MailSender(desk, lanes(smtp_sink, 1), batch=5)) == 24
    assert len(smtp_sink.received) == 24 and len(set(peers)) == 1


async def test_a_recipients_mails_go_in_order_over_one_connection(desk: App,
                                                                   smtp_sink: Sink) -> None:
    peers = peers_of(smtp_sink)
    assert await drain(MailSender(desk, smtp_sink.smtp, batch=24)) == 24
    lead = [(peer, m) for peer, m in zip(peers, smtp_sink.messages(), strict=True)
            if m["To"] == LEAD]
    assert len({peer for peer, _ in lead}) == 1
    subjects = [str(m["Subject"]) for _, m in lead]
    assert subjects == sorted(subjects, key=lambda s: int(s.split("]")[0][2:]))
    assert len(set(peers)) == smtp_sink.smtp.connections == 3  # the default


async def test_a_connection_that_drops_leaves_only_its_mail_for_a_retry(
        desk: App, smtp_sink: Sink) -> None:
    """The relay drops the connection carrying CLIENTS[0]'s ack: that ack is retried after
    the backoff; every other mail of the batch goes over the other connections at once."""
    take = smtp_sink.handle_DATA
    dropped: list[Any] = []

    async def dropping(server: Any, session: Any, envelope: Any) -> str:
        if envelope.rcpt_tos == [CLIENTS[0]] and not dropped:
            dropped.append(session.peer)
            server.transport.close()
            return "421 4.3.2 going away"
        return await take(server, session, envelope)

    smtp_sink.handle_DATA = dropping  # type: ignore[method-assign]
    assert await MailSender(desk, smtp_sink.smtp, batch=24).run_once() == 24
    got = collections.Counter(e.rcpt_tos[0] for e in smtp_sink.received)
    assert got == {**dict.fromkeys(CLIENTS[1:], 1), LEAD: 12}
    first = ack_to(await outbound(desk), CLIENTS[0])
    assert first["sent_at"] is None and first["failed_at"] is None and first["next_try"]
    assert "Disconnected" in first["last_error"]
    clock = desk.bus.clock
    assert isinstance(clock, FixedClock)
    clock.advance(hours=1)
    assert await drain(MailSender(desk, smtp_sink.smtp)) == 1
    got = collections.Counter(e.rcpt_tos[0] for e in smtp_sink.received)
    assert got == {**dict.fromkeys(CLIENTS, 1), LEAD: 12}


async def test_a_stalled_connection_holds_back_only_its_own_mail(desk: App,
                                                                  smtp_sink: Sink) -> None:
    """One connection's mail hangs at the relay: the other connections send the rest of
    the batch meanwhile; the hung one goes when the relay answers."""
    take = smtp_sink.handle_DATA
    release = asyncio.Event()

    async def stalling(server: Any, session: Any, envelope: Any) -> str:
        if envelope.rcpt_tos == [CLIENTS[5]]:
            await release.wait()
        return await take(server, session, envelope)

    smtp_sink.handle_DATA = stalling  # type: ignore[method-assign]
    sending = asyncio.create_task(MailSender(desk, smtp_sink.smtp, batch=24).run_once())
    async with smtp_sink.arrived:
        await asyncio.wait_for(smtp_sink.arrived.wait_for(
            lambda: len(smtp_sink.received) == 23), 15)
    assert CLIENTS[5] not in {e.rcpt_tos[0] for e in smtp_sink.received}
    assert not sending.done()
    release.set()
    assert await sending == 24
    rows = await outbound(desk)
    assert len(smtp_sink.received) == 24 and all(r["sent_at"] for r in rows)


async def test_a_relay_refusing_every_connection_leaves_every_row_for_a_retry(
        desk: App) -> None:
    dead = SmtpConfig(host="127.0.0.1", port=free_port(), tls="none")
    assert await MailSender(desk, dead, batch=24).run_once() == 24
    rows = await outbound(desk)
    assert len(rows) == 24
    assert all(r["sent_at"] is None and r["failed_at"] is None and r["next_try"] for r in rows)


def test_the_number_of_connections_is_read_from_the_config(tmp_path: Path) -> None:
    config = tmp_path / "ticketbot.toml"
    base = '[email]\naddress = "support@help.example.com"\n[email.smtp]\nhost = "relay"\n'
    config.write_text(base)
    smtp = load_settings(config, {"TICKETBOT_SECRET": "test"}).email.smtp
    assert smtp is not None and smtp.connections == 3
    config.write_text(base + "connections = 2\n")
    smtp = load_settings(config, {"TICKETBOT_SECRET": "test"}).email.smtp
    assert smtp is not None and smtp.connections == 2
    config.write_text(base + "connections = 0\n")
    with pytest.raises(ConfigError, match="connections"):
        load_settings(config, {"TICKETBOT_SECRET": "test"})


# ------------------------------------------------------------------ drain (`mail send --once`)

async def test_drain_sends_every_batch_once_and_holds_nothing_after(desk: App,
                                                                     smtp_sink: Sink) -> None:
    """The next batch is made ready while the one before it is sent: every mail still
    goes once, every row is marked, no lease is left behind."""
    sender = MailSender(desk, smtp_sink.smtp, batch=5)
    assert await sender.drain() == 24
    per_recipient = collections.Counter(e.rcpt_tos[0] for e in smtp_sink.received)
    assert per_recipient == {**dict.fromkeys(CLIENTS, 1), LEAD: 12}
    rows = await outbound(desk)
    assert all(r["sent_at"] and r["lease_until"] is None for r in rows)
    lead = [str(m["Subject"]) for m in smtp_sink.messages() if m["To"] == LEAD]
    assert lead == sorted(lead, key=lambda s: int(s.split("]")[0][2:]))  # in row order
    assert await sender.drain() == 0 and len(smtp_sink.received) == 24


async def test_drain_counts_what_the_batch_before_sent_toward_the_cap(
        desk: App, smtp_sink: Sink) -> None:
    """Seven automatic answers to one address over batches of two: the batch being sent is
    counted before the next one to the same address is decided: five go, as in one batch."""
    async with desk.uow() as uow:
        for i in range(7):
            await uow.outbox.enqueue(OutboxItem(
                key=f"loop{i}", channel="email", recipient="loop@robot.example",
                kind=NoticeKind.MAIL_REPLY, payload={"text": "hi", "subject": "s"}))
        await uow.commit()
    assert await MailSender(desk, smtp_sink.smtp, batch=2).drain() == 31
    robot = [e for e in smtp_sink.received if e.rcpt_tos == ["loop@robot.example"]]
    assert len(robot) == desk.settings.email.auto_reply_limit == 5


@dataclass
class Crowded(Sink):
    """A relay that takes two connections from us: a third is told 421 at its EHLO."""

    peers: set[Any] = field(default_factory=set)
    refused: int = 0

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        if len(self.peers) >= 2 and session.peer not in self.peers:
            self.refused += 1
            return ["421 4.7.0 too many connections from you"]
        self.peers.add(session.peer)
        session.host_name = hostname
        return responses


async def test_a_relay_refusing_one_more_connection_still_gets_every_mail_at_once(
        desk: App) -> None:
    """Three connections configured, two taken: the third's share goes over the two, in
    the same run; no mail waits for a retry."""
    crowded = Crowded()
    server = await asyncio.get_running_loop().create_server(lambda: SMTP(crowded),
                                                            "127.0.0.1", 0)
    crowded.port = server.sockets[0].getsockname()[1]
    try:
        assert await MailSender(desk, lanes(crowded, 3), batch=24).run_once() == 24
    finally:
        server.close()
        await server.wait_closed()
    assert crowded.refused >= 1 and len(crowded.peers) == 2
    per_recipient = collections.Counter(e.rcpt_tos[0] for e in crowded.received)
    assert per_recipient == {**dict.fromkeys(CLIENTS, 1), LEAD: 12}
    assert all(r["sent_at"] for r in await outbound(desk))
