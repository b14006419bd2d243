"""The PHP, CodeIgniter and MySQL behaviour the sandbox reproduces, tested on its own."""

from __future__ import annotations

import pytest

from bot.sandbox.phpish import (
    PhpFatalError,
    is_empty,
    module_value,
    nl2br,
    nl2br_save_html,
    parse_multipart,
    parse_urlencoded,
    php_string,
    strip_ticket_tags,
    to_sql_date,
    xss_clean,
)
from bot.sandbox.schema import Column
from bot.sandbox.store import canonical, escape_like, fold, mysql_like


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [
        ("Müller & Söhne", "Müller & Söhne"),
        ("A < B", "A &lt; B"),
        ("R&D <Labs> Ltd", "R&D <Labs> Ltd"),
        ("Help <!channel> now", "Help &lt;!channel> now"),
        ("ping <@U123>", "ping &lt;@U123>"),
        ("<script>alert(1)</script>", "&lt;script&gt;alert&#40;1&#41;&lt;/script&gt;"),
        ("Profile (old)", "Profile &#40;old&#41;"),
        ("100%25 Growth", "100% Growth"),
        ("50%off", "50%off"),
        ("tab\there", "tab here"),
        ('<b onclick="x()">hi</b>', "<b xss=removed>hi</b>"),
        ("see javascript:void", "see [removed]void"),
        ("<!-- note -->", "&lt;!-- note --&gt;"),
        ("<?php echo 1; ?>", "&lt;?php echo 1; ?&gt;"),
    ],
)
def test_xss_clean(text: str, cleaned: str) -> None:
    assert xss_clean(text) == cleaned


def test_form_bodies_follow_php_array_rules() -> None:
    parsed = parse_urlencoded(
        b"company=Acme&groups_in%5B%5D=1&groups_in%5B%5D=4&a.b=3&map%5Bk%5D=v&empty="
    )
    assert parsed == {
        "company": "Acme",
        "groups_in": ["1", "4"],
        "a_b": "3",
        "map": {"k": "v"},
        "empty": "",
    }
    body = (
        b'--XX\r\nContent-Disposition: form-data; name="company"\r\n\r\nM\xc3\xbcller\r\n'
        b'--XX\r\nContent-Disposition: form-data; name="ids[]"\r\n\r\n7\r\n'
        b'--XX\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\nhello\r\n--XX--\r\n"
    )
    assert parse_multipart(body, "multipart/form-data; boundary=XX") == {
        "company": "Müller",
        "ids": ["7"],
    }


@pytest.mark.parametrize(
    ("value", "empty"),
    [("", True), ("0", True), (0, True), (0.0, True), (None, True), ([], True), (False, True)],
)
def test_php_empty(value: object, empty: bool) -> None:
    assert is_empty(value) is empty  # type: ignore[arg-type]


def test_php_values_as_strings() -> None:
    assert [php_string(v) for v in (None, True, False, 5, 1.0, 1.5, "x", [1])] == [
        None,
        "1",
        "",
        "5",
        "1",
        "1.5",
        "x",
        "Array",
    ]
    assert module_value("0") == "" and module_value("on") == "on"


def test_dates() -> None:
    assert to_sql_date("2019-07-25") == "2019-07-25"
    assert to_sql_date("25/07/2019") == "2019-07-25"
    assert to_sql_date("31/02/2019") == "2019-03-03"  # PHP rolls impossible days over
    assert to_sql_date("") is None
    assert to_sql_date("25/07/2019 08:38:04", with_time=True) == "2019-07-25 08:38:04"
    assert to_sql_date("25/07/2019 08:38", with_time=True) == "2019-07-25 08:38:00"
    assert to_sql_date("2019-07-25", with_time=True) == "2019-07-25 00:00:00"
    for unparseable in ("07-25-2019", "tomorrow", "2019/07/25"):
        with pytest.raises(PhpFatalError):
            to_sql_date(unparseable)


def test_ticket_text_helpers() -> None:
    assert strip_ticket_tags("a <b>b</b> <Labs> <i>x</i> <!-- c --> d") == "a <b>b</b>  x  d"
    assert strip_ticket_tags("1 < 2") == "1 < 2"
    assert nl2br("a\nb\r\nc") == "a<br />\nb<br />\r\nc"
    assert nl2br_save_html("<p>a</p>\nb") == "<p>a</p>\nb<br />\n"


def test_mysql_storage_rules() -> None:
    integer = Column("n", "int", "0")
    assert [canonical(integer, v) for v in ("", "12abc", "3.7", "-2", "x", None)] == [
        "0",
        "12",
        "4",
        "-2",
        "0",
        "0",
    ]
    money = Column("m", "decimal", None)
    assert [canonical(money, v) for v in ("1500", "12.345", "", None)] == [
        "1500.00",
        "12.35",
        "0.00",
        None,
    ]
    day = Column("d", "date", None)
    assert [canonical(day, v) for v in ("2019-7-5", "2019-02-30", "x", "2019-07-05 10:00")] == [
        "2019-07-05",
        "0000-00-00",
        "0000-00-00",
        "2019-07-05",
    ]
    moment = Column("t", "datetime", None)
    assert canonical(moment, "2019-07-05") == "2019-07-05 00:00:00"


def test_like_under_a_ci_collation() -> None:
    assert fold("Zoë ÉCOLE") == "zoe ecole"
    assert mysql_like("Müller & Söhne GmbH", "%muller%")
    assert mysql_like("Acme", "ac_e")
    assert not mysql_like("Acme", "ac_")
    assert not mysql_like(None, "%")
    assert mysql_like("50% off", f"%{escape_like('50%')}%")
    assert not mysql_like("500 off", f"%{escape_like('50%')}%")
