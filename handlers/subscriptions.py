"""Channel subscriptions: `/pmp subscribe`, `/pmp unsubscribe` and `/pmp subscriptions`, the
list's Edit, Remove, Resume and members buttons, and the edit modal's submission.

Who may: admins; members of the channel too when the workspace allows it (checked with
conversations.members here, the rule itself is bot.subscriptions.manage.may_manage). A
public channel is joined when it is subscribed; a private one needs the bot invited first.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.help import HelpEntry
from bot.blocks.subscriptions import (
    EditTarget,
    Reply,
    SubscriptionIds,
    build_edit_gone,
    build_edit_loading,
    build_edit_modal,
    build_edit_problem,
    build_edit_saved,
    build_remove_prompt,
    build_subscribed,
    build_subscription_list,
    build_unsubscribed,
    channel_link,
    filter_block_id,
    join_problem,
    members_choice_note,
    read_edit,
    refusal_text,
    removed_note,
    subscribed_welcome,
)
from bot.grammar import ChannelRef, CommandAction, SubscriptionRequest
from bot.names import TicketSettings, positive_id
from bot.pmp import PmpClient
from bot.pmp_pool import WorkspaceKey
from bot.services import BotServices
from bot.slack.replies import SOMETHING_WENT_WRONG, reporting_failures, respond_quietly
from bot.slack.workspace_pmp import NotConnectedError, connected_pmp
from bot.storage import Workspace
from bot.storage.workspaces import DEFAULT_POLL_INTERVAL_SECONDS
from bot.subscriptions.manage import (
    FilterProblem,
    ManageRefusal,
    NameSources,
    Subscription,
    SubscriptionKind,
    may_manage,
    name_sources,
    resolve_filters,
    subscribe,
    unsubscribe,
    update_subscription,
    with_records,
)
from bot.text import escape_mrkdwn
from bot.tickets import learn_from_pmp
from handlers._common import (
    CommandRequest,
    Route,
    Subcommand,
    has_pmp,
    open_then_fill,
    open_view,
    user_of,
)

logger = logging.getLogger(__name__)

# conversations.members pages (1,000 people each) read before giving up on finding someone.
MAX_MEMBER_PAGES = 20
# conversations.list pages (1,000 channels each) read to find a channel named without its id.
MAX_CHANNEL_PAGES = 10
# Reading PMP's tickets to learn a department's name waits this long at most.
LEARN_TIMEOUT_S = 1.5


# ------------------------------------------------------------------------------- helpers


def _names(services: BotServices, workspace: Workspace | None) -> NameSources:
    """The workspace's ticket names, with those learned from its PMP's tickets."""
    base_url = workspace.pmp_base_url if workspace is not None else None
    learned = services.lookups.ticket_names.names(base_url) if base_url else TicketSettings()
    saved = workspace.ticket_settings if workspace is not None else TicketSettings()
    return name_sources(saved, learned)


async def _named(
    services: BotServices,
    workspace: Workspace | None,
    key: WorkspaceKey,
    subscriptions: list[Subscription],
) -> NameSources:
    """Names for showing these subscriptions, their customers and projects as PMP names
    them when it is connected (numbers otherwise)."""
    names = _names(services, workspace)
    try:
        pmp = await connected_pmp(services, workspace, key)
    except NotConnectedError:
        return names
    return await with_records(names, subscriptions, pmp.client)


async def _is_member(client: AsyncWebClient, channel_id: str, user_id: str) -> bool:
    """Whether the user is in the channel; False when Slack won't say."""
    cursor: str | None = None
    for _ in range(MAX_MEMBER_PAGES):
        try:
            answer = await client.conversations_members(
                channel=channel_id, limit=1000, cursor=cursor
            )
        except SlackApiError as error:
            logger.info("conversations.members failed: %s", error.response.get("error"))
            return False
        if user_id in (answer.get("members") or []):
            return True
        cursor = str((answer.get("response_metadata") or {}).get("next_cursor") or "")
        if not cursor:
            return False
    return False


async def _refusal(
    services: BotServices,
    client: AsyncWebClient,
    workspace: Workspace | None,
    key: WorkspaceKey,
    user_id: str,
    channel_id: str,
) -> ManageRefusal | None:
    if await services.admins.is_admin(client, key.team_id, user_id):
        return None
    allowed = workspace is not None and workspace.members_may_subscribe
    is_member = await _is_member(client, channel_id, user_id) if allowed else None
    return may_manage(is_admin=False, members_may_subscribe=allowed, is_member=is_member)


def _slack_error(error: SlackApiError) -> str:
    status = error.response.status_code
    if status >= 500 or status == 429:
        return "unavailable"
    return str(error.response.get("error") or "unavailable")


async def _join(client: AsyncWebClient, channel_id: str) -> str | None:
    """Joins a public channel; None when the bot is in it (or may be: a private channel it
    was invited to, or no channels:join scope), else why not."""
    try:
        await client.conversations_join(channel=channel_id)
    except SlackApiError as error:
        code = _slack_error(error)
        if code in ("method_not_supported_for_channel_type", "missing_scope"):
            return None  # the welcome post tells whether the bot can post there
        return code
    return None


def _target(request: CommandRequest, wanted: SubscriptionRequest) -> ChannelRef:
    if wanted.channel is not None:
        return wanted.channel
    return ChannelRef(id=str(request.body.get("channel_id") or "") or None, name=None)


async def _channel_id(client: AsyncWebClient, channel: ChannelRef) -> str | None:
    """The channel's id; a channel named without one (typed as plain text, as the console
    does) is looked up among the channels the bot can see."""
    if channel.id:
        return channel.id
    cursor: str | None = None
    for _ in range(MAX_CHANNEL_PAGES):
        try:
            answer = await client.conversations_list(
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=1000,
                cursor=cursor,
            )
        except SlackApiError as error:
            logger.info("conversations.list failed: %s", error.response.get("error"))
            return None
        for found in answer.get("channels") or []:
            if str(found.get("name") or "").casefold() == (channel.name or "").casefold():
                return str(found.get("id") or "") or None
        cursor = str((answer.get("response_metadata") or {}).get("next_cursor") or "")
        if not cursor:
            return None
    return None


async def _resolved_channel(request: CommandRequest, wanted: SubscriptionRequest) -> str | None:
    """The id of the channel the command is about, or None after telling the user."""
    channel = _target(request, wanted)
    channel_id = await _channel_id(request.client, channel)
    if channel_id is None:
        await request.respond(text=join_problem("no_name", _channel_shown(channel)))
    return channel_id


def _channel_shown(channel: ChannelRef) -> str:
    if channel.id:
        return channel_link(channel.id)
    return f"#{escape_mrkdwn(channel.name or '')}"


async def _learner(
    services: BotServices, workspace: Workspace | None, pmp: PmpClient
) -> NameSources:
    problem = await learn_from_pmp(pmp, services.lookups.ticket_names, timeout_s=LEARN_TIMEOUT_S)
    if problem:
        logger.info("Ticket names for a filter weren't learned: %s", problem)
    return _names(services, workspace)


def _poll_interval(workspace: Workspace | None) -> int:
    return workspace.poll_interval_seconds if workspace else DEFAULT_POLL_INTERVAL_SECONDS


# ------------------------------------------------------------------------------- commands


async def handle_subscribe(request: CommandRequest) -> None:
    await request.ack()
    await reporting_failures(request.respond, _subscribe(request))


async def _subscribe(request: CommandRequest) -> None:
    wanted = request.parsed.subscription
    assert wanted is not None and wanted.kind is not None
    services, key, client = request.services, request.key, request.client
    channel_id = await _resolved_channel(request, wanted)
    if channel_id is None:
        return
    refusal = await _refusal(services, client, request.workspace, key, request.user_id, channel_id)
    if refusal is not None:
        await request.respond(text=refusal_text(refusal, channel_id))
        return
    pmp = await connected_pmp(services, request.workspace, key)
    names = _names(services, pmp.workspace)

    async def learn() -> NameSources:
        return await _learner(services, pmp.workspace, pmp.client)

    resolved = await resolve_filters(wanted.kind, wanted.filters, names, pmp.client, learn=learn)
    if isinstance(resolved, FilterProblem):
        await request.respond(text=f"Nothing changed yet. {resolved.text}")
        return
    problem = await _join(client, channel_id)
    if problem is not None:
        await request.respond(text=join_problem(problem, channel_link(channel_id)))
        return
    outcome = await subscribe(
        services.subscriptions.store,
        team_id=key.team_id,
        enterprise_id=key.enterprise_id,
        channel_id=channel_id,
        request=wanted,
        filters=resolved.filters,
        user_id=request.user_id,
    )
    if outcome.created and not await _welcome(request, channel_id, wanted.kind):
        # The bot can't post there: a subscription that could never deliver isn't kept.
        await services.subscriptions.store.remove(key.team_id, outcome.subscription.id)
        return
    if outcome.created:
        await services.subscriptions.watch_changed(
            key.team_id, key.enterprise_id, [outcome.subscription.kind]
        )
    reply = build_subscribed(
        outcome.subscription,
        resolved.labels,
        created=outcome.created,
        changed=outcome.changed,
        poll_interval_seconds=_poll_interval(pmp.workspace),
    )
    await request.respond(text=reply.text, blocks=reply.blocks)


async def _welcome(request: CommandRequest, channel_id: str, kind: SubscriptionKind) -> bool:
    """Posts the "subscribed" line in the channel; False after telling the user why it
    can't be posted to."""
    try:
        await request.client.chat_postMessage(
            channel=channel_id,
            text=subscribed_welcome(request.user_id, kind),
            unfurl_links=False,
        )
    except SlackApiError as error:
        await request.respond(text=join_problem(_slack_error(error), channel_link(channel_id)))
        return False
    return True


async def handle_unsubscribe(request: CommandRequest) -> None:
    await request.ack()
    await reporting_failures(request.respond, _unsubscribe(request))


async def _unsubscribe(request: CommandRequest) -> None:
    wanted = request.parsed.subscription
    assert wanted is not None
    services, key, client = request.services, request.key, request.client
    channel_id = await _resolved_channel(request, wanted)
    if channel_id is None:
        return
    refusal = await _refusal(services, client, request.workspace, key, request.user_id, channel_id)
    if refusal is not None:
        await request.respond(text=refusal_text(refusal, channel_id))
        return
    filters = None
    names = _names(services, request.workspace)
    if wanted.filters and wanted.kind is not None:
        pmp: PmpClient | None = None
        try:
            connected = await connected_pmp(services, request.workspace, key)
        except NotConnectedError:
            connected = None  # numbers still work; names need PMP
        if connected is not None:
            pmp = connected.client
            names = _names(services, connected.workspace)
        resolved = await resolve_filters(wanted.kind, wanted.filters, names, pmp)
        if isinstance(resolved, FilterProblem):
            await request.respond(text=f"Nothing changed. {resolved.text}")
            return
        filters = resolved.filters
    removed = await unsubscribe(
        services.subscriptions.store,
        team_id=key.team_id,
        channel_id=channel_id,
        request=wanted,
        filters=filters,
    )
    await services.subscriptions.watch_changed(
        key.team_id, key.enterprise_id, [subscription.kind for subscription in removed]
    )
    what: str = "anything" if wanted.every_kind else (wanted.kind or "that")
    if wanted.filters and not wanted.every_kind:
        what = f"{what} with those filters"
    remaining = await services.subscriptions.store.list_for_channel(key.team_id, channel_id)
    shown = await _named(services, request.workspace, key, [*removed, *remaining])
    reply = build_unsubscribed(channel_id, removed, shown, what=what, remaining=remaining)
    await request.respond(text=reply.text, blocks=reply.blocks)


async def handle_subscriptions(request: CommandRequest) -> None:
    await request.ack()
    await reporting_failures(request.respond, _list(request))


async def _list(request: CommandRequest) -> None:
    wanted = request.parsed.subscription or SubscriptionRequest()
    services, key, client = request.services, request.key, request.client
    channel_id = await _resolved_channel(request, wanted)
    if channel_id is None:
        return
    reply = await _list_reply(services, client, request.workspace, key, request.user_id, channel_id)
    await request.respond(text=reply.text, blocks=reply.blocks)


async def _replace_with_list(
    respond: AsyncRespond,
    services: BotServices,
    client: AsyncWebClient,
    workspace: Workspace | None,
    key: WorkspaceKey,
    user_id: str,
    channel_id: str,
    *,
    note: str | None = None,
) -> None:
    """A button's answer: the message it was on becomes the channel's list as it is now."""
    reply = await _list_reply(services, client, workspace, key, user_id, channel_id, note=note)
    await respond_quietly(respond, replace_original=True, text=reply.text, blocks=reply.blocks)


async def _list_reply(
    services: BotServices,
    client: AsyncWebClient,
    workspace: Workspace | None,
    key: WorkspaceKey,
    user_id: str,
    channel_id: str,
    *,
    note: str | None = None,
) -> Reply:
    subscriptions = await services.subscriptions.store.list_for_channel(key.team_id, channel_id)
    is_admin = await services.admins.is_admin(client, key.team_id, user_id)
    refusal = (
        None if is_admin else await _refusal(services, client, workspace, key, user_id, channel_id)
    )
    return build_subscription_list(
        channel_id,
        subscriptions,
        await _named(services, workspace, key, subscriptions),
        may_manage=refusal is None,
        members_may_subscribe=bool(workspace and workspace.members_may_subscribe),
        is_admin=is_admin,
        note=note,
    )


# -------------------------------------------------------------------------------- buttons


async def _pressed_subscription(
    action: dict[str, Any], services: BotServices, key: WorkspaceKey
) -> Subscription | None:
    subscription_id = positive_id(action.get("value"))
    if subscription_id is None:
        return None
    return await services.subscriptions.store.get(key.team_id, subscription_id)


_GONE = "That subscription isn't there any more. `/pmp subscriptions` shows what the channel gets."


async def _guarded(
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    services: BotServices,
    workspace: Workspace | None,
    key: WorkspaceKey,
) -> Subscription | None:
    """The pressed subscription, when it still exists and the user may change it; else the
    user has been told why not."""
    subscription = await _pressed_subscription(action, services, key)
    if subscription is None:
        await respond_quietly(respond, replace_original=False, text=_GONE)
        return None
    refusal = await _refusal(
        services, client, workspace, key, user_of(body), subscription.channel_id
    )
    if refusal is not None:
        await respond_quietly(
            respond, replace_original=False, text=refusal_text(refusal, subscription.channel_id)
        )
        return None
    return subscription


async def handle_edit_button(
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
    # The trigger id lives 3 seconds: the checks are quick (cached admins, one database read).
    subscription = await _guarded(body, action, client, respond, services, workspace, workspace_key)
    if subscription is None:
        return
    names = _names(services, workspace)
    trigger_id = str(body.get("trigger_id", ""))
    if subscription.kind != "tickets" or names.departments or not has_pmp(workspace):
        await open_view(client, trigger_id, build_edit_modal(subscription, names), respond=respond)
        return

    async def fill() -> View:
        # No department named yet: PMP's tickets name them, so the form can list them.
        try:
            pmp = await connected_pmp(services, workspace, workspace_key)
        except NotConnectedError:
            return build_edit_modal(subscription, names)
        return build_edit_modal(subscription, await _learner(services, pmp.workspace, pmp.client))

    await open_then_fill(
        client,
        trigger_id,
        loading=build_edit_loading(),
        fill=fill,
        problem=build_edit_problem,
        respond=respond,
    )


async def handle_remove_button(
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
    subscription = await _guarded(body, action, client, respond, services, workspace, workspace_key)
    if subscription is None:
        return
    names = await _named(services, workspace, workspace_key, [subscription])
    prompt = build_remove_prompt(subscription, names)
    await respond_quietly(respond, replace_original=True, text=prompt.text, blocks=prompt.blocks)


async def handle_remove_confirmed(
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
    subscription = await _guarded(body, action, client, respond, services, workspace, workspace_key)
    if subscription is None:
        return
    await services.subscriptions.remove(workspace_key.enterprise_id, subscription)
    names = await _named(services, workspace, workspace_key, [subscription])
    note = removed_note(subscription, names)
    await _replace_with_list(
        respond,
        services,
        client,
        workspace,
        workspace_key,
        user_of(body),
        subscription.channel_id,
        note=note,
    )


async def handle_remove_cancelled(
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
    subscription = await _pressed_subscription(action, services, workspace_key)
    if subscription is None:
        await respond_quietly(respond, replace_original=True, text=_GONE)
        return
    await _replace_with_list(
        respond, services, client, workspace, workspace_key, user_of(body), subscription.channel_id
    )


async def handle_resume_button(
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
    subscription = await _guarded(body, action, client, respond, services, workspace, workspace_key)
    if subscription is None:
        return
    await services.subscriptions.resume(workspace_key.enterprise_id, subscription)
    note = f":arrow_forward: Resumed: {subscription.kind} posts go to the channel again."
    await _replace_with_list(
        respond,
        services,
        client,
        workspace,
        workspace_key,
        user_of(body),
        subscription.channel_id,
        note=note,
    )


async def handle_members_button(
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
    choice, _, channel_id = str(action.get("value") or "").partition(":")
    if choice not in ("on", "off") or not channel_id:
        logger.warning("The members switch sent a value pmp-bot doesn't know")
        return
    user = user_of(body)
    if not await services.admins.is_admin(client, workspace_key.team_id, user):
        await respond_quietly(
            respond, replace_original=False, text=refusal_text("admins_only", channel_id)
        )
        return
    allowed = choice == "on"
    await services.workspaces.set_options(
        workspace_key.team_id, workspace_key.enterprise_id, members_may_subscribe=allowed
    )
    updated = await services.workspaces.get(workspace_key.team_id, workspace_key.enterprise_id)
    await _replace_with_list(
        respond,
        services,
        client,
        updated or workspace,
        workspace_key,
        user,
        channel_id,
        note=members_choice_note(allowed),
    )


# ----------------------------------------------------------------------------- the modal


async def handle_edit_submission(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    services: BotServices,
    workspace: Workspace | None,
    workspace_key: WorkspaceKey,
) -> None:
    try:
        target = EditTarget.from_metadata(str(view.get("private_metadata") or ""))
    except ValueError:
        logger.warning("A subscription edit arrived without its subscription")
        await ack(response_action="update", view=build_edit_gone())
        return
    state = (view.get("state") or {}).get("values") or {}
    draft = read_edit(target, state)
    if isinstance(draft, tuple):
        block_id, problem = draft
        await ack(response_action="errors", errors={block_id: problem})
        return
    # Errors that belong to no one input go on the last one, which every edit modal has.
    last_block = SubscriptionIds.STYLE_BLOCK.value
    try:
        refusal = await _refusal(
            services, client, workspace, workspace_key, user_of(body), target.channel_id
        )
        if refusal is not None:
            await ack(
                response_action="errors",
                errors={last_block: refusal_text(refusal, target.channel_id)},
            )
            return
        pmp: PmpClient | None = None
        # Not connected: numbers still work; a name needs PMP and says so.
        with contextlib.suppress(NotConnectedError):
            pmp = (await connected_pmp(services, workspace, workspace_key)).client
        names = _names(services, workspace)
        resolved = await resolve_filters(target.kind, draft.terms, names, pmp)
        if isinstance(resolved, FilterProblem):
            block = filter_block_id(resolved.key) if resolved.key else last_block
            await ack(response_action="errors", errors={block: resolved.text})
            return
        saved = await update_subscription(
            services.subscriptions.store,
            workspace_key.team_id,
            target.subscription_id,
            filters=resolved.filters,
            broadcast_status=draft.broadcast,
            style=draft.style,
        )
    except Exception:
        logger.exception("Saving a subscription edit failed")
        await ack(response_action="errors", errors={last_block: SOMETHING_WENT_WRONG})
        return
    if saved is None:
        await ack(response_action="update", view=build_edit_gone())
    elif isinstance(saved, FilterProblem):
        await ack(response_action="errors", errors={last_block: saved.text})
    else:
        await ack(response_action="update", view=build_edit_saved(saved, resolved.labels))


# ------------------------------------------------------------------------------- wiring


def register(app: AsyncApp) -> None:
    app.action(SubscriptionIds.EDIT.value)(handle_edit_button)
    app.action(SubscriptionIds.REMOVE.value)(handle_remove_button)
    app.action(SubscriptionIds.REMOVE_CONFIRMED.value)(handle_remove_confirmed)
    app.action(SubscriptionIds.REMOVE_CANCELLED.value)(handle_remove_cancelled)
    app.action(SubscriptionIds.RESUME.value)(handle_resume_button)
    app.action(SubscriptionIds.MEMBERS.value)(handle_members_button)
    app.view(SubscriptionIds.EDIT_MODAL.value)(handle_edit_submission)


def routes() -> dict[Route, Subcommand]:
    return {
        (CommandAction.SUBSCRIBE, None): Subcommand(
            handle_subscribe,
            HelpEntry("subscribe [#channel] <kind> [filters]", "posts PMP activity in a channel"),
        ),
        (CommandAction.UNSUBSCRIBE, None): Subcommand(
            handle_unsubscribe,
            HelpEntry("unsubscribe [#channel] <kind>|all", "stops it"),
            needs_connection=False,
        ),
        (CommandAction.SUBSCRIPTIONS, None): Subcommand(
            handle_subscriptions,
            HelpEntry("subscriptions [#channel]", "shows what a channel gets"),
            needs_connection=False,
        ),
    }
