"""The App Home tab: connection, buttons, recent lookups, and the customer search modal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.blocks.ids import CardAction, HomeAction, TicketForm
from bot.console.slack_standin import RunningSlackStandin
from bot.run.embedded import RunningBot
from bot.sandbox import schema
from tests.e2e.conftest import MEMBER_A, OWNER_A, TEAM_A, bot_and_sender, bot_settings
from tests.e2e.slack_client import SlackSender


async def open_home(sender: SlackSender, slack: RunningSlackStandin, user: str) -> dict[str, Any]:
    since = len(slack.calls)
    response = await sender.event(
        {"type": "app_home_opened", "user": user, "tab": "home"}, team=TEAM_A
    )
    assert response.status_code == 200
    call = await slack.wait_for("views.publish", since=since, timeout=10)
    assert call.ok, call.response
    # The view as Slack keeps it (with the ids Slack fills in).
    view: dict[str, Any] = call.response["view"]
    return view


def action_ids(view: dict[str, Any]) -> set[str]:
    found = set()
    for block in view["blocks"]:
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if "action_id" in element:
                found.add(element["action_id"])
    return found


async def test_home_shows_connection_buttons_and_recent_lookups(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp: Any
) -> None:
    bot, sender = connected
    await bot.services.recent_lookups.add(TEAM_A, MEMBER_A, "customer", 1, "Acme Corporation")
    member_view = await open_home(sender, slack, MEMBER_A)
    text = json.dumps(member_view)
    assert "Connected to PMP" in text
    connection = next(
        json.dumps(b) for b in member_view["blocks"] if "Connected to PMP" in json.dumps(b)
    )
    assert pmp.base_url not in connection  # only admins see the full URL
    assert "Acme Corporation" in text
    assert {
        HomeAction.NEW_TICKET,
        HomeAction.SEARCH_CUSTOMERS,
        HomeAction.SHOW_RECENT,
    } <= action_ids(member_view)
    assert "`/pmp connect`" not in text  # admin commands are listed for admins only

    owner_view = await open_home(sender, slack, OWNER_A)
    assert pmp.base_url in json.dumps(owner_view)
    assert "`/pmp connect`" in json.dumps(owner_view)


async def test_home_of_an_unconnected_workspace_says_how_to_connect(
    slack: RunningSlackStandin, tmp_path: Path, secret_key: str
) -> None:
    settings = bot_settings(slack, f"sqlite:///{tmp_path / 'bot.sqlite3'}", secret_key)
    async with bot_and_sender(settings, slack) as (_, sender):
        view = await open_home(sender, slack, OWNER_A)
        assert "isn't connected to PMP yet" in json.dumps(view)
        assert HomeAction.SEARCH_CUSTOMERS not in action_ids(view)


async def test_customer_search_from_home_shows_results_and_a_card(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    _, sender = connected
    home = await open_home(sender, slack, MEMBER_A)
    since = len(slack.calls)
    press = sender.block_actions(
        team=TEAM_A,
        user=MEMBER_A,
        action={"action_id": HomeAction.SEARCH_CUSTOMERS, "block_id": "b", "type": "button"},
        view={"id": "VHOME", "type": "home", "blocks": home["blocks"]},
    )
    assert (await sender.interaction(press)).status_code == 200
    opened = await slack.wait_for("views.open", since=since, timeout=10)
    modal = opened.response["view"]

    empty = sender.view_submission(team=TEAM_A, user=MEMBER_A, view=modal, values={})
    answer = (await sender.interaction(empty)).json()
    assert answer["response_action"] == "errors"
    assert HomeAction.SEARCH_BLOCK in answer["errors"]

    values = {
        HomeAction.SEARCH_BLOCK: {
            HomeAction.SEARCH_INPUT: {"type": "plain_text_input", "value": "acme"}
        }
    }
    submitted = sender.view_submission(team=TEAM_A, user=MEMBER_A, view=modal, values=values)
    answer = (await sender.interaction(submitted)).json()
    assert answer["response_action"] == "update"
    results = answer["view"]
    assert "3 customers match" in json.dumps(results)

    show = next(
        b["accessory"]
        for b in results["blocks"]
        if (b.get("accessory") or {}).get("action_id") == HomeAction.SHOW_RESULT
    )
    since = len(slack.calls)
    payload = sender.block_actions(
        team=TEAM_A,
        user=MEMBER_A,
        action={
            "action_id": show["action_id"],
            "block_id": "b",
            "type": "button",
            "value": show["value"],
        },
        view={**modal, **results},
    )
    assert (await sender.interaction(payload)).status_code == 200
    updated = await slack.wait_for("views.update", since=since, timeout=10)
    card = json.dumps(updated.params)
    assert "Acme" in card
    assert CardAction.SHARE not in card  # no channel to share to from a modal


def home_button(view: dict[str, Any], action_id: str) -> dict[str, Any]:
    """The Home tab's button with `action_id`, pressed as Slack sends a press: a button
    without a value (slack_sdk drops an empty one) arrives without a value."""
    for block in view["blocks"]:
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if element.get("action_id") == action_id:
                press = {"action_id": action_id, "block_id": block["block_id"], "type": "button"}
                if "value" in element:
                    press["value"] = element["value"]
                return press
    raise AssertionError(f"no {action_id} on the Home tab")


async def test_new_ticket_on_home_opens_the_ticket_form(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    _, sender = connected
    home = await open_home(sender, slack, MEMBER_A)
    press = home_button(home, HomeAction.NEW_TICKET)
    assert press.get("value", "x") != ""  # never an empty value: Slack would drop it
    since = len(slack.calls)
    payload = sender.block_actions(
        team=TEAM_A,
        user=MEMBER_A,
        action=press,
        view={"id": "VHOME", "type": "home", "blocks": home["blocks"]},
    )
    assert (await sender.interaction(payload)).status_code == 200
    opened = await slack.wait_for("views.open", since=since, timeout=10)
    assert opened.ok, opened.response
    assert opened.response["view"]["callback_id"] == TicketForm.NEW_MODAL


async def search_from_home(sender: SlackSender, slack: RunningSlackStandin, words: str) -> Any:
    home = await open_home(sender, slack, MEMBER_A)
    since = len(slack.calls)
    press = sender.block_actions(
        team=TEAM_A,
        user=MEMBER_A,
        action=home_button(home, HomeAction.SEARCH_CUSTOMERS),
        view={"id": "VHOME", "type": "home", "blocks": home["blocks"]},
    )
    await sender.interaction(press)
    modal = (await slack.wait_for("views.open", since=since, timeout=10)).response["view"]
    values = {
        HomeAction.SEARCH_BLOCK: {
            HomeAction.SEARCH_INPUT: {"type": "plain_text_input", "value": words}
        }
    }
    submitted = sender.view_submission(team=TEAM_A, user=MEMBER_A, view=modal, values=values)
    answer = (await sender.interaction(submitted)).json()
    assert answer["response_action"] == "update", answer
    # Slack takes the view (the stand-in checks it as Slack does).
    assert slack.replace_view(modal["id"], answer["view"])["id"] == modal["id"]
    return answer["view"]


async def test_home_search_results_escape_and_cut_customer_names(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp: Any
) -> None:
    _, sender = connected
    results = await search_from_home(sender, slack, "bytes")
    text = json.dumps(results)
    assert "Bits &amp; Bytes &lt;Dev&gt; Co." in text
    assert "<Dev>" not in text

    long_name = "Zyzzyva " + "<!channel> & " * 400
    pmp.store.insert(schema.CLIENTS, {"company": long_name, "active": "1"})
    results = await search_from_home(sender, slack, "zyzzyva")
    (line,) = [
        b["text"]["text"]
        for b in results["blocks"]
        if (b.get("accessory") or {}).get("action_id") == HomeAction.SHOW_RESULT
    ]
    assert len(line) <= 3000
    assert "<!channel>" not in line and "&lt;!channel&gt;" in line
    assert line.rstrip("*>").endswith("…")
