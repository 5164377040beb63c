"""F13: on `resolved` the requester is asked to rate the answer, once per resolution.

The survey is planned by a reactor inside the resolving command's transaction and goes out
through the outbox `delay_minutes` later, so a reopen in between (the requester answering
"it still doesn't work") cancels it before anyone is asked. A cooldown keeps one person
from being surveyed more often than every `cooldown_days`.

Each choice carries a token signed with the service secret: a Telegram button's callback
data, or the subject of a one-click `mailto:` link. A token proves which ticket resolution
and score it stands for; who may use it is checked against the survey's person when the
score is recorded (`engine/store/ratings_sql.record_rating`), so a button pressed by anyone
but the requester is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol
from urllib.parse import quote

from engine import events as e
from engine.bus import Reactor
from engine.commands import RateTicket
from engine.context import Context
from engine.errors import EngineError
from engine.handlers import Handler
from engine.model import Person, Status, Ticket
from engine.notify import grace
from engine.notify.combine import with_rating
from engine.notify.kinds import NoticeKind
from engine.notify.reactor import route
from engine.notify.rules import Notice
from engine.ports import OutboxItem, UnitOfWork

log = logging.getLogger("ticketbot.ratings")

PENDING = "pending"
CANCELLED = "cancelled"
_SIG_HEX = 16  # 64 bits: a guess costs a message per try, and a token names one resolution
_TOKEN = re.compile(r"\brate\.(\d{1,12})\.(\d{1,12})\.(\d{1,2})\.([0-9a-f]{16})\b")
_DIGIT_REPLY = re.compile(r"^\s*(\d{1,2})\s*(?:[*★⭐]+\s*)?(?:[.!)]\s*)?$")


@dataclass(frozen=True)
class RatingSettings:
    """`[sla.ratings]`, read and checked by `config/metrics.py` when the settings load."""

    enabled: bool = True
    delay_minutes: int = 30
    cooldown_days: int = 3
    scale: int = 5
    # Where the one-click mail links send their vote (the support address).
    reply_address: str = "support@localhost"


# --- refusals (explained to people through bot/i18n.py by their codes) ----------------------


@dataclass(eq=False)
class RatingNotRequester(EngineError):
    number: int
    code = "rating_not_requester"


@dataclass(eq=False)
class RatingTwice(EngineError):
    number: int
    code = "rating_twice"


@dataclass(eq=False)
class RatingNoSurvey(EngineError):
    number: int
    code = "rating_no_survey"


@dataclass(eq=False)
class RatingBadScore(EngineError):
    score: int
    scale: int
    code = "rating_bad_score"


# --- tokens --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Vote:
    ticket: int
    resolution_at: dt.datetime
    score: int


def _epoch(at: dt.datetime) -> int:
    return int(at.timestamp())


def _sign(secret: bytes, ticket: int, epoch: int, score: int) -> str:
    msg = f"rate|{ticket}|{epoch}|{score}".encode()
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()[:_SIG_HEX]


def vote_token(secret: bytes, ticket: int, resolution_at: dt.datetime, score: int) -> str:
    """`rate.<ticket>.<resolution epoch>.<score>.<sig>`: under 64 bytes, so it fits a
    Telegram button's callback data, and plain enough for a mail subject."""
    epoch = _epoch(resolution_at)
    return f"rate.{ticket}.{epoch}.{score}.{_sign(secret, ticket, epoch, score)}"


def read_vote(secret: bytes, text: str) -> Vote | None:
    """The first valid token in `text` (callback data, a subject), else None."""
    for match in _TOKEN.finditer(text):
        ticket, epoch, score, sig = (int(match[1]), int(match[2]), int(match[3]), match[4])
        if hmac.compare_digest(sig, _sign(secret, ticket, epoch, score)):
            return Vote(ticket, dt.datetime.fromtimestamp(epoch, dt.UTC), score)
    return None


def parse_score(text: str, scale: int = 5) -> int | None:
    """A mail reply whose first non-empty line is just a digit ("4", "5!", "3 ★")."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    match = _DIGIT_REPLY.match(first)
    if match is None:
        return None
    score = int(match[1])
    return score if 1 <= score <= scale else None


def check_score(score: int, scale: int) -> None:
    if not 1 <= score <= scale:
        raise RatingBadScore(score=score, scale=scale)


# --- planning a survey ---------------------------------------------------------------------


@dataclass(frozen=True)
class Survey:
    ticket: int
    resolution_at: dt.datetime
    person_id: int
    due_at: dt.datetime
    outbox_key: str


@dataclass(frozen=True)
class StoredRating:
    ticket: int
    resolution_at: dt.datetime
    person_id: int
    score: int
    at: dt.datetime


class SurveyLog(Protocol):
    """The surveys asked so far and the votes, on the command's own connection."""

    async def last_due(self, person_id: int) -> dt.datetime | None: ...
    async def add(self, survey: Survey) -> bool: ...
    async def cancel_pending(self, ticket: int, now: dt.datetime) -> list[str]: ...
    async def record(self, ticket: int, person_id: int, score: int, at: dt.datetime,
                     scale: int, resolution_at: dt.datetime | None) -> StoredRating: ...


SurveyLogFactory = Callable[[UnitOfWork], SurveyLog]


def survey_key(ticket: int, resolution_at: dt.datetime) -> str:
    return f"rating:{ticket}:{_epoch(resolution_at)}"


def plan_survey(settings: RatingSettings, ticket: Ticket, requester: Person | None,
                resolver: int | None, last_due: dt.datetime | None) -> Survey | None:
    """The survey for this resolution, or None: nobody to ask, staff asking themselves,
    or the requester was asked within the cooldown."""
    at = ticket.resolved_at
    if at is None or requester is None or requester.role.is_staff or requester.id == resolver:
        return None
    due = at + dt.timedelta(minutes=settings.delay_minutes)
    if last_due is not None and due - last_due < dt.timedelta(days=settings.cooldown_days):
        return None
    return Survey(ticket=ticket.number, resolution_at=at, person_id=requester.id, due_at=due,
                  outbox_key=survey_key(ticket.number, at))


def _choices(settings: RatingSettings, secret: bytes, survey: Survey) -> list[dict[str, Any]]:
    return [{"score": s, "token": vote_token(secret, survey.ticket, survey.resolution_at, s)}
            for s in range(1, settings.scale + 1)]


def _mailto(settings: RatingSettings, ticket: int, token: str) -> str:
    subject = quote(f"Rating [#{ticket}] {token}")
    return f"mailto:{settings.reply_address}?subject={subject}"


def survey_payload(settings: RatingSettings, secret: bytes, survey: Survey, ticket: Ticket,
                   requester: Person, channel: str) -> dict[str, Any]:
    """Everything a channel needs to render the question (texts: `rating.*` in i18n)."""
    choices = _choices(settings, secret, survey)
    payload: dict[str, Any] = {"ticket": ticket.number, "subject": ticket.subject,
                               "resolution_at": survey.resolution_at.isoformat(),
                               "scale": settings.scale, "choices": choices}
    if channel == "telegram":
        payload["only_user"] = requester.telegram_id  # buttons for the requester alone
    else:
        payload["links"] = [{"score": c["score"],
                             "href": _mailto(settings, ticket.number, c["token"])}
                            for c in choices]
    return payload


def survey_item(settings: RatingSettings, secret: bytes, survey: Survey, ticket: Ticket,
                requester: Person) -> OutboxItem | None:
    """The outbox row, routed like every notice to this person; None when unreachable."""
    routes = route(Notice(kind=NoticeKind.RATING_REQUEST, person=requester), ticket)
    if not routes:
        return None
    channel, recipient = routes[0]
    return OutboxItem(key=survey.outbox_key, channel=channel, recipient=recipient,
                      kind=NoticeKind.RATING_REQUEST, ticket=ticket.number, person_id=requester.id,
                      language=requester.language, not_before=survey.due_at,
                      payload=survey_payload(settings, secret, survey, ticket, requester,
                                             channel))


# --- the reactor ---------------------------------------------------------------------------


async def _ask(ctx: Context, settings: RatingSettings, secret: bytes, surveys: SurveyLog,
               event: e.StatusChanged) -> None:
    ticket = await ctx.uow.tickets.get(event.ticket)
    if ticket is None or ticket.requester_id is None:
        return
    requester = await ctx.uow.people.get(ticket.requester_id)
    last = None if requester is None else await surveys.last_due(requester.id)
    survey = plan_survey(settings, ticket, requester, event.actor, last)
    if survey is None or requester is None:
        return
    item = survey_item(settings, secret, survey, ticket, requester)
    if item is not None and await surveys.add(survey):
        if not await _fold(ctx, settings, item):
            # Never before the answer it asks about, which may wait out its grace period.
            await ctx.uow.outbox.enqueue(replace(item, not_before=grace.later(
                item.not_before, grace.held_until(ctx))))
        log.info("#%s rating survey planned for person %s at %s", ticket.number,
                 requester.id, survey.due_at.isoformat())


async def _fold(ctx: Context, settings: RatingSettings, item: OutboxItem) -> bool:
    """With no delay, the request goes in the message this command already sends the
    requester on that channel (the answer, the new status): one message, the question
    under the answer. With a delay it stays a later message of its own."""
    to = (item.channel, item.recipient)
    row = ctx.notified.get(to)
    if settings.delay_minutes > 0 or row is None:
        return False
    folded = with_rating(row, item.payload)
    await ctx.uow.outbox.revise(folded)
    ctx.notified[to] = folded
    return True


async def _cancel(ctx: Context, surveys: SurveyLog, event: e.StatusChanged) -> None:
    cancelled = await surveys.cancel_pending(event.ticket, event.at)
    if cancelled:
        log.info("#%s reopened: %d pending rating survey(s) cancelled", event.ticket,
                 len(cancelled))


def _answer_after(ctx: Context, event: e.Event) -> bool:
    """The command answers the client after this event (`/resolve N text`): the survey is
    queued behind that answer, so it never arrives first, whatever the delay."""
    later = ctx.events[_index(ctx, event) + 1:]
    return any(grace.is_answer(x) for x in later)


def _resolved_before(ctx: Context, event: e.Event) -> e.StatusChanged | None:
    """For the command's last answer: the resolution it carried earlier, if any."""
    if not grace.is_answer(event) or _answer_after(ctx, event):
        return None
    earlier = ctx.events[:_index(ctx, event)]
    return next((x for x in reversed(earlier) if isinstance(x, e.StatusChanged)
                 and x.new == Status.RESOLVED.value), None)


def _index(ctx: Context, event: e.Event) -> int:
    return next(i for i, x in enumerate(ctx.events) if x is event)


def rating_reactors(settings: RatingSettings, secret: bytes,
                    surveys: SurveyLogFactory) -> list[Reactor]:
    """The reactor the lead wires into the bus; `surveys` gives the SQL survey log of a
    unit of work (`engine.store.ratings_sql.survey_log`)."""
    if not settings.enabled:
        return []

    async def react(ctx: Context, event_id: int, event: e.Event) -> None:
        resolved = _resolved_before(ctx, event)
        if resolved is not None:
            await _ask(ctx, settings, secret, surveys(ctx.uow), resolved)
        if not isinstance(event, e.StatusChanged):
            return
        if event.new == Status.RESOLVED.value and not _answer_after(ctx, event):
            await _ask(ctx, settings, secret, surveys(ctx.uow), event)
        elif event.old == Status.RESOLVED.value and event.new == Status.OPEN.value:
            await _cancel(ctx, surveys(ctx.uow), event)

    return [react]


def rate_handler(settings: RatingSettings, surveys: SurveyLogFactory) -> Handler:
    """`RateTicket` for the bus: the vote is stored with a `TicketRated` event in one
    transaction. Refused, changing nothing: a score off the scale, a ticket never surveyed
    (or whose survey a reopen cancelled), anyone but the person asked, a second vote."""

    async def rate(ctx: Context, cmd: RateTicket) -> int:
        if ctx.actor is None:
            raise RatingNotRequester(number=cmd.ticket)
        stored = await surveys(ctx.uow).record(cmd.ticket, ctx.actor.id, cmd.score, ctx.at,
                                               settings.scale, cmd.resolution_at)
        ctx.raise_event(e.TicketRated(ticket=cmd.ticket, actor=ctx.actor.id, at=ctx.at,
                                      channel=cmd.channel, score=stored.score,
                                      resolution_at=stored.resolution_at))
        return cmd.ticket

    return rate
