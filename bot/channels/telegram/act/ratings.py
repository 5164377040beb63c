"""F13 in Telegram: a press on a rating button records the requester's score. The button's
data is a token signed by the engine (`engine.ratings.vote_token`); who may use it is
checked when the score is stored."""

from __future__ import annotations

from bot.channels.telegram.act.promote import toast
from bot.channels.telegram.context import Desk
from bot.channels.telegram.receive.inbound import ButtonPress
from bot.commands.registry import CHAT
from bot.i18n import explain, t
from engine.commands import RateTicket
from engine.errors import EngineError
from engine.ratings import read_vote

TOKEN_PREFIX = "rate."


def is_rating(data: str) -> bool:
    return data.startswith(TOKEN_PREFIX)


async def press(desk: Desk, p: ButtonPress) -> None:
    person = await desk.people.person(p.author)
    lang = person.language
    vote = read_vote(desk.secret, p.data)
    if vote is None:
        await toast(desk, p, t(lang, "tg.button.stray"))
        return
    try:
        await desk.bus.handle(RateTicket(actor=person.id, channel=CHAT, at=desk.now(),
                                         ticket=vote.ticket, score=vote.score,
                                         resolution_at=vote.resolution_at))
    except EngineError as exc:
        await toast(desk, p, explain(lang, exc))
        return
    await toast(desk, p, t(lang, "rating.thanks", score=vote.score, number=vote.ticket))
