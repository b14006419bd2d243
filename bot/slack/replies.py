"""Running the work that follows an ack, so that every failure reaches the user as a short
message and never as silence (Bolt only logs exceptions raised after the ack)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any

from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.blocks.connect import build_not_connected
from bot.pmp import PmpError
from bot.slack.workspace_pmp import NotConnectedError

logger = logging.getLogger(__name__)

SOMETHING_WENT_WRONG = (
    "Something went wrong on pmp-bot's side, sorry. Try again; if it keeps happening, "
    "tell whoever runs pmp-bot."
)


async def respond_quietly(respond: AsyncRespond, **message: Any) -> None:
    """Responds, logging (not raising) when Slack refuses: an expired response_url must
    not turn into a second failure."""
    try:
        await respond(**message)
    except Exception:
        logger.warning("Could not answer through the response_url", exc_info=True)


async def reporting_failures(respond: AsyncRespond, work: Awaitable[None]) -> None:
    try:
        await work
    except NotConnectedError:
        await respond_quietly(
            respond,
            blocks=build_not_connected(),
            text="This workspace isn't connected to PMP.",
            replace_original=False,
        )
    except PmpError as error:
        await respond_quietly(respond, text=error.user_message, replace_original=False)
    except Exception:
        logger.exception("A request failed after it was acknowledged")
        await respond_quietly(respond, text=SOMETHING_WENT_WRONG, replace_original=False)
