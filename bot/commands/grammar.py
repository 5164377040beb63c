"""One command grammar for chat and mail: `/name[@bot] args`, the shape aiogram's CommandObject has.

    "/take@ticketbot #12"          -> ParsedCommand("take", ("#12",), "#12", "ticketbot")
    "/close 12 fixed\\nthe printer" -> args from the command's line only: ("12", "fixed"),
                                      rest is everything after the name: "12 fixed\\nthe printer"
    "/take@otherbot 12", "hello"   -> None (not ours, not a command)
    "/frobnicate"                  -> CommandError("unknown_command")

Names are case-insensitive and aliases (`/взять`) resolve to the registry's canonical name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.commands.registry import CommandError, canonical_name

__all__ = ["CommandError", "ParsedCommand", "parse_command"]

# The name must start with a letter and end at whitespace, so a path like "/etc/hosts" or a
# "/5" in a sentence is plain text, not a command.
_COMMAND = re.compile(r"/(?P<name>[^\W\d]\w*)(?:@(?P<mention>\w+))?(?=\s|$)")


@dataclass(frozen=True)
class ParsedCommand:
    name: str
    args: tuple[str, ...] = ()
    rest: str = ""
    mention: str | None = None


def parse_command(text: str, *, bot_username: str | None) -> ParsedCommand | None | CommandError:
    """The command `text` starts with. `bot_username` is None where there is no bot to
    address (mail): a mention is then kept but not checked."""
    head = text.lstrip()
    match = _COMMAND.match(head)
    if match is None:
        return None
    mention = match.group("mention")
    if mention and bot_username and not _same_bot(mention, bot_username):
        return None
    typed = match.group("name").lower()
    name = canonical_name(typed)
    if name is None:
        return CommandError("unknown_command", {"command": typed})
    return _parsed(name, head[match.end():], mention)


def _parsed(name: str, after: str, mention: str | None) -> ParsedCommand:
    # Arguments come from the command's own line: in mail the lines below are the comment,
    # and "/take" followed by "I'll look at it" must not read "I'll" as a ticket number.
    line = after.partition("\n")[0]
    return ParsedCommand(name, tuple(line.split()), after.strip(), mention)


def _same_bot(mention: str, bot_username: str) -> bool:
    # Telegram usernames are case-insensitive, and configs write them with or without "@".
    return mention.casefold() == bot_username.lstrip("@").casefold()
