"""Email channel, stage "receive": taking messages in."""
