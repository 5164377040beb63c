"""Who we are on the mail side: the support address, its domain, our loop header value,
and the signed tokens in our Message-IDs and Reply-To addresses."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.channels.email.understand import tokens
from bot.channels.email.understand.tokens import MailToken
from config.settings import Settings
from engine.model import Role

LOOP_HEADER = "X-Ticketbot-Loop"
# Never mailed. `postmaster` is not here: RFC 5321 makes it a mailbox a person reads, and a
# postmaster whose mail was judged a person's gets the acknowledgement like anyone.
NO_REPLY_LOCALPARTS = ("noreply", "no-reply", "no_reply", "donotreply", "do-not-reply",
                       "do_not_reply", "mailer-daemon", "bounce", "bounces")


@dataclass(frozen=True)
class MailIdentity:
    address: str
    secret: bytes
    staff_domains: frozenset[str] = frozenset()
    # The desks' own mailboxes (billing@...), ours as much as the support address.
    desk_addresses: frozenset[str] = frozenset()

    @classmethod
    def of(cls, settings: Settings, secret: bytes) -> MailIdentity:
        staff = frozenset(e.rpartition("@")[2] for p in settings.people
                          if Role(p.role).is_staff for e in p.emails)
        return cls(settings.email.address.lower(), secret, staff,
                   frozenset(settings.engine.desks.addresses()))

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]

    @property
    def loop_value(self) -> str:
        return self.address

    @property
    def noise_domains(self) -> tuple[str, ...]:
        """Domains whose mail is our own loop. Not when staff write from it: their mail
        (commands by mail) comes from the same domain as the support address."""
        return () if self.domain in self.staff_domains else (self.domain,)

    def is_own(self, address: str | None) -> bool:
        """The support address itself or any `support+anything@` variant, or a desk's."""
        if not address:
            return False
        local, _, domain = address.strip().lower().partition("@")
        own_local = self.address.partition("@")[0]
        bare = local.partition("+")[0]
        return (domain == self.domain and bare == own_local) or \
            f"{bare}@{domain}" in self.desk_addresses

    def ref_token(self, ref: str) -> MailToken | None:
        return tokens.read_message_id(self.secret, ref, frozenset({self.domain}))

    def address_token(self, address: str) -> MailToken | None:
        return tokens.read_address(self.secret, address, self.address)

    def ref_ticket(self, ref: str) -> int | None:
        token = self.ref_token(ref)
        return None if token is None else token.ticket

    def address_ticket(self, address: str) -> int | None:
        token = self.address_token(address)
        return None if token is None else token.ticket

    def message_id(self, outbox_id: int, ticket: int | None, person: int | None,
                   issued: dt.datetime | None = None) -> str:
        return tokens.message_id(self.secret, self.domain, outbox_id, ticket, person, issued)

    def reply_to(self, ticket: int | None, person: int | None) -> str:
        return tokens.reply_address(self.secret, self.address, ticket, person)


def is_no_reply(address: str) -> bool:
    local = address.strip().lower().partition("@")[0].partition("+")[0]
    return local in NO_REPLY_LOCALPARTS or local.startswith(("noreply", "no-reply"))
