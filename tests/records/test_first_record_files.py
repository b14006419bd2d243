"""Lead and project edits against PMP's module defect (every lead or project update deletes
the files of lead or project #1): the edit form says so as it opens, and saving is refused,
with what can be done, unless the workspace's admin allowed it. Against the PMP sandbox."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.blocks.record_forms import CheckedForm, FormPlan, check_submission, edit_form, form_spec
from bot.pmp import PmpClient, PmpUnsafeUpdateError
from bot.records import UPDATED, file_loss_note, read_for_edit, save
from bot.sandbox import DEMO_FACTS, RunningSandbox
from bot.sandbox import schema as sandbox_schema
from tests.records.helpers import state_of


def submit(plan: FormPlan, answers: dict[str, Any]) -> CheckedForm:
    return check_submission(plan, state_of(form_spec(plan), answers))


def lead_files(sandbox: RunningSandbox, lead_id: str = "1") -> list[str]:
    return [str(row["file_name"]) for row in sandbox.store.files("leads", lead_id)]


async def test_a_lead_edit_form_warns_as_it_opens_when_lead_one_has_files(
    pmp: PmpClient, sandbox: RunningSandbox
) -> None:
    content = edit_form(await read_for_edit(pmp, "lead", 4))
    first = content.notes[0]
    assert first.startswith("pmp-bot won't save changes to this lead")
    assert "deletes the files of lead #1" in first and "lead #1 has 1 file" in first
    assert "README" in first and "`/pmp settings`" in first

    allowed = edit_form(await read_for_edit(pmp, "lead", 4, allow_first_record_file_loss=True))
    assert allowed.notes[0].startswith("Saving deletes the files of lead #1 (1 file)")

    sandbox.store.delete_files("leads", "1")
    nothing_to_lose = edit_form(await read_for_edit(pmp, "lead", 4))
    assert not nothing_to_lose.notes  # nothing to say


async def test_a_project_edit_form_warns_because_pmp_cant_tell(pmp: PmpClient) -> None:
    content = edit_form(await read_for_edit(pmp, "project", 3))
    assert content.notes[0].startswith("pmp-bot won't save changes to this project")
    assert "PMP can't tell pmp-bot whether project #1 has any" in content.notes[0]
    assert any("members" in note for note in content.notes[1:])


async def test_customer_and_milestone_edit_forms_say_nothing_about_files(pmp: PmpClient) -> None:
    milestone = edit_form(await read_for_edit(pmp, "milestone", 1))
    assert not [n for n in milestone.notes if "files" in n]
    assert not [n for n in edit_form(await read_for_edit(pmp, "customer", 2)).notes if "files" in n]


async def test_a_slow_check_opens_the_form_without_a_note(
    pmp: PmpClient, sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.records.FIRST_RECORD_FILES_WAIT_S", 0.01)

    async def never(*_: Any, **__: Any) -> int:
        await asyncio.Event().wait()  # PMP never answers
        return 0

    monkeypatch.setattr(pmp.leads, "first_record_files", never)
    content = edit_form(await read_for_edit(pmp, "lead", 4))
    assert content.values["name"] and not content.notes


async def test_saving_a_lead_is_refused_with_what_can_be_done_and_keeps_lead_ones_files(
    pmp: PmpClient, sandbox: RunningSandbox
) -> None:
    before = dict(sandbox.store.row(sandbox_schema.LEADS, "4") or {})
    content = edit_form(await read_for_edit(pmp, "lead", 4))
    checked = submit(content.plan, {**content.values, "city": "Leeds"})
    with pytest.raises(PmpUnsafeUpdateError) as refused:
        await save(pmp, sandbox.base_url, content.plan.write(checked))
    said = refused.value.user_message
    assert "lead #1 has 1 file" in said and "didn't save this change" in said
    assert "A PMP administrator can fix the module" in said
    assert "`/pmp settings`" in said and "deletes the files of lead #1" in said
    assert dict(sandbox.store.row(sandbox_schema.LEADS, "4") or {}) == before
    assert lead_files(sandbox) == [DEMO_FACTS.first_lead_file]

    outcome = await save(
        pmp, sandbox.base_url, content.plan.write(checked), allow_first_record_file_loss=True
    )
    assert outcome.verb == UPDATED
    assert (sandbox.store.row(sandbox_schema.LEADS, "4") or {})["city"] == "Leeds"
    assert lead_files(sandbox) == []  # as the form warned


async def test_milestone_and_customer_edits_go_through_whatever_record_one_holds(
    pmp: PmpClient, sandbox: RunningSandbox
) -> None:
    content = edit_form(await read_for_edit(pmp, "milestone", 2))
    checked = submit(content.plan, {**content.values, "name": "Design, take two"})
    assert (await save(pmp, sandbox.base_url, content.plan.write(checked))).verb == UPDATED
    assert lead_files(sandbox) == [DEMO_FACTS.first_lead_file]


def test_the_notes_in_words() -> None:
    assert file_loss_note("lead", 0, allowed=False) is None
    assert file_loss_note("customer", 3, allowed=False) is None
    two = file_loss_note("lead", 2, allowed=False)
    assert two is not None and "lead #1 has 2 files" in two
    unknown = file_loss_note("project", None, allowed=True)
    assert unknown is not None and unknown.startswith("Saving deletes the files of project #1:")
