"""Staff pickers in the record and ticket forms, and the `/pmp staff` builders: a typeahead
of PMP's staff where a form asked for a staff number, the number input (with a note saying
why) when PMP won't list staff, and the name of the current staff member on edit forms."""

from __future__ import annotations

import json
from typing import Any, get_args

from bot.blocks.fields import FAILED_VALUE
from bot.blocks.ids import StaffPicker
from bot.blocks.record_forms import (
    STAFF_NUMBERS_NOTE,
    FormPlan,
    RecordFormContent,
    build_record_modal,
    check_submission,
    edit_plan,
    form_notes,
    form_spec,
    new_form,
    staff_shown,
)
from bot.blocks.staff import (
    build_staff_choices,
    build_staff_list,
    build_user_staff,
    named_staff,
    no_match_text,
    staff_options,
)
from bot.names import Choice
from bot.pmp import Lead, Project
from bot.staff import (
    LinkedUser,
    NoMatchReason,
    NoStaffMatch,
    StaffLink,
    StaffMember,
    StaffUnavailable,
)
from tests.records.helpers import state_of

MARIA = StaffMember(id=2, name="Maria <Garcia> & Co", email="maria@pmp.example", active=True)
OLD = StaffMember(id=8, name="Pat Keller", email=None, active=False)
LEAD_WIRE = {"id": "4", "name": "Jane", "status": "1", "source": "2", "assigned": "2"}


def element(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    return next(b["element"] for b in view["blocks"] if b.get("block_id") == block_id)


def test_lead_and_project_forms_pick_staff_by_name() -> None:
    lead = build_record_modal(new_form("lead")).to_dict()
    assigned = element(lead, "lead.assigned")
    assert assigned["type"] == "external_select"
    assert assigned["action_id"] == StaffPicker.OPTIONS
    project = build_record_modal(new_form("project")).to_dict()
    members = element(project, "project.project_members")
    assert members["type"] == "multi_external_select"
    assert members["action_id"] == StaffPicker.OPTIONS
    assert STAFF_NUMBERS_NOTE not in json.dumps(lead)


def test_without_staff_listing_the_forms_ask_for_numbers_and_say_why() -> None:
    lead = build_record_modal(new_form("lead", staff_numbers=True)).to_dict()
    assert element(lead, "lead.assigned")["type"] == "number_input"
    project = build_record_modal(new_form("project", staff_numbers=True)).to_dict()
    assert element(project, "project.project_members")["type"] == "plain_text_input"
    for view in (lead, project):
        assert "isn't allowed to list staff members" in json.dumps(view)
    plan = FormPlan.from_metadata(lead["private_metadata"])
    assert plan.staff_numbers
    checked = check_submission(
        plan,
        state_of(form_spec(plan), {"name": "J", "status": "1", "source": "1", "assigned": "5"}),
    )
    assert checked.ok and checked.values["assigned"] == 5


def test_a_lead_edit_shows_its_staff_member_by_name() -> None:
    record = Lead.from_wire(LEAD_WIRE)
    assert staff_shown("lead", record) == {"assigned": 2}
    assert staff_shown("lead", Lead.from_wire({**LEAD_WIRE, "assigned": "0"})) == {}
    assert staff_shown("project", Project.from_wire({"id": "3", "name": "App"})) == {}
    plan, values = edit_plan("lead", record, {"assigned": named_staff(2, "Maria Garcia")})
    assert values["assigned"] == Choice("2", "Maria Garcia (#2)")
    view = build_record_modal(
        RecordFormContent(plan, form_spec(plan), values, form_notes(plan))
    ).to_dict()
    initial = element(view, "lead.assigned")["initial_option"]
    assert (initial["value"], initial["text"]["text"]) == ("2", "Maria Garcia (#2)")
    # Untouched, it isn't a change; another staff member is.
    state = state_of(form_spec(plan), values)
    assert check_submission(plan, state).changes == {}
    moved = state_of(form_spec(plan), {**values, "assigned": Choice("3", "Tom Becker (#3)")})
    assert check_submission(plan, moved).changes == {"assigned": 3}
    # By number where PMP won't list staff.
    numbers, shown = edit_plan("lead", record, staff_numbers=True)
    assert shown["assigned"] == "2" and numbers.staff_numbers


def test_a_failed_typeahead_option_is_not_a_staff_member() -> None:
    plan = FormPlan(kind="lead")
    answers = {"name": "J", "status": "1", "source": "1"}
    failed = Choice(FAILED_VALUE, "PMP won't list staff")
    checked = check_submission(plan, state_of(form_spec(plan), {**answers, "assigned": failed}))
    assert checked.errors == {"lead.assigned": "Choose a staff member from the list."}


def test_staff_options_and_labels() -> None:
    options = staff_options([MARIA, OLD])
    assert [o["value"] for o in options] == ["2", "8"]
    assert options[0]["text"]["text"] == "Maria <Garcia> & Co (#2)"  # plain text: no escaping
    assert options[1]["text"]["text"] == "Pat Keller (#8, deactivated)"
    (notice,) = staff_options(StaffUnavailable())
    assert notice["value"] == FAILED_VALUE and len(notice["text"]["text"]) <= 75
    assert named_staff(5, None) == "Staff #5"


def test_replies_escape_pmp_names() -> None:
    shown = json.dumps(build_user_staff("U1", StaffLink(MARIA, "email")).blocks[0].to_dict())
    assert "Maria &lt;Garcia&gt; &amp; Co" in shown and "<Garcia>" not in shown
    listed = build_staff_list([LinkedUser("U1", StaffLink(MARIA, "admin"), "U9")], "crm.example")
    assert "<@U1> → *Maria &lt;Garcia&gt; &amp; Co* (staff #2)" in json.dumps(
        [b.to_dict() for b in listed.blocks], ensure_ascii=False
    )
    several = build_staff_choices("<!channel>", [MARIA, OLD])
    assert "<!channel>" not in json.dumps([b.to_dict() for b in several.blocks])


def test_every_reason_is_explained() -> None:
    reasons: tuple[NoMatchReason, ...] = get_args(NoMatchReason)
    assert len(reasons) == 5
    for reason in reasons:
        mine = no_match_text(NoStaffMatch(reason, "me@x.example"), "U1")
        theirs = no_match_text(NoStaffMatch(reason, "me@x.example"), "U1", is_self=False)
        assert mine != theirs
        assert "<@U1>" in theirs or "their" in theirs
    assert "me@x.example" in no_match_text(NoStaffMatch("no_staff", "me@x.example"), "U1")


def test_a_long_list_fits_a_message() -> None:
    links = [
        LinkedUser(f"U{i:05}", StaffLink(StaffMember(i, "N" * 150, None, True), "email"))
        for i in range(1, 400)
    ]
    message = build_staff_list(links, "crm.example")
    assert len(message.blocks) <= 50
    for block in message.blocks:
        assert len(block.to_dict()["text"]["text"]) <= 3000
