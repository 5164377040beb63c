"""F17 `/merge N M`: ticket M joins ticket N and is closed as merged.

M's comments (with their files), observers, Cc addresses and every message id the desk
knows for it (mail Message-IDs, chat message refs) become N's, so a later mail or chat reply
to anything of M threads into N; M's number itself becomes a ref of N (`merged_ref`), which
threading follows for a subject tag or `#M`. Staff only, and only on tickets the actor may
change (a specialist: theirs or nobody's). M's client(s) are told once: the merge notice
and M's closing go out as one message per person and channel (engine/notify/combine.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from engine import errors
from engine import events as e
from engine.access import Action
from engine.commands import MergeTickets
from engine.context import Context
from engine.handlers import Handler
from engine.model import Status, Ticket
from engine.ports import UnitOfWork

MERGED_PREFIX = "merged:#"


def merged_ref(number: int) -> str:
    """The ref under which a merged ticket's number points at the ticket it joined."""
    return f"{MERGED_PREFIX}{number}"


class MergeStore(Protocol):
    async def move(self, source: int, target: int) -> None:
        """The comments of `source`, their files and search rows, and every message ref of
        `source` now belong to `target`; in the command's transaction."""
        ...


MergeStoreFactory = Callable[[UnitOfWork], MergeStore]


def merge_handler(stores: MergeStoreFactory) -> Handler:
    """The `MergeTickets` handler, on this store (the bootstrap binds the SQL one)."""

    async def merge_tickets(ctx: Context, cmd: MergeTickets) -> int:
        target, source = await _checked(ctx, cmd.ticket, cmd.source)
        await stores(ctx.uow).move(source.number, target.number)
        await ctx.uow.refs.add(merged_ref(source.number), target.number, "in")
        _join(target, source)
        target.updated_at = ctx.at
        await ctx.uow.tickets.save(target)
        old = _close(ctx, source)
        await ctx.uow.tickets.save(source)
        for number in (target.number, source.number):
            ctx.raise_event(e.TicketMerged(ticket=number, actor=ctx.actor_id, at=ctx.at,
                                           channel=cmd.channel, source=source.number,
                                           target=target.number))
        ctx.raise_event(e.StatusChanged(ticket=source.number, actor=ctx.actor_id, at=ctx.at,
                                        channel=cmd.channel, old=old.value,
                                        new=Status.CLOSED.value))
        return target.number

    return merge_tickets


async def _checked(ctx: Context, number: int, other: int) -> tuple[Ticket, Ticket]:
    if ctx.actor is not None and not ctx.actor.role.is_staff:
        raise errors.NotAllowed(action=Action.MERGE.value, role=ctx.actor.role.value)
    if number == other:
        raise errors.MergeIntoItself(number=number)
    target = await ctx.ticket(number, Action.MERGE)
    source = await ctx.ticket(other, Action.MERGE)
    if target.status is Status.CLOSED:
        raise errors.MergeTargetClosed(number=number)
    if source.status is Status.CLOSED:
        raise errors.MergeSourceClosed(number=other, target=number)
    return target, source


def _join(target: Ticket, source: Ticket) -> None:
    """M's people follow it: its observers, and its requester when N has another one."""
    joined = set(source.observers)
    if source.requester_id is not None and source.requester_id != target.requester_id:
        joined.add(source.requester_id)
    target.observers |= joined
    target.cc = tuple(dict.fromkeys((*target.cc, *source.cc)))


def _close(ctx: Context, source: Ticket) -> Status:
    """Closed from whatever status it had: merged is not solved, so no resolution (and no
    rating survey) comes before it, unlike `/close`."""
    old = source.status
    source.status = Status.CLOSED
    source.closed_at = source.updated_at = ctx.at
    source.waiting_until = None
    return old
