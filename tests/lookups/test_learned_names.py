"""Names learned from PMP records (lead statuses and sources, staff), per PMP site."""

from __future__ import annotations

from bot.learned_names import MAX_NAMES_PER_KIND, LearnedNames
from bot.pmp.models import Lead, Ticket
from tests.blocks.helpers import lead_wire, ticket_wire

SITE = "https://crm.example.com"


def lead(**overrides: str | None) -> Lead:
    return Lead.from_wire(lead_wire(**overrides))


def test_leads_and_tickets_teach_their_names() -> None:
    learned = LearnedNames()
    learned.learn(
        SITE,
        [
            lead(status="5", status_name="Proposal Sent", source="3", source_name="R&amp;D fair"),
            Ticket.from_wire(ticket_wire(admin="4", staff_firstname="Sam", staff_lastname=" Lee ")),
        ],
    )
    names = learned.names(SITE)
    assert names.lead_statuses == {5: "Proposal Sent"}
    assert names.lead_sources == {3: "R&D fair"}
    assert names.staff == {4: "Sam Lee"}
    assert learned.names("https://other.example.com").lead_statuses == {}


def test_rows_without_names_or_with_bad_ids_teach_nothing() -> None:
    learned = LearnedNames()
    learned.learn(
        SITE,
        [
            lead(status="5"),  # a search row: the id only
            lead(status="0", status_name="None"),
            lead(status="x", status_name="Odd"),
            lead(status="6", status_name="   "),
        ],
    )
    assert learned.names(SITE).lead_statuses == {}


def test_a_site_keeps_a_bounded_number_of_names_and_sites() -> None:
    learned = LearnedNames(max_sites=2)
    many = [lead(status=str(n), status_name=f"S{n}") for n in range(1, MAX_NAMES_PER_KIND + 50)]
    learned.learn(SITE, many)
    assert len(learned.names(SITE).lead_statuses) == MAX_NAMES_PER_KIND
    for site in ("https://a", "https://b"):
        learned.learn(site, [lead(status="1", status_name="New")])
    assert learned.names(SITE).lead_statuses == {}  # the least recently used site went


def test_leads_to_read_cover_every_unnamed_status_and_source_with_few_reads() -> None:
    learned = LearnedNames()
    learned.learn(SITE, [lead(status="2", status_name="New", source="1", source_name="Google")])
    rows = [
        lead(id="10", status="2", source="1"),  # both named already
        lead(id="11", status="5", source="1"),  # status 5 unnamed
        lead(id="12", status="5", source="4"),  # source 4 unnamed
        lead(id="13", status="5", source="4"),  # nothing new
        lead(id="14", status="7", source="0"),  # status 7 unnamed; source 0 means none
    ]
    assert learned.leads_to_read(SITE, rows, most=5) == [11, 12, 14]
    assert learned.leads_to_read(SITE, rows, most=2) == [11, 12]
