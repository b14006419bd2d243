"""Reading a PMP answer's body with a size cap, while it streams in.

One workspace's PMP must not be able to fill the bot's memory: the body is read chunk by
chunk and reading stops as soon as it passes the cap, counted after decompression (gzip and
deflate are inflated a bounded piece at a time, so a small compressed bomb can't expand past
the cap either).
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

import httpx

# Encodings asked for: httpx would otherwise also ask for brotli or zstd when installed, and
# only these two are inflated here piece by piece.
ACCEPT_ENCODING = "gzip, deflate"
_IDENTITY = frozenset({"", "identity"})
_INFLATED = frozenset({"gzip", "x-gzip", "deflate"})


class AnswerTooLarge(Exception):
    """The body passed the cap; ``received`` bytes had been read by then."""

    def __init__(self, limit: int, received: int) -> None:
        super().__init__(f"the answer passed {limit} bytes ({received} read)")
        self.limit = limit
        self.received = received


class UnreadableEncoding(Exception):
    """The body is in an encoding that isn't asked for, or doesn't decompress."""


async def read_capped(response: httpx.Response, limit: int) -> None:
    """Read the streamed ``response`` whole (``response.content`` afterwards), or raise
    AnswerTooLarge once more than ``limit`` bytes came, decoded or as sent; reading stops
    there. Transport errors while reading come through as httpx raises them."""
    try:
        # Already in memory (a response built from bytes, as mock transports give it).
        content = response.content
    except httpx.ResponseNotRead:
        pass
    else:
        if len(content) > limit:
            raise AnswerTooLarge(limit, len(content))
        return
    declared = response.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > limit:
        raise AnswerTooLarge(limit, 0)  # said up front: nothing needs reading
    encoding = response.headers.get("content-encoding", "").strip().lower()
    if encoding not in _IDENTITY and encoding not in _INFLATED:
        raise UnreadableEncoding(f"content encoding {encoding!r} was not asked for")
    if encoding not in _IDENTITY:
        # Inflated here, within the cap: httpx must not inflate it again, whole chunks at once.
        del response.headers["content-encoding"]
    response.stream = _CappedStream(response.stream, limit, inflate=encoding not in _IDENTITY)
    await response.aread()


class _CappedStream(httpx.AsyncByteStream):
    def __init__(
        self, inner: httpx.SyncByteStream | httpx.AsyncByteStream, limit: int, *, inflate: bool
    ) -> None:
        if not isinstance(inner, httpx.AsyncByteStream):
            raise TypeError("an async client reads async streams")
        self._inner = inner
        self._limit = limit
        # MAX_WBITS | 32 reads both a gzip and a zlib header; "deflate" is zlib-wrapped per HTTP.
        self._inflater = zlib.decompressobj(zlib.MAX_WBITS | 32) if inflate else None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        limit = self._limit
        inflater = self._inflater
        size = 0  # bytes handed on (decoded)
        wire = 0  # bytes as they came, compressed or not: capped as well
        async for raw in self._inner:
            wire += len(raw)
            if wire > limit:
                raise AnswerTooLarge(limit, max(size, wire))
            if inflater is None:
                size = wire
                yield raw
                continue
            pending = b"" if inflater.eof else raw  # what follows the compressed data is ignored
            while pending:
                try:
                    # At most one byte past the cap: enough to know it was passed.
                    piece = inflater.decompress(pending, limit - size + 1)
                except zlib.error as error:
                    raise UnreadableEncoding(f"the compressed body is corrupt: {error}") from error
                pending = inflater.unconsumed_tail
                size += len(piece)
                if size > limit:
                    raise AnswerTooLarge(limit, size)
                yield piece
        if inflater is not None:
            tail = inflater.flush()
            if size + len(tail) > limit:
                raise AnswerTooLarge(limit, size + len(tail))
            yield tail

    async def aclose(self) -> None:
        await self._inner.aclose()
