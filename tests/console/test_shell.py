"""The console shell driving a toy Bolt app (request verification on) with scripted lines."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.console import shell as shell_module
from bot.console.shell import ConsoleShell, run_console
from bot.console.slack_standin import RunningSlackStandin
from tests.console.conftest import ShellRig
from tests.console.toy_app import SIGNING_SECRET, build_toy_app, serve

EVERY_INPUT_ANSWERS = [
    "",  # Company: keep "Acme"
    "Long notes",
    ".",  # ends the multi-line answer
    "1.5",  # not a whole number: asked again
    "3",
    "not-an-email",
    "a@b.co",
    "https://acme.test",
    "2",  # Status: Closed
    "1, 3",  # Tags: VIP, Old
    "sam",  # Owner
    "#general",  # Channel
    "2024-02-30",  # no such date: asked again
    "2024-12-31",
    "9:30",
    "2024-12-31 09:30",
    "1,2",  # Flags
    "High",  # Priority by name
]


async def test_command_with_ephemeral_reply(rig: ShellRig) -> None:
    transcript = await rig.run("/hello a & <b>")
    assert "> /hello a & <b>" in transcript
    assert "pmp-bot in #general (only visible to you) · message 1:\n  Hello *a & <b>*" in transcript
    assert "[1 Wave]  [2 Forget (danger)]  ... [3 Snooze] [4 Mute]  [5 choose: Mood]" in transcript
    command = rig.seen[-1]
    # Slack escapes what users type, and mints its own response URL and trigger id.
    assert command["text"] == "a &amp; &lt;b&gt;"
    assert command["command"] == "/hello"
    assert (command["team_id"], command["user_id"], command["channel_id"]) == (
        "T0001",
        "U0001",
        "C0001",
    )
    assert command["user_name"] == "alex"
    assert command["channel_name"] == "general"
    assert command["response_url"].startswith(rig.slack.root_url)
    assert command["trigger_id"]


async def test_an_earlier_message_can_still_be_pressed(rig: ShellRig) -> None:
    transcript = await rig.run(
        "/hello first", "/hello second", "press 1 in 1", "press 5 in 2 Sad", "press 1 in 1"
    )
    assert "(only visible to you) · message 2:\n  Hello *second*" in transcript
    presses = rig.payloads("block_actions")
    assert presses[0]["actions"][0]["action_id"] == "wave"
    first = rig.slack.find_message(presses[0]["container"]["message_ts"])
    assert first is not None and first.text == "You waved (w1)"  # message 1, replaced
    assert "pmp-bot replaced the message in #general (only visible to you):" in transcript
    # The mood menu of message 2, answered after its number.
    assert presses[1]["actions"][0]["selected_option"]["value"] == "sad"
    second = rig.slack.find_message(presses[1]["container"]["message_ts"])
    assert second is not None and second.text == "Hello second"
    # Message 1 was replaced by one without buttons: nothing is left to press there.
    assert "press 1 in 1: there is no message 1 to press" in transcript
    assert len(presses) == 2


async def test_press_in_names_what_is_wrong(rig: ShellRig) -> None:
    transcript = await rig.run("/hello you", "press 9 in 1", "press 1 in 7")
    assert "press 9 in 1: message 1 has actions 1, 2, 3, 4, 5" in transcript
    assert "press 1 in 7: there is no message 7 to press" in transcript
    assert rig.payloads("block_actions") == []


async def test_plain_text_ack_is_shown(rig: ShellRig) -> None:
    transcript = await rig.run("/plain x&y")
    assert "(only visible to you):\n  You said: x&y" in transcript


async def test_button_press_sends_block_actions_and_replaces_the_message(rig: ShellRig) -> None:
    transcript = await rig.run("/hello you", "press 1")
    assert "pmp-bot replaced the message in #general (only visible to you):" in transcript
    assert "You waved (w1)" in transcript
    press = rig.payloads("block_actions")[-1]
    assert press["container"]["type"] == "message"
    assert press["container"]["is_ephemeral"] is True
    assert "message" not in press  # Slack leaves it out for ephemeral messages
    assert press["response_url"].startswith(rig.slack.root_url)
    action = press["actions"][0]
    assert (action["action_id"], action["block_id"], action["value"], action["type"]) == (
        "wave",
        "greeting",
        "w1",
        "button",
    )
    assert action["text"] == {"type": "plain_text", "text": "Wave"}
    # The ephemeral message itself was replaced at the stand-in.
    replaced = rig.slack.find_message(press["container"]["message_ts"])
    assert replaced is not None and replaced.text == "You waved (w1)"
    # Its buttons are gone with it.
    assert "press 2: there is nothing to press yet" in await rig.run("press 2")


async def test_confirm_dialog_can_be_declined_or_accepted(rig: ShellRig) -> None:
    await rig.run("/hello you")
    declined = await rig.run("press 2", "n")
    assert "Forget?: This cannot be undone." in declined
    assert "Forget or Keep? [y/n]: n" in declined
    assert "Cancelled." in declined
    assert rig.payloads("block_actions") == []
    accepted = await rig.run("press 2", "y")
    assert "(pmp-bot deleted the message in #general)" in accepted
    assert rig.payloads("block_actions")[0]["actions"][0]["action_id"] == "forget"


async def test_overflow_items_and_select_choices(rig: ShellRig) -> None:
    await rig.run("/hello you")
    assert "Chose mute" in await rig.run("press 4")
    overflow = rig.payloads("block_actions")[-1]["actions"][0]
    assert overflow["type"] == "overflow"
    assert overflow["selected_option"]["value"] == "mute"
    # A select asks for its choice, or takes it after the number.
    asked = await rig.run("press 5", "2")
    assert "  1. Happy\n  2. Sad\n" in asked
    assert "Mood sad" in asked
    assert "Mood happy" in await rig.run("press 5 1")
    select = rig.payloads("block_actions")[-1]
    assert select["actions"][0]["selected_option"]["value"] == "happy"
    assert select["state"]["values"]["greeting"]["mood"]["selected_option"]["value"] == "happy"


async def test_bad_input_is_explained_without_tracebacks(rig: ShellRig) -> None:
    transcript = await rig.run(
        "press 1", "/hello you", "press 9", "press x", "press", "dance", "press 5 7", "help"
    )
    assert "press 1: there is nothing to press yet" in transcript
    assert "press 9: there is no action 9" in transcript
    assert "press x: give the number of an action" in transcript
    assert "Unknown command 'dance'. Slash commands start with /, like /pmp help" in transcript
    # A bad answer after the number drops the press; the next line stays a command.
    assert "Choose a number from 1 to 2." in transcript
    assert "Commands:" in transcript
    assert "Traceback" not in transcript
    assert rig.payloads("block_actions") == []


def submitted_values(rig: ShellRig) -> dict[str, Any]:
    values: dict[str, Any] = rig.payloads("view_submission")[-1]["view"]["state"]["values"]
    return values


async def test_cancel_in_a_field_closes_the_form(rig: ShellRig) -> None:
    transcript = await rig.run("/form", "", "cancel", "/hello again")
    assert "Notes [long text up to a line with only ., optional]: cancel" in transcript
    assert "(Modal closed.)" in transcript
    assert rig.payloads("view_submission") == []
    assert rig.payloads("view_closed")  # the app asked to hear about it (notify_on_close)
    assert "Hello *again*" in transcript  # the next line is a command again
    assert rig.slack.modal_stack("T0001", "U0001") == []


async def test_back_returns_to_the_field_before(rig: ShellRig) -> None:
    answers = list(EVERY_INPUT_ANSWERS)
    seats = answers.index("1.5")
    # At Seats, go back to Notes and type them again.
    answers[seats:seats] = ["back", "Other notes", "."]
    transcript = await rig.run("/form", "back", *answers, "submit")
    assert "(There is no field before this one.)" in transcript  # back at the first field
    assert transcript.count("Notes [long text up to a line with only .") == 2
    assert submitted_values(rig)["notes"]["value"]["value"] == "Other notes"


async def test_a_long_text_takes_several_lines(rig: ShellRig) -> None:
    answers = list(EVERY_INPUT_ANSWERS)
    notes = answers.index("Long notes")
    answers[notes : notes + 2] = ["First line", "", "Third line", "."]
    await rig.run("/form", *answers, "submit")
    assert submitted_values(rig)["notes"]["value"]["value"] == "First line\n\nThird line"


async def test_a_backslash_types_a_form_word_as_a_value(rig: ShellRig) -> None:
    await rig.run("/form", "\\cancel", *EVERY_INPUT_ANSWERS[1:], "submit")
    assert submitted_values(rig)["company"]["value"]["value"] == "cancel"


async def test_edit_asks_one_field_again_by_its_name_and_back_the_last(rig: ShellRig) -> None:
    transcript = await rig.run(
        "/form", *EVERY_INPUT_ANSWERS, "edit sea", "7", "edit nothing", "back", "1", "submit"
    )
    assert "edit nothing: no field is called that; the fields: Company, Notes, Seats" in transcript
    values = submitted_values(rig)
    assert values["seats"]["value"]["value"] == "7"
    assert values["priority"]["value"]["selected_option"]["value"] == "low"  # back: the last


async def test_quit_in_a_field_leaves_without_complaint(rig: ShellRig) -> None:
    transcript = await rig.run("/form", "quit", "/hello never")
    assert "(Input ended" not in transcript
    assert "never" not in transcript.split("quit", 1)[1]


async def test_in_moves_to_another_channel(rig: ShellRig) -> None:
    transcript = await rig.run("in #sales", "/hello there", "in #nowhere")
    assert "You are now typing in #sales (pmp-bot is not in it)." in transcript
    assert rig.seen[-1]["channel_id"] == "C0002"
    assert "in: there is no channel '#nowhere'. People: @alex (owner), @sam." in transcript


async def test_help_lists_people_channels_and_shortcuts(rig: ShellRig) -> None:
    transcript = await rig.run("help")
    assert "People: @alex (owner), @sam. Channels: #general, #sales, #board." in transcript
    assert "Shortcuts: New thing, Summarise this, Gone." in transcript
    assert "cancel closes the form" in transcript


async def test_unhandled_and_failing_requests(rig: ShellRig) -> None:
    transcript = await rig.run("/nothing", "/boom", "shortcut gone")
    assert "The app has no handler for this /nothing command (HTTP 404)." in transcript
    assert "The app answered the /boom command with HTTP 500" in transcript
    assert "The app has no handler for this shortcut gone (HTTP 404)." in transcript


async def test_a_shortcut_the_app_does_not_declare_is_not_sent(rig: ShellRig) -> None:
    transcript = await rig.run("shortcut unknown_one", "message-shortcut Nope some text")
    assert (
        "shortcut: there is no shortcut 'unknown_one'. "
        "Shortcuts: New thing, Summarise this, Gone." in transcript
    )
    assert "message-shortcut: there is no shortcut 'Nope'." in transcript
    assert rig.payloads("shortcut") == rig.payloads("message_action") == []


@pytest.mark.parametrize(
    "line",
    [
        "message-shortcut Summarise this Please look",  # its name, as the manifest has it
        'message-shortcut "Summarise this" Please look',
        "message-shortcut summarise Please look",  # its callback id
    ],
)
async def test_a_message_shortcut_by_name_or_callback_id(rig: ShellRig, line: str) -> None:
    transcript = await rig.run(line)
    assert "You posted in #general: Please look\n" in transcript
    assert rig.payloads("message_action")[0]["callback_id"] == "summarise"


async def test_modal_with_every_input_type(rig: ShellRig) -> None:
    transcript = await rig.run("/form", *EVERY_INPUT_ANSWERS, "submit")
    assert "=== Every input ===" in transcript
    assert "Company [text, required] (now: Acme): \n" in transcript
    assert "Type a whole number." in transcript
    assert "Type an email address" in transcript
    assert "Type a date as YYYY-MM-DD" in transcript
    assert "(Modal submitted and closed.)" in transcript
    assert (
        "Saved: company=Acme; notes=Long notes; seats=3; email=a@b.co; "
        "site=https://acme.test; status=closed; tags=vip,old; owner=U0001M; channel=C0001; "
        "due=2024-12-31; at=09:30; when=1735637400; flags=public,billable; priority=high"
    ) in transcript
    submission = rig.payloads("view_submission")[0]
    values = submission["view"]["state"]["values"]
    assert values["seats"]["value"] == {"type": "number_input", "value": "3"}
    assert values["tags"]["value"]["type"] == "multi_static_select"
    assert [o["value"] for o in values["tags"]["value"]["selected_options"]] == ["vip", "old"]
    assert values["owner"]["value"] == {"type": "users_select", "selected_user": "U0001M"}
    assert values["channel"]["value"]["selected_conversation"] == "C0001"
    assert values["due"]["value"] == {"type": "datepicker", "selected_date": "2024-12-31"}
    assert values["at"]["value"] == {"type": "timepicker", "selected_time": "09:30"}
    assert values["when"]["value"]["selected_date_time"] == 1735637400
    assert values["priority"]["value"]["selected_option"]["value"] == "high"
    assert submission["view"]["callback_id"] == "every_input"
    assert json.loads(submission["view"]["private_metadata"]) == {"channel": "C0001"}
    assert submission["view"]["hash"] == rig.slack.views[submission["view"]["id"]]["hash"]
    assert rig.slack.modal_stack("T0001", "U0001") == []


async def test_errors_are_shown_and_only_those_fields_asked_again(rig: ShellRig) -> None:
    answers = ["bad", *EVERY_INPUT_ANSWERS[1:]]
    transcript = await rig.run("/form", *answers, "submit", "Good Co", "submit")
    assert "The app found problems in the form:\n  Company: That name is taken" in transcript
    assert "  Company [text, required]: bad\n    ! That name is taken" in transcript
    after_errors = transcript.split("That name is taken", 2)[2]
    assert "Company [text, required] (now: bad): Good Co" in after_errors
    # The other answers are kept, not asked again.
    assert "  Seats [number, required]: 3\n" in after_errors
    assert "Seats [number, required] (now: 3)" not in transcript
    assert "Saved: company=Good Co; notes=Long notes; seats=3" in transcript
    assert len(rig.payloads("view_submission")) == 2


async def test_required_fields_block_submission_and_cancel_notifies(rig: ShellRig) -> None:
    blanks = [""] * 14
    transcript = await rig.run("/form", *blanks, "submit", *[""] * 11, "cancel")
    assert "Fill in the required fields first." in transcript
    assert "  Seats [number, required]: (empty)\n    ! This field is required." in transcript
    assert rig.payloads("view_submission") == []
    closed = rig.payloads("view_closed")
    assert len(closed) == 1 and closed[0]["is_cleared"] is False
    assert "(Modal closed.)" in transcript
    assert "(only visible to you):\n  Form cancelled" in transcript


async def test_external_select_typeahead_and_dispatch_action_update(rig: ShellRig) -> None:
    transcript = await rig.run(
        "/ticket",
        "a",
        "acme",
        "glob",  # a new search instead of a pick
        "1",  # Globex: the app adds a contact field
        "1",
        "Broken printer",
        "edit",
        "ac",
        "2",  # Acme Holdings: the contact field is replaced
        "1",
        "submit",
        "close",
    )
    assert "Type at least 2 characters to search." in transcript
    assert "  1. Acme Ltd\n  2. Acme Holdings\n" in transcript
    assert "Pick a number (or type a new search): glob\n  1. Globex\n" in transcript
    assert "(The app changed the form.)" in transcript
    suggestions = rig.payloads("block_suggestion")
    assert [s["value"] for s in suggestions] == ["acme", "glob", "ac"]
    assert suggestions[0]["action_id"] == "customer_search"
    assert suggestions[0]["container"]["type"] == "view"
    dispatched = rig.payloads("block_actions")
    assert [d["actions"][0]["selected_option"]["value"] for d in dispatched] == ["3", "2"]
    assert "Contact [pick one, required]: 1\nSubject [text, required]: Broken printer" in transcript
    assert "Customer [search, required] (now: Globex) - type to search: ac" in transcript
    # The new contact field (a new block id) is asked; the subject keeps its answer.
    assert "  1. Cy\nContact [pick one, required]: 1" in transcript
    assert "=== Ticket created ===\n  Ticket for Acme Holdings / cy: Broken printer" in transcript
    assert "(Modal closed.)" in transcript


async def test_message_shortcut(rig: ShellRig) -> None:
    transcript = await rig.run("message-shortcut summarise Please <look> at this & that")
    assert "You posted in #general: Please <look> at this & that" in transcript
    assert "(only visible to you):\n  Summary of: Please <look> at this & that" in transcript
    action = rig.payloads("message_action")[0]
    assert action["callback_id"] == "summarise"
    assert action["message"]["text"] == "Please &lt;look&gt; at this &amp; that"
    assert action["message"]["user"] == "U0001"
    assert action["message_ts"] == action["message"]["ts"]


async def test_global_shortcut_push_and_back(rig: ShellRig) -> None:
    transcript = await rig.run("shortcut New thing", "Widget", "submit", "close", "cancel")
    assert rig.payloads("shortcut")[0]["callback_id"] == "new_thing"
    assert "=== Added ===\n  Widget" in transcript
    # Closing the pushed view goes back to the first one, already filled in.
    assert "(Modal closed.)\n  === New thing ===\n  Name [text, required]: Widget" in transcript
    assert rig.slack.modal_stack("T0001", "U0001") == []


async def test_home_tab(rig: ShellRig) -> None:
    transcript = await rig.run("home", "press 1", "press 1")
    assert "  === Home ===\n  # PMP home\n  Pressed *0* times\n  [1 Count]" in transcript
    assert "Pressed *2* times" in transcript
    event = rig.seen[0]
    assert event["type"] == "event_callback"
    assert event["event"]["type"] == "app_home_opened"
    assert event["event"]["tab"] == "home"
    press = rig.payloads("block_actions")[0]
    assert press["container"] == {"type": "view", "view_id": press["view"]["id"]}
    assert press["view"]["type"] == "home"


async def test_switching_user(rig: ShellRig) -> None:
    transcript = await rig.run("as sam", "/hello there")
    assert "You are now @sam (U0001M, member)." in transcript
    assert rig.seen[-1]["user_id"] == "U0001M"
    nobody = await rig.run("as nobody")
    assert "as: there is nobody called 'nobody' here. People: @alex (owner), @sam." in nobody
    assert "(Added U0042 to the workspace as a member.)" in await rig.run("as U0042")
    assert rig.slack.user("T0001", "U0042") is not None


async def test_wrong_signing_secret_is_refused(slack: RunningSlackStandin) -> None:
    app = build_toy_app(slack)
    transport = httpx.ASGITransport(app=serve(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://toy.test") as http:
        out = io.StringIO()
        shell = ConsoleShell(
            http=http,
            signing_secret="not-the-secret",
            slack=slack,
            team_id="T0001",
            user_id="U0001",
            channel_id="C0001",
            out=out,
            settle_quiet=0.05,
        )
        await shell.run(["/hello you"])
    assert "The app refused the request (HTTP 401)" in out.getvalue()
    assert "signing secret" in out.getvalue()


async def test_run_reads_async_lines_and_stops_at_quit(rig: ShellRig) -> None:
    async def lines() -> AsyncIterator[str]:
        for line in ("# a comment", "", "/plain one\n", "quit", "/plain two"):
            yield line

    await rig.shell.run(lines())
    transcript = rig.out.getvalue()
    assert "You said: one" in transcript
    assert "You said: two" not in transcript
    assert await rig.shell.execute("exit") is False


async def test_input_ending_inside_a_form(rig: ShellRig) -> None:
    transcript = await rig.run("/form", "", "notes")
    assert "(Input ended with the modal still open.)" in transcript


async def test_background_work_is_waited_for(rig: ShellRig) -> None:
    transcript = await rig.run("/later")
    # The lazy listener posts after the ack has been answered; the shell waits for it.
    assert "(only visible to you):\n  Working on it\npmp-bot in #general:\n  Done later" in (
        transcript
    )


async def test_modal_actions_clear_and_ignored_ack_messages(rig: ShellRig) -> None:
    transcript = await rig.run("/wizard", "press 1", "2", "press 2", "trace on", "submit")
    assert "=== Size ? ===\n  [1 choose: Size]  [2 Chat]" in transcript
    # The app updated the view; the select keeps the user's choice (same block and action id).
    assert "=== Size L ===\n  [1 choose: Large]  [2 Chat]" in transcript
    assert "Slack ignores messages in the answer to this request" in transcript
    # "trace on" is no answer to a form
    assert "Please answer submit, cancel, back, edit [FIELD] or press N." in transcript
    assert "(The app closed all its modals.)" in transcript
    assert rig.slack.modal_stack("T0001", "U0001") == []
    press = rig.payloads("block_actions")[0]
    assert press["container"]["type"] == "view"
    assert press["view"]["state"]["values"]["sizes"]["size"]["selected_option"]["value"] == "L"


async def test_trace_lists_web_api_calls(rig: ShellRig) -> None:
    transcript = await rig.run("trace on", "/later", "trace off", "/later")
    assert "Tracing Web API calls is on." in transcript
    assert transcript.count("  . chat.postMessage -> ok") == 1


async def test_failed_web_api_calls_are_reported(rig: ShellRig) -> None:
    rig.slack.fail_next("chat.postMessage", error="not_in_channel")
    transcript = await rig.run("/later")
    assert "! The app called chat.postMessage; Slack answered not_in_channel." in transcript


async def test_slow_acks_are_flagged(rig: ShellRig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shell_module, "ACK_DEADLINE_SECONDS", 0.0)
    transcript = await rig.run("/plain hi")
    assert "Slack stops waiting after" in transcript


async def test_run_console_serves_an_asgi_app(slack: RunningSlackStandin) -> None:
    out = io.StringIO()
    await run_console(
        serve(build_toy_app(slack)),
        signing_secret=SIGNING_SECRET,
        slack=slack,
        out=out,
        lines=["/plain from the helper"],
    )
    assert "You said: from the helper" in out.getvalue()
