"""Tickets from Slack: the new-ticket form, opening the ticket in PMP, and names for ticket ids.

- The new-ticket form: its fields, what it shows (`NewTicketForm`), reading a submitted view
  into a `TicketDraft` with an error per input block, and PMP's field errors mapped back.
- Opening a ticket: PMP 2.x doesn't say which id it gave the new ticket, so it is looked for by
  its exact subject, keeping the one match for the same contact that wasn't there before.
- Names: PMP has no endpoint listing ticket departments, priorities, services or statuses.
  Ticket records carry them (`department_name`...), so the names seen are remembered per PMP
  site (`bot.learned_names.LearnedTicketNames`); admins name the rest in the settings form
  (`parse_settings_text`).
- A ticket from a Slack message: subject from its first line, message with its permalink.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from bot.blocks.ids import TicketForm
from bot.forms.fields import Choice, FormField, FormSpec, Kind, read_form, typed_values
from bot.grammar import SLASH_COMMAND, search_hint
from bot.learned_names import LearnedTicketNames
from bot.names import TICKET_SETTING_KINDS, TicketSettingKind, TicketSettings
from bot.pmp import (
    Contact,
    PmpAuthError,
    PmpClient,
    PmpConnectionError,
    PmpError,
    PmpTimeoutError,
    PmpUnexpectedResponseError,
    PmpValidationError,
    Project,
    Ticket,
    record_url,
)
from bot.text import truncate

logger = logging.getLogger(__name__)

# Perfex keeps a ticket's subject in a VARCHAR(191); Slack's text inputs stop at 3000.
SUBJECT_MAX = 191
MESSAGE_MAX = 3000
CC_MAX = 1000
TAGS_MAX = 1000
# A subject taken from a message's first line is cut near here, at a word.
PREFILL_SUBJECT_MAX = 80
# A static select lists at most 100 options.
MAX_CHOICES = 100
DEFAULT_PRIORITIES: Mapping[int, str] = {1: "Low", 2: "Medium", 3: "High"}

FORM_ID = "ticket"
SUBJECT_BLOCK = f"{FORM_ID}.subject"
CUSTOMER_BLOCK = f"{FORM_ID}.userid"


# ------------------------------------------------------------------------- learned names

SETTING_NAME_MAX = 75  # an option's text
SETTINGS_TEXT_MAX = 3000  # a text input's most


def _positive_id(value: Any) -> int | None:
    text = str(value).strip() if value is not None else ""
    if text.isascii() and text.isdigit() and 0 < int(text) < 2**31:
        return int(text)
    return None


async def learn_from_pmp(
    pmp: PmpClient, learned: LearnedTicketNames, *, timeout_s: float
) -> str | None:
    """Reads PMP's tickets to learn names; None when it worked, else why it didn't."""
    try:
        tickets = await asyncio.wait_for(pmp.tickets.list(), timeout_s)
    except TimeoutError:
        return "PMP took too long to list its tickets."
    except PmpError as error:
        return error.user_message
    learned.learn(pmp.base_url, tickets)
    return None


# ------------------------------------------------------------------------- ticket settings

SETTING_LABELS: Mapping[TicketSettingKind, str] = {
    "departments": "Departments",
    "priorities": "Priorities",
    "services": "Services",
    "statuses": "Statuses",
}
_SETTING_EXAMPLES: Mapping[TicketSettingKind, str] = {
    "departments": "1 = Support",
    "priorities": "2 = Medium",
    "services": "1 = Hosting",
    "statuses": "5 = Closed",
}
_SETTING_LINE = re.compile(r"^#?\s*(\d+)\s*[=:]\s*(.*)$")
# A comma before another `id =` starts a new entry on the same line.
_SETTING_SEPARATOR = re.compile(r"[,;]\s*(?=#?\s*\d+\s*[=:])")


@dataclass(frozen=True)
class SettingsPrefill:
    settings: TicketSettings
    # Kinds with more saved names than one input holds: saving the form drops the rest.
    overflowing: tuple[TicketSettingKind, ...] = ()


def settings_prefill(saved: TicketSettings, learned: TicketSettings) -> SettingsPrefill:
    """What the settings form shows: the saved names, plus learned names for ids nobody
    named yet, as many as an input holds (3000 characters, 100 lines)."""
    maps: dict[str, dict[int, str]] = {}
    overflowing: list[TicketSettingKind] = []
    for kind in TICKET_SETTING_KINDS:
        saved_names: Mapping[int, str] = getattr(saved, kind)
        learned_names: Mapping[int, str] = getattr(learned, kind)
        candidates = [*sorted(saved_names.items())]
        candidates += sorted((i, n) for i, n in learned_names.items() if i not in saved_names)
        kept: dict[int, str] = {}
        size = -1  # the first line has no line break before it
        for record_id, name in candidates:
            line = len(f"{record_id} = {name}") + 1
            if size + line > SETTINGS_TEXT_MAX or len(kept) >= MAX_CHOICES:
                if record_id in saved_names and kind not in overflowing:
                    overflowing.append(kind)
                continue
            kept[record_id] = name
            size += line
        maps[kind] = dict(sorted(kept.items()))
    return SettingsPrefill(TicketSettings(**maps), tuple(overflowing))


def settings_note(problem: str | None, overflowing: Sequence[TicketSettingKind]) -> str | None:
    """What the settings form says above its inputs when something is amiss."""
    notes = []
    if problem:
        notes.append(
            f"Couldn't read PMP's tickets to suggest more names: {problem} "
            "Showing the names known so far."
        )
    if overflowing:
        kinds = " and ".join(SETTING_LABELS[kind].lower() for kind in overflowing)
        notes.append(f"Not all {kinds} fit in this form; saving keeps only those shown.")
    return " ".join(notes) or None


def settings_text(names: Mapping[int, str]) -> str:
    """One `id = name` line per entry, by id."""
    return "\n".join(f"{record_id} = {name}" for record_id, name in sorted(names.items()))


def example_line(kind: TicketSettingKind) -> str:
    return _SETTING_EXAMPLES[kind]


def _quoted(line: str) -> str:
    return "“" + truncate(line.strip(), 30) + "”"


def parse_settings_text(kind: TicketSettingKind, text: str | None) -> tuple[dict[int, str], str]:
    """The id -> name lines of one settings input, and an error ("" when none) naming the
    first bad line."""
    names: dict[int, str] = {}
    first_line: dict[int, int] = {}
    example = _SETTING_EXAMPLES[kind]
    lines = (text or "").splitlines()
    if sum(1 for line in lines if line.strip()) > MAX_CHOICES:
        return {}, f"Keep it to {MAX_CHOICES} lines: a menu in Slack shows no more."
    entries = [
        (number, entry)
        for number, line in enumerate(lines, start=1)
        # "1 = Support, 2 = Sales" typed on one line means two entries.
        for entry in _SETTING_SEPARATOR.split(line)
    ]
    for number, line in entries:
        if not line.strip():
            continue
        match = _SETTING_LINE.match(line.strip())
        if match is None:
            return {}, (
                f"Line {number} ({_quoted(line)}) should be a number, = and a name, like {example}."
            )
        record_id = int(match.group(1)) if len(match.group(1)) <= 10 else 0
        name = " ".join(match.group(2).split())
        if not 0 < record_id < 2**31:
            return {}, f"Line {number}: ids are whole numbers from 1, like {example}."
        if not name:
            return {}, f"Line {number}: give {record_id} a name, like {example}."
        if len(name) > SETTING_NAME_MAX:
            return {}, f"Line {number}: keep the name to {SETTING_NAME_MAX} characters."
        if record_id in names:
            return (
                {},
                f"Line {number}: {record_id} already has a name on line {first_line[record_id]}.",
            )
        names[record_id] = name
        first_line[record_id] = number
    return names, ""


SETTINGS_FORM_ID = "ticket_settings"
_SETTING_HINTS: Mapping[TicketSettingKind, str] = {
    "departments": "As set up in PMP under Setup → Support → Departments.",
    "priorities": "A fresh PMP has 1 = Low, 2 = Medium, 3 = High.",
    "services": "As set up in PMP under Setup → Support → Services.",
    "statuses": "A fresh PMP has 1 = Open, 2 = In progress, 3 = Answered, 4 = On Hold, 5 = Closed.",
}


def settings_spec() -> FormSpec:
    return FormSpec(
        SETTINGS_FORM_ID,
        [
            FormField(
                kind,
                SETTING_LABELS[kind],
                Kind.MULTILINE,
                max_length=SETTINGS_TEXT_MAX,
                placeholder=_SETTING_EXAMPLES[kind],
                hint=_SETTING_HINTS[kind],
            )
            for kind in TICKET_SETTING_KINDS
        ],
    )


def settings_values(settings: TicketSettings) -> dict[str, str]:
    """What the settings form shows for `settings`."""
    return {kind: settings_text(getattr(settings, kind)) for kind in TICKET_SETTING_KINDS}


@dataclass(frozen=True)
class SettingsReading:
    settings: TicketSettings | None
    errors: dict[str, str]


def read_settings(view: Mapping[str, Any]) -> SettingsReading:
    """The ticket settings of a submitted settings form, or an error per input naming the
    first bad line."""
    spec = settings_spec()
    result = read_form(spec, _state(view))
    errors = dict(result.errors)
    maps: dict[str, dict[int, str]] = {}
    for kind in TICKET_SETTING_KINDS:
        block = spec.field(kind).block_id(spec.id)
        if block in errors:
            continue
        names, error = parse_settings_text(kind, result.values.get(kind))
        if error:
            errors[block] = error
        maps[kind] = names
    if errors:
        return SettingsReading(None, errors)
    return SettingsReading(TicketSettings(**maps), {})


# ------------------------------------------------------------------------- form choices


@dataclass(frozen=True)
class TicketChoices:
    """The menus of the new-ticket form. No departments or services known: a number input."""

    departments: tuple[Choice, ...] = ()
    priorities: tuple[Choice, ...] = ()
    services: tuple[Choice, ...] = ()

    @property
    def default_priority(self) -> str | None:
        medium = next((c for c in self.priorities if c.label.casefold() == "medium"), None)
        return medium.value if medium else None


def _choices(names: Mapping[int, str]) -> tuple[Choice, ...]:
    return tuple(Choice(str(i), name) for i, name in sorted(names.items())[:MAX_CHOICES])


async def choices_learning_departments(
    pmp: PmpClient,
    learned: LearnedTicketNames,
    saved: TicketSettings,
    current: TicketChoices,
    *,
    timeout_s: float,
) -> TicketChoices:
    """The form's menus, with departments (and services) learned from PMP's tickets when
    the form has no department menu yet, so it lists the numbers that exist. Never fails:
    without PMP's tickets the menus stay as they are."""
    if current.departments:
        return current
    if not learned.names(pmp.base_url).departments:
        problem = await learn_from_pmp(pmp, learned, timeout_s=timeout_s)
        if problem:
            logger.info("Ticket names for the form weren't learned: %s", problem)
    fresh = ticket_choices(saved, learned.names(pmp.base_url))
    return replace(
        current, departments=fresh.departments, services=current.services or fresh.services
    )


def ticket_choices(saved: TicketSettings, learned: TicketSettings) -> TicketChoices:
    """Menus from the workspace's settings; a kind the admins haven't named lists the names
    learned from tickets (an admin who left a name out of the settings meant to). Priorities
    fall back to a fresh install's Low / Medium / High."""
    return TicketChoices(
        departments=_choices(saved.departments or learned.departments),
        priorities=_choices(saved.priorities or learned.priorities or DEFAULT_PRIORITIES),
        services=_choices(saved.services or learned.services),
    )


# ------------------------------------------------------------------------- the form


@dataclass(frozen=True)
class CustomerPeople:
    """A customer with the contacts and projects the form lists for it."""

    customer: Choice
    contacts: tuple[Choice, ...] = ()
    projects: tuple[Choice, ...] = ()
    primary_contact: str | None = None

    @property
    def customer_id(self) -> int:
        return int(self.customer.value)

    @property
    def form_id(self) -> str:
        # The contact and project inputs get new block ids for each customer, so Slack doesn't
        # keep a contact chosen for the customer shown before.
        return f"{FORM_ID}_{self.customer_id}"


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
        return json.dumps(data) if data else "{}"


def unknown_department_notice(department: int, known: Mapping[int, str]) -> str:
    """Why a department number needs a second look: PMP hides tickets whose department
    doesn't exist, so such a ticket is opened but nobody ever sees it."""
    if known:
        listed = ", ".join(f"{number} {name}" for number, name in sorted(known.items())[:20])
        return (
            f"Department {department} isn't one pmp-bot knows of ({listed}). PMP hides "
            "tickets whose department doesn't exist, so nobody would see this one. Pick a "
            f"known department, or submit again to open the ticket in department {department}."
        )
    return (
        "pmp-bot doesn't know PMP's department numbers yet, and PMP hides tickets whose "
        f"department doesn't exist. Check that department {department} exists in PMP "
        "(Setup → Support → Departments), then submit again to open the ticket. An admin can "
        f"name the departments with `{SLASH_COMMAND} settings`."
    )


def new_ticket_form(
    choices: TicketChoices, *, subject: str | None = None, message: str | None = None
) -> NewTicketForm:
    values: dict[str, Any] = {"priority": choices.default_priority}
    if len(choices.departments) == 1:
        values["department"] = choices.departments[0].value
    if subject:
        values["subject"] = truncate(subject.strip(), SUBJECT_MAX)
    if message:
        values["message"] = truncate(message, MESSAGE_MAX)
    return NewTicketForm(choices=choices, values=values)


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
    return FormSpec(people.form_id, fields)


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


def details_spec(choices: TicketChoices) -> FormSpec:
    return FormSpec(
        FORM_ID,
        [
            _id_field("department", "Department", choices.departments, required=True),
            FormField("priority", "Priority", Kind.SELECT, choices=choices.priorities),
            _id_field("service", "Service", choices.services, required=False),
            FormField(
                "assigned",
                "Assign to staff number",
                Kind.INTEGER,
                min_value=1,
                hint="The staff member's id in PMP; leave empty to assign nobody.",
            ),
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
    values = {**typed_values(head_spec(), state), **typed_values(details_spec(choices), state)}
    people: CustomerPeople | None = None
    people_values: dict[str, Any] = {}
    metadata = _metadata(view)
    customer_id = _positive_id(metadata.get("c"))
    if customer_id is not None:
        shell = CustomerPeople(Choice(str(customer_id), str(metadata.get("n") or "")))
        people = replace(
            shell,
            contacts=_options_of(view, f"{shell.form_id}.contactid"),
            projects=_options_of(view, f"{shell.form_id}.project_id"),
        )
        people_values = typed_values(people_spec(people), state)
    return NewTicketForm(
        choices=choices,
        values=values,
        people=people,
        people_values=people_values,
        confirmed_department=_positive_id(metadata.get("d")),
    )


@dataclass(frozen=True)
class TicketDraft:
    """A new ticket, checked and ready to send to PMP."""

    subject: str
    customer_id: int
    contact_id: int
    department: int
    priority: int | None = None
    service: int | None = None
    project_id: int | None = None
    assigned: int | None = None
    message: str | None = None
    cc: str | None = None
    tags: tuple[str, ...] = ()


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
            return None, f"{_quoted(address)} isn't an email address, like jane@example.com."
    return ",".join(dict.fromkeys(addresses)), None


def _tags(text: str | None) -> tuple[str, ...]:
    names = (" ".join(part.split()) for part in (text or "").split(","))
    return tuple(dict.fromkeys(name for name in names if name))


def _number(value: Any) -> int | None:
    return _positive_id(value) if value not in (None, "") else None


def read_new_ticket(
    view: Mapping[str, Any], *, known_departments: Sequence[Choice] = ()
) -> TicketReading:
    """The draft of a submitted new-ticket modal, or an error per input block to fix, or
    the form again asking to confirm a department that isn't among the named or learned
    ones (`known_departments`, besides those the form lists)."""
    form = form_from_view(view)
    state = _state(view)
    results = [read_form(head_spec(), state), read_form(details_spec(form.choices), state)]
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
        if (number := _positive_id(choice.value)) is not None
    }
    if draft.department not in known and draft.department != form.confirmed_department:
        return TicketReading(form, None, {}, form.asking_to_confirm(draft.department, known))
    return TicketReading(form, draft, {})


def pmp_field_errors(error: PmpValidationError, form: NewTicketForm) -> dict[str, str]:
    """PMP's field errors on the input blocks they belong to (others on the subject)."""
    blocks = {spec.name: spec.block_id(FORM_ID) for spec in head_spec().fields}
    blocks |= {spec.name: spec.block_id(FORM_ID) for spec in details_spec(form.choices).fields}
    if form.people is not None:
        people = people_spec(form.people)
        blocks |= {spec.name: spec.block_id(people.id) for spec in people.fields}
    errors: dict[str, str] = {}
    for name, message in error.errors.items():
        block = blocks.get(name) or (CUSTOMER_BLOCK if name == "contactid" else SUBJECT_BLOCK)
        errors[block] = f"{errors[block]} {message}" if block in errors else message
    return errors


# ------------------------------------------------------------------------- customers


def _contact_label(contact: Contact) -> str:
    name = contact.display_name
    if contact.email and contact.email not in name:
        return f"{name} · {contact.email}"
    return name


async def _customer_projects(pmp: PmpClient, customer_id: int) -> list[Project]:
    # The project menu is optional: without the list the form still opens a ticket.
    try:
        projects = await pmp.projects.list()
    except PmpError as error:
        logger.info("Projects for the ticket form didn't load: %s", type(error).__name__)
        return []
    return [project for project in projects if project.clientid == customer_id]


async def load_customer_people(pmp: PmpClient, customer: Choice | int) -> CustomerPeople:
    """The customer's active contacts (primary first) and projects (newest first)."""
    if isinstance(customer, Choice):
        customer_id = int(customer.value)
        contacts, projects = await asyncio.gather(
            pmp.contacts.list(customer_id), _customer_projects(pmp, customer_id)
        )
        chosen = customer
    else:
        customer_id = customer
        record, contacts, projects = await asyncio.gather(
            pmp.customers.get(customer_id),
            pmp.contacts.list(customer_id),
            _customer_projects(pmp, customer_id),
        )
        chosen = Choice(str(customer_id), record.display_name)
    contacts = sorted(contacts, key=lambda c: (not c.is_primary, c.display_name.casefold()))
    primary = next((c for c in contacts if c.is_primary), contacts[0] if contacts else None)
    projects = sorted(projects, key=lambda p: -p.id)
    return CustomerPeople(
        customer=chosen,
        contacts=tuple(Choice(str(c.id), _contact_label(c)) for c in contacts[:MAX_CHOICES]),
        projects=tuple(Choice(str(p.id), p.display_name) for p in projects[:MAX_CHOICES]),
        primary_contact=str(primary.id) if primary else None,
    )


# ------------------------------------------------------------------------- opening a ticket


# Why a new ticket's id is unknown (PMP 2.x doesn't tell it, so it is searched for).
NotFound = Literal["not_listed", "several", "search_failed", "unsearchable"]


@dataclass(frozen=True)
class OpenedTicket:
    subject: str
    ticket_id: int | None
    url: str | None
    department: int | None = None
    not_found: NotFound | None = None  # set when ticket_id is None

    @property
    def note(self) -> str | None:
        """How to find the ticket when its id is unknown, never a search that can't work."""
        if self.ticket_id is not None:
            return None
        hint = search_hint("ticket", self.subject)
        if self.not_found == "not_listed":
            department = f" {self.department}" if self.department is not None else ""
            return (
                ":warning: PMP took the ticket but doesn't list it, so searching won't find "
                f"it either. PMP hides tickets whose department doesn't exist: department"
                f"{department} is probably not one of PMP's. Check Setup → Support → "
                "Departments in PMP, and the ticket in PMP's ticket list."
            )
        if self.not_found == "several" and hint:
            return f"Several tickets have this subject; `{hint}` lists them."
        if self.not_found == "unsearchable" or hint is None:
            return (
                "PMP doesn't say which id it gave the new ticket, and its subject can't be "
                "searched for; find it in PMP's ticket list."
            )
        return f"PMP doesn't say which id it gave the new ticket; `{hint}` finds it."


_TAG = re.compile(r"<[^>]*>")
# Characters PMP's search passes through unchanged, and neither strips (tags, quotes) nor
# reads specially (a leading "#" searches tags; "%" and "/" fare badly in a URL path).
_SEARCHABLE_RUN = re.compile(r"[\w .,:!?'+-]+")


def _signature(subject: str | None) -> str:
    """The letters and digits of a subject, as PMP stored it or as it was typed: PMP strips
    tags and escapes some characters as entities, so punctuation can't be compared."""
    plain = _TAG.sub("", html.unescape(subject or ""))
    return "".join(char for char in plain.casefold() if char.isalnum())


def _search_term(subject: str) -> str | None:
    """The longest stretch of the subject that PMP's search can find as typed."""
    runs = [run.strip(" .,:!?'+-") for run in _SEARCHABLE_RUN.findall(subject)]
    runs = [run for run in runs if any(char.isalnum() for char in run)]
    return max(runs, key=len) if runs else None


def _unreachable(error: PmpError) -> bool:
    """PMP can't take a write now: the create would fail the same way."""
    if isinstance(error, PmpConnectionError | PmpTimeoutError | PmpAuthError):
        return True
    status = error.status_code or 0
    return isinstance(error, PmpUnexpectedResponseError) and (status >= 500 or status == 429)


async def _matching_tickets(pmp: PmpClient, draft: TicketDraft, term: str) -> set[int]:
    found = await pmp.tickets.search(term)
    wanted = _signature(draft.subject)
    return {
        ticket.id
        for ticket in found
        if isinstance(ticket, Ticket)
        and _signature(ticket.subject) == wanted
        and ticket.contactid == draft.contact_id
    }


async def open_ticket(pmp: PmpClient, draft: TicketDraft) -> OpenedTicket:
    """Opens the ticket in PMP and finds its id when that can be done reliably."""
    term = _search_term(draft.subject)
    before: set[int] | None = None
    if term is not None:
        try:
            before = await _matching_tickets(pmp, draft, term)
        except PmpError as error:
            if _unreachable(error):
                raise
            logger.info("Ticket search before opening failed: %s", type(error).__name__)
    ticket_id = await pmp.tickets.create(
        subject=draft.subject,
        department=draft.department,
        contactid=draft.contact_id,
        userid=draft.customer_id,
        priority=draft.priority,
        service=draft.service,
        project_id=draft.project_id,
        assigned=draft.assigned,
        message=draft.message,
        cc=draft.cc,
        tags=list(draft.tags) or None,
    )
    not_found: NotFound | None = None
    if ticket_id is None:
        if term is None:
            not_found = "unsearchable"
        elif before is None:
            not_found = "search_failed"
        else:
            ticket_id, not_found = await _find_new(pmp, draft, term, before)
    url = None
    if ticket_id is not None:
        try:
            url = record_url(pmp.base_url, "ticket", ticket_id)
        except ValueError:
            url = None
    return OpenedTicket(
        subject=draft.subject,
        ticket_id=ticket_id,
        url=url,
        department=draft.department,
        not_found=not_found,
    )


async def _find_new(
    pmp: PmpClient, draft: TicketDraft, term: str, before: set[int]
) -> tuple[int | None, NotFound | None]:
    # The ticket exists now: failing to find it must not make the write look failed.
    try:
        fresh = await _matching_tickets(pmp, draft, term) - before
    except PmpError as error:
        logger.info("Ticket search after opening failed: %s", type(error).__name__)
        return None, "search_failed"
    if len(fresh) == 1:
        return fresh.pop(), None
    # The same search found the tickets before it: not finding the new one means PMP
    # doesn't list it (a department it lacks).
    return None, "several" if fresh else "not_listed"


# ------------------------------------------------------------------------- from a message

_SLACK_REFERENCE = re.compile(r"<([^<>]*)>")
_SLACK_ENTITY = re.compile(r"&(?:amp|lt|gt);")
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">"}


def _reference(match: re.Match[str]) -> str:
    target, _, label = match.group(1).partition("|")
    if target.startswith(("@", "#")):
        return target[0] + (label.lstrip("@#") or target[1:])
    if target.startswith("!"):
        # <!here>, <!subteam^S123|@team>, <!date^1392734382^{date}|Feb 18th>
        return label or "@" + target[1:].split("^")[0]
    if target.startswith("mailto:"):
        return label or target[len("mailto:") :]
    if label and label != target:
        return f"{label} ({target})"
    return target


def plain_text_from_slack(text: str) -> str:
    """A message's text as its reader sees it: Slack's <…> references and &amp;, &lt;, &gt;
    escapes turned back into plain text (user ids stay ids: `@U123`)."""
    with_references = _SLACK_REFERENCE.sub(_reference, text)
    return _SLACK_ENTITY.sub(lambda match: _ENTITIES[match.group(0)], with_references)


def subject_from_text(text: str, limit: int = PREFILL_SUBJECT_MAX) -> str:
    """The first non-empty line, cut at a word near `limit` characters."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    line = " ".join(first.split())
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "…"


@dataclass(frozen=True)
class MessagePrefill:
    subject: str
    message: str


def prefill_from_message(slack_text: str, permalink: str | None) -> MessagePrefill:
    """Subject and message for a ticket made from a Slack message, its link at the end."""
    text = plain_text_from_slack(slack_text).strip()
    footer = f"From Slack: {permalink}" if permalink else ""
    room = MESSAGE_MAX - len(footer) - 2
    body = truncate(text, room) if footer else truncate(text, MESSAGE_MAX)
    message = f"{body}\n\n{footer}" if body and footer else body or footer
    return MessagePrefill(subject=subject_from_text(text), message=message)
