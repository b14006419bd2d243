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
