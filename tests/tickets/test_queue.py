"""My queue's PMP lists (bot/queue.py): asked once for users opening Home together, kept a
short while per workspace, forgotten after a change, never mixed between two PMPs; and the
queue read from the PMP sandbox within its time budget."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import date
from types import SimpleNamespace
from typing import Any

from bot.names import NameBook
from bot.pmp import PmpClient
from bot.queue import QueueLists, load_queue
from bot.sandbox import schema


class CountingPmp:
    """A PMP client whose milestone list is counted and can be held back."""

    def __init__(self, base_url: str = "https://crm.example.com") -> None:
        self.base_url = base_url
        self.calls = 0
        self.release = asyncio.Event()
        self.release.set()
        self.milestones = SimpleNamespace(list=self._list)

    async def _list(self) -> list[Any]:
        self.calls += 1
        await self.release.wait()
        return [f"milestones-{self.calls}"]


async def test_users_opening_home_together_share_one_request() -> None:
    pmp: Any = CountingPmp()
    pmp.release.clear()
    lists = QueueLists()
    waiting = [asyncio.ensure_future(lists.get(pmp, "T1", "milestone")) for _ in range(5)]
    await asyncio.sleep(0)
    pmp.release.set()
    assert {tuple(await w) for w in waiting} == {("milestones-1",)}
    assert pmp.calls == 1


async def test_lists_are_kept_briefly_and_forgotten_after_a_change() -> None:
    now = [0.0]
    pmp: Any = CountingPmp()
    lists = QueueLists(ttl_s=30, clock=lambda: now[0])
    assert await lists.get(pmp, "T1", "milestone") == ["milestones-1"]
    now[0] = 10
    assert await lists.get(pmp, "T1", "milestone") == ["milestones-1"]  # kept
    assert await lists.get(pmp, "T2", "milestone") == ["milestones-2"]  # another workspace
    now[0] = 41
    assert await lists.get(pmp, "T1", "milestone") == ["milestones-3"]  # too old
    lists.forget("T1")
    assert await lists.get(pmp, "T1", "milestone") == ["milestones-4"]
    # The workspace connected another PMP: its lists are not reused.
    other: Any = CountingPmp("https://other.example.com")
    assert await lists.get(other, "T1", "milestone") == ["milestones-1"]


async def test_a_user_giving_up_does_not_cancel_the_others_read() -> None:
    pmp: Any = CountingPmp()
    pmp.release.clear()
    lists = QueueLists()
    impatient = asyncio.ensure_future(asyncio.wait_for(lists.get(pmp, "T1", "milestone"), 0.01))
    patient = asyncio.ensure_future(lists.get(pmp, "T1", "milestone"))
    with contextlib.suppress(TimeoutError):
        await impatient
    pmp.release.set()
    assert await patient == ["milestones-1"]
    assert pmp.calls == 1


async def test_the_queue_from_the_sandbox(pmp: PmpClient, sandbox: Any) -> None:
    sandbox.store.update(schema.TICKETS, "3", {"assigned": "5", "status": "5"})
    sandbox.store.update(schema.TICKETS, "8", {"assigned": "5", "status": "1"})
    queue = await load_queue(
        pmp, 5, names=NameBook(), today=date.today(), lists=QueueLists(), scope="T1"
    )
    ids = [ticket.id for ticket in queue.tickets]
    assert ids.index(8) < ids.index(3)  # open first
    assert all(ticket.assigned == 5 for ticket in queue.tickets)
    # Kept without their messages (a 2.0.8 list holds every ticket's), nor PMP's secrets.
    assert all(ticket.message is None and "message" not in ticket.raw for ticket in queue.tickets)
    assert not any("password" in key for t in queue.tickets for key in t.raw)
    assert queue.all_projects  # the sandbox's project rows don't name their members
    assert not queue.notes
    assert queue.can_reply is False  # the sandbox is 2.0.8 here
