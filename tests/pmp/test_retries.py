"""Retry rules: GETs only, on connection errors, 429 and 5xx, with backoff, jitter and
Retry-After; writes are never sent twice."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from bot.pmp import PmpConnectionError, PmpTimeoutError, PmpUnexpectedResponseError
from bot.pmp.client import (
    INITIAL_BACKOFF,
    JITTER,
    MAX_BACKOFF,
    MAX_RETRY_AFTER,
    backoff_delay,
    retry_after_seconds,
)
from tests.pmp.conftest import (
    CUSTOMER_ROW,
    NO_DATA,
    ClientFactory,
    FakePmp,
    html_response,
    json_response,
)


def _within_jitter(delay: float, retry_index: int) -> bool:
    ceiling = min(MAX_BACKOFF, INITIAL_BACKOFF * 2**retry_index)
    return ceiling * (1 - JITTER) <= delay <= ceiling


async def test_a_get_is_retried_after_server_errors(make_client: ClientFactory) -> None:
    fake = FakePmp(html_response(503), html_response(500), json_response(200, CUSTOMER_ROW))
    pmp = make_client(fake)
    customer = await pmp.customers.get(3)
    assert customer.id == 3
    assert fake.methods == ["GET", "GET", "GET"]
    assert len(make_client.sleeps) == 2
    assert _within_jitter(make_client.sleeps[0], 0)
    assert _within_jitter(make_client.sleeps[1], 1)


async def test_retries_stop_after_max_retries(make_client: ClientFactory) -> None:
    fake = FakePmp(html_response(502))
    pmp = make_client(fake, max_retries=2)
    with pytest.raises(PmpUnexpectedResponseError):
        await pmp.customers.list()
    assert len(fake.requests) == 3
    assert len(make_client.sleeps) == 2


async def test_max_retries_zero_sends_once(make_client: ClientFactory) -> None:
    fake = FakePmp(html_response(503))
    pmp = make_client(fake, max_retries=0)
    with pytest.raises(PmpUnexpectedResponseError):
        await pmp.customers.list()
    assert len(fake.requests) == 1
    assert make_client.sleeps == []


async def test_backoff_grows_exponentially_up_to_its_cap(make_client: ClientFactory) -> None:
    fake = FakePmp(html_response(500))
    pmp = make_client(fake, max_retries=7)
    with pytest.raises(PmpUnexpectedResponseError):
        await pmp.leads.list()
    assert len(fake.requests) == 8
    assert [_within_jitter(delay, index) for index, delay in enumerate(make_client.sleeps)] == [
        True
    ] * 7
    assert max(make_client.sleeps) <= MAX_BACKOFF


async def test_connection_errors_on_a_get_are_retried(make_client: ClientFactory) -> None:
    fake = FakePmp(
        httpx.ConnectError("refused"),
        httpx.RemoteProtocolError("server disconnected"),
        json_response(200, [CUSTOMER_ROW]),
    )
    pmp = make_client(fake)
    assert [c.id for c in await pmp.customers.search("jk")] == [3]
    assert len(fake.requests) == 3


async def test_connection_errors_give_up_after_max_retries(make_client: ClientFactory) -> None:
    fake = FakePmp(httpx.ConnectError("refused"))
    pmp = make_client(fake, max_retries=1)
    with pytest.raises(PmpConnectionError):
        await pmp.customers.get(3)
    assert len(fake.requests) == 2


async def test_a_timeout_is_not_retried(make_client: ClientFactory) -> None:
    fake = FakePmp(httpx.ReadTimeout("slow"), json_response(200, CUSTOMER_ROW))
    pmp = make_client(fake)
    with pytest.raises(PmpTimeoutError):
        await pmp.customers.get(3)
    assert len(fake.requests) == 1


async def test_a_pmp_failure_answer_is_not_retried(make_client: ClientFactory) -> None:
    fake = FakePmp(json_response(404, NO_DATA))
    pmp = make_client(fake)
    assert await pmp.customers.list() == []
    assert len(fake.requests) == 1


async def test_retry_after_seconds_is_honoured(make_client: ClientFactory) -> None:
    fake = FakePmp(
        json_response(429, {}, headers={"retry-after": "3"}), json_response(200, CUSTOMER_ROW)
    )
    pmp = make_client(fake)
    await pmp.customers.get(3)
    assert make_client.sleeps == [3.0]


async def test_retry_after_is_capped(make_client: ClientFactory) -> None:
    fake = FakePmp(
        json_response(503, {}, headers={"retry-after": "3600"}), json_response(200, CUSTOMER_ROW)
    )
    pmp = make_client(fake)
    await pmp.customers.get(3)
    assert make_client.sleeps == [MAX_RETRY_AFTER]


async def test_retry_after_http_date_is_honoured_and_capped(make_client: ClientFactory) -> None:
    far = format_datetime(datetime.now(UTC) + timedelta(hours=2), usegmt=True)
    fake = FakePmp(
        json_response(429, {}, headers={"retry-after": far}), json_response(200, CUSTOMER_ROW)
    )
    pmp = make_client(fake)
    await pmp.customers.get(3)
    assert make_client.sleeps == [MAX_RETRY_AFTER]


async def test_unreadable_retry_after_falls_back_to_backoff(make_client: ClientFactory) -> None:
    fake = FakePmp(
        json_response(429, {}, headers={"retry-after": "soon"}), json_response(200, CUSTOMER_ROW)
    )
    pmp = make_client(fake)
    await pmp.customers.get(3)
    assert len(make_client.sleeps) == 1
    assert _within_jitter(make_client.sleeps[0], 0)


def test_retry_after_parses_seconds_and_dates() -> None:
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("7", now=now) == 7.0
    assert retry_after_seconds(" 2.5 ", now=now) == 2.5
    assert retry_after_seconds("-4", now=now) == 0.0
    assert retry_after_seconds("Wed, 01 May 2024 12:00:09 GMT", now=now) == 9.0
    assert retry_after_seconds("Wed, 01 May 2024 11:00:00 GMT", now=now) == 0.0
    assert retry_after_seconds("Wed, 01 May 2024 13:00:00 GMT", now=now) == MAX_RETRY_AFTER
    assert retry_after_seconds("nan", now=now) is None
    assert retry_after_seconds("later", now=now) is None
    assert retry_after_seconds("", now=now) is None
    assert retry_after_seconds(None, now=now) is None


def test_jitter_stays_within_its_bounds() -> None:
    assert backoff_delay(0, rand=lambda: 0.0) == INITIAL_BACKOFF
    assert backoff_delay(0, rand=lambda: 1.0) == INITIAL_BACKOFF * (1 - JITTER)
    assert backoff_delay(2, rand=lambda: 0.0) == INITIAL_BACKOFF * 4
    assert backoff_delay(30, rand=lambda: 0.0) == MAX_BACKOFF
    seeded = random.Random(1234)
    delays = [backoff_delay(1, rand=seeded.random) for _ in range(500)]
    assert all(_within_jitter(delay, 1) for delay in delays)
    # Jitter really spreads the waits instead of always using the same one.
    assert max(delays) - min(delays) > INITIAL_BACKOFF * 2 * JITTER * 0.8


WRITE_FAILURES: list[httpx.Response | Exception] = [
    html_response(500),
    html_response(503),
    json_response(429, {}, headers={"retry-after": "1"}),
    httpx.ConnectError("refused"),
    httpx.ReadError("connection reset"),
    httpx.RemoteProtocolError("server disconnected"),
]


@pytest.mark.parametrize("failure", WRITE_FAILURES)
async def test_a_post_is_never_retried(
    make_client: ClientFactory, failure: httpx.Response | Exception
) -> None:
    fake = FakePmp(failure, json_response(200, {"status": True, "message": "ok"}))
    pmp = make_client(fake, max_retries=5)
    with pytest.raises((PmpUnexpectedResponseError, PmpConnectionError)):
        await pmp.customers.create(company="Acme")
    assert fake.methods == ["POST"]
    assert make_client.sleeps == []


@pytest.mark.parametrize("failure", WRITE_FAILURES)
async def test_a_put_is_never_retried(
    make_client: ClientFactory, failure: httpx.Response | Exception
) -> None:
    fake = FakePmp(json_response(200, CUSTOMER_ROW), failure, json_response(200, {"status": True}))
    pmp = make_client(fake, max_retries=5)
    with pytest.raises((PmpUnexpectedResponseError, PmpConnectionError)):
        await pmp.customers.update(3, company="New name")
    assert fake.methods == ["GET", "PUT"]
    assert make_client.sleeps == []


@pytest.mark.parametrize("failure", WRITE_FAILURES)
async def test_a_delete_is_never_retried(
    make_client: ClientFactory, failure: httpx.Response | Exception
) -> None:
    fake = FakePmp(failure, json_response(200, {"status": True}))
    pmp = make_client(fake, max_retries=5)
    with pytest.raises((PmpUnexpectedResponseError, PmpConnectionError)):
        await pmp.tickets.delete(7)
    assert fake.methods == ["DELETE"]
    assert make_client.sleeps == []


async def test_check_connection_is_not_retried(make_client: ClientFactory) -> None:
    fake = FakePmp(html_response(503))
    pmp = make_client(fake, max_retries=3)
    with pytest.raises(PmpUnexpectedResponseError):
        await pmp.check_connection()
    assert len(fake.requests) == 1
