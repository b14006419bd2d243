"""The `/pmp` slash command: parse the text, then hand over to the subcommand's handler.

The subcommands come from the modules below, each exposing `routes()`; `/pmp help` lists
the examples of the commands that have a handler."""

from __future__ import annotations

import functools
import logging
from types import ModuleType
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.connect import build_not_connected, not_connected_headline
from bot.blocks.help import HelpEntry, HelpSection, build_help, build_unknown_command
from bot.grammar import HELP_TOPICS, SLASH_COMMAND, Command, CommandAction, parse
from bot.pmp_pool import WorkspaceKey
from bot.services import BotServices
from bot.storage import Workspace
from handlers import connect, lookups, notify, records, staff, subscriptions, tickets
from handlers._common import CommandRequest, Route, Subcommand

logger = logging.getLogger(__name__)


# Modules whose `routes()` add `/pmp` subcommands.
SUBCOMMAND_MODULES: tuple[ModuleType, ...] = (
    connect,
    lookups,
    notify,
    records,
    staff,
    subscriptions,
    tickets,
)


@functools.cache
def _routes() -> dict[Route, Subcommand]:
    # Built once: the tables are fixed, and rebuilding them cost every command measurable CPU.
    routes: dict[Route, Subcommand] = {
        (CommandAction.HELP, None): Subcommand(
            handle_help, HelpEntry("help", "shows this list"), needs_connection=False
        ),
    }
    for module in SUBCOMMAND_MODULES:
        routes |= module.routes()
    return routes


TOPIC_TITLES = {
    "customer": "Customers",
    "lead": "Leads",
    "project": "Projects",
    "milestone": "Milestones",
    "ticket": "Tickets",
    "notify": "Channel notices",
    "subscribe": "Channel subscriptions",
    "staff": "PMP staff",
    "workspace": "This workspace",
    "help": "Help",
}


def _route_for(routes: dict[Route, Subcommand], parsed: Command) -> Subcommand | None:
    return routes.get((parsed.action, parsed.kind)) or routes.get((parsed.action, None))


def help_sections(topic: str | None = None) -> list[HelpSection]:
    """The help topics' examples, keeping only commands this bot has a handler for."""
    routes = _routes()
    sections = []
    for name, examples in HELP_TOPICS.items():
        if topic is not None and name != topic:
            continue
        entries = []
        for usage, summary in examples:
            subcommand = _route_for(routes, parse(usage))
            if subcommand is not None:
                entries.append(HelpEntry(usage, summary, admin_only=subcommand.help.admin_only))
        sections.append(HelpSection(TOPIC_TITLES.get(name, name.title()), entries))
    return sections


def help_entries() -> list[HelpEntry]:
    return [entry for section in help_sections() for entry in section.entries]


async def handle_help(request: CommandRequest) -> None:
    parsed = request.parsed
    await request.ack(
        blocks=build_help(
            help_sections(parsed.topic),
            unknown=parsed.unknown_word,
            suggestion=parsed.suggestion,
        ),
        text=f"{SLASH_COMMAND} help",
    )


async def handle_pmp_command(
    ack: AsyncAck,
    command: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    services: BotServices,
    workspace: Workspace | None,
    workspace_key: WorkspaceKey,
) -> None:
    parsed = parse(str(command.get("text") or ""))
    request = CommandRequest(
        body=command,
        parsed=parsed,
        ack=ack,
        respond=respond,
        client=client,
        services=services,
        workspace=workspace,
        key=workspace_key,
    )
    routes = _routes()
    subcommand = _route_for(routes, parsed)
    if parsed.action is CommandAction.HELP:
        await handle_help(request)
        return
    if subcommand is None:
        if parsed.action is CommandAction.UNKNOWN and parsed.unknown_word:
            blocks = build_unknown_command(parsed.unknown_word, parsed.suggestion)
            await ack(blocks=blocks, text="I don't know that command.")
            return
        await ack(blocks=build_help(help_sections()), text=f"{SLASH_COMMAND} help")
        return
    if subcommand.needs_connection and not request.connected:
        reconnect = workspace is not None and workspace.needs_reconnect
        await ack(
            blocks=build_not_connected(reconnect=reconnect),
            text=not_connected_headline(reconnect=reconnect),
        )
        return
    if parsed.problem:
        await ack(text=parsed.problem)
        return
    await subcommand.handler(request)


def register(app: AsyncApp) -> None:
    app.command(SLASH_COMMAND)(handle_pmp_command)
