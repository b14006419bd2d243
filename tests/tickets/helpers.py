"""Views as Slack sends them back: a built modal with the user's answers in its state."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_sdk.models.views import View

from bot.console.payloads import initial_entry

JsonDict = dict[str, Any]


def typed(value: str | None) -> JsonDict:
    return {"value": value}


def picked(value: str, label: str = "") -> JsonDict:
    return {"selected_option": {"value": value, "text": {"type": "plain_text", "text": label}}}


def submitted(
    view: View | Mapping[str, Any],
    answers: Mapping[str, JsonDict] | None = None,
    *,
    view_id: str = "V0TICKET",
) -> JsonDict:
    """`view` with a `state` holding each input's initial value, overridden by `answers`
    (block id -> state entry without its type), and an id, as in a view_submission."""
    data = view.to_dict() if isinstance(view, View) else dict(view)
    state: dict[str, dict[str, JsonDict]] = {}
    elements: dict[str, Mapping[str, Any]] = {}
    for block in data.get("blocks", []):
        if block.get("type") != "input":
            continue
        element = block["element"]
        elements[block["block_id"]] = element
        state[block["block_id"]] = {element["action_id"]: initial_entry(element)}
    for block_id, entry in (answers or {}).items():
        element = elements[block_id]  # KeyError: the modal has no such input
        state[block_id] = {element["action_id"]: {"type": element["type"], **entry}}
    data["state"] = {"values": state}
    data.setdefault("id", view_id)
    return data


def input_block_ids(view: View | Mapping[str, Any]) -> list[str]:
    data = view.to_dict() if isinstance(view, View) else view
    return [b["block_id"] for b in data.get("blocks", []) if b.get("type") == "input"]


def element_of(view: View | Mapping[str, Any], block_id: str) -> Mapping[str, Any]:
    data = view.to_dict() if isinstance(view, View) else view
    for block in data.get("blocks", []):
        if block.get("block_id") == block_id:
            element: Mapping[str, Any] = block["element"]
            return element
    raise KeyError(block_id)


def shown_values(view: Mapping[str, Any]) -> dict[str, Any]:
    """Each input's value in a submitted view: typed text, or the chosen option's value."""
    values: dict[str, Any] = {}
    for block_id, entries in view["state"]["values"].items():
        for entry in entries.values():
            option = entry.get("selected_option")
            values[block_id] = option["value"] if option else entry.get("value")
    return values
