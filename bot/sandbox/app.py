"""The sandbox's HTTP side: a Starlette app that answers like PMP's REST API module 2.0.8.

Request handling follows the real server's order: CodeIgniter checks the URI's characters
(HTML 400), routes it (HTML 404 for unknown controllers), the REST controller checks the
token (JSON 404), looks for a handler for the HTTP method (JSON 405), then runs it.

The server runs in production mode unless ``faults.dev_mode`` is on: then PHP prints its
warnings as HTML ahead of the JSON (and the answer stays HTTP 200, text/html), and uncaught
PHP errors show CodeIgniter's error page instead of an empty 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import unquote_plus

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from bot.sandbox import changes, pages, resources, schema, webhook_api
from bot.sandbox.auth import (
    NO_PERMISSION,
    AuthFailure,
    TokenRegistry,
    bulk_token,
    make_sandbox_token,
    parse_permissions,
    presented_token,
)
from bot.sandbox.events import Event, Hook, bridged
from bot.sandbox.faults import SandboxFaults
from bot.sandbox.phpish import (
    PhpFatalError,
    PhpOutput,
    PhpValue,
    is_empty,
    multipart_file_fields,
    parse_multipart,
    parse_urlencoded,
    xss_clean,
)
from bot.sandbox.store import ATTACHMENT_KINDS, PmpDatabaseError, SandboxStore
from bot.sandbox.webhooks import WebhookHub, WebhookOptions

logger = logging.getLogger(__name__)

# CodeIgniter's $config['permitted_uri_chars'] as Perfex ships it (checked per raw segment).
_PERMITTED_SEGMENT = re.compile(r"[a-z 0-9~%.:_\-@]+", re.IGNORECASE)
_NUMBER = re.compile(r"[0-9]+")
# REST_Controller answers these verbs; anything else is treated as GET.
_KNOWN_VERBS = frozenset({"get", "delete", "post", "put", "options", "patch", "head"})
CONTROLLERS = frozenset(
    {"customers", "leads", "projects", "milestones", "tickets", "contacts", "staffs"}
)
# Controllers only the 3.x module has.
V3_CONTROLLERS = frozenset({"webhooks"})
_RECORD_METHODS = frozenset({"data_get", "data_search_get", "data_post", "data_put", "data_delete"})
# Controller methods that exist, as "<method>_<verb>". The sandbox serves staff reads only
# (the module also creates, updates and deletes staff).
_HANDLED = {name: _RECORD_METHODS for name in CONTROLLERS} | {
    "staffs": frozenset({"data_get", "data_search_get"})
}
# What the 3.x module adds to them.
_V3_HANDLED = {
    "tickets": frozenset({"data_reply_post"}),
    "webhooks": frozenset(
        {
            "data_get",
            "data_post",
            "data_put",
            "data_delete",
            "events_get",
            "toggle_post",
            "logs_get",
        }
    ),
}
# Controllers whose PUT also accepts a form body (Parse_Input_Stream fallback).
_PUT_ACCEPTS_FORM = frozenset({"leads", "projects", "tickets"})
_V3_PAGE_SIZE = 20


@dataclass(frozen=True)
class ApiRoute:
    controller: str
    method: str
    args: tuple[str, ...]


def route(segments: list[str], *, api_version: int = 2) -> ApiRoute | None:
    """Map URI segments to (controller, method, args) like Perfex's api routes + HMVC."""
    if len(segments) < 2 or segments[0] != "api":
        return None
    rest = segments[1:]
    if api_version >= 3:
        # Routes the 3.x module adds before its generic ones.
        if len(rest) == 3 and rest[:2] == ["tickets", "reply"]:
            return ApiRoute("tickets", "data_reply", (rest[2],))
        if len(rest) == 3 and rest[0] == "webhooks" and rest[2] in ("toggle", "logs"):
            return ApiRoute("webhooks", rest[2], (rest[1],))
    if len(rest) == 3 and rest[0] == "delete" and _NUMBER.fullmatch(rest[2]):
        return ApiRoute(rest[1], "data", (rest[2],))
    if len(rest) == 3 and rest[1] == "search":
        return ApiRoute(rest[0], "data_search", (rest[2],))
    if len(rest) == 2 and rest[1] == "search":
        return ApiRoute(rest[0], "data_search", ())
    if len(rest) == 3 and _NUMBER.fullmatch(rest[2]):
        return ApiRoute(rest[0], "data", (rest[1], rest[2]))
    if len(rest) == 2 and _NUMBER.fullmatch(rest[1]):
        return ApiRoute(rest[0], "data", (rest[1],))
    if len(rest) == 1:
        return ApiRoute(rest[0], "data", ())
    # No route matched: CodeIgniter falls back to api/<controller>/<method>/<args...>.
    return ApiRoute(rest[0], rest[1], tuple(rest[2:]))


def php_json(payload: object) -> bytes:
    """PHP's ``json_encode`` with default flags: compact, \\uXXXX escapes, escaped slashes."""
    text = json.dumps(payload, ensure_ascii=True, separators=(",", ":"))
    return text.replace("/", "\\/").encode("ascii")


def json_answer(status: int, payload: object) -> Response:
    return Response(
        php_json(payload),
        status_code=status,
        headers={"content-type": "application/json; charset=utf-8"},
    )


def _html(status: int, page: str) -> Response:
    return HTMLResponse(page, status_code=status)


# PHP's own content type, sent when a script printed before setting one.
PHP_HTML = "text/html; charset=UTF-8"
# What PHP 8 prints when a header is set after output started (CodeIgniter's
# set_status_header), pointing at where the first warning was printed.
_HEADERS_SENT = (
    "Cannot modify header information - headers already sent by (output started at "
    "/var/www/html/system/core/Exceptions.php:271)"
)


def _after_php_output(php: PhpOutput, status: int, content: str) -> Response:
    """``content`` sent with PHP's own content type. If the script printed warnings first,
    PHP already sent 200 + text/html: the status set now is lost (one more warning)."""
    if not php.started:
        return Response(content.encode(), status_code=status, headers={"content-type": PHP_HTML})
    php.warning(_HEADERS_SENT, "core/Common.php", 570)
    body = "".join(pages.php_error(warning) for warning in php.printed) + content
    return Response(body.encode(), status_code=200, headers={"content-type": PHP_HTML})


def php_answer(php: PhpOutput, status: int, payload: object) -> Response:
    """The controller's JSON answer, after whatever PHP printed before it."""
    if not php.started:
        return json_answer(status, payload)
    return _after_php_output(php, status, php_json(payload).decode("ascii"))


class SandboxApp:
    """ASGI application serving the sandbox; ``self.starlette`` is the Starlette app inside."""

    def __init__(
        self,
        store: SandboxStore,
        *,
        token: str,
        api_version: int = 2,
        faults: SandboxFaults | None = None,
        random_seed: int = 0,
        webhook_options: WebhookOptions | None = None,
    ) -> None:
        if api_version not in (2, 3):
            raise ValueError("api_version must be 2 or 3")
        self.store = store
        self.token = token
        self.tokens = TokenRegistry(token)
        self._issued = 0
        self.webhooks = WebhookHub(store, webhook_options)
        self._lists: dict[str, tuple[int, list[PhpValue], bytes]] = {}
        self.api_version = api_version
        self.faults = faults if faults is not None else SandboxFaults()
        self._random = random.Random(random_seed)
        self._closing: asyncio.Event | None = None
        self._held = 0
        self.starlette = Starlette(routes=[Route("/{path:path}", endpoint=_Endpoint(self))])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.starlette(scope, receive, send)

    def _closing_event(self) -> asyncio.Event:
        if self._closing is None:
            self._closing = asyncio.Event()
        return self._closing

    @property
    def held_requests(self) -> int:
        """Requests currently held back by the latency or hang fault."""
        return self._held

    def release_waiting_requests(self) -> None:
        """Let hanging and delayed requests finish now (called by the server when it stops)."""
        self._closing_event().set()

    # faults

    async def _hang(self, receive: Receive) -> bool:
        """Wait until the client disconnects (True) or the server stops (False)."""

        async def client_gone() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        gone = asyncio.ensure_future(client_gone())
        closing = asyncio.ensure_future(self._closing_event().wait())
        self._held += 1
        try:
            await asyncio.wait({gone, closing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._held -= 1
            for task in (gone, closing):
                task.cancel()
            await asyncio.gather(gone, closing, return_exceptions=True)
        return gone.done() and not gone.cancelled() and gone.exception() is None

    async def _pause(self, seconds: float) -> None:
        self._held += 1
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing_event().wait(), timeout=seconds)
        finally:
            self._held -= 1

    def _fails_now(self) -> bool:
        if self.faults.html_500:
            return True
        return self.faults.error_rate > 0 and self._random.random() < self.faults.error_rate

    # request handling

    async def respond(self, request: Request, receive: Receive) -> Response | None:
        raw_path = request.scope.get("raw_path") or request.scope["path"].encode()
        path = raw_path.decode("latin-1")
        if path.startswith("/_sandbox/"):
            return await self._control(request, path)
        if self.faults.hang:
            if await self._hang(receive):
                return None
            return _html(500, pages.internal_server_error())
        if self.faults.latency > 0:
            await self._pause(self.faults.latency)
        if self._fails_now():
            return _html(500, pages.internal_server_error())
        php = PhpOutput(display_errors=self.faults.dev_mode)
        try:
            return await self._api(request, path, php)
        except PmpDatabaseError as error:
            page = pages.database_error(
                error.number, error.message, error.query, error.filename, error.line
            )
            if php.started:
                return _after_php_output(php, error.status, page)
            return _html(error.status, page)
        except PhpFatalError as error:
            if not php.display_errors:
                # Production: CodeIgniter sets 500 and shows nothing.
                return Response(b"", status_code=500, headers={"content-type": PHP_HTML})
            page = pages.uncaught_exception(error.kind, error.message, error.filename, error.line)
            return _after_php_output(php, 500, page)

    async def _api(self, request: Request, path: str, php: PhpOutput) -> Response:
        segments: list[str] = []
        for segment in path.split("/"):
            segment = segment.strip()
            if segment and not _PERMITTED_SEGMENT.fullmatch(segment):
                return _html(400, pages.disallowed_characters())
            if segment:
                segments.append(segment)
        if segments[:1] == ["index.php"]:
            segments = segments[1:]
        target = route(segments, api_version=self.api_version)
        controllers = CONTROLLERS | V3_CONTROLLERS if self.api_version >= 3 else CONTROLLERS
        if target is None or target.controller not in controllers:
            return _html(404, pages.page_not_found())
        token = presented_token(request.headers, accept_bearer=self.api_version >= 3)
        found = self.tokens.lookup(token)
        # Whose PMP this request stands for (the per_token webhook option).
        request.state.owner = webhook_api.owner_of(token) if token else None
        controller_class = target.controller.capitalize()
        if isinstance(found, AuthFailure):
            reason: dict[str, PhpValue] = {"controller": controller_class, "api_key": token}
            await self._api_event("api.auth.failed", request, {**reason, "reason": found.message})
            return json_answer(404, {"status": False, "message": found.message})
        event_data: dict[str, PhpValue] = {
            "controller": controller_class,
            "api_key": found.token,
            "args": list(target.args),
        }
        await self._api_event("api.auth.success", request, {**event_data, "method": ""})
        if target.controller == "webhooks" and not found.has_feature("webhooks"):
            # The webhooks controller's own check, in its constructor (before routing).
            return json_answer(
                403, {"status": False, "message": "This token has no webhooks permission"}
            )
        verb = request.method.lower()
        if verb not in _KNOWN_VERBS:
            verb = "get"
        handler_name = f"{target.method}_{verb}"
        event_data["method"] = handler_name
        await self._api_event("api.request.received", request, event_data)
        await self._api_event(
            "api.before.controller", request, {**event_data, "arguments": list(target.args)}
        )
        handled = _HANDLED.get(target.controller, frozenset())
        if self.api_version >= 3:
            handled = handled | _V3_HANDLED.get(target.controller, frozenset())
        if handler_name not in handled:
            return json_answer(405, {"status": False, "error": "Unknown method"})
        if not found.allows(target.controller, handler_name.removeprefix("data_")):
            return json_answer(403, {"status": False, "message": NO_PERMISSION})
        answer = await self._dispatch(request, target, handler_name, php)
        await self._api_event("api.after.controller", request, {**event_data, "success": True})
        return answer

    async def _dispatch(
        self, request: Request, target: ApiRoute, handler_name: str, php: PhpOutput
    ) -> Response:
        if target.controller == "webhooks":
            return await self._webhooks_api(request, handler_name, target.args)
        handler = self._handlers()[handler_name]
        return await handler(request, target.controller, target.args, php)

    async def _webhooks_api(
        self, request: Request, handler_name: str, args: tuple[str, ...]
    ) -> Response:
        key = args[0] if args else ""
        owner: str | None = request.state.owner
        try:
            if handler_name == "data_get":
                found = webhook_api.get(self.webhooks, key, owner)
                if isinstance(found, list):
                    return json_answer(200, self._page(request, found))
                return json_answer(200, found)
            if handler_name == "events_get":
                return json_answer(200, webhook_api.events())
            if handler_name == "logs_get":
                return json_answer(
                    200, self._page(request, webhook_api.logs(self.webhooks, key, owner))
                )
            if handler_name == "toggle_post":
                return json_answer(200, webhook_api.toggle(self.webhooks, key, owner))
            if handler_name == "data_delete":
                body, event = webhook_api.delete(self.webhooks, key, owner)
            elif handler_name == "data_post":
                body, event = await webhook_api.create(
                    self.webhooks, await _form_fields(request), owner
                )
            else:
                fields = _decode_put_body(await request.body()) or await _form_fields(request)
                body, event = await webhook_api.update(self.webhooks, key, fields, owner)
        except webhook_api.WebhookAnswer as early:
            return json_answer(early.status, early.body)
        await self.webhooks.send(event, owner)  # the module's "system" events
        return json_answer(200, body)

    def _handlers(
        self,
    ) -> dict[str, Callable[[Request, str, tuple[str, ...], PhpOutput], Awaitable[Response]]]:
        return {
            "data_get": self._get,
            "data_search_get": self._search,
            "data_post": self._post,
            "data_put": self._put,
            "data_delete": self._delete,
            "data_reply_post": self._reply,
        }

    @staticmethod
    def _no_data() -> Response:
        return json_answer(404, {"status": False, "message": "No data were found"})

    async def _get(
        self, request: Request, controller: str, args: tuple[str, ...], php: PhpOutput
    ) -> Response:
        first = args[0] if args else ""
        if controller == "contacts":
            contact_id = args[1] if len(args) > 1 else ""
            found: object = None
            if not is_empty(first) and is_empty(contact_id):
                found = self.store.customer_contacts(first) or None
            elif not is_empty(first):
                found = self.store.contact(contact_id)
            return json_answer(200, found) if found else self._no_data()
        if is_empty(first) or (not first.isdigit() and controller != "milestones"):
            rows, encoded = self._list(controller)
            if not rows:
                return self._no_data()
            if self.api_version >= 3:
                return json_answer(200, self._page(request, rows))
            return Response(
                encoded,
                status_code=200,
                headers={"content-type": "application/json; charset=utf-8"},
            )
        site_url = str(request.base_url).rstrip("/")
        record = resources.read(self.store, controller, first, site_url=site_url)
        if record and controller == "tickets" and self.api_version < 3:
            # 2.0.8's handler loops over the one ticket as if it were a list of them: a PHP 8
            # TypeError for every existing ticket (a missing one still answers 404).
            raise PhpFatalError(
                "Cannot access offset of type string on string",
                "controllers/Tickets.php",
                78,
                kind="TypeError",
            )
        return json_answer(200, record) if record else self._no_data()

    def _list(self, controller: str) -> tuple[list[PhpValue], bytes]:
        """Every row of a list endpoint and its JSON, read again only once the data changed
        (many workspaces polling one sandbox ask for the same list)."""
        version = self.store.version
        cached = self._lists.get(controller)
        if cached is not None and cached[0] == version:
            return cached[1], cached[2]
        rows = resources.read_all(self.store, controller)
        encoded = php_json(rows)
        self._lists[controller] = (version, rows, encoded)
        return rows, encoded

    @staticmethod
    def _page(request: Request, rows: list[PhpValue]) -> PhpValue:
        """3.x list envelope: 20 a page, ``?page=`` (clamped to the last page), ``?per_page=``."""

        def number(name: str, default: int) -> int:
            raw = request.query_params.get(name, "")
            return int(raw) if re.fullmatch(r"-?[0-9]+", raw.strip()) else default

        per_page = max(1, min(100, number("per_page", _V3_PAGE_SIZE)))
        total = len(rows)
        total_pages = max(1, -(-total // per_page))
        page = min(max(1, number("page", 1)), total_pages)
        start = (page - 1) * per_page
        return {
            "data": rows[start : start + per_page],
            "meta": {
                "page": page,
                "per_page": per_page,
                "total": total,
                "total_pages": total_pages,
                "has_more": page < total_pages,
                "current_page": page,
                "last_page": total_pages,
            },
        }

    async def _search(
        self, request: Request, controller: str, args: tuple[str, ...], php: PhpOutput
    ) -> Response:
        raw = args[0] if args else ""
        if self.api_version >= 3 and is_empty(raw):
            raw = request.query_params.get("q") or request.query_params.get("query") or ""
            if is_empty(raw):
                message = (
                    f"Search term is required. Use /api/{controller}/search/{{term}} or "
                    f"/api/{controller}/search?q={{term}}"
                )
                return json_answer(400, {"status": False, "message": message})
        # The module urldecodes the term and trims it before building its SQL.
        term = unquote_plus(raw, errors="replace").strip(" \t\n\r\0\x0b")
        rows = resources.search(self.store, controller, term)
        if not rows:
            return self._no_data()
        if self.api_version >= 3:
            return json_answer(200, self._page(request, rows))  # 3.x pages searches like lists
        return json_answer(200, rows)

    async def _post(
        self, request: Request, controller: str, args: tuple[str, ...], php: PhpOutput
    ) -> Response:
        form = await _form_fields(request)
        answer = resources.create(
            self.store,
            controller,
            form,
            self.api_version,
            php,
            uploads=await _uploaded_fields(request),
        )
        await self.fired(answer.hooks, request.state.owner)
        return php_answer(php, answer.status, answer.body)

    async def _put(
        self, request: Request, controller: str, args: tuple[str, ...], php: PhpOutput
    ) -> Response:
        raw = await request.body()
        body = _decode_put_body(raw)
        if body is None and controller in _PUT_ACCEPTS_FORM:
            body = await _form_fields(request) or None
        if body is None:
            return json_answer(
                406, {"status": False, "message": "Data Not Acceptable OR Not Provided"}
            )
        key = args[0] if args else ""
        answer = resources.update(self.store, controller, key, body, self.api_version, php)
        await self.fired(answer.hooks, request.state.owner)
        return php_answer(php, answer.status, answer.body)

    async def _delete(
        self, request: Request, controller: str, args: tuple[str, ...], php: PhpOutput
    ) -> Response:
        answer = resources.delete(self.store, controller, args[0] if args else "")
        await self.fired(answer.hooks, request.state.owner)
        return json_answer(answer.status, answer.body)

    async def _reply(
        self, request: Request, controller: str, args: tuple[str, ...], php: PhpOutput
    ) -> Response:
        # 3.x reads a form body, or a JSON one into $_POST; nothing at all is refused.
        fields: dict[str, PhpValue] = await _form_fields(request) or (
            _decode_put_body(await request.body()) or {}
        )
        if not fields:
            return json_answer(
                406, {"status": False, "message": "Data Not Acceptable OR Not Provided"}
            )
        answer = resources.reply(self.store, args[0] if args else "", fields)
        await self.fired(answer.hooks, request.state.owner)
        return json_answer(answer.status, answer.body)

    async def fired(self, hooks: tuple[Hook, ...], owner: str | None = None) -> list[Event]:
        """Perfex fired these hooks: the 3.x module sends the webhooks they map to (returned).
        ``owner``: the token the change was made with (see the ``per_token`` option)."""
        if self.api_version < 3:
            return []
        events = [event for hook in hooks for event in bridged(hook)]
        for event in events:
            await self.webhooks.send(event, owner)
        return events

    async def _api_event(self, name: str, request: Request, data: dict[str, PhpValue]) -> None:
        """The 3.x module's Api_Event_Manager also sends its own lifecycle events (``api.*``,
        not in the catalog) to every webhook subscribed to ``*``; their data carries the
        request's token as ``api_key``."""
        if self.api_version < 3 or not self.webhooks.has_wildcard():
            return
        client = request.client
        payload: dict[str, PhpValue] = {
            "timestamp": int(time.time()),
            "request_method": request.method.lower(),
            "uri": request.url.path.lstrip("/"),
            "ip_address": client.host if client is not None else None,
            "user_agent": request.headers.get("user-agent"),
            **data,
        }
        await self.webhooks.send(Event(name, payload), request.state.owner)

    # control endpoints

    async def _control(self, request: Request, path: str) -> Response:
        token = presented_token(request.headers, accept_bearer=True)
        if token != self.token:
            found = self.tokens.lookup(token)
            message = found.message if isinstance(found, AuthFailure) else None
            # Only the sandbox's main token may use the controls.
            return json_answer(404, {"status": False, "message": message})
        action = path.rstrip("/")
        if action == "/_sandbox/faults" and request.method == "GET":
            return json_answer(200, {"status": True, "faults": dict(self.faults.as_dict())})
        if action == "/_sandbox/faults" and request.method == "POST":
            try:
                changes = json.loads(await request.body() or b"{}")
                if not isinstance(changes, dict):
                    raise ValueError("send a JSON object of fault fields")
                self.faults.update(changes)
            except ValueError as error:
                return json_answer(400, {"status": False, "message": str(error)})
            return json_answer(200, {"status": True, "faults": dict(self.faults.as_dict())})
        if action == "/_sandbox/reset" and request.method == "POST":
            self.store.reset()
            self.faults.clear()
            self.webhooks.reset()
            return json_answer(200, {"status": True, "message": "Sandbox reset."})
        if action == "/_sandbox/tokens" and request.method == "GET":
            return json_answer(200, {"status": True, "count": len(self.tokens)})
        if action == "/_sandbox/tokens" and request.method == "POST":
            return await self._tokens_control(request)
        if action.startswith("/_sandbox/webhooks/"):
            return await self._webhooks_control(request, action)
        if action == "/_sandbox/bulk" and request.method == "POST":
            return await self._bulk_control(request)
        if action == "/_sandbox/changes" and request.method == "POST":
            return await self._changes_control(request)
        replies = _REPLIES_CONTROL.fullmatch(action)
        if replies is not None and request.method == "GET":
            ticket = self.store.row(schema.TICKETS, replies.group(1))
            if ticket is None:
                return json_answer(404, {"status": False, "message": "No such ticket."})
            listed = self.store.ticket_replies(replies.group(1))
            return json_answer(200, {"status": True, "ticket": ticket, "replies": listed})
        files = _FILES_CONTROL.fullmatch(action)
        if files is not None and request.method in ("GET", "POST", "DELETE"):
            return await self._files_control(request, files.group(1), files.group(2))
        return json_answer(404, {"status": False, "message": "Unknown sandbox control."})

    async def _webhooks_control(self, request: Request, action: str) -> Response:
        """``/_sandbox/webhooks/options`` (GET, POST ``{"allow_loopback": true, "backoff":
        0.01, "ssrf_strict": false}``), ``/_sandbox/webhooks/deliveries`` (GET, ``?event=``,
        ``?webhook_id=``; DELETE forgets them) and ``/_sandbox/webhooks/deliveries/<id>/resend``
        (POST ``{"verbatim": true}`` replays the last attempt's headers, signature included;
        ``{"timestamp": <unix>}`` signs again with that time)."""
        hub = self.webhooks
        try:
            fields = json.loads(await request.body() or b"{}")
            if not isinstance(fields, dict):
                raise ValueError("send a JSON object")
            if action == "/_sandbox/webhooks/options":
                if request.method == "POST":
                    hub.options.update(fields)
                return json_answer(200, {"status": True, "options": hub.options.as_dict()})
            if action == "/_sandbox/webhooks/deliveries":
                if request.method == "DELETE":
                    hub.clear_deliveries()
                    return json_answer(200, {"status": True})
                listed = hub.deliveries(
                    event=request.query_params.get("event"),
                    webhook_id=request.query_params.get("webhook_id"),
                )
                found: list[PhpValue] = [delivery.as_dict() for delivery in listed]
                return json_answer(
                    200, {"status": True, "pending": hub.pending, "deliveries": found}
                )
            resend = _RESEND_CONTROL.fullmatch(action)
            if resend is not None and request.method == "POST":
                timestamp = fields.get("timestamp")
                if timestamp is not None and (
                    isinstance(timestamp, bool) or not isinstance(timestamp, int)
                ):
                    raise ValueError("timestamp must be a unix time in seconds")
                sent = await hub.resend(
                    int(resend.group(1)),
                    timestamp=timestamp,
                    verbatim=fields.get("verbatim") is True,
                )
                if sent is None:
                    return json_answer(404, {"status": False, "message": "No such delivery."})
                return json_answer(200, {"status": True, "delivery": sent.as_dict()})
        except ValueError as error:
            return json_answer(400, {"status": False, "message": str(error)})
        return json_answer(404, {"status": False, "message": "Unknown sandbox control."})

    async def _bulk_control(self, request: Request) -> Response:
        """``POST /_sandbox/bulk {"customers": N, "tickets": N}``: add plain records in bulk
        (each customer with a primary contact; tickets from active contacts)."""
        try:
            fields = json.loads(await request.body() or b"{}")
            if not isinstance(fields, dict) or set(fields) - {"customers", "tickets"}:
                raise ValueError('send {"customers": N, "tickets": N}')
            counts: dict[str, int] = {}
            for name in ("customers", "tickets"):
                count = fields.get(name, 0)
                if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 1e6:
                    raise ValueError(f"{name} must be a whole number from 0 to 1000000")
                counts[name] = count
        except ValueError as error:
            return json_answer(400, {"status": False, "message": str(error)})
        customers = (
            self.store.add_bulk_customers(counts["customers"]) if counts["customers"] else []
        )
        tickets = self.store.add_bulk_tickets(counts["tickets"]) if counts["tickets"] else []
        added: dict[str, PhpValue] = {
            "status": True,
            "customers": [customers[0], customers[-1]] if customers else [],
            "tickets": [tickets[0], tickets[-1]] if tickets else [],
        }
        return json_answer(200, added)

    async def _changes_control(self, request: Request) -> Response:
        """``POST /_sandbox/changes``: a change made in PMP's web UI (bot/sandbox/changes.py),
        as a change object or ``{"command": "ticket 3 status=2"}`` (the console's words)."""
        try:
            change = json.loads(await request.body() or b"{}")
            owner = None
            if isinstance(change, dict):
                owner = self._change_owner(change)
                if isinstance(change.get("command"), str):
                    change = changes.parse_command(change["command"])
            result = changes.apply_change(self.store, change)
        except changes.ChangeError as error:
            return json_answer(error.status, {"status": False, "message": str(error)})
        except ValueError as error:
            return json_answer(400, {"status": False, "message": f"send JSON: {error}"})
        sent = await self.fired(result.hooks, owner)
        body: dict[str, PhpValue] = {
            "status": True,
            "kind": result.kind,
            "action": result.action,
            "id": result.record_id,
            "record": dict(result.record) if result.record is not None else None,
            "events": [event.name for event in sent],
            "summary": changes.summary(result, [event.name for event in sent], self.api_version),
        }
        if result.reply_id is not None:
            body["reply_id"] = result.reply_id
        return json_answer(200, body)

    @staticmethod
    def _change_owner(change: dict[str, object]) -> str | None:
        """The PMP a change is made in, for per-token webhooks: ``"token": "..."`` or
        ``"workspace": N`` (bulk token N); none: every webhook hears it."""
        token = change.pop("token", None)
        workspace = change.pop("workspace", None)
        if workspace is not None:
            if isinstance(workspace, bool) or not isinstance(workspace, int) or workspace < 1:
                raise changes.ChangeError("workspace must be the number of a bulk token (1..N)")
            token = bulk_token(workspace)
        if token is None:
            return None
        if not isinstance(token, str) or not token:
            raise changes.ChangeError("token must be an API token")
        return webhook_api.owner_of(token)

    async def _tokens_control(self, request: Request) -> Response:
        """``POST /_sandbox/tokens``: ``{"count": N}`` accepts the N bulk tokens (full access,
        ``bot.sandbox.auth.bulk_token(1..N)``) and lists them; ``{"name": ..., "permissions":
        {"customers": ["get", "search_get"], ...}, "token": optional}`` adds one token with
        only those permissions (a feature left out is refused with 403)."""
        try:
            fields = json.loads(await request.body() or b"{}")
            if not isinstance(fields, dict):
                raise ValueError("send a JSON object")
            if "count" in fields:
                count = fields["count"]
                whole = isinstance(count, int) and not isinstance(count, bool)
                if not whole or not 0 <= count <= 100000:
                    raise ValueError("count must be a whole number from 0 to 100000")
                tokens = self.tokens.add_bulk(count)
                return json_answer(200, {"status": True, "tokens": list(tokens)})
            permissions = parse_permissions(fields.get("permissions"))
            name = fields.get("name", "")
            if not isinstance(name, str):
                raise ValueError("name must be a string")
            token = fields.get("token")
            if token is None:
                self._issued += 1
                token = make_sandbox_token(user=f"pmp-sandbox-issued-{self._issued}", name=name)
            if not isinstance(token, str):
                raise ValueError("token must be a string")
            entry = self.tokens.add(token, name=name, permissions=permissions)
        except ValueError as error:
            return json_answer(400, {"status": False, "message": str(error)})
        return json_answer(200, {"status": True, "token": entry.token})

    async def _files_control(self, request: Request, kind: str, record_id: str) -> Response:
        """``/_sandbox/files/<leads|projects|tickets>/<id>``: GET lists a record's attachments,
        POST ``{"file_name": ..., "filetype": ...}`` adds one, DELETE removes them all."""
        if request.method == "POST":
            try:
                fields = json.loads(await request.body() or b"{}")
                name = fields.get("file_name") if isinstance(fields, dict) else None
                if not isinstance(name, str) or not name.strip():
                    raise ValueError("send a JSON object with a file_name")
                filetype = fields.get("filetype", "application/pdf")
                if not isinstance(filetype, str):
                    raise ValueError("filetype must be a string")
            except ValueError as error:
                return json_answer(400, {"status": False, "message": str(error)})
            file_id = self.store.add_file(kind, record_id, name.strip(), filetype=filetype)
            return json_answer(200, {"status": True, "id": file_id})
        if request.method == "DELETE":
            deleted = self.store.delete_files(kind, record_id)
            return json_answer(200, {"status": True, "deleted": deleted})
        return json_answer(200, {"status": True, "files": self.store.files(kind, record_id)})


class _Endpoint:
    """The single Starlette route's ASGI endpoint (an instance, so Starlette passes every verb)."""

    def __init__(self, app: SandboxApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            response = await self._app.respond(request, receive)
        except Exception:
            logger.exception("sandbox request failed")
            response = _html(500, pages.internal_server_error())
        if response is not None:
            await response(scope, receive, send)


_RESEND_CONTROL = re.compile(r"/_sandbox/webhooks/deliveries/([0-9]+)/resend")
_REPLIES_CONTROL = re.compile(r"/_sandbox/replies/([0-9]+)")
_FILES_CONTROL = re.compile(rf"/_sandbox/files/({'|'.join(ATTACHMENT_KINDS)})/([0-9]+)")


async def _uploaded_fields(request: Request) -> frozenset[str]:
    """$_FILES: the names of a multipart body's file parts."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "multipart/form-data":
        return frozenset()
    return multipart_file_fields(await request.body(), content_type)


async def _form_fields(request: Request) -> dict[str, PhpValue]:
    """$_POST: form bodies only; any other body (JSON included) leaves it empty."""
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";")[0].strip().lower()
    body = await request.body()
    if media_type == "application/x-www-form-urlencoded":
        return parse_urlencoded(body)
    if media_type == "multipart/form-data":
        return parse_multipart(body, content_type)
    return {}


def _decode_put_body(raw: bytes) -> dict[str, PhpValue] | None:
    """``json_decode(xss_clean(php://input), true)``; None when PHP would see it as empty."""
    text = xss_clean(raw.decode("utf-8", errors="replace"))
    try:
        decoded = json.loads(text)
    except ValueError:
        return None
    if is_empty(decoded):
        return None
    if isinstance(decoded, dict):
        return {str(name): value for name, value in decoded.items()}
    if isinstance(decoded, list):
        # A JSON array becomes a PHP array with keys 0..n-1: column "0" does not exist.
        return {str(index): value for index, value in enumerate(decoded)}
    raise PhpFatalError(
        "Cannot use a scalar value as an array", "modules/api/controllers/REST_Controller.php", 1123
    )
