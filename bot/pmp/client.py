"""The async PMP API client: the only code in pmp-bot that speaks HTTP to PMP."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import math
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import httpx

from bot import __version__
from bot.pmp.errors import (
    Action,
    PmpAuthError,
    PmpConnectionError,
    PmpError,
    PmpNotFoundError,
    PmpTimeoutError,
    RequestInfo,
    answer_too_large,
    check_probe_answer,
    decode_response,
    error_for_transport,
    unexpected_shape,
    unreadable_answer,
)
from bot.pmp.fields import WireValue
from bot.pmp.links import RecordKind, display_site, normalise_base_url, record_url
from bot.pmp.models import Milestone, PmpRecord
from bot.pmp.network import AddressPolicy, GuardedTransport, refused_address_cause
from bot.pmp.reading import ACCEPT_ENCODING, AnswerTooLarge, UnreadableEncoding, read_capped
from bot.pmp.resources import (
    ContactsResource,
    CustomersResource,
    LeadsResource,
    MilestonesResource,
    ProjectsResource,
    RecordResource,
    TicketsResource,
)
from bot.pmp.staff import StaffResource

logger = logging.getLogger("bot.pmp")

Sleep = Callable[[float], Awaitable[object]]

# Backoff before retry n (0-based): INITIAL_BACKOFF * 2**n seconds, at most MAX_BACKOFF, minus
# up to JITTER of it at random so many clients retrying together spread out.
INITIAL_BACKOFF = 0.5
MAX_BACKOFF = 8.0
JITTER = 0.25
# A Retry-After longer than this is cut short: a Slack user is waiting on the answer.
MAX_RETRY_AFTER = 15.0
# The most of one answer the client reads (after decompression). A search matching 10,000
# customers is about 12 MB of JSON: the operator of a PMP that big raises it.
DEFAULT_MAX_RESPONSE_BYTES = 10_000_000
# An id no PMP install reaches (MySQL's INT maximum): asking for it is one indexed lookup that
# answers "No data were found" when the token works.
_PROBE_CUSTOMER_ID = 2_147_483_647


# A request extension naming the statuses a call expects (e.g. PMP 2.0.8's 500 for GET of one
# ticket): an answer with one of them says nothing about whether PMP is well.
EXPECTED_STATUSES = "pmp_bot.expected_statuses"


def backoff_delay(retry_index: int, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait before retry ``retry_index`` (0 for the first retry)."""
    ceiling: float = min(MAX_BACKOFF, INITIAL_BACKOFF * 2.0**retry_index)
    return ceiling * (1 - JITTER * rand())


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """The wait a ``Retry-After`` header asks for (seconds or an HTTP-date), capped at
    MAX_RETRY_AFTER; None when absent or unreadable."""
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _is_retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


ApiVersion = int
"""2 for the REST API module 2.x (2.0.8), 3 for 3.x."""


def _check_token(token: str) -> str:
    cleaned = token.strip()
    if not cleaned:
        raise ValueError("the PMP API token is empty")
    if not all("!" <= char <= "~" for char in cleaned):
        raise ValueError("the PMP API token has characters that can't be sent in an HTTP header")
    return cleaned


class PmpClient:
    """An async client for one PMP instance, owning one pooled ``httpx.AsyncClient``.

    ``async with PmpClient(base_url=..., token=...) as pmp:`` then ``pmp.customers.search(...)``,
    ``pmp.tickets.create(...)``... Every method takes ``timeout=`` (seconds) to override the
    client's timeout for that call.

    Retries: GET requests are retried up to ``max_retries`` times on connection errors, 429
    and 5xx answers, after an exponential backoff with jitter or the server's ``Retry-After``.
    Timeouts are not retried (the timeout is what a user is willing to wait), and a POST, PUT
    or DELETE is never sent twice: it may have reached the server.

    Limits: the timeout is a deadline for the whole exchange (connecting, sending and every
    byte of the answer), not per read, so a server trickling bytes can't hold a call open; an
    answer bigger than ``max_response_bytes`` stops being read (PmpAnswerTooLargeError).

    Addresses: without a ``transport``, the client connects only where ``address_policy``
    allows (public addresses by default, see bot.pmp.network); a given transport brings its
    own rules (the pool's is a GuardedTransport).

    API module version: ``api_version`` is 3 once the client has seen a 3.x answer (a paged
    list envelope, a create's ``record_id``) or ``detect_api_version()`` found one, 2 once it
    found 2.x, None before. It decides how searches are sent (3.x: ``?q=``).
    """

    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        timeout: float = 10.0,
        max_retries: int = 2,
        transport: httpx.AsyncBaseTransport | None = None,
        address_policy: AddressPolicy | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be a positive number of seconds")
        if max_retries < 0:
            raise ValueError("max_retries can't be negative")
        if max_response_bytes <= 0:
            raise ValueError("max_response_bytes must be a positive number of bytes")
        if transport is not None and address_policy is not None:
            raise ValueError("address_policy applies to the client's own transport only")
        if transport is None:
            transport = GuardedTransport(address_policy or AddressPolicy())
        self.base_url = normalise_base_url(base_url)
        self.site = display_site(self.base_url)
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_response_bytes = max_response_bytes
        self._token = _check_token(token)
        self._sleep = sleep
        self._api_version: ApiVersion | None = None
        # Searches arriving together on a new client ask the version once between them.
        self._version_lock = asyncio.Lock()
        self._http = httpx.AsyncClient(
            base_url=f"{self.base_url}/api/",
            headers={
                "authtoken": self._token,
                "accept": "application/json",
                "accept-encoding": ACCEPT_ENCODING,
                "user-agent": f"pmp-bot/{__version__}",
            },
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )
        self.customers = CustomersResource(self)
        self.contacts = ContactsResource(self)
        self.leads = LeadsResource(self)
        self.milestones = MilestonesResource(self)
        self.projects = ProjectsResource(self)
        self.tickets = TicketsResource(self)
        # Read only: names for pickers and the Slack user <-> staff member mapping.
        self.staff = StaffResource(self)
        self._resources: dict[RecordKind, RecordResource[Any]] = {
            "customer": self.customers,
            "lead": self.leads,
            "project": self.projects,
            "milestone": self.milestones,
            "ticket": self.tickets,
        }

    def resource(self, kind: RecordKind) -> RecordResource[Any]:
        """The resource of a record kind (`"lead"`: ``self.leads``), for code that handles
        records whatever their kind (lookups, record forms, deletes)."""
        return self._resources[kind]

    def __repr__(self) -> str:
        return f"PmpClient(base_url={self.base_url!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def check_connection(self, *, timeout: float | None = None) -> None:
        """Return None when PMP accepts the token; otherwise raise PmpAuthError (PMP refused
        the token, in PMP's own JSON), PmpConnectionError / PmpTimeoutError (unreachable, or
        an address the policy refuses) or another PmpError (the address is not a PMP API).
        One cheap request, not retried; only an answer shaped like PMP's counts."""
        path = f"customers/{_PROBE_CUSTOMER_ID}"
        info = self.request_info("GET", path, "check", "customer", timeout=timeout)
        request = self._http.build_request("GET", path, timeout=info.timeout)
        response = await self._exchange(info, request)
        check_probe_answer(response, info, secret=self._token)

    @property
    def api_version(self) -> ApiVersion | None:
        """3 for a 3.x API module, 2 for 2.x, None while not known."""
        return self._api_version

    def note_api_version(self, version: ApiVersion) -> None:
        """Remember the module version an answer has shown (a 3.x envelope or record_id)."""
        self._api_version = version

    async def detect_api_version(self, *, timeout: float | None = None) -> ApiVersion:
        """The API module's major version (2 or 3), asked once per client and then remembered.

        One cheap request: the customer lookup ``check_connection`` uses, carrying the token
        only as ``Authorization: Bearer``. 3.x accepts that (its answer is "No data were
        found"); 2.0.8 reads only ``authtoken`` and answers "Token is not defined.". An answer
        that shows neither is taken as 2.x for now and asked again next time.
        PmpConnectionError / PmpTimeoutError when PMP can't be reached.
        """
        if self._api_version is not None:
            return self._api_version
        async with self._version_lock:
            if self._api_version is not None:
                return self._api_version
            return await self._ask_api_version(timeout)

    async def _ask_api_version(self, timeout: float | None) -> ApiVersion:
        path = f"customers/{_PROBE_CUSTOMER_ID}"
        info = self.request_info("GET", path, "check", "customer", timeout=timeout)
        try:
            await self.request(info, path, retry=False, bearer_only=True)
        except PmpNotFoundError:
            self._api_version = 3
        except PmpAuthError as error:
            if error.server_message and "not defined" in error.server_message.lower():
                self._api_version = 2
            return self._api_version or 2
        except (PmpConnectionError, PmpTimeoutError):
            raise
        except PmpError:
            return 2
        else:
            self._api_version = 3
        logger.debug("PMP %s: API module %d.x", self.site, self._api_version)
        return self._api_version

    def web_url(
        self, kind: RecordKind, record: PmpRecord | int, *, project_id: int | None = None
    ) -> str:
        """The PMP web page of a record (a model, or an id with ``kind``)."""
        if isinstance(record, Milestone) and project_id is None:
            project_id = record.project_id
        record_id = record.id if isinstance(record, PmpRecord) else record
        return record_url(self.base_url, kind, record_id, project_id)

    def request_info(
        self,
        method: str,
        log_path: str,
        action: Action,
        noun: str,
        *,
        timeout: float | None = None,
        record_id: int | None = None,
        parent_id: int | None = None,
    ) -> RequestInfo:
        """Describe a request for logs and errors. ``log_path`` is the path relative to
        ``<root>/api/`` with any personal data (a search term) left out."""
        return RequestInfo(
            method=method,
            log_path=f"api/{log_path}",
            action=action,
            noun=noun,
            site=self.site,
            timeout=timeout if timeout is not None else self.timeout,
            record_id=record_id,
            parent_id=parent_id,
        )

    async def request(
        self,
        info: RequestInfo,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        form: Mapping[str, WireValue] | None = None,
        json_body: Mapping[str, object] | None = None,
        retry: bool = True,
        final_statuses: frozenset[int] = frozenset(),
        bearer_only: bool = False,
    ) -> Any:
        """Send one API request (``path`` relative to ``<root>/api/``, already encoded) and
        return its decoded JSON, or raise the PmpError it maps to. Only GETs are retried, and
        never on a status in ``final_statuses`` (an answer known to come back the same).
        ``bearer_only`` sends the token as ``Authorization: Bearer`` instead of ``authtoken``
        (how ``detect_api_version`` tells 3.x from 2.x)."""
        method = info.method
        attempts = 1 + (self.max_retries if retry and method == "GET" else 0)
        for attempt in range(attempts):
            retries_left = attempt < attempts - 1
            request = self._http.build_request(
                method, path, params=params, data=form, json=json_body, timeout=info.timeout
            )
            if final_statuses:
                # Known answers, not news about PMP's health (see ObservingTransport).
                request.extensions[EXPECTED_STATUSES] = final_statuses
            if bearer_only:
                del request.headers["authtoken"]
                request.headers["authorization"] = f"Bearer {self._token}"
            try:
                response = await self._exchange(info, request, raise_transport_errors=True)
            except httpx.TransportError as exc:
                retryable = isinstance(exc, (httpx.NetworkError, httpx.RemoteProtocolError))
                # An address the guard refused stays refused: asking again only asks DNS again.
                if retryable and retries_left and refused_address_cause(exc) is None:
                    await self._wait_before_retry(info, attempt, type(exc).__name__, None)
                    continue
                raise error_for_transport(exc, info) from exc
            status = response.status_code
            if _is_retryable_status(status) and status not in final_statuses and retries_left:
                retry_after = retry_after_seconds(response.headers.get("retry-after"))
                await self._wait_before_retry(
                    info, attempt, f"HTTP {response.status_code}", retry_after
                )
                continue
            return decode_response(response, info, secret=self._token)
        raise AssertionError("the retry loop always returns or raises")  # pragma: no cover

    @contextlib.asynccontextmanager
    async def stream(
        self, info: RequestInfo, path: str, *, params: Mapping[str, str | int] | None = None
    ) -> AsyncIterator[httpx.Response]:
        """GET ``path`` and give PMP's 200 answer unread, to be read as it streams in (a
        whole list, see bot.pmp.listing); any other answer is read within the caps and raised
        as its PmpError. Retried as ``request`` retries a GET; ``info.timeout`` bounds each
        attempt until the answer's headers are in, the caller bounds reading the body."""
        attempts = 1 + self.max_retries
        for attempt in range(attempts):
            retries_left = attempt < attempts - 1
            request = self._http.build_request("GET", path, params=params, timeout=info.timeout)
            started = time.perf_counter()
            try:
                async with asyncio.timeout(info.timeout):
                    response = await self._http.send(request, stream=True)
            except (httpx.TransportError, TimeoutError) as exc:
                self._log_exchange(info, type(exc).__name__, started)
                error = (
                    exc
                    if isinstance(exc, httpx.TransportError)
                    else httpx.ReadTimeout(f"no answer within {info.timeout:g} s", request=request)
                )
                retryable = isinstance(error, (httpx.NetworkError, httpx.RemoteProtocolError))
                if retryable and retries_left and refused_address_cause(error) is None:
                    await self._wait_before_retry(info, attempt, type(error).__name__, None)
                    continue
                raise error_for_transport(error, info) from exc
            self._log_exchange(info, str(response.status_code), started)
            if response.status_code == 200:
                try:
                    yield response
                finally:
                    await response.aclose()
                return
            try:
                async with asyncio.timeout(info.timeout):
                    await read_capped(response, self.max_response_bytes)
            except TimeoutError as exc:
                raise error_for_transport(
                    httpx.ReadTimeout(f"no answer within {info.timeout:g} s", request=request),
                    info,
                ) from exc
            except httpx.TransportError as exc:
                raise error_for_transport(exc, info) from exc
            except AnswerTooLarge as exc:
                raise answer_too_large(info, exc.limit, exc.received) from exc
            except UnreadableEncoding as exc:
                raise unreadable_answer(info, str(exc)) from exc
            finally:
                await response.aclose()
            if _is_retryable_status(response.status_code) and retries_left:
                retry_after = retry_after_seconds(response.headers.get("retry-after"))
                await self._wait_before_retry(
                    info, attempt, f"HTTP {response.status_code}", retry_after
                )
                continue
            self.decode(response, info)
            raise unexpected_shape(info, f"HTTP {response.status_code} without a failure")
        raise AssertionError("the retry loop always returns or raises")  # pragma: no cover

    def decode(self, response: httpx.Response, info: RequestInfo) -> Any:
        """The decoded JSON of a read answer, or the PmpError it maps to (the token scrubbed
        from any server text kept)."""
        return decode_response(response, info, secret=self._token)

    async def _exchange(
        self, info: RequestInfo, request: httpx.Request, *, raise_transport_errors: bool = False
    ) -> httpx.Response:
        """Send ``request`` and read its whole answer within ``info.timeout`` (one deadline
        for connecting, sending and every byte of the answer) and ``max_response_bytes``.

        Transport failures (the deadline is an ``httpx.ReadTimeout``) are raised as httpx
        raises them with ``raise_transport_errors``, else as the PmpError they map to. A too
        large or unreadable answer is a PmpError either way.
        """
        started = time.perf_counter()
        try:
            try:
                async with asyncio.timeout(info.timeout):
                    answer = await self._http.send(request, stream=True)
                    try:
                        await read_capped(answer, self.max_response_bytes)
                    finally:
                        await answer.aclose()
            except TimeoutError as exc:
                raise httpx.ReadTimeout(
                    f"no complete answer within {info.timeout:g} s", request=request
                ) from exc
        except httpx.TransportError as exc:
            self._log_exchange(info, type(exc).__name__, started)
            if raise_transport_errors:
                raise
            raise error_for_transport(exc, info) from exc
        except AnswerTooLarge as exc:
            self._log_exchange(info, "answer too large", started)
            raise answer_too_large(info, exc.limit, exc.received) from exc
        except UnreadableEncoding as exc:
            self._log_exchange(info, "unreadable answer", started)
            raise unreadable_answer(info, str(exc)) from exc
        self._log_exchange(info, str(answer.status_code), started)
        return answer

    @staticmethod
    def _log_exchange(info: RequestInfo, outcome: str, started: float) -> None:
        elapsed_ms = (time.perf_counter() - started) * 1000
        logger.debug("PMP %s %s -> %s in %.0f ms", info.method, info.log_path, outcome, elapsed_ms)

    async def _wait_before_retry(
        self, info: RequestInfo, attempt: int, reason: str, retry_after: float | None
    ) -> None:
        delay = retry_after if retry_after is not None else backoff_delay(attempt)
        logger.info(
            "PMP %s %s: %s, retry %d of %d in %.2f s",
            info.method,
            info.log_path,
            reason,
            attempt + 1,
            self.max_retries,
            delay,
        )
        await self._sleep(delay)
