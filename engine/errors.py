"""Typed engine errors, carrying the fields a channel needs to explain them to a person."""

from __future__ import annotations

from dataclasses import dataclass


class EngineError(Exception):
    """Base of every refusal. `code` selects the message template in each language."""

    code = "error"

    def params(self) -> dict[str, object]:
        return dict(vars(self))

    def __str__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{self.code}({fields})"


@dataclass(eq=False)
class TicketNotFound(EngineError):
    number: int
    code = "ticket_not_found"


@dataclass(eq=False)
class PersonNotFound(EngineError):
    who: str
    code = "person_not_found"


@dataclass(eq=False)
class NotAllowed(EngineError):
    action: str
    role: str
    number: int | None = None
    # Whose ticket it is, when that is why (a specialist changing a colleague's ticket).
    responsible: str | None = None
    code = "not_allowed"


@dataclass(eq=False)
class InvalidTransition(EngineError):
    number: int
    old: str
    new: str
    allowed: tuple[str, ...]
    code = "invalid_transition"


@dataclass(eq=False)
class TicketClosed(EngineError):
    """A closed ticket is final: a new message about it belongs in a new, linked ticket."""

    number: int
    code = "ticket_closed"


@dataclass(eq=False)
class MailNotFound(EngineError):
    """No mail the intake ignored has this inbound id (or it was rescued already)."""

    inbound_id: int
    code = "mail_not_found"


@dataclass(eq=False)
class QuarantinedMailNotFound(EngineError):
    """No quarantined mail has this inbound id (or it was sent through the intake again)."""

    inbound_id: int
    code = "quarantined_mail_not_found"


@dataclass(eq=False)
class InvalidValue(EngineError):
    field: str
    value: str
    reason: str
    choices: tuple[str, ...] = ()
    code = "invalid_value"


@dataclass(eq=False)
class NothingToWithdraw(EngineError):
    """`/undo` with no answer of the actor's still waiting: sent already, or none given."""

    number: int | None = None
    code = "nothing_to_withdraw"


# --- ticket fields (engine/fields.py) ------------------------------------------------------


@dataclass(eq=False)
class InternalTypeNeeded(EngineError):
    """An internal ticket keeps an internal type: a public one would not make it a
    client's ticket, only hide what it is."""

    number: int
    type: str
    choices: str  # the internal types, listed for the person
    code = "internal_type_needed"


@dataclass(eq=False)
class PublicTypeNeeded(EngineError):
    """A client's ticket keeps a public type: an internal one would hide it from them."""

    number: int
    type: str
    choices: str
    code = "public_type_needed"


@dataclass(eq=False)
class InternalTicket(EngineError):
    """Nobody outside the staff (a client, a copy address) joins an internal ticket."""

    number: int
    code = "internal_ticket"


@dataclass(eq=False)
class SpentBelowZero(EngineError):
    """A correction of the time spent larger than what is logged."""

    number: int
    total: int  # minutes logged now
    code = "spent_below_zero"


@dataclass(eq=False)
class UnknownDesk(EngineError):
    """`/move N desk` naming no configured desk; `known` lists them (empty: none declared)."""

    desk: str
    known: str
    code = "unknown_desk"




# --- F11: a ticket's link to the directories -------------------------------------------------


@dataclass(eq=False)
class EntryNotFound(EngineError):
    """No directory entry of this kind (`field`: company, contract, object, equipment) is
    named by `value`."""

    field: str
    value: str
    code = "dir.entry_not_found"


@dataclass(eq=False)
class EntryAmbiguous(EngineError):
    field: str
    value: str
    code = "dir.entry_ambiguous"


@dataclass(eq=False)
class EntryOfAnotherCompany(EngineError):
    """The entry belongs to another company than the ticket (set the company first)."""

    field: str
    value: str
    number: int
    code = "dir.entry_other_company"


# `/merge N M` refused on the tickets themselves (F17, engine/merge.py).


@dataclass(eq=False)
class MergeIntoItself(EngineError):
    number: int
    code = "merge_into_itself"


@dataclass(eq=False)
class MergeTargetClosed(EngineError):
    """N is closed: a ticket joins an open one."""

    number: int
    code = "merge_target_closed"


@dataclass(eq=False)
class MergeSourceClosed(EngineError):
    """M is closed (perhaps merged already): nothing of it may move any more."""

    number: int
    target: int
    code = "merge_source_closed"
