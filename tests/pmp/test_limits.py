"""One workspace's PMP must not stall the bot: answers are capped while they stream in, and
every call has one deadline however slowly the bytes come."""

from __future__ import annotations

import gzip
import json
import tracemalloc
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.pmp import (
    PmpAnswerTooLargeError,
    PmpClient,
    PmpTimeoutError,
    PmpUnexpectedResponseError,
)
from bot.pmp.client import DEFAULT_MAX_RESPONSE_BYTES
from bot.pmp.network import PRIVATE_ALLOWED
from tests.pmp.conftest import CUSTOMER_ROW, ROOT, TOKEN
from tests.pmp.local_servers import endless, local_server, trickle

MB = 1_000_000
CHUNK = 64 * 1024  # the most httpcore reads from a socket at once


async def test_an_endless_answer_stops_at_the_cap_with_memory_bounded() -> None:
    assert DEFAULT_MAX_RESPONSE_BYTES == 10 * MB
    async with local_server(endless(200 * MB)) as server:
        async with PmpClient(
            base_url=server.url, token=TOKEN, address_policy=PRIVATE_ALLOWED, max_retries=0
        ) as pmp:
            tracemalloc.start()
            try:
                with pytest.raises(PmpAnswerTooLargeError) as caught:
                    await pmp.customers.list()
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
        sent = server.bytes_sent
    error = caught.value
    assert error.user_message.startswith("PMP sent more than 10 MB for one answer")
    assert 10 * MB < error.received <= 10 * MB + CHUNK
    assert peak < 30 * MB  # the 200 MB were never held: reading stopped at the cap
    assert sent < 60 * MB  # what the kernel's buffers took beyond that, at most


async def test_a_search_too_big_says_so_in_a_users_words() -> None:
    async with (
        local_server(endless(5 * MB)) as server,
        PmpClient(
            base_url=server.url,
            token=TOKEN,
            address_policy=PRIVATE_ALLOWED,
            max_response_bytes=MB,
        ) as pmp,
    ):
        pmp.note_api_version(2)
        with pytest.raises(PmpAnswerTooLargeError) as caught:
            await pmp.customers.search("a")
    assert caught.value.user_message == (
        "PMP sent more than 1 MB for one search, more than pmp-bot reads. Search with more "
        "specific words. The pmp-bot operator can raise PMP_BOT_MAX_PMP_RESPONSE_MB."
    )


class Chunks(httpx.AsyncByteStream):
    """A body that streams in the given pieces, as a socket would hand them over."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces
        self.read = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            self.read += len(piece)
            yield piece


def streamed(body: bytes, encoding: str | None = None, size: int = 4096) -> httpx.MockTransport:
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    headers = {"content-type": "application/json"}
    if encoding:
        headers["content-encoding"] = encoding
    return httpx.MockTransport(
        lambda request: httpx.Response(200, headers=headers, stream=Chunks(pieces))
    )


async def test_a_length_said_up_front_over_the_cap_is_not_read_at_all() -> None:
    body = Chunks([b"[]"])
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, headers={"content-length": str(50 * MB)}, stream=body)
    )
    async with PmpClient(base_url=ROOT, token=TOKEN, transport=transport) as pmp:
        with pytest.raises(PmpAnswerTooLargeError) as caught:
            await pmp.customers.list()
    assert caught.value.received == 0
    assert body.read == 0


async def test_gzip_answers_are_read_and_a_gzip_bomb_stops_at_the_cap() -> None:
    customer = json.dumps(CUSTOMER_ROW).encode()
    transport = streamed(gzip.compress(customer), "gzip")
    async with PmpClient(base_url=ROOT, token=TOKEN, transport=transport) as pmp:
        assert (await pmp.customers.get(3)).id == 3

    bomb = gzip.compress(b" " * (50 * MB))  # 50 MB of spaces in about 50 KB
    transport = streamed(bomb, "gzip")
    async with PmpClient(
        base_url=ROOT, token=TOKEN, transport=transport, max_response_bytes=MB
    ) as pmp:
        with pytest.raises(PmpAnswerTooLargeError) as caught:
            await pmp.customers.list()
    assert MB < caught.value.received <= MB + 1  # inflated a bounded piece at a time


async def test_an_encoding_not_asked_for_is_an_unreadable_answer() -> None:
    async with PmpClient(base_url=ROOT, token=TOKEN, transport=streamed(b"xyz", "br")) as pmp:
        with pytest.raises(PmpUnexpectedResponseError) as caught:
            await pmp.customers.get(3)
    assert caught.value.user_message == (
        "crm.example.com sent an answer pmp-bot can't read. Check the PMP URL."
    )


async def test_the_client_asks_only_for_encodings_it_inflates_in_pieces() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=CUSTOMER_ROW)

    async with PmpClient(base_url=ROOT, token=TOKEN, transport=httpx.MockTransport(answer)) as pmp:
        await pmp.customers.get(3)
    assert seen[0].headers["accept-encoding"] == "gzip, deflate"


async def test_a_trickling_pmp_times_out_at_the_call_deadline_not_per_read() -> None:
    # One byte every 0.2 s never trips a 1 s read timeout; the call's deadline ends it.
    async with local_server(trickle(length=200, every=0.2)) as server:
        async with PmpClient(
            base_url=server.url,
            token=TOKEN,
            address_policy=PRIVATE_ALLOWED,
            timeout=1.0,
            max_retries=0,
        ) as pmp:
            with pytest.raises(PmpTimeoutError) as caught:
                await pmp.customers.get(3)
        sent = server.bytes_sent
    assert caught.value.user_message == "PMP didn't answer within 1 s — try again in a minute."
    head = len(b"HTTP/1.1 200 OK\r\ncontent-length: 200\r\n\r\n")
    assert sent - head < 200  # it gave up long before the answer was complete


async def test_a_write_cut_by_the_deadline_may_have_been_saved() -> None:
    async with (
        local_server(trickle(length=200, every=0.2)) as server,
        PmpClient(
            base_url=server.url, token=TOKEN, address_policy=PRIVATE_ALLOWED, timeout=0.5
        ) as pmp,
    ):
        with pytest.raises(PmpTimeoutError) as caught:
            await pmp.customers.create(company="Acme")
    assert caught.value.write_unconfirmed
    assert server.connections == 1  # a write is never sent twice
