"""F10 metrics on a seeded dataset, SQLite and PostgreSQL: every figure the report gives
equals the one the oracle in tests/support_metrics.py computes from the dataset's plans."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncEngine

from engine import metrics as m
from engine.store.metrics_sql import monthly_report
from tests.support_metrics import (
    SPECIALISTS,
    TZ_NAME,
    Dataset,
    assert_same,
    expected_figures,
    make_dataset,
    metrics_calendar,
    write_dataset,
)

UTC = dt.UTC
NOW = dt.datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
FIRST = dt.datetime(2025, 11, 1, tzinfo=UTC)
DATA = make_dataset(seed=7, tickets=180, dialogs=120, first=FIRST, now=NOW, extra_events=2)


async def _report(engine: AsyncEngine, data: Dataset, period: str,
                  history: int = 6) -> m.Report:
    await write_dataset(engine, data)
    return await monthly_report(engine, m.Period.parse(period), timezone=TZ_NAME,
                                calendar=metrics_calendar(), now=NOW, history=history)


def test_the_dataset_exercises_every_path() -> None:
    """Guards the oracle comparison against a dataset too tame to mean anything."""
    steps = [new for p in DATA.tickets for _, new in p.steps]
    reopened = [p for p in DATA.tickets
                if any(a == "resolved" and b == "open"
                       for (_, a), (_, b) in zip(p.steps, p.steps[1:], strict=False))]
    assert {"waiting", "resolved", "closed", "in_progress", "open"} <= set(steps)
    assert len(reopened) >= 5
    assert any(p.first_response_at is None and p.first_response_due for p in DATA.tickets)
    assert len(DATA.ratings) >= 20


async def test_month_figures_equal_the_oracle(engine: AsyncEngine) -> None:
    report = await _report(engine, DATA, "2026-02")
    expected = expected_figures(DATA, m.Period(2026, 2), NOW)
    assert report.total.second_line.closed > 10 and report.total.first_line.answered > 10
    assert_same(report.total, expected)


async def test_each_specialist_equals_the_oracle(engine: AsyncEngine) -> None:
    report = await _report(engine, DATA, "2026-02")
    assert [s.person_id for s in report.specialists] == list(SPECIALISTS)
    assert [s.name for s in report.specialists] == [f"Specialist {p}" for p in SPECIALISTS]
    for person in report.specialists:
        expected = expected_figures(DATA, m.Period(2026, 2), NOW, person.person_id)
        assert_same(person.figures, expected, f"specialist {person.person_id}")


async def test_history_is_the_six_months_ending_with_the_period(engine: AsyncEngine) -> None:
    report = await _report(engine, DATA, "2026-03")
    assert [str(h.period) for h in report.history] == [
        "2025-10", "2025-11", "2025-12", "2026-01", "2026-02", "2026-03"]
    for month in report.history:
        assert_same(month.figures, expected_figures(DATA, month.period, NOW), str(month.period))
    assert report.history[0].figures == m.Figures()  # before the first ticket: all zero


async def test_current_month_counts_only_outcomes_already_known(engine: AsyncEngine) -> None:
    """March is running (now = 20th): a due time after now is neither met nor breached."""
    report = await _report(engine, DATA, "2026-03", history=1)
    assert_same(report.total, expected_figures(DATA, m.Period(2026, 3), NOW))
    pending = [p for p in DATA.tickets if p.resolution_due and p.resolution_due > NOW
               and (p.resolved_at is None or p.resolved_at > p.resolution_due)]
    assert pending  # the dataset has such tickets, and the oracle leaves them out


async def test_business_time_is_less_than_calendar_time_over_nights(engine: AsyncEngine) -> None:
    report = await _report(engine, DATA, "2026-02", history=1)
    resolution = report.total.second_line.resolution
    assert resolution.business.mean is not None and resolution.calendar.mean is not None
    assert resolution.business.mean < resolution.calendar.mean / 2


async def test_empty_database_gives_zero_figures(engine: AsyncEngine) -> None:
    report = await _report(engine, Dataset((), (), ()), "2026-02", history=2)
    assert report.total == m.Figures() and report.specialists == ()
    assert report.total.second_line.first_response_sla.percent is None
