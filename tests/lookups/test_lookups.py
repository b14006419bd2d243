"""The lookups behind result pages: names for the ids search rows carry, found alongside."""

from __future__ import annotations

import json
from typing import Any

import httpx

from bot.lookups import Lookups
from bot.pmp import PmpClient
from bot.result_cache import ResultCache
from tests.blocks.helpers import lead_wire, milestone_wire, project_wire

ROOT = "https://crm.example.com"


def answer(body: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body).encode())


def client(routes: dict[str, httpx.Response]) -> tuple[PmpClient, list[str]]:
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return routes.get(request.url.path, answer({"status": False}, 404))

    pmp = PmpClient(base_url=ROOT, token="t", transport=httpx.MockTransport(handle), max_retries=0)
    return pmp, seen


async def test_a_lead_search_reads_a_lead_to_name_statuses_and_sources_once() -> None:
    rows = [lead_wire(id="9", status="5", source="3"), lead_wire(id="10", status="5", source="3")]
    named = lead_wire(id="9", status="5", source="3", status_name="Won", source_name="Fair")
    pmp, seen = client(
        {
            "/api/leads/search/acme": answer(rows),
            "/api/leads/search/lead": answer(rows),
            "/api/leads/9": answer(named),
        }
    )
    lookups = Lookups(ResultCache())
    async with pmp:
        listing = await lookups.search(pmp, "T1", "lead", "acme")
        assert listing.names.lead_statuses == {5: "Won"}
        assert listing.names.lead_sources == {3: "Fair"}
        assert seen.count("/api/leads/9") == 1 and "/api/leads/10" not in seen
        await lookups.search(pmp, "T1", "lead", "lead")  # names known: nothing more to read
        assert seen.count("/api/leads/9") == 1


async def test_a_lead_that_cannot_be_read_leaves_the_search_whole() -> None:
    pmp, _ = client(
        {
            "/api/leads/search/acme": answer([lead_wire(id="9", status="5")]),
            "/api/leads/9": answer({"error": "boom"}, 500),
        }
    )
    async with pmp:
        listing = await Lookups(ResultCache()).search(pmp, "T1", "lead", "acme")
    assert [record.id for record in listing.records] == [9]
    assert listing.names.lead_statuses == {}


async def test_a_milestone_search_names_the_projects_and_keeps_them_for_paging() -> None:
    milestones = [milestone_wire(id="1", project_id="12"), milestone_wire(id="2", project_id="13")]
    projects = [
        project_wire(id="12", name="Web"),
        project_wire(id="13", name="Shop"),
        project_wire(id="99", name="Other"),
    ]
    pmp, seen = client(
        {"/api/milestones/search/launch": answer(milestones), "/api/projects": answer(projects)}
    )
    lookups = Lookups(ResultCache())
    async with pmp:
        listing = await lookups.search(pmp, "T1", "milestone", "launch")
        assert listing.project_names == {12: "Web", 13: "Shop"}
        again = await lookups.search(pmp, "T1", "milestone", "launch")
    assert again.project_names == {12: "Web", 13: "Shop"}
    assert seen.count("/api/projects") == 1


async def test_milestones_are_shown_even_when_projects_cannot_be_listed() -> None:
    pmp, _ = client(
        {
            "/api/milestones/search/launch": answer([milestone_wire(id="1")]),
            "/api/projects": answer({"error": "boom"}, 500),
        }
    )
    async with pmp:
        listing = await Lookups(ResultCache()).search(pmp, "T1", "milestone", "launch")
    assert len(listing.records) == 1 and listing.project_names == {}
