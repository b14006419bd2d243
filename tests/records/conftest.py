"""Fixtures: the sandbox's store (the sandbox and its client come from tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.sandbox import RunningSandbox


@pytest.fixture
def store(sandbox: RunningSandbox) -> Any:
    return sandbox.store
