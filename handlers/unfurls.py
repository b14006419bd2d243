"""Link previews: a `link_shared` event for links to the workspace's PMP becomes one
`chat.unfurl` with each record's compact card."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.unfurls import PagePreview, build_unfurls
from bot.pmp.links import PageLink
from bot.pmp_pool import WorkspaceKey
from bot.services import BotServices
from bot.slack.workspace_pmp import ConnectedPmp, NotConnectedError, connected_pmp
from bot.storage import Workspace
from bot.unfurls import Conversation, fetch_previews, links_to_preview, shared_urls

logger = logging.getLogger(__name__)


async def read_page(services: BotServices, pmp: ConnectedPmp, page: PageLink) -> PagePreview:
    """A link's record through the lookups, like every card. A milestones tab needs its
    project (which must exist: its read raises otherwise) and the project's milestones."""
    lookups = services.lookups
    if page.kind == "milestone":
        project, milestones = await asyncio.gather(
            lookups.details(pmp.client, "project", page.id),
            lookups.project_milestones(pmp.client, pmp.cache_scope, page.id),
        )
        return PagePreview(project, milestones)
    return PagePreview(await lookups.details(pmp.client, page.kind, page.id))


def _target(event: dict[str, Any], conversation: Conversation) -> dict[str, Any]:
    """Which message chat.unfurl adds the previews to: a link in the composer by its
    unfurl_id, a sent one by its channel and ts."""
    unfurl_id = event.get("unfurl_id")
    if conversation.source == "composer" and isinstance(unfurl_id, str) and unfurl_id:
        return {"unfurl_id": unfurl_id, "source": "composer"}
    return {"channel": conversation.channel, "ts": str(event.get("message_ts") or "")}


async def handle_link_shared(
    ack: AsyncAck,
    body: dict[str, Any],
    event: dict[str, Any],
    client: AsyncWebClient,
    services: BotServices,
    workspace: Workspace | None,
    workspace_key: WorkspaceKey,
) -> None:
    await ack()
    conversation = Conversation.from_event(event, body)
    found = links_to_preview(workspace, conversation, shared_urls(event))
    if not found:
        return  # another site's links, previews off here, or no PMP connected
    try:
        pmp = await connected_pmp(services, workspace, workspace_key)
        previews = await fetch_previews(found, lambda page: read_page(services, pmp, page))
        if not previews:
            return  # records this PMP doesn't have
        unfurls = build_unfurls(previews, base_url=pmp.base_url, names=pmp.names)
        await client.chat_unfurl(**_target(event, conversation), unfurls=unfurls)
    except NotConnectedError:
        return  # a workspace whose PMP token must be entered again: no preview
    except SlackApiError as error:
        logger.warning("Slack refused the link previews: %s", error.response.get("error"))
    except Exception:
        # Nobody waits for an answer to be told; an error escaping after the ack would only
        # be logged by Bolt, and could cost the ack.
        logger.exception("Link previews failed")


def register(app: AsyncApp) -> None:
    app.event("link_shared")(handle_link_shared)
