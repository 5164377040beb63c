"""F17 full-text search over subjects and comments, on SQLite (FTS5) and PostgreSQL (GIN).

Both backends index the same column, `search_docs.terms`: the text's stems from
`engine/stemming.py`, so a query finds the same tickets on either. SQLite matches it with an
external-content FTS5 table that triggers keep in step; PostgreSQL with a GIN index over a
stored generated column, `to_tsvector('simple', terms)` (the 'simple' config only splits
and lower-cases: the stems are ours; its own 'russian' and 'english' configs would each
stem one language and find other tickets than SQLite does). The store code writes `search_docs` in the same transaction as the comment or
subject it mirrors (`engine/store/uow.py`), so the index is never behind a committed write.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, and_, delete, or_, select, text, union, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.finding import FIND_LIMIT, Hit
from engine.model import Person, Status
from engine.stemming import stem, stemmed, words
from engine.store.tables import comments, search_docs, ticket_observers, tickets

# Objects of each backend's own index, outside `tables.metadata`: the schema comparison
# leaves every name with this prefix alone (engine/store/migrate.py).
NATIVE_PREFIX = "search_fts"
MAX_TERMS = 8
SNIPPET_CHARS = 120
_WORD = re.compile(r"[^\W_]+")

SQLITE_DDL = (
    "CREATE VIRTUAL TABLE search_fts USING fts5(terms, content='search_docs', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 0')",
    "CREATE TRIGGER search_fts_ai AFTER INSERT ON search_docs BEGIN "
    "INSERT INTO search_fts(rowid, terms) VALUES (new.id, new.terms); END",
    "CREATE TRIGGER search_fts_ad AFTER DELETE ON search_docs BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, terms) VALUES ('delete', old.id, old.terms); END",
    "CREATE TRIGGER search_fts_au AFTER UPDATE OF terms ON search_docs BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, terms) VALUES ('delete', old.id, old.terms); "
    "INSERT INTO search_fts(rowid, terms) VALUES (new.id, new.terms); END",
)
SQLITE_DROP = ("DROP TRIGGER IF EXISTS search_fts_au", "DROP TRIGGER IF EXISTS search_fts_ad",
               "DROP TRIGGER IF EXISTS search_fts_ai", "DROP TABLE IF EXISTS search_fts")
# The vector is stored: computing to_tsvector for each candidate at query time cost 34 µs a
# row, 220 ms for a common word over 100,000 tickets (measured with bench/find.py's data).
POSTGRES_DDL = (
    "ALTER TABLE search_docs ADD COLUMN search_fts_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple', terms)) STORED",
    "CREATE INDEX search_fts_vector_gin ON search_docs USING gin (search_fts_vector)")
POSTGRES_DROP = ("DROP INDEX IF EXISTS search_fts_vector_gin",
                 "ALTER TABLE search_docs DROP COLUMN IF EXISTS search_fts_vector")


def native_ddl(dialect: str) -> tuple[str, ...]:
    return SQLITE_DDL if dialect == "sqlite" else POSTGRES_DDL


def native_drop(dialect: str) -> tuple[str, ...]:
    return SQLITE_DROP if dialect == "sqlite" else POSTGRES_DROP


# ---------------------------------------------------------------- keeping the index in step

_INSERT_DOC = search_docs.insert()


def _comment_doc(comment_id: int, ticket: int, body: str, public: bool) -> dict[str, Any]:
    return {"ticket": ticket, "comment_id": comment_id, "terms": stemmed(body),
            "public": public}


def _subject_doc(ticket: int, subject: str) -> dict[str, Any]:
    return {"ticket": ticket, "comment_id": None, "terms": stemmed(subject), "public": True}


class NewDocs:
    """One transaction's search rows of new tickets and comments. Opening a ticket writes
    its subject's row and, a moment later, its first comment's: held back (`joined`), the
    subject's row goes in the comment's statement. A row still held is written by
    `flush`, which the unit of work calls before it commits; the search reads on other
    connections, which see nothing of this transaction before its commit anyway."""

    def __init__(self, conn: AsyncConnection, *, joined: bool = False) -> None:
        self._conn = conn
        self._joined = joined
        self._held: list[dict[str, Any]] = []

    async def subject(self, ticket: int, subject: str) -> None:
        """The row of a new ticket's subject (it has none yet)."""
        self._held.append(_subject_doc(ticket, subject))
        if not self._joined:
            await self.flush()

    async def comment(self, comment_id: int, ticket: int, body: str, public: bool) -> None:
        rows, self._held = [*self._held, _comment_doc(comment_id, ticket, body, public)], []
        await self._conn.execute(_INSERT_DOC, rows)

    async def flush(self) -> None:
        if self._held:
            rows, self._held = self._held, []
            await self._conn.execute(_INSERT_DOC, rows)


async def reindex_comment(conn: AsyncConnection, comment_id: int, body: str) -> None:
    await conn.execute(update(search_docs).where(search_docs.c.comment_id == comment_id)
                       .values(terms=stemmed(body)))


async def set_comment_public(conn: AsyncConnection, comment_id: int, public: bool) -> None:
    await conn.execute(update(search_docs).where(search_docs.c.comment_id == comment_id)
                       .values(public=public))


async def index_subject(conn: AsyncConnection, ticket: int, subject: str, *,
                        new: bool = False) -> None:
    """The ticket's one subject row, written afresh (`new`: the ticket has none yet)."""
    if not new:
        await conn.execute(delete(search_docs).where(search_docs.c.ticket == ticket,
                                                     search_docs.c.comment_id.is_(None)))
    await conn.execute(_INSERT_DOC, _subject_doc(ticket, subject))


async def move_comments(conn: AsyncConnection, source: int, target: int) -> None:
    """A merge: the comments of `source` are `target`'s now, and so are their rows here."""
    await conn.execute(update(search_docs).where(search_docs.c.ticket == source,
                                                 search_docs.c.comment_id.is_not(None))
                       .values(ticket=target))


# ---------------------------------------------------------------- searching


def query_terms(query: str) -> list[str]:
    """The distinct stems a query asks for, at most MAX_TERMS (all must match)."""
    return list(dict.fromkeys(stem(w) for w in words(query)))[:MAX_TERMS]


# Subjects weigh double: a ticket about the words beats one that mentions them once. A word
# found in a large part of all texts is ranked among its newest RANK_WINDOW texts only:
# scoring every match of such a word would cost time in proportion to the whole desk,
# while the newest texts are where a desk looks first anyway (bench/find.py measures both).
RANK_WINDOW = 1000

# bm25() may not run inside an aggregate: the CTE is materialised so SQLite cannot fold it
# in; FTS5 walks the matches newest first and scores only those it returns.
_SQLITE_SEARCH = """
WITH m AS MATERIALIZED (
    SELECT rowid, bm25(search_fts) AS rank FROM search_fts WHERE search_fts MATCH :match
    ORDER BY rowid DESC LIMIT :window)
SELECT d.ticket AS ticket, min(m.rank * CASE WHEN d.comment_id IS NULL THEN 2.0 ELSE 1.0 END)
       AS score
FROM m JOIN search_docs d ON d.id = m.rowid
GROUP BY d.ticket ORDER BY score, d.ticket DESC LIMIT :limit
"""
_POSTGRES_SEARCH = """
WITH m AS MATERIALIZED (
    SELECT d.id, d.ticket, d.comment_id, d.search_fts_vector, d.public
    FROM search_docs d WHERE d.search_fts_vector @@ plainto_tsquery('simple', :match)
    ORDER BY d.id DESC LIMIT :window)
SELECT d.ticket AS ticket, -max(ts_rank(d.search_fts_vector,
       plainto_tsquery('simple', :match)) *
       CASE WHEN d.comment_id IS NULL THEN 2.0 ELSE 1.0 END) AS score
FROM m d
GROUP BY d.ticket ORDER BY score, d.ticket DESC LIMIT :limit
"""

_STATEMENTS = {"sqlite": text(_SQLITE_SEARCH), "postgresql": text(_POSTGRES_SEARCH)}


async def search(conn: AsyncConnection, query: str, person: Person | None,
                 limit: int = FIND_LIMIT) -> builtins.list[Hit]:
    """The tickets best matching every word of `query` (in any form), best first, that
    `person` may see (None: the service itself, everything)."""
    terms = query_terms(query)
    if not terms:
        return []
    numbers = await _ranked(conn, terms, person, limit)
    if not numbers:
        return []
    rows = {r.number: r for r in await conn.execute(
        select(tickets.c.number, tickets.c.subject, tickets.c.status, tickets.c.description)
        .where(tickets.c.number.in_(numbers)))}
    bodies = await _bodies(conn, numbers, person)
    return [Hit(n, rows[n].subject, Status(rows[n].status),
                snippet([*bodies.get(n, ()), rows[n].description], terms)) for n in numbers]


async def _ranked(conn: AsyncConnection, terms: Sequence[str], person: Person | None,
                  limit: int) -> builtins.list[int]:
    if person is not None and not person.role.is_staff:
        return await _ranked_for_client(conn, terms, person, limit)
    sqlite = conn.dialect.name == "sqlite"
    match = " ".join(f'"{t}"' for t in terms) if sqlite else " ".join(terms)
    rows = await conn.execute(_STATEMENTS["sqlite" if sqlite else "postgresql"],
                              {"match": match, "limit": limit, "window": RANK_WINDOW})
    return [r.ticket for r in rows]


# A client's own texts are few: read their newest ones and match the stems here, which
# costs the same on both backends. Through the index instead, a word common in the whole
# desk costs its full match list for every client (950 ms over 30,000 tickets on SQLite),
# or the newest matches of the whole desk hold none of theirs.
CLIENT_WINDOW = 5000


def _client_docs(person: Person) -> Select[Any]:
    """F3 as engine.access.can_view: their own, their company's and observed tickets; of
    those the subjects and public comments only, newest first."""
    d, tk = search_docs.c, tickets.c
    parts = [select(tk.number).where(tk.requester_id == person.id),
             select(ticket_observers.c.ticket).where(ticket_observers.c.person_id == person.id)]
    if person.company_id is not None:
        parts.append(select(tk.number).where(tk.company_id == person.company_id))
    theirs = union(*parts)
    return (select(d.ticket, d.comment_id, d.terms)
            .where(d.ticket.in_(theirs), or_(d.comment_id.is_(None), d.public.is_(True)))
            .order_by(d.id.desc()).limit(CLIENT_WINDOW))


async def _ranked_for_client(conn: AsyncConnection, terms: Sequence[str], person: Person,
                             limit: int) -> builtins.list[int]:
    best: dict[int, float] = {}
    for ticket, comment_id, text_terms in await conn.execute(_client_docs(person)):
        score = rank(text_terms.split(), terms) * (2.0 if comment_id is None else 1.0)
        if score > best.get(ticket, 0.0):
            best[ticket] = score
    return sorted(best, key=lambda n: (-best[n], -n))[:limit]


def rank(words: Sequence[str], terms: Sequence[str]) -> float:
    """0 unless every term is among `words`; else more for terms said more often, less for
    long texts (BM25's term-frequency part, without the desk-wide rarity of each word)."""
    if not words:
        return 0.0
    counts = dict.fromkeys(terms, 0)
    for w in words:
        if w in counts:
            counts[w] += 1
    if not all(counts.values()):
        return 0.0
    norm = 1.2 * (0.25 + 0.75 * len(words) / 20)
    return sum(n * 2.2 / (n + norm) for n in counts.values())


async def _bodies(conn: AsyncConnection, numbers: Sequence[int],
                  person: Person | None) -> dict[int, builtins.list[str]]:
    """The comments a snippet may quote, oldest first."""
    where = [comments.c.ticket.in_(numbers)]
    if person is not None and not person.role.is_staff:
        where.append(comments.c.public.is_(True))
    found: dict[int, builtins.list[str]] = {}
    for ticket, body in await conn.execute(
            select(comments.c.ticket, comments.c.body).where(and_(*where))
            .order_by(comments.c.id)):
        found.setdefault(ticket, []).append(body)
    return found


def snippet(texts: Sequence[str], terms: Sequence[str], width: int = SNIPPET_CHARS) -> str:
    """A line around the first word whose stem was asked for, in the first text that has
    one; else the start of the first text."""
    wanted = set(terms)
    for body in texts:
        flat = " ".join(body.split())
        position = _first_match(flat, wanted)
        if position is not None:
            start = max(0, position - width // 3)
            return _cut(flat, start, width)
    return _cut(" ".join(texts[0].split()), 0, width) if texts else ""


def _first_match(flat: str, wanted: set[str]) -> int | None:
    for match in _WORD.finditer(flat):
        if stem(match.group().lower().replace("ё", "е")) in wanted:
            return match.start()
    return None


def _cut(flat: str, start: int, width: int) -> str:
    if start > 0:
        space = flat.find(" ", start)
        start = space + 1 if 0 <= space < start + 20 else start
    piece = flat[start:start + width]
    if start + width < len(flat):
        piece = piece.rsplit(" ", 1)[0] + "…"
    return ("…" if start > 0 else "") + piece
