from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.console.slack_standin import (
    DEFAULT_BOT_TOKEN,
    RunningSlackStandin,
    running_slack_standin,
)


@pytest.fixture
def slack() -> Iterator[RunningSlackStandin]:
    with running_slack_standin(
        channels=[
            {"id": "C0002", "name": "sales", "bot_is_member": False},
            {"id": "G0003", "name": "board", "bot_is_member": False, "is_private": True},
        ]
    ) as standin:
        yield standin


@pytest.fixture
def client(slack: RunningSlackStandin) -> AsyncWebClient:
    return AsyncWebClient(token=DEFAULT_BOT_TOKEN, base_url=slack.api_url)
