"""Running the work that follows an ack, so that every failure reaches the user as a short
message and never as silence (Bolt only logs exceptions raised after the ack)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Sequence
from ssl import SSLContext
from typing import Any

import aiohttp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.context.respond.internals import _build_message
from slack_sdk.models.attachments import Attachment
from slack_sdk.models.blocks import Block
from slack_sdk.web.internal_utils import get_user_agent
from slack_sdk.webhook import WebhookResponse

from bot.blocks.connect import build_not_connected, not_connected_headline
from bot.pmp import PmpError
from bot.slack.retries import MAX_RETRY_AFTER_S, SERVER_ERRORS, retry_after_seconds
from bot.slack.workspace_pmp import NotConnectedError
from bot.text import escape_mrkdwn

logger = logging.getLogger(__name__)

SOMETHING_WENT_WRONG = (
    "Something went wrong on pmp-bot's side, sorry. Try again; if it keeps happening, "
    "tell whoever runs pmp-bot."
)

SLACK_DID_NOT_SHOW = (
    "Slack had a problem showing my answer just now, so it may be missing. "
    "Try the same thing again in a moment."
)
RESPONSE_URL_ATTEMPTS = 3

# What slack-sdk's webhook client sends with each post.
_POST_HEADERS = {"Content-Type": "application/json;charset=utf-8", "User-Agent": get_user_agent()}
# The connection failures slack-sdk's webhook client tries once more.
_LOST_CONNECTION = (
    aiohttp.ServerConnectionError,
    aiohttp.ServerDisconnectedError,
    aiohttp.ClientOSError,
)


class RetryingRespond(AsyncRespond):
    """Bolt's `respond`, sending a post to the response_url again when that is safe.

    A 429 is retried after its Retry-After. A 5xx is retried only for a post that replaces or
    deletes the original message (doing that twice changes nothing); a new message answered
    5xx may already be on screen, so instead of a copy the user gets a short note. Like Bolt's
    own respond, it returns Slack's answer and never raises for an HTTP status.

    With a `session`, every post goes through that one pooled aiohttp session: Bolt's respond
    opens and closes a session, and so a new connection, for each post. The post is sent as
    slack-sdk's webhook client sends it (the same JSON and headers, a lost connection tried
    once more after half a second), without the client's per-post set-up.
    """

    def __init__(
        self,
        *,
        response_url: str | None,
        proxy: str | None = None,
        ssl: SSLContext | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        super().__init__(response_url=response_url, proxy=proxy, ssl=ssl)
        self._session = session

    async def _post(self, **message: Any) -> WebhookResponse:
        if self._session is None or self.response_url is None:
            return await super().__call__(**message)
        text = message.get("text")
        body = _build_message(**text) if isinstance(text, dict) else _build_message(**message)
        data = json.dumps(body)
        options: dict[str, Any] = {"headers": _POST_HEADERS, "proxy": self.proxy}
        if self.ssl is not None:
            options["ssl"] = self.ssl
        for attempt in (1, 2):
            try:
                async with self._session.post(self.response_url, data=data, **options) as answer:
                    return WebhookResponse(
                        url=self.response_url,
                        status_code=answer.status,
                        body=await answer.text(),
                        headers=dict(answer.headers),
                    )
            except _LOST_CONNECTION:
                if attempt == 2:
                    raise
                await asyncio.sleep(0.5)
        raise AssertionError("the loop returns or raises")  # pragma: no cover

    async def __call__(
        self,
        text: str | dict[str, Any] = "",
        blocks: Sequence[dict[str, Any] | Block] | None = None,
        attachments: Sequence[dict[str, Any] | Attachment] | None = None,
        response_type: str | None = None,
        replace_original: bool | None = None,
        delete_original: bool | None = None,
        unfurl_links: bool | None = None,
        unfurl_media: bool | None = None,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> WebhookResponse:
        message: dict[str, Any] = {
            "text": text,
            "blocks": blocks,
            "attachments": attachments,
            "response_type": response_type,
            "replace_original": replace_original,
            "delete_original": delete_original,
            "unfurl_links": unfurl_links,
            "unfurl_media": unfurl_media,
            "thread_ts": thread_ts,
            "metadata": metadata,
        }
        whole = text if isinstance(text, dict) else message
        idempotent = bool(whole.get("replace_original") or whole.get("delete_original"))
        attempt = 1
        while True:
            response = await self._post(**message)
            status = response.status_code
            if status == 200 or attempt >= RESPONSE_URL_ATTEMPTS:
                break
            if status == 429:
                wait = retry_after_seconds(response.headers)
                if wait > MAX_RETRY_AFTER_S:
                    break
            elif status in SERVER_ERRORS and idempotent:
                wait = 0.5 * 2 ** (attempt - 1)
            else:
                break
            logger.info("response_url answered %d; posting again in %.1f s", status, wait)
            await asyncio.sleep(wait)
            attempt += 1
        if status != 200:
            logger.warning("response_url answered %d: %s", status, response.body[:200])
            if status in SERVER_ERRORS and not idempotent:
                await self._post(text=SLACK_DID_NOT_SHOW, replace_original=False)
        return response


async def respond_quietly(respond: AsyncRespond, **message: Any) -> None:
    """Responds, logging (not raising) when Slack refuses: an expired response_url must
    not turn into a second failure."""
    try:
        await respond(**message)
    except Exception:
        logger.warning("Could not answer through the response_url", exc_info=True)


async def reporting_failures(respond: AsyncRespond, work: Awaitable[None]) -> None:
    try:
        await work
    except NotConnectedError as error:
        await respond_quietly(
            respond,
            blocks=build_not_connected(reconnect=error.reconnect),
            text=not_connected_headline(reconnect=error.reconnect),
            replace_original=False,
        )
    except PmpError as error:
        # The message may quote PMP: escaped, so its text can't become a link or a ping.
        await respond_quietly(
            respond, text=escape_mrkdwn(error.user_message), replace_original=False
        )
    except Exception:
        logger.exception("A request failed after it was acknowledged")
        await respond_quietly(respond, text=SOMETHING_WENT_WRONG, replace_original=False)
