"""Fixtures for sandbox tests: one sandbox per test module, reset before every test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from bot.sandbox import RunningSandbox, running_sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox() as running:
        yield running


@pytest.fixture(scope="module")
def sandbox_v3() -> Iterator[RunningSandbox]:
    with running_sandbox(api_version=3) as running:
        yield running


def _client(running: RunningSandbox) -> httpx.Client:
    return httpx.Client(
        base_url=running.base_url, headers={"authtoken": running.token}, timeout=10.0
    )


@pytest.fixture
def api(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    """An HTTP client carrying the token, against freshly seeded 2.0.8-style data."""
    sandbox.store.reset()
    sandbox.faults.clear()
    with _client(sandbox) as client:
        yield client
    sandbox.faults.clear()


@pytest.fixture
def api_v3(sandbox_v3: RunningSandbox) -> Iterator[httpx.Client]:
    """The same against a sandbox answering like the 3.x module."""
    sandbox_v3.store.reset()
    sandbox_v3.faults.clear()
    with _client(sandbox_v3) as client:
        yield client
