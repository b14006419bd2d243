"""Everything a handler may need, built once at start-up and closed at shutdown.

Handlers receive it through Bolt's context (`services`), never through module globals, so
every test can build a fresh app with its own database, PMP and Slack stand-ins.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.admins import AdminChecker
from bot.blocks.subscription_cards import SubscriptionRenderer, paused_notice
from bot.config import Settings
from bot.lookups import Lookups
from bot.metrics import Metrics
from bot.names import NameBook
from bot.notify import fit_line
from bot.notify.slack_poster import SlackPoster
from bot.pmp_pool import PmpClientPool, TransportFactory, default_transport
from bot.queue import QueueLists
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
from bot.storage.fingerprints import FingerprintStore
from bot.storage.subscriptions import DeliveryStore, Subscription, SubscriptionStore
from bot.storage.webhook_endpoints import WebhookEndpointStore
from bot.subscriptions import SubscriptionDelivery
from bot.subscriptions.jobs import JobRunner, SubscriptionServices
from bot.subscriptions.webhooks import EventSources

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
    # Channel subscriptions: the store, delivery (lookup notices too) and the job runner.
    subscriptions: SubscriptionServices
    # Slack users' PMP staff members and staff names for pickers (bot.staff).
    staff: StaffDirectory
    # Where subscription events come from: polling PMP, its webhooks, the bot's own changes.
    sources: EventSources | None = None
    # Slack installations and OAuth states, in OAuth (multi-workspace) mode only.
    oauth_stores: OAuthStores | None = None
    listeners: ListenerTracker = field(default_factory=ListenerTracker)
    metrics: Metrics = field(default_factory=Metrics)
    # PMP's lists behind the Home tab's "My queue", kept briefly per workspace (bot.queue).
    queue_lists: QueueLists = field(default_factory=QueueLists)

    async def may_delete(self, client: AsyncWebClient, team_id: str, user_id: str) -> bool:
        """Admins may delete PMP records; everyone may with PMP_BOT_ALLOW_DELETE_FOR_ALL."""
        if self.settings.pmp_bot_allow_delete_for_all:
            return True
        return await self.admins.is_admin(client, team_id, user_id)

    def notify(self, workspace: Workspace | None, line: str) -> None:
        """Queues a lookup notice for the workspace's notify channel and its channels with a
        `lookups` subscription (one delivery path with subscriptions; never waits)."""
        if workspace is None or not workspace.team_id:
            return
        self.subscriptions.delivery.notify_later(
            workspace.team_id, workspace.enterprise_id, workspace.notify_channel_id, fit_line(line)
        )
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
        poster = SlackPoster(settings, slack_http, oauth_stores)
        subscriptions = _subscription_services(database, workspaces, poster, metrics)
        services = cls(
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
            subscriptions=subscriptions,
            staff=StaffDirectory(StaffLinkStore(database)),
            oauth_stores=oauth_stores,
            metrics=metrics,
        )
        services.sources = _event_sources(services)
        try:
            await subscriptions.start()
        except BaseException:
            await services.aclose(grace_seconds=0)
            raise
        return services

    async def aclose(self, *, grace_seconds: float = 15.0) -> None:
        if self.listeners.running:
            logger.info(
                "Finishing %d request(s) acknowledged before stopping", self.listeners.running
            )
        if not await self.listeners.wait_idle(grace_seconds):
            logger.warning(
                "Stopping with %d request(s) still being answered", self.listeners.running
            )
        await self.subscriptions.aclose()
        if self.sources is not None:
            await self.sources.aclose()
        await self.pmp_pool.aclose()
        await self.slack_http.close()
        await self.workspaces.aclose()
        await self.database.dispose()


def _event_sources(services: BotServices) -> EventSources:
    """Polling, webhooks and the bot's own changes, feeding delivery through the job runner
    (registered before it starts)."""
    subscriptions = services.subscriptions
    sources = EventSources.build(
        workspaces=services.workspaces,
        subscriptions=subscriptions.store,
        pmp_pool=services.pmp_pool,
        fingerprints=FingerprintStore(services.database),
        endpoints=WebhookEndpointStore(services.database, services.settings.token_cipher()),
        accept=subscriptions.delivery.accept,
        public_url=services.settings.pmp_bot_public_url,
    )
    sources.attach(subscriptions.jobs)
    subscriptions.delivery.set_change_listener(sources.record_changed)
    return sources


def _subscription_services(
    database: Database, workspaces: WorkspaceStore, poster: SlackPoster, metrics: Metrics
) -> SubscriptionServices:
    """Subscriptions' store, delivery (cards from bot.blocks, posted with the workspace's bot
    token) and job runner."""

    async def site(team_id: str, enterprise_id: str | None) -> tuple[str, NameBook]:
        workspace = await workspaces.get(team_id, enterprise_id)
        if workspace is None:
            return "", NameBook()
        return workspace.pmp_base_url or "", NameBook.from_settings(workspace.ticket_settings)

    async def report_paused(
        team_id: str,
        enterprise_id: str | None,
        channel_id: str,
        error_code: str,
        paused: Sequence[Subscription],
    ) -> None:
        """Tells who set up the channel's subscriptions (admins, or members an admin let
        subscribe), once, in their messages with pmp-bot."""
        client = await poster.client_for(team_id, enterprise_id)
        if client is None:
            return
        message = paused_notice(channel_id, error_code, [s.kind for s in paused])
        for user_id in dict.fromkeys(s.created_by for s in paused):
            try:
                await client.chat_postMessage(
                    channel=user_id,
                    text=message.text,
                    blocks=[block.to_dict() for block in message.blocks],
                )
            except SlackApiError as error:
                logger.warning(
                    "Could not tell %s that channel %s is paused: %s",
                    user_id,
                    channel_id,
                    error.response.get("error"),
                )

    def counted(kind: str, state: str, count: int) -> None:
        if kind == "notice":
            metrics.notices(state, count)

    store = SubscriptionStore(database)
    delivery = SubscriptionDelivery(
        subscriptions=store,
        store=DeliveryStore(database),
        client_for=poster.client_for,
        renderer=SubscriptionRenderer(site),
        report_paused=report_paused,
        counted=counted,
    )
    return SubscriptionServices(store=store, delivery=delivery, jobs=JobRunner(delivery, database))


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
