"""The Block Kit text renderer: many shapes, hostile data."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.console.render import (
    Names,
    mrkdwn_to_text,
    render_message,
    render_view,
    value_summary,
)

NAMES = Names(users={"U1": "alex", "U2": "sam"}, channels={"C1": "general"})


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text), "value": value}


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ("plain words", "plain words"),
        ("a &amp; b &lt;c&gt;", "a & b <c>"),
        ("&lt;!channel&gt; stays literal", "<!channel> stays literal"),
        ("&amp;lt; is one escape deep", "&lt; is one escape deep"),
        ("hey <!channel> <!here> <!everyone>", "hey @channel @here @everyone"),
        ("<!here|here> old style", "@here old style"),
        ("<https://x.io/p?a=1&amp;b=2|the page>", "the page (https://x.io/p?a=1&b=2)"),
        ("<https://x.io>", "https://x.io"),
        ("<https://x.io|https://x.io>", "https://x.io"),
        ("<https://x.io|AT&amp;T &lt;3>", "AT&T <3 (https://x.io)"),
        ("<mailto:a@b.co|a@b.co>", "a@b.co (mailto:a@b.co)"),
        ("by <@U1> and <@U9>", "by @alex and @U9"),
        ("<@U1|someone>", "@someone"),
        ("in <#C1> and <#C7|sales> and <#C9>", "in #general and #sales and #C9"),
        ("<!subteam^S1|@devs> <!subteam^S2>", "@devs @S2"),
        ("<!date^1700000000^{date}|14 Nov>", "14 Nov"),
        ("<!date^1700000000^{date}>", "2023-11-14 22:13 UTC"),
        ("1 < 2 and 3 > 2", "1 < 2 and 3 > 2"),
        ("*bold* _it_ ~gone~ `code` :tada:", "*bold* _it_ ~gone~ `code` :tada:"),
        ("line one\nline two", "line one\nline two"),
        ("", ""),
    ],
)
def test_mrkdwn_is_made_readable(source: str, shown: str) -> None:
    assert mrkdwn_to_text(source, NAMES) == shown


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        ({"text": "hi <@U1>"}, "hi @alex"),
        ({"text": "<@U1> raw", "mrkdwn": False}, "<@U1> raw"),
        ({"text": ""}, "(empty message)"),
        ({}, "(empty message)"),
        ({"text": "fallback", "blocks": [{"type": "divider"}]}, "-" * 40),
        ({"markdown_text": "**md**"}, "**md**"),
        ({"blocks": [{"type": "header", "text": plain("Customers")}]}, "# Customers"),
        (
            {"blocks": [{"type": "section", "text": mrkdwn("*Acme* &amp; Co")}]},
            "*Acme* & Co",
        ),
        (
            {
                "blocks": [
                    {
                        "type": "section",
                        "fields": [mrkdwn("*City*\nLondon"), plain("<b>raw</b>")],
                        "accessory": {
                            "type": "image",
                            "image_url": "https://i/x.png",
                            "alt_text": "logo",
                        },
                    }
                ]
            },
            "  *City* London\n  <b>raw</b>\n  [image: logo]",
        ),
        (
            {
                "blocks": [
                    {
                        "type": "context",
                        "elements": [
                            {"type": "image", "image_url": "x", "alt_text": "icon"},
                            mrkdwn("Updated <!date^0^{date}|today>"),
                        ],
                    }
                ]
            },
            "  ~ [image: icon] | Updated today",
        ),
        (
            {
                "blocks": [
                    {"type": "image", "image_url": "x", "alt_text": "Chart", "title": plain("Q1")}
                ]
            },
            "[image: Chart] Q1",
        ),
        ({"blocks": [{"type": "call", "call_id": "R1"}]}, "[call block]"),
        ({"blocks": [{"type": "file", "external_id": "F1", "source": "remote"}]}, "[file: F1]"),
        (
            {"blocks": [{"type": "video", "title": plain("Demo"), "video_url": "https://v"}]},
            "[video: Demo (https://v)]",
        ),
        ({"blocks": [{"type": "markdown", "text": "# Title\n- a"}]}, "# Title\n- a"),
        (
            {
                "blocks": [
                    {
                        "type": "rich_text",
                        "elements": [
                            {
                                "type": "rich_text_section",
                                "elements": [
                                    {"type": "text", "text": "Hi "},
                                    {"type": "user", "user_id": "U2"},
                                    {"type": "text", "text": " see ", "style": {"bold": True}},
                                    {"type": "link", "url": "https://x.io", "text": "this"},
                                    {"type": "emoji", "name": "wave"},
                                    {"type": "broadcast", "range": "here"},
                                    {"type": "channel", "channel_id": "C1"},
                                ],
                            },
                            {
                                "type": "rich_text_list",
                                "style": "ordered",
                                "elements": [
                                    {
                                        "type": "rich_text_section",
                                        "elements": [{"type": "text", "text": "first"}],
                                    },
                                    {
                                        "type": "rich_text_section",
                                        "elements": [{"type": "text", "text": "second"}],
                                    },
                                ],
                            },
                            {
                                "type": "rich_text_preformatted",
                                "elements": [{"type": "text", "text": "x = 1"}],
                            },
                            {
                                "type": "rich_text_quote",
                                "elements": [{"type": "text", "text": "quoted"}],
                            },
                        ],
                    }
                ]
            },
            "Hi @sam* see *this (https://x.io):wave:@here#general\n1. first\n2. second\n"
            "```\nx = 1\n```\n> quoted",
        ),
        (
            {
                "text": "",
                "attachments": [
                    {
                        "title": "Invoice 7",
                        "title_link": "https://crm/i/7",
                        "text": "Due &lt;today&gt;",
                        "fields": [{"title": "Total", "value": "10"}],
                        "footer": "PMP",
                    },
                    {"fallback": "only fallback"},
                ],
            },
            "| Invoice 7 (https://crm/i/7)\n| Due <today>\n| Total: 10\n| PMP\n| only fallback",
        ),
        (
            {
                "blocks": [
                    {
                        "type": "table",
                        "rows": [
                            [
                                {"type": "raw_text", "text": "Name"},
                                {"type": "raw_text", "text": "Id"},
                            ],
                            [
                                {"type": "raw_text", "text": "Acme"},
                                {
                                    "type": "rich_text",
                                    "elements": [
                                        {
                                            "type": "rich_text_section",
                                            "elements": [{"type": "text", "text": "7"}],
                                        }
                                    ],
                                },
                            ],
                        ],
                    }
                ]
            },
            "Name | Id\nAcme | 7",
        ),
    ],
)
def test_message_shapes(message: dict[str, Any], shown: str) -> None:
    rendered = render_message(message, names=NAMES)
    assert rendered.text == shown
    assert rendered.actions == ()


def actions_block(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "block_id": "acts", "elements": list(elements)}


@pytest.mark.parametrize(
    ("element", "label"),
    [
        ({"type": "button", "action_id": "a", "text": plain("Save")}, "[1 Save]"),
        (
            {"type": "button", "action_id": "a", "text": plain("Drop"), "style": "danger"},
            "[1 Drop (danger)]",
        ),
        (
            {"type": "button", "action_id": "a", "text": plain("Open"), "url": "https://crm/7"},
            "[1 Open -> https://crm/7]",
        ),
        (
            {
                "type": "static_select",
                "action_id": "a",
                "placeholder": plain("Status"),
                "options": [option("Open", "1")],
            },
            "[1 choose: Status]",
        ),
        (
            {
                "type": "static_select",
                "action_id": "a",
                "options": [option("Open", "1")],
                "initial_option": option("Open", "1"),
            },
            "[1 choose: Open]",
        ),
        ({"type": "external_select", "action_id": "a"}, "[1 search]"),
        (
            {
                "type": "multi_static_select",
                "action_id": "a",
                "options": [option("A", "a"), option("B", "b")],
                "initial_options": [option("A", "a"), option("B", "b")],
            },
            "[1 choose any: A, B]",
        ),
        (
            {"type": "multi_external_select", "action_id": "a", "placeholder": plain("Find")},
            "[1 search: Find]",
        ),
        ({"type": "users_select", "action_id": "a", "initial_user": "U1"}, "[1 person: @alex]"),
        (
            {"type": "multi_users_select", "action_id": "a", "initial_users": ["U1", "U9"]},
            "[1 people: @alex, @U9]",
        ),
        (
            {"type": "conversations_select", "action_id": "a", "initial_conversation": "C1"},
            "[1 conversation: #general]",
        ),
        (
            {"type": "multi_conversations_select", "action_id": "a"},
            "[1 conversations]",
        ),
        (
            {"type": "channels_select", "action_id": "a", "initial_channel": "C2"},
            "[1 channel: #C2]",
        ),
        ({"type": "multi_channels_select", "action_id": "a"}, "[1 channels]"),
        (
            {"type": "datepicker", "action_id": "a", "initial_date": "2024-05-01"},
            "[1 date: 2024-05-01]",
        ),
        ({"type": "timepicker", "action_id": "a", "placeholder": plain("When")}, "[1 time: When]"),
        (
            {"type": "datetimepicker", "action_id": "a", "initial_date_time": 1700000000},
            "[1 date and time: 2023-11-14 22:13 UTC]",
        ),
        (
            {
                "type": "checkboxes",
                "action_id": "a",
                "options": [option("Public", "p"), option("VIP", "v")],
                "initial_options": [option("VIP", "v")],
            },
            "[1 tick: [ ] Public  [x] VIP]",
        ),
        (
            {
                "type": "radio_buttons",
                "action_id": "a",
                "options": [option("Low", "l"), option("High", "h")],
                "initial_option": option("Low", "l"),
            },
            "[1 choose: (o) Low  ( ) High]",
        ),
        ({"type": "plain_text_input", "action_id": "a"}, "[1 text]"),
        (
            {"type": "number_input", "action_id": "a", "is_decimal_allowed": True},
            "[1 decimal number]",
        ),
        (
            {"type": "email_text_input", "action_id": "a", "initial_value": "a@b.co"},
            "[1 email: a@b.co]",
        ),
        (
            {"type": "url_text_input", "action_id": "a", "placeholder": plain("Site")},
            "[1 URL: Site]",
        ),
    ],
)
def test_every_element_type_gets_a_number(element: dict[str, Any], label: str) -> None:
    rendered = render_message({"blocks": [actions_block(element)]}, names=NAMES)
    assert rendered.text == label
    (action,) = rendered.actions
    assert (action.number, action.block_id, action.action_id) == (1, "acts", "a")
    assert action.needs_answer is (element["type"] != "button")


def test_overflow_items_are_numbered_one_by_one_and_numbering_can_continue() -> None:
    message = {
        "blocks": [
            {
                "type": "section",
                "block_id": "row",
                "text": mrkdwn("Acme"),
                "accessory": {
                    "type": "overflow",
                    "action_id": "more",
                    "options": [option("Rename", "r"), option("Delete", "d")],
                },
            },
            actions_block({"type": "button", "action_id": "go", "text": plain("Go"), "value": "7"}),
        ]
    }
    rendered = render_message(message, first_number=4)
    assert rendered.text == "Acme\n  ... [4 Rename] [5 Delete]\n[6 Go]"
    assert [a.number for a in rendered.actions] == [4, 5, 6]
    delete = rendered.actions[1].payload
    assert delete is not None
    assert delete["selected_option"] == option("Delete", "d")
    assert (delete["type"], delete["action_id"], delete["block_id"]) == ("overflow", "more", "row")
    button = rendered.actions[2].payload
    assert button is not None
    assert {k: button[k] for k in ("type", "action_id", "block_id", "value")} == {
        "type": "button",
        "action_id": "go",
        "block_id": "acts",
        "value": "7",
    }
    assert "action_ts" in button


def test_select_payload_needs_an_answer() -> None:
    select = {"type": "static_select", "action_id": "s", "options": [option("A", "a")]}
    (action,) = render_message({"blocks": [actions_block(select)]}).actions
    assert action.payload is None
    sent = action.payload_with({"type": "static_select", "selected_option": option("A", "a")})
    assert sent["selected_option"]["value"] == "a"
    assert sent["type"] == "static_select"


def test_confirm_and_url_are_exposed() -> None:
    confirm = {
        "title": plain("Sure?"),
        "text": plain("Really"),
        "confirm": plain("Yes"),
        "deny": plain("No"),
    }
    button = {
        "type": "button",
        "action_id": "b",
        "text": plain("Open"),
        "url": "https://crm",
        "confirm": confirm,
    }
    (action,) = render_message({"blocks": [actions_block(button)]}).actions
    assert action.confirm == confirm
    assert action.url == "https://crm"


MODAL: dict[str, Any] = {
    "type": "modal",
    "id": "V1",
    "title": plain("New lead"),
    "submit": plain("Create"),
    "close": plain("Back"),
    "blocks": [
        {"type": "section", "text": mrkdwn("For <#C1>")},
        {
            "type": "input",
            "block_id": "name",
            "label": plain("Name"),
            "hint": plain("Full name"),
            "element": {"type": "plain_text_input", "action_id": "v"},
        },
        {
            "type": "input",
            "block_id": "owner",
            "optional": True,
            "label": plain("Owner"),
            "element": {"type": "users_select", "action_id": "v"},
        },
        {
            "type": "input",
            "block_id": "tags",
            "optional": True,
            "label": plain("Tags"),
            "element": {
                "type": "checkboxes",
                "action_id": "v",
                "options": [option("Hot", "hot"), option("Cold", "cold")],
            },
        },
        actions_block({"type": "button", "action_id": "more", "text": plain("More fields")}),
    ],
}


def test_modal_inputs_are_form_fields_with_values_and_errors() -> None:
    state = {
        "name": {"v": {"type": "plain_text_input", "value": "Ann"}},
        "owner": {"v": {"type": "users_select", "selected_user": "U2"}},
        "tags": {"v": {"type": "checkboxes", "selected_options": [option("Cold", "cold")]}},
    }
    rendered = render_view(MODAL, state=state, errors={"name": "Taken"}, names=NAMES)
    assert rendered.text.splitlines() == [
        "=== New lead ===",
        "For #general",
        "Name [text, required]: Ann",
        "  (Full name)",
        "  ! Taken",
        "Owner [person, optional]: @sam",
        "Tags [tick any, optional]: [ ] Hot  [x] Cold",
        "[1 More fields]",
        "--- <Create> (submit)  <Back> (close)",
    ]
    assert [a.action_id for a in rendered.actions] == ["more"]


def test_modal_without_state_shows_empty_fields() -> None:
    rendered = render_view(MODAL)
    assert "Name [text, required]: (empty)" in rendered.text
    assert "Owner [person, optional]: (empty)" in rendered.text


def test_home_tab_numbers_its_inputs() -> None:
    home = {
        "type": "home",
        "blocks": [
            {
                "type": "input",
                "block_id": "q",
                "dispatch_action": True,
                "label": plain("Search"),
                "element": {"type": "plain_text_input", "action_id": "query"},
            },
            actions_block({"type": "button", "action_id": "go", "text": plain("Go")}),
        ],
    }
    rendered = render_view(home)
    assert rendered.text.splitlines() == ["=== Home ===", "Search [text]: [1 text]", "[2 Go]"]
    assert [a.action_id for a in rendered.actions] == ["query", "go"]


def test_value_summary_of_rich_text_and_files() -> None:
    names = Names()
    rich = {
        "type": "rich_text_input",
        "action_id": "a",
    }
    entry = {
        "type": "rich_text_input",
        "rich_text_value": {
            "type": "rich_text",
            "elements": [
                {"type": "rich_text_section", "elements": [{"type": "text", "text": "hello"}]}
            ],
        },
    }
    assert value_summary(rich, entry, names) == "hello"
    assert value_summary({"type": "file_input"}, {"type": "file_input", "files": [{}]}, names) == (
        "1 file(s)"
    )


@pytest.mark.parametrize(
    "message",
    [
        {"blocks": [None, 5, "x", {"type": None}, {}]},
        {"blocks": [{"type": "section", "text": "not an object", "fields": "nope"}]},
        {"blocks": [{"type": "actions", "elements": [None, {"type": "overflow", "options": 3}]}]},
        {
            "blocks": [
                {"type": "rich_text", "elements": [{"type": "rich_text_list", "indent": "x"}]}
            ]
        },
        {"blocks": [{"type": "input", "label": plain("L"), "element": "nope"}]},
        {"blocks": "not a list", "text": 42},
        {"attachments": [None, {"fields": [None]}]},
        {"text": "<<<>>> &&& <@> <#> <!> <|> <a|b|c>"},
    ],
)
def test_malformed_messages_never_crash(message: dict[str, Any]) -> None:
    rendered = render_message(message, names=NAMES)
    assert isinstance(rendered.text, str)


json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=12),
    st.sampled_from(
        [
            "section",
            "actions",
            "input",
            "button",
            "overflow",
            "static_select",
            "checkboxes",
            "datepicker",
            "users_select",
            "rich_text",
            "rich_text_section",
            "rich_text_list",
            "mrkdwn",
            "plain_text",
            "<@U1>",
            "&amp;",
        ]
    ),
)
keys = st.sampled_from(
    [
        "type",
        "text",
        "blocks",
        "elements",
        "element",
        "accessory",
        "fields",
        "options",
        "option_groups",
        "initial_option",
        "initial_options",
        "initial_user",
        "initial_date_time",
        "placeholder",
        "label",
        "block_id",
        "action_id",
        "value",
        "url",
        "attachments",
        "rows",
        "style",
        "indent",
    ]
)
json_values = st.recursive(
    json_leaf,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=5),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, json_values, max_size=5))
def test_any_json_renders_without_crashing(data: dict[str, Any]) -> None:
    assert isinstance(render_message(data, names=NAMES).text, str)
    assert isinstance(render_view({**data, "type": "modal"}).text, str)
    assert isinstance(render_view({**data, "type": "home"}).text, str)
