"""The `pmp-bot` command line as an operator uses it: help, start-up errors, and `serve`
answering Slack over HTTP and stopping cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from bot.config import load_settings
from bot.console.slack_standin import RunningSlackStandin
from bot.sandbox import running_sandbox
from bot.sandbox.auth import DEFAULT_SANDBOX_TOKEN
from bot.sandbox.faults import SandboxFaults
from bot.storage import Database, WorkspaceStore
from tests.e2e.conftest import OWNER_A, SIGNING_SECRET, TEAM_A
from tests.e2e.slack_client import SlackSender

SUBCOMMANDS = ["shell", "serve", "socket", "sandbox", "reencrypt"]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any pmp-bot or Slack setting a developer may have exported."""
    prefixes = ("SLACK_", "PMP_", "DATABASE_URL", "HOST", "PORT", "LOG_LEVEL")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(extra)
    return env


def pmp_bot(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("subcommand", [None, *SUBCOMMANDS])
def test_every_subcommand_has_help(subcommand: str | None, tmp_path: Path) -> None:
    args = ["--help"] if subcommand is None else [subcommand, "--help"]
    result = pmp_bot(*args, cwd=tmp_path)
    assert result.returncode == 0
    assert "usage: pmp-bot" in result.stdout
    if subcommand is None:
        assert all(name in result.stdout for name in SUBCOMMANDS)


@pytest.mark.parametrize(
    ("args", "env", "variable"),
    [
        (["serve"], {}, "SLACK_SIGNING_SECRET"),
        (["serve"], {"SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN"),
        (
            ["serve"],
            {"SLACK_SIGNING_SECRET": "s", "SLACK_BOT_TOKEN": "xoxb-1", "PORT": "x"},
            "PORT",
        ),
        (["socket"], {"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_APP_TOKEN"),
        (
            ["serve"],
            {
                "SLACK_SIGNING_SECRET": "s",
                "SLACK_BOT_TOKEN": "xoxb-1",
                "DATABASE_URL": "postgresql://db.example.com/pmpbot",
            },
            "PMP_BOT_SECRET_KEY",
        ),
    ],
)
def test_bad_settings_stop_start_up_with_one_clear_line(
    args: list[str], env: dict[str, str], variable: str, tmp_path: Path
) -> None:
    result = pmp_bot(*args, cwd=tmp_path, env=clean_env(**env))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("subcommand", ["serve", "socket"])
def test_a_rotating_bot_token_stops_start_up_naming_token_rotation(
    subcommand: str, tmp_path: Path
) -> None:
    token = "xoxe.xoxb-1-MTIzNDU2Nzg5-secret-part"
    env = clean_env(SLACK_SIGNING_SECRET="s", SLACK_BOT_TOKEN=token, SLACK_APP_TOKEN="xapp-1-abc")
    result = pmp_bot(subcommand, cwd=tmp_path, env=env)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "rotating token" in line
    assert "token_rotation_enabled: false" in line and "OAuth mode" in line
    assert token not in result.stderr + result.stdout


def start_serve(cwd: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    """`pmp-bot serve` as its own process, stdout and stderr kept for the test to read."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _wait_until_healthy(
    http: httpx.AsyncClient, server: subprocess.Popen[str]
) -> httpx.Response:
    deadline = time.monotonic() + 30
    while True:
        try:
            health = await http.get("/healthz")
        except httpx.TransportError:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            assert time.monotonic() < deadline, "pmp-bot serve did not start"
            time.sleep(0.1)
            continue
        assert health.status_code == 200
        return health


@pytest.mark.parametrize("log_json", [False, True])
async def test_serve_answers_slack_and_stops_cleanly_on_sigterm(
    slack: RunningSlackStandin, tmp_path: Path, log_json: bool
) -> None:
    port = free_port()
    env = clean_env(
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_BOT_TOKEN="xoxb-standin-T0001",
        SLACK_API_URL=slack.api_url,
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.sqlite3'}",
        PMP_BOT_SECRET_KEY=Fernet.generate_key().decode(),
    )
    server = start_serve(tmp_path, env, "--port", str(port), *(["--log-json"] if log_json else []))
    try:
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=5) as http:
            health = await _wait_until_healthy(http, server)
            assert health.json() == {"ok": True}

            sender = SlackSender(f"{base}/slack/events", SIGNING_SECRET, slack, http)
            reply = await sender.command("status", team=TEAM_A, user=OWNER_A)
            assert reply.status_code == 200
            assert "isn't connected" in reply.text
            unsigned = await sender.post(
                sender.command_body("status", team=TEAM_A, user=OWNER_A),
                "application/x-www-form-urlencoded",
                signed=False,
            )
            assert unsigned.status_code == 401
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            _, stderr = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            raise
    # uvicorn finishes the requests in flight, then pmp-bot closes down and exits 0.
    assert server.returncode == 0, stderr
    assert "Finished server process" in stderr
    request_lines = [
        line
        for line in stderr.splitlines()
        if "kind=command" in line or '"kind": "command"' in line
    ]
    assert request_lines, stderr
    if log_json:
        record: dict[str, Any] = json.loads(request_lines[0])
        assert record["team"] == TEAM_A and record["kind"] == "command"
        assert record["name"] == "/pmp status"
        assert isinstance(record["ack_ms"], float)
    else:
        assert f"team={TEAM_A}" in request_lines[0] and "ack_ms=" in request_lines[0]
    assert "xoxb-standin" not in stderr
    # Slack payloads (user ids, typed text) stay out of INFO logs, even for refused requests.
    assert "trigger_id" not in stderr and "response_url" not in stderr
    assert "`token` will be unused" not in stderr


@pytest.mark.parametrize("sigterms", [1, 2])
async def test_sigterm_lets_serve_answer_the_lookups_it_acked_and_a_second_one_ends_it(
    slack: RunningSlackStandin, tmp_path: Path, sigterms: int
) -> None:
    """A deploy stops the old process while lookups it acknowledged still wait for PMP:
    their results are posted before it exits, not dropped with the process. An operator who
    won't wait sends SIGTERM again, and the process ends at once."""
    secret_key = Fernet.generate_key().decode()
    database_url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    with running_sandbox(faults=SandboxFaults(latency=1.5 if sigterms == 1 else 8.0)) as pmp:
        database = await Database.connect(database_url)
        try:
            await database.create_schema()
            cipher = load_settings(env_file=None, pmp_bot_secret_key=secret_key).token_cipher()
            await WorkspaceStore(database, cipher).save_credentials(
                TEAM_A, None, pmp.base_url, DEFAULT_SANDBOX_TOKEN, OWNER_A
            )
        finally:
            await database.dispose()
        port = free_port()
        env = clean_env(
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_BOT_TOKEN="xoxb-standin-T0001",
            SLACK_API_URL=slack.api_url,
            DATABASE_URL=database_url,
            PMP_BOT_SECRET_KEY=secret_key,
            PMP_BOT_ALLOW_PRIVATE_PMP="true",  # the sandbox is on 127.0.0.1
        )
        server = start_serve(tmp_path, env, "--port", str(port))
        try:
            base = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(base_url=base, timeout=5) as http:
                await _wait_until_healthy(http, server)
                sender = SlackSender(f"{base}/slack/events", SIGNING_SECRET, slack, http)
                acked = await sender.command("customer acme", team=TEAM_A, user=OWNER_A)
                assert acked.status_code == 200
                assert not slack.calls_to("response_url")  # PMP is still answering
        finally:
            server.send_signal(signal.SIGTERM)
            if sigterms == 2:
                time.sleep(1.0)  # uvicorn has stopped; the lookup still waits for PMP
                assert server.poll() is None
                server.send_signal(signal.SIGTERM)
            try:
                _, stderr = server.communicate(timeout=30 if sigterms == 1 else 3)
            except subprocess.TimeoutExpired:
                server.kill()
                raise
    assert "Finishing 1 request(s) acknowledged before stopping" in stderr
    if sigterms == 2:
        assert server.returncode == -signal.SIGTERM
        assert not slack.calls_to("response_url")
        return
    assert server.returncode == 0, stderr
    [posted] = slack.calls_to("response_url")
    assert posted.status == 200
    assert "Acme" in json.dumps(posted.params)
    assert "still being answered" not in stderr
