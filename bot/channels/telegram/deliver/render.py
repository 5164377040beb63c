"""Text for the Bot API: HTML parse mode, with every piece of people's text escaped.

Telegram refuses a whole message whose markup does not parse ("can't parse entities"), so
user text never reaches the API unescaped, and it refuses texts over 4096 characters
(counted in UTF-16 units), so long texts are clipped before they are escaped.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

PARSE_MODE = "HTML"
MAX_MESSAGE = 4096
# Room for the header and labels around a clipped body.
BODY_LIMIT = 3500
ELLIPSIS = "…"

Buttons = list[list[dict[str, str]]]


def esc(text: object) -> str:
    return html.escape(str(text), quote=False)


def bold(text: object) -> str:
    return f"<b>{esc(text)}</b>"


def quote(text: str, limit: int = BODY_LIMIT) -> str:
    return f"<blockquote>{esc(clip(text, limit))}</blockquote>"


def mention(user_id: int, name: str) -> str:
    return f'<a href="tg://user?id={int(user_id)}">{esc(name)}</a>'


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def clip(text: str, limit: int = BODY_LIMIT) -> str:
    """`text` cut to `limit` UTF-16 units, marked with an ellipsis when cut."""
    if utf16_len(text) <= limit:
        return text
    cut = text[:limit - 1]
    while utf16_len(cut) > limit - 1:
        cut = cut[:-1]
    return cut.rstrip() + ELLIPSIS


def lines(*parts: str | None) -> str:
    return "\n".join(p for p in parts if p)


def when(moment: dt.datetime, tz: str, lang: str) -> str:
    local = moment.astimezone(ZoneInfo(tz))
    return local.strftime("%d.%m.%Y %H:%M" if lang == "ru" else "%Y-%m-%d %H:%M")


def keyboard(buttons: Buttons | None) -> dict[str, Any] | None:
    """The `reply_markup` of an inline keyboard stored in an outbox payload."""
    if not buttons:
        return None
    return {"inline_keyboard": [[{"text": b["text"], "callback_data": b["data"]} for b in row]
                                for row in buttons]}


def button_rows(pairs: Sequence[tuple[str, str]]) -> Buttons:
    """One button per row: (label, callback data)."""
    return [[{"text": clip(label, 60), "data": data}] for label, data in pairs]
