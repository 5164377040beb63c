"""`ticketbot mail ...`: the mail channel from cron or a shell.

    ticketbot mail fetch --once   drain the IMAP mailbox once, process it, exit (cron mode);
                                  with --send, then deliver the outbox too (one start-up)
    ticketbot mail process        process mail already stored (e.g. after a fix)
    ticketbot mail send --once    deliver the queued outgoing mail once, exit
    ticketbot mail ignored        what the intake ignored, and why (cli_ignored.py)
    ticketbot mail quarantined    the mails processing gave up on, with the reason
    ticketbot mail rescue ID      an ignored mail becomes a ticket; a quarantined one is
                                  processed again (e.g. after a fix)
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from bot.channels.email import cli_ignored
from bot.cli_output import complain, say
from config.settings import Settings, SmtpConfig

if TYPE_CHECKING:
    from bot.ports_only import Queues
    from bot.runtime import Runtime

# The sender's outbox channel (deliver/sender.py CHANNEL), named here: importing the sender
# for it cost an empty cron poll about a tenth of its start-up.
OUTBOX_CHANNEL = "email"


def register(sub: Any) -> None:
    mail = sub.add_parser("mail", help="the mail channel: fetch, process, send").add_subparsers(
        dest="mail_command", required=True, metavar="ACTION")
    fetch = mail.add_parser("fetch", help="fetch new mail over IMAP and process it")
    fetch.add_argument("--once", action="store_true", required=True,
                       help="one pass, then exit (`ticketbot run` watches continuously)")
    fetch.add_argument("--send", action="store_true",
                       help="then deliver the queued outgoing mail as `mail send --once` "
                            "does, in the same process: one start-up per cron round")
    fetch.set_defaults(func=_fetch)
    mail.add_parser("process", help="turn stored mail into tickets and comments").set_defaults(
        func=_process)
    send = mail.add_parser("send", help="deliver queued outgoing mail through [email.smtp]")
    send.add_argument("--once", action="store_true", required=True,
                      help="one pass, then exit")
    send.set_defaults(func=_send)
    cli_ignored.register(mail)
    mail.add_parser("quarantined", help="list the mails processing gave up on").set_defaults(
        func=_quarantined)


async def _fetch(args: argparse.Namespace, settings: Settings) -> int:
    from bot.channels.email.receive import raw
    from bot.channels.email.receive.imap import FolderError
    from bot.channels.email.receive.mailbox import RETRYABLE, MailboxSync, fetch_once
    from bot.ports_only import ports_only
    from engine.ports import SystemClock

    cfg = settings.email
    if cfg.imap is None:
        complain("no [email.imap] in the config: nothing to fetch from")
        return 2
    smtp = cfg.smtp if args.send else None
    if args.send and smtp is None:
        complain("no [email.smtp] in the config: nowhere to send (drop --send)")
        return 2
    async with ports_only(settings) as queues:
        inbound = queues.inbound
        try:
            stored = await fetch_once(MailboxSync(cfg.imap, inbound, cfg.max_size,
                                               SystemClock()))
        except RETRYABLE as exc:
            # What was stored before the failure is kept, and processed now all the same.
            complain(f"IMAP {cfg.imap.host}: {exc or type(exc).__name__}")
            stored = -1
        except FolderError as exc:
            complain(str(exc))
            return 2
        waiting = bool(await inbound.pending(raw.CHANNEL, 1))
        unsent = smtp is not None and await _unsent(queues)
    # The whole application only for mail to process or send: an empty poll stops here.
    processed, sent = await _drain(settings, smtp) if waiting or unsent else (0, 0)
    if stored < 0:
        say(f"processed {processed} mail(s)")
    else:
        say(f"fetched {stored} new mail(s), processed {processed}")
    if smtp is not None:
        say(f"handled {sent} outgoing mail(s)")
    return 1 if stored < 0 else 0


async def _unsent(queues: Queues) -> bool:
    return await queues.outbox.pending_count(OUTBOX_CHANNEL) > 0


async def _drain(settings: Settings, smtp: SmtpConfig | None = None) -> tuple[int, int]:
    """Stored mail processed, then (with `smtp`) the outbox delivered: (processed, sent)."""
    from bot.bootstrap import bootstrap
    from bot.channels.email.act.intake import MailIntake

    rt = await bootstrap(settings, with_services=False)
    try:
        processed = await MailIntake(rt).drain()
        return processed, 0 if smtp is None else await _send_queue(rt, smtp)
    finally:
        await rt.close()


async def _process(args: argparse.Namespace, settings: Settings) -> int:
    processed, _ = await _drain(settings)
    say(f"processed {processed} mail(s)")
    return 0


async def _send(args: argparse.Namespace, settings: Settings) -> int:
    from bot.ports_only import ports_only

    if settings.email.smtp is None:
        complain("no [email.smtp] in the config: nowhere to send")
        return 2
    async with ports_only(settings) as queues:
        waiting = await queues.outbox.pending_count(OUTBOX_CHANNEL)
    # The whole application only for mail to send: an empty queue stops here.
    total = await _send_all(settings, settings.email.smtp) if waiting else 0
    say(f"handled {total} outgoing mail(s)")
    return 0


async def _send_all(settings: Settings, smtp: SmtpConfig) -> int:
    from bot.bootstrap import bootstrap

    rt = await bootstrap(settings, with_services=False)
    try:
        return await _send_queue(rt, smtp)
    finally:
        await rt.close()


async def _send_queue(rt: Runtime, smtp: SmtpConfig) -> int:
    """Every queued mail, over the relay connections configured, the next batch made ready
    while one is sent (MailSender.drain): how many rows were handled."""
    from bot.channels.email.deliver.sender import DRAIN_BATCH, MailSender

    return await MailSender(rt, smtp, batch=DRAIN_BATCH).drain()


async def _quarantined(args: argparse.Namespace, settings: Settings) -> int:
    from email.parser import BytesHeaderParser
    from email.policy import default

    from bot.bootstrap import bootstrap
    from bot.channels.email.receive import raw

    rt = await bootstrap(settings, with_services=False)
    try:
        rows = await rt.inbound.quarantined(raw.CHANNEL, 500)
    finally:
        await rt.close()
    if not rows:
        say("no mail is quarantined")
    for row in rows:
        head = BytesHeaderParser(policy=default).parsebytes(raw.header_block(row.raw or b""))
        say(f"{row.id}\t{row.received_at:%Y-%m-%d %H:%M}\t{head.get('From', '?')}\t"
            f"{head.get('Subject', '')}\t{row.reason}")
    return 0
