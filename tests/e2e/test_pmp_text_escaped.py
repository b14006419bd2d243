"""Text PMP sends back in its errors reaches Slack escaped: it can't become a link or a ping."""

from __future__ import annotations

from typing import Any

import httpx

from bot.console.slack_standin import RunningSlackStandin
from bot.run.embedded import RunningBot
from tests.e2e.slack_client import SlackSender
from tests.reliability.conftest import commands_at_once, connect

# What a hostile PMP put in its error message: HTML-escaped, so it decodes to a Slack link.
HOSTILE = "&lt;https://evil.example/login|Your session expired: log in again&gt; <!channel>"


def hostile_pmp(request: httpx.Request) -> httpx.Response:
    return httpx.Response(404, json={"status": False, "message": HOSTILE})


async def test_pmp_error_text_is_escaped_in_replies(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp: Any
) -> None:
    bot, sender = connected
    bot.services.pmp_pool._transport_factory = lambda: httpx.MockTransport(hostile_pmp)
    await connect(bot, pmp.base_url, pmp.token)  # a new client, on the hostile transport
    replies = await commands_at_once(sender, slack, ["customer acme", "customer 1"])
    for text in replies:
        assert "evil.example" in text, "PMP's words are shown..."
        # ...as text: escaped, so Slack shows them and links and pings nothing.
        assert "<https://evil.example" not in text and "<!channel>" not in text
        assert "&lt;https://evil.example" in text
