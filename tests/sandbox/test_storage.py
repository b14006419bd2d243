"""Storage: SQLite files that persist, seeding only fresh databases, reset, bulk data, threads."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import httpx

from bot.sandbox import DEMO_FACTS, RunningSandbox, SandboxStore, running_sandbox
from tests.sandbox.helpers import assert_failure, assert_json


def _client(running: RunningSandbox) -> httpx.Client:
    return httpx.Client(base_url=running.base_url, headers={"authtoken": running.token})


def test_database_file_keeps_changes_and_is_not_reseeded(tmp_path: Path) -> None:
    path = str(tmp_path / "pmp.sqlite3")
    with running_sandbox(db=path) as running, _client(running) as api:
        assert assert_json(api.post("/api/customers", data={"company": "Kept Ltd"}), 200)
        assert assert_json(api.delete("/api/tickets/1"), 200)["status"] is True
    with running_sandbox(db=path) as running, _client(running) as api:
        customers = assert_json(api.get("/api/customers"), 200)
        assert len(customers) == DEMO_FACTS.customer_count + 1
        assert "Kept Ltd" in {c["company"] for c in customers}
        assert_failure(api.get("/api/tickets/1"), 404, "No data were found")
        assert len(assert_json(api.get("/api/tickets"), 200)) == DEMO_FACTS.ticket_count - 1
        # New ids continue after the old ones (MySQL auto-increment never reuses them).
        assert_json(api.post("/api/customers", data={"company": "Next Ltd"}), 200)
        assert max(int(c["userid"]) for c in assert_json(api.get("/api/customers"), 200)) == 38


def test_unseeded_database_has_reference_data_only(tmp_path: Path) -> None:
    path = str(tmp_path / "empty.sqlite3")
    with running_sandbox(db=path, seed=False) as running, _client(running) as api:
        for resource in ("customers", "leads", "projects", "milestones", "tickets"):
            assert_failure(api.get(f"/api/{resource}"), 404, "No data were found")
        ticket = {"subject": "First", "department": "3", "contactid": "1", "priority": "2"}
        assert assert_json(api.post("/api/tickets", data=ticket), 200)["status"] is True
        [created] = assert_json(api.get("/api/tickets"), 200)
        assert (created["department_name"], created["priority_name"]) == ("Billing", "Medium")
    # An existing database is used as it is, even when seeding is asked for.
    with running_sandbox(db=path, seed=True) as running, _client(running) as api:
        assert_failure(api.get("/api/customers"), 404, "No data were found")
        assert len(assert_json(api.get("/api/tickets"), 200)) == 1


def test_reset_restores_the_seed_and_restarts_ids(
    api: httpx.Client, sandbox: RunningSandbox
) -> None:
    seeded = assert_json(api.get("/api/customers"), 200)
    assert_json(api.post("/api/customers", data={"company": "Temporary"}), 200)
    assert_json(api.delete("/api/customers/3"), 200)
    sandbox.store.reset()
    assert assert_json(api.get("/api/customers"), 200) == seeded
    assert_json(api.post("/api/customers", data={"company": "After Reset"}), 200)
    newest = max(int(c["userid"]) for c in assert_json(api.get("/api/customers"), 200))
    assert newest == DEMO_FACTS.customer_count + 1


def test_seed_is_identical_every_time() -> None:
    with SandboxStore() as first, SandboxStore() as second:
        assert first.customers() == second.customers()
        assert first.tickets() == second.tickets()
        assert first.leads() == second.leads()


def test_bulk_customers(api: httpx.Client, sandbox: RunningSandbox) -> None:
    ids = sandbox.store.add_bulk_customers(10_000)
    assert len(ids) == 10_000
    assert ids[0] == DEMO_FACTS.customer_count + 1
    assert ids == list(range(ids[0], ids[0] + 10_000))
    customers = assert_json(api.get("/api/customers"), 200)
    assert len(customers) == DEMO_FACTS.customer_count + 10_000
    [hit] = assert_json(api.get(f"/api/customers/search/Bulk%20Customer%20{ids[-1]:05d}"), 200)
    assert hit["userid"] == str(ids[-1])
    [by_contact] = assert_json(api.get(f"/api/customers/search/contact{ids[5]}@bulk"), 200)
    assert by_contact["userid"] == str(ids[5])
    [contact] = assert_json(api.get(f"/api/contacts/{ids[5]}"), 200)
    assert contact["is_primary"] == "1"


def test_concurrent_requests_from_many_threads(api: httpx.Client, sandbox: RunningSandbox) -> None:
    failures: list[str] = []

    def worker(number: int) -> None:
        with _client(sandbox) as client:
            for step in range(10):
                if step % 2:
                    response = client.post(
                        "/api/customers", data={"company": f"Thread {number}-{step}"}
                    )
                else:
                    response = client.get("/api/customers/search/acme")
                if response.status_code != 200:
                    failures.append(f"{number}/{step}: {response.status_code}")
            sandbox.store.customer_groups("1")  # the store is used from this thread too

    workers = [threading.Thread(target=worker, args=(number,)) for number in range(8)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=60)
    assert failures == []
    companies = [c["company"] for c in assert_json(api.get("/api/customers"), 200)]
    assert len(companies) == DEMO_FACTS.customer_count + 8 * 5
    assert len({c for c in companies if c.startswith("Thread ")}) == 40


def test_a_database_from_an_older_sandbox_gets_the_new_columns(tmp_path: Path) -> None:
    path = str(tmp_path / "old.sqlite3")
    with sqlite3.connect(path) as old:
        old.execute(
            'CREATE TABLE "milestones" ("id" INTEGER PRIMARY KEY AUTOINCREMENT, "name" TEXT, '
            '"due_date" TEXT, "project_id" INTEGER)'
        )
        old.execute(
            "INSERT INTO milestones (name, due_date, project_id) VALUES ('Old', '2024-01-01', 1)"
        )
    old.close()
    with running_sandbox(db=path, seed=False) as running, _client(running) as api:
        [milestone] = assert_json(api.get("/api/milestones/1"), 200)
        assert (milestone["name"], milestone["start_date"], milestone["hide_from_customer"]) == (
            "Old",
            None,
            "0",
        )
        body = {
            "name": "Old",
            "project_id": "1",
            "due_date": "2024-01-01",
            "start_date": "2023-12-01",
        }
        assert assert_json(api.put("/api/milestones/1", json=body), 200)["status"] is True
        [updated] = assert_json(api.get("/api/milestones/1"), 200)
        assert updated["start_date"] == "2023-12-01"
