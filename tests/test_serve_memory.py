"""`pmp-bot serve` hands the heap pages freed during start-up back to the system (glibc's
malloc_trim), and starts the same where the C library has no such call."""

from __future__ import annotations

import ctypes
from typing import Any

import pytest

from bot.run import serve


class _Libc:
    def __init__(self, with_trim: bool) -> None:
        self.calls: list[int] = []
        if with_trim:
            self.malloc_trim = _Trim(self.calls)


class _Trim:
    def __init__(self, calls: list[int]) -> None:
        self.calls = calls
        self.argtypes: list[Any] = []

    def __call__(self, pad: int) -> int:
        self.calls.append(pad)
        return 1


def test_the_freed_heap_is_handed_back_where_the_c_library_can(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    libc = _Libc(with_trim=True)
    monkeypatch.setattr(ctypes, "CDLL", lambda name: libc)
    serve._return_free_memory()
    assert libc.calls == [0]


def test_a_c_library_without_malloc_trim_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    libc = _Libc(with_trim=False)
    monkeypatch.setattr(ctypes, "CDLL", lambda name: libc)
    serve._return_free_memory()  # no AttributeError
    assert libc.calls == []
