"""What the container image runs, run the same way without a container: the Dockerfile's
ENTRYPOINT and CMD with its environment (read from the Dockerfile), a fresh data directory
standing in for the /data volume, and the operator's Slack settings as `--env-file` passes
them. The image's HEALTHCHECK and the README's backup commands run against it."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from bot.console.slack_standin import RunningSlackStandin
from bot.storage.schema import SCHEMA_VERSION
from tests.docs.files import IMAGE_VENV, dockerfile, read, section, shell_lines
from tests.e2e.conftest import OWNER_A, SIGNING_SECRET, TEAM_A
from tests.e2e.slack_client import SlackSender
from tests.e2e.test_cli import clean_env, free_port

IMAGE = dockerfile()
# The image's /data volume, as a folder of the test.
VOLUME = IMAGE.volumes[0]


def image_environment(data_dir: Path, port: int, slack: RunningSlackStandin) -> dict[str, str]:
    env = clean_env()
    for name, value in IMAGE.env.items():
        if name == "PATH":
            # The image's venv is this checkout's venv.
            value = value.replace(f"{IMAGE_VENV}/bin", str(Path(sys.executable).parent))
            value = value.replace("$PATH", os.environ.get("PATH", ""))
        env[name] = value.replace(VOLUME, str(data_dir)) if value == VOLUME else value
    # What `docker run --env-file .env -e PORT=…` adds: a free port instead of 3000 on a
    # shared machine, and Slack's settings, with Slack's API at the stand-in on loopback.
    env.update(
        PORT=str(port),
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_BOT_TOKEN="xoxb-standin-T0001",
        SLACK_API_URL=slack.api_url,
    )
    return env


@contextmanager
def running_image_command(
    tmp_path: Path, slack: RunningSlackStandin
) -> Iterator[tuple[subprocess.Popen[str], dict[str, str], int, Path]]:
    port = free_port()
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)  # as the image's `install -d -m 0700 … /data`
    env = image_environment(data_dir, port, slack)
    workdir = tmp_path / "workdir"  # WORKDIR: a folder without a .env
    workdir.mkdir()
    server = subprocess.Popen(
        IMAGE.command,
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stderr is not None
        # Said once the port is bound, so it is connectable from then on.
        for line in server.stderr:
            if "serving Slack requests on" in line:
                assert f"http://{IMAGE.env['HOST']}:{port}/slack/events" in line
                break
        else:
            pytest.fail("the image's command stopped without serving")
        yield server, env, port, data_dir
    finally:
        if server.poll() is None:
            server.send_signal(getattr(signal, IMAGE.stopsignal))
        try:
            server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            raise


def healthcheck(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        IMAGE.healthcheck, env=env, capture_output=True, text=True, timeout=60, check=False
    )


async def test_the_image_command_serves_slack_answers_its_healthcheck_and_stops_on_its_signal(
    slack: RunningSlackStandin, tmp_path: Path
) -> None:
    with running_image_command(tmp_path, slack) as (server, env, port, data_dir):
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            health = await http.get("/healthz")
            assert health.status_code == 200 and health.json() == {"ok": True}
            assert healthcheck(env).returncode == 0

            sender = SlackSender(f"{base}/slack/events", SIGNING_SECRET, slack, http)
            # Slack's check of the Request URL (README: Creating the Slack app, step 5).
            challenge = json.dumps(
                {"token": "t", "challenge": "c0ffee", "type": "url_verification"}
            )
            verified = await sender.post(challenge, "application/json")
            assert verified.status_code == 200 and "c0ffee" in verified.text
            reply = await sender.command("status", team=TEAM_A, user=OWNER_A)
            assert reply.status_code == 200 and "isn't connected" in reply.text

        # The volume holds the database and the generated key, private to the user.
        for name in ("pmp-bot.sqlite3", "secret.key"):
            assert stat.S_IMODE((data_dir / name).stat().st_mode) == 0o600, name
        assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700

        server.send_signal(getattr(signal, IMAGE.stopsignal))
        _, stderr = server.communicate(timeout=30)
    assert server.returncode == 0, stderr
    assert "Finished server process" in stderr and "Traceback" not in stderr
    assert "xoxb-standin" not in stderr
    # Nothing answers any more: the healthcheck says so.
    assert healthcheck(env).returncode != 0


def _check_backup(path: Path) -> None:
    with sqlite3.connect(path) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        version = copy.execute("SELECT version FROM pmp_bot_schema_version").fetchone()
    assert version == (SCHEMA_VERSION,)


async def test_the_readmes_backup_commands_copy_the_live_database(
    slack: RunningSlackStandin, tmp_path: Path
) -> None:
    backups = section(read("README.md"), "Backups")
    sqlite_cli = shutil.which("sqlite3")
    lines = shell_lines(backups)
    host_lines = lines[: next(i for i, line in enumerate(lines) if "docker" in line)]
    container_line = next(line for line in lines if line.startswith("docker exec pmp-bot "))
    with running_image_command(tmp_path, slack) as (_server, _env, port, data_dir):
        async with httpx.AsyncClient(timeout=10) as http:
            sender = SlackSender(
                f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET, slack, http
            )
            assert (await sender.command("status", team=TEAM_A, user=OWNER_A)).status_code == 200
        # While serving, the database is in WAL mode: `cp` of the main file alone isn't safe.
        with sqlite3.connect(data_dir / "pmp-bot.sqlite3") as live:
            assert live.execute("PRAGMA journal_mode").fetchone() == ("wal",)

        # The image's Python, as `docker exec pmp-bot python3 -c …` runs it.
        _docker, _exec, _container, _python, flag, code = shlex.split(container_line)
        subprocess.run(
            [sys.executable, flag, code.replace(f"{VOLUME}/", f"{data_dir}/")],
            check=True,
            timeout=60,
        )
        _check_backup(data_dir / "backup.sqlite3")
        (data_dir / "backup.sqlite3").unlink()

        if sqlite_cli is None:
            pytest.skip("the sqlite3 command is not installed (Debian package sqlite3)")
        # The host commands, run from the folder that holds `data`.
        subprocess.run(["bash", "-ec", "\n".join(host_lines)], cwd=tmp_path, check=True, timeout=60)
    backup = data_dir / "backup.sqlite3"
    _check_backup(backup)
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600  # umask 077
    assert (data_dir / "backup-secret.key").read_text() == (data_dir / "secret.key").read_text()
