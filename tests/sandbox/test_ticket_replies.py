"""``POST api/tickets/reply/<id>`` (3.x only): the reply row, the ticket's last reply, status
and read flags as Perfex's ``add_reply`` sets them; what 2.0.8 does with the same request."""

from __future__ import annotations

from typing import Any

import httpx

from bot.sandbox import RunningSandbox, schema
from bot.sandbox.store import now_text
from tests.sandbox.helpers import assert_failure, assert_json, ticket_row


def _replies(running: RunningSandbox, ticket_id: int) -> dict[str, Any]:
    answer = httpx.get(
        f"{running.base_url}/_sandbox/replies/{ticket_id}", headers={"authtoken": running.token}
    )
    return assert_json(answer, 200)  # type: ignore[no-any-return]


def _set_status(running: RunningSandbox, ticket_id: int, status: str) -> None:
    running.store.update(
        schema.TICKETS,
        str(ticket_id),
        {"status": status, "adminread": "1", "clientread": "1"},
    )


def test_a_staff_reply(api_v3: httpx.Client, sandbox_v3: RunningSandbox) -> None:
    _set_status(sandbox_v3, 3, "1")
    before = now_text()
    answer = assert_json(
        api_v3.post("/api/tickets/reply/3", data={"message": "On it.\nBack soon", "admin": "2"}),
        200,
    )
    assert answer["status"] is True and answer["message"] == "Ticket Reply Added Successful."
    assert isinstance(answer["reply_id"], int)
    seen = _replies(sandbox_v3, 3)
    ticket, replies = seen["ticket"], seen["replies"]
    assert ticket["status"] == "3"  # Answered by default
    assert ticket["lastreply"] >= before
    assert (ticket["adminread"], ticket["clientread"]) == ("0", "0")
    reply = replies[-1]
    assert reply["id"] == str(answer["reply_id"])
    assert reply["message"] == "On it.\nBack soon"  # staff replies keep what was sent
    assert reply["admin"] == "2" and reply["submitter"] == "Maria Garcia"
    assert reply["date"] == ticket["lastreply"]
    # The ticket list shows it too.
    row = assert_json(api_v3.get("/api/tickets/3"), 200)
    assert row["lastreply"] == ticket["lastreply"] and row["status"] == "3"


def test_a_staff_reply_with_a_status_and_json(
    api_v3: httpx.Client, sandbox_v3: RunningSandbox
) -> None:
    answer = api_v3.post(
        "/api/tickets/reply/4", json={"message": "Closing", "admin": 1, "status": 5}
    )
    assert assert_json(answer, 200)["status"] is True
    assert _replies(sandbox_v3, 4)["ticket"]["status"] == "5"


def test_a_customer_reply(api_v3: httpx.Client, sandbox_v3: RunningSandbox) -> None:
    _set_status(sandbox_v3, 5, "3")
    assert_json(
        api_v3.post(
            "/api/tickets/reply/5", data={"message": "<marquee>Still</marquee> broken\nhelp"}
        ),
        200,
    )
    seen = _replies(sandbox_v3, 5)
    assert seen["ticket"]["status"] == "1"  # back to Open
    reply = seen["replies"][-1]
    assert reply["admin"] is None and reply["userid"] == "0"
    assert reply["message"] == "Still broken<br />\nhelp"  # tags stripped, newlines kept
    # A customer's reply leaves an "In progress" ticket as it is.
    _set_status(sandbox_v3, 5, "2")
    assert_json(api_v3.post("/api/tickets/reply/5", data={"message": "any news?"}), 200)
    assert _replies(sandbox_v3, 5)["ticket"]["status"] == "2"


def test_reply_failures(api_v3: httpx.Client) -> None:
    assert_failure(
        api_v3.post("/api/tickets/reply/9999", data={"message": "x"}), 404, "Ticket not found"
    )
    assert_failure(
        api_v3.post("/api/tickets/reply/3", data={"message": "", "admin": "1"}),
        404,
        "Reply message is required",
    )
    assert_failure(
        api_v3.post("/api/tickets/reply/abc", data={"message": "x"}), 404, "Invalid Ticket ID"
    )
    assert_failure(api_v3.post("/api/tickets/reply/3"), 406, "Data Not Acceptable OR Not Provided")
    assert api_v3.get("/api/tickets/reply/3").status_code == 405


def test_no_reply_route_in_2_0_8(api: httpx.Client, sandbox: RunningSandbox) -> None:
    # 2.0.8 routes api/tickets/reply/3 to the ticket create handler: a validation failure,
    # no reply and no new ticket.
    count = len(assert_json(api.get("/api/tickets"), 200))
    answer = assert_json(api.post("/api/tickets/reply/3", data={"message": "hello"}), 404)
    assert answer["status"] is False
    assert answer["error"]["subject"] == "The Ticket Name field is required."
    assert len(assert_json(api.get("/api/tickets"), 200)) == count
    assert _replies(sandbox, 3)["replies"] == []
    assert ticket_row(api, 3)["status"] == _replies(sandbox, 3)["ticket"]["status"]


def test_replies_control_for_a_missing_ticket(sandbox: RunningSandbox) -> None:
    answer = httpx.get(
        f"{sandbox.base_url}/_sandbox/replies/9999", headers={"authtoken": sandbox.token}
    )
    assert answer.status_code == 404


def test_deleting_a_ticket_deletes_its_replies(
    api_v3: httpx.Client, sandbox_v3: RunningSandbox
) -> None:
    assert_json(api_v3.post("/api/tickets/reply/6", data={"message": "x", "admin": "1"}), 200)
    assert assert_json(api_v3.delete("/api/delete/tickets/6"), 200)["status"] is True
    with sandbox_v3.store._lock:
        left = sandbox_v3.store._conn.execute(
            'SELECT COUNT(*) FROM "ticket_replies" WHERE ticketid = 6'
        ).fetchone()[0]
    assert left == 0
