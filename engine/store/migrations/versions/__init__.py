"""Alembic revisions (this file is skipped by Alembic's revision scan)."""
