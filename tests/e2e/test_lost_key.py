"""A lost or wrong PMP_BOT_SECRET_KEY: stored tokens that no key opens mean "connect again"
(single workspace) or "reinstall" (OAuth), said at start and on every request, never a 500."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from bot.console.slack_standin import RunningSlackStandin
from bot.slack.app import REINSTALL_NEEDED
from tests.e2e.conftest import MEMBER_A, OWNER_A, TEAM_A, bot_and_sender, bot_settings
from tests.e2e.test_security import install_via_oauth

KEY_ERROR = "PMP_BOT_SECRET_KEY can't decrypt the PMP tokens"


async def test_a_wrong_key_asks_the_workspace_to_connect_again(
    slack: RunningSlackStandin,
    pmp: Any,
    tmp_path: Path,
    secret_key: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    database = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    async with bot_and_sender(bot_settings(slack, database, secret_key), slack) as (bot, _):
        await bot.services.workspaces.save_credentials(
            team_id=TEAM_A,
            enterprise_id=None,
            base_url=pmp.base_url,
            token=pmp.token,
            connected_by=OWNER_A,
        )
    assert KEY_ERROR not in caplog.text

    caplog.set_level(logging.INFO)
    settings = bot_settings(slack, database, Fernet.generate_key().decode())
    async with bot_and_sender(settings, slack) as (bot, sender):
        # Said once at start, in one line that names the setting and the fix.
        assert KEY_ERROR in caplog.text and "NEW,OLD" in caplog.text

        status = json.dumps((await sender.command("status", team=TEAM_A, user=MEMBER_A)).json())
        assert "can no longer read this workspace's PMP token" in status
        assert ":large_green_circle:" not in status

        lookup = await sender.command("customer acme", team=TEAM_A, user=MEMBER_A)
        answer = json.dumps(lookup.json())
        assert "/pmp connect" in answer and "encryption key changed" in answer
        assert "Acme" not in answer

        # Connecting again stores the token under the new key, and lookups work.
        await bot.services.workspaces.save_credentials(
            team_id=TEAM_A,
            enterprise_id=None,
            base_url=pmp.base_url,
            token=pmp.token,
            connected_by=OWNER_A,
        )
        since = len(slack.calls)
        response = await sender.command("customer acme", team=TEAM_A, user=MEMBER_A)
        assert response.status_code == 200
        reply = await slack.wait_for("response_url", since=since, timeout=30)
        assert "Acme Corporation" in json.dumps(reply.params)
        status = json.dumps((await sender.command("status", team=TEAM_A, user=MEMBER_A)).json())
        assert ":large_green_circle:" in status
    assert "Traceback" not in caplog.text


async def test_an_oauth_workspace_whose_tokens_no_key_opens_is_asked_to_reinstall(
    slack: RunningSlackStandin, tmp_path: Path, secret_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    database = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    settings = bot_settings(slack, database, secret_key, oauth=True)
    async with bot_and_sender(settings, slack) as (bot, _):
        await install_via_oauth(bot.url, slack, TEAM_A)

    other = bot_settings(slack, database, Fernet.generate_key().decode(), oauth=True)
    async with bot_and_sender(other, slack) as (_, sender):
        assert "can't decrypt the Slack tokens" in caplog.text
        since = len(slack.calls)
        response = await sender.command("help", team=TEAM_A, user=OWNER_A)
        # Not a 500: Bolt's answer for a missing installation, in pmp-bot's words.
        assert response.status_code == 200
        reply = await slack.wait_for("response_url", since=since, timeout=30)
        assert reply.params["text"] == REINSTALL_NEEDED
    assert "Traceback" not in caplog.text
