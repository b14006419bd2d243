"""`/pmp staff …` as Slack sends it (mentions escaped as `<@U123|name>`, e-mails as mailto
links, `&amp;` for &)."""

from __future__ import annotations

import pytest

from bot.grammar import CommandAction, StaffRequest, parse


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("staff", StaffRequest("show")),
        ("STAFF   ", StaffRequest("show")),
        ("staff list", StaffRequest("list")),
        ("staff all", StaffRequest("list")),
        ("staff <@U0001M|sam>", StaffRequest("show", "U0001M")),
        ("staff <@U0001M|sam> Maria Garcia", StaffRequest("set", "U0001M", "Maria Garcia")),
        ("staff <@W12AB> #7", StaffRequest("set", "W12AB", "#7")),
        ("staff <@U1X2> “Liam O'Brien”", StaffRequest("set", "U1X2", "Liam O'Brien")),
        ("staff <@U1X2> R&amp;D Team", StaffRequest("set", "U1X2", "R&D Team")),
        (
            "staff <@U1X2> <mailto:maria@pmp.example|maria@pmp.example>",
            StaffRequest("set", "U1X2", "maria@pmp.example"),
        ),
        ("staff <@U1X2> none", StaffRequest("unset", "U1X2")),
        ("staff <@U1X2> Remove", StaffRequest("unset", "U1X2")),
        ("staff @sam Maria", StaffRequest("set", None, "Maria", unresolved_user="sam")),
        ("staff @sam", StaffRequest("show", None, unresolved_user="sam")),
    ],
)
def test_staff_commands(text: str, expected: StaffRequest) -> None:
    command = parse(text)
    assert command.action is CommandAction.STAFF
    assert command.problem is None
    assert command.staff == expected


@pytest.mark.parametrize("text", ["staff maria", "staff 7", "staff <#C123|general> x"])
def test_a_person_must_be_mentioned(text: str) -> None:
    command = parse(text)
    assert command.action is CommandAction.STAFF and command.staff is None
    assert command.problem and "Mention the person with @" in command.problem


def test_help_has_a_staff_topic() -> None:
    assert parse("help staff").topic == "staff"
    assert parse("help staf").suggestion == "help staff"
