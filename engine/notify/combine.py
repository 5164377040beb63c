"""One action, one message per person and channel: what a command's events tell the same
person on the same channel goes into the row its first notice made.

`/close N text` used to send the requester an answer, "resolved" and "closed" one after
another; now it is the answer, with the new status under it. The row keeps the kind that
says the most (an answer before a note before a status change before the rest) and lists
what else it says in `payload["also"]`, which the renderers add below the main text.
With no rating delay, the rating request joins that row too (`payload["rating"]`, the
survey's own payload), under the answer it asks about: one message, never the question
first."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from engine.notify import grace
from engine.notify.kinds import NoticeKind as K
from engine.ports import OutboxItem

RATING = "rating"  # the payload key of a rating request folded into the row
# A merge notice (F17) says more than the closing that comes with it.
_RANK = {K.COMMENT: 0, K.NOTE: 1, K.MERGED: 2, K.STATUS: 3}
_LAST = len(_RANK)


def combine(earlier: OutboxItem, later: OutboxItem) -> OutboxItem:
    """`earlier` (a row already queued) saying `later` too; its key stays."""
    if earlier.kind is K.STATUS and later.kind is K.STATUS:
        main, other = later, None  # resolved then closed: where it ended is what counts
        also = _also(earlier)
    elif _RANK.get(later.kind, _LAST) < _RANK.get(earlier.kind, _LAST):
        main, other = later, earlier
        also = _also(later)
    else:
        main, other = earlier, later
        also = _also(earlier)
    if other is not None:
        also = [*also, _entry(other), *_also(other)]
    if main.kind is K.STATUS:
        also = [x for x in also if x.get("kind") != K.STATUS.value]
    also = _last_status(also)
    payload = {k: v for k, v in main.payload.items() if k not in ("also", RATING)}
    if also:
        payload["also"] = also
    rating = earlier.payload.get(RATING) or later.payload.get(RATING)
    if rating:
        payload[RATING] = rating
    return replace(earlier, kind=main.kind, payload=payload,
                   not_before=grace.later(earlier.not_before, later.not_before),
                   cause=earlier.cause or later.cause)


def with_rating(row: OutboxItem, survey: dict[str, Any]) -> OutboxItem:
    """`row` asking for the rating too (`survey`: the rating request's payload)."""
    return replace(row, payload={**row.payload, RATING: survey})


def without_answer(row: OutboxItem) -> OutboxItem | None:
    """What a withdrawn answer's row said besides the answer: the status the same command
    set (and the rating request folded in), as a row of its own; None when nothing else.
    The client still learns where the ticket went, only not the words taken back."""
    if row.kind is not K.COMMENT:
        return None
    statuses = [x for x in _also(row) if x.get("kind") == K.STATUS.value]
    if not statuses:
        return None
    payload = {k: v for k, v in statuses[-1].items() if k != "kind"}
    if RATING in row.payload:
        payload[RATING] = row.payload[RATING]
    return replace(row, key=f"{row.key}:status", kind=K.STATUS, payload=payload,
                   not_before=None, cause=None)


def _last_status(also: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Resolved, then closed: only where the status ended."""
    statuses = [i for i, x in enumerate(also) if x.get("kind") == K.STATUS.value]
    return [x for i, x in enumerate(also) if i not in statuses[:-1]]


def _also(item: OutboxItem) -> list[dict[str, Any]]:
    found = item.payload.get("also")
    return list(found) if isinstance(found, list) else []


def _entry(item: OutboxItem) -> dict[str, Any]:
    return {"kind": item.kind.value, **{k: v for k, v in item.payload.items() if k != "also"}}
