"""Who among a new ticket's Cc addresses hears "you are in copy".

A stranger who puts fifty addresses in Cc must not make us mail fifty people, and machine
mail must never make us mail anyone: only a known requester's mail (written to us before,
or of a configured company) notifies its Cc, at most `MAX_CC_NOTICES` of them, and only
when nothing in it looks machine-made. The Cc addresses are kept on the ticket all the same
(their replies take part in it).
"""

from __future__ import annotations

from bot.channels.email.understand.identity import MailIdentity, is_no_reply
from bot.channels.email.understand.noise import classify
from bot.channels.email.understand.parse import ParsedMail
from bot.channels.email.understand.signs import signs
from engine.model import Person

MAX_CC_NOTICES = 5


def looks_machine_made(mail: ParsedMail, identity: MailIdentity) -> bool:
    """What the noise rules drop (every strong header sign among them), or any one weak sign
    of signs.py that they need a second part to confirm: not notifying a Cc costs little,
    mailing a machine a lot."""
    if mail.from_addr is None or is_no_reply(mail.from_addr):
        return True
    if classify(mail, own_domains=identity.noise_domains,
                loop_header_value=identity.loop_value) is not None:
        return True
    return bool(signs(mail))


def cc_to_notify(mail: ParsedMail, identity: MailIdentity, sender: Person, known: bool,
                 cc: tuple[str, ...]) -> tuple[str, ...]:
    trusted = known or sender.company_id is not None or sender.role.is_staff
    if not trusted or looks_machine_made(mail, identity):
        return ()
    return cc[:MAX_CC_NOTICES]
