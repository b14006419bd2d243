"""PMP site addresses: normalising the root a user types, and web links to records."""

from __future__ import annotations

import functools
from dataclasses import dataclass
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


# Kept per text: every link of every card and result row starts from the workspace's root,
# and parsing it costs more than the rest of a result row.
@functools.lru_cache(maxsize=1024)
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


@functools.lru_cache(maxsize=1024)
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


# ------------------------------------------------------------------ reading a pasted link back


@dataclass(frozen=True, slots=True)
class PageLink:
    """What a PMP page link shows. For ``milestone`` it is a project's milestones tab (PMP has
    no page of one milestone, so a milestone's link is its project's tab): ``id`` is then the
    project's id."""

    kind: RecordKind
    id: int


# The pages record_url builds, read back: the path after the site root, up to the id.
_PAGE_PREFIXES: tuple[tuple[str, RecordKind], ...] = (
    ("admin/clients/client/", "customer"),
    ("admin/leads/index/", "lead"),
    ("admin/projects/view/", "project"),
    ("admin/tickets/ticket/", "ticket"),
)
_MILESTONES_TAB = "project_milestones"
_ID_DIGITS_MAX = 18
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _site_parts(url: httpx.URL) -> tuple[str, str, int | None]:
    port = url.port if url.port is not None else _DEFAULT_PORTS.get(url.scheme)
    return url.scheme, url.host.lower(), port


def parse_record_url(base_url: str, url: str) -> PageLink | None:
    """The record a pasted link opens in the PMP at ``base_url``, or None when the link is not
    a record page of exactly that PMP (another scheme, host, port or path prefix; another
    page; a link carrying a user name or password)."""
    try:
        root = httpx.URL(normalise_base_url(base_url))
        # Slack keeps `&` escaped in some places; a record page's query has no other entity.
        link = httpx.URL(url.strip().replace("&amp;", "&"))
    except (ValueError, httpx.InvalidURL):
        return None
    if link.userinfo or not link.host or _site_parts(link) != _site_parts(root):
        return None
    prefix = root.path.rstrip("/") + "/"
    path = link.path
    if not path.startswith(prefix):
        return None
    rest = path[len(prefix) :]
    rest = rest[:-1] if rest.endswith("/") else rest
    for page, kind in _PAGE_PREFIXES:
        if not rest.startswith(page):
            continue
        number = rest[len(page) :]
        if not (number.isascii() and number.isdigit() and len(number) <= _ID_DIGITS_MAX):
            return None
        record_id = int(number)
        if record_id <= 0:
            return None
        if kind == "project" and link.params.get("group") == _MILESTONES_TAB:
            return PageLink("milestone", record_id)
        return PageLink(kind, record_id)
    return None
