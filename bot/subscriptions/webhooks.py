"""Where events come from with PMP 3.x: a signed webhook per workspace, and the event sources
put together (``EventSources``: polling, webhooks and the bot's own changes).

Registration: a 3.x PMP (``detect_api_version``) gets one webhook per workspace through
``api/webhooks``, pointing at ``<PMP_BOT_PUBLIC_URL>/pmp/webhooks/<path id>``, signed with a
random secret of the workspace, for the events of its catalogue that are about the kinds the
workspace's subscriptions watch. Each catch-up read checks PMP still has it as registered
(address, events) and registers it again when it is missing or changed; ``forget`` removes it
when the workspace disconnects or uninstalls.

Deliveries: ``receive`` refuses what isn't signed by the workspace's secret within five
minutes of now either way (HMAC over the raw bytes, compared in constant time), drops a replay
(the same signature, or the same body signed again, as PMP signs a retry) and answers at once:
no database write waits in front of the answer. What arrived together is then written in one
transaction (where replays that reached other instances are found), and a bounded set of tasks
looks at the records the deliveries name (the same fingerprints as polling, so a change seen by
both is one event). Work an instance didn't get to (it died) is picked up by the minute's sweep
on any instance; a delivery answered in the milliseconds before a crash, before it was
written, is covered with everything else PMP didn't deliver by the slow catch-up read.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal, Protocol

from bot.pmp import PmpClient, PmpError, PmpNotFoundError
from bot.pmp.webhooks import (
    RegisteredWebhook,
    WebhooksResource,
    event_action,
    event_kind,
    parse_delivery,
    verify_signature,
)
from bot.pmp_pool import PmpClientPool, WorkspaceKey
from bot.storage.fingerprints import FingerprintStore
from bot.storage.subscriptions import SubscriptionStore
from bot.storage.webhook_endpoints import DeliveryWork, NewDelivery, WebhookEndpointStore
from bot.storage.workspaces import WorkspaceStore
from bot.subscriptions.events import RecordKind
from bot.subscriptions.polling import WATCHES, Accept, ChangeDetector, Poller


class Jobs(Protocol):
    """The job runner, as the event sources use it (bot.subscriptions.jobs.Jobs)."""

    def set_poll_function(self, poll: Callable[[str, str | None], Awaitable[None]]) -> None: ...

    def every(self, name: str, cron: str, function: Callable[[], Awaitable[None]]) -> None: ...

    async def schedule_poll(
        self, team_id: str, enterprise_id: str | None, delay_s: float = 0.0
    ) -> bool: ...


__all__ = [
    "WEBHOOK_PATH_PREFIX",
    "EventSources",
    "Jobs",
    "WebhookAnswer",
    "WebhookSource",
    "webhook_url",
]

logger = logging.getLogger(__name__)

WEBHOOK_PATH_PREFIX = "/pmp/webhooks/"
WEBHOOK_NAME = "pmp-bot (Slack)"
# A registration PMP refused is tried again after this long, not on every read.
_RETRY_REGISTRATION_SECONDS = 15 * 60
# How long the event catalogue of a workspace's PMP is trusted.
_CATALOGUE_SECONDS = 60 * 60
# Deliveries looked at together at most (the rest wait their turn, in the database too).
_CONCURRENT_LOOKS = 32
# Work an instance took but didn't finish in this long is taken by another.
_STALE_WORK = timedelta(seconds=60)
# A poll that failed for another reason than PMP is tried again after this long.
RETRY_AFTER_ERROR_SECONDS = 60.0
# Workspaces found without a waiting poll start within this many seconds of each other.
FIRST_POLL_SPREAD_SECONDS = 60.0
# Deliveries written in one transaction at most, and signatures and bodies remembered here.
_KEEP_BATCH = 500
_RECENT_MEMORY = 20_000
# A look at one record: the deadline for PMP's answer.
_LOOK_TIMEOUT = 15.0


def webhook_url(public_url: str, path_id: str) -> str:
    return public_url.rstrip("/") + WEBHOOK_PATH_PREFIX + path_id


@dataclass(frozen=True, slots=True)
class WebhookAnswer:
    """What the front door answers a delivery."""

    status: int
    outcome: Literal["taken", "ignored", "replayed", "unknown", "unsigned", "stale"]


@dataclass
class WebhookSource:
    """Registering each workspace's webhook in PMP, and taking its deliveries."""

    endpoints: WebhookEndpointStore
    workspaces: WorkspaceStore
    pmp_pool: PmpClientPool
    detector: ChangeDetector
    public_url: str | None
    _refused_at: dict[WorkspaceKey, float] = field(default_factory=dict)
    _catalogues: dict[WorkspaceKey, tuple[float, int, list[str]]] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _looks: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(_CONCURRENT_LOOKS))
    # Deliveries answered and not yet written, work done and not yet marked, and the tasks
    # writing them; recently taken signatures and bodies (replays caught without a write).
    _arrived: list[NewDelivery] = field(default_factory=list)
    _finished: list[DeliveryWork] = field(default_factory=list)
    _keeper: asyncio.Future[None] | None = None
    _marker: asyncio.Future[None] | None = None
    _recent: OrderedDict[tuple[str, str], None] = field(default_factory=OrderedDict)

    # --- registration ----------------------------------------------------------------

    async def _catalogue(
        self, key: WorkspaceKey, client: PmpClient, credentials_version: int
    ) -> list[str]:
        now = time.monotonic()
        cached = self._catalogues.get(key)
        if (
            cached is not None
            and cached[1] == credentials_version
            and now - cached[0] < (_CATALOGUE_SECONDS)
        ):
            return cached[2]
        names = await WebhooksResource(client).events()
        self._catalogues[key] = (now, credentials_version, names)
        return names

    async def ensure(
        self,
        team_id: str,
        enterprise_id: str | None,
        client: PmpClient,
        kinds: Sequence[RecordKind],
        credentials_version: int,
    ) -> bool:
        """True when PMP sends the workspace's events to its webhook (checked, registered or
        registered again now); False when it can't: a 2.x module, no public address, no
        events for these kinds, or PMP refused (then asked again after a while)."""
        if not self.public_url:
            return False
        if await client.detect_api_version() != 3:
            return False
        key = WorkspaceKey(team_id=team_id, enterprise_id=enterprise_id)
        refused = self._refused_at.get(key)
        if refused is not None and time.monotonic() - refused < _RETRY_REGISTRATION_SECONDS:
            return False
        try:
            registered = await self._register(key, client, kinds, credentials_version)
        except PmpError as error:
            self._refused_at[key] = time.monotonic()
            logger.warning(
                "PMP %s refused pmp-bot's webhook for workspace %s (%s); it is polled instead",
                client.site,
                team_id,
                error.user_message,
            )
            return False
        self._refused_at.pop(key, None)
        return registered

    async def _register(
        self,
        key: WorkspaceKey,
        client: PmpClient,
        kinds: Sequence[RecordKind],
        credentials_version: int,
    ) -> bool:
        wanted_kinds = set(kinds)
        events = sorted(
            name
            for name in await self._catalogue(key, client, credentials_version)
            if event_kind(name) in wanted_kinds
        )
        if not events:
            return False
        endpoint = await self.endpoints.ensure(key.team_id, key.enterprise_id)
        assert self.public_url is not None
        url = webhook_url(self.public_url, endpoint.path_id)
        secret = endpoint.secret.get_secret_value()
        hooks = WebhooksResource(client)
        current: RegisteredWebhook | None = None
        if endpoint.pmp_webhook_id is not None and (
            endpoint.credentials_version == credentials_version
        ):
            try:
                current = await hooks.get(endpoint.pmp_webhook_id)
            except PmpNotFoundError:
                current = None
        if (
            current is not None
            and current.url == url
            and current.active
            and (set(current.events) == set(events))
        ):
            if endpoint.events != tuple(events):
                await self.endpoints.mark_registered(
                    key.team_id,
                    key.enterprise_id,
                    pmp_webhook_id=current.id,
                    target_url=url,
                    events=tuple(events),
                    credentials_version=credentials_version,
                )
            return True
        if current is not None:
            await hooks.update(current.id, url=url, events=events, secret=secret)
            webhook_id: int | None = current.id
            logger.info("Webhook of workspace %s brought up to date in PMP", key.team_id)
        else:
            webhook_id = await hooks.create(
                name=WEBHOOK_NAME, url=url, events=events, secret=secret
            )
            if webhook_id is None:
                found = [hook for hook in await hooks.list() if hook.url == url]
                webhook_id = found[-1].id if found else None
            logger.info("Webhook of workspace %s registered in PMP", key.team_id)
        await self.endpoints.mark_registered(
            key.team_id,
            key.enterprise_id,
            pmp_webhook_id=webhook_id,
            target_url=url,
            events=tuple(events),
            credentials_version=credentials_version,
        )
        return webhook_id is not None

    async def registered(self, team_id: str, enterprise_id: str | None) -> bool:
        return await self.endpoints.get(team_id, enterprise_id) is not None

    async def forget(
        self, team_id: str, enterprise_id: str | None, client: PmpClient | None
    ) -> None:
        """Remove the workspace's webhook from PMP (when ``client`` still reaches it) and
        forget its endpoint, so deliveries to its address are refused from now on."""
        key = WorkspaceKey(team_id=team_id, enterprise_id=enterprise_id)
        self._catalogues.pop(key, None)
        self._refused_at.pop(key, None)
        endpoint = await self.endpoints.get(team_id, enterprise_id)
        if endpoint is None:
            return
        if client is not None and endpoint.pmp_webhook_id is not None:
            try:
                await WebhooksResource(client).delete(endpoint.pmp_webhook_id)
            except PmpError as error:
                logger.warning(
                    "Could not remove workspace %s's webhook from PMP: %s",
                    team_id,
                    error.user_message,
                )
        await self.endpoints.remove(team_id, enterprise_id)

    # --- deliveries ------------------------------------------------------------------

    async def receive(
        self, path_id: str, signature: str | None, raw: bytes, *, now: float | None = None
    ) -> WebhookAnswer:
        """Check a delivery and hand its work on: the answer to give PMP, at once (no
        database write waits in front of it)."""
        endpoint = await self.endpoints.by_path(path_id)
        if endpoint is None:
            return WebhookAnswer(404, "unknown")
        check = verify_signature(
            endpoint.secret.get_secret_value(),
            signature,
            raw,
            now=time.time() if now is None else now,
        )
        if check == "stale":
            return WebhookAnswer(401, "stale")
        if check != "valid":
            return WebhookAnswer(401, "unsigned")
        assert signature is not None
        marks = (
            "sig:" + hashlib.sha256(signature.encode("utf-8")).hexdigest(),
            "body:" + hashlib.sha256(raw).hexdigest(),
        )
        # Replays reaching this instance are known at once; the database knows the others.
        if any((endpoint.path_id, mark) in self._recent for mark in marks):
            return WebhookAnswer(200, "replayed")
        for mark in marks:
            self._recent[(endpoint.path_id, mark)] = None
        while len(self._recent) > _RECENT_MEMORY:
            self._recent.popitem(last=False)
        delivery = parse_delivery(raw)
        work = None if delivery is None else (delivery.kind, delivery.record_id, delivery.event)
        self._arrived.append(
            NewDelivery(endpoint, signature, raw, delivery.delivery_id if delivery else None, work)
        )
        if self._keeper is None or self._keeper.done():
            self._keeper = asyncio.ensure_future(self._keep_arrived())
        return WebhookAnswer(200, "taken" if work is not None else "ignored")

    async def _keep_arrived(self) -> None:
        """Writes what arrived together in one transaction (replays from other instances
        found there), then has the records looked at."""
        while self._arrived:
            batch, self._arrived = self._arrived[:_KEEP_BATCH], self._arrived[_KEEP_BATCH:]
            try:
                results = await self.endpoints.first_deliveries(batch)
            except Exception:
                # Unkept: the catch-up read finds what these deliveries were about.
                logger.exception("Could not keep %d webhook deliveries", len(batch))
                continue
            self._start([result for result in results if isinstance(result, DeliveryWork)])

    def _start(self, works: Sequence[DeliveryWork]) -> None:
        """Have the records looked at, one task per workspace (its records together)."""
        by_team: dict[tuple[str, str | None], list[DeliveryWork]] = {}
        for work in works:
            by_team.setdefault((work.team_id, work.enterprise_id), []).append(work)
        for team_works in by_team.values():
            task = asyncio.ensure_future(self._do(team_works))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _do(self, works: Sequence[DeliveryWork]) -> None:
        """Look at one workspace's records the deliveries name; the work is marked done
        unless PMP couldn't say (then the sweep tries again, and the catch-up read covers
        it)."""
        team_id, enterprise_id = works[0].team_id, works[0].enterprise_id
        records: list[tuple[RecordKind, int, bool]] = []
        for work in works:
            kind = next((known for known in WATCHES if known == work.kind), None)
            if kind is not None:
                created = event_action(work.event) in ("created", "added")
                records.append((kind, work.record_id, created))
        async with self._looks:
            try:
                failed = await self._look_many(team_id, enterprise_id, records)
            except (PmpError, TimeoutError) as error:
                logger.info(
                    "Looking at %d record(s) of workspace %s after webhooks failed: %s",
                    len(records),
                    team_id,
                    type(error).__name__,
                )
                return
            except Exception:
                logger.exception("Webhook deliveries' work failed")
                return
        for work in works:
            if (work.kind, work.record_id) not in failed:
                self._done(work)

    async def _look_many(
        self, team_id: str, enterprise_id: str | None, records: list[tuple[RecordKind, int, bool]]
    ) -> set[tuple[str, int]]:
        """The records looked at; those PMP couldn't tell about."""
        if not records:
            return set()
        key = WorkspaceKey(team_id=team_id, enterprise_id=enterprise_id)
        workspace = await self.workspaces.get(team_id, enterprise_id)
        if workspace is None or not workspace.is_connected:
            return set()
        client = await self.pmp_pool.client_for(key, workspace.credentials_version)
        if client is None:
            return set()
        async with asyncio.timeout(_LOOK_TIMEOUT):
            _, failed = await self.detector.look_many(team_id, enterprise_id, client, records)
        return {(kind, record_id) for kind, record_id, _ in failed}

    def _done(self, work: DeliveryWork) -> None:
        """Mark the work done, together with other work done meanwhile (one write). A mark
        lost to a crash only makes the sweep look at the record once more."""
        self._finished.append(work)
        if self._marker is None or self._marker.done():
            self._marker = asyncio.ensure_future(self._mark_finished())

    async def _mark_finished(self) -> None:
        while self._finished:
            batch, self._finished = self._finished, []
            try:
                await self.endpoints.works_done(batch)
            except Exception:
                logger.exception("Could not mark %d webhook deliveries done", len(batch))

    async def look(
        self,
        team_id: str,
        enterprise_id: str | None,
        kind: RecordKind,
        record_id: int,
        *,
        created: bool = False,
    ) -> int:
        """Look at one record of the workspace now; how many events were new."""
        key = WorkspaceKey(team_id=team_id, enterprise_id=enterprise_id)
        workspace = await self.workspaces.get(team_id, enterprise_id)
        if workspace is None or not workspace.is_connected:
            return 0
        client = await self.pmp_pool.client_for(key, workspace.credentials_version)
        if client is None:
            return 0
        async with asyncio.timeout(_LOOK_TIMEOUT):
            return await self.detector.look(
                team_id, enterprise_id, client, kind, record_id, created=created
            )

    async def sweep(self) -> int:
        """Do the work of deliveries some instance took and didn't finish."""
        due = await self.endpoints.due_work(older_than=_STALE_WORK)
        self._start(due)
        await self.wait_idle()
        return len(due)

    async def wait_idle(self) -> None:
        """Until the deliveries taken so far have been kept, looked at and marked done
        (tests, shutdown)."""
        while True:
            pending = {
                task for task in (self._keeper, self._marker) if task and not task.done()
            } | set(self._tasks)
            if not pending:
                return
            await asyncio.wait(pending)

    async def aclose(self) -> None:
        # What was answered is kept first (its work is then done by the sweep, here or on
        # another instance); looks under way stop.
        if self._keeper is not None:
            await asyncio.gather(self._keeper, return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._marker is not None:
            await asyncio.gather(self._marker, return_exceptions=True)


@dataclass
class EventSources:
    """Every source of subscription events, wired to delivery and the job runner."""

    poller: Poller
    webhooks: WebhookSource
    _jobs: Jobs | None = None
    # Workspaces this instance is reading now (their next read is scheduled at the end).
    _polling: set[tuple[str, str | None]] = field(default_factory=set)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @classmethod
    def build(
        cls,
        *,
        workspaces: WorkspaceStore,
        subscriptions: SubscriptionStore,
        pmp_pool: PmpClientPool,
        fingerprints: FingerprintStore,
        endpoints: WebhookEndpointStore,
        accept: Accept,
        public_url: str | None,
    ) -> EventSources:
        detector = ChangeDetector(fingerprints, accept)
        webhooks = WebhookSource(
            endpoints=endpoints,
            workspaces=workspaces,
            pmp_pool=pmp_pool,
            detector=detector,
            public_url=public_url,
        )
        poller = Poller(
            workspaces=workspaces,
            subscriptions=subscriptions,
            pmp_pool=pmp_pool,
            detector=detector,
            registrar=webhooks,
        )
        return cls(poller=poller, webhooks=webhooks)

    def attach(self, jobs: Jobs) -> None:
        """Register the poll job and the periodic sweeps with the runner (before it starts)."""
        self._jobs = jobs
        jobs.set_poll_function(self.poll)
        jobs.every("pmp-bot.polls", "*/1 * * * *", self.schedule_polls)
        jobs.every("pmp-bot.webhook-work", "*/1 * * * *", self.sweep_webhook_work)

    async def poll(self, team_id: str, enterprise_id: str | None) -> None:
        """The poll job: one read of the workspace, then the next one scheduled."""
        self._polling.add((team_id, enterprise_id))
        try:
            delay = await self.poller.poll_workspace(team_id, enterprise_id)
        except Exception:
            # Not PMP's failure (those are retried inside): the database, most likely.
            logger.exception("Polling workspace %s failed; trying again in a minute", team_id)
            delay = RETRY_AFTER_ERROR_SECONDS
        finally:
            self._polling.discard((team_id, enterprise_id))
        if delay is not None and self._jobs is not None:
            await self._jobs.schedule_poll(team_id, enterprise_id, delay)

    async def schedule_polls(self) -> None:
        """Every workspace with subscriptions has its poll scheduled (new subscriptions, a
        restart), spread over a few seconds so many workspaces don't start together; one
        already waiting stands."""
        if self._jobs is None:
            return
        for team_id, enterprise_id in await self.poller.teams():
            if (team_id, enterprise_id) in self._polling:
                continue  # its next read is scheduled when this one ends
            delay = self.poller.random() * FIRST_POLL_SPREAD_SECONDS
            await self._jobs.schedule_poll(team_id, enterprise_id, delay)

    async def sweep_webhook_work(self) -> None:
        await self.webhooks.sweep()

    async def record_changed(
        self, team_id: str, enterprise_id: str | None, kind: RecordKind, record_id: int
    ) -> None:
        """The bot itself changed a record: look at it soon (delivery's change listener)."""
        task = asyncio.ensure_future(self._look_soon(team_id, enterprise_id, kind, record_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _look_soon(
        self, team_id: str, enterprise_id: str | None, kind: RecordKind, record_id: int
    ) -> None:
        try:
            await self.webhooks.look(team_id, enterprise_id, kind, record_id)
        except (PmpError, TimeoutError) as error:
            logger.info(
                "Looking at %s #%d after pmp-bot changed it failed (%s); the next read sees it",
                kind,
                record_id,
                type(error).__name__,
            )
        except Exception:
            logger.exception("Looking at a record pmp-bot changed failed")

    async def receive_webhook(
        self, path_id: str, signature: str | None, raw: bytes
    ) -> WebhookAnswer:
        return await self.webhooks.receive(path_id, signature, raw)

    async def forget(self, team_id: str, enterprise_id: str | None) -> None:
        """Before a workspace's PMP is disconnected or the app uninstalled: its webhook
        removed from PMP, its fingerprints forgotten (a new PMP starts with a baseline).
        Never raises: a disconnect or an uninstall goes on whatever happens here."""
        key = WorkspaceKey(team_id=team_id, enterprise_id=enterprise_id)
        try:
            client: PmpClient | None = None
            workspace = await self.poller.workspaces.get(team_id, enterprise_id)
            if workspace is not None and workspace.is_connected:
                client = await self.poller.pmp_pool.client_for(key, workspace.credentials_version)
            await self.webhooks.forget(team_id, enterprise_id, client)
            await self.poller.detector.forget(team_id, enterprise_id)
        except Exception:
            logger.exception("Could not forget workspace %s's webhook and fingerprints", team_id)

    async def wait_idle(self) -> None:
        while self._tasks:
            await asyncio.wait(set(self._tasks))
        await self.webhooks.wait_idle()

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.webhooks.aclose()
