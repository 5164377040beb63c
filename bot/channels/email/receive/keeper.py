"""Group commit for the SMTP/LMTP intake: the mails that several sessions hand over while a
commit is under way are stored together in the next one (`Inbox.store_mails`), so a busy
intake pays one transaction per round instead of one per mail. Each session still answers
`250` only after its own mail is committed."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence

from bot.channels.email.receive import raw as rawmail
from engine.inbox import Inbox, RawMail


class Keeper:
    def __init__(self, inbound: Inbox) -> None:
        self.inbound = inbound
        self.commits = 0  # transactions so far (tests and the bench read it)
        self._waiting: list[tuple[RawMail, asyncio.Future[int | None]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def keep(self, data: bytes, received_at: dt.datetime, *,
                   envelope: Sequence[str] = ()) -> int | None:
        """As `raw.keep`: the new inbound row id, or None for a mail seen before."""
        key = rawmail.external_id(data)
        if envelope:
            data = rawmail.prepend_header(data, rawmail.ENVELOPE_HEADER, ", ".join(envelope))
        mail = RawMail(key, data, received_at)
        done: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._waiting.append((mail, done))
        if self._flushing is None:
            self._flushing = asyncio.create_task(self._flush(), name="email-intake-commit")
        new = await done
        if new is None:  # the same Message-ID again: the same mail, or a collision kept apart
            return await rawmail.keep_if_different(self.inbound, mail)
        return new

    async def _flush(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    ids = await self.inbound.store_mails(
                        rawmail.CHANNEL, [m for m, _ in batch], batch[-1][0].received_at)
                except Exception as exc:  # each session answers 451; the sender retries
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(exc)
                    continue
                finally:
                    self.commits += 1
                for (_, done), new in zip(batch, ids, strict=True):
                    if not done.done():  # a session that went away no longer waits
                        done.set_result(new)
        finally:
            self._flushing = None
