"""Every message, modal and Home view pmp-bot shows, every control on them pressed.

A Slack user (tests/e2e/surfaces.py) opens each surface the bot can show, presses each
control on it as Slack would send the press, and follows what opens, two levels down. The
test fails when Slack would refuse something the bot sent, or when a press changes nothing
the user can see.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.blocks.ids import HomeAction, RecordForm, TicketCardAction, TicketForm
from bot.console.slack_standin import RunningSlackStandin
from bot.queue import QueueLists
from bot.run.embedded import RunningBot
from bot.sandbox import running_sandbox, schema
from bot.storage.subscriptions import SubscriptionFilters
from tests.e2e.conftest import MEMBER_A, OWNER_A, TEAM_A, bot_and_sender, bot_settings
from tests.e2e.slack_client import SlackSender
from tests.e2e.surfaces import (
    Explorer,
    Surface,
    global_shortcut_payload,
    message_action_payload,
)

# What a member opens: lookups of every kind, cards, paging, help, status, forms, Home.
MEMBER_COMMANDS = [
    "help",
    "help ticket",
    "custmer acme",
    "status",
    "notify",
    "customer acme",
    "customer a",  # more than a page: Next and Previous
    "lead sarah",
    "project a",
    "milestone a",
    "ticket outage",
    "customer 1",
    "lead 1",
    "project 1",
    "milestone 1",
    "ticket 7",
    "customer new",
    "lead new",
    "project new",
    "milestone new",
    "customer edit 1",
    "lead edit 1",
    "project edit 1",
    "milestone edit 1",
    "ticket new",
]


@pytest.mark.timeout(900)
async def test_every_surface_and_every_control_does_something_visible(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp: Any
) -> None:
    bot, sender = connected
    explorer = Explorer(
        bot,
        sender,
        slack,
        TEAM_A,
        fills={
            HomeAction.SEARCH_MODAL: {HomeAction.SEARCH_BLOCK: {HomeAction.SEARCH_INPUT: "acme"}}
        },
        queries={TicketForm.CUSTOMER_INPUT: "acme", RecordForm.CUSTOMER_OPTIONS: "acme"},
    )
    seen: set[tuple[str, ...]] = set()

    def command(text: str, user: str) -> Callable[[], Awaitable[list[Surface]]]:
        return lambda: explorer.command(text, user)

    for text in MEMBER_COMMANDS:
        await explorer.crawl(command(text, MEMBER_A), MEMBER_A, seen=seen)
    # The Home tab after those lookups, so its recent lookups are there to press; its queue
    # holds a ticket assigned to the member (sam: PMP staff 7, matched by e-mail).
    pmp.store.update(schema.TICKETS, "7", {"assigned": "7"})
    await explorer.crawl(lambda: explorer.home(MEMBER_A), MEMBER_A, seen=seen)
    await explorer.crawl(
        lambda: explorer.shortcut(
            global_shortcut_payload(slack, team=TEAM_A, user=MEMBER_A), MEMBER_A, "New PMP ticket"
        ),
        MEMBER_A,
        seen=seen,
    )
    await explorer.crawl(
        lambda: explorer.shortcut(
            message_action_payload(
                slack, team=TEAM_A, user=MEMBER_A, channel="C0001", text="Printer on fire\nHelp"
            ),
            MEMBER_A,
            "Create PMP ticket",
        ),
        MEMBER_A,
        seen=seen,
    )

    # What admins open: notices, settings, connect, a card with Delete, delete, disconnect.
    # Subscriptions: the reply to subscribe, then the channel's list (each root with a paused
    # subscription to resume and members not yet allowed): Edit and its modal, Remove and its
    # prompt, Resume, the members switch.
    await explorer.crawl(command("subscribe tickets priority:high", OWNER_A), OWNER_A, seen=seen)
    subscriptions = bot.services.subscriptions.store

    async def channel_subscriptions() -> list[Surface]:
        await subscriptions.add(
            TEAM_A, None, "C0001", "leads", SubscriptionFilters(), created_by=OWNER_A
        )
        await subscriptions.pause_channel(TEAM_A, "C0001", "the channel was archived")
        await bot.services.workspaces.set_options(TEAM_A, None, members_may_subscribe=False)
        return await explorer.command("subscriptions", OWNER_A)

    await explorer.crawl(channel_subscriptions, OWNER_A, seen=seen)

    card_id = pmp.store.insert(schema.CLIENTS, {"company": "Card To Delete Ltd", "active": "1"})
    prompt_id = pmp.store.insert(schema.CLIENTS, {"company": "Prompt To Delete Ltd", "active": "1"})
    for text in (
        "notify #general",
        "settings",
        "connect",
        f"customer {card_id}",
        f"customer delete {prompt_id}",
        "disconnect",
    ):
        await explorer.crawl(command(text, OWNER_A), OWNER_A, seen=seen)

    # And what an unconnected workspace shows.
    await explorer.command("disconnect", OWNER_A)
    await explorer.crawl(command("customer acme", MEMBER_A), MEMBER_A, seen=seen)
    await explorer.crawl(lambda: explorer.home(OWNER_A), OWNER_A, seen=seen)

    assert not explorer.problems, "\n".join(explorer.problems)
    # The crawl really pressed things: each kind of control the bot offers at least once.
    pressed = "\n".join(explorer.pressed)
    for action in (
        "pmp_card_share",
        "pmp_card_menu",
        "pmp_card_delete",
        "pmp_card_new_ticket",
        "pmp_card_projects",
        "pmp_card_milestones",
        "pmp_card_edit_milestone",
        "pmp_result_show",
        "pmp_results_next",
        "pmp_results_previous",
        "pmp_home_new_ticket",
        "pmp_home_search_customers",
        "pmp_home_show_result",
        "pmp_home_show_recent",
        "pmp_record_delete",
        "pmp_record_delete_cancel",
        "pmp_disconnect_confirmed",
        "pmp_disconnect_cancelled",
        "pmp_ticket_customer",
        "pmp_ticket_status",
        "pmp_ticket_priority",
        "pmp_ticket_assign_me",
        "pmp_ticket_close",
        "pmp_subscription_edit",
        "pmp_subscription_remove [Remove]",
        "pmp_subscription_remove_cancelled",
        "pmp_subscription_resume",
        "pmp_subscription_members",
        "pmp_subscription_edit [Edit] > (submit)",
        "(submit)",
    ):
        assert action in pressed, f"{action} was never pressed"
    # The queue's ticket controls on the Home tab, not only those of cards.
    assert "Home tab > pmp_ticket_status" in pressed
    assert "Home tab > pmp_ticket_close" in pressed


@pytest.mark.timeout(300)
async def test_ticket_cards_on_pmp_3x_every_control_including_reply(
    slack: RunningSlackStandin, tmp_path: Path, secret_key: str
) -> None:
    """PMP 3.x has the reply endpoint: its ticket cards (and the queue) also offer Reply,
    whose modal is filled in and sent."""
    settings = bot_settings(slack, f"sqlite:///{tmp_path / 'bot.sqlite3'}", secret_key)
    with running_sandbox(api_version=3) as pmp:
        async with bot_and_sender(settings, slack) as (bot, sender):
            await bot.services.workspaces.save_credentials(
                team_id=TEAM_A,
                enterprise_id=None,
                base_url=pmp.base_url,
                token=pmp.token,
                connected_by=OWNER_A,
            )
            # An admin allowed ticket edits: the changes are made, not refused.
            await bot.services.workspaces.set_allow_first_record_file_loss(TEAM_A, None, True)
            pmp.store.update(schema.TICKETS, "7", {"assigned": "7"})
            explorer = Explorer(
                bot,
                sender,
                slack,
                TEAM_A,
                fills={
                    TicketCardAction.REPLY_MODAL: {
                        TicketCardAction.REPLY_MESSAGE_BLOCK: {
                            TicketCardAction.REPLY_MESSAGE_INPUT: "Thanks, on it."
                        }
                    }
                },
            )
            seen: set[tuple[str, ...]] = set()

            def reopened(open_root: Callable[[], Awaitable[list[Surface]]]) -> Any:
                # Presses change the ticket for real: each root shows it open and assigned
                # to the member again, so every control is there to press.
                async def fresh() -> list[Surface]:
                    pmp.store.update(schema.TICKETS, "7", {"status": "1", "assigned": "7"})
                    # Changed behind the bot's back: the queue's kept lists can't know.
                    bot.services.queue_lists = QueueLists()
                    return await open_root()

                return fresh

            await explorer.crawl(
                reopened(lambda: explorer.command("ticket 7", MEMBER_A)), MEMBER_A, seen=seen
            )
            await explorer.crawl(reopened(lambda: explorer.home(MEMBER_A)), MEMBER_A, seen=seen)
            replies = pmp.store.ticket_replies("7")
    assert not explorer.problems, "\n".join(explorer.problems)
    pressed = "\n".join(explorer.pressed)
    for action in (
        "pmp_ticket_status",
        "pmp_ticket_priority",
        "pmp_ticket_assign_me",
        "pmp_ticket_reply",
        "pmp_ticket_close",
        "(submit)",
    ):
        assert action in pressed, f"{action} was never pressed"
    assert "Home tab > pmp_ticket_reply" in pressed
    assert any(str(reply["message"]).startswith("Thanks, on it.") for reply in replies)
