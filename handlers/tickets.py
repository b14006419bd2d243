"""Opening PMP tickets from Slack, and naming ticket ids (`/pmp settings`).

The new-ticket modal opens from `/pmp ticket new [subject]`, a customer card's "New ticket"
button, the "New PMP ticket" shortcut and the "Create PMP ticket" message shortcut. The
modal opens at once (a trigger_id lives 3 s); whatever takes PMP time (a customer's contacts
and projects) is filled in afterwards with views.update.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.connect import build_admins_only, not_connected_headline, not_connected_text
from bot.blocks.fields import FAILED_VALUE, notice_option
from bot.blocks.help import HelpEntry
from bot.blocks.ids import CardAction, TicketForm
from bot.blocks.settings_form import (
    WorkspaceOptions,
    build_settings_loading_modal,
    build_settings_saved_view,
    build_ticket_settings_modal,
    read_file_loss_setting,
    read_options,
    read_settings,
    settings_spec,
)
from bot.blocks.ticket_forms import (
    NEW_TICKET_TITLE,
    SUBJECT_BLOCK,
    NewTicketForm,
    build_new_ticket_modal,
    build_ticket_done_view,
    build_ticket_loading_modal,
    build_ticket_problem_modal,
    build_ticket_retry_modal,
    form_from_view,
    new_ticket_form,
    pmp_field_errors,
    read_new_ticket,
)
from bot.grammar import CommandAction, RecordKind
from bot.names import Choice
from bot.pmp import PmpClient, PmpError, PmpRecord, normalise_base_url
from bot.pmp_pool import WorkspaceKey
from bot.records import WriteOutcome
from bot.services import BotServices
from bot.slack.replies import SOMETHING_WENT_WRONG
from bot.slack.submission import Submission
from bot.slack.typeahead import typeahead
from bot.slack.workspace_pmp import ConnectedPmp, NotConnectedError, connected_pmp
from bot.storage import UnfurlMode, Workspace
from bot.text import escape_mrkdwn
from bot.tickets import (
    CustomerPeople,
    TicketChoices,
    choices_learning_departments,
    learn_from_pmp,
    load_customer_people,
    open_ticket,
    prefill_from_message,
    settings_note,
    settings_prefill,
    ticket_choices,
)
from handlers._common import (
    CommandRequest,
    Route,
    Subcommand,
    announce,
    has_pmp,
    open_then_fill,
    open_view,
    update_view,
    user_of,
)
from handlers.staff import staff_unlisted

logger = logging.getLogger(__name__)

# A customer's contacts usually arrive faster than this; otherwise the modal says they're
# on their way rather than seeming to ignore the choice.
LOADING_NOTICE_AFTER_S = 0.5
# The settings form waits this long for PMP's tickets (to suggest names) before opening.
SETTINGS_LEARN_TIMEOUT_S = 8.0
# Choosing a customer waits at most this long for PMP's tickets, to list its departments.
LEARN_ON_CHOICE_TIMEOUT_S = 3.0


def _site(workspace: Workspace | None) -> str:
    try:
        return normalise_base_url(workspace.pmp_base_url or "") if workspace else ""
    except ValueError:
        return ""


def _choices(services: BotServices, workspace: Workspace | None) -> TicketChoices:
    assert workspace is not None
    learned = services.lookups.ticket_names.names(_site(workspace))
    return ticket_choices(workspace.ticket_settings, learned)


# ------------------------------------------------------------------------ opening the form


def _problem_modal(text: str) -> View:
    return build_ticket_problem_modal(escape_mrkdwn(text))


def _not_connected_modal(workspace: Workspace | None) -> View:
    reconnect = workspace is not None and workspace.needs_reconnect
    return build_ticket_problem_modal(not_connected_text(reconnect=reconnect))


async def handle_new_ticket_command(request: CommandRequest) -> None:
    await request.ack()
    form = new_ticket_form(
        _choices(request.services, request.workspace),
        subject=request.parsed.query,
        staff_numbers=await staff_unlisted(request.services, request.workspace, request.key),
    )
    view = build_new_ticket_modal(form)
    await open_view(request.client, request.trigger_id, view, respond=request.respond)


async def open_new_ticket_form(
    client: AsyncWebClient, trigger_id: str, services: BotServices, workspace: Workspace | None
) -> None:
    """Opens an empty new-ticket form (the shortcut, the Home tab's New ticket button), or
    says the workspace isn't connected."""
    if not has_pmp(workspace):
        await open_view(client, trigger_id, _not_connected_modal(workspace))
        return
    staff_numbers = await staff_unlisted(services, workspace)
    form = new_ticket_form(_choices(services, workspace), staff_numbers=staff_numbers)
    await open_view(client, trigger_id, build_new_ticket_modal(form))


async def handle_new_ticket_shortcut(
    ack: AsyncAck,
    shortcut: dict[str, Any],
    client: AsyncWebClient,
    services: BotServices,
    workspace: Workspace | None,
) -> None:
    await ack()
    await open_new_ticket_form(client, str(shortcut.get("trigger_id", "")), services, workspace)


async def _permalink(client: AsyncWebClient, channel_id: str, message_ts: str) -> str | None:
    try:
        response = await client.chat_getPermalink(channel=channel_id, message_ts=message_ts)
    except SlackApiError as error:
        # A conversation the bot can't see: the ticket goes without the link.
        logger.info("chat.getPermalink failed: %s", error.response.get("error"))
        return None
    link = response.get("permalink")
    return str(link) if link else None


async def handle_message_shortcut(
    ack: AsyncAck,
    shortcut: dict[str, Any],
    client: AsyncWebClient,
    services: BotServices,
    workspace: Workspace | None,
) -> None:
    await ack()
    trigger_id = str(shortcut.get("trigger_id", ""))
    if not has_pmp(workspace):
        await open_view(client, trigger_id, _not_connected_modal(workspace))
        return

    async def fill() -> View:
        message = shortcut.get("message") or {}
        channel_id = str((shortcut.get("channel") or {}).get("id", ""))
        permalink = await _permalink(client, channel_id, str(message.get("ts", "")))
        prefill = prefill_from_message(str(message.get("text") or ""), permalink)
        form = new_ticket_form(
            _choices(services, workspace), subject=prefill.subject, message=prefill.message
        )
        return build_new_ticket_modal(form)

    await open_then_fill(
        client, trigger_id, loading=build_ticket_loading_modal(), fill=fill, problem=_problem_modal
    )


async def handle_card_new_ticket(
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
    value = str(action.get("value", ""))
    if not has_pmp(workspace):
        await open_view(client, trigger_id, _not_connected_modal(workspace))
        return
    if not (value.isascii() and value.isdigit() and int(value) > 0):
        logger.warning("A New ticket button carried no customer id")
        return

    async def fill() -> View:
        pmp = await connected_pmp(services, workspace, workspace_key)
        try:
            people, choices, staff_listed = await asyncio.gather(
                load_customer_people(pmp.client, int(value)),
                _choices_with_departments(services, pmp, _choices(services, workspace)),
                services.staff.can_list_now(pmp.client),
            )
        except PmpError as error:
            return build_ticket_problem_modal(
                f"Couldn't load the customer: {escape_mrkdwn(error.user_message)}"
            )
        form = new_ticket_form(choices, staff_numbers=not staff_listed)
        return build_new_ticket_modal(form.with_people(people))

    await open_then_fill(
        client, trigger_id, loading=build_ticket_loading_modal(), fill=fill, problem=_problem_modal
    )


async def handle_customer_chosen(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    services: BotServices,
    workspace: Workspace | None,
    workspace_key: WorkspaceKey,
) -> None:
    """A customer was chosen in the modal: list its contacts and projects, keeping every
    other value the user has typed."""
    await ack()
    view = body.get("view") or {}
    view_id = str(view.get("id", ""))
    if not view_id:
        return  # not from a modal: there is no form to update
    form = form_from_view(view)
    option = action.get("selected_option") or {}
    value = str(option.get("value") or "")
    if not (value.isascii() and value.isdigit() and int(value) > 0):
        # Cleared, or PMP's "slow" notice chosen: nothing to list.
        await update_view(client, view_id, build_new_ticket_modal(_without_customer(form)))
        return
    customer = Choice(value, str((option.get("text") or {}).get("text") or f"#{value}"))
    try:
        pmp = await connected_pmp(services, workspace, workspace_key)
        people, choices, staff_listed = await asyncio.gather(
            _load_people(client, view_id, form, customer, pmp.client),
            _choices_with_departments(services, pmp, form.choices),
            services.staff.can_list_now(pmp.client),
        )
        updated = build_new_ticket_modal(
            form.with_choices(choices)
            .with_notice(None)
            .with_people(people)
            .with_staff_numbers(not staff_listed)
        )
    except NotConnectedError as error:
        updated = build_ticket_problem_modal(not_connected_text(reconnect=error.reconnect))
    except PmpError as error:
        problem = f"Couldn't load the contacts: {error.user_message} Choose the customer again."
        updated = build_new_ticket_modal(form.loading_for(customer).with_notice(problem))
    except Exception:
        logger.exception("Loading a customer's contacts failed")
        updated = build_new_ticket_modal(
            form.loading_for(customer).with_notice(SOMETHING_WENT_WRONG)
        )
    await update_view(client, view_id, updated)


def _without_customer(form: NewTicketForm) -> NewTicketForm:
    return NewTicketForm(
        choices=form.choices,
        values={**form.values, "userid": None},
        notice=form.notice,
        staff_numbers=form.staff_numbers,
    )


async def _choices_with_departments(
    services: BotServices, pmp: ConnectedPmp, current: TicketChoices
) -> TicketChoices:
    """The form's menus; without a department menu, the departments PMP's tickets use are
    learned meanwhile, so the form lists the numbers that exist."""
    return await choices_learning_departments(
        pmp.client,
        services.lookups.ticket_names,
        pmp.workspace.ticket_settings,
        current,
        timeout_s=LEARN_ON_CHOICE_TIMEOUT_S,
    )


async def _load_people(
    client: AsyncWebClient,
    view_id: str,
    form: NewTicketForm,
    customer: Choice,
    pmp: PmpClient,
) -> CustomerPeople:
    loading = asyncio.ensure_future(load_customer_people(pmp, customer))
    done, _ = await asyncio.wait({loading}, timeout=LOADING_NOTICE_AFTER_S)
    if not done:
        await update_view(client, view_id, build_new_ticket_modal(form.loading_for(customer)))
    return await loading


async def handle_customer_options(
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
    options = await typeahead(
        services.lookups,
        pmp.client,
        pmp.cache_scope,
        "customer",
        str(body.get("value") or ""),
        _label,
    )
    await ack(options=options)


def _label(record: PmpRecord) -> str:
    return record.display_name


# ------------------------------------------------------------------------ submitting


async def handle_new_ticket_submission(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    services: BotServices,
    workspace: Workspace | None,
    workspace_key: WorkspaceKey,
) -> None:
    known = _choices(services, workspace).departments if has_pmp(workspace) else ()
    reading = read_new_ticket(view, known_departments=known)
    draft = reading.draft
    if reading.to_confirm is not None:
        # A department PMP may not have: PMP would hide the ticket, so say so first.
        await ack(response_action="update", view=build_new_ticket_modal(reading.to_confirm))
        return
    if draft is None:
        await ack(response_action="errors", errors=reading.errors)
        return
    try:
        pmp = await connected_pmp(services, workspace, workspace_key)
    except NotConnectedError as error:
        problem = not_connected_text(reconnect=error.reconnect)
        await ack(response_action="errors", errors={SUBJECT_BLOCK: problem})
        return
    user = user_of(body)

    async def write() -> WriteOutcome:
        opened = await open_ticket(pmp.client, draft)
        return WriteOutcome(
            kind="ticket",
            label=opened.subject,
            verb="opened",
            record_id=opened.ticket_id,
            url=opened.url,
            note=opened.note,
        )

    async def after(outcome: WriteOutcome) -> None:
        announce(services, pmp, user, outcome)

    await Submission(
        ack=ack,
        client=client,
        idempotency=services.idempotency,
        team_id=workspace_key.team_id,
        view=view,
        title=NEW_TICKET_TITLE,
        first_block_id=SUBJECT_BLOCK,
        write=write,
        done_view=build_ticket_done_view,
        retry_view=lambda reason: build_ticket_retry_modal(reading.form, reason),
        after=after,
        field_errors=lambda error: pmp_field_errors(error, reading.form),
    ).run()


# ------------------------------------------------------------------------ ticket settings


async def handle_settings_command(request: CommandRequest) -> None:
    await request.ack()
    services, workspace = request.services, request.workspace
    if not await services.admins.is_admin(request.client, request.key.team_id, request.user_id):
        await request.respond(
            blocks=build_admins_only("change the ticket settings"), text="Admins only"
        )
        return
    assert workspace is not None

    async def fill() -> View:
        try:
            pmp = await connected_pmp(services, workspace, request.key)
            problem = await learn_from_pmp(
                pmp.client, services.lookups.ticket_names, timeout_s=SETTINGS_LEARN_TIMEOUT_S
            )
        except NotConnectedError as error:
            problem = not_connected_headline(reconnect=error.reconnect)
        except Exception:
            logger.exception("Reading PMP's tickets for the settings form failed")
            problem = SOMETHING_WENT_WRONG
        learned = services.lookups.ticket_names.names(_site(workspace))
        prefill = settings_prefill(workspace.ticket_settings, learned)
        return build_ticket_settings_modal(
            prefill.settings,
            settings_note(problem, prefill.overflowing),
            allow_first_record_file_loss=workspace.allow_first_record_file_loss,
            options=_options_of(workspace),
        )

    await open_then_fill(
        request.client,
        request.trigger_id,
        loading=build_settings_loading_modal(),
        fill=fill,
        problem=_problem_modal,
        respond=request.respond,
    )


def _options_of(workspace: Workspace) -> WorkspaceOptions:
    return WorkspaceOptions(
        unfurl_mode=workspace.unfurl_mode,
        unfurl_in_slack_connect=workspace.unfurl_in_slack_connect,
        members_may_subscribe=workspace.members_may_subscribe,
        poll_interval_seconds=workspace.poll_interval_seconds,
    )


async def handle_settings_submission(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    services: BotServices,
    workspace_key: WorkspaceKey,
) -> None:
    reading = read_settings(view)
    if not await services.admins.is_admin(client, workspace_key.team_id, user_of(body)):
        spec = settings_spec()
        await ack(
            response_action="errors",
            errors={
                spec.fields[0].block_id(spec.id): (
                    "Only workspace admins and owners can change the ticket settings."
                )
            },
        )
        return
    options = read_options(view)
    if reading.settings is None or options.options is None:
        await ack(response_action="errors", errors={**reading.errors, **options.errors})
        return
    allow = read_file_loss_setting(view)
    await services.workspaces.set_ticket_settings(
        workspace_key.team_id, workspace_key.enterprise_id, reading.settings
    )
    await services.workspaces.set_allow_first_record_file_loss(
        workspace_key.team_id, workspace_key.enterprise_id, allow
    )
    chosen = options.options
    await services.workspaces.set_options(
        workspace_key.team_id,
        workspace_key.enterprise_id,
        unfurl_mode=cast(UnfurlMode, chosen.unfurl_mode),
        unfurl_in_slack_connect=chosen.unfurl_in_slack_connect,
        members_may_subscribe=chosen.members_may_subscribe,
        poll_interval_seconds=chosen.poll_interval_seconds,
    )
    if allow:
        logger.warning(
            "Team %s allows lead, project and ticket edits although PMP's API module deletes "
            "the files of record #1 with each one",
            workspace_key.team_id,
        )
    await ack(
        response_action="update",
        view=build_settings_saved_view(
            reading.settings, allow_first_record_file_loss=allow, options=chosen
        ),
    )


# ------------------------------------------------------------------------ wiring


def routes() -> dict[Route, Subcommand]:
    return {
        (CommandAction.NEW, RecordKind.TICKET): Subcommand(
            handle_new_ticket_command, HelpEntry("ticket new [subject]", "opens a ticket in PMP")
        ),
        (CommandAction.SETTINGS, None): Subcommand(
            handle_settings_command,
            HelpEntry(
                "settings",
                "names ticket departments, priorities, services and statuses; allows edits "
                "that cost PMP record #1's files; link previews and other workspace options",
                admin_only=True,
            ),
        ),
    }


def register(app: AsyncApp) -> None:
    app.shortcut(TicketForm.NEW_SHORTCUT.value)(handle_new_ticket_shortcut)
    app.shortcut(TicketForm.FROM_MESSAGE.value)(handle_message_shortcut)
    app.action(CardAction.NEW_TICKET.value)(handle_card_new_ticket)
    app.action(TicketForm.CUSTOMER_INPUT.value)(handle_customer_chosen)
    app.options(TicketForm.CUSTOMER_INPUT.value)(handle_customer_options)
    app.view(TicketForm.NEW_MODAL.value)(handle_new_ticket_submission)
    app.view(TicketForm.SETTINGS_MODAL.value)(handle_settings_submission)
