"""Parsing PMP answers: wire strings to types, nulls and blanks, milestone unwrap, 3.x
envelopes and pages, and create's record_id."""

from __future__ import annotations

import logging
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from bot.pmp import Contact, Customer, Lead, Milestone, Project, Ticket
from bot.pmp.resources import MAX_PAGES
from tests.pmp.conftest import (
    CONTACT_ROW,
    CUSTOMER_ROW,
    LEAD_ROW,
    MILESTONE_ROW,
    NO_DATA,
    PROJECT_ROW,
    TICKET_ROW,
    TICKET_SEARCH_ROW,
    ClientFactory,
    FakePmp,
    json_response,
)


def test_a_customer_converts_wire_strings() -> None:
    customer = Customer.from_wire(CUSTOMER_ROW)
    assert customer.id == 3
    assert customer.company == "Jk Technologies"
    assert customer.country == 102
    assert customer.active is True
    assert customer.datecreated == datetime(2019, 11, 29, 12, 34, 56)
    assert customer.default_currency == 3
    assert customer.leadid is None
    assert customer.raw == CUSTOMER_ROW
    assert customer.display_name == "Jk Technologies"


def test_a_project_converts_money_dates_and_flags() -> None:
    project = Project.from_wire(PROJECT_ROW)
    assert project.id == 28
    assert project.customer_id == 11
    assert project.start_date == date(2019, 4, 19)
    assert project.deadline == date(2019, 8, 30)
    assert project.project_cost == Decimal("0.00")
    assert isinstance(project.project_cost, Decimal)
    assert project.progress_from_tasks is True
    assert project.date_finished is None
    assert project.description is None


def test_a_ticket_is_keyed_by_ticketid_not_the_contact_id() -> None:
    ticket = Ticket.from_wire(TICKET_ROW)
    assert ticket.id == 7
    assert ticket.contactid == 4
    assert ticket.customer_id == 5
    assert ticket.date == datetime(2019, 4, 10, 3, 8, 21)
    assert ticket.department_name == "Support"
    assert ticket.adminread is True
    assert ticket.clientread is False
    assert ticket.lastreply is None


def test_a_lead_and_a_milestone_convert() -> None:
    lead = Lead.from_wire(LEAD_ROW)
    assert (lead.id, lead.status, lead.source, lead.assigned) == (17, 2, 4, 5)
    assert lead.is_public is True
    assert lead.lastcontact == datetime(2019, 7, 20, 10, 0)
    assert lead.zip is None
    milestone = Milestone.from_wire(MILESTONE_ROW)
    assert milestone.due_date == date(2019, 9, 30)
    assert milestone.description_visible_to_customer is False
    assert milestone.project_id == 2


def test_a_contact_drops_its_password_hash_from_raw() -> None:
    contact = Contact.from_wire(CONTACT_ROW)
    assert contact.id == 4
    assert contact.customer_id == 3
    assert contact.display_name == "Ana Lopez"
    assert "password" not in contact.raw
    assert "new_pass_key" not in contact.raw
    assert contact.raw["email"] == "ana@example.com"


@pytest.mark.parametrize(
    ("field", "wire", "parsed"),
    [
        ("start_date", "0000-00-00", None),
        ("start_date", "", None),
        ("start_date", None, None),
        ("start_date", "not a date", None),
        ("date_finished", "0000-00-00 00:00:00", None),
        ("date_finished", "2020-01-02 03:04:05", datetime(2020, 1, 2, 3, 4, 5)),
        ("project_cost", "", None),
        ("project_cost", "abc", None),
        ("project_cost", 12.5, Decimal("12.5")),
        ("project_cost", "1500.50", Decimal("1500.50")),
        ("status", "", None),
        ("status", 4, 4),
        ("status", "x", None),
        ("progress_from_tasks", "", None),
        ("progress_from_tasks", "0", False),
        ("progress_from_tasks", True, True),
        ("name", 42, "42"),
    ],
)
def test_typed_fields_tolerate_blanks_and_odd_values(field: str, wire: Any, parsed: Any) -> None:
    project = Project.from_wire({**PROJECT_ROW, field: wire})
    assert getattr(project, field) == parsed
    assert project.raw[field] == wire


def test_unknown_fields_are_kept_in_raw_only() -> None:
    project = Project.from_wire({**PROJECT_ROW, "brand_new_column": "x", "customfields": []})
    assert project.raw["brand_new_column"] == "x"
    assert not hasattr(project, "brand_new_column")


@pytest.mark.parametrize("bad_id", [None, "", "0", "abc", "-3"])
def test_a_record_needs_a_valid_id(bad_id: Any) -> None:
    with pytest.raises(ValueError):
        Project.from_wire({**PROJECT_ROW, "id": bad_id})


def test_records_are_immutable_and_the_repr_hides_raw() -> None:
    customer = Customer.from_wire(CUSTOMER_ROW)
    with pytest.raises(ValueError):
        customer.company = "Other"  # type: ignore[misc]
    assert "raw" not in repr(customer)


async def test_one_milestone_is_unwrapped_from_its_array(make_client: ClientFactory) -> None:
    pmp = make_client(FakePmp(json_response(200, [MILESTONE_ROW])))
    milestone = await pmp.milestones.get(5)
    assert isinstance(milestone, Milestone)
    assert milestone.id == 5
    assert milestone.name == "MIlestone A"


async def test_get_picks_the_requested_record_from_an_array(make_client: ClientFactory) -> None:
    rows = [{**MILESTONE_ROW, "id": "4"}, MILESTONE_ROW]
    pmp = make_client(FakePmp(json_response(200, rows)))
    assert (await pmp.milestones.get(5)).id == 5


async def test_a_list_of_one_is_still_a_list(make_client: ClientFactory) -> None:
    pmp = make_client(FakePmp(json_response(200, [TICKET_ROW])))
    tickets = await pmp.tickets.search("ER")
    assert [t.id for t in tickets] == [7]


async def test_a_3x_envelope_is_accepted(make_client: ClientFactory) -> None:
    body = {"data": [CUSTOMER_ROW], "meta": {"current_page": 1, "last_page": 1, "total": 1}}
    fake = FakePmp(json_response(200, body))
    customers = await make_client(fake).customers.list()
    assert [c.id for c in customers] == [3]
    assert len(fake.requests) == 1


async def test_a_3x_single_record_envelope_is_accepted(make_client: ClientFactory) -> None:
    pmp = make_client(FakePmp(json_response(200, {"data": PROJECT_ROW})))
    assert (await pmp.projects.get(28)).id == 28


def _page(rows: list[dict[str, Any]], meta: dict[str, Any]) -> httpx.Response:
    return json_response(200, {"data": rows, "meta": meta})


def _customers(*ids: int) -> list[dict[str, Any]]:
    return [{**CUSTOMER_ROW, "userid": str(i)} for i in ids]


@pytest.mark.parametrize(
    "metas",
    [
        [{"current_page": 1, "last_page": 3}, {"current_page": 2, "last_page": 3}, {}],
        [{"page": 1, "total_pages": 3}, {"page": 2, "total_pages": 3}, {"page": 3}],
        [{"has_more": True}, {"has_more": True}, {"has_more": False}],
        [{"total": 5, "per_page": 2}, {"total": 5, "per_page": 2}, {"total": 5}],
    ],
    ids=["last_page", "total_pages", "has_more", "total"],
)
async def test_3x_pages_are_followed(
    make_client: ClientFactory, metas: list[dict[str, Any]]
) -> None:
    fake = FakePmp(
        _page(_customers(1, 2), metas[0]),
        _page(_customers(3, 4), metas[1]),
        _page(_customers(5), metas[2]),
    )
    customers = await make_client(fake).customers.list()
    assert [c.id for c in customers] == [1, 2, 3, 4, 5]
    assert [r.url.params.get("page") for r in fake.requests] == [None, "2", "3"]


async def test_search_pages_keep_the_encoded_term(make_client: ClientFactory) -> None:
    fake = FakePmp(
        _page(_customers(1), {"current_page": 1, "last_page": 2}),
        _page(_customers(2), {"current_page": 2, "last_page": 2}),
    )
    customers = await make_client(fake, api_version=2).customers.search("a/b")
    assert [c.id for c in customers] == [1, 2]
    assert fake.requests[1].url.raw_path == b"/api/customers/search/a%2Fb?page=2"


async def test_paging_stops_at_an_empty_or_missing_page(make_client: ClientFactory) -> None:
    fake = FakePmp(
        _page(_customers(1), {"has_more": True}),
        json_response(404, NO_DATA),
    )
    assert [c.id for c in await make_client(fake).customers.list()] == [1]
    fake = FakePmp(_page(_customers(1), {"has_more": True}), _page([], {"has_more": True}))
    assert [c.id for c in await make_client(fake).customers.list()] == [1]


async def test_paging_stops_when_the_server_ignores_the_page(make_client: ClientFactory) -> None:
    fake = FakePmp(_page(_customers(1, 2), {"current_page": 1, "last_page": 4}))
    customers = await make_client(fake).customers.list()
    assert [c.id for c in customers] == [1, 2]
    assert len(fake.requests) == 2


async def test_paging_has_a_limit(make_client: ClientFactory) -> None:
    fake = FakePmp(_page(_customers(1), {"has_more": True}))
    customers = await make_client(fake).customers.list()
    assert len(fake.requests) == MAX_PAGES
    assert len(customers) == MAX_PAGES


@pytest.mark.parametrize(("record_id", "expected"), [(12, 12), ("12", 12), (None, None)])
async def test_create_returns_the_record_id_when_sent(
    make_client: ClientFactory, record_id: Any, expected: int | None
) -> None:
    body: dict[str, Any] = {"status": True, "message": "Ticket add successful."}
    if record_id is not None:
        body["record_id"] = record_id
    pmp = make_client(FakePmp(json_response(200, body)))
    assert await pmp.tickets.create(subject="S", department=1, contactid=4) == expected


async def test_a_create_answer_that_is_not_an_object_is_unexpected(
    make_client: ClientFactory,
) -> None:
    from bot.pmp import PmpUnexpectedResponseError

    pmp = make_client(FakePmp(json_response(200, ["ok"])))
    with pytest.raises(PmpUnexpectedResponseError):
        await pmp.customers.create(company="A")


# --- secrets PMP hands out ------------------------------------------------------------------


def test_a_ticket_row_loses_the_departments_imap_login_and_its_access_key() -> None:
    ticket = Ticket.from_wire(TICKET_SEARCH_ROW)
    for key in (
        "password",
        "imap_username",
        "host",
        "encryption",
        "folder",
        "delete_after_import",
        "ticketkey",
        "new_pass_key",
        "email_verification_key",
    ):
        assert key not in ticket.raw
    assert "imap-secret-pw" not in repr(ticket.model_dump()) + repr(ticket.raw)
    assert ticket.raw["subject"] == "Ticket ER"


def test_customer_search_rows_lose_their_contacts_password_hash() -> None:
    row = {
        **CUSTOMER_ROW,
        **CONTACT_ROW,
        "userid": "3",
        "password": "$2y$10$abcdefghijklmnopqrstuv",
    }
    customer = Customer.from_wire(row)
    assert "password" not in customer.raw
    assert "$2y$" not in repr(customer.raw)


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "Password",
        "new_pass_key",
        "new_pass_key_requested",
        "email_verification_key",
        "api_token",
        "client_secret",
        "imap_password",
        "smtp_passwd",
        "two_factor_auth_code",
        "ticketkey",
    ],
)
def test_keys_named_like_secrets_are_dropped_at_any_depth(key: str) -> None:
    lead = Lead.from_wire(
        {
            **LEAD_ROW,
            key: "s3cret",
            "attachments": [{"file_name": "a.pdf", key: "s3cret"}],
            "extra": {"nested": {key: "s3cret", "kept": "yes"}},
        }
    )
    assert "s3cret" not in repr(lead.raw)
    assert lead.raw["attachments"] == [{"file_name": "a.pdf"}]
    assert lead.raw["extra"] == {"nested": {"kept": "yes"}}


def test_ordinary_keys_are_kept() -> None:
    customer = Customer.from_wire({**CUSTOMER_ROW, "passport_no": "P1", "host_company": "H"})
    assert customer.raw["passport_no"] == "P1"
    assert customer.raw["host_company"] == "H"  # only a ticket's `host` is the IMAP server


async def test_secrets_never_leave_the_client(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake = FakePmp(json_response(200, [TICKET_SEARCH_ROW]), json_response(200, [CONTACT_ROW]))
    pmp = make_client(fake)
    [ticket] = await pmp.tickets.list()
    [contact] = await pmp.contacts.list(3)
    everything = repr(ticket.raw) + repr(contact.raw) + ticket.model_dump_json()
    everything += contact.model_dump_json() + "\n".join(r.getMessage() for r in caplog.records)
    for secret in ("imap-secret-pw", "imap.example.com", "$2a$", "8ef33d61bb0f26cd"):
        assert secret not in everything


# --- ticket search rows ---------------------------------------------------------------------


def test_a_ticket_search_row_names_its_department_and_contact() -> None:
    ticket = Ticket.from_wire(TICKET_SEARCH_ROW)
    assert ticket.id == 7  # ticketid; the row's id is the contact's
    assert ticket.department == 1
    assert ticket.department_name == "Support"
    assert ticket.contact_name == "Ana Lopez"
    assert (ticket.status, ticket.priority, ticket.userid, ticket.contactid) == (1, 2, 5, 4)
    assert ticket.date == datetime(2019, 4, 10, 3, 8, 21)
    assert ticket.status_name is None  # the search has no status names


def test_a_search_row_without_the_joins_is_not_guessed_at() -> None:
    row = {**TICKET_SEARCH_ROW, "departmentid": "2", "id": "9"}
    ticket = Ticket.from_wire(row)
    assert ticket.department_name is None
    assert ticket.contact_name is None
    own = Ticket.from_wire(TICKET_ROW)
    assert own.department_name == "Support"
    assert "user_firstname" not in own.raw


def test_a_milestone_carries_its_start_date_and_hidden_flag() -> None:
    milestone = Milestone.from_wire(
        {**MILESTONE_ROW, "start_date": "2019-09-01", "hide_from_customer": "1"}
    )
    assert milestone.start_date == date(2019, 9, 1)
    assert milestone.hide_from_customer is True


def test_a_contact_carries_its_email_flags() -> None:
    contact = Contact.from_wire({**CONTACT_ROW, "invoice_emails": "1", "ticket_emails": "0"})
    assert contact.invoice_emails is True
    assert contact.ticket_emails is False
    assert contact.task_emails is None
