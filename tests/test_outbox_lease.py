"""Outbox rows of a worker that dies mid-send (kill -9: nothing released) reach another worker
on the same database within a minute; a living worker's rows are never taken from it, however
long its relay takes: its heartbeat renews their short lease. On SQLite and PostgreSQL, two
applications on one database, each with its own injected clock."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
from aiosmtpd.smtp import SMTP
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.email.deliver.sender import CHANNEL, MailSender
from bot.channels.telegram.deliver.delivery import Delivery, Sent
from bot.channels.telegram.deliver.sender import Sender as TelegramSender
from bot.outbox_lease import LEASE
from bot.runtime import App
from bot.storage.telegram_sql import TelegramSqlStore
from config.settings import SmtpConfig
from engine.notify.kinds import NoticeKind
from engine.outbox import OutboxRow
from engine.ports import OutboxItem
from engine.store.outbox import OutboxStore
from engine.store.queries import export_all
from tests.fakes import FixedClock
from tests.support_email import Sink, make_runtime, settings_for, smtp_sink

__all__ = ["smtp_sink"]  # fixtures

CARL = "carl@acme.example"
T0 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
async def two_workers(db_url: str) -> AsyncIterator[tuple[App, App]]:
    """Two applications on one database, as two `ticketbot run` processes."""
    a = await make_runtime(settings_for(db_url), FixedClock(T0))
    b = await make_runtime(settings_for(db_url), FixedClock(T0))
    yield a, b
    await a.close()
    await b.close()


def clock(rt: App) -> FixedClock:
    c = rt.bus.clock
    assert isinstance(c, FixedClock)
    return c


async def queue_replies(rt: App, *texts: str) -> None:
    async with rt.uow() as uow:
        for n, body in enumerate(texts):
            await uow.outbox.enqueue(OutboxItem(
                key=f"reply-{n}", channel="email", recipient=CARL, kind=NoticeKind.MAIL_REPLY,
                payload={"text": body, "subject": f"Answer {n}"}))
        await uow.commit()


async def rows(rt: App) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (await export_all(rt.db))["outbound"]
    return found


def bodies(sink: Sink) -> list[str]:
    return sorted(m.get_content().strip() for m in sink.messages())


@contextlib.asynccontextmanager
async def stalled_relay() -> AsyncIterator[tuple[SmtpConfig, asyncio.Event, asyncio.Event]]:
    """A relay that takes the message and answers it only when `killed` is set (and then
    with a refusal nobody reads): the worker hangs there holding its rows, which is where
    the test kills it."""
    stalled, killed = asyncio.Event(), asyncio.Event()

    class Stall:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            stalled.set()
            await killed.wait()
            return "451 4.3.0 too late"

    server = await asyncio.get_running_loop().create_server(lambda: SMTP(Stall()),
                                                            "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield SmtpConfig(host="127.0.0.1", port=port, tls="none"), stalled, killed
    finally:
        server.close()


async def test_rows_of_a_killed_worker_go_out_from_another_within_a_minute(
        two_workers: tuple[App, App], smtp_sink: Sink) -> None:
    dead, alive = two_workers
    await queue_replies(dead, "first answer", "second answer")
    async with stalled_relay() as (relay, stalled, gone):
        worker = asyncio.create_task(MailSender(dead, relay).run_once())
        await stalled.wait()  # both rows claimed, the worker mid-send
        worker.cancel()  # as kill -9: nothing is marked or released
        gone.set()  # the relay lets go of the dead connection at once
        with contextlib.suppress(asyncio.CancelledError):
            await worker
    assert all(r["lease_until"] and not r["sent_at"] for r in await rows(alive))
    other = MailSender(alive, smtp_sink.smtp)
    clock(alive).current = T0 + dt.timedelta(seconds=59)
    assert await other.run_once() == 0
    assert smtp_sink.received == []
    clock(alive).current = T0 + dt.timedelta(seconds=60)
    assert await other.run_once() == 2
    assert bodies(smtp_sink) == ["first answer", "second answer"]
    assert [m["To"] for m in smtp_sink.messages()] == [CARL, CARL]
    assert all(r["sent_at"] == clock(alive).current.isoformat() for r in await rows(alive))
    assert await other.run_once() == 0  # and never again
    assert len(smtp_sink.received) == 2


class SlowRelay:
    """Holds every mail until `release` is set, as a relay that takes minutes."""

    def __init__(self, sink: Sink) -> None:
        self.release = asyncio.Event()
        self.waiting = asyncio.Event()
        passing = sink.handle_DATA

        async def slow(server: Any, session: Any, envelope: Any) -> str:
            self.waiting.set()
            await self.release.wait()
            return await passing(server, session, envelope)

        sink.handle_DATA = slow  # type: ignore[method-assign]


async def test_a_living_worker_keeps_its_rows_while_its_relay_is_slow(
        two_workers: tuple[App, App], smtp_sink: Sink) -> None:
    busy, other = two_workers
    await queue_replies(busy, "only answer")
    relay = SlowRelay(smtp_sink)
    ticks: asyncio.Queue[None] = asyncio.Queue()
    beats: asyncio.Queue[int] = asyncio.Queue()

    async def tick() -> None:
        await ticks.get()

    sender = MailSender(busy, smtp_sink.smtp, lease_tick=tick)
    renew = sender.lease.beat

    async def counted() -> int:
        n = await renew()
        beats.put_nowait(n)
        return n

    sender.lease.beat = counted  # type: ignore[method-assign]
    sending = asyncio.create_task(sender.run_once())
    await relay.waiting.wait()
    for minutes in range(1, 4):  # three minutes at the relay, a heartbeat every 40 s
        clock(busy).current = T0 + dt.timedelta(seconds=40 * minutes)
        ticks.put_nowait(None)
        assert await beats.get() == 1  # the row's lease renewed
        clock(other).current = T0 + dt.timedelta(seconds=40 * minutes + 59)
        assert await MailSender(other, smtp_sink.smtp).run_once() == 0
    relay.release.set()
    assert await sending == 1
    assert bodies(smtp_sink) == ["only answer"]
    assert await sender.lease.beat() == 0  # nothing held once the batch is settled
    clock(other).current = T0 + dt.timedelta(hours=1)
    assert await MailSender(other, smtp_sink.smtp).run_once() == 0
    assert len(smtp_sink.received) == 1


async def test_renewal_leaves_settled_and_lapsed_rows_alone(
        two_workers: tuple[App, App]) -> None:
    a, _ = two_workers
    await queue_replies(a, "one", "two", "three")
    one, two, three = await a.outbox.claim(CHANNEL, T0, 50, LEASE)
    await a.outbox.mark_sent(one.id, T0, {})
    half = T0 + LEASE / 2
    assert await a.outbox.renew([one.id, two.id], half, LEASE) == 1  # one is settled
    assert await a.outbox.renew([three.id], T0 + LEASE, LEASE) == 0  # three's lease is over
    claimed = await a.outbox.claim(CHANNEL, T0 + LEASE, 50, LEASE)
    assert [r.id for r in claimed] == [three.id]  # two is still held, three anyone's
    assert (await a.outbox.get(two.id)).lease_until == half + LEASE  # type: ignore[union-attr]


class HeldAtTelegram:
    """A Bot API that takes its time: each message is held until `release` is set."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.holding = asyncio.Event()
        self.sent: list[str] = []

    async def deliver(self, row: OutboxRow) -> Sent:
        self.holding.set()
        await self.release.wait()
        self.sent.append(str(row.payload["text"]))
        return Sent({"message_id": len(self.sent)})


async def test_telegram_rows_waiting_on_a_slow_chat_stay_with_their_worker(
        engine: AsyncEngine) -> None:
    """The Telegram worker's heartbeat renews the lease of every row on its lanes; another
    worker's claims find nothing until that worker is gone for a full lease."""
    outbox = OutboxStore(engine)
    await outbox.enqueue(OutboxItem(key="tg-1", channel="telegram", recipient="-100777",
                                    kind=NoticeKind.MAIL_REPLY, payload={"text": "hello"}))
    busy_clock = FixedClock(T0)
    api = HeldAtTelegram()
    worker = TelegramSender(outbox, cast(Delivery, api), TelegramSqlStore(engine), busy_clock)
    assert await worker.cycle() == 1
    await api.holding.wait()
    for beat in range(1, 4):
        busy_clock.current = T0 + dt.timedelta(seconds=40 * beat)
        assert await worker.lease.beat() == 1  # what its heartbeat does every 20 s
        later = T0 + dt.timedelta(seconds=40 * beat + 59)
        assert await outbox.claim("telegram", later, 50, LEASE) == []
    api.release.set()
    await worker.drain()
    assert api.sent == ["hello"]
    assert await worker.lease.beat() == 0
    # Killed now (no stop, no release): the next row it claims is another's a minute later.
    await outbox.enqueue(OutboxItem(key="tg-2", channel="telegram", recipient="-100777",
                                    kind=NoticeKind.MAIL_REPLY, payload={"text": "again"}))
    [row] = await outbox.claim("telegram", T0, 50, worker.lease.lease)
    assert await outbox.claim("telegram", T0 + LEASE - dt.timedelta(seconds=1), 50, LEASE) == []
    assert [r.id for r in await outbox.claim("telegram", T0 + LEASE, 50, LEASE)] == [row.id]
