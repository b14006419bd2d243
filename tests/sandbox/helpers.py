"""Assertions shared by the sandbox tests."""

from __future__ import annotations

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
