"""bot/threading."""
