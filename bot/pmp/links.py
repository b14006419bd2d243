"""PMP site addresses: normalising the root a user types, and web links to records."""

from __future__ import annotations

from typing import Literal

import httpx

RecordKind = Literal["customer", "lead", "project", "milestone", "ticket"]

_RECORD_PATHS: dict[str, str] = {
    "customer": "admin/clients/client/{id}",
    "lead": "admin/leads/index/{id}",
    "project": "admin/projects/view/{id}",
    "milestone": "admin/projects/view/{project_id}?group=project_milestones",
    "ticket": "admin/tickets/ticket/{id}",
}


def normalise_base_url(url: str) -> str:
    """The PMP site root without a trailing slash, from what a user typed.

    Tolerates surrounding spaces, a trailing ``/`` and a trailing ``/api``; a bare host gets
    ``https://``. Raises ValueError for anything that is not an http(s) address.
    """
    text = url.strip()
    if not text:
        raise ValueError("the PMP address is empty")
    if "://" not in text:
        text = f"https://{text}"
    try:
        parsed = httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise ValueError("the PMP address is not a valid web address") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError("the PMP address must be an http(s) web address")
    if parsed.userinfo:
        # The root is shown and stored in plain text, so it must not carry a password.
        raise ValueError("leave the user name and password out of the PMP address")
    path = parsed.path.rstrip("/")
    if path.lower().endswith("/api"):
        path = path[: -len("/api")].rstrip("/")
    return str(parsed.copy_with(path=path or "/", query=None, fragment=None)).rstrip("/")


def display_site(root: str) -> str:
    """The site as a user would name it: ``crm.example.com`` or ``example.com/crm``."""
    parsed = httpx.URL(root)
    port = f":{parsed.port}" if parsed.port is not None else ""
    return f"{parsed.host}{port}{parsed.path.rstrip('/')}"


def record_url(root: str, kind: RecordKind, id: int, project_id: int | None = None) -> str:
    """The PMP admin page of a record. A milestone's page is its project's milestone tab, so
    it needs ``project_id``."""
    if kind not in _RECORD_PATHS:
        raise ValueError(f"PMP has no web page for a {kind!r}")
    if kind == "milestone" and project_id is None:
        raise ValueError("a milestone's link needs its project_id")
    path = _RECORD_PATHS[kind].format(id=int(id), project_id=project_id)
    return f"{normalise_base_url(root)}/{path}"


def record_page(
    base_url: str, kind: RecordKind, record_id: int, project_id: int | None
) -> str | None:
    """The record's page in PMP; None when it has none (a milestone without its project, an
    unusable base URL)."""
    try:
        return record_url(base_url, kind, record_id, project_id=project_id)
    except ValueError:
        return None
