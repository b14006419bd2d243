"""PMP staff end to end: signed requests to the bot's HTTP endpoint, the PMP sandbox over
loopback (its staff include the stand-in people's e-mails) and the Slack stand-in.

`/pmp staff` matches a Slack user to a staff member by e-mail, admins link people by hand,
members may not, and a missing match says why; the staff pickers of the lead, project and
ticket forms, and their number input when PMP's token may not list staff."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from bot.blocks.ids import RecordForm, StaffPicker
from bot.console.slack_standin import RunningSlackStandin
from bot.pmp import PmpClient
from bot.pmp_pool import WorkspaceKey
from bot.run.embedded import RunningBot
from bot.sandbox import RunningSandbox
from bot.staff import StaffLink
from bot.storage.staff_links import StaffLinkStore, StoredStaffLink
from tests.e2e import test_record_forms as records
from tests.e2e import test_ticket_forms as tickets
from tests.e2e.conftest import MEMBER_A, OWNER_A, TEAM_A, TEAM_B
from tests.e2e.slack_client import SlackSender

Connected = tuple[RunningBot, SlackSender]
KEY_A = WorkspaceKey(team_id=TEAM_A)
# The sandbox's staff: the stand-in's owner (alex@example.com) and member (sam@example.com).
ALEX_STAFF, SAM_STAFF, MARIA, INACTIVE = 6, 7, 2, 8


async def staff(
    sender: SlackSender, slack: RunningSlackStandin, text: str, user: str = OWNER_A
) -> str:
    """`/pmp staff <text>`: the reply posted to the response_url, as one string."""
    since = len(slack.calls)
    response = await sender.command(f"staff {text}".strip(), team=TEAM_A, user=user)
    assert response.status_code == 200
    reply = await slack.wait_for("response_url", since=since, timeout=10)
    return json.dumps(reply.params, ensure_ascii=False)


async def stored(bot: RunningBot, user: str) -> StaffLink | None:
    return await bot.services.staff.stored_link(await _pool_client(bot), KEY_A, user)


async def _pool_client(bot: RunningBot) -> PmpClient:
    workspace = await bot.services.workspaces.get(TEAM_A)
    assert workspace is not None
    client = await bot.services.pmp_pool.client_for(KEY_A, workspace.credentials_version)
    assert client is not None
    return client


def restricted_token(pmp: RunningSandbox) -> str:
    """A PMP token with every permission pmp-bot's forms use, except staff."""
    every = ["get", "search_get", "post", "put", "delete"]
    features = ["customers", "contacts", "leads", "projects", "milestones", "tickets"]
    answer = httpx.post(
        f"{pmp.base_url}/_sandbox/tokens",
        json={"name": "No staff", "permissions": {f: every for f in features}},
        headers={"authtoken": pmp.token},
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["token"])


# ------------------------------------------------------------------------- the mapping


async def test_people_are_matched_by_their_slack_email(
    connected: Connected, slack: RunningSlackStandin, pmp: RunningSandbox
) -> None:
    bot, sender = connected
    reply = await staff(sender, slack, "", user=MEMBER_A)
    assert "You are *Sam Morgan* (staff #7)" in reply and "matched by Slack e-mail" in reply
    link = await stored(bot, MEMBER_A)
    assert link is not None and (link.staff.id, link.source) == (SAM_STAFF, "email")
    # Stored: asked again, neither Slack's users.info nor PMP's staff search is needed.
    infos = len(slack.calls_to("users.info"))
    assert "Sam Morgan" in await staff(sender, slack, "", user=MEMBER_A)
    assert len(slack.calls_to("users.info")) == infos
    # Another workspace's same user id has no link.
    assert await bot.services.staff.links(await _pool_client(bot), WorkspaceKey(TEAM_B)) == []


async def test_an_admin_links_corrects_lists_and_unlinks(
    connected: Connected, slack: RunningSlackStandin, pmp: RunningSandbox
) -> None:
    bot, sender = connected
    reply = await staff(sender, slack, f"<@{MEMBER_A}|sam> Maria Garcia")
    assert f"<@{MEMBER_A}> is now *Maria Garcia* (staff #2)" in reply
    link = await stored(bot, MEMBER_A)
    assert link is not None and (link.staff.id, link.source) == (MARIA, "admin")
    # The admin's link wins over the e-mail.
    assert "You are *Maria Garcia*" in await staff(sender, slack, "", user=MEMBER_A)
    assert "set by an admin" in await staff(sender, slack, f"<@{MEMBER_A}>")
    # By number and by e-mail (Slack sends a typed e-mail as a mailto link).
    assert "Tom Becker" in await staff(sender, slack, f"<@{MEMBER_A}|sam> #3")
    mailto = "<mailto:aiko.tanaka@pmp.example|aiko.tanaka@pmp.example>"
    assert "Aiko Tanaka" in await staff(sender, slack, f"<@{MEMBER_A}|sam> {mailto}")
    await staff(sender, slack, "")  # the owner, matched by e-mail
    listed = await staff(sender, slack, "list")
    assert f"<@{MEMBER_A}> → *Aiko Tanaka* (staff #4)" in listed
    assert f"<@{OWNER_A}> → *Alex Ortega* (staff #6)" in listed
    assert "matched by Slack e-mail" in listed and "set by an admin" in listed
    assert "no longer linked" in await staff(sender, slack, f"<@{MEMBER_A}|sam> none")
    assert await stored(bot, MEMBER_A) is None
    assert "nothing changed" in await staff(sender, slack, f"<@{MEMBER_A}|sam> none")
    # Unlinked, they are matched by e-mail again when it is needed.
    assert "Sam Morgan" in await staff(sender, slack, "", user=MEMBER_A)


async def test_names_that_match_no_one_or_several(
    connected: Connected, slack: RunningSlackStandin, pmp: RunningSandbox
) -> None:
    bot, sender = connected
    assert "No PMP staff member matches “Nobody Atall”" in await staff(
        sender, slack, f"<@{MEMBER_A}> Nobody Atall"
    )
    several = await staff(sender, slack, f"<@{MEMBER_A}> a")  # LIKE %a%: most of the staff
    assert "Several PMP staff members match" in several and "staff #" in several
    assert "No PMP staff member matches “999”" in await staff(sender, slack, f"<@{MEMBER_A}> 999")
    assert await stored(bot, MEMBER_A) is None
    assert "pick the person from Slack" in await staff(sender, slack, "@sam Maria Garcia")


async def test_members_may_not_link_or_list(
    connected: Connected, slack: RunningSlackStandin, pmp: RunningSandbox
) -> None:
    bot, sender = connected
    refused = "Only workspace admins and owners can link people to PMP staff members"
    assert refused in await staff(sender, slack, f"<@{MEMBER_A}> Maria Garcia", user=MEMBER_A)
    assert refused in await staff(sender, slack, f"<@{OWNER_A}> none", user=MEMBER_A)
    assert refused in await staff(sender, slack, "list", user=MEMBER_A)
    assert await stored(bot, MEMBER_A) is None


async def test_no_match_is_explained(
    connected: Connected, slack: RunningSlackStandin, pmp: RunningSandbox
) -> None:
    _, sender = connected
    slack.add_user(TEAM_A, "U0001X", "kim", email="kim@elsewhere.example")
    reply = await staff(sender, slack, "", user="U0001X")
    assert "No PMP staff member has your Slack e-mail (kim@elsewhere.example)" in reply
    assert "/pmp staff @you" in reply
    slack.add_user(TEAM_A, "U0001P", "pat", email="pat.keller@pmp.example")
    assert "is deactivated in PMP" in await staff(sender, slack, "", user="U0001P")


async def test_without_the_email_scope_slack_gives_no_email(
    connected: Connected, slack: RunningSlackStandin
) -> None:
    _, sender = connected
    # An install from before pmp-bot asked for users:read.email.
    slack.add_team(TEAM_A, "xoxb-standin-T0001", scopes="commands,chat:write,users:read")
    reply = await staff(sender, slack, "", user=MEMBER_A)
    assert "Slack didn't tell pmp-bot your e-mail address" in reply
    answer = slack.calls_to("users.info")[-1]
    assert answer.ok and "email" not in answer.response["user"]["profile"]


async def test_a_token_that_may_not_read_staff(
    connected: Connected, slack: RunningSlackStandin, pmp: RunningSandbox
) -> None:
    bot, sender = connected
    await bot.services.workspaces.save_credentials(
        TEAM_A, None, pmp.base_url, restricted_token(pmp), OWNER_A
    )
    reply = await staff(sender, slack, "", user=MEMBER_A)
    assert "isn't allowed to read staff members" in reply
    reply = await staff(sender, slack, f"<@{MEMBER_A}> Maria Garcia")
    assert "staff permission" in reply


# ------------------------------------------------------------------------- the pickers


def chosen(option: dict[str, Any]) -> dict[str, Any]:
    return {"type": "external_select", "selected_option": option}


async def test_the_lead_form_picks_its_staff_member_by_name(
    connected: Connected, slack: RunningSlackStandin, pmp: RunningSandbox
) -> None:
    _, sender = connected
    view = await records.open_form(sender, slack, "lead new")
    picker = records.inputs(view)["lead.assigned"]
    assert (picker["type"], picker["action_id"]) == ("external_select", StaffPicker.OPTIONS)
    found = await records.options(sender, view, "lead.assigned", StaffPicker.OPTIONS, "garc")
    assert [(o["value"], o["text"]["text"]) for o in found] == [("2", "Maria Garcia (#2)")]
    # A switched-off staff member is listed after the others, and says so.
    found = await records.options(sender, view, "lead.assigned", StaffPicker.OPTIONS, "pat")
    assert [o["text"]["text"] for o in found] == ["Pat Keller (#8, deactivated)"]
    answer = await records.submit(
        sender,
        view,
        records.state_with(
            view,
            name=records.text("Picked Lead"),
            status=records.option("1", "New"),
            source=records.option("1", "Google"),
            assigned=chosen({"text": {"type": "plain_text", "text": "Maria"}, "value": "2"}),
        ),
    )
    assert answer["response_action"] == "update", answer
    (lead,) = [row for row in pmp.store.leads() if row["name"] == "Picked Lead"]
    assert lead["assigned"] == "2"


async def test_the_project_form_picks_its_members_by_name(
    connected: Connected, slack: RunningSlackStandin, pmp: RunningSandbox
) -> None:
    _, sender = connected
    view = await records.open_form(sender, slack, "project new")
    picker = records.inputs(view)["project.project_members"]
    assert (picker["type"], picker["action_id"]) == ("multi_external_select", StaffPicker.OPTIONS)
    maria = await records.options(
        sender, view, "project.project_members", picker["action_id"], "maria"
    )
    tom = await records.options(
        sender, view, "project.project_members", picker["action_id"], "tom b"
    )
    customer = await records.options(
        sender, view, "project.clientid", RecordForm.CUSTOMER_OPTIONS, "acme"
    )
    answer = await records.submit(
        sender,
        view,
        records.state_with(
            view,
            name=records.text("Picked Members"),
            clientid=chosen(customer[0]),
            project_members={
                "type": "multi_external_select",
                "selected_options": [maria[0], tom[0]],
            },
        ),
    )
    assert answer["response_action"] == "update", answer
    (project,) = [p for p in pmp.store.projects() if p["name"] == "Picked Members"]
    assert pmp.store.project_members(str(project["id"])) == ["2", "3"]


async def test_the_ticket_form_picks_its_assignee_by_name(
    connected: Connected, slack: RunningSlackStandin, pmp: RunningSandbox
) -> None:
    _, sender = connected
    view = await tickets.ready_form(sender, slack, "Assign me by name")
    picker = records.inputs(view)["ticket.assigned"]
    assert (picker["type"], picker["action_id"]) == ("external_select", StaffPicker.OPTIONS)
    found = await records.options(sender, view, "ticket.assigned", StaffPicker.OPTIONS, "becker")
    assert [o["value"] for o in found] == ["3"]
    before = tickets.ticket_ids(pmp)
    response = await tickets.submit(
        sender, view, {**tickets.DEPARTMENT, "ticket.assigned": {"selected_option": found[0]}}
    )
    assert response.json()["response_action"] == "update", response.text
    (new,) = tickets.ticket_ids(pmp) - before
    assert pmp.store.ticket(str(new))["assigned"] == "3"


async def test_forms_ask_for_staff_numbers_when_pmp_wont_list_staff(
    connected: Connected, slack: RunningSlackStandin, pmp: RunningSandbox
) -> None:
    bot, sender = connected
    await bot.services.workspaces.save_credentials(
        TEAM_A, None, pmp.base_url, restricted_token(pmp), OWNER_A
    )
    # A new lead form opens before anything was asked of PMP: the picker, whose options
    # say what PMP answered; the next form asks for the number, saying why.
    view = await records.open_form(sender, slack, "lead new")
    found = await records.options(sender, view, "lead.assigned", StaffPicker.OPTIONS, "maria")
    assert [o["text"]["text"] for o in found] == ["PMP won't list staff: reopen the form"]
    view = await records.open_form(sender, slack, "lead new")
    assert records.inputs(view)["lead.assigned"]["type"] == "number_input"
    assert "isn't allowed to list staff members" in records.texts(view["blocks"])
    answer = await records.submit(
        sender,
        view,
        records.state_with(
            view,
            name=records.text("Numbered Lead"),
            status=records.option("1", "New"),
            source=records.option("1", "Google"),
            assigned=records.number("4"),
        ),
    )
    assert answer["response_action"] == "update", answer
    (lead,) = [row for row in pmp.store.leads() if row["name"] == "Numbered Lead"]
    assert lead["assigned"] == "4"

    # An edit form asks PMP as it is filled in.
    bot.services.staff._memory.clear()
    view = await records.open_edit_form(sender, slack, "project edit 3", "Edit project")
    members = records.inputs(view)["project.project_members"]
    assert members["type"] == "plain_text_input"
    said = records.texts(view["blocks"])
    assert "isn't allowed to list staff members" in said and "enter the staff numbers" in said

    # The ticket form switches to a number as the customer is chosen.
    bot.services.staff._memory.clear()
    view = await tickets.ready_form(sender, slack, "Assign me by number")
    assigned = records.inputs(view)["ticket.assigned"]
    assert assigned["type"] == "number_input"
    assert "isn't allowed to list staff" in json.dumps(view)
    before = tickets.ticket_ids(pmp)
    response = await tickets.submit(
        sender, view, {**tickets.DEPARTMENT, "ticket.assigned": {"value": "5"}}
    )
    assert response.json()["response_action"] == "update", response.text
    (new,) = tickets.ticket_ids(pmp) - before
    assert pmp.store.ticket(str(new))["assigned"] == "5"
    # Known now: the next ticket form asks for the number from the start.
    view = await tickets.open_by_command(sender, slack, "ticket new Known already")
    assert records.inputs(view)["ticket.assigned"]["type"] == "number_input"


async def test_an_uninstall_forgets_the_workspaces_links_only(
    connected: Connected, slack: RunningSlackStandin, pmp: RunningSandbox
) -> None:
    bot, sender = connected
    await bot.services.workspaces.save_credentials(TEAM_B, None, pmp.base_url, pmp.token, "U0002")
    assert "Maria Garcia" in await staff(sender, slack, f"<@{MEMBER_A}> Maria Garcia")
    store = StaffLinkStore(bot.services.database)
    other = StoredStaffLink("U0002", pmp.base_url, 3, "Tom Becker", None, "admin", "U0002")
    await store.put(TEAM_B, None, other)
    response = await sender.event({"type": "app_uninstalled"}, team=TEAM_A)
    assert response.status_code == 200
    for _ in range(200):
        if await bot.services.workspaces.get(TEAM_A) is None:
            break
        await asyncio.sleep(0.02)
    assert await bot.services.workspaces.get(TEAM_A) is None
    assert await store.all(TEAM_A, None) == []
    assert [row.staff_id for row in await store.all(TEAM_B, None)] == [3]
