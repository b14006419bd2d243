"""Forged, replayed and expired requests, and fuzzed slash commands, buttons and view
submissions: never a 5xx, never a traceback in an answer or in anything posted to Slack."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.blocks.ids import Action, Block, Callback, CardAction, HomeAction, RecordForm, TicketForm
from bot.console.slack_standin import RunningSlackStandin, running_slack_standin
from bot.sandbox import running_sandbox
from tests.e2e.conftest import MEMBER_A, OWNER_A, SIGNING_SECRET, TEAM_A, TEAM_B, bot_settings
from tests.e2e.slack_client import SlackSender
from tests.reliability.bot_thread import ThreadedBot, bot_in_thread
from tests.reliability.conftest import assert_no_traceback

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ThreadedBot, Any]]:
    """One bot for the whole module (TEAM_A connected to a sandbox), on its own thread."""
    tmp: Path = tmp_path_factory.mktemp("hostile")
    with (
        running_slack_standin(
            teams={TEAM_A: "xoxb-standin-T0001", TEAM_B: "xoxb-standin-T0002"}
        ) as slack,
        running_sandbox() as pmp,
    ):
        config = bot_settings(
            slack,
            f"sqlite:///{tmp / 'bot.sqlite3'}",
            Fernet.generate_key().decode(),
            pmp_timeout=2.0,
        )
        with bot_in_thread(config, SIGNING_SECRET) as threaded:
            threaded.run(
                threaded.bot.services.workspaces.save_credentials(
                    TEAM_A, None, pmp.base_url, pmp.token, OWNER_A
                )
            )
            yield threaded, slack
            threaded.wait_idle()
            for call in slack.calls:
                assert_no_traceback(json.dumps(call.params, ensure_ascii=False))


def command_body(slack: RunningSlackStandin, text: str, user: str = MEMBER_A) -> str:
    sender = SlackSender("", SIGNING_SECRET, slack, None)  # type: ignore[arg-type]
    return sender.command_body(text, team=TEAM_A, user=user)


def assert_calm(response: Any) -> None:
    assert response.status_code < 500, response.text
    assert_no_traceback(response.text)


# ----------------------------------------------------------------- signatures


def test_forged_replayed_and_expired_requests_are_refused_and_change_nothing(
    world: tuple[ThreadedBot, Any],
) -> None:
    threaded, slack = world
    bot = threaded.bot
    body = command_body(slack, "notify off", user=OWNER_A)
    before = len(slack.calls)
    now = int(time.time())
    good = threaded.post(body)
    signature = good.request.headers["X-Slack-Signature"]
    refused = {
        "wrong secret": threaded.http.post(
            bot.events_url,
            content=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": str(now),
                "X-Slack-Signature": "v0=" + "0" * 64,
            },
        ),
        "no signature": threaded.http.post(
            bot.events_url, content=body, headers={"X-Slack-Request-Timestamp": str(now)}
        ),
        "timestamp not a number": threaded.post(body, headers={"X-Slack-Request-Timestamp": "x"}),
        "expired": threaded.post(body, timestamp=now - 6 * 60),
        "from the future": threaded.post(body, timestamp=now + 6 * 60),
        # A captured request sent again later, its signature under a fresh timestamp.
        "replayed later": threaded.http.post(
            bot.events_url,
            content=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": str(now + 400),
                "X-Slack-Signature": signature,
            },
        ),
        "replayed with another body": threaded.http.post(
            bot.events_url,
            content=command_body(slack, "disconnect", user=OWNER_A),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": good.request.headers["X-Slack-Request-Timestamp"],
                "X-Slack-Signature": signature,
            },
        ),
    }
    assert good.status_code == 200
    for name, response in refused.items():
        assert response.status_code == 401, name
        assert_no_traceback(response.text)
    threaded.wait_idle()
    # Only the one genuine request was answered through Slack.
    assert len([c for c in slack.calls[before:] if c.method == "response_url"]) == 1


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", "payload=%7Bnot-json"),
        ("application/x-www-form-urlencoded", "payload=" + json.dumps([1, 2])),
        ("application/x-www-form-urlencoded", "payload=" + json.dumps({"type": "block_actions"})),
        ("application/json", "{not json"),
        ("application/json", json.dumps({"type": "event_callback", "event": None})),
        ("application/json", json.dumps({"type": "url_verification", "challenge": "c"})),
        ("text/plain", "\x00\xff"),
        ("application/json", "[]"),
        ("application/x-www-form-urlencoded", ""),
        ("application/x-www-form-urlencoded", "command=/pmp&text=help"),
        (
            "application/json",
            json.dumps(
                {
                    "type": "event_callback",
                    "team_id": TEAM_A,
                    "event": {"type": "app_home_opened", "user": MEMBER_A, "tab": "messages"},
                }
            ),
        ),
        (
            "application/json",
            json.dumps({"type": "event_callback", "team_id": TEAM_A, "event": {"user": [1]}}),
        ),
    ],
)
def test_signed_nonsense_is_never_a_server_error(
    world: tuple[ThreadedBot, Any], content_type: str, body: str
) -> None:
    threaded, _ = world
    assert_calm(threaded.post(body, content_type=content_type))


# ----------------------------------------------------------------- fuzzing

slack_text = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(["<", ">", "&", "@", "#", "|", "!", '"', "'", "\\", "\n", "\u202e"]),
    ),
    max_size=120,
)
words = st.sampled_from(
    [
        "customer",
        "lead",
        "project",
        "milestone",
        "ticket",
        "c",
        "t",
        "notify",
        "help",
        "status",
        "connect",
        "disconnect",
        "off",
        "<#C0001|general>",
        "<@U0001>",
        "<!channel>",
        "0",
        "-1",
        "99999999999999999999",
        "1e9",
        "acme",
        "%",
        "_",
        "..",
        "'; DROP TABLE",
    ]
)
slash_text = st.one_of(slack_text, st.lists(st.one_of(words, slack_text), max_size=5).map(" ".join))


@FUZZ
@given(text=slash_text)
def test_fuzzed_slash_text_is_answered_calmly(world: tuple[ThreadedBot, Any], text: str) -> None:
    threaded, slack = world
    # Only members: fuzzing must not disconnect the workspace it is fuzzing.
    assert_calm(threaded.post(command_body(slack, text)))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | slack_text,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(slack_text, children, max_size=3)
    ),
    max_leaves=8,
)
input_state = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["plain_text_input", "static_select", "external_select"]),
        "value": st.one_of(st.none(), slack_text, json_values),
        "selected_option": st.one_of(st.none(), json_values),
    },
)
known_blocks = st.sampled_from(
    [
        (Block.CONNECT_URL.value, Action.CONNECT_URL_INPUT.value),
        (Block.CONNECT_TOKEN.value, Action.CONNECT_TOKEN_INPUT.value),
        (HomeAction.SEARCH_BLOCK.value, HomeAction.SEARCH_INPUT.value),
    ]
)
state_values = st.one_of(
    st.dictionaries(
        known_blocks.map(lambda pair: pair[0]),
        st.dictionaries(known_blocks.map(lambda pair: pair[1]), input_state, max_size=2),
        max_size=3,
    ),
    st.dictionaries(slack_text, st.dictionaries(slack_text, json_values, max_size=2), max_size=2),
)


MODALS = [
    Callback.CONNECT_MODAL.value,
    HomeAction.SEARCH_MODAL.value,
    RecordForm.MODAL.value,
    TicketForm.NEW_MODAL.value,
    TicketForm.SETTINGS_MODAL.value,
]


@FUZZ
@given(
    callback_id=st.sampled_from(MODALS) | slack_text,
    values=state_values,
    private_metadata=st.one_of(st.just(""), slack_text, json_values.map(json.dumps)),
    user=st.sampled_from([MEMBER_A, OWNER_A]),
)
def test_fuzzed_view_submissions_are_answered_calmly(
    world: tuple[ThreadedBot, Any],
    callback_id: str,
    values: dict[str, Any],
    private_metadata: str,
    user: str,
) -> None:
    threaded, slack = world
    sender = SlackSender("", SIGNING_SECRET, slack, None)  # type: ignore[arg-type]
    view = {
        "id": "V0FUZZ",
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": private_metadata,
        "blocks": [],
    }
    payload = sender.view_submission(team=TEAM_A, user=user, view=view, values=values)
    response = threaded.interaction(payload)
    assert_calm(response)
    if callback_id in MODALS:
        assert response.status_code == 200
    if response.status_code == 200 and response.text:
        answer = response.json()
        assert answer.get("response_action") in ("errors", "update", "push", "clear")


# Buttons and menus a member may press (Disconnect is for admins, and checked as such).
BUTTONS = [
    *(a.value for a in CardAction),
    HomeAction.SEARCH_CUSTOMERS.value,
    HomeAction.SHOW_RECENT.value,
    HomeAction.SHOW_RESULT.value,
    Action.DISCONNECT_CONFIRMED.value,
    Action.DISCONNECT_CANCELLED.value,
    RecordForm.DELETE.value,
    RecordForm.DELETE_CANCEL.value,
    TicketForm.CUSTOMER_INPUT.value,
]


@FUZZ
@given(
    action_id=st.sampled_from(BUTTONS),
    value=st.one_of(slack_text, json_values.map(json.dumps), st.just("customer:1")),
)
def test_fuzzed_button_presses_are_answered_calmly(
    world: tuple[ThreadedBot, Any], action_id: str, value: str
) -> None:
    threaded, slack = world
    sender = SlackSender("", SIGNING_SECRET, slack, None)  # type: ignore[arg-type]
    payload = sender.block_actions(
        team=TEAM_A,
        user=MEMBER_A,
        action={"action_id": action_id, "block_id": "b", "type": "button", "value": value},
    )
    response = threaded.interaction(payload)
    assert response.status_code == 200, response.text
    assert_no_traceback(response.text)


@pytest.mark.parametrize(
    ("action_id", "value"),
    [
        (CardAction.MENU.value, "not-a-menu-value"),  # raised just after the ack
        (HomeAction.SHOW_RESULT.value, "customer:1"),  # views.push with no modal open
        (HomeAction.SHOW_RECENT.value, "customer:1"),
        (HomeAction.SEARCH_CUSTOMERS.value, ""),
        (TicketForm.CUSTOMER_INPUT.value, "1"),  # a customer chosen outside any modal
    ],
)
def test_a_button_whose_work_fails_after_the_ack_keeps_its_ack(
    world: tuple[ThreadedBot, Any], action_id: str, value: str
) -> None:
    threaded, slack = world
    sender = SlackSender("", SIGNING_SECRET, slack, None)  # type: ignore[arg-type]
    payload = sender.block_actions(
        team=TEAM_A,
        user=MEMBER_A,
        action={"action_id": action_id, "block_id": "b", "type": "button", "value": value},
    )
    # A trigger Slack no longer accepts, so opening or pushing a view fails.
    payload["trigger_id"] = "expired-trigger"
    response = threaded.interaction(payload)
    assert response.status_code == 200, response.text
    threaded.wait_idle()


def test_a_request_naming_no_workspace_is_refused(world: tuple[ThreadedBot, Any]) -> None:
    threaded, slack = world
    body = command_body(slack, "help").replace(f"team_id={TEAM_A}", "team_id=")
    response = threaded.post(body)
    assert response.status_code == 400


def test_bodies_that_are_not_utf8_are_refused_calmly(world: tuple[ThreadedBot, Any]) -> None:
    threaded, _ = world
    for body in (b"\xff\xfe{", b"payload=\xff", b"command=/pmp&text=\xc3"):
        response = threaded.http.post(
            threaded.bot.events_url,
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        # Unsigned: refused before the body is even decoded (signed ones: test_front_door).
        assert response.status_code == 401
        assert_no_traceback(response.text)


def test_hostile_form_bodies_never_reach_pmp_or_slack_as_tracebacks(
    world: tuple[ThreadedBot, Any],
) -> None:
    threaded, slack = world
    body = urlencode({"payload": json.dumps({"type": "view_submission", "view": None})})
    assert_calm(threaded.post(body))
    threaded.wait_idle()
    for call in slack.calls:
        assert_no_traceback(json.dumps(call.params, ensure_ascii=False))


@FUZZ
@given(
    action_id=st.sampled_from(
        [
            TicketForm.CUSTOMER_INPUT.value,
            RecordForm.CUSTOMER_OPTIONS.value,
            RecordForm.PROJECT_OPTIONS.value,
            RecordForm.COUNTRY_OPTIONS.value,
        ]
    ),
    value=slack_text,
    private_metadata=st.one_of(st.just(""), slack_text, json_values.map(json.dumps)),
)
def test_fuzzed_typeahead_loads_are_answered_calmly(
    world: tuple[ThreadedBot, Any], action_id: str, value: str, private_metadata: str
) -> None:
    threaded, _ = world
    payload = {
        "type": "block_suggestion",
        "team": {"id": TEAM_A, "domain": "t0001"},
        "user": {"id": MEMBER_A, "team_id": TEAM_A},
        "api_app_id": "A0PMPBOT",
        "action_id": action_id,
        "block_id": "b",
        "value": value,
        "view": {"id": "V0FUZZ", "type": "modal", "private_metadata": private_metadata},
    }
    response = threaded.interaction(payload)
    assert response.status_code == 200, response.text
    assert_no_traceback(response.text)
    answer = response.json()
    assert isinstance(answer.get("options", answer.get("option_groups")), list), answer


@FUZZ
@given(
    callback_id=st.sampled_from([TicketForm.NEW_SHORTCUT.value, TicketForm.FROM_MESSAGE.value]),
    message=st.one_of(st.none(), st.dictionaries(slack_text, json_values, max_size=3)),
)
def test_fuzzed_shortcuts_are_answered_calmly(
    world: tuple[ThreadedBot, Any], callback_id: str, message: dict[str, Any] | None
) -> None:
    threaded, slack = world
    payload: dict[str, Any] = {
        "type": "shortcut" if callback_id == TicketForm.NEW_SHORTCUT else "message_action",
        "team": {"id": TEAM_A, "domain": "t0001"},
        "user": {"id": MEMBER_A, "team_id": TEAM_A},
        "api_app_id": "A0PMPBOT",
        "callback_id": callback_id,
        "trigger_id": slack.new_trigger_id(TEAM_A, MEMBER_A),
    }
    if payload["type"] == "message_action":
        payload["channel"] = {"id": "C0001", "name": "general"}
        payload["response_url"] = slack.new_response_url(TEAM_A, "C0001", MEMBER_A)
        if message is not None:
            payload["message"] = message
    response = threaded.interaction(payload)
    assert response.status_code == 200, response.text
    assert_no_traceback(response.text)
