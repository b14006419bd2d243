"""Short-lived, per-workspace memory of PMP answers.

PMP returns every matching row at once, so a search is kept for a couple of minutes: the
Next / Previous buttons page through it without asking PMP again, and a repeated typeahead
query is answered from memory. Entries are keyed by workspace, so one workspace can never
read another's results, even with a guessed key.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

DEFAULT_TTL_S = 120.0
DEFAULT_MAX_ENTRIES = 512


@dataclass(frozen=True)
class CachedResults:
    key: str
    records: Sequence[Any]
    stored_at: float
    # Names of the projects the records belong to (milestones), looked up with them.
    project_names: Mapping[int, str] = field(default_factory=dict)


class ResultCache:
    def __init__(
        self,
        *,
        ttl_seconds: float = DEFAULT_TTL_S,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[tuple[str, str], CachedResults] = OrderedDict()

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
            del self._entries[(workspace, key)]
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
        entry = CachedResults(
            key=key,
            records=tuple(records),
            stored_at=self._clock(),
            project_names=dict(project_names or {}),
        )
        self._entries[(workspace, key)] = entry
        self._entries.move_to_end((workspace, key))
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
        return entry

    def forget_workspace(self, workspace: str) -> None:
        for entry_key in [k for k in self._entries if k[0] == workspace]:
            del self._entries[entry_key]

    def __len__(self) -> int:
        return len(self._entries)
