"""IMAP intake (aioimaplib): sync a mailbox into the inbound store, then IDLE for news.

The gotchas measured in libraries.md §3 shape this module: `UID SEARCH UID n:*` always
returns the last UID (filter uid > last); `BODY.PEEK[]` leaves \\Seen alone, so the flag
(or the move) comes only after the raw bytes are committed; an IDLE push may be a mere
keepalive, so every push and every IDLE timeout triggers a full incremental sync;
`idle_start()` can hang on BYE (#110), so it runs under `wait_for`; and a dead connection is
noticed only through `conn_lost_cb`, after which a NEW client is built.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import ssl
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import aioimaplib

from config.settings import ImapConfig

log = logging.getLogger("ticketbot.email.imap")

COMMAND_TIMEOUT = 30.0
FETCH_COUNT = 100                 # messages per UID FETCH of bodies
FETCH_BYTES = 8 * 1024 * 1024     # and at most this much per FETCH (memory bound)
META_COUNT = 1000                 # UIDs per FETCH of sizes and dates
SEEN = r"(\Seen)"

_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
_UIDNEXT = re.compile(rb"UIDNEXT (\d+)")
_FETCH_START = re.compile(rb"^\d+ FETCH \(")
_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")
_DATE = re.compile(rb'\bINTERNALDATE "([^"]+)"')
_LITERAL = re.compile(rb"(BODY\[[^\]]*\](?:<\d+>)?) \{\d+\}$")


class ImapError(Exception):
    """The server said no (login, select) or the connection is gone."""


@dataclass
class Fetched:
    uid: int
    size: int = 0
    internaldate: dt.datetime | None = None
    parts: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class Selected:
    uidvalidity: int
    uidnext: int


# ------------------------------------------------------------------ response parsing

def parse_internaldate(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(text.strip(), "%d-%b-%Y %H:%M:%S %z")
    except ValueError:
        return None


def _absorb(item: Fetched, line: bytes) -> str | None:
    """Read UID/size/date from a FETCH line; the name of the literal that follows, if any."""
    for pattern, setter in ((_UID, "uid"), (_SIZE, "size")):
        m = pattern.search(line)
        if m:
            setattr(item, setter, int(m.group(1)))
    date = _DATE.search(line)
    if date:
        item.internaldate = parse_internaldate(date.group(1).decode("ascii", "replace"))
    literal = _LITERAL.search(line)
    return None if literal is None else literal.group(1).decode("ascii")


def parse_fetch(lines: Sequence[bytes | bytearray]) -> list[Fetched]:
    """aioimaplib hands FETCH back as a flat list (aioimaplib#72): `N FETCH (... {n}`,
    the literal as a bytearray, then the rest. Pair them by hand."""
    found: list[Fetched] = []
    pending: str | None = None
    for line in lines:
        if isinstance(line, bytearray):
            if found and pending:
                found[-1].parts[pending] = bytes(line)
            pending = None
            continue
        if _FETCH_START.match(line):
            found.append(Fetched(uid=0))
        if found:
            pending = _absorb(found[-1], line)
    return [f for f in found if f.uid > 0]


def parse_select(lines: Sequence[bytes]) -> Selected:
    joined = b" ".join(bytes(x) for x in lines)
    validity, uidnext = _UIDVALIDITY.search(joined), _UIDNEXT.search(joined)
    if validity is None:
        raise ImapError("SELECT gave no UIDVALIDITY")
    return Selected(int(validity.group(1)), int(uidnext.group(1)) if uidnext else 0)


def parse_search(lines: Sequence[bytes]) -> list[int]:
    first = bytes(lines[0]) if lines else b""
    return sorted({int(x) for x in first.split() if x.isdigit()})


def uid_set(uids: Iterable[int]) -> str:
    """[1, 2, 3, 7] -> "1:3,7" (short commands for long runs)."""
    ordered = sorted(set(uids))
    ranges: list[str] = []
    start = prev = ordered[0] if ordered else 0
    for uid in ordered[1:] + [0]:
        if uid == prev + 1:
            prev = uid
            continue
        ranges.append(str(start) if start == prev else f"{start}:{prev}")
        start = prev = uid
    return ",".join(ranges)


def batches(items: list[Fetched], max_count: int, max_bytes: int) -> list[list[Fetched]]:
    batches: list[list[Fetched]] = []
    current: list[Fetched] = []
    size = 0
    for item in items:
        if current and (len(current) >= max_count or size + item.size > max_bytes):
            batches.append(current)
            current, size = [], 0
        current.append(item)
        size += item.size
    return batches + ([current] if current else [])


# ------------------------------------------------------------------ one connection

# An untagged LIST answer (aioimaplib hands it back without "* LIST"), not "List completed".
_LISTED = re.compile(rb"^(?:\* )?(?:LIST )?\(")


def quoted(name: str) -> str:
    """A mailbox name as an IMAP quoted string (spaces, quotes and backslashes allowed)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


class FolderError(Exception):
    """The configured `move_to` folder is missing and the server will not create it: no
    mail is fetched then, because it could be stored but never moved away."""


class ImapSession:
    """One connection. `lost` is set by conn_lost_cb: the client's own state goes stale."""

    def __init__(self, cfg: ImapConfig, timeout: float = COMMAND_TIMEOUT) -> None:
        self.cfg = cfg
        self.timeout = timeout
        self.lost = asyncio.Event()
        self.client: aioimaplib.IMAP4 | None = None
        self.selected = Selected(0, 0)

    def _on_lost(self, exc: Exception | None) -> None:
        log.info("IMAP connection to %s lost: %s", self.cfg.host, exc)
        self.lost.set()

    async def open(self) -> Selected:
        context = ssl.create_default_context() if self.cfg.tls == "ssl" else None
        self.client = aioimaplib.IMAP4(self.cfg.host, self.cfg.port, timeout=self.timeout,
                                       conn_lost_cb=self._on_lost, ssl_context=context)
        await self.client.wait_hello_from_server()
        login = await self.client.login(self.cfg.user, self.cfg.password)
        if login.result != "OK":
            raise ImapError(f"login as {self.cfg.user} refused")
        return await self.select()

    async def select(self) -> Selected:
        response = await self.command().select(self.cfg.mailbox)
        if response.result != "OK":
            raise ImapError(f"cannot select {self.cfg.mailbox}")
        self.selected = parse_select(response.lines)
        return self.selected

    def command(self) -> aioimaplib.IMAP4:
        if self.client is None or self.lost.is_set():
            raise ImapError("connection lost")
        return self.client

    async def uid(self, *args: str) -> list[bytes]:
        response = await self.command().uid(*args)
        if response.result != "OK":
            raise ImapError(f"UID {args[0]} failed: {response.lines[-1:]!r}")
        return list(response.lines)

    async def search(self, *criteria: str) -> list[int]:
        response = await self.command().uid_search(*criteria, charset=None)
        if response.result != "OK":
            raise ImapError(f"SEARCH {criteria} failed")
        return parse_search(response.lines)

    async def folder_exists(self, name: str) -> bool:
        response = await self.command().list('""', quoted(name))
        if response.result != "OK":
            raise ImapError(f"LIST {name!r} failed: {response.lines[-1:]!r}")
        return any(_LISTED.match(bytes(line)) for line in response.lines)

    async def create_folder(self, name: str) -> str | None:
        """None when created; else the server's answer, for the error staff read."""
        response = await self.command().create(quoted(name))
        if response.result == "OK":
            return None
        return b" ".join(bytes(line) for line in response.lines).decode("utf-8", "replace")

    def has(self, capability: str) -> bool:
        return self.client is not None and self.client.has_capability(capability)

    async def idle(self, seconds: float, stop: asyncio.Event,
                   started: Callable[[], None] = lambda: None) -> None:
        """Wait for any push, the IDLE timeout, a drop, or stop; then leave IDLE."""
        client = self.command()
        idle = await asyncio.wait_for(client.idle_start(timeout=seconds), self.timeout)
        started()
        waits = [asyncio.ensure_future(client.wait_server_push(seconds + self.timeout)),
                 asyncio.ensure_future(self.lost.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits:
                waiter.cancel()
        if self.lost.is_set():
            raise ImapError("connection lost during IDLE")
        client.idle_done()
        await asyncio.wait_for(idle, self.timeout)

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        try:
            if not self.lost.is_set():
                if client.has_pending_idle():
                    client.idle_done()
                await asyncio.wait_for(client.logout(), 5)
        except (TimeoutError, OSError, aioimaplib.AioImapException) as exc:
            log.debug("IMAP logout: %s", exc)
        transport = client.protocol.transport
        if transport is not None:
            transport.close()
