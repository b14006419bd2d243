"""Load generator: signed Slack requests over HTTP, open and closed loop, delivery tracking.

Plays Slack towards a server at `events_url`: builds slash commands, options loads and view
submissions as Slack sends them, signs them, and times the HTTP answer (the ack). Results a
server posts to a response_url are timed where they arrive, at the Slack stand-in
(benchmarks/servers.py standin), which every process on the machine reads with the same
monotonic clock.

One pooled aiohttp session sends everything; bodies are built and signed before the timed
part starts, so the generator spends its time sending and reading answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp

FORM = "application/x-www-form-urlencoded"


@dataclass
class Sample:
    """One request: when it was due, sent and answered, and when its result arrived."""

    key: str = ""  # the response URL's key, "" when the request has none
    due: float = 0.0
    sent: float = 0.0
    acked: float = 0.0
    status: int = 0
    body: str = ""
    error: str = ""
    delivered: float | None = None
    delivery_status: int = 0

    @property
    def ack_ms(self) -> float:
        return (self.acked - self.sent) * 1000

    @property
    def late_ms(self) -> float:
        return (self.sent - self.due) * 1000


@dataclass(frozen=True)
class Prepared:
    body: bytes
    headers: dict[str, str]
    key: str = ""


def percentile(values: Sequence[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


class SlackLoad:
    """Sends signed Slack payloads to one server and follows their response_url posts."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        signing_secret: str,
        standin_url: str,
        team: str,
        user: str,
        channel: str,
    ) -> None:
        self.session = session
        self._secret = signing_secret.encode()
        self.standin_url = standin_url.rstrip("/")
        self.team, self.user, self.channel = team, user, channel
        self._deliveries: dict[str, tuple[float, int]] = {}
        self._waiters: dict[str, asyncio.Future[None]] = {}
        self._next_delivery = 0
        self._watcher: asyncio.Task[None] | None = None
        self._serial = 0

    # ---------------------------------------------------------------- building requests

    def _signed(self, body: str, content_type: str) -> dict[str, str]:
        timestamp = str(int(time.time()))
        base = f"v0:{timestamp}:{body}".encode()
        signature = "v0=" + hmac.new(self._secret, base, hashlib.sha256).hexdigest()
        return {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature,
        }

    async def mint_response_urls(self, count: int) -> list[str]:
        async with self.session.post(
            f"{self.standin_url}/_bench/mint", json={"count": count}
        ) as answer:
            answer.raise_for_status()
            urls: list[str] = (await answer.json())["urls"]
        return urls

    async def commands(self, texts: Sequence[str], command: str = "/pmp") -> list[Prepared]:
        urls = await self.mint_response_urls(len(texts))
        prepared = []
        for text, url in zip(texts, urls, strict=True):
            self._serial += 1
            body = urlencode(
                {
                    "token": "legacy-verification-token",
                    "team_id": self.team,
                    "team_domain": self.team.lower(),
                    "channel_id": self.channel,
                    "channel_name": "general",
                    "user_id": self.user,
                    "user_name": self.user.lower(),
                    "command": command,
                    "text": text,
                    "api_app_id": "A0PMPBOT01",
                    "is_enterprise_install": "false",
                    "response_url": url,
                    "trigger_id": f"{int(time.time())}.{self._serial}.bench",
                }
            )
            prepared.append(
                Prepared(body.encode(), self._signed(body, FORM), key=url.rsplit("/", 1)[-1])
            )
        return prepared

    def interaction(self, payload: dict[str, Any]) -> Prepared:
        body = urlencode({"payload": json.dumps(payload)})
        return Prepared(body.encode(), self._signed(body, FORM))

    def block_suggestion(
        self, *, action_id: str, block_id: str, value: str, view: dict[str, Any]
    ) -> Prepared:
        return self.interaction(
            {
                "type": "block_suggestion",
                "user": {"id": self.user, "team_id": self.team, "username": self.user.lower()},
                "team": {"id": self.team, "domain": self.team.lower()},
                "api_app_id": "A0PMPBOT01",
                "action_id": action_id,
                "block_id": block_id,
                "value": value,
                "container": {"type": "view", "view_id": view.get("id", "V0BENCH")},
                "view": view,
            }
        )

    def view_submission(self, view: dict[str, Any], values: dict[str, Any]) -> Prepared:
        self._serial += 1
        submitted = {**view, "id": view.get("id", "V0BENCH"), "state": {"values": values}}
        return self.interaction(
            {
                "type": "view_submission",
                "team": {"id": self.team, "domain": self.team.lower()},
                "user": {"id": self.user, "team_id": self.team, "username": self.user.lower()},
                "api_app_id": "A0PMPBOT01",
                "trigger_id": f"{int(time.time())}.{self._serial}.bench",
                "view": submitted,
                "response_urls": [],
            }
        )

    # ---------------------------------------------------------------- sending

    async def send(self, url: str, request: Prepared, sample: Sample) -> Sample:
        sample.key = request.key
        sample.sent = time.monotonic()
        try:
            async with self.session.post(url, data=request.body, headers=request.headers) as r:
                sample.body = await r.text()
                sample.status = r.status
        except (aiohttp.ClientError, TimeoutError) as error:
            sample.error = type(error).__name__
        sample.acked = time.monotonic()
        if sample.status != 200 and not sample.error:
            sample.error = f"HTTP {sample.status}"
        return sample

    async def open_loop(self, url: str, requests: Sequence[Prepared], rate: float) -> list[Sample]:
        """Sends request i at start + i / rate whatever the answers (the generator notes how
        late each one left)."""
        samples = [Sample() for _ in requests]
        tasks = []
        start = time.monotonic() + 0.05
        for index, request in enumerate(requests):
            due = start + index / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            samples[index].due = due
            tasks.append(asyncio.create_task(self.send(url, request, samples[index])))
        await asyncio.gather(*tasks)
        return samples

    async def at_once(self, url: str, requests: Sequence[Prepared]) -> list[Sample]:
        now = time.monotonic()
        samples = [Sample(due=now) for _ in requests]
        await asyncio.gather(
            *(self.send(url, r, s) for r, s in zip(requests, samples, strict=True))
        )
        return samples

    async def closed_loop(
        self,
        url: str,
        next_request: Callable[[], Prepared],
        *,
        workers: int,
        duration: float,
        wait_for_delivery: bool,
        delivery_timeout: float = 10.0,
    ) -> list[Sample]:
        """`workers` senders, each sending again once answered (the result delivered, when
        `wait_for_delivery`), for `duration` seconds; count what finished within them."""
        samples: list[Sample] = []
        stop = time.monotonic() + duration

        async def worker() -> None:
            while time.monotonic() < stop:
                request = next_request()
                sample = Sample(due=time.monotonic())
                samples.append(sample)
                await self.send(url, request, sample)
                if wait_for_delivery and not sample.error and request.key:
                    await self.wait_delivered(request.key, delivery_timeout)

        await asyncio.gather(*(worker() for _ in range(workers)))
        return samples

    # ---------------------------------------------------------------- deliveries

    async def start_watching(self) -> None:
        async with self.session.get(f"{self.standin_url}/_bench/deliveries") as answer:
            self._next_delivery = (await answer.json())["next"]
        self._watcher = asyncio.create_task(self._watch())

    async def stop_watching(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher

    async def _watch(self) -> None:
        while True:
            query = f"after={self._next_delivery}&wait=1"
            async with self.session.get(f"{self.standin_url}/_bench/deliveries?{query}") as r:
                answer = await r.json()
            self._next_delivery = answer["next"]
            for key, at, status in answer["deliveries"]:
                self._deliveries.setdefault(key, (at, status))
                waiter = self._waiters.pop(key, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)

    async def wait_delivered(self, key: str, timeout: float) -> bool:
        if key in self._deliveries:
            return True
        waiter = self._waiters.setdefault(key, asyncio.get_running_loop().create_future())
        try:
            await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except TimeoutError:
            return False
        return True

    async def collect_deliveries(self, samples: Sequence[Sample], timeout: float) -> None:
        """Waits (up to `timeout` in all) for every sample's result and notes its arrival."""
        deadline = time.monotonic() + timeout
        for sample in samples:
            if sample.key and not sample.error:
                await self.wait_delivered(sample.key, max(0.0, deadline - time.monotonic()))
        for sample in samples:
            found = self._deliveries.get(sample.key) if sample.key else None
            if found is not None:
                sample.delivered, sample.delivery_status = found


@dataclass
class Summary:
    """Figures of one run against one server."""

    name: str
    sent: int
    errors: int
    ack_ms: list[float] = field(default_factory=list)
    late_ms: list[float] = field(default_factory=list)
    delivered: int = 0
    overhead_ms: list[float] = field(default_factory=list)
    throughput: float = 0.0
    notes: list[str] = field(default_factory=list)

    def p(self, values: list[float], fraction: float) -> float:
        return percentile(values, fraction)


def summarize(
    name: str,
    samples: Sequence[Sample],
    *,
    pmp_latency: float,
    expect_delivery: bool,
    window: tuple[float, float] | None = None,
) -> Summary:
    """`window`: (start, stop) of a closed-loop run; throughput counts what finished in it."""
    errors = [s for s in samples if s.error]
    delivered = [s for s in samples if s.delivered is not None and s.delivery_status == 200]
    failed_deliveries = [s for s in samples if s.delivered is not None and s.delivery_status != 200]
    summary = Summary(
        name=name,
        sent=len(samples),
        errors=len(errors) + (len(failed_deliveries) if expect_delivery else 0),
        ack_ms=[s.ack_ms for s in samples if not s.error],
        late_ms=[s.late_ms for s in samples],
        delivered=len(delivered),
        overhead_ms=[((s.delivered or 0) - s.sent - pmp_latency) * 1000 for s in delivered],
    )
    if expect_delivery:
        missing = len(samples) - len(errors) - len(delivered) - len(failed_deliveries)
        if missing:
            summary.notes.append(f"{missing} result(s) never delivered")
            summary.errors += missing
        if failed_deliveries:
            statuses = sorted({s.delivery_status for s in failed_deliveries})
            summary.notes.append(f"response_url answered {statuses}")
    if errors:
        summary.notes.append("ack errors: " + ", ".join(sorted({s.error for s in errors})))
    if window is not None:
        start, stop = window
        if expect_delivery:
            done = sum(1 for s in delivered if s.delivered is not None and s.delivered <= stop)
        else:
            done = sum(1 for s in samples if not s.error and s.acked <= stop)
        summary.throughput = done / (stop - start)
    return summary
