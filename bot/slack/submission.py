"""Running a form's PMP write exactly once, inside Slack's 3-second answer when PMP is quick,
and without losing what the user typed when it is slow or fails.

- The same view submitted twice (a double click, a retry, two bot instances) claims one
  idempotency key in the database: only the first runs the write, the others are shown
  its outcome.
- PMP's answer is awaited for at most `ACK_BUDGET_S`: success updates the modal to a done
  view; PMP's validation errors go back onto the right inputs; other failures keep the
  modal open with the message, so the user can submit again unchanged.
- When PMP is slower, the modal shows "Saving…" and is updated once PMP answers: to the
  done view, or to the form again, filled with what was typed and the reason it failed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import MarkdownTextObject, PlainTextObject, SectionBlock
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.pmp import PmpError, PmpValidationError
from bot.records import WriteOutcome
from bot.slack.replies import SOMETHING_WENT_WRONG
from bot.storage import IdempotencyStore

logger = logging.getLogger(__name__)

# A view_submission's answer is its ack: leave room for Slack's round trip within 3 s.
ACK_BUDGET_S = 2.0


Write = Callable[[], Awaitable[WriteOutcome]]
ViewFor = Callable[[WriteOutcome], View]
RetryView = Callable[[str], View]
After = Callable[[WriteOutcome], Awaitable[None]]


def saving_view(title: str) -> View:
    return View(
        type="modal",
        title=PlainTextObject(text=title[:24]),
        close=PlainTextObject(text="Close"),
        blocks=[
            SectionBlock(
                text=MarkdownTextObject(
                    text=(
                        ":hourglass_flowing_sand: Saving in PMP… PMP is taking its time. This "
                        "window updates when it's done; you can close it, nothing is lost."
                    )
                )
            )
        ],
    )


# Recorded for a write whose fate is unknown (PMP timed out after the request was sent):
# sending it again could create a second record, so the same form is not written again.
UNCERTAIN_OUTCOME = '{"uncertain": true}'
UNCERTAIN_TEXT = (
    ":warning: PMP didn't confirm the change in time, so it may or may not have been saved. "
    "Look the record up with `/pmp` before trying again; this form won't send it twice."
)


def uncertain_view(title: str) -> View:
    return View(
        type="modal",
        title=PlainTextObject(text=title[:24]),
        close=PlainTextObject(text="Close"),
        blocks=[SectionBlock(text=MarkdownTextObject(text=UNCERTAIN_TEXT))],
    )


def submission_key(team_id: str, view: Mapping[str, Any]) -> str:
    # The root view id is the same for every submission of one modal, whichever instance
    # of the bot receives it.
    return f"view:{team_id}:{view.get('root_view_id') or view.get('id')}"


@dataclass
class Submission:
    ack: AsyncAck
    client: AsyncWebClient
    idempotency: IdempotencyStore
    team_id: str
    view: Mapping[str, Any]
    title: str
    first_block_id: str  # where errors that belong to no field are shown
    write: Write
    done_view: ViewFor
    retry_view: RetryView
    after: After
    field_errors: Callable[[PmpValidationError], dict[str, str]] = lambda _: {}

    async def run(self, budget_s: float = ACK_BUDGET_S) -> None:
        key = submission_key(self.team_id, self.view)
        if not await self.idempotency.claim(key, self.team_id):
            stored = await self._first_outcome(key, budget_s)
            if stored == UNCERTAIN_OUTCOME:
                shown = uncertain_view(self.title)
            elif stored:
                shown = self.done_view(WriteOutcome.from_json(stored))
            else:
                shown = saving_view(self.title)
            await self.ack(response_action="update", view=shown)
            return
        task = asyncio.ensure_future(self.write())
        done, _ = await asyncio.wait({task}, timeout=budget_s)
        if done:
            await self._answer_in_ack(key, task)
        else:
            await self.ack(response_action="update", view=saving_view(self.title))
            await self._answer_later(key, task)

    async def _first_outcome(self, key: str, budget_s: float) -> str | None:
        """The outcome of the submission that claimed the key, waited for within the budget:
        a double click usually arrives while the first one is still saving."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget_s
        while True:
            stored = await self.idempotency.get_result(key)
            if stored or loop.time() >= deadline:
                return stored
            await asyncio.sleep(0.1)

    async def _answer_in_ack(self, key: str, task: asyncio.Future[WriteOutcome]) -> None:
        try:
            outcome = task.result()
        except PmpError as error:
            if error.write_unconfirmed:
                await self.idempotency.record_result(key, UNCERTAIN_OUTCOME)
                await self.ack(response_action="update", view=uncertain_view(self.title))
                return
            await self._refuse(key, error)
            return
        except Exception:
            logger.exception("A form submission failed")
            await self.idempotency.release(key)
            await self.ack(
                response_action="errors", errors={self.first_block_id: SOMETHING_WENT_WRONG}
            )
            return
        await self.idempotency.record_result(key, outcome.to_json())
        await self.ack(response_action="update", view=self.done_view(outcome))
        await self._after(outcome)

    async def _refuse(self, key: str, error: PmpError) -> None:
        """PMP refused, or was not reached: nothing was written, so the same form may be
        submitted again, with the errors shown on the inputs."""
        await self.idempotency.release(key)
        if isinstance(error, PmpValidationError):
            errors = self.field_errors(error) or {self.first_block_id: error.user_message}
        else:
            errors = {self.first_block_id: f"{error.user_message} Your entries are kept."}
        await self.ack(response_action="errors", errors=errors)

    async def _answer_later(self, key: str, task: asyncio.Future[WriteOutcome]) -> None:
        view_id = str(self.view.get("id", ""))
        try:
            outcome = await task
        except PmpError as error:
            if error.write_unconfirmed:
                await self.idempotency.record_result(key, UNCERTAIN_OUTCOME)
                await self._update(view_id, uncertain_view(self.title))
                return
            await self.idempotency.release(key)
            await self._update(view_id, self.retry_view(error.user_message))
            return
        except Exception:
            logger.exception("A form submission failed")
            await self.idempotency.release(key)
            await self._update(view_id, self.retry_view(SOMETHING_WENT_WRONG))
            return
        await self.idempotency.record_result(key, outcome.to_json())
        await self._update(view_id, self.done_view(outcome))
        await self._after(outcome)

    async def _after(self, outcome: WriteOutcome) -> None:
        # The write has happened; a failed notice must not make it look otherwise.
        try:
            await self.after(outcome)
        except Exception:
            logger.exception("Follow-up of a saved form failed")

    async def _update(self, view_id: str, view: View) -> None:
        try:
            await self.client.views_update(view_id=view_id, view=view)
        except SlackApiError as error:
            # The user closed the modal: nothing to update, the outcome stands.
            logger.info("views.update after a slow write failed: %s", error.response.get("error"))
