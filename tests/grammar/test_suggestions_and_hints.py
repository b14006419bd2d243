"""What the grammar offers back to the user: the corrected command of a did-you-mean, and a
search hint that finds a record by its name when pasted."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.grammar import (
    MAX_HINT_TERM_CHARS,
    MAX_SUGGESTION_CHARS,
    CommandAction,
    RecordKind,
    parse,
    search_hint,
)

SLASH_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def as_slack_sends(text: str) -> str:
    return text.translate(SLASH_ESCAPES)


class TestDidYouMean:
    @settings(max_examples=200)
    @given(
        st.sampled_from(["custmer", "tikcet", "projcet", "mileston", "laed"]),
        st.lists(st.text(alphabet="abcdefgh xyz&<>#'0123", min_size=1, max_size=8), max_size=5),
    )
    def test_the_suggestion_keeps_the_users_words_and_is_understood(
        self, typo: str, words: list[str]
    ) -> None:
        text = " ".join([typo, *words])
        command = parse(as_slack_sends(text))
        assert command.action is CommandAction.UNKNOWN
        assert command.suggestion is not None
        assert len(command.suggestion) <= MAX_SUGGESTION_CHARS
        corrected = parse(as_slack_sends(command.suggestion))
        assert corrected.action is not CommandAction.UNKNOWN
        typed_words = " ".join(" ".join(words).split())
        if typed_words:
            assert command.suggestion.endswith(typed_words)

    def test_a_suggestion_too_long_to_quote_is_just_the_word(self) -> None:
        command = parse("tikcet " + "printer " * 30)
        assert command.suggestion == "ticket"

    def test_help_for_an_unknown_topic_suggests_the_help_command(self) -> None:
        assert parse("help tikcet").suggestion == "help ticket"
        assert parse("help zzz").suggestion is None


class TestInvalidIds:
    @given(st.sampled_from(list(RecordKind)), st.sampled_from(["0", "#0", "00", "-1", "-42"]))
    def test_numbers_no_record_has_are_refused_with_the_way_to_search(
        self, kind: RecordKind, number: str
    ) -> None:
        command = parse(f"{kind} {number}")
        assert command.action is CommandAction.SHOW
        assert command.record_id is None and command.query is None
        assert command.problem is not None
        assert f"`{number}` isn't a {kind} number" in command.problem
        assert f"`/pmp {kind} search {number}`" in command.problem
        searched = parse(f"{kind} search {number}")
        assert searched.action is CommandAction.SEARCH and searched.query == number


class TestSearchHint:
    def test_a_short_name_is_quoted_whole(self) -> None:
        assert search_hint("customer", "Rio Digital") == "/pmp customer Rio Digital"

    def test_a_long_name_gives_an_uncut_piece_of_it(self) -> None:
        name = "Companhia Brasileira de Distribuição e Comércio Internacional de Alimentos"
        hint = search_hint("customer", name)
        assert hint is not None
        assert "…" not in hint
        term = hint.removeprefix("/pmp customer ")
        assert term in name and len(term) <= MAX_HINT_TERM_CHARS
        assert term.startswith("Companhia Brasileira")

    def test_words_the_grammar_would_read_as_a_command_are_searched_for(self) -> None:
        assert search_hint("lead", "New Horizons") == "/pmp lead search New Horizons"
        assert search_hint("project", "42") == "/pmp project search 42"

    def test_pieces_the_grammar_or_pmp_would_change_are_avoided(self) -> None:
        assert search_hint("customer", 'The "Best" Co') == "/pmp customer The"
        assert search_hint("customer", "Acme  Corp") == "/pmp customer Acme"
        assert search_hint("customer", "#1 Plumbing") == "/pmp customer Plumbing"
        assert search_hint("customer", "A/B Testing Co") == "/pmp customer Testing Co"
        assert search_hint("customer", '""') is None
        assert search_hint("customer", "   ") is None

    @settings(max_examples=300)
    @given(
        st.sampled_from(["customer", "lead", "project", "milestone"]),
        st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=120),
    )
    def test_a_hint_pasted_into_slack_searches_for_a_piece_of_the_name(
        self, kind: str, name: str
    ) -> None:
        hint = search_hint(kind, name)  # type: ignore[arg-type]
        if hint is None:
            return
        command = parse(as_slack_sends(hint.removeprefix("/pmp ")))
        assert command.action is CommandAction.SEARCH
        assert command.query is not None
        assert command.query in name
        assert len(command.query) <= MAX_HINT_TERM_CHARS
        assert not command.query.startswith("#")
        assert "`" not in hint
