"""`/pmp help`: private, complete, topic by topic, with a did-you-mean for typos."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.console.slack_standin import RunningSlackStandin
from tests.e2e.conftest import MEMBER_A, TEAM_A, bot_and_sender, bot_settings


@pytest.mark.parametrize(
    ("text", "present", "absent"),
    [
        (
            "",
            ["*Customers*", "*Tickets*", "`/pmp status`", "`/pmp notify #sales`"],
            ["I don't know"],
        ),
        ("help", ["*Customers*", "*This workspace*"], ["I don't know"]),
        ("help ticket", ["*Tickets*", "`/pmp ticket 42`"], ["*Customers*"]),
        ("help t", ["*Tickets*"], ["*Leads*"]),
        (
            "custmer acme",
            ["I don't know `custmer`", "Did you mean `/pmp customer acme`?", "`/pmp help`"],
            ["*Customers*", "*Tickets*"],
        ),
        ("frobnicate", ["I don't know `frobnicate`", "`/pmp help`"], ["Did you mean", "*Tickets*"]),
        ("help notfy", ["Did you mean `/pmp help notify`?", "*Customers*"], []),
    ],
)
async def test_help_answers(
    slack: RunningSlackStandin,
    tmp_path: Path,
    secret_key: str,
    text: str,
    present: list[str],
    absent: list[str],
) -> None:
    settings = bot_settings(slack, f"sqlite:///{tmp_path / 'bot.sqlite3'}", secret_key)
    async with bot_and_sender(settings, slack) as (_, sender):
        response = await sender.command(text, team=TEAM_A, user=MEMBER_A)
        assert response.status_code == 200
        body = response.json()
        assert body.get("response_type", "ephemeral") == "ephemeral"
        shown = json.dumps(body)
        for fragment in present:
            assert fragment in shown
        for fragment in absent:
            assert fragment not in shown
