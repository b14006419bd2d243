"""``api/webhooks`` (3.x): the module's Webhooks controller, over the sandbox's store."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping

from bot.sandbox import schema
from bot.sandbox.events import CATALOG, EVENT_NAMES, Event
from bot.sandbox.phpish import PhpValue, is_empty, php_string
from bot.sandbox.store import Row, now_text
from bot.sandbox.webhooks import WebhookHub, check_url

Body = dict[str, PhpValue]
_LEADING_INT = re.compile(r"\s*([+-]?\d+)")


class WebhookAnswer(Exception):
    """The controller answered early (``$this->response(...)`` exits)."""

    def __init__(self, status: int, body: PhpValue) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def _php_int(value: PhpValue) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return int(value)
    match = _LEADING_INT.match(php_string(value) or "")
    return int(match.group(1)) if match else 0


def present(row: Row) -> dict[str, PhpValue]:
    """A webhook as the API shows it: events as a list, headers decoded, the secret replaced
    by ``has_secret``."""
    shown: dict[str, PhpValue] = {
        name: value for name, value in row.items() if name not in ("secret", "owner")
    }
    shown["events"] = [name.strip() for name in (row["events"] or "").split(",") if name.strip()]
    try:
        shown["headers"] = json.loads(row["headers"]) if row["headers"] else None
    except ValueError:
        shown["headers"] = None
    shown["has_secret"] = bool(row["secret"])
    return shown


def validation_error(errors: Mapping[str, str], message: str) -> WebhookAnswer:
    return WebhookAnswer(
        422,
        {
            "status": False,
            "error": "validation_failed",
            "message": message,
            "errors": dict(errors),
        },
    )


async def validated(hub: WebhookHub, post: Body, *, creating: bool) -> Row:
    """``validated_payload``: the fields to write, or a 422 naming every problem."""
    errors: dict[str, str] = {}
    data: Row = {}
    if creating or "name" in post:
        name = (php_string(post.get("name")) or "").strip()
        if not name:
            errors["name"] = "The name field is required."
        else:
            data["name"] = name
    if creating or "url" in post:
        url = (php_string(post.get("url")) or "").strip()
        if not url:
            errors["url"] = "The url field is required."
        else:
            refused = await check_url(
                url, strict=hub.options.ssrf_strict, allow_loopback=hub.options.allow_loopback
            )
            if refused is not None:
                errors["url"] = f"URL rejected: {refused}"
            else:
                data["url"] = url
    if creating or "events" in post:
        raw = post.get("events", "")
        events: list[str] | None
        if isinstance(raw, str):
            events = [name.strip() for name in raw.split(",") if name.strip()]
        elif isinstance(raw, list):
            events = [php_string(item) or "" for item in raw]
        elif isinstance(raw, dict):
            events = [php_string(item) or "" for item in raw.values()]
        else:
            events = None
        if not events:
            errors["events"] = 'Provide at least one event (or "*").'
        else:
            unknown = [name for name in events if name not in EVENT_NAMES]
            if unknown:
                errors["events"] = (
                    f"Unknown events: {', '.join(unknown)}. "
                    "See GET api/webhooks/events for the catalog."
                )
            else:
                data["events"] = ",".join(events)
    if "secret" in post:
        data["secret"] = php_string(post["secret"]) or ""
    if "active" in post:
        active = post["active"]
        data["active"] = "1" if active is True or active == 1 or php_string(active) == "1" else "0"
    if "timeout" in post:
        data["timeout"] = str(max(1, min(120, _php_int(post["timeout"]))))
    if "retry_count" in post:
        data["retry_count"] = str(max(0, min(10, _php_int(post["retry_count"]))))
    if "headers" in post:
        headers = post["headers"]
        if isinstance(headers, str) and headers != "":
            try:
                decoded = json.loads(headers)
            except ValueError:
                decoded = None
            if not isinstance(decoded, dict | list):
                errors["headers"] = "Headers must be a JSON object."
            else:
                data["headers"] = json.dumps(decoded, separators=(",", ":"))
        elif isinstance(headers, dict | list):
            data["headers"] = json.dumps(headers, separators=(",", ":"))
        else:
            data["headers"] = None
    if errors:
        raise validation_error(errors, "Webhook validation failed")
    return data


def find_or_404(hub: WebhookHub, key: str, owner: str | None = None) -> Row:
    if is_empty(key) or not key.strip().lstrip("+-").replace(".", "", 1).isdigit():
        raise WebhookAnswer(404, {"status": False, "message": "Invalid webhook ID"})
    row = hub.store.row(schema.API_WEBHOOKS, str(_php_int(key)))
    if row is None or not _visible(hub, row, owner):
        raise WebhookAnswer(404, {"status": False, "message": "Webhook not found"})
    return row


def owner_of(token: str) -> str:
    """What a webhook keeps of the token that made it (never the token itself)."""
    return hashlib.sha256(token.encode()).hexdigest()[:32]


def _visible(hub: WebhookHub, row: Row, owner: str | None) -> bool:
    return not hub.options.per_token or owner is None or row["owner"] == owner


def get(hub: WebhookHub, key: str, owner: str | None = None) -> PhpValue | list[PhpValue]:
    """One webhook, or (no id) every webhook for the list envelope."""
    if key and key != "0":
        row = hub.store.row(schema.API_WEBHOOKS, str(_php_int(key)))
        if row is None or not _visible(hub, row, owner):
            raise WebhookAnswer(404, {"status": False, "message": "Webhook not found"})
        return present(row)
    return [present(row) for row in hub.webhooks() if _visible(hub, row, owner)]


async def create(hub: WebhookHub, post: Body, owner: str | None = None) -> tuple[PhpValue, Event]:
    data = await validated(hub, post, creating=True)
    data["owner"] = owner
    now = now_text()
    data.setdefault("active", "1")
    data.setdefault("timeout", "30")
    data.setdefault("retry_count", "3")
    data["date_created"] = now
    data["date_updated"] = now
    new_id = hub.store.insert(schema.API_WEBHOOKS, data)
    row = hub.store.row(schema.API_WEBHOOKS, str(new_id))
    assert row is not None
    body: dict[str, PhpValue] = {
        "status": True,
        "message": "Webhook created successfully",
        "record_id": new_id,
        "data": present(row),
    }
    return body, Event("webhook_created", {"webhook_id": new_id})


async def update(
    hub: WebhookHub, key: str, post: Body, owner: str | None = None
) -> tuple[PhpValue, Event]:
    existing = find_or_404(hub, key, owner)
    data = await validated(hub, post, creating=False)
    if not data:
        raise validation_error({"_general": "No updatable fields provided"}, "Nothing to update")
    data["date_updated"] = now_text()
    webhook_id = str(existing["id"])
    hub.store.update(schema.API_WEBHOOKS, webhook_id, data)
    row = hub.store.row(schema.API_WEBHOOKS, webhook_id)
    assert row is not None
    body: dict[str, PhpValue] = {
        "status": True,
        "message": "Webhook updated successfully",
        "data": present(row),
    }
    return body, Event("webhook_updated", {"webhook_id": webhook_id})


def delete(hub: WebhookHub, key: str, owner: str | None = None) -> tuple[PhpValue, Event]:
    existing = find_or_404(hub, key, owner)
    webhook_id = str(existing["id"])
    hub.forget_webhook(webhook_id)
    hub.store.delete_row(schema.API_WEBHOOKS, webhook_id)
    body: dict[str, PhpValue] = {"status": True, "message": "Webhook deleted successfully"}
    return body, Event("webhook_deleted", {"webhook_id": webhook_id})


def toggle(hub: WebhookHub, key: str, owner: str | None = None) -> PhpValue:
    existing = find_or_404(hub, key, owner)
    active = 0 if existing["active"] == "1" else 1
    hub.store.update(schema.API_WEBHOOKS, str(existing["id"]), {"active": str(active)})
    return {
        "status": True,
        "message": "Webhook enabled" if active else "Webhook disabled",
        "active": active,
    }


def events() -> PhpValue:
    groups: dict[str, PhpValue] = {name: dict(group) for name, group in CATALOG.items()}
    return {
        "total_events": sum(len(group) for group in CATALOG.values()),
        "wildcard": "*",
        "groups": groups,
    }


def logs(hub: WebhookHub, key: str, owner: str | None = None) -> list[PhpValue]:
    existing = find_or_404(hub, key, owner)
    return list(hub.logs(str(existing["id"])))
