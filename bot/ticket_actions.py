"""Acting on a ticket from its card: status, priority, assign to me, close, reply.

Every change goes through the PMP client's safe update, which reads the ticket just before
writing and sends back what PMP resets when absent (priority, assignee); a change that would
change nothing sends nothing, so a double click or a retried press makes one change. PMP's
ticket answers don't carry the ticket's tags and its PUT clears tags it isn't sent: when the
ticket's answer does carry them (some servers add them) they are sent back, otherwise the card
says so before the change (`tags_readable`). A ticket update makes PMP's API module delete the
files of ticket #1: the client refuses it (PmpUnsafeUpdateError) unless the workspace's admin
allowed such edits. A reply (`POST api/tickets/reply/<id>`, PMP 3.x only) is not an update:
it keeps tags and costs no files.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal, get_args

from bot.names import DEFAULT_TICKET_PRIORITIES, DEFAULT_TICKET_STATUSES, NameBook
from bot.pmp import PmpClient, PmpError, Ticket, TicketStatus
from bot.pmp.fields import FieldValue

logger = logging.getLogger(__name__)

ActionKind = Literal["status", "priority", "assign", "close", "reply"]
ACTION_KINDS: Final[tuple[ActionKind, ...]] = get_args(ActionKind)

# A static select lists at most 100 options.
MAX_MENU_OPTIONS = 100

# How long a card waits to learn PMP's API version (whether Reply can be offered).
VERSION_WAIT_S = 2.0

REPLY_MAX = 3000


@dataclass(frozen=True, slots=True)
class TicketAction:
    """One press on a ticket card: `value` is the status or priority id (status, close), the
    staff id (assign; 0 in a button, filled in for the presser), unused for reply."""

    kind: ActionKind
    ticket_id: int
    value: int = 0

    def to_value(self) -> str:
        return f"{self.kind}:{self.value}:{self.ticket_id}"

    @classmethod
    def parse(cls, value: str) -> TicketAction:
        """The action a button or option value names; ValueError when it isn't one of ours."""
        parts = value.split(":")
        if len(parts) != 3 or parts[0] not in ACTION_KINDS:
            raise ValueError(f"not a ticket action: {value[:40]!r}")
        if not all(part.isascii() and part.isdigit() and len(part) <= 10 for part in parts[1:]):
            raise ValueError(f"not a ticket action: {value[:40]!r}")
        kind: ActionKind = next(k for k in ACTION_KINDS if k == parts[0])
        action = cls(kind, int(parts[2]), int(parts[1]))
        if action.ticket_id <= 0:
            raise ValueError("ticket ids are positive")
        return action

    def changes(self) -> dict[str, int]:
        """The ticket fields this action sets (none for a reply)."""
        if self.kind in ("status", "close"):
            return {"status": self.value}
        if self.kind == "priority":
            return {"priority": self.value}
        if self.kind == "assign":
            return {"assigned": self.value}
        return {}


def status_names(names: NameBook) -> dict[int, str]:
    """The ticket statuses the status menu offers: a fresh install's, with the workspace's
    names (settings, then those learned from tickets) over them."""
    merged = {**DEFAULT_TICKET_STATUSES, **names.ticket_statuses}
    return dict(sorted(merged.items())[:MAX_MENU_OPTIONS])


def priority_names(names: NameBook) -> dict[int, str]:
    merged = {**DEFAULT_TICKET_PRIORITIES, **names.ticket_priorities}
    return dict(sorted(merged.items())[:MAX_MENU_OPTIONS])


def closed_status(names: NameBook) -> int:
    """The status that closes a ticket: the one the workspace calls "Closed", else 5."""
    for status_id, name in names.ticket_statuses.items():
        if name.strip().casefold() == "closed":
            return status_id
    return int(TicketStatus.CLOSED)


def answered_status(names: NameBook) -> int:
    """The status PMP gives a ticket a staff member answered: the workspace's "Answered",
    else 3."""
    for status_id, name in names.ticket_statuses.items():
        if name.strip().casefold() == "answered":
            return status_id
    return int(TicketStatus.ANSWERED)


def is_closed(ticket: Ticket, names: NameBook) -> bool:
    return ticket.status is not None and ticket.status == closed_status(names)


def tags_readable(ticket: Ticket) -> bool:
    """Whether PMP's answer for the ticket carried its tags, so an update can send them back
    (otherwise PMP's PUT clears them)."""
    return "tags" in ticket.raw


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What became of an action: the ticket as PMP has it afterwards, and whether PMP was
    changed (False: it already was that way, nothing was sent)."""

    action: TicketAction
    ticket: Ticket
    changed: bool


def _kept_tags(ticket: Ticket) -> dict[str, str]:
    if not tags_readable(ticket):
        return {}
    tags = ticket.raw.get("tags")
    return {"tags": tags} if isinstance(tags, str) and tags.strip() else {}


_ATTRIBUTE: Final[Mapping[str, str]] = {
    "status": "status",
    "priority": "priority",
    "assigned": "assigned",
}


async def apply_action(
    pmp: PmpClient,
    action: TicketAction,
    *,
    allow_first_record_file_loss: bool = False,
) -> ActionResult:
    """Makes the change a card button or menu asks for, then reads the ticket back for its
    card. PmpNotFoundError when the ticket is gone; PmpUnsafeUpdateError when the change would
    cost ticket #1's files and the admin hasn't allowed that; other PmpErrors as PMP answers."""
    changes: dict[str, FieldValue] = dict(action.changes())
    if not changes:
        raise ValueError(f"{action.kind} is not a change of fields")
    if action.kind == "assign" and action.value <= 0:
        raise ValueError("assigning needs a staff id")
    before = await pmp.tickets.get(action.ticket_id)
    if all(getattr(before, _ATTRIBUTE[name]) == value for name, value in changes.items()):
        # Already so (a double click, a retry): nothing to send, nothing to lose.
        return ActionResult(action, before, changed=False)
    changes.update(_kept_tags(before))
    changed = await pmp.tickets.update(
        action.ticket_id,
        allow_first_record_file_loss=allow_first_record_file_loss,
        # Field names only (status, priority, assigned, tags): never `timeout`, which mypy
        # can't tell from a dict's keys.
        **changes,  # type: ignore[arg-type]
    )
    if changed and allow_first_record_file_loss:
        logger.warning(
            "Saved a ticket change that PMP's API module follows by deleting the files of "
            "ticket #1 (allowed in /pmp settings)"
        )
    after = await _read_back(pmp, action.ticket_id, before)
    return ActionResult(action, after, changed=changed)


async def _read_back(pmp: PmpClient, ticket_id: int, fallback: Ticket) -> Ticket:
    # The change is made: a failed read must not make it look failed.
    try:
        return await pmp.tickets.get(ticket_id)
    except PmpError as error:
        logger.info("Reading a ticket back after a change failed: %s", type(error).__name__)
        return fallback


@dataclass(frozen=True, slots=True)
class ReplyDraft:
    """A reply typed in the Reply modal: the text, and the status to set (None: keep)."""

    ticket_id: int
    message: str
    status: int | None = None


async def reply_supported(pmp: PmpClient) -> bool:
    """Whether PMP has the reply endpoint (its REST API module 3.x). Asked once per client;
    False while PMP can't be asked."""
    try:
        return await pmp.detect_api_version(timeout=VERSION_WAIT_S) >= 3
    except PmpError as error:
        logger.info("PMP's API version couldn't be asked: %s", type(error).__name__)
        return False


async def send_reply(pmp: PmpClient, draft: ReplyDraft, *, staff_id: int) -> Ticket | None:
    """Posts the reply as staff member `staff_id` (with the new status, if any) and reads the
    ticket back for its card (None when that read fails: the reply is posted)."""
    await pmp.tickets.reply(
        draft.ticket_id, message=draft.message, staff_id=staff_id, status=draft.status
    )
    try:
        return await pmp.tickets.get(draft.ticket_id)
    except PmpError as error:
        logger.info("Reading a ticket back after a reply failed: %s", type(error).__name__)
        return None
