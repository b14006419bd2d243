"""The load benchmark's own pieces: signed payloads Bolt accepts, the raw-socket generator
against trivial servers, results counted right, the search words, and a short smoke run of
the whole benchmark (no timings asserted: benchmarks only print them)."""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from urllib.parse import parse_qs, quote

import aiohttp
from slack_sdk.signature import SignatureVerifier

from benchmarks.load import (
    Deliveries,
    HttpTarget,
    Prepared,
    Sample,
    SlackRequests,
    closed_loop,
    open_loop,
    summarize,
)
from benchmarks.run_all import (
    Queries,
    frame_package,
    free_port,
    query_pool,
    search_words,
    started,
    summarize_profile,
)
from benchmarks.servers import _Trivial
from bot.grammar import CommandAction, parse
from bot.sandbox import running_sandbox
from bot.sandbox.auth import DEFAULT_SANDBOX_TOKEN

ROOT = Path(__file__).resolve().parents[2]
SECRET = "bench-test-secret"


def _slack() -> SlackRequests:
    return SlackRequests(signing_secret=SECRET, team="T0001", user="U0001", channel="C0001")


def _verifies(request: Prepared) -> bool:
    return SignatureVerifier(SECRET).is_valid(
        body=request.body.decode(),
        timestamp=request.headers["X-Slack-Request-Timestamp"],
        signature=request.headers["X-Slack-Signature"],
    )


def test_commands_options_loads_and_submissions_carry_a_valid_slack_signature() -> None:
    slack = _slack()
    command = slack.command("customer acme", "http://127.0.0.1:9/actions/T0001/k3y")
    suggestion = slack.block_suggestion(
        action_id="pmp_ticket_customer", block_id="customer", value="acme", view={}
    )
    submission = slack.view_submission({"callback_id": "cb"}, {"b": {"a": {"value": "x"}}})
    assert all(_verifies(request) for request in (command, suggestion, submission))
    assert not _verifies(Prepared(suggestion.body + b"x", suggestion.headers))
    assert command.key == "k3y"
    assert parse_qs(command.body.decode())["text"] == ["customer acme"]
    payload = parse_qs(suggestion.body.decode())["payload"][0]
    assert '"type": "block_suggestion"' in payload and '"value": "acme"' in payload


# ---------------------------------------------------------------------------- raw generator


@asynccontextmanager
async def serving(answer: Callable[[asyncio.Transport], None] | None = None) -> AsyncIterator[str]:
    """A raw server on this loop: the benchmark's trivial one, or one whose every request
    (its body ignored) is answered by `answer`. Yields its URL."""

    class Custom(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            assert isinstance(transport, asyncio.Transport)
            self.transport = transport
            self.buffer = b""

        def data_received(self, data: bytes) -> None:
            self.buffer += data
            head, found, rest = self.buffer.partition(b"\r\n\r\n")
            if not found:
                return
            length = int(head.lower().split(b"content-length: ", 1)[1].split(b"\r\n", 1)[0])
            if len(rest) >= length and answer is not None:
                self.buffer = rest[length:]
                answer(self.transport)

    loop = asyncio.get_running_loop()
    factory = (lambda: _Trivial(None)) if answer is None else Custom
    server = await loop.create_server(factory, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/slack/events"
    finally:
        server.close()


def _requests(count: int) -> list[Prepared]:
    slack = _slack()
    return [slack.command(f"customer w{i}", f"http://127.0.0.1:9/a/T/k{i}") for i in range(count)]


async def test_open_loop_sends_every_request_once_and_reads_every_answer() -> None:
    async with serving() as url:
        target = HttpTarget(url)
        await target.warm(4)
        samples = await open_loop(target, _requests(60), rate=1000.0)
        burst = await open_loop(target, _requests(30), rate=float("inf"))
        target.close()
    assert [s.status for s in samples + burst] == [200] * 90
    assert not any(s.error for s in samples + burst)
    assert all(s.due <= s.sent <= s.acked for s in samples + burst)
    assert sorted(s.due for s in samples) == [s.due for s in samples]  # one schedule
    assert len({s.due for s in burst}) == 1  # all due at once
    assert [s.key for s in samples[:2]] == ["k0", "k1"]


async def test_closed_loop_users_keep_one_request_each_on_kept_alive_connections() -> None:
    async with serving() as url:
        target = HttpTarget(url)
        samples, start, stop = await closed_loop(
            target, _requests(200), users=5, duration=60.0, deliveries=None
        )
        target.close()
    # The requests ran out first; five users never needed more than five connections.
    assert len(samples) == 200 and all(s.status == 200 for s in samples)
    assert target.opened <= 5
    assert start < stop


async def test_answers_read_by_length_in_chunks_and_to_the_close() -> None:
    def chunked(transport: asyncio.Transport) -> None:
        transport.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        transport.write(b"5\r\nhello\r\n")
        transport.write(b"6\r\n world\r\n0\r\n\r\n")

    def closing(transport: asyncio.Transport) -> None:
        transport.write(b"HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\nnothing here")
        transport.close()

    async with serving(chunked) as url:
        target = HttpTarget(url)
        answers = await open_loop(target, _requests(3), rate=float("inf"))
        target.close()
    assert [s.body for s in answers] == [b"hello world"] * 3 and target.opened == 3
    async with serving(closing) as url:
        target = HttpTarget(url)
        [refused] = await open_loop(target, _requests(1), rate=float("inf"))
        [again] = await open_loop(target, _requests(1), rate=float("inf"))
    assert (refused.status, refused.body, refused.error) == (404, b"nothing here", "HTTP 404")
    assert again.status == 404 and target.opened == 2  # a closed connection isn't reused


@contextmanager
def _processes(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The benchmark's Slack stand-in and its trivial server that posts each result."""
    standin_port, trivial_port = free_port(), free_port()
    servers = str(ROOT / "benchmarks" / "servers.py")
    with (
        started(
            "standin",
            [sys.executable, servers, "standin", "--port", str(standin_port)],
            standin_port,
            tmp_path,
        ) as standin,
        started(
            "trivial",
            [sys.executable, servers, "trivial", "--port", str(trivial_port), "--respond"],
            trivial_port,
            tmp_path,
        ) as trivial,
    ):
        yield standin.url, trivial.url


async def test_closed_loop_users_wait_for_their_results_at_the_slack_standin(
    tmp_path: Path,
) -> None:
    with _processes(tmp_path) as (standin_url, trivial_url):
        async with aiohttp.ClientSession() as session:
            mint = await session.post(f"{standin_url}/_bench/mint", json={"count": 40})
            urls = (await mint.json())["urls"]
        slack = _slack()
        requests = [slack.command("customer x", url) for url in urls]
        deliveries = Deliveries(standin_url)
        await deliveries.start()
        try:
            target = HttpTarget(trivial_url + "/slack/events")
            samples, _, _ = await closed_loop(
                target, requests, users=4, duration=60.0, deliveries=deliveries
            )
            await deliveries.collect(samples, timeout=10)
            target.close()
        finally:
            await deliveries.stop()
    assert len(samples) == 40
    assert all(s.delivered is not None and s.delivery_status == 200 for s in samples)
    summary = summarize("run", samples, pmp_latency=0.0, expect_delivery=True)
    assert (summary.errors, summary.delivered) == (0, 40)


async def test_the_bare_lookup_apps_search_pmp_once_and_post_what_it_found(
    tmp_path: Path,
) -> None:
    """The design's floor in the benchmark really looks up: one PMP search per command, and
    the customer it found posted as Block Kit the strict Slack stand-in accepts."""
    servers = str(ROOT / "benchmarks" / "servers.py")
    ports = {name: free_port() for name in ("sandbox", "standin", "httpx", "aiohttp")}

    def run(name: str, *args: str) -> list[str]:
        return [sys.executable, servers, name, "--port", str(ports[name]), *args]

    with (
        started("sandbox", run("sandbox"), ports["sandbox"], tmp_path) as sandbox,
        started("standin", run("standin"), ports["standin"], tmp_path) as standin,
    ):
        lookup = ("--mode", "lookup", "--api-url", f"{standin.url}/api/")
        pmp = ("--pmp-url", sandbox.url, "--pmp-token", DEFAULT_SANDBOX_TOKEN)
        env = {"SLACK_SIGNING_SECRET": SECRET}
        with (
            started(
                "httpx",
                [sys.executable, servers, "bare", "--port", str(ports["httpx"]), *lookup, *pmp],
                ports["httpx"],
                tmp_path,
                env,
            ) as over_httpx,
            started(
                "aiohttp",
                [
                    *(sys.executable, servers, "bare", "--port", str(ports["aiohttp"])),
                    *(*lookup, *pmp, "--pmp-transport", "aiohttp"),
                ],
                ports["aiohttp"],
                tmp_path,
                env,
            ) as over_aiohttp,
        ):
            async with aiohttp.ClientSession() as session:
                words = (await query_pool(session, sandbox.url))[:6]
                companies = {}
                for word in words:
                    found = await session.get(
                        f"{sandbox.url}/api/customers/search/{quote(word, safe='')}",
                        headers={"authtoken": DEFAULT_SANDBOX_TOKEN},
                    )
                    [customer] = await found.json()
                    companies[word] = customer["company"]
                await session.post(f"{sandbox.url}/_bench/count")
                mint = await session.post(f"{standin.url}/_bench/mint", json={"count": 6})
                urls = (await mint.json())["urls"]
                slack = _slack()
                deliveries = Deliveries(standin.url)
                await deliveries.start()
                samples = []
                try:
                    for app, chosen in ((over_httpx, words[:3]), (over_aiohttp, words[3:])):
                        requests = [
                            slack.command(f"customer {word}", urls[words.index(word)])
                            for word in chosen
                        ]
                        target = HttpTarget(app.url + "/slack/events")
                        samples += await open_loop(target, requests, rate=float("inf"))
                        target.close()
                    await deliveries.collect(samples, timeout=10)
                finally:
                    await deliveries.stop()
                asked = await (await session.get(f"{sandbox.url}/_bench/count")).json()
                posted = await (await session.get(f"{standin.url}/_bench/messages")).json()
    assert [(s.status, s.delivery_status) for s in samples] == [(200, 200)] * 6
    assert asked == {"api_requests": 6}
    assert [m["text"] for m in posted["messages"]] == ["1 customer(s) found"] * 6
    shown = [json.dumps(m["blocks"]) for m in posted["messages"]]
    for word in words:  # each lookup's customer in one message
        assert sum(json.dumps(companies[word])[1:-1] in blocks for blocks in shown) == 1, word


# ---------------------------------------------------------------------------- figures


def test_results_never_delivered_count_as_errors_and_times_count_from_the_due_time() -> None:
    delivered = Sample(key="a", due=9.99, sent=10.0, acked=10.01, status=200, delivered=10.35)
    delivered.delivery_status = 200
    lost = Sample(key="b", due=10.0, sent=10.0, acked=10.02, status=200)
    refused = Sample(key="c", due=10.0, sent=10.0, acked=10.5, status=500, error="HTTP 500")
    summary = summarize("run", [delivered, lost, refused], pmp_latency=0.3, expect_delivery=True)
    assert summary.errors == 2
    assert summary.delivered == 1
    assert round(summary.overhead_ms[0], 6) == 60.0  # the send was 10 ms late
    assert sorted(round(ms) for ms in summary.ack_ms) == [20, 20]
    assert sorted(round(ms) for ms in summary.late_ms) == [0, 0, 10]


def test_closed_loop_throughput_counts_only_results_inside_the_window() -> None:
    inside = Sample(key="a", sent=1.0, acked=1.01, status=200, delivered=1.5, delivery_status=200)
    late = Sample(key="b", sent=1.9, acked=1.95, status=200, delivered=2.4, delivery_status=200)
    summary = summarize(
        "run", [inside, late], pmp_latency=0.3, expect_delivery=True, window=(0.0, 2.0)
    )
    assert summary.throughput == 0.5


# ---------------------------------------------------------------------------- search words


def test_a_search_word_is_one_customers_alone_accents_and_case_aside() -> None:
    customers = [
        {"company": "Müller Söhne", "firstname": "Ann", "lastname": "Lee", "email": "a@x.io"},
        {"company": "Sohnes Ltd", "firstname": "Bob", "lastname": "Ray", "email": "b@x.io"},
        {"company": "Newt Works", "firstname": "Cy", "lastname": "Oh", "email": "c@y.io"},
    ]
    words = search_words(customers)
    assert {"muller", "ann lee", "ltd", "newt", "c@y"} <= set(words)
    assert "sohne" not in words  # "Söhne" and "Sohnes" both hold it
    assert "x.io" not in words
    assert "new" not in words  # `/pmp customer new` opens a form: not a search


async def test_search_words_each_find_one_customer_and_are_never_handed_out_twice() -> None:
    with running_sandbox() as sandbox:
        async with aiohttp.ClientSession() as session:
            pool = await query_pool(session, sandbox.base_url)
        sample = random.Random(1).sample(pool, 300)
        found = [len(sandbox.store.search_customers(word)) for word in sample]
    assert len(pool) > 10_000 and len(set(pool)) == len(pool)
    assert found == [1] * len(sample)
    assert all(parse(f"customer {word}").action is CommandAction.SEARCH for word in sample)
    queries = Queries(pool[:100])
    first = queries.take(90)
    queries.give_back(3)
    assert queries.take(3) == first[-3:] and queries.reused == 0
    assert queries.take(20)[10:] == first[:10] and queries.reused == 10


def test_quick_run_of_calibration_and_modal_prints_their_figures() -> None:
    finished = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "run_all.py"),
            "--quick",
            "--only",
            "calibrate,modal",
        ],
        capture_output=True,
        text=True,
        timeout=110,
        cwd=ROOT,
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert "| modal submit 20/s: pmp-bot | 20 | 0 |" in finished.stdout
    assert "| calibration C=50: trivial-respond |" in finished.stdout
    assert "generator alone (closed loop against a raw server" in finished.stdout
    assert "bot RSS: idle" in finished.stdout


def test_profile_summary_puts_each_sample_in_the_area_of_its_stack(tmp_path: Path) -> None:
    pmp = (
        "handle_search (handlers/lookups.py:22);PmpClient.request (bot/pmp/client.py:341);"
        "AsyncConnectionPool.handle_async_request (httpcore/_async/connection_pool.py:228);"
        "_SelectorSocketTransport.write (asyncio/selector_events.py:1057)"
    )
    logged = "PmpClient.request (bot/pmp/client.py:341);Logger.info (logging/__init__.py:1489)"
    blocks = (
        "AsyncApp.async_dispatch (slack_bolt/app/async_app.py:500);"
        "build_results (bot/blocks/results.py:40);"
        "SectionBlock.to_dict (slack_sdk/models/blocks/blocks.py:100)"
    )
    idle = "Handle._run (asyncio/events.py:80)"
    # uvloop's loop is C: its own work shows as the runner, under pmp-bot's start-up code.
    native = "run_until_stopped (bot/run/common.py:84);Runner.run (asyncio/runners.py:118)"
    profile = tmp_path / "profile.txt"
    profile.write_text(f"{pmp} 6\n{logged} 2\n{blocks} 1\n{idle} 1\n{native} 10\n")
    lines = summarize_profile(profile, ms_per_lookup=2.0)
    assert lines[0] == "profile: 20 samples, 2.00 ms CPU per lookup in that run"
    areas = lines[2:6]
    assert "55.0%" in areas[0] and "1.10 ms" in areas[0] and "event loop" in areas[0]
    assert "30.0%" in areas[1] and "0.60 ms" in areas[1] and "PMP request" in areas[1]
    assert "logging" in areas[2] and "10.0%" in areas[2]
    assert any("Block Kit" in line and "5.0%" in line for line in areas)
    assert frame_package("quote (httpx/_urlparse.py:523)") == "httpx"
    assert frame_package("x (/usr/lib/python3.11/asyncio/events.py:80)") == "asyncio"
    assert frame_package("get (/srv/app/bot/storage/workspaces.py:151)") == "bot.storage"
