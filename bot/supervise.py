"""Starting the services so that one channel that cannot start does not take the others
down: its failure is logged as one line (naming the config key when it is the config's
fault) and it is started again in the background with the backoff, while the rest run."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from bot.runtime import Service
from engine.backoff import Backoff

log = logging.getLogger("ticketbot.app")

# A channel that failed to start: again after 5 s, doubling, at most every 5 minutes.
CHANNEL_RESTART = Backoff(first=5, cap=300)


class StartError(RuntimeError):
    """A service cannot start as configured; the message names the key and what to do, in
    one line: `email.listen_port: 127.0.0.1:2525 is in use by another program; ...`."""


def describe(exc: BaseException) -> str:
    """One line for the log: our own start errors as they are, anything else with its type."""
    if isinstance(exc, StartError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class Supervisor:
    def __init__(self, services: Sequence[Service], backoff: Backoff = CHANNEL_RESTART) -> None:
        self.services = tuple(services)
        self.backoff = backoff
        self.running: set[int] = set()      # indexes into `services` of those started
        self.failed: dict[str, str] = {}    # service name -> why it is not running
        self._retries: list[asyncio.Task[None]] = []
        self.changed = asyncio.Condition()  # tests wait on it instead of on time

    async def start(self) -> None:
        for index, service in enumerate(self.services):
            if not await self._try(index, service):
                self._retries.append(asyncio.create_task(
                    self._retry(index, service), name=f"restart {service.name}"))

    async def _try(self, index: int, service: Service) -> bool:
        try:
            await service.start()
        except Exception as exc:  # one channel's failure must not end the others
            why = describe(exc)
            first = service.name not in self.failed
            async with self.changed:
                self.failed[service.name] = why
                self.changed.notify_all()
            (log.error if first else log.warning)(
                "%s did not start: %s (the other channels keep working; retrying)",
                service.name, why)
            return False
        async with self.changed:
            self.running.add(index)
            was_failing = self.failed.pop(service.name, None) is not None
            self.changed.notify_all()
        log.info("started %s%s", service.name, " after all" if was_failing else "")
        return True

    async def _retry(self, index: int, service: Service) -> None:
        failures = 1
        while True:
            await asyncio.sleep(self.backoff.delay(failures))
            if await self._try(index, service):
                return
            failures += 1

    async def stop(self) -> None:
        for task in self._retries:
            task.cancel()
        for task in self._retries:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for index in sorted(self.running, reverse=True):
            service = self.services[index]
            try:
                await service.stop()
            except Exception:  # stop the rest whatever one of them does
                log.exception("stopping %s failed", service.name)
        self.running.clear()
