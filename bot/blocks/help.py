"""Block Kit for `/pmp help`."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.slack.ids import SLASH_COMMAND
from bot.slack.text import safe


@dataclass(frozen=True)
class HelpEntry:
    usage: str
    summary: str
    admin_only: bool = False


def build_help(
    entries: list[HelpEntry], *, unknown: str | None = None, suggestion: str | None = None
) -> list[Block]:
    blocks: list[Block] = []
    if unknown is not None:
        hint = f" Did you mean `{SLASH_COMMAND} {suggestion}`?" if suggestion else ""
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=f"I don't know `{safe(unknown, 60)}`.{hint} Here's what I can do:"
                )
            )
        )
    lines = []
    for entry in entries:
        admin = " _(admins)_" if entry.admin_only else ""
        lines.append(f"`{SLASH_COMMAND} {entry.usage}` {entry.summary}{admin}")
    blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(lines))))
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(text="Replies are only visible to you unless you share them.")
            ]
        )
    )
    return blocks
