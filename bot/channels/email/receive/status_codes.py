"""SMTP/LMTP replies we send, as named constants (RFC 5321 basic codes, RFC 3463 enhanced codes).

The class digit of the basic code (2, 4, 5) must equal the class of the enhanced code
(2.x.x, 4.x.x, 5.x.x); `tests/test_email_ingress.py` checks every constant here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SmtpReply:
    code: int
    enhanced: str
    text: str

    @property
    def line(self) -> str:
        return f"{self.code} {self.enhanced} {self.text}"

    def about(self, address: str) -> str:
        """The same reply naming one recipient (LMTP answers once per recipient)."""
        return f"{self.code} {self.enhanced} <{address}> {self.text}"


OK = SmtpReply(250, "2.0.0", "OK")
RECIPIENT_OK = SmtpReply(250, "2.1.5", "Recipient OK")
DELIVERED = SmtpReply(250, "2.0.0", "Message accepted for delivery")
DUPLICATE = SmtpReply(250, "2.0.0", "Message already received")
UNKNOWN_RECIPIENT = SmtpReply(550, "5.1.1", "No such mailbox here")
TOO_BIG = SmtpReply(552, "5.3.4", "Message too big for this system")
TOO_MANY_RECIPIENTS = SmtpReply(452, "4.5.3", "Too many recipients")
STORAGE_FAILED = SmtpReply(451, "4.3.0", "Temporary storage failure, try again later")
LINE_TOO_LONG = SmtpReply(500, "5.5.2", "Line too long")

ALL: tuple[SmtpReply, ...] = (
    OK, RECIPIENT_OK, DELIVERED, DUPLICATE, UNKNOWN_RECIPIENT, TOO_BIG, TOO_MANY_RECIPIENTS,
    STORAGE_FAILED, LINE_TOO_LONG,
)
