"""What ticket actions show: the line a card gets after a change, the Reply modal (message,
new status) read back into a `ReplyDraft`, and its done and retry views. Pure."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.blocks.cards import Message, id_text, one_line, record_link
from bot.blocks.ids import TicketCardAction
from bot.names import NameBook
from bot.records import WriteOutcome
from bot.text import safe, truncate
from bot.ticket_actions import (
    REPLY_MAX,
    ActionResult,
    ReplyDraft,
    answered_status,
    status_names,
)

REPLY_TITLE = "Reply to ticket"


def action_line(result: ActionResult, user_id: str, names: NameBook) -> str:
    """What the card says under it after a press: who changed what, or that nothing had to."""
    action = result.action
    ticket = result.ticket
    if action.kind == "assign":
        if not result.changed:
            return "Already assigned to you: nothing changed."
        return f"<@{user_id}> took this ticket."
    field = "priority" if action.kind == "priority" else "status"
    name = _name(
        names.ticket_priority(ticket) if field == "priority" else names.ticket_status(ticket)
    )
    if not result.changed:
        return f"The {field} is already {name}: nothing changed."
    return f"<@{user_id}> set the {field} to {name}."


def _name(name: str | None) -> str:
    return f"*{safe(one_line(name), 75)}*" if name else "none"


def with_line(message: Message, line: str) -> Message:
    """The card with a line of context at its end (what just happened to it)."""
    return Message(
        text=message.text,
        blocks=[*message.blocks, ContextBlock(elements=[MarkdownTextObject(text=line)])],
    )


# ------------------------------------------------------------------------- the Reply modal


@dataclass(frozen=True, slots=True)
class ReplyOrigin:
    """Where the Reply button was pressed, to update that card once the reply is posted:
    a message (its response_url; `shared_by` for a shared card) or the Home tab."""

    ticket_id: int
    response_url: str = ""
    shared_by: str | None = None
    home: bool = False

    def to_metadata(self) -> str:
        return json.dumps(
            {"t": self.ticket_id, "u": self.response_url, "s": self.shared_by, "h": self.home}
        )

    @classmethod
    def from_metadata(cls, text: str) -> ReplyOrigin:
        """ValueError when the metadata isn't a Reply modal's."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError("not a Reply modal's metadata") from error
        if not isinstance(data, dict):
            raise ValueError("not a Reply modal's metadata")
        ticket_id, url, shared_by = data.get("t"), data.get("u") or "", data.get("s")
        if not isinstance(ticket_id, int) or isinstance(ticket_id, bool) or ticket_id <= 0:
            raise ValueError("not a Reply modal's metadata")
        if not isinstance(url, str) or not (shared_by is None or isinstance(shared_by, str)):
            raise ValueError("not a Reply modal's metadata")
        return cls(ticket_id, url, shared_by, bool(data.get("h")))


def build_reply_modal(
    origin: ReplyOrigin,
    *,
    subject: str | None,
    names: NameBook,
    status: int | None = None,
    message: str | None = None,
    problem: str | None = None,
) -> View:
    """The Reply modal: the reply's text and the ticket's status after it (Answered, as in
    PMP's own reply form, unless `status`)."""
    label = safe(one_line(subject or ""), 200) or "(no subject)"
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=f":ticket: Ticket {id_text(origin.ticket_id)} {label}\n"
                "Your reply is posted in PMP as your staff account; PMP e-mails it to the "
                "ticket's contact as it does for replies written in PMP."
            )
        )
    ]
    if problem:
        blocks.append(
            ContextBlock(elements=[MarkdownTextObject(text=f":warning: {safe(problem, 1900)}")])
        )
    options = [
        Option(text=truncate(one_line(name), 75), value=str(status_id))
        for status_id, name in status_names(names).items()
        if one_line(name)
    ]
    # PMP's own reply form sets a staff reply's ticket to Answered unless told otherwise.
    wanted = str(status if status is not None else answered_status(names))
    initial = next((o for o in options if o.value == wanted), None)
    blocks += [
        InputBlock(
            block_id=TicketCardAction.REPLY_MESSAGE_BLOCK,
            label=PlainTextObject(text="Reply"),
            element=PlainTextInputElement(
                action_id=TicketCardAction.REPLY_MESSAGE_INPUT,
                multiline=True,
                max_length=REPLY_MAX,
                initial_value=message or None,
            ),
        ),
        InputBlock(
            block_id=TicketCardAction.REPLY_STATUS_BLOCK,
            label=PlainTextObject(text="Then set the status to"),
            element=StaticSelectElement(
                action_id=TicketCardAction.REPLY_STATUS_INPUT,
                options=options,
                initial_option=initial,
            ),
        ),
    ]
    return View(
        type="modal",
        callback_id=TicketCardAction.REPLY_MODAL,
        title=PlainTextObject(text=REPLY_TITLE),
        submit=PlainTextObject(text="Send reply"),
        close=PlainTextObject(text="Cancel"),
        private_metadata=origin.to_metadata(),
        blocks=blocks,
    )


@dataclass(frozen=True, slots=True)
class ReplyReading:
    draft: ReplyDraft | None
    errors: Mapping[str, str]


def read_reply(origin: ReplyOrigin, view: Mapping[str, Any]) -> ReplyReading:
    """The reply typed in a submitted Reply modal, or an error per input."""
    state = view.get("state")
    values = state.get("values") if isinstance(state, Mapping) else None
    values = values if isinstance(values, Mapping) else {}
    typed = (
        (values.get(TicketCardAction.REPLY_MESSAGE_BLOCK) or {}).get(
            TicketCardAction.REPLY_MESSAGE_INPUT
        )
        or {}
    ).get("value") or ""
    chosen = (
        (
            (values.get(TicketCardAction.REPLY_STATUS_BLOCK) or {}).get(
                TicketCardAction.REPLY_STATUS_INPUT
            )
            or {}
        ).get("selected_option")
        or {}
    ).get("value")
    message = str(typed).strip()
    if not message:
        return ReplyReading(None, {TicketCardAction.REPLY_MESSAGE_BLOCK: "Type a reply."})
    if len(message) > REPLY_MAX:
        return ReplyReading(
            None,
            {TicketCardAction.REPLY_MESSAGE_BLOCK: f"Keep it to {REPLY_MAX} characters."},
        )
    chosen = str(chosen or "")
    if not (chosen.isascii() and chosen.isdigit() and 0 < int(chosen) < 2**31):
        return ReplyReading(
            None, {TicketCardAction.REPLY_STATUS_BLOCK: "Pick a status from the list."}
        )
    status = int(chosen)
    return ReplyReading(ReplyDraft(origin.ticket_id, message, status), {})


def reply_outcome(draft: ReplyDraft, *, subject: str | None, url: str | None) -> WriteOutcome:
    return WriteOutcome(
        kind="ticket",
        label=truncate(one_line(subject or ""), 150),
        verb="replied to",
        record_id=draft.ticket_id,
        url=url,
    )


def build_reply_done_view(outcome: WriteOutcome) -> View:
    label = safe(one_line(outcome.label), 250) or "(no subject)"
    if outcome.record_id is not None:
        label = f"{id_text(outcome.record_id)} {label}"
    return View(
        type="modal",
        title=PlainTextObject(text=REPLY_TITLE),
        close=PlainTextObject(text="Done"),
        blocks=[
            SectionBlock(
                text=MarkdownTextObject(
                    text=f":white_check_mark: Replied to ticket {record_link(outcome.url, label)}."
                )
            )
        ],
    )


def build_reply_problem_view(text: str) -> View:
    """The Reply button couldn't open a form (no staff link, PMP unreachable...)."""
    return View(
        type="modal",
        title=PlainTextObject(text=REPLY_TITLE),
        close=PlainTextObject(text="Close"),
        blocks=[SectionBlock(text=MarkdownTextObject(text=truncate(text, 3000)))],
    )
