"""Block Kit for the ticket forms: the new-ticket modal (with its loading, done and retry
views) and the ticket settings modal. Pure builders: data in, a `View` out."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.blocks.cards import id_text, record_link
from bot.blocks.ids import TicketForm
from bot.forms.fields import build_inputs
from bot.forms.submission import WriteOutcome
from bot.grammar import SLASH_COMMAND
from bot.names import TICKET_SETTING_KINDS, TicketSettings
from bot.record_forms import FILE_LOSS_SETTING, FILE_LOSS_SETTING_WARNING, file_loss_setting_spec
from bot.text import safe
from bot.tickets import (
    SETTING_LABELS,
    NewTicketForm,
    details_spec,
    head_spec,
    people_spec,
    settings_spec,
    settings_values,
)

NEW_TICKET_TITLE = "New PMP ticket"
SETTINGS_TITLE = "Ticket settings"
SECTION_TEXT_MAX = 3000


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=text))


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=text)])


def _people_blocks(form: NewTicketForm) -> list[Block]:
    people = form.people
    if form.loading:
        return [_context(":hourglass_flowing_sand: Loading the customer's contacts…")]
    if people is None:
        return [_context("Choose a customer to list its contacts and projects.")]
    if not people.contacts:
        name = safe(people.customer.label, 200) or f"Customer {id_text(people.customer_id)}"
        return [
            _section(
                f":warning: *{name}* has no active contacts in PMP, and a ticket needs one. "
                "Add a contact in PMP, then choose the customer again."
            )
        ]
    return build_inputs(people_spec(people), form.people_values)


def build_new_ticket_modal(form: NewTicketForm) -> View:
    """The new-ticket form, filled in with `form`'s values."""
    blocks: list[Block] = []
    if form.notice:
        blocks.append(_section(":warning: " + safe(form.notice, SECTION_TEXT_MAX - 20)))
    blocks.extend(build_inputs(head_spec(), form.values))
    blocks.extend(_people_blocks(form))
    blocks.extend(build_inputs(details_spec(form.choices), form.values))
    return View(
        type="modal",
        callback_id=TicketForm.NEW_MODAL,
        title=NEW_TICKET_TITLE,
        submit="Open ticket",
        close="Cancel",
        private_metadata=form.metadata(),
        blocks=blocks,
    )


def build_ticket_retry_modal(form: NewTicketForm, reason: str) -> View:
    """The form again, as it was submitted, saying why the ticket wasn't opened."""
    return build_new_ticket_modal(
        form.with_notice(f"{reason} Nothing was saved; your entries are kept, submit again.")
    )


def build_ticket_loading_modal(text: str = "Getting the ticket form ready…") -> View:
    """Shown at once (a trigger_id lives 3 s) while the form's data loads."""
    return View(
        type="modal",
        title=NEW_TICKET_TITLE,
        close="Cancel",
        blocks=[_section(f":hourglass_flowing_sand: {safe(text, 500)}")],
    )


def build_ticket_problem_modal(text: str, *, title: str = NEW_TICKET_TITLE) -> View:
    """Why a form can't be shown (not connected, PMP failed); `text` is mrkdwn."""
    return View(type="modal", title=title[:24], close="Close", blocks=[_section(text)])


def build_ticket_done_view(outcome: WriteOutcome) -> View:
    """The ticket was opened: a link to it when its id is known, else how to find it."""
    label = safe(" ".join(outcome.label.split()), 250) or "(no subject)"
    if outcome.record_id is not None:
        label = f"{id_text(outcome.record_id)} {label}"
    blocks: list[Block] = [
        _section(f":white_check_mark: Opened ticket {record_link(outcome.url, label)} in PMP.")
    ]
    if outcome.note:
        blocks.append(_context(safe(outcome.note, 2000)))
    return View(type="modal", title=NEW_TICKET_TITLE, close="Done", blocks=blocks)


# ------------------------------------------------------------------------------- settings


def build_settings_loading_modal() -> View:
    return View(
        type="modal",
        title=SETTINGS_TITLE,
        close="Cancel",
        blocks=[_section(":hourglass_flowing_sand: Reading ticket names from PMP…")],
    )


def build_ticket_settings_modal(
    prefill: TicketSettings,
    note: str | None = None,
    *,
    allow_first_record_file_loss: bool = False,
) -> View:
    """One multiline input per kind of id, a `1 = Support` line per entry; then the admin's
    choice whether edits may cost the files of record #1 (PMP's module defect)."""
    intro = (
        "PMP's API can't list ticket departments, priorities, services or statuses, so name "
        "them here: one `id = name` per line. Cards and the new-ticket form use these names."
    )
    blocks: list[Block] = [_section(intro)]
    blocks.append(
        _context(
            safe(note, 2000)
            if note
            else "Filled in with the saved names and those seen on PMP tickets."
        )
    )
    blocks.extend(build_inputs(settings_spec(), settings_values(prefill)))
    blocks += [DividerBlock(), _section(f":warning: {FILE_LOSS_SETTING_WARNING}")]
    blocks.extend(
        build_inputs(file_loss_setting_spec(), {FILE_LOSS_SETTING: allow_first_record_file_loss})
    )
    return View(
        type="modal",
        callback_id=TicketForm.SETTINGS_MODAL,
        title=SETTINGS_TITLE,
        submit="Save",
        close="Cancel",
        blocks=blocks,
    )


def build_settings_saved_view(
    settings: TicketSettings, *, allow_first_record_file_loss: bool = False
) -> View:
    counts = ", ".join(
        f"{len(getattr(settings, kind))} {SETTING_LABELS[kind].lower()}"
        for kind in TICKET_SETTING_KINDS
    )
    edits = (
        ":warning: Lead, project and ticket edits are allowed even though PMP's API module "
        "deletes the files of lead, project or ticket #1 with each one."
        if allow_first_record_file_loss
        else "Lead, project and ticket edits that would make PMP delete the files of lead, "
        "project or ticket #1 are refused."
    )
    return View(
        type="modal",
        title=SETTINGS_TITLE,
        close="Done",
        blocks=[
            _section(f":white_check_mark: Saved the ticket settings: {counts}."),
            _section(edits),
            _context(f"Change them any time with `{SLASH_COMMAND} settings`."),
        ],
    )
