"""Channel references and the one-line notices posted in a workspace's notice channel."""

from __future__ import annotations

import re

from bot.grammar import ChannelRef, is_channel_id, parse_channel_ref
from bot.text import escape_mrkdwn, safe

__all__ = ["ChannelRef", "channel_mention", "is_channel_id", "notice_line", "parse_channel_ref"]

# Enough for any real record name; longer labels are cut so a notice stays one line.
MAX_LABEL_CHARS = 200
_USER_ID_RE = re.compile(r"[UW][A-Z0-9]{2,}")


def channel_mention(channel: ChannelRef) -> str:
    """mrkdwn for a channel: a live `<#C123>` link when the id is known, else `#name`."""
    if channel.id is not None and is_channel_id(channel.id):
        return f"<#{channel.id}>"
    return f"#{escape_mrkdwn(channel.name or '')}"


def notice_line(
    actor_user_id: str, verb: str, kind: str, label: str, url: str | None = None
) -> str:
    """One mrkdwn line, like `<@U123> looked up customer *Acme Corporation*`.

    `label` comes from PMP, so it is escaped (and cut) before it reaches Slack: a record
    named `<!channel>` must not ping anyone. With an http(s) `url`, the label links to the
    record.
    """
    actor = f"<@{actor_user_id}>" if _USER_ID_RE.fullmatch(actor_user_id) else "Someone"
    shown = safe(" ".join(label.split()), MAX_LABEL_CHARS) or "(no name)"
    if url is not None and url.startswith(("https://", "http://")):
        shown = f"<{_link_target(url)}|{shown}>"
    return f"{actor} {escape_mrkdwn(verb)} {escape_mrkdwn(str(kind))} *{shown}*"


def _link_target(url: str) -> str:
    # Inside `<url|label>`, `|` and `>` would end the address early.
    return escape_mrkdwn(url.replace("|", "%7C")).replace(" ", "%20")
