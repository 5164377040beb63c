"""engine/metrics.py without a database: months in a time zone, the summaries against the
standard library, and how a resolved ticket's time divides between client and specialist."""

from __future__ import annotations

import datetime as dt
import random
import statistics
from zoneinfo import ZoneInfo

import pytest

from engine import metrics as m

UTC = dt.UTC
MSK = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")


def test_period_parses_prints_and_refuses_non_months() -> None:
    assert str(m.Period.parse(" 2026-02 ")) == "2026-02"
    for bad in ("2026-13", "2026-2", "26-02", "2026/02", ""):
        with pytest.raises(ValueError, match="YYYY-MM"):
            m.Period.parse(bad)


def test_period_bounds_are_local_midnights() -> None:
    feb = m.Period(2026, 2)
    assert feb.start(MSK) == dt.datetime(2026, 1, 31, 21, 0, tzinfo=UTC)
    assert feb.end(MSK) == dt.datetime(2026, 2, 28, 21, 0, tzinfo=UTC)
    # Berlin moves to summer time on 29 March: April starts at 22:00 UTC, March at 23:00.
    march = m.Period(2026, 3)
    assert march.start(BERLIN) == dt.datetime(2026, 2, 28, 23, 0, tzinfo=UTC)
    assert march.end(BERLIN) == dt.datetime(2026, 3, 31, 22, 0, tzinfo=UTC)


def test_period_arithmetic_crosses_years() -> None:
    assert m.Period(2026, 1).shift(-1) == m.Period(2025, 12)
    assert m.Period(2025, 12).shift(1) == m.Period(2026, 1)
    assert [str(p) for p in m.Period(2026, 2).back(4)] == [
        "2025-11", "2025-12", "2026-01", "2026-02"]
    late = dt.datetime(2026, 1, 31, 22, 0, tzinfo=UTC)  # already February in Moscow
    assert m.Period.containing(late, MSK) == m.Period(2026, 2)


@pytest.mark.parametrize("size", [1, 2, 3, 10, 101])
def test_summaries_match_the_standard_library(size: int) -> None:
    rng = random.Random(size)
    values = [rng.uniform(0, 10_000) for _ in range(size)]
    got = m.summarize(values)
    assert got.count == size
    assert got.mean == pytest.approx(statistics.fmean(values))
    assert got.median == pytest.approx(statistics.median(values))
    p90 = values[0] if size == 1 else statistics.quantiles(values, n=10, method="inclusive")[8]
    assert got.p90 == pytest.approx(p90)


def test_summary_of_nothing_is_empty() -> None:
    assert m.summarize([]) == m.Durations()
    assert m.Share().percent is None and m.Share(1, 4).percent == 25.0


def _at(hour: int) -> dt.datetime:
    return dt.datetime(2026, 2, 2, hour, tzinfo=UTC)


def test_split_ticket_divides_time_and_clips_pauses_to_its_life() -> None:
    row = m.ResolvedRow(number=1, responsible_id=None, created_at=_at(1), resolved_at=_at(11))
    pauses = [m.PauseRow(1, "waiting", _at(2), _at(4)),
              m.PauseRow(1, "resolved", _at(5), _at(6)),  # resolved, then reopened
              m.PauseRow(1, "waiting", _at(10), _at(13))]  # clipped at the resolution
    split = m.split_ticket(row, pauses, m.calendar_seconds)
    assert (split.total, split.on_client, split.on_specialist) == (36000, 3 * 3600, 6 * 3600)


def test_counts_add_field_by_field() -> None:
    total = m.Counts(opened=1, fr_met=1, fr_total=2) + m.Counts(opened=2, rating_sum=5,
                                                                 rating_count=1)
    assert total == m.Counts(opened=3, fr_met=1, fr_total=2, rating_sum=5, rating_count=1)


def test_specialist_figures_keep_to_their_own_rows() -> None:
    rows = m.MonthRows(
        dialogs=(m.DialogRow(1, _at(1), _at(2), 3600), m.DialogRow(2, _at(1), _at(3), 7200),
                 m.DialogRow(None, _at(1), None, None)),
        resolved=(m.ResolvedRow(5, 2, _at(0), _at(4)),), pauses=(),
        counts={2: m.Counts(opened=1, closed=1), None: m.Counts(opened=4)})
    assert m.people_in(rows) == [1, 2]
    everyone = m.figures(rows, m.calendar_seconds)
    assert (everyone.first_line.dialogs, everyone.first_line.answered) == (3, 2)
    assert everyone.second_line.opened == 5
    second = m.figures_of(rows, 2, m.calendar_seconds)
    assert second.first_line.response.calendar.mean == 7200
    assert second.second_line.resolution.calendar.mean == 4 * 3600
    assert m.figures_of(rows, 1, m.calendar_seconds).second_line.closed == 0
