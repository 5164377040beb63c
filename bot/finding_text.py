"""F17 answers as plain text, the same in chat and mail: `/find` hits, `/queue` views with
SLA time left, the list of canned answers. Channels escape and send them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bot.i18n import status_name, t
from config.settings import Settings
from engine.finding import Hit, Queue, QueueView
from engine.model import Ticket
from engine.sla.status import State, TargetState, duration, target_states


def find_text(lang: str, query: str, hits: Sequence[Hit], prefix: str) -> str:
    if not hits:
        return t(lang, "find.none", query=query)
    rows = [f"{prefix}{h.number} · {status_name(lang, h.status.value)} · {h.subject}\n"
            f"    {h.snippet}" for h in hits]
    return "\n".join([t(lang, "find.title", query=query), *rows])


def queue_text(lang: str, view: QueueView, who: str, queue: Queue, settings: Settings,
               now: dt.datetime) -> str:
    title = t(lang, f"queue.title.{view.value}", name=who)
    if not queue.tickets:
        empty = "tg.queue.empty" if view is QueueView.UNASSIGNED else "queue.empty"
        return f"{title}\n{t(lang, empty)}"
    prefix = settings.engine.ticket_prefix
    rows = [" · ".join(filter(None, (f"{prefix}{x.number}", status_name(lang, x.status.value),
                                     x.subject, sla_left(lang, x, settings, now))))
            for x in queue.tickets]
    more = queue.total - len(queue.tickets)
    tail = [t(lang, "queue.more", more=more, total=queue.total)] if more > 0 else []
    return "\n".join([title, *rows, *tail])


def sla_left(lang: str, ticket: Ticket, settings: Settings, now: dt.datetime) -> str:
    """The most pressing SLA target in business time: the longest overdue, else the one
    with the least time left; "" when no target runs."""
    policy = settings.sla.policies.get(ticket.sla_policy)
    states = target_states(ticket, policy, now)
    state = _pressing(states)
    if state is None:
        paused = any(s.state is State.PAUSED for s in states)
        return t(lang, "queue.sla.paused") if paused else ""
    target = t(lang, f"sla.target.{state.target.value}")
    return t(lang, f"queue.sla.{state.state.value}", time=duration(lang, state.minutes, t),
             target=target)


def _pressing(states: Sequence[TargetState]) -> TargetState | None:
    overdue = [s for s in states if s.state is State.OVERDUE]
    if overdue:
        return max(overdue, key=lambda s: s.minutes)
    running = [s for s in states if s.state is State.LEFT]
    return min(running, key=lambda s: s.minutes) if running else None
