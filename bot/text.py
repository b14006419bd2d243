"""Safe text for Slack: escaping data for mrkdwn and cutting it to Slack's limits."""

from __future__ import annotations

ELLIPSIS = "…"


def escape_mrkdwn(text: str) -> str:
    """Escapes the three characters Slack treats as control characters in mrkdwn, so data
    from PMP can never ping `<!channel>`, mention a user or forge a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """Cuts `text` to at most `limit` characters, ending with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + ELLIPSIS


def safe(text: str | None, limit: int) -> str:
    """Escaped and cut to `limit` characters, without splitting an escape sequence."""
    if not text:
        return ""
    escaped = escape_mrkdwn(text)
    if len(escaped) <= limit:
        return escaped
    cut = escaped[: max(limit - 1, 0)]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + ELLIPSIS
