"""Email channel, stage "act": turning it into engine commands and answers."""
