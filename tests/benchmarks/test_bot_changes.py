"""What the load benchmark led to change in the bot: shared workspace reads, shared PMP
searches, and response_url posts through the pooled session."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from cryptography.fernet import Fernet
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.console.slack_standin import running_slack_standin
from bot.crypto import TokenCipher
from bot.lookups import Lookups
from bot.result_cache import ResultCache
from bot.slack.replies import RetryingRespond
from bot.storage import Database, WorkspaceStore
from bot.storage import workspaces as workspaces_module


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[WorkspaceStore]:
    database = await Database.connect(f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    await database.create_schema()
    try:
        yield WorkspaceStore(database, TokenCipher.from_keys([Fernet.generate_key().decode()]))
    finally:
        await database.dispose()


def count_reads(store: WorkspaceStore, monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    database = store._db
    original = database.read
    opened = [0]

    def counting() -> AbstractAsyncContextManager[AsyncConnection]:
        opened[0] += 1
        return original()

    monkeypatch.setattr(database, "read", counting)
    return lambda: opened[0]


async def test_requests_arriving_together_share_one_workspace_read(
    store: WorkspaceStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.save_credentials("T1", None, "https://pmp.example.com", "token", "U1")
    reads = count_reads(store, monkeypatch)
    found = await asyncio.gather(*(store.get("T1") for _ in range(10)))
    assert reads() == 1
    assert {w.pmp_base_url for w in found if w is not None} == {"https://pmp.example.com"}
    assert await store.get("T2") is None and reads() == 2
    await store.get("T1")
    assert reads() == 2  # a finished read answers for READ_REUSE_SECONDS after it started
    monkeypatch.setattr(workspaces_module, "READ_REUSE_SECONDS", 0.0)
    monkeypatch.setattr(workspaces_module, "READ_STALE_SECONDS", 0.0)
    await store.get("T1")
    assert reads() == 3  # and never past READ_STALE_SECONDS


async def test_a_read_begun_before_a_write_is_not_shared_after_it(
    store: WorkspaceStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    await store.save_credentials("T1", None, "https://old.example.com", "token", "U1")
    reads = count_reads(store, monkeypatch)
    early = asyncio.ensure_future(store.get("T1"))
    await asyncio.sleep(0)  # the early read is under way
    await store.save_credentials("T1", None, "https://new.example.com", "token", "U1")
    late = await store.get("T1")
    await early
    assert late is not None and late.pmp_base_url == "https://new.example.com"
    assert reads() == 2


class _CountingCustomers:
    def __init__(self) -> None:
        self.asked: list[str] = []

    async def search(self, term: str) -> list[Any]:
        self.asked.append(term)
        await asyncio.sleep(0.05)
        return [SimpleNamespace(id=1, term=term)]


def _fake_pmp(customers: _CountingCustomers) -> Any:
    unused = _CountingCustomers()
    resources = {
        "customer": customers,
        "lead": unused,
        "project": unused,
        "milestone": unused,
        "ticket": unused,
    }
    return SimpleNamespace(
        customers=customers,
        leads=unused,
        projects=unused,
        milestones=unused,
        tickets=unused,
        resource=resources.__getitem__,  # PmpClient.resource(kind)
        base_url="https://pmp.example.com",
    )


async def test_identical_searches_in_flight_ask_pmp_once() -> None:
    customers = _CountingCustomers()
    pmp = _fake_pmp(customers)
    lookups = Lookups(ResultCache())
    listings = await asyncio.gather(
        *(lookups.search(pmp, "T1", "customer", "Acme") for _ in range(5)),
        lookups.search(pmp, "T1", "customer", "Globex"),
        lookups.search(pmp, "T2", "customer", "Acme"),
    )
    assert sorted(customers.asked) == ["Acme", "Acme", "Globex"]  # once per workspace+query
    assert all(listing.records for listing in listings)
    await lookups.search(pmp, "T1", "customer", "acme")
    assert len(customers.asked) == 3  # kept, and case does not matter


async def test_a_search_in_flight_when_results_are_forgotten_is_asked_again() -> None:
    customers = _CountingCustomers()
    pmp = _fake_pmp(customers)
    lookups = Lookups(ResultCache())
    early = asyncio.ensure_future(lookups.search(pmp, "T1", "customer", "Acme"))
    await asyncio.sleep(0.01)
    lookups.forget_results("T1")  # e.g. a customer was just changed
    await lookups.search(pmp, "T1", "customer", "Acme")
    await early
    assert customers.asked == ["Acme", "Acme"]
    await lookups.search(pmp, "T1", "customer", "Acme")
    assert len(customers.asked) == 2  # the later answer is the one kept


async def test_respond_posts_through_the_given_session() -> None:
    started: list[str] = []

    async def on_request_start(_: Any, __: Any, params: aiohttp.TraceRequestStartParams) -> None:
        started.append(str(params.url))

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)
    with running_slack_standin() as slack:
        url = slack.new_response_url("T0001", "C0001", "U0001")
        async with aiohttp.ClientSession(trace_configs=[trace]) as session:
            respond = RetryingRespond(response_url=url, session=session)
            answer = await respond(text="3 customers found", replace_original=False)
            await respond(blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}])
        posts = slack.calls_to("response_url")
    assert answer.status_code == 200
    assert started == [url, url]
    assert [p.params.get("text") for p in posts] == ["3 customers found", ""]
    assert posts[0].params["replace_original"] is False
    assert posts[1].params["blocks"][0]["type"] == "section"
