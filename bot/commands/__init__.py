"""bot/commands."""

# The registry first: the modules whose commands it lists import it back (bot/commands/fields.py).
from bot.commands import registry as registry
