"""bot/blocks/fields.py: building inputs, reading and checking what was typed, what changed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from bot.blocks.fields import (
    FAILED_VALUE,
    SLOW_VALUE,
    FormField,
    FormSpec,
    Kind,
    build_inputs,
    changed_fields,
    digest,
    initial_digests,
    read_form,
    typed_values,
)
from bot.names import Choice
from tests.records.helpers import entry, state_of

SIZES = (Choice("s", "Small"), Choice("m", "Medium"), Choice("l", "Large"))
FORM = FormSpec(
    id="thing",
    fields=[
        FormField("name", "Name", Kind.TEXT, required=True, max_length=10),
        FormField("notes", "Notes", Kind.MULTILINE),
        FormField("count", "Count", Kind.INTEGER, min_value=0),
        FormField("cost", "Cost", Kind.DECIMAL),
        FormField("email", "Email", Kind.EMAIL),
        FormField("site", "Site", Kind.URL),
        FormField("due", "Due", Kind.DATE),
        FormField("size", "Size", Kind.SELECT, choices=SIZES),
        FormField("extras", "Extras", Kind.MULTI_SELECT, choices=SIZES),
        FormField("owner", "Person", Kind.EXTERNAL, action="app_owner_options"),
        FormField("public", "Public", Kind.CHECKBOX, hint="Everyone sees it"),
    ],
)


def elements(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        block["block_id"]: block["element"]
        for block in (b.to_dict() for b in build_inputs(FORM, values))
    }


def read(**answers: Any) -> tuple[dict[str, Any], dict[str, str]]:
    result = read_form(FORM, state_of(FORM, {"name": "Widget", **answers}))
    return result.values, result.errors


# ----------------------------------------------------------------------------- building


def test_every_kind_gets_its_slack_element_with_block_and_action_ids() -> None:
    built = elements({})
    assert {block_id: e["type"] for block_id, e in built.items()} == {
        "thing.name": "plain_text_input",
        "thing.notes": "plain_text_input",
        "thing.count": "number_input",
        "thing.cost": "number_input",
        "thing.email": "email_text_input",
        "thing.site": "url_text_input",
        "thing.due": "datepicker",
        "thing.size": "static_select",
        "thing.extras": "multi_static_select",
        "thing.owner": "external_select",
        "thing.public": "checkboxes",
    }
    assert built["thing.name"]["action_id"] == "name_input"
    assert built["thing.owner"]["action_id"] == "app_owner_options"  # the app-wide id
    assert built["thing.notes"]["multiline"] is True
    assert built["thing.count"]["is_decimal_allowed"] is False
    assert built["thing.cost"]["is_decimal_allowed"] is True
    assert built["thing.count"]["min_value"] == "0"


def test_required_and_optional_blocks() -> None:
    blocks = [b.to_dict() for b in build_inputs(FORM, {})]
    optional = {b["block_id"]: b.get("optional", False) for b in blocks}
    assert optional["thing.name"] is False
    assert optional["thing.notes"] is True


def test_inputs_are_prefilled_from_pmp_strings_and_choices() -> None:
    built = elements(
        {
            "name": "Widget",
            "count": "3",
            "cost": "1500.00",
            "due": "2024-03-01",
            "size": "m",
            "extras": ["s", "l", "unknown"],
            "owner": Choice("7", "Jane"),
            "public": "1",
        }
    )
    assert built["thing.name"]["initial_value"] == "Widget"
    assert built["thing.count"]["initial_value"] == "3"
    assert built["thing.cost"]["initial_value"] == "1500.00"
    assert built["thing.due"]["initial_date"] == "2024-03-01"
    assert built["thing.size"]["initial_option"]["value"] == "m"
    assert [o["value"] for o in built["thing.extras"]["initial_options"]] == ["s", "l"]
    assert built["thing.owner"]["initial_option"]["text"]["text"] == "Jane"
    assert [o["value"] for o in built["thing.public"]["initial_options"]] == ["on"]


@pytest.mark.parametrize(("stored", "ticked"), [("1", True), ("on", True), (True, True)])
def test_a_checkbox_is_ticked_for_pmps_true_values(stored: Any, ticked: bool) -> None:
    assert ("initial_options" in elements({"public": stored})["thing.public"]) is ticked


@pytest.mark.parametrize("stored", ["0", "", None, False])
def test_a_checkbox_is_clear_for_pmps_false_values(stored: Any) -> None:
    assert "initial_options" not in elements({"public": stored})["thing.public"]


def test_a_select_shows_nothing_for_a_value_it_does_not_list() -> None:
    assert "initial_option" not in elements({"size": "xl"})["thing.size"]


# ------------------------------------------------------------------------------ reading


def test_reading_gives_typed_values() -> None:
    values, errors = read(
        notes="  two\nlines ",
        count="12",
        cost="1500.50",
        email="jane@example.com",
        site="https://example.com/x",
        due="2024-03-01",
        size="l",
        extras=["s", "m"],
        owner="7",
        public=True,
    )
    assert errors == {}
    assert values == {
        "name": "Widget",
        "notes": "two\nlines",
        "count": 12,
        "cost": Decimal("1500.50"),
        "email": "jane@example.com",
        "site": "https://example.com/x",
        "due": date(2024, 3, 1),
        "size": "l",
        "extras": ["s", "m"],
        "owner": "7",
        "public": True,
    }


def test_empty_optional_fields_read_as_none_and_false() -> None:
    values, errors = read()
    assert errors == {}
    assert values["count"] is None
    assert values["due"] is None
    assert values["extras"] == []
    assert values["public"] is False


@pytest.mark.parametrize(
    ("answers", "block", "message"),
    [
        ({"name": None}, "thing.name", "Enter the name."),
        ({"name": "   "}, "thing.name", "Enter the name."),
        ({"name": "x" * 11}, "thing.name", "Keep it to 10 characters (now 11)."),
        ({"count": "1.5"}, "thing.count", "Enter a whole number, like 12."),
        ({"count": "-1"}, "thing.count", "Enter 0 or more."),
        ({"cost": "lots"}, "thing.cost", "Enter a number, like 1500.00."),
        ({"cost": "-3"}, "thing.cost", "Enter a number of 0 or more, like 1500.00."),
        ({"cost": "NaN"}, "thing.cost", "Enter a number of 0 or more, like 1500.00."),
        ({"email": "jane@"}, "thing.email", "Enter an email address, like jane@example.com."),
        ({"site": "example.com"}, "thing.site", "Enter a web address starting with https://"),
        ({"site": "ftp://example.com"}, "thing.site", "Enter a web address starting with https://"),
        ({"due": "31/12/2024"}, "thing.due", "Pick a date, like 2026-12-31."),
        ({"size": "xl"}, "thing.size", "Choose one of the listed size options."),
        ({"owner": SLOW_VALUE}, "thing.owner", "Choose a person from the list."),
        ({"owner": FAILED_VALUE}, "thing.owner", "Choose a person from the list."),
    ],
)
def test_each_bad_value_gets_a_message_on_its_own_block(
    answers: dict[str, Any], block: str, message: str
) -> None:
    _, errors = read(**answers)
    assert errors == {block: message}


def test_required_selects_dates_and_lists_say_choose() -> None:
    form = FormSpec(
        id="f",
        fields=[
            FormField("day", "Day", Kind.DATE, required=True),
            FormField("size", "Size", Kind.SELECT, required=True, choices=SIZES),
            FormField("owner", "Owner", Kind.EXTERNAL, required=True),
            FormField("tags", "Tags", Kind.MULTI_SELECT, required=True, choices=SIZES),
        ],
    )
    assert read_form(form, state_of(form, {})).errors == {
        "f.day": "Choose the day.",
        "f.size": "Choose the size.",
        "f.owner": "Choose the owner.",
        "f.tags": "Choose at least one tags.",
    }


def test_a_missing_state_entry_reads_as_empty() -> None:
    result = read_form(FORM, {})
    assert result.errors == {"thing.name": "Enter the name."}
    assert not result.ok


def test_typed_values_show_the_form_again_as_submitted() -> None:
    state = state_of(
        FORM,
        {"name": "x" * 11, "count": "abc", "owner": Choice("7", "Jane"), "public": True},
    )
    values = typed_values(FORM, state)
    assert values["name"] == "x" * 11  # unchecked: what was typed
    assert values["count"] == "abc"
    assert values["owner"] == Choice("7", "Jane")
    assert values["public"] is True
    rebuilt = elements(values)
    assert rebuilt["thing.owner"]["initial_option"]["value"] == "7"


def test_typed_values_drop_a_chosen_notice_option() -> None:
    state = state_of(FORM, {"owner": Choice(SLOW_VALUE, "PMP is slow — keep typing")})
    assert typed_values(FORM, state)["owner"] is None


# ------------------------------------------------------------------------- what changed


@pytest.mark.parametrize(
    ("kind", "shown", "submitted"),
    [
        (Kind.DECIMAL, "0.00", Decimal(0)),
        (Kind.DECIMAL, "0.00", 0),
        (Kind.DECIMAL, "1500.00", Decimal("1500")),
        (Kind.INTEGER, "12", 12),
        (Kind.INTEGER, "007", 7),
        (Kind.CHECKBOX, "1", True),
        (Kind.CHECKBOX, "0", False),
        (Kind.CHECKBOX, None, False),
        (Kind.SELECT, "0", None),
        (Kind.EXTERNAL, "0", None),
        (Kind.EXTERNAL, Choice("7", "Jane"), "7"),
        (Kind.DATE, "2024-03-01", date(2024, 3, 1)),
        (Kind.TEXT, " Acme ", "Acme"),
        (Kind.TEXT, None, ""),
        (Kind.MULTI_SELECT, ["b", "a"], ["a", "b"]),
        (Kind.MULTI_SELECT, None, []),
    ],
)
def test_equal_values_in_pmp_and_form_shapes_are_no_change(
    kind: Kind, shown: Any, submitted: Any
) -> None:
    assert digest(shown, kind) == digest(submitted, kind)


@pytest.mark.parametrize(
    ("kind", "shown", "submitted"),
    [
        (Kind.DECIMAL, "0.00", Decimal("0.01")),
        (Kind.CHECKBOX, "1", False),
        (Kind.CHECKBOX, "0", True),
        (Kind.INTEGER, "0", None),
        (Kind.TEXT, "Acme", "acme"),
        (Kind.DATE, "2024-03-01", date(2024, 3, 2)),
        (Kind.SELECT, "1", "2"),
    ],
)
def test_different_values_are_a_change(kind: Kind, shown: Any, submitted: Any) -> None:
    assert digest(shown, kind) != digest(submitted, kind)


def test_changed_fields_are_only_what_the_user_changed() -> None:
    shown = {
        "name": "Widget",
        "count": "3",
        "cost": "0.00",
        "due": "2024-03-01",
        "size": "m",
        "owner": Choice("7", "Jane"),
        "public": "1",
    }
    digests = initial_digests(FORM, shown)
    assert len(digests) == len(FORM.fields)
    submitted = read_form(
        FORM,
        state_of(
            FORM,
            {**shown, "name": "Gadget", "owner": Choice("7", "Jane"), "public": True},
        ),
    )
    assert submitted.ok
    assert changed_fields(FORM, submitted.values, digests) == {"name": "Gadget"}


def test_clearing_a_field_is_a_change_to_none() -> None:
    shown = {"name": "Widget", "count": "3"}
    digests = initial_digests(FORM, shown)
    submitted = read_form(FORM, state_of(FORM, {"name": "Widget"}))
    assert changed_fields(FORM, submitted.values, digests) == {"count": None}


def test_a_state_entry_helper_matches_slacks_shape() -> None:
    # The helper the other tests rely on: Slack's keys per element type.
    assert entry(Kind.DATE, "2024-01-02") == {"type": "datepicker", "selected_date": "2024-01-02"}
    assert entry(Kind.CHECKBOX, False) == {"type": "checkboxes", "selected_options": []}
