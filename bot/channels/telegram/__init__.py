"""bot/channels/telegram."""
