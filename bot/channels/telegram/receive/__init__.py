"""Telegram channel, stage "receive": taking messages in."""
