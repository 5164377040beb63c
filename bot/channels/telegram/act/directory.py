"""F11 in Telegram: `/company X`, `/contact X`, `/tickets WHAT X` answered from the store
(bot/directory_text.py). Asked in the support group, the answer goes to the staff chat:
cards name clients, their addresses and phones."""

from __future__ import annotations

from bot.channels.telegram.act.answer import elsewhere, say
from bot.channels.telegram.context import Desk
from bot.channels.telegram.receive.inbound import ChatMessage
from bot.commands.registry import Query
from bot.directory_text import QUERIES, directory_answer
from engine.model import Person


async def _answer(desk: Desk, msg: ChatMessage, person: Person, query: Query) -> None:
    lang = person.language
    text = await directory_answer(desk.views, person, query, lang,
                                  desk.settings.engine.ticket_prefix)
    await say(desk, msg, text, lang,
              room=await elsewhere(desk, msg, person.role.is_staff, None, False))


ANSWERS = dict.fromkeys(QUERIES, _answer)
