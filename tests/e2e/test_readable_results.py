"""Result pages people can read, end to end against the PMP sandbox: names where PMP sends
numbers, where a search matched when the row doesn't show it, milestones told apart by their
project, a record number no record has, and a search hint that works when pasted."""

from __future__ import annotations

import json
from typing import Any

from bot.blocks.ids import CardAction
from bot.console.slack_standin import RunningSlackStandin
from bot.grammar import search_hint
from bot.pmp import PmpClient
from bot.pmp.network import PRIVATE_ALLOWED
from bot.records import _not_found_note
from bot.run.embedded import RunningBot
from tests.e2e.conftest import MEMBER_A, TEAM_A
from tests.e2e.slack_client import SlackSender
from tests.e2e.test_lookups import command_reply


def row_texts(params: dict[str, Any]) -> list[str]:
    return [
        block["text"]["text"]
        for block in params.get("blocks", [])
        if block.get("accessory", {}).get("action_id") == CardAction.SHOW
    ]


def row_of(params: dict[str, Any], title: str) -> str:
    rows = [row for row in row_texts(params) if f"|{title}>" in row]
    assert len(rows) == 1, row_texts(params)
    return rows[0]


async def test_lead_rows_show_status_and_source_by_name(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    _, sender = connected
    # Search rows carry only the ids; the bot reads a lead to learn what they are called.
    reply = await command_reply(sender, slack, "lead rio digital")
    row = row_of(reply.params, "Ana Souza")
    assert row.split("\n")[1] == "Rio Digital · Proposal Sent · Trade Show"
    assert "#5" not in row


async def test_a_row_found_by_its_city_says_so(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    _, sender = connected
    reply = await command_reply(sender, slack, "lead janeiro")
    row = row_of(reply.params, "Ana Souza")
    assert row.split("\n")[-1] == "Found in city: Rio de Janeiro"


async def test_milestones_called_launch_show_their_projects(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    _, sender = connected
    reply = await command_reply(sender, slack, "milestone launch")
    launches = [row for row in row_texts(reply.params) if "|Launch>" in row]
    projects = {row.split("\n")[1].split(" · ")[0] for row in launches}
    assert {"Website Redesign", "Onboarding Portal"} <= projects
    assert len(projects) == len(launches)


async def test_record_number_zero_is_refused_not_searched(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp: Any
) -> None:
    _, sender = connected
    since = len(slack.calls)
    response = await sender.command("ticket 0", team=TEAM_A, user=MEMBER_A)
    assert response.status_code == 200
    text = response.text  # a plain-text ack
    assert "`0` isn't a ticket number" in text
    assert "`/pmp ticket search 0`" in text
    assert not [call for call in slack.calls[since:] if call.method == "response_url"]


async def test_the_hint_for_a_new_record_with_a_long_name_finds_it_when_pasted(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp: Any
) -> None:
    _, sender = connected
    name = "New Horizons Consultoria Empresarial e Tecnologia da Informação do Brasil Ltda"
    async with PmpClient(
        base_url=pmp.base_url, token=pmp.token, address_policy=PRIVATE_ALLOWED
    ) as client:
        await client.customers.create(company=name)
    note = _not_found_note("customer", name)
    hint = search_hint("customer", name)
    assert hint is not None and f"`{hint}`" in note and "…" not in note
    # Pasted into Slack, which escapes what it sends.
    pasted = hint.removeprefix("/pmp ").replace("&", "&amp;")
    reply = await command_reply(sender, slack, pasted)
    assert f"|{name}>" in json.dumps(reply.params, ensure_ascii=False)
