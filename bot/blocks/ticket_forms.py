"""The new-ticket form: its fields, what it shows (`NewTicketForm`), reading a submitted view
into a `TicketDraft` with an error per input block, PMP's field errors mapped back, and its
modals (loading, done, retry). Pure: data in, a `View` out, and a view back to data."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.blocks.cards import id_text, record_link
from bot.blocks.fields import FormField, FormSpec, Kind, build_inputs, read_form, typed_values
from bot.blocks.ids import StaffPicker, TicketForm
from bot.grammar import SLASH_COMMAND
from bot.names import Choice, positive_id
from bot.pmp import PmpValidationError
from bot.records import WriteOutcome
from bot.text import safe, truncate
from bot.tickets import (
    CC_MAX,
    MESSAGE_MAX,
    SUBJECT_MAX,
    TAGS_MAX,
    CustomerPeople,
    TicketChoices,
    TicketDraft,
    quoted,
    unknown_department_notice,
)

FORM_ID = "ticket"

SUBJECT_BLOCK = f"{FORM_ID}.subject"

CUSTOMER_BLOCK = f"{FORM_ID}.userid"


# ------------------------------------------------------------------------- the form


def _people_form_id(people: CustomerPeople) -> str:
    # The contact and project inputs get new block ids for each customer, so Slack doesn't
    # keep a contact chosen for the customer shown before.
    return f"{FORM_ID}_{people.customer_id}"


@dataclass(frozen=True)
class NewTicketForm:
    """What the new-ticket modal shows."""

    choices: TicketChoices
    values: Mapping[str, Any] = field(default_factory=dict)  # by field name; customer a Choice
    people: CustomerPeople | None = None
    people_values: Mapping[str, Any] = field(default_factory=dict)
    loading: bool = False  # the chosen customer's contacts are on their way
    notice: str | None = None  # shown above the fields: why saving failed, a load problem
    # A department number pmp-bot doesn't know, which the user was warned about: submitting
    # it again opens the ticket.
    confirmed_department: int | None = None
    # PMP won't list staff to this token: the assignee is a number input (and a note says why).
    staff_numbers: bool = False

    def with_people(self, people: CustomerPeople) -> NewTicketForm:
        """The form for `people.customer`, its primary contact chosen."""
        return replace(
            self,
            values={**self.values, "userid": people.customer},
            people=people,
            people_values={"contactid": people.primary_contact},
            loading=False,
        )

    def loading_for(self, customer: Choice) -> NewTicketForm:
        return replace(
            self,
            values={**self.values, "userid": customer},
            people=None,
            people_values={},
            loading=True,
        )

    def with_notice(self, notice: str | None) -> NewTicketForm:
        return replace(self, notice=notice, loading=False)

    def with_staff_numbers(self, staff_numbers: bool) -> NewTicketForm:
        """The form with a staff number input (PMP won't list staff) or the staff picker,
        keeping the assignee chosen or typed."""
        if staff_numbers == self.staff_numbers:
            return self
        assigned = self.values.get("assigned")
        if isinstance(assigned, Choice):
            assigned = assigned.value
        elif (number := positive_id(assigned)) is not None:
            assigned = Choice(str(number), f"Staff #{number}")
        else:
            assigned = None
        values = {**self.values, "assigned": assigned}
        return replace(self, staff_numbers=staff_numbers, values=values)

    def with_choices(self, choices: TicketChoices) -> NewTicketForm:
        return replace(self, choices=choices)

    def asking_to_confirm(self, department: int, known: Mapping[int, str]) -> NewTicketForm:
        """The form again, warning that `department` may not exist in PMP; submitting it
        unchanged opens the ticket."""
        return replace(
            self,
            notice=unknown_department_notice(department, known),
            loading=False,
            confirmed_department=department,
        )

    def metadata(self) -> str:
        data: dict[str, Any] = {}
        if self.people is not None:
            customer = self.people.customer
            data |= {"c": customer.value, "n": truncate(customer.label, 75)}
        if self.confirmed_department is not None:
            data["d"] = self.confirmed_department
        if self.staff_numbers:
            data["s"] = 1
        return json.dumps(data) if data else "{}"


def new_ticket_form(
    choices: TicketChoices,
    *,
    subject: str | None = None,
    message: str | None = None,
    staff_numbers: bool = False,
) -> NewTicketForm:
    values: dict[str, Any] = {"priority": choices.default_priority}
    if len(choices.departments) == 1:
        values["department"] = choices.departments[0].value
    if subject:
        values["subject"] = truncate(subject.strip(), SUBJECT_MAX)
    if message:
        values["message"] = truncate(message, MESSAGE_MAX)
    return NewTicketForm(choices=choices, values=values, staff_numbers=staff_numbers)


def head_spec() -> FormSpec:
    return FormSpec(
        FORM_ID,
        [
            FormField(
                "subject",
                "Subject",
                required=True,
                max_length=SUBJECT_MAX,
                placeholder="What is it about?",
            ),
            FormField(
                "userid",
                "Customer",
                kind=Kind.EXTERNAL,
                required=True,
                dispatch_action=True,
                action=TicketForm.CUSTOMER_INPUT,
                placeholder="Type to search customers…",
            ),
        ],
    )


def people_spec(people: CustomerPeople) -> FormSpec:
    fields: list[FormField] = []
    if people.contacts:
        fields.append(FormField("contactid", "Contact", Kind.SELECT, True, choices=people.contacts))
    if people.projects:
        fields.append(FormField("project_id", "Project", Kind.SELECT, choices=people.projects))
    return FormSpec(_people_form_id(people), fields)


def _id_field(name: str, label: str, choices: Sequence[Choice], *, required: bool) -> FormField:
    if choices:
        return FormField(name, label, Kind.SELECT, required, choices=choices)
    return FormField(
        name,
        f"{label} number",
        Kind.INTEGER,
        required,
        min_value=1,
        hint=(
            f"Its id in PMP, under Setup → Support → {label}s. Choosing the customer lists "
            f"the {label.lower()}s PMP's tickets use; an admin can name them with "
            f"{SLASH_COMMAND} settings."
        ),
    )


STAFF_NUMBER_HINT = (
    "The staff member's number in PMP; leave empty to assign nobody. PMP's API token isn't "
    "allowed to list staff, so they can't be picked by name."
)


def _assignee(staff_numbers: bool) -> FormField:
    if staff_numbers:
        return FormField(
            "assigned", "Assign to staff number", Kind.INTEGER, min_value=1, hint=STAFF_NUMBER_HINT
        )
    return FormField(
        "assigned",
        "Assign to",
        Kind.EXTERNAL,
        action=StaffPicker.OPTIONS,
        placeholder="Type a staff member's name…",
        hint="Leave empty to assign nobody.",
        noun="a staff member",
    )


def details_spec(choices: TicketChoices, *, staff_numbers: bool = False) -> FormSpec:
    return FormSpec(
        FORM_ID,
        [
            _id_field("department", "Department", choices.departments, required=True),
            FormField("priority", "Priority", Kind.SELECT, choices=choices.priorities),
            _id_field("service", "Service", choices.services, required=False),
            _assignee(staff_numbers),
            FormField("message", "Message", Kind.MULTILINE, max_length=MESSAGE_MAX),
            FormField(
                "cc",
                "CC",
                max_length=CC_MAX,
                placeholder="jane@example.com, ops@example.com",
                hint="Email addresses to copy, separated by commas.",
            ),
            FormField(
                "tags",
                "Tags",
                max_length=TAGS_MAX,
                placeholder="printer, urgent",
                hint="Separated by commas.",
            ),
        ],
    )


# ------------------------------------------------------------------------- reading a view


def _state(view: Mapping[str, Any]) -> Mapping[str, Any]:
    state = view.get("state") or {}
    values = state.get("values") if isinstance(state, Mapping) else None
    return values if isinstance(values, Mapping) else {}


def _options_of(view: Mapping[str, Any], block_id: str) -> tuple[Choice, ...]:
    """The options of a static select in the view as it was sent ((): no such select)."""
    for block in view.get("blocks") or []:
        if not isinstance(block, Mapping) or block.get("block_id") != block_id:
            continue
        element = block.get("element") or {}
        if element.get("type") != "static_select":
            return ()
        return tuple(
            Choice(str(option.get("value", "")), str((option.get("text") or {}).get("text", "")))
            for option in element.get("options") or []
            if isinstance(option, Mapping)
        )
    return ()


def _metadata(view: Mapping[str, Any]) -> dict[str, Any]:
    try:
        data = json.loads(str(view.get("private_metadata") or "{}"))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def form_from_view(view: Mapping[str, Any]) -> NewTicketForm:
    """The form as the user sees it in `view` (a block_actions or view_submission payload's
    view): its menus, the customer whose contacts it lists, and everything typed."""
    block = f"{FORM_ID}."
    choices = TicketChoices(
        departments=_options_of(view, block + "department"),
        priorities=_options_of(view, block + "priority"),
        services=_options_of(view, block + "service"),
    )
    state = _state(view)
    metadata = _metadata(view)
    staff_numbers = bool(metadata.get("s"))
    details = details_spec(choices, staff_numbers=staff_numbers)
    values = {**typed_values(head_spec(), state), **typed_values(details, state)}
    people: CustomerPeople | None = None
    people_values: dict[str, Any] = {}
    customer_id = positive_id(metadata.get("c"))
    if customer_id is not None:
        shell = CustomerPeople(Choice(str(customer_id), str(metadata.get("n") or "")))
        people = replace(
            shell,
            contacts=_options_of(view, f"{_people_form_id(shell)}.contactid"),
            projects=_options_of(view, f"{_people_form_id(shell)}.project_id"),
        )
        people_values = typed_values(people_spec(people), state)
    return NewTicketForm(
        choices=choices,
        values=values,
        people=people,
        people_values=people_values,
        confirmed_department=positive_id(metadata.get("d")),
        staff_numbers=staff_numbers,
    )


@dataclass(frozen=True)
class TicketReading:
    form: NewTicketForm  # what the user sees, to show it again
    draft: TicketDraft | None
    errors: dict[str, str]
    # Set instead of a draft when the department may not exist in PMP: the form to show
    # again, saying so (submitting it unchanged opens the ticket).
    to_confirm: NewTicketForm | None = None


_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")


def _check_cc(text: str | None) -> tuple[str | None, str | None]:
    if not text:
        return None, None
    addresses = [part.strip() for part in re.split(r"[,;\s]+", text) if part.strip()]
    for address in addresses:
        if not _EMAIL.match(address):
            return None, f"{quoted(address)} isn't an email address, like jane@example.com."
    return ",".join(dict.fromkeys(addresses)), None


def _tags(text: str | None) -> tuple[str, ...]:
    names = (" ".join(part.split()) for part in (text or "").split(","))
    return tuple(dict.fromkeys(name for name in names if name))


def _number(value: Any) -> int | None:
    return positive_id(value) if value not in (None, "") else None


def read_new_ticket(
    view: Mapping[str, Any], *, known_departments: Sequence[Choice] = ()
) -> TicketReading:
    """The draft of a submitted new-ticket modal, or an error per input block to fix, or
    the form again asking to confirm a department that isn't among the named or learned
    ones (`known_departments`, besides those the form lists)."""
    form = form_from_view(view)
    state = _state(view)
    details = details_spec(form.choices, staff_numbers=form.staff_numbers)
    results = [read_form(head_spec(), state), read_form(details, state)]
    if form.people is not None:
        results.append(read_form(people_spec(form.people), state))
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for result in results:
        errors |= result.errors
        values |= result.values

    customer_id = _number(values.get("userid"))
    if values.get("userid") is not None and customer_id is None:
        errors[CUSTOMER_BLOCK] = "Choose a customer from the list."
    elif customer_id is not None and CUSTOMER_BLOCK not in errors:
        if form.people is None or form.people.customer_id != customer_id:
            errors[CUSTOMER_BLOCK] = (
                "Its contacts haven't loaded: choose the customer again, then a contact."
            )
        elif not form.people.contacts:
            errors[CUSTOMER_BLOCK] = (
                "This customer has no active contacts in PMP, and a ticket needs one. "
                "Add a contact in PMP first."
            )
    cc, cc_error = _check_cc(values.get("cc"))
    if cc_error:
        errors[f"{FORM_ID}.cc"] = cc_error
    if errors:
        return TicketReading(form, None, errors)

    assert customer_id is not None
    draft = TicketDraft(
        subject=str(values["subject"]),
        customer_id=customer_id,
        contact_id=int(values["contactid"]),
        department=int(values["department"]),
        priority=_number(values.get("priority")),
        service=_number(values.get("service")),
        project_id=_number(values.get("project_id")),
        assigned=_number(values.get("assigned")),
        message=values.get("message") or None,
        cc=cc,
        tags=_tags(values.get("tags")),
    )
    known = {
        number: choice.label
        for choice in (*known_departments, *form.choices.departments)
        if (number := positive_id(choice.value)) is not None
    }
    if draft.department not in known and draft.department != form.confirmed_department:
        return TicketReading(form, None, {}, form.asking_to_confirm(draft.department, known))
    return TicketReading(form, draft, {})


def pmp_field_errors(error: PmpValidationError, form: NewTicketForm) -> dict[str, str]:
    """PMP's field errors on the input blocks they belong to (others on the subject)."""
    blocks = {spec.name: spec.block_id(FORM_ID) for spec in head_spec().fields}
    details = details_spec(form.choices, staff_numbers=form.staff_numbers)
    blocks |= {spec.name: spec.block_id(FORM_ID) for spec in details.fields}
    if form.people is not None:
        people = people_spec(form.people)
        blocks |= {spec.name: spec.block_id(people.id) for spec in people.fields}
    errors: dict[str, str] = {}
    for name, message in error.errors.items():
        block = blocks.get(name) or (CUSTOMER_BLOCK if name == "contactid" else SUBJECT_BLOCK)
        errors[block] = f"{errors[block]} {message}" if block in errors else message
    return errors


# ------------------------------------------------------------------------- views


NEW_TICKET_TITLE = "New PMP ticket"
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
    blocks.extend(
        build_inputs(details_spec(form.choices, staff_numbers=form.staff_numbers), form.values)
    )
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
