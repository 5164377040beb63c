"""The "↩ Undo" button under the echo of a public answer (bot/channels/telegram/deliver/
mirror.py): the engine withdraws the answer if it is still waiting and the person pressing
may (its author or a lead); the echo then says it was not sent."""

from __future__ import annotations

from bot.channels.telegram.act.promote import toast
from bot.channels.telegram.context import Desk
from bot.channels.telegram.deliver.mirror import UNDO_PREFIX
from bot.channels.telegram.receive.inbound import ButtonPress
from bot.commands.registry import CHAT
from bot.i18n import explain, t
from engine import commands as c
from engine.errors import EngineError


def is_undo(data: str) -> bool:
    return data.startswith(UNDO_PREFIX)


def _cause(data: str) -> int | None:
    number = data.removeprefix(UNDO_PREFIX)
    return int(number) if number.isdigit() and len(number) <= 18 else None


async def press(desk: Desk, p: ButtonPress) -> None:
    person = await desk.people.person(p.author)
    lang = person.language
    cause = _cause(p.data)
    if cause is None:
        await toast(desk, p, t(lang, "tg.button.stray"))
        return
    try:
        outcome = await desk.bus.handle(c.WithdrawComment(actor=person.id, channel=CHAT,
                                                          at=desk.now(), cause=cause))
    except EngineError as exc:
        await toast(desk, p, explain(lang, exc))
        return
    # The echo itself is edited by the mirror reactor on `CommentWithdrawn`, for the
    # typed `/undo` as well (bot/channels/telegram/deliver/mirror.py).
    await toast(desk, p, t(lang, "withdrawn", number=outcome.ticket))
