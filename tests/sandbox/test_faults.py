"""Injected faults: latency, error rate, HTML 500s and hanging requests, set in code or HTTP."""

from __future__ import annotations

import threading

import httpx
import pytest

from bot.sandbox import DEMO_FACTS, RunningSandbox, SandboxFaults, running_sandbox
from tests.sandbox.helpers import assert_html, assert_json


def test_html_500_answers_every_api_request(api: httpx.Client, sandbox: RunningSandbox) -> None:
    sandbox.faults.html_500 = True
    for method, path in (("GET", "/api/customers"), ("POST", "/api/leads"), ("GET", "/nowhere")):
        assert_html(api.request(method, path), 500, "<h1>Internal Server Error</h1>")
    # Faults strike before authentication, like a broken server would.
    assert api.get("/api/customers", headers={"authtoken": ""}).status_code == 500
    # The control endpoints keep working so a test can switch the fault off again.
    faults = assert_json(api.get("/_sandbox/faults"), 200)["faults"]
    assert faults["html_500"] is True
    sandbox.faults.html_500 = False
    assert assert_json(api.get("/api/customers/1"), 200)["userid"] == "1"


def test_error_rate(api: httpx.Client, sandbox: RunningSandbox) -> None:
    sandbox.faults.error_rate = 1.0
    assert_html(api.get("/api/customers/1"), 500, "Internal Server Error")
    sandbox.faults.error_rate = 0.5
    statuses = {api.get("/api/customers/1").status_code for _ in range(60)}
    assert statuses == {200, 500}
    sandbox.faults.error_rate = 0.0
    assert {api.get("/api/customers/1").status_code for _ in range(10)} == {200}


def test_latency_delays_answers(api: httpx.Client, sandbox: RunningSandbox) -> None:
    sandbox.faults.latency = 1.0
    with pytest.raises(httpx.ReadTimeout):
        api.get("/api/customers/1", timeout=0.2)
    sandbox.faults.latency = 0.05
    assert assert_json(api.get("/api/customers/1", timeout=5), 200)["userid"] == "1"


def test_hang_never_answers_until_the_client_gives_up(
    api: httpx.Client, sandbox: RunningSandbox
) -> None:
    sandbox.faults.hang = True
    with pytest.raises(httpx.ReadTimeout):
        api.get("/api/customers/1", timeout=0.3)
    with pytest.raises(httpx.ReadTimeout):
        api.post("/api/customers", data={"company": "Never"}, timeout=0.3)
    sandbox.faults.hang = False
    assert assert_json(api.get("/api/customers/1"), 200)["userid"] == "1"
    # The server noticed the clients leaving and let go of their requests, which never ran.
    for _ in range(200):
        if sandbox.app.held_requests == 0:
            break
        threading.Event().wait(0.01)
    assert sandbox.app.held_requests == 0
    assert len(assert_json(api.get("/api/customers"), 200)) == DEMO_FACTS.customer_count


def test_hanging_request_does_not_block_shutdown() -> None:
    outcome: list[int | str] = []

    def wait_forever(url: str, token: str) -> None:
        try:
            response = httpx.get(f"{url}/api/tickets", headers={"authtoken": token}, timeout=60)
            outcome.append(response.status_code)
        except httpx.HTTPError as error:
            outcome.append(type(error).__name__)

    with running_sandbox(faults=SandboxFaults(hang=True)) as running:
        waiter = threading.Thread(target=wait_forever, args=(running.base_url, running.token))
        waiter.start()
        while not outcome and running.app.held_requests == 0:
            threading.Event().wait(0.01)
    waiter.join(timeout=10)
    assert not waiter.is_alive()
    # Stopping released the request: the client got the server's 500 page, not a timeout.
    assert outcome == [500]


def test_latency_does_not_block_shutdown() -> None:
    with running_sandbox(faults=SandboxFaults(latency=60.0)) as running:
        got: list[int] = []
        caller = threading.Thread(
            target=lambda: got.append(
                httpx.get(
                    f"{running.base_url}/api/customers/1",
                    headers={"authtoken": running.token},
                    timeout=60,
                ).status_code
            )
        )
        caller.start()
        while running.app.held_requests == 0:
            threading.Event().wait(0.01)
    caller.join(timeout=10)
    assert got == [200]  # released early, then answered normally


def test_faults_over_http(api: httpx.Client, sandbox: RunningSandbox) -> None:
    answer = assert_json(
        api.post("/_sandbox/faults", json={"html_500": True, "latency": 0.01}), 200
    )
    assert answer["faults"] == {
        "latency": 0.01,
        "error_rate": 0.0,
        "html_500": True,
        "hang": False,
        "dev_mode": False,
    }
    assert sandbox.faults.html_500 is True
    assert api.get("/api/customers/1").status_code == 500
    assert_json(api.post("/_sandbox/faults", json={"html_500": False}), 200)
    assert api.get("/api/customers/1").status_code == 200
    for bad in (
        {"latency": -1},
        {"error_rate": 1.5},
        {"hang": "yes"},
        {"dev_mode": 1},
        {"nope": 1},
        [1],
    ):
        response = api.post("/_sandbox/faults", json=bad)
        assert assert_json(response, 400)["status"] is False
    assert api.post("/_sandbox/faults", content=b"{bad json").status_code == 400
    assert sandbox.faults.as_dict() == {
        "latency": 0.01,
        "error_rate": 0.0,
        "html_500": False,
        "hang": False,
        "dev_mode": False,
    }


def test_reset_over_http_restores_data_and_clears_faults(
    api: httpx.Client, sandbox: RunningSandbox
) -> None:
    assert api.delete("/api/leads/1").status_code == 200
    sandbox.faults.latency = 0.01
    sandbox.faults.dev_mode = True
    answer = assert_json(api.post("/_sandbox/reset"), 200)
    assert answer == {"status": True, "message": "Sandbox reset."}
    assert assert_json(api.get("/api/leads/1"), 200)["id"] == "1"
    assert sandbox.faults.as_dict() == SandboxFaults().as_dict()


def test_fault_values_are_checked() -> None:
    faults = SandboxFaults()
    faults.update({"latency": 2, "error_rate": 0.25})
    assert (faults.latency, faults.error_rate) == (2.0, 0.25)
    for bad in ({"latency": True}, {"latency": float("nan")}, {"html_500": 1}):
        with pytest.raises(ValueError):
            faults.update(bad)
    with pytest.raises(ValueError, match="unknown fault"):
        faults.update({"latency": 1, "explode": True})
    assert faults.latency == 2.0  # a rejected change changes nothing
    faults.clear()
    assert faults == SandboxFaults()
