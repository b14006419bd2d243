"""pmp-bot's database storage (SQLAlchemy async; SQLite or PostgreSQL with the same code)."""

from __future__ import annotations

from bot.storage.database import Database, SchemaVersionError
from bot.storage.fingerprints import FingerprintStore as FingerprintStore
from bot.storage.idempotency import IdempotencyStore
from bot.storage.oauth import OAuthStores, build_oauth_stores
from bot.storage.recent import RecentLookup, RecentLookupsStore
from bot.storage.staff_links import StaffLinkStore as StaffLinkStore
from bot.storage.subscriptions import Subscription, SubscriptionFilters, SubscriptionStore
from bot.storage.urls import DatabaseUrlError, display_database_url, to_async_database_url
from bot.storage.webhook_endpoints import WebhookEndpointStore as WebhookEndpointStore
from bot.storage.workspaces import (
    UNFURL_MODES,
    PmpCredentials,
    UnfurlMode,
    Workspace,
    WorkspaceStore,
)

__all__ = [
    "UNFURL_MODES",
    "Database",
    "DatabaseUrlError",
    "IdempotencyStore",
    "OAuthStores",
    "PmpCredentials",
    "RecentLookup",
    "RecentLookupsStore",
    "SchemaVersionError",
    "Subscription",
    "SubscriptionFilters",
    "SubscriptionStore",
    "UnfurlMode",
    "Workspace",
    "WorkspaceStore",
    "build_oauth_stores",
    "display_database_url",
    "to_async_database_url",
]
