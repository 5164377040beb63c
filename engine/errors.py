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
