"""The engine is the core and knows no channel and no I/O library (only engine/store talks SQL)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "bot", "config", "sqlalchemy", "alembic", "aiosqlite", "asyncpg", "telegram", "aiosmtpd",
    "aioimaplib", "aiosmtplib", "aiohttp", "httpx", "apscheduler", "smtplib", "imaplib",
    "socket", "ssl", "email", "sqlite3",
}


def _core_modules() -> list[Path]:
    return [p for p in sorted((ROOT / "engine").rglob("*.py")) if "store" not in p.parts]


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.add(node.module.split(".")[0])
    return roots


def test_core_modules_found() -> None:
    assert len(_core_modules()) >= 8


@pytest.mark.parametrize("path", _core_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_engine_core_imports_no_channel_or_io(path: Path) -> None:
    assert not _imported_roots(path) & FORBIDDEN


def test_store_is_the_only_sql_user() -> None:
    store_roots = set().union(*(_imported_roots(p) for p in (ROOT / "engine/store").rglob("*.py")))
    assert not store_roots & {"bot", "config", "telegram", "aiosmtpd", "aioimaplib", "aiosmtplib"}
