"""F5 `/ticket`: the first line's question becomes a second-line ticket.

As a reply, the replied message and its author's follow-ups in that dialog become the
ticket; alone, the bot offers the last questions as buttons. Description = the question,
requester and observer = its author, responsible = the specialist. A button carries only a
dialog id and a signature over it, so forged or stale callback data is refused.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
from collections.abc import Sequence

from telegram.error import TelegramError

from bot.channels.telegram.act.answer import say, say_html
from bot.channels.telegram.act.files import fetch
from bot.channels.telegram.context import Desk
from bot.channels.telegram.deliver.outbound import edit_item
from bot.channels.telegram.deliver.render import Buttons, button_rows, esc
from bot.channels.telegram.receive.inbound import ButtonPress, ChatFile, ChatMessage
from bot.channels.telegram.understand.dialogs import Dialog
from bot.channels.telegram.understand.refs import ref
from bot.commands.registry import CHAT, Query
from bot.i18n import explain, t
from engine import commands as c
from engine.errors import EngineError, PersonNotFound
from engine.model import Person, Role

log = logging.getLogger("ticketbot.telegram")

PICKER_SIZE = 10
FOLLOW_UP = dt.timedelta(hours=1)  # a question answered this recently is followed up
SUBJECT_LIMIT = 80
_PREFIX = "tk"
_MAC_CHARS = 16  # 96 bits of base64url; callback data must stay under 64 bytes


# --- callback data -------------------------------------------------------------------------


def _mac(secret: bytes, dialog_id: int) -> str:
    digest = hmac.new(secret, f"{_PREFIX}:{dialog_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:_MAC_CHARS]


def sign(secret: bytes, dialog_id: int) -> str:
    return f"{_PREFIX}:{dialog_id}:{_mac(secret, dialog_id)}"


def verify(secret: bytes, data: str) -> int | None:
    """The dialog id a button of ours names, or None for anything else."""
    prefix, _, rest = data.partition(":")
    number, _, mac = rest.partition(":")
    if prefix != _PREFIX or not number.isdigit() or len(number) > 18:
        return None
    dialog_id = int(number)
    return dialog_id if hmac.compare_digest(mac, _mac(secret, dialog_id)) else None


# --- /ticket -------------------------------------------------------------------------------


async def ticket_command(desk: Desk, msg: ChatMessage, person: Person, query: Query) -> None:
    lang = person.language
    if query.ticket is not None:
        await say(desk, msg, t(lang, "ticket_exists", number=query.ticket), lang,
                  ticket=query.ticket)
    elif msg.reply_to is None:
        html, buttons = await _picker(desk, lang)
        await say_html(desk, msg, html, lang, buttons=buttons)
    else:
        await _from_reply(desk, msg, person, " ".join(query.args))


async def _from_reply(desk: Desk, msg: ChatMessage, person: Person, title: str) -> None:
    lang, replied = person.language, msg.reply_to
    assert replied is not None
    if replied.author is None or replied.author.is_bot:
        await say(desk, msg, t(lang, "tg.ticket.not_a_question"), lang)
        return
    author = await desk.people.person(replied.author)
    dialog = await desk.first_line.find(msg.chat_id, replied.message_id)
    # A follow-up ("didn't help") by the asker brings the whole dialog, the question first.
    start = dialog.first_message_id if dialog is not None and \
        dialog.author_id == author.id else replied.message_id
    parts = () if dialog is None else dialog.follow_ups(start)
    earlier = None if dialog is None or start != dialog.first_message_id else \
        await _answered_before(desk, dialog)
    if earlier is not None:
        parts = (*earlier.follow_ups(earlier.first_message_id), *parts)
    ids = [p.message_id for p in parts] or [replied.message_id]
    text = "\n".join(p.text for p in parts) or replied.text
    files = (*replied.files, *desk.first_line.files(msg.chat_id, ids))
    try:
        await open_ticket(desk, person, author, msg.chat_id, ids, text, title, msg, dialog,
                          files)
    except EngineError as exc:
        await say(desk, msg, explain(lang, exc), lang)
        return
    if earlier is not None and dialog is not None and dialog.ticket is None:
        number = await desk.views.ticket_of([ref(msg.chat_id, ids[0])])
        if number is not None:  # the question is the ticket's too: off the picker
            await desk.first_line.promote(earlier, number, person.id, msg.date)


async def _answered_before(desk: Desk, dialog: Dialog) -> Dialog | None:
    """The asker's answered question this dialog follows up ("didn't help"): the same
    asker, no ticket yet, its last message within FOLLOW_UP of this one's start."""
    recent = await desk.first_line.recent(dialog.chat_id, PICKER_SIZE)
    for d in recent:
        if d.author_id == dialog.author_id and d.answered_at is not None and \
                d.first_message_id < dialog.first_message_id and \
                dialog.started_at - d.last_message_at <= FOLLOW_UP:
            return d
    return None


async def _lead(desk: Desk, specialist: Person) -> int:
    """Seed 002: the lead is the ticket's creator (the one who set the task)."""
    async with desk.views.reading() as r:
        leads = await r.people.with_role(Role.LEAD)
    return leads[0].id if leads else specialist.id


async def open_ticket(desk: Desk, specialist: Person, author: Person, chat_id: int,
                      message_ids: Sequence[int], text: str, title: str,
                      msg: ChatMessage | None, dialog: Dialog | None,
                      files: Sequence[ChatFile] = ()) -> int:
    """The ticket for a question; its card answers in the question's thread, and the
    question's files are its attachments."""
    if not text.strip():
        text = t(desk.language, "tg.ticket.no_text")
    fetched = await fetch(desk, files)
    text = fetched.body(text)
    at = msg.date if msg is not None else desk.now()
    # The /ticket message is the command's source, recorded with the ticket so a replay of
    # it does nothing; the question and its follow-ups are what the ticket is about.
    outcome = await desk.bus.handle(c.OpenTicket(
        actor=specialist.id, channel=CHAT, at=at, subject=title or subject_of(text),
        description=text, requester_id=author.id, observers=(author.id,),
        responsible_id=specialist.id, creator_id=await _lead(desk, specialist),
        source_ref=None if msg is None else ref(msg.chat_id, msg.message_id),
        about_refs=tuple(ref(chat_id, message_id) for message_id in message_ids),
        attachments=fetched.attachments))
    desk.outbound.wake()
    number = outcome.ticket
    assert number is not None
    if dialog is not None:
        await desk.first_line.promote(dialog, number, specialist.id, at)
    return number


def subject_of(text: str) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip()), text)
    return first[:SUBJECT_LIMIT]


# --- the picker ----------------------------------------------------------------------------


async def _picker(desk: Desk, lang: str) -> tuple[str, Buttons | None]:
    """The text and buttons of the question picker."""
    chat = desk.tg.support_chat_id
    questions = [] if chat is None else await desk.first_line.recent(chat, PICKER_SIZE)
    if not questions:
        return esc(t(lang, "tg.picker.empty")), None
    buttons = button_rows([(_label(desk, q), sign(desk.secret, q.id or 0)) for q in questions])
    return esc(t(lang, "tg.picker.title")), buttons


def _label(desk: Desk, dialog: Dialog) -> str:
    author = desk.people.get(dialog.author_id)
    first = subject_of(dialog.text)
    return first if author is None else f"{author.name}: {first}"


async def press(desk: Desk, p: ButtonPress) -> None:
    person = await desk.people.person(p.author)
    lang = person.language
    dialog_id = verify(desk.secret, p.data)
    dialog = None if dialog_id is None else await _dialog(desk, dialog_id)
    if dialog is None:
        log.warning("refused stray or forged button data from Telegram user %s", p.author.id)
        await toast(desk, p, t(lang, "tg.button.stray"))
    elif not person.role.is_staff:
        await toast(desk, p, t(lang, "not_a_specialist"))
    elif dialog.ticket is not None:
        await toast(desk, p, t(lang, "ticket_exists", number=dialog.ticket))
    else:
        await _open_pressed(desk, p, person, dialog)


async def _dialog(desk: Desk, dialog_id: int) -> Dialog | None:
    await desk.first_line.flush()
    return await desk.store.dialog(dialog_id)


async def _open_pressed(desk: Desk, p: ButtonPress, person: Person, dialog: Dialog) -> None:
    lang = person.language
    author = desk.people.get(dialog.author_id)
    parts = dialog.follow_ups(dialog.first_message_id)
    try:
        if author is None:
            raise PersonNotFound(who=str(dialog.author_id))
        ids = [x.message_id for x in parts] or [dialog.first_message_id]
        number = await open_ticket(desk, person, author, dialog.chat_id, ids,
                                   "\n".join(x.text for x in parts), "", None, dialog,
                                   desk.first_line.files(dialog.chat_id, ids))
    except EngineError as exc:
        await toast(desk, p, explain(lang, exc))
        return
    await toast(desk, p, t(lang, "ticket_opened", number=number))
    await _refresh_picker(desk, p, lang, number)


async def _refresh_picker(desk: Desk, p: ButtonPress, lang: str, number: int) -> None:
    """The pressed question leaves the picker; the others stay pressable."""
    if p.chat_id is None or p.message_id is None:
        return
    html, buttons = await _picker(desk, lang)
    await desk.outbound.enqueue(edit_item(f"tg:picker:{p.chat_id}:{p.message_id}:{number}",
                                          p.chat_id, p.message_id, html, buttons, lang))


async def toast(desk: Desk, p: ButtonPress, text: str) -> None:
    """The answer to a button press: shown at once, not a message, so not via the outbox."""
    try:
        await desk.bot.answer_callback_query(p.query_id, text=text[:200])
    except TelegramError as exc:
        log.info("could not answer button press %s: %s", p.query_id, exc)
