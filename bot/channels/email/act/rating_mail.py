"""F13 by mail: the requester rates a resolved ticket with a one-click `mailto:` link (its
subject carries a signed vote token) or by answering the survey mail with just a digit.

The vote is recorded by the ratings store, which checks that the sender is the person who
was asked; a refusal is explained only to that person.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from bot.channels.email.act.fate import Fate
from bot.channels.email.act.replies import Asker, Replies
from bot.channels.email.act.session import Session
from bot.channels.email.understand.identity import MailIdentity
from bot.commands.registry import MAIL
from bot.i18n import t
from engine.commands import RateTicket
from engine.errors import EngineError
from engine.notify.combine import RATING
from engine.notify.kinds import NoticeKind
from engine.outbox import OutboxQueue
from engine.ratings import RatingNotRequester, parse_score, read_vote


@dataclass(frozen=True)
class MailVote:
    ticket: int
    score: int
    resolution_at: dt.datetime | None


class MailRatings:
    def __init__(self, session: Session, identity: MailIdentity, outbox: OutboxQueue,
                 replies: Replies, scale: int) -> None:
        self.s = session
        self.identity = identity
        self.outbox = outbox
        self.replies = replies
        self.scale = scale

    async def vote(self, subject: str, reply: str, refs: Sequence[str],
                   person_id: int) -> MailVote | None:
        """A signed token in the subject, or a bare digit answering our survey mail."""
        token = read_vote(self.identity.secret, subject)
        if token is not None:
            return MailVote(token.ticket, token.score, token.resolution_at)
        score = parse_score(reply, self.scale)
        if score is None:
            return None
        for ref in refs:
            mark = self.identity.ref_token(ref)
            row = None if mark is None or mark.outbox_id is None else \
                await self.outbox.get(mark.outbox_id)
            if row is not None and (row.kind is NoticeKind.RATING_REQUEST
                                    or RATING in row.payload) \
                    and row.person_id == person_id and row.ticket is not None:
                return MailVote(row.ticket, score, None)
        return None

    async def record(self, asker: Asker, vote: MailVote, at: dt.datetime) -> Fate:
        lang = asker.person.language
        try:
            await self.s.bus.handle(RateTicket(
                actor=asker.person.id, channel=MAIL, at=at, ticket=vote.ticket,
                score=vote.score, resolution_at=vote.resolution_at, source_ref=asker.ref))
        except EngineError as exc:
            if not isinstance(exc, RatingNotRequester):
                await self.replies.explain(asker, exc, vote.ticket)
            return Fate("ignored", vote.ticket, f"rating refused: {exc}", "rating",
                        asker.person.id)
        await self.replies.send(asker, t(lang, "rating.thanks", score=vote.score,
                                         number=vote.ticket), vote.ticket)
        return Fate("done", vote.ticket, f"rating {vote.score}", "rating")
