"""`/pmp help` and the answer to a command pmp-bot doesn't know."""

from __future__ import annotations

import json

from slack_sdk.models.blocks import SectionBlock

from bot.blocks.help import HelpEntry, HelpSection, build_help, build_unknown_command
from bot.grammar import parse


def _texts(blocks: list[object]) -> list[str]:
    return [json.dumps(block.to_dict()) for block in blocks]  # type: ignore[attr-defined]


def test_an_unknown_command_gets_the_whole_corrected_command_in_one_line() -> None:
    command = parse("custmer acme corp")
    assert command.unknown_word is not None
    blocks = build_unknown_command(command.unknown_word, command.suggestion)
    assert len(blocks) == 1 and isinstance(blocks[0], SectionBlock)
    text = blocks[0].text.text  # type: ignore[union-attr]
    assert text == (
        "I don't know `custmer`. Did you mean `/pmp customer acme corp`? "
        "`/pmp help` shows everything I can do."
    )
    assert "\n" not in text


def test_without_a_suggestion_it_only_points_at_help() -> None:
    blocks = build_unknown_command("frobnicate")
    (text,) = _texts(blocks)
    assert "I don't know `frobnicate`." in text
    assert "Did you mean" not in text
    assert "`/pmp help` shows everything I can do." in text


def test_the_users_words_in_a_suggestion_are_escaped() -> None:
    command = parse("custmer &lt;!channel&gt; R&amp;D")
    assert command.suggestion == "customer <!channel> R&D"
    (text,) = _texts(build_unknown_command("custmer", command.suggestion))
    assert "<!channel>" not in text
    assert "`/pmp customer &lt;!channel&gt; R&amp;D`" in text


def test_help_for_an_unknown_topic_suggests_the_help_command_then_shows_help() -> None:
    command = parse("help notfy")
    sections = [HelpSection("Channel notices", [HelpEntry("notify #sales", "posts notes")])]
    blocks = build_help(sections, unknown=command.unknown_word, suggestion=command.suggestion)
    texts = _texts(blocks)
    assert "Did you mean `/pmp help notify`? Here's what I can do:" in texts[0]
    assert "`/pmp notify #sales` posts notes" in texts[1]
