"""The 3.x module's webhooks: storing them (``api/webhooks``) and delivering events to them.

Deliveries follow ``Api_Webhook_Service`` in its queued mode: each event is queued for every
active webhook whose events list has it (or ``*``), then POSTed as JSON::

    {"event": "ticket_status_changed", "timestamp": 1764921600,
     "data": {"id": "3", "status": "2", "_source_hook": "after_ticket_status_changed"},
     "signature": "<hex hmac_sha256(secret, body without this key)>"}   (only with a secret)

with headers ``Content-Type: application/json``, ``User-Agent: Perfex-CRM-API/3.0``,
``X-Perfex-Event`` and, with a secret, ``X-Perfex-Signature: t=<unix>,v1=<hex
hmac_sha256(secret, f"{t}.{raw body}")>`` (``t`` is the time of that attempt; the body and its
``timestamp`` stay those of the event). A webhook's own ``headers`` come first. An attempt
fails on a non-2xx answer, a timeout (the webhook's ``timeout``) or a refused connection; the
job is tried ``max(1, retry_count)`` times in all, waiting 1, 5, 15, 60, 240 "minutes"
between attempts (``backoff`` seconds each in the sandbox; 1 by default).

Targets are checked like the module's ``isUrlSafe``: http(s) only, and never a loopback,
link-local/metadata, 0.0.0.0/8, reserved or carrier-grade NAT address (private LAN ranges
only in strict mode). ``allow_loopback`` (a sandbox option) lets tests and the console
receive them on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import ipaddress
import itertools
import json
import math
import socket
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot.sandbox import schema
from bot.sandbox.events import Event
from bot.sandbox.phpish import PhpValue
from bot.sandbox.store import SandboxStore, now_text

USER_AGENT = "Perfex-CRM-API/3.0"
# Api_Webhook_Service::RETRY_BACKOFF, in units of ``backoff`` (minutes on a real server).
RETRY_BACKOFF = (1, 5, 15, 60, 240)
CONNECT_TIMEOUT = 10.0
# Deliveries the sandbox remembers for /_sandbox/webhooks/deliveries (oldest forgotten).
KEPT_DELIVERIES = 20000
_CGNAT = ipaddress.ip_network("100.64.0.0/10")


def php_json(payload: object) -> str:
    """PHP's ``json_encode``: compact, ``\\uXXXX`` escapes, escaped slashes."""
    text = json.dumps(payload, ensure_ascii=True, separators=(",", ":"))
    return text.replace("/", "\\/")


def signature_header(body: str, secret: str, timestamp: int) -> str:
    """``X-Perfex-Signature``: ``t=<unix>,v1=<hex hmac_sha256(secret, "{t}.{body}")>``."""
    signed = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={signed.hexdigest()}"


def ip_blocked(address: str, *, strict: bool, allow_loopback: bool) -> str | None:
    """Why the module refuses to call ``address`` (``isIpBlocked``), or None."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "not a valid IP"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return "reserved/loopback/metadata address"
    if ip.is_loopback and allow_loopback:
        return None
    # PHP's FILTER_FLAG_NO_RES_RANGE: loopback, 0.0.0.0/8, link-local (metadata), 240/4, ::.
    if (
        ip.is_loopback
        or ip.is_link_local
        or ip.is_unspecified
        or ip.is_reserved
        or (isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.ip_network("0.0.0.0/8"))
    ):
        return "reserved/loopback/metadata address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "carrier-grade NAT range"
    if strict and ip.is_private:
        return "private LAN address (strict mode)"
    return None


async def check_url(url: str, *, strict: bool, allow_loopback: bool) -> str | None:
    """``Api_Webhook_Service::isUrlSafe``: None when the URL may be called, else why not."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return "malformed URL"
    if not host:
        return "malformed URL"
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return f"scheme not allowed: {scheme or '(none)'}"
    try:
        ipaddress.ip_address(host)
        address = host
    except ValueError:
        # gethostbyname: IPv4 only, and an unresolvable name is refused.
        try:
            address = await asyncio.get_running_loop().run_in_executor(
                None, socket.gethostbyname, host
            )
        except OSError:
            return "host could not be resolved"
    return ip_blocked(address, strict=strict, allow_loopback=allow_loopback)


@dataclass
class Attempt:
    number: int
    at: float
    headers: dict[str, str]
    status_code: int | None = None
    response_body: str | None = None
    error: str | None = None
    success: bool = False

    def as_dict(self) -> dict[str, PhpValue]:
        return {
            "attempt": self.number,
            "at": self.at,
            "headers": dict(self.headers),
            "status_code": self.status_code,
            "response_body": self.response_body,
            "error": self.error,
            "success": self.success,
        }


@dataclass
class Delivery:
    """One event queued for one webhook (a row of ``api_webhook_queue``) and its attempts."""

    id: int
    webhook_id: str
    event: str
    url: str
    body: str
    max_attempts: int
    timeout: float
    secret: str | None = field(repr=False, default=None)
    custom_headers: dict[str, str] = field(default_factory=dict)
    created: float = field(default_factory=time.time)
    status: str = "pending"  # pending, delivered, failed
    attempts: list[Attempt] = field(default_factory=list)
    resent: bool = False
    generation: int = 0

    def headers_for(self, timestamp: int) -> dict[str, str]:
        headers = dict(self.custom_headers)
        headers["Content-Type"] = "application/json"
        headers["User-Agent"] = USER_AGENT
        headers["X-Perfex-Event"] = self.event
        if self.secret:
            headers["X-Perfex-Signature"] = signature_header(self.body, self.secret, timestamp)
        return headers

    def as_dict(self) -> dict[str, PhpValue]:
        return {
            "id": self.id,
            "webhook_id": self.webhook_id,
            "event": self.event,
            "url": self.url,
            "status": self.status,
            "body": self.body,
            "payload": json.loads(self.body),
            "headers": dict(self.attempts[-1].headers) if self.attempts else None,
            "max_attempts": self.max_attempts,
            "created": self.created,
            "resent": self.resent,
            "attempts": [attempt.as_dict() for attempt in self.attempts],
        }


@dataclass
class WebhookOptions:
    """Sandbox switches: ``allow_loopback`` (127.0.0.1 and ::1 targets), ``ssrf_strict`` (the
    module's ``api_webhook_ssrf_strict``: private LAN ranges refused too), ``backoff``
    (seconds for one "minute" of the retry schedule), ``delivery_mode`` (the module's
    ``api_webhook_delivery_mode``: "queue", sent after the request with retries, or
    "immediate", its default on a real PMP: sent once during the request), ``per_token``
    (sandbox only: a webhook hears only what is done with the token that made it, so one
    sandbox can stand for many PMPs, one per workspace token)."""

    allow_loopback: bool = False
    ssrf_strict: bool = False
    backoff: float = 1.0
    delivery_mode: str = "queue"
    per_token: bool = False

    def update(self, changes: Mapping[str, object]) -> None:
        checked: dict[str, object] = {}
        for name, value in changes.items():
            if name in ("allow_loopback", "ssrf_strict", "per_token"):
                if not isinstance(value, bool):
                    raise ValueError(f"{name} must be true or false")
            elif name == "delivery_mode":
                if value not in ("queue", "immediate"):
                    raise ValueError('delivery_mode must be "queue" or "immediate"')
            elif name == "backoff":
                if (
                    isinstance(value, bool)
                    or not isinstance(value, int | float)
                    or not math.isfinite(value)
                    or value < 0
                ):
                    raise ValueError("backoff must be a number of seconds >= 0")
                value = float(value)
            else:
                raise ValueError(
                    f"unknown option {name!r}; known: allow_loopback, ssrf_strict, backoff, "
                    "delivery_mode, per_token"
                )
            checked[name] = value
        for name, value in checked.items():
            setattr(self, name, value)

    def as_dict(self) -> dict[str, PhpValue]:
        return {
            "allow_loopback": self.allow_loopback,
            "ssrf_strict": self.ssrf_strict,
            "backoff": self.backoff,
            "delivery_mode": self.delivery_mode,
            "per_token": self.per_token,
        }


class WebhookHub:
    """Queues and sends webhook deliveries on the server's event loop."""

    def __init__(self, store: SandboxStore, options: WebhookOptions | None = None) -> None:
        self.store = store
        self.options = options if options is not None else WebhookOptions()
        self._deliveries: deque[Delivery] = deque(maxlen=KEPT_DELIVERIES)
        self._by_id: dict[int, Delivery] = {}
        self._ids = itertools.count(1)
        self._log_ids = itertools.count(1)
        self._queues: dict[str, asyncio.Queue[Delivery]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._client: httpx.AsyncClient | None = None
        self._busy = 0
        self._generation = 0
        self._idle = threading.Condition()
        self._logs: dict[str, deque[dict[str, PhpValue]]] = {}

    # --- stored webhooks --------------------------------------------------------------------

    def webhooks(self) -> list[dict[str, str | None]]:
        return self.store.all_rows(schema.API_WEBHOOKS)

    def has_wildcard(self) -> bool:
        """Whether an active webhook listens to every event (``*``)."""
        return self.store.has_wildcard_webhook()

    def matching(self, event: str, owner: str | None = None) -> list[dict[str, str | None]]:
        """``getWebhooksForEvent``: active webhooks listing the event or ``*`` (with the
        ``per_token`` option and an ``owner``, only those made with that token)."""
        found = []
        for webhook in self.webhooks():
            if webhook["active"] != "1":
                continue
            if self.options.per_token and owner is not None and webhook["owner"] != owner:
                continue
            events = [name.strip() for name in (webhook["events"] or "").split(",")]
            if "*" in events or event in events:
                found.append(webhook)
        return found

    # --- queueing ---------------------------------------------------------------------------

    def trigger(self, event: Event, owner: str | None = None) -> list[Delivery]:
        """Queue ``event`` for every matching webhook (call on the server's event loop)."""
        queued = self._prepare(event, owner)
        for delivery in queued:
            self._enqueue(delivery)
        return queued

    async def send(self, event: Event, owner: str | None = None) -> list[Delivery]:
        """What the module does when ``event`` fires: queue it (``delivery_mode`` "queue"), or
        send it now, once, before the request that fired it is answered ("immediate", the
        module's default: a slow receiver slows PMP's answer, and nothing is retried)."""
        if self.options.delivery_mode == "queue":
            return self.trigger(event, owner)
        deliveries = self._prepare(event, owner)
        for delivery in deliveries:
            delivery.max_attempts = 1
            self._started(delivery)
            try:
                await self._attempt(delivery)
            finally:
                if delivery.status == "pending":
                    delivery.status = "failed"
                self._finished(delivery)
        return deliveries

    def _prepare(self, event: Event, owner: str | None) -> list[Delivery]:
        """``buildPayload`` for every matching webhook: the deliveries, remembered."""
        queued = []
        for webhook in self.matching(event.name, owner):
            payload: dict[str, PhpValue] = {
                "event": event.name,
                "timestamp": int(time.time()),
                "data": event.data,
            }
            secret = webhook["secret"] or None
            if secret:
                # The legacy in-body signature, over the payload without it.
                payload["signature"] = hmac.new(
                    secret.encode(), php_json(payload).encode(), hashlib.sha256
                ).hexdigest()
            try:
                custom = json.loads(webhook["headers"] or "null") or {}
            except ValueError:
                custom = {}
            delivery = Delivery(
                id=next(self._ids),
                webhook_id=str(webhook["id"]),
                event=event.name,
                url=str(webhook["url"]),
                body=php_json(payload),
                max_attempts=max(1, int(webhook["retry_count"] or 0)),
                timeout=float(webhook["timeout"] or 30),
                secret=secret,
                custom_headers={str(k): str(v) for k, v in custom.items()}
                if isinstance(custom, dict)
                else {},
            )
            self._remember(delivery)
            queued.append(delivery)
        return queued

    def _remember(self, delivery: Delivery) -> None:
        if len(self._deliveries) == self._deliveries.maxlen:
            self._by_id.pop(self._deliveries[0].id, None)
        self._deliveries.append(delivery)
        self._by_id[delivery.id] = delivery

    def _enqueue(self, delivery: Delivery) -> None:
        self._started(delivery)
        queue = self._queues.get(delivery.webhook_id)
        if queue is None:
            queue = self._queues[delivery.webhook_id] = asyncio.Queue()
            worker = asyncio.get_running_loop().create_task(self._worker(queue))
            self._workers[delivery.webhook_id] = worker
        queue.put_nowait(delivery)

    async def _worker(self, queue: asyncio.Queue[Delivery]) -> None:
        """First attempts of one webhook's jobs, in the order they were queued."""
        while True:
            delivery = await queue.get()
            try:
                await self._attempt(delivery)
            except asyncio.CancelledError:
                self._stopped(delivery)
                raise
            self._after_attempt(delivery)

    def _after_attempt(self, delivery: Delivery) -> None:
        if delivery.status == "pending" and len(delivery.attempts) < delivery.max_attempts:
            step = RETRY_BACKOFF[min(len(delivery.attempts), len(RETRY_BACKOFF)) - 1]
            task = asyncio.get_running_loop().create_task(
                self._retry(delivery, step * self.options.backoff)
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        if delivery.status == "pending":
            delivery.status = "failed"
        self._finished(delivery)

    async def _retry(self, delivery: Delivery, delay: float) -> None:
        try:
            await asyncio.sleep(delay)
            webhook = self.store.row(schema.API_WEBHOOKS, delivery.webhook_id)
            if webhook is None or webhook["active"] != "1":
                delivery.status = "failed"
            else:
                await self._attempt(delivery)
        except asyncio.CancelledError:
            self._stopped(delivery)
            raise
        self._after_attempt(delivery)

    def _stopped(self, delivery: Delivery) -> None:
        """The sandbox stopped (or was reset) before the job finished."""
        if delivery.status == "pending":
            delivery.status = "failed"
        self._finished(delivery)

    # --- sending ----------------------------------------------------------------------------

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            # TCP_NODELAY: the body goes out as a second small write, and without it a
            # kept-alive connection waits for the receiver's delayed ACK (~40 ms a delivery).
            transport = httpx.AsyncHTTPTransport(
                limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
                socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
            )
            self._client = httpx.AsyncClient(
                transport=transport,
                follow_redirects=False,  # a redirect could get round the address check
            )
        return self._client

    async def _attempt(
        self,
        delivery: Delivery,
        *,
        timestamp: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> Attempt:
        sent_at = int(time.time()) if timestamp is None else timestamp
        attempt = Attempt(
            number=len(delivery.attempts) + 1,
            at=time.time(),
            headers=dict(headers) if headers is not None else delivery.headers_for(sent_at),
        )
        delivery.attempts.append(attempt)
        blocked = await check_url(
            delivery.url,
            strict=self.options.ssrf_strict,
            allow_loopback=self.options.allow_loopback,
        )
        if blocked is not None:
            attempt.error = f"Blocked by SSRF protection: {blocked}"
        else:
            try:
                answer = await self._http().post(
                    delivery.url,
                    content=delivery.body.encode(),
                    headers=attempt.headers,
                    timeout=httpx.Timeout(delivery.timeout, connect=CONNECT_TIMEOUT),
                )
                attempt.status_code = answer.status_code
                attempt.response_body = answer.text[:1000]
                attempt.success = 200 <= answer.status_code < 300
                if not attempt.success:
                    attempt.error = f"HTTP {answer.status_code}: {answer.text[:500]}"
            except httpx.HTTPError as error:
                attempt.error = (
                    f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
                )
        if attempt.success:
            delivery.status = "delivered"
        self._log(delivery, attempt)
        return attempt

    def _log(self, delivery: Delivery, attempt: Attempt) -> None:
        """A row of ``api_webhook_logs`` and the webhook's counters."""
        row: dict[str, PhpValue] = {
            "id": str(next(self._log_ids)),
            "webhook_id": delivery.webhook_id,
            "event": delivery.event,
            "url": delivery.url,
            "payload": delivery.body,
            "response_code": None if attempt.status_code is None else str(attempt.status_code),
            "response_body": attempt.response_body,
            "error_message": attempt.error,
            "attempt_number": str(attempt.number),
            "status": "success" if attempt.success else "failed",
            "triggered_at": now_text(),
        }
        self._logs.setdefault(delivery.webhook_id, deque(maxlen=500)).appendleft(row)
        webhook = self.store.row(schema.API_WEBHOOKS, delivery.webhook_id)
        if webhook is not None:
            counter = "success_count" if attempt.success else "failure_count"
            self.store.update(
                schema.API_WEBHOOKS,
                delivery.webhook_id,
                {counter: str(int(webhook[counter] or 0) + 1), "last_triggered": now_text()},
            )

    def logs(self, webhook_id: str) -> list[dict[str, PhpValue]]:
        return list(self._logs.get(webhook_id, ()))

    def forget_webhook(self, webhook_id: str) -> None:
        """Deleting a webhook deletes its logs and queued jobs."""
        self._logs.pop(webhook_id, None)
        worker = self._workers.pop(webhook_id, None)
        queue = self._queues.pop(webhook_id, None)
        if worker is not None:
            worker.cancel()
        while queue is not None and not queue.empty():
            delivery = queue.get_nowait()
            delivery.status = "failed"
            self._finished(delivery)

    async def resend(
        self, delivery_id: int, *, timestamp: int | None = None, verbatim: bool = False
    ) -> Delivery | None:
        """Send a past delivery's body again, now: with its last headers unchanged
        (``verbatim``: a replay, old signature and all) or signed with ``timestamp``."""
        original = self._by_id.get(delivery_id)
        if original is None:
            return None
        copy = Delivery(
            id=next(self._ids),
            webhook_id=original.webhook_id,
            event=original.event,
            url=original.url,
            body=original.body,
            max_attempts=1,
            timeout=original.timeout,
            secret=original.secret,
            custom_headers=dict(original.custom_headers),
            resent=True,
        )
        self._remember(copy)
        headers = original.attempts[-1].headers if verbatim and original.attempts else None
        self._started(copy)
        try:
            await self._attempt(copy, timestamp=timestamp, headers=headers)
            if copy.status == "pending":
                copy.status = "failed"
        finally:
            self._finished(copy)
        return copy

    # --- looking on -------------------------------------------------------------------------

    def deliveries(
        self, *, event: str | None = None, webhook_id: str | None = None
    ) -> list[Delivery]:
        return [
            delivery
            for delivery in list(self._deliveries)
            if (event is None or delivery.event == event)
            and (webhook_id is None or delivery.webhook_id == webhook_id)
        ]

    def clear_deliveries(self) -> None:
        self._deliveries.clear()
        self._by_id.clear()

    @property
    def pending(self) -> int:
        """Deliveries not finished yet (waiting, being sent or waiting for a retry)."""
        return self._busy

    def _started(self, delivery: Delivery) -> None:
        delivery.generation = self._generation
        with self._idle:
            self._busy += 1

    def _finished(self, delivery: Delivery) -> None:
        if delivery.generation != self._generation:
            return  # counted before a reset, which forgot it
        with self._idle:
            self._busy -= 1
            if self._busy == 0:
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Thread-safe: wait until every delivery has finished (True) or ``timeout`` passed."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout=timeout)

    def reset(self) -> None:
        """Forget every queued and past delivery (the store's webhooks were wiped)."""
        for task in [*self._workers.values(), *self._tasks]:
            task.cancel()
        self._workers.clear()
        self._queues.clear()
        self._tasks.clear()
        self._logs.clear()
        self.clear_deliveries()
        self._generation += 1
        with self._idle:
            self._busy = 0
            self._idle.notify_all()

    async def aclose(self) -> None:
        """Stop sending (the server is stopping)."""
        for task in [*self._workers.values(), *self._tasks]:
            task.cancel()
        for task in [*self._workers.values(), *self._tasks]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._workers.clear()
        self._queues.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        with self._idle:
            self._busy = 0
            self._idle.notify_all()
