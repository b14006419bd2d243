"""One sandbox for a subscriptions benchmark: 1,000 workspace tokens, 200 tickets each can
see, lists that stay cheap at that size and still change as soon as the data does.
Figures are printed (``-s``), never asserted."""

from __future__ import annotations

import statistics
import time

import httpx

from bot.sandbox import DEMO_FACTS, RunningSandbox, running_sandbox
from bot.sandbox.auth import bulk_token
from tests.sandbox.helpers import assert_json


def _control(running: RunningSandbox) -> httpx.Client:
    return httpx.Client(base_url=running.base_url, headers={"authtoken": running.token}, timeout=30)


def test_a_thousand_tokens_see_two_hundred_tickets() -> None:
    started = time.perf_counter()
    with running_sandbox(tokens=1000) as running, _control(running) as control:
        made = time.perf_counter() - started
        added = assert_json(
            control.post("/_sandbox/bulk", json={"tickets": 200 - DEMO_FACTS.ticket_count}), 200
        )
        assert added["tickets"] == [DEMO_FACTS.ticket_count + 1, 200]
        timings = []
        for index in range(1, 1001, 25):
            began = time.perf_counter()
            answer = httpx.get(
                f"{running.base_url}/api/tickets", headers={"authtoken": bulk_token(index)}
            )
            timings.append((time.perf_counter() - began) * 1000)
            tickets = assert_json(answer, 200)
            assert len(tickets) == 200
        print(
            f"\n1,000 tokens ready in {made * 1000:.0f} ms (with the sandbox's start); "
            f"GET api/tickets (200 rows) median {statistics.median(timings):.1f} ms, "
            f"max {max(timings):.1f} ms over {len(timings)} tokens"
        )


def test_lists_change_as_soon_as_the_data_does(api: httpx.Client, sandbox: RunningSandbox) -> None:
    first = assert_json(api.get("/api/tickets"), 200)
    assert assert_json(api.get("/api/tickets"), 200) == first
    with _control(sandbox) as control:
        assert_json(
            control.post("/_sandbox/changes", json={"command": "ticket 2 subject=Moved"}), 200
        )
    changed = {row["ticketid"]: row for row in assert_json(api.get("/api/tickets"), 200)}
    assert changed["2"]["subject"] == "Moved"
    # Writes straight to the store (as tests do) count too.
    sandbox.store.add_bulk_tickets(1)
    assert len(assert_json(api.get("/api/tickets"), 200)) == len(first) + 1


def test_bulk_control_checks_its_input(sandbox: RunningSandbox) -> None:
    sandbox.store.reset()
    with _control(sandbox) as control:
        assert control.post("/_sandbox/bulk", json={"tickets": -1}).status_code == 400
        assert control.post("/_sandbox/bulk", json={"invoices": 3}).status_code == 400
        both = assert_json(control.post("/_sandbox/bulk", json={"customers": 2, "tickets": 3}), 200)
        assert both["customers"] == [DEMO_FACTS.customer_count + 1, DEMO_FACTS.customer_count + 2]
    sandbox.store.reset()
