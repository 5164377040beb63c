"""Typed reads from a parsed TOML table; every error names the key and what is wrong."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    """A config value that cannot be used. The message names the key: `email.smtp.port: ...`."""


class Table:
    """A TOML table that remembers its dotted path and refuses keys it does not know."""

    def __init__(self, data: Mapping[str, Any], path: str, known: frozenset[str]) -> None:
        self.data, self.path = data, path
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{self._key(unknown[0])}: unknown key "
                              f"(known: {', '.join(sorted(known))})")

    def _key(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def _typed(self, key: str, default: T, kind: type[T], what: str) -> T:
        value = self.data.get(key, default)
        # bool is a subclass of int in Python, but `port = true` is a mistake, not 1.
        if value is None or (isinstance(value, kind) and isinstance(value, bool) == (kind is bool)):
            return value  # type: ignore[return-value]  # None only where the default is None
        raise ConfigError(f"{self._key(key)}: expected {what}, got {value!r}")

    def text(self, key: str, default: str) -> str:
        return self._typed(key, default, str, "a string")

    def opt_text(self, key: str) -> str | None:
        return self._typed(key, None, str, "a string")

    def whole(self, key: str, default: int, minimum: int = 0) -> int:
        value: int = self._typed(key, default, int, "a whole number")
        if value < minimum:
            raise ConfigError(f"{self._key(key)}: must be at least {minimum}, got {value}")
        return value

    def opt_whole(self, key: str) -> int | None:
        return self._typed(key, None, int, "a whole number")

    def flag(self, key: str, default: bool) -> bool:
        return self._typed(key, default, bool, "true or false")

    def choice(self, key: str, default: str, options: tuple[str, ...]) -> str:
        value = self.text(key, default)
        if value not in options:
            raise ConfigError(f"{self._key(key)}: expected one of {', '.join(options)}, "
                              f"got {value!r}")
        return value

    def strings(self, key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self.data.get(key, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{self._key(key)}: expected a list of strings, got {value!r}")
        return tuple(value)

    def table(self, key: str, known: frozenset[str]) -> Table:
        value = self.data.get(key, {})
        if not isinstance(value, Mapping):
            raise ConfigError(f"{self._key(key)}: expected a table, got {value!r}")
        return Table(value, self._key(key), known)

    def tables(self, key: str, known: frozenset[str]) -> list[Table]:
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise ConfigError(f"{self._key(key)}: expected an array of tables ([[{key}]])")
        return [Table(v, f"{self._key(key)}[{i}]", known) for i, v in enumerate(value)]
