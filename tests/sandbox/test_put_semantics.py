"""PUT writes the keys it gets and keeps the others, except the fields each Perfex model resets
when they are left out (pmp-api-behaviour.md, "Writes"). Project settings included."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bot.sandbox import DEMO_FACTS, RunningSandbox, schema
from bot.sandbox.store import PROJECT_SETTINGS_DEFAULTS, PROJECT_TABS
from tests.sandbox.helpers import (
    assert_html,
    assert_json,
    php_unserialize_flags,
    ticket_row,
)

PROJECT_REQUIRED = ("name", "clientid", "billing_type", "start_date", "status")


def put_ok(api: httpx.Client, path: str, body: dict[str, Any]) -> None:
    answer = assert_json(api.put(path, json=body), 200)
    assert answer["status"] is True, answer


def milestone(api: httpx.Client, key: int) -> dict[str, Any]:
    [found] = assert_json(api.get(f"/api/milestones/{key}"), 200)
    return dict(found)


def settings_sent_back(settings: dict[str, str]) -> dict[str, Any]:
    """What a client sends to keep a project's settings: the names that are on as keys, and
    ``available_features`` as the list of tabs that are on."""
    body: dict[str, Any] = {name: "1" for name, value in settings.items() if value == "1"}
    tabs = php_unserialize_flags(settings["available_features"])
    body["available_features"] = [tab for tab, on in tabs.items() if on]
    return body


# --- leads ----------------------------------------------------------------------------------


def test_lead_put_resets_is_public_country_address_and_email_but_keeps_the_rest(
    api: httpx.Client, sandbox: RunningSandbox
) -> None:
    before = assert_json(api.get("/api/leads/20"), 200)
    assert before["is_public"] == "1" and before["country"] != "0"
    assert before["address"] and before["email"]
    assert sandbox.store.tags("lead", "20") == ["hot", "q3"]
    put_ok(api, "/api/leads/20", {"name": "Julia N.", "source": "4", "status": "3"})
    after = assert_json(api.get("/api/leads/20"), 200)
    assert after["name"] == "Julia N."
    assert (after["is_public"], after["country"], after["address"], after["email"]) == (
        "0",
        "0",
        "",
        "",
    )
    for kept in ("title", "company", "phonenumber", "city", "zip", "description", "assigned"):
        assert after[kept] == before[kept], kept
    assert sandbox.store.tags("lead", "20") == ["hot", "q3"]  # tags are kept


def test_lead_put_sending_everything_back_keeps_it(
    api: httpx.Client, sandbox: RunningSandbox
) -> None:
    before = assert_json(api.get("/api/leads/20"), 200)
    body = {
        key: before[key]
        for key in ("name", "source", "status", "country", "address", "email", "title")
    }
    body["is_public"] = "1"
    put_ok(api, "/api/leads/20", dict(body, title="Lead PM"))
    after = assert_json(api.get("/api/leads/20"), 200)
    assert after == dict(before, title="Lead PM", lastcontact=after["lastcontact"])
    # A "tags" key replaces the tags; an empty one clears them.
    put_ok(api, "/api/leads/20", dict(body, tags="warm"))
    assert sandbox.store.tags("lead", "20") == ["warm"]
    put_ok(api, "/api/leads/20", dict(body, tags=""))
    assert sandbox.store.tags("lead", "20") == []


def test_lead_is_public_is_a_checkbox(api: httpx.Client) -> None:
    body = {"name": "Sarah Connor", "source": "1", "status": "2", "is_public": "0"}
    put_ok(api, "/api/leads/1", body)
    assert assert_json(api.get("/api/leads/1"), 200)["is_public"] == "1"  # present means on


# --- milestones -----------------------------------------------------------------------------


def test_milestone_put_resets_start_date_description_and_hidden_flag(api: httpx.Client) -> None:
    key = DEMO_FACTS.hidden_milestone_ids[0]
    before = milestone(api, key)
    assert before["hide_from_customer"] == "1" and before["start_date"]
    assert before["description"]
    body = {key: before[key] for key in ("name", "project_id")}
    put_ok(api, f"/api/milestones/{key}", dict(body, due_date="2024-12-24"))
    after = milestone(api, key)
    assert after["due_date"] == "2024-12-24"
    # Seen on a real PMP: a due-date edit erased the start date and un-hid the milestone.
    assert (after["start_date"], after["hide_from_customer"]) == (None, "0")
    assert (after["description"], after["description_visible_to_customer"]) == (None, None)
    assert (after["milestone_order"], after["color"]) == (before["milestone_order"], None)


def test_milestone_put_sending_the_reset_fields_keeps_them(api: httpx.Client) -> None:
    key = DEMO_FACTS.hidden_milestone_ids[0]
    before = milestone(api, key)
    body = {
        key: before[key]
        for key in ("name", "project_id", "start_date", "description", "milestone_order")
    }
    body.update(due_date="2024-12-24", hide_from_customer="1")
    assert before["description_visible_to_customer"] == "0"
    put_ok(api, f"/api/milestones/{key}", body)
    # A checkbox cannot be sent as off: left out, the description's visibility becomes NULL
    # (which Perfex shows as off, like "0").
    expected = dict(before, due_date="2024-12-24", description_visible_to_customer=None)
    assert milestone(api, key) == expected
    put_ok(api, f"/api/milestones/{key}", dict(body, description_visible_to_customer="1"))
    assert milestone(api, key)["description_visible_to_customer"] == "1"


def test_milestone_start_date_can_be_cleared_with_an_empty_string(api: httpx.Client) -> None:
    before = milestone(api, 1)
    body = {key: before[key] for key in ("name", "project_id", "due_date", "description")}
    put_ok(api, "/api/milestones/1", dict(body, start_date=""))
    assert milestone(api, 1)["start_date"] is None
    put_ok(api, "/api/milestones/1", dict(body, start_date="01/02/2024"))
    assert milestone(api, 1)["start_date"] == "2024-02-01"


def test_milestone_create_ignores_start_date_and_is_never_hidden(api: httpx.Client) -> None:
    fields = {
        "project_id": "1",
        "name": "Created hidden?",
        "due_date": "2024-09-01",
        "start_date": "2024-08-01",
        "hide_from_customer": "1",
    }
    assert assert_json(api.post("/api/milestones", data=fields), 200)["status"] is True
    hits = assert_json(api.get("/api/milestones/search/Created%20hidden"), 200)
    [created] = hits
    assert (created["start_date"], created["hide_from_customer"]) == (None, "0")
    assert created["description_visible_to_customer"] == "1"


# --- tickets --------------------------------------------------------------------------------


def test_ticket_put_resets_priority_assignee_and_tags_but_keeps_the_rest(
    api: httpx.Client, sandbox: RunningSandbox
) -> None:
    sandbox.store.update(schema.TICKETS, "4", {"service": "2"})
    before = ticket_row(api, 4)
    assert before["priority"] != "0" and before["assigned"] != "0" and before["service"] != "0"
    assert sandbox.store.tags("ticket", "4") == ["bug", "customer-facing"]
    body = {key: before[key] for key in ("subject", "department", "contactid")}
    answer = assert_json(api.put("/api/tickets/4", json=dict(body, subject="Renamed")), 200)
    assert answer == {"status": True, "message": "Ticket Update Successful."}
    after = ticket_row(api, 4)
    assert (after["subject"], after["priority"], after["assigned"]) == ("Renamed", "0", "0")
    assert sandbox.store.tags("ticket", "4") == []
    for kept in ("status", "message", "service", "project_id", "userid", "cc"):
        assert after[kept] == before[kept], kept


def test_ticket_put_sending_the_reset_fields_keeps_them(
    api: httpx.Client, sandbox: RunningSandbox
) -> None:
    before = ticket_row(api, 4)
    body = {
        key: before[key] for key in ("subject", "department", "contactid", "priority", "assigned")
    }
    put_ok(api, "/api/tickets/4", dict(body, subject="Renamed", tags="bug,customer-facing"))
    after = ticket_row(api, 4)
    assert after == dict(before, subject="Renamed")
    assert sandbox.store.tags("ticket", "4") == ["bug", "customer-facing"]


# --- projects -------------------------------------------------------------------------------


def test_project_put_resets_dates_money_members_and_settings_but_keeps_tags(
    api: httpx.Client, sandbox: RunningSandbox
) -> None:
    before = assert_json(api.get("/api/projects/1"), 200)
    assert before["deadline"] and before["project_cost"] != "0.00" and before["estimated_hours"]
    assert before["progress_from_tasks"] == "1"
    assert sandbox.store.project_members("1") and sandbox.store.tags("project", "1")
    tags = sandbox.store.tags("project", "1")
    body = {key: before[key] for key in PROJECT_REQUIRED}
    put_ok(api, "/api/projects/1", dict(body, name="Website Relaunch"))
    after = assert_json(api.get("/api/projects/1"), 200)
    assert after["name"] == "Website Relaunch"
    assert (after["deadline"], after["project_cost"], after["estimated_hours"]) == (None,) * 3
    assert after["progress_from_tasks"] == "0"
    assert sandbox.store.project_members("1") == []
    # Seen on a real PMP: a rename switched every customer-visibility setting off.
    assert set(after["settings"].values()) == {"0"}
    assert list(after["settings"]) == list(PROJECT_SETTINGS_DEFAULTS)
    for kept in ("description", "progress", "status", "clientid", "addedfrom"):
        assert after[kept] == before[kept], kept
    assert sandbox.store.tags("project", "1") == tags


def test_project_rename_sending_everything_back_keeps_every_setting(
    api: httpx.Client, sandbox: RunningSandbox
) -> None:
    for key in ("1", "2", "3", "5"):
        before = assert_json(api.get(f"/api/projects/{key}"), 200)
        members = sandbox.store.project_members(key)
        body: dict[str, Any] = {name: before[name] for name in PROJECT_REQUIRED}
        body.update(
            {name: before[name] for name in ("deadline", "project_cost", "estimated_hours")}
        )
        body.update(name=f"{before['name']} (renamed)", project_members=members)
        if before["progress_from_tasks"] == "1":
            body["progress_from_tasks"] = "on"
        body["settings"] = settings_sent_back(before["settings"])
        put_ok(api, f"/api/projects/{key}", body)
        after = assert_json(api.get(f"/api/projects/{key}"), 200)
        # Perfex re-serializes the tabs, the listed ones first: same tabs, maybe another order.
        tabs_before = before["settings"].pop("available_features")
        tabs_after = after["settings"].pop("available_features")
        assert php_unserialize_flags(tabs_after) == php_unserialize_flags(tabs_before), key
        assert after == dict(before, name=f"{before['name']} (renamed)"), key
        assert sandbox.store.project_members(key) == members


def test_project_settings_shape_and_seeded_variety(api: httpx.Client) -> None:
    first = assert_json(api.get("/api/projects/1"), 200)["settings"]
    assert first == PROJECT_SETTINGS_DEFAULTS
    assert first["available_features"].startswith('a:15:{s:16:"project_overview";i:1;')
    assert php_unserialize_flags(first["available_features"]) == dict.fromkeys(PROJECT_TABS, 1)
    second = assert_json(api.get("/api/projects/2"), 200)["settings"]
    assert (second["view_finance_overview"], second["upload_files"]) == ("0", "0")
    third = assert_json(api.get("/api/projects/3"), 200)["settings"]
    tabs = php_unserialize_flags(third["available_features"])
    assert tabs["project_invoices"] == 0 and tabs["project_overview"] == 1
    listed = assert_json(api.get("/api/projects"), 200)
    assert all("settings" not in row for row in listed)  # only GET of one project has them


def test_a_setting_sent_as_zero_is_switched_on(api: httpx.Client) -> None:
    """Perfex reads settings like HTML checkboxes: a name that is present means on."""
    before = assert_json(api.get("/api/projects/2"), 200)
    assert before["settings"]["upload_files"] == "0"
    body = {name: before[name] for name in PROJECT_REQUIRED}
    sent = {name: value for name, value in before["settings"].items()}
    sent["available_features"] = ["project_notes"]
    put_ok(api, "/api/projects/2", dict(body, settings=sent))
    after = assert_json(api.get("/api/projects/2"), 200)["settings"]
    # Every name was present, so every setting is on, including those sent as "0".
    flags = {name: value for name, value in after.items() if name != "available_features"}
    assert flags == dict.fromkeys(flags, "1") and len(flags) == 18
    assert after["upload_files"] == "1" and after["hide_tasks_on_main_tasks_table"] == "1"
    tabs = php_unserialize_flags(after["available_features"])
    assert tabs == {tab: int(tab == "project_notes") for tab in PROJECT_TABS}
    assert list(tabs)[:2] == ["project_notes", "project_overview"]  # listed tabs come first


def test_available_features_as_an_object_and_unknown_names(api: httpx.Client) -> None:
    before = assert_json(api.get("/api/projects/2"), 200)
    body = {name: before[name] for name in PROJECT_REQUIRED}
    settings = {
        "view_tasks": "on",
        "not_a_setting": "1",
        "available_features": {"a": "project_files", "b": "project_tasks"},
    }
    put_ok(api, "/api/projects/2", dict(body, settings=settings))
    after = assert_json(api.get("/api/projects/2"), 200)["settings"]
    assert "not_a_setting" not in after
    assert [name for name, value in after.items() if value == "1"] == ["view_tasks"]
    tabs = php_unserialize_flags(after["available_features"])
    assert list(tabs)[:2] == ["project_files", "project_tasks"]
    assert {tab for tab, on in tabs.items() if on} == {"project_files", "project_tasks"}


@pytest.mark.parametrize(
    "settings",
    [
        {"view_tasks": "1"},  # no available_features
        {"view_tasks": "1", "available_features": 'a:1:{s:13:"project_tasks";i:1;}'},
        "view_tasks",
    ],
)
def test_settings_without_a_tab_list_are_a_php_type_error(
    api: httpx.Client, sandbox: RunningSandbox, settings: object
) -> None:
    before = assert_json(api.get("/api/projects/1"), 200)
    body = {name: before[name] for name in PROJECT_REQUIRED}
    response = api.put("/api/projects/1", json=dict(body, name="Never saved", settings=settings))
    assert (response.status_code, response.content) == (500, b"")
    assert assert_json(api.get("/api/projects/1"), 200) == before
    sandbox.faults.dev_mode = True
    shown = api.put("/api/projects/1", json=dict(body, settings=settings))
    assert_html(shown, 200, "in_array(): Argument #2 ($haystack) must be of type array")
    assert "Type: TypeError" in shown.text


def test_project_create_gets_default_settings_or_the_ones_sent(api: httpx.Client) -> None:
    fields = {
        "name": "Settings Default",
        "clientid": "1",
        "billing_type": "1",
        "start_date": "2024-06-01",
        "status": "1",
    }
    assert assert_json(api.post("/api/projects", data=fields), 200)["status"] is True
    with_settings = dict(
        fields,
        name="Settings Chosen",
        **{
            "settings[view_tasks]": "0",
            "settings[available_features][]": ["project_overview", "project_milestones"],
        },
    )
    assert assert_json(api.post("/api/projects", data=with_settings), 200)["status"] is True
    projects = assert_json(api.get("/api/projects"), 200)
    ids = {row["name"]: row["id"] for row in projects}
    default = assert_json(api.get(f"/api/projects/{ids['Settings Default']}"), 200)
    assert default["settings"] == PROJECT_SETTINGS_DEFAULTS
    chosen = assert_json(api.get(f"/api/projects/{ids['Settings Chosen']}"), 200)["settings"]
    assert [name for name, value in chosen.items() if value == "1"] == ["view_tasks"]
    tabs = php_unserialize_flags(chosen["available_features"])
    assert {tab for tab, on in tabs.items() if on} == {"project_overview", "project_milestones"}


def test_project_put_without_settings_when_all_are_off_changes_nothing(
    api: httpx.Client,
) -> None:
    before = assert_json(api.get("/api/projects/1"), 200)
    body = {name: before[name] for name in PROJECT_REQUIRED}
    put_ok(api, "/api/projects/1", body)
    response = api.put("/api/projects/1", json=body)
    assert assert_json(response, 404) == {"status": False, "message": "Project Update Fail."}


# --- contacts -------------------------------------------------------------------------------


def test_contact_put_resets_primary_and_email_flags_but_keeps_the_rest(
    api: httpx.Client,
) -> None:
    before = assert_json(api.get("/api/contacts/1/1"), 200)
    assert before["is_primary"] == "1" and before["invoice_emails"] == "1"
    answer = assert_json(api.put("/api/contacts/1", json={"email": before["email"]}), 200)
    assert answer == {"status": True, "message": "Contact Update Successful."}
    after = assert_json(api.get("/api/contacts/1/1"), 200)
    flags = (
        "is_primary",
        "invoice_emails",
        "estimate_emails",
        "credit_note_emails",
        "contract_emails",
        "task_emails",
        "project_emails",
        "ticket_emails",
    )
    assert {flag: after[flag] for flag in flags} == dict.fromkeys(flags, "0")
    for kept in ("firstname", "lastname", "phonenumber", "title", "password", "userid"):
        assert after[kept] == before[kept], kept


def test_contact_flags_are_checkboxes_and_one_primary_per_customer(api: httpx.Client) -> None:
    john = assert_json(api.get("/api/contacts/1/2"), 200)
    assert john["is_primary"] == "0"
    body = {"email": john["email"], "is_primary": "0", "ticket_emails": "0"}
    assert assert_json(api.put("/api/contacts/2", json=body), 200)["status"] is True
    after = assert_json(api.get("/api/contacts/1/2"), 200)
    assert (after["is_primary"], after["ticket_emails"], after["invoice_emails"]) == ("1", "1", "0")
    # Jane was the primary contact: making John primary took it from her.
    assert assert_json(api.get("/api/contacts/1/1"), 200)["is_primary"] == "0"
