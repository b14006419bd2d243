"""Enterprise Grid in OAuth mode: a workspace of an organisation installs, connects and hears
its channel notices; an org-wide install is refused and undone. Payloads in the shapes Slack
sends for Grid workspaces and org-wide installs, over signed HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.console.slack_standin import RunningSlackStandin, running_slack_standin
from bot.slack.org_installs import ORG_INSTALL_REFUSED
from tests.e2e.conftest import TEAM_A, bot_and_sender, bot_settings, oauth_install
from tests.e2e.slack_client import SlackSender
from tests.e2e.test_connect import connect_values

# slack_sdk's oauth_v2_access uses aiohttp.BasicAuth, which aiohttp 3.14 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")

GRID_TEAM = "T0003"
ENTERPRISE = "E0001"
GRID_OWNER = "U0003"  # the stand-in makes U<digits> the workspace's owner
GRID_MEMBER = "U0003M"
GRID_CHANNEL = "C0003"


@pytest.fixture
def slack() -> Iterator[RunningSlackStandin]:
    with running_slack_standin(
        teams={TEAM_A: "xoxb-standin-T0001", GRID_TEAM: "xoxb-standin-T0003"},
        enterprises={GRID_TEAM: ENTERPRISE},
    ) as standin:
        yield standin


async def test_a_grid_workspace_installed_with_oauth_gets_its_channel_notices(
    slack: RunningSlackStandin, pmp: Any, tmp_path: Path, secret_key: str
) -> None:
    settings = bot_settings(slack, f"sqlite:///{tmp_path / 'bot.sqlite3'}", secret_key, oauth=True)
    async with bot_and_sender(settings, slack) as (bot, sender):
        installed = await oauth_install(bot.url, slack, slack.new_oauth_code(GRID_TEAM))
        assert installed.status_code == 200, installed.text

        since = len(slack.calls)
        await sender.command("connect", team=GRID_TEAM, user=GRID_OWNER)
        view = (await slack.wait_for("views.open", since=since)).response["view"]
        submitted = sender.view_submission(
            team=GRID_TEAM,
            user=GRID_OWNER,
            view=view,
            values=connect_values(pmp.base_url, pmp.token),
        )
        answer = (await sender.interaction(submitted)).json()
        assert answer["response_action"] == "update", answer
        # The workspace is kept under its enterprise and team, as Slack names it.
        workspace = await bot.services.workspaces.get(GRID_TEAM, ENTERPRISE)
        assert workspace is not None and workspace.pmp_base_url

        since = len(slack.calls)
        await sender.command(f"notify <#{GRID_CHANNEL}|general>", team=GRID_TEAM, user=GRID_OWNER)
        reply = await slack.wait_for("response_url", since=since, timeout=10)
        assert f"<#{GRID_CHANNEL}>" in json.dumps(reply.params)

        since = len(slack.calls)
        response = await sender.command("customer 1", team=GRID_TEAM, user=GRID_MEMBER)
        assert response.status_code == 200
        notice = await slack.wait_for(
            "chat.postMessage",
            lambda c: "looked up customer" in str(c.params.get("text")),
            since=since,
            timeout=10,
        )
        assert notice.ok, notice.response
        assert (notice.team_id, notice.params["channel"]) == (GRID_TEAM, GRID_CHANNEL)


async def test_an_org_wide_install_is_refused_undone_and_explained(
    slack: RunningSlackStandin, tmp_path: Path, secret_key: str
) -> None:
    settings = bot_settings(slack, f"sqlite:///{tmp_path / 'bot.sqlite3'}", secret_key, oauth=True)
    async with bot_and_sender(settings, slack) as (bot, sender):
        code = slack.new_oauth_code(GRID_TEAM, org_wide=True)
        refused = await oauth_install(bot.url, slack, code)
        assert refused.status_code == 409
        assert "whole Enterprise Grid organisation" in refused.text
        assert ORG_INSTALL_REFUSED in refused.text

        # The org's token was handed back to Slack, and nothing was kept.
        (access,) = slack.calls_to("oauth.v2.access")
        (revoke,) = slack.calls_to("auth.revoke")
        assert revoke.ok and revoke.response["revoked"] is True
        assert revoke.token == access.response["access_token"]
        store = bot.services.oauth_stores
        assert store is not None
        found = await store.installation_store.async_find_installation(
            enterprise_id=ENTERPRISE, team_id=None, is_enterprise_install=True
        )
        assert found is None

        # What the org sends afterwards reaches no PMP and no stored data.
        org_sender = SlackSender(
            events_url=sender.events_url,
            signing_secret=sender.signing_secret,
            standin=slack,
            http=sender.http,
            org_wide=True,
        )
        since = len(slack.calls)
        response = await org_sender.command("status", team=GRID_TEAM, user=GRID_OWNER)
        assert response.status_code == 200
        reply = await slack.wait_for("response_url", since=since, timeout=10)
        assert "install" in reply.params["text"]  # Bolt's "install this app" answer
        assert await bot.services.workspaces.get(GRID_TEAM, ENTERPRISE) is None
