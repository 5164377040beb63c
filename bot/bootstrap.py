"""The one place the application is put together: settings in, an `App` out.

Everything that runs is listed here, explicitly and in order; nothing registers itself at
import. The CLI, the tests and the benchmarks all build the application through
`bootstrap()` (tests may pass a clock, a secret or Telegram options), and the schema comes
only from the migrations.

    reactors   what answers each event inside the command's transaction
    services   mail intake (SMTP/LMTP, IMAP), the mail processor and sender, Telegram,
               the scheduler
    jobs       timed work the scheduler runs
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from bot.channels.telegram.deliver.mirror import telegram_reactors
from bot.files import part_bytes
from bot.jobs import (
    JobSpec,
    job_services,
    return_due_waiting_job,
    set_aside_job,
    sla_reactors,
    sla_scan_job,
)
from bot.runtime import App, Runtime, Service
from bot.stats import rating_handlers, rating_reactors
from bot.thread_handoff import shorten_switch_interval
from config.settings import Settings
from engine.bus import MessageBus, Reactor
from engine.directory_import import declared_rows
from engine.notify.reactor import notify
from engine.ports import Clock, SystemClock
from engine.store.db import make_engine
from engine.store.inbound import InboundStore
from engine.store.merge_sql import merge_handlers
from engine.store.migrate import upgrade
from engine.store.outbox import OutboxStore
from engine.store.seed import sync_directory
from engine.store.uow import sql_uow_factory
from engine.store.views import SqlViews

if TYPE_CHECKING:
    from bot.channels.telegram.service import Options

log = logging.getLogger("ticketbot.app")


def reactors(settings: Settings, secret: bytes) -> list[Reactor]:
    """What answers each event inside the command's transaction, in order."""
    return [notify, *sla_reactors(settings), *rating_reactors(settings, secret),
            *telegram_reactors(settings)]


def jobs() -> list[JobSpec]:
    """Every scheduled job; each builder returns None where the installation has it off."""
    from bot.digest import digest_job

    return [JobSpec("return_due_waiting", return_due_waiting_job),
            JobSpec("sla_scan", sla_scan_job),
            JobSpec("metrics_digest", digest_job),
            JobSpec("outbox_set_aside", set_aside_job)]


def services(app: App, telegram: Options | None) -> list[Service]:
    """Every channel and the scheduler, in start order. Channels get the ports only (typed
    `Runtime`); scheduled jobs also scan the database. The pollers (IMAP, Telegram) and the
    scheduler run once: in the leader when several workers share PostgreSQL."""
    # Imported here: a CLI command that starts no service (`mail send --once` from cron)
    # does not pay for the SMTP listener, the IMAP watcher and the digests.
    from bot.channels.email.service import EmailChannel
    from bot.leader import leading

    channels: Runtime = app
    email = EmailChannel(channels)
    return [*email.workers(), *leading(app.db, [
        *email.pollers(), *_telegram_services(app, channels, telegram),
        *job_services(app, jobs())])]


def _telegram_services(app: App, channels: Runtime, options: Options | None) -> list[Service]:
    if not app.settings.telegram.token:
        return []
    # Imported only with a token: python-telegram-bot costs every process ~17 MB and a
    # quarter of a second to import, which a mail-only install and each cron
    # `mail fetch --once` need not pay.
    from bot.channels.telegram import service as telegram
    from bot.storage.telegram_sql import TelegramSqlStore

    return telegram.telegram_services(channels, TelegramSqlStore(app.db),
                                      options or telegram.Options())


async def bootstrap(settings: Settings, *, clock: Clock | None = None,
                    secret: bytes | None = None, telegram: Options | None = None,
                    with_services: bool = True) -> App:
    """The migrated database, the directory from the config, the bus with its reactors, and
    the services (built, not started; none for a CLI command that starts none)."""
    clock = clock or SystemClock()
    # SQLite's worker thread must win the GIL from a busy loop (bot/thread_handoff.py).
    shorten_switch_interval()
    await upgrade(settings.database_url)
    db = make_engine(settings.database_url)
    log.info("database %s", db.url.render_as_string(hide_password=True))
    await sync_directory(db, settings.people, settings.companies, declared_rows(
        settings.contracts, settings.objects, settings.equipment))
    secret = secret or load_secret(settings, data_dir_of(settings.database_url))
    uow = sql_uow_factory(db, clock)
    bus = MessageBus(uow, clock, settings.engine, reactors(settings, secret),
                     {**rating_handlers(settings), **merge_handlers()})
    app = App(settings=settings, bus=bus, uow=uow, outbox=OutboxStore(db),
              inbound=InboundStore(db), views=SqlViews(db, part_bytes), secret=secret, db=db)
    return replace(app, services=tuple(services(app, telegram))) if with_services else app


def load_secret(settings: Settings, data_dir: Path) -> bytes:
    """The key that signs our Message-IDs and links. From the environment, else a random one
    kept beside the database so it survives restarts (a new key would orphan old replies)."""
    if settings.secret:
        return settings.secret.encode()
    path = data_dir / "secret.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip().encode()


def data_dir_of(url: str) -> Path:
    if url.startswith("sqlite") and ":///" in url:
        return Path(url.split(":///", 1)[1]).parent
    return Path("data")


async def run(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """The service until `stop` or a signal (supervised start, checks, reload: bot/serve.py);
    `AlreadyRunning` when another process runs on the same SQLite database."""
    from bot.serve import serve

    await serve(settings, stop=stop)
