"""bot/blocks/record_forms.py and bot/records.py: the form of each record kind, what a
submission changes, and the writes against the PMP sandbox."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from bot.blocks.fields import SLOW_VALUE, Kind
from bot.blocks.record_forms import (
    COUNTRIES,
    CheckedForm,
    FormPlan,
    RecordFormContent,
    check_submission,
    country_options,
    edit_form,
    edit_plan,
    form_notes,
    form_spec,
    new_form,
    pmp_field_errors,
)
from bot.names import Choice
from bot.pmp import Customer, Lead, Milestone, PmpClient, PmpValidationError, Project
from bot.pmp.fields import CUSTOMER_FIELDS, LEAD_FIELDS, MILESTONE_FIELDS, PROJECT_FIELDS
from bot.pmp.network import PRIVATE_ALLOWED
from bot.records import ADDED, FORM_KINDS, UNCHANGED, UPDATED, delete_record, read_for_edit, save
from bot.sandbox import RunningSandbox, running_sandbox
from bot.sandbox import schema as sandbox_schema
from tests.records.helpers import state_of

MILESTONE_WIRE = {
    "id": "5",
    "name": "MIlestone A",
    "description": "First line<br />\nsecond line",
    "description_visible_to_customer": "0",
    "due_date": "2019-09-30",
    "project_id": "2",
    "color": None,
    "milestone_order": "1",
    "datecreated": "2019-07-19",
    "total_tasks": "0",
    "total_finished_tasks": "0",
}


def milestone_plan() -> tuple[FormPlan, dict[str, Any]]:
    return edit_plan("milestone", Milestone.from_wire(MILESTONE_WIRE))


def submit(plan: FormPlan, answers: dict[str, Any]) -> CheckedForm:
    return check_submission(plan, state_of(form_spec(plan), answers))


def fields_of(plan: FormPlan) -> list[str]:
    return [f.name for f in form_spec(plan).fields]


# ------------------------------------------------------------------------- form per kind


@pytest.mark.parametrize(
    ("kind", "names"),
    [
        (
            "customer",
            "company vat phonenumber website groups_in default_language default_currency "
            "address city state zip country billing_street billing_city billing_state "
            "billing_zip billing_country shipping_street shipping_city shipping_state "
            "shipping_zip shipping_country",
        ),
        (
            "lead",
            "name status status_other source source_other assigned tags title email website "
            "phonenumber company address city state zip default_language description is_public",
        ),
        (
            "project",
            "name clientid billing_type status start_date deadline progress_from_tasks progress "
            "project_cost project_rate_per_hour estimated_hours project_members tags description",
        ),
        ("milestone", "project_id name due_date description milestone_order"),
    ],
)
def test_new_forms_ask_for_every_field_of_the_api_document(kind: Any, names: str) -> None:
    assert fields_of(new_form(kind).plan) == names.split()


def test_inputs_fit_their_values() -> None:
    kinds = {f.name: f.kind for f in form_spec(FormPlan(kind="project")).fields}
    assert kinds["clientid"] is Kind.EXTERNAL
    assert kinds["billing_type"] is Kind.SELECT and kinds["status"] is Kind.SELECT
    assert kinds["start_date"] is Kind.DATE and kinds["deadline"] is Kind.DATE
    assert kinds["project_cost"] is Kind.DECIMAL and kinds["estimated_hours"] is Kind.DECIMAL
    assert kinds["progress_from_tasks"] is Kind.CHECKBOX
    customer = {f.name: f.kind for f in form_spec(FormPlan(kind="customer")).fields}
    assert customer["website"] is Kind.URL
    assert customer["country"] is Kind.EXTERNAL
    lead = {f.name: f.kind for f in form_spec(FormPlan(kind="lead")).fields}
    assert lead["email"] is Kind.EMAIL


def test_edit_forms_add_what_only_updates_take() -> None:
    assert "description_visible_to_customer" in fields_of(milestone_plan()[0])
    assert "project_id" not in fields_of(milestone_plan()[0])  # kept by the merge instead
    lead_plan, _ = edit_plan("lead", Lead.from_wire({"id": "1", "name": "Jane"}))
    assert {"country", "lastcontact"} <= set(fields_of(lead_plan))


def test_a_new_project_starts_today_with_sensible_choices() -> None:
    content = new_form("project", name="  Portal  ", today=date(2024, 5, 20))
    assert content.values == {
        "name": "Portal",
        "billing_type": "1",
        "status": "2",
        "start_date": "2024-05-20",
        "progress_from_tasks": True,
    }


def test_a_new_form_takes_the_name_typed_after_new() -> None:
    assert new_form("customer", name="Acme").values == {"company": "Acme"}
    assert new_form("milestone").values == {}


# -------------------------------------------------------------------------- edit forms


def test_an_edit_form_is_prefilled_from_the_record() -> None:
    plan, values = milestone_plan()
    assert plan.record_id == 5 and plan.project_id == 2 and plan.label == "MIlestone A"
    assert values == {
        "name": "MIlestone A",
        "due_date": "2019-09-30",
        "description": "First line\nsecond line",  # PMP's own <br /> taken out
        "description_visible_to_customer": "0",
        "milestone_order": "1",
    }
    assert set(plan.digests) == set(values)


def test_an_untouched_edit_changes_nothing() -> None:
    plan, values = milestone_plan()
    checked = submit(plan, {**values, "description_visible_to_customer": False})
    assert checked.ok and checked.changes == {}


def test_only_the_changed_field_is_sent() -> None:
    plan, values = milestone_plan()
    checked = submit(plan, {**values, "description_visible_to_customer": False, "name": "B"})
    assert checked.changes == {"name": "B"}


def test_ticking_a_checkbox_and_clearing_a_number_are_changes() -> None:
    plan, values = milestone_plan()
    checked = submit(
        plan, {**values, "description_visible_to_customer": True, "milestone_order": None}
    )
    assert checked.changes == {"description_visible_to_customer": True, "milestone_order": None}


def test_plan_survives_the_round_trip_through_private_metadata() -> None:
    plan, _ = milestone_plan()
    assert FormPlan.from_metadata(plan.to_metadata()) == plan


@pytest.mark.parametrize(
    "metadata",
    [
        "",
        "not json",
        "[]",
        '{"k": "ticket"}',
        '{"k": "customer", "i": -3}',
        '{"k": "lead", "i": true}',
    ],
)
def test_foreign_metadata_is_refused(metadata: str) -> None:
    with pytest.raises(ValueError):
        FormPlan.from_metadata(metadata)


def test_the_biggest_plan_fits_slacks_metadata_limit() -> None:
    wire = {"userid": "3", "company": "株式会社" * 200, "website": "x" * 3000}
    plan, _ = edit_plan("customer", Customer.from_wire(wire))
    metadata = plan.to_metadata()
    assert len(metadata) <= 3000
    assert FormPlan.from_metadata(metadata).digests == plan.digests


def test_customer_groups_are_sent_with_any_change_because_pmp_resets_them() -> None:
    plan, values = edit_plan("customer", Customer.from_wire({"userid": "3", "company": "Acme"}))
    assert values["groups_in"] is None  # PMP can't say which groups it is in
    unchanged = submit(plan, values)
    assert unchanged.changes == {}
    phone_only = submit(plan, {**values, "phonenumber": "123"})
    assert phone_only.changes == {"phonenumber": "123", "groups_in": None}
    with_groups = submit(plan, {**values, "phonenumber": "123", "groups_in": "1, 4"})
    assert with_groups.changes == {"phonenumber": "123", "groups_in": ["1", "4"]}


def test_the_customer_edit_form_warns_about_groups() -> None:
    content = edit_form_content("customer", {"userid": "3", "company": "Acme"})
    assert any("groups" in note and "replaces" in note for note in content.notes)
    assert not new_form("customer").notes


def test_a_lead_edit_keeps_its_tags_unless_tags_are_typed() -> None:
    # PMP doesn't hand out a lead's tags but keeps them when an update doesn't send any.
    content = edit_form_content("lead", {"id": "4", "name": "Jane", "status": "1", "source": "1"})
    assert not [note for note in content.notes if "tags" in note]
    assert "keeps its tags" in (form_spec(content.plan).field("tags").hint or "")
    values = dict(content.values)
    assert values["tags"] is None
    assert submit(content.plan, {**values, "city": "Leeds"}).changes == {"city": "Leeds"}
    tagged = submit(content.plan, {**values, "tags": "vip, 2025"})
    assert tagged.changes == {"tags": "vip, 2025"}


def edit_form_content(kind: Any, wire: dict[str, Any]) -> RecordFormContent:
    model = {"customer": Customer, "lead": Lead, "milestone": Milestone}[kind]
    plan, values = edit_plan(kind, model.from_wire(wire))
    return RecordFormContent(plan, form_spec(plan), values, form_notes(plan))


def test_a_value_pmp_holds_that_the_input_would_refuse_is_relaxed_not_refused() -> None:
    wire = {"id": "1", "name": "Jane", "website": "themesic.com", "email": "jane(at)x"}
    plan, values = edit_plan("lead", Lead.from_wire({**wire, "status": "1", "source": "1"}))
    assert set(plan.relaxed) == {"website", "email"}
    kinds = {f.name: f.kind for f in form_spec(plan).fields}
    assert kinds["website"] is Kind.TEXT
    checked = submit(plan, {**values, "status": "1", "source": "1", "city": "Leeds"})
    assert checked.ok, checked.errors
    assert checked.changes == {"city": "Leeds"}


def test_a_text_too_long_for_slack_is_left_out_and_kept() -> None:
    wire = {"id": "12", "name": "Ravi", "status": "1", "source": "1", "description": "x" * 5000}
    plan, values = edit_plan("lead", Lead.from_wire(wire))
    assert plan.skipped == ("description",)
    assert "description" not in fields_of(plan)
    content = edit_form_content("lead", wire)
    assert any("description is too long" in note for note in content.notes)
    checked = submit(plan, {**values, "city": "Pune"})
    assert "description" not in checked.changes


def test_a_status_only_this_pmp_has_is_offered_by_its_name() -> None:
    wire = {"id": "1", "name": "Jane", "status": "4", "status_name": "Qualified", "source": "1"}
    plan, values = edit_plan("lead", Lead.from_wire(wire))
    assert plan.extra_choices == {"status": ("4", "Qualified")}
    status = form_spec(plan).field("status")
    assert Choice("4", "Qualified") in status.choices
    assert values["status"] == "4"
    assert submit(plan, values).changes == {}


# ----------------------------------------------------------------------- form-wide checks


def lead_answers(**answers: Any) -> dict[str, Any]:
    return {"name": "Jane", "source": "1", "status": "1", **answers}


def test_a_lead_status_can_be_typed_as_a_number_when_not_listed() -> None:
    checked = submit(FormPlan(kind="lead"), lead_answers(status=None, status_other="3"))
    assert checked.ok
    assert checked.values["status"] == "3"
    assert "status_other" not in checked.values


def test_a_lead_needs_a_status_one_way_or_the_other() -> None:
    checked = submit(FormPlan(kind="lead"), lead_answers(status=None))
    assert checked.errors == {"lead.status": "Choose the status, or type its number below."}


def test_a_lead_status_chosen_and_typed_differently_is_refused() -> None:
    checked = submit(FormPlan(kind="lead"), lead_answers(source_other="5"))
    assert checked.errors == {
        "lead.source_other": "Choose a source from the list or type its number, not both."
    }


def test_changing_a_lead_status_by_number_sends_the_status() -> None:
    wire = {"id": "1", "name": "Jane", "status": "1", "source": "1"}
    plan, values = edit_plan("lead", Lead.from_wire(wire))
    checked = submit(plan, {**values, "status": None, "status_other": "5"})
    assert checked.changes == {"status": "5"}


def project_answers(**answers: Any) -> dict[str, Any]:
    return {
        "name": "Portal",
        "clientid": Choice("3", "Acme"),
        "billing_type": "1",
        "status": "2",
        "start_date": "2024-05-01",
        **answers,
    }


def test_a_deadline_before_the_start_is_refused_on_the_deadline() -> None:
    checked = submit(FormPlan(kind="project"), project_answers(deadline="2024-04-30"))
    assert checked.errors == {"project.deadline": "The deadline can't be before the start date."}
    same_day = submit(FormPlan(kind="project"), project_answers(deadline="2024-05-01"))
    assert same_day.ok


def test_progress_is_a_percentage() -> None:
    checked = submit(FormPlan(kind="project"), project_answers(progress="101"))
    assert checked.errors == {"project.progress": "Enter a number from 0 to 100."}


def test_members_are_picked_by_name() -> None:
    picked = [Choice("1", "Admin User (#1)"), Choice("3", "Tom Becker (#3)")]
    good = submit(FormPlan(kind="project"), project_answers(project_members=picked))
    assert good.values["project_members"] == ["1", "3"]
    assert submit(FormPlan(kind="project"), project_answers()).values["project_members"] is None
    slow = [Choice("1", "Admin User (#1)"), Choice(SLOW_VALUE, "PMP is slow — keep typing")]
    bad = submit(FormPlan(kind="project"), project_answers(project_members=slow))
    assert bad.errors == {
        "project.project_members": "Remove the notice and choose staff members from the list."
    }


def test_members_are_numbers_when_pmp_wont_list_staff() -> None:
    plan = FormPlan(kind="project", staff_numbers=True)
    good = submit(plan, project_answers(project_members=" 1, 3 ,"))
    assert good.values["project_members"] == ["1", "3"]
    bad = submit(plan, project_answers(project_members="Tom, Aiko"))
    assert bad.errors == {
        "project.project_members": "Enter numbers separated by commas, like 1, 4."
    }


def test_a_customer_must_be_chosen_from_the_typeahead() -> None:
    notice = submit(
        FormPlan(kind="project"),
        project_answers(clientid=Choice(SLOW_VALUE, "PMP is slow — keep typing")),
    )
    assert notice.errors == {"project.clientid": "Choose a customer from the list."}
    checked = submit(FormPlan(kind="project"), project_answers())
    assert checked.values["clientid"] == 3


def test_money_and_dates_arrive_typed() -> None:
    checked = submit(FormPlan(kind="project"), project_answers(project_cost="1500.5"))
    assert checked.values["project_cost"] == Decimal("1500.5")
    assert checked.values["start_date"] == date(2024, 5, 1)


def test_pmp_validation_errors_map_to_their_inputs() -> None:
    error = PmpValidationError(
        "refused",
        errors={"assigned": "The Assigned field is required.", "hash": "Odd."},
    )
    assert pmp_field_errors(FormPlan(kind="lead"), error) == {
        "lead.assigned": "The Assigned field is required.",
        "lead.name": "Odd.",
    }


def test_country_typeahead_is_answered_without_pmp() -> None:
    assert len(COUNTRIES) == 250
    options = country_options("united")
    labels = [o["text"]["text"] for o in options]
    assert labels[:2] == ["United Arab Emirates", "United Kingdom"]
    assert "Tanzania" not in labels
    assert country_options("  ") == []
    assert len(country_options("a")) == 100  # Slack's cap


# ---------------------------------------------------------------- writes in the sandbox


async def test_an_edit_sends_only_the_change_and_keeps_the_rest(
    pmp: PmpClient, sandbox: RunningSandbox
) -> None:
    before = sandbox.store.row(sandbox_schema.MILESTONES, "1")
    content = edit_form(await read_for_edit(pmp, "milestone", 1))
    values = dict(content.values)
    checked = submit(
        content.plan, {**values, "description_visible_to_customer": True, "name": "Kick-off"}
    )
    outcome = await save(pmp, sandbox.base_url, content.plan.write(checked))
    assert outcome.verb == UPDATED and outcome.label == "Kick-off"
    assert outcome.url == f"{sandbox.base_url}/admin/projects/view/1?group=project_milestones"
    after = sandbox.store.row(sandbox_schema.MILESTONES, "1")
    assert {k for k in before if before[k] != after[k]} == {"name"}


async def test_an_edit_without_changes_sends_nothing(
    pmp: PmpClient, sandbox: RunningSandbox
) -> None:
    content = edit_form(await read_for_edit(pmp, "milestone", 1))
    checked = submit(content.plan, {**content.values, "description_visible_to_customer": True})
    sandbox.faults.html_500 = True  # any request would fail
    outcome = await save(pmp, sandbox.base_url, content.plan.write(checked))
    assert outcome.verb == UNCHANGED


async def test_a_new_record_is_found_by_its_exact_name(
    pmp: PmpClient, sandbox: RunningSandbox
) -> None:
    checked = submit(FormPlan(kind="customer"), {"company": "Acme", "groups_in": "2"})
    outcome = await save(pmp, sandbox.base_url, FormPlan(kind="customer").write(checked))
    # "Acme" matches three Acme companies, but only the new one is exactly "Acme".
    assert outcome.verb == ADDED and outcome.record_id == 37 and outcome.note is None
    assert outcome.url == f"{sandbox.base_url}/admin/clients/client/37"
    assert sandbox.store.customer_groups("37") == ["2"]


async def test_a_new_record_with_a_twin_is_not_guessed(
    pmp: PmpClient, sandbox: RunningSandbox
) -> None:
    answers = {
        "project_id": Choice("1", "Website Redesign"),
        "name": "Discovery",  # milestone 1 of project 1 is named so already
        "due_date": "2024-09-01",
    }
    plan = FormPlan(kind="milestone")
    first = await save(pmp, sandbox.base_url, plan.write(submit(plan, answers)))
    assert first.record_id is not None  # a twin existed before: the new one is still told apart
    second = await save(pmp, sandbox.base_url, plan.write(submit(plan, answers)))
    assert second.record_id is not None and second.record_id != first.record_id


async def test_an_unsearchable_name_says_honestly_that_the_id_is_unknown(
    pmp: PmpClient, sandbox: RunningSandbox
) -> None:
    plan = FormPlan(kind="customer")
    outcome = await save(pmp, sandbox.base_url, plan.write(submit(plan, {"company": '"""'})))
    assert outcome.verb == ADDED and outcome.record_id is None and outcome.url is None
    assert outcome.note is not None and "doesn't say which number" in outcome.note


async def test_pmp_3_tells_the_new_id() -> None:
    with running_sandbox(api_version=3) as sandbox:
        async with PmpClient(
            base_url=sandbox.base_url, token=sandbox.token, address_policy=PRIVATE_ALLOWED
        ) as client:
            plan = FormPlan(kind="lead")
            checked = submit(plan, lead_answers(assigned="2"))
            outcome = await save(client, sandbox.base_url, plan.write(checked))
    assert outcome.record_id == 26
    assert outcome.url == f"{sandbox.base_url}/admin/leads/index/26"


async def test_deletes_say_what_happened(pmp: PmpClient, sandbox: RunningSandbox) -> None:
    refused = await delete_record(pmp, "customer", 1)
    assert not refused.deleted and refused.label == "Acme Corporation"
    assert refused.problem is not None and "invoices" in refused.problem
    assert sandbox.store.customer("1") is not None

    done = await delete_record(pmp, "lead", 2)
    assert done.deleted and done.label
    assert sandbox.store.lead("2", site_url="x") is None

    gone = await delete_record(pmp, "lead", 2)
    assert not gone.deleted and gone.label == "" and gone.problem == "PMP has no lead #2."


def test_metadata_is_compact_json() -> None:
    plan, _ = milestone_plan()
    data = json.loads(plan.to_metadata())
    assert data["k"] == "milestone" and data["i"] == 5


PROJECT_WIRE = {
    "id": "3",
    "name": "App",
    "clientid": "1",
    "billing_type": "1",
    "status": "2",
    "start_date": "2024-01-01",
    "deadline": "2024-06-01",
    "project_cost": "17000.00",
    "progress": "0",
    "progress_from_tasks": "1",
    "description": "<p>Hi<br />\nthere</p>",
}


def test_a_project_edit_names_its_customer_and_asks_for_its_members() -> None:
    plan, values = edit_plan(
        "project", Project.from_wire(PROJECT_WIRE), {"clientid": "Acme Corporation"}
    )
    assert values["clientid"] == Choice("1", "Acme Corporation")
    assert values["description"] == "<p>Hi<br />\nthere</p>"  # HTML, shown as PMP keeps it
    assert values["project_members"] is None and values["tags"] is None
    (note,) = form_notes(plan)
    assert "members" in note and "tags" not in note
    assert "keeps its tags" in (form_spec(plan).field("tags").hint or "")
    assert submit(plan, values).changes == {}
    # Members go with every change (PMP removes them otherwise); tags only when typed.
    moved = submit(plan, {**values, "deadline": "2024-07-01"})
    assert moved.changes == {"deadline": date(2024, 7, 1), "project_members": None}
    tagged = submit(plan, {**values, "deadline": "2024-07-01", "tags": "web"})
    assert tagged.changes == {"deadline": date(2024, 7, 1), "project_members": None, "tags": "web"}
    early = submit(plan, {**values, "deadline": "2023-12-31"})
    assert early.errors == {"project.deadline": "The deadline can't be before the start date."}


def test_a_projects_customer_without_a_name_is_shown_by_number() -> None:
    _, values = edit_plan("project", Project.from_wire(PROJECT_WIRE))
    assert values["clientid"] == Choice("1", "#1")


async def test_a_project_edit_form_reads_its_customers_name(pmp: PmpClient) -> None:
    content = edit_form(await read_for_edit(pmp, "project", 3))
    assert content.values["clientid"] == Choice("8", "Bits & Bytes <Dev> Co.")


@pytest.mark.parametrize("kind", FORM_KINDS)
@pytest.mark.parametrize("editing", [False, True])
def test_every_field_a_form_reads_is_one_pmp_takes(kind: Any, editing: bool) -> None:
    # An unknown field in a PUT reaches PMP's database as an HTTP 500.
    fields = {
        "customer": CUSTOMER_FIELDS,
        "lead": LEAD_FIELDS,
        "project": PROJECT_FIELDS,
        "milestone": MILESTONE_FIELDS,
    }[kind]
    plan = FormPlan(kind=kind, record_id=1 if editing else None)
    names = [f.name for f in form_spec(plan).fields if not f.name.endswith("_other")]
    fields.check_names(names, operation="update" if editing else "create", noun=kind)
