"""Block Kit messages and views as readable terminal text.

Pure functions. Every interactive thing gets a number so a console user can `press N`:
buttons, each item of an overflow menu, select menus, pickers and inputs outside modal forms.
The result lists those numbered actions with what pressing them sends.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.console.blockkit import INTERACTIVE_ELEMENT_TYPES, JsonDict, as_list, text_of
from bot.console.payloads import action_payload, initial_entry

DIVIDER = "-" * 40

_ELEMENT_KINDS = {
    "button": "button",
    "icon_button": "button",
    "overflow": "menu",
    "plain_text_input": "text",
    "number_input": "number",
    "email_text_input": "email",
    "url_text_input": "URL",
    "rich_text_input": "text",
    "static_select": "pick one",
    "external_select": "search and pick one",
    "multi_static_select": "pick any",
    "multi_external_select": "search and pick any",
    "users_select": "person",
    "multi_users_select": "people",
    "conversations_select": "conversation",
    "multi_conversations_select": "conversations",
    "channels_select": "channel",
    "multi_channels_select": "channels",
    "datepicker": "date YYYY-MM-DD",
    "timepicker": "time HH:MM",
    "datetimepicker": "date and time YYYY-MM-DD HH:MM",
    "checkboxes": "tick any",
    "radio_buttons": "pick one",
    "file_input": "file",
}


@dataclass(frozen=True)
class Names:
    """Display names for ids found in mrkdwn and selects."""

    users: Mapping[str, str] = field(default_factory=dict)
    channels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NumberedAction:
    """Something the user can press: an element (and, for overflow menus, one item of it)."""

    number: int
    label: str
    block_id: str
    action_id: str
    element: Mapping[str, Any]
    option: Mapping[str, Any] | None = None
    # The element's current state entry (views with state); None means its initial value.
    entry: Mapping[str, Any] | None = None

    @property
    def element_type(self) -> str:
        return str(self.element.get("type", ""))

    @property
    def needs_answer(self) -> bool:
        """True when pressing needs a choice or a value from the user (selects, pickers...)."""
        return self.element_type not in ("button", "icon_button", "overflow")

    @property
    def confirm(self) -> Mapping[str, Any] | None:
        confirm = self.element.get("confirm")
        if self.option is not None and isinstance(self.option.get("confirm"), Mapping):
            confirm = self.option["confirm"]
        return confirm if isinstance(confirm, Mapping) else None

    @property
    def url(self) -> str | None:
        url = (self.option or self.element).get("url")
        return url if isinstance(url, str) else None

    @property
    def payload(self) -> JsonDict | None:
        """The `actions[]` entry pressing sends, or None when it needs an answer first."""
        if self.needs_answer:
            return None
        return action_payload(self.element, self.block_id, option=self.option)

    def payload_with(self, entry: Mapping[str, Any]) -> JsonDict:
        """The `actions[]` entry for a select/picker/input answered with state `entry`."""
        return action_payload(self.element, self.block_id, entry=entry)


@dataclass(frozen=True)
class Rendered:
    text: str
    actions: tuple[NumberedAction, ...]


# ------------------------------------------------------------------ mrkdwn

_ANGLE_TOKEN = re.compile(r"<([^<>\n]*)>")
_LINK_TARGET = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:\S+$")


def unescape(text: str) -> str:
    """Undo Slack's three escapes (and only those: Slack shows `&quot;` literally)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _format_unix(value: object) -> str:
    try:
        moment = datetime.fromtimestamp(int(str(value)), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return str(value)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def mrkdwn_to_text(text: str, names: Names | None = None) -> str:
    """Slack mrkdwn as a person reads it: links, mentions and escapes resolved."""
    known = names or Names()

    def resolve(match: re.Match[str]) -> str:
        target, _, label = match.group(1).partition("|")
        if target.startswith("@"):
            user_id = target[1:]
            return "@" + (label or known.users.get(user_id) or user_id)
        if target.startswith("#"):
            channel_id = target[1:]
            return "#" + (label or known.channels.get(channel_id) or channel_id)
        if target.startswith("!"):
            special = target[1:]
            if special.startswith("subteam^"):
                return label or "@" + special.removeprefix("subteam^")
            if special.startswith("date^"):
                parts = special.split("^")
                return label or _format_unix(parts[1] if len(parts) > 1 else "")
            if special in ("channel", "here", "everyone"):
                return "@" + special
            return label or "@" + special
        if not _LINK_TARGET.match(target):
            return match.group(0)  # not a Slack token: shown as typed
        if not label or label == target:
            return target
        return f"{label} ({target})"

    return unescape(_ANGLE_TOKEN.sub(resolve, text))


def render_text_object(obj: object, names: Names) -> str:
    if not isinstance(obj, Mapping):
        return ""
    text = text_of(obj)
    if obj.get("type") == "mrkdwn":
        return mrkdwn_to_text(text, names)
    return text


# ------------------------------------------------------------------ element values


def element_kind(element: Mapping[str, Any]) -> str:
    element_type = str(element.get("type", ""))
    kind = _ELEMENT_KINDS.get(element_type, element_type or "element")
    if element_type == "plain_text_input" and element.get("multiline"):
        return "long text"
    if element_type == "number_input" and element.get("is_decimal_allowed"):
        return "decimal number"
    return kind


def _option_label(option: object, names: Names) -> str:
    return render_text_object(option.get("text"), names) if isinstance(option, Mapping) else ""


def rich_text_plain(value: object, names: Names | None = None) -> str:
    """The text of a rich_text object (as typed in a rich_text_input)."""
    if not isinstance(value, Mapping):
        return ""
    lines = _rich_text_lines(as_list(value.get("elements")), names or Names())
    return "\n".join(lines)


def _user(user_id: object, names: Names) -> str:
    return "@" + names.users.get(str(user_id), str(user_id))


def _channel(channel_id: object, names: Names) -> str:
    return "#" + names.channels.get(str(channel_id), str(channel_id))


def value_summary(element: Mapping[str, Any], entry: Mapping[str, Any] | None, names: Names) -> str:
    """The current value of an element in words ("" when nothing is set)."""
    values = entry if entry is not None else initial_entry(element)
    if "value" in values:
        return str(values["value"]) if values["value"] is not None else ""
    if "selected_option" in values:
        return _option_label(values["selected_option"], names)
    if "selected_options" in values:
        return ", ".join(_option_label(o, names) for o in as_list(values["selected_options"]))
    if "selected_user" in values:
        user = values["selected_user"]
        return _user(user, names) if user else ""
    if "selected_users" in values:
        return ", ".join(_user(u, names) for u in as_list(values["selected_users"]))
    for key in ("selected_conversation", "selected_channel"):
        if key in values:
            channel = values[key]
            return _channel(channel, names) if channel else ""
    for key in ("selected_conversations", "selected_channels"):
        if key in values:
            return ", ".join(_channel(c, names) for c in as_list(values[key]))
    if "selected_date" in values:
        return str(values["selected_date"] or "")
    if "selected_time" in values:
        return str(values["selected_time"] or "")
    if "selected_date_time" in values:
        stamp = values["selected_date_time"]
        return _format_unix(stamp) if stamp is not None else ""
    if "rich_text_value" in values:
        return rich_text_plain(values["rich_text_value"], names)
    if "files" in values:
        files = as_list(values["files"])
        return f"{len(files)} file(s)" if files else ""
    return ""


def _ticks(element: Mapping[str, Any], entry: Mapping[str, Any] | None, names: Names) -> str:
    values = entry if entry is not None else initial_entry(element)
    if element.get("type") == "checkboxes":
        chosen = {o.get("value") for o in as_list(values.get("selected_options"))}
        marks = ("[x]", "[ ]")
    else:
        selected = values.get("selected_option")
        chosen = {selected.get("value")} if isinstance(selected, Mapping) else set()
        marks = ("(o)", "( )")
    return "  ".join(
        f"{marks[0] if o.get('value') in chosen else marks[1]} {_option_label(o, names)}"
        for o in as_list(element.get("options"))
        if isinstance(o, Mapping)
    )


_INLINE_KINDS = {
    "static_select": "choose",
    "multi_static_select": "choose any",
    "external_select": "search",
    "multi_external_select": "search",
    "users_select": "person",
    "multi_users_select": "people",
    "conversations_select": "conversation",
    "multi_conversations_select": "conversations",
    "channels_select": "channel",
    "multi_channels_select": "channels",
    "datepicker": "date",
    "timepicker": "time",
    "datetimepicker": "date and time",
    "checkboxes": "tick",
    "radio_buttons": "choose",
}


def element_label(element: Mapping[str, Any], entry: Mapping[str, Any] | None, names: Names) -> str:
    """How an element looks when shown inline (without its number)."""
    element_type = str(element.get("type", ""))
    if element_type in ("button", "icon_button"):
        label = render_text_object(element.get("text"), names) or str(
            element.get("icon") or "button"
        )
        if element.get("style") == "danger":
            label += " (danger)"
        if isinstance(element.get("url"), str):
            label += f" -> {element['url']}"
        return label
    kind = _INLINE_KINDS.get(element_type) or element_kind(element)
    if element_type in ("checkboxes", "radio_buttons"):
        return f"{kind}: {_ticks(element, entry, names)}"
    current = value_summary(element, entry, names)
    placeholder = render_text_object(element.get("placeholder"), names)
    if current:
        return f"{kind}: {current}"
    return f"{kind}: {placeholder}" if placeholder else kind


# ------------------------------------------------------------------ blocks


class _Renderer:
    def __init__(
        self,
        names: Names,
        first_number: int,
        state: Mapping[str, Mapping[str, Any]] | None,
        errors: Mapping[str, str] | None,
        number_inputs: bool,
    ) -> None:
        self.names = names
        self.next_number = first_number
        self.state = state or {}
        self.errors = errors or {}
        self.number_inputs = number_inputs
        self.actions: list[NumberedAction] = []

    def text(self, obj: object) -> str:
        return render_text_object(obj, self.names)

    def entry(self, block_id: str, element: Mapping[str, Any]) -> Mapping[str, Any] | None:
        entries = self.state.get(block_id)
        if entries is None:
            return None
        found = entries.get(str(element.get("action_id", "")))
        return found if isinstance(found, Mapping) else None

    def number(
        self,
        label: str,
        block_id: str,
        element: Mapping[str, Any],
        option: Mapping[str, Any] | None = None,
    ) -> str:
        action = NumberedAction(
            number=self.next_number,
            label=label,
            block_id=block_id,
            action_id=str(element.get("action_id", "")),
            element=element,
            option=option,
            entry=self.entry(block_id, element),
        )
        self.actions.append(action)
        self.next_number += 1
        return f"[{action.number} {label}]"

    def element(self, element: Mapping[str, Any], block_id: str) -> str:
        element_type = element.get("type")
        if element_type == "overflow":
            items = [
                self.number(_option_label(o, self.names), block_id, element, o)
                for o in as_list(element.get("options"))
                if isinstance(o, Mapping)
            ]
            return "... " + " ".join(items)
        if element_type == "image":
            return f"[image: {element.get('alt_text', '')}]"
        if element_type == "workflow_button":
            return f"[workflow: {self.text(element.get('text'))}]"
        if element_type == "feedback_buttons":
            parts = [
                self.number(
                    self.text(element[key].get("text")),
                    block_id,
                    {
                        "type": "button",
                        "action_id": element.get("action_id", ""),
                        "text": element[key].get("text"),
                        "value": element[key].get("value"),
                    },
                )
                for key in ("positive_button", "negative_button")
                if isinstance(element.get(key), Mapping)
            ]
            return " ".join(parts)
        if element_type in INTERACTIVE_ELEMENT_TYPES:
            label = element_label(element, self.entry(block_id, element), self.names)
            return self.number(label, block_id, element)
        return f"[{element_type}]"

    def blocks(self, blocks: Sequence[Any]) -> list[str]:
        lines: list[str] = []
        for block in blocks:
            if isinstance(block, Mapping):
                lines.extend(self.block(block))
        return lines

    def block(self, block: Mapping[str, Any]) -> list[str]:
        block_type = block.get("type")
        block_id = str(block.get("block_id", ""))
        if block_type == "header":
            return [f"# {self.text(block.get('text'))}"]
        if block_type == "divider":
            return [DIVIDER]
        if block_type == "section":
            return self.section(block, block_id)
        if block_type == "context":
            parts = []
            for item in as_list(block.get("elements")):
                if not isinstance(item, Mapping):
                    continue
                if item.get("type") == "image":
                    parts.append(f"[image: {item.get('alt_text', '')}]")
                else:
                    parts.append(self.text(item).replace("\n", " "))
            return ["  ~ " + " | ".join(parts)]
        if block_type in ("actions", "context_actions"):
            rendered = [
                self.element(e, block_id)
                for e in as_list(block.get("elements"))
                if isinstance(e, Mapping)
            ]
            return ["  ".join(rendered)]
        if block_type == "image":
            title = self.text(block.get("title"))
            shown = f"[image: {block.get('alt_text', '')}]"
            return [f"{shown} {title}".rstrip()]
        if block_type == "input":
            return self.input(block, block_id)
        if block_type == "rich_text":
            return _rich_text_lines(as_list(block.get("elements")), self.names)
        if block_type == "markdown":
            return str(block.get("text", "")).splitlines() or [""]
        if block_type == "video":
            title = self.text(block.get("title"))
            return [f"[video: {title} ({block.get('video_url', '')})]"]
        if block_type == "file":
            return [f"[file: {block.get('external_id', '')}]"]
        if block_type == "table":
            return self.table(block)
        return [f"[{block_type} block]"]

    def section(self, block: Mapping[str, Any], block_id: str) -> list[str]:
        lines: list[str] = []
        if block.get("text") is not None:
            lines.extend(self.text(block.get("text")).splitlines() or [""])
        for field_obj in as_list(block.get("fields")):
            lines.append("  " + self.text(field_obj).replace("\n", " "))
        accessory = block.get("accessory")
        if isinstance(accessory, Mapping):
            lines.append("  " + self.element(accessory, block_id))
        return lines

    def input(self, block: Mapping[str, Any], block_id: str) -> list[str]:
        element = block.get("element")
        label = self.text(block.get("label"))
        if not isinstance(element, Mapping):
            return [label]
        entry = self.entry(block_id, element)
        kind = element_kind(element)
        need = "optional" if block.get("optional") else "required"
        if self.number_inputs:
            shown = self.element(element, block_id)
            lines = [f"{label} [{kind}]: {shown}"]
        else:
            if element.get("type") in ("checkboxes", "radio_buttons"):
                current = _ticks(element, entry, self.names)
            else:
                current = value_summary(element, entry, self.names) or "(empty)"
            lines = [f"{label} [{kind}, {need}]: {current}"]
        hint = self.text(block.get("hint"))
        if hint:
            lines.append(f"  ({hint})")
        error = self.errors.get(block_id)
        if error:
            lines.append(f"  ! {error}")
        return lines

    def table(self, block: Mapping[str, Any]) -> list[str]:
        lines = []
        for row in as_list(block.get("rows")):
            cells = []
            for cell in row if isinstance(row, list) else []:
                if isinstance(cell, Mapping) and cell.get("type") == "rich_text":
                    cells.append(
                        " ".join(_rich_text_lines(as_list(cell.get("elements")), self.names))
                    )
                elif isinstance(cell, Mapping):
                    cells.append(str(cell.get("text", "")))
            lines.append(" | ".join(cells))
        return lines

    def attachments(self, attachments: Sequence[Any]) -> list[str]:
        lines: list[str] = []
        for attachment in attachments:
            if not isinstance(attachment, Mapping):
                continue
            inner: list[str] = []
            for key in ("pretext", "author_name", "title"):
                if attachment.get(key):
                    inner.append(mrkdwn_to_text(str(attachment[key]), self.names))
            if attachment.get("title_link"):
                inner[-1:] = [f"{inner[-1] if inner else ''} ({attachment['title_link']})"]
            if attachment.get("text"):
                inner.extend(mrkdwn_to_text(str(attachment["text"]), self.names).splitlines())
            for field_obj in as_list(attachment.get("fields")):
                if isinstance(field_obj, Mapping):
                    inner.append(f"{field_obj.get('title', '')}: {field_obj.get('value', '')}")
            inner.extend(self.blocks(as_list(attachment.get("blocks"))))
            if attachment.get("footer"):
                inner.append(str(attachment["footer"]))
            if not inner and attachment.get("fallback"):
                inner.append(str(attachment["fallback"]))
            lines.extend("| " + line for line in inner)
        return lines


def _rich_text_inline(elements: Sequence[Any], names: Names) -> str:
    parts: list[str] = []
    for item in elements:
        if not isinstance(item, Mapping):
            continue
        kind = item.get("type")
        if kind == "text":
            text = str(item.get("text", ""))
            style = item.get("style") or {}
            if style.get("code"):
                text = f"`{text}`"
            if style.get("bold"):
                text = f"*{text}*"
            if style.get("italic"):
                text = f"_{text}_"
            if style.get("strike"):
                text = f"~{text}~"
            parts.append(text)
        elif kind == "link":
            url = str(item.get("url", ""))
            label = str(item.get("text", "") or "")
            parts.append(f"{label} ({url})" if label and label != url else url)
        elif kind == "user":
            user_id = str(item.get("user_id", ""))
            parts.append("@" + names.users.get(user_id, user_id))
        elif kind == "channel":
            channel_id = str(item.get("channel_id", ""))
            parts.append("#" + names.channels.get(channel_id, channel_id))
        elif kind == "usergroup":
            parts.append("@" + str(item.get("usergroup_id", "")))
        elif kind == "broadcast":
            parts.append("@" + str(item.get("range", "")))
        elif kind == "emoji":
            parts.append(f":{item.get('name', '')}:")
        elif kind == "date":
            parts.append(str(item.get("fallback") or _format_unix(item.get("timestamp"))))
        elif kind == "color":
            parts.append(str(item.get("value", "")))
    return "".join(parts)


def _rich_text_lines(elements: Sequence[Any], names: Names) -> list[str]:
    lines: list[str] = []
    for item in elements:
        if not isinstance(item, Mapping):
            continue
        kind = item.get("type")
        if kind == "rich_text_section":
            lines.extend(_rich_text_inline(as_list(item.get("elements")), names).split("\n"))
        elif kind == "rich_text_list":
            depth = item.get("indent")
            indent = "  " * (depth if isinstance(depth, int) and 0 < depth < 10 else 0)
            ordered = item.get("style") == "ordered"
            for index, entry in enumerate(as_list(item.get("elements")), start=1):
                bullet = f"{index}." if ordered else "-"
                text = _rich_text_inline(
                    as_list(entry.get("elements")) if isinstance(entry, Mapping) else [], names
                )
                lines.append(f"{indent}{bullet} {text}")
        elif kind == "rich_text_preformatted":
            body = _rich_text_inline(as_list(item.get("elements")), names)
            lines.extend(["```", *body.split("\n"), "```"])
        elif kind == "rich_text_quote":
            body = _rich_text_inline(as_list(item.get("elements")), names)
            lines.extend("> " + line for line in body.split("\n"))
    if lines and lines[-1] == "":
        lines.pop()
    return lines


# ------------------------------------------------------------------ surfaces


def render_message(
    message: Mapping[str, Any],
    *,
    names: Names | None = None,
    first_number: int = 1,
) -> Rendered:
    """A message (text, blocks, attachments) with its buttons and menus numbered."""
    renderer = _Renderer(names or Names(), first_number, None, None, number_inputs=True)
    blocks = message.get("blocks")
    lines: list[str]
    if isinstance(blocks, list) and blocks:
        lines = renderer.blocks(blocks)
    else:
        text = message.get("text")
        if not isinstance(text, str) or not text:
            text = (
                message.get("markdown_text")
                if isinstance(message.get("markdown_text"), str)
                else ""
            )
        text = str(text or "")
        shown = mrkdwn_to_text(text, renderer.names) if message.get("mrkdwn", True) else text
        lines = shown.splitlines() if shown else []
    attachments = message.get("attachments")
    if isinstance(attachments, list):
        lines.extend(renderer.attachments(attachments))
    if not lines:
        lines = ["(empty message)"]
    return Rendered(text="\n".join(lines), actions=tuple(renderer.actions))


def render_view(
    view: Mapping[str, Any],
    *,
    state: Mapping[str, Mapping[str, Any]] | None = None,
    errors: Mapping[str, str] | None = None,
    names: Names | None = None,
    first_number: int = 1,
) -> Rendered:
    """A modal or Home tab. In modals, input blocks are form fields and get no number."""
    is_modal = view.get("type") == "modal"
    renderer = _Renderer(names or Names(), first_number, state, errors, number_inputs=not is_modal)
    title = renderer.text(view.get("title")) if is_modal else "Home"
    lines = [f"=== {title} ==="]
    lines.extend(renderer.blocks(as_list(view.get("blocks"))))
    if is_modal:
        buttons = []
        if view.get("submit") is not None:
            buttons.append(f"<{renderer.text(view.get('submit'))}> (submit)")
        buttons.append(f"<{renderer.text(view.get('close')) or 'Cancel'}> (close)")
        lines.append("--- " + "  ".join(buttons))
    return Rendered(text="\n".join(lines), actions=tuple(renderer.actions))


def indent(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + line if line else line for line in text.splitlines())


__all__ = [
    "Names",
    "NumberedAction",
    "Rendered",
    "element_kind",
    "element_label",
    "indent",
    "mrkdwn_to_text",
    "render_message",
    "render_text_object",
    "render_view",
    "rich_text_plain",
    "unescape",
    "value_summary",
]
