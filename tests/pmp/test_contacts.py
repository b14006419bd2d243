"""Contact writes: create (a form body), delete, and PMP's 409 validation answers. Updates are
in test_updates.py with the other resources'."""

from __future__ import annotations

import pytest

from bot.pmp import PmpValidationError, PmpWriteFailedError
from tests.pmp.conftest import (
    CONTACT_ROW,
    OK,
    ClientFactory,
    FakePmp,
    form_fields,
    json_response,
)


async def test_create_posts_a_form_to_contacts(make_client: ClientFactory) -> None:
    fake = FakePmp(json_response(200, {"status": True, "message": "Contact added successfully"}))
    new_id = await make_client(fake).contacts.create(
        customer_id="3",
        firstname="Ana",
        lastname="Lopez",
        email="ana@example.com",
        password="pw-123",
        is_primary=True,
        ticket_emails=True,
        invoice_emails=False,
        send_set_password_email=True,
        permissions=[1, 5],
    )
    assert new_id is None  # 2.0.8 sends no id
    [request] = fake.requests
    assert (request.method, request.url.path) == ("POST", "/api/contacts")
    assert form_fields(request) == {
        "customer_id": ["3"],
        "firstname": ["Ana"],
        "lastname": ["Lopez"],
        "email": ["ana@example.com"],
        "password": ["pw-123"],
        "is_primary": ["1"],
        "ticket_emails": ["1"],
        "send_set_password_email": ["on"],
        "permissions[]": ["1", "5"],
    }


async def test_create_returns_the_id_3x_sends(make_client: ClientFactory) -> None:
    fake = FakePmp(json_response(200, {"status": True, "message": "ok", "record_id": "41"}))
    pmp = make_client(fake)
    assert (
        await pmp.contacts.create(
            customer_id=3, firstname="A", lastname="B", email="a@b.c", password="p"
        )
        == 41
    )


async def test_create_refuses_unknown_fields_and_bad_ids(make_client: ClientFactory) -> None:
    fake = FakePmp(json_response(200, OK))
    pmp = make_client(fake)
    with pytest.raises(ValueError, match="colour"):
        await pmp.contacts.create(
            customer_id=3, firstname="A", lastname="B", email="e", password="p", colour="red"
        )
    with pytest.raises(ValueError):
        await pmp.contacts.create(
            customer_id=0, firstname="A", lastname="B", email="e", password="p"
        )
    assert fake.requests == []


async def test_validation_failures_come_as_409(make_client: ClientFactory) -> None:
    body = {
        "status": False,
        "error": {"email": "The Email field must contain a unique value."},
        "message": "<p>The Email field must contain a unique value.</p>\n",
    }
    pmp = make_client(FakePmp(json_response(409, body)))
    with pytest.raises(PmpValidationError) as caught:
        await pmp.contacts.create(
            customer_id=3, firstname="A", lastname="B", email="a@b.c", password="p"
        )
    assert caught.value.errors == {"email": "The Email field must contain a unique value."}
    assert caught.value.status_code == 409
    assert caught.value.user_message == (
        "PMP didn't accept the contact: The Email field must contain a unique value."
    )


async def test_an_update_failure_names_the_contact(make_client: ClientFactory) -> None:
    fake = FakePmp(
        json_response(200, CONTACT_ROW),
        json_response(404, {"status": False, "message": "Contact Update Fail"}),
    )
    with pytest.raises(PmpWriteFailedError) as caught:
        await make_client(fake).contacts.update(3, 4, lastname="Other")
    assert caught.value.user_message == "PMP couldn't save the changes to contact #4."
    assert [(r.method, r.url.path) for r in fake.requests] == [
        ("GET", "/api/contacts/3/4"),
        ("PUT", "/api/contacts/4"),
    ]


async def test_update_refuses_unknown_fields_before_sending(make_client: ClientFactory) -> None:
    fake = FakePmp(json_response(200, CONTACT_ROW))
    with pytest.raises(ValueError, match="permissions"):
        await make_client(fake).contacts.update(3, 4, permissions=[1])
    assert fake.requests == []


async def test_delete_uses_the_delete_path(make_client: ClientFactory) -> None:
    fake = FakePmp(json_response(200, {"status": True, "message": "Contact Deleted"}))
    await make_client(fake).contacts.delete("9")
    assert [(r.method, r.url.path) for r in fake.requests] == [("DELETE", "/api/delete/contacts/9")]


async def test_a_refused_delete_is_a_write_failure(make_client: ClientFactory) -> None:
    fake = FakePmp(json_response(404, {"status": False, "message": "Contact Delete Fail"}))
    with pytest.raises(PmpWriteFailedError) as caught:
        await make_client(fake).contacts.delete(9)
    assert caught.value.user_message == "PMP couldn't delete contact #9."
