"""Reading a pasted link back into the PMP record it opens (bot.pmp.links.parse_record_url):
only record pages of exactly the workspace's PMP."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.pmp.links import PageLink, parse_record_url, record_url

ROOT = "https://crm.example.com"
SUBPATH = "https://example.com/crm"


@pytest.mark.parametrize("base", [ROOT, SUBPATH, "http://10.0.0.5:8080/pmp", f"{ROOT}/api/"])
@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("customer", PageLink("customer", 3)),
        ("lead", PageLink("lead", 3)),
        ("project", PageLink("project", 3)),
        ("ticket", PageLink("ticket", 3)),
        # A milestone's page is its project's milestones tab: the link names the project.
        ("milestone", PageLink("milestone", 9)),
    ],
)
def test_every_page_a_card_links_to_reads_back(base: str, kind: Any, expected: PageLink) -> None:
    url = record_url(base, kind, 3, project_id=9)
    assert parse_record_url(base, url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://crm.example.com/admin/clients/client/3/",  # a trailing slash
        "https://CRM.Example.com/admin/clients/client/3",  # host names ignore case
        "https://crm.example.com:443/admin/clients/client/3",  # the default port, spelt out
        "https://crm.example.com/admin/clients/client/3?group=contacts#top",  # another tab
    ],
)
def test_the_same_page_written_differently_is_recognised(url: str) -> None:
    assert parse_record_url(ROOT, url) == PageLink("customer", 3)


@pytest.mark.parametrize(
    "url",
    [
        "http://crm.example.com/admin/clients/client/3",  # another scheme
        "https://crm.example.com:8443/admin/clients/client/3",  # another port
        "https://www.crm.example.com/admin/clients/client/3",  # another host
        "https://crm.example.com.evil.example/admin/clients/client/3",
        "https://evil.example/crm.example.com/admin/clients/client/3",
        "https://user:pw@crm.example.com/admin/clients/client/3",  # credentials in the link
        "https://crm.example.com/admin/clients/client/0",
        "https://crm.example.com/admin/clients/client/-3",
        "https://crm.example.com/admin/clients/client/3x",
        "https://crm.example.com/admin/clients/client/",
        "https://crm.example.com/admin/clients/client/1234567890123456789",  # 19 digits
        "https://crm.example.com/admin/clients/client/3/edit",
        "https://crm.example.com/admin/clients",  # a list, not a record
        "https://crm.example.com/admin/reports",
        "https://crm.example.com/other/admin/clients/client/3",
        "not a url",
        "",
    ],
)
def test_anything_else_is_not_a_record_of_this_pmp(url: str) -> None:
    assert parse_record_url(ROOT, url) is None


def test_a_pmp_under_a_path_matches_only_under_that_path() -> None:
    assert parse_record_url(SUBPATH, f"{SUBPATH}/admin/leads/index/4") == PageLink("lead", 4)
    assert parse_record_url(SUBPATH, "https://example.com/admin/leads/index/4") is None
    assert parse_record_url(SUBPATH, "https://example.com/crm2/admin/leads/index/4") is None
    assert parse_record_url(ROOT, f"{ROOT}/crm/admin/leads/index/4") is None


def test_an_unusable_base_url_matches_nothing() -> None:
    assert parse_record_url("", f"{ROOT}/admin/leads/index/4") is None
    assert (
        parse_record_url("ftp://crm.example.com", "ftp://crm.example.com/admin/leads/index/4")
        is None
    )


def test_slacks_escaped_ampersand_is_read_as_one() -> None:
    url = f"{ROOT}/admin/projects/view/2?foo=1&amp;group=project_milestones"
    assert parse_record_url(ROOT, url) == PageLink("milestone", 2)


@given(st.text(max_size=80))
def test_no_text_makes_the_parser_fail(text: str) -> None:
    result = parse_record_url(ROOT, text)
    assert result is None or result.id > 0
    assert parse_record_url(ROOT, ROOT + "/" + text) is None or text.startswith("admin/")
