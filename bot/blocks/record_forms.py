"""Block Kit for adding, changing and deleting records: the record modals, their loading,
done and problem views, and the messages of a delete.

Every builder is pure. Text from PMP or typed by users is escaped for mrkdwn and cut to
Slack's limits.
"""

from __future__ import annotations

import re

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.blocks.cards import KIND_LABELS, CardRef, Message, card_url, id_text, record_link
from bot.blocks.connect import build_admins_only
from bot.blocks.ids import RecordForm
from bot.forms.fields import build_inputs
from bot.forms.submission import WriteOutcome
from bot.pmp.links import RecordKind
from bot.record_forms import ADDED, UNCHANGED, RecordFormContent
from bot.text import escape_mrkdwn, safe, truncate

__all__ = [
    "build_delete_cancelled",
    "build_delete_failed",
    "build_delete_prompt",
    "build_delete_refused",
    "build_deleted",
    "build_done_view",
    "build_form_problem_view",
    "build_loading_modal",
    "build_record_modal",
]

MODAL_TEXT_MAX = 24
LABEL_MAX = 150
SECTION_MAX = 3000
CONFIRM_TEXT_MAX = 300
_SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,30}")


_LABELS: dict[str, str] = {str(kind): label for kind, label in KIND_LABELS.items()}


def _noun(kind: str) -> str:
    return _LABELS.get(kind, kind).lower()


def _title(text: str) -> PlainTextObject:
    return PlainTextObject(text=truncate(text, MODAL_TEXT_MAX))


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_MAX)))


def _message_view(title: str, text: str) -> View:
    return View(type="modal", title=_title(title), close=_title("Close"), blocks=[_section(text)])


def build_loading_modal(kind: RecordKind, record_id: int) -> View:
    """Shown at once while the record is read from PMP."""
    noun = _noun(kind)
    return _message_view(
        f"Edit {noun}",
        f":hourglass_flowing_sand: Reading {noun} {id_text(record_id)} from PMP…",
    )


def build_form_problem_view(kind: RecordKind | None, problem: str) -> View:
    """In place of a form that couldn't be filled in or read."""
    title = f"Edit {_noun(kind)}" if kind else "PMP"
    return _message_view(title, f":warning: {safe(problem, 2500)}")


def build_record_modal(content: RecordFormContent, *, problem: str | None = None) -> View:
    """A record's modal: new or edit, pre-filled from `content.values`. `problem` says why
    the last save failed (the form then shows what the user typed)."""
    plan = content.plan
    noun = _noun(plan.kind)
    blocks: list[Block] = []
    if problem:
        blocks.append(
            _section(
                f":warning: {safe(problem, 2000)} Your entries are kept: check them and save again."
            )
        )
    if plan.editing and plan.label:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=f"{KIND_LABELS[plan.kind]} {id_text(plan.record_id or 0)}: "
                        f"*{safe(plan.label, LABEL_MAX)}*"
                    )
                ]
            )
        )
    blocks += [_section(f":warning: {escape_mrkdwn(note)}") for note in content.notes]
    blocks += build_inputs(content.spec, content.values)
    return View(
        type="modal",
        callback_id=RecordForm.MODAL,
        private_metadata=plan.to_metadata(),
        title=_title(f"Edit {noun}" if plan.editing else f"New {noun}"),
        submit=_title("Save" if plan.editing else f"Add {noun}"),
        close=_title("Cancel"),
        blocks=blocks,
    )


def _outcome_title(outcome: WriteOutcome) -> str:
    if outcome.verb == UNCHANGED:
        return "Nothing changed"
    label = _LABELS.get(outcome.kind, outcome.kind.title())
    return f"{label} {'added' if outcome.verb == ADDED else 'saved'}"


def build_done_view(outcome: WriteOutcome) -> View:
    """What a finished save shows: the record (linked when its page is known)."""
    noun = _noun(outcome.kind)
    name = record_link(outcome.url, safe(outcome.label, LABEL_MAX) or "(no name)")
    number = f" ({id_text(outcome.record_id)})" if outcome.record_id else ""
    if outcome.verb == UNCHANGED:
        text = f"Nothing changed: {noun} {name}{number} is as it was in PMP."
    elif outcome.verb == ADDED:
        text = f":white_check_mark: Added {noun} {name}{number} to PMP."
    else:
        text = f":white_check_mark: Saved the changes to {noun} {name}{number}."
    blocks: list[Block] = [_section(text)]
    if outcome.note:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=safe(outcome.note, 1000))]))
    return View(
        type="modal", title=_title(_outcome_title(outcome)), close=_title("Done"), blocks=blocks
    )


# -------------------------------------------------------------------------------- deletes


def _who(user_id: str) -> str:
    return f"<@{user_id}>" if _SLACK_USER_ID.fullmatch(user_id) else "Someone"


def build_delete_prompt(ref: CardRef, label: str, *, base_url: str) -> Message:
    """The `/pmp <record> delete <id>` question: the record named, and a Delete button
    behind Slack's confirm dialog."""
    noun = _noun(ref.kind)
    name = safe(label, LABEL_MAX) or "(no name)"
    tail = f" ({noun} {id_text(ref.id)}) will be deleted from PMP. This can't be undone."
    confirm_name = safe(label, CONFIRM_TEXT_MAX - len(tail) - 2) or "(no name)"
    link = record_link(card_url(base_url, ref), name)
    value = ref.to_value()
    return Message(
        text=f"Delete {noun} {name}?",
        blocks=[
            _section(
                f":wastebasket: Delete {noun} {link} ({id_text(ref.id)}) from PMP? "
                "This can't be undone."
            ),
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text=truncate(f"Delete {noun}", 75),
                        action_id=RecordForm.DELETE,
                        value=value,
                        style="danger",
                        confirm=ConfirmObject(
                            title=truncate(f"Delete this {noun}?", 100),
                            text=f"*{confirm_name}*{tail}",
                            confirm="Delete",
                            deny="Keep it",
                            style="danger",
                        ),
                    ),
                    ButtonElement(text="Cancel", action_id=RecordForm.DELETE_CANCEL, value=value),
                ]
            ),
        ],
    )


def build_deleted(ref: CardRef, label: str, user_id: str) -> Message:
    """In place of the card or prompt: the record is gone, and who deleted it."""
    noun = _noun(ref.kind)
    name = safe(label, LABEL_MAX) or "(no name)"
    text = f":wastebasket: {_who(user_id)} deleted {noun} *{name}* ({id_text(ref.id)}) from PMP."
    return Message(text=f"Deleted {noun} {name}", blocks=[_section(text)])


def build_delete_failed(ref: CardRef, label: str, problem: str) -> Message:
    """Why nothing was deleted (PMP refused, e.g. a customer with invoices, or the record
    was already gone); `label` is "" when the record's name is unknown."""
    noun = _noun(ref.kind)
    reason = safe(problem, 1500)
    if label:
        name = safe(label, LABEL_MAX)
        text = f":warning: PMP didn't delete {noun} *{name}* ({id_text(ref.id)}). {reason}"
    else:
        text = f":warning: {reason} Nothing was deleted."
    return Message(text=f"Nothing was deleted: {safe(problem, 200)}", blocks=[_section(text)])


def build_delete_refused() -> Message:
    return Message(
        text="Only admins can delete PMP records.", blocks=build_admins_only("delete PMP records")
    )


def build_delete_cancelled(ref: CardRef) -> Message:
    noun = _noun(ref.kind)
    text = f"Nothing was deleted: {noun} {id_text(ref.id)} stays in PMP."
    return Message(text=text, blocks=[_section(text)])
