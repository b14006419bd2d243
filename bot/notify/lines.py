"""Notice lines fitted to Slack's limits: one line cut without breaking a link or an escape,
and a message split into section-sized texts."""

from __future__ import annotations

__all__ = [
    "MAX_LINE_CHARS",
    "MAX_MESSAGE_CHARS",
    "MAX_SECTION_CHARS",
    "fit_line",
    "split_sections",
]

# Slack cuts a message's `text` at 40,000 characters.
MAX_MESSAGE_CHARS = 40_000
# A section block holds 3000 characters; keeping every line within it lets a caller that
# renders blocks put any line in one section.
MAX_LINE_CHARS = 3_000
MAX_SECTION_CHARS = 3_000
ELLIPSIS = "…"


def fit_line(line: str, limit: int = MAX_LINE_CHARS) -> str:
    """`line` cut to `limit` characters with an ellipsis, never inside an `&amp;` escape or
    a `<…>` link or mention, which would otherwise show up broken."""
    if len(line) <= limit:
        return line
    cut = line[: max(limit - len(ELLIPSIS), 0)]
    open_bracket = cut.rfind("<")
    if open_bracket != -1 and ">" not in cut[open_bracket:]:
        cut = cut[:open_bracket]
    ampersand = cut.rfind("&")
    if ampersand != -1 and ";" not in cut[ampersand:]:
        cut = cut[:ampersand]
    return cut + ELLIPSIS


def split_sections(text: str, limit: int = MAX_SECTION_CHARS) -> list[str]:
    """Splits a message into texts of at most `limit` characters at line breaks, for a
    caller that posts section blocks. A message of at most 40,000 characters whose lines fit
    a section gives at most 27 sections, within Slack's 50 blocks."""
    sections: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.split("\n"):
        piece = fit_line(line, limit)
        if current and size + 1 + len(piece) > limit:
            sections.append("\n".join(current))
            current, size = [], 0
        size += len(piece) + (1 if current else 0)
        current.append(piece)
    if current:
        sections.append("\n".join(current))
    return sections
