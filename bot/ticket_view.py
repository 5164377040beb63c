"""A ticket as a person reads it in a terminal: its fields, then comments and events in
the order they happened. Times in the installation's time zone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from bot.commands.required import spent_text
from bot.files import human_size
from bot.i18n import comment_text, has_text, priority_name, status_name, t
from engine.finding import Hit

Row = Mapping[str, Any]


def _when(value: str | None, tz: ZoneInfo) -> str:
    if not value:
        return "—"
    return dt.datetime.fromisoformat(value).astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def _who(person_id: int | None, names: Mapping[int, str], lang: str) -> str:
    if person_id is None:
        return t(lang, "view.system")
    return names.get(person_id, f"#{person_id}")


def render_ticket_list(rows: Sequence[Row], lang: str) -> str:
    if not rows:
        return t(lang, "view.empty")
    return "\n".join(f"#{r['number']:<6} {status_name(lang, r['status']):<14} {r['subject']}"
                     for r in rows)


def render_ticket(detail: Row, names: Mapping[int, str], lang: str, tz: ZoneInfo,
                  sla: Sequence[str] = ()) -> str:
    lines = _header(detail, names, lang, tz) + list(sla) + _files(detail, names, lang, tz)
    lines += ["", t(lang, "view.history") + ":"]
    for _, entry in sorted(_history(detail, names, lang, tz)):
        lines.extend(entry)
    return "\n".join(lines)


def _header(d: Row, names: Mapping[int, str], lang: str, tz: ZoneInfo) -> list[str]:
    nobody = t(lang, "view.nobody")
    observers = ", ".join(_who(p, names, lang) for p in d.get("observers", [])) or nobody
    lines = [
        f"#{d['number']} {d['subject']}  [{status_name(lang, d['status'])}]",
        f"{t(lang, 'view.type')}: {d['type']} · {t(lang, 'view.priority')}: "
        f"{priority_name(lang, d['priority'])} · {t(lang, 'view.channel')}: {d['channel']}",
        f"{t(lang, 'view.requester')}: {_who(d['requester_id'], names, lang)} · "
        f"{t(lang, 'view.responsible')}: "
        f"{nobody if d['responsible_id'] is None else _who(d['responsible_id'], names, lang)}",
        f"{t(lang, 'view.observers')}: {observers}",
        f"{t(lang, 'view.created')}: {_when(d['created_at'], tz)} · "
        f"{t(lang, 'view.updated')}: {_when(d['updated_at'], tz)}",
    ]
    return lines + _optional(d, lang, tz)


def _files(d: Row, names: Mapping[int, str], lang: str, tz: ZoneInfo) -> list[str]:
    """Every file of the ticket: id, name, size, the type read from its bytes, who sent
    it and when (names are stored clean, so they are safe to print)."""
    lines = []
    for c in d.get("comments", []):
        for a in c.get("attachments", []):
            state = _refused(lang, a["refused"]) if a["refused"] \
                else a["content_type"]
            lines.append(f"  {a['id']:>4}  {a['filename']} · {human_size(a['size'])} · "
                         f"{state} · {_who(c['author_id'], names, lang)} · "
                         f"{_when(c['created_at'], tz)}")
    return ["", t(lang, "view.files") + ":", *lines] if lines else []


def _optional(d: Row, lang: str, tz: ZoneInfo) -> list[str]:
    lines = []
    if d.get("waiting_until"):
        lines.append(f"{t(lang, 'view.waiting_until')}: {_when(d['waiting_until'], tz)}")
    if d.get("desk"):
        lines.append(f"{t(lang, 'view.desk')}: {d['desk']}")
    if d.get("planned_resolution"):
        lines.append(f"{t(lang, 'view.planned')}: {_when(d['planned_resolution'], tz)}")
    if d.get("linked_to"):
        lines.append(t(lang, "view.linked", number=d["linked_to"]))
    if d.get("tags"):
        lines.append(f"{t(lang, 'view.tags')}: {', '.join(d['tags'])}")
    if d.get("cc"):
        lines.append(f"{t(lang, 'view.cc')}: {', '.join(d['cc'])}")
    if d.get("internal"):
        lines.append(t(lang, "fields.line.type", type=d["type"]) + " · "
                     + t(lang, "fields.line.internal"))
    if d.get("planned_resolution"):
        lines.append(t(lang, "fields.line.due", due=_when(d["planned_resolution"], tz)))
    if d.get("time_spent_minutes"):
        lines.append(t(lang, "fields.line.spent",
                       spent=spent_text(int(d["time_spent_minutes"]), lang)))
    links = [f"{t(lang, f'dir.field.{k}')} #{d[f'{k}_id']}"  # F11 (`ticketbot contract show ID`)
             for k in ("company", "contract", "object", "equipment") if d.get(f"{k}_id")]
    if links:
        lines.append(" · ".join(links))
    return lines


def _history(d: Row, names: Mapping[int, str], lang: str,
             tz: ZoneInfo) -> list[tuple[tuple[str, int, int], list[str]]]:
    # Comments carry their own text, so their "comment" events would only repeat them.
    return [((c["created_at"], 1, c["id"]), _comment(c, names, lang, tz))
            for c in d.get("comments", [])] + [
        ((e["at"], 0, e["id"]), [_event(e, names, lang, tz)])
        for e in d.get("events", []) if e["kind"] not in ("comment", "edit")]


def _refused(lang: str, code: str) -> str:
    """Why a file was not kept, in words (`refused` stores the reason's code)."""
    key = f"view.refused.{code}"
    return t(lang, "view.file_refused", reason=t(lang, key) if has_text(key) else code)


def _comment(c: Row, names: Mapping[int, str], lang: str, tz: ZoneInfo) -> list[str]:
    kind = t(lang, "view.public" if c["public"] else "view.internal")
    head = f"{_when(c['created_at'], tz)}  {_who(c['author_id'], names, lang)} ({c['channel']}), {kind}:"
    body = [f"    {line}" for line in comment_text(lang, c["body"] or "").splitlines()]
    files = [f"    [{a['filename']}, {a['size']} B, "
             + (_refused(lang, a["refused"]) if a.get("refused")
                else f"sha256 {a['sha256'][:12]}") + "]"
             for a in c.get("attachments", [])]
    return [head, *body, *files]


def _event(e: Row, names: Mapping[int, str], lang: str, tz: ZoneInfo) -> str:
    p = dict(e.get("payload") or {})
    kind = e["kind"]
    if kind == "status":
        p = {"old": status_name(lang, p["old"]), "new": status_name(lang, p["new"])}
    elif kind == "priority":
        p = {"old": priority_name(lang, p["old"]), "new": priority_name(lang, p["new"])}
    elif kind == "responsible":
        nobody = t(lang, "view.nobody")
        p = {k: nobody if p.get(k) is None else _who(p[k], names, lang) for k in ("old", "new")}
    elif kind == "files_refused":
        p = {"files": ", ".join(f"{f[0]} ({human_size(f[1])})" for f in p.get("files", []))}
    elif kind in ("observer", "unobserve"):
        p = {"person": _who(p.get("person_id"), names, lang)}
    elif kind in ("due", "spent"):
        p = _fields_event(kind, p, lang, tz)
    elif kind == "routed":
        p = {"rule": p.get("rule"), "changes": routed_changes(p, names, lang)}
    elif kind == "moved":
        p = {"old": p.get("old") or "—", "new": p.get("new")}
    elif kind == "directory_link":  # F11: ids of directory entries, "—" for none
        p = {"field": t(lang, f"dir.field.{p['field']}"),
             **{k: "—" if p.get(k) is None else f"#{p[k]}" for k in ("old", "new")}}
    key = f"view.event.{kind}"
    text = t(lang, key, **p) if key in _KNOWN else t(lang, "view.event.other", kind=kind)
    return f"{_when(e['at'], tz)}  {_who(e['actor'], names, lang)} ({e['channel']}): {text}"


_KNOWN = frozenset(f"view.event.{k}" for k in
                   ("opened", "status", "responsible", "priority", "observer", "tag",
                    "type", "untag", "unobserve", "cc_added", "cc_removed", "due", "spent",
                    "routed", "moved", "directory_link", "merged",
                    "files_refused"))


def _fields_event(kind: str, p: Row, lang: str, tz: ZoneInfo) -> dict[str, str]:
    """The planned date and the time spent, as people read them (engine/fields.py)."""
    if kind == "due":
        return {k: _when(p.get(k), tz) for k in ("old", "new")}
    minutes = int(p.get("minutes", 0))
    sign = "-" if minutes < 0 else "+"
    return {"minutes": sign + spent_text(abs(minutes), lang),
            "total": spent_text(int(p.get("total", 0)), lang)}


def routed_changes(p: Row, names: Mapping[int, str], lang: str) -> str:
    """What a routing rule set (a `routed` event's payload), e.g. "assigned to Sam, desk
    billing, priority high"."""
    parts = []
    if p.get("responsible_id") is not None:
        parts.append(t(lang, "route.responsible", name=_who(p["responsible_id"], names, lang)))
    if p.get("desk"):
        parts.append(t(lang, "route.desk", desk=p["desk"]))
    if p.get("priority"):
        parts.append(t(lang, "route.priority", priority=priority_name(lang, p["priority"])))
    if p.get("type"):
        parts.append(t(lang, "route.type", type=p["type"]))
    if p.get("tags"):
        parts.append(t(lang, "route.tags", tags=", ".join(p["tags"])))
    if p.get("observers"):
        parts.append(t(lang, "route.observers",
                       names=", ".join(_who(x, names, lang) for x in p["observers"])))
    return ", ".join(parts) or t(lang, "route.nothing")


def render_hits(hits: Sequence[Hit], lang: str) -> str:
    """`ticket list --search`: one line per ticket, its text's matching line below."""
    if not hits:
        return t(lang, "view.empty")
    return "\n".join(f"#{h.number:<6} {status_name(lang, h.status.value):<14} {h.subject}\n"
                     f"        {h.snippet}" for h in hits)
