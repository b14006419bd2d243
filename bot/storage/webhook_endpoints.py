"""Each workspace's PMP webhook: where PMP sends its events and the secret they are signed with.

A workspace gets an opaque path id (its webhook's address is ``/pmp/webhooks/<path id>``,
which tells a stranger nothing about the workspace) and a random secret, stored encrypted
with the token cipher like PMP tokens. Once registered in PMP, the webhook's id there, the
address and the events it was registered with are kept, so the bot can tell when PMP's copy
is missing or out of date.

Deliveries already taken are remembered for a while (by the hash of their signature and by
PMP's delivery id when it sends one) so a replayed delivery is dropped, on every instance.
The signature's row also holds the work the delivery asks for (look at one record) until it
was done: an instance that dies between answering PMP and doing it leaves the row for
another (``due_work``), so an acknowledged delivery isn't lost.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import SecretStr
from sqlalchemy import (
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    delete,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from bot.crypto import TokenCipher, TokenDecryptionError
from bot.storage.database import Database
from bot.storage.schema import UtcDateTime, metadata, utc_now

__all__ = [
    "REPLAY_MEMORY",
    "DeliveryWork",
    "NewDelivery",
    "WebhookEndpoint",
    "WebhookEndpointStore",
    "webhook_deliveries",
    "webhook_endpoints",
]

logger = logging.getLogger(__name__)

_SLACK_ID = 32
# A delivery is accepted up to five minutes either side of its timestamp: one remembered for
# longer than that window on both sides can never come back valid.
REPLAY_MEMORY = timedelta(minutes=11)
# How long an instance trusts its copy of an endpoint (a removed one stops working after this).
_CACHE_SECONDS = 10.0
_PRUNE_EVERY_SECONDS = 60.0
# Work no instance managed to do in a day is given up (the catch-up read covers it anyway).
_KEEP_UNDONE = timedelta(days=1)

webhook_endpoints = Table(
    "pmp_bot_webhook_endpoints",
    metadata,
    Column("enterprise_id", String(_SLACK_ID), primary_key=True),
    Column("team_id", String(_SLACK_ID), primary_key=True),
    Column("path_id", String(64), nullable=False, unique=True),
    Column("secret_encrypted", Text, nullable=False),
    # PMP's id of the registered webhook, the address and events it was registered with.
    Column("pmp_webhook_id", Integer, nullable=True),
    Column("target_url", Text, nullable=True),
    Column("events", Text, nullable=True),
    # The workspace's credentials_version the registration belongs to.
    Column("credentials_version", Integer, nullable=True),
    Column("registered_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False, default=utc_now),
)

webhook_deliveries = Table(
    "pmp_bot_webhook_deliveries",
    metadata,
    Column("path_id", String(64), primary_key=True),
    # "sig:" + sha256 of the signature header, "body:" + sha256 of the raw body, or "id:" +
    # sha256 of PMP's delivery id.
    Column("seen", String(80), primary_key=True),
    Column("received_at", UtcDateTime, nullable=False),
    # The work: look at record `record_id` of `kind` (the event's name kept for "created").
    Column("team_id", String(_SLACK_ID), nullable=True),
    Column("enterprise_id", String(_SLACK_ID), nullable=True),
    Column("kind", String(16), nullable=True),
    Column("record_id", Integer, nullable=True),
    Column("event", String(100), nullable=True),
    Column("claimed_at", UtcDateTime, nullable=True),
    Column("done_at", UtcDateTime, nullable=True),
    Index("ix_pmp_bot_webhook_deliveries_received", "received_at"),
)


@dataclass(frozen=True, slots=True)
class DeliveryWork:
    """What a delivery asks for: a look at one record of the workspace."""

    path_id: str
    seen: str
    team_id: str
    enterprise_id: str | None
    kind: str
    record_id: int
    event: str


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """A verified delivery to remember: its signature and raw body (their hashes are kept),
    PMP's delivery id if any, and its work (kind, record id, event name) if any."""

    endpoint: WebhookEndpoint
    signature: str
    raw: bytes
    delivery_id: str | None
    work: tuple[str, int, str] | None


def _delivery_rows(
    delivery: NewDelivery, received: datetime
) -> tuple[list[dict[str, Any]], DeliveryWork | None]:
    endpoint, work = delivery.endpoint, delivery.work
    seen = "sig:" + hashlib.sha256(delivery.signature.encode("utf-8")).hexdigest()
    rows: list[dict[str, Any]] = [
        {"path_id": endpoint.path_id, "seen": seen},
        {"path_id": endpoint.path_id, "seen": "body:" + hashlib.sha256(delivery.raw).hexdigest()},
    ]
    if delivery.delivery_id:
        digest = hashlib.sha256(delivery.delivery_id.encode("utf-8")).hexdigest()
        rows.append({"path_id": endpoint.path_id, "seen": "id:" + digest[:64]})
    if work is None:
        rows[0]["done_at"] = received
        return rows, None
    rows[0].update(
        team_id=endpoint.team_id or "",
        enterprise_id=endpoint.enterprise_id or "",
        kind=work[0],
        record_id=work[1],
        event=work[2][:100],
    )
    return rows, DeliveryWork(
        path_id=endpoint.path_id,
        seen=seen,
        team_id=endpoint.team_id or "",
        enterprise_id=endpoint.enterprise_id,
        kind=work[0],
        record_id=work[1],
        event=work[2],
    )


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    """A workspace's webhook; ``secret`` is the plain signing secret (never log it)."""

    team_id: str | None
    enterprise_id: str | None
    path_id: str
    secret: SecretStr
    pmp_webhook_id: int | None
    target_url: str | None
    events: tuple[str, ...]
    credentials_version: int | None


def _key(team_id: str | None, enterprise_id: str | None) -> tuple[str, str]:
    team = (team_id or "").strip()
    enterprise = (enterprise_id or "").strip()
    if not team and not enterprise:
        raise ValueError("A workspace needs a team_id or an enterprise_id.")
    return enterprise, team


class WebhookEndpointStore:
    """Webhook endpoints per workspace; secrets encrypted with ``cipher``."""

    def __init__(self, db: Database, cipher: TokenCipher) -> None:
        self._db = db
        self._cipher = cipher
        self._by_path: dict[str, tuple[float, WebhookEndpoint | None]] = {}
        self._refreshing: set[str] = set()
        self._pruned_at = 0.0

    def __repr__(self) -> str:
        return f"WebhookEndpointStore({self._db!r})"

    def _endpoint(self, row: Row[Any]) -> WebhookEndpoint | None:
        try:
            secret = self._cipher.decrypt(row.secret_encrypted)
        except TokenDecryptionError:
            return None  # the key was lost: a new secret is made at the next registration
        events = row.events
        return WebhookEndpoint(
            team_id=row.team_id or None,
            enterprise_id=row.enterprise_id or None,
            path_id=row.path_id,
            secret=SecretStr(secret),
            pmp_webhook_id=row.pmp_webhook_id,
            target_url=row.target_url,
            events=tuple(events.split(",")) if events else (),
            credentials_version=row.credentials_version,
        )

    async def get(self, team_id: str | None, enterprise_id: str | None) -> WebhookEndpoint | None:
        enterprise, team = _key(team_id, enterprise_id)
        columns = webhook_endpoints.c
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    select(webhook_endpoints).where(
                        columns.enterprise_id == enterprise, columns.team_id == team
                    )
                )
            ).one_or_none()
        return None if row is None else self._endpoint(row)

    async def ensure(self, team_id: str | None, enterprise_id: str | None) -> WebhookEndpoint:
        """The workspace's endpoint, made (a new path id and secret) when it has none or its
        secret can't be decrypted any more."""
        found = await self.get(team_id, enterprise_id)
        if found is not None:
            return found
        enterprise, team = _key(team_id, enterprise_id)
        path_id = secrets.token_urlsafe(24)
        secret = "whsec_" + secrets.token_urlsafe(32)
        columns = webhook_endpoints.c
        try:
            async with self._db.write() as conn:
                await conn.execute(
                    delete(webhook_endpoints).where(
                        columns.enterprise_id == enterprise, columns.team_id == team
                    )
                )
                await conn.execute(
                    webhook_endpoints.insert().values(
                        enterprise_id=enterprise,
                        team_id=team,
                        path_id=path_id,
                        secret_encrypted=self._cipher.encrypt(secret),
                        created_at=utc_now(),
                    )
                )
        except IntegrityError:
            pass  # another instance made it at the same moment: theirs is used
        made = await self.get(team_id, enterprise_id)
        if made is None:
            raise RuntimeError("the webhook endpoint just stored can't be read back")
        return made

    async def by_path(self, path_id: str) -> WebhookEndpoint | None:
        """The endpoint a delivery's address names. Kept in memory: once older than a few
        seconds it is read again in the background while the copy still answers, so a busy
        database never holds up PMP's answer (an endpoint removed elsewhere stops working
        here a few seconds later)."""
        now = time.monotonic()
        cached = self._by_path.get(path_id)
        if cached is None:
            return await self._read_path(path_id)
        if now - cached[0] >= _CACHE_SECONDS and path_id not in self._refreshing:
            self._refreshing.add(path_id)
            task = asyncio.ensure_future(self._read_path(path_id))
            task.add_done_callback(lambda done: self._refreshed(path_id, done))
        return cached[1]

    def _refreshed(self, path_id: str, task: asyncio.Future[WebhookEndpoint | None]) -> None:
        self._refreshing.discard(path_id)
        if not task.cancelled() and task.exception() is not None:
            logger.warning("Could not read a webhook endpoint again: %s", task.exception())

    async def _read_path(self, path_id: str) -> WebhookEndpoint | None:
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    select(webhook_endpoints).where(webhook_endpoints.c.path_id == path_id)
                )
            ).one_or_none()
        endpoint = None if row is None else self._endpoint(row)
        if len(self._by_path) > 10_000:
            self._by_path.clear()
        self._by_path[path_id] = (time.monotonic(), endpoint)
        return endpoint

    async def mark_registered(
        self,
        team_id: str | None,
        enterprise_id: str | None,
        *,
        pmp_webhook_id: int | None,
        target_url: str | None,
        events: tuple[str, ...],
        credentials_version: int | None,
    ) -> None:
        """What PMP now holds for the workspace (``pmp_webhook_id`` None: nothing)."""
        enterprise, team = _key(team_id, enterprise_id)
        columns = webhook_endpoints.c
        async with self._db.write() as conn:
            await conn.execute(
                update(webhook_endpoints)
                .where(columns.enterprise_id == enterprise, columns.team_id == team)
                .values(
                    pmp_webhook_id=pmp_webhook_id,
                    target_url=target_url,
                    events=",".join(events) if events else None,
                    credentials_version=credentials_version,
                    registered_at=utc_now() if pmp_webhook_id is not None else None,
                )
            )

    async def remove(self, team_id: str | None, enterprise_id: str | None) -> bool:
        """Forget the workspace's endpoint (deliveries to its address are refused from now)."""
        enterprise, team = _key(team_id, enterprise_id)
        columns = webhook_endpoints.c
        async with self._db.write() as conn:
            found = (
                await conn.execute(
                    select(columns.path_id).where(
                        columns.enterprise_id == enterprise, columns.team_id == team
                    )
                )
            ).scalar_one_or_none()
            if found is None:
                return False
            await conn.execute(
                delete(webhook_endpoints).where(
                    columns.enterprise_id == enterprise, columns.team_id == team
                )
            )
            await conn.execute(
                delete(webhook_deliveries).where(webhook_deliveries.c.path_id == found)
            )
        self._by_path.pop(found, None)
        return True

    async def first_delivery(
        self,
        endpoint: WebhookEndpoint,
        signature: str,
        raw: bytes,
        delivery_id: str | None,
        work: tuple[str, int, str] | None,
        *,
        now: datetime | None = None,
    ) -> DeliveryWork | bool | None:
        """Remember a delivery with its ``work`` (kind, record id, event name): False when
        the same delivery was already taken within REPLAY_MEMORY (the same signature, the
        same body signed again as PMP does on a retry, or PMP's delivery id); else the work
        to do (None when the delivery asks for none)."""
        [result] = await self.first_deliveries(
            [NewDelivery(endpoint, signature, raw, delivery_id, work)], now=now
        )
        return result

    async def first_deliveries(
        self, deliveries: Sequence[NewDelivery], *, now: datetime | None = None
    ) -> list[DeliveryWork | bool | None]:
        """``first_delivery`` for many at once, in one transaction (what arrived together)."""
        received = now or utc_now()
        await self._prune(received)
        insert = postgresql.Insert if self._db.dialect_name == "postgresql" else sqlite.Insert
        results: list[DeliveryWork | bool | None] = []
        async with self._db.write() as conn:
            for delivery in deliveries:
                rows, work = _delivery_rows(delivery, received)
                taken: list[dict[str, Any]] = []
                for row in rows:
                    result = await conn.execute(
                        insert(webhook_deliveries)
                        .values(received_at=received, **row)
                        .on_conflict_do_nothing()
                    )
                    if result.rowcount != 1:
                        break
                    taken.append(row)
                else:
                    results.append(work)
                    continue
                # A replay: what this delivery added is taken back, the earlier rows stay.
                for row in taken:
                    await conn.execute(
                        delete(webhook_deliveries).where(
                            webhook_deliveries.c.path_id == row["path_id"],
                            webhook_deliveries.c.seen == row["seen"],
                        )
                    )
                results.append(False)
        return results

    async def work_done(self, work: DeliveryWork) -> None:
        await self.works_done([work])

    async def works_done(self, works: Sequence[DeliveryWork]) -> None:
        """The deliveries' work was done (marked in one transaction)."""
        columns = webhook_deliveries.c
        now = utc_now()
        async with self._db.write() as conn:
            for work in works:
                await conn.execute(
                    update(webhook_deliveries)
                    .where(columns.path_id == work.path_id, columns.seen == work.seen)
                    .values(done_at=now)
                )

    async def due_work(
        self, *, older_than: timedelta, limit: int = 100, now: datetime | None = None
    ) -> list[DeliveryWork]:
        """Work of deliveries taken more than ``older_than`` ago and not done (its instance
        died or is stuck), claimed for this caller: another claims it only after as long."""
        moment = now or utc_now()
        columns = webhook_deliveries.c
        stale = moment - older_than
        async with self._db.write() as conn:
            rows = (
                await conn.execute(
                    select(webhook_deliveries)
                    .where(
                        columns.done_at.is_(None),
                        columns.kind.is_not(None),
                        columns.received_at < stale,
                        (columns.claimed_at.is_(None)) | (columns.claimed_at < stale),
                    )
                    .order_by(columns.received_at)
                    .limit(limit)
                )
            ).all()
            found: list[DeliveryWork] = []
            for row in rows:
                result = await conn.execute(
                    update(webhook_deliveries)
                    .where(
                        columns.path_id == row.path_id,
                        columns.seen == row.seen,
                        columns.done_at.is_(None),
                        (columns.claimed_at.is_(None)) | (columns.claimed_at < stale),
                    )
                    .values(claimed_at=moment)
                )
                if result.rowcount == 1:
                    found.append(
                        DeliveryWork(
                            path_id=row.path_id,
                            seen=row.seen,
                            team_id=row.team_id or "",
                            enterprise_id=row.enterprise_id or None,
                            kind=row.kind,
                            record_id=row.record_id,
                            event=row.event or "",
                        )
                    )
        return found

    async def _prune(self, now: datetime) -> None:
        tick = time.monotonic()
        if tick - self._pruned_at < _PRUNE_EVERY_SECONDS:
            return
        self._pruned_at = tick
        columns = webhook_deliveries.c
        async with self._db.write() as conn:
            await conn.execute(
                delete(webhook_deliveries).where(
                    columns.received_at < now - REPLAY_MEMORY,
                    (columns.done_at.is_not(None)) | (columns.received_at < now - _KEEP_UNDONE),
                )
            )

    async def reencrypt_all(self) -> int:
        """Re-encrypt every secret not yet under the cipher's first key (key rotation)."""
        columns = webhook_endpoints.c
        async with self._db.read() as conn:
            rows = (
                await conn.execute(
                    select(columns.enterprise_id, columns.team_id, columns.secret_encrypted)
                )
            ).all()
        changed = 0
        for row in rows:
            if self._cipher.is_current(row.secret_encrypted):
                continue
            try:
                new = self._cipher.rotate(row.secret_encrypted)
            except TokenDecryptionError:
                continue
            async with self._db.write() as conn:
                result = await conn.execute(
                    update(webhook_endpoints)
                    .where(
                        columns.enterprise_id == row.enterprise_id,
                        columns.team_id == row.team_id,
                        columns.secret_encrypted == row.secret_encrypted,
                    )
                    .values(secret_encrypted=new)
                )
                changed += result.rowcount
        return changed
