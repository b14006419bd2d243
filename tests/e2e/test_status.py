"""`/pmp status` tells a failing PMP from a working one, end to end."""

from __future__ import annotations

import json
from typing import Any

import httpx

from bot.console.slack_standin import RunningSlackStandin
from bot.pmp_pool import failure_of
from bot.run.embedded import RunningBot
from tests.e2e.conftest import MEMBER_A, TEAM_A
from tests.e2e.slack_client import SlackSender


async def lookup(
    sender: SlackSender, slack: RunningSlackStandin, bot: RunningBot, words: str
) -> str:
    """The reply to `/pmp customer <words>`, once the outcome of its PMP calls is stored."""
    since = len(slack.calls)
    response = await sender.command(f"customer {words}", team=TEAM_A, user=MEMBER_A)
    assert response.status_code == 200
    reply = await slack.wait_for("response_url", since=since, timeout=30)
    await bot.services.pmp_pool.wait_marks()
    return json.dumps(reply.params)


async def status(sender: SlackSender) -> str:
    response = await sender.command("status", team=TEAM_A, user=MEMBER_A)
    assert response.status_code == 200
    return json.dumps(response.json())


async def test_status_shows_the_last_failure_next_to_the_last_success(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp: Any
) -> None:
    bot, sender = connected
    assert "Acme Corporation" in await lookup(sender, slack, bot, "acme")
    working = await status(sender)
    assert ":large_green_circle:" in working and "Last failed" not in working

    pmp.faults.html_500 = True
    assert "Acme Widgets" not in await lookup(sender, slack, bot, "widgets")
    failing = await status(sender)
    assert ":red_circle:" in failing and ":large_green_circle:" not in failing
    assert "Last failed PMP call" in failing and "HTTP 500" in failing
    assert "Last successful PMP call" in failing

    pmp.faults.html_500 = False
    assert "Acme Supplies" in await lookup(sender, slack, bot, "supplies")
    recovered = await status(sender)
    assert ":large_green_circle:" in recovered  # the first success after it is written at once
    assert "Last failed PMP call" in recovered


def test_only_answers_that_say_pmp_is_in_trouble_count_as_failures() -> None:
    def answer(status: int) -> httpx.Response:
        return httpx.Response(status, request=httpx.Request("GET", "https://crm.example/api/x"))

    # PMP's 404 means a missing record, a bad search or a bad token alike: not a failure.
    assert failure_of(answer(404)) is None
    assert failure_of(answer(200)) is None
    assert failure_of(answer(500)) == "PMP answered HTTP 500 (a server error)"
    assert failure_of(answer(429)) is not None
    assert "token" in (failure_of(answer(401)) or "")


async def test_pmp_2_0_8s_expected_ticket_500_does_not_turn_status_red(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    bot, sender = connected
    # On 2.0.8 GET api/tickets/<id> answers 500 for every ticket; the client reads it by search.
    since = len(slack.calls)
    response = await sender.command("ticket 3", team=TEAM_A, user=MEMBER_A)
    assert response.status_code == 200
    card = json.dumps((await slack.wait_for("response_url", since=since, timeout=30)).params)
    await bot.services.pmp_pool.wait_marks()
    assert "#3" in card and "HTTP 500" not in card
    shown = await status(sender)
    assert ":large_green_circle:" in shown and "Last failed" not in shown
