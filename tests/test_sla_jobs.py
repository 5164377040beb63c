"""The scheduler and its jobs: declared with the right triggers and limits, and each job body
doing its work against a real database on an injected clock (nothing waits for a timer)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot import bootstrap as boot
from bot.jobs import (
    JOB_DEFAULTS,
    Job,
    SchedulerService,
    job_services,
    ladder_of,
    sla_reactors,
)
from bot.runtime import App
from config.settings import Settings, TelegramConfig, from_mapping, machine_timezone
from engine import commands as c
from engine.model import Status
from tests.fakes import FixedClock
from tests.support_sla import alert_rows, msk, open_ticket, sla_outbox, sql_people


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(msk(2026, 11, 23, 9))


async def runtime_for(settings: Settings, clock: FixedClock, path: Path) -> App:
    url = f"sqlite+aiosqlite:///{path / 'jobs.db'}"
    return await boot.bootstrap(replace(settings, database_url=url), clock=clock, secret=b"test")


@pytest.fixture
async def rt(clock: FixedClock, tmp_path: Path) -> AsyncIterator[App]:
    runtime = await runtime_for(Settings(), clock, tmp_path)
    yield runtime
    await runtime.close()


def job_of(services: list[Any], job_id: str) -> Job:
    [service] = services
    assert isinstance(service, SchedulerService)
    return service.jobs[job_id]


def test_jobs_and_their_intervals(rt: App) -> None:
    services = job_services(rt, boot.jobs())
    intervals = {job_id: job_of(services, job_id).trigger.interval.total_seconds()
                 for job_id in ("return_due_waiting", "sla_scan")}
    assert intervals == {"return_due_waiting": 60, "sla_scan": 30}
    assert JOB_DEFAULTS == {"coalesce": True, "max_instances": 1, "misfire_grace_time": 30}


async def test_scheduler_starts_with_every_job_once_and_stops(rt: App) -> None:
    [service] = job_services(rt, boot.jobs())
    assert isinstance(service, SchedulerService)
    await service.start()
    try:
        jobs = {job.id: job for job in service.scheduler.get_jobs()}
        assert set(jobs) == {"return_due_waiting", "sla_scan", "outbox_set_aside"}
        assert all(j.coalesce and j.max_instances == 1 for j in jobs.values())
        # The service's zone, by default this machine's (config/settings.py).
        assert service.scheduler.timezone.key == machine_timezone()
    finally:
        await service.stop()
    assert not service.scheduler.running


async def test_sla_switched_off_leaves_only_the_waiting_job(clock: FixedClock,
                                                            tmp_path: Path) -> None:
    settings = from_mapping({"sla": {"enabled": False}}, {})
    runtime = await runtime_for(settings, clock, tmp_path)
    try:
        [service] = job_services(runtime, boot.jobs())
        assert isinstance(service, SchedulerService)
        assert set(service.jobs) == {"return_due_waiting", "outbox_set_aside"}
        assert sla_reactors(settings) == []
    finally:
        await runtime.close()


async def test_waiting_job_returns_due_tickets_to_open(rt: App, clock: FixedClock) -> None:
    ids = await sql_people(rt.db)
    number = await open_ticket(rt.bus, actor=ids["client"])
    await rt.bus.handle(c.SetStatus(actor=ids["lead"], channel="cli", ticket=number,
                                    status=Status.WAITING, until=msk(2026, 11, 23, 12)))
    run = job_of(job_services(rt, boot.jobs()), "return_due_waiting").run
    clock.current = msk(2026, 11, 23, 11, 59)
    await run()
    assert await status_of(rt, number) is Status.WAITING
    clock.current = msk(2026, 11, 23, 12)
    await run()
    assert await status_of(rt, number) is Status.OPEN


async def status_of(rt: App, number: int) -> Status:
    async with rt.uow() as uow:
        ticket = await uow.tickets.get(number)
    assert ticket is not None
    return ticket.status


async def test_scan_job_alerts_on_the_runtime_clock(rt: App, clock: FixedClock) -> None:
    ids = await sql_people(rt.db)
    number = await open_ticket(rt.bus, actor=ids["client"], priority="high")
    run = job_of(job_services(rt, boot.jobs()), "sla_scan").run
    clock.current = msk(2026, 11, 23, 9, 44)  # high: first response in 60 min, warn at 75 %
    await run()
    assert await alert_rows(rt.db) == []
    clock.current = msk(2026, 11, 23, 9, 45)
    await run()
    await run()
    assert await alert_rows(rt.db) == [(number, "warn", "first_response")]
    # No staff chat configured: the (unassigned) warning goes to the lead by Telegram.
    assert [(k, ch, r) for k, ch, r, _ in await sla_outbox(rt.db)] == [
        ("sla_warning", "telegram", "101")]


def test_staff_chat_is_used_only_when_the_bot_can_post() -> None:
    chat = TelegramConfig(staff_chat_id=-100500)
    without_token = Settings(telegram=chat)
    with_token = Settings(telegram=TelegramConfig(token="1:x", staff_chat_id=-100500))
    config = Settings().sla
    assert ladder_of(without_token, config).staff_chat is None
    assert ladder_of(with_token, config).staff_chat == "-100500"


def test_bootstrap_lists_every_job_explicitly() -> None:
    assert [spec.id for spec in boot.jobs()] == ["return_due_waiting", "sla_scan", "metrics_digest",
                                                "outbox_set_aside"]



async def test_an_alert_waits_for_its_recipients_own_hours(clock: FixedClock,
                                                           tmp_path: Path) -> None:
    """`[sla.staff_calendars]`: the lead works 14:00-23:00, so the 09:45 warning meant for
    them waits until 14:00; the team's hours (09-18) would have sent it at once."""
    late = dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), "14:00-23:00")
    settings = from_mapping({"sla": {
        "calendars": {"office": {"tz": "Europe/Moscow"},
                      "late": {"tz": "Europe/Moscow", "hours": late}},
        "staff_calendars": {"lead@desk.test": "late"}}}, {})
    rt = await runtime_for(settings, clock, tmp_path)
    try:
        ids = await sql_people(rt.db)
        await open_ticket(rt.bus, actor=ids["client"], priority="high")
        run = job_of(job_services(rt, boot.jobs()), "sla_scan").run
        clock.current = msk(2026, 11, 23, 9, 45)
        await run()
        [(kind, _, recipient, not_before)] = await sla_outbox(rt.db)
        assert (kind, recipient) == ("sla_warning", "101")
        assert not_before == msk(2026, 11, 23, 14)
    finally:
        await rt.close()


def test_a_staff_calendar_must_be_declared() -> None:
    from config.reader import ConfigError

    with pytest.raises(ConfigError, match="sla.staff_calendars.sam@x: no calendar named"):
        from_mapping({"sla": {"staff_calendars": {"sam@x": "nights"}}}, {})
