"""The PMP client's one error hierarchy, and the one place that maps PMP answers onto it.

A PMP server answers almost every failure with HTTP 404 and ``"status": false`` (not found,
validation, a failed write and a bad token alike), so errors are told apart by the body, not the
status code. Everything a PMP answer can mean is decided in :func:`decode_response` and
:func:`error_for_transport`; the rest of the client only raises what these return.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from bot.pmp.network import refused_address_cause

Action = Literal["list", "get", "search", "create", "update", "delete", "check"]


@dataclass(frozen=True)
class RequestInfo:
    """What a request was for, so an error can say it in the user's terms.

    ``log_path`` is the request path with any search term replaced, safe for logs and
    exception messages (search terms are personal data: names, e-mail addresses).
    """

    method: str
    log_path: str
    action: Action
    noun: str
    site: str
    timeout: float
    record_id: int | None = None
    parent_id: int | None = None

    @property
    def record_label(self) -> str:
        label = f"{self.noun} #{self.record_id}" if self.record_id is not None else self.noun
        if self.parent_id is not None:
            label += f" of customer #{self.parent_id}"
        return label


class PmpError(Exception):
    """Base of every error the PMP client raises.

    ``str(error)`` is a technical description for logs; ``user_message`` is short text fit to
    show a Slack user. Neither ever contains the API token.
    """

    default_user_message = "Something went wrong talking to PMP — try again in a minute."

    def __init__(
        self,
        message: str,
        *,
        user_message: str | None = None,
        status_code: int | None = None,
        server_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.user_message = user_message or self.default_user_message
        self.status_code = status_code
        self.server_message = server_message
        # True when a write (POST, PUT, DELETE) was sent but its answer was lost: PMP may
        # have carried it out, so sending it again could do it twice.
        self.write_unconfirmed = False


class PmpConnectionError(PmpError):
    """PMP could not be reached (DNS, refused connection, TLS, dropped connection)."""

    default_user_message = "Couldn't reach PMP. Check the URL, or try again in a minute."


class PmpAddressRefusedError(PmpConnectionError):
    """pmp-bot refused to connect: the PMP host resolves only to addresses that are not public
    (loopback, a private network, cloud metadata...) and the operator has not allowed them."""

    default_user_message = (
        "pmp-bot doesn't connect to that PMP address: it is not on the public internet. "
        "The pmp-bot operator can allow it."
    )


class PmpTimeoutError(PmpError):
    """PMP did not answer within the timeout."""

    default_user_message = "PMP didn't answer in time — try again in a minute."


class PmpAuthError(PmpError):
    """PMP refused the token: missing, wrong, malformed or expired, lacking a permission, or the
    API module is switched off."""

    default_user_message = (
        "PMP refused the API token. An admin can run `/pmp connect` to update it."
    )


class PmpNotFoundError(PmpError):
    """The requested record does not exist."""

    default_user_message = "PMP has no such record."


class PmpValidationError(PmpError):
    """PMP (or the client, before sending) rejected field values.

    ``errors`` maps a field name to a plain-text message, e.g.
    ``{"company": "The Company field is required."}``.
    """

    default_user_message = "PMP didn't accept those values."

    def __init__(
        self,
        message: str,
        *,
        errors: Mapping[str, str] | None = None,
        user_message: str | None = None,
        status_code: int | None = None,
        server_message: str | None = None,
    ) -> None:
        super().__init__(
            message,
            user_message=user_message,
            status_code=status_code,
            server_message=server_message,
        )
        self.errors: dict[str, str] = dict(errors or {})


class PmpWriteFailedError(PmpError):
    """PMP answered that a create, update or delete failed ("... add fail.", "Update Fail.")."""

    default_user_message = "PMP couldn't save that change."


class PmpUnexpectedResponseError(PmpError):
    """The answer is not what a PMP API sends: an HTML page, non-JSON, JSON of another shape, a
    server error, or a request PMP says it cannot handle."""

    default_user_message = "PMP gave an answer pmp-bot doesn't understand — try again later."


class PmpAnswerTooLargeError(PmpUnexpectedResponseError):
    """PMP's answer was bigger than the client reads (``max_response_bytes``): reading
    stopped at the limit, so one workspace's PMP can't fill the bot's memory."""

    def __init__(
        self, message: str, *, limit: int, received: int, user_message: str | None = None
    ) -> None:
        super().__init__(message, user_message=user_message)
        self.limit = limit
        self.received = received  # bytes of the answer read before stopping


def format_megabytes(size: int) -> str:
    """``10_000_000`` as ``10 MB``."""
    return f"{size / 1_000_000:g} MB"


def answer_too_large(info: RequestInfo, limit: int, received: int) -> PmpAnswerTooLargeError:
    """The error for an answer bigger than ``limit`` bytes (``received`` were read)."""
    what = "search" if info.action == "search" else "answer"
    hint = " Search with more specific words." if info.action == "search" else ""
    error = PmpAnswerTooLargeError(
        _describe(info, f"answer over {limit} bytes ({received} read), reading stopped"),
        limit=limit,
        received=received,
        user_message=(
            f"PMP sent more than {format_megabytes(limit)} for one {what}, more than pmp-bot "
            f"reads.{hint} The pmp-bot operator can raise PMP_BOT_MAX_PMP_RESPONSE_MB."
        ),
    )
    error.write_unconfirmed = info.method != "GET"
    return error


UnsafeKind = Literal["lead", "project", "ticket"]


class PmpUnsafeUpdateError(PmpError):
    """An update was not sent because PMP would destroy data doing it.

    PMP's API module deletes the attachments of lead, project or ticket number 1 on every
    successful lead, project or ticket update (a module defect). ``kind`` is the record kind,
    ``files`` how many files record #1 of that kind has (None when PMP can't tell). Pass
    ``allow_first_record_file_loss=True`` to the update to send it anyway.
    """

    default_user_message = "pmp-bot didn't save this change: PMP would delete files doing it."

    def __init__(
        self, message: str, *, kind: UnsafeKind, files: int | None, user_message: str | None = None
    ) -> None:
        super().__init__(message, user_message=user_message or first_record_message(kind, files))
        self.kind: UnsafeKind = kind
        self.files = files


def first_record_message(kind: UnsafeKind, files: int | None) -> str:
    """Plain words for why a lead, project or ticket update was not sent."""
    if files is None:
        known = f"PMP can't tell pmp-bot whether {kind} #1 has any"
    else:
        known = f"{kind} #1 has {files} file{'' if files == 1 else 's'}"
    return (
        f"PMP's API module deletes the files of {kind} #1 on every {kind} update, and {known}, "
        "so pmp-bot didn't save this change. A PMP administrator can fix the module "
        "(pmp-bot's README says how)."
    )


# firebase/php-jwt messages for a malformed or invalid token; the module passes them through.
_JWT_MESSAGES = (
    "wrong number of segments",
    "signature verification failed",
    "expired token",
    "cannot handle token prior to",
    "invalid header encoding",
    "invalid claims encoding",
    "invalid signature encoding",
    "empty algorithm",
    "algorithm not supported",
    "algorithm not allowed",
    "syntax error, malformed json",
    "malformed utf-8 characters",
    "unexpected control character found",
    "key may not be empty",
    "incorrect key for this algorithm",
    "openssl unable to verify data",
)
_NOT_FOUND_MARKERS = ("no data were found", "not found", "does not exist")
_WRITE_FAILED_MARKERS = ("add fail", "update fail", "delete fail")
_WRITE_ACTIONS = frozenset({"create", "update", "delete"})
_USER_TEXT_LIMIT = 300
# Server text is cut to this many characters before any cleaning: an error page can be huge.
_PLAIN_TEXT_LIMIT = 2000
# An HTML page is only looked at this far for what kind of error page it is.
_PAGE_SCAN_LIMIT = 20_000
# How many places that look like the start of JSON after HTML are tried (each try is linear).
_MAX_JSON_STARTS = 20


def _without_tags(text: str) -> str:
    """``text`` with every ``<...>`` tag replaced by a space, in one linear pass (a regex such
    as ``<[^>]*>`` goes quadratic on a long run of ``<`` without ``>``)."""
    parts: list[str] = []
    start = 0
    while True:
        opening = text.find("<", start)
        if opening < 0:
            parts.append(text[start:])
            break
        closing = text.find(">", opening + 1)
        if closing < 0:
            parts.append(text[start:])  # no tag can close any more
            break
        parts.append(text[start:opening])
        parts.append(" ")
        start = closing + 1
    return "".join(parts)


def plain_text(value: object) -> str:
    """A server message as one line of plain text: HTML tags and entities removed. Long text is
    cut first, so this stays cheap whatever the server sends."""
    text = html.unescape(_without_tags(str(value)[:_PLAIN_TEXT_LIMIT]))
    return " ".join(text.split())


def _format_seconds(seconds: float) -> str:
    return f"{seconds:g} s"


def _shorten(text: str) -> str:
    if len(text) <= _USER_TEXT_LIMIT:
        return text
    return text[: _USER_TEXT_LIMIT - 1].rstrip() + "…"


def _describe(info: RequestInfo, detail: str) -> str:
    return f"{info.method} {info.log_path}: {detail}"


# Failures that happen before a request leaves: the server cannot have acted on it.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def error_for_transport(exc: httpx.TransportError, info: RequestInfo) -> PmpError:
    """Map an httpx transport failure (no HTTP answer) to a PMP error."""
    kind = type(exc).__name__
    error: PmpError
    refused = refused_address_cause(exc)
    if refused is not None:
        # The reasons (which address, why) are for the log only.
        return PmpAddressRefusedError(
            _describe(info, str(refused)),
            user_message=(
                f"pmp-bot doesn't connect to PMP at {info.site}: its address is not on the "
                "public internet. The pmp-bot operator can allow it."
            ),
        )
    if isinstance(exc, httpx.TimeoutException):
        error = PmpTimeoutError(
            _describe(info, f"no answer within {_format_seconds(info.timeout)} ({kind})"),
            user_message=(
                f"PMP didn't answer within {_format_seconds(info.timeout)} — try again in a minute."
            ),
        )
    else:
        error = PmpConnectionError(
            _describe(info, f"could not reach {info.site} ({kind})"),
            user_message=(
                f"Couldn't reach PMP at {info.site}. Check the URL, or try again in a minute."
            ),
        )
    error.write_unconfirmed = info.method != "GET" and not isinstance(exc, _NOT_SENT)
    return error


def unexpected_shape(
    info: RequestInfo, detail: str, *, status_code: int = 200
) -> PmpUnexpectedResponseError:
    """The error for JSON that parsed but is not shaped like the module's answer."""
    return PmpUnexpectedResponseError(
        _describe(info, f"unexpected answer: {detail}"),
        user_message=(
            f"{info.site} didn't answer like a PMP API. Check the PMP URL with `/pmp connect`."
        ),
        status_code=status_code,
    )


def unreadable_answer(info: RequestInfo, detail: str) -> PmpUnexpectedResponseError:
    """The error for a body that can't be decoded (an encoding not asked for, corrupt gzip)."""
    error = PmpUnexpectedResponseError(
        _describe(info, f"unreadable answer: {detail}"),
        user_message=f"{info.site} sent an answer pmp-bot can't read. Check the PMP URL.",
    )
    error.write_unconfirmed = info.method != "GET"
    return error


def decode_response(response: httpx.Response, info: RequestInfo, *, secret: str) -> Any:
    """Return the decoded JSON of a successful PMP answer, or raise the matching PmpError.

    Success needs JSON and no ``"status": false``, whatever the HTTP code: a server in
    development mode prints HTML PHP warnings before its JSON (the JSON after them is used and
    still checked), and a database error can come back as HTTP 200 with an HTML page.
    ``secret`` (the API token) is scrubbed from any server text kept in an error, in case a
    server echoes it back.
    """
    status = response.status_code
    if 300 <= status < 400:
        raise _redirect_error(response, info)
    body = _json_body(response)
    if body is _NOT_JSON:
        raise _non_json_error(response, info)
    failed = status >= 400 or (isinstance(body, dict) and body.get("status") is False)
    if not failed:
        return body
    raise _failure_error(status, body, info, secret)


def check_probe_answer(response: httpx.Response, info: RequestInfo, *, secret: str) -> None:
    """Return None when the connection check's customer lookup came back as PMP answers it
    for a working token: "No data were found" (JSON, ``"status": false``) or a customer.

    Only a server that answers like PMP is taken for one: a token refusal raises PmpAuthError
    only when it comes as PMP's JSON (``"status": false``); any other answer, a 401 page or
    some other service's JSON included, is a PmpError saying the address is not a PMP API.
    """
    try:
        payload = decode_response(response, info, secret=secret)
    except PmpNotFoundError as error:
        if "no data were found" in (error.server_message or "").lower():
            return None
        raise unexpected_shape(
            info, "a not-found answer not in PMP's words", status_code=response.status_code
        ) from error
    except PmpAuthError as error:
        body = _json_body(response)
        if isinstance(body, dict) and body.get("status") is False:
            raise
        raise unexpected_shape(
            info, "a refusal without PMP's JSON", status_code=response.status_code
        ) from error
    if isinstance(payload, dict) and isinstance(payload.get("data"), dict | list):
        payload = payload["data"]  # 3.x may wrap a record
    if isinstance(payload, list) and len(payload) == 1:
        payload = payload[0]
    if isinstance(payload, dict) and "userid" in payload:
        return None
    raise unexpected_shape(info, "the customer lookup answered without a customer")


_NOT_JSON = object()


def _json_body(response: httpx.Response) -> Any:
    content = response.content
    if not content.strip():
        return _NOT_JSON
    try:
        return json.loads(content)
    except ValueError:
        pass
    if content.lstrip()[:1] != b"<":
        return _NOT_JSON
    return json_after_html(content.decode("utf-8", errors="replace"))


def json_after_html(text: str) -> Any:
    """The JSON value that ends ``text`` after HTML (PHP warnings printed before the module's
    answer), or ``_NOT_JSON``. One pass over the tags; only text that starts right after a tag
    with ``{`` or ``[`` is tried, at most ``_MAX_JSON_STARTS`` times."""
    decoder = json.JSONDecoder()
    tries = 0
    position = 0
    while position < len(text):
        opening = text.find("<", position)
        run_end = len(text) if opening < 0 else opening
        start = position
        while start < run_end and text[start].isspace():
            start += 1
        if start < run_end and text[start] in "{[":
            tries += 1
            try:
                value, end = decoder.raw_decode(text, start)
            except ValueError:
                pass
            else:
                if not text[end:].strip():
                    return value
            if tries >= _MAX_JSON_STARTS:
                break
        if opening < 0:
            break
        closing = text.find(">", opening + 1)
        if closing < 0:
            break
        position = closing + 1
    return _NOT_JSON


def _looks_like_html(response: httpx.Response) -> bool:
    if "html" in response.headers.get("content-type", "").lower():
        return True
    return response.content.lstrip()[:1] == b"<"


ErrorPage = Literal["database", "php"]


def _error_page(text: str) -> ErrorPage | None:
    """Which CodeIgniter / PHP error page an HTML answer is, if any."""
    lowered = text[:_PAGE_SCAN_LIMIT].lower()
    if "a database error occurred" in lowered:
        return "database"
    markers = ("a php error was encountered", "an uncaught exception was encountered")
    if any(marker in lowered for marker in markers) or "fatal error" in lowered:
        return "php"
    return None


def _unknown_column(text: str) -> str | None:
    """MySQL's "Unknown column '...' in 'field list'" from a database error page: it names a
    field, never a value, so it is safe to show and log."""
    head = text[:_PAGE_SCAN_LIMIT]
    at = head.find("Unknown column")
    if at < 0:
        return None
    end = head.find("<", at)
    found = plain_text(head[at : end if end >= 0 else at + 200])
    return _shorten(found) or None


# Answers that a busy or restarting server gives: worth waiting for.
_PASSING_STATUSES = frozenset({502, 503, 504})


def _server_error(
    status: int, info: RequestInfo, body: Literal["empty", "html", "json"] = "html", text: str = ""
) -> PmpUnexpectedResponseError:
    page = _error_page(text) if body == "html" else None
    if status in _PASSING_STATUSES:
        user_message = f"PMP had an internal error (HTTP {status}) — try again in a minute."
        detail = "server error"
    elif body == "empty" or page is not None:
        # The same request fails the same way every time: a PMP defect, not an outage.
        what = {"database": " (a database error)", "php": " (a PHP error)", None: ""}[page]
        user_message = (
            f"PMP had an internal error (HTTP {status}){what}. Waiting won't fix it: a PMP "
            "administrator can look into it in PMP's error log."
        )
        detail = f"server error, {'empty body' if body == 'empty' else f'{page} error page'}"
    else:
        user_message = (
            f"PMP had an internal error (HTTP {status}). If it keeps happening, a PMP "
            "administrator can look into it in PMP's error log."
        )
        detail = "server error"
    return PmpUnexpectedResponseError(
        _describe(info, f"HTTP {status} {detail}"), user_message=user_message, status_code=status
    )


def _busy_error(info: RequestInfo) -> PmpUnexpectedResponseError:
    return PmpUnexpectedResponseError(
        _describe(info, "HTTP 429 too many requests"),
        user_message="PMP is busy right now — try again in a minute.",
        status_code=429,
    )


def _redirect_error(response: httpx.Response, info: RequestInfo) -> PmpUnexpectedResponseError:
    # Redirects are never followed, and where one points is for the log only: shown to users
    # it would tell them about hosts they chose nothing about.
    location = response.headers.get("location", "")
    try:
        target = httpx.URL(location).host if location else ""
    except httpx.InvalidURL:
        target = ""
    where = f" to {target}" if target else ""
    return PmpUnexpectedResponseError(
        _describe(info, f"HTTP {response.status_code} redirect{where}"),
        user_message=(
            f"{info.site} answered with a redirect instead of PMP API data. Check the PMP URL "
            "with `/pmp connect` (it may need https://)."
        ),
        status_code=response.status_code,
    )


class PmpSearchRefusedError(PmpValidationError):
    """The web server in front of PMP answered a search with an HTML error page (400, 403,
    404…): it refused the search text itself (spaces, ``/``, ``?`` or other characters its URL
    rewriting won't pass). Not a token problem; other words may work."""

    default_user_message = "PMP's web server refused that search text; try other words."


# What a web server answers when its URL rules refuse a search term.
_REFUSED_SEARCH_STATUSES = frozenset({400, 403, 404, 414})


def _non_json_error(response: httpx.Response, info: RequestInfo) -> PmpError:
    status = response.status_code
    if status == 429:
        return _busy_error(info)
    if not response.content.strip():
        if status >= 500:
            return _server_error(status, info, "empty")
    elif status >= 500:
        return _server_error(status, info, "html", _page_text(response))
    html_page = _looks_like_html(response)
    if html_page and info.action == "search" and status in _REFUSED_SEARCH_STATUSES:
        message = PmpSearchRefusedError.default_user_message
        return PmpSearchRefusedError(
            _describe(info, f"HTTP {status} HTML page: the web server refused the search term"),
            errors={"term": message},
            user_message=message,
            status_code=status,
        )
    if status in (401, 403):
        return _auth_status_error(status, None, info)
    if html_page:
        return _html_page_error(response, info)
    return PmpUnexpectedResponseError(
        _describe(info, f"HTTP {status} answer is not JSON"),
        user_message=f"{info.site} didn't answer like a PMP API. Check the PMP URL.",
        status_code=status,
    )


def _page_text(response: httpx.Response) -> str:
    return response.content[:_PAGE_SCAN_LIMIT].decode("utf-8", errors="replace")


def _html_page_error(response: httpx.Response, info: RequestInfo) -> PmpUnexpectedResponseError:
    """An HTML page with no JSON after it, below HTTP 500: a PHP or database error page (PMP
    failed; a write was not carried out) or a page that is not PMP's API at all."""
    status = response.status_code
    text = _page_text(response)
    page = _error_page(text)
    if page is None:
        return PmpUnexpectedResponseError(
            _describe(info, f"HTTP {status} HTML page instead of JSON"),
            user_message=(
                f"{info.site} answered with a web page, not PMP API data. Check the PMP URL "
                "and that its API module is on."
            ),
            status_code=status,
        )
    column = _unknown_column(text) if page == "database" else None
    what = "a database error" if page == "database" else "a PHP error"
    if column:
        what += f" ({column})"
    if info.action == "create":
        lead = f"PMP couldn't add the {info.noun}: it hit {what}."
    elif info.action == "update":
        lead = f"PMP couldn't save the changes to {info.record_label}: it hit {what}."
    elif info.action == "delete":
        lead = f"PMP couldn't delete {info.record_label}: it hit {what}."
    else:
        lead = f"PMP hit {what} answering pmp-bot."
    return PmpUnexpectedResponseError(
        _describe(info, f"HTTP {status} {page} error page{f': {column}' if column else ''}"),
        user_message=(
            f"{lead} This is a PMP error a PMP administrator can look into in PMP's error log."
        ),
        status_code=status,
    )


def _auth_status_error(status: int, server_message: str | None, info: RequestInfo) -> PmpAuthError:
    if status == 403:
        user_message = (
            "The PMP API token isn't allowed to do that. A PMP admin can grant it the permission."
        )
    else:
        user_message = (
            "PMP's API refused access (it may be switched off). A PMP admin can check the API "
            "module, then run `/pmp connect`."
        )
    return PmpAuthError(
        _describe(info, f"HTTP {status} {server_message or 'access refused'}"),
        user_message=user_message,
        status_code=status,
        server_message=server_message,
    )


def _failure_error(status: int, body: Any, info: RequestInfo, secret: str) -> PmpError:
    if not isinstance(body, dict):
        if status >= 500:
            return _server_error(status, info, "json")
        return PmpUnexpectedResponseError(
            _describe(info, f"HTTP {status} with a JSON {type(body).__name__}"),
            user_message=f"{info.site} didn't answer like a PMP API. Check the PMP URL.",
            status_code=status,
        )
    raw_message = body.get("message")
    message = _scrub(plain_text(raw_message), secret) if raw_message is not None else None
    if status in (401, 403):
        return _auth_status_error(status, message, info)
    if status == 429:
        return _busy_error(info)
    if status >= 500:
        return _server_error(status, info, "json")
    if status in (405, 406):
        detail = message or (_scrub(plain_text(body["error"]), secret) if "error" in body else "")
        return PmpUnexpectedResponseError(
            _describe(info, f"HTTP {status} {detail}".rstrip()),
            user_message=(
                f"PMP couldn't handle the request (HTTP {status}). Its API module may be a "
                "version pmp-bot doesn't support."
            ),
            status_code=status,
            server_message=detail or None,
        )
    field_errors = _field_errors(body.get("errors" if "errors" in body else "error"), secret)
    if field_errors:
        return _validation_error(status, field_errors, message, info)
    if body.get("status") is not False:
        return PmpUnexpectedResponseError(
            _describe(info, f"HTTP {status} without a PMP status"),
            user_message=f"{info.site} didn't answer like a PMP API. Check the PMP URL.",
            status_code=status,
            server_message=message,
        )
    lowered = (message or "").lower()
    if _is_token_message(status, message, lowered, body):
        return PmpAuthError(
            _describe(info, f"HTTP {status} token refused: {message}"),
            user_message=PmpAuthError.default_user_message,
            status_code=status,
            server_message=message,
        )
    if any(marker in lowered for marker in _WRITE_FAILED_MARKERS) or (
        info.action in _WRITE_ACTIONS and not _is_not_found(lowered)
    ):
        return _write_failed_error(status, message, info)
    if _is_not_found(lowered):
        return PmpNotFoundError(
            _describe(info, f"HTTP {status} {message}"),
            user_message=f"PMP has no {info.record_label}.",
            status_code=status,
            server_message=message,
        )
    return PmpUnexpectedResponseError(
        _describe(info, f"HTTP {status} {message}"),
        user_message=f"PMP answered with an error pmp-bot doesn't know: {_shorten(message or '')}",
        status_code=status,
        server_message=message,
    )


def _scrub(text: str, secret: str) -> str:
    return text.replace(secret, "[token]") if secret else text


def _is_not_found(lowered: str) -> bool:
    return any(marker in lowered for marker in _NOT_FOUND_MARKERS)


def _is_token_message(status: int, message: str | None, lowered: str, body: dict[str, Any]) -> bool:
    if message is None:
        # A well-formed but unknown token answers 404 with "message": null and nothing else.
        return status == 404 and "error" not in body
    return "token" in lowered or any(lowered.startswith(jwt) for jwt in _JWT_MESSAGES)


def _field_errors(value: Any, secret: str) -> dict[str, str]:
    """Field errors from 2.0.8's ``error`` object or 3.x's ``errors`` (object or list)."""
    errors: dict[str, str] = {}
    if isinstance(value, dict):
        for field, text in value.items():
            parts = text if isinstance(text, list) else [text]
            joined = " ".join(plain_text(part) for part in parts if part)
            if joined:
                errors[str(field)] = _scrub(joined, secret)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and item.get("field") and item.get("message"):
                errors[str(item["field"])] = _scrub(plain_text(item["message"]), secret)
    return errors


def _validation_error(
    status: int, errors: dict[str, str], message: str | None, info: RequestInfo
) -> PmpValidationError:
    what = f"the changes to {info.record_label}" if info.action == "update" else f"the {info.noun}"
    return PmpValidationError(
        _describe(info, f"HTTP {status} validation failed: {errors}"),
        errors=errors,
        user_message=_shorten(f"PMP didn't accept {what}: {' '.join(errors.values())}"),
        status_code=status,
        server_message=message,
    )


def _write_failed_error(status: int, message: str | None, info: RequestInfo) -> PmpWriteFailedError:
    if info.action == "create":
        user_message = f"PMP couldn't add the {info.noun}."
    elif info.action == "delete":
        user_message = f"PMP couldn't delete {info.record_label}."
        if info.noun == "customer":
            user_message += " Customers with invoices or estimates can't be deleted."
    else:
        user_message = f"PMP couldn't save the changes to {info.record_label}."
    return PmpWriteFailedError(
        _describe(info, f"HTTP {status} {message}"),
        user_message=user_message,
        status_code=status,
        server_message=message,
    )
