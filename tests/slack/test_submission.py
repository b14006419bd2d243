"""bot/slack/submission.py: one PMP write per view, inside the ack when PMP is quick, a
"Saving…" view and a views.update when it is slow, nothing lost when it fails."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import MarkdownTextObject, PlainTextObject, SectionBlock
from slack_sdk.models.views import View

from bot.pmp import PmpConnectionError, PmpTimeoutError, PmpValidationError
from bot.records import WriteOutcome
from bot.slack.submission import Submission, submission_key
from bot.storage import IdempotencyStore

TEAM = "T0001"
FIRST_BLOCK = "thing.name"
DONE = WriteOutcome(kind="customer", label="Acme", verb="added", record_id=7, url=None)


class FakeAck:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def __call__(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)

    @property
    def only(self) -> dict[str, Any]:
        assert len(self.calls) == 1, self.calls
        return self.calls[0]


@dataclass
class FakeClient:
    updates: list[dict[str, Any]] = field(default_factory=list)
    closed: bool = False

    async def views_update(self, *, view_id: str, view: View) -> dict[str, Any]:
        if self.closed:
            raise SlackApiError("not_found", {"ok": False, "error": "not_found"})
        self.updates.append({"view_id": view_id, "view": view.to_dict()})
        return {"ok": True}


def view_payload(view_id: str = "V1") -> dict[str, Any]:
    return {"id": view_id, "root_view_id": view_id, "callback_id": "pmp_record_form"}


def done_view(outcome: WriteOutcome) -> View:
    return View(
        type="modal",
        title=PlainTextObject(text="Done"),
        blocks=[SectionBlock(text=MarkdownTextObject(text=f"done {outcome.label}"))],
    )


def retry_view(problem: str) -> View:
    return View(
        type="modal",
        title=PlainTextObject(text="Again"),
        blocks=[SectionBlock(text=MarkdownTextObject(text=f"retry: {problem}"))],
    )


@dataclass
class Harness:
    idempotency: IdempotencyStore
    ack: FakeAck = field(default_factory=FakeAck)
    client: FakeClient = field(default_factory=FakeClient)
    writes: int = 0
    after_calls: list[WriteOutcome] = field(default_factory=list)

    def submission(
        self, write: Any, *, view: dict[str, Any] | None = None, ack: FakeAck | None = None
    ) -> Submission:
        async def counted() -> WriteOutcome:
            self.writes += 1
            outcome: WriteOutcome = await write()
            return outcome

        async def after(outcome: WriteOutcome) -> None:
            self.after_calls.append(outcome)

        return Submission(
            ack=ack or self.ack,  # type: ignore[arg-type]
            client=self.client,  # type: ignore[arg-type]
            idempotency=self.idempotency,
            team_id=TEAM,
            view=view or view_payload(),
            title="New customer",
            first_block_id=FIRST_BLOCK,
            write=counted,
            done_view=done_view,
            retry_view=retry_view,
            after=after,
            field_errors=lambda error: {f"thing.{k}": v for k, v in error.errors.items()},
        )


@pytest.fixture
def harness(idempotency: IdempotencyStore) -> Harness:
    return Harness(idempotency)


async def quick() -> WriteOutcome:
    return DONE


def text_of(view: dict[str, Any]) -> str:
    return str(view["blocks"])


async def test_a_quick_write_answers_in_the_ack_with_the_done_view(harness: Harness) -> None:
    await harness.submission(quick).run()
    answer = harness.ack.only
    assert answer["response_action"] == "update"
    assert "done Acme" in text_of(answer["view"].to_dict())
    assert harness.after_calls == [DONE]
    assert harness.client.updates == []
    stored = await harness.idempotency.get_result(submission_key(TEAM, view_payload()))
    assert stored is not None and WriteOutcome.from_json(stored) == DONE


async def test_pmp_validation_errors_go_onto_their_inputs_and_free_the_key(
    harness: Harness,
) -> None:
    async def refused() -> WriteOutcome:
        raise PmpValidationError("refused", errors={"name": "The Name field is required."})

    await harness.submission(refused).run()
    assert harness.ack.only == {
        "response_action": "errors",
        "errors": {"thing.name": "The Name field is required."},
    }
    assert harness.after_calls == []
    # The key is free again: submitting the corrected form writes.
    await harness.submission(quick, ack=FakeAck()).run()
    assert harness.writes == 2


async def test_validation_errors_for_no_input_land_on_the_first_block(
    idempotency: IdempotencyStore,
) -> None:
    ack = FakeAck()

    async def refused() -> WriteOutcome:
        raise PmpValidationError("refused", errors={"x": "?"}, user_message="PMP said no.")

    submission = Harness(idempotency).submission(refused, ack=ack)
    submission.field_errors = lambda error: {}
    await submission.run()
    assert ack.only["errors"] == {FIRST_BLOCK: "PMP said no."}


async def test_pmp_down_keeps_the_modal_open_and_frees_the_key(harness: Harness) -> None:
    async def down() -> WriteOutcome:
        raise PmpConnectionError("refused", user_message="Couldn't reach PMP.")

    await harness.submission(down).run()
    answer = harness.ack.only
    assert answer["response_action"] == "errors"
    assert answer["errors"] == {FIRST_BLOCK: "Couldn't reach PMP. Your entries are kept."}
    assert await harness.idempotency.claim(submission_key(TEAM, view_payload()), TEAM)


async def test_a_bug_in_the_write_says_so_without_a_traceback(harness: Harness) -> None:
    async def broken() -> WriteOutcome:
        raise RuntimeError("boom")

    await harness.submission(broken).run()
    message = harness.ack.only["errors"][FIRST_BLOCK]
    assert "went wrong" in message and "boom" not in message


async def test_a_slow_write_shows_saving_then_updates_the_view(harness: Harness) -> None:
    async def slow() -> WriteOutcome:
        await asyncio.sleep(0.3)
        return DONE

    await harness.submission(slow).run(budget_s=0.05)
    answer = harness.ack.only
    assert answer["response_action"] == "update"
    assert "Saving in PMP" in text_of(answer["view"].to_dict())
    assert [u["view_id"] for u in harness.client.updates] == ["V1"]
    assert "done Acme" in text_of(harness.client.updates[0]["view"])
    assert harness.after_calls == [DONE]


async def test_a_slow_failure_shows_the_form_again_with_the_reason(harness: Harness) -> None:
    async def slow_failure() -> WriteOutcome:
        await asyncio.sleep(0.2)
        raise PmpConnectionError("down", user_message="Couldn't reach PMP.")

    await harness.submission(slow_failure).run(budget_s=0.05)
    assert "Saving in PMP" in text_of(harness.ack.only["view"].to_dict())
    (update,) = harness.client.updates
    assert "retry: Couldn't reach PMP." in text_of(update["view"])
    assert harness.after_calls == []
    assert await harness.idempotency.claim(submission_key(TEAM, view_payload()), TEAM)


async def test_a_closed_modal_after_a_slow_write_is_not_an_error(harness: Harness) -> None:
    async def slow() -> WriteOutcome:
        await asyncio.sleep(0.1)
        return DONE

    harness.client.closed = True
    await harness.submission(slow).run(budget_s=0.01)
    assert harness.after_calls == [DONE]  # the write stands; notices still go out


async def test_a_second_submission_of_a_finished_view_shows_its_outcome(harness: Harness) -> None:
    await harness.submission(quick).run()
    again = FakeAck()
    await harness.submission(quick, ack=again).run()
    assert harness.writes == 1
    assert "done Acme" in text_of(again.only["view"].to_dict())
    assert harness.after_calls == [DONE]


async def test_a_double_click_while_saving_writes_once(harness: Harness) -> None:
    release = asyncio.Event()

    async def held() -> WriteOutcome:
        await release.wait()
        return DONE

    first_ack, second_ack = FakeAck(), FakeAck()
    first = asyncio.ensure_future(harness.submission(held, ack=first_ack).run(budget_s=1.0))
    await asyncio.sleep(0.05)
    second = asyncio.ensure_future(harness.submission(held, ack=second_ack).run(budget_s=1.0))
    await asyncio.sleep(0.05)
    release.set()
    await asyncio.gather(first, second)
    assert harness.writes == 1
    # The duplicate waited for the first one's outcome rather than showing "Saving…".
    assert "done Acme" in text_of(second_ack.only["view"].to_dict())
    assert "done Acme" in text_of(first_ack.only["view"].to_dict())


async def test_a_duplicate_of_a_write_still_running_shows_saving(harness: Harness) -> None:
    release = asyncio.Event()

    async def held() -> WriteOutcome:
        await release.wait()
        return DONE

    first = asyncio.ensure_future(harness.submission(held).run(budget_s=0.05))
    await asyncio.sleep(0.02)
    duplicate = FakeAck()
    await harness.submission(held, ack=duplicate).run(budget_s=0.1)
    assert "Saving in PMP" in text_of(duplicate.only["view"].to_dict())
    release.set()
    await first
    assert harness.writes == 1


async def test_different_views_are_different_submissions(harness: Harness) -> None:
    await harness.submission(quick, view=view_payload("V1")).run()
    await harness.submission(quick, view=view_payload("V2"), ack=FakeAck()).run()
    assert harness.writes == 2


async def test_a_failing_follow_up_does_not_undo_the_done_view(harness: Harness) -> None:
    submission = harness.submission(quick)

    async def failing_after(outcome: WriteOutcome) -> None:
        raise RuntimeError("notice queue broken")

    submission.after = failing_after
    await submission.run()
    assert harness.ack.only["response_action"] == "update"


def unconfirmed_timeout() -> PmpTimeoutError:
    error = PmpTimeoutError("POST api/customers: no answer within 10 s (ReadTimeout)")
    error.write_unconfirmed = True
    return error


@pytest.mark.parametrize("slow", [False, True])
async def test_a_write_whose_answer_was_lost_is_never_sent_again(
    harness: Harness, slow: bool
) -> None:
    async def lost() -> WriteOutcome:
        if slow:
            await asyncio.sleep(0.2)
        raise unconfirmed_timeout()

    await harness.submission(lost).run(budget_s=0.05 if slow else 2.0)
    shown = harness.client.updates[-1]["view"] if slow else harness.ack.calls[-1]["view"].to_dict()
    assert "may or may not have been saved" in text_of(shown)
    assert harness.after_calls == []

    # The user submits the same form again: it is not written a second time.
    again = FakeAck()
    await harness.submission(lost, ack=again).run()
    assert harness.writes == 1
    assert again.only["response_action"] == "update"
    assert "may or may not have been saved" in text_of(again.only["view"].to_dict())


async def test_a_write_that_never_left_can_be_sent_again(harness: Harness) -> None:
    async def unreachable() -> WriteOutcome:
        raise PmpTimeoutError("POST api/customers: no answer (ConnectTimeout)")

    await harness.submission(unreachable).run()
    assert harness.ack.only["response_action"] == "errors"
    await harness.submission(quick, ack=FakeAck()).run()
    assert harness.writes == 2
