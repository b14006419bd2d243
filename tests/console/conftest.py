from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.console.shell import ConsoleShell
from bot.console.slack_standin import (
    DEFAULT_BOT_TOKEN,
    RunningSlackStandin,
    running_slack_standin,
)
from tests.console.toy_app import SIGNING_SECRET, build_toy_app, serve


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


@dataclass
class ShellRig:
    """A console shell driving the toy app, with everything the tests look at."""

    shell: ConsoleShell
    out: io.StringIO
    seen: list[dict[str, Any]]
    slack: RunningSlackStandin

    async def run(self, *lines: str) -> str:
        """Run script lines; the transcript they produced."""
        start = len(self.out.getvalue())
        await self.shell.run(list(lines))
        return self.out.getvalue()[start:]

    def payloads(self, kind: str) -> list[dict[str, Any]]:
        return [b for b in self.seen if b.get("type") == kind]


@pytest.fixture
async def rig(slack: RunningSlackStandin) -> AsyncIterator[ShellRig]:
    seen: list[dict[str, Any]] = []
    app = build_toy_app(slack, seen=seen)
    transport = httpx.ASGITransport(app=serve(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://toy.test") as http:
        out = io.StringIO()
        shell = ConsoleShell(
            http=http,
            signing_secret=SIGNING_SECRET,
            slack=slack,
            team_id="T0001",
            user_id="U0001",
            channel_id="C0001",
            out=out,
            shortcuts={"New thing": "new_thing", "Summarise this": "summarise", "Gone": "gone"},
            settle_quiet=0.05,
        )
        yield ShellRig(shell=shell, out=out, seen=seen, slack=slack)
