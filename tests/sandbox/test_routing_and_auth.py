"""Routing, authentication and the error pages, in the order the real server checks them."""

from __future__ import annotations

import httpx
import pytest

from bot.sandbox import DEFAULT_SANDBOX_TOKEN, RunningSandbox, running_sandbox
from tests.sandbox.helpers import assert_failure, assert_html, assert_json


def test_default_token_is_jwt_shaped_and_stable() -> None:
    from bot.sandbox.auth import make_sandbox_token

    segments = DEFAULT_SANDBOX_TOKEN.split(".")
    assert len(segments) == 3
    assert all(segments) and all(s.replace("-", "").replace("_", "").isalnum() for s in segments)
    assert make_sandbox_token() == DEFAULT_SANDBOX_TOKEN


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Token is not defined."),
        ({"authtoken": ""}, "Token is not defined."),
        ({"authtoken": "not-a-jwt"}, "Wrong number of segments"),
        ({"authtoken": "a.b"}, "Wrong number of segments"),
        ({"authtoken": "a$.b.c"}, "Syntax error, malformed JSON"),
        ({"authtoken": "eyJhIjoxfQ.eyJiIjoyfQ.c2lnbmF0dXJl"}, None),
    ],
)
def test_bad_tokens_answer_404_json(
    sandbox: RunningSandbox, headers: dict[str, str], message: str | None
) -> None:
    with httpx.Client(base_url=sandbox.base_url) as client:
        for path in ("/api/customers", "/api/tickets/1", "/api/milestones/search/x"):
            assert_failure(client.get(path, headers=headers), 404, message)
        assert_failure(client.post("/api/tickets", headers=headers, data={"x": "1"}), 404, message)


def test_authorization_header_is_ignored_in_2x(sandbox: RunningSandbox) -> None:
    with httpx.Client(base_url=sandbox.base_url) as client:
        response = client.get("/api/tickets", headers={"Authorization": sandbox.token})
        assert_failure(response, 404, "Token is not defined.")
        bearer = {"Authorization": f"Bearer {sandbox.token}"}
        assert_failure(client.get("/api/tickets", headers=bearer), 404, "Token is not defined.")


def test_header_name_is_case_insensitive(sandbox: RunningSandbox) -> None:
    with httpx.Client(base_url=sandbox.base_url) as client:
        response = client.get("/api/customers/1", headers={"AuthToken": sandbox.token})
        assert assert_json(response, 200)["userid"] == "1"


def test_configured_token_need_not_be_jwt_shaped() -> None:
    with (
        running_sandbox(token="plain-secret", seed=False) as running,
        httpx.Client(base_url=running.base_url) as client,
    ):
        ok = client.get("/api/tickets/search/zzz", headers={"authtoken": "plain-secret"})
        assert_failure(ok, 404, "No data were found")
        default = client.get("/api/tickets", headers={"authtoken": DEFAULT_SANDBOX_TOKEN})
        assert_failure(default, 404, None)


def test_unknown_paths_get_codeigniter_404_page(api: httpx.Client) -> None:
    for path in ("/", "/api", "/api/invoices", "/api/delete/customers", "/admin/clients", "/x/y"):
        assert_html(api.get(path), 404, "<h1>404 Page Not Found</h1>")
    # Unknown controllers answer 404 before the token is even looked at.
    assert_html(api.get("/api/nothing", headers={"authtoken": ""}), 404, "404 Page Not Found")


@pytest.mark.parametrize(
    "raw_path",
    [
        "/api/customers/search/a+b",
        "/api/customers/search/o'brien",
        "/api/customers/search/a&b",
        "/api/customers/search/(x)",
        "/api/customers/search/%C3%BC!",
        "/api/customers,1",
    ],
)
def test_disallowed_uri_characters_get_codeigniter_400_page(
    api: httpx.Client, raw_path: str
) -> None:
    response = api.get(api.base_url.copy_with(raw_path=raw_path.encode()))
    assert_html(response, 400, "The URI you submitted has disallowed characters.")


def test_percent_encoded_characters_are_allowed(api: httpx.Client) -> None:
    # "o'brien" encoded as one segment passes the character check and matches after decoding.
    url = api.base_url.copy_with(raw_path=b"/api/customers/search/o%27brien%20%26%20daughters")
    [hit] = assert_json(api.get(url), 200)
    assert hit["company"] == "O'Brien & Daughters Hardware"


def test_unknown_method_is_405_with_error_key(api: httpx.Client) -> None:
    for method, path in (
        ("PATCH", "/api/customers/1"),
        ("OPTIONS", "/api/leads"),
        ("HEAD", "/api/tickets/1"),
        ("POST", "/api/customers/search/acme"),
        ("DELETE", "/api/milestones/search/x"),
        ("GET", "/api/customers/profile"),
        ("PATCH", "/api/contacts/1"),
        ("POST", "/api/contacts/search/x"),
    ):
        response = api.request(method, path)
        assert response.status_code == 405, (method, path)
        if method != "HEAD":
            assert response.json() == {"status": False, "error": "Unknown method"}


def test_token_is_checked_before_the_method(sandbox: RunningSandbox) -> None:
    with httpx.Client(base_url=sandbox.base_url) as client:
        assert_failure(client.patch("/api/customers/1"), 404, "Token is not defined.")


def test_paths_are_normalised_like_codeigniter(api: httpx.Client) -> None:
    assert assert_json(api.get("/api/customers/1/"), 200)["userid"] == "1"
    doubled = api.base_url.copy_with(raw_path=b"//api//customers//1")
    assert assert_json(api.get(doubled), 200)["userid"] == "1"
    assert assert_json(api.get("/index.php/api/customers/1"), 200)["userid"] == "1"
    assert len(assert_json(api.get("/api/customers/"), 200)) == 36
    # Query strings are not part of the route.
    assert assert_json(api.get("/api/customers/1?foo=bar"), 200)["userid"] == "1"


def test_explicit_controller_methods_are_reachable(api: httpx.Client) -> None:
    # Without a matching route CodeIgniter calls api/<controller>/<method>/<args>.
    assert assert_json(api.get("/api/customers/data/1"), 200)
    hits = assert_json(api.get("/api/customers/data_search/acme"), 200)
    assert {hit["company"] for hit in hits} >= {"Acme Corporation"}


def test_control_endpoints_need_the_token(sandbox: RunningSandbox) -> None:
    with httpx.Client(base_url=sandbox.base_url) as client:
        assert_failure(client.post("/_sandbox/reset"), 404, "Token is not defined.")
        refused = client.post("/_sandbox/faults", json={"hang": True}, headers={"authtoken": "x"})
        assert_failure(refused, 404, "Wrong number of segments")
        assert sandbox.faults.hang is False
        unknown = client.post("/_sandbox/other", headers={"authtoken": sandbox.token})
        assert_failure(unknown, 404, "Unknown sandbox control.")
