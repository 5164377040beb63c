"""`ticketbot run` as real processes, for the multi-worker tests and bench/faults.py: each
worker gets a config file of its own (its SMTP intake port, the relay) and a log file the
test reads to see who leads."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiosmtplib

from tests.support_email import ROOT, SECRET, SUPPORT, free_port

LEADS = "leader: this worker runs"
FOLLOWS = "follower: another worker leads"
STARTED = "started email-smtp"


def config_text(db_url: str, port: int, relay: int | None) -> str:
    relay_part = "" if relay is None else \
        f'\n[email.smtp]\nhost = "127.0.0.1"\nport = {relay}\ntls = "none"\n'
    return (f'[service]\ndatabase_url = "{db_url}"\nlog_level = "INFO"\n\n'
            f'[email]\naddress = "{SUPPORT}"\nlisten_port = {port}\n'
            f"auto_reply_limit = 1000\n{relay_part}")


@dataclass
class WorkerProcess:
    """One `ticketbot run` subprocess."""

    name: str
    db_url: str
    workdir: Path
    relay: int | None = None
    extra: str = ""  # more of the config file (a mailbox to watch)
    port: int = field(default_factory=free_port)
    proc: asyncio.subprocess.Process | None = None

    @property
    def log(self) -> Path:
        return self.workdir / f"{self.name}.log"

    @property
    def config(self) -> Path:
        return self.workdir / f"{self.name}.toml"

    async def start(self) -> None:
        self.config.write_text(config_text(self.db_url, self.port, self.relay) + self.extra)
        env = {**os.environ, "TICKETBOT_SECRET": SECRET.decode()}
        env.pop("TICKETBOT_DATABASE_URL", None)
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "--config", str(self.config), "run",
                cwd=self.workdir, env={**env, "PYTHONPATH": str(ROOT)},
                stdout=out, stderr=out)

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    async def wait_for(self, needle: str, timeout: float = 30) -> float:
        """Seconds until `needle` is in the log (polled: the process is real)."""
        began = time.monotonic()
        while needle not in self.text():
            if self.proc is not None and self.proc.returncode is not None:
                raise AssertionError(f"{self.name} exited {self.proc.returncode}:\n"
                                     + self.text()[-3000:])
            if time.monotonic() - began > timeout:
                raise AssertionError(f"{self.name}: no {needle!r} in {timeout}s:\n"
                                     + self.text()[-3000:])
            await asyncio.sleep(0.05)
        return time.monotonic() - began

    def leads(self) -> bool:
        return LEADS in self.text()

    async def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 20)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


async def send_one(ports: Sequence[int], sender: str, raw: bytes) -> int:
    """Hand one mail to the first intake that takes it (as a sending MTA retries another
    MX); the port that said 250."""
    last: Exception | None = None
    for attempt in range(200):
        port = ports[attempt % len(ports)]
        try:
            await aiosmtplib.send(raw, sender=sender, recipients=[SUPPORT],
                                  hostname="127.0.0.1", port=port, timeout=30)
            return port
        except (aiosmtplib.SMTPException, OSError) as exc:
            last = exc
            await asyncio.sleep(0.05)
    raise AssertionError(f"no intake took the mail from {sender}: {last}")
