"""Per-channel queue for channel notices.

Slack accepts about one message per second per channel, and a burst of lookups must neither
slow down the commands that caused it nor flood the channel. So `enqueue` only appends; one
worker task per (team, channel) posts everything that has piled up as a single message,
pauses, and repeats until the channel is quiet, then exits. Nothing a reply waits for ever
waits out that pause: `wait_posted` returns while workers only rest.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError

logger = logging.getLogger(__name__)

PostMessage = Callable[[str, str, str], Awaitable[None]]
"""`post(team_id, channel_id, text)`: sends one mrkdwn message; raises on failure."""
ReportFailure = Callable[[str, str, str], Awaitable[None]]
"""`on_failure(team_id, channel_id, error_code)`: a batch could not be delivered."""
Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]

# Slack cuts a message's `text` at 40,000 characters.
MAX_MESSAGE_CHARS = 40_000
# A section block holds 3000 characters; keeping every line within it lets a caller that
# renders blocks put any line in one section.
MAX_LINE_CHARS = 3_000
MAX_SECTION_CHARS = 3_000
DEFAULT_RETRY_AFTER = 1.0
# A broken or hostile Retry-After must not park a channel for hours.
MAX_RETRY_AFTER = 120.0
MAX_BACKOFF = 30.0
ELLIPSIS = "…"

ChannelKey = tuple[str, str]


class NotificationQueue:
    """Batches notice lines per channel and posts them at Slack's pace.

    Lines are never dropped while they can still be delivered: a 429 is retried after its
    Retry-After, and server or network errors with backoff, up to `max_retries` times. An
    error that retrying cannot fix (`not_in_channel`, `channel_not_found`, ...) drops that
    batch and calls `on_failure` once for it, so the caller can tell an admin what to fix.
    """

    def __init__(
        self,
        post: PostMessage,
        *,
        on_failure: ReportFailure | None = None,
        min_interval: float = 1.0,
        max_retries: int = 5,
        max_message_chars: int = MAX_MESSAGE_CHARS,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if min_interval < 0:
            raise ValueError("min_interval must not be negative")
        if max_retries < 0:
            raise ValueError("max_retries must not be negative")
        if max_message_chars < 2:
            raise ValueError("max_message_chars is too small to hold a line")
        self._post = post
        self._on_failure = on_failure
        self._min_interval = min_interval
        self._max_retries = max_retries
        self._max_message_chars = max_message_chars
        self._max_line_chars = min(MAX_LINE_CHARS, max_message_chars)
        self._clock = clock
        self._sleep = sleep
        self._pending: dict[ChannelKey, deque[str]] = {}
        self._workers: dict[ChannelKey, asyncio.Task[None]] = {}
        # Workers waiting out the pace or a Retry-After, rather than posting.
        self._resting: set[ChannelKey] = set()
        self._quiet = asyncio.Event()
        self._quiet.set()
        self._closed = False

    @property
    def active_channels(self) -> int:
        """How many channels have a worker right now (0 once the queue is idle)."""
        return len(self._workers)

    @property
    def pending_lines(self) -> int:
        """Lines waiting to be posted, over all channels."""
        return sum(len(lines) for lines in self._pending.values())

    @property
    def posting(self) -> bool:
        """True while a notice is being posted, or queued for a channel that may post now."""
        return any(key not in self._resting for key in self._workers)

    async def wait_posted(self) -> None:
        """Waits until no notice is being posted or about to be. Lines waiting out Slack's
        pace or a Retry-After are not waited for: they follow later, by themselves."""
        while self.posting:
            await self._quiet.wait()

    def _note_state(self) -> None:
        if self.posting:
            self._quiet.clear()
        else:
            self._quiet.set()

    async def _rest(self, key: ChannelKey, seconds: float) -> None:
        self._resting.add(key)
        self._note_state()
        try:
            await self._sleep(seconds)
        finally:
            self._resting.discard(key)
            self._note_state()

    def enqueue(self, team_id: str, channel_id: str, line: str) -> None:
        """Queues one notice line for a channel and returns at once. Call it from the event
        loop (any async handler); it never waits, so it is safe before or after an ack."""
        if self._closed:
            logger.warning("notice for %s/%s arrived after shutdown began", team_id, channel_id)
            return
        if not line.strip():
            return
        key = (team_id, channel_id)
        self._pending.setdefault(key, deque()).append(fit_line(line, self._max_line_chars))
        if key not in self._workers:
            self._workers[key] = asyncio.get_running_loop().create_task(
                self._run(key), name=f"pmp-bot notices {team_id}/{channel_id}"
            )
            self._note_state()

    async def drain(self) -> None:
        """Waits until every queued line has been posted (or reported as undeliverable) and
        every worker has exited."""
        while self._workers:
            # asyncio.wait, not gather: cancelling drain() must not cancel the workers.
            await asyncio.wait(list(self._workers.values()))

    async def aclose(self, *, timeout: float | None = 10.0) -> None:
        """Stops accepting lines and delivers what is queued; after `timeout` seconds, gives
        up on the rest (logged) so that shutdown cannot hang on a rate-limited channel."""
        self._closed = True
        try:
            await asyncio.wait_for(self.drain(), timeout)
        except TimeoutError:
            workers = list(self._workers.values())
            logger.warning(
                "shutting down with %d notice line(s) unsent in %d channel(s)",
                self.pending_lines,
                len(workers),
            )
            for worker in workers:
                worker.cancel()
            if workers:
                await asyncio.wait(workers)

    async def _run(self, key: ChannelKey) -> None:
        pending = self._pending[key]
        try:
            while pending:
                started = self._clock()
                await self._deliver(key, self._take_batch(pending))
                # Staying alive through the pause keeps the pace for lines that arrive in it.
                pause = self._min_interval - (self._clock() - started)
                if pause > 0:
                    await self._rest(key, pause)
        except Exception:
            # _deliver handles every failure of posting; reaching this is a bug. Log it here,
            # since nobody awaits this task's result.
            logger.exception("notice worker for %s/%s stopped", *key)
        finally:
            # No await between the last `while pending` check and here: a line enqueued after
            # this point finds no worker and starts a new one.
            del self._workers[key]
            del self._pending[key]
            self._note_state()

    def _take_batch(self, pending: deque[str]) -> str:
        lines = [pending.popleft()]
        size = len(lines[0])
        while pending and size + 1 + len(pending[0]) <= self._max_message_chars:
            size += 1 + len(pending[0])
            lines.append(pending.popleft())
        return "\n".join(lines)

    async def _deliver(self, key: ChannelKey, text: str) -> None:
        team_id, channel_id = key
        retries = 0
        while True:
            try:
                await self._post(team_id, channel_id, text)
                return
            except SlackApiError as exc:
                status = _status_code(exc)
                code = _error_code(exc)
                if status == 429:
                    delay = _retry_after(exc)
                elif status is not None and status >= 500:
                    delay = _backoff(retries)
                else:
                    await self._report(key, code)
                    return
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                code = "connection_error"
                delay = _backoff(retries)
                logger.info("posting a notice to %s/%s failed: %r", team_id, channel_id, exc)
            except Exception:
                logger.exception("posting a notice to %s/%s failed", team_id, channel_id)
                await self._report(key, "unexpected_error")
                return
            if retries >= self._max_retries:
                await self._report(key, code)
                return
            retries += 1
            logger.info(
                "notice to %s/%s: %s, retry %d in %.1fs", team_id, channel_id, code, retries, delay
            )
            await self._rest(key, delay)

    async def _report(self, key: ChannelKey, error_code: str) -> None:
        team_id, channel_id = key
        logger.warning("dropped notices for %s/%s: %s", team_id, channel_id, error_code)
        if self._on_failure is None:
            return
        try:
            await self._on_failure(team_id, channel_id, error_code)
        except Exception:
            logger.exception("reporting undeliverable notices for %s/%s failed", *key)


def fit_line(line: str, limit: int = MAX_LINE_CHARS) -> str:
    """`line` cut to `limit` characters with an ellipsis, never inside an `&amp;` escape or
    a `<…>` link or mention, which would otherwise show up broken."""
    if len(line) <= limit:
        return line
    cut = line[: max(limit - len(ELLIPSIS), 0)]
    open_bracket = cut.rfind("<")
    if open_bracket != -1 and ">" not in cut[open_bracket:]:
        cut = cut[:open_bracket]
    ampersand = cut.rfind("&")
    if ampersand != -1 and ";" not in cut[ampersand:]:
        cut = cut[:ampersand]
    return cut + ELLIPSIS


def split_sections(text: str, limit: int = MAX_SECTION_CHARS) -> list[str]:
    """Splits a message into texts of at most `limit` characters at line breaks, for a
    caller that posts section blocks. A message of at most 40,000 characters whose lines fit
    a section gives at most 27 sections, within Slack's 50 blocks."""
    sections: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.split("\n"):
        piece = fit_line(line, limit)
        if current and size + 1 + len(piece) > limit:
            sections.append("\n".join(current))
            current, size = [], 0
        size += len(piece) + (1 if current else 0)
        current.append(piece)
    if current:
        sections.append("\n".join(current))
    return sections


def _backoff(retries: int) -> float:
    return float(min(2**retries, MAX_BACKOFF))


def _status_code(exc: SlackApiError) -> int | None:
    status = getattr(exc.response, "status_code", None)
    return status if isinstance(status, int) else None


def _error_code(exc: SlackApiError) -> str:
    response: Any = exc.response
    error = response.get("error") if hasattr(response, "get") else None
    return error if isinstance(error, str) and error else "unknown_error"


def _retry_after(exc: SlackApiError) -> float:
    headers = getattr(exc.response, "headers", None)
    if not isinstance(headers, Mapping):
        return DEFAULT_RETRY_AFTER
    for name, value in headers.items():
        if str(name).lower() == "retry-after":
            try:
                seconds = float(value)
            except (TypeError, ValueError):
                return DEFAULT_RETRY_AFTER
            # NaN fails both comparisons, so it gets the default too.
            return min(seconds, MAX_RETRY_AFTER) if seconds >= 0 else DEFAULT_RETRY_AFTER
    return DEFAULT_RETRY_AFTER
