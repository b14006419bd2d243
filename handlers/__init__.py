"""Slack listeners. Each module exposes `register(app)` for its listeners, and modules that
add `/pmp` subcommands expose `routes()`; the lists below wire them all.

Handlers stay thin: ack, one domain call, one Block Kit builder, one Slack call.
"""

from __future__ import annotations

from types import ModuleType

from slack_bolt.async_app import AsyncApp

from handlers import cards, commands, connect, home, lifecycle, lookups, notify, records, tickets

# Modules whose `register(app)` adds Slack listeners.
LISTENER_MODULES: tuple[ModuleType, ...] = (
    commands,
    cards,
    connect,
    home,
    lifecycle,
    records,
    tickets,
)
# Modules whose `routes()` adds `/pmp` subcommands.
SUBCOMMAND_MODULES: tuple[ModuleType, ...] = (connect, lookups, notify, records, tickets)


def register(app: AsyncApp) -> None:
    for module in LISTENER_MODULES:
        module.register(app)
