"""Exactly once across a real crash: pmp-bot is killed (SIGKILL) while Slack is taking one of
its posts, which Slack then keeps; started again, it finds that post by its metadata instead
of posting it twice, and posts the rest once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.console.slack_standin import RunningSlackStandin, running_slack_standin

TEAM = "T0001"
TOKEN = "xoxb-standin-T0001"
EVENTS = 8

CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from datetime import UTC, datetime

    from bot.config import load_settings
    from bot.services import BotServices
    from bot.storage.subscriptions import SubscriptionFilters
    from bot.subscriptions import PmpEvent


    async def main(database_url: str, api_url: str, secret: str, phase: str) -> None:
        settings = load_settings(
            env_file=None,
            slack_signing_secret="crash-test",
            slack_api_url=api_url,
            slack_bot_token="xoxb-standin-T0001",
            database_url=database_url,
            pmp_bot_secret_key=secret,
        )
        services = await BotServices.start(settings)
        delivery = services.subscriptions.delivery
        if phase == "first":
            await services.subscriptions.store.add(
                "T0001", None, "C0001", "tickets", SubscriptionFilters(), created_by="U0001"
            )
            events = [
                PmpEvent(
                    team_id="T0001",
                    enterprise_id=None,
                    kind="ticket",
                    record_id=n,
                    event="created",
                    key=f"crash:{n}",
                    changes={},
                    record={"ticketid": str(n), "subject": f"Ticket number {n}"},
                    occurred_at=datetime.now(UTC),
                )
                for n in range(1, EVENTS + 1)
            ]
            await delivery.accept(events)
            print("accepted", flush=True)
            await asyncio.Event().wait()  # until killed
        else:
            print("done" if await delivery.wait_delivered(timeout=90) else "timeout", flush=True)
            await services.aclose()


    asyncio.run(main(*sys.argv[1:]))
    """
).replace("EVENTS", str(EVENTS))


@pytest.fixture
def slow_slack() -> Iterator[RunningSlackStandin]:
    # Each answer takes a while, so the bot can be killed while Slack is taking a post.
    with running_slack_standin(teams={TEAM: TOKEN}, latency=0.4) as standin:
        yield standin


def posts(slack: RunningSlackStandin) -> list[int]:
    """The delivery ids of the messages Slack kept in #general."""
    return [
        int(m.metadata["event_payload"]["delivery"])
        for m in slack.channel_messages("C0001")
        if m.metadata is not None
    ]


async def test_a_bot_killed_while_slack_takes_a_post_never_posts_it_twice(
    slow_slack: RunningSlackStandin, database_url: str, secret_key: str, tmp_path: Path
) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)

    def run(phase: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, str(script), database_url, slow_slack.api_url, secret_key, phase],
            cwd=tmp_path,
            env={**os.environ, "PMP_BOT_DATA_DIR": str(tmp_path / "data")},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    first = run("first")
    try:
        assert first.stdout is not None
        assert first.stdout.readline().strip() == "accepted", first.stderr.read()  # type: ignore[union-attr]
        # Kill it while a post is with Slack, after a few have gone through.
        for _ in range(600):
            # Nothing else calls Slack now: what is in flight is a post.
            if len(posts(slow_slack)) >= 2 and slow_slack.requests_in_flight:
                break
            await asyncio.sleep(0.02)
        else:
            pytest.fail("no post was in flight to kill the bot over")
        first.send_signal(signal.SIGKILL)
    finally:
        if first.poll() is None:
            first.kill()
        first.communicate(timeout=10)  # reaps it and closes its pipes
    for _ in range(200):  # Slack finishes taking the post the bot never heard back about
        if slow_slack.requests_in_flight == 0:
            break
        await asyncio.sleep(0.05)
    before = posts(slow_slack)
    assert 2 < len(before) < EVENTS

    second = run("second")
    out, err = await asyncio.to_thread(second.communicate, timeout=120)
    assert out.strip() == "done", err
    delivered = posts(slow_slack)
    assert sorted(delivered) == sorted(set(delivered))  # nothing twice
    assert len(delivered) == EVENTS  # nothing lost
    assert slow_slack.calls_to("conversations.history")  # it looked before sending again
