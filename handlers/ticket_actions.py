"""Ticket actions on cards and in the Home tab's queue: the status and priority menus,
Assign to me, Close (confirmed in Slack first) and Reply (a modal).

A press on a message (a private result or a shared card) replaces that message with the
ticket's card as it is now, plus a line saying what changed; a shared card stays the shared
card. A press in the Home tab publishes the Home tab again. One ticket's actions run one at a
time across bot instances (a short claim in the database): a double click or a retry finds
the change made and sends PMP nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.cards import Message, build_details_card, shared_by_of
from bot.blocks.connect import not_connected_text
from bot.blocks.ids import TicketCardAction
from bot.blocks.staff import no_match_text
from bot.blocks.ticket_actions import (
    ReplyOrigin,
    action_line,
    build_reply_done_view,
    build_reply_modal,
    build_reply_problem_view,
    read_reply,
    reply_outcome,
    with_line,
)
from bot.lookups import RecordDetails
from bot.names import NameBook
from bot.pmp import PmpError, PmpUnsafeUpdateError, PmpValidationError, Ticket
from bot.pmp.links import record_page
from bot.pmp_pool import WorkspaceKey
from bot.records import WriteOutcome, unsafe_update_problem
from bot.services import BotServices
from bot.slack.replies import reporting_failures, respond_quietly
from bot.slack.submission import Submission
from bot.slack.workspace_pmp import ConnectedPmp, NotConnectedError, connected_pmp
from bot.staff import NoStaffMatch, StaffLink, slack_email
from bot.storage import IdempotencyStore, Workspace
from bot.text import escape_mrkdwn
from bot.ticket_actions import (
    ActionResult,
    TicketAction,
    apply_action,
    reply_supported,
    send_reply,
)
from handlers._common import announce, open_then_fill, user_of

logger = logging.getLogger(__name__)

# A claim on one ticket's actions outlives a crashed press by this long at most.
ACTION_CLAIM_TTL = timedelta(minutes=2)
# What the notify channel hears: "<@U1> closed ticket *Printer on fire*".
_VERBS = {
    "status": "changed the status of",
    "priority": "changed the priority of",
    "assign": "took",
    "close": "closed",
    "reply": "replied to",
}
BUSY = "Another change to this ticket is still being saved; try again in a moment."


def _value(action: dict[str, Any]) -> str:
    if "selected_option" in action:
        return str((action.get("selected_option") or {}).get("value", ""))
    return str(action.get("value", ""))


def _from_home(body: dict[str, Any]) -> bool:
    view = body.get("view")
    return isinstance(view, dict) and view.get("type") == "home"


def _shared_by(body: dict[str, Any]) -> str | None:
    """Who shared the card pressed, when it is a channel message (a shared card)."""
    container = body.get("container") or {}
    if container.get("type") != "message" or container.get("is_ephemeral") is not False:
        return None
    return shared_by_of((body.get("message") or {}).get("blocks")) or user_of(body)


async def staff_of(
    services: BotServices, client: AsyncWebClient, pmp: ConnectedPmp, user_id: str
) -> StaffLink | NoStaffMatch:
    """The Slack user's PMP staff member (their stored link, else matched by their Slack
    e-mail), or why pmp-bot can't tell (`bot.blocks.staff.no_match_text` says it)."""
    return await services.staff.match_user(
        pmp.client, pmp.key, user_id, slack_email(client, user_id)
    )


async def report_change(services: BotServices, pmp: ConnectedPmp, ticket_id: int) -> None:
    """Tells the ticket's subscriptions that pmp-bot changed it (and forgets kept searches)."""
    services.lookups.forget_results(pmp.cache_scope)
    services.queue_lists.forget(pmp.cache_scope)
    # Never raises: a change made stays made whatever the subscriptions do with it.
    await services.subscriptions.delivery.record_changed(
        pmp.key.team_id, pmp.key.enterprise_id, "ticket", ticket_id
    )


async def _card_of(
    services: BotServices,
    client: AsyncWebClient,
    pmp: ConnectedPmp,
    ticket: Ticket,
    *,
    user_id: str,
    shared_by: str | None,
) -> Message:
    """The ticket's card as it was shown: a shared card stays shared (no Share button, no
    Delete menu); a private one keeps the presser's Delete menu."""
    can_delete = False
    if shared_by is None:
        can_delete = await services.may_delete(client, pmp.key.team_id, user_id)
    services.lookups.ticket_names.learn(pmp.base_url, [ticket])
    details = RecordDetails(
        ticket,
        ticket_names=services.lookups.ticket_names.names(pmp.base_url),
        can_reply=await reply_supported(pmp.client),
    )
    return build_details_card(
        details,
        base_url=pmp.base_url,
        names=pmp.names,
        shared_by=shared_by,
        can_delete=can_delete,
    )


async def _run_claimed(
    services: BotServices,
    key: WorkspaceKey,
    ticket_id: int,
    work: Coroutine[Any, Any, ActionResult],
) -> ActionResult | None:
    """Runs `work` holding the ticket's claim; None (work not run) while another press on
    the same ticket is being saved."""
    claims = IdempotencyStore(services.database, ttl=ACTION_CLAIM_TTL)
    claim = f"ticket-action:{key.enterprise_id or ''}:{key.team_id}:{ticket_id}"
    if not await claims.claim(claim, key.team_id):
        work.close()
        return None
    try:
        return await work
    finally:
        await claims.release(claim)


async def _show_home(
    client: AsyncWebClient,
    services: BotServices,
    workspace: Workspace | None,
    key: WorkspaceKey,
    user_id: str,
    note: str | None,
) -> None:
    from handlers.home import publish_home

    await publish_home(client, services, workspace, key, user_id, note=note)


async def handle_ticket_action(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    services: BotServices,
    workspace: Workspace | None,
    workspace_key: WorkspaceKey,
) -> None:
    """A status or priority option, Assign to me, or Close (Slack has asked to confirm)."""
    await ack()
    try:
        wanted = TicketAction.parse(_value(action))
    except ValueError:
        logger.warning("A ticket action sent a value pmp-bot doesn't know")
        return
    if wanted.kind == "reply":
        return
    user_id = user_of(body)
    home = _from_home(body)
    shared_by = None if home else _shared_by(body)

    async def say(text: str) -> None:
        if home:
            await _show_home(client, services, workspace, workspace_key, user_id, text)
        else:
            await respond_quietly(respond, text=text, replace_original=False)

    async def act() -> None:
        pmp = await connected_pmp(services, workspace, workspace_key)
        change = wanted
        if change.kind == "assign":
            found = await staff_of(services, client, pmp, user_id)
            if isinstance(found, NoStaffMatch):
                await say(no_match_text(found, user_id))
                return
            change = TicketAction("assign", change.ticket_id, found.staff.id)
        try:
            result = await _run_claimed(
                services,
                workspace_key,
                change.ticket_id,
                apply_action(
                    pmp.client,
                    change,
                    allow_first_record_file_loss=pmp.workspace.allow_first_record_file_loss,
                ),
            )
        except PmpUnsafeUpdateError as error:
            await say(escape_mrkdwn(unsafe_update_problem(error)))
            return
        if result is None:
            await say(BUSY)
            return
        if result.changed:
            await report_change(services, pmp, change.ticket_id)
            url = record_page(pmp.base_url, "ticket", change.ticket_id, None)
            verb = _VERBS[change.kind]
            announce(
                services,
                pmp,
                user_id,
                WriteOutcome("ticket", result.ticket.display_name, verb, change.ticket_id, url),
            )
        line = action_line(result, user_id, pmp.names)
        if home:
            await _show_home(client, services, workspace, workspace_key, user_id, None)
            return
        card = await _card_of(
            services, client, pmp, result.ticket, user_id=user_id, shared_by=shared_by
        )
        card = with_line(card, line)
        await respond(replace_original=True, text=card.text, blocks=card.blocks)

    if home:
        try:
            await act()
        except NotConnectedError as error:
            await say(not_connected_text(reconnect=error.reconnect))
        except PmpError as error:
            await say(escape_mrkdwn(error.user_message))
        except Exception:
            logger.exception("A ticket action from the Home tab failed")
            await say("Something went wrong on pmp-bot's side, sorry. Try again.")
        return
    await reporting_failures(respond, act())


# ------------------------------------------------------------------------------- Reply


async def handle_reply_button(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    services: BotServices,
    workspace: Workspace | None,
    workspace_key: WorkspaceKey,
) -> None:
    """Opens the Reply modal at once (the trigger lives 3 s), then fills it in."""
    await ack()
    try:
        wanted = TicketAction.parse(_value(action))
    except ValueError:
        logger.warning("A Reply button sent a value pmp-bot doesn't know")
        return
    user_id = user_of(body)
    home = _from_home(body)
    origin = ReplyOrigin(
        wanted.ticket_id,
        response_url="" if home else str(body.get("response_url") or ""),
        shared_by=None if home else _shared_by(body),
        home=home,
    )

    async def fill() -> View:
        pmp = await connected_pmp(services, workspace, workspace_key)
        if not await reply_supported(pmp.client):
            return build_reply_problem_view(
                "This PMP's API has no reply endpoint (it needs the REST API module 3.x): "
                "reply in PMP itself."
            )
        found, ticket = await asyncio.gather(
            staff_of(services, client, pmp, user_id), pmp.client.tickets.get(wanted.ticket_id)
        )
        if isinstance(found, NoStaffMatch):
            return build_reply_problem_view(no_match_text(found, user_id))
        return build_reply_modal(origin, subject=ticket.display_name, names=_names(services, pmp))

    await open_then_fill(
        client,
        str(body.get("trigger_id", "")),
        loading=build_reply_problem_view(":hourglass_flowing_sand: Asking PMP…"),
        fill=fill,
        problem=lambda text: build_reply_problem_view(escape_mrkdwn(text)),
    )


def _names(services: BotServices, pmp: ConnectedPmp) -> NameBook:
    return pmp.names.with_ticket_names(services.lookups.ticket_names.names(pmp.base_url))


async def handle_reply_submission(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    services: BotServices,
    workspace: Workspace | None,
    workspace_key: WorkspaceKey,
) -> None:
    user_id = user_of(body)
    try:
        origin = ReplyOrigin.from_metadata(str(view.get("private_metadata") or ""))
    except ValueError:
        await ack()
        return
    reading = read_reply(origin, view)
    if reading.draft is None:
        await ack(response_action="errors", errors=dict(reading.errors))
        return
    draft = reading.draft
    try:
        pmp = await connected_pmp(services, workspace, workspace_key)
    except Exception:
        await ack(
            response_action="errors",
            errors={TicketCardAction.REPLY_MESSAGE_BLOCK: "PMP isn't connected any more."},
        )
        return
    after_ticket: list[Ticket] = []

    async def write() -> WriteOutcome:
        found = await staff_of(services, client, pmp, user_id)
        if isinstance(found, NoStaffMatch):
            # Shown under the reply's input, which shows text as typed.
            text = no_match_text(found, user_id).replace("`", "")
            raise PmpValidationError("no staff link", errors={}, user_message=text)
        ticket = await send_reply(pmp.client, draft, staff_id=found.staff.id)
        if ticket is not None:
            after_ticket.append(ticket)
        url = record_page(pmp.base_url, "ticket", draft.ticket_id, None)
        return reply_outcome(
            draft, subject=ticket.display_name if ticket else f"#{draft.ticket_id}", url=url
        )

    async def after(outcome: WriteOutcome) -> None:
        announce(services, pmp, user_id, outcome)
        await report_change(services, pmp, draft.ticket_id)
        if origin.home:
            await _show_home(client, services, workspace, workspace_key, user_id, None)
        elif origin.response_url and after_ticket:
            card = await _card_of(
                services, client, pmp, after_ticket[0], user_id=user_id, shared_by=origin.shared_by
            )
            card = with_line(card, f"<@{user_id}> replied.")
            await respond_quietly(
                AsyncRespond(response_url=origin.response_url),
                replace_original=True,
                text=card.text,
                blocks=card.blocks,
            )

    await Submission(
        ack=ack,
        client=client,
        idempotency=services.idempotency,
        team_id=workspace_key.team_id,
        view=view,
        title="Reply to ticket",
        first_block_id=TicketCardAction.REPLY_MESSAGE_BLOCK,
        write=write,
        done_view=build_reply_done_view,
        retry_view=lambda problem: build_reply_modal(
            origin,
            subject=None,
            names=_names(services, pmp),
            status=draft.status,
            message=draft.message,
            problem=problem,
        ),
        after=after,
    ).run()


def register(app: AsyncApp) -> None:
    app.action(TicketCardAction.STATUS.value)(handle_ticket_action)
    app.action(TicketCardAction.PRIORITY.value)(handle_ticket_action)
    app.action(TicketCardAction.ASSIGN_ME.value)(handle_ticket_action)
    app.action(TicketCardAction.CLOSE.value)(handle_ticket_action)
    app.action(TicketCardAction.REPLY.value)(handle_reply_button)
    app.view(TicketCardAction.REPLY_MODAL.value)(handle_reply_submission)
