"""The fields PMP accepts on create and update, and how a Python value goes onto the wire.

PMP's PUT is a full replace and an unknown field name reaches the database (HTTP 500), so each
resource lists the fields it may send; keys that records only carry when read (joined names such
as a ticket's ``department_name``, counters, creation dates) are never sent back.
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
    # sent as "on" and false by leaving the field out.
    CHECKBOX = "checkbox"
    # A 0/1 column the server also resets when absent: "1" for true, left out for false.
    FLAG = "flag"
    # Sent as repeated `field[]` in forms and as a JSON array in a PUT.
    LIST = "list"
    # Tag names: a list or a comma-separated string, sent comma-separated.
    TAGS = "tags"


@dataclass(frozen=True)
class ResourceFields:
    """The writable fields of one resource and their kinds, in the order they are sent."""

    create: Mapping[str, Kind]
    update: Mapping[str, Kind]

    def check_names(self, names: Iterable[str], *, operation: str, noun: str) -> None:
        allowed = self.create if operation == "create" else self.update
        unknown = sorted(set(names) - set(allowed))
        if unknown:
            raise ValueError(
                f"PMP {noun} {operation} takes no field(s) {', '.join(unknown)}; "
                f"known fields: {', '.join(allowed)}"
            )


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
    """The wire form of one field value, or None when the field must be left out of the body.

    None and blank values are left out: PMP resets an absent field, which is what clearing it
    means (a form body cannot carry a null, and an empty string is not a valid number or date).
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


def merge_for_update(
    fields: ResourceFields, current: Mapping[str, Any], changes: Mapping[str, Any]
) -> dict[str, WireValue] | None:
    """The full record to PUT (the server's PUT replaces the record), or None if ``changes``
    would not change anything.

    Fields the record does not carry when read (e.g. a customer's ``groups_in``) are only sent
    when they are among ``changes``. Invalid changes raise ValueError; an odd value already in
    the record is sent back as it was read.
    """
    kinds = fields.update
    body = encode_all(
        kinds, {name: current[name] for name in kinds if name in current}, lenient=True
    )
    changed = False
    for name, value in changes.items():
        kind = kinds[name]
        encoded = encode(name, kind, value)
        if (name not in current and kind is Kind.LIST) or canonical(name, kind, value) != (
            _lenient_canonical(name, kind, current.get(name))
        ):
            changed = True
        if encoded is None:
            body.pop(name, None)
        else:
            body[name] = encoded
    if not changed:
        return None
    return {name: body[name] for name in kinds if name in body}


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
    create=_CUSTOMER, update={**_CUSTOMER, "show_primary_contact": Kind.FLAG}
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
)

_MILESTONE: dict[str, Kind] = {
    "project_id": _I,
    "name": _T,
    "due_date": _DATE,
    "description": _ML,
    "description_visible_to_customer": _CB,
    "milestone_order": _I,
}
MILESTONE_FIELDS = ResourceFields(create=_MILESTONE, update=_MILESTONE)

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
PROJECT_FIELDS = ResourceFields(create=_PROJECT, update=_PROJECT)

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
)
