"""PostgreSQL restarted while requests flow: the bot carries on without a restart of its own.

The restart is of the shared test server, so it happens once, quickly, and the test waits
until the server accepts connections again before it ends.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from bot.blocks.ids import CardAction
from bot.console.slack_standin import RunningSlackStandin
from bot.slack.middleware import DATABASE_DOWN
from tests.e2e.conftest import MEMBER_A, TEAM_A, bot_and_sender, bot_settings
from tests.reliability.conftest import assert_no_traceback, commands_at_once, connect

CLUSTER = ("15", "main")


def restart_postgres() -> None:
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", *CLUSTER, "restart"],
        check=True,
        capture_output=True,
        timeout=60,
    )


def wait_until_ready(timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready = subprocess.run(
            ["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-t", "2"], capture_output=True
        )
        if ready.returncode == 0:
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def restartable() -> None:
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("TEST_DATABASE_URL is not set: this reliability test needs PostgreSQL")
    if shutil.which("pg_ctlcluster") is None or shutil.which("pg_isready") is None:
        pytest.skip("pg_ctlcluster and pg_isready are needed to restart PostgreSQL")
    if not Path("/etc/postgresql", *CLUSTER).is_dir():
        pytest.skip("no local PostgreSQL 15 cluster 'main' to restart")
    if os.geteuid() != 0:
        pytest.skip("restarting PostgreSQL needs root")


async def test_the_bot_recovers_from_a_postgres_restart_during_traffic(
    restartable: None,
    slack: RunningSlackStandin,
    pmp: Any,
    postgres_url: str,
    secret_key: str,
) -> None:
    settings = bot_settings(slack, postgres_url, secret_key, pmp_timeout=2.0)
    async with bot_and_sender(settings, slack) as (bot, sender), httpx.AsyncClient() as http:
        await connect(bot, pmp.base_url, pmp.token)
        (before,) = await commands_at_once(sender, slack, ["customer 1"])
        assert "Acme Corporation" in before

        statuses: list[int] = []
        bodies: list[str] = []
        restarted = asyncio.Event()

        async def traffic() -> None:
            # Requests keep arriving while the server restarts, and a little after.
            while not restarted.is_set():
                answer = await sender.command("status", team=TEAM_A, user="U0007M")
                statuses.append(answer.status_code)
                bodies.append(answer.text)
                await asyncio.sleep(0.05)

        flowing = asyncio.create_task(traffic())
        try:
            await asyncio.sleep(0.3)
            await asyncio.to_thread(restart_postgres)
        finally:
            ready = await asyncio.to_thread(wait_until_ready)
            restarted.set()
            await flowing
        assert ready, "PostgreSQL did not come back"

        assert statuses, "requests flowed during the restart"
        for status, body in zip(statuses, bodies, strict=True):
            assert status == 200, body
            assert_no_traceback(body)
            assert "Connected to PMP" in body or DATABASE_DOWN in body, body

        # No restart of the bot: health is back, and so are lookups and writes.
        health = await http.get(bot.url + "/healthz")
        for _ in range(50):
            if health.status_code == 200:
                break
            await asyncio.sleep(0.1)
            health = await http.get(bot.url + "/healthz")
        assert health.status_code == 200
        after = await commands_at_once(sender, slack, ["customer 1", "customer acme"])
        assert all("Acme Corporation" in reply for reply in after)
        await bot.services.workspaces.set_notify_channel(TEAM_A, None, "C0001")
        workspace = await bot.services.workspaces.get(TEAM_A)
        assert workspace is not None and workspace.notify_channel_id == "C0001"


async def test_while_the_database_is_away_users_hear_so_and_slack_may_resend(
    slack: RunningSlackStandin, pmp: Any, sqlite_url: str, secret_key: str
) -> None:
    settings = bot_settings(slack, sqlite_url, secret_key)
    async with bot_and_sender(settings, slack) as (bot, sender):
        await connect(bot, pmp.base_url, pmp.token)

        async def unreachable(*args: object, **kwargs: object) -> NoReturn:
            raise OperationalError("SELECT", {}, ConnectionRefusedError(111, "refused"))

        bot.services.workspaces.get = unreachable  # type: ignore[method-assign]

        command = await sender.command("customer 1", team=TEAM_A, user=MEMBER_A)
        assert command.status_code == 200
        assert command.json()["text"] == DATABASE_DOWN

        since = len(slack.calls)
        press = sender.block_actions(
            team=TEAM_A,
            user=MEMBER_A,
            action={"action_id": CardAction.SHOW, "block_id": "b", "value": "customer:1"},
        )
        assert (await sender.interaction(press)).status_code == 200
        told = await slack.wait_for("response_url", since=since)
        assert told.params["text"] == DATABASE_DOWN

        # Slack sends an event again, and keeps a modal open, after a 503.
        event = await sender.event({"type": "app_uninstalled"}, team=TEAM_A)
        assert event.status_code == 503
        view = {"id": "V1", "type": "modal", "callback_id": "pmp_connect", "blocks": []}
        submitted = sender.view_submission(team=TEAM_A, user=MEMBER_A, view=view, values={})
        assert (await sender.interaction(submitted)).status_code == 503
        for response in (event,):
            assert_no_traceback(response.text)
