"""A mailbox kept in sync with the inbound store, and the service that watches it.

`MailboxSync.run` is one pass (also `ticketbot mail fetch --once`); `ImapService` repeats it
on every IDLE push or timeout (poll when IDLE is off or unsupported), re-IDLEs at least every
`IDLE_SECONDS`, and after a drop reconnects with a NEW client and exponential backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

import aioimaplib

from bot.channels.email.receive import raw as rawmail
from bot.channels.email.receive.imap import (
    FETCH_BYTES,
    FETCH_COUNT,
    META_COUNT,
    SEEN,
    Fetched,
    FolderError,
    ImapError,
    ImapSession,
    Selected,
    batches,
    parse_fetch,
    quoted,
    uid_set,
)
from config.settings import ImapConfig
from engine.backoff import IMAP_RECONNECT, Backoff
from engine.inbox import Inbox, MailboxState, RawMail
from engine.ports import Clock

log = logging.getLogger("ticketbot.email.imap")

# RFC 2177 allows 29 min; NATs and firewalls drop idle TCP much sooner.
IDLE_SECONDS = 9 * 60.0
# Errors after which the connection is rebuilt rather than the service stopped.
RETRYABLE = (OSError, TimeoutError, ImapError, aioimaplib.AioImapException)
STOP_GRACE = 10.0


@dataclass(frozen=True)
class MailboxSync:
    """Everything new in the mailbox into the inbound store, then \\Seen (or moved)."""

    cfg: ImapConfig
    inbound: Inbox
    max_size: int
    clock: Clock

    @property
    def key(self) -> str:
        c = self.cfg
        return f"imap://{c.user}@{c.host}:{c.port}/{c.mailbox}"

    async def prepare(self, session: ImapSession) -> None:
        """Before anything is stored: the `move_to` folder exists (created when missing),
        else `FolderError`; a move that fails only after storing would stop every fetch."""
        target = self.cfg.move_to
        if target is None or await session.folder_exists(target):
            return
        refused = await session.create_folder(target)
        if refused is not None:
            raise FolderError(f"IMAP folder {target!r} (email.imap.move_to) does not exist on "
                              f"{self.cfg.host} and could not be created: {refused}")
        log.info("IMAP folder %r created on %s for processed mail", target, self.cfg.host)

    async def run(self, session: ImapSession) -> int:
        """The number of new mails stored."""
        selected = await session.select()
        state = await self.inbound.mailbox_state(self.key)
        fresh = state is None or state.uidvalidity != selected.uidvalidity
        uids = await self._new_uids(session, selected, state)
        stored = 0
        for batch in batches(await self._meta(session, uids), FETCH_COUNT, FETCH_BYTES):
            # Rows and the new last UID in one commit; while `fresh`, the state waits.
            moved = None if fresh else (self.key, selected.uidvalidity,
                                        max(f.uid for f in batch))
            stored += await self._fetch_batch(session, batch, moved)
        if fresh:
            # Counting starts after everything there now: mail read before we came (not
            # UNSEEN) is never imported. Only now, so a crash halfway re-runs this search.
            last = max([selected.uidnext - 1, *uids])
            await self.inbound.set_mailbox_state(self.key, selected.uidvalidity, last)
        return stored

    async def _new_uids(self, session: ImapSession, selected: Selected,
                        state: MailboxState | None) -> list[int]:
        if state is None:
            # First contact: what nobody has read yet, not ten years of archive.
            return await session.search("UNSEEN")
        if state.uidvalidity != selected.uidvalidity:
            log.warning("UIDVALIDITY of %s changed (%s -> %s): full resync, deduplicated "
                        "by Message-ID", self.key, state.uidvalidity, selected.uidvalidity)
            return await session.search("ALL")
        found = await session.search("UID", f"{state.last_uid + 1}:*")
        return [u for u in found if u > state.last_uid]

    async def _meta(self, session: ImapSession, uids: list[int]) -> list[Fetched]:
        found: list[Fetched] = []
        for start in range(0, len(uids), META_COUNT):
            lines = await session.uid("fetch", uid_set(uids[start:start + META_COUNT]),
                                      "(UID RFC822.SIZE INTERNALDATE)")
            found += parse_fetch(lines)
        return sorted(found, key=lambda f: f.uid)

    async def _fetch_batch(self, session: ImapSession, batch: list[Fetched],
                           state: tuple[str, int, int] | None) -> int:
        normal = [f for f in batch if f.size <= self.max_size]
        bodies = await self._bodies(session, normal) if normal else {}
        mails = []
        for item in batch:
            raw = bodies.get(item.uid) if item.size <= self.max_size else \
                await self._truncated(session, item)
            if raw is None:
                log.warning("IMAP uid %s of %s: no body returned", item.uid, self.key)
                continue
            mails.append(RawMail(rawmail.external_id(raw), raw,
                                 item.internaldate or self.clock.now(), self.key, item.uid))
        ids = await self.inbound.store_mails(rawmail.CHANNEL, mails, self.clock.now(), state)
        await self._done(session, [f.uid for f in batch])
        return sum(1 for i in ids if i is not None)

    async def _bodies(self, session: ImapSession, items: list[Fetched]) -> dict[int, bytes]:
        lines = await session.uid("fetch", uid_set(f.uid for f in items), "(UID BODY.PEEK[])")
        return {f.uid: f.parts["BODY[]"] for f in parse_fetch(lines) if "BODY[]" in f.parts}

    async def _truncated(self, session: ImapSession, item: Fetched) -> bytes | None:
        """A mail over the limit: its header and the first `max_size` bytes of its body
        (the text part comes first in practice), with a header saying so."""
        lines = await session.uid("fetch", str(item.uid),
                                  f"(UID BODY.PEEK[HEADER] BODY.PEEK[TEXT]<0.{self.max_size}>)")
        found = parse_fetch(lines)
        if not found or "BODY[HEADER]" not in found[0].parts:
            return None
        parts = found[0].parts
        raw = parts["BODY[HEADER]"] + next((v for k, v in parts.items()
                                             if k.startswith("BODY[TEXT]")), b"")
        log.warning("IMAP uid %s is %s bytes, over the %s limit: kept truncated",
                    item.uid, item.size, self.max_size)
        return rawmail.prepend_header(raw, rawmail.TRUNCATED_HEADER, str(item.size))

    async def _done(self, session: ImapSession, uids: list[int]) -> None:
        """After the commit: \\Seen, or move to the configured folder."""
        if not uids:
            return
        target, uids_text = self.cfg.move_to, uid_set(uids)
        if target is not None:
            target = quoted(target)  # a folder name may hold spaces
        if target is None:
            await session.uid("store", uids_text, "+FLAGS.SILENT", SEEN)
        elif session.has("MOVE"):
            await session.uid("move", uids_text, target)
        else:
            await session.uid("copy", uids_text, target)
            await session.uid("store", uids_text, "+FLAGS.SILENT", r"(\Deleted \Seen)")
            if session.has("UIDPLUS"):
                await session.uid("expunge", uids_text)


class ImapService:
    """Keeps one mailbox synced; `wake` tells the processor there is new mail."""

    def __init__(self, sync: MailboxSync, wake: Callable[[], None], *,
                 idle_seconds: float = IDLE_SECONDS, backoff: Backoff = IMAP_RECONNECT,
                 on_wait: Callable[[], None] = lambda: None) -> None:
        self.name = f"email-imap {sync.cfg.user}@{sync.cfg.host}/{sync.cfg.mailbox}"
        self.sync = sync
        self.wake = wake
        self.idle_seconds = idle_seconds
        self.backoff = backoff
        self.failures = 0
        self.on_wait = on_wait             # called each time it starts waiting for news
        self.connections = 0               # how many times a session was opened
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """Leave IDLE and log out politely; cancel only if the server does not answer."""
        self._stop.set()
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), STOP_GRACE)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while not self._stop.is_set():
            session = ImapSession(self.sync.cfg)
            try:
                await session.open()
                self.connections += 1
                await self.sync.prepare(session)
                self.failures = 0
                await self._serve(session)
            except FolderError as exc:  # retried with backoff: an admin may fix it
                log.error("%s; no mail is fetched until it exists", exc)
            except RETRYABLE as exc:
                log.warning("IMAP %s: %s; reconnecting", self.sync.cfg.host, exc or type(exc))
            except Exception:  # a storage hiccup must not end the watcher for good
                log.exception("IMAP %s: unexpected error; reconnecting", self.sync.cfg.host)
            finally:
                await session.close()
            self.failures += 1
            await self._pause(self.backoff.delay(self.failures))

    async def _serve(self, session: ImapSession) -> None:
        while not self._stop.is_set():
            if await self.sync.run(session):
                self.wake()
            await self._wait_for_news(session)

    async def _wait_for_news(self, session: ImapSession) -> None:
        if self.sync.cfg.idle and session.has("IDLE"):
            await session.idle(self.idle_seconds, self._stop, started=self.on_wait)
            return
        self.on_wait()
        lost = asyncio.ensure_future(session.lost.wait())
        stop = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({lost, stop}, timeout=self.sync.cfg.poll_seconds,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            stop.cancel()
        if session.lost.is_set():
            raise ImapError("connection lost while polling")

    async def _pause(self, seconds: float) -> None:
        if seconds <= 0 or self._stop.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)


async def fetch_once(sync: MailboxSync) -> int:
    """One pass over the mailbox (cron mode): the number of new mails stored."""
    session = ImapSession(sync.cfg)
    try:
        await session.open()
        await sync.prepare(session)
        return await sync.run(session)
    finally:
        await session.close()
