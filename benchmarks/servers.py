"""The processes the load benchmark runs besides the bot itself, one per subcommand.

    python benchmarks/servers.py sandbox --port Q [--latency S]
    python benchmarks/servers.py standin --port S
    python benchmarks/servers.py bare --mode ack|respond --port B --api-url URL [--latency S]

`sandbox` serves the PMP sandbox app exactly as `pmp-bot sandbox` does (same app, uvicorn
with h11), plus `GET /_bench/count` (API requests answered so far) and `POST /_bench/count`
(reset), so the benchmark can count how often the bot asked PMP. Latency changes at runtime
through the sandbox's own `POST /_sandbox/faults`.

`standin` serves the Slack Web API stand-in and its response URLs, and notes when each
response_url post arrived (monotonic clock, which every process on the machine shares):
`POST /_bench/mint` mints response URLs, `GET /_bench/deliveries?after=N&wait=S` long-polls
for the deliveries after the Nth.

`bare` is a minimal slack-bolt AsyncApp on the same stack as `pmp-bot serve` (uvicorn +
the starlette adapter): `ack` only acknowledges `/pmp`; `respond` acknowledges, waits the
PMP latency and posts to the response_url - the least work a real lookup can do.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import contextlib

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BENCH_TEAM = "T0001"
BENCH_TOKEN = "xoxb-standin-T0001"
BENCH_CHANNEL = "C0001"
BENCH_USER = "U0001"


def _serve(app: ASGIApp, port: int) -> None:
    # The same server settings as `pmp-bot serve` (bot/run/serve.py).
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
    uvicorn.Server(config).run()


async def _json(send: Send, payload: Any, status: int = 200) -> None:
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
            await _json(send, {"api_requests": counted["api"]})
            return
        if path.startswith("/api/"):
            counted["api"] += 1
        await sandbox(scope, receive, send)

    _serve(app, args.port)


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
    arrived = asyncio.Event()

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
            await _json(send, {"urls": urls})
            return
        if path == "/_bench/deliveries":
            query = dict(
                part.split("=", 1) for part in scope["query_string"].decode().split("&") if part
            )
            after = int(query.get("after", "0"))
            wait = float(query.get("wait", "0"))
            if len(deliveries) <= after and wait > 0:
                arrived.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(arrived.wait(), wait)
            await _json(send, {"deliveries": deliveries[after:], "next": len(deliveries)})
            return
        if path == "/_bench/reset":
            # Forget recorded calls and messages so long runs don't grow the stand-in.
            with standin._lock:
                standin._calls.clear()
                standin._messages.clear()
                standin._response_urls.clear()
            deliveries.clear()
            await _json(send, {"ok": True})
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
        arrived.set()

    _serve(app, args.port)


# ---------------------------------------------------------------------------- bare Bolt apps


def run_bare(args: argparse.Namespace) -> None:
    from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
    from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
    from slack_sdk.web.async_client import AsyncWebClient
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    bolt = AsyncApp(
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        client=AsyncWebClient(base_url=args.api_url, token=BENCH_TOKEN),
    )
    latency: float = args.latency

    if args.mode == "ack":

        @bolt.command("/pmp")
        async def ack_only(ack: AsyncAck) -> None:
            await ack()

    else:

        @bolt.command("/pmp")
        async def ack_and_respond(ack: AsyncAck, respond: AsyncRespond) -> None:
            await ack()
            await asyncio.sleep(latency)
            await respond(text="1 customer found")

    handler = AsyncSlackRequestHandler(bolt)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    _serve(Starlette(routes=[Route("/slack/events", events, methods=["POST"])]), args.port)


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
    bare.add_argument("--mode", choices=("ack", "respond"), required=True)
    bare.add_argument("--port", type=int, required=True)
    bare.add_argument("--api-url", required=True)
    bare.add_argument("--latency", type=float, default=0.0)
    bare.set_defaults(run=run_bare)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
