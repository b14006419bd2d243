"""Fixtures for PMP client tests: a scripted fake PMP behind httpx.MockTransport."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from bot.pmp import PmpClient

TOKEN = "tok.SECRET-abc123.xyz"
ROOT = "https://crm.example.com"

Handler = Callable[[httpx.Request], httpx.Response]


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={"content-type": "application/json", **(headers or {})},
    )


def html_response(
    status: int, text: str = "<html><body><h1>Error</h1></body></html>"
) -> httpx.Response:
    return httpx.Response(status, content=text.encode(), headers={"content-type": "text/html"})


NO_DATA = {"status": False, "message": "No data were found"}


class FakePmp:
    """Answers each request with the next scripted reply (a response, an exception to raise,
    or a function of the request) and records every request it saw."""

    def __init__(self, *replies: httpx.Response | Exception | Handler) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.replies:
            raise AssertionError(f"unexpected extra request {request.method} {request.url}")
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, httpx.Response):
            return reply
        return reply(request)

    def push(self, replies: Iterable[httpx.Response | Exception | Handler]) -> None:
        self.replies.extend(replies)

    @property
    def methods(self) -> list[str]:
        return [request.method for request in self.requests]


class ClientFactory:
    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.clients: list[PmpClient] = []

    async def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def __call__(
        self, fake: FakePmp, *, api_version: int | None = None, **options: Any
    ) -> PmpClient:
        """A client of ``fake``; ``api_version`` makes it know the module version already
        (so a search term with a space doesn't make it ask first)."""
        options.setdefault("base_url", ROOT)
        client = PmpClient(
            token=TOKEN,
            transport=httpx.MockTransport(fake),
            sleep=self._sleep,
            **options,
        )
        if api_version is not None:
            client.note_api_version(api_version)
        self.clients.append(client)
        return client


@pytest.fixture
async def make_client() -> AsyncIterator[ClientFactory]:
    factory = ClientFactory()
    yield factory
    for client in factory.clients:
        await client.aclose()


def connect_error(message: str = "connection refused") -> httpx.ConnectError:
    return httpx.ConnectError(message)


def form_fields(request: httpx.Request) -> dict[str, list[str]]:
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    return parse_qs(request.content.decode(), keep_blank_values=True)


def json_body(request: httpx.Request) -> Any:
    assert request.headers["content-type"] == "application/json"
    return json.loads(request.content)


# Records as a 2.0.8 server sends them (every scalar a string or null).
CUSTOMER_ROW: dict[str, Any] = {
    "userid": "3",
    "company": "Jk Technologies",
    "vat": "1234567890",
    "phonenumber": "1234567890",
    "country": "102",
    "city": "Test City",
    "zip": "123456",
    "state": "Test State",
    "address": "Test Address",
    "website": "https://jkdot.com",
    "datecreated": "2019-11-29 12:34:56",
    "active": "1",
    "leadid": None,
    "billing_street": "",
    "billing_city": "",
    "billing_state": "",
    "billing_zip": "",
    "billing_country": "0",
    "shipping_street": "",
    "shipping_city": "",
    "shipping_state": "",
    "shipping_zip": "",
    "shipping_country": "0",
    "longitude": None,
    "latitude": None,
    "default_language": "english",
    "default_currency": "3",
    "show_primary_contact": "0",
    "stripe_id": None,
    "registration_confirmed": "1",
    "addedfrom": "8",
}

TICKET_ROW: dict[str, Any] = {
    "ticketid": "7",
    "id": "4",
    "adminreplying": "0",
    "userid": "5",
    "contactid": "4",
    "email": None,
    "name": "Trung bình",
    "department": "1",
    "priority": "2",
    "status": "1",
    "service": "1",
    "ticketkey": "8ef33d61bb0f26cd158d56cc18b71c02",
    "subject": "Ticket ER",
    "message": "Ticket ER",
    "admin": "5",
    "date": "2019-04-10 03:08:21",
    "project_id": "5",
    "lastreply": None,
    "clientread": "0",
    "adminread": "1",
    "assigned": "5",
    "department_name": "Support",
    "priority_name": "Medium",
    "status_name": "Open",
    "service_name": "Hosting",
}

PROJECT_ROW: dict[str, Any] = {
    "id": "28",
    "name": "Test1",
    "description": None,
    "status": "1",
    "clientid": "11",
    "billing_type": "3",
    "start_date": "2019-04-19",
    "deadline": "2019-08-30",
    "project_created": "2019-07-16",
    "date_finished": None,
    "progress": "0",
    "progress_from_tasks": "1",
    "project_cost": "0.00",
    "project_rate_per_hour": "0.00",
    "estimated_hours": "0.00",
    "addedfrom": "5",
}

MILESTONE_ROW: dict[str, Any] = {
    "id": "5",
    "name": "MIlestone A",
    "description": "",
    "description_visible_to_customer": "0",
    "due_date": "2019-09-30",
    "project_id": "2",
    "color": None,
    "milestone_order": "1",
    "datecreated": "2019-07-19",
    "total_tasks": "0",
    "total_finished_tasks": "0",
}

LEAD_ROW: dict[str, Any] = {
    "id": "17",
    "hash": "c6e938f8b7a40b1bcfd98dc04f6eeee0-60d9c039da373a685fc0f74d4bfae631",
    "name": "Lead name",
    "contact": "",
    "title": "",
    "company": "Themesic Interactive",
    "description": "",
    "country": "243",
    "zip": None,
    "city": "London",
    "state": "London",
    "address": "1 Silk Point",
    "assigned": "5",
    "dateadded": "2019-07-18 08:59:28",
    "from_form_id": "0",
    "status": "2",
    "source": "4",
    "lastcontact": "2019-07-20 10:00:00",
    "email": "lead@example.com",
    "website": "",
    "phonenumber": "123",
    "is_public": "1",
    "default_language": "english",
    "client_id": "0",
    "lost": "0",
    "junk": "0",
    "status_name": "Customer",
}

CONTACT_ROW: dict[str, Any] = {
    "id": "4",
    "userid": "3",
    "is_primary": "1",
    "firstname": "Ana",
    "lastname": "Lopez",
    "email": "ana@example.com",
    "phonenumber": "",
    "title": None,
    "datecreated": "2020-01-02 03:04:05",
    "active": "1",
    "password": "$2a$08$abcdefghijklmnopqrstuv",
    "new_pass_key": "k",
}


class Routes:
    """A fake PMP that answers by method and path, e.g. ``{("GET", "/api/leads/17"): reply}``
    (a response or a function of the request); use it as ``FakePmp(Routes({...}))`` to record
    the requests. Anything else is a test failure."""

    def __init__(self, routes: dict[tuple[str, str], httpx.Response | Handler]) -> None:
        self.routes = routes

    def __call__(self, request: httpx.Request) -> httpx.Response:
        reply = self.routes.get((request.method, request.url.path))
        if reply is None:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        return reply if isinstance(reply, httpx.Response) else reply(request)


OK = {"status": True, "message": "ok"}

# A project's settings as GET api/projects/<id> shows them: some on, some off, and the tabs
# as PHP serialize()d them (project_gantt and project_files off).
PROJECT_SETTINGS: dict[str, Any] = {
    "available_features": (
        'a:4:{s:16:"project_overview";i:1;s:13:"project_gantt";i:0;'
        's:13:"project_tasks";i:1;s:13:"project_files";i:0;}'
    ),
    "view_tasks": "1",
    "create_tasks": "0",
    "view_milestones": "1",
    "hide_tasks_on_main_tasks_table": "0",
}

# One project as its own GET answers it: the list row plus its settings.
PROJECT_ANSWER: dict[str, Any] = {**PROJECT_ROW, "settings": PROJECT_SETTINGS}

# A ticket's row in the ticket search: tbltickets joined with its department (whose `name`,
# `email`, IMAP login and password override the ticket's), its customer and its contact
# (whose `id` overrides). No aliased names (department_name, status_name...).
TICKET_SEARCH_ROW: dict[str, Any] = {
    "ticketid": "7",
    "adminreplying": "0",
    "userid": "5",
    "contactid": "4",
    "merged_ticket_id": None,
    "name": "Support",
    "department": "1",
    "priority": "2",
    "status": "1",
    "service": "1",
    "ticketkey": "8ef33d61bb0f26cd158d56cc18b71c02",
    "subject": "Ticket ER",
    "message": "Ticket ER",
    "admin": "5",
    "date": "2019-04-10 03:08:21",
    "project_id": "5",
    "lastreply": None,
    "clientread": "0",
    "adminread": "1",
    "assigned": "5",
    "cc": "boss@example.com",
    "departmentid": "1",
    "imap_username": "support@example.com",
    "email_from_header": "0",
    "host": "imap.example.com",
    "password": "imap-secret-pw",
    "encryption": "ssl",
    "folder": "INBOX",
    "delete_after_import": "0",
    "calendar_id": None,
    "hidefromclient": "0",
    "company": "Jk Technologies",
    "id": "4",
    "is_primary": "1",
    "firstname": "Ana",
    "lastname": "Lopez",
    "email": "ana@example.com",
    "new_pass_key": None,
    "email_verification_key": None,
    "customfields": [],
}
