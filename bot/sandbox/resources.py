"""What the REST module's controllers and Perfex's models do with a request's fields.

Each operation returns an ``Answer`` (HTTP status and JSON body) or raises PmpDatabaseError /
PhpFatalError, which the server turns into HTML 500 pages as the real one does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

from bot.sandbox import schema
from bot.sandbox.events import Hook
from bot.sandbox.phpish import (
    PhpFatalError,
    PhpOutput,
    PhpValue,
    is_empty,
    module_value,
    nl2br,
    nl2br_save_html,
    password_hash_like,
    php_serialize_flags,
    php_string,
    php_type,
    remove_emojis,
    strip_ticket_tags,
    to_sql_date,
    xss_clean_value,
)
from bot.sandbox.schema import Table
from bot.sandbox.store import (
    ATTACHMENT_KINDS,
    PROJECT_SETTINGS_DEFAULTS,
    PROJECT_TABS,
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
    # The Perfex action hooks the operation fired (what the 3.x module's webhooks hear).
    hooks: tuple[Hook, ...] = ()


@dataclass(frozen=True)
class Rule:
    """One CodeIgniter form-validation rule: ``trim|required|max_length[n]|is_unique[t.c]``."""

    field: str
    label: str
    required: bool = True
    max_length: int | None = None
    unique_contact_email: bool = False  # is_unique[contacts.email]


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
    # Columns a PUT resets when the body leaves them out (PHP's isset(): absent or null), to
    # the value the model then writes (None: NULL, or the default of a NOT NULL column).
    # Every other column a PUT does not name keeps its value.
    reset_when_absent: Mapping[str, str | None] = field(default_factory=dict)
    # HTML checkboxes: a key that is present means 1, whatever its value ("0" included).
    checkboxes: frozenset[str] = field(default_factory=frozenset)
    # Accepted PUT keys that are not columns (the models consume them).
    virtual_fields: frozenset[str] = field(default_factory=frozenset)
    # HTTP status of a validation failure in 2.0.8 (3.x: 422, contacts keep 409).
    invalid_status: int = 404


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
CONTACT_EMAIL_FLAGS = (
    "invoice_emails",
    "estimate_emails",
    "credit_note_emails",
    "contract_emails",
    "task_emails",
    "project_emails",
    "ticket_emails",
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
        # Clients_model::check_zero_columns; the groups go too (see _update_customer).
        reset_when_absent={
            "show_primary_contact": "0",
            "default_currency": "0",
            "country": "0",
            "billing_country": "0",
            "shipping_country": "0",
        },
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
        # Leads_model::update: is_public is a checkbox, country falls back to 0 and
        # ``trim($data['address'])`` / ``trim($data['email'])`` make missing ones ''.
        reset_when_absent={"is_public": "0", "country": "0", "address": "", "email": ""},
        checkboxes=frozenset({"is_public"}),
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
        # Projects_model::update_milestone reads these without looking whether they came.
        reset_when_absent={
            "description": None,
            "description_visible_to_customer": None,
            "start_date": None,
            "hide_from_customer": "0",
        },
        checkboxes=frozenset({"description_visible_to_customer", "hide_from_customer"}),
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
        # Projects_model::update; members and settings go too (see _update_project).
        reset_when_absent={
            "deadline": None,
            "start_date": None,
            "project_cost": None,
            "estimated_hours": None,
            "progress_from_tasks": "0",
        },
        checkboxes=frozenset({"progress_from_tasks"}),
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
        # Tickets_model::update_single_ticket_settings; the tags go too (see _update_ticket).
        reset_when_absent={"priority": "0", "assigned": "0"},
        virtual_fields=frozenset({"tags", "custom_fields", "file"}),
    ),
    "contacts": Resource(
        name="contacts",
        table=schema.CONTACTS,
        added="Contact add successful.",
        updated="Contact Update",
        deleted="Contact Delete",
        invalid_put_id="Invalid Contact ID",
        invalid_delete_id="Invalid Contact ID",
        create_rules=(
            Rule("customer_id", "Customer id"),
            Rule("firstname", "First Name"),
            Rule("lastname", "Last Name"),
            Rule("email", "Email", unique_contact_email=True),
            Rule("password", "Password"),
        ),
        update_rules=(Rule("email", "Email"),),
        # Clients_model::update_contact: ``isset($data[...]) ? 1 : 0`` for each of these.
        reset_when_absent=dict.fromkeys(("is_primary", *CONTACT_EMAIL_FLAGS), "0"),
        checkboxes=frozenset({"is_primary", *CONTACT_EMAIL_FLAGS}),
        virtual_fields=frozenset({"custom_fields", "permissions", "send_set_password_email"}),
        invalid_status=409,
    ),
}


@dataclass(frozen=True)
class UncheckedRead:
    """PHP code reading ``$data['key']`` without checking that the key came: when it did not,
    PHP 8 warns ``Undefined array key`` (printed only by a server in development mode)."""

    keys: tuple[str, ...]
    filename: str
    line: int
    # The module never passes these keys on, so the warning comes whatever the body holds.
    always: bool = False


# (resource, verb) -> what its model reads unchecked, once validation has passed.
_UNCHECKED_READS: dict[tuple[str, str], UncheckedRead] = {
    ("leads", "post"): UncheckedRead(("address", "email"), "models/Leads_model.php", 104),
    ("leads", "put"): UncheckedRead(("address", "email"), "models/Leads_model.php", 257),
    ("milestones", "post"): UncheckedRead(
        ("start_date",), "models/Projects_model.php", 1176, always=True
    ),
    ("milestones", "put"): UncheckedRead(
        ("start_date", "description"), "models/Projects_model.php", 1203
    ),
    ("tickets", "post"): UncheckedRead(("message",), "models/Tickets_model.php", 618),
    ("tickets", "put"): UncheckedRead(("assigned",), "models/Tickets_model.php", 1208),
}
# The module's lead, project and ticket write handlers read ``$_FILES['file']`` unchecked:
# a project POST before its validation, the others once the write went through.
_UPLOAD_READS = {
    "leads": ("controllers/Leads.php", 211, 318),
    "projects": ("controllers/Projects.php", 196, 297),
    "tickets": ("controllers/Tickets.php", 226, 330),
}
_PROJECTS_MODEL = "models/Projects_model.php"


def _warn_unchecked(php: PhpOutput, kind: str, verb: str, data: Body) -> None:
    reads = _UNCHECKED_READS.get((kind, verb))
    if reads is None:
        return
    for offset, key in enumerate(reads.keys):
        if reads.always or key not in data:
            php.undefined_key(key, reads.filename, reads.line + offset)


def _warn_no_upload(php: PhpOutput, kind: str, verb: str, uploads: frozenset[str]) -> None:
    if kind in _UPLOAD_READS and "file" not in uploads:
        filename, post_line, put_line = _UPLOAD_READS[kind]
        php.undefined_key("file", filename, post_line if verb == "post" else put_line)


def failure(status: int, message: str | None) -> Answer:
    return Answer(status, {"status": False, "message": message})


def success(message: str, **extra: PhpValue) -> Answer:
    return Answer(200, {"status": True, "message": message, **extra})


# --- validation -------------------------------------------------------------------------------


def validate(
    rules: tuple[Rule, ...],
    data: Body,
    api_version: int,
    *,
    status: int = 404,
    store: SandboxStore | None = None,
) -> Answer | None:
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
        elif rule.unique_contact_email and store is not None and store.contact_email_taken(text):
            errors[rule.field] = f"The {rule.label} field must contain a unique value."
    if not errors:
        return None
    html = "".join(f"<p>{message}</p>\n" for message in errors.values())
    body: dict[str, PhpValue] = {"status": False, "error": dict(errors), "message": html}
    if api_version >= 3:
        body["errors"] = dict(errors)
        return Answer(422 if status == 404 else status, body)
    return Answer(status, body)


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


def posted_project_settings(
    posted: PhpValue, names: Iterable[str], php: PhpOutput
) -> dict[str, str]:
    """Projects_model's loop over a posted ``settings`` array (add and update alike).

    It was written for the HTML form, where only ticked checkboxes are sent: a setting whose
    name is a key of ``settings`` becomes 1 whatever its value (``"0"`` too), the others 0.
    ``available_features`` lists the tabs to show: listed slugs 1, the other tabs 0, stored
    serialized. Without that list ``in_array()`` gets null: a PHP TypeError (HTTP 500).
    """
    if isinstance(posted, dict):
        given: dict[str, PhpValue] = posted
    elif isinstance(posted, list):
        given = {str(index): item for index, item in enumerate(posted)}
    else:
        message = f"foreach() argument must be of type array|object, {php_type(posted)} given"
        php.warning(message, _PROJECTS_MODEL, 731)
        given = {}
    result: dict[str, str] = {}
    for name in names:
        if name != "available_features":
            result[name] = _checkbox(name in given)
            continue
        listed = given.get(name)
        if isinstance(listed, dict):
            listed = list(listed.values())
        if not isinstance(listed, list):
            message = f"foreach() argument must be of type array|object, {php_type(listed)} given"
            php.warning(message, _PROJECTS_MODEL, 746)
            raise PhpFatalError(
                "in_array(): Argument #2 ($haystack) must be of type array, "
                f"{php_type(listed)} given",
                _PROJECTS_MODEL,
                751,
                kind="TypeError",
            )
        slugs = [php_string(slug) or "" for slug in listed]
        flags = dict.fromkeys(slugs, 1)
        for tab in PROJECT_TABS:
            if tab not in slugs:
                flags[tab] = 0
        result[name] = php_serialize_flags(flags)
    return result


# --- create -----------------------------------------------------------------------------------


def create(
    store: SandboxStore,
    kind: str,
    data: Body,
    api_version: int,
    php: PhpOutput,
    *,
    uploads: frozenset[str] = frozenset(),
) -> Answer:
    """``POST api/<kind>`` with the form fields (``uploads``: names of the file parts)."""
    resource = RESOURCES[kind]
    data = dict(data)
    if kind == "projects":
        _warn_no_upload(php, kind, "post", uploads)
    invalid = validate(
        resource.create_rules, data, api_version, status=resource.invalid_status, store=store
    )
    if invalid is not None:
        return invalid
    _warn_unchecked(php, kind, "post", data)
    new_id = _CREATORS[kind](store, _Post(data), php)
    if kind != "projects":
        _warn_no_upload(php, kind, "post", uploads)
    answer = (
        success(resource.added, record_id=new_id) if api_version >= 3 else success(resource.added)
    )
    return replace(answer, hooks=created_hooks(kind, new_id))


# What each model fires: create (the new id), update (the id as the URL gave it), delete.
_CREATED_HOOKS = {
    "customers": "after_client_created",
    "leads": "lead_created",
    "projects": "after_add_project",
    "tickets": "ticket_created",
    "contacts": "contact_created",
    "milestones": "milestone_created",
}
_UPDATED_HOOKS = {
    "customers": "client_updated",
    "leads": "after_lead_updated",
    "projects": "after_update_project",
    "contacts": "contact_updated",
    "milestones": "milestone_updated",
}
_DELETED_HOOKS = {
    "customers": "after_client_deleted",
    "leads": "after_lead_deleted",
    "projects": "after_project_deleted",
    "tickets": "after_ticket_deleted",
    "contacts": "contact_deleted",
    "milestones": "milestone_deleted",
}


def created_hooks(kind: str, new_id: int) -> tuple[Hook, ...]:
    return (Hook(_CREATED_HOOKS[kind], new_id),)


def updated_hooks(kind: str, key: str, before: Row, after: Row | None) -> tuple[Hook, ...]:
    """The hooks an update fires, from the row before and after it."""
    if after is None:
        return ()
    if kind == "tickets":
        # update_single_ticket_settings: only this hook, which the module does not bridge.
        return (Hook("ticket_settings_updated", {"ticket_id": key}),)
    hooks: list[Hook] = []
    if kind == "leads" and before["status"] != after["status"]:
        hooks.append(
            Hook(
                "lead_status_changed",
                {"lead_id": key, "old_status": before["status"], "new_status": after["status"]},
            )
        )
    if kind == "projects" and before["status"] != after["status"]:
        hooks.append(Hook("project_status_changed", {"status": after["status"], "project_id": key}))
    hooks.append(Hook(_UPDATED_HOOKS[kind], key))
    return tuple(hooks)


def _create_customer(store: SandboxStore, post: _Post, php: PhpOutput) -> int:
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


def _create_lead(store: SandboxStore, post: _Post, php: PhpOutput) -> int:
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


def _create_milestone(store: SandboxStore, post: _Post, php: PhpOutput) -> int:
    values: Row = {
        "name": post.text("name"),
        "project_id": post.text("project_id"),
        "due_date": to_sql_date(post.text("due_date")),
        "description": nl2br(post.value_text("description")),
        # The module always passes the checkbox field, so the model always sees it "on"; it
        # never passes start_date or hide_from_customer: no start date, never hidden.
        "description_visible_to_customer": "1",
        "start_date": None,
        "hide_from_customer": "0",
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


def _create_project(store: SandboxStore, post: _Post, php: PhpOutput) -> int:
    cost = post.value_text("project_cost")
    hours = post.value_text("estimated_hours")
    deadline = post.value_text("deadline")
    status = post.text("status")
    # A create without settings gets Perfex's defaults; with them, the model's loop.
    settings = dict(PROJECT_SETTINGS_DEFAULTS)
    if post.has("settings"):
        settings = posted_project_settings(post.get("settings"), settings, php)
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
    store.set_project_settings(str(project_id), settings)
    members = post.value("project_members")
    if members != "":
        store.set_project_members(str(project_id), _list_of_ids(members))
    tags = _tag_names(post.value("tags"))
    if tags:
        store.set_tags("project", str(project_id), tags)
    return project_id


def _create_ticket(store: SandboxStore, post: _Post, php: PhpOutput) -> int:
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


def _create_contact(store: SandboxStore, post: _Post, php: PhpOutput) -> int:
    # Clients_model::add_contact: checkboxes (absent means 0, flags included), hashed password.
    values: Row = {
        "userid": post.text("customer_id"),
        "firstname": post.text("firstname"),
        "lastname": post.text("lastname"),
        "email": (post.text("email") or "").strip(),
        "title": post.text("title"),
        "phonenumber": post.value_text("phonenumber"),
        "direction": post.text("direction"),
        "password": password_hash_like(),
        "datecreated": now_text(),
        "email_verified_at": now_text(),
        "is_primary": _checkbox(post.has("is_primary")),
    }
    for flag in CONTACT_EMAIL_FLAGS:
        values[flag] = _checkbox(post.has(flag))
    contact_id = store.insert(schema.CONTACTS, values)
    if values["is_primary"] == "1":
        store.make_only_primary_contact(str(contact_id))
    return contact_id


_CREATORS: dict[str, Callable[[SandboxStore, _Post, PhpOutput], int]] = {
    "customers": _create_customer,
    "leads": _create_lead,
    "milestones": _create_milestone,
    "projects": _create_project,
    "tickets": _create_ticket,
    "contacts": _create_contact,
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
        # Seen on a real PMP: the error page came with HTTP 200.
        status=200,
    )


def update(
    store: SandboxStore, kind: str, key: str, data: Body, api_version: int, php: PhpOutput
) -> Answer:
    """``PUT api/<kind>/<key>`` with an already decoded, non-empty body.

    The keys sent are written, the resource's ``reset_when_absent`` columns (and the other
    tables its updater names) are reset when left out, everything else is kept.
    """
    resource = RESOURCES[kind]
    if key == "":
        return failure(404, resource.invalid_put_id)
    table = resource.table
    data = dict(data)
    unknown = [
        name for name in data if not table.has_column(name) and name not in resource.virtual_fields
    ]
    if api_version >= 3:
        for name in unknown:
            del data[name]  # 3.x drops unknown fields instead of failing in SQL
        unknown = []
    invalid = validate(resource.update_rules, data, api_version, status=resource.invalid_status)
    if invalid is not None:
        return invalid
    fail = failure(404, f"{resource.updated} Fail.")
    if not key.isdigit():
        return fail
    _warn_unchecked(php, kind, "put", data)
    if unknown:
        raise _unknown_column_error(resource, unknown[0], key)  # the UPDATE fails: no change
    before = store.snapshot(kind, key)
    current = store.row(table, key)
    if before is None or current is None:
        return fail
    values: Row = {
        name: _text(value)
        for name, value in data.items()
        if table.has_column(name) and name != table.key
    }
    for name in resource.checkboxes:
        if data.get(name) is not None:
            values[name] = "1"
    for name, reset in resource.reset_when_absent.items():
        if data.get(name) is None:
            values[name] = reset
    _UPDATERS[kind](store, key, data, values, current, php)
    store.update(table, key, values)
    if store.snapshot(kind, key) == before and api_version < 3:
        return fail
    if kind in ATTACHMENT_KINDS:
        _warn_no_upload(php, kind, "put", frozenset())
        # The module hands its attachment code the model's result (true) where the record id
        # belongs, and PHP reads true as 1: record #1's attachments are deleted (2.0.8, 3.0.x).
        store.delete_files(kind, "1")
    hooks = updated_hooks(kind, key, current, store.row(table, key))
    return replace(success(f"{resource.updated} Successful."), hooks=hooks)


# Each updater adjusts ``values`` (column -> new text; None stores NULL or the column's
# default) the way the Perfex model does before its UPDATE, and rewrites what lives in other
# tables. Anything that can fail (a PHP error) happens before the first write.


def _update_customer(
    store: SandboxStore, key: str, data: Body, values: Row, current: Row, php: PhpOutput
) -> None:
    # Groups are synced to ``groups_in``: leaving it out removes every group.
    store.set_customer_groups(key, _list_of_ids(data.get("groups_in")))


def _update_lead(
    store: SandboxStore, key: str, data: Body, values: Row, current: Row, php: PhpOutput
) -> None:
    if data.get("description") is not None:
        values["description"] = nl2br(values.get("description") or "")
    values["address"] = nl2br((values.get("address") or "").strip())
    values["email"] = (values.get("email") or "").strip()
    if "lastcontact" in data:
        values["lastcontact"] = to_sql_date(_text(data["lastcontact"]) or None, with_time=True)
    if (values.get("status") or "").strip() != current["status"]:
        values["last_status_change"] = now_text()
        values["last_lead_status"] = current["status"]
    if "assigned" in values and (values["assigned"] or "").strip() not in (
        "",
        "0",
        current["assigned"],
    ):
        values["dateassigned"] = today_text()
    if data.get("tags") is not None:  # tags are kept unless a ``tags`` key replaces them
        store.set_tags("lead", key, _tag_names(data["tags"]))


def _update_milestone(
    store: SandboxStore, key: str, data: Body, values: Row, current: Row, php: PhpOutput
) -> None:
    values["due_date"] = to_sql_date(values.get("due_date"))
    if data.get("start_date") is not None:
        values["start_date"] = to_sql_date(values.get("start_date"))
    if data.get("description") is not None:
        values["description"] = nl2br(values.get("description") or "")


def _update_project(
    store: SandboxStore, key: str, data: Body, values: Row, current: Row, php: PhpOutput
) -> None:
    names = list(store.project_settings(key))
    if data.get("settings") is not None:
        settings = posted_project_settings(data["settings"], names, php)
    else:
        settings = dict.fromkeys(names, "0")  # no settings sent: every one switched off
    for name in ("project_cost", "estimated_hours"):
        values[name] = values.get(name) if not is_empty(values.get(name)) else None
    deadline = values.get("deadline")
    values["deadline"] = to_sql_date(deadline) if not is_empty(deadline) else None
    values["start_date"] = to_sql_date(values.get("start_date"))
    if "description" in values:
        values["description"] = values["description"] or ""
    status = (values.get("status") or "").strip()
    if current["status"] == "4" and status != "4":
        values["date_finished"] = None
    elif status == "4" and current["status"] != "4":
        values["date_finished"] = now_text()
    _apply_billing_type(values)
    store.set_project_settings(key, settings)
    # Members are synced to ``project_members``: leaving it out removes every member.
    store.set_project_members(key, _list_of_ids(data.get("project_members")))
    if data.get("tags") is not None:  # tags are kept unless a ``tags`` key replaces them
        store.set_tags("project", key, _tag_names(data["tags"]))


def _update_ticket(
    store: SandboxStore, key: str, data: Body, values: Row, current: Row, php: PhpOutput
) -> None:
    if "service" in values and is_empty(values["service"]):
        values["service"] = "0"
    if not is_empty(values.get("contactid")):
        values["name"] = None
        values["email"] = None
    # The tags are saved from ``tags`` whether it came or not: leaving it out clears them.
    store.set_tags("ticket", key, _tag_names(data.get("tags")))


def _update_contact(
    store: SandboxStore, key: str, data: Body, values: Row, current: Row, php: PhpOutput
) -> None:
    # An empty password leaves the old one; another one is hashed.
    if is_empty(data.get("password")):
        values.pop("password", None)
    else:
        values["password"] = password_hash_like()
        values["last_password_change"] = now_text()
    if values.get("is_primary") == "1":
        store.make_only_primary_contact(key)


_UPDATERS: dict[str, Callable[[SandboxStore, str, Body, Row, Row, PhpOutput], None]] = {
    "customers": _update_customer,
    "leads": _update_lead,
    "milestones": _update_milestone,
    "projects": _update_project,
    "tickets": _update_ticket,
    "contacts": _update_contact,
}


# --- delete -----------------------------------------------------------------------------------

_DELETERS: dict[str, Callable[[SandboxStore, str], bool]] = {
    "customers": SandboxStore.delete_customer,
    "leads": SandboxStore.delete_lead,
    "milestones": SandboxStore.delete_milestone,
    "projects": SandboxStore.delete_project,
    "tickets": SandboxStore.delete_ticket,
    "contacts": SandboxStore.delete_contact,
}


def delete(store: SandboxStore, kind: str, key: str) -> Answer:
    resource = RESOURCES[kind]
    if key == "":
        return failure(404, resource.invalid_delete_id)
    if key.isdigit() and _DELETERS[kind](store, key):
        hooks = (Hook(_DELETED_HOOKS[kind], key),)
        return replace(success(f"{resource.deleted} Successful."), hooks=hooks)
    return failure(404, f"{resource.deleted} Fail.")


# --- ticket replies -------------------------------------------------------------------------


def reply(store: SandboxStore, key: str, data: Body) -> Answer:
    """``POST api/tickets/reply/<id>`` (3.x): ``message``, optional ``admin`` (a staff id:
    a staff reply, status ``status`` or 3 Answered), ``cc``. Without ``admin`` the reply is a
    customer's (the ticket goes back to Open unless it is In progress)."""
    if not key.isdigit():
        return failure(404, "Invalid Ticket ID")
    post = _Post(data)
    message = post.text("message")
    if is_empty(message):
        return failure(404, "Reply message is required")
    if store.row(schema.TICKETS, key) is None:
        return failure(404, "Ticket not found")
    admin = post.value_text("admin")
    staff = admin if admin.isdigit() and admin != "0" else None
    status = (post.value_text("status") or "3") if staff is not None else "1"
    reply_id, hooks = add_ticket_reply(
        store, key, message or "", staff=staff, status=status, cc=post.value_text("cc")
    )
    body: dict[str, PhpValue] = {
        "status": True,
        "message": "Ticket Reply Added Successful.",
        "reply_id": reply_id,
    }
    return Answer(200, body, hooks=hooks)


def add_ticket_reply(
    store: SandboxStore,
    key: str,
    message: str,
    *,
    staff: str | None,
    status: str,
    cc: str = "",
    contact: Row | None = None,
) -> tuple[int, tuple[Hook, ...]]:
    """``Tickets_model::add_reply``: a staff member's reply (``staff``, may hold HTML) or a
    customer's (tags stripped, newlines kept; ``contact``: the contact who wrote it in the
    customer area, else none, as through the API). Returns the reply id and the hooks."""
    now = now_text()
    reply_data: dict[str, PhpValue] = {"message": message.strip()}
    if staff is not None:
        reply_data["admin"] = staff
    else:
        reply_data["message"] = nl2br_save_html(strip_ticket_tags(message.strip()))
    reply_data["ticketid"] = key
    reply_data["date"] = now
    if contact is not None:
        reply_data["userid"] = contact["userid"]
        reply_data["contactid"] = contact["id"]
    else:
        reply_data["userid"] = 0
    row: Row = {name: php_string(value) for name, value in reply_data.items()}
    reply_id, old_status = store.add_ticket_reply(key, row, status, customer=staff is None, cc=cc)
    hooks: list[Hook] = []
    if old_status != status:
        # Perfex compares the old status with the one asked for, not the one stored.
        hooks.append(Hook("after_ticket_status_changed", {"id": key, "status": status}))
    hooks.append(
        Hook(
            "after_ticket_reply_added",
            {"data": reply_data, "id": key, "admin": staff, "replyid": reply_id},
        )
    )
    return reply_id, tuple(hooks)


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
    if kind == "staffs":
        return store.staff(key)
    found = store.milestone(key)
    return list(found) if found else None


def read_all(store: SandboxStore, kind: str) -> list[PhpValue]:
    listers: Mapping[str, Callable[[], list[dict[str, PhpValue]]]] = {
        "customers": store.customers,
        "leads": store.leads,
        "projects": store.projects,
        "tickets": store.tickets,
        "milestones": store.milestones,
        "staffs": store.staff_list,
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
        "staffs": store.search_staff,
    }
    return list(searchers[kind](term))
