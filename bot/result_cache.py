"""Short-lived, per-workspace memory of PMP answers.

PMP returns every matching row at once, so a search is kept for a couple of minutes: the
Next / Previous buttons page through it without asking PMP again, and a repeated typeahead
query is answered from memory. Entries are keyed by workspace, so one workspace can never
read another's results, even with a guessed key.

The cache is bounded by entries and by bytes (an estimate of the memory its records take):
one workspace's huge searches push out the oldest entries, never past the bound. A result
bigger than the whole bound is not kept; paging through it asks PMP again.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

from pydantic import BaseModel

DEFAULT_TTL_S = 120.0
DEFAULT_MAX_ENTRIES = 512
DEFAULT_MAX_BYTES = 100_000_000
# Deeper than any PMP record nests; a guard against walking a cycle.
_MAX_DEPTH = 12
# How many records of a result are walked object by object (see records_size).
_SIZE_SAMPLE = 48


# Values that hold nothing else: their size is sys.getsizeof's, without a call down.
_LEAVES = frozenset({str, int, float, bool, type(None), bytes})


def approximate_size(value: object, _depth: int = 0) -> int:
    """Roughly how many bytes of memory ``value`` takes: its own size plus what it holds
    (records, their ``raw`` dicts, lists, strings). Shared objects count each time, so this
    errs high. Linear in the data, with no serialising."""
    size = sys.getsizeof(value)
    if _depth >= _MAX_DEPTH:
        return size
    if isinstance(value, BaseModel):
        return size + approximate_size(value.__dict__, _depth + 1)
    if isinstance(value, dict):
        return (
            size
            + sum(map(_held_size, value.keys(), repeat(_depth + 1)))
            + sum(map(_held_size, value.values(), repeat(_depth + 1)))
        )
    if isinstance(value, list | tuple | set | frozenset):
        return size + sum(map(_held_size, value, repeat(_depth + 1)))
    return size


def _held_size(value: object, depth: int) -> int:
    # Most of a record is strings and numbers: sized here, the rest walked (the same total).
    if type(value) in _LEAVES or depth >= _MAX_DEPTH:
        return sys.getsizeof(value)
    return approximate_size(value, depth)


def records_size(records: Sequence[Any]) -> int:
    """approximate_size of a result, fast enough for 10,000 records: walking every object of
    every record costs twice what parsing them did, so a sample is walked and the rest are
    scaled by their JSON length (serialised in pydantic's Rust core), which tracks their size
    record by record, a long ticket message included."""
    if len(records) <= _SIZE_SAMPLE or not all(isinstance(r, BaseModel) for r in records):
        return approximate_size(records)
    lengths = [len(record.model_dump_json()) for record in records]
    sample = range(0, len(records), len(records) // _SIZE_SAMPLE)
    walked = sum(approximate_size(records[index]) for index in sample)
    sampled_length = sum(lengths[index] for index in sample) or 1
    return sys.getsizeof(records) + int(sum(lengths) * walked / sampled_length)


@dataclass(frozen=True)
class CachedResults:
    key: str
    records: Sequence[Any]
    stored_at: float
    # Names of the projects the records belong to (milestones), looked up with them.
    project_names: Mapping[int, str] = field(default_factory=dict)
    size: int = 0  # approximate bytes, see approximate_size


class ResultCache:
    def __init__(
        self,
        *,
        ttl_seconds: float = DEFAULT_TTL_S,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        max_bytes: int = DEFAULT_MAX_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._max_bytes = max_bytes
        self._clock = clock
        self._entries: OrderedDict[tuple[str, str], CachedResults] = OrderedDict()
        self._bytes = 0

    @staticmethod
    def key_for(*parts: object) -> str:
        """A short, stable key for what was asked (kind, query, scope...)."""
        digest = hashlib.blake2s(repr(parts).encode("utf-8"), digest_size=9).hexdigest()
        return digest

    def get(self, workspace: str, key: str) -> CachedResults | None:
        entry = self._entries.get((workspace, key))
        if entry is None:
            return None
        if self._clock() - entry.stored_at > self._ttl:
            self._drop((workspace, key))
            return None
        self._entries.move_to_end((workspace, key))
        return entry

    def put(
        self,
        workspace: str,
        key: str,
        records: Sequence[Any],
        *,
        project_names: Mapping[int, str] | None = None,
    ) -> CachedResults:
        kept = tuple(records)
        names = dict(project_names or {})
        entry = CachedResults(
            key=key,
            records=kept,
            stored_at=self._clock(),
            project_names=names,
            size=records_size(kept) + approximate_size(names),
        )
        self._drop((workspace, key))
        if entry.size > self._max_bytes:
            return entry  # too big to keep at all; the caller still gets it
        self._entries[(workspace, key)] = entry
        self._bytes += entry.size
        while len(self._entries) > self._max or self._bytes > self._max_bytes:
            _, oldest = self._entries.popitem(last=False)
            self._bytes -= oldest.size
        return entry

    def forget_workspace(self, workspace: str) -> None:
        for entry_key in [k for k in self._entries if k[0] == workspace]:
            self._drop(entry_key)

    def _drop(self, entry_key: tuple[str, str]) -> None:
        entry = self._entries.pop(entry_key, None)
        if entry is not None:
            self._bytes -= entry.size

    @property
    def size_bytes(self) -> int:
        """The approximate bytes the kept entries take."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)
