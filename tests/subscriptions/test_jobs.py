"""The job runner: deliveries run by procrastinate in process (SQLite) and shared by two
instances on PostgreSQL (each event posted once), and one poll of a workspace at a time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.subscription_cards import SubscriptionRenderer
from bot.console.slack_standin import RunningSlackStandin, running_slack_standin
from bot.names import NameBook
from bot.storage import Database
from bot.storage.subscriptions import DeliveryStore, SubscriptionFilters, SubscriptionStore
from bot.subscriptions import SubscriptionDelivery
from bot.subscriptions.jobs import JobRunner
from tests.subscriptions.conftest import DatabaseTarget
from tests.subscriptions.test_delivery import GENERAL, TEAM, TOKEN, ticket

CHANNELS = (GENERAL, "C0002", "C0003")


@pytest.fixture
def slack() -> Iterator[RunningSlackStandin]:
    with running_slack_standin(
        teams={TEAM: TOKEN},
        channels=[
            {"team_id": TEAM, "id": "C0002", "name": "support"},
            {"team_id": TEAM, "id": "C0003", "name": "sales"},
        ],
    ) as standin:
        yield standin


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def make_delivery(
    db: Database, slack: RunningSlackStandin, http: aiohttp.ClientSession
) -> SubscriptionDelivery:
    async def client_for(team_id: str, enterprise_id: str | None) -> AsyncWebClient | None:
        return AsyncWebClient(token=TOKEN, base_url=slack.api_url, session=http)

    async def site(team_id: str, enterprise_id: str | None) -> tuple[str, NameBook]:
        return "https://pmp.example.com", NameBook()

    return SubscriptionDelivery(
        subscriptions=SubscriptionStore(db),
        store=DeliveryStore(db),
        client_for=client_for,
        renderer=SubscriptionRenderer(site),
        # Pacing is counted elsewhere; here it only has to keep the order.
        min_interval=0.01,
    )


async def subscribe_all(db: Database) -> None:
    for channel in CHANNELS:
        await SubscriptionStore(db).add(
            TEAM, None, channel, "tickets", SubscriptionFilters(), created_by="U0001"
        )


def delivered_ids(slack: RunningSlackStandin) -> list[int]:
    return [
        int(call.params["metadata"]["event_payload"]["delivery"])
        for call in slack.calls_to("chat.postMessage")
        if call.ok
    ]


async def test_jobs_deliver_in_process_and_a_restart_picks_up_the_outbox(
    db: Database, slack: RunningSlackStandin, http: aiohttp.ClientSession
) -> None:
    await subscribe_all(db)
    # Events kept while no runner ran (e.g. the process stopped right after accepting).
    idle = make_delivery(db, slack, http)
    idle.set_scheduler(_nowhere)
    await idle.accept([ticket(1, "k1"), ticket(2, "k2")])
    assert delivered_ids(slack) == []
    delivery = make_delivery(db, slack, http)
    runner = JobRunner(delivery, db, fetch_interval=0.2)
    await runner.start()  # its sweep schedules the waiting channels
    try:
        await delivery.accept([ticket(1, "k3", "status", {"status": ("1", "2")})])
        assert await delivery.wait_delivered(timeout=30)
    finally:
        await runner.aclose()
    ids = delivered_ids(slack)
    assert len(ids) == 9 and len(set(ids)) == 9
    assert len([c for c in slack.calls_to("chat.update") if c.ok]) == 3


async def test_two_instances_on_postgresql_deliver_each_event_once(
    pg_target: DatabaseTarget, slack: RunningSlackStandin, http: aiohttp.ClientSession
) -> None:
    first_db, second_db = await pg_target.connect(), await pg_target.connect()
    await first_db.create_schema()
    await subscribe_all(first_db)
    deliveries = [make_delivery(d, slack, http) for d in (first_db, second_db)]
    runners = [
        JobRunner(d, db, postgres_schema=pg_target.schema, name=f"instance-{i}")
        for i, (d, db) in enumerate(zip(deliveries, (first_db, second_db), strict=True))
    ]
    try:
        await asyncio.gather(*(r.start() for r in runners))
        events = [ticket(n % 5 + 1, f"k{n}", "status", {"status": ("1", "2")}) for n in range(30)]
        # Both instances accept events (a repeat included) and both deliver.
        await asyncio.gather(deliveries[0].accept(events[:20]), deliveries[1].accept(events[10:]))
        assert await deliveries[0].wait_delivered(timeout=60)
    finally:
        await asyncio.gather(*(r.aclose() for r in runners))
        await first_db.dispose()
        await second_db.dispose()
    ids = delivered_ids(slack)
    assert len(ids) == 90  # 30 events x 3 channels
    assert len(set(ids)) == 90  # none twice
    for channel in CHANNELS:
        parents = [m for m in slack.channel_messages(channel) if m.thread_ts is None]
        assert len(parents) == 5  # one card per ticket per channel, the rest in threads


async def test_a_workspace_is_polled_by_one_instance_at_a_time(
    pg_target: DatabaseTarget, slack: RunningSlackStandin, http: aiohttp.ClientSession
) -> None:
    dbs = [await pg_target.connect(), await pg_target.connect()]
    await dbs[0].create_schema()
    running: list[str] = []
    most = 0
    polls: list[tuple[str, str]] = []
    release = asyncio.Event()
    started = asyncio.Event()

    def poller(name: str) -> Any:
        async def poll(team_id: str, enterprise_id: str | None) -> None:
            nonlocal most
            running.append(team_id)
            most = max(most, running.count(team_id))
            polls.append((name, team_id))
            started.set()
            await release.wait()
            running.remove(team_id)

        return poll

    runners = []
    for i, db in enumerate(dbs):
        runner = JobRunner(
            make_delivery(db, slack, http),
            db,
            postgres_schema=pg_target.schema,
            name=f"instance-{i}",
            fetch_interval=0.2,
        )
        runner.set_poll_function(poller(f"instance-{i}"))
        runners.append(runner)
    try:
        await asyncio.gather(*(r.start() for r in runners))
        assert await runners[0].schedule_poll(TEAM, None)
        await asyncio.wait_for(started.wait(), 30)
        # While it runs, one more may wait (queued once), never two, never run alongside.
        assert await runners[1].schedule_poll(TEAM, None)
        assert not await runners[0].schedule_poll(TEAM, None)
        assert not await runners[1].schedule_poll(TEAM, None)
        assert await runners[1].schedule_poll("T0002", None)  # another workspace: its own
        for _ in range(50):
            if len(polls) >= 2:
                break
            await asyncio.sleep(0.1)
        assert [team for _, team in polls].count(TEAM) == 1
        release.set()
        for _ in range(100):
            if [team for _, team in polls].count(TEAM) == 2:
                break
            await asyncio.sleep(0.1)
        assert [team for _, team in polls].count(TEAM) == 2
        assert most == 1
    finally:
        release.set()
        await asyncio.gather(*(r.aclose() for r in runners))
        for db in dbs:
            await db.dispose()


async def _nowhere(team_id: str, enterprise_id: str | None, channel_id: str) -> None:
    return None


async def test_a_poll_due_later_is_brought_forward_but_never_doubled(
    db: Database, slack: RunningSlackStandin, http: aiohttp.ClientSession
) -> None:
    polled: list[str] = []

    async def poll(team_id: str, enterprise_id: str | None) -> None:
        polled.append(team_id)

    runner = JobRunner(make_delivery(db, slack, http), db, fetch_interval=0.1)
    runner.set_poll_function(poll)
    await runner.start()
    try:
        assert await runner.schedule_poll(TEAM, None, 600)
        assert not await runner.schedule_poll(TEAM, None, 900)  # the waiting one is sooner
        assert await runner.schedule_poll(TEAM, None, 0)  # look now, not in ten minutes
        for _ in range(100):
            if polled:
                break
            await asyncio.sleep(0.05)
        assert polled == [TEAM]
        waiting = await runner.app.job_manager.list_jobs_async(
            queueing_lock=f"poll:{TEAM}", status="todo"
        )
        assert list(waiting) == []  # the later one was replaced, not kept beside it
    finally:
        await runner.aclose()


async def test_a_worker_that_stops_by_itself_is_started_again(
    db: Database, slack: RunningSlackStandin, http: aiohttp.ClientSession
) -> None:
    await subscribe_all(db)
    delivery = make_delivery(db, slack, http)
    runner = JobRunner(delivery, db, fetch_interval=0.1)
    runs: list[str] = []
    real_run = runner._run_worker

    async def flaky_run() -> None:
        runs.append("run")
        if len(runs) == 1:
            return  # as procrastinate's worker does when the database went away
        await real_run()

    async def no_wait(seconds: float) -> None:
        await asyncio.sleep(0)

    runner._run_worker = flaky_run  # type: ignore[method-assign]
    runner._restart_sleep = no_wait
    await runner.start()
    try:
        await delivery.accept([ticket(1, "k1")])
        assert await delivery.wait_delivered(timeout=30)
    finally:
        await runner.aclose()
    assert len(runs) == 2
    assert len(delivered_ids(slack)) == 3
