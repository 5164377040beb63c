"""What made the service's mail intake use both cores and stop queueing on SQLite's busy
sleeps (issue 15, bench/service.py): mails that arrive together on several SMTP
connections share a commit, a batch is parsed in the worker process whichever intake
took it, and a long batch lets a waiting writer in."""

from __future__ import annotations

import asyncio
import smtplib

from sqlalchemy import func, select

from bot.channels.email.service import EmailChannel
from engine.store import tables
from engine.store.db import reading
from tests.fakes import FixedClock
from tests.support_email import SUPPORT, mail, make_runtime, settings_for


def _send(port: int, raws: list[bytes]) -> list[int]:
    """One SMTP client: each mail's final reply code."""
    codes = []
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.ehlo()
        for raw in raws:
            smtp.mail("client@org.example")
            smtp.rcpt(SUPPORT)
            codes.append(smtp.data(raw)[0])
    return codes


def _mails(prefix: str, n: int) -> list[bytes]:
    return [mail(sender=f"{prefix}{i}@org{i}.example", subject=f"{prefix} {i}") for i in range(n)]


async def test_smtp_mails_share_commits_and_are_parsed_in_the_worker(db_url: str) -> None:
    rt = await make_runtime(settings_for(db_url, listen_port=0, listen_host="127.0.0.1"),
                            FixedClock())
    channel = EmailChannel(rt)
    assert channel.ingress is not None
    await channel.ingress.start()  # the intake only: the test drains the queue itself
    parser = channel.intake.ctx.parser
    try:
        port = channel.ingress.port
        # Four clients at once, six mails each.
        codes = await asyncio.gather(*(asyncio.to_thread(_send, port, _mails(f"c{k}x", 6))
                                       for k in range(4)))
        # Every client heard 250 for each of its mails (each once its mail was stored) ...
        assert [c for cs in codes for c in cs] == [250] * 24
        # ... and mails that came together went in one commit.
        assert channel.ingress.handler.keeper.commits < 24
        await parser.started()
        assert await channel.intake.drain() == 24
        before = parser.offloaded
        assert await asyncio.to_thread(_send, port, _mails("late", 5)) == [250] * 5
        assert await channel.intake.drain() == 5
        # Small mails too: the batch was parsed in the worker process, not on the loop.
        assert parser.offloaded - before == 5
        async with reading(rt.db) as conn:
            tickets = (await conn.execute(select(func.count()).select_from(tables.tickets))
                       ).scalar_one()
            acks = (await conn.execute(select(tables.outbox.c.recipient)
                                       .where(tables.outbox.c.kind == "ack"))).all()
        # One ticket and one acknowledgement per mail, to its sender: none lost, none twice.
        assert tickets == 29
        assert sorted(r for (r,) in acks) == sorted(
            [f"c{k}x{i}@org{i}.example" for k in range(4) for i in range(6)]
            + [f"late{i}@org{i}.example" for i in range(5)])
    finally:
        await channel.ingress.stop()
        await parser.close()
        await rt.close()


async def test_a_batch_sees_a_writer_waiting_and_lets_it_in(db_url: str) -> None:
    rt = await make_runtime(settings_for(db_url), FixedClock())
    try:
        async with rt.inbound.batch(rt.bus.clock) as tx:
            assert not tx.contended()
            storing = asyncio.create_task(rt.inbound.store(
                "email", "<waiting@acme.example>", b"Subject: x\r\n\r\nx\r\n",
                rt.bus.clock.now()))
            for _ in range(20):
                await asyncio.sleep(0.01)
            # SQLite has one write lock: the store waits for it, and the batch knows. On
            # PostgreSQL rows are locked, not the database: nobody waits.
            assert tx.contended() is (rt.db.dialect.name == "sqlite")
        assert await storing is not None  # stored once the batch committed
    finally:
        await rt.close()
