"""The whole bot on an event loop of its own thread, so that synchronous property tests
(hypothesis) can send it many requests without starting it once per example."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

from bot.config import Settings
from bot.run.embedded import RunningBot, running_bot


@dataclass
class ThreadedBot:
    bot: RunningBot
    loop: asyncio.AbstractEventLoop
    http: httpx.Client
    signing_secret: str

    def run(self, coroutine: Any, timeout: float = 15.0) -> Any:
        """Runs a coroutine on the bot's loop and returns its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def post(
        self,
        body: str,
        *,
        content_type: str = "application/x-www-form-urlencoded",
        timestamp: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        signature = SignatureVerifier(self.signing_secret).generate_signature(
            timestamp=ts, body=body
        )
        sent = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature,
            **(headers or {}),
        }
        return self.http.post(self.bot.events_url, content=body, headers=sent)

    def interaction(self, payload: dict[str, Any]) -> httpx.Response:
        return self.post(urlencode({"payload": json.dumps(payload)}))

    def wait_idle(self, timeout: float = 15.0) -> None:
        """Waits until every listener finished its work after the ack."""
        deadline = time.monotonic() + timeout
        while self.bot.services.listeners.running and time.monotonic() < deadline:
            time.sleep(0.02)
        assert self.bot.services.listeners.running == 0, "listeners still busy"


@contextmanager
def bot_in_thread(settings: Settings, signing_secret: str) -> Iterator[ThreadedBot]:
    loop = asyncio.new_event_loop()
    started: asyncio.Future[RunningBot] = loop.create_future()
    stop = asyncio.Event()

    async def serve() -> None:
        try:
            async with running_bot(settings) as bot:
                started.set_result(bot)
                await stop.wait()
        except BaseException as error:
            if not started.done():
                started.set_exception(error)
            raise

    thread = threading.Thread(target=loop.run_forever, name="reliability-bot", daemon=True)
    thread.start()
    serving = asyncio.run_coroutine_threadsafe(serve(), loop)
    try:
        bot = asyncio.run_coroutine_threadsafe(_wait(started), loop).result(30)
        with httpx.Client(timeout=15) as http:
            yield ThreadedBot(bot=bot, loop=loop, http=http, signing_secret=signing_secret)
    finally:
        loop.call_soon_threadsafe(stop.set)
        serving.result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


async def _wait(started: asyncio.Future[RunningBot]) -> RunningBot:
    return await started
