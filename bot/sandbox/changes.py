"""Changes made "from PMP's side": what a PMP user working in PMP's web UI does to the data.

Tests and the console use them (``POST /_sandbox/changes``, the console's ``pmp-change``) to
play the other side of a subscription: a record changes in PMP, and the bot must notice
(by polling in 2.0.8, by a webhook in 3.x). Each change writes what Perfex's models write
when the web UI saves (the record's date fields included: a ticket's last reply, a lead's
last status change, a project's finish date, ...) and fires the same Perfex hooks, which
the 3.x module turns into webhook events.

A change is a JSON object::

    {"kind": "ticket", "id": 3, "fields": {"status": "2"}}          update
    {"kind": "ticket", "action": "create", "fields": {"subject": "Printer on fire"}}
    {"kind": "lead", "id": 4, "action": "delete"}
    {"kind": "ticket", "id": 3, "action": "reply", "message": "...",
     "from": "staff" | "customer", "staff_id": 2, "status": "3"}

``parse_command`` turns the console's words (``ticket 3 status=2``, ``ticket new
subject="Printer on fire"``, ``ticket 3 reply "text"``, ``lead 4 delete``) into that object.
"""

from __future__ import annotations

import datetime as dt
import shlex
from dataclasses import dataclass, field

from bot.sandbox import schema
from bot.sandbox.events import Hook
from bot.sandbox.phpish import PhpValue, nl2br, password_hash_like, php_string
from bot.sandbox.resources import add_ticket_reply
from bot.sandbox.schema import PROJECT_SETTINGS_DEFAULTS, Row, Table
from bot.sandbox.store import SandboxStore, new_hash, now_text, today_text

# The kinds a change may name (singular or plural) and their tables.
KINDS: dict[str, Table] = {
    "customers": schema.CLIENTS,
    "contacts": schema.CONTACTS,
    "leads": schema.LEADS,
    "projects": schema.PROJECTS,
    "milestones": schema.MILESTONES,
    "tickets": schema.TICKETS,
    "staff": schema.STAFF,
}
_SINGULAR = {
    "customer": "customers",
    "client": "customers",
    "contact": "contacts",
    "lead": "leads",
    "project": "projects",
    "milestone": "milestones",
    "ticket": "tickets",
    "staffs": "staff",
}
ACTIONS = ("update", "create", "delete", "reply")
# The staff member the changes are made as (PMP's admin).
ACTING_STAFF = "1"


class ChangeError(ValueError):
    """A change that can't be made; the message says why (HTTP 400 or 404)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class ChangeResult:
    kind: str
    action: str
    record_id: str
    record: Row | None
    hooks: tuple[Hook, ...] = ()
    reply_id: int | None = None
    extra: dict[str, PhpValue] = field(default_factory=dict)


def kind_of(name: object) -> str:
    text = str(name).strip().lower()
    text = _SINGULAR.get(text, text)
    if text not in KINDS:
        known = ", ".join(sorted({*KINDS, *_SINGULAR} - {"staffs", "client"}))
        raise ChangeError(f"unknown kind {name!r}; known: {known}")
    return text


def apply_change(store: SandboxStore, change: object) -> ChangeResult:
    """Make one change (see the module docstring); raises ChangeError."""
    if not isinstance(change, dict):
        raise ChangeError("send a JSON object with kind, id, action and fields")
    kind = kind_of(change.get("kind", ""))
    action = str(change.get("action") or ("create" if change.get("id") is None else "update"))
    if action not in ACTIONS:
        raise ChangeError(f"unknown action {action!r}; known: {', '.join(ACTIONS)}")
    fields = change.get("fields") or {}
    if not isinstance(fields, dict):
        raise ChangeError("fields must be an object of column -> value")
    values = _values(KINDS[kind], kind, fields)
    if action == "create":
        return _create(store, kind, values)
    record_id = str(change.get("id", "")).strip()
    if not record_id.isdigit():
        raise ChangeError(f"{action} needs the record's id")
    current = store.row(KINDS[kind], record_id)
    if current is None:
        raise ChangeError(f"there is no {kind[:-1] if kind != 'staff' else kind} {record_id}", 404)
    if action == "delete":
        return _delete(store, kind, record_id)
    if action == "reply":
        if kind != "tickets":
            raise ChangeError("only tickets take replies")
        return _reply(store, record_id, current, change)
    if not values:
        raise ChangeError("name at least one field to change, e.g. status=2")
    return _update(store, kind, record_id, current, values)


def _values(table: Table, kind: str, fields: dict[object, object]) -> Row:
    values: Row = {}
    for name, value in fields.items():
        column = str(name)
        if column == table.key or not table.has_column(column):
            known = ", ".join(name for name in table.column_names if name != table.key)
            raise ChangeError(f"{kind} have no field {column!r}; fields: {known}")
        if value is not None and not isinstance(value, str | int | float):
            raise ChangeError(f"{column} must be a string or a number")
        values[column] = None if value is None else php_string(value)
    return values


def _record(store: SandboxStore, kind: str, record_id: str) -> Row | None:
    return store.row(KINDS[kind], record_id)


# --- update ---------------------------------------------------------------------------------


def _update(
    store: SandboxStore, kind: str, record_id: str, current: Row, values: Row
) -> ChangeResult:
    hooks: list[Hook] = []
    if kind == "tickets":
        hooks += _ticket_update(values, current, record_id)
    elif kind == "leads":
        hooks += _lead_update(values, current, record_id)
    elif kind == "projects":
        hooks += _project_update(values, current, record_id)
    elif kind == "customers":
        if "active" in values and values["active"] != current["active"]:
            hooks.append(
                Hook("client_status_changed", {"id": record_id, "status": values["active"]})
            )
        hooks.append(Hook("client_updated", record_id))
    elif kind == "contacts":
        if "active" in values and values["active"] != current["active"]:
            hooks.append(
                Hook("contact_status_changed", {"id": record_id, "status": values["active"]})
            )
        hooks.append(Hook("contact_updated", record_id))
    elif kind == "milestones":
        if "description" in values:
            values["description"] = nl2br(values["description"] or "")
        hooks.append(Hook("milestone_updated", record_id))
    elif kind == "staff":
        hooks.append(Hook("staff_member_updated", record_id))
    store.update(KINDS[kind], record_id, values)
    return ChangeResult(kind, "update", record_id, _record(store, kind, record_id), tuple(hooks))


def _ticket_update(values: Row, current: Row, record_id: str) -> list[Hook]:
    # The ticket page saves its settings (update_single_ticket_settings: a hook the module
    # does not bridge) and changes the status on its own (change_ticket_status, which fires
    # after_ticket_status_changed).
    hooks = [Hook("ticket_settings_updated", {"ticket_id": record_id})]
    status = values.get("status")
    if status is not None and status != current["status"]:
        hooks.append(Hook("after_ticket_status_changed", {"id": record_id, "status": status}))
    return hooks


def _lead_update(values: Row, current: Row, record_id: str) -> list[Hook]:
    hooks: list[Hook] = []
    status = values.get("status")
    if status is not None and status != current["status"]:
        values["last_status_change"] = now_text()
        values["last_lead_status"] = current["status"]
        hooks.append(
            Hook(
                "lead_status_changed",
                {"lead_id": record_id, "old_status": current["status"], "new_status": status},
            )
        )
    assigned = values.get("assigned")
    if assigned not in (None, "", "0", current["assigned"]):
        values["dateassigned"] = today_text()
    if values.get("lost") == "1" and current["lost"] != "1":
        hooks.append(Hook("lead_marked_as_lost", record_id))
    if "description" in values:
        values["description"] = nl2br(values["description"] or "")
    hooks.append(Hook("after_lead_updated", record_id))
    return hooks


def _project_update(values: Row, current: Row, record_id: str) -> list[Hook]:
    hooks: list[Hook] = []
    status = values.get("status")
    if status is not None and status != current["status"]:
        if status == "4":
            values["date_finished"] = now_text()
        elif current["status"] == "4":
            values["date_finished"] = None
        hooks.append(Hook("project_status_changed", {"status": status, "project_id": record_id}))
    hooks.append(Hook("after_update_project", record_id))
    return hooks


# --- create ---------------------------------------------------------------------------------


def _require(values: Row, kind: str, *names: str) -> None:
    missing = [name for name in names if not (values.get(name) or "").strip()]
    if missing:
        raise ChangeError(f"a new {kind} needs {', '.join(missing)}")


def _create(store: SandboxStore, kind: str, values: Row) -> ChangeResult:
    now = now_text()
    if kind == "tickets":
        _require(values, "ticket", "subject")
        contact = store.row(schema.CONTACTS, values.get("contactid") or "1")
        if contact is None:
            raise ChangeError("no such contact; give contactid=<id of a contact>")
        row: Row = {
            "department": "1",
            "priority": "2",
            "status": "1",
            "message": "",
            **values,
            "contactid": contact["id"],
            "userid": contact["userid"],
            "date": now,
            "ticketkey": new_hash(),
            "admin": ACTING_STAFF,
            "adminread": "1",
        }
        row["message"] = nl2br(row["message"] or "")
        hook = "ticket_created"
    elif kind == "leads":
        _require(values, "lead", "name")
        row = {
            "status": "2",
            "source": "4",
            "assigned": ACTING_STAFF,
            **values,
            "hash": f"{new_hash()}-{new_hash()}",
            "dateadded": now,
            "addedfrom": ACTING_STAFF,
            "last_status_change": now,
        }
        if (row.get("assigned") or "0") != "0":
            row["dateassigned"] = today_text()
        hook = "lead_created"
    elif kind == "customers":
        _require(values, "customer", "company")
        row = {"active": "1", **values, "datecreated": now, "addedfrom": ACTING_STAFF}
        hook = "after_client_created"
    elif kind == "contacts":
        _require(values, "contact", "firstname", "lastname", "email")
        row = {"userid": "1", **values, "datecreated": now, "password": password_hash_like()}
        hook = "contact_created"
    elif kind == "projects":
        _require(values, "project", "name")
        row = {
            "clientid": "1",
            "billing_type": "1",
            "status": "2",
            "start_date": today_text(),
            **values,
            "project_created": today_text(),
            "addedfrom": ACTING_STAFF,
        }
        hook = "after_add_project"
    elif kind == "milestones":
        _require(values, "milestone", "name")
        due = (dt.date.today() + dt.timedelta(days=14)).isoformat()
        row = {"project_id": "1", "due_date": due, **values, "datecreated": today_text()}
        hook = "milestone_created"
    else:
        _require(values, "staff member", "firstname", "email")
        row = {"active": "1", "role": "1", **values, "datecreated": now}
        row["password"] = password_hash_like()
        hook = "staff_member_created"
    new_id = store.insert(KINDS[kind], row)
    if kind == "projects":
        store.set_project_settings(str(new_id), PROJECT_SETTINGS_DEFAULTS)
    record_id = str(new_id)
    hooks = (Hook(hook, new_id),)
    return ChangeResult(kind, "create", record_id, _record(store, kind, record_id), hooks)


# --- delete and reply -----------------------------------------------------------------------

_DELETED = {
    "customers": ("after_client_deleted", SandboxStore.delete_customer),
    "contacts": ("contact_deleted", SandboxStore.delete_contact),
    "leads": ("after_lead_deleted", SandboxStore.delete_lead),
    "projects": ("after_project_deleted", SandboxStore.delete_project),
    "milestones": ("milestone_deleted", SandboxStore.delete_milestone),
    "tickets": ("after_ticket_deleted", SandboxStore.delete_ticket),
}


def _delete(store: SandboxStore, kind: str, record_id: str) -> ChangeResult:
    if kind == "staff":
        # Perfex hands a deleted staff member's records to another one; PMP's admin here.
        store.delete_staff(record_id, hand_to=ACTING_STAFF)
        return ChangeResult(
            kind, "delete", record_id, None, (Hook("staff_member_deleted", record_id),)
        )
    hook, deleter = _DELETED[kind]
    if not deleter(store, record_id):
        raise ChangeError(f"PMP would not delete {kind[:-1]} {record_id} (it has invoices?)", 409)
    return ChangeResult(kind, "delete", record_id, None, (Hook(hook, record_id),))


def _reply(
    store: SandboxStore, record_id: str, ticket: Row, change: dict[str, object]
) -> ChangeResult:
    message = change.get("message")
    if not isinstance(message, str) or not message.strip():
        raise ChangeError("a reply needs a message")
    sender = str(change.get("from") or "staff")
    if sender not in ("staff", "customer"):
        raise ChangeError('from must be "staff" or "customer"')
    if sender == "staff":
        staff_id = str(change.get("staff_id") or ACTING_STAFF)
        if store.row(schema.STAFF, staff_id) is None:
            raise ChangeError(f"there is no staff member {staff_id}")
        status = str(change.get("status") or "3")
        reply_id, hooks = add_ticket_reply(store, record_id, message, staff=staff_id, status=status)
        # The ticket page lets go of "staff is replying" once the reply is saved.
        store.update(schema.TICKETS, record_id, {"staff_id_replying": None})
    else:
        contact = store.row(schema.CONTACTS, ticket["contactid"] or "0")
        reply_id, hooks = add_ticket_reply(
            store, record_id, message, staff=None, status="1", contact=contact
        )
    result = ChangeResult(
        "tickets", "reply", record_id, _record(store, "tickets", record_id), hooks
    )
    result.reply_id = reply_id
    return result


def summary(result: ChangeResult, events: list[str], api_version: int) -> str:
    """One line for the console: what changed in PMP and what PMP sent."""
    noun = "staff member" if result.kind == "staff" else result.kind[:-1]
    what = {
        "create": f"New {noun} {result.record_id} added in PMP",
        "update": f"{noun.capitalize()} {result.record_id} changed in PMP",
        "delete": f"{noun.capitalize()} {result.record_id} deleted in PMP",
        "reply": f"Reply {result.reply_id} added to ticket {result.record_id} in PMP",
    }[result.action]
    if api_version < 3:
        return f"{what}; PMP 2.0.8 sends no webhooks (pollers see it on their next poll)."
    if not events:
        return f"{what}; PMP fires no webhook event for this."
    return f"{what}; webhook events: {', '.join(events)}."


# --- the console's words ----------------------------------------------------------------------

COMMAND_HELP = """\
pmp-change KIND ID FIELD=VALUE...  change a record in PMP as a PMP user would, e.g.
                                   pmp-change ticket 3 status=2 priority=3
pmp-change KIND new FIELD=VALUE... add one: pmp-change ticket new subject="Printer on fire"
pmp-change KIND ID delete          delete one: pmp-change lead 4 delete
pmp-change ticket ID reply TEXT    a staff reply (staff=N status=N to choose), or the
                                   customer's: pmp-change ticket 3 reply customer "Thanks"
KIND: ticket, lead, customer, contact, project, milestone, staff"""


def parse_command(text: str) -> dict[str, object]:
    """The console's ``pmp-change`` words as a change object; raises ChangeError."""
    try:
        words = shlex.split(text)
    except ValueError as error:
        raise ChangeError(f"can't read that: {error}") from error
    if len(words) < 2:
        raise ChangeError("say what to change, e.g. pmp-change ticket 3 status=2")
    kind = kind_of(words[0])
    target, rest = words[1], words[2:]
    change: dict[str, object] = {"kind": kind}
    if target.lower() == "new":
        change["action"] = "create"
    elif target.isdigit():
        change["id"] = target
    else:
        raise ChangeError(f"give the record's id or new, not {target!r}")
    if rest[:1] == ["delete"] and "id" in change:
        if len(rest) > 1:
            raise ChangeError("delete takes nothing after it")
        change["action"] = "delete"
        return change
    if rest[:1] == ["reply"] and "id" in change:
        change["action"] = "reply"
        texts: list[str] = []
        for word in rest[1:]:
            if word == "customer":
                change["from"] = "customer"
            elif word.startswith("staff="):
                change["staff_id"] = word.removeprefix("staff=")
            elif word.startswith("status="):
                change["status"] = word.removeprefix("status=")
            else:
                texts.append(word)
        if not texts:
            raise ChangeError('a reply needs its text, e.g. pmp-change ticket 3 reply "On it"')
        change["message"] = " ".join(texts)
        return change
    fields: dict[str, str] = {}
    for word in rest:
        name, equals, value = word.partition("=")
        if not equals or not name:
            raise ChangeError(f"write fields as name=value, not {word!r}")
        fields[name] = value
    change["fields"] = fields
    return change
