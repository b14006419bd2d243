"""Start-up as an operator meets it: `pmp-bot serve` and `pmp-bot reencrypt` run as real
processes, and whatever stops them (an unusable data directory, a database out of reach, a
port in use or out of range, a bot token Slack refuses) is one line naming what to fix."""

from __future__ import annotations

import signal
import socket
import subprocess
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from bot.console.slack_standin import RunningSlackStandin
from tests.e2e.conftest import OWNER_A, SIGNING_SECRET, TEAM_A
from tests.e2e.slack_client import SlackSender
from tests.e2e.test_cli import clean_env, free_port, pmp_bot, start_serve


def serve_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    # Slack is a closed port on loopback unless a test names the stand-in: tests never
    # reach outside 127.0.0.1.
    nowhere = f"http://127.0.0.1:{free_port()}/api/"
    settings = {
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_API_URL": nowhere,
        **extra,
    }
    return clean_env(**settings)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("pmp-bot: ")
    return lines[0]


@pytest.mark.parametrize("port", ["0", "65536", "-1", "http", "3000.5"])
def test_a_port_out_of_range_is_one_line(port: str, tmp_path: Path) -> None:
    result = pmp_bot("serve", "--port", port, cwd=tmp_path, env=serve_env(tmp_path))
    assert result.returncode == 2
    line = one_line(result)
    assert "--port must be a whole number from 1 to 65535" in line
    assert repr(port) in line


@pytest.mark.parametrize("shape", ["file", "inside a file"])
@pytest.mark.parametrize("command", ["serve", "reencrypt"])
def test_an_unusable_data_dir_is_one_line(shape: str, command: str, tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("not a directory")
    data_dir = blocker if shape == "file" else blocker / "pmp-bot"
    env = serve_env(tmp_path, PMP_BOT_DATA_DIR=str(data_dir), PORT=str(free_port()))
    result = pmp_bot(command, cwd=tmp_path, env=env)
    assert result.returncode == 2
    line = one_line(result)
    assert f"PMP_BOT_DATA_DIR {data_dir} can't be used" in line
    assert "point it at a directory pmp-bot may write to" in line


@pytest.mark.parametrize("command", ["serve", "reencrypt"])
def test_a_database_out_of_reach_is_one_line_without_its_password(
    command: str, slack: RunningSlackStandin, tmp_path: Path
) -> None:
    closed = free_port()  # nothing listens there
    env = serve_env(
        tmp_path,
        SLACK_BOT_TOKEN="xoxb-standin-T0001",
        SLACK_API_URL=slack.api_url,
        DATABASE_URL=f"postgresql://pmpbot:s3cret-pw@127.0.0.1:{closed}/pmpbot",
        PMP_BOT_SECRET_KEY=Fernet.generate_key().decode(),
        PORT=str(free_port()),
    )
    result = pmp_bot(command, cwd=tmp_path, env=env)
    assert result.returncode == 1
    line = one_line(result)
    assert f"Can't open the database postgresql+asyncpg://pmpbot:***@127.0.0.1:{closed}" in line
    assert "the connection was refused" in line
    assert "Check DATABASE_URL" in line
    assert "s3cret-pw" not in result.stderr


def test_a_port_in_use_is_one_line_and_nothing_claims_to_serve(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = pmp_bot("serve", "--port", str(port), cwd=tmp_path, env=serve_env(tmp_path))
    assert result.returncode == 2
    line = one_line(result)
    assert f"Port {port} on 127.0.0.1 is already in use" in line
    assert "--port or PORT" in line
    assert "serving" not in result.stderr
    assert not (tmp_path / "data").exists()  # it stopped before opening the database


def test_an_unknown_host_is_one_line(tmp_path: Path) -> None:
    env = serve_env(tmp_path, HOST="no-such-host.invalid")
    result = pmp_bot("serve", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert "HOST 'no-such-host.invalid' isn't an address pmp-bot can listen on" in one_line(result)


def test_a_bot_token_slack_refuses_is_one_line(slack: RunningSlackStandin, tmp_path: Path) -> None:
    env = serve_env(
        tmp_path,
        SLACK_API_URL=slack.api_url,
        SLACK_BOT_TOKEN="xoxb-revoked-or-mistyped",
        PORT=str(free_port()),
    )
    result = pmp_bot("serve", cwd=tmp_path, env=env)
    assert result.returncode == 2
    line = one_line(result)
    assert "Slack refused SLACK_BOT_TOKEN (invalid_auth)" in line
    assert "OAuth & Permissions" in line
    assert "xoxb-revoked-or-mistyped" not in result.stderr
    assert [call.method for call in slack.calls if call.method == "auth.test"] == ["auth.test"]


async def test_debug_logs_stay_readable_and_serving_is_said_once_listening(
    slack: RunningSlackStandin, tmp_path: Path
) -> None:
    port = free_port()
    env = serve_env(
        tmp_path,
        SLACK_API_URL=slack.api_url,
        SLACK_BOT_TOKEN="xoxb-standin-T0001",
        LOG_LEVEL="DEBUG",
        PORT=str(port),
    )
    server = start_serve(tmp_path, env)
    try:
        assert server.stderr is not None
        # The line announcing the server comes once the port is bound: it is connectable.
        for line in server.stderr:
            if "serving Slack requests on" in line:
                break
        else:
            pytest.fail("pmp-bot serve stopped without serving")
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            assert (await http.get("/healthz")).status_code == 200
            sender = SlackSender(f"{base}/slack/events", SIGNING_SECRET, slack, http)
            reply = await sender.command("status", team=TEAM_A, user=OWNER_A)
            assert reply.status_code == 200
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=30)
    assert "kind=command" in stderr  # the request line, as at INFO
    assert "aiosqlite" not in stderr
    assert "httpcore" not in stderr
    assert "Traceback" not in stderr
    assert "xoxb-standin" not in stderr
