"""A local stand-in for Slack's Web API, so the real app can run without a Slack workspace.

`running_slack_standin()` serves it on 127.0.0.1 (a free port, background thread). Point the
app's `AsyncWebClient(base_url=slack.api_url)` at it: it answers the Web API methods pmp-bot
uses the way Slack does (including Slack's errors and limits), records every call, serves
`response_url`s, keeps modal stacks and Home tabs, and can be told to fail on purpose.

The console shell plays the Slack client against it: it mints trigger ids and response URLs
for the payloads it sends and applies what Slack itself does with view responses
(`replace_view`, `push_view`, `close_view`, `clear_views`).
"""

from __future__ import annotations

import asyncio
import base64
import copy
import itertools
import json
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.console.blockkit import (
    MESSAGE_TEXT_MAX,
    JsonDict,
    decode_json_field,
    message_problems,
    view_problems,
    with_generated_ids,
)

DEFAULT_TEAM_ID = "T0001"
DEFAULT_BOT_TOKEN = "xoxb-standin-T0001"
DEFAULT_USER_ID = "U0001"
DEFAULT_CHANNEL_ID = "C0001"
DEFAULT_APP_ID = "A0PMPBOT01"
DEFAULT_CLIENT_ID = "1000.2000"
DEFAULT_CLIENT_SECRET = "standin-client-secret"
# The bot scopes manifest.yml grants (a test keeps the two equal): a method needing any other
# scope answers `missing_scope`, as Slack does for an app installed from that manifest.
DEFAULT_BOT_SCOPES = (
    "commands,chat:write,users:read,users:read.email,links:read,links:write,"
    "channels:history,groups:history,channels:join,channels:read,groups:read"
)

TRIGGER_TTL_SECONDS = 3.0
RESPONSE_URL_MAX_POSTS = 5
RESPONSE_URL_TTL_SECONDS = 30 * 60
MODAL_STACK_MAX = 3
ROTATED_TOKEN_LIFETIME = 12 * 60 * 60

# Keys Slack accepts as JSON text in form-encoded calls.
_JSON_PARAMS = ("blocks", "attachments", "view", "metadata", "profile")
# Never kept in recorded params: they belong in no log or test output.
_SECRET_PARAMS = ("token", "client_secret", "refresh_token", "code")

# The bot scopes each method needs (any one of them), from the methods' pages on api.slack.com.
# Methods not listed need none (auth.test, views.*, chat.getPermalink, oauth.v2.access).
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "chat.postMessage": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.delete": ("chat:write",),
    "chat.unfurl": ("links:write",),
    "users.info": ("users:read",),
    "team.info": ("team:read",),
    "conversations.join": ("channels:join",),
    "conversations.open": ("im:write", "mpim:write", "channels:manage", "groups:write"),
}
# conversations.history and .replies need the history scope of the kind of conversation.
_CONVERSATION_HISTORY_SCOPES = {
    "public": "channels:history",
    "private": "groups:history",
    "im": "im:history",
}
# conversations.info needs the read scope of the kind of conversation asked about.
_CONVERSATION_READ_SCOPES = {"public": "channels:read", "private": "groups:read", "im": "im:read"}


def _email_if_granted(user: JsonDict, token: _Token) -> JsonDict:
    """A user as users.info shows them: Slack leaves `profile.email` out unless the token
    has `users:read.email` (tokens set up without scopes by tests see everything)."""
    if token.scopes is not None and "users:read.email" not in token.scopes:
        user["profile"].pop("email", None)
    return user


class StandinError(Exception):
    """A Slack error the stand-in answered with (`error` is Slack's error code)."""

    def __init__(
        self,
        error: str,
        *,
        status: int = 200,
        messages: Iterable[str] = (),
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.error = error
        self.status = status
        self.messages = list(messages)
        # Further top-level keys of the answer (`needed` and `provided` of missing_scope).
        self.extra = dict(extra or {})
        super().__init__(error if not self.messages else f"{error}: {'; '.join(self.messages)}")

    def body(self) -> JsonDict:
        body: JsonDict = {"ok": False, "error": self.error, **self.extra}
        if self.messages:
            body["response_metadata"] = {"messages": self.messages}
        return body


@dataclass(frozen=True)
class MessageEffect:
    """What a `response_url` post did to the conversation."""

    action: Literal["posted", "replaced", "deleted", "nothing"]
    channel_id: str
    ts: str | None
    ephemeral_for: str | None


@dataclass(frozen=True)
class RecordedCall:
    """One request the app made to the stand-in."""

    method: str
    params: dict[str, Any]
    token: str | None = field(repr=False)
    team_id: str | None
    at: float
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)
    effect: MessageEffect | None = None
    # Credentials the call carried (client_secret, code, refresh_token): kept out of repr.
    sensitive_params: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.response.get("ok") is True

    @property
    def error(self) -> str | None:
        error = self.response.get("error")
        return error if isinstance(error, str) else None


@dataclass
class StandinUser:
    id: str
    team_id: str
    name: str
    real_name: str = ""
    is_admin: bool = False
    is_owner: bool = False
    is_primary_owner: bool = False
    is_bot: bool = False
    tz: str = "Europe/London"
    email: str = ""

    def to_slack(self) -> JsonDict:
        real_name = self.real_name or self.name
        tz_offset, tz_label = _tz_details(self.tz)
        profile: JsonDict = {
            "title": "",
            "phone": "",
            "real_name": real_name,
            "real_name_normalized": real_name,
            "display_name": self.name,
            "display_name_normalized": self.name,
            "status_text": "",
            "status_emoji": "",
            "avatar_hash": "g" + self.id.lower()[-8:],
            "image_48": f"https://avatars.example.invalid/{self.id}_48.png",
            "image_72": f"https://avatars.example.invalid/{self.id}_72.png",
            "team": self.team_id,
        }
        if self.email:
            profile["email"] = self.email
        return {
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name,
            "deleted": False,
            "color": "9f69e7",
            "real_name": real_name,
            "tz": self.tz,
            "tz_label": tz_label,
            "tz_offset": tz_offset,
            "profile": profile,
            "is_admin": self.is_admin,
            "is_owner": self.is_owner,
            "is_primary_owner": self.is_primary_owner,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "updated": 1_700_000_000,
        }


@dataclass
class StandinChannel:
    id: str
    team_id: str
    name: str
    is_private: bool = False
    bot_is_member: bool = True
    dm_user: str | None = None
    # Archived (`archive_channel`): readable, but nothing can be posted to it.
    is_archived: bool = False
    # A Slack Connect channel (shared with another organisation): `connect_channel`.
    is_ext_shared: bool = False
    # People in the channel besides the bot (`add_channel_members`); #general has everyone.
    members: list[str] = field(default_factory=list)

    def to_slack(self) -> JsonDict:
        if self.dm_user is not None:
            return {
                "id": self.id,
                "is_im": True,
                "is_org_shared": False,
                "user": self.dm_user,
                "created": 1_700_000_000,
                "is_user_deleted": False,
            }
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not self.is_private,
            "is_group": self.is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "is_general": self.name == "general",
            "is_shared": self.is_ext_shared,
            "is_ext_shared": self.is_ext_shared,
            "is_org_shared": False,
            "is_member": self.bot_is_member,
            "created": 1_700_000_000,
            "creator": "",
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }


@dataclass
class StoredMessage:
    """A message as the stand-in keeps it (channel messages and ephemeral ones)."""

    team_id: str
    channel_id: str
    ts: str
    text: str
    blocks: list[JsonDict]
    attachments: list[JsonDict]
    user_id: str
    bot_id: str | None
    ephemeral_for: str | None = None
    thread_ts: str | None = None
    deleted: bool = False
    edited: bool = False
    # Message metadata (event_type, event_payload), shown with include_all_metadata.
    metadata: JsonDict | None = None
    reply_broadcast: bool = False

    def to_slack(self, app_id: str) -> JsonDict:
        message: JsonDict = {"type": "message", "text": self.text, "user": self.user_id}
        if self.bot_id is not None:
            message["bot_id"] = self.bot_id
            message["app_id"] = app_id
        message["ts"] = self.ts
        message["team"] = self.team_id
        if self.blocks:
            message["blocks"] = copy.deepcopy(self.blocks)
        if self.attachments:
            message["attachments"] = copy.deepcopy(self.attachments)
        if self.thread_ts is not None:
            message["thread_ts"] = self.thread_ts
        if self.edited:
            message["edited"] = {"user": self.user_id, "ts": self.ts}
        return message


@dataclass
class _Team:
    id: str
    name: str
    domain: str
    bot_user_id: str
    bot_id: str
    users: dict[str, StandinUser] = field(default_factory=dict)
    channels: dict[str, StandinChannel] = field(default_factory=dict)
    # Set for a workspace of an Enterprise Grid organisation.
    enterprise_id: str | None = None
    enterprise_name: str | None = None


@dataclass
class _Token:
    team_id: str
    kind: Literal["bot", "user"]
    user_id: str
    revoked: bool = False
    expired: bool = False
    # What the install granted; None leaves scopes unchecked (user tokens set up by tests).
    scopes: tuple[str, ...] | None = None
    # An org-wide install's token: it acts for every workspace of the enterprise.
    org_wide: bool = False


@dataclass
class _Trigger:
    team_id: str
    user_id: str
    minted_at: float
    used: bool = False


@dataclass
class _ResponseUrl:
    team_id: str
    channel_id: str
    user_id: str
    created_at: float
    original_ts: str | None
    posts: int = 0


@dataclass
class _OAuthCode:
    team_id: str
    user_id: str
    scope: str
    token_rotation: bool
    response: JsonDict | None
    org_wide: bool = False
    used: bool = False


@dataclass(frozen=True)
class _Grant:
    """What a refresh token renews: the install's workspace, scopes and kind."""

    team_id: str
    scopes: tuple[str, ...]
    org_wide: bool


@dataclass
class _SharedLinks:
    """Links of one message (or one composer draft) Slack told the app about, by unfurl id,
    and the previews the app attached to them (`chat.unfurl`)."""

    team_id: str
    channel_id: str
    ts: str
    source: str
    urls: tuple[str, ...]
    unfurls: dict[str, JsonDict] = field(default_factory=dict)


@dataclass
class _Fault:
    method: str
    status: int
    retry_after: int
    error: str | None
    remaining: int


@dataclass
class _Request:
    method: str
    params: JsonDict
    token: str | None
    basic_auth: tuple[str, str] | None


# Links in what a user types: Slack's `<url|label>` / `<url>` markup, or a bare address.
_LINK = re.compile(r"<(https?://[^|>\s]+)(?:\|[^>]*)?>|(https?://[^\s<>]+)")
# The channel of a link_shared event for a link typed in the message composer.
COMPOSER_CHANNEL = "COMPOSER"


def _tz_details(tz: str) -> tuple[int, str]:
    try:
        now = datetime.now(ZoneInfo(tz))
    except (ZoneInfoNotFoundError, ValueError):
        return 0, "UTC"
    offset = now.utcoffset()
    return (int(offset.total_seconds()) if offset else 0), (now.tzname() or tz)


def _ts_key(ts: str) -> tuple[int, int]:
    seconds, _, fraction = ts.partition(".")
    return int(seconds), int(fraction or 0)


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-") or "workspace"


class RunningSlackStandin:
    """The state and behaviour of the Slack stand-in (see the module docstring)."""

    def __init__(
        self,
        *,
        root_url: str,
        app_id: str = DEFAULT_APP_ID,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        trigger_ttl: float = TRIGGER_TTL_SECONDS,
        chat_write_public: bool = False,
        latency: float = 0.0,
    ) -> None:
        self.root_url = root_url.rstrip("/")
        self.api_url = f"{self.root_url}/api/"
        self.app_id = app_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.trigger_ttl = trigger_ttl
        # Like the chat:write.public scope: post to public channels without joining them.
        self.chat_write_public = chat_write_public
        self.latency = latency
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._teams: dict[str, _Team] = {}
        self._tokens: dict[str, _Token] = {}
        self._refresh_tokens: dict[str, _Grant] = {}
        self._oauth_codes: dict[str, _OAuthCode] = {}
        self._calls: list[RecordedCall] = []
        self._in_flight = 0
        self._faults: list[_Fault] = []
        self._messages: dict[tuple[str, str], StoredMessage] = {}
        self._triggers: dict[str, _Trigger] = {}
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._views: dict[str, JsonDict] = {}
        self._closed_views: set[str] = set()
        self._modal_stacks: dict[tuple[str, str], list[str]] = {}
        self._home_views: dict[tuple[str, str], str] = {}
        self._counter = itertools.count(1)
        # Link previews: the app's unfurl domains, and the links shared with it per message.
        self._unfurl_domains: tuple[str, ...] = ()
        self._shared_links: dict[str, _SharedLinks] = {}
        self._methods: dict[str, Callable[[_Request], JsonDict]] = {
            "api.test": self._api_test,
            "auth.test": self._auth_test,
            "auth.revoke": self._auth_revoke,
            "users.info": self._users_info,
            "team.info": self._team_info,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "chat.unfurl": self._chat_unfurl,
            "conversations.info": self._conversations_info,
            "conversations.members": self._conversations_members,
            "conversations.list": self._conversations_list,
            "conversations.join": self._conversations_join,
            "conversations.open": self._conversations_open,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "oauth.v2.access": self._oauth_v2_access,
        }
        self.asgi_app = Starlette(
            routes=[
                Route("/api/{method}", self._api_endpoint, methods=["GET", "POST"]),
                Route("/actions/{team_id}/{key}", self._response_url_endpoint, methods=["POST"]),
            ]
        )

    def __repr__(self) -> str:
        return f"RunningSlackStandin(api_url={self.api_url!r})"

    # ------------------------------------------------------------------ workspace set-up

    def add_team(
        self,
        team_id: str,
        bot_token: str,
        name: str | None = None,
        *,
        scopes: str = DEFAULT_BOT_SCOPES,
        enterprise_id: str | None = None,
        enterprise_name: str | None = None,
    ) -> None:
        """Add a workspace with the app installed (or another valid bot token for it).

        `scopes` are what the token was granted (comma-separated); `enterprise_id` makes the
        workspace part of an Enterprise Grid organisation.
        """
        with self._lock:
            team = self._teams.get(team_id)
            if team is None:
                suffix = team_id[1:] or team_id
                team_name = name or f"Workspace {team_id}"
                team = _Team(
                    id=team_id,
                    name=team_name,
                    domain=_slug(team_name),
                    bot_user_id=f"UBOT{suffix}",
                    bot_id=f"BBOT{suffix}",
                )
                team.users[team.bot_user_id] = StandinUser(
                    id=team.bot_user_id, team_id=team_id, name="pmp-bot", is_bot=True
                )
                self._teams[team_id] = team
            elif name:
                team.name = name
            if enterprise_id:
                team.enterprise_id = enterprise_id
                team.enterprise_name = enterprise_name or f"Organisation {enterprise_id}"
            self._tokens[bot_token] = _Token(
                team_id=team_id,
                kind="bot",
                user_id=team.bot_user_id,
                scopes=_scope_list(scopes),
            )

    def enterprise_of(self, team_id: str) -> JsonDict | None:
        """`{"id", "name"}` of the Enterprise Grid organisation a workspace belongs to, as
        Slack puts it in payloads; None for a stand-alone workspace."""
        with self._lock:
            team = self._team(team_id)
            if team.enterprise_id is None:
                return None
            return {"id": team.enterprise_id, "name": team.enterprise_name}

    def add_user(
        self,
        team_id: str,
        user_id: str,
        name: str,
        *,
        real_name: str = "",
        is_admin: bool = False,
        is_owner: bool = False,
        is_primary_owner: bool = False,
        tz: str = "Europe/London",
        email: str = "",
    ) -> StandinUser:
        """Add (or replace) a person; like Slack, owners are admins too."""
        with self._lock:
            team = self._team(team_id)
            user = StandinUser(
                id=user_id,
                team_id=team_id,
                name=name,
                real_name=real_name,
                is_admin=is_admin or is_owner or is_primary_owner,
                is_owner=is_owner or is_primary_owner,
                is_primary_owner=is_primary_owner,
                tz=tz,
                email=email,
            )
            team.users[user_id] = user
            return copy.copy(user)

    def add_channel(
        self,
        team_id: str,
        channel_id: str,
        name: str,
        *,
        bot_is_member: bool = True,
        is_private: bool = False,
    ) -> StandinChannel:
        with self._lock:
            channel = StandinChannel(
                id=channel_id,
                team_id=team_id,
                name=name.lstrip("#"),
                is_private=is_private,
                bot_is_member=bot_is_member,
            )
            self._team(team_id).channels[channel_id] = channel
            return copy.copy(channel)

    def add_channel_members(self, team_id: str, channel_id: str, *user_ids: str) -> None:
        """Puts people in a channel (conversations.members lists them)."""
        with self._lock:
            channel = self._team(team_id).channels[channel_id]
            channel.members += [u for u in user_ids if u not in channel.members]

    def add_user_token(self, team_id: str, user_id: str, token: str) -> None:
        with self._lock:
            self._team(team_id)
            self._tokens[token] = _Token(team_id=team_id, kind="user", user_id=user_id)

    def expire_token(self, token: str) -> None:
        """Make a token answer `token_expired` (as a rotated token does after 12 hours)."""
        with self._lock:
            self._tokens[token].expired = True

    # ------------------------------------------------------------------ lookups

    def team_ids(self) -> list[str]:
        with self._lock:
            return list(self._teams)

    def team_info(self, team_id: str) -> JsonDict:
        with self._lock:
            team = self._team(team_id)
            return {
                "id": team.id,
                "name": team.name,
                "domain": team.domain,
                "bot_user_id": team.bot_user_id,
                "bot_id": team.bot_id,
                "enterprise_id": team.enterprise_id,
            }

    def user(self, team_id: str, user_id: str) -> StandinUser | None:
        with self._lock:
            team = self._teams.get(team_id)
            user = team.users.get(user_id) if team else None
            return copy.copy(user) if user else None

    def users(self, team_id: str) -> list[StandinUser]:
        with self._lock:
            return [copy.copy(u) for u in self._team(team_id).users.values() if not u.is_bot]

    def channel(self, team_id: str, channel_id: str) -> StandinChannel | None:
        with self._lock:
            team = self._teams.get(team_id)
            if team is None:
                return None
            found = team.channels.get(channel_id) or self._dm_for_id(team, channel_id)
            return copy.copy(found) if found else None

    def channels(self, team_id: str) -> list[StandinChannel]:
        with self._lock:
            team = self._team(team_id)
            return [copy.copy(c) for c in team.channels.values() if c.dm_user is None]

    def user_names(self, team_id: str) -> dict[str, str]:
        with self._lock:
            team = self._teams.get(team_id)
            return {u.id: u.name for u in team.users.values()} if team else {}

    def channel_names(self, team_id: str) -> dict[str, str]:
        with self._lock:
            team = self._teams.get(team_id)
            if team is None:
                return {}
            return {c.id: c.name for c in team.channels.values() if c.dm_user is None}

    def message(self, channel_id: str, ts: str) -> StoredMessage | None:
        with self._lock:
            found = self._messages.get((channel_id, ts))
            return copy.deepcopy(found) if found else None

    def find_message(self, ts: str) -> StoredMessage | None:
        """A message by its ts alone (the stand-in never gives two messages the same ts)."""
        with self._lock:
            for (_, message_ts), message in self._messages.items():
                if message_ts == ts:
                    return copy.deepcopy(message)
            return None

    def message_payload(self, channel_id: str, ts: str) -> JsonDict | None:
        """The message as Slack puts it in interaction payloads."""
        with self._lock:
            found = self._messages.get((channel_id, ts))
            return found.to_slack(self.app_id) if found else None

    # ------------------------------------------------------------------ recorded calls

    @property
    def calls(self) -> list[RecordedCall]:
        with self._lock:
            return list(self._calls)

    @property
    def requests_in_flight(self) -> int:
        """Requests received and not yet answered (the latency is still running)."""
        with self._lock:
            return self._in_flight

    def calls_to(self, method: str) -> list[RecordedCall]:
        with self._lock:
            return [c for c in self._calls if c.method == method]

    def _find_call(
        self, method: str, predicate: Callable[[RecordedCall], bool] | None, since: int
    ) -> RecordedCall | None:
        for call in self._calls[since:]:
            if call.method == method and (predicate is None or predicate(call)):
                return call
        return None

    def _timeout(self, method: str, timeout: float) -> TimeoutError:
        seen = sorted({c.method for c in self._calls})
        return TimeoutError(f"no {method} call within {timeout} s (calls so far: {seen})")

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[RecordedCall], bool] | None = None,
        timeout: float = 5.0,
        *,
        since: int = 0,
    ) -> RecordedCall:
        """The first recorded call to `method` (from index `since`) matching `predicate`."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                found = self._find_call(method, predicate, since)
                if found is not None:
                    return found
                if time.monotonic() >= deadline:
                    raise self._timeout(method, timeout)
            await asyncio.sleep(0.01)

    def wait_for_sync(
        self,
        method: str,
        predicate: Callable[[RecordedCall], bool] | None = None,
        timeout: float = 5.0,
        *,
        since: int = 0,
    ) -> RecordedCall:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = self._find_call(method, predicate, since)
                if found is not None:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._timeout(method, timeout)
                self._changed.wait(remaining)

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int = 1,
        error: str | None = None,
        count: int = 1,
    ) -> None:
        """Answer the next `count` calls to `method` with a fault.

        `error="not_in_channel"` answers HTTP 200 with ok:false; otherwise `status` 429 answers
        `ratelimited` with `Retry-After: retry_after`, and a 5xx status answers a server error.
        `method` may be "response_url" to fail posts to response URLs.
        """
        if error is None and status != 429 and status < 500:
            raise ValueError("fail_next needs an error code, status 429 or a 5xx status")
        with self._lock:
            self._faults.append(
                _Fault(
                    method=method,
                    status=status,
                    retry_after=retry_after,
                    error=error,
                    remaining=count,
                )
            )

    def _take_fault(self, method: str) -> _Fault | None:
        for fault in self._faults:
            if fault.method == method and fault.remaining > 0:
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                return fault
        return None

    # ------------------------------------------------------------------ minting

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._counter):06d}"

    def new_trigger_id(self, team_id: str | None = None, user_id: str | None = None) -> str:
        """A trigger id as Slack puts in interaction payloads: valid once, for a few seconds."""
        with self._lock:
            team = team_id or next(iter(self._teams), DEFAULT_TEAM_ID)
            trigger_id = f"{int(time.time())}.{next(self._counter)}.{secrets.token_hex(16)}"
            self._triggers[trigger_id] = _Trigger(
                team_id=team, user_id=user_id or DEFAULT_USER_ID, minted_at=time.monotonic()
            )
            return trigger_id

    def new_response_url(
        self, team_id: str, channel_id: str, user_id: str, *, message_ts: str | None = None
    ) -> str:
        """A response URL for one interaction; `message_ts` is the message it came from."""
        with self._lock:
            key = secrets.token_urlsafe(12)
            self._response_urls[key] = _ResponseUrl(
                team_id=team_id,
                channel_id=channel_id,
                user_id=user_id,
                created_at=time.monotonic(),
                original_ts=message_ts,
            )
            return f"{self.root_url}/actions/{team_id}/{key}"

    def set_original_message(self, response_url: str, ts: str) -> None:
        """Tie a response URL to a message (the message a slash command's ack posted)."""
        with self._lock:
            record = self._response_urls.get(response_url.rsplit("/", 1)[-1])
            if record is not None:
                record.original_ts = ts

    def new_oauth_code(
        self,
        team_id: str,
        *,
        user_id: str | None = None,
        scope: str = DEFAULT_BOT_SCOPES,
        token_rotation: bool = False,
        response: Mapping[str, Any] | None = None,
        org_wide: bool = False,
    ) -> str:
        """A code for `oauth.v2.access`; `response` replaces the install answer entirely.

        `org_wide=True` is an org admin installing the app on the whole Enterprise Grid
        organisation of `team_id`: Slack then answers `team: null` and
        `is_enterprise_install: true`.
        """
        with self._lock:
            team = self._team(team_id)
            if org_wide and team.enterprise_id is None:
                raise ValueError(f"{team_id} belongs to no enterprise: no org-wide install")
            installer = user_id or next(
                (u.id for u in team.users.values() if not u.is_bot), DEFAULT_USER_ID
            )
            code = f"{next(self._counter)}.{secrets.token_hex(8)}"
            self._oauth_codes[code] = _OAuthCode(
                team_id=team_id,
                user_id=installer,
                scope=scope,
                token_rotation=token_rotation,
                response=dict(response) if response is not None else None,
                org_wide=org_wide,
            )
            return code

    def add_message(
        self,
        team_id: str,
        channel_id: str,
        *,
        text: str,
        blocks: list[JsonDict] | None = None,
        attachments: list[JsonDict] | None = None,
        user_id: str | None = None,
        ephemeral_for: str | None = None,
    ) -> StoredMessage:
        """Put a message in a channel as Slack would: from a user, or (no user_id) from the app."""
        with self._lock:
            team = self._team(team_id)
            message = StoredMessage(
                team_id=team_id,
                channel_id=channel_id,
                ts=self._next_ts(),
                text=text,
                blocks=with_generated_ids(blocks or []),
                attachments=list(attachments or []),
                user_id=user_id or team.bot_user_id,
                bot_id=None if user_id else team.bot_id,
                ephemeral_for=ephemeral_for,
            )
            self._messages[(channel_id, message.ts)] = message
            return copy.deepcopy(message)

    # ------------------------------------------------------------------ link previews

    def set_unfurl_domains(self, *domains: str) -> None:
        """The manifest's `unfurl_domains`: links to these domains (or their subdomains) are
        shared with the app (`share_link`)."""
        with self._lock:
            self._unfurl_domains = tuple(domain.lower().strip(".") for domain in domains)

    def connect_channel(self, team_id: str, channel_id: str) -> None:
        """Makes the channel a Slack Connect channel (shared with another organisation)."""
        with self._lock:
            self._team(team_id).channels[channel_id].is_ext_shared = True

    def _unfurl_domain(self, url: str) -> str | None:
        host = (urlsplit(url).hostname or "").lower()
        for domain in self._unfurl_domains:
            if host == domain or host.endswith("." + domain):
                return domain
        return None

    def share_link(
        self,
        team_id: str,
        user_id: str,
        text: str,
        *,
        channel_id: str | None = None,
        composer: bool = False,
        thread_ts: str | None = None,
    ) -> JsonDict | None:
        """A user posts `text` in the channel (`composer`: types it in the composer), as Slack
        would: the `link_shared` event callback Slack sends the app for the links to its
        unfurl domains, or None when the text has none. Sign it and post it to the app."""
        with self._lock:
            team = self._team(team_id)
            channel = self._resolve_channel(team, channel_id or f"C{team_id[1:]}")
            urls: list[str] = []
            for found in _LINK.finditer(text):
                url = found.group(1) or found.group(2)
                if url not in urls:
                    urls.append(url)
            links = [
                {"domain": domain, "url": url}
                for url in urls
                if (domain := self._unfurl_domain(url)) is not None
            ]
            if composer:
                unfurl_id = f"{user_id}-{secrets.token_hex(16)}"
                where, ts = COMPOSER_CHANNEL, unfurl_id
            else:
                message = StoredMessage(
                    team_id=team_id,
                    channel_id=channel.id,
                    ts=self._next_ts(),
                    text=text,
                    blocks=[],
                    attachments=[],
                    user_id=user_id,
                    bot_id=None,
                    thread_ts=thread_ts,
                )
                self._messages[(channel.id, message.ts)] = message
                where, ts = channel.id, message.ts
                unfurl_id = f"{channel.id}.{ts}.{secrets.token_hex(16)}"
            if not links:
                return None
            self._shared_links[unfurl_id] = _SharedLinks(
                team_id=team_id,
                channel_id=where,
                ts=ts,
                source="composer" if composer else "conversations_history",
                urls=tuple(link["url"] for link in links),
            )
            now = time.time()
            event: JsonDict = {
                "type": "link_shared",
                "channel": where,
                "is_bot_user_member": channel.bot_is_member,
                "user": user_id,
                "message_ts": ts,
                "unfurl_id": unfurl_id,
                "source": "composer" if composer else "conversations_history",
                "links": links,
                "event_ts": f"{now:.6f}",
            }
            if thread_ts is not None and not composer:
                event["thread_ts"] = thread_ts
            envelope: JsonDict = {
                "token": "legacy-verification-token",
                "team_id": team_id,
                "api_app_id": self.app_id,
                "event": event,
                "type": "event_callback",
                "event_id": f"Ev{next(self._counter):08d}",
                "event_time": int(now),
                "authorizations": [
                    {
                        "enterprise_id": team.enterprise_id,
                        "team_id": team_id,
                        "user_id": team.bot_user_id,
                        "is_bot": True,
                        "is_enterprise_install": False,
                    }
                ],
                "is_ext_shared_channel": channel.is_ext_shared and not composer,
                "event_context": secrets.token_hex(8),
            }
            if team.enterprise_id is not None:
                envelope["enterprise_id"] = team.enterprise_id
            return envelope

    def unfurls(self, unfurl_id: str) -> dict[str, JsonDict]:
        """The previews the app attached to the links of a `share_link` event, by URL."""
        with self._lock:
            shared = self._shared_links.get(unfurl_id)
            return copy.deepcopy(shared.unfurls) if shared is not None else {}

    # ------------------------------------------------------------------ views (Slack's side)

    @property
    def views(self) -> dict[str, JsonDict]:
        """Every view by id, as Slack last stored it (closed modals included)."""
        with self._lock:
            return copy.deepcopy(self._views)

    def view(self, view_id: str) -> JsonDict | None:
        with self._lock:
            found = self._views.get(view_id)
            return copy.deepcopy(found) if found else None

    def modal_stack(self, team_id: str, user_id: str) -> list[JsonDict]:
        """The user's open modals, root first."""
        with self._lock:
            stack = self._modal_stacks.get((team_id, user_id), [])
            return [copy.deepcopy(self._views[v]) for v in stack]

    def home_view(self, team_id: str, user_id: str) -> JsonDict | None:
        with self._lock:
            view_id = self._home_views.get((team_id, user_id))
            return copy.deepcopy(self._views[view_id]) if view_id else None

    def replace_view(self, view_id: str, view: Mapping[str, Any]) -> JsonDict:
        """`response_action: update`: the open view gets new content, same id."""
        with self._lock:
            return copy.deepcopy(self._update_view(view_id, view, expected_hash=None))

    def push_view(self, team_id: str, user_id: str, view: Mapping[str, Any]) -> JsonDict:
        """`response_action: push`: a new view on top of the user's modal stack."""
        with self._lock:
            return copy.deepcopy(self._push(team_id, user_id, view))

    def close_view(self, view_id: str) -> None:
        """The user closed a modal (or submitted it and the app acked): it and those above go."""
        with self._lock:
            for key, stack in self._modal_stacks.items():
                if view_id in stack:
                    index = stack.index(view_id)
                    self._closed_views.update(stack[index:])
                    self._modal_stacks[key] = stack[:index]
                    return

    def clear_views(self, team_id: str, user_id: str) -> None:
        """`response_action: clear` (or a close with clear_on_close): the whole stack goes."""
        with self._lock:
            stack = self._modal_stacks.pop((team_id, user_id), [])
            self._closed_views.update(stack)

    # ------------------------------------------------------------------ HTTP endpoints

    async def _read_request(
        self, request: Request
    ) -> tuple[JsonDict, str | None, tuple[str, str] | None]:
        params: JsonDict = dict(request.query_params)
        raw = await request.body()
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if raw:
            if content_type == "application/json":
                try:
                    decoded = json.loads(raw)
                except ValueError:
                    decoded = None
                if isinstance(decoded, dict):
                    params.update(decoded)
            elif content_type in ("application/x-www-form-urlencoded", ""):
                params.update(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        for key in _JSON_PARAMS:
            if key in params:
                params[key] = decode_json_field(params[key])
        token: str | None = None
        basic: tuple[str, str] | None = None
        authorization = request.headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            token = authorization[7:].strip()
        elif authorization.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(authorization[6:]).decode().partition(":")
                basic = (user, password)
            except ValueError:
                basic = None
        if token is None and isinstance(params.get("token"), str):
            token = params["token"]
        return params, token, basic

    async def _api_endpoint(self, request: Request) -> Response:
        method = request.path_params["method"]
        with self._lock:
            self._in_flight += 1
        try:
            params, token, basic = await self._read_request(request)
            if self.latency > 0:
                await asyncio.sleep(self.latency)
            with self._lock:
                status, body, headers, team_id = self._answer_api(method, params, token, basic)
                self._record(method, params, token, team_id, status, body)
        finally:
            with self._lock:
                self._in_flight -= 1
        return JSONResponse(body, status_code=status, headers=headers)

    def _answer_api(
        self,
        method: str,
        params: JsonDict,
        token: str | None,
        basic: tuple[str, str] | None,
    ) -> tuple[int, JsonDict, dict[str, str], str | None]:
        known = self._tokens.get(token) if token else None
        team_id = known.team_id if known else None
        fault = self._take_fault(method)
        if fault is not None:
            status, body, headers = self._fault_answer(fault)
            return status, body, headers, team_id
        handler = self._methods.get(method)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method"}, {}, team_id
        try:
            body = handler(_Request(method=method, params=params, token=token, basic_auth=basic))
        except StandinError as problem:
            return problem.status, problem.body(), {}, team_id
        if method == "oauth.v2.access":
            team = body.get("team")
            team_id = team.get("id") if isinstance(team, dict) else team_id
        return 200, {"ok": True, **body}, {}, team_id

    @staticmethod
    def _fault_answer(fault: _Fault) -> tuple[int, JsonDict, dict[str, str]]:
        if fault.error is not None:
            return 200, {"ok": False, "error": fault.error}, {}
        if fault.status == 429:
            headers = {"Retry-After": str(fault.retry_after)}
            return 429, {"ok": False, "error": "ratelimited"}, headers
        return fault.status, {"ok": False, "error": "fatal_error"}, {}

    def _record(
        self,
        method: str,
        params: JsonDict,
        token: str | None,
        team_id: str | None,
        status: int,
        body: JsonDict,
        effect: MessageEffect | None = None,
    ) -> None:
        kept = {k: v for k, v in params.items() if k not in _SECRET_PARAMS}
        hidden = {k: str(v) for k, v in params.items() if k in _SECRET_PARAMS}
        self._calls.append(
            RecordedCall(
                method=method,
                params=kept,
                token=token,
                team_id=team_id,
                at=time.monotonic(),
                status=status,
                response=body,
                effect=effect,
                sensitive_params=hidden,
            )
        )
        self._changed.notify_all()

    async def _response_url_endpoint(self, request: Request) -> Response:
        key = request.path_params["key"]
        with self._lock:
            self._in_flight += 1
        try:
            raw = await request.body()
            try:
                decoded = json.loads(raw) if raw else {}
            except ValueError:
                decoded = None
            body_params: JsonDict = decoded if isinstance(decoded, dict) else {}
            if self.latency > 0:
                await asyncio.sleep(self.latency)
            with self._lock:
                record = self._response_urls.get(key)
                team_id = record.team_id if record else request.path_params["team_id"]
                effect: MessageEffect | None = None
                fault = self._take_fault("response_url")
                if fault is not None:
                    status, body, headers = self._fault_answer(fault)
                elif not isinstance(decoded, dict):
                    status, body, headers = 400, {"ok": False, "error": "invalid_payload"}, {}
                else:
                    headers = {}
                    try:
                        effect = self._post_to_response_url(record, body_params)
                        status, body = 200, {"ok": True}
                    except StandinError as problem:
                        # Unlike the Web API, response URLs answer bad content with HTTP 400.
                        status = problem.status if problem.status != 200 else 400
                        body = problem.body()
                self._record("response_url", body_params, None, team_id, status, body, effect)
        finally:
            with self._lock:
                self._in_flight -= 1
        return JSONResponse(body, status_code=status, headers=headers)

    def _post_to_response_url(self, record: _ResponseUrl | None, body: JsonDict) -> MessageEffect:
        if record is None:
            raise StandinError("invalid_url", status=404)
        if time.monotonic() - record.created_at > RESPONSE_URL_TTL_SECONDS:
            raise StandinError("expired_url", status=404)
        if record.posts >= RESPONSE_URL_MAX_POSTS:
            raise StandinError("used_url", status=404)
        original = (
            self._messages.get((record.channel_id, record.original_ts))
            if record.original_ts
            else None
        )
        if original is not None and original.deleted:
            original = None
        if _truthy(body.get("delete_original")):
            record.posts += 1
            if original is None:
                return MessageEffect("nothing", record.channel_id, None, None)
            original.deleted = True
            return MessageEffect("deleted", record.channel_id, original.ts, original.ephemeral_for)
        text, blocks, attachments = self._message_content(body)
        if _truthy(body.get("replace_original")) and original is not None:
            record.posts += 1
            original.text = text
            original.blocks = blocks
            original.attachments = attachments
            original.edited = True
            return MessageEffect("replaced", record.channel_id, original.ts, original.ephemeral_for)
        team = self._team(record.team_id)
        in_channel = body.get("response_type") == "in_channel"
        message = StoredMessage(
            team_id=record.team_id,
            channel_id=record.channel_id,
            ts=self._next_ts(),
            text=text,
            blocks=blocks,
            attachments=attachments,
            user_id=team.bot_user_id,
            bot_id=team.bot_id,
            ephemeral_for=None if in_channel else record.user_id,
            thread_ts=body.get("thread_ts") if isinstance(body.get("thread_ts"), str) else None,
        )
        self._messages[(message.channel_id, message.ts)] = message
        record.posts += 1
        # Later posts with replace_original replace the latest message this URL produced.
        record.original_ts = message.ts
        return MessageEffect("posted", message.channel_id, message.ts, message.ephemeral_for)

    # ------------------------------------------------------------------ Web API methods

    def _team(self, team_id: str) -> _Team:
        team = self._teams.get(team_id)
        if team is None:
            raise KeyError(f"unknown team {team_id}")
        return team

    def _authed(self, request: _Request) -> tuple[_Team, _Token]:
        if not request.token:
            raise StandinError("not_authed")
        known = self._tokens.get(request.token)
        if known is None:
            raise StandinError("invalid_auth")
        if known.revoked:
            raise StandinError("token_revoked")
        if known.expired:
            raise StandinError("token_expired")
        self._require_scope(known, METHOD_SCOPES.get(request.method, ()))
        return self._team(known.team_id), known

    @staticmethod
    def _require_scope(token: _Token, needed: tuple[str, ...]) -> None:
        """Slack's `missing_scope` when the token was granted none of `needed`."""
        if not needed or token.scopes is None or set(needed) & set(token.scopes):
            return
        raise StandinError(
            "missing_scope",
            extra={"needed": ",".join(needed), "provided": ",".join(token.scopes)},
        )

    @staticmethod
    def _required(request: _Request, name: str) -> str:
        value = request.params.get(name)
        if value is None or value == "":
            raise StandinError("invalid_arguments", messages=[f"missing required field: {name}"])
        return str(value)

    def _dm_for_id(self, team: _Team, channel_id: str) -> StandinChannel | None:
        if channel_id.startswith("D"):
            for user in team.users.values():
                if f"D{user.id[1:]}" == channel_id:
                    return self._dm_with(team, user.id)
        return None

    def _dm_with(self, team: _Team, user_id: str) -> StandinChannel:
        channel_id = f"D{user_id[1:]}"
        channel = team.channels.get(channel_id)
        if channel is None:
            channel = StandinChannel(
                id=channel_id, team_id=team.id, name=channel_id, dm_user=user_id
            )
            team.channels[channel_id] = channel
        return channel

    def _resolve_channel(self, team: _Team, reference: str) -> StandinChannel:
        if reference in team.channels:
            return team.channels[reference]
        if reference in team.users:
            return self._dm_with(team, reference)
        dm = self._dm_for_id(team, reference)
        if dm is not None:
            return dm
        name = reference.lstrip("#")
        for channel in team.channels.values():
            if channel.dm_user is None and channel.name == name:
                return channel
        raise StandinError("channel_not_found")

    def _writable_channel(self, team: _Team, reference: str) -> StandinChannel:
        channel = self._resolve_channel(team, reference)
        if channel.is_archived and (channel.bot_is_member or not channel.is_private):
            raise StandinError("is_archived")
        if channel.bot_is_member or channel.dm_user is not None:
            return channel
        if channel.is_private:
            # A private channel the bot is not in is invisible to it.
            raise StandinError("channel_not_found")
        if self.chat_write_public:
            return channel
        raise StandinError("not_in_channel")

    @staticmethod
    def _message_content(params: JsonDict) -> tuple[str, list[JsonDict], list[JsonDict]]:
        text = params.get("text")
        text = text if isinstance(text, str) else ""
        if not text and isinstance(params.get("markdown_text"), str):
            text = params["markdown_text"]
        blocks = params.get("blocks") or []
        attachments = params.get("attachments") or []
        if not isinstance(blocks, list):
            raise StandinError("invalid_blocks_format")
        if not isinstance(attachments, list):
            raise StandinError("invalid_attachments")
        if not text.strip() and not blocks and not attachments:
            raise StandinError("no_text")
        if len(text) > MESSAGE_TEXT_MAX:
            raise StandinError("msg_too_long")
        problems = message_problems({"blocks": blocks})
        if problems:
            raise StandinError("invalid_blocks", messages=problems)
        return text, with_generated_ids(blocks), [a for a in attachments if isinstance(a, dict)]

    def _api_test(self, request: _Request) -> JsonDict:
        if "error" in request.params:
            raise StandinError(str(request.params["error"]))
        return {"args": {k: v for k, v in request.params.items() if k != "token"}}

    def _auth_test(self, request: _Request) -> JsonDict:
        team, token = self._authed(request)
        user = team.users.get(token.user_id)
        answer: JsonDict = {
            "url": f"https://{team.domain}.slack.com/",
            "team": team.name,
            "user": user.name if user else token.user_id,
            "team_id": team.id,
            "user_id": token.user_id,
        }
        if token.kind == "bot":
            answer["bot_id"] = team.bot_id
        if team.enterprise_id is not None:
            answer["enterprise_id"] = team.enterprise_id
        if token.org_wide:
            # An org-wide token speaks for the organisation, not one of its workspaces.
            answer.update(
                url=f"https://{_slug(team.enterprise_name or '')}.enterprise.slack.com/",
                team=team.enterprise_name,
                team_id=team.enterprise_id,
            )
        answer["is_enterprise_install"] = token.org_wide
        return answer

    def _auth_revoke(self, request: _Request) -> JsonDict:
        _, token = self._authed(request)
        if _truthy(request.params.get("test")):
            return {"revoked": False}
        token.revoked = True
        return {"revoked": True}

    def _users_info(self, request: _Request) -> JsonDict:
        team, token = self._authed(request)
        user_id = self._required(request, "user")
        user = team.users.get(user_id)
        if user is None:
            raise StandinError("user_not_found")
        answer = _email_if_granted(user.to_slack(), token)
        if user.is_bot:
            answer["profile"]["bot_id"] = team.bot_id
        return {"user": answer}

    def _team_info(self, request: _Request) -> JsonDict:
        team, _ = self._authed(request)
        return {
            "team": {
                "id": team.id,
                "name": team.name,
                "domain": team.domain,
                "email_domain": "",
                "icon": {"image_default": True},
            }
        }

    def _store_bot_message(
        self,
        team: _Team,
        channel: StandinChannel,
        params: JsonDict,
        *,
        ephemeral_for: str | None = None,
    ) -> StoredMessage:
        text, blocks, attachments = self._message_content(params)
        thread_ts = params.get("thread_ts")
        extras = self._thread_and_metadata(channel, params)
        message = StoredMessage(
            team_id=team.id,
            channel_id=channel.id,
            ts=self._next_ts(),
            text=text,
            blocks=blocks,
            attachments=attachments,
            user_id=team.bot_user_id,
            bot_id=team.bot_id,
            ephemeral_for=ephemeral_for,
            thread_ts=thread_ts if isinstance(thread_ts, str) and thread_ts else None,
            **extras,
        )
        self._messages[(channel.id, message.ts)] = message
        return message

    def _chat_post_message(self, request: _Request) -> JsonDict:
        team, _ = self._authed(request)
        channel = self._writable_channel(team, self._required(request, "channel"))
        message = self._store_bot_message(team, channel, request.params)
        return {
            "channel": channel.id,
            "ts": message.ts,
            "message": message.to_slack(self.app_id),
        }

    def _chat_post_ephemeral(self, request: _Request) -> JsonDict:
        team, _ = self._authed(request)
        channel_ref = self._required(request, "channel")
        user_id = self._required(request, "user")
        if user_id not in team.users:
            raise StandinError("user_not_found")
        channel = self._writable_channel(team, channel_ref)
        message = self._store_bot_message(team, channel, request.params, ephemeral_for=user_id)
        return {"message_ts": message.ts}

    def _own_message(self, team: _Team, request: _Request, ts_param: str) -> StoredMessage:
        channel = self._resolve_channel(team, self._required(request, "channel"))
        ts = self._required(request, ts_param)
        message = self._messages.get((channel.id, ts))
        if message is None or message.deleted or message.ephemeral_for is not None:
            raise StandinError("message_not_found")
        return message

    def _chat_update(self, request: _Request) -> JsonDict:
        team, _ = self._authed(request)
        message = self._own_message(team, request, "ts")
        if message.user_id != team.bot_user_id:
            raise StandinError("cant_update_message")
        params = dict(request.params)
        # chat.update keeps what it is not given.
        params.setdefault("text", message.text)
        if "blocks" not in params:
            params["blocks"] = message.blocks
        if "attachments" not in params:
            params["attachments"] = message.attachments
        text, blocks, attachments = self._message_content(params)
        message.text, message.blocks, message.attachments = text, blocks, attachments
        message.edited = True
        return {
            "channel": message.channel_id,
            "ts": message.ts,
            "text": text,
            "message": message.to_slack(self.app_id),
        }

    def _chat_delete(self, request: _Request) -> JsonDict:
        team, _ = self._authed(request)
        message = self._own_message(team, request, "ts")
        if message.user_id != team.bot_user_id:
            raise StandinError("cant_delete_message")
        message.deleted = True
        return {"channel": message.channel_id, "ts": message.ts}

    def _chat_get_permalink(self, request: _Request) -> JsonDict:
        team, _ = self._authed(request)
        channel = self._resolve_channel(team, self._required(request, "channel"))
        ts = self._required(request, "message_ts")
        message = self._messages.get((channel.id, ts))
        if message is None or message.deleted:
            raise StandinError("message_not_found")
        return {
            "channel": channel.id,
            "permalink": f"https://{team.domain}.slack.com/archives/{channel.id}/"
            f"p{ts.replace('.', '')}",
        }

    def _unfurl_target(self, team: _Team, request: _Request) -> _SharedLinks:
        params = request.params
        unfurl_id, source = params.get("unfurl_id"), params.get("source")
        if unfurl_id or source:
            # Slack: `unfurl_id` and `source` together, or `channel` and `ts` together.
            if not unfurl_id or source not in ("composer", "conversations_history"):
                raise StandinError(
                    "invalid_arguments", messages=["unfurl_id and source go together"]
                )
            shared = self._shared_links.get(str(unfurl_id))
            if shared is None or shared.team_id != team.id or shared.source != source:
                raise StandinError("cannot_find_message")
            return shared
        if not params.get("channel"):
            raise StandinError("missing_channel")
        if not params.get("ts"):
            raise StandinError("missing_ts")
        channel_id, ts = str(params["channel"]), str(params["ts"])
        if channel_id != COMPOSER_CHANNEL and channel_id not in team.channels:
            raise StandinError("cannot_find_channel")
        for shared in self._shared_links.values():
            if (shared.team_id, shared.channel_id, shared.ts) == (team.id, channel_id, ts):
                return shared
        raise StandinError("cannot_find_message")

    def _chat_unfurl(self, request: _Request) -> JsonDict:
        team, _ = self._authed(request)
        shared = self._unfurl_target(team, request)
        unfurls = request.params.get("unfurls")
        if unfurls is None or unfurls == "":
            raise StandinError("missing_unfurls")
        if isinstance(unfurls, str):
            unfurls = decode_json_field(unfurls)
        if not isinstance(unfurls, dict) or not all(
            isinstance(value, dict) for value in unfurls.values()
        ):
            raise StandinError("invalid_unfurls_format")
        for url, unfurl in unfurls.items():
            if url not in shared.urls:
                # Keys must be the links exactly as the link_shared event gave them.
                raise StandinError("cannot_unfurl_url")
            blocks = unfurl.get("blocks")
            if blocks is not None:
                if not isinstance(blocks, list) or not blocks:
                    raise StandinError("invalid_unfurls_format")
                problems = message_problems({"blocks": blocks})
                if problems:
                    raise StandinError("invalid_blocks", messages=problems)
            elif not unfurl:
                raise StandinError("cannot_parse_attachment")
        for url, unfurl in unfurls.items():
            shared.unfurls[url] = copy.deepcopy(unfurl)
        return {}

    def _conversations_info(self, request: _Request) -> JsonDict:
        team, token = self._authed(request)
        channel = self._resolve_channel(team, self._required(request, "channel"))
        kind = "im" if channel.dm_user else ("private" if channel.is_private else "public")
        self._require_scope(token, (_CONVERSATION_READ_SCOPES[kind],))
        if channel.is_private and not channel.bot_is_member:
            raise StandinError("channel_not_found")
        return {"channel": channel.to_slack()}

    def _conversations_list(self, request: _Request) -> JsonDict:
        """Like Slack: `types` (public_channel by default) each needing its read scope,
        private channels only those the bot is in, `exclude_archived`, pages of `limit`
        (1 to 1000, default 100) by cursor. No direct messages here."""
        team, token = self._authed(request)
        types = [t for t in str(request.params.get("types") or "public_channel").split(",") if t]
        scope_of = {"public_channel": "public", "private_channel": "private"}
        if not types or any(t not in (*scope_of, "im", "mpim") for t in types):
            raise StandinError("invalid_types")
        for kind in types:
            if kind in scope_of:
                self._require_scope(token, (_CONVERSATION_READ_SCOPES[scope_of[kind]],))
        exclude_archived = _truthy(request.params.get("exclude_archived"))
        found = [
            c
            for c in team.channels.values()
            if c.dm_user is None
            and ("private_channel" if c.is_private else "public_channel") in types
            and (c.bot_is_member or not c.is_private)
            and not (exclude_archived and c.is_archived)
        ]
        try:
            limit = int(request.params.get("limit") or 100)
            start = int(str(request.params.get("cursor") or "0").removeprefix("next:") or 0)
        except ValueError as error:
            raise StandinError("invalid_cursor") from error
        if not 1 <= limit <= 1000:
            raise StandinError("invalid_limit")
        if not 0 <= start <= len(found):
            raise StandinError("invalid_cursor")
        end = start + limit
        return {
            "channels": [c.to_slack() for c in found[start:end]],
            "response_metadata": {"next_cursor": f"next:{end}" if end < len(found) else ""},
        }

    def _conversations_members(self, request: _Request) -> JsonDict:
        """Like Slack: the channel by id only, the read scope of its kind, a private channel
        only when the bot is in it; pages of `limit` (1 to 1000, default 100) by cursor."""
        team, token = self._authed(request)
        reference = self._required(request, "channel")
        channel = team.channels.get(reference) or self._dm_for_id(team, reference)
        if channel is None:
            raise StandinError("channel_not_found")
        kind = "im" if channel.dm_user else ("private" if channel.is_private else "public")
        self._require_scope(token, (_CONVERSATION_READ_SCOPES[kind],))
        if channel.is_private and not channel.bot_is_member:
            raise StandinError("channel_not_found")
        if channel.dm_user is not None:
            members = [channel.dm_user, team.bot_user_id]
        elif channel.name == "general":
            members = [u.id for u in team.users.values() if not u.is_bot]
        else:
            members = list(channel.members)
        if channel.bot_is_member and team.bot_user_id not in members:
            members.append(team.bot_user_id)
        try:
            limit = int(request.params.get("limit") or 100)
            start = int(str(request.params.get("cursor") or "0").removeprefix("next:") or 0)
        except ValueError as error:
            raise StandinError("invalid_cursor") from error
        if not 1 <= limit <= 1000 or not 0 <= start <= len(members):
            raise StandinError("invalid_limit" if not 1 <= limit <= 1000 else "invalid_cursor")
        end = start + limit
        next_cursor = f"next:{end}" if end < len(members) else ""
        return {
            "members": members[start:end],
            "response_metadata": {"next_cursor": next_cursor},
        }

    # ------------------------------------------------------------------ history (metadata)

    def archive_channel(self, team_id: str, channel_id: str) -> None:
        """Archives a channel: posting to it answers `is_archived` from now on."""
        with self._lock:
            self._team(team_id).channels[channel_id].is_archived = True

    def remove_bot(self, team_id: str, channel_id: str) -> None:
        """The bot is removed from a channel (`not_in_channel` when it posts there)."""
        with self._lock:
            self._team(team_id).channels[channel_id].bot_is_member = False

    def channel_messages(
        self, channel_id: str, *, thread_ts: str | None = None
    ) -> list[StoredMessage]:
        """Messages posted in a channel, oldest first: the top-level ones (thread replies
        broadcast to the channel included), or the replies of one thread."""
        with self._lock:
            found = [
                copy.deepcopy(m)
                for (channel, _), m in self._messages.items()
                if channel == channel_id and not m.deleted and m.ephemeral_for is None
            ]
        if thread_ts is not None:
            found = [m for m in found if m.thread_ts == thread_ts and m.ts != thread_ts]
        else:
            found = [m for m in found if m.thread_ts is None or m.reply_broadcast]
        return sorted(found, key=lambda m: _ts_key(m.ts))

    def _thread_and_metadata(self, channel: StandinChannel, params: JsonDict) -> JsonDict:
        """chat.postMessage's thread_ts (an existing top-level message of the channel),
        reply_broadcast (only with thread_ts) and metadata (event_type + event_payload)."""
        extras: JsonDict = {}
        thread_ts = params.get("thread_ts")
        if thread_ts:
            parent = self._messages.get((channel.id, str(thread_ts)))
            if parent is None or parent.deleted or parent.ephemeral_for is not None:
                raise StandinError("thread_not_found")
            extras["reply_broadcast"] = _truthy(params.get("reply_broadcast"))
        metadata = params.get("metadata")
        if metadata is not None:
            if isinstance(metadata, str):
                try:
                    metadata = json.loads(metadata)
                except ValueError as error:
                    raise StandinError("invalid_metadata_format") from error
            if not isinstance(metadata, dict):
                raise StandinError("invalid_metadata_format")
            event_type = metadata.get("event_type")
            payload = metadata.get("event_payload")
            if (
                not isinstance(event_type, str)
                or not re.fullmatch(r"[A-Za-z0-9_]{1,255}", event_type)
                or not isinstance(payload, dict)
            ):
                raise StandinError("invalid_metadata_schema")
            extras["metadata"] = {"event_type": event_type, "event_payload": copy.deepcopy(payload)}
        return extras

    def _readable_channel(self, request: _Request) -> StandinChannel:
        team, token = self._authed(request)
        channel = self._resolve_channel(team, self._required(request, "channel"))
        kind = "im" if channel.dm_user else ("private" if channel.is_private else "public")
        self._require_scope(token, (_CONVERSATION_HISTORY_SCOPES[kind],))
        if channel.dm_user is None and not channel.bot_is_member:
            raise StandinError("channel_not_found" if channel.is_private else "not_in_channel")
        return channel

    def _history_page(
        self, request: _Request, messages: list[StoredMessage], *, newest_first: bool
    ) -> JsonDict:
        params = request.params
        oldest, latest = params.get("oldest"), params.get("latest")
        inclusive = _truthy(params.get("inclusive"))
        try:
            low = float(oldest) if oldest not in (None, "") else None
            high = float(latest) if latest not in (None, "") else None
            limit = int(params.get("limit") or 100)
            start = int(params.get("cursor") or 0)
        except (TypeError, ValueError) as error:
            raise StandinError("invalid_arguments") from error
        limit = min(max(limit, 1), 999)

        def within(ts: str) -> bool:
            value = float(ts)
            if low is not None and (value < low or (value == low and not inclusive)):
                return False
            return not (high is not None and (value > high or (value == high and not inclusive)))

        chosen = [m for m in messages if within(m.ts)]
        if newest_first:
            chosen.reverse()
        page = chosen[start : start + limit]
        with_metadata = _truthy(params.get("include_all_metadata"))
        shown = []
        for message in page:
            item = message.to_slack(self.app_id)
            if message.reply_broadcast:
                item["subtype"] = "thread_broadcast"
            if with_metadata and message.metadata is not None:
                item["metadata"] = copy.deepcopy(message.metadata)
            shown.append(item)
        more = start + limit < len(chosen)
        return {
            "messages": shown,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _conversations_history(self, request: _Request) -> JsonDict:
        channel = self._readable_channel(request)
        return self._history_page(request, self.channel_messages(channel.id), newest_first=True)

    def _conversations_replies(self, request: _Request) -> JsonDict:
        channel = self._readable_channel(request)
        ts = self._required(request, "ts")
        parent = self._messages.get((channel.id, ts))
        if parent is None or parent.deleted:
            raise StandinError("thread_not_found")
        replies = self.channel_messages(channel.id, thread_ts=ts)
        answer = self._history_page(request, replies, newest_first=False)
        head = parent.to_slack(self.app_id)
        if _truthy(request.params.get("include_all_metadata")) and parent.metadata:
            head["metadata"] = copy.deepcopy(parent.metadata)
        answer["messages"] = [head, *answer["messages"]]
        return answer

    def _conversations_join(self, request: _Request) -> JsonDict:
        team, _ = self._authed(request)
        channel = self._resolve_channel(team, self._required(request, "channel"))
        if channel.dm_user is not None or channel.is_private:
            if channel.is_private and not channel.bot_is_member:
                raise StandinError("channel_not_found")
            raise StandinError("method_not_supported_for_channel_type")
        if channel.bot_is_member:
            return {
                "channel": channel.to_slack(),
                "warning": "already_in_channel",
                "response_metadata": {"warnings": ["already_in_channel"]},
            }
        channel.bot_is_member = True
        return {"channel": channel.to_slack()}

    def _conversations_open(self, request: _Request) -> JsonDict:
        team, _ = self._authed(request)
        users = [u for u in str(request.params.get("users", "")).split(",") if u]
        if len(users) != 1:
            raise StandinError("invalid_arguments", messages=["users: give exactly one user"])
        if users[0] not in team.users:
            raise StandinError("user_not_found")
        return {"channel": {"id": self._dm_with(team, users[0]).id}}

    # views ---------------------------------------------------------------------------

    def _view_input(self, request: _Request, expected_type: str) -> JsonDict:
        view = request.params.get("view")
        if not isinstance(view, dict):
            raise StandinError("invalid_arguments", messages=["missing required field: view"])
        problems = view_problems(view, expected_type=expected_type)
        if problems:
            raise StandinError("invalid_arguments", messages=problems)
        return view

    def _use_trigger(self, team: _Team, request: _Request) -> _Trigger:
        trigger_id = request.params.get("trigger_id") or request.params.get("interactivity_pointer")
        trigger = self._triggers.get(str(trigger_id)) if trigger_id else None
        if trigger is None or trigger.team_id != team.id:
            raise StandinError("invalid_trigger_id")
        if trigger.used:
            raise StandinError("exchanged_trigger_id")
        if time.monotonic() - trigger.minted_at > self.trigger_ttl:
            raise StandinError("expired_trigger_id")
        return trigger

    def _new_hash(self) -> str:
        return f"{int(time.time())}.{secrets.token_hex(4)}"

    def _build_view(
        self,
        team_id: str,
        view_input: Mapping[str, Any],
        *,
        view_id: str,
        root_view_id: str | None,
        previous_view_id: str | None,
    ) -> JsonDict:
        team = self._team(team_id)
        view: JsonDict = {
            "id": view_id,
            "team_id": team_id,
            "type": view_input.get("type"),
            "blocks": with_generated_ids(view_input.get("blocks") or []),
            "private_metadata": view_input.get("private_metadata") or "",
            "callback_id": view_input.get("callback_id") or "",
            "state": {"values": {}},
            "hash": self._new_hash(),
            "title": view_input.get("title")
            or {"type": "plain_text", "text": "View Title", "emoji": True},
            "clear_on_close": bool(view_input.get("clear_on_close", False)),
            "notify_on_close": bool(view_input.get("notify_on_close", False)),
            "close": view_input.get("close"),
            "submit": view_input.get("submit"),
            "previous_view_id": previous_view_id,
            "root_view_id": root_view_id or view_id,
            "app_id": self.app_id,
            "external_id": view_input.get("external_id") or "",
            "app_installed_team_id": team_id,
            "bot_id": team.bot_id,
        }
        return view

    def _new_view_id(self) -> str:
        return f"V{next(self._counter):04d}{secrets.token_hex(3).upper()}"

    def _check_external_id(self, view_input: Mapping[str, Any], keep: str | None = None) -> None:
        external_id = view_input.get("external_id")
        if not external_id:
            return
        for view_id, view in self._views.items():
            if view_id != keep and view.get("external_id") == external_id:
                raise StandinError("duplicate_external_id")

    def _views_open(self, request: _Request) -> JsonDict:
        team, _ = self._authed(request)
        view_input = self._view_input(request, "modal")
        trigger = self._use_trigger(team, request)
        self._check_external_id(view_input)
        view_id = self._new_view_id()
        view = self._build_view(
            team.id, view_input, view_id=view_id, root_view_id=None, previous_view_id=None
        )
        trigger.used = True
        key = (team.id, trigger.user_id)
        self._closed_views.update(self._modal_stacks.get(key, []))
        self._views[view_id] = view
        self._modal_stacks[key] = [view_id]
        return {"view": copy.deepcopy(view)}

    def _push(self, team_id: str, user_id: str, view_input: Mapping[str, Any]) -> JsonDict:
        problems = view_problems(view_input, expected_type="modal")
        if problems:
            raise StandinError("invalid_arguments", messages=problems)
        stack = self._modal_stacks.get((team_id, user_id), [])
        if not stack:
            raise StandinError("not_found")
        if len(stack) >= MODAL_STACK_MAX:
            raise StandinError("push_limit_reached")
        self._check_external_id(view_input)
        view_id = self._new_view_id()
        view = self._build_view(
            team_id, view_input, view_id=view_id, root_view_id=stack[0], previous_view_id=stack[-1]
        )
        self._views[view_id] = view
        stack.append(view_id)
        return view

    def _views_push(self, request: _Request) -> JsonDict:
        team, _ = self._authed(request)
        view_input = self._view_input(request, "modal")
        trigger = self._use_trigger(team, request)
        view = self._push(team.id, trigger.user_id, view_input)
        trigger.used = True
        return {"view": copy.deepcopy(view)}

    def _update_view(
        self, view_id: str, view_input: Mapping[str, Any], *, expected_hash: str | None
    ) -> JsonDict:
        current = self._views.get(view_id)
        if current is None or view_id in self._closed_views:
            raise StandinError("not_found")
        problems = view_problems(view_input, expected_type=current["type"])
        if problems:
            raise StandinError("invalid_arguments", messages=problems)
        if expected_hash and expected_hash != current["hash"]:
            raise StandinError("hash_conflict")
        self._check_external_id(view_input, keep=view_id)
        view = self._build_view(
            current["team_id"],
            view_input,
            view_id=view_id,
            root_view_id=current["root_view_id"],
            previous_view_id=current["previous_view_id"],
        )
        if not view["external_id"]:
            view["external_id"] = current["external_id"]
        self._views[view_id] = view
        return view

    def _views_update(self, request: _Request) -> JsonDict:
        team, _ = self._authed(request)
        view_input = request.params.get("view")
        view_id = request.params.get("view_id")
        external_id = request.params.get("external_id")
        if not view_id and external_id:
            view_id = next(
                (
                    v["id"]
                    for v in self._views.values()
                    if v.get("external_id") == external_id and v["team_id"] == team.id
                ),
                None,
            )
        if not view_id:
            raise StandinError("not_found")
        current = self._views.get(str(view_id))
        if current is None or current["team_id"] != team.id:
            raise StandinError("not_found")
        if not isinstance(view_input, dict):
            raise StandinError("invalid_arguments", messages=["missing required field: view"])
        hash_value = request.params.get("hash")
        view = self._update_view(
            str(view_id), view_input, expected_hash=str(hash_value) if hash_value else None
        )
        return {"view": copy.deepcopy(view)}

    def _views_publish(self, request: _Request) -> JsonDict:
        team, _ = self._authed(request)
        user_id = self._required(request, "user_id")
        if user_id not in team.users:
            raise StandinError("user_not_found")
        view_input = self._view_input(request, "home")
        key = (team.id, user_id)
        existing = self._home_views.get(key)
        hash_value = request.params.get("hash")
        if existing and hash_value and self._views[existing]["hash"] != hash_value:
            raise StandinError("hash_conflict")
        view_id = existing or self._new_view_id()
        view = self._build_view(
            team.id, view_input, view_id=view_id, root_view_id=None, previous_view_id=None
        )
        self._views[view_id] = view
        self._home_views[key] = view_id
        return {"view": copy.deepcopy(view)}

    # oauth ---------------------------------------------------------------------------

    def _client_credentials(self, request: _Request) -> None:
        client_id, client_secret = request.basic_auth or (
            str(request.params.get("client_id", "")),
            str(request.params.get("client_secret", "")),
        )
        if client_id != self.client_id:
            raise StandinError("invalid_client_id")
        if client_secret != self.client_secret:
            raise StandinError("bad_client_secret")

    def _mint_rotating_token(self, team: _Team, grant: _Grant) -> tuple[str, str]:
        access = f"xoxe.xoxb-1-{secrets.token_hex(12)}"
        refresh = f"xoxe-1-{secrets.token_hex(12)}"
        self._tokens[access] = _Token(
            team_id=team.id,
            kind="bot",
            user_id=team.bot_user_id,
            scopes=grant.scopes,
            org_wide=grant.org_wide,
        )
        self._refresh_tokens[refresh] = grant
        return access, refresh

    def _install_answer(self, team: _Team, grant: _Grant, access_token: str) -> JsonDict:
        enterprise = (
            {"id": team.enterprise_id, "name": team.enterprise_name}
            if team.enterprise_id is not None
            else None
        )
        return {
            "app_id": self.app_id,
            "scope": ",".join(grant.scopes),
            "token_type": "bot",
            "access_token": access_token,
            "bot_user_id": team.bot_user_id,
            # An org-wide install belongs to no single workspace.
            "team": None if grant.org_wide else {"id": team.id, "name": team.name},
            "enterprise": enterprise,
            "is_enterprise_install": grant.org_wide,
        }

    def _oauth_v2_access(self, request: _Request) -> JsonDict:
        self._client_credentials(request)
        if request.params.get("grant_type") == "refresh_token":
            refresh_token = str(request.params.get("refresh_token", ""))
            grant = self._refresh_tokens.pop(refresh_token, None)
            if grant is None:
                raise StandinError("invalid_refresh_token")
            team = self._team(grant.team_id)
            access, refresh = self._mint_rotating_token(team, grant)
            answer = self._install_answer(team, grant, access)
            answer.update({"refresh_token": refresh, "expires_in": ROTATED_TOKEN_LIFETIME})
            return answer
        code = self._oauth_codes.get(str(request.params.get("code", "")))
        if code is None or code.used:
            raise StandinError("invalid_code")
        code.used = True
        if code.response is not None:
            answer = dict(code.response)
            answer.pop("ok", None)
            return answer
        team = self._team(code.team_id)
        grant = _Grant(team_id=team.id, scopes=_scope_list(code.scope), org_wide=code.org_wide)
        refresh = ""
        if code.token_rotation:
            access, refresh = self._mint_rotating_token(team, grant)
        elif code.org_wide:
            access = f"xoxb-org-{secrets.token_hex(12)}"
            self._tokens[access] = _Token(
                team_id=team.id,
                kind="bot",
                user_id=team.bot_user_id,
                scopes=grant.scopes,
                org_wide=True,
            )
        else:
            access = self._bot_token_of(team)
            # Installing grants exactly the scopes asked for.
            self._tokens[access].scopes = grant.scopes
        answer = self._install_answer(team, grant, access)
        answer["authed_user"] = {"id": code.user_id, "scope": "", "token_type": "user"}
        if refresh:
            answer.update({"refresh_token": refresh, "expires_in": ROTATED_TOKEN_LIFETIME})
        return answer

    def _bot_token_of(self, team: _Team) -> str:
        for token, known in self._tokens.items():
            if (
                known.team_id == team.id
                and known.kind == "bot"
                and not known.revoked
                and not known.org_wide
            ):
                return token
        token = f"xoxb-{secrets.token_hex(12)}"
        self._tokens[token] = _Token(
            team_id=team.id,
            kind="bot",
            user_id=team.bot_user_id,
            scopes=_scope_list(DEFAULT_BOT_SCOPES),
        )
        return token


def _scope_list(scopes: str) -> tuple[str, ...]:
    return tuple(scope.strip() for scope in scopes.split(",") if scope.strip())


def _user_from(entry: StandinUser | Mapping[str, Any], default_team: str) -> StandinUser:
    if isinstance(entry, StandinUser):
        return entry
    data = dict(entry)
    user_id = str(data.pop("id", None) or data.pop("user_id"))
    team_id = str(data.pop("team_id", default_team))
    name = str(data.pop("name", user_id.lower()))
    return StandinUser(id=user_id, team_id=team_id, name=name, **data)


def default_users(team_id: str = DEFAULT_TEAM_ID) -> list[StandinUser]:
    """The people of a fresh stand-in workspace: an owner and a member."""
    suffix = team_id[1:]
    return [
        StandinUser(
            id=f"U{suffix}",
            team_id=team_id,
            name="alex",
            real_name="Alex Owner",
            is_admin=True,
            is_owner=True,
            is_primary_owner=True,
            email="alex@example.com",
        ),
        StandinUser(
            id=f"U{suffix}M",
            team_id=team_id,
            name="sam",
            real_name="Sam Member",
            email="sam@example.com",
        ),
    ]


@contextmanager
def running_slack_standin(
    *,
    teams: Mapping[str, str] | None = None,
    users: Iterable[StandinUser | Mapping[str, Any]] | None = None,
    channels: Iterable[Mapping[str, Any]] | None = None,
    latency: float = 0.0,
    app_id: str = DEFAULT_APP_ID,
    client_id: str = DEFAULT_CLIENT_ID,
    client_secret: str = DEFAULT_CLIENT_SECRET,
    trigger_ttl: float = TRIGGER_TTL_SECONDS,
    chat_write_public: bool = False,
    scopes: str = DEFAULT_BOT_SCOPES,
    enterprises: Mapping[str, str] | None = None,
) -> Iterator[RunningSlackStandin]:
    """Serve a Slack stand-in on 127.0.0.1 (free port) in a background thread.

    `teams` maps team ids to bot tokens (default: T0001 with DEFAULT_BOT_TOKEN). Every team gets
    a #general channel (`C` + the team id's digits) with the bot in it. Without `users`, each
    team gets an owner (`U` + digits, "alex") and a member (`U` + digits + "M", "sam").
    `channels` entries take `team_id`, `id`, `name`, `bot_is_member`, `is_private`.
    `scopes` are the bot tokens' scopes (default: those manifest.yml asks for);
    `enterprises` maps team ids to the Enterprise Grid organisation (`E…`) they belong to.
    """
    team_tokens = dict(teams) if teams is not None else {DEFAULT_TEAM_ID: DEFAULT_BOT_TOKEN}
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    standin = RunningSlackStandin(
        root_url=f"http://127.0.0.1:{port}",
        app_id=app_id,
        client_id=client_id,
        client_secret=client_secret,
        trigger_ttl=trigger_ttl,
        chat_write_public=chat_write_public,
        latency=latency,
    )
    first_team = next(iter(team_tokens), DEFAULT_TEAM_ID)
    for team_id, token in team_tokens.items():
        standin.add_team(
            team_id, token, scopes=scopes, enterprise_id=(enterprises or {}).get(team_id)
        )
        standin.add_channel(team_id, f"C{team_id[1:]}", "general")
    people = (
        [_user_from(u, first_team) for u in users]
        if users is not None
        else [u for team_id in team_tokens for u in default_users(team_id)]
    )
    for person in people:
        standin.add_user(
            person.team_id,
            person.id,
            person.name,
            real_name=person.real_name,
            is_admin=person.is_admin,
            is_owner=person.is_owner,
            is_primary_owner=person.is_primary_owner,
            tz=person.tz,
            email=person.email,
        )
    for entry in channels or []:
        standin.add_channel(
            str(entry.get("team_id", first_team)),
            str(entry["id"]),
            str(entry.get("name", entry["id"])),
            bot_is_member=bool(entry.get("bot_is_member", True)),
            is_private=bool(entry.get("is_private", False)),
        )
    config = uvicorn.Config(
        standin.asgi_app,
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan="off",
        ws="none",
        http="h11",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="slack-standin", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the Slack stand-in did not start")
            time.sleep(0.005)
        yield standin
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


__all__ = [
    "DEFAULT_APP_ID",
    "DEFAULT_BOT_TOKEN",
    "DEFAULT_CHANNEL_ID",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_TEAM_ID",
    "DEFAULT_USER_ID",
    "MessageEffect",
    "RecordedCall",
    "RunningSlackStandin",
    "StandinChannel",
    "StandinError",
    "StandinUser",
    "StoredMessage",
    "default_users",
    "running_slack_standin",
]
