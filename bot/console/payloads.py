"""Slack request payloads, built and signed exactly as Slack sends them to an app.

Commands arrive form-encoded, interactions as a form with one JSON `payload` field, events as
JSON; every request carries `X-Slack-Request-Timestamp` and a v0 HMAC `X-Slack-Signature`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from bot.console.blockkit import JsonDict

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
JSON_CONTENT_TYPE = "application/json"
VERIFICATION_TOKEN = "standin-verification-token"


@dataclass(frozen=True)
class Actor:
    """Who is using Slack, where: the ids every payload repeats."""

    team_id: str
    team_domain: str
    user_id: str
    user_name: str
    channel_id: str
    channel_name: str
    api_app_id: str

    @property
    def user(self) -> JsonDict:
        return {
            "id": self.user_id,
            "username": self.user_name,
            "name": self.user_name,
            "team_id": self.team_id,
        }

    @property
    def team(self) -> JsonDict:
        return {"id": self.team_id, "domain": self.team_domain}

    @property
    def channel(self) -> JsonDict:
        return {"id": self.channel_id, "name": self.channel_name}


@dataclass(frozen=True)
class SignedRequest:
    body: str
    headers: dict[str, str]


def sign(
    body: str, signing_secret: str, content_type: str, *, timestamp: int | None = None
) -> SignedRequest:
    """Slack's v0 signature: HMAC-SHA256 over `v0:{timestamp}:{body}`."""
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=stamp, body=body)
    return SignedRequest(
        body=body,
        headers={
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature or "",
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        },
    )


def form_body(fields: Mapping[str, str]) -> str:
    return urlencode(dict(fields))


def interaction_body(payload: Mapping[str, Any]) -> str:
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))})


def event_body(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"))


def action_ts() -> str:
    return f"{time.time():.6f}"


def escape_text(text: str) -> str:
    """Slack escapes &, < and > in the text users type before sending it to apps."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ------------------------------------------------------------------ element state


def initial_entry(element: Mapping[str, Any]) -> JsonDict:
    """The `state.values` entry of an element before the user touches it."""
    element_type = str(element.get("type", ""))
    entry: JsonDict = {"type": element_type}
    if element_type in ("plain_text_input", "email_text_input", "url_text_input", "number_input"):
        entry["value"] = element.get("initial_value")
    elif element_type in ("static_select", "external_select", "radio_buttons"):
        entry["selected_option"] = element.get("initial_option")
    elif element_type in ("multi_static_select", "multi_external_select", "checkboxes"):
        entry["selected_options"] = list(element.get("initial_options") or [])
    elif element_type == "users_select":
        entry["selected_user"] = element.get("initial_user")
    elif element_type == "multi_users_select":
        entry["selected_users"] = list(element.get("initial_users") or [])
    elif element_type == "conversations_select":
        entry["selected_conversation"] = element.get("initial_conversation")
    elif element_type == "multi_conversations_select":
        entry["selected_conversations"] = list(element.get("initial_conversations") or [])
    elif element_type == "channels_select":
        entry["selected_channel"] = element.get("initial_channel")
    elif element_type == "multi_channels_select":
        entry["selected_channels"] = list(element.get("initial_channels") or [])
    elif element_type == "datepicker":
        entry["selected_date"] = element.get("initial_date")
    elif element_type == "timepicker":
        entry["selected_time"] = element.get("initial_time")
        if element.get("timezone"):
            entry["timezone"] = element["timezone"]
    elif element_type == "datetimepicker":
        entry["selected_date_time"] = element.get("initial_date_time")
    elif element_type == "rich_text_input":
        entry["rich_text_value"] = element.get("initial_value") or rich_text_value("")
    elif element_type == "file_input":
        entry["files"] = []
    return entry


def rich_text_value(text: str) -> JsonDict:
    """A rich_text_input value holding plain text."""
    elements: list[JsonDict] = [{"type": "text", "text": text}] if text else []
    return {
        "type": "rich_text",
        "elements": [{"type": "rich_text_section", "elements": elements}],
    }


def action_payload(
    element: Mapping[str, Any],
    block_id: str,
    *,
    entry: Mapping[str, Any] | None = None,
    option: Mapping[str, Any] | None = None,
    when: str | None = None,
) -> JsonDict:
    """One entry of `actions[]` in a block_actions payload.

    Buttons send their text and value, overflow menus the chosen `option`, every other element
    its state `entry` (`selected_option`, `selected_date`, `value`, ...).
    """
    element_type = str(element.get("type", ""))
    action: JsonDict = {"action_id": element.get("action_id", ""), "block_id": block_id}
    if element_type in ("button", "icon_button"):
        if element.get("text") is not None:
            action["text"] = element["text"]
        if element.get("value") is not None:
            action["value"] = element["value"]
        if element.get("style") is not None:
            action["style"] = element["style"]
    elif element_type == "overflow":
        action["selected_option"] = dict(option) if option is not None else None
    else:
        values = entry if entry is not None else initial_entry(element)
        action.update({k: v for k, v in values.items() if k != "type"})
        if element.get("placeholder") is not None:
            action["placeholder"] = element["placeholder"]
    action["type"] = element_type
    action["action_ts"] = when or action_ts()
    return action


def view_with_state(view: Mapping[str, Any], values: Mapping[str, Mapping[str, Any]]) -> JsonDict:
    """The view as Slack puts it in payloads: its definition plus what the user entered."""
    payload = dict(view)
    payload["state"] = {"values": {block: dict(entries) for block, entries in values.items()}}
    return payload


def message_container(channel_id: str, message_ts: str, *, is_ephemeral: bool) -> JsonDict:
    return {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": channel_id,
        "is_ephemeral": is_ephemeral,
    }


def view_container(view_id: str) -> JsonDict:
    return {"type": "view", "view_id": view_id}


# ------------------------------------------------------------------ payloads


def _interaction_base(kind: str, actor: Actor) -> JsonDict:
    return {
        "type": kind,
        "user": actor.user,
        "api_app_id": actor.api_app_id,
        "token": VERIFICATION_TOKEN,
    }


def slash_command_fields(
    actor: Actor, *, command: str, text: str, response_url: str, trigger_id: str
) -> dict[str, str]:
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": actor.team_id,
        "team_domain": actor.team_domain,
        "channel_id": actor.channel_id,
        "channel_name": actor.channel_name,
        "user_id": actor.user_id,
        "user_name": actor.user_name,
        "command": command,
        "text": escape_text(text),
        "api_app_id": actor.api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def block_actions_from_message(
    actor: Actor,
    *,
    action: JsonDict,
    message: Mapping[str, Any] | None,
    message_ts: str,
    is_ephemeral: bool,
    response_url: str,
    trigger_id: str,
    state_values: Mapping[str, Mapping[str, Any]] | None = None,
) -> JsonDict:
    """A press in a message. Slack leaves `message` out for ephemeral messages."""
    payload = _interaction_base("block_actions", actor)
    payload["container"] = message_container(
        actor.channel_id, message_ts, is_ephemeral=is_ephemeral
    )
    payload["trigger_id"] = trigger_id
    payload["team"] = actor.team
    payload["enterprise"] = None
    payload["is_enterprise_install"] = False
    payload["channel"] = actor.channel
    if message is not None and not is_ephemeral:
        payload["message"] = dict(message)
    payload["state"] = {"values": {k: dict(v) for k, v in (state_values or {}).items()}}
    payload["response_url"] = response_url
    payload["actions"] = [action]
    return payload


def block_actions_from_view(
    actor: Actor,
    *,
    action: JsonDict,
    view: Mapping[str, Any],
    trigger_id: str,
) -> JsonDict:
    """A press in a modal or on the Home tab (`view` already carries its state)."""
    payload = _interaction_base("block_actions", actor)
    payload["container"] = view_container(str(view.get("id", "")))
    payload["trigger_id"] = trigger_id
    payload["team"] = actor.team
    payload["enterprise"] = None
    payload["is_enterprise_install"] = False
    payload["view"] = dict(view)
    payload["actions"] = [action]
    return payload


def view_submission(actor: Actor, *, view: Mapping[str, Any], trigger_id: str) -> JsonDict:
    payload = _interaction_base("view_submission", actor)
    payload["team"] = actor.team
    payload["trigger_id"] = trigger_id
    payload["view"] = dict(view)
    payload["response_urls"] = []
    payload["enterprise"] = None
    payload["is_enterprise_install"] = False
    return payload


def view_closed(actor: Actor, *, view: Mapping[str, Any], is_cleared: bool) -> JsonDict:
    payload = _interaction_base("view_closed", actor)
    payload["team"] = actor.team
    payload["view"] = dict(view)
    payload["is_cleared"] = is_cleared
    payload["enterprise"] = None
    payload["is_enterprise_install"] = False
    return payload


def block_suggestion(
    actor: Actor,
    *,
    action_id: str,
    block_id: str,
    value: str,
    view: Mapping[str, Any] | None = None,
    message: Mapping[str, Any] | None = None,
    message_ts: str | None = None,
    is_ephemeral: bool = False,
) -> JsonDict:
    """An options load for an external select: the answer is the HTTP response body."""
    payload = _interaction_base("block_suggestion", actor)
    if view is not None:
        payload["container"] = view_container(str(view.get("id", "")))
    else:
        payload["container"] = message_container(
            actor.channel_id, message_ts or "", is_ephemeral=is_ephemeral
        )
        payload["channel"] = actor.channel
        if message is not None and not is_ephemeral:
            payload["message"] = dict(message)
    payload["action_id"] = action_id
    payload["block_id"] = block_id
    payload["value"] = value
    payload["team"] = actor.team
    payload["enterprise"] = None
    payload["is_enterprise_install"] = False
    if view is not None:
        payload["view"] = dict(view)
    return payload


def global_shortcut(actor: Actor, *, callback_id: str, trigger_id: str) -> JsonDict:
    return {
        "type": "shortcut",
        "token": VERIFICATION_TOKEN,
        "action_ts": action_ts(),
        "team": actor.team,
        "user": {"id": actor.user_id, "username": actor.user_name, "team_id": actor.team_id},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": trigger_id,
    }


def message_shortcut(
    actor: Actor,
    *,
    callback_id: str,
    trigger_id: str,
    message: Mapping[str, Any],
    response_url: str,
) -> JsonDict:
    return {
        "type": "message_action",
        "token": VERIFICATION_TOKEN,
        "action_ts": action_ts(),
        "team": actor.team,
        "user": {
            "id": actor.user_id,
            "username": actor.user_name,
            "name": actor.user_name,
            "team_id": actor.team_id,
        },
        "channel": actor.channel,
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": trigger_id,
        "message_ts": message.get("ts"),
        "message": dict(message),
        "response_url": response_url,
    }


def app_home_opened(
    actor: Actor,
    *,
    bot_user_id: str,
    dm_channel_id: str,
    view: Mapping[str, Any] | None,
    event_id: str,
) -> JsonDict:
    now = time.time()
    event: JsonDict = {
        "type": "app_home_opened",
        "user": actor.user_id,
        "channel": dm_channel_id,
        "tab": "home",
        "event_ts": f"{now:.6f}",
    }
    if view is not None:
        event["view"] = dict(view)
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": actor.team_id,
        "context_team_id": actor.team_id,
        "context_enterprise_id": None,
        "api_app_id": actor.api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(now),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": actor.team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }
