"""/help, generated from the registry so a new command can never be missing from it."""

from __future__ import annotations

from bot.commands.registry import CHAT, COMMANDS, CommandSpec
from bot.i18n import DEFAULT_LANGUAGE, language, t


def render_help(lang: str, *, staff: bool, channel: str = CHAT) -> str:
    """The commands this person can use here: clients do not see staff commands, and mail
    does not offer the chat-only ones."""
    specs = [s for s in COMMANDS.values() if _shown(s, staff=staff, channel=channel)]
    lines = [t(lang, "help_header"), *(_line(spec, lang) for spec in specs), t(lang, "help_footer")]
    return "\n".join(lines)


def _shown(spec: CommandSpec, *, staff: bool, channel: str) -> bool:
    return (staff or not spec.staff_only) and (channel == CHAT or not spec.chat_only)


def _line(spec: CommandSpec, lang: str) -> str:
    summary = spec.summary.get(language(lang)) or spec.summary[DEFAULT_LANGUAGE]
    line = f"{spec.usage} — {summary}"
    if spec.aliases:
        aliases = ", ".join("/" + alias for alias in spec.aliases)
        line += f" ({t(lang, 'help_aliases', aliases=aliases)})"
    return line
