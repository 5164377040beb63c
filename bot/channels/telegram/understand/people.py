"""Who wrote: Telegram user id -> the engine's person, kept in memory for the whole run.

Roles come from the config (synced into the database at start), so the cache is only
extended here: someone the config does not name is registered as a client (an employee
asking in the group) by Telegram id and name, once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.channels.telegram.ports import CHANNEL, ChatStore, PersonRow
from bot.channels.telegram.receive.inbound import Author
from bot.i18n import language
from engine.bus import MessageBus
from engine.commands import RegisterContact
from engine.model import Person, Role
from engine.views import Views

log = logging.getLogger("ticketbot.telegram")


def _person(row: PersonRow) -> Person:
    return Person(id=row.id, name=row.name, role=Role(row.role), telegram_id=row.telegram_id,
                  company_id=row.company_id, language=row.language, notify_via=row.notify_via)


class Directory:
    def __init__(self, store: ChatStore, bus: MessageBus, views: Views) -> None:
        self._store = store
        self._bus = bus
        self._views = views
        self._by_telegram: dict[int, Person] = {}
        self._by_username: dict[str, int] = {}
        self._by_id: dict[int, Person] = {}

    async def reload(self) -> None:
        """After the config's directory changed (`ticketbot reload`): roles, names and
        Telegram ids as stored now; nobody stays known under an id they no longer have."""
        rows = await self._store.people()
        # Swapped in with no await in between: a lookup never sees a half-read directory.
        self._by_telegram, self._by_username, self._by_id = {}, {}, {}
        for row in rows:
            self._remember(_person(row), row.username)

    async def load(self) -> None:
        for row in await self._store.people():
            self._remember(_person(row), row.username)

    def _remember(self, person: Person, username: str | None) -> None:
        self._by_id[person.id] = person
        if person.telegram_id is not None:
            self._by_telegram[person.telegram_id] = person
        if username:
            self._by_username[username.lstrip("@").casefold()] = person.id

    def known(self, telegram_id: int) -> Person | None:
        return self._by_telegram.get(telegram_id)

    def get(self, person_id: int) -> Person | None:
        return self._by_id.get(person_id)

    async def person(self, author: Author) -> Person:
        """The person behind a Telegram user, registering a newcomer as a client."""
        found = self._by_telegram.get(author.id)
        if found is not None:
            return found
        # Another process (or the config sync) may have added them meanwhile: the engine
        # then gives that person back and records nothing.
        outcome = await self._bus.handle(RegisterContact(
            actor=None, channel=CHANNEL, name=author.name, telegram_id=author.id,
            language=language(author.language)))
        async with self._views.reading() as r:
            person = None if outcome.contact is None else await r.people.get(outcome.contact)
        if person is None:
            raise LookupError(f"Telegram user {author.id} registered but not found")
        log.info("registered Telegram user %s as person %s (%s)", author.id, person.id,
                 person.role.value)
        self._remember(person, author.username)
        return person

    def staff_named(self, word: str) -> int | None:
        """A staff member by the first word of their name or their whole name (with "_"
        for spaces), if exactly one has it: mail-only staff have no @username to type."""
        key = word.casefold().replace("_", " ")
        found = {p.id for p in self._by_id.values() if p.role.is_staff
                 and key in (p.name.casefold(), p.name.split()[0].casefold())}
        return found.pop() if len(found) == 1 else None

    def resolver(self, mentions: tuple[tuple[str, int], ...]) -> Callable[[str], int | None]:
        """`@username`, a name picked from Telegram's mention list, a numeric Telegram id,
        or a staff member's name from the directory when it is unique -> person id; a
        client's display name typed by hand never (names are not unique)."""
        # Arguments are split on spaces, so "Sam Spec" picked from the list arrives as "Sam".
        by_text: dict[str, int] = {}
        for text, user in mentions:
            by_text[text.lstrip("@").casefold()] = user
            by_text.setdefault(text.split()[0].casefold(), user)

        def resolve(token: str) -> int | None:
            key = token.lstrip("@").casefold()
            if key in by_text and (p := self._by_telegram.get(by_text[key])) is not None:
                return p.id
            if key in self._by_username:
                return self._by_username[key]
            if key.isdigit() and (p := self._by_telegram.get(int(key))) is not None:
                return p.id
            return None if token.startswith("@") else self.staff_named(token)

        return resolve
