"""Typeahead options for external selects, answered within Slack's 3-second budget.

An options load's answer IS its ack, so PMP gets about two seconds; searches are kept
per workspace (the lookups cache), so PMP is asked about once per distinct query. When PMP
is slower, the search goes on in the background to fill the cache, and the user gets one
friendly option instead of an empty list.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from bot.blocks.fields import FAILED_VALUE, SLOW_VALUE, notice_option, record_options
from bot.blocks.staff import staff_options
from bot.lookups import Lookups
from bot.pmp import PmpClient, PmpError, PmpRecord
from bot.pmp.links import RecordKind
from bot.staff import StaffDirectory

logger = logging.getLogger(__name__)

OPTIONS_BUDGET_S = 2.0

_background: set[asyncio.Future[Any]] = set()


async def typeahead(
    lookups: Lookups,
    pmp: PmpClient,
    scope: str,
    kind: RecordKind,
    query: str,
    label: Callable[[PmpRecord], str],
    *,
    budget_s: float = OPTIONS_BUDGET_S,
) -> list[dict[str, Any]]:
    """Options for `query`: matching records, or one option saying what went wrong."""
    text = " ".join(query.split())
    if not text:
        return []
    search = asyncio.ensure_future(lookups.search(pmp, scope, kind, text))
    try:
        listing = await asyncio.wait_for(asyncio.shield(search), budget_s)
    except TimeoutError:
        _background.add(search)
        search.add_done_callback(_forget)
        return [notice_option("PMP is slow — keep typing", SLOW_VALUE)]
    except PmpError as error:
        return [notice_option(error.user_message, FAILED_VALUE)]
    return record_options(listing.records, label)


async def staff_typeahead(
    directory: StaffDirectory,
    pmp: PmpClient,
    query: str,
    *,
    budget_s: float = OPTIONS_BUDGET_S,
) -> list[dict[str, Any]]:
    """A staff picker's options for `query`: matching staff members (kept per PMP client, so
    PMP is asked once per term), or one option saying what went wrong (PMP slow or failing,
    or the token may not list staff)."""
    text = " ".join(query.split())
    if not text:
        return []
    search = asyncio.ensure_future(directory.search(pmp, text))
    try:
        found = await asyncio.wait_for(asyncio.shield(search), budget_s)
    except TimeoutError:
        _background.add(search)
        search.add_done_callback(_forget)
        return [notice_option("PMP is slow — keep typing", SLOW_VALUE)]
    except PmpError as error:
        return [notice_option(error.user_message, FAILED_VALUE)]
    return staff_options(found)


def _forget(future: asyncio.Future[Any]) -> None:
    _background.discard(future)
    if not future.cancelled() and future.exception() is not None:
        logger.debug("A background typeahead search failed: %s", type(future.exception()).__name__)
