"""Wire encoding: paths, search segments, headers, form and JSON bodies, dates, numbers,
checkboxes and lists; and the read-merge-write update."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from bot.pmp import PmpValidationError
from bot.pmp.resources import search_segment
from tests.pmp.conftest import (
    CONTACT_ROW,
    CUSTOMER_ROW,
    LEAD_ROW,
    MILESTONE_ROW,
    NO_DATA,
    PROJECT_ROW,
    TICKET_ROW,
    TOKEN,
    ClientFactory,
    FakePmp,
    form_fields,
    json_response,
)

OK = {"status": True, "message": "ok"}


@pytest.mark.parametrize(
    ("term", "segment"),
    [
        ("a/b", "a%2Fb"),
        ("what?", "what%3F"),
        ("#1", "%231"),
        ("100%", "100%25"),
        ("john smith", "john%20smith"),
        ("a+b", "a%2Bb"),
        ("café", "caf%C3%A9"),
        ("..", "%2E%2E"),
        ("report.json", "report%2Ejson"),
        ("/?#% +é", "%2F%3F%23%25%20%2B%C3%A9"),
        ("plain-word_1~", "plain-word_1~"),
    ],
)
async def test_a_search_term_is_one_encoded_path_segment(
    make_client: ClientFactory, term: str, segment: str
) -> None:
    fake = FakePmp(json_response(404, NO_DATA))
    pmp = make_client(fake, base_url="https://example.com/crm/", api_version=2)
    assert await pmp.customers.search(term) == []
    url = fake.requests[0].url
    assert url.raw_path == f"/crm/api/customers/search/{segment}".encode()
    assert url.query == b""
    assert url.fragment == ""
    assert search_segment(term) == segment


@pytest.mark.parametrize(
    ("resource", "prefix"),
    [
        ("customers", "/api/customers/search/"),
        ("contacts", "/api/contacts/search/"),
        ("leads", "/api/leads/search/"),
        ("milestones", "/api/milestones/search/"),
        ("projects", "/api/projects/search/"),
        ("tickets", "/api/tickets/search/"),
    ],
)
async def test_every_search_encodes_its_term(
    make_client: ClientFactory, resource: str, prefix: str
) -> None:
    fake = FakePmp(json_response(404, NO_DATA))
    pmp = make_client(fake, api_version=2)
    await getattr(pmp, resource).search("a/b c")
    assert fake.requests[0].url.raw_path == f"{prefix}a%2Fb%20c".encode()


@pytest.mark.parametrize("term", ["", "   ", "\t\n"])
async def test_blank_search_terms_are_refused_before_sending(
    make_client: ClientFactory, term: str
) -> None:
    fake = FakePmp(json_response(200, []))
    pmp = make_client(fake)
    with pytest.raises(PmpValidationError) as caught:
        await pmp.customers.search(term)
    assert caught.value.user_message == "Type something to search for."
    with pytest.raises(PmpValidationError):
        await pmp.contacts.search(term)
    assert fake.requests == []


async def test_search_terms_are_trimmed(make_client: ClientFactory) -> None:
    fake = FakePmp(json_response(404, NO_DATA))
    await make_client(fake).leads.search("  acme  ")
    assert fake.requests[0].url.raw_path == b"/api/leads/search/acme"


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://crm.example.com", "https://crm.example.com/api/customers/3"),
        ("https://crm.example.com/", "https://crm.example.com/api/customers/3"),
        ("https://crm.example.com/api", "https://crm.example.com/api/customers/3"),
        ("https://crm.example.com/api/", "https://crm.example.com/api/customers/3"),
        ("https://example.com/crm/", "https://example.com/crm/api/customers/3"),
        ("https://example.com/crm/api/", "https://example.com/crm/api/customers/3"),
        ("  crm.example.com  ", "https://crm.example.com/api/customers/3"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/api/customers/3"),
    ],
)
async def test_base_url_normalisation(
    make_client: ClientFactory, base_url: str, expected: str
) -> None:
    fake = FakePmp(json_response(200, CUSTOMER_ROW))
    await make_client(fake, base_url=base_url).customers.get(3)
    assert str(fake.requests[0].url) == expected


async def test_every_operation_uses_the_documented_method_and_path(
    make_client: ClientFactory,
) -> None:
    fake = FakePmp(
        json_response(200, [MILESTONE_ROW]),
        json_response(200, [MILESTONE_ROW]),
        json_response(200, OK),
        json_response(200, [MILESTONE_ROW]),
        json_response(200, OK),
        json_response(200, OK),
        json_response(200, [CONTACT_ROW]),
    )
    pmp = make_client(fake)
    await pmp.milestones.list()
    await pmp.milestones.get(5)
    await pmp.milestones.create(project_id=2, name="M", due_date="2024-01-01")
    await pmp.milestones.update(5, name="Renamed")
    await pmp.milestones.delete(5)
    await pmp.contacts.list(3)
    seen = [(r.method, r.url.path) for r in fake.requests]
    assert seen == [
        ("GET", "/api/milestones"),
        ("GET", "/api/milestones/5"),
        ("POST", "/api/milestones"),
        ("GET", "/api/milestones/5"),
        ("PUT", "/api/milestones/5"),
        ("DELETE", "/api/delete/milestones/5"),
        ("GET", "/api/contacts/3"),
    ]


async def test_contact_get_path(make_client: ClientFactory) -> None:
    fake = FakePmp(json_response(200, {"id": "9", "userid": "3", "firstname": "A"}))
    contact = await make_client(fake).contacts.get("3", 9)
    assert fake.requests[0].url.path == "/api/contacts/3/9"
    assert contact.id == 9


async def test_the_token_is_sent_as_authtoken_on_every_request(
    make_client: ClientFactory,
) -> None:
    fake = FakePmp(
        json_response(200, TICKET_ROW),
        json_response(200, [TICKET_ROW]),
        json_response(200, OK),
        json_response(404, NO_DATA),  # no ticket #1 whose files the update would delete
        json_response(200, TICKET_ROW),
        json_response(200, OK),
        json_response(200, OK),
    )
    pmp = make_client(fake)
    await pmp.tickets.get(7)
    await pmp.tickets.search("ER")
    await pmp.tickets.create(subject="S", department=1, contactid=4)
    await pmp.tickets.update(7, subject="New")
    await pmp.tickets.delete(7)
    assert fake.methods == ["GET", "GET", "POST", "GET", "GET", "PUT", "DELETE"]
    for request in fake.requests:
        assert request.headers["authtoken"] == TOKEN
        assert "authorization" not in request.headers


@pytest.mark.parametrize("bad_id", [0, -1, "", "0", "abc", True, 2.5])
async def test_ids_must_be_positive_whole_numbers(make_client: ClientFactory, bad_id: Any) -> None:
    # PMP answers id 0 or "" with the full list (PHP empty()), so these never reach it.
    fake = FakePmp(json_response(200, []))
    pmp = make_client(fake)
    with pytest.raises(ValueError):
        await pmp.customers.get(bad_id)
    with pytest.raises(ValueError):
        await pmp.customers.delete(bad_id)
    with pytest.raises(ValueError):
        await pmp.contacts.get(3, bad_id)
    assert fake.requests == []


async def test_create_sends_a_form_with_list_fields_as_arrays(make_client: ClientFactory) -> None:
    fake = FakePmp(json_response(200, {"status": True, "message": "Client add successful."}))
    new_id = await make_client(fake).customers.create(
        company="Themesic", groups_in=[1, 4], country=243, vat=None, website=""
    )
    assert new_id is None
    request = fake.requests[0]
    assert request.method == "POST"
    assert form_fields(request) == {
        "company": ["Themesic"],
        "groups_in[]": ["1", "4"],
        "country": ["243"],
    }


async def test_create_converts_dates_numbers_and_checkboxes(make_client: ClientFactory) -> None:
    fake = FakePmp(json_response(200, OK))
    await make_client(fake).projects.create(
        name="Site",
        clientid="11",
        billing_type=1,
        start_date=date(2024, 5, 1),
        status=2,
        deadline=datetime(2024, 6, 30, 17, 45),
        project_cost=Decimal("1500.50"),
        estimated_hours=12.5,
        progress_from_tasks=True,
        project_members=[3],
    )
    assert form_fields(fake.requests[0]) == {
        "name": ["Site"],
        "clientid": ["11"],
        "billing_type": ["1"],
        "start_date": ["2024-05-01"],
        "status": ["2"],
        "progress_from_tasks": ["on"],
        "project_cost": ["1500.50"],
        "estimated_hours": ["12.5"],
        "project_members[]": ["3"],
        "deadline": ["2024-06-30"],
    }


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        (date(2024, 2, 29), "2024-02-29"),
        (datetime(2024, 2, 29, 23, 59), "2024-02-29"),
        ("2024-02-29", "2024-02-29"),
        ("2024-02-29 10:00:00", "2024-02-29"),
        ("2024-02-29T10:00:00+02:00", "2024-02-29"),
    ],
)
async def test_dates_are_sent_as_y_m_d(
    make_client: ClientFactory, value: date | str, sent: str
) -> None:
    fake = FakePmp(json_response(200, OK))
    await make_client(fake).milestones.create(project_id=2, name="M", due_date=value)
    assert form_fields(fake.requests[0])["due_date"] == [sent]


@pytest.mark.parametrize("value", ["30/07/2019", "tomorrow", "2019-13-45"])
async def test_ambiguous_or_invalid_dates_are_refused(
    make_client: ClientFactory, value: str
) -> None:
    fake = FakePmp(json_response(200, OK))
    with pytest.raises(ValueError, match="due_date"):
        await make_client(fake).milestones.create(project_id=2, name="M", due_date=value)
    assert fake.requests == []


async def test_lead_checkboxes_are_on_when_true_and_absent_when_false(
    make_client: ClientFactory,
) -> None:
    fake = FakePmp(json_response(200, OK))
    pmp = make_client(fake)
    await pmp.leads.create(
        name="L", source=1, status=1, assigned=1, is_public=True, contacted_today=False
    )
    await pmp.leads.create(name="L", source=1, status=1, is_public="0", contacted_today=1)
    first, second = (form_fields(r) for r in fake.requests)
    assert first["is_public"] == ["on"]
    assert "contacted_today" not in first
    assert "is_public" not in second
    assert second["contacted_today"] == ["on"]


async def test_lead_custom_contact_date_is_a_datetime(make_client: ClientFactory) -> None:
    fake = FakePmp(json_response(200, OK))
    await make_client(fake).leads.create(
        name="L", source=1, status=1, custom_contact_date=datetime(2024, 3, 4, 5, 6, 7)
    )
    assert form_fields(fake.requests[0])["custom_contact_date"] == ["2024-03-04 05:06:07"]


async def test_unknown_fields_are_refused_before_sending(make_client: ClientFactory) -> None:
    fake = FakePmp(json_response(200, TICKET_ROW))
    pmp = make_client(fake)
    with pytest.raises(ValueError, match="department_name"):
        await pmp.tickets.update(7, department_name="Sales")
    with pytest.raises(ValueError, match="colour"):
        await pmp.customers.create(company="A", colour="red")
    assert fake.requests == []


@pytest.mark.parametrize(
    ("method", "call"),
    [
        ("GET", lambda pmp: pmp.customers.list(timeout=2.5)),
        ("GET", lambda pmp: pmp.leads.get(17, timeout=2.5)),
        ("GET", lambda pmp: pmp.tickets.search("x", timeout=2.5)),
        ("GET", lambda pmp: pmp.contacts.list(3, timeout=2.5)),
        ("GET", lambda pmp: pmp.contacts.get(3, 4, timeout=2.5)),
        ("GET", lambda pmp: pmp.contacts.search("x", timeout=2.5)),
        ("POST", lambda pmp: pmp.customers.create(company="A", timeout=2.5)),
        ("DELETE", lambda pmp: pmp.projects.delete(28, timeout=2.5)),
        ("GET", lambda pmp: pmp.check_connection(timeout=2.5)),
        ("GET", lambda pmp: pmp.detect_api_version(timeout=2.5)),
        ("GET", lambda pmp: pmp.leads.first_record_files(timeout=2.5)),
        (
            "POST",
            lambda pmp: pmp.contacts.create(
                customer_id=3,
                firstname="A",
                lastname="B",
                email="a@b.c",
                password="pw",
                timeout=2.5,
            ),
        ),
        ("DELETE", lambda pmp: pmp.contacts.delete(4, timeout=2.5)),
    ],
)
async def test_every_method_takes_a_timeout(
    make_client: ClientFactory, method: str, call: Any
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.method != "GET":
            return json_response(200, OK)
        if request.url.path == "/api/contacts/3/4":
            return json_response(200, CONTACT_ROW)
        if request.url.path == "/api/leads/17":
            return json_response(200, LEAD_ROW)
        return json_response(404, NO_DATA)

    fake = FakePmp(answer)
    await call(make_client(fake, timeout=30))
    assert fake.requests[0].method == method
    assert fake.requests[0].extensions["timeout"] == {
        "connect": 2.5,
        "read": 2.5,
        "write": 2.5,
        "pool": 2.5,
    }


async def test_the_client_timeout_is_the_default(make_client: ClientFactory) -> None:
    fake = FakePmp(json_response(200, PROJECT_ROW))
    await make_client(fake, timeout=7.5).projects.get(28)
    assert fake.requests[0].extensions["timeout"]["read"] == 7.5


@pytest.mark.parametrize(
    ("tags", "sent"),
    [(["vip", " urgent "], "vip,urgent"), ("vip, urgent,,", "vip,urgent"), (("a", "a"), "a")],
)
async def test_tags_are_sent_comma_separated(
    make_client: ClientFactory, tags: Any, sent: str
) -> None:
    fake = FakePmp(json_response(200, OK))
    await make_client(fake).tickets.create(subject="S", department=1, contactid=4, tags=tags)
    assert form_fields(fake.requests[0])["tags"] == [sent]


@pytest.mark.parametrize(
    ("term", "segment"), [('"acme corp"', "acme%20corp"), ('12" pipe', "12%20pipe")]
)
async def test_double_quotes_are_taken_out_of_search_terms(
    make_client: ClientFactory, term: str, segment: str
) -> None:
    fake = FakePmp(json_response(404, NO_DATA))
    await make_client(fake, api_version=2).customers.search(term)
    assert fake.requests[0].url.raw_path == f"/api/customers/search/{segment}".encode()


async def test_a_term_of_only_quotes_is_blank(make_client: ClientFactory) -> None:
    fake = FakePmp(json_response(404, NO_DATA))
    with pytest.raises(PmpValidationError):
        await make_client(fake).customers.search('""')
    assert fake.requests == []


@pytest.mark.parametrize("field", ["contact", "country", "client_id"])
async def test_lead_create_refuses_fields_pmp_ignores_on_create(
    make_client: ClientFactory, field: str
) -> None:
    fake = FakePmp(json_response(200, OK))
    with pytest.raises(ValueError, match=field):
        await make_client(fake).leads.create(name="L", source=1, status=1, **{field: "1"})
    assert fake.requests == []
