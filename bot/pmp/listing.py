"""Reading a whole PMP list row by row while it streams in, in bounded memory.

PMP 2.0.8 has no paging: ``GET api/tickets`` answers every ticket at once, and 10,000 rows
(tens of megabytes with the columns PMP joins in) is real. Watching such a list for changes
must not hold the answer, or every row of it, in memory: ``stream_rows`` hands out one row at
a time as its bytes arrive, holding at most one row's text (``max_row_bytes``) beyond what has
been handed out. Compressed answers are inflated a bounded piece at a time.

A 3.x module pages its lists (``{"data": [...], "meta": {...}}``): pages are small, so each
is read whole and the next one asked for. Any answer that is not a bare JSON array (PMP's
"No data were found", a failure, a development-mode server's HTML before its JSON) is read
whole within the client's answer cap and decoded as every other answer is.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from bot.pmp.errors import (
    PmpNotFoundError,
    RequestInfo,
    answer_too_large,
    unexpected_shape,
    unreadable_answer,
)
from bot.pmp.reading import AnswerTooLarge, UnreadableEncoding

if TYPE_CHECKING:
    from bot.pmp.client import PmpClient

__all__ = ["DEFAULT_MAX_ROW_BYTES", "DIGEST_MAX_BYTES", "ListDigest", "stream_rows"]

# One record's JSON: a ticket with a long first message is tens of kilobytes.
DEFAULT_MAX_ROW_BYTES = 2_000_000
# At most this much inflated at a time from a compressed answer.
_INFLATE_PIECE = 256 * 1024
# 3.x pages: the most rows a page may hold, and the most pages followed.
_PER_PAGE = 100
_MAX_PAGES = 10_000
_WHITESPACE = " \t\r\n"
# Text held ahead of the row being parsed, so that few rows straddle the end of the text
# (each such row is parsed again once the rest arrives).
_READ_AHEAD = 256 * 1024
_MIN_AHEAD = 32 * 1024
# An array answer up to this size (inflated) is read whole before its rows are parsed when
# the caller asks for its digest, so an answer the same as last time is never parsed.
DIGEST_MAX_BYTES = 1_000_000


@dataclass(slots=True)
class ListDigest:
    """Asks ``stream_rows`` to compare the answer with the one read last time.

    ``known``: the digest of the answer last read (None: none); set by ``stream_rows``:
    ``value``, this answer's digest (None when it was larger than DIGEST_MAX_BYTES or not a
    bare array), and ``unchanged``, True when it was ``known``: then no row is handed out.
    """

    known: bytes | None = None
    value: bytes | None = None
    unchanged: bool = False


async def stream_rows(
    client: PmpClient,
    path: str,
    *,
    noun: str,
    timeout: float | None = None,
    max_row_bytes: int = DEFAULT_MAX_ROW_BYTES,
    digest: ListDigest | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Every row of ``GET api/<path>`` as PMP sent it (secrets included: callers keep only
    what they compare). "No data were found" is no rows. PmpError as the client raises it
    when PMP fails; the client's timeout applies to each request's start, the caller bounds
    the whole read. With ``digest``, no rows when the answer is the one ``digest.known``
    names (see ListDigest)."""
    info = client.request_info("GET", path, "list", noun, timeout=timeout)
    # A 3.x module pages lists (20 rows a page unless asked for more); 2.0.8 ignores these.
    params = {"per_page": _PER_PAGE} if client.api_version == 3 else None
    try:
        async with client.stream(info, path, params=params) as response:
            chunks = _body(response)
            try:
                head = await _first_bytes(chunks)
                if head.lstrip()[:1] == b"[":
                    if digest is not None:
                        head = await _held(chunks, head, digest)
                        if digest.unchanged:
                            return
                    async for row in _array_rows(chunks, head, info, max_row_bytes):
                        yield row
                    return
                payload = await _whole(client, response, chunks, head, info)
            except UnreadableEncoding as error:
                raise unreadable_answer(info, str(error)) from error
    except PmpNotFoundError:
        return  # "No data were found": PMP's answer for an empty list
    if payload is None:
        return
    async for row in _paged_rows(client, path, payload, info, dict(params or {})):
        yield row


async def _first_bytes(chunks: AsyncIterator[bytes]) -> bytes:
    """The answer's first non-blank bytes (or all of it when shorter)."""
    head = b""
    async for chunk in chunks:
        head += chunk
        if head.strip():
            break
    return head


async def _held(chunks: AsyncIterator[bytes], head: bytes, digest: ListDigest) -> bytes:
    """The answer's first DIGEST_MAX_BYTES (and a piece), the rest left in ``chunks``; the
    digest noted when that was all of it."""
    held = [head]
    size = len(head)
    while size <= DIGEST_MAX_BYTES:
        try:
            chunk = await anext(chunks)
        except StopAsyncIteration:
            whole = b"".join(held)
            digest.value = hashlib.blake2b(whole, digest_size=16).digest()
            digest.unchanged = digest.value == digest.known
            return whole
        held.append(chunk)
        size += len(chunk)
    return b"".join(held)


async def _body(response: httpx.Response) -> AsyncIterator[bytes]:
    encoding = response.headers.get("content-encoding", "").strip().lower()
    inflater = (
        zlib.decompressobj(zlib.MAX_WBITS | 32)
        if encoding in ("gzip", "x-gzip", "deflate")
        else None
    )
    if encoding not in ("", "identity") and inflater is None:
        raise UnreadableEncoding(f"content encoding {encoding!r} was not asked for")
    async for raw in _raw(response):
        if inflater is None:
            yield raw
            continue
        pending = b"" if inflater.eof else raw
        while pending:
            try:
                piece = inflater.decompress(pending, _INFLATE_PIECE)
            except zlib.error as error:
                raise UnreadableEncoding(f"the compressed body is corrupt: {error}") from error
            pending = inflater.unconsumed_tail
            if piece:
                yield piece
    if inflater is not None:
        tail = inflater.flush()
        if tail:
            yield tail


async def _raw(response: httpx.Response) -> AsyncIterator[bytes]:
    """The body as sent, whether it is still streaming or already in memory (a response
    built from bytes, as mock transports give it)."""
    try:
        content = response.content
    except httpx.ResponseNotRead:
        async for raw in response.aiter_raw():
            yield raw
        return
    yield content


async def _array_rows(
    chunks: AsyncIterator[bytes], head: bytes, info: RequestInfo, max_row_bytes: int
) -> AsyncIterator[dict[str, Any]]:
    """The objects of a JSON array, parsed one at a time (C speed) as the text arrives."""
    decoder = json.JSONDecoder()
    text_of = codecs.getincrementaldecoder("utf-8")(errors="replace")
    buffer = text_of.decode(head)
    position = buffer.index("[") + 1
    ended = False
    while True:
        # Past the separators: blanks and the comma between two rows.
        while True:
            while position < len(buffer) and buffer[position] in _WHITESPACE:
                position += 1
            if position < len(buffer) and buffer[position] == ",":
                position += 1
                continue
            if position < len(buffer) or ended:
                break
            buffer, position, ended = await _more(chunks, text_of, buffer, position)
        if position >= len(buffer):
            raise unexpected_shape(info, "the list answer ended before its closing bracket")
        if buffer[position] == "]":
            return
        if not ended and len(buffer) - position < _MIN_AHEAD:
            # A row cut off by the end of the text would be parsed twice: read ahead first.
            buffer, position, ended = await _more(chunks, text_of, buffer, position)
            continue
        try:
            row, end = decoder.raw_decode(buffer, position)
        except ValueError:
            if ended:
                raise unexpected_shape(info, "the list answer ended inside a row") from None
            if len(buffer) - position > max_row_bytes:
                raise unexpected_shape(
                    info, f"a row of the list passed {max_row_bytes} bytes"
                ) from None
            buffer, position, ended = await _more(chunks, text_of, buffer, position)
            continue
        if not isinstance(row, dict):
            raise unexpected_shape(info, f"a list row was a {type(row).__name__}")
        position = end
        yield row


async def _more(
    chunks: AsyncIterator[bytes],
    text_of: codecs.IncrementalDecoder,
    buffer: str,
    position: int,
) -> tuple[str, int, bool]:
    """The buffer without what was handed out, with at least ``_READ_AHEAD`` more bytes of
    the answer (fewer at its end) joined on in one go; True once the answer ended."""
    pieces = [buffer[position:]]
    size = 0
    ended = False
    while size < _READ_AHEAD:
        try:
            chunk = await anext(chunks)
        except StopAsyncIteration:
            pieces.append(text_of.decode(b"", final=True))
            ended = True
            break
        size += len(chunk)
        pieces.append(text_of.decode(chunk))
    return "".join(pieces), 0, ended


async def _whole(
    client: PmpClient,
    response: httpx.Response,
    chunks: AsyncIterator[bytes],
    head: bytes,
    info: RequestInfo,
) -> Any:
    """An answer that isn't a bare array, read whole within the client's cap and decoded;
    None for "No data were found"."""
    parts = [head]
    size = len(head)
    try:
        async for chunk in chunks:
            size += len(chunk)
            if size > client.max_response_bytes:
                raise AnswerTooLarge(client.max_response_bytes, size)
            parts.append(chunk)
    except AnswerTooLarge as error:
        raise answer_too_large(info, error.limit, error.received) from error
    whole = httpx.Response(
        response.status_code,
        headers=[(k, v) for k, v in response.headers.items() if k != "content-encoding"],
        content=b"".join(parts),
        request=response.request,
    )
    try:
        return client.decode(whole, info)
    except PmpNotFoundError:
        return None


async def _paged_rows(
    client: PmpClient, path: str, payload: Any, info: RequestInfo, params: dict[str, str | int]
) -> AsyncIterator[dict[str, Any]]:
    """Rows of a decoded answer: a bare array, a record, or 3.x pages (the next ones asked
    for, ``_PER_PAGE`` at a time)."""
    page = 1
    for _ in range(_MAX_PAGES):
        rows: Any
        meta: Any = None
        if isinstance(payload, dict) and isinstance(payload.get("data"), list):
            client.note_api_version(3)
            rows, meta = payload["data"], payload.get("meta")
        elif isinstance(payload, list):
            rows = payload
        elif isinstance(payload, dict):
            rows = [payload]
        else:
            raise unexpected_shape(info, f"a list answer was a {type(payload).__name__}")
        for row in rows:
            if not isinstance(row, dict):
                raise unexpected_shape(info, f"a list row was a {type(row).__name__}")
            yield row
        if not rows or not _has_more(meta, page):
            return
        page += 1
        try:
            # The first page's size kept: page numbers count pages of that size.
            payload = await client.request(info, path, params={**params, "page": page})
        except PmpNotFoundError:
            return


def _has_more(meta: Any, page: int) -> bool:
    if not isinstance(meta, dict):
        return False
    for key in ("has_more", "has_next", "has_next_page"):
        if key in meta:
            return meta[key] in (True, 1, "1", "true")
    for key in ("last_page", "total_pages", "pages"):
        value = meta.get(key)
        if isinstance(value, int | str) and str(value).isdigit():
            return page < int(value)
    return False
