"""bot/channels/email."""
