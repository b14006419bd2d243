"""Messages of channel subscriptions: a record's card in the channel and one short line per
later event in its thread, and a batch of lookup notices.

Pure builders: an event (with the record as PMP sent it) in, a `Message` out. The full card
is the record's usual card (bot.blocks.cards) without the share button; the compact card is
its title line, the fields that change most, and where it lives. Everything from PMP is
escaped and cut to Slack's limits.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pydantic import ValidationError
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.blocks.cards import (
    KIND_EMOJI,
    KIND_LABELS,
    CardRef,
    Message,
    build_record_card,
    card_url,
    id_text,
    one_line,
    record_link,
)
from bot.blocks.ids import CardAction
from bot.names import (
    DEFAULT_LEAD_STATUSES,
    DEFAULT_PROJECT_STATUSES,
    DEFAULT_TICKET_PRIORITIES,
    DEFAULT_TICKET_STATUSES,
    NameBook,
    resolve_name,
)
from bot.notify.lines import split_sections
from bot.pmp.models import Customer, Lead, Milestone, PmpRecord, Project, Ticket
from bot.subscriptions.delivery import CardStyle, RenderedMessage
from bot.subscriptions.events import PmpEvent
from bot.text import safe

__all__ = [
    "SubscriptionRenderer",
    "event_line",
    "notice_message",
    "parent_card",
    "paused_notice",
    "record_title",
    "thread_line",
]

TITLE_MAX = 150
VALUE_MAX = 100
LINE_MAX = 2_000

_MODELS: Mapping[str, tuple[type[PmpRecord], str]] = {
    "customer": (Customer, "userid"),
    "lead": (Lead, "id"),
    "project": (Project, "id"),
    "milestone": (Milestone, "id"),
    "ticket": (Ticket, "ticketid"),
}
# The record field that names each kind of record.
_TITLE_FIELDS: Mapping[str, tuple[str, ...]] = {
    "customer": ("company",),
    "lead": ("name", "company"),
    "project": ("name",),
    "milestone": ("name",),
    "ticket": ("subject",),
}
# Field labels of thread lines, by the record's own field names.
_FIELD_LABELS: Mapping[str, str] = {
    "status": "Status",
    "priority": "Priority",
    "assigned": "Assignee",
    "department": "Department",
    "duedate": "Due date",
    "due_date": "Due date",
    "deadline": "Deadline",
    "lastreply": "Last reply",
}


def _model(event: PmpEvent) -> PmpRecord | None:
    """The record as pmp-bot's model, or None when PMP's fields don't make one."""
    found = _MODELS.get(event.kind)
    if found is None:
        return None
    model, id_field = found
    data: dict[str, Any] = dict(event.record)
    data.setdefault(id_field, str(event.record_id))
    try:
        return model.model_validate(data)
    except ValidationError:
        return None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def record_title(event: PmpEvent) -> str:
    """The record's name, or "Ticket #12" when PMP sent none (not escaped)."""
    for name in _TITLE_FIELDS.get(event.kind, ()):
        value = one_line(event.record.get(name) or "")
        if value:
            return value
    return f"{KIND_LABELS[event.kind]} {id_text(event.record_id)}"


def _named(field: str, value: str | None, event: PmpEvent, names: NameBook) -> str:
    """A field's value by name where the workspace's names (or PMP's defaults) know it."""
    if value is None or not value.strip():
        return "none"
    try:
        number = int(value)
    except ValueError:
        return value
    if field == "assigned":
        return names.staff_member(number) or ("nobody" if number <= 0 else f"#{number}")
    maps: dict[tuple[str, str], tuple[Mapping[int, str], ...]] = {
        ("ticket", "status"): (names.ticket_statuses, DEFAULT_TICKET_STATUSES),
        ("ticket", "priority"): (names.ticket_priorities, DEFAULT_TICKET_PRIORITIES),
        ("ticket", "department"): (names.ticket_departments,),
        ("project", "status"): (names.project_statuses, DEFAULT_PROJECT_STATUSES),
        ("lead", "status"): (names.lead_statuses, DEFAULT_LEAD_STATUSES),
    }
    known = maps.get((event.kind, field))
    if known is None:
        return value
    return resolve_name(number, *known) or "none"


def event_line(event: PmpEvent, names: NameBook | None = None) -> str:
    """What happened, in one mrkdwn line: "Status: Open → *In progress*"."""
    names = names or NameBook()
    label = KIND_LABELS[event.kind].lower()
    if event.event == "created":
        return f"New {label}"
    if event.event == "deleted":
        return f"This {label} was deleted in PMP"
    if event.event == "reply":
        return "New reply"
    if event.event == "overdue":
        due = event.record.get("duedate") or event.record.get("due_date")
        return f"Overdue (due {safe(due, VALUE_MAX)})" if due else "Overdue"
    parts = []
    for field, (before, after) in event.changes.items():
        if field == "lastreply":
            continue
        name = _FIELD_LABELS.get(field, field.replace("_", " ").capitalize())
        old = safe(_named(field, before, event, names), VALUE_MAX)
        new = safe(_named(field, after, event, names), VALUE_MAX)
        parts.append(f"{safe(name, 50)}: {old} → *{new}*")
    if parts:
        return " · ".join(parts)
    return "Updated in PMP"


def thread_line(event: PmpEvent, names: NameBook | None = None) -> Message:
    """The short message of one event in the record's thread."""
    line = event_line(event, names)
    text = f"{KIND_LABELS[event.kind]} {id_text(event.record_id)}: {line}"
    return Message(text=text[:LINE_MAX], blocks=[SectionBlock(text=line[:LINE_MAX])])


def _compact_fields(event: PmpEvent, names: NameBook) -> list[str]:
    wanted = {
        "ticket": ("status", "priority", "department", "assigned"),
        "lead": ("status", "assigned"),
        "project": ("status", "deadline"),
        "milestone": ("due_date", "duedate"),
        "customer": (),
    }.get(event.kind, ())
    shown = []
    for field in wanted:
        value = event.record.get(field)
        if value is None or not str(value).strip() or (value == "0" and field == "assigned"):
            continue
        label = _FIELD_LABELS.get(field, field.capitalize())
        shown.append(f"{label}: *{safe(_named(field, value, event, names), VALUE_MAX)}*")
    return shown


def _without_share(message: Message) -> list[Block]:
    """The full card's blocks without "Share in channel" (it is in the channel already)."""
    blocks: list[Block] = []
    for block in message.blocks:
        if isinstance(block, ActionsBlock):
            elements: list[Any] = [
                element
                for element in block.elements
                if getattr(element, "action_id", None) != CardAction.SHARE
            ]
            if not elements:
                continue
            block = ActionsBlock(elements=elements, block_id=block.block_id)
        blocks.append(block)
    return blocks


def parent_card(
    event: PmpEvent,
    style: CardStyle,
    *,
    base_url: str,
    names: NameBook | None = None,
    first: bool = False,
) -> Message:
    """The record's message in the channel, showing its state after `event`; `first` adds
    what happened (the event that posted it)."""
    names = names or NameBook()
    title = record_title(event)
    project_id = _int(event.record.get("project_id")) if event.kind == "milestone" else None
    url = card_url(base_url, CardRef(event.kind, event.record_id, project_id))
    happened = event_line(event, names)
    blocks: list[Block] = []
    model = _model(event) if style == "full" and event.event != "deleted" else None
    if model is not None:
        blocks = _without_share(build_record_card(model, base_url=base_url, names=names))
    else:
        lines = [f"{KIND_EMOJI[event.kind]} {record_link(url, safe(title, TITLE_MAX))}"]
        fields = _compact_fields(event, names)
        if fields:
            lines.append(" · ".join(fields))
        for chunk in split_sections("\n".join(lines)):
            blocks.append(SectionBlock(text=MarkdownTextObject(text=chunk)))
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(text=f"{KIND_LABELS[event.kind]} {id_text(event.record_id)}")
                ]
            )
        )
    if first or event.event == "deleted":
        blocks.insert(0, ContextBlock(elements=[MarkdownTextObject(text=happened)]))
    text = f"{KIND_LABELS[event.kind]} {id_text(event.record_id)} {safe(title, TITLE_MAX)}"
    if first:
        text = f"{text}: {happened}"
    return Message(text=text[:LINE_MAX], blocks=blocks)


def notice_message(text: str) -> Message:
    """A batch of lookup notice lines (already escaped mrkdwn), in sections."""
    return Message(
        text=text,
        blocks=[SectionBlock(text=MarkdownTextObject(text=part)) for part in split_sections(text)],
    )


_PAUSE_REASONS: Mapping[str, str] = {
    "is_archived": "it was archived",
    "channel_is_archived": "it was archived",
    "not_in_channel": "pmp-bot is no longer in it",
    "channel_not_found": "pmp-bot can't see it (it was deleted, or made private without pmp-bot)",
}


def paused_notice(channel_id: str, error_code: str, kinds: list[str]) -> Message:
    """What the admins are told once when a subscribed channel can't be posted to."""
    why = _PAUSE_REASONS.get(error_code, f"Slack refused the post ({safe(error_code, 60)})")
    what = ", ".join(safe(kind, 20) for kind in dict.fromkeys(kinds)) or "PMP activity"
    text = (
        f"pmp-bot can't post to <#{safe(channel_id, 40)}>: {why}. Its subscriptions ({what}) "
        "are paused. Invite @PMP back (or pick another channel), then resume them with "
        "`/pmp subscriptions` in that channel."
    )
    return Message(text=text, blocks=[SectionBlock(text=MarkdownTextObject(text=text))])


SiteOf = Callable[[str, str | None], Awaitable[tuple[str, NameBook]]]
"""`site(team_id, enterprise_id)`: the workspace's PMP address and its names for ids."""


def _rendered(message: Message) -> RenderedMessage:
    return RenderedMessage(text=message.text, blocks=[block.to_dict() for block in message.blocks])


class SubscriptionRenderer:
    """Delivery's `CardRenderer`: these builders, with the workspace's PMP address and names
    from `site`."""

    def __init__(self, site: SiteOf) -> None:
        self._site = site

    async def parent(self, event: PmpEvent, style: CardStyle, *, first: bool) -> RenderedMessage:
        base_url, names = await self._site(event.team_id, event.enterprise_id)
        return _rendered(parent_card(event, style, base_url=base_url, names=names, first=first))

    async def thread_line(self, event: PmpEvent) -> RenderedMessage:
        _, names = await self._site(event.team_id, event.enterprise_id)
        return _rendered(thread_line(event, names))

    def notice(self, text: str) -> RenderedMessage:
        return _rendered(notice_message(text))
