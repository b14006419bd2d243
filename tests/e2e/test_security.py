"""Signature checks and workspace isolation, through the real HTTP endpoint."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from bot.console.slack_standin import RunningSlackStandin
from bot.sandbox import running_sandbox
from tests.e2e.conftest import (
    OWNER_A,
    OWNER_B,
    TEAM_A,
    TEAM_B,
    bot_and_sender,
    bot_settings,
    oauth_install,
)
from tests.e2e.slack_client import SlackSender
from tests.e2e.test_connect import connect_values


@pytest.fixture
async def sender(slack: RunningSlackStandin, tmp_path: Path, secret_key: str) -> Any:
    settings = bot_settings(slack, f"sqlite:///{tmp_path / 'bot.sqlite3'}", secret_key)
    async with bot_and_sender(settings, slack) as (_, sender):
        yield sender


async def test_a_correctly_signed_request_is_answered(sender: SlackSender) -> None:
    response = await sender.command("help", team=TEAM_A, user=OWNER_A)
    assert response.status_code == 200
    assert "status" in response.text


async def test_an_unsigned_request_is_refused(sender: SlackSender) -> None:
    body = sender.command_body("help", team=TEAM_A, user=OWNER_A)
    response = await sender.post(body, "application/x-www-form-urlencoded", signed=False)
    assert response.status_code == 401


async def test_a_request_signed_with_another_secret_is_refused(sender: SlackSender) -> None:
    body = sender.command_body("help", team=TEAM_A, user=OWNER_A)
    forged = SlackSender(sender.events_url, "not-the-secret", sender.standin, sender.http)
    response = await sender.post(
        body, "application/x-www-form-urlencoded", headers=forged.sign(body)
    )
    assert response.status_code == 401


async def test_an_expired_request_is_refused(sender: SlackSender) -> None:
    body = sender.command_body("help", team=TEAM_A, user=OWNER_A)
    stale = sender.sign(body, timestamp=int(time.time()) - 6 * 60)
    response = await sender.post(body, "application/x-www-form-urlencoded", headers=stale)
    assert response.status_code == 401


async def test_a_signature_replayed_with_another_body_is_refused(sender: SlackSender) -> None:
    original = sender.command_body("help", team=TEAM_A, user=OWNER_A)
    tampered = sender.command_body("disconnect", team=TEAM_A, user=OWNER_A)
    response = await sender.post(
        tampered, "application/x-www-form-urlencoded", headers=sender.sign(original)
    )
    assert response.status_code == 401


async def install_via_oauth(bot_url: str, slack: RunningSlackStandin, team: str) -> None:
    """Installs pmp-bot into `team` through Slack's OAuth flow, as a browser would."""
    done = await oauth_install(bot_url, slack, slack.new_oauth_code(team))
    assert done.status_code == 200, done.text


async def test_two_workspaces_are_kept_apart(
    slack: RunningSlackStandin, tmp_path: Path, secret_key: str
) -> None:
    settings = bot_settings(slack, f"sqlite:///{tmp_path / 'bot.sqlite3'}", secret_key, oauth=True)
    with (
        running_sandbox(token="aaa.bbb.team-a") as pmp_a,
        running_sandbox(token="aaa.bbb.team-b") as pmp_b,
    ):
        async with bot_and_sender(settings, slack) as (bot, sender):
            await install_via_oauth(bot.url, slack, TEAM_A)
            await install_via_oauth(bot.url, slack, TEAM_B)
            # The token exchange went to the configured Slack API URL.
            assert len(slack.calls_to("oauth.v2.access")) == 2

            for team, owner, pmp in ((TEAM_A, OWNER_A, pmp_a), (TEAM_B, OWNER_B, pmp_b)):
                since = len(slack.calls)
                await sender.command("connect", team=team, user=owner)
                view = (await slack.wait_for("views.open", since=since)).response["view"]
                payload = sender.view_submission(
                    team=team,
                    user=owner,
                    view=view,
                    values=connect_values(pmp.base_url, pmp.token),
                )
                answer = (await sender.interaction(payload)).json()
                assert answer["response_action"] == "update", answer

            status_a = (await sender.command("status", team=TEAM_A, user=OWNER_A)).text
            status_b = (await sender.command("status", team=TEAM_B, user=OWNER_B)).text
            assert pmp_a.base_url in status_a and pmp_b.base_url not in status_a
            assert pmp_b.base_url in status_b and pmp_a.base_url not in status_b

            creds_a = await bot.services.workspaces.get_credentials(TEAM_A)
            creds_b = await bot.services.workspaces.get_credentials(TEAM_B)
            assert creds_a is not None and creds_b is not None
            assert creds_a.token.get_secret_value() == pmp_a.token
            assert creds_b.token.get_secret_value() == pmp_b.token

            # Uninstalling team A forgets team A only.
            response = await sender.event({"type": "app_uninstalled"}, team=TEAM_A)
            assert response.status_code == 200
            for _ in range(100):
                if await bot.services.workspaces.get_credentials(TEAM_A) is None:
                    break
                await asyncio_sleep(0.02)
            assert await bot.services.workspaces.get_credentials(TEAM_A) is None
            assert await bot.services.workspaces.get_credentials(TEAM_B) is not None
            status_b = (await sender.command("status", team=TEAM_B, user=OWNER_B)).text
            assert pmp_b.base_url in status_b


async def asyncio_sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


async def test_status_never_shows_the_token(sender: SlackSender) -> None:
    response = await sender.command("status", team=TEAM_A, user=OWNER_A)
    assert "isn't connected" in json.dumps(response.json())
