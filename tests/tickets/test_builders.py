"""Every ticket modal, built and checked against Slack's limits with to_dict()."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from slack_sdk.models.views import View

from bot.blocks.ids import TicketForm
from bot.blocks.settings_form import (
    build_settings_loading_modal,
    build_settings_saved_view,
    build_ticket_settings_modal,
)
from bot.blocks.ticket_forms import (
    CUSTOMER_BLOCK,
    SUBJECT_BLOCK,
    NewTicketForm,
    build_new_ticket_modal,
    build_ticket_done_view,
    build_ticket_loading_modal,
    build_ticket_problem_modal,
    build_ticket_retry_modal,
    head_spec,
    new_ticket_form,
)
from bot.names import Choice, TicketSettings
from bot.records import WriteOutcome
from bot.tickets import (
    SUBJECT_MAX,
    CustomerPeople,
    prefill_from_message,
    settings_prefill,
    ticket_choices,
)
from tests.blocks.helpers import LONG, NASTY, RAW_MARKERS, mrkdwn_texts
from tests.tickets.helpers import element_of, input_block_ids

CHOICES = ticket_choices(TicketSettings(departments={1: "Support"}), TicketSettings())


def check_view(view: View) -> dict[str, Any]:
    """to_dict() (which checks most limits) plus the limits and escaping it leaves out."""
    data = view.to_dict()
    assert data["type"] == "modal"
    assert 0 < len(data["blocks"]) <= 100
    for key in ("title", "submit", "close"):
        if key in data:
            assert 0 < len(data[key]["text"]) <= 24
    assert len(data.get("private_metadata", "")) <= 3000
    ids = [block["block_id"] for block in data["blocks"] if "block_id" in block]
    assert len(ids) == len(set(ids)), "block ids repeat"
    for block in data["blocks"]:
        if block["type"] == "input":
            element = block["element"]
            for option in element.get("options", []):
                assert len(option["text"]["text"]) <= 75
                assert len(option["value"]) <= 150
            assert len(element.get("options", [])) <= 100
            limit = element.get("max_length")
            if limit is not None and element.get("initial_value") is not None:
                assert len(element["initial_value"]) <= limit
        if block["type"] == "context":
            assert all(0 < len(e["text"]) <= 2000 for e in block["elements"])
    for text in mrkdwn_texts(data["blocks"]):
        for marker in RAW_MARKERS:
            assert marker not in text, f"{marker!r} reached mrkdwn in {text[:200]!r}"
        assert not re.search(r"&(?!amp;|lt;|gt;)", text), text[:200]
    return data


def people(count: int = 2, label: str = "Jane Doe", customer: str = "Acme") -> CustomerPeople:
    contacts = tuple(Choice(str(i), f"{label} {i}") for i in range(1, count + 1))
    return CustomerPeople(
        customer=Choice("3", customer),
        contacts=contacts,
        projects=(Choice("12", "Website"), Choice("11", "ERP")),
        primary_contact=contacts[0].value if contacts else None,
    )


def test_the_fresh_form_asks_for_a_customer_first() -> None:
    data = check_view(build_new_ticket_modal(new_ticket_form(CHOICES, subject="Printer jammed")))
    assert data["callback_id"] == TicketForm.NEW_MODAL
    assert (data["title"]["text"], data["submit"]["text"]) == ("New PMP ticket", "Open ticket")
    assert input_block_ids(data) == [
        SUBJECT_BLOCK,
        CUSTOMER_BLOCK,
        "ticket.department",
        "ticket.priority",
        "ticket.service",
        "ticket.assigned",
        "ticket.message",
        "ticket.cc",
        "ticket.tags",
    ]
    customer = next(b for b in data["blocks"] if b.get("block_id") == CUSTOMER_BLOCK)
    assert customer["dispatch_action"] is True
    assert customer["element"]["type"] == "external_select"
    assert customer["element"]["action_id"] == TicketForm.CUSTOMER_INPUT
    assert head_spec().field("userid").action_id == TicketForm.CUSTOMER_INPUT
    assert "Choose a customer" in json.dumps(data)
    assert element_of(data, SUBJECT_BLOCK)["initial_value"] == "Printer jammed"
    # The only department and Medium priority are chosen already.
    assert element_of(data, "ticket.department")["initial_option"]["value"] == "1"
    assert element_of(data, "ticket.priority")["initial_option"]["text"]["text"] == "Medium"
    # No service names known: the service is asked as a number.
    assert element_of(data, "ticket.service")["type"] == "number_input"
    assert data["private_metadata"] == "{}"


def test_a_chosen_customer_shows_its_contacts_and_projects() -> None:
    form = new_ticket_form(CHOICES).with_people(people())
    data = check_view(build_new_ticket_modal(form))
    ids = input_block_ids(data)
    assert ids[:4] == [SUBJECT_BLOCK, CUSTOMER_BLOCK, "ticket_3.contactid", "ticket_3.project_id"]
    contact = element_of(data, "ticket_3.contactid")
    assert contact["initial_option"]["value"] == "1"
    assert [o["value"] for o in contact["options"]] == ["1", "2"]
    assert element_of(data, CUSTOMER_BLOCK)["initial_option"]["text"]["text"] == "Acme"
    assert json.loads(data["private_metadata"]) == {"c": "3", "n": "Acme"}


def test_hostile_and_huge_pmp_data_fits_slacks_limits() -> None:
    crowd = people(count=100, label=NASTY + " " + LONG, customer=NASTY + LONG)
    form = new_ticket_form(CHOICES, subject=LONG, message=LONG * 2).with_people(crowd)
    data = check_view(build_new_ticket_modal(form.with_notice(NASTY + LONG)))
    assert len(element_of(data, "ticket_3.contactid")["options"]) == 100
    assert len(element_of(data, SUBJECT_BLOCK)["initial_value"]) == SUBJECT_MAX

    lonely = CustomerPeople(customer=Choice("40", NASTY + LONG))
    data = check_view(build_new_ticket_modal(new_ticket_form(CHOICES).with_people(lonely)))
    assert "no active contacts" in json.dumps(data)
    assert "&lt;!channel&gt;" in json.dumps(data)


def test_loading_contacts_is_shown_while_they_load() -> None:
    form = new_ticket_form(CHOICES).loading_for(Choice("3", "Acme"))
    data = check_view(build_new_ticket_modal(form))
    assert "Loading the customer's contacts" in json.dumps(data)
    assert not any(block_id.endswith("contactid") for block_id in input_block_ids(data))


def test_the_retry_modal_keeps_the_form_and_says_why() -> None:
    form: NewTicketForm = new_ticket_form(CHOICES, subject="Printer").with_people(people())
    data = check_view(build_ticket_retry_modal(form, "PMP had an internal error (HTTP 500)."))
    first = data["blocks"][0]
    assert first["type"] == "section"
    assert "HTTP 500" in first["text"]["text"] and "entries are kept" in first["text"]["text"]
    assert data["callback_id"] == TicketForm.NEW_MODAL
    assert element_of(data, SUBJECT_BLOCK)["initial_value"] == "Printer"
    assert "ticket_3.contactid" in input_block_ids(data)


def test_a_message_prefill_fits_the_inputs() -> None:
    prefill = prefill_from_message(LONG + "\n" + LONG * 3, "https://t.slack.com/archives/C1/p1")
    form = new_ticket_form(CHOICES, subject=prefill.subject, message=prefill.message)
    data = check_view(build_new_ticket_modal(form))
    assert element_of(data, "ticket.message")["initial_value"].endswith("C1/p1")


@pytest.mark.parametrize(
    "view",
    [
        build_ticket_loading_modal(),
        build_ticket_problem_modal("This workspace isn't connected to PMP yet."),
        build_settings_loading_modal(),
    ],
)
def test_loading_and_problem_modals_are_valid(view: View) -> None:
    data = check_view(view)
    assert "submit" not in data


def test_the_done_view_links_the_new_ticket() -> None:
    url = "https://crm.example.com/admin/tickets/ticket/41"
    outcome = WriteOutcome("ticket", "Fish & chips <!channel>", "opened", 41, url)
    data = check_view(build_ticket_done_view(outcome))
    text = data["blocks"][0]["text"]["text"]
    assert f"<{url}|#41 Fish &amp; chips &lt;!channel&gt;>" in text
    assert data["close"]["text"] == "Done"


def test_the_done_view_says_so_when_the_id_is_unknown() -> None:
    note = "PMP doesn't say which id it gave the new ticket; search for it with `/pmp ticket x`."
    data = check_view(build_ticket_done_view(WriteOutcome("ticket", LONG, "opened", note=note)))
    assert "<http" not in json.dumps(data)
    assert "/pmp ticket x" in json.dumps(data)


def test_the_settings_modal_is_filled_in_with_lines() -> None:
    settings = TicketSettings(
        departments={2: "Sales", 1: "Support"}, priorities={1: "Low"}, services={3: NASTY}
    )
    data = check_view(build_ticket_settings_modal(settings, note=f"Couldn't read: {NASTY}"))
    assert data["callback_id"] == TicketForm.SETTINGS_MODAL
    assert element_of(data, "ticket_settings.departments")["initial_value"] == (
        "1 = Support\n2 = Sales"
    )
    assert element_of(data, "ticket_settings.services")["initial_value"] == f"3 = {NASTY}"
    assert "initial_value" not in element_of(data, "ticket_settings.statuses")
    # Slack's text input holds 3000 characters: what doesn't fit is left out.
    big = TicketSettings(departments={i: "D" * 75 for i in range(1, 101)})
    prefill = settings_prefill(big, TicketSettings())
    data = check_view(build_ticket_settings_modal(prefill.settings))
    shown = element_of(data, "ticket_settings.departments")["initial_value"]
    assert 2900 < len(shown) <= 3000
    assert prefill.overflowing == ("departments",)


def test_the_saved_settings_view_counts_the_names() -> None:
    data = check_view(build_settings_saved_view(TicketSettings.fresh_install()))
    assert "0 departments, 3 priorities, 0 services, 5 statuses" in json.dumps(data)
