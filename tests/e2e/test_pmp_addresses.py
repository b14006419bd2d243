"""Which PMP addresses a workspace may use, end to end: signed requests over HTTP, the PMP
sandbox and hostile little servers on 127.0.0.1. Without the operator's opt-in nothing on
loopback or a private network is reached, at connect or at any later lookup."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from bot.blocks.ids import Block
from bot.connect import CONNECT_FAILED
from bot.console.slack_standin import RunningSlackStandin
from tests.e2e.conftest import OWNER_A, TEAM_A, bot_and_sender, bot_settings
from tests.e2e.test_connect import open_connect_modal, submit_connect
from tests.e2e.test_lookups import command_reply
from tests.e2e.test_security import install_via_oauth
from tests.pmp.local_servers import endless, fixed, local_server


def sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'bot.sqlite3'}"


async def test_a_loopback_pmp_is_refused_at_connect_with_the_one_answer(
    slack: RunningSlackStandin,
    pmp: Any,
    tmp_path: Path,
    secret_key: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    settings = bot_settings(slack, sqlite(tmp_path), secret_key, pmp_bot_allow_private_pmp=False)
    port = pmp.port
    async with bot_and_sender(settings, slack) as (bot, sender):
        for url in (
            pmp.base_url,
            f"http://localhost:{port}",
            f"http://[::ffff:127.0.0.1]:{port}",
        ):
            view = await open_connect_modal(sender, slack)
            answer = await submit_connect(sender, view, url, pmp.token)
            assert answer == {
                "response_action": "errors",
                "errors": {Block.CONNECT_URL: CONNECT_FAILED},
            }, url
        assert await bot.services.workspaces.get_credentials(TEAM_A) is None
    # The operator's log says what happened; the admin's form didn't.
    assert "127.0.0.1 is a loopback address" in caplog.text
    assert "PMP_BOT_ALLOW_PRIVATE_PMP" in caplog.text
    assert pmp.token not in caplog.text


async def test_a_redirect_gets_the_one_answer_and_its_target_stays_hidden(
    slack: RunningSlackStandin, tmp_path: Path, secret_key: str
) -> None:
    settings = bot_settings(slack, sqlite(tmp_path), secret_key)
    redirect = fixed(302, b"", {"location": "http://10.9.8.7:8080/admin"})
    async with local_server(redirect) as server, bot_and_sender(settings, slack) as (_, sender):
        view = await open_connect_modal(sender, slack)
        answer = await submit_connect(sender, view, server.url, "some.api.token")
    assert answer["errors"] == {Block.CONNECT_URL: CONNECT_FAILED}
    assert "10.9.8.7" not in json.dumps(answer)
    assert server.connections == 1  # the redirect was not followed


@pytest.mark.parametrize(
    ("allowed", "host"),
    [("127.0.0.1", "127.0.0.1"), ("127.0.0.0/8", "127.0.0.1"), ("localhost", "localhost")],
)
async def test_allowed_hosts_let_one_private_pmp_in(
    slack: RunningSlackStandin,
    pmp: Any,
    tmp_path: Path,
    secret_key: str,
    allowed: str,
    host: str,
) -> None:
    settings = bot_settings(
        slack,
        sqlite(tmp_path),
        secret_key,
        pmp_bot_allow_private_pmp=False,
        pmp_bot_pmp_allowed_hosts=f"crm.internal, {allowed}",
    )
    async with bot_and_sender(settings, slack) as (bot, sender):
        view = await open_connect_modal(sender, slack)
        answer = await submit_connect(sender, view, f"http://{host}:{pmp.port}", pmp.token)
        assert answer["response_action"] == "update", answer
        reply = await command_reply(sender, slack, "customer acme")
        assert "Acme" in json.dumps(reply.params)
        assert await bot.services.workspaces.get_credentials(TEAM_A) is not None


async def test_oauth_mode_requires_https_unless_private_pmps_are_allowed(
    slack: RunningSlackStandin, pmp: Any, tmp_path: Path, secret_key: str
) -> None:
    settings = bot_settings(
        slack,
        sqlite(tmp_path),
        secret_key,
        oauth=True,
        pmp_bot_allow_private_pmp=False,
        pmp_bot_pmp_allowed_hosts="127.0.0.1",
    )
    async with bot_and_sender(settings, slack) as (bot, sender):
        await install_via_oauth(bot.url, slack, TEAM_A)
        view = await open_connect_modal(sender, slack)
        answer = await submit_connect(sender, view, pmp.base_url, pmp.token, user=OWNER_A)
        assert answer["response_action"] == "errors"
        assert "must start with https://" in answer["errors"][Block.CONNECT_URL]
        assert await bot.services.workspaces.get_credentials(TEAM_A) is None


async def test_every_lookup_is_checked_not_only_the_connect(
    slack: RunningSlackStandin, tmp_path: Path, secret_key: str
) -> None:
    # A workspace whose PMP now resolves to a private address (DNS rebinding, or connected
    # before the operator tightened the settings): its lookups never reach that address.
    settings = bot_settings(slack, sqlite(tmp_path), secret_key, pmp_bot_allow_private_pmp=False)
    answer = fixed(200, json.dumps({"internal": "secret"}).encode())
    async with local_server(answer) as server, bot_and_sender(settings, slack) as (bot, sender):
        await bot.services.workspaces.save_credentials(
            team_id=TEAM_A,
            enterprise_id=None,
            base_url=server.url,
            token="some.api.token",
            connected_by=OWNER_A,
        )
        reply = json.dumps((await command_reply(sender, slack, "customer 1")).params)
        await bot.services.pmp_pool.wait_marks()
        status = (await sender.command("status", team=TEAM_A, user=OWNER_A)).text
    assert server.connections == 0
    assert f"doesn't connect to PMP at 127.0.0.1:{server.port}" in reply
    assert "secret" not in reply
    assert "refused PMP's address" in status  # what /pmp status says went wrong last


async def test_an_oversized_pmp_answer_is_a_clear_message(
    slack: RunningSlackStandin, tmp_path: Path, secret_key: str
) -> None:
    settings = bot_settings(slack, sqlite(tmp_path), secret_key, pmp_bot_max_pmp_response_mb=1)
    async with (
        local_server(endless(50_000_000)) as server,
        bot_and_sender(settings, slack) as (bot, sender),
    ):
        await bot.services.workspaces.save_credentials(
            team_id=TEAM_A,
            enterprise_id=None,
            base_url=server.url,
            token="some.api.token",
            connected_by=OWNER_A,
        )
        reply = json.dumps((await command_reply(sender, slack, "customer 1")).params)
    assert "PMP sent more than 1 MB for one answer" in reply
    assert server.bytes_sent < 50_000_000
