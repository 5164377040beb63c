"""`ticketbot run`: the application from `bootstrap`, its services started under a
supervisor (a channel that cannot start is logged in one line and retried; the others keep
working), the doctor's checks logged at start, the pid file, and the signals:

    SIGTERM, SIGINT   stop cleanly
    SIGHUP            re-read the config file and apply its people and companies (the
                      directory) without dropping a connection; `ticketbot reload` sends it
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from bot import pidfile
from bot.bootstrap import bootstrap
from bot.doctor import FAIL, WARN, checks, config_findings, diagnose
from bot.runtime import App
from bot.supervise import CHANNEL_RESTART, Supervisor
from config.reader import ConfigError
from config.settings import Settings
from engine.backoff import Backoff
from engine.store.seed import sync_directory

log = logging.getLogger("ticketbot.app")

# What a reload applies; anything else that changed waits for a restart (and is said so).
RESTART_SECTIONS = ("database_url", "language", "timezone", "engine", "email", "telegram")


@runtime_checkable
class DirectoryListener(Protocol):
    """A service that keeps people in memory and re-reads them after a reload."""

    async def directory_changed(self) -> None: ...


@dataclass
class Served:
    """What a running `serve` holds (and shows tests): the app, its supervisor, the settings
    as last loaded (a reload replaces them), and the reloads under way."""

    app: App
    supervisor: Supervisor
    settings: Settings
    reloading: set[asyncio.Task[None]] = field(default_factory=set)

    def reload(self, read: Callable[[], Settings]) -> None:
        """From the SIGHUP handler: a task, kept referenced until it is done."""
        task = asyncio.create_task(_reload(self, read), name="reload")
        self.reloading.add(task)
        task.add_done_callback(self.reloading.discard)


async def serve(settings: Settings, *, reload: Callable[[], Settings] | None = None,
                stop: asyncio.Event | None = None, backoff: Backoff = CHANNEL_RESTART,
                started: Callable[[Served], None] = lambda s: None) -> None:
    app = await bootstrap(settings)
    stop = stop or asyncio.Event()
    supervisor = Supervisor(app.services, backoff)
    served = Served(app, supervisor, settings)
    pid_path = pidfile.write(pidfile.data_dir(settings))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if reload is not None:
        loop.add_signal_handler(signal.SIGHUP, served.reload, reload)
    checking = asyncio.create_task(_log_checks(settings), name="start-up checks")
    try:
        await supervisor.start()
        started(served)
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(sig)
        for task in (checking, *served.reloading):
            task.cancel()
        await supervisor.stop()
        await app.close()
        pidfile.remove(pid_path)
        log.info("stopped")


async def _log_checks(settings: Settings) -> None:
    """The doctor's checks of the other programs, logged one line each."""
    findings = config_findings(settings, None)[1:]  # the zone; the file is logged by the CLI
    findings += await diagnose(settings, checks(with_database=False, with_intake_port=False))
    for finding in findings:
        level = {FAIL: logging.ERROR, WARN: logging.WARNING}.get(finding.state, logging.INFO)
        log.log(level, "check %s", finding.line())


async def _reload(served: Served, read: Callable[[], Settings]) -> None:
    old = served.settings
    try:
        new = read()
        report = await sync_directory(served.app.db, new.people, new.companies)
    except (ConfigError, ValueError) as exc:
        log.error("reload refused, the running configuration stays: config error: %s", exc)
        return
    served.settings = new
    for service in served.app.services:
        if isinstance(service, DirectoryListener):
            await service.directory_changed()
    log.info("reloaded the directory: %d people (%d new), %d companies",
             len(new.people), report.people_created, report.companies)
    waiting = [s for s in RESTART_SECTIONS if getattr(new, s) != getattr(old, s)]
    if waiting:
        log.warning("changed in the config but applied only at the next restart: %s",
                    ", ".join(waiting))
