"""engine/sla."""
