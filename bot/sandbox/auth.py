"""API tokens as the PMP REST module checks them.

Real PMP tokens are JWTs (HS256) that the module decodes and then looks up in its
``user_api`` table; a wrong token answers HTTP 404 with the JWT library's message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass

from starlette.datastructures import Headers

_SANDBOX_SIGNING_KEY = b"pmp-sandbox-signing-key"
# Fixed issue time keeps the default token identical on every run.
_SANDBOX_ISSUED_AT = 1704067200
_BASE64URL_SEGMENT = re.compile(r"[A-Za-z0-9_-]+={0,2}")

TOKEN_NOT_DEFINED = "Token is not defined."


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_sandbox_token(user: str = "pmp-sandbox", name: str = "PMP sandbox") -> str:
    """Build a deterministic HS256 JWT shaped like the tokens PMP issues."""
    header = _b64url(json.dumps({"typ": "JWT", "alg": "HS256"}, separators=(",", ":")).encode())
    claims = {"user": user, "name": name, "API_TIME": _SANDBOX_ISSUED_AT}
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(_SANDBOX_SIGNING_KEY, f"{header}.{payload}".encode(), hashlib.sha256)
    return f"{header}.{payload}.{_b64url(signature.digest())}"


DEFAULT_SANDBOX_TOKEN = make_sandbox_token()


@dataclass(frozen=True)
class AuthFailure:
    """Why a request was refused; ``message`` is what the server puts in its JSON body."""

    message: str | None


def presented_token(headers: Headers, *, accept_bearer: bool) -> str:
    """The token a request carries: the ``authtoken`` header, or (3.x only) a Bearer token."""
    token = headers.get("authtoken", "").strip()
    if token or not accept_bearer:
        return token
    authorization = headers.get("authorization", "").strip()
    if authorization[:7].lower() == "bearer ":
        return authorization[7:].strip()
    return ""


def check_token(presented: str, expected: str) -> AuthFailure | None:
    """None when ``presented`` is the configured token, else the failure the server reports."""
    if not presented:
        return AuthFailure(TOKEN_NOT_DEFINED)
    if hmac.compare_digest(presented.encode(), expected.encode()):
        return None
    segments = presented.split(".")
    if len(segments) != 3:
        return AuthFailure("Wrong number of segments")
    if not all(_BASE64URL_SEGMENT.fullmatch(segment) for segment in segments):
        return AuthFailure("Syntax error, malformed JSON")
    # A well-formed token the server does not know: the module reports no message at all.
    return AuthFailure(None)


# The REST module's answer when a token lacks the feature/capability a request needs
# (CodeIgniter REST's ``text_rest_api_key_permissions``), HTTP 403.
NO_PERMISSION = "This API key does not have enough permissions"
# Every capability a controller method can need: the method name without ``data_``.
CAPABILITIES = frozenset({"get", "search_get", "post", "put", "delete", "reply_post"})
# The webhooks controller's own methods.
_WEBHOOK_CAPABILITIES = frozenset({"events_get", "toggle_post", "logs_get"})


@dataclass(frozen=True)
class ApiToken:
    """One row of the module's ``user_api`` table.

    ``permissions`` is None for a full-access token (``permission_enable = 0``); otherwise
    it maps a feature (the controller's name: ``customers``, ``staffs``, ``webhooks``, ...)
    to the capabilities granted (``get``, ``search_get``, ``post``, ``put``, ``delete``, ...).
    """

    token: str
    name: str
    permissions: dict[str, frozenset[str]] | None = None

    def has_feature(self, feature: str) -> bool:
        return self.permissions is None or feature in self.permissions

    def allows(self, feature: str, capability: str) -> bool:
        if self.permissions is None:
            return True
        return capability in self.permissions.get(feature, frozenset())


def parse_permissions(raw: object) -> dict[str, frozenset[str]] | None:
    """``{"customers": ["get", "search_get"], "staffs": []}`` (None: full access).

    Raises ValueError naming what is wrong. A feature with an empty list is granted no
    capability but counts as present (the webhooks controller only asks whether it is).
    """
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValueError("permissions must be an object of feature -> list of capabilities")
    checked: dict[str, frozenset[str]] = {}
    for feature, capabilities in raw.items():
        if not isinstance(capabilities, list) or not all(
            isinstance(item, str) for item in capabilities
        ):
            raise ValueError(f"permissions[{feature!r}] must be a list of capability names")
        unknown = sorted(set(capabilities) - CAPABILITIES - _WEBHOOK_CAPABILITIES)
        if unknown:
            raise ValueError(
                f"unknown capabilities {unknown}; known: "
                + ", ".join(sorted(CAPABILITIES | _WEBHOOK_CAPABILITIES))
            )
        checked[str(feature)] = frozenset(capabilities)
    return checked


def bulk_token(index: int) -> str:
    """The ``index``-th extra token (1-based); the same on every run, so a benchmark can
    compute the tokens of ``--tokens N`` without asking the server."""
    return make_sandbox_token(user=f"pmp-sandbox-{index}", name=f"Workspace {index}")


class TokenRegistry:
    """The tokens a sandbox accepts: the main one (full access) and any added at run time."""

    def __init__(self, main: str) -> None:
        self.main = main
        self._tokens: dict[str, ApiToken] = {main: ApiToken(main, "PMP sandbox")}

    def __len__(self) -> int:
        return len(self._tokens)

    def add(
        self,
        token: str,
        *,
        name: str = "",
        permissions: dict[str, frozenset[str]] | None = None,
    ) -> ApiToken:
        if not token or any(char.isspace() for char in token):
            raise ValueError("a token must be non-empty and without spaces")
        entry = ApiToken(token, name or "API token", permissions)
        self._tokens[token] = entry
        return entry

    def add_bulk(self, count: int) -> list[str]:
        """Tokens 1..count of ``bulk_token`` (full access); existing ones are kept."""
        tokens = [bulk_token(index) for index in range(1, count + 1)]
        for index, token in enumerate(tokens, start=1):
            if token not in self._tokens:
                self._tokens[token] = ApiToken(token, f"Workspace {index}")
        return tokens

    def remove(self, token: str) -> bool:
        if token == self.main:
            return False
        return self._tokens.pop(token, None) is not None

    def clear_added(self) -> None:
        """Forget every token but the main one."""
        self._tokens = {self.main: self._tokens[self.main]}

    def lookup(self, presented: str) -> ApiToken | AuthFailure:
        """The token's row, or the failure the module reports for ``presented``."""
        found = self._tokens.get(presented) if presented else None
        if found is not None:
            return found
        return check_token(presented, self.main) or AuthFailure(None)
