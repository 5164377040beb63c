"""Free-mail providers (`freemail.toml`, a maintained list): two people on gmail.com are
not colleagues, two on acme-corp.ru are."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

_LIST = Path(__file__).with_name("freemail.toml")


@cache
def _domains() -> tuple[frozenset[str], frozenset[str]]:
    """(exact domains, names that match under any top-level domain: `gmx.*`)."""
    listed = [d.strip().lower() for d in tomllib.loads(_LIST.read_text("utf-8"))["domains"]]
    return (frozenset(d for d in listed if not d.endswith(".*")),
            frozenset(d[:-2] for d in listed if d.endswith(".*")))


def domain_of(address: str) -> str:
    return address.strip().strip("<>").rpartition("@")[2].lower().rstrip(".")


def is_free_mail(domain: str) -> bool:
    exact, any_tld = _domains()
    domain = domain.lower().rstrip(".")
    if domain in exact:
        return True
    name, dot, _tld = domain.rpartition(".")
    # gmx.*: gmx.de, gmx.net; also a country second level such as yahoo.co.uk.
    return bool(dot) and (name in any_tld or name.partition(".")[0] in any_tld
                          and name.count(".") == 1 and len(_tld) == 2)


def organisation_domain(address: str) -> str | None:
    """The domain of an organisation's own mail, or None for a free-mail address."""
    domain = domain_of(address)
    return None if not domain or is_free_mail(domain) else domain
