"""PMP resources: list / get / search / create / update / delete for each record type.

Handlers use these through a PmpClient (``pmp.tickets.get(7)``) and never see URLs or PMP JSON.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar
from urllib.parse import quote

from bot.pmp.errors import PmpNotFoundError, PmpValidationError, RequestInfo, unexpected_shape
from bot.pmp.fields import (
    CUSTOMER_FIELDS,
    LEAD_FIELDS,
    MILESTONE_FIELDS,
    PROJECT_FIELDS,
    TICKET_FIELDS,
    FieldValue,
    ResourceFields,
    encode_all,
    form_body,
    merge_for_update,
)
from bot.pmp.models import Contact, Customer, Lead, Milestone, PmpRecord, Project, Ticket

if TYPE_CHECKING:
    from datetime import date, datetime

    from bot.pmp.client import PmpClient

RecordT = TypeVar("RecordT", bound=PmpRecord)

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
        timeout: float | None,
    ) -> builtins.list[RecordT]:
        """GET a list or search answer, following 3.x pages. "No data were found" is []."""
        info = self._client.request_info(
            "GET", log_path or path, action, self._noun, timeout=timeout, parent_id=parent_id
        )
        records: builtins.list[RecordT] = []
        page = 1
        for _ in range(MAX_PAGES):
            try:
                payload = await self._client.request(
                    info, path, params={"page": page} if page > 1 else None
                )
            except PmpNotFoundError:
                break
            rows, meta = _rows(payload, info, self._id_key)
            reported_page = _meta_number(meta, "current_page", "page")
            if page > 1 and reported_page is not None and reported_page != page:
                break  # the server ignores the page parameter: this page repeats an earlier one
            records.extend(self._parse(row, info) for row in rows)
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
        payload = await self._client.request(info, path)
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

    async def _search(self, term: str, timeout: float | None) -> builtins.list[RecordT]:
        segment = search_segment(_search_term(term))
        return await self._fetch_list(
            f"{self._path}/search/{segment}",
            action="search",
            log_path=f"{self._path}/search/<term>",
            timeout=timeout,
        )


class RecordResource(_Base[RecordT]):
    """A PMP module with the full set of operations.

    ``update(id, **changes)`` reads the record, merges ``changes`` and sends the full record,
    because PMP's PUT replaces every field (absent ones are reset). It returns False, sending
    nothing, when ``changes`` would not change the record. Only the fields PMP knows for the
    module are sent; an unknown field name raises ValueError before any request. Fields in
    ``reset_by_update`` cannot be read back, so an update resets them unless they are passed.
    """

    # Fields no PMP endpoint returns: update() cannot carry them over, so every update resets
    # them unless they are passed. Edit forms should ask for them or warn.
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

    async def list(self, *, timeout: float | None = None) -> builtins.list[RecordT]:
        """Every record ([] when there are none)."""
        return await self._fetch_list(self._path, action="list", timeout=timeout)

    async def get(self, record_id: int | str, *, timeout: float | None = None) -> RecordT:
        """One record; PmpNotFoundError when it does not exist."""
        record_id = record_id_arg(record_id, f"{self._noun} id")
        return await self._fetch_one(f"{self._path}/{record_id}", record_id, timeout=timeout)

    async def search(self, term: str, *, timeout: float | None = None) -> builtins.list[RecordT]:
        """Records matching ``term`` ([] for none). A blank term raises PmpValidationError."""
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
        self, record_id: int | str, *, timeout: float | None = None, **changes: FieldValue
    ) -> bool:
        """Change the given fields, keeping the others; False (nothing sent) for a no-op.

        ``timeout`` applies to each of the two requests (read, then write).
        """
        record_id = record_id_arg(record_id, f"{self._noun} id")
        self._fields.check_names(changes, operation="update", noun=self._noun)
        if not changes:
            return False
        current = await self.get(record_id, timeout=timeout)
        body = merge_for_update(self._fields, current.raw, changes)
        if body is None:
            return False
        path = f"{self._path}/{record_id}"
        info = self._client.request_info(
            "PUT", path, "update", self._noun, timeout=timeout, record_id=record_id
        )
        await self._client.request(info, path, json_body=body)
        return True

    async def _create(self, fields: dict[str, Any], timeout: float | None) -> int | None:
        self._fields.check_names(fields, operation="create", noun=self._noun)
        body = encode_all(self._fields.create, fields)
        info = self._client.request_info("POST", self._path, "create", self._noun, timeout=timeout)
        payload = await self._client.request(info, self._path, form=form_body(body))
        if not isinstance(payload, dict):
            raise unexpected_shape(info, f"a create answer was a {type(payload).__name__}")
        new_id = str(payload.get("record_id") or "").strip()
        return int(new_id) if new_id.isdigit() and int(new_id) > 0 else None


class CustomersResource(RecordResource[Customer]):
    """Customers (``pmp.customers``).

    A customer's groups (``groups_in``) can't be read back from PMP, so ``update()`` cannot carry
    them over and PMP resets them on every update: pass ``groups_in=[...]`` to keep (or set)
    them. Deleting a customer with invoices or estimates fails (PmpWriteFailedError).
    """

    reset_by_update = ("groups_in",)

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


class LeadsResource(RecordResource[Lead]):
    """Leads (``pmp.leads``). ``status`` and ``source`` are per-instance ids; 2.0.8 also
    requires ``assigned`` (a staff id). PMP sets a new lead's last contact to now. Search skips
    converted leads; a term starting with ``#`` searches tags."""

    reset_by_update = ("tags",)

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
    whatever ``description_visible_to_customer`` says; update() can change it."""

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


class ProjectsResource(RecordResource[Project]):
    """Projects (``pmp.projects``). Members and tags are not part of a project record, so
    update() resets them unless passed (``project_members=[...]``, ``tags=[...]``)."""

    reset_by_update = ("project_members", "tags")

    def __init__(self, client: PmpClient) -> None:
        super().__init__(
            client, path="projects", noun="project", model=Project, fields=PROJECT_FIELDS
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


class TicketsResource(RecordResource[Ticket]):
    """Tickets (``pmp.tickets``). A new ticket always starts Open; priority 0 when omitted.
    Tags can't be read back, so update() resets them unless passed."""

    reset_by_update = ("tags",)

    def __init__(self, client: PmpClient) -> None:
        super().__init__(
            client,
            path="tickets",
            noun="ticket",
            model=Ticket,
            fields=TICKET_FIELDS,
            id_key="ticketid",
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


class ContactsResource(_Base[Contact]):
    """A customer's contact people (``pmp.contacts``); read-only in the PMP API."""

    def __init__(self, client: PmpClient) -> None:
        super().__init__(client, path="contacts", noun="contact", model=Contact, id_key="id")

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
