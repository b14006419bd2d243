"""Fixtures: the PMP sandbox with a client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from bot.pmp import PmpClient
from bot.pmp.network import PRIVATE_ALLOWED
from bot.sandbox import RunningSandbox, running_sandbox


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox() as running:
        yield running


@pytest.fixture
async def pmp(sandbox: RunningSandbox) -> AsyncIterator[PmpClient]:
    async with PmpClient(
        base_url=sandbox.base_url, token=sandbox.token, timeout=5, address_policy=PRIVATE_ALLOWED
    ) as client:
        yield client


@pytest.fixture
def store(sandbox: RunningSandbox) -> Any:
    return sandbox.store
