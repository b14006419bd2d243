"""First-claimer-wins keys, shared by every pmp-bot process on the same database.

Used to turn a double-submitted form or a retried Slack event into exactly one PMP write: the
database's unique constraint decides who is first, so it holds across processes and hosts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.storage.database import Database
from bot.storage.schema import idempotency_keys, utc_now

__all__ = ["IdempotencyStore"]

DEFAULT_TTL = timedelta(hours=24)
_CLEANUP_INTERVAL = timedelta(minutes=10)
_MAX_KEY_LENGTH = 255


class IdempotencyStore:
    """Keys are claimed once; after ``ttl`` they expire and may be claimed again."""

    def __init__(self, db: Database, *, ttl: timedelta = DEFAULT_TTL) -> None:
        if ttl <= timedelta(0):
            raise ValueError("ttl must be positive")
        self._db = db
        self._ttl = ttl
        self._last_cleanup: datetime | None = None

    def __repr__(self) -> str:
        return f"IdempotencyStore({self._db!r}, ttl={self._ttl})"

    async def claim(self, key: str, team_id: str, *, now: datetime | None = None) -> bool:
        """True for the first caller with this key (in any process), False for all others."""
        _check_key(key)
        now = now or utc_now()
        await self._cleanup_now_and_then(now)
        if await self._insert(key, team_id, now):
            return True
        # The key exists. If it has expired, take it over; the conditional delete lets only
        # one racing claimer remove it, and the insert after it is again first-wins.
        async with self._db.write() as conn:
            expired = await conn.execute(
                idempotency_keys.delete().where(
                    idempotency_keys.c.key == key,
                    idempotency_keys.c.created_at <= now - self._ttl,
                )
            )
        if expired.rowcount == 0:
            return False
        return await self._insert(key, team_id, now)

    async def release(self, key: str) -> None:
        """Give up a claim whose work failed, so that trying again is possible."""
        _check_key(key)
        async with self._db.write() as conn:
            await conn.execute(idempotency_keys.delete().where(idempotency_keys.c.key == key))

    async def record_result(self, key: str, result_json: str) -> bool:
        """Store the outcome of the claimed work; False when the key is not claimed."""
        _check_key(key)
        async with self._db.write() as conn:
            result = await conn.execute(
                idempotency_keys.update()
                .where(idempotency_keys.c.key == key)
                .values(result_json=result_json)
            )
        return result.rowcount > 0

    async def get_result(self, key: str, *, now: datetime | None = None) -> str | None:
        """The recorded outcome, None while unrecorded or once the key has expired."""
        _check_key(key)
        now = now or utc_now()
        async with self._db.read() as conn:
            return (
                await conn.execute(
                    select(idempotency_keys.c.result_json).where(
                        idempotency_keys.c.key == key,
                        idempotency_keys.c.created_at > now - self._ttl,
                    )
                )
            ).scalar_one_or_none()

    async def delete_expired(self, *, now: datetime | None = None) -> int:
        """Remove keys older than the ttl; returns how many went."""
        now = now or utc_now()
        async with self._db.write() as conn:
            result = await conn.execute(
                idempotency_keys.delete().where(idempotency_keys.c.created_at <= now - self._ttl)
            )
        self._last_cleanup = now
        return result.rowcount

    async def _insert(self, key: str, team_id: str, now: datetime) -> bool:
        try:
            async with self._db.write() as conn:
                await conn.execute(
                    idempotency_keys.insert().values(key=key, team_id=team_id, created_at=now)
                )
        except IntegrityError:
            return False
        return True

    async def _cleanup_now_and_then(self, now: datetime) -> None:
        # Opportunistic, so no scheduler is needed; one process doing it is enough.
        if self._last_cleanup is None or now - self._last_cleanup >= _CLEANUP_INTERVAL:
            await self.delete_expired(now=now)


def _check_key(key: str) -> None:
    if not key or len(key) > _MAX_KEY_LENGTH:
        raise ValueError(f"An idempotency key must have 1 to {_MAX_KEY_LENGTH} characters.")
