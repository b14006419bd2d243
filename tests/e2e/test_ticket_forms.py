"""Ticket forms end to end: signed Slack payloads over HTTP to the real bot, the PMP sandbox
behind it, modals recorded by the Slack stand-in; and the same flow through `pmp-bot shell`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from io import StringIO
from pathlib import Path
from typing import Any

import httpx

from bot.blocks.fields import SLOW_VALUE
from bot.blocks.ids import CardAction, TicketForm
from bot.blocks.ticket_forms import (
    CUSTOMER_BLOCK,
    SUBJECT_BLOCK,
    build_new_ticket_modal,
    new_ticket_form,
)
from bot.console.slack_standin import RunningSlackStandin
from bot.names import Choice, TicketSettings
from bot.run.embedded import RunningBot, running_bot
from bot.run.shell import run_shell
from bot.tickets import CustomerPeople, ticket_choices
from tests.e2e.conftest import MEMBER_A, OWNER_A, SIGNING_SECRET, TEAM_A, bot_settings
from tests.e2e.slack_client import SlackSender
from tests.tickets.helpers import (
    JsonDict,
    element_of,
    picked,
    shown_values,
    submitted,
    typed,
)

CHANNEL = "C0001"
WAIT = 15.0


# ------------------------------------------------------------------ Slack's side of the flow


async def _new_view(slack: RunningSlackStandin, method: str, since: int) -> JsonDict:
    call = await slack.wait_for(method, lambda c: c.ok, timeout=WAIT, since=since)
    view = call.response["view"]
    assert isinstance(view, dict)
    return view


async def open_by_command(
    sender: SlackSender, slack: RunningSlackStandin, text: str = "ticket new", user: str = MEMBER_A
) -> JsonDict:
    since = len(slack.calls)
    response = await sender.command(text, team=TEAM_A, user=user)
    assert response.status_code == 200
    assert response.text == ""
    return await _new_view(slack, "views.open", since)


async def suggest(sender: SlackSender, view: JsonDict, query: str) -> list[JsonDict]:
    payload = {
        "type": "block_suggestion",
        "user": {"id": MEMBER_A, "team_id": TEAM_A},
        "team": {"id": TEAM_A, "domain": TEAM_A.lower()},
        "api_app_id": sender.api_app_id,
        "container": {"type": "view", "view_id": view["id"]},
        "action_id": TicketForm.CUSTOMER_INPUT.value,
        "block_id": CUSTOMER_BLOCK,
        "value": query,
        "view": view,
    }
    response = await sender.interaction(payload)
    assert response.status_code == 200
    options = response.json()["options"]
    assert isinstance(options, list)
    return options


def with_state(view: JsonDict, answers: dict[str, JsonDict]) -> JsonDict:
    """The view as the user left it: each input's initial value, or their answer."""
    return submitted(view, answers)


async def choose_customer(
    sender: SlackSender,
    slack: RunningSlackStandin,
    view: JsonDict,
    option: JsonDict,
    answers: dict[str, JsonDict] | None = None,
) -> JsonDict:
    """Picks a customer (dispatch_action): the modal is updated with its contacts."""
    since = len(slack.calls)
    payload = sender.block_actions(
        team=TEAM_A,
        user=MEMBER_A,
        action={
            "action_id": TicketForm.CUSTOMER_INPUT.value,
            "block_id": CUSTOMER_BLOCK,
            "type": "external_select",
            "selected_option": option,
        },
        view=with_state(view, {**(answers or {}), CUSTOMER_BLOCK: {"selected_option": option}}),
    )
    assert (await sender.interaction(payload)).status_code == 200
    return await _new_view(slack, "views.update", since)


async def submit(
    sender: SlackSender, view: JsonDict, answers: dict[str, JsonDict] | None = None
) -> httpx.Response:
    state = with_state(view, answers or {})["state"]["values"]
    payload = sender.view_submission(team=TEAM_A, user=MEMBER_A, view=view, values=state)
    return await sender.interaction(payload)


def ticket_ids(pmp: Any) -> set[int]:
    return {int(t["ticketid"]) for t in pmp.store.tickets()}


async def ready_form(
    sender: SlackSender, slack: RunningSlackStandin, subject: str = "Printer jammed"
) -> JsonDict:
    """`/pmp ticket new <subject>`, Acme chosen: the form ready to submit."""
    view = await open_by_command(sender, slack, f"ticket new {subject}")
    acme = next(o for o in await suggest(sender, view, "acme") if o["value"] == "1")
    updated = await choose_customer(sender, slack, view, acme)
    return updated


# Choosing the customer lists the departments of PMP's tickets (1 is Support in the sandbox).
DEPARTMENT = {"ticket.department": picked("1", "Support")}


# ------------------------------------------------------------------ opening the form


async def test_the_command_opens_the_modal_before_asking_pmp(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp: Any
) -> None:
    _, sender = connected
    pmp.faults.hang = True  # a PMP that never answers can't delay the modal
    view = await open_by_command(sender, slack, "ticket new Printer &amp; scanner jammed")
    pmp.faults.hang = False
    assert view["callback_id"] == TicketForm.NEW_MODAL
    assert element_of(view, SUBJECT_BLOCK)["initial_value"] == "Printer & scanner jammed"
    assert element_of(view, CUSTOMER_BLOCK)["type"] == "external_select"


async def test_customer_options_come_from_pmps_search(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp: Any
) -> None:
    _, sender = connected
    view = await open_by_command(sender, slack)
    options = await suggest(sender, view, "acme")
    labels = {o["text"]["text"] for o in options}
    assert {"Acme Corporation", "Acme Widgets Ltd", "Acme Supplies Inc."} <= labels
    assert "Acme Legacy Holdings" not in labels  # inactive: PMP's search hides it

    pmp.store.add_bulk_customers(300)
    many = await suggest(sender, view, "a")
    assert len(many) == 100

    pmp.faults.latency = 2.5
    slow = await suggest(sender, view, "zzz-slow-query")
    assert [o["value"] for o in slow] == [SLOW_VALUE]


async def test_choosing_a_customer_lists_its_contacts_and_keeps_what_was_typed(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    _, sender = connected
    view = await open_by_command(sender, slack, "ticket new Printer jammed")
    acme = next(o for o in await suggest(sender, view, "acme") if o["value"] == "1")
    typed_before = {
        "ticket.message": typed("It says PC LOAD LETTER."),
        "ticket.tags": typed("printer"),
        SUBJECT_BLOCK: typed("Printer jammed on floor 2"),
    }
    updated = await choose_customer(sender, slack, view, acme, typed_before)
    assert updated["id"] == view["id"]
    contact = element_of(updated, "ticket_1.contactid")
    assert contact["initial_option"]["text"]["text"].startswith("Jane Doe")
    assert {o["text"]["text"].split(" · ")[0] for o in contact["options"]} == {
        "Jane Doe",
        "John Smith",
    }
    projects = {o["text"]["text"] for o in element_of(updated, "ticket_1.project_id")["options"]}
    assert {"ERP Migration", "Website Redesign"} <= projects
    shown = shown_values(with_state(updated, {}))
    assert shown[SUBJECT_BLOCK] == "Printer jammed on floor 2"
    assert shown["ticket.message"] == "It says PC LOAD LETTER."
    assert shown["ticket.tags"] == "printer"
    assert shown[CUSTOMER_BLOCK] == "1"


# ------------------------------------------------------------------ submitting


async def test_a_valid_submission_opens_one_ticket_and_links_it(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp: Any
) -> None:
    bot, sender = connected
    await bot.services.workspaces.set_notify_channel(TEAM_A, None, CHANNEL)
    view = await ready_form(sender, slack, "Printer jammed")
    before = ticket_ids(pmp)
    since = len(slack.calls)
    response = await submit(
        sender,
        view,
        {**DEPARTMENT, "ticket.tags": typed("printer, urgent"), "ticket.cc": typed("a@b.example")},
    )
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_action"] == "update"

    new = ticket_ids(pmp) - before
    assert len(new) == 1
    ticket_id = new.pop()
    record = pmp.store.ticket(str(ticket_id))
    assert (record["subject"], record["userid"], record["contactid"]) == (
        "Printer jammed",
        "1",
        "1",
    )
    assert pmp.store.tags("ticket", str(ticket_id)) == ["printer", "urgent"]
    url = f"{pmp.base_url}/admin/tickets/ticket/{ticket_id}"
    assert f"<{url}|#{ticket_id} Printer jammed>" in json.dumps(answer["view"])

    notice = await slack.wait_for("chat.postMessage", timeout=WAIT, since=since)
    assert notice.params["channel"] == CHANNEL
    assert f"<@{MEMBER_A}> opened ticket *<{url}|Printer jammed>*" in notice.params["text"]


async def test_invalid_input_is_answered_with_errors_on_the_right_blocks(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp: Any
) -> None:
    _, sender = connected
    view = await ready_form(sender, slack)
    before = ticket_ids(pmp)
    response = await submit(
        sender,
        view,
        {
            SUBJECT_BLOCK: typed("  "),
            "ticket.department": typed("0"),
            "ticket.cc": typed("not an email"),
        },
    )
    answer = response.json()
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {SUBJECT_BLOCK, "ticket.department", "ticket.cc"}
    assert ticket_ids(pmp) == before


class RefusingContactTransport(httpx.AsyncBaseTransport):
    """PMP as the sandbox serves it, except that it refuses tickets for contact 2 with a
    validation error, the way PMP reports one (HTTP 404, `error` per field)."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/api/tickets"):
            body = (await request.aread()).decode()
            if "contactid=2&" in body + "&":
                message = "The Contact field is not a contact of this customer."
                return httpx.Response(
                    404,
                    json={
                        "status": False,
                        "error": {"contactid": message},
                        "message": f"<p>{message}</p>\n",
                    },
                )
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@asynccontextmanager
async def bot_with_transport(
    slack: RunningSlackStandin, pmp: Any, tmp_path: Path, secret_key: str
) -> AsyncIterator[SlackSender]:
    settings = bot_settings(slack, f"sqlite:///{tmp_path / 'bot.sqlite3'}", secret_key)
    async with (
        running_bot(settings, pmp_transport_factory=RefusingContactTransport) as bot,
        httpx.AsyncClient(timeout=10) as http,
    ):
        await bot.services.workspaces.save_credentials(
            TEAM_A, None, pmp.base_url, pmp.token, connected_by=OWNER_A
        )
        yield SlackSender(
            events_url=bot.events_url, signing_secret=SIGNING_SECRET, standin=slack, http=http
        )


async def test_pmps_validation_errors_are_shown_on_the_right_blocks(
    slack: RunningSlackStandin, pmp: Any, tmp_path: Path, secret_key: str
) -> None:
    async with bot_with_transport(slack, pmp, tmp_path, secret_key) as sender:
        view = await ready_form(sender, slack)
        before = ticket_ids(pmp)
        refused = {**DEPARTMENT, "ticket_1.contactid": picked("2", "John Smith")}
        answer = (await submit(sender, view, refused)).json()
        assert answer == {
            "response_action": "errors",
            "errors": {
                "ticket_1.contactid": "The Contact field is not a contact of this customer."
            },
        }
        assert ticket_ids(pmp) == before
        # The key was released: the corrected form goes through.
        fixed = (await submit(sender, view, DEPARTMENT)).json()
        assert fixed["response_action"] == "update"
        assert len(ticket_ids(pmp) - before) == 1


async def _answer_or_later(
    slack: RunningSlackStandin, response: httpx.Response, since: int
) -> JsonDict:
    """What the user ends up seeing: the ack's errors, or the view PMP's late answer left."""
    answer = response.json()
    if answer["response_action"] == "errors":
        return {"errors": answer["errors"]}
    assert "Saving" in json.dumps(answer["view"])
    update = await slack.wait_for("views.update", timeout=WAIT, since=since)
    return {"view": update.params["view"]}


async def test_a_pmp_failure_keeps_the_form_and_a_resubmission_works(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp: Any
) -> None:
    _, sender = connected
    view = await ready_form(sender, slack)
    before = ticket_ids(pmp)
    pmp.faults.html_500 = True
    since = len(slack.calls)
    seen = await _answer_or_later(slack, await submit(sender, view, DEPARTMENT), since)
    # Errors in the ack, or (PMP slower than the ack allows) the form again with the reason.
    assert "HTTP 500" in json.dumps(seen)
    if "view" in seen:
        assert shown_values(with_state(seen["view"], {}))[SUBJECT_BLOCK] == "Printer jammed"
    assert ticket_ids(pmp) == before

    pmp.faults.html_500 = False
    answer = (await submit(sender, view, DEPARTMENT)).json()
    assert answer["response_action"] == "update"
    assert "Opened ticket" in json.dumps(answer["view"])
    assert len(ticket_ids(pmp) - before) == 1


async def test_a_slow_pmp_shows_saving_then_the_done_view(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp: Any
) -> None:
    _, sender = connected
    view = await ready_form(sender, slack)
    before = ticket_ids(pmp)
    pmp.faults.latency = 2.5
    since = len(slack.calls)
    answer = (await submit(sender, view, DEPARTMENT)).json()
    assert answer["response_action"] == "update"
    assert "Saving" in json.dumps(answer["view"])
    update = await slack.wait_for("views.update", timeout=30, since=since)
    assert update.params["view_id"] == view["id"]
    new = ticket_ids(pmp) - before
    assert len(new) == 1
    assert f"/admin/tickets/ticket/{new.pop()}|" in json.dumps(update.params["view"])


async def test_a_double_submit_opens_one_ticket(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp: Any
) -> None:
    _, sender = connected
    view = await ready_form(sender, slack)
    before = ticket_ids(pmp)
    pmp.faults.latency = 0.3  # both requests arrive while the first is saving
    first, second = await asyncio.gather(
        submit(sender, view, DEPARTMENT), submit(sender, view, DEPARTMENT)
    )
    assert len(ticket_ids(pmp) - before) == 1
    answers = [first.json(), second.json()]
    assert all(a["response_action"] == "update" for a in answers)
    assert any("Opened ticket" in json.dumps(a["view"]) for a in answers)


# ------------------------------------------------------------------ other ways in


async def test_the_message_shortcut_fills_subject_message_and_permalink(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    _, sender = connected
    message = slack.add_message(
        TEAM_A,
        CHANNEL,
        text="Invoice &amp; receipt export fails &lt;again&gt;\nSee <https://x.example|the log>",
        user_id=MEMBER_A,
    )
    since = len(slack.calls)
    payload = {
        "type": "message_action",
        "callback_id": TicketForm.FROM_MESSAGE.value,
        "trigger_id": slack.new_trigger_id(TEAM_A, MEMBER_A),
        "team": {"id": TEAM_A, "domain": TEAM_A.lower()},
        "user": {"id": MEMBER_A, "team_id": TEAM_A},
        "api_app_id": sender.api_app_id,
        "channel": {"id": CHANNEL, "name": "general"},
        "message_ts": message.ts,
        "message": {"type": "message", "ts": message.ts, "text": message.text, "user": MEMBER_A},
        "response_url": slack.new_response_url(TEAM_A, CHANNEL, MEMBER_A),
    }
    assert (await sender.interaction(payload)).status_code == 200
    loading = await _new_view(slack, "views.open", since)
    assert "Getting the ticket form ready" in json.dumps(loading)
    form = await _new_view(slack, "views.update", since)
    assert form["id"] == loading["id"]
    assert element_of(form, SUBJECT_BLOCK)["initial_value"] == (
        "Invoice & receipt export fails <again>"
    )
    text = element_of(form, "ticket.message")["initial_value"]
    assert text.startswith(
        "Invoice & receipt export fails <again>\nSee the log (https://x.example)"
    )
    permalink = (await slack.wait_for("chat.getPermalink", timeout=WAIT, since=since)).response
    assert text.endswith(f"From Slack: {permalink['permalink']}")


async def test_the_global_shortcut_opens_the_form(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    _, sender = connected
    since = len(slack.calls)
    payload = {
        "type": "shortcut",
        "callback_id": TicketForm.NEW_SHORTCUT.value,
        "trigger_id": slack.new_trigger_id(TEAM_A, MEMBER_A),
        "team": {"id": TEAM_A, "domain": TEAM_A.lower()},
        "user": {"id": MEMBER_A, "team_id": TEAM_A},
        "api_app_id": sender.api_app_id,
    }
    assert (await sender.interaction(payload)).status_code == 200
    view = await _new_view(slack, "views.open", since)
    assert view["callback_id"] == TicketForm.NEW_MODAL
    assert "initial_value" not in element_of(view, SUBJECT_BLOCK)


async def test_the_card_button_opens_the_form_for_that_customer(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp: Any
) -> None:
    _, sender = connected
    since = len(slack.calls)
    response = await sender.command("customer 3", team=TEAM_A, user=MEMBER_A)
    assert response.status_code == 200
    card = await slack.wait_for("response_url", timeout=WAIT, since=since)
    button = next(
        element
        for block in card.params["blocks"]
        for element in block.get("elements", [])
        if element.get("action_id") == CardAction.NEW_TICKET
    )
    since = len(slack.calls)
    payload = sender.block_actions(
        team=TEAM_A,
        user=MEMBER_A,
        action={"action_id": button["action_id"], "block_id": "b", "type": "button", "value": "3"},
    )
    assert (await sender.interaction(payload)).status_code == 200
    await _new_view(slack, "views.open", since)
    form = await _new_view(slack, "views.update", since)
    assert element_of(form, CUSTOMER_BLOCK)["initial_option"] == {
        "text": {"type": "plain_text", "text": "Acme Supplies Inc.", "emoji": True},
        "value": "3",
    }
    contacts = element_of(form, "ticket_3.contactid")["options"]
    assert [o["text"]["text"].split(" · ")[0] for o in contacts] == ["Emma Wilson", "Noah Taylor"]

    # Submitted as it stands, the ticket goes to that customer's primary contact.
    before = ticket_ids(pmp)
    answer = await submit(sender, form, {**DEPARTMENT, SUBJECT_BLOCK: typed("From the card")})
    assert answer.json()["response_action"] == "update"
    (new,) = ticket_ids(pmp) - before
    assert pmp.store.ticket(str(new))["contactid"] == "5"


async def test_a_ticket_from_an_unconnected_workspace_is_explained(
    slack: RunningSlackStandin, tmp_path: Path, secret_key: str
) -> None:
    settings = bot_settings(slack, f"sqlite:///{tmp_path / 'bot.sqlite3'}", secret_key)
    async with running_bot(settings) as bot, httpx.AsyncClient(timeout=10) as http:
        sender = SlackSender(bot.events_url, SIGNING_SECRET, slack, http)
        since = len(slack.calls)
        payload = {
            "type": "shortcut",
            "callback_id": TicketForm.NEW_SHORTCUT.value,
            "trigger_id": slack.new_trigger_id(TEAM_A, MEMBER_A),
            "team": {"id": TEAM_A, "domain": TEAM_A.lower()},
            "user": {"id": MEMBER_A, "team_id": TEAM_A},
            "api_app_id": sender.api_app_id,
        }
        assert (await sender.interaction(payload)).status_code == 200
        view = await _new_view(slack, "views.open", since)
        assert "isn't connected to PMP" in json.dumps(view)


# ------------------------------------------------------------------ /pmp settings


async def test_settings_are_for_admins_only(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    _, sender = connected
    since = len(slack.calls)
    response = await sender.command("settings", team=TEAM_A, user=MEMBER_A)
    assert response.status_code == 200
    reply = await slack.wait_for("response_url", timeout=WAIT, since=since)
    assert "Only workspace admins and owners" in json.dumps(reply.params)
    assert not [c for c in slack.calls[since:] if c.method == "views.open"]


async def test_an_admin_names_ticket_ids_and_bad_lines_are_refused(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    bot, sender = connected
    since = len(slack.calls)
    loading = await open_by_command(sender, slack, "settings", user=OWNER_A)
    form = await _new_view(slack, "views.update", since)
    assert form["id"] == loading["id"]
    # Names learned from PMP's tickets fill the form in.
    departments = element_of(form, "ticket_settings.departments")["initial_value"]
    assert "1 = Support" in departments.splitlines()
    assert "1 = Low" in element_of(form, "ticket_settings.priorities")["initial_value"]

    async def send(answers: dict[str, JsonDict], user: str = OWNER_A) -> JsonDict:
        state = with_state(form, answers)["state"]["values"]
        payload = sender.view_submission(team=TEAM_A, user=user, view=form, values=state)
        response = await sender.interaction(payload)
        answer = response.json()
        assert isinstance(answer, dict)
        return answer

    bad = await send({"ticket_settings.services": typed("1 = Hosting\nWeb design")})
    assert bad == {
        "response_action": "errors",
        "errors": {
            "ticket_settings.services": (
                "Line 2 (“Web design”) should be a number, = and a name, like 1 = Hosting."
            )
        },
    }
    member = await send({}, user=MEMBER_A)
    assert member["response_action"] == "errors"
    assert "Only workspace admins" in json.dumps(member)

    saved = await send({"ticket_settings.departments": typed("1 = Helpdesk\n2 = Sales")})
    assert saved["response_action"] == "update"
    assert "Saved the ticket settings" in json.dumps(saved["view"])
    stored = await bot.services.workspaces.get_ticket_settings(TEAM_A)
    assert dict(stored.departments) == {1: "Helpdesk", 2: "Sales"}

    # The new-ticket form now offers the departments by name.
    view = await open_by_command(sender, slack)
    options = element_of(view, "ticket.department")["options"]
    assert [(o["value"], o["text"]["text"]) for o in options] == [("1", "Helpdesk"), ("2", "Sales")]


async def test_choosing_a_customer_lists_the_departments_pmps_tickets_use(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin
) -> None:
    _, sender = connected
    view = await open_by_command(sender, slack, "ticket new Printer jammed")
    # Nothing named or learned yet: a number, with where to look it up.
    assert element_of(view, "ticket.department")["type"] == "number_input"
    acme = next(o for o in await suggest(sender, view, "acme") if o["value"] == "1")
    updated = await choose_customer(sender, slack, view, acme)
    options = element_of(updated, "ticket.department")["options"]
    assert [(o["value"], o["text"]["text"]) for o in options] == [
        ("1", "Support"),
        ("2", "Sales"),
        ("3", "Billing"),
    ]


async def test_an_unknown_department_is_confirmed_first_and_the_hidden_ticket_explained(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp: Any
) -> None:
    _, sender = connected
    # A form whose departments couldn't be learned: the number is typed.
    acme = CustomerPeople(Choice("1", "Acme Corporation"), (Choice("1", "Jane Doe"),), (), "1")
    no_names = ticket_choices(TicketSettings(), TicketSettings())
    form = new_ticket_form(no_names, subject="Lost in department 99").with_people(acme)
    answers = {"ticket.department": typed("99")}
    before = ticket_ids(pmp)

    warned = (await submit(sender, build_new_ticket_modal(form).to_dict(), answers)).json()
    assert warned["response_action"] == "update"
    assert "PMP hides tickets whose department doesn't exist" in json.dumps(warned["view"])
    assert ticket_ids(pmp) == before  # nothing sent yet

    done = (await submit(sender, warned["view"], answers)).json()
    assert done["response_action"] == "update"
    (new,) = ticket_ids(pmp) - before
    assert pmp.store.ticket(str(new))["department"] == "99"
    text = json.dumps(done["view"])
    assert "doesn't list it" in text and "department 99" in text
    assert "/pmp ticket" not in text  # PMP's search would not find it


async def test_names_seen_on_ticket_cards_fill_the_department_menu(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp: Any
) -> None:
    bot, sender = connected
    assert await bot.services.workspaces.get_ticket_settings(TEAM_A) == (
        TicketSettings.fresh_install()
    )
    since = len(slack.calls)
    await sender.command("ticket 1", team=TEAM_A, user=MEMBER_A)
    await slack.wait_for("response_url", timeout=WAIT, since=since)
    view = await open_by_command(sender, slack)
    department = pmp.store.ticket("1")["department_name"]
    labels = [o["text"]["text"] for o in element_of(view, "ticket.department")["options"]]
    assert labels == [department]


# ------------------------------------------------------------------ pmp-bot shell


def test_the_ticket_flow_through_the_shell() -> None:
    out = StringIO()
    skip_form = [""] * 9  # Enter at each of the nine fields of a fresh form
    lines = [
        "/pmp ticket new Printer jammed",
        "",  # keep the subject
        "acme",  # search customers...
        "1",  # ...and pick Acme Corporation: its contacts load
        "",  # keep the primary contact
        "",  # no project
        "1",  # department: the first of those PMP's tickets use (Support)
        "",  # keep Medium
        "",  # no service
        "",  # nobody assigned
        "It says PC LOAD LETTER.",
        "Again.",
        ".",  # ends the message
        "",  # no cc
        "printer",
        "submit",
        "close",
        "shortcut New PMP ticket",  # by its name in the manifest
        *skip_form,
        "cancel",
        "message-shortcut pmp_ticket_from_message Scanner & printer <both> down",
        *skip_form,
        "cancel",
    ]
    assert asyncio.run(run_shell(out=out, lines=lines)) == 0
    transcript = out.getvalue()
    assert "Contact [pick one, required]: Jane Doe" in transcript
    assert "Opened ticket *#41 Printer jammed (http://127.0.0.1:" in transcript
    assert "/admin/tickets/ticket/41" in transcript
    assert "> shortcut New PMP ticket\n  === New PMP ticket ===" in transcript
    assert "Subject [text, required]: Scanner & printer <both> down" in transcript
    assert "From Slack: https://" in transcript
    assert "has no handler" not in transcript
    assert transcript.count("(Modal closed.)") == 3


async def test_searches_after_opening_a_ticket_find_it(
    connected: tuple[RunningBot, SlackSender], slack: RunningSlackStandin, pmp: Any
) -> None:
    _, sender = connected

    async def search(text: str) -> str:
        since = len(slack.calls)
        assert (await sender.command(text, team=TEAM_A, user=MEMBER_A)).status_code == 200
        reply = await slack.wait_for("response_url", timeout=WAIT, since=since)
        return json.dumps(reply.params)

    kept = await search("ticket Printer jammed")  # the lookups keep this result a while
    view = await ready_form(sender, slack, "Printer jammed")
    before = ticket_ids(pmp)
    assert (await submit(sender, view, DEPARTMENT)).json()["response_action"] == "update"
    (new,) = ticket_ids(pmp) - before
    link = f"/admin/tickets/ticket/{new}"
    assert link not in kept
    assert link in await search("ticket Printer jammed")
