"""An outbox row -> the subject, text and threading headers of the mail, in the recipient's
language. What a client may read is decided here, row by row: never an internal note,
never a staff-only notice (`NoticeKind.readers`) or field (responsible, time spent, planned
resolution), and a comment only when it is public."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

from bot.attachments import files_of, request_of
from bot.channels.email.receive.raw import is_real_ref
from bot.file_size import size_text
from bot.i18n import comment_text, has_text, status_name, t
from config.settings import Settings
from engine.model import Attachment, Comment, Person, Ticket
from engine.notify.combine import RATING
from engine.notify.kinds import NoticeKind, Place
from engine.outbox import OutboxRow
from engine.views import Reading

K = NoticeKind
_BY_VALUE = {k.value: k for k in K}
# Answers to a mail just received: RFC 3834 `auto-replied`, and the per-recipient cap.
AUTO_REPLIED = frozenset({K.ACK, K.CREATED_CC, K.MAIL_REPLY})
# Kinds whose mail carries the ticket's first text (the request itself), for staff.
WITH_REQUEST = frozenset({K.CREATED, K.ASSIGNED})
# Staff notices that may be about no ticket (a set-aside first-line answer or digest):
# rendered from their payload alone, with `notify.<kind>.desk_body`.
DESK_KINDS = frozenset({K.DELIVERY_FAILED})


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    auto_submitted: str = "auto-generated"
    attachments: tuple[Attachment, ...] = ()
    # The From address: the ticket's desk's mailbox (engine/desks.py); None: ours.
    sender: str | None = None


@dataclass(frozen=True)
class Skip:
    reason: str


@dataclass(frozen=True)
class _Scene:
    row: OutboxRow
    ticket: Ticket
    refs: list[str]  # the Message-IDs of the ticket's comments, oldest first
    comment: Comment | None  # the comment a COMMENT or NOTE notice carries, with its files
    reader: Person | None
    request: Comment | None = None  # the ticket's first comment, for staff WITH_REQUEST

    @property
    def staff(self) -> bool:
        return self.reader is not None and self.reader.role.is_staff


class Renderer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tz = ZoneInfo(settings.timezone)

    def tag(self, number: int) -> str:
        return self.settings.email.subject_tag.format(number=number)

    async def render(self, row: OutboxRow, view: Reading) -> Rendered | Skip:
        if row.kind is K.MAIL_REPLY:
            return self._reply(row)
        if Place.MAIL not in row.kind.places:
            return Skip(f"{row.kind} rows are not sent by mail")
        if row.ticket is None and row.kind in DESK_KINDS:
            return await self._desk(row, view)
        ticket = None if row.ticket is None else await view.tickets.get(row.ticket)
        if ticket is None:
            return Skip(f"no ticket for a {row.kind} notice")
        reader = None if row.person_id is None else await view.people.get(row.person_id)
        # Only what the mail shows: the Message-IDs to thread under, and the one comment
        # (and its files) a comment notice carries, never every file of the ticket.
        scene = _Scene(row, ticket, await view.comments.source_refs(ticket.number),
                       await _carried(row, view), reader)
        if scene.staff and row.kind in WITH_REQUEST:  # the client's files go to staff
            scene = replace(scene, request=request_of(
                await view.comments.for_ticket(ticket.number)))
        if not scene.staff and not row.kind.for_clients:
            return Skip(f"{row.kind} notices are for staff only")
        if row.kind is K.RATING_REQUEST:
            return self._rating(scene)
        params = await self._params(scene, view)
        body = self._body(scene, params, await self._also(scene, view))
        if isinstance(body, Skip):
            return body
        text, files = body
        return Rendered(self._subject(scene, params), text, *self._threading(scene),
                        await _auto_submitted(scene, view), files, self._sender(ticket))

    def _sender(self, ticket: Ticket) -> str | None:
        """A ticket of a desk writes from that desk's first address (billing@ answers
        what was written to billing@); replies still thread by our Reply-To."""
        desk = None if ticket.desk is None else self.settings.engine.desks.get(ticket.desk)
        return desk.addresses[0] if desk is not None and desk.addresses else None

    async def render_acks(self, rows: Sequence[OutboxRow], view: Reading) -> Rendered:
        """One ack for several new requests of one requester (the automatic-mail cap
        tripped on a backlog): each ticket with its tag, threaded under their mails."""
        lang = rows[0].language
        tickets = [found for r in rows if r.ticket is not None
                   and (found := await view.tickets.get(r.ticket)) is not None]
        numbers = ", ".join(f"#{x.number}" for x in tickets)
        lines = [t(lang, "mail.ack_many.body"), "",
                 *(f"{self.tag(x.number)} {x.subject}" for x in tickets), "", "-- ",
                 t(lang, "mail.ack_many.footer",
                   tag=self.tag(tickets[0].number) if tickets else "")]
        refs = tuple(dict.fromkeys(x.source_ref for x in tickets
                                   if x.source_ref is not None and is_real_ref(x.source_ref)))
        return Rendered(t(lang, "mail.ack_many.subject", numbers=numbers), "\n".join(lines),
                        refs[-1] if refs else None, refs, "auto-replied")

    async def _desk(self, row: OutboxRow, view: Reading) -> Rendered | Skip:
        """A staff notice about no ticket: no tag, no thread, no ticket footer."""
        reader = None if row.person_id is None else await view.people.get(row.person_id)
        if reader is None or not reader.role.is_staff:
            return Skip(f"{row.kind} notices are for staff only")
        params = {k: v for k, v in row.payload.items() if isinstance(v, str | int)}
        lang = row.language
        return Rendered(t(lang, f"notify.{row.kind}.subject", **params),
                        t(lang, f"notify.{row.kind}.desk_body", **params))

    def _reply(self, row: OutboxRow) -> Rendered:
        p = row.payload
        subject = str(p.get("subject") or "")
        subject = subject if subject.lower().startswith("re:") else \
            t(row.language, "mail.reply_subject", subject=subject)
        ref = p.get("in_reply_to")
        refs = (str(ref),) if ref else ()
        return Rendered(subject, str(p.get("text", "")), refs[0] if refs else None, refs,
                        "auto-replied")

    def _rating(self, scene: _Scene) -> Rendered:
        """F13: the survey, with one `mailto:` link per score (engine/ratings.py)."""
        lang, ticket = scene.row.language, scene.ticket
        lines = _rating_lines(lang, ticket, scene.row.payload)
        subject = t(lang, "rating.ask.subject", number=ticket.number, subject=ticket.subject)
        return Rendered(f"{self.tag(ticket.number)} {subject}", "\n".join(lines),
                        *self._threading(scene))

    def _subject(self, scene: _Scene, params: dict[str, Any]) -> str:
        tag = self.tag(scene.ticket.number)
        if not scene.staff:
            return f"{tag} {scene.ticket.subject}"
        key = f"notify.{scene.row.kind}.subject"
        text = t(scene.row.language, key, **params) if has_text(key) else scene.ticket.subject
        return f"{tag} {text}"

    async def _params(self, scene: _Scene, view: Reading) -> dict[str, Any]:
        payload, lang = scene.row.payload, scene.row.language
        new = payload.get("new")
        params: dict[str, Any] = {k: v for k, v in payload.items() if isinstance(v, str | int)}
        params.update(number=scene.ticket.number, subject=scene.ticket.subject,
                      author=await self._name(view, payload.get("actor"), lang),
                      status=status_name(lang, new if isinstance(new, str)
                                         else scene.ticket.status.value))
        if scene.staff and scene.row.kind is K.RESPONSIBLE:
            params["responsible"] = await self._name(view, new, lang)
        return params

    async def _name(self, view: Reading, person_id: object, lang: str) -> str:
        person = await view.people.get(person_id) if isinstance(person_id, int) else None
        return person.name if person is not None else t(lang, "mail.system_name")

    async def _also(self, scene: _Scene, view: Reading) -> list[str]:
        """What else the same action told this reader (engine/notify/combine.py)."""
        entries = scene.row.payload.get("also")
        found: list[str] = []
        for entry in entries if isinstance(entries, list) else []:
            kind = _BY_VALUE.get(str(entry.get("kind"))) if isinstance(entry, dict) else None
            if kind is None or not has_text(f"notify.{kind}.body") or \
                    (not scene.staff and not kind.for_clients):
                continue
            other = replace(scene, row=replace(scene.row, kind=kind, payload=entry))
            found.append(t(scene.row.language, f"notify.{kind}.body",
                           **await self._params(other, view)))
        return found

    def _body(self, scene: _Scene, params: dict[str, Any],
              also: list[str]) -> tuple[str, tuple[Attachment, ...]] | Skip:
        lang, kind = scene.row.language, scene.row.kind
        key = f"notify.{kind}.body"
        lines = [t(lang, key, **params) if has_text(key) else
                 str(scene.row.payload.get("text") or scene.ticket.subject)]
        files: tuple[Attachment, ...] = ()
        if kind in (K.COMMENT, K.NOTE):
            comment = scene.comment
            if comment is None or (not comment.public and not scene.staff):
                return Skip("the comment is not public")
            lines += ["", comment_text(lang, comment.body)]
            files = files_of(comment)
        elif scene.staff and kind in WITH_REQUEST:
            files = () if scene.request is None else files_of(scene.request)
        lines += ["", *also] if also else []
        lines += self._extra(scene)
        if scene.staff:  # a client's files are attached whole: they are the answer
            files, left_out = self._within_limit(scene, files)
            lines += ["", *left_out] if left_out else []
        survey = scene.row.payload.get(RATING)  # asked with no delay: under the answer
        if isinstance(survey, dict):
            lines += ["", *_rating_lines(lang, scene.ticket, survey)]
        footer = "mail.footer.staff" if scene.staff else "mail.footer.client"
        lines += ["", "-- ", t(lang, footer, number=scene.ticket.number)]
        return "\n".join(lines), files

    def _within_limit(self, scene: _Scene, files: tuple[Attachment, ...],
                      ) -> tuple[tuple[Attachment, ...], list[str]]:
        """The files small enough for a staff notice (`email.notify_attach_max_bytes`), and
        a line for each of the others: its name, size and the command that fetches it."""
        limit, lang = self.settings.email.notify_attach_max_bytes, scene.row.language
        kept = tuple(f for f in files if f.size <= limit)
        return kept, [t(lang, "files.not_attached", name=f.filename,
                        size=size_text(lang, f.size), number=scene.ticket.number)
                      for f in files if f.size > limit]

    def _extra(self, scene: _Scene) -> list[str]:
        lang, kind, ticket = scene.row.language, scene.row.kind, scene.ticket
        until = scene.row.payload.get("until")
        if kind is K.STATUS and isinstance(until, str):
            moment = dt.datetime.fromisoformat(until).astimezone(self.tz)
            return ["", t(lang, "mail.until", until=moment.strftime("%Y-%m-%d %H:%M"))]
        if scene.staff and kind in WITH_REQUEST:
            return ["", t(lang, "mail.request"), ticket.description]
        return []

    def _threading(self, scene: _Scene) -> tuple[str | None, tuple[str, ...]]:
        """In-Reply-To the newest mail of the ticket, References back to its first mail,
        so every mail client files our notices under the client's own thread."""
        mail_refs = [ref for ref in scene.refs if is_real_ref(ref)]
        first = scene.ticket.source_ref if is_real_ref(scene.ticket.source_ref) else None
        newest = mail_refs[-1] if mail_refs else first
        refs = tuple(dict.fromkeys(r for r in (first, newest) if r))
        return newest, refs


def _rating_lines(lang: str, ticket: Ticket, p: dict[str, Any]) -> list[str]:
    scale = p.get("scale", 5)
    links = [f"{t(lang, 'rating.ask.choice', score=x['score'], scale=scale)}: {x['href']}"
             for x in p.get("links", ()) if isinstance(x, dict)]
    return [t(lang, "rating.ask.body", number=ticket.number, subject=ticket.subject,
              scale=scale), "", t(lang, "rating.ask.mail_hint", scale=scale), "", *links]


async def _carried(row: OutboxRow, view: Reading) -> Comment | None:
    comment_id = row.payload.get("comment_id")
    if row.kind not in (K.COMMENT, K.NOTE) or not isinstance(comment_id, int):
        return None
    comment = await view.comments.get(comment_id)
    return comment if comment is not None and comment.ticket == row.ticket else None


async def _auto_submitted(scene: _Scene, view: Reading) -> str:
    """RFC 3834: our answers to a mail just received are `auto-replied`, our notices
    `auto-generated`; a specialist's own answer is neither (no header), so that the
    client's mail system treats it as the person's mail it is."""
    kind = scene.row.kind
    if kind in AUTO_REPLIED:
        return "auto-replied"
    comment = scene.comment if kind is K.COMMENT else None
    author = None if comment is None or comment.author_id is None \
        else await view.people.get(comment.author_id)
    return "" if author is not None and author.role.is_staff else "auto-generated"
