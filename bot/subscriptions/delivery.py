"""Delivering PMP events to subscribed channels: once each, threaded per record, paced.

`accept` keeps each event once (its key drops repeats) and writes one outbox row per
(event, channel) in the same transaction; delivery then posts a channel's rows in order, one
channel at a time (the job runner runs one delivery per channel across every instance):

- the first event of a record in a channel posts the record's card; later events go to its
  thread (broadcast to the channel only for status changes of a subscription that asks for
  it) and the card is updated to the record's current state;
- every post books the channel's next slot in the database (about one message a second per
  channel, shared by every instance), and a 429's Retry-After holds the channel for all;
- a row is claimed before its message is sent and goes only once Slack accepted it. Each
  message carries Slack message metadata naming its row, so a row found claimed (the process
  died between Slack's answer and recording it) is first looked for in the channel
  (conversations.history / conversations.replies with include_all_metadata) and only sent
  again when Slack doesn't have it;
- a channel that can't be posted to (archived, the bot removed) pauses the channel's
  subscriptions, drops its waiting rows and tells the workspace's admins once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.storage.subscriptions import (
    CardStyle,
    ChannelKey,
    DeliveryStore,
    NewEvent,
    OutboxRow,
    OutboxTarget,
    Subscription,
    SubscriptionStore,
)
from bot.subscriptions.events import SUBSCRIPTION_OF_KIND, PmpEvent, RecordKind

__all__ = [
    "METADATA_EVENT_TYPE",
    "PAUSING_ERRORS",
    "CardRenderer",
    "CardStyle",
    "ChangeListener",
    "ClientFor",
    "RenderedMessage",
    "ReportPaused",
    "ScheduleDelivery",
    "SubscriptionDelivery",
    "event_of_row",
    "matches",
]

logger = logging.getLogger(__name__)

METADATA_EVENT_TYPE = "pmp_event"
# Errors after which posting to the channel can't work until someone acts in Slack.
PAUSING_ERRORS = frozenset(
    {
        "channel_not_found",
        "is_archived",
        "channel_is_archived",
        "not_in_channel",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "restricted_action_non_threadable_channel",
        "team_access_not_granted",
        "ekm_access_denied",
    }
)
# The app was uninstalled or its token revoked: nobody can be told, the channel just stops.
_TOKEN_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"}
)
# A message Slack refused for its content is retried this often, then given up (logged).
MAX_ATTEMPTS = 5
DEFAULT_RETRY_AFTER = 1.0
MAX_RETRY_AFTER = 120.0
MAX_BACKOFF = 30.0
# Slack's clock and ours may differ a little: the search for an in-flight post starts earlier.
_SEARCH_MARGIN = timedelta(seconds=120)
_SEARCH_PAGES = 10
MAX_NOTICE_CHARS = 40_000
EVENT_RETENTION = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """A message to post: fallback text and Block Kit blocks as JSON-ready dicts."""

    text: str
    blocks: Sequence[Mapping[str, Any]] = ()


class CardRenderer(Protocol):
    """Turns an event into messages (bot.blocks.subscription_cards behind services)."""

    async def parent(self, event: PmpEvent, style: CardStyle, *, first: bool) -> RenderedMessage:
        """The record's card in the channel; `first` when this event posts it."""
        ...

    async def thread_line(self, event: PmpEvent) -> RenderedMessage:
        """The short line of one event in the record's thread."""
        ...

    def notice(self, text: str) -> RenderedMessage:
        """A batch of lookup notice lines."""
        ...


ClientFor = Callable[[str, str | None], Awaitable[AsyncWebClient | None]]
"""`client_for(team_id, enterprise_id)`: a Web API client with the workspace's bot token, or
None when the workspace has none (uninstalled)."""
ReportPaused = Callable[[str, str | None, str, str, Sequence[Subscription]], Awaitable[None]]
"""`report(team_id, enterprise_id, channel_id, error_code, paused)`: tell the admins once."""
ScheduleDelivery = Callable[[str, str | None, str], Awaitable[None]]
"""`schedule(team_id, enterprise_id, channel_id)`: have the channel's outbox delivered soon."""
ChangeListener = Callable[[str, str | None, RecordKind, int], Awaitable[None]]
"""`listener(team_id, enterprise_id, kind, record_id)`: the bot itself changed a record."""
Sleep = Callable[[float], Awaitable[None]]


def _int(value: str | None) -> int | None:
    try:
        return int(str(value).strip()) if value is not None else None
    except ValueError:
        return None


# Which record field each filter reads, per record kind (None: the filter can't match).
_FILTER_FIELDS: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "ticket": {
        "department": ("department",),
        "priority": ("priority",),
        "status": ("status",),
        "customer_id": ("userid",),
        "project_id": ("project_id",),
    },
    "project": {"customer_id": ("clientid",), "project_id": ("id",)},
    "milestone": {"customer_id": ("clientid", "customer_id"), "project_id": ("project_id",)},
    "customer": {"customer_id": ("userid", "id")},
    "lead": {"customer_id": ("client_id",), "project_id": ()},
}


def matches(subscription: Subscription, event: PmpEvent) -> bool:
    """Whether the event is of the subscription's kind and passes its filters: each filter
    set must equal the record's field (a record without that field doesn't pass)."""
    if subscription.paused_at is not None:
        return False
    if SUBSCRIPTION_OF_KIND.get(event.kind) != subscription.kind:
        return False
    fields = _FILTER_FIELDS.get(event.kind, {})
    filters = subscription.filters
    for name in ("department", "priority", "status", "customer_id", "project_id"):
        wanted = getattr(filters, name)
        if wanted is None:
            continue
        candidates = fields.get(name, ())
        if not any(_int(event.record.get(field_name)) == wanted for field_name in candidates):
            return False
    return True


def _targets(subscriptions: Iterable[Subscription], event: PmpEvent) -> list[OutboxTarget]:
    """One target per channel: full card if any matching subscription wants it, broadcast
    if any asks for status changes to be."""
    channels: dict[str, OutboxTarget] = {}
    for subscription in subscriptions:
        if not matches(subscription, event):
            continue
        broadcast = subscription.broadcast_status and event.event == "status"
        known = channels.get(subscription.channel_id)
        if known is not None:
            style: CardStyle = "full" if "full" in (known.style, subscription.style) else "compact"
            broadcast = broadcast or known.broadcast
        else:
            style = subscription.style
        channels[subscription.channel_id] = OutboxTarget(subscription.channel_id, style, broadcast)
    return list(channels.values())


def _payload(event: PmpEvent) -> dict[str, Any]:
    return {
        "changes": {name: [before, after] for name, (before, after) in event.changes.items()},
        "record": dict(event.record),
    }


def event_of_row(row: OutboxRow) -> PmpEvent:
    """The event an outbox row delivers (not for notice rows)."""
    if row.event_id is None or row.payload is None or row.occurred_at is None:
        raise ValueError("a notice row has no event")
    changes = row.payload.get("changes") or {}
    return PmpEvent(
        team_id=row.team_id,
        enterprise_id=row.enterprise_id,
        kind=row.kind,  # type: ignore[arg-type]  # stored from a RecordKind
        record_id=int(row.record_id or 0),
        event=row.event,  # type: ignore[arg-type]  # stored from an EventName
        key=row.event_key or "",
        changes={str(name): (pair[0], pair[1]) for name, pair in changes.items()},
        record=dict(row.payload.get("record") or {}),
        occurred_at=row.occurred_at,
    )


# Answers to a history search that mean it can't be done with this token at all.
_NO_SEARCH = frozenset({"missing_scope", "not_allowed_token_type", "no_permission"})


class _SearchFailed(Exception):
    """Looking for an in-flight message failed for now: try again later."""

    def __init__(self, rate_limited: bool, retry_after: float) -> None:
        super().__init__("search failed")
        self.rate_limited = rate_limited
        self.retry_after = retry_after


class _ChannelGone(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class _Outcome:
    ts: str | None = None
    retry_in: float | None = None
    dropped: bool = False
    detail: str = ""


@dataclass
class SubscriptionDelivery:
    """Accepts events from the sources and delivers the outbox to Slack."""

    subscriptions: SubscriptionStore
    store: DeliveryStore
    client_for: ClientFor
    renderer: CardRenderer
    report_paused: ReportPaused | None = None
    # `counted(kind, state, n)`: n messages' lines ("notice" or "event") "sent" or "failed".
    counted: Callable[[str, str, int], None] | None = None
    min_interval: float = 1.0
    sleep: Sleep = asyncio.sleep
    _schedule: ScheduleDelivery | None = None
    _change_listener: ChangeListener | None = None
    _tasks: set[asyncio.Task[int]] = field(default_factory=set)
    _in_process: set[tuple[str, str]] = field(default_factory=set)
    _again: set[tuple[str, str]] = field(default_factory=set)
    _stopping: bool = False

    # --- the event sources' side -------------------------------------------------------

    def set_scheduler(self, schedule: ScheduleDelivery | None) -> None:
        """The job runner's way to have a channel delivered (set when it starts)."""
        self._schedule = schedule

    def set_change_listener(self, listener: ChangeListener | None) -> None:
        """Called by `record_changed`: the event sources look at that workspace soon."""
        self._change_listener = listener

    async def record_changed(
        self, team_id: str, enterprise_id: str | None, kind: RecordKind, record_id: int
    ) -> None:
        """The bot itself changed a record (e.g. a ticket action on a card): the sources
        are asked to look at the workspace soon. Never raises."""
        listener = self._change_listener
        if listener is None:
            return
        try:
            await listener(team_id, enterprise_id, kind, record_id)
        except Exception:
            logger.exception("asking the event sources to look at %s failed", team_id)

    async def accept(self, events: Sequence[PmpEvent]) -> int:
        """Keeps each event once per workspace (a repeated key is dropped), with one outbox
        row for every channel with a matching active subscription, committed before this
        returns; then has those channels delivered. How many events were new."""
        by_team: dict[tuple[str, str | None], list[PmpEvent]] = {}
        for item in events:
            by_team.setdefault((item.team_id, item.enterprise_id), []).append(item)
        accepted = 0
        for (team_id, enterprise_id), team_events in by_team.items():
            subscriptions = [s for s in await self.subscriptions.list_for_team(team_id) if s.active]
            new = [
                NewEvent(
                    key=item.key,
                    kind=item.kind,
                    record_id=item.record_id,
                    event=item.event,
                    payload=_payload(item),
                    occurred_at=item.occurred_at,
                    targets=_targets(subscriptions, item),
                )
                for item in team_events
            ]
            fresh, channels = await self.store.add_events(team_id, enterprise_id, new)
            accepted += fresh
            await self._schedule_committed(channels)
        return accepted

    async def notice(
        self, team_id: str, enterprise_id: str | None, channel_ids: Iterable[str], line: str
    ) -> None:
        """Queues a lookup notice line for each channel (the `lookups` kind)."""
        for channel_id in dict.fromkeys(channel_ids):
            channel = await self.store.add_notice(team_id, enterprise_id, channel_id, line)
            await self._schedule_committed([channel])

    def notify_later(
        self, team_id: str, enterprise_id: str | None, notify_channel: str | None, line: str
    ) -> None:
        """A lookup notice for the workspace's notify channel and every channel with an
        active `lookups` subscription, kept in the outbox by a task (callers don't wait)."""
        task = asyncio.get_running_loop().create_task(
            self._notify(team_id, enterprise_id, notify_channel, line),
            name=f"pmp-bot notice {team_id}",
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _notify(
        self, team_id: str, enterprise_id: str | None, notify_channel: str | None, line: str
    ) -> int:
        try:
            channels = [notify_channel] if notify_channel else []
            channels += await self.subscriptions.lookup_channels(team_id)
            await self.notice(team_id, enterprise_id, channels, line)
        except Exception:
            logger.exception("keeping a notice for %s failed", team_id)
        return 0

    async def _schedule_committed(self, channels: Sequence[ChannelKey]) -> None:
        """Has the channels of rows just committed delivered, even when the caller is
        cancelled meanwhile (a webhook look's timeout, a shutdown): a row whose channel
        was never scheduled waits for the minute's sweep. In a task `wait_idle` waits for."""
        if not channels:
            return
        task = asyncio.get_running_loop().create_task(
            self._schedule_each(list(channels)), name="pmp-bot delivery scheduling"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        await asyncio.shield(task)

    async def _schedule_each(self, channels: list[ChannelKey]) -> int:
        for channel in channels:
            await self.schedule(channel)
        return len(channels)

    async def schedule(self, channel: ChannelKey) -> None:
        """Has the channel's outbox delivered: by the job runner, else right here in a task."""
        team_id, enterprise_id, channel_id = channel
        if self._schedule is not None:
            try:
                await self._schedule(team_id, enterprise_id, channel_id)
                return
            except Exception:
                # The row is kept; the runner's sweep delivers it later.
                logger.exception("scheduling delivery to %s/%s failed", team_id, channel_id)
                return
        # One task per channel, as the runner's lock would: asked again while it runs, it
        # reads the outbox once more before it ends.
        key = (team_id, channel_id)
        if key in self._in_process:
            self._again.add(key)
            return
        self._in_process.add(key)
        task = asyncio.get_running_loop().create_task(
            self._deliver_in_process(team_id, enterprise_id, channel_id),
            name=f"pmp-bot delivery {team_id}/{channel_id}",
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver_in_process(
        self, team_id: str, enterprise_id: str | None, channel_id: str
    ) -> int:
        key = (team_id, channel_id)
        delivered = 0
        try:
            while True:
                self._again.discard(key)
                delivered += await self.deliver_channel(team_id, enterprise_id, channel_id)
                if key not in self._again or self._stopping:
                    return delivered
        except Exception:
            logger.exception("delivering to %s/%s failed; the sweep tries again", *key)
            return delivered
        finally:
            self._in_process.discard(key)
            self._again.discard(key)

    def stop(self) -> None:
        """Deliveries under way stop after the message in hand (shutdown); what is left
        stays in the outbox."""
        self._stopping = True

    async def wait_posted(self) -> None:
        """Waits until the notices handed over so far are in the outbox (not until they are
        posted: a notice waiting for its channel's pace never delays a reply)."""
        await self.wait_idle()

    async def wait_delivered(self, timeout: float = 30.0) -> bool:
        """Waits until the outbox is empty (tests, the console); False after `timeout`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            await self.wait_idle()
            if not await self.store.channels_with_pending():
                return True
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(0.05)

    async def wait_idle(self) -> None:
        """Waits for deliveries run in tasks of their own (no job runner), and the store's
        reads started ahead of lookups."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))
        await self.subscriptions.aclose()

    async def sweep(self) -> int:
        """Has every channel with waiting rows delivered (at start and now and then: a
        delivery that stopped half-way is picked up again). How many channels."""
        channels = await self.store.channels_with_pending()
        for channel in channels:
            await self.schedule(channel)
        return len(channels)

    async def prune(self) -> int:
        """Forgets delivered events after a while."""
        return await self.store.prune_events(EVENT_RETENTION)

    # --- delivering a channel ----------------------------------------------------------

    async def deliver_channel(
        self, team_id: str, enterprise_id: str | None, channel_id: str
    ) -> int:
        """Posts the channel's waiting rows in order until none is left. Run by one worker
        per channel at a time. How many rows were delivered."""
        delivered = 0
        while not self._stopping:
            rows = await self.store.pending(team_id, channel_id)
            if not rows:
                return delivered
            client = await self.client_for(team_id, enterprise_id)
            if client is None:
                logger.warning(
                    "No bot token for team %s: %d subscription message(s) dropped",
                    team_id,
                    len(rows),
                )
                await self.subscriptions.pause_channel(team_id, channel_id, "no_bot_token")
                await self.store.drop_channel(team_id, channel_id, "no_bot_token")
                return delivered
            try:
                delivered += await self._deliver_rows(client, rows)
            except _ChannelGone as gone:
                self._count(rows, "failed")
                await self._channel_gone(team_id, enterprise_id, channel_id, gone.code)
                return delivered
        return delivered

    async def _deliver_rows(self, client: AsyncWebClient, rows: list[OutboxRow]) -> int:
        """Delivers the fetched rows in order (a run of notices as one message) until one
        has to wait: then the caller reads the outbox again."""
        done = 0
        while rows and not self._stopping:
            batch = _notice_batch(rows) if rows[0].notice is not None else [rows[0]]
            outcome = await self._deliver(client, batch)
            if outcome.retry_in is not None:
                await self.sleep(outcome.retry_in)
                return done
            rows = rows[len(batch) :]
            if not outcome.dropped:
                done += len(batch)
        return done

    async def _deliver(self, client: AsyncWebClient, batch: list[OutboxRow]) -> _Outcome:
        first = batch[0]
        team_id, channel_id = first.team_id, first.channel_id
        event = event_of_row(first) if first.notice is None else None
        parent_ts = (
            await self.store.thread(team_id, channel_id, event.kind, event.record_id)
            if event is not None
            else None
        )
        ids = [row.id for row in batch]
        if first.claimed_at is not None:
            # Sent before, maybe accepted by Slack: look before sending again.
            try:
                found = await self._find_posted(client, first, parent_ts)
            except _SearchFailed as failed:
                if failed.rate_limited:
                    return _Outcome(retry_in=failed.retry_after)
                return _Outcome(retry_in=_backoff(first.attempts))
            if found is not None:
                logger.info("delivery %d was already in Slack (ts %s)", first.id, found)
                await self._recorded(batch, event, parent_ts, found)
                if event is not None and parent_ts is not None:
                    await self._update_parent(client, first, event, parent_ts)
                return _Outcome(ts=found)
        wait = await self.store.take_turn(team_id, channel_id, self.min_interval)
        if wait > 0:
            await self.sleep(wait)
        await self.store.claim(ids)
        try:
            message = await self._render(first, batch, event, parent_ts)
            kwargs: dict[str, Any] = {
                "channel": channel_id,
                "text": message.text,
                "metadata": {
                    "event_type": METADATA_EVENT_TYPE,
                    "event_payload": _metadata_payload(first),
                },
                "unfurl_links": False,
                "unfurl_media": False,
            }
            if message.blocks:
                kwargs["blocks"] = list(message.blocks)
            if parent_ts is not None:
                kwargs["thread_ts"] = parent_ts
                if first.broadcast:
                    kwargs["reply_broadcast"] = True
            response = await client.chat_postMessage(**kwargs)
        except SlackApiError as error:
            return await self._refused(batch, error)
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            # Slack may or may not have it: the row stays claimed and is looked for first.
            logger.info("posting delivery %d failed: %r", first.id, error)
            return _Outcome(retry_in=_backoff(first.attempts))
        ts = str(response.get("ts") or "")
        await self._recorded(batch, event, parent_ts, ts)
        if event is not None and parent_ts is not None:
            await self._update_parent(client, first, event, parent_ts)
        return _Outcome(ts=ts)

    async def _render(
        self,
        first: OutboxRow,
        batch: list[OutboxRow],
        event: PmpEvent | None,
        parent_ts: str | None,
    ) -> RenderedMessage:
        if event is None:
            return self.renderer.notice("\n".join(row.notice or "" for row in batch))
        if parent_ts is None:
            return await self.renderer.parent(event, first.style, first=True)
        return await self.renderer.thread_line(event)

    async def _recorded(
        self,
        batch: list[OutboxRow],
        event: PmpEvent | None,
        parent_ts: str | None,
        ts: str,
    ) -> None:
        thread = None
        if event is not None and parent_ts is None and ts:
            first = batch[0]
            thread = (first.team_id, first.channel_id, event.kind, event.record_id, ts)
        await self.store.delivered([row.id for row in batch], thread=thread)
        self._count(batch, "sent")

    def _count(self, batch: Sequence[OutboxRow], state: str) -> None:
        if self.counted is None or not batch:
            return
        kind = "notice" if batch[0].notice is not None else "event"
        self.counted(kind, state, len(batch))

    async def _update_parent(
        self, client: AsyncWebClient, row: OutboxRow, event: PmpEvent, parent_ts: str
    ) -> None:
        """The record's card shows its state after the event; failing that is only logged
        (the next event updates it again). Skipped when a later event of the same record
        waits for this channel: its update shows the newer state (a burst costs one
        chat.update, not one per event)."""
        if await self.store.has_later(
            row.team_id, row.channel_id, event.kind, event.record_id, after_id=row.id
        ):
            return
        try:
            message = await self.renderer.parent(event, row.style, first=False)
            kwargs: dict[str, Any] = {
                "channel": row.channel_id,
                "ts": parent_ts,
                "text": message.text,
            }
            if message.blocks:
                kwargs["blocks"] = list(message.blocks)
            await client.chat_update(**kwargs)
        except SlackApiError as error:
            code = _error_code(error)
            if code in ("message_not_found", "cant_update_message"):
                await self.store.forget_thread(
                    row.team_id, row.channel_id, event.kind, event.record_id
                )
            elif _status_code(error) == 429:
                await self.store.hold_channel(row.team_id, row.channel_id, _retry_after(error))
            logger.info("updating the card of delivery %d failed: %s", row.id, code)
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            logger.info("updating the card of delivery %d failed: %r", row.id, error)

    async def _refused(self, batch: list[OutboxRow], error: SlackApiError) -> _Outcome:
        first = batch[0]
        ids = [row.id for row in batch]
        code = _error_code(error)
        status = _status_code(error)
        if status == 429:
            delay = _retry_after(error)
            await self.store.unclaim(ids, "ratelimited")
            await self.store.hold_channel(first.team_id, first.channel_id, delay)
            logger.info("Slack asked to wait %.1fs before posting to %s", delay, first.channel_id)
            return _Outcome(retry_in=0.0)
        if status is not None and status >= 500:
            # Slack may have posted before failing: keep the claim, look first next time.
            return _Outcome(retry_in=_backoff(first.attempts))
        if code in PAUSING_ERRORS or code in _TOKEN_ERRORS:
            await self.store.unclaim(ids, code)
            raise _ChannelGone(code)
        if code == "thread_not_found" or code == "message_not_found":
            event = event_of_row(first) if first.notice is None else None
            if event is not None:
                await self.store.forget_thread(
                    first.team_id, first.channel_id, event.kind, event.record_id
                )
            await self.store.unclaim(ids, code)
            return _Outcome(retry_in=0.0)
        await self.store.unclaim(ids, code)
        if first.attempts + 1 >= MAX_ATTEMPTS:
            logger.error(
                "Slack refused delivery %d to %s %d times (%s); it is dropped",
                first.id,
                first.channel_id,
                MAX_ATTEMPTS,
                code,
            )
            await self.store.delivered(ids)
            self._count(batch, "failed")
            return _Outcome(dropped=True, detail=code)
        logger.warning("Slack refused delivery %d: %s", first.id, code)
        return _Outcome(retry_in=_backoff(first.attempts))

    async def _channel_gone(
        self, team_id: str, enterprise_id: str | None, channel_id: str, code: str
    ) -> None:
        logger.warning("Can't post to channel %s of team %s: %s", channel_id, team_id, code)
        paused_now = await self.subscriptions.pause_channel(team_id, channel_id, code)
        dropped = await self.store.drop_channel(team_id, channel_id, code)
        logger.info("%d message(s) for %s/%s dropped", dropped, team_id, channel_id)
        if not paused_now or code in _TOKEN_ERRORS or self.report_paused is None:
            return
        paused = [
            s
            for s in await self.subscriptions.list_for_channel(team_id, channel_id)
            if s.paused_at is not None
        ]
        try:
            await self.report_paused(team_id, enterprise_id, channel_id, code, paused)
        except Exception:
            logger.exception(
                "telling the admins of %s about channel %s failed", team_id, channel_id
            )

    async def _find_posted(
        self, client: AsyncWebClient, row: OutboxRow, parent_ts: str | None
    ) -> str | None:
        """The ts of the message of `row` if Slack has it (by its metadata), else None."""
        assert row.claimed_at is not None
        oldest = f"{(row.claimed_at - _SEARCH_MARGIN).timestamp():.6f}"
        cursor: str | None = None
        for _ in range(_SEARCH_PAGES):
            kwargs: dict[str, Any] = {
                "channel": row.channel_id,
                "oldest": oldest,
                "include_all_metadata": True,
                "limit": 200,
            }
            if cursor:
                kwargs["cursor"] = cursor
            try:
                if parent_ts is not None:
                    response = await client.conversations_replies(ts=parent_ts, **kwargs)
                else:
                    response = await client.conversations_history(**kwargs)
            except SlackApiError as error:
                code = _error_code(error)
                if code in PAUSING_ERRORS or code in _TOKEN_ERRORS:
                    raise _ChannelGone(code) from error
                if code in ("thread_not_found", "message_not_found"):
                    return None
                if code in _NO_SEARCH:
                    # Installed before pmp-bot asked for channels:history: it can't look, so
                    # the message is sent again (a duplicate only if the first one got in).
                    logger.warning(
                        "Can't check whether delivery %d reached Slack (%s): reinstall "
                        "pmp-bot to grant channels:history and groups:history",
                        row.id,
                        code,
                    )
                    return None
                raise _SearchFailed(_status_code(error) == 429, _retry_after(error)) from error
            except (aiohttp.ClientError, OSError, TimeoutError) as error:
                raise _SearchFailed(False, 0.0) from error
            for message in response.get("messages") or []:
                meta = message.get("metadata") or {}
                if meta.get("event_type") == METADATA_EVENT_TYPE and meta.get(
                    "event_payload"
                ) == _metadata_payload(row):
                    return str(message.get("ts"))
            cursor = ((response.get("response_metadata") or {}).get("next_cursor")) or None
            if not cursor:
                return None
        return None


def _metadata_payload(row: OutboxRow) -> dict[str, Any]:
    """What a message carries to be found again: its outbox row, and the event it tells of
    (so a message of another pmp-bot sharing the channel is never taken for it)."""
    return {"delivery": row.id, "event": (row.event_key or "notice")[:200]}


def _notice_batch(rows: list[OutboxRow]) -> list[OutboxRow]:
    """Consecutive notice rows that fit one message. A claimed first row is sent again with
    exactly the rows claimed with it."""
    first = rows[0]
    batch = [first]
    size = len(first.notice or "")
    for row in rows[1:]:
        if row.notice is None:
            break
        if (row.claimed_at is not None) != (first.claimed_at is not None):
            break
        if size + 1 + len(row.notice) > MAX_NOTICE_CHARS:
            break
        size += 1 + len(row.notice)
        batch.append(row)
    return batch


def _backoff(attempts: int) -> float:
    return float(min(2 ** max(attempts, 0), MAX_BACKOFF))


def _status_code(error: SlackApiError) -> int | None:
    status = getattr(error.response, "status_code", None)
    return status if isinstance(status, int) else None


def _error_code(error: SlackApiError) -> str:
    response: Any = error.response
    code = response.get("error") if hasattr(response, "get") else None
    return code if isinstance(code, str) and code else "unknown_error"


def _retry_after(error: SlackApiError) -> float:
    headers = getattr(error.response, "headers", None)
    if not isinstance(headers, Mapping):
        return DEFAULT_RETRY_AFTER
    for name, value in headers.items():
        if str(name).lower() == "retry-after":
            try:
                seconds = float(value)
            except (TypeError, ValueError):
                return DEFAULT_RETRY_AFTER
            return min(seconds, MAX_RETRY_AFTER) if seconds >= 0 else DEFAULT_RETRY_AFTER
    return DEFAULT_RETRY_AFTER
