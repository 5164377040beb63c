"""Commands: the engine's whole input vocabulary. Channels build these; handlers carry them out.

`actor` is the stable person id the channel resolved (Telegram user id, verified address);
None means the service itself (scheduled jobs). `at` is when the person acted, as the
channel saw it (mail INTERNALDATE, Telegram message date), so a late fetch changes no clock.
`source_ref` names the message that carried the command (a mail's Message-ID, a chat
message's ref): the bus records it with the ticket in the command's own transaction, so a
replay after a crash finds it and does not run the command twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from engine.dialogs import Dialog, StoredMessage
from engine.model import Attachment, Status


@dataclass(frozen=True)
class Command:
    actor: int | None
    channel: str
    at: dt.datetime | None = None
    source_ref: str | None = None


@dataclass(frozen=True, kw_only=True)
class OpenTicket(Command):
    subject: str
    description: str
    requester_id: int | None = None
    type: str | None = None
    priority: str | None = None
    observers: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    # Which of `cc` hear "you are in copy" (None: all of them); the channel decides, e.g.
    # nobody for a stranger's mail with fifty addresses in Cc.
    notify_cc: tuple[str, ...] | None = None
    responsible_id: int | None = None
    creator_id: int | None = None  # staff only: who set the task (seed 002: the lead)
    # The messages the ticket is about when they are not the command's own message (a
    # question and its follow-ups turned into a ticket by `/ticket`): the first is the
    # ticket's origin, and a reply to any of them is about the ticket.
    about_refs: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    linked_to: int | None = None
    # False for a rescued mail: no automatic acknowledgement or "you are in copy" notice
    # goes to people whose mail the intake judged machine-made (engine/rescue.py says why).
    acknowledge: bool = True
    # The address the mail was delivered to (support@ or billing@): routing (F12) and the
    # desk of the ticket may depend on it.
    mailbox: str | None = None


@dataclass(frozen=True, kw_only=True)
class AddComment(Command):
    ticket: int
    body: str
    public: bool
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, kw_only=True)
class EditComment(Command):
    """The author changed a message the ticket already holds (a Telegram edit); its
    `source_ref` is that message's, which an edit keeps."""

    ticket: int
    body: str


@dataclass(frozen=True, kw_only=True)
class WithdrawComment(Command):
    """`/undo`: take back the actor's public answer still waiting in the outbox. `cause`
    names the answer (its comment event, from the echo's button); else the newest waiting
    answer of the actor, on `ticket` when given."""

    ticket: int | None = None
    cause: int | None = None


@dataclass(frozen=True, kw_only=True)
class Take(Command):
    ticket: int


@dataclass(frozen=True, kw_only=True)
class Assign(Command):
    ticket: int
    person_id: int | None


@dataclass(frozen=True, kw_only=True)
class SetStatus(Command):
    ticket: int
    status: Status
    until: dt.datetime | None = None
    text: str = ""


@dataclass(frozen=True, kw_only=True)
class Close(Command):
    ticket: int
    text: str = ""


@dataclass(frozen=True, kw_only=True)
class SetPriority(Command):
    ticket: int
    priority: str


@dataclass(frozen=True, kw_only=True)
class AddObserver(Command):
    ticket: int
    person_id: int


@dataclass(frozen=True, kw_only=True)
class AddTag(Command):
    ticket: int
    tag: str


@dataclass(frozen=True, kw_only=True)
class MoveTicket(Command):
    """`/move N desk`: the ticket goes to another desk (staff only)."""

    ticket: int
    desk: str


@dataclass(frozen=True, kw_only=True)
class ReturnDueWaiting(Command):
    """Scheduled: every `waiting` ticket whose until-time has passed goes back to `open`."""


@dataclass(frozen=True, kw_only=True)
class RateTicket(Command):
    """The requester's score for a resolution they were asked about (F13); a signed token
    may name which resolution (`resolution_at`), else the latest surveyed one."""

    ticket: int
    score: int
    resolution_at: dt.datetime | None = None


# --- desk commands: the service desk's own records, about no ticket -------------------------
# Their events are desk events (engine/desk.py). A `source_ref` names the mail they came
# from; the bus keeps refs only with tickets, so a replayed mail is recognised by its
# ticket work, and a desk command run twice changes nothing more (contacts, suppressions)
# or adds one more record (an ignored mail).


@dataclass(frozen=True, kw_only=True)
class RegisterContact(Command):
    """An unknown sender becomes a client: by mail address, or by Telegram user id. One
    already known gives that person back and records nothing. The person comes back as
    `Outcome.person` (their id as `Outcome.contact`)."""

    name: str
    address: str | None = None
    telegram_id: int | None = None
    company_id: int | None = None
    language: str = "en"


@dataclass(frozen=True, kw_only=True)
class SuppressAddress(Command):
    """Mail no more to `address`; a later bounce refreshes the reason and time."""

    address: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class UnsuppressAddress(Command):
    """Mail `address` again (it wrote to us: it exists); nothing happens when it was not
    suppressed."""

    address: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class IgnoreMail(Command):
    """The intake leaves an inbound mail alone, and says why (its row keeps the same)."""

    inbound_id: int
    reason: str
    rule: str | None = None


@dataclass(frozen=True)
class RescuedMail:
    """What the mail channel read from an ignored mail, for the ticket it becomes."""

    subject: str
    description: str
    address: str | None
    name: str
    language: str = "en"
    company_id: int | None = None
    channel: str = "email"  # where the mail came in: the ticket's channel
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, kw_only=True)
class RescueMail(Command):
    """Staff turn a mail the intake ignored into a ticket (`source_ref`: its Message-ID).
    `mail` is None when the channel found no ignored mail `inbound_id`: the engine says so
    only after the role check, so nobody else learns which mails exist."""

    inbound_id: int
    mail: RescuedMail | None


@dataclass(frozen=True, kw_only=True)
class RequeueMail(Command):
    """Staff send a quarantined mail through the intake again (`ticketbot mail rescue ID`).
    `quarantined` is what the channel found: False when no quarantined mail has that id,
    said only after the role check, as for `RescueMail`."""

    inbound_id: int
    quarantined: bool


@dataclass(frozen=True, kw_only=True)
class RetryDelivery(Command):
    """Staff send a set-aside outbox row again (`ticketbot outbox retry ID`): it is due
    now, with its attempts counted afresh."""

    outbox_id: int


@dataclass(frozen=True, kw_only=True)
class RecordDialogs(Command):
    """A batch of the first line's changes (F5): the dialogs that changed, the group
    messages stored with them, and the chat updates (journal row ids) the batch settles,
    written together. The chat channel gathers a batch in memory and sends it once per
    batch of updates, not once per message. The engine says which dialogs were asked and
    answered by comparing with what is stored, so a batch sent again records nothing twice."""

    dialogs: tuple[Dialog, ...] = ()
    messages: tuple[StoredMessage, ...] = ()
    settles: tuple[int, ...] = ()


# --- ticket fields (engine/fields.py): type, tags, observers, copies, planned date, time ----


@dataclass(frozen=True, kw_only=True)
class SetType(Command):
    ticket: int
    type: str


@dataclass(frozen=True, kw_only=True)
class ChangeTags(Command):
    """`/tag N +x -y`: tags added and removed in one change."""

    ticket: int
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class RemoveObserver(Command):
    ticket: int
    person_id: int


@dataclass(frozen=True, kw_only=True)
class ChangeCc(Command):
    """`/cc N address -other`: mail addresses put in copy of the ticket, or taken off."""

    ticket: int
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class SetDue(Command):
    """The planned resolution date (seed 000: staff only); None clears it."""

    ticket: int
    due: dt.datetime | None


@dataclass(frozen=True, kw_only=True)
class AddTimeSpent(Command):
    """Minutes of work on the ticket, added to its total (negative corrects a mistake)."""

    ticket: int
    minutes: int


# --- F11 directories: entries written in bulk, and a ticket's links to them ------------------


@dataclass(frozen=True)
class DirectoryRow:
    """One row of a directory as typed (a CSV line, a config entry, `ticketbot X add`):
    column -> text; `line` is where the person finds it."""

    line: int
    values: tuple[tuple[str, str], ...]


@dataclass(frozen=True, kw_only=True)
class ImportDirectory(Command):
    """Staff add or update directory entries (`kind`: companies, contacts, contracts,
    objects, equipment), matched by their natural key; refused rows are reported with
    their line and reason and never block the others. `policies`: the SLA policies a
    contract may name (empty: not checked). The report is the `DirectoryImported` desk
    event."""

    kind: str
    rows: tuple[DirectoryRow, ...]
    policies: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class LinkTicket(Command):
    """`/link N contract|object|equipment ID`: `ref` names the entry (its id, or a
    contract's number, a serial); None unlinks."""

    ticket: int
    kind: str  # contract, object, equipment
    ref: str | None


@dataclass(frozen=True, kw_only=True)
class SetCompany(Command):
    """`/company N X`: the ticket's company by name or id; None clears it."""

    ticket: int
    ref: str | None


@dataclass(frozen=True, kw_only=True)
class SetRequester(Command):
    """`/requester N who`: the person the ticket is for."""

    ticket: int
    person_id: int


# --- finding things (F17): merge -------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class MergeTickets(Command):
    """`/merge N M`: ticket `source` (M) joins `ticket` (N) with its comments, files,
    observers and message ids, and is closed as merged (engine/merge.py)."""

    ticket: int
    source: int
