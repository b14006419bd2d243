"""A burst of events across many channels on PostgreSQL: every one is delivered by the jobs
its acceptance deferred, none left waiting for the minute's sweep, also when the caller that
accepted them is cancelled once they are kept (a webhook look's timeout)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import aiohttp
import pytest

from bot.console.slack_standin import RunningSlackStandin, running_slack_standin
from bot.storage.subscriptions import SubscriptionFilters, SubscriptionStore
from bot.subscriptions.events import PmpEvent
from bot.subscriptions.jobs import JobRunner
from tests.subscriptions.conftest import DatabaseTarget
from tests.subscriptions.test_delivery import TEAM, TOKEN, ticket
from tests.subscriptions.test_jobs import delivered_ids, http, make_delivery

__all__ = ["http"]

CHANNELS = tuple(f"C{number:04d}" for number in range(1, 13))
WAVES = 8


@pytest.fixture
def slack() -> Iterator[RunningSlackStandin]:
    with running_slack_standin(
        teams={TEAM: TOKEN},
        channels=[
            {"team_id": TEAM, "id": channel, "name": f"burst-{channel.lower()}"}
            for channel in CHANNELS[1:]
        ],
    ) as standin:
        yield standin


async def no_delivery_jobs(runner: JobRunner, checks: int = 500) -> bool:
    """Waits until no delivery job is waiting or running (none left to find later rows)."""
    manager = runner.app.job_manager
    for _ in range(checks):
        jobs = [
            job
            for status in ("todo", "doing")
            for job in await manager.list_jobs_async(task="pmp_bot.deliver", status=status)
        ]
        if not jobs:
            return True
        await asyncio.sleep(0.1)
    return False


async def test_a_burst_across_channels_is_delivered_without_the_sweep(
    pg_target: DatabaseTarget, slack: RunningSlackStandin, http: aiohttp.ClientSession
) -> None:
    db = await pg_target.connect()
    await db.create_schema()
    for channel in CHANNELS:
        await SubscriptionStore(db).add(
            TEAM, None, channel, "tickets", SubscriptionFilters(), created_by="U0001"
        )
    delivery = make_delivery(db, slack, http)
    runner = JobRunner(delivery, db, postgres_schema=pg_target.schema, fetch_interval=5.0)
    await runner.start()

    # From here on the sweep (at the worker's start and each minute) does nothing: what is
    # delivered, the jobs the acceptance deferred delivered.
    async def no_sweep() -> int:
        return 0

    delivery.sweep = no_sweep  # type: ignore[method-assign]
    schedule = runner.schedule_delivery
    held, release = asyncio.Event(), asyncio.Event()
    scheduled: list[str] = []

    async def slow_schedule(team_id: str, enterprise_id: str | None, channel_id: str) -> None:
        # Held up on the third channel of the last wave until its caller was cancelled.
        if len(scheduled) == (WAVES - 1) * len(CHANNELS) + 2 and not release.is_set():
            held.set()
            await release.wait()
        scheduled.append(channel_id)
        await schedule(team_id, enterprise_id, channel_id)

    delivery.set_scheduler(slow_schedule)

    def wave_events(wave: int) -> list[PmpEvent]:
        return [
            ticket(record, f"w{wave}-t{record}", "status", {"status": ("1", "2")})
            for record in range(1, 4)
        ]

    try:
        for wave in range(WAVES - 1):
            # Each wave arrives while the deliveries of the waves before it are running.
            await delivery.accept(wave_events(wave))
            await asyncio.sleep(0.05)
        assert await delivery.wait_delivered(timeout=50)
        assert len(delivered_ids(slack)) == (WAVES - 1) * 3 * len(CHANNELS)
        assert await no_delivery_jobs(runner)
        # The last wave's caller is cancelled once its rows are kept (a webhook look that ran
        # out of time): its channels are delivered all the same, no job running to find them.
        accepting = asyncio.ensure_future(delivery.accept(wave_events(WAVES - 1)))
        await held.wait()
        accepting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await accepting
        release.set()
        assert await delivery.wait_delivered(timeout=50)
    finally:
        await runner.aclose()
        await db.dispose()
    ids = delivered_ids(slack)
    assert len(ids) == WAVES * 3 * len(CHANNELS)
    assert len(set(ids)) == len(ids)
