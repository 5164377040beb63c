"""A file's size as people read it, in their language."""

from __future__ import annotations

from bot.i18n import t


def size_text(lang: str, size: int | None) -> str:
    """"812 bytes", "34 KB", "2.5 MB" ("2,5 МБ")."""
    if size is None:
        return t(lang, "files.size.unknown")
    if size < 1024:
        return t(lang, "files.size.bytes", n=size)
    if size < 1024 * 1024:
        return t(lang, "files.size.kb", n=round(size / 1024))
    mb = f"{size / (1024 * 1024):.1f}".rstrip("0").rstrip(".")
    return t(lang, "files.size.mb", n=mb.replace(".", ",") if lang == "ru" else mb)
