"""Mail senders as people: found by a verified address, or registered as a client.

An unknown sender becomes a client (F3: their own tickets, or their company's when their
domain belongs to a configured company), speaking the language they wrote in. The engine
registers them (`RegisterContact`, with a `ContactRegistered` event).
"""

from __future__ import annotations

import re

from engine.views import Views

_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
_LATIN = re.compile(r"[a-z]", re.IGNORECASE)


def guess_language(text: str, default: str) -> str:
    sample = text[:2000]
    cyrillic, latin = len(_CYRILLIC.findall(sample)), len(_LATIN.findall(sample))
    if cyrillic > latin:
        return "ru"
    return "en" if latin else default


class CompanyDomains:
    """Company ids by mail domain, read once: the directory changes only with the config."""

    def __init__(self, views: Views) -> None:
        self._views = views
        self._by_domain: dict[str, int] | None = None

    async def company_of(self, address: str) -> int | None:
        if self._by_domain is None:
            self._by_domain = await self._views.company_domains()
        domain = address.rpartition("@")[2].lower()
        while domain:
            if domain in self._by_domain:
                return self._by_domain[domain]
            domain = domain.partition(".")[2]  # mail.acme.com -> acme.com -> com
        return None


def display_name(name: str | None, address: str) -> str:
    return (name or "").strip() or address.partition("@")[0]

