"""Prometheus metrics, served by `pmp-bot serve` at `GET /metrics`.

What an operator watches: Slack requests by kind and outcome, how fast they were
acknowledged (Slack gives up after 3 s), PMP's answers and their latency, channel notices
queued, sent and failed, and how many workspaces are connected to a PMP.

Labels only ever take a few fixed values (request kinds, outcomes, HTTP status codes), never
a workspace, a user, a channel or a token. Each process has its own registry (no global
one), so every test and every app built in one process counts on its own. Recording is a
dictionary lookup and an increment: requests are counted once their log line is written,
which for most is after Slack already has its answer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

import httpx
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

__all__ = ["CONTENT_TYPE", "Metrics", "request_outcome"]

logger = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST

# What `describe_request` calls the requests Slack sends; anything else counts as "other".
REQUEST_KINDS = (
    "command",
    "block_actions",
    "block_suggestion",
    "view_submission",
    "view_closed",
    "shortcut",
    "message_action",
    "event",
    "other",
)
OUTCOMES = ("ok", "bad_signature", "not_handled", "refused", "unavailable", "error")
NOTICE_STATES = ("queued", "sent", "failed")
# Slack's limit is 3 s; the buckets are finest where a healthy ack is.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)
PMP_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)

TransportFactory = Callable[[], httpx.AsyncBaseTransport]


def request_outcome(http_status: int | None) -> str:
    """What became of a Slack request, from the HTTP status pmp-bot answered it with."""
    if http_status is None or http_status >= 500:
        return "unavailable" if http_status == 503 else "error"
    if http_status < 400:
        return "ok"
    if http_status == 401:
        return "bad_signature"
    if http_status == 404:
        return "not_handled"  # Bolt's answer when no listener acknowledged in time
    return "refused"


class Metrics:
    """The counters of one running bot."""

    def __init__(self) -> None:
        # A `_created` timestamp per series doubles the page and nobody graphs it.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry()
        requests = Counter(
            "pmp_bot_slack_requests",
            "Slack requests answered, by kind and outcome.",
            ["kind", "outcome"],
            registry=self.registry,
        )
        ack = Histogram(
            "pmp_bot_slack_ack_seconds",
            "Seconds from a Slack request's arrival to pmp-bot's answer (Slack waits 3 s).",
            ["kind"],
            buckets=ACK_BUCKETS,
            registry=self.registry,
        )
        self._pmp_requests = Counter(
            "pmp_bot_pmp_requests",
            "Requests to PMP, by PMP's HTTP status, or timeout / unreachable.",
            ["status"],
            registry=self.registry,
        )
        self._pmp_seconds = Histogram(
            "pmp_bot_pmp_request_seconds",
            "Seconds PMP took to answer a request (or to fail).",
            buckets=PMP_BUCKETS,
            registry=self.registry,
        )
        notices = Counter(
            "pmp_bot_notices",
            "Channel notice lines queued, posted to Slack (sent), or dropped (failed).",
            ["state"],
            registry=self.registry,
        )
        self._workspaces = Gauge(
            "pmp_bot_workspaces_connected",
            "Workspaces connected to a PMP (as of the last scrape).",
            registry=self.registry,
        )
        # Every series made up front: each shows (as 0) before its first event, and recording
        # is a dictionary lookup instead of prometheus_client's label checks.
        self._requests = {
            (kind, outcome): requests.labels(kind, outcome)
            for kind in REQUEST_KINDS
            for outcome in OUTCOMES
        }
        self._ack = {kind: ack.labels(kind) for kind in REQUEST_KINDS}
        self._notices = {state: notices.labels(state) for state in NOTICE_STATES}
        self._pmp_statuses: dict[str, Counter] = {}

    # --- recording ---------------------------------------------------------------------------

    def request_answered(self, kind: str, http_status: int | None, ack_seconds: float) -> None:
        if kind not in self._ack:
            kind = "other"
        self._requests[(kind, request_outcome(http_status))].inc()
        self._ack[kind].observe(ack_seconds)

    def pmp_answered(self, status: str, seconds: float) -> None:
        """`status`: PMP's HTTP status code, "timeout" or "unreachable"."""
        child = self._pmp_statuses.get(status)
        if child is None:
            child = self._pmp_statuses[status] = self._pmp_requests.labels(status)
        child.inc()
        self._pmp_seconds.observe(seconds)

    def notices(self, state: str, lines: int = 1) -> None:
        self._notices[state].inc(lines)

    # --- wiring ------------------------------------------------------------------------------

    def measured_transport(self, factory: TransportFactory) -> TransportFactory:
        """`factory`, making transports whose every PMP request is counted and timed."""
        return lambda: _MeasuringTransport(factory(), self)

    # --- exposition --------------------------------------------------------------------------

    async def render(self, count_connected: Callable[[], Awaitable[int]]) -> bytes:
        """The metrics in Prometheus' text format, the workspace count read afresh (the last
        one kept when the database can't be read: the rest is worth having regardless)."""
        try:
            self._workspaces.set(await count_connected())
        except Exception as error:
            logger.warning("Counting connected workspaces failed: %s", type(error).__name__)
        return generate_latest(self.registry)


class _MeasuringTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        try:
            response = await self._inner.handle_async_request(request)
        except httpx.TimeoutException:
            self._metrics.pmp_answered("timeout", time.perf_counter() - started)
            raise
        except httpx.TransportError:
            self._metrics.pmp_answered("unreachable", time.perf_counter() - started)
            raise
        self._metrics.pmp_answered(str(response.status_code), time.perf_counter() - started)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
