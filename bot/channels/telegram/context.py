"""Everything the channel's handlers work with, built once by the service."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from telegram import Bot

from bot.channels.telegram.deliver.outbound import Outbound
from bot.channels.telegram.deskchats import staff_chats
from bot.channels.telegram.ports import ChatStore
from bot.channels.telegram.understand.firstline import DialogTracker
from bot.channels.telegram.understand.people import Directory
from config.settings import Settings, TelegramConfig
from engine.bus import MessageBus
from engine.inbox import Inbox
from engine.views import Views


@dataclass(frozen=True)
class Me:
    id: int
    username: str


@dataclass(frozen=True)
class Desk:
    settings: Settings
    bus: MessageBus
    views: Views
    store: ChatStore
    people: Directory
    first_line: DialogTracker
    outbound: Outbound
    secret: bytes
    me: Me
    bot: Bot
    # Stored mail, for `/rescue N` (an ignored mail becomes a ticket).
    inbound: Inbox | None = None

    @property
    def tg(self) -> TelegramConfig:
        return self.settings.telegram

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.settings.timezone)

    @property
    def language(self) -> str:
        """The language of texts the whole group reads (cards, group notices)."""
        return self.settings.language

    def now(self) -> dt.datetime:
        return self.bus.clock.now()

    def is_support(self, chat_id: int) -> bool:
        return chat_id == self.tg.support_chat_id

    def is_staff_chat(self, chat_id: int) -> bool:
        return chat_id in staff_chats(self.settings)  # any desk's (deskchats.py)
