"""Load benchmark of `pmp-bot serve`, beside bare slack-bolt apps on the same stack.

Run: .venv/bin/python benchmarks/run_all.py [--quick] [--only LIST] [--profile FILE.txt]
     [--profile-server NAME]

Starts, each in its own process on 127.0.0.1: the PMP sandbox (benchmarks/servers.py sandbox,
latency changed per scenario), the Slack stand-in (receives the response_url posts and
streams when each arrived), `python -m bot serve` on a temporary SQLite database connected to
the sandbox, two bare Bolt apps (`ack` only acknowledges; `respond` acknowledges, waits the
PMP latency and posts to the response_url), two bare lookup apps (the design's stack with no
pmp-bot code: an httpx search of the sandbox, slack_sdk Block Kit, one post; over httpx's own
transport and over aiohttp) and two trivial raw-socket servers (answer 200 at once; one also
posts each result). This process is the load generator (benchmarks/load.py:
raw asyncio sockets, requests signed ahead).

Scenarios (figures only; nothing is asserted):
  0. calibration: the generator alone against the trivial servers, closed loop: the most it
     (and, posting results, the stand-in) can drive on this machine;
  1. open loop: `/pmp customer <word>` at a fixed rate, PMP at 300 ms, against the bot and
     every bare app in turn; ack timed from each request's scheduled send;
  2. closed loop: C users, each sending again once its result was delivered, the bot, the
     ack-and-respond app and the lookup apps in turn, PMP at 0 ms (so the servers' CPU, not
     PMP, sets the pace);
  3. burst: N lookups at once, PMP at 1 s;
  4. typeahead options loads (new-ticket customer select), PMP at 200 ms, counting how
     often the sandbox was asked;
  5. modal submissions (the Home tab's customer search: its answer waits for PMP);
and the bot's RSS (VmRSS / VmHWM from /proc) idle and after the runs. Every run notes the
CPU each process used (per lookup for the servers) and the generator's own CPU and lateness.
Every lookup searches a word no other lookup of the run searched, which finds one customer.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import math
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
from cryptography.fernet import Fernet

from benchmarks.load import (
    Deliveries,
    HttpTarget,
    Prepared,
    Sample,
    SlackRequests,
    Summary,
    closed_loop,
    collector_paused,
    open_loop,
    percentile,
    summarize,
)
from benchmarks.servers import BENCH_CHANNEL, BENCH_TEAM, BENCH_TOKEN, BENCH_USER
from bot.config import load_settings
from bot.grammar import CommandAction, parse
from bot.sandbox.auth import DEFAULT_SANDBOX_TOKEN
from bot.sandbox.store import fold
from bot.storage import Database, WorkspaceStore

ROOT = Path(__file__).resolve().parents[1]
SIGNING_SECRET = "bench-signing-secret"
SCENARIOS = ("calibrate", "open", "closed", "burst", "typeahead", "modal")
PYTHON = sys.executable
# Targets of issue 13 (same run, this generator).
TARGET_ACK_P99 = 1.5  # open loop ack p99, bot / bare-ack, at most
TARGET_CLOSED = 0.6  # closed-loop results per second, bot / bare-respond, at least
TARGET_CPU = 2.0  # CPU per lookup, bot / bare-respond, at most


@dataclass(frozen=True)
class Plan:
    calibrate_seconds: float = 3.0
    open_rate: float = 100.0
    open_seconds: float = 10.0
    closed_users: int = 50
    closed_seconds: float = 10.0
    burst: int = 200
    typeahead_users: int = 20
    typeahead_queries: int = 60  # distinct queries
    typeahead_loads: int = 400
    modal_rate: float = 20.0
    modal_seconds: float = 5.0


QUICK = Plan(
    calibrate_seconds=1.0,
    open_rate=50.0,
    open_seconds=2.0,
    closed_seconds=2.0,
    burst=50,
    typeahead_loads=100,
    typeahead_queries=20,
    modal_seconds=1.0,
)


@dataclass(frozen=True)
class Latencies:
    """PMP's (and the bare respond app's) latency per scenario, seconds."""

    open: float = 0.3
    closed: float = 0.0
    burst: float = 1.0
    typeahead: float = 0.2


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
        """User + system CPU time the process (all its threads) has used so far."""
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
    name: str,
    args: Sequence[str],
    port: int,
    workdir: Path,
    env: dict[str, str] | None = None,
    *,
    ready_within: float = 30.0,
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
        deadline = time.monotonic() + ready_within
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


def server(name: str, *args: str) -> list[str]:
    return [PYTHON, str(ROOT / "benchmarks/servers.py"), name, *args]


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


# ---------------------------------------------------------------------------- search words

# Characters a search word may hold: none that LIKE, a URL path or PMP 2.0.8's SQL treat
# specially (`%`, `_`, `/`, quotes).
_WORD = re.compile(r"[a-z0-9][a-z0-9 .@-]*[a-z0-9]")


def search_words(customers: Sequence[dict[str, Any]], longest: int = 24) -> list[str]:
    """Distinct search words that each find exactly one of `customers` (as the sandbox
    answers GET /api/customers: company, primary contact's name and e-mail), so every lookup
    really asks PMP and its answer is one customer, as the bare apps' "1 customer found".
    PMP matches a customer when the word is part of its company, its primary contact's
    "firstname lastname" or e-mail, case and accents aside; the words are such parts."""
    texts = [  # folded as the sandbox's LIKE folds (case and accents), so "sohne" finds Söhne
        [
            fold(str(c.get("company") or "")),
            fold(f"{c.get('firstname') or ''} {c.get('lastname') or ''}"),
            fold(str(c.get("email") or "")),
        ]
        for c in customers
    ]
    found: dict[str, set[int]] = {}
    for number, fields in enumerate(texts):
        for text in fields:
            for start in range(len(text)):
                for end in range(start + 3, min(len(text), start + longest) + 1):
                    found.setdefault(text[start:end], set()).add(number)
    words = []
    for word, matches in found.items():
        if len(matches) != 1 or not _WORD.fullmatch(word) or "  " in word or word.isdigit():
            continue
        # A part in another customer's field that wasn't cut at the same place still finds it.
        if sum(1 for fields in texts if any(word in text for text in fields)) != 1:
            continue
        parsed = parse(f"customer {word}")  # only words /pmp takes as a search
        if parsed.action is CommandAction.SEARCH and parsed.query == word:
            words.append(word)
    words.sort()
    random.Random(7).shuffle(words)
    return words


async def query_pool(session: aiohttp.ClientSession, sandbox_url: str) -> list[str]:
    """search_words for the sandbox's active customers and their primary contacts."""
    headers = {"authtoken": DEFAULT_SANDBOX_TOKEN}
    async with session.get(f"{sandbox_url}/api/customers", headers=headers) as answer:
        customers = [c for c in await answer.json() if str(c.get("active")) == "1"]
    for customer in customers:
        url = f"{sandbox_url}/api/contacts/{customer['userid']}"
        async with session.get(url, headers=headers) as answer:
            contacts = await answer.json() if answer.status == 200 else []
        for contact in contacts:
            if str(contact.get("is_primary")) == "1":
                for name in ("firstname", "lastname", "email"):
                    customer[name] = contact.get(name)
    return search_words(customers)


class Queries:
    """Hands out search words in turn. Give each server its own: the bot gets a word no
    earlier lookup of the run asked, as long as the pool lasts (then the oldest come back,
    long evicted from the bot's 512 kept searches; `reused` counts them)."""

    def __init__(self, pool: list[str]) -> None:
        self._pool = pool
        self._next = 0
        self._high = 0  # how far handing out ever went

    def take(self, count: int) -> list[str]:
        taken = [self._pool[(self._next + i) % len(self._pool)] for i in range(count)]
        self._next += count
        self._high = max(self._high, self._next)
        return taken

    def give_back(self, count: int) -> None:
        """The last `count` words taken were never sent: hand them out again."""
        self._next -= count

    @property
    def reused(self) -> int:
        return max(0, min(self._next, self._high) - len(self._pool))


# ---------------------------------------------------------------------------- the machine


@dataclass
class Machine:
    """Every process of the benchmark, the generator's connections and its controls."""

    bot: Process
    ack: Process
    respond: Process
    # bare-lookup: the design's stack (httpx, Block Kit) with no pmp-bot code, over httpx's
    # own transport; bare-lookup-aiohttp: the same over the least transport on aiohttp
    lookup: Process
    lookup_aiohttp: Process
    sandbox: Process
    standin: Process
    trivial: Process
    trivial_respond: Process
    session: aiohttp.ClientSession
    slack: SlackRequests
    deliveries: Deliveries
    targets: dict[str, HttpTarget] = field(default_factory=dict)
    profiled: str = "pmp-bot"  # the process --profile spies on

    @property
    def processes(self) -> list[Process]:
        return [
            self.bot,
            self.ack,
            self.respond,
            self.lookup,
            self.lookup_aiohttp,
            self.sandbox,
            self.standin,
            self.trivial,
            self.trivial_respond,
        ]

    @property
    def floors(self) -> tuple[Process, Process]:
        """The bare apps that really look up in PMP."""
        return (self.lookup, self.lookup_aiohttp)

    def target(self, process: Process) -> HttpTarget:
        if process.name not in self.targets:
            self.targets[process.name] = HttpTarget(process.url + "/slack/events")
        return self.targets[process.name]

    def cpu(self) -> dict[str, float]:
        used = {p.name: p.cpu_seconds() for p in self.processes}
        used["generator"] = time.process_time()
        used["wall"] = time.monotonic()
        return used

    async def set_latency(self, seconds: float) -> None:
        """PMP's answer time, and the bare respond app's wait, which stands for it."""
        async with self.session.post(
            f"{self.sandbox.url}/_sandbox/faults",
            json={"latency": seconds},
            headers={"authtoken": DEFAULT_SANDBOX_TOKEN},
        ) as answer:
            answer.raise_for_status()
        async with self.session.post(
            f"{self.respond.url}/_bench/latency", json={"latency": seconds}
        ) as answer:
            answer.raise_for_status()

    async def pmp_requests(self, reset: bool = False) -> int:
        method = self.session.post if reset else self.session.get
        async with method(f"{self.sandbox.url}/_bench/count") as answer:
            count: int = (await answer.json())["api_requests"]
        return count

    async def commands(self, texts: Sequence[str]) -> list[Prepared]:
        async with self.session.post(
            f"{self.standin.url}/_bench/mint", json={"count": len(texts)}
        ) as answer:
            answer.raise_for_status()
            urls: list[str] = (await answer.json())["urls"]
        return [self.slack.command(t, u) for t, u in zip(texts, urls, strict=True)]


@dataclass
class Cost:
    """CPU each process used during one run, and what the generator did."""

    server: str
    requests: int
    seconds: float
    cpu: dict[str, float]  # CPU seconds per process name, "generator" included

    def cores(self, name: str) -> float:
        return self.cpu.get(name, 0.0) / self.seconds if self.seconds else float("nan")

    def ms_per_request(self, name: str) -> float:
        return 1000 * self.cpu.get(name, 0.0) / self.requests if self.requests else float("nan")


def cost(server: str, requests: int, before: dict[str, float], after: dict[str, float]) -> Cost:
    spent = {name: after[name] - before[name] for name in before if name != "wall"}
    return Cost(server, requests, after["wall"] - before["wall"], spent)


@dataclass
class Run:
    summary: Summary
    cost: Cost
    samples: list[Sample]
    pmp_asked: int | None = None  # API requests the sandbox answered during a bot run

    @property
    def name(self) -> str:
        return self.summary.name


# ---------------------------------------------------------------------------- scenarios


async def calibrate(m: Machine, plan: Plan) -> list[Run]:
    """The generator against servers that do nothing: its ceiling on this machine."""
    runs = []
    for process, deliver in ((m.trivial, False), (m.trivial_respond, True)):
        # More requests than the generator could send in the time (~25,000/s alone).
        if deliver:
            requests = await m.commands(["customer x"] * int(8_000 * plan.calibrate_seconds))
        else:
            once = m.slack.command("customer x", "http://127.0.0.1:9/actions/T/none")
            requests = [once] * int(60_000 * plan.calibrate_seconds)
        run = await closed_run(m, process, requests, plan, plan.calibrate_seconds, 0.0, deliver)
        run.summary.name = f"calibration C={plan.closed_users}: {process.name}"
        runs.append(run)
    return runs


async def closed_run(
    m: Machine,
    process: Process,
    requests: Sequence[Prepared],
    plan: Plan,
    seconds: float,
    latency: float,
    deliver: bool,
    profile: str | None = None,
) -> Run:
    target = m.target(process)
    await target.warm(plan.closed_users)
    spy = start_profiler(process.pid, profile, seconds) if profile else None
    if process in (m.bot, *m.floors):
        await m.pmp_requests(reset=True)
    with collector_paused():
        before = m.cpu()
        samples, start, stop = await closed_loop(
            target,
            requests,
            users=plan.closed_users,
            duration=seconds,
            deliveries=m.deliveries if deliver else None,
        )
        after = m.cpu()
    asked = await m.pmp_requests() if process in (m.bot, *m.floors) else None
    if spy is not None:
        finish_profiler(spy)
    await m.deliveries.collect(samples, timeout=latency + 10)
    summary = summarize(
        f"closed C={plan.closed_users}: {process.name}",
        samples,
        pmp_latency=latency,
        expect_delivery=deliver,
        window=(start, stop),
    )
    if len(samples) == len(requests):
        summary.notes.append("ran out of prepared requests: the rate is a floor")
    return Run(summary, cost(process.name, len(samples), before, after), samples, asked)


async def open_run(
    m: Machine,
    process: Process,
    requests: Sequence[Prepared],
    rate: float,
    latency: float,
    profile: str | None = None,
) -> Run:
    target = m.target(process)
    await target.warm(len(requests) if math.isinf(rate) else min(len(requests), 20))
    deliver = any(r.key for r in requests) and process is not m.ack
    if process in (m.bot, *m.floors):
        await m.pmp_requests(reset=True)
    seconds = len(requests) / rate if not math.isinf(rate) else 1.0
    spy = start_profiler(process.pid, profile, seconds) if profile else None
    with collector_paused():
        before = m.cpu()
        samples = await open_loop(target, requests, rate)
        if deliver:
            await m.deliveries.collect(samples, timeout=latency + 10)
        after = m.cpu()
    if spy is not None:
        finish_profiler(spy)
    asked = await m.pmp_requests() if process in (m.bot, *m.floors) else None
    label = "at once" if math.isinf(rate) else f"{rate:g}/s"
    summary = summarize(
        f"open {label}: {process.name}", samples, pmp_latency=latency, expect_delivery=deliver
    )
    return Run(summary, cost(process.name, len(samples), before, after), samples, asked)


async def open_loop_runs(
    m: Machine, plan: Plan, queries: dict[str, Queries], latency: float, profile: str | None
) -> list[Run]:
    count = int(plan.open_rate * plan.open_seconds)
    runs = []
    for process in (m.bot, m.ack, m.respond, *m.floors):
        texts = [f"customer {q}" for q in queries[process.name].take(count)]
        requests = await m.commands(texts)
        spy_on = profile if process.name == m.profiled else None
        runs.append(await open_run(m, process, requests, plan.open_rate, latency, spy_on))
        await asyncio.sleep(1.0)
    return runs


async def closed_loop_runs(
    m: Machine, plan: Plan, queries: dict[str, Queries], latency: float, profile: str | None
) -> list[Run]:
    runs = []
    for process in (m.respond, m.bot, *m.floors):
        # More prepared lookups than the server could answer in the time (the generator
        # and stand-in carry ~3,000 results/s on this machine; a floor is flagged anyway).
        budget = int(3500 * plan.closed_seconds) + 100
        texts = [f"customer {q}" for q in queries[process.name].take(budget)]
        requests = await m.commands(texts)
        spy_on = profile if process.name == m.profiled else None
        run = await closed_run(
            m, process, requests, plan, plan.closed_seconds, latency, True, spy_on
        )
        queries[process.name].give_back(budget - run.summary.sent)
        runs.append(run)
        await asyncio.sleep(1.0)
    return runs


async def burst(m: Machine, plan: Plan, queries: dict[str, Queries], latency: float) -> Run:
    texts = [f"customer {q}" for q in queries[m.bot.name].take(plan.burst)]
    run = await open_run(m, m.bot, await m.commands(texts), math.inf, latency)
    run.summary.name = f"burst {plan.burst} at once: pmp-bot"
    last_ack = max(s.acked for s in run.samples)
    last_result = max((s.delivered or 0.0) for s in run.samples)
    run.summary.notes.append(f"last result {last_result - last_ack:.2f} s after the last ack")
    return run


@dataclass(frozen=True)
class OptionsTarget:
    action_id: str
    block_id: str
    callback_id: str


def options_targets() -> list[OptionsTarget]:
    """The customer typeaheads the bot may have: the new-ticket modal's first."""
    from bot.blocks import ids

    found = []
    ticket_form = getattr(ids, "TicketForm", None)
    if ticket_form is not None:
        found.append(OptionsTarget(ticket_form.CUSTOMER_INPUT, "customer", ticket_form.NEW_MODAL))
    record_form = getattr(ids, "RecordForm", None)
    if record_form is not None:
        found.append(OptionsTarget(record_form.CUSTOMER_OPTIONS, "customer", record_form.MODAL))
    return found


async def typeahead(m: Machine, plan: Plan, queries: dict[str, Queries]) -> tuple[Run | None, str]:
    """Users typing into the customer select: each distinct query is typed by several users
    at about the same time (as prefixes are), in an open loop."""
    chosen = None
    for candidate in options_targets():
        probe = m.slack.block_suggestion(
            action_id=candidate.action_id,
            block_id=candidate.block_id,
            value="zzzz-probe",
            view=_modal_view(candidate.callback_id),
        )
        [sample] = await open_loop(m.target(m.bot), [probe], math.inf)
        if sample.status == 200:
            chosen = candidate
            break
    if chosen is None:
        return None, "skipped: the bot has no customer typeahead (options load) yet"
    distinct = queries[m.bot.name].take(plan.typeahead_queries)
    # Each query asked by several users close together: keystrokes are ~150 ms apart.
    values = [distinct[i % len(distinct)] for i in range(plan.typeahead_loads)]
    values.sort(key=lambda v: (distinct.index(v), random.random()))
    requests = [
        m.slack.block_suggestion(
            action_id=chosen.action_id,
            block_id=chosen.block_id,
            value=value,
            view=_modal_view(chosen.callback_id),
        )
        for value in values
    ]
    rate = plan.typeahead_users / 0.15
    run = await open_run(m, m.bot, requests, rate, 0.0)
    run.summary.name = f"typeahead {rate:.0f}/s: pmp-bot"
    asked = run.pmp_asked or 0
    empty = sum(1 for s in run.samples if re.search(r'"options":\s*\[\]', s.text))
    note = (
        f"typeahead: {plan.typeahead_loads} loads of {len(distinct)} distinct queries "
        f"({chosen.action_id}); PMP asked {asked} times ({asked / len(distinct):.2f} per "
        f"distinct query); {empty} empty answers"
    )
    return run, note


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
    m: Machine, plan: Plan, queries: dict[str, Queries], latency: float
) -> Run:
    from bot.blocks.ids import HomeAction

    view = _modal_view(HomeAction.SEARCH_MODAL)
    count = int(plan.modal_rate * plan.modal_seconds)
    requests = [
        m.slack.view_submission(
            view, {HomeAction.SEARCH_BLOCK: {HomeAction.SEARCH_INPUT: {"value": q}}}
        )
        for q in queries[m.bot.name].take(count)
    ]
    target = m.target(m.bot)
    await target.warm(20)
    with collector_paused():
        before = m.cpu()
        samples = await open_loop(target, requests, plan.modal_rate)
        after = m.cpu()
    summary = summarize(
        f"modal submit {plan.modal_rate:g}/s: pmp-bot",
        samples,
        pmp_latency=latency,
        expect_delivery=False,
    )
    updated = sum(1 for s in samples if '"response_action":"update"' in s.text.replace(" ", ""))
    summary.notes.append(f"{updated} answered with the results view")
    summary.notes.append(f"ack - PMP p50 {fmt(percentile(summary.ack_ms, 0.5) - latency * 1000)}")
    return Run(summary, cost(m.bot.name, len(samples), before, after), samples)


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
            str(max(1, int(seconds))),
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


def finish_profiler(spy: subprocess.Popen[bytes]) -> None:
    try:
        _, err = spy.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        spy.kill()
        spy.communicate()
        return
    if spy.returncode:
        print("py-spy failed:", err.decode(errors="replace").strip().splitlines()[-1:])


_FRAME_FILE = re.compile(r"\((?P<file>[^()]+):\d+\)$")


def frame_package(frame: str) -> str:
    """Where a py-spy frame's code lives: `bot.lookups`, `bot.blocks`, `handlers.commands`, a
    third-party package (`httpcore`) or a standard module (`asyncio`, `socket`). py-spy names
    files from their package (`httpcore/_async/http11.py`, `socket.py`), or in full."""
    found = _FRAME_FILE.search(frame)
    if found is None:
        return "?"
    path = found["file"]
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    elif "/python3." in path:
        path = path.split("/python3.", 1)[1].split("/", 1)[-1]
    parts = Path(path).parts
    for root in ("bot", "handlers"):
        if root in parts:
            inside = parts[parts.index(root) :]
            return ".".join(inside[:2]).removesuffix(".py")
    return parts[0].removesuffix(".py") if parts else "?"


# What a sample of the bot was doing, from the packages on its stack: the first area (in
# this order) any of its frames belongs to. Leaf work first (logging inside a PMP request
# counts as logging), then the layers a lookup passes through.
PROFILE_AREAS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("logging", ("logging", "bot.observability")),
    ("pydantic (PMP records, settings)", ("pydantic", "pydantic_core")),
    ("JSON", ("json",)),
    ("kept results (bot.result_cache)", ("bot.result_cache",)),
    ("Block Kit (slack_sdk.models, bot.blocks)", ("slack_sdk.models", "bot.blocks")),
    (
        "PMP request (bot.pmp, httpx and the transport under it)",
        ("bot.pmp", "httpx", "httpcore", "anyio"),
    ),
    (
        "database reads and writes (bot.storage, SQLAlchemy, aiosqlite)",
        ("bot.storage", "sqlalchemy", "aiosqlite"),
    ),
    ("response_url post (aiohttp)", ("aiohttp", "slack_sdk.webhook", "yarl", "multidict")),
    ("Bolt dispatch (slack_bolt)", ("slack_bolt",)),
    ("starlette", ("starlette",)),
    ("uvicorn and h11 (the bot's HTTP server)", ("uvicorn", "h11")),
    ("metrics (prometheus_client, bot.metrics)", ("prometheus_client", "bot.metrics")),
    ("other pmp-bot code", ("bot", "handlers")),
)


EVENT_LOOP_AREA = "event loop, sockets and the rest"


def profile_area(frames: Sequence[str]) -> str:
    if frames and "asyncio/runners.py" in frames[-1]:
        # uvloop's loop runs in C: its I/O, timers and callbacks show as the runner itself.
        return EVENT_LOOP_AREA
    packages = {frame_package(frame) for frame in frames}
    # slack_sdk is split: its models build Block Kit, its webhook client posts results.
    for frame in frames:
        if "slack_sdk/models" in frame:
            packages.add("slack_sdk.models")
        elif "slack_sdk/webhook" in frame:
            packages.add("slack_sdk.webhook")
    for area, owners in PROFILE_AREAS:
        if any(p == o or p.startswith(o + ".") for p in packages for o in owners):
            return area
    return EVENT_LOOP_AREA


def summarize_profile(collapsed: Path, ms_per_lookup: float, top: int = 20) -> list[str]:
    """Where the bot's CPU went, from py-spy's collapsed stacks (`--profile FILE.txt`): by
    area (see PROFILE_AREAS), self time by package and by function, each as a share of the
    samples and as CPU ms per lookup (the profiled run's CPU per lookup times the share)."""
    own: dict[str, int] = {}
    packages: dict[str, int] = {}
    areas: dict[str, int] = {}
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
        package = frame_package(frames[-1])
        packages[package] = packages.get(package, 0) + count
        area = profile_area(frames)
        areas[area] = areas.get(area, 0) + count
    if not total:
        return ["profile: no samples"]

    def share(count: int) -> str:
        return f"{100 * count / total:5.1f}%  {ms_per_lookup * count / total:5.2f} ms"

    lines = [f"profile: {total} samples, {ms_per_lookup:.2f} ms CPU per lookup in that run"]
    lines.append("by area (share of samples, CPU ms per lookup):")
    for name, count in sorted(areas.items(), key=lambda item: -item[1]):
        lines.append(f"  {share(count)}  {name}")
    lines.append("self time by package:")
    for name, count in sorted(packages.items(), key=lambda item: -item[1])[:top]:
        lines.append(f"  {share(count)}  {name}")
    lines.append(f"self time by function, top {top}:")
    for frame, count in sorted(own.items(), key=lambda item: -item[1])[:top]:
        lines.append(f"  {share(count)}  {frame}")
    return lines


# ---------------------------------------------------------------------------- report


def fmt(value: float, digits: int = 1) -> str:
    return "-" if value != value else f"{value:.{digits}f}"  # NaN shows as "-"


LATENCY_HEADER = (
    "| run | sent | errors | ack p50 / p95 / p99 | ack max | delivered | "
    "overhead p50 / p95 | per s | notes |\n|---|---|---|---|---|---|---|---|---|"
)
COST_HEADER = (
    "| run | server CPU per request | cores busy: server, sandbox, stand-in, generator | "
    "sandbox CPU per request | generator CPU per request | generator late p50 / p99 / max | "
    "PMP asked |\n|---|---|---|---|---|---|---|"
)


def latency_row(run: Run) -> str:
    s = run.summary
    return (
        f"| {s.name} | {s.sent} | {s.errors} | {fmt(s.p(s.ack_ms, 0.5))} / "
        f"{fmt(s.p(s.ack_ms, 0.95))} / {fmt(s.p(s.ack_ms, 0.99))} | "
        f"{fmt(max(s.ack_ms, default=float('nan')))} | {s.delivered or '-'} | "
        f"{fmt(s.p(s.overhead_ms, 0.5))} / {fmt(s.p(s.overhead_ms, 0.95))} | "
        f"{fmt(s.throughput) if s.throughput else '-'} | {'; '.join(s.notes)} |"
    )


def cost_row(run: Run) -> str:
    c, s = run.cost, run.summary
    cores = ", ".join(
        fmt(c.cores(name), 2) for name in (c.server, "sandbox", "standin", "generator")
    )
    asked = "-" if run.pmp_asked is None else f"{run.pmp_asked} for {s.sent}"
    return (
        f"| {s.name} | {fmt(c.ms_per_request(c.server), 2)} ms | {cores} | "
        f"{fmt(c.ms_per_request('sandbox'), 2)} ms | "
        f"{fmt(1000 * c.ms_per_request('generator'), 0)} us | "
        f"{fmt(s.p(s.late_ms, 0.5), 2)} / {fmt(s.p(s.late_ms, 0.99), 2)} / "
        f"{fmt(max(s.late_ms, default=float('nan')), 2)} ms | {asked} |"
    )


def verdict(ratio: float, target: float, at_most: bool) -> str:
    met = ratio <= target if at_most else ratio >= target
    sign = "<=" if at_most else ">="
    return f"{ratio:.2f}x (target {sign} {target:g}x: {'met' if met else 'NOT met'})"


def design_floor(runs: dict[str, Run]) -> list[str]:
    """The bare lookup apps against bare-respond and pmp-bot: what the design's stack costs by
    itself (one httpx request to PMP, slack_sdk Block Kit, one post), with no pmp-bot code."""
    lines = []
    for loop in ("open", "closed"):
        bot, respond = runs.get(f"{loop} pmp-bot"), runs.get(f"{loop} bare-respond")
        for name in ("bare-lookup", "bare-lookup-aiohttp"):
            floor = runs.get(f"{loop} {name}")
            if not (bot and respond and floor):
                continue
            bot_cpu, respond_cpu, floor_cpu = (
                r.cost.ms_per_request(r.cost.server) for r in (bot, respond, floor)
            )
            line = (
                f"{loop} loop, the design's stack alone: {name} {floor_cpu:.2f} ms CPU per "
                f"lookup = {floor_cpu / respond_cpu:.2f}x bare-respond's; pmp-bot's = "
                f"{bot_cpu / floor_cpu:.2f}x {name}'s"
            )
            if loop == "closed":
                rate = floor.summary.throughput
                line += (
                    f"; {name} {rate:.0f} results/s = "
                    f"{rate / max(respond.summary.throughput, 1e-9):.2f}x bare-respond's"
                )
            lines.append(line)
    return lines


def findings(runs: dict[str, Run]) -> list[str]:
    """Issue 13's ratios, and whether the generator or the servers set the pace."""
    lines = []
    bot_open, ack_open = runs.get("open pmp-bot"), runs.get("open bare-ack")
    respond_open = runs.get("open bare-respond")
    if bot_open and ack_open and respond_open:
        bot_p99, ack_p99 = (percentile(r.summary.ack_ms, 0.99) for r in (bot_open, ack_open))
        lines.append(
            f"open loop ack p99: pmp-bot {bot_p99:.1f} ms / bare-ack {ack_p99:.1f} ms = "
            + verdict(bot_p99 / ack_p99, TARGET_ACK_P99, at_most=True)
        )
        bot_cpu, respond_cpu = (
            r.cost.ms_per_request(r.cost.server) for r in (bot_open, respond_open)
        )
        lines.append(
            f"open loop CPU per lookup: pmp-bot {bot_cpu:.2f} ms / bare-respond "
            f"{respond_cpu:.2f} ms = " + verdict(bot_cpu / respond_cpu, TARGET_CPU, at_most=True)
        )
    bot_closed, respond_closed = runs.get("closed pmp-bot"), runs.get("closed bare-respond")
    if bot_closed and respond_closed:
        bot_rate, respond_rate = bot_closed.summary.throughput, respond_closed.summary.throughput
        lines.append(
            f"closed loop results/s: pmp-bot {bot_rate:.0f} / bare-respond {respond_rate:.0f} = "
            + verdict(bot_rate / max(respond_rate, 1e-9), TARGET_CLOSED, at_most=False)
        )
        bot_cpu, respond_cpu = (
            r.cost.ms_per_request(r.cost.server) for r in (bot_closed, respond_closed)
        )
        lines.append(
            f"closed loop CPU per lookup: pmp-bot {bot_cpu:.2f} ms / bare-respond "
            f"{respond_cpu:.2f} ms = " + verdict(bot_cpu / respond_cpu, TARGET_CPU, at_most=True)
        )
    lines.extend(design_floor(runs))
    trivial, trivial_respond = runs.get("calibrate trivial"), runs.get("calibrate trivial-respond")
    if trivial and trivial_respond:
        lines.append(
            f"generator alone (closed loop against a raw server that answers 200 at once): "
            f"{trivial.summary.throughput:.0f} requests/s, generator "
            f"{trivial.cost.cores('generator'):.2f} cores, "
            f"{1000 * trivial.cost.ms_per_request('generator'):.0f} us CPU per request"
        )
        lines.append(
            f"generator + Slack stand-in (the raw server also posts each result): "
            f"{trivial_respond.summary.throughput:.0f} results/s delivered; stand-in "
            f"{trivial_respond.cost.cores('standin'):.2f} cores, "
            f"{trivial_respond.cost.ms_per_request('standin'):.2f} ms CPU per result"
        )
        for name in ("closed bare-respond", "closed pmp-bot"):
            if name in runs:
                rate = runs[name].summary.throughput
                lines.append(
                    f"{name}: {rate:.0f}/s = {100 * rate / trivial_respond.summary.throughput:.0f}%"
                    f" of what the generator and stand-in carry; generator "
                    f"{runs[name].cost.cores('generator'):.2f} cores busy"
                )
    measured = [r for key, r in runs.items() if not key.startswith("calibrate")]
    if measured:
        busiest = max(measured, key=lambda r: r.cost.cores("generator"))
        latest = max(measured, key=lambda r: percentile(r.summary.late_ms, 0.99))
        lines.append(
            f"generator at its busiest: {busiest.cost.cores('generator'):.2f} cores "
            f"({busiest.name}); its latest sends: p99 "
            f"{percentile(latest.summary.late_ms, 0.99):.2f} ms ({latest.name})"
        )
    return lines


# ---------------------------------------------------------------------------- main


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min)"


async def run(
    plan: Plan,
    latencies: Latencies,
    profile: str | None,
    workdir: Path,
    only: set[str],
    profiled: str = "pmp-bot",
) -> None:
    secret_key = Fernet.generate_key().decode()
    database_url = f"sqlite:///{workdir / 'bot.sqlite3'}"
    names = ("sandbox", "standin", "bot", "ack", "respond", "lookup", "lookup-aiohttp")
    names += ("trivial", "trivial-respond")
    ports = {name: free_port() for name in names}
    print(f"load average before: {load_average()}; {os.cpu_count()} CPUs")
    with contextlib.ExitStack() as stack:

        def start(
            name: str, args: list[str], port: str, env: dict[str, str] | None = None
        ) -> Process:
            return stack.enter_context(started(name, args, ports[port], workdir, env))

        sandbox = start(
            "sandbox",
            server("sandbox", "--port", str(ports["sandbox"]), "--latency", str(latencies.open)),
            "sandbox",
        )
        standin = start("standin", server("standin", "--port", str(ports["standin"])), "standin")
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
        bot = start(
            "pmp-bot", [PYTHON, "-m", "bot", "serve", "--port", str(ports["bot"])], "bot", env
        )
        bare = [
            start(
                f"bare-{mode}",
                server(
                    "bare",
                    *("--mode", mode, "--port", str(ports[mode]), "--api-url", api_url),
                    *("--latency", str(latencies.open)),
                ),
                mode,
                {"SLACK_SIGNING_SECRET": SIGNING_SECRET},
            )
            for mode in ("ack", "respond")
        ]
        floors = [
            start(
                name,
                server(
                    "bare",
                    *("--mode", "lookup", "--port", str(ports[port]), "--api-url", api_url),
                    *("--pmp-url", sandbox.url, "--pmp-token", DEFAULT_SANDBOX_TOKEN),
                    *("--pmp-transport", transport),
                ),
                port,
                {"SLACK_SIGNING_SECRET": SIGNING_SECRET},
            )
            for name, port, transport in (
                ("bare-lookup", "lookup", "httpx"),
                ("bare-lookup-aiohttp", "lookup-aiohttp", "aiohttp"),
            )
        ]
        trivial = start("trivial", server("trivial", "--port", str(ports["trivial"])), "trivial")
        trivial_respond = start(
            "trivial-respond",
            server("trivial", "--port", str(ports["trivial-respond"]), "--respond"),
            "trivial-respond",
        )
        deliveries = Deliveries(standin.url)
        await deliveries.start()
        timeout = aiohttp.ClientTimeout(total=30)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session:
                machine = Machine(
                    bot=bot,
                    ack=bare[0],
                    respond=bare[1],
                    lookup=floors[0],
                    lookup_aiohttp=floors[1],
                    sandbox=sandbox,
                    standin=standin,
                    trivial=trivial,
                    trivial_respond=trivial_respond,
                    session=session,
                    slack=SlackRequests(
                        signing_secret=SIGNING_SECRET,
                        team=BENCH_TEAM,
                        user=BENCH_USER,
                        channel=BENCH_CHANNEL,
                    ),
                    deliveries=deliveries,
                    profiled=profiled,
                )
                try:
                    await scenarios(machine, plan, latencies, profile, workdir, only)
                finally:
                    for target in machine.targets.values():
                        target.close()
        finally:
            await deliveries.stop()
    print(f"\nload average after: {load_average()}")


async def scenarios(
    m: Machine,
    plan: Plan,
    latencies: Latencies,
    profile: str | None,
    workdir: Path,
    only: set[str],
) -> None:
    pool = await query_pool(m.session, m.sandbox.url)
    queries = {process.name: Queries(pool) for process in (m.bot, m.ack, m.respond, *m.floors)}
    print(f"{len(pool)} distinct search words, each finding one customer")
    # Warm-up: first requests import lazily loaded modules and open connection pools.
    for process in (m.bot, m.ack, m.respond, *m.floors):
        warm = await m.commands([f"customer {q}" for q in queries[process.name].take(5)])
        samples = await open_loop(m.target(process), warm, math.inf)
        if any(s.error for s in samples):
            raise SystemExit(f"warm-up against {process.name} failed: {samples[0].error}")
    await asyncio.sleep(latencies.open + 1.5)
    idle = m.bot.memory_kb()
    print(f"bot idle (after 5 warm-up lookups): VmRSS {idle['VmRSS'] / 1024:.1f} MB")

    runs: dict[str, Run] = {}
    notes: list[str] = []
    profile_lines: list[str] = []
    if "calibrate" in only:
        for run in await calibrate(m, plan):
            runs[f"calibrate {run.cost.server}"] = run
    if "open" in only:
        await m.set_latency(latencies.open)
        # --profile spies on the closed loop, or on the open loop when that is not run.
        open_profile = profile if "closed" not in only else None
        open_runs = await open_loop_runs(m, plan, queries, latencies.open, open_profile)
        for run in open_runs:
            runs[f"open {run.cost.server}"] = run
        if open_profile and open_profile.endswith(".txt") and Path(open_profile).exists():
            bot_run = runs[f"open {m.profiled}"]
            profile_lines = summarize_profile(
                Path(open_profile), bot_run.cost.ms_per_request(bot_run.cost.server)
            )
    if "closed" in only:
        await m.set_latency(latencies.closed)
        closed = await closed_loop_runs(m, plan, queries, latencies.closed, profile)
        for run in closed:
            runs[f"closed {run.cost.server}"] = run
        if profile and profile.endswith(".txt") and Path(profile).exists():
            bot_run = runs[f"closed {m.profiled}"]
            profile_lines = summarize_profile(
                Path(profile), bot_run.cost.ms_per_request(bot_run.cost.server)
            )
    if "burst" in only:
        await m.set_latency(latencies.burst)
        runs["burst"] = await burst(m, plan, queries, latencies.burst)
    if "typeahead" in only:
        await m.set_latency(latencies.typeahead)
        typeahead_run, note = await typeahead(m, plan, queries)
        if typeahead_run is not None:
            runs["typeahead"] = typeahead_run
        notes.append(note)
    if "modal" in only:
        await m.set_latency(latencies.open)
        runs["modal"] = await modal_submissions(m, plan, queries, latencies.open)
    await asyncio.sleep(2.0)
    after = m.bot.memory_kb()

    print(
        "\nTimes in ms, from when each request was due (open loop: its place in the schedule;"
        "\nclosed loop: when the user's last result arrived). overhead = result at the Slack"
        f"\nstand-in - due - PMP latency. PMP latency: open {latencies.open * 1000:.0f} ms, "
        f"closed {latencies.closed * 1000:.0f} ms.\n"
    )
    print(LATENCY_HEADER)
    for run in runs.values():
        print(latency_row(run))
    print(
        "\nCPU during each run (from /proc; cores busy = CPU seconds / the run's wall time);"
        "\nthe generator's lateness: how long after its due time each request left.\n"
    )
    print(COST_HEADER)
    for run in runs.values():
        print(cost_row(run))
    print()
    for line in [*findings(runs), *notes]:
        print(line)
    if queries[m.bot.name].reused:
        print(f"search words reused by the bot (pool exhausted): {queries[m.bot.name].reused}")
    else:
        print("search words: every bot lookup searched a word no other lookup searched")
    print(
        f"bot RSS: idle {idle['VmRSS'] / 1024:.1f} MB; after the runs "
        f"{after['VmRSS'] / 1024:.1f} MB ({after['VmRSS'] / idle['VmRSS']:.2f}x idle); "
        f"peak (VmHWM) {after['VmHWM'] / 1024:.1f} MB"
    )
    errors = (workdir / "pmp-bot.log").read_text(errors="replace").count("ERROR")
    print(f"bot log: {errors} ERROR line(s)")
    if profile_lines:
        print()
        print("\n".join(profile_lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="py-spy the bot during its closed-loop run, or its open-loop run when the closed "
        "loop is not in --only (.txt: collapsed stacks, summarised; .svg flame graph; .json "
        "speedscope)",
    )
    parser.add_argument(
        "--profile-server",
        default="pmp-bot",
        choices=("pmp-bot", "bare-respond", "bare-lookup", "bare-lookup-aiohttp"),
        help="the process --profile spies on (default pmp-bot; e.g. bare-lookup-aiohttp)",
    )
    parser.add_argument(
        "--only", metavar="LIST", help=f"comma-separated scenarios: {','.join(SCENARIOS)}"
    )
    parser.add_argument(
        "--closed-latency",
        type=float,
        default=Latencies.closed,
        metavar="S",
        help="PMP latency of the closed loop, seconds (default 0: the servers' CPU sets the pace)",
    )
    parser.add_argument(
        "--closed-users",
        type=int,
        metavar="C",
        help="users of the closed loop (default 50): more users, same rate = the server is full",
    )
    parser.add_argument("--keep", action="store_true", help="keep the logs' temporary folder")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="pmp-bench-"))
    try:
        only = set(args.only.split(",")) if args.only else set(SCENARIOS)
        unknown = only - set(SCENARIOS)
        if unknown:
            parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
        plan = QUICK if args.quick else Plan()
        if args.closed_users:
            plan = dataclasses.replace(plan, closed_users=args.closed_users)
        latencies = Latencies(closed=args.closed_latency)
        profile = str(Path(args.profile).resolve()) if args.profile else None
        asyncio.run(run(plan, latencies, profile, workdir, only, args.profile_server))
    finally:
        if args.keep:
            print(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
