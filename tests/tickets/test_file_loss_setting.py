"""`/pmp settings`: the admin's choice to allow lead, project and ticket edits although PMP's
API module deletes the files of record #1 with each one: off unless ticked, warned about,
read back from the submitted view."""

from __future__ import annotations

import json

from bot.blocks.settings_form import (
    build_settings_saved_view,
    build_ticket_settings_modal,
    read_file_loss_setting,
)
from bot.names import TicketSettings
from tests.tickets.helpers import element_of, submitted

BLOCK = "edits.allow_first_record_file_loss"
TICKED = {"selected_options": [{"value": "on", "text": {"type": "plain_text", "text": "x"}}]}


def test_the_settings_modal_ends_with_the_choice_unticked_and_its_consequence() -> None:
    data = build_ticket_settings_modal(TicketSettings.fresh_install()).to_dict()
    inputs = [b for b in data["blocks"] if b["type"] == "input"]
    assert inputs[-1]["block_id"] == BLOCK
    assert inputs[-1]["label"]["text"] == (
        "Allow lead, project and ticket edits even though PMP's API module deletes the files "
        "of lead/project/ticket #1"
    )
    assert inputs[-1]["optional"] is True
    checkbox = element_of(data, BLOCK)
    assert checkbox["type"] == "checkboxes" and "initial_options" not in checkbox
    assert "will be lost" in checkbox["options"][0]["text"]["text"]
    warning = json.dumps(data["blocks"][-2])
    assert "deletes the files attached to lead #1, project #1 or ticket #1" in warning
    assert "for good, until the module is fixed" in warning and "README" in warning


def test_the_saved_choice_is_shown_ticked() -> None:
    view = build_ticket_settings_modal(TicketSettings(), allow_first_record_file_loss=True)
    assert element_of(view, BLOCK)["initial_options"][0]["value"] == "on"


def test_the_choice_is_read_back_from_the_submitted_view() -> None:
    view = build_ticket_settings_modal(TicketSettings())
    assert read_file_loss_setting(submitted(view)) is False
    assert read_file_loss_setting(submitted(view, {BLOCK: TICKED})) is True
    ticked = build_ticket_settings_modal(TicketSettings(), allow_first_record_file_loss=True)
    assert read_file_loss_setting(submitted(ticked)) is True
    assert read_file_loss_setting(submitted(ticked, {BLOCK: {"selected_options": []}})) is False
    assert read_file_loss_setting({}) is False


def test_the_saved_view_says_what_was_chosen() -> None:
    on = json.dumps(
        build_settings_saved_view(TicketSettings(), allow_first_record_file_loss=True).to_dict()
    )
    assert "edits are allowed even though" in on
    off = json.dumps(build_settings_saved_view(TicketSettings()).to_dict())
    assert "are refused" in off
