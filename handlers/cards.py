"""Buttons on record cards and result pages: share, show, page, and the linked lists."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.cards import (
    CardRef,
    MenuChoice,
    Message,
    build_details_card,
    card_url,
    menu_shared_by,
    parse_menu_value,
    ref_of,
    shared_by_of,
)
from bot.blocks.ids import CardAction
from bot.blocks.results import PageState, build_results
from bot.lookups import Listing
from bot.notify import notice_line
from bot.pmp_pool import WorkspaceKey
from bot.services import BotServices
from bot.slack.replies import reporting_failures
from bot.slack.workspace_pmp import ConnectedPmp, connected_pmp
from bot.storage import Workspace
from handlers._common import user_of

logger = logging.getLogger(__name__)


def _in_channel(body: dict[str, Any]) -> bool:
    """Whether the pressed message is a channel message everyone sees (a shared card)."""
    container = body.get("container") or {}
    return container.get("type") == "message" and container.get("is_ephemeral") is False


def _value(action: dict[str, Any]) -> str:
    if "selected_option" in action:
        return str((action.get("selected_option") or {}).get("value", ""))
    return str(action.get("value", ""))


async def _card(
    services: BotServices,
    pmp: ConnectedPmp,
    ref: CardRef,
    *,
    shared_by: str | None = None,
    can_delete: bool = False,
) -> tuple[Message, str]:
    details = await services.lookups.details(pmp.client, ref.kind, ref.id)
    message = build_details_card(
        details, base_url=pmp.base_url, names=pmp.names, shared_by=shared_by, can_delete=can_delete
    )
    return message, details.label


async def handle_share(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    services: BotServices,
    workspace: Workspace | None,
    workspace_key: WorkspaceKey,
) -> None:
    await ack()

    async def share() -> None:
        ref = CardRef.parse(_value(action))
        user = user_of(body)
        pmp = await connected_pmp(services, workspace, workspace_key)
        message, label = await _card(services, pmp, ref, shared_by=user)
        await respond(
            response_type="in_channel",
            replace_original=False,
            text=message.text,
            blocks=message.blocks,
        )
        services.notify(
            pmp.workspace, notice_line(user, "shared", ref.kind, label, card_url(pmp.base_url, ref))
        )

    await reporting_failures(respond, share())


async def show_card(
    services: BotServices,
    client: AsyncWebClient,
    respond: AsyncRespond,
    workspace: Workspace | None,
    key: WorkspaceKey,
    ref: CardRef,
    user_id: str,
) -> None:
    """Shows a record's card to the user, remembers the lookup for the Home tab, and posts
    the notice. Used by `/pmp <record> <id>` and by the Show buttons of result pages."""
    pmp = await connected_pmp(services, workspace, key)
    details = await services.lookups.details(pmp.client, ref.kind, ref.id)
    can_delete = await services.may_delete(client, key.team_id, user_id)
    message = build_details_card(
        details, base_url=pmp.base_url, names=pmp.names, can_delete=can_delete
    )
    await respond(replace_original=False, text=message.text, blocks=message.blocks)
    await services.recent_lookups.add(key.team_id, user_id, ref.kind, ref.id, details.label)
    link = card_url(pmp.base_url, ref_of(details.record))
    services.notify(pmp.workspace, notice_line(user_id, "looked up", ref.kind, details.label, link))


async def handle_show(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    services: BotServices,
    workspace: Workspace | None,
    workspace_key: WorkspaceKey,
) -> None:
    await ack()

    async def show() -> None:
        ref = CardRef.parse(_value(action))
        await show_card(services, client, respond, workspace, workspace_key, ref, user_of(body))

    await reporting_failures(respond, show())


async def handle_menu(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    services: BotServices,
    workspace: Workspace | None,
    workspace_key: WorkspaceKey,
) -> None:
    await ack()
    try:
        choice, ref = parse_menu_value(_value(action))
        shared_by = menu_shared_by(_value(action))
    except ValueError:
        # Not a value pmp-bot puts in its menus. Raising here, just after the ack, could make
        # Bolt drop the ack and show the user an error.
        logger.warning("A card menu sent a value pmp-bot doesn't know")
        return
    if choice is not MenuChoice.REFRESH:
        return  # "Open in PMP" is a link: Slack opens it, nothing to do here.

    if shared_by is None and _in_channel(body):
        # A card shared before its menu named the sharer: the card itself says who.
        shared_by = shared_by_of((body.get("message") or {}).get("blocks")) or user_of(body)

    async def refresh() -> None:
        pmp = await connected_pmp(services, workspace, workspace_key)
        if shared_by is not None:
            # Replacing a shared card replaces it for the whole channel: it stays the shared
            # card, without the presser's Share button or an admin's Delete menu.
            message, _ = await _card(services, pmp, ref, shared_by=shared_by)
        else:
            can_delete = await services.may_delete(client, workspace_key.team_id, user_of(body))
            message, _ = await _card(services, pmp, ref, can_delete=can_delete)
        await respond(replace_original=True, text=message.text, blocks=message.blocks)

    await reporting_failures(respond, refresh())


def _results_reply(pmp: ConnectedPmp, listing: Listing, page: int = 1) -> dict[str, Any]:
    message = build_results(
        listing.kind,
        listing.records,
        base_url=pmp.base_url,
        query=listing.query,
        scope=listing.scope,
        page=page,
        cache_key=listing.cache_key,
        names=listing.names.over(pmp.names),
        project_names=listing.project_names,
    )
    return {"text": message.text, "blocks": message.blocks}


async def handle_page(
    ack: AsyncAck,
    action: dict[str, Any],
    respond: AsyncRespond,
    services: BotServices,
    workspace: Workspace | None,
    workspace_key: WorkspaceKey,
) -> None:
    await ack()

    async def turn_page() -> None:
        state = PageState.parse(_value(action))
        pmp = await connected_pmp(services, workspace, workspace_key)
        listing = await services.lookups.page(
            pmp.client, pmp.cache_scope, state.kind, query=state.query, cache_key=state.cache_key
        )
        await respond(replace_original=True, **_results_reply(pmp, listing, state.page))

    await reporting_failures(respond, turn_page())


async def handle_linked_list(
    ack: AsyncAck,
    action: dict[str, Any],
    respond: AsyncRespond,
    services: BotServices,
    workspace: Workspace | None,
    workspace_key: WorkspaceKey,
) -> None:
    """A customer card's Projects button, or a project card's Milestones button."""
    await ack()

    async def linked() -> None:
        pmp = await connected_pmp(services, workspace, workspace_key)
        record_id = int(_value(action))
        if action.get("action_id") == CardAction.PROJECTS:
            listing = await services.lookups.customer_projects(
                pmp.client, pmp.cache_scope, record_id
            )
        else:
            listing = await services.lookups.project_milestones(
                pmp.client, pmp.cache_scope, record_id
            )
        await respond(replace_original=False, **_results_reply(pmp, listing))

    await reporting_failures(respond, linked())


def register(app: AsyncApp) -> None:
    app.action(CardAction.SHARE.value)(handle_share)
    app.action(CardAction.SHOW.value)(handle_show)
    app.action(CardAction.MENU.value)(handle_menu)
    app.action(CardAction.RESULTS_NEXT.value)(handle_page)
    app.action(CardAction.RESULTS_PREVIOUS.value)(handle_page)
    app.action(CardAction.PROJECTS.value)(handle_linked_list)
    app.action(CardAction.MILESTONES.value)(handle_linked_list)
