"""bot/commands."""

# The registry first: bot/commands/finding.py imports its types and the registry imports
# finding back, which works only in this order, whichever module a caller imports first.
from bot.commands import registry as registry
