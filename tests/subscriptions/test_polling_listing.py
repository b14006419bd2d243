"""Reading a whole PMP list row by row (bot.pmp.listing): rows cut anywhere by the network,
compressed answers, 3.x pages, "No data were found", a development server's HTML, and what
is refused (an unending row, a truncated list, rows that aren't records)."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from bot.pmp import PmpClient, PmpError
from bot.pmp.listing import DIGEST_MAX_BYTES, ListDigest, stream_rows

ROWS = [
    {"ticketid": str(n), "subject": f"Ticket {n} \u00e9\u4e2d", "status": "1"}
    for n in range(1, 301)
]


class _Chunks(httpx.AsyncByteStream):
    def __init__(self, body: bytes, size: int) -> None:
        self._body = body
        self._size = size

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self._body), self._size):
            yield self._body[start : start + self._size]


def client(handler: Callable[[httpx.Request], httpx.Response]) -> PmpClient:
    return PmpClient(
        base_url="https://pmp.example.com",
        token="token",
        transport=httpx.MockTransport(handler),
        max_retries=0,
    )


async def rows_of(pmp: PmpClient, **options: Any) -> list[dict[str, Any]]:
    async with pmp:
        return [row async for row in stream_rows(pmp, "tickets", noun="ticket", **options)]


@pytest.mark.parametrize("size", [1, 7, 4096, 10**7])
async def test_rows_cut_anywhere_arrive_whole(size: int) -> None:
    body = json.dumps(ROWS, ensure_ascii=False).encode("utf-8")

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=_Chunks(body, size))

    assert await rows_of(client(answer)) == ROWS


async def test_a_compressed_answer_is_inflated_piece_by_piece() -> None:
    body = gzip.compress(json.dumps(ROWS).encode())

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-encoding": "gzip"}, stream=_Chunks(body, 1000))

    assert await rows_of(client(answer)) == ROWS


@pytest.mark.parametrize("known", [False, True])
async def test_3x_pages_are_followed(known: bool) -> None:
    """Pages of the size the first one had (20 a page by default, 100 once the module is
    known to be 3.x): page numbers count pages of that size."""

    def answer(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        size = int(request.url.params.get("per_page", "20"))
        rows = ROWS[(page - 1) * size : page * size]
        pages = -(-len(ROWS) // size)
        meta = {"page": page, "per_page": size, "total_pages": pages, "has_more": page < pages}
        return httpx.Response(200, json={"data": rows, "meta": meta})

    pmp = client(answer)
    if known:
        pmp.note_api_version(3)
    assert await rows_of(pmp) == ROWS


async def test_no_data_and_a_development_servers_html() -> None:
    def nothing(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"status": False, "message": "No data were found"})

    assert await rows_of(client(nothing)) == []

    def noisy(request: httpx.Request) -> httpx.Response:
        page = "<div>A PHP Error was encountered</div>\n" + json.dumps(ROWS[:2])
        return httpx.Response(200, text=page, headers={"content-type": "text/html"})

    assert await rows_of(client(noisy)) == ROWS[:2]


@pytest.mark.parametrize(
    "body",
    [
        json.dumps(ROWS)[:-1].encode(),  # the closing bracket never came
        json.dumps(ROWS)[:5000].encode(),  # cut inside a row
        b'[{"ticketid": "1"}, 7]',  # not a record
        b"[" + b'{"subject": "' + b"x" * 1_000_000 + b'"}]',  # a row past the cap
    ],
)
async def test_what_is_refused(body: bytes) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=_Chunks(body, 1024))

    with pytest.raises(PmpError):
        await rows_of(client(answer), max_row_bytes=20_000)


async def test_a_refused_token_is_an_error_not_an_empty_list() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"status": False, "message": "Token is not defined."})

    with pytest.raises(PmpError):
        await rows_of(client(answer))


@pytest.mark.parametrize("size", [7, 4096])
async def test_an_answer_the_same_as_last_time_hands_out_no_rows(size: int) -> None:
    bodies = [json.dumps(ROWS).encode(), json.dumps(ROWS).encode(), json.dumps(ROWS[1:]).encode()]

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=_Chunks(bodies.pop(0), size))

    first = ListDigest()
    assert await rows_of(client(answer), digest=first) == ROWS
    assert first.value is not None and not first.unchanged
    again = ListDigest(known=first.value)
    assert await rows_of(client(answer), digest=again) == []
    assert again.unchanged and again.value == first.value
    changed = ListDigest(known=first.value)
    assert await rows_of(client(answer), digest=changed) == ROWS[1:]
    assert not changed.unchanged and changed.value not in (None, first.value)


async def test_a_large_answer_streams_without_a_digest() -> None:
    rows = [{"ticketid": str(n), "message": "x" * 1000} for n in range(1, 1500)]
    body = json.dumps(rows).encode()
    assert len(body) > DIGEST_MAX_BYTES

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=_Chunks(body, 4096))

    digest = ListDigest(known=b"anything")
    assert await rows_of(client(answer), digest=digest) == rows
    assert digest.value is None and not digest.unchanged
