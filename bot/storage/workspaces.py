"""Per-workspace settings: the PMP connection (token encrypted), notify channel, ticket maps.

Every method takes the Slack team id and enterprise id of the request and touches only that
workspace's row. For Enterprise Grid org-wide installs the team id may be empty and the
enterprise id set.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

from pydantic import SecretStr
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.crypto import TokenCipher, TokenDecryptionError
from bot.names import TicketSettings
from bot.storage import shared_reads
from bot.storage.database import Database
from bot.storage.schema import (
    PMP_FAILURE_MAX,
    idempotency_keys,
    recent_lookups,
    utc_now,
    workspaces,
)
from bot.storage.shared_reads import SharedReads

__all__ = [
    "DEFAULT_POLL_INTERVAL_SECONDS",
    "MAX_POLL_INTERVAL_SECONDS",
    "MIN_POLL_INTERVAL_SECONDS",
    "UNFURL_MODES",
    "PmpCredentials",
    "UnfurlMode",
    "Workspace",
    "WorkspaceStore",
]

logger = logging.getLogger(__name__)

# Last-success times are for display ("last worked 5 minutes ago"); writing them at most once a
# minute per workspace keeps a busy workspace from taking SQLite's write lock on every request.
MARK_SUCCESS_INTERVAL = timedelta(seconds=60)
# How many stored tokens' readability is remembered before the memory starts afresh.
_READABLE_MEMORY = 10_000

_REENCRYPT_BATCH = 200

_T = TypeVar("_T")

UnfurlMode = Literal["off", "internal", "everywhere"]
UNFURL_MODES: tuple[UnfurlMode, ...] = ("off", "internal", "everywhere")
DEFAULT_POLL_INTERVAL_SECONDS = 60
MIN_POLL_INTERVAL_SECONDS = 15
MAX_POLL_INTERVAL_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class Workspace:
    """What pmp-bot knows about one workspace. Holds no token, so it is safe to log."""

    team_id: str | None
    enterprise_id: str | None
    pmp_base_url: str | None
    is_connected: bool
    connected_by: str | None
    connected_at: datetime | None
    last_pmp_success_at: datetime | None
    notify_channel_id: str | None
    ticket_settings: TicketSettings
    credentials_version: int
    created_at: datetime
    updated_at: datetime
    # The last PMP call that failed (timeout, unreachable, a server error) and how.
    last_pmp_failure_at: datetime | None = None
    last_pmp_failure: str | None = None
    # An admin chose (`/pmp settings`) to let lead, project and ticket edits through although
    # PMP's API module deletes the files of record #1 of that kind on each one.
    allow_first_record_file_loss: bool = False
    # Who sees previews of pasted PMP links: "off", "internal" (this workspace's own
    # channels) or "everywhere"; Slack Connect channels only if also allowed.
    unfurl_mode: UnfurlMode = "internal"
    unfurl_in_slack_connect: bool = False
    # Members, not only admins, may subscribe channels they are in.
    members_may_subscribe: bool = False
    # How often a PMP without webhooks is polled for changes.
    poll_interval_seconds: int = DEFAULT_POLL_INTERVAL_SECONDS
    # A PMP token is stored but no key in PMP_BOT_SECRET_KEY opens it (the key was lost or
    # changed): the workspace must connect again.
    needs_reconnect: bool = False


@dataclass(frozen=True, slots=True)
class PmpCredentials:
    """How to reach a workspace's PMP. ``version`` changes whenever they do."""

    base_url: str
    token: SecretStr
    version: int


def _team_key(team_id: str | None, enterprise_id: str | None) -> tuple[str, str]:
    team = (team_id or "").strip()
    enterprise = (enterprise_id or "").strip()
    if not team and not enterprise:
        raise ValueError("A workspace needs a team_id or an enterprise_id.")
    return enterprise, team


def _where(key: tuple[str, str]) -> ColumnElement[bool]:
    enterprise, team = key
    return and_(workspaces.c.enterprise_id == enterprise, workspaces.c.team_id == team)


# A workspace read answers the requests for that workspace arriving while it runs and up to
# READ_REUSE_SECONDS after it started; after that, and up to READ_STALE_SECONDS after it
# started, a request still gets it at once while a new read runs for the requests that
# follow, so a steady stream of requests never waits for the database. Not once a write of the
# store has begun since the read started: a change made through the store is seen by the
# next request, one made elsewhere (another instance, the command line) at most
# READ_STALE_SECONDS late. A burst of requests costs one read (bot/storage/shared_reads.py).
READ_REUSE_SECONDS = shared_reads.READ_REUSE_SECONDS
READ_STALE_SECONDS = shared_reads.READ_STALE_SECONDS


class WorkspaceStore:
    """Workspace records, strictly one team at a time; tokens are encrypted with ``cipher``."""

    def __init__(self, db: Database, cipher: TokenCipher) -> None:
        self._db = db
        self._cipher = cipher
        self._last_marked: dict[tuple[str, str], datetime] = {}
        self._readable_tokens: dict[str, bool] = {}  # stored ciphertext -> a key opens it
        # Every request reads its workspace; the requests of a burst share one read (each read
        # is several hops to the database driver's thread): see READ_REUSE_SECONDS.
        self._reads: SharedReads[tuple[str, str], Workspace | None] = SharedReads(self._read)

    def __repr__(self) -> str:
        return f"WorkspaceStore({self._db!r})"

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        self._reads.changed()
        try:
            async with self._db.write() as conn:
                yield conn
        finally:
            self._reads.changed()  # reads that began during the write aren't shared either

    async def get(self, team_id: str | None, enterprise_id: str | None = None) -> Workspace | None:
        return await self._reads.get(
            _team_key(team_id, enterprise_id), reuse=READ_REUSE_SECONDS, stale=READ_STALE_SECONDS
        )

    async def aclose(self) -> None:
        """Waits for the reads started ahead of requests, before the database goes away."""
        await self._reads.aclose()

    async def _read(self, key: tuple[str, str]) -> Workspace | None:
        async with self._db.read() as conn:
            row = (
                (await conn.execute(select(workspaces).where(_where(key)))).mappings().one_or_none()
            )
        if row is None:
            return None
        workspace = _workspace_from_row(row)
        stored = row["pmp_token_encrypted"]
        if stored is not None and not self._token_readable(stored):
            workspace = replace(workspace, is_connected=False, needs_reconnect=True)
        return workspace

    def _token_readable(self, ciphertext: str) -> bool:
        """Whether a key opens the stored token; remembered per ciphertext, so a workspace
        read costs no decryption after the first."""
        known = self._readable_tokens.get(ciphertext)
        if known is None:
            known = self._cipher.can_decrypt(ciphertext)
            if not known:
                logger.warning(
                    "A workspace's stored PMP token can't be decrypted with PMP_BOT_SECRET_KEY; "
                    "it must connect again"
                )
            if len(self._readable_tokens) >= _READABLE_MEMORY:
                self._readable_tokens.clear()
            self._readable_tokens[ciphertext] = known
        return known

    async def check_stored_token(self) -> bool | None:
        """Whether PMP_BOT_SECRET_KEY opens one stored PMP token (None: none stored). Run at
        start so a lost or wrong key is reported at once, not by failing lookups."""
        query = (
            select(workspaces.c.pmp_token_encrypted)
            .where(workspaces.c.pmp_token_encrypted.is_not(None))
            .order_by(workspaces.c.updated_at.desc())
            .limit(1)
        )
        async with self._db.read() as conn:
            stored = (await conn.execute(query)).scalar_one_or_none()
        return None if stored is None else self._cipher.can_decrypt(stored)

    async def get_credentials(
        self, team_id: str | None, enterprise_id: str | None = None
    ) -> PmpCredentials | None:
        """The workspace's PMP URL and token, None when not connected.

        None too when no configured key opens the stored token (``needs_reconnect``).
        """
        key = _team_key(team_id, enterprise_id)
        columns = workspaces.c
        query = select(
            columns.pmp_base_url, columns.pmp_token_encrypted, columns.credentials_version
        ).where(_where(key))
        async with self._db.read() as conn:
            row = (await conn.execute(query)).one_or_none()
        if row is None or row.pmp_token_encrypted is None or row.pmp_base_url is None:
            return None
        try:
            token = self._cipher.decrypt(row.pmp_token_encrypted)
        except TokenDecryptionError:
            # Reported by the workspace's needs_reconnect; to callers it is not connected.
            return None
        return PmpCredentials(
            base_url=row.pmp_base_url, token=SecretStr(token), version=row.credentials_version
        )

    async def save_credentials(
        self,
        team_id: str | None,
        enterprise_id: str | None,
        base_url: str,
        token: str,
        connected_by: str,
        *,
        now: datetime | None = None,
    ) -> int:
        """Store (or replace) the PMP connection; returns the new credentials_version."""
        key = _team_key(team_id, enterprise_id)
        base_url = base_url.strip()
        token = token.strip()
        if not base_url:
            raise ValueError("base_url must not be empty")
        if not token:
            raise ValueError("token must not be empty")
        await self._ensure_row(key)
        async with self._write() as conn:
            version = (
                await conn.execute(
                    workspaces.update()
                    .where(_where(key))
                    .values(
                        pmp_base_url=base_url,
                        pmp_token_encrypted=self._cipher.encrypt(token),
                        connected_by=connected_by,
                        connected_at=now or utc_now(),
                        last_pmp_success_at=None,
                        last_pmp_failure_at=None,
                        last_pmp_failure=None,
                        credentials_version=workspaces.c.credentials_version + 1,
                    )
                    .returning(workspaces.c.credentials_version)
                )
            ).scalar_one()
        self._last_marked.pop(key, None)
        return int(version)

    async def clear_credentials(
        self, team_id: str | None, enterprise_id: str | None = None
    ) -> bool:
        """Forget the PMP URL and token (disconnect). False when there was nothing to forget."""
        key = _team_key(team_id, enterprise_id)
        async with self._write() as conn:
            result = await conn.execute(
                workspaces.update()
                .where(
                    _where(key),
                    or_(
                        workspaces.c.pmp_token_encrypted.is_not(None),
                        workspaces.c.pmp_base_url.is_not(None),
                    ),
                )
                .values(
                    pmp_base_url=None,
                    pmp_token_encrypted=None,
                    connected_by=None,
                    connected_at=None,
                    last_pmp_success_at=None,
                    last_pmp_failure_at=None,
                    last_pmp_failure=None,
                    credentials_version=workspaces.c.credentials_version + 1,
                )
            )
        self._last_marked.pop(key, None)
        return result.rowcount > 0

    async def set_notify_channel(
        self, team_id: str | None, enterprise_id: str | None, channel_id: str | None
    ) -> None:
        key = _team_key(team_id, enterprise_id)
        channel = (channel_id or "").strip() or None
        await self._ensure_row(key)
        async with self._write() as conn:
            await conn.execute(
                workspaces.update().where(_where(key)).values(notify_channel_id=channel)
            )

    async def mark_pmp_success(
        self,
        team_id: str | None,
        enterprise_id: str | None = None,
        when: datetime | None = None,
    ) -> None:
        """Record that a PMP call worked. Writes at most once a minute per workspace."""
        key = _team_key(team_id, enterprise_id)
        when = when or utc_now()
        previous = self._last_marked.get(key)
        if previous is not None and previous <= when < previous + MARK_SUCCESS_INTERVAL:
            return
        column = workspaces.c.last_pmp_success_at
        failed_at = workspaces.c.last_pmp_failure_at
        async with self._write() as conn:
            await conn.execute(
                workspaces.update()
                .where(
                    _where(key),
                    workspaces.c.pmp_token_encrypted.is_not(None),
                    # Also throttles across processes, and time never moves backwards; the
                    # first success after a failure is always written, so status turns green.
                    or_(
                        column.is_(None),
                        column <= when - MARK_SUCCESS_INTERVAL,
                        and_(failed_at.is_not(None), failed_at >= column, failed_at <= when),
                    ),
                )
                .values(last_pmp_success_at=when, updated_at=workspaces.c.updated_at)
            )
        self._last_marked[key] = when

    async def mark_pmp_failure(
        self,
        team_id: str | None,
        enterprise_id: str | None = None,
        *,
        what: str,
        when: datetime | None = None,
    ) -> None:
        """Record that a PMP call failed and how (shown by `/pmp status`). The caller
        throttles; the next success after it is written whatever the throttle."""
        key = _team_key(team_id, enterprise_id)
        when = when or utc_now()
        async with self._write() as conn:
            await conn.execute(
                workspaces.update()
                .where(
                    _where(key),
                    workspaces.c.pmp_token_encrypted.is_not(None),
                    or_(
                        workspaces.c.last_pmp_failure_at.is_(None),
                        workspaces.c.last_pmp_failure_at <= when,
                    ),
                )
                .values(
                    last_pmp_failure_at=when,
                    last_pmp_failure=what[:PMP_FAILURE_MAX],
                    updated_at=workspaces.c.updated_at,
                )
            )
        self._last_marked.pop(key, None)

    async def get_ticket_settings(
        self, team_id: str | None, enterprise_id: str | None = None
    ) -> TicketSettings:
        """The workspace's ticket maps; a fresh PMP install's values until set."""
        key = _team_key(team_id, enterprise_id)
        async with self._db.read() as conn:
            stored = (
                await conn.execute(select(workspaces.c.ticket_settings).where(_where(key)))
            ).scalar_one_or_none()
        return _ticket_settings_from_json(stored)

    async def set_ticket_settings(
        self, team_id: str | None, enterprise_id: str | None, settings: TicketSettings
    ) -> None:
        key = _team_key(team_id, enterprise_id)
        await self._ensure_row(key)
        async with self._write() as conn:
            await conn.execute(
                workspaces.update().where(_where(key)).values(ticket_settings=settings.to_json())
            )

    async def set_allow_first_record_file_loss(
        self, team_id: str | None, enterprise_id: str | None, allowed: bool
    ) -> None:
        """Whether lead, project and ticket edits are sent although PMP's API module deletes
        the files of record #1 of that kind on each one (an admin's choice; off by default)."""
        key = _team_key(team_id, enterprise_id)
        await self._ensure_row(key)
        async with self._write() as conn:
            await conn.execute(
                workspaces.update()
                .where(_where(key))
                .values(allow_first_record_file_loss=bool(allowed))
            )

    async def set_options(
        self,
        team_id: str | None,
        enterprise_id: str | None,
        *,
        unfurl_mode: UnfurlMode | None = None,
        unfurl_in_slack_connect: bool | None = None,
        members_may_subscribe: bool | None = None,
        poll_interval_seconds: int | None = None,
    ) -> None:
        """Saves the workspace options given (None leaves an option as it is)."""
        values: dict[str, object] = {}
        if unfurl_mode is not None:
            values["unfurl_mode"] = _unfurl_mode(unfurl_mode, strict=True)
        if unfurl_in_slack_connect is not None:
            values["unfurl_in_slack_connect"] = bool(unfurl_in_slack_connect)
        if members_may_subscribe is not None:
            values["members_may_subscribe"] = bool(members_may_subscribe)
        if poll_interval_seconds is not None:
            if not MIN_POLL_INTERVAL_SECONDS <= poll_interval_seconds <= MAX_POLL_INTERVAL_SECONDS:
                raise ValueError(
                    f"poll_interval_seconds must be {MIN_POLL_INTERVAL_SECONDS}"
                    f"-{MAX_POLL_INTERVAL_SECONDS}"
                )
            values["poll_interval_seconds"] = int(poll_interval_seconds)
        if not values:
            return
        key = _team_key(team_id, enterprise_id)
        await self._ensure_row(key)
        async with self._write() as conn:
            await conn.execute(workspaces.update().where(_where(key)).values(**values))

    async def count_connected(self) -> int:
        """How many workspaces have PMP credentials (for the metrics)."""
        async with self._db.read() as conn:
            count = await conn.scalar(
                select(func.count())
                .select_from(workspaces)
                .where(workspaces.c.pmp_token_encrypted.is_not(None))
            )
        return int(count or 0)

    async def delete_workspace(self, team_id: str | None, enterprise_id: str | None = None) -> bool:
        """Remove everything stored for the workspace (uninstall, tokens_revoked).

        Returns True when a workspace record existed.
        """
        key = _team_key(team_id, enterprise_id)
        _, team = key
        async with self._write() as conn:
            result = await conn.execute(workspaces.delete().where(_where(key)))
            if team:
                await conn.execute(recent_lookups.delete().where(recent_lookups.c.team_id == team))
                await conn.execute(
                    idempotency_keys.delete().where(idempotency_keys.c.team_id == team)
                )
        self._last_marked.pop(key, None)
        return result.rowcount > 0

    async def reencrypt_all(self) -> int:
        """Re-encrypt every token not yet under the first key; returns how many changed.

        Run after putting a new key first in PMP_BOT_SECRET_KEY; once it returns, the old
        keys can be removed. A token no key opens is skipped and logged (reconnect needed).
        """
        columns = workspaces.c
        async with self._db.read() as conn:
            rows = (
                await conn.execute(
                    select(
                        columns.id,
                        columns.enterprise_id,
                        columns.team_id,
                        columns.pmp_token_encrypted,
                    ).where(columns.pmp_token_encrypted.is_not(None))
                )
            ).all()
        pending: list[tuple[int, str, str]] = []
        for row in rows:
            if self._cipher.is_current(row.pmp_token_encrypted):
                continue
            try:
                pending.append(
                    (row.id, row.pmp_token_encrypted, self._cipher.rotate(row.pmp_token_encrypted))
                )
            except TokenDecryptionError:
                logger.warning(
                    "The PMP token of workspace %s/%s cannot be opened with any configured "
                    "key; that workspace has to reconnect PMP.",
                    row.enterprise_id or "-",
                    row.team_id or "-",
                )
        changed = 0
        for batch in _batches(pending, _REENCRYPT_BATCH):
            async with self._write() as conn:
                for row_id, old, new in batch:
                    result = await conn.execute(
                        workspaces.update()
                        # Skip rows whose token was replaced meanwhile.
                        .where(columns.id == row_id, columns.pmp_token_encrypted == old)
                        .values(pmp_token_encrypted=new, updated_at=columns.updated_at)
                    )
                    changed += result.rowcount
        return changed

    async def _ensure_row(self, key: tuple[str, str]) -> None:
        enterprise, team = key
        try:
            async with self._write() as conn:
                exists = (
                    await conn.execute(select(workspaces.c.id).where(_where(key)))
                ).scalar_one_or_none()
                if exists is None:
                    await conn.execute(
                        workspaces.insert().values(
                            enterprise_id=enterprise,
                            team_id=team,
                            ticket_settings=None,
                            credentials_version=0,
                        )
                    )
        except IntegrityError:
            # Another process created the row between our check and insert: that is fine.
            pass


def _ticket_settings_from_json(stored: Any) -> TicketSettings:
    if not stored:
        return TicketSettings.fresh_install()
    try:
        return TicketSettings.from_json(stored)
    except (ValueError, TypeError, AttributeError):
        logger.warning("Stored ticket settings are unreadable; using a fresh install's values")
        return TicketSettings.fresh_install()


def _unfurl_mode(value: object, *, strict: bool = False) -> UnfurlMode:
    if value in UNFURL_MODES:
        return value
    if strict:
        raise ValueError(f"unfurl_mode must be one of {', '.join(UNFURL_MODES)}")
    return "internal"


def _workspace_from_row(row: RowMapping) -> Workspace:
    return Workspace(
        team_id=row["team_id"] or None,
        enterprise_id=row["enterprise_id"] or None,
        pmp_base_url=row["pmp_base_url"],
        is_connected=row["pmp_token_encrypted"] is not None,
        connected_by=row["connected_by"],
        connected_at=row["connected_at"],
        last_pmp_success_at=row["last_pmp_success_at"],
        last_pmp_failure_at=row["last_pmp_failure_at"],
        last_pmp_failure=row["last_pmp_failure"],
        notify_channel_id=row["notify_channel_id"],
        ticket_settings=_ticket_settings_from_json(row["ticket_settings"]),
        allow_first_record_file_loss=bool(row["allow_first_record_file_loss"]),
        unfurl_mode=_unfurl_mode(row["unfurl_mode"]),
        unfurl_in_slack_connect=bool(row["unfurl_in_slack_connect"]),
        members_may_subscribe=bool(row["members_may_subscribe"]),
        poll_interval_seconds=int(row["poll_interval_seconds"]),
        credentials_version=row["credentials_version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _batches(items: list[_T], size: int) -> Iterable[list[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
