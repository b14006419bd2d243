"""What the REST module's controllers and Perfex's models do with a request's fields.

Each operation returns an ``Answer`` (HTTP status and JSON body) or raises PmpDatabaseError /
PhpFatalError, which the server turns into HTML 500 pages as the real one does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bot.sandbox import schema
from bot.sandbox.phpish import (
    PhpValue,
    is_empty,
    module_value,
    nl2br,
    nl2br_save_html,
    php_string,
    remove_emojis,
    strip_ticket_tags,
    to_sql_date,
    xss_clean_value,
)
from bot.sandbox.schema import Table
from bot.sandbox.store import (
    PmpDatabaseError,
    Row,
    SandboxStore,
    new_hash,
    now_text,
    today_text,
)

Body = dict[str, PhpValue]


@dataclass(frozen=True)
class Answer:
    status: int
    body: PhpValue


@dataclass(frozen=True)
class Rule:
    """One CodeIgniter form-validation rule: ``trim|required|max_length[n]``."""

    field: str
    label: str
    required: bool = True
    max_length: int | None = None


@dataclass(frozen=True)
class Resource:
    name: str
    table: Table
    added: str  # "<X> add successful."
    updated: str  # "<X> Update Successful." / "<X> Update Fail."
    deleted: str  # "<X> Delete Successful." / "<X> Delete Fail."
    invalid_put_id: str
    invalid_delete_id: str
    create_rules: tuple[Rule, ...]
    update_rules: tuple[Rule, ...]
    # Fields a PUT resets to their empty/default value when the body leaves them out.
    replaced_on_update: tuple[str, ...]
    # Accepted PUT keys that are not columns (the models consume them).
    virtual_fields: frozenset[str] = field(default_factory=frozenset)


CUSTOMER_FIELDS = (
    "vat",
    "phonenumber",
    "website",
    "default_currency",
    "default_language",
    "address",
    "city",
    "state",
    "zip",
    "country",
    "billing_street",
    "billing_city",
    "billing_state",
    "billing_zip",
    "billing_country",
    "shipping_street",
    "shipping_city",
    "shipping_state",
    "shipping_zip",
    "shipping_country",
)

RESOURCES: dict[str, Resource] = {
    "customers": Resource(
        name="customers",
        table=schema.CLIENTS,
        added="Client add successful.",
        updated="Customers Update",
        deleted="Customer Delete",
        invalid_put_id="Invalid Customers ID",
        invalid_delete_id="Invalid Customer ID",
        create_rules=(Rule("company", "Company", max_length=600),),
        update_rules=(Rule("company", "Company", max_length=600),),
        replaced_on_update=("company", *CUSTOMER_FIELDS, "show_primary_contact", "groups_in"),
        virtual_fields=frozenset({"groups_in", "custom_fields"}),
    ),
    "leads": Resource(
        name="leads",
        table=schema.LEADS,
        added="Lead add successful.",
        updated="Lead Update",
        deleted="Lead Delete",
        invalid_put_id="Invalid Lead ID",
        invalid_delete_id="Invalid Lead ID",
        create_rules=(
            Rule("name", "Lead Name", max_length=600),
            Rule("source", "Source"),
            Rule("status", "Status"),
            Rule("zip", "Zip Core", required=False),
            Rule("assigned", "Assigned"),
        ),
        update_rules=(
            Rule("name", "Lead Name", max_length=600),
            Rule("source", "Source"),
            Rule("status", "Status"),
        ),
        replaced_on_update=(
            "name",
            "source",
            "status",
            "assigned",
            "tags",
            "contact",
            "title",
            "email",
            "website",
            "phonenumber",
            "company",
            "address",
            "city",
            "state",
            "zip",
            "country",
            "default_language",
            "description",
            "is_public",
        ),
        virtual_fields=frozenset({"tags", "custom_fields", "file"}),
    ),
    "milestones": Resource(
        name="milestones",
        table=schema.MILESTONES,
        added="Milestone add successful.",
        updated="Milestone Update",
        deleted="Milestone Delete",
        invalid_put_id="Invalid Milestone ID",
        invalid_delete_id="Invalid Milestone ID",
        create_rules=(
            Rule("name", "Milestone Name", max_length=600),
            Rule("project_id", "Project id"),
            Rule("due_date", "Milestone Due Date"),
        ),
        update_rules=(
            Rule("name", "Milestone Name", max_length=600),
            Rule("project_id", "Project id"),
            Rule("due_date", "Milestone Due Date"),
        ),
        replaced_on_update=(
            "project_id",
            "name",
            "due_date",
            "description",
            "description_visible_to_customer",
            "milestone_order",
        ),
    ),
    "projects": Resource(
        name="projects",
        table=schema.PROJECTS,
        added="Project add successful.",
        updated="Project Update",
        deleted="Project Delete",
        # The module's project and ticket PUT handlers were copied from the leads one.
        invalid_put_id="Invalid Lead ID",
        invalid_delete_id="Invalid Project ID",
        create_rules=(
            Rule("name", "Project Name", max_length=600),
            Rule("billing_type", "Billing Type"),
            Rule("start_date", "Project Start Date"),
            Rule("status", "Project Status"),
            Rule("clientid", "clientid", max_length=11),
        ),
        update_rules=(
            Rule("name", "Project Name", max_length=600),
            Rule("billing_type", "Billing Type"),
            Rule("start_date", "Project Start Date"),
            Rule("status", "Project Status"),
            Rule("clientid", "clientid", max_length=11),
        ),
        replaced_on_update=(
            "name",
            "clientid",
            "billing_type",
            "start_date",
            "status",
            "progress_from_tasks",
            "project_cost",
            "progress",
            "project_rate_per_hour",
            "estimated_hours",
            "deadline",
            "description",
            "tags",
            "project_members",
        ),
        virtual_fields=frozenset({"tags", "project_members", "custom_fields", "settings", "file"}),
    ),
    "tickets": Resource(
        name="tickets",
        table=schema.TICKETS,
        added="Ticket add successful.",
        updated="Ticket Update",
        deleted="Ticket Delete",
        invalid_put_id="Invalid Lead ID",
        invalid_delete_id="Invalid Ticket ID",
        create_rules=(
            Rule("subject", "Ticket Name"),
            Rule("department", "Department"),
            Rule("contactid", "Contact"),
        ),
        update_rules=(
            Rule("subject", "Ticket Name"),
            Rule("department", "Department"),
            Rule("contactid", "Contact"),
        ),
        replaced_on_update=(
            "subject",
            "department",
            "contactid",
            "userid",
            "cc",
            "tags",
            "assigned",
            "priority",
            "service",
            "project_id",
        ),
        virtual_fields=frozenset({"tags", "custom_fields", "file"}),
    ),
}


def failure(status: int, message: str | None) -> Answer:
    return Answer(status, {"status": False, "message": message})


def success(message: str, **extra: PhpValue) -> Answer:
    return Answer(200, {"status": True, "message": message, **extra})


# --- validation -------------------------------------------------------------------------------


def validate(rules: tuple[Rule, ...], data: Body, api_version: int) -> Answer | None:
    """Run CodeIgniter's rules on ``data`` (trimming it, as CI does); None when it passes."""
    errors: dict[str, str] = {}
    for rule in rules:
        value = data.get(rule.field)
        if isinstance(value, list | dict):
            present = len(value) > 0
            text = ""
        else:
            text = (php_string(value) or "").strip()
            if value is not None:
                data[rule.field] = text
            present = text != ""
        if rule.required and not present:
            errors[rule.field] = f"The {rule.label} field is required."
        elif rule.max_length is not None and len(text) > rule.max_length:
            errors[rule.field] = (
                f"The {rule.label} field cannot exceed {rule.max_length} characters in length."
            )
    if not errors:
        return None
    html = "".join(f"<p>{message}</p>\n" for message in errors.values())
    body: dict[str, PhpValue] = {"status": False, "error": dict(errors), "message": html}
    if api_version >= 3:
        body["errors"] = dict(errors)
        return Answer(422, body)
    return Answer(404, body)


# --- helpers ----------------------------------------------------------------------------------


def _text(value: PhpValue) -> str | None:
    return php_string(value)


def _list_of_ids(value: PhpValue) -> list[str]:
    if isinstance(value, list):
        return [text for item in value if (text := php_string(item))]
    if isinstance(value, dict):
        return [text for item in value.values() if (text := php_string(item))]
    text = php_string(value)
    return [part.strip() for part in text.split(",") if part.strip()] if text else []


def _tag_names(value: PhpValue) -> list[str]:
    """Perfex's ``handle_tags_save``: comma-separated (or array) names, trimmed, unique."""
    names = _list_of_ids(value)
    return list(dict.fromkeys(name for name in names if name))


class _Post:
    """``$this->input->post($name, TRUE)`` over a parsed form body."""

    def __init__(self, data: Body) -> None:
        self._data = data

    def has(self, name: str) -> bool:
        return self._data.get(name) is not None

    def get(self, name: str) -> PhpValue:
        return xss_clean_value(self._data.get(name))

    def value(self, name: str) -> PhpValue:
        return module_value(self.get(name))

    def text(self, name: str) -> str | None:
        return php_string(self.get(name))

    def value_text(self, name: str) -> str:
        return php_string(self.value(name)) or ""


def _checkbox(present: bool) -> str:
    return "1" if present else "0"


# --- create -----------------------------------------------------------------------------------


def create(store: SandboxStore, kind: str, data: Body, api_version: int) -> Answer:
    resource = RESOURCES[kind]
    data = dict(data)
    invalid = validate(resource.create_rules, data, api_version)
    if invalid is not None:
        return invalid
    post = _Post(data)
    new_id = _CREATORS[kind](store, post)
    if api_version >= 3:
        return success(resource.added, record_id=new_id)
    return success(resource.added)


def _create_customer(store: SandboxStore, post: _Post) -> int:
    values: Row = {"company": post.text("company")}
    for name in CUSTOMER_FIELDS:
        values[name] = post.value_text(name)
    values.update(
        datecreated=now_text(),
        addedfrom="0",
        active="1",
        registration_confirmed="1",
        show_primary_contact="0",
    )
    customer_id = store.insert(schema.CLIENTS, values)
    groups = post.value("groups_in")
    if groups != "":
        store.set_customer_groups(str(customer_id), _list_of_ids(groups))
    return customer_id


def _create_lead(store: SandboxStore, post: _Post) -> int:
    assigned = post.text("assigned")
    values: Row = {
        "name": post.text("name"),
        "source": post.text("source"),
        "status": post.text("status"),
        "assigned": assigned,
        "zip": post.text("zip"),
        "hash": f"{new_hash()}-{new_hash()}",
        "dateadded": now_text(),
        "addedfrom": "0",
        # The module always sends contacted_today (maybe empty), so Perfex stamps last contact.
        "lastcontact": now_text(),
        "is_public": _checkbox(post.has("is_public")),
        "last_status_change": now_text(),
    }
    for name in (
        "title",
        "email",
        "website",
        "phonenumber",
        "company",
        "address",
        "city",
        "state",
        "default_language",
    ):
        values[name] = post.value_text(name)
    values["description"] = nl2br(post.value_text("description"))
    if not is_empty(assigned):
        values["dateassigned"] = today_text()
    lead_id = store.insert(schema.LEADS, values)
    tags = _tag_names(post.value("tags"))
    if tags:
        store.set_tags("lead", str(lead_id), tags)
    return lead_id


def _create_milestone(store: SandboxStore, post: _Post) -> int:
    values: Row = {
        "name": post.text("name"),
        "project_id": post.text("project_id"),
        "due_date": to_sql_date(post.text("due_date")),
        "description": nl2br(post.value_text("description")),
        # The module always passes the checkbox field, so the model always sees it "on".
        "description_visible_to_customer": "1",
        "milestone_order": post.value_text("milestone_order"),
        "datecreated": today_text(),
    }
    return store.insert(schema.MILESTONES, values)


def _apply_billing_type(values: Row) -> None:
    """Perfex zeroes the money field the billing type does not use."""
    billing_type = (values.get("billing_type") or "").strip()
    if billing_type == "1":
        values["project_rate_per_hour"] = "0"
    elif billing_type == "2":
        values["project_cost"] = "0"
    else:
        values["project_rate_per_hour"] = "0"
        values["project_cost"] = "0"


def _create_project(store: SandboxStore, post: _Post) -> int:
    cost = post.value_text("project_cost")
    hours = post.value_text("estimated_hours")
    deadline = post.value_text("deadline")
    status = post.text("status")
    values: Row = {
        "name": post.text("name"),
        "clientid": post.text("clientid"),
        "billing_type": post.text("billing_type"),
        "start_date": to_sql_date(post.text("start_date")),
        "status": status,
        "project_cost": cost if not is_empty(cost) else None,
        "estimated_hours": hours if not is_empty(hours) else None,
        "progress_from_tasks": _checkbox(post.has("progress_from_tasks")),
        "progress": post.value_text("progress"),
        "project_rate_per_hour": post.value_text("project_rate_per_hour"),
        "deadline": to_sql_date(deadline) if not is_empty(deadline) else None,
        "description": post.value_text("description"),
        "project_created": today_text(),
        "addedfrom": "0",
    }
    if (status or "").strip() == "4":
        values["date_finished"] = now_text()
    _apply_billing_type(values)
    project_id = store.insert(schema.PROJECTS, values)
    members = post.value("project_members")
    if members != "":
        store.set_project_members(str(project_id), _list_of_ids(members))
    tags = _tag_names(post.value("tags"))
    if tags:
        store.set_tags("project", str(project_id), tags)
    return project_id


def _create_ticket(store: SandboxStore, post: _Post) -> int:
    # Tickets from the API count as from a non-admin: Perfex strips HTML tags.
    subject = strip_ticket_tags((post.text("subject") or "").strip())
    message = strip_ticket_tags(post.value_text("message").strip())
    contact_id = post.text("contactid")
    values: Row = {
        "subject": subject,
        "message": remove_emojis(nl2br_save_html(message)),
        "department": post.text("department"),
        "contactid": contact_id,
        "userid": post.text("userid") if post.has("userid") else "0",
        "cc": post.value_text("cc"),
        "assigned": post.value_text("assigned"),
        "priority": post.value_text("priority") or "0",
        "service": post.value_text("service"),
        "project_id": post.value_text("project_id"),
        "date": now_text(),
        "ticketkey": new_hash(),
        "status": "1",
        "admin": None,
    }
    ticket_id = store.insert(schema.TICKETS, values)
    tags = _tag_names(post.value("tags"))
    if tags:
        store.set_tags("ticket", str(ticket_id), tags)
    return ticket_id


_CREATORS: dict[str, Callable[[SandboxStore, _Post], int]] = {
    "customers": _create_customer,
    "leads": _create_lead,
    "milestones": _create_milestone,
    "projects": _create_project,
    "tickets": _create_ticket,
}


# --- update -----------------------------------------------------------------------------------


def _unknown_column_error(resource: Resource, name: str, key: str) -> PmpDatabaseError:
    table = resource.table
    return PmpDatabaseError(
        1054,
        f"Unknown column '{name}' in 'field list'",
        f"UPDATE `tbl{table.name}` SET `{name}` = ... WHERE `{table.key}` = '{key}'",
        f"models/{resource.name.capitalize()}_model.php",
        512,
    )


def update(store: SandboxStore, kind: str, key: str, data: Body, api_version: int) -> Answer:
    """``PUT api/<kind>/<key>`` with an already decoded, non-empty body."""
    resource = RESOURCES[kind]
    if key == "":
        return failure(404, resource.invalid_put_id)
    table = resource.table
    data = dict(data)
    for name in list(data):
        if table.has_column(name) or name in resource.virtual_fields:
            continue
        if api_version >= 3:
            del data[name]  # 3.x drops unknown fields instead of failing in SQL
            continue
        raise _unknown_column_error(resource, name, key)
    invalid = validate(resource.update_rules, data, api_version)
    if invalid is not None:
        return invalid
    fail = failure(404, f"{resource.updated} Fail.")
    if not key.isdigit():
        return fail
    before = store.snapshot(kind, key)
    current = store.row(table, key)
    if before is None or current is None:
        return fail
    values: Row = {}
    for name in resource.replaced_on_update:
        if table.has_column(name):
            values[name] = _text(data[name]) if data.get(name) is not None else None
    for name, value in data.items():
        if table.has_column(name) and name != table.key and name not in values:
            values[name] = _text(value)
    _UPDATERS[kind](store, key, data, values, current)
    store.update(table, key, {name: value for name, value in values.items() if name != table.key})
    if store.snapshot(kind, key) == before and api_version < 3:
        return fail
    return success(f"{resource.updated} Successful.")


# Each updater adjusts ``values`` (column -> new text; None stores the column's default) the
# way the Perfex model does before its UPDATE, and rewrites what lives in other tables.


def _update_customer(store: SandboxStore, key: str, data: Body, values: Row, current: Row) -> None:
    store.set_customer_groups(key, _list_of_ids(data.get("groups_in")))


def _update_lead(store: SandboxStore, key: str, data: Body, values: Row, current: Row) -> None:
    values["is_public"] = _checkbox(data.get("is_public") is not None)
    values["description"] = nl2br(values.get("description") or "")
    if "lastcontact" in data:
        values["lastcontact"] = to_sql_date(_text(data["lastcontact"]) or None, with_time=True)
    if (values.get("status") or "").strip() != current["status"]:
        values["last_status_change"] = now_text()
        values["last_lead_status"] = current["status"]
    if (values.get("assigned") or "").strip() not in ("", "0", current["assigned"]):
        values["dateassigned"] = today_text()
    store.set_tags("lead", key, _tag_names(data.get("tags")))


def _update_milestone(store: SandboxStore, key: str, data: Body, values: Row, current: Row) -> None:
    values["due_date"] = to_sql_date(values.get("due_date"))
    values["description"] = nl2br(values.get("description") or "")
    values["description_visible_to_customer"] = _checkbox(
        data.get("description_visible_to_customer") is not None
    )


def _update_project(store: SandboxStore, key: str, data: Body, values: Row, current: Row) -> None:
    values["progress_from_tasks"] = _checkbox(data.get("progress_from_tasks") is not None)
    for name in ("project_cost", "estimated_hours"):
        values[name] = values.get(name) if not is_empty(values.get(name)) else None
    deadline = values.get("deadline")
    values["deadline"] = to_sql_date(deadline) if not is_empty(deadline) else None
    values["start_date"] = to_sql_date(values.get("start_date"))
    values["description"] = values.get("description") or ""
    status = (values.get("status") or "").strip()
    if current["status"] == "4" and status != "4":
        values["date_finished"] = None
    elif status == "4" and current["status"] != "4":
        values["date_finished"] = now_text()
    _apply_billing_type(values)
    store.set_project_members(key, _list_of_ids(data.get("project_members")))
    store.set_tags("project", key, _tag_names(data.get("tags")))


def _update_ticket(store: SandboxStore, key: str, data: Body, values: Row, current: Row) -> None:
    if is_empty(values.get("service")):
        values["service"] = "0"
    if not is_empty(values.get("contactid")):
        values["name"] = None
        values["email"] = None
    store.set_tags("ticket", key, _tag_names(data.get("tags")))


_UPDATERS: dict[str, Callable[[SandboxStore, str, Body, Row, Row], None]] = {
    "customers": _update_customer,
    "leads": _update_lead,
    "milestones": _update_milestone,
    "projects": _update_project,
    "tickets": _update_ticket,
}


# --- delete -----------------------------------------------------------------------------------

_DELETERS: dict[str, Callable[[SandboxStore, str], bool]] = {
    "customers": SandboxStore.delete_customer,
    "leads": SandboxStore.delete_lead,
    "milestones": SandboxStore.delete_milestone,
    "projects": SandboxStore.delete_project,
    "tickets": SandboxStore.delete_ticket,
}


def delete(store: SandboxStore, kind: str, key: str) -> Answer:
    resource = RESOURCES[kind]
    if key == "":
        return failure(404, resource.invalid_delete_id)
    if key.isdigit() and _DELETERS[kind](store, key):
        return success(f"{resource.deleted} Successful.")
    return failure(404, f"{resource.deleted} Fail.")


# --- reads ------------------------------------------------------------------------------------


def read(store: SandboxStore, kind: str, key: str, *, site_url: str) -> PhpValue:
    """``GET api/<kind>/<key>``: the record (a list for milestones), or None when not found."""
    if kind == "customers":
        return store.customer(key)
    if kind == "leads":
        return store.lead(key, site_url=site_url)
    if kind == "projects":
        return store.project(key)
    if kind == "tickets":
        return store.ticket(key)
    found = store.milestone(key)
    return list(found) if found else None


def read_all(store: SandboxStore, kind: str) -> list[PhpValue]:
    listers: Mapping[str, Callable[[], list[dict[str, PhpValue]]]] = {
        "customers": store.customers,
        "leads": store.leads,
        "projects": store.projects,
        "tickets": store.tickets,
        "milestones": store.milestones,
    }
    return list(listers[kind]())


def search(store: SandboxStore, kind: str, term: str) -> list[PhpValue]:
    searchers: Mapping[str, Callable[[str], list[dict[str, PhpValue]]]] = {
        "customers": store.search_customers,
        "leads": store.search_leads,
        "projects": store.search_projects,
        "tickets": store.search_tickets,
        "milestones": store.search_milestones,
        "contacts": store.search_contacts,
    }
    return list(searchers[kind](term))
