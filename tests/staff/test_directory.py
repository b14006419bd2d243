"""bot.staff.StaffDirectory: a Slack user's staff member (stored first, else matched by
e-mail and stored), admins' links checked against PMP, and searches for pickers that say
when the token may not read staff."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bot.crypto import TokenCipher
from bot.pmp import PmpAuthError, PmpClient, PmpNotFoundError, PmpTimeoutError
from bot.pmp_pool import WorkspaceKey
from bot.staff import (
    SEARCH_TTL_S,
    UNAVAILABLE_TTL_S,
    NoStaffMatch,
    StaffDirectory,
    StaffLink,
    StaffMember,
    StaffUnavailable,
)
from bot.storage import Database, WorkspaceStore
from bot.storage.staff_links import StaffLinkStore
from tests.pmp.conftest import (
    NO_DATA,
    ROOT,
    ClientFactory,
    FakePmp,
    html_response,
    json_response,
)

KEY = WorkspaceKey(team_id="T1")
OTHER = WorkspaceKey(team_id="T2")

STAFF = [
    {"staffid": "1", "firstname": "Admin", "lastname": "User", "email": "admin@pmp.example"},
    {"staffid": "2", "firstname": "Maria", "lastname": "Garcia", "email": "Maria@PMP.example"},
    {"staffid": "3", "firstname": "Tom", "lastname": "Becker", "email": "tom@pmp.example"},
    {
        "staffid": "6",
        "firstname": "Old",
        "lastname": "Timer",
        "email": "old@pmp.example",
        "active": "0",
    },
    {"staffid": "7", "firstname": "Twin", "lastname": "A", "email": "twin@pmp.example"},
    {"staffid": "8", "firstname": "Twin", "lastname": "B", "email": "twin@pmp.example"},
    {"staffid": "9", "firstname": "Plus", "lastname": "Sign", "email": "plus+ops@pmp.example"},
]


class StaffPmp:
    """A PMP answering staff requests from STAFF (LIKE %term% on names and e-mail), or 403."""

    def __init__(self) -> None:
        self.refuse = False
        self.slow = False
        self.paths: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/")
        self.paths.append(path)
        if self.slow:
            raise httpx.ReadTimeout("slow", request=request)
        if self.refuse:
            return json_response(403, {"status": False, "message": "no permission"})
        if path == "staffs":
            return json_response(200, STAFF)
        if "%2B" in request.url.raw_path.decode():
            # A web server whose URL rules refuse "+" in a path: an HTML page.
            return html_response(403)
        if path.startswith("staffs/search/"):
            term = path.removeprefix("staffs/search/").casefold()
            rows = [
                row
                for row in STAFF
                if any(term in str(value).casefold() for value in row.values())
                or term in f"{row['firstname']} {row['lastname']}".casefold()
            ]
            return json_response(200, rows) if rows else json_response(404, NO_DATA)
        if path.startswith("staffs/"):
            wanted = path.removeprefix("staffs/")
            row = next((r for r in STAFF if r["staffid"] == wanted), None)
            return json_response(200, row) if row else json_response(404, NO_DATA)
        raise AssertionError(path)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def setup(
    db: Database, cipher: TokenCipher, make_client: ClientFactory
) -> tuple[StaffDirectory, PmpClient, StaffPmp, Clock]:
    for key in (KEY, OTHER):
        await WorkspaceStore(db, cipher).save_credentials(key.team_id, None, ROOT, "tok", "U0")
    pmp_fake = StaffPmp()
    client = make_client(FakePmp(pmp_fake), api_version=2, max_retries=0)
    clock = Clock()
    return StaffDirectory(StaffLinkStore(db), clock=clock), client, pmp_fake, clock


Setup = tuple[StaffDirectory, PmpClient, StaffPmp, Clock]


async def test_matched_by_email_then_stored(setup: Setup) -> None:
    directory, pmp, fake, _ = setup
    asked: list[str] = []

    async def email() -> str | None:
        asked.append("users.info")
        return "maria@pmp.example"

    link = await directory.staff_for_user(pmp, KEY, "U1", email)
    assert link == StaffLink(
        StaffMember(id=2, name="Maria Garcia", email="Maria@PMP.example", active=True), "email"
    )
    fake.paths.clear()
    again = await directory.staff_for_user(pmp, KEY, "U1", email)
    assert again is not None and again.staff.id == 2 and again.source == "email"
    assert fake.paths == [] and asked == ["users.info"]  # stored: neither PMP nor Slack asked
    assert await directory.staff_for_user(pmp, OTHER, "U1", None) is None  # per workspace


@pytest.mark.parametrize(
    ("email", "reason"),
    [
        (None, "no_email"),
        ("  ", "no_email"),
        ("nobody@pmp.example", "no_staff"),
        ("old@pmp.example", "inactive"),
        ("twin@pmp.example", "several"),
        ("maria@pmp.exam", "no_staff"),  # PMP's LIKE finds Maria; the e-mail isn't hers
    ],
)
async def test_no_match_says_why(setup: Setup, email: str | None, reason: str) -> None:
    directory, pmp, _, _ = setup
    found = await directory.match_user(pmp, KEY, "U1", email)
    assert isinstance(found, NoStaffMatch) and found.reason == reason
    assert await directory.stored_link(pmp, KEY, "U1") is None


async def test_admin_sets_and_removes_a_link(setup: Setup) -> None:
    directory, pmp, _, _ = setup
    link = await directory.set_link(pmp, KEY, "U1", 3, set_by="UADMIN")
    assert (link.staff.name, link.source) == ("Tom Becker", "admin")
    # The admin's link wins over the e-mail match.
    assert (await directory.staff_for_user(pmp, KEY, "U1", "maria@pmp.example")) == link
    listed = await directory.links(pmp, KEY)
    assert [(row.slack_user_id, row.link.staff.id, row.set_by) for row in listed] == [
        ("U1", 3, "UADMIN")
    ]
    with pytest.raises(PmpNotFoundError):
        await directory.set_link(pmp, KEY, "U1", 99, set_by="UADMIN")
    assert await directory.remove_link(KEY, "U1") is True
    assert await directory.remove_link(KEY, "U1") is False
    assert await directory.links(pmp, KEY) == []


async def test_a_link_to_another_pmp_is_not_used(setup: Setup, make_client: ClientFactory) -> None:
    directory, pmp, fake, _ = setup
    await directory.set_link(pmp, KEY, "U1", 3, set_by="UADMIN")
    other_pmp = make_client(FakePmp(fake), base_url="https://other.example.com", api_version=2)
    assert await directory.stored_link(other_pmp, KEY, "U1") is None
    assert await directory.links(other_pmp, KEY) == []
    link = await directory.staff_for_user(other_pmp, KEY, "U1", "tom@pmp.example")
    assert link is not None and link.source == "email"  # matched again on the new PMP


async def test_search_for_pickers(setup: Setup) -> None:
    directory, pmp, fake, clock = setup
    found = await directory.search(pmp, "  o ")
    assert isinstance(found, list)
    # Active first ("Old Timer" is deactivated), then by name.
    assert [m.id for m in found] == [9, 3, 6]
    assert await directory.search(pmp, " ") == []
    fake.paths.clear()
    await directory.search(pmp, "O")  # kept: PMP isn't asked again for the same term
    assert fake.paths == []
    clock.now += SEARCH_TTL_S
    await directory.search(pmp, "o")
    assert fake.paths == ["staffs/search/o"]
    assert directory.known_name(pmp, 3) == "Tom Becker"


async def test_a_token_that_may_not_read_staff(setup: Setup) -> None:
    directory, pmp, fake, clock = setup
    fake.refuse = True
    assert directory.can_list(pmp)
    assert isinstance(await directory.search(pmp, "maria"), StaffUnavailable)
    assert not directory.can_list(pmp)
    found = await directory.match_user(pmp, KEY, "U1", "maria@pmp.example")
    assert found == NoStaffMatch("unavailable", "maria@pmp.example")
    with pytest.raises(PmpAuthError) as raised:
        await directory.set_link(pmp, KEY, "U1", 2, set_by="UADMIN")
    assert "staff permission" in raised.value.user_message
    assert isinstance(await directory.find(pmp, "2"), StaffUnavailable)
    assert await directory.names(pmp, [2]) == {}
    fake.refuse = False
    clock.now += UNAVAILABLE_TTL_S  # asked again after a while: the permission was granted
    assert directory.can_list(pmp)
    assert await directory.names(pmp, [2, 3]) == {2: "Maria Garcia", 3: "Tom Becker"}


async def test_find_what_an_admin_typed(setup: Setup) -> None:
    directory, pmp, _, _ = setup

    def ids(found: Any) -> list[int]:
        assert isinstance(found, list)
        return [m.id for m in found]

    assert ids(await directory.find(pmp, "#3")) == [3]
    assert ids(await directory.find(pmp, "99")) == []
    assert ids(await directory.find(pmp, "maria garcia")) == [2]
    assert ids(await directory.find(pmp, "TOM@pmp.example")) == [3]
    assert ids(await directory.find(pmp, "twin")) == [7, 8]
    assert ids(await directory.find(pmp, "zzz")) == []


async def test_pmp_failures_are_raised(setup: Setup) -> None:
    directory, pmp, fake, _ = setup
    fake.slow = True
    with pytest.raises(PmpTimeoutError):
        await directory.search(pmp, "maria")
    with pytest.raises(PmpTimeoutError):
        await directory.staff_for_user(pmp, KEY, "U1", "maria@pmp.example")
    assert directory.can_list(pmp)
    assert await directory.names(pmp, [2]) == {}  # names never fail


async def test_forms_ask_once_whether_staff_can_be_listed(setup: Setup) -> None:
    directory, pmp, fake, clock = setup
    assert await directory.can_list_now(pmp)
    assert fake.paths == ["staffs/2147483647"]  # a staff id no PMP has: one cheap read
    assert await directory.can_list_now(pmp)
    assert len(fake.paths) == 1  # answered from memory
    clock.now += SEARCH_TTL_S
    fake.refuse = True
    assert not await directory.can_list_now(pmp)
    assert not directory.can_list(pmp)
    fake.refuse, fake.slow = False, True
    clock.now += UNAVAILABLE_TTL_S
    assert await directory.can_list_now(pmp)  # PMP failing otherwise: the pickers say so


async def test_an_email_the_web_server_refuses_to_search_is_found_in_the_list(
    setup: Setup,
) -> None:
    directory, pmp, fake, _ = setup
    link = await directory.staff_for_user(pmp, KEY, "U1", "Plus+Ops@pmp.example")
    assert link is not None and link.staff.id == 9
    assert fake.paths[-1] == "staffs"
