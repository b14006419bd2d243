"""Changes made from PMP's side (``POST /_sandbox/changes`` and the console's ``pmp-change``):
the store changes as PMP's web UI changes it, dates included, and the hooks it fires."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest

from bot.console.shell import ConsoleShell
from bot.console.slack_standin import running_slack_standin
from bot.run.shell import run_shell
from bot.sandbox import RunningSandbox, schema
from bot.sandbox.changes import ChangeError, parse_command
from bot.sandbox.store import now_text, today_text
from tests.console.toy_app import SIGNING_SECRET, build_toy_app, serve
from tests.sandbox.helpers import assert_json, ticket_row


def _change(running: RunningSandbox, change: dict[str, Any], status: int = 200) -> Any:
    answer = httpx.post(
        f"{running.base_url}/_sandbox/changes", json=change, headers={"authtoken": running.token}
    )
    return assert_json(answer, status)


def test_ticket_status_in_the_web_ui(api: httpx.Client, sandbox: RunningSandbox) -> None:
    before = ticket_row(api, 3)
    answer = _change(sandbox, {"kind": "ticket", "id": 3, "fields": {"status": "4"}})
    assert answer["status"] is True and answer["action"] == "update" and answer["id"] == "3"
    after = ticket_row(api, 3)
    assert after["status"] == "4" and after["status_name"] == "On Hold"
    # Only what was named changes (the web UI posts the whole form; nothing is reset).
    assert (after["priority"], after["assigned"]) == (before["priority"], before["assigned"])
    assert after["lastreply"] == before["lastreply"]
    # 2.0.8 sends no webhooks: a poller must notice.
    assert answer["events"] == [] and "no webhooks" in answer["summary"]


def test_ticket_changes_fire_what_perfex_fires(sandbox_v3: RunningSandbox) -> None:
    sandbox_v3.store.reset()
    status = _change(sandbox_v3, {"kind": "tickets", "id": "3", "fields": {"status": "2"}})
    assert status["events"] == ["ticket_status_changed"]
    # Priority and assignee: only the unbridged ticket_settings_updated hook.
    quiet = _change(sandbox_v3, {"kind": "ticket", "id": 3, "fields": {"priority": "3"}})
    assert quiet["events"] == [] and "no webhook event" in quiet["summary"]
    created = _change(
        sandbox_v3, {"kind": "ticket", "action": "create", "fields": {"subject": "Printer on fire"}}
    )
    assert created["events"] == ["ticket_created"]
    record = created["record"]
    assert record["subject"] == "Printer on fire" and record["status"] == "1"
    assert record["date"] >= today_text() and record["lastreply"] is None
    assert record["admin"] == "1" and record["userid"] != "0"
    gone = _change(sandbox_v3, {"kind": "ticket", "id": created["id"], "action": "delete"})
    assert gone["events"] == ["ticket_deleted"] and gone["record"] is None


def test_replies_from_staff_and_customer(sandbox_v3: RunningSandbox) -> None:
    sandbox_v3.store.reset()
    before = now_text()
    staff = _change(
        sandbox_v3,
        {"kind": "ticket", "id": 8, "action": "reply", "message": "Fixed", "staff_id": 3},
    )
    assert staff["record"]["status"] == "3" and staff["record"]["lastreply"] >= before
    assert staff["record"]["staff_id_replying"] is None
    assert staff["events"][-1] == "ticket_reply_created"
    customer = _change(
        sandbox_v3,
        {"kind": "ticket", "id": 8, "action": "reply", "message": "Thanks!", "from": "customer"},
    )
    assert customer["record"]["status"] == "1"
    assert customer["events"] == ["ticket_status_changed", "ticket_reply_created"]
    replies = httpx.get(
        f"{sandbox_v3.base_url}/_sandbox/replies/8", headers={"authtoken": sandbox_v3.token}
    ).json()["replies"]
    assert [reply["message"] for reply in replies[-2:]] == ["Fixed", "Thanks!"]
    assert replies[-2]["submitter"] == "Tom Becker"
    assert replies[-1]["contactid"] == staff["record"]["contactid"] != "0"


def test_lead_project_milestone_and_staff_changes(sandbox_v3: RunningSandbox) -> None:
    sandbox_v3.store.reset()
    lead = sandbox_v3.store.row(schema.LEADS, "5")
    assert lead is not None
    new_status = "3" if lead["status"] != "3" else "4"
    changed = _change(
        sandbox_v3, {"kind": "lead", "id": 5, "fields": {"status": new_status, "assigned": "2"}}
    )
    record = changed["record"]
    assert record["last_lead_status"] == lead["status"]
    assert record["last_status_change"] >= today_text()
    assert changed["events"] == ["lead_status_changed", "lead_updated"]
    finished = _change(sandbox_v3, {"kind": "project", "id": 2, "fields": {"status": "4"}})
    assert finished["record"]["date_finished"] >= today_text()
    assert finished["events"] == ["project_status_changed", "project_updated"]
    milestone = _change(
        sandbox_v3, {"kind": "milestone", "id": 3, "fields": {"due_date": "2031-02-03"}}
    )
    assert milestone["record"]["due_date"] == "2031-02-03" and milestone["events"] == []
    # A staff member leaves: their tickets and leads go to PMP's admin.
    left = _change(sandbox_v3, {"kind": "staff", "id": 4, "action": "delete"})
    assert left["events"] == ["staff_deleted"]
    with httpx.Client(base_url=sandbox_v3.base_url, headers={"authtoken": sandbox_v3.token}) as api:
        tickets = assert_json(api.get("/api/tickets", params={"per_page": 100}), 200)["data"]
        assert "4" not in {ticket["assigned"] for ticket in tickets}
        assert api.get("/api/staffs/4").status_code == 404


def test_change_failures(sandbox: RunningSandbox) -> None:
    sandbox.store.reset()
    assert (
        "no field"
        in _change(sandbox, {"kind": "ticket", "id": 3, "fields": {"x": 1}}, 400)["message"]
    )
    assert _change(sandbox, {"kind": "ticket", "id": 999, "fields": {"status": 1}}, 404)
    assert _change(sandbox, {"kind": "invoice", "id": 1, "fields": {}}, 400)
    assert _change(sandbox, {"kind": "ticket", "action": "create", "fields": {}}, 400)
    assert _change(sandbox, {"kind": "lead", "id": 2, "action": "reply", "message": "x"}, 400)
    assert _change(sandbox, {"kind": "customer", "id": 1, "action": "delete"}, 409)
    assert _change(sandbox, {"command": "ticket 3 status"}, 400)


@pytest.mark.parametrize(
    ("words", "change"),
    [
        ("ticket 3 status=2", {"kind": "tickets", "id": "3", "fields": {"status": "2"}}),
        (
            'ticket new subject="Printer on fire" priority=3',
            {
                "kind": "tickets",
                "action": "create",
                "fields": {"subject": "Printer on fire", "priority": "3"},
            },
        ),
        (
            'ticket 3 reply "On it"',
            {"kind": "tickets", "id": "3", "action": "reply", "message": "On it"},
        ),
        (
            'ticket 3 reply customer "Thank you" status=1',
            {
                "kind": "tickets",
                "id": "3",
                "action": "reply",
                "from": "customer",
                "message": "Thank you",
                "status": "1",
            },
        ),
        ("lead 4 delete", {"kind": "leads", "id": "4", "action": "delete"}),
        ("staff 2 active=0", {"kind": "staff", "id": "2", "fields": {"active": "0"}}),
    ],
)
def test_console_words(words: str, change: dict[str, Any]) -> None:
    assert parse_command(words) == change


@pytest.mark.parametrize(
    "words",
    [
        "ticket",
        "ticket x status=1",
        "ticket 3 status",
        "fish 3 a=1",
        "ticket 3 reply",
        "lead 4 delete now",
    ],
)
def test_console_words_refused(words: str) -> None:
    with pytest.raises(ChangeError):
        parse_command(words)


async def test_pmp_change_in_the_console() -> None:
    out = io.StringIO()
    code = await run_shell(
        out=out,
        lines=[
            "help",
            "pmp-change help",
            'pmp-change ticket new subject="Printer on fire"',
            "pmp-change ticket 41 status=2",
            "pmp-change ticket 41 nonsense=1",
            "/pmp ticket 41",
            "quit",
        ],
    )
    text = out.getvalue()
    assert code == 0
    assert "pmp-change ..." in text  # the console's help lists it
    assert 'pmp-change ticket new subject="Printer on fire"' in text  # pmp-change help
    assert "New ticket 41 added in PMP" in text
    assert "Ticket 41 changed in PMP" in text
    assert "pmp-change: tickets have no field 'nonsense'" in text
    assert "Printer on fire" in text.split("> /pmp ticket 41", 1)[1]
    assert "Traceback" not in text


async def test_the_console_passes_pmp_change_to_its_callback() -> None:
    heard: list[str] = []

    async def change(words: str) -> str:
        heard.append(words)
        return f"changed: {words}"

    with running_slack_standin() as slack:
        app = build_toy_app(slack, seen=[])
        transport = httpx.ASGITransport(app=serve(app))
        async with httpx.AsyncClient(transport=transport, base_url="http://toy.test") as http:
            for callback in (change, None):
                out = io.StringIO()
                shell = ConsoleShell(
                    http=http,
                    signing_secret=SIGNING_SECRET,
                    slack=slack,
                    team_id="T0001",
                    user_id="U0001",
                    channel_id="C0001",
                    out=out,
                    settle_quiet=0.05,
                    pmp_change=callback,
                )
                await shell.run(['pmp-change ticket 3 reply "On it"', "quit"])
                text = out.getvalue()
                if callback is None:
                    assert "pmp-change works with the PMP sandbox only" in text
                else:
                    assert 'changed: ticket 3 reply "On it"' in text
    assert heard == ['ticket 3 reply "On it"']
