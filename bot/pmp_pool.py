"""One pooled PMP client per workspace, rebuilt when the workspace's credentials change."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from bot.observability import current_trace
from bot.pmp import PmpClient
from bot.pmp.client import DEFAULT_MAX_RESPONSE_BYTES, EXPECTED_STATUSES
from bot.pmp.network import STRICT, AddressPolicy, GuardedTransport, refused_address_cause
from bot.storage import WorkspaceStore

logger = logging.getLogger(__name__)

# How often at most the "last successful PMP call" time (or the last failed one) is written per
# workspace: it is shown to admins with minute precision, and writing it on every call would
# load the database. A change between working and failing is always written at once.
SUCCESS_MARK_INTERVAL_S = 30.0
# The same for calls made in the background (``background_calls``: polling reads a workspace's
# lists about once a minute, and writing each success down would cost a database write per read).
# A change between working and failing is still written at once.
BACKGROUND_MARK_INTERVAL_S = 300.0

_background: ContextVar[bool] = ContextVar("pmp_background_calls", default=False)


@contextlib.contextmanager
def background_calls() -> Iterator[None]:
    """PMP calls made inside are background work (nobody waits on them): their successes are
    written down at most every BACKGROUND_MARK_INTERVAL_S per workspace."""
    token = _background.set(True)
    try:
        yield
    finally:
        _background.reset(token)


def failure_of(response: httpx.Response) -> str | None:
    """How a PMP answer failed, for `/pmp status`; None when it didn't fail.

    PMP answers 404 for a missing record, a bad search and a bad token alike, so only what
    says the server itself is in trouble or refuses pmp-bot counts: 5xx, 429, 401 and 403.
    """
    status = response.status_code
    if status >= 500:
        return f"PMP answered HTTP {status} (a server error)"
    if status == 429:
        return "PMP answered HTTP 429 (too many requests)"
    if status in (401, 403):
        return f"PMP refused the API token (HTTP {status})"
    return None


def _timeout_text(request: httpx.Request) -> str:
    timeouts = request.extensions.get("timeout") or {}
    seconds = timeouts.get("read") if isinstance(timeouts, dict) else None
    if isinstance(seconds, int | float):
        return f"PMP didn't answer within {seconds:g} s"
    return "PMP didn't answer in time"


class ObservingTransport(httpx.AsyncBaseTransport):
    """Wraps the real transport to note each PMP answer for the request log and the
    workspace's last successful and last failed call, without the PMP client knowing."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        on_success: Callable[[], None],
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        self._inner = inner
        self._on_success = on_success
        self._on_failure = on_failure or (lambda what: None)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        trace = current_trace.get()
        try:
            response = await self._inner.handle_async_request(request)
        except httpx.TimeoutException:
            if trace is not None:
                trace.record_pmp("timeout")
            self._on_failure(_timeout_text(request))
            raise
        except httpx.TransportError as error:
            if trace is not None:
                trace.record_pmp("unreachable")
            if refused_address_cause(error) is not None:
                self._on_failure("pmp-bot refused PMP's address: it is not on the public internet")
            else:
                self._on_failure("PMP couldn't be reached")
            raise
        if trace is not None:
            trace.record_pmp(str(response.status_code))
        if response.status_code == 200:
            self._on_success()
        elif response.status_code in request.extensions.get(EXPECTED_STATUSES, ()):
            pass  # an answer the client expects and works around: not a failing PMP
        else:
            failure = failure_of(response)
            if failure is not None:
                self._on_failure(failure)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclass(frozen=True)
class WorkspaceKey:
    team_id: str
    enterprise_id: str | None = None


TransportFactory = Callable[[], httpx.AsyncBaseTransport]


# Per workspace. Lookups answer after the ack and may all wait on a slow PMP at once: a small
# pool would queue them (200 lookups behind 50 connections take four PMP round trips). Idle
# connections are kept until keep-alive expiry: the pool takes one without looking at the rest.
PMP_MAX_CONNECTIONS = 256


def default_transport(policy: AddressPolicy = STRICT) -> httpx.AsyncBaseTransport:
    """The pooled PMP transport, connecting only to addresses ``policy`` allows (public ones
    by default). It never retries: PmpClient owns the retry policy."""
    return GuardedTransport(
        policy,
        limits=httpx.Limits(
            max_connections=PMP_MAX_CONNECTIONS, max_keepalive_connections=PMP_MAX_CONNECTIONS
        ),
    )


class PmpClientPool:
    def __init__(
        self,
        workspaces: WorkspaceStore,
        *,
        timeout: float = 10.0,
        transport_factory: TransportFactory = default_transport,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self._workspaces = workspaces
        self._timeout = timeout
        self._max_response_bytes = max_response_bytes
        self._transport_factory = transport_factory
        self._clients: dict[WorkspaceKey, tuple[int, PmpClient]] = {}
        # Per workspace: whether the last call written down worked, and when it was written.
        self._last_mark: dict[WorkspaceKey, tuple[bool, float]] = {}
        self._lock = asyncio.Lock()
        self._background: set[asyncio.Task[None]] = set()
        self._marks: set[asyncio.Task[None]] = set()  # last success / failure writes
        self._retired: set[PmpClient] = set()

    async def client_for(self, key: WorkspaceKey, credentials_version: int) -> PmpClient | None:
        """The workspace's client, or None when it has no PMP credentials."""
        cached = self._clients.get(key)
        if cached is not None and cached[0] == credentials_version:
            return cached[1]
        async with self._lock:
            cached = self._clients.get(key)
            if cached is not None and cached[0] == credentials_version:
                return cached[1]
            credentials = await self._workspaces.get_credentials(key.team_id, key.enterprise_id)
            if credentials is None:
                await self._retire(key)
                return None
            client = PmpClient(
                base_url=credentials.base_url,
                token=credentials.token.get_secret_value(),
                timeout=self._timeout,
                max_response_bytes=self._max_response_bytes,
                transport=ObservingTransport(
                    self._transport_factory(),
                    on_success=lambda: self._note_success(key),
                    on_failure=lambda what: self._note_failure(key, what),
                ),
            )
            await self._retire(key)
            self._clients[key] = (credentials.version, client)
            return client

    async def forget(self, key: WorkspaceKey) -> None:
        async with self._lock:
            await self._retire(key)

    async def _retire(self, key: WorkspaceKey) -> None:
        old = self._clients.pop(key, None)
        if old is None:
            return
        # Requests may still be running on the old client: close it once they have had time.
        self._retired.add(old[1])
        self._spawn(self._close_later(old[1], delay=self._timeout + 1.0))

    async def _close_later(self, client: PmpClient, delay: float) -> None:
        await asyncio.sleep(delay)
        self._retired.discard(client)
        await client.aclose()

    def _due(self, key: WorkspaceKey, worked: bool) -> bool:
        """Whether to write this outcome down: always when it differs from the last one
        written, else at most every SUCCESS_MARK_INTERVAL_S (BACKGROUND_MARK_INTERVAL_S for a
        background call's success)."""
        now = time.monotonic()
        last = self._last_mark.get(key)
        interval = (
            BACKGROUND_MARK_INTERVAL_S if worked and _background.get() else SUCCESS_MARK_INTERVAL_S
        )
        if last is not None and last[0] == worked and now - last[1] < interval:
            return False
        self._last_mark[key] = (worked, now)
        return True

    def _note_success(self, key: WorkspaceKey) -> None:
        # The time is taken now: the writes may run in another order than the calls ended.
        if self._due(key, True):
            self._spawn(self._mark_success(key, datetime.now(UTC)), self._marks)

    def _note_failure(self, key: WorkspaceKey, what: str) -> None:
        if self._due(key, False):
            self._spawn(self._mark_failure(key, what, datetime.now(UTC)), self._marks)

    async def _mark_failure(self, key: WorkspaceKey, what: str, when: datetime) -> None:
        try:
            await self._workspaces.mark_pmp_failure(
                key.team_id, key.enterprise_id, what=what, when=when
            )
        except Exception:
            logger.warning("Could not record the last failed PMP call", exc_info=True)

    async def _mark_success(self, key: WorkspaceKey, when: datetime) -> None:
        try:
            await self._workspaces.mark_pmp_success(key.team_id, key.enterprise_id, when)
        except Exception:
            logger.warning("Could not record the last successful PMP call", exc_info=True)

    async def wait_marks(self) -> None:
        """Waits until the last successful and failed calls noted so far are written, so
        a `/pmp status` that follows shows them."""
        while self._marks:
            await asyncio.wait(set(self._marks))

    def _spawn(
        self, coroutine: Coroutine[Any, Any, None], also: set[asyncio.Task[None]] | None = None
    ) -> None:
        task = asyncio.ensure_future(coroutine)
        for tasks in (self._background, also):
            if tasks is not None:
                tasks.add(task)
                task.add_done_callback(tasks.discard)

    async def aclose(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        clients = [client for _, client in self._clients.values()] + list(self._retired)
        self._clients.clear()
        self._retired.clear()
        await asyncio.gather(*(client.aclose() for client in clients), return_exceptions=True)
