"""The Telegram channel against the fake Bot API on loopback (tests/fakebotapi.py), with the
real python-telegram-bot application, production flood limits and a SQLite file in WAL mode
(or PostgreSQL: set TICKETBOT_BENCH_DB_URL).

1. /status latency: from the moment an update is available from getUpdates to the moment
   the answer's sendMessage reaches the server; 300 requests in a private chat, paced at
   20 a second (under Telegram's 30 a second). Target: p95 under 50 ms.
2. Burst: 10,000 support-group messages from 200 people (a specialist message after every
   50) queued at once; rate at which the bot journals and files them into first-line
   dialogs. Target: at least 1,000 a second.

Run from the project root: .venv/bin/python -m bench.telegram
"""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bot.channels.telegram.service import Options, TelegramService
from bot.storage.telegram_sql import TelegramSqlStore
from engine.ports import SystemClock
from tests.fakebotapi import Call, FakeBotAPI, User, serve
from tests.support_telegram import ANNA, SAM, SUPPORT, runtime, settings_for

REQUESTS = 300
PACE_SECONDS = 0.05
BURST = 10_000
PEOPLE = 200
ANSWER_EVERY = 50


async def _prepare(fake: FakeBotAPI, service: TelegramService) -> None:
    """Ticket #1, asked by Anna, who has started the bot."""
    assert service.poller is not None
    update, message = await fake.say(ANNA, SUPPORT, "The printer is jammed")
    await fake.say(ANNA, ANNA.id, "/start")
    update, _ = await fake.say(SAM, SUPPORT, "/ticket", reply_to=message)
    await service.poller.wait_processed(update)
    await fake.wait_for(lambda f: any(m["text"].startswith("🎫") for m in f.bot_messages(SUPPORT)))


def _answer_to(message_id: int) -> Callable[[FakeBotAPI], Call | None]:
    def find(f: FakeBotAPI) -> Call | None:
        return next((c for c in reversed(f.calls) if c.method == "sendmessage" and
                     (c.params.get("reply_parameters") or {}).get("message_id") == message_id),
                    None)
    return find


async def _status_latencies(fake: FakeBotAPI) -> list[float]:
    latencies = []
    for _ in range(REQUESTS):
        update = fake.message_update(ANNA, ANNA.id, "/status 1")
        message_id = update["message"]["message_id"]
        fake.messages[(ANNA.id, message_id)] = update["message"]
        available = time.perf_counter()
        await fake.push_many([update])
        call = await fake.wait_for(_answer_to(message_id), timeout=30)
        latencies.append((call.at - available) * 1000)
        await asyncio.sleep(PACE_SECONDS)
    return latencies


def _burst(fake: FakeBotAPI) -> list[dict[str, object]]:
    people = [User(10_000 + i, f"Employee {i}") for i in range(PEOPLE)]
    updates = []
    for i in range(BURST):
        author = SAM if i % ANSWER_EVERY == ANSWER_EVERY - 1 else people[i % PEOPLE]
        updates.append(fake.message_update(author, SUPPORT, f"message {i}: the VPN drops <again>"))
    return updates


async def _ingest(fake: FakeBotAPI, service: TelegramService) -> float:
    assert service.poller is not None
    updates = _burst(fake)
    started = time.perf_counter()
    last = await fake.push_many(updates)
    await asyncio.wait_for(service.poller.wait_processed(last), 600)
    return time.perf_counter() - started


def _report(latencies: list[float], seconds: float, url: str) -> None:
    ordered = sorted(latencies)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    print(f"database: {url.split(':')[0]}")
    print(f"/status update->answer over {len(ordered)} requests: median "
          f"{statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms, max {ordered[-1]:.1f} ms "
          f"(target p95 < 50 ms: {'met' if p95 < 50 else 'MISSED'})")
    rate = BURST / seconds
    print(f"burst of {BURST} group messages: {seconds:.2f} s, {rate:,.0f} messages/s "
          f"(target >= 1,000/s: {'met' if rate >= 1000 else 'MISSED'})")


async def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    # The fake logs the long poll the bot abandons on stop; that is expected.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("TICKETBOT_BENCH_DB_URL") or \
            f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        fake = FakeBotAPI(admins={SUPPORT: {123456}})
        fake.add_chat(SUPPORT, "Support")
        server = await serve(fake)
        settings = settings_for(url, server.url, staff_chat_id=None)
        rt = await runtime(settings, SystemClock())
        service = TelegramService(rt, TelegramSqlStore(rt.db), Options())
        await service.start()
        try:
            await _prepare(fake, service)
            latencies = await _status_latencies(fake)
            seconds = await _ingest(fake, service)
        finally:
            await service.stop()
            await rt.close()
            await server.close()
        _report(latencies, seconds, url)


if __name__ == "__main__":
    asyncio.run(main())
