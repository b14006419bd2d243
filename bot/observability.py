"""Logging for pmp-bot: one line per Slack request, optional JSON, and no secrets ever.

A `RequestTrace` follows one Slack request: the web layer creates it and measures the ack,
Bolt middleware names the team, user and kind, the PMP transport records each PMP status,
and the line is written once both the ack and the listener have finished.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

REQUEST_LOGGER = logging.getLogger("bot.requests")

# Secrets that must never reach a log sink, whatever code path formatted them.
_SECRET_PATTERNS = (
    re.compile(r"xox[abposre]-[A-Za-z0-9-]+"),  # Slack bot/user/app/config tokens
    re.compile(r"xapp-[A-Za-z0-9-]+"),
    re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),  # JWTs (PMP tokens)
    re.compile(r"(?i)(authtoken['\"]?\s*[:=]\s*['\"]?)[^\s'\",}]+"),
)


def redact(text: str) -> str:
    """Masks anything that looks like a Slack or PMP token."""
    for pattern in _SECRET_PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + "[redacted]", text)
        else:
            text = pattern.sub("[redacted]", text)
    return text


class RedactingFilter(logging.Filter):
    """Defence in depth: tokens are never logged on purpose, and this catches accidents."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            # Exceptions keep their type and traceback; a token inside one is masked at format time.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            payload.update(fields)
        if record.exc_text:
            payload["exception"] = record.exc_text
        return json.dumps(payload, ensure_ascii=False, default=str)


# Loggers whose DEBUG lines are a library's internals, not pmp-bot's behaviour.
_INTERNALS = ("aiosqlite", "httpcore", "hpack", "multipart", "asyncio")


class RequestObserver(Protocol):
    """Told about each Slack request once it is answered (the metrics)."""

    def request_answered(self, kind: str, http_status: int | None, ack_seconds: float) -> None: ...


def configure_logging(level: str = "INFO", *, json_lines: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # slack_bolt logs whole payloads (with personal data) at DEBUG; keep libraries at WARNING
    # unless the operator asked for DEBUG explicitly.
    if level.upper() != "DEBUG":
        for noisy in ("slack_bolt", "slack_sdk", "httpx", "httpcore", "aiosqlite", "asyncio"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    # Even at DEBUG, the database driver's every step (aiosqlite logs each call it hands to
    # its thread) and the HTTP library's connection internals bury what an operator is
    # looking for; slack-sdk, Bolt and httpx's one line per PMP request stay.
    for internals in _INTERNALS:
        logging.getLogger(internals).setLevel(logging.WARNING)


@dataclass
class RequestTrace:
    started: float = field(default_factory=time.perf_counter)
    team: str = "-"
    user: str = "-"
    kind: str = "-"
    name: str = "-"
    http_status: int | None = None
    ack_ms: float | None = None
    pmp_statuses: list[str] = field(default_factory=list)
    listener_running: bool = False
    listener_done: bool = False
    observer: RequestObserver | None = None
    _logged: bool = False

    def record_pmp(self, status: str) -> None:
        self.pmp_statuses.append(status)

    def mark_acked(self, http_status: int) -> None:
        self.http_status = http_status
        self.ack_ms = (time.perf_counter() - self.started) * 1000
        self._maybe_log()

    def mark_listener_started(self) -> None:
        self.listener_running = True

    def mark_listener_done(self) -> None:
        self.listener_done = True
        self._maybe_log()

    def _maybe_log(self) -> None:
        if self._logged or self.ack_ms is None:
            return
        if self.listener_running and not self.listener_done:
            return
        self._logged = True
        if self.observer is not None:
            self.observer.request_answered(self.kind, self.http_status, self.ack_ms / 1000)
        pmp = ",".join(self.pmp_statuses) if self.pmp_statuses else "-"
        fields = {
            "team": self.team,
            "user": self.user,
            "kind": self.kind,
            "name": self.name,
            "status": self.http_status,
            "ack_ms": round(self.ack_ms, 1),
            "pmp": pmp,
            "total_ms": round((time.perf_counter() - self.started) * 1000, 1),
        }
        REQUEST_LOGGER.info(
            "team=%s user=%s kind=%s name=%s status=%s ack_ms=%.1f pmp=%s total_ms=%.1f",
            self.team,
            self.user,
            self.kind,
            self.name,
            self.http_status,
            self.ack_ms,
            pmp,
            fields["total_ms"],
            extra={"fields": fields},
        )


current_trace: contextvars.ContextVar[RequestTrace | None] = contextvars.ContextVar(
    "pmp_bot_request_trace", default=None
)
