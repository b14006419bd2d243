"""Filling in Block Kit inputs at a text prompt: questions, choices and answers.

An answer becomes the element's `state.values` entry, exactly what Slack would send; the
checks Slack's client makes before it lets a user submit (required, number range, email and
URL format, lengths) are made here too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from bot.console.blockkit import JsonDict, as_list, text_of
from bot.console.payloads import initial_entry, rich_text_value
from bot.console.render import Names, element_kind, render_text_object

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL = re.compile(r"^https?://[^\s/]+\.[^\s]+$|^https?://localhost(:\d+)?(/\S*)?$")

# A line holding only this ends the answer to a multi-line text input.
END_OF_TEXT = "."

SINGLE_OPTION_TYPES = ("static_select", "radio_buttons")
MULTI_OPTION_TYPES = ("multi_static_select", "checkboxes")
EXTERNAL_TYPES = ("external_select", "multi_external_select")
USER_TYPES = ("users_select", "multi_users_select")
CHANNEL_TYPES = (
    "conversations_select",
    "multi_conversations_select",
    "channels_select",
    "multi_channels_select",
)


class AnswerError(Exception):
    """An answer Slack's client would not accept; the message says why, for the user."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class FormField:
    """One input block of a modal."""

    block_id: str
    action_id: str
    label: str
    element: Mapping[str, Any]
    optional: bool
    hint: str
    dispatch_action: bool

    @property
    def element_type(self) -> str:
        return str(self.element.get("type", ""))


@dataclass(frozen=True)
class Choices:
    """What a select can be set to: the people and channels of the workspace."""

    people: Sequence[tuple[str, str]] = ()  # (user id, name)
    channels: Sequence[tuple[str, str]] = ()  # (channel id, name)


def form_fields(view: Mapping[str, Any], names: Names | None = None) -> list[FormField]:
    known = names or Names()
    fields: list[FormField] = []
    for block in as_list(view.get("blocks")):
        if not isinstance(block, Mapping) or block.get("type") != "input":
            continue
        element = block.get("element")
        if not isinstance(element, Mapping):
            continue
        fields.append(
            FormField(
                block_id=str(block.get("block_id", "")),
                action_id=str(element.get("action_id", "")),
                label=render_text_object(block.get("label"), known) or "(no label)",
                element=element,
                optional=bool(block.get("optional", False)),
                hint=render_text_object(block.get("hint"), known),
                dispatch_action=bool(block.get("dispatch_action", False)),
            )
        )
    return fields


def empty_entry(element: Mapping[str, Any]) -> JsonDict:
    """The state entry of an element the user cleared."""
    return initial_entry({"type": element.get("type"), "action_id": element.get("action_id")})


def flat_options(element_or_answer: Mapping[str, Any]) -> list[JsonDict]:
    """Options of a static select (or of an options-load answer), option groups flattened."""
    options = [o for o in as_list(element_or_answer.get("options")) if isinstance(o, dict)]
    for group in as_list(element_or_answer.get("option_groups")):
        if isinstance(group, Mapping):
            options.extend(o for o in as_list(group.get("options")) if isinstance(o, dict))
    return options


def choice_lines(
    element: Mapping[str, Any],
    choices: Choices,
    names: Names,
    options: Sequence[Mapping[str, Any]] | None = None,
) -> list[str]:
    """Numbered choices to show before asking (empty for free-text elements)."""
    element_type = str(element.get("type", ""))
    if options is not None or element_type in SINGLE_OPTION_TYPES + MULTI_OPTION_TYPES:
        listed = list(options) if options is not None else flat_options(element)
        lines = []
        for number, option in enumerate(listed, start=1):
            line = f"  {number}. {render_text_object(option.get('text'), names)}"
            description = render_text_object(option.get("description"), names)
            if description:
                line += f" - {description}"
            lines.append(line)
        return lines
    if element_type in USER_TYPES:
        return [f"  {n}. @{name}" for n, (_, name) in enumerate(choices.people, start=1)]
    if element_type in CHANNEL_TYPES:
        return [f"  {n}. #{name}" for n, (_, name) in enumerate(choices.channels, start=1)]
    return []


def question(field_label: str, element: Mapping[str, Any], *, optional: bool, now: str) -> str:
    """The prompt for one input: label, what to type, required or not, current value."""
    kind = element_kind(element)
    element_type = str(element.get("type", ""))
    if element_type == "checkboxes" or element_type.startswith("multi_"):
        kind += ", numbers separated by commas"
    if element_type == "plain_text_input" and element.get("multiline"):
        kind += f" up to a line with only {END_OF_TEXT}"
    need = "optional" if optional else "required"
    shown = f" (now: {now})" if now else ""
    return f"{field_label} [{kind}, {need}]{shown}: "


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _pick_option(options: Sequence[Mapping[str, Any]], answer: str) -> JsonDict:
    if answer.isdigit():
        index = int(answer)
        if 1 <= index <= len(options):
            return dict(options[index - 1])
        raise AnswerError(f"Choose a number from 1 to {len(options)}.")
    lowered = answer.lower()
    for option in options:
        if text_of(option.get("text")).lower() == lowered or option.get("value") == answer:
            return dict(option)
    raise AnswerError(f"'{answer}' is not one of the choices; type its number.")


def _pick_named(items: Sequence[tuple[str, str]], answer: str, sigil: str, what: str) -> str:
    if answer.isdigit():
        index = int(answer)
        if 1 <= index <= len(items):
            return items[index - 1][0]
        raise AnswerError(f"Choose a number from 1 to {len(items)}.")
    wanted = answer.lstrip(sigil)
    for item_id, name in items:
        if wanted in (item_id, name):
            return item_id
    raise AnswerError(f"There is no {what} '{answer}'; type a number from the list.")


def _check_count(element: Mapping[str, Any], count: int) -> None:
    limit = element.get("max_selected_items")
    if isinstance(limit, int) and count > limit:
        raise AnswerError(f"Choose at most {limit}.")


def _text_answer(element: Mapping[str, Any], answer: str) -> str:
    element_type = element.get("type")
    if element_type == "number_input":
        try:
            number = float(answer)
        except ValueError:
            raise AnswerError("Type a number.") from None
        if not element.get("is_decimal_allowed") and not re.fullmatch(r"-?\d+", answer):
            raise AnswerError("Type a whole number.")
        for key, word in (("min_value", "at least"), ("max_value", "at most")):
            limit = element.get(key)
            if limit is None:
                continue
            bound = float(limit)
            if (key == "min_value" and number < bound) or (key == "max_value" and number > bound):
                raise AnswerError(f"The number must be {word} {limit}.")
    elif element_type == "email_text_input" and not _EMAIL.match(answer):
        raise AnswerError("Type an email address, like name@example.com.")
    elif element_type == "url_text_input" and not _URL.match(answer):
        raise AnswerError("Type a web address starting with http:// or https://.")
    min_length = element.get("min_length")
    max_length = element.get("max_length")
    if isinstance(min_length, int) and len(answer) < min_length:
        raise AnswerError(f"Type at least {min_length} characters.")
    if isinstance(max_length, int) and len(answer) > max_length:
        raise AnswerError(f"Type at most {max_length} characters.")
    return answer


def parse_answer(
    element: Mapping[str, Any],
    answer: str,
    *,
    choices: Choices = Choices(),
    options: Sequence[Mapping[str, Any]] | None = None,
) -> JsonDict:
    """Turn what the user typed into the element's state entry, or raise AnswerError.

    `options` are the choices shown for an external select (from the options load).
    """
    element_type = str(element.get("type", ""))
    entry: JsonDict = {"type": element_type}
    text = answer.strip()
    if element_type in ("plain_text_input", "number_input", "email_text_input", "url_text_input"):
        entry["value"] = _text_answer(element, text)
    elif element_type == "rich_text_input":
        entry["rich_text_value"] = rich_text_value(text)
    elif element_type in SINGLE_OPTION_TYPES or element_type == "external_select":
        listed = options if options is not None else flat_options(element)
        entry["selected_option"] = _pick_option(listed, text)
    elif element_type in MULTI_OPTION_TYPES or element_type == "multi_external_select":
        listed = options if options is not None else flat_options(element)
        picked = [_pick_option(listed, part) for part in _split(text)]
        _check_count(element, len(picked))
        entry["selected_options"] = picked
    elif element_type == "users_select":
        entry["selected_user"] = _pick_named(choices.people, text, "@", "person")
    elif element_type == "multi_users_select":
        people = [_pick_named(choices.people, p, "@", "person") for p in _split(text)]
        _check_count(element, len(people))
        entry["selected_users"] = people
    elif element_type in ("conversations_select", "channels_select"):
        key = "selected_conversation" if element_type.startswith("conv") else "selected_channel"
        entry[key] = _pick_named(choices.channels, text, "#", "channel")
    elif element_type in ("multi_conversations_select", "multi_channels_select"):
        key = (
            "selected_conversations"
            if element_type.startswith("multi_conv")
            else "selected_channels"
        )
        picked_channels = [_pick_named(choices.channels, c, "#", "channel") for c in _split(text)]
        _check_count(element, len(picked_channels))
        entry[key] = picked_channels
    elif element_type == "datepicker":
        try:
            entry["selected_date"] = date.fromisoformat(text).isoformat()
        except ValueError:
            raise AnswerError("Type a date as YYYY-MM-DD, like 2024-12-31.") from None
    elif element_type == "timepicker":
        match = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
        if match is None or int(match[1]) > 23 or int(match[2]) > 59:
            raise AnswerError("Type a time as HH:MM, like 09:30.")
        entry["selected_time"] = f"{int(match[1]):02d}:{match[2]}"
        if element.get("timezone"):
            entry["timezone"] = element["timezone"]
    elif element_type == "datetimepicker":
        try:
            moment = datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
        except ValueError:
            raise AnswerError("Type a date and time as YYYY-MM-DD HH:MM (UTC).") from None
        entry["selected_date_time"] = int(moment.timestamp())
    elif element_type == "file_input":
        raise AnswerError("Files cannot be uploaded from the console; press Enter to skip.")
    else:
        raise AnswerError(f"The console cannot fill in a {element_type} element.")
    return entry


def is_empty(entry: Mapping[str, Any] | None) -> bool:
    """True when a state entry holds no value (what Slack's client calls an empty field)."""
    if entry is None:
        return True
    for key, value in entry.items():
        if key in ("type", "timezone"):
            continue
        if key == "rich_text_value":
            if _rich_text_has_text(value):
                return False
            continue
        if value not in (None, "", []):
            return False
    return True


def _rich_text_has_text(value: object) -> bool:
    if isinstance(value, Mapping):
        if value.get("type") == "text" and value.get("text"):
            return True
        return any(_rich_text_has_text(e) for e in as_list(value.get("elements")))
    return False
