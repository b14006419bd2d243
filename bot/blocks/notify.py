"""Texts for `/pmp notify`: what is set, what changed, and how to fix what failed."""

from __future__ import annotations

from bot.grammar import SLASH_COMMAND, ChannelRef
from bot.notify import channel_mention

# Not a Slack error code: Slack answered 5xx, or kept rate-limiting after the retries.
SLACK_UNAVAILABLE = "slack_unavailable"

NOTIFY_FAILURE_HINTS = {
    "not_in_channel": (
        "I'm not a member of {channel}. Invite me there (type `/invite @PMP` in the channel), "
        "then run `{command} notify {channel}` again."
    ),
    "channel_not_found": (
        "I can't see {channel}. If it's private, invite me first (`/invite @PMP` in the "
        "channel); otherwise pick the channel from the list that appears as you type `#`."
    ),
    "is_archived": "{channel} is archived. Pick a channel that is in use.",
    "restricted_action": "This workspace doesn't let apps post in {channel}. Pick another channel.",
    SLACK_UNAVAILABLE: (
        "Slack had a problem posting in {channel} just now, so notices still go where they "
        "went before. Run `{command} notify {channel}` again in a minute."
    ),
}


def notify_current(channel_id: str | None) -> str:
    if channel_id:
        return (
            f"Lookups and changes are posted to <#{channel_id}>. "
            f"`{SLASH_COMMAND} notify off` stops that."
        )
    return (
        "No channel gets notices yet. An admin can choose one with "
        f"`{SLASH_COMMAND} notify #channel`."
    )


def notify_set(channel_id: str) -> str:
    return f":bell: From now on, lookups and changes in PMP are posted to <#{channel_id}>."


def notify_off() -> str:
    return f":no_bell: Channel notices are off. `{SLASH_COMMAND} notify #channel` turns them on."


def notify_failed(channel: ChannelRef, error_code: str) -> str:
    mention = channel_mention(channel)
    hint = NOTIFY_FAILURE_HINTS.get(
        error_code, "I couldn't post in {channel} (Slack said `" + error_code + "`)."
    )
    return hint.format(channel=mention, command=SLASH_COMMAND)


def notify_welcome(user_id: str) -> str:
    return (
        f"pmp-bot will post PMP lookups and changes here (set by <@{user_id}>; "
        f"`{SLASH_COMMAND} notify off` stops it)."
    )
