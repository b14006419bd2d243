"""Notice lines fitted to Slack's limits: cut without breaking links or escapes, split into
sections."""

from __future__ import annotations

from bot.notify import fit_line, split_sections
from bot.notify.lines import MAX_LINE_CHARS, MAX_MESSAGE_CHARS


def test_fit_line_never_cuts_inside_a_link_or_escape() -> None:
    link = "<https://crm.example.com/admin/clients/client/1|Acme>"
    assert fit_line("ab " + link, 20) == "ab …"
    assert fit_line("Tom &amp; Jerry", 8) == "Tom …"
    assert fit_line("short", 20) == "short"


def test_split_sections_fits_section_and_block_limits() -> None:
    lines = [f"{n:05d} " + "w" * (n % 400) for n in range(400)]
    message = "\n".join(lines)[:MAX_MESSAGE_CHARS]
    sections = split_sections(message)

    assert all(len(section) <= 3000 for section in sections)
    assert "\n".join(sections) == message
    assert len(sections) <= 50
    assert split_sections("a\nb") == ["a\nb"]
    assert split_sections("q" * 4000) == ["q" * 2999 + "…"]


def test_an_oversized_line_is_cut_to_a_section() -> None:
    text = fit_line("start " + "z" * 10_000)
    assert len(text) == MAX_LINE_CHARS
    assert text.startswith("start zzz")
    assert text.endswith("…")
