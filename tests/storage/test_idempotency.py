from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.storage import Database, IdempotencyStore
from bot.storage.schema import idempotency_keys
from tests.storage.conftest import DatabaseTarget

T0 = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
TTL = timedelta(hours=1)


@pytest.fixture
def store(db: Database) -> IdempotencyStore:
    return IdempotencyStore(db, ttl=TTL)


async def test_first_claimer_wins(store: IdempotencyStore) -> None:
    assert await store.claim("view-1", "TA") is True
    assert await store.claim("view-1", "TA") is False
    assert await store.claim("view-1", "TB") is False
    assert await store.claim("view-2", "TA") is True


async def test_results(store: IdempotencyStore) -> None:
    assert await store.record_result("never-claimed", "{}") is False
    assert await store.get_result("never-claimed") is None
    await store.claim("submit-1", "TA")
    assert await store.get_result("submit-1") is None
    assert await store.record_result("submit-1", '{"ticket_id": 42}') is True
    assert await store.get_result("submit-1") == '{"ticket_id": 42}'


async def test_keys_expire(store: IdempotencyStore) -> None:
    assert await store.claim("k", "TA", now=T0) is True
    await store.record_result("k", '"done"')
    assert await store.claim("k", "TA", now=T0 + TTL - timedelta(seconds=1)) is False
    assert await store.get_result("k", now=T0 + TTL - timedelta(seconds=1)) == '"done"'
    assert await store.get_result("k", now=T0 + TTL) is None
    # Once expired the key can be claimed afresh, and its old result is gone.
    assert await store.claim("k", "TA", now=T0 + TTL) is True
    assert await store.get_result("k", now=T0 + TTL) is None
    assert await store.claim("k", "TA", now=T0 + TTL) is False


async def test_delete_expired(store: IdempotencyStore) -> None:
    await store.claim("old-1", "TA", now=T0)
    await store.claim("old-2", "TA", now=T0)
    await store.claim("new", "TA", now=T0 + timedelta(minutes=5))
    assert await store.delete_expired(now=T0 + TTL) == 2
    assert await store.claim("new", "TA", now=T0 + TTL) is False
    assert await store.claim("old-1", "TA", now=T0 + TTL) is True


async def test_claim_cleans_up_old_keys_now_and_then(db: Database) -> None:
    store = IdempotencyStore(db, ttl=TTL)
    await store.claim("old", "TA", now=T0)
    assert await _stored_keys(db) == ["old"]
    # The next claim well after the ttl removes expired keys without being asked.
    await store.claim("other", "TA", now=T0 + 2 * TTL)
    assert await _stored_keys(db) == ["other"]


async def _stored_keys(db: Database) -> list[str]:
    async with db.read() as conn:
        return list((await conn.execute(select(idempotency_keys.c.key))).scalars())


@pytest.mark.parametrize("bad", ["", "x" * 256])
async def test_key_length_is_checked(store: IdempotencyStore, bad: str) -> None:
    with pytest.raises(ValueError, match="1 to 255"):
        await store.claim(bad, "TA")


def test_ttl_must_be_positive(db: Database) -> None:
    with pytest.raises(ValueError):
        IdempotencyStore(db, ttl=timedelta(0))


async def test_concurrent_claims_from_two_connections(db: Database, target: DatabaseTarget) -> None:
    other = await target.connect()
    try:
        first, second = IdempotencyStore(db), IdempotencyStore(other)
        keys = [f"double-submit-{n}" for n in range(15)]
        outcomes = await asyncio.gather(
            *(store.claim(key, "TA") for key in keys for store in (first, second, first, second))
        )
    finally:
        await other.dispose()
    for index, key in enumerate(keys):
        racers = outcomes[index * 4 : index * 4 + 4]
        assert racers.count(True) == 1, f"{key}: {racers}"


async def test_concurrent_takeover_of_an_expired_key(db: Database, target: DatabaseTarget) -> None:
    await IdempotencyStore(db, ttl=TTL).claim("stale", "TA", now=T0)
    other = await target.connect()
    try:
        later = T0 + 2 * TTL
        outcomes = await asyncio.gather(
            *(
                IdempotencyStore(database, ttl=TTL).claim("stale", "TA", now=later)
                for database in (db, other, db, other)
            )
        )
    finally:
        await other.dispose()
    assert outcomes.count(True) == 1
