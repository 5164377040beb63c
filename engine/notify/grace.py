"""The grace period of a public answer (`EngineSettings.answer_grace_seconds`).

A specialist's public answer does not leave at once: its outbox rows wait, tied to the
answer's event (`OutboxItem.cause`), so `/undo` can give them up before anyone reads them.
Whatever else the same command tells people (the status it set, the rating request after
it) waits as long, so nothing arrives before the answer it belongs to.
"""

from __future__ import annotations

import datetime as dt

from engine import events as e
from engine.context import Context


def is_answer(event: e.Event) -> bool:
    """A person on the staff answering the client (not the service, not a client)."""
    return (isinstance(event, e.CommentAdded) and event.public and event.by_staff
            and event.actor is not None)


def held_until(ctx: Context) -> dt.datetime | None:
    """When the messages of this command may go, if it carries an answer to hold back."""
    seconds = ctx.settings.answer_grace_seconds
    if seconds <= 0 or not any(is_answer(event) for event in ctx.events):
        return None
    return ctx.clock.now() + dt.timedelta(seconds=seconds)


def cause(event_id: int, event: e.Event, until: dt.datetime | None) -> int | None:
    """The event an outbox row is withdrawn with: the answer's own rows only."""
    return event_id if until is not None and is_answer(event) else None


def later(first: dt.datetime | None, second: dt.datetime | None) -> dt.datetime | None:
    if first is None or second is None:
        return first or second
    return max(first, second)
