"""Adding, changing and deleting customers, leads, projects and milestones (and deleting
tickets) in PMP: what a record form's save does, and what became of it (`WriteOutcome`).

The forms themselves (fields, what a modal carries, reading it back) are in
bot/blocks/record_forms.py; a checked form becomes a `RecordWrite`, which `save` sends. An
edit sends PMP only what the user changed; the PMP client's safe update adds what PMP would
otherwise reset, read just before. Lead and project edits make PMP's API module delete the
files of lead or project #1 (a module defect): the client refuses them when those files exist
or can't be seen, unless the workspace's admin allowed it, and `read_for_edit` says so as the
form opens. PMP 2.x answers a create without the new id: it is found, when that can be done
reliably, by searching for the exact name just written.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Final

from bot.grammar import SLASH_COMMAND, search_hint
from bot.pmp import (
    Customer,
    Lead,
    Milestone,
    PmpClient,
    PmpError,
    PmpNotFoundError,
    PmpRecord,
    PmpUnsafeUpdateError,
    PmpWriteFailedError,
    Project,
    RecordKind,
    first_record_message,
)
from bot.pmp.links import record_page
from bot.text import truncate

logger = logging.getLogger(__name__)

FORM_KINDS: Final[tuple[RecordKind, ...]] = ("customer", "lead", "project", "milestone")
EDIT_KINDS: Final[tuple[RecordKind, ...]] = ("customer", "lead", "project", "milestone")
DELETE_KINDS: Final[tuple[RecordKind, ...]] = ("customer", "lead", "project", "milestone", "ticket")

ADDED, UPDATED, UNCHANGED, DELETED = "added", "updated", "unchanged", "deleted"

LABEL_MAX = 150

# The field that names a record of each kind.
NAME_FIELD: Final[dict[RecordKind, str]] = {
    "customer": "company",
    "lead": "name",
    "project": "name",
    "milestone": "name",
}

# Edit forms whose save makes PMP's API module delete the files of record #1 of the kind.
FILE_LOSING_KINDS: Final[frozenset[RecordKind]] = frozenset({"lead", "project"})

# How long an edit form waits to learn whether record #1 has files before opening without
# saying (the save checks again anyway).
FIRST_RECORD_FILES_WAIT_S = 3.0


@dataclass(frozen=True)
class WriteOutcome:
    """What a finished write (a record added, changed or deleted, a ticket opened) reports,
    enough to show the done view again later."""

    kind: str
    label: str
    verb: str  # "opened", "updated", "added", "deleted"
    record_id: int | None = None
    url: str | None = None
    note: str | None = None  # e.g. why the new record's id is unknown

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> WriteOutcome:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class RecordWrite:
    """What a checked record form asks PMP to do: add a `kind` record with `values` (PMP's
    field names), or, for an edit (`record_id`), change the `changes` of the record shown as
    `label` (a milestone with its `project_id`, for its link)."""

    kind: RecordKind
    values: Mapping[str, Any]
    record_id: int | None = None
    label: str = ""
    project_id: int | None = None
    changes: Mapping[str, Any] = field(default_factory=dict)

    @property
    def editing(self) -> bool:
        return self.record_id is not None


@dataclass(frozen=True)
class EditableRecord:
    """A record as its edit form shows it: the record, the names of the records it points to
    (`clientid`: a project's customer), and a `note` about record #1's files."""

    kind: RecordKind
    record: PmpRecord
    names: Mapping[str, str] = field(default_factory=dict)
    note: str | None = None


# ------------------------------------------------------------------------- edit forms


def _files_of_record_one(kind: RecordKind, files: int | None) -> str:
    if files is None:
        return f"PMP can't tell pmp-bot whether {kind} #1 has any"
    return f"{kind} #1 has {files} file{'' if files == 1 else 's'}"


def _allow_in_settings(kind: RecordKind) -> str:
    return (
        f"A pmp-bot admin can allow {kind} edits anyway in `{SLASH_COMMAND} settings`; until "
        f"the module is fixed, each save then deletes the files of {kind} #1."
    )


def file_loss_note(kind: RecordKind, files: int | None, *, allowed: bool) -> str | None:
    """What an edit form says as it opens when saving it makes PMP's API module delete the
    files of record #1 of its kind: that it won't be saved, or (an admin allowed such edits)
    that it deletes them. None when there is nothing to lose (record #1 has no files)."""
    if kind not in FILE_LOSING_KINDS or files == 0:
        return None
    defect = f"PMP's API module deletes the files of {kind} #1 on every {kind} update"
    if allowed:
        count = "" if files is None else f" ({files} file{'' if files == 1 else 's'})"
        return (
            f"Saving deletes the files of {kind} #1{count}: {defect}, and a pmp-bot admin "
            f"allowed such edits in `{SLASH_COMMAND} settings`. A PMP administrator can fix "
            "the module (pmp-bot's README says how)."
        )
    return (
        f"pmp-bot won't save changes to this {kind}: {defect}, and "
        f"{_files_of_record_one(kind, files)}. A PMP administrator can fix the module "
        f"(pmp-bot's README says how). {_allow_in_settings(kind)}"
    )


def unsafe_update_problem(error: PmpUnsafeUpdateError) -> str:
    """Why a lead or project edit wasn't saved, and what a PMP admin or a pmp-bot admin can
    do about it."""
    return f"{first_record_message(error.kind, error.files)} {_allow_in_settings(error.kind)}"


async def _file_loss_check(pmp: PmpClient, kind: RecordKind, *, allowed: bool) -> str | None:
    """The edit form's note about record #1's files; None when there is nothing to say or
    PMP didn't answer in time (saving checks again)."""
    resource = pmp.leads if kind == "lead" else pmp.projects
    try:
        files = await asyncio.wait_for(
            resource.first_record_files(timeout=FIRST_RECORD_FILES_WAIT_S),
            FIRST_RECORD_FILES_WAIT_S,
        )
    except (PmpError, TimeoutError) as error:
        logger.info("Checking %s #1 for files failed: %s", kind, type(error).__name__)
        return None
    return file_loss_note(kind, files, allowed=allowed)


async def read_for_edit(
    pmp: PmpClient,
    kind: RecordKind,
    record_id: int,
    *,
    allow_first_record_file_loss: bool = False,
) -> EditableRecord:
    """A record to fill its edit form with (PmpNotFoundError when it's gone).

    For a lead or project, asks at the same time whether saving would make PMP delete the
    files of record #1, to say so at the top of the form (`allow_first_record_file_loss`:
    the workspace's admin allowed such edits)."""
    check = (
        asyncio.ensure_future(_file_loss_check(pmp, kind, allowed=allow_first_record_file_loss))
        if kind in FILE_LOSING_KINDS
        else None
    )
    try:
        record = await pmp.resource(kind).get(record_id)
        names: dict[str, str] = {}
        if isinstance(record, Project) and record.clientid:
            try:
                names["clientid"] = (await pmp.customers.get(record.clientid)).display_name
            except PmpError as error:
                # The form still works: the customer is shown by its number.
                logger.info("Reading a project's customer failed: %s", type(error).__name__)
        note = await check if check is not None else None
    finally:
        if check is not None and not check.done():
            check.cancel()
    return EditableRecord(kind, record, names, note)


# --------------------------------------------------------------------------------- writes


def _same_name(a: str | None, b: str) -> bool:
    return " ".join((a or "").split()) == " ".join(b.split())


def _is_twin(kind: RecordKind, record: PmpRecord, name: str, values: Mapping[str, Any]) -> bool:
    """Whether `record` is exactly what was written (name, and its project or customer)."""
    if isinstance(record, Customer):
        return _same_name(record.company, name)
    if isinstance(record, Lead):
        return _same_name(record.name, name)
    if isinstance(record, Project):
        return _same_name(record.name, name) and record.clientid == values.get("clientid")
    if isinstance(record, Milestone):
        return _same_name(record.name, name) and record.project_id == values.get("project_id")
    return False


async def _twins(
    pmp: PmpClient, kind: RecordKind, name: str, values: Mapping[str, Any]
) -> set[int]:
    records = await pmp.resource(kind).search(name)
    return {record.id for record in records if _is_twin(kind, record, name, values)}


def _not_found_note(kind: RecordKind, name: str) -> str:
    # A search for an uncut piece of the name: a hint cut with "…" would find nothing.
    hint = search_hint(kind, name)
    find = f"`{hint}`" if hint else f"`{SLASH_COMMAND} {kind}` and a word of its name"
    return f"PMP doesn't say which number it gave the new {kind}; find it with {find}."


def _blank(value: Any) -> bool:
    # Not `in (None, "", False)`: 0 == False, and a zero cost or order is a value.
    return value is None or value is False or (isinstance(value, str | list) and not value)


async def _create(pmp: PmpClient, base_url: str, write: RecordWrite) -> WriteOutcome:
    kind = write.kind
    fields = {k: v for k, v in write.values.items() if not _blank(v)}
    name = str(fields[NAME_FIELD[kind]])
    try:
        before: set[int] | None = await _twins(pmp, kind, name, fields)
    except PmpError as error:
        logger.info("Searching before a create failed: %s", type(error).__name__)
        before = None
    # Each kind's create() names its own required fields, which the form has checked.
    resource: Any = pmp.resource(kind)
    new_id: int | None = await resource.create(**fields)
    # From here on the record exists: a failed search must not look like a failed save.
    if new_id is None and before is not None:
        try:
            found = await _twins(pmp, kind, name, fields) - before
        except PmpError as error:
            logger.info("Searching for a new %s failed: %s", kind, type(error).__name__)
            found = set()
        new_id = found.pop() if len(found) == 1 else None
    project_id = fields.get("project_id") if kind == "milestone" else None
    url = record_page(base_url, kind, new_id, project_id) if new_id else None
    return WriteOutcome(
        kind=kind,
        label=truncate(name, LABEL_MAX),
        verb=ADDED,
        record_id=new_id,
        url=url,
        note=None if new_id else _not_found_note(kind, name),
    )


async def _update(
    pmp: PmpClient, base_url: str, write: RecordWrite, *, allow: bool
) -> WriteOutcome:
    assert write.record_id is not None
    label = str(write.values.get(NAME_FIELD[write.kind]) or write.label)
    try:
        changed = bool(write.changes) and await pmp.resource(write.kind).update(
            write.record_id, allow_first_record_file_loss=allow, **write.changes
        )
    except PmpUnsafeUpdateError as error:
        raise PmpUnsafeUpdateError(
            str(error),
            kind=error.kind,
            files=error.files,
            user_message=unsafe_update_problem(error),
        ) from error
    if changed and allow and write.kind in FILE_LOSING_KINDS:
        logger.warning(
            "Saved a %s edit that PMP's API module follows by deleting the files of %s #1 "
            "(allowed in /pmp settings)",
            write.kind,
            write.kind,
        )
    project_id = write.project_id if write.kind == "milestone" else None
    return WriteOutcome(
        kind=write.kind,
        label=truncate(label, LABEL_MAX),
        verb=UPDATED if changed else UNCHANGED,
        record_id=write.record_id,
        url=record_page(base_url, write.kind, write.record_id, project_id),
    )


async def save(
    pmp: PmpClient,
    base_url: str,
    write: RecordWrite,
    *,
    allow_first_record_file_loss: bool = False,
) -> WriteOutcome:
    """Adds the record, or saves the changes to it; PmpError when PMP refuses.

    A lead or project edit that would make PMP delete the files of record #1 raises
    PmpUnsafeUpdateError (its user_message says why and what can be done), unless
    `allow_first_record_file_loss` (the workspace's admin setting)."""
    if write.editing:
        return await _update(pmp, base_url, write, allow=allow_first_record_file_loss)
    return await _create(pmp, base_url, write)


# -------------------------------------------------------------------------------- deletes


@dataclass(frozen=True)
class Deletion:
    """What became of a delete: `label` is the record's name ("" when PMP had no such
    record); `problem` says why nothing was deleted."""

    label: str
    problem: str | None = None

    @property
    def deleted(self) -> bool:
        return self.problem is None


def _refusal(kind: RecordKind) -> str:
    if kind == "customer":
        return (
            "PMP keeps customers that have invoices or estimates; you can mark this one "
            "inactive in PMP instead."
        )
    return "PMP refused; it may still be in use there."


async def delete_record(pmp: PmpClient, kind: RecordKind, record_id: int) -> Deletion:
    """Deletes a record, reading it first for its name. PMP's refusals ("Delete Fail", e.g.
    a customer with invoices) and a record already gone come back as a Deletion with a
    problem; other PMP failures raise PmpError."""
    resource = pmp.resource(kind)
    try:
        record: PmpRecord = await resource.get(record_id)
    except PmpNotFoundError as error:
        return Deletion("", problem=error.user_message)
    try:
        await resource.delete(record_id)
    except PmpWriteFailedError:
        return Deletion(record.display_name, problem=_refusal(kind))
    return Deletion(record.display_name)


async def read_record(pmp: PmpClient, kind: RecordKind, record_id: int) -> PmpRecord:
    """One record from PMP (PmpNotFoundError when it doesn't exist)."""
    record: PmpRecord = await pmp.resource(kind).get(record_id)
    return record
