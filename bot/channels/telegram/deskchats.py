"""Which staff chat shows a ticket: its desk's (engine/desks.py), else the `[telegram]`
staff chat. With no desks declared this is always `telegram.staff_chat_id`."""

from __future__ import annotations

from config.settings import Settings


def staff_chat(settings: Settings, desk: str | None) -> int | None:
    found = settings.engine.desks.get(desk)
    if found is not None and found.staff_chat_id is not None:
        return found.staff_chat_id
    return settings.telegram.staff_chat_id


def staff_chats(settings: Settings) -> frozenset[int]:
    """Every staff chat: what is said there is staff talk (notes, commands)."""
    chats = set(settings.engine.desks.staff_chats())
    if settings.telegram.staff_chat_id is not None:
        chats.add(settings.telegram.staff_chat_id)
    return frozenset(chats)
