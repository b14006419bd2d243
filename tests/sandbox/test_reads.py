"""Reads: record shapes, strings everywhere, list/one/search semantics, the seed's awkward data."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from bot.sandbox import DEMO_FACTS, RunningSandbox
from tests.sandbox.helpers import (
    assert_failure,
    assert_html,
    assert_json,
    assert_strings_only,
    by_key,
    ticket_row,
)

RESOURCES = ("customers", "leads", "projects", "milestones", "tickets")
# Keys the seed document shows for each record (PMP-specific extras left out).
DOCUMENTED_KEYS = {
    "customers": {
        "userid", "company", "vat", "phonenumber", "country", "city", "zip", "state", "address",
        "website", "datecreated", "active", "leadid", "billing_street", "billing_city",
        "billing_state", "billing_zip", "billing_country", "shipping_street", "shipping_city",
        "shipping_state", "shipping_zip", "shipping_country", "longitude", "latitude",
        "default_language", "default_currency", "show_primary_contact", "stripe_id",
        "registration_confirmed", "addedfrom",
    },
    "leads": {
        "id", "hash", "name", "contact", "title", "company", "description", "country", "zip",
        "city", "state", "address", "assigned", "dateadded", "from_form_id", "status", "source",
    },
    "projects": {
        "id", "name", "description", "status", "clientid", "billing_type", "start_date",
        "deadline", "date_finished", "progress", "progress_from_tasks", "estimated_hours",
        "addedfrom",
    },
    "milestones": {
        "id", "name", "description", "description_visible_to_customer", "due_date", "project_id",
        "color", "milestone_order", "datecreated", "total_tasks", "total_finished_tasks",
        "start_date", "hide_from_customer",  # Perfex 3.x columns
    },
    "tickets": {
        "ticketid", "adminreplying", "userid", "contactid", "email", "name", "department",
        "priority", "status", "service", "ticketkey", "subject", "message", "admin", "date",
        "project_id", "lastreply", "clientread", "adminread", "assigned",
    },
}  # fmt: skip


def search(api: httpx.Client, resource: str, term: str) -> httpx.Response:
    return api.get(f"/api/{resource}/search/{quote(term, safe='')}")


@pytest.mark.parametrize("resource", RESOURCES)
def test_lists_are_arrays_of_string_only_records(api: httpx.Client, resource: str) -> None:
    records = assert_json(api.get(f"/api/{resource}"), 200)
    assert isinstance(records, list) and len(records) > 10
    for record in records:
        assert DOCUMENTED_KEYS[resource] <= set(record)
    assert_strings_only(records)


@pytest.mark.parametrize(
    ("resource", "key", "id_field"),
    [
        ("customers", "1", "userid"),
        ("leads", "1", "id"),
        ("projects", "1", "id"),
    ],
)
def test_one_record_is_an_object(api: httpx.Client, resource: str, key: str, id_field: str) -> None:
    record = assert_json(api.get(f"/api/{resource}/{key}"), 200)
    assert isinstance(record, dict)
    assert record[id_field] == key
    assert DOCUMENTED_KEYS[resource] <= set(record)
    assert_strings_only(record)


def test_one_ticket_is_an_empty_500_in_2x(api: httpx.Client) -> None:
    for key in ("1", str(DEMO_FACTS.channel_ticket_id), str(DEMO_FACTS.ticket_count)):
        response = api.get(f"/api/tickets/{key}")
        assert (response.status_code, response.content) == (500, b""), key
        assert response.headers["content-type"] == "text/html; charset=UTF-8"
    # A ticket that does not exist is still "not found"; lists and searches work.
    assert_failure(api.get("/api/tickets/99999"), 404, "No data were found")
    assert len(assert_json(api.get("/api/tickets"), 200)) == DEMO_FACTS.ticket_count
    assert "7" in {hit["ticketid"] for hit in assert_json(search(api, "tickets", "7"), 200)}


def test_one_ticket_shows_the_php_error_in_development_mode(
    api: httpx.Client, sandbox: RunningSandbox
) -> None:
    sandbox.faults.dev_mode = True
    response = api.get("/api/tickets/1")
    assert_html(response, 500, "An uncaught Exception was encountered")
    assert "Type: TypeError" in response.text


def test_one_ticket_is_an_object_in_3x(api_v3: httpx.Client) -> None:
    record = assert_json(api_v3.get("/api/tickets/1"), 200)
    assert isinstance(record, dict) and record["ticketid"] == "1"
    assert DOCUMENTED_KEYS["tickets"] <= set(record)
    assert_strings_only(record)


def test_one_milestone_is_an_array_holding_it(api: httpx.Client) -> None:
    answer = assert_json(api.get("/api/milestones/2"), 200)
    assert isinstance(answer, list) and len(answer) == 1
    [milestone] = answer
    assert set(milestone) == DOCUMENTED_KEYS["milestones"]
    assert milestone["id"] == "2"
    assert_strings_only(answer)


@pytest.mark.parametrize("resource", RESOURCES)
def test_zero_or_empty_id_lists_everything(api: httpx.Client, resource: str) -> None:
    everything = assert_json(api.get(f"/api/{resource}"), 200)
    assert assert_json(api.get(f"/api/{resource}/0"), 200) == everything
    assert assert_json(api.get(f"/api/{resource}/"), 200) == everything


@pytest.mark.parametrize("resource", RESOURCES)
def test_missing_record_and_empty_search_are_404_no_data(api: httpx.Client, resource: str) -> None:
    assert_failure(api.get(f"/api/{resource}/99999"), 404, "No data were found")
    assert_failure(search(api, resource, "zz-no-such-thing-zz"), 404, "No data were found")


def test_search_hits_are_arrays_even_for_one(api: httpx.Client) -> None:
    hits = assert_json(search(api, "customers", "Tailspin"), 200)
    assert isinstance(hits, list) and [hit["company"] for hit in hits] == ["Tailspin Toys"]
    assert_strings_only(hits)


def test_numbers_and_dates_are_mysql_strings(api: httpx.Client) -> None:
    project = assert_json(api.get("/api/projects/1"), 200)
    assert project["project_cost"].endswith(".00")
    assert project["start_date"].count("-") == 2 and len(project["start_date"]) == 10
    assert project["status"] == "2"
    assert project["progress_from_tasks"] in ("0", "1")
    customer = assert_json(api.get("/api/customers/1"), 200)
    assert customer["active"] == "1" and customer["leadid"] is None
    assert len(customer["datecreated"]) == 19


def test_json_is_encoded_like_php(api: httpx.Client) -> None:
    raw = api.get("/api/customers/5").text
    assert "https:\\/\\/www." in raw
    assert "M\\u00fcller & S\\u00f6hne GmbH" in raw
    assert ", " not in raw.split('"company"')[0]  # compact separators


# --- customers ------------------------------------------------------------------------------


def test_customer_records_carry_empty_customfields(api: httpx.Client) -> None:
    assert assert_json(api.get("/api/customers/1"), 200)["customfields"] == []
    assert all(c["customfields"] == [] for c in assert_json(api.get("/api/customers"), 200))


def test_customer_list_is_ordered_by_company_and_includes_inactive(api: httpx.Client) -> None:
    customers = assert_json(api.get("/api/customers"), 200)
    assert len(customers) == DEMO_FACTS.customer_count
    companies = [c["company"] for c in customers]
    assert companies[0] == "A. Datum Corporation"
    assert companies.index("Acme Corporation") < companies.index("Acme Legacy Holdings")
    inactive = {c["userid"] for c in customers if c["active"] == "0"}
    assert inactive == {str(key) for key in DEMO_FACTS.inactive_customer_ids}


def test_customer_search_matches_company_primary_contact_and_email(api: httpx.Client) -> None:
    companies = {hit["company"] for hit in assert_json(search(api, "customers", "acme"), 200)}
    assert companies == {"Acme Corporation", "Acme Widgets Ltd", "Acme Supplies Inc."}
    by_name = assert_json(search(api, "customers", "jane doe"), 200)
    assert [hit["userid"] for hit in by_name] == ["1"]
    by_email = assert_json(search(api, "customers", "jane.doe@acme"), 200)
    assert [hit["userid"] for hit in by_email] == ["1"]
    # A secondary contact does not make the customer findable.
    assert_failure(search(api, "customers", "Wile Coyote"), 404, "No data were found")


def test_inactive_customers_are_hidden_from_search_only(api: httpx.Client) -> None:
    assert_failure(search(api, "customers", "Acme Legacy"), 404, "No data were found")
    assert_failure(search(api, "customers", "Dormant"), 404, "No data were found")
    assert assert_json(api.get("/api/customers/4"), 200)["active"] == "0"


def test_search_is_case_and_accent_insensitive(api: httpx.Client) -> None:
    for term in ("muller", "MÜLLER", "sohne"):
        hits = assert_json(search(api, "customers", term), 200)
        assert [hit["company"] for hit in hits] == ["Müller & Söhne GmbH"], term
    assert [h["userid"] for h in assert_json(search(api, "customers", "zoe"), 200)] == ["6"]
    assert [h["userid"] for h in assert_json(search(api, "customers", "サクラ"), 200)] == ["7"]
    assert [h["userid"] for h in assert_json(search(api, "customers", "cafe ole"), 200)] == ["10"]


def test_search_term_is_percent_decoded_and_trimmed(api: httpx.Client) -> None:
    raw = b"/api/customers/search/%20%20Bits%20%26%20Bytes%20%3CDev%3E%20"
    [hit] = assert_json(api.get(api.base_url.copy_with(raw_path=raw)), 200)
    assert hit["company"] == "Bits & Bytes <Dev> Co."


def test_empty_search_term_lists_active_records(api: httpx.Client) -> None:
    hits = assert_json(api.get("/api/customers/search"), 200)
    assert len(hits) == DEMO_FACTS.customer_count - len(DEMO_FACTS.inactive_customer_ids)
    # 2.0.8 knows no ?q=: the term is empty, so every row comes back.
    assert assert_json(api.get("/api/customers/search", params={"q": "Tailspin"}), 200) == hits
    tickets = assert_json(api.get("/api/tickets/search"), 200)
    assert len(tickets) == DEMO_FACTS.ticket_count


def test_like_wildcards_in_terms_are_not_escaped(api: httpx.Client) -> None:
    everyone = assert_json(search(api, "customers", "%"), 200)
    assert len(everyone) == DEMO_FACTS.customer_count - len(DEMO_FACTS.inactive_customer_ids)
    assert {h["company"] for h in assert_json(search(api, "customers", "ac_e c"), 200)} == {
        "Acme Corporation"
    }


@pytest.mark.parametrize("resource", RESOURCES)
def test_double_quote_in_a_search_term_breaks_the_sql(api: httpx.Client, resource: str) -> None:
    response = search(api, resource, 'say "hi"')
    assert_html(response, 500, "A Database Error Occurred")
    assert "You have an error in your SQL syntax" in response.text


def test_apostrophes_and_ampersands_are_fine_when_encoded(api: httpx.Client) -> None:
    [hit] = assert_json(search(api, "customers", "Margie's"), 200)
    assert hit["company"] == "Margie's Travel"


# --- contacts -------------------------------------------------------------------------------


def test_customer_contacts_are_the_active_ones_primary_first(api: httpx.Client) -> None:
    contacts = assert_json(api.get("/api/contacts/1"), 200)
    assert [(c["firstname"], c["is_primary"]) for c in contacts] == [("Jane", "1"), ("John", "0")]
    assert all(c["userid"] == "1" and c["active"] == "1" for c in contacts)
    assert contacts[0]["customfields"] == []
    assert_strings_only(contacts)


def test_one_contact_by_id_ignores_the_customer_and_activity(api: httpx.Client) -> None:
    inactive = assert_json(api.get("/api/contacts/1/3"), 200)
    assert (inactive["firstname"], inactive["active"]) == ("Wile", "0")
    other_customer = assert_json(api.get("/api/contacts/2/1"), 200)
    assert other_customer["userid"] == "1"


def test_contact_lookups_without_data(api: httpx.Client) -> None:
    for path in (
        "/api/contacts",
        "/api/contacts/0/1",
        "/api/contacts/99999",
        "/api/contacts/1/999",
    ):
        assert_failure(api.get(path), 404, "No data were found")


def test_contact_search_rows_merge_customer_and_contact(api: httpx.Client) -> None:
    hits = assert_json(search(api, "contacts", "jane.doe"), 200)
    [hit] = hits
    assert (hit["id"], hit["firstname"], hit["company"]) == ("1", "Jane", "Acme Corporation")
    assert hit["userid"] == "1"
    assert list(hit)[:2] == ["id", "userid"]
    # Contact search escapes LIKE wildcards and quotes, unlike the other searches.
    assert_failure(search(api, "contacts", "%"), 404, "No data were found")
    assert_failure(search(api, "contacts", 'a"b'), 404, "No data were found")
    # Contacts of inactive customers are not found.
    assert_failure(search(api, "contacts", "Harold"), 404, "No data were found")


# --- leads ----------------------------------------------------------------------------------


def test_lead_records_carry_status_and_source_names(api: httpx.Client) -> None:
    lead = assert_json(api.get("/api/leads/1"), 200)
    assert (lead["status_name"], lead["source_name"]) == ("New", "Google")
    assert assert_json(api.get("/api/leads/3"), 200)["attachments"] == []
    assert lead["public_url"].endswith("/forms/l/" + lead["hash"])
    listed = by_key(assert_json(api.get("/api/leads"), 200), "id")
    assert listed["1"]["status_name"] == "New" and "public_url" not in listed["1"]


def test_converted_leads_are_listed_but_not_searchable(api: httpx.Client) -> None:
    leads = by_key(assert_json(api.get("/api/leads"), 200), "id")
    assert len(leads) == DEMO_FACTS.lead_count
    for key in DEMO_FACTS.converted_lead_ids:
        assert leads[str(key)]["client_id"] != "0"
    assert_failure(search(api, "leads", "Hannah Scott"), 404, "No data were found")
    names = [hit["name"] for hit in assert_json(search(api, "leads", "a"), 200)]
    assert "Zoë Łukasiewicz" not in names
    assert names == sorted(names, key=str.casefold)


def test_lead_search_rows_are_plain_lead_columns(api: httpx.Client) -> None:
    [hit] = assert_json(search(api, "leads", "Broadcast"), 200)
    assert hit["company"] == "Broadcast <!channel> Media"
    assert "<@U123>" in hit["description"]
    assert "status_name" not in hit


# --- projects and milestones ----------------------------------------------------------------


def test_one_project_has_settings_and_client_data(api: httpx.Client) -> None:
    project = assert_json(api.get("/api/projects/1"), 200)
    assert project["client_data"]["company"] == "Acme Corporation"
    assert project["settings"]["view_milestones"] == "1"
    assert project["shared_vault_entries"] == []


def test_project_list_rows_include_the_customer_columns(api: httpx.Client) -> None:
    projects = assert_json(api.get("/api/projects"), 200)
    assert [p["id"] for p in projects] == sorted((p["id"] for p in projects), key=int, reverse=True)
    first = by_key(projects, "id")["1"]
    assert (first["company"], first["userid"]) == ("Acme Corporation", "1")


def test_project_search_matches_name_description_and_customer(api: httpx.Client) -> None:
    [hit] = assert_json(search(api, "projects", "redesign"), 200)
    assert hit["name"] == "Website Redesign" and "company" not in hit
    acme = {hit["name"] for hit in assert_json(search(api, "projects", "Acme Corporation"), 200)}
    assert {"Website Redesign", "ERP Migration"} <= acme
    assert [h["id"] for h in assert_json(search(api, "projects", "#retainer"), 200)]


def test_long_texts_arrive_whole(api: httpx.Client) -> None:
    project = assert_json(api.get("/api/projects/10"), 200)
    assert len(project["description"]) == DEMO_FACTS.long_text_length
    assert len(ticket_row(api, 13)["message"]) == DEMO_FACTS.long_text_length


def test_milestone_search_matches_name_or_id(api: httpx.Client) -> None:
    by_name = assert_json(search(api, "milestones", "discovery"), 200)
    assert [m["name"] for m in by_name] == ["Discovery"]
    by_id = {m["id"] for m in assert_json(search(api, "milestones", "12"), 200)}
    assert "12" in by_id
    orders = [int(m["milestone_order"]) for m in assert_json(api.get("/api/milestones"), 200)]
    assert orders == sorted(orders)


def test_milestone_task_counts(api: httpx.Client) -> None:
    for milestone in assert_json(api.get("/api/milestones"), 200):
        assert 0 <= int(milestone["total_finished_tasks"]) <= int(milestone["total_tasks"])


# --- tickets --------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [2, 3])
def test_ticket_carries_joined_names_and_the_join_quirks(
    api: httpx.Client, api_v3: httpx.Client, version: int
) -> None:
    if version == 2:
        ticket = ticket_row(api, DEMO_FACTS.channel_ticket_id)
    else:
        ticket = assert_json(api_v3.get(f"/api/tickets/{DEMO_FACTS.channel_ticket_id}"), 200)
    assert ticket["subject"] == "URGENT <!channel> production outage"
    assert ticket["message"].startswith("<@U123>")
    assert (ticket["department_name"], ticket["priority_name"]) == ("Sales", "Medium")
    assert (ticket["status_name"], ticket["service_name"]) == ("Answered", "Consulting")
    # SELECT * over the joins: "name" is the priority's name, "id" the contact's id.
    assert ticket["name"] == ticket["priority_name"]
    assert ticket["id"] == ticket["contactid"] != ticket["ticketid"]
    contact = assert_json(api.get(f"/api/contacts/{ticket['userid']}/{ticket['contactid']}"), 200)
    assert ticket["email"] == contact["email"]
    assert (ticket["user_firstname"], ticket["user_lastname"]) == (
        contact["firstname"],
        contact["lastname"],
    )


def test_ticket_without_contact(api: httpx.Client) -> None:
    ticket = ticket_row(api, 19)
    assert (ticket["userid"], ticket["contactid"], ticket["id"], ticket["email"]) == (
        "0",
        "0",
        None,
        None,
    )
    assert (ticket["from_name"], ticket["ticket_email"]) == (
        "Walk-in Visitor",
        "walk-in@unknown.example",
    )


def test_ticket_list_is_ordered_by_last_reply_unanswered_first(api: httpx.Client) -> None:
    tickets = assert_json(api.get("/api/tickets"), 200)
    assert len(tickets) == DEMO_FACTS.ticket_count
    replies = [t["lastreply"] for t in tickets]
    unanswered = replies.count(None)
    assert unanswered and replies[:unanswered] == [None] * unanswered
    assert replies[unanswered:] == sorted(replies[unanswered:])


def test_ticket_search_rows(api: httpx.Client) -> None:
    hits = assert_json(search(api, "tickets", "production outage"), 200)
    assert [h["ticketid"] for h in hits] == ["27", "7"]  # newest first
    for hit in hits:
        assert hit["id"] == hit["contactid"]  # the contact's id, not the ticket's
        assert hit["name"] == {"1": "Support", "2": "Sales", "3": "Billing"}[hit["department"]]
        assert hit["customfields"] == []
    assert {h["ticketid"] for h in assert_json(search(api, "tickets", "#bug"), 200)} == {
        str(key) for key in range(4, 41, 4)
    }
    billing = assert_json(search(api, "tickets", "Billing"), 200)
    assert all(h["department"] == "3" or "illing" in h["subject"] for h in billing)


def test_ticket_search_matches_id_prefix_and_customer(api: httpx.Client) -> None:
    assert "7" in {h["ticketid"] for h in assert_json(search(api, "tickets", "7"), 200)}
    relecloud = assert_json(search(api, "tickets", "Relecloud"), 200)
    assert relecloud and all(h["company"] == "Relecloud" for h in relecloud)
