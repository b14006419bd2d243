from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from bot.blocks.cards import (
    CardRef,
    MenuChoice,
    Message,
    build_customer_card,
    build_lead_card,
    build_milestone_card,
    build_project_card,
    build_record_card,
    build_ticket_card,
    format_date,
    format_money,
    html_to_text,
    menu_shared_by,
    menu_value,
    parse_menu_value,
    shared_by_of,
)
from bot.blocks.ids import CardAction
from bot.names import NameBook
from bot.pmp.models import Contact, Customer, Lead, Milestone, PmpRecord, Project, Ticket
from tests.blocks.helpers import (
    BASE_URL,
    LONG,
    NASTY,
    SITE_ROOT,
    buttons_of,
    check_message,
    contact_wire,
    customer_wire,
    elements_of,
    fill,
    lead_wire,
    milestone_wire,
    mrkdwn_texts,
    project_wire,
    ticket_wire,
)

Builder = Callable[..., Message]

# kind, model, wire factory, id keys kept when other fields are made nasty, builder, extras
KINDS: list[tuple[str, type[PmpRecord], Callable[..., dict[str, Any]], tuple[str, ...]]] = [
    ("customer", Customer, customer_wire, ("userid",)),
    ("lead", Lead, lead_wire, ("id",)),
    ("project", Project, project_wire, ("id",)),
    ("milestone", Milestone, milestone_wire, ("id", "project_id")),
    ("ticket", Ticket, ticket_wire, ("ticketid",)),
]
NASTY_CONTACT = Contact.from_wire(
    fill(contact_wire(), NASTY, keep=("id", "userid")) | {"email": LONG}
)


def _build(record: PmpRecord, **options: Any) -> Message:
    """The card with every optional related record/name given, nasty ones included."""
    if isinstance(record, Customer):
        return build_customer_card(record, primary_contact=NASTY_CONTACT, **options)
    if isinstance(record, Project):
        return build_project_card(record, customer_name=LONG, **options)
    if isinstance(record, Milestone):
        return build_milestone_card(record, project_name=NASTY, **options)
    if isinstance(record, Ticket):
        return build_ticket_card(record, customer_name=NASTY, contact=NASTY_CONTACT, **options)
    return build_record_card(record, **options)


def _variants(wire: dict[str, Any], keep: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    return {
        "realistic": wire,
        "nasty": fill(wire, NASTY, keep),
        "long": fill(wire, LONG, keep),
        "nulls": fill(wire, None, keep),
        "empty": fill(wire, "", keep),
        "spaces": fill(wire, "  \n ", keep),
        "zeros": fill(wire, "0", keep),
    }


CASES = [
    pytest.param(model, wire, id=f"{kind}-{variant}")
    for kind, model, factory, keep in KINDS
    for variant, wire in _variants(factory(), keep).items()
]


@pytest.mark.parametrize(("model", "wire"), CASES)
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"can_delete": True},
        {"shared_by": "U123ABC"},
        {"shared_by": "U123ABC", "can_delete": True},
    ],
    ids=["private", "admin", "shared", "shared-admin"],
)
def test_every_card_is_valid_and_safe_whatever_the_data(
    model: type[PmpRecord], wire: dict[str, Any], options: dict[str, Any]
) -> None:
    record = model.from_wire(wire)
    for message in (
        _build(record, base_url=BASE_URL, **options),
        build_record_card(record, base_url=BASE_URL, **options),
    ):
        blocks = check_message(message)
        buttons = buttons_of(blocks)
        shared = "shared_by" in options
        assert (CardAction.SHARE in buttons) is not shared
        deletes = [
            m for m in elements_of(blocks, "overflow") if m["action_id"] == CardAction.DELETE
        ]
        assert len(deletes) == (1 if options.get("can_delete") and not shared else 0)


@pytest.mark.parametrize(("kind", "model", "factory", "keep"), KINDS, ids=[k[0] for k in KINDS])
def test_long_texts_are_cut_with_an_ellipsis(
    kind: str, model: type[PmpRecord], factory: Callable[..., dict[str, Any]], keep: tuple[str, ...]
) -> None:
    record = model.from_wire(fill(factory(), LONG, keep))
    blocks = check_message(_build(record, base_url=BASE_URL))
    title = blocks[0]["text"]["text"]
    assert title.endswith("…>*"), title[-20:]
    assert len(title) < 400
    # Fields and text sections end with the record's text, so with its "…" when cut.
    cut = [
        text
        for text in mrkdwn_texts(blocks[1:])
        if "&lt;!channel&gt;&amp;&lt;" in text and not text.startswith("*Primary contact*")
    ]
    assert cut, "the long text should show beyond the title"
    for text in cut:
        assert text.endswith("…"), text[-20:]


def test_model_validate_records_without_raw_build_cards() -> None:
    # Records built straight from the wire dict (no `raw`) work the same.
    customer = Customer.model_validate(customer_wire(company=NASTY))
    blocks = check_message(build_customer_card(customer, base_url=BASE_URL))
    assert (
        "&lt;!channel&gt; &lt;@U1&gt; &lt;http://evil|click&gt; &amp; Ünïcødé 🎉"
        in (blocks[0]["text"]["text"])
    )


def test_customer_card_shows_its_fields_links_and_buttons() -> None:
    customer = Customer.from_wire(customer_wire(active="0"))
    contact = Contact.from_wire(contact_wire())
    message = build_customer_card(customer, base_url=BASE_URL, primary_contact=contact)
    blocks = check_message(message)

    assert blocks[0]["text"]["text"] == (
        f":office: *<{SITE_ROOT}/admin/clients/client/3|Sample Company LTD>*"
    )
    fields = [item["text"] for item in blocks[1]["fields"]]
    assert fields == [
        "*Phone*\n+44 210 7298299",
        "*Website*\nhttps://www.test.com",
        "*Location*\nLondon, United Kingdom",
        "*Status*\nInactive",
        "*VAT*\n123456789",
        "*Primary contact*\nJane Doe\nCTO · jane@test.com · +44 1",
    ]
    assert "Customer #3 in PMP at crm.example.com" in [
        element["text"] for element in blocks[2]["elements"]
    ]
    buttons = buttons_of(blocks)
    assert buttons[CardAction.NEW_TICKET]["value"] == "3"
    assert buttons[CardAction.NEW_TICKET]["text"]["text"] == "New ticket"
    assert buttons[CardAction.PROJECTS]["value"] == "3"
    assert buttons[CardAction.SHARE]["value"] == "customer:3"
    assert buttons[CardAction.SHARE]["text"]["text"] == "Share in channel"
    assert message.text == "Customer: Sample Company LTD"


def test_customer_card_leaves_out_what_pmp_left_empty() -> None:
    customer = Customer.from_wire(
        {"userid": "8", "company": "", "vat": None, "country": "0", "active": None}
    )
    blocks = check_message(build_customer_card(customer, base_url=BASE_URL))
    assert (
        blocks[0]["text"]["text"] == f":office: *<{SITE_ROOT}/admin/clients/client/8|Customer #8>*"
    )
    assert not any("fields" in block for block in blocks)
    assert [block["type"] for block in blocks] == ["section", "context", "actions"]


def test_overflow_menu_opens_pmp_and_refreshes() -> None:
    blocks = check_message(
        build_customer_card(Customer.from_wire(customer_wire()), base_url=BASE_URL)
    )
    menu = blocks[0]["accessory"]
    assert menu["type"] == "overflow"
    assert menu["action_id"] == CardAction.MENU
    assert "confirm" not in menu
    options = {option["text"]["text"]: option for option in menu["options"]}
    assert options["Open in PMP"]["url"] == f"{SITE_ROOT}/admin/clients/client/3"
    assert parse_menu_value(options["Open in PMP"]["value"]) == (
        MenuChoice.OPEN,
        CardRef("customer", 3),
    )
    assert parse_menu_value(options["Refresh"]["value"]) == (
        MenuChoice.REFRESH,
        CardRef("customer", 3),
    )
    assert not any("Delete" in name for name in options)


def test_delete_is_offered_only_when_allowed_with_a_confirm_naming_the_record() -> None:
    customer = Customer.from_wire(customer_wire(company="Acme <b> & Sons"))
    plain = check_message(build_customer_card(customer, base_url=BASE_URL))
    assert not [m for m in elements_of(plain, "overflow") if m["action_id"] == CardAction.DELETE]

    admin = check_message(build_customer_card(customer, base_url=BASE_URL, can_delete=True))
    (delete,) = [m for m in elements_of(admin, "overflow") if m["action_id"] == CardAction.DELETE]
    (option,) = delete["options"]
    assert option["text"]["text"] == "Delete customer"
    assert parse_menu_value(option["value"]) == (MenuChoice.DELETE, CardRef("customer", 3))
    confirm = delete["confirm"]
    assert confirm["style"] == "danger"
    assert confirm["title"]["text"] == "Delete this customer?"
    assert confirm["text"]["text"].startswith("*Acme &lt;b&gt; &amp; Sons* (customer #3)")
    # The open/refresh menu never asks for a confirmation.
    assert "confirm" not in admin[0]["accessory"]


def test_delete_confirm_with_a_long_name_fits_slack() -> None:
    customer = Customer.from_wire(customer_wire(company=LONG))
    blocks = check_message(build_customer_card(customer, base_url=BASE_URL, can_delete=True))
    (delete,) = [m for m in elements_of(blocks, "overflow") if m["action_id"] == CardAction.DELETE]
    text = delete["confirm"]["text"]["text"]
    assert len(text) <= 300
    assert "…* (customer #3) will be deleted" in text


def test_shared_card_names_the_sharer_and_has_no_share_button_or_delete() -> None:
    customer = Customer.from_wire(customer_wire())
    message = build_customer_card(customer, base_url=BASE_URL, shared_by="U123", can_delete=True)
    blocks = check_message(message)
    context = [element["text"] for element in blocks[-2]["elements"]]
    assert "Shared by <@U123>" in context
    buttons = buttons_of(blocks)
    assert CardAction.SHARE not in buttons
    assert CardAction.NEW_TICKET in buttons
    assert [m["action_id"] for m in elements_of(blocks, "overflow")] == [CardAction.MENU]
    assert message.text == "<@U123> shared customer Sample Company LTD"


def test_a_shared_cards_refresh_keeps_the_sharer_and_a_private_ones_names_nobody() -> None:
    customer = Customer.from_wire(customer_wire())
    shared = check_message(build_customer_card(customer, base_url=BASE_URL, shared_by="U123"))
    private = check_message(build_customer_card(customer, base_url=BASE_URL, can_delete=True))
    refresh = {
        name: next(
            o["value"] for o in blocks[0]["accessory"]["options"] if o["text"]["text"] == "Refresh"
        )
        for name, blocks in (("shared", shared), ("private", private))
    }
    assert menu_shared_by(refresh["shared"]) == "U123"
    assert parse_menu_value(refresh["shared"]) == (MenuChoice.REFRESH, CardRef("customer", 3))
    assert menu_shared_by(refresh["private"]) is None
    assert shared_by_of(shared) == "U123"
    assert shared_by_of(private) is None
    assert shared_by_of("not blocks") is None


@pytest.mark.parametrize(
    "value", ["refresh:customer:3@", "refresh:customer:3@<!channel>", "refresh:customer:3@u1"]
)
def test_menu_values_naming_no_slack_user_are_not_ours(value: str) -> None:
    with pytest.raises(ValueError):
        parse_menu_value(value)
    with pytest.raises(ValueError):
        menu_shared_by(value)


@pytest.mark.parametrize("who", ["<!channel>", "U1> <!channel", "", "u123", "U1|x"])
def test_shared_by_must_be_a_slack_user_id(who: str) -> None:
    customer = Customer.from_wire(customer_wire())
    with pytest.raises(ValueError, match="Slack user id"):
        build_customer_card(customer, base_url=BASE_URL, shared_by=who)


def test_lead_card_names_status_and_source() -> None:
    lead = Lead.from_wire(lead_wire(lost="1"))
    message = build_lead_card(lead, base_url=BASE_URL)
    blocks = check_message(message)
    assert blocks[0]["text"]["text"] == (
        f":seedling: *<{SITE_ROOT}/admin/leads/index/9|Lead Name>*\nLost"
    )
    fields = [item["text"] for item in blocks[1]["fields"]]
    assert fields == [
        "*Company*\nLead Co",
        "*Status*\nCustomer",
        "*Source*\nFacebook",
        "*Assigned to*\nStaff #4",
        "*Email*\nlead@test.com",
        "*Phone*\n0123",
        "*Value*\n1,234.50",
        "*Last contact*\n30 Sep 2019 14:05",
    ]
    assert blocks[2]["text"]["text"] == "*Description*\nMet at the fair"


def test_server_line_breaks_are_not_shown() -> None:
    lead = Lead.from_wire(lead_wire(description="line one<br />\r\nline two <br> stays"))
    blocks = check_message(build_lead_card(lead, base_url=BASE_URL))
    assert blocks[2]["text"]["text"] == "*Description*\nline one\nline two &lt;br&gt; stays"
    milestone = Milestone.from_wire(milestone_wire(description="a<br />\nb"))
    blocks = check_message(build_milestone_card(milestone, base_url=BASE_URL))
    assert blocks[2]["text"]["text"] == "*Description*\na\nb"


def test_lead_names_come_from_the_record_first_then_defaults_then_the_id() -> None:
    lead = Lead.from_wire(lead_wire(status="3", source="7", status_name="Hot <lead>"))
    fields = [
        item["text"]
        for item in check_message(build_lead_card(lead, base_url=BASE_URL))[1]["fields"]
    ]
    assert "*Status*\nHot &lt;lead&gt;" in fields
    assert "*Source*\n#7" in fields


def test_project_card_shows_names_dates_money_and_milestones_button() -> None:
    project = Project.from_wire(project_wire())
    blocks = check_message(
        build_project_card(project, base_url=BASE_URL, customer_name="Sample Company LTD")
    )
    assert blocks[0]["text"]["text"] == (
        f":file_folder: *<{SITE_ROOT}/admin/projects/view/12|Website redesign>*"
    )
    fields = [item["text"] for item in blocks[1]["fields"]]
    assert fields == [
        "*Customer*\nSample Company LTD",
        "*Status*\nIn Progress",
        "*Billing*\nFixed Rate",
        "*Start*\n1 Sep 2019",
        "*Deadline*\n30 Sep 2019",
        "*Progress*\n40%",
        "*Cost*\n1,500.01",
        "*Rate per hour*\n0.00",
    ]
    assert blocks[2]["text"]["text"] == "*Description*\nNew site"
    assert buttons_of(blocks)[CardAction.MILESTONES]["value"] == "12"
    assert buttons_of(blocks)[CardAction.SHARE]["value"] == "project:12"


def test_project_without_customer_name_shows_the_customer_id() -> None:
    project = Project.from_wire(project_wire(status="9", billing_type="3"))
    fields = [
        item["text"]
        for item in check_message(build_project_card(project, base_url=BASE_URL))[1]["fields"]
    ]
    assert fields[:3] == ["*Customer*\n#3", "*Status*\n#9", "*Billing*\nTask Hours"]


def test_milestone_card_links_to_its_project_and_has_an_edit_button() -> None:
    milestone = Milestone.from_wire(milestone_wire())
    blocks = check_message(
        build_milestone_card(milestone, base_url=BASE_URL, project_name="Website redesign")
    )
    assert blocks[0]["text"]["text"] == (
        f":triangular_flag_on_post: *<{SITE_ROOT}/admin/projects/view/12?group=project_milestones"
        "|Design approved>*"
    )
    fields = [item["text"] for item in blocks[1]["fields"]]
    assert fields == [
        "*Project*\nWebsite redesign",
        "*Due*\n30 Sep 2019",
        "*Order*\n2",
        "*Tasks*\n3 of 5 finished",
    ]
    assert blocks[2]["text"]["text"] == "*Description*\nSign-off by the client"
    buttons = buttons_of(blocks)
    assert buttons[CardAction.EDIT_MILESTONE]["value"] == "milestone:7:12"
    assert CardRef.parse(buttons[CardAction.SHARE]["value"]) == CardRef("milestone", 7, 12)


def test_milestone_without_project_has_no_link_but_still_works() -> None:
    milestone = Milestone.from_wire(milestone_wire(project_id=None, total_tasks="0"))
    blocks = check_message(build_milestone_card(milestone, base_url=BASE_URL))
    assert blocks[0]["text"]["text"] == ":triangular_flag_on_post: *Design approved*"
    options = [option["text"]["text"] for option in blocks[0]["accessory"]["options"]]
    assert options == ["Refresh"]
    assert "*Tasks*\nNo tasks yet" in [item["text"] for item in blocks[1]["fields"]]
    assert buttons_of(blocks)[CardAction.EDIT_MILESTONE]["value"] == "milestone:7"


def test_ticket_card_names_with_defaults() -> None:
    ticket = Ticket.from_wire(ticket_wire())
    contact = Contact.from_wire(contact_wire(firstname="Janet"))
    blocks = check_message(
        build_ticket_card(ticket, base_url=BASE_URL, customer_name="Sample", contact=contact)
    )
    assert blocks[0]["text"]["text"] == (
        f":ticket: *<{SITE_ROOT}/admin/tickets/ticket/42|Printer on fire>*"
    )
    fields = [item["text"] for item in blocks[1]["fields"]]
    assert fields == [
        "*Status*\nOpen",
        "*Priority*\nMedium",
        "*Department*\n#1",
        "*Service*\n#1",
        "*Customer*\nSample",
        "*Contact*\nJanet Doe\njane@test.com",
        "*Opened*\n10 Apr 2019 03:08",
        "*Last reply*\n11 Apr 2019 09:30",
    ]
    assert blocks[2]["text"]["text"] == "*Message*\nIt is on fire.\n\nPlease help &amp; hurry"


def test_ticket_names_from_workspace_settings(workspace_names: NameBook) -> None:
    ticket = Ticket.from_wire(ticket_wire(status="6", priority="4", department="2"))
    fields = [
        item["text"]
        for item in check_message(
            build_ticket_card(ticket, base_url=BASE_URL, names=workspace_names)
        )[1]["fields"]
    ]
    assert fields[:4] == [
        "*Status*\nWaiting on customer",
        "*Priority*\nUrgent",
        "*Department*\nSales",
        "*Service*\nHosting",
    ]
    # Settings override the defaults for the same id.
    renamed = Ticket.from_wire(ticket_wire(status="1"))
    fields = [
        item["text"]
        for item in check_message(
            build_ticket_card(renamed, base_url=BASE_URL, names=workspace_names)
        )[1]["fields"]
    ]
    assert fields[0] == "*Status*\nNew"


def test_ticket_names_sent_by_pmp_win(workspace_names: NameBook) -> None:
    ticket = Ticket.from_wire(
        ticket_wire(
            department_name="Billing & <accounts>",
            status_name="Escalated",
            priority_name="",
            service_name=None,
        )
    )
    fields = [
        item["text"]
        for item in check_message(
            build_ticket_card(ticket, base_url=BASE_URL, names=workspace_names)
        )[1]["fields"]
    ]
    assert fields[:4] == [
        "*Status*\nEscalated",
        "*Priority*\nMedium",
        "*Department*\nBilling &amp; &lt;accounts&gt;",
        "*Service*\nHosting",
    ]


def test_ticket_shows_the_customer_and_contact_pmp_joined_in() -> None:
    ticket = Ticket.from_wire(ticket_wire())
    fields = [
        item["text"]
        for item in check_message(build_ticket_card(ticket, base_url=BASE_URL))[1]["fields"]
    ]
    assert "*Customer*\nSample Company LTD" in fields
    assert "*Contact*\nJane Doe\njane@test.com" in fields


def test_ticket_without_priority_or_contact_record_shows_the_guest() -> None:
    ticket = Ticket.from_wire(
        ticket_wire(
            priority="0",
            contactid="0",
            userid="0",
            company=None,
            email=None,
            user_firstname=None,
            user_lastname=None,
            from_name="Guest",
            ticket_email="g@x.test",
        )
    )
    fields = [
        item["text"]
        for item in check_message(build_ticket_card(ticket, base_url=BASE_URL))[1]["fields"]
    ]
    assert not any(text.startswith(("*Priority*", "*Customer*")) for text in fields)
    assert "*Contact*\nGuest\ng@x.test" in fields


def test_ticket_contact_known_only_by_id() -> None:
    ticket = Ticket.from_wire(
        ticket_wire(email=None, user_firstname=None, user_lastname=None, company=None)
    )
    fields = [
        item["text"]
        for item in check_message(build_ticket_card(ticket, base_url=BASE_URL))[1]["fields"]
    ]
    assert "*Contact*\n#5" in fields
    assert "*Customer*\n#3" in fields


def test_ticket_message_html_is_flattened_then_escaped() -> None:
    ticket = Ticket.from_wire(
        ticket_wire(message="<div>Hi <@U1></div><script>alert(1)</script>&lt;!channel&gt;")
    )
    blocks = check_message(build_ticket_card(ticket, base_url=BASE_URL))
    text = blocks[2]["text"]["text"]
    assert "alert" not in text
    assert "&lt;!channel&gt;" in text


def test_ticket_message_is_an_excerpt() -> None:
    ticket = Ticket.from_wire(ticket_wire(message="word " * 2000))
    blocks = check_message(build_ticket_card(ticket, base_url=BASE_URL))
    text = blocks[2]["text"]["text"]
    assert text.endswith("…")
    assert len(text) <= 700


def test_absurd_ids_still_fit_slack() -> None:
    big = "9" * 300
    customer = Customer.from_wire(customer_wire(userid=big))
    blocks = check_message(build_customer_card(customer, base_url=BASE_URL, can_delete=True))
    # Values that can't fit are left out rather than breaking the message.
    assert CardAction.SHARE in buttons_of(blocks)
    assert not [m for m in elements_of(blocks, "overflow") if m["action_id"] == CardAction.DELETE]


def test_an_unusable_base_url_drops_links_not_the_card() -> None:
    customer = Customer.from_wire(customer_wire())
    blocks = check_message(build_customer_card(customer, base_url="ftp://crm.example.com"))
    assert blocks[0]["text"]["text"] == ":office: *Sample Company LTD*"


def test_every_link_text_is_escaped() -> None:
    for text in mrkdwn_texts(
        [
            b.to_dict()
            for b in build_customer_card(
                Customer.from_wire(customer_wire(company=NASTY)), base_url=BASE_URL
            ).blocks
        ]
    ):
        assert "<http://evil" not in text


@pytest.mark.parametrize(
    ("value", "ref"),
    [
        ("customer:3", CardRef("customer", 3)),
        ("milestone:7:12", CardRef("milestone", 7, 12)),
        ("milestone:7", CardRef("milestone", 7)),
        ("ticket:42", CardRef("ticket", 42)),
    ],
)
def test_card_refs_round_trip(value: str, ref: CardRef) -> None:
    assert CardRef.parse(value) == ref
    assert ref.to_value() == value
    assert parse_menu_value(menu_value(MenuChoice.REFRESH, ref)) == (MenuChoice.REFRESH, ref)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "customer",
        "customer:",
        "customer:0",
        "customer:-1",
        "customer:3:4",
        "invoice:3",
        "customer:३",
        "customer: 3",
        "milestone:7:x",
        "lead:1:2:3",
    ],
)
def test_card_refs_reject_what_is_not_ours(value: str) -> None:
    with pytest.raises(ValueError):
        CardRef.parse(value)


def test_menu_values_reject_unknown_choices() -> None:
    with pytest.raises(ValueError):
        parse_menu_value("explode:customer:3")


def test_formatting_helpers() -> None:
    from datetime import date

    assert format_date(date(2019, 9, 30)) == "30 Sep 2019"
    assert format_money(Decimal("1234.565")) == "1,234.57"
    assert format_money(Decimal("-0.5")) == "-0.50"
    assert str(format_money(Decimal("1E+40"))).endswith("0,000.00")
    assert format_money(None) is None
    assert html_to_text("<ul><li>one</li><li>two</li></ul>") == "• one\n\n• two"
    assert html_to_text("a &amp; b<br>c") == "a & b\nc"
