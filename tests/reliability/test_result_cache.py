"""The search result cache stays within its byte bound, evicting the oldest entries first."""

from __future__ import annotations

import sys
import tracemalloc

from bot.pmp import Customer, Ticket
from bot.result_cache import ResultCache, approximate_size, records_size
from tests.pmp.conftest import CUSTOMER_ROW, TICKET_ROW

MB = 1_000_000


def customers(count: int, company: str = "Acme") -> list[Customer]:
    return [
        Customer.from_wire({**CUSTOMER_ROW, "userid": str(i), "company": f"{company} {i}"})
        for i in range(1, count + 1)
    ]


def test_the_cache_never_holds_more_bytes_than_its_bound() -> None:
    cache = ResultCache(max_bytes=2 * MB)
    big = customers(100)
    one_size = records_size(tuple(big))
    assert MB // 2 < one_size < MB  # the test's premise: two fit, three don't
    for n in range(6):
        cache.put("T1", f"search-{n}", big)
        assert cache.size_bytes <= 2 * MB
    assert len(cache) == 2
    # The oldest went first; the two newest are still there.
    assert cache.get("T1", "search-3") is None
    assert cache.get("T1", "search-4") is not None
    assert cache.get("T1", "search-5") is not None


def test_a_recently_read_entry_outlives_an_older_unread_one() -> None:
    cache = ResultCache(max_bytes=2 * MB)
    big = customers(100)
    cache.put("T1", "first", big)
    cache.put("T2", "second", big)
    assert cache.get("T1", "first") is not None  # read: now the newest
    cache.put("T1", "third", big)
    assert cache.get("T2", "second") is None
    assert cache.get("T1", "first") is not None


def test_a_result_bigger_than_the_bound_is_returned_but_not_kept() -> None:
    cache = ResultCache(max_bytes=MB)
    cache.put("T1", "small", customers(10))
    huge = customers(2000)
    entry = cache.put("T1", "huge", huge)
    assert len(entry.records) == 2000  # the caller still pages through it
    assert cache.get("T1", "huge") is None
    assert cache.get("T1", "small") is not None  # nothing was pushed out for it
    assert cache.size_bytes <= MB


def test_replacing_and_forgetting_entries_gives_their_bytes_back() -> None:
    cache = ResultCache(max_bytes=10 * MB)
    cache.put("T1", "a", customers(100))
    cache.put("T1", "a", customers(100))  # the same key again replaces it
    cache.put("T2", "b", customers(100))
    assert cache.size_bytes == sum(
        entry.size for entry in (cache.get("T1", "a"), cache.get("T2", "b")) if entry
    )
    cache.forget_workspace("T1")
    cache.forget_workspace("T2")
    assert cache.size_bytes == 0
    assert len(cache) == 0


def test_the_size_estimate_follows_the_memory_records_really_take() -> None:
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        records = tuple(customers(3000)) + tuple(
            Ticket.from_wire({**TICKET_ROW, "ticketid": str(i), "message": "x" * (i % 5000)})
            for i in range(1, 1001)
        )
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    taken = after - before
    estimate = records_size(records)
    assert taken * 0.7 < estimate < taken * 2
    # The sampled estimate agrees with walking every object.
    assert abs(estimate - approximate_size(records)) < 0.15 * estimate


def test_the_size_of_nested_values_counts_every_object_they_hold() -> None:
    inner = {"name": "Ada", "tags": ["a", "b"], "n": 3, "ok": True, "none": None}
    value = [inner, ("x", 2.5)]
    expected = (
        sys.getsizeof(value)
        + sys.getsizeof(inner)
        + sum(sys.getsizeof(key) for key in inner)
        + sum(sys.getsizeof(item) for item in ("Ada", 3, True, None))
        + sys.getsizeof(inner["tags"])
        + 2 * sys.getsizeof("a")
        + sys.getsizeof(value[1])
        + sys.getsizeof("x")
        + sys.getsizeof(2.5)
    )
    assert approximate_size(value) == expected
