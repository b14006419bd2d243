"""Payloads as Bolt reads them, and form answers as Slack's client would send them."""

from __future__ import annotations

from typing import Any

import pytest
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.internals import build_context, parse_body
from slack_sdk.signature import SignatureVerifier

from bot.console.forms import (
    AnswerError,
    Choices,
    choice_lines,
    empty_entry,
    form_fields,
    is_empty,
    parse_answer,
    question,
)
from bot.console.payloads import (
    FORM_CONTENT_TYPE,
    Actor,
    action_payload,
    app_home_opened,
    block_actions_from_message,
    block_actions_from_view,
    block_suggestion,
    event_body,
    form_body,
    global_shortcut,
    initial_entry,
    interaction_body,
    message_shortcut,
    sign,
    slash_command_fields,
    view_closed,
    view_submission,
)
from bot.console.render import Names

ACTOR = Actor(
    team_id="T1",
    team_domain="acme",
    user_id="U1",
    user_name="alex",
    channel_id="C1",
    channel_name="general",
    api_app_id="A1",
)
VIEW = {"id": "V1", "type": "modal", "blocks": [], "state": {"values": {}}, "hash": "1.a"}


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text), "value": value}


def test_signature_verifies_with_slacks_algorithm() -> None:
    signed = sign("a=1", "secret", FORM_CONTENT_TYPE, timestamp=1_700_000_000)
    headers = signed.headers
    assert headers["X-Slack-Request-Timestamp"] == "1700000000"
    assert headers["X-Slack-Signature"].startswith("v0=")
    verifier = SignatureVerifier("secret")
    expected = verifier.generate_signature(timestamp="1700000000", body="a=1")
    assert headers["X-Slack-Signature"] == expected
    fresh = sign("a=1", "secret", FORM_CONTENT_TYPE)
    assert verifier.is_valid_request("a=1", fresh.headers)
    assert not SignatureVerifier("other").is_valid_request("a=1", fresh.headers)


def context_of(body: str, content_type: str) -> AsyncBoltContext:
    parsed = parse_body(body, content_type)
    return build_context(AsyncBoltContext(), parsed)  # type: ignore[return-value]


def test_slash_command_body_reads_like_slacks() -> None:
    fields = slash_command_fields(
        ACTOR, command="/pmp", text="find <AT&T>", response_url="http://r", trigger_id="1.2.3"
    )
    body = form_body(fields)
    parsed = parse_body(body, FORM_CONTENT_TYPE)
    assert parsed["text"] == "find &lt;AT&amp;T&gt;"
    assert parsed["command"] == "/pmp"
    context = context_of(body, FORM_CONTENT_TYPE)
    assert (context.team_id, context.user_id, context.channel_id) == ("T1", "U1", "C1")
    assert context.response_url == "http://r"


@pytest.mark.parametrize(
    "payload",
    [
        block_actions_from_message(
            ACTOR,
            action={"action_id": "a", "block_id": "b", "type": "button"},
            message={"ts": "1.1", "text": "hi"},
            message_ts="1.1",
            is_ephemeral=False,
            response_url="http://r",
            trigger_id="t",
        ),
        block_actions_from_view(
            ACTOR,
            action={"action_id": "a", "block_id": "b", "type": "button"},
            view=VIEW,
            trigger_id="t",
        ),
        view_submission(ACTOR, view=VIEW, trigger_id="t"),
        view_closed(ACTOR, view=VIEW, is_cleared=False),
        block_suggestion(ACTOR, action_id="a", block_id="b", value="ac", view=VIEW),
        global_shortcut(ACTOR, callback_id="cb", trigger_id="t"),
        message_shortcut(
            ACTOR,
            callback_id="cb",
            trigger_id="t",
            message={"ts": "1.1", "text": "hi", "user": "U1"},
            response_url="http://r",
        ),
    ],
    ids=lambda p: str(p["type"]),
)
def test_interaction_payloads_give_bolt_its_context(payload: dict[str, Any]) -> None:
    body = interaction_body(payload)
    assert body.startswith("payload=")
    assert parse_body(body, FORM_CONTENT_TYPE) == payload
    context = context_of(body, FORM_CONTENT_TYPE)
    assert (context.team_id, context.user_id) == ("T1", "U1")


def test_ephemeral_press_has_no_message_and_home_event_is_json() -> None:
    press = block_actions_from_message(
        ACTOR,
        action={"action_id": "a", "block_id": "b", "type": "button"},
        message={"ts": "1.1"},
        message_ts="1.1",
        is_ephemeral=True,
        response_url="http://r",
        trigger_id="t",
    )
    assert "message" not in press
    assert press["container"]["is_ephemeral"] is True
    event = app_home_opened(ACTOR, bot_user_id="UB", dm_channel_id="D1", view=None, event_id="Ev1")
    body = event_body(event)
    assert body.startswith("{")
    context = context_of(body, "application/json")
    assert (context.team_id, context.user_id) == ("T1", "U1")
    assert event["authorizations"][0]["user_id"] == "UB"


@pytest.mark.parametrize(
    ("element", "entry"),
    [
        ({"type": "plain_text_input", "initial_value": "x"}, {"value": "x"}),
        ({"type": "number_input"}, {"value": None}),
        (
            {"type": "static_select", "initial_option": option("A", "a")},
            {"selected_option": option("A", "a")},
        ),
        ({"type": "external_select"}, {"selected_option": None}),
        ({"type": "multi_static_select"}, {"selected_options": []}),
        (
            {"type": "checkboxes", "initial_options": [option("A", "a")]},
            {"selected_options": [option("A", "a")]},
        ),
        ({"type": "users_select", "initial_user": "U1"}, {"selected_user": "U1"}),
        ({"type": "multi_users_select"}, {"selected_users": []}),
        ({"type": "conversations_select"}, {"selected_conversation": None}),
        ({"type": "multi_conversations_select"}, {"selected_conversations": []}),
        ({"type": "channels_select", "initial_channel": "C1"}, {"selected_channel": "C1"}),
        ({"type": "multi_channels_select"}, {"selected_channels": []}),
        ({"type": "datepicker", "initial_date": "2024-01-02"}, {"selected_date": "2024-01-02"}),
        (
            {"type": "timepicker", "timezone": "Europe/Paris"},
            {"selected_time": None, "timezone": "Europe/Paris"},
        ),
        ({"type": "datetimepicker"}, {"selected_date_time": None}),
        ({"type": "radio_buttons"}, {"selected_option": None}),
        ({"type": "file_input"}, {"files": []}),
    ],
)
def test_initial_state_entries(element: dict[str, Any], entry: dict[str, Any]) -> None:
    assert initial_entry(element) == {"type": element["type"], **entry}


def test_action_payload_carries_the_state_of_the_element() -> None:
    select = {"type": "static_select", "action_id": "s", "placeholder": plain("Pick")}
    sent = action_payload(
        select,
        "blk",
        entry={"type": "static_select", "selected_option": option("A", "a")},
        when="1.5",
    )
    assert sent == {
        "action_id": "s",
        "block_id": "blk",
        "selected_option": option("A", "a"),
        "placeholder": plain("Pick"),
        "type": "static_select",
        "action_ts": "1.5",
    }
    date = action_payload(
        {"type": "datepicker", "action_id": "d", "initial_date": "2024-01-01"}, "b"
    )
    assert date["selected_date"] == "2024-01-01"


# ------------------------------------------------------------------ forms

CHOICES = Choices(people=[("U1", "alex"), ("U2", "sam")], channels=[("C1", "general")])
STATIC = {
    "type": "static_select",
    "options": [option("Open", "open")],
    "option_groups": [{"label": plain("Old"), "options": [option("Closed", "closed")]}],
}


@pytest.mark.parametrize(
    ("element", "answer", "entry"),
    [
        ({"type": "plain_text_input"}, " hello ", {"value": "hello"}),
        ({"type": "number_input"}, "42", {"value": "42"}),
        ({"type": "number_input", "is_decimal_allowed": True}, "4.5", {"value": "4.5"}),
        ({"type": "email_text_input"}, "ann@example.com", {"value": "ann@example.com"}),
        (
            {"type": "url_text_input"},
            "https://crm.example.com/x",
            {"value": "https://crm.example.com/x"},
        ),
        (STATIC, "2", {"selected_option": option("Closed", "closed")}),
        (STATIC, "open", {"selected_option": option("Open", "open")}),
        (
            {**STATIC, "type": "multi_static_select"},
            "2, 1",
            {"selected_options": [option("Closed", "closed"), option("Open", "open")]},
        ),
        ({"type": "users_select"}, "2", {"selected_user": "U2"}),
        ({"type": "users_select"}, "@alex", {"selected_user": "U1"}),
        ({"type": "multi_users_select"}, "U1,sam", {"selected_users": ["U1", "U2"]}),
        ({"type": "channels_select"}, "#general", {"selected_channel": "C1"}),
        ({"type": "multi_conversations_select"}, "1", {"selected_conversations": ["C1"]}),
        ({"type": "datepicker"}, "2024-02-29", {"selected_date": "2024-02-29"}),
        ({"type": "timepicker"}, "7:05", {"selected_time": "07:05"}),
        ({"type": "datetimepicker"}, "2024-01-01 00:00", {"selected_date_time": 1704067200}),
        (
            {"type": "rich_text_input"},
            "note",
            {
                "rich_text_value": {
                    "type": "rich_text",
                    "elements": [
                        {
                            "type": "rich_text_section",
                            "elements": [{"type": "text", "text": "note"}],
                        }
                    ],
                }
            },
        ),
    ],
)
def test_answers_become_state_entries(
    element: dict[str, Any], answer: str, entry: dict[str, Any]
) -> None:
    assert parse_answer(element, answer, choices=CHOICES) == {"type": element["type"], **entry}


@pytest.mark.parametrize(
    ("element", "answer", "message"),
    [
        ({"type": "number_input"}, "4.5", "Type a whole number."),
        ({"type": "number_input"}, "four", "Type a number."),
        ({"type": "number_input", "min_value": "1"}, "0", "The number must be at least 1."),
        ({"type": "number_input", "max_value": "9"}, "10", "The number must be at most 9."),
        ({"type": "email_text_input"}, "ann@", "Type an email address"),
        ({"type": "url_text_input"}, "crm.example.com", "Type a web address"),
        ({"type": "plain_text_input", "min_length": 3}, "ab", "Type at least 3 characters."),
        ({"type": "plain_text_input", "max_length": 2}, "abc", "Type at most 2 characters."),
        (STATIC, "3", "Choose a number from 1 to 2."),
        (STATIC, "maybe", "'maybe' is not one of the choices"),
        (
            {**STATIC, "type": "multi_static_select", "max_selected_items": 1},
            "1,2",
            "Choose at most 1.",
        ),
        ({"type": "users_select"}, "@nobody", "There is no person '@nobody'"),
        ({"type": "datepicker"}, "31/12/2024", "Type a date as YYYY-MM-DD"),
        ({"type": "timepicker"}, "25:00", "Type a time as HH:MM"),
        ({"type": "datetimepicker"}, "tomorrow", "Type a date and time"),
        ({"type": "file_input"}, "x", "Files cannot be uploaded"),
        ({"type": "mystery_input"}, "x", "The console cannot fill in a mystery_input"),
    ],
)
def test_answers_slack_would_refuse(element: dict[str, Any], answer: str, message: str) -> None:
    with pytest.raises(AnswerError) as caught:
        parse_answer(element, answer, choices=CHOICES)
    assert caught.value.message.startswith(message)


def test_external_select_answers_pick_from_loaded_options() -> None:
    loaded = [option("Acme", "1"), option("Globex", "3")]
    external = {"type": "external_select"}
    assert parse_answer(external, "2", options=loaded)["selected_option"] == option("Globex", "3")
    multi = {"type": "multi_external_select"}
    assert parse_answer(multi, "1,2", options=loaded)["selected_options"] == loaded


def test_form_fields_choice_lines_and_questions() -> None:
    view = {
        "blocks": [
            {"type": "section", "text": plain("intro")},
            {
                "type": "input",
                "block_id": "s",
                "optional": True,
                "dispatch_action": True,
                "label": {"type": "mrkdwn", "text": "Status &amp; stage"},
                "hint": plain("pick one"),
                "element": {**STATIC, "action_id": "v"},
            },
            {"type": "input", "block_id": "broken", "label": plain("x"), "element": None},
        ]
    }
    (field,) = form_fields(view)
    assert (field.block_id, field.action_id, field.label) == ("s", "v", "Status & stage")
    assert (field.optional, field.dispatch_action, field.hint) == (True, True, "pick one")
    assert choice_lines(field.element, CHOICES, Names()) == ["  1. Open", "  2. Closed"]
    assert choice_lines({"type": "users_select"}, CHOICES, Names()) == ["  1. @alex", "  2. @sam"]
    assert choice_lines({"type": "datepicker"}, CHOICES, Names()) == []
    assert question("Due", {"type": "datepicker"}, optional=False, now="") == (
        "Due [date YYYY-MM-DD, required]: "
    )
    assert question("Tags", {"type": "checkboxes"}, optional=True, now="A") == (
        "Tags [tick any, numbers separated by commas, optional] (now: A): "
    )


def test_emptiness() -> None:
    assert is_empty(None)
    assert is_empty(empty_entry({"type": "multi_users_select", "initial_users": ["U1"]}))
    assert is_empty({"type": "timepicker", "selected_time": None, "timezone": "UTC"})
    assert is_empty(parse_answer({"type": "rich_text_input"}, ""))
    assert not is_empty({"type": "plain_text_input", "value": "x"})
    assert not is_empty(parse_answer({"type": "rich_text_input"}, "x"))
