"""`/pmp <record> <words>` searches and `/pmp <record> <id>` shows one record.

The ack goes first and empty; PMP is asked afterwards and the answer arrives through the
response_url, privately, so a slow PMP never costs the 3-second ack.
"""

from __future__ import annotations

from bot.blocks.cards import CardRef
from bot.blocks.help import HelpEntry
from bot.blocks.results import build_results
from bot.grammar import CommandAction, RecordKind
from bot.notify import notice_line
from bot.slack.replies import reporting_failures
from bot.slack.workspace_pmp import connected_pmp
from handlers._common import CommandRequest, Route, Subcommand
from handlers.cards import show_card


async def handle_search(request: CommandRequest) -> None:
    await request.ack()
    await reporting_failures(request.respond, _search(request))


async def _search(request: CommandRequest) -> None:
    kind, query = request.parsed.record_kind, request.parsed.query or ""
    assert kind is not None
    pmp = await connected_pmp(request.services, request.workspace, request.key)
    listing = await request.services.lookups.search(pmp.client, pmp.cache_scope, kind, query)
    message = build_results(
        kind,
        listing.records,
        base_url=pmp.base_url,
        query=query,
        cache_key=listing.cache_key,
        names=listing.names.over(pmp.names),
        project_names=listing.project_names,
    )
    await request.respond(text=message.text, blocks=message.blocks)
    request.services.notify(
        pmp.workspace, notice_line(request.user_id, "searched", f"{kind}s for", query)
    )


async def handle_show(request: CommandRequest) -> None:
    await request.ack()
    await reporting_failures(request.respond, _show(request))


async def _show(request: CommandRequest) -> None:
    kind, record_id = request.parsed.record_kind, request.parsed.record_id
    assert kind is not None and record_id is not None
    await show_card(
        request.services,
        request.client,
        request.respond,
        request.workspace,
        request.key,
        CardRef(kind, record_id),
        request.user_id,
    )


def routes() -> dict[Route, Subcommand]:
    table: dict[Route, Subcommand] = {}
    for kind in RecordKind:
        table[(CommandAction.SEARCH, kind)] = Subcommand(
            handle_search, HelpEntry(f"{kind} <words>", f"finds {kind}s")
        )
        table[(CommandAction.SHOW, kind)] = Subcommand(
            handle_show, HelpEntry(f"{kind} <number>", f"shows one {kind}")
        )
    return table
