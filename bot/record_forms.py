"""Adding, changing and deleting customers, leads, projects and milestones from Slack.

One declarative field list per record kind builds its modal and reads it back (bot.forms).
A `FormPlan`, kept in the modal's private_metadata, rebuilds the same fields on submit and
remembers a fingerprint of every value shown, so an edit sends PMP only what the user
changed; the PMP client's safe update adds what PMP would otherwise reset, read just before.
Lead and project edits make PMP's API module delete the files of lead or project #1 (a
module defect): the client refuses them when those files exist or can't be seen, unless the
workspace's admin allowed it, and the edit form says so as it opens. PMP 2.x answers a create
without the new id: it is found, when that can be done reliably, by searching for the exact
name just written.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Final

from slack_sdk.models.blocks import Option
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.cards import CardRef, card_url
from bot.blocks.ids import RecordForm
from bot.forms.fields import (
    Choice,
    FormField,
    FormSpec,
    Kind,
    changed_fields,
    initial_digests,
    read_form,
    typed_values,
)
from bot.forms.options import MAX_OPTIONS
from bot.forms.submission import WriteOutcome
from bot.grammar import SLASH_COMMAND, search_hint
from bot.names import (
    DEFAULT_BILLING_TYPES,
    DEFAULT_LEAD_SOURCES,
    DEFAULT_LEAD_STATUSES,
    DEFAULT_PROJECT_STATUSES,
    country_name,
)
from bot.notify import notice_line
from bot.pmp import (
    Customer,
    Lead,
    Milestone,
    PmpClient,
    PmpError,
    PmpNotFoundError,
    PmpRecord,
    PmpUnsafeUpdateError,
    PmpValidationError,
    PmpWriteFailedError,
    Project,
    RecordKind,
    first_record_message,
)
from bot.services import BotServices
from bot.slack.workspace_pmp import ConnectedPmp
from bot.text import truncate

logger = logging.getLogger(__name__)

FORM_KINDS: Final[tuple[RecordKind, ...]] = ("customer", "lead", "project", "milestone")
EDIT_KINDS: Final[tuple[RecordKind, ...]] = ("customer", "lead", "project", "milestone")
DELETE_KINDS: Final[tuple[RecordKind, ...]] = ("customer", "lead", "project", "milestone", "ticket")

ADDED, UPDATED, UNCHANGED, DELETED = "added", "updated", "unchanged", "deleted"

# Slack's plain-text input holds at most 3000 characters; PMP's names at most 600.
TEXT_MAX = 3000
NAME_MAX = 600
LABEL_MAX = 150
METADATA_MAX = 3000

_NAME_FIELD: Final[dict[RecordKind, str]] = {
    "customer": "company",
    "lead": "name",
    "project": "name",
    "milestone": "name",
}
# Fields no PMP endpoint returns that PMP's PUT resets when absent (the client's
# reset_by_update): an edit form shows them empty, and any saved change sends what they hold.
# (Lead and project tags can't be read either, but PMP keeps them: they go only when typed.)
_UNREADABLE: Final[dict[RecordKind, tuple[str, ...]]] = {
    "customer": ("groups_in",),
    "project": ("project_members",),
}
# Edit forms whose save makes PMP's API module delete the files of record #1 of the kind.
FILE_LOSING_KINDS: Final[frozenset[RecordKind]] = frozenset({"lead", "project"})
# How long an edit form waits to learn whether record #1 has files before opening without
# saying (the save checks again anyway).
FIRST_RECORD_FILES_WAIT_S = 3.0
# Text fields holding record numbers separated by commas.
_ID_LISTS: Final = frozenset({"groups_in", "project_members"})
# Select fields with a number input beside them for ids the bot has no name for.
_OTHER_SUFFIX = "_other"
_SERVER_BREAK = re.compile(r"<br\s*/?>(?=\r\n|\n\r|\n|\r)", re.IGNORECASE)
_TYPED_KINDS = frozenset({Kind.TEXT, Kind.URL, Kind.EMAIL, Kind.INTEGER, Kind.DECIMAL})
_ID_LIST = re.compile(r"^\s*\d+(\s*,\s*\d+)*\s*,?\s*$")


def _choices(names: Mapping[int, str]) -> tuple[Choice, ...]:
    return tuple(Choice(str(number), name) for number, name in sorted(names.items()))


def _country(name: str, label: str) -> FormField:
    return FormField(
        name,
        label,
        Kind.EXTERNAL,
        action=RecordForm.COUNTRY_OPTIONS,
        placeholder="Type a country…",
    )


def _text(name: str, label: str, **options: Any) -> FormField:
    return FormField(name, label, Kind.TEXT, max_length=options.pop("max_length", 191), **options)


def _tags_hint(kind: RecordKind, editing: bool) -> str:
    if not editing:
        return "Separated by commas."
    # PMP doesn't hand out a lead's or project's tags, but keeps them when they aren't sent.
    return f"Separated by commas. Left empty, the {kind} keeps its tags; typed, they replace them."


def _customer_fields(editing: bool) -> list[FormField]:
    groups_hint = (
        "Group numbers separated by commas, like 1, 4. Saving replaces the customer's groups."
        if editing
        else "Group numbers separated by commas, like 1, 4."
    )
    return [
        FormField("company", "Company", Kind.TEXT, required=True, max_length=NAME_MAX),
        _text("vat", "VAT number", max_length=50),
        _text("phonenumber", "Phone", max_length=30),
        FormField("website", "Website", Kind.URL, placeholder="https://…"),
        _text("groups_in", "Groups", hint=groups_hint, max_length=200),
        _text("default_language", "Language", hint="Like english; empty: PMP's default."),
        FormField(
            "default_currency",
            "Currency number",
            Kind.INTEGER,
            min_value=0,
            hint="The currency's number in PMP; empty or 0: PMP's default currency.",
        ),
        _text("address", "Address"),
        _text("city", "City", max_length=100),
        _text("state", "State", max_length=50),
        _text("zip", "Zip code", max_length=15),
        _country("country", "Country"),
        _text("billing_street", "Billing street", max_length=200),
        _text("billing_city", "Billing city", max_length=100),
        _text("billing_state", "Billing state", max_length=100),
        _text("billing_zip", "Billing zip code", max_length=100),
        _country("billing_country", "Billing country"),
        _text("shipping_street", "Shipping street", max_length=200),
        _text("shipping_city", "Shipping city", max_length=100),
        _text("shipping_state", "Shipping state", max_length=100),
        _text("shipping_zip", "Shipping zip code", max_length=100),
        _country("shipping_country", "Shipping country"),
    ]


def _lead_fields(editing: bool) -> list[FormField]:
    fields = [
        FormField("name", "Name", Kind.TEXT, required=True, max_length=NAME_MAX),
        # Optional for Slack: a number typed below may take its place.
        FormField("status", "Status", Kind.SELECT, choices=_choices(DEFAULT_LEAD_STATUSES)),
        FormField(
            "status_other",
            "Status number, if not listed",
            Kind.INTEGER,
            min_value=1,
            hint="The status's number in PMP (Setup → Leads → Statuses).",
        ),
        FormField("source", "Source", Kind.SELECT, choices=_choices(DEFAULT_LEAD_SOURCES)),
        FormField(
            "source_other",
            "Source number, if not listed",
            Kind.INTEGER,
            min_value=1,
            hint="The source's number in PMP (Setup → Leads → Sources).",
        ),
        FormField(
            "assigned",
            "Assigned to (staff number)",
            Kind.INTEGER,
            min_value=1,
            hint="The staff member's number in PMP; some PMP versions require one.",
        ),
        _text(
            "tags",
            "Tags",
            max_length=500,
            hint=_tags_hint("lead", editing),
        ),
        _text("title", "Position", max_length=100),
        FormField("email", "Email", Kind.EMAIL),
        FormField("website", "Website", Kind.URL, placeholder="https://…"),
        _text("phonenumber", "Phone", max_length=50),
        _text("company", "Company"),
        _text("address", "Address", max_length=TEXT_MAX),
        _text("city", "City", max_length=100),
        _text("state", "State", max_length=50),
        _text("zip", "Zip code", max_length=15),
    ]
    if editing:
        # Lead create takes no country; PMP sets a new lead's last contact itself.
        fields.append(_country("country", "Country"))
    fields += [
        _text("default_language", "Language", max_length=40, hint="Like english."),
        FormField("description", "Description", Kind.MULTILINE, max_length=TEXT_MAX),
        FormField(
            "is_public", "Public", Kind.CHECKBOX, hint="Public: every staff member can see it"
        ),
    ]
    if editing:
        fields.append(FormField("lastcontact", "Last contact", Kind.DATE))
    return fields


def _project_fields(editing: bool) -> list[FormField]:
    return [
        FormField("name", "Project name", Kind.TEXT, required=True, max_length=NAME_MAX),
        FormField(
            "clientid",
            "Customer",
            Kind.EXTERNAL,
            required=True,
            action=RecordForm.CUSTOMER_OPTIONS,
            placeholder="Type a customer's name…",
        ),
        FormField(
            "billing_type",
            "Billing type",
            Kind.SELECT,
            required=True,
            choices=_choices(DEFAULT_BILLING_TYPES),
        ),
        FormField(
            "status",
            "Status",
            Kind.SELECT,
            required=True,
            choices=_choices(DEFAULT_PROJECT_STATUSES),
        ),
        FormField("start_date", "Start date", Kind.DATE, required=True),
        FormField("deadline", "Deadline", Kind.DATE),
        FormField(
            "progress_from_tasks",
            "Progress",
            Kind.CHECKBOX,
            hint="Calculate the progress from the tasks",
        ),
        FormField(
            "progress",
            "Progress in %",
            Kind.INTEGER,
            min_value=0,
            hint="0 to 100; used when the progress isn't calculated from the tasks.",
        ),
        FormField("project_cost", "Total cost", Kind.DECIMAL, hint="For Fixed Rate billing."),
        FormField(
            "project_rate_per_hour",
            "Rate per hour",
            Kind.DECIMAL,
            hint="For Project Hours billing.",
        ),
        FormField("estimated_hours", "Estimated hours", Kind.DECIMAL),
        _text(
            "project_members",
            "Members",
            max_length=200,
            hint="Staff numbers separated by commas, like 1, 3."
            + (" Saving replaces the project's members." if editing else ""),
        ),
        _text("tags", "Tags", max_length=500, hint=_tags_hint("project", editing)),
        FormField(
            "description",
            "Description",
            Kind.MULTILINE,
            max_length=TEXT_MAX,
            hint="PMP keeps a project's description as HTML." if editing else None,
        ),
    ]


def _milestone_fields(editing: bool) -> list[FormField]:
    fields: list[FormField] = []
    if not editing:
        fields.append(
            FormField(
                "project_id",
                "Project",
                Kind.EXTERNAL,
                required=True,
                action=RecordForm.PROJECT_OPTIONS,
                placeholder="Type a project's name…",
            )
        )
    fields += [
        FormField("name", "Name", Kind.TEXT, required=True, max_length=NAME_MAX),
        FormField("due_date", "Due date", Kind.DATE, required=True),
        FormField("description", "Description", Kind.MULTILINE, max_length=TEXT_MAX),
    ]
    if editing:
        # PMP makes every new milestone visible to the customer, whatever it is sent.
        fields.append(
            FormField(
                "description_visible_to_customer",
                "Visible to customer",
                Kind.CHECKBOX,
                hint="Show the description to the customer",
            )
        )
    fields.append(FormField("milestone_order", "Order", Kind.INTEGER, min_value=0))
    return fields


_FIELDS = {
    "customer": _customer_fields,
    "lead": _lead_fields,
    "project": _project_fields,
    "milestone": _milestone_fields,
}


# ------------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class FormPlan:
    """What a record modal shows, enough to rebuild its fields exactly on submit.

    - `digests`: a fingerprint of each value shown (bot.forms.fields.initial_digests).
    - `extra_choices`: select field -> (value, label) of the record's value when it is not
      one of the usual choices (an id only that PMP install has).
    - `relaxed`: fields shown as plain text without their usual checks, because the value PMP
      holds wouldn't pass them (a web address without https://, a longer text): an edit
      must not be refused over a value the user didn't touch.
    - `skipped`: fields too long to edit in Slack; saving keeps what PMP holds.
    """

    kind: RecordKind
    record_id: int | None = None
    label: str = ""
    project_id: int | None = None
    digests: Mapping[str, str] = field(default_factory=dict)
    extra_choices: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    relaxed: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()

    @property
    def editing(self) -> bool:
        return self.record_id is not None

    @property
    def ref(self) -> CardRef | None:
        if self.record_id is None:
            return None
        project_id = self.project_id if self.kind == "milestone" else None
        return CardRef(self.kind, self.record_id, project_id)

    def to_metadata(self) -> str:
        data: dict[str, Any] = {
            "k": self.kind,
            "i": self.record_id,
            "l": self.label,
            "p": self.project_id,
            "d": dict(self.digests),
            "x": {name: list(choice) for name, choice in self.extra_choices.items()},
            "r": list(self.relaxed),
            "s": list(self.skipped),
        }
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        if len(text) > METADATA_MAX:
            # Only the label can grow that long; the done view names the record without it.
            data["l"] = ""
            text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        return text

    @classmethod
    def from_metadata(cls, text: str) -> FormPlan:
        """The plan a modal carries; ValueError when the metadata isn't one of ours."""
        try:
            data = json.loads(text)
            kind = data["k"]
            if kind not in FORM_KINDS:
                raise ValueError(f"not a record form kind: {kind!r}")
            return cls(
                kind=kind,
                record_id=_optional_int(data.get("i")),
                label=str(data.get("l") or ""),
                project_id=_optional_int(data.get("p")),
                digests={str(k): str(v) for k, v in dict(data.get("d") or {}).items()},
                extra_choices={
                    str(k): (str(v[0]), str(v[1])) for k, v in dict(data.get("x") or {}).items()
                },
                relaxed=tuple(str(name) for name in data.get("r") or ()),
                skipped=tuple(str(name) for name in data.get("s") or ()),
            )
        except (TypeError, KeyError, IndexError, AttributeError, json.JSONDecodeError) as exc:
            raise ValueError("not a record form's metadata") from exc


def _optional_int(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    raise ValueError(f"not a record id: {value!r}")


def form_spec(plan: FormPlan) -> FormSpec:
    """The fields a plan's modal shows, in order."""
    fields = []
    for spec in _FIELDS[plan.kind](plan.editing):
        if spec.name in plan.skipped:
            continue
        if spec.name in plan.relaxed:
            spec = replace(
                spec, kind=Kind.TEXT, max_length=TEXT_MAX, min_value=None, placeholder=None
            )
        if spec.name in plan.extra_choices:
            value, label = plan.extra_choices[spec.name]
            spec = replace(spec, choices=(*spec.choices, Choice(value, label)))
        fields.append(spec)
    return FormSpec(id=plan.kind, fields=fields)


def form_notes(plan: FormPlan) -> tuple[str, ...]:
    """Plain-text warnings shown above an edit form's inputs."""
    notes = []
    if plan.editing and plan.kind == "customer":
        notes.append(
            "PMP doesn't tell pmp-bot which groups a customer is in, and saving any change "
            "replaces them: enter the group numbers under Groups, or the customer will be "
            "in no group."
        )
    if plan.editing and plan.kind == "project":
        notes.append(
            "PMP doesn't tell pmp-bot a project's members, and saving any change replaces "
            "them: enter the staff numbers under Members, or the project will have none."
        )
    for name in plan.skipped:
        label = next((f.label for f in _FIELDS[plan.kind](plan.editing) if f.name == name), name)
        notes.append(
            f"The {label.lower()} is too long to change in Slack; saving keeps it as it is in PMP."
        )
    return tuple(notes)


@dataclass(frozen=True)
class RecordFormContent:
    """Everything a record modal shows."""

    plan: FormPlan
    spec: FormSpec
    values: Mapping[str, Any]
    notes: tuple[str, ...] = ()

    @property
    def first_block_id(self) -> str:
        return self.spec.fields[0].block_id(self.spec.id)


def _content(plan: FormPlan, values: Mapping[str, Any]) -> RecordFormContent:
    return RecordFormContent(plan, form_spec(plan), values, form_notes(plan))


def new_form(
    kind: RecordKind, *, name: str | None = None, today: date | None = None
) -> RecordFormContent:
    """An empty form (the name filled in when the command gave one)."""
    values: dict[str, Any] = {}
    if name:
        values[_NAME_FIELD[kind]] = truncate(name.strip(), NAME_MAX)
    if kind == "project":
        values.update(
            billing_type="1",
            status="2",
            start_date=(today or date.today()).isoformat(),
            progress_from_tasks=True,
        )
    return _content(FormPlan(kind=kind), values)


def form_again(plan: FormPlan, state_values: Mapping[str, Any]) -> RecordFormContent:
    """The form filled in with what the user submitted (to try again after PMP failed)."""
    spec = form_spec(plan)
    return RecordFormContent(plan, spec, typed_values(spec, state_values), form_notes(plan))


# ------------------------------------------------------------------------- edit forms


def _shown_value(spec: FormField, record: PmpRecord, names: Mapping[str, str]) -> Any:
    """A record's value as its input shows it: PMP's strings, and Choices for typeaheads
    (a country by its name, a record by the name in `names` or its number)."""
    raw = record.raw.get(spec.name)
    if raw is None:
        return None
    text = str(raw)
    if spec.kind is Kind.DATE:
        day = text.strip()[:10]
        try:
            return date.fromisoformat(day).isoformat()
        except ValueError:
            return None  # "0000-00-00" and other non-dates: no date
    if spec.kind is Kind.EXTERNAL:
        number = text.strip()
        if not number.isdigit() or int(number) <= 0:
            return None
        if spec.action == RecordForm.COUNTRY_OPTIONS:
            return Choice(number, country_name(int(number)) or f"#{number}")
        return Choice(number, truncate(names.get(spec.name) or f"#{number}", 75))
    if spec.kind is Kind.SELECT or (spec.kind is Kind.INTEGER and (spec.min_value or 0) > 0):
        # PMP's "0" for an id means none chosen (a lead nobody is assigned to).
        return None if text.strip() in ("", "0") else text.strip()
    if spec.kind is Kind.MULTILINE and not isinstance(record, Project):
        # PMP saved it through nl2br(): its own "<br />" before each line break goes. (A
        # project's description is HTML from PMP's editor, shown as it is.)
        return "\n".join(_SERVER_BREAK.sub("", text).splitlines())
    return text


def _accepted(spec: FormField, value: Any) -> bool:
    """Whether the input would take `value` as it is (it passes the field's checks)."""
    form = FormSpec(id="check", fields=[spec])
    state = {spec.block_id(form.id): {spec.action_id: {"value": value}}}
    return not read_form(form, state).errors


def _select_label(record: PmpRecord, name: str, value: str) -> str:
    own = record.raw.get(f"{name}_name")
    return str(own).strip() if isinstance(own, str) and own.strip() else f"#{value}"


def edit_plan(
    kind: RecordKind, record: PmpRecord, names: Mapping[str, str] | None = None
) -> tuple[FormPlan, dict[str, Any]]:
    """The plan and pre-filled values of an edit form for `record`; `names` names the
    records its typeaheads show (a project's customer)."""
    values: dict[str, Any] = {}
    extra: dict[str, tuple[str, str]] = {}
    relaxed: list[str] = []
    skipped: list[str] = []
    unreadable = _UNREADABLE.get(kind, ())
    for spec in _FIELDS[kind](True):
        if spec.name in unreadable or spec.name.endswith(_OTHER_SUFFIX):
            values[spec.name] = None
            continue
        value = _shown_value(spec, record, names or {})
        if isinstance(value, str) and len(value) > TEXT_MAX:
            skipped.append(spec.name)
            continue
        if spec.kind in _TYPED_KINDS and value and not _accepted(spec, value):
            relaxed.append(spec.name)
        if (
            spec.kind is Kind.SELECT
            and value is not None
            and value not in {c.value for c in spec.choices}
        ):
            extra[spec.name] = (value, truncate(_select_label(record, spec.name, value), 75))
        values[spec.name] = value
    project_id = record.project_id if isinstance(record, Milestone) else None
    plan = FormPlan(
        kind=kind,
        record_id=record.id,
        label=truncate(record.display_name, LABEL_MAX),
        project_id=project_id if project_id and project_id > 0 else None,
        extra_choices=extra,
        relaxed=tuple(relaxed),
        skipped=tuple(skipped),
    )
    form = form_spec(plan)
    shown = {f.name: values.get(f.name) for f in form.fields}
    return replace(plan, digests=initial_digests(form, shown)), shown


def _files_of_record_one(kind: RecordKind, files: int | None) -> str:
    if files is None:
        return f"PMP can't tell pmp-bot whether {kind} #1 has any"
    return f"{kind} #1 has {files} file{'' if files == 1 else 's'}"


def _allow_in_settings(kind: RecordKind) -> str:
    return (
        f"A pmp-bot admin can allow {kind} edits anyway in `{SLASH_COMMAND} settings`; until "
        f"the module is fixed, each save then deletes the files of {kind} #1."
    )


def file_loss_note(kind: RecordKind, files: int | None, *, allowed: bool) -> str | None:
    """What an edit form says as it opens when saving it makes PMP's API module delete the
    files of record #1 of its kind: that it won't be saved, or (an admin allowed such edits)
    that it deletes them. None when there is nothing to lose (record #1 has no files)."""
    if kind not in FILE_LOSING_KINDS or files == 0:
        return None
    defect = f"PMP's API module deletes the files of {kind} #1 on every {kind} update"
    if allowed:
        count = "" if files is None else f" ({files} file{'' if files == 1 else 's'})"
        return (
            f"Saving deletes the files of {kind} #1{count}: {defect}, and a pmp-bot admin "
            f"allowed such edits in `{SLASH_COMMAND} settings`. A PMP administrator can fix "
            "the module (pmp-bot's README says how)."
        )
    return (
        f"pmp-bot won't save changes to this {kind}: {defect}, and "
        f"{_files_of_record_one(kind, files)}. A PMP administrator can fix the module "
        f"(pmp-bot's README says how). {_allow_in_settings(kind)}"
    )


def unsafe_update_problem(error: PmpUnsafeUpdateError) -> str:
    """Why a lead or project edit wasn't saved, and what a PMP admin or a pmp-bot admin can
    do about it."""
    return f"{first_record_message(error.kind, error.files)} {_allow_in_settings(error.kind)}"


# ----------------------------------------------------------- the admin setting (/pmp settings)

FILE_LOSS_SETTING_FORM = "edits"
FILE_LOSS_SETTING = "allow_first_record_file_loss"
FILE_LOSS_SETTING_WARNING = (
    "PMP's API module deletes the files attached to lead #1, project #1 or ticket #1 every "
    "time a lead, project or ticket is updated (a defect of the module; pmp-bot's README "
    "explains it and the one-line fix a PMP administrator can make). So pmp-bot refuses such "
    "edits while record #1 has files or PMP can't tell. Allowing them means every lead, "
    "project or ticket edit saved from Slack deletes those files, for good, until the module "
    "is fixed."
)


def file_loss_setting_spec() -> FormSpec:
    """The admin's checkbox allowing edits that cost the files of record #1."""
    return FormSpec(
        FILE_LOSS_SETTING_FORM,
        [
            FormField(
                FILE_LOSS_SETTING,
                "Allow lead, project and ticket edits even though PMP's API module deletes "
                "the files of lead/project/ticket #1",
                Kind.CHECKBOX,
                # A checkbox shows its hint as the option's text (at most 75 characters).
                hint="Allow them: the files of lead, project and ticket #1 will be lost",
            )
        ],
    )


def read_file_loss_setting(view: Mapping[str, Any]) -> bool:
    """Whether the submitted settings view has the checkbox ticked."""
    state = view.get("state")
    values = state.get("values") if isinstance(state, Mapping) else None
    if not isinstance(values, Mapping):
        return False
    return bool(read_form(file_loss_setting_spec(), values).values.get(FILE_LOSS_SETTING))


async def _file_loss_check(pmp: PmpClient, kind: RecordKind, *, allowed: bool) -> str | None:
    """The edit form's note about record #1's files; None when there is nothing to say or
    PMP didn't answer in time (saving checks again)."""
    resource = pmp.leads if kind == "lead" else pmp.projects
    try:
        files = await asyncio.wait_for(
            resource.first_record_files(timeout=FIRST_RECORD_FILES_WAIT_S),
            FIRST_RECORD_FILES_WAIT_S,
        )
    except (PmpError, TimeoutError) as error:
        logger.info("Checking %s #1 for files failed: %s", kind, type(error).__name__)
        return None
    return file_loss_note(kind, files, allowed=allowed)


async def edit_form(
    pmp: PmpClient,
    kind: RecordKind,
    record_id: int,
    *,
    allow_first_record_file_loss: bool = False,
) -> RecordFormContent:
    """The edit form of a record, pre-filled from PMP (PmpNotFoundError when it's gone).

    A lead or project form asks at the same time whether saving would make PMP delete the
    files of record #1, and says so at the top (`allow_first_record_file_loss`: the
    workspace's admin allowed such edits)."""
    check = (
        asyncio.ensure_future(_file_loss_check(pmp, kind, allowed=allow_first_record_file_loss))
        if kind in FILE_LOSING_KINDS
        else None
    )
    try:
        record = await pmp.resource(kind).get(record_id)
        names: dict[str, str] = {}
        if isinstance(record, Project) and record.clientid:
            try:
                names["clientid"] = (await pmp.customers.get(record.clientid)).display_name
            except PmpError as error:
                # The form still works: the customer is shown by its number.
                logger.info("Reading a project's customer failed: %s", type(error).__name__)
        note = await check if check is not None else None
    finally:
        if check is not None and not check.done():
            check.cancel()
    plan, values = edit_plan(kind, record, names)
    return RecordFormContent(
        plan, form_spec(plan), values, (*([note] if note else []), *form_notes(plan))
    )


# --------------------------------------------------------------------------- submissions


@dataclass(frozen=True)
class CheckedForm:
    """A submitted form: PMP field values, the changed ones (edits), or what to fix."""

    values: Mapping[str, Any]
    changes: Mapping[str, Any]
    errors: Mapping[str, str]

    @property
    def ok(self) -> bool:
        return not self.errors


def _id_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _choose_or_number(
    values: dict[str, Any], errors: dict[str, str], spec: FormSpec, name: str, what: str
) -> None:
    """A lead's status or source: the chosen option, or the number typed beside it."""
    chosen, typed = values.get(name), values.pop(f"{name}{_OTHER_SUFFIX}", None)
    other_block = spec.field(f"{name}{_OTHER_SUFFIX}").block_id(spec.id)
    if other_block in errors:
        return
    if chosen is not None and typed is not None and str(typed) != str(chosen):
        errors[other_block] = f"Choose a {what} from the list or type its number, not both."
    elif chosen is None and typed is None:
        errors[spec.field(name).block_id(spec.id)] = f"Choose the {what}, or type its number below."
    elif typed is not None:
        values[name] = str(typed)


def _form_checks(kind: RecordKind, spec: FormSpec, values: dict[str, Any]) -> dict[str, str]:
    """Checks across fields and of values the inputs can't check; values are converted for
    PMP in place (record ids as ints, comma-separated numbers as lists)."""
    errors: dict[str, str] = {}

    def block(name: str) -> str:
        return spec.field(name).block_id(spec.id)

    for item in spec.fields:
        value = values.get(item.name)
        if value is None:
            continue
        if item.kind is Kind.EXTERNAL:
            if not str(value).isdigit() or int(value) <= 0:
                errors[block(item.name)] = f"Choose a {item.label.lower()} from the list."
            else:
                values[item.name] = int(value)
        elif item.name in _ID_LISTS:
            if not _ID_LIST.match(str(value)):
                errors[block(item.name)] = "Enter numbers separated by commas, like 1, 4."
            else:
                values[item.name] = _id_list(str(value))
    if kind == "lead":
        _choose_or_number(values, errors, spec, "status", "status")
        _choose_or_number(values, errors, spec, "source", "source")
    if kind == "project":
        progress = values.get("progress")
        if isinstance(progress, int) and progress > 100 and block("progress") not in errors:
            errors[block("progress")] = "Enter a number from 0 to 100."
        start, deadline = values.get("start_date"), values.get("deadline")
        if isinstance(start, date) and isinstance(deadline, date) and deadline < start:
            errors[block("deadline")] = "The deadline can't be before the start date."
    return errors


def check_submission(plan: FormPlan, state_values: Mapping[str, Any]) -> CheckedForm:
    """Reads and checks a submitted form. For an edit, `changes` holds only the PMP fields
    the user changed (with the unreadable ones whenever anything changed)."""
    spec = form_spec(plan)
    result = read_form(spec, state_values)
    errors = dict(result.errors)
    values = dict(result.values)
    errors.update(
        {k: v for k, v in _form_checks(plan.kind, spec, values).items() if k not in errors}
    )
    changes: dict[str, Any] = {}
    if plan.editing and not errors:
        changed = changed_fields(spec, result.values, plan.digests)
        for name in changed:
            pmp_name = name.removesuffix(_OTHER_SUFFIX)
            changes[pmp_name] = values.get(pmp_name)
        if changes:
            for name in _UNREADABLE.get(plan.kind, ()):
                changes[name] = values.get(name)
    return CheckedForm(values=values, changes=changes, errors=errors)


def pmp_field_errors(plan: FormPlan, error: PmpValidationError) -> dict[str, str]:
    """PMP's complaints (keyed by PMP field) on the inputs they are about; the rest on the
    first input."""
    spec = form_spec(plan)
    shown = {f.name for f in spec.fields}
    errors: dict[str, str] = {}
    others: list[str] = []
    for name, message in error.errors.items():
        if name in shown:
            errors[spec.field(name).block_id(spec.id)] = message
        else:
            others.append(message)
    if others:
        first = spec.fields[0].block_id(spec.id)
        errors[first] = " ".join([*([errors[first]] if first in errors else []), *others])
    return errors


# --------------------------------------------------------------------------------- writes


def _same_name(a: str | None, b: str) -> bool:
    return " ".join((a or "").split()) == " ".join(b.split())


def _is_twin(kind: RecordKind, record: PmpRecord, name: str, values: Mapping[str, Any]) -> bool:
    """Whether `record` is exactly what was written (name, and its project or customer)."""
    if isinstance(record, Customer):
        return _same_name(record.company, name)
    if isinstance(record, Lead):
        return _same_name(record.name, name)
    if isinstance(record, Project):
        return _same_name(record.name, name) and record.clientid == values.get("clientid")
    if isinstance(record, Milestone):
        return _same_name(record.name, name) and record.project_id == values.get("project_id")
    return False


async def _twins(
    pmp: PmpClient, kind: RecordKind, name: str, values: Mapping[str, Any]
) -> set[int]:
    records = await pmp.resource(kind).search(name)
    return {record.id for record in records if _is_twin(kind, record, name, values)}


def _not_found_note(kind: RecordKind, name: str) -> str:
    # A search for an uncut piece of the name: a hint cut with "…" would find nothing.
    hint = search_hint(kind, name)
    find = f"`{hint}`" if hint else f"`{SLASH_COMMAND} {kind}` and a word of its name"
    return f"PMP doesn't say which number it gave the new {kind}; find it with {find}."


def _blank(value: Any) -> bool:
    # Not `in (None, "", False)`: 0 == False, and a zero cost or order is a value.
    return value is None or value is False or (isinstance(value, str | list) and not value)


async def _create(pmp: PmpClient, base_url: str, plan: FormPlan, form: CheckedForm) -> WriteOutcome:
    kind = plan.kind
    fields = {k: v for k, v in form.values.items() if not _blank(v)}
    name = str(fields[_NAME_FIELD[kind]])
    try:
        before: set[int] | None = await _twins(pmp, kind, name, fields)
    except PmpError as error:
        logger.info("Searching before a create failed: %s", type(error).__name__)
        before = None
    # Each kind's create() names its own required fields, which the form has checked.
    resource: Any = pmp.resource(kind)
    new_id: int | None = await resource.create(**fields)
    # From here on the record exists: a failed search must not look like a failed save.
    if new_id is None and before is not None:
        try:
            found = await _twins(pmp, kind, name, fields) - before
        except PmpError as error:
            logger.info("Searching for a new %s failed: %s", kind, type(error).__name__)
            found = set()
        new_id = found.pop() if len(found) == 1 else None
    project_id = fields.get("project_id") if kind == "milestone" else None
    url = card_url(base_url, CardRef(kind, new_id, project_id)) if new_id else None
    return WriteOutcome(
        kind=kind,
        label=truncate(name, LABEL_MAX),
        verb=ADDED,
        record_id=new_id,
        url=url,
        note=None if new_id else _not_found_note(kind, name),
    )


async def _update(
    pmp: PmpClient, base_url: str, plan: FormPlan, form: CheckedForm, *, allow: bool
) -> WriteOutcome:
    assert plan.record_id is not None and plan.ref is not None
    name_field = _NAME_FIELD[plan.kind]
    label = str(form.values.get(name_field) or plan.label)
    try:
        changed = bool(form.changes) and await pmp.resource(plan.kind).update(
            plan.record_id, allow_first_record_file_loss=allow, **form.changes
        )
    except PmpUnsafeUpdateError as error:
        raise PmpUnsafeUpdateError(
            str(error),
            kind=error.kind,
            files=error.files,
            user_message=unsafe_update_problem(error),
        ) from error
    if changed and allow and plan.kind in FILE_LOSING_KINDS:
        logger.warning(
            "Saved a %s edit that PMP's API module follows by deleting the files of %s #1 "
            "(allowed in /pmp settings)",
            plan.kind,
            plan.kind,
        )
    return WriteOutcome(
        kind=plan.kind,
        label=truncate(label, LABEL_MAX),
        verb=UPDATED if changed else UNCHANGED,
        record_id=plan.record_id,
        url=card_url(base_url, plan.ref),
    )


async def save(
    pmp: PmpClient,
    base_url: str,
    plan: FormPlan,
    form: CheckedForm,
    *,
    allow_first_record_file_loss: bool = False,
) -> WriteOutcome:
    """Adds the record, or saves the changes to it; PmpError when PMP refuses.

    A lead or project edit that would make PMP delete the files of record #1 raises
    PmpUnsafeUpdateError (its user_message says why and what can be done), unless
    `allow_first_record_file_loss` (the workspace's admin setting)."""
    if plan.editing:
        return await _update(pmp, base_url, plan, form, allow=allow_first_record_file_loss)
    return await _create(pmp, base_url, plan, form)


@dataclass(frozen=True)
class Deletion:
    """What became of a delete: `label` is the record's name ("" when PMP had no such
    record); `problem` says why nothing was deleted."""

    ref: CardRef
    label: str
    problem: str | None = None

    @property
    def deleted(self) -> bool:
        return self.problem is None


def _refusal(kind: RecordKind) -> str:
    if kind == "customer":
        return (
            "PMP keeps customers that have invoices or estimates; you can mark this one "
            "inactive in PMP instead."
        )
    return "PMP refused; it may still be in use there."


async def delete_record(pmp: PmpClient, ref: CardRef) -> Deletion:
    """Deletes a record, reading it first for its name. PMP's refusals ("Delete Fail", e.g.
    a customer with invoices) and a record already gone come back as a Deletion with a
    problem; other PMP failures raise PmpError."""
    resource = pmp.resource(ref.kind)
    try:
        record: PmpRecord = await resource.get(ref.id)
    except PmpNotFoundError as error:
        return Deletion(ref, "", problem=error.user_message)
    try:
        await resource.delete(ref.id)
    except PmpWriteFailedError:
        return Deletion(ref, record.display_name, problem=_refusal(ref.kind))
    return Deletion(ref, record.display_name)


async def read_record(pmp: PmpClient, ref: CardRef) -> PmpRecord:
    """One record from PMP (PmpNotFoundError when it doesn't exist)."""
    record: PmpRecord = await pmp.resource(ref.kind).get(ref.id)
    return record


async def may_delete(
    services: BotServices, client: AsyncWebClient, team_id: str, user_id: str
) -> bool:
    """Admins may delete PMP records; everyone may with PMP_BOT_ALLOW_DELETE_FOR_ALL."""
    if services.settings.pmp_bot_allow_delete_for_all:
        return True
    return await services.admins.is_admin(client, team_id, user_id)


def announce(services: BotServices, pmp: ConnectedPmp, user_id: str, outcome: WriteOutcome) -> None:
    """After a change: kept searches are stale, and the notify channel hears of it."""
    if outcome.verb == UNCHANGED:
        return
    services.lookups.forget_results(pmp.cache_scope)
    services.notify(
        pmp.workspace,
        notice_line(user_id, outcome.verb, outcome.kind, outcome.label, outcome.url),
    )


# ------------------------------------------------------------------------------- options


def _countries() -> list[tuple[int, str]]:
    found = []
    number = 1
    while (name := country_name(number)) is not None and not name.startswith("#"):
        found.append((number, name))
        number += 1
    return found


COUNTRIES: Final[Sequence[tuple[int, str]]] = tuple(_countries())


def country_options(query: str) -> list[dict[str, Any]]:
    """Countries whose name contains `query`, those starting with it first."""
    wanted = " ".join(query.split()).casefold()
    if not wanted:
        return []
    hits = [(number, name) for number, name in COUNTRIES if wanted in name.casefold()]
    hits.sort(key=lambda hit: (not hit[1].casefold().startswith(wanted), hit[1]))
    return [
        Option(value=str(number), text=truncate(name, 75)).to_dict()
        for number, name in hits[:MAX_OPTIONS]
    ]


def project_option_label(record: PmpRecord) -> str:
    return f"{record.display_name} (#{record.id})"


def customer_option_label(record: PmpRecord) -> str:
    return record.display_name
