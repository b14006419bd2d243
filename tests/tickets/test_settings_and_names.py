"""Ticket names: learned from ticket records, merged with saved settings, and the settings
form's `id = name` lines."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.blocks.settings_form import build_ticket_settings_modal, read_settings
from bot.learned_names import LearnedTicketNames
from bot.names import TicketSettings
from bot.pmp import Ticket
from bot.tickets import (
    MAX_CHOICES,
    SETTING_NAME_MAX,
    parse_settings_text,
    settings_note,
    settings_prefill,
    settings_text,
    ticket_choices,
)
from tests.tickets.helpers import submitted, typed

SITE = "https://crm.example.com"


def ticket(ticket_id: int, **fields: str | None) -> Ticket:
    return Ticket.from_wire({"ticketid": str(ticket_id), "subject": "x", **fields})


def test_names_are_learned_from_ticket_records() -> None:
    learned = LearnedTicketNames()
    learned.learn(
        SITE,
        [
            ticket(
                1,
                department="2",
                department_name="Sales",
                priority="3",
                priority_name="High",
                service="1",
                service_name="Hosting &amp; domains",
                status="4",
                status_name="  On   Hold ",
            ),
            # Search rows carry ids without names; 0 means "none" in PMP.
            ticket(2, department="3", priority="0", priority_name="None"),
        ],
    )
    names = learned.names(SITE)
    assert dict(names.departments) == {2: "Sales"}
    assert dict(names.priorities) == {3: "High"}
    assert dict(names.services) == {1: "Hosting & domains"}
    assert dict(names.statuses) == {4: "On Hold"}


def test_learned_names_are_kept_per_pmp_site() -> None:
    learned = LearnedTicketNames(max_sites=2)
    learned.learn("https://a.example", [ticket(1, department="1", department_name="A-Support")])
    learned.learn("https://b.example", [ticket(1, department="1", department_name="B-Support")])
    assert dict(learned.names("https://a.example").departments) == {1: "A-Support"}
    assert dict(learned.names("https://b.example").departments) == {1: "B-Support"}
    assert learned.names("https://c.example") == TicketSettings()

    # The least recently used site goes first when there are too many.
    learned.names("https://a.example")
    learned.learn("https://c.example", [ticket(1, department="1", department_name="C")])
    assert learned.names("https://b.example") == TicketSettings()
    assert dict(learned.names("https://a.example").departments) == {1: "A-Support"}


def test_a_renamed_id_is_updated_and_the_list_stays_within_a_menu() -> None:
    learned = LearnedTicketNames()
    learned.learn(SITE, [ticket(1, department="1", department_name="Old")])
    learned.learn(SITE, [ticket(2, department="1", department_name="New")])
    assert dict(learned.names(SITE).departments) == {1: "New"}
    many = [ticket(i, department=str(i), department_name=f"D{i}") for i in range(2, 300)]
    learned.learn(SITE, many)
    assert len(learned.names(SITE).departments) == MAX_CHOICES


def test_form_choices_come_from_settings_then_learned_names_then_defaults() -> None:
    choices = ticket_choices(TicketSettings(), TicketSettings(services={2: "Web"}))
    assert [(c.value, c.label) for c in choices.priorities] == [
        ("1", "Low"),
        ("2", "Medium"),
        ("3", "High"),
    ]
    assert choices.default_priority == "2"
    assert choices.departments == ()
    assert [(c.value, c.label) for c in choices.services] == [("2", "Web")]

    custom = ticket_choices(TicketSettings(priorities={5: "Urgent"}), TicketSettings())
    assert [c.label for c in custom.priorities] == ["Urgent"]
    assert custom.default_priority is None

    # Once admins name departments, the names they left out stay out.
    named = ticket_choices(
        TicketSettings(departments={1: "Helpdesk"}),
        TicketSettings(departments={1: "Support", 3: "Billing"}, priorities={4: "Urgent"}),
    )
    assert [(c.value, c.label) for c in named.departments] == [("1", "Helpdesk")]
    assert [c.label for c in named.priorities] == ["Urgent"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 = Support\n2=Sales", {1: "Support", 2: "Sales"}),
        ("  3 :  Billing  team \n\n#4 = Legal", {3: "Billing team", 4: "Legal"}),
        ("", {}),
        (None, {}),
        ("5 = A = B", {5: "A = B"}),
        # Typed on one line, as in a one-line input: still one entry each.
        ("1 = Support, 2 = Sales, 3 = Billing", {1: "Support", 2: "Sales", 3: "Billing"}),
        ("1 = Sales, Marketing and PR; 2: Ops", {1: "Sales, Marketing and PR", 2: "Ops"}),
    ],
)
def test_settings_lines_are_read(text: str | None, expected: dict[int, str]) -> None:
    assert parse_settings_text("departments", text) == (expected, "")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (
            "1 = Support\nSales",
            "Line 2 (“Sales”) should be a number, = and a name, like 1 = Support.",
        ),
        ("0 = None", "Line 1: ids are whole numbers from 1, like 1 = Support."),
        ("99999999999 = Huge", "Line 1: ids are whole numbers from 1, like 1 = Support."),
        ("1 =   ", "Line 1: give 1 a name, like 1 = Support."),
        ("1 = A\n\n1 = B", "Line 3: 1 already has a name on line 1."),
        ("1 = " + "x" * 76, f"Line 1: keep the name to {SETTING_NAME_MAX} characters."),
        ("-1 = Minus", "Line 1 (“-1 = Minus”) should be a number, = and a name, like 1 = Support."),
    ],
)
def test_bad_settings_lines_are_named(text: str, error: str) -> None:
    assert parse_settings_text("departments", text) == ({}, error)


def test_too_many_settings_lines_are_refused() -> None:
    text = "\n".join(f"{i} = N{i}" for i in range(1, 102))
    names, error = parse_settings_text("services", text)
    assert names == {}
    assert "100 lines" in error


names_maps = st.dictionaries(
    st.integers(min_value=1, max_value=2**31 - 1),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp", "Zs")),
        min_size=1,
        max_size=SETTING_NAME_MAX,
    ),
    max_size=30,
)


@given(names_maps)
def test_settings_text_reads_back_as_written(names: dict[int, str]) -> None:
    assert parse_settings_text("statuses", settings_text(names)) == (names, "")


def test_the_settings_form_reads_back_into_ticket_settings() -> None:
    view = build_ticket_settings_modal(TicketSettings.fresh_install())
    reading = read_settings(
        submitted(
            view,
            {
                "ticket_settings.departments": typed("1 = Support\n2 = Sales"),
                "ticket_settings.services": typed(None),
            },
        )
    )
    assert reading.errors == {}
    assert reading.settings == TicketSettings(
        departments={1: "Support", 2: "Sales"},
        priorities={1: "Low", 2: "Medium", 3: "High"},
        statuses={1: "Open", 2: "In progress", 3: "Answered", 4: "On Hold", 5: "Closed"},
    )


def test_each_bad_settings_input_gets_its_own_error() -> None:
    view = build_ticket_settings_modal(TicketSettings())
    reading = read_settings(
        submitted(
            view,
            {
                "ticket_settings.departments": typed("Support"),
                "ticket_settings.statuses": typed("1 = Open\n1 = Again"),
            },
        )
    )
    assert reading.settings is None
    assert set(reading.errors) == {"ticket_settings.departments", "ticket_settings.statuses"}
    assert reading.errors["ticket_settings.statuses"].startswith("Line 2:")


def test_the_settings_prefill_adds_learned_names_that_fit() -> None:
    saved = TicketSettings(departments={1: "Helpdesk"}, statuses={1: "Open"})
    learned = TicketSettings(departments={1: "Support", 2: "Sales"}, services={7: "Hosting"})
    prefill = settings_prefill(saved, learned)
    assert dict(prefill.settings.departments) == {1: "Helpdesk", 2: "Sales"}
    assert dict(prefill.settings.services) == {7: "Hosting"}
    assert prefill.overflowing == ()

    # Learned names are suggestions: they make room for the saved ones and no one is told.
    crowd = TicketSettings(services={i: "S" * 70 for i in range(1, 101)})
    prefill = settings_prefill(TicketSettings(services={500: "Saved"}), crowd)
    assert prefill.settings.services[500] == "Saved"
    assert len(settings_text(prefill.settings.services)) <= 3000
    assert prefill.overflowing == ()


def test_the_settings_note_explains_what_is_missing() -> None:
    assert settings_note(None, ()) is None
    note = settings_note("PMP didn't answer in time.", ("departments", "statuses"))
    assert note is not None
    assert "Couldn't read PMP's tickets" in note and "didn't answer in time" in note
    assert "Not all departments and statuses fit" in note
