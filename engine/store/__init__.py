"""engine/store."""
