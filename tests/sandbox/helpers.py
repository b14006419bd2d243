"""Assertions shared by the sandbox tests."""

from __future__ import annotations

import re
from typing import Any

import httpx


def assert_strings_only(value: Any, where: str = "body") -> None:
    """Every scalar inside a PMP record is a string or null, as PHP's MySQL driver returns."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str)
            assert_strings_only(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            assert_strings_only(item, f"{where}[{index}]")
    else:
        assert value is None or isinstance(value, str), f"{where} is {value!r}"


def assert_json(response: httpx.Response, status: int) -> Any:
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    return response.json()


def assert_failure(response: httpx.Response, status: int, message: str | None) -> None:
    assert assert_json(response, status) == {"status": False, "message": message}


def assert_html(response: httpx.Response, status: int, text: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert text in response.text


def by_key(records: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {record[key]: record for record in records}


def php_unserialize_flags(text: str) -> dict[str, int]:
    """Read a PHP-serialized array of names => ints (how PMP stores ``available_features``)."""
    match = re.fullmatch(r"a:(\d+):\{(.*)\}", text, re.DOTALL)
    assert match, text
    items = re.findall(r's:(\d+):"([^"]*)";i:(-?\d+);', match.group(2))
    assert all(int(length) == len(name.encode()) for length, name, _ in items), text
    assert len(items) == int(match.group(1)), text
    return {name: int(value) for _, name, value in items}


def ticket_row(api: httpx.Client, key: int | str) -> dict[str, Any]:
    """A ticket as 2.0.8 can give it: its row of the ticket list (GET of one ticket fails)."""
    tickets = assert_json(api.get("/api/tickets"), 200)
    return next(ticket for ticket in tickets if ticket["ticketid"] == str(key))
