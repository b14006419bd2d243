"""The load benchmark's own pieces: signed payloads Bolt accepts, results counted right, and
a short smoke run of the whole benchmark (no timings asserted: benchmarks only print them)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs

import aiohttp
from slack_sdk.signature import SignatureVerifier

from benchmarks.load import Prepared, Sample, SlackLoad, summarize
from benchmarks.run_all import Queries, query_pool
from bot.grammar import CommandAction, parse
from bot.sandbox import running_sandbox

ROOT = Path(__file__).resolve().parents[2]
SECRET = "bench-test-secret"


def _load(session: aiohttp.ClientSession) -> SlackLoad:
    return SlackLoad(
        session,
        signing_secret=SECRET,
        standin_url="http://127.0.0.1:9",
        team="T0001",
        user="U0001",
        channel="C0001",
    )


def _verifies(request: Prepared) -> bool:
    return SignatureVerifier(SECRET).is_valid(
        body=request.body.decode(),
        timestamp=request.headers["X-Slack-Request-Timestamp"],
        signature=request.headers["X-Slack-Signature"],
    )


async def test_options_loads_and_submissions_carry_a_valid_slack_signature() -> None:
    async with aiohttp.ClientSession() as session:
        load = _load(session)
        suggestion = load.block_suggestion(
            action_id="pmp_ticket_customer", block_id="customer", value="acme", view={}
        )
        submission = load.view_submission({"callback_id": "cb"}, {"b": {"a": {"value": "x"}}})
    assert _verifies(suggestion) and _verifies(submission)
    tampered = Prepared(suggestion.body + b"x", suggestion.headers)
    assert not _verifies(tampered)
    payload = parse_qs(suggestion.body.decode())["payload"][0]
    assert '"type": "block_suggestion"' in payload and '"value": "acme"' in payload


def test_results_never_delivered_count_as_errors_and_overhead_leaves_out_pmp() -> None:
    delivered = Sample(key="a", sent=10.0, acked=10.01, status=200, delivered=10.35)
    delivered.delivery_status = 200
    lost = Sample(key="b", sent=10.0, acked=10.02, status=200)
    refused = Sample(key="c", sent=10.0, acked=10.5, status=500, error="HTTP 500")
    summary = summarize("run", [delivered, lost, refused], pmp_latency=0.3, expect_delivery=True)
    assert summary.errors == 2
    assert summary.delivered == 1
    assert round(summary.overhead_ms[0], 6) == 50.0
    assert sorted(round(ms) for ms in summary.ack_ms) == [10, 20]


def test_closed_loop_throughput_counts_only_results_inside_the_window() -> None:
    inside = Sample(key="a", sent=1.0, acked=1.01, status=200, delivered=1.5, delivery_status=200)
    late = Sample(key="b", sent=1.9, acked=1.95, status=200, delivered=2.4, delivery_status=200)
    summary = summarize(
        "run", [inside, late], pmp_latency=0.3, expect_delivery=True, window=(0.0, 2.0)
    )
    assert summary.throughput == 0.5


async def test_search_words_find_customers_are_searches_and_cycle_without_repeats() -> None:
    with running_sandbox() as sandbox:
        async with aiohttp.ClientSession() as session:
            pool = await query_pool(session, sandbox.base_url)
        hits = [len(sandbox.store.search_customers(word)) for word in pool[:20]]
    assert len(pool) > 600
    assert all(count > 0 for count in hits)
    assert all(parse(f"customer {word}").action is CommandAction.SEARCH for word in pool)
    queries = Queries(pool)
    first = queries.take(len(pool))
    assert len(set(first)) == len(pool)
    queries.give_back(3)
    assert queries.take(3) == first[-3:]
    assert queries.take(1) == first[:1]


def test_quick_run_of_the_modal_scenario_prints_its_figures() -> None:
    finished = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run_all.py"), "--quick", "--only", "modal"],
        capture_output=True,
        text=True,
        timeout=110,
        cwd=ROOT,
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert "| modal submit 20/s x 1 s: bot | 20 |" in finished.stdout
    assert "bot RSS: idle" in finished.stdout
