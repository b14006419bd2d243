"""The App Home tab, and the customer search and record views it opens."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.cards import CardRef, build_details_card
from bot.blocks.connect import not_connected_text
from bot.blocks.home import (
    build_card_modal,
    build_customer_results_modal,
    build_customer_search_modal,
    build_home,
    build_loading_modal,
    build_modal_message,
)
from bot.blocks.ids import HomeAction
from bot.blocks.staff import no_match_text
from bot.connect import connection_status
from bot.names import NameBook
from bot.pmp import Customer, PmpError
from bot.pmp_pool import WorkspaceKey
from bot.queue import QUEUE_BUDGET_S, MyQueue, load_queue
from bot.services import BotServices
from bot.slack.workspace_pmp import NotConnectedError, connected_pmp
from bot.staff import NoStaffMatch
from bot.storage import Workspace
from bot.text import escape_mrkdwn
from handlers._common import has_pmp, open_then_fill, open_view
from handlers.commands import help_entries
from handlers.ticket_actions import staff_of
from handlers.tickets import open_new_ticket_form

logger = logging.getLogger(__name__)

# A view_submission's answer is its ack: the search gets what is left of Slack's 3 s.
SEARCH_BUDGET_S = 2.0
# The Home tab waits this long for the queue before it is published without it, then again.
QUEUE_FIRST_WAIT_S = 1.0
READING_QUEUE = ":hourglass_flowing_sand: Reading your queue from PMP…"
SLOW_QUEUE = "PMP didn't answer in time, so your queue isn't shown. Open Home again in a moment."


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
    await publish_home(client, services, workspace, workspace_key, str(event.get("user", "")))


async def _queue(
    client: AsyncWebClient,
    services: BotServices,
    workspace: Workspace | None,
    key: WorkspaceKey,
    user_id: str,
) -> tuple[MyQueue | None, str | None, NameBook, str]:
    """The user's queue (or why there is none), the names and PMP address it is shown with.
    Bounded: the staff match and PMP's lists get QUEUE_BUDGET_S each at most."""
    names = NameBook()
    try:
        pmp = await connected_pmp(services, workspace, key)
    except NotConnectedError:
        return None, None, names, ""
    names = pmp.names.with_ticket_names(services.lookups.ticket_names.names(pmp.base_url))
    try:
        found = await asyncio.wait_for(staff_of(services, client, pmp, user_id), QUEUE_BUDGET_S)
    except TimeoutError:
        return (
            None,
            "PMP didn't answer in time, so your queue isn't shown. Open Home again in a moment.",
            names,
            pmp.base_url,
        )
    except PmpError as error:
        return None, f"Your queue couldn't be read: {error.user_message}", names, pmp.base_url
    if isinstance(found, NoStaffMatch):
        return None, no_match_text(found, user_id), names, pmp.base_url
    queue = await load_queue(
        pmp.client,
        found.staff.id,
        names=names,
        today=date.today(),
        lists=services.queue_lists,
        scope=pmp.cache_scope,
    )
    services.lookups.ticket_names.learn(pmp.base_url, queue.tickets)
    return queue, None, names, pmp.base_url


async def publish_home(
    client: AsyncWebClient,
    services: BotServices,
    workspace: Workspace | None,
    key: WorkspaceKey,
    user_id: str,
    *,
    note: str | None = None,
) -> None:
    """Publishes the user's Home tab: connection, queue (with `note` above it: what a press
    in it did), recent lookups, commands. When PMP takes longer than QUEUE_FIRST_WAIT_S the
    tab is published at once with the queue still loading, and again when it is read (at
    most QUEUE_BUDGET_S later)."""
    reading = asyncio.ensure_future(_queue(client, services, workspace, key, user_id))
    is_admin, recent = await asyncio.gather(
        services.admins.is_admin(client, key.team_id, user_id),
        services.recent_lookups.recent(key.team_id, user_id),
    )

    async def publish(
        queue: MyQueue | None, problem: str | None, names: NameBook, url: str
    ) -> None:
        if note:
            problem = f"{note}\n{problem}" if problem else note
        view = build_home(
            connection_status(workspace),
            is_admin=is_admin,
            commands=help_entries(),
            recent=recent,
            queue=queue,
            queue_problem=problem,
            names=names,
            base_url=url,
        )
        try:
            await client.views_publish(user_id=user_id, view=view)
        except SlackApiError as error:
            logger.warning("views.publish failed for the Home tab: %s", error.response.get("error"))

    done, _ = await asyncio.wait({reading}, timeout=QUEUE_FIRST_WAIT_S)
    if not done and has_pmp(workspace):
        await publish(None, READING_QUEUE, NameBook(), "")
    await publish(*await reading)


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
    await open_view(client, str(body.get("trigger_id", "")), build_customer_search_modal())


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
    except NotConnectedError as error:
        errors[HomeAction.SEARCH_BLOCK] = not_connected_text(reconnect=error.reconnect)
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


def _card_filler(
    services: BotServices, workspace: Workspace | None, key: WorkspaceKey, value: str
) -> Callable[[], Awaitable[View]]:
    """Builds the read-only card view of the record a button names."""

    async def fill() -> View:
        ref = CardRef.parse(value)
        pmp = await connected_pmp(services, workspace, key)
        details = await services.lookups.details(pmp.client, ref.kind, ref.id)
        card = build_details_card(details, base_url=pmp.base_url, names=pmp.names)
        return build_card_modal(card, ref)

    return fill


def _problem_view(text: str) -> View:
    return build_modal_message("PMP", escape_mrkdwn(text))


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
    # Pushed over the results at once (the trigger lives 3 s), filled in when PMP has answered.
    await open_then_fill(
        client,
        str(body.get("trigger_id", "")),
        loading=build_loading_modal("PMP customer"),
        fill=_card_filler(services, workspace, workspace_key, str(action.get("value", ""))),
        problem=_problem_view,
        push=True,
    )


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
    trigger_id = str(body.get("trigger_id", ""))
    if not has_pmp(workspace):
        await open_view(client, trigger_id, _problem_view(not_connected_text()))
        return
    await open_then_fill(
        client,
        trigger_id,
        loading=build_loading_modal("PMP record"),
        fill=_card_filler(services, workspace, workspace_key, str(action.get("value", ""))),
        problem=_problem_view,
    )


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(handle_app_home_opened)
    app.action(HomeAction.NEW_TICKET.value)(handle_new_ticket_button)
    app.action(HomeAction.SEARCH_CUSTOMERS.value)(handle_search_customers_button)
    app.view(HomeAction.SEARCH_MODAL.value)(handle_customer_search)
    app.action(HomeAction.SHOW_RESULT.value)(handle_show_result)
    app.action(HomeAction.SHOW_RECENT.value)(handle_show_recent)
