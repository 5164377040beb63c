"""engine/ratings.py without a database: signed vote tokens, digit replies, and
the survey planning rules (who is asked, the cooldown)."""

from __future__ import annotations

import datetime as dt

import pytest

from engine import ratings as r
from engine.model import Person, Role, Status, Ticket
from engine.ports import UnitOfWork

UTC = dt.UTC
SECRET = b"k" * 32
RESOLVED = dt.datetime(2026, 2, 3, 10, 0, tzinfo=UTC)
CLIENT = Person(id=10, name="Kate", role=Role.CLIENT, telegram_id=510)


def test_a_token_round_trips_and_fits_telegram_callback_data() -> None:
    token = r.vote_token(SECRET, 123456, RESOLVED, 5)
    assert len(token.encode()) <= 64
    assert r.read_vote(SECRET, token) == r.Vote(123456, RESOLVED, 5)
    assert r.read_vote(SECRET, f"Re: Rating [#123456] {token}") == r.Vote(123456, RESOLVED, 5)


def test_a_changed_score_or_ticket_or_another_secret_is_refused() -> None:
    token = r.vote_token(SECRET, 12, RESOLVED, 1)
    prefix, ticket, epoch, score, sig = token.split(".")
    assert r.read_vote(SECRET, ".".join((prefix, ticket, epoch, "5", sig))) is None
    assert r.read_vote(SECRET, ".".join((prefix, "13", epoch, score, sig))) is None
    assert r.read_vote(b"other", token) is None
    assert r.read_vote(SECRET, "no token here") is None


@pytest.mark.parametrize(("text", "score"), [
    ("5", 5), ("  4!\n\n> quoted", 4), ("3 ★", 3), ("\n\n1.", 1), ("2)", 2),
    ("6", None), ("0", None), ("5 stars, great", None), ("It was 5", None), ("", None),
])
def test_a_digit_reply(text: str, score: int | None) -> None:
    assert r.parse_score(text, 5) == score


def _ticket(resolved: dt.datetime | None = RESOLVED) -> Ticket:
    return Ticket(number=7, subject="Printer", description="-", status=Status.RESOLVED,
                  created_at=RESOLVED - dt.timedelta(days=1), updated_at=RESOLVED,
                  channel="telegram", requester_id=CLIENT.id, resolved_at=resolved)


def test_plan_survey_is_due_after_the_delay() -> None:
    survey = r.plan_survey(r.RatingSettings(delay_minutes=30), _ticket(), CLIENT, 1, None)
    assert survey == r.Survey(7, RESOLVED, CLIENT.id, RESOLVED + dt.timedelta(minutes=30),
                              r.survey_key(7, RESOLVED))


def test_cooldown_boundary_allows_exactly_the_configured_gap() -> None:
    settings = r.RatingSettings(delay_minutes=0, cooldown_days=3)
    just = RESOLVED - dt.timedelta(days=3)
    assert r.plan_survey(settings, _ticket(), CLIENT, 1, just) is not None
    assert r.plan_survey(settings, _ticket(), CLIENT, 1, just + dt.timedelta(seconds=1)) is None


@pytest.mark.parametrize("requester", [None, Person(id=10, name="S", role=Role.SPECIALIST)])
def test_nobody_or_staff_is_not_surveyed(requester: Person | None) -> None:
    assert r.plan_survey(r.RatingSettings(), _ticket(), requester, 1, None) is None


def test_a_requester_who_resolved_it_themselves_is_not_asked() -> None:
    assert r.plan_survey(r.RatingSettings(), _ticket(), CLIENT, CLIENT.id, None) is None


def _unused_log(uow: UnitOfWork) -> r.SurveyLog:
    raise AssertionError("a disabled survey never reads the log")


def test_disabled_ratings_have_no_reactor() -> None:
    assert r.rating_reactors(r.RatingSettings(enabled=False), SECRET, _unused_log) == []


def test_unreachable_requester_gets_no_survey_row() -> None:
    silent = Person(id=10, name="Kate", role=Role.CLIENT, notify_via="none", telegram_id=510)
    survey = r.plan_survey(r.RatingSettings(), _ticket(), silent, 1, None)
    assert survey is not None
    assert r.survey_item(r.RatingSettings(), SECRET, survey, _ticket(), silent) is None
