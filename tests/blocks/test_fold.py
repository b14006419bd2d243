"""The results' case- and accent-blind matching takes a short cut for ASCII text: the same
answer as the general rule."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from bot.blocks.results import _fold


def _fold_each_character(text: str) -> tuple[str, list[int]]:
    folded: list[str] = []
    positions: list[int] = []
    for index, char in enumerate(text):
        decomposed = unicodedata.normalize("NFKD", char)
        for part in "".join(c for c in decomposed if not unicodedata.combining(c)).casefold():
            folded.append(part)
            positions.append(index)
    return "".join(folded), positions


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_ascii_text_folds_as_the_general_rule_folds_it(text: str) -> None:
    assert _fold(text) == _fold_each_character(text)


@given(st.text())
def test_any_text_folds_as_the_general_rule_folds_it(text: str) -> None:
    assert _fold(text) == _fold_each_character(text)


def test_accents_and_case_are_ignored() -> None:
    assert _fold("Söhne CRÈME")[0] == "sohne creme"
    assert _fold("ACME Corp")[0] == "acme corp"
