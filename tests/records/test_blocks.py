"""bot/blocks/record_forms.py: every modal and message, checked against Slack's limits with
`to_dict()`, and PMP's text kept from pinging anyone."""

from __future__ import annotations

import json
from typing import Any

import pytest
from slack_sdk.models.views import View

from bot.blocks.cards import CardRef
from bot.blocks.ids import RecordForm
from bot.blocks.record_forms import (
    RecordFormContent,
    build_delete_cancelled,
    build_delete_failed,
    build_delete_prompt,
    build_delete_refused,
    build_deleted,
    build_done_view,
    build_form_problem_view,
    build_loading_modal,
    build_record_modal,
    check_submission,
    edit_plan,
    form_again,
    form_notes,
    form_spec,
    new_form,
)
from bot.console.blockkit import view_problems
from bot.console.payloads import initial_entry
from bot.pmp import Customer, Lead, Milestone, Project
from bot.records import ADDED, FORM_KINDS, UNCHANGED, UPDATED, WriteOutcome
from bot.sandbox.store import SandboxStore
from tests.records.helpers import state_of

NASTY = "<!channel> <@U1> & *bold*"
RAW = ("<!channel>", "<@U1>")
BASE_URL = "https://crm.example.com"


def checked(view: View) -> dict[str, Any]:
    data = view.to_dict()  # raises when Slack's limits are broken
    assert data["type"] == "modal"
    assert len(data["title"]["text"]) <= 24
    for key in ("submit", "close"):
        if key in data:
            assert len(data[key]["text"]) <= 24
    assert len(data["blocks"]) <= 100
    assert len(data.get("private_metadata", "")) <= 3000
    inputs = [b for b in data["blocks"] if b["type"] == "input"]
    if inputs:
        assert "submit" in data
    return data


def mrkdwn_texts(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)


def edit_content(kind: Any, wire: dict[str, Any]) -> RecordFormContent:
    model = {"customer": Customer, "lead": Lead, "milestone": Milestone}[kind]
    plan, values = edit_plan(kind, model.from_wire(wire))
    return RecordFormContent(plan, form_spec(plan), values, form_notes(plan))


EDIT_WIRES: dict[str, dict[str, Any]] = {
    "customer": {
        "userid": "3",
        "company": NASTY,
        "website": "jkdot.com",
        "country": "102",
        "billing_country": "0",
        "default_currency": "3",
    },
    "lead": {
        "id": "17",
        "name": NASTY,
        "status": "0",
        "source": "4",
        "description": "x" * 5000,
        "lastcontact": "2019-07-25 08:38:04",
        "is_public": "1",
    },
    "milestone": {
        "id": "5",
        "name": NASTY,
        "due_date": "2019-09-30",
        "project_id": "2",
        "description_visible_to_customer": "1",
    },
}


@pytest.mark.parametrize("kind", FORM_KINDS)
def test_every_new_form_is_a_valid_modal(kind: Any) -> None:
    data = checked(build_record_modal(new_form(kind)))
    assert data["callback_id"] == RecordForm.MODAL
    assert data["title"]["text"] == f"New {kind}"
    assert data["submit"]["text"] == f"Add {kind}"
    inputs = [b for b in data["blocks"] if b["type"] == "input"]
    assert len(inputs) == len(new_form(kind).spec.fields)
    assert all(b["block_id"].startswith(f"{kind}.") for b in inputs)


@pytest.mark.parametrize("kind", sorted(EDIT_WIRES))
def test_every_edit_form_is_a_valid_modal_and_escapes_the_name(kind: Any) -> None:
    data = checked(build_record_modal(edit_content(kind, EDIT_WIRES[kind])))
    assert data["title"]["text"] == f"Edit {kind}"
    assert data["submit"]["text"] == "Save"
    context = next(b for b in data["blocks"] if b["type"] == "context")
    assert "&lt;!channel&gt;" in context["elements"][0]["text"]
    assert not any(raw in context["elements"][0]["text"] for raw in RAW)


def test_the_milestone_edit_form_is_prefilled() -> None:
    data = checked(build_record_modal(edit_content("milestone", EDIT_WIRES["milestone"])))
    elements = {b["block_id"]: b["element"] for b in data["blocks"] if b["type"] == "input"}
    assert elements["milestone.name"]["initial_value"] == NASTY  # an input shows it as typed
    assert elements["milestone.due_date"]["initial_date"] == "2019-09-30"
    assert elements["milestone.description_visible_to_customer"]["initial_options"]
    assert elements["milestone.due_date"]["type"] == "datepicker"


def test_the_customer_edit_form_shows_the_groups_warning_first() -> None:
    data = checked(build_record_modal(edit_content("customer", EDIT_WIRES["customer"])))
    sections = [b["text"]["text"] for b in data["blocks"] if b["type"] == "section"]
    assert any("groups" in text and ":warning:" in text for text in sections)
    elements = {b["block_id"]: b["element"] for b in data["blocks"] if b["type"] == "input"}
    assert elements["customer.country"]["initial_option"]["text"]["text"] == "India"
    assert "initial_option" not in elements["customer.billing_country"]
    # PMP's "jkdot.com" isn't a web address Slack's URL input takes: shown as plain text.
    assert elements["customer.website"]["type"] == "plain_text_input"
    assert elements["customer.website"]["initial_value"] == "jkdot.com"
    assert elements["customer.country"]["action_id"] == RecordForm.COUNTRY_OPTIONS


def test_the_lead_edit_form_leaves_out_a_description_too_long_for_slack() -> None:
    data = checked(build_record_modal(edit_content("lead", EDIT_WIRES["lead"])))
    block_ids = [b.get("block_id") for b in data["blocks"]]
    assert "lead.description" not in block_ids
    assert "too long" in mrkdwn_texts(data)


def test_a_retry_shows_what_was_typed_and_why_it_failed() -> None:
    content = new_form("milestone")
    state = state_of(content.spec, {"name": "Beta", "due_date": "2025-01-01"})
    data = checked(
        build_record_modal(form_again(content.plan, state), problem="Couldn't reach <PMP>.")
    )
    first = data["blocks"][0]["text"]["text"]
    assert "Couldn't reach &lt;PMP&gt;." in first and "entries are kept" in first
    elements = {b["block_id"]: b["element"] for b in data["blocks"] if b["type"] == "input"}
    assert elements["milestone.name"]["initial_value"] == "Beta"
    assert elements["milestone.due_date"]["initial_date"] == "2025-01-01"
    assert data["private_metadata"] == content.plan.to_metadata()


def test_the_loading_and_problem_views_are_valid() -> None:
    loading = checked(build_loading_modal("milestone", 7))
    assert "Reading milestone #7" in mrkdwn_texts(loading)
    assert "submit" not in loading
    problem = checked(build_form_problem_view("lead", "PMP has no <lead> #7."))
    assert "PMP has no &lt;lead&gt; #7." in mrkdwn_texts(problem)
    assert checked(build_form_problem_view(None, "Oops"))["title"]["text"] == "PMP"


@pytest.mark.parametrize(
    ("outcome", "title", "words"),
    [
        (
            WriteOutcome("customer", NASTY, ADDED, 37, f"{BASE_URL}/admin/clients/client/37"),
            "Customer added",
            ["Added customer", "(#37)", "admin/clients/client/37"],
        ),
        (
            WriteOutcome("lead", NASTY, ADDED, None, None, note="PMP doesn't say which <number>."),
            "Lead added",
            ["Added lead", "doesn't say which &lt;number&gt;"],
        ),
        (
            WriteOutcome("milestone", NASTY, UPDATED, 5, None),
            "Milestone saved",
            ["Saved the changes to milestone"],
        ),
        (
            WriteOutcome("milestone", NASTY, UNCHANGED, 5, None),
            "Nothing changed",
            ["Nothing changed", "is as it was"],
        ),
    ],
)
def test_done_views(outcome: WriteOutcome, title: str, words: list[str]) -> None:
    data = checked(build_done_view(outcome))
    assert data["title"]["text"] == title
    text = mrkdwn_texts(data)
    assert all(word in text for word in words), text
    assert not any(raw in text for raw in RAW)


def test_the_delete_prompt_names_the_record_and_confirms() -> None:
    ref = CardRef("milestone", 5, 2)
    message = build_delete_prompt(ref, NASTY, base_url=BASE_URL)
    blocks = [b.to_dict() for b in message.blocks]
    text = mrkdwn_texts(blocks)
    assert "&lt;!channel&gt;" in text and not any(raw in text for raw in RAW)
    assert f"{BASE_URL}/admin/projects/view/2?group=project_milestones" in text
    delete, cancel = blocks[1]["elements"]
    assert delete["action_id"] == RecordForm.DELETE and delete["style"] == "danger"
    assert CardRef.parse(delete["value"]) == ref
    assert cancel["action_id"] == RecordForm.DELETE_CANCEL
    confirm = delete["confirm"]
    assert confirm["title"]["text"] == "Delete this milestone?"
    assert "&lt;!channel&gt;" in confirm["text"]["text"] and "#5" in confirm["text"]["text"]
    assert confirm["confirm"]["text"] == "Delete"


def test_a_long_name_still_fits_the_confirm_dialog() -> None:
    message = build_delete_prompt(CardRef("customer", 3), "&" * 1000, base_url=BASE_URL)
    confirm = message.blocks[1].to_dict()["elements"][0]["confirm"]
    assert len(confirm["text"]["text"]) <= 300


def test_the_deleted_message_says_who() -> None:
    message = build_deleted(CardRef("lead", 2), NASTY, "U0001")
    text = mrkdwn_texts([b.to_dict() for b in message.blocks])
    assert "<@U0001> deleted lead" in text and "(#2)" in text
    assert not any(raw in text for raw in RAW)
    forged = build_deleted(CardRef("lead", 2), "x", "<!channel>")
    assert "Someone deleted" in mrkdwn_texts([b.to_dict() for b in forged.blocks])


def test_delete_failures_and_refusals() -> None:
    failed = build_delete_failed(CardRef("customer", 1), "Acme", "PMP keeps customers <x>.")
    text = mrkdwn_texts([b.to_dict() for b in failed.blocks])
    assert "PMP didn't delete customer *Acme* (#1)" in text and "&lt;x&gt;" in text
    gone = build_delete_failed(CardRef("lead", 9), "", "PMP has no lead #9.")
    assert "Nothing was deleted" in mrkdwn_texts([b.to_dict() for b in gone.blocks])
    refused = build_delete_refused()
    assert "admins" in mrkdwn_texts([b.to_dict() for b in refused.blocks])
    cancelled = build_delete_cancelled(CardRef("project", 4))
    assert "project #4 stays in PMP" in cancelled.text


@pytest.mark.parametrize("kind", ["customer", "lead", "project", "milestone"])
def test_every_demo_record_gets_an_edit_form_slack_would_take(kind: Any) -> None:
    store = SandboxStore()
    try:
        rows = {
            "customer": store.customers,
            "lead": store.leads,
            "project": lambda: [store.project(str(p["id"])) for p in store.projects()],
            "milestone": store.milestones,
        }[kind]()
        model = {"customer": Customer, "lead": Lead, "project": Project, "milestone": Milestone}[
            kind
        ]
        for row in rows:
            plan, values = edit_plan(kind, model.from_wire(row))
            view = build_record_modal(RecordFormContent(plan, form_spec(plan), values))
            data = checked(view)
            assert view_problems(data, expected_type="modal") == [], row
            # Submitted untouched, every demo record's form passes and changes nothing.
            state = {
                block["block_id"]: {block["element"]["action_id"]: initial_entry(block["element"])}
                for block in data["blocks"]
                if block["type"] == "input"
            }
            result = check_submission(plan, state)
            assert result.ok, (row, result.errors)
            assert result.changes == {}, row
    finally:
        store.close()
