"""End-to-end fixtures: the real bot over HTTP, the PMP sandbox and the Slack stand-in."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.config import Settings, load_settings
from bot.console.slack_standin import RunningSlackStandin, running_slack_standin
from bot.run.embedded import RunningBot, running_bot
from bot.sandbox import running_sandbox
from bot.storage import to_async_database_url
from tests.e2e.slack_client import SlackSender

TEAM_A = "T0001"
TEAM_B = "T0002"
OWNER_A = "U0001"  # the stand-in makes U<digits> an owner and U<digits>M a plain member
MEMBER_A = "U0001M"
OWNER_B = "U0002"
SIGNING_SECRET = "e2e-signing-secret"


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


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bot.sqlite3'}"
        return
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL end-to-end tests need it")
    # A database of its own per test, so parallel runs and leftovers never collide.
    name = f"pmpbot_e2e_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(to_async_database_url(base), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


def bot_settings(
    slack: RunningSlackStandin,
    database_url: str,
    secret_key: str,
    *,
    oauth: bool = False,
    **overrides: Any,
) -> Settings:
    values: dict[str, Any] = {
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": slack.api_url,
        "database_url": database_url,
        "pmp_bot_secret_key": secret_key,
        "log_level": "DEBUG",
        # The PMP sandbox listens on 127.0.0.1, which pmp-bot refuses unless allowed.
        "pmp_bot_allow_private_pmp": True,
    }
    if oauth:
        values.update(slack_client_id=slack.client_id, slack_client_secret=slack.client_secret)
    else:
        values["slack_bot_token"] = "xoxb-standin-T0001"
    values.update(overrides)
    return load_settings(env_file=None, **values)


@pytest.fixture
async def connected(
    slack: RunningSlackStandin, pmp: Any, tmp_path: Path, secret_key: str
) -> AsyncIterator[tuple[RunningBot, SlackSender]]:
    """The bot, with workspace TEAM_A already connected to the sandbox."""
    settings = bot_settings(slack, f"sqlite:///{tmp_path / 'bot.sqlite3'}", secret_key)
    async with bot_and_sender(settings, slack) as (bot, sender):
        await bot.services.workspaces.save_credentials(
            team_id=TEAM_A,
            enterprise_id=None,
            base_url=pmp.base_url,
            token=pmp.token,
            connected_by=OWNER_A,
        )
        yield bot, sender


@asynccontextmanager
async def bot_and_sender(
    settings: Settings, slack: RunningSlackStandin
) -> AsyncIterator[tuple[RunningBot, SlackSender]]:
    async with running_bot(settings) as bot, httpx.AsyncClient(timeout=10) as http:
        yield (
            bot,
            SlackSender(
                events_url=bot.events_url,
                signing_secret=SIGNING_SECRET,
                standin=slack,
                http=http,
            ),
        )


async def oauth_install(bot_url: str, slack: RunningSlackStandin, code: str) -> httpx.Response:
    """Slack's OAuth install as a browser runs it: /slack/install, then the redirect with
    `code` (from `slack.new_oauth_code`). Returns the redirect's answer."""
    async with httpx.AsyncClient(base_url=bot_url) as browser:
        start = await browser.get("/slack/install")
        assert start.status_code == 200
        link = start.text.split('<a href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
        # The authorize page lives beside the configured Web API URL (GovSlack and stand-ins).
        assert link.startswith(slack.root_url + "/oauth/v2/authorize?")
        state = parse_qs(urlsplit(link).query)["state"][0]
        # The state cookie is marked Secure; a browser sends it back over HTTPS. Send it here.
        cookie = start.headers["set-cookie"].split(";", 1)[0]
        return await browser.get(
            "/slack/oauth_redirect",
            params={"code": code, "state": state},
            headers={"Cookie": cookie},
        )
