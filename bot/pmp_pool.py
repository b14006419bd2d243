"""One pooled PMP client per workspace, rebuilt when the workspace's credentials change."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from bot.observability import current_trace
from bot.pmp import PmpClient
from bot.storage import WorkspaceStore

logger = logging.getLogger(__name__)

# How often at most the "last successful PMP call" time is written per workspace: it is shown
# to admins with minute precision, and writing it on every call would load the database.
SUCCESS_MARK_INTERVAL_S = 30.0


class ObservingTransport(httpx.AsyncBaseTransport):
    """Wraps the real transport to note each PMP answer for the request log and the
    workspace's "last successful call", without the PMP client knowing about either."""

    def __init__(self, inner: httpx.AsyncBaseTransport, on_success: Callable[[], None]) -> None:
        self._inner = inner
        self._on_success = on_success

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        trace = current_trace.get()
        try:
            response = await self._inner.handle_async_request(request)
        except httpx.TimeoutException:
            if trace is not None:
                trace.record_pmp("timeout")
            raise
        except httpx.TransportError:
            if trace is not None:
                trace.record_pmp("unreachable")
            raise
        if trace is not None:
            trace.record_pmp(str(response.status_code))
        if response.status_code == 200:
            self._on_success()
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclass(frozen=True)
class WorkspaceKey:
    team_id: str
    enterprise_id: str | None = None


TransportFactory = Callable[[], httpx.AsyncBaseTransport]


# Per workspace. Lookups answer after the ack and may all wait on a slow PMP at once: a small
# pool would queue them (200 lookups behind 50 connections take four PMP round trips). Few idle
# connections are kept: httpcore checks every idle one on each request, which costs more CPU
# than reopening a connection now and then.
PMP_MAX_CONNECTIONS = 256
PMP_KEEPALIVE_CONNECTIONS = 20


def default_transport() -> httpx.AsyncBaseTransport:
    return httpx.AsyncHTTPTransport(
        limits=httpx.Limits(
            max_connections=PMP_MAX_CONNECTIONS,
            max_keepalive_connections=PMP_KEEPALIVE_CONNECTIONS,
        ),
        retries=0,  # PmpClient owns the retry policy
    )


class PmpClientPool:
    def __init__(
        self,
        workspaces: WorkspaceStore,
        *,
        timeout: float = 10.0,
        transport_factory: TransportFactory = default_transport,
    ) -> None:
        self._workspaces = workspaces
        self._timeout = timeout
        self._transport_factory = transport_factory
        self._clients: dict[WorkspaceKey, tuple[int, PmpClient]] = {}
        self._last_success_mark: dict[WorkspaceKey, float] = {}
        self._lock = asyncio.Lock()
        self._background: set[asyncio.Task[None]] = set()
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
                transport=ObservingTransport(
                    self._transport_factory(), on_success=lambda: self._note_success(key)
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

    def _note_success(self, key: WorkspaceKey) -> None:
        now = time.monotonic()
        last = self._last_success_mark.get(key)
        if last is not None and now - last < SUCCESS_MARK_INTERVAL_S:
            return
        self._last_success_mark[key] = now
        self._spawn(self._mark_success(key))

    async def _mark_success(self, key: WorkspaceKey) -> None:
        try:
            await self._workspaces.mark_pmp_success(
                key.team_id, key.enterprise_id, datetime.now(UTC)
            )
        except Exception:
            logger.warning("Could not record the last successful PMP call", exc_info=True)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def aclose(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        clients = [client for _, client in self._clients.values()] + list(self._retired)
        self._clients.clear()
        self._retired.clear()
        await asyncio.gather(*(client.aclose() for client in clients), return_exceptions=True)
