"""Everything a handler may need, built once at start-up and closed at shutdown.

Handlers receive it through Bolt's context (`services`), never through module globals, so
every test can build a fresh app with its own database, PMP and Slack stand-ins.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass, field

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from bot.admins import AdminChecker
from bot.config import Settings
from bot.lookups import Lookups
from bot.metrics import Metrics
from bot.notify import NotificationQueue
from bot.notify.slack_poster import SlackPoster, report_notice_failure
from bot.pmp_pool import PmpClientPool, TransportFactory, default_transport
from bot.result_cache import ResultCache
from bot.staff import StaffDirectory
from bot.storage import (
    Database,
    IdempotencyStore,
    OAuthStores,
    RecentLookupsStore,
    StaffLinkStore,
    Workspace,
    WorkspaceStore,
    build_oauth_stores,
)

logger = logging.getLogger(__name__)


class ListenerTracker:
    """Counts listeners still working after their ack, so shutdown can let them finish
    (Bolt runs that work in tasks of its own that nothing else waits for)."""

    def __init__(self) -> None:
        self._running = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def running(self) -> int:
        return self._running

    def started(self) -> None:
        self._running += 1
        self._idle.clear()

    def finished(self) -> None:
        self._running = max(self._running - 1, 0)
        if self._running == 0:
            self._idle.set()

    async def wait_idle(self, timeout: float) -> bool:
        """True when every listener finished within `timeout` seconds."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True


@dataclass
class BotServices:
    settings: Settings
    database: Database
    workspaces: WorkspaceStore
    idempotency: IdempotencyStore
    recent_lookups: RecentLookupsStore
    pmp_pool: PmpClientPool
    admins: AdminChecker
    # One aiohttp session for every Slack Web API call: without it slack-sdk opens a new
    # connection pool per call.
    slack_http: aiohttp.ClientSession
    lookups: Lookups
    notices: NotificationQueue
    # Slack users' PMP staff members and staff names for pickers (bot.staff).
    staff: StaffDirectory
    # Slack installations and OAuth states, in OAuth (multi-workspace) mode only.
    oauth_stores: OAuthStores | None = None
    listeners: ListenerTracker = field(default_factory=ListenerTracker)
    metrics: Metrics = field(default_factory=Metrics)

    async def may_delete(self, client: AsyncWebClient, team_id: str, user_id: str) -> bool:
        """Admins may delete PMP records; everyone may with PMP_BOT_ALLOW_DELETE_FOR_ALL."""
        if self.settings.pmp_bot_allow_delete_for_all:
            return True
        return await self.admins.is_admin(client, team_id, user_id)

    def notify(self, workspace: Workspace | None, line: str) -> None:
        """Queues a notice for the workspace's notify channel, if it has one."""
        if workspace is None or not workspace.notify_channel_id:
            return
        self.notices.enqueue(workspace.team_id or "", workspace.notify_channel_id, line)
        self.metrics.notices("queued")

    @classmethod
    async def start(
        cls,
        settings: Settings,
        *,
        pmp_transport_factory: TransportFactory | None = None,
    ) -> BotServices:
        """``pmp_transport_factory`` defaults to transports that connect only to the PMP
        addresses the settings allow."""
        if pmp_transport_factory is None:
            pmp_transport_factory = functools.partial(
                default_transport, settings.pmp_address_policy
            )
        database = await Database.connect(settings.async_database_url)
        try:
            await database.create_schema()
            cipher = settings.token_cipher()
            workspaces = WorkspaceStore(database, cipher)
            oauth_stores = None
            if settings.oauth_enabled:
                oauth_stores = await build_oauth_stores(
                    database, settings.slack_client_id or "", cipher=cipher
                )
            await _check_stored_tokens(workspaces, oauth_stores)
        except BaseException:
            await database.dispose()
            raise
        slack_http = aiohttp.ClientSession()
        metrics = Metrics()
        post, on_failure = metrics.counted_notices(
            SlackPoster(settings, slack_http, oauth_stores), report_notice_failure
        )
        notices = NotificationQueue(post, on_failure=on_failure)
        return cls(
            settings=settings,
            database=database,
            workspaces=workspaces,
            idempotency=IdempotencyStore(database),
            recent_lookups=RecentLookupsStore(database),
            pmp_pool=PmpClientPool(
                workspaces,
                timeout=settings.pmp_timeout,
                transport_factory=metrics.measured_transport(pmp_transport_factory),
                max_response_bytes=settings.max_pmp_response_bytes,
            ),
            admins=AdminChecker(settings.admin_user_ids),
            slack_http=slack_http,
            lookups=Lookups(ResultCache(max_bytes=settings.result_cache_bytes)),
            notices=notices,
            staff=StaffDirectory(StaffLinkStore(database)),
            oauth_stores=oauth_stores,
            metrics=metrics,
        )

    async def aclose(self, *, grace_seconds: float = 15.0) -> None:
        if not await self.listeners.wait_idle(grace_seconds):
            logger.warning(
                "Stopping with %d request(s) still being answered", self.listeners.running
            )
        await self.notices.aclose()
        await self.pmp_pool.aclose()
        await self.slack_http.close()
        await self.database.dispose()


async def _check_stored_tokens(
    workspaces: WorkspaceStore, oauth_stores: OAuthStores | None
) -> None:
    """Say at start when PMP_BOT_SECRET_KEY opens none of the stored tokens (a lost or wrong
    key), rather than letting every workspace find out through failing requests."""
    if await workspaces.check_stored_token() is False:
        logger.error(
            "PMP_BOT_SECRET_KEY can't decrypt the PMP tokens stored in the database: workspaces "
            "will be asked to run /pmp connect again. If the key changed, set "
            "PMP_BOT_SECRET_KEY=NEW,OLD (see README: Rotating the key)."
        )
    if oauth_stores is not None and (
        await oauth_stores.installation_store.check_stored_token() is False
    ):
        logger.error(
            "PMP_BOT_SECRET_KEY can't decrypt the Slack tokens stored in the database: "
            "workspaces will be asked to reinstall pmp-bot. If the key changed, set "
            "PMP_BOT_SECRET_KEY=NEW,OLD (see README: Rotating the key)."
        )
