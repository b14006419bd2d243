"""Properties of the `/pmp` grammar that must hold for any text, and its exported tables."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.grammar import (
    HELP_TOPICS,
    MAX_QUERY_CHARS,
    MAX_RECORD_ID,
    RECORD_KIND_ALIASES,
    ChannelRef,
    CommandAction,
    RecordKind,
    is_channel_id,
    parse,
    parse_channel_ref,
)

INVISIBLE_CATEGORIES = {"Cc", "Cf", "Cs"}

# Text that looks like what people (and Slack) send, mixed with arbitrary characters.
slack_like_words = st.sampled_from(
    [
        *RECORD_KIND_ALIASES,
        "help",
        "notify",
        "off",
        "new",
        "edit",
        "delete",
        "show",
        "search",
        "connect",
        "#42",
        "42",
        "0",
        "-1",
        "99999999999",
        '"',
        "“",
        "”",
        '"acme corp"',
        "&amp;",
        "&lt;",
        "&gt;",
        "<",
        ">",
        "<#C0123ABC|sales>",
        "<#C0123ABC>",
        "<@U0123ABC|ana>",
        "<!here>",
        "<http://acme.com|acme.com>",
        "<mailto:a@b.c|a@b.c>",
        "<>",
        "<|>",
        "\u200b",
        "\x00",
        "\t",
        "\n",
        "\ufeff",
    ]
)
slack_like_text = st.lists(st.one_of(slack_like_words, st.text(max_size=8)), max_size=12).map(
    " ".join
)
any_text = st.one_of(st.text(), slack_like_text)


@settings(max_examples=400)
@given(any_text)
def test_parse_never_raises_and_output_is_clean(text: str) -> None:
    command = parse(text)

    assert isinstance(command.action, CommandAction)
    if command.query is not None:
        assert command.query
        assert len(command.query) <= MAX_QUERY_CHARS
        assert not any(unicodedata.category(ch) in INVISIBLE_CATEGORIES for ch in command.query)
        assert command.query == command.query.strip()
    if command.record_id is not None:
        assert type(command.record_id) is int
        assert 0 < command.record_id <= MAX_RECORD_ID
    if command.topic is not None:
        assert command.topic in HELP_TOPICS
    if command.action is CommandAction.UNKNOWN:
        assert command.unknown_word
    if command.channel is not None:
        assert command.action is CommandAction.NOTIFY
        assert command.channel.id or command.channel.name


@given(st.text(max_size=20_000))
def test_any_length_is_accepted_and_query_is_capped(text: str) -> None:
    command = parse("customer " + text)
    assert command.query is None or len(command.query) <= MAX_QUERY_CHARS


def test_very_long_query_is_cut_to_the_cap() -> None:
    command = parse("customer " + "acme " * 2000)
    assert command.action is CommandAction.SEARCH
    assert command.query is not None
    assert len(command.query) <= MAX_QUERY_CHARS
    assert command.query.startswith("acme acme")


def test_thousands_of_digits_are_searched_not_converted() -> None:
    digits = "9" * 3999
    command = parse("ticket " + digits)
    assert command.action is CommandAction.SEARCH
    assert command.record_id is None


@given(st.integers(min_value=1, max_value=MAX_RECORD_ID), st.sampled_from(list(RecordKind)))
def test_every_valid_id_is_shown(record_id: int, kind: RecordKind) -> None:
    command = parse(f"{kind} {record_id}")
    assert command.action is CommandAction.SHOW
    assert command.kind is kind
    assert command.record_id == record_id


def test_aliases_cover_every_kind_and_are_lowercase() -> None:
    assert set(RECORD_KIND_ALIASES.values()) == set(RecordKind)
    for alias, kind in RECORD_KIND_ALIASES.items():
        assert alias == alias.lower()
        assert parse(f"{alias.upper()} 5").kind is kind


def test_help_topics_cover_every_subcommand() -> None:
    usages = [usage for entries in HELP_TOPICS.values() for usage, _ in entries]
    first_words = {usage.split()[0] for usage in usages}
    assert {kind.value for kind in RecordKind} <= first_words
    assert {"help", "notify", "connect", "disconnect", "status", "settings"} <= first_words
    for kind in RecordKind:
        actions = {parse(usage).action for usage in usages if usage.startswith(kind.value)}
        assert {
            CommandAction.SEARCH,
            CommandAction.SHOW,
            CommandAction.NEW,
            CommandAction.EDIT,
            CommandAction.DELETE,
        } <= actions


def test_every_help_example_parses_cleanly() -> None:
    for entries in HELP_TOPICS.values():
        for usage, description in entries:
            command = parse(usage)
            assert command.action is not CommandAction.UNKNOWN, usage
            assert command.problem is None, usage
            assert description and "\n" not in description


def test_every_topic_is_reachable_from_help() -> None:
    reachable = {
        parse(f"help {word}").topic
        for word in [*RECORD_KIND_ALIASES, "notify", "connect", "help", "subscribe", "staff"]
    }
    assert reachable == set(HELP_TOPICS)


def test_problems_quote_the_command_the_user_can_fix() -> None:
    for text in ["milestone edit", "lead delete", "ticket show", "customer search"]:
        problem = parse(text).problem
        assert problem is not None
        assert f"`/pmp {text}" in problem


class TestChannelReferences:
    def test_forms(self) -> None:
        assert parse_channel_ref("<#C0123ABCD|sales>") == ChannelRef("C0123ABCD", "sales")
        assert parse_channel_ref("  <#C0123ABCD>  ") == ChannelRef("C0123ABCD", None)
        assert parse_channel_ref("#Sales") == ChannelRef(None, "sales")
        assert parse_channel_ref("sales") == ChannelRef(None, "sales")
        assert parse_channel_ref("C0123ABCD") == ChannelRef("C0123ABCD", None)
        assert parse_channel_ref("G0123ABCD") == ChannelRef("G0123ABCD", None)

    def test_rejects_what_is_not_one_channel(self) -> None:
        for text in ["", "  ", "#a #b", "sales team", "<@U0123ABC>", "#sales!", "#" + "a" * 81]:
            assert parse_channel_ref(text) is None, text

    def test_channel_id_shape(self) -> None:
        assert is_channel_id("C0123ABCD")
        assert is_channel_id("C123")
        assert not is_channel_id("CRM")
        assert not is_channel_id("c0123abcd")
        assert not is_channel_id("U0123ABCD")
        assert not is_channel_id("C1")
