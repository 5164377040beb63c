"""Email channel, stage "understand": what a message means and who sent it."""
