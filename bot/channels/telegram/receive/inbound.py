"""Update -> one typed value (`ChatMessage` or `ButtonPress`) before any logic runs, so no
PTB object travels past this module and the rules can be tested on plain values."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from telegram import CallbackQuery, Message, MessageEntity, Update, User

# Texts for messages that carry no text of their own: a screenshot without a caption is
# still a question in the support group, a sticker is a pleasantry (it has its emoji).
_MEDIA = (
    ("photo", "[photo]"), ("video", "[video]"), ("voice", "[voice message]"),
    ("video_note", "[video message]"), ("audio", "[audio]"), ("animation", "[GIF]"),
    ("location", "[location]"), ("contact", "[contact]"), ("poll", "[poll]"),
)


@dataclass(frozen=True)
class Author:
    id: int
    name: str
    username: str | None = None
    is_bot: bool = False
    language: str | None = None


@dataclass(frozen=True)
class ChatFile:
    """A file a message carries, as Telegram describes it: fetched later with getFile."""

    file_id: str
    name: str
    content_type: str
    size: int | None  # what Telegram says; None when it does not say


@dataclass(frozen=True)
class ReplyTo:
    message_id: int
    author: Author | None
    text: str
    date: dt.datetime
    files: tuple[ChatFile, ...] = ()


@dataclass(frozen=True)
class ChatMessage:
    update_id: int
    chat_id: int
    chat_type: str  # private | group | supergroup | channel
    message_id: int
    author: Author | None
    text: str
    date: dt.datetime
    edited: bool = False
    reply_to: ReplyTo | None = None
    thread_id: int | None = None
    # Users named by a `text_mention` entity (people without a username): shown text -> id.
    mentions: tuple[tuple[str, int], ...] = ()
    service: bool = False
    files: tuple[ChatFile, ...] = ()
    caption: str = ""  # the caption of a file, or the text: what the person wrote
    album: str | None = None  # the media group of photos sent together (one caption)

    @property
    def private(self) -> bool:
        return self.chat_type == "private"


@dataclass(frozen=True)
class ButtonPress:
    update_id: int
    query_id: str
    author: Author
    data: str
    chat_id: int | None
    message_id: int | None


Incoming = ChatMessage | ButtonPress


def from_update(update: Update) -> Incoming | None:
    """The value an update carries, or None for kinds the bot does not act on."""
    if update.callback_query is not None:
        return _press(update.update_id, update.callback_query)
    if update.message is not None:
        return _message(update.update_id, update.message, edited=False)
    if update.edited_message is not None:
        return _message(update.update_id, update.edited_message, edited=True)
    return None


def author_of(user: User | None) -> Author | None:
    if user is None:
        return None
    return Author(id=user.id, name=user.full_name or str(user.id), username=user.username,
                  is_bot=user.is_bot, language=user.language_code)


def _press(update_id: int, query: CallbackQuery) -> ButtonPress:
    message = query.message
    return ButtonPress(update_id=update_id, query_id=query.id,
                       author=author_of(query.from_user) or Author(0, "?"),
                       data=query.data or "",
                       chat_id=None if message is None else message.chat.id,
                       message_id=None if message is None else message.message_id)


def _message(update_id: int, message: Message, *, edited: bool) -> ChatMessage:
    return ChatMessage(
        update_id=update_id, chat_id=message.chat.id, chat_type=message.chat.type,
        message_id=message.message_id, author=author_of(message.from_user),
        text=text_of(message), date=message.date, edited=edited,
        reply_to=_reply_to(message), thread_id=message.message_thread_id,
        mentions=_mentions(message), service=_is_service(message),
        files=files_of(message), caption=message.text or message.caption or "",
        album=message.media_group_id)


def text_of(message: Message) -> str:
    text = message.text or message.caption
    if text:
        return text
    if message.sticker is not None:
        return message.sticker.emoji or ""
    if message.document is not None:
        return f"[file: {message.document.file_name or 'document'}]"
    return next((label for name, label in _MEDIA if getattr(message, name, None)), "")


def _reply_to(message: Message) -> ReplyTo | None:
    replied = message.reply_to_message
    if replied is None:
        return None
    # In a forum topic every message "replies" to the topic's first (service) message;
    # that is not a reply anybody wrote.
    if message.is_topic_message and replied.message_id == message.message_thread_id:
        return None
    return ReplyTo(message_id=replied.message_id, author=author_of(replied.from_user),
                   text=text_of(replied), date=replied.date, files=files_of(replied))


# Kinds of file a message may carry: the attribute, a name when Telegram gives none, and the
# type when it says none (a photo is always a JPEG, a voice note OGG/Opus).
_FILES = (
    ("document", "document", "application/octet-stream"),
    ("photo", "photo.jpg", "image/jpeg"),
    ("video", "video.mp4", "video/mp4"),
    ("voice", "voice.ogg", "audio/ogg"),
    ("audio", "audio.mp3", "audio/mpeg"),
    ("video_note", "video_note.mp4", "video/mp4"),
    ("animation", "animation.mp4", "video/mp4"),
)


def files_of(message: Message) -> tuple[ChatFile, ...]:
    """The file a message carries (Telegram puts at most one in a message; a photo comes in
    several sizes, of which the largest is the photo)."""
    if message.text is not None:  # a text message carries no file: the common case, at once
        return ()
    for attribute, default_name, default_type in _FILES:
        found = getattr(message, attribute, None)
        if not found:
            continue
        item = found[-1] if isinstance(found, tuple) else found
        name = getattr(item, "file_name", None) or _numbered(default_name, message.message_id)
        kind = getattr(item, "mime_type", None) or default_type
        return (ChatFile(item.file_id, name, kind, item.file_size),)
    return ()


def _numbered(name: str, message_id: int) -> str:
    """`photo.jpg` -> `photo_1234.jpg`: several photos of one ticket keep apart."""
    stem, dot, ext = name.rpartition(".")
    return f"{stem}_{message_id}{dot}{ext}" if dot else f"{name}_{message_id}"


def _mentions(message: Message) -> tuple[tuple[str, int], ...]:
    found = message.parse_entities([MessageEntity.TEXT_MENTION]) if message.text else {}
    return tuple((text, entity.user.id) for entity, text in found.items()
                 if entity.user is not None)


def _is_service(message: Message) -> bool:
    return bool(message.new_chat_members or message.left_chat_member
                or message.new_chat_title or message.pinned_message
                or message.forum_topic_created or message.group_chat_created
                or message.migrate_from_chat_id)
