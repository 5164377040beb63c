"""F11's chat and mail commands: `/company X` and `/contact X` (look an entry up),
`/tickets company X` (tickets by what they link to), `/company N X`, `/link N contract ID`,
`/requester N who` (change a ticket's links). The registry lists them (`specs`).

The registry imports this module to build its table, so the names it defines are imported
when a builder runs, not at import."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from engine import commands as c

if TYPE_CHECKING:
    from bot.commands.grammar import ParsedCommand
    from bot.commands.registry import Built, CommandContext, CommandSpec

_NUMBER = re.compile(r"#?(\d{1,18})")
_NONE = frozenset({"-", "none", "nobody", "нет", "никто"})
# What `/link N WORD ID` links, by the word typed (English or Russian).
LINK_WORDS = {
    **dict.fromkeys(("contract", "договор"), "contract"),
    **dict.fromkeys(("object", "site", "объект"), "object"),
    **dict.fromkeys(("equipment", "device", "оборудование", "устройство"), "equipment"),
}
# What `/tickets WORD X` lists tickets by -> the directory (or "responsible").
LIST_WORDS = {
    **dict.fromkeys(("company", "компания"), "companies"),
    **dict.fromkeys(("contact", "requester", "контакт", "клиент"), "contacts"),
    **dict.fromkeys(("responsible", "исполнитель"), "responsible"),
    **dict.fromkeys(("contract", "договор"), "contracts"),
    **dict.fromkeys(("object", "site", "объект"), "objects"),
    **dict.fromkeys(("equipment", "device", "оборудование"), "equipment"),
}


def _ticket(token: str | None) -> int | None:
    match = None if token is None else _NUMBER.fullmatch(token)
    return None if match is None else int(match.group(1))


def _rest(parsed: ParsedCommand, skip: int) -> str:
    return " ".join(parsed.args[skip:])


def _lookup(name: str) -> Callable[[ParsedCommand, CommandContext], Built]:
    def build(parsed: ParsedCommand, ctx: CommandContext) -> Built:
        from bot.commands.registry import CommandError, Query

        if not parsed.args:
            return CommandError("dir.missing_what", {"command": name})
        return Query(name, None, (_rest(parsed, 0),))

    return build


def _company(parsed: ParsedCommand, ctx: CommandContext) -> Built:
    """`/company X` looks a company up; `/company N X` (N a ticket) sets the ticket's."""
    number = _ticket(parsed.args[0]) if len(parsed.args) > 1 else None
    if number is None:
        return _lookup("company")(parsed, ctx)
    ref = _rest(parsed, 1)
    return c.SetCompany(actor=ctx.actor, channel=ctx.channel, at=ctx.at, ticket=number,
                        ref=None if ref.lower() in _NONE else ref)


def _target(parsed: ParsedCommand, ctx: CommandContext) -> tuple[int, int] | Built:
    """The ticket (a leading N, else the one replied to) and how many words named it."""
    from bot.commands.registry import CommandError

    number = _ticket(parsed.args[0]) if parsed.args else None
    if number is not None:
        return number, 1
    if ctx.context_ticket is not None:
        return ctx.context_ticket, 0
    return CommandError("missing_ticket", {"command": parsed.name})


def _link(parsed: ParsedCommand, ctx: CommandContext) -> Built:
    from bot.commands.registry import CommandError

    target = _target(parsed, ctx)
    if not isinstance(target, tuple):
        return target
    number, used = target
    word = parsed.args[used].lower() if len(parsed.args) > used else ""
    if word not in LINK_WORDS:
        return CommandError("dir.link_what", {"value": word})
    ref = _rest(parsed, used + 1)
    if not ref:
        return CommandError("dir.missing_what", {"command": "link"})
    return c.LinkTicket(actor=ctx.actor, channel=ctx.channel, at=ctx.at, ticket=number,
                        kind=LINK_WORDS[word], ref=None if ref.lower() in _NONE else ref)


def _requester(parsed: ParsedCommand, ctx: CommandContext) -> Built:
    """`/requester N who`: `who` is an address, an @username or a person's id."""
    from bot.commands.registry import CommandError

    target = _target(parsed, ctx)
    if not isinstance(target, tuple):
        return target
    number, used = target
    who = parsed.args[used] if len(parsed.args) > used else None
    if who is None:
        return CommandError("missing_person")
    person = ctx.resolve_person(who)
    if person is None and _ticket(who) is not None:
        person = _ticket(who)
    if person is None:
        return CommandError("unknown_person", {"who": who})
    return c.SetRequester(actor=ctx.actor, channel=ctx.channel, at=ctx.at, ticket=number,
                          person_id=person)


def _tickets(parsed: ParsedCommand, ctx: CommandContext) -> Built:
    from bot.commands.registry import CommandError, Query

    word = parsed.args[0].lower() if parsed.args else ""
    if word not in LIST_WORDS or len(parsed.args) < 2:
        return CommandError("dir.tickets_by", {"value": word})
    return Query("tickets", None, (LIST_WORDS[word], _rest(parsed, 1)))


def specs(spec: Callable[..., CommandSpec]) -> tuple[CommandSpec, ...]:
    """The registry's entries, built with its own `_spec`; staff only, in chat and mail."""
    return (
        spec("company", ("компания",), "/company X | /company N X",
             "look a company up, or set ticket N's company",
             "найти компанию или задать компанию заявки N", _company),
        spec("contact", ("контакт",), "/contact X",
             "look a contact up by name, id, address or phone",
             "найти контакт по имени, номеру, адресу или телефону", _lookup("contact")),
        spec("tickets", ("заявки",), "/tickets company|contact|contract|object|equipment|responsible X",
             "tickets of a company, contact, contract, object, equipment or specialist",
             "заявки компании, контакта, договора, объекта, оборудования или исполнителя",
             _tickets),
        spec("link", ("привязать",), "/link N contract|object|equipment ID",
             "link a ticket to a contract, object or equipment (- unlinks)",
             "привязать заявку к договору, объекту или оборудованию (- отвязать)", _link),
        spec("requester", ("заявитель",), "/requester N who",
             "change who the ticket is for", "сменить заявителя", _requester),
    )
