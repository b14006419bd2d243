"""Opening a ticket in the PMP sandbox and finding its id; a customer's contacts and projects;
names learned from PMP's tickets."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bot.learned_names import LearnedTicketNames
from bot.lookups import Lookups
from bot.names import Choice
from bot.pmp import PmpClient, PmpError
from bot.pmp.network import PRIVATE_ALLOWED
from bot.result_cache import ResultCache
from bot.sandbox import running_sandbox
from bot.sandbox.seed import DEPARTMENTS, TICKET_SERVICES, TICKET_STATUSES
from bot.tickets import OpenedTicket, TicketDraft, learn_from_pmp, load_customer_people, open_ticket


def draft(subject: str = "Printer jammed on floor 2", **changes: Any) -> TicketDraft:
    fields: dict[str, Any] = {
        "subject": subject,
        "customer_id": 1,
        "contact_id": 2,
        "department": 1,
        "priority": 3,
        "message": "It says PC LOAD LETTER.",
        "cc": "ops@acme.example",
        "tags": ("printer", "urgent"),
        **changes,
    }
    return TicketDraft(**fields)


def stored(sandbox: Any, ticket_id: int) -> dict[str, Any]:
    record = sandbox.store.ticket(str(ticket_id))
    assert record is not None, f"ticket {ticket_id} is not in the sandbox"
    return dict(record)


def ticket_count(sandbox: Any) -> int:
    return len(sandbox.store.tickets())


async def test_a_new_ticket_is_opened_and_its_id_found(pmp: PmpClient, sandbox: Any) -> None:
    before = ticket_count(sandbox)
    opened = await open_ticket(pmp, draft())
    assert ticket_count(sandbox) == before + 1
    assert opened.ticket_id is not None
    assert opened.url == f"{sandbox.base_url}/admin/tickets/ticket/{opened.ticket_id}"
    assert opened.note is None
    record = stored(sandbox, opened.ticket_id)
    assert record["subject"] == "Printer jammed on floor 2"
    assert (record["contactid"], record["userid"], record["department"]) == ("2", "1", "1")
    assert (record["priority"], record["status"], record["cc"]) == ("3", "1", "ops@acme.example")
    assert sandbox.store.tags("ticket", str(opened.ticket_id)) == ["printer", "urgent"]


async def test_an_identical_older_ticket_is_not_taken_for_the_new_one(pmp: PmpClient) -> None:
    first = await open_ticket(pmp, draft("Same subject twice"))
    second = await open_ticket(pmp, draft("Same subject twice"))
    assert first.ticket_id is not None and second.ticket_id is not None
    assert second.ticket_id > first.ticket_id


@pytest.mark.parametrize(
    "subject",
    [
        '#42 "quoted" & <odd> subject',  # PMP strips the tag; "#" would search tags
        "x <script>alert(1)</script> y",  # PMP saves entities for these
        "50% off / all printers",
        "Ünïcødé 日本語 printer",
    ],
)
async def test_subjects_pmp_mangles_or_searches_oddly_are_found(
    pmp: PmpClient, sandbox: Any, subject: str
) -> None:
    opened = await open_ticket(pmp, draft(subject))
    assert opened.ticket_id is not None
    assert stored(sandbox, opened.ticket_id)["contactid"] == "2"
    assert opened.ticket_id == max(int(t["ticketid"]) for t in sandbox.store.tickets())


async def test_a_ticket_pmp_hides_is_explained_not_pointed_at_a_failing_search(
    pmp: PmpClient, sandbox: Any
) -> None:
    before = ticket_count(sandbox)
    # PMP's search (and list) skip tickets of a department it doesn't have.
    opened = await open_ticket(pmp, draft("Ticket in a department PMP lacks", department=99))
    assert ticket_count(sandbox) == before + 1
    assert opened.ticket_id is None and opened.url is None
    assert opened.not_found == "not_listed"
    note = opened.note or ""
    assert "PMP hides tickets whose department doesn't exist" in note
    assert "department 99" in note
    assert "/pmp ticket" not in note  # that search finds nothing


async def test_an_unsearchable_subject_says_to_look_in_pmp(pmp: PmpClient, sandbox: Any) -> None:
    # Nothing left to search for once PMP's search drops the quotes.
    opened = await open_ticket(pmp, draft('""'))
    assert opened.ticket_id is None and opened.not_found == "unsearchable"
    assert "/pmp ticket" not in (opened.note or "")
    assert "ticket list" in (opened.note or "")


async def test_several_new_tickets_with_one_subject_are_searched_for() -> None:
    ticket = OpenedTicket("Printer jammed", None, None, department=1, not_found="several")
    assert "`/pmp ticket Printer jammed` lists them" in (ticket.note or "")


async def test_pmp_3_tells_the_new_id() -> None:
    with running_sandbox(api_version=3) as sandbox:
        async with PmpClient(
            base_url=sandbox.base_url, token=sandbox.token, address_policy=PRIVATE_ALLOWED
        ) as pmp:
            opened = await open_ticket(pmp, draft('""'))  # unsearchable, yet known
        newest = max(int(t["ticketid"]) for t in sandbox.store.tickets())
    assert opened.ticket_id == newest


async def test_nothing_is_written_when_pmp_is_down(pmp: PmpClient, sandbox: Any) -> None:
    before = ticket_count(sandbox)
    sandbox.faults.html_500 = True
    with pytest.raises(PmpError):
        await open_ticket(pmp, draft())
    sandbox.faults.html_500 = False
    assert ticket_count(sandbox) == before


class FailingSearchesAfterCreate(httpx.AsyncBaseTransport):
    """The sandbox, except that ticket searches fail once a ticket has been created."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.created = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            self.created = True
        elif self.created and "/search/" in request.url.path:
            return httpx.Response(500, content=b"<html>down</html>")
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def test_a_failed_search_after_creating_still_reports_the_ticket(sandbox: Any) -> None:
    transport = FailingSearchesAfterCreate()
    before = ticket_count(sandbox)
    async with PmpClient(
        base_url=sandbox.base_url, token=sandbox.token, transport=transport, max_retries=0
    ) as pmp:
        opened = await open_ticket(pmp, draft())
    assert transport.created
    assert ticket_count(sandbox) == before + 1
    assert opened.ticket_id is None and opened.note is not None


async def test_a_customers_contacts_and_projects_are_listed(pmp: PmpClient, sandbox: Any) -> None:
    people = await load_customer_people(pmp, 1)
    assert people.customer == Choice("1", "Acme Corporation")
    contact_rows = sandbox.store.customer_contacts("1")
    primary = next(row for row in contact_rows if row["is_primary"] == "1")
    assert people.primary_contact == str(primary["id"])
    assert people.contacts[0].value == str(primary["id"])
    assert {c.value for c in people.contacts} == {str(row["id"]) for row in contact_rows}
    assert all(" · " in c.label for c in people.contacts)  # name · email
    acme_projects = [p for p in sandbox.store.projects() if str(p["clientid"]) == "1"]
    assert [int(c.value) for c in people.projects] == sorted(
        (int(p["id"]) for p in acme_projects), reverse=True
    )

    # A customer chosen in the form keeps the label the typeahead showed.
    again = await load_customer_people(pmp, Choice("1", "Acme (as shown)"))
    assert again.customer.label == "Acme (as shown)"
    assert again.contacts == people.contacts


async def test_names_are_learned_from_pmps_tickets(pmp: PmpClient, sandbox: Any) -> None:
    learned = LearnedTicketNames()
    assert await learn_from_pmp(pmp, learned, timeout_s=10) is None
    names = learned.names(pmp.base_url)
    assert names.departments and dict(names.departments).items() <= DEPARTMENTS.items()
    assert names.services and dict(names.services).items() <= TICKET_SERVICES.items()
    assert names.statuses and dict(names.statuses).items() <= TICKET_STATUSES.items()

    sandbox.faults.latency = 1.0
    assert await learn_from_pmp(pmp, LearnedTicketNames(), timeout_s=0.2) == (
        "PMP took too long to list its tickets."
    )
    sandbox.faults.latency = 0
    sandbox.faults.html_500 = True
    problem = await learn_from_pmp(pmp, LearnedTicketNames(), timeout_s=10)
    assert problem is not None and "HTTP 500" in problem


async def test_lookups_learn_names_from_the_tickets_they_show(pmp: PmpClient) -> None:
    lookups = Lookups(ResultCache())
    await lookups.search(pmp, "T1", "ticket", "printer")  # search rows carry no names
    await lookups.details(pmp, "ticket", 1)
    names = lookups.ticket_names.names(pmp.base_url)
    one = await pmp.tickets.get(1)
    assert names.departments.get(one.department or 0) == one.department_name
    assert names.statuses.get(one.status or 0) == one.status_name
