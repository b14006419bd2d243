"""Block Kit for a page of search results: a count line, one compact row per record (title
linking to PMP, a one-line summary, a "Show" button for the full card) and Previous / Next
buttons carrying the page state. Pure: the records in, a `Message` out."""

from __future__ import annotations

import functools
import html
import json
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.blocks.cards import (
    BUTTON_VALUE_MAX,
    CARD_KINDS,
    KIND_EMOJI,
    KIND_LABELS,
    Message,
    card_url,
    format_date,
    format_moment,
    id_text,
    one_line,
    record_link,
    ref_of,
)
from bot.blocks.ids import CardAction
from bot.grammar import SLASH_COMMAND
from bot.names import NameBook, country_name
from bot.pmp.links import RecordKind
from bot.pmp.models import Customer, Lead, Milestone, PmpRecord, Project, Ticket
from bot.text import safe

__all__ = ["DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "PageState", "build_results"]

DEFAULT_PAGE_SIZE = 5
# A message holds 50 blocks: a count line, the rows, a page line and the buttons.
MAX_PAGE_SIZE = 20
ROW_TITLE_MAX = 200
ROW_SUMMARY_MAX = 300
QUERY_SHOWN_MAX = 100

_PLURALS: dict[RecordKind, str] = {
    "customer": "customers",
    "lead": "leads",
    "project": "projects",
    "milestone": "milestones",
    "ticket": "tickets",
}
# What PMP's search looks at (docs/pmp-api-behaviour.md), so an empty page can say why.
_NO_MATCH_HINTS: dict[RecordKind, str] = {
    "customer": (
        "Customer search looks at company names and the primary contact's name and email. "
        "Try part of a name, or a shorter word."
    ),
    "lead": "Lead search skips leads already converted to customers. Try part of a name.",
    "project": "Try part of the project's name, or a shorter word.",
    "milestone": "Milestone search looks at names and ids. Try part of the name.",
    "ticket": "Try a word from the subject, or a shorter word.",
}


# Fields PMP's search looks at besides the ones a row shows (docs/pmp-api-behaviour.md), and
# what a row calls them: a row found by one of these says so, or it would look like a mistake.
_MATCHABLE_FIELDS: dict[RecordKind, tuple[tuple[str, str], ...]] = {
    "customer": (
        ("vat", "VAT number"),
        ("phonenumber", "phone"),
        ("website", "website"),
        ("address", "address"),
        ("city", "city"),
        ("state", "state"),
        ("zip", "postcode"),
    ),
    "lead": (
        ("company", "company"),
        ("title", "position"),
        ("email", "email"),
        ("phonenumber", "phone"),
        ("address", "address"),
        ("city", "city"),
        ("state", "state"),
        ("zip", "postcode"),
        ("website", "website"),
    ),
    "project": (("description", "description"), ("company", "customer")),
    "milestone": (("description", "description"), ("id", "number")),
    "ticket": (
        ("message", "message"),
        ("email", "email"),
        ("ticket_email", "email"),
        ("from_name", "from"),
        ("user_firstname", "contact"),
        ("user_lastname", "contact"),
        ("company", "customer"),
    ),
}
# What PMP matched when nothing the row or its record holds does: customer search also looks
# at the primary contact, whom a customer row doesn't carry.
_UNSEEN_MATCHES: dict[RecordKind, str] = {"customer": "a contact's name or email"}
MATCH_SHOWN_MAX = 120
_TAG = re.compile(r"<[^<>]*>")


@dataclass(frozen=True, slots=True)
class PageState:
    """Which page of which search: carried in the Previous / Next buttons. `cache_key` names
    results kept by the caller; `query` lets it search again when there is none."""

    kind: RecordKind
    page: int
    query: str | None = None
    cache_key: str | None = None
    page_size: int = DEFAULT_PAGE_SIZE

    def to_value(self) -> str:
        """Compact JSON under Slack's 2000-character button value limit; a very long query is
        cut to fit (PMP could not search for it whole anyway)."""
        data: dict[str, Any] = {"k": self.kind, "p": self.page, "n": self.page_size}
        if self.cache_key is not None:
            data["c"] = self.cache_key
        encoded = _compact(data)
        if len(encoded) > BUTTON_VALUE_MAX:
            raise ValueError("the cache key is too long for a button value")
        if self.query is not None:
            query = self.query
            while True:
                encoded = _compact({**data, "q": query})
                if len(encoded) <= BUTTON_VALUE_MAX:
                    break
                query = query[: len(query) - (len(encoded) - BUTTON_VALUE_MAX)]
        return encoded

    @classmethod
    def parse(cls, value: str) -> PageState:
        """The state in a button value; ValueError when it isn't one of ours."""
        try:
            data = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError("not a results page value") from exc
        if not isinstance(data, dict):
            raise ValueError("not a results page value")
        kind = data.get("k")
        if kind not in CARD_KINDS:
            raise ValueError("unknown record kind in a results page value")
        return cls(
            kind=CARD_KINDS[CARD_KINDS.index(kind)],
            page=_positive(data.get("p")),
            query=_text_or_none(data.get("q")),
            cache_key=_text_or_none(data.get("c")),
            page_size=_positive(data.get("n", DEFAULT_PAGE_SIZE)),
        )


def _positive(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError("bad page number in a results page value")
    return value


def _text_or_none(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError("bad text in a results page value")
    return value


def _compact(data: Mapping[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _count(total: int, kind: RecordKind) -> str:
    noun = KIND_LABELS[kind].lower() if total == 1 else _PLURALS[kind]
    return f"{total:,} {noun}"


def _quoted(query: str) -> str:
    return f"“{safe(one_line(query), QUERY_SHOWN_MAX)}”"


def _headline(
    total: int, kind: RecordKind, query: str | None, scope: str | None, *, bold: str = "*"
) -> str:
    """`12 customers match “acme”`, `1 milestone in *Website*`, or `3 tickets`."""
    counted = _count(total, kind)
    if query and query.strip():
        verb = "matches" if total == 1 else "match"
        return f"{counted} {verb} {_quoted(query)}"
    if scope and scope.strip():
        return f"{counted} in {bold}{safe(one_line(scope), QUERY_SHOWN_MAX)}{bold}"
    return counted


def _no_results(kind: RecordKind, query: str | None, scope: str | None) -> list[Block]:
    plural = _PLURALS[kind]
    if query and query.strip():
        line = f":mag: No {plural} match {_quoted(query)}."
        hint = _NO_MATCH_HINTS[kind]
    elif scope and scope.strip():
        line = f":mag: No {plural} in *{safe(one_line(scope), QUERY_SHOWN_MAX)}* yet."
        hint = f"`{SLASH_COMMAND} help` shows how to add one."
    else:
        line = f":mag: No {plural} found."
        hint = f"`{SLASH_COMMAND} help` shows what you can search for."
    return [
        SectionBlock(text=MarkdownTextObject(text=line)),
        ContextBlock(elements=[MarkdownTextObject(text=hint)]),
    ]


def _joined(parts: Sequence[str | None]) -> str:
    return " · ".join(one_line(part) for part in parts if part and part.strip())


def _summary(
    record: PmpRecord,
    names: NameBook,
    customer_names: Mapping[int, str],
    project_names: Mapping[int, str],
) -> str:
    """One line about the record; not yet escaped."""
    if isinstance(record, Customer):
        place = ", ".join(
            part for part in (one_line(record.city or ""), country_name(record.country)) if part
        )
        return _joined([place, record.phonenumber, "inactive" if record.active is False else None])
    if isinstance(record, Lead):
        company = record.company if record.company != record.display_name else None
        assignee = names.staff_member(record.assigned)
        return _joined(
            [
                company,
                _labelled(names.lead_status(record), record.status, "status"),
                _labelled(names.lead_source(record), record.source, "source"),
                f"assigned to {assignee}" if assignee else None,
            ]
        )
    if isinstance(record, Project):
        deadline = format_date(record.deadline)
        return _joined(
            [
                _named(record.clientid, customer_names),
                names.project_status(record),
                f"deadline {deadline}" if deadline else None,
                None if record.progress is None else f"{record.progress}%",
            ]
        )
    if isinstance(record, Milestone):
        due = format_date(record.due_date)
        tasks = None
        if record.total_tasks:
            tasks = f"{record.total_finished_tasks or 0} of {record.total_tasks} tasks finished"
        # Two milestones called "Launch" differ by their project: named, or at least numbered.
        project = _named(record.project_id, project_names) or _labelled(
            None, record.project_id, "project"
        )
        return _joined([project, f"due {due}" if due else None, tasks])
    if isinstance(record, Ticket):
        reply = format_moment(record.lastreply)
        department = names.ticket_department(record)
        if department == f"#{record.department}":
            # A bare "#1" among the other values of one line would read as the ticket's id.
            department = None
        return _joined(
            [
                id_text(record.id),
                names.ticket_status(record),
                names.ticket_priority(record),
                department,
                f"last reply {reply}" if reply else None,
            ]
        )
    return ""


def _named(record_id: int | None, known: Mapping[int, str]) -> str | None:
    if record_id is None or record_id <= 0:
        return None
    return known.get(record_id)


def _labelled(name: str | None, record_id: int | None, label: str) -> str | None:
    """A name, or for an id nobody named "status #5": a bare "#5" beside the record's other
    values would read as the record's own number."""
    if record_id is None or record_id <= 0:
        return name
    if name is None or name == f"#{record_id}":
        return f"{label} {id_text(record_id)}"
    return name


def _fold(text: str) -> tuple[str, list[int]]:
    """`text` compared as PMP's MySQL collation does (case and accents ignored), with the
    position in `text` of each folded character."""
    if text.isascii():  # most of PMP's text: nothing to decompose, and casefold is lower
        return text.lower(), list(range(len(text)))
    folded: list[str] = []
    positions: list[int] = []
    for index, char in enumerate(text):
        for part in _fold_char(char):
            folded.append(part)
            positions.append(index)
    return "".join(folded), positions


@functools.lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    """One character as PMP's collation compares it (kept: a text repeats its letters)."""
    if char.isascii():
        return char.lower()
    decomposed = unicodedata.normalize("NFKD", char)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _plain(value: Any) -> str:
    """A field's value as a reader sees it: no HTML tags or entities, one line."""
    if value is None or isinstance(value, dict | list):
        return ""
    return one_line(html.unescape(_TAG.sub(" ", str(value))))


def _excerpt(text: str, needle: str) -> str | None:
    """The part of `text` around `needle` (both as typed), or None when it isn't in it."""
    folded, positions = _fold(text)
    at = folded.find(needle)
    if at < 0:
        return None
    if len(text) <= MATCH_SHOWN_MAX:
        return text
    start = positions[at]
    end = positions[min(at + len(needle), len(positions)) - 1] + 1
    room = max(MATCH_SHOWN_MAX - (end - start), 0) // 2
    first, last = max(start - room, 0), min(end + room, len(text))
    return ("…" if first > 0 else "") + text[first:last].strip() + ("…" if last < len(text) else "")


def _match_line(kind: RecordKind, record: PmpRecord, query: str | None, shown: str) -> str | None:
    """Where PMP found `query` in a record when the row doesn't show it (`city: Lisbon`);
    not yet escaped. None when the row shows it, or for a tag search (`#vip`)."""
    if not query or not query.strip() or query.startswith("#"):
        return None
    needle, _ = _fold(" ".join(query.split()))
    if needle in _fold(shown)[0]:
        return None
    for key, label in _MATCHABLE_FIELDS[kind]:
        excerpt = _excerpt(_plain(record.raw.get(key)), needle)
        if excerpt:
            return f"Found in {label}: {excerpt}"
    unseen = _UNSEEN_MATCHES.get(kind)
    return f"Found in {unseen}" if unseen else None


def _row(
    record: PmpRecord,
    *,
    base_url: str,
    query: str | None,
    names: NameBook,
    customer_names: Mapping[int, str],
    project_names: Mapping[int, str],
) -> SectionBlock:
    ref = ref_of(record)
    title = safe(one_line(record.display_name), ROW_TITLE_MAX) or id_text(record.id)
    lines = [f"{KIND_EMOJI[ref.kind]} {record_link(card_url(base_url, ref), title)}"]
    summary = _summary(record, names, customer_names, project_names)
    if summary:
        lines.append(safe(summary, ROW_SUMMARY_MAX))
    found = _match_line(ref.kind, record, query, f"{record.display_name} {summary}")
    if found:
        lines.append(safe(found, ROW_SUMMARY_MAX))
    value = ref.to_value()
    show = (
        ButtonElement(text="Show", action_id=CardAction.SHOW, value=value)
        if len(value) <= BUTTON_VALUE_MAX
        else None
    )
    return SectionBlock(text=MarkdownTextObject(text="\n".join(lines)), accessory=show)


def build_results(
    kind: RecordKind,
    records: Sequence[PmpRecord],
    *,
    base_url: str,
    query: str | None = None,
    scope: str | None = None,
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
    cache_key: str | None = None,
    names: NameBook | None = None,
    customer_names: Mapping[int, str] | None = None,
    project_names: Mapping[int, str] | None = None,
) -> Message:
    """One page (1-based, clamped to the pages there are) of `records`, all the results of a
    search for `query` (or a listing within `scope`, e.g. a project's name for its
    milestones). `customer_names` / `project_names` name the customers of projects and the
    projects of milestones when the caller knows them."""
    names = names or NameBook()
    page_size = min(max(page_size, 1), MAX_PAGE_SIZE)
    total = len(records)
    if total == 0:
        plural = _PLURALS[kind]
        fallback = f"No {plural} match {_quoted(query)}" if query else f"No {plural} found"
        return Message(text=fallback, blocks=_no_results(kind, query, scope))

    pages = math.ceil(total / page_size)
    page = min(max(page, 1), pages)
    first = (page - 1) * page_size
    shown = records[first : first + page_size]

    headline = _headline(total, kind, query, scope)
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=headline))]
    for record in shown:
        blocks.append(
            _row(
                record,
                base_url=base_url,
                query=query,
                names=names,
                customer_names=customer_names or {},
                project_names=project_names or {},
            )
        )
    if pages > 1:
        where = f"Page {page:,} of {pages:,} · {first + 1:,}-{first + len(shown):,} of {total:,}"
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=where)]))
        state = PageState(
            kind=kind,
            page=page,
            query=query,
            cache_key=cache_key,
            page_size=page_size,
        )
        buttons: list[ButtonElement] = []
        if page > 1:
            buttons.append(
                ButtonElement(
                    text="Previous",
                    action_id=CardAction.RESULTS_PREVIOUS,
                    value=replace(state, page=page - 1).to_value(),
                )
            )
        if page < pages:
            buttons.append(
                ButtonElement(
                    text="Next",
                    action_id=CardAction.RESULTS_NEXT,
                    value=replace(state, page=page + 1).to_value(),
                )
            )
        blocks.append(ActionsBlock(elements=buttons))
    return Message(text=_headline(total, kind, query, scope, bold=""), blocks=blocks)
