"""A PMP sandbox and a client of it, for the ticket domain tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from bot.pmp import PmpClient
from bot.pmp.network import PRIVATE_ALLOWED
from bot.sandbox import running_sandbox


@pytest.fixture
def sandbox() -> Iterator[Any]:
    with running_sandbox() as running:
        yield running


@pytest.fixture
async def pmp(sandbox: Any) -> AsyncIterator[PmpClient]:
    async with PmpClient(
        base_url=sandbox.base_url, token=sandbox.token, address_policy=PRIVATE_ALLOWED
    ) as client:
        yield client
