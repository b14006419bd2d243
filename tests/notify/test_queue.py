"""The per-channel notice queue: batching, pace, retries, failures, splitting, shutdown."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError

from bot.notify import NotificationQueue, split_sections
from bot.notify.queue import (
    DEFAULT_RETRY_AFTER,
    MAX_LINE_CHARS,
    MAX_MESSAGE_CHARS,
    MAX_RETRY_AFTER,
    fit_line,
)
from tests.notify.conftest import FakeSlack, VirtualTime, settle, slack_error

LINES = [f"<@U{n:03d}> looked up customer *Acme {n}*" for n in range(20)]


def other_tasks() -> set[asyncio.Task[Any]]:
    return asyncio.all_tasks() - {asyncio.current_task()}


class TestBatching:
    async def test_burst_enqueued_at_once_is_one_message_in_order(
        self, queue: NotificationQueue, slack: FakeSlack, vtime: VirtualTime
    ) -> None:
        for line in LINES:
            queue.enqueue("T1", "C1", line)
        await vtime.run_until_idle(queue)

        assert len(slack.posts) == 1
        assert slack.posts[0].text == "\n".join(LINES)

    async def test_burst_spread_over_a_second_gives_few_paced_messages(
        self, queue: NotificationQueue, slack: FakeSlack, vtime: VirtualTime
    ) -> None:
        for line in LINES:
            queue.enqueue("T1", "C1", line)
            await vtime.advance(0.05)
        await vtime.run_until_idle(queue)

        assert 1 < len(slack.posts) <= 3
        assert slack.lines() == LINES
        gaps = [b.at - a.at for a, b in zip(slack.posts, slack.posts[1:], strict=False)]
        assert all(gap >= 1.0 for gap in gaps)

    async def test_pause_counts_from_the_start_of_the_post(
        self, queue: NotificationQueue, slack: FakeSlack, vtime: VirtualTime
    ) -> None:
        slack.post_duration = 0.25
        queue.enqueue("T1", "C1", "first")
        await vtime.advance(0.1)
        queue.enqueue("T1", "C1", "second")
        await vtime.run_until_idle(queue)

        assert [p.text for p in slack.posts] == ["first", "second"]
        assert [a.at for a in slack.attempts] == [0.0, 1.0]
        assert 0.75 in vtime.sleeps

    async def test_lines_arriving_during_a_post_go_in_the_next_message(
        self, queue: NotificationQueue, slack: FakeSlack, vtime: VirtualTime
    ) -> None:
        slack.post_duration = 0.5
        queue.enqueue("T1", "C1", "a")
        await vtime.advance(0.2)
        queue.enqueue("T1", "C1", "b")
        queue.enqueue("T1", "C1", "c")
        await vtime.run_until_idle(queue)

        assert [p.text for p in slack.posts] == ["a", "b\nc"]

    async def test_blank_lines_are_not_posted(
        self, queue: NotificationQueue, slack: FakeSlack, vtime: VirtualTime
    ) -> None:
        queue.enqueue("T1", "C1", "  \n ")
        await vtime.run_until_idle(queue)
        assert slack.attempts == []
        assert queue.active_channels == 0

    async def test_channels_are_independent(
        self, queue: NotificationQueue, slack: FakeSlack, vtime: VirtualTime
    ) -> None:
        slack.errors[("T1", "C1")] = [slack_error(429, "ratelimited", {"Retry-After": "30"})]
        queue.enqueue("T1", "C1", "slow channel")
        queue.enqueue("T1", "C2", "fast 1")
        queue.enqueue("T2", "C1", "other team, same channel id")
        await vtime.advance(2)
        queue.enqueue("T1", "C2", "fast 2")
        await vtime.advance(1)

        assert [(p.team_id, p.channel_id, p.text) for p in slack.posts] == [
            ("T1", "C2", "fast 1"),
            ("T2", "C1", "other team, same channel id"),
            ("T1", "C2", "fast 2"),
        ]
        await vtime.run_until_idle(queue)
        assert slack.posts[-1].text == "slow channel"
        assert slack.posts[-1].at == 30.0


class TestRetries:
    async def test_429_waits_retry_after_and_resends_the_same_batch(
        self, queue: NotificationQueue, slack: FakeSlack, vtime: VirtualTime
    ) -> None:
        slack.errors[("T1", "C1")] = [slack_error(429, "ratelimited", {"Retry-After": "1"})]
        for line in LINES[:5]:
            queue.enqueue("T1", "C1", line)
        await vtime.run_until_idle(queue)

        assert [a.text for a in slack.attempts] == ["\n".join(LINES[:5])] * 2
        assert slack.attempts[1].at - slack.attempts[0].at == 1.0
        assert slack.lines() == LINES[:5]
        assert slack.failures == []

    async def test_retry_after_header_is_read_case_insensitively(
        self, queue: NotificationQueue, slack: FakeSlack, vtime: VirtualTime
    ) -> None:
        slack.errors[("T1", "C1")] = [slack_error(429, "ratelimited", {"retry-after": "7"})]
        queue.enqueue("T1", "C1", "x")
        await vtime.run_until_idle(queue)
        assert slack.posts[0].at == 7.0

    async def test_a_minimal_response_object_is_enough(
        self, queue: NotificationQueue, slack: FakeSlack, vtime: VirtualTime
    ) -> None:
        response = SimpleNamespace(
            status_code=429, headers={"Retry-After": "3"}, get=lambda key, default=None: None
        )
        error = SlackApiError("rate limited", response=response)  # type: ignore[no-untyped-call]
        slack.errors[("T1", "C1")] = [error]
        queue.enqueue("T1", "C1", "x")
        await vtime.run_until_idle(queue)
        assert slack.posts[0].at == 3.0

    async def test_endless_429_is_reported_once_after_max_retries(
        self, queue: NotificationQueue, slack: FakeSlack, vtime: VirtualTime
    ) -> None:
        slack.errors[("T1", "C1")] = [
            slack_error(429, "ratelimited", {"Retry-After": "2"}) for _ in range(4)
        ]
        queue.enqueue("T1", "C1", "lost")
        await vtime.run_until_idle(queue)
        queue.enqueue("T1", "C1", "later")
        await vtime.run_until_idle(queue)

        assert len(slack.attempts) == 5  # 1 try + 3 retries, then the later line
        assert slack.failures == [("T1", "C1", "ratelimited")]
        assert [p.text for p in slack.posts] == ["later"]

    async def test_server_and_network_errors_are_retried_with_backoff(
        self, queue: NotificationQueue, slack: FakeSlack, vtime: VirtualTime
    ) -> None:
        slack.errors[("T1", "C1")] = [
            slack_error(503, "service_unavailable"),
            aiohttp.ClientConnectionError("connection reset"),
            TimeoutError(),
        ]
        queue.enqueue("T1", "C1", "eventually")
        await vtime.run_until_idle(queue)

        assert [p.text for p in slack.posts] == ["eventually"]
        assert [a.at for a in slack.attempts] == [0.0, 1.0, 3.0, 7.0]
        assert slack.failures == []

    @pytest.mark.parametrize("error", ["not_in_channel", "channel_not_found", "is_archived"])
    async def test_undeliverable_batch_is_reported_once_and_dropped(
        self, queue: NotificationQueue, slack: FakeSlack, vtime: VirtualTime, error: str
    ) -> None:
        slack.errors[("T1", "C1")] = [slack_error(200, error)]
        for line in LINES[:5]:
            queue.enqueue("T1", "C1", line)
        await vtime.run_until_idle(queue)

        assert len(slack.attempts) == 1
        assert slack.failures == [("T1", "C1", error)]
        assert slack.posts == []

    async def test_each_undeliverable_batch_is_reported(
        self, queue: NotificationQueue, slack: FakeSlack, vtime: VirtualTime
    ) -> None:
        slack.errors[("T1", "C1")] = [slack_error(200, "not_in_channel") for _ in range(2)]
        queue.enqueue("T1", "C1", "one")
        await vtime.advance(0.5)
        queue.enqueue("T1", "C1", "two")
        await vtime.run_until_idle(queue)

        assert [a.text for a in slack.attempts] == ["one", "two"]
        assert slack.failures == [("T1", "C1", "not_in_channel")] * 2

    async def test_unexpected_exception_is_reported_and_the_worker_goes_on(
        self,
        queue: NotificationQueue,
        slack: FakeSlack,
        vtime: VirtualTime,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        slack.errors[("T1", "C1")] = [ValueError("bad payload")]
        queue.enqueue("T1", "C1", "broken")
        await vtime.advance(0.1)
        queue.enqueue("T1", "C1", "fine")
        with caplog.at_level(logging.ERROR):
            await vtime.run_until_idle(queue)

        assert slack.failures == [("T1", "C1", "unexpected_error")]
        assert [p.text for p in slack.posts] == ["fine"]
        assert "posting a notice to T1/C1 failed" in caplog.text

    async def test_a_failing_failure_callback_does_not_stop_the_channel(
        self, slack: FakeSlack, vtime: VirtualTime
    ) -> None:
        async def broken_callback(team_id: str, channel_id: str, error_code: str) -> None:
            raise RuntimeError("admin DM failed")

        queue = NotificationQueue(
            slack.post, on_failure=broken_callback, clock=vtime.clock, sleep=vtime.sleep
        )
        slack.errors[("T1", "C1")] = [slack_error(200, "not_in_channel")]
        queue.enqueue("T1", "C1", "dropped")
        await vtime.advance(0.1)
        queue.enqueue("T1", "C1", "delivered")
        await vtime.run_until_idle(queue)

        assert [p.text for p in slack.posts] == ["delivered"]
        assert queue.active_channels == 0


class TestSplitting:
    async def test_batches_split_at_line_boundaries_under_the_limit(
        self, slack: FakeSlack, vtime: VirtualTime
    ) -> None:
        queue = NotificationQueue(
            slack.post, max_message_chars=100, clock=vtime.clock, sleep=vtime.sleep
        )
        lines = [f"line {n:02d} " + "x" * 20 for n in range(30)]  # 28 characters each
        for line in lines:
            queue.enqueue("T1", "C1", line)
        await vtime.run_until_idle(queue)

        assert all(len(p.text) <= 100 for p in slack.posts)
        assert slack.lines() == lines
        assert len(slack.posts) == 10  # three 28-character lines and two newlines fit in 100
        gaps = [b.at - a.at for a, b in zip(slack.posts, slack.posts[1:], strict=False)]
        assert gaps == [1.0] * 9

    async def test_huge_burst_fills_messages_up_to_slacks_text_limit(
        self, queue: NotificationQueue, slack: FakeSlack, vtime: VirtualTime
    ) -> None:
        lines = [f"{n:03d} " + "y" * 1996 for n in range(50)]  # 2000 characters each
        for line in lines:
            queue.enqueue("T1", "C1", line)
        await vtime.run_until_idle(queue)

        assert slack.lines() == lines
        assert [len(p.lines) for p in slack.posts] == [19, 19, 12]
        assert all(len(p.text) <= MAX_MESSAGE_CHARS for p in slack.posts)

    async def test_an_oversized_line_is_cut_not_dropped(
        self, queue: NotificationQueue, slack: FakeSlack, vtime: VirtualTime
    ) -> None:
        queue.enqueue("T1", "C1", "start " + "z" * 10_000)
        await vtime.run_until_idle(queue)

        assert len(slack.posts) == 1
        text = slack.posts[0].text
        assert len(text) == MAX_LINE_CHARS
        assert text.startswith("start zzz")
        assert text.endswith("…")

    def test_fit_line_never_cuts_inside_a_link_or_escape(self) -> None:
        link = "<https://crm.example.com/admin/clients/client/1|Acme>"
        assert fit_line("ab " + link, 20) == "ab …"
        assert fit_line("Tom &amp; Jerry", 8) == "Tom …"
        assert fit_line("short", 20) == "short"

    def test_split_sections_fits_section_and_block_limits(self) -> None:
        lines = [f"{n:05d} " + "w" * (n % 400) for n in range(400)]
        message = "\n".join(lines)[:MAX_MESSAGE_CHARS]
        sections = split_sections(message)

        assert all(len(section) <= 3000 for section in sections)
        assert "\n".join(sections) == message
        assert len(sections) <= 50
        assert split_sections("a\nb") == ["a\nb"]
        assert split_sections("q" * 4000) == ["q" * 2999 + "…"]


class TestLifecycle:
    async def test_no_task_is_left_after_drain(self, slack: FakeSlack) -> None:
        queue = NotificationQueue(slack.post, min_interval=0.01)
        for channel in ("C1", "C2", "C3"):
            for line in LINES[:3]:
                queue.enqueue("T1", channel, line)
        assert queue.active_channels == 3

        await queue.drain()

        assert queue.active_channels == 0
        assert queue.pending_lines == 0
        assert other_tasks() == set()
        assert sorted(p.channel_id for p in slack.posts) == ["C1", "C2", "C3"]
        assert all(p.lines == LINES[:3] for p in slack.posts)

    async def test_real_clock_paces_a_second_burst(self, slack: FakeSlack) -> None:
        queue = NotificationQueue(slack.post, min_interval=0.02)
        for line in LINES[:10]:
            queue.enqueue("T1", "C1", line)
        await settle()
        for line in LINES[10:]:
            queue.enqueue("T1", "C1", line)
        await queue.drain()

        assert [p.text for p in slack.posts] == ["\n".join(LINES[:10]), "\n".join(LINES[10:])]
        assert other_tasks() == set()

    async def test_enqueue_does_not_wait_for_a_slow_post(self, vtime: VirtualTime) -> None:
        release = asyncio.Event()
        posted: list[str] = []

        async def stuck_post(team_id: str, channel_id: str, text: str) -> None:
            await release.wait()
            posted.append(text)

        queue = NotificationQueue(stuck_post, clock=vtime.clock, sleep=vtime.sleep)
        queue.enqueue("T1", "C1", "first")
        await settle()
        for line in LINES:
            queue.enqueue("T1", "C1", line)  # returns although the post is stuck
        assert queue.pending_lines == len(LINES)

        release.set()
        await vtime.run_until_idle(queue)
        assert posted == ["first", "\n".join(LINES)]

    async def test_wait_posted_waits_for_the_post_but_not_for_the_pace(
        self, vtime: VirtualTime
    ) -> None:
        release = asyncio.Event()
        posted: list[str] = []

        async def held_post(team_id: str, channel_id: str, text: str) -> None:
            await release.wait()
            posted.append(text)

        queue = NotificationQueue(held_post, clock=vtime.clock, sleep=vtime.sleep)
        assert not queue.posting
        await queue.wait_posted()  # nothing queued: returns at once
        queue.enqueue("T1", "C1", "first")
        waiter = asyncio.ensure_future(queue.wait_posted())
        await settle()
        assert queue.posting and not waiter.done()  # the post is under way

        release.set()
        await settle()
        # Posted; the worker now rests for the pace (virtual time never moves here), and a
        # line arriving meanwhile waits for it, but nobody waiting on posts does.
        queue.enqueue("T1", "C1", "second")
        await settle()
        assert waiter.done()
        assert not queue.posting
        await queue.wait_posted()
        assert posted == ["first"] and queue.pending_lines == 1

        await vtime.run_until_idle(queue)
        assert posted == ["first", "second"]

    async def test_wait_posted_does_not_wait_out_a_retry_after(
        self, queue: NotificationQueue, slack: FakeSlack, vtime: VirtualTime
    ) -> None:
        slack.errors[("T1", "C1")] = [slack_error(429, "ratelimited", {"Retry-After": "30"})]
        queue.enqueue("T1", "C1", "limited")
        await settle()
        await queue.wait_posted()  # resting for 30 s of virtual time, which never pass here

        assert slack.posts == [] and len(slack.attempts) == 1
        await vtime.run_until_idle(queue)
        assert [p.text for p in slack.posts] == ["limited"]

    async def test_aclose_delivers_what_is_queued_then_ignores_new_lines(
        self, slack: FakeSlack, vtime: VirtualTime
    ) -> None:
        queue = NotificationQueue(slack.post, min_interval=0.01)
        queue.enqueue("T1", "C1", "before close")
        await queue.aclose()
        queue.enqueue("T1", "C1", "after close")
        await settle()

        assert [p.text for p in slack.posts] == ["before close"]
        assert queue.active_channels == 0
        assert other_tasks() == set()

    async def test_aclose_gives_up_on_a_stuck_channel_after_the_timeout(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def never_returns(team_id: str, channel_id: str, text: str) -> None:
            await asyncio.Event().wait()

        queue = NotificationQueue(never_returns)
        queue.enqueue("T1", "C1", "stuck")
        queue.enqueue("T1", "C1", "behind it")
        await settle()
        with caplog.at_level(logging.WARNING):
            await queue.aclose(timeout=0.01)

        assert queue.active_channels == 0
        assert other_tasks() == set()
        assert "unsent" in caplog.text

    def test_rejects_nonsense_settings(self, slack: FakeSlack) -> None:
        with pytest.raises(ValueError):
            NotificationQueue(slack.post, min_interval=-1)
        with pytest.raises(ValueError):
            NotificationQueue(slack.post, max_retries=-1)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "4"}, 4.0),
        ({"RETRY-AFTER": "2.5"}, 2.5),
        ({"Retry-After": "soon"}, DEFAULT_RETRY_AFTER),
        ({"Retry-After": "-3"}, DEFAULT_RETRY_AFTER),
        ({"Retry-After": "nan"}, DEFAULT_RETRY_AFTER),
        ({"Retry-After": "86400"}, MAX_RETRY_AFTER),
        ({}, DEFAULT_RETRY_AFTER),
    ],
)
async def test_retry_after_values(
    slack: FakeSlack, vtime: VirtualTime, headers: dict[str, str], expected: float
) -> None:
    queue = NotificationQueue(slack.post, clock=vtime.clock, sleep=vtime.sleep)
    slack.errors[("T1", "C1")] = [slack_error(429, "ratelimited", headers)]
    queue.enqueue("T1", "C1", "x")
    await vtime.run_until_idle(queue)
    assert slack.posts[0].at == expected
