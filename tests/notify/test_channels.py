"""Channel references and the notice line."""

from __future__ import annotations

import pytest

from bot.grammar import ChannelRef, RecordKind
from bot.notify import channel_mention, notice_line, parse_channel_ref
from bot.notify.channels import MAX_LABEL_CHARS

URL = "https://crm.example.com/admin/clients/client/7"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<#C0123ABCD|sales>", ChannelRef("C0123ABCD", "sales")),
        ("<#C0123ABCD>", ChannelRef("C0123ABCD", None)),
        ("#sales", ChannelRef(None, "sales")),
        ("C0123ABCD", ChannelRef("C0123ABCD", None)),
        ("G0123ABCD", ChannelRef("G0123ABCD", None)),
        ("<@U0123ABCD>", None),
        ("#two words", None),
    ],
)
def test_parse_channel_ref_is_the_grammars(text: str, expected: ChannelRef | None) -> None:
    assert parse_channel_ref(text) == expected


def test_channel_mention() -> None:
    assert channel_mention(ChannelRef("C0123ABCD", "sales")) == "<#C0123ABCD>"
    assert channel_mention(ChannelRef(None, "sales")) == "#sales"
    assert channel_mention(ChannelRef("!channel", "x&y")) == "#x&amp;y"


class TestNoticeLine:
    def test_plain(self) -> None:
        line = notice_line("U0ANA", "looked up", "customer", "Acme Corporation", None)
        assert line == "<@U0ANA> looked up customer *Acme Corporation*"

    def test_links_the_record(self) -> None:
        line = notice_line("U0ANA", "updated", "customer", "Acme Corporation", URL)
        assert line == f"<@U0ANA> updated customer *<{URL}|Acme Corporation>*"

    def test_label_cannot_ping_or_forge_links(self) -> None:
        line = notice_line("U0ANA", "looked up", "lead", "<!channel> & <http://evil|bank>", URL)
        assert line == (
            f"<@U0ANA> looked up lead *<{URL}|&lt;!channel&gt; &amp; &lt;http://evil|bank&gt;>*"
        )

    def test_url_cannot_break_out_of_the_link(self) -> None:
        line = notice_line("U0ANA", "created", "ticket", "Jam", "https://x.io/a?b=1&c=2|<!here>")
        assert "<https://x.io/a?b=1&amp;c=2%7C&lt;!here&gt;|Jam>" in line
        assert "<!here>" not in line

    def test_only_web_links_are_used(self) -> None:
        line = notice_line("U0ANA", "created", "ticket", "Jam", "javascript:alert(1)")
        assert line == "<@U0ANA> created ticket *Jam*"

    def test_long_or_multiline_label_stays_one_short_line(self) -> None:
        line = notice_line("U0ANA", "looked up", "project", "Big\nProject " + "x" * 1000)
        assert "\n" not in line
        assert "*Big Project xxx" in line
        assert len(line) < MAX_LABEL_CHARS + 50

    def test_empty_label_and_odd_actor(self) -> None:
        line = notice_line("<!channel>", "deleted", "milestone", "  ")
        assert line == "Someone deleted milestone *(no name)*"

    def test_accepts_record_kind_enum(self) -> None:
        line = notice_line("W0ANA", "looked up", RecordKind.MILESTONE, "Launch")
        assert line == "<@W0ANA> looked up milestone *Launch*"
