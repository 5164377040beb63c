"""Deadlines of a ticket from its policy, its times and its status history, on known dates."""

from __future__ import annotations

import datetime as dt

from engine.model import Status
from engine.sla.deadlines import (
    StatusChange,
    compute_dues,
    frozen_at,
    next_response_due,
    pauses_from,
)
from tests.support_sla import BER, BERLIN, BERLIN_24_7, msk, policy

UTC = dt.UTC


def test_working_saturday_2025_11_01_counts() -> None:
    dues = compute_dues(policy(resolution=480), msk(2025, 10, 31, 16), None, None, [],
                        msk(2025, 10, 31, 16))
    assert dues.resolution == msk(2025, 11, 1, 15)


def test_transferred_day_off_2026_01_09_does_not_count() -> None:
    # Thu 2026-01-08 is a holiday and Fri 01-09 the transferred day off: next is Mon 01-12.
    created = msk(2026, 1, 8, 12)
    dues = compute_dues(policy(first=60), created, None, None, [], created)
    assert dues.first_response == msk(2026, 1, 12, 10)


def test_dst_change_outside_russia_on_working_days() -> None:
    # Berlin springs forward on Sun 2026-03-29: Friday's 1 h plus Monday's 2 h, in CEST.
    created = dt.datetime(2026, 3, 27, 16, tzinfo=BER)
    dues = compute_dues(policy(resolution=180, cal=BERLIN), created, None, None, [], created)
    assert dues.resolution == dt.datetime(2026, 3, 30, 11, tzinfo=BER)
    assert dues.resolution is not None and dues.resolution.utcoffset() == dt.timedelta(0)
    assert dues.resolution == dt.datetime(2026, 3, 30, 9, tzinfo=UTC)


def test_dst_change_inside_round_the_clock_hours_counts_real_minutes() -> None:
    # 4 real hours from 23:00 CET cross the missing hour: 04:00 CEST on the wall.
    created = dt.datetime(2026, 3, 28, 23, tzinfo=BER)
    dues = compute_dues(policy(first=240, cal=BERLIN_24_7), created, None, None, [], created)
    assert dues.first_response == dt.datetime(2026, 3, 29, 4, tzinfo=BER)


def test_start_outside_hours_starts_the_clock_at_the_next_working_minute() -> None:
    created = msk(2026, 11, 21, 22)  # Saturday night
    dues = compute_dues(policy(first=60, resolution=540), created, None, None, [], created)
    assert (dues.first_response, dues.resolution) == (msk(2026, 11, 23, 10),
                                                      msk(2026, 11, 23, 18))


def test_pause_across_a_weekend_pushes_only_by_business_time_used() -> None:
    created = msk(2026, 11, 20, 10)  # Friday
    changes = [StatusChange(msk(2026, 11, 20, 15), Status.WAITING),
               StatusChange(msk(2026, 11, 23, 12), Status.OPEN)]
    pauses = pauses_from(changes)
    dues = compute_dues(policy(resolution=540), created, None, None, pauses,
                        msk(2026, 11, 23, 12))
    # 5 h ran on Friday; 4 h remain from Monday 12:00 (not from 09:00).
    assert dues.resolution == msk(2026, 11, 23, 16)


def test_open_pause_leaves_no_deadline_until_the_ticket_resumes() -> None:
    created = msk(2026, 11, 23, 10)
    pauses = pauses_from([StatusChange(msk(2026, 11, 23, 11), Status.WAITING)])
    dues = compute_dues(policy(), created, None, None, pauses, msk(2026, 11, 24, 10))
    assert dues == type(dues)(first_response=msk(2026, 11, 23, 11), resolution=None)


def test_met_first_response_is_frozen_against_later_pauses() -> None:
    created = msk(2026, 11, 23, 10)
    pauses = pauses_from([StatusChange(msk(2026, 11, 23, 10, 30), Status.WAITING)])
    dues = compute_dues(policy(first=60), created, msk(2026, 11, 23, 10, 20), None, pauses,
                        msk(2026, 11, 25, 10))
    assert dues.first_response == msk(2026, 11, 23, 11)


def test_resolved_time_is_not_charged_after_a_reopen() -> None:
    created = msk(2026, 11, 23, 9)
    changes = [StatusChange(msk(2026, 11, 23, 12), Status.RESOLVED),
               StatusChange(msk(2026, 11, 24, 12), Status.OPEN)]
    dues = compute_dues(policy(resolution=540), created, msk(2026, 11, 23, 10), None,
                        pauses_from(changes), msk(2026, 11, 24, 12))
    assert dues.resolution == msk(2026, 11, 24, 18)


def test_resolution_is_frozen_when_resolved() -> None:
    created = msk(2026, 11, 23, 9)
    changes = [StatusChange(msk(2026, 11, 23, 12), Status.RESOLVED)]
    dues = compute_dues(policy(first=60, resolution=540), created, None,
                        msk(2026, 11, 23, 12), pauses_from(changes), msk(2026, 12, 1, 9))
    # Resolved without a public answer: both clocks stop at the resolution.
    assert (dues.first_response, dues.resolution) == (msk(2026, 11, 23, 10),
                                                      msk(2026, 11, 23, 18))


def test_pauses_from_history_pairs_stops_and_resumes() -> None:
    a, b, c, d = (msk(2026, 11, 23, h) for h in (10, 11, 12, 13))
    changes = [StatusChange(a, Status.IN_PROGRESS), StatusChange(b, Status.WAITING),
               StatusChange(c, Status.RESOLVED), StatusChange(c, Status.OPEN),
               StatusChange(d, Status.WAITING)]
    assert pauses_from(changes) == [(b, c), (d, None)]


def test_a_resume_stamped_before_its_pause_makes_an_empty_pause() -> None:
    a, b = msk(2026, 11, 23, 12), msk(2026, 11, 23, 11)
    assert pauses_from([StatusChange(a, Status.WAITING), StatusChange(b, Status.OPEN)]) == [(a, a)]


def test_frozen_at_drops_later_pauses_and_closes_the_open_one() -> None:
    a, b, c = msk(2026, 11, 23, 10), msk(2026, 11, 23, 11), msk(2026, 11, 23, 12)
    assert frozen_at([(a, None), (c, None)], b) == [(a, b)]


def test_next_response_target_runs_from_the_clients_message() -> None:
    wrote = msk(2026, 11, 23, 17, 30)
    assert next_response_due(policy(next_response_minutes=60), wrote, [], wrote) == msk(
        2026, 11, 24, 9, 30)
    assert next_response_due(policy(), wrote, [], wrote) is None
