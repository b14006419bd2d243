"""`/pmp subscribe`, `/pmp subscriptions` (Edit, Remove, Resume, who may) and `/pmp unsubscribe`,
as signed Slack requests through the real app, against the PMP sandbox and the Slack stand-in."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from bot.blocks.subscriptions import SubscriptionIds, filter_action_id, filter_block_id
from bot.console.slack_standin import RunningSlackStandin
from bot.run.embedded import RunningBot
from bot.run.shell import run_shell
from bot.storage.subscriptions import SubscriptionFilters
from tests.e2e.conftest import MEMBER_A, OWNER_A, TEAM_A, bot_and_sender, bot_settings
from tests.e2e.slack_client import SlackSender
from tests.e2e.surfaces import Explorer, Surface, controls_of

GENERAL = "<#C0001|general>"


async def say(
    sender: SlackSender, slack: RunningSlackStandin, text: str, user: str = OWNER_A
) -> str:
    """Runs a /pmp command; the text of what it answered (ack and response_url posts)."""
    since = len(slack.calls)
    response = await sender.command(text, team=TEAM_A, user=user)
    assert response.status_code == 200
    answered = response.text if response.content else ""
    reply = await slack.wait_for("response_url", since=since, timeout=15)
    return answered + json.dumps(reply.params, ensure_ascii=False)


def store(bot: RunningBot) -> Any:
    return bot.services.subscriptions.store


def control(surface: Surface, action_id: str) -> Any:
    return next(c for c in controls_of(surface) if c.action_id == action_id)


async def test_an_admin_subscribes_a_channel_and_it_says_what_it_gets(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    bot, sender = connected
    reply = await say(
        sender, slack, f"subscribe {GENERAL} tickets department:Sales priority:high broadcast"
    )
    assert "<#C0001> now gets new tickets" in reply
    assert "department *Sales*, priority *High*" in reply
    assert "status changes also posted in the channel" in reply
    welcome = slack.calls_to("chat.postMessage")[-1]
    assert welcome.ok and welcome.params["channel"] == "C0001"
    assert f"<@{OWNER_A}> subscribed this channel to PMP tickets" in welcome.params["text"]
    [subscription] = await store(bot).list_for_channel(TEAM_A, "C0001")
    assert subscription.filters == SubscriptionFilters(department=2, priority=3)
    assert subscription.broadcast_status is True and subscription.created_by == OWNER_A
    # The same again changes nothing and posts no second welcome.
    posts = len(slack.calls_to("chat.postMessage"))
    assert "already gets" in await say(
        sender, slack, f"subscribe {GENERAL} tickets dept:2 priority:3 broadcast"
    )
    assert len(slack.calls_to("chat.postMessage")) == posts
    # Stopping it names what stopped as it was named when it started.
    stopped = await say(sender, slack, f"unsubscribe {GENERAL} tickets")
    assert "no longer gets" in stopped and "department *Sales*, priority *High*" in stopped


async def test_a_public_channel_is_joined_and_a_private_one_needs_an_invite(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    bot, sender = connected
    slack.add_channel(TEAM_A, "C0SALES", "sales", bot_is_member=False)
    reply = await say(sender, slack, "subscribe <#C0SALES|sales> leads full")
    assert "<#C0SALES> now gets new leads" in reply
    assert slack.calls_to("conversations.join")[-1].ok
    assert slack.channel(TEAM_A, "C0SALES").bot_is_member  # type: ignore[union-attr]

    slack.add_channel(TEAM_A, "G0SECRET", "secret", bot_is_member=False, is_private=True)
    reply = await say(sender, slack, "subscribe <#G0SECRET|secret> tickets")
    assert "/invite @PMP" in reply
    assert await store(bot).list_for_channel(TEAM_A, "G0SECRET") == []


async def test_a_bad_filter_is_explained_naming_what_to_fix(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    bot, sender = connected
    reply = await say(sender, slack, "subscribe tickets department:Marketing")
    assert "I don't know a department called “Marketing”" in reply
    # The names come from PMP's own tickets when nobody named them in /pmp settings.
    assert "Support (1), Sales (2), Billing (3)" in reply
    assert "`department:2`" in reply
    assert "Leads take no filters: leave out `priority:`" in await say(
        sender, slack, "subscribe leads priority:high"
    )
    assert "PMP has no customer number 99999" in await say(
        sender, slack, "subscribe tickets customer:99999"
    )
    # Typos in the command are caught before anything runs.
    response = await sender.command("subscribe tikets", team=TEAM_A, user=OWNER_A)
    assert "Did you mean `/pmp subscribe tickets`?" in response.text
    assert await store(bot).list_for_team(TEAM_A) == []


async def test_list_edit_remove_and_unsubscribe(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    bot, sender = connected
    explorer = Explorer(bot, sender, slack, TEAM_A)
    await say(sender, slack, "subscribe tickets priority:high")
    await say(sender, slack, "subscribe projects")

    [listing] = await explorer.command("subscriptions", OWNER_A)
    shown = json.dumps(listing.blocks)
    assert "<#C0001> gets:" in shown and "priority *High*" in shown
    tickets_id = next(
        s.id for s in await store(bot).list_for_channel(TEAM_A, "C0001") if s.kind == "tickets"
    )

    # Edit: the modal opens with the filters; a customer typed by name is looked up.
    edit = next(
        c
        for c in controls_of(listing)
        if c.action_id == SubscriptionIds.EDIT and c.element["value"] == str(tickets_id)
    )
    [modal] = await explorer.press(listing, edit, OWNER_A)
    assert modal.kind == "modal" and modal.callback_id == SubscriptionIds.EDIT_MODAL
    # Nobody named the departments: the form read them from PMP's tickets to list them.
    department = next(b for b in modal.blocks if b.get("block_id") == filter_block_id("department"))
    shown = [o["text"]["text"] for o in department["element"]["options"]]
    assert shown == ["Any department", "Support", "Sales", "Billing"]
    explorer.fills[SubscriptionIds.EDIT_MODAL] = {
        filter_block_id("customer"): {filter_action_id("customer"): "Nowhere Industries"}
    }
    answered = await explorer.press(modal, control(modal, "(submit)"), OWNER_A)
    assert answered == []  # the modal stays open, with the problem on the customer input
    saved = await store(bot).get(TEAM_A, tickets_id)
    assert saved.filters == SubscriptionFilters(priority=3)

    explorer.fills[SubscriptionIds.EDIT_MODAL] = {
        filter_block_id("customer"): {filter_action_id("customer"): "1"}
    }
    [done] = await explorer.press(modal, control(modal, "(submit)"), OWNER_A)
    assert "now gets new tickets" in json.dumps(done.blocks)
    saved = await store(bot).get(TEAM_A, tickets_id)
    assert saved.filters == SubscriptionFilters(priority=3, customer_id=1)

    # Remove asks first; Keep it goes back; Remove then removes.
    [listing] = await explorer.command("subscriptions", OWNER_A)
    remove = next(
        c
        for c in controls_of(listing)
        if c.action_id == SubscriptionIds.REMOVE and c.element["value"] == str(tickets_id)
    )
    [prompt] = await explorer.press(listing, remove, OWNER_A)
    assert "Stop posting *tickets*" in json.dumps(prompt.blocks)
    [back] = await explorer.press(
        prompt, control(prompt, SubscriptionIds.REMOVE_CANCELLED), OWNER_A
    )
    assert "<#C0001> gets:" in json.dumps(back.blocks)
    [prompt] = await explorer.press(back, remove, OWNER_A)
    [after] = await explorer.press(
        prompt, control(prompt, SubscriptionIds.REMOVE_CONFIRMED), OWNER_A
    )
    assert "Removed: tickets" in json.dumps(after.blocks)
    assert await store(bot).get(TEAM_A, tickets_id) is None

    # A paused subscription can be resumed from the list.
    await store(bot).pause_channel(TEAM_A, "C0001", "the bot was removed from the channel")
    [listing] = await explorer.command("subscriptions", OWNER_A)
    assert "Paused: the bot was removed from the channel" in json.dumps(listing.blocks)
    [resumed] = await explorer.press(listing, control(listing, SubscriptionIds.RESUME), OWNER_A)
    assert "Resumed" in json.dumps(resumed.blocks)
    assert all(s.active for s in await store(bot).list_for_channel(TEAM_A, "C0001"))

    reply = await say(sender, slack, "unsubscribe projects")
    assert "<#C0001> no longer gets" in reply and "projects" in reply
    assert "wasn't getting projects" in await say(sender, slack, "unsubscribe projects")
    assert not explorer.problems, "\n".join(explorer.problems)


async def test_members_are_refused_unless_the_workspace_allows_it_and_they_are_in_the_channel(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    bot, sender = connected
    slack.add_channel(TEAM_A, "C0TEAM", "team")
    slack.add_channel(TEAM_A, "C0OTHER", "other")
    slack.add_channel_members(TEAM_A, "C0TEAM", MEMBER_A)
    refused = await say(sender, slack, "subscribe <#C0TEAM|team> tickets", user=MEMBER_A)
    assert "Only workspace admins and owners can change what <#C0TEAM> gets" in refused
    [listing] = await Explorer(bot, sender, slack, TEAM_A).command(
        "subscriptions <#C0TEAM|team>", MEMBER_A
    )
    assert "Only admins can change these." in json.dumps(listing.blocks)
    assert not controls_of(listing)

    # An admin lets members subscribe, from the list.
    explorer = Explorer(bot, sender, slack, TEAM_A)
    [listing] = await explorer.command("subscriptions <#C0TEAM|team>", OWNER_A)
    [allowed] = await explorer.press(listing, control(listing, SubscriptionIds.MEMBERS), OWNER_A)
    assert "Members may now subscribe" in json.dumps(allowed.blocks)
    workspace = await bot.services.workspaces.get(TEAM_A)
    assert workspace is not None and workspace.members_may_subscribe

    assert "now gets new tickets" in await say(
        sender, slack, "subscribe <#C0TEAM|team> tickets", user=MEMBER_A
    )
    assert "once you're a member" in await say(
        sender, slack, "subscribe <#C0OTHER|other> tickets", user=MEMBER_A
    )
    assert [s.channel_id for s in await store(bot).list_for_team(TEAM_A)] == ["C0TEAM"]
    # A member can't switch the choice back.
    [listing] = await explorer.command("subscriptions <#C0TEAM|team>", MEMBER_A)
    with pytest.raises(StopIteration):
        control(listing, SubscriptionIds.MEMBERS)
    assert not explorer.problems, "\n".join(explorer.problems)


async def test_an_edit_that_can_not_be_saved_keeps_the_modal_open_saying_why(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    bot, sender = connected
    explorer = Explorer(bot, sender, slack, TEAM_A)
    await say(sender, slack, "subscribe tickets")
    await say(sender, slack, "subscribe tickets priority:3")
    plain = next(s for s in await store(bot).list_for_channel(TEAM_A, "C0001") if s.filters.empty)
    [listing] = await explorer.command("subscriptions", OWNER_A)
    edit = next(
        c
        for c in controls_of(listing)
        if c.action_id == SubscriptionIds.EDIT and c.element["value"] == str(plain.id)
    )
    [modal] = await explorer.press(listing, edit, OWNER_A)

    async def submit(priority: str) -> dict[str, Any]:
        values = explorer._state(modal)
        option = next(
            o
            for o in next(
                b for b in modal.blocks if b.get("block_id") == filter_block_id("priority")
            )["element"]["options"]
            if o["value"] == priority
        )
        values[filter_block_id("priority")][filter_action_id("priority")] = {
            "type": "static_select",
            "selected_option": option,
        }
        payload = sender.view_submission(team=TEAM_A, user=OWNER_A, view=modal.view, values=values)
        response = await sender.interaction(payload)
        assert response.status_code == 200
        return dict(response.json())

    # The channel already has tickets with priority 3: said on the modal, nothing changed.
    clash = await submit("3")
    assert clash["response_action"] == "errors"
    assert "already has a subscription with those filters" in json.dumps(clash["errors"])
    assert (await store(bot).get(TEAM_A, plain.id)).filters.empty

    # Removed meanwhile: the modal says so instead of failing.
    await store(bot).remove(TEAM_A, plain.id)
    gone = await submit("1")
    assert gone["response_action"] == "update"
    assert "removed meanwhile" in json.dumps(gone["view"])


async def test_buttons_pressed_by_someone_who_may_not_change_the_channel_are_refused(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    bot, sender = connected
    explorer = Explorer(bot, sender, slack, TEAM_A)
    await say(sender, slack, "subscribe tickets")
    [listing] = await explorer.command("subscriptions", OWNER_A)
    since = len(slack.calls)
    await explorer.press(listing, control(listing, SubscriptionIds.REMOVE), MEMBER_A)
    refused = [c for c in slack.calls[since:] if c.method == "response_url"]
    assert refused and "Only workspace admins" in json.dumps(refused[-1].params)
    await explorer.press(listing, control(listing, SubscriptionIds.MEMBERS), MEMBER_A)
    workspace = await bot.services.workspaces.get(TEAM_A)
    assert workspace is not None and not workspace.members_may_subscribe
    assert len(await store(bot).list_for_channel(TEAM_A, "C0001")) == 1
    assert not explorer.problems, "\n".join(explorer.problems)


async def test_unsubscribe_all_and_a_channel_named_without_its_id(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    bot, sender = connected
    slack.add_channel(TEAM_A, "C0SALES", "sales")
    # Typed as plain text (the console, or Slack without the channel picked): found by name.
    assert "<#C0SALES> now gets new leads" in await say(sender, slack, "subscribe #sales leads")
    assert "<#C0SALES> now gets new projects" in await say(
        sender, slack, "subscribe <#C0SALES|sales> projects customer:1"
    )
    assert "I can't find #nowhere" in await say(sender, slack, "subscriptions #nowhere")
    reply = await say(sender, slack, "unsubscribe #sales all")
    assert "no longer gets" in reply and "leads" in reply and "projects" in reply
    assert await store(bot).list_for_team(TEAM_A) == []


async def test_subscribing_works_in_the_console_against_the_sandbox() -> None:
    out = io.StringIO()
    code = await run_shell(
        out=out,
        lines=[
            "/pmp subscribe #general tickets priority:high",
            "/pmp subscriptions",
            "/pmp unsubscribe tickets",
            "quit",
        ],
    )
    text = out.getvalue()
    assert code == 0
    assert "now gets new tickets" in text and "priority High" in text.replace("*", "")
    assert "gets:" in text
    assert "no longer gets" in text


async def test_a_lookups_subscription_gets_the_lookup_notes(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    _, sender = connected
    slack.add_channel(TEAM_A, "C0SALES", "sales")
    reply = await say(sender, slack, "subscribe <#C0SALES|sales> lookups")
    assert "<#C0SALES> now gets a note when someone looks up or changes a record" in reply
    since = len(slack.calls)
    await sender.command("customer 1", team=TEAM_A, user=MEMBER_A)
    note = await slack.wait_for(
        "chat.postMessage",
        lambda call: (
            call.params.get("channel") == "C0SALES"
            and "looked up customer" in str(call.params.get("text"))
        ),
        since=since,
        timeout=20,
    )
    assert note.ok and f"<@{MEMBER_A}>" in note.params["text"]


async def test_subscribing_on_each_database(
    slack: RunningSlackStandin, pmp: Any, database_url: str, secret_key: str
) -> None:
    settings = bot_settings(slack, database_url, secret_key)
    async with bot_and_sender(settings, slack) as (bot, sender):
        await bot.services.workspaces.save_credentials(
            team_id=TEAM_A,
            enterprise_id=None,
            base_url=pmp.base_url,
            token=pmp.token,
            connected_by=OWNER_A,
        )
        reply = await say(sender, slack, "subscribe tickets status:open customer:1 full")
        assert "only status *Open*, customer *Acme Corporation (#1)*" in reply
        assert "full cards" in reply
        listed = await say(sender, slack, "subscriptions")
        assert "status *Open*, customer *Acme Corporation (#1)*" in listed
        assert "no longer gets" in await say(sender, slack, "unsubscribe tickets")
        assert await store(bot).list_for_team(TEAM_A) == []
