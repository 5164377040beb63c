"""Fixtures of the email channel: a real Dovecot (session), an in-loop aiosmtpd sink, and a
runtime on SQLite with a fixed clock and a small directory.

Import the fixtures into a test module: `from tests.support_email import dovecot, ...`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import itertools
import os
import select
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.policy import default
from email.utils import format_datetime
from pathlib import Path
from typing import Any, NoReturn

import pytest
from aiosmtpd.smtp import SMTP, Envelope

from bot.bootstrap import bootstrap
from bot.channels.email.service import EmailChannel
from bot.runtime import App
from config.settings import EmailConfig, ImapConfig, Settings, SmtpConfig, with_sla
from engine.directory import CompanySpec, PersonSpec
from tests.fakes import FixedClock

ROOT = Path(__file__).resolve().parent.parent
MAIL_DIR = Path(__file__).parent / "mail"
SUPPORT = "support@help.example.com"
SECRET = b"test-secret-for-mail-tokens"
ACCOUNTS = 200  # Dovecot test accounts, one per test that needs a mailbox

# ------------------------------------------------------------------ the directory

LEAD = PersonSpec("Lena Lead", "lead", ("lena@staff.example.com",), username="lena")
SPEC = PersonSpec("Sam Spec", "specialist", ("sam@staff.example.com",), username="sam")
OLGA = PersonSpec("Olga Spec", "specialist", ("olga@staff.example.com",), language="ru",
                    username="olga")
CARL = PersonSpec("Carl Client", "client", ("carl@acme.example",), company="Acme")
COMPANIES = (CompanySpec("Acme", ("acme.example",)),)
PEOPLE = (LEAD, SPEC, OLGA, CARL)


def settings_for(db_url: str, **email: Any) -> Settings:
    cfg = replace(EmailConfig(address=SUPPORT, listen_port=None), **email)
    # with_sla: the rating survey's mail links answer to this address, as when loaded.
    return with_sla(Settings(database_url=db_url, secret=SECRET.decode(), people=PEOPLE,
                             companies=COMPANIES, email=cfg))


async def make_runtime(settings: Settings, clock: FixedClock) -> App:
    """The service's application (every reactor), with the test clock."""
    return await bootstrap(settings, clock=clock, secret=SECRET)


@asynccontextmanager
async def running_channel(settings: Settings, clock: FixedClock) -> AsyncIterator[EmailChannel]:
    """The mail channel of a fresh runtime with all its services started, stopped after."""
    rt = await make_runtime(settings, clock)
    channel = EmailChannel(rt)
    services = channel.services()
    for service in services:
        await service.start()
    try:
        yield channel
    finally:
        for service in reversed(services):
            await service.stop()
        await rt.db.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def db_file(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'mail.db'}"


@pytest.fixture
async def runtime(db_file: str, clock: FixedClock) -> AsyncIterator[App]:
    rt = await make_runtime(settings_for(db_file), clock)
    yield rt
    await rt.close()


async def person_id(rt: App, address: str) -> int:
    async with rt.uow() as uow:
        person = await uow.people.by_email(address)
    assert person is not None, address
    return person.id


async def notice_ref(rt: App, kind: str, recipient: str) -> str:
    """The Message-ID the sender gives the outbox row of that notice (signed, with the
    row's time): what a reply to it carries in In-Reply-To."""
    from bot.channels.email.understand.identity import MailIdentity
    from engine.store.queries import export_all

    row = next(o for o in (await export_all(rt.db))["outbound"]
               if o["kind"] == kind and o["recipient"] == recipient)
    issued = dt.datetime.fromisoformat(row["created_at"])
    return MailIdentity.of(rt.settings, rt.secret).message_id(row["id"], row["ticket"],
                                                              row["person_id"], issued)


# ------------------------------------------------------------------ building mail

_seq = itertools.count(1)


def mail(*, sender: str = "carl@acme.example", subject: str = "Printer jams",
         body: str = "The printer on floor 2 jams.", to: str = SUPPORT,
         message_id: str | None = None, in_reply_to: str | None = None,
         references: str | None = None, cc: str | None = None,
         headers: dict[str, str] | None = None) -> bytes:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = to
    if cc:
        m["Cc"] = cc
    m["Subject"] = subject
    m["Date"] = format_datetime(dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC))
    m["Message-ID"] = message_id or f"<m{next(_seq)}.{os.getpid()}@acme.example>"
    if in_reply_to:
        m["In-Reply-To"] = in_reply_to
    if references:
        m["References"] = references
    for name, value in (headers or {}).items():
        m[name] = value
    m.set_content(body)
    return m.as_bytes(policy=SMTP_POLICY)


def corpus(name: str) -> bytes:
    return (MAIL_DIR / name).read_bytes()


# ------------------------------------------------------------------ SMTP sink

@dataclass
class Sink:
    """An aiosmtpd server in the test's loop; `fail_next` answers 451 that many times."""

    received: list[Envelope] = field(default_factory=list)
    fail_next: int = 0
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    port: int = 0

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Envelope) -> str:
        if self.fail_next > 0:
            self.fail_next -= 1
            return "451 4.3.0 try again later"
        self.received.append(envelope)
        async with self.arrived:
            self.arrived.notify_all()
        return "250 2.0.0 OK"

    def messages(self) -> list[EmailMessage]:
        found = []
        for envelope in self.received:
            msg = email.message_from_bytes(envelope.original_content or b"", policy=default)
            assert isinstance(msg, EmailMessage)
            found.append(msg)
        return found

    async def first(self, match: Callable[[EmailMessage], bool],
                    timeout: float = 15) -> EmailMessage:
        """The first received mail that matches, waiting for it to arrive."""
        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(
                lambda: any(match(m) for m in self.messages())), timeout)
        return next(m for m in self.messages() if match(m))

    @property
    def smtp(self) -> SmtpConfig:
        return SmtpConfig(host="127.0.0.1", port=self.port, tls="none")


@pytest.fixture
async def smtp_sink() -> AsyncIterator[Sink]:
    sink = Sink()
    server = await asyncio.get_running_loop().create_server(lambda: SMTP(sink), "127.0.0.1", 0)
    sink.port = server.sockets[0].getsockname()[1]
    yield sink
    server.close()
    await server.wait_closed()


# ------------------------------------------------------------------ Dovecot

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Dovecot:
    dir: Path
    imap_port: int
    lmtp_port: int
    users: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def conf(self) -> str:
        return str(self.dir / "dovecot.conf")

    def new_user(self) -> str:
        """A fresh, empty account (made by the setup script), so tests never see each
        other's mail."""
        n = next(self.users)
        assert n <= ACCOUNTS, "raise ACCOUNTS in tests/support_email.py"
        return f"u{n}@example.test"

    def imap(self, user: str, **kw: Any) -> ImapConfig:
        return ImapConfig(host="127.0.0.1", port=self.imap_port, user=user, password="secret",
                          tls="none", **kw)

    async def doveadm(self, *args: str, stdin: bytes | None = None) -> str:
        proc = await asyncio.create_subprocess_exec(
            "doveadm", "-c", self.conf, *args, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate(stdin)
        assert proc.returncode == 0, f"doveadm {args}: {err.decode()}"
        return out.decode()

    def deliver_lmtp(self, user: str, mails: list[bytes]) -> None:
        """As an MTA would, over LMTP (the benchmark's way; tests use `deliver`)."""
        with smtplib.LMTP("127.0.0.1", self.lmtp_port) as lmtp:
            for raw in mails:
                lmtp.sendmail("sender@client.example", [user], raw)

    async def deliver(self, user: str, raw: bytes, mailbox: str = "INBOX") -> None:
        await self.doveadm("save", "-u", user, "-m", mailbox, stdin=raw)

    async def kick(self, user: str) -> None:
        """The user's IMAP connections dropped, and gone once this returns: `doveadm kick`
        only signals them, so a command sent right after could still get through."""
        who = await self.doveadm("who", "-1", user)
        pids = [int(line.split()[2]) for line in who.splitlines()[1:] if line.split()]
        await self.doveadm("kick", user)
        for pid in pids:
            await asyncio.to_thread(_wait_gone, pid)

    async def status(self, user: str, fields: str, mailbox: str = "INBOX") -> dict[str, str]:
        out = await self.doveadm("-f", "flow", "mailbox", "status", "-u", user, fields, mailbox)
        return dict(pair.split("=", 1) for pair in out.split() if "=" in pair)


def _wait_gone(pid: int) -> None:
    """Block until the process exits: a pidfd becomes readable then (no polling loop)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        select.select([fd], [], [], 10)
    finally:
        os.close(fd)


def _cannot(reason: str) -> NoReturn:
    """Skipped on a developer's box; in CI (which installs Dovecot) a missing server fails."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    if os.geteuid() != 0:
        _cannot("the Dovecot test instance needs root")
    if not _dovecot_installed():
        # A fresh machine: the README's test command brings its own IMAP server.
        subprocess.run(["bash", str(ROOT / "scripts/install-dovecot.sh")], check=False)
    if not _dovecot_installed():
        _cannot("Dovecot is not installed (scripts/install-dovecot.sh)")
    with running_dovecot(ACCOUNTS) as server:
        yield server


def _dovecot_installed() -> bool:
    """The commands and the IMAP and LMTP servers (as scripts/install-dovecot.sh checks)."""
    libexec = Path("/usr/lib/dovecot")
    return (shutil.which("dovecot") is not None and shutil.which("doveadm") is not None
            and (libexec / "imap").exists() and (libexec / "lmtp").exists())


@contextmanager
def running_dovecot(accounts: int) -> Iterator[Dovecot]:
    """A throw-away Dovecot on free ports with `accounts` empty mailboxes (u1@...), stopped
    and removed afterwards. Used by the tests and by bench/mail_import.py."""
    # Not tmp_path: pytest's base dir is 0700 and Dovecot's users could not reach it.
    d = Path(tempfile.mkdtemp(prefix="ticketbot-dovecot-", dir="/tmp"))
    server = Dovecot(d, free_port(), free_port())
    env = {**os.environ, "DOVECOT_TEST_DIR": str(d), "IMAP_PORT": str(server.imap_port),
           "LMTP_PORT": str(server.lmtp_port), "EXTRA_USERS": str(accounts)}
    subprocess.run(["bash", str(ROOT / "scripts/dovecot-test-setup.sh")], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    try:
        yield server
    finally:
        pid = int((d / "run/master.pid").read_text())
        os.kill(pid, signal.SIGTERM)
        _wait_gone(pid)
        shutil.rmtree(d, ignore_errors=True)


def plain_text(m: EmailMessage) -> str:
    """The plain-text body of a mail as the recipient reads it."""
    body = m.get_body(("plain",))
    return "" if body is None else str(body.get_content())
