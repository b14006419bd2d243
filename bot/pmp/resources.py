"""PMP resources: list / get / search / create / update / delete for each record type.

Handlers use these through a PmpClient (``pmp.tickets.get(7)``) and never see URLs or PMP JSON.
"""

from __future__ import annotations

import builtins
import logging
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar
from urllib.parse import quote

from bot.pmp.errors import (
    PmpNotFoundError,
    PmpSearchRefusedError,
    PmpUnexpectedResponseError,
    PmpUnsafeUpdateError,
    PmpValidationError,
    RequestInfo,
    UnsafeKind,
    unexpected_shape,
)
from bot.pmp.fields import (
    CONTACT_FIELDS,
    CUSTOMER_FIELDS,
    LEAD_FIELDS,
    MILESTONE_FIELDS,
    PROJECT_FIELDS,
    TICKET_FIELDS,
    FieldValue,
    ResourceFields,
    encode_all,
    form_body,
    plan_update,
)
from bot.pmp.models import Contact, Customer, Lead, Milestone, PmpRecord, Project, Ticket
from bot.pmp.project_settings import SettingsChange

if TYPE_CHECKING:
    from datetime import date, datetime

    from bot.pmp.client import PmpClient

logger = logging.getLogger("bot.pmp")

RecordT = TypeVar("RecordT", bound=PmpRecord)
# An HTTP 500 that comes back the same however often it is asked: not worth a retry.
_NO_RETRY_ON_500 = frozenset({500})

# Following 3.x pages stops here even if the server keeps saying there are more.
MAX_PAGES = 500


def record_id_arg(value: int | str, what: str = "record id") -> int:
    """A record id as an int. PMP treats id 0 or "" as "no id" and lists every record
    instead (PHP's empty()), so only positive whole numbers are accepted."""
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a positive whole number, not {value!r}")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or value <= 0:
        raise ValueError(f"{what} must be a positive whole number, not {value!r}")
    return value


def search_segment(term: str) -> str:
    """A search term as ONE percent-encoded path segment.

    Everything but letters, digits, ``-``, ``_`` and ``~`` is encoded, dots included: a term of
    only dots would otherwise be a ``.``/``..`` path segment, and a trailing ``.json``/``.csv``
    would select the REST library's output format.
    """
    return quote(term, safe="").replace(".", "%2E")


def _search_term(term: str) -> str:
    # PMP pastes the term into its SQL between double quotes, so a quote in it breaks the
    # query (HTTP 500); quotes around a phrase add nothing to its LIKE '%term%' anyway.
    cleaned = term.replace('"', "").strip() if isinstance(term, str) else ""
    if not cleaned:
        raise PmpValidationError(
            "empty search term refused before sending",
            errors={"term": "Type something to search for."},
            user_message="Type something to search for.",
        )
    return cleaned


# Characters every web server passes in a path once decoded (CodeIgniter's permitted URI
# characters); a term with any other (a space, "/", "?", "é"...) may be refused.
_PATH_SAFE = re.compile(r"[A-Za-z0-9~.:_@-]+")


def _rows(payload: Any, info: RequestInfo, id_key: str) -> tuple[builtins.list[Any], Any]:
    """The rows of a list answer and the 3.x ``meta`` (None for a bare array)."""
    if isinstance(payload, builtins.list):
        return payload, None
    if isinstance(payload, dict):
        if isinstance(payload.get("data"), builtins.list):
            return payload["data"], payload.get("meta")
        if id_key in payload:
            return [payload], None
    raise unexpected_shape(info, f"a list answer was a {type(payload).__name__}")


def _meta_number(meta: Any, *keys: str) -> int | None:
    if not isinstance(meta, dict):
        return None
    for key in keys:
        value = meta.get(key)
        if isinstance(value, (int, str)) and str(value).isdigit():
            return int(value)
    return None


def _next_page(meta: Any, page: int, fetched: int, rows_on_page: int) -> int | None:
    """The next 3.x page to ask for, or None when ``meta`` says this was the last."""
    if not isinstance(meta, dict) or rows_on_page == 0:
        return None
    for key in ("has_more", "has_next", "has_next_page"):
        if key in meta:
            return page + 1 if meta[key] in (True, 1, "1", "true") else None
    last = _meta_number(meta, "last_page", "total_pages", "pages")
    if last is not None:
        return page + 1 if page < last else None
    total = _meta_number(meta, "total")
    if total is not None:
        return page + 1 if fetched < total else None
    return None


class _Base(Generic[RecordT]):
    def __init__(
        self, client: PmpClient, *, path: str, noun: str, model: type[RecordT], id_key: str
    ) -> None:
        self._client = client
        self._path = path
        self._noun = noun
        self._model = model
        self._id_key = id_key

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def _parse(self, row: Any, info: RequestInfo) -> RecordT:
        if not isinstance(row, Mapping):
            raise unexpected_shape(info, f"a {self._noun} row was a {type(row).__name__}")
        try:
            return self._model.from_wire(row)
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            raise unexpected_shape(info, f"a {self._noun} row without a valid id") from exc

    async def _fetch_list(
        self,
        path: str,
        *,
        action: Literal["list", "search"],
        log_path: str | None = None,
        parent_id: int | None = None,
        params: Mapping[str, str] | None = None,
        until: Callable[[RecordT], bool] | None = None,
        timeout: float | None,
    ) -> builtins.list[RecordT]:
        """GET a list or search answer, following 3.x pages (stopping early once a record
        satisfies ``until``). "No data were found" is []."""
        info = self._client.request_info(
            "GET", log_path or path, action, self._noun, timeout=timeout, parent_id=parent_id
        )
        records: builtins.list[RecordT] = []
        page = 1
        for _ in range(MAX_PAGES):
            query: dict[str, str | int] = dict(params or {})
            if page > 1:
                query["page"] = page
            try:
                payload = await self._client.request(info, path, params=query or None)
            except PmpNotFoundError:
                break
            rows, meta = _rows(payload, info, self._id_key)
            if isinstance(payload, dict) and isinstance(payload.get("data"), builtins.list):
                self._client.note_api_version(3)  # only 3.x wraps lists
            reported_page = _meta_number(meta, "current_page", "page")
            if page > 1 and reported_page is not None and reported_page != page:
                break  # the server ignores the page parameter: this page repeats an earlier one
            parsed = [self._parse(row, info) for row in rows]
            records.extend(parsed)
            if until is not None and any(until(record) for record in parsed):
                break
            next_page = _next_page(meta, page, len(records), len(rows))
            if next_page is None:
                break
            page = next_page
        return records

    async def _fetch_one(
        self,
        path: str,
        record_id: int,
        *,
        parent_id: int | None = None,
        final_statuses: frozenset[int] = frozenset(),
        timeout: float | None,
    ) -> RecordT:
        info = self._client.request_info(
            "GET",
            path,
            "get",
            self._noun,
            timeout=timeout,
            record_id=record_id,
            parent_id=parent_id,
        )
        payload = await self._client.request(info, path, final_statuses=final_statuses)
        return self._parse(self._single_row(payload, record_id, info), info)

    def _single_row(self, payload: Any, record_id: int, info: RequestInfo) -> Any:
        # One milestone arrives as a one-element array; 3.x may wrap a record in "data".
        if isinstance(payload, dict) and isinstance(payload.get("data"), (dict, builtins.list)):
            payload = payload["data"]
        if isinstance(payload, dict):
            return payload
        if isinstance(payload, builtins.list):
            if len(payload) == 1:
                return payload[0]
            for row in payload:
                if isinstance(row, dict) and str(row.get(self._id_key)) == str(record_id):
                    return row
        raise unexpected_shape(info, f"a {self._noun} answer was a {type(payload).__name__}")

    async def _search(
        self,
        term: str,
        timeout: float | None,
        *,
        until: Callable[[RecordT], bool] | None = None,
    ) -> builtins.list[RecordT]:
        """Search: ``search/<term>`` (the term one encoded path segment), or on a 3.x module
        ``search?q=<term>``, which web servers that refuse some characters in a path pass.
        While the module version is not known, it is asked first for a term such a web server
        may refuse; and when one refuses a path search anyway, a 3.x module is asked again
        with ``?q=``."""
        cleaned = _search_term(term)
        if self._client.api_version is None and not _PATH_SAFE.fullmatch(cleaned):
            await self._client.detect_api_version(timeout=timeout)
        if self._client.api_version == 3:
            return await self._query_search(cleaned, timeout, until)
        try:
            return await self._fetch_list(
                f"{self._path}/search/{search_segment(cleaned)}",
                action="search",
                log_path=f"{self._path}/search/<term>",
                until=until,
                timeout=timeout,
            )
        except PmpSearchRefusedError:
            version = self._client.api_version or await self._client.detect_api_version(
                timeout=timeout
            )
            if version != 3:
                raise
        return await self._query_search(cleaned, timeout, until)

    async def _query_search(
        self, term: str, timeout: float | None, until: Callable[[RecordT], bool] | None
    ) -> builtins.list[RecordT]:
        # 2.0.8 would take a missing term as "everything": only ever sent to 3.x.
        return await self._fetch_list(
            f"{self._path}/search",
            action="search",
            log_path=f"{self._path}/search?q=<term>",
            params={"q": term},
            until=until,
            timeout=timeout,
        )


class RecordResource(_Base[RecordT]):
    """A PMP module with the full set of operations.

    ``update(id, **changes)`` never destroys data. PMP's PUT writes the keys it is sent and
    keeps the others, except fields it RESETS when absent; so update() reads the record just
    before writing and sends the changed fields, every field PMP resets (with the values just
    read, so they are kept) and every field PMP's validation requires. Clearing a field sends
    "" (leaving it out no longer clears it). It returns False, sending nothing, when
    ``changes`` would not change the record. Only the fields PMP knows for the module are sent;
    an unknown field name or a value of the wrong kind raises ValueError before any request.
    Fields in ``reset_by_update`` cannot be read back, so an update resets them unless they
    are passed.
    """

    # Fields no PMP endpoint returns that PMP resets when an update leaves them out: update()
    # cannot carry them over. Edit forms should ask for them or warn.
    reset_by_update: tuple[str, ...] = ()

    def __init__(
        self,
        client: PmpClient,
        *,
        path: str,
        noun: str,
        model: type[RecordT],
        fields: ResourceFields,
        id_key: str = "id",
    ) -> None:
        super().__init__(client, path=path, noun=noun, model=model, id_key=id_key)
        self._fields = fields
        self.reset_by_update = fields.unreadable

    async def list(self, *, timeout: float | None = None) -> builtins.list[RecordT]:
        """Every record ([] when there are none)."""
        return await self._fetch_list(self._path, action="list", timeout=timeout)

    async def get(self, record_id: int | str, *, timeout: float | None = None) -> RecordT:
        """One record; PmpNotFoundError when it does not exist."""
        record_id = record_id_arg(record_id, f"{self._noun} id")
        return await self._fetch_one(f"{self._path}/{record_id}", record_id, timeout=timeout)

    async def search(self, term: str, *, timeout: float | None = None) -> builtins.list[RecordT]:
        """Records matching ``term`` ([] for none). A blank term raises PmpValidationError;
        a term the web server in front of PMP refuses raises PmpSearchRefusedError."""
        return await self._search(term, timeout)

    async def delete(self, record_id: int | str, *, timeout: float | None = None) -> None:
        """Delete a record; PmpWriteFailedError when PMP refuses."""
        record_id = record_id_arg(record_id, f"{self._noun} id")
        path = f"delete/{self._path}/{record_id}"
        info = self._client.request_info(
            "DELETE", path, "delete", self._noun, timeout=timeout, record_id=record_id
        )
        await self._client.request(info, path)

    async def update(
        self,
        record_id: int | str,
        *,
        allow_first_record_file_loss: bool = False,
        timeout: float | None = None,
        **changes: FieldValue,
    ) -> bool:
        """Change the given fields, keeping every other; False (nothing sent) for a no-op.

        Lead, project and ticket updates make PMP delete the files of record #1 of that kind
        (see ``first_record_files``): they raise PmpUnsafeUpdateError, sending nothing, when
        record #1 has files or PMP can't tell, unless ``allow_first_record_file_loss`` is True.
        The flag changes nothing for customers and milestones. ``timeout`` applies to each
        request (the record #1 check, the read, the write).
        """
        return await self._update(
            record_id, changes, None, allow=allow_first_record_file_loss, timeout=timeout
        )

    async def _update(
        self,
        record_id: int | str,
        changes: Mapping[str, FieldValue],
        settings: SettingsChange | None,
        *,
        allow: bool,
        timeout: float | None,
    ) -> bool:
        record_id = record_id_arg(record_id, f"{self._noun} id")
        self._fields.check_names(changes, operation="update", noun=self._noun)
        self._fields.check_values(changes, operation="update")
        if not changes and not settings:
            return False
        # Asked first so that the record is read right before the write; only raised when
        # there is something to write.
        unsafe = None if allow else await self._file_loss(timeout)
        current = await self.get(record_id, timeout=timeout)
        body = self._plan(current, changes, settings)
        if body is None:
            return False
        if unsafe is not None:
            raise unsafe
        path = f"{self._path}/{record_id}"
        info = self._client.request_info(
            "PUT", path, "update", self._noun, timeout=timeout, record_id=record_id
        )
        await self._client.request(info, path, json_body=body)
        return True

    def _plan(
        self, current: RecordT, changes: Mapping[str, FieldValue], settings: SettingsChange | None
    ) -> dict[str, object] | None:
        body = plan_update(self._fields, current.raw, changes)
        return dict(body) if body is not None else None

    async def _file_loss(self, timeout: float | None) -> PmpUnsafeUpdateError | None:
        """The error to raise rather than send an update that would delete files (see the
        subclasses PMP's module defect applies to)."""
        return None

    async def _create(self, fields: dict[str, Any], timeout: float | None) -> int | None:
        self._fields.check_names(fields, operation="create", noun=self._noun)
        body = encode_all(self._fields.create, fields)
        info = self._client.request_info("POST", self._path, "create", self._noun, timeout=timeout)
        payload = await self._client.request(info, self._path, form=form_body(body))
        return _created_id(self._client, payload, info)


def _created_id(client: PmpClient, payload: Any, info: RequestInfo) -> int | None:
    """The new record's id from a create answer: 3.x sends ``record_id``, 2.0.8 nothing."""
    if not isinstance(payload, dict):
        raise unexpected_shape(info, f"a create answer was a {type(payload).__name__}")
    if "record_id" in payload:
        client.note_api_version(3)
    new_id = str(payload.get("record_id") or "").strip()
    return int(new_id) if new_id.isdigit() and int(new_id) > 0 else None


def _first_record_answer(payload: Any) -> Any:
    if isinstance(payload, dict) and isinstance(payload.get("data"), (dict, builtins.list)):
        payload = payload["data"]
    if isinstance(payload, builtins.list) and len(payload) == 1:
        payload = payload[0]
    return payload


class _FileLosingResource(RecordResource[RecordT]):
    """Leads, projects and tickets: every successful update makes PMP's API module delete the
    attachments of record #1 of the same kind (the controller passes the model's ``true``
    where the record id belongs; 2.0.8 and 3.0.x alike, whatever the request)."""

    kind: ClassVar[UnsafeKind]
    # Keys of record #1's answer that list its files, when PMP includes them.
    files_keys: ClassVar[tuple[str, ...]] = ("attachments",)

    async def first_record_files(self, *, timeout: float | None = None) -> int | None:
        """How many files record #1 of this kind has: 0 when there is no record #1, None when
        PMP can't tell. An update deletes them (see ``update``); forms can ask this before the
        user types. One GET, not retried on HTTP 500 (PMP's answer for a ticket it can't
        show); other failures raise as any read does."""
        path = f"{self._path}/1"
        info = self._client.request_info(
            "GET", path, "get", self._noun, timeout=timeout, record_id=1
        )
        try:
            payload = await self._client.request(info, path, final_statuses=_NO_RETRY_ON_500)
        except PmpNotFoundError:
            return 0
        except PmpUnexpectedResponseError as error:
            if error.status_code == 500:
                return None
            raise
        answer = _first_record_answer(payload)
        if not isinstance(answer, dict):
            return None
        for key in self.files_keys:
            files = answer.get(key)
            if isinstance(files, builtins.list):
                return len(files)
        return None

    async def _file_loss(self, timeout: float | None) -> PmpUnsafeUpdateError | None:
        files = await self.first_record_files(timeout=timeout)
        if files == 0:
            return None
        count = "an unknown number of" if files is None else str(files)
        return PmpUnsafeUpdateError(
            f"{self._noun} update not sent: {self._noun} #1 has {count} file(s) PMP would delete",
            kind=self.kind,
            files=files,
        )


class CustomersResource(RecordResource[Customer]):
    """Customers (``pmp.customers``).

    A customer's groups (``groups_in``) can't be read back from PMP, so ``update()`` cannot carry
    them over and PMP resets them on every update: pass ``groups_in=[...]`` to keep (or set)
    them. Its currency, countries and show-primary-contact flag are kept. Deleting a customer
    with invoices or estimates fails (PmpWriteFailedError).
    """

    def __init__(self, client: PmpClient) -> None:
        super().__init__(
            client,
            path="customers",
            noun="customer",
            model=Customer,
            fields=CUSTOMER_FIELDS,
            id_key="userid",
        )

    async def create(
        self, *, company: str, timeout: float | None = None, **fields: FieldValue
    ) -> int | None:
        """Add a customer; the new id when PMP tells it (3.x), else None."""
        return await self._create({"company": company, **fields}, timeout)


class LeadsResource(_FileLosingResource[Lead]):
    """Leads (``pmp.leads``). ``status`` and ``source`` are per-instance ids; 2.0.8 also
    requires ``assigned`` (a staff id). PMP sets a new lead's last contact to now. Search skips
    converted leads; a term starting with ``#`` searches tags. A lead's tags can't be read but
    are kept by an update that doesn't pass them. Updates: see ``first_record_files``."""

    kind = "lead"

    def __init__(self, client: PmpClient) -> None:
        super().__init__(client, path="leads", noun="lead", model=Lead, fields=LEAD_FIELDS)

    async def create(
        self,
        *,
        name: str,
        source: int | str,
        status: int | str,
        timeout: float | None = None,
        **fields: FieldValue,
    ) -> int | None:
        return await self._create(
            {"name": name, "source": source, "status": status, **fields}, timeout
        )


class MilestonesResource(RecordResource[Milestone]):
    """Milestones (``pmp.milestones``). PMP makes a new milestone visible to the customer
    whatever ``description_visible_to_customer`` says, and ignores its start date; update()
    can change both, and ``hide_from_customer``, and keeps them when not passed."""

    def __init__(self, client: PmpClient) -> None:
        super().__init__(
            client, path="milestones", noun="milestone", model=Milestone, fields=MILESTONE_FIELDS
        )

    async def create(
        self,
        *,
        project_id: int | str,
        name: str,
        due_date: date | datetime | str,
        timeout: float | None = None,
        **fields: FieldValue,
    ) -> int | None:
        return await self._create(
            {"project_id": project_id, "name": name, "due_date": due_date, **fields}, timeout
        )


class ProjectsResource(_FileLosingResource[Project]):
    """Projects (``pmp.projects``). Members are not part of a project record, so update()
    resets them unless passed (``project_members=[...]``); tags are kept. A project's customer
    settings (``Project.settings``) are sent back on every update. Updates: see
    ``first_record_files`` (PMP can only tell when project #1 doesn't exist)."""

    kind = "project"
    files_keys = ("files", "attachments")

    def __init__(self, client: PmpClient) -> None:
        super().__init__(
            client, path="projects", noun="project", model=Project, fields=PROJECT_FIELDS
        )

    async def update(
        self,
        record_id: int | str,
        *,
        # Typed wider than it takes so that update() still overrides RecordResource.update.
        settings: SettingsChange | FieldValue = None,
        allow_first_record_file_loss: bool = False,
        timeout: float | None = None,
        **changes: FieldValue,
    ) -> bool:
        """Change the given fields and ``settings``, keeping every other (see
        RecordResource.update).

        ``settings`` maps permission names (``view_tasks``…) to True/False and may hold
        ``"available_features"``: {tab slug: True/False}; names left out keep their value, a
        name the project doesn't have raises ValueError. PMP switches every setting off on an
        update that doesn't send them, so they are always sent back as read; when PMP's answer
        doesn't hold them readably, PmpUnexpectedResponseError is raised and nothing is sent.
        """
        if settings is not None and not isinstance(settings, Mapping):
            raise ValueError("settings takes {setting name: True/False}")
        return await self._update(
            record_id, changes, settings, allow=allow_first_record_file_loss, timeout=timeout
        )

    def _plan(
        self, current: Project, changes: Mapping[str, FieldValue], settings: SettingsChange | None
    ) -> dict[str, object] | None:
        read = current.settings
        if read is None or read.features is None:
            # Sending no settings would switch them all off: no update at all rather.
            if settings or plan_update(self._fields, current.raw, changes) is not None:
                raise self._unreadable_settings(current.id)
            return None
        wanted = read.changed(settings) if settings else read
        body = plan_update(self._fields, current.raw, changes, force=wanted != read)
        if body is None:
            return None
        return {**body, "settings": wanted.wire()}

    def _unreadable_settings(self, project_id: int) -> PmpUnexpectedResponseError:
        return PmpUnexpectedResponseError(
            f"PUT api/projects/{project_id} not sent: the project's settings could not be read",
            user_message=(
                f"PMP didn't tell pmp-bot which customer settings project #{project_id} has, "
                "so pmp-bot didn't save the change: PMP would have switched them all off."
            ),
        )

    async def create(
        self,
        *,
        name: str,
        clientid: int | str,
        billing_type: int | str,
        start_date: date | datetime | str,
        status: int | str,
        timeout: float | None = None,
        **fields: FieldValue,
    ) -> int | None:
        return await self._create(
            {
                "name": name,
                "clientid": clientid,
                "billing_type": billing_type,
                "start_date": start_date,
                "status": status,
                **fields,
            },
            timeout,
        )


class TicketsResource(_FileLosingResource[Ticket]):
    """Tickets (``pmp.tickets``). A new ticket always starts Open; priority 0 when omitted.
    Tags can't be read back, so update() resets them unless passed; priority and assignee are
    kept. Updates: see ``first_record_files``.

    ``get()`` works on servers where ``GET api/tickets/<id>`` fails: the REST module 2.0.8 on
    PHP 8 answers it with HTTP 500 and an empty body for every existing ticket. Then the ticket
    is found with the ticket search (by its id) instead, and the client remembers to go
    straight to the search from then on (``reads_by_search``).
    """

    kind = "ticket"

    def __init__(self, client: PmpClient) -> None:
        super().__init__(
            client,
            path="tickets",
            noun="ticket",
            model=Ticket,
            fields=TICKET_FIELDS,
            id_key="ticketid",
        )
        self._reads_by_search = False

    @property
    def reads_by_search(self) -> bool:
        """True once ``GET api/tickets/<id>`` was seen failing for a ticket that exists."""
        return self._reads_by_search

    async def get(self, record_id: int | str, *, timeout: float | None = None) -> Ticket:
        """One ticket; PmpNotFoundError when it does not exist.

        From the ticket's own answer, or (see the class) from its search row, which lacks some
        joined names (``status_name``, ``priority_name``…) but holds every ticket column.
        """
        record_id = record_id_arg(record_id, "ticket id")
        if not self._reads_by_search:
            try:
                return await self._fetch_one(
                    f"tickets/{record_id}",
                    record_id,
                    final_statuses=_NO_RETRY_ON_500,
                    timeout=timeout,
                )
            except PmpUnexpectedResponseError as error:
                if error.status_code != 500:
                    raise
        ticket = await self._found_by_search(record_id, timeout)
        if not self._reads_by_search:
            self._reads_by_search = True
            logger.info(
                "PMP %s: GET api/tickets/<id> fails for existing tickets (HTTP 500); "
                "reading tickets through the search from now on",
                self._client.site,
            )
        return ticket

    async def _found_by_search(self, record_id: int, timeout: float | None) -> Ticket:
        # PMP matches `ticketid LIKE "<id>%"` (and the id in subjects and messages), so the
        # ticket is among the hits when it exists.
        def wanted(ticket: Ticket) -> bool:
            return ticket.id == record_id

        for ticket in await self._search(str(record_id), timeout, until=wanted):
            if wanted(ticket):
                return ticket
        raise PmpNotFoundError(
            f"GET api/tickets/search/<id>: no ticket #{record_id}",
            user_message=f"PMP has no ticket #{record_id}.",
            status_code=404,
        )

    async def create(
        self,
        *,
        subject: str,
        department: int | str,
        contactid: int | str,
        timeout: float | None = None,
        **fields: FieldValue,
    ) -> int | None:
        return await self._create(
            {"subject": subject, "department": department, "contactid": contactid, **fields},
            timeout,
        )

    async def reply(
        self,
        ticket_id: int | str,
        *,
        message: str,
        staff_id: int | str,
        status: int | str | None = None,
        timeout: float | None = None,
    ) -> None:
        """Add a staff reply to a ticket, as staff member ``staff_id``, optionally setting its
        ``status`` (``POST api/tickets/reply/<id>``; the REST API module 3.x only: 2.0.8 has
        no reply endpoint). Without ``status`` PMP sets a staff reply's ticket to Answered, as
        its own reply form does. A reply is not an update: it keeps the ticket's tags and
        assignee and costs ticket #1 no files. PmpValidationError for an empty message; not
        retried."""
        ticket_id = record_id_arg(ticket_id, "ticket id")
        body: dict[str, str] = {
            "message": message,
            # Perfex's reply row names its staff author `admin`.
            "admin": str(record_id_arg(staff_id, "staff id")),
        }
        if not message.strip():
            raise PmpValidationError(
                "empty reply refused before sending",
                errors={"message": "Type a reply."},
                user_message="Type a reply.",
            )
        if status is not None:
            body["status"] = str(record_id_arg(status, "ticket status"))
        path = f"tickets/reply/{ticket_id}"
        info = self._client.request_info(
            "POST", path, "update", "ticket", timeout=timeout, record_id=ticket_id
        )
        await self._client.request(info, path, form=body)


class ContactsResource(_Base[Contact]):
    """A customer's contact people (``pmp.contacts``).

    PMP has no list of every contact: ``list(customer_id)`` gives one customer's active
    contacts. Writes: ``create`` (PMP requires customer_id, firstname, lastname, email and
    password), ``update`` (keeps what it isn't given, like every update here; ``is_primary``
    and the e-mail flags are sent back as read) and ``delete``. PMP answers a contact's
    validation failures with HTTP 409 (PmpValidationError as usual). A contact's password hash
    never reaches a Contact.
    """

    def __init__(self, client: PmpClient) -> None:
        super().__init__(client, path="contacts", noun="contact", model=Contact, id_key="id")
        self._fields = CONTACT_FIELDS

    async def list(
        self, customer_id: int | str, *, timeout: float | None = None
    ) -> builtins.list[Contact]:
        """The customer's active contacts ([] for none)."""
        customer_id = record_id_arg(customer_id, "customer id")
        return await self._fetch_list(
            f"contacts/{customer_id}", action="list", parent_id=customer_id, timeout=timeout
        )

    async def get(
        self, customer_id: int | str, contact_id: int | str, *, timeout: float | None = None
    ) -> Contact:
        customer_id = record_id_arg(customer_id, "customer id")
        contact_id = record_id_arg(contact_id, "contact id")
        return await self._fetch_one(
            f"contacts/{customer_id}/{contact_id}",
            contact_id,
            parent_id=customer_id,
            timeout=timeout,
        )

    async def search(self, term: str, *, timeout: float | None = None) -> builtins.list[Contact]:
        return await self._search(term, timeout)

    async def create(
        self,
        *,
        customer_id: int | str,
        firstname: str,
        lastname: str,
        email: str,
        password: str,
        timeout: float | None = None,
        **fields: FieldValue,
    ) -> int | None:
        """Add a contact to customer ``customer_id``; the new id when PMP tells it (3.x), else
        None. Optional: title, phonenumber, direction, is_primary, the e-mail flags
        (invoice_emails…), send_set_password_email, donotsendwelcomeemail, permissions."""
        values = {
            "customer_id": record_id_arg(customer_id, "customer id"),
            "firstname": firstname,
            "lastname": lastname,
            "email": email,
            "password": password,
            **fields,
        }
        self._fields.check_names(values, operation="create", noun="contact")
        body = encode_all(self._fields.create, values)
        info = self._client.request_info("POST", "contacts", "create", "contact", timeout=timeout)
        payload = await self._client.request(info, "contacts", form=form_body(body))
        return _created_id(self._client, payload, info)

    async def update(
        self,
        customer_id: int | str,
        contact_id: int | str,
        *,
        timeout: float | None = None,
        **changes: FieldValue,
    ) -> bool:
        """Change the given fields of contact ``contact_id`` (of customer ``customer_id``,
        which reading it needs), keeping every other; False (nothing sent) for a no-op.
        ``password`` changes the password; blank leaves it."""
        customer_id = record_id_arg(customer_id, "customer id")
        contact_id = record_id_arg(contact_id, "contact id")
        self._fields.check_names(changes, operation="update", noun="contact")
        self._fields.check_values(changes, operation="update")
        if not changes:
            return False
        current = await self.get(customer_id, contact_id, timeout=timeout)
        body = plan_update(self._fields, current.raw, changes)
        if body is None:
            return False
        path = f"contacts/{contact_id}"
        info = self._client.request_info(
            "PUT", path, "update", "contact", timeout=timeout, record_id=contact_id
        )
        await self._client.request(info, path, json_body=body)
        return True

    async def delete(self, contact_id: int | str, *, timeout: float | None = None) -> None:
        """Delete a contact; PmpWriteFailedError when PMP refuses."""
        contact_id = record_id_arg(contact_id, "contact id")
        path = f"delete/contacts/{contact_id}"
        info = self._client.request_info(
            "DELETE", path, "delete", "contact", timeout=timeout, record_id=contact_id
        )
        await self._client.request(info, path)
