"""The processes the load benchmark runs besides the bot itself, one per subcommand.

    python benchmarks/servers.py sandbox --port Q [--latency S]
    python benchmarks/servers.py standin --port S
    python benchmarks/servers.py bare --mode ack|respond --port B --api-url URL [--latency S]
    python benchmarks/servers.py bare --mode lookup --port B --api-url URL --pmp-url URL
        --pmp-token T [--pmp-transport httpx|aiohttp]
    python benchmarks/servers.py trivial --port T [--respond]

`sandbox` serves the PMP sandbox app exactly as `pmp-bot sandbox` does (same app, uvicorn
with h11), plus `GET /_bench/count` (API requests answered so far) and `POST /_bench/count`
(reset), so the benchmark can count how often the bot asked PMP. Latency changes at runtime
through the sandbox's own `POST /_sandbox/faults`.

`standin` serves the Slack Web API stand-in and its response URLs, and notes when each
response_url post arrived (monotonic clock, which every process on the machine shares):
`POST /_bench/mint` mints response URLs, `GET /_bench/stream` streams one line per
delivery from then on (`<key> <arrived at> <status>`, after a greeting line) and
`GET /_bench/messages` lists the messages the posts left.

`bare` is a minimal slack-bolt AsyncApp on the same stack as `pmp-bot serve` (uvicorn +
the starlette adapter): `ack` only acknowledges `/pmp`; `respond` acknowledges, waits the
PMP latency and posts to the response_url through one pooled aiohttp session (as pmp-bot
does) - the least work a Slack app answering later can do. `POST /_bench/latency
{"latency": S}` changes the wait. `lookup` is the least a real lookup on the design's stack
does, with no pmp-bot code: it acknowledges, searches PMP (`--pmp-url`, `--pmp-token`) with
one httpx request (`--pmp-transport httpx`: httpx's own transport; `aiohttp`: the least
transport over aiohttp), builds the answer's Block Kit with slack_sdk.models and posts it;
its Slack requests go straight to Bolt in plain ASGI, as pmp-bot's do, not through starlette.

`trivial` is no framework at all: a raw asyncio socket server that answers every request
`200` with an empty body at once (with `--respond` it then posts "1 customer found" to the
request's response_url on a keep-alive connection). It calibrates the load generator and
the Slack stand-in: the most they can drive on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


import aiohttp
import httpx
import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BENCH_TEAM = "T0001"
BENCH_TOKEN = "xoxb-standin-T0001"
BENCH_CHANNEL = "C0001"
BENCH_USER = "U0001"


def serve_app(app: ASGIApp, port: int, *, limit_concurrency: int = 1000) -> None:
    """Serves `app` until stopped, with the same server settings as `pmp-bot serve`
    (server_config in bot/run/serve.py)."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        http="h11",
        limit_concurrency=limit_concurrency,
        timeout_keep_alive=75,
        backlog=2048,
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
    uvicorn.Server(config).run()


async def send_json(send: Send, payload: Any, status: int = 200) -> None:
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


# ---------------------------------------------------------------------------- sandbox


def run_sandbox(args: argparse.Namespace) -> None:
    from bot.sandbox.app import SandboxApp
    from bot.sandbox.auth import DEFAULT_SANDBOX_TOKEN
    from bot.sandbox.faults import SandboxFaults
    from bot.sandbox.store import SandboxStore

    store = SandboxStore(":memory:", seed=True)
    sandbox = SandboxApp(
        store, token=DEFAULT_SANDBOX_TOKEN, faults=SandboxFaults(latency=args.latency)
    )
    counted = {"api": 0}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await sandbox(scope, receive, send)
            return
        path: str = scope["path"]
        if path == "/_bench/count":
            if scope["method"] == "POST":
                counted["api"] = 0
            await send_json(send, {"api_requests": counted["api"]})
            return
        if path.startswith("/api/"):
            counted["api"] += 1
        await sandbox(scope, receive, send)

    serve_app(app, args.port)


# ---------------------------------------------------------------------------- Slack stand-in


def run_standin(args: argparse.Namespace) -> None:
    from bot.console.slack_standin import RunningSlackStandin, default_users

    root = f"http://127.0.0.1:{args.port}"
    standin = RunningSlackStandin(root_url=root)
    standin.add_team(BENCH_TEAM, BENCH_TOKEN)
    standin.add_channel(BENCH_TEAM, BENCH_CHANNEL, "general")
    for person in default_users(BENCH_TEAM):
        standin.add_user(
            person.team_id,
            person.id,
            person.name,
            real_name=person.real_name,
            is_admin=person.is_admin,
            is_owner=person.is_owner,
        )
    deliveries: list[tuple[str, float, int]] = []  # (response URL key, arrived at, status)
    streams: set[asyncio.Event] = set()  # one per /_bench/stream listener

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await standin.asgi_app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == "/_bench/mint":
            request = json.loads(await _read_body(receive))
            urls = [
                standin.new_response_url(BENCH_TEAM, BENCH_CHANNEL, BENCH_USER)
                for _ in range(int(request["count"]))
            ]
            await send_json(send, {"urls": urls})
            return
        if path == "/_bench/stream":
            await _stream_deliveries(receive, send, deliveries, streams)
            return
        if path == "/_bench/messages":
            # What the response_url posts left in the channel, oldest first (for tests).
            with standin._lock:
                kept = [{"text": m.text, "blocks": m.blocks} for m in standin._messages.values()]
            await send_json(send, {"messages": kept})
            return
        if path == "/_bench/reset":
            # Forget recorded calls and messages so long runs don't grow the stand-in.
            with standin._lock:
                standin._calls.clear()
                standin._messages.clear()
                standin._response_urls.clear()
            deliveries.clear()
            await send_json(send, {"ok": True})
            return
        if not path.startswith("/actions/"):
            await standin.asgi_app(scope, receive, send)
            return
        at = time.monotonic()
        key = path.rsplit("/", 1)[-1]
        status_seen = {"status": 0}

        async def noting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_seen["status"] = int(message["status"])
            await send(message)

        await standin.asgi_app(scope, receive, noting_send)
        deliveries.append((key, at, status_seen["status"]))
        for stream in streams:
            stream.set()

    serve_app(app, args.port)


async def _stream_deliveries(
    receive: Receive,
    send: Send,
    deliveries: list[tuple[str, float, int]],
    streams: set[asyncio.Event],
) -> None:
    """Writes each delivery noted from now on as one line, until the listener goes away."""
    await receive()  # the request itself (no body)
    gone = asyncio.ensure_future(receive())  # the next message is the disconnect
    woken = asyncio.Event()
    streams.add(woken)
    sent = len(deliveries)
    try:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain")],
            }
        )
        await send({"type": "http.response.body", "body": b"listening\n", "more_body": True})
        while not gone.done():
            waiting = asyncio.ensure_future(woken.wait())
            await asyncio.wait((waiting, gone), return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
            woken.clear()  # before reading: a delivery noted from here on wakes us again
            if len(deliveries) < sent:
                sent = 0  # /_bench/reset forgot them
            batch, sent = deliveries[sent:], len(deliveries)
            if batch and not gone.done():
                lines = "".join(f"{key} {at!r} {status}\n" for key, at, status in batch)
                await send(
                    {"type": "http.response.body", "body": lines.encode(), "more_body": True}
                )
    finally:
        streams.discard(woken)
        gone.cancel()


# ---------------------------------------------------------------------------- bare Bolt apps


def run_bare(args: argparse.Namespace) -> None:
    from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
    from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltRequest
    from slack_sdk.web.async_client import AsyncWebClient
    from slack_sdk.webhook.async_client import AsyncWebhookClient
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    bolt = AsyncApp(
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        client=AsyncWebClient(base_url=args.api_url, token=BENCH_TOKEN),
    )
    latency = {"seconds": float(args.latency)}
    pooled: list[aiohttp.ClientSession] = []

    if args.mode == "ack":

        @bolt.command("/pmp")
        async def ack_only(ack: AsyncAck) -> None:
            await ack()

    elif args.mode == "respond":

        @bolt.command("/pmp")
        async def ack_and_respond(ack: AsyncAck, body: dict[str, Any]) -> None:
            await ack()
            await asyncio.sleep(latency["seconds"])
            # Bolt's own `respond` opens a session (a new connection) per post; pmp-bot
            # posts through one pooled session, and so does this app.
            if not pooled:
                pooled.append(aiohttp.ClientSession())
            webhook = AsyncWebhookClient(body["response_url"], session=pooled[0])
            await webhook.send_dict({"text": "1 customer found"})

    else:
        # The least a real lookup on the design's stack does, with none of pmp-bot's code:
        # one GET to PMP through httpx.AsyncClient (httpx's own transport), the answer's
        # JSON, a Block Kit message built with slack_sdk.models, one post.
        from urllib.parse import quote

        from slack_sdk.models.blocks import (
            ActionsBlock,
            ButtonElement,
            MarkdownTextObject,
            SectionBlock,
        )

        pmp = httpx.AsyncClient(
            base_url=f"{args.pmp_url}/api/",
            headers={"authtoken": args.pmp_token},
            timeout=10,
            # Every connection kept, so 50 lookups in flight don't reconnect (httpx's default
            # keeps 20 and opens a new connection for most requests past that).
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=256),
            transport=_AiohttpTransport() if args.pmp_transport == "aiohttp" else None,
        )

        @bolt.command("/pmp")
        async def look_up(ack: AsyncAck, body: dict[str, Any]) -> None:
            await ack()
            word = body["text"].split(" ", 1)[1]
            answer = await pmp.get(f"customers/search/{quote(word, safe='')}")
            rows = answer.json() if answer.status_code == 200 else []
            blocks: list[Any] = [
                SectionBlock(
                    text=MarkdownTextObject(
                        text=f"*{row['company']}*  #{row['userid']}\n{row.get('phonenumber') or ''}"
                    ),
                    accessory=ButtonElement(
                        text="Open", action_id="open", value=str(row["userid"])
                    ),
                )
                for row in rows[:10]
            ]
            blocks.append(
                ActionsBlock(elements=[ButtonElement(text="Share", action_id="share", value=word)])
            )
            if not pooled:
                pooled.append(aiohttp.ClientSession())
            webhook = AsyncWebhookClient(body["response_url"], session=pooled[0])
            await webhook.send(text=f"{len(rows)} customer(s) found", blocks=blocks)

    handler = AsyncSlackRequestHandler(bolt)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    async def set_latency(request: Request) -> Response:
        latency["seconds"] = float((await request.json())["latency"])
        return Response("ok")

    routes = [
        Route("/slack/events", events, methods=["POST"]),
        Route("/_bench/latency", set_latency, methods=["POST"]),
    ]
    starlette_app = Starlette(routes=routes)

    async def plain_asgi(scope: Scope, receive: Receive, send: Send) -> None:
        """Slack's requests straight to Bolt, without starlette (as pmp-bot's front door
        does since change 21): the lookup apps are the floor, so their front door is the
        cheapest one."""
        if scope["type"] != "http" or (scope["method"], scope["path"]) != (
            "POST",
            "/slack/events",
        ):
            await starlette_app(scope, receive, send)
            return
        body = await _read_body(receive)
        headers: dict[str, list[str]] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name.decode("latin-1"), []).append(value.decode("latin-1"))
        answer = await bolt.async_dispatch(
            AsyncBoltRequest(body=body.decode(), headers=headers)  # type: ignore[arg-type]
        )
        await send(
            {
                "type": "http.response.start",
                "status": answer.status,
                "headers": [
                    (name.encode(), value.encode())
                    for name, value in answer.first_headers_without_set_cookie().items()
                ],
            }
        )
        await send({"type": "http.response.body", "body": answer.body.encode()})

    serve_app(plain_asgi if args.mode == "lookup" else starlette_app, args.port)


class _AiohttpTransport(httpx.AsyncBaseTransport):
    """The least an httpx transport over aiohttp can be (httpx's API, aiohttp's pool): what
    bare-lookup-aiohttp runs, to show the design's stack at its cheapest. No timeouts, size
    caps or address checks: pmp-bot's own transport (bot/pmp/network.py) has those."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=256)
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False)
        headers = [(k.decode(), v.decode()) for k, v in request.headers.raw]
        async with self._session.request(
            request.method, str(request.url), headers=headers, data=request.content
        ) as answer:
            body = await answer.read()
        return httpx.Response(answer.status, headers=list(answer.raw_headers), content=body)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


# ---------------------------------------------------------------------------- trivial server

_OK = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
_RESULT = b'{"text": "1 customer found"}'


class _Trivial(asyncio.Protocol):
    """Answers each request 200 as soon as its body is in; `post` gets each request body."""

    def __init__(self, post: Callable[[bytes], None] | None) -> None:
        self._post = post
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while (end := self._buffer.find(b"\r\n\r\n")) >= 0:
            head = bytes(self._buffer[:end]).lower()
            at = head.find(b"content-length:")
            length = int(head[at + 15 :].split(b"\r\n", 1)[0]) if at >= 0 else 0
            if len(self._buffer) < end + 4 + length:
                return
            body = bytes(self._buffer[end + 4 : end + 4 + length])
            del self._buffer[: end + 4 + length]
            assert self._transport is not None
            self._transport.write(_OK)
            if self._post is not None:
                self._post(body)


def run_trivial(args: argparse.Namespace) -> None:
    from urllib.parse import unquote_plus, urlsplit

    from benchmarks.load import HttpTarget, Prepared

    async def serve() -> None:
        targets: dict[str, HttpTarget] = {}

        def post_result(body: bytes) -> None:
            at = body.find(b"response_url=")
            if at < 0:
                return
            url = unquote_plus(body[at + 13 :].split(b"&", 1)[0].decode())
            parts = urlsplit(url)
            target = targets.get(parts.netloc)
            if target is None:
                target = targets[parts.netloc] = HttpTarget(url)
            result = Prepared(_RESULT, {"Content-Type": "application/json"})
            target.send(target.render(result, path=parts.path), lambda *_: None)

        loop = asyncio.get_running_loop()
        post = post_result if args.respond else None
        server = await loop.create_server(
            lambda: _Trivial(post), "127.0.0.1", args.port, backlog=2048
        )
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    sandbox = sub.add_parser("sandbox")
    sandbox.add_argument("--port", type=int, required=True)
    sandbox.add_argument("--latency", type=float, default=0.0)
    sandbox.set_defaults(run=run_sandbox)
    standin = sub.add_parser("standin")
    standin.add_argument("--port", type=int, required=True)
    standin.set_defaults(run=run_standin)
    bare = sub.add_parser("bare")
    bare.add_argument("--mode", choices=("ack", "respond", "lookup"), required=True)
    bare.add_argument("--pmp-url", help="lookup: the PMP (sandbox) root")
    bare.add_argument("--pmp-token", help="lookup: its API token")
    bare.add_argument(
        "--pmp-transport",
        choices=("httpx", "aiohttp"),
        default="httpx",
        help="lookup: httpx's own transport, or the least one over aiohttp",
    )
    bare.add_argument("--port", type=int, required=True)
    bare.add_argument("--api-url", required=True)
    bare.add_argument("--latency", type=float, default=0.0)
    bare.set_defaults(run=run_bare)
    trivial = sub.add_parser("trivial")
    trivial.add_argument("--port", type=int, required=True)
    trivial.add_argument("--respond", action="store_true")
    trivial.set_defaults(run=run_trivial)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
