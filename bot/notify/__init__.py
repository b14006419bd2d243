"""Channel notices: who looked up or changed which PMP record, as one line each. They are
delivered as the `lookups` kind of subscription (bot.subscriptions), paced per channel."""

from __future__ import annotations

from bot.notify.channels import channel_mention, notice_line, parse_channel_ref
from bot.notify.lines import fit_line, split_sections

__all__ = [
    "channel_mention",
    "fit_line",
    "notice_line",
    "parse_channel_ref",
    "split_sections",
]
