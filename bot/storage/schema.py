"""Tables of pmp-bot's own data (Slack's OAuth tables belong to slack-sdk, see oauth.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.types import TypeDecorator

__all__ = [
    "PMP_FAILURE_MAX",
    "SCHEMA_VERSION",
    "UtcDateTime",
    "idempotency_keys",
    "metadata",
    "recent_lookups",
    "schema_version",
    "utc_now",
    "workspaces",
]

# Bump when a table changes and add the matching step to database._MIGRATIONS.
SCHEMA_VERSION = 4

# How long a stored description of a failed PMP call may be.
PMP_FAILURE_MAX = 200

# Slack ids are short ("T0123ABCD"); 32 matches slack-sdk's own columns.
_SLACK_ID = 32


def utc_now() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend.

    SQLite keeps no zone, so values are stored as naive UTC and read back as aware UTC; a
    naive value handed in is taken to be UTC already.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = MetaData()

schema_version = Table(
    "pmp_bot_schema_version",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False, default=utc_now),
)

# One row per Slack workspace (or Enterprise Grid organisation for org-wide installs).
# "" stands for "no enterprise" / "no team" so the unique key works on every database
# (NULLs never collide in a unique constraint).
workspaces = Table(
    "pmp_bot_workspaces",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("enterprise_id", String(_SLACK_ID), nullable=False, default=""),
    Column("team_id", String(_SLACK_ID), nullable=False, default=""),
    Column("pmp_base_url", Text, nullable=True),
    Column("pmp_token_encrypted", Text, nullable=True),
    Column("connected_by", String(_SLACK_ID), nullable=True),
    Column("connected_at", UtcDateTime, nullable=True),
    Column("last_pmp_success_at", UtcDateTime, nullable=True),
    # Version 2: the last PMP call that failed, and how ("HTTP 500", "no answer in 10 s").
    Column("last_pmp_failure_at", UtcDateTime, nullable=True),
    Column("last_pmp_failure", String(PMP_FAILURE_MAX), nullable=True),
    Column("notify_channel_id", String(_SLACK_ID), nullable=True),
    Column("ticket_settings", JSON, nullable=True),
    # Version 3: an admin allowed lead, project and ticket edits although PMP's API module
    # deletes the files of record #1 of that kind on each one (off unless chosen).
    Column(
        "allow_first_record_file_loss",
        Boolean,
        nullable=False,
        default=False,
        server_default=false(),
    ),
    # Version 4: who sees previews of pasted PMP links ("off", "internal": channels of this
    # workspace only, "everywhere"), and whether Slack Connect channels get them too.
    Column(
        "unfurl_mode", String(16), nullable=False, default="internal", server_default="internal"
    ),
    Column(
        "unfurl_in_slack_connect", Boolean, nullable=False, default=False, server_default=false()
    ),
    # Version 4: members (not only admins) may subscribe channels they are in.
    Column("members_may_subscribe", Boolean, nullable=False, default=False, server_default=false()),
    # Version 4: how often a PMP without webhooks (2.0.8) is polled for changes, in seconds.
    Column("poll_interval_seconds", Integer, nullable=False, default=60, server_default="60"),
    Column("credentials_version", Integer, nullable=False, default=0),
    Column("created_at", UtcDateTime, nullable=False, default=utc_now),
    Column("updated_at", UtcDateTime, nullable=False, default=utc_now, onupdate=utc_now),
    UniqueConstraint("enterprise_id", "team_id", name="uq_pmp_bot_workspaces_team"),
)

idempotency_keys = Table(
    "pmp_bot_idempotency_keys",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("team_id", String(_SLACK_ID), nullable=False),
    Column("result_json", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_pmp_bot_idempotency_keys_created_at", "created_at"),
    Index("ix_pmp_bot_idempotency_keys_team", "team_id"),
)

recent_lookups = Table(
    "pmp_bot_recent_lookups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("team_id", String(_SLACK_ID), nullable=False),
    Column("user_id", String(_SLACK_ID), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("record_id", Integer, nullable=False),
    Column("label", String(200), nullable=False),
    Column("viewed_at", UtcDateTime, nullable=False),
    UniqueConstraint(
        "team_id", "user_id", "kind", "record_id", name="uq_pmp_bot_recent_lookups_record"
    ),
    Index("ix_pmp_bot_recent_lookups_user", "team_id", "user_id", "viewed_at"),
)
