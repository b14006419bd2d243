"""Attachments: seeded files, GET of a lead lists its own, and the module defect that deletes
record #1's files on every successful lead, project or ticket PUT (2.0.8 and 3.x)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bot.sandbox import DEMO_FACTS, RunningSandbox
from tests.sandbox.helpers import assert_failure, assert_json, ticket_row

# A valid PUT body per record kind (for a record that is not #1).
UPDATES: dict[str, tuple[str, dict[str, Any]]] = {
    "leads": ("4", {"name": "José Á.", "source": "4", "status": "4"}),
    "projects": (
        "4",
        {
            "name": "SEO Audit 2025",
            "clientid": "2",
            "billing_type": "1",
            "start_date": "2023-11-02",
            "status": "4",
        },
    ),
    "tickets": ("3", {"subject": "Website is still down", "department": "1", "contactid": "5"}),
}


def files(api: httpx.Client, kind: str, key: int | str) -> list[dict[str, Any]]:
    answer = assert_json(api.get(f"/_sandbox/files/{kind}/{key}"), 200)
    assert answer["status"] is True
    return list(answer["files"])


def file_names(api: httpx.Client, kind: str, key: int | str) -> list[str]:
    return [row["file_name"] for row in files(api, kind, key)]


def test_seeded_files_on_record_one_and_others(api: httpx.Client) -> None:
    assert file_names(api, "leads", 1) == [DEMO_FACTS.first_lead_file]
    assert file_names(api, "projects", 1) == [DEMO_FACTS.first_project_file]
    assert file_names(api, "tickets", 1) == [DEMO_FACTS.first_ticket_file]
    assert file_names(api, "leads", 2) and file_names(api, "projects", 3)
    assert file_names(api, "tickets", 4)
    assert file_names(api, "leads", 4) == []


def test_a_lead_lists_its_attachments(api: httpx.Client) -> None:
    lead = assert_json(api.get("/api/leads/1"), 200)
    [attachment] = lead["attachments"]
    assert attachment["file_name"] == DEMO_FACTS.first_lead_file
    assert (attachment["rel_type"], attachment["rel_id"]) == ("lead", "1")
    assert attachment["filetype"] == "application/pdf" and attachment["dateadded"]
    assert assert_json(api.get("/api/leads/4"), 200)["attachments"] == []


@pytest.mark.parametrize("kind", sorted(UPDATES))
def test_a_successful_put_deletes_the_files_of_record_one(api: httpx.Client, kind: str) -> None:
    key, body = UPDATES[kind]
    api.post(f"/_sandbox/files/{kind}/{key}", json={"file_name": "own.pdf"})
    others = {other: file_names(api, kind, other) for other in (2, 3, 4)}
    assert file_names(api, kind, 1)
    assert assert_json(api.put(f"/api/{kind}/{key}", json=body), 200)["status"] is True
    assert file_names(api, kind, 1) == []
    # The updated record and every other record keep theirs.
    assert {other: file_names(api, kind, other) for other in (2, 3, 4)} == others
    assert "own.pdf" in file_names(api, kind, key)


@pytest.mark.parametrize("kind", sorted(UPDATES))
def test_a_failed_put_deletes_nothing(api: httpx.Client, kind: str) -> None:
    key, body = UPDATES[kind]
    first = file_names(api, kind, 1)
    # Validation failure, unknown column, missing record, and (2.0.8) nothing changed.
    assert assert_json(api.put(f"/api/{kind}/{key}", json={"x": "1"}), 404)["status"] is False
    assert api.put(f"/api/{kind}/{key}", json=dict(body, nope="1")).status_code == 200
    assert api.put(f"/api/{kind}/99999", json=body).status_code == 404
    assert file_names(api, kind, 1) == first
    assert assert_json(api.put(f"/api/{kind}/{key}", json=body), 200)["status"] is True
    api.post(f"/_sandbox/files/{kind}/1", json={"file_name": "again.pdf"})
    unchanged = api.put(f"/api/{kind}/{key}", json=body)
    assert assert_json(unchanged, 404)["status"] is False
    assert file_names(api, kind, 1) == ["again.pdf"]


def test_updating_record_one_itself_deletes_its_files(api: httpx.Client) -> None:
    body = {"name": "Sarah Connor", "source": "1", "status": "2", "email": "s@cyberdyne.example"}
    assert assert_json(api.put("/api/leads/1", json=body), 200)["status"] is True
    assert assert_json(api.get("/api/leads/1"), 200)["attachments"] == []


def test_customer_milestone_and_contact_puts_delete_no_files(api: httpx.Client) -> None:
    before = {kind: file_names(api, kind, 1) for kind in ("leads", "projects", "tickets")}
    puts = (
        ("/api/customers/2", {"company": "Acme Widgets Ltd", "city": "Salford"}),
        ("/api/milestones/2", {"name": "Design", "project_id": "1", "due_date": "2024-04-01"}),
        ("/api/contacts/2", {"email": "john.smith@acmecorporation.example"}),
    )
    for path, body in puts:
        assert assert_json(api.put(path, json=body), 200)["status"] is True, path
    assert {kind: file_names(api, kind, 1) for kind in before} == before


def test_3x_deletes_them_too(api_v3: httpx.Client) -> None:
    key, body = UPDATES["tickets"]
    assert file_names(api_v3, "tickets", 1)
    assert assert_json(api_v3.put(f"/api/tickets/{key}", json=body), 200)["status"] is True
    assert file_names(api_v3, "tickets", 1) == []
    # 3.x also succeeds when nothing changed, and deletes again.
    api_v3.post("/_sandbox/files/tickets/1", json={"file_name": "x.png", "filetype": "image/png"})
    assert assert_json(api_v3.put(f"/api/tickets/{key}", json=body), 200)["status"] is True
    assert file_names(api_v3, "tickets", 1) == []


def test_deleting_a_record_deletes_its_files(api: httpx.Client, sandbox: RunningSandbox) -> None:
    assert assert_json(api.delete("/api/leads/2"), 200)["status"] is True
    assert file_names(api, "leads", 2) == []
    assert assert_json(api.delete("/api/projects/3"), 200)["status"] is True
    assert file_names(api, "projects", 3) == []
    assert assert_json(api.delete("/api/tickets/4"), 200)["status"] is True
    assert file_names(api, "tickets", 4) == []
    assert file_names(api, "leads", 1) == [DEMO_FACTS.first_lead_file]
    assert ticket_row(api, 1)["ticketid"] == "1"


def test_files_control_endpoint(api: httpx.Client, sandbox: RunningSandbox) -> None:
    answer = assert_json(
        api.post("/_sandbox/files/projects/7", json={"file_name": "plan.xlsx"}), 200
    )
    assert answer["status"] is True and isinstance(answer["id"], int)
    [row] = files(api, "projects", 7)
    assert (row["id"], row["project_id"], row["file_name"]) == (str(answer["id"]), "7", "plan.xlsx")
    assert sandbox.store.files("projects", "7") == [row]
    assert assert_json(api.delete("/_sandbox/files/projects/7"), 200) == {
        "status": True,
        "deleted": 1,
    }
    assert files(api, "projects", 7) == []
    for bad in ({}, {"file_name": " "}, {"file_name": "a", "filetype": 3}, ["a"]):
        assert api.post("/_sandbox/files/leads/1", json=bad).status_code == 400
    for path in ("/_sandbox/files/customers/1", "/_sandbox/files/leads/x", "/_sandbox/files"):
        assert_failure(api.get(path), 404, "Unknown sandbox control.")
    with httpx.Client(base_url=sandbox.base_url) as anonymous:
        assert_failure(anonymous.get("/_sandbox/files/leads/1"), 404, "Token is not defined.")
        refused = anonymous.delete("/_sandbox/files/leads/1", headers={"authtoken": "a.b.c"})
        assert_failure(refused, 404, None)
    assert file_names(api, "leads", 1) == [DEMO_FACTS.first_lead_file]
