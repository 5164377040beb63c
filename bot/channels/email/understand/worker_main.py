"""The mail parser's worker process (`python -m` of this module; worker.py starts it).

Requests and answers are frames: 4 bytes of length, then a pickle. Only the parser's jobs
are imported here, so the child stays small.
"""

from __future__ import annotations

import pickle
import signal
import struct
import sys
from collections.abc import Callable
from typing import Any, BinaryIO

LENGTH = struct.Struct("!I")


def frame(value: object) -> bytes:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return LENGTH.pack(len(data)) + data


def serve(jobs: dict[str, Callable[[Any], Any]], source: BinaryIO, sink: BinaryIO) -> None:
    """The child's loop: a request in, `(True, result)` or `(False, exception)` out, until
    the parent closes the pipe."""
    while head := source.read(LENGTH.size):
        job, argument = pickle.loads(source.read(LENGTH.unpack(head)[0]))
        try:
            answer = frame((True, jobs[job](argument)))
        except Exception as exc:  # the caller's to handle, as if it had run there
            answer = frame((False, _sendable(exc)))
        sink.write(answer)
        sink.flush()


def _sendable(exc: Exception) -> Exception:
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


if __name__ == "__main__":
    # Ctrl-C reaches the whole process group: the parent decides when this one ends (it
    # closes our input, or kills us), so a stop never prints a KeyboardInterrupt here.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from bot.channels.email.understand.jobs import JOBS

    serve(JOBS, sys.stdin.buffer, sys.stdout.buffer)
