"""PMP 3.x webhooks: registering one, and reading and verifying what PMP delivers.

The REST API module 3.x manages webhooks as a resource (``api/webhooks``: list, get, create,
update, delete) with an event catalogue (``GET api/webhooks/events``), and signs every
delivery with the webhook's secret::

    X-Perfex-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + raw body)>

Event names differ between the module's documentation (``ticket.status_changed``, groups and
actions joined by a dot) and its code (``ticket_status_changed``); the catalogue may also use
plural groups (``tickets.updated``) or call customers clients. ``event_kind`` reads them all.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from bot.pmp.errors import PmpNotFoundError, unexpected_shape
from bot.pmp.fields import WireValue
from bot.pmp.links import RecordKind
from bot.pmp.resources import record_id_arg

if TYPE_CHECKING:
    from bot.pmp.client import PmpClient

__all__ = [
    "MAX_SIGNATURE_AGE_SECONDS",
    "SIGNATURE_HEADER",
    "Delivery",
    "RegisteredWebhook",
    "SignatureCheck",
    "WebhooksResource",
    "event_action",
    "event_kind",
    "parse_delivery",
    "sign",
    "verify_signature",
]

SIGNATURE_HEADER = "X-Perfex-Signature"
# A delivery signed more than this far from now (either way) is refused as a replay.
MAX_SIGNATURE_AGE_SECONDS = 300

_GROUPS: dict[str, RecordKind] = {
    "ticket": "ticket",
    "tickets": "ticket",
    "lead": "lead",
    "leads": "lead",
    "project": "project",
    "projects": "project",
    "milestone": "milestone",
    "milestones": "milestone",
    "project_milestone": "milestone",
    "customer": "customer",
    "customers": "customer",
    "client": "customer",
    "clients": "customer",
}
# The id keys a record of each kind may carry in a delivery, most specific first.
_ID_KEYS: dict[RecordKind, tuple[str, ...]] = {
    "ticket": ("ticketid", "ticket_id", "id"),
    "customer": ("userid", "customer_id", "client_id", "clientid", "id"),
    "lead": ("lead_id", "leadid", "id"),
    "project": ("project_id", "projectid", "id"),
    "milestone": ("milestone_id", "milestoneid", "id"),
}
_EVENT_NAME = re.compile(r"[a-z][a-z0-9_]*(?:[._][a-z0-9_*]+)*")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_HEX_SIGNATURE = re.compile(r"[0-9a-f]{64}")


def _split_name(name: str) -> tuple[str, str] | None:
    """(group, action) of an event name in either spelling, or None."""
    lowered = name.strip().lower().replace("-", "_")
    if "." in lowered:
        group, _, action = lowered.partition(".")
        return group, action
    # "ticket_status_changed", "project_milestone_created": the longest known group first.
    for group in sorted(_GROUPS, key=len, reverse=True):
        if lowered.startswith(group + "_"):
            return group, lowered[len(group) + 1 :]
    return None


def event_kind(name: str) -> RecordKind | None:
    """The record kind an event is about (``"ticket.status_changed"``,
    ``"ticket_status_changed"``, ``"clients.created"``...), None for other groups."""
    parts = _split_name(name)
    return None if parts is None else _GROUPS.get(parts[0])


def event_action(name: str) -> str:
    """What happened, as the event's name says it (``"status_changed"``, ``"deleted"``...)."""
    parts = _split_name(name)
    return "" if parts is None else parts[1]


@dataclass(frozen=True, slots=True)
class RegisteredWebhook:
    """A webhook as PMP holds it."""

    id: int
    url: str | None
    events: tuple[str, ...]
    active: bool


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a delivery is about: the event's name, the record's kind and id, and PMP's id
    of the delivery when it sends one."""

    event: str
    kind: RecordKind
    record_id: int
    delivery_id: str | None


SignatureCheck = Literal["valid", "malformed", "stale", "mismatch"]


def sign(secret: str, timestamp: int, raw: bytes) -> str:
    """The ``X-Perfex-Signature`` value PMP sends for ``raw`` at ``timestamp``."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + raw, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify_signature(secret: str, header: str | None, raw: bytes, *, now: float) -> SignatureCheck:
    """Check a delivery's signature over its raw bytes: "valid", or why not. The timestamp
    must be within MAX_SIGNATURE_AGE_SECONDS of ``now`` either way; the comparison takes the
    same time wherever the signatures differ. Any ``v1`` given may match (secret rotation)."""
    if not header or len(header) > 1000:
        return "malformed"
    timestamp: str | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            timestamp = value
        elif name == "v1":
            candidates.append(value.strip().lower())
    if timestamp is None or not _TIMESTAMP.fullmatch(timestamp) or not candidates:
        return "malformed"
    if abs(now - int(timestamp)) > MAX_SIGNATURE_AGE_SECONDS:
        return "stale"
    expected = hmac.new(
        secret.encode("utf-8"), timestamp.encode("ascii") + b"." + raw, hashlib.sha256
    ).hexdigest()
    matched = False
    for candidate in candidates[:5]:
        if _HEX_SIGNATURE.fullmatch(candidate) and hmac.compare_digest(expected, candidate):
            matched = True
    return "valid" if matched else "mismatch"


def _record_id(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return record_id_arg(value if isinstance(value, int | str) else str(value))
    except ValueError:
        return None


def parse_delivery(raw: bytes) -> Delivery | None:
    """What a (verified) delivery's JSON body is about, or None when it is not about a
    record of a kind pmp-bot follows (or can't be read)."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(body, dict):
        return None
    name = next(
        (body[key] for key in ("event", "event_name", "type") if isinstance(body.get(key), str)),
        None,
    )
    if name is None:
        return None
    kind = event_kind(name)
    if kind is None:
        return None
    record_id = None
    for container in _containers(body, kind):
        for key in _ID_KEYS[kind]:
            record_id = _record_id(container.get(key))
            if record_id is not None:
                break
        if record_id is not None:
            break
    if record_id is None:
        record_id = _record_id(body.get("record_id")) or _record_id(body.get("rel_id"))
    if record_id is None:
        return None
    delivery = next(
        (
            str(body[key])
            for key in ("delivery_id", "webhook_delivery_id", "event_id", "uuid")
            if isinstance(body.get(key), str | int) and not isinstance(body.get(key), bool)
        ),
        None,
    )
    return Delivery(event=name, kind=kind, record_id=record_id, delivery_id=delivery)


def _containers(body: dict[str, Any], kind: RecordKind) -> Iterable[dict[str, Any]]:
    """The objects of a delivery that may hold the record: ``data`` (or ``payload``), a key
    named after the kind inside it, then the body itself for the specific id keys."""
    for key in ("data", "payload", "record"):
        value = body.get(key)
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if isinstance(value, dict):
            for name in (kind, kind + "s", "client" if kind == "customer" else kind):
                inner = value.get(name)
                if isinstance(inner, dict):
                    yield inner
            yield value
    yield {key: value for key, value in body.items() if key != "id"}


def _looks_like_event(text: str) -> bool:
    name = text.strip()
    return ("." in name or "_" in name) and _EVENT_NAME.fullmatch(name) is not None


def _event_names(payload: Any) -> list[str]:
    """Every event name a catalogue answer holds, whatever its nesting: a list of names, of
    objects naming one (``event``/``name``/``key``), or groups mapping names to their
    descriptions (``{"tickets": {"ticket_created": "Ticket created", ...}}``)."""
    found: list[str] = []
    pending = [payload]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _looks_like_event(item):
                found.append(item.strip())
        elif isinstance(item, list):
            pending.extend(reversed(item))
        elif isinstance(item, dict):
            named = next(
                (
                    item[key]
                    for key in ("event", "name", "key", "slug")
                    if isinstance(item.get(key), str) and _looks_like_event(item[key])
                ),
                None,
            )
            if named is not None:
                found.append(named.strip())
                continue
            children: list[Any] = []
            for key, value in item.items():
                if isinstance(value, str) and isinstance(key, str) and _looks_like_event(key):
                    children.append(key)  # a name and its description
                elif isinstance(value, dict | list):
                    children.append(value)
            pending.extend(reversed(children))
    return list(dict.fromkeys(found))


def _webhook(row: Any) -> RegisteredWebhook | None:
    if not isinstance(row, dict):
        return None
    webhook_id = _record_id(row.get("id"))
    if webhook_id is None:
        return None
    events = row.get("events")
    if isinstance(events, str):
        try:
            decoded = json.loads(events)
        except ValueError:
            decoded = [part for part in events.split(",") if part.strip()]
        events = decoded
    names = tuple(
        str(name).strip() for name in (events if isinstance(events, list) else []) if name
    )
    active = row.get("active", row.get("is_active", row.get("enabled", True)))
    url = row.get("url") if isinstance(row.get("url"), str) else None
    return RegisteredWebhook(
        id=webhook_id,
        url=url,
        events=names,
        active=str(active).strip().lower() not in ("0", "false", "no", "off", ""),
    )


class WebhooksResource:
    """``api/webhooks`` of a 3.x module, through ``client`` (and its address guard)."""

    def __init__(self, client: PmpClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return "<WebhooksResource>"

    async def events(self, *, timeout: float | None = None) -> list[str]:
        """The names in the module's event catalogue."""
        info = self._client.request_info(
            "GET", "webhooks/events", "list", "webhook event", timeout=timeout
        )
        try:
            payload = await self._client.request(info, "webhooks/events")
        except PmpNotFoundError:
            return []
        return _event_names(payload)

    async def list(self, *, timeout: float | None = None) -> list[RegisteredWebhook]:
        info = self._client.request_info("GET", "webhooks", "list", "webhook", timeout=timeout)
        try:
            payload = await self._client.request(info, "webhooks")
        except PmpNotFoundError:
            return []
        if isinstance(payload, dict) and isinstance(payload.get("data"), list):
            payload = payload["data"]
        rows = payload if isinstance(payload, list) else [payload]
        return [hook for hook in map(_webhook, rows) if hook is not None]

    async def get(self, webhook_id: int, *, timeout: float | None = None) -> RegisteredWebhook:
        """One webhook; PmpNotFoundError when PMP has none with that id."""
        path = f"webhooks/{record_id_arg(webhook_id, 'webhook id')}"
        info = self._client.request_info(
            "GET", path, "get", "webhook", timeout=timeout, record_id=webhook_id
        )
        payload = await self._client.request(info, path)
        if isinstance(payload, dict) and isinstance(payload.get("data"), dict | list):
            payload = payload["data"]
        if isinstance(payload, list) and len(payload) == 1:
            payload = payload[0]
        hook = _webhook(payload)
        if hook is None:
            raise unexpected_shape(info, "the webhook answer held no webhook")
        return hook

    async def create(
        self,
        *,
        name: str,
        url: str,
        events: Iterable[str],
        secret: str,
        timeout: float | None = None,
    ) -> int | None:
        """Register a webhook; its id when PMP tells it, else None (find it by ``list``)."""
        info = self._client.request_info("POST", "webhooks", "create", "webhook", timeout=timeout)
        form: dict[str, WireValue] = {
            "name": name,
            "url": url,
            "events": ",".join(events),
            "secret": secret,
        }
        payload = await self._client.request(info, "webhooks", form=form)
        if isinstance(payload, dict):
            for container in (payload, payload.get("data")):
                if isinstance(container, dict):
                    for key in ("record_id", "id", "webhook_id"):
                        found = _record_id(container.get(key))
                        if found is not None:
                            return found
        return None

    async def update(
        self,
        webhook_id: int,
        *,
        url: str,
        events: Iterable[str],
        secret: str,
        timeout: float | None = None,
    ) -> None:
        path = f"webhooks/{record_id_arg(webhook_id, 'webhook id')}"
        info = self._client.request_info(
            "PUT", path, "update", "webhook", timeout=timeout, record_id=webhook_id
        )
        body = {"url": url, "events": ",".join(events), "secret": secret, "active": 1}
        await self._client.request(info, path, json_body=body)

    async def delete(self, webhook_id: int, *, timeout: float | None = None) -> None:
        """Remove a webhook; one PMP no longer has counts as removed."""
        path = f"webhooks/{record_id_arg(webhook_id, 'webhook id')}"
        info = self._client.request_info(
            "DELETE", path, "delete", "webhook", timeout=timeout, record_id=webhook_id
        )
        try:
            await self._client.request(info, path)
        except PmpNotFoundError:
            return
