"""Rows of one action for one person: the rating request folded in survives what the same
command says after it, and a withdrawn answer leaves its status (and survey) behind."""

from __future__ import annotations

import datetime as dt

from engine.notify.combine import combine, with_rating, without_answer
from engine.notify.kinds import NoticeKind as K
from engine.ports import OutboxItem

AT = dt.datetime(2026, 11, 23, 10, 0, 30, tzinfo=dt.UTC)
SURVEY = {"ticket": 1, "scale": 5, "choices": [{"score": 5, "token": "rate.1.2.5.ab"}]}


def _row(kind: K, **payload: object) -> OutboxItem:
    return OutboxItem(key="event:7:email:carl@acme.example", channel="email",
                      recipient="carl@acme.example", kind=kind, ticket=1,
                      payload=dict(payload), not_before=AT, cause=7)


def test_the_rating_request_stays_when_the_closing_status_joins() -> None:
    answer = with_rating(combine(_row(K.COMMENT, comment_id=3),
                                 _row(K.STATUS, old="open", new="resolved")), SURVEY)
    closed = combine(answer, _row(K.STATUS, old="resolved", new="closed"))
    assert closed.kind is K.COMMENT
    assert closed.payload["rating"] == SURVEY
    assert [x["new"] for x in closed.payload["also"]] == ["closed"]


def test_a_withdrawn_answer_leaves_where_the_status_ended_and_the_survey() -> None:
    row = with_rating(combine(combine(_row(K.COMMENT, comment_id=3),
                                      _row(K.STATUS, old="open", new="resolved")),
                              _row(K.STATUS, old="resolved", new="closed")), SURVEY)
    left = without_answer(row)
    assert left is not None
    assert (left.kind, left.payload["new"], left.payload["rating"]) == \
        (K.STATUS, "closed", SURVEY)
    assert "comment_id" not in left.payload and "also" not in left.payload
    # Goes at once, no longer tied to the answer /undo took back, under a key of its own.
    assert (left.not_before, left.cause, left.key) == \
        (None, None, "event:7:email:carl@acme.example:status")


def test_a_withdrawn_answer_alone_leaves_nothing() -> None:
    assert without_answer(_row(K.COMMENT, comment_id=3)) is None
    assert without_answer(_row(K.STATUS, new="closed")) is None  # not an answer's row
