"""`pmp-bot socket` as a real process against a stand-in for Slack's Socket Mode (the Web API
methods it calls and the WebSocket Slack hands out): it says it is connected only once it is,
answers a command over the socket, and a token Slack refuses or a Slack out of reach is one
line naming what to fix."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.config import load_settings
from bot.run import socket as socket_mode
from bot.run.common import StartupError
from tests.e2e.test_cli import clean_env, free_port

BOT_TOKEN = "xoxb-socket-bot"
APP_TOKEN = "xapp-1-A1-socket"
TEAM = "T0SOCKET"


@dataclass
class SocketSlack:
    """Slack's side of Socket Mode: auth.test, apps.connections.open and the WebSocket."""

    port: int = 0
    ws_port: int | None = None  # where apps.connections.open points (None: this server)
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    received: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    async def auth_test(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {BOT_TOKEN}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        return web.json_response(
            {"ok": True, "team_id": TEAM, "user_id": "UBOT", "bot_id": "BBOT", "team": "Socket"}
        )

    async def connections_open(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {APP_TOKEN}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        port = self.ws_port or self.port
        return web.json_response({"ok": True, "url": f"ws://127.0.0.1:{port}/link"})

    async def link(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.sockets.append(socket)
        await socket.send_json(
            {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"}}
        )
        self.connected.set()
        async for message in socket:
            if message.type == aiohttp.WSMsgType.TEXT:
                await self.received.put(json.loads(message.data))
        return socket


@pytest.fixture
async def socket_slack() -> AsyncIterator[SocketSlack]:
    slack = SocketSlack()
    app = web.Application()
    app.router.add_post("/api/auth.test", slack.auth_test)
    app.router.add_post("/api/apps.connections.open", slack.connections_open)
    app.router.add_get("/link", slack.link)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    slack.port = runner.addresses[0][1]
    try:
        yield slack
    finally:
        for socket in slack.sockets:
            await socket.close()
        await runner.cleanup()


def socket_env(api_url: str, **extra: str) -> dict[str, str]:
    return clean_env(
        SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=APP_TOKEN, SLACK_API_URL=api_url, **extra
    )


async def run_socket(env: dict[str, str], cwd: Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "socket", cwd=cwd, env=env, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, stderr.decode()


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
async def test_connected_is_said_once_connected_and_commands_are_answered(
    socket_slack: SocketSlack, tmp_path: Path, stop_signal: signal.Signals
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "socket",
        cwd=tmp_path,
        env=socket_env(socket_slack.api_url),
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    seen: list[str] = []
    try:
        while True:
            line = (await asyncio.wait_for(process.stderr.readline(), 60)).decode()
            assert line, "pmp-bot socket stopped: " + "".join(seen)
            seen.append(line)
            if "connected in Socket Mode" in line:
                break
        # Announced only once Slack's WebSocket had the bot on the line.
        assert socket_slack.connected.is_set()
        assert any("connecting to Slack in Socket Mode" in earlier for earlier in seen)

        command = {
            "token": "unused",
            "team_id": TEAM,
            "team_domain": "socket",
            "channel_id": "C1",
            "user_id": "U1",
            "user_name": "ana",
            "command": "/pmp",
            "text": "help",
            "response_url": f"http://127.0.0.1:{free_port()}/respond",
            "trigger_id": "1.2.3",
        }
        await socket_slack.sockets[0].send_json(
            {
                "envelope_id": "env-1",
                "type": "slash_commands",
                "payload": command,
                "accepts_response_payload": True,
            }
        )
        ack = await asyncio.wait_for(socket_slack.received.get(), 30)
        assert ack["envelope_id"] == "env-1"
        assert "`/pmp customer acme`" in json.dumps(ack["payload"])
    finally:
        process.send_signal(stop_signal)
        _, rest = await asyncio.wait_for(process.communicate(), 60)
    stderr = "".join(seen) + rest.decode()
    assert "Traceback" not in stderr
    if stop_signal == signal.SIGTERM:  # stopped as Ctrl-C stops it, not killed mid-work
        assert process.returncode == 0, stderr
    assert BOT_TOKEN not in stderr and APP_TOKEN not in stderr


async def test_an_app_token_slack_refuses_is_one_line(
    socket_slack: SocketSlack, tmp_path: Path
) -> None:
    env = socket_env(socket_slack.api_url)
    env["SLACK_APP_TOKEN"] = "xapp-1-A1-wrong"
    code, stderr = await run_socket(env, tmp_path)
    assert code == 2
    (line,) = stderr.strip().splitlines()
    assert line.startswith("pmp-bot: Slack refused SLACK_APP_TOKEN (invalid_auth)")
    assert "connections:write" in line
    assert not socket_slack.sockets


async def test_a_bot_token_slack_refuses_is_one_line(
    socket_slack: SocketSlack, tmp_path: Path
) -> None:
    env = socket_env(socket_slack.api_url)
    env["SLACK_BOT_TOKEN"] = "xoxb-socket-wrong"
    code, stderr = await run_socket(env, tmp_path)
    assert code == 2
    (line,) = stderr.strip().splitlines()
    assert line.startswith("pmp-bot: Slack refused SLACK_BOT_TOKEN (invalid_auth)")


async def test_slack_out_of_reach_is_one_line(tmp_path: Path) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/api/"
    code, stderr = await run_socket(socket_env(nowhere), tmp_path)
    assert code == 1
    (line,) = stderr.strip().splitlines()
    assert line.startswith(f"pmp-bot: Couldn't reach Slack at {nowhere}")
    assert "SLACK_API_URL" in line


async def test_a_socket_address_that_never_answers_is_one_line(
    socket_slack: SocketSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    socket_slack.ws_port = free_port()  # Slack's answer points where nothing listens
    monkeypatch.setattr(socket_mode, "FIRST_CONNECTION_TIMEOUT_S", 0.5)
    settings = load_settings(
        env_file=None,
        slack_bot_token=BOT_TOKEN,
        slack_app_token=APP_TOKEN,
        slack_api_url=socket_slack.api_url,
        pmp_bot_data_dir=tmp_path / "data",
    )
    with pytest.raises(StartupError) as caught:
        await socket_mode.run_socket_mode(settings, APP_TOKEN)
    assert "no connection to it opened within 0.5 s" in str(caught.value)
    assert "WebSocket" in str(caught.value)
