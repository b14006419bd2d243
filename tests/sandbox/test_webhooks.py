"""3.x webhooks: ``api/webhooks`` as the module serves it, and deliveries as it sends them
(payload, headers, HMAC signature, retries, the address check, replays)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bot.sandbox import RunningSandbox, running_sandbox
from bot.sandbox.auth import bulk_token
from tests.sandbox.helpers import assert_json
from tests.sandbox.receiver import Receiver, running_receiver


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
def hooks(sandbox_v3: RunningSandbox, receiver: Receiver) -> Iterator[httpx.Client]:
    """A 3.x API client; webhooks may call 127.0.0.1 and retry at once."""
    sandbox_v3.store.reset()
    sandbox_v3.app.webhooks.reset()
    sandbox_v3.app.webhooks.options.update(
        {"allow_loopback": True, "backoff": 0.01, "ssrf_strict": False}
    )
    receiver.received.clear()
    receiver.statuses.clear()
    receiver.delays.clear()
    with httpx.Client(
        base_url=sandbox_v3.base_url, headers={"authtoken": sandbox_v3.token}, timeout=10
    ) as client:
        yield client
    sandbox_v3.app.webhooks.options.update({"allow_loopback": False, "backoff": 1.0})


def _create(api: httpx.Client, **fields: Any) -> dict[str, Any]:
    answer = assert_json(api.post("/api/webhooks", data=fields), 200)
    assert answer["status"] is True and answer["message"] == "Webhook created successfully"
    return answer  # type: ignore[no-any-return]


def _settle(running: RunningSandbox) -> None:
    assert running.app.webhooks.wait_idle(10), "deliveries did not finish"


def _change(running: RunningSandbox, command: str) -> dict[str, Any]:
    answer = httpx.post(
        f"{running.base_url}/_sandbox/changes",
        json={"command": command},
        headers={"authtoken": running.token},
    )
    return assert_json(answer, 200)  # type: ignore[no-any-return]


def _deliveries(running: RunningSandbox, **query: str) -> list[dict[str, Any]]:
    answer = httpx.get(
        f"{running.base_url}/_sandbox/webhooks/deliveries",
        params=query,
        headers={"authtoken": running.token},
    )
    return assert_json(answer, 200)["deliveries"]  # type: ignore[no-any-return]


def _valid_signature(header: str, body: bytes, secret: str) -> int:
    parts = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256)
    assert hmac.compare_digest(parts["v1"], expected.hexdigest()), header
    return int(parts["t"])


# --- the catalog and the CRUD ----------------------------------------------------------------


def test_event_catalog(hooks: httpx.Client) -> None:
    catalog = assert_json(hooks.get("/api/webhooks/events"), 200)
    assert catalog["total_events"] == 124 and catalog["wildcard"] == "*"
    assert len(catalog["groups"]) == 22
    assert catalog["groups"]["tickets"]["ticket_reply_created"] == "Reply added to ticket"
    assert "staff_created" in catalog["groups"]["staff"]


def test_no_webhooks_in_2_0_8(api: httpx.Client) -> None:
    for path in ("/api/webhooks", "/api/webhooks/events"):
        answer = api.get(path)
        assert answer.status_code == 404 and answer.headers["content-type"].startswith("text/html")


def test_create_read_update_toggle_delete(hooks: httpx.Client, receiver: Receiver) -> None:
    created = _create(
        hooks,
        name="Ticket alerts",
        url=f"{receiver.url}/a",
        events="ticket_created, ticket_reply_created",
        secret="s3cret",
        headers='{"X-Env": "test"}',
    )
    data = created["data"]
    assert isinstance(created["record_id"], int) and data["id"] == str(created["record_id"])
    assert data["events"] == ["ticket_created", "ticket_reply_created"]
    assert data["has_secret"] is True and "secret" not in data
    assert data["headers"] == {"X-Env": "test"}
    assert (data["active"], data["timeout"], data["retry_count"]) == ("1", "30", "3")
    assert (data["success_count"], data["failure_count"], data["last_triggered"]) == (
        "0",
        "0",
        None,
    )
    one = assert_json(hooks.get(f"/api/webhooks/{data['id']}"), 200)
    assert one == data
    listed = assert_json(hooks.get("/api/webhooks"), 200)
    assert listed["data"] == [data] and listed["meta"]["total"] == 1
    # PUT changes only what it is given (JSON or a form).
    changed = assert_json(
        hooks.put(f"/api/webhooks/{data['id']}", json={"name": "Renamed", "timeout": 500}), 200
    )
    assert changed["message"] == "Webhook updated successfully"
    assert changed["data"]["name"] == "Renamed" and changed["data"]["timeout"] == "120"
    assert changed["data"]["events"] == data["events"] and changed["data"]["has_secret"] is True
    nothing = assert_json(hooks.put(f"/api/webhooks/{data['id']}", json={"other": 1}), 422)
    assert nothing["message"] == "Nothing to update"
    assert nothing["errors"] == {"_general": "No updatable fields provided"}
    toggled = assert_json(hooks.post(f"/api/webhooks/{data['id']}/toggle"), 200)
    assert toggled == {"status": True, "message": "Webhook disabled", "active": 0}
    assert assert_json(hooks.post(f"/api/webhooks/{data['id']}/toggle"), 200)["active"] == 1
    deleted = assert_json(hooks.delete(f"/api/webhooks/{data['id']}"), 200)
    assert deleted == {"status": True, "message": "Webhook deleted successfully"}
    missing = {"status": False, "message": "Webhook not found"}
    assert assert_json(hooks.get(f"/api/webhooks/{data['id']}"), 404) == missing
    assert assert_json(hooks.delete(f"/api/webhooks/{data['id']}"), 404) == missing
    invalid = assert_json(hooks.put("/api/webhooks/0", json={"name": "x"}), 404)
    assert invalid == {"status": False, "message": "Invalid webhook ID"}
    assert assert_json(hooks.get("/api/webhooks"), 200)["data"] == []


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"url": "https://hooks.example.com/x", "events": "*"},
            "name",
            "The name field is required.",
        ),
        ({"name": "x", "events": "*"}, "url", "The url field is required."),
        (
            {"name": "x", "url": "https://hooks.example.com/x"},
            "events",
            'Provide at least one event (or "*").',
        ),
        (
            {
                "name": "x",
                "url": "https://hooks.example.com/x",
                "events": "invoice.paid,ticket_created",
            },
            "events",
            "Unknown events: invoice.paid. See GET api/webhooks/events for the catalog.",
        ),
        (
            {"name": "x", "url": "ftp://hooks.example.com/x", "events": "*"},
            "url",
            "URL rejected: scheme not allowed: ftp",
        ),
        (
            {"name": "x", "url": "http://169.254.169.254/latest", "events": "*"},
            "url",
            "URL rejected: reserved/loopback/metadata address",
        ),
        (
            {"name": "x", "url": "http://100.64.1.1/x", "events": "*"},
            "url",
            "URL rejected: carrier-grade NAT range",
        ),
        (
            {"name": "x", "url": "https://hooks.example.com/x", "events": "*", "headers": "[1"},
            "headers",
            "Headers must be a JSON object.",
        ),
    ],
)
def test_create_validation(
    hooks: httpx.Client, fields: dict[str, str], field: str, message: str
) -> None:
    answer = assert_json(hooks.post("/api/webhooks", data=fields), 422)
    assert answer["status"] is False and answer["error"] == "validation_failed"
    assert answer["message"] == "Webhook validation failed"
    assert answer["errors"][field] == message


def test_loopback_targets_are_refused_unless_allowed(
    hooks: httpx.Client, sandbox_v3: RunningSandbox
) -> None:
    sandbox_v3.app.webhooks.options.update({"allow_loopback": False})
    for url in ("http://127.0.0.1:9/x", "http://localhost:9/x", "http://[::1]:9/x"):
        answer = assert_json(
            hooks.post("/api/webhooks", data={"name": "x", "url": url, "events": "*"}), 422
        )
        assert answer["errors"]["url"] == "URL rejected: reserved/loopback/metadata address"
    # A private LAN address passes unless the module's strict mode is on.
    lan = {"name": "x", "url": "http://10.1.2.3/x", "events": "*"}
    assert hooks.post("/api/webhooks", data=lan).status_code == 200
    sandbox_v3.app.webhooks.options.update({"ssrf_strict": True})
    refused = assert_json(hooks.post("/api/webhooks", data=lan), 422)
    assert refused["errors"]["url"] == "URL rejected: private LAN address (strict mode)"


def test_create_takes_form_fields_only(hooks: httpx.Client, receiver: Receiver) -> None:
    answer = hooks.post(
        "/api/webhooks", json={"name": "x", "url": f"{receiver.url}/x", "events": "*"}
    )
    assert assert_json(answer, 422)["errors"]["name"] == "The name field is required."


def test_a_token_without_the_webhooks_feature(
    hooks: httpx.Client, sandbox_v3: RunningSandbox
) -> None:
    control = {"authtoken": sandbox_v3.token}
    limited = httpx.post(
        f"{sandbox_v3.base_url}/_sandbox/tokens",
        json={"permissions": {"tickets": ["get"]}},
        headers=control,
    ).json()["token"]
    answer = httpx.get(f"{sandbox_v3.base_url}/api/webhooks", headers={"authtoken": limited})
    assert assert_json(answer, 403) == {
        "status": False,
        "message": "This token has no webhooks permission",
    }


# --- deliveries ------------------------------------------------------------------------------


def test_a_status_change_in_pmp_is_delivered_signed(
    hooks: httpx.Client, sandbox_v3: RunningSandbox, receiver: Receiver
) -> None:
    _create(
        hooks,
        name="All tickets",
        url=f"{receiver.url}/t",
        events="ticket_status_changed",
        secret="k3y",
    )
    before = int(time.time())
    _change(sandbox_v3, "ticket 3 status=2")
    _settle(sandbox_v3)
    [hit] = receiver.at("/t")
    payload = json.loads(hit.body)
    assert payload["event"] == "ticket_status_changed"
    assert payload["data"] == {
        "id": "3",
        "status": "2",
        "_source_hook": "after_ticket_status_changed",
    }
    assert before <= payload["timestamp"] <= int(time.time())
    # The legacy in-body signature: over the payload without it.
    unsigned = {key: value for key, value in payload.items() if key != "signature"}
    body_without = json.dumps(unsigned, separators=(",", ":")).replace("/", "\\/")
    assert (
        payload["signature"] == hmac.new(b"k3y", body_without.encode(), hashlib.sha256).hexdigest()
    )
    assert hit.headers["content-type"] == "application/json"
    assert hit.headers["user-agent"] == "Perfex-CRM-API/3.0"
    assert hit.headers["x-perfex-event"] == "ticket_status_changed"
    signed_at = _valid_signature(hit.headers["x-perfex-signature"], hit.body, "k3y")
    assert before <= signed_at <= int(time.time())
    [delivery] = _deliveries(sandbox_v3)
    assert delivery["status"] == "delivered" and len(delivery["attempts"]) == 1
    assert delivery["body"] == hit.body.decode()
    assert delivery["attempts"][0]["status_code"] == 200
    logs = assert_json(hooks.get(f"/api/webhooks/{delivery['webhook_id']}/logs"), 200)["data"]
    assert logs[0]["status"] == "success" and logs[0]["response_code"] == "200"
    stats = assert_json(hooks.get(f"/api/webhooks/{delivery['webhook_id']}"), 200)
    assert stats["success_count"] == "1" and stats["last_triggered"] is not None


def test_without_a_secret_there_is_no_signature(
    hooks: httpx.Client, sandbox_v3: RunningSandbox, receiver: Receiver
) -> None:
    _create(
        hooks,
        name="Plain",
        url=f"{receiver.url}/plain",
        events="ticket_created",
        headers='{"X-Env": "test"}',
    )
    _change(sandbox_v3, 'ticket new subject="Printer on fire"')
    _settle(sandbox_v3)
    [hit] = receiver.at("/plain")
    assert "x-perfex-signature" not in hit.headers and "signature" not in json.loads(hit.body)
    assert hit.headers["x-env"] == "test"
    assert json.loads(hit.body)["data"]["_source_hook"] == "ticket_created"


def test_api_writes_fire_what_perfex_fires(
    hooks: httpx.Client, sandbox_v3: RunningSandbox, receiver: Receiver
) -> None:
    _create(
        hooks,
        name="Everything named",
        url=f"{receiver.url}/named",
        events="ticket_created,ticket_updated,ticket_assigned,ticket_status_changed,ticket_reply_created,lead_updated",
    )
    # A ticket PUT fires only ticket_settings_updated: nothing is sent for it.
    assert (
        hooks.put(
            "/api/tickets/3",
            json={"subject": "S", "department": "1", "contactid": "1", "status": "5"},
        ).status_code
        == 200
    )
    created = hooks.post(
        "/api/tickets", data={"subject": "New", "department": "1", "contactid": "1"}
    )
    new_id = assert_json(created, 200)["record_id"]
    hooks.post("/api/tickets/reply/3", data={"message": "thanks", "admin": "2", "status": "3"})
    _settle(sandbox_v3)
    events = [json.loads(hit.body)["event"] for hit in receiver.at("/named")]
    assert events == ["ticket_created", "ticket_status_changed", "ticket_reply_created"]
    first = json.loads(receiver.at("/named")[0].body)
    assert first["data"] == {"id": new_id, "_source_hook": "ticket_created"}
    reply = json.loads(receiver.at("/named")[2].body)["data"]
    assert reply["id"] == "3" and reply["admin"] == "2" and isinstance(reply["replyid"], int)
    assert (
        reply["data"]["message"] == "thanks" and reply["_source_hook"] == "after_ticket_reply_added"
    )


def test_only_matching_active_webhooks_get_an_event(
    hooks: httpx.Client, sandbox_v3: RunningSandbox, receiver: Receiver
) -> None:
    _create(hooks, name="Leads", url=f"{receiver.url}/leads", events="lead_status_changed")
    off = _create(hooks, name="Off", url=f"{receiver.url}/off", events="ticket_created")
    hooks.post(f"/api/webhooks/{off['record_id']}/toggle")
    _change(sandbox_v3, 'ticket new subject="x"')
    _change(sandbox_v3, "lead 2 status=5")
    _settle(sandbox_v3)
    assert receiver.at("/off") == []
    assert [json.loads(hit.body)["event"] for hit in receiver.at("/leads")] == [
        "lead_status_changed"
    ]


def test_failed_attempts_are_retried_then_given_up(
    hooks: httpx.Client, sandbox_v3: RunningSandbox, receiver: Receiver
) -> None:
    receiver.statuses["/flaky"] = [500, 503, 200]
    receiver.statuses["/down"] = [500]
    _create(
        hooks,
        name="Flaky",
        url=f"{receiver.url}/flaky",
        events="ticket_created",
        retry_count="3",
    )
    down = _create(
        hooks,
        name="Down",
        url=f"{receiver.url}/down",
        events="ticket_created",
        retry_count="2",
    )
    _change(sandbox_v3, 'ticket new subject="x"')
    _settle(sandbox_v3)
    flaky = _deliveries(sandbox_v3, webhook_id=str(down["record_id"] - 1))[0]
    assert flaky["status"] == "delivered"
    assert [attempt["status_code"] for attempt in flaky["attempts"]] == [500, 503, 200]
    assert flaky["attempts"][0]["error"].startswith("HTTP 500: ")
    assert len(receiver.at("/flaky")) == 3
    # The same body every time; each attempt signed afresh (no secret here: no signature).
    assert len({hit.body for hit in receiver.at("/flaky")}) == 1
    gone = _deliveries(sandbox_v3, webhook_id=str(down["record_id"]))[0]
    assert gone["status"] == "failed" and len(gone["attempts"]) == 2
    stats = assert_json(hooks.get(f"/api/webhooks/{down['record_id']}"), 200)
    assert stats["failure_count"] == "2"


def test_a_slow_receiver_times_out(
    hooks: httpx.Client, sandbox_v3: RunningSandbox, receiver: Receiver
) -> None:
    receiver.delays["/slow"] = 1.5
    _create(
        hooks,
        name="Slow",
        url=f"{receiver.url}/slow",
        events="ticket_created",
        timeout="1",
        retry_count="1",
    )
    _change(sandbox_v3, 'ticket new subject="x"')
    _settle(sandbox_v3)
    [delivery] = _deliveries(sandbox_v3)
    assert delivery["status"] == "failed" and "Timeout" in delivery["attempts"][0]["error"]


def test_a_target_that_became_refused_is_blocked_at_delivery(
    hooks: httpx.Client, sandbox_v3: RunningSandbox, receiver: Receiver
) -> None:
    _create(
        hooks, name="Local", url=f"{receiver.url}/local", events="ticket_created", retry_count="1"
    )
    sandbox_v3.app.webhooks.options.update({"allow_loopback": False})
    _change(sandbox_v3, 'ticket new subject="x"')
    _settle(sandbox_v3)
    [delivery] = _deliveries(sandbox_v3)
    assert delivery["attempts"][0]["error"] == (
        "Blocked by SSRF protection: reserved/loopback/metadata address"
    )
    assert receiver.at("/local") == []


def test_resending_verbatim_and_with_an_old_timestamp(
    hooks: httpx.Client, sandbox_v3: RunningSandbox, receiver: Receiver
) -> None:
    _create(hooks, name="Signed", url=f"{receiver.url}/signed", events="ticket_created", secret="k")
    _change(sandbox_v3, 'ticket new subject="x"')
    _settle(sandbox_v3)
    [original] = _deliveries(sandbox_v3)
    control = {"authtoken": sandbox_v3.token}
    url = f"{sandbox_v3.base_url}/_sandbox/webhooks/deliveries/{original['id']}/resend"
    replay = assert_json(httpx.post(url, json={"verbatim": True}, headers=control), 200)["delivery"]
    assert replay["resent"] is True and replay["body"] == original["body"]
    assert replay["attempts"][0]["headers"] == original["attempts"][0]["headers"]
    stale_at = int(time.time()) - 3600
    stale = assert_json(httpx.post(url, json={"timestamp": stale_at}, headers=control), 200)
    hits = receiver.at("/signed")
    assert len(hits) == 3 and hits[0].body == hits[1].body == hits[2].body
    assert hits[1].headers["x-perfex-signature"] == hits[0].headers["x-perfex-signature"]
    assert _valid_signature(hits[2].headers["x-perfex-signature"], hits[2].body, "k") == stale_at
    assert stale["delivery"]["status"] == "delivered"
    missing = httpx.post(
        f"{sandbox_v3.base_url}/_sandbox/webhooks/deliveries/99999/resend", json={}, headers=control
    )
    assert missing.status_code == 404


def test_a_wildcard_webhook_also_hears_the_module_itself(
    hooks: httpx.Client, sandbox_v3: RunningSandbox, receiver: Receiver
) -> None:
    _create(hooks, name="All", url=f"{receiver.url}/all", events="*")
    hooks.get("/api/customers/1")
    _settle(sandbox_v3)
    events = [json.loads(hit.body) for hit in receiver.at("/all")]
    names = [event["event"] for event in events]
    # Its own creation (and the end of that request) first, then the module's lifecycle
    # events for the GET.
    assert names == [
        "webhook_created",
        "api.after.controller",
        "api.auth.success",
        "api.request.received",
        "api.before.controller",
        "api.after.controller",
    ]
    assert events[0]["data"] == {"webhook_id": int(events[0]["data"]["webhook_id"])}
    # These carry the request's token.
    received = events[3]["data"]
    assert events[3]["event"] == "api.request.received"
    assert received["api_key"] == sandbox_v3.token
    assert (received["method"], received["uri"]) == ("data_get", "api/customers/1")


def test_options_control(sandbox_v3: RunningSandbox) -> None:
    url = f"{sandbox_v3.base_url}/_sandbox/webhooks/options"
    control = {"authtoken": sandbox_v3.token}
    assert httpx.post(url, json={"allow_loopback": "yes"}, headers=control).status_code == 400
    assert httpx.post(url, json={"nope": 1}, headers=control).status_code == 400
    shown = assert_json(httpx.get(url, headers=control), 200)["options"]
    assert set(shown) == {
        "allow_loopback",
        "ssrf_strict",
        "backoff",
        "delivery_mode",
        "per_token",
    }


def test_the_cli_flag_allows_loopback(receiver: Receiver) -> None:
    with running_sandbox(api_version=3, webhooks_allow_loopback=True) as running:
        answer = httpx.post(
            f"{running.base_url}/api/webhooks",
            data={"name": "x", "url": f"{receiver.url}/cli", "events": "*"},
            headers={"authtoken": running.token},
        )
        assert answer.status_code == 200
        _settle(running)
    with running_sandbox(api_version=3) as running:
        answer = httpx.post(
            f"{running.base_url}/api/webhooks",
            data={"name": "x", "url": f"{receiver.url}/cli", "events": "*"},
            headers={"authtoken": running.token},
        )
        assert answer.status_code == 422


def test_record_writes_through_the_api_and_their_events(
    hooks: httpx.Client, sandbox_v3: RunningSandbox, receiver: Receiver
) -> None:
    _create(hooks, name="Records", url=f"{receiver.url}/records", events="*")
    customer = hooks.post("/api/customers", data={"company": "Hook Test Ltd"})
    customer_id = assert_json(customer, 200)["record_id"]
    assert (
        hooks.put(f"/api/customers/{customer_id}", json={"company": "Renamed Ltd"}).status_code
        == 200
    )
    lead = hooks.get("/api/leads/2").json()
    status = "3" if lead["status"] != "3" else "4"
    body = {"name": lead["name"], "source": lead["source"], "status": status}
    assert hooks.put("/api/leads/2", json=body).status_code == 200
    assert hooks.delete(f"/api/delete/customers/{customer_id}").status_code == 200
    assert (
        hooks.post(
            "/api/milestones", data={"name": "M", "project_id": "1", "due_date": "2030-01-01"}
        ).status_code
        == 200
    )
    _settle(sandbox_v3)
    named = [
        json.loads(hit.body)["event"]
        for hit in receiver.at("/records")
        if not json.loads(hit.body)["event"].startswith(("api.", "webhook_"))
    ]
    assert named == [
        "customer_created",
        "client_updated",
        "customer_updated",
        "lead_status_changed",
        "lead_updated",
        "customer_deleted",
    ]
    changed = next(
        json.loads(hit.body)["data"]
        for hit in receiver.at("/records")
        if json.loads(hit.body)["event"] == "lead_status_changed"
    )
    assert changed == {
        "lead_id": "2",
        "old_status": lead["status"],
        "new_status": status,
        "_source_hook": "lead_status_changed",
    }


def test_a_bad_token_is_heard_by_wildcard_webhooks(
    hooks: httpx.Client, sandbox_v3: RunningSandbox, receiver: Receiver
) -> None:
    _create(hooks, name="All", url=f"{receiver.url}/failed", events="*")
    httpx.get(f"{sandbox_v3.base_url}/api/customers", headers={"authtoken": "a.b.c"})
    _settle(sandbox_v3)
    failed = [json.loads(hit.body) for hit in receiver.at("/failed")][-1]
    assert failed["event"] == "api.auth.failed"
    assert failed["data"]["reason"] is None and failed["data"]["api_key"] == "a.b.c"


def test_immediate_mode_sends_once_during_the_request(
    hooks: httpx.Client, sandbox_v3: RunningSandbox, receiver: Receiver
) -> None:
    url = f"{sandbox_v3.base_url}/_sandbox/webhooks/options"
    control = {"authtoken": sandbox_v3.token}
    shown = assert_json(httpx.post(url, json={"delivery_mode": "immediate"}, headers=control), 200)
    assert shown["options"]["delivery_mode"] == "immediate"
    try:
        receiver.statuses["/now"] = [500]
        _create(
            hooks, name="Now", url=f"{receiver.url}/now", events="ticket_created", retry_count="5"
        )
        _change(sandbox_v3, 'ticket new subject="x"')
        # Already there when PMP answered: no waiting for the queue.
        assert len(receiver.at("/now")) == 1
        [delivery] = _deliveries(sandbox_v3)
        assert delivery["status"] == "failed" and len(delivery["attempts"]) == 1
        assert sandbox_v3.app.webhooks.pending == 0
    finally:
        sandbox_v3.app.webhooks.options.update({"delivery_mode": "queue"})
    assert httpx.post(url, json={"delivery_mode": "later"}, headers=control).status_code == 400


def test_per_token_webhooks_let_one_sandbox_stand_for_many_pmps(receiver: Receiver) -> None:
    with running_sandbox(api_version=3, tokens=2, webhooks_allow_loopback=True) as running:
        hub = running.app.webhooks
        hub.options.update({"per_token": True, "backoff": 0.01})
        receiver.received.clear()
        first, second = bulk_token(1), bulk_token(2)
        for token, path in ((first, "/w1"), (second, "/w2")):
            made = httpx.post(
                f"{running.base_url}/api/webhooks",
                data={"name": path, "url": f"{receiver.url}{path}", "events": "ticket_created"},
                headers={"authtoken": token},
            )
            assert made.status_code == 200
        mine = httpx.get(f"{running.base_url}/api/webhooks", headers={"authtoken": first})
        assert [hook["name"] for hook in assert_json(mine, 200)["data"]] == ["/w1"]
        other = httpx.get(f"{running.base_url}/api/webhooks/2", headers={"authtoken": first})
        assert other.status_code == 404
        _change(running, 'ticket new subject="for one"')  # no workspace named: everyone
        httpx.post(
            f"{running.base_url}/_sandbox/changes",
            json={"command": 'ticket new subject="in one"', "workspace": 1},
            headers={"authtoken": running.token},
        ).raise_for_status()
        httpx.post(
            f"{running.base_url}/api/tickets",
            data={"subject": "in two", "department": "1", "contactid": "1"},
            headers={"authtoken": second},
        ).raise_for_status()
        _settle(running)
        assert len(receiver.at("/w1")) == 2 and len(receiver.at("/w2")) == 2
        assert (
            json.loads(receiver.at("/w1")[1].body)["data"]["id"]
            != json.loads(receiver.at("/w2")[1].body)["data"]["id"]
        )
        bad = httpx.post(
            f"{running.base_url}/_sandbox/changes",
            json={"command": "ticket 3 status=2", "workspace": 0},
            headers={"authtoken": running.token},
        )
        assert bad.status_code == 400
