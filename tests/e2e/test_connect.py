"""Connecting a workspace, end to end: signed requests over HTTP, the PMP sandbox over
loopback and the Slack stand-in, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
import socket
from pathlib import Path
from typing import Any

import pytest

from bot.blocks.ids import Action, Block, Callback
from bot.connect import CONNECT_FAILED
from bot.console.slack_standin import RunningSlackStandin
from tests.e2e.conftest import (
    MEMBER_A,
    OWNER_A,
    TEAM_A,
    bot_and_sender,
    bot_settings,
)
from tests.e2e.slack_client import SlackSender


def connect_values(url: str, token: str) -> dict[str, Any]:
    return {
        Block.CONNECT_URL: {Action.CONNECT_URL_INPUT: {"type": "plain_text_input", "value": url}},
        Block.CONNECT_TOKEN: {
            Action.CONNECT_TOKEN_INPUT: {"type": "plain_text_input", "value": token}
        },
    }


async def open_connect_modal(sender: SlackSender, slack: RunningSlackStandin) -> dict[str, Any]:
    since = len(slack.calls)
    response = await sender.command("connect", team=TEAM_A, user=OWNER_A)
    assert response.status_code == 200
    call = await slack.wait_for("views.open", since=since)
    assert call.ok, call.response
    view: dict[str, Any] = call.response["view"]
    assert view["callback_id"] == Callback.CONNECT_MODAL
    return view


async def submit_connect(
    sender: SlackSender, view: dict[str, Any], url: str, token: str, user: str = OWNER_A
) -> dict[str, Any]:
    payload = sender.view_submission(
        team=TEAM_A, user=user, view=view, values=connect_values(url, token)
    )
    response = await sender.interaction(payload)
    assert response.status_code == 200
    return response.json() if response.content else {}


async def status_text(sender: SlackSender) -> str:
    response = await sender.command("status", team=TEAM_A, user=MEMBER_A)
    assert response.status_code == 200
    return json.dumps(response.json())


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_successful_connect_is_stored_and_shown_in_status(
    slack: RunningSlackStandin, pmp: Any, database_url: str, secret_key: str
) -> None:
    settings = bot_settings(slack, database_url, secret_key)
    async with bot_and_sender(settings, slack) as (bot, sender):
        assert "isn't connected" in await status_text(sender)
        view = await open_connect_modal(sender, slack)
        # The token input is never pre-filled.
        token_block = next(b for b in view["blocks"] if b.get("block_id") == Block.CONNECT_TOKEN)
        assert "initial_value" not in token_block["element"]

        answer = await submit_connect(sender, view, pmp.base_url + "/api/", pmp.token)
        assert answer["response_action"] == "update"
        assert "connected" in json.dumps(answer["view"])
        assert pmp.token not in json.dumps(answer)

        status = await status_text(sender)
        assert pmp.base_url in status
        assert f"<@{OWNER_A}>" in status
        assert pmp.token not in status
        credentials = await bot.services.workspaces.get_credentials(TEAM_A)
        assert credentials is not None
        assert credentials.base_url == pmp.base_url
        assert credentials.token.get_secret_value() == pmp.token


@pytest.mark.parametrize(
    ("url", "token", "block", "fragment"),
    [
        ("", "x", Block.CONNECT_URL, "Enter the address"),
        ("ftp://crm.example.com", "x", Block.CONNECT_URL, "https://"),
        ("not a url", "x", Block.CONNECT_URL, "doesn't look like a web address"),
        ("SANDBOX", "", Block.CONNECT_TOKEN, "Paste the API token"),
        ("SANDBOX", "wrong-token", Block.CONNECT_TOKEN, "PMP refused this token"),
        ("SANDBOX", "aaa.bbb.ccc", Block.CONNECT_TOKEN, "PMP refused this token"),
        # Every failure short of PMP refusing the token gets the same answer (see
        # test_pmp_addresses.py): the form must not tell an open port from a closed one.
        ("CLOSED", "SANDBOX", Block.CONNECT_URL, CONNECT_FAILED),
        ("STANDIN", "SANDBOX", Block.CONNECT_URL, CONNECT_FAILED),
    ],
)
async def test_each_connect_failure_names_the_input_to_fix(
    slack: RunningSlackStandin,
    pmp: Any,
    tmp_path: Path,
    secret_key: str,
    url: str,
    token: str,
    block: str,
    fragment: str,
) -> None:
    url = {
        "SANDBOX": pmp.base_url,
        "CLOSED": f"http://127.0.0.1:{closed_port()}",
        "STANDIN": slack.root_url,
    }.get(url, url)
    token = pmp.token if token == "SANDBOX" else token
    settings = bot_settings(slack, f"sqlite:///{tmp_path / 'bot.sqlite3'}", secret_key)
    async with bot_and_sender(settings, slack) as (bot, sender):
        view = await open_connect_modal(sender, slack)
        answer = await submit_connect(sender, view, url, token)
        assert answer["response_action"] == "errors"
        assert set(answer["errors"]) == {block}
        assert fragment in answer["errors"][block]
        assert await bot.services.workspaces.get_credentials(TEAM_A) is None


async def test_a_slow_pmp_fails_the_connect_check_within_the_ack_budget(
    slack: RunningSlackStandin, pmp: Any, tmp_path: Path, secret_key: str
) -> None:
    pmp.faults.hang = True
    settings = bot_settings(slack, f"sqlite:///{tmp_path / 'bot.sqlite3'}", secret_key)
    async with bot_and_sender(settings, slack) as (_, sender):
        view = await open_connect_modal(sender, slack)
        answer = await submit_connect(sender, view, pmp.base_url, pmp.token)
        assert answer["response_action"] == "errors"
        assert answer["errors"][Block.CONNECT_URL] == CONNECT_FAILED


async def test_only_admins_can_connect(
    slack: RunningSlackStandin, pmp: Any, tmp_path: Path, secret_key: str
) -> None:
    settings = bot_settings(slack, f"sqlite:///{tmp_path / 'bot.sqlite3'}", secret_key)
    async with bot_and_sender(settings, slack) as (bot, sender):
        since = len(slack.calls)
        response = await sender.command("connect", team=TEAM_A, user=MEMBER_A)
        assert response.status_code == 200
        reply = await slack.wait_for("response_url", since=since)
        assert "Only workspace admins and owners" in json.dumps(reply.params)
        assert slack.calls_to("views.open") == []

        # A forged submission from a non-admin is refused too.
        view = {"id": "V1", "type": "modal", "callback_id": Callback.CONNECT_MODAL, "blocks": []}
        answer = await submit_connect(sender, view, pmp.base_url, pmp.token, user=MEMBER_A)
        assert answer["response_action"] == "errors"
        assert await bot.services.workspaces.get_credentials(TEAM_A) is None


async def test_pmp_bot_admins_setting_lets_a_member_connect(
    slack: RunningSlackStandin, pmp: Any, tmp_path: Path, secret_key: str
) -> None:
    settings = bot_settings(
        slack, f"sqlite:///{tmp_path / 'bot.sqlite3'}", secret_key, pmp_bot_admins=MEMBER_A
    )
    async with bot_and_sender(settings, slack) as (_, sender):
        since = len(slack.calls)
        await sender.command("connect", team=TEAM_A, user=MEMBER_A)
        assert (await slack.wait_for("views.open", since=since)).ok


async def test_disconnect_asks_first_then_forgets_the_credentials(
    slack: RunningSlackStandin, pmp: Any, tmp_path: Path, secret_key: str
) -> None:
    settings = bot_settings(slack, f"sqlite:///{tmp_path / 'bot.sqlite3'}", secret_key)
    async with bot_and_sender(settings, slack) as (bot, sender):
        view = await open_connect_modal(sender, slack)
        await submit_connect(sender, view, pmp.base_url, pmp.token)

        since = len(slack.calls)
        await sender.command("disconnect", team=TEAM_A, user=OWNER_A)
        prompt = await slack.wait_for("response_url", since=since)
        assert "Disconnect this workspace" in json.dumps(prompt.params)
        assert await bot.services.workspaces.get_credentials(TEAM_A) is not None

        since = len(slack.calls)
        payload = sender.block_actions(
            team=TEAM_A,
            user=OWNER_A,
            action={
                "action_id": Action.DISCONNECT_CONFIRMED,
                "block_id": "b",
                "value": "x",
                "type": "button",
            },
        )
        assert (await sender.interaction(payload)).status_code == 200
        done = await slack.wait_for("response_url", since=since)
        assert done.params.get("replace_original") is True
        assert f"<@{OWNER_A}> disconnected" in json.dumps(done.params)
        assert await bot.services.workspaces.get_credentials(TEAM_A) is None
        assert "isn't connected" in await status_text(sender)


async def test_a_member_cannot_disconnect(
    slack: RunningSlackStandin, pmp: Any, tmp_path: Path, secret_key: str
) -> None:
    settings = bot_settings(slack, f"sqlite:///{tmp_path / 'bot.sqlite3'}", secret_key)
    async with bot_and_sender(settings, slack) as (bot, sender):
        view = await open_connect_modal(sender, slack)
        await submit_connect(sender, view, pmp.base_url, pmp.token)
        payload = sender.block_actions(
            team=TEAM_A,
            user=MEMBER_A,
            action={
                "action_id": Action.DISCONNECT_CONFIRMED,
                "block_id": "b",
                "value": "x",
                "type": "button",
            },
        )
        since = len(slack.calls)
        await sender.interaction(payload)
        reply = await slack.wait_for("response_url", since=since)
        assert "Only workspace admins" in json.dumps(reply.params)
        assert await bot.services.workspaces.get_credentials(TEAM_A) is not None


async def test_connection_survives_a_restart_and_a_key_rotation(
    slack: RunningSlackStandin, pmp: Any, tmp_path: Path, secret_key: str
) -> None:
    from cryptography.fernet import Fernet

    database_url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    async with bot_and_sender(bot_settings(slack, database_url, secret_key), slack) as (_, sender):
        view = await open_connect_modal(sender, slack)
        await submit_connect(sender, view, pmp.base_url, pmp.token)

    new_key = Fernet.generate_key().decode()
    rotated = bot_settings(slack, database_url, f"{new_key},{secret_key}")
    async with bot_and_sender(rotated, slack) as (bot, sender):
        # The old key still decrypts what it wrote.
        assert pmp.base_url in await status_text(sender)
        credentials = await bot.services.workspaces.get_credentials(TEAM_A)
        assert credentials is not None
        assert credentials.token.get_secret_value() == pmp.token
        # New writes use the new key only.
        view = await open_connect_modal(sender, slack)
        await submit_connect(sender, view, pmp.base_url, pmp.token)

    only_new = bot_settings(slack, database_url, new_key)
    async with bot_and_sender(only_new, slack) as (bot, _):
        credentials = await bot.services.workspaces.get_credentials(TEAM_A)
        assert credentials is not None
        assert credentials.token.get_secret_value() == pmp.token


async def test_the_token_never_reaches_the_database_file_or_the_logs(
    slack: RunningSlackStandin,
    pmp: Any,
    tmp_path: Path,
    secret_key: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    db_file = tmp_path / "bot.sqlite3"
    settings = bot_settings(slack, f"sqlite:///{db_file}", secret_key)
    async with bot_and_sender(settings, slack) as (_, sender):
        view = await open_connect_modal(sender, slack)
        await submit_connect(sender, view, pmp.base_url, pmp.token)
        await status_text(sender)
    raw = b"".join(path.read_bytes() for path in tmp_path.glob("bot.sqlite3*"))
    assert pmp.token.encode() not in raw
    assert pmp.base_url.encode() in raw  # the file was really written
    assert pmp.token not in caplog.text
    assert "xoxb-standin" not in caplog.text
    assert "team=T0001" in caplog.text  # the request log line was written


async def test_reencrypt_moves_stored_tokens_to_the_new_key(
    slack: RunningSlackStandin, pmp: Any, tmp_path: Path, secret_key: str
) -> None:
    from cryptography.fernet import Fernet

    from bot.run.reencrypt import reencrypt

    database_url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    async with bot_and_sender(bot_settings(slack, database_url, secret_key), slack) as (_, sender):
        view = await open_connect_modal(sender, slack)
        await submit_connect(sender, view, pmp.base_url, pmp.token)

    new_key = Fernet.generate_key().decode()
    assert await reencrypt(bot_settings(slack, database_url, f"{new_key},{secret_key}")) == (1, 0)
    # Running it again changes nothing.
    assert await reencrypt(bot_settings(slack, database_url, f"{new_key},{secret_key}")) == (0, 0)
    async with bot_and_sender(bot_settings(slack, database_url, new_key), slack) as (bot, _):
        credentials = await bot.services.workspaces.get_credentials(TEAM_A)
        assert credentials is not None
        assert credentials.token.get_secret_value() == pmp.token


@pytest.mark.parametrize(
    ("tokens", "forgotten"), [({"bot": ["UBOT"]}, True), ({"oauth": ["U1"]}, False)]
)
async def test_revoked_bot_tokens_forget_the_workspace(
    slack: RunningSlackStandin,
    pmp: Any,
    tmp_path: Path,
    secret_key: str,
    tokens: dict[str, list[str]],
    forgotten: bool,
) -> None:
    settings = bot_settings(slack, f"sqlite:///{tmp_path / 'bot.sqlite3'}", secret_key)
    async with bot_and_sender(settings, slack) as (bot, sender):
        view = await open_connect_modal(sender, slack)
        await submit_connect(sender, view, pmp.base_url, pmp.token)
        response = await sender.event({"type": "tokens_revoked", "tokens": tokens}, team=TEAM_A)
        assert response.status_code == 200
        await bot.services.listeners.wait_idle(timeout=10)
        credentials = await bot.services.workspaces.get_credentials(TEAM_A)
        assert (credentials is None) is forgotten


async def test_connect_through_the_console_form() -> None:
    import io

    from bot.run.shell import run_shell

    out = io.StringIO()
    # The console starts connected to its sandbox; connecting again goes through the modal,
    # filled in at the prompt: URL (Enter keeps the current one), then a wrong token; the
    # refused field is asked again, and the form is cancelled.
    await run_shell(
        out=out,
        lines=[
            "/pmp connect",
            "",
            "wrong.token.value",
            "submit",
            "still.wrong.token",
            "cancel",
            "quit",
        ],
    )
    text = out.getvalue()
    assert "Connect PMP" in text
    assert "PMP refused this token" in text
