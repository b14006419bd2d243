"""Load benchmark of `pmp-bot serve`, beside two bare slack-bolt apps on the same stack.

Run: .venv/bin/python benchmarks/run_all.py [--quick] [--profile FILE.svg]

Starts, each in its own process on 127.0.0.1: the PMP sandbox (benchmarks/servers.py sandbox,
latency changed per scenario), the Slack stand-in (receives the response_url posts and notes
when each arrived), `python -m bot serve` on a temporary SQLite database connected to the
sandbox, and two bare Bolt apps (`ack` only acknowledges; `respond` acknowledges, sleeps the
PMP latency and posts to the response_url). This process is the load generator.

Scenarios (figures only; nothing is asserted):
  1. open loop: `/pmp customer <words>` at a fixed rate, PMP at 300 ms, against the bot and
     both bare apps in turn (alternating);
  2. closed loop: C workers, each sending again once its result was delivered, bot vs the
     ack-and-respond app (saturation throughput);
  3. burst: N lookups at once, PMP at 1 s;
  4. typeahead options loads (new-ticket customer select), PMP at 200 ms, counting how
     often the sandbox was asked;
  5. modal submissions (the Home tab's customer search: its answer waits for PMP);
and the bot's RSS (VmRSS / VmHWM from /proc) idle and after the runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
from cryptography.fernet import Fernet

from benchmarks.load import Sample, SlackLoad, Summary, percentile, summarize
from benchmarks.servers import BENCH_CHANNEL, BENCH_TEAM, BENCH_TOKEN, BENCH_USER
from bot.config import load_settings
from bot.grammar import CommandAction, parse
from bot.sandbox.auth import DEFAULT_SANDBOX_TOKEN
from bot.storage import Database, WorkspaceStore

ROOT = Path(__file__).resolve().parents[1]
SIGNING_SECRET = "bench-signing-secret"
SCENARIOS = ("open", "closed", "burst", "typeahead", "modal")
PYTHON = sys.executable


@dataclass(frozen=True)
class Plan:
    open_rate: float = 100.0
    open_seconds: float = 10.0
    closed_workers: int = 50
    closed_seconds: float = 10.0
    burst: int = 200
    typeahead_users: int = 20
    typeahead_queries: int = 60  # distinct queries
    typeahead_loads: int = 400
    modal_rate: float = 20.0
    modal_seconds: float = 5.0


QUICK = Plan(
    open_rate=50.0,
    open_seconds=2.0,
    closed_seconds=3.0,
    burst=50,
    typeahead_loads=100,
    typeahead_queries=20,
    modal_seconds=1.0,
)


# ---------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    url: str

    @property
    def pid(self) -> int:
        return self.popen.pid

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def memory_kb(self) -> dict[str, int]:
        """VmRSS and VmHWM (peak RSS) of the process, in kB."""
        figures = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                name, value = line.split(":", 1)
                figures[name] = int(value.split()[0])
        return figures


@contextlib.contextmanager
def started(
    name: str, args: Sequence[str], port: int, workdir: Path, env: dict[str, str] | None = None
) -> Iterator[Process]:
    log = open(workdir / f"{name}.log", "wb")  # noqa: SIM115 - closed below
    popen = subprocess.Popen(
        list(args),
        cwd=workdir,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            if popen.poll() is not None:
                raise RuntimeError(f"{name} exited: see {workdir / (name + '.log')}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start listening on {port}")
            time.sleep(0.05)
        yield Process(name, popen, f"http://127.0.0.1:{port}")
    finally:
        popen.send_signal(signal.SIGTERM)
        try:
            popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()
        log.close()


async def connect_workspace(database_url: str, secret_key: str, sandbox_url: str) -> None:
    settings = load_settings(env_file=None, pmp_bot_secret_key=secret_key)
    database = await Database.connect(database_url)
    try:
        await database.create_schema()
        store = WorkspaceStore(database, settings.token_cipher())
        await store.save_credentials(
            BENCH_TEAM, None, sandbox_url, DEFAULT_SANDBOX_TOKEN, BENCH_USER
        )
    finally:
        await database.dispose()


# ---------------------------------------------------------------------------- helpers


async def set_pmp_latency(session: aiohttp.ClientSession, sandbox_url: str, seconds: float) -> None:
    async with session.post(
        f"{sandbox_url}/_sandbox/faults",
        json={"latency": seconds},
        headers={"authtoken": DEFAULT_SANDBOX_TOKEN},
    ) as answer:
        answer.raise_for_status()


async def sandbox_requests(session: aiohttp.ClientSession, sandbox_url: str, reset: bool) -> int:
    method = session.post if reset else session.get
    async with method(f"{sandbox_url}/_bench/count") as answer:
        count: int = (await answer.json())["api_requests"]
    return count


async def query_pool(session: aiohttp.ClientSession, sandbox_url: str) -> list[str]:
    """Distinct search words that find customers (parts of their names), in random order,
    so each lookup really asks PMP instead of being answered from the bot's kept results."""
    async with session.get(
        f"{sandbox_url}/api/customers", headers={"authtoken": DEFAULT_SANDBOX_TOKEN}
    ) as answer:
        customers = await answer.json()
    words: set[str] = set()
    for customer in customers:
        name = str(customer.get("company") or "").casefold()
        for size in range(3, 9):
            for start in range(len(name) - size + 1):
                part = name[start : start + size]
                if part.isalpha():
                    words.add(part)
    # Only words `/pmp customer <word>` takes as a search (not "new", "edit", ...).
    pool = sorted(
        word
        for word in words
        if (parsed := parse(f"customer {word}")).action is CommandAction.SEARCH
        and parsed.query == word
    )
    random.Random(7).shuffle(pool)
    return pool


class Queries:
    """Hands out search words in turn, cycling through the pool. Give each server its own:
    the pool (~1000 words) is longer than the bot's kept results (512, LRU), so a word comes
    back to the bot only after it has been evicted, and every lookup really asks PMP."""

    def __init__(self, pool: list[str]) -> None:
        self._pool = pool
        self._next = 0

    def take(self, count: int) -> list[str]:
        taken = [self._pool[(self._next + i) % len(self._pool)] for i in range(count)]
        self._next += count
        return taken

    def give_back(self, count: int) -> None:
        """The last `count` words taken were never sent: hand them out again."""
        self._next -= count


def fmt(value: float, digits: int = 1) -> str:
    return "-" if value != value else f"{value:.{digits}f}"  # NaN shows as "-"


def row(summary: Summary) -> str:
    s = summary
    return (
        f"| {s.name} | {s.sent} | {s.errors} | {fmt(s.p(s.ack_ms, 0.5))} / "
        f"{fmt(s.p(s.ack_ms, 0.95))} / {fmt(s.p(s.ack_ms, 0.99))} | "
        f"{fmt(max(s.ack_ms, default=float('nan')))} | "
        f"{s.delivered} | {fmt(s.p(s.overhead_ms, 0.5))} / {fmt(s.p(s.overhead_ms, 0.95))} | "
        f"{fmt(s.p(s.late_ms, 0.99))} / {fmt(max(s.late_ms, default=float('nan')))} | "
        f"{fmt(s.throughput)} | {'; '.join(s.notes)} |"
    )


HEADER = (
    "| run | sent | errors | ack ms p50 / p95 / p99 | ack max | delivered | "
    "overhead ms p50 / p95 | sent late ms p99 / max | per s | notes |\n"
    "|---|---|---|---|---|---|---|---|---|---|"
)


# ---------------------------------------------------------------------------- scenarios


@dataclass
class Targets:
    bot: Process
    ack: Process
    respond: Process
    sandbox: Process
    standin: Process

    def events(self, process: Process) -> str:
        return process.url + "/slack/events"

    def cpu_snapshot(self, server: Process) -> tuple[float, dict[str, float]]:
        used = {
            "server": server.cpu_seconds(),
            "sandbox": self.sandbox.cpu_seconds(),
            "stand-in": self.standin.cpu_seconds(),
            "generator": time.process_time(),
        }
        return time.monotonic(), used

    @staticmethod
    def cpu_note(
        before: tuple[float, dict[str, float]], after: tuple[float, dict[str, float]]
    ) -> str:
        """CPU cores each process kept busy between two snapshots."""
        elapsed = after[0] - before[0]
        shares = [
            f"{name} {(after[1][name] - used) / elapsed:.2f}" for name, used in before[1].items()
        ]
        return "cores: " + ", ".join(shares)


async def open_loop(
    load: SlackLoad, t: Targets, plan: Plan, queries: dict[str, Queries], latency: float
) -> list[Summary]:
    count = int(plan.open_rate * plan.open_seconds)
    summaries = []
    for process in (t.bot, t.ack, t.respond):
        requests = await load.commands([f"customer {q}" for q in queries[process.name].take(count)])
        cpu_before = t.cpu_snapshot(process)
        samples = await load.open_loop(t.events(process), requests, plan.open_rate)
        expect = process is not t.ack
        if expect:
            await load.collect_deliveries(samples, timeout=latency + 10)
        summary = summarize(
            f"open {plan.open_rate:g}/s x {plan.open_seconds:g} s: {process.name}",
            samples,
            pmp_latency=latency,
            expect_delivery=expect,
        )
        summary.notes.append(t.cpu_note(cpu_before, t.cpu_snapshot(process)))
        summaries.append(summary)
        await asyncio.sleep(1.0)
    return summaries


async def closed_loop(
    load: SlackLoad,
    t: Targets,
    plan: Plan,
    queries: dict[str, Queries],
    latency: float,
    profile: str | None,
) -> list[Summary]:
    summaries = []
    for process in (t.respond, t.bot):
        # Enough prepared lookups for the most the server could manage in the time.
        budget = int(plan.closed_workers / latency * plan.closed_seconds * 1.5) + 100
        texts = [f"customer {q}" for q in queries[process.name].take(budget)]
        requests = iter(await load.commands(texts))
        spy = None
        if profile and process is t.bot:
            spy = start_profiler(process.pid, profile, plan.closed_seconds)
        cpu_before = t.cpu_snapshot(process)
        start = time.monotonic()
        samples = await load.closed_loop(
            t.events(process),
            requests.__next__,
            workers=plan.closed_workers,
            duration=plan.closed_seconds,
            wait_for_delivery=True,
        )
        cpu_after = t.cpu_snapshot(process)
        cpu_note = t.cpu_note(cpu_before, cpu_after)
        if spy is not None and profile is not None:
            finish_profiler(spy)
            if profile.endswith(".txt") and Path(profile).exists():
                summarize_profile(Path(profile))
        await load.collect_deliveries(samples, timeout=latency + 10)
        queries[process.name].give_back(budget - len(samples))
        summary = summarize(
            f"closed C={plan.closed_workers} x {plan.closed_seconds:g} s: {process.name}",
            samples,
            pmp_latency=latency,
            expect_delivery=True,
            window=(start, start + plan.closed_seconds),
        )
        summary.notes.append(cpu_note)
        summaries.append(summary)
        await asyncio.sleep(1.0)
    return summaries


async def burst(
    load: SlackLoad, t: Targets, plan: Plan, queries: dict[str, Queries], latency: float
) -> tuple[Summary, float]:
    requests = await load.commands([f"customer {q}" for q in queries[t.bot.name].take(plan.burst)])
    samples = await load.at_once(t.events(t.bot), requests)
    await load.collect_deliveries(samples, timeout=latency + 15)
    summary = summarize(
        f"burst {plan.burst} at once: bot", samples, pmp_latency=latency, expect_delivery=True
    )
    last_ack = max(s.acked for s in samples)
    last_delivery = max((s.delivered or 0.0) for s in samples)
    return summary, last_delivery - last_ack


@dataclass(frozen=True)
class OptionsTarget:
    action_id: str
    block_id: str
    callback_id: str


def options_targets() -> list[OptionsTarget]:
    """The customer typeaheads the bot may have: the new-ticket modal's first."""
    from bot.slack import ids

    found = []
    ticket_form = getattr(ids, "TicketForm", None)
    if ticket_form is not None and (ROOT / "handlers" / "tickets.py").exists():
        found.append(OptionsTarget(ticket_form.CUSTOMER_INPUT, "customer", ticket_form.NEW_MODAL))
    record_form = getattr(ids, "RecordForm", None)
    if record_form is not None and (ROOT / "handlers" / "records.py").exists():
        found.append(OptionsTarget(record_form.CUSTOMER_OPTIONS, "customer", record_form.MODAL))
    return found


async def typeahead(
    load: SlackLoad,
    t: Targets,
    plan: Plan,
    queries: dict[str, Queries],
    session: aiohttp.ClientSession,
) -> tuple[Summary | None, str]:
    """Users typing into the customer select: each distinct query is typed by several users
    at about the same time (as prefixes are), in an open loop."""
    target = None
    for candidate in options_targets():
        probe = load.block_suggestion(
            action_id=candidate.action_id,
            block_id=candidate.block_id,
            value="zzzz-probe",
            view=_modal_view(candidate.callback_id),
        )
        sample = await load.send(t.events(t.bot), probe, Sample())
        if sample.status == 200:
            target = candidate
            break
    if target is None:
        return None, "skipped: the bot has no customer typeahead (options load) yet"
    distinct = queries[t.bot.name].take(plan.typeahead_queries)
    # Each query asked by several users close together: keystrokes are ~150 ms apart.
    values = [distinct[i % len(distinct)] for i in range(plan.typeahead_loads)]
    values.sort(key=lambda v: (distinct.index(v), random.random()))
    requests = [
        load.block_suggestion(
            action_id=target.action_id,
            block_id=target.block_id,
            value=value,
            view=_modal_view(target.callback_id),
        )
        for value in values
    ]
    await sandbox_requests(session, t.sandbox.url, reset=True)
    rate = plan.typeahead_users / 0.15
    samples = await load.open_loop(t.events(t.bot), requests, rate)
    asked = await sandbox_requests(session, t.sandbox.url, reset=False)
    summary = summarize(
        f"typeahead {target.action_id}: bot", samples, pmp_latency=0.0, expect_delivery=False
    )
    empty = sum(1 for s in samples if '"options": []' in s.body or '"options":[]' in s.body)
    note = (
        f"{len(samples)} loads of {len(distinct)} distinct queries at {rate:.0f}/s; "
        f"sandbox asked {asked} times ({asked / len(distinct):.2f} per distinct query); "
        f"{empty} empty answers"
    )
    return summary, note


def _modal_view(callback_id: str) -> dict[str, Any]:
    return {
        "id": "V0BENCH",
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": "",
        "blocks": [],
        "state": {"values": {}},
        "hash": "1.bench",
        "team_id": BENCH_TEAM,
        "app_id": "A0PMPBOT01",
    }


async def modal_submissions(
    load: SlackLoad, t: Targets, plan: Plan, queries: dict[str, Queries], latency: float
) -> Summary:
    from bot.slack.ids import HomeAction

    view = _modal_view(HomeAction.SEARCH_MODAL)
    count = int(plan.modal_rate * plan.modal_seconds)
    requests = [
        load.view_submission(
            view, {HomeAction.SEARCH_BLOCK: {HomeAction.SEARCH_INPUT: {"value": q}}}
        )
        for q in queries[t.bot.name].take(count)
    ]
    samples = await load.open_loop(t.events(t.bot), requests, plan.modal_rate)
    summary = summarize(
        f"modal submit {plan.modal_rate:g}/s x {plan.modal_seconds:g} s: bot",
        samples,
        pmp_latency=latency,
        expect_delivery=False,
    )
    updated = sum(1 for s in samples if '"response_action":"update"' in s.body.replace(" ", ""))
    summary.notes.append(f"{updated} answered with the results view")
    summary.notes.append(f"ack - PMP p50 {fmt(percentile(summary.ack_ms, 0.5) - latency * 1000)}")
    return summary


# ---------------------------------------------------------------------------- profiling


def start_profiler(pid: int, output: str, seconds: float) -> subprocess.Popen[bytes] | None:
    spy = shutil.which("py-spy") or str(Path(PYTHON).parent / "py-spy")
    if not Path(spy).exists():
        print("(py-spy is not installed: .venv/bin/pip install py-spy)")
        return None
    fmt_arg = {".json": "speedscope", ".txt": "raw"}.get(Path(output).suffix, "flamegraph")
    return subprocess.Popen(
        [
            spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            "250",
            "--format",
            fmt_arg,
            "--output",
            output,
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def summarize_profile(collapsed: Path, top: int = 25) -> None:
    """Where the bot's CPU went, from py-spy's collapsed stacks (`--profile FILE.txt`): the
    functions most often on top of the stack (self), and the bot's own code inclusive."""
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += count
        own[frames[-1]] = own.get(frames[-1], 0) + count
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + count
    print(f"\nprofile: {total} samples; self time, top {top}:")
    for frame, count in sorted(own.items(), key=lambda item: -item[1])[:top]:
        print(f"  {100 * count / total:5.1f}%  {frame}")
    print("inclusive, top frames:")
    for frame, count in sorted(inclusive.items(), key=lambda item: -item[1])[: top * 2]:
        print(f"  {100 * count / total:5.1f}%  {frame}")


def finish_profiler(spy: subprocess.Popen[bytes]) -> None:
    try:
        _, err = spy.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        spy.kill()
        spy.communicate()
        return
    if spy.returncode:
        print("py-spy failed:", err.decode(errors="replace").strip().splitlines()[-1:])


# ---------------------------------------------------------------------------- main


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min)"


async def run(plan: Plan, profile: str | None, workdir: Path, only: set[str]) -> None:
    secret_key = Fernet.generate_key().decode()
    database_url = f"sqlite:///{workdir / 'bot.sqlite3'}"
    ports = {name: free_port() for name in ("sandbox", "standin", "bot", "ack", "respond")}
    open_latency, burst_latency, typeahead_latency = 0.3, 1.0, 0.2
    print(f"load average before: {load_average()}; {os.cpu_count()} CPUs")
    with contextlib.ExitStack() as stack:
        sandbox = stack.enter_context(
            started(
                "sandbox",
                [
                    PYTHON,
                    str(ROOT / "benchmarks/servers.py"),
                    "sandbox",
                    "--port",
                    str(ports["sandbox"]),
                    "--latency",
                    str(open_latency),
                ],
                ports["sandbox"],
                workdir,
            )
        )
        standin = stack.enter_context(
            started(
                "standin",
                [
                    PYTHON,
                    str(ROOT / "benchmarks/servers.py"),
                    "standin",
                    "--port",
                    str(ports["standin"]),
                ],
                ports["standin"],
                workdir,
            )
        )
        api_url = f"{standin.url}/api/"
        await connect_workspace(database_url, secret_key, sandbox.url)
        env = {
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_BOT_TOKEN": BENCH_TOKEN,
            "SLACK_API_URL": api_url,
            "DATABASE_URL": database_url,
            "PMP_BOT_SECRET_KEY": secret_key,
            "PMP_BOT_ALLOW_PRIVATE_PMP": "true",  # the sandbox is on 127.0.0.1
        }
        bot = stack.enter_context(
            started(
                "pmp-bot",
                [PYTHON, "-m", "bot", "serve", "--port", str(ports["bot"])],
                ports["bot"],
                workdir,
                env,
            )
        )
        bare = []
        for mode in ("ack", "respond"):
            bare.append(
                stack.enter_context(
                    started(
                        f"bare-{mode}",
                        [
                            PYTHON,
                            str(ROOT / "benchmarks/servers.py"),
                            "bare",
                            "--mode",
                            mode,
                            "--port",
                            str(ports[mode]),
                            "--api-url",
                            api_url,
                            "--latency",
                            str(open_latency),
                        ],
                        ports[mode],
                        workdir,
                        {"SLACK_SIGNING_SECRET": SIGNING_SECRET},
                    )
                )
            )
        targets = Targets(bot, bare[0], bare[1], sandbox, standin)
        # Idle connections are dropped before uvicorn's 5 s keep-alive closes them, so no
        # request is sent on a connection the server is closing.
        connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=3.0)
        timeout = aiohttp.ClientTimeout(total=15)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            load = SlackLoad(
                session,
                signing_secret=SIGNING_SECRET,
                standin_url=standin.url,
                team=BENCH_TEAM,
                user=BENCH_USER,
                channel=BENCH_CHANNEL,
            )
            await load.start_watching()
            try:
                await _scenarios(
                    load,
                    targets,
                    plan,
                    profile,
                    session,
                    workdir,
                    (open_latency, burst_latency, typeahead_latency),
                    only,
                )
            finally:
                await load.stop_watching()
    print(f"\nload average after: {load_average()}")


async def _scenarios(
    load: SlackLoad,
    t: Targets,
    plan: Plan,
    profile: str | None,
    session: aiohttp.ClientSession,
    workdir: Path,
    latencies: tuple[float, float, float],
    only: set[str],
) -> None:
    open_latency, burst_latency, typeahead_latency = latencies
    pool = await query_pool(session, t.sandbox.url)
    queries = {process.name: Queries(pool) for process in (t.bot, t.ack, t.respond)}
    # Warm-up: first requests import lazily loaded modules and open connection pools.
    for process in (t.bot, t.ack, t.respond):
        warm = await load.commands([f"customer {q}" for q in queries[process.name].take(5)])
        samples = await load.at_once(t.events(process), warm)
        if any(s.error for s in samples):
            raise SystemExit(f"warm-up against {process.name} failed: {samples[0].error}")
    await asyncio.sleep(open_latency + 1.5)
    idle = t.bot.memory_kb()
    print(f"bot idle (after 5 warm-up lookups): VmRSS {idle['VmRSS'] / 1024:.1f} MB")

    summaries: list[Summary] = []
    ratios: list[str] = []
    if "open" in only:
        opened = await open_loop(load, t, plan, queries, open_latency)
        summaries += opened
        bot_p99, ack_p99, respond_p99 = (percentile(s.ack_ms, 0.99) for s in opened)
        ratios.append(
            f"open loop ack p99 bot / ack-only: {bot_p99 / ack_p99:.2f}x; "
            f"bot / ack-and-respond: {bot_p99 / respond_p99:.2f}x"
        )
    if "closed" in only:
        closed_respond, closed_bot = await closed_loop(
            load, t, plan, queries, open_latency, profile
        )
        summaries += [closed_respond, closed_bot]
        ratios.append(
            "closed loop throughput bot / ack-and-respond: "
            f"{closed_bot.throughput / max(closed_respond.throughput, 1e-9):.2f}x"
        )
    if "burst" in only:
        await set_pmp_latency(session, t.sandbox.url, burst_latency)
        burst_summary, tail = await burst(load, t, plan, queries, burst_latency)
        burst_summary.notes.append(f"last result {tail:.2f} s after the last ack")
        summaries.append(burst_summary)
    if "typeahead" in only:
        await set_pmp_latency(session, t.sandbox.url, typeahead_latency)
        typeahead_summary, typeahead_note = await typeahead(load, t, plan, queries, session)
        if typeahead_summary is not None:
            summaries.append(typeahead_summary)
        ratios.append(f"typeahead: {typeahead_note}")
    if "modal" in only:
        await set_pmp_latency(session, t.sandbox.url, open_latency)
        summaries.append(await modal_submissions(load, t, plan, queries, open_latency))
    await asyncio.sleep(2.0)
    after = t.bot.memory_kb()

    print("\nTimes in ms; overhead = result at the Slack stand-in - sent - PMP latency.\n")
    print(HEADER)
    for summary in summaries:
        print(row(summary))
    print()
    for line in ratios:
        print(line)
    print(
        f"bot RSS: idle {idle['VmRSS'] / 1024:.1f} MB; after the runs "
        f"{after['VmRSS'] / 1024:.1f} MB ({after['VmRSS'] / idle['VmRSS']:.2f}x idle); "
        f"peak (VmHWM) {after['VmHWM'] / 1024:.1f} MB"
    )
    errors = (workdir / "pmp-bot.log").read_text(errors="replace").count("ERROR")
    print(f"bot log: {errors} ERROR line(s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="py-spy the bot during its closed-loop run (.svg flame graph or .json speedscope)",
    )
    parser.add_argument(
        "--only", metavar="LIST", help=f"comma-separated scenarios: {','.join(SCENARIOS)}"
    )
    parser.add_argument("--keep", action="store_true", help="keep the logs' temporary folder")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="pmp-bench-"))
    try:
        only = set(args.only.split(",")) if args.only else set(SCENARIOS)
        asyncio.run(run(QUICK if args.quick else Plan(), args.profile, workdir, only))
    finally:
        if args.keep:
            print(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
