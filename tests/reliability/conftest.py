"""Reliability fixtures: the real bot over HTTP against a PMP sandbox and the Slack stand-in,
with helpers to fire several requests at once and collect every answer a user got."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from bot.console.slack_standin import RecordedCall, RunningSlackStandin, running_slack_standin
from bot.run.embedded import RunningBot
from bot.sandbox import running_sandbox
from bot.storage import to_async_database_url
from tests.e2e.conftest import OWNER_A, TEAM_A, TEAM_B, bot_and_sender, bot_settings
from tests.e2e.slack_client import SlackSender

# Words that would mean a Python error reached a user.
TRACEBACK_MARKERS = ("Traceback", 'File "', "Error:", "Exception", "sqlalchemy", "asyncpg")


@pytest.fixture
def slack() -> Iterator[RunningSlackStandin]:
    with running_slack_standin(
        teams={TEAM_A: "xoxb-standin-T0001", TEAM_B: "xoxb-standin-T0002"}
    ) as standin:
        yield standin


@pytest.fixture
def pmp() -> Iterator[Any]:
    with running_sandbox() as sandbox:
        yield sandbox


@pytest.fixture
def secret_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'bot.sqlite3'}"


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database of its own, dropped afterwards."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("TEST_DATABASE_URL is not set: this reliability test needs PostgreSQL")
    name = f"pmpbot_rel_{uuid.uuid4().hex[:12]}"
    # No pool: a pooled connection would not survive the restart test.
    admin = create_async_engine(
        to_async_database_url(base), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@pytest.fixture
async def connected(
    slack: RunningSlackStandin, pmp: Any, sqlite_url: str, secret_key: str
) -> AsyncIterator[tuple[RunningBot, SlackSender]]:
    """The bot with TEAM_A connected to the sandbox; PMP calls give up after 1 s."""
    settings = bot_settings(slack, sqlite_url, secret_key, pmp_timeout=1.0)
    async with bot_and_sender(settings, slack) as (bot, sender):
        await connect(bot, pmp.base_url, pmp.token)
        yield bot, sender


async def connect(bot: RunningBot, base_url: str, token: str, team: str = TEAM_A) -> None:
    await bot.services.workspaces.save_credentials(
        team_id=team, enterprise_id=None, base_url=base_url, token=token, connected_by=OWNER_A
    )


async def replies_since(
    slack: RunningSlackStandin, since: int, count: int, *, timeout: float = 15.0
) -> list[RecordedCall]:
    """The first `count` response_url posts recorded after call number `since`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found = [c for c in slack.calls[since:] if c.method == "response_url"]
        if len(found) >= count:
            return found[:count]
        if loop.time() >= deadline:
            raise AssertionError(f"{len(found)} of {count} replies arrived within {timeout} s")
        await asyncio.sleep(0.02)


async def commands_at_once(
    sender: SlackSender, slack: RunningSlackStandin, texts: list[str], *, team: str = TEAM_A
) -> list[str]:
    """Sends every `/pmp` text at once (one user each) and returns each user's reply text,
    in the order of `texts`; asserts every request was acknowledged with a 200."""
    since = len(slack.calls)
    users = [f"U9{index:03d}M" for index in range(len(texts))]
    acks = await asyncio.gather(
        *(sender.command(t, team=team, user=u) for t, u in zip(texts, users, strict=True))
    )
    for ack in acks:
        assert ack.status_code == 200, ack.text
        assert_no_traceback(ack.text)
    calls = await replies_since(slack, since, len(texts))
    by_user: dict[str, str] = {}
    for call in calls:
        assert call.team_id == team
        by_user.setdefault(_reply_user(slack, call), reply_text(call))
    assert sorted(by_user) == sorted(users), "every user gets exactly one answer"
    return [by_user[user] for user in users]


def _reply_user(slack: RunningSlackStandin, call: RecordedCall) -> str:
    effect = call.effect
    assert effect is not None and effect.ephemeral_for, f"a private reply: {call}"
    return effect.ephemeral_for


def reply_text(call: RecordedCall) -> str:
    text = json.dumps(call.params, ensure_ascii=False)
    assert_no_traceback(text)
    return text


def assert_no_traceback(text: str) -> None:
    for marker in TRACEBACK_MARKERS:
        assert marker not in text, f"{marker!r} shown to a user: {text[:500]}"
