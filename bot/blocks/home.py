"""Block Kit for the App Home tab and the customer search it opens."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.blocks.cards import (
    SECTION_TEXT_MAX,
    TITLE_MAX,
    CardRef,
    Message,
    card_url,
    format_date,
    id_text,
    one_line,
    record_link,
    ticket_controls,
)
from bot.blocks.connect import host_of, not_connected_text
from bot.blocks.help import HelpEntry
from bot.blocks.ids import HomeAction
from bot.connect import ConnectionStatus
from bot.grammar import SLASH_COMMAND
from bot.names import NameBook
from bot.pmp import Customer, Ticket
from bot.queue import DueMilestone, MyQueue
from bot.text import safe, truncate

MAX_RESULTS_IN_MODAL = 20


class RecentEntry(Protocol):
    """A record the user looked up lately (what bot.storage keeps as a RecentLookup)."""

    @property
    def kind(self) -> str: ...

    @property
    def record_id(self) -> int: ...

    @property
    def label(self) -> str: ...


KIND_EMOJI = {
    "customer": ":office:",
    "lead": ":seedling:",
    "project": ":file_folder:",
    "milestone": ":triangular_flag_on_post:",
    "ticket": ":ticket:",
}


def _connection_lines(status: ConnectionStatus, is_admin: bool) -> list[str]:
    if not (status.connected and status.pmp_url):
        return [f":white_circle: {not_connected_text(reconnect=status.reconnect_needed)}"]
    if not is_admin:
        lines = [f":large_green_circle: Connected to PMP at {safe(host_of(status.pmp_url), 200)}."]
    else:
        lines = [f":large_green_circle: Connected to PMP at *{safe(status.pmp_url, 500)}*."]
        if status.last_success_at:
            epoch = int(status.last_success_at.timestamp())
            lines.append(
                f"Last successful PMP call: <!date^{epoch}^{{date_short_pretty}} at {{time}}|"
                f"{status.last_success_at:%Y-%m-%d %H:%M} UTC>"
            )
    if status.notify_channel_id:
        lines.append(f"Lookups and changes are posted to <#{status.notify_channel_id}>.")
    return lines


def build_home(
    status: ConnectionStatus,
    *,
    is_admin: bool,
    commands: Sequence[HelpEntry],
    recent: Sequence[RecentEntry] = (),
    queue: MyQueue | None = None,
    queue_problem: str | None = None,
    names: NameBook | None = None,
    base_url: str = "",
) -> View:
    """The Home tab: the connection, buttons, the user's queue (`queue`, or
    `queue_problem` saying why there is none), recent lookups and the commands."""
    blocks: list[Block] = [
        HeaderBlock(text="PMP in Slack"),
        SectionBlock(text=MarkdownTextObject(text="\n".join(_connection_lines(status, is_admin)))),
    ]
    if status.connected:
        blocks.append(
            ActionsBlock(
                elements=[
                    # No value: Slack drops an empty one, and this button needs none.
                    ButtonElement(
                        text="New ticket", action_id=HomeAction.NEW_TICKET, style="primary"
                    ),
                    ButtonElement(text="Search customers", action_id=HomeAction.SEARCH_CUSTOMERS),
                ]
            )
        )
    if status.connected and (queue is not None or queue_problem):
        blocks += build_queue_blocks(
            queue, problem=queue_problem, names=names or NameBook(), base_url=base_url
        )
    if status.connected and recent:
        blocks += [
            DividerBlock(),
            SectionBlock(text=MarkdownTextObject(text="*Your recent lookups*")),
        ]
        for item in recent[:10]:
            emoji = KIND_EMOJI.get(item.kind, ":mag:")
            try:
                ref = CardRef.parse(f"{item.kind}:{item.record_id}")
            except ValueError:
                continue
            blocks.append(
                SectionBlock(
                    text=MarkdownTextObject(
                        text=f"{emoji} {safe(item.label, 200) or f'#{item.record_id}'}"
                        f"  `{SLASH_COMMAND} {item.kind} {item.record_id}`"
                    ),
                    accessory=ButtonElement(
                        text="Show", action_id=HomeAction.SHOW_RECENT, value=ref.to_value()
                    ),
                )
            )
    blocks.append(DividerBlock())
    lines = [
        f"`{SLASH_COMMAND} {entry.usage}` {entry.summary}"
        for entry in commands
        if is_admin or not entry.admin_only
    ]
    blocks.append(
        SectionBlock(
            text=MarkdownTextObject(text=truncate("*Commands*\n" + "\n".join(lines), 3000))
        )
    )
    return View(type="home", blocks=blocks)


# ------------------------------------------------------------------------------- my queue


def _ticket_line(ticket: Ticket, names: NameBook, base_url: str) -> str:
    url = card_url(base_url, CardRef("ticket", ticket.id))
    title = safe(one_line(ticket.display_name), TITLE_MAX)
    parts = [names.ticket_status(ticket), names.ticket_priority(ticket)]
    customer = ticket.company
    if customer:
        parts.append(customer)
    details = " · ".join(safe(one_line(part), 100) for part in parts if part)
    line = f":ticket: {record_link(url, title)} {id_text(ticket.id)}"
    return f"{line}\n{details}" if details else line


def _milestone_line(due: DueMilestone, base_url: str) -> str:
    milestone = due.milestone
    url = card_url(base_url, CardRef("milestone", milestone.id, milestone.project_id or None))
    title = safe(one_line(milestone.display_name), TITLE_MAX)
    when = format_date(milestone.due_date) or ""
    flag = f":red_circle: overdue since {when}" if due.overdue else f"due {when}"
    project = f" · {safe(one_line(due.project_name), 150)}" if due.project_name else ""
    return f":triangular_flag_on_post: {record_link(url, title)} {flag}{project}"


def build_queue_blocks(
    queue: MyQueue | None, *, problem: str | None, names: NameBook, base_url: str
) -> list[Block]:
    """The Home tab's "My queue": each ticket with its controls, then the milestones due
    soon; or why there is no queue (`problem`: no staff link, PMP unreachable)."""
    blocks: list[Block] = [DividerBlock(), HeaderBlock(text="My queue")]
    if queue is None:
        blocks.append(
            SectionBlock(text=MarkdownTextObject(text=truncate(problem or "", SECTION_TEXT_MAX)))
        )
        return blocks
    notes = [*queue.notes]
    if problem:
        notes.insert(0, problem)
    if notes:
        text = "\n".join(f":warning: {safe(note, 900)}" for note in notes)
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=truncate(text, 2000))]))
    if not queue.tickets:
        blocks.append(
            SectionBlock(text=MarkdownTextObject(text="No tickets are assigned to you in PMP."))
        )
    for ticket in queue.tickets:
        blocks.append(
            SectionBlock(text=MarkdownTextObject(text=_ticket_line(ticket, names, base_url)))
        )
        controls = ticket_controls(ticket, names, can_reply=queue.can_reply)
        if controls:
            blocks.append(ActionsBlock(elements=controls))
    if queue.tickets_total > len(queue.tickets):
        more = queue.tickets_total - len(queue.tickets)
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=f"And {more} more assigned to you: PMP's ticket list has them all."
                    )
                ]
            )
        )
    heading = "*Milestones due this week or overdue*"
    if queue.all_projects:
        heading += "\nPMP doesn't tell pmp-bot who is on a project, so these are every project's."
    lines: list[str] = []
    size = len(heading) + 100  # room for the "And N more." line
    for due in queue.milestones:
        line = _milestone_line(due, base_url)
        if size + len(line) + 1 > SECTION_TEXT_MAX:
            break
        lines.append(line)
        size += len(line) + 1
    if not lines and not queue.milestones:
        lines = ["None due in the next 7 days."]
    if queue.milestones_total > len(lines) and queue.milestones:
        lines.append(f"And {queue.milestones_total - len(lines)} more.")
    blocks.append(
        SectionBlock(
            text=MarkdownTextObject(text=truncate("\n".join([heading, *lines]), SECTION_TEXT_MAX))
        )
    )
    return blocks


def _search_input(query: str | None) -> InputBlock:
    return InputBlock(
        block_id=HomeAction.SEARCH_BLOCK,
        label=PlainTextObject(text="Company, contact name or email"),
        element=PlainTextInputElement(
            action_id=HomeAction.SEARCH_INPUT,
            initial_value=query or None,
            max_length=200,
            placeholder=PlainTextObject(text="acme"),
        ),
    )


def build_customer_search_modal(query: str | None = None) -> View:
    return View(
        type="modal",
        callback_id=HomeAction.SEARCH_MODAL,
        title=PlainTextObject(text="Search customers"),
        submit=PlainTextObject(text="Search"),
        close=PlainTextObject(text="Close"),
        blocks=[_search_input(query)],
    )


def build_customer_results_modal(
    query: str, customers: Sequence[Customer], *, base_url: str
) -> View:
    blocks: list[Block] = [_search_input(query)]
    count = len(customers)
    noun = "customer matches" if count == 1 else "customers match"
    headline = (
        f"{count} {noun} “{safe(query, 100)}”"
        if count
        else (f"No customer matches “{safe(query, 100)}”. Try part of a name, or a shorter word.")
    )
    if count > MAX_RESULTS_IN_MODAL:
        headline += f" Showing the first {MAX_RESULTS_IN_MODAL}: add a word to narrow it down."
    blocks.append(SectionBlock(text=MarkdownTextObject(text=headline)))
    for customer in customers[:MAX_RESULTS_IN_MODAL]:
        ref = CardRef("customer", customer.id)
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(text=_customer_line(customer, card_url(base_url, ref))),
                accessory=ButtonElement(
                    text="Show", action_id=HomeAction.SHOW_RESULT, value=ref.to_value()
                ),
            )
        )
    return View(
        type="modal",
        callback_id=HomeAction.SEARCH_MODAL,
        title=PlainTextObject(text="Search customers"),
        submit=PlainTextObject(text="Search"),
        close=PlainTextObject(text="Close"),
        blocks=blocks,
    )


def _customer_line(customer: Customer, url: str | None) -> str:
    """A search result: the name (escaped, cut, linked to PMP while it fits a section), then
    city and phone."""
    name = safe(one_line(customer.display_name), TITLE_MAX) or f"Customer #{customer.id}"
    place = ", ".join(one_line(p) for p in (customer.city, customer.phonenumber) if p and p.strip())
    details = f"\n{safe(place, 300)}" if place else ""
    linked = f":office: {record_link(url, name)}{details}"
    if len(linked) <= SECTION_TEXT_MAX:
        return linked
    return f":office: {record_link(None, name)}{details}"


def readonly(blocks: Sequence[Block]) -> list[Block]:
    """A card's blocks without its buttons and menus: in a modal there is no channel to
    share to, so only the record and its links are shown."""
    kept: list[Block] = []
    for block in blocks:
        if isinstance(block, ActionsBlock):
            continue
        if isinstance(block, SectionBlock) and block.accessory is not None:
            block = SectionBlock(block_id=block.block_id, text=block.text, fields=block.fields)
        kept.append(block)
    return kept


def build_card_modal(message: Message, ref: CardRef) -> View:
    hint = (
        f"To share it, run `{SLASH_COMMAND} {ref.kind} {ref.id}` in a channel and press "
        "Share in channel."
    )
    return View(
        type="modal",
        title=PlainTextObject(text=f"PMP {ref.kind}"[:24]),
        close=PlainTextObject(text="Close"),
        blocks=[*readonly(message.blocks), ContextBlock(elements=[MarkdownTextObject(text=hint)])],
    )


def build_loading_modal(title: str) -> View:
    return View(
        type="modal",
        title=PlainTextObject(text=title[:24]),
        close=PlainTextObject(text="Close"),
        blocks=[SectionBlock(text=MarkdownTextObject(text=":hourglass_flowing_sand: Asking PMP…"))],
    )


def build_modal_message(title: str, text: str) -> View:
    return View(
        type="modal",
        title=PlainTextObject(text=title[:24]),
        close=PlainTextObject(text="Close"),
        blocks=[SectionBlock(text=MarkdownTextObject(text=text))],
    )
