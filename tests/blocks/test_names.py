from __future__ import annotations

import pytest

from bot.names import NameBook, TicketSettings, country_name, resolve_name
from bot.pmp.models import Lead, Project, Ticket
from tests.blocks.helpers import lead_wire, project_wire, ticket_wire


def test_resolve_name_prefers_the_record_then_the_maps_in_order_then_the_id() -> None:
    first, second = {1: "First"}, {1: "Second", 2: "Two"}
    assert resolve_name(1, first, second, record_name="Own") == "Own"
    assert resolve_name(1, first, second) == "First"
    assert resolve_name(2, first, second) == "Two"
    assert resolve_name(7, first, second) == "#7"


@pytest.mark.parametrize("record_id", [None, 0, -3])
def test_no_id_means_no_name(record_id: int | None) -> None:
    assert resolve_name(record_id, {0: "None at all"}) is None


def test_blank_names_are_ignored() -> None:
    assert resolve_name(1, {1: "  "}, {1: "Low"}, record_name=" ") == "Low"


@pytest.mark.parametrize(
    ("status", "name"),
    [("1", "Open"), ("2", "In progress"), ("3", "Answered"), ("4", "On Hold"), ("5", "Closed")],
)
def test_default_ticket_statuses(status: str, name: str) -> None:
    assert NameBook().ticket_status(Ticket.from_wire(ticket_wire(status=status))) == name


@pytest.mark.parametrize(("priority", "name"), [("1", "Low"), ("2", "Medium"), ("3", "High")])
def test_default_ticket_priorities(priority: str, name: str) -> None:
    assert NameBook().ticket_priority(Ticket.from_wire(ticket_wire(priority=priority))) == name


def test_ticket_priority_zero_is_none() -> None:
    assert NameBook().ticket_priority(Ticket.from_wire(ticket_wire(priority="0"))) is None


@pytest.mark.parametrize(
    ("status", "name"),
    [
        ("1", "Not Started"),
        ("2", "In Progress"),
        ("3", "On Hold"),
        ("4", "Finished"),
        ("5", "Cancelled"),
        ("6", "#6"),
    ],
)
def test_default_project_statuses(status: str, name: str) -> None:
    assert NameBook().project_status(Project.from_wire(project_wire(status=status))) == name


@pytest.mark.parametrize(
    ("billing", "name"), [("1", "Fixed Rate"), ("2", "Project Hours"), ("3", "Task Hours")]
)
def test_default_billing_types(billing: str, name: str) -> None:
    assert NameBook().billing_type(Project.from_wire(project_wire(billing_type=billing))) == name


def test_default_lead_statuses_and_sources() -> None:
    names = NameBook()
    lead = Lead.from_wire(lead_wire(status="1", source="1"))
    assert (names.lead_status(lead), names.lead_source(lead)) == ("Customer", "Google")
    lead = Lead.from_wire(lead_wire(status="2", source="2"))
    assert (names.lead_status(lead), names.lead_source(lead)) == ("#2", "Facebook")


def test_lead_names_can_be_configured_and_the_record_still_wins() -> None:
    names = NameBook(lead_statuses={2: "Qualified"}, lead_sources={3: "Referral"})
    lead = Lead.from_wire(lead_wire(status="2", source="3"))
    assert (names.lead_status(lead), names.lead_source(lead)) == ("Qualified", "Referral")
    lead = Lead.from_wire(lead_wire(status="2", status_name="Hot", source_name="Fair"))
    assert (names.lead_status(lead), names.lead_source(lead)) == ("Hot", "Fair")


def test_workspace_settings_override_defaults_per_id() -> None:
    settings = TicketSettings(statuses={5: "Done"}, departments={1: "Support"})
    names = NameBook.from_settings(settings)
    assert names.ticket_status(Ticket.from_wire(ticket_wire(status="5"))) == "Done"
    assert names.ticket_status(Ticket.from_wire(ticket_wire(status="3"))) == "Answered"
    assert names.ticket_department(Ticket.from_wire(ticket_wire(department="1"))) == "Support"
    assert names.ticket_department(Ticket.from_wire(ticket_wire(department="9"))) == "#9"
    assert NameBook.from_settings(None) == NameBook()


def test_names_pmp_sends_in_raw_are_used_for_projects() -> None:
    # 3.x can add `status_name`; the model keeps it in `raw`.
    project = Project.from_wire(project_wire(status="2", status_name="Building"))
    assert NameBook().project_status(project) == "Building"


@pytest.mark.parametrize(
    ("country", "name"),
    [
        (102, "India"),
        (235, "United Kingdom"),
        (236, "United States"),
        (243, "Vietnam"),
        (1, "Afghanistan"),
        (250, "Zimbabwe"),
        (251, "#251"),
        (0, None),
        (None, None),
    ],
)
def test_country_names(country: int | None, name: str | None) -> None:
    assert country_name(country) == name
