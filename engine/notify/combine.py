"""One action, one message per person and channel: what a command's events tell the same
person on the same channel goes into the row its first notice made.

`/close N text` used to send the requester an answer, "resolved" and "closed" one after
another; now it is the answer, with the new status under it. The row keeps the kind that
says the most (an answer before a note before a status change before the rest) and lists
what else it says in `payload["also"]`, which the renderers add below the main text."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from engine.notify import grace
from engine.notify.kinds import NoticeKind as K
from engine.ports import OutboxItem

_RANK = {K.COMMENT: 0, K.NOTE: 1, K.STATUS: 2}
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
    payload = {k: v for k, v in main.payload.items() if k != "also"}
    if also:
        payload["also"] = also
    return replace(earlier, kind=main.kind, payload=payload,
                   not_before=grace.later(earlier.not_before, later.not_before),
                   cause=earlier.cause or later.cause)


def _last_status(also: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Resolved, then closed: only where the status ended."""
    statuses = [i for i, x in enumerate(also) if x.get("kind") == K.STATUS.value]
    return [x for i, x in enumerate(also) if i not in statuses[:-1]]


def _also(item: OutboxItem) -> list[dict[str, Any]]:
    found = item.payload.get("also")
    return list(found) if isinstance(found, list) else []


def _entry(item: OutboxItem) -> dict[str, Any]:
    return {"kind": item.kind.value, **{k: v for k, v in item.payload.items() if k != "also"}}
