"""`pmp-bot shell` driven through stdin, as a user or a script would."""

from __future__ import annotations

import io
import subprocess
import sys

from bot.run.shell import run_shell


def test_the_shell_runs_a_scripted_session_from_stdin() -> None:
    script = "/pmp customer acme\npress 1\n/pmp status\nquit\n"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "shell"],
        input=script,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "3 customers match" in out
    assert "Acme Corporation" in out
    assert "Primary contact" in out  # `press 1` opened the first result's card
    assert "Connected to PMP at" in out
    assert "Traceback" not in out + result.stderr


async def test_shell_session_in_process_shows_cards_and_help() -> None:
    out = io.StringIO()
    code = await run_shell(
        out=out, lines=["/pmp ticket 7", "/pmp custmer acme", "/pmp lead 999999", "quit"]
    )
    text = out.getvalue()
    assert code == 0
    assert "production outage" in text
    assert "Did you mean `/pmp customer`" in text
    assert "PMP has no such record" in text or "no lead" in text.lower()


def test_shell_refuses_half_of_the_pmp_options() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "shell", "--pmp-url", "https://crm.example.com"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "--pmp-token" in result.stderr


async def test_paging_showing_and_sharing_through_the_shell() -> None:
    out = io.StringIO()
    await run_shell(
        out=out,
        lines=["/pmp customer a", "press 6", "press 1", "press 5", "/pmp notify #general", "quit"],
    )
    text = out.getvalue()
    assert "Page 1 of" in text and "Page 2 of" in text  # press 6 was Next
    assert "Alpine Ski House" in text  # press 1 showed the first card of page 2
    shared = text.split("> press 5", 1)[1]
    assert "pmp-bot posted in #general:" in shared  # public, not "only visible to you"
    assert "Shared by @alex" in shared
    assert "lookups and changes in PMP are posted to" in text
