"""The new-ticket form: reading a submitted modal into a draft, errors on the right blocks,
the view rebuilt from what was typed, and prefill from a Slack message."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.blocks.fields import SLOW_VALUE
from bot.blocks.ticket_forms import (
    CUSTOMER_BLOCK,
    SUBJECT_BLOCK,
    NewTicketForm,
    build_new_ticket_modal,
    form_from_view,
    new_ticket_form,
    pmp_field_errors,
    read_new_ticket,
)
from bot.names import Choice, TicketSettings
from bot.pmp import PmpValidationError
from bot.tickets import (
    MESSAGE_MAX,
    CustomerPeople,
    TicketDraft,
    plain_text_from_slack,
    prefill_from_message,
    subject_from_text,
    ticket_choices,
)
from tests.tickets.helpers import input_block_ids, picked, shown_values, submitted, typed

CHOICES = ticket_choices(
    TicketSettings(departments={1: "Support", 2: "Sales"}, services={4: "Hosting"}),
    TicketSettings(),
)
ACME = CustomerPeople(
    customer=Choice("3", "Acme Corporation"),
    contacts=(Choice("7", "Jane Doe · jane@acme.example"), Choice("8", "John Smith")),
    projects=(Choice("12", "Website"),),
    primary_contact="7",
)


def acme_form() -> NewTicketForm:
    return new_ticket_form(CHOICES, subject="Printer jammed").with_people(ACME)


def filled(form: NewTicketForm, **answers: dict[str, Any]) -> dict[str, Any]:
    base = {"ticket.department": picked("2", "Sales")}
    return submitted(build_new_ticket_modal(form), {**base, **answers})


def test_a_complete_form_reads_into_a_draft() -> None:
    view = filled(
        acme_form(),
        **{
            "ticket_3.contactid": picked("8", "John Smith"),
            "ticket_3.project_id": picked("12", "Website"),
            "ticket.service": picked("4", "Hosting"),
            "ticket.assigned": picked("5", "Liam O'Brien (#5)"),
            "ticket.message": typed("  It says PC LOAD LETTER.  "),
            "ticket.cc": typed("ops@acme.example; boss@acme.example, ops@acme.example"),
            "ticket.tags": typed("printer,  urgent , ,printer"),
        },
    )
    reading = read_new_ticket(view)
    assert reading.errors == {}
    assert reading.draft == TicketDraft(
        subject="Printer jammed",
        customer_id=3,
        contact_id=8,
        department=2,
        priority=2,  # Medium is chosen by default
        service=4,
        project_id=12,
        assigned=5,
        message="It says PC LOAD LETTER.",
        cc="ops@acme.example,boss@acme.example",
        tags=("printer", "urgent"),
    )


def test_the_primary_contact_is_chosen_and_optional_fields_stay_empty() -> None:
    reading = read_new_ticket(filled(acme_form()))
    assert reading.draft is not None
    assert reading.draft.contact_id == 7
    assert (reading.draft.project_id, reading.draft.service, reading.draft.message) == (
        None,
        None,
        None,
    )
    assert reading.draft.tags == ()


def test_missing_and_malformed_values_are_errors_on_their_blocks() -> None:
    view = filled(
        acme_form(),
        **{
            "ticket.subject": typed("   "),
            "ticket.department": picked("9", "Unknown"),
            "ticket.assigned": picked(SLOW_VALUE, "PMP is slow — keep typing"),
            "ticket.cc": typed("jane@acme.example, not-an-email"),
            "ticket.message": typed("x" * (MESSAGE_MAX + 1)),
        },
    )
    reading = read_new_ticket(view)
    assert reading.draft is None
    assert reading.errors == {
        SUBJECT_BLOCK: "Enter the subject.",
        "ticket.department": "Choose one of the listed department options.",
        "ticket.assigned": "Choose a staff member from the list.",
        "ticket.cc": "“not-an-email” isn't an email address, like jane@example.com.",
        "ticket.message": f"Keep it to {MESSAGE_MAX} characters (now {MESSAGE_MAX + 1}).",
    }


def test_the_assignee_is_a_number_when_pmp_wont_list_staff() -> None:
    form = acme_form().with_staff_numbers(True)
    view = filled(form, **{"ticket.assigned": typed("0")})
    assert read_new_ticket(view).errors == {"ticket.assigned": "Enter 1 or more."}
    view = filled(form, **{"ticket.assigned": typed("5")})
    reading = read_new_ticket(view)
    assert reading.draft is not None and reading.draft.assigned == 5
    assert "isn't allowed to list staff" in json.dumps(view)
    assert form_from_view(view).staff_numbers  # the mode travels in the modal


def test_switching_the_assignee_input_keeps_the_assignee() -> None:
    chosen = acme_form().with_staff_numbers(False)
    chosen = NewTicketForm(
        chosen.choices, {**chosen.values, "assigned": Choice("5", "Liam O'Brien (#5)")}
    )
    as_number = chosen.with_staff_numbers(True)
    assert as_number.values["assigned"] == "5"
    back = as_number.with_staff_numbers(False)
    assert back.values["assigned"] == Choice("5", "Staff #5")
    assert NewTicketForm(chosen.choices).with_staff_numbers(True).values["assigned"] is None


def test_a_customer_whose_contacts_have_not_loaded_is_refused() -> None:
    # The user picked another customer; the contacts shown are still Acme's.
    view = filled(acme_form(), **{CUSTOMER_BLOCK: picked("5", "Müller & Söhne")})
    reading = read_new_ticket(view)
    assert reading.draft is None
    assert "choose the customer again" in reading.errors[CUSTOMER_BLOCK]

    nothing_loaded = new_ticket_form(CHOICES, subject="x")
    view = filled(nothing_loaded, **{CUSTOMER_BLOCK: picked("3", "Acme Corporation")})
    assert "choose the customer again" in read_new_ticket(view).errors[CUSTOMER_BLOCK]


def test_the_slow_pmp_notice_is_not_a_customer() -> None:
    view = filled(
        new_ticket_form(CHOICES, subject="x"),
        **{CUSTOMER_BLOCK: picked(SLOW_VALUE, "PMP is slow — keep typing")},
    )
    assert read_new_ticket(view).errors[CUSTOMER_BLOCK] == "Choose a customer from the list."


def test_a_customer_without_contacts_cannot_get_a_ticket() -> None:
    lonely = CustomerPeople(customer=Choice("40", "Lonely Ltd"))
    view = filled(new_ticket_form(CHOICES, subject="x").with_people(lonely))
    assert "ticket.contactid" not in str(input_block_ids(view))
    errors = read_new_ticket(view).errors
    assert "no active contacts" in errors[CUSTOMER_BLOCK]


def test_departments_without_names_are_typed_as_numbers() -> None:
    choices = ticket_choices(TicketSettings(), TicketSettings())
    form = new_ticket_form(choices, subject="x").with_people(ACME)
    modal = build_new_ticket_modal(form)
    assert "Setup → Support → Departments" in str(modal.to_dict())  # where to look them up
    view = submitted(modal, {"ticket.department": typed("abc")})
    assert read_new_ticket(view).errors["ticket.department"] == "Enter a whole number, like 12."
    known = (Choice("3", "Billing"),)  # learned from PMP's tickets after the form opened
    view = submitted(modal, {"ticket.department": typed("3")})
    reading = read_new_ticket(view, known_departments=known)
    assert reading.draft is not None and reading.draft.department == 3


def test_an_unknown_department_is_sent_only_after_a_warning() -> None:
    choices = ticket_choices(TicketSettings(), TicketSettings())
    form = new_ticket_form(choices, subject="Printer jammed").with_people(ACME)
    known = (Choice("1", "Support"), Choice("2", "Sales"))
    view = submitted(build_new_ticket_modal(form), {"ticket.department": typed("99")})

    first = read_new_ticket(view, known_departments=known)
    assert first.draft is None and first.errors == {}
    assert first.to_confirm is not None
    notice = first.to_confirm.notice or ""
    assert "Department 99 isn't one pmp-bot knows of (1 Support, 2 Sales)" in notice
    assert "PMP hides tickets" in notice and "submit again" in notice

    # Shown again with everything typed; submitted unchanged, it goes to PMP.
    again = build_new_ticket_modal(first.to_confirm)
    assert shown_values(submitted(again))["ticket.department"] == "99"
    second = read_new_ticket(submitted(again), known_departments=known)
    assert second.to_confirm is None
    assert second.draft is not None and second.draft.department == 99
    assert second.draft.contact_id == 7 and second.draft.subject == "Printer jammed"

    # Another unknown number is asked about again.
    changed = submitted(again, {"ticket.department": typed("98")})
    assert read_new_ticket(changed, known_departments=known).to_confirm is not None


def test_with_no_department_known_the_warning_says_where_to_check() -> None:
    choices = ticket_choices(TicketSettings(), TicketSettings())
    form = new_ticket_form(choices, subject="x").with_people(ACME)
    view = submitted(build_new_ticket_modal(form), {"ticket.department": typed("4")})
    reading = read_new_ticket(view)
    assert reading.to_confirm is not None
    notice = reading.to_confirm.notice or ""
    assert "doesn't know PMP's department numbers yet" in notice
    assert "Setup → Support → Departments" in notice and "/pmp settings" in notice


def test_a_department_from_the_menu_needs_no_confirmation() -> None:
    reading = read_new_ticket(filled(acme_form()))
    assert reading.to_confirm is None and reading.draft is not None


def test_the_form_is_rebuilt_from_the_view_with_everything_typed() -> None:
    view = filled(
        acme_form(),
        **{
            "ticket_3.contactid": picked("8", "John Smith"),
            "ticket.message": typed("Line one\nLine two"),
            "ticket.tags": typed("a, b"),
        },
    )
    form = form_from_view(view)
    assert form.choices == CHOICES
    # The primary contact isn't in the view; the choice made is.
    assert form.people == CustomerPeople(ACME.customer, ACME.contacts, ACME.projects)
    assert form.people_values == {"contactid": "8", "project_id": None}
    assert form.values["message"] == "Line one\nLine two"
    assert form.values["userid"] == Choice("3", "Acme Corporation")
    # Built again, it shows the same values.
    again = submitted(build_new_ticket_modal(form))
    assert shown_values(again) == shown_values(view)


def test_pmp_field_errors_land_on_their_blocks() -> None:
    error = PmpValidationError(
        "refused",
        errors={
            "contactid": "The Contact field is required.",
            "department": "The Department field is required.",
            "custom_fields[x]": "Odd.",
            "subject": "Too long.",
        },
    )
    assert pmp_field_errors(error, acme_form()) == {
        "ticket_3.contactid": "The Contact field is required.",
        "ticket.department": "The Department field is required.",
        SUBJECT_BLOCK: "Odd. Too long.",
    }
    # Without the contact input, a contact error goes on the customer.
    assert pmp_field_errors(error, new_ticket_form(CHOICES))[CUSTOMER_BLOCK] == (
        "The Contact field is required."
    )


@pytest.mark.parametrize(
    ("slack", "plain"),
    [
        ("Fish &amp; chips &lt;3 &gt; 2", "Fish & chips <3 > 2"),
        ("&amp;lt; stays typed", "&lt; stays typed"),
        ("ping <@U123> in <#C9|general> <!here>", "ping @U123 in #general @here"),
        ("<@U123|jane> and <!subteam^S1|@ops>", "@jane and @ops"),
        (
            "see <https://x.example/a?b=1&amp;c=2|the docs>",
            "see the docs (https://x.example/a?b=1&c=2)",
        ),
        ("<https://x.example> <mailto:a@b.example|a@b.example>", "https://x.example a@b.example"),
        ("<!date^1392734382^{date}|Feb 18th>", "Feb 18th"),
    ],
)
def test_slack_text_is_unescaped_for_the_form(slack: str, plain: str) -> None:
    assert plain_text_from_slack(slack) == plain


def test_subjects_from_messages_are_cut_at_a_word() -> None:
    assert (
        subject_from_text("\n\n  Printer   jammed again\nDetails follow") == "Printer jammed again"
    )
    long = "The quarterly invoice export " + "fails with a timeout " * 10
    subject = subject_from_text(long)
    assert len(subject) <= 80
    assert subject.endswith("…")
    assert long.startswith(subject[:-1])
    assert subject_from_text("x" * 200).endswith("…")
    assert subject_from_text("") == ""


def test_a_message_prefills_subject_message_and_its_link() -> None:
    prefill = prefill_from_message(
        "Printer &amp; scanner down\n<@U1> can you look?", "https://t.slack.com/archives/C1/p1"
    )
    assert prefill.subject == "Printer & scanner down"
    assert prefill.message == (
        "Printer & scanner down\n@U1 can you look?\n\nFrom Slack: https://t.slack.com/archives/C1/p1"
    )
    huge = prefill_from_message("word " * 2000, "https://t.slack.com/archives/C1/p1")
    assert len(huge.message) <= MESSAGE_MAX
    assert huge.message.endswith("From Slack: https://t.slack.com/archives/C1/p1")
    assert prefill_from_message("", None).message == ""
    assert prefill_from_message("", "https://l").message == "From Slack: https://l"
