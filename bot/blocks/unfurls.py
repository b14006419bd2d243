"""Link previews (`chat.unfurl`): a record's compact card for each pasted PMP link.

A compact card is the record's card (bot.blocks.cards) without its long texts and without
controls: a preview sits under someone else's message, where Share, Refresh or Delete would
act for whoever presses them. A project's milestones tab previews as the project's
milestones, due dates first.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.blocks.cards import (
    KIND_EMOJI,
    build_details_card,
    format_date,
    id_text,
    one_line,
    record_link,
)
from bot.lookups import Listing, RecordDetails
from bot.names import NameBook
from bot.pmp.links import display_site, record_page
from bot.pmp.models import Milestone
from bot.text import safe
from bot.unfurls import Fetched

__all__ = ["MILESTONES_SHOWN", "PagePreview", "build_compact_card", "build_unfurls"]

# A milestones preview lists this many; the rest are counted.
MILESTONES_SHOWN = 8


@dataclass(frozen=True)
class PagePreview:
    """What a link's preview shows: the record, and for a milestones tab (the record is then
    the project) the project's milestones."""

    details: RecordDetails
    milestones: Listing | None = None


def build_compact_card(preview: PagePreview, *, base_url: str, names: NameBook) -> list[Block]:
    """The blocks of one link's preview."""
    if preview.milestones is not None:
        return _milestones_card(preview, base_url=base_url)
    card = build_details_card(preview.details, base_url=base_url, names=names)
    compact: list[Block] = []
    for block in card.blocks:
        if isinstance(block, SectionBlock) and block.fields:
            compact.append(SectionBlock(fields=block.fields))
        elif isinstance(block, SectionBlock) and not compact:
            compact.append(SectionBlock(text=block.text))  # the title, without its menu
        elif isinstance(block, ContextBlock):
            compact.append(block)
    return compact


def _milestone_line(milestone: Milestone) -> str:
    parts = [f"*{safe(one_line(milestone.display_name), 150)}*"]
    due = format_date(milestone.due_date)
    if due:
        parts.append(f"due {due}")
    if milestone.total_tasks:
        parts.append(f"{milestone.total_finished_tasks or 0} of {milestone.total_tasks} tasks done")
    return "• " + " · ".join(parts)


def _milestones_card(preview: PagePreview, *, base_url: str) -> list[Block]:
    project = preview.details.record
    listing = preview.milestones
    milestones = [m for m in (listing.records if listing else ()) if isinstance(m, Milestone)]
    # The tab the link opened: a milestone's page is its project's milestones tab.
    url = record_page(base_url, "milestone", project.id, project.id)
    name = safe(one_line(project.display_name) or f"Project {id_text(project.id)}", 200)
    lines = [f"{KIND_EMOJI['milestone']} {record_link(url, f'Milestones of {name}')}"]
    if not milestones:
        lines.append("No milestones yet.")
    lines += [_milestone_line(m) for m in milestones[:MILESTONES_SHOWN]]
    if len(milestones) > MILESTONES_SHOWN:
        lines.append(f"and {len(milestones) - MILESTONES_SHOWN} more")
    where = f"Project {id_text(project.id)}"
    with contextlib.suppress(ValueError):  # an unusable base URL names no site
        where += f" in PMP at {safe(display_site(base_url), 200)}"
    return [
        SectionBlock(text=MarkdownTextObject(text="\n".join(lines))),
        ContextBlock(elements=[MarkdownTextObject(text=where)]),
    ]


def build_unfurls(
    previews: Sequence[Fetched[PagePreview]], *, base_url: str, names: NameBook
) -> dict[str, dict[str, Any]]:
    """`chat.unfurl`'s `unfurls`: each link, exactly as Slack sent it, with its blocks."""
    return {
        preview.url: {
            "blocks": [
                block.to_dict()
                for block in build_compact_card(preview.record, base_url=base_url, names=names)
            ]
        }
        for preview in previews
    }
