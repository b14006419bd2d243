"""Tickets from Slack: the new ticket's choices and people, opening it in PMP, names for
ticket ids, and a ticket made from a Slack message.

- The new-ticket form's menus (`TicketChoices`) and a customer's contacts and projects
  (`CustomerPeople`); the form itself (fields, reading it back) is bot/blocks/ticket_forms.py,
  which turns a submission into a `TicketDraft`.
- Opening a ticket: PMP 2.x doesn't say which id it gave the new ticket, so it is looked for by
  its exact subject, keeping the one match for the same contact that wasn't there before.
- Names: PMP has no endpoint listing ticket departments, priorities, services or statuses.
  Ticket records carry them (`department_name`...), so the names seen are remembered per PMP
  site (`bot.learned_names.LearnedTicketNames`); admins name the rest in `/pmp settings`,
  whose text `parse_settings_text` reads.
- A ticket from a Slack message: subject from its first line, message with its permalink.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from bot.grammar import SLASH_COMMAND, search_hint
from bot.learned_names import LearnedTicketNames
from bot.names import TICKET_SETTING_KINDS, Choice, TicketSettingKind, TicketSettings
from bot.pmp import (
    Contact,
    PmpAuthError,
    PmpClient,
    PmpConnectionError,
    PmpError,
    PmpTimeoutError,
    PmpUnexpectedResponseError,
    Project,
    Ticket,
)
from bot.pmp.links import record_page
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


# ------------------------------------------------------------------------- learned names


SETTING_NAME_MAX = 75  # an option's text

SETTINGS_TEXT_MAX = 3000  # a text input's most


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


SETTING_EXAMPLES: Mapping[TicketSettingKind, str] = {
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


def quoted(line: str) -> str:
    """`line` in curly quotes, cut to 30 characters: what an error message quotes."""
    return "“" + truncate(line.strip(), 30) + "”"


def parse_settings_text(kind: TicketSettingKind, text: str | None) -> tuple[dict[int, str], str]:
    """The id -> name lines of one settings input, and an error ("" when none) naming the
    first bad line."""
    names: dict[int, str] = {}
    first_line: dict[int, int] = {}
    example = SETTING_EXAMPLES[kind]
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
                f"Line {number} ({quoted(line)}) should be a number, = and a name, like {example}."
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


# ------------------------------------------------------------------------- the new ticket


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
    url = record_page(pmp.base_url, "ticket", ticket_id, None) if ticket_id is not None else None
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
