"""The PMP client's staff methods (`pmp.staff`): rows become typed Staff records without any
secret PMP sends with them; 403 is a refused permission; 3.x searches go as ?q=."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bot.pmp import PmpAuthError, PmpNotFoundError, PmpValidationError
from bot.pmp.staff import Staff
from tests.pmp.conftest import NO_DATA, ClientFactory, FakePmp, json_response

# A row as PMP 2.0.8 sends it: the whole tblstaff row, secrets included.
STAFF_ROW: dict[str, Any] = {
    "staffid": "4",
    "email": "aiko.tanaka@pmp.example",
    "firstname": "Aiko",
    "lastname": "Tanaka &amp; Co",
    "facebook": "",
    "phonenumber": "+1 555 0104",
    "password": "$2a$08$ySLokLAM.AqmW9ZjY2YREO0CIrd5K4Td/Bpfp8d9QJamWNUfreQuK",
    "new_pass_key": "5f1d2a",
    "new_pass_key_requested": "2024-01-02 10:00:00",
    "two_factor_auth_code": "123456",
    "two_factor_auth_enabled": "1",
    "google_auth_secret": "JBSWY3DPEHPK3PXP",
    "last_ip": "203.0.113.9",
    "datecreated": "2019-02-25 09:11:31",
    "admin": "0",
    "active": "1",
    "is_not_staff": "0",
    "role": "1",
}


def test_a_staff_row_keeps_no_secret_and_converts_strings() -> None:
    staff = Staff.from_wire(STAFF_ROW)
    assert staff.id == 4
    assert staff.active is True and staff.admin is False and staff.is_not_staff is False
    assert staff.full_name == "Aiko Tanaka & Co"
    for secret in (
        "password",
        "new_pass_key",
        "two_factor_auth_code",
        "google_auth_secret",
        "last_ip",
        "two_factor_auth_enabled",
    ):
        assert secret not in staff.raw
    text = repr(staff) + str(staff.raw)
    assert "$2a$08$" not in text and "JBSWY3DPEHPK3PXP" not in text and "203.0.113.9" not in text


def test_display_name_falls_back_to_email_then_number() -> None:
    assert Staff.from_wire({"staffid": "7", "email": "x@y.z"}).display_name == "x@y.z"
    assert Staff.from_wire({"staffid": "7"}).display_name == "Staff #7"
    assert Staff.from_wire({"staffid": "7"}).is_active  # PMP left `active` out
    assert not Staff.from_wire({"staffid": "7", "active": "0"}).is_active


async def test_list_get_and_search(make_client: ClientFactory) -> None:
    fake = FakePmp(
        json_response(200, [STAFF_ROW, {**STAFF_ROW, "staffid": "5", "active": "0"}]),
        json_response(200, STAFF_ROW),
        json_response(200, [STAFF_ROW]),
        json_response(404, NO_DATA),
    )
    pmp = make_client(fake, api_version=2)
    listed = await pmp.staff.list()
    assert [(s.id, s.is_active) for s in listed] == [(4, True), (5, False)]
    assert (await pmp.staff.get("4")).email == "aiko.tanaka@pmp.example"
    assert [s.id for s in await pmp.staff.search("aiko.tanaka@pmp.example")] == [4]
    assert await pmp.staff.search("nobody") == []
    paths = [request.url.raw_path.decode() for request in fake.requests]
    assert paths == [
        "/api/staffs",
        "/api/staffs/4",
        "/api/staffs/search/aiko%2Etanaka%40pmp%2Eexample",
        "/api/staffs/search/nobody",
    ]


async def test_3x_searches_with_q_and_follows_pages(make_client: ClientFactory) -> None:
    def page(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params.get("page", "1"))
        rows = [{**STAFF_ROW, "staffid": str(number)}]
        return json_response(200, {"data": rows, "meta": {"current_page": number, "last_page": 2}})

    fake = FakePmp(page)
    pmp = make_client(fake, api_version=3)
    found = await pmp.staff.search("Tanaka & Co")
    assert [s.id for s in found] == [1, 2]
    assert fake.requests[0].url.path == "/api/staffs/search"
    assert fake.requests[0].url.params["q"] == "Tanaka & Co"


async def test_a_token_without_the_staff_permission_is_refused(make_client: ClientFactory) -> None:
    fake = FakePmp(json_response(403, {"status": False, "message": "Permission denied"}))
    pmp = make_client(fake, api_version=2)
    with pytest.raises(PmpAuthError) as raised:
        await pmp.staff.list()
    assert raised.value.status_code == 403


async def test_missing_staff_and_blank_terms(make_client: ClientFactory) -> None:
    fake = FakePmp(json_response(404, NO_DATA))
    pmp = make_client(fake, api_version=2)
    with pytest.raises(PmpNotFoundError):
        await pmp.staff.get(99)
    with pytest.raises(PmpValidationError):
        await pmp.staff.search("   ")
    with pytest.raises(ValueError):
        await pmp.staff.get(0)
    assert len(fake.requests) == 1
