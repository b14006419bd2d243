"""Channel notices: who looked up or changed which PMP record, posted at Slack's pace."""

from __future__ import annotations

from bot.notify.channels import channel_mention, notice_line, parse_channel_ref
from bot.notify.queue import NotificationQueue, PostMessage, ReportFailure, split_sections

__all__ = [
    "NotificationQueue",
    "PostMessage",
    "ReportFailure",
    "channel_mention",
    "notice_line",
    "parse_channel_ref",
    "split_sections",
]
