"""Block Kit cards for PMP records: customer, lead, project, milestone and ticket.

Every builder is pure: a record in, a `Message` (fallback text + blocks) out. Everything that
came from PMP is escaped for mrkdwn and cut to Slack's limits; empty values are left out.
A card can be private (with a "Share in channel" button) or shared (posted publicly, naming
who shared it, without the share button and without the admin-only delete menu).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from enum import StrEnum
from html.parser import HTMLParser
from typing import get_args

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    InteractiveElement,
    MarkdownTextObject,
    Option,
    OverflowMenuElement,
    SectionBlock,
    StaticSelectElement,
)

from bot.blocks.ids import CardAction, TicketCardAction
from bot.lookups import RecordDetails
from bot.names import NameBook, country_name
from bot.pmp.links import RecordKind, display_site, record_page
from bot.pmp.models import Contact, Customer, Lead, Milestone, PmpRecord, Project, Ticket
from bot.text import safe, truncate
from bot.ticket_actions import (
    ActionKind,
    TicketAction,
    closed_status,
    is_closed,
    priority_names,
    status_names,
    tags_readable,
)

__all__ = [
    "KIND_EMOJI",
    "KIND_LABELS",
    "CardRef",
    "MenuChoice",
    "Message",
    "build_customer_card",
    "build_lead_card",
    "build_milestone_card",
    "build_project_card",
    "build_record_card",
    "build_ticket_card",
    "card_url",
    "format_date",
    "format_moment",
    "format_money",
    "html_to_text",
    "id_text",
    "menu_shared_by",
    "menu_value",
    "one_line",
    "parse_menu_value",
    "record_link",
    "ref_of",
    "shared_by_of",
    "ticket_controls",
]

# Slack's limits (docs/slack-rules.md).
SECTION_TEXT_MAX = 3000
FIELD_TEXT_MAX = 2000
FIELDS_MAX = 10
CONTEXT_TEXT_MAX = 2000
BUTTON_VALUE_MAX = 2000
OPTION_VALUE_MAX = 150
URL_MAX = 3000
CONFIRM_TEXT_MAX = 300

TITLE_MAX = 250
DESCRIPTION_MAX = 1500
TICKET_MESSAGE_MAX = 600
FALLBACK_NAME_MAX = 150

CARD_KINDS: tuple[RecordKind, ...] = get_args(RecordKind)
_KINDS_BY_NAME: dict[str, RecordKind] = {kind: kind for kind in CARD_KINDS}
KIND_LABELS: dict[RecordKind, str] = {
    "customer": "Customer",
    "lead": "Lead",
    "project": "Project",
    "milestone": "Milestone",
    "ticket": "Ticket",
}
KIND_EMOJI: dict[RecordKind, str] = {
    "customer": ":office:",
    "lead": ":seedling:",
    "project": ":file_folder:",
    "milestone": ":triangular_flag_on_post:",
    "ticket": ":ticket:",
}
_KIND_OF_TYPE: dict[type[PmpRecord], RecordKind] = {
    Customer: "customer",
    Lead: "lead",
    Project: "project",
    Milestone: "milestone",
    Ticket: "ticket",
}
_SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,30}")


@dataclass(frozen=True, slots=True)
class Message:
    """A Slack message: `text` is the fallback shown in notifications, `blocks` the body."""

    text: str
    blocks: list[Block]


@dataclass(frozen=True, slots=True)
class CardRef:
    """What a button needs to rebuild a card: `customer:3`, or `milestone:7:2` (a milestone's
    page and lookup need its project)."""

    kind: RecordKind
    id: int
    project_id: int | None = None

    def to_value(self) -> str:
        parts = [self.kind, str(self.id)]
        if self.project_id is not None:
            parts.append(str(self.project_id))
        return ":".join(parts)

    @classmethod
    def parse(cls, value: str) -> CardRef:
        """The reference in a button value; ValueError when it isn't one of ours."""
        parts = value.split(":")
        if len(parts) not in (2, 3) or parts[0] not in _KINDS_BY_NAME:
            raise ValueError(f"not a card reference: {value[:40]!r}")
        if not all(part.isascii() and part.isdigit() for part in parts[1:]):
            raise ValueError(f"not a card reference: {value[:40]!r}")
        kind = _KINDS_BY_NAME[parts[0]]
        numbers = [int(part) for part in parts[1:]]
        if any(number <= 0 for number in numbers):
            raise ValueError("record ids are positive")
        if len(numbers) == 2 and kind != "milestone":
            raise ValueError("only a milestone reference carries a project id")
        return cls(kind, numbers[0], numbers[1] if len(numbers) == 2 else None)


class MenuChoice(StrEnum):
    """What an option of a card's overflow menus asks for."""

    OPEN = "open"
    REFRESH = "refresh"
    DELETE = "delete"


def menu_value(choice: MenuChoice, ref: CardRef, *, shared_by: str | None = None) -> str:
    """`refresh:customer:3`; a shared card's options name who shared it
    (`refresh:customer:3@U0123`), so that refreshing it keeps it shared."""
    value = f"{choice}:{ref.to_value()}"
    return f"{value}@{shared_by}" if shared_by is not None else value


def _split_menu_value(value: str) -> tuple[MenuChoice, CardRef, str | None]:
    body, at, shared_by = value.partition("@")
    choice, _, rest = body.partition(":")
    try:
        if at and not _SLACK_USER_ID.fullmatch(shared_by):
            raise ValueError("not a Slack user id")
        return MenuChoice(choice), CardRef.parse(rest), shared_by if at else None
    except ValueError as exc:
        raise ValueError(f"not a card menu value: {value[:40]!r}") from exc


def parse_menu_value(value: str) -> tuple[MenuChoice, CardRef]:
    """The choice and record of an overflow option value; ValueError when it isn't ours."""
    choice, ref, _ = _split_menu_value(value)
    return choice, ref


def menu_shared_by(value: str) -> str | None:
    """Who shared the card an overflow option value comes from; None for a private card.
    ValueError when the value isn't ours."""
    return _split_menu_value(value)[2]


_SHARED_BY_LINE = re.compile(r"Shared by <@([UW][A-Z0-9]{2,30})>")


def shared_by_of(blocks: object) -> str | None:
    """Who shared a card, read from its blocks as Slack sends them back (cards shared before
    their menu values named the sharer); None when the blocks are no shared card."""
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, dict) or block.get("type") != "context":
            continue
        for element in block.get("elements") or []:
            text = element.get("text") if isinstance(element, dict) else None
            found = _SHARED_BY_LINE.fullmatch(text) if isinstance(text, str) else None
            if found:
                return found.group(1)
    return None


def ref_of(record: PmpRecord) -> CardRef:
    """The reference of a record (its kind from its type)."""
    kind = _KIND_OF_TYPE.get(type(record))
    if kind is None:
        raise TypeError(f"no card for {type(record).__name__}")
    project_id = record.project_id if isinstance(record, Milestone) else None
    return CardRef(kind, record.id, project_id if project_id and project_id > 0 else None)


# ---------------------------------------------------------------------------------------------
# Formatting (shared with results.py)


def one_line(text: str) -> str:
    """Whitespace (newlines included) collapsed to single spaces."""
    return " ".join(text.split())


def format_date(day: date | None) -> str | None:
    """`30 Sep 2019`; None for no date."""
    if day is None:
        return None
    if isinstance(day, datetime):
        day = day.date()
    return f"{day.day} {day:%b %Y}"


def format_moment(moment: datetime | None) -> str | None:
    """`30 Sep 2019 14:05`, or only the day at midnight. PMP sends its server's local time
    with no zone, so it is shown as sent rather than converted."""
    if moment is None:
        return None
    day = format_date(moment.date())
    if (moment.hour, moment.minute, moment.second) == (0, 0, 0):
        return day
    return f"{day} {moment:%H:%M}"


def format_money(amount: Decimal | None) -> str | None:
    """`1,234.57`: two decimals, rounded half up, thousands separated."""
    if amount is None:
        return None
    try:
        precision = max(28, amount.adjusted() + 5)
        amount = amount.quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP, context=Context(prec=precision)
        )
    except InvalidOperation:
        pass
    return f"{amount:,.2f}"


class _TextExtractor(HTMLParser):
    _BLOCK_TAGS = frozenset(
        {"p", "div", "br", "li", "tr", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "pre"}
    )
    _SKIPPED_TAGS = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIPPED_TAGS:
            self._skipping += 1
        elif tag in self._BLOCK_TAGS:
            self.parts.append("\n")
            if tag == "li":
                self.parts.append("• ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIPPED_TAGS:
            self._skipping = max(self._skipping - 1, 0)
        elif tag in self._BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(markup: str | None) -> str:
    """Readable text from the HTML PMP stores for project descriptions and ticket messages:
    tags dropped, entities decoded, blank lines squeezed. The result still needs escaping."""
    if not markup:
        return ""
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    lines = [one_line(line) for line in "".join(parser.parts).splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


_SERVER_BREAK = re.compile(r"<br\s*/?>(?=\r\n|\n\r|\n|\r)", re.IGNORECASE)


def _server_text(text: str | None) -> str:
    """Plain text PMP saved through nl2br() (lead and milestone descriptions), without the
    `<br />` the server put before each line break."""
    if not text:
        return ""
    return "\n".join(_SERVER_BREAK.sub("", text).splitlines())


def _safe_line(text: str | None, limit: int) -> str:
    return safe(one_line(text), limit) if text else ""


def _fits(value: str, limit: int) -> str | None:
    return value if len(value) <= limit else None


def card_url(base_url: str, ref: CardRef) -> str | None:
    """The record's page in PMP, or None when it has none (a milestone without its project,
    an unusable base URL)."""
    url = record_page(base_url, ref.kind, ref.id, ref.project_id)
    return _fits(url, URL_MAX) if url is not None else None


def _site_of(base_url: str) -> str:
    try:
        return display_site(base_url)
    except ValueError:
        return ""


def _mrkdwn_url(url: str) -> str:
    # Inside <url|label> Slack reads `|` and `>` as syntax, and `&` must be an entity.
    return url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")


def record_link(url: str | None, label: str) -> str:
    """`*<url|label>*` (bold, linked), or `*label*` without a url; `label` already escaped."""
    if url is None:
        return f"*{label}*"
    return f"*<{_mrkdwn_url(url)}|{label}>*"


def _field(label: str, value: str | None) -> MarkdownTextObject | None:
    if not value or not value.strip():
        return None
    heading = f"*{label}*\n"
    return MarkdownTextObject(text=heading + _safe_line(value, FIELD_TEXT_MAX - len(heading)))


def _multiline_field(label: str, lines: Iterable[str | None]) -> MarkdownTextObject | None:
    kept = [one_line(line) for line in lines if line and line.strip()]
    if not kept:
        return None
    heading = f"*{label}*\n"
    return MarkdownTextObject(text=heading + safe("\n".join(kept), FIELD_TEXT_MAX - len(heading)))


def _text_section(label: str, text: str, limit: int) -> SectionBlock | None:
    if not text.strip():
        return None
    heading = f"*{label}*\n"
    budget = min(limit, SECTION_TEXT_MAX - len(heading))
    return SectionBlock(text=MarkdownTextObject(text=heading + safe(text.strip(), budget)))


def id_text(record_id: int) -> str:
    """`#42`; absurdly long ids are cut so they cannot push a text past Slack's limits."""
    return "#" + truncate(str(record_id), 40)


def _id_label(record_id: int | None, name: str | None) -> str | None:
    if name and name.strip():
        return name
    if record_id is None or record_id <= 0:
        return None
    return id_text(record_id)


def _staff(staff_id: int | None) -> str | None:
    # The API has no staff endpoint, so an assignee can only be shown by id.
    if staff_id is None or staff_id <= 0:
        return None
    return f"Staff {id_text(staff_id)}"


# ---------------------------------------------------------------------------------------------
# The common frame of every card


@dataclass(frozen=True, slots=True)
class _CardBody:
    ref: CardRef
    title: str
    subtitle: Sequence[str | None]
    fields: Sequence[MarkdownTextObject | None]
    sections: Sequence[SectionBlock | None]
    buttons: Sequence[ButtonElement | None]
    # A row of its own above the card's footer (a ticket's status, priority... controls).
    controls: Sequence[InteractiveElement] = ()


def _menu(ref: CardRef, url: str | None, shared_by: str | None) -> OverflowMenuElement | None:
    options: list[Option] = []
    if url is not None:
        value = _fits(menu_value(MenuChoice.OPEN, ref), OPTION_VALUE_MAX)
        if value is not None:
            options.append(Option(text="Open in PMP", value=value, url=url))
    refresh = _fits(menu_value(MenuChoice.REFRESH, ref, shared_by=shared_by), OPTION_VALUE_MAX)
    if refresh is not None:
        options.append(Option(text="Refresh", value=refresh))
    if not options:
        return None
    return OverflowMenuElement(action_id=CardAction.MENU, options=options)


def _delete_menu(ref: CardRef, title: str) -> OverflowMenuElement | None:
    # Slack's overflow confirm dialog covers every option of the menu, so delete lives in a
    # menu of its own rather than behind a dialog that "Open in PMP" would also trigger.
    value = _fits(menu_value(MenuChoice.DELETE, ref), OPTION_VALUE_MAX)
    if value is None:
        return None
    kind = KIND_LABELS[ref.kind].lower()
    tail = f" ({kind} {id_text(ref.id)}) will be deleted from PMP. This can't be undone."
    name = safe(title, CONFIRM_TEXT_MAX - len(tail) - 2)
    return OverflowMenuElement(
        action_id=CardAction.DELETE,
        options=[Option(text=f"Delete {kind}", value=value)],
        confirm=ConfirmObject(
            title=f"Delete this {kind}?",
            text=f"*{name}*{tail}",
            confirm="Delete",
            deny="Keep it",
            style="danger",
        ),
    )


def _shared_line(shared_by: str) -> str:
    if not _SLACK_USER_ID.fullmatch(shared_by):
        raise ValueError("shared_by must be a Slack user id such as U0123ABCD")
    return f"Shared by <@{shared_by}>"


def _card(body: _CardBody, *, base_url: str, can_delete: bool, shared_by: str | None) -> Message:
    ref = body.ref
    kind = ref.kind
    url = card_url(base_url, ref)
    label = one_line(body.title) or f"{KIND_LABELS[kind]} {id_text(ref.id)}"
    lines = [f"{KIND_EMOJI[kind]} {record_link(url, safe(label, TITLE_MAX))}"]
    subtitle = " · ".join(safe(one_line(part), 300) for part in body.subtitle if part)
    if subtitle:
        lines.append(subtitle)
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(text="\n".join(lines)), accessory=_menu(ref, url, shared_by)
        )
    ]
    fields = [item for item in body.fields if item is not None][:FIELDS_MAX]
    if fields:
        blocks.append(SectionBlock(fields=fields))
    blocks.extend(section for section in body.sections if section is not None)
    if body.controls:
        blocks.append(ActionsBlock(elements=list(body.controls)))

    where = f"{KIND_LABELS[kind]} {id_text(ref.id)}"
    site = _site_of(base_url)
    if site:
        where += f" in PMP at {safe(site, 200)}"
    context = [MarkdownTextObject(text=where)]
    if shared_by is not None:
        context.append(MarkdownTextObject(text=_shared_line(shared_by)))
    blocks.append(ContextBlock(elements=context))

    elements: list[InteractiveElement] = [button for button in body.buttons if button is not None]
    share_value = _fits(ref.to_value(), BUTTON_VALUE_MAX)
    if shared_by is None and share_value is not None:
        elements.append(
            ButtonElement(text="Share in channel", action_id=CardAction.SHARE, value=share_value)
        )
    if shared_by is None and can_delete:
        delete = _delete_menu(ref, label)
        if delete is not None:
            elements.append(delete)
    if elements:
        blocks.append(ActionsBlock(elements=elements))

    name = safe(label, FALLBACK_NAME_MAX)
    if shared_by is not None:
        text = f"<@{shared_by}> shared {KIND_LABELS[kind].lower()} {name}"
    else:
        text = f"{KIND_LABELS[kind]}: {name}"
    return Message(text=text, blocks=blocks)


def _button(text: str, action: CardAction, value: str | None) -> ButtonElement | None:
    if value is None or len(value) > BUTTON_VALUE_MAX:
        return None
    return ButtonElement(text=text, action_id=action, value=value)


# ---------------------------------------------------------------------------------------------
# Cards


def build_customer_card(
    customer: Customer,
    *,
    base_url: str,
    primary_contact: Contact | None = None,
    can_delete: bool = False,
    shared_by: str | None = None,
) -> Message:
    """A customer: phone, website, location, active, VAT, primary contact; buttons to open a
    ticket for it and to list its projects."""
    location = ", ".join(
        part for part in (one_line(customer.city or ""), country_name(customer.country)) if part
    )
    active = None if customer.active is None else ("Active" if customer.active else "Inactive")
    contact = None
    if primary_contact is not None:
        contact = _multiline_field(
            "Primary contact",
            [
                primary_contact.display_name,
                " · ".join(
                    part
                    for part in (
                        primary_contact.title,
                        primary_contact.email,
                        primary_contact.phonenumber,
                    )
                    if part and part.strip()
                ),
            ],
        )
    customer_id = str(customer.id)
    body = _CardBody(
        ref=ref_of(customer),
        title=customer.display_name,
        subtitle=[],
        fields=[
            _field("Phone", customer.phonenumber),
            _field("Website", customer.website),
            _field("Location", location),
            _field("Status", active),
            _field("VAT", customer.vat),
            contact,
        ],
        sections=[],
        buttons=[
            _button("New ticket", CardAction.NEW_TICKET, customer_id),
            _button("Projects", CardAction.PROJECTS, customer_id),
        ],
    )
    return _card(body, base_url=base_url, can_delete=can_delete, shared_by=shared_by)


def build_lead_card(
    lead: Lead,
    *,
    base_url: str,
    names: NameBook | None = None,
    can_delete: bool = False,
    shared_by: str | None = None,
) -> Message:
    """A lead: company, status and source by name, assignee, email, phone, value."""
    names = names or NameBook()
    converted = bool(lead.date_converted or (lead.client_id and lead.client_id > 0))
    body = _CardBody(
        ref=ref_of(lead),
        title=lead.display_name,
        subtitle=[
            "Lost" if lead.lost else None,
            "Junk" if lead.junk else None,
            "Converted to a customer" if converted else None,
        ],
        fields=[
            _field("Company", lead.company if lead.company != lead.display_name else None),
            _field("Status", names.lead_status(lead)),
            _field("Source", names.lead_source(lead)),
            _field("Assigned to", _staff(lead.assigned)),
            _field("Email", lead.email),
            _field("Phone", lead.phonenumber),
            _field("Value", format_money(lead.lead_value)),
            _field("Last contact", format_moment(lead.lastcontact)),
        ],
        sections=[_text_section("Description", _server_text(lead.description), DESCRIPTION_MAX)],
        buttons=[],
    )
    return _card(body, base_url=base_url, can_delete=can_delete, shared_by=shared_by)


def build_project_card(
    project: Project,
    *,
    base_url: str,
    customer_name: str | None = None,
    names: NameBook | None = None,
    can_delete: bool = False,
    shared_by: str | None = None,
) -> Message:
    """A project: customer, status, billing type, dates, progress, cost; a Milestones button."""
    names = names or NameBook()
    progress = None if project.progress is None else f"{project.progress}%"
    body = _CardBody(
        ref=ref_of(project),
        title=project.display_name,
        subtitle=[],
        fields=[
            _field("Customer", _id_label(project.clientid, customer_name)),
            _field("Status", names.project_status(project)),
            _field("Billing", names.billing_type(project)),
            _field("Start", format_date(project.start_date)),
            _field("Deadline", format_date(project.deadline)),
            _field("Progress", progress),
            _field("Cost", format_money(project.project_cost)),
            _field("Rate per hour", format_money(project.project_rate_per_hour)),
        ],
        sections=[_text_section("Description", html_to_text(project.description), DESCRIPTION_MAX)],
        buttons=[_button("Milestones", CardAction.MILESTONES, str(project.id))],
    )
    return _card(body, base_url=base_url, can_delete=can_delete, shared_by=shared_by)


def build_milestone_card(
    milestone: Milestone,
    *,
    base_url: str,
    project_name: str | None = None,
    can_delete: bool = False,
    shared_by: str | None = None,
) -> Message:
    """A milestone: project, due date, order, tasks finished, description; an Edit button."""
    tasks = None
    if milestone.total_tasks is not None:
        finished = milestone.total_finished_tasks or 0
        tasks = (
            f"{finished} of {milestone.total_tasks} finished"
            if milestone.total_tasks
            else "No tasks yet"
        )
    ref = ref_of(milestone)
    body = _CardBody(
        ref=ref,
        title=milestone.display_name,
        subtitle=[],
        fields=[
            _field("Project", _id_label(milestone.project_id, project_name)),
            _field("Due", format_date(milestone.due_date)),
            _field(
                "Order",
                None if milestone.milestone_order is None else str(milestone.milestone_order),
            ),
            _field("Tasks", tasks),
        ],
        sections=[
            _text_section("Description", _server_text(milestone.description), DESCRIPTION_MAX)
        ],
        buttons=[_button("Edit", CardAction.EDIT_MILESTONE, ref.to_value())],
    )
    return _card(body, base_url=base_url, can_delete=can_delete, shared_by=shared_by)


def build_ticket_card(
    ticket: Ticket,
    *,
    base_url: str,
    names: NameBook | None = None,
    customer_name: str | None = None,
    contact: Contact | None = None,
    can_delete: bool = False,
    shared_by: str | None = None,
    actions: bool = True,
    can_reply: bool = False,
) -> Message:
    """A ticket: status, priority, department and service by name, customer, contact, dates
    and the start of its message; with `actions`, its status and priority menus, Assign to
    me, Close and (`can_reply`: PMP has the reply endpoint) Reply."""
    names = names or NameBook()
    who: list[str | None]
    if contact is not None:
        who = [contact.display_name, contact.email]
    else:
        # Tickets from people outside the contacts carry their own name and email.
        email = ticket.email or ticket.ticket_email
        who = [ticket.contact_name or (None if email else _id_label(ticket.contactid, None)), email]
    who = [part for i, part in enumerate(who) if part and part not in who[:i]]
    body = _CardBody(
        ref=ref_of(ticket),
        title=ticket.display_name,
        subtitle=[],
        fields=[
            _field("Status", names.ticket_status(ticket)),
            _field("Priority", names.ticket_priority(ticket)),
            _field("Department", names.ticket_department(ticket)),
            _field("Service", names.ticket_service(ticket)),
            _field("Customer", _id_label(ticket.userid, customer_name or ticket.company)),
            _multiline_field("Contact", who),
            _field("Opened", format_moment(ticket.date)),
            _field("Last reply", format_moment(ticket.lastreply)),
        ],
        sections=[_text_section("Message", html_to_text(ticket.message), TICKET_MESSAGE_MAX)],
        buttons=[],
        controls=ticket_controls(ticket, names, can_reply=can_reply) if actions else (),
    )
    return _card(body, base_url=base_url, can_delete=can_delete, shared_by=shared_by)


# ---------------------------------------------------------------------------------------------
# Ticket actions

TAGS_CLEARED = (
    "PMP doesn't tell pmp-bot this ticket's tags, and its API clears the tags of a ticket it "
    "changes: any tags on it will be removed."
)


def _ticket_confirm(title: str, what: str, confirm: str, *, tags_kept: bool) -> ConfirmObject:
    text = " ".join(part for part in (what, "" if tags_kept else TAGS_CLEARED) if part)
    return ConfirmObject(
        title=title, text=truncate(text, CONFIRM_TEXT_MAX), confirm=confirm, deny="Cancel"
    )


def _ticket_menu(
    action_id: TicketCardAction,
    placeholder: str,
    ticket: Ticket,
    choices: dict[int, str],
    current: int | None,
    kind: ActionKind,
    *,
    tags_kept: bool,
) -> StaticSelectElement | None:
    options = [
        Option(
            text=truncate(one_line(name), 75),
            value=TicketAction(kind, ticket.id, choice).to_value(),
        )
        for choice, name in choices.items()
        if one_line(name)
    ]
    if not options:
        return None
    initial = next(
        (
            option
            for option, choice in zip(options, choices, strict=False)
            if current is not None and choice == current
        ),
        None,
    )
    return StaticSelectElement(
        action_id=action_id,
        placeholder=placeholder,
        options=options,
        initial_option=initial,
        # Only PUT-based changes risk the tags; without that there is nothing to confirm.
        confirm=None
        if tags_kept
        else _ticket_confirm(
            f"Change the {placeholder.lower()}?", "", "Change it", tags_kept=False
        ),
    )


def ticket_controls(
    ticket: Ticket, names: NameBook | None = None, *, can_reply: bool = False
) -> list[InteractiveElement]:
    """The controls that act on a ticket (on its card and in the Home tab's queue): status
    and priority menus, Assign to me, Reply (only where PMP has the endpoint), Close (with a
    confirm dialog; not on a closed ticket)."""
    names = names or NameBook()
    tags_kept = tags_readable(ticket)
    elements: list[InteractiveElement] = []
    status = _ticket_menu(
        TicketCardAction.STATUS,
        "Status",
        ticket,
        status_names(names),
        ticket.status,
        "status",
        tags_kept=tags_kept,
    )
    priority = _ticket_menu(
        TicketCardAction.PRIORITY,
        "Priority",
        ticket,
        priority_names(names),
        ticket.priority,
        "priority",
        tags_kept=tags_kept,
    )
    elements += [menu for menu in (status, priority) if menu is not None]
    elements.append(
        ButtonElement(
            text="Assign to me",
            action_id=TicketCardAction.ASSIGN_ME,
            value=TicketAction("assign", ticket.id).to_value(),
            confirm=None
            if tags_kept
            else _ticket_confirm("Assign it to you?", "", "Assign", tags_kept=False),
        )
    )
    if can_reply:
        elements.append(
            ButtonElement(
                text="Reply",
                action_id=TicketCardAction.REPLY,
                value=TicketAction("reply", ticket.id).to_value(),
            )
        )
    if not is_closed(ticket, names):
        elements.append(
            ButtonElement(
                text="Close",
                action_id=TicketCardAction.CLOSE,
                value=TicketAction("close", ticket.id, closed_status(names)).to_value(),
                style="danger",
                confirm=_ticket_confirm(
                    "Close this ticket?",
                    f"Ticket {id_text(ticket.id)} will be closed in PMP.",
                    "Close it",
                    tags_kept=tags_kept,
                ),
            )
        )
    return elements


def build_record_card(
    record: PmpRecord,
    *,
    base_url: str,
    names: NameBook | None = None,
    can_delete: bool = False,
    shared_by: str | None = None,
    primary_contact: Contact | None = None,
    customer_name: str | None = None,
    project_name: str | None = None,
    contact: Contact | None = None,
    can_reply: bool = False,
) -> Message:
    """The card of any record; the related names and contacts are used where the record's
    card shows them (`can_reply`: a ticket card offers Reply)."""
    if isinstance(record, Customer):
        return build_customer_card(
            record,
            base_url=base_url,
            primary_contact=primary_contact,
            can_delete=can_delete,
            shared_by=shared_by,
        )
    if isinstance(record, Lead):
        return build_lead_card(
            record, base_url=base_url, names=names, can_delete=can_delete, shared_by=shared_by
        )
    if isinstance(record, Project):
        return build_project_card(
            record,
            base_url=base_url,
            customer_name=customer_name,
            names=names,
            can_delete=can_delete,
            shared_by=shared_by,
        )
    if isinstance(record, Milestone):
        return build_milestone_card(
            record,
            base_url=base_url,
            project_name=project_name,
            can_delete=can_delete,
            shared_by=shared_by,
        )
    if isinstance(record, Ticket):
        return build_ticket_card(
            record,
            base_url=base_url,
            names=names,
            customer_name=customer_name,
            contact=contact,
            can_delete=can_delete,
            shared_by=shared_by,
            can_reply=can_reply,
        )
    raise TypeError(f"no card for {type(record).__name__}")


def build_details_card(
    details: RecordDetails,
    *,
    base_url: str,
    names: NameBook | None = None,
    shared_by: str | None = None,
    can_delete: bool = False,
) -> Message:
    """A looked-up record's card, with the related names and contact the lookup found."""
    if details.ticket_names is not None:
        names = (names or NameBook()).with_ticket_names(details.ticket_names)
    return build_record_card(
        details.record,
        base_url=base_url,
        names=names,
        shared_by=shared_by,
        can_delete=can_delete,
        primary_contact=details.primary_contact,
        customer_name=details.customer_name,
        project_name=details.project_name,
        can_reply=details.can_reply,
    )
