"""Fixtures for the notice queue: virtual time and a scripted fake of chat.postMessage."""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.notify import NotificationQueue


async def settle() -> None:
    """Lets every task that is ready run until it waits on something."""
    for _ in range(20):
        await asyncio.sleep(0)


class VirtualTime:
    """A clock and a sleep that move only when the test says so, so pacing is exact."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = 0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        wake = asyncio.get_running_loop().create_future()
        heapq.heappush(self._timers, (self.now + seconds, self._order, wake))
        self._order += 1
        await wake

    async def advance(self, seconds: float) -> None:
        target = self.now + seconds
        await settle()
        while self._timers and self._timers[0][0] <= target:
            due, _, wake = heapq.heappop(self._timers)
            self.now = max(self.now, due)
            if not wake.done():
                wake.set_result(None)
            await settle()
        self.now = target
        await settle()

    async def run_until_idle(self, queue: NotificationQueue) -> None:
        await settle()
        while queue.active_channels:
            if not self._timers:
                raise AssertionError("the queue is busy but nothing is scheduled")
            await self.advance(self._timers[0][0] - self.now)


@dataclass
class Post:
    at: float
    team_id: str
    channel_id: str
    text: str

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n")


@dataclass
class FakeSlack:
    """chat.postMessage as the queue sees it. `errors[(team, channel)]` lists exceptions to
    raise on the next calls for that channel, in order; then calls succeed."""

    time: VirtualTime
    posts: list[Post] = field(default_factory=list)
    attempts: list[Post] = field(default_factory=list)
    failures: list[tuple[str, str, str]] = field(default_factory=list)
    errors: dict[tuple[str, str], list[BaseException]] = field(default_factory=dict)
    post_duration: float = 0.0

    async def post(self, team_id: str, channel_id: str, text: str) -> None:
        attempt = Post(self.time.now, team_id, channel_id, text)
        self.attempts.append(attempt)
        if self.post_duration:
            await self.time.sleep(self.post_duration)
        script = self.errors.get((team_id, channel_id))
        if script:
            raise script.pop(0)
        self.posts.append(attempt)

    async def on_failure(self, team_id: str, channel_id: str, error_code: str) -> None:
        self.failures.append((team_id, channel_id, error_code))

    def lines(self, channel_id: str = "C1") -> list[str]:
        return [line for p in self.posts if p.channel_id == channel_id for line in p.lines]


def slack_error(status: int, error: str, headers: dict[str, str] | None = None) -> SlackApiError:
    """A SlackApiError built the way slack_sdk's AsyncWebClient builds one."""
    data: dict[str, Any] = {"ok": False, "error": error}
    response = AsyncSlackResponse(
        client=None,
        http_verb="POST",
        api_url="https://slack.com/api/chat.postMessage",
        req_args={},
        data=data,
        headers=headers or {},
        status_code=status,
    )
    message = f"The request to the Slack API failed. ({error})"
    return SlackApiError(message, response=response)  # type: ignore[no-untyped-call]


@pytest.fixture
def vtime() -> VirtualTime:
    return VirtualTime()


@pytest.fixture
def slack(vtime: VirtualTime) -> FakeSlack:
    return FakeSlack(vtime)


@pytest.fixture
async def queue(vtime: VirtualTime, slack: FakeSlack) -> AsyncIterator[NotificationQueue]:
    notices = NotificationQueue(
        slack.post,
        on_failure=slack.on_failure,
        min_interval=1.0,
        max_retries=3,
        clock=vtime.clock,
        sleep=vtime.sleep,
    )
    yield notices
    await vtime.run_until_idle(notices)
    await notices.drain()
    assert notices.active_channels == 0
