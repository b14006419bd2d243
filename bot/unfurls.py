"""Link previews: which pasted links are pages of the workspace's own PMP, whether the
workspace shows previews in the conversation they were pasted in, and the records to show.

Records are read by the caller's `read` (the lookups, like every card), several links at once
and within one deadline: Slack wants its `chat.unfurl` within a few seconds, and a preview
that comes late is worth less than the others arriving in time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from bot.pmp import PmpError
from bot.pmp.links import PageLink, parse_record_url
from bot.storage import Workspace

logger = logging.getLogger(__name__)

T = TypeVar("T")

__all__ = [
    "COMPOSER_CHANNEL",
    "MAX_PREVIEWS",
    "PREVIEW_DEADLINE_S",
    "Conversation",
    "Fetched",
    "fetch_previews",
    "links_to_preview",
    "pmp_links",
    "previews_allowed",
    "shared_urls",
]

# At most this many links of one message get a preview (each costs PMP requests).
MAX_PREVIEWS = 5
# How long the records of one message may take, all together. Slack asks for chat.unfurl
# "within a few seconds"; a PMP slower than this leaves the late links without a preview.
PREVIEW_DEADLINE_S = 2.0
# The channel of a link_shared event for a link still being typed in the message composer.
COMPOSER_CHANNEL = "COMPOSER"

Source = Literal["conversations_history", "composer"]


@dataclass(frozen=True, slots=True)
class Conversation:
    """Where a link was shared, as a `link_shared` event tells it."""

    source: Source
    channel: str
    # pmp-bot is a member of the conversation (a channel it was invited to).
    bot_is_member: bool
    # A Slack Connect channel: people of another organisation are in it.
    slack_connect: bool

    @classmethod
    def from_event(cls, event: Mapping[str, Any], envelope: Mapping[str, Any]) -> Conversation:
        channel = str(event.get("channel") or "")
        composer = event.get("source") == "composer" or channel == COMPOSER_CHANNEL
        return cls(
            source="composer" if composer else "conversations_history",
            channel=channel,
            bot_is_member=event.get("is_bot_user_member") is True,
            slack_connect=envelope.get("is_ext_shared_channel") is True,
        )


def previews_allowed(workspace: Workspace, conversation: Conversation) -> bool:
    """Whether the workspace's admins allow previews where the link was shared.

    "internal": channels of this workspace that pmp-bot was added to, never a Slack Connect
    channel. "everywhere": any conversation (direct messages, channels without pmp-bot), a
    Slack Connect channel only when that is allowed too. A link still in the composer may be
    sent anywhere, so it is previewed only when every conversation would be; once sent,
    Slack shares it again from the conversation and it is judged there.
    """
    mode = workspace.unfurl_mode
    if mode == "off":
        return False
    connect_ok = workspace.unfurl_in_slack_connect
    if conversation.source == "composer":
        return mode == "everywhere" and connect_ok
    if conversation.slack_connect and not (mode == "everywhere" and connect_ok):
        return False
    if mode == "internal":
        return conversation.bot_is_member
    return True


def pmp_links(base_url: str | None, urls: Iterable[object]) -> list[tuple[str, PageLink]]:
    """The links (exactly as Slack sent them) that are record pages of the PMP at
    `base_url`, each once, the first MAX_PREVIEWS of them."""
    if not base_url:
        return []
    found: list[tuple[str, PageLink]] = []
    for url in urls:
        if not isinstance(url, str) or any(url == seen for seen, _ in found):
            continue
        page = parse_record_url(base_url, url)
        if page is not None:
            found.append((url, page))
        if len(found) == MAX_PREVIEWS:
            break
    return found


def shared_urls(event: Mapping[str, Any]) -> list[str]:
    """The links of a `link_shared` event, exactly as Slack sent them."""
    links = event.get("links")
    if not isinstance(links, list):
        return []
    urls = (link.get("url") for link in links if isinstance(link, Mapping))
    return [url for url in urls if isinstance(url, str) and url]


def links_to_preview(
    workspace: Workspace | None, conversation: Conversation, urls: Iterable[object]
) -> list[tuple[str, PageLink]]:
    """The shared links pmp-bot previews: record pages of the workspace's own PMP, where the
    workspace allows previews; none for a workspace that isn't connected."""
    if workspace is None or not workspace.is_connected:
        return []
    if not previews_allowed(workspace, conversation):
        return []
    return pmp_links(workspace.pmp_base_url, urls)


@dataclass(frozen=True, slots=True)
class Fetched(Generic[T]):
    """One link's record, as `read` gave it."""

    url: str
    page: PageLink
    record: T


async def fetch_previews(
    links: Sequence[tuple[str, PageLink]],
    read: Callable[[PageLink], Awaitable[T]],
    *,
    deadline_s: float = PREVIEW_DEADLINE_S,
) -> list[Fetched[T]]:
    """What `read` gives for each link, all read at the same time, in the links' order. A
    link whose record PMP doesn't have (a PmpError), or couldn't give within `deadline_s`,
    gets nothing."""
    if not links:
        return []
    tasks = [asyncio.ensure_future(read(page)) for _, page in links]
    done, pending = await asyncio.wait(tasks, timeout=deadline_s)
    for task in pending:
        task.cancel()
    if pending:
        logger.info("%d link preview(s) not ready within %.1f s", len(pending), deadline_s)
        await asyncio.gather(*pending, return_exceptions=True)
    fetched: list[Fetched[T]] = []
    for (url, page), task in zip(links, tasks, strict=True):
        if task not in done:
            continue
        error = task.exception()
        if error is None:
            fetched.append(Fetched(url, page, task.result()))
        elif isinstance(error, PmpError):
            logger.debug("No preview: PMP answered %s", type(error).__name__)
        else:
            raise error
    return fetched
