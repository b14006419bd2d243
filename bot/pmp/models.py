"""Typed PMP records, converted from the wire's strings at the edge.

PMP sends every scalar as a string or null (``"1"``, ``"0.00"``, ``"2019-04-19"``, and
``"0000-00-00"`` for "no date"). Records convert these to ints, Decimals, dates and bools; an
empty string, a zero date or a value that does not parse becomes None rather than failing the
whole record, and ``raw`` keeps the dict as PMP sent it for display. Only the id must be valid.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from bot.pmp.project_settings import ProjectSettings

_TRUE_TEXT = frozenset({"1", "on", "true", "yes"})
_FALSE_TEXT = frozenset({"0", "off", "false", "no"})
# PMP hands out secrets with records: contact rows carry the contact's password hash and reset
# keys, ticket rows the department's IMAP login. A key naming any of these is dropped at the
# edge, so it is never displayed, logged, cached or forwarded.
_SECRET_KEY_PARTS = (
    "password",
    "pass_key",
    "passwd",
    "secret",
    "token",
    "verification_key",
    "imap",
    "ticketkey",
    "api_key",
    "apikey",
    "private_key",
    "auth_code",
)


@functools.lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    """Whether a record key names a secret (password hash, reset or verification key, token,
    IMAP login, a ticket's access key). Kept per key: every record of a list repeats the
    same few dozen keys."""
    lowered = key.lower()
    return any(part in lowered for part in _SECRET_KEY_PARTS)


def _without_secrets(value: Any, extra: frozenset[str]) -> Any:
    """``value`` with secret keys dropped from every mapping in it, however deeply nested."""
    if isinstance(value, Mapping):
        return {
            key: _without_secrets(item, extra) if isinstance(item, Mapping | list) else item
            for key, item in value.items()
            if not (isinstance(key, str) and (key in extra or is_secret_key(key)))
        }
    if isinstance(value, list):
        return [
            _without_secrets(item, extra) if isinstance(item, Mapping | list) else item
            for item in value
        ]
    return value


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return int(str(value).strip())


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("a flag is not an amount")
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    if not number.is_finite():
        raise ValueError("not a finite amount")
    return number


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in _TRUE_TEXT:
        return True
    if lowered in _FALSE_TEXT:
        return False
    raise ValueError("not a flag")


def _to_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    text = str(value).strip()
    if text.startswith("0000-00-00"):
        return None
    return datetime.fromisoformat(text)


def _to_date(value: Any) -> date | None:
    moment = _to_datetime(value)
    return moment.date() if moment is not None else None


def _to_text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _lenient(convert: Callable[[Any], Any]) -> BeforeValidator:
    def validate(value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        try:
            return convert(value)
        except (ValueError, TypeError, ArithmeticError):
            return None

    return BeforeValidator(validate)


def _record_id(value: Any) -> int:
    number = _to_int(value)
    if number <= 0:
        raise ValueError("a record id is a positive number")
    return number


Int = Annotated[int | None, _lenient(_to_int)]
Money = Annotated[Decimal | None, _lenient(_to_decimal)]
Flag = Annotated[bool | None, _lenient(_to_bool)]
Day = Annotated[date | None, _lenient(_to_date)]
Moment = Annotated[datetime | None, _lenient(_to_datetime)]
Text = Annotated[str | None, BeforeValidator(lambda v: None if v is None else _to_text(v))]
RecordId = Annotated[int, BeforeValidator(_record_id)]
Settings = Annotated[
    ProjectSettings | None,
    BeforeValidator(
        lambda v: v if isinstance(v, ProjectSettings) else ProjectSettings.from_wire(v)
    ),
]


class PmpRecord(BaseModel):
    """Base of every PMP record: tolerant of unknown keys, immutable, with ``raw`` kept.

    ``from_wire`` drops every key named like a secret (see ``is_secret_key``), nested ones
    included, before anything else sees the row: ``raw`` never holds them.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    # Keys of this record type that are secret though not named like one.
    private_keys: ClassVar[frozenset[str]] = frozenset()

    id: RecordId
    raw: dict[str, Any] = Field(default_factory=dict, repr=False, exclude=True)

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Self:
        raw: dict[str, Any] = _without_secrets(data, cls.private_keys)
        return cls.model_validate({**raw, "raw": raw})

    @property
    def display_name(self) -> str:
        return f"#{self.id}"


class Customer(PmpRecord):
    """A PMP customer (client company). Its id is the wire's ``userid``."""

    id: RecordId = Field(validation_alias="userid")
    company: Text = None
    vat: Text = None
    phonenumber: Text = None
    website: Text = None
    address: Text = None
    city: Text = None
    state: Text = None
    zip: Text = None
    country: Int = None
    billing_street: Text = None
    billing_city: Text = None
    billing_state: Text = None
    billing_zip: Text = None
    billing_country: Int = None
    shipping_street: Text = None
    shipping_city: Text = None
    shipping_state: Text = None
    shipping_zip: Text = None
    shipping_country: Int = None
    default_language: Text = None
    default_currency: Int = None
    active: Flag = None
    datecreated: Moment = None
    addedfrom: Int = None
    leadid: Int = None

    @property
    def display_name(self) -> str:
        return self.company or f"Customer #{self.id}"


class Contact(PmpRecord):
    """A contact person of a customer (``userid`` is the customer's id)."""

    userid: Int = None
    is_primary: Flag = None
    firstname: Text = None
    lastname: Text = None
    email: Text = None
    phonenumber: Text = None
    title: Text = None
    datecreated: Moment = None
    active: Flag = None
    company: Text = None
    direction: Text = None
    # Which e-mails PMP sends the contact; an update resets any it is not sent (see
    # CONTACT_EMAIL_FLAGS in bot.pmp.fields).
    invoice_emails: Flag = None
    estimate_emails: Flag = None
    credit_note_emails: Flag = None
    contract_emails: Flag = None
    task_emails: Flag = None
    project_emails: Flag = None
    ticket_emails: Flag = None

    @property
    def customer_id(self) -> int | None:
        return self.userid

    @property
    def display_name(self) -> str:
        name = " ".join(part for part in (self.firstname, self.lastname) if part)
        return name or self.email or f"Contact #{self.id}"


class Lead(PmpRecord):
    """A PMP lead. ``status`` and ``source`` are per-instance ids."""

    name: Text = None
    title: Text = None
    company: Text = None
    description: Text = None
    email: Text = None
    website: Text = None
    phonenumber: Text = None
    address: Text = None
    city: Text = None
    state: Text = None
    zip: Text = None
    country: Int = None
    status: Int = None
    source: Int = None
    assigned: Int = None
    client_id: Int = None
    tags: Text = None
    default_language: Text = None
    is_public: Flag = None
    lost: Flag = None
    junk: Flag = None
    lead_value: Money = None
    dateadded: Moment = None
    lastcontact: Moment = None
    date_converted: Moment = None
    status_name: Text = None
    source_name: Text = None

    @property
    def display_name(self) -> str:
        return self.name or self.company or f"Lead #{self.id}"


class Project(PmpRecord):
    """A PMP project; ``clientid`` is its customer."""

    name: Text = None
    description: Text = None
    status: Int = None
    clientid: Int = None
    billing_type: Int = None
    start_date: Day = None
    deadline: Day = None
    project_created: Day = None
    date_finished: Moment = None
    progress: Int = None
    progress_from_tasks: Flag = None
    project_cost: Money = None
    project_rate_per_hour: Money = None
    estimated_hours: Money = None
    addedfrom: Int = None
    # What the customer may see and do; only a project's own GET carries them (list and
    # search rows don't).
    settings: Settings = None

    @property
    def customer_id(self) -> int | None:
        return self.clientid

    @property
    def display_name(self) -> str:
        return self.name or f"Project #{self.id}"


class Milestone(PmpRecord):
    """A milestone of a project."""

    name: Text = None
    description: Text = None
    description_visible_to_customer: Flag = None
    start_date: Day = None
    due_date: Day = None
    hide_from_customer: Flag = None
    project_id: Int = None
    color: Text = None
    milestone_order: Int = None
    datecreated: Day = None
    total_tasks: Int = None
    total_finished_tasks: Int = None

    @property
    def display_name(self) -> str:
        return self.name or f"Milestone #{self.id}"


class Ticket(PmpRecord):
    """A support ticket. Its id is the wire's ``ticketid`` (in search rows ``id`` is the
    contact's id); ``userid`` is the customer and ``contactid`` the contact."""

    # The department's mail-import settings that ticket rows carry beside its IMAP login.
    private_keys: ClassVar[frozenset[str]] = frozenset(
        {"host", "encryption", "folder", "delete_after_import"}
    )

    id: RecordId = Field(validation_alias="ticketid")
    subject: Text = None
    message: Text = None
    userid: Int = None
    contactid: Int = None
    # The contact's e-mail; from_name / ticket_email are set for tickets without a contact.
    email: Text = None
    from_name: Text = None
    ticket_email: Text = None
    user_firstname: Text = None
    user_lastname: Text = None
    company: Text = None
    department: Int = None
    priority: Int = None
    status: Int = None
    service: Int = None
    project_id: Int = None
    assigned: Int = None
    admin: Int = None
    date: Moment = None
    lastreply: Moment = None
    clientread: Flag = None
    adminread: Flag = None
    tags: Text = None
    department_name: Text = None
    priority_name: Text = None
    status_name: Text = None
    service_name: Text = None
    cc: Text = None

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Self:
        """A ticket from any answer. A search row has no aliased names: its ``name`` is the
        department's (joined after the ticket) and its ``firstname``/``lastname`` the contact's
        when ``id`` (the joined contact's id) is the ticket's contact; they are named as the
        ticket's own answer names them."""
        row = dict(data)
        joined_department = _same_id(row.get("departmentid"), row.get("department"))
        if "department_name" not in row and "name" in row and joined_department:
            row["department_name"] = row["name"]
        joined_contact = _same_id(row.get("id"), row.get("contactid"))
        if "user_firstname" not in row and "firstname" in row and joined_contact:
            row["user_firstname"] = row["firstname"]
            row["user_lastname"] = row.get("lastname")
        return super().from_wire(row)

    @property
    def customer_id(self) -> int | None:
        return self.userid

    @property
    def contact_name(self) -> str | None:
        name = " ".join(part for part in (self.user_firstname, self.user_lastname) if part)
        return name or self.from_name or None

    @property
    def display_name(self) -> str:
        return self.subject or f"Ticket #{self.id}"


def _same_id(first: Any, second: Any) -> bool:
    """Both are the same record id (not 0 or blank)."""
    text = str(first).strip() if first is not None else ""
    return text.isdigit() and int(text) > 0 and text == str(second).strip()


class TicketStatus(enum.IntEnum):
    """Ticket statuses of a fresh install (admins may add more)."""

    OPEN = 1
    IN_PROGRESS = 2
    ANSWERED = 3
    ON_HOLD = 4
    CLOSED = 5


class TicketPriority(enum.IntEnum):
    """Ticket priorities of a fresh install; 0 means none."""

    NONE = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3


class ProjectStatus(enum.IntEnum):
    NOT_STARTED = 1
    IN_PROGRESS = 2
    ON_HOLD = 3
    FINISHED = 4
    CANCELLED = 5


class BillingType(enum.IntEnum):
    FIXED_RATE = 1
    PROJECT_HOURS = 2
    TASK_HOURS = 3
