"""Alembic migrations of the store; `engine.store.migrate` runs them."""
