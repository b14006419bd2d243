"""Block Kit for connecting a workspace to PMP: the connect modal, status and disconnect."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.blocks.ids import Action, Callback
from bot.blocks.ids import Block as BlockId
from bot.connect import ConnectionStatus
from bot.grammar import SLASH_COMMAND
from bot.text import safe


def _slack_date(moment: datetime, fallback_format: str = "%Y-%m-%d %H:%M UTC") -> str:
    # Slack renders <!date^…> in each reader's own time zone.
    epoch = int(moment.timestamp())
    return f"<!date^{epoch}^{{date_short_pretty}} at {{time}}|{moment.strftime(fallback_format)}>"


def host_of(url: str) -> str:
    return urlsplit(url).netloc or url


def build_connect_modal(current_url: str | None = None) -> View:
    intro = (
        "pmp-bot reads and changes PMP records for this workspace with a PMP API token. "
        "The token is stored encrypted and is never shown again."
    )
    return View(
        type="modal",
        callback_id=Callback.CONNECT_MODAL,
        title=PlainTextObject(text="Connect PMP"),
        submit=PlainTextObject(text="Connect"),
        close=PlainTextObject(text="Cancel"),
        blocks=[
            SectionBlock(text=MarkdownTextObject(text=intro)),
            InputBlock(
                block_id=BlockId.CONNECT_URL,
                label=PlainTextObject(text="PMP URL"),
                hint=PlainTextObject(
                    text="The address you open PMP at, e.g. https://crm.example.com"
                ),
                element=PlainTextInputElement(
                    action_id=Action.CONNECT_URL_INPUT,
                    initial_value=current_url or None,
                    placeholder=PlainTextObject(text="https://crm.example.com"),
                    max_length=500,
                ),
            ),
            InputBlock(
                block_id=BlockId.CONNECT_TOKEN,
                label=PlainTextObject(text="API token"),
                hint=PlainTextObject(
                    text="In PMP: Setup → API → API tokens. Paste the whole token."
                ),
                element=PlainTextInputElement(
                    action_id=Action.CONNECT_TOKEN_INPUT,
                    placeholder=PlainTextObject(text="Paste the API token"),
                    max_length=2000,
                ),
            ),
        ],
    )


def build_connected_view(pmp_url: str) -> View:
    text = (
        f":white_check_mark: pmp-bot is connected to *{safe(host_of(pmp_url), 200)}*.\n"
        f"Try `{SLASH_COMMAND} customer acme`, or `{SLASH_COMMAND} help` for everything it does."
    )
    return View(
        type="modal",
        callback_id=Callback.CONNECT_MODAL,
        title=PlainTextObject(text="PMP connected"),
        close=PlainTextObject(text="Done"),
        blocks=[SectionBlock(text=MarkdownTextObject(text=text))],
    )


def build_status(status: ConnectionStatus) -> list[Block]:
    if status.reconnect_needed:
        return build_not_connected(reconnect=True)
    if not status.connected or not status.pmp_url:
        return build_not_connected()
    url = safe(status.pmp_url, 500)
    if status.failing:
        lines = [f":red_circle: Connected to PMP at *{url}*, but its last call failed"]
    else:
        lines = [f":large_green_circle: Connected to PMP at *{url}*"]
    if status.connected_by:
        when = f" on {_slack_date(status.connected_at)}" if status.connected_at else ""
        lines.append(f"Connected by <@{status.connected_by}>{when}")
    if status.last_success_at:
        lines.append(f"Last successful PMP call: {_slack_date(status.last_success_at)}")
    else:
        lines.append("No successful PMP call yet.")
    if status.last_failure_at:
        how = safe(status.last_failure or "", 200)
        lines.append(
            f"Last failed PMP call: {_slack_date(status.last_failure_at)}"
            + (f": {how}" if how else "")
        )
    if status.notify_channel_id:
        lines.append(f"Notifications go to <#{status.notify_channel_id}>")
    else:
        lines.append(
            f"No notification channel. An admin can set one with `{SLASH_COMMAND} notify #channel`."
        )
    return [SectionBlock(text=MarkdownTextObject(text="\n".join(lines)))]


# The one wording, everywhere, for a workspace pmp-bot can't reach PMP for: never connected
# (or disconnected), or its stored token can't be decrypted any more (`reconnect`).
NOT_CONNECTED = (
    "This workspace isn't connected to PMP yet. "
    f"A workspace admin can run `{SLASH_COMMAND} connect` to set it up."
)
RECONNECT_NEEDED = (
    "pmp-bot can no longer read this workspace's PMP token: the server's encryption key "
    f"changed. A workspace admin can run `{SLASH_COMMAND} connect` to enter it again."
)


def not_connected_text(*, reconnect: bool = False) -> str:
    """Why nothing can be done, and who can fix it (plain text and mrkdwn alike)."""
    return RECONNECT_NEEDED if reconnect else NOT_CONNECTED


def not_connected_headline(*, reconnect: bool = False) -> str:
    """Its first words, where only a line fits (a notification, a typeahead option)."""
    if reconnect:
        return "This workspace needs to connect to PMP again."
    return "This workspace isn't connected to PMP yet."


def build_not_connected(*, reconnect: bool = False) -> list[Block]:
    text = not_connected_text(reconnect=reconnect)
    return [SectionBlock(text=MarkdownTextObject(text=text))]


def build_admins_only(action: str) -> list[Block]:
    text = (
        f"Only workspace admins and owners can {action}. "
        "Ask one of them, or ask your pmp-bot operator to add you to PMP_BOT_ADMINS."
    )
    return [SectionBlock(text=MarkdownTextObject(text=text))]


def build_disconnect_prompt(pmp_url: str) -> list[Block]:
    host = safe(host_of(pmp_url), 200)
    return [
        SectionBlock(
            text=MarkdownTextObject(
                text=(
                    f"Disconnect this workspace from PMP at *{host}*? pmp-bot will forget the "
                    "API token; nobody here can use `/pmp` until an admin connects again."
                )
            )
        ),
        ActionsBlock(
            elements=[
                ButtonElement(
                    text="Disconnect",
                    action_id=Action.DISCONNECT_CONFIRMED,
                    style="danger",
                    value="disconnect",
                    confirm=ConfirmObject(
                        title="Disconnect PMP?",
                        text=f"pmp-bot will forget the API token for {host}.",
                        confirm="Disconnect",
                        deny="Keep it",
                        style="danger",
                    ),
                ),
                ButtonElement(text="Cancel", action_id=Action.DISCONNECT_CANCELLED, value="cancel"),
            ]
        ),
    ]


def build_disconnected(user_id: str, pmp_url: str | None) -> list[Block]:
    where = f" from *{safe(host_of(pmp_url), 200)}*" if pmp_url else ""
    return [
        SectionBlock(
            text=MarkdownTextObject(
                text=f":electric_plug: <@{user_id}> disconnected this workspace{where}."
            )
        ),
        ContextBlock(
            elements=[MarkdownTextObject(text=f"Run `{SLASH_COMMAND} connect` to connect again.")]
        ),
    ]
