"""The Telegram channel against the fake Bot API on loopback (tests/fakebotapi.py), with the
real python-telegram-bot application, production flood limits and a SQLite file in WAL mode
(or PostgreSQL: set TICKETBOT_BENCH_DB_URL).

1. /status latency: from the moment an update is available from getUpdates to the moment
   the answer's sendMessage reaches the server; 300 requests in a private chat, paced at
   20 a second (under Telegram's 30 a second). Beside it, in the same run and the same
   process, a bare python-telegram-bot bot (an `Application` with one CommandHandler that
   answers from memory) on a second fake Bot API; the two take turns, 50 requests each, so
   a busy machine slows both alike. Targets: p95 under 50 ms, and within 1.2 times the bare
   bot's p95.
2. Burst: 10,000 support-group messages from 200 people (a specialist message after every
   50) queued at once; rate at which the bot journals and files them into first-line
   dialogs. Target: at least 1,000 a second.
3. Start-up: `ticketbot --config X run` (SQLite, mail off) started as users start it, to
   its first getUpdates at the fake Bot API; beside it a bare python-telegram-bot bot
   started as a process to its first getUpdates. Target: under 2 s. (`--no-startup` skips.)

Run from the project root: .venv/bin/python -m bench.telegram
"""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.channels.telegram.service import Options, TelegramService
from bot.storage.telegram_sql import TelegramSqlStore
from engine.ports import SystemClock
from tests.fakebotapi import TOKEN, Call, FakeBotAPI, Running, User, serve
from tests.support_telegram import ANNA, SAM, SUPPORT, runtime, settings_for

REQUESTS = 300
TURN = 50  # requests per turn; ours and the bare bot's alternate
ROOT = Path(__file__).resolve().parent.parent
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


async def _status_latencies(fake: FakeBotAPI, requests: int = REQUESTS) -> list[float]:
    latencies = []
    for _ in range(requests):
        update = fake.message_update(ANNA, ANNA.id, "/status 1")
        # As Telegram marks it (the fake does not): what a CommandHandler looks for.
        update["message"]["entities"] = [{"type": "bot_command", "offset": 0, "length": 7}]
        message_id = update["message"]["message_id"]
        fake.messages[(ANNA.id, message_id)] = update["message"]
        available = time.perf_counter()
        await fake.push_many([update])
        call = await fake.wait_for(_answer_to(message_id), timeout=30)
        latencies.append((call.at - available) * 1000)
        await asyncio.sleep(PACE_SECONDS)
    return latencies


async def _bare_bot(url: str) -> Any:
    """python-telegram-bot as its docs show it: an Application, one CommandHandler, the
    answer from memory, polling."""
    from telegram import Update
    from telegram.ext import Application, CommandHandler, ContextTypes

    answers = {"1": "Ticket #1 · open · The printer is jammed"}

    async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        number = (context.args or ["1"])[0]
        await update.message.reply_text(answers.get(number, "no such ticket"), do_quote=True)

    app = Application.builder().token(TOKEN).base_url(f"{url}/bot").build()
    app.add_handler(CommandHandler("status", status))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=25)
    return app


async def _side_by_side(ours: FakeBotAPI, bare: FakeBotAPI) -> tuple[list[float], list[float]]:
    mine: list[float] = []
    theirs: list[float] = []
    for _ in range(REQUESTS // TURN):
        mine += await _status_latencies(ours, TURN)
        theirs += await _status_latencies(bare, TURN)
    return mine, theirs


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


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(len(ordered) * 0.95) - 1]


def _report(latencies: list[float], bare: list[float], seconds: float, url: str,
            startup: tuple[float, float] | None) -> None:
    p95, bare95 = _p95(latencies), _p95(bare)
    print(f"database: {url.split(':')[0]}; machine load {os.getloadavg()[0]:.2f}")
    print(f"/status update->answer over {len(latencies)} requests: median "
          f"{statistics.median(latencies):.1f} ms, p95 {p95:.1f} ms, max {max(latencies):.1f} ms "
          f"(target p95 < 50 ms: {'met' if p95 < 50 else 'MISSED'})")
    print(f"bare python-telegram-bot, same run: median {statistics.median(bare):.1f} ms, "
          f"p95 {bare95:.1f} ms; ours/bare p95 {p95 / bare95:.2f}x "
          f"(target <= 1.2x: {'met' if p95 <= 1.2 * bare95 else 'MISSED'})")
    rate = BURST / seconds
    print(f"burst of {BURST} group messages: {seconds:.2f} s, {rate:,.0f} messages/s "
          f"(target >= 1,000/s: {'met' if rate >= 1000 else 'MISSED'})")
    if startup is not None:
        ours, theirs = startup
        print(f"start to the first getUpdates: `ticketbot run` {ours:.2f} s, bare "
              f"python-telegram-bot {theirs:.2f} s ({ours / theirs:.1f}x; target < 2 s: "
              f"{'met' if ours < 2 else 'MISSED'})")


# ------------------------------------------------------------------ start-up


BARE_SCRIPT = """\
import sys
from telegram.ext import Application, CommandHandler
async def status(update, context):
    await update.message.reply_text("ok", do_quote=True)
app = Application.builder().token(sys.argv[1]).base_url(sys.argv[2] + "/bot").build()
app.add_handler(CommandHandler("status", status))
app.run_polling(poll_interval=0, timeout=25)
"""


async def _first_poll(fake: FakeBotAPI, command: list[str], env: dict[str, str],
                      cwd: Path) -> float:
    """Seconds from starting `command` to its first getUpdates at `fake`."""
    before = len(fake.calls)
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        call = await fake.wait_for(lambda f: next(
            (c for c in f.calls[before:] if c.method == "getupdates"), None), timeout=60)
        return float(call.at - started)
    finally:
        proc.terminate()
        await asyncio.to_thread(proc.wait, 30)


async def _startup(tmp: Path) -> tuple[float, float]:
    """Median of three starts each, alternating."""
    ours_times, bare_times = [], []
    for i in range(3):
        fake = FakeBotAPI()
        server = await serve(fake)
        try:
            conf = tmp / f"run{i}.toml"
            conf.write_text(textwrap.dedent(f"""\
                [service]
                database_url = "sqlite+aiosqlite:///{tmp}/run{i}/ticketbot.db"
                [email.smtp_intake]
                enabled = false
                [telegram]
                token = "{TOKEN}"
                api_url = "{server.url}"
                """))
            env = {**os.environ, "TICKETBOT_SECRET": "bench"}
            ours_times.append(await _first_poll(
                fake, [str(ROOT / ".venv/bin/ticketbot"), "--config", str(conf), "run"], env,
                tmp))
            bare_times.append(await _first_poll(
                fake, [sys.executable, "-c", BARE_SCRIPT, TOKEN, server.url], env, tmp))
        finally:
            await server.close()
    return statistics.median(ours_times), statistics.median(bare_times)


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
        bare_fake = FakeBotAPI(started={ANNA.id})  # Anna has pressed Start there too
        bare_server: Running = await serve(bare_fake)
        bare = await _bare_bot(bare_server.url)
        settings = settings_for(url, server.url, staff_chat_id=None)
        rt = await runtime(settings, SystemClock())
        service = TelegramService(rt, TelegramSqlStore(rt.db), Options())
        await service.start()
        try:
            await _prepare(fake, service)
            latencies, bare_latencies = await _side_by_side(fake, bare_fake)
            seconds = await _ingest(fake, service)
        finally:
            await service.stop()
            await rt.close()
            await bare.updater.stop()
            await bare.stop()
            await bare.shutdown()
            await server.close()
            await bare_server.close()
        startup = None if "--no-startup" in sys.argv else await _startup(Path(tmp))
        _report(latencies, bare_latencies, seconds, url, startup)


if __name__ == "__main__":
    asyncio.run(main())
