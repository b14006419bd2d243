"""`/pmp notify #channel | off`: where lookups and changes are announced (admins only)."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

from bot.blocks.connect import build_admins_only
from bot.blocks.help import HelpEntry
from bot.blocks.notify import (
    SLACK_UNAVAILABLE,
    notify_current,
    notify_failed,
    notify_off,
    notify_set,
    notify_welcome,
)
from bot.grammar import CommandAction
from handlers._common import CommandRequest, Route, Subcommand


async def handle_notify(request: CommandRequest) -> None:
    await request.ack()
    parsed, services, key = request.parsed, request.services, request.key
    if parsed.channel is None and not parsed.notify_off:
        current = request.workspace.notify_channel_id if request.workspace else None
        await request.respond(text=notify_current(current))
        return
    if not await services.admins.is_admin(request.client, key.team_id, request.user_id):
        await request.respond(
            blocks=build_admins_only("choose the notification channel"), text="Admins only"
        )
        return
    if parsed.notify_off:
        await services.workspaces.set_notify_channel(key.team_id, key.enterprise_id, None)
        await request.respond(text=notify_off())
        return
    channel = parsed.channel
    assert channel is not None
    # Posting a first message proves the bot may post there, and turns `#name` into an id.
    try:
        posted = await request.client.chat_postMessage(
            channel=channel.id or f"#{channel.name}",
            text=notify_welcome(request.user_id),
            unfurl_links=False,
        )
    except SlackApiError as error:
        # A 5xx post may have gone through, so it is not sent again; the admin retries.
        status = error.response.status_code
        code = SLACK_UNAVAILABLE if status >= 500 or status == 429 else error.response.get("error")
        await request.respond(text=notify_failed(channel, str(code)))
        return
    channel_id = str(posted.get("channel") or channel.id or "")
    await services.workspaces.set_notify_channel(key.team_id, key.enterprise_id, channel_id)
    await request.respond(text=notify_set(channel_id))


def routes() -> dict[Route, Subcommand]:
    return {
        (CommandAction.NOTIFY, None): Subcommand(
            handle_notify,
            HelpEntry(
                "notify #channel",
                "posts lookups and changes in a channel (`off` stops)",
            ),
            needs_connection=False,
        ),
    }
