"""The subscription builders: the channel's list with its buttons, the remove prompt, the edit
modal and reading it back, and the replies naming exactly what a channel gets."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.blocks.subscriptions import (
    MAX_LISTED,
    EditTarget,
    SubscriptionIds,
    build_edit_modal,
    build_edit_saved,
    build_remove_prompt,
    build_subscribed,
    build_subscription_list,
    build_unsubscribed,
    filter_action_id,
    filter_block_id,
    join_problem,
    read_edit,
    refusal_text,
)
from bot.console.blockkit import message_problems, view_problems
from bot.grammar import FilterTerm
from bot.storage.subscriptions import Subscription, SubscriptionFilters, SubscriptionKind
from bot.subscriptions.manage import NameSources
from tests.blocks.helpers import NASTY, RAW_MARKERS

NAMES = NameSources(
    departments={1: "Support", 2: "Sales"},
    priorities={1: "Low", 2: "Medium", 3: "High"},
    statuses={1: "Open", 5: "Closed"},
)
NOW = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)


def subscription(
    kind: SubscriptionKind = "tickets",
    *,
    sub_id: int = 7,
    filters: SubscriptionFilters | None = None,
    broadcast: bool = False,
    style: Any = "compact",
    paused: str | None = None,
) -> Subscription:
    return Subscription(
        id=sub_id,
        team_id="T1",
        enterprise_id=None,
        channel_id="C0SUPPORT",
        kind=kind,
        filters=filters or SubscriptionFilters(),
        broadcast_status=broadcast,
        style=style,
        created_by="U1",
        created_at=NOW,
        paused_at=NOW if paused else None,
        paused_reason=paused,
    )


def blocks_json(blocks: list[Any]) -> list[dict[str, Any]]:
    return [block.to_dict() for block in blocks]


def text_of(blocks: list[Any]) -> str:
    return json.dumps(blocks_json(blocks), ensure_ascii=False)


def action_ids(blocks: list[Any]) -> list[str]:
    found = []
    for block in blocks_json(blocks):
        for element in block.get("elements", []):
            if "action_id" in element:
                found.append(element["action_id"])
    return found


class TestTheList:
    def test_each_subscription_says_what_it_posts_with_its_buttons(self) -> None:
        subs = [
            subscription(filters=SubscriptionFilters(department=1, priority=3), broadcast=True),
            subscription("leads", sub_id=8, style="full"),
            subscription("lookups", sub_id=9),
        ]
        reply = build_subscription_list(
            "C0SUPPORT",
            subs,
            NAMES,
            may_manage=True,
            members_may_subscribe=False,
            is_admin=True,
        )
        shown = text_of(reply.blocks)
        assert "<#C0SUPPORT> gets:" in shown
        assert "department *Support*, priority *High*" in shown
        assert "status changes also posted in the channel" in shown
        assert "full cards" in shown
        assert message_problems({"blocks": blocks_json(reply.blocks)}) == []
        ids = action_ids(reply.blocks)
        # Lookups have nothing to edit: Remove only.
        assert ids.count(SubscriptionIds.EDIT) == 2
        assert ids.count(SubscriptionIds.REMOVE) == 3
        assert SubscriptionIds.MEMBERS in ids

    def test_people_who_may_not_change_them_see_no_buttons(self) -> None:
        reply = build_subscription_list(
            "C0SUPPORT",
            [subscription()],
            NAMES,
            may_manage=False,
            members_may_subscribe=False,
            is_admin=False,
        )
        assert action_ids(reply.blocks) == []
        assert "Only admins can change these." in text_of(reply.blocks)

    def test_a_paused_subscription_says_why_and_offers_resume(self) -> None:
        reply = build_subscription_list(
            "C0SUPPORT",
            [subscription(paused="the channel was archived")],
            NAMES,
            may_manage=True,
            members_may_subscribe=False,
            is_admin=False,
        )
        assert "Paused: the channel was archived" in text_of(reply.blocks)
        assert action_ids(reply.blocks)[0] == SubscriptionIds.RESUME

    def test_an_empty_channel_says_how_to_start(self) -> None:
        reply = build_subscription_list(
            "C0SUPPORT", [], NAMES, may_manage=True, members_may_subscribe=True, is_admin=True
        )
        assert "gets nothing from PMP yet" in text_of(reply.blocks)
        assert "/pmp subscribe <#C0SUPPORT> tickets" in text_of(reply.blocks)

    def test_many_subscriptions_fit_in_one_message(self) -> None:
        subs = [
            subscription(sub_id=i, filters=SubscriptionFilters(customer_id=i)) for i in range(1, 41)
        ]
        reply = build_subscription_list(
            "C0SUPPORT", subs, NAMES, may_manage=True, members_may_subscribe=False, is_admin=True
        )
        assert message_problems({"blocks": blocks_json(reply.blocks)}) == []
        assert f"and {40 - MAX_LISTED} more" in text_of(reply.blocks)

    def test_pmp_text_in_names_is_escaped(self) -> None:
        names = NameSources(departments={1: NASTY})
        reply = build_subscription_list(
            "C0SUPPORT",
            [subscription(filters=SubscriptionFilters(department=1), paused=NASTY)],
            names,
            may_manage=True,
            members_may_subscribe=False,
            is_admin=False,
        )
        shown = text_of(reply.blocks)
        assert not any(marker in shown for marker in RAW_MARKERS)


def test_the_remove_prompt_names_the_subscription_and_both_answers() -> None:
    prompt = build_remove_prompt(subscription(filters=SubscriptionFilters(priority=3)), NAMES)
    assert "Stop posting *tickets* (priority *High*) in <#C0SUPPORT>?" in text_of(prompt.blocks)
    assert action_ids(prompt.blocks) == [
        SubscriptionIds.REMOVE_CONFIRMED,
        SubscriptionIds.REMOVE_CANCELLED,
    ]
    assert message_problems({"blocks": blocks_json(prompt.blocks)}) == []


class TestReplies:
    def test_subscribed_says_exactly_what_the_channel_gets(self) -> None:
        reply = build_subscribed(
            subscription(broadcast=True),
            [("department", "Support"), ("customer", "Acme <Corp> (#12)")],
            created=True,
            changed=False,
            poll_interval_seconds=60,
        )
        shown = text_of(reply.blocks)
        assert "<#C0SUPPORT> now gets new tickets" in reply.text
        assert "only department *Support*, customer *Acme &lt;Corp&gt; (#12)*" in shown
        assert "status changes also posted in the channel, compact cards" in shown
        assert "checked every 60 s" in shown

    def test_already_subscribed_and_updated(self) -> None:
        same = build_subscribed(
            subscription(), [], created=False, changed=False, poll_interval_seconds=60
        )
        assert "already gets" in same.text and "Nothing changed" in same.text
        updated = build_subscribed(
            subscription(style="full"), [], created=False, changed=True, poll_interval_seconds=60
        )
        assert updated.text.startswith(":white_check_mark: Updated")

    def test_unsubscribed_lists_what_went_or_says_nothing_was_there(self) -> None:
        gone = build_unsubscribed(
            "C0SUPPORT",
            [subscription(filters=SubscriptionFilters(priority=3)), subscription("leads")],
            NAMES,
            what="everything",
        )
        assert "no longer gets" in text_of(gone.blocks)
        assert "tickets (priority *High*)" in text_of(gone.blocks)
        assert "gets nothing from PMP now" in text_of(gone.blocks)
        some = build_unsubscribed(
            "C0SUPPORT", [subscription("leads")], NAMES, what="leads", remaining=[subscription()]
        )
        assert "It still gets:" in text_of(some.blocks)
        assert "gets nothing" not in text_of(some.blocks)
        nothing = build_unsubscribed("C0SUPPORT", [], NAMES, what="leads")
        assert "wasn't getting leads" in nothing.text

    def test_refusals_and_join_problems_say_what_to_do(self) -> None:
        assert "Only workspace admins" in refusal_text("admins_only", "C1")
        assert "once you're a member" in refusal_text("not_a_member", "C1")
        assert "/invite @PMP" in join_problem("private", "<#C1>")
        assert "archived" in join_problem("is_archived", "<#C1>")
        assert "`weird_error`" in join_problem("weird_error", "<#C1>")


class TestEditModal:
    def test_the_kind_is_fixed_and_its_filters_options_and_style_can_change(self) -> None:
        sub = subscription(
            filters=SubscriptionFilters(department=2, priority=9, customer_id=12), broadcast=True
        )
        view = build_edit_modal(sub, NAMES).to_dict()
        assert view_problems(view) == []
        inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
        assert set(inputs) == {
            filter_block_id("department"),
            filter_block_id("priority"),
            filter_block_id("status"),
            filter_block_id("customer"),
            filter_block_id("project"),
            SubscriptionIds.BROADCAST_BLOCK,
            SubscriptionIds.STYLE_BLOCK,
        }
        department = inputs[filter_block_id("department")]["element"]
        assert department["initial_option"]["text"]["text"] == "Sales"
        # An id nobody named is kept as a choice rather than silently dropped.
        priority = inputs[filter_block_id("priority")]["element"]
        assert priority["initial_option"]["text"]["text"] == "#9"
        assert inputs[filter_block_id("customer")]["element"]["initial_value"] == "12"
        broadcast = inputs[SubscriptionIds.BROADCAST_BLOCK]["element"]
        assert broadcast["initial_option"]["value"] == "broadcast"
        assert EditTarget.from_metadata(view["private_metadata"]) == EditTarget(
            7, "C0SUPPORT", "tickets"
        )

    def test_kinds_without_status_changes_offer_no_broadcast(self) -> None:
        view = build_edit_modal(subscription("milestones"), NAMES).to_dict()
        ids = [b.get("block_id") for b in view["blocks"]]
        assert SubscriptionIds.BROADCAST_BLOCK not in ids
        assert filter_block_id("project") in ids
        assert filter_block_id("department") not in ids

    def test_departments_without_names_are_typed_as_numbers(self) -> None:
        view = build_edit_modal(subscription(), NameSources()).to_dict()
        block = next(
            b for b in view["blocks"] if b.get("block_id") == filter_block_id("department")
        )
        assert block["element"]["type"] == "plain_text_input"
        assert block["optional"] is True

    def test_reading_it_back(self) -> None:
        target = EditTarget(7, "C0SUPPORT", "tickets")

        def select(value: str) -> dict[str, Any]:
            return {"type": "static_select", "selected_option": {"value": value}}

        def text(value: str) -> dict[str, Any]:
            return {"type": "plain_text_input", "value": value}

        state = {
            filter_block_id("department"): {filter_action_id("department"): select("any")},
            filter_block_id("priority"): {filter_action_id("priority"): select("3")},
            filter_block_id("status"): {filter_action_id("status"): select("any")},
            filter_block_id("customer"): {filter_action_id("customer"): text(" Acme  Inc ")},
            filter_block_id("project"): {filter_action_id("project"): text("#7")},
            SubscriptionIds.BROADCAST_BLOCK: {
                SubscriptionIds.BROADCAST_INPUT: {"selected_option": {"value": "broadcast"}}
            },
            SubscriptionIds.STYLE_BLOCK: {
                SubscriptionIds.STYLE_INPUT: {"selected_option": {"value": "full"}}
            },
        }
        draft = read_edit(target, state)
        assert not isinstance(draft, tuple)
        assert draft.terms == (
            FilterTerm("priority", number=3),
            FilterTerm("customer", name="Acme Inc"),
            FilterTerm("project", number=7),
        )
        assert draft.broadcast is True and draft.style == "full"

    def test_a_typed_department_must_be_a_number(self) -> None:
        target = EditTarget(7, "C0SUPPORT", "tickets")
        state = {
            filter_block_id("department"): {
                filter_action_id("department"): {"type": "plain_text_input", "value": "Sales"}
            }
        }
        assert read_edit(target, state) == (
            filter_block_id("department"),
            "Type the department's number, like 2, or leave it empty.",
        )

    @pytest.mark.parametrize(
        "metadata", ["", "{}", '{"id": 0, "channel": "C1", "kind": "tickets"}', "[1]", "nope"]
    )
    def test_foreign_metadata_is_refused(self, metadata: str) -> None:
        with pytest.raises(ValueError, match="not a subscription edit"):
            EditTarget.from_metadata(metadata)

    def test_the_saved_view_says_what_the_channel_now_gets(self) -> None:
        view = build_edit_saved(subscription(style="full"), [("priority", "High")]).to_dict()
        assert view_problems(view) == []
        assert "now gets new tickets" in json.dumps(view)
