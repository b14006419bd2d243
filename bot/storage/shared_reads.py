"""Reads that the requests of a burst share, for the stores read on every request.

A read answers the requests for its key arriving while it runs and up to `reuse` seconds
after it started; after that, and up to `stale` seconds after it started, a request still
gets it at once while a new read runs for the requests that follow, so a steady stream of
requests never waits for the database. Not once a write of the store has begun since the
read started (the store calls `SharedReads.changed` as each write begins and ends): a change
made through the store is seen by the next request, one made elsewhere (another instance,
the command line) at most `stale` seconds late. A failed read is never reused.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["READ_REUSE_SECONDS", "READ_STALE_SECONDS", "SharedReads"]

# The windows the stores read on every request use (bot/storage/workspaces.py,
# bot/storage/subscriptions.py): a read answers at once for READ_REUSE_SECONDS after it
# started, and at once while a new read runs up to READ_STALE_SECONDS after it started.
READ_REUSE_SECONDS = 0.25
READ_STALE_SECONDS = 1.0

_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")


@dataclass(frozen=True)
class _SharedRead(Generic[_V]):
    writes_begun: int  # the store's count of writes begun when the read started
    started: float  # time.monotonic()
    stale: float  # how long after `started` it may answer at all
    task: asyncio.Future[_V]


def _succeeded(task: asyncio.Future[_V]) -> bool:
    """Done with an answer; the exception of a failed one is retrieved here (its waiters
    may all have gone)."""
    return task.done() and not task.cancelled() and task.exception() is None


async def _answer(task: asyncio.Future[_V]) -> _V:
    if _succeeded(task):
        return task.result()
    # Shielded: one request giving up must not cancel the read the others wait for.
    return await asyncio.shield(task)


class SharedReads(Generic[_K, _V]):
    """The shared reads of one store; `read(key)` reads the database."""

    def __init__(self, read: Callable[[_K], Awaitable[_V]]) -> None:
        self._read = read
        self._reads: dict[_K, _SharedRead[_V]] = {}
        self._refreshes: dict[_K, asyncio.Future[_V]] = {}
        self._writes_begun = 0

    def changed(self) -> None:
        """A write of the store begins (or ends: reads that began during the write aren't
        shared either). No read begun before is answered after this."""
        self._writes_begun += 1

    async def get(self, key: _K, *, reuse: float, stale: float) -> _V:
        shared = self._reads.get(key)
        now = time.monotonic()
        if shared is not None and shared.writes_begun == self._writes_begun:
            age = now - shared.started
            if age <= reuse:
                return await _answer(shared.task)
            if age <= min(stale, shared.stale) and _succeeded(shared.task):
                self._refresh(key, stale)
                return shared.task.result()
        read = asyncio.ensure_future(self._read(key))
        self._keep(key, _SharedRead(self._writes_begun, now, stale, read))
        return await _answer(read)

    def _keep(self, key: _K, shared: _SharedRead[_V]) -> None:
        self._reads[key] = shared
        shared.task.add_done_callback(lambda _: self._read_done(key, shared))

    def _refresh(self, key: _K, stale: float) -> None:
        """Reads again for the requests to come; the answer replaces the one kept unless a
        write has begun meanwhile (a failed read leaves it to age out)."""
        if key in self._refreshes:
            return
        shared = _SharedRead(
            self._writes_begun, time.monotonic(), stale, asyncio.ensure_future(self._read(key))
        )
        self._refreshes[key] = shared.task

        def done(task: asyncio.Future[_V]) -> None:
            if self._refreshes.get(key) is task:
                del self._refreshes[key]
            if _succeeded(task) and shared.writes_begun == self._writes_begun:
                self._keep(key, shared)

        shared.task.add_done_callback(done)

    async def aclose(self) -> None:
        """Waits for the reads started ahead of requests, before the database goes away."""
        while self._refreshes:
            await asyncio.gather(*self._refreshes.values(), return_exceptions=True)

    def _read_done(self, key: _K, shared: _SharedRead[_V]) -> None:
        left = shared.stale - (time.monotonic() - shared.started)
        if not _succeeded(shared.task) or left <= 0:
            self._forget_read(key, shared)
        else:
            asyncio.get_running_loop().call_later(left, self._forget_read, key, shared)

    def _forget_read(self, key: _K, shared: _SharedRead[_V]) -> None:
        if self._reads.get(key) is shared:
            del self._reads[key]
