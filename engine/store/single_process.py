"""SQLite serves one `ticketbot run` at a time: a second process would drain the same
queue with no claims between them. A lock file beside the database says so at once; the
kernel drops the lock with the process, so a kill -9 leaves nothing to clean up."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import make_url


class AlreadyRunning(Exception):
    """Another process holds the SQLite database's lock file."""


@contextmanager
def only_process(url: str) -> Iterator[None]:
    """Hold `<database>.lock` for the block; PostgreSQL (several workers) needs none."""
    parsed = make_url(url)
    path = parsed.database
    if parsed.get_backend_name() != "sqlite" or not path or path == ":memory:" \
            or path.startswith("file:"):
        yield
        return
    # A fresh install has no data folder yet (the migration would make it next).
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunning(
                f"another ticketbot is already running on {path}; SQLite serves one "
                "process (several workers need PostgreSQL)") from None
        yield
    finally:
        os.close(fd)
