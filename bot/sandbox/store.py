"""The sandbox's data: SQLite tables shaped like Perfex's, read back the way the REST module does.

Reads reproduce the module's SQL, including its quirks: joined columns overwrite each other
(a ticket's ``name`` is its priority's name, ``id`` is its contact's id), searches use MySQL
``LIKE '%term%'`` with a case- and accent-insensitive collation, and a search term that
contains a double quote breaks the module's hand-built SQL (HTTP 500).
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import threading
import unicodedata
import uuid
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from types import TracebackType
from typing import TypeAlias

from bot.sandbox import schema, seed
from bot.sandbox.phpish import PhpValue
from bot.sandbox.schema import PROJECT_SETTINGS_DEFAULTS, PROJECT_TABS, Column, Row, Table

Record: TypeAlias = dict[str, PhpValue]

# Which record kinds the sandbox serves, and the table behind each.
RESOURCE_TABLES: dict[str, Table] = {
    "customers": schema.CLIENTS,
    "leads": schema.LEADS,
    "projects": schema.PROJECTS,
    "milestones": schema.MILESTONES,
    "tickets": schema.TICKETS,
    "contacts": schema.CONTACTS,
}

# Record kinds with attachments, and where Perfex keeps them: (table, id column, extra filter).
ATTACHMENT_KINDS = ("leads", "projects", "tickets")
_ATTACHMENTS: dict[str, tuple[Table, str, str]] = {
    "leads": (schema.FILES, "rel_id", " AND rel_type = 'lead'"),
    "projects": (schema.PROJECT_FILES, "project_id", ""),
    "tickets": (schema.TICKET_ATTACHMENTS, "ticketid", ""),
}


class PmpDatabaseError(Exception):
    """A MySQL error the real server shows as CodeIgniter's HTML error page (HTTP ``status``:
    500 for searches; a PUT's unknown column was seen answering 200)."""

    def __init__(
        self, number: int, message: str, query: str, filename: str, line: int, *, status: int = 500
    ) -> None:
        super().__init__(f"Error Number: {number} {message}")
        self.number = number
        self.message = message
        self.query = query
        self.filename = filename
        self.line = line
        self.status = status


def now_text() -> str:
    return dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")


def today_text() -> str:
    return dt.date.today().isoformat()


def new_hash() -> str:
    return uuid.uuid4().hex


# --- MySQL semantics ----------------------------------------------------------------------


def fold(text: str) -> str:
    """Case- and accent-insensitive comparison key, like a MySQL ``*_ci`` collation."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


@lru_cache(maxsize=512)
def _like_regex(pattern: str) -> re.Pattern[str]:
    parts: list[str] = []
    escaped = False
    for char in fold(pattern):
        if escaped:
            parts.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    if escaped:
        parts.append(re.escape("\\"))
    return re.compile("".join(parts), re.DOTALL)


def mysql_like(value: object, pattern: str | None) -> bool:
    """MySQL ``value LIKE pattern`` under a case- and accent-insensitive collation."""
    if value is None or pattern is None:
        return False
    return _like_regex(pattern).fullmatch(fold(str(value))) is not None


def escape_like(term: str) -> str:
    """CodeIgniter's ``escape_like_str``: the term's wildcards match literally."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_NUMERIC_PREFIX = re.compile(r"\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)")
_DATE_PREFIX = re.compile(
    r"\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?"
)


def _number(value: str) -> Decimal:
    match = _NUMERIC_PREFIX.match(value)
    if match is None:
        return Decimal(0)
    try:
        return Decimal(match.group(1))
    except InvalidOperation:
        return Decimal(0)


def canonical(column: Column, value: str | None) -> str | None:
    """What MySQL (non-strict mode, as Perfex runs it) stores for ``value`` in ``column``."""
    if value is None:
        return None if column.allows_null else column.default
    if column.kind == "int":
        return str(int(_number(value).quantize(Decimal(1), rounding=ROUND_HALF_UP)))
    if column.kind == "decimal":
        return str(_number(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    if column.kind in ("date", "datetime"):
        zero = "0000-00-00" if column.kind == "date" else "0000-00-00 00:00:00"
        match = _DATE_PREFIX.match(value)
        if match is None:
            return zero
        year, month, day = (int(part) for part in match.group(1, 2, 3))
        hour, minute, second = (int(part or 0) for part in match.group(4, 5, 6))
        try:
            moment = dt.datetime(year, month, day, hour, minute, second)
        except ValueError:
            return zero
        if column.kind == "date":
            return moment.strftime("%Y-%m-%d")
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    return value


def _sql_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _search_term_breaks_sql(term: str, query: str, filename: str, line: int) -> None:
    """The module pastes search terms into SQL inside double quotes: a quote breaks it."""
    if '"' not in term:
        return
    near = term[term.index('"') + 1 :][:80]
    raise PmpDatabaseError(
        1064,
        "You have an error in your SQL syntax; check the manual that corresponds to your "
        f"MySQL server version for the right syntax to use near '{near}' at line 1",
        query,
        filename,
        line,
    )


# The module's "#tag" searches: records carrying the tag (parameters: rel_type, tag name).
_TAGGED = (
    "IN (SELECT tg.rel_id FROM taggables tg JOIN tags t ON t.id = tg.tag_id "
    "WHERE tg.rel_type = ? AND pmp_fold(t.name) = pmp_fold(?))"
)


# --- the store ----------------------------------------------------------------------------


class SandboxStore:
    """The sandbox database. Thread-safe: the server thread and tests may use it at once.

    ``path`` is a file name or ":memory:". A fresh database gets Perfex's reference data
    (departments, statuses, ...) and, when ``seed`` is true, the demo records; an existing
    database file is used as it is.
    """

    def __init__(self, path: str = ":memory:", *, seed: bool = True) -> None:
        self._seed_demo = seed
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(path, check_same_thread=False)
        self._conn.create_function("pmp_like", 2, mysql_like, deterministic=True)
        self._conn.create_function("pmp_fold", 1, _fold_or_empty, deterministic=True)
        with self._lock, self._conn:
            for table in schema.ALL_TABLES:
                for statement in schema.create_table_sql(table):
                    self._conn.execute(statement)
                self._add_missing_columns(table)
            (count,) = self._conn.execute('SELECT COUNT(*) FROM "departments"').fetchone()
            # A new database (seeded now) rather than a file kept from an earlier run.
            self.created = count == 0
            if count == 0:
                self._load_initial_data()

    def _add_missing_columns(self, table: Table) -> None:
        """A database file from an older sandbox gets the columns added since (Perfex 3.x's)."""
        present = {row[1] for row in self._conn.execute(f'PRAGMA table_info("{table.name}")')}
        for column in table.columns:
            if column.name not in present:
                affinity = "INTEGER" if column.kind == "int" else "TEXT"
                self._conn.execute(
                    f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {affinity}'
                )
                if column.default is not None:
                    self._conn.execute(
                        f'UPDATE "{table.name}" SET "{column.name}" = ?', (column.default,)
                    )

    @property
    def version(self) -> int:
        """Changes whenever the data does: the connection's count of changed rows."""
        return self._conn.total_changes

    # lifecycle

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> SandboxStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def reset(self) -> None:
        """Wipe every record and load the initial data again (ids restart from 1)."""
        with self._lock, self._conn:
            for table in schema.ALL_TABLES:
                self._conn.execute(f'DELETE FROM "{table.name}"')
            self._conn.execute("DELETE FROM sqlite_sequence")
            self._load_initial_data()

    def _load_initial_data(self) -> None:
        for table_name, rows in seed.reference_rows().items():
            self._insert_many(_table(table_name), rows)
        if self._seed_demo:
            for table_name, rows in seed.demo_rows().items():
                self._insert_many(_table(table_name), rows)

    def _insert_many(
        self, table: Table, rows: Sequence[Row], *, canonical_already: bool = False
    ) -> None:
        """Insert rows with explicit or automatic ids; missing columns get their defaults."""
        if not rows:
            return
        names = table.column_names
        placeholders = ", ".join("?" for _ in names)
        quoted = ", ".join(f'"{name}"' for name in names)
        if canonical_already:
            defaults = [
                None if column.name == table.key else column.default for column in table.columns
            ]
            values = [
                tuple(row.get(name, default) for name, default in zip(names, defaults, strict=True))
                for row in rows
            ]
        else:
            values = [
                tuple(
                    row.get(column.name)
                    if column.name == table.key
                    else canonical(column, row.get(column.name, column.default))
                    for column in table.columns
                )
                for row in rows
            ]
        self._conn.executemany(
            f'INSERT INTO "{table.name}" ({quoted}) VALUES ({placeholders})', values
        )

    def add_bulk_customers(self, count: int) -> list[int]:
        """Add ``count`` active customers, each with one primary contact; returns their ids."""
        with self._lock, self._conn:
            # Continue after the highest id ever used: like MySQL, deleted ids are not reused.
            (last,) = self._conn.execute(
                "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'clients'), 0)"
            ).fetchone()
            customers, contacts = seed.bulk_customer_rows(int(last) + 1, count)
            self._insert_many(schema.CLIENTS, customers, canonical_already=True)
            self._insert_many(schema.CONTACTS, contacts, canonical_already=True)
        return [int(str(row["userid"])) for row in customers]

    def add_bulk_tickets(self, count: int) -> list[int]:
        """Add ``count`` tickets from the active contacts of active customers; returns ids."""
        with self._lock, self._conn:
            (last,) = self._conn.execute(
                "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'tickets'), 0)"
            ).fetchone()
            contacts = self._rows(
                'SELECT ct.id, ct.userid FROM "contacts" ct JOIN "clients" c ON c.userid = '
                "ct.userid WHERE ct.active = 1 AND c.active = 1 ORDER BY ct.id"
            )
            if not contacts:
                raise ValueError("bulk tickets need at least one active contact")
            rows = seed.bulk_ticket_rows(int(last) + 1, count, contacts)
            self._insert_many(schema.TICKETS, rows)
        return [int(str(row["ticketid"])) for row in rows]

    # low-level rows

    def _rows(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        cursor = self._conn.execute(sql, tuple(params))
        names = [description[0] for description in cursor.description]
        return [
            {
                name: None if value is None else str(value)
                for name, value in zip(names, row, strict=True)
            }
            for row in cursor.fetchall()
        ]

    def row(self, table: Table, key: str) -> Row | None:
        with self._lock:
            found = self._rows(f'SELECT * FROM "{table.name}" WHERE "{table.key}" = ?', (key,))
        return found[0] if found else None

    def all_rows(self, table: Table) -> list[Row]:
        with self._lock:
            return self._rows(f'SELECT * FROM "{table.name}" ORDER BY "{table.key}"')

    def has_wildcard_webhook(self) -> bool:
        with self._lock:
            found = self._conn.execute(
                "SELECT 1 FROM \"api_webhooks\" WHERE active = 1 AND events LIKE '%*%' LIMIT 1"
            ).fetchone()
        return found is not None

    def delete_row(self, table: Table, key: str) -> bool:
        with self._lock, self._conn:
            sql = f'DELETE FROM "{table.name}" WHERE "{table.key}" = ?'
            return self._conn.execute(sql, (key,)).rowcount > 0

    def insert(self, table: Table, values: Row) -> int:
        """Insert one row; columns left out get their defaults. Returns the new id."""
        unknown = set(values) - set(table.column_names)
        if unknown:
            raise KeyError(f"not columns of {table.name}: {sorted(unknown)}")
        with self._lock, self._conn:
            columns = [column for column in table.columns if column.name != table.key]
            stored = [
                canonical(column, values.get(column.name, column.default)) for column in columns
            ]
            quoted = ", ".join(f'"{column.name}"' for column in columns)
            placeholders = ", ".join("?" for _ in columns)
            cursor = self._conn.execute(
                f'INSERT INTO "{table.name}" ({quoted}) VALUES ({placeholders})', stored
            )
            return int(cursor.lastrowid or 0)

    def update(self, table: Table, key: str, values: Row) -> None:
        if not values:
            return
        with self._lock, self._conn:
            assignments = ", ".join(f'"{name}" = ?' for name in values)
            stored = [canonical(table.column(name), value) for name, value in values.items()]
            self._conn.execute(
                f'UPDATE "{table.name}" SET {assignments} WHERE "{table.key}" = ?',
                [*stored, key],
            )

    # tags, customer groups, project members (not returned by any endpoint)

    def tags(self, rel_type: str, rel_id: str) -> list[str]:
        with self._lock:
            return [
                str(row["name"])
                for row in self._rows(
                    'SELECT t.name FROM "taggables" tg JOIN "tags" t ON t.id = tg.tag_id '
                    "WHERE tg.rel_type = ? AND tg.rel_id = ? "
                    "ORDER BY CAST(tg.tag_order AS INTEGER), tg.id",
                    (rel_type, rel_id),
                )
            ]

    def set_tags(self, rel_type: str, rel_id: str, tags: Iterable[str]) -> None:
        with self._lock, self._conn:
            self._conn.execute(
                'DELETE FROM "taggables" WHERE rel_type = ? AND rel_id = ?', (rel_type, rel_id)
            )
            for order, name in enumerate(tags, start=1):
                found = self._conn.execute(
                    'SELECT id FROM "tags" WHERE name = ?', (name,)
                ).fetchone()
                if found is None:
                    tag_id = self._conn.execute(
                        'INSERT INTO "tags" (name) VALUES (?)', (name,)
                    ).lastrowid
                else:
                    tag_id = found[0]
                self._conn.execute(
                    'INSERT INTO "taggables" (rel_id, rel_type, tag_id, tag_order) '
                    "VALUES (?, ?, ?, ?)",
                    (rel_id, rel_type, str(tag_id), str(order)),
                )

    def customer_groups(self, customer_id: str) -> list[str]:
        with self._lock:
            return [
                str(row["groupid"])
                for row in self._rows(
                    'SELECT groupid FROM "customer_groups" WHERE customer_id = ? '
                    "ORDER BY CAST(groupid AS INTEGER)",
                    (customer_id,),
                )
            ]

    def set_customer_groups(self, customer_id: str, group_ids: Iterable[str]) -> None:
        with self._lock, self._conn:
            self._conn.execute(
                'DELETE FROM "customer_groups" WHERE customer_id = ?', (customer_id,)
            )
            for group_id in dict.fromkeys(group_ids):
                self._conn.execute(
                    'INSERT INTO "customer_groups" (groupid, customer_id) VALUES (?, ?)',
                    (canonical(schema.CUSTOMER_GROUPS.column("groupid"), group_id), customer_id),
                )

    def project_members(self, project_id: str) -> list[str]:
        with self._lock:
            return [
                str(row["staff_id"])
                for row in self._rows(
                    'SELECT staff_id FROM "project_members" WHERE project_id = ? '
                    "ORDER BY CAST(staff_id AS INTEGER)",
                    (project_id,),
                )
            ]

    def set_project_members(self, project_id: str, staff_ids: Iterable[str]) -> None:
        with self._lock, self._conn:
            self._conn.execute('DELETE FROM "project_members" WHERE project_id = ?', (project_id,))
            for staff_id in dict.fromkeys(staff_ids):
                self._conn.execute(
                    'INSERT INTO "project_members" (project_id, staff_id) VALUES (?, ?)',
                    (project_id, canonical(schema.PROJECT_MEMBERS.column("staff_id"), staff_id)),
                )

    # project settings

    def project_settings(self, project_id: str) -> dict[str, str | None]:
        """The project's settings, name -> stored value, in the order Perfex reads them."""
        with self._lock:
            rows = self._rows(
                'SELECT name, value FROM "project_settings" WHERE project_id = ? ORDER BY id',
                (project_id,),
            )
        return {str(row["name"]): row["value"] for row in rows}

    def set_project_settings(self, project_id: str, values: Mapping[str, str]) -> None:
        """Write settings by name (``UPDATE ... WHERE project_id AND name``; new names added)."""
        with self._lock, self._conn:
            for name, value in values.items():
                updated = self._conn.execute(
                    'UPDATE "project_settings" SET value = ? WHERE project_id = ? AND name = ?',
                    (value, project_id, name),
                ).rowcount
                if updated == 0:
                    self._conn.execute(
                        'INSERT INTO "project_settings" (project_id, name, value) VALUES (?, ?, ?)',
                        (project_id, name, value),
                    )

    # attachments (lead files, project files, ticket attachments)

    def files(self, kind: str, record_id: str) -> list[Record]:
        """The attachment rows of one lead, project or ticket (``kind``: leads/projects/tickets)."""
        table, column, extra = _attachment_table(kind)
        with self._lock:
            rows = self._rows(
                f'SELECT * FROM "{table.name}" WHERE "{column}" = ?{extra} '
                "ORDER BY dateadded DESC, id DESC",
                (record_id,),
            )
        return _records(rows)

    def add_file(
        self,
        kind: str,
        record_id: str,
        file_name: str,
        *,
        filetype: str = "application/pdf",
        dateadded: str | None = None,
    ) -> int:
        """Attach a file to a lead, project or ticket; returns the attachment row's id."""
        table, column, _ = _attachment_table(kind)
        values: Row = {
            column: record_id,
            "file_name": file_name,
            "filetype": filetype,
            "dateadded": dateadded or now_text(),
        }
        if kind == "leads":
            values.update(rel_type="lead", staffid="1")
        elif kind == "projects":
            values.update(original_file_name=file_name, subject=file_name, staffid="1")
        return self.insert(table, values)

    def delete_files(self, kind: str, record_id: str) -> int:
        """Remove every attachment of one lead, project or ticket; returns how many went."""
        with self._lock, self._conn:
            return self._delete_file_rows(kind, record_id)

    def _delete_file_rows(self, kind: str, record_id: str) -> int:
        table, column, extra = _attachment_table(kind)
        return self._conn.execute(
            f'DELETE FROM "{table.name}" WHERE "{column}" = ?{extra}', (record_id,)
        ).rowcount

    # contacts

    def contact_email_taken(self, email: str) -> bool:
        with self._lock:
            found = self._conn.execute(
                'SELECT 1 FROM "contacts" WHERE pmp_fold(email) = pmp_fold(?) LIMIT 1', (email,)
            ).fetchone()
        return found is not None

    def make_only_primary_contact(self, contact_id: str) -> None:
        """Perfex keeps one primary contact per customer: the others lose the flag."""
        with self._lock, self._conn:
            self._conn.execute(
                "UPDATE \"contacts\" SET is_primary = '0' WHERE id != ? AND userid = "
                '(SELECT userid FROM "contacts" WHERE id = ?)',
                (contact_id, contact_id),
            )

    def delete_contact(self, key: str) -> bool:
        with self._lock, self._conn:
            return self._conn.execute('DELETE FROM "contacts" WHERE id = ?', (key,)).rowcount > 0

    def has_invoices_or_estimates(self, customer_id: str) -> bool:
        with self._lock:
            for table in ("invoices", "estimates"):
                found = self._conn.execute(
                    f'SELECT 1 FROM "{table}" WHERE clientid = ? LIMIT 1', (customer_id,)
                ).fetchone()
                if found is not None:
                    return True
        return False

    def snapshot(self, kind: str, key: str) -> tuple[object, ...] | None:
        """Everything an update can change about a record, to tell whether it changed."""
        table = RESOURCE_TABLES[kind]
        with self._lock:
            found = self.row(table, key)
            if found is None:
                return None
            extras: tuple[object, ...] = ()
            if kind == "customers":
                extras = (tuple(self.customer_groups(key)),)
            elif kind in ("leads", "projects", "tickets"):
                extras = (tuple(self.tags(kind[:-1], key)),)
            if kind == "projects":
                extras += (
                    tuple(self.project_members(key)),
                    tuple(self.project_settings(key).items()),
                )
            return (tuple(sorted(found.items())), *extras)

    # deletes (with Perfex's cascades)

    def delete_customer(self, key: str) -> bool:
        with self._lock, self._conn:
            if self.row(schema.CLIENTS, key) is None or self.has_invoices_or_estimates(key):
                return False
            for project in self._rows('SELECT id FROM "projects" WHERE clientid = ?', (key,)):
                self._delete_project_rows(str(project["id"]))
            for ticket in self._rows('SELECT ticketid FROM "tickets" WHERE userid = ?', (key,)):
                self._delete_ticket_rows(str(ticket["ticketid"]))
            self._conn.execute('DELETE FROM "contacts" WHERE userid = ?', (key,))
            self._conn.execute('DELETE FROM "customer_groups" WHERE customer_id = ?', (key,))
            self._conn.execute(
                "UPDATE \"leads\" SET client_id = '0', date_converted = NULL WHERE client_id = ?",
                (key,),
            )
            self._conn.execute('DELETE FROM "clients" WHERE userid = ?', (key,))
            return True

    def delete_lead(self, key: str) -> bool:
        with self._lock, self._conn:
            deleted = self._conn.execute('DELETE FROM "leads" WHERE id = ?', (key,)).rowcount
            self._conn.execute(
                "DELETE FROM \"taggables\" WHERE rel_type = 'lead' AND rel_id = ?", (key,)
            )
            self._delete_file_rows("leads", key)
            return deleted > 0

    def delete_project(self, key: str) -> bool:
        with self._lock, self._conn:
            if self.row(schema.PROJECTS, key) is None:
                return False
            self._delete_project_rows(key)
            return True

    def _delete_project_rows(self, key: str) -> None:
        self._conn.execute('DELETE FROM "milestones" WHERE project_id = ?', (key,))
        self._conn.execute(
            "DELETE FROM \"tasks\" WHERE rel_type = 'project' AND rel_id = ?", (key,)
        )
        self._conn.execute('DELETE FROM "project_members" WHERE project_id = ?', (key,))
        self._conn.execute('DELETE FROM "project_settings" WHERE project_id = ?', (key,))
        self._delete_file_rows("projects", key)
        self._conn.execute(
            "DELETE FROM \"taggables\" WHERE rel_type = 'project' AND rel_id = ?", (key,)
        )
        self._conn.execute("UPDATE \"tickets\" SET project_id = '0' WHERE project_id = ?", (key,))
        self._conn.execute('DELETE FROM "projects" WHERE id = ?', (key,))

    def delete_milestone(self, key: str) -> bool:
        with self._lock, self._conn:
            deleted = self._conn.execute('DELETE FROM "milestones" WHERE id = ?', (key,)).rowcount
            self._conn.execute("UPDATE \"tasks\" SET milestone = '0' WHERE milestone = ?", (key,))
            return deleted > 0

    def delete_ticket(self, key: str) -> bool:
        with self._lock, self._conn:
            if self.row(schema.TICKETS, key) is None:
                return False
            self._delete_ticket_rows(key)
            return True

    def delete_staff(self, key: str, *, hand_to: str) -> bool:
        """Delete a staff member, handing their tickets and leads to ``hand_to`` (Perfex asks
        whom to give them to) and leaving their projects."""
        with self._lock, self._conn:
            for table in ("tickets", "leads"):
                self._conn.execute(
                    f'UPDATE "{table}" SET assigned = ? WHERE assigned = ?', (hand_to, key)
                )
            self._conn.execute('DELETE FROM "project_members" WHERE staff_id = ?', (key,))
            return self._conn.execute('DELETE FROM "staff" WHERE staffid = ?', (key,)).rowcount > 0

    def _delete_ticket_rows(self, key: str) -> None:
        self._conn.execute(
            "DELETE FROM \"taggables\" WHERE rel_type = 'ticket' AND rel_id = ?", (key,)
        )
        self._delete_file_rows("tickets", key)
        self._conn.execute('DELETE FROM "ticket_replies" WHERE ticketid = ?', (key,))
        self._conn.execute('DELETE FROM "tickets" WHERE ticketid = ?', (key,))

    # --- reads shaped like the REST module's answers ------------------------------------------

    # customers

    def customers(self) -> list[Record]:
        with self._lock:
            rows = self._rows('SELECT * FROM "clients" ORDER BY pmp_fold(company), userid')
        return [_with_customfields(row) for row in rows]

    def customer(self, key: str) -> Record | None:
        found = self.row(schema.CLIENTS, key)
        return None if found is None else _with_customfields(found)

    def search_customers(self, term: str) -> list[Record]:
        # The primary contact is joined in, so its columns (password hash included) come along;
        # where both tables have a column the customer's value is kept.
        contact_columns = ", ".join(
            f'ct."{name}" AS "{_JOINED_CONTACT}{name}"' for name in _CONTACT_ONLY_COLUMNS
        )
        sql = (
            f'SELECT c.*, {contact_columns} FROM "clients" c LEFT JOIN "contacts" ct '
            "ON ct.userid = c.userid AND ct.is_primary = '1' WHERE c.active = '1'"
        )
        params: list[object] = []
        if term:
            _search_term_breaks_sql(
                term,
                "SELECT * FROM `tblclients` WHERE tblclients.active=1 AND "
                f'(company LIKE "%{term}%" OR CONCAT(firstname, " ", lastname) LIKE "%{term}%" '
                f'OR email LIKE "%{term}%")',
                "models/Clients_model.php",
                92,
            )
            sql += (
                " AND (pmp_like(c.company, ?) OR pmp_like(ct.firstname || ' ' || ct.lastname, ?)"
                " OR pmp_like(ct.email, ?))"
            )
            params = [f"%{term}%"] * 3
        with self._lock:
            rows = self._rows(sql + " ORDER BY pmp_fold(c.company), c.userid", params)
        return [
            _with_customfields(
                {name.removeprefix(_JOINED_CONTACT): value for name, value in row.items()}
            )
            for row in rows
        ]

    # contacts

    def customer_contacts(self, customer_id: str) -> list[Record]:
        with self._lock:
            rows = self._rows(
                "SELECT * FROM \"contacts\" WHERE userid = ? AND active = '1' "
                "ORDER BY CAST(is_primary AS INTEGER) DESC, id",
                (customer_id,),
            )
        return [_with_customfields(row) for row in rows]

    def contact(self, key: str) -> Record | None:
        found = self.row(schema.CONTACTS, key)
        return None if found is None else _with_customfields(found)

    def search_contacts(self, term: str) -> list[Record]:
        sql = (
            'SELECT ct.id AS contact_key, ct.userid AS customer_key FROM "contacts" ct '
            "LEFT JOIN \"clients\" c ON ct.userid = c.userid WHERE c.active = '1'"
        )
        params: list[object] = []
        if term:
            pattern = f"%{escape_like(term)}%"
            sql += (
                " AND (pmp_like(c.company, ?) OR pmp_like(ct.firstname || ' ' || ct.lastname, ?)"
                " OR pmp_like(ct.email, ?))"
            )
            params = [pattern] * 3
        with self._lock:
            found = self._rows(sql + " ORDER BY CAST(ct.is_primary AS INTEGER) DESC, ct.id", params)
            records: list[Record] = []
            for hit in found:
                contact = self.row(schema.CONTACTS, str(hit["contact_key"]))
                client = self.row(schema.CLIENTS, str(hit["customer_key"]))
                if contact is None:
                    continue
                merged: Record = {"id": contact["id"]}
                merged.update(client or dict.fromkeys(schema.CLIENTS.column_names))
                merged.update(contact)
                records.append(_with_customfields(merged))
        return records

    # leads

    def _lead_with_labels(self, lead: Row) -> Record:
        status = self.row(schema.LEADS_STATUS, str(lead["status"])) or dict.fromkeys(
            schema.LEADS_STATUS.column_names
        )
        source = self.row(schema.LEADS_SOURCES, str(lead["source"])) or dict.fromkeys(
            schema.LEADS_SOURCES.column_names
        )
        merged: Record = dict(lead)
        merged.update(status)
        merged.update(source)
        merged["name"] = lead["name"]
        merged["id"] = lead["id"]
        merged["status_name"] = status["name"]
        merged["source_name"] = source["name"]
        return merged

    def leads(self) -> list[Record]:
        with self._lock:
            return [
                _with_customfields(self._lead_with_labels(lead))
                for lead in self._rows('SELECT * FROM "leads" ORDER BY id')
            ]

    def lead(self, key: str, *, site_url: str) -> Record | None:
        with self._lock:
            found = self.row(schema.LEADS, key)
            if found is None:
                return None
            record = self._lead_with_labels(found)
        attachments: list[PhpValue] = list(self.files("leads", key))
        record["attachments"] = attachments
        record["public_url"] = f"{site_url}/forms/l/{found['hash']}"
        return _with_customfields(record)

    def search_leads(self, term: str) -> list[Record]:
        sql = 'SELECT * FROM "leads" WHERE CAST(client_id AS INTEGER) < 1'
        params: list[object] = []
        if term.startswith("#"):
            sql += " AND id " + _TAGGED
            params = ["lead", term[1:]]
        elif term:
            _search_term_breaks_sql(
                term,
                f'SELECT `tblleads`.* FROM `tblleads` WHERE (name LIKE "%{term}%" OR title LIKE '
                f'"%{term}%" OR company LIKE "%{term}%") AND client_id < 1 ORDER BY name ASC',
                "modules/api/models/Api_model.php",
                372,
            )
            fields = ("name", "title", "company", "zip", "city", "state", "address", "email")
            sql += " AND (" + " OR ".join(f"pmp_like({field}, ?)" for field in fields)
            sql += " OR pmp_like(phonenumber, ?))"
            params = [f"%{term}%"] * (len(fields) + 1)
        with self._lock:
            rows = self._rows(sql + " ORDER BY pmp_fold(name), id", params)
        return [_with_customfields(row) for row in rows]

    # projects

    def projects(self) -> list[Record]:
        with self._lock:
            records: list[Record] = []
            for project in self._rows('SELECT * FROM "projects" ORDER BY id DESC'):
                client = self.row(schema.CLIENTS, str(project["clientid"]))
                if client is None:
                    continue  # the module inner-joins the customer
                merged: Record = dict(project)
                merged.update(client)
                records.append(_with_customfields(merged))
        return records

    def project(self, key: str) -> Record | None:
        with self._lock:
            found = self.row(schema.PROJECTS, key)
            if found is None:
                return None
            client = self.row(schema.CLIENTS, str(found["clientid"]))
            settings: Record = dict(self.project_settings(key))
        record: Record = dict(found)
        record["shared_vault_entries"] = []
        record["settings"] = settings
        record["client_data"] = dict(client) if client is not None else None
        return _with_customfields(record)

    def search_projects(self, term: str) -> list[Record]:
        sql = 'SELECT p.* FROM "projects" p LEFT JOIN "clients" c ON c.userid = p.clientid'
        params: list[object] = []
        if term.startswith("#"):
            sql += " WHERE p.id " + _TAGGED
            params = ["project", term[1:]]
        elif term:
            _search_term_breaks_sql(
                term,
                f"SELECT `tblprojects`.* FROM `tblprojects` WHERE (tblprojects.description LIKE "
                f'"%{term}%" OR tblprojects.name LIKE "%{term}%") ORDER BY tblprojects.name ASC',
                "modules/api/models/Api_model.php",
                531,
            )
            sql += (
                " WHERE (pmp_like(p.name, ?) OR pmp_like(p.description, ?)"
                " OR pmp_like(c.company, ?))"
            )
            params = [f"%{term}%"] * 3
        with self._lock:
            rows = self._rows(sql + " ORDER BY pmp_fold(p.name), p.id", params)
        return [_with_customfields(row) for row in rows]

    # milestones

    _MILESTONES_SQL = (
        'SELECT m.*, (SELECT COUNT(t.id) FROM "tasks" t WHERE t.milestone = m.id) AS total_tasks, '
        "(SELECT COUNT(t.id) FROM \"tasks\" t WHERE t.rel_type = 'project' AND t.milestone = m.id "
        "AND t.status = '5') AS total_finished_tasks FROM \"milestones\" m"
    )
    _MILESTONES_ORDER = " ORDER BY CAST(m.milestone_order AS INTEGER), m.id"

    def milestones(self) -> list[Record]:
        with self._lock:
            return _records(self._rows(self._MILESTONES_SQL + self._MILESTONES_ORDER))

    def milestone(self, key: str) -> list[Record]:
        """The module answers one milestone as a list holding it."""
        with self._lock:
            sql = self._MILESTONES_SQL + " WHERE m.id = ?" + self._MILESTONES_ORDER
            return _records(self._rows(sql, (key,)))

    def search_milestones(self, term: str) -> list[Record]:
        sql = self._MILESTONES_SQL
        params: list[object] = []
        if term:
            _search_term_breaks_sql(
                term,
                f'SELECT * FROM `tblmilestones` WHERE (name LIKE "%{term}%" OR id LIKE "%{term}%") '
                "ORDER BY milestone_order ASC",
                "modules/api/models/Api_model.php",
                945,
            )
            sql += " WHERE (pmp_like(m.name, ?) OR pmp_like(m.id, ?))"
            params = [f"%{term}%"] * 2
        with self._lock:
            return _records(self._rows(sql + self._MILESTONES_ORDER, params))

    # ticket replies

    def add_ticket_reply(
        self, ticket_id: str, reply: Row, status: str, *, customer: bool, cc: str = ""
    ) -> tuple[int, str]:
        """``Tickets_model::add_reply`` once the reply row is ready: insert it, then stamp the
        ticket (last reply now, unread for both sides, ``status``; a customer's reply leaves
        an "In progress" ticket as it is). Returns the reply id and the ticket's old status."""
        with self._lock, self._conn:
            found = self.row(schema.TICKETS, ticket_id)
            if found is None:
                raise KeyError(ticket_id)
            old_status = found["status"] or "0"
            reply_id = self.insert(schema.TICKET_REPLIES, {**reply, "ticketid": ticket_id})
            new_status = old_status if customer and old_status == "2" else status
            changes: Row = {
                "lastreply": reply.get("date") or now_text(),
                "status": new_status,
                "adminread": "0",
                "clientread": "0",
            }
            if cc:
                changes["cc"] = cc
            self.update(schema.TICKETS, ticket_id, changes)
        return reply_id, old_status

    def ticket_replies(self, ticket_id: str) -> list[Record]:
        """``Tickets_model::get_ticket_replies``, oldest first, with who wrote each."""
        with self._lock:
            rows = self._rows(
                "SELECT r.id, r.name AS from_name, r.email AS reply_email, r.admin, r.userid, "
                "s.firstname AS staff_firstname, s.lastname AS staff_lastname, "
                "c.firstname AS user_firstname, c.lastname AS user_lastname, r.message, r.date, "
                'r.contactid FROM "ticket_replies" r '
                'LEFT JOIN "staff" s ON s.staffid = r.admin '
                'LEFT JOIN "contacts" c ON c.id = r.contactid '
                "WHERE r.ticketid = ? ORDER BY r.date, r.id",
                (ticket_id,),
            )
        records: list[Record] = []
        for row in rows:
            record: Record = dict(row)
            if row["admin"] not in (None, "0"):
                record["submitter"] = f"{row['staff_firstname']} {row['staff_lastname']}"
            elif row["contactid"] not in (None, "0"):
                record["submitter"] = f"{row['user_firstname']} {row['user_lastname']}"
            else:
                record["submitter"] = row["from_name"]
            for name in ("staff_firstname", "staff_lastname", "user_firstname", "user_lastname"):
                del record[name]
            record["attachments"] = []
            records.append(record)
        return records

    # staff

    def staff_list(self) -> list[Record]:
        """``Api_model::get_table('staffs')``: every row of ``tblstaff``, password hash included."""
        with self._lock:
            rows = self._rows('SELECT * FROM "staff" ORDER BY staffid')
        return [_with_customfields(row) for row in rows]

    def staff(self, key: str) -> Record | None:
        found = self.row(schema.STAFF, key)
        return None if found is None else _with_customfields(found)

    def search_staff(self, term: str) -> list[Record]:
        """``Api_model::search('staff', ...)``: names, full name, e-mail and phone, any staff
        member (inactive ones too), by first name."""
        sql = 'SELECT * FROM "staff"'
        params: list[object] = []
        if term:
            _search_term_breaks_sql(
                term,
                f'SELECT * FROM `tblstaff` WHERE (firstname LIKE "%{term}%" OR lastname LIKE '
                f'"%{term}%" OR CONCAT(firstname, \' \', lastname) LIKE "%{term}%" OR email LIKE '
                f'"%{term}%" OR phonenumber LIKE "%{term}%") ORDER BY firstname ASC',
                "modules/api/models/Api_model.php",
                118,
            )
            full_name = "firstname || ' ' || lastname"
            columns = ("firstname", "lastname", full_name, "email", "phonenumber")
            sql += " WHERE (" + " OR ".join(f"pmp_like({column}, ?)" for column in columns) + ")"
            params = [f"%{term}%"] * len(columns)
        with self._lock:
            rows = self._rows(sql + " ORDER BY pmp_fold(firstname), staffid", params)
        return [_with_customfields(row) for row in rows]

    # tickets

    def _joined(self, table: Table, key: str | None) -> Row:
        found = self.row(table, key) if key is not None else None
        return found if found is not None else dict.fromkeys(table.column_names)

    def _ticket_record(self, ticket: Row, joined: Sequence[Row] | None = None) -> Record:
        """``Tickets_model::get``: ``SELECT *`` over seven joins, then explicit aliases.
        ``joined``: the seven joined rows when one query already read them."""
        if joined is None:
            joined = [self._joined(table, ticket[column]) for table, column in _TICKET_JOINS]
        department, status, service, client, contact, staff, priority = joined
        record: Record = dict(ticket)
        for part in (department, status, service, client, contact, staff, priority):
            record.update(part)
        record.update(
            {
                "userid": ticket["userid"],
                "from_name": ticket["name"],
                "ticket_email": ticket["email"],
                "department_name": department["name"],
                "priority_name": priority["name"],
                "statuscolor": status["statuscolor"],
                "admin": ticket["admin"],
                "service_name": service["name"],
                "service": ticket["service"],
                "status_name": status["name"],
                "ticketid": ticket["ticketid"],
                "user_firstname": contact["firstname"],
                "user_lastname": contact["lastname"],
                "staff_firstname": staff["firstname"],
                "staff_lastname": staff["lastname"],
                "lastreply": ticket["lastreply"],
                "message": ticket["message"],
                "status": ticket["status"],
                "subject": ticket["subject"],
                "department": ticket["department"],
                "priority": ticket["priority"],
                "email": contact["email"],
                "adminread": ticket["adminread"],
                "clientread": ticket["clientread"],
                "date": ticket["date"],
            }
        )
        # Seen on a real PMP: the rows carry the department's IMAP login, password included.
        for name in ("host", "imap_username", "password", "encryption", "folder"):
            record[name] = department[name]
        return record

    def tickets(self) -> list[Record]:
        with self._lock:
            rows = self._joined_rows(
                "tickets",
                schema.TICKETS,
                _TICKET_JOINS,
                " ORDER BY t.lastreply IS NOT NULL, t.lastreply, t.ticketid",
            )
        return [self._ticket_record(ticket, joined) for ticket, joined in rows]

    def _joined_rows(
        self,
        base: str,
        table: Table,
        joins: Sequence[tuple[Table, str]],
        tail: str,
        params: Sequence[object] = (),
    ) -> list[tuple[Row, list[Row]]]:
        """Rows of ``table`` (alias ``t``) each with its LEFT JOINed rows (``table.key`` =
        the base row's column), read in one query; a missing joined row is all NULLs."""
        columns = [f't."{name}"' for name in table.column_names]
        sql_joins = []
        for index, (joined, column) in enumerate(joins):
            alias = f"j{index}"
            columns += [f'{alias}."{name}"' for name in joined.column_names]
            sql_joins.append(
                f'LEFT JOIN "{joined.name}" {alias} ON {alias}."{joined.key}" = t."{column}"'
            )
        sql = f'SELECT {", ".join(columns)} FROM "{base}" t {" ".join(sql_joins)}{tail}'
        found: list[tuple[Row, list[Row]]] = []
        widths = [len(table.column_names), *(len(joined.column_names) for joined, _ in joins)]
        names = [table.column_names, *(joined.column_names for joined, _ in joins)]
        for values in self._conn.execute(sql, tuple(params)):
            texts = [None if value is None else str(value) for value in values]
            parts: list[Row] = []
            start = 0
            for width, part_names in zip(widths, names, strict=True):
                parts.append(dict(zip(part_names, texts[start : start + width], strict=True)))
                start += width
            found.append((parts[0], parts[1:]))
        return found

    def ticket(self, key: str) -> Record | None:
        with self._lock:
            found = self.row(schema.TICKETS, key)
            return None if found is None else self._ticket_record(found)

    def search_tickets(self, term: str) -> list[Record]:
        sql = (
            'SELECT t.ticketid FROM "tickets" t '
            'JOIN "departments" d ON d.departmentid = t.department '
            'LEFT JOIN "clients" c ON c.userid = t.userid '
            'LEFT JOIN "contacts" ct ON ct.id = t.contactid'
        )
        params: list[object] = []
        if term.startswith("#"):
            sql += " WHERE t.ticketid " + _TAGGED
            params = ["ticket", term[1:]]
        elif term:
            _search_term_breaks_sql(
                term,
                "SELECT * FROM `tbltickets` JOIN `tbldepartments` "
                "ON `tbldepartments`.`departmentid` = `tbltickets`.`department` "
                f'WHERE (ticketid LIKE "{term}%" OR subject LIKE "%{term}%" '
                f'OR message LIKE "%{term}%") ORDER BY `ticketid` DESC',
                "modules/api/models/Api_model.php",
                339,
            )
            columns = (
                "t.subject",
                "t.message",
                "ct.email",
                "ct.firstname || ' ' || ct.lastname",
                "c.company",
                "c.vat",
                "ct.phonenumber",
                "c.phonenumber",
                "c.city",
                "c.state",
                "c.address",
                "d.name",
            )
            sql += " WHERE (pmp_like(t.ticketid, ?) OR "
            sql += " OR ".join(f"pmp_like({column}, ?)" for column in columns) + ")"
            params = [f"{term}%", *([f"%{term}%"] * len(columns))]
        with self._lock:
            hits = [
                str(hit["ticketid"])
                for hit in self._rows(sql + " ORDER BY t.ticketid DESC", params)
            ]
            found: dict[str, tuple[Row, list[Row]]] = {}
            for start in range(0, len(hits), 500):  # SQLite's limit on parameters
                chunk = hits[start : start + 500]
                marks = ", ".join("?" for _ in chunk)
                for ticket, joined in self._joined_rows(
                    "tickets",
                    schema.TICKETS,
                    _TICKET_SEARCH_JOINS,
                    f" WHERE t.ticketid IN ({marks})",
                    chunk,
                ):
                    found[str(ticket["ticketid"])] = (ticket, joined)
        records: list[Record] = []
        for key in hits:
            if key not in found:
                continue
            ticket, joined = found[key]
            record: Record = dict(ticket)
            for part in joined:
                record.update(part)
            records.append(_with_customfields(record))
        return records


_JOINED_CONTACT = "pmp_contact__"
# Tickets_model::get's joins, in its order: (table, the ticket column it is joined on).
_TICKET_JOINS: tuple[tuple[Table, str], ...] = (
    (schema.DEPARTMENTS, "department"),
    (schema.TICKETS_STATUS, "status"),
    (schema.SERVICES, "service"),
    (schema.CLIENTS, "userid"),
    (schema.CONTACTS, "contactid"),
    (schema.STAFF, "admin"),
    (schema.TICKETS_PRIORITIES, "priority"),
)
# The ticket search's joins.
_TICKET_SEARCH_JOINS: tuple[tuple[Table, str], ...] = (
    (schema.DEPARTMENTS, "department"),
    (schema.CLIENTS, "userid"),
    (schema.CONTACTS, "contactid"),
)
_CONTACT_ONLY_COLUMNS = tuple(
    name for name in schema.CONTACTS.column_names if name not in schema.CLIENTS.column_names
)


def _attachment_table(kind: str) -> tuple[Table, str, str]:
    if kind not in _ATTACHMENTS:
        raise KeyError(f"no attachments for {kind!r}; kinds: {', '.join(ATTACHMENT_KINDS)}")
    return _ATTACHMENTS[kind]


def _table(name: str) -> Table:
    for table in schema.ALL_TABLES:
        if table.name == name:
            return table
    raise KeyError(name)


def _fold_or_empty(value: object) -> str:
    return "" if value is None else fold(str(value))


def _records(rows: list[Row]) -> list[Record]:
    return [dict(row) for row in rows]


def _with_customfields(row: Row | Record) -> Record:
    """The module appends the record's custom fields; the sandbox defines none."""
    record: Record = dict(row)
    record["customfields"] = []
    return record


__all__ = [
    "ATTACHMENT_KINDS",
    "PROJECT_SETTINGS_DEFAULTS",
    "PROJECT_TABS",
    "RESOURCE_TABLES",
    "PmpDatabaseError",
    "Record",
    "Row",
    "SandboxStore",
    "canonical",
    "escape_like",
    "fold",
    "mysql_like",
    "now_text",
    "today_text",
]
