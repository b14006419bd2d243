"""Block Kit for the App Home tab."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.blocks.connect import ConnectionStatus, host_of
from bot.blocks.help import HelpEntry
from bot.slack.ids import SLASH_COMMAND
from bot.slack.text import safe


def build_home(status: ConnectionStatus, *, is_admin: bool, commands: list[HelpEntry]) -> View:
    blocks: list[Block] = [HeaderBlock(text="PMP in Slack")]
    if status.connected and status.pmp_url:
        lines = [":large_green_circle: This workspace is connected to PMP."]
        if is_admin:
            lines[0] = f":large_green_circle: Connected to PMP at *{safe(status.pmp_url, 500)}*."
            if status.last_success_at:
                epoch = int(status.last_success_at.timestamp())
                lines.append(
                    f"Last successful PMP call: <!date^{epoch}^{{date_short_pretty}} at {{time}}|"
                    f"{status.last_success_at:%Y-%m-%d %H:%M} UTC>"
                )
        if status.notify_channel_id:
            lines.append(f"Changes and lookups are posted to <#{status.notify_channel_id}>.")
        blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(lines))))
    else:
        hint = (
            f"Run `{SLASH_COMMAND} connect` to connect it."
            if is_admin
            else "A workspace admin can connect it with `/pmp connect`."
        )
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=f":white_circle: This workspace isn't connected to PMP yet. {hint}"
                )
            )
        )
    blocks.append(DividerBlock())
    lines = [
        f"`{SLASH_COMMAND} {entry.usage}` {entry.summary}"
        for entry in commands
        if is_admin or not entry.admin_only
    ]
    blocks.append(SectionBlock(text=MarkdownTextObject(text="*Commands*\n" + "\n".join(lines))))
    if status.pmp_url and not is_admin:
        blocks.append(
            ContextBlock(
                elements=[MarkdownTextObject(text=f"PMP: {safe(host_of(status.pmp_url), 200)}")]
            )
        )
    return View(type="home", blocks=blocks)
