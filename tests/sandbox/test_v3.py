"""The 3.x module's extras: list envelopes, ?q=, Bearer tokens, record_id, 422, lenient PUT."""

from __future__ import annotations

import httpx

from bot.sandbox import DEMO_FACTS, RunningSandbox
from tests.sandbox.helpers import assert_failure, assert_json, assert_strings_only


def test_lists_are_enveloped_20_a_page(api_v3: httpx.Client) -> None:
    answer = assert_json(api_v3.get("/api/customers"), 200)
    assert set(answer) == {"data", "meta"}
    assert len(answer["data"]) == 20
    assert answer["meta"] == {
        "page": 1,
        "per_page": 20,
        "total": DEMO_FACTS.customer_count,
        "total_pages": 2,
        "has_more": True,
        "current_page": 1,
        "last_page": 2,
    }
    assert_strings_only(answer["data"])


def test_pages_and_page_size(api_v3: httpx.Client) -> None:
    first = assert_json(api_v3.get("/api/customers"), 200)["data"]
    second = assert_json(api_v3.get("/api/customers", params={"page": 2}), 200)
    assert len(second["data"]) == DEMO_FACTS.customer_count - 20
    assert second["meta"]["has_more"] is False
    everyone = [c["userid"] for c in first + second["data"]]
    assert len(set(everyone)) == DEMO_FACTS.customer_count
    # Past the end the module clamps to the last page.
    assert assert_json(api_v3.get("/api/customers", params={"page": 99}), 200) == second
    big = assert_json(api_v3.get("/api/tickets", params={"per_page": 100}), 200)
    assert len(big["data"]) == DEMO_FACTS.ticket_count and big["meta"]["total_pages"] == 1


def test_bulk_customers_page_through(api_v3: httpx.Client, sandbox_v3: RunningSandbox) -> None:
    sandbox_v3.store.add_bulk_customers(30)
    meta = assert_json(api_v3.get("/api/customers"), 200)["meta"]
    assert meta["total"] == DEMO_FACTS.customer_count + 30
    assert meta["last_page"] == 4


def test_single_records_are_not_enveloped(api_v3: httpx.Client) -> None:
    assert assert_json(api_v3.get("/api/customers/1"), 200)["company"] == "Acme Corporation"
    assert isinstance(assert_json(api_v3.get("/api/milestones/1"), 200), list)


def test_searches_are_enveloped_like_lists(api_v3: httpx.Client) -> None:
    answer = assert_json(api_v3.get("/api/customers/search/acme"), 200)
    assert [hit["company"] for hit in answer["data"]] == [
        "Acme Corporation",
        "Acme Supplies Inc.",
        "Acme Widgets Ltd",
    ]
    assert answer["meta"] == {
        "page": 1,
        "per_page": 20,
        "total": 3,
        "total_pages": 1,
        "has_more": False,
        "current_page": 1,
        "last_page": 1,
    }
    tickets = assert_json(api_v3.get("/api/tickets/search/a"), 200)
    assert len(tickets["data"]) == 20 and tickets["meta"]["has_more"] is True
    second = assert_json(api_v3.get("/api/tickets/search/a", params={"page": 2}), 200)
    assert not {t["ticketid"] for t in tickets["data"]} & {t["ticketid"] for t in second["data"]}
    five = assert_json(api_v3.get("/api/tickets/search/a", params={"per_page": 5}), 200)
    assert len(five["data"]) == 5 and five["meta"]["per_page"] == 5
    assert_failure(api_v3.get("/api/tickets/search/zz-none-zz"), 404, "No data were found")


def test_search_takes_q(api_v3: httpx.Client) -> None:
    answer = assert_json(api_v3.get("/api/customers/search", params={"q": "Müller & Söhne"}), 200)
    assert [hit["userid"] for hit in answer["data"]] == ["5"]
    # A term with "/" or "?" cannot be a path segment on some servers: ?q= carries it.
    slash = assert_json(api_v3.get("/api/projects/search", params={"q": "2024> & B"}), 200)
    assert [hit["id"] for hit in slash["data"]] == ["15"]
    contacts = assert_json(api_v3.get("/api/contacts/search", params={"q": "jane.doe"}), 200)
    assert [hit["id"] for hit in contacts["data"]] == ["1"]
    assert_failure(
        api_v3.get("/api/customers/search"),
        400,
        "Search term is required. Use /api/customers/search/{term} or "
        "/api/customers/search?q={term}",
    )


def test_bearer_token_is_accepted(sandbox_v3: RunningSandbox) -> None:
    with httpx.Client(base_url=sandbox_v3.base_url) as client:
        bearer = {"Authorization": f"Bearer {sandbox_v3.token}"}
        assert assert_json(client.get("/api/tickets/1", headers=bearer), 200)["ticketid"] == "1"
        wrong = {"Authorization": "Bearer a.b.c"}
        assert_failure(client.get("/api/tickets/1", headers=wrong), 404, None)
        assert_failure(client.get("/api/tickets/1"), 404, "Token is not defined.")


def test_create_returns_record_id(api_v3: httpx.Client) -> None:
    answer = assert_json(api_v3.post("/api/customers", data={"company": "Versioned Ltd"}), 200)
    assert answer["status"] is True and answer["message"] == "Client add successful."
    record_id = answer["record_id"]
    assert isinstance(record_id, int)
    assert assert_json(api_v3.get(f"/api/customers/{record_id}"), 200)["company"] == (
        "Versioned Ltd"
    )


def test_validation_is_422_with_errors(api_v3: httpx.Client) -> None:
    answer = assert_json(api_v3.post("/api/tickets", data={"subject": "x"}), 422)
    expected = {
        "department": "The Department field is required.",
        "contactid": "The Contact field is required.",
    }
    assert answer["errors"] == answer["error"] == expected
    assert answer["message"].startswith("<p>The Department field is required.</p>\n")


def test_put_without_change_succeeds_and_unknown_fields_are_dropped(api_v3: httpx.Client) -> None:
    record = assert_json(api_v3.get("/api/customers/3"), 200)
    for _ in range(2):
        answer = assert_json(api_v3.put("/api/customers/3", json=record), 200)
        assert answer == {"status": True, "message": "Customers Update Successful."}
    assert assert_json(api_v3.get("/api/customers/3"), 200) == record
