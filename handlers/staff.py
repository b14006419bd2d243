"""`/pmp staff`: which PMP staff member a Slack user is (`/pmp staff`, `/pmp staff @user`);
admins link someone (`/pmp staff @user <name, e-mail or number>`), unlink them (`none`) and
list everyone linked (`/pmp staff list`). Also the staff pickers' typeahead in forms."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck

from bot.blocks.cards import Message
from bot.blocks.connect import not_connected_headline
from bot.blocks.fields import FAILED_VALUE, notice_option
from bot.blocks.help import HelpEntry
from bot.blocks.ids import StaffPicker
from bot.blocks.staff import (
    build_link_removed,
    build_link_set,
    build_not_admin,
    build_staff_choices,
    build_staff_list,
    build_unresolved_user,
    build_user_staff,
)
from bot.grammar import CommandAction, StaffRequest
from bot.pmp_pool import WorkspaceKey
from bot.services import BotServices
from bot.slack.replies import reporting_failures
from bot.slack.typeahead import staff_typeahead
from bot.slack.workspace_pmp import NotConnectedError, connected_pmp
from bot.staff import slack_email
from bot.storage import Workspace
from handlers._common import CommandRequest, Route, Subcommand


async def handle_staff_command(request: CommandRequest) -> None:
    await request.ack()
    await reporting_failures(request.respond, _answer(request))


async def _answer(request: CommandRequest) -> None:
    wanted = request.parsed.staff or StaffRequest("show")
    message = await _staff_reply(request, wanted)
    await request.respond(text=message.text, blocks=message.blocks)


async def _staff_reply(request: CommandRequest, wanted: StaffRequest) -> Message:
    services, key, caller = request.services, request.key, request.user_id
    if wanted.unresolved_user is not None:
        return build_unresolved_user(wanted.unresolved_user)
    admin_only = wanted.verb in ("list", "set", "unset")
    if admin_only and not await services.admins.is_admin(request.client, key.team_id, caller):
        return build_not_admin()
    pmp = await connected_pmp(services, request.workspace, key)
    directory = services.staff
    if wanted.verb == "list":
        return build_staff_list(await directory.links(pmp.client, key), pmp.client.site)
    user = wanted.user_id or caller
    if wanted.verb == "unset":
        return build_link_removed(user, await directory.remove_link(key, user))
    if wanted.verb == "set":
        found = await directory.find(pmp.client, wanted.target or "")
        if isinstance(found, list) and len(found) == 1:
            link = await directory.set_link(pmp.client, key, user, found[0].id, set_by=caller)
            return build_link_set(user, link)
        return build_staff_choices(wanted.target or "", found)
    email = slack_email(request.client, user)
    match = await directory.match_user(pmp.client, key, user, email)
    return build_user_staff(user, match, is_self=user == caller)


async def staff_unlisted(
    services: BotServices, workspace: Workspace | None, key: WorkspaceKey | None = None
) -> bool:
    """Whether PMP said lately that the workspace's token may not list staff, so a form opened
    now asks for staff numbers. No PMP call: a modal must open within the trigger's 3 s."""
    if workspace is None:
        return False
    if key is None:
        key = WorkspaceKey(team_id=workspace.team_id or "", enterprise_id=workspace.enterprise_id)
    try:
        pmp = await connected_pmp(services, workspace, key)
    except NotConnectedError:
        return False
    return not services.staff.can_list(pmp.client)


async def handle_staff_options(
    ack: AsyncAck,
    body: dict[str, Any],
    services: BotServices,
    workspace: Workspace | None,
    workspace_key: WorkspaceKey,
) -> None:
    try:
        pmp = await connected_pmp(services, workspace, workspace_key)
    except NotConnectedError as error:
        headline = not_connected_headline(reconnect=error.reconnect)
        await ack(options=[notice_option(headline, FAILED_VALUE)])
        return
    query = str(body.get("value") or "")
    await ack(options=await staff_typeahead(services.staff, pmp.client, query))


def register(app: AsyncApp) -> None:
    app.options(StaffPicker.OPTIONS.value)(handle_staff_options)


def routes() -> dict[Route, Subcommand]:
    return {
        (CommandAction.STAFF, None): Subcommand(
            handle_staff_command,
            HelpEntry("staff", "shows which PMP staff member you are"),
        ),
    }
