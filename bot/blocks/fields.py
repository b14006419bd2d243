"""Declarative form fields: one list per form builds the modal's inputs, reads the submitted
state, validates it with messages that name what to fix, and detects what changed. Also the
options an external select is answered with (`record_options`, `notice_option`)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    DatePickerElement,
    EmailInputElement,
    ExternalDataMultiSelectElement,
    ExternalDataSelectElement,
    InputBlock,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    StaticMultiSelectElement,
    StaticSelectElement,
    UrlInputElement,
)

from bot.names import Choice
from bot.pmp import PmpRecord
from bot.text import truncate

OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150
# An options load lists at most 100 options.
MAX_OPTIONS = 100
# The values of the one option a typeahead shows when PMP was slow or failed: not choices.
SLOW_VALUE = "__pmp_slow__"
FAILED_VALUE = "__pmp_failed__"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Kind(StrEnum):
    TEXT = "text"
    MULTILINE = "multiline"
    INTEGER = "integer"
    DECIMAL = "decimal"
    EMAIL = "email"
    URL = "url"
    DATE = "date"
    SELECT = "select"
    MULTI_SELECT = "multi_select"
    EXTERNAL = "external"
    # Several records picked from a typeahead (project members); the values are their ids.
    EXTERNAL_MULTI = "external_multi"
    CHECKBOX = "checkbox"


def _option(choice: Choice) -> Option:
    return Option(
        value=choice.value[:OPTION_VALUE_MAX], text=truncate(choice.label, OPTION_TEXT_MAX)
    )


def notice_option(text: str, value: str) -> dict[str, Any]:
    """The one option of a typeahead that says what went wrong (`SLOW_VALUE`, `FAILED_VALUE`)."""
    return Option(value=value, text=truncate(text, OPTION_TEXT_MAX)).to_dict()


def record_options(
    records: Sequence[PmpRecord], label: Callable[[PmpRecord], str]
) -> list[dict[str, Any]]:
    """A typeahead's options: one per record (its id), named by `label`."""
    return [
        Option(
            value=str(record.id), text=truncate(label(record) or f"#{record.id}", OPTION_TEXT_MAX)
        ).to_dict()
        for record in records[:MAX_OPTIONS]
    ]


@dataclass(frozen=True)
class FormField:
    """One input of a form. `name` is the PMP field it edits; its block id is
    `<form>.<name>`, so `response_action: errors` can point at it."""

    name: str
    label: str
    kind: Kind = Kind.TEXT
    required: bool = False
    max_length: int | None = None
    choices: Sequence[Choice] = ()
    hint: str | None = None
    placeholder: str | None = None
    min_value: int | None = None
    # External selects: options come from an options load; dispatch_action makes Slack send
    # a block_actions when the value changes (to update dependent fields).
    dispatch_action: bool = False
    min_query_length: int = 1
    # An app-wide unique action id, for external selects: Slack routes their options loads
    # by action id alone, so `<name>_input` could reach another form's handler.
    action: str | None = None
    # What a typeahead picks, for "Choose <noun> from the list." (default: a <label>).
    noun: str | None = None

    def block_id(self, form: str) -> str:
        return f"{form}.{self.name}"

    @property
    def action_id(self) -> str:
        return self.action or f"{self.name}_input"


@dataclass(frozen=True)
class FormSpec:
    id: str  # the block id prefix, e.g. "ticket"
    fields: Sequence[FormField]

    def field(self, name: str) -> FormField:
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise KeyError(name)


@dataclass
class FormResult:
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # block id -> message

    @property
    def ok(self) -> bool:
        return not self.errors


# ------------------------------------------------------------------------------------- build


def _initial_option(spec: FormField, value: Any) -> Choice | None:
    if isinstance(value, Choice):
        return value
    if value in (None, ""):
        return None
    text = str(value)
    return next((c for c in spec.choices if c.value == text), None)


def _element(spec: FormField, value: Any) -> Any:
    placeholder = PlainTextObject(text=spec.placeholder) if spec.placeholder else None
    text = None if value in (None, "") else str(value)
    if spec.kind in (Kind.TEXT, Kind.MULTILINE):
        return PlainTextInputElement(
            action_id=spec.action_id,
            initial_value=text,
            multiline=spec.kind is Kind.MULTILINE,
            max_length=spec.max_length,
            placeholder=placeholder,
        )
    if spec.kind in (Kind.INTEGER, Kind.DECIMAL):
        return NumberInputElement(
            action_id=spec.action_id,
            is_decimal_allowed=spec.kind is Kind.DECIMAL,
            initial_value=text,
            min_value=str(spec.min_value) if spec.min_value is not None else None,
            placeholder=placeholder,
        )
    if spec.kind is Kind.EMAIL:
        return EmailInputElement(
            action_id=spec.action_id, initial_value=text, placeholder=placeholder
        )
    if spec.kind is Kind.URL:
        return UrlInputElement(
            action_id=spec.action_id, initial_value=text, placeholder=placeholder
        )
    if spec.kind is Kind.DATE:
        return DatePickerElement(action_id=spec.action_id, initial_date=text)
    if spec.kind is Kind.SELECT:
        chosen = _initial_option(spec, value)
        return StaticSelectElement(
            action_id=spec.action_id,
            options=[_option(c) for c in spec.choices[:100]],
            initial_option=_option(chosen) if chosen else None,
            placeholder=placeholder or PlainTextObject(text="Choose…"),
        )
    if spec.kind is Kind.MULTI_SELECT:
        selected = [_initial_option(spec, v) for v in (value or [])]
        initial = [_option(c) for c in selected if c is not None]
        return StaticMultiSelectElement(
            action_id=spec.action_id,
            options=[_option(c) for c in spec.choices[:100]],
            initial_options=initial or None,
            placeholder=placeholder or PlainTextObject(text="Choose…"),
        )
    if spec.kind is Kind.EXTERNAL:
        chosen = value if isinstance(value, Choice) else None
        return ExternalDataSelectElement(
            action_id=spec.action_id,
            min_query_length=spec.min_query_length,
            initial_option=_option(chosen) if chosen else None,
            placeholder=placeholder or PlainTextObject(text="Type to search…"),
        )
    if spec.kind is Kind.EXTERNAL_MULTI:
        chosen_many = [c for c in value or [] if isinstance(c, Choice)]
        return ExternalDataMultiSelectElement(
            action_id=spec.action_id,
            min_query_length=spec.min_query_length,
            initial_options=[_option(c) for c in chosen_many] or None,
            placeholder=placeholder or PlainTextObject(text="Type to search…"),
        )
    if spec.kind is Kind.CHECKBOX:
        option = Option(value="on", text=spec.hint or spec.label)
        return CheckboxesElement(
            action_id=spec.action_id,
            options=[option],
            initial_options=[option] if value in (True, "1", "on") else None,
        )
    raise ValueError(f"unknown field kind {spec.kind}")


def build_inputs(form: FormSpec, values: Mapping[str, Any]) -> list[Block]:
    """Input blocks for every field, pre-filled from `values` (PMP's strings, or Choice for
    external selects)."""
    blocks: list[Block] = []
    for spec in form.fields:
        blocks.append(
            InputBlock(
                block_id=spec.block_id(form.id),
                label=PlainTextObject(text=truncate(spec.label, 2000)),
                element=_element(spec, values.get(spec.name)),
                optional=not spec.required,
                hint=PlainTextObject(text=spec.hint)
                if spec.hint and spec.kind is not Kind.CHECKBOX
                else None,
                dispatch_action=spec.dispatch_action or None,
            )
        )
    return blocks


# -------------------------------------------------------------------------------------- read


def _raw(spec: FormField, entry: Mapping[str, Any]) -> Any:
    if spec.kind is Kind.DATE:
        return entry.get("selected_date")
    if spec.kind in (Kind.SELECT, Kind.EXTERNAL):
        option = entry.get("selected_option") or {}
        return option.get("value")
    if spec.kind in (Kind.MULTI_SELECT, Kind.EXTERNAL_MULTI, Kind.CHECKBOX):
        return [o.get("value") for o in entry.get("selected_options") or []]
    return entry.get("value")


def _check(spec: FormField, raw: Any) -> tuple[Any, str | None]:
    """(value, error) for one field's raw submitted value."""
    label = spec.label.lower()
    if spec.kind is Kind.CHECKBOX:
        return bool(raw), None
    if spec.kind in (Kind.MULTI_SELECT, Kind.EXTERNAL_MULTI):
        values = [v for v in raw or [] if v]
        if spec.kind is Kind.EXTERNAL_MULTI and any(
            v in (SLOW_VALUE, FAILED_VALUE) for v in values
        ):
            # The option that said PMP was slow or failed is not a choice.
            return [v for v in values if v not in (SLOW_VALUE, FAILED_VALUE)], (
                f"Remove the notice and choose {spec.noun or label} from the list."
            )
        if spec.required and not values:
            return values, f"Choose at least one {label}."
        return values, None
    text = raw.strip() if isinstance(raw, str) else raw
    if text in (None, ""):
        if spec.required:
            verb = "Choose" if spec.kind in (Kind.SELECT, Kind.EXTERNAL, Kind.DATE) else "Enter"
            return None, f"{verb} the {label}."
        return None, None
    if spec.kind is Kind.EXTERNAL and text in (SLOW_VALUE, FAILED_VALUE):
        # The option that said PMP was slow or failed is not a choice.
        return None, f"Choose {spec.noun or 'a ' + label} from the list."
    if spec.max_length is not None and len(text) > spec.max_length:
        return text, f"Keep it to {spec.max_length} characters (now {len(text)})."
    if spec.kind is Kind.INTEGER:
        try:
            number = int(text)
        except ValueError:
            return text, "Enter a whole number, like 12."
        if spec.min_value is not None and number < spec.min_value:
            return text, f"Enter {spec.min_value} or more."
        return number, None
    if spec.kind is Kind.DECIMAL:
        try:
            amount = Decimal(text)
        except InvalidOperation:
            return text, "Enter a number, like 1500.00."
        if not amount.is_finite() or amount < 0:
            return text, "Enter a number of 0 or more, like 1500.00."
        return amount, None
    if spec.kind is Kind.EMAIL and not _EMAIL.match(text):
        return text, "Enter an email address, like jane@example.com."
    if spec.kind is Kind.URL and not re.match(r"^https?://[^\s/$.?#].[^\s]*$", text, re.I):
        return text, "Enter a web address starting with https://"
    if spec.kind is Kind.DATE:
        try:
            return date.fromisoformat(text), None
        except ValueError:
            return text, "Pick a date, like 2026-12-31."
    if spec.kind in (Kind.SELECT,) and spec.choices and text not in {c.value for c in spec.choices}:
        return text, f"Choose one of the listed {label} options."
    return text, None


def read_form(form: FormSpec, state_values: Mapping[str, Any]) -> FormResult:
    """The typed values of a submitted form, and an error per block that needs fixing."""
    result = FormResult()
    for spec in form.fields:
        block_id = spec.block_id(form.id)
        entry = (state_values.get(block_id) or {}).get(spec.action_id) or {}
        value, error = _check(spec, _raw(spec, entry))
        result.values[spec.name] = value
        if error:
            result.errors[block_id] = error
    return result


def typed_values(form: FormSpec, state_values: Mapping[str, Any]) -> dict[str, Any]:
    """What the user typed, unchecked, in the form `build_inputs` takes (the chosen option
    of an external select as a Choice): to show a form again exactly as it was submitted."""
    values: dict[str, Any] = {}
    for spec in form.fields:
        entry = (state_values.get(spec.block_id(form.id)) or {}).get(spec.action_id) or {}
        if spec.kind is Kind.EXTERNAL:
            option = entry.get("selected_option") or {}
            text = (option.get("text") or {}).get("text") or ""
            value = option.get("value")
            chosen = value and value not in (SLOW_VALUE, FAILED_VALUE)
            values[spec.name] = Choice(str(value), str(text)) if chosen else None
        elif spec.kind is Kind.EXTERNAL_MULTI:
            values[spec.name] = [
                Choice(str(option.get("value")), str((option.get("text") or {}).get("text") or ""))
                for option in entry.get("selected_options") or []
                if option.get("value") not in (None, SLOW_VALUE, FAILED_VALUE)
            ]
        elif spec.kind is Kind.CHECKBOX:
            values[spec.name] = bool(_raw(spec, entry))
        else:
            values[spec.name] = _raw(spec, entry)
    return values


# ----------------------------------------------------------------------------- what changed


def _normal(value: Any, kind: Kind) -> str:
    if isinstance(value, Choice):
        value = value.value
    if kind is Kind.CHECKBOX:
        return "1" if value in (True, "1", "on") else "0"
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        # An empty list is "nothing chosen", as None is.
        ids = (v.value if isinstance(v, Choice) else v for v in value)
        return json.dumps(sorted(str(v) for v in ids)) if value else ""
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    if kind in (Kind.INTEGER, Kind.DECIMAL):
        # PMP sends "1500.00" where the form gives back 1500.
        try:
            return format(Decimal(text).normalize(), "f")
        except InvalidOperation:
            return text
    if kind in (Kind.SELECT, Kind.EXTERNAL) and text == "0":
        return ""  # PMP's "0" means "none chosen"
    return text


def digest(value: Any, kind: Kind = Kind.TEXT) -> str:
    return hashlib.blake2s(_normal(value, kind).encode("utf-8"), digest_size=4).hexdigest()


def initial_digests(form: FormSpec, values: Mapping[str, Any]) -> dict[str, str]:
    """A short fingerprint of each shown value, kept in the modal's private_metadata so the
    submission can tell what the user changed without storing the values themselves."""
    return {spec.name: digest(values.get(spec.name), spec.kind) for spec in form.fields}


def changed_fields(
    form: FormSpec, submitted: Mapping[str, Any], shown: Mapping[str, str]
) -> dict[str, Any]:
    """The submitted values whose fingerprint differs from what the modal showed."""
    return {
        spec.name: submitted.get(spec.name)
        for spec in form.fields
        if digest(submitted.get(spec.name), spec.kind) != shown.get(spec.name)
    }
