"""`pmp-bot shell` driven through stdin, as a user or a script would."""

from __future__ import annotations

import asyncio
import io
import logging
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.run.shell import app_work_done, run_shell
from bot.sandbox import DEFAULT_SANDBOX_TOKEN, running_sandbox
from bot.services import ListenerTracker
from bot.slack.app import BOLT_LOGGER
from bot.storage import Database
from bot.storage.subscriptions import DeliveryStore, SubscriptionStore
from bot.subscriptions import RenderedMessage, SubscriptionDelivery


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
    assert "Did you mean `/pmp customer acme`" in text
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
    assert "pmp-bot posted in #general · message" in shared  # public, not "only visible to you"
    assert "Shared by @alex" in shared
    assert "lookups and changes in PMP are posted to" in text


async def test_the_console_acks_at_once_and_the_reply_follows_when_pmp_is_slow() -> None:
    with running_sandbox() as sandbox:

        async def lines() -> AsyncIterator[str]:
            # Slower than Slack's 3 s for an ack: the console must not wait for PMP to ack.
            sandbox.faults.latency = 3.5
            yield "/pmp customer acme"
            sandbox.faults.latency = 0.0
            yield "quit"

        out = io.StringIO()
        await run_shell(pmp_url=sandbox.base_url, pmp_token=sandbox.token, out=out, lines=lines())
    text = out.getvalue()
    assert "answered at once and is still working; its reply follows" in text
    assert "Acme Corporation" in text
    assert "Slack stops waiting" not in text


async def test_work_done_waits_for_listeners_and_notices_but_never_for_the_pace(
    tmp_path: Path,
) -> None:
    database = await Database.connect(f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    await database.create_schema()
    scheduled: list[str] = []

    async def channel_resting_for_ever(team: str, enterprise: str | None, channel: str) -> None:
        scheduled.append(channel)  # delivery would wait for the channel's pace here

    async def no_client(team_id: str, enterprise_id: str | None) -> None:
        return None

    class Plain:
        async def parent(self, *args: object, **kwargs: object) -> RenderedMessage:
            raise AssertionError("no card in this test")

        async def thread_line(self, *args: object) -> RenderedMessage:
            raise AssertionError("no thread in this test")

        def notice(self, text: str) -> RenderedMessage:
            return RenderedMessage(text)

    notices = SubscriptionDelivery(
        subscriptions=SubscriptionStore(database),
        store=DeliveryStore(database),
        client_for=no_client,
        renderer=Plain(),
    )
    notices.set_scheduler(channel_resting_for_ever)
    listeners = ListenerTracker()
    try:
        listeners.started()
        done = asyncio.ensure_future(app_work_done(listeners, notices))
        for _ in range(5):
            await asyncio.sleep(0)
        assert not done.done()  # a listener is still working

        notices.notify_later("T1", None, "C1", "looked up customer Acme")  # its last step
        listeners.finished()
        # Returns once the notice is kept for delivery, although its channel rests for ever.
        await done
        assert [row.notice for row in await DeliveryStore(database).pending("T1", "C1")] == [
            "looked up customer Acme"
        ]
        notices.notify_later("T1", None, "C1", "paced")
        await app_work_done(listeners, notices)
        assert len(await DeliveryStore(database).pending("T1", "C1")) == 2
        assert scheduled == ["C1", "C1"]
    finally:
        await database.dispose()


async def test_a_notice_channel_never_delays_console_replies() -> None:
    out = io.StringIO()
    await run_shell(
        out=out,
        lines=[
            "/pmp notify #general",
            "/pmp customer acme",
            "/pmp customer widgets",
            "wait 1.5",
            "quit",
        ],
    )
    text = out.getvalue()
    assert text.count("searched customers for") == 2  # both notices arrive
    assert "Acme Widgets Ltd" in text


class AnswersByPrompt:
    """Console input that answers each prompt: commands at `> `, a form's fields by their
    label (Enter for the others), so a test doesn't depend on how many fields a form has."""

    def __init__(self, out: io.StringIO, commands: list[str], fields: dict[str, list[str]]):
        self._out = out
        self._commands = iter(commands)
        self._fields = {label: list(lines) for label, lines in fields.items()}
        self._pending: list[str] = []

    async def read(self, prompt: str) -> str | None:
        if self._pending:
            line = self._pending.pop(0)
        elif prompt == "> ":
            line = next(self._commands, None)
            if line is None:
                return None
        elif "press N" in prompt:
            line = "submit" if prompt.startswith("Submit") else "close"
        else:
            label = next((label for label in self._fields if prompt.startswith(label)), None)
            answers = self._fields.pop(label, [""]) if label else [""]
            line, self._pending = answers[0], answers[1:]
        self._out.write(f"{prompt}{line}\n")
        return line


async def test_what_help_shows_can_be_done_in_the_console() -> None:
    out = io.StringIO()
    commands = [
        "/pmp notify #sales",  # the help's own example
        "as bob",
        "/pmp customer acme",
        "as alex",
        "/pmp settings",
        "quit",
    ]
    departments = ["1 = Support", "2 = Sales", "3 = Billing", "."]
    await run_shell(out=out, lines=AnswersByPrompt(out, commands, {"Departments": departments}))
    text = out.getvalue()
    assert "pmp-bot in #sales:" in text and "channel_not_found" not in text
    assert "You are now @bob (U0002, member)." in text
    assert "@bob searched customers for *acme*" in text
    assert "Saved the ticket settings: 3 departments" in text
    assert "Also here: @sam, @bob, @dana" in text
    assert f"the sandbox's API token:\n  {DEFAULT_SANDBOX_TOKEN}" in text  # for /pmp connect
    assert "they are gone now; `pmp-bot shell --data-dir DIR` keeps them." in text
    assert "Traceback" not in text


async def test_the_sandbox_token_in_the_banner_reconnects_after_a_disconnect() -> None:
    out = io.StringIO()

    async def lines() -> AsyncIterator[str]:
        for line in ("/pmp disconnect", "press 1", "y", "/pmp status", "/pmp connect"):
            yield line
        # What the banner says /pmp connect asks for.
        found = re.search(
            r"the PMP URL (\S+) and the sandbox's API token:\n  (\S+)", out.getvalue()
        )
        assert found is not None
        for line in (*found.groups(), "submit", "close", "/pmp ticket 7", "quit"):
            yield line

    await run_shell(out=out, lines=lines())
    text = out.getvalue()
    assert DEFAULT_SANDBOX_TOKEN in text
    assert "isn't connected to PMP yet" in text
    assert "pmp-bot is connected to" in text
    assert "production outage" in text.rsplit("> /pmp ticket 7", 1)[1]


async def test_a_data_dir_keeps_the_console_between_runs(tmp_path: Path) -> None:
    first = io.StringIO()
    await run_shell(out=first, data_dir=tmp_path, lines=["/pmp notify #support", "quit"])
    assert f"Everything is kept in {tmp_path}" in first.getvalue()
    second = io.StringIO()
    await run_shell(out=second, data_dir=tmp_path, lines=["/pmp notify", "quit"])
    assert "Lookups and changes are posted to #support" in second.getvalue()


async def test_an_unknown_command_gets_one_line_not_bolts_python_advice(
    caplog: pytest.LogCaptureFixture,
) -> None:
    out = io.StringIO()

    async def lines() -> AsyncIterator[str]:
        for line in ("/foo bar", "dance", "message-shortcut Create PMP ticket Hi", "cancel"):
            yield line
        # What Bolt logs for a request no listener takes: the console says it in one line.
        BOLT_LOGGER.warning("Unhandled request ({'type': 'x'})\n---\n[Suggestion] @app...")

    with caplog.at_level(logging.WARNING):
        await run_shell(out=out, lines=lines())
    text = out.getvalue()
    assert "/foo is not a command here; try /pmp, e.g. /pmp help." in text
    assert "Unknown command 'dance'." in text
    assert "Subject [text, required] (now: Hi): cancel" in text  # the README's name works
    assert "Suggestion" not in text + caplog.text


async def test_a_subscribed_channel_shows_pmp_side_changes_before_the_next_prompt() -> None:
    # Subscribing reads PMP at once (the baseline), and `pmp-change` reads it again at once:
    # each change is in the channel before the next command, not a poll interval later.
    out = io.StringIO()
    code = await run_shell(
        out=out,
        lines=[
            "/pmp subscribe tickets",
            "pmp-change ticket 5 status=2",
            'pmp-change ticket 3 reply "On it"',
            "quit",
        ],
    )
    text = out.getvalue()
    assert code == 0
    first, second = text.split("> pmp-change ticket 3 reply", 1)
    after_status = first.split("> pmp-change ticket 5 status=2", 1)[1]
    assert "Status: Open → *In progress*" in after_status
    assert "Request for a quote: 20 seats" in after_status  # ticket 5's card
    assert "New reply" in second.split("> quit", 1)[0]
    assert "Traceback" not in text
