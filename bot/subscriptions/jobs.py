"""The jobs behind subscriptions, run by procrastinate: delivering a channel's outbox and
polling a workspace's PMP, each by exactly one worker at a time.

On PostgreSQL, procrastinate keeps its jobs in its own tables of the same database (applied
at start, once, under an advisory lock), so any number of instances share the work: a
channel's delivery job carries the lock ``deliver:<team>:<channel>`` and a workspace's poll
job ``poll:<team>`` (with the same queueing lock, so at most one waits), and a job left
"doing" by an instance that died is ended once its heartbeat is stale (15 s) and its work
scheduled again. With SQLite the same job functions run in the one process through
procrastinate's in-memory connector. On both, the outbox table is the source of truth: a sweep
(at start and every minute) has every channel with waiting rows delivered, so no job store has
to survive a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

import procrastinate
from procrastinate import exceptions as procrastinate_errors
from procrastinate.jobs import Status as JobStatus
from procrastinate.testing import InMemoryConnector
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.storage.database import Database
from bot.storage.subscriptions import Subscription, SubscriptionKind, SubscriptionStore
from bot.subscriptions.delivery import SubscriptionDelivery
from bot.subscriptions.events import KIND_OF_SUBSCRIPTION

__all__ = ["JobRunner", "PeriodicFunction", "PollFunction", "psycopg_conninfo"]

logger = logging.getLogger(__name__)

PollFunction = Callable[[str, str | None], Awaitable[None]]
"""`poll(team_id, enterprise_id)`: look at one workspace's PMP for changes (the event
sources' job); runs on one instance at a time per workspace."""
PeriodicFunction = Callable[[], Awaitable[None]]

_QUEUE = "pmp_bot"
# Procrastinate's own tables are created once per database; instances starting together
# wait for each other on this advisory lock ("pmpjobs").
_SCHEMA_LOCK_ID = 0x706D706A6F6273
SWEEP_CRON = "*/1 * * * *"
# How often an instance looks for jobs left running by an instance that died (seconds last).
STALLED_CRON = "* * * * * */5"
# A worker whose heartbeat is older than this is taken for dead, and its jobs ended.
STALLED_AFTER_SECONDS = 15.0
# A worker that stopped by itself is started again after 1 s, then 2, 4... at most 60.
RESTART_MIN_SECONDS = 1.0
RESTART_MAX_SECONDS = 60.0
# How often a worker says it is alive (a third of the above, so one late beat is no death).
HEARTBEAT_SECONDS = 5.0
DEFAULT_CONCURRENCY = 64


def psycopg_conninfo(async_database_url: str) -> str:
    """The libpq address of a SQLAlchemy PostgreSQL URL (any driver)."""
    url = make_url(async_database_url)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass(frozen=True, slots=True)
class _Periodic:
    name: str
    cron: str
    function: PeriodicFunction


class JobRunner:
    """Runs the subscription jobs with procrastinate's worker inside the bot's event loop.

    Register the event sources' functions (`set_poll_function`, `every`) before `start()`.
    """

    def __init__(
        self,
        delivery: SubscriptionDelivery,
        database: Database,
        *,
        postgres_schema: str | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        fetch_interval: float = 5.0,
        name: str | None = None,
    ) -> None:
        self._delivery = delivery
        self._database = database
        self._postgres = database.dialect_name == "postgresql"
        self._schema = postgres_schema
        self._concurrency = concurrency
        self._fetch_interval = fetch_interval
        self._name = name or f"pmp-bot@{socket.gethostname()}:{os.getpid()}"
        self._poll: PollFunction | None = None
        self._periodic: list[_Periodic] = []
        self._sweep_hooks: list[PeriodicFunction] = []
        self._app: procrastinate.App | None = None
        self._worker_task: asyncio.Task[None] | None = None
        self._started = False
        self._deliver_task: Any = None
        self._restart_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self._poll_task: Any = None

    @property
    def shared(self) -> bool:
        """True when jobs are shared with other instances (PostgreSQL)."""
        return self._postgres

    @property
    def app(self) -> procrastinate.App:
        if self._app is None:
            raise RuntimeError("the job runner has not started")
        return self._app

    # --- what other parts register -------------------------------------------------

    def set_poll_function(self, poll: PollFunction) -> None:
        """The function a workspace's poll job runs (at most one instance at a time)."""
        self._poll = poll

    def every(self, name: str, cron: str, function: PeriodicFunction) -> None:
        """Runs `function` on one instance at each tick of `cron` (cron's 5 fields, or a 6th
        for seconds, as procrastinate reads them). Before `start()` only."""
        if self._started:
            raise RuntimeError("register periodic jobs before the runner starts")
        self._periodic.append(_Periodic(name, cron, function))

    def on_sweep(self, function: PeriodicFunction) -> None:
        """Runs `function` in the minute's sweep job (one instance per minute; any time,
        also after `start()`): e.g. making sure every subscribed workspace has a poll due."""
        self._sweep_hooks.append(function)

    async def schedule_poll(
        self, team_id: str, enterprise_id: str | None, delay_s: float = 0.0
    ) -> bool:
        """Has the workspace polled in `delay_s` seconds. False when a poll of it is already
        waiting that is due by then (that one stands; one waits at most); a waiting poll due
        later is brought forward (e.g. the bot changed a record: look now, not in a minute)."""
        lock = f"poll:{team_id}"
        delay_s = max(delay_s, 0.0)
        for _ in range(3):
            configured = self._poll_task.configure(
                lock=lock, queueing_lock=lock, schedule_in={"seconds": delay_s}
            )
            try:
                await configured.defer_async(team_id=team_id, enterprise_id=enterprise_id or "")
            except procrastinate_errors.AlreadyEnqueued:
                if not await self._cancel_later_poll(lock, delay_s):
                    return False
                continue
            return True
        return False

    async def _cancel_later_poll(self, lock: str, delay_s: float) -> bool:
        """Cancels the waiting poll under `lock` when it is due after `delay_s` seconds from
        now. True when it was cancelled (so a sooner one may be queued)."""
        manager = self.app.job_manager
        due = datetime.now(UTC) + timedelta(seconds=delay_s + 1.0)
        for job in await manager.list_jobs_async(queueing_lock=lock, status="todo"):
            if job.id is None or job.scheduled_at is None or job.scheduled_at <= due:
                continue
            if await manager.cancel_job_by_id_async(job.id, delete_job=True):
                return True
        return False

    async def schedule_delivery(
        self, team_id: str, enterprise_id: str | None, channel_id: str
    ) -> None:
        """Has the channel's outbox delivered (one job per channel waits at most)."""
        lock = f"deliver:{team_id}:{channel_id}"
        configured = self._deliver_task.configure(lock=lock, queueing_lock=lock)
        # The waiting job will deliver what was just added as well.
        with contextlib.suppress(procrastinate_errors.AlreadyEnqueued):
            await configured.defer_async(
                team_id=team_id, enterprise_id=enterprise_id or "", channel_id=channel_id
            )

    # --- life cycle ----------------------------------------------------------------

    async def start(self) -> None:
        """Opens procrastinate (applying its schema on PostgreSQL when missing), has every
        channel with waiting rows delivered, and starts the worker."""
        if self._started:
            return
        self._started = True
        # procrastinate logs every job at INFO (thousands an hour); its warnings still show.
        quiet = logging.getLogger("procrastinate")
        if quiet.level == logging.NOTSET:
            quiet.setLevel(logging.WARNING)
        if self._postgres:
            schema = await self._apply_schema()
            kwargs: dict[str, Any] = {
                "conninfo": psycopg_conninfo(self._database.engine.url.render_as_string(False)),
                "min_size": 1,
                "max_size": 8,
            }
            # The schema pmp-bot's own tables are in (PMP_BOT database schema, tests).
            if schema:
                kwargs["kwargs"] = {"options": f"-c search_path={schema}"}
            connector: procrastinate.BaseConnector = procrastinate.PsycopgConnector(**kwargs)
        else:
            connector = InMemoryConnector()
        self._app = procrastinate.App(connector=connector)
        self._register_tasks(self._app)
        await self._app.open_async()
        self._delivery.set_scheduler(self.schedule_delivery)
        await self._delivery.sweep()
        self._worker_task = asyncio.get_running_loop().create_task(
            self._supervise(), name="pmp-bot jobs"
        )

    async def _run_worker(self) -> None:
        await self.app.run_worker_async(
            queues=[_QUEUE],
            name=self._name,
            concurrency=self._concurrency,
            install_signal_handlers=False,
            delete_jobs="always",
            fetch_job_polling_interval=self._fetch_interval,
            shutdown_graceful_timeout=10.0,
            stalled_worker_timeout=STALLED_AFTER_SECONDS,
            update_heartbeat_interval=HEARTBEAT_SECONDS,
        )

    async def _supervise(self) -> None:
        """Runs the worker, and starts it again when it stops by itself: procrastinate stops
        its worker when the database can't be reached for its heartbeat or notifications,
        and jobs must go on once the database is back."""
        delay = RESTART_MIN_SECONDS
        while True:
            began = asyncio.get_running_loop().time()
            try:
                await self._run_worker()
                logger.warning("The subscription job worker stopped by itself")
            except Exception:
                logger.exception("The subscription job worker failed")
            if asyncio.get_running_loop().time() - began > RESTART_MAX_SECONDS:
                delay = RESTART_MIN_SECONDS  # it had been running fine
            logger.info("Starting the subscription job worker again in %.0f s", delay)
            await self._restart_sleep(delay)
            delay = min(delay * 2, RESTART_MAX_SECONDS)
            try:
                await self._delivery.sweep()
            except Exception:
                logger.warning("The outbox can't be read yet; the worker's sweep will")

    async def run_until_idle(self) -> None:
        """Runs every job that is due until none is left, then returns (tests and the shell:
        a worker that stops when the queue is empty)."""
        await self.app.run_worker_async(
            queues=[_QUEUE],
            name=f"{self._name}-once",
            concurrency=self._concurrency,
            install_signal_handlers=False,
            delete_jobs="always",
            wait=False,
            listen_notify=False,
        )

    async def aclose(self) -> None:
        """Stops the worker: running deliveries stop after the message in hand (the rest
        stays in the outbox for the next start or another instance)."""
        self._delivery.stop()
        self._delivery.set_scheduler(None)
        task, self._worker_task = self._worker_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        app, self._app = self._app, None
        if app is not None:
            await app.close_async()

    # --- the jobs ------------------------------------------------------------------

    def _register_tasks(self, app: procrastinate.App) -> None:
        delivery = self._delivery

        @app.task(name="pmp_bot.deliver", queue=_QUEUE)
        async def deliver(team_id: str, enterprise_id: str, channel_id: str) -> None:
            await delivery.deliver_channel(team_id, enterprise_id or None, channel_id)

        @app.task(name="pmp_bot.poll", queue=_QUEUE)
        async def poll(team_id: str, enterprise_id: str) -> None:
            if self._poll is None:
                logger.warning("A poll of %s was due but nothing polls PMP", team_id)
                return
            await self._poll(team_id, enterprise_id or None)

        @app.periodic(cron=SWEEP_CRON, periodic_id="sweep")
        @app.task(name="pmp_bot.sweep", queue=_QUEUE, queueing_lock="pmp_bot.sweep")
        async def sweep(timestamp: int) -> None:
            await delivery.sweep()
            await delivery.prune()
            for hook in list(self._sweep_hooks):
                try:
                    await hook()
                except Exception:
                    logger.exception("a subscription sweep step failed")

        if self._postgres:

            @app.periodic(cron=STALLED_CRON, periodic_id="stalled")
            @app.task(name="pmp_bot.stalled", queue=_QUEUE, queueing_lock="pmp_bot.stalled")
            async def stalled(timestamp: int) -> None:
                await self._release_stalled()

        for item in self._periodic:
            self._register_periodic(app, item)

        self._deliver_task = deliver
        self._poll_task = poll

    def _register_periodic(self, app: procrastinate.App, item: _Periodic) -> None:
        function = item.function

        async def run(timestamp: int) -> None:
            await function()

        task = app.task(
            name=f"pmp_bot.periodic.{item.name}",
            queue=_QUEUE,
            queueing_lock=f"pmp_bot.periodic.{item.name}",
        )(run)
        app.periodic(cron=item.cron, periodic_id=item.name)(task)

    async def _release_stalled(self) -> None:
        """Jobs left "doing" by an instance that died (no heartbeat for a while) are ended, so
        their locks no longer hold the channel or workspace, and their work is scheduled
        again: the outbox says what is left to deliver, and a workspace is polled anew."""
        manager = self.app.job_manager
        for job in await manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER_SECONDS):
            if job.id is None:
                continue
            logger.info("Job %s (%s) of a stopped instance is ended", job.id, job.task_name)
            await manager.finish_job_by_id_async(job.id, JobStatus.FAILED, delete_job=True)
            args = job.task_kwargs
            team_id = str(args.get("team_id") or "")
            enterprise_id = str(args.get("enterprise_id") or "") or None
            if job.task_name == "pmp_bot.deliver" and team_id:
                await self.schedule_delivery(team_id, enterprise_id, str(args["channel_id"]))
            elif job.task_name == "pmp_bot.poll" and team_id:
                await self.schedule_poll(team_id, enterprise_id, 0.0)

    async def _apply_schema(self) -> str | None:
        """Creates procrastinate's tables next to pmp-bot's when missing (once, whichever
        instance comes first). The schema they are in."""
        schema_sql = (resources.files("procrastinate.sql") / "schema.sql").read_text(
            encoding="utf-8"
        )
        async with self._database.write() as conn:
            await conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _SCHEMA_LOCK_ID})
            schema = (
                self._schema
                or (await conn.execute(text("SELECT current_schema()"))).scalar_one_or_none()
            )
            exists = (
                await conn.execute(text("SELECT to_regclass('procrastinate_jobs') IS NOT NULL"))
            ).scalar_one()
            if not exists:
                logger.info("Creating procrastinate's job tables")
                raw = await conn.get_raw_connection()
                driver: Any = raw.driver_connection
                await driver.execute(schema_sql)
        return str(schema) if schema else None


@dataclass
class SubscriptionServices:
    """What the rest of pmp-bot uses of subscriptions (`services.subscriptions`)."""

    store: SubscriptionStore
    delivery: SubscriptionDelivery
    jobs: JobRunner

    async def watch_changed(
        self, team_id: str, enterprise_id: str | None, kinds: Iterable[SubscriptionKind]
    ) -> None:
        """Subscriptions of ``kinds`` came or went: PMP is read at once rather than at the
        next round. A new kind's first read is its baseline, so changes from now on are the
        ones heard of; a kind nothing subscribes to any more is forgotten, and with the last
        one the workspace's webhook leaves PMP."""
        if any(kind in KIND_OF_SUBSCRIPTION for kind in kinds):
            await self.jobs.schedule_poll(team_id, enterprise_id, 0.0)

    async def remove(self, enterprise_id: str | None, subscription: Subscription) -> bool:
        """Removes one subscription (False: it was already gone); PMP is read at once when
        it watched records (see ``watch_changed``)."""
        if not await self.store.remove(subscription.team_id, subscription.id):
            return False
        await self.watch_changed(subscription.team_id, enterprise_id, [subscription.kind])
        return True

    async def resume(self, enterprise_id: str | None, subscription: Subscription) -> bool:
        """Resumes a paused subscription (False: it is gone); its records are read at once,
        so it hears of changes from now on."""
        if await self.store.resume(subscription.team_id, subscription.id) is None:
            return False
        await self.watch_changed(subscription.team_id, enterprise_id, [subscription.kind])
        return True

    async def start(self) -> None:
        await self.jobs.start()

    async def aclose(self) -> None:
        await self.jobs.aclose()
        await self.delivery.wait_idle()
