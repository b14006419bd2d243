"""Who may administer pmp-bot in a workspace: Slack admins and owners, plus PMP_BOT_ADMINS."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

logger = logging.getLogger(__name__)


class AdminChecker:
    """Answers "is this user an admin?" with users.info, cached briefly.

    users.info is rate-limited (Tier 4) and sits on the path of interactive requests, so one
    answer is reused for a few minutes; a promotion or demotion takes effect after that.
    """

    def __init__(self, extra_admins: Iterable[str] = (), *, ttl_seconds: float = 300.0) -> None:
        self._extra_admins = frozenset(extra_admins)
        self._ttl = ttl_seconds
        self._cache: dict[tuple[str, str], tuple[float, bool]] = {}

    async def is_admin(self, client: AsyncWebClient, team_id: str, user_id: str) -> bool:
        if user_id in self._extra_admins:
            return True
        key = (team_id, user_id)
        cached = self._cache.get(key)
        now = time.monotonic()
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        try:
            response = await client.users_info(user=user_id)
        except SlackApiError as error:
            logger.warning("users.info failed for an admin check: %s", error.response.get("error"))
            return False
        user = response.get("user") or {}
        allowed = bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
        self._cache[key] = (now, allowed)
        return allowed
