"""`ticketbot run`: the application from `bootstrap`, its services started under a
supervisor (a channel that cannot start is logged in one line and retried; the others keep
working), the doctor's checks logged at start, the pid file, and the signals:

    SIGTERM, SIGINT   stop cleanly
    SIGHUP            re-read the config file and apply its people and companies (the
                      directory) without dropping a connection; `ticketbot reload` sends it
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import ctypes
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from bot import pidfile
from bot.bootstrap import bootstrap
from bot.doctor import FAIL, WARN, checks, config_findings, diagnose
from bot.runtime import App, Service
from bot.supervise import CHANNEL_RESTART, Supervisor
from config.reader import ConfigError
from config.settings import Settings
from engine.backoff import Backoff
from engine.directory_import import declared_rows
from engine.store.outbox import OutboxStore
from engine.store.seed import sync_directory
from engine.store.single_process import only_process

log = logging.getLogger("ticketbot.app")

# What a reload applies; anything else that changed waits for a restart (and is said so).
PROFILE_ENV = "TICKETBOT_PROFILE"
M_ARENA_MAX = -8  # glibc's mallopt parameter
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


async def serve(settings: Settings, *, config: Path | None = None,
                reload: Callable[[], Settings] | None = None,
                stop: asyncio.Event | None = None, backoff: Backoff = CHANNEL_RESTART,
                started: Callable[[Served], None] = lambda s: None) -> None:
    """Until `stop` or SIGINT/SIGTERM; `AlreadyRunning` when another process runs on the
    same SQLite database. `config` is the file the settings came from (None: defaults)."""
    _fewer_malloc_arenas()
    with only_process(settings.database_url), _profiled(os.environ.get(PROFILE_ENV)):
        await _serve(settings, config, reload, stop, backoff, started)


def _fewer_malloc_arenas() -> None:
    """glibc gives each thread that allocates its own malloc arena (the database drivers'
    threads here), and mail passing through them leaves each arena fragmented: two arenas
    kept the service's peak RSS about 20 MB lower on bench/service.py. Elsewhere, nothing."""
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(M_ARENA_MAX, 2)


@contextlib.contextmanager
def _profiled(path: str | None) -> Iterator[None]:
    """With `TICKETBOT_PROFILE=FILE`, a cProfile of the service's event loop (the main
    thread) is written to FILE when it stops; `bench/service.py --profile` sets it."""
    if not path:
        yield
        return
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        profile.dump_stats(path)
        log.warning("profile written to %s", path)


async def _serve(settings: Settings, config: Path | None,
                 reload: Callable[[], Settings] | None, stop: asyncio.Event | None,
                 backoff: Backoff, started: Callable[[Served], None]) -> None:
    app = await bootstrap(settings)
    if app.db.dialect.name == "sqlite" and (freed := await OutboxStore(app.db).release_leases()):
        # The lock file says no other process runs: these leases are a dead one's.
        log.info("released %s outbox rows a stopped process had claimed", freed)
    stop = stop or asyncio.Event()
    supervisor = Supervisor(app.services, backoff)
    served = Served(app, supervisor, settings)
    pid_path = pidfile.write(pidfile.data_dir(settings))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if reload is not None:
        loop.add_signal_handler(signal.SIGHUP, served.reload, reload)
    checking: asyncio.Task[None] | None = None
    try:
        await supervisor.start()
        # After the channels are up: the checks (several connections and imports) would
        # otherwise share the CPU with the channels' start, and the first poll waits.
        checking = asyncio.create_task(_log_checks(settings, config), name="start-up checks")
        started(served)
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(sig)
        for task in (*([checking] if checking else []), *served.reloading):
            task.cancel()
        await supervisor.stop()
        await app.close()
        pidfile.remove(pid_path)
        log.info("stopped")


async def _log_checks(settings: Settings, config: Path | None) -> None:
    """The config file and time zone, and the doctor's checks of the other programs,
    logged one line each."""
    findings = config_findings(settings, config)
    findings += await diagnose(settings, checks(with_database=False, with_intake_port=False))
    for finding in findings:
        level = {FAIL: logging.ERROR, WARN: logging.WARNING}.get(finding.state, logging.INFO)
        log.log(level, "check %s", finding.line())


def _every_service(services: Sequence[Service]) -> list[Service]:
    """The services, and those a wrapper runs (the leader's pollers, bot/leader.py)."""
    found: list[Service] = []
    for service in services:
        found.append(service)
        found += _every_service(getattr(service, "services", ()))
    return found


async def _reload(served: Served, read: Callable[[], Settings]) -> None:
    old = served.settings
    try:
        new = read()
        report = await sync_directory(served.app.db, new.people, new.companies, declared_rows(
            new.contracts, new.objects, new.equipment))
    except (ConfigError, ValueError) as exc:
        log.error("reload refused, the running configuration stays: config error: %s", exc)
        return
    served.settings = new
    for service in _every_service(served.app.services):
        if isinstance(service, DirectoryListener):
            await service.directory_changed()
    log.info("reloaded the directory: %d people (%d new), %d companies",
             len(new.people), report.people_created, report.companies)
    waiting = [s for s in RESTART_SECTIONS if getattr(new, s) != getattr(old, s)]
    if waiting:
        log.warning("changed in the config but applied only at the next restart: %s",
                    ", ".join(waiting))
