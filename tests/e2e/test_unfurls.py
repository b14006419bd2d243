"""Link previews end to end: a user posts a PMP link in the Slack stand-in, which sends the
signed `link_shared` event to the real HTTP endpoint; pmp-bot reads the record from the PMP
sandbox over loopback and answers with `chat.unfurl`, which the stand-in checks as Slack
does."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from bot.console.slack_standin import RecordedCall, RunningSlackStandin
from bot.pmp.links import record_url
from bot.run.embedded import RunningBot
from bot.run.shell import run_shell
from bot.sandbox import running_sandbox
from tests.e2e.conftest import (
    MEMBER_A,
    OWNER_A,
    OWNER_B,
    TEAM_A,
    TEAM_B,
    bot_and_sender,
    bot_settings,
    oauth_install,
)
from tests.e2e.slack_client import SlackSender
from tests.tickets.helpers import element_of, picked, submitted, typed

GENERAL_A = "C0001"


@pytest.fixture
def previews_on(slack: RunningSlackStandin, pmp: Any) -> RunningSlackStandin:
    """The app's manifest lists the sandbox's domain (127.0.0.1) as an unfurl domain."""
    slack.set_unfurl_domains(urlsplit(pmp.base_url).hostname or "")
    return slack


async def share(
    bot: RunningBot,
    sender: SlackSender,
    slack: RunningSlackStandin,
    text: str,
    *,
    channel: str = GENERAL_A,
    composer: bool = False,
    team: str = TEAM_A,
    user: str = MEMBER_A,
) -> tuple[dict[str, Any], list[RecordedCall]]:
    """A member posts `text`; returns the event Slack sent and the chat.unfurl calls pmp-bot
    made for it, once pmp-bot has finished with it."""
    since = len(slack.calls)
    envelope = slack.share_link(team, user, text, channel_id=channel, composer=composer)
    assert envelope is not None, "the text has no link to an unfurl domain"
    response = await sender.post(json.dumps(envelope), "application/json")
    assert response.status_code == 200
    assert await bot.services.listeners.wait_idle(15)
    calls = [call for call in slack.calls[since:] if call.method == "chat.unfurl"]
    return envelope, calls


def texts(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks)


@pytest.mark.parametrize(
    ("kind", "record_id", "project_id", "expected"),
    [
        ("customer", 1, None, "Customer #1 in PMP"),
        ("lead", 1, None, "Lead #1 in PMP"),
        ("project", 1, None, "Project #1 in PMP"),
        ("milestone", 1, 1, "Milestones of"),
        ("ticket", 1, None, "Ticket #1 in PMP"),
    ],
)
async def test_each_record_kind_unfurls_to_its_compact_card(
    connected: tuple[RunningBot, SlackSender],
    previews_on: RunningSlackStandin,
    pmp: Any,
    kind: Any,
    record_id: int,
    project_id: int | None,
    expected: str,
) -> None:
    bot, sender = connected
    url = record_url(pmp.base_url, kind, record_id, project_id=project_id)
    envelope, calls = await share(bot, sender, previews_on, f"Have a look: <{url}>")
    assert len(calls) == 1 and calls[0].ok, calls
    event = envelope["event"]
    assert calls[0].params["channel"] == GENERAL_A
    assert calls[0].params["ts"] == event["message_ts"]
    unfurls = previews_on.unfurls(event["unfurl_id"])
    assert list(unfurls) == [url]
    blocks = unfurls[url]["blocks"]
    assert expected in texts(blocks)
    # Compact: no controls that would act for whoever presses them under someone's message.
    assert all(block["type"] != "actions" for block in blocks)
    assert all("accessory" not in block for block in blocks)


async def test_several_links_in_one_message_unfurl_together(
    connected: tuple[RunningBot, SlackSender], previews_on: RunningSlackStandin, pmp: Any
) -> None:
    bot, sender = connected
    customer = record_url(pmp.base_url, "customer", 1)
    ticket = record_url(pmp.base_url, "ticket", 2)
    envelope, calls = await share(bot, sender, previews_on, f"{customer} and {ticket}")
    assert len(calls) == 1 and calls[0].ok
    assert set(previews_on.unfurls(envelope["event"]["unfurl_id"])) == {customer, ticket}


async def test_record_text_is_escaped_in_the_preview(
    connected: tuple[RunningBot, SlackSender], previews_on: RunningSlackStandin, pmp: Any
) -> None:
    bot, sender = connected
    url = record_url(pmp.base_url, "ticket", 7)  # its subject contains "<!channel>"
    envelope, calls = await share(bot, sender, previews_on, url)
    assert len(calls) == 1 and calls[0].ok
    text = texts(previews_on.unfurls(envelope["event"]["unfurl_id"])[url]["blocks"])
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text


async def test_links_that_are_not_this_workspaces_records_unfurl_nothing(
    connected: tuple[RunningBot, SlackSender], previews_on: RunningSlackStandin, pmp: Any
) -> None:
    bot, sender = connected
    # A record the workspace's PMP doesn't have.
    _, calls = await share(bot, sender, previews_on, record_url(pmp.base_url, "customer", 9999))
    assert calls == []
    # A page of the PMP that isn't a record.
    _, calls = await share(bot, sender, previews_on, f"{pmp.base_url}/admin/reports")
    assert calls == []
    # Another PMP on the same host (another workspace's): a different port.
    with running_sandbox() as other:
        other_link = record_url(other.base_url, "customer", 1)
        _, calls = await share(bot, sender, previews_on, other_link)
        assert calls == []


async def test_a_foreign_domain_is_not_shared_with_the_app(
    previews_on: RunningSlackStandin,
) -> None:
    # Slack sends link_shared only for the manifest's unfurl domains.
    foreign = "https://example.org/admin/clients/client/1"
    assert previews_on.share_link(TEAM_A, MEMBER_A, foreign) is None


async def test_previews_off_unfurl_nothing(
    connected: tuple[RunningBot, SlackSender], previews_on: RunningSlackStandin, pmp: Any
) -> None:
    bot, sender = connected
    await bot.services.workspaces.set_options(TEAM_A, None, unfurl_mode="off")
    _, calls = await share(bot, sender, previews_on, record_url(pmp.base_url, "customer", 1))
    assert calls == []


async def test_internal_only_skips_slack_connect_and_channels_without_the_bot(
    connected: tuple[RunningBot, SlackSender], previews_on: RunningSlackStandin, pmp: Any
) -> None:
    bot, sender = connected
    url = record_url(pmp.base_url, "customer", 1)
    previews_on.add_channel(TEAM_A, "C0SHARED", "with-partner")
    previews_on.connect_channel(TEAM_A, "C0SHARED")
    previews_on.add_channel(TEAM_A, "C0NOBOT", "no-bot", bot_is_member=False)
    # "internal" (the default) even with Slack Connect previews allowed: nothing there.
    await bot.services.workspaces.set_options(TEAM_A, None, unfurl_in_slack_connect=True)
    envelope, calls = await share(bot, sender, previews_on, url, channel="C0SHARED")
    assert envelope["is_ext_shared_channel"] is True
    assert calls == []
    _, calls = await share(bot, sender, previews_on, url, channel="C0NOBOT")
    assert calls == []

    # "everywhere": channels without pmp-bot too, but Slack Connect only when allowed.
    await bot.services.workspaces.set_options(
        TEAM_A, None, unfurl_mode="everywhere", unfurl_in_slack_connect=False
    )
    _, calls = await share(bot, sender, previews_on, url, channel="C0NOBOT")
    assert len(calls) == 1 and calls[0].ok
    _, calls = await share(bot, sender, previews_on, url, channel="C0SHARED")
    assert calls == []
    await bot.services.workspaces.set_options(TEAM_A, None, unfurl_in_slack_connect=True)
    _, calls = await share(bot, sender, previews_on, url, channel="C0SHARED")
    assert len(calls) == 1 and calls[0].ok


async def test_a_link_in_the_composer_unfurls_by_its_unfurl_id_when_allowed_everywhere(
    connected: tuple[RunningBot, SlackSender], previews_on: RunningSlackStandin, pmp: Any
) -> None:
    bot, sender = connected
    url = record_url(pmp.base_url, "project", 1)
    # Where a draft will be sent isn't known yet: with "internal", only once it is sent.
    _, calls = await share(bot, sender, previews_on, url, composer=True)
    assert calls == []
    await bot.services.workspaces.set_options(
        TEAM_A, None, unfurl_mode="everywhere", unfurl_in_slack_connect=True
    )
    envelope, calls = await share(bot, sender, previews_on, url, composer=True)
    assert len(calls) == 1 and calls[0].ok
    assert calls[0].params["unfurl_id"] == envelope["event"]["unfurl_id"]
    assert calls[0].params["source"] == "composer"
    assert "Project #1" in texts(previews_on.unfurls(envelope["event"]["unfurl_id"])[url]["blocks"])


async def test_a_workspace_without_pmp_unfurls_nothing(
    connected: tuple[RunningBot, SlackSender], previews_on: RunningSlackStandin, pmp: Any
) -> None:
    bot, sender = connected
    await bot.services.workspaces.clear_credentials(TEAM_A, None)
    _, calls = await share(bot, sender, previews_on, record_url(pmp.base_url, "customer", 1))
    assert calls == []


# ------------------------------------------------------------------ the admin's options


def checked(on: bool) -> dict[str, Any]:
    option = {"value": "on", "text": {"type": "plain_text", "text": "x"}}
    return {"selected_options": [option] if on else []}


async def test_an_admin_sets_the_workspace_options_in_the_settings_form(
    connected: tuple[RunningBot, SlackSender], previews_on: RunningSlackStandin, pmp: Any
) -> None:
    bot, sender = connected
    since = len(previews_on.calls)
    response = await sender.command("settings", team=TEAM_A, user=OWNER_A)
    assert response.status_code == 200
    await previews_on.wait_for("views.open", lambda c: c.ok, timeout=15, since=since)
    filled = await previews_on.wait_for("views.update", lambda c: c.ok, timeout=15, since=since)
    form = filled.response["view"]
    # The stored options are shown: previews in channels pmp-bot is in, PMP polled every 60 s.
    assert element_of(form, "workspace.unfurl_mode")["initial_option"]["value"] == "internal"
    assert element_of(form, "workspace.poll_interval_seconds")["initial_value"] == "60"
    assert "initial_options" not in element_of(form, "workspace.unfurl_in_slack_connect")

    async def send(answers: dict[str, dict[str, Any]]) -> dict[str, Any]:
        values = submitted(form, answers)["state"]["values"]
        payload = sender.view_submission(team=TEAM_A, user=OWNER_A, view=form, values=values)
        answer = (await sender.interaction(payload)).json()
        assert isinstance(answer, dict)
        return answer

    for seconds, error in [("5", "Enter 15 or more."), ("4000", "Enter 3600 or less")]:
        refused = await send({"workspace.poll_interval_seconds": typed(seconds)})
        assert refused["response_action"] == "errors"
        assert error in refused["errors"]["workspace.poll_interval_seconds"]
    unchanged = await bot.services.workspaces.get(TEAM_A, None)
    assert unchanged is not None and unchanged.poll_interval_seconds == 60

    saved = await send(
        {
            "workspace.unfurl_mode": picked("off", "Off"),
            "workspace.unfurl_in_slack_connect": checked(True),
            "workspace.members_may_subscribe": checked(True),
            "workspace.poll_interval_seconds": typed("120"),
        }
    )
    assert saved["response_action"] == "update"
    assert "Link previews are off" in json.dumps(saved["view"])
    workspace = await bot.services.workspaces.get(TEAM_A, None)
    assert workspace is not None
    assert workspace.unfurl_mode == "off"
    assert workspace.unfurl_in_slack_connect is True
    assert workspace.members_may_subscribe is True
    assert workspace.poll_interval_seconds == 120
    # And pmp-bot keeps to it.
    _, calls = await share(bot, sender, previews_on, record_url(pmp.base_url, "customer", 1))
    assert calls == []

    saved = await send({"workspace.unfurl_mode": picked("everywhere", "Everywhere")})
    assert saved["response_action"] == "update"
    previews_on.add_channel(TEAM_A, "C0NOBOT", "no-bot", bot_is_member=False)
    url = record_url(pmp.base_url, "customer", 1)
    _, calls = await share(bot, sender, previews_on, url, channel="C0NOBOT")
    assert len(calls) == 1 and calls[0].ok


# ------------------------------------------------------------------ the console


async def test_the_console_says_a_pmp_link_and_shows_its_preview() -> None:
    with running_sandbox() as sandbox:
        out = io.StringIO()
        url = record_url(sandbox.base_url, "customer", 1)
        code = await run_shell(
            pmp_url=sandbox.base_url,
            pmp_token=sandbox.token,
            out=out,
            lines=[f"say Look at {url}", "say nothing to preview here", "quit"],
        )
    text = out.getvalue()
    assert code == 0
    assert f"pmp-bot's preview of {url} in #general:" in text
    assert "Acme Corporation" in text and "Customer #1 in PMP" in text
    assert text.count("pmp-bot's preview") == 1


async def test_each_workspace_previews_only_its_own_pmp(
    slack: RunningSlackStandin, tmp_path: Path, secret_key: str
) -> None:
    """Two workspaces installed through OAuth, each connected to its own PMP on the same
    host: a link to the other's PMP shows nothing, and each preview is answered with the
    workspace's own token."""
    slack.set_unfurl_domains("127.0.0.1")
    settings = bot_settings(slack, f"sqlite:///{tmp_path / 'bot.sqlite3'}", secret_key, oauth=True)
    with running_sandbox() as pmp_a, running_sandbox() as pmp_b:
        async with bot_and_sender(settings, slack) as (bot, sender):
            for team, owner, pmp in ((TEAM_A, OWNER_A, pmp_a), (TEAM_B, OWNER_B, pmp_b)):
                done = await oauth_install(bot.url, slack, slack.new_oauth_code(team))
                assert done.status_code == 200, done.text
                await bot.services.workspaces.save_credentials(
                    team, None, pmp.base_url, pmp.token, owner
                )
            link_a = record_url(pmp_a.base_url, "customer", 1)
            link_b = record_url(pmp_b.base_url, "customer", 1)

            _, calls = await share(bot, sender, slack, link_b, team=TEAM_A)
            assert calls == []
            _, calls = await share(
                bot, sender, slack, link_a, team=TEAM_B, channel="C0002", user="U0002M"
            )
            assert calls == []

            envelope, calls = await share(
                bot, sender, slack, link_b, team=TEAM_B, channel="C0002", user="U0002M"
            )
            assert len(calls) == 1 and calls[0].ok and calls[0].team_id == TEAM_B
            assert list(slack.unfurls(envelope["event"]["unfurl_id"])) == [link_b]
            envelope, calls = await share(bot, sender, slack, link_a)
            assert len(calls) == 1 and calls[0].ok and calls[0].team_id == TEAM_A
