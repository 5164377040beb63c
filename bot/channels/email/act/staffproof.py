"""Whether a staff member's mail proves who wrote it.

A From header proves nothing. A staff member's mail acts in their name (an internal note,
a command) only when it replies to a mail we sent that very person: one of its
In-Reply-To/References ids is our signed Message-ID naming them, issued within
`email.staff_link_days`. Anything else is treated like anyone's mail.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from bot.channels.email.understand.tokens import MailToken
from engine.model import Person


@dataclass(frozen=True)
class StaffProof:
    token: MailToken | None  # a fresh token naming the sender: the mail is theirs
    expired: MailToken | None = None  # only an expired one: their link, too old to count

    @property
    def verified(self) -> bool:
        return self.token is not None


def prove(sender: Person, tokens: Iterable[MailToken | None], now: dt.datetime,
          lifetime: dt.timedelta) -> StaffProof:
    """The proof a staff member's mail carries; none for anyone else."""
    if not sender.role.is_staff:
        return StaffProof(None)
    theirs = [t for t in tokens if t is not None and t.person == sender.id]
    fresh = next((t for t in theirs if t.fresh(now, lifetime)), None)
    return StaffProof(fresh, None if fresh is not None or not theirs else theirs[0])


def lifetime_of(days: int) -> dt.timedelta:
    return dt.timedelta(days=days)
