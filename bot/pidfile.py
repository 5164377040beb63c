"""`data/ticketbot.pid`: the running service's process id, so `ticketbot reload` knows whom
to send SIGHUP and `doctor` and `telegram whoami` know the service is up. Written at start,
removed at a clean stop; a file left by a crash names a process that is gone, which reads
as "not running"."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from config.settings import Settings

NAME = "ticketbot.pid"


def data_dir(settings: Settings) -> Path:
    from bot.bootstrap import data_dir_of

    return data_dir_of(settings.database_url)


def write(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / NAME
    path.write_text(f"{os.getpid()}\n")
    return path


def remove(path: Path) -> None:
    """Only our own: another process may have started meanwhile and written its id."""
    with contextlib.suppress(OSError, ValueError):
        if int(path.read_text().strip()) == os.getpid():
            path.unlink()


def running_pid(folder: Path) -> int | None:
    """The id in the file if that process is alive (and is not this one), else None."""
    try:
        pid = int((folder / NAME).read_text().strip())
    except (OSError, ValueError):
        return None
    if pid == os.getpid():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:  # alive, but another user's
        return pid
    return pid
