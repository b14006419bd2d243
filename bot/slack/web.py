"""The HTTP front door: Slack's request URL, the OAuth pages and a health check.

Whatever reaches /slack/events is a stranger's until its signature checks out. So the route
refuses by the headers alone what it can (a body announced too big, no signature, a stale
timestamp), reads at most MAX_BODY_BYTES, checks Slack's HMAC on the raw bytes, and only then
parses, within bounds, before Bolt sees the request (Bolt checks the signature once more).

PMP's webhook deliveries (``POST /pmp/webhooks/<path id>``) get the same care: a body capped
before it is read, the workspace's HMAC checked on the raw bytes before anything parses them
(bot.subscriptions.webhooks), and an answer at once while the work waits in the database.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from slack_bolt.adapter.starlette.async_handler import to_async_bolt_request, to_starlette_response
from slack_bolt.async_app import AsyncApp, AsyncBoltRequest
from slack_bolt.request.internals import parse_body
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from bot.observability import RequestTrace, current_trace
from bot.services import BotServices
from bot.slack.app import INSTALL_PATH, REDIRECT_PATH

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
SIGNATURE_HEADER = "X-Slack-Signature"

# Slack's largest requests (modal submissions full of blocks) are tens of kilobytes.
MAX_BODY_BYTES = 1024 * 1024
# A slash command has 15 form fields, every other request one (`payload`).
MAX_FORM_FIELDS = 100
# Slack's deepest payloads (rich text in message events) nest about 15 levels; far deeper ones
# would make any recursive walk of the body (a copy, a dump) fail.
MAX_JSON_DEPTH = 64
# Slack sends a request in one go; a client trickling its body holds a connection for nothing.
BODY_READ_SECONDS = 10.0
# Slack's rule: a request signed more than five minutes from now is a replay.
MAX_CLOCK_SKEW_SECONDS = 300

# PMP's signed webhook deliveries: /pmp/webhooks/<a workspace's opaque path id>.
PMP_WEBHOOK_ROUTE = "/pmp/webhooks/{path_id}"
PMP_SIGNATURE_HEADER = "X-Perfex-Signature"
# A delivery carries one record's event: far below Slack's largest requests.
MAX_WEBHOOK_BODY_BYTES = 256 * 1024
_WEBHOOK_PATH_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")

# Seconds since 1970 have 10 digits until the year 2286; a longer "number" is an attack on
# int() (Python refuses more than 4300 digits with an error).
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


class _BodyTooLarge(Exception):
    pass


def create_web_app(app: AsyncApp, services: BotServices) -> ASGIApp:
    """One URL takes every Slack request (commands, interactivity, options loads, events).

    It is answered in plain ASGI, outside starlette's routing and request and response
    objects: every Slack request comes there, and starlette's share of a lookup's CPU was
    about a tenth. The other pages go through starlette."""
    signing_secret = services.settings.signing_secret()
    if not signing_secret:
        raise ValueError("Serving Slack's requests over HTTP needs SLACK_SIGNING_SECRET.")
    secret = signing_secret.encode()

    async def slack_events(scope: Scope, receive: Receive) -> _Answer:
        trace = RequestTrace(observer=services.metrics)
        current_trace.set(trace)
        response = await answer(scope, receive)
        trace.mark_acked(response.status)
        return response

    async def answer(scope: Scope, receive: Receive) -> _Answer:
        headers = Headers(scope=scope)
        refused = _refused_by_headers(headers)
        if refused is not None:
            return _Answer.of(refused)
        try:
            async with asyncio.timeout(BODY_READ_SECONDS):
                raw = await _read_asgi_body(receive, MAX_BODY_BYTES)
        except _BodyTooLarge:
            return _Answer.of(_refusal(413, "request too large"))
        except TimeoutError:
            return _Answer.of(_refusal(408, "request body too slow"))
        except ClientDisconnect:
            # Nobody is left to answer; 499 only tells the request log what happened.
            return _Answer(499)
        if not _signed(secret, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], raw):
            return _Answer.of(_refusal(401, "invalid request"))
        body = _parsed(raw, headers.get("content-type"))
        if body is None:
            # Bolt would fail on it with a 500 and a traceback.
            return _Answer.of(_refusal(400, "invalid request"))
        if body.get("type") == "app_rate_limited":
            # No workspace's request: Bolt's authorization would refuse it.
            _log_rate_limited(body)
            return _Answer(200)
        bolt_request = AsyncBoltRequest(
            body=raw.decode("utf-8"),
            query=scope.get("query_string", b"").decode("latin-1"),
            headers=_bolt_headers(scope),
        )
        bolt_response = await app.async_dispatch(bolt_request)
        return _Answer(
            bolt_response.status,
            bolt_response.body.encode("utf-8"),
            bolt_response.first_headers_without_set_cookie(),
        )

    async def oauth_pages(request: Request) -> Response:
        # A browser's GET: whatever body a stranger sends along is never read.
        flow = app.oauth_flow
        assert flow is not None, "the OAuth pages are only routed in OAuth mode"
        bolt_request = to_async_bolt_request(request, b"")
        if request.url.path == INSTALL_PATH:
            return to_starlette_response(await flow.handle_installation(bolt_request))
        return to_starlette_response(await flow.handle_callback(bolt_request))

    async def healthz(request: Request) -> Response:
        if await services.database.ping():
            return JSONResponse({"ok": True})
        return JSONResponse({"ok": False, "error": "database unreachable"}, status_code=503)

    async def metrics(request: Request) -> Response:
        page = await services.metrics.render(services.workspaces.count_connected)
        return Response(page, media_type=METRICS_CONTENT_TYPE)

    async def pmp_webhook(request: Request) -> Response:
        # A stranger's until the workspace's secret signed it: refused by the address and
        # headers where possible, the body read within bounds and checked before it is parsed.
        sources = services.sources
        path_id = request.path_params.get("path_id", "")
        if sources is None or not _WEBHOOK_PATH_ID.fullmatch(path_id):
            return _refusal(404, "unknown webhook")
        length = request.headers.get("content-length") or ""
        if (
            length.isascii()
            and length.isdigit()
            and (len(length) > 12 or int(length) > MAX_WEBHOOK_BODY_BYTES)
        ):
            return _refusal(413, "request too large")
        signature = request.headers.get(PMP_SIGNATURE_HEADER) or ""
        if not signature or len(signature) > 1000 or "v1=" not in signature:
            return _refusal(401, "invalid request")
        try:
            async with asyncio.timeout(BODY_READ_SECONDS):
                raw = await _read_body(request, MAX_WEBHOOK_BODY_BYTES)
        except _BodyTooLarge:
            return _refusal(413, "request too large")
        except TimeoutError:
            return _refusal(408, "request body too slow")
        except ClientDisconnect:
            return Response(status_code=499)
        answer = await sources.receive_webhook(path_id, signature, raw)
        if answer.status >= 400:
            return _refusal(
                answer.status, "invalid request" if answer.status == 401 else "unknown webhook"
            )
        return JSONResponse({"ok": True, "outcome": answer.outcome}, status_code=answer.status)

    async def root(request: Request) -> Response:
        return PlainTextResponse("pmp-bot is running. Slack sends its requests to /slack/events.")

    async def refuse_method(request: Request) -> Response:
        return PlainTextResponse("Method Not Allowed", status_code=405, headers={"Allow": "POST"})

    routes = [
        # POST is answered before starlette (below); other methods are refused here.
        Route(EVENTS_PATH, refuse_method, methods=["GET", "HEAD", "PUT", "DELETE", "PATCH"]),
        Route(PMP_WEBHOOK_ROUTE, pmp_webhook, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/", root, methods=["GET"]),
    ]
    if app.oauth_flow is not None:
        routes += [
            Route(INSTALL_PATH, oauth_pages, methods=["GET"]),
            Route(REDIRECT_PATH, oauth_pages, methods=["GET"]),
        ]
    pages = Starlette(routes=routes)

    async def front_door(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == EVENTS_PATH and scope["method"] == "POST":
            await (await slack_events(scope, receive)).send(send)
        else:
            await pages(scope, receive, send)

    return front_door


class _Answer:
    """An answer to a Slack request, sent as plain ASGI messages."""

    __slots__ = ("body", "headers", "status")

    def __init__(
        self, status: int, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> None:
        self.status = status
        self.body = body
        self.headers = headers or {}

    @classmethod
    def of(cls, response: Response) -> _Answer:
        answer = cls(response.status_code, bytes(response.body))
        answer.headers = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in response.raw_headers
            if name != b"content-length"
        }
        return answer

    async def send(self, send: Send) -> None:
        raw_headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in self.headers.items()
            if name.lower() != "content-length"
        ]
        raw_headers.append((b"content-length", str(len(self.body)).encode("ascii")))
        await send({"type": "http.response.start", "status": self.status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": self.body})


def _bolt_headers(scope: Scope) -> dict[str, str | Sequence[str]]:
    """The request's headers as Bolt takes them (lower-case names, repeated ones listed)."""
    headers: dict[str, str | Sequence[str]] = {}
    for raw_name, raw_value in scope["headers"]:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        known = headers.get(name)
        if known is None:
            headers[name] = value
        elif isinstance(known, str):
            headers[name] = [known, value]
        else:
            headers[name] = [*known, value]
    return headers


async def _read_asgi_body(receive: Receive, limit: int) -> bytes:
    """The body, read as it arrives and given up as soon as it passes `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _refusal(status: int, error: str) -> Response:
    return JSONResponse({"error": error}, status_code=status)


def _refused_by_headers(headers: Headers) -> Response | None:
    """The refusal a request earns before a byte of its body is read, if any."""
    length = headers.get("content-length") or ""
    if length.isascii() and length.isdigit() and (len(length) > 12 or int(length) > MAX_BODY_BYTES):
        return _refusal(413, "request too large")
    timestamp = headers.get(TIMESTAMP_HEADER) or ""
    signature = headers.get(SIGNATURE_HEADER) or ""
    if not (_TIMESTAMP.fullmatch(timestamp) and _SIGNATURE.fullmatch(signature)):
        return _refusal(401, "invalid request")
    if abs(time.time() - int(timestamp)) > MAX_CLOCK_SKEW_SECONDS:
        return _refusal(401, "invalid request")
    return None


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, read as it arrives and given up as soon as it passes `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _signed(secret: bytes, timestamp: str, signature: str, raw: bytes) -> bool:
    """Slack's v0 signature over the raw bytes, whatever they encode."""
    basestring = b"v0:" + timestamp.encode("ascii") + b":" + raw
    expected = "v0=" + hmac.new(secret, basestring, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def _parsed(raw: bytes, content_type: str | None) -> dict[str, object] | None:
    """The body as Bolt will parse it, or None when Bolt can't read it: not UTF-8, not a JSON
    object, too many form fields, nested too deep, or with keys Bolt reads missing or
    ill-typed."""
    try:
        text = raw.decode("utf-8")
        media_type = content_type.split(";")[0] if content_type else None
        is_json = media_type == "application/json" or text.startswith("{")
        if not is_json and text.count("&") >= MAX_FORM_FIELDS:
            # Bolt's own parse has no cap on fields; a million of them blocked the loop 2 s.
            return None
        parsed = parse_body(text, media_type)
    except (ValueError, RecursionError):
        # UnicodeDecodeError, JSONDecodeError and too many fields are ValueErrors; json's
        # decoder raises RecursionError on arrays or objects nested too deep.
        return None
    if not (isinstance(parsed, dict) and _shallow(parsed) and _well_shaped(parsed)):
        return None
    return parsed


def _shallow(body: dict[str, object]) -> bool:
    """Whether `body` nests at most MAX_JSON_DEPTH levels (walked without recursion)."""
    pending: list[tuple[dict[str, object] | list[object], int]] = [(body, 1)]
    while pending:
        container, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            return False
        children = container.values() if isinstance(container, dict) else container
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return True


def _log_rate_limited(body: dict[str, object]) -> None:
    minute = body.get("minute_rate_limited")
    since = (
        datetime.fromtimestamp(minute, UTC).strftime("%Y-%m-%d %H:%M UTC")
        if isinstance(minute, int) and 0 <= minute < 10**11
        else "-"
    )
    logger.warning(
        "Slack is holding back events for workspace %s (rate limited since %s): more than "
        "30,000 events an hour, or too many deliveries pmp-bot did not answer with a 200.",
        str(body.get("team_id") or "-")[:32],
        since,
    )


# Keys of Slack payloads that Bolt reads into (`body["event"].get(...)`) before any listener
# runs, with the types Slack sends: anything else made Bolt fail with a 500.
_OBJECT_KEYS = ("event", "view", "container", "message", "previous_message")
_OBJECT_OR_ID_KEYS = ("team", "user", "channel", "enterprise")
_LIST_OF_OBJECTS_KEYS = ("authorizations", "actions", "response_urls")


def _well_shaped(body: dict[str, object]) -> bool:
    event = body.get("event")
    view = body.get("view")
    if body.get("type") == "view_submission" and isinstance(view, dict) and "type" not in view:
        return False  # Bolt reads body["view"]["type"] to tell workflow steps apart
    return _keys_well_shaped(body) and (not isinstance(event, dict) or _keys_well_shaped(event))


def _keys_well_shaped(body: dict[str, object]) -> bool:
    for key in _OBJECT_KEYS:
        if key in body and not isinstance(body[key], dict):
            return False
    for key in _OBJECT_OR_ID_KEYS:
        if body.get(key) is not None and not isinstance(body[key], dict | str):
            return False
    for key in _LIST_OF_OBJECTS_KEYS:
        value = body.get(key)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(item, dict) for item in value)
        ):
            return False
    return True
