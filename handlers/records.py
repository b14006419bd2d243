"""Adding, changing and deleting customers, leads, projects and milestones (and deleting
tickets): `/pmp <record> new|edit|delete`, the Edit button and Delete menu of cards, the
record modals' submissions and their typeaheads.

A modal opens at once (a trigger id lives 3 seconds); an edit form shows "Reading…" first
and is filled in once PMP has answered (handlers._common.open_then_fill).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.cards import CardRef, MenuChoice, parse_menu_value, ref_of
from bot.blocks.connect import not_connected_headline, not_connected_text
from bot.blocks.fields import FAILED_VALUE, notice_option
from bot.blocks.help import HelpEntry
from bot.blocks.ids import CardAction, RecordForm
from bot.blocks.record_forms import (
    FormPlan,
    build_delete_cancelled,
    build_delete_failed,
    build_delete_prompt,
    build_delete_refused,
    build_deleted,
    build_done_view,
    build_form_problem_view,
    build_loading_modal,
    build_record_modal,
    check_submission,
    country_options,
    customer_option_label,
    edit_form,
    form_again,
    form_spec,
    new_form,
    pmp_field_errors,
    project_option_label,
    staff_shown,
)
from bot.blocks.staff import named_staff
from bot.grammar import CommandAction, RecordKind
from bot.pmp.links import RecordKind as PmpRecordKind
from bot.pmp_pool import WorkspaceKey
from bot.records import (
    DELETE_KINDS,
    DELETED,
    EDIT_KINDS,
    FORM_KINDS,
    WriteOutcome,
    delete_record,
    read_for_edit,
    read_record,
    save,
)
from bot.services import BotServices
from bot.slack.replies import SOMETHING_WENT_WRONG, reporting_failures, respond_quietly
from bot.slack.submission import Submission
from bot.slack.typeahead import typeahead
from bot.slack.workspace_pmp import NotConnectedError, connected_pmp
from bot.storage import Workspace
from handlers._common import (
    CommandRequest,
    Route,
    Subcommand,
    announce,
    open_then_fill,
    open_view,
    user_of,
)
from handlers.staff import staff_unlisted

logger = logging.getLogger(__name__)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


async def _open_edit_form(
    *,
    client: AsyncWebClient,
    trigger_id: str,
    respond: AsyncRespond,
    services: BotServices,
    workspace: Workspace | None,
    key: WorkspaceKey,
    kind: PmpRecordKind,
    record_id: int,
) -> None:
    async def fill() -> View:
        pmp = await connected_pmp(services, workspace, key)
        editable, staff_listed = await asyncio.gather(
            read_for_edit(
                pmp.client,
                kind,
                record_id,
                allow_first_record_file_loss=pmp.workspace.allow_first_record_file_loss,
            ),
            services.staff.can_list_now(pmp.client),
        )
        shown = staff_shown(kind, editable.record) if staff_listed else {}
        if shown:
            names = await services.staff.names(pmp.client, shown.values())
            staff = {field: named_staff(i, names.get(i)) for field, i in shown.items()}
            editable = replace(editable, names={**editable.names, **staff})
        return build_record_modal(edit_form(editable, staff_numbers=not staff_listed))

    await open_then_fill(
        client,
        trigger_id,
        loading=build_loading_modal(kind, record_id),
        fill=fill,
        problem=lambda text: build_form_problem_view(kind, text),
        respond=respond,
    )


# ------------------------------------------------------------------------------- commands


async def handle_new_command(request: CommandRequest) -> None:
    await request.ack()
    kind = request.parsed.record_kind
    assert kind is not None
    content = new_form(
        kind,
        name=request.parsed.query,
        staff_numbers=await staff_unlisted(request.services, request.workspace, request.key),
    )
    await open_view(
        request.client, request.trigger_id, build_record_modal(content), respond=request.respond
    )


async def handle_edit_command(request: CommandRequest) -> None:
    await request.ack()
    kind, record_id = request.parsed.record_kind, request.parsed.record_id
    assert kind is not None and record_id is not None
    await _open_edit_form(
        client=request.client,
        trigger_id=request.trigger_id,
        respond=request.respond,
        services=request.services,
        workspace=request.workspace,
        key=request.key,
        kind=kind,
        record_id=record_id,
    )


async def handle_delete_command(request: CommandRequest) -> None:
    await request.ack()
    await reporting_failures(request.respond, _delete_prompt(request))


async def _delete_prompt(request: CommandRequest) -> None:
    services = request.services
    if not await services.may_delete(request.client, request.key.team_id, request.user_id):
        refused = build_delete_refused()
        await request.respond(text=refused.text, blocks=refused.blocks)
        return
    kind, record_id = request.parsed.record_kind, request.parsed.record_id
    assert kind is not None and record_id is not None
    pmp = await connected_pmp(services, request.workspace, request.key)
    record = await read_record(pmp.client, kind, record_id)
    prompt = build_delete_prompt(ref_of(record), record.display_name, base_url=pmp.base_url)
    await request.respond(text=prompt.text, blocks=prompt.blocks)


# -------------------------------------------------------------------------------- buttons


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
    try:
        ref = CardRef.parse(str(action.get("value", "")))
    except ValueError:
        ref = None
    if ref is None or ref.kind not in EDIT_KINDS:
        logger.warning("An Edit button carried no record reference pmp-bot can edit")
        return
    await _open_edit_form(
        client=client,
        trigger_id=str(body.get("trigger_id", "")),
        respond=respond,
        services=services,
        workspace=workspace,
        key=workspace_key,
        kind=ref.kind,
        record_id=ref.id,
    )


async def _delete(
    *,
    ref: CardRef,
    user_id: str,
    client: AsyncWebClient,
    respond: AsyncRespond,
    services: BotServices,
    workspace: Workspace | None,
    key: WorkspaceKey,
) -> None:
    # Checked again here: the card or prompt may have been shown to someone else, or
    # before the user stopped being an admin.
    if not await services.may_delete(client, key.team_id, user_id):
        refused = build_delete_refused()
        await respond(replace_original=False, text=refused.text, blocks=refused.blocks)
        return
    pmp = await connected_pmp(services, workspace, key)
    deletion = await delete_record(pmp.client, ref.kind, ref.id)
    if deletion.problem is not None:
        failed = build_delete_failed(ref, deletion.label, deletion.problem)
        await respond(replace_original=False, text=failed.text, blocks=failed.blocks)
        return
    deleted = build_deleted(ref, deletion.label, user_id)
    await respond(replace_original=True, text=deleted.text, blocks=deleted.blocks)
    announce(
        services,
        pmp,
        user_id,
        WriteOutcome(kind=ref.kind, label=deletion.label, verb=DELETED, record_id=ref.id),
    )


async def handle_delete_button(
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
        ref = CardRef.parse(str(action.get("value", "")))
    except ValueError:
        logger.warning("A Delete button carried no record reference")
        return

    await reporting_failures(
        respond,
        _delete(
            ref=ref,
            user_id=user_of(body),
            client=client,
            respond=respond,
            services=services,
            workspace=workspace,
            key=workspace_key,
        ),
    )


async def handle_card_delete(
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
        choice, ref = parse_menu_value(str(_mapping(action.get("selected_option")).get("value")))
    except ValueError:
        logger.warning("A card's Delete menu sent a value pmp-bot doesn't know")
        return
    if choice is not MenuChoice.DELETE:
        return

    await reporting_failures(
        respond,
        _delete(
            ref=ref,
            user_id=user_of(body),
            client=client,
            respond=respond,
            services=services,
            workspace=workspace,
            key=workspace_key,
        ),
    )


async def handle_delete_cancel(
    ack: AsyncAck, action: dict[str, Any], respond: AsyncRespond
) -> None:
    await ack()
    try:
        ref = CardRef.parse(str(action.get("value", "")))
    except ValueError:
        return
    cancelled = build_delete_cancelled(ref)
    await respond_quietly(
        respond, replace_original=True, text=cancelled.text, blocks=cancelled.blocks
    )


# ----------------------------------------------------------------------------- submission


async def handle_record_submission(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    services: BotServices,
    workspace: Workspace | None,
    workspace_key: WorkspaceKey,
) -> None:
    try:
        plan = FormPlan.from_metadata(str(view.get("private_metadata") or ""))
    except ValueError:
        logger.warning("A record form arrived without its plan")
        await ack(
            response_action="update", view=build_form_problem_view(None, SOMETHING_WENT_WRONG)
        )
        return
    state = _mapping(_mapping(view.get("state")).get("values"))
    checked = check_submission(plan, state)
    spec = form_spec(plan)
    first_block = spec.fields[0].block_id(spec.id)
    if not checked.ok:
        await ack(response_action="errors", errors=dict(checked.errors))
        return
    try:
        pmp = await connected_pmp(services, workspace, workspace_key)
    except NotConnectedError as error:
        problem = not_connected_text(reconnect=error.reconnect)
        await ack(response_action="errors", errors={first_block: problem})
        return
    user = user_of(body)

    async def write() -> WriteOutcome:
        return await save(
            pmp.client,
            pmp.base_url,
            plan.write(checked),
            allow_first_record_file_loss=pmp.workspace.allow_first_record_file_loss,
        )

    async def after(outcome: WriteOutcome) -> None:
        announce(services, pmp, user, outcome)

    await Submission(
        ack=ack,
        client=client,
        idempotency=services.idempotency,
        team_id=workspace_key.team_id,
        view=view,
        title=str(_mapping(view.get("title")).get("text") or "PMP"),
        first_block_id=first_block,
        write=write,
        done_view=build_done_view,
        retry_view=lambda problem: build_record_modal(form_again(plan, state), problem=problem),
        after=after,
        field_errors=lambda error: pmp_field_errors(plan, error),
    ).run()


# -------------------------------------------------------------------------------- options


async def _record_options(
    services: BotServices,
    workspace: Workspace | None,
    key: WorkspaceKey,
    kind: PmpRecordKind,
    body: dict[str, Any],
) -> list[dict[str, Any]]:
    try:
        pmp = await connected_pmp(services, workspace, key)
    except NotConnectedError as error:
        return [notice_option(not_connected_headline(reconnect=error.reconnect), FAILED_VALUE)]
    label = project_option_label if kind == "project" else customer_option_label
    query = str(body.get("value") or "")
    return await typeahead(services.lookups, pmp.client, pmp.cache_scope, kind, query, label)


async def handle_project_options(
    ack: AsyncAck,
    body: dict[str, Any],
    services: BotServices,
    workspace: Workspace | None,
    workspace_key: WorkspaceKey,
) -> None:
    await ack(options=await _record_options(services, workspace, workspace_key, "project", body))


async def handle_customer_options(
    ack: AsyncAck,
    body: dict[str, Any],
    services: BotServices,
    workspace: Workspace | None,
    workspace_key: WorkspaceKey,
) -> None:
    await ack(options=await _record_options(services, workspace, workspace_key, "customer", body))


async def handle_country_options(ack: AsyncAck, body: dict[str, Any]) -> None:
    await ack(options=country_options(str(body.get("value") or "")))


# ------------------------------------------------------------------------------- wiring


def register(app: AsyncApp) -> None:
    app.view(RecordForm.MODAL.value)(handle_record_submission)
    app.action(CardAction.EDIT_MILESTONE.value)(handle_edit_button)
    app.action(CardAction.DELETE.value)(handle_card_delete)
    app.action(RecordForm.DELETE.value)(handle_delete_button)
    app.action(RecordForm.DELETE_CANCEL.value)(handle_delete_cancel)
    app.options(RecordForm.PROJECT_OPTIONS.value)(handle_project_options)
    app.options(RecordForm.CUSTOMER_OPTIONS.value)(handle_customer_options)
    app.options(RecordForm.COUNTRY_OPTIONS.value)(handle_country_options)


def routes() -> dict[Route, Subcommand]:
    table: dict[Route, Subcommand] = {}
    for kind in FORM_KINDS:
        table[(CommandAction.NEW, RecordKind(kind))] = Subcommand(
            handle_new_command, HelpEntry(f"{kind} new", f"adds a {kind}")
        )
    for kind in EDIT_KINDS:
        table[(CommandAction.EDIT, RecordKind(kind))] = Subcommand(
            handle_edit_command, HelpEntry(f"{kind} edit <number>", f"changes a {kind}")
        )
    for kind in DELETE_KINDS:
        table[(CommandAction.DELETE, RecordKind(kind))] = Subcommand(
            handle_delete_command,
            HelpEntry(f"{kind} delete <number>", f"deletes a {kind}", admin_only=True),
        )
    return table
