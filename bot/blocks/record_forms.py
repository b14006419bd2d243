"""The record forms: customer, lead, project and milestone modals (new and edit), what they
carry, reading them back, and the views and messages of a save or a delete.

One declarative field list per record kind builds its modal and reads it back
(bot.blocks.fields). A `FormPlan`, kept in the modal's private_metadata, rebuilds the same
fields on submit and remembers a fingerprint of every value shown, so an edit sends PMP only
what the user changed (a `RecordWrite`, which bot.records saves).

Every builder is pure. Text from PMP or typed by users is escaped for mrkdwn and cut to
Slack's limits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Final

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    MarkdownTextObject,
    Option,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.blocks.cards import KIND_LABELS, CardRef, Message, card_url, id_text, record_link
from bot.blocks.connect import build_admins_only
from bot.blocks.fields import (
    MAX_OPTIONS,
    FormField,
    FormSpec,
    Kind,
    build_inputs,
    changed_fields,
    initial_digests,
    read_form,
    typed_values,
)
from bot.blocks.ids import RecordForm, StaffPicker
from bot.names import (
    DEFAULT_BILLING_TYPES,
    DEFAULT_LEAD_SOURCES,
    DEFAULT_LEAD_STATUSES,
    DEFAULT_PROJECT_STATUSES,
    Choice,
    country_name,
    positive_id,
)
from bot.pmp import Milestone, PmpRecord, PmpValidationError, Project, RecordKind
from bot.records import (
    ADDED,
    FORM_KINDS,
    LABEL_MAX,
    NAME_FIELD,
    UNCHANGED,
    EditableRecord,
    RecordWrite,
    WriteOutcome,
)
from bot.text import escape_mrkdwn, safe, truncate

# Slack's plain-text input holds at most 3000 characters; PMP's names at most 600.
TEXT_MAX = 3000
NAME_MAX = 600
METADATA_MAX = 3000
MODAL_TEXT_MAX = 24
SECTION_MAX = 3000
CONFIRM_TEXT_MAX = 300
_SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,30}")


# Fields no PMP endpoint returns that PMP's PUT resets when absent (the client's
# reset_by_update): an edit form shows them empty, and any saved change sends what they hold.
# (Lead and project tags can't be read either, but PMP keeps them: they go only when typed.)
_UNREADABLE: Final[dict[RecordKind, tuple[str, ...]]] = {
    "customer": ("groups_in",),
    "project": ("project_members",),
}

# Text fields holding record numbers separated by commas.
_ID_LISTS: Final = frozenset({"groups_in", "project_members"})

# Select fields with a number input beside them for ids the bot has no name for.
_OTHER_SUFFIX = "_other"

_SERVER_BREAK = re.compile(r"<br\s*/?>(?=\r\n|\n\r|\n|\r)", re.IGNORECASE)

_TYPED_KINDS = frozenset({Kind.TEXT, Kind.URL, Kind.EMAIL, Kind.INTEGER, Kind.DECIMAL})

_ID_LIST = re.compile(r"^\s*\d+(\s*,\s*\d+)*\s*,?\s*$")


# Shown above a lead or project form whose staff fields are number inputs.
STAFF_NUMBERS_NOTE = (
    "PMP's API token isn't allowed to list staff members, so type their numbers (PMP: Setup → "
    "Staff). A PMP admin can give the token the staff permission to pick them by name."
)

# ------------------------------------------------------------------------------- fields


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


def _staff_picker(
    name: str, label: str, *, multi: bool = False, hint: str | None = None
) -> FormField:
    """A typeahead of PMP's staff (handlers/staff.py answers it); its values are staff ids."""
    return FormField(
        name,
        label,
        Kind.EXTERNAL_MULTI if multi else Kind.EXTERNAL,
        action=StaffPicker.OPTIONS,
        placeholder="Type a staff member's name…",
        hint=hint,
        noun="staff members" if multi else "a staff member",
    )


def _staff_numbers(spec: FormField, editing: bool) -> FormField:
    """The number input that takes a staff picker's place when PMP won't list staff."""
    if spec.kind is Kind.EXTERNAL_MULTI:
        return _text(
            spec.name,
            spec.label,
            max_length=200,
            hint="Staff numbers separated by commas, like 1, 3."
            + (" Saving replaces the project's members." if editing else ""),
        )
    return FormField(
        spec.name,
        f"{spec.label} (staff number)",
        Kind.INTEGER,
        min_value=1,
        hint="The staff member's number in PMP; some PMP versions require one.",
    )


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
        _staff_picker("assigned", "Assigned to", hint="Some PMP versions require one."),
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
        _staff_picker(
            "project_members",
            "Members",
            multi=True,
            hint="Saving replaces the project's members." if editing else None,
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


def staff_shown(kind: RecordKind, record: PmpRecord) -> dict[str, int]:
    """The staff ids an edit form of `record` shows in single staff pickers, by field (a
    lead's `assigned`): to name them (see `edit_plan`'s `names`)."""
    return {
        spec.name: staff_id
        for spec in _FIELDS[kind](True)
        if spec.kind is Kind.EXTERNAL and spec.action == StaffPicker.OPTIONS
        if (staff_id := positive_id(record.raw.get(spec.name))) is not None
    }


def _fields_of(kind: RecordKind, editing: bool, staff_numbers: bool) -> list[FormField]:
    """A kind's fields; with `staff_numbers`, number inputs in place of the staff pickers."""
    fields = _FIELDS[kind](editing)
    if not staff_numbers:
        return fields
    return [
        _staff_numbers(spec, editing) if spec.action == StaffPicker.OPTIONS else spec
        for spec in fields
    ]


# ------------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class FormPlan:
    """What a record modal shows, enough to rebuild its fields exactly on submit.

    - `digests`: a fingerprint of each value shown (bot.blocks.fields.initial_digests).
    - `extra_choices`: select field -> (value, label) of the record's value when it is not
      one of the usual choices (an id only that PMP install has).
    - `relaxed`: fields shown as plain text without their usual checks, because the value PMP
      holds wouldn't pass them (a web address without https://, a longer text): an edit
      must not be refused over a value the user didn't touch.
    - `skipped`: fields too long to edit in Slack; saving keeps what PMP holds.
    - `staff_numbers`: PMP won't list staff to this token, so staff are typed as numbers
      instead of picked by name.
    """

    kind: RecordKind
    record_id: int | None = None
    label: str = ""
    project_id: int | None = None
    digests: Mapping[str, str] = field(default_factory=dict)
    extra_choices: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    relaxed: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    staff_numbers: bool = False

    @property
    def editing(self) -> bool:
        return self.record_id is not None

    @property
    def ref(self) -> CardRef | None:
        if self.record_id is None:
            return None
        project_id = self.project_id if self.kind == "milestone" else None
        return CardRef(self.kind, self.record_id, project_id)

    def write(self, form: CheckedForm) -> RecordWrite:
        """What saving the checked `form` asks of PMP."""
        return RecordWrite(
            kind=self.kind,
            values=form.values,
            record_id=self.record_id,
            label=self.label,
            project_id=self.project_id,
            changes=form.changes,
        )

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
            "n": int(self.staff_numbers),
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
                staff_numbers=bool(data.get("n")),
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
    for spec in _fields_of(plan.kind, plan.editing, plan.staff_numbers):
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
    if plan.staff_numbers and plan.kind in ("lead", "project"):
        notes.append(STAFF_NUMBERS_NOTE)
    if plan.editing and plan.kind == "project":
        how = "enter the staff numbers" if plan.staff_numbers else "choose them"
        notes.append(
            "PMP doesn't tell pmp-bot a project's members, and saving any change replaces "
            f"them: {how} under Members, or the project will have none."
        )
    fields = _fields_of(plan.kind, plan.editing, plan.staff_numbers)
    for name in plan.skipped:
        label = next((f.label for f in fields if f.name == name), name)
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
    kind: RecordKind,
    *,
    name: str | None = None,
    today: date | None = None,
    staff_numbers: bool = False,
) -> RecordFormContent:
    """An empty form (the name filled in when the command gave one); `staff_numbers`: PMP
    won't list staff, so staff fields are number inputs."""
    values: dict[str, Any] = {}
    if name:
        values[NAME_FIELD[kind]] = truncate(name.strip(), NAME_MAX)
    if kind == "project":
        values.update(
            billing_type="1",
            status="2",
            start_date=(today or date.today()).isoformat(),
            progress_from_tasks=True,
        )
    return _content(FormPlan(kind=kind, staff_numbers=staff_numbers), values)


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
    kind: RecordKind,
    record: PmpRecord,
    names: Mapping[str, str] | None = None,
    *,
    staff_numbers: bool = False,
) -> tuple[FormPlan, dict[str, Any]]:
    """The plan and pre-filled values of an edit form for `record`; `names` names the
    records its typeaheads show (a project's customer, a lead's staff member)."""
    values: dict[str, Any] = {}
    extra: dict[str, tuple[str, str]] = {}
    relaxed: list[str] = []
    skipped: list[str] = []
    unreadable = _UNREADABLE.get(kind, ())
    for spec in _fields_of(kind, True, staff_numbers):
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
        staff_numbers=staff_numbers,
    )
    form = form_spec(plan)
    shown = {f.name: values.get(f.name) for f in form.fields}
    return replace(plan, digests=initial_digests(form, shown)), shown


def edit_form(editable: EditableRecord, *, staff_numbers: bool = False) -> RecordFormContent:
    """The edit form of a record read from PMP, pre-filled; the note about record #1's files
    (if any) at the top. `staff_numbers`: PMP won't list staff (see `new_form`)."""
    plan, values = edit_plan(
        editable.kind, editable.record, editable.names, staff_numbers=staff_numbers
    )
    notes = (*([editable.note] if editable.note else []), *form_notes(plan))
    return RecordFormContent(plan, form_spec(plan), values, notes)


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
        if item.kind is Kind.EXTERNAL_MULTI:
            picked = [str(v) for v in value]
            if not all(v.isdigit() and int(v) > 0 for v in picked):
                errors[block(item.name)] = f"Choose {item.noun or 'them'} from the list."
            else:
                values[item.name] = picked or None
        elif item.kind is Kind.EXTERNAL:
            if not str(value).isdigit() or int(value) <= 0:
                what = item.noun or f"a {item.label.lower()}"
                errors[block(item.name)] = f"Choose {what} from the list."
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


# --------------------------------------------------------------------------------- views


_LABELS: dict[str, str] = {str(kind): label for kind, label in KIND_LABELS.items()}


def _noun(kind: str) -> str:
    return _LABELS.get(kind, kind).lower()


def _title(text: str) -> PlainTextObject:
    return PlainTextObject(text=truncate(text, MODAL_TEXT_MAX))


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_MAX)))


def _message_view(title: str, text: str) -> View:
    return View(type="modal", title=_title(title), close=_title("Close"), blocks=[_section(text)])


def build_loading_modal(kind: RecordKind, record_id: int) -> View:
    """Shown at once while the record is read from PMP."""
    noun = _noun(kind)
    return _message_view(
        f"Edit {noun}",
        f":hourglass_flowing_sand: Reading {noun} {id_text(record_id)} from PMP…",
    )


def build_form_problem_view(kind: RecordKind | None, problem: str) -> View:
    """In place of a form that couldn't be filled in or read."""
    title = f"Edit {_noun(kind)}" if kind else "PMP"
    return _message_view(title, f":warning: {safe(problem, 2500)}")


def build_record_modal(content: RecordFormContent, *, problem: str | None = None) -> View:
    """A record's modal: new or edit, pre-filled from `content.values`. `problem` says why
    the last save failed (the form then shows what the user typed)."""
    plan = content.plan
    noun = _noun(plan.kind)
    blocks: list[Block] = []
    if problem:
        blocks.append(
            _section(
                f":warning: {safe(problem, 2000)} Your entries are kept: check them and save again."
            )
        )
    if plan.editing and plan.label:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=f"{KIND_LABELS[plan.kind]} {id_text(plan.record_id or 0)}: "
                        f"*{safe(plan.label, LABEL_MAX)}*"
                    )
                ]
            )
        )
    blocks += [_section(f":warning: {escape_mrkdwn(note)}") for note in content.notes]
    blocks += build_inputs(content.spec, content.values)
    return View(
        type="modal",
        callback_id=RecordForm.MODAL,
        private_metadata=plan.to_metadata(),
        title=_title(f"Edit {noun}" if plan.editing else f"New {noun}"),
        submit=_title("Save" if plan.editing else f"Add {noun}"),
        close=_title("Cancel"),
        blocks=blocks,
    )


def _outcome_title(outcome: WriteOutcome) -> str:
    if outcome.verb == UNCHANGED:
        return "Nothing changed"
    label = _LABELS.get(outcome.kind, outcome.kind.title())
    return f"{label} {'added' if outcome.verb == ADDED else 'saved'}"


def build_done_view(outcome: WriteOutcome) -> View:
    """What a finished save shows: the record (linked when its page is known)."""
    noun = _noun(outcome.kind)
    name = record_link(outcome.url, safe(outcome.label, LABEL_MAX) or "(no name)")
    number = f" ({id_text(outcome.record_id)})" if outcome.record_id else ""
    if outcome.verb == UNCHANGED:
        text = f"Nothing changed: {noun} {name}{number} is as it was in PMP."
    elif outcome.verb == ADDED:
        text = f":white_check_mark: Added {noun} {name}{number} to PMP."
    else:
        text = f":white_check_mark: Saved the changes to {noun} {name}{number}."
    blocks: list[Block] = [_section(text)]
    if outcome.note:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=safe(outcome.note, 1000))]))
    return View(
        type="modal", title=_title(_outcome_title(outcome)), close=_title("Done"), blocks=blocks
    )


# -------------------------------------------------------------------------------- deletes


def _who(user_id: str) -> str:
    return f"<@{user_id}>" if _SLACK_USER_ID.fullmatch(user_id) else "Someone"


def build_delete_prompt(ref: CardRef, label: str, *, base_url: str) -> Message:
    """The `/pmp <record> delete <id>` question: the record named, and a Delete button
    behind Slack's confirm dialog."""
    noun = _noun(ref.kind)
    name = safe(label, LABEL_MAX) or "(no name)"
    tail = f" ({noun} {id_text(ref.id)}) will be deleted from PMP. This can't be undone."
    confirm_name = safe(label, CONFIRM_TEXT_MAX - len(tail) - 2) or "(no name)"
    link = record_link(card_url(base_url, ref), name)
    value = ref.to_value()
    return Message(
        text=f"Delete {noun} {name}?",
        blocks=[
            _section(
                f":wastebasket: Delete {noun} {link} ({id_text(ref.id)}) from PMP? "
                "This can't be undone."
            ),
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text=truncate(f"Delete {noun}", 75),
                        action_id=RecordForm.DELETE,
                        value=value,
                        style="danger",
                        confirm=ConfirmObject(
                            title=truncate(f"Delete this {noun}?", 100),
                            text=f"*{confirm_name}*{tail}",
                            confirm="Delete",
                            deny="Keep it",
                            style="danger",
                        ),
                    ),
                    ButtonElement(text="Cancel", action_id=RecordForm.DELETE_CANCEL, value=value),
                ]
            ),
        ],
    )


def build_deleted(ref: CardRef, label: str, user_id: str) -> Message:
    """In place of the card or prompt: the record is gone, and who deleted it."""
    noun = _noun(ref.kind)
    name = safe(label, LABEL_MAX) or "(no name)"
    text = f":wastebasket: {_who(user_id)} deleted {noun} *{name}* ({id_text(ref.id)}) from PMP."
    return Message(text=f"Deleted {noun} {name}", blocks=[_section(text)])


def build_delete_failed(ref: CardRef, label: str, problem: str) -> Message:
    """Why nothing was deleted (PMP refused, e.g. a customer with invoices, or the record
    was already gone); `label` is "" when the record's name is unknown."""
    noun = _noun(ref.kind)
    reason = safe(problem, 1500)
    if label:
        name = safe(label, LABEL_MAX)
        text = f":warning: PMP didn't delete {noun} *{name}* ({id_text(ref.id)}). {reason}"
    else:
        text = f":warning: {reason} Nothing was deleted."
    return Message(text=f"Nothing was deleted: {safe(problem, 200)}", blocks=[_section(text)])


def build_delete_refused() -> Message:
    return Message(
        text="Only admins can delete PMP records.", blocks=build_admins_only("delete PMP records")
    )


def build_delete_cancelled(ref: CardRef) -> Message:
    noun = _noun(ref.kind)
    text = f"Nothing was deleted: {noun} {id_text(ref.id)} stays in PMP."
    return Message(text=text, blocks=[_section(text)])
