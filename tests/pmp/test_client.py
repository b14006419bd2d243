"""The client object: construction, secrets kept out of reprs and logs, request logging,
check_connection and web links."""

from __future__ import annotations

import logging

import httpx
import pytest

from bot.pmp import (
    Customer,
    Milestone,
    PmpAuthError,
    PmpClient,
    PmpConnectionError,
    PmpTimeoutError,
    PmpUnexpectedResponseError,
    normalise_base_url,
    record_url,
)
from bot.pmp.links import record_page
from tests.pmp.conftest import (
    CUSTOMER_ROW,
    MILESTONE_ROW,
    NO_DATA,
    ROOT,
    TOKEN,
    ClientFactory,
    FakePmp,
    html_response,
    json_response,
)


async def test_the_repr_never_shows_the_token(make_client: ClientFactory) -> None:
    pmp = make_client(FakePmp(json_response(200, [])))
    assert repr(pmp) == "PmpClient(base_url='https://crm.example.com')"
    for text in (repr(pmp), str(pmp), repr(pmp.customers), repr(pmp.contacts)):
        assert TOKEN not in text


async def test_logs_never_show_the_token_or_search_terms(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakePmp(
        html_response(503),
        json_response(200, [CUSTOMER_ROW]),
        json_response(404, {"status": False, "message": "Token is not defined."}),
        httpx.ConnectError(f"refused {TOKEN}"),
    )
    pmp = make_client(fake, max_retries=1)
    caplog.set_level(logging.DEBUG)
    await pmp.customers.search("Ana Lopez")
    with pytest.raises(PmpAuthError):
        await pmp.customers.get(3)
    with pytest.raises(PmpConnectionError):
        await pmp.customers.create(company="Acme")
    everything = "\n".join(record.getMessage() for record in caplog.records)
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("bot.pmp"))
    assert ours, "the client logs its requests"
    assert TOKEN not in everything  # httpx and httpcore included, at DEBUG
    # httpx logs full URLs itself; bot.observability keeps it at WARNING unless DEBUG is on.
    assert "Ana" not in ours
    assert "Lopez" not in ours


async def test_one_debug_line_per_request(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakePmp(json_response(200, CUSTOMER_ROW), json_response(404, NO_DATA))
    pmp = make_client(fake, api_version=2)
    caplog.set_level(logging.DEBUG, logger="bot.pmp")
    await pmp.customers.get(3)
    await pmp.leads.search("secret person")
    lines = [r for r in caplog.records if r.name == "bot.pmp"]
    assert [r.levelno for r in lines] == [logging.DEBUG, logging.DEBUG]
    first, second = (r.getMessage() for r in lines)
    assert first.startswith("PMP GET api/customers/3 -> 200 in ")
    assert first.endswith(" ms")
    assert second.startswith("PMP GET api/leads/search/<term> -> 404 in ")


async def test_retries_are_logged_without_personal_data(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakePmp(html_response(502), json_response(200, []))
    pmp = make_client(fake)
    caplog.set_level(logging.INFO, logger="bot.pmp")
    await pmp.tickets.search("jane@example.com")
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert len(messages) == 1
    assert "HTTP 502, retry 1 of 2" in messages[0]
    assert "jane" not in messages[0]


def test_bad_tokens_are_refused_without_echoing_them() -> None:
    with pytest.raises(ValueError) as empty:
        PmpClient(base_url=ROOT, token="   ")
    assert "empty" in str(empty.value)
    with pytest.raises(ValueError) as spaced:
        PmpClient(base_url=ROOT, token="abc def\n")
    assert "abc" not in str(spaced.value)


@pytest.mark.parametrize("option", [{"timeout": 0}, {"max_retries": -1}])
def test_bad_options_are_refused(option: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        PmpClient(base_url=ROOT, token=TOKEN, **option)


async def test_a_pasted_token_is_trimmed(make_client: ClientFactory) -> None:
    fake = FakePmp(json_response(200, CUSTOMER_ROW))
    async with PmpClient(
        base_url=ROOT, token=f"  {TOKEN}\n", transport=httpx.MockTransport(fake)
    ) as pmp:
        await pmp.customers.get(3)
    assert fake.requests[0].headers["authtoken"] == TOKEN


async def test_the_context_manager_closes_the_pool() -> None:
    fake = FakePmp(json_response(200, CUSTOMER_ROW))
    async with PmpClient(base_url=ROOT, token=TOKEN, transport=httpx.MockTransport(fake)) as pmp:
        await pmp.customers.get(3)
    with pytest.raises(RuntimeError):
        await pmp.customers.get(3)


async def test_each_record_kind_has_one_resource() -> None:
    fake = FakePmp(json_response(200, CUSTOMER_ROW))
    async with PmpClient(base_url=ROOT, token=TOKEN, transport=httpx.MockTransport(fake)) as pmp:
        assert pmp.resource("customer") is pmp.customers
        assert pmp.resource("lead") is pmp.leads
        assert pmp.resource("project") is pmp.projects
        assert pmp.resource("milestone") is pmp.milestones
        assert pmp.resource("ticket") is pmp.tickets
        with pytest.raises(KeyError):
            pmp.resource("contact")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "bad_url", ["", "   ", "ftp://crm.example.com", "https://user:pw@crm.example.com", "http://"]
)
def test_unusable_base_urls_are_refused(bad_url: str) -> None:
    with pytest.raises(ValueError) as caught:
        normalise_base_url(bad_url)
    assert "pw" not in str(caught.value)


async def test_check_connection_accepts_no_data(make_client: ClientFactory) -> None:
    fake = FakePmp(json_response(404, NO_DATA))
    assert await make_client(fake).check_connection() is None
    assert fake.requests[0].url.path.startswith("/api/customers/")
    assert fake.requests[0].headers["authtoken"] == TOKEN


async def test_check_connection_accepts_a_found_customer(make_client: ClientFactory) -> None:
    assert await make_client(FakePmp(json_response(200, CUSTOMER_ROW))).check_connection() is None


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (json_response(404, {"status": False, "message": "Token is not defined."}), PmpAuthError),
        (json_response(404, {"status": False, "message": None}), PmpAuthError),
        (json_response(401, {"status": False}), PmpAuthError),
        (httpx.ConnectError("refused"), PmpConnectionError),
        (httpx.ReadTimeout("slow"), PmpTimeoutError),
        (html_response(200), PmpUnexpectedResponseError),
        (html_response(404), PmpUnexpectedResponseError),
        (json_response(200, {"hello": "world"}), PmpUnexpectedResponseError),
        (json_response(404, {"error": "not found"}), PmpUnexpectedResponseError),
    ],
    ids=[
        "no-token",
        "unknown-token",
        "api-off",
        "unreachable",
        "timeout",
        "web-page",
        "web-404",
        "other-json",
        "other-json-404",
    ],
)
async def test_check_connection_tells_failures_apart(
    make_client: ClientFactory, answer: httpx.Response | Exception, error: type[Exception]
) -> None:
    pmp = make_client(FakePmp(answer))
    with pytest.raises(error):
        await pmp.check_connection(timeout=3)


@pytest.mark.parametrize(
    "answer",
    [
        json_response(200, []),
        json_response(200, {"data": []}),
        json_response(200, {"status": True}),
        json_response(404, {"status": False, "message": "Not found"}),
        json_response(401, {"error": "unauthorized"}),
        html_response(401),
        html_response(403),
        httpx.Response(302, headers={"location": "http://10.0.0.1/admin"}),
    ],
    ids=[
        "list",
        "envelope",
        "status-true",
        "other-words",
        "json-401",
        "page-401",
        "page-403",
        "redirect",
    ],
)
async def test_check_connection_takes_only_pmps_own_answers_for_pmp(
    make_client: ClientFactory, answer: httpx.Response
) -> None:
    # Another service's JSON, or a 401 page, must not pass for PMP or for a refused token.
    with pytest.raises(PmpUnexpectedResponseError) as caught:
        await make_client(FakePmp(answer)).check_connection()
    assert "10.0.0.1" not in caught.value.user_message


async def test_check_connection_accepts_a_3x_wrapped_customer(make_client: ClientFactory) -> None:
    fake = FakePmp(json_response(200, {"data": CUSTOMER_ROW}))
    assert await make_client(fake).check_connection() is None


async def test_check_connection_timeout_is_per_call(make_client: ClientFactory) -> None:
    fake = FakePmp(httpx.ReadTimeout("slow"))
    with pytest.raises(PmpTimeoutError) as caught:
        await make_client(fake).check_connection(timeout=3)
    assert "within 3 s" in caught.value.user_message
    assert fake.requests[0].extensions["timeout"]["read"] == 3


@pytest.mark.parametrize(
    ("kind", "record_id", "project_id", "path"),
    [
        ("customer", 3, None, "/admin/clients/client/3"),
        ("lead", 17, None, "/admin/leads/index/17"),
        ("project", 28, None, "/admin/projects/view/28"),
        ("milestone", 5, 2, "/admin/projects/view/2?group=project_milestones"),
        ("ticket", 7, None, "/admin/tickets/ticket/7"),
    ],
)
def test_record_urls(kind: str, record_id: int, project_id: int | None, path: str) -> None:
    for root in ("https://example.com/crm", "https://example.com/crm/", "example.com/crm/api"):
        assert record_url(root, kind, record_id, project_id) == (  # type: ignore[arg-type]
            f"https://example.com/crm{path}"
        )


def test_a_milestone_url_needs_its_project() -> None:
    with pytest.raises(ValueError):
        record_url(ROOT, "milestone", 5)
    with pytest.raises(ValueError):
        record_url(ROOT, "contact", 5)  # type: ignore[arg-type]


def test_a_record_without_a_page_has_none() -> None:
    assert record_page(ROOT, "ticket", 7, None) == record_url(ROOT, "ticket", 7)
    assert record_page(ROOT, "milestone", 5, None) is None
    assert record_page("ftp://crm.example.com", "ticket", 7, None) is None


async def test_web_url_takes_records_or_ids(make_client: ClientFactory) -> None:
    pmp = make_client(FakePmp(json_response(200, [])), base_url="https://crm.example.com/api/")
    customer = Customer.from_wire(CUSTOMER_ROW)
    milestone = Milestone.from_wire(MILESTONE_ROW)
    assert pmp.web_url("customer", customer) == f"{ROOT}/admin/clients/client/3"
    assert pmp.web_url("ticket", 7) == f"{ROOT}/admin/tickets/ticket/7"
    assert pmp.web_url("milestone", milestone) == (
        f"{ROOT}/admin/projects/view/2?group=project_milestones"
    )
    assert pmp.web_url("milestone", 5, project_id=9) == (
        f"{ROOT}/admin/projects/view/9?group=project_milestones"
    )
