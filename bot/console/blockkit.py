"""Block Kit helpers shared by the Slack stand-in and the console.

Slack checks every message and view it is given and fills in the ids the app left out;
the stand-in has to do the same so that an app that works against it works against Slack.
The checks below are the documented limits (see docs/slack-rules.md), not a full schema.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

JsonDict = dict[str, Any]

MESSAGE_MAX_BLOCKS = 50
VIEW_MAX_BLOCKS = 100
VIEW_MAX_BYTES = 250_000
MODAL_TEXT_MAX = 24
PRIVATE_METADATA_MAX = 3000
ID_MAX = 255
MESSAGE_TEXT_MAX = 40_000

# Elements whose answer lives in `state.values` (everything a user can set).
STATEFUL_ELEMENT_TYPES = frozenset(
    {
        "static_select",
        "multi_static_select",
        "external_select",
        "multi_external_select",
        "users_select",
        "multi_users_select",
        "conversations_select",
        "multi_conversations_select",
        "channels_select",
        "multi_channels_select",
        "datepicker",
        "timepicker",
        "datetimepicker",
        "checkboxes",
        "radio_buttons",
        "plain_text_input",
        "number_input",
        "email_text_input",
        "url_text_input",
        "rich_text_input",
        "file_input",
    }
)

# Elements that send an action when used (stateful ones too, when outside an input block).
INTERACTIVE_ELEMENT_TYPES = STATEFUL_ELEMENT_TYPES | {"button", "overflow", "icon_button"}


def as_list(value: object) -> list[Any]:
    """`value` when it is a list, else an empty list (app data is not trusted to be well-formed)."""
    return value if isinstance(value, list) else []


def text_of(obj: object) -> str:
    """The text of a text object (`{"type": "plain_text", "text": ...}`), or "" when absent."""
    if isinstance(obj, Mapping):
        value = obj.get("text")
        return value if isinstance(value, str) else ""
    if isinstance(obj, str):
        return obj
    return ""


def block_elements(block: Mapping[str, Any]) -> list[JsonDict]:
    """The interactive elements a block holds, in display order."""
    block_type = block.get("type")
    found: list[JsonDict] = []
    if block_type in ("actions", "context_actions"):
        found = [e for e in as_list(block.get("elements")) if isinstance(e, dict)]
    elif block_type == "section":
        accessory = block.get("accessory")
        if isinstance(accessory, dict):
            found = [accessory]
    elif block_type == "input":
        element = block.get("element")
        if isinstance(element, dict):
            found = [element]
    return [e for e in found if e.get("type") in INTERACTIVE_ELEMENT_TYPES]


def _short_id(*parts: object) -> str:
    digest = hashlib.sha1(":".join(str(p) for p in parts).encode()).hexdigest()
    return digest[:5]


def with_generated_ids(blocks: Sequence[Any]) -> list[JsonDict]:
    """A copy of `blocks` with the `block_id`s and `action_id`s Slack would add.

    Slack gives every block and interactive element an id when the app leaves it out, and the
    ids appear in payloads and `state.values`. Ids here depend only on position, so the same
    view posted twice gets the same ids (keeping the user's answers across `views.update`).
    """
    result: list[JsonDict] = []
    for index, block in enumerate(blocks):
        if not isinstance(block, dict):
            continue
        copied = copy.deepcopy(block)
        if not copied.get("block_id"):
            copied["block_id"] = _short_id("block", index, copied.get("type"))
        for position, element in enumerate(block_elements(copied)):
            if not element.get("action_id"):
                element["action_id"] = _short_id("action", copied["block_id"], position)
        result.append(copied)
    return result


def decode_json_field(value: object) -> object:
    """Form-encoded Web API calls carry `blocks`, `view` and `attachments` as JSON strings."""
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


# --------------------------------------------------------------------------- checks


class _Problems:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, message: str, pointer: str) -> None:
        self.messages.append(f"[ERROR] {message} [json-pointer:{pointer}]")

    def text_limit(
        self,
        obj: object,
        limit: int,
        pointer: str,
        *,
        required: bool = False,
        plain_only: bool = False,
    ) -> None:
        """A text object of at most `limit` characters; `plain_only` where Slack takes only
        plain_text (button and option text, headers, labels, modal titles, ...)."""
        if obj is None:
            if required:
                self.add("missing required field: text", pointer)
            return
        if not isinstance(obj, Mapping) or not isinstance(obj.get("text"), str):
            self.add("must be a text object", pointer)
            return
        text_type = obj.get("type")
        if text_type not in ("plain_text", "mrkdwn"):
            self.add("must be a valid enum value", f"{pointer}/type")
        elif plain_only and text_type != "plain_text":
            self.add("must be a valid enum value: plain_text", f"{pointer}/type")
        length = len(obj["text"])
        if length > limit:
            self.add(f"must be less than {limit + 1} characters", f"{pointer}/text")
        if required and length == 0:
            self.add("must be more than 0 characters", f"{pointer}/text")

    def string_limit(
        self, value: object, limit: int, pointer: str, *, required: bool = False
    ) -> None:
        """A plain string field (`value`, `url`, ids): Slack refuses empty ones where given."""
        if value is None:
            if required:
                self.add(f"missing required field: {pointer.rsplit('/', 1)[-1]}", pointer)
            return
        if not isinstance(value, str):
            self.add("must be a string", pointer)
            return
        if len(value) > limit:
            self.add(f"must be less than {limit + 1} characters", pointer)
        if not value:
            self.add("must be more than 0 characters", pointer)


def _check_option(
    problems: _Problems, option: object, pointer: str, *, plain_only: bool = True
) -> None:
    """An option: in select and overflow menus its text is plain_text only; checkboxes and
    radio buttons (`plain_only=False`) also take mrkdwn."""
    if not isinstance(option, Mapping):
        problems.add("must be an option object", pointer)
        return
    problems.text_limit(
        option.get("text"), 75, f"{pointer}/text", required=True, plain_only=plain_only
    )
    problems.string_limit(option.get("value"), 150, f"{pointer}/value", required=True)
    if option.get("description") is not None:
        problems.text_limit(
            option.get("description"), 75, f"{pointer}/description", plain_only=plain_only
        )
    if option.get("url") is not None:
        problems.string_limit(option.get("url"), 3000, f"{pointer}/url")


def _option_key(option: object) -> tuple[object, ...]:
    """What makes two option objects the same option (Slack compares initial options by
    value and text)."""
    if not isinstance(option, Mapping):
        return (None,)
    return (option.get("value"), text_of(option.get("text")), text_of(option.get("description")))


def _check_initial_options(problems: _Problems, element: Mapping[str, Any], pointer: str) -> None:
    """A static menu's, checkboxes' or radio buttons' initial choice must be one of its
    options, or Slack refuses the whole surface."""
    known = {_option_key(option) for option, _ in _iter_options(element)}
    initial = element.get("initial_option")
    if initial is not None and _option_key(initial) not in known:
        problems.add("initial_option must exactly match one of the options", pointer)
    for index, option in enumerate(as_list(element.get("initial_options"))):
        if _option_key(option) not in known:
            problems.add(
                "initial_options must exactly match options",
                f"{pointer}/initial_options/{index}",
            )


def _iter_options(element: Mapping[str, Any]) -> Iterator[tuple[object, str]]:
    for index, option in enumerate(as_list(element.get("options"))):
        yield option, f"/options/{index}"
    for group_index, group in enumerate(as_list(element.get("option_groups"))):
        if isinstance(group, Mapping):
            for index, option in enumerate(as_list(group.get("options"))):
                yield option, f"/option_groups/{group_index}/options/{index}"


_OPTION_LIMITS = {
    "static_select": 100,
    "multi_static_select": 100,
    "overflow": 5,
    "checkboxes": 10,
    "radio_buttons": 10,
}
# Elements whose option text may be mrkdwn; every menu takes plain_text only.
_MRKDWN_OPTION_TYPES = frozenset({"checkboxes", "radio_buttons"})


def _check_element(problems: _Problems, element: Mapping[str, Any], pointer: str) -> None:
    element_type = element.get("type")
    if element.get("action_id") is not None:
        problems.string_limit(element.get("action_id"), ID_MAX, f"{pointer}/action_id")
    if element_type in ("button", "icon_button"):
        problems.text_limit(
            element.get("text"), 75, f"{pointer}/text", required=True, plain_only=True
        )
        # slack_sdk drops an empty value, so Slack then sends a press without any value.
        problems.string_limit(element.get("value"), 2000, f"{pointer}/value")
        problems.string_limit(element.get("url"), 3000, f"{pointer}/url")
    if element.get("placeholder") is not None:
        problems.text_limit(
            element.get("placeholder"), 150, f"{pointer}/placeholder", plain_only=True
        )
    if isinstance(element_type, str) and element_type in _OPTION_LIMITS:
        options = list(_iter_options(element))
        if len(options) > _OPTION_LIMITS[element_type]:
            limit = _OPTION_LIMITS[element_type] + 1
            problems.add(f"must be less than {limit} items", f"{pointer}/options")
        if not options:
            problems.add("must provide at least 1 items", f"{pointer}/options")
        _check_initial_options(problems, element, pointer)
    plain_only = element_type not in _MRKDWN_OPTION_TYPES
    for option, option_pointer in _iter_options(element):
        _check_option(problems, option, pointer + option_pointer, plain_only=plain_only)
    for index, group in enumerate(as_list(element.get("option_groups"))):
        if isinstance(group, Mapping):
            problems.text_limit(
                group.get("label"),
                75,
                f"{pointer}/option_groups/{index}/label",
                required=True,
                plain_only=True,
            )
    confirm = element.get("confirm")
    if isinstance(confirm, Mapping):
        for key, limit in (("title", 100), ("confirm", 30), ("deny", 30)):
            problems.text_limit(
                confirm.get(key), limit, f"{pointer}/confirm/{key}", plain_only=True
            )
        problems.text_limit(confirm.get("text"), 300, f"{pointer}/confirm/text")


def _check_block(
    problems: _Problems,
    block: object,
    pointer: str,
    seen_block_ids: set[str],
) -> None:
    if not isinstance(block, Mapping) or not isinstance(block.get("type"), str):
        problems.add("must be a block object with a type", pointer)
        return
    block_type = block["type"]
    block_id = block.get("block_id")
    if block_id is not None:
        problems.string_limit(block_id, ID_MAX, f"{pointer}/block_id")
    if isinstance(block_id, str) and block_id:
        if block_id in seen_block_ids:
            problems.add(f"duplicate block_id: {block_id}", f"{pointer}/block_id")
        seen_block_ids.add(block_id)
    if block_type == "section":
        fields = block.get("fields")
        if block.get("text") is None and not fields:
            problems.add("must provide either text or fields", pointer)
        if block.get("text") is not None:
            problems.text_limit(block.get("text"), 3000, f"{pointer}/text", required=True)
        if isinstance(fields, list):
            if len(fields) > 10:
                problems.add("must be less than 11 items", f"{pointer}/fields")
            for index, field in enumerate(fields):
                problems.text_limit(field, 2000, f"{pointer}/fields/{index}", required=True)
    elif block_type == "header":
        problems.text_limit(
            block.get("text"), 150, f"{pointer}/text", required=True, plain_only=True
        )
    elif block_type == "actions":
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            problems.add("must provide at least 1 items", f"{pointer}/elements")
        elif len(elements) > 25:
            problems.add("must be less than 26 items", f"{pointer}/elements")
    elif block_type == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            problems.add("must provide at least 1 items", f"{pointer}/elements")
        elif len(elements) > 10:
            problems.add("must be less than 11 items", f"{pointer}/elements")
    elif block_type == "input":
        problems.text_limit(
            block.get("label"), 2000, f"{pointer}/label", required=True, plain_only=True
        )
        if block.get("hint") is not None:
            problems.text_limit(block.get("hint"), 2000, f"{pointer}/hint", plain_only=True)
        if not isinstance(block.get("element"), Mapping):
            problems.add("missing required field: element", pointer)
    elif block_type == "image":
        alt_text = block.get("alt_text")
        if not isinstance(alt_text, str) or not alt_text:
            problems.add("missing required field: alt_text", pointer)
        elif len(alt_text) > 2000:
            problems.add("must be less than 2001 characters", f"{pointer}/alt_text")
    seen_action_ids: set[str] = set()
    elements = block.get("elements") if block_type in ("actions", "context_actions") else None
    candidates: list[tuple[Mapping[str, Any], str]] = []
    if isinstance(elements, list):
        candidates = [
            (e, f"{pointer}/elements/{i}") for i, e in enumerate(elements) if isinstance(e, Mapping)
        ]
    elif block_type == "section" and isinstance(block.get("accessory"), Mapping):
        candidates = [(block["accessory"], f"{pointer}/accessory")]
    elif block_type == "input" and isinstance(block.get("element"), Mapping):
        candidates = [(block["element"], f"{pointer}/element")]
    for element, element_pointer in candidates:
        _check_element(problems, element, element_pointer)
        action_id = element.get("action_id")
        if isinstance(action_id, str) and action_id:
            if action_id in seen_action_ids:
                problems.add(f"duplicate action_id: {action_id}", f"{element_pointer}/action_id")
            seen_action_ids.add(action_id)


def _check_blocks(problems: _Problems, blocks: object, pointer: str, *, surface: str) -> None:
    if blocks is None:
        return
    if not isinstance(blocks, list):
        problems.add("must be an array of blocks", pointer)
        return
    limit = MESSAGE_MAX_BLOCKS if surface == "message" else VIEW_MAX_BLOCKS
    if len(blocks) > limit:
        problems.add(f"must be less than {limit + 1} items", pointer)
    seen: set[str] = set()
    for index, block in enumerate(blocks):
        _check_block(problems, block, f"{pointer}/{index}", seen)


def message_problems(message: Mapping[str, Any]) -> list[str]:
    """Slack's objections to a message's blocks (empty when Slack would take it)."""
    problems = _Problems()
    _check_blocks(problems, message.get("blocks"), "/blocks", surface="message")
    return problems.messages


def view_problems(view: object, *, expected_type: str | None = None) -> list[str]:
    """Slack's objections to a view payload (empty when Slack would take it)."""
    problems = _Problems()
    if not isinstance(view, Mapping):
        problems.add("must be a view object", "/view")
        return problems.messages
    view_type = view.get("type")
    if view_type not in ("modal", "home"):
        problems.add("must be one of: modal, home", "/view/type")
    elif expected_type is not None and view_type != expected_type:
        problems.add(f"must be {expected_type}", "/view/type")
    if len(json.dumps(view)) > VIEW_MAX_BYTES:
        problems.add(f"view must be less than {VIEW_MAX_BYTES} bytes", "/view")
    if view_type == "modal":
        problems.text_limit(
            view.get("title"), MODAL_TEXT_MAX, "/view/title", required=True, plain_only=True
        )
        for key in ("submit", "close"):
            if view.get(key) is not None:
                problems.text_limit(
                    view.get(key), MODAL_TEXT_MAX, f"/view/{key}", required=True, plain_only=True
                )
        blocks = view.get("blocks")
        has_input = isinstance(blocks, list) and any(
            isinstance(b, Mapping) and b.get("type") == "input" for b in blocks
        )
        if has_input and view.get("submit") is None:
            problems.add("submit is required when an input block is within the blocks", "/view")
    metadata = view.get("private_metadata")
    if isinstance(metadata, str) and len(metadata) > PRIVATE_METADATA_MAX:
        problems.add(
            f"must be less than {PRIVATE_METADATA_MAX + 1} characters", "/view/private_metadata"
        )
    for key in ("callback_id", "external_id"):
        value = view.get(key)
        if isinstance(value, str) and len(value) > ID_MAX:
            problems.add(f"must be less than {ID_MAX + 1} characters", f"/view/{key}")
    if not isinstance(view.get("blocks"), list):
        problems.add("missing required field: blocks", "/view/blocks")
    else:
        _check_blocks(problems, view.get("blocks"), "/view/blocks", surface="view")
    return problems.messages


def options_problems(options: object) -> list[str]:
    """Slack's objections to an options-load answer (it then shows the user no results)."""
    problems = _Problems()
    if not isinstance(options, list):
        problems.add("must be an array of options", "/options")
        return problems.messages
    if len(options) > 100:
        problems.add("must be less than 101 items", "/options")
    for index, option in enumerate(options):
        _check_option(problems, option, f"/options/{index}")
    return problems.messages
