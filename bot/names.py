"""Names for the ids PMP records carry (statuses, priorities, departments, sources, countries).

PMP's API has no endpoint listing these, so a name comes from, in order: the record itself
(tickets carry `department_name` etc.), the workspace's ticket settings, the values of a fresh
PMP install. An id nobody knows is shown as "#7" so the reader still sees something to look up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Literal, get_args

from bot.pmp.models import Lead, PmpRecord, Project, Ticket

__all__ = [
    "DEFAULT_BILLING_TYPES",
    "DEFAULT_LEAD_SOURCES",
    "DEFAULT_LEAD_STATUSES",
    "DEFAULT_PROJECT_STATUSES",
    "DEFAULT_TICKET_PRIORITIES",
    "DEFAULT_TICKET_STATUSES",
    "TICKET_SETTING_KINDS",
    "NameBook",
    "TicketSettingKind",
    "TicketSettings",
    "country_name",
    "positive_id",
    "resolve_name",
]


def _frozen(entries: Mapping[int, str]) -> Mapping[int, str]:
    return MappingProxyType(dict(entries))


TicketSettingKind = Literal["departments", "priorities", "services", "statuses"]
TICKET_SETTING_KINDS: tuple[TicketSettingKind, ...] = get_args(TicketSettingKind)


@dataclass(frozen=True, slots=True)
class TicketSettings:
    """Id <-> name maps for ticket fields; PMP's API has no endpoint that lists them."""

    departments: Mapping[int, str] = field(default_factory=dict)
    priorities: Mapping[int, str] = field(default_factory=dict)
    services: Mapping[int, str] = field(default_factory=dict)
    statuses: Mapping[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for kind in TICKET_SETTING_KINDS:
            entries = getattr(self, kind)
            for record_id, name in entries.items():
                if not isinstance(record_id, int) or isinstance(record_id, bool) or record_id < 0:
                    raise ValueError(f"{kind}: ids must be whole numbers >= 0, got {record_id!r}")
                if not isinstance(name, str) or not name.strip():
                    raise ValueError(f"{kind}: id {record_id} needs a name")
            object.__setattr__(self, kind, _frozen(entries))

    @classmethod
    def fresh_install(cls) -> TicketSettings:
        """The statuses and priorities a new PMP install has; departments/services vary."""
        return cls(
            priorities={1: "Low", 2: "Medium", 3: "High"},
            statuses={1: "Open", 2: "In progress", 3: "Answered", 4: "On Hold", 5: "Closed"},
        )

    def name_of(self, kind: TicketSettingKind, record_id: int) -> str | None:
        name: str | None = getattr(self, kind).get(record_id)
        return name

    def id_of(self, kind: TicketSettingKind, name: str) -> int | None:
        """Case-insensitive lookup of an id by its name."""
        wanted = name.strip().casefold()
        entries: Mapping[int, str] = getattr(self, kind)
        for record_id, entry_name in entries.items():
            if entry_name.strip().casefold() == wanted:
                return record_id
        return None

    def to_json(self) -> dict[str, dict[str, str]]:
        return {
            kind: {str(record_id): name for record_id, name in getattr(self, kind).items()}
            for kind in TICKET_SETTING_KINDS
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TicketSettings:
        maps: dict[str, dict[int, str]] = {}
        for kind in TICKET_SETTING_KINDS:
            raw = data.get(kind) or {}
            maps[kind] = {int(record_id): str(name) for record_id, name in raw.items()}
        return cls(**maps)


DEFAULT_TICKET_STATUSES = _frozen(
    {1: "Open", 2: "In progress", 3: "Answered", 4: "On Hold", 5: "Closed"}
)
DEFAULT_TICKET_PRIORITIES = _frozen({1: "Low", 2: "Medium", 3: "High"})
DEFAULT_PROJECT_STATUSES = _frozen(
    {1: "Not Started", 2: "In Progress", 3: "On Hold", 4: "Finished", 5: "Cancelled"}
)
DEFAULT_BILLING_TYPES = _frozen({1: "Fixed Rate", 2: "Project Hours", 3: "Task Hours"})
DEFAULT_LEAD_STATUSES = _frozen({1: "Customer"})
DEFAULT_LEAD_SOURCES = _frozen({1: "Google", 2: "Facebook"})
_EMPTY: Mapping[int, str] = _frozen({})

# Perfex's countries table (ids 1..250, ISO short names); it ships with every install and the
# API only ever sends the id. One "|"-separated string keeps the 250 names on a few lines.
_COUNTRIES = (  # noqa: SIM905
    "Afghanistan|Aland Islands|Albania|Algeria|American Samoa|Andorra|Angola|Anguilla|"
    "Antarctica|Antigua and Barbuda|Argentina|Armenia|Aruba|Australia|Austria|Azerbaijan|"
    "Bahamas|Bahrain|Bangladesh|Barbados|Belarus|Belgium|Belize|Benin|Bermuda|Bhutan|Bolivia|"
    "Bonaire, Sint Eustatius and Saba|Bosnia and Herzegovina|Botswana|Bouvet Island|Brazil|"
    "British Indian Ocean Territory|Brunei|Bulgaria|Burkina Faso|Burundi|Cambodia|Cameroon|"
    "Canada|Cape Verde|Cayman Islands|Central African Republic|Chad|Chile|China|"
    "Christmas Island|Cocos (Keeling) Islands|Colombia|Comoros|Congo|Cook Islands|Costa Rica|"
    "Cote d'ivoire (Ivory Coast)|Croatia|Cuba|Curacao|Cyprus|Czech Republic|"
    "Democratic Republic of the Congo|Denmark|Djibouti|Dominica|Dominican Republic|Ecuador|"
    "Egypt|El Salvador|Equatorial Guinea|Eritrea|Estonia|Ethiopia|Falkland Islands (Malvinas)|"
    "Faroe Islands|Fiji|Finland|France|French Guiana|French Polynesia|"
    "French Southern Territories|Gabon|Gambia|Georgia|Germany|Ghana|Gibraltar|Greece|"
    "Greenland|Grenada|Guadaloupe|Guam|Guatemala|Guernsey|Guinea|Guinea-Bissau|Guyana|Haiti|"
    "Heard Island and McDonald Islands|Honduras|Hong Kong|Hungary|Iceland|India|Indonesia|"
    "Iran|Iraq|Ireland|Isle of Man|Israel|Italy|Jamaica|Japan|Jersey|Jordan|Kazakhstan|Kenya|"
    "Kiribati|Kosovo|Kuwait|Kyrgyzstan|Laos|Latvia|Lebanon|Lesotho|Liberia|Libya|"
    "Liechtenstein|Lithuania|Luxembourg|Macao|North Macedonia|Madagascar|Malawi|Malaysia|"
    "Maldives|Mali|Malta|Marshall Islands|Martinique|Mauritania|Mauritius|Mayotte|Mexico|"
    "Micronesia|Moldava|Monaco|Mongolia|Montenegro|Montserrat|Morocco|Mozambique|"
    "Myanmar (Burma)|Namibia|Nauru|Nepal|Netherlands|New Caledonia|New Zealand|Nicaragua|Niger|"
    "Nigeria|Niue|Norfolk Island|North Korea|Northern Mariana Islands|Norway|Oman|Pakistan|"
    "Palau|Palestine|Panama|Papua New Guinea|Paraguay|Peru|Philippines|Pitcairn|Poland|"
    "Portugal|Puerto Rico|Qatar|Reunion|Romania|Russia|Rwanda|Saint Barthelemy|Saint Helena|"
    "Saint Kitts and Nevis|Saint Lucia|Saint Martin|Saint Pierre and Miquelon|"
    "Saint Vincent and the Grenadines|Samoa|San Marino|Sao Tome and Principe|Saudi Arabia|"
    "Senegal|Serbia|Seychelles|Sierra Leone|Singapore|Sint Maarten|Slovakia|Slovenia|"
    "Solomon Islands|Somalia|South Africa|South Georgia and the South Sandwich Islands|"
    "South Korea|South Sudan|Spain|Sri Lanka|Sudan|Suriname|Svalbard and Jan Mayen|Swaziland|"
    "Sweden|Switzerland|Syria|Taiwan|Tajikistan|Tanzania|Thailand|Timor-Leste (East Timor)|"
    "Togo|Tokelau|Tonga|Trinidad and Tobago|Tunisia|Turkey|Turkmenistan|"
    "Turks and Caicos Islands|Tuvalu|Uganda|Ukraine|United Arab Emirates|United Kingdom|"
    "United States|United States Minor Outlying Islands|Uruguay|Uzbekistan|Vanuatu|"
    "Vatican City|Venezuela|Vietnam|Virgin Islands, British|Virgin Islands, US|"
    "Wallis and Futuna|Western Sahara|Yemen|Zambia|Zimbabwe"
).split("|")


@dataclass(frozen=True)
class Choice:
    """One entry of a menu: the value sent back when it is chosen, and the label shown (a
    department's id and name, a contact's id and name with e-mail)."""

    value: str
    label: str


def positive_id(value: Any) -> int | None:
    """A PMP record id (1 to 2**31 - 1, PMP's INT ids) from what PMP or a form sent, else None
    (0 is PMP's "none")."""
    text = str(value).strip() if value is not None else ""
    if text.isascii() and text.isdigit() and 0 < int(text) < 2**31:
        return int(text)
    return None


def country_name(country_id: int | None) -> str | None:
    """The country of a Perfex country id; None for "no country" (0 or missing)."""
    if country_id is None or country_id <= 0:
        return None
    if country_id <= len(_COUNTRIES):
        return _COUNTRIES[country_id - 1]
    return f"#{country_id}"


def _text_or_none(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def resolve_name(
    record_id: int | None, *maps: Mapping[int, str], record_name: str | None = None
) -> str | None:
    """The name of `record_id`: the record's own name, else the first map knowing the id,
    else "#<id>". None when there is no id (missing, or 0 = "none" in PMP)."""
    own = _text_or_none(record_name)
    if own is not None:
        return own
    if record_id is None or record_id <= 0:
        return None
    for names in maps:
        name = _text_or_none(names.get(record_id))
        if name is not None:
            return name
    return f"#{record_id}"


def _record_name(record: PmpRecord, key: str) -> str | None:
    # 3.x and some installs add `<field>_name` keys the models don't declare; `raw` keeps them.
    return _text_or_none(getattr(record, key, None)) or _text_or_none(record.raw.get(key))


@dataclass(frozen=True, slots=True)
class NameBook:
    """Id -> name maps for one workspace. Each map overrides the fresh-install defaults."""

    ticket_statuses: Mapping[int, str] = field(default_factory=lambda: _EMPTY)
    ticket_priorities: Mapping[int, str] = field(default_factory=lambda: _EMPTY)
    ticket_departments: Mapping[int, str] = field(default_factory=lambda: _EMPTY)
    ticket_services: Mapping[int, str] = field(default_factory=lambda: _EMPTY)
    project_statuses: Mapping[int, str] = field(default_factory=lambda: _EMPTY)
    billing_types: Mapping[int, str] = field(default_factory=lambda: _EMPTY)
    lead_statuses: Mapping[int, str] = field(default_factory=lambda: _EMPTY)
    lead_sources: Mapping[int, str] = field(default_factory=lambda: _EMPTY)
    # Staff members pmp-bot has seen named (tickets name the staff member answering them).
    staff: Mapping[int, str] = field(default_factory=lambda: _EMPTY)

    @classmethod
    def from_settings(cls, settings: TicketSettings | None) -> NameBook:
        """The names a workspace's ticket settings give, on top of the defaults."""
        if settings is None:
            return cls()
        return cls(
            ticket_statuses=settings.statuses,
            ticket_priorities=settings.priorities,
            ticket_departments=settings.departments,
            ticket_services=settings.services,
        )

    def with_learned(
        self,
        *,
        lead_statuses: Mapping[int, str],
        lead_sources: Mapping[int, str],
        staff: Mapping[int, str],
    ) -> NameBook:
        """This book plus names learned from PMP's records; names already here win."""
        return replace(
            self,
            lead_statuses={**lead_statuses, **self.lead_statuses},
            lead_sources={**lead_sources, **self.lead_sources},
            staff={**staff, **self.staff},
        )

    def with_ticket_names(self, learned: TicketSettings) -> NameBook:
        """This book plus ticket names seen in PMP's ticket records (a ticket read through
        PMP's search names none of its own); names already here win."""
        return replace(
            self,
            ticket_statuses={**learned.statuses, **self.ticket_statuses},
            ticket_priorities={**learned.priorities, **self.ticket_priorities},
            ticket_departments={**learned.departments, **self.ticket_departments},
            ticket_services={**learned.services, **self.ticket_services},
        )

    def staff_member(self, staff_id: int | None) -> str | None:
        """A staff member's name when pmp-bot knows it; None otherwise (no "#id")."""
        if staff_id is None or staff_id <= 0:
            return None
        return _text_or_none(self.staff.get(staff_id))

    def ticket_status(self, ticket: Ticket) -> str | None:
        return resolve_name(
            ticket.status,
            self.ticket_statuses,
            DEFAULT_TICKET_STATUSES,
            record_name=_record_name(ticket, "status_name"),
        )

    def ticket_priority(self, ticket: Ticket) -> str | None:
        return resolve_name(
            ticket.priority,
            self.ticket_priorities,
            DEFAULT_TICKET_PRIORITIES,
            record_name=_record_name(ticket, "priority_name"),
        )

    def ticket_department(self, ticket: Ticket) -> str | None:
        return resolve_name(
            ticket.department,
            self.ticket_departments,
            record_name=_record_name(ticket, "department_name"),
        )

    def ticket_service(self, ticket: Ticket) -> str | None:
        return resolve_name(
            ticket.service,
            self.ticket_services,
            record_name=_record_name(ticket, "service_name"),
        )

    def project_status(self, project: Project) -> str | None:
        return resolve_name(
            project.status,
            self.project_statuses,
            DEFAULT_PROJECT_STATUSES,
            record_name=_record_name(project, "status_name"),
        )

    def billing_type(self, project: Project) -> str | None:
        return resolve_name(
            project.billing_type,
            self.billing_types,
            DEFAULT_BILLING_TYPES,
            record_name=_record_name(project, "billing_type_name"),
        )

    def lead_status(self, lead: Lead) -> str | None:
        return resolve_name(
            lead.status,
            self.lead_statuses,
            DEFAULT_LEAD_STATUSES,
            record_name=_record_name(lead, "status_name"),
        )

    def lead_source(self, lead: Lead) -> str | None:
        return resolve_name(
            lead.source,
            self.lead_sources,
            DEFAULT_LEAD_SOURCES,
            record_name=_record_name(lead, "source_name"),
        )
