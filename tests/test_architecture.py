"""The shape of the code, enforced: the engine is the core and knows no channel and no I/O
library (only engine/store talks SQL); channels reach storage only through ports; nothing
registers itself at import; the schema comes only from the migrations."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "bot", "config", "sqlalchemy", "alembic", "aiosqlite", "asyncpg", "telegram", "aiosmtpd",
    "aioimaplib", "aiosmtplib", "aiohttp", "httpx", "apscheduler", "smtplib", "imaplib",
    "socket", "ssl", "email", "sqlite3",
}
# What a channel may not reach for: the SQL adapters, or SQL itself.
CHANNEL_FORBIDDEN = ("engine.store", "sqlalchemy", "aiosqlite", "asyncpg", "sqlite3", "alembic")
# Module-level calls that change a registry living in another module.
MUTATORS = {"append", "extend", "insert", "update", "setdefault", "add", "register"}


def _python(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def _core_modules() -> list[Path]:
    return [p for p in _python("engine") if "store" not in p.parts]


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def _imports(path: Path) -> set[str]:
    """Every module a file imports, by its full dotted name."""
    found = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def _imported_roots(path: Path) -> set[str]:
    return {name.split(".")[0] for name in _imports(path)}


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_core_modules_found() -> None:
    assert len(_core_modules()) >= 8


@pytest.mark.parametrize("path", _core_modules(), ids=_rel)
def test_engine_core_imports_no_channel_or_io(path: Path) -> None:
    assert not _imported_roots(path) & FORBIDDEN


def test_store_is_the_only_sql_user() -> None:
    store_roots = set().union(*(_imported_roots(p) for p in (ROOT / "engine/store").rglob("*.py")))
    assert not store_roots & {"bot", "config", "telegram", "aiosmtpd", "aioimaplib", "aiosmtplib"}


@pytest.mark.parametrize("path", _python("bot/channels"), ids=_rel)
def test_channels_talk_to_ports_not_to_storage(path: Path) -> None:
    reaching = {name for name in _imports(path)
                if any(name == f or name.startswith(f + ".") for f in CHANNEL_FORBIDDEN)}
    assert reaching == set()


@pytest.mark.parametrize("path", _python("bot/channels"), ids=_rel)
def test_channels_write_only_through_commands(path: Path) -> None:
    """No unit of work in a channel: writes are commands on the bus; reactors that run
    inside a command get theirs from the bus's `Context`."""
    assert "UnitOfWork" not in path.read_text(encoding="utf-8")


def test_the_channel_check_can_fail() -> None:
    """The rule above sees an import of the SQL adapters when there is one."""
    sample = ROOT / "engine/store/views.py"
    assert any(name.startswith("engine.store") for name in _imports(sample))


@pytest.mark.parametrize("path", _python("bot"), ids=_rel)
def test_no_context_variables_carry_state_between_layers(path: Path) -> None:
    """What caused a command travels on the command (`Command.source_ref`)."""
    assert "contextvars" not in _imported_roots(path)
    assert "ContextVar" not in path.read_text(encoding="utf-8")


def _root(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _module_level_mutations(tree: ast.Module) -> Iterator[str]:
    """Top-level statements (not inside functions or classes) that change something another
    module owns: `JOBS.append(...)` or `handlers.TABLE[key] = ...` on an imported name. A
    module filling its own tables (`_EN.update(...)` in bot/i18n.py) is not registration."""
    imported = {alias.asname or alias.name.split(".")[0] for node in tree.body
                if isinstance(node, ast.Import | ast.ImportFrom) for alias in node.names}
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            func = node.value.func
            if isinstance(func, ast.Attribute) and func.attr in MUTATORS \
                    and _root(func.value) in imported:
                yield ast.unparse(node)
        elif isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            yield from (ast.unparse(node) for target in targets
                        if isinstance(target, ast.Subscript | ast.Attribute)
                        and _root(target) in imported)


@pytest.mark.parametrize("path", [*_python("bot"), *_python("engine"), *_python("config")],
                         ids=_rel)
def test_nothing_registers_itself_at_import(path: Path) -> None:
    assert list(_module_level_mutations(_tree(path))) == []


def test_the_registration_check_can_fail() -> None:
    tree = ast.parse("from bot.jobs import JOBS\nJOBS.append(1)\nTABLE = {}\nTABLE['x'] = 2\n"
                     "from engine import handlers\nhandlers.TABLE['y'] = 3\n")
    assert list(_module_level_mutations(tree)) == ["JOBS.append(1)", "handlers.TABLE['y'] = 3"]


@pytest.mark.parametrize("path", [*_python("bot"), *_python("engine"), *_python("config"),
                                  *_python("tests"), *_python("bench")], ids=_rel)
def test_the_schema_comes_only_from_the_migrations(path: Path) -> None:
    if "migrations" in path.parts or path == Path(__file__):
        return
    assert "create_all" not in path.read_text(encoding="utf-8")
