"""Plays Slack's part towards the bot: builds payloads as Slack sends them and signs them."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

from bot.console.slack_standin import RunningSlackStandin


@dataclass
class SlackSender:
    """Builds payloads in the shapes Slack sends: a workspace of an Enterprise Grid
    organisation (the stand-in's `enterprises`) names its enterprise in every payload, and
    `org_wide=True` gives the shapes of an org-wide install (`is_enterprise_install`,
    authorizations without a team)."""

    events_url: str
    signing_secret: str
    standin: RunningSlackStandin
    http: httpx.AsyncClient
    api_app_id: str = "A0PMPBOT"
    sent: list[str] = field(default_factory=list)
    org_wide: bool = False

    def _enterprise(self, team: str) -> dict[str, Any] | None:
        return self.standin.enterprise_of(team) if team in self.standin.team_ids() else None

    def _enterprise_fields(self, team: str) -> dict[str, Any]:
        """The keys interaction payloads carry about the install and its organisation."""
        return {"enterprise": self._enterprise(team), "is_enterprise_install": self.org_wide}

    def sign(self, body: str, timestamp: int | None = None) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        signature = SignatureVerifier(self.signing_secret).generate_signature(
            timestamp=ts, body=body
        )
        return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}

    async def post(
        self,
        body: str,
        content_type: str,
        *,
        headers: dict[str, str] | None = None,
        signed: bool = True,
    ) -> httpx.Response:
        all_headers = {"Content-Type": content_type}
        if signed:
            all_headers.update(self.sign(body))
        all_headers.update(headers or {})
        return await self.http.post(self.events_url, content=body, headers=all_headers)

    def command_body(
        self, text: str, *, team: str, user: str, channel: str = "", command: str = "/pmp"
    ) -> str:
        channel = channel or "C" + team[1:]
        fields = {
            "token": "legacy-verification-token",
            "team_id": team,
            "team_domain": team.lower(),
            "channel_id": channel,
            "channel_name": "general",
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "true" if self.org_wide else "false",
            "response_url": self.standin.new_response_url(team, channel, user),
            "trigger_id": self.standin.new_trigger_id(team, user),
        }
        enterprise = self._enterprise(team)
        if enterprise is not None:
            fields.update(enterprise_id=enterprise["id"], enterprise_name=enterprise["name"])
        return urlencode(fields)

    async def command(
        self, text: str, *, team: str, user: str, channel: str = ""
    ) -> httpx.Response:
        body = self.command_body(text, team=team, user=user, channel=channel)
        return await self.post(body, "application/x-www-form-urlencoded")

    async def interaction(self, payload: dict[str, Any]) -> httpx.Response:
        body = urlencode({"payload": json.dumps(payload)})
        return await self.post(body, "application/x-www-form-urlencoded")

    def event_envelope(self, event: dict[str, Any], *, team: str) -> dict[str, Any]:
        enterprise = self._enterprise(team)
        enterprise_id = enterprise["id"] if enterprise else None
        envelope: dict[str, Any] = {
            "token": "legacy-verification-token",
            "team_id": team,
            "api_app_id": self.api_app_id,
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{int(time.time() * 1000)}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": enterprise_id,
                    # An org-wide install's authorization names no workspace.
                    "team_id": None if self.org_wide else team,
                    "user_id": "UBOT",
                    "is_bot": True,
                    "is_enterprise_install": self.org_wide,
                }
            ],
            "is_ext_shared_channel": False,
        }
        if enterprise_id is not None:
            envelope["enterprise_id"] = enterprise_id
        return envelope

    async def event(self, event: dict[str, Any], *, team: str) -> httpx.Response:
        body = json.dumps(self.event_envelope(event, team=team))
        return await self.post(body, "application/json")

    def block_actions(
        self,
        *,
        team: str,
        user: str,
        action: dict[str, Any],
        channel: str = "",
        message: dict[str, Any] | None = None,
        view: dict[str, Any] | None = None,
        message_ts: str | None = None,
        is_ephemeral: bool = True,
    ) -> dict[str, Any]:
        """A press in a view, or in a message: `message_ts` names the stand-in's message (its
        response_url then replaces that one); Slack sends the message itself only when it is
        not ephemeral."""
        channel = channel or "C" + team[1:]
        payload: dict[str, Any] = {
            "type": "block_actions",
            "team": {"id": team, "domain": team.lower()},
            "user": {"id": user, "team_id": team, "username": user.lower()},
            "api_app_id": self.api_app_id,
            "trigger_id": self.standin.new_trigger_id(team, user),
            "actions": [{"action_ts": str(time.time()), **action}],
            **self._enterprise_fields(team),
        }
        if view is not None:
            payload["container"] = {"type": "view", "view_id": view.get("id", "")}
            payload["view"] = view
        else:
            payload["container"] = {
                "type": "message",
                "channel_id": channel,
                "is_ephemeral": is_ephemeral,
            }
            if message_ts is not None:
                payload["container"]["message_ts"] = message_ts
                if not is_ephemeral:
                    message = message or self.standin.message_payload(channel, message_ts)
            payload["channel"] = {"id": channel, "name": "general"}
            payload["response_url"] = self.standin.new_response_url(
                team, channel, user, message_ts=message_ts
            )
            payload["message"] = message or {"type": "message", "text": "", "blocks": []}
        return payload

    def view_submission(
        self, *, team: str, user: str, view: dict[str, Any], values: dict[str, Any]
    ) -> dict[str, Any]:
        submitted = dict(view)
        submitted.setdefault("id", "V0TEST")
        submitted["state"] = {"values": values}
        return {
            "type": "view_submission",
            "team": {"id": team, "domain": team.lower()},
            "user": {"id": user, "team_id": team, "username": user.lower()},
            "api_app_id": self.api_app_id,
            "trigger_id": self.standin.new_trigger_id(team, user),
            "view": submitted,
            "response_urls": [],
            **self._enterprise_fields(team),
        }
