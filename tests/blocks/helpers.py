"""Wire-like PMP records (every scalar a string, as PMP sends them) and checks of Slack rules."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from bot.blocks.cards import Message
from bot.console.blockkit import message_problems

BASE_URL = "https://crm.example.com/"
SITE_ROOT = "https://crm.example.com"

# Text a hostile or careless PMP user could type into any field.
NASTY = "<!channel> <@U1> <http://evil|click> & Ünïcødé 🎉 *bold*"
LONG = "<!channel>&" * 500  # 5,500 characters before escaping
RAW_MARKERS = ("<!channel>", "<@U1>", "<http://evil", "|click>", "<!here>")


def customer_wire(**overrides: Any) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "userid": "3",
        "company": "Sample Company LTD",
        "vat": "123456789",
        "phonenumber": "+44 210 7298299",
        "website": "https://www.test.com",
        "address": "123 Road Street",
        "city": "London",
        "state": "Greater London",
        "zip": "WC1 ASW",
        "country": "235",
        "active": "1",
        "datecreated": "2019-04-02 13:38:28",
        "default_currency": "0",
        "leadid": None,
        "addedfrom": "1",
    }
    wire.update(overrides)
    return wire


def contact_wire(**overrides: Any) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "id": "5",
        "userid": "3",
        "is_primary": "1",
        "firstname": "Jane",
        "lastname": "Doe",
        "email": "jane@test.com",
        "phonenumber": "+44 1",
        "title": "CTO",
        "active": "1",
    }
    wire.update(overrides)
    return wire


def lead_wire(**overrides: Any) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "id": "9",
        "name": "Lead Name",
        "title": "",
        "company": "Lead Co",
        "description": "Met at the fair",
        "email": "lead@test.com",
        "phonenumber": "0123",
        "status": "1",
        "source": "2",
        "assigned": "4",
        "lead_value": "1234.5",
        "dateadded": "2019-09-30 10:00:00",
        "lastcontact": "2019-09-30 14:05:00",
        "lost": "0",
        "junk": "0",
        "client_id": "0",
        "date_converted": None,
    }
    wire.update(overrides)
    return wire


def project_wire(**overrides: Any) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "id": "12",
        "name": "Website redesign",
        "description": "<p>New <b>site</b></p>",
        "status": "2",
        "clientid": "3",
        "billing_type": "1",
        "start_date": "2019-09-01",
        "deadline": "2019-09-30",
        "project_created": "2019-08-30",
        "progress": "40",
        "progress_from_tasks": "1",
        "project_cost": "1500.005",
        "project_rate_per_hour": "0.00",
    }
    wire.update(overrides)
    return wire


def milestone_wire(**overrides: Any) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "id": "7",
        "name": "Design approved",
        "description": "Sign-off by the client",
        "description_visible_to_customer": "1",
        "due_date": "2019-09-30",
        "project_id": "12",
        "color": None,
        "milestone_order": "2",
        "datecreated": "2019-08-30",
        "total_tasks": "5",
        "total_finished_tasks": "3",
    }
    wire.update(overrides)
    return wire


def ticket_wire(**overrides: Any) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "ticketid": "42",
        "adminreplying": "0",
        "userid": "3",
        "contactid": "5",
        "email": "jane@test.com",
        "user_firstname": "Jane",
        "user_lastname": "Doe",
        "company": "Sample Company LTD",
        "from_name": None,
        "ticket_email": None,
        "department": "1",
        "priority": "2",
        "status": "1",
        "service": "1",
        "subject": "Printer on fire",
        "message": "<p>It is <b>on fire</b>.</p><p>Please help &amp; hurry</p>",
        "admin": "5",
        "date": "2019-04-10 03:08:21",
        "project_id": "5",
        "lastreply": "2019-04-11 09:30:00",
        "clientread": "0",
        "adminread": "1",
        "assigned": "5",
    }
    wire.update(overrides)
    return wire


def fill(wire: dict[str, Any], value: Any, keep: tuple[str, ...]) -> dict[str, Any]:
    """`wire` with every field but the `keep` ones (ids) set to `value`."""
    return {key: (old if key in keep else value) for key, old in wire.items()}


# Keys whose strings Slack never shows (button values come back to the bot as they are).
HIDDEN_KEYS = frozenset({"value", "action_id", "block_id", "url"})


def strings_in(data: Any) -> Iterator[str]:
    """Every string a reader can see in a to_dict() tree."""
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for key, value in data.items():
            if key not in HIDDEN_KEYS:
                yield from strings_in(value)
    elif isinstance(data, list):
        for item in data:
            yield from strings_in(item)


def mrkdwn_texts(data: Any) -> Iterator[str]:
    """The `text` of every mrkdwn text object in a to_dict() tree."""
    if isinstance(data, dict):
        if data.get("type") == "mrkdwn" and isinstance(data.get("text"), str):
            yield data["text"]
        for value in data.values():
            yield from mrkdwn_texts(value)
    elif isinstance(data, list):
        for item in data:
            yield from mrkdwn_texts(item)


def elements_of(blocks: list[dict[str, Any]], element_type: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for block in blocks:
        candidates = list(block.get("elements", []))
        if "accessory" in block:
            candidates.append(block["accessory"])
        found.extend(item for item in candidates if item.get("type") == element_type)
    return found


def buttons_of(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {button["action_id"]: button for button in elements_of(blocks, "button")}


def check_message(message: Message) -> list[dict[str, Any]]:
    """Asserts what every message must satisfy and returns its blocks as dicts.

    `to_dict()` checks most of Slack's limits; the ones slack_sdk leaves out (field and
    context texts) are checked here.
    """
    blocks = [block.to_dict() for block in message.blocks]
    assert 0 < len(blocks) <= 50
    # Everything the Slack stand-in (and so Slack) would refuse.
    assert message_problems({"blocks": blocks}) == []
    assert message.text.strip()
    everything = [message.text, *strings_in(blocks)]
    for text in everything:
        for marker in RAW_MARKERS:
            assert marker not in text, f"{marker!r} survived in {text[:200]!r}"
        assert not re.search(r"\bNone\b", text), f"'None' shown in {text[:200]!r}"
    for block in blocks:
        for element in [*block.get("elements", []), block.get("accessory", {})]:
            if element.get("type") in ("button", "overflow"):
                assert element["action_id"].startswith("pmp_")
                values = [element.get("value")] + [o["value"] for o in element.get("options", [])]
                for value in filter(None, values):
                    assert len(value) <= 2000
        for item in block.get("fields", []):
            assert len(item["text"]) <= 2000
            # A field is a bold label and a value; never a label alone.
            assert re.fullmatch(r"\*[^*\n]+\*\n\S.*", item["text"], re.DOTALL), item["text"]
        if block["type"] == "context":
            assert 1 <= len(block["elements"]) <= 10
            for element in block["elements"]:
                assert 0 < len(element["text"]) <= 2000
        if block["type"] == "section" and "text" in block:
            assert block["text"]["text"].strip()
    for text in mrkdwn_texts(blocks):
        # Every "&" is the start of an entity: nothing from PMP went in unescaped.
        assert not re.search(r"&(?!amp;|lt;|gt;)", text), text[:200]
    return blocks
