"""Telling the REST API module 3.x from 2.x, once per client, and searching 3.x with ?q=."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from bot.pmp import PmpClient, PmpConnectionError, PmpSearchRefusedError
from tests.pmp.conftest import (
    CONTACT_ROW,
    CUSTOMER_ROW,
    NO_DATA,
    TOKEN,
    ClientFactory,
    FakePmp,
    Routes,
    html_response,
    json_response,
)

NOT_DEFINED = json_response(404, {"status": False, "message": "Token is not defined."})


def _customers(*ids: int) -> list[dict[str, Any]]:
    return [{**CUSTOMER_ROW, "userid": str(i)} for i in ids]


async def test_a_3x_module_takes_the_bearer_token(make_client: ClientFactory) -> None:
    fake = FakePmp(json_response(404, NO_DATA))
    pmp = make_client(fake)
    assert pmp.api_version is None
    assert await pmp.detect_api_version() == 3
    assert await pmp.detect_api_version() == 3  # remembered: no second request
    [probe] = fake.requests
    assert probe.method == "GET"
    assert probe.url.path == "/api/customers/2147483647"
    assert "authtoken" not in probe.headers
    assert probe.headers["authorization"] == f"Bearer {TOKEN}"
    assert pmp.api_version == 3


async def test_a_2x_module_says_the_token_is_not_defined(make_client: ClientFactory) -> None:
    fake = FakePmp(NOT_DEFINED)
    pmp = make_client(fake)
    assert await pmp.detect_api_version() == 2
    assert await pmp.detect_api_version() == 2
    assert len(fake.requests) == 1
    assert pmp.api_version == 2


@pytest.mark.parametrize(
    "answer",
    [
        html_response(500),
        json_response(401, {"status": False, "message": "API disabled"}),
        json_response(404, {"status": False, "message": None}),
    ],
)
async def test_an_answer_that_shows_neither_is_asked_again_later(
    make_client: ClientFactory, answer: httpx.Response
) -> None:
    fake = FakePmp(answer)
    pmp = make_client(fake)
    assert await pmp.detect_api_version() == 2
    assert pmp.api_version is None
    await pmp.detect_api_version()
    assert len(fake.requests) == 2


async def test_an_unreachable_pmp_is_reported(make_client: ClientFactory) -> None:
    pmp = make_client(FakePmp(httpx.ConnectError("refused")))
    with pytest.raises(PmpConnectionError):
        await pmp.detect_api_version()


async def test_a_3x_list_envelope_or_record_id_shows_the_version(
    make_client: ClientFactory,
) -> None:
    fake = FakePmp(json_response(200, {"data": _customers(1), "meta": {"last_page": 1}}))
    pmp = make_client(fake)
    await pmp.customers.list()
    assert pmp.api_version == 3
    fake = FakePmp(json_response(200, {"status": True, "message": "ok", "record_id": 9}))
    pmp = make_client(fake)
    await pmp.tickets.create(subject="S", department=1, contactid=4)
    assert pmp.api_version == 3
    fake = FakePmp(json_response(200, _customers(1)))
    pmp = make_client(fake)
    await pmp.customers.list()
    assert pmp.api_version is None  # a bare array is both


async def test_3x_searches_use_q_and_follow_pages(make_client: ClientFactory) -> None:
    fake = FakePmp(
        json_response(404, NO_DATA),  # the version probe: token accepted
        json_response(200, {"data": _customers(1, 2), "meta": {"current_page": 1, "last_page": 2}}),
        json_response(200, {"data": _customers(3), "meta": {"current_page": 2, "last_page": 2}}),
    )
    pmp = make_client(fake)
    await pmp.detect_api_version()
    found = await pmp.customers.search("a/b c?")
    assert [c.id for c in found] == [1, 2, 3]
    first, second = fake.requests[1:]
    assert first.url.path == "/api/customers/search"
    assert first.url.params["q"] == "a/b c?"
    assert "page" not in first.url.params
    assert second.url.params["q"] == "a/b c?"
    assert second.url.params["page"] == "2"


async def test_2x_searches_keep_the_term_in_the_path(make_client: ClientFactory) -> None:
    fake = FakePmp(NOT_DEFINED, json_response(200, [CONTACT_ROW]))
    pmp = make_client(fake)
    await pmp.detect_api_version()
    await pmp.contacts.search("ana lopez")
    assert fake.requests[1].url.raw_path == b"/api/contacts/search/ana%20lopez"
    assert "q" not in fake.requests[1].url.params


async def test_a_term_a_web_server_may_refuse_waits_for_the_version(
    make_client: ClientFactory,
) -> None:
    fake = FakePmp(json_response(404, NO_DATA), json_response(200, _customers(4)))
    pmp = make_client(fake)
    assert [c.id for c in await pmp.customers.search("acme corp")] == [4]
    probe, search = fake.requests
    assert probe.headers["authorization"] == f"Bearer {TOKEN}"
    assert search.url.params["q"] == "acme corp"


async def test_a_plain_term_is_sent_without_asking(make_client: ClientFactory) -> None:
    fake = FakePmp(json_response(200, _customers(4)))
    pmp = make_client(fake)
    await pmp.customers.search("acme-corp_2@x.example")
    [search] = fake.requests
    assert search.url.raw_path == b"/api/customers/search/acme-corp_2%40x%2Eexample"
    assert pmp.api_version is None


async def test_a_refused_search_on_3x_is_asked_again_with_q(make_client: ClientFactory) -> None:
    fake = FakePmp(
        html_response(403, "<h1>Forbidden</h1>"),  # a web server refusing even a plain term
        json_response(404, NO_DATA),  # the probe: 3.x
        json_response(200, _customers(4)),
    )
    pmp = make_client(fake)
    assert [c.id for c in await pmp.customers.search("acme")] == [4]
    assert fake.requests[1].headers["authorization"] == f"Bearer {TOKEN}"
    assert fake.requests[2].url.params["q"] == "acme"
    assert pmp.api_version == 3


async def test_a_refused_search_on_2x_is_reported(make_client: ClientFactory) -> None:
    fake = FakePmp(NOT_DEFINED, html_response(404))
    pmp = make_client(fake)
    with pytest.raises(PmpSearchRefusedError):
        await pmp.customers.search("a/b")
    assert len(fake.requests) == 2  # the version, then the search
    with pytest.raises(PmpSearchRefusedError):
        await pmp.customers.search("c/d")  # known 2.x: not asked again
    assert len(fake.requests) == 3


async def test_searches_arriving_together_ask_the_version_once() -> None:
    routes = Routes(
        {
            ("GET", "/api/customers/2147483647"): json_response(404, NO_DATA),
            ("GET", "/api/customers/search"): json_response(200, _customers(1)),
        }
    )
    seen: list[str] = []

    async def slow_pmp(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        await asyncio.sleep(0)  # other requests get going meanwhile
        return routes(request)

    transport = httpx.MockTransport(slow_pmp)
    async with PmpClient(
        base_url="https://crm.example.com", token=TOKEN, transport=transport
    ) as pmp:
        results = await asyncio.gather(*(pmp.customers.search(f"two words {n}") for n in range(5)))
    assert all([c.id for c in found] == [1] for found in results)
    assert seen.count("/api/customers/2147483647") == 1
    assert seen.count("/api/customers/search") == 5
