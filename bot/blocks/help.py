"""Block Kit for `/pmp help`."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.grammar import SLASH_COMMAND
from bot.text import safe, truncate


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


# Room for the longest suggestion the grammar makes (MAX_SUGGESTION_CHARS) once escaped.
SUGGESTION_SHOWN_MAX = 300


def _did_you_mean(unknown: str, suggestion: str | None) -> str:
    """`I don't know `custmer`. Did you mean `/pmp customer acme`?`"""
    hint = (
        f" Did you mean `{SLASH_COMMAND} {safe(suggestion, SUGGESTION_SHOWN_MAX)}`?"
        if suggestion
        else ""
    )
    return f"I don't know `{safe(unknown, 60)}`.{hint}"


def build_unknown_command(unknown: str, suggestion: str | None = None) -> list[Block]:
    """A command pmp-bot doesn't understand: what it probably meant, with the user's words,
    and where the full list is, in one short message rather than the whole help."""
    more = f"`{SLASH_COMMAND} help` shows everything I can do."
    text = f"{_did_you_mean(unknown, suggestion)} {more}"
    return [SectionBlock(text=MarkdownTextObject(text=text))]


def build_help(
    sections: list[HelpSection], *, unknown: str | None = None, suggestion: str | None = None
) -> list[Block]:
    blocks: list[Block] = []
    if unknown is not None:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=f"{_did_you_mean(unknown, suggestion)} Here's what I can do:"
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
