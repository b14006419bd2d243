"""The App Home tab, and the customer search and record views it opens."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.cards import CardRef, build_details_card
from bot.blocks.home import (
    build_card_modal,
    build_customer_results_modal,
    build_customer_search_modal,
    build_home,
    build_loading_modal,
    build_modal_message,
)
from bot.blocks.ids import HomeAction
from bot.pmp import Customer, PmpError
from bot.pmp_pool import WorkspaceKey
from bot.services import BotServices
from bot.slack.replies import SOMETHING_WENT_WRONG
from bot.slack.workspace_pmp import NotConnectedError, connected_pmp
from bot.storage import Workspace
from bot.text import escape_mrkdwn
from handlers.commands import help_entries
from handlers.connect import connection_status
from handlers.tickets import open_new_ticket_form

logger = logging.getLogger(__name__)

# A view_submission's answer is its ack: the search gets what is left of Slack's 3 s.
SEARCH_BUDGET_S = 2.0
NOT_CONNECTED = "This workspace isn't connected to PMP yet."


def _user(body: dict[str, Any]) -> str:
    return str(body.get("user", {}).get("id", ""))


async def handle_app_home_opened(
    ack: AsyncAck,
    event: dict[str, Any],
    client: AsyncWebClient,
    services: BotServices,
    workspace: Workspace | None,
    workspace_key: WorkspaceKey,
) -> None:
    await ack()
    if event.get("tab", "home") != "home":
        return
    user_id = str(event.get("user", ""))
    is_admin, recent = await asyncio.gather(
        services.admins.is_admin(client, workspace_key.team_id, user_id),
        services.recent_lookups.recent(workspace_key.team_id, user_id),
    )
    view = build_home(
        connection_status(workspace), is_admin=is_admin, commands=help_entries(), recent=recent
    )
    try:
        await client.views_publish(user_id=user_id, view=view)
    except SlackApiError as error:
        logger.warning("views.publish failed for the Home tab: %s", error.response.get("error"))


async def handle_new_ticket_button(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    services: BotServices,
    workspace: Workspace | None,
) -> None:
    await ack()
    await open_new_ticket_form(client, str(body.get("trigger_id", "")), services, workspace)


async def handle_search_customers_button(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
) -> None:
    await ack()
    try:
        await client.views_open(trigger_id=body["trigger_id"], view=build_customer_search_modal())
    except SlackApiError as error:
        _log_view_failure("customer search", error)


async def handle_customer_search(
    ack: AsyncAck,
    view: dict[str, Any],
    services: BotServices,
    workspace: Workspace | None,
    workspace_key: WorkspaceKey,
) -> None:
    values = view.get("state", {}).get("values", {})
    query = str(
        values.get(HomeAction.SEARCH_BLOCK, {}).get(HomeAction.SEARCH_INPUT, {}).get("value") or ""
    ).strip()
    errors: dict[str, str] = {}
    if not query:
        errors[HomeAction.SEARCH_BLOCK] = "Type part of a company, contact name or email."
        await ack(response_action="errors", errors=errors)
        return
    try:
        pmp = await connected_pmp(services, workspace, workspace_key)
        listing = await asyncio.wait_for(
            services.lookups.search(pmp.client, pmp.cache_scope, "customer", query),
            SEARCH_BUDGET_S,
        )
    except NotConnectedError:
        errors[HomeAction.SEARCH_BLOCK] = NOT_CONNECTED
    except TimeoutError:
        errors[HomeAction.SEARCH_BLOCK] = "PMP is slow right now. Search again in a moment."
    except PmpError as error:
        errors[HomeAction.SEARCH_BLOCK] = error.user_message
    if errors:
        await ack(response_action="errors", errors=errors)
        return
    customers = [r for r in listing.records if isinstance(r, Customer)]
    await ack(
        response_action="update",
        view=build_customer_results_modal(query, customers, base_url=pmp.base_url),
    )


async def _card_view(
    services: BotServices, workspace: Workspace | None, key: WorkspaceKey, value: str
) -> Any:
    """The read-only card view of a record, or a message view saying why there is none."""
    try:
        ref = CardRef.parse(value)
        pmp = await connected_pmp(services, workspace, key)
        details = await services.lookups.details(pmp.client, ref.kind, ref.id)
    except NotConnectedError:
        return build_modal_message("PMP", NOT_CONNECTED)
    except PmpError as error:
        return build_modal_message("PMP", escape_mrkdwn(error.user_message))
    except Exception:
        logger.exception("Showing a record in a modal failed")
        return build_modal_message("PMP", SOMETHING_WENT_WRONG)
    card = build_details_card(details, base_url=pmp.base_url, names=pmp.names)
    return build_card_modal(card, ref)


async def handle_show_result(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    services: BotServices,
    workspace: Workspace | None,
    workspace_key: WorkspaceKey,
) -> None:
    await ack()
    try:
        # Pushed at once (the trigger lives 3 s), filled in when PMP has answered.
        pushed = await client.views_push(
            trigger_id=body["trigger_id"], view=build_loading_modal("PMP customer")
        )
        view = await _card_view(services, workspace, workspace_key, str(action.get("value", "")))
        await client.views_update(view_id=pushed["view"]["id"], view=view)
    except SlackApiError as error:
        _log_view_failure("search result", error)


async def handle_show_recent(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    services: BotServices,
    workspace: Workspace | None,
    workspace_key: WorkspaceKey,
) -> None:
    await ack()
    try:
        if workspace is None or not workspace.pmp_base_url:
            await client.views_open(
                trigger_id=body["trigger_id"],
                view=build_modal_message("PMP", NOT_CONNECTED),
            )
            return
        opened = await client.views_open(
            trigger_id=body["trigger_id"], view=build_loading_modal("PMP record")
        )
        view = await _card_view(services, workspace, workspace_key, str(action.get("value", "")))
        await client.views_update(view_id=opened["view"]["id"], view=view)
    except SlackApiError as error:
        _log_view_failure("recent lookup", error)


def _log_view_failure(what: str, error: SlackApiError) -> None:
    # The trigger expired or the user closed the modal: there is nowhere left to answer.
    # Raising instead, just after the ack, could make Bolt drop the ack.
    logger.warning("Opening the %s view failed: %s", what, error.response.get("error"))


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(handle_app_home_opened)
    app.action(HomeAction.NEW_TICKET.value)(handle_new_ticket_button)
    app.action(HomeAction.SEARCH_CUSTOMERS.value)(handle_search_customers_button)
    app.view(HomeAction.SEARCH_MODAL.value)(handle_customer_search)
    app.action(HomeAction.SHOW_RESULT.value)(handle_show_result)
    app.action(HomeAction.SHOW_RECENT.value)(handle_show_recent)
