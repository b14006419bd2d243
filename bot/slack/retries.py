"""When a Slack Web API call is sent again: after a 429 always (Slack did nothing with it),
after a 5xx only for methods that do the same thing however often they run.

A `chat.postMessage` answered 500 may still have posted its message, so it is never repeated;
the caller tells the user instead. `views.update` with the same view, `users.info` and the
like are safe to repeat.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping, Sequence

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

logger = logging.getLogger(__name__)

# Methods whose repetition changes nothing: reads, and writes that set a state outright.
IDEMPOTENT_METHODS = frozenset(
    {
        "api.test",
        "auth.test",
        "chat.getPermalink",
        "chat.update",
        "conversations.info",
        "team.info",
        "users.info",
        "views.publish",
        "views.update",
    }
)
SERVER_ERRORS = frozenset({500, 502, 503, 504})
DEFAULT_RETRY_AFTER_S = 1.0
# A longer Retry-After is not waited for: the user is waiting on the answer, and the caller
# says what went wrong instead.
MAX_RETRY_AFTER_S = 10.0


def method_of(url: str) -> str:
    """`views.update` from `https://slack.com/api/views.update`."""
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def retry_after_seconds(headers: Mapping[str, str | Sequence[str]]) -> float:
    """Slack's Retry-After (seconds) from response headers; a default when absent or odd."""
    for name, value in headers.items():
        if name.lower() != "retry-after":
            continue
        text = value if isinstance(value, str) else (value[0] if value else "")
        try:
            seconds = float(text)
        except ValueError:
            return DEFAULT_RETRY_AFTER_S
        # NaN fails the comparison and gets the default too.
        return seconds if seconds >= 0 else DEFAULT_RETRY_AFTER_S
    return DEFAULT_RETRY_AFTER_S


class RateLimitRetry(AsyncRetryHandler):
    """Sends a rate-limited call again once Retry-After has passed (plus a little jitter, so
    several waiting calls don't come back at the same instant)."""

    def __init__(self, max_retry_count: int = 2) -> None:
        super().__init__(max_retry_count=max_retry_count)

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = retry_after_seconds(response.headers)
        if wait > MAX_RETRY_AFTER_S:
            logger.warning(
                "Slack %s: rate limited for %.0f s, not waiting", method_of(request.url), wait
            )
            return False
        return True

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        assert response is not None, "only answered calls are retried here"
        wait = retry_after_seconds(response.headers) + random.uniform(0, 0.25)
        logger.info("Slack %s: rate limited, retrying in %.1f s", method_of(request.url), wait)
        state.next_attempt_requested = True
        await asyncio.sleep(wait)
        state.increment_current_attempt()


class IdempotentServerErrorRetry(AsyncRetryHandler):
    """Sends a call answered with a 5xx again, for idempotent methods only."""

    def __init__(self, max_retry_count: int = 2) -> None:
        super().__init__(max_retry_count=max_retry_count)

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return (
            response is not None
            and response.status_code in SERVER_ERRORS
            and method_of(request.url) in IDEMPOTENT_METHODS
        )


def slack_retry_handlers() -> list[AsyncRetryHandler]:
    """The retry policy of the bot's Web API client (Bolt copies it into every request's
    client). Connection errors keep slack-sdk's default of one retry."""
    return [AsyncConnectionErrorRetryHandler(), RateLimitRetry(), IdempotentServerErrorRetry()]
