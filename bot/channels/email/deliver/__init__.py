"""Email channel, stage "deliver": getting what the engine and the channel say to people."""
