"""Block Kit for channel subscriptions: what a channel gets (with Edit, Remove and Resume), the
edit modal and reading it back, the remove confirmation, and the replies to `/pmp subscribe`
and `/pmp unsubscribe` that say exactly what the channel will get."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.grammar import SLASH_COMMAND, FilterKey, FilterTerm
from bot.names import positive_id
from bot.subscriptions.manage import (
    EVENTS_OF_KIND,
    FILTERS_OF_KIND,
    CardStyle,
    ManageRefusal,
    NameSources,
    Subscription,
    SubscriptionKind,
    filter_labels,
)
from bot.text import safe, truncate


class SubscriptionIds(StrEnum):
    """Slack ids of the subscription surfaces. The buttons carry the subscription's id."""

    EDIT = "pmp_subscription_edit"
    REMOVE = "pmp_subscription_remove"
    REMOVE_CONFIRMED = "pmp_subscription_remove_confirmed"
    REMOVE_CANCELLED = "pmp_subscription_remove_cancelled"
    RESUME = "pmp_subscription_resume"
    # Admins: whether members may subscribe channels they are in (value "on" / "off").
    MEMBERS = "pmp_subscription_members"
    EDIT_MODAL = "pmp_subscription_edit_modal"
    BROADCAST_BLOCK = "pmp_subscription_broadcast"
    BROADCAST_INPUT = "pmp_subscription_broadcast_input"
    STYLE_BLOCK = "pmp_subscription_style"
    STYLE_INPUT = "pmp_subscription_style_input"


def filter_block_id(key: FilterKey) -> str:
    return f"pmp_subscription_filter_{key}"


def filter_action_id(key: FilterKey) -> str:
    return f"pmp_subscription_filter_{key}_input"


KIND_TITLES: Mapping[SubscriptionKind, str] = {
    "tickets": "Tickets",
    "leads": "Leads",
    "projects": "Projects",
    "milestones": "Milestones",
    "customers": "Customers",
    "lookups": "Lookups",
}
# Only status changes are broadcast, so only kinds with status events offer it.
BROADCAST_KINDS = frozenset({"tickets", "leads", "projects"})
# Lookup notices are one line each: no card to style, no thread.
CARD_KINDS = frozenset({"tickets", "leads", "projects", "milestones", "customers"})
ANY = "any"
LABEL_SHOWN = 80
# A message holds 50 blocks: a header, a footer, and two blocks per subscription.
MAX_LISTED = 22
FILTER_TEXT_MAX = 200

FILTER_TITLES: Mapping[FilterKey, str] = {
    "department": "Department",
    "priority": "Priority",
    "status": "Status",
    "customer": "Customer",
    "project": "Project",
}


@dataclass(frozen=True)
class Reply:
    """A message: its fallback text and blocks."""

    text: str
    blocks: list[Block]


def channel_link(channel_id: str) -> str:
    return f"<#{channel_id}>"


def _mrkdwn(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate(text, 3000)))


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=truncate(text, 2000))])


def describe_filters(labels: Sequence[tuple[FilterKey, str]]) -> str:
    """`department *Support*, priority *High*`; labels are escaped here."""
    return ", ".join(f"{key} *{safe(label, LABEL_SHOWN)}*" for key, label in labels)


def describe_options(kind: SubscriptionKind, broadcast: bool, style: CardStyle) -> str:
    if kind not in CARD_KINDS:
        return "one line each"
    parts = []
    if kind in BROADCAST_KINDS:
        parts.append(
            "status changes also posted in the channel"
            if broadcast
            else "updates in each record's thread"
        )
    else:
        parts.append("updates in each record's thread")
    parts.append(f"{style} cards")
    return ", ".join(parts)


def describe(
    kind: SubscriptionKind,
    labels: Sequence[tuple[FilterKey, str]],
    broadcast: bool,
    style: CardStyle,
) -> str:
    """What a subscription posts, in one line of mrkdwn."""
    what = EVENTS_OF_KIND[kind]
    only = f" — only {describe_filters(labels)}" if labels else ""
    return f"{what}{only} ({describe_options(kind, broadcast, style)})"


def polling_note(poll_interval_seconds: int) -> str:
    return (
        f"PMP 3.x sends changes as they happen; PMP 2.0.8 is checked every "
        f"{poll_interval_seconds} s."
    )


# ------------------------------------------------------------------------------ the list


def build_subscription_list(
    channel_id: str,
    subscriptions: Sequence[Subscription],
    names: NameSources,
    *,
    may_manage: bool,
    members_may_subscribe: bool,
    is_admin: bool,
    note: str | None = None,
) -> Reply:
    """What a channel gets, each subscription with Edit and Remove (and Resume when paused)
    for people who may change them. `note` is a line on top (what just changed)."""
    blocks: list[Block] = []
    if note:
        blocks.append(_mrkdwn(note))
    channel = channel_link(channel_id)
    if not subscriptions:
        start = f" Try `{SLASH_COMMAND} subscribe {channel} tickets`." if may_manage else ""
        blocks.append(_mrkdwn(f"{channel} gets nothing from PMP yet.{start}"))
    else:
        blocks.append(_mrkdwn(f"*{channel} gets:*"))
    for subscription in subscriptions[:MAX_LISTED]:
        blocks += _entry(subscription, names, may_manage=may_manage)
    hidden = len(subscriptions) - MAX_LISTED
    if hidden > 0:
        blocks.append(
            _mrkdwn(f"…and {hidden} more. `{SLASH_COMMAND} unsubscribe` removes several at once.")
        )
    if may_manage:
        footer = (
            f"`{SLASH_COMMAND} subscribe` adds more; `{SLASH_COMMAND} help subscribe` explains."
        )
    elif members_may_subscribe:
        footer = "Members of this channel and admins can change these."
    else:
        footer = "Only admins can change these."
    blocks.append(_context(footer))
    if is_admin:
        blocks.append(_members_choice(members_may_subscribe, channel_id))
    count = len(subscriptions)
    text = f"{channel} has {count} PMP subscription{'' if count == 1 else 's'}."
    return Reply(text=text, blocks=blocks)


def _members_choice(allowed: bool, channel_id: str) -> ActionsBlock:
    if allowed:
        button = ButtonElement(
            text="Admins only",
            action_id=SubscriptionIds.MEMBERS.value,
            value=f"off:{channel_id}",
        )
    else:
        button = ButtonElement(
            text="Let members subscribe",
            action_id=SubscriptionIds.MEMBERS.value,
            value=f"on:{channel_id}",
        )
    return ActionsBlock(block_id="pmp_subscription_members_block", elements=[button])


def _entry(subscription: Subscription, names: NameSources, *, may_manage: bool) -> list[Block]:
    labels = filter_labels(subscription.filters, names)
    line = (
        f"*{KIND_TITLES[subscription.kind]}*: "
        f"{describe(subscription.kind, labels, subscription.broadcast_status, subscription.style)}"
    )
    if subscription.paused_at is not None:
        reason = safe(subscription.paused_reason or "I couldn't post here", 150)
        line += f"\n:double_vertical_bar: Paused: {reason}."
    blocks: list[Block] = [_mrkdwn(line)]
    if not may_manage:
        return blocks
    value = str(subscription.id)
    buttons: list[ButtonElement] = []
    if subscription.paused_at is not None:
        buttons.append(
            ButtonElement(
                text="Resume", action_id=SubscriptionIds.RESUME.value, value=value, style="primary"
            )
        )
    if subscription.kind in CARD_KINDS:
        buttons.append(
            ButtonElement(text="Edit", action_id=SubscriptionIds.EDIT.value, value=value)
        )
    buttons.append(
        ButtonElement(text="Remove", action_id=SubscriptionIds.REMOVE.value, value=value)
    )
    blocks.append(ActionsBlock(block_id=f"pmp_subscription_{subscription.id}", elements=buttons))
    return blocks


def build_remove_prompt(subscription: Subscription, names: NameSources) -> Reply:
    labels = filter_labels(subscription.filters, names)
    only = f" ({describe_filters(labels)})" if labels else ""
    text = f"Stop posting *{subscription.kind}*{only} in {channel_link(subscription.channel_id)}?"
    value = str(subscription.id)
    return Reply(
        text=f"Stop posting {subscription.kind} in this channel?",
        blocks=[
            _mrkdwn(text),
            ActionsBlock(
                block_id=f"pmp_subscription_remove_{subscription.id}",
                elements=[
                    ButtonElement(
                        text="Remove",
                        action_id=SubscriptionIds.REMOVE_CONFIRMED.value,
                        value=value,
                        style="danger",
                    ),
                    ButtonElement(
                        text="Keep it",
                        action_id=SubscriptionIds.REMOVE_CANCELLED.value,
                        value=value,
                    ),
                ],
            ),
        ],
    )


def removed_note(subscription: Subscription, names: NameSources) -> str:
    labels = filter_labels(subscription.filters, names)
    only = f" ({describe_filters(labels)})" if labels else ""
    return f":wastebasket: Removed: {subscription.kind}{only}."


# ----------------------------------------------------------------------------- replies


def build_subscribed(
    subscription: Subscription,
    labels: Sequence[tuple[FilterKey, str]],
    *,
    created: bool,
    changed: bool,
    poll_interval_seconds: int,
) -> Reply:
    channel = channel_link(subscription.channel_id)
    what = describe(subscription.kind, labels, subscription.broadcast_status, subscription.style)
    if created:
        head = f":white_check_mark: {channel} now gets {what}."
    elif changed:
        head = f":white_check_mark: Updated: {channel} gets {what}."
    else:
        head = f"{channel} already gets {what}. Nothing changed."
    more = f"`{SLASH_COMMAND} subscriptions {channel}` shows or changes what it gets."
    blocks: list[Block] = [_mrkdwn(head)]
    context = more
    if subscription.kind != "lookups":
        context = f"{polling_note(poll_interval_seconds)} {more}"
    blocks.append(_context(context))
    return Reply(text=head, blocks=blocks)


def subscribed_welcome(user_id: str, kind: SubscriptionKind) -> str:
    """The line posted in the channel itself when it starts getting something."""
    return (
        f"<@{user_id}> subscribed this channel to PMP {kind}: {EVENTS_OF_KIND[kind]}. "
        f"`{SLASH_COMMAND} subscriptions` shows what it gets."
    )


def _kind_lines(subscriptions: Sequence[Subscription], names: NameSources) -> str:
    lines = []
    for subscription in subscriptions:
        labels = filter_labels(subscription.filters, names)
        only = f" ({describe_filters(labels)})" if labels else ""
        lines.append(f"• {subscription.kind}{only}")
    return "\n".join(lines)


def build_unsubscribed(
    channel_id: str,
    removed: Sequence[Subscription],
    names: NameSources,
    *,
    what: str,
    remaining: Sequence[Subscription] = (),
) -> Reply:
    """`what` is what was asked to stop, as the user said it (`tickets`, `anything`);
    `remaining` what the channel still gets."""
    channel = channel_link(channel_id)
    if not removed:
        text = (
            f"{channel} wasn't getting {what}, so nothing changed. "
            f"`{SLASH_COMMAND} subscriptions {channel}` shows what it gets."
        )
        return Reply(text=text, blocks=[_mrkdwn(text)])
    blocks: list[Block] = [
        _mrkdwn(f":no_bell: {channel} no longer gets:\n{_kind_lines(removed, names)}")
    ]
    if remaining:
        blocks.append(_mrkdwn(f"It still gets:\n{_kind_lines(remaining, names)}"))
    else:
        blocks.append(_context(f"{channel} gets nothing from PMP now."))
    return Reply(text=f"{channel} no longer gets {what}.", blocks=blocks)


REFUSALS: Mapping[ManageRefusal, str] = {
    "admins_only": (
        "Only workspace admins and owners can change what {channel} gets from PMP. An admin "
        "can let members subscribe channels they're in (in `{command} settings`)."
    ),
    "not_a_member": (
        "You can change what {channel} gets once you're a member of it. Join it, or ask an admin."
    ),
}


def refusal_text(refusal: ManageRefusal, channel_id: str) -> str:
    return REFUSALS[refusal].format(channel=channel_link(channel_id), command=SLASH_COMMAND)


JOIN_HINTS: Mapping[str, str] = {
    "private": (
        "{channel} is private, so I can't join it myself. Invite me there (type "
        "`/invite @PMP` in the channel), then run the command again."
    ),
    "channel_not_found": (
        "I can't see {channel}. If it's private, invite me first (`/invite @PMP` in the "
        "channel), then run the command again."
    ),
    "is_archived": "{channel} is archived. Pick a channel that is in use.",
    "not_in_channel": (
        "I'm not a member of {channel}. Invite me there (type `/invite @PMP` in the channel), "
        "then run the command again."
    ),
    "restricted_action": "This workspace doesn't let apps post in {channel}. Pick another channel.",
    "no_name": (
        "I can't find {channel}. If it's private, invite me there first (`/invite @PMP` in "
        "the channel); otherwise pick it from the list that appears as you type `#`."
    ),
    "unavailable": "Slack had a problem just now. Try again in a minute.",
}


def join_problem(reason: str, channel: str) -> str:
    """Why the bot can't post in a channel and how to fix it; `channel` is mrkdwn."""
    hint = JOIN_HINTS.get(reason)
    if hint is None:
        return f"I couldn't post in {channel} (Slack said `{safe(reason, 60)}`)."
    return hint.format(channel=channel)


def members_choice_note(allowed: bool) -> str:
    if allowed:
        return (
            ":unlock: Members may now subscribe channels they're in, and change what those "
            "channels get."
        )
    return ":lock: Only admins may change channel subscriptions now."


# ------------------------------------------------------------------------ the edit modal


@dataclass(frozen=True)
class EditTarget:
    """What the edit modal is about (kept in its private_metadata)."""

    subscription_id: int
    channel_id: str
    kind: SubscriptionKind

    def to_metadata(self) -> str:
        return json.dumps(
            {"id": self.subscription_id, "channel": self.channel_id, "kind": self.kind}
        )

    @classmethod
    def from_metadata(cls, text: str) -> EditTarget:
        try:
            data = json.loads(text)
            kind = data["kind"]
            subscription_id = positive_id(data["id"])
            channel = str(data["channel"])
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError("not a subscription edit") from error
        if kind not in FILTERS_OF_KIND or subscription_id is None or not channel:
            raise ValueError("not a subscription edit")
        return cls(subscription_id, channel, kind)


@dataclass(frozen=True)
class EditDraft:
    """The edit modal as submitted."""

    target: EditTarget
    terms: tuple[FilterTerm, ...]
    broadcast: bool
    style: CardStyle


def _option(value: str, label: str) -> Option:
    return Option(value=value, text=truncate(label, 75))


def _filter_input(key: FilterKey, current: int | None, names: Mapping[int, str]) -> InputBlock:
    title = FILTER_TITLES[key]
    if names:
        options = [_option(ANY, f"Any {key}")]
        options += [_option(str(i), name) for i, name in sorted(names.items())[:98]]
        if current is not None and current not in names:
            options.append(_option(str(current), f"#{current}"))
        initial = next(
            (o for o in options if o.value == (str(current) if current is not None else ANY)),
            options[0],
        )
        element: Any = StaticSelectElement(
            action_id=filter_action_id(key), options=options, initial_option=initial
        )
        hint = None
    else:
        element = PlainTextInputElement(
            action_id=filter_action_id(key),
            initial_value=str(current) if current is not None else None,
            placeholder=("A number or a name" if key in ("customer", "project") else "A number"),
            max_length=FILTER_TEXT_MAX,
        )
        hint = PlainTextObject(text=f"Leave empty for any {key}.")
    return InputBlock(
        block_id=filter_block_id(key),
        label=title,
        element=element,
        optional=True,
        hint=hint,
    )


def _radio(
    block_id: str, action_id: str, label: str, choices: list[tuple[str, str]], chosen: str
) -> InputBlock:
    options = [_option(value, text) for value, text in choices]
    initial = next(o for o in options if o.value == chosen)
    return InputBlock(
        block_id=block_id,
        label=label,
        element=RadioButtonsElement(action_id=action_id, options=options, initial_option=initial),
    )


def build_edit_modal(
    subscription: Subscription, names: NameSources, *, problem: str | None = None
) -> View:
    """The kind is fixed; its filters, broadcast and card style can change."""
    kind = subscription.kind
    blocks: list[Block] = [
        _mrkdwn(
            f"*{KIND_TITLES[kind]}* in {channel_link(subscription.channel_id)}: "
            f"{EVENTS_OF_KIND[kind]}."
        )
    ]
    if problem:
        blocks.append(_mrkdwn(f":warning: {safe(problem, 500)}"))
    filters = subscription.filters
    current: Mapping[FilterKey, int | None] = {
        "department": filters.department,
        "priority": filters.priority,
        "status": filters.status,
        "customer": filters.customer_id,
        "project": filters.project_id,
    }
    for key in FILTERS_OF_KIND[kind]:
        blocks.append(_filter_input(key, current[key], names.of(key)))
    if kind in BROADCAST_KINDS:
        blocks.append(
            _radio(
                SubscriptionIds.BROADCAST_BLOCK,
                SubscriptionIds.BROADCAST_INPUT,
                "Status changes",
                [
                    ("thread", "Only in the record's thread"),
                    ("broadcast", "Also in the channel"),
                ],
                "broadcast" if subscription.broadcast_status else "thread",
            )
        )
    blocks.append(
        _radio(
            SubscriptionIds.STYLE_BLOCK,
            SubscriptionIds.STYLE_INPUT,
            "Cards",
            [("compact", "Compact: the essentials"), ("full", "Full: every detail")],
            subscription.style,
        )
    )
    target = EditTarget(subscription.id, subscription.channel_id, kind)
    return View(
        type="modal",
        callback_id=SubscriptionIds.EDIT_MODAL.value,
        title=PlainTextObject(text="Edit subscription"),
        submit=PlainTextObject(text="Save"),
        close=PlainTextObject(text="Cancel"),
        private_metadata=target.to_metadata(),
        blocks=blocks,
    )


def _entry_of(state: Mapping[str, Any], block_id: str, action_id: str) -> Mapping[str, Any]:
    block = state.get(block_id)
    entry = block.get(action_id) if isinstance(block, Mapping) else None
    return entry if isinstance(entry, Mapping) else {}


def _selected(entry: Mapping[str, Any]) -> str | None:
    option = entry.get("selected_option")
    if isinstance(option, Mapping):
        value = option.get("value")
        return str(value) if value is not None else None
    return None


def read_edit(target: EditTarget, state: Mapping[str, Any]) -> EditDraft | tuple[str, str]:
    """The submitted modal as a draft, or (block id, problem) for an input to fix."""
    terms: list[FilterTerm] = []
    for key in FILTERS_OF_KIND[target.kind]:
        entry = _entry_of(state, filter_block_id(key), filter_action_id(key))
        if entry.get("type") == "static_select":
            chosen = _selected(entry)
            if chosen is None or chosen == ANY:
                continue
            typed = chosen
        else:
            typed = " ".join(str(entry.get("value") or "").split())
            if not typed:
                continue
        number = positive_id(typed.removeprefix("#"))
        if number is not None:
            terms.append(FilterTerm(key, number=number))
        elif key in ("customer", "project"):
            terms.append(FilterTerm(key, name=typed[:FILTER_TEXT_MAX]))
        else:
            return filter_block_id(key), f"Type the {key}'s number, like 2, or leave it empty."
    broadcast_entry = _entry_of(
        state, SubscriptionIds.BROADCAST_BLOCK, SubscriptionIds.BROADCAST_INPUT
    )
    style_entry = _entry_of(state, SubscriptionIds.STYLE_BLOCK, SubscriptionIds.STYLE_INPUT)
    style: CardStyle = "full" if _selected(style_entry) == "full" else "compact"
    return EditDraft(
        target=target,
        terms=tuple(terms),
        broadcast=_selected(broadcast_entry) == "broadcast",
        style=style,
    )


def build_edit_saved(subscription: Subscription, labels: Sequence[tuple[FilterKey, str]]) -> View:
    channel = channel_link(subscription.channel_id)
    what = describe(subscription.kind, labels, subscription.broadcast_status, subscription.style)
    return View(
        type="modal",
        title=PlainTextObject(text="Subscription saved"),
        close=PlainTextObject(text="Done"),
        blocks=[_mrkdwn(f":white_check_mark: {channel} now gets {what}.")],
    )


def build_edit_loading() -> View:
    """Shown while the departments' names are read from PMP's tickets."""
    return View(
        type="modal",
        title=PlainTextObject(text="Edit subscription"),
        close=PlainTextObject(text="Cancel"),
        blocks=[_mrkdwn(":hourglass_flowing_sand: Reading PMP's departments…")],
    )


def build_edit_problem(problem: str) -> View:
    return View(
        type="modal",
        title=PlainTextObject(text="Edit subscription"),
        close=PlainTextObject(text="Close"),
        blocks=[_mrkdwn(f":warning: {safe(problem, 500)}")],
    )


def build_edit_gone() -> View:
    return View(
        type="modal",
        title=PlainTextObject(text="Edit subscription"),
        close=PlainTextObject(text="Close"),
        blocks=[
            _mrkdwn(
                "This subscription was removed meanwhile. "
                f"`{SLASH_COMMAND} subscriptions` shows what the channel gets now."
            )
        ],
    )
