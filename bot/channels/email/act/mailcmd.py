"""Commands by mail (F6): `/take`, `/close fixed the printer`, ... as the first line of a
specialist's reply to a notification; the lines after it are the comment.

A From header is forgeable, so a command counts only when the mail replies to a recent
mail we sent to that very person (staffproof.py). Refusals are recorded, never answered to
strangers; a verified specialist gets the error explained in their language, and a reply to
an expired link gets one short answer a day, to the specialist's own address.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from bot import canned
from bot.channels.email.act import mail_finding
from bot.channels.email.act.fate import Fate
from bot.channels.email.act.replies import Asker, Replies
from bot.channels.email.act.session import Session
from bot.channels.email.act.staffproof import StaffProof, lifetime_of, prove
from bot.channels.email.understand.identity import MailIdentity
from bot.commands.attach import leftover, takes_files, with_files
from bot.commands.grammar import ParsedCommand, parse_command
from bot.commands.help import render_help
from bot.commands.registry import MAIL, CommandContext, CommandError, Query, build_command
from bot.commands.required import ask_missing, staff_lines
from bot.directory_text import QUERIES as DIRECTORY_QUERIES
from bot.directory_text import directory_answer
from bot.i18n import priority_name, status_name, t
from bot.runtime import Runtime
from engine import commands as c
from engine.access import can_view
from engine.errors import EngineError
from engine.model import Attachment, Person
from engine.sla.status import sla_lines

_MENTION = re.compile(r"^@?[\w.+-]+(?:@[\w.-]+)?$")


@dataclass(frozen=True)
class Found:
    parsed: ParsedCommand | CommandError
    after: str  # the lines below the command line: the comment
    files: tuple[Attachment, ...] = ()  # the mail's attachments (bot/commands/attach.py)


def first_command(reply: str) -> Found | None:
    """The command on the first non-empty line of the (quote-stripped) reply, if any."""
    lines = reply.lstrip().split("\n")
    if not lines or not lines[0].lstrip().startswith("/"):
        return None
    parsed = parse_command("\n".join(lines), bot_username=None)
    if parsed is None:
        return None
    return Found(parsed, "\n".join(lines[1:]).strip())


def mentions(parsed: ParsedCommand) -> list[str]:
    """Words that may name a person (`@ivan`, `ivan@example.com`), to look up up front:
    the registry's resolver is synchronous."""
    return [a for a in parsed.args if "@" in a and _MENTION.match(a)]


def resolver(found: Mapping[str, int | None]) -> Callable[[str], int | None]:
    def resolve(token: str) -> int | None:
        return found.get(token.lower())

    return resolve


# Commands whose builders do not take the text after the command line; that text is then
# kept as an internal note rather than dropped.
_TEXTLESS = (c.Take, c.Assign, c.SetPriority, c.AddObserver, c.AddTag, c.SetType, c.ChangeTags,
             c.RemoveObserver, c.ChangeCc, c.SetDue, c.AddTimeSpent,
             c.LinkTicket, c.SetCompany, c.SetRequester)  # the last three: F11


def leftover_note(command: c.Command, after: str) -> str:
    if not after:
        return ""
    if isinstance(command, _TEXTLESS) or (isinstance(command, c.SetStatus) and not command.text):
        return after
    return ""


class Runner:
    """Runs one command by mail for a specialist, answering them (only them) on refusal."""

    def __init__(self, rt: Runtime, session: Session, identity: MailIdentity,
                 replies: Replies, tz: ZoneInfo) -> None:
        self.rt = rt
        self.s = session
        self.identity = identity
        self.replies = replies
        self.tz = tz

    async def run(self, asker: Asker, at: dt.datetime, found: Found,
                  refs: Sequence[str]) -> Fate:
        proof = prove(asker.person, map(self.identity.ref_token, refs), at,
                      lifetime_of(self.rt.settings.email.staff_link_days))
        token = proof.token
        if token is None:
            return await self._unproven(asker, at, proof)
        if isinstance(found.parsed, CommandError):
            return await self._error(asker, found.parsed, token.ticket)
        ctx = CommandContext(actor=asker.person.id, channel=MAIL, at=at, tz=self.tz,
                             resolve_person=resolver(await self._people(found.parsed)),
                             context_ticket=token.ticket, language=asker.person.language)
        built = build_command(found.parsed, ctx)
        if isinstance(built, Query) and built.name == "answer":
            # F17: the canned answer is the public reply it posts (bot/canned.py).
            built = await canned.reply_command(self.rt.views, self.rt.settings, asker.person,
                                               built, MAIL, at)
        if isinstance(built, CommandError):
            return await self._error(asker, built, token.ticket)
        if isinstance(built, Query):
            return await self._query(asker, built, token.ticket)
        return await self._execute(asker, built, found, token.ticket)

    async def _unproven(self, asker: Asker, at: dt.datetime, proof: StaffProof) -> Fate:
        """Not a reply to a recent mail sent to this specialist: nothing runs. Only a reply to
        an expired link of theirs is answered, once a day, at their own address."""
        if proof.expired is None:
            # To the directory's staff member, whoever wrote the From (at most once a day, so
            # a forger cannot flood them): a command under their name was not carried out.
            await self.replies.send(asker, t(asker.person.language, "mail.command_unverified"),
                                    None, key=f"mail-command-unverified:{asker.person.id}:"
                                              f"{at.date()}")
            return Fate("ignored", None, "command refused: not a reply to a mail sent to "
                        "this specialist", "command", asker.person.id)
        await self.replies.send(asker, t(asker.person.language, "mail.link_expired"),
                                proof.expired.ticket,
                                key=f"mail-link-expired:{asker.person.id}:{at.date()}")
        return Fate("ignored", proof.expired.ticket, "command refused: the link it answers "
                    "has expired", "command", asker.person.id)

    async def _error(self, asker: Asker, error: CommandError, ticket: int | None) -> Fate:
        lang = asker.person.language
        await self.replies.send(asker, t(lang, error.key, **error.params), ticket)
        return Fate("ignored", ticket, f"command error: {error.key}", "command",
                    asker.person.id)

    async def _people(self, parsed: ParsedCommand) -> dict[str, int | None]:
        found: dict[str, int | None] = {}
        named = [a for a in parsed.args if a not in mentions(parsed) and a.isalpha()]
        async with self.s.reading() as view:
            for word in [*mentions(parsed), *named]:
                address = word if "@" in word[1:] else self._address_of(word.lstrip("@"))
                person = None if address is None else await view.people.by_email(address)
                found[word.lower()] = None if person is None else person.id
        return found

    def _address_of(self, word: str) -> str | None:
        """A directory person's address by @username, or a staff member's by their name or
        its first word when no other staff member has it."""
        key = word.lower()
        for p in self.rt.settings.people:
            if p.username and p.username.lower().lstrip("@") == key and p.emails:
                return p.emails[0]
        named = [p for p in self.rt.settings.people if p.role != "client" and p.emails
                 and key in (p.name.lower(), p.name.split()[0].lower())]
        return named[0].emails[0] if len(named) == 1 else None

    async def _query(self, asker: Asker, query: Query, ticket: int | None) -> Fate:
        lang = asker.person.language
        if query.name == "help":
            text = render_help(lang, staff=True, channel=MAIL)
        elif query.name == "status" and query.ticket is not None:
            text = await self._summary(asker.person, query.ticket, lang)
        elif query.name in DIRECTORY_QUERIES:
            text = await directory_answer(self.rt.views, asker.person, query, lang,
                                          self.rt.settings.engine.ticket_prefix)
        elif query.name in mail_finding.QUERIES:
            text = await mail_finding.query_text(self.rt, asker.person, query)
        else:
            text = t(lang, "mail.query_in_chat", command=query.name)
        await self.replies.send(asker, text, ticket)
        return Fate("done", ticket, f"query /{query.name}", "command")

    async def _ask_missing(self, number: int, lang: str) -> str | None:
        async with self.s.reading() as view:
            ticket = await view.tickets.get(number)
        return None if ticket is None else ask_missing(ticket, self.rt.settings.engine, lang)

    async def _summary(self, person: Person, number: int, lang: str) -> str:
        async with self.s.reading() as view:
            ticket = await view.tickets.get(number)
            responsible = None if ticket is None or ticket.responsible_id is None else \
                await view.people.get(ticket.responsible_id)
        if ticket is None or not can_view(person, ticket):
            return t(lang, "ticket_not_found", number=number)
        summary = t(lang, "mail.status_summary", number=ticket.number, subject=ticket.subject,
                    status=status_name(lang, ticket.status.value),
                    priority=priority_name(lang, ticket.priority),
                    responsible=responsible.name if responsible else "—")
        if not person.role.is_staff:
            return summary
        summary += "\n" + "\n".join(staff_lines(ticket, lang, self.rt.settings.timezone))
        policy = self.rt.settings.sla.policies.get(ticket.sla_policy)
        sla = sla_lines(ticket, policy, self.rt.bus.clock.now(), lang, t=t)
        return "\n\n".join([summary, "\n".join(sla)]) if sla else summary

    async def _execute(self, asker: Asker, command: c.Command, found: Found,
                       ticket: int | None) -> Fate:
        takes = takes_files(command) or not found.files
        try:
            outcome = await self.s.bus.handle(replace(with_files(command, found.files),
                                                      source_ref=asker.ref))
        except EngineError as exc:
            await self.replies.explain(asker, exc, ticket)
            return Fate("ignored", ticket, f"command refused: {exc}", "command",
                        asker.person.id)
        note = leftover_note(command, found.after)
        kept = () if takes else found.files
        if (note or kept) and outcome.ticket is not None:
            body = note or t(asker.person.language, "files.kept", command=_name(found))
            await self.s.bus.handle(leftover(command, outcome.ticket, body, kept))
        name = _name(found)
        await self._done(asker, name, outcome.ticket if outcome.ticket is not None else ticket,
                         asks=isinstance(command, c.Take))
        return Fate("done", outcome.ticket, f"command /{name}", "command")

    async def _done(self, asker: Asker, name: str, number: int | None, *,
                    asks: bool = False) -> None:
        """Every command mailed gets an answer: what it did, and the ticket as it is now;
        after `/take` (`asks`), what the ticket's type still needs."""
        lang = asker.person.language
        text = t(lang, "mail.command_done", command=name)
        if number is not None:
            text += "\n\n" + await self._summary(asker.person, number, lang)
            ask = await self._ask_missing(number, lang) if asks else None
            text += "" if ask is None else "\n\n" + ask
        await self.replies.send(asker, text, number)


def _name(found: Found) -> str:
    return found.parsed.name if isinstance(found.parsed, ParsedCommand) else "?"
