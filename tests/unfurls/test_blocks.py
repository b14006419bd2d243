"""Link previews' blocks (bot.blocks.unfurls): each record's compact card, escaped and within
Slack's limits, without controls; a milestones tab as its project's milestones."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.blocks.settings_form import (
    POLL_INTERVAL_MAX_S,
    POLL_INTERVAL_MIN_S,
    UNFURL_MODE_CHOICES,
)
from bot.blocks.unfurls import MILESTONES_SHOWN, PagePreview, build_compact_card, build_unfurls
from bot.console.blockkit import message_problems
from bot.lookups import Listing, RecordDetails
from bot.names import NameBook
from bot.pmp.links import PageLink
from bot.pmp.models import Customer, Lead, Milestone, Project, Ticket
from bot.storage.workspaces import (
    MAX_POLL_INTERVAL_SECONDS,
    MIN_POLL_INTERVAL_SECONDS,
    UNFURL_MODES,
)
from bot.unfurls import Fetched
from tests.blocks.helpers import (
    NASTY,
    RAW_MARKERS,
    SITE_ROOT,
    customer_wire,
    lead_wire,
    milestone_wire,
    project_wire,
    ticket_wire,
)

RECORDS: list[tuple[str, Any]] = [
    ("customer", Customer.from_wire(customer_wire(company=NASTY))),
    ("lead", Lead.from_wire(lead_wire(name=NASTY))),
    ("project", Project.from_wire(project_wire(name=NASTY))),
    ("ticket", Ticket.from_wire(ticket_wire(subject=NASTY))),
]


def blocks_of(preview: PagePreview) -> list[dict[str, Any]]:
    blocks = [
        b.to_dict() for b in build_compact_card(preview, base_url=SITE_ROOT, names=NameBook())
    ]
    assert message_problems({"blocks": blocks}) == []
    return blocks


@pytest.mark.parametrize(("kind", "record"), RECORDS)
def test_a_compact_card_is_the_card_without_controls_or_long_texts(kind: str, record: Any) -> None:
    blocks = blocks_of(PagePreview(RecordDetails(record)))
    types = [block["type"] for block in blocks]
    assert types[0] == "section" and types[-1] == "context"
    assert "actions" not in types and all("accessory" not in b for b in blocks)
    text = json.dumps(blocks)
    assert not any(marker in text for marker in RAW_MARKERS)
    assert "&lt;!channel&gt;" in text
    assert f"{kind.title()} #{record.id} in PMP at crm.example.com" in text
    # Descriptions and ticket messages stay on the full card.
    assert "*Description*" not in text and "*Message*" not in text


def milestones(count: int) -> Listing:
    records = [
        Milestone.from_wire(milestone_wire(id=str(n), name=f"Step {n}", project_id="12"))
        for n in range(1, count + 1)
    ]
    return Listing(kind="milestone", records=records, cache_key="k", scope="Website")


def test_a_milestones_tab_previews_its_projects_milestones() -> None:
    project = Project.from_wire(project_wire(id="12", name="Website <!here>"))
    blocks = blocks_of(PagePreview(RecordDetails(project), milestones(MILESTONES_SHOWN + 2)))
    text = json.dumps(blocks)
    assert "Milestones of Website &lt;!here&gt;" in text
    assert f"{SITE_ROOT}/admin/projects/view/12?group=project_milestones" in text
    assert "Step 1" in text and f"Step {MILESTONES_SHOWN}" in text
    assert f"Step {MILESTONES_SHOWN + 1}" not in text and "and 2 more" in text
    assert "due 30 Sep 2019" in text and "3 of 5 tasks done" in text
    empty = json.dumps(blocks_of(PagePreview(RecordDetails(project), milestones(0))))
    assert "No milestones yet." in empty


def test_unfurls_are_keyed_by_the_links_exactly_as_slack_sent_them() -> None:
    customer = Customer.from_wire(customer_wire())
    url = f"{SITE_ROOT}/admin/clients/client/{customer.id}?group=profile"
    fetched = [
        Fetched(url, PageLink("customer", customer.id), PagePreview(RecordDetails(customer)))
    ]
    unfurls = build_unfurls(fetched, base_url=SITE_ROOT, names=NameBook())
    assert list(unfurls) == [url]
    assert unfurls[url]["blocks"][0]["type"] == "section"


def test_the_settings_form_offers_what_storage_accepts() -> None:
    assert [choice.value for choice in UNFURL_MODE_CHOICES] == list(UNFURL_MODES)
    assert (POLL_INTERVAL_MIN_S, POLL_INTERVAL_MAX_S) == (
        MIN_POLL_INTERVAL_SECONDS,
        MAX_POLL_INTERVAL_SECONDS,
    )
