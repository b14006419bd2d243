"""`/pmp subscribe`, `/pmp unsubscribe` and `/pmp subscriptions`: texts as Slack sends them
(escaped) and what each must parse to, or the problem it must explain."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.grammar import (
    HELP_TOPICS,
    SUBSCRIBE_KINDS,
    ChannelRef,
    CommandAction,
    FilterTerm,
    SubscriptionRequest,
    parse,
)

A = CommandAction
GENERAL = ChannelRef(id="C0001", name="general")

ROWS: list[tuple[str, A, SubscriptionRequest]] = [
    ("subscribe tickets", A.SUBSCRIBE, SubscriptionRequest(kind="tickets")),
    ("subscribe ticket", A.SUBSCRIBE, SubscriptionRequest(kind="tickets")),
    ("SUBSCRIBE Leads", A.SUBSCRIBE, SubscriptionRequest(kind="leads")),
    ("sub projects", A.SUBSCRIBE, SubscriptionRequest(kind="projects")),
    ("subscribe milestone", A.SUBSCRIBE, SubscriptionRequest(kind="milestones")),
    ("subscribe clients", A.SUBSCRIBE, SubscriptionRequest(kind="customers")),
    ("subscribe lookups", A.SUBSCRIBE, SubscriptionRequest(kind="lookups")),
    (
        "subscribe <#C0001|general> tickets",
        A.SUBSCRIBE,
        SubscriptionRequest(channel=GENERAL, kind="tickets"),
    ),
    (
        "subscribe tickets <#C0001|general>",
        A.SUBSCRIBE,
        SubscriptionRequest(channel=GENERAL, kind="tickets"),
    ),
    (
        "subscribe #support tickets",
        A.SUBSCRIBE,
        SubscriptionRequest(channel=ChannelRef(id=None, name="support"), kind="tickets"),
    ),
    (
        "subscribe C0123ABC leads",
        A.SUBSCRIBE,
        SubscriptionRequest(channel=ChannelRef(id="C0123ABC", name=None), kind="leads"),
    ),
    (
        "subscribe tickets department:2 priority:high status:open",
        A.SUBSCRIBE,
        SubscriptionRequest(
            kind="tickets",
            filters=(
                FilterTerm("department", number=2),
                FilterTerm("priority", name="high"),
                FilterTerm("status", name="open"),
            ),
        ),
    ),
    (
        "subscribe tickets dept:Support",
        A.SUBSCRIBE,
        SubscriptionRequest(kind="tickets", filters=(FilterTerm("department", name="Support"),)),
    ),
    (
        'subscribe tickets customer:"Acme Inc" project:7',
        A.SUBSCRIBE,
        SubscriptionRequest(
            kind="tickets",
            filters=(FilterTerm("customer", name="Acme Inc"), FilterTerm("project", number=7)),
        ),
    ),
    (
        "subscribe tickets customer:“Acme &amp; Sons”",
        A.SUBSCRIBE,
        SubscriptionRequest(kind="tickets", filters=(FilterTerm("customer", name="Acme & Sons"),)),
    ),
    (
        'subscribe tickets customer: "Acme Inc"',
        A.SUBSCRIBE,
        SubscriptionRequest(kind="tickets", filters=(FilterTerm("customer", name="Acme Inc"),)),
    ),
    (
        "subscribe tickets customer:#12",
        A.SUBSCRIBE,
        SubscriptionRequest(kind="tickets", filters=(FilterTerm("customer", number=12),)),
    ),
    (
        "subscribe leads broadcast full",
        A.SUBSCRIBE,
        SubscriptionRequest(kind="leads", broadcast=True, style="full"),
    ),
    (
        "subscribe leads thread-only compact",
        A.SUBSCRIBE,
        SubscriptionRequest(kind="leads", broadcast=False, style="compact"),
    ),
    ("unsubscribe tickets", A.UNSUBSCRIBE, SubscriptionRequest(kind="tickets")),
    ("unsub tickets", A.UNSUBSCRIBE, SubscriptionRequest(kind="tickets")),
    ("unsubscribe all", A.UNSUBSCRIBE, SubscriptionRequest(every_kind=True)),
    (
        "unsubscribe <#C0001|general> all",
        A.UNSUBSCRIBE,
        SubscriptionRequest(channel=GENERAL, every_kind=True),
    ),
    (
        "unsubscribe tickets priority:3",
        A.UNSUBSCRIBE,
        SubscriptionRequest(kind="tickets", filters=(FilterTerm("priority", number=3),)),
    ),
    ("subscriptions", A.SUBSCRIPTIONS, SubscriptionRequest()),
    ("subscription", A.SUBSCRIPTIONS, SubscriptionRequest()),
    ("subscriptions <#C0001|general>", A.SUBSCRIPTIONS, SubscriptionRequest(channel=GENERAL)),
]


@pytest.mark.parametrize(("text", "action", "expected"), ROWS, ids=[row[0] for row in ROWS])
def test_parse(text: str, action: A, expected: SubscriptionRequest) -> None:
    command = parse(text)
    assert command.problem is None
    assert command.action is action
    assert command.subscription == expected


PROBLEMS: list[tuple[str, list[str]]] = [
    ("subscribe", ["Tell me what the channel should get", "tickets, leads"]),
    ("subscribe #support", ["Tell me what the channel should get"]),
    ("subscribe tikets priority:high", ["`tikets`", "`/pmp subscribe tickets priority:high`"]),
    ("subscribe tickets brodcast", ["`brodcast`", "`/pmp subscribe tickets broadcast`"]),
    ("subscribe tickets priorty:high", ["`priorty:`", "Did you mean `priority:`?"]),
    ("subscribe tickets colour:red", ["`colour:`", "`department:`, `priority:`"]),
    ("subscribe tickets priority:", ["`priority:` needs a value", "`priority:high`"]),
    ("subscribe tickets customer:0", ["isn't a customer number", "`customer:12`"]),
    ("subscribe tickets leads", ["One kind at a time"]),
    ("subscribe tickets thread-only broadcast", ["`thread-only` or `broadcast`"]),
    ("subscribe tickets compact full", ["`compact` or `full`"]),
    ("subscribe tickets priority:1 priority:2", ["Give `priority:` once"]),
    ("subscribe <#C0001|general> <#C0002|sales> tickets", ["One channel at a time"]),
    ("unsubscribe", ["Tell me what to stop", "`/pmp unsubscribe all`"]),
    ("unsubscribe tickets all", ["leave out `all`"]),
    ("unsubscribe tickets broadcast", ["`broadcast`"]),
    ("subscriptions tickets", ["takes just a channel"]),
]


@pytest.mark.parametrize(("text", "expected"), PROBLEMS, ids=[row[0] for row in PROBLEMS])
def test_problems_say_what_to_fix(text: str, expected: list[str]) -> None:
    command = parse(text)
    assert command.problem is not None, text
    assert command.subscription is None
    for part in expected:
        assert part in command.problem


def test_a_typo_in_the_command_word_is_suggested_with_the_users_words() -> None:
    command = parse("subscibe tickets priority:high")
    assert command.action is A.UNKNOWN
    assert command.suggestion == "subscribe tickets priority:high"
    assert parse("unsubscrbe all").suggestion == "unsubscribe all"


def test_user_text_quoted_back_cannot_ping_or_break_the_quote() -> None:
    problem = parse("subscribe tickets &lt;!channel&gt;").problem
    assert problem is not None
    assert "<!channel>" not in problem and "&lt;!channel&gt;" in problem
    problem = parse("subscribe tickets a`b:1").problem
    assert problem is not None
    assert "a'b" in problem


def test_every_kind_has_a_word() -> None:
    assert {parse(f"subscribe {kind}").subscription.kind for kind in SUBSCRIBE_KINDS} == set(  # type: ignore[union-attr]
        SUBSCRIBE_KINDS
    )


def test_help_topic_is_reached_from_each_command_word() -> None:
    for word in ("subscribe", "unsubscribe", "subscriptions"):
        assert parse(f"help {word}").topic == "subscribe"
    for usage, _ in HELP_TOPICS["subscribe"]:
        command = parse(usage)
        assert command.problem is None and command.subscription is not None, usage


@settings(max_examples=300)
@given(
    st.lists(
        st.sampled_from(
            [
                "tickets",
                "all",
                "broadcast",
                "full",
                "<#C0001|general>",
                "#sales",
                "priority:high",
                'customer:"Acme',
                'Inc"',
                "department:",
                "status:0",
                "zzz",
                '"',
                "“",
            ]
        )
        | st.text(max_size=10),
        max_size=8,
    ),
    st.sampled_from(["subscribe", "unsubscribe", "subscriptions"]),
)
def test_never_raises_and_answers_either_a_request_or_a_problem(
    words: list[str], verb: str
) -> None:
    command = parse(" ".join([verb, *words]))
    assert command.action in (A.SUBSCRIBE, A.UNSUBSCRIBE, A.SUBSCRIPTIONS)
    assert (command.problem is None) != (command.subscription is None)
    if command.subscription is not None:
        for term in command.subscription.filters:
            assert (term.number is None) != (term.name is None)
            assert term.name is None or (term.name.strip() and term.name == term.name.strip())
