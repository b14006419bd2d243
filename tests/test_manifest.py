"""The Slack manifests: valid against Slack's schema, and in step with the handlers."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

import handlers

ROOT = Path(__file__).resolve().parent.parent
# Slack's manifest schema, kept in the repository with its MIT licence (tests/data/slack/).
SCHEMA = ROOT / "tests" / "data" / "slack" / "manifest.schema.1.0.0.json"
MANIFESTS = ["manifest.yml", "manifest.socket.yml"]


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


class RecordingApp:
    """Stands in for AsyncApp during registration and notes what each handler listens to."""

    def __init__(self) -> None:
        self.listeners: set[tuple[str, str]] = set()

    def _recorder(self, kind: str) -> Callable[..., Callable[[Any], Any]]:
        def register(constraint: Any = None, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
            if isinstance(constraint, dict):
                key = str(constraint.get("callback_id") or constraint.get("action_id") or "")
            else:
                key = str(getattr(constraint, "pattern", constraint))
            self.listeners.add((kind, key))
            return lambda func: func

        return register

    def __getattr__(self, name: str) -> Any:
        if name in {
            "command",
            "shortcut",
            "global_shortcut",
            "message_shortcut",
            "event",
            "action",
            "block_action",
            "view",
            "view_submission",
            "view_closed",
            "options",
            "block_suggestion",
        }:
            return self._recorder(name)
        raise AttributeError(name)


def registered() -> set[tuple[str, str]]:
    app = RecordingApp()
    handlers.register(app)  # type: ignore[arg-type]
    return app.listeners


@pytest.mark.parametrize("name", MANIFESTS)
def test_manifest_is_valid_against_slacks_schema(name: str) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validate(load(name), schema)


def test_schema_check_would_catch_a_broken_manifest() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    broken = load("manifest.yml")
    broken["features"]["slash_commands"][0]["command"] = "pmp"  # must start with "/"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


@pytest.mark.parametrize("name", MANIFESTS)
def test_every_manifest_entry_has_a_handler_and_every_handler_an_entry(name: str) -> None:
    manifest = load(name)
    listeners = registered()
    features = manifest["features"]
    commands = {c["command"] for c in features.get("slash_commands", [])}
    shortcuts = {s["callback_id"] for s in features.get("shortcuts", [])}
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])

    assert commands == {key for kind, key in listeners if kind == "command"}
    shortcut_kinds = {"shortcut", "global_shortcut", "message_shortcut"}
    assert shortcuts == {key for kind, key in listeners if kind in shortcut_kinds}
    # Slack sends team_access_revoked only to org-wide apps (org deploy stays off): it is
    # handled in case an org install slips through, but can't be subscribed here.
    org_only = {"team_access_revoked"}
    assert events == {key for kind, key in listeners if kind == "event"} - org_only

    interactive = {
        "action",
        "block_action",
        "view",
        "view_submission",
        "options",
        "block_suggestion",
    }
    if any(kind in interactive for kind, _ in listeners):
        assert manifest["settings"]["interactivity"]["is_enabled"] is True
    if manifest["settings"].get("socket_mode_enabled"):
        return
    url = "/slack/events"
    assert all(c["url"].endswith(url) for c in features["slash_commands"])
    assert manifest["settings"]["event_subscriptions"]["request_url"].endswith(url)
    assert manifest["settings"]["interactivity"]["request_url"].endswith(url)
    if any(kind in {"options", "block_suggestion"} for kind, _ in listeners):
        assert manifest["settings"]["interactivity"]["message_menu_options_url"].endswith(url)


def test_manifest_command_escapes_and_scopes_are_minimal() -> None:
    manifest = load("manifest.yml")
    command = manifest["features"]["slash_commands"][0]
    assert command["should_escape"] is True
    assert command["usage_hint"]
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "commands",
        "chat:write",
        "users:read",
        "users:read.email",
        "links:read",
        "links:write",
        "channels:history",
        "groups:history",
        "channels:join",
        "channels:read",
        "groups:read",
    }
    assert manifest["settings"]["token_rotation_enabled"] is True


@pytest.mark.parametrize("name", MANIFESTS)
def test_org_wide_deploy_stays_off(name: str) -> None:
    # pmp-bot is installed per workspace; org-wide installs are refused
    # (bot/slack/org_installs.py), so Slack must not offer them.
    assert load(name)["settings"]["org_deploy_enabled"] is False
