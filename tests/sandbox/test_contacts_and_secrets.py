"""Contact writes (POST form, PUT JSON, DELETE; validation answers 409) and the secrets a real
PMP hands out: contact password hashes and the departments' IMAP logins."""

from __future__ import annotations

import re
from typing import Any

import httpx

from bot.sandbox import DEMO_FACTS, RunningSandbox
from tests.sandbox.helpers import assert_failure, assert_json, ticket_row

NEW_CONTACT = {
    "customer_id": "3",
    "firstname": "Ada",
    "lastname": "Lovelace",
    "email": "ada@acmesupplies.example",
    "password": "analytical-engine",
}
HASH = re.compile(r"\$2y\$08\$[./A-Za-z0-9]{53}")


def contacts_of(api: httpx.Client, customer_id: str) -> list[dict[str, Any]]:
    return list(assert_json(api.get(f"/api/contacts/{customer_id}"), 200))


def test_contact_create_from_a_form(api: httpx.Client) -> None:
    answer = assert_json(api.post("/api/contacts", data=NEW_CONTACT), 200)
    assert answer == {"status": True, "message": "Contact add successful."}
    [ada] = [c for c in contacts_of(api, "3") if c["firstname"] == "Ada"]
    assert (ada["userid"], ada["email"], ada["active"]) == ("3", NEW_CONTACT["email"], "1")
    assert HASH.fullmatch(ada["password"]) and "analytical" not in ada["password"]
    # Checkboxes not sent are off, e-mail notifications included; not the primary contact.
    assert (ada["is_primary"], ada["invoice_emails"], ada["ticket_emails"]) == ("0", "0", "0")
    assert ada["datecreated"]


def test_contact_create_as_primary_takes_it_from_the_old_one(api: httpx.Client) -> None:
    fields = dict(NEW_CONTACT, is_primary="0", ticket_emails="0")  # present means on
    assert assert_json(api.post("/api/contacts", data=fields), 200)["status"] is True
    primaries = [(c["firstname"], c["ticket_emails"]) for c in contacts_of(api, "3")]
    assert primaries[0] == ("Ada", "1")
    assert [c["is_primary"] for c in contacts_of(api, "3")] == ["1", "0", "0"]


def test_contact_create_validation_is_409(api: httpx.Client) -> None:
    answer = assert_json(api.post("/api/contacts", data={"firstname": "Ada"}), 409)
    assert answer["status"] is False
    assert answer["error"] == {
        "customer_id": "The Customer id field is required.",
        "lastname": "The Last Name field is required.",
        "email": "The Email field is required.",
        "password": "The Password field is required.",
    }
    assert answer["message"].startswith("<p>The Customer id field is required.</p>\n")
    # A JSON body is ignored, like every create.
    assert assert_json(api.post("/api/contacts", json=NEW_CONTACT), 409)["status"] is False


def test_contact_create_refuses_a_taken_email(api: httpx.Client) -> None:
    jane = assert_json(api.get("/api/contacts/1/1"), 200)
    taken = dict(NEW_CONTACT, email=jane["email"].upper())
    answer = assert_json(api.post("/api/contacts", data=taken), 409)
    assert answer["error"] == {"email": "The Email field must contain a unique value."}
    assert len(contacts_of(api, "3")) == 2


def test_contact_create_in_3x_returns_its_id(api_v3: httpx.Client) -> None:
    answer = assert_json(api_v3.post("/api/contacts", data=NEW_CONTACT), 200)
    contact = assert_json(api_v3.get(f"/api/contacts/3/{answer['record_id']}"), 200)
    assert contact["email"] == NEW_CONTACT["email"]
    assert assert_json(api_v3.post("/api/contacts", data={}), 409)["errors"]


def test_contact_update(api: httpx.Client) -> None:
    before = assert_json(api.get("/api/contacts/1/2"), 200)
    body = {"email": before["email"], "title": "Chief Accountant", "invoice_emails": "1"}
    answer = assert_json(api.put("/api/contacts/2", json=body), 200)
    assert answer == {"status": True, "message": "Contact Update Successful."}
    after = assert_json(api.get("/api/contacts/1/2"), 200)
    assert (after["title"], after["invoice_emails"], after["ticket_emails"]) == (
        "Chief Accountant",
        "1",
        "0",
    )
    assert after["password"] == before["password"]  # no password sent, none changed
    body["password"] = "new-secret"
    assert assert_json(api.put("/api/contacts/2", json=body), 200)["status"] is True
    changed = assert_json(api.get("/api/contacts/1/2"), 200)
    assert HASH.fullmatch(changed["password"]) and changed["password"] != before["password"]
    assert changed["last_password_change"]


def test_contact_update_failures(api: httpx.Client) -> None:
    answer = assert_json(api.put("/api/contacts/2", json={"title": "No e-mail"}), 409)
    assert answer["error"] == {"email": "The Email field is required."}
    assert_failure(
        api.put("/api/contacts/2", data={"email": "x@y.example"}),
        406,
        "Data Not Acceptable OR Not Provided",
    )
    assert_failure(
        api.put("/api/contacts/99999", json={"email": "x@y.example"}), 404, "Contact Update Fail."
    )
    no_id = api.put("/api/contacts", json={"email": "x@y.example"})
    assert_failure(no_id, 404, "Invalid Contact ID")
    response = api.put("/api/contacts/2", json={"email": "x@y.example", "customer_id": "1"})
    assert response.status_code == 200 and "Unknown column" in response.text


def test_contact_delete(api: httpx.Client) -> None:
    answer = assert_json(api.delete("/api/delete/contacts/2"), 200)
    assert answer == {"status": True, "message": "Contact Delete Successful."}
    assert_failure(api.get("/api/contacts/1/2"), 404, "No data were found")
    assert_failure(api.delete("/api/delete/contacts/2"), 404, "Contact Delete Fail.")
    assert_failure(api.delete("/api/contacts"), 404, "Invalid Contact ID")


def test_there_is_no_contact_list(api: httpx.Client) -> None:
    assert_failure(api.get("/api/contacts"), 404, "No data were found")


# --- secrets --------------------------------------------------------------------------------


def test_contact_rows_carry_password_hashes(api: httpx.Client) -> None:
    for contact in contacts_of(api, "1"):
        assert HASH.fullmatch(contact["password"])
    assert HASH.fullmatch(assert_json(api.get("/api/contacts/1/1"), 200)["password"])
    [hit] = assert_json(api.get("/api/contacts/search/jane.doe"), 200)
    assert hit["password"].startswith(DEMO_FACTS.password_hash_prefix)


def test_customer_search_rows_carry_the_primary_contact_and_its_hash(api: httpx.Client) -> None:
    [acme] = assert_json(api.get("/api/customers/search/Acme%20Corporation"), 200)
    jane = assert_json(api.get("/api/contacts/1/1"), 200)
    assert (acme["firstname"], acme["email"], acme["password"]) == (
        "Jane",
        jane["email"],
        jane["password"],
    )
    customer = assert_json(api.get("/api/customers/1"), 200)
    # Where both tables have a column, the customer's value is the one shown.
    for name in ("userid", "phonenumber", "datecreated", "active", "company"):
        assert acme[name] == customer[name], name
    assert "password" not in customer  # one customer and the list carry no contact columns


def test_bulk_contacts_have_hashes_too(api: httpx.Client, sandbox: RunningSandbox) -> None:
    [key] = sandbox.store.add_bulk_customers(1)
    [contact] = contacts_of(api, str(key))
    assert HASH.fullmatch(contact["password"])


def test_ticket_list_rows_carry_the_department_imap_login(api: httpx.Client) -> None:
    tickets = assert_json(api.get("/api/tickets"), 200)
    for ticket in tickets:
        assert ticket["host"] == "imap.example.com"
        assert ticket["password"] in DEMO_FACTS.imap_passwords
        assert ticket["imap_username"].endswith("@pmp.example")
        assert (ticket["encryption"], ticket["folder"]) == ("tls", "INBOX")
    by_department = {t["department_name"]: t["password"] for t in tickets}
    assert len(set(by_department.values())) == 3
    assert ticket_row(api, 1)["password"] == by_department[ticket_row(api, 1)["department_name"]]


def test_ticket_search_rows_carry_imap_host_and_a_password_hash(api: httpx.Client) -> None:
    hits = assert_json(api.get("/api/tickets/search/production%20outage"), 200)
    for hit in hits:
        assert hit["host"] == "imap.example.com"
        assert hit["password"].startswith(DEMO_FACTS.password_hash_prefix)  # the contact's


def test_3x_ticket_object_carries_them_too(api_v3: httpx.Client) -> None:
    ticket = assert_json(api_v3.get("/api/tickets/1"), 200)
    assert ticket["password"] in DEMO_FACTS.imap_passwords
