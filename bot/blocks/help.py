"""Block Kit for `/pmp help`."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.slack.ids import SLASH_COMMAND
from bot.slack.text import safe, truncate


@dataclass(frozen=True)
class HelpEntry:
    usage: str
    summary: str
    admin_only: bool = False


@dataclass(frozen=True)
class HelpSection:
    title: str
    entries: list[HelpEntry]


def _lines(entries: list[HelpEntry]) -> str:
    lines = []
    for entry in entries:
        admin = " _(admins)_" if entry.admin_only else ""
        lines.append(f"`{SLASH_COMMAND} {entry.usage}` {entry.summary}{admin}")
    return "\n".join(lines)


def build_help(
    sections: list[HelpSection], *, unknown: str | None = None, suggestion: str | None = None
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
    for section in sections:
        if section.entries:
            text = f"*{section.title}*\n{_lines(section.entries)}"
            blocks.append(SectionBlock(text=MarkdownTextObject(text=truncate(text, 3000))))
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=(
                        "Replies are only visible to you unless you share them. "
                        f"`{SLASH_COMMAND} help ticket` shows one topic."
                    )
                )
            ]
        )
    )
    return blocks
