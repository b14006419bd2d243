from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot.blocks.cards import CardRef
from bot.blocks.ids import CardAction
from bot.blocks.results import MAX_PAGE_SIZE, PageState, build_results
from bot.learned_names import SiteNames
from bot.names import NameBook
from bot.pmp.links import RecordKind
from bot.pmp.models import Customer, Lead, Milestone, PmpRecord, Project, Ticket
from tests.blocks.helpers import (
    BASE_URL,
    LONG,
    NASTY,
    SITE_ROOT,
    buttons_of,
    check_message,
    customer_wire,
    fill,
    lead_wire,
    milestone_wire,
    project_wire,
    ticket_wire,
)


def customers(count: int, **overrides: Any) -> list[Customer]:
    return [
        Customer.from_wire(customer_wire(userid=str(n), company=f"Acme {n}", **overrides))
        for n in range(1, count + 1)
    ]


def rows_of(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for b in blocks if b.get("accessory", {}).get("action_id") == CardAction.SHOW]


def test_first_page_has_a_count_five_rows_and_next() -> None:
    message = build_results("customer", customers(12), base_url=BASE_URL, query="acme")
    blocks = check_message(message)
    assert blocks[0]["text"]["text"] == "12 customers match “acme”"
    assert message.text == "12 customers match “acme”"
    rows = rows_of(blocks)
    assert len(rows) == 5
    assert rows[0]["text"]["text"] == (
        f":office: *<{SITE_ROOT}/admin/clients/client/1|Acme 1>*\n"
        "London, United Kingdom · +44 210 7298299"
    )
    assert CardRef.parse(rows[0]["accessory"]["value"]) == CardRef("customer", 1)
    assert rows[0]["accessory"]["text"]["text"] == "Show"
    assert blocks[-2]["elements"][0]["text"] == "Page 1 of 3 · 1-5 of 12"
    buttons = buttons_of(blocks)
    assert CardAction.RESULTS_PREVIOUS not in buttons
    assert PageState.parse(buttons[CardAction.RESULTS_NEXT]["value"]) == PageState(
        kind="customer", page=2, query="acme"
    )


def test_middle_and_last_pages() -> None:
    records = customers(12)
    middle = check_message(
        build_results("customer", records, base_url=BASE_URL, query="a", page=2, cache_key="k1")
    )
    buttons = buttons_of(middle)
    assert PageState.parse(buttons[CardAction.RESULTS_PREVIOUS]["value"]).page == 1
    next_state = PageState.parse(buttons[CardAction.RESULTS_NEXT]["value"])
    assert (next_state.page, next_state.cache_key, next_state.query) == (3, "k1", "a")
    assert [r["accessory"]["value"] for r in rows_of(middle)] == [
        f"customer:{n}" for n in range(6, 11)
    ]

    last = check_message(build_results("customer", records, base_url=BASE_URL, query="a", page=3))
    assert len(rows_of(last)) == 2
    assert set(buttons_of(last)) - {CardAction.SHOW} == {CardAction.RESULTS_PREVIOUS}
    assert last[-2]["elements"][0]["text"] == "Page 3 of 3 · 11-12 of 12"


def test_pages_out_of_range_are_clamped() -> None:
    records = customers(12)
    assert (
        build_results("customer", records, base_url=BASE_URL, page=99)
        .blocks[1]
        .to_dict()["accessory"]["value"]
        == "customer:11"
    )
    assert (
        build_results("customer", records, base_url=BASE_URL, page=-4)
        .blocks[1]
        .to_dict()["accessory"]["value"]
        == "customer:1"
    )


def test_one_page_has_no_page_buttons() -> None:
    blocks = check_message(build_results("customer", customers(1), base_url=BASE_URL, query="x"))
    assert blocks[0]["text"]["text"] == "1 customer matches “x”"
    assert [b["type"] for b in blocks] == ["section", "section"]


def test_no_results_is_friendly_with_a_hint() -> None:
    message = build_results("customer", [], base_url=BASE_URL, query="<!channel>")
    blocks = check_message(message)
    assert message.text == "No customers match “&lt;!channel&gt;”"
    assert blocks[0]["text"]["text"] == ":mag: No customers match “&lt;!channel&gt;”."
    assert "primary contact" in blocks[1]["elements"][0]["text"]
    assert not buttons_of(blocks)


@pytest.mark.parametrize("kind", ["customer", "lead", "project", "milestone", "ticket"])
def test_no_results_for_every_kind_with_and_without_query(kind: RecordKind) -> None:
    for query, scope in ((None, None), ("", None), ("zz", None), (None, "Website")):
        blocks = check_message(build_results(kind, [], base_url=BASE_URL, query=query, scope=scope))
        assert blocks[0]["text"]["text"].startswith(":mag: No ")


def test_scope_listing() -> None:
    milestones = [Milestone.from_wire(milestone_wire(id=str(n))) for n in (1, 2, 3)]
    message = build_results(
        "milestone",
        milestones,
        base_url=BASE_URL,
        scope="Website <redesign>",
        project_names={12: "Website redesign"},
    )
    blocks = check_message(message)
    assert blocks[0]["text"]["text"] == "3 milestones in *Website &lt;redesign&gt;*"
    assert message.text == "3 milestones in Website &lt;redesign&gt;"
    assert rows_of(blocks)[0]["text"]["text"].endswith(
        "\nWebsite redesign · due 30 Sep 2019 · 3 of 5 tasks finished"
    )
    assert rows_of(blocks)[0]["accessory"]["value"] == "milestone:1:12"


def test_summaries_of_every_kind(workspace_names: Any) -> None:
    lead = Lead.from_wire(lead_wire())
    project = Project.from_wire(project_wire())
    ticket = Ticket.from_wire(ticket_wire())
    cases: list[tuple[RecordKind, PmpRecord, str]] = [
        ("lead", lead, "Lead Co · Customer · Facebook"),
        ("project", project, "Sample · In Progress · deadline 30 Sep 2019 · 40%"),
        ("ticket", ticket, "#42 · New · Medium · Support · last reply 11 Apr 2019 09:30"),
    ]
    for kind, record, summary in cases:
        blocks = check_message(
            build_results(
                kind,
                [record],
                base_url=BASE_URL,
                names=workspace_names,
                customer_names={3: "Sample"},
            )
        )
        assert rows_of(blocks)[0]["text"]["text"].split("\n")[1] == summary


FACTORIES: list[
    tuple[
        RecordKind,
        Callable[[dict[str, Any]], PmpRecord],
        Callable[..., dict[str, Any]],
        tuple[str, ...],
    ]
] = [
    ("customer", Customer.from_wire, customer_wire, ("userid",)),
    ("lead", Lead.from_wire, lead_wire, ("id",)),
    ("project", Project.from_wire, project_wire, ("id",)),
    ("milestone", Milestone.from_wire, milestone_wire, ("id", "project_id")),
    ("ticket", Ticket.from_wire, ticket_wire, ("ticketid",)),
]


@pytest.mark.parametrize(
    ("kind", "make", "factory", "keep"), FACTORIES, ids=[f[0] for f in FACTORIES]
)
@pytest.mark.parametrize(
    "filler", [NASTY, LONG, None, "", " \n "], ids=["nasty", "long", "nulls", "empty", "spaces"]
)
def test_rows_of_every_kind_are_safe_whatever_the_data(
    kind: RecordKind,
    make: Callable[[dict[str, Any]], PmpRecord],
    factory: Callable[..., dict[str, Any]],
    keep: tuple[str, ...],
    filler: str | None,
) -> None:
    records = [make(fill(factory(), filler, keep)) for _ in range(7)]
    message = build_results(
        kind,
        records,
        base_url=BASE_URL,
        query=filler or LONG,
        scope=filler,
        customer_names={3: LONG},
        project_names={12: NASTY},
    )
    blocks = check_message(message)
    assert len(rows_of(blocks)) == 5
    if filler == LONG:
        for row in rows_of(blocks):
            title = row["text"]["text"].split("\n")[0]
            assert title.endswith("…>*")


def test_ticket_rows_leave_out_departments_known_only_by_id() -> None:
    ticket = Ticket.from_wire(ticket_wire(department="9", lastreply=None))
    blocks = check_message(build_results("ticket", [ticket], base_url=BASE_URL))
    assert rows_of(blocks)[0]["text"]["text"].split("\n")[1] == "#42 · Open · Medium"


def test_ten_thousand_results_with_huge_names_respect_every_limit() -> None:
    records = [
        Customer.from_wire(customer_wire(userid=str(n), company="x" * 5000, city=LONG))
        for n in range(1, 10_001)
    ]
    query = "q" * 10_000
    for page in (1, 2, 1999, 2000, 2001):
        message = build_results("customer", records, base_url=BASE_URL, query=query, page=page)
        blocks = check_message(message)
        assert len(rows_of(blocks)) == 5
        for row in rows_of(blocks):
            assert len(row["text"]["text"]) <= 3000
        for button in buttons_of(blocks).values():
            assert len(button["value"]) <= 2000
    assert blocks[-2]["elements"][0]["text"] == "Page 2,000 of 2,000 · 9,996-10,000 of 10,000"
    assert blocks[0]["text"]["text"].startswith("10,000 customers match “qqq")
    assert blocks[0]["text"]["text"].endswith("…”")


@pytest.mark.parametrize("page_size", [0, 1, 5, 20, 1000])
def test_page_size_is_clamped_to_fit_a_message(page_size: int) -> None:
    blocks = check_message(
        build_results("customer", customers(200), base_url=BASE_URL, page_size=page_size)
    )
    assert len(rows_of(blocks)) == min(max(page_size, 1), MAX_PAGE_SIZE)
    state = PageState.parse(buttons_of(blocks)[CardAction.RESULTS_NEXT]["value"])
    assert state.page_size == min(max(page_size, 1), MAX_PAGE_SIZE)


def test_page_state_round_trips_and_cuts_a_huge_query() -> None:
    state = PageState(kind="ticket", page=3, query='“ünï” "quoted" \\ \x00' * 1000, cache_key="abc")
    value = state.to_value()
    assert len(value) <= 2000
    parsed = PageState.parse(value)
    assert (parsed.kind, parsed.page, parsed.cache_key) == ("ticket", 3, "abc")
    assert parsed.query is not None and state.query is not None
    assert state.query.startswith(parsed.query)
    small = PageState(kind="lead", page=1, query="acme")
    assert PageState.parse(small.to_value()) == small


def test_a_cache_key_too_long_for_a_button_is_refused() -> None:
    with pytest.raises(ValueError):
        PageState(kind="lead", page=1, cache_key="k" * 2000).to_value()


@pytest.mark.parametrize(
    "value",
    [
        "",
        "[]",
        "{}",
        '{"k":"invoice","p":1}',
        '{"k":"lead","p":0}',
        '{"k":"lead","p":true}',
        '{"k":"lead","p":"2"}',
        '{"k":"lead","p":1,"q":5}',
        '{"k":"lead","p":1,"n":-1}',
        "nope",
    ],
)
def test_page_state_rejects_what_is_not_ours(value: str) -> None:
    with pytest.raises(ValueError):
        PageState.parse(value)


# --- rows people can read: names instead of numbers, and where a search matched


def _summary_lines(message: Any) -> list[list[str]]:
    """Each row's lines after its title."""
    return [row["text"]["text"].split("\n")[1:] for row in rows_of(check_message(message))]


def test_lead_rows_name_status_source_and_assignee_when_known() -> None:
    lead = Lead.from_wire(lead_wire(company="Rio Digital", status="5", source="5", assigned="4"))
    unnamed = build_results("lead", [lead], base_url=BASE_URL)
    assert _summary_lines(unnamed) == [["Rio Digital · status #5 · source #5"]]

    learned = SiteNames(
        lead_statuses={5: "Negotiation"}, lead_sources={5: "Referral"}, staff={4: "Sam Lee"}
    )
    named = build_results("lead", [lead], base_url=BASE_URL, names=learned.over(NameBook()))
    assert _summary_lines(named) == [["Rio Digital · Negotiation · Referral · assigned to Sam Lee"]]


def test_a_workspaces_own_names_win_over_learned_ones() -> None:
    book = NameBook(lead_statuses={5: "Hot"})
    merged = SiteNames(lead_statuses={5: "Negotiation", 6: "Won"}).over(book)
    assert merged.lead_statuses == {5: "Hot", 6: "Won"}


def test_a_row_found_by_a_field_it_does_not_show_says_which() -> None:
    lead = Lead.from_wire(lead_wire(name="Ana Souza", company="Rio Digital", city="São Paulo"))
    message = build_results("lead", [lead], base_url=BASE_URL, query="sao paulo")
    assert _summary_lines(message)[0][-1] == "Found in city: São Paulo"


def test_a_row_showing_what_matched_adds_nothing() -> None:
    lead = Lead.from_wire(lead_wire(name="Ana Souza", company="Rio Digital", city="Rio"))
    for query in ("ana", "DIGITAL", "souza"):
        lines = _summary_lines(build_results("lead", [lead], base_url=BASE_URL, query=query))
        assert not any(line.startswith("Found in") for line in lines[0]), query


def test_a_long_text_that_matched_is_shown_around_the_match() -> None:
    message = "<p>" + "Lorem ipsum dolor sit amet. " * 20 + "The toner &amp; drum are out.</p>"
    ticket = Ticket.from_wire(ticket_wire(subject="Printer", message=message))
    lines = _summary_lines(build_results("ticket", [ticket], base_url=BASE_URL, query="drum"))
    found = lines[0][-1]
    assert found.startswith("Found in message: …")
    assert "toner &amp; drum are out." in found  # PMP's HTML read, then escaped for Slack
    assert "<p>" not in found and len(found) < 200


def test_a_customer_found_by_its_contact_says_so() -> None:
    customer = Customer.from_wire(customer_wire(company="Sample Company LTD"))
    lines = _summary_lines(build_results("customer", [customer], base_url=BASE_URL, query="jane"))
    assert lines[0][-1] == "Found in a contact's name or email"


def test_a_tag_search_adds_no_found_in_line() -> None:
    customer = Customer.from_wire(customer_wire(company="Sample Company LTD"))
    lines = _summary_lines(build_results("customer", [customer], base_url=BASE_URL, query="#vip"))
    assert not any(line.startswith("Found in") for line in lines[0])


def test_milestones_of_the_same_name_show_their_projects() -> None:
    launches = [
        Milestone.from_wire(milestone_wire(id="1", name="Launch", project_id="12")),
        Milestone.from_wire(milestone_wire(id="2", name="Launch", project_id="13")),
        Milestone.from_wire(milestone_wire(id="3", name="Launch", project_id="14")),
    ]
    message = build_results(
        "milestone",
        launches,
        base_url=BASE_URL,
        query="launch",
        project_names={12: "Website redesign", 13: "Onboarding <Portal>"},
    )
    projects = [lines[0].split(" · ")[0] for lines in _summary_lines(message)]
    assert projects == ["Website redesign", "Onboarding &lt;Portal&gt;", "project #14"]
