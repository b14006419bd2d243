"""Suite-wide pytest configuration, and the PMP sandbox fixtures the domain tests share
(directories that need another sandbox or client define their own `sandbox` / `pmp`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from bot.pmp import PmpClient
from bot.pmp.network import PRIVATE_ALLOWED
from bot.sandbox import RunningSandbox, running_sandbox


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # pytest exits 5 when it collected no tests; a suite that ran nothing must not pass.
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    """A PMP sandbox (2.0.8) on loopback."""
    with running_sandbox() as running:
        yield running


@pytest.fixture
async def pmp(sandbox: RunningSandbox) -> AsyncIterator[PmpClient]:
    """A PMP client for the sandbox (loopback allowed)."""
    async with PmpClient(
        base_url=sandbox.base_url, token=sandbox.token, address_policy=PRIVATE_ALLOWED
    ) as client:
        yield client
