"""Timed work: one APScheduler 3.11 AsyncIOScheduler per process, jobs declared in code.

MemoryJobStore on purpose (libraries.md §8): nothing about the schedule needs to survive a
restart, because every job recomputes from the database (due waiting tickets, due SLA
targets). `coalesce` turns a backlog of missed runs into one run and `max_instances=1` skips a
tick while the previous run is still going instead of stacking runs.

Which jobs exist is listed in one place, `bot.bootstrap.jobs()`; this module holds the
scheduler and the SLA and waiting jobs' builders.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

from bot.i18n import t
from bot.runtime import App, Service
from config.settings import Settings
from config.sla import SlaConfig
from engine.bus import Reactor
from engine.commands import ReturnDueWaiting
from engine.sla.calendar import BusinessCalendar
from engine.sla.escalation import Ladder, StaffHours
from engine.sla.reactor import sla_reactor
from engine.store.set_aside import Recipients, report_set_aside
from engine.store.sla_scan import scan_sla

log = logging.getLogger("ticketbot.jobs")

JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 30}
WAITING_SECONDS = 60
SET_ASIDE_SECONDS = 30


@dataclass(frozen=True)
class Job:
    trigger: Any  # an apscheduler trigger (the library ships no type hints)
    run: Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class JobSpec:
    """`build` returns None when the installation has the job switched off."""

    id: str
    build: Callable[[App], Job | None]


def _every(seconds: float) -> Any:
    """An interval trigger. APScheduler is imported where a job is built: the CLI commands,
    which run no scheduler, do not load it."""
    from apscheduler.triggers.interval import IntervalTrigger

    return IntervalTrigger(seconds=seconds)


def return_due_waiting_job(rt: App) -> Job:
    async def run() -> None:
        await rt.bus.handle(ReturnDueWaiting(actor=None, channel="system"))

    return Job(_every(WAITING_SECONDS), run)


def ladder_of(settings: Settings, config: SlaConfig) -> Ladder:
    """Warnings go to the staff chat only when the bot can post there."""
    tg = settings.telegram
    chat = str(tg.staff_chat_id) if tg.token and tg.staff_chat_id is not None else None
    desks = {d.name: str(d.staff_chat_id) for d in settings.engine.desks.desks
             if tg.token and d.staff_chat_id is not None}
    return Ladder(hours=StaffHours(config.staff_calendar), staff_chat=chat,
                  staff_language=settings.language, desk_chats=desks)


async def own_hours(rt: App, config: SlaConfig) -> dict[int, BusinessCalendar]:
    """`[sla.staff_calendars]` by person id (the directory is in the database by now)."""
    found: dict[int, BusinessCalendar] = {}
    async with rt.views.reading() as r:
        for address, calendar in config.person_calendars.items():
            person = await r.people.by_email(address)
            if person is None:
                log.warning("sla.staff_calendars: nobody has the address %s", address)
            else:
                found[person.id] = calendar
    return found


def sla_scan_job(rt: App) -> Job | None:
    config = rt.settings.sla
    if not config.enabled:
        return None
    ladders: list[Ladder] = []

    async def run() -> None:
        if not ladders:  # each person's own hours, looked up once
            base = ladder_of(rt.settings, config)
            ladders.append(replace(base, hours=replace(
                base.hours, by_person=await own_hours(rt, config))))
        ladder = ladders[0]
        report = await scan_sla(rt.db, config.policies, ladder, rt.bus.clock.now(), t)
        if report.warnings or report.breaches:
            log.info("sla scan: %d warnings, %d breaches, %d deliveries", report.warnings,
                     report.breaches, report.deliveries)

    return Job(_every(config.scan_seconds), run)


def set_aside_job(rt: App) -> Job:
    """Staff hear of each delivery given up (engine/store/set_aside.py)."""
    tg = rt.settings.telegram
    chat = str(tg.staff_chat_id) if tg.token and tg.staff_chat_id is not None else None
    to = Recipients(chat, rt.settings.language)

    async def run() -> None:
        await report_set_aside(rt.db, to, rt.bus.clock)

    return Job(_every(SET_ASIDE_SECONDS), run)


class SchedulerService:
    name = "scheduler"

    def __init__(self, jobs: dict[str, Job], timezone: ZoneInfo) -> None:
        self.jobs = jobs
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        self.scheduler = AsyncIOScheduler(timezone=timezone, job_defaults=JOB_DEFAULTS)

    async def start(self) -> None:
        for job_id, job in self.jobs.items():
            self.scheduler.add_job(job.run, job.trigger, id=job_id, name=job_id,
                                   replace_existing=True)
        self.scheduler.start()
        log.info("scheduled jobs: %s", ", ".join(self.jobs))

    async def stop(self) -> None:
        if self.scheduler.running:
            # wait=False cancels a run in flight; each job is one transaction, so a
            # cancelled run changes nothing and the next process redoes it.
            self.scheduler.shutdown(wait=False)
            # AsyncIOScheduler shuts down in a callback on the loop; one turn of the loop
            # runs it, so the scheduler is stopped when stop() returns.
            await asyncio.sleep(0)


def job_services(rt: App, specs: Sequence[JobSpec]) -> list[Service]:
    """The scheduler with every job the installation has switched on."""
    built = {spec.id: spec.build(rt) for spec in specs}
    jobs = {job_id: job for job_id, job in built.items() if job is not None}
    return [SchedulerService(jobs, ZoneInfo(rt.settings.timezone))] if jobs else []


def sla_reactors(settings: Settings) -> list[Reactor]:
    """The SLA reactor for the bus, after `notify`; none when SLA is switched off."""
    config = settings.sla
    return [sla_reactor(config.policies, config.desk_policies)] if config.enabled else []
