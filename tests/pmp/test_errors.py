"""Every way a PMP answer maps onto the error hierarchy, with the user-facing messages."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from bot.pmp import (
    PmpAuthError,
    PmpConnectionError,
    PmpError,
    PmpNotFoundError,
    PmpSearchRefusedError,
    PmpTimeoutError,
    PmpUnexpectedResponseError,
    PmpValidationError,
    PmpWriteFailedError,
)
from bot.pmp import errors as errors_module
from bot.pmp.errors import _NOT_JSON as _NOT_JSON_MARK
from bot.pmp.errors import json_after_html, plain_text
from tests.pmp.conftest import (
    CUSTOMER_ROW,
    NO_DATA,
    TOKEN,
    ClientFactory,
    FakePmp,
    html_response,
    json_response,
)

TOKEN_REFUSED = "PMP refused the API token. An admin can run `/pmp connect` to update it."

# CodeIgniter's pages, as a PMP server sends them.
DATABASE_ERROR_PAGE = (
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n<title>Database Error</title>\n</head>\n'
    '<body>\n\t<div id="container">\n\t\t<h1>A Database Error Occurred</h1>\n'
    "\t\t<p>Error Number: 1054</p>\n\t\t<p>Unknown column &#039;rel_type&#039; in "
    "&#039;field list&#039;</p>\n\t\t<p>UPDATE `tblprojects` SET `name` = &#039;secret name"
    "&#039;, `rel_type` = &#039;customer&#039; WHERE `id` = &#039;4&#039;</p>\n"
    "\t\t<p>Filename: models/Projects_model.php</p>\n\t\t<p>Line Number: 512</p>\n"
    "\t</div>\n</body>\n</html>"
)
PHP_ERROR_PAGE = (
    '<!DOCTYPE html><html><body><div id="container"><h1>An uncaught Exception was '
    "encountered</h1><p>Type: Error</p><p>Message: Cannot use a scalar value as an array</p>"
    "</div></body></html>"
)
PHP_WARNING = (
    '<div style="border:1px solid #990000;padding-left:20px;margin:0 0 10px 0;">\n'
    "<h4>A PHP Error was encountered</h4>\n<p>Severity: Warning</p>\n"
    '<p>Message:  Undefined array key "settings"</p>\n'
    "<p>Filename: controllers/Projects.php</p>\n<p>Line Number: 312</p>\n</div>"
)


@pytest.mark.parametrize(
    "body",
    [
        {"status": False, "message": "Token is not defined."},
        {"status": False, "message": None},
        {"status": False, "message": "Wrong number of segments"},
        {"status": False, "message": "Signature verification failed"},
        {"status": False, "message": "Expired token"},
    ],
)
async def test_a_refused_token_is_an_auth_error(
    make_client: ClientFactory, body: dict[str, Any]
) -> None:
    pmp = make_client(FakePmp(json_response(404, body)))
    with pytest.raises(PmpAuthError) as caught:
        await pmp.customers.get(3)
    assert caught.value.user_message == TOKEN_REFUSED
    assert caught.value.status_code == 404


async def test_http_401_means_the_api_is_off(make_client: ClientFactory) -> None:
    pmp = make_client(FakePmp(json_response(401, {"status": False, "message": "API disabled"})))
    with pytest.raises(PmpAuthError) as caught:
        await pmp.tickets.list()
    assert "switched off" in caught.value.user_message
    assert caught.value.status_code == 401


@pytest.mark.parametrize(
    ("answer", "call"),
    [
        (json_response(403, {"status": False, "message": "No permission"}), "search"),
        (html_response(403, "<h1>Forbidden</h1>"), "get"),
    ],
)
async def test_http_403_means_a_missing_permission(
    make_client: ClientFactory, answer: httpx.Response, call: str
) -> None:
    pmp = make_client(FakePmp(answer))
    with pytest.raises(PmpAuthError) as caught:
        await (pmp.leads.search("x") if call == "search" else pmp.leads.get(3))
    assert "isn't allowed" in caught.value.user_message
    assert caught.value.status_code == 403


async def test_no_data_on_get_is_not_found_naming_the_record(make_client: ClientFactory) -> None:
    pmp = make_client(FakePmp(json_response(404, NO_DATA)))
    with pytest.raises(PmpNotFoundError) as caught:
        await pmp.projects.get(28)
    assert caught.value.user_message == "PMP has no project #28."


async def test_no_data_on_contact_get_names_the_customer(make_client: ClientFactory) -> None:
    pmp = make_client(FakePmp(json_response(404, NO_DATA)))
    with pytest.raises(PmpNotFoundError) as caught:
        await pmp.contacts.get(3, 9)
    assert caught.value.user_message == "PMP has no contact #9 of customer #3."


@pytest.mark.parametrize("operation", ["list", "search", "contacts"])
async def test_no_data_on_list_or_search_is_an_empty_list(
    make_client: ClientFactory, operation: str
) -> None:
    pmp = make_client(FakePmp(json_response(404, NO_DATA)))
    if operation == "list":
        result = await pmp.customers.list()
    elif operation == "search":
        result = await pmp.customers.search("nobody")
    else:
        result = await pmp.contacts.list(3)
    assert result == []


async def test_validation_errors_are_per_field_plain_text(make_client: ClientFactory) -> None:
    body = {
        "status": False,
        "error": {"company": "<p>The Company field is required.</p>"},
        "message": "<p>The Company field is required.</p>\n",
    }
    pmp = make_client(FakePmp(json_response(404, body)))
    with pytest.raises(PmpValidationError) as caught:
        await pmp.customers.create(company="")
    assert caught.value.errors == {"company": "The Company field is required."}
    assert caught.value.user_message == (
        "PMP didn't accept the customer: The Company field is required."
    )


async def test_3x_unprocessable_entity_errors_are_validation(make_client: ClientFactory) -> None:
    body = {
        "status": False,
        "message": "Validation failed",
        "errors": {"name": ["The Name field is required."], "due_date": "Bad &amp; wrong"},
    }
    pmp = make_client(FakePmp(json_response(422, body)))
    with pytest.raises(PmpValidationError) as caught:
        await pmp.milestones.create(project_id=2, name="", due_date="2024-01-01")
    assert caught.value.errors == {
        "name": "The Name field is required.",
        "due_date": "Bad & wrong",
    }
    assert caught.value.status_code == 422


async def test_a_failed_add_is_a_write_failure(make_client: ClientFactory) -> None:
    pmp = make_client(FakePmp(json_response(404, {"status": False, "message": "Lead add fail."})))
    with pytest.raises(PmpWriteFailedError) as caught:
        await pmp.leads.create(name="A", source=1, status=1)
    assert caught.value.user_message == "PMP couldn't add the lead."
    assert caught.value.server_message == "Lead add fail."


async def test_a_failed_update_is_a_write_failure(make_client: ClientFactory) -> None:
    fake = FakePmp(
        json_response(200, CUSTOMER_ROW),
        json_response(404, {"status": False, "message": "Customer Update Fail."}),
    )
    pmp = make_client(fake)
    with pytest.raises(PmpWriteFailedError) as caught:
        await pmp.customers.update(3, phonenumber="999")
    assert caught.value.user_message == "PMP couldn't save the changes to customer #3."
    assert fake.methods == ["GET", "PUT"]


async def test_a_failed_customer_delete_explains_invoices(make_client: ClientFactory) -> None:
    body = {"status": False, "message": "Customer Delete Fail."}
    pmp = make_client(FakePmp(json_response(404, body)))
    with pytest.raises(PmpWriteFailedError) as caught:
        await pmp.customers.delete(3)
    assert caught.value.user_message == (
        "PMP couldn't delete customer #3. Customers with invoices or estimates can't be deleted."
    )


async def test_a_failed_ticket_delete_is_a_write_failure(make_client: ClientFactory) -> None:
    body = {"status": False, "message": "Ticket Delete Fail."}
    pmp = make_client(FakePmp(json_response(404, body)))
    with pytest.raises(PmpWriteFailedError) as caught:
        await pmp.tickets.delete(7)
    assert caught.value.user_message == "PMP couldn't delete ticket #7."


@pytest.mark.parametrize(
    "response",
    [
        html_response(200, "<!DOCTYPE html><html><body>Login</body></html>"),
        html_response(404),
        html_response(400, "<h1>The URI you submitted has disallowed characters.</h1>"),
        httpx.Response(200, content=b"hello, not json", headers={"content-type": "text/plain"}),
        httpx.Response(200, content=b""),
    ],
    ids=["html-200", "html-404", "html-400", "plain-text", "empty"],
)
async def test_non_json_answers_are_unexpected(
    make_client: ClientFactory, response: httpx.Response
) -> None:
    pmp = make_client(FakePmp(response))
    with pytest.raises(PmpUnexpectedResponseError) as caught:
        await pmp.customers.get(3)
    assert "crm.example.com" in caught.value.user_message
    assert "PMP URL" in caught.value.user_message


@pytest.mark.parametrize(
    "body",
    ["just a string", 42, [1, 2], {"unrelated": "object"}, [CUSTOMER_ROW, CUSTOMER_ROW]],
    ids=["string", "number", "list-of-numbers", "object-without-id", "two-records"],
)
async def test_json_without_the_module_shape_on_get_is_unexpected(
    make_client: ClientFactory, body: Any
) -> None:
    other = {**CUSTOMER_ROW, "userid": "4"}
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = [other, {**other, "userid": "5"}]
    pmp = make_client(FakePmp(json_response(200, body)))
    with pytest.raises(PmpUnexpectedResponseError):
        await pmp.customers.get(3)


@pytest.mark.parametrize("body", ["text", {"unrelated": 1}, [{"no_id": "x"}], [1]])
async def test_json_without_the_module_shape_on_list_is_unexpected(
    make_client: ClientFactory, body: Any
) -> None:
    pmp = make_client(FakePmp(json_response(200, body)))
    with pytest.raises(PmpUnexpectedResponseError):
        await pmp.customers.list()


async def test_a_json_error_without_pmp_status_is_unexpected(make_client: ClientFactory) -> None:
    pmp = make_client(FakePmp(json_response(404, {"detail": "Not Found"})))
    with pytest.raises(PmpUnexpectedResponseError):
        await pmp.customers.get(3)


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_passing_server_errors_say_try_again(make_client: ClientFactory, status: int) -> None:
    pmp = make_client(FakePmp(html_response(status)), max_retries=0)
    with pytest.raises(PmpUnexpectedResponseError) as caught:
        await pmp.customers.list()
    assert caught.value.user_message == (
        f"PMP had an internal error (HTTP {status}) — try again in a minute."
    )
    assert caught.value.status_code == status


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (405, {"status": False, "error": "Unknown method"}),
        (406, {"status": False, "message": "Data Not Acceptable OR Not Provided"}),
    ],
)
async def test_unsupported_requests_are_unexpected(
    make_client: ClientFactory, status: int, body: dict[str, Any]
) -> None:
    pmp = make_client(FakePmp(json_response(status, body)))
    with pytest.raises(PmpUnexpectedResponseError) as caught:
        await pmp.customers.delete(3)
    assert f"HTTP {status}" in caught.value.user_message
    assert caught.value.server_message in ("Unknown method", "Data Not Acceptable OR Not Provided")


async def test_too_many_requests_after_retries_is_unexpected(make_client: ClientFactory) -> None:
    pmp = make_client(FakePmp(json_response(429, {"message": "slow down"})), max_retries=1)
    with pytest.raises(PmpUnexpectedResponseError) as caught:
        await pmp.customers.list()
    assert caught.value.user_message == "PMP is busy right now — try again in a minute."


async def test_a_redirect_is_not_followed_and_its_target_is_for_the_log_only(
    make_client: ClientFactory,
) -> None:
    redirect = httpx.Response(301, headers={"location": "https://login.example.net/"})
    fake = FakePmp(redirect)
    pmp = make_client(fake, base_url="http://crm.example.com")
    with pytest.raises(PmpUnexpectedResponseError) as caught:
        await pmp.customers.get(3)
    assert len(fake.requests) == 1
    assert "login.example.net" not in caught.value.user_message
    assert "crm.example.com answered with a redirect" in caught.value.user_message
    assert "redirect to login.example.net" in str(caught.value)


async def test_an_unknown_failure_message_on_a_read_is_unexpected(
    make_client: ClientFactory,
) -> None:
    pmp = make_client(FakePmp(json_response(404, {"status": False, "message": "Kaboom"})))
    with pytest.raises(PmpUnexpectedResponseError) as caught:
        await pmp.customers.get(3)
    assert caught.value.user_message.endswith("Kaboom")


async def test_an_unknown_failure_message_on_a_write_is_a_write_failure(
    make_client: ClientFactory,
) -> None:
    pmp = make_client(FakePmp(json_response(404, {"status": False, "message": "Kaboom"})))
    with pytest.raises(PmpWriteFailedError):
        await pmp.tickets.delete(7)


async def test_status_false_with_http_200_is_still_a_failure(make_client: ClientFactory) -> None:
    pmp = make_client(FakePmp(json_response(200, {"status": False, "message": "Lead add fail."})))
    with pytest.raises(PmpWriteFailedError):
        await pmp.leads.create(name="A", source=1, status=1)


async def test_unreachable_names_the_site(make_client: ClientFactory) -> None:
    pmp = make_client(FakePmp(httpx.ConnectError("Name or service not known")), max_retries=0)
    with pytest.raises(PmpConnectionError) as caught:
        await pmp.customers.get(3)
    assert caught.value.user_message == (
        "Couldn't reach PMP at crm.example.com. Check the URL, or try again in a minute."
    )


async def test_unreachable_site_under_a_path_names_the_path(make_client: ClientFactory) -> None:
    fake = FakePmp(httpx.ConnectError("refused"))
    pmp = make_client(fake, base_url="https://example.com/crm/", max_retries=0)
    with pytest.raises(PmpConnectionError) as caught:
        await pmp.customers.get(3)
    assert "at example.com/crm." in caught.value.user_message


async def test_a_timeout_names_the_client_timeout(make_client: ClientFactory) -> None:
    pmp = make_client(FakePmp(httpx.ReadTimeout("timed out")))
    with pytest.raises(PmpTimeoutError) as caught:
        await pmp.customers.get(3)
    assert caught.value.user_message == "PMP didn't answer within 10 s — try again in a minute."


async def test_a_timeout_names_the_per_call_timeout(make_client: ClientFactory) -> None:
    pmp = make_client(FakePmp(httpx.ConnectTimeout("timed out")))
    with pytest.raises(PmpTimeoutError) as caught:
        await pmp.tickets.search("x", timeout=2.5)
    assert caught.value.user_message == "PMP didn't answer within 2.5 s — try again in a minute."


def _every_error_answer() -> list[httpx.Response | Exception]:
    echo = f"bad token {TOKEN}"
    return [
        json_response(404, {"status": False, "message": echo}),
        json_response(404, {"status": False, "message": f"add fail. {TOKEN}"}),
        json_response(404, {"status": False, "error": {"company": echo}, "message": echo}),
        json_response(404, NO_DATA),
        json_response(401, {"status": False, "message": echo}),
        json_response(403, {"status": False, "message": echo}),
        json_response(405, {"status": False, "error": echo}),
        json_response(404, {"status": False, "message": f"Kaboom {TOKEN}"}),
        html_response(500, f"<p>{TOKEN}</p>"),
        html_response(200, f"<p>{TOKEN}</p>"),
        json_response(200, [TOKEN]),
        httpx.ConnectError(f"refused {TOKEN}"),
        httpx.ReadTimeout(f"timeout {TOKEN}"),
    ]


@pytest.mark.parametrize("answer", _every_error_answer())
async def test_no_error_text_ever_contains_the_token(
    make_client: ClientFactory, answer: httpx.Response | Exception
) -> None:
    pmp = make_client(FakePmp(answer), max_retries=0)
    with pytest.raises(PmpError) as caught:
        await pmp.customers.get(3)
    error = caught.value
    for text in (str(error), repr(error), error.user_message, error.server_message or ""):
        assert TOKEN not in text
    if isinstance(error, PmpValidationError):
        assert all(TOKEN not in message for message in error.errors.values())


def test_errors_built_directly_have_a_default_user_message() -> None:
    error = PmpNotFoundError("GET api/customers/3: gone")
    assert error.user_message == "PMP has no such record."
    assert str(error) == "GET api/customers/3: gone"
    assert isinstance(PmpValidationError("x").errors, dict)


@pytest.mark.parametrize(
    ("failure", "unconfirmed"),
    [
        (httpx.ReadTimeout("slow"), True),  # sent, answer lost: PMP may have acted
        (httpx.RemoteProtocolError("dropped"), True),
        (httpx.ConnectTimeout("no route"), False),  # never left
        (httpx.ConnectError("refused"), False),
    ],
)
async def test_a_write_whose_answer_is_lost_is_marked_unconfirmed(
    make_client: ClientFactory, failure: Exception, unconfirmed: bool
) -> None:
    pmp = make_client(FakePmp(failure))
    with pytest.raises((PmpTimeoutError, PmpConnectionError)) as caught:
        await pmp.customers.create(company="Acme")
    assert caught.value.write_unconfirmed is unconfirmed


async def test_a_lost_read_is_never_marked_unconfirmed(make_client: ClientFactory) -> None:
    pmp = make_client(FakePmp(httpx.ReadTimeout("slow")), max_retries=0)
    with pytest.raises(PmpTimeoutError) as caught:
        await pmp.customers.get(3)
    assert caught.value.write_unconfirmed is False


# --- errors that won't pass by waiting ------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (httpx.Response(500, content=b""), "PMP had an internal error (HTTP 500). Waiting"),
        (
            html_response(500, DATABASE_ERROR_PAGE),
            "PMP had an internal error (HTTP 500) (a database error). Waiting",
        ),
        (
            html_response(500, PHP_ERROR_PAGE),
            "PMP had an internal error (HTTP 500) (a PHP error). Waiting",
        ),
        (html_response(500), "PMP had an internal error (HTTP 500). If it keeps happening"),
        (json_response(500, {"status": False, "message": "x"}), "If it keeps happening"),
    ],
    ids=["empty", "database-page", "php-page", "web-server-page", "json"],
)
async def test_a_500_never_says_try_again(
    make_client: ClientFactory, answer: httpx.Response, words: str
) -> None:
    pmp = make_client(FakePmp(answer), max_retries=0)
    with pytest.raises(PmpUnexpectedResponseError) as caught:
        await pmp.customers.list()
    message = caught.value.user_message
    assert words in message
    assert "try again" not in message
    assert "PMP administrator" in message
    assert caught.value.status_code == 500


async def test_a_200_database_error_page_on_a_write_is_a_failure(
    make_client: ClientFactory,
) -> None:
    # A project PUT with a column the table lacks: HTTP 200, an HTML page, nothing saved.
    fake = FakePmp(json_response(200, CUSTOMER_ROW), html_response(200, DATABASE_ERROR_PAGE))
    with pytest.raises(PmpUnexpectedResponseError) as caught:
        await make_client(fake).customers.update(3, vat="X")
    error = caught.value
    assert error.user_message == (
        "PMP couldn't save the changes to customer #3: it hit a database error (Unknown "
        "column 'rel_type' in 'field list'). This is a PMP error a PMP administrator can look "
        "into in PMP's error log."
    )
    assert error.status_code == 200
    assert "secret name" not in str(error) + error.user_message  # the SQL's values stay out
    assert error.write_unconfirmed is False


async def test_a_200_php_error_page_on_a_read_names_pmp(make_client: ClientFactory) -> None:
    pmp = make_client(FakePmp(html_response(200, PHP_ERROR_PAGE)))
    with pytest.raises(PmpUnexpectedResponseError) as caught:
        await pmp.customers.get(3)
    assert caught.value.user_message.startswith("PMP hit a PHP error answering pmp-bot.")


# --- servers in development mode ------------------------------------------------------------


def _warned(body: Any, status: int = 200, warnings: int = 2) -> httpx.Response:
    """An answer of a PMP in development mode: PHP warnings as HTML before the JSON."""
    return httpx.Response(
        status,
        content=(PHP_WARNING * warnings + json.dumps(body)).encode(),
        headers={"content-type": "text/html; charset=UTF-8"},
    )


async def test_json_after_php_warnings_is_the_answer(make_client: ClientFactory) -> None:
    fake = FakePmp(_warned([CUSTOMER_ROW]), _warned({"status": True, "message": "ok"}))
    pmp = make_client(fake)
    [customer] = await pmp.customers.search("jk")
    assert customer.company == "Jk Technologies"
    assert await pmp.customers.create(company="Acme") is None


@pytest.mark.parametrize("status", [200, 404])
async def test_status_false_after_php_warnings_is_still_a_failure(
    make_client: ClientFactory, status: int
) -> None:
    body = {"status": False, "message": "Lead add fail."}
    pmp = make_client(FakePmp(_warned(body, status)))
    with pytest.raises(PmpWriteFailedError):
        await pmp.leads.create(name="A", source=1, status=1)


async def test_validation_errors_after_php_warnings_keep_their_html_message(
    make_client: ClientFactory,
) -> None:
    body = {
        "status": False,
        "error": {"name": "The Name field is required."},
        "message": "<p>The Name field is required.</p>\n",
    }
    pmp = make_client(FakePmp(_warned(body, 404)))
    with pytest.raises(PmpValidationError) as caught:
        await pmp.projects.create(
            name="", clientid=1, billing_type=1, start_date="2024-01-01", status=1
        )
    assert caught.value.errors == {"name": "The Name field is required."}


def test_json_after_html_skips_braces_inside_the_warnings() -> None:
    text = '<div><p>Message: Undefined key {"x": 1} [0]</p></div>\n{"status": true}'
    assert json_after_html(text) == {"status": True}
    assert json_after_html("<html><body>{not json}</body></html>") is not True
    assert json_after_html('<p>{"a": 1}</p> trailing') is _NOT_JSON_MARK


def test_json_after_html_gives_up_after_a_few_false_starts() -> None:
    # Each false start costs one linear parse: their number is capped.
    text = "<b>{x</b>" * 100 + '{"status": true}'
    assert json_after_html(text) is _NOT_JSON_MARK


def test_cleaning_huge_server_text_stays_linear() -> None:
    # A regex like <[^>]*> takes quadratic time on this; the cleaning is one pass over a cut.
    assert plain_text("<" * 150_000) == "<" * 2000
    assert plain_text("<b>" * 50_000 + "tail") == "<b"  # cut after 2000 characters
    assert plain_text("a <b>bold</b> &amp; <i>x</i>") == "a bold & x"


async def test_a_huge_error_of_angle_brackets_is_cut_before_any_cleaning(
    make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 150 KB of "<" once froze the bot for 22 s in a quadratic regex. The work is bounded by
    # what the cleaner is handed: never more than the cut, however big the server's text.
    handed: list[int] = []
    clean = errors_module._without_tags

    def counting(text: str) -> str:
        handed.append(len(text))
        return clean(text)

    monkeypatch.setattr(errors_module, "_without_tags", counting)
    huge = {"status": False, "message": "<" * 150_000, "error": {"company": "<" * 150_000}}
    with pytest.raises(PmpValidationError) as caught:
        await make_client(FakePmp(json_response(404, huge))).customers.create(company="x")
    assert handed and max(handed) <= errors_module._PLAIN_TEXT_LIMIT
    assert len(caught.value.user_message) <= 300


async def test_a_huge_html_page_is_reported_not_parsed_forever(
    make_client: ClientFactory,
) -> None:
    page = html_response(200, "<" * 150_000)
    with pytest.raises(PmpUnexpectedResponseError):
        await make_client(FakePmp(page)).customers.get(3)
    endless_tags = html_response(404, "<html>" + "<{" * 75_000)
    with pytest.raises(PmpUnexpectedResponseError):
        await make_client(FakePmp(endless_tags)).customers.get(3)


# --- searches a web server refuses ----------------------------------------------------------


@pytest.mark.parametrize("status", [400, 403, 404])
async def test_an_html_answer_to_a_search_is_a_refused_term_not_a_bad_token(
    make_client: ClientFactory, status: int
) -> None:
    fake = FakePmp(html_response(status, "<h1>Forbidden</h1>"))
    pmp = make_client(fake, api_version=2)
    with pytest.raises(PmpSearchRefusedError) as caught:
        await pmp.customers.search("a/b c?")
    error = caught.value
    assert isinstance(error, PmpValidationError)
    assert error.user_message == "PMP's web server refused that search text; try other words."
    assert error.errors == {"term": error.user_message}
    assert error.status_code == status
