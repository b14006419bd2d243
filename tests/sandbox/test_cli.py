"""``pmp-bot sandbox``: arguments, errors, and a real process serving until it is stopped."""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from bot.cli import build_parser
from bot.sandbox import DEFAULT_SANDBOX_TOKEN, DEMO_FACTS
from bot.sandbox.auth import bulk_token
from bot.sandbox.cli import run_sandbox

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_sandbox_subcommand_is_registered_with_help(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["--help"])
    assert "sandbox" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        parser.parse_args(["sandbox", "--help"])
    text = capsys.readouterr().out
    for option in ("--host", "--port", "--db", "--token", "--api-version", "--latency"):
        assert option in text
    for option in ("--error-rate", "--html-500", "--hang", "--dev-mode"):
        assert option in text
    assert "PHP warnings as HTML before the JSON" in " ".join(text.split())


def test_arguments_and_defaults() -> None:
    args = build_parser().parse_args(["sandbox"])
    assert args.run is run_sandbox
    assert (args.host, args.db, args.token, args.api_version) == (
        "127.0.0.1",
        ":memory:",
        DEFAULT_SANDBOX_TOKEN,
        2,
    )
    assert (args.latency, args.error_rate, args.html_500, args.hang) == (0.0, 0.0, False, False)
    assert args.dev_mode is False
    args = build_parser().parse_args(
        ["sandbox", "--port", "0", "--api-version", "3", "--error-rate", "0.5", "--hang"]
    )
    assert (args.port, args.api_version, args.error_rate, args.hang) == (0, 3, 0.5, True)
    assert build_parser().parse_args(["sandbox", "--dev-mode"]).dev_mode is True
    with pytest.raises(SystemExit):
        build_parser().parse_args(["sandbox", "--api-version", "4"])


def test_bad_fault_values_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["sandbox", "--error-rate", "2"])
    assert run_sandbox(args) == 2
    assert "error_rate must be between 0 and 1" in capsys.readouterr().err


def test_busy_port_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = build_parser().parse_args(["sandbox", "--port", str(port)])
        assert run_sandbox(args) == 1
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def _first_line(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    assert ready, "the sandbox printed nothing"
    return process.stdout.readline()


@pytest.mark.parametrize(("stop", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, -15)])
def test_serves_until_interrupted(tmp_path: Path, stop: signal.Signals, exit_code: int) -> None:
    database = tmp_path / "cli.sqlite3"
    command = [sys.executable, "-m", "bot", "sandbox", "--port", "0", "--db", str(database)]
    command += ["--token", "cli-token", "--dev-mode"]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as process:
        try:
            line = _first_line(process, timeout=20)
            match = re.fullmatch(
                r"PMP sandbox listening on (http://127\.0\.0\.1:\d+)  \(API token: cli-token\)\n",
                line,
            )
            assert match, line
            response = httpx.get(
                f"{match.group(1)}/api/customers/1", headers={"authtoken": "cli-token"}
            )
            assert response.json()["company"] == "Acme Corporation"
            faults = httpx.get(
                f"{match.group(1)}/_sandbox/faults", headers={"authtoken": "cli-token"}
            )
            assert faults.json()["faults"]["dev_mode"] is True
            process.send_signal(stop)
            assert process.wait(timeout=20) == exit_code
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert process.stderr is not None
        assert "Traceback" not in process.stderr.read()
    assert database.exists()


def test_benchmark_and_webhook_options(capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["sandbox"])
    assert (args.tokens, args.bulk_tickets, args.webhooks_allow_loopback) == (0, 0, False)
    args = build_parser().parse_args(
        ["sandbox", "--tokens", "1000", "--bulk-tickets", "160", "--webhooks-allow-loopback"]
    )
    assert (args.tokens, args.bulk_tickets, args.webhooks_allow_loopback) == (1000, 160, True)
    assert run_sandbox(build_parser().parse_args(["sandbox", "--tokens", "-1"])) == 2
    assert "--tokens and --bulk-tickets must be 0 or more" in capsys.readouterr().err
    args = build_parser().parse_args(["sandbox"])
    assert (args.webhooks_per_token, args.webhook_delivery, args.webhook_backoff) == (
        False,
        "queue",
        1.0,
    )
    args = build_parser().parse_args(
        ["sandbox", "--webhooks-per-token", "--webhook-delivery", "immediate"]
    )
    assert (args.webhooks_per_token, args.webhook_delivery) == (True, "immediate")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["sandbox", "--webhook-delivery", "later"])
    assert run_sandbox(build_parser().parse_args(["sandbox", "--webhook-backoff", "-1"])) == 2
    assert "backoff must be a number of seconds" in capsys.readouterr().err
    assert run_sandbox(build_parser().parse_args(["sandbox", "--webhook-backoff", "nan"])) == 2


def test_a_benchmark_sandbox_process(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "bot", "sandbox", "--port", "0", "--api-version", "3"]
    command += ["--tokens", "5", "--bulk-tickets", "10", "--webhooks-allow-loopback"]
    command += ["--webhooks-per-token", "--webhook-delivery", "immediate"]
    command += ["--db", str(tmp_path / "bench.sqlite3")]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as process:
        try:
            line = _first_line(process, timeout=20)
            match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
            assert match, line
            assert process.stdout is not None
            assert "5 workspace tokens" in process.stdout.readline()  # printed with the first
            base = match.group(1)
            tickets = httpx.get(
                f"{base}/api/tickets",
                params={"per_page": 100},
                headers={"authtoken": bulk_token(5)},
            )
            assert tickets.json()["meta"]["total"] == DEMO_FACTS.ticket_count + 10
            hook = httpx.post(
                f"{base}/api/webhooks",
                data={"name": "local", "url": "http://127.0.0.1:9/x", "events": "*"},
                headers={"authtoken": DEFAULT_SANDBOX_TOKEN},
            )
            assert hook.status_code == 200, hook.text
            options = httpx.get(
                f"{base}/_sandbox/webhooks/options", headers={"authtoken": DEFAULT_SANDBOX_TOKEN}
            ).json()["options"]
            assert options["per_token"] is True and options["delivery_mode"] == "immediate"
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=20) == 130
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert process.stderr is not None
        assert "Traceback" not in process.stderr.read()
