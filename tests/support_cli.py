"""The `ticketbot` command as the admin runs it: the installed entry point in a subprocess,
with a clean environment, run from the test's event loop (so in-loop fakes such as the fake
Bot API and aiosmtpd keep answering it).

    await ticketbot("--config", path, "doctor")            -> Result(code, out, err)
    async with serving(config) as service: ...             `ticketbot run`, stopped by SIGTERM
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

ENTRY = Path(sys.executable).parent / "ticketbot"
WAIT = 30.0  # an upper bound for a subprocess to say something, never a sleep


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any TICKETBOT_* of the developer's shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETBOT_")}
    env.update(extra)
    return env


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


async def ticketbot(*args: str | Path, cwd: Path | None = None,
                    env: dict[str, str] | None = None, timeout: float = WAIT) -> Result:
    proc = await asyncio.create_subprocess_exec(
        str(ENTRY), *map(str, args), cwd=cwd, env=env or clean_env(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return Result(proc.returncode, out.decode(), err.decode())


@dataclass
class Service:
    """A running `ticketbot run`; its log lines (stderr) are collected as they come."""

    proc: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    ended: bool = False

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            async with self.changed:
                self.lines.append(raw.decode().rstrip("\n"))
                self.changed.notify_all()
        async with self.changed:
            self.ended = True
            self.changed.notify_all()

    async def line(self, match: Callable[[str], bool], timeout: float = WAIT) -> str:
        """The first log line that matches, waiting for it."""
        def found() -> bool:
            return self.ended or any(match(x) for x in self.lines)
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(found), timeout)
        hit = [x for x in self.lines if match(x)]
        assert hit, "the service ended first:\n" + "\n".join(self.lines)
        return hit[0]

    def log(self) -> str:
        return "\n".join(self.lines)

    async def stop(self) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), WAIT)


@asynccontextmanager
async def serving(*args: str | Path, cwd: Path | None = None,
                  env: dict[str, str] | None = None) -> AsyncIterator[Service]:
    proc = await asyncio.create_subprocess_exec(
        str(ENTRY), *map(str, args), cwd=cwd, env=env or clean_env(),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    service = Service(proc)
    reader = asyncio.create_task(service._read())
    try:
        yield service
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await reader
