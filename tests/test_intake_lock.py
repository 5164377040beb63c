"""SMTP intake while a slow batch is being processed, on SQLite: the batch's write
transaction must never hold the database's one write lock while it waits for slow work,
or the intake answers 451 "database is locked" and the sending MTA has to come back."""

from __future__ import annotations

import asyncio
from typing import ClassVar

import aiosmtplib

from bot.channels.email.act.intake import MailIntake
from bot.channels.email.act.process import IncomingMail, MailContext, MailProcessor
from bot.channels.email.act.session import Session
from bot.channels.email.receive import raw
from bot.channels.email.receive.ingress import IngressHandler, IngressService
from bot.channels.email.understand.identity import MailIdentity
from bot.runtime import App
from engine.inbox import InboundRow
from engine.store.queries import export_all
from tests.support_email import SUPPORT, clock, db_file, mail, runtime

__all__ = ["clock", "db_file", "runtime"]  # fixtures

WAIT = 15  # seconds; a safety net for awaited events, never a sleep


class SlowToRead(MailProcessor):
    """One mail whose parsing takes as long as the test says (a huge HTML body would)."""

    reached: ClassVar[asyncio.Event]
    go_on: ClassVar[asyncio.Event]

    async def read(self, row: InboundRow) -> IncomingMail:
        if row.external_id == "<slow@acme.example>":
            SlowToRead.reached.set()
            await SlowToRead.go_on.wait()
        return await super().read(row)


async def test_smtp_intake_stores_mail_while_a_slow_batch_is_processed(runtime: App) -> None:
    SlowToRead.reached, SlowToRead.go_on = asyncio.Event(), asyncio.Event()
    for mid in ("<first@acme.example>", "<slow@acme.example>", "<third@acme.example>"):
        await raw.keep(runtime.inbound, mail(message_id=mid, subject=mid), runtime.bus.clock.now())
    handler = IngressHandler(runtime.inbound, MailIdentity.of(runtime.settings, runtime.secret),
                             runtime.bus.clock, max_size=1 << 20, lmtp=False)
    ingress = IngressService(handler, "127.0.0.1", 0)
    await ingress.start()
    drain = asyncio.create_task(MailIntake(runtime, processor=SlowToRead).drain())
    try:
        await asyncio.wait_for(SlowToRead.reached.wait(), WAIT)
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=ingress.port) as smtp:
            _, reply = await asyncio.wait_for(smtp.sendmail(
                "carl@acme.example", [SUPPORT],
                mail(message_id="<during@acme.example>", subject="during")), WAIT)
        assert reply.startswith("2.0.0")  # 250: stored, not 451 "database is locked"
        assert not drain.done()
        SlowToRead.go_on.set()
        assert await asyncio.wait_for(drain, WAIT) == 4
    finally:
        SlowToRead.go_on.set()
        await ingress.stop()
    data = await export_all(runtime.db)
    assert sorted(t["subject"] for t in data["tickets"]) == sorted(
        ["<first@acme.example>", "<slow@acme.example>", "<third@acme.example>", "during"])
    assert sorted(r["recipient"] for r in data["outbound"] if r["kind"] == "ack") == \
        ["carl@acme.example"] * 4


class CountingSessions(MailProcessor):
    buses: ClassVar[list[object]] = []  # kept alive: one per processor made

    def __init__(self, ctx: MailContext, session: Session) -> None:
        super().__init__(ctx, session)
        CountingSessions.buses.append(session.bus)


async def test_a_batch_that_ran_its_time_commits_and_leaves_the_rest_for_the_next(
        runtime: App) -> None:
    """Held past its time (none at all here), a batch commits after each mail: the write
    lock is given up between mails, and every mail is still done exactly once."""
    CountingSessions.buses = []
    for n in range(3):
        await raw.keep(runtime.inbound, mail(message_id=f"<h{n}@acme.example>",
                                             subject=f"Hold {n}"), runtime.bus.clock.now())
    intake = MailIntake(runtime, processor=CountingSessions, hold_seconds=0)
    assert await intake.drain() == 3
    # one batch bus per transaction (the service's own bus only read the mails)
    assert len([b for b in CountingSessions.buses if b is not runtime.bus]) == 3
    data = await export_all(runtime.db)
    assert sorted(t["subject"] for t in data["tickets"]) == ["Hold 0", "Hold 1", "Hold 2"]
    assert {r["status"] for r in data["inbound"]} == {"done"}
    assert len([r for r in data["outbound"] if r["kind"] == "ack"]) == 3
