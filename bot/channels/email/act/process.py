"""One stored mail -> what it is and what the engine should do about it.

Machine noise is ignored with the reason (a bounce of our own mail notes the ticket and
suppresses the address); a verified specialist's command runs; a person's mail opens a
ticket or comments on one (bot/threading decides which). The work goes through a
`Session`: the service's own transactions, or one shared by a batch of mails.

A crash between the engine's commit and the row's `finish` is harmless: the mail's
Message-ID is recorded with the engine's change, so the replay finds it and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo

from bot.channels.email.act import client_asks, mail_finding, mailcmd, refused_files
from bot.channels.email.act.autoloop import echoed_ticket
from bot.channels.email.act.cc_notice import cc_to_notify
from bot.channels.email.act.fate import Fate
from bot.channels.email.act.rating_mail import MailRatings
from bot.channels.email.act.replies import Asker, Replies
from bot.channels.email.act.session import Session
from bot.channels.email.act.staffproof import lifetime_of, prove
from bot.channels.email.receive import raw
from bot.channels.email.understand.bounce_status import permanent_failures
from bot.channels.email.understand.colleagues import Colleagues
from bot.channels.email.understand.identity import MailIdentity
from bot.channels.email.understand.noise import (
    Noise,
    bounced_message_ids,
    bounced_recipients,
    classify,
)
from bot.channels.email.understand.offload import MailParser
from bot.channels.email.understand.parse import MAX_TEXT_CHARS, TRUNCATED_DEFECT, ParsedMail
from bot.channels.email.understand.senders import CompanyDomains, display_name, guess_language
from bot.channels.email.understand.tokens import MailToken
from bot.i18n import t
from bot.runtime import Runtime
from bot.threading.rules import MAIL, Facts, Thread, ThreadContext, tag_number, tag_pattern
from bot.threading.rules import resolve as thread_of
from engine import commands as c
from engine.bus import Outcome
from engine.errors import EngineError
from engine.inbox import InboundRow
from engine.model import Attachment, Person
from engine.views import Reading

log = logging.getLogger("ticketbot.email.intake")

MAX_CC = 20
# The fate of a reply that only quoted earlier mail: its comment holds no text (the inbound
# journal keeps the mail), and staff can find it by this reason.
NO_NEW_TEXT = "no new text: the reply only quoted earlier mail"
ECHO_RULE = "auto_loop"
UNVERIFIED = "_unverified"  # staff mail that proves nothing: the rule it matched, marked
_PREFIX = re.compile(r"^\s*(?:(?:re|fw|fwd|aw|wg|tr|rv|sv|отв|ответ|пересл|fwd?)\s*"
                     r"(?:\[\d+\]|\(\d+\))?\s*:\s*)+", re.IGNORECASE)


@dataclass(frozen=True)
class MailContext:
    """What every mail is judged against; built once per intake."""

    rt: Runtime
    identity: MailIdentity
    tag: re.Pattern[str]
    companies: CompanyDomains
    tz: ZoneInfo
    rating_scale: int
    reopen_days: int
    parser: MailParser = field(default_factory=MailParser)  # off the event loop

    @classmethod
    def of(cls, rt: Runtime) -> MailContext:
        s = rt.settings
        return cls(rt, MailIdentity.of(s, rt.secret), tag_pattern(s.email.subject_tag),
                   CompanyDomains(rt.views), ZoneInfo(s.timezone), s.sla.ratings.scale,
                   s.reopen_days)


@dataclass(frozen=True)
class IncomingMail:
    row: InboundRow
    mail: ParsedMail
    envelope: tuple[str, ...]
    truncated: int | None
    reply: str  # the text without its quoted part

    @property
    def ref(self) -> str:
        return self.row.external_id


def clean_subject(subject: str, tag: re.Pattern[str]) -> str:
    """`Re: AW: [#12] Printer` -> `Printer`: the subject a new ticket should carry."""
    return _PREFIX.sub("", tag.sub("", _PREFIX.sub("", subject))).strip()


def _refs(mail: ParsedMail) -> tuple[str, ...]:
    """Newest first: In-Reply-To, then References from the end."""
    ordered = [mail.in_reply_to or "", *reversed(mail.references)]
    return tuple(dict.fromkeys(raw.normalise_ref(r) for r in ordered if r.strip()))


# RFC 5321's bound for a whole address; a longer "address" names nobody we can answer.
MAX_ADDRESS = 320
_MIME_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")
MAX_MIME_TYPE = 255


def _usable(address: str | None) -> bool:
    return bool(address) and "@" in str(address) and len(str(address)) <= MAX_ADDRESS


def _sender_address(mail: ParsedMail) -> str | None:
    address = mail.from_addr or next(iter(mail.reply_to), None)
    return address if _usable(address) else None


def _content_type(value: str) -> str:
    """A type/subtype as declared, or application/octet-stream for one that is not (a stray
    8-bit byte, an endless value): the file is kept either way."""
    lowered = value.strip().lower()
    ok = len(lowered) <= MAX_MIME_TYPE and _MIME_TYPE.fullmatch(lowered) is not None
    return lowered if ok else "application/octet-stream"


def stored_text(text: str, mail: ParsedMail, language: str) -> str:
    """The text to store, with a note when the parser cut it (the raw mail is kept whole)."""
    if TRUNCATED_DEFECT not in mail.defects:
        return text
    note = t(language, "mail.text_cut_note", limit=MAX_TEXT_CHARS)
    return f"{text.rstrip()}\n\n{note}"


def _suppressed(ours: list[MailToken], failed: tuple[str, ...], gone: tuple[str, ...]) -> str:
    if not ours:
        return "suppressed nothing (not a bounce of our mail)"
    kept = [a for a in failed if a not in gone]
    said = f"suppressed {', '.join(gone) or 'nothing'}"
    return said + (f"; not suppressed (not a permanent address failure): {', '.join(kept)}"
                   if kept else "")


def _attachments(mail: ParsedMail, inbound_id: int | None = None) -> tuple[Attachment, ...]:
    """The mail's files, naming the stored raw mail that holds their bytes (the store
    keeps a reference, not a second copy)."""
    return tuple(Attachment(a.filename, _content_type(a.content_type), a.data,
                            found_in=inbound_id) for a in mail.attachments)


class MailProcessor:
    def __init__(self, ctx: MailContext, session: Session) -> None:
        self.ctx = ctx
        self.s = session
        self.settings = ctx.rt.settings
        self.id = ctx.identity
        self.replies = Replies(session.enqueue)
        self.commands = mailcmd.Runner(ctx.rt, session, ctx.identity, self.replies, ctx.tz)
        self.ratings = MailRatings(session, ctx.identity, ctx.rt.outbox, self.replies,
                                   ctx.rating_scale)
        self._suppressed: set[str] | None = None

    # ------------------------------------------------------------ one mail

    async def read(self, row: InboundRow) -> IncomingMail:
        """The parsing, which needs no database: a batch does it before its transaction."""
        return await self._incoming(row)

    async def handle(self, row: InboundRow, inc: IncomingMail | None = None) -> Fate:
        inc = inc or await self._incoming(row)
        noise = self._noise(inc.mail)
        if noise is not None:
            return await self._on_noise(noise, inc)
        return await self._person_mail(inc)

    async def _incoming(self, row: InboundRow) -> IncomingMail:
        data = row.raw or b""
        done = await self.ctx.parser.of(row)
        return IncomingMail(row, done.mail, raw.envelope_of(data), raw.truncated_size(data),
                            done.reply)

    def _noise(self, mail: ParsedMail) -> Noise | None:
        if self.id.is_own(mail.from_addr):
            return Noise("own_loop", f"sent from our own address {mail.from_addr}")
        return classify(mail, own_domains=self.id.noise_domains,
                        loop_header_value=self.id.loop_value)

    async def _person_mail(self, inc: IncomingMail) -> Fate:
        address = _sender_address(inc.mail)
        # In a batch, reads see what the earlier mails of the batch wrote.
        async with self.s.reading() as view:
            known = await view.refs.find([inc.ref])
            sender = None if known or address is None else await view.people.by_email(address)
            thread = None if sender is None else await self._thread(view, inc, sender)
        if known is not None:
            return Fate("done", known, "already applied (replay)", "replay")
        registered = sender is None
        if sender is None and address is not None:
            sender, thread = await self._newcomer(inc, address)
        if sender is None or thread is None:
            return await self._anonymous(inc)
        if address is not None:
            await self._lift_suppression(inc, address)
        return await self._act(inc, sender, thread, known=not registered)

    async def _lift_suppression(self, inc: IncomingMail, address: str) -> None:
        """The address wrote to us, so it exists: mail it again (a desk event says so).
        The suppressed addresses are read once per processor (a batch), not per mail."""
        if self._suppressed is None:
            self._suppressed = set(await self.ctx.rt.inbound.suppressed())
        if address.strip().lower() in self._suppressed:
            self._suppressed.discard(address.strip().lower())
            await self.s.bus.handle(c.UnsuppressAddress(
                actor=None, channel=raw.CHANNEL, at=inc.row.received_at, source_ref=inc.ref,
                address=address, reason=f"wrote to us: {inc.ref}"[:500]))

    async def _newcomer(self, inc: IncomingMail, address: str) -> tuple[Person | None,
                                                                       Thread | None]:
        """An unknown sender, registered as a client by the engine, and their mail's thread."""
        mail = inc.mail
        outcome = await self.s.bus.handle(c.RegisterContact(
            actor=None, channel=raw.CHANNEL, at=inc.row.received_at, source_ref=inc.ref,
            address=address, name=display_name(mail.from_name, address),
            company_id=await self.ctx.companies.company_of(address),
            language=guess_language(f"{mail.subject}\n{mail.text}", self.settings.language)))
        sender = outcome.person
        if sender is None:
            return None, None
        async with self.s.reading() as view:
            return sender, await self._thread(view, inc, sender)

    async def _thread(self, view: Reading, inc: IncomingMail, sender: Person) -> Thread | None:
        mail = inc.mail
        facts = Facts(sender=sender, at=inc.row.received_at,
                      address=(mail.from_addr or sender.emails[0]).lower(),
                      named=tag_number(self.ctx.tag, mail.subject), refs=_refs(mail),
                      addresses=tuple(dict.fromkeys((*inc.envelope, *mail.to, *mail.cc))))
        ctx = ThreadContext(view, self.ctx.reopen_days, ref_token=self.id.ref_ticket,
                            address_token=self.id.address_ticket,
                            colleague=Colleagues(view.people).of_requester)
        return await thread_of(facts, ctx, MAIL)

    def _asker(self, inc: IncomingMail, sender: Person) -> Asker:
        return Asker(inc.row.id, inc.ref, inc.mail.subject,
                     inc.mail.from_addr or sender.emails[0], sender)

    # ------------------------------------------------------------ acting

    async def _act(self, inc: IncomingMail, sender: Person, thread: Thread, *,
                   known: bool) -> Fate:
        reply = inc.reply
        special = await self._special(inc, sender, reply)
        if special is not None:
            return special
        thread = await self._checked(inc, sender, thread)
        try:
            if thread.ticket is None:
                number = await self._open(inc, sender, thread, known)
            else:
                number = await self._comment(inc, sender, thread, reply)
        except EngineError as exc:
            return await self._refused(inc, sender, thread, exc)
        await self._note_truncated(inc, number)
        reasons = [f"linked to #{thread.linked_to}" if thread.linked_to is not None else "",
                   NO_NEW_TEXT if thread.ticket is not None and not reply else ""]
        if thread.rule == ECHO_RULE:
            reasons = ["echoes our acknowledgement of this ticket: added to it, no new ticket"]
        return Fate("done", number, "; ".join(filter(None, reasons)) or None, thread.rule)

    async def _checked(self, inc: IncomingMail, sender: Person, thread: Thread) -> Thread:
        """Staff mail that does not reply to a recent mail we sent that person is anyone's
        mail: it opens a ticket linked to the one it names, never a note in their name
        (staffproof.py). A would-be new ticket that echoes our acknowledgement joins the
        ticket it echoes (autoloop.py)."""
        if thread.ticket is not None and not self._proven(inc, sender):
            return Thread(None, f"{thread.rule}{UNVERIFIED}", linked_to=thread.ticket)
        if thread.ticket is not None or thread.linked_to is not None:
            return thread
        window = dt.timedelta(minutes=self.settings.email.auto_loop_minutes)
        address = (inc.mail.from_addr or sender.emails[0]).lower()
        async with self.s.reading() as view:
            echoed = await echoed_ticket(view, sender, address, inc.mail.text,
                                         inc.row.received_at, window)
        return thread if echoed is None else Thread(echoed, ECHO_RULE)

    def _proven(self, inc: IncomingMail, sender: Person) -> bool:
        """Anyone but staff needs no proof; staff need a fresh token of theirs."""
        if not sender.role.is_staff:
            return True
        return prove(sender, map(self.id.ref_token, _refs(inc.mail)), inc.row.received_at,
                     lifetime_of(self.settings.email.staff_link_days)).verified

    async def _special(self, inc: IncomingMail, sender: Person, reply: str) -> Fate | None:
        """A specialist's command, or a requester's rating; None for an ordinary mail."""
        at, refs = inc.row.received_at, _refs(inc.mail)
        if sender.role.is_staff:
            found = mailcmd.first_command(reply)
            return None if found is None else await self.commands.run(
                self._asker(inc, sender), at, replace(found, files=_attachments(inc.mail)),
                refs)
        finding = mail_finding.client_asks(reply)
        if finding is not None:  # F17: /find, and staff commands refused
            return await mail_finding.answer_client(self.ctx.rt, self.replies,
                                                    self._asker(inc, sender), finding, at)
        if client_asks.asks(reply):
            return await client_asks.answer(self.s, self.replies, self._asker(inc, sender))
        vote = await self.ratings.vote(inc.mail.subject, reply, refs, sender.id)
        return None if vote is None else \
            await self.ratings.record(self._asker(inc, sender), vote, at)

    async def _open(self, inc: IncomingMail, sender: Person, thread: Thread,
                    known: bool) -> int | None:
        mail = inc.mail
        subject = clean_subject(mail.subject, self.ctx.tag) or mail.text.strip()[:80]
        cc = tuple(dict.fromkeys(a for a in (*mail.to, *mail.cc) if _usable(a)
                                 and not self.id.is_own(a) and not sender.has_email(a)))[:MAX_CC]
        outcome = await self.s.bus.handle(c.OpenTicket(
            actor=sender.id, channel=raw.CHANNEL, at=inc.row.received_at, subject=subject,
            description=self._flagged(stored_text(mail.text, mail, self.settings.language),
                                      inc, thread),
            requester_id=sender.id, cc=cc,
            notify_cc=cc_to_notify(mail, self.id, sender, known, cc),
            source_ref=inc.ref, attachments=_attachments(mail, inc.row.id),
            linked_to=thread.linked_to, mailbox=self._mailbox(inc)))
        await self._refused_files(inc, outcome, sender)
        return outcome.ticket

    def _mailbox(self, inc: IncomingMail) -> str | None:
        """Which of our addresses the mail was delivered to (routing, F12): the envelope's
        first, else the first of To and Cc (IMAP keeps no envelope)."""
        mail = inc.mail
        return next((a for a in (*inc.envelope, *mail.to, *mail.cc) if self.id.is_own(a)), None)

    def _flagged(self, text: str, inc: IncomingMail, thread: Thread) -> str:
        """Staff reading the ticket see that its sender's address proves nothing."""
        if not thread.rule.endswith(UNVERIFIED):
            return text
        note = t(self.settings.language, "mail.unverified_staff",
                 address=inc.mail.from_addr or "?")
        return f"{note}\n\n{text}"

    async def _comment(self, inc: IncomingMail, sender: Person, thread: Thread,
                       reply: str) -> int | None:
        assert thread.ticket is not None
        at = inc.row.received_at
        if thread.observe:
            await self.s.bus.handle(c.AddObserver(actor=None, channel=raw.CHANNEL, at=at,
                                                   ticket=thread.ticket, person_id=sender.id))
        # Staff mail that is not a command stays internal: an answer to the client is an
        # explicit `/reply`, so a forwarded internal thread can never leak.
        outcome = await self.s.bus.handle(c.AddComment(
            actor=sender.id, channel=raw.CHANNEL, at=at, ticket=thread.ticket,
            body=stored_text(reply, inc.mail, self.settings.language),
            public=not sender.role.is_staff, source_ref=inc.ref,
            attachments=_attachments(inc.mail, inc.row.id)))
        await self._refused_files(inc, outcome, sender)
        return outcome.ticket

    async def _refused_files(self, inc: IncomingMail, outcome: Outcome,
                             sender: Person | None) -> None:
        await refused_files.tell(self.s, self.settings, outcome, inbound_id=inc.row.id,
                                 ref=inc.ref, subject=inc.mail.subject,
                                 at=inc.row.received_at, sender=sender,
                                 address=None if sender is None else _sender_address(inc.mail))

    async def _anonymous(self, inc: IncomingMail) -> Fate:
        """No usable sender address: still a ticket, so staff see it; nobody to answer."""
        mail = inc.mail
        outcome = await self.s.bus.handle(c.OpenTicket(
            actor=None, channel=raw.CHANNEL, at=inc.row.received_at,
            subject=clean_subject(mail.subject, self.ctx.tag) or mail.text.strip()[:80] or "?",
            description=stored_text(mail.text, mail, self.settings.language),
            source_ref=inc.ref, attachments=_attachments(mail, inc.row.id)))
        await self._refused_files(inc, outcome, None)
        return Fate("done", outcome.ticket, "no sender address: nobody to answer", "new")

    async def _refused(self, inc: IncomingMail, sender: Person, thread: Thread,
                       exc: EngineError) -> Fate:
        if sender.role.is_staff:
            await self.replies.explain(self._asker(inc, sender), exc, thread.ticket)
        return Fate("ignored", thread.ticket, f"refused: {exc}", thread.rule, sender.id)

    async def _note_truncated(self, inc: IncomingMail, number: int | None) -> None:
        if inc.truncated is None or number is None:
            return
        text = t(self.settings.language, "mail.truncated_note", size=inc.truncated,
                 limit=self.settings.email.max_size)
        await self.s.bus.handle(c.AddComment(actor=None, channel=raw.CHANNEL,
                                              at=inc.row.received_at, ticket=number, body=text,
                                              public=False))

    # ------------------------------------------------------------ noise

    async def _on_noise(self, noise: Noise, inc: IncomingMail) -> Fate:
        if noise.kind == "bounce":
            return await self._bounce(noise, inc)
        async with self.s.reading() as view:
            related = await view.refs.find(_refs(inc.mail))
        return Fate("ignored", related, f"{noise.kind}: {noise.reason}", "noise")

    async def _bounce(self, noise: Noise, inc: IncomingMail) -> Fate:
        """A bounce of a mail we sent: note it on the ticket, stop mailing the address. A
        bounce that names none of our (signed) Message-IDs suppresses nothing: anyone can
        write a fake bounce."""
        ids = tuple(dict.fromkeys(raw.normalise_ref(i) for i in bounced_message_ids(inc.mail)))
        ours = [tok for tok in map(self.id.ref_token, ids) if tok is not None]
        async with self.s.reading() as view:
            ticket = await view.refs.find(ids) or next((x.ticket for x in ours if x.ticket), None)
            replay = await view.refs.find([inc.ref]) is not None
        failed = bounced_recipients(inc.mail) if ours else ()
        # Only "no such address" stops our mail; a full mailbox or a policy refusal passes.
        gone = permanent_failures(inc.mail, failed)
        if self._suppressed is not None:
            self._suppressed.update(gone)
        for address in gone:
            await self.s.bus.handle(c.SuppressAddress(
                actor=None, channel=raw.CHANNEL, at=inc.row.received_at, source_ref=inc.ref,
                address=address, reason=f"bounce {inc.ref}: {noise.reason}"[:500]))
        if ticket is not None and ours and not replay:
            await self._bounce_note(inc, ticket, failed, gone, noise)
        return Fate("ignored", ticket, f"bounce: {noise.reason}; {_suppressed(ours, failed, gone)}",
                    "noise")

    async def _bounce_note(self, inc: IncomingMail, ticket: int, failed: tuple[str, ...],
                           gone: tuple[str, ...], noise: Noise) -> None:
        lang, kept = self.settings.language, tuple(a for a in failed if a not in gone)
        notes = [t(lang, "mail.bounced_note", addresses=", ".join(gone) or "?",
                   reason=noise.reason)] if gone or not kept else []
        if kept:
            notes.append(t(lang, "mail.bounced_kept_note", addresses=", ".join(kept),
                           reason=noise.reason))
        text = "\n".join(notes)
        try:
            await self.s.bus.handle(c.AddComment(
                actor=None, channel=raw.CHANNEL, at=inc.row.received_at, ticket=ticket,
                body=text, public=False, source_ref=inc.ref))
        except EngineError as exc:
            log.warning("bounce note on #%s refused: %s", ticket, exc)
