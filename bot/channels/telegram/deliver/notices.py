"""Outbox rows other parts queue for Telegram, as text: the engine's notices (F9, kinds in
`engine.notify.kinds`), SLA alerts, rating requests (F13) and the metrics digest (F10).

Rendered when sent, from the ticket as it is then, in the recipient's language; every value
that came from a person is escaped for the HTML parse mode.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from bot.channels.telegram.deliver.render import Buttons, esc, lines, mention, quote
from bot.channels.telegram.read import View
from bot.i18n import comment_text, has_text, status_name, t
from engine.model import Ticket
from engine.notify.combine import RATING
from engine.notify.kinds import NoticeKind as K
from engine.outbox import OutboxRow

COMMENT_LIMIT = 3000
_BY_VALUE = {k.value: k for k in K}


@dataclass(frozen=True)
class ChatNotice:
    html: str
    buttons: Buttons | None = None
    photo: bytes | None = None
    caption: str | None = None


async def render_notice(row: OutboxRow, v: View) -> ChatNotice | None:
    """The message for a row, or None when this channel has no way to say it."""
    notice = await _main(row, v)
    also = await _also(row, v)
    if notice is not None and also:
        notice = replace(notice, html=lines(notice.html, *also))
    survey = row.payload.get(RATING)  # asked with no delay: under the answer, its buttons
    if notice is None or not isinstance(survey, dict) or row.kind is K.RATING_REQUEST:
        return notice
    asked = await _rating(replace(row, payload=survey), v)
    return notice if asked is None else ChatNotice(lines(notice.html, asked.html),
                                                   asked.buttons)


async def _main(row: OutboxRow, v: View) -> ChatNotice | None:
    match row.kind:
        case K.COMMENT | K.NOTE:
            return await _comment(row, v)
        case K.RATING_REQUEST:
            return await _rating(row, v)
        case K.DIGEST:
            return await _digest(row, v)
        case _:
            return await _templated(row, v)


async def _also(row: OutboxRow, v: View) -> list[str]:
    """What else the same action told this person (engine/notify/combine.py), a line each."""
    entries = row.payload.get("also")
    if not isinstance(entries, list):
        return []
    ticket = None if row.ticket is None else await v.tickets.get(row.ticket)
    found = []
    for entry in entries:
        kind = _BY_VALUE.get(str(entry.get("kind"))) if isinstance(entry, dict) else None
        if kind is None or not has_text(f"notify.{kind}.body"):
            continue
        params = await _params(replace(row, kind=kind, payload=entry), v, ticket)
        found.append(esc(t(row.language, f"notify.{kind}.body", **params)))
    return found


async def _params(row: OutboxRow, v: View, ticket: Ticket | None) -> dict[str, Any]:
    lang, payload = row.language, row.payload
    params: dict[str, Any] = {"number": row.ticket}
    if ticket is not None:
        params.update(
            subject=ticket.subject,
            status=status_name(lang, str(payload.get("new") or ticket.status.value)),
            responsible=await v.name(ticket.responsible_id) or t(lang, "tg.card.nobody"))
    params["author"] = await v.name(payload.get("actor")) or t(lang, "tg.someone")
    # Values the producer rendered already (SLA alerts) take precedence.
    params.update({k: v_ for k, v_ in payload.items() if isinstance(v_, str | int)})
    return params


async def _templated(row: OutboxRow, v: View) -> ChatNotice | None:
    key = f"notify.{row.kind}.body"
    if not has_text(key):
        return _given(row.payload)
    ticket = None if row.ticket is None else await v.tickets.get(row.ticket)
    html = esc(t(row.language, key, **await _params(row, v, ticket)))
    return ChatNotice(_mention_responsible(row, html))


def _mention_responsible(row: OutboxRow, html: str) -> str:
    """An SLA alert names the responsible as a real mention, so Telegram notifies them."""
    user, name = row.payload.get("responsible_telegram_id"), row.payload.get("responsible")
    if row.kind not in (K.SLA_WARNING, K.SLA_BREACH) or not isinstance(user, int) \
            or not isinstance(name, str) or esc(name) not in html:
        return html
    head, _, tail = html.rpartition(esc(name))
    return head + mention(user, name) + tail


def _given(payload: Mapping[str, Any]) -> ChatNotice | None:
    """A row some other part queued with its text ready: `html` as is, `text` escaped."""
    if isinstance(payload.get("html"), str):
        return ChatNotice(payload["html"])
    if isinstance(payload.get("text"), str):
        return ChatNotice(esc(payload["text"]))
    return None


async def _comment(row: OutboxRow, v: View) -> ChatNotice | None:
    head = await _templated(row, v)
    comment_id = row.payload.get("comment_id")
    if head is None or row.ticket is None or not isinstance(comment_id, int):
        return head
    comment = await v.comment(row.ticket, comment_id)
    text = None if comment is None else comment_text(row.language, comment.body)
    return head if text is None else ChatNotice(lines(head.html, quote(text, COMMENT_LIMIT)))


async def _rating(row: OutboxRow, v: View) -> ChatNotice | None:
    payload, lang = row.payload, row.language
    text = t(lang, "rating.ask.body", number=payload.get("ticket", row.ticket),
             subject=payload.get("subject", ""), scale=payload.get("scale", 5))
    buttons = [[{"text": f"{c['score']} ⭐", "data": str(c["token"])}
                for c in payload.get("choices", [])]]
    return ChatNotice(esc(text), buttons if buttons[0] else None)


async def _digest(row: OutboxRow, v: View) -> ChatNotice | None:
    payload = row.payload
    png = payload.get("chart_png")
    return ChatNotice(esc(str(payload.get("text", ""))),
                  photo=base64.b64decode(png) if isinstance(png, str) else None,
                  caption=esc(str(payload.get("caption", ""))))
