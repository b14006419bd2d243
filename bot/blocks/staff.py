"""Block Kit for `/pmp staff`: which PMP staff member a Slack user is, why pmp-bot couldn't
tell, an admin's link set or removed, and the workspace's list. Also the options of the staff
pickers in forms. Pure: data in, Block Kit out; PMP's text escaped."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    MarkdownTextObject,
    Option,
    SectionBlock,
)

from bot.blocks.cards import Message
from bot.blocks.connect import build_admins_only
from bot.blocks.fields import FAILED_VALUE, MAX_OPTIONS, OPTION_TEXT_MAX, notice_option
from bot.grammar import SLASH_COMMAND
from bot.staff import LinkedUser, NoStaffMatch, StaffLink, StaffMember, StaffUnavailable
from bot.text import escape_mrkdwn, safe, truncate

__all__ = [
    "build_link_removed",
    "build_link_set",
    "build_not_admin",
    "build_staff_choices",
    "build_staff_list",
    "build_unresolved_user",
    "build_user_staff",
    "named_staff",
    "no_match_text",
    "staff_label",
    "staff_options",
]

SECTION_MAX = 3000
# How many staff members an ambiguous name lists before asking for more of it.
CHOICES_SHOWN = 10


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_MAX)))


def _who(user_id: str) -> str:
    return f"<@{user_id}>"


def staff_label(member: StaffMember) -> str:
    """A staff member as an option names them: "Maria Garcia (#2)", marked when switched
    off in PMP."""
    off = ", deactivated" if not member.active else ""
    return truncate(f"{member.name} (#{member.id}{off})", OPTION_TEXT_MAX)


def named_staff(staff_id: int, name: str | None) -> str:
    """A staff number with its name as the pickers show it ("Maria Garcia (#2)"), for the
    staff member a form shows chosen."""
    return truncate(f"{name} (#{staff_id})" if name else f"Staff #{staff_id}", OPTION_TEXT_MAX)


def _member(member: StaffMember) -> str:
    email = f" · {safe(member.email, 200)}" if member.email else ""
    return f"*{safe(member.name, 200)}* (staff #{member.id}){email}"


def _how(link: StaffLink) -> str:
    if link.source == "email":
        return "matched by Slack e-mail"
    return "set by an admin"


def no_match_text(found: NoStaffMatch, user_id: str, *, is_self: bool = True) -> str:
    """Why pmp-bot doesn't know which staff member the user is, and how to get there
    (mrkdwn). For anything that needs the user's staff member, like assigning to them."""
    who, verb = ("you", "are") if is_self else (_who(user_id), "is")
    whose, them = ("your", "you") if is_self else ("their", "them")
    email = safe(found.email, 200) if found.email else "none"
    by_hand = (
        f"A workspace admin can link {them} by hand: "
        f"`{SLASH_COMMAND} staff @{'you' if is_self else 'them'} <name in PMP>`."
    )
    reasons = {
        "unavailable": (
            "PMP's API token isn't allowed to read staff members, so pmp-bot can't tell "
            f"which one {who} {verb}. A PMP admin can give the token the staff permission "
            "(Setup → API)."
        ),
        "no_email": (
            f"Slack didn't tell pmp-bot {whose} e-mail address, so it can't look {them} up "
            f"among PMP's staff. {by_hand}"
        ),
        "inactive": (
            f"The PMP staff member with {whose} Slack e-mail ({email}) is deactivated in PMP. "
            f"{by_hand}"
        ),
        "several": f"Several PMP staff members have {whose} Slack e-mail ({email}). {by_hand}",
        "no_staff": f"No PMP staff member has {whose} Slack e-mail ({email}). {by_hand}",
    }
    return reasons[found.reason]


def build_user_staff(
    user_id: str, found: StaffLink | NoStaffMatch, *, is_self: bool = True
) -> Message:
    """`/pmp staff` (`is_self`) or `/pmp staff @user`: the staff member, or why none."""
    if isinstance(found, NoStaffMatch):
        text = no_match_text(found, user_id, is_self=is_self)
        return Message(text=text, blocks=[_section(f":grey_question: {text}")])
    who = "You are" if is_self else f"{_who(user_id)} is"
    line = f":bust_in_silhouette: {who} {_member(found.staff)} in PMP ({_how(found)})."
    blocks: list[Block] = [_section(line)]
    if is_self:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text="Not you? A workspace admin can correct it: "
                        f"`{SLASH_COMMAND} staff @you <name in PMP>`."
                    )
                ]
            )
        )
    plain = f"{'You are' if is_self else 'They are'} {found.staff.name} in PMP"
    return Message(text=truncate(plain, 300), blocks=blocks)


def build_link_set(user_id: str, link: StaffLink) -> Message:
    text = f":white_check_mark: {_who(user_id)} is now {_member(link.staff)} in PMP."
    return Message(text=truncate(f"Linked to {link.staff.name}", 300), blocks=[_section(text)])


def build_link_removed(user_id: str, removed: bool) -> Message:
    if removed:
        text = (
            f"{_who(user_id)} is no longer linked to a PMP staff member. pmp-bot will look "
            "for their Slack e-mail among PMP's staff again when it needs to know."
        )
    else:
        text = f"{_who(user_id)} wasn't linked to a PMP staff member: nothing changed."
    return Message(
        text="Staff link removed" if removed else "No staff link", blocks=[_section(text)]
    )


def build_staff_choices(typed: str, found: Sequence[StaffMember] | StaffUnavailable) -> Message:
    """An admin's name matched no one, or several: what to type instead."""
    shown = safe(typed, 100)
    if isinstance(found, StaffUnavailable):
        text = escape_mrkdwn(found.message)
        return Message(text=text, blocks=[_section(f":warning: {text}")])
    if not found:
        text = (
            f"No PMP staff member matches “{shown}”. Type their name as PMP has it, their "
            "e-mail, or their staff number."
        )
        return Message(text=text, blocks=[_section(text)])
    lines = "\n".join(f"• {_member(member)}" for member in found[:CHOICES_SHOWN])
    more = (
        f"\n…and {len(found) - CHOICES_SHOWN} more: type more of the name."
        if len(found) > CHOICES_SHOWN
        else ""
    )
    text = (
        f"Several PMP staff members match “{shown}”:\n{lines}{more}\n"
        f"Use the staff number, like `{SLASH_COMMAND} staff @them {found[0].id}`."
    )
    return Message(text=f"Several staff members match “{typed[:60]}”", blocks=[_section(text)])


def build_staff_list(links: Sequence[LinkedUser], pmp_site: str) -> Message:
    """`/pmp staff list`: who is which staff member of this workspace's PMP."""
    site = safe(pmp_site, 200)
    if not links:
        text = (
            f"Nobody here is linked to a staff member of {site} yet. People are linked when "
            f"pmp-bot first needs to know (by their Slack e-mail), or by an admin: "
            f"`{SLASH_COMMAND} staff @someone <name in PMP>`."
        )
        return Message(text="Nobody is linked yet", blocks=[_section(text)])
    lines = [
        f"• {_who(row.slack_user_id)} → {_member(row.link.staff)}, {_how(row.link)}"
        for row in links
    ]
    blocks: list[Block] = [_section(f"*Slack people and their PMP staff members* ({site})")]
    chunk: list[str] = []
    size = 0
    for line in lines:
        if size + len(line) + 1 > SECTION_MAX or len(chunk) >= 40:
            blocks.append(_section("\n".join(chunk)))
            chunk, size = [], 0
        chunk.append(line)
        size += len(line) + 1
    if chunk:
        blocks.append(_section("\n".join(chunk)))
    if len(blocks) > 49:
        blocks = [*blocks[:48], _section(f"…and more: {len(links)} people in all.")]
    return Message(text=f"{len(links)} people linked to PMP staff", blocks=blocks)


def build_not_admin() -> Message:
    return Message(
        text="Only admins can link people to PMP staff.",
        blocks=build_admins_only("link people to PMP staff members"),
    )


def build_unresolved_user(name: str) -> Message:
    text = (
        f"I can't tell who “@{safe(name, 80)}” is: pick the person from Slack's list as you "
        f"type @, then send `{SLASH_COMMAND} staff @them <name in PMP>` again."
    )
    return Message(text="Pick the person from Slack's list", blocks=[_section(text)])


def staff_options(found: Sequence[StaffMember] | StaffUnavailable) -> list[dict[str, Any]]:
    """A staff picker's options: one per staff member (the value their number), or one option
    saying PMP won't list staff."""
    if isinstance(found, StaffUnavailable):
        return [notice_option("PMP won't list staff: reopen the form", FAILED_VALUE)]
    return [
        Option(value=str(member.id), text=staff_label(member)).to_dict()
        for member in found[:MAX_OPTIONS]
    ]
