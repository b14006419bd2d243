"""The fields PMP accepts on create and update, and how a Python value goes onto the wire.

PMP's PUT writes the keys it is sent and keeps the others, except a few per resource that it
RESETS when they are absent (a milestone's start date, a lead's e-mail, a project's deadline…).
An update therefore sends the changed fields, every field PMP would reset (read from the record
just before, so they are kept) and the fields its validation requires. An unknown field name
reaches the database, so each resource lists the fields it may send; keys that records only
carry when read (joined names such as a ticket's ``department_name``, counters, creation
dates) are never sent back.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeAlias

FieldValue: TypeAlias = (
    str | int | float | Decimal | bool | date | datetime | Sequence[str | int] | None
)
WireValue: TypeAlias = str | list[str]

_TRUE_TEXT = frozenset({"1", "on", "true", "yes"})
_FALSE_TEXT = frozenset({"", "0", "off", "false", "no"})
_ZERO_DATES = ("0000-00-00",)


class Kind(enum.Enum):
    TEXT = "text"
    INT = "int"
    DECIMAL = "decimal"
    DATE = "date"
    DATETIME = "datetime"
    # Text the server saves through nl2br(): a "<br />" before each line break is its own
    # doing, so it is taken out before sending back or every update would add another.
    MULTILINE = "multiline"
    # Perfex checkbox semantics: the field's presence means true whatever its value, so true is
    # sent as "on" and false by leaving the field out (the server resets it to 0 when absent).
    CHECKBOX = "checkbox"
    # The same presence semantics, sent as "1" for true and left out for false.
    FLAG = "flag"
    # Sent as repeated `field[]` in forms and as a JSON array in a PUT.
    LIST = "list"
    # Tag names: a list or a comma-separated string, sent comma-separated.
    TAGS = "tags"


_PRESENCE_KINDS = frozenset({Kind.CHECKBOX, Kind.FLAG})


@dataclass(frozen=True)
class ResourceFields:
    """The writable fields of one resource and their kinds, in the order they are sent.

    ``reset`` are the update fields PMP resets when a PUT leaves them out (an update sends them
    back as read); ``required`` the ones its update validation requires; ``unreadable`` the
    reset fields no endpoint returns, which an update can only keep when the caller passes
    them. Every checkbox must be a reset field: leaving it out is how it is switched off.
    """

    create: Mapping[str, Kind]
    update: Mapping[str, Kind]
    reset: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    unreadable: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for group in (self.reset, self.required, self.unreadable):
            unknown = set(group) - set(self.update)
            if unknown:
                raise ValueError(f"not update fields: {', '.join(sorted(unknown))}")
        if not set(self.unreadable) <= set(self.reset):
            raise ValueError("an unreadable field is one PMP resets")
        checkboxes = {name for name, kind in self.update.items() if kind in _PRESENCE_KINDS}
        if not checkboxes <= set(self.reset):
            raise ValueError("a checkbox PMP doesn't reset could never be switched off")

    def check_names(self, names: Iterable[str], *, operation: str, noun: str) -> None:
        allowed = self.create if operation == "create" else self.update
        unknown = sorted(set(names) - set(allowed))
        if unknown:
            raise ValueError(
                f"PMP {noun} {operation} takes no field(s) {', '.join(unknown)}; "
                f"known fields: {', '.join(allowed)}"
            )

    def check_values(self, values: Mapping[str, Any], *, operation: str) -> None:
        """ValueError for a value that doesn't fit its field, before any request is sent."""
        kinds = self.create if operation == "create" else self.update
        for name, value in values.items():
            encode(name, kinds[name], value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _parse_int(field: str, value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    if isinstance(value, (float, Decimal)) and value == int(value):
        return int(value)
    raise ValueError(f"{field} must be a whole number, not {value!r}")


def _parse_decimal(field: str, value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"{field} must be a number, not {value!r}")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{field} must be a number, not {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"{field} must be a finite number, not {value!r}")
    return number


def _parse_datetime(field: str, value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    text = str(value).strip()
    if text.startswith(_ZERO_DATES):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{field} must be a date, a datetime or a 'YYYY-MM-DD' string, not {value!r}"
        ) from None


def _parse_checkbox(field: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE_TEXT:
            return True
        if lowered in _FALSE_TEXT:
            return False
    raise ValueError(f"{field} must be True or False, not {value!r}")


_SERVER_BREAK = re.compile(r"<br\s*/?>(?=\r\n|\n\r|\n|\r)", re.IGNORECASE)


def _without_server_breaks(value: Any) -> str:
    return _SERVER_BREAK.sub("", _text(value))


def _tag_names(value: Any) -> list[str]:
    parts = value.split(",") if isinstance(value, str) else [_text(item) for item in value]
    return list(dict.fromkeys(part.strip() for part in parts if part.strip()))


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def encode(field: str, kind: Kind, value: Any) -> WireValue | None:
    """The wire form of one field value, or None for "no value": None, blank text, an empty
    list and a false checkbox. A create leaves such a field out; an update leaves out a
    checkbox or a field PMP resets when absent, and sends "" to clear any other field.
    """
    if kind in (Kind.CHECKBOX, Kind.FLAG):
        if value is None or not _parse_checkbox(field, value):
            return None
        return "on" if kind is Kind.CHECKBOX else "1"
    if kind is Kind.LIST:
        if value is None:
            return None
        items = [value] if isinstance(value, (str, int)) else list(value)
        return [_text(item) for item in items] or None
    if _is_blank(value):
        return None
    if kind is Kind.TAGS:
        return ",".join(_tag_names(value)) or None
    if kind is Kind.MULTILINE:
        return _without_server_breaks(value)
    if kind is Kind.INT:
        return str(_parse_int(field, value))
    if kind is Kind.DECIMAL:
        return format(_parse_decimal(field, value), "f")
    if kind is Kind.DATE:
        moment = _parse_datetime(field, value)
        return moment.date().isoformat() if moment is not None else None
    if kind is Kind.DATETIME:
        moment = _parse_datetime(field, value)
        return moment.strftime("%Y-%m-%d %H:%M:%S") if moment is not None else None
    return _text(value)


def canonical(field: str, kind: Kind, value: Any) -> Any:
    """A comparable form of a value, so ``"0.00"`` equals ``Decimal(0)`` and ``"1"`` equals
    ``True``: an update is a no-op when every change is canonically equal to the record."""
    if kind in (Kind.CHECKBOX, Kind.FLAG):
        return value is not None and _parse_checkbox(field, value)
    if kind is Kind.LIST:
        encoded = encode(field, kind, value)
        return tuple(sorted(encoded)) if encoded else None
    if _is_blank(value):
        return None
    if kind is Kind.TAGS:
        return tuple(sorted(_tag_names(value))) or None
    if kind is Kind.MULTILINE:
        return _without_server_breaks(value).strip()
    if kind is Kind.INT:
        return _parse_int(field, value)
    if kind is Kind.DECIMAL:
        return _parse_decimal(field, value).normalize()
    if kind is Kind.DATE:
        moment = _parse_datetime(field, value)
        return moment.date() if moment is not None else None
    if kind is Kind.DATETIME:
        return _parse_datetime(field, value)
    # PMP trims some fields as it saves them: a change of surrounding spaces alone would be
    # a no-op that 2.0.8 reports as "Update Fail.".
    return _text(value).strip()


def encode_all(
    kinds: Mapping[str, Kind], values: Mapping[str, Any], *, lenient: bool = False
) -> dict[str, WireValue]:
    """Wire values of every known field present in ``values``, in ``kinds`` order.

    ``lenient`` sends a value that does not fit its kind as plain text instead of raising: for
    values read from PMP, which it accepted before.
    """
    body: dict[str, WireValue] = {}
    for field, kind in kinds.items():
        if field not in values:
            continue
        try:
            encoded = encode(field, kind, values[field])
        except ValueError:
            if not lenient:
                raise
            encoded = _text(values[field])
        if encoded is not None:
            body[field] = encoded
    return body


def form_body(body: Mapping[str, WireValue]) -> dict[str, str | list[str]]:
    """A form body: list fields are named `field[]` so PHP reads them as arrays."""
    return {f"{name}[]" if isinstance(value, list) else name: value for name, value in body.items()}


def _is_change(name: str, kind: Kind, value: Any, current: Mapping[str, Any]) -> bool:
    if name in current:
        return bool(canonical(name, kind, value) != _lenient_canonical(name, kind, current[name]))
    # A field the record doesn't carry (a customer's groups, a contact's password): passing a
    # value sets it. A list or tags may be passed empty to empty them.
    if kind in (Kind.LIST, Kind.TAGS):
        return value is not None
    encode(name, kind, value)  # refuse a value of the wrong kind before anything is sent
    return not _is_blank(value)


def _kept(name: str, kind: Kind, value: Any) -> WireValue | None:
    """A value read from PMP as it is sent back; one that doesn't fit its kind is sent as read
    (PMP accepted it before)."""
    if _is_blank(value):
        return None
    try:
        return encode(name, kind, value)
    except ValueError:
        return _text(value)


def plan_update(
    fields: ResourceFields,
    current: Mapping[str, Any],
    changes: Mapping[str, Any],
    *,
    force: bool = False,
) -> dict[str, WireValue] | None:
    """The body of a PUT that makes ``changes`` to the record ``current`` (as just read) and
    destroys nothing; None when ``changes`` would change nothing.

    The body holds the changed fields, then every field PMP resets when absent and every field
    its validation requires, with the values read. A change to no value clears the field: a
    checkbox or a field PMP resets is left out (PMP resets it), any other field is sent as "".
    Invalid changes raise ValueError before anything is sent. ``force`` returns the body even
    when no field changes (something else in the PUT does, e.g. a project's settings).
    """
    kinds = fields.update
    changed = {
        name for name, value in changes.items() if _is_change(name, kinds[name], value, current)
    }
    if not changed and not force:
        return None
    body: dict[str, WireValue] = {}
    for name, kind in kinds.items():
        if name in changed:
            encoded = encode(name, kind, changes[name])
            if encoded is None and not (kind in _PRESENCE_KINDS or name in fields.reset):
                encoded = ""
        elif name in fields.reset or name in fields.required:
            encoded = _kept(name, kind, current[name]) if name in current else None
        else:
            continue
        if encoded is not None:
            body[name] = encoded
    return body


def _lenient_canonical(field: str, kind: Kind, value: Any) -> Any:
    try:
        return canonical(field, kind, value)
    except ValueError:
        return _text(value)


_T, _I, _D = Kind.TEXT, Kind.INT, Kind.DECIMAL
_DATE, _DT, _CB, _LIST = Kind.DATE, Kind.DATETIME, Kind.CHECKBOX, Kind.LIST
_ML, _TAGS = Kind.MULTILINE, Kind.TAGS

_CUSTOMER: dict[str, Kind] = {
    "company": _T,
    "vat": _T,
    "phonenumber": _T,
    "website": _T,
    "groups_in": _LIST,
    "default_language": _T,
    "default_currency": _I,
    "address": _T,
    "city": _T,
    "state": _T,
    "zip": _T,
    "country": _I,
    "billing_street": _T,
    "billing_city": _T,
    "billing_state": _T,
    "billing_zip": _T,
    "billing_country": _I,
    "shipping_street": _T,
    "shipping_city": _T,
    "shipping_state": _T,
    "shipping_zip": _T,
    "shipping_country": _I,
}
CUSTOMER_FIELDS = ResourceFields(
    create=_CUSTOMER,
    update={**_CUSTOMER, "show_primary_contact": Kind.FLAG},
    reset=(
        "show_primary_contact",
        "default_currency",
        "country",
        "billing_country",
        "shipping_country",
        "groups_in",
    ),
    required=("company",),
    # No endpoint returns a customer's groups.
    unreadable=("groups_in",),
)

_LEAD_COMMON: dict[str, Kind] = {
    "name": _T,
    "source": _I,
    "status": _I,
    "assigned": _I,
    "tags": _TAGS,
    "title": _T,
    "email": _T,
    "website": _T,
    "phonenumber": _T,
    "company": _T,
    "address": _T,
    "city": _T,
    "state": _T,
    "zip": _T,
    "default_language": _T,
    "description": _ML,
    "is_public": _CB,
}
LEAD_FIELDS = ResourceFields(
    # PMP sets a new lead's last contact to now whatever these two say.
    create={**_LEAD_COMMON, "custom_contact_date": _DT, "contacted_today": _CB},
    update={
        **_LEAD_COMMON,
        "contact": _T,
        "country": _I,
        "client_id": _I,
        "lastcontact": _DT,
    },
    # A lead's tags are kept when absent (and can't be read: passing them sets them).
    reset=("is_public", "country", "address", "email"),
    required=("name", "source", "status"),
)

_MILESTONE: dict[str, Kind] = {
    "project_id": _I,
    "name": _T,
    "due_date": _DATE,
    "description": _ML,
    "description_visible_to_customer": _CB,
    "milestone_order": _I,
}
MILESTONE_FIELDS = ResourceFields(
    # PMP ignores a new milestone's start date and always shows it to the customer.
    create=_MILESTONE,
    update={**_MILESTONE, "start_date": _DATE, "hide_from_customer": Kind.FLAG},
    reset=("description", "description_visible_to_customer", "start_date", "hide_from_customer"),
    required=("name", "project_id", "due_date"),
)

_PROJECT: dict[str, Kind] = {
    "name": _T,
    "clientid": _I,
    "billing_type": _I,
    "start_date": _DATE,
    "status": _I,
    "progress_from_tasks": _CB,
    "project_cost": _D,
    "progress": _I,
    "project_rate_per_hour": _D,
    "estimated_hours": _D,
    "project_members": _LIST,
    "deadline": _DATE,
    "tags": _TAGS,
    "description": _T,
}
PROJECT_FIELDS = ResourceFields(
    create=_PROJECT,
    update=_PROJECT,
    # Also the project's settings, which ProjectsResource sends back itself. Tags are kept.
    reset=(
        "deadline",
        "start_date",
        "project_cost",
        "estimated_hours",
        "progress_from_tasks",
        "project_members",
    ),
    required=("name", "billing_type", "start_date", "status", "clientid"),
    # Members are not part of a project's answer.
    unreadable=("project_members",),
)

_TICKET_COMMON: dict[str, Kind] = {
    "subject": _T,
    "department": _I,
    "contactid": _I,
    "userid": _I,
    "project_id": _I,
    "service": _I,
    "assigned": _I,
    "priority": _I,
    "tags": _TAGS,
    "cc": _T,
}
TICKET_FIELDS = ResourceFields(
    create={**_TICKET_COMMON, "message": _T},
    update={**_TICKET_COMMON, "status": _I},
    reset=("priority", "assigned", "tags"),
    required=("subject", "department", "contactid"),
    # No ticket answer carries its tags.
    unreadable=("tags",),
)

# The e-mails PMP sends a contact, each a checkbox an update resets when absent.
CONTACT_EMAIL_FLAGS = (
    "invoice_emails",
    "estimate_emails",
    "credit_note_emails",
    "contract_emails",
    "task_emails",
    "project_emails",
    "ticket_emails",
)
_CONTACT_COMMON: dict[str, Kind] = {
    "firstname": _T,
    "lastname": _T,
    "email": _T,
    "title": _T,
    "phonenumber": _T,
    "direction": _T,
    "password": _T,
    "is_primary": Kind.FLAG,
    **dict.fromkeys(CONTACT_EMAIL_FLAGS, Kind.FLAG),
}
CONTACT_FIELDS = ResourceFields(
    create={
        "customer_id": _I,
        **_CONTACT_COMMON,
        "send_set_password_email": _CB,
        "donotsendwelcomeemail": _CB,
        "permissions": _LIST,
    },
    # A contact's password can't be read; it only changes when one is passed.
    update=_CONTACT_COMMON,
    reset=("is_primary", *CONTACT_EMAIL_FLAGS),
    required=("email",),
)
