"""PMP staff for Slack: which staff member a Slack user is, and staff names for pickers.

- The link between a Slack user and a PMP staff member is stored per workspace
  (bot.storage.staff_links). `StaffDirectory.staff_for_user` uses the stored link of the
  workspace's current PMP; without one it looks the user's Slack e-mail up in PMP's staff
  (`api/staffs/search/<e-mail>`) and stores the one active staff member with exactly that
  e-mail. An admin sets or corrects a link (`set_link`, checked against PMP) or removes it.
- `search` feeds the staff typeaheads of forms. A token without PMP's staff permission gets
  HTTP 403: `StaffUnavailable`, so forms fall back to a staff number input and say why.

Answers are remembered per PMP client (one per workspace and token) for a short while: a
typeahead asks PMP once per term, and the names of staff seen name the ids forms show.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.pmp import (
    PmpAuthError,
    PmpClient,
    PmpError,
    PmpNotFoundError,
    PmpSearchRefusedError,
)
from bot.pmp.staff import Staff
from bot.pmp_pool import WorkspaceKey
from bot.storage.staff_links import LinkSource, StaffLinkStore, StoredStaffLink

__all__ = [
    "STAFF_UNAVAILABLE",
    "EmailLookup",
    "LinkedUser",
    "NoStaffMatch",
    "StaffDirectory",
    "StaffLink",
    "StaffMember",
    "StaffUnavailable",
    "slack_email",
]

logger = logging.getLogger(__name__)

EmailLookup = Callable[[], Awaitable[str | None]]
"""Fetches a Slack user's e-mail when it is needed (users.info); None when Slack won't say."""

# How long answers about a PMP's staff are reused.
SEARCH_TTL_S = 60.0
# A token found unable to read staff is asked again after this long (an admin may grant it).
UNAVAILABLE_TTL_S = 300.0
# Per PMP client: kept searches and named staff, beyond which the oldest go.
MAX_KEPT_SEARCHES = 200
MAX_KNOWN_STAFF = 2000

# A staff id no PMP install reaches (MySQL's INT maximum): reading it asks PMP whether the
# token may read staff at the cost of one indexed lookup.
_PROBE_STAFF_ID = 2_147_483_647

STAFF_UNAVAILABLE = (
    "PMP's API token isn't allowed to read staff members, so pmp-bot can't list them. "
    "A PMP admin can give the token the staff permission (Setup → API)."
)


@dataclass(frozen=True, slots=True)
class StaffMember:
    """A PMP staff member as pmp-bot shows one (no secret PMP sends with it)."""

    id: int
    name: str
    email: str | None
    active: bool

    @classmethod
    def from_pmp(cls, staff: Staff) -> StaffMember:
        email = (staff.email or "").strip() or None
        return cls(id=staff.id, name=staff.display_name, email=email, active=staff.is_active)


@dataclass(frozen=True, slots=True)
class StaffLink:
    """The PMP staff member a Slack user is, and how pmp-bot knows: their Slack e-mail
    matched ("email") or an admin said so ("admin")."""

    staff: StaffMember
    source: LinkSource


@dataclass(frozen=True, slots=True)
class StaffUnavailable:
    """PMP won't list staff to this token (HTTP 403): forms ask for a staff number instead."""

    message: str = STAFF_UNAVAILABLE


NoMatchReason = Literal["no_email", "no_staff", "inactive", "several", "unavailable"]


@dataclass(frozen=True, slots=True)
class NoStaffMatch:
    """Why a Slack user has no staff member: Slack didn't give their e-mail ("no_email"),
    no staff member has it ("no_staff"), only a deactivated one ("inactive"), several active
    ones ("several"), or PMP won't list staff to this token ("unavailable")."""

    reason: NoMatchReason
    email: str | None = None


@dataclass(frozen=True, slots=True)
class LinkedUser:
    """One row of a workspace's links: a Slack user and their staff member."""

    slack_user_id: str
    link: StaffLink
    set_by: str | None = None


def slack_email(client: AsyncWebClient, user_id: str) -> EmailLookup:
    """The user's Slack e-mail, fetched when called (users.info). Slack gives it only to an
    app with the `users:read.email` scope, and not for bots; None then, or when Slack fails."""

    async def lookup() -> str | None:
        try:
            answer = await client.users_info(user=user_id)
        except SlackApiError as error:
            logger.info("users.info for a staff match failed: %s", error.response.get("error"))
            return None
        except Exception as error:  # Slack out of reach: no e-mail, the caller says so
            logger.warning("users.info for a staff match failed: %s", type(error).__name__)
            return None
        user = answer.get("user") or {}
        profile = user.get("profile") if isinstance(user, dict) else None
        email = profile.get("email") if isinstance(profile, dict) else None
        return email.strip() if isinstance(email, str) and email.strip() else None

    return lookup


def _same_email(first: str | None, second: str | None) -> bool:
    if not first or not second:
        return False
    return first.strip().casefold() == second.strip().casefold()


def _link_of(stored: StoredStaffLink) -> StaffLink:
    member = StaffMember(
        id=stored.staff_id, name=stored.staff_name, email=stored.staff_email, active=True
    )
    return StaffLink(staff=member, source=stored.source)


@dataclass
class _Memory:
    """What one PMP client's staff answers taught pmp-bot."""

    searches: dict[str, tuple[float, list[StaffMember]]] = field(default_factory=dict)
    known: dict[int, StaffMember] = field(default_factory=dict)
    unavailable_at: float | None = None
    available_at: float | None = None
    pending: dict[str, asyncio.Task[list[StaffMember]]] = field(default_factory=dict)


class StaffDirectory:
    """Slack users' PMP staff members (stored per workspace) and PMP's staff for pickers.

    Built once in services (`services.staff`). Methods taking a PMP client raise PmpError when
    PMP fails (a timeout, a refused token), except where they say otherwise.
    """

    def __init__(
        self, store: StaffLinkStore, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._store = store
        self._clock = clock
        self._memory: weakref.WeakKeyDictionary[PmpClient, _Memory] = weakref.WeakKeyDictionary()

    def __repr__(self) -> str:
        return f"StaffDirectory({self._store!r})"

    def _of(self, pmp: PmpClient) -> _Memory:
        memory = self._memory.get(pmp)
        if memory is None:
            memory = self._memory[pmp] = _Memory()
        return memory

    # ------------------------------------------------------------------ what PMP can tell

    def can_list(self, pmp: PmpClient) -> bool:
        """False while PMP's last answer (within a few minutes) was that this token may not
        read staff; True otherwise (also before anything was asked). What forms build on."""
        memory = self._of(pmp)
        if memory.unavailable_at is None:
            return True
        if self._clock() - memory.unavailable_at >= UNAVAILABLE_TTL_S:
            memory.unavailable_at = None
            return True
        return False

    async def can_list_now(self, pmp: PmpClient) -> bool:
        """Whether the token may read staff: from what PMP answered lately, else asked with one
        cheap read. When PMP fails otherwise, True: the pickers then say what goes wrong. For
        forms that are being filled from PMP anyway."""
        if not self.can_list(pmp):
            return False
        memory = self._of(pmp)
        if memory.available_at is not None and self._clock() - memory.available_at < SEARCH_TTL_S:
            return True
        try:
            found = await self.member(pmp, _PROBE_STAFF_ID)
        except PmpError as error:
            logger.info("PMP staff check failed: %s", type(error).__name__)
            return True
        return not isinstance(found, StaffUnavailable)

    def _note_refused(self, pmp: PmpClient, error: PmpAuthError) -> bool:
        """Whether `error` says the token may not read staff (403), remembering it if so."""
        if error.status_code != 403:
            return False
        memory = self._of(pmp)
        if memory.unavailable_at is None:
            logger.info("PMP %s: the API token may not read staff (HTTP 403)", pmp.site)
        memory.unavailable_at = self._clock()
        memory.searches.clear()
        return True

    def _learn(self, pmp: PmpClient, members: Iterable[StaffMember]) -> None:
        known = self._of(pmp).known
        for member in members:
            known.pop(member.id, None)
            known[member.id] = member
        while len(known) > MAX_KNOWN_STAFF:
            known.pop(next(iter(known)))

    def known_name(self, pmp: PmpClient, staff_id: int) -> str | None:
        """The name of a staff member seen lately through this client, without asking PMP."""
        member = self._of(pmp).known.get(staff_id)
        return member.name if member else None

    async def search(self, pmp: PmpClient, term: str) -> list[StaffMember] | StaffUnavailable:
        """Staff whose name or e-mail contains `term` (active ones first, then by name), for a
        typeahead; StaffUnavailable when the token may not read staff. [] for a blank term.
        Other PMP failures raise PmpError."""
        text = " ".join(term.split())
        if not text:
            return []
        if not self.can_list(pmp):
            return StaffUnavailable()
        memory = self._of(pmp)
        cache_key = text.casefold()
        kept = memory.searches.get(cache_key)
        if kept is not None and self._clock() - kept[0] < SEARCH_TTL_S:
            return list(kept[1])
        task = memory.pending.get(cache_key)
        if task is None:
            task = asyncio.ensure_future(self._search_pmp(pmp, text))
            memory.pending[cache_key] = task
            task.add_done_callback(lambda done: _forget_pending(memory, cache_key, done))
        try:
            # Shielded: one typeahead giving up must not cancel the search others wait on.
            found = await asyncio.shield(task)
        except PmpAuthError as error:
            if self._note_refused(pmp, error):
                return StaffUnavailable()
            raise
        return list(found)

    async def _search_pmp(self, pmp: PmpClient, text: str) -> list[StaffMember]:
        rows = await pmp.staff.search(text)
        members = sorted(
            (StaffMember.from_pmp(row) for row in rows),
            key=lambda m: (not m.active, m.name.casefold(), m.id),
        )
        self._learn(pmp, members)
        memory = self._of(pmp)
        memory.available_at = self._clock()
        memory.searches.pop(text.casefold(), None)
        memory.searches[text.casefold()] = (self._clock(), members)
        while len(memory.searches) > MAX_KEPT_SEARCHES:
            memory.searches.pop(next(iter(memory.searches)))
        return members

    async def member(self, pmp: PmpClient, staff_id: int) -> StaffMember | StaffUnavailable | None:
        """One staff member (None when PMP has no such id), StaffUnavailable when the token
        may not read staff. Other PMP failures raise PmpError."""
        if not self.can_list(pmp):
            return StaffUnavailable()
        try:
            staff = await pmp.staff.get(staff_id)
        except PmpNotFoundError:
            self._of(pmp).available_at = self._clock()
            return None
        except PmpAuthError as error:
            if self._note_refused(pmp, error):
                return StaffUnavailable()
            raise
        member = StaffMember.from_pmp(staff)
        self._learn(pmp, [member])
        self._of(pmp).available_at = self._clock()
        return member

    async def names(self, pmp: PmpClient, staff_ids: Iterable[int]) -> dict[int, str]:
        """Names of the given staff ids, as far as PMP tells them; never fails (a form still
        works with a number where the name is missing)."""
        wanted = {staff_id for staff_id in staff_ids if staff_id > 0}
        names = {i: n for i in wanted if (n := self.known_name(pmp, i)) is not None}
        missing = sorted(wanted - set(names))
        if missing and self.can_list(pmp):
            answers = await asyncio.gather(
                *(self.member(pmp, i) for i in missing), return_exceptions=True
            )
            for answer in answers:
                if isinstance(answer, StaffMember):
                    names[answer.id] = answer.name
                elif isinstance(answer, BaseException):
                    logger.info("A staff member's name wasn't read: %s", type(answer).__name__)
        return names

    async def find(self, pmp: PmpClient, text: str) -> list[StaffMember] | StaffUnavailable:
        """The staff members an admin means by `text`: a staff number, an e-mail, or a name.
        An exact name or e-mail match wins over partial ones; [] when none matches."""
        wanted = " ".join(text.split()).lstrip("#")
        if wanted.isdigit():
            found = await self.member(pmp, int(wanted)) if 0 < int(wanted) < 2**31 else None
            if isinstance(found, StaffUnavailable):
                return found
            return [found] if found is not None else []
        hits = await self.search(pmp, wanted)
        if isinstance(hits, StaffUnavailable):
            return hits
        exact = [
            m
            for m in hits
            if m.name.casefold() == wanted.casefold() or _same_email(m.email, wanted)
        ]
        return exact or hits

    # ------------------------------------------------------------------------- the links

    async def staff_for_user(
        self,
        pmp: PmpClient,
        key: WorkspaceKey,
        slack_user_id: str,
        email: str | EmailLookup | None,
    ) -> StaffLink | None:
        """The Slack user's PMP staff member: the stored link for this PMP, else the one
        active staff member whose e-mail is the user's Slack e-mail (then stored); None when
        there is none (`match_user` says why). `email` may be a function fetching it, called
        only when there is no stored link. PmpError when PMP fails."""
        found = await self.match_user(pmp, key, slack_user_id, email)
        return found if isinstance(found, StaffLink) else None

    async def match_user(
        self,
        pmp: PmpClient,
        key: WorkspaceKey,
        slack_user_id: str,
        email: str | EmailLookup | None,
    ) -> StaffLink | NoStaffMatch:
        """`staff_for_user`, saying why when there is no staff member."""
        stored = await self._store.get(key.team_id, key.enterprise_id, slack_user_id)
        if stored is not None and stored.pmp_site == pmp.base_url:
            return _link_of(stored)
        address = (await email()) if callable(email) else email
        address = (address or "").strip() or None
        if address is None:
            return NoStaffMatch("no_email")
        hits = await self._staff_with_email(pmp, address)
        if isinstance(hits, StaffUnavailable):
            return NoStaffMatch("unavailable", address)
        same = [member for member in hits if _same_email(member.email, address)]
        active = [member for member in same if member.active]
        if not same:
            return NoStaffMatch("no_staff", address)
        if not active:
            return NoStaffMatch("inactive", address)
        if len(active) > 1:
            return NoStaffMatch("several", address)
        link = StaffLink(staff=active[0], source="email")
        await self._store.put(
            key.team_id, key.enterprise_id, self._stored(pmp, slack_user_id, link)
        )
        return link

    async def _staff_with_email(
        self, pmp: PmpClient, address: str
    ) -> list[StaffMember] | StaffUnavailable:
        """Staff whose records hold `address` (PMP's search, which also matches parts of it).
        A web server in front of PMP may refuse some e-mail characters (`+`) in a search path:
        then every staff member is read and the e-mail looked for here."""
        try:
            return await self.search(pmp, address)
        except PmpSearchRefusedError:
            logger.info("PMP %s refused an e-mail as a staff search; reading the list", pmp.site)
        try:
            rows = await pmp.staff.list()
        except PmpAuthError as error:
            if self._note_refused(pmp, error):
                return StaffUnavailable()
            raise
        members = [StaffMember.from_pmp(row) for row in rows]
        self._learn(pmp, members)
        return members

    async def set_link(
        self,
        pmp: PmpClient,
        key: WorkspaceKey,
        slack_user_id: str,
        staff_id: int,
        *,
        set_by: str,
    ) -> StaffLink:
        """An admin (`set_by`) links the Slack user to staff member `staff_id`, after PMP
        confirmed it exists. PmpNotFoundError when it doesn't; PmpAuthError (with the reason
        in its user_message) when the token may not read staff; other PmpErrors as PMP fails."""
        found = await self.member(pmp, staff_id)
        if isinstance(found, StaffUnavailable):
            raise PmpAuthError(
                "staff link not set: the token may not read staff",
                user_message=found.message,
                status_code=403,
            )
        if found is None:
            raise PmpNotFoundError(
                f"staff link not set: no staff member #{staff_id}",
                user_message=f"PMP has no staff member #{staff_id}.",
                status_code=404,
            )
        link = StaffLink(staff=found, source="admin")
        stored = self._stored(pmp, slack_user_id, link, set_by=set_by)
        await self._store.put(key.team_id, key.enterprise_id, stored)
        return link

    async def remove_link(self, key: WorkspaceKey, slack_user_id: str) -> bool:
        """Forgets the user's link; True when there was one. (The next `staff_for_user` may
        match them by e-mail again.)"""
        return await self._store.remove(key.team_id, key.enterprise_id, slack_user_id)

    async def stored_link(
        self, pmp: PmpClient, key: WorkspaceKey, slack_user_id: str
    ) -> StaffLink | None:
        """The user's stored link for this PMP, without asking PMP or Slack anything."""
        stored = await self._store.get(key.team_id, key.enterprise_id, slack_user_id)
        if stored is None or stored.pmp_site != pmp.base_url:
            return None
        return _link_of(stored)

    async def links(self, pmp: PmpClient, key: WorkspaceKey) -> Sequence[LinkedUser]:
        """Every Slack user of the workspace linked to a staff member of this PMP, by name."""
        stored = await self._store.all(key.team_id, key.enterprise_id, pmp_site=pmp.base_url)
        return [
            LinkedUser(slack_user_id=row.slack_user_id, link=_link_of(row), set_by=row.set_by)
            for row in stored
        ]

    @staticmethod
    def _stored(
        pmp: PmpClient, slack_user_id: str, link: StaffLink, *, set_by: str | None = None
    ) -> StoredStaffLink:
        return StoredStaffLink(
            slack_user_id=slack_user_id,
            pmp_site=pmp.base_url,
            staff_id=link.staff.id,
            staff_name=link.staff.name,
            staff_email=link.staff.email,
            source=link.source,
            set_by=set_by,
        )


def _forget_pending(memory: _Memory, cache_key: str, task: asyncio.Task[list[StaffMember]]) -> None:
    if memory.pending.get(cache_key) is task:
        del memory.pending[cache_key]
    if not task.cancelled() and task.exception() is not None:
        logger.debug("A PMP staff search failed: %s", type(task.exception()).__name__)
