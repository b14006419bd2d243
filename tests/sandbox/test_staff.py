"""Staff: ``GET api/staffs``, ``api/staffs/<id>``, ``api/staffs/search/<term>`` (3.x: ``?q=``,
paged lists), password hashes as PMP hands them out, and tokens without the staff permission."""

from __future__ import annotations

import httpx
import pytest

from bot.console.slack_standin import default_users
from bot.sandbox import DEMO_FACTS, RunningSandbox, running_sandbox
from bot.sandbox.auth import bulk_token
from tests.sandbox.helpers import assert_failure, assert_json, assert_strings_only, by_key


def test_staff_list_is_every_staff_row_with_its_password_hash(api: httpx.Client) -> None:
    staff = assert_json(api.get("/api/staffs"), 200)
    assert isinstance(staff, list) and len(staff) == DEMO_FACTS.staff_count
    assert_strings_only([{k: v for k, v in row.items() if k != "customfields"} for row in staff])
    first = staff[0]
    for column in ("staffid", "firstname", "lastname", "email", "phonenumber", "active", "admin"):
        assert column in first
    for column in ("role", "datecreated", "last_login", "password"):
        assert column in first
    assert first["customfields"] == []
    assert all(row["password"].startswith(DEMO_FACTS.password_hash_prefix) for row in staff)
    rows = by_key(staff, "staffid")
    assert rows["1"]["admin"] == "1" and rows["2"]["admin"] == "0"
    assert [key for key, row in rows.items() if row["active"] == "0"] == [
        str(key) for key in DEMO_FACTS.inactive_staff_ids
    ]


def test_one_staff_member_and_a_missing_one(api: httpx.Client) -> None:
    member = assert_json(api.get("/api/staffs/2"), 200)
    assert (member["firstname"], member["lastname"]) == ("Maria", "Garcia")
    assert member["email"] == "maria.garcia@pmp.example"
    assert_failure(api.get("/api/staffs/999"), 404, "No data were found")


def test_records_point_at_real_staff(api: httpx.Client) -> None:
    staff_ids = {row["staffid"] for row in assert_json(api.get("/api/staffs"), 200)}
    tickets = assert_json(api.get("/api/tickets"), 200)
    assigned = {ticket["assigned"] for ticket in tickets} - {"0"}
    assert assigned and assigned <= staff_ids
    leads = assert_json(api.get("/api/leads"), 200)
    assert {lead["assigned"] for lead in leads} <= staff_ids


def test_console_people_have_staff_with_their_email(api: httpx.Client) -> None:
    emails = {row["email"]: row for row in assert_json(api.get("/api/staffs"), 200)}
    for person in default_users():
        assert person.email in emails, person.email
        assert emails[person.email]["active"] == "1"
    for staff_id, email in DEMO_FACTS.console_staff:
        assert emails[email]["staffid"] == str(staff_id)


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("sam", ["7"]),
        ("GARCÍA", ["2"]),  # case- and accent-insensitive, like MySQL
        ("maria garcia", ["2"]),  # the full name
        ("@example.com", ["6", "7"]),  # e-mail
        ("0105", ["5"]),  # phone number
        ("keller", ["8"]),  # inactive staff are found too
    ],
)
def test_staff_search(api: httpx.Client, term: str, expected: list[str]) -> None:
    hits = assert_json(api.get(f"/api/staffs/search/{term}"), 200)
    assert sorted(hit["staffid"] for hit in hits) == expected


def test_staff_search_without_hits_and_with_a_quote(api: httpx.Client) -> None:
    assert_failure(api.get("/api/staffs/search/nobody-here"), 404, "No data were found")
    broken = api.get('/api/staffs/search/a"b')
    assert broken.status_code == 500 and "SQL syntax" in broken.text


def test_staff_writes_are_not_served(api: httpx.Client) -> None:
    assert assert_json(api.post("/api/staffs", data={"firstname": "X"}), 405) == {
        "status": False,
        "error": "Unknown method",
    }


def test_v3_staff_list_is_paged_and_search_takes_q(api_v3: httpx.Client) -> None:
    answer = assert_json(api_v3.get("/api/staffs", params={"per_page": 5}), 200)
    assert len(answer["data"]) == 5
    assert answer["meta"]["total"] == DEMO_FACTS.staff_count and answer["meta"]["has_more"]
    found = assert_json(api_v3.get("/api/staffs/search", params={"q": "alex"}), 200)
    assert [hit["email"] for hit in found["data"]] == ["alex@example.com"]
    assert assert_json(api_v3.get("/api/staffs/6"), 200)["firstname"] == "Alex"
    assert api_v3.get("/api/staffs/search").status_code == 400


# --- tokens and their permissions -------------------------------------------------------------


def _restricted(running: RunningSandbox, permissions: dict[str, list[str]]) -> str:
    answer = httpx.post(
        f"{running.base_url}/_sandbox/tokens",
        json={"name": "Limited", "permissions": permissions},
        headers={"authtoken": running.token},
    )
    token = assert_json(answer, 200)["token"]
    assert isinstance(token, str) and token.count(".") == 2
    return token


@pytest.mark.parametrize("version", [2, 3])
def test_a_token_without_staff_permission_gets_403(version: int) -> None:
    with running_sandbox(api_version=version) as running:
        token = _restricted(running, {"customers": ["get", "search_get"], "tickets": ["get"]})
        with httpx.Client(base_url=running.base_url, headers={"authtoken": token}) as api:
            denied = {"status": False, "message": "This API key does not have enough permissions"}
            assert assert_json(api.get("/api/staffs"), 403) == denied
            assert assert_json(api.get("/api/staffs/search/sam"), 403) == denied
            assert assert_json(api.get("/api/staffs/1"), 403) == denied
            # What it was granted works; a capability it lacks is refused too.
            assert api.get("/api/customers/search/acme").status_code == 200
            assert api.get("/api/tickets").status_code == 200
            assert assert_json(api.post("/api/tickets", data={}), 403) == denied
            # A missing method still answers 405 first, a bad token still 404.
            assert api.patch("/api/staffs/1").status_code == 405
        assert_failure(
            httpx.get(f"{running.base_url}/api/staffs", headers={"authtoken": "x.y"}),
            404,
            "Wrong number of segments",
        )


def test_a_token_with_staff_permission_reads_staff(sandbox: RunningSandbox) -> None:
    token = _restricted(sandbox, {"staffs": ["get"]})
    with httpx.Client(base_url=sandbox.base_url, headers={"authtoken": token}) as api:
        assert api.get("/api/staffs").status_code == 200
        assert api.get("/api/staffs/search/sam").status_code == 403


def test_token_control_checks_its_input(sandbox: RunningSandbox) -> None:
    with httpx.Client(base_url=sandbox.base_url, headers={"authtoken": sandbox.token}) as control:
        bad = control.post("/_sandbox/tokens", json={"permissions": {"staffs": ["fly"]}})
        assert bad.status_code == 400 and "unknown capabilities" in bad.json()["message"]
        assert control.post("/_sandbox/tokens", json={"count": -1}).status_code == 400
        assert control.post("/_sandbox/tokens", json={"permissions": ["x"]}).status_code == 400


def test_bulk_tokens_are_deterministic_and_full_access() -> None:
    with running_sandbox(tokens=3) as running:
        control = {"authtoken": running.token}
        url = f"{running.base_url}/_sandbox/tokens"
        listed = httpx.post(url, json={"count": 3}, headers=control)
        tokens = assert_json(listed, 200)["tokens"]
        assert tokens == [bulk_token(1), bulk_token(2), bulk_token(3)]
        assert len(set(tokens)) == 3 and running.token not in tokens
        for token in tokens:
            answer = httpx.get(f"{running.base_url}/api/staffs/1", headers={"authtoken": token})
            assert answer.status_code == 200
        # A workspace token can't drive the sandbox's controls.
        refused = httpx.post(f"{running.base_url}/_sandbox/reset", headers={"authtoken": tokens[0]})
        assert refused.status_code == 404
        count = httpx.get(f"{running.base_url}/_sandbox/tokens", headers=control)
        assert assert_json(count, 200)["count"] == 4
    # Unknown to a sandbox that was not given them.
    with running_sandbox() as plain:
        answer = httpx.get(f"{plain.base_url}/api/staffs", headers={"authtoken": bulk_token(1)})
        assert_failure(answer, 404, None)
