"""Several `ticketbot run` processes on one PostgreSQL (real subprocesses, real SMTP): every
mail from a new sender is one ticket with one ack whichever worker took it, the leader's
pollers and scheduler move to a follower within seconds of a kill -9, and a second process
on SQLite is refused with one line."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from bot.channels.email.act.intake import MailIntake
from bot.channels.email.receive import raw
from bot.leader import Leadership, leading
from bot.runtime import App
from engine.store.claims import LOCK_SPACE
from engine.store.db import make_engine
from engine.store.migrate import upgrade
from engine.store.queries import export_all
from engine.store.tables import inbound, outbox, people, tickets
from tests.conftest import _pg_database
from tests.fakes import FixedClock
from tests.support_email import Sink, db_file, mail, make_runtime, settings_for, smtp_sink
from tests.support_workers import FOLLOWS, LEADS, STARTED, WorkerProcess, send_one

__all__ = ["db_file", "smtp_sink"]

MAILS = 120
TAKEOVER = 5.0  # seconds from the leader's death to the follower leading


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    async with _pg_database() as url:
        await upgrade(url)  # once, before two processes start
        yield url


def _acks_by_sender(sink: Sink) -> dict[str, list[str]]:
    found: dict[str, list[str]] = collections.defaultdict(list)
    for m in sink.messages():
        found[str(m["To"]).strip("<>").lower()].append(str(m["Message-ID"]))
    return found


async def _leader_holders(url: str) -> int:
    db = make_engine(url)
    try:
        async with db.connect() as conn:
            return int((await conn.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND classid = :a AND objid = 1 AND database = (SELECT oid FROM pg_database "
                "WHERE datname = current_database())"), {"a": LOCK_SPACE})).scalar_one())
    finally:
        await db.dispose()


async def _drained(url: str, sink: Sink, senders: list[str], timeout: float = 90) -> None:
    """Until every sender has an ack and nothing is left to process or send."""
    db = make_engine(url)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        while True:
            async with db.connect() as conn:
                pending = (await conn.execute(select(func.count()).select_from(inbound).where(
                    inbound.c.status == "pending"))).scalar_one()
                unsent = (await conn.execute(select(func.count()).select_from(outbox).where(
                    outbox.c.sent_at.is_(None), outbox.c.failed_at.is_(None)))).scalar_one()
            acked = _acks_by_sender(sink)
            if not pending and not unsent and all(s in acked for s in senders):
                return
            assert loop.time() < deadline, (pending, unsent, len(acked))
            await asyncio.sleep(0.2)
    finally:
        await db.dispose()


async def test_two_workers_one_ticket_and_one_ack_per_new_sender_and_a_killed_leader_is_replaced(
        pg_url: str, smtp_sink: Sink, tmp_path: Path) -> None:
    # The first worker leads (it sends nothing: rows a killed sender had claimed wait out
    # their lease, which bench/faults.py measures); the second follows and sends.
    first = WorkerProcess("first", pg_url, tmp_path)
    second = WorkerProcess("second", pg_url, tmp_path, relay=smtp_sink.port)
    try:
        await first.start()
        await first.wait_for(LEADS)
        await second.start()
        await second.wait_for(FOLLOWS)
        await first.wait_for(STARTED)
        await second.wait_for(STARTED)
        assert await _leader_holders(pg_url) == 1

        senders = [f"new{i}@client{i}.example" for i in range(MAILS)]
        raws = [mail(sender=s, subject=f"Question {i}", message_id=f"<q{i}@client.example>")
                for i, s in enumerate(senders)]
        ports = [first.port, second.port]
        half = MAILS // 2
        # the first half to both workers at once, alternating
        await asyncio.gather(*[send_one(ports[i % 2:] + ports[:i % 2], senders[i], raws[i])
                               for i in range(half)])
        # the rest while the leader is killed mid-run: the senders retry the other worker
        rest = [asyncio.create_task(send_one(ports[i % 2:] + ports[:i % 2], senders[i],
                                             raws[i])) for i in range(half, MAILS)]
        await asyncio.sleep(0)
        await first.kill9()
        took = await second.wait_for(LEADS, timeout=TAKEOVER + 10)
        assert took < TAKEOVER
        await asyncio.gather(*rest)
        assert await _leader_holders(pg_url) == 1

        await _drained(pg_url, smtp_sink, senders)
        db = make_engine(pg_url)
        try:
            async with db.connect() as conn:
                rows = (await conn.execute(select(inbound.c.external_id, inbound.c.status,
                                                  inbound.c.ticket))).all()
                ticket_count = (await conn.execute(
                    select(func.count()).select_from(tickets))).scalar_one()
                clients = (await conn.execute(select(func.count()).select_from(people).where(
                    people.c.role == "client"))).scalar_one()
        finally:
            await db.dispose()
        assert len(rows) == MAILS
        assert {r.status for r in rows} == {"done"}
        assert len({r.ticket for r in rows}) == MAILS == ticket_count
        assert clients == MAILS

        acks = _acks_by_sender(smtp_sink)
        assert sorted(acks) == sorted(senders)
        # one ack each; a copy of the same mail (same Message-ID) is not another ack
        assert all(len(set(ids)) == 1 for ids in acks.values())
        assert sum(len(ids) for ids in acks.values()) == MAILS
        assert all(m["Subject"] and "Question" in str(m["Subject"])
                   for m in smtp_sink.messages())
    finally:
        await first.stop()
        await second.stop()


async def test_a_second_process_on_sqlite_is_refused_with_one_line(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'one.db'}"
    first = WorkerProcess("first", url, tmp_path)
    second = WorkerProcess("second", url, tmp_path)
    try:
        await first.start()
        await first.wait_for(STARTED)
        await second.start()
        assert second.proc is not None
        code = await asyncio.wait_for(second.proc.wait(), 30)
        assert code == 1
        lines = second.text().splitlines()
        assert lines == [f"ticketbot: another ticketbot is already running on "
                         f"{tmp_path / 'one.db'}; SQLite serves one process (several workers "
                         "need PostgreSQL)"]
        assert first.proc is not None and first.proc.returncode is None
        # the first still serves
        await send_one([first.port], "new@client.example", mail(sender="new@client.example"))
    finally:
        await first.stop()
        await second.stop()


# ---------------------------------------------------------------- two drains, one queue
# Two workers' processors (each its own application and connection pool) draining the same
# pending rows at the same moment, in one process so the race is forced every time.

async def _two_drains(url: str, batch: int, mails: list[tuple[str, bytes]]) -> App:
    settings = settings_for(url)
    workers = [await make_runtime(settings, FixedClock()) for _ in range(2)]
    at = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.UTC)
    for _, data in mails:
        await raw.keep(workers[0].inbound, data, at)
    await asyncio.gather(*[MailIntake(w, batch=batch).drain() for w in workers])
    await workers[1].close()
    return workers[0]


@pytest.mark.parametrize("batch", [100, 7, 1])
async def test_two_drains_of_one_queue_process_each_mail_once(
        pg_url: str, batch: int, caplog: pytest.LogCaptureFixture) -> None:
    """New senders (each registered once even when two of their mails meet in two
    workers, without a unique-key error rolling a batch back) and one ticket, one ack per
    mail, in batches and one by one."""
    caplog.set_level(logging.INFO, "ticketbot.email.intake")
    mails = [(f"new{i % 40}@client.example",
              mail(sender=f"new{i % 40}@client.example", subject=f"Question {i}",
                   message_id=f"<d{i}@client.example>")) for i in range(120)]
    rt = await _two_drains(pg_url, batch, mails)
    try:
        data = await export_all(rt.db)
    finally:
        await rt.close()
    assert [r["status"] for r in data["inbound"]] == ["done"] * 120
    assert len(data["tickets"]) == 120
    assert sorted(r["ticket"] for r in data["inbound"]) == list(range(1, 121))
    acks = collections.Counter(o["recipient"] for o in data["outbound"]
                               if o["channel"] == "email" and o["recipient"].startswith("new"))
    assert acks == {f"new{i}@client.example": 3 for i in range(40)}
    registered = [e for e in data["desk_events"] if e["kind"] == "contact_registered"]
    assert len(registered) == 40
    assert not [r for r in caplog.records if "rolled back" in r.getMessage()]


# ---------------------------------------------------------------- the leader lock

class Poller:
    """Stands for a poller or the scheduler: where it runs, and each start and stop."""

    def __init__(self, running: set[str], name: str, log: list[str] | None = None) -> None:
        self.name = name
        self.running = running
        self.log = [] if log is None else log

    async def start(self) -> None:
        assert self.name not in self.running
        self.running.add(self.name)
        self.log.append(f"start {self.name}")

    async def stop(self) -> None:
        self.running.discard(self.name)
        self.log.append(f"stop {self.name}")


async def _until(check: Callable[[], bool], timeout: float = 10) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline, "not within the time"
        await asyncio.sleep(0.02)


async def test_a_leader_that_loses_its_lock_connection_stops_its_pollers_and_another_leads(
        pg_url: str) -> None:
    running: set[str] = set()
    log: list[str] = []
    dbs = [make_engine(pg_url) for _ in range(2)]
    workers = [Leadership(db, [Poller(running, f"imap@{i}", log),
                               Poller(running, f"jobs@{i}", log)],
                          retry=0.05, check=0.05, grace=0.5)
               for i, db in enumerate(dbs)]
    one_leads = ({"imap@0", "jobs@0"}, {"imap@1", "jobs@1"})
    try:
        await workers[0].start()
        await workers[0].leading.wait()
        await workers[1].start()
        assert running == {"imap@0", "jobs@0"}
        # the leader's lock connection is cut (a proxy, a restart): it must stop polling
        async with dbs[1].connect() as conn:
            await conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                "AND granted AND classid = :a AND objid = 1"), {"a": LOCK_SPACE})
            await conn.commit()
        await _until(lambda: len(log) >= 4 and running in one_leads)
        # stopped before anyone started again (whichever worker took the lock next)
        assert log[:4] == ["start imap@0", "start jobs@0", "stop jobs@0", "stop imap@0"]
        assert await _leader_holders(pg_url) == 1
        leader = 0 if running == one_leads[0] else 1
        await workers[leader].stop()
        await _until(lambda: running == one_leads[1 - leader])
    finally:
        for worker in workers:
            await worker.stop()
        for db in dbs:
            await db.dispose()
    assert running == set()


async def test_on_sqlite_the_pollers_run_as_they_are(db_file: str) -> None:
    db = make_engine(db_file)
    try:
        pollers = [Poller(set(), "imap")]
        assert leading(db, pollers) == pollers
    finally:
        await db.dispose()
