"""Run the whole bot (services, Bolt app, web server) inside the current event loop.

Used by the console, the end-to-end tests and the benchmarks, so they all exercise the same
HTTP front door that `pmp-bot serve` runs.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

import uvicorn
from slack_bolt.async_app import AsyncApp

import handlers
from bot.config import Settings
from bot.pmp_pool import TransportFactory
from bot.run.serve import server_config
from bot.services import BotServices
from bot.slack.app import create_app
from bot.slack.web import EVENTS_PATH, create_web_app


@dataclass(frozen=True)
class RunningBot:
    url: str  # e.g. http://127.0.0.1:40123
    app: AsyncApp
    services: BotServices

    @property
    def events_url(self) -> str:
        return self.url + EVENTS_PATH


@asynccontextmanager
async def running_bot(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    process_before_response: bool = False,
    pmp_transport_factory: TransportFactory | None = None,
) -> AsyncIterator[RunningBot]:
    services = await BotServices.start(settings, pmp_transport_factory=pmp_transport_factory)
    try:
        app = create_app(
            settings,
            services,
            register_listeners=handlers.register,
            process_before_response=process_before_response,
        )
        web = create_web_app(app, services)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        bound_port = listener.getsockname()[1]
        # The same server and limits as `pmp-bot serve`.
        server = uvicorn.Server(server_config(web, timeout_graceful_shutdown=5))
        serving = asyncio.create_task(server.serve(sockets=[listener]))
        try:
            while not server.started:
                if serving.done():
                    serving.result()  # surfaces the start-up error
                await asyncio.sleep(0.005)
            yield RunningBot(url=f"http://{host}:{bound_port}", app=app, services=services)
        finally:
            server.should_exit = True
            with suppress(asyncio.CancelledError):
                await serving
            listener.close()
    finally:
        await services.aclose()
