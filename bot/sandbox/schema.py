"""Tables of the sandbox database, column for column as in Perfex CRM (without the ``tbl`` prefix),
and the project settings a fresh install gives a new project.

Every value is stored as text in its canonical MySQL rendering ("1", "0.00", "2019-04-19"),
so answers carry strings exactly like the real API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

from bot.sandbox.phpish import php_serialize_flags

Kind = Literal["int", "decimal", "date", "datetime", "text"]
Row: TypeAlias = dict[str, str | None]


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind = "text"
    # Stored when an insert leaves the column out (or passes None to a NOT NULL column).
    default: str | None = ""
    # NULL allowed; None means "when the default is NULL" (most nullable Perfex columns).
    nullable: bool | None = None

    @property
    def allows_null(self) -> bool:
        return self.default is None if self.nullable is None else self.nullable


@dataclass(frozen=True)
class Table:
    name: str
    key: str
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def has_column(self, name: str) -> bool:
        return name in self.column_names


def _int(name: str, default: str | None = "0") -> Column:
    return Column(name, "int", default)


def _text(name: str, default: str | None = "") -> Column:
    return Column(name, "text", default)


def _null(name: str, kind: Kind = "text") -> Column:
    return Column(name, kind, None)


CLIENTS = Table(
    "clients",
    "userid",
    (
        _int("userid", None),
        _text("company"),
        _text("vat"),
        _text("phonenumber"),
        _int("country"),
        _text("city"),
        _text("zip"),
        _text("state"),
        _text("address"),
        _text("website"),
        _null("datecreated", "datetime"),
        _int("active", "1"),
        _null("leadid", "int"),
        _text("billing_street"),
        _text("billing_city"),
        _text("billing_state"),
        _text("billing_zip"),
        _int("billing_country"),
        _text("shipping_street"),
        _text("shipping_city"),
        _text("shipping_state"),
        _text("shipping_zip"),
        _int("shipping_country"),
        _null("longitude"),
        _null("latitude"),
        _text("default_language"),
        _int("default_currency"),
        _int("show_primary_contact"),
        _null("stripe_id"),
        _int("registration_confirmed", "1"),
        _int("addedfrom"),
    ),
)

CONTACTS = Table(
    "contacts",
    "id",
    (
        _int("id", None),
        _int("userid"),
        _int("is_primary", "1"),
        _text("firstname"),
        _text("lastname"),
        _text("email"),
        _text("phonenumber"),
        _null("title"),
        _null("datecreated", "datetime"),
        _null("password"),
        _null("new_pass_key"),
        _null("new_pass_key_requested", "datetime"),
        _null("email_verified_at", "datetime"),
        _null("email_verification_key"),
        _null("email_verification_sent_at", "datetime"),
        _null("last_ip"),
        _null("last_login", "datetime"),
        _null("last_password_change", "datetime"),
        _int("active", "1"),
        _null("profile_image"),
        _null("direction"),
        _int("invoice_emails", "1"),
        _int("estimate_emails", "1"),
        _int("credit_note_emails", "1"),
        _int("contract_emails", "1"),
        _int("task_emails", "1"),
        _int("project_emails", "1"),
        _int("ticket_emails", "1"),
    ),
)

LEADS = Table(
    "leads",
    "id",
    (
        _int("id", None),
        _text("hash"),
        _text("name"),
        _text("contact"),
        _null("title"),
        _null("company"),
        _null("description"),
        _int("country"),
        _null("zip"),
        _null("city"),
        _null("state"),
        _null("address"),
        _int("assigned"),
        _null("dateadded", "datetime"),
        _int("from_form_id"),
        _int("status"),
        _int("source"),
        _null("lastcontact", "datetime"),
        _null("dateassigned", "date"),
        _null("last_status_change", "datetime"),
        _int("addedfrom"),
        _null("email"),
        _null("website"),
        _int("leadorder", "1"),
        _null("phonenumber"),
        _null("date_converted", "datetime"),
        _int("lost"),
        _int("junk"),
        _int("last_lead_status"),
        _int("is_imported_from_email_integration"),
        _null("email_integration_uid"),
        _int("is_public"),
        _null("default_language"),
        _int("client_id"),
        _null("lead_value", "decimal"),
    ),
)

LEADS_STATUS = Table(
    "leads_status",
    "id",
    (_int("id", None), _text("name"), _int("statusorder"), _text("color"), _int("isdefault")),
)

LEADS_SOURCES = Table("leads_sources", "id", (_int("id", None), _text("name")))

PROJECTS = Table(
    "projects",
    "id",
    (
        _int("id", None),
        _text("name"),
        _null("description"),
        _int("status"),
        _int("clientid"),
        _int("billing_type"),
        _null("start_date", "date"),
        _null("deadline", "date"),
        _null("project_created", "date"),
        _null("date_finished", "datetime"),
        _int("progress"),
        _int("progress_from_tasks", "1"),
        _null("project_cost", "decimal"),
        _null("project_rate_per_hour", "decimal"),
        _null("estimated_hours", "decimal"),
        _int("addedfrom"),
        _int("contact_notification", "1"),
        _text("notify_contacts", "a:0:{}"),
    ),
)

MILESTONES = Table(
    "milestones",
    "id",
    (
        _int("id", None),
        _text("name"),
        _null("description"),
        # tinyint DEFAULT 0, but NULL allowed: a PUT without it stores NULL.
        Column("description_visible_to_customer", "int", "0", nullable=True),
        _null("start_date", "date"),
        _null("due_date", "date"),
        _int("project_id"),
        _null("color"),
        _int("milestone_order"),
        _null("datecreated", "date"),
        _int("hide_from_customer"),
    ),
)

TASKS = Table(
    "tasks",
    "id",
    (
        _int("id", None),
        _text("name"),
        _text("rel_type", "project"),
        _int("rel_id"),
        _int("milestone"),
        _int("status", "1"),
    ),
)

TICKETS = Table(
    "tickets",
    "ticketid",
    (
        _int("ticketid", None),
        _int("adminreplying"),
        _int("userid"),
        _int("contactid"),
        _null("merged_ticket_id", "int"),
        _null("email"),
        _null("name"),
        _int("department"),
        _int("priority"),
        _int("status", "1"),
        _null("service", "int"),
        _text("ticketkey"),
        _text("subject"),
        _null("message"),
        _null("admin", "int"),
        _null("date", "datetime"),
        _int("project_id"),
        _null("lastreply", "datetime"),
        _int("clientread"),
        _int("adminread"),
        _int("assigned"),
        _null("staff_id_replying", "int"),
        _null("cc"),
    ),
)

TICKET_REPLIES = Table(
    "ticket_replies",
    "id",
    (
        _int("id", None),
        _int("ticketid"),
        _null("userid", "int"),
        _int("contactid"),
        _null("name"),
        _null("email"),
        _null("date", "datetime"),
        _null("message"),
        _null("attachment", "int"),
        _null("admin", "int"),
    ),
)

# The 3.x module's webhooks (``tblapi_webhooks``).
API_WEBHOOKS = Table(
    "api_webhooks",
    "id",
    (
        _int("id", None),
        _text("name"),
        _text("url"),
        _text("events"),
        _null("secret"),
        _int("active", "1"),
        _null("headers"),
        _int("timeout", "30"),
        _int("retry_count", "3"),
        _null("last_triggered", "datetime"),
        _int("success_count"),
        _int("failure_count"),
        _null("date_created", "datetime"),
        _null("date_updated", "datetime"),
        # Sandbox only (never shown): which token made it, for per-token webhooks.
        _null("owner"),
    ),
)

DEPARTMENTS = Table(
    "departments",
    "departmentid",
    (
        _int("departmentid", None),
        _text("name"),
        _null("imap_username"),
        _text("email"),
        _int("email_from_header"),
        _text("host"),
        _null("password"),
        _text("encryption"),
        _text("folder", "INBOX"),
        _int("delete_after_import"),
        _null("calendar_id"),
        _int("hidefromclient"),
    ),
)

TICKETS_STATUS = Table(
    "tickets_status",
    "ticketstatusid",
    (
        _int("ticketstatusid", None),
        _text("name"),
        _int("isdefault"),
        _text("statuscolor"),
        _int("statusorder"),
    ),
)

TICKETS_PRIORITIES = Table(
    "tickets_priorities", "priorityid", (_int("priorityid", None), _text("name"))
)

SERVICES = Table("services", "serviceid", (_int("serviceid", None), _text("name")))

STAFF = Table(
    "staff",
    "staffid",
    (
        _int("staffid", None),
        _text("email"),
        _text("firstname"),
        _text("lastname"),
        _null("facebook"),
        _null("linkedin"),
        _null("phonenumber"),
        _null("skype"),
        _text("password"),
        _null("datecreated", "datetime"),
        _null("profile_image"),
        _null("last_ip"),
        _null("last_login", "datetime"),
        _null("last_activity", "datetime"),
        _null("last_password_change", "datetime"),
        _null("new_pass_key"),
        _null("new_pass_key_requested", "datetime"),
        _int("admin"),
        _null("role", "int"),
        _int("active", "1"),
        _null("default_language"),
        _null("direction"),
        _null("media_path_slug"),
        _int("is_not_staff"),
        Column("hourly_rate", "decimal", "0.00"),
        _int("two_factor_auth_enabled"),
        _null("two_factor_auth_code"),
        _null("two_factor_auth_code_requested", "datetime"),
        _null("email_signature"),
    ),
)

CUSTOMERS_GROUPS = Table("customers_groups", "id", (_int("id", None), _text("name")))
CUSTOMER_GROUPS = Table(
    "customer_groups", "id", (_int("id", None), _int("groupid"), _int("customer_id"))
)
TAGS = Table("tags", "id", (_int("id", None), _text("name")))
TAGGABLES = Table(
    "taggables",
    "id",
    (_int("id", None), _int("rel_id"), _text("rel_type"), _int("tag_id"), _int("tag_order")),
)
PROJECT_MEMBERS = Table(
    "project_members", "id", (_int("id", None), _int("project_id"), _int("staff_id"))
)
# What the customer may see and do in a project: one row per setting name, value "0"/"1"
# (``available_features``: a PHP-serialized array of tab slug => 0/1).
PROJECT_SETTINGS = Table(
    "project_settings",
    "id",
    (_int("id", None), _int("project_id"), _text("name"), _null("value")),
)
# Attachments: leads (and other record kinds) keep theirs in ``files``; projects and tickets
# have their own tables.
FILES = Table(
    "files",
    "id",
    (
        _int("id", None),
        _int("rel_id"),
        _text("rel_type"),
        _text("file_name"),
        _text("filetype"),
        _int("visible_to_customer"),
        _null("attachment_key"),
        _null("external"),
        _null("external_link"),
        _null("thumbnail_link"),
        _int("staffid"),
        _int("contact_id"),
        _int("task_comment_id"),
        _null("dateadded", "datetime"),
    ),
)
PROJECT_FILES = Table(
    "project_files",
    "id",
    (
        _int("id", None),
        _text("file_name"),
        _null("original_file_name"),
        _null("subject"),
        _null("description"),
        _text("filetype"),
        _null("dateadded", "datetime"),
        _null("last_activity", "datetime"),
        _int("project_id"),
        _int("visible_to_customer"),
        _int("staffid"),
        _int("contact_id"),
        _null("external"),
        _null("external_link"),
        _null("thumbnail_link"),
    ),
)
TICKET_ATTACHMENTS = Table(
    "ticket_attachments",
    "id",
    (
        _int("id", None),
        _int("ticketid"),
        _null("replyid", "int"),
        _text("file_name"),
        _text("filetype"),
        _null("dateadded", "datetime"),
    ),
)
INVOICES = Table(
    "invoices",
    "id",
    (
        _int("id", None),
        _int("clientid"),
        _int("number"),
        _null("date", "date"),
        Column("total", "decimal", "0.00"),
        _int("status", "1"),
    ),
)
ESTIMATES = Table(
    "estimates",
    "id",
    (
        _int("id", None),
        _int("clientid"),
        _int("number"),
        _null("date", "date"),
        Column("total", "decimal", "0.00"),
    ),
)

ALL_TABLES: tuple[Table, ...] = (
    CLIENTS,
    CONTACTS,
    LEADS,
    LEADS_STATUS,
    LEADS_SOURCES,
    PROJECTS,
    MILESTONES,
    TASKS,
    TICKETS,
    TICKET_REPLIES,
    API_WEBHOOKS,
    DEPARTMENTS,
    TICKETS_STATUS,
    TICKETS_PRIORITIES,
    SERVICES,
    STAFF,
    CUSTOMERS_GROUPS,
    CUSTOMER_GROUPS,
    TAGS,
    TAGGABLES,
    PROJECT_MEMBERS,
    PROJECT_SETTINGS,
    FILES,
    PROJECT_FILES,
    TICKET_ATTACHMENTS,
    INVOICES,
    ESTIMATES,
)


# Columns searched or joined on; SQLite would otherwise scan whole tables for every row.
INDEXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("contacts", ("userid", "is_primary")),
    ("leads", ("client_id",)),
    ("projects", ("clientid",)),
    ("milestones", ("project_id",)),
    ("tasks", ("milestone",)),
    ("tickets", ("userid",)),
    ("tickets", ("contactid",)),
    ("ticket_replies", ("ticketid",)),
    ("customer_groups", ("customer_id",)),
    ("taggables", ("rel_type", "rel_id")),
    ("project_members", ("project_id",)),
    ("project_settings", ("project_id",)),
    ("files", ("rel_type", "rel_id")),
    ("project_files", ("project_id",)),
    ("ticket_attachments", ("ticketid",)),
    ("invoices", ("clientid",)),
    ("estimates", ("clientid",)),
)


def _affinity(column: Column) -> str:
    # Integer columns get INTEGER affinity so joins and indexes compare numbers; decimals
    # stay text to keep MySQL's "0.00" rendering.
    return "INTEGER" if column.kind == "int" else "TEXT"


def create_table_sql(table: Table) -> list[str]:
    columns = [
        f'"{column.name}" INTEGER PRIMARY KEY AUTOINCREMENT'
        if column.name == table.key
        else f'"{column.name}" {_affinity(column)}'
        for column in table.columns
    ]
    statements = [f'CREATE TABLE IF NOT EXISTS "{table.name}" ({", ".join(columns)})']
    for table_name, indexed in INDEXES:
        if table_name == table.name:
            name = f"idx_{table_name}_{'_'.join(indexed)}"
            quoted = ", ".join(f'"{column}"' for column in indexed)
            statements.append(f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table_name}" ({quoted})')
    return statements


# The project tabs a customer may be shown (Perfex's ``get_project_tabs_admin()``, flattened),
# in the order a fresh install stores them in ``available_features``.
PROJECT_TABS = (
    "project_overview",
    "project_milestones",
    "project_gantt",
    "project_tasks",
    "project_estimates",
    "project_subscriptions",
    "project_invoices",
    "project_expenses",
    "project_credit_notes",
    "project_tickets",
    "project_timesheets",
    "project_files",
    "project_discussions",
    "project_notes",
    "project_activity",
)

# Perfex's default project settings (what a new project gets), as ``project_settings`` stores
# them; ``available_features`` first, as Perfex inserts it.
PROJECT_SETTINGS_DEFAULTS: dict[str, str] = {
    "available_features": php_serialize_flags(dict.fromkeys(PROJECT_TABS, 1)),
    "view_tasks": "1",
    "create_tasks": "1",
    "edit_tasks": "1",
    "comment_on_tasks": "1",
    "view_task_comments": "1",
    "view_task_attachments": "1",
    "view_task_checklist_items": "1",
    "upload_on_tasks": "1",
    "view_task_total_logged_time": "1",
    "view_finance_overview": "1",
    "upload_files": "1",
    "open_discussions": "1",
    "view_milestones": "1",
    "view_gantt": "1",
    "view_timesheets": "1",
    "view_activity_log": "1",
    "view_team_members": "1",
    "hide_tasks_on_main_tasks_table": "0",
}
