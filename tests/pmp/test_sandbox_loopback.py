"""The client against the PMP sandbox over real HTTP on 127.0.0.1: every operation of every
resource, the wire rules end to end, faults, and the 3.x extras."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from bot.pmp import (
    PmpAuthError,
    PmpClient,
    PmpConnectionError,
    PmpNotFoundError,
    PmpTimeoutError,
    PmpUnexpectedResponseError,
    PmpUnsafeUpdateError,
    PmpValidationError,
    PmpWriteFailedError,
    TicketPriority,
    TicketStatus,
)
from bot.pmp.network import PRIVATE_ALLOWED
from bot.sandbox import DEMO_FACTS, RunningSandbox, running_sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox(seed=True) as running:
        yield running


@pytest.fixture(scope="module")
def sandbox_v3() -> Iterator[RunningSandbox]:
    with running_sandbox(seed=True, api_version=3) as running:
        yield running


class Sleeps(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def pmp(sandbox: RunningSandbox, sleeps: Sleeps) -> AsyncIterator[PmpClient]:
    sandbox.store.reset()
    sandbox.faults.clear()
    async with PmpClient(
        address_policy=PRIVATE_ALLOWED, base_url=sandbox.base_url, token=sandbox.token, sleep=sleeps
    ) as client:
        yield client
    sandbox.faults.clear()


@pytest.fixture
async def pmp_v3(sandbox_v3: RunningSandbox) -> AsyncIterator[PmpClient]:
    sandbox_v3.store.reset()
    async with PmpClient(
        address_policy=PRIVATE_ALLOWED, base_url=sandbox_v3.base_url, token=sandbox_v3.token
    ) as client:
        yield client


# --- customers ------------------------------------------------------------------------------


async def test_customers_list_get_search(pmp: PmpClient) -> None:
    customers = await pmp.customers.list()
    assert len(customers) == DEMO_FACTS.customer_count
    acme = await pmp.customers.get(DEMO_FACTS.acme_customer_id)
    assert acme.company == "Acme Corporation"
    assert acme.active is True
    found = await pmp.customers.search("acme")
    assert DEMO_FACTS.acme_customer_id in [c.id for c in found]
    assert await pmp.customers.search("no customer is called this") == []


async def test_customer_search_hides_inactive_customers(pmp: PmpClient) -> None:
    inactive_id = DEMO_FACTS.inactive_customer_ids[0]
    inactive = await pmp.customers.get(inactive_id)
    assert inactive.active is False
    assert inactive.company
    assert inactive_id not in [c.id for c in await pmp.customers.search(inactive.company)]


async def test_customer_create_update_delete(pmp: PmpClient) -> None:
    created = await pmp.customers.create(
        company="Loopback Ltd", phonenumber="+1 555", country=236, groups_in=[1, 4]
    )
    assert created is None  # 2.0.8 sends no id
    [customer] = await pmp.customers.search("Loopback Ltd")
    assert customer.phonenumber == "+1 555"
    assert customer.country == 236
    assert await pmp.customers.update(customer.id, city="Leeds") is True
    updated = await pmp.customers.get(customer.id)
    assert updated.city == "Leeds"
    assert updated.phonenumber == "+1 555"  # the update kept the other fields
    assert updated.country == 236
    assert await pmp.customers.update(customer.id, city="Leeds") is False
    await pmp.customers.delete(customer.id)
    with pytest.raises(PmpNotFoundError):
        await pmp.customers.get(customer.id)


async def test_customer_update_keeps_groups_only_when_passed(
    pmp: PmpClient, sandbox: RunningSandbox
) -> None:
    await pmp.customers.create(company="Grouped Ltd", groups_in=[1, 4])
    [customer] = await pmp.customers.search("Grouped Ltd")
    key = str(customer.id)
    assert sandbox.store.customer_groups(key) == ["1", "4"]
    await pmp.customers.update(customer.id, city="York", groups_in=[1, 4])
    assert sandbox.store.customer_groups(key) == ["1", "4"]
    await pmp.customers.update(customer.id, city="Hull")
    assert sandbox.store.customer_groups(key) == []  # why reset_by_update names groups_in


async def test_customer_validation_and_refused_delete(pmp: PmpClient) -> None:
    with pytest.raises(PmpValidationError) as invalid:
        await pmp.customers.create(company="   ")
    assert invalid.value.errors == {"company": "The Company field is required."}
    with pytest.raises(PmpWriteFailedError) as refused:
        await pmp.customers.delete(DEMO_FACTS.acme_customer_id)
    assert "invoices" in refused.value.user_message
    with pytest.raises(PmpNotFoundError):
        await pmp.customers.get(99999)


# --- contacts -------------------------------------------------------------------------------


async def test_contacts_list_get_search(pmp: PmpClient) -> None:
    contacts = await pmp.contacts.list(DEMO_FACTS.acme_customer_id)
    assert contacts
    assert all(c.customer_id == DEMO_FACTS.acme_customer_id for c in contacts)
    first = contacts[0]
    assert first.is_primary is True
    assert "password" not in first.raw
    fetched = await pmp.contacts.get(DEMO_FACTS.acme_customer_id, first.id)
    assert fetched.id == first.id
    assert fetched.email == first.email
    assert first.email
    found = await pmp.contacts.search(first.email)
    assert first.id in [c.id for c in found]
    assert await pmp.contacts.search("nobody-here-at-all") == []
    assert await pmp.contacts.list(99999) == []
    with pytest.raises(PmpNotFoundError):
        await pmp.contacts.get(DEMO_FACTS.acme_customer_id, 99999)


# --- leads ----------------------------------------------------------------------------------


async def test_leads_list_get_search(pmp: PmpClient) -> None:
    leads = await pmp.leads.list()
    assert len(leads) == DEMO_FACTS.lead_count
    lead = await pmp.leads.get(leads[0].id)
    assert lead.name == leads[0].name
    assert lead.status_name
    converted = await pmp.leads.get(DEMO_FACTS.converted_lead_ids[0])
    assert converted.name
    hits = await pmp.leads.search(converted.name)
    assert converted.id not in [h.id for h in hits]  # search skips converted leads


async def test_lead_create_update_delete(pmp: PmpClient, sandbox: RunningSandbox) -> None:
    sandbox.store.delete_files("leads", "1")  # nothing a lead update could delete
    await pmp.leads.create(
        name="Loopback Lead",
        source=1,
        status=2,
        assigned=2,
        email="lead@loop.example",
        is_public=True,
        description="first line\nsecond line",
        tags=["hot", "web"],
    )
    [lead] = await pmp.leads.search("Loopback Lead")
    assert lead.is_public is True
    assert lead.email == "lead@loop.example"
    assert await pmp.leads.update(lead.id, status=3, is_public=False) is True
    updated = await pmp.leads.get(lead.id)
    assert updated.status == 3
    assert updated.is_public is False
    assert updated.email == "lead@loop.example"
    assert updated.description == lead.description  # no extra <br /> from the round trip
    assert await pmp.leads.update(lead.id, status=3) is False
    await pmp.leads.delete(lead.id)
    with pytest.raises(PmpNotFoundError):
        await pmp.leads.get(lead.id)


async def test_lead_create_requires_its_fields(pmp: PmpClient) -> None:
    with pytest.raises(PmpValidationError) as invalid:
        await pmp.leads.create(name="No assignee", source=1, status=1)
    assert set(invalid.value.errors) == {"assigned"}


# --- projects and milestones ----------------------------------------------------------------


async def test_projects_list_get_search(pmp: PmpClient) -> None:
    projects = await pmp.projects.list()
    assert len(projects) == DEMO_FACTS.project_count
    project = await pmp.projects.get(projects[0].id)
    assert project.name == projects[0].name
    assert project.start_date is not None
    first_word = (project.name or "").split()[0]
    assert project.id in [p.id for p in await pmp.projects.search(first_word)]


async def test_project_create_update_delete(pmp: PmpClient) -> None:
    await pmp.projects.create(
        name="Loopback Project",
        clientid=DEMO_FACTS.acme_customer_id,
        billing_type=1,
        start_date=date(2024, 6, 1),
        status=1,
        deadline="2024-09-30",
        project_cost=Decimal("1500.50"),
        progress_from_tasks=False,
    )
    [project] = await pmp.projects.search("Loopback Project")
    assert project.start_date == date(2024, 6, 1)
    assert project.deadline == date(2024, 9, 30)
    assert project.project_cost == Decimal("1500.50")
    assert project.progress_from_tasks is False
    # Project #1 exists and PMP can't tell whether it has files: only sent when allowed.
    with pytest.raises(PmpUnsafeUpdateError):
        await pmp.projects.update(project.id, status=2)
    assert await pmp.projects.update(project.id, status=2, allow_first_record_file_loss=True)
    updated = await pmp.projects.get(project.id)
    assert updated.status == 2
    assert updated.deadline == date(2024, 9, 30)  # kept: sent back as read
    assert updated.project_cost == Decimal("1500.50")
    assert updated.progress_from_tasks is False
    assert await pmp.projects.update(project.id, project_cost=1500.5, status="2") is False
    await pmp.projects.delete(project.id)
    with pytest.raises(PmpNotFoundError):
        await pmp.projects.get(project.id)


async def test_milestones_list_get_search(pmp: PmpClient) -> None:
    milestones = await pmp.milestones.list()
    assert milestones
    milestone = await pmp.milestones.get(milestones[0].id)  # one milestone: a one-item array
    assert milestone.id == milestones[0].id
    assert milestone.due_date is not None
    assert milestone.id in [m.id for m in await pmp.milestones.search(milestone.name or "")]


async def test_milestone_create_update_delete(pmp: PmpClient) -> None:
    projects = await pmp.projects.list()
    await pmp.milestones.create(
        project_id=projects[0].id,
        name="Loopback Milestone",
        due_date=date(2024, 7, 15),
        description="step one\nstep two",
        description_visible_to_customer=False,
    )
    [milestone] = await pmp.milestones.search("Loopback Milestone")
    assert milestone.due_date == date(2024, 7, 15)
    assert milestone.description_visible_to_customer is True  # PMP ignores it on create
    assert await pmp.milestones.update(milestone.id, description_visible_to_customer=False)
    hidden = await pmp.milestones.get(milestone.id)
    assert not hidden.description_visible_to_customer
    assert hidden.due_date == date(2024, 7, 15)
    assert hidden.description == milestone.description
    assert await pmp.milestones.update(milestone.id, due_date="2024-08-01") is True
    moved = await pmp.milestones.get(milestone.id)
    assert moved.due_date == date(2024, 8, 1)
    assert not moved.description_visible_to_customer
    assert moved.description == milestone.description
    await pmp.milestones.delete(milestone.id)
    with pytest.raises(PmpNotFoundError):
        await pmp.milestones.get(milestone.id)


# --- tickets --------------------------------------------------------------------------------


async def test_tickets_list_get_search(pmp: PmpClient) -> None:
    tickets = await pmp.tickets.list()
    assert len(tickets) == DEMO_FACTS.ticket_count
    ticket = await pmp.tickets.get(DEMO_FACTS.channel_ticket_id)
    assert ticket.id == DEMO_FACTS.channel_ticket_id
    assert "<!channel>" in (ticket.subject or "")
    assert ticket.department_name
    hits = await pmp.tickets.search("production outage")
    assert ticket.id in [t.id for t in hits]  # keyed by ticketid, not the contact's id


async def test_ticket_create_update_delete(pmp: PmpClient) -> None:
    contact = (await pmp.contacts.list(DEMO_FACTS.acme_customer_id))[0]
    await pmp.tickets.create(
        subject="Loopback ticket",
        department=1,
        contactid=contact.id,
        userid=DEMO_FACTS.acme_customer_id,
        priority=TicketPriority.HIGH,
        assigned=2,
        message="It broke.",
    )
    [ticket] = await pmp.tickets.search("Loopback ticket")
    assert ticket.status == TicketStatus.OPEN
    assert ticket.priority == TicketPriority.HIGH
    assert ticket.contactid == contact.id
    allowed = {"allow_first_record_file_loss": True}
    assert await pmp.tickets.update(ticket.id, status=TicketStatus.CLOSED, **allowed) is True
    closed = await pmp.tickets.get(ticket.id)  # 2.0.8: through the search
    assert closed.status == TicketStatus.CLOSED
    assert closed.priority == TicketPriority.HIGH  # kept: sent back as read
    assert closed.assigned == 2
    assert closed.customer_id == DEMO_FACTS.acme_customer_id
    assert await pmp.tickets.update(ticket.id, status=5, priority="3") is False
    await pmp.tickets.delete(ticket.id)
    with pytest.raises(PmpNotFoundError):
        await pmp.tickets.get(ticket.id)


async def test_ticket_create_requires_its_fields(pmp: PmpClient) -> None:
    with pytest.raises(PmpValidationError) as invalid:
        await pmp.tickets.create(subject="S", department=1, contactid="")
    assert set(invalid.value.errors) == {"contactid"}


# --- wire rules end to end ------------------------------------------------------------------


@pytest.mark.parametrize("term", ["a/b", "what?", "#1", "100%", "two words", "a+b", "é"])
async def test_awkward_search_terms_reach_pmp_as_one_term(pmp: PmpClient, term: str) -> None:
    company = "Odd a/b what? #1 100% two words a+b é Ltd"
    await pmp.customers.create(company=company)
    found = await pmp.customers.search(term)
    assert company in [c.company for c in found]


async def test_a_search_with_a_double_quote_still_works(pmp: PmpClient) -> None:
    found = await pmp.customers.search('"Acme"')
    assert DEMO_FACTS.acme_customer_id in [c.id for c in found]


async def test_every_update_sends_only_fields_pmp_knows(pmp: PmpClient) -> None:
    # The 2.0.8 sandbox answers an unknown PUT field with an HTML 500 page, as PMP does.
    allowed = {"allow_first_record_file_loss": True}
    ticket = (await pmp.tickets.list())[0]
    assert "department_name" in ticket.raw
    assert await pmp.tickets.update(ticket.id, subject="Renamed", **allowed) is True
    lead = (await pmp.leads.list())[0]
    assert "status_name" in lead.raw
    assert await pmp.leads.update(lead.id, city="Somewhere else", **allowed) is True
    customer = await pmp.customers.get(DEMO_FACTS.acme_customer_id)
    assert await pmp.customers.update(customer.id, vat="NEWVAT") is True


# --- connection checks and failures ---------------------------------------------------------


async def test_check_connection_passes_with_the_right_token(pmp: PmpClient) -> None:
    assert await pmp.check_connection() is None


@pytest.mark.parametrize("token", ["wrong", "a.b.c", "eyJhbGciOi.eyJ1c2VyIjoi.c2lnbmF0dXJl"])
async def test_check_connection_reports_a_refused_token(
    sandbox: RunningSandbox, token: str
) -> None:
    async with PmpClient(
        address_policy=PRIVATE_ALLOWED, base_url=sandbox.base_url, token=token
    ) as bad:
        with pytest.raises(PmpAuthError) as caught:
            await bad.check_connection()
    assert "/pmp connect" in caught.value.user_message


async def test_check_connection_reports_an_unreachable_site() -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    async with PmpClient(
        address_policy=PRIVATE_ALLOWED,
        base_url=f"http://127.0.0.1:{port}",
        token="t",
        max_retries=0,
    ) as pmp:
        with pytest.raises(PmpConnectionError) as caught:
            await pmp.check_connection()
    assert f"127.0.0.1:{port}" in caught.value.user_message


async def test_check_connection_reports_a_site_that_is_not_the_api(
    sandbox: RunningSandbox,
) -> None:
    async with PmpClient(
        address_policy=PRIVATE_ALLOWED, base_url=f"{sandbox.base_url}/wrong", token=sandbox.token
    ) as pmp:
        with pytest.raises(PmpUnexpectedResponseError) as caught:
            await pmp.check_connection()
    assert "web page" in caught.value.user_message


async def test_a_hanging_server_times_out(pmp: PmpClient, sandbox: RunningSandbox) -> None:
    sandbox.faults.hang = True
    with pytest.raises(PmpTimeoutError) as caught:
        await pmp.customers.get(1, timeout=0.3)
    assert caught.value.user_message == "PMP didn't answer within 0.3 s — try again in a minute."
    with pytest.raises(PmpTimeoutError):
        await pmp.check_connection(timeout=0.3)


async def test_html_500_pages_are_retried_then_reported(
    pmp: PmpClient, sandbox: RunningSandbox, sleeps: Sleeps
) -> None:
    sandbox.faults.html_500 = True
    with pytest.raises(PmpUnexpectedResponseError) as caught:
        await pmp.customers.list()
    assert caught.value.status_code == 500
    assert len(sleeps) == pmp.max_retries
    sleeps.clear()
    with pytest.raises(PmpUnexpectedResponseError):
        await pmp.customers.create(company="Never twice")
    assert sleeps == []


async def test_flaky_reads_succeed_through_retries(
    pmp: PmpClient, sandbox: RunningSandbox, sleeps: Sleeps
) -> None:
    sandbox.faults.error_rate = 0.3
    # Six retries make a read that still fails (0.3 ** 7) too rare to flake this test.
    async with PmpClient(
        address_policy=PRIVATE_ALLOWED,
        base_url=sandbox.base_url,
        token=sandbox.token,
        max_retries=6,
        sleep=sleeps,
    ) as patient:
        for _ in range(10):
            assert len(await patient.tickets.list()) == DEMO_FACTS.ticket_count
    assert sleeps, "some requests failed and were retried"


async def test_the_token_stays_out_of_every_log(
    pmp: PmpClient, sandbox: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await pmp.customers.search("Acme")
    await pmp.customers.update(DEMO_FACTS.acme_customer_id, city="Boston")
    sandbox.faults.html_500 = True
    with pytest.raises(PmpUnexpectedResponseError):
        await pmp.tickets.get(1)
    assert caplog.records
    assert all(sandbox.token not in record.getMessage() for record in caplog.records)
    assert sandbox.token not in repr(pmp)


# --- 3.x ------------------------------------------------------------------------------------


async def test_3x_lists_come_in_pages_that_are_all_followed(
    pmp_v3: PmpClient, sandbox_v3: RunningSandbox
) -> None:
    sandbox_v3.store.add_bulk_customers(30)
    customers = await pmp_v3.customers.list()
    assert len(customers) == DEMO_FACTS.customer_count + 30
    assert len({c.id for c in customers}) == len(customers)


async def test_3x_create_returns_the_new_id(pmp_v3: PmpClient) -> None:
    new_id = await pmp_v3.customers.create(company="Version Three Ltd")
    assert isinstance(new_id, int)
    assert (await pmp_v3.customers.get(new_id)).company == "Version Three Ltd"


async def test_3x_validation_errors(pmp_v3: PmpClient) -> None:
    with pytest.raises(PmpValidationError) as invalid:
        await pmp_v3.projects.create(
            name="", clientid=1, billing_type=1, start_date="2024-01-01", status=1
        )
    assert invalid.value.status_code == 422
    assert "name" in invalid.value.errors


# --- updates that destroy nothing (PMP resets what a PUT leaves out) ------------------------


async def test_a_milestone_due_date_edit_keeps_its_start_date_and_hidden_flag(
    pmp: PmpClient,
) -> None:
    milestone_id = DEMO_FACTS.hidden_milestone_ids[0]
    before = await pmp.milestones.get(milestone_id)
    assert before.hide_from_customer is True
    assert before.start_date is not None
    assert before.due_date is not None
    new_due = date(before.due_date.year + 1, 1, 15)
    assert await pmp.milestones.update(milestone_id, due_date=new_due) is True
    after = await pmp.milestones.get(milestone_id)
    assert after.due_date == new_due
    assert after.start_date == before.start_date
    assert after.hide_from_customer is True
    assert after.description == before.description
    # Off is stored as 0 or NULL (a PUT without the checkbox): both read as "not visible".
    assert bool(after.description_visible_to_customer) is bool(
        before.description_visible_to_customer
    )


async def test_a_project_rename_keeps_every_setting(
    pmp: PmpClient, sandbox: RunningSandbox
) -> None:
    project = (await pmp.projects.list())[0]
    key = str(project.id)
    settings = sandbox.store.project_settings(key)
    assert "1" in settings.values()
    assert "0" in "".join(str(value) for value in settings.values())  # some are off
    members = sandbox.store.project_members(key)
    renamed = await pmp.projects.update(
        project.id,
        name="Renamed project",
        project_members=[int(m) for m in members],
        allow_first_record_file_loss=True,
    )
    assert renamed is True
    assert sandbox.store.project_settings(key) == settings
    assert sandbox.store.project_members(key) == members
    after = await pmp.projects.get(project.id)
    assert after.name == "Renamed project"
    assert after.deadline == project.deadline
    assert after.start_date == project.start_date


async def test_a_project_setting_can_be_switched(pmp: PmpClient, sandbox: RunningSandbox) -> None:
    project = (await pmp.projects.list())[0]
    read = (await pmp.projects.get(project.id)).settings
    assert read is not None and read.features is not None
    name = next(iter(read.permissions))
    tab = next(iter(read.features))
    flipped = {
        name: not read.permissions[name],
        "available_features": {tab: not read.features[tab]},
    }
    allowed = {"allow_first_record_file_loss": True}
    assert await pmp.projects.update(project.id, settings=flipped, **allowed) is True
    after = (await pmp.projects.get(project.id)).settings
    assert after is not None
    assert after.permissions == {**read.permissions, name: not read.permissions[name]}
    assert after.features == {**read.features, tab: not read.features[tab]}
    assert await pmp.projects.update(project.id, settings=flipped, **allowed) is False


async def test_a_project_whose_settings_another_client_reset_can_still_be_edited(
    pmp: PmpClient, sandbox: RunningSandbox
) -> None:
    project = (await pmp.projects.list())[0]
    key = str(project.id)
    # Another PMP client renamed it without sending settings: PMP switched every one off.
    async with httpx.AsyncClient(base_url=sandbox.base_url) as raw:
        answer = await raw.put(
            f"/api/projects/{key}",
            json={
                "name": "Reset by someone else",
                "clientid": str(project.clientid),
                "billing_type": str(project.billing_type),
                "start_date": str(project.start_date),
                "status": str(project.status),
            },
            headers={"authtoken": sandbox.token},
        )
    assert answer.json()["status"] is True
    reset = sandbox.store.project_settings(key)
    assert set(reset.values()) == {"0"}
    members = [int(m) for m in sandbox.store.project_members(key)]
    assert await pmp.projects.update(
        project.id,
        name="Edited by pmp-bot",
        project_members=members,
        allow_first_record_file_loss=True,
    )
    assert (await pmp.projects.get(project.id)).name == "Edited by pmp-bot"
    # ...and what was off stays off: no permission, no tab switched on behind anyone's back.
    after = sandbox.store.project_settings(key)
    assert all(value == "0" for name, value in after.items() if name != "available_features")
    assert ";i:1;" not in after["available_features"]


async def test_a_customer_update_keeps_its_countries_and_currency(pmp: PmpClient) -> None:
    before = await pmp.customers.get(DEMO_FACTS.acme_customer_id)
    assert await pmp.customers.update(before.id, city="Lisbon") is True
    after = await pmp.customers.get(before.id)
    assert after.city == "Lisbon"
    for field in ("country", "billing_country", "shipping_country", "default_currency"):
        assert getattr(after, field) == getattr(before, field)
    assert after.raw.get("show_primary_contact") == before.raw.get("show_primary_contact")
    assert await pmp.customers.update(before.id, vat=None) is True  # "" clears it
    assert not (await pmp.customers.get(before.id)).vat


async def test_a_lead_update_keeps_what_pmp_resets(pmp: PmpClient, sandbox: RunningSandbox) -> None:
    sandbox.store.delete_files("leads", "1")
    lead = next(lead for lead in await pmp.leads.list() if lead.email and lead.address)
    assert await pmp.leads.update(lead.id, name="Renamed lead") is True
    after = await pmp.leads.get(lead.id)
    assert after.name == "Renamed lead"
    assert (after.email, after.address, after.country, after.is_public) == (
        lead.email,
        lead.address,
        lead.country,
        lead.is_public,
    )


# --- record #1's files ----------------------------------------------------------------------


async def test_a_lead_edit_with_files_on_lead_1_is_stopped_and_explained(
    pmp: PmpClient, sandbox: RunningSandbox
) -> None:
    assert [f["file_name"] for f in sandbox.store.files("leads", "1")] == [
        DEMO_FACTS.first_lead_file
    ]
    assert await pmp.leads.first_record_files() == 1
    lead = (await pmp.leads.list())[-1]
    with pytest.raises(PmpUnsafeUpdateError) as caught:
        await pmp.leads.update(lead.id, name="Not saved")
    assert (caught.value.kind, caught.value.files) == ("lead", 1)
    assert "lead #1 has 1 file," in caught.value.user_message
    assert (await pmp.leads.get(lead.id)).name == lead.name
    assert len(sandbox.store.files("leads", "1")) == 1
    # Allowed anyway: saved, and lead #1's file is gone, as warned.
    assert await pmp.leads.update(lead.id, name="Saved", allow_first_record_file_loss=True)
    assert (await pmp.leads.get(lead.id)).name == "Saved"
    assert sandbox.store.files("leads", "1") == []
    assert await pmp.leads.first_record_files() == 0


async def test_project_and_ticket_1_files_are_unknown_unless_there_is_no_record_1(
    pmp: PmpClient,
) -> None:
    assert await pmp.projects.first_record_files() is None
    assert await pmp.tickets.first_record_files() is None  # 2.0.8 can't show ticket #1
    await pmp.projects.delete(1)
    await pmp.tickets.delete(1)
    assert await pmp.projects.first_record_files() == 0
    assert await pmp.tickets.first_record_files() == 0
    ticket = (await pmp.tickets.list())[0]
    assert await pmp.tickets.update(ticket.id, subject="Safe now") is True


async def test_3x_shows_ticket_1_but_not_its_files(pmp_v3: PmpClient) -> None:
    assert await pmp_v3.tickets.first_record_files() is None
    assert await pmp_v3.leads.first_record_files() == 1


# --- one ticket on 2.0.8 --------------------------------------------------------------------


async def test_2_0_8_tickets_are_read_through_the_search(pmp: PmpClient) -> None:
    ticket = await pmp.tickets.get(DEMO_FACTS.channel_ticket_id)
    assert pmp.tickets.reads_by_search is True
    assert ticket.id == DEMO_FACTS.channel_ticket_id
    assert "<!channel>" in (ticket.subject or "")
    assert ticket.status is not None and ticket.department is not None
    assert ticket.date is not None
    assert ticket.department_name
    for other in (1, 2, 10):
        assert (await pmp.tickets.get(other)).id == other
    with pytest.raises(PmpNotFoundError):
        await pmp.tickets.get(99999)


async def test_3x_tickets_are_read_directly(pmp_v3: PmpClient) -> None:
    ticket = await pmp_v3.tickets.get(DEMO_FACTS.channel_ticket_id)
    assert ticket.status_name
    assert pmp_v3.tickets.reads_by_search is False


# --- secrets --------------------------------------------------------------------------------


async def test_no_password_hash_or_imap_password_reaches_a_record(pmp: PmpClient) -> None:
    records: list[Any] = [*await pmp.tickets.list(), await pmp.tickets.get(3)]
    records += await pmp.tickets.search("a")
    records += await pmp.contacts.list(DEMO_FACTS.acme_customer_id)
    records += await pmp.customers.search("a")
    records += await pmp.contacts.search("a")
    assert records
    dumped = "".join(repr(r.raw) + r.model_dump_json() for r in records)
    assert DEMO_FACTS.password_hash_prefix not in dumped
    for password in DEMO_FACTS.imap_passwords:
        assert password not in dumped


# --- development mode -----------------------------------------------------------------------


async def test_a_server_in_development_mode_still_works(
    pmp: PmpClient, sandbox: RunningSandbox
) -> None:
    sandbox.faults.dev_mode = True
    sandbox.store.delete_files("leads", "1")
    milestone = (await pmp.milestones.list())[0]
    assert await pmp.milestones.update(milestone.id, name="Dev mode") is True
    await pmp.leads.create(name="Dev Lead", source=1, status=1, assigned=1)
    [lead] = await pmp.leads.search("Dev Lead")
    assert await pmp.leads.update(lead.id, city="Warned") is True
    assert (await pmp.leads.get(lead.id)).city == "Warned"
    with pytest.raises(PmpValidationError):
        await pmp.leads.create(name="", source=1, status=1, assigned=1)


# --- contacts -------------------------------------------------------------------------------


async def test_contact_create_update_delete(pmp: PmpClient, sandbox: RunningSandbox) -> None:
    customer_id = DEMO_FACTS.acme_customer_id
    await pmp.contacts.create(
        customer_id=customer_id,
        firstname="Loop",
        lastname="Back",
        email="loop.back@example.com",
        password="Secret-123",
        ticket_emails=True,
        project_emails=True,
    )
    [contact] = [c for c in await pmp.contacts.list(customer_id) if c.firstname == "Loop"]
    assert (contact.ticket_emails, contact.project_emails, contact.invoice_emails) == (
        True,
        True,
        False,
    )
    assert "password" not in contact.raw
    assert await pmp.contacts.update(customer_id, contact.id, lastname="Forward") is True
    after = await pmp.contacts.get(customer_id, contact.id)
    assert after.lastname == "Forward"
    assert (after.ticket_emails, after.project_emails, after.is_primary) == (True, True, False)
    assert await pmp.contacts.update(customer_id, contact.id, lastname="Forward") is False
    with pytest.raises(PmpValidationError) as invalid:
        await pmp.contacts.create(
            customer_id=customer_id,
            firstname="Twin",
            lastname="Back",
            email="loop.back@example.com",
            password="x",
        )
    assert invalid.value.status_code == 409
    assert "email" in invalid.value.errors
    await pmp.contacts.delete(contact.id)
    with pytest.raises(PmpNotFoundError):
        await pmp.contacts.get(customer_id, contact.id)


# --- telling 3.x from 2.x -------------------------------------------------------------------


async def test_the_module_version_is_detected(pmp: PmpClient, pmp_v3: PmpClient) -> None:
    assert await pmp.detect_api_version() == 2
    assert await pmp_v3.detect_api_version() == 3


async def test_3x_searches_use_q(pmp_v3: PmpClient, sandbox_v3: RunningSandbox) -> None:
    await pmp_v3.detect_api_version()
    await pmp_v3.customers.create(company="Two Words/Slash Ltd")
    found = await pmp_v3.customers.search("words/slash")
    assert "Two Words/Slash Ltd" in [c.company for c in found]
    sandbox_v3.store.add_bulk_customers(45)
    everyone = await pmp_v3.customers.search("e")
    assert len(everyone) > 20  # more than one 3.x page
    assert len({c.id for c in everyone}) == len(everyone)
