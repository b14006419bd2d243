"""`GET /metrics` on the real HTTP front door, after real traffic: signed and unsigned Slack
requests, PMP calls to the sandbox, notices posted and refused."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bot.console.slack_standin import RunningSlackStandin
from bot.run.embedded import RunningBot
from tests.e2e.conftest import MEMBER_A, TEAM_A
from tests.e2e.slack_client import SlackSender
from tests.e2e.test_lookups import command_reply


async def settled(bot: RunningBot) -> None:
    """Until the work after the ack is done (a request is counted then, and its notice is
    queued then) and every queued notice is posted or given up on."""
    assert await bot.services.listeners.wait_idle(10)
    assert await bot.services.subscriptions.delivery.wait_delivered()


async def test_metrics_count_requests_pmp_calls_notices_and_workspaces(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    bot, sender = connected
    await bot.services.workspaces.set_notify_channel(TEAM_A, None, "C0001")
    await command_reply(sender, slack, "customer acme")
    await settled(bot)
    await bot.services.workspaces.set_notify_channel(TEAM_A, None, "C0GONE")
    await command_reply(sender, slack, "customer 1")
    await settled(bot)
    unsigned = await sender.post(
        sender.command_body("status", team=TEAM_A, user=MEMBER_A),
        "application/x-www-form-urlencoded",
        signed=False,
    )
    assert unsigned.status_code == 401

    async with httpx.AsyncClient(base_url=bot.url, timeout=10) as http:
        response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    page = response.text
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(page)
        for sample in family.samples
    }

    def value(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    assert value("pmp_bot_slack_requests_total", kind="command", outcome="ok") == 2
    assert value("pmp_bot_slack_requests_total", kind="other", outcome="bad_signature") == 1
    assert value("pmp_bot_slack_ack_seconds_count", kind="command") == 2
    assert value("pmp_bot_slack_ack_seconds_bucket", kind="command", le="3.0") == 2
    assert value("pmp_bot_pmp_requests_total", status="200") >= 2
    assert value("pmp_bot_pmp_request_seconds_count") >= 2
    assert value("pmp_bot_notices_total", state="queued") == 2
    assert value("pmp_bot_notices_total", state="sent") == 1
    assert value("pmp_bot_notices_total", state="failed") == 1
    assert value("pmp_bot_workspaces_connected") == 1
    # Nothing that names a workspace, a person, a channel or a secret.
    for private in (TEAM_A, MEMBER_A, "C0001", "C0GONE", "xoxb", "Acme"):
        assert private not in page
