"""PMP 3.x webhooks without the HTTP front door: signatures, event names in both PMP
spellings, what a delivery is about, and the endpoint store (secret encrypted, replays
remembered, unfinished work handed to another instance)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from bot.crypto import TokenCipher
from bot.pmp.webhooks import (
    _event_names,
    event_action,
    event_kind,
    parse_delivery,
    sign,
    verify_signature,
)
from bot.storage import Database
from bot.storage.schema import utc_now
from bot.storage.webhook_endpoints import WebhookEndpointStore, webhook_endpoints
from tests.subscriptions.conftest import DatabaseTarget

SECRET = "whsec_test-secret"
NOW = 1_780_000_000
BODY = b'{"event":"ticket_status_changed","data":{"id":"7","_source_hook":"x"}}'


def test_a_signature_made_with_the_secret_is_valid() -> None:
    header = sign(SECRET, NOW, BODY)
    assert header.startswith(f"t={NOW},v1=")
    assert verify_signature(SECRET, header, BODY, now=NOW) == "valid"
    # Either side of now, within five minutes.
    assert verify_signature(SECRET, header, BODY, now=NOW + 299) == "valid"
    assert verify_signature(SECRET, header, BODY, now=NOW - 299) == "valid"


@pytest.mark.parametrize(
    ("header", "body", "now", "verdict"),
    [
        (sign("another secret", NOW, BODY), BODY, NOW, "mismatch"),
        (sign(SECRET, NOW, BODY), BODY + b" ", NOW, "mismatch"),  # the raw bytes count
        (sign(SECRET, NOW, BODY), BODY, NOW + 301, "stale"),
        (sign(SECRET, NOW, BODY), BODY, NOW - 301, "stale"),  # from the future
        (sign(SECRET, NOW, BODY).replace("v1=", "v0="), BODY, NOW, "malformed"),
        (f"v1={'0' * 64}", BODY, NOW, "malformed"),
        ("t=abc,v1=" + "0" * 64, BODY, NOW, "malformed"),
        ("", BODY, NOW, "malformed"),
        (None, BODY, NOW, "malformed"),
        (f"t={NOW},v1=" + "zz" * 32, BODY, NOW, "mismatch"),
    ],
)
def test_what_is_refused(header: str | None, body: bytes, now: int, verdict: str) -> None:
    assert verify_signature(SECRET, header, body, now=now) == verdict


def test_a_rotated_secret_may_sign_beside_the_old_one() -> None:
    old = sign("old", NOW, BODY).split(",")[1]
    header = sign(SECRET, NOW, BODY) + "," + old
    assert verify_signature("old", header, BODY, now=NOW) == "valid"


@pytest.mark.parametrize(
    ("name", "kind", "action"),
    [
        ("ticket_status_changed", "ticket", "status_changed"),  # the module's code
        ("ticket.status_changed", "ticket", "status_changed"),  # its documentation
        ("tickets.updated", "ticket", "updated"),
        ("ticket_reply_created", "ticket", "reply_created"),
        ("client_updated", "customer", "updated"),
        ("customer.created", "customer", "created"),
        ("lead_status_changed", "lead", "status_changed"),
        ("project_created", "project", "created"),
        ("milestone_updated", "milestone", "updated"),
        ("invoice_paid", None, "paid"),
        ("staff_created", None, "created"),
    ],
)
def test_event_names_in_either_spelling(name: str, kind: str | None, action: str) -> None:
    assert event_kind(name) == kind
    if kind is not None:
        assert event_action(name) == action


def test_the_catalogue_is_read_in_any_shape() -> None:
    grouped = {
        "status": True,
        "data": {
            "tickets": {"ticket_created": "Ticket created", "ticket_deleted": "Ticket deleted"},
            "leads": {"lead_status_changed": "Lead status changed"},
        },
    }
    assert _event_names(grouped) == ["ticket_created", "ticket_deleted", "lead_status_changed"]
    listed = [{"event": "customer.created", "name": "Customer created"}, "invoice.paid"]
    assert _event_names(listed) == ["customer.created", "invoice.paid"]
    assert _event_names({"message": "No data were found"}) == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (BODY, ("ticket", 7)),
        (b'{"event":"ticket.reply_created","data":{"ticketid":"9","id":"120"}}', ("ticket", 9)),
        (b'{"event":"customer_created","data":{"id":12}}', ("customer", 12)),
        (b'{"event":"lead_status_changed","data":{"lead_id":"4","status":"2"}}', ("lead", 4)),
        (b'{"event":"project_updated","record_id":"3"}', ("project", 3)),
        (b'{"event":"invoice_paid","data":{"id":"1"}}', None),
        (b'{"event":"ticket_created","data":{"id":"0"}}', None),
        (b'{"event":"ticket_created"}', None),
        (b"[1,2]", None),
        (b"not json", None),
        (b"[" * 100_000, None),
    ],
)
def test_what_a_delivery_is_about(body: bytes, expected: tuple[str, int] | None) -> None:
    delivery = parse_delivery(body)
    if expected is None:
        assert delivery is None
    else:
        assert delivery is not None
        assert (delivery.kind, delivery.record_id) == expected


@pytest.fixture
async def store(target: DatabaseTarget) -> AsyncIterator[WebhookEndpointStore]:
    db: Database = await target.connect()
    await db.create_schema()
    try:
        yield WebhookEndpointStore(db, TokenCipher.from_keys([Fernet.generate_key().decode()]))
    finally:
        await db.dispose()


async def test_each_workspace_has_its_own_endpoint_with_its_secret_encrypted(
    store: WebhookEndpointStore,
) -> None:
    first = await store.ensure("T1", None)
    assert await store.ensure("T1", None) == first
    other = await store.ensure("T2", "E1")
    assert other.path_id != first.path_id
    assert other.secret.get_secret_value() != first.secret.get_secret_value()
    assert (await store.by_path(first.path_id)) == first
    async with store._db.read() as conn:
        stored = (await conn.execute(select(webhook_endpoints.c.secret_encrypted))).scalars()
        assert all(first.secret.get_secret_value() not in text for text in stored)
    assert await store.remove("T1", None)
    store._by_path.clear()
    assert await store.by_path(first.path_id) is None
    assert await store.by_path(other.path_id) == other


async def test_a_replay_is_refused_and_unfinished_work_is_taken_over(
    store: WebhookEndpointStore,
) -> None:
    endpoint = await store.ensure("T1", None)
    header = sign(endpoint.secret.get_secret_value(), NOW, BODY)
    work = await store.first_delivery(endpoint, header, BODY, None, ("ticket", 7, "ticket_created"))
    assert work is not False and work is not None and work is not True
    assert await store.first_delivery(endpoint, header, BODY, None, ("ticket", 7, "x")) is False
    # The same body signed again (PMP's retry of a delivery) is a replay too.
    again = sign(endpoint.secret.get_secret_value(), NOW + 5, BODY)
    assert await store.first_delivery(endpoint, again, BODY, None, None) is False
    # And so is PMP's delivery id seen before, whatever the body.
    assert await store.first_delivery(endpoint, again, b"{}", "d-1", None) is None
    third = sign(endpoint.secret.get_secret_value(), NOW + 6, b"{ }")
    assert await store.first_delivery(endpoint, third, b"{ }", "d-1", None) is False

    later = utc_now() + timedelta(minutes=2)
    [due] = await store.due_work(older_than=timedelta(seconds=60), now=later)
    assert (due.team_id, due.kind, due.record_id) == ("T1", "ticket", 7)
    # Claimed: nobody else takes it at once; done: nobody ever.
    assert await store.due_work(older_than=timedelta(seconds=60), now=later) == []
    await store.work_done(due)
    much_later = later + timedelta(minutes=5)
    assert await store.due_work(older_than=timedelta(seconds=60), now=much_later) == []


def test_delivery_body_round_trip() -> None:
    raw = json.dumps({"event": "ticket_created", "data": {"ticketid": 3}}).encode()
    delivery = parse_delivery(raw)
    assert delivery is not None and delivery.event == "ticket_created"
