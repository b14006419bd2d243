"""Safe on a real PMP, end to end: signed Slack requests to the bot's HTTP endpoint, the PMP
sandbox answering as PMP's API module 2.0.8 (GET of one ticket: HTTP 500) and as 3.x, and
the Slack stand-in.

- Edits keep what PMP resets when a PUT leaves it out (a milestone's start date and hidden
  flag, a project's customer settings, a customer's country, currency and show-primary-
  contact flag).
- A lead or project edit, which makes PMP's API module delete the files of lead or project #1,
  is stopped and explained while those files exist or PMP can't tell, and goes through (the
  files go, as warned) only once an admin allows it in `/pmp settings`.
- Everything that reads one ticket works on 2.0.8 and 3.x.
- No Slack message, modal, log line, cache or stored row ever holds a password hash or a
  department's IMAP password, though PMP hands them out with contacts and tickets.
- A PMP in development mode (HTML warnings before the JSON) still works.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from bot.blocks.ids import CardAction, HomeAction
from bot.console.slack_standin import RecordedCall, RunningSlackStandin
from bot.run.embedded import RunningBot
from bot.sandbox import DEMO_FACTS, RunningSandbox, running_sandbox
from bot.sandbox import schema as sandbox_schema
from tests.e2e.conftest import OWNER_A, TEAM_A, bot_and_sender, bot_settings
from tests.e2e.slack_client import SlackSender
from tests.e2e.test_home import home_button, open_home
from tests.e2e.test_lookups import buttons, command_reply, refresh_option
from tests.e2e.test_lookups import press as press_button
from tests.e2e.test_record_forms import (
    day,
    inputs,
    open_edit_form,
    state_with,
    submit,
    text,
    texts,
    ticked,
)
from tests.e2e.test_ticket_forms import (
    DEPARTMENT,
    choose_customer,
    open_by_command,
    ready_form,
    suggest,
    ticket_ids,
)
from tests.e2e.test_ticket_forms import submit as submit_ticket

Connected = tuple[RunningBot, SlackSender]
MODES = {"2.0.8": 2, "3.x": 3}


@pytest.fixture(params=sorted(MODES))
def pmp(request: pytest.FixtureRequest) -> Iterator[RunningSandbox]:
    """The sandbox as PMP's API module 2.0.8 and as 3.x (the `connected` bot uses it)."""
    with running_sandbox(api_version=MODES[request.param]) as sandbox:
        yield sandbox


def api_get(pmp: RunningSandbox, path: str) -> httpx.Response:
    """What PMP itself answers (read beside the bot, with the same token)."""
    return httpx.get(f"{pmp.base_url}/{path}", headers={"authtoken": pmp.token}, timeout=10)


def files_of(pmp: RunningSandbox, kind: str, record_id: int) -> list[str]:
    answer = api_get(pmp, f"_sandbox/files/{kind}/{record_id}").json()
    return [row["file_name"] for row in answer["files"]]


def project_settings(pmp: RunningSandbox, project_id: int) -> dict[str, Any]:
    answer = api_get(pmp, f"api/projects/{project_id}").json()
    record = answer.get("data", answer)
    settings: dict[str, Any] = record["settings"]
    return settings


def row(pmp: RunningSandbox, table: Any, key: str) -> dict[str, Any]:
    found = pmp.store.row(table, key)
    assert found is not None
    return dict(found)


def changed(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    # PMP stores an empty text sent back as NULL: the same to everyone reading it.
    return {key for key in before if (before[key] or "") != (after[key] or "")}


async def allow_file_loss(sender: SlackSender, slack: RunningSlackStandin, allow: bool) -> str:
    """An admin ticks (or unticks) the choice in `/pmp settings` and saves; the saved view's
    text."""
    since = len(slack.calls)
    response = await sender.command("settings", team=TEAM_A, user=OWNER_A)
    assert response.status_code == 200
    opened = await slack.wait_for("views.open", since=since, timeout=10)
    view_id = opened.response["view"]["id"]
    await slack.wait_for(
        "views.update", lambda c: c.params.get("view_id") == view_id, since=since, timeout=15
    )
    view = slack.view(view_id)
    assert view is not None
    box = inputs(view)["edits.allow_first_record_file_loss"]
    assert "Allow lead, project and ticket edits even though" in texts(view["blocks"])
    assert "for good, until the module is fixed" in texts(view["blocks"])
    assert bool(box.get("initial_options")) is not allow  # shows what is stored now
    answer = await submit(
        sender, view, state_with(view, allow_first_record_file_loss=ticked(allow))
    )
    assert answer["response_action"] == "update", answer
    return texts(answer["view"])


# ------------------------------------------------------------------------------ milestones


async def test_a_milestone_due_date_edit_keeps_its_start_date_and_hidden_flag(
    connected: Connected, slack: RunningSlackStandin, pmp: RunningSandbox
) -> None:
    _, sender = connected
    pmp.store.update(
        sandbox_schema.MILESTONES, "3", {"start_date": "2024-02-12", "hide_from_customer": "1"}
    )
    before = row(pmp, sandbox_schema.MILESTONES, "3")
    view = await open_edit_form(sender, slack, "milestone edit 3", "Edit milestone")
    assert "files" not in texts(view["blocks"])  # milestone edits cost no files

    answer = await submit(sender, view, state_with(view, due_date=day("2025-03-31")))

    assert answer["response_action"] == "update", answer
    after = row(pmp, sandbox_schema.MILESTONES, "3")
    assert changed(before, after) == {"due_date"}
    assert (after["start_date"], after["hide_from_customer"]) == ("2024-02-12", "1")
    assert after["due_date"] == "2025-03-31"
    assert files_of(pmp, "leads", 1) == [DEMO_FACTS.first_lead_file]


async def test_a_milestone_with_its_description_hidden_keeps_it_hidden(
    connected: Connected, slack: RunningSlackStandin, pmp: RunningSandbox
) -> None:
    _, sender = connected
    before = row(pmp, sandbox_schema.MILESTONES, "2")
    assert before["description_visible_to_customer"] == "0"
    view = await open_edit_form(sender, slack, "milestone edit 2", "Edit milestone")
    answer = await submit(sender, view, state_with(view, due_date=day("2024-04-30")))
    assert answer["response_action"] == "update", answer
    after = row(pmp, sandbox_schema.MILESTONES, "2")
    # PMP reads the flag as an HTML checkbox (sent at all: shown), so it is left out and PMP
    # stores NULL: still hidden.
    assert changed(before, after) == {"due_date", "description_visible_to_customer"}
    assert after["description_visible_to_customer"] is None
    assert after["start_date"] == before["start_date"]


# ------------------------------------------------------------------------------- customers


async def test_a_customer_edit_keeps_country_currency_and_show_primary_contact(
    connected: Connected, slack: RunningSlackStandin, pmp: RunningSandbox
) -> None:
    _, sender = connected
    pmp.store.update(
        sandbox_schema.CLIENTS,
        "2",
        {
            "show_primary_contact": "1",
            "default_currency": "3",
            "country": "83",
            "billing_country": "236",
            "shipping_country": "14",
        },
    )
    before = row(pmp, sandbox_schema.CLIENTS, "2")
    view = await open_edit_form(sender, slack, "customer edit 2", "Edit customer")
    answer = await submit(
        sender, view, state_with(view, phonenumber=text("+44 161 555 0100"), groups_in=text("2"))
    )
    assert answer["response_action"] == "update", answer
    after = row(pmp, sandbox_schema.CLIENTS, "2")
    assert changed(before, after) == {"phonenumber"}
    assert pmp.store.customer_groups("2") == ["2"]


# --------------------------------------------------------------------------------- leads


async def test_a_lead_edit_is_stopped_while_lead_one_has_files_until_an_admin_allows_it(
    connected: Connected, slack: RunningSlackStandin, pmp: RunningSandbox
) -> None:
    bot, sender = connected
    before = row(pmp, sandbox_schema.LEADS, "4")
    view = await open_edit_form(sender, slack, "lead edit 4", "Edit lead")
    # Said as the form opens, above the inputs, so nobody types for nothing.
    warning = texts(view["blocks"][1])
    assert "pmp-bot won't save changes to this lead" in warning
    assert "deletes the files of lead #1" in warning and "lead #1 has 1 file" in warning
    assert "README" in warning and "`/pmp settings`" in warning

    state = state_with(view, city=text("Leeds"))
    answer = await submit(sender, view, state)
    assert answer["response_action"] == "errors"  # the modal stays open with what was typed
    (said,) = answer["errors"].values()
    assert "lead #1 has 1 file, so pmp-bot didn't save this change" in said
    assert "A PMP administrator can fix the module" in said
    assert "A pmp-bot admin can allow lead edits anyway in `/pmp settings`" in said
    assert "Your entries are kept" in said
    assert row(pmp, sandbox_schema.LEADS, "4") == before
    assert files_of(pmp, "leads", 1) == [DEMO_FACTS.first_lead_file]

    saved = await allow_file_loss(sender, slack, True)
    assert "edits are allowed even though" in saved
    workspace = await bot.services.workspaces.get(TEAM_A)
    assert workspace is not None and workspace.allow_first_record_file_loss

    # The same modal, submitted again, now saves; lead #1's file goes, as warned.
    answer = await submit(sender, view, state)
    assert answer["response_action"] == "update", answer
    assert "Saved the changes to lead" in texts(answer["view"])
    after = row(pmp, sandbox_schema.LEADS, "4")
    assert changed(before, after) == {"city"} and after["city"] == "Leeds"
    assert files_of(pmp, "leads", 1) == []

    # Switched off again, a lead #1 with a file stops edits again.
    await allow_file_loss(sender, slack, False)
    api_post = httpx.post(
        f"{pmp.base_url}/_sandbox/files/leads/1",
        headers={"authtoken": pmp.token},
        json={"file_name": "new-contract.pdf"},
        timeout=10,
    )
    assert api_post.status_code == 200
    view = await open_edit_form(sender, slack, "lead edit 4", "Edit lead")
    assert "pmp-bot won't save changes" in texts(view["blocks"])
    answer = await submit(sender, view, state_with(view, city=text("York")))
    assert answer["response_action"] == "errors"
    assert files_of(pmp, "leads", 1) == ["new-contract.pdf"]


# ------------------------------------------------------------------------------ projects


async def test_a_project_rename_keeps_every_setting_once_allowed(
    connected: Connected, slack: RunningSlackStandin, pmp: RunningSandbox
) -> None:
    _, sender = connected
    settings_before = project_settings(pmp, 2)
    assert "0" in settings_before.values()  # project 2 has settings switched off and on
    before = row(pmp, sandbox_schema.PROJECTS, "2")
    members = pmp.store.project_members("2")

    # PMP can't tell whether project #1 has files: the edit is stopped and explained.
    view = await open_edit_form(sender, slack, "project edit 2", "Edit project")
    assert "PMP can't tell pmp-bot whether project #1 has any" in texts(view["blocks"][1])
    picked = {
        "type": "multi_external_select",
        "selected_options": [
            {"text": {"type": "plain_text", "text": f"Staff #{m}"}, "value": m} for m in members
        ],
    }
    typed = {"name": text("SEO Audit 2025"), "project_members": picked}
    answer = await submit(sender, view, state_with(view, **typed))
    assert answer["response_action"] == "errors"
    assert "project #1" in json.dumps(answer["errors"])
    assert row(pmp, sandbox_schema.PROJECTS, "2") == before
    assert files_of(pmp, "projects", 1) == [DEMO_FACTS.first_project_file]

    await allow_file_loss(sender, slack, True)
    view = await open_edit_form(sender, slack, "project edit 2", "Edit project")
    assert "Saving deletes the files of project #1" in texts(view["blocks"][1])
    answer = await submit(sender, view, state_with(view, **typed))
    assert answer["response_action"] == "update", answer

    after = row(pmp, sandbox_schema.PROJECTS, "2")
    assert changed(before, after) == {"name"} and after["name"] == "SEO Audit 2025"
    assert project_settings(pmp, 2) == settings_before
    assert pmp.store.project_members("2") == members
    assert files_of(pmp, "projects", 1) == []  # as the form warned


# ------------------------------------------------------------------------------- tickets


async def remembered(bot: RunningBot, user: str, kind: str, record_id: int) -> None:
    """Waits until the lookup is among the user's recent ones (it is written just after the
    card is delivered)."""
    for _ in range(500):
        recent = await bot.services.recent_lookups.recent(TEAM_A, user)
        if (kind, record_id) in [(r.kind, r.record_id) for r in recent]:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{kind} #{record_id} was never remembered for {user}")


def card_of(call: RecordedCall) -> str:
    shown = texts(call.params)
    assert "internal error" not in shown and "try again" not in shown, shown
    return shown


async def test_every_place_that_reads_one_ticket_works(
    connected: Connected, slack: RunningSlackStandin, pmp: RunningSandbox
) -> None:
    bot, sender = connected
    if pmp.api_version == 2:
        # 2.0.8 on PHP 8: GET of one existing ticket always fails.
        failed = api_get(pmp, "api/tickets/3")
        assert (failed.status_code, failed.content) == (500, b"")
    ticket = pmp.store.ticket("3")
    assert ticket is not None
    subject, department = ticket["subject"], ticket["department_name"]

    # The card: /pmp ticket 3.
    card = await command_reply(sender, slack, "ticket 3", user=OWNER_A)
    shown = card_of(card)
    assert subject in shown and "#3" in shown
    assert department in shown and ticket["status_name"] in shown
    assert ticket["priority_name"] in shown

    # Refresh, from the card's menu.
    assert card.effect is not None and card.effect.ts is not None
    stored = slack.message(card.effect.channel_id, card.effect.ts)
    assert stored is not None
    block_id, option = refresh_option(stored.blocks)
    since = len(slack.calls)
    payload = sender.block_actions(
        team=TEAM_A,
        user=OWNER_A,
        channel=card.effect.channel_id,
        message_ts=card.effect.ts,
        action={
            "action_id": CardAction.MENU,
            "block_id": block_id,
            "type": "overflow",
            "selected_option": option,
        },
    )
    assert (await sender.interaction(payload)).status_code == 200
    refreshed = await slack.wait_for("response_url", since=since, timeout=15)
    assert refreshed.effect is not None and refreshed.effect.action == "replaced"
    assert subject in card_of(refreshed)

    # Show, from a list of results.
    listing = await command_reply(sender, slack, f"ticket {subject.split()[0]}")
    show = next(b for b in buttons(listing)[CardAction.SHOW] if b["value"].endswith(":3"))
    shown_card = await press_button(sender, slack, show)
    assert subject in card_of(shown_card)

    # The Home tab's recent lookups.
    await remembered(bot, OWNER_A, "ticket", 3)
    home = await open_home(sender, slack, OWNER_A)
    recent = home_button(home, HomeAction.SHOW_RECENT)
    assert recent["value"].endswith(":3")
    since = len(slack.calls)
    press = sender.block_actions(
        team=TEAM_A,
        user=OWNER_A,
        action=recent,
        view={"id": "VHOME", "type": "home", "blocks": home["blocks"]},
    )
    assert (await sender.interaction(press)).status_code == 200
    filled = await slack.wait_for("views.update", since=since, timeout=15)
    assert subject in texts(filled.params) and "internal error" not in texts(filled.params)

    # Creating a ticket finds and links the new one.
    form = await ready_form(sender, slack, "Scanner offline on floor 3")
    before = ticket_ids(pmp)
    answer = (await submit_ticket(sender, form, DEPARTMENT)).json()
    assert answer["response_action"] == "update", answer
    (new_id,) = ticket_ids(pmp) - before
    assert f"#{new_id} Scanner offline on floor 3" in texts(answer["view"])
    new_card = await command_reply(sender, slack, f"ticket {new_id}")
    assert "Scanner offline on floor 3" in card_of(new_card) and "Open" in card_of(new_card)


# ----------------------------------------------------------------------------- secrets


def strings_in(value: object, seen: dict[int, object] | None = None) -> Iterator[str]:
    """Every string held by `value`: containers, dataclasses, pydantic records (their `raw`
    included) and pmp-bot's own objects, walked through."""
    # Objects seen are kept alive, so a new object can't reuse a seen one's id.
    seen = {} if seen is None else seen
    if isinstance(value, str):
        yield value
        return
    if isinstance(value, bytes):
        yield value.decode("utf-8", "replace")
        return
    if id(value) in seen or value is None or isinstance(value, int | float):
        return
    seen[id(value)] = value
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from strings_in(key, seen)
            yield from strings_in(item, seen)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from strings_in(item, seen)
    elif isinstance(value, BaseModel):
        yield from strings_in(value.__dict__, seen)
        yield from strings_in(value.__pydantic_private__ or {}, seen)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            yield from strings_in(getattr(value, item.name), seen)
    elif type(value).__module__.startswith("bot."):
        for name in getattr(type(value), "__slots__", ()):
            yield from strings_in(getattr(value, name, None), seen)
        yield from strings_in(getattr(value, "__dict__", {}), seen)


def stored_strings(database: Path) -> list[str]:
    """Every text in every table of the bot's SQLite database."""
    with closing(sqlite3.connect(database)) as conn:
        tables = [
            name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        return [
            str(value)
            for table in tables
            for values in conn.execute(f'SELECT * FROM "{table}"')
            for value in values
            if value is not None
        ]


def leaks(texts: Iterator[str], secrets: list[str]) -> list[str]:
    return sorted({secret for text in texts for secret in secrets if secret in text})


async def test_no_message_modal_log_line_cache_or_stored_row_holds_a_secret(
    connected: Connected,
    slack: RunningSlackStandin,
    pmp: RunningSandbox,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bot, sender = connected
    caplog.set_level(logging.DEBUG)
    # Seeded: "$2y$" hashes on every contact, IMAP passwords on every department. One
    # contact of Acme gets a "$2a$" hash too.
    pmp.store.update(sandbox_schema.CONTACTS, "2", {"password": "$2a$10$" + "x" * 53})
    secrets = ["$2a$", "$2y$", *DEMO_FACTS.imap_passwords]
    tickets = api_get(pmp, "api/tickets").json()
    rows = tickets.get("data", tickets) if isinstance(tickets, dict) else tickets
    assert {row["password"] for row in rows} & set(DEMO_FACTS.imap_passwords)  # PMP sends them
    contacts = api_get(pmp, "api/contacts/1").json()
    assert any(str(c["password"]).startswith("$2") for c in contacts)

    # Lookups of customers (their contacts) and tickets (rows with the department's login).
    await command_reply(sender, slack, "customer acme")
    customer = await command_reply(sender, slack, "customer 1", user=OWNER_A)
    assert "Jane Doe" in texts(customer.params)  # the primary contact was read and shown
    listing = await command_reply(sender, slack, "ticket quote")
    await press_button(sender, slack, buttons(listing)[CardAction.SHOW][0])
    await command_reply(sender, slack, "ticket 3", user=OWNER_A)
    # The ticket form: the customer typeahead, the contacts it loads, opening a ticket.
    form = await open_by_command(sender, slack, "ticket new Badge reader offline")
    acme = next(o for o in await suggest(sender, form, "acme") if o["value"] == "1")
    form = await choose_customer(sender, slack, form, acme)
    assert "John Smith" in texts(form)
    # What pmp-bot keeps in memory (searches, typeahead answers, learned names), before a
    # new ticket makes it forget the searches.
    kept = list(strings_in(bot.services.lookups))
    assert "Request for a quote: 20 seats" in kept  # the walk reaches the kept rows
    answer = (await submit_ticket(sender, form, DEPARTMENT)).json()
    assert answer["response_action"] == "update", answer
    # /pmp settings reads PMP's ticket list to suggest names.
    since = len(slack.calls)
    await sender.command("settings", team=TEAM_A, user=OWNER_A)
    await slack.wait_for("views.update", since=since, timeout=15)
    # The Home tab's recent lookups, and showing one.
    await remembered(bot, OWNER_A, "ticket", 3)
    home = await open_home(sender, slack, OWNER_A)
    since = len(slack.calls)
    press = sender.block_actions(
        team=TEAM_A,
        user=OWNER_A,
        action=home_button(home, HomeAction.SHOW_RECENT),
        view={"id": "VHOME", "type": "home", "blocks": home["blocks"]},
    )
    assert (await sender.interaction(press)).status_code == 200
    await slack.wait_for("views.update", since=since, timeout=15)

    slack_texts = [json.dumps([c.params, c.response], default=str) for c in slack.calls]
    assert "John Smith" in "".join(slack_texts)  # contacts reached Slack, their hashes not
    assert leaks(iter(slack_texts), secrets) == []
    log_texts = [
        f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.stack_info or ''}" for r in caplog.records
    ]
    assert any("GET api/tickets" in line or "tickets" in line for line in log_texts)
    assert leaks(iter(log_texts), secrets) == []
    kept += strings_in(bot.services.lookups)
    assert leaks(iter(kept), secrets) == []
    stored = stored_strings(tmp_path / "bot.sqlite3")
    assert "Acme Corporation" in stored  # recent lookups are stored
    assert leaks(iter(stored), secrets) == []


async def test_a_status_only_this_pmp_has_is_named_once_pmp_bot_has_seen_it(
    connected: Connected, slack: RunningSlackStandin, pmp: RunningSandbox
) -> None:
    _, sender = connected
    status = pmp.store.insert(
        sandbox_schema.TICKETS_STATUS,
        {"name": "Waiting on customer", "isdefault": "0", "statuscolor": "#aaa"},
    )
    pmp.store.update(sandbox_schema.TICKETS, "3", {"status": str(status)})
    first = card_of(await command_reply(sender, slack, "ticket 3"))
    if pmp.api_version == 2:
        # A ticket read through PMP's search carries the status's number only.
        assert f"#{status}" in first and "Waiting on customer" not in first
    else:
        assert "Waiting on customer" in first
    # An admin opens /pmp settings, which reads PMP's ticket list (rows name their status).
    since = len(slack.calls)
    await sender.command("settings", team=TEAM_A, user=OWNER_A)
    await slack.wait_for("views.update", since=since, timeout=15)
    again = card_of(await command_reply(sender, slack, "ticket 3"))
    assert "Waiting on customer" in again and f"#{status}" not in again


# ---------------------------------------------------------------------- development mode


@pytest.fixture
async def dev_connected(
    slack: RunningSlackStandin, tmp_path: Path, secret_key: str
) -> AsyncIterator[tuple[RunningSandbox, SlackSender]]:
    with running_sandbox(dev_mode=True) as sandbox:
        settings = bot_settings(slack, f"sqlite:///{tmp_path / 'bot.sqlite3'}", secret_key)
        async with bot_and_sender(settings, slack) as (bot, sender):
            await bot.services.workspaces.save_credentials(
                TEAM_A, None, sandbox.base_url, sandbox.token, connected_by=OWNER_A
            )
            yield sandbox, sender


async def test_a_pmp_in_development_mode_still_answers_a_lookup_and_a_milestone_edit(
    dev_connected: tuple[RunningSandbox, SlackSender], slack: RunningSlackStandin
) -> None:
    sandbox, sender = dev_connected
    found = await command_reply(sender, slack, "customer acme")
    assert "Acme Corporation" in texts(found.params)

    sandbox.store.update(sandbox_schema.MILESTONES, "1", {"start_date": "2024-03-04"})
    before = row(sandbox, sandbox_schema.MILESTONES, "1")
    view = await open_edit_form(sender, slack, "milestone edit 1", "Edit milestone")
    answer = await submit(sender, view, state_with(view, name=text("Design sign-off")))
    assert answer["response_action"] == "update", answer
    assert "Saved the changes to milestone" in texts(answer["view"])
    after = row(sandbox, sandbox_schema.MILESTONES, "1")
    assert changed(before, after) == {"name"} and after["start_date"] == "2024-03-04"
