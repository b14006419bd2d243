"""Serving the sandbox with uvicorn: in a background thread for tests, or in the foreground."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import uvicorn

from bot.sandbox.app import SandboxApp
from bot.sandbox.auth import DEFAULT_SANDBOX_TOKEN
from bot.sandbox.faults import SandboxFaults
from bot.sandbox.store import SandboxStore
from bot.sandbox.webhooks import WebhookOptions

_STARTUP_TIMEOUT = 10.0
_SHUTDOWN_TIMEOUT = 10.0


class _SandboxServer(uvicorn.Server):
    """uvicorn's server, stopping promptly when asked from another thread and releasing
    requests held by the latency and hang faults so they never delay shutdown."""

    def __init__(self, config: uvicorn.Config, app: SandboxApp) -> None:
        super().__init__(config)
        self._sandbox_app = app
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=0.1)

    def request_exit(self) -> None:
        """Thread-safe: stop serving as soon as possible."""
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop already finished
                loop.call_soon_threadsafe(wake.set)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._sandbox_app.release_waiting_requests()
        await super().shutdown(sockets)
        await self._sandbox_app.webhooks.aclose()


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on sockets that say so, and
    # without it small answers wait ~40 ms for delayed ACKs.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except BaseException:
        sock.close()
        raise
    return sock


def _server(app: SandboxApp) -> _SandboxServer:
    config = uvicorn.Config(
        app,
        log_level="warning",
        log_config=None,
        access_log=False,
        lifespan="off",
        ws="none",
        http="h11",
        loop="asyncio",
        timeout_graceful_shutdown=2,
    )
    return _SandboxServer(config, app)


def site_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


@dataclass
class RunningSandbox:
    """A sandbox serving in the background (see ``running_sandbox``)."""

    base_url: str
    token: str = field(repr=False)
    faults: SandboxFaults
    store: SandboxStore
    app: SandboxApp
    host: str
    port: int
    api_version: int


@contextlib.contextmanager
def running_sandbox(
    *,
    token: str = DEFAULT_SANDBOX_TOKEN,
    db: str = ":memory:",
    api_version: int = 2,
    seed: bool = True,
    host: str = "127.0.0.1",
    port: int = 0,
    faults: SandboxFaults | None = None,
    dev_mode: bool = False,
    tokens: int = 0,
    webhooks_allow_loopback: bool = False,
    webhook_options: WebhookOptions | None = None,
) -> Iterator[RunningSandbox]:
    """Serve a sandbox on ``host`` (port 0: a free one) in a background thread.

    ``db`` is a SQLite file or ":memory:"; ``seed`` loads the demo records into a fresh
    database. ``dev_mode`` starts it in development mode (``faults.dev_mode``, which can be
    switched later). ``tokens`` more full-access tokens are accepted besides ``token``:
    ``bot.sandbox.auth.bulk_token(1..tokens)``. ``webhooks_allow_loopback`` lets 3.x
    webhooks call 127.0.0.1 (a real PMP refuses loopback targets); ``webhook_options`` sets
    all the webhook switches at once (bot/sandbox/webhooks.py). On exit the server stops
    (releasing hanging requests) and the store closes.
    """
    faults = faults if faults is not None else SandboxFaults()
    if dev_mode:
        faults.dev_mode = True
    store = SandboxStore(db, seed=seed)
    try:
        app = SandboxApp(
            store,
            token=token,
            api_version=api_version,
            faults=faults,
            webhook_options=webhook_options
            or WebhookOptions(allow_loopback=webhooks_allow_loopback),
        )
        app.tokens.add_bulk(tokens)
        sock = _listening_socket(host, port)
        try:
            bound_port = int(sock.getsockname()[1])
            server = _server(app)
            thread = threading.Thread(
                target=server.run, kwargs={"sockets": [sock]}, name="pmp-sandbox", daemon=True
            )
            thread.start()
            try:
                deadline = time.monotonic() + _STARTUP_TIMEOUT
                while not server.started:
                    if not thread.is_alive() or time.monotonic() > deadline:
                        raise RuntimeError("the PMP sandbox server did not start")
                    time.sleep(0.002)
                yield RunningSandbox(
                    base_url=site_url(host, bound_port),
                    token=token,
                    faults=app.faults,
                    store=store,
                    app=app,
                    host=host,
                    port=bound_port,
                    api_version=api_version,
                )
            finally:
                server.request_exit()
                thread.join(timeout=_SHUTDOWN_TIMEOUT)
        finally:
            sock.close()
    finally:
        store.close()


def serve(
    *,
    host: str,
    port: int,
    db: str,
    token: str,
    api_version: int,
    faults: SandboxFaults,
    announce: Callable[[str], None],
    tokens: int = 0,
    webhook_options: WebhookOptions | None = None,
    bulk_tickets: int = 0,
) -> None:
    """Serve in the foreground until Ctrl-C or SIGTERM; ``announce`` gets the listening line."""
    with SandboxStore(db, seed=True) as store:
        if bulk_tickets and store.created:
            store.add_bulk_tickets(bulk_tickets)
        app = SandboxApp(
            store,
            token=token,
            api_version=api_version,
            faults=faults,
            webhook_options=webhook_options,
        )
        app.tokens.add_bulk(tokens)
        sock = _listening_socket(host, port)
        with contextlib.closing(sock):
            bound_port = int(sock.getsockname()[1])
            announce(f"PMP sandbox listening on {site_url(host, bound_port)}  (API token: {token})")
            if tokens:
                announce(
                    f"It also accepts {tokens} workspace tokens: POST /_sandbox/tokens "
                    f'{{"count": {tokens}}} lists them.'
                )
            _server(app).run(sockets=[sock])
