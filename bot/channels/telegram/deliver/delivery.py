"""One outbox row -> Bot API calls -> what happened: sent, retry later, or give up.

Telegram's answers decide: 429 (RetryAfter) and 5xx or a dropped connection (NetworkError)
are retried later through the outbox; 400 (BadRequest) is permanent; 403 (Forbidden) on a
private chat means the person never started the bot or blocked it, so the notice falls back
to the group (or the staff chat) once and the person is not tried again until they write.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)

from bot.attachments import comment_files, file_bytes
from bot.channels.telegram.deliver import files, outbound
from bot.channels.telegram.deliver.cards import card_facts, render_card
from bot.channels.telegram.deliver.notices import ChatNotice, render_notice
from bot.channels.telegram.deliver.render import Buttons, clip, esc, mention
from bot.channels.telegram.deskchats import staff_chat, staff_chats
from bot.channels.telegram.ports import ChatStore
from bot.channels.telegram.read import Known, View, view
from bot.channels.telegram.understand.refs import parse_ref
from bot.file_size import size_text
from bot.i18n import t
from config.settings import Settings
from engine.notify.kinds import NoticeKind as K
from engine.outbox import OutboxQueue, OutboxRow, next_retry
from engine.ports import Clock, OutboxItem
from engine.views import Views

log = logging.getLogger("ticketbot.telegram")


@dataclass(frozen=True)
class Sent:
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Retry:
    at: dt.datetime
    error: str


@dataclass(frozen=True)
class GiveUp:
    error: str


Outcome = Sent | Retry | GiveUp


class Unreachable(Exception):
    """A private chat that Telegram refuses (403), or that refused us before."""


@dataclass(frozen=True)
class Delivery:
    bot: Bot
    settings: Settings
    views: Views
    outbox: OutboxQueue
    store: ChatStore
    clock: Clock
    known: Known
    photos_sent: set[int] = field(default_factory=set)

    async def deliver(self, row: OutboxRow) -> Outcome:
        try:
            return await self._deliver(row)
        except Unreachable as exc:
            await self._fallback(row)
            return GiveUp(f"private chat unreachable: {exc}")
        except TelegramError as exc:
            return self._failed(row, exc)

    def _failed(self, row: OutboxRow, exc: TelegramError) -> Outcome:
        now = self.clock.now()
        if isinstance(exc, RetryAfter):
            # The timedelta form: `retry_after` itself warns of its int form being deprecated.
            return Retry(now + exc._retry_after, f"429: {exc}")
        if isinstance(exc, BadRequest | Forbidden):
            return GiveUp(f"{type(exc).__name__}: {exc}")
        if isinstance(exc, ChatMigrated):
            log.error("chat %s became supergroup %s: update the chat id in [telegram]",
                      row.recipient, exc.new_chat_id)
            return GiveUp(f"chat migrated to {exc.new_chat_id}")
        if isinstance(exc, InvalidToken):
            log.error("Telegram refuses the bot token now: was it revoked in @BotFather?")
        # NetworkError covers 5xx, timeouts and dropped connections.
        return Retry(next_retry(row.attempts, now), f"{type(exc).__name__}: {exc}")

    async def _deliver(self, row: OutboxRow) -> Outcome:
        match row.kind:
            case K.REPLY:
                return await self._reply(row)
            case K.EDIT:
                return await self._edit(row)
            case K.CARD:
                return await self._card(row)
            case K.POST:
                return await self._post(row)
            case K.FILE:
                return await self._file(row)
            case _:
                return await self._notice(row)

    # --- kinds the channel queues itself --------------------------------------------------

    async def _reply(self, row: OutboxRow) -> Outcome:
        p = row.payload
        message = await self.send(int(row.recipient), p["html"], reply_to=p.get("reply_to"),
                                  buttons=p.get("buttons"), thread=p.get("thread"))
        return await self._sent(row, message)

    async def _edit(self, row: OutboxRow) -> Outcome:
        p = row.payload
        message_id = p.get("message_id")
        if message_id is None:
            message_id = await self._echo_message(str(p.get("echo")))
        if message_id is None:
            # The echo was never sent (given up): there is nothing to correct.
            log.warning("telegram row %s: no echo %s to edit", row.id, p.get("echo"))
            return Sent({"unchanged": True})
        await self.edit(int(row.recipient), int(message_id), p["html"], p.get("buttons"))
        return Sent({"message_id": message_id})

    async def _echo_message(self, key: str) -> int | None:
        """The message id of an echo sent earlier in the same chat (its lane keeps order)."""
        echo = await self.outbox.by_key(key)
        found = None if echo is None or echo.meta is None else echo.meta.get("message_id")
        return found if isinstance(found, int) else None

    async def _card(self, row: OutboxRow) -> Outcome:
        chat, number = int(row.recipient), row.ticket
        if number is None:
            return GiveUp("card without a ticket")
        async with view(self.views, self.known) as v:
            facts = await card_facts(v, number)
        if facts is None:
            return GiveUp(f"no ticket {number}")
        html = render_card(facts, row.language, self.settings.timezone,
                           self.settings.engine.ticket_prefix,
                           staff=chat in staff_chats(self.settings))
        return await self._show_card(row, chat, number, html)

    async def _show_card(self, row: OutboxRow, chat: int, number: int, html: str) -> Outcome:
        existing = await self.store.card(number, chat)
        if existing is not None and existing.text == html:
            return Sent({"message_id": existing.message_id, "unchanged": True})
        if existing is not None and await self._edited(chat, existing.message_id, html):
            message_id = existing.message_id
        else:
            sent = await self.send(chat, html, reply_to=row.payload.get("reply_to"))
            message_id = sent.message_id
        await self.store.save_card(number, chat, message_id, html, self.clock.now())
        return Sent({"message_id": message_id})

    async def _edited(self, chat: int, message_id: int, html: str) -> bool:
        """False when the card is gone (deleted by someone): a new one is sent instead."""
        try:
            await self.edit(chat, message_id, html, None)
        except BadRequest as exc:
            if "not found" in str(exc).lower() or "can't be edited" in str(exc).lower():
                return False
            raise
        return True

    async def _post(self, row: OutboxRow) -> Outcome:
        chat = int(row.recipient)
        reply_to = await self._thread_of(row.ticket, chat)
        message = await self.send(chat, row.payload["html"], reply_to=reply_to,
                                  buttons=row.payload.get("buttons"))
        return await self._sent(row, message)

    async def _thread_of(self, number: int | None, chat: int) -> int | None:
        """Posts about a ticket go under its card in that chat, else under its question."""
        if number is None:
            return None
        card = await self.store.card(number, chat)
        if card is not None:
            return card.message_id
        async with view(self.views, self.known) as v:
            ticket = await v.tickets.get(number)
        source = None if ticket is None else parse_ref(ticket.source_ref)
        return source.message_id if source is not None and source.chat_id == chat else None

    async def _file(self, row: OutboxRow) -> Outcome:
        """One file of a comment, under the message that told of it (deliver/files.py)."""
        chat, p = int(row.recipient), row.payload
        if row.ticket is None or (chat > 0 and await self.store.is_blocked(chat)):
            return GiveUp("no ticket, or a private chat that refused us")
        async with view(self.views, self.known) as v:
            found = await comment_files(v.comments, row.ticket, int(p["comment_id"]))
        index = int(p["index"])
        if index >= len(found):
            return GiveUp(f"comment {p['comment_id']} of #{row.ticket} has no file {index}")
        f, reply_to = found[index], int(p["reply_to"])
        if f.size > files.SEND_LIMIT:
            html = esc(t(row.language, "files.too_big_to_send", name=f.filename,
                         size=size_text(row.language, f.size), number=row.ticket))
            message = await self.send(chat, html, reply_to=reply_to)
        else:
            data = await file_bytes(self.views, f)
            if data is None:
                return GiveUp(f"the bytes of {f.filename} (#{row.ticket}) cannot be found")
            message = await self.bot.send_document(
                chat, InputFile(data, filename=f.filename),
                caption=clip(f.filename, files.CAPTION_LIMIT),
                reply_parameters=ReplyParameters(reply_to, allow_sending_without_reply=True))
        await self.store.sent_about(row.ticket, chat, message.message_id, self.clock.now())
        return Sent({"message_id": message.message_id})

    # --- notices from the engine and other parts ------------------------------------------

    async def _notice(self, row: OutboxRow) -> Outcome:
        chat = int(row.recipient)
        if chat > 0 and await self.store.is_blocked(chat):
            raise Unreachable("refused before")
        async with view(self.views, self.known) as v:
            notice = await render_notice(row, v)
        if notice is None:
            log.error("no Telegram rendering for outbox kind %r (row %s)", row.kind, row.id)
            return GiveUp(f"unknown kind {row.kind}")
        try:
            return await self._send_notice(row, chat, notice)
        except Forbidden as exc:
            if chat <= 0:
                raise
            await self.store.mark_blocked(chat, self.clock.now())
            raise Unreachable(str(exc)) from exc

    async def _send_notice(self, row: OutboxRow, chat: int, notice: ChatNotice) -> Outcome:
        if notice.photo is not None and row.id not in self.photos_sent:
            await self.bot.send_photo(chat, notice.photo, caption=notice.caption,
                                      parse_mode=ParseMode.HTML)
            # A failure of the text below must not post the picture twice.
            self.photos_sent.add(row.id)
        message = await self.send(chat, notice.html, buttons=notice.buttons)
        return await self._sent(row, message)

    async def _fallback(self, row: OutboxRow) -> None:
        """Say it where the person can read it: the staff chat for staff, the ticket's
        thread in the support group for everyone else; nothing if the group shows it anyway
        (the card changes, answers are posted in the thread)."""
        if row.person_id is not None and await self._by_mail(row, row.person_id):
            return
        if row.kind.shown_in_group or row.person_id is None or row.ticket is None:
            return
        async with view(self.views, self.known) as v:
            person = await v.people.get(row.person_id)
            notice = await render_notice(row, v)
            ticket = await v.tickets.get(row.ticket)
        chat = self._fallback_chat(person.role.is_staff if person else False, ticket)
        if person is None or notice is None or chat is None or person.telegram_id is None:
            return
        html = mention(person.telegram_id, person.name) + ", " + esc(
            t(row.language, "tg.fallback")) + "\n" + notice.html
        await self.outbox.enqueue(outbound.post_item(row.key + ":fallback", row.ticket, chat,
                                                     html, row.language))

    async def _by_mail(self, row: OutboxRow, person_id: int) -> bool:
        """A staff member the bot cannot write to (never pressed Start, or blocked it) gets
        the notice by mail: every staff member keeps one working channel."""
        async with view(self.views, self.known) as v:
            person = await v.people.get(person_id)
        if person is None or not person.role.is_staff or not person.emails:
            return False
        await self.outbox.enqueue(OutboxItem(
            key=f"{row.key}:mail", channel="email", recipient=person.emails[0], kind=row.kind,
            ticket=row.ticket, person_id=person_id, language=row.language,
            payload=row.payload))
        return True

    def _fallback_chat(self, staff: bool, ticket: Any) -> int | None:
        tg = self.settings.telegram
        desk_chat = staff_chat(self.settings, ticket.desk)
        if staff and desk_chat is not None:
            return desk_chat
        source = None if ticket is None else parse_ref(ticket.source_ref)
        if source is not None and source.chat_id == tg.support_chat_id:
            return source.chat_id
        return None

    # --- the Bot API ----------------------------------------------------------------------

    async def _sent(self, row: OutboxRow, message: Message) -> Outcome:
        if row.ticket is not None:
            await self.store.sent_about(row.ticket, message.chat.id, message.message_id,
                                        self.clock.now())
            if files.may_follow(row):
                await self._files_under(row, message)
        return Sent({"message_id": message.message_id})

    async def _files_under(self, row: OutboxRow, message: Message) -> None:
        """The files of the comment `row` told of, queued to follow under its message
        (before the row is marked sent: a crash in between resends the row, and the files'
        keys keep them once)."""
        async with view(self.views, self.known) as v:
            items = await files.following(row, v, message.chat.id, message.message_id,
                                          self.settings.telegram.staff_chat_id)
        if items:
            await self.outbox.enqueue_all(items)

    async def send(self, chat: int, html: str, *, reply_to: int | None = None,
                   buttons: Buttons | None = None, thread: int | None = None) -> Message:
        return await self.bot.send_message(
            chat_id=chat, text=html, parse_mode=ParseMode.HTML, message_thread_id=thread,
            reply_parameters=None if reply_to is None else ReplyParameters(
                reply_to, allow_sending_without_reply=True),
            reply_markup=_markup(buttons),
            link_preview_options=LinkPreviewOptions(is_disabled=True))

    async def edit(self, chat: int, message_id: int, html: str,
                   buttons: Buttons | None) -> None:
        try:
            await self.bot.edit_message_text(html, chat_id=chat, message_id=message_id,
                                             parse_mode=ParseMode.HTML,
                                             reply_markup=_markup(buttons))
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                raise


def _markup(buttons: Buttons | None) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b["text"], callback_data=b["data"])
                                  for b in row] for row in buttons])


__all__ = ["Delivery", "GiveUp", "Outcome", "Retry", "Sent", "View"]
