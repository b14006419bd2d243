"""Every Slack id the bot defines (callback, block and action ids), in one place.

Builders and handlers both import these, so a renamed id can never leave a handler deaf.
The slash command's name is the grammar's (`bot.grammar.SLASH_COMMAND`).
"""

from __future__ import annotations

from enum import StrEnum


class Callback(StrEnum):
    CONNECT_MODAL = "pmp_connect"


class Block(StrEnum):
    CONNECT_URL = "pmp_connect_url"
    CONNECT_TOKEN = "pmp_connect_token"


class Action(StrEnum):
    CONNECT_URL_INPUT = "pmp_connect_url_input"
    CONNECT_TOKEN_INPUT = "pmp_connect_token_input"
    OPEN_CONNECT = "pmp_open_connect"
    DISCONNECT_CONFIRMED = "pmp_disconnect_confirmed"
    DISCONNECT_CANCELLED = "pmp_disconnect_cancelled"


class CardAction(StrEnum):
    """Actions on record cards and search-result pages (bot/blocks/cards.py, results.py).

    Values: SHARE, SHOW and EDIT_MILESTONE carry a `CardRef` (`customer:3`, `milestone:7:2`);
    the options of the MENU and DELETE overflows a `menu_value` (`refresh:customer:3`, read
    with `parse_menu_value`); NEW_TICKET and PROJECTS the customer id; MILESTONES the project
    id; RESULTS_PREVIOUS / RESULTS_NEXT a `PageState`.
    """

    SHARE = "pmp_card_share"
    MENU = "pmp_card_menu"
    DELETE = "pmp_card_delete"
    NEW_TICKET = "pmp_card_new_ticket"
    PROJECTS = "pmp_card_projects"
    MILESTONES = "pmp_card_milestones"
    EDIT_MILESTONE = "pmp_card_edit_milestone"
    SHOW = "pmp_result_show"
    RESULTS_PREVIOUS = "pmp_results_previous"
    RESULTS_NEXT = "pmp_results_next"


class TicketCardAction(StrEnum):
    """Ticket actions on ticket cards and the Home tab's queue (bot/blocks/cards.py, home.py;
    handlers/ticket_actions.py). Every value (a button's, a menu option's) is a
    `bot.ticket_actions.TicketAction` (`status:5:7`: set ticket 7's status to 5). REPLY_MODAL
    is the Reply modal's callback id, REPLY_* its blocks and inputs."""

    STATUS = "pmp_ticket_status"
    PRIORITY = "pmp_ticket_priority"
    ASSIGN_ME = "pmp_ticket_assign_me"
    REPLY = "pmp_ticket_reply"
    CLOSE = "pmp_ticket_close"
    REPLY_MODAL = "pmp_ticket_reply_modal"
    REPLY_MESSAGE_BLOCK = "pmp_ticket_reply_message"
    REPLY_MESSAGE_INPUT = "pmp_ticket_reply_message_input"
    REPLY_STATUS_BLOCK = "pmp_ticket_reply_status"
    REPLY_STATUS_INPUT = "pmp_ticket_reply_status_input"


class HomeAction(StrEnum):
    """The Home tab and the customer search it opens."""

    NEW_TICKET = "pmp_home_new_ticket"
    SEARCH_CUSTOMERS = "pmp_home_search_customers"
    SHOW_RECENT = "pmp_home_show_recent"
    SHOW_RESULT = "pmp_home_show_result"
    SEARCH_MODAL = "pmp_home_search_modal"
    SEARCH_BLOCK = "pmp_home_search_query"
    SEARCH_INPUT = "pmp_home_search_query_input"


class RecordForm(StrEnum):
    """Record forms and deletes (bot/blocks/record_forms.py, handlers/records.py).

    MODAL is the callback id of every customer, lead, project and milestone modal (the kind
    is in its private_metadata); the *_OPTIONS are the action ids of its typeaheads. DELETE
    and DELETE_CANCEL are the buttons of the `/pmp <record> delete <id>` prompt; DELETE
    carries a `CardRef`.
    """

    MODAL = "pmp_record_form"
    CUSTOMER_OPTIONS = "pmp_record_customer_options"
    PROJECT_OPTIONS = "pmp_record_project_options"
    COUNTRY_OPTIONS = "pmp_record_country_options"
    DELETE = "pmp_record_delete"
    DELETE_CANCEL = "pmp_record_delete_cancel"


class StaffPicker(StrEnum):
    """The staff pickers of the lead, project and ticket forms (bot/blocks/record_forms.py,
    ticket_forms.py; handlers/staff.py): OPTIONS is the action id of every one of them, single
    or multi-select (their options loads list PMP's staff, the value a staff number)."""

    OPTIONS = "pmp_staff_options"


class TicketForm(StrEnum):
    """The ticket forms (bot/blocks/ticket_forms.py, settings_form.py; handlers/tickets.py).

    NEW_MODAL and SETTINGS_MODAL are modal callback ids; NEW_SHORTCUT (global) and FROM_MESSAGE
    (message shortcut) are shortcut callback ids in the manifests; CUSTOMER_INPUT is the action
    id of the new-ticket modal's customer select (its options loads, and the block_actions that
    load the chosen customer's contacts and projects).
    """

    NEW_MODAL = "pmp_ticket_new"
    SETTINGS_MODAL = "pmp_ticket_settings"
    NEW_SHORTCUT = "pmp_ticket_new_shortcut"
    FROM_MESSAGE = "pmp_ticket_from_message"
    CUSTOMER_INPUT = "pmp_ticket_customer"


# Shortcut names as in the manifests, for `pmp-bot shell` (`shortcut New PMP ticket`).
SHORTCUTS: dict[str, str] = {
    "New PMP ticket": TicketForm.NEW_SHORTCUT.value,
    "Create PMP ticket": TicketForm.FROM_MESSAGE.value,
}
