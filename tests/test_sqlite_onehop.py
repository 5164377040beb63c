"""The SQLite driver path: statements inside a write transaction run on the loop, but a
connection waiting for the write lock waits on aiosqlite's thread, never on the loop."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import exc, text

from engine.store.db import make_engine


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'onehop.db'}"


async def test_sqlite_urls_get_the_one_hop_driver(url: str) -> None:
    engine = make_engine(url)
    try:
        assert engine.dialect.driver == "tbaiosqlite"
        async with engine.begin() as conn:
            assert (await conn.execute(text("select 40 + 2"))).scalar_one() == 42
    finally:
        await engine.dispose()


async def test_a_writer_waiting_for_the_lock_leaves_the_loop_free(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("create table t (x integer primary key)"))
        first = await engine.connect()
        holding = await first.begin()  # BEGIN IMMEDIATE: this connection has the lock
        await first.execute(text("insert into t values (1)"))

        async def second_writer() -> list[int]:
            async with engine.begin() as conn:  # waits for the lock (busy_timeout)
                await conn.execute(text("insert into t values (2)"))
                return list((await conn.scalars(text("select x from t order by x"))).all())

        waiting = asyncio.create_task(second_writer())
        loop_ran = asyncio.Event()
        asyncio.get_running_loop().call_soon(loop_ran.set)
        # If the waiting BEGIN blocked the loop, neither this nor the commit below could
        # run before busy_timeout, and the second writer would fail with "locked".
        await asyncio.wait_for(loop_ran.wait(), 2)
        assert not waiting.done()
        await holding.commit()
        await first.close()
        assert await asyncio.wait_for(waiting, 10) == [1, 2]
    finally:
        await engine.dispose()


async def test_an_error_in_a_write_transaction_rolls_back_cleanly(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("create table t (x integer primary key)"))
            await conn.execute(text("insert into t values (1)"))
        with pytest.raises(exc.IntegrityError):
            async with engine.begin() as conn:
                await conn.execute(text("insert into t values (2)"))
                await conn.execute(text("insert into t values (1)"))
        async with engine.connect() as conn:
            assert (await conn.scalars(text("select x from t"))).all() == [1]
    finally:
        await engine.dispose()
