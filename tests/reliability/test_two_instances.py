"""Two bot instances on one PostgreSQL database serving the same workspace: a form sent to
both saves one record, concurrent setting writes end consistent, and a rotating Slack token
is refreshed once, not spent twice."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from bot.console.slack_standin import RunningSlackStandin
from bot.run.embedded import RunningBot
from tests.e2e.conftest import OWNER_A, TEAM_A, bot_and_sender, bot_settings
from tests.e2e.slack_client import SlackSender
from tests.e2e.test_record_forms import open_form, state_with, submit, texts
from tests.reliability.conftest import connect

Instance = tuple[RunningBot, SlackSender]


@asynccontextmanager
async def two_instances(
    slack: RunningSlackStandin, database_url: str, secret_key: str, **settings: Any
) -> AsyncIterator[tuple[Instance, Instance]]:
    config = bot_settings(slack, database_url, secret_key, **settings)
    async with (
        bot_and_sender(config, slack) as first,
        bot_and_sender(config, slack) as second,
    ):
        yield first, second


async def test_a_form_sent_to_both_instances_saves_one_record(
    slack: RunningSlackStandin, pmp: Any, postgres_url: str, secret_key: str
) -> None:
    async with two_instances(slack, postgres_url, secret_key) as ((bot, one), (_, two)):
        await connect(bot, pmp.base_url, pmp.token)
        view = await open_form(one, slack, "customer new Twin Instances Ltd")
        state = state_with(view)
        answers = await asyncio.gather(
            submit(one, view, state), submit(two, view, state), submit(one, view, state)
        )
        made = [c for c in pmp.store.customers() if c["company"] == "Twin Instances Ltd"]
        assert len(made) == 1
        record_id = made[0]["userid"]
        assert {a["response_action"] for a in answers} == {"update"}
        assert f"(#{record_id})" in texts([a["view"] for a in answers])


async def test_concurrent_setting_writes_from_both_instances_end_consistent(
    slack: RunningSlackStandin, pmp: Any, postgres_url: str, secret_key: str
) -> None:
    slack.add_channel(TEAM_A, "C0002", "random")
    async with two_instances(slack, postgres_url, secret_key) as ((bot_1, one), (bot_2, two)):
        # The workspace's first writes, at once from both: both create the row.
        await asyncio.gather(
            bot_1.services.workspaces.set_notify_channel(TEAM_A, None, "C0001"),
            bot_2.services.workspaces.set_notify_channel(TEAM_A, None, "C0002"),
        )
        since = len(slack.calls)
        await asyncio.gather(
            one.command("notify <#C0001|general>", team=TEAM_A, user=OWNER_A),
            two.command("notify <#C0002|random>", team=TEAM_A, user=OWNER_A),
        )
        await slack.wait_for(
            "response_url",
            lambda c: len([x for x in slack.calls[since:] if x.method == "response_url"]) >= 2,
            since=since,
            timeout=10,
        )
        seen_1 = await bot_1.services.workspaces.get(TEAM_A)
        seen_2 = await bot_2.services.workspaces.get(TEAM_A)
        assert seen_1 is not None and seen_2 is not None
        assert seen_1.notify_channel_id == seen_2.notify_channel_id in ("C0001", "C0002")

        # Credentials saved many times from both: each save counts, and the URL and token
        # read back always belong to the same save.
        writes = [
            (bot, f"{pmp.base_url}/?n={n}", f"token-{n}")
            for n in range(10)
            for bot in (bot_1, bot_2)
        ]
        await asyncio.gather(
            *(
                bot.services.workspaces.save_credentials(TEAM_A, None, url, token, OWNER_A)
                for bot, url, token in writes
            )
        )
        creds_1 = await bot_1.services.workspaces.get_credentials(TEAM_A)
        creds_2 = await bot_2.services.workspaces.get_credentials(TEAM_A)
        assert creds_1 == creds_2 and creds_1 is not None
        assert creds_1.version == len(writes)
        number = creds_1.base_url.rsplit("=", 1)[1]
        assert creds_1.token.get_secret_value() == f"token-{number}"
        # The notify channel was not lost to the credential writes.
        after = await bot_2.services.workspaces.get(TEAM_A)
        assert after is not None and after.notify_channel_id == seen_1.notify_channel_id


async def install_with_token_rotation(bot_url: str, slack: RunningSlackStandin) -> None:
    """Slack's OAuth install, as a browser runs it, for an app with token rotation on."""
    async with httpx.AsyncClient(base_url=bot_url) as browser:
        start = await browser.get("/slack/install")
        link = start.text.split('<a href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
        state = parse_qs(urlsplit(link).query)["state"][0]
        cookie = start.headers["set-cookie"].split(";", 1)[0]
        code = slack.new_oauth_code(TEAM_A, token_rotation=True)
        done = await browser.get(
            "/slack/oauth_redirect",
            params={"code": code, "state": state},
            headers={"Cookie": cookie},
        )
        assert done.status_code == 200, done.text


async def test_two_instances_refresh_an_expiring_token_once(
    slack: RunningSlackStandin, postgres_url: str, secret_key: str
) -> None:
    async with two_instances(slack, postgres_url, secret_key, oauth=True) as (
        (bot_1, one),
        (_, two),
    ):
        await install_with_token_rotation(bot_1.url, slack)
        store = bot_1.services.oauth_stores
        assert store is not None
        installed = await store.installation_store.async_find_installation(
            enterprise_id=None, team_id=TEAM_A
        )
        assert installed is not None and installed.bot_refresh_token
        # Make the token due for a refresh (Bolt refreshes within two hours of expiry).
        installed.bot_token_expires_at = int(time.time()) + 60
        await store.installation_store.async_save(installed)

        since = len(slack.calls)
        slack.latency = 0.2  # widens the window in which both instances refresh
        answers = await asyncio.gather(
            one.command("help", team=TEAM_A, user=OWNER_A),
            two.command("help", team=TEAM_A, user=OWNER_A),
            one.command("help", team=TEAM_A, user=OWNER_A),
            two.command("help", team=TEAM_A, user=OWNER_A),
        )
        slack.latency = 0
        for answer in answers:
            assert answer.status_code == 200
            assert "status" in answer.text, answer.text  # the help, not an install prompt
        refreshes = [
            c
            for c in slack.calls[since:]
            if c.method == "oauth.v2.access" and c.params.get("grant_type") == "refresh_token"
        ]
        assert [c.error for c in refreshes] == [None], "the refresh token is spent once"

        latest = await store.installation_store.async_find_installation(
            enterprise_id=None, team_id=TEAM_A
        )
        assert latest is not None and latest.bot_token != installed.bot_token
        assert latest.bot_token_expires_at and latest.bot_token_expires_at > time.time() + 3600
        # The stored token and refresh token are the live ones: the next requests work, and
        # so does the next refresh.
        for sender in (one, two):
            answer = await sender.command("help", team=TEAM_A, user=OWNER_A)
            assert "status" in answer.text
        latest.bot_token_expires_at = int(time.time()) + 60
        await store.installation_store.async_save(latest)
        since = len(slack.calls)
        assert "status" in (await two.command("help", team=TEAM_A, user=OWNER_A)).text
        (again,) = [c for c in slack.calls[since:] if c.method == "oauth.v2.access"]
        assert again.ok, again.response


async def test_concurrent_requests_in_one_instance_refresh_once_on_sqlite(
    slack: RunningSlackStandin, sqlite_url: str, secret_key: str
) -> None:
    settings = bot_settings(slack, sqlite_url, secret_key, oauth=True)
    async with bot_and_sender(settings, slack) as (bot, sender):
        await install_with_token_rotation(bot.url, slack)
        store = bot.services.oauth_stores
        assert store is not None
        installed = await store.installation_store.async_find_installation(
            enterprise_id=None, team_id=TEAM_A
        )
        assert installed is not None
        installed.bot_token_expires_at = int(time.time()) + 60
        await store.installation_store.async_save(installed)
        since = len(slack.calls)
        slack.latency = 0.2
        answers = await asyncio.gather(
            *(sender.command("help", team=TEAM_A, user=OWNER_A) for _ in range(4))
        )
        slack.latency = 0
        assert all("status" in answer.text for answer in answers)
        refreshes = [c for c in slack.calls[since:] if c.method == "oauth.v2.access"]
        assert [c.error for c in refreshes] == [None]
