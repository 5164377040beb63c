"""One backoff for every retry: the delays each user of it waits, failure after failure."""

from __future__ import annotations

import pytest

from engine.backoff import IMAP_RECONNECT, OUTBOX_RETRY, TELEGRAM_POLL, Backoff


def _delays(backoff: Backoff, n: int) -> list[float]:
    return [backoff.delay(failures) for failures in range(1, n + 1)]


def test_telegram_polls_again_after_half_a_second_doubling_to_half_a_minute() -> None:
    assert _delays(TELEGRAM_POLL, 8) == [0.5, 1, 2, 4, 8, 16, 30, 30]


def test_imap_reconnects_after_a_second_never_at_once_and_waits_five_seconds_at_most() -> None:
    assert _delays(IMAP_RECONNECT, 6) == [1, 2, 4, 5, 5, 5]
    assert IMAP_RECONNECT.delay(0) == 1 and IMAP_RECONNECT.delay(10_000) == 5


def test_the_outbox_retries_after_30_seconds_doubling_to_an_hour() -> None:
    assert _delays(OUTBOX_RETRY, 9) == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_no_failure_yet_counts_as_the_first_and_a_long_outage_stays_at_the_cap() -> None:
    assert TELEGRAM_POLL.delay(0) == 0.5
    assert OUTBOX_RETRY.delay(10_000) == 3600


@pytest.mark.parametrize(("first", "cap", "factor"), [(-1, 1, 2), (2, 1, 2), (1, 2, 0.5)])
def test_a_backoff_that_would_shrink_or_go_negative_is_refused(first: float, cap: float,
                                                              factor: float) -> None:
    with pytest.raises(ValueError, match="bad backoff"):
        Backoff(first=first, cap=cap, factor=factor)
