"""The mail parser's worker process: one child, fed and answered over its stdin and stdout.

Each request is a frame: 4 bytes of length, then a pickled `(job, argument)`; the child
answers every request, in order, with a frame holding the pickled result. That is all
`MailParser` needs, and it costs less than `concurrent.futures.ProcessPoolExecutor` with a
spawn context, which starts `multiprocessing`'s resource tracker beside its worker (13 MB
of the service's memory, bench/service.py) and moves every call through two threads of its
own. Here the event loop reads and writes the pipes itself.

The child runs worker_main.py, which imports the parser and nothing else: never the CLI,
SQLAlchemy or asyncio. A child that dies fails every unanswered call with `WorkerDied`; the
next call starts a new one. Stopping it closes the transport, which kills the child: it
holds nothing that could be lost.
"""

from __future__ import annotations

import asyncio
import collections
import pickle
import subprocess
import sys
from typing import Any

from bot.channels.email.understand.worker_main import LENGTH, frame

_MODULE = "bot.channels.email.understand.worker_main"  # what the child runs


class WorkerDied(Exception):
    """The worker process ended before it answered."""


class _Answers(asyncio.SubprocessProtocol):
    """Frames from the child's stdout, each answering the oldest call still waiting."""

    def __init__(self) -> None:
        self.waiting: collections.deque[asyncio.Future[Any]] = collections.deque()
        self.gone = False
        self._buffer = bytearray()

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= LENGTH.size:
            end = LENGTH.size + LENGTH.unpack_from(self._buffer)[0]
            if len(self._buffer) < end:
                return
            ok, value = pickle.loads(self._buffer[LENGTH.size:end])
            del self._buffer[:end]
            answer = self.waiting.popleft()
            if answer.done():  # its caller gave up
                continue
            if ok:
                answer.set_result(value)
            else:
                answer.set_exception(value)

    def process_exited(self) -> None:
        self.fail()

    def fail(self) -> None:
        """The process is gone (or let go): every unanswered call fails."""
        self.gone = True
        while self.waiting:
            answer = self.waiting.popleft()
            if not answer.done():
                answer.set_exception(WorkerDied("the mail parser process ended"))


class Worker:
    """The parent's end: `call` sends a job and waits for its answer."""

    def __init__(self) -> None:
        self._transport: asyncio.SubprocessTransport | None = None
        self._answers = _Answers()
        self._starting = asyncio.Lock()

    @property
    def pid(self) -> int | None:
        return None if self._transport is None else self._transport.get_pid()

    async def call(self, job: str, argument: object = None) -> Any:
        async with self._starting:  # calls made together must not start one child each
            if self._transport is None or self._answers.gone:
                await self._start()
        assert self._transport is not None
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._answers.waiting.append(answer)
        stdin = self._transport.get_pipe_transport(0)
        assert isinstance(stdin, asyncio.WriteTransport)
        stdin.write(frame((job, argument)))
        try:
            return await answer
        finally:
            answer.cancel()  # a caller that gave up: its answer is read and dropped

    async def _start(self) -> None:
        self._close_transport()
        self._answers = _Answers()
        self._transport, _ = await asyncio.get_running_loop().subprocess_exec(
            lambda: self._answers, sys.executable, "-m", _MODULE,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None)

    def _close_transport(self) -> None:
        transport, self._transport = self._transport, None
        self._answers.fail()
        if transport is not None:
            transport.close()  # kills the child if it still runs

    async def close(self) -> None:
        self._close_transport()
