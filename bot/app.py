"""The composition root: settings in, a running service out. Nothing here runs at import."""

from __future__ import annotations

import asyncio
import logging
import secrets
import signal
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.runtime import Runtime, Service, SystemClock
from config.settings import Settings
from engine.bus import MessageBus, Reactor
from engine.notify.reactor import notify
from engine.ports import Clock
from engine.store.db import make_engine
from engine.store.inbound import InboundStore
from engine.store.migrate import upgrade
from engine.store.outbox import OutboxStore
from engine.store.seed import sync_directory
from engine.store.uow import sql_uow_factory

log = logging.getLogger("ticketbot.app")

ServiceFactory = Callable[[Runtime], Sequence[Service]]


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


async def build_runtime(settings: Settings, clock: Clock | None = None) -> Runtime:
    await upgrade(settings.database_url)
    db = make_engine(settings.database_url)
    log.info("database %s", db.url.render_as_string(hide_password=True))
    await sync_directory(db, settings.people, settings.companies)
    uow = sql_uow_factory(db)
    secret = load_secret(settings, data_dir_of(settings.database_url))
    bus = MessageBus(uow, clock or SystemClock(), settings.engine, reactors(settings, secret))
    return Runtime(settings=settings, db=db, uow=uow, bus=bus, outbox=OutboxStore(db),
                   inbound=InboundStore(db), secret=secret)


def reactors(settings: Settings, secret: bytes) -> list[Reactor]:
    """What answers each event inside the command's transaction, in order (explicit)."""
    from bot.channels.email.replies import email_reactors
    from bot.channels.telegram.mirror import telegram_reactors
    from bot.jobs import sla_reactors
    from bot.stats import rating_reactors

    return [notify, *sla_reactors(settings), *rating_reactors(settings, secret),
            *email_reactors(settings), *telegram_reactors(settings)]


def service_factories() -> list[ServiceFactory]:
    """Every channel and job the service runs, in start order (explicit, no scanning)."""
    from bot.channels.email.service import email_services
    from bot.channels.telegram.service import telegram_services
    from bot.jobs import job_services

    return [email_services, telegram_services, job_services]


async def run(settings: Settings, stop: asyncio.Event | None = None) -> None:
    runtime = await build_runtime(settings)
    services = [s for make in service_factories() for s in make(runtime)]
    stop = stop or _stop_on_signals()
    try:
        for service in services:
            await service.start()
            log.info("started %s", service.name)
        await stop.wait()
    finally:
        for service in reversed(services):
            await service.stop()
        await runtime.db.dispose()
        log.info("stopped")


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
