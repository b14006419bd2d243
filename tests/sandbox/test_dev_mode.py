"""A PMP left in development mode: PHP warnings printed as HTML before the JSON of lead,
milestone, ticket and project writes, after which the status stays 200 and the content type
HTML (pmp-api-behaviour.md, "Servers in development mode")."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bot.sandbox import RunningSandbox, running_sandbox
from tests.sandbox.helpers import assert_json, ticket_row

WARNING_BLOCK = re.compile(
    r'<div style="border:1px solid #990000;padding-left:20px;margin:0 0 10px 0;">\n'
    r"<h4>A PHP Error was encountered</h4>\n"
    r"<p>Severity: Warning</p>\n"
    r"<p>Message:  (?P<message>[^<]*)</p>\n"
    r"<p>Filename: (?P<filename>[^<]*)</p>\n"
    r"<p>Line Number: (?P<line>\d+)</p>\n"
    r"</div>"
)


@pytest.fixture
def dev(api: httpx.Client, sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    sandbox.faults.dev_mode = True
    yield api


def split(response: httpx.Response) -> tuple[list[str], Any]:
    """The warnings' messages and the JSON after them (the whole answer must be just that)."""
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "text/html; charset=UTF-8"
    text = response.text
    messages: list[str] = []
    position = 0
    while (block := WARNING_BLOCK.match(text, position)) is not None:
        messages.append(block.group("message"))
        position = block.end()
    assert messages, text[:300]
    return messages, json.loads(text[position:])


def test_lead_put_prints_warnings_then_its_json(dev: httpx.Client) -> None:
    body = {"name": "Sarah C.", "source": "1", "status": "2"}
    messages, answer = split(dev.put("/api/leads/1", json=body))
    assert answer == {"status": True, "message": "Lead Update Successful."}
    assert messages[:2] == ['Undefined array key "address"', 'Undefined array key "email"']
    assert 'Undefined array key "file"' in messages
    assert messages[-1].startswith("Cannot modify header information - headers already sent")
    assert assert_json(dev.get("/api/leads/1"), 200)["name"] == "Sarah C."  # reads stay JSON


def test_a_failure_after_warnings_answers_200_with_the_failure_json(dev: httpx.Client) -> None:
    body = {"name": "Sarah Connor", "source": "1", "status": "2"}
    split(dev.put("/api/leads/1", json=body))
    _, answer = split(dev.put("/api/leads/1", json=body))  # nothing changed: "Update Fail."
    assert answer == {"status": False, "message": "Lead Update Fail."}
    # A validation failure comes before the model: no warning, the usual 404 JSON.
    assert assert_json(dev.put("/api/leads/1", json={"name": "x"}), 404)["status"] is False


def test_failed_project_create_answers_200_html_and_the_failure(dev: httpx.Client) -> None:
    messages, answer = split(dev.post("/api/projects", data={"name": "No customer"}))
    assert messages[0] == 'Undefined array key "file"'
    assert answer["status"] is False
    assert answer["error"]["clientid"] == "The clientid field is required."


def test_milestone_create_always_warns_about_its_start_date(dev: httpx.Client) -> None:
    fields = {
        "project_id": "1",
        "name": "Dev",
        "due_date": "2024-07-01",
        "start_date": "2024-06-01",
        "description": "d",
    }
    messages, answer = split(dev.post("/api/milestones", data=fields))
    assert answer == {"status": True, "message": "Milestone add successful."}
    assert messages[0] == 'Undefined array key "start_date"'


@pytest.mark.parametrize(
    ("method", "path", "fields"),
    [
        ("POST", "/api/leads", {"name": "Dev Lead", "source": "1", "status": "2", "assigned": "1"}),
        ("POST", "/api/tickets", {"subject": "Dev", "department": "1", "contactid": "1"}),
        (
            "POST",
            "/api/projects",
            {
                "name": "Dev",
                "clientid": "1",
                "billing_type": "1",
                "start_date": "2024-01-01",
                "status": "1",
            },
        ),
        ("PUT", "/api/tickets/2", {"subject": "Dev", "department": "1", "contactid": "1"}),
        (
            "PUT",
            "/api/projects/2",
            {
                "name": "Dev",
                "clientid": "1",
                "billing_type": "1",
                "start_date": "2024-01-01",
                "status": "1",
            },
        ),
        ("PUT", "/api/milestones/2", {"name": "Dev", "project_id": "1", "due_date": "2024-07-01"}),
    ],
)
def test_every_lead_milestone_ticket_and_project_write_warns(
    dev: httpx.Client, method: str, path: str, fields: dict[str, str]
) -> None:
    response = dev.post(path, data=fields) if method == "POST" else dev.put(path, json=fields)
    messages, answer = split(response)
    assert answer["status"] is True
    assert any(message.startswith("Undefined array key") for message in messages)


def test_an_uploaded_file_is_no_warning(dev: httpx.Client) -> None:
    fields = {"subject": "With file", "department": "1", "contactid": "1", "message": "hi"}
    files = {"file": ("shot.png", b"png", "image/png")}
    answer = dev.post("/api/tickets", data=fields, files=files)
    assert assert_json(answer, 200) == {"status": True, "message": "Ticket add successful."}


def test_customer_and_contact_writes_stay_json(dev: httpx.Client) -> None:
    assert assert_json(dev.put("/api/customers/2", json={"company": "Widgets"}), 200)["status"]
    contact = {"email": "john.smith@acmecorporation.example"}
    assert assert_json(dev.put("/api/contacts/2", json=contact), 200)["status"]
    assert ticket_row(dev, 1)["ticketid"] == "1"


def test_warnings_before_a_database_error_page(dev: httpx.Client) -> None:
    body = {"name": "Sarah C.", "source": "1", "status": "2", "unknown_column": "x"}
    response = dev.put("/api/leads/1", json=body)
    assert response.status_code == 200
    assert response.text.index("A PHP Error was encountered") < response.text.index(
        "A Database Error Occurred"
    )


def test_switched_over_http(api: httpx.Client, sandbox: RunningSandbox) -> None:
    answer = assert_json(api.post("/_sandbox/faults", json={"dev_mode": True}), 200)
    assert answer["faults"]["dev_mode"] is True
    body = {"name": "Sarah C.", "source": "1", "status": "2"}
    split(api.put("/api/leads/1", json=body))
    assert_json(api.post("/_sandbox/faults", json={"dev_mode": False}), 200)
    assert assert_json(api.put("/api/leads/1", json=dict(body, name="Sarah D.")), 200)["status"]


def test_running_sandbox_starts_in_dev_mode_when_asked() -> None:
    with (
        running_sandbox(dev_mode=True) as running,
        httpx.Client(base_url=running.base_url, headers={"authtoken": running.token}) as api,
    ):
        assert running.faults.dev_mode is True
        body = {"subject": "Dev", "department": "1", "contactid": "1"}
        _, answer = split(api.put("/api/tickets/2", json=body))
        assert answer == {"status": True, "message": "Ticket Update Successful."}
