"""Fixtures for the Block Kit builder tests."""

from __future__ import annotations

import pytest

from bot.names import NameBook, TicketSettings


@pytest.fixture
def workspace_names() -> NameBook:
    """Names of a workspace whose admin renamed a status and listed departments/services."""
    settings = TicketSettings(
        statuses={1: "New", 6: "Waiting on customer"},
        priorities={4: "Urgent"},
        departments={1: "Support", 2: "Sales"},
        services={1: "Hosting"},
    )
    return NameBook.from_settings(settings)
