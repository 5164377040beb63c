"""engine/notify."""
