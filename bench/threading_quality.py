"""Threading quality on a generated corpus: which ticket each mail lands on, and whether
every requester gets an acknowledgement.

    .venv/bin/python -m bench.threading_quality [--orgs 36] [--seed 10]

The corpus (made here, nothing shared): requesters at organisation domains (none of them
configured under `[[companies]]`) and at free-mail providers write new requests; the
service runs as in production (bootstrap, intake on SQLite, acks sent to an aiosmtpd sink
in this process); then, against those real acks:

- each requester answers their ack (In-Reply-To our Message-ID);
- a colleague at the requester's organisation answers the ack to all (our Message-ID in
  In-Reply-To and References, the requester in Cc): "colleague replying, right ticket";
- another colleague writes with only the `[#N]` tag in the subject (no headers of ours);
- a stranger at another domain writes with the tag only (a new conversation);
- for free-mail requesters, another user of the same provider writes with the tag only
  (a stranger: a shared gmail.com is no organisation);
- three customers send a backlog of 8 new requests each, stored before the service runs.

Prints the pairwise F1 of the mails' tickets against the true conversations, the colleague
replies that reached the right ticket, and the conversations whose requester never got an
ack, beside the figures of issue 10 (a private corpus, so: same measure, other mails).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import email
import itertools
import logging
import random
import re
import tempfile
from collections import defaultdict
from dataclasses import dataclass, replace
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.policy import default
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope

from bot.bootstrap import bootstrap
from bot.channels.email.act.intake import MailIntake
from bot.channels.email.deliver.sender import MailSender
from bot.channels.email.receive import raw
from bot.runtime import App
from config.settings import EmailConfig, Settings, SmtpConfig, with_sla
from engine.store.queries import export_all
from tests.fakes import FixedClock

SUPPORT = "support@help.example.com"
SECRET = b"bench-threading-secret"
FREE = ("gmail.com", "mail.ru", "yandex.ru", "outlook.com", "bk.ru")
BACKLOG_CUSTOMERS, BACKLOG = 3, 8
# Issue 10's figures (private corpus), printed beside ours.
ISSUE = {"ticketbot before": (0.959, "1 of 36", "114 of 870"),
         "django-helpdesk": (0.717, "22 of 36", "0"),
         "osTicket": (0.998, "31 of 36", "0")}
_TAG = re.compile(r"\[#(\d+)\]")


@dataclass
class Sink:
    mails: list[EmailMessage]

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Envelope) -> str:
        msg = email.message_from_bytes(envelope.original_content or b"", policy=default)
        assert isinstance(msg, EmailMessage)
        self.mails.append(msg)
        return "250 2.0.0 OK"


@dataclass(frozen=True)
class Sent:
    """One generated mail: its Message-ID and the conversation it truly belongs to."""

    message_id: str
    conversation: str
    colleague_reply: bool = False


class Corpus:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.sent: list[Sent] = []
        self.seq = itertools.count(1)

    def mail(self, conversation: str, sender: str, subject: str, *, cc: str | None = None,
             reply_to_ids: tuple[str, ...] = (), colleague_reply: bool = False) -> bytes:
        n = next(self.seq)
        # Mixed case, as Outlook and Exchange write them.
        message_id = f"<BenchMsg.{n}.{self.rng.randrange(16**6):06X}@{sender.split('@')[1]}>"
        m = EmailMessage()
        m["From"], m["To"], m["Subject"] = sender, SUPPORT, subject
        if cc:
            m["Cc"] = cc
        m["Date"] = format_datetime(dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC))
        m["Message-ID"] = message_id
        if reply_to_ids:
            m["In-Reply-To"] = reply_to_ids[-1]
            m["References"] = " ".join(reply_to_ids)
        m.set_content(f"Mail {n} about {conversation}.\n\nRegards")
        self.sent.append(Sent(message_id, conversation, colleague_reply))
        return m.as_bytes(policy=SMTP_POLICY)


async def _deliver(app: App, clock: FixedClock, mails: list[bytes]) -> None:
    for data in mails:
        clock.advance(seconds=30)
        await raw.keep(app.inbound, data, clock.now())
    await MailIntake(app).drain()


async def _send(app: App, clock: FixedClock, smtp: SmtpConfig) -> None:
    clock.advance(minutes=1)
    sender = MailSender(app, smtp)
    while await sender.run_once():
        pass


def _ack_of(sink: Sink, address: str, number: int) -> EmailMessage | None:
    return next((m for m in sink.mails if m["To"] == address
                 and f"[#{number}]" in f"{m['Subject']} {m.get_content()}"), None)


async def run(orgs: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    corpus = Corpus(rng)
    sink = Sink([])
    server = await asyncio.get_running_loop().create_server(lambda: SMTP(sink), "127.0.0.1", 0)
    smtp = SmtpConfig(host="127.0.0.1", port=server.sockets[0].getsockname()[1], tls="none")
    clock = FixedClock()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        cfg = replace(EmailConfig(address=SUPPORT, listen_port=None), smtp=smtp)
        app = await bootstrap(with_sla(Settings(database_url=url, secret=SECRET.decode(),
                                                email=cfg)), clock=clock, secret=SECRET)
        try:
            result = await _rounds(app, clock, smtp, corpus, sink, orgs)
        finally:
            await app.close()
    server.close()
    await server.wait_closed()
    return result


async def _rounds(app: App, clock: FixedClock, smtp: SmtpConfig, corpus: Corpus, sink: Sink,
                  orgs: int) -> dict[str, Any]:
    requesters = [(f"req{i}@org{i}.example", f"org{i}.example") for i in range(orgs)]
    requesters += [(f"solo{i}@{FREE[i % len(FREE)]}", None) for i in range(len(FREE) * 2)]
    # Round 1: every requester's new request, then the backlog customers' eight each.
    first = [corpus.mail(f"c{i}", who, f"Request {i}: printer {i} jams")
             for i, (who, _) in enumerate(requesters)]
    await _deliver(app, clock, first)
    backlog = [corpus.mail(f"b{k}.{j}", f"busy{k}@bulk{k}.example", f"Backlog {k}.{j}")
               for k in range(BACKLOG_CUSTOMERS) for j in range(BACKLOG)]
    await _deliver(app, clock, backlog)
    await _send(app, clock, smtp)
    tickets = await _tickets_by_id(app)
    replies: list[bytes] = []
    for i, (who, org) in enumerate(requesters):
        sent = corpus.sent[i]
        number = tickets[sent.message_id.lower()]
        ack = _ack_of(sink, who, number)
        ids = (sent.message_id, *([str(ack["Message-ID"])] if ack is not None else ()))
        subject = f"Re: [#{number}] Request {i}: printer {i} jams"
        replies.append(corpus.mail(f"c{i}", who, subject, reply_to_ids=ids))
        if org is not None:
            replies.append(corpus.mail(f"c{i}", f"boss{i}@{org}", subject, cc=who,
                                       reply_to_ids=ids, colleague_reply=True))
            replies.append(corpus.mail(f"c{i}", f"mate{i}@{org}", subject))
            replies.append(corpus.mail(f"s{i}", f"someone{i}@elsewhere{i}.example", subject))
        else:
            provider = who.split("@")[1]
            replies.append(corpus.mail(f"f{i}", f"other{i}@{provider}", subject))
    corpus.rng.shuffle(replies)
    await _deliver(app, clock, replies)
    await _send(app, clock, smtp)
    return await _score(app, corpus, sink)


async def _tickets_by_id(app: App) -> dict[str, int]:
    """Ticket of each mail by Message-ID (lower-case: older trees stored them so)."""
    rows = (await export_all(app.db))["inbound"]
    return {r["external_id"].lower(): r["ticket"] for r in rows}


async def _score(app: App, corpus: Corpus, sink: Sink) -> dict[str, Any]:
    landed = await _tickets_by_id(app)
    truth = {s.message_id: s.conversation for s in corpus.sent}
    got = {s.message_id: landed.get(s.message_id.lower()) for s in corpus.sent}
    colleagues = [s for s in corpus.sent if s.colleague_reply]
    first_of = {s.conversation: got[s.message_id] for s in reversed(corpus.sent)}
    right = sum(got[s.message_id] == first_of[s.conversation] for s in colleagues)
    export = await export_all(app.db)
    people = {p["id"]: p for p in export["people"]}
    unacked = requests = 0
    for ticket in export["tickets"]:
        requester = people.get(ticket["requester_id"])
        if requester is None or ticket["linked_to"] is not None:
            continue
        requests += 1
        if _ack_of(sink, requester["emails"][0], ticket["number"]) is None:
            unacked += 1
    return {"f1": _pairwise_f1(truth, got), "colleague_right": right,
            "colleagues": len(colleagues), "unacked": unacked,
            "conversations": requests, "mails_out": len(sink.mails)}


def _pairwise_f1(truth: dict[str, str], got: dict[str, int | None]) -> float:
    def pairs(labels: dict[str, Any]) -> set[tuple[str, str]]:
        groups: dict[Any, list[str]] = defaultdict(list)
        for key, label in labels.items():
            groups[label if label is not None else ("none", key)].append(key)
        return {(a, b) for g in groups.values() for a, b in itertools.combinations(sorted(g), 2)}

    true_pairs, got_pairs = pairs(truth), pairs(got)
    both = len(true_pairs & got_pairs)
    precision = both / len(got_pairs) if got_pairs else 1.0
    recall = both / len(true_pairs) if true_pairs else 1.0
    return 0.0 if both == 0 else 2 * precision * recall / (precision + recall)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orgs", type=int, default=36)
    ap.add_argument("--seed", type=int, default=10)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    r = asyncio.run(run(args.orgs, args.seed))
    print(f"{'':28} {'pairwise F1':>12} {'colleague, right ticket':>24} {'no ack':>12}")
    print(f"{'ticketbot (this tree)':28} {r['f1']:>12.3f} "
          f"{str(r['colleague_right']) + ' of ' + str(r['colleagues']):>24} "
          f"{str(r['unacked']) + ' of ' + str(r['conversations']):>12}")
    for name, (f1, colleague, unacked) in ISSUE.items():
        print(f"{name + ' (issue 10)':28} {f1:>12.3f} {colleague:>24} {unacked:>12}")
    print(f"mails sent: {r['mails_out']} (generated corpus, seed {args.seed}; "
          "issue figures: private corpus)")


if __name__ == "__main__":
    main()
